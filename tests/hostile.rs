//! The hostile-peer matrix: one test per row, each asserting the exact error class, that the
//! call ends in bounded time, that the process's peak memory grows by less than 16 MiB, and
//! that no file descriptor is left open. The rows run one at a time (this file is its own
//! process) so that each measurement is the row's own.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use concur_native::{Client, Error, ErrorKind, Options, Token, native_token};
use concur_test_server::{ACCOUNTS, CLIENT_SECRET, CONSUMER_KEY, TestServer, shared as server};

/// A password, as only this file uses it, to look for in every text the rows produce.
const PASSWORD: &str = "hostile-matrix-Secret-pw-42";

/// One row at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Every error and debug text the rows produced, for the secrets scan.
fn texts() -> &'static Mutex<Vec<String>> {
    static TEXTS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    TEXTS.get_or_init(Mutex::default)
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field in /proc/self/status")
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("procfs").count()
}

fn options(base_url: String, timeout: Duration) -> Options {
    Options::new()
        .base_url(base_url)
        .ca_file(server().ca_file())
        .timeout(timeout)
}

/// Runs one row: the call, then the bounds every row shares. The test holds `serial()` for
/// its whole length, so that nothing else in the process moves the measurements.
fn row(limit: Duration, call: impl FnOnce() -> Result<Token, Error>) -> Result<Token, Error> {
    let _ = server(); // started before the measurements
    let fds = open_fds();
    let peak = status_kib("VmHWM:");
    let started = Instant::now();
    let result = call();
    let elapsed = started.elapsed();
    assert!(elapsed < limit, "took {elapsed:?}, limit {limit:?}");
    let grown = status_kib("VmHWM:").saturating_sub(peak);
    assert!(grown < 16 * 1024, "peak memory grew by {grown} KiB");
    // The server's side of the connection lives in this process too, and a slow scenario
    // holds it until it wakes: let it close (the rows keep their server-side sleeps short).
    let deadline = Instant::now() + Duration::from_secs(3);
    while open_fds() > fds && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if open_fds() > fds {
        let links: Vec<String> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| format!("{:?}", std::fs::read_link(e.path())))
            .collect();
        panic!("file descriptors leaked: {} > {fds}: {links:?}", open_fds());
    }
    if let Err(e) = &result {
        let mut texts = texts().lock().unwrap();
        texts.push(e.to_string());
        texts.push(format!("{e:?}"));
    }
    result
}

fn scenario(name: &str, timeout: Duration) -> Result<Token, Error> {
    native_token(
        CONSUMER_KEY,
        ACCOUNTS[0].login_id,
        PASSWORD,
        &options(server().scenario_url(name), timeout),
    )
}

fn expect(kind: ErrorKind, result: Result<Token, Error>) -> Error {
    let e = result.expect_err("the row must fail");
    assert_eq!(e.kind(), kind, "{e}");
    e
}

const SECONDS_10: Duration = Duration::from_secs(10);

#[test]
fn slow_headers_past_the_deadline() {
    let _serial = serial();
    let e = expect(
        ErrorKind::Timeout,
        row(Duration::from_millis(1500), || {
            scenario("slow-headers-2000", Duration::from_millis(500))
        }),
    );
    assert!(e.status().is_none());
}

#[test]
fn a_body_trickled_one_byte_a_second_meets_the_total_deadline() {
    let _serial = serial();
    expect(
        ErrorKind::Timeout,
        row(Duration::from_millis(2500), || {
            scenario("trickle-1000", Duration::from_millis(1500))
        }),
    );
}

#[test]
fn a_64_mib_body_is_cut_at_64_kib() {
    let _serial = serial();
    for name in ["huge", "huge-chunked"] {
        let e = expect(
            ErrorKind::Protocol,
            row(Duration::from_secs(3), || scenario(name, SECONDS_10)),
        );
        assert!(e.to_string().contains("64 KiB"), "{e}");
    }
}

#[test]
fn an_entity_expansion_bomb() {
    let _serial = serial();
    expect(
        ErrorKind::Protocol,
        row(SECONDS_10, || scenario("entity-bomb", SECONDS_10)),
    );
}

#[test]
fn ten_thousand_nested_elements() {
    let _serial = serial();
    expect(
        ErrorKind::Protocol,
        row(SECONDS_10, || scenario("deep", SECONDS_10)),
    );
}

#[test]
fn an_html_sign_in_page_with_200() {
    let _serial = serial();
    let e = expect(
        ErrorKind::Protocol,
        row(SECONDS_10, || scenario("html", SECONDS_10)),
    );
    assert_eq!(e.status(), Some(200));
}

#[test]
fn random_bytes() {
    let _serial = serial();
    expect(
        ErrorKind::Protocol,
        row(SECONDS_10, || scenario("garbage", SECONDS_10)),
    );
}

#[test]
fn an_empty_body() {
    let _serial = serial();
    expect(
        ErrorKind::Protocol,
        row(SECONDS_10, || scenario("empty", SECONDS_10)),
    );
}

#[test]
fn token_missing_or_empty() {
    let _serial = serial();
    for name in ["no-token", "empty-token"] {
        let e = expect(
            ErrorKind::Protocol,
            row(SECONDS_10, || scenario(name, SECONDS_10)),
        );
        assert!(e.to_string().contains("no Token"), "{e}");
    }
}

#[test]
fn invalid_utf8() {
    let _serial = serial();
    expect(
        ErrorKind::Protocol,
        row(SECONDS_10, || scenario("bad-utf8", SECONDS_10)),
    );
}

#[test]
fn a_content_length_longer_than_the_body() {
    let _serial = serial();
    expect(
        ErrorKind::Protocol,
        row(SECONDS_10, || scenario("short-body", SECONDS_10)),
    );
}

