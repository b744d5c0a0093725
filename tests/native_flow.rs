//! The Native Flow against the loopback HTTPS test server: success in every documented shape,
//! every error class, every hostile answer, and what reached the wire.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use base64::Engine;
use concur_native::{Client, Error, ErrorKind, Options, Token, native_token};
use concur_test_server::{ACCOUNTS, CONSUMER_KEY, TestServer, shared as server};

fn options(base_url: String) -> Options {
    Options::new()
        .base_url(base_url)
        .ca_file(server().ca_file())
        .timeout(Duration::from_secs(10))
}

fn demo_token(base_url: String) -> Result<Token, Error> {
    let a = &ACCOUNTS[0];
    native_token(CONSUMER_KEY, a.login_id, a.password, &options(base_url))
}

fn scenario(name: &str) -> Result<Token, Error> {
    demo_token(server().scenario_url(name))
}

fn expect_error(result: Result<Token, Error>, kind: ErrorKind) -> Error {
    let e = result.expect_err("the call must fail");
    assert_eq!(e.kind(), kind, "{e}");
    e
}

/// The request the server logged for the token it issued.
fn issued_for(token: &Token) -> concur_test_server::IssuedToken {
    server()
        .requests()
        .into_iter()
        .filter_map(|r| r.issued)
        .find(|i| i.token == token.token())
        .expect("the server issued this token")
}

#[test]
fn xml_answer_gives_every_field() {
    let token = demo_token(server().base_url()).expect("token");
    let issued = issued_for(&token);
    assert_eq!(token.refresh_token(), Some(issued.refresh_token.as_str()));
    assert_eq!(
        token.expiration_date(),
        Some(issued.expiration_date.as_str())
    );
    assert_eq!(token.expires_at(), Some(issued.expires_at));
    assert_eq!(token.instance_url(), Some(issued.instance_url.as_str()));
}

#[test]
fn the_request_is_the_documented_one() {
    let token = demo_token(server().base_url()).expect("token");
    let request = server()
        .requests()
        .into_iter()
        .find(|r| r.issued.as_ref().is_some_and(|i| i.token == token.token()))
        .expect("logged");
    assert_eq!(request.method, "GET");
    assert_eq!(request.target, "/net2/oauth2/accesstoken.ashx");
    assert!(request.tls);
    let a = &ACCOUNTS[0];
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", a.login_id, a.password));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(request.header("x-consumerkey"), Some(CONSUMER_KEY));
    let agent = request.header("user-agent").expect("user agent");
    assert!(agent.starts_with("concur-native/"), "{agent}");
}

