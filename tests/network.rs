//! Networks as they are: the proxy environment variables (read as curl reads them, loopback
//! never proxied, an explicit proxy winning, an off switch) proven through a recording CONNECT
//! proxy, and the trust store (Mozilla's roots, the OS store, both) proven with the test
//! server's CA written as `SSL_CERT_FILE`/`SSL_CERT_DIR` for a child process.
//!
//! Nothing here changes this process's environment: the in-process tests hand the client an
//! environment of their own (`Client::with_surroundings`), and the tests of the real
//! environment run this test program again as a child with its variables set.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::process::Command;
use std::time::Duration;

use concur_native::{Client, Error, ErrorKind, Options, Token, TrustStore};
use concur_test_server::{
    ACCOUNTS, CONSUMER_KEY, ConnectProxy, PROXY_ONLY_HOST, ProxiedConnect, shared as server,
};

/// Every variable that could steer a child's proxy or trust store, removed before each run.
const STEERING: [&str; 13] = [
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "no_proxy",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CONCUR_NET_CHILD_BASE",
    "CONCUR_NET_CHILD_TRUST",
    "CONCUR_NET_CHILD_CA",
];

/// `https://concur.test:{port}/s/legacy`: the test server, by a name only the proxy knows,
/// answering without an `Instance_Url` (which would name 127.0.0.1, a loopback host the
/// library refuses to hear of from a call that did not go to loopback).
fn proxy_only_base() -> String {
    format!("https://{PROXY_ONLY_HOST}:{}/s/legacy", server().port())
}

fn options(base: String) -> Options {
    Options::new()
        .base_url(base)
        .ca_file(server().ca_file())
        .trusted_host(PROXY_ONLY_HOST)
        .timeout(Duration::from_secs(10))
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

/// `concur.test` resolving to 127.0.0.1 inside the client, for calls that go direct.
const RESOLVES: &[(&str, IpAddr)] = &[(PROXY_ONLY_HOST, IpAddr::V4(Ipv4Addr::LOCALHOST))];

/// A Native Flow token with `options`, the environment `env`, and `hosts` resolved locally.
fn token(
    options: &Options,
    env: &[(&str, &str)],
    hosts: &[(&str, IpAddr)],
) -> Result<Token, Error> {
    let a = &ACCOUNTS[0];
    Client::with_surroundings(options, &env_of(env), hosts)?.native_token(
        CONSUMER_KEY,
        a.login_id,
        a.password,
    )
}

fn tunnel_to(target: &str, authorization: bool) -> ProxiedConnect {
    ProxiedConnect {
        target: target.to_string(),
        authorization,
        tunnelled: true,
    }
}

fn start_proxy() -> ConnectProxy {
    ConnectProxy::start().expect("the proxy starts")
}

#[test]
fn the_environment_proxy_carries_calls_to_a_name_only_it_knows() {
    let target = format!("{PROXY_ONLY_HOST}:{}", server().port());
    for variable in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        let proxy = start_proxy();
        // No local resolution of concur.test: only the proxy can reach it.
        let token = token(
            &options(proxy_only_base()),
            &[(variable, &proxy.url())],
            &[],
        )
        .unwrap_or_else(|e| panic!("{variable}: {e}"));
        assert!(!token.token().is_empty());
        assert_eq!(proxy.connects(), [tunnel_to(&target, false)], "{variable}");
    }
}

#[test]
fn without_a_proxy_the_name_is_resolved_locally() {
    // The control for the test above: the same call with no proxy goes direct.
    token(&options(proxy_only_base()), &[], RESOLVES).expect("direct call");
}

