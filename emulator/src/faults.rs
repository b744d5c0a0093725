//! The faults real networks make, played on demand: idle connections closed, resets, TLS
//! streams cut without `close_notify`, truncated gzip, and a server that stops with its
//! connections open.
//!
//! The other scenarios only write bytes; these also act on the TCP socket under the
//! connection (a read timeout, `SO_LINGER`, a shutdown). `http::serve_connection` hands each
//! connection's socket to [`Connection::open`], which keeps a duplicate of it for this module
//! for as long as the connection is served, in a thread-local for the scenarios (each
//! connection is served by a thread of its own) and in a registry that [`close_all`] uses
//! when a server stops.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::Shared;
use crate::http::{After, status_line, write_response};
use crate::oauth::issue;

/// The scenarios of this module, as [`crate::SCENARIOS`] lists the others.
pub const FAULT_SCENARIOS: &[(&str, &str)] = &[
    (
        "idle-close-MS",
        "a token document on a kept-alive connection, which the server closes after MS ms idle (no close_notify)",
    ),
    (
        "close-on-reuse",
        "a token document for a connection's first request; any later request on it is read, then the connection closed unanswered",
    ),
    (
        "reset-mid-body",
        "half a token document under a Content-Length for all of it, then a TCP reset (RST)",
    ),
    (
        "cut-no-close-notify",
        "half a token document under a Content-Length for all of it, then a TCP close without TLS close_notify",
    ),
    (
        "no-close-notify",
        "a whole token document with Content-Length and Connection: close, then a TCP close without TLS close_notify",
    ),
    (
        "eof-no-close-notify",
        "a whole token document delimited only by the close (no Content-Length), then a TCP close without TLS close_notify",
    ),
    (
        "eof-cut-no-close-notify",
        "half a token document delimited only by the close (no Content-Length), then a TCP close without TLS close_notify",
    ),
    (
        "gzip-truncated",
        "a gzip-encoded token document cut in half, with a Content-Length for the half",
    ),
    ("empty-503", "HTTP 503 with an empty body"),
    (
        "idle-closes",
        "text/plain: how many connections this process's servers have closed for idling so far",
    ),
];

/// Connections closed by an `idle-close-MS` timer, over every server of the process.
static IDLE_CLOSES: AtomicU64 = AtomicU64::new(0);

/// How many `idle-close-MS` connections the servers of this process have closed since it
/// started: connections whose idle timer was set, and which have ended since (by that timer,
/// unless the client hung up first). Counted once the socket is closed, so a test that sees the
/// count move knows the close has been sent.
pub fn idle_closes() -> u64 {
    IDLE_CLOSES.load(Ordering::SeqCst)
}

/// Every connection being served, with the server (its `Shared`, by address) it belongs to.
type Registry = Mutex<Vec<(usize, Arc<TcpStream>)>>;
static OPEN: Registry = Mutex::new(Vec::new());

struct State {
    socket: Arc<TcpStream>,
    requests: u64,
    idle_close_armed: bool,
}