#[test]
fn empty_password_and_utf8_accounts() {
    for account in &ACCOUNTS[1..] {
        let token = native_token(
            CONSUMER_KEY,
            account.login_id,
            account.password,
            &options(server().base_url()),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", account.login_id));
        assert!(!token.token().is_empty());
    }
}

#[test]
fn json_answer() {
    let token = scenario("json").expect("token");
    let issued = issued_for(&token);
    assert_eq!(token.refresh_token(), Some(issued.refresh_token.as_str()));
    assert_eq!(token.expires_at(), Some(issued.expires_at));
    assert_eq!(token.instance_url(), Some(issued.instance_url.as_str()));
}

#[test]
fn letter_case_padding_escapes_and_cdata() {
    let token = scenario("casing").expect("token");
    let issued = issued_for(&token);
    assert_eq!(token.refresh_token(), Some(issued.refresh_token.as_str()));
    assert_eq!(token.expires_at(), Some(issued.expires_at));
    assert_eq!(token.instance_url(), Some(issued.instance_url.as_str()));
}

#[test]
fn legacy_answer_without_optional_fields() {
    let token = scenario("legacy").expect("token");
    assert_eq!(token.refresh_token(), None);
    assert_eq!(token.instance_url(), None);
    assert!(token.expires_at().is_some());
}

#[test]
fn unreadable_date_is_absent_not_an_error() {
    let token = scenario("bad-date").expect("token");
    assert_eq!(token.expiration_date(), Some("sometime next year"));
    assert_eq!(token.expires_at(), None);
}

#[test]
fn gzip_and_chunked_answers_are_accepted() {
    for name in ["gzip", "chunked"] {
        let token = scenario(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(issued_for(&token).token, token.token());
    }
}

#[test]
fn localhost_by_name() {
    demo_token(server().localhost_url()).expect("token");
}

#[test]
fn plain_http_to_loopback_is_allowed() {
    demo_token(server().plain_base_url()).expect("token over loopback http");
}

#[test]
fn wrong_password_is_unauthorized_with_concur_message() {
    let e = expect_error(
        native_token(
            CONSUMER_KEY,
            ACCOUNTS[0].login_id,
            "wrong-password-xyzzy",
            &options(server().base_url()),
        ),
        ErrorKind::Unauthorized,
    );
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.concur_message(), Some("Invalid login ID or password."));
    assert_eq!(e.error_id(), Some("ERR-401-0001"));
    assert!(!e.to_string().contains("xyzzy"));
    assert!(!format!("{e:?}").contains("xyzzy"));
}

#[test]
fn wrong_consumer_key_is_unauthorized() {
    let e = expect_error(
        native_token(
            "not-the-key",
            ACCOUNTS[0].login_id,
            ACCOUNTS[0].password,
            &options(server().base_url()),
        ),
        ErrorKind::Unauthorized,
    );
    assert_eq!(e.status(), Some(403));
    assert_eq!(e.concur_message(), Some("Invalid consumer key."));
}

#[test]
fn error_document_with_200_naming_credentials_is_unauthorized() {
    let e = expect_error(scenario("error-200"), ErrorKind::Unauthorized);
    assert_eq!(e.status(), Some(200));
    assert!(e.error_id().is_some());
}

#[test]
fn error_document_with_200_about_something_else_is_protocol() {
    let e = expect_error(scenario("error-200-other"), ErrorKind::Protocol);
    assert_eq!(
        e.concur_message(),
        Some("The service is in maintenance mode.")
    );
}

#[test]
fn http_statuses() {
    for status in [400u16, 404, 429, 500, 502, 503] {
        let e = expect_error(scenario(&format!("status-{status}")), ErrorKind::HttpStatus);
        assert_eq!(e.status(), Some(status));
        assert_eq!(e.is_server_error(), status >= 500);
        assert!(e.concur_message().is_some(), "{e}");
        assert_eq!(e.error_id(), Some(format!("ERR-{status}-0001").as_str()));
    }
    let e = expect_error(scenario("status-401"), ErrorKind::Unauthorized);
    assert_eq!(e.status(), Some(401));
    let e = expect_error(scenario("json-error-403"), ErrorKind::Unauthorized);
    assert_eq!(e.concur_message(), Some("Invalid consumer key."));
}

#[test]
fn redirects_are_not_followed_and_credentials_go_nowhere_else() {
    let other = TestServer::start().expect("second server");
    let e = expect_error(
        scenario(&format!("redirect-{}", other.port())),
        ErrorKind::HttpStatus,
    );
    assert_eq!(e.status(), Some(302));
    assert!(e.to_string().contains("redirect"), "{e}");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        other.request_count(),
        0,
        "the redirect target must receive nothing"
    );
}

#[test]
fn hostile_answers_are_protocol_errors() {
    for (name, words) in [
        ("entity-bomb", "document type"),
        ("deep", "larger than 64 KiB"),
        ("html", "HTML"),
        ("garbage", ""),
        ("empty", "empty"),
        ("no-token", "no Token"),
        ("empty-token", "no Token"),
        ("bad-utf8", "UTF-8"),
        ("unknown-document", "not a token document"),
        ("short-body", "closed before"),
    ] {
        let e = expect_error(scenario(name), ErrorKind::Protocol);
        assert!(e.to_string().contains(words), "{name}: {e}");
    }
}

