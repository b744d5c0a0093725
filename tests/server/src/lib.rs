//! A loopback HTTPS server that speaks Concur's Native Flow and oauth2/v0 API, for the tests of every language.
//!
//! It listens on 127.0.0.1 several times: with real TLS (a certificate signed by a CA generated
//! when the server starts, written to a PEM file the client can trust) and in plain HTTP
//! (the library accepts `http://` for loopback hosts only); a second TLS listener plays a second
//! data centre, one with a certificate for another host plays a wrong host, and a plain one
//! plays a hostile geolocation that only logs and answers 404. The same server serves every test:
//! a request chooses its behaviour through a path prefix, so a client pointed at the base URL
//! `{base}/s/{scenario}` asks for `{base}/s/{scenario}/net2/oauth2/accesstoken.ashx` and gets
//! that scenario's answer. [`SCENARIOS`] lists them. Without a prefix the server behaves like
//! Concur: it checks the consumer key and the Basic credentials against its accounts and
//! answers with a token document or an error document. It also plays the companions of the
//! Native Flow: refresh and code exchange (`getaccesstoken.ashx`, checked against
//! [`CLIENT_SECRET`]), revocation (`revoketoken.ashx`, for administrators' tokens), and the
//! Web flow's `Login.aspx`, which sends the caller straight back to its `redirect_uri` with a
//! fresh code (or, with `deny=1`, with `error=access_denied`).
//!
//! The current API (oauth2/v0) is played on the same listeners: `POST /oauth2/v0/token` with
//! the password (user or company), refresh (rotating), client credentials, authorization code
//! and OTP grants, checked against [`OAUTH2_CLIENT_ID`] and [`OAUTH2_CLIENT_SECRET`];
//! `POST /oauth2/v0/otp`; `GET /oauth2/v0/authorize` ([`TestServer::approve_oauth2`]);
//! `DELETE /app-mgmt/v0/connections`; and the legacy token exchange
//! `POST /appmgmt/v0/legacyApps/{key}/exchangeRefreshToken/me`. [`EU_USERNAME`] lives in data
//! centre 2 ([`TestServer::second_base_url`]): data centre 1 answers code 16 for them, and for
//! a refresh of any token whose geolocation is data centre 2. Tokens issued elsewhere carry the
//! base URL of the listener that got the request as geolocation. Revocation applies to every
//! refresh token of a principal across the whole server: a test that revokes should use a
//! principal of its own (an OTP grant for an address no other test uses makes one).

mod certs;
mod faults;
mod http;
pub mod json;
mod oauth;
mod oauth2;
mod proxy;
mod scenario;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

pub use faults::{FAULT_SCENARIOS, idle_closes};
pub use oauth2::{DEFAULT_SCOPE as OAUTH2_DEFAULT_SCOPE, subject_of as oauth2_subject};
pub use proxy::{ConnectProxy, PROXY_ONLY_HOST, ProxiedConnect};
pub use scenario::SCENARIOS;

/// The consumer key the server accepts.
pub const CONSUMER_KEY: &str = "demo-consumer-key-0001";

/// The client secret that goes with [`CONSUMER_KEY`] for refresh and code exchange. It holds
/// characters that must be percent-encoded, so that tests prove the client encodes them.
pub const CLIENT_SECRET: &str = "demo-secret/with+special&chars=%";

/// The client ID of the oauth2/v0 application the server knows (App Management's `client_id`).
pub const OAUTH2_CLIENT_ID: &str = "6f1c2f0e-0000-4000-8000-00000000c11d";

/// The client secret that goes with [`OAUTH2_CLIENT_ID`]. It holds characters that must be
/// form-encoded (`+`, `/`, `=`, `&`, `%`, a space, `#`, `?`), so that tests prove the client
/// encodes them.
pub const OAUTH2_CLIENT_SECRET: &str = "o2-s3cr3t+/=&% #?";

/// A user of the oauth2/v0 API who lives in the second data centre: data centre 1 answers a
/// password grant for them with code 16 and [`TestServer::second_base_url`] as geolocation.
pub const EU_USERNAME: &str = "eu.user@example.com";

