//! A recording HTTP CONNECT proxy on 127.0.0.1, so that tests can prove a call went through it.
//!
//! It tunnels `CONNECT host:port` to loopback only: a loopback address or `localhost` as it is,
//! and [`PROXY_ONLY_HOST`], a name only this proxy knows, to 127.0.0.1 (a call that reaches a
//! server through that name was not resolved by the client). Any other target is refused with
//! 403, as is anything but CONNECT (405). It records each CONNECT's target and whether it
//! carried `Proxy-Authorization` — never the header's value.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A host name that only the proxy resolves (to 127.0.0.1). The test server's certificate
/// names it too, so a client that trusts the test CA can speak TLS to it through the proxy.
pub const PROXY_ONLY_HOST: &str = "concur.test";

/// One CONNECT the proxy received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxiedConnect {
    /// The target as asked: `host:port`.
    pub target: String,
    /// Whether the request carried a `Proxy-Authorization` header (its value is not kept).
    pub authorization: bool,
    /// Whether the proxy opened the tunnel (false: it refused the target).
    pub tunnelled: bool,
}

/// A running proxy. Dropping it stops accepting; open tunnels end with their connections.
pub struct ConnectProxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<ProxiedConnect>>>,
    stop: Arc<AtomicBool>,
}

impl ConnectProxy {
    /// Starts a proxy on a free port of 127.0.0.1.
    pub fn start() -> io::Result<ConnectProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let log = log2.clone();
                        thread::spawn(move || {
                            let _ = serve(stream, &log);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(ConnectProxy { addr, log, stop })
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every CONNECT received so far, oldest first.
    pub fn connects(&self) -> Vec<ProxiedConnect> {
        self.log.lock().expect("proxy log poisoned").clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Where a CONNECT target is tunnelled: loopback only.
fn loopback_target(target: &str) -> Option<SocketAddr> {
    let (host, port) = target.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = if host.eq_ignore_ascii_case(PROXY_ONLY_HOST) || host.eq_ignore_ascii_case("localhost")
    {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse::<IpAddr>().ok().filter(IpAddr::is_loopback)?
    };
    Some(SocketAddr::new(ip, port))
}

fn serve(client: TcpStream, log: &Mutex<Vec<ProxiedConnect>>) -> io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut authorization = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, _)) = line.split_once(':') {
            authorization |= name.trim().eq_ignore_ascii_case("proxy-authorization");
        }
    }
    let mut client_w = client.try_clone()?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "CONNECT" {
        client_w.write_all(
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let upstream = loopback_target(target).and_then(|addr| TcpStream::connect(addr).ok());
    log.lock()
        .expect("proxy log poisoned")
        .push(ProxiedConnect {
            target: target.to_string(),
            authorization,
            tunnelled: upstream.is_some(),
        });
    let Some(upstream) = upstream else {
        client_w.write_all(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    };
    client_w.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    // Bytes the client sent after its request head (the TLS hello, if it did not wait).
    let early = reader.buffer().to_vec();
    let mut up_w = upstream.try_clone()?;
    up_w.write_all(&early)?;
    let mut up_r = upstream;
    let downstream = thread::spawn(move || {
        let _ = io::copy(&mut up_r, &mut client_w);
        let _ = client_w.shutdown(Shutdown::Write);
    });
    let mut client_r = reader.into_inner();
    let _ = copy_until_closed(&mut client_r, &mut up_w);
    let _ = up_w.shutdown(Shutdown::Write);
    let _ = downstream.join();
    Ok(())
}

fn copy_until_closed(from: &mut TcpStream, to: &mut TcpStream) -> io::Result<()> {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => to.write_all(&buffer[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}
