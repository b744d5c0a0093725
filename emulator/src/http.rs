//! Just enough HTTP/1.1 to serve one request after another on a connection.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use crate::{Listener, Shared, scenario};

/// A request as it came off the wire.
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The address of the peer; `None` when the socket could not tell.
    pub(crate) peer: Option<std::net::IpAddr>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to do with the connection after an answer.
pub(crate) enum After {
    KeepAlive,
    Close,
}

pub(crate) fn serve_connection(
    tcp: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    listener: Listener,
    shared: &Shared,
) {
    // Dropped last, after the stream: the socket's last descriptor closes with it.
    let _connection = crate::faults::Connection::open(&tcp, shared);
    // Accepted just as the server stopped: `close_all` may have run before this connection was
    // registered, and would then never close it (a thread left reading for 30 s: the restart
    // row saw it as leaked, 1 run in 48).
    if shared.stop.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let peer = tcp.peer_addr().ok().map(|a| a.ip());
    match tls {
        Some(config) => {
            let Ok(conn) = rustls::ServerConnection::new(config) else {
                return;
            };
            serve(rustls::StreamOwned::new(conn, tcp), peer, listener, shared);
        }
        None => serve(tcp, peer, listener, shared),
    }
}

fn serve<S: Read + Write>(
    stream: S,
    peer: Option<std::net::IpAddr>,
    listener: Listener,
    shared: &Shared,
) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request = match read_request(&mut reader) {
            Ok(Some(request)) => request,
            _ => return,
        };
        request.peer = peer;
        let closing = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        match scenario::respond(&request, reader.get_mut(), listener, shared) {
            Ok(After::KeepAlive) if !closing => continue,
            Ok(_) | Err(_) => return,
        }
    }
}

const MAX_HEAD: usize = 64 * 1024;

fn read_request<R: BufRead>(reader: &mut R) -> io::Result<Option<Request>> {
    let mut line = String::new();
    let mut head_len = 0;
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    head_len += line.len();
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let (method, target) = (method.to_string(), target.to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head_len += line.len();
        if head_len > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
        peer: None,
    };
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        request.body = read_chunked(reader)?;
    } else {
        let length: usize = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        request.body.resize(length.min(MAX_HEAD), 0);
        reader.read_exact(&mut request.body)?;
    }
    Ok(Some(request))
}

/// A chunked request body, read to its last chunk so that the next request starts in step.
fn read_chunked<R: BufRead>(reader: &mut R) -> io::Result<Vec<u8>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad chunk");
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad())?;
        if body.len() + size > MAX_HEAD {
            return Err(bad());
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut end = String::new();
        reader.read_line(&mut end)?; // the CRLF after the data, or after the last (empty) chunk
        if size == 0 {
            return Ok(body);
        }
    }
}

/// Writes a whole answer with a Content-Length.
pub(crate) fn write_response(
    out: &mut dyn Write,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = status_line(status);
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    out.write_all(head.as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

pub(crate) fn status_line(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
    format!("HTTP/1.1 {status} {reason}\r\n")
}