/// The password of [`EU_USERNAME`].
pub const EU_PASSWORD: &str = "eu pass=&+1";

/// A user whose account is locked: every password grant for them answers code 14.
pub const LOCKED_USERNAME: &str = "locked.user@example.com";

/// The company (App Center) the server knows: the `username` of a `credtype=authtoken` grant.
pub const COMPANY_ID: &str = "08bcca1e-0d4f-4261-9f1b-f778d96617d6";

/// The company request token that goes with [`COMPANY_ID`] (the grant's `password`).
pub const REQUEST_TOKEN: &str = "5185ae5a-426f-4d6f-8af4-08648c4b696b";

/// The one-time password every `POST /oauth2/v0/otp` "sends" to the address it is given.
pub const OTP_CODE: &str = "428193";

/// Which of the server's listeners got a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Listener {
    /// The HTTPS listener of [`TestServer::base_url`]: data centre 1.
    #[default]
    DataCentre1,
    /// The plain-HTTP listener of [`TestServer::plain_base_url`] (also data centre 1).
    Plain,
    /// The listener of [`TestServer::wrong_host_url`], whose certificate names another host.
    WrongHost,
    /// The HTTPS listener of [`TestServer::second_base_url`]: data centre 2.
    DataCentre2,
    /// The plain-HTTP listener of [`TestServer::evil_base_url`], which logs and answers 404.
    Evil,
}

impl Listener {
    /// Whether the listener speaks TLS.
    pub fn tls(self) -> bool {
        !matches!(self, Listener::Plain | Listener::Evil)
    }
}

/// An account the server knows: a login ID and its password.
#[derive(Clone, Debug)]
pub struct Account {
    /// The login ID (user name) sent before the `:` of the Basic credentials.
    pub login_id: &'static str,
    /// The password sent after the `:`; empty for an account without one.
    pub password: &'static str,
    /// Whether the account is a Web Services Administrator, who may revoke tokens.
    pub admin: bool,
}

/// The accounts every server knows. The first is the one examples use.
pub const ACCOUNTS: &[Account] = &[
    Account {
        login_id: "demo.user@example.com",
        password: "correct horse battery staple",
        admin: true,
    },
    Account {
        login_id: "nopassword@example.com",
        password: "",
        admin: false,
    },
    Account {
        login_id: "jürgen.müller@example.com",
        password: "pässwörd ✓ with spaces",
        admin: false,
    },
];

/// What the server saw of one request and what it answered, for tests that must check what
/// reached the wire (which headers, which credentials, which host).
#[derive(Clone, Debug, Default)]
pub struct RecordedRequest {
    /// The request method.
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    /// The headers as sent, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The scenario chosen by the path prefix; empty for the default behaviour.
    pub scenario: String,
    /// Whether the request came over TLS.
    pub tls: bool,
    /// The listener that got it.
    pub listener: Listener,
    /// The body, decoded as UTF-8 (lossily).
    pub body: String,
    /// The form fields of an `application/x-www-form-urlencoded` body (whatever its
    /// parameters), decoded, in order; empty for other bodies.
    pub form: Vec<(String, String)>,
    /// The token the server issued in its answer, if it issued one.
    pub issued: Option<IssuedToken>,
}

impl RecordedRequest {
    /// The value of the first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of the first form field with this name.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without its scenario prefix and query, e.g. `/oauth2/v0/token`.
    pub fn endpoint(&self) -> &str {
        let path = self.target.split('?').next().unwrap_or("");
        match path.strip_prefix("/s/") {
            Some(rest) => rest.find('/').map_or("", |i| &rest[i..]),
            None => path,
        }
    }

    /// The `grant_type` of a request to `/oauth2/v0/token`; `None` for any other request.
    pub fn grant_type(&self) -> Option<&str> {
        (self.endpoint() == "/oauth2/v0/token")
            .then(|| self.form_value("grant_type"))
            .flatten()
    }
}