#[test]
fn huge_answers_are_cut_at_64_kib() {
    for name in ["huge", "huge-chunked"] {
        let started = Instant::now();
        let e = expect_error(scenario(name), ErrorKind::Protocol);
        assert!(e.to_string().contains("64 KiB"), "{name}: {e}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name} read too far"
        );
    }
}

#[test]
fn connection_closed_without_answer() {
    let e = scenario("close").expect_err("must fail");
    assert!(
        matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Connect),
        "{e}"
    );
}

#[test]
fn slow_headers_hit_the_deadline() {
    let a = &ACCOUNTS[0];
    let started = Instant::now();
    let e = expect_error(
        native_token(
            CONSUMER_KEY,
            a.login_id,
            a.password,
            &options(server().scenario_url("slow-headers-3000"))
                .timeout(Duration::from_millis(500)),
        ),
        ErrorKind::Timeout,
    );
    assert!(started.elapsed() < Duration::from_millis(2500), "{e}");
}

#[test]
fn a_trickled_body_still_meets_the_total_deadline() {
    let a = &ACCOUNTS[0];
    let started = Instant::now();
    expect_error(
        native_token(
            CONSUMER_KEY,
            a.login_id,
            a.password,
            &options(server().scenario_url("trickle-100")).timeout(Duration::from_millis(800)),
        ),
        ErrorKind::Timeout,
    );
    assert!(started.elapsed() < Duration::from_millis(2500));
}

#[test]
fn untrusted_certificate_is_a_tls_error() {
    let a = &ACCOUNTS[0];
    let no_ca = Options::new()
        .base_url(server().base_url())
        .timeout(Duration::from_secs(10));
    let e = expect_error(
        native_token(CONSUMER_KEY, a.login_id, a.password, &no_ca),
        ErrorKind::Tls,
    );
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
}

#[test]
fn tls_to_a_plain_http_port_is_a_tls_or_protocol_error() {
    let base = server().plain_base_url().replace("http://", "https://");
    let e = demo_token(base).expect_err("must fail");
    assert!(
        matches!(e.kind(), ErrorKind::Tls | ErrorKind::Protocol),
        "{e}"
    );
}

#[test]
fn refused_connection_is_a_connect_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    expect_error(
        demo_token(format!("https://127.0.0.1:{port}")),
        ErrorKind::Connect,
    );
}

#[test]
fn a_proxy_that_refuses_is_a_connect_error() {
    // The plain listener answers CONNECT with a 404: a proxy that refuses the tunnel.
    let a = &ACCOUNTS[0];
    let opts = options(server().base_url()).proxy(server().plain_base_url());
    let e = native_token(CONSUMER_KEY, a.login_id, a.password, &opts).expect_err("must fail");
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
}

#[test]
fn bad_arguments_send_nothing() {
    let before = server().request_count();
    let base = server().base_url();
    let a = &ACCOUNTS[0];
    let cases: Vec<(&str, &str, &str, Options)> = vec![
        ("", a.login_id, "pw", options(base.clone())),
        ("key with space", a.login_id, "pw", options(base.clone())),
        (CONSUMER_KEY, "", "pw", options(base.clone())),
        (CONSUMER_KEY, "a:b", "pw", options(base.clone())),
        (CONSUMER_KEY, "a\0b", "pw", options(base.clone())),
        (
            CONSUMER_KEY,
            a.login_id,
            "pw",
            options("http://example.com".into()),
        ),
        (
            CONSUMER_KEY,
            a.login_id,
            "pw",
            options(base.clone()).timeout(Duration::ZERO),
        ),
        (
            CONSUMER_KEY,
            a.login_id,
            "pw",
            options(base.clone()).ca_file("/nonexistent.pem"),
        ),
        (
            CONSUMER_KEY,
            a.login_id,
            "pw",
            options(base.clone()).proxy("::not a url::"),
        ),
        (
            CONSUMER_KEY,
            a.login_id,
            "pw",
            options(base.clone()).user_agent_suffix("x\r\ny"),
        ),
    ];
    for (key, login, password, opts) in cases {
        let e = expect_error(
            native_token(key, login, password, &opts),
            ErrorKind::InvalidArgument,
        );
        assert!(!e.to_string().contains("pw"), "{e}");
    }
    assert_eq!(server().request_count(), before, "no request may be sent");
}