thread_local! {
    static CURRENT: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// The registration of one served connection; dropping it (after the connection's stream
/// is dropped) closes the last descriptor of the socket.
pub(crate) struct Connection {
    socket: Option<Arc<TcpStream>>,
}

impl Connection {
    /// Registers the socket of a connection this thread is about to serve.
    pub(crate) fn open(tcp: &TcpStream, shared: &Shared) -> Connection {
        let Ok(socket) = tcp.try_clone().map(Arc::new) else {
            return Connection { socket: None };
        };
        lock().push((key(shared), socket.clone()));
        CURRENT.with(|c| {
            *c.borrow_mut() = Some(State {
                socket: socket.clone(),
                requests: 0,
                idle_close_armed: false,
            })
        });
        Connection {
            socket: Some(socket),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let Some(socket) = self.socket.take() else {
            return;
        };
        let armed = CURRENT
            .with(|c| c.borrow_mut().take())
            .is_some_and(|s| s.idle_close_armed);
        lock().retain(|(_, s)| !Arc::ptr_eq(s, &socket));
        drop(socket); // the last descriptor: the close (or reset) leaves now
        if armed {
            IDLE_CLOSES.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Shuts down every connection of this server, as a process exit would: each client sees its
/// kept-alive connections closed, and each serving thread ends.
pub(crate) fn close_all(shared: &Shared) {
    let key = key(shared);
    for (_, socket) in lock().iter().filter(|(k, _)| *k == key) {
        let _ = socket.shutdown(Shutdown::Both);
    }
}

fn key(shared: &Shared) -> usize {
    shared as *const Shared as usize
}

fn lock() -> std::sync::MutexGuard<'static, Vec<(usize, Arc<TcpStream>)>> {
    OPEN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` on what this module keeps of the connection this thread serves (`None` when the
/// socket could not be duplicated).
fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> Option<T> {
    CURRENT.with(|c| c.borrow_mut().as_mut().map(f))
}

/// Whether `scenario` is one of this module's.
pub(crate) fn handles(scenario: &str) -> bool {
    FAULT_SCENARIOS.iter().any(|(name, _)| {
        *name == scenario
            || name
                .strip_suffix("MS")
                .is_some_and(|prefix| scenario.strip_prefix(prefix).is_some_and(is_number))
    })
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Plays one of this module's scenarios (see [`FAULT_SCENARIOS`]).
pub(crate) fn answer(scenario: &str, out: &mut dyn Write, shared: &Shared) -> io::Result<After> {
    let requests = with_state(|s| {
        s.requests += 1;
        s.requests
    })
    .unwrap_or(1);
    let xml = [("Content-Type", "text/xml; charset=utf-8".to_string())];
    if let Some(ms) = scenario.strip_prefix("idle-close-") {
        let idle = Duration::from_millis(ms.parse().unwrap_or(1000).max(1));
        write_response(out, 200, &xml, token_document(shared).as_bytes())?;
        // The serving loop's next read gives up after `idle`, and the connection closes.
        with_state(|s| {
            s.idle_close_armed = s.socket.set_read_timeout(Some(idle)).is_ok();
        });
        return Ok(After::KeepAlive);
    }
    match scenario {
        "close-on-reuse" if requests > 1 => Ok(After::Close),
        "close-on-reuse" => {
            write_response(out, 200, &xml, token_document(shared).as_bytes())?;
            Ok(After::KeepAlive)
        }
        "reset-mid-body" => {
            half_body(out, shared)?;
            with_state(|s| set_reset_on_close(&s.socket));
            Ok(After::Close)
        }
        // The serving loop drops the TLS stream without sending close_notify.
        "cut-no-close-notify" => half_body(out, shared).map(|_| After::Close),
        "no-close-notify" => {
            let headers = [xml[0].clone(), ("Connection", "close".to_string())];
            write_response(out, 200, &headers, token_document(shared).as_bytes())?;
            Ok(After::Close)
        }
        "eof-no-close-notify" | "eof-cut-no-close-notify" => {
            let head = format!(
                "{}Content-Type: text/xml; charset=utf-8\r\nConnection: close\r\n\r\n",
                status_line(200)
            );
            let body = token_document(shared);
            let sent = match scenario {
                "eof-cut-no-close-notify" => &body[..body.len() / 2],
                _ => &body[..],
            };
            out.write_all(head.as_bytes())?;
            out.write_all(sent.as_bytes())?;
            out.flush()?;
            Ok(After::Close)
        }
        "gzip-truncated" => {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(token_document(shared).as_bytes())?;
            let gzip = encoder.finish()?;
            let headers = [xml[0].clone(), ("Content-Encoding", "gzip".to_string())];
            write_response(out, 200, &headers, &gzip[..gzip.len() / 2])?;
            Ok(After::KeepAlive)
        }
        "empty-503" => write_response(out, 503, &[], b"").map(|_| After::KeepAlive),
        "idle-closes" => {
            let plain = [("Content-Type", "text/plain".to_string())];
            write_response(out, 200, &plain, idle_closes().to_string().as_bytes())?;
            Ok(After::KeepAlive)
        }
        _ => write_response(out, 404, &[], b"").map(|_| After::KeepAlive),
    }
}

/// A token document for an anonymous caller, as Concur writes one.
fn token_document(shared: &Shared) -> String {
    let t = issue(shared, "anonymous", None);
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Access_Token>\r\n  \
         <Instance_Url>{}</Instance_Url>\r\n  <Token>{}</Token>\r\n  \
         <Expiration_date>{}</Expiration_date>\r\n  <Refresh_Token>{}</Refresh_Token>\r\n\
         </Access_Token>",
        t.instance_url, t.token, t.expiration_date, t.refresh_token
    )
}

/// The head and the first half of a token document whose Content-Length promises all of it.
fn half_body(out: &mut dyn Write, shared: &Shared) -> io::Result<()> {
    let body = token_document(shared);
    let head = format!(
        "{}Content-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        status_line(200),
        body.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(&body.as_bytes()[..body.len() / 2])?;
    out.flush()
}

/// `SO_LINGER` on, with a zero timeout: closing the socket then sends a reset, not a FIN.
#[cfg(target_os = "linux")]
fn set_reset_on_close(socket: &TcpStream) {
    use std::os::fd::AsRawFd;
    use std::os::raw::{c_int, c_void};
    #[repr(C)]
    struct Linger {
        l_onoff: c_int,
        l_linger: c_int,
    }
    unsafe extern "C" {
        fn setsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            value: *const c_void,
            len: u32,
        ) -> c_int;
    }
    const SOL_SOCKET: c_int = 1;
    const SO_LINGER: c_int = 13;
    let linger = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the descriptor is open (the Arc keeps it), and the value is a `struct linger`
    // of the size passed, which the call only reads.
    let done = unsafe {
        setsockopt(
            socket.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<Linger>() as u32,
        )
    };
    assert_eq!(done, 0, "setsockopt(SO_LINGER) failed");
}

/// Elsewhere the scenario ends in a plain close.
#[cfg(not(target_os = "linux"))]
fn set_reset_on_close(_socket: &TcpStream) {}