#[test]
fn the_connection_closed_with_no_answer() {
    let _serial = serial();
    expect(
        ErrorKind::Protocol,
        row(SECONDS_10, || scenario("close", SECONDS_10)),
    );
}

#[test]
fn gzip_and_chunked_are_accepted() {
    let _serial = serial();
    for name in ["gzip", "chunked"] {
        let token = row(SECONDS_10, || {
            native_token(
                CONSUMER_KEY,
                ACCOUNTS[0].login_id,
                ACCOUNTS[0].password,
                &options(server().scenario_url(name), SECONDS_10),
            )
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(token.token().starts_with("0_"));
    }
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    let _serial = serial();
    let other = TestServer::start().expect("the other host");
    let e = expect(
        ErrorKind::HttpStatus,
        row(SECONDS_10, || {
            scenario(&format!("redirect-{}", other.port()), SECONDS_10)
        }),
    );
    assert_eq!(e.status(), Some(302));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        other.requests().is_empty(),
        "the other host received {:?}",
        other.requests()
    );
}

#[test]
fn an_untrusted_certificate() {
    let _serial = serial();
    let e = expect(
        ErrorKind::Tls,
        row(SECONDS_10, || {
            let no_ca = Options::new()
                .base_url(server().base_url())
                .timeout(SECONDS_10);
            native_token(CONSUMER_KEY, ACCOUNTS[0].login_id, PASSWORD, &no_ca)
        }),
    );
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
}

#[test]
fn a_wrong_host_certificate() {
    let _serial = serial();
    let e = expect(
        ErrorKind::Tls,
        row(SECONDS_10, || {
            native_token(
                CONSUMER_KEY,
                ACCOUNTS[0].login_id,
                PASSWORD,
                &options(server().wrong_host_url(), SECONDS_10),
            )
        }),
    );
    assert!(e.to_string().contains("not valid for name"), "{e}");
}

/// `openssl s_server` offering TLS 1.0 and nothing newer, on a loopback port.
struct Tls10Server {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Tls10Server {
    fn start() -> Tls10Server {
        let dir = std::env::temp_dir().join(format!("concur-tls10-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cert.pem"), server().cert_pem()).unwrap();
        std::fs::write(dir.join("key.pem"), server().key_pem()).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-tls1",
                "-cipher",
                "DEFAULT@SECLEVEL=0",
            ])
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(dir.join("cert.pem"))
            .arg("-key")
            .arg(dir.join("key.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl runs (the test command installs it)");
        let deadline = Instant::now() + SECONDS_10;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Tls10Server { child, port, dir }
    }
}

impl Drop for Tls10Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_tls_1_0_only_server() {
    let _serial = serial();
    let old = Tls10Server::start();
    let e = expect(
        ErrorKind::Tls,
        row(SECONDS_10, || {
            native_token(
                CONSUMER_KEY,
                ACCOUNTS[0].login_id,
                PASSWORD,
                &options(format!("https://127.0.0.1:{}", old.port), SECONDS_10),
            )
        }),
    );
    assert!(e.to_string().to_lowercase().contains("version"), "{e}");
}

#[test]
fn a_proxy_that_refuses() {
    let _serial = serial();
    expect(
        ErrorKind::Connect,
        row(SECONDS_10, || {
            let opts = options(server().base_url(), SECONDS_10).proxy(server().plain_base_url());
            native_token(CONSUMER_KEY, ACCOUNTS[0].login_id, PASSWORD, &opts)
        }),
    );
}

/// Runs after the rows above have had their chance to fill the list (it takes the same lock
/// last only by luck of scheduling, so it runs every row it needs itself too).
#[test]
fn secrets_appear_in_no_text_of_the_matrix() {
    let _serial = serial();
    let client = Client::new(&options(server().base_url(), SECONDS_10)).unwrap();
    let token = client
        .native_token(CONSUMER_KEY, ACCOUNTS[0].login_id, ACCOUNTS[0].password)
        .unwrap();
    let mut produced = Vec::new();
    for name in [
        "status-500",
        "html",
        "close",
        "huge",
        "garbage",
        "entity-bomb",
        "error-200",
        "short-body",
        "bad-utf8",
        "json-error-401",
    ] {
        let c = Client::new(&options(server().scenario_url(name), SECONDS_10)).unwrap();
        let results = [
            c.native_token(CONSUMER_KEY, ACCOUNTS[0].login_id, PASSWORD)
                .map(|_| ()),
            c.refresh_token(CONSUMER_KEY, CLIENT_SECRET, token.refresh_token().unwrap())
                .map(|_| ()),
            c.exchange_code(CONSUMER_KEY, CLIENT_SECRET, "C_matrix_code")
                .map(|_| ()),
            c.revoke_token(token.token(), token.token()),
        ];
        for e in results.into_iter().filter_map(Result::err) {
            produced.push(e.to_string());
            produced.push(format!("{e:?}"));
        }
        produced.push(format!("{c:?}"));
    }
    produced.push(format!("{token:?}"));
    produced.push(format!("{client:?}"));
    produced.extend(texts().lock().unwrap().iter().cloned());
    assert!(produced.len() > 60, "{}", produced.len());
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{PASSWORD}", ACCOUNTS[0].login_id));
    let secrets = [
        PASSWORD,
        basic.as_str(),
        CLIENT_SECRET,
        "demo-secret%2F", // the secret as it travels, percent-encoded
        token.token(),
        token.refresh_token().unwrap(),
        "C_matrix_code",
    ];
    for text in &produced {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret:?} appears in {text:?}");
        }
    }
}