#[test]
fn a_ca_file_without_certificates_is_refused() {
    let path = std::env::temp_dir().join(format!("concur-empty-{}.pem", std::process::id()));
    std::fs::write(&path, "not a certificate\n").unwrap();
    let a = &ACCOUNTS[0];
    let opts = Options::new().base_url(server().base_url()).ca_file(&path);
    let e = expect_error(
        native_token(CONSUMER_KEY, a.login_id, a.password, &opts),
        ErrorKind::InvalidArgument,
    );
    assert!(e.to_string().contains("CA file"));
    let _ = std::fs::remove_file(path);
}

#[test]
fn eight_threads_at_once() {
    let tokens: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..5)
                        .map(|_| {
                            demo_token(server().base_url())
                                .expect("token")
                                .token()
                                .to_string()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 40, "every call got its own token");
}

#[test]
fn a_client_reuses_its_connection() {
    let client = Client::new(&options(server().base_url())).expect("client");
    let first = client.native_token(CONSUMER_KEY, ACCOUNTS[0].login_id, ACCOUNTS[0].password);
    let second = client.native_token(CONSUMER_KEY, ACCOUNTS[0].login_id, ACCOUNTS[0].password);
    assert_ne!(
        first.expect("first").token(),
        second.expect("second").token()
    );
}

#[test]
fn secrets_appear_in_no_error_or_debug_text() {
    let password = "hunter2-SECRET-pw";
    let a = &ACCOUNTS[0];
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{password}", a.login_id));
    let mut texts = Vec::new();
    for name in [
        "",
        "status-500",
        "html",
        "close",
        "huge",
        "error-200",
        "no-token",
    ] {
        let base = if name.is_empty() {
            server().base_url()
        } else {
            server().scenario_url(name)
        };
        let opts = options(base);
        texts.push(format!("{opts:?}"));
        if let Err(e) = native_token(CONSUMER_KEY, a.login_id, password, &opts) {
            texts.push(e.to_string());
            texts.push(format!("{e:?}"));
        }
    }
    let token = demo_token(server().base_url()).unwrap();
    let shown = format!("{token:?}");
    assert!(!shown.contains(token.token()));
    for text in &texts {
        assert!(!text.contains(password), "{text}");
        assert!(!text.contains(&basic), "{text}");
        assert!(!text.contains(token.token()), "{text}");
    }
}

#[test]
fn an_instance_url_on_an_untrusted_host_is_refused() {
    // Callers send refreshes (client secret, refresh token) and revocations to Instance_Url.
    let e = expect_error(scenario("evil-instance"), ErrorKind::Protocol);
    let text = e.to_string();
    assert!(
        text.contains("attacker.example") && text.contains("nothing was sent"),
        "{text}"
    );
    // Concur's own and loopback ones (the test server's) pass.
    let token = demo_token(server().base_url()).unwrap();
    assert_eq!(
        token.instance_url(),
        Some(format!("{}/", server().base_url()).as_str())
    );
    let trusted = Options::new()
        .base_url(server().scenario_url("evil-instance"))
        .ca_file(server().ca_file())
        .trusted_host("concursolutions.com.attacker.example");
    let a = &ACCOUNTS[0];
    assert!(native_token(CONSUMER_KEY, a.login_id, a.password, &trusted).is_ok());
}