#[test]
fn no_proxy_sends_matching_hosts_direct() {
    let port = server().port();
    for list in [
        "concur.test".to_string(),
        ".concur.test".into(),
        "*.concur.test".into(),
        "other.example, CONCUR.TEST".into(),
        "*".into(),
        // A name exempts every host below it: concur.test is below test.
        "test".into(),
        format!("concur.test:{port}"),
    ] {
        let proxy = start_proxy();
        let env = [("HTTPS_PROXY", proxy.url()), ("NO_PROXY", list.clone())];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        token(&options(proxy_only_base()), &env, RESOLVES)
            .unwrap_or_else(|e| panic!("NO_PROXY={list}: {e}"));
        assert_eq!(proxy.connects(), [], "NO_PROXY={list}");
    }
    // Lists that do not match this host and port leave the call to the proxy.
    for list in [
        "other.concur.test",
        "notconcur.test",
        "concur.test:1",
        "127.0.0.1",
    ] {
        let proxy = start_proxy();
        let url = proxy.url();
        token(
            &options(proxy_only_base()),
            &[("HTTPS_PROXY", &url), ("no_proxy", list)],
            RESOLVES,
        )
        .unwrap_or_else(|e| panic!("NO_PROXY={list}: {e}"));
        assert_eq!(proxy.connects().len(), 1, "NO_PROXY={list}");
    }
}

#[test]
fn an_explicit_proxy_wins_and_the_off_switch_goes_direct() {
    let (from_env, explicit) = (start_proxy(), start_proxy());
    let env_url = from_env.url();
    let env = [("HTTPS_PROXY", env_url.as_str()), ("NO_PROXY", "*")];
    // The explicit proxy serves the call even though NO_PROXY exempts every host: with an
    // explicit proxy, no variable is read.
    token(&options(proxy_only_base()).proxy(explicit.url()), &env, &[]).expect("explicit");
    assert_eq!(explicit.connects().len(), 1);
    assert_eq!(from_env.connects(), []);

    let off = options(proxy_only_base()).proxy_from_env(false);
    assert!(!off.get_proxy_from_env());
    token(&off, &[("HTTPS_PROXY", &env_url)], RESOLVES).expect("off switch");
    assert_eq!(
        from_env.connects(),
        [],
        "the off switch went through the proxy"
    );
}