/// A token document the server handed out.
#[derive(Clone, Debug, Default)]
pub struct IssuedToken {
    /// The access token.
    pub token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// The expiration date as written in the document.
    pub expiration_date: String,
    /// The same date as Unix seconds (UTC).
    pub expires_at: i64,
    /// The instance URL written in the document.
    pub instance_url: String,
}

pub(crate) struct Shared {
    pub(crate) https_base: String,
    pub(crate) plain_base: String,
    pub(crate) wrong_host_base: String,
    pub(crate) second_base: String,
    pub(crate) evil_base: String,
    pub(crate) oauth2: Mutex<oauth2::State>,
    pub(crate) log: Mutex<Vec<RecordedRequest>>,
    pub(crate) counter: AtomicU64,
    pub(crate) seed: u64,
    pub(crate) stop: AtomicBool,
    pub(crate) grants: Mutex<oauth::Grants>,
    /// Whether requests are logged and grants remembered; off for load tests, whose memory
    /// measurements must not count the server's bookkeeping.
    pub(crate) recording: AtomicBool,
    /// Seconds an issued OAuth2 access token lives (`expires_in`; 3600 unless a test says).
    pub(crate) access_lifetime: AtomicI64,
    /// Seconds an issued refresh token lives (`refresh_expires_in`; 180 days unless a test says).
    pub(crate) refresh_lifetime: AtomicI64,
}

impl Shared {
    /// The base URL of a listener, without a trailing slash.
    pub(crate) fn base_of(&self, listener: Listener) -> &str {
        match listener {
            Listener::DataCentre1 => &self.https_base,
            Listener::Plain => &self.plain_base,
            Listener::WrongHost => &self.wrong_host_base,
            Listener::DataCentre2 => &self.second_base,
            Listener::Evil => &self.evil_base,
        }
    }
}

/// One server for every test of a test program, started on first use. (Statics are never
/// dropped: its CA file stays in the temporary directory when the program ends.)
pub fn shared() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| TestServer::start().expect("the test server starts"))
}

/// A running server. Dropping it stops the listeners and removes the CA file.
pub struct TestServer {
    https_addr: SocketAddr,
    http_addr: SocketAddr,
    wrong_host_addr: SocketAddr,
    second_addr: SocketAddr,
    evil_addr: SocketAddr,
    ca_pem: String,
    leaf_pem: String,
    leaf_key_pem: String,
    ca_file: PathBuf,
    shared: Arc<Shared>,
    /// Kept for [`TestServer::restart`], which serves the same certificate again.
    certs: Arc<certs::TestCerts>,
}

impl TestServer {
    /// Generates a CA and a certificate for `localhost`, `127.0.0.1`, `::1` and
    /// [`PROXY_ONLY_HOST`] (reached through a [`ConnectProxy`]), writes the CA
    /// to a fresh PEM file in the temporary directory, and starts both listeners.
    pub fn start() -> io::Result<TestServer> {
        Self::start_with(Arc::new(certs::TestCerts::generate()?), 0)
    }