#[test]
fn loopback_bases_never_use_the_environment_proxy() {
    let proxy = start_proxy();
    let url = proxy.url();
    for base in [
        server().base_url(),
        server().localhost_url(),
        server().plain_base_url(),
    ] {
        token(
            &options(base.clone()),
            &[
                ("HTTPS_PROXY", &url),
                ("ALL_PROXY", &url),
                ("http_proxy", &url),
            ],
            &[],
        )
        .unwrap_or_else(|e| panic!("{base}: {e}"));
        // An unusable proxy in the environment does not matter to loopback either.
        token(
            &options(base.clone()),
            &[("HTTPS_PROXY", "socks5://127.0.0.1:1")],
            &[],
        )
        .unwrap_or_else(|e| panic!("{base} with a SOCKS proxy in the environment: {e}"));
    }
    assert_eq!(proxy.connects(), []);
    // The existing rule stands: an explicit proxy with a plain-HTTP base is refused.
    let e = Client::new(&options(server().plain_base_url()).proxy(url)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}

#[test]
fn proxy_credentials_reach_the_proxy_and_no_error_text() {
    const PASSWORD: &str = "Pr0xy-Pa55word";
    let proxy = start_proxy();
    let with_user = proxy
        .url()
        .replace("http://", &format!("http://me:{PASSWORD}@"));
    token(
        &options(proxy_only_base()),
        &[("HTTPS_PROXY", &with_user)],
        &[],
    )
    .expect("token");
    assert_eq!(
        proxy.connects(),
        [tunnel_to(
            &format!("{PROXY_ONLY_HOST}:{}", server().port()),
            true
        )]
    );

    // A proxy that is not there: a connection error that quotes nothing of the URL.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://me:{PASSWORD}@{}", closed.local_addr().unwrap());
    drop(closed);
    let client = Client::with_surroundings(
        &options(proxy_only_base()),
        &env_of(&[("HTTPS_PROXY", &dead)]),
        &[],
    )
    .expect("client");
    assert!(!format!("{client:?}").contains(PASSWORD));
    let a = &ACCOUNTS[0];
    let e = client
        .native_token(CONSUMER_KEY, a.login_id, a.password)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    assert!(!format!("{e} {e:?}").contains(PASSWORD), "{e:?}");

    // Unusable values: refused when the client is built, naming the variable, not the value.
    for (variable, value, words) in [
        (
            "ALL_PROXY",
            format!("socks5://me:{PASSWORD}@127.0.0.1:1080"),
            "SOCKS",
        ),
        (
            "HTTPS_PROXY",
            format!("http://me:{PASSWORD}@bad host:1"),
            "not an http",
        ),
        (
            "https_proxy",
            format!("gopher://me:{PASSWORD}@p:1"),
            "not an http",
        ),
    ] {
        let e = Client::with_surroundings(
            &options(proxy_only_base()),
            &env_of(&[(variable, &value)]),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        let text = format!("{e} {e:?}");
        assert!(text.contains(variable) && text.contains(words), "{text}");
        assert!(!text.contains(PASSWORD) && !text.contains("me:"), "{text}");
        // The off switch ignores it.
        Client::with_surroundings(
            &options(proxy_only_base()).proxy_from_env(false),
            &env_of(&[(variable, &value)]),
            &[],
        )
        .expect("the off switch reads no variable");
    }
}

// ---- The real environment, in a child process --------------------------------------------

/// Runs [`child`] in a child process with `env` set (and every steering variable not in `env`
/// removed); returns its `RESULT` line: `ok` or `ERROR_CODE message`.
fn run_child(base: &str, trust: &str, env: &[(&str, &str)]) -> String {
    let mut command = Command::new(std::env::current_exe().expect("the test program"));
    command.args([
        "child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for name in STEERING {
        command.env_remove(name);
    }
    command
        .env("CONCUR_NET_CHILD_BASE", base)
        .env("CONCUR_NET_CHILD_TRUST", trust);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("the child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
        .map(str::to_string)
        .unwrap_or_else(|| {
            panic!(
                "no result from the child: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// The child half of the tests below: builds a client with `Client::new` (the real
/// environment), trusting the store `CONCUR_NET_CHILD_TRUST` names and the CA file
/// `CONCUR_NET_CHILD_CA` (when set), and asks for a token from `CONCUR_NET_CHILD_BASE`.
#[test]
#[ignore = "the child half of the environment tests, which run it in a child process"]
fn child() {
    let base = std::env::var("CONCUR_NET_CHILD_BASE")
        .expect("run by the environment tests of tests/network.rs, which set CONCUR_NET_CHILD_*");
    let trust: TrustStore = std::env::var("CONCUR_NET_CHILD_TRUST")
        .expect("CONCUR_NET_CHILD_TRUST")
        .parse()
        .expect("a trust store name");
    let mut options = Options::new()
        .base_url(base)
        .trust_store(trust)
        .trusted_host(PROXY_ONLY_HOST)
        .timeout(Duration::from_secs(10));
    if let Some(ca) = std::env::var_os("CONCUR_NET_CHILD_CA") {
        options = options.ca_file(ca);
    }
    let a = &ACCOUNTS[0];
    let result = Client::new(&options)
        .and_then(|client| client.native_token(CONSUMER_KEY, a.login_id, a.password));
    match result {
        Ok(_) => println!("RESULT ok"),
        Err(e) => println!("RESULT {} {e}", e.kind().code()),
    }
}

/// A directory holding the test CA under its OpenSSL hash name (`openssl rehash`).
fn hashed_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "concur-net-{name}-{}-{}",
        std::process::id(),
        server().port()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test-ca.pem"), server().ca_pem()).unwrap();
    let status = Command::new("openssl")
        .arg("rehash")
        .arg(&dir)
        .status()
        .expect("openssl is installed (the README's test command needs it)");
    assert!(status.success(), "openssl rehash failed");
    let hashed = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().ends_with(".0"));
    assert!(
        hashed,
        "openssl rehash made no hash link in {}",
        dir.display()
    );
    dir
}

fn ca_file() -> &'static str {
    server().ca_file().to_str().expect("a UTF-8 temporary path")
}

#[test]
fn the_real_environment_proxy_is_read_when_the_client_is_built() {
    let proxy = start_proxy();
    let base = proxy_only_base();
    let result = run_child(
        &base,
        "os",
        &[("HTTPS_PROXY", &proxy.url()), ("SSL_CERT_FILE", ca_file())],
    );
    assert_eq!(result, "ok");
    assert_eq!(
        proxy.connects(),
        [tunnel_to(
            &format!("{PROXY_ONLY_HOST}:{}", server().port()),
            false
        )]
    );
    // An unusable proxy in the real environment: refused when the client is built, by name.
    let socks = run_child(&base, "os", &[("ALL_PROXY", "socks5://127.0.0.1:1080")]);
    assert!(
        socks.starts_with("INVALID_ARGUMENT ") && socks.contains("ALL_PROXY"),
        "{socks}"
    );
}

#[test]
fn the_os_store_is_read_from_ssl_cert_file_and_ssl_cert_dir() {
    let base = server().base_url();
    assert_eq!(
        run_child(&base, "os", &[("SSL_CERT_FILE", ca_file())]),
        "ok"
    );
    assert_eq!(
        run_child(&base, "both", &[("SSL_CERT_FILE", ca_file())]),
        "ok"
    );
    let mozilla = run_child(&base, "mozilla", &[("SSL_CERT_FILE", ca_file())]);
    assert!(mozilla.starts_with("TLS "), "{mozilla}");
    assert!(mozilla.contains("UnknownIssuer"), "{mozilla}");

    let dir = hashed_dir("certdir");
    let dir_text = dir.to_str().unwrap();
    assert_eq!(run_child(&base, "os", &[("SSL_CERT_DIR", dir_text)]), "ok");
    assert_eq!(
        run_child(&base, "both", &[("SSL_CERT_DIR", dir_text)]),
        "ok"
    );
    let mozilla = run_child(&base, "mozilla", &[("SSL_CERT_DIR", dir_text)]);
    assert!(mozilla.starts_with("TLS "), "{mozilla}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_empty_or_unreadable_os_store_is_an_error_not_a_fallback() {
    let base = server().base_url();
    let empty_dir = std::env::temp_dir().join(format!("concur-net-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty_dir).unwrap();
    let empty_file = empty_dir.join("empty.pem");
    std::fs::write(&empty_file, "").unwrap();
    let missing = empty_dir.join("missing.pem");
    for (name, value) in [
        ("SSL_CERT_FILE", missing.as_path()),
        ("SSL_CERT_FILE", empty_file.as_path()),
        ("SSL_CERT_DIR", missing.as_path()),
    ] {
        for trust in ["os", "both"] {
            let result = run_child(&base, trust, &[(name, value.to_str().unwrap())]);
            assert!(
                result.starts_with("INVALID_ARGUMENT ") && result.contains("OS trust store"),
                "{trust} with {name}={}: {result}",
                value.display()
            );
        }
    }
    // Mozilla's roots do not read the OS store at all.
    let result = run_child(
        &base,
        "mozilla",
        &[("SSL_CERT_FILE", missing.to_str().unwrap())],
    );
    assert!(result.starts_with("TLS "), "{result}");
    let _ = std::fs::remove_dir_all(&empty_dir);
}

#[test]
fn the_ca_file_adds_to_every_trust_store() {
    // The OS store holds an unrelated CA (another server's); the CA file, the test CA.
    let other = concur_test_server::TestServer::start().expect("a second server");
    let other_ca = other.ca_file().to_str().unwrap();
    let base = server().base_url();
    for trust in ["os", "both", "mozilla"] {
        let with_ca = run_child(
            &base,
            trust,
            &[
                ("SSL_CERT_FILE", other_ca),
                ("CONCUR_NET_CHILD_CA", ca_file()),
            ],
        );
        assert_eq!(with_ca, "ok", "{trust}");
        let without = run_child(&base, trust, &[("SSL_CERT_FILE", other_ca)]);
        assert!(without.starts_with("TLS "), "{trust}: {without}");
    }
}

#[test]
fn trust_store_names() {
    for (name, store) in [
        ("mozilla", TrustStore::Mozilla),
        ("OS", TrustStore::Os),
        ("Both", TrustStore::Both),
    ] {
        assert_eq!(name.parse::<TrustStore>().unwrap(), store);
        assert_eq!(store.as_str(), name.to_ascii_lowercase());
    }
    for bad in ["", "system", "native", "mozilla "] {
        let e = bad.parse::<TrustStore>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
    }
    assert_eq!(Options::new().get_trust_store(), TrustStore::Mozilla);
    assert!(Options::new().get_proxy_from_env());
}