    /// Stops this server as a process exit would (listeners closed, every open connection
    /// shut down), then starts another on the same TLS port with the same CA and certificate,
    /// so that a client configured for the first one, kept-alive connections and all, meets
    /// a restarted server. Waits up to 5 s for the port to be free again.
    pub fn restart(self) -> io::Result<TestServer> {
        let (port, certs) = (self.port(), self.certs.clone());
        drop(self);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            match Self::start_with(certs.clone(), port) {
                Err(e)
                    if e.kind() == io::ErrorKind::AddrInUse
                        && std::time::Instant::now() < deadline =>
                {
                    thread::sleep(Duration::from_millis(10));
                }
                result => return result,
            }
        }
    }

    fn start_with(certs: Arc<certs::TestCerts>, https_port: u16) -> io::Result<TestServer> {
        let https = TcpListener::bind(("127.0.0.1", https_port))?;
        let http = TcpListener::bind("127.0.0.1:0")?;
        let wrong_host = TcpListener::bind("127.0.0.1:0")?;
        let https_addr = https.local_addr()?;
        let http_addr = http.local_addr()?;
        let wrong_host_addr = wrong_host.local_addr()?;
        let second = TcpListener::bind("127.0.0.1:0")?;
        let evil = TcpListener::bind("127.0.0.1:0")?;
        let second_addr = second.local_addr()?;
        let evil_addr = evil.local_addr()?;
        let seed = certs::random_u64();
        let ca_file = std::env::temp_dir().join(format!(
            "concur-test-ca-{}-{seed:016x}.pem",
            std::process::id()
        ));
        std::fs::write(&ca_file, &certs.ca_pem)?;
        let shared = Arc::new(Shared {
            https_base: format!("https://{https_addr}"),
            plain_base: format!("http://{http_addr}"),
            wrong_host_base: format!("https://{wrong_host_addr}"),
            second_base: format!("https://{second_addr}"),
            evil_base: format!("http://{evil_addr}"),
            oauth2: Mutex::default(),
            log: Mutex::new(Vec::new()),
            counter: AtomicU64::new(0),
            seed,
            stop: AtomicBool::new(false),
            grants: Mutex::default(),
            recording: AtomicBool::new(true),
            access_lifetime: AtomicI64::new(oauth2::ACCESS_LIFETIME),
            refresh_lifetime: AtomicI64::new(oauth2::REFRESH_LIFETIME),
        });
        let tls = Arc::new(certs.server_config()?);
        spawn_acceptor(https, Some(tls.clone()), Listener::DataCentre1, &shared);
        spawn_acceptor(http, None, Listener::Plain, &shared);
        let wrong_tls = Arc::new(certs.wrong_host_config()?);
        spawn_acceptor(wrong_host, Some(wrong_tls), Listener::WrongHost, &shared);
        spawn_acceptor(second, Some(tls), Listener::DataCentre2, &shared);
        spawn_acceptor(evil, None, Listener::Evil, &shared);
        Ok(TestServer {
            https_addr,
            http_addr,
            wrong_host_addr,
            second_addr,
            evil_addr,
            leaf_pem: certs.leaf_pem.clone(),
            leaf_key_pem: certs.leaf_key_pem.clone(),
            ca_pem: certs.ca_pem.clone(),
            ca_file,
            shared,
            certs,
        })
    }

    /// `https://127.0.0.1:{port}`, with no trailing slash.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.https_addr)
    }

    /// `https://localhost:{port}`: the same listener reached by name.
    pub fn localhost_url(&self) -> String {
        format!("https://localhost:{}", self.https_addr.port())
    }

    /// `http://127.0.0.1:{port}`: the plain-HTTP listener.
    pub fn plain_base_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `https://127.0.0.1:{port}` of a listener whose certificate, signed by the same CA, names
    /// only `wrong-host.example`: a client that checks names must refuse it.
    pub fn wrong_host_url(&self) -> String {
        format!("https://{}", self.wrong_host_addr)
    }

    /// `https://127.0.0.1:{port}` of data centre 2: a second HTTPS listener with the same
    /// certificate (valid for 127.0.0.1 and localhost), where [`EU_USERNAME`] lives.
    pub fn second_base_url(&self) -> String {
        format!("https://{}", self.second_addr)
    }

    /// `http://127.0.0.1:{port}` of a listener that logs whatever it gets and answers 404: a
    /// hostile geolocation, to prove a client sends nothing there.
    pub fn evil_base_url(&self) -> String {
        format!("http://{}", self.evil_addr)
    }

    /// The server certificate (for `localhost`, 127.0.0.1, ::1 and [`PROXY_ONLY_HOST`]) in PEM.
    pub fn cert_pem(&self) -> &str {
        &self.leaf_pem
    }

    /// The server certificate's private key in PEM (PKCS#8).
    pub fn key_pem(&self) -> &str {
        &self.leaf_key_pem
    }

    /// The base URL that selects a scenario: `https://127.0.0.1:{port}/s/{name}`.
    pub fn scenario_url(&self, name: &str) -> String {
        format!("{}/s/{name}", self.base_url())
    }

    /// The path of the PEM file holding the CA that signed the server's certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The CA certificate in PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The port of the TLS listener.
    pub fn port(&self) -> u16 {
        self.https_addr.port()
    }

    /// Stops (or resumes) logging requests and remembering the tokens handed out, so that a
    /// load test's memory measurements count only the client. Without recording, refresh and
    /// revocation know no tokens.
    pub fn set_recording(&self, on: bool) {
        self.shared.recording.store(on, Ordering::SeqCst);
    }

    /// Sets the lifetimes of the OAuth2 tokens issued from now on (whole seconds, at least
    /// one): short ones make expiry, refresh-ahead and the refresh token's six-month death
    /// testable. Tokens already issued keep theirs.
    pub fn set_lifetimes(&self, access: Duration, refresh: Duration) {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1);
        self.shared
            .access_lifetime
            .store(secs(access), Ordering::SeqCst);
        self.shared
            .refresh_lifetime
            .store(secs(refresh), Ordering::SeqCst);
    }

    /// Plays a user approving the Web flow: asks `Login.aspx?{query}` (over the plain
    /// listener) and returns the callback URL it redirects the browser to.
    pub fn approve(&self, query: &str) -> io::Result<String> {
        self.redirect_of(&format!("/net2/oauth2/Login.aspx?{query}"))
    }

    /// Plays a user approving the oauth2/v0 authorization grant: asks
    /// `/oauth2/v0/authorize?{query}` (over the plain listener) and returns the `Location` it
    /// redirects the browser to. An optional `username` parameter (one of [`ACCOUNTS`] or
    /// [`EU_USERNAME`]) says who approves; the first account does by default.
    pub fn approve_oauth2(&self, query: &str) -> io::Result<String> {
        self.redirect_of(&format!("/oauth2/v0/authorize?{query}"))
    }

    fn redirect_of(&self, target: &str) -> io::Result<String> {
        let mut stream = TcpStream::connect(self.http_addr)?;
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.http_addr
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        answer
            .lines()
            .find_map(|line| line.strip_prefix("Location: "))
            .map(|location| location.trim().to_string())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no redirect"))
    }

    /// The requests to `/oauth2/v0/token` (with any scenario prefix) whose `grant_type` was
    /// `grant`, oldest first.
    pub fn token_requests(&self, grant: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.grant_type() == Some(grant))
            .collect()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .log
            .lock()
            .expect("request log poisoned")
            .clone()
    }

    /// The number of requests received so far.
    pub fn request_count(&self) -> usize {
        self.shared.log.lock().expect("request log poisoned").len()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake both acceptors so they see the flag.
        let _ = TcpStream::connect(self.https_addr);
        let _ = TcpStream::connect(self.http_addr);
        let _ = TcpStream::connect(self.wrong_host_addr);
        let _ = TcpStream::connect(self.second_addr);
        let _ = TcpStream::connect(self.evil_addr);
        faults::close_all(&self.shared);
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

fn spawn_acceptor(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    which: Listener,
    shared: &Arc<Shared>,
) {
    let shared = shared.clone();
    thread::spawn(move || {
        // Waits for a connection at most 50 ms at a time and looks at the stop flag in between,
        // so that a stopped server's acceptor always ends, even when the connection Drop makes
        // to wake it does not arrive (the restart row saw a thread left behind, 2 runs in 60).
        let fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
        loop {
            if shared.stop.load(Ordering::SeqCst) {
                break;
            }
            let mut ready = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd for a descriptor this thread owns through `listener`.
            if unsafe { libc::poll(&mut ready, 1, 50) } <= 0 {
                continue;
            }
            let stream = listener.accept().map(|(stream, _)| stream);
            if shared.stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let tls = tls.clone();
            let shared = shared.clone();
            thread::spawn(move || {
                // A test that walks away must not leave this thread blocked for ever.
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let _ = stream.set_nodelay(true);
                http::serve_connection(stream, tls, which, &shared);
            });
        }
    });
}
