//! The oauth2/v0 API of the test server, checked over real HTTP(S) with a tiny client, so that
//! the library's tests in every language can rely on what it answers.
//!
//! Tests share one server and run in parallel: a test that counts requests in the log counts
//! only those carrying its own `concur-correlationid`, and a test that revokes a user's tokens
//! uses a principal no other test uses.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use concur_emulator::json::Json;
use concur_emulator::{
    ACCOUNTS, CLIENT_SECRET, COMPANY_ID, CONSUMER_KEY, EU_PASSWORD, EU_USERNAME, LOCKED_USERNAME,
    Listener, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET, OAUTH2_DEFAULT_SCOPE, OTP_CODE,
    REQUEST_TOKEN, TestServer, oauth2_subject, shared,
};

const FORM: &str = "application/x-www-form-urlencoded";

/// An answer as it came off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Json {
        Json::parse(&self.body).unwrap_or_else(|| panic!("not JSON: {self:?}"))
    }

    /// Asserts a documented Concur error: status, `error`, `code`.
    fn assert_code(&self, status: u16, error: &str, code: i64) -> Json {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        let json = self.json();
        assert_eq!(json.str_of("error"), Some(error), "{self:?}");
        assert_eq!(json.i64_of("code"), Some(code), "{self:?}");
        assert!(
            json.str_of("error_description")
                .is_some_and(|d| !d.is_empty())
        );
        json
    }
}

fn tls_config(server: &TestServer) -> Arc<rustls::ClientConfig> {
    let der: String = server
        .ca_pem()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(STANDARD.decode(der).unwrap().into())
        .expect("the CA is a certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Sends one request on a fresh connection to `base` (`http://` or `https://` host:port,
/// trusting the server's CA) and reads the whole answer.
fn send_to(
    server: &TestServer,
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let (tls, authority) = match base.split_once("://") {
        Some(("https", rest)) => (true, rest),
        Some(("http", rest)) => (false, rest),
        _ => panic!("bad base {base}"),
    };
    let (host, port) = authority.rsplit_once(':').unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let tcp = TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut raw = Vec::new();
    let mut stream: Box<dyn ReadWrite> = if tls {
        let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
        let conn = rustls::ClientConnection::new(tls_config(server), name).unwrap();
        Box::new(rustls::StreamOwned::new(conn, tcp))
    } else {
        Box::new(tcp)
    };
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    stream.flush().unwrap();
    // The server closes without close_notify: keep what arrived before the error.
    let mut chunk = [0; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8(raw).expect("a UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole head");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(body.len(), |(_, v)| v.parse().unwrap());
    assert_eq!(body.len(), length, "the whole body arrived");
    Answer {
        status: status.parse().unwrap(),
        headers,
        body: body.to_string(),
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn send(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    send_to(shared(), base, method, path, headers, body)
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// POSTs a form with the client's credentials first.
fn post(base: &str, path: &str, headers: &[(&str, &str)], fields: &[(&str, &str)]) -> Answer {
    let mut all = vec![
        ("client_id", OAUTH2_CLIENT_ID),
        ("client_secret", OAUTH2_CLIENT_SECRET),
    ];
    all.extend_from_slice(fields);
    let mut headers = headers.to_vec();
    headers.push(("Content-Type", FORM));
    send(base, "POST", path, &headers, &form(&all))
}

fn token(base: &str, fields: &[(&str, &str)]) -> Answer {
    post(base, "/oauth2/v0/token", &[], fields)
}

fn password_grant(base: &str, username: &str, password: &str) -> Answer {
    token(
        base,
        &[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ],
    )
}

fn refresh(base: &str, refresh_token: &str) -> Answer {
    token(
        base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
}

fn dc1() -> String {
    shared().base_url()
}

fn dc2() -> String {
    shared().second_base_url()
}

fn demo() -> (&'static str, &'static str) {
    (ACCOUNTS[0].login_id, ACCOUNTS[0].password)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A correlation ID no other test sends.
fn correlation(test: &str) -> String {
    format!("test-{test}-{}", now())
}

/// The payload of a JWT.
fn jwt_payload(jwt: &str) -> Json {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {jwt}");
    let payload = URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url");
    Json::parse(std::str::from_utf8(&payload).unwrap()).expect("a JSON payload")
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Asserts a whole token answer for a user or company and returns it.
fn assert_token(answer: &Answer, geolocation: &str, kind: &str, sub: &str) -> Json {
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let json = answer.json();
    let access = json.str_of("access_token").expect("an access token");
    assert!(access.len() > 20 && access.bytes().all(|b| b.is_ascii_graphic()));
    assert_eq!(json.str_of("token_type"), Some("Bearer"));
    assert_eq!(
        json.str_of("expires_in"),
        Some("3600"),
        "a string by default"
    );
    assert!(json.str_of("scope").is_some_and(|s| !s.is_empty()));
    let refresh = json.str_of("refresh_token").expect("a refresh token");
    assert!(refresh.bytes().all(|b| b.is_ascii_graphic()));
    let refresh_expires = json.i64_of("refresh_expires_in").expect("epoch seconds");
    let six_months = now() + 180 * 86_400;
    assert!((six_months - 5..=six_months + 5).contains(&refresh_expires));
    assert_eq!(json.str_of("geolocation"), Some(geolocation));
    let claims = jwt_payload(json.str_of("id_token").expect("an id_token"));
    assert_eq!(claims.str_of("sub"), Some(sub));
    assert_eq!(claims.str_of("concur.type"), Some(kind));
    assert_eq!(claims.str_of("aud"), Some(OAUTH2_CLIENT_ID));
    assert_eq!(claims.str_of("iss"), Some(geolocation));
    assert_eq!(claims.str_of("geolocation"), Some(geolocation));
    let (iat, exp) = (claims.i64_of("iat").unwrap(), claims.i64_of("exp").unwrap());
    assert!((now() - 5..=now() + 5).contains(&iat));
    assert_eq!(exp, iat + 3600);
    json
}

#[test]
fn password_grant_answers_every_field() {
    let (login, password) = demo();
    let answer = password_grant(&dc1(), login, password);
    let json = assert_token(&answer, &dc1(), "user", &oauth2_subject(login));
    assert_eq!(json.str_of("scope"), Some(OAUTH2_DEFAULT_SCOPE));
    assert!(answer.header("concur-correlationid").is_some_and(is_uuid));
    // credtype=password is the same grant, and a scope is echoed.
    let answer = token(
        &dc1(),
        &[
            ("grant_type", "password"),
            ("username", login),
            ("password", password),
            ("credtype", "password"),
            ("scope", "openid LIST"),
        ],
    );
    assert_eq!(
        assert_token(&answer, &dc1(), "user", &oauth2_subject(login)).str_of("scope"),
        Some("openid LIST")
    );
}

#[test]
fn every_account_gets_its_own_subject_and_fresh_tokens() {
    let mut subjects = Vec::new();
    for account in ACCOUNTS {
        let first = password_grant(&dc1(), account.login_id, account.password);
        let second = password_grant(&dc1(), account.login_id, account.password);
        let sub = oauth2_subject(account.login_id);
        assert!(is_uuid(&sub), "{sub}");
        let (a, b) = (
            assert_token(&first, &dc1(), "user", &sub),
            assert_token(&second, &dc1(), "user", &sub),
        );
        assert_ne!(a.str_of("access_token"), b.str_of("access_token"));
        assert_ne!(a.str_of("refresh_token"), b.str_of("refresh_token"));
        subjects.push(sub);
    }
    subjects.dedup();
    assert_eq!(subjects.len(), ACCOUNTS.len());
}

#[test]
fn the_geolocation_is_the_base_the_request_came_to_without_the_scenario() {
    let (login, password) = demo();
    let plain = shared().plain_base_url();
    assert_token(
        &password_grant(&plain, login, password),
        &plain,
        "user",
        &oauth2_subject(login),
    );
    let answer = token(
        &dc1(),
        &[("grant_type", "client_credentials"), ("scope", "x")],
    );
    assert_eq!(answer.json().str_of("geolocation"), Some(dc1().as_str()));
    let answer = post(
        &dc1(),
        "/s/expires-number/oauth2/v0/token",
        &[],
        &[
            ("grant_type", "password"),
            ("username", login),
            ("password", password),
        ],
    );
    assert_eq!(answer.json().str_of("geolocation"), Some(dc1().as_str()));
}

#[test]
fn wrong_or_missing_credentials_have_their_codes() {
    let (login, password) = demo();
    let wrong =
        password_grant(&dc1(), login, "not the password").assert_code(400, "invalid_grant", 5);
    assert_eq!(
        wrong.str_of("error_description"),
        Some("Incorrect Credentials. Please Retry")
    );
    password_grant(&dc1(), "nobody@example.com", password).assert_code(400, "invalid_grant", 5);
    token(
        &dc1(),
        &[("grant_type", "password"), ("password", password)],
    )
    .assert_code(400, "invalid_request", 51);
    token(&dc1(), &[("grant_type", "password"), ("username", login)]).assert_code(
        400,
        "invalid_request",
        52,
    );
    password_grant(&dc1(), LOCKED_USERNAME, "whatever").assert_code(400, "invalid_grant", 14);
    token(&dc1(), &[]).assert_code(400, "invalid_request", 65);
    token(&dc1(), &[("grant_type", "magic")]).assert_code(400, "unsupported_grant_type", 60);
}

#[test]
fn wrong_client_credentials_are_code_64() {
    let (login, password) = demo();
    let fields = |id: &'static str, secret: &'static str| {
        form(&[
            ("client_id", id),
            ("client_secret", secret),
            ("grant_type", "password"),
            ("username", login),
            ("password", password),
        ])
    };
    let headers = [("Content-Type", FORM)];
    for body in [
        fields(OAUTH2_CLIENT_ID, "wrong"),
        fields("6f1c2f0e-0000-4000-8000-000000000000", OAUTH2_CLIENT_SECRET),
        // The secret sent unencoded: its '+', '&', '%' and '#' arrive mangled.
        format!(
            "client_id={OAUTH2_CLIENT_ID}&client_secret={OAUTH2_CLIENT_SECRET}&grant_type=client_credentials"
        ),
    ] {
        send(&dc1(), "POST", "/oauth2/v0/token", &headers, &body).assert_code(
            401,
            "invalid_client",
            64,
        );
    }
    let no_secret = form(&[
        ("client_id", OAUTH2_CLIENT_ID),
        ("grant_type", "client_credentials"),
    ]);
    send(&dc1(), "POST", "/oauth2/v0/token", &headers, &no_secret).assert_code(
        400,
        "invalid_request",
        63,
    );
    let no_id = form(&[
        ("client_secret", OAUTH2_CLIENT_SECRET),
        ("grant_type", "client_credentials"),
    ]);
    send(&dc1(), "POST", "/oauth2/v0/token", &headers, &no_id).assert_code(
        400,
        "invalid_request",
        62,
    );
}

#[test]
fn only_a_plain_form_content_type_is_accepted() {
    let body = form(&[
        ("client_id", OAUTH2_CLIENT_ID),
        ("client_secret", OAUTH2_CLIENT_SECRET),
        ("grant_type", "client_credentials"),
    ]);
    for content_type in [
        Some("application/x-www-form-urlencoded; charset=utf-8"),
        Some("application/json"),
        Some("text/plain"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|t| ("Content-Type", t))
            .into_iter()
            .collect();
        let answer = send(&dc1(), "POST", "/oauth2/v0/token", &headers, &body);
        assert_eq!(answer.status, 400, "{content_type:?}: {answer:?}");
        assert_eq!(answer.json().str_of("error"), Some("invalid_request"));
        assert_eq!(answer.json().get("access_token"), None);
    }
    // The media type's letter case does not matter.
    let headers = [("Content-Type", "Application/X-WWW-Form-Urlencoded")];
    assert_eq!(
        send(&dc1(), "POST", "/oauth2/v0/token", &headers, &body).status,
        200
    );
}

#[test]
fn secrets_in_the_url_are_refused() {
    for name in ["client_secret", "password", "refresh_token", "code", "otp"] {
        let path = format!("/oauth2/v0/token?{name}=x");
        let answer = post(&dc1(), &path, &[], &[("grant_type", "client_credentials")]);
        assert_eq!(answer.status, 400, "{name}: {answer:?}");
        assert_eq!(answer.json().str_of("error"), Some("invalid_request"));
    }
    // Harmless parameters are fine.
    let answer = post(
        &dc1(),
        "/oauth2/v0/token?trace=1",
        &[],
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(answer.status, 200, "{answer:?}");
}

#[test]
fn other_methods_and_paths_are_refused() {
    let answer = send(&dc1(), "GET", "/oauth2/v0/token", &[], "");
    assert_eq!(answer.status, 405);
    assert!(answer.header("concur-correlationid").is_some());
    assert_eq!(
        send(&dc1(), "GET", "/oauth2/v0/nothing", &[], "").status,
        404
    );
}

#[test]
fn the_eu_user_lives_in_data_centre_2() {
    let id = correlation("eu");
    let headers = [("concur-correlationid", id.as_str())];
    let fields = [
        ("grant_type", "password"),
        ("username", EU_USERNAME),
        ("password", EU_PASSWORD),
    ];
    for base in [dc1(), shared().plain_base_url(), shared().localhost_url()] {
        let json = post(&base, "/oauth2/v0/token", &headers, &fields).assert_code(
            400,
            "invalid_request",
            16,
        );
        assert_eq!(json.str_of("geolocation"), Some(dc2().as_str()));
    }
    let answer = post(&dc2(), "/oauth2/v0/token", &headers, &fields);
    let json = assert_token(&answer, &dc2(), "user", &oauth2_subject(EU_USERNAME));
    // Its refresh stays in data centre 2: data centre 1 sends the client there.
    let rt = json.str_of("refresh_token").unwrap();
    let json = post(
        &dc1(),
        "/oauth2/v0/token",
        &headers,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .assert_code(400, "invalid_request", 16);
    assert_eq!(json.str_of("geolocation"), Some(dc2().as_str()));
    let answer = post(
        &dc2(),
        "/oauth2/v0/token",
        &headers,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    );
    assert_token(&answer, &dc2(), "user", &oauth2_subject(EU_USERNAME));
    password_grant(&dc2(), EU_USERNAME, "wrong").assert_code(400, "invalid_grant", 5);

    let mine: Vec<_> = shared()
        .requests()
        .into_iter()
        .filter(|r| r.header("concur-correlationid") == Some(&id))
        .collect();
    let on = |l: Listener| mine.iter().filter(|r| r.listener == l).count();
    assert_eq!(on(Listener::DataCentre2), 2);
    assert_eq!(
        on(Listener::DataCentre1),
        3,
        "dc1 by address and by name, and the refresh"
    );
    assert_eq!(on(Listener::Plain), 1);
    assert!(
        mine.iter()
            .all(|r| r.tls == (r.listener != Listener::Plain))
    );
    assert_eq!(
        mine.iter()
            .filter(|r| r.grant_type() == Some("refresh_token"))
            .count(),
        2
    );
}

#[test]
fn the_second_data_centre_has_a_certificate_for_localhost() {
    let base = format!("https://localhost:{}", dc2().rsplit(':').next().unwrap());
    let answer = token(&base, &[("grant_type", "client_credentials")]);
    assert_eq!(answer.status, 200, "{answer:?}");
}

#[test]
fn company_tokens_come_from_the_request_token() {
    let company = |password: &str, credtype: &str| {
        token(
            &dc1(),
            &[
                ("grant_type", "password"),
                ("username", COMPANY_ID),
                ("password", password),
                ("credtype", credtype),
            ],
        )
    };
    let answer = company(REQUEST_TOKEN, "authtoken");
    let json = assert_token(&answer, &dc1(), "company", COMPANY_ID);
    // The request token may be used again within its day (after a network failure).
    assert_token(
        &company(REQUEST_TOKEN, "authtoken"),
        &dc1(),
        "company",
        COMPANY_ID,
    );
    // Refreshing keeps it a company token.
    let answer = refresh(&dc1(), json.str_of("refresh_token").unwrap());
    assert_token(&answer, &dc1(), "company", COMPANY_ID);
    company("5185ae5a-0000-4d6f-8af4-08648c4b696b", "authtoken").assert_code(
        400,
        "invalid_grant",
        5,
    );
    company(REQUEST_TOKEN, "AuthToken2").assert_code(400, "invalid_request", 120);
    // A request token is not a user's password.
    company(REQUEST_TOKEN, "password").assert_code(400, "invalid_grant", 5);
}

#[test]
fn refresh_tokens_rotate() {
    let (login, password) = demo();
    let first = password_grant(&dc1(), login, password).json();
    let rt1 = first.str_of("refresh_token").unwrap();
    let second = assert_token(
        &refresh(&dc1(), rt1),
        &dc1(),
        "user",
        &oauth2_subject(login),
    );
    let rt2 = second.str_of("refresh_token").unwrap();
    assert_ne!(rt1, rt2);
    assert_ne!(first.str_of("access_token"), second.str_of("access_token"));
    refresh(&dc1(), rt1).assert_code(400, "invalid_grant", 108);
    let third = refresh(&dc1(), rt2).json();
    let rt3 = third.str_of("refresh_token").unwrap();
    refresh(&dc1(), rt2).assert_code(400, "invalid_grant", 108);
    // A scope is echoed; the grant's is kept otherwise.
    let answer = token(
        &dc1(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt3),
            ("scope", "LIST"),
        ],
    );
    assert_eq!(answer.json().str_of("scope"), Some("LIST"));
}

#[test]
fn unknown_altered_or_missing_refresh_tokens_are_refused() {
    let (login, password) = demo();
    let rt = password_grant(&dc1(), login, password)
        .json()
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    let mut altered = rt.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
    let altered = String::from_utf8(altered).unwrap();
    for bad in ["", "bogus", "rt.e30.0", altered.as_str()] {
        refresh(&dc1(), bad).assert_code(400, "invalid_grant", 108);
    }
    token(&dc1(), &[("grant_type", "refresh_token")]).assert_code(400, "invalid_request", 106);
    // A legacy refresh token is not an oauth2 one.
    refresh(&dc1(), "R_0123456789abcdef000001").assert_code(400, "invalid_grant", 108);
    // The real one still works (the failures used none of it).
    assert_eq!(refresh(&dc1(), &rt).status, 200);
}

#[test]
fn client_credentials_give_an_app_token_alone() {
    let answer = token(&dc1(), &[("grant_type", "client_credentials")]);
    assert_eq!(answer.status, 200, "{answer:?}");
    let json = answer.json();
    assert!(json.str_of("access_token").is_some());
    assert_eq!(json.str_of("token_type"), Some("Bearer"));
    assert_eq!(json.str_of("expires_in"), Some("3600"));
    assert_eq!(json.get("refresh_token"), None);
    assert_eq!(json.get("refresh_expires_in"), None);
    assert_eq!(json.get("id_token"), None);
    assert_eq!(json.str_of("geolocation"), Some(dc1().as_str()));
}

/// The query parameters of a Location.
fn params_of(location: &str) -> Vec<(String, String)> {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(n, v)| (n.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn exchange_code(code: &str, redirect_uri: &str) -> Answer {
    token(
        &dc1(),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ],
    )
}

#[test]
fn authorization_codes_are_single_use_and_bound_to_their_redirect() {
    let redirect = "https://app.example/callback?x=1";
    let location = shared()
        .approve_oauth2(&format!(
            "client_id={OAUTH2_CLIENT_ID}&redirect_uri={}&scope=openid+LIST&response_type=code&state=a%26b",
            encode(redirect)
        ))
        .unwrap();
    assert!(
        location.starts_with("https://app.example/callback?x=1&"),
        "{location}"
    );
    let params = params_of(&location);
    assert_eq!(param(&params, "state"), Some("a&b"));
    assert_eq!(param(&params, "geolocation"), Some(dc1().as_str()));
    let code = param(&params, "code").expect("a code").to_string();
    exchange_code(&code, "https://app.example/other").assert_code(400, "invalid_grant", 104);
    let answer = exchange_code(&code, redirect);
    let json = assert_token(&answer, &dc1(), "user", &oauth2_subject(demo().0));
    assert_eq!(json.str_of("scope"), Some("openid LIST"));
    exchange_code(&code, redirect).assert_code(400, "invalid_request", 103);
    exchange_code("00000000-0000-4000-8000-000000000000", redirect).assert_code(
        400,
        "invalid_request",
        103,
    );
    token(
        &dc1(),
        &[
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect),
        ],
    )
    .assert_code(400, "invalid_request", 101);
    token(
        &dc1(),
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .assert_code(400, "invalid_request", 102);
}

#[test]
fn authorize_redirects_with_the_users_geolocation_or_an_error() {
    let query = |client: &str, extra: &str| {
        format!(
            "client_id={client}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code{extra}"
        )
    };
    let location = shared()
        .approve_oauth2(&query(OAUTH2_CLIENT_ID, ""))
        .unwrap();
    let params = params_of(&location);
    assert_eq!(param(&params, "state"), None, "no state unless given");
    assert!(param(&params, "code").is_some());

    let location = shared()
        .approve_oauth2(&query(
            OAUTH2_CLIENT_ID,
            &format!("&username={}", encode(EU_USERNAME)),
        ))
        .unwrap();
    let params = params_of(&location);
    assert_eq!(param(&params, "geolocation"), Some(dc2().as_str()));
    let answer = exchange_code(param(&params, "code").unwrap(), "https://app.example/cb");
    assert_token(&answer, &dc2(), "user", &oauth2_subject(EU_USERNAME));

    let location = shared()
        .approve_oauth2(&query("6f1c2f0e-0000-4000-8000-000000000000", "&state=s"))
        .unwrap();
    assert!(
        location.starts_with("https://app.example/cb?error_code=61&"),
        "{location}"
    );
    let params = params_of(&location);
    assert_eq!(
        param(&params, "error_description"),
        Some("client not found")
    );
    assert_eq!(param(&params, "state"), Some("s"));
    assert_eq!(param(&params, "code"), None);
}

fn otp_send(base: &str, email: &str) -> Answer {
    post(
        base,
        "/oauth2/v0/otp",
        &[],
        &[
            ("channel_handle", email),
            ("channel_type", "email"),
            ("name", "A User"),
            ("company", "ACME"),
            ("link", "https://app.example/otp"),
        ],
    )
}

fn otp_grant(base: &str, email: &str, otp: &str) -> Answer {
    token(
        base,
        &[
            ("grant_type", "otp"),
            ("otp", otp),
            ("channel_handle", email),
            ("channel_type", "email"),
        ],
    )
}

#[test]
fn one_time_passwords_give_a_token_once() {
    let email = "otp.once@example.com";
    otp_grant(&dc1(), email, OTP_CODE).assert_code(400, "invalid_request", 83);
    let sent = otp_send(&dc1(), email);
    assert_eq!(sent.status, 200, "{sent:?}");
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.json().str_of("message"), Some("otp sent"));
    otp_grant(&dc1(), email, "000000").assert_code(400, "invalid_request", 85);
    let answer = otp_grant(&dc1(), email, OTP_CODE);
    assert_token(&answer, &dc1(), "user", &oauth2_subject(email));
    otp_grant(&dc1(), email, OTP_CODE).assert_code(400, "invalid_request", 83);
}

#[test]
fn one_time_password_refusals() {
    let email = "otp.refusals@example.com";
    let headers = [("Content-Type", FORM)];
    let bad_client = form(&[
        ("client_id", OAUTH2_CLIENT_ID),
        ("client_secret", "nope"),
        ("channel_handle", email),
        ("channel_type", "email"),
    ]);
    send(&dc1(), "POST", "/oauth2/v0/otp", &headers, &bad_client).assert_code(
        401,
        "invalid_client",
        64,
    );
    post(
        &dc1(),
        "/oauth2/v0/otp",
        &[],
        &[("channel_handle", email), ("channel_type", "sms")],
    )
    .assert_code(400, "invalid_request", 80);
    post(&dc1(), "/oauth2/v0/otp", &[], &[("channel_type", "email")]).assert_code(
        400,
        "invalid_request",
        58,
    );
    post(&dc1(), "/oauth2/v0/otp", &[], &[("channel_handle", email)]).assert_code(
        400,
        "invalid_request",
        57,
    );
    otp_send(&dc1(), "no-at-sign").assert_code(400, "invalid_request", 81);
    let json = otp_send(&dc1(), EU_USERNAME).assert_code(400, "invalid_request", 16);
    assert_eq!(json.str_of("geolocation"), Some(dc2().as_str()));
    assert_eq!(otp_send(&dc2(), EU_USERNAME).status, 200);
    let answer = otp_grant(&dc2(), EU_USERNAME, OTP_CODE);
    assert_token(&answer, &dc2(), "user", &oauth2_subject(EU_USERNAME));
    token(
        &dc1(),
        &[
            ("grant_type", "otp"),
            ("channel_handle", email),
            ("channel_type", "email"),
        ],
    )
    .assert_code(400, "invalid_request", 56);
}

#[test]
fn revocation_stops_every_refresh_token_of_the_user() {
    // A principal of this test alone: revocation is per user, across the whole server.
    let email = "revoke.me@example.com";
    let grant = || {
        assert_eq!(otp_send(&dc1(), email).status, 200);
        otp_grant(&dc1(), email, OTP_CODE).json()
    };
    let (first, second) = (grant(), grant());
    let other = password_grant(&dc1(), ACCOUNTS[2].login_id, ACCOUNTS[2].password).json();
    let bearer = format!("Bearer {}", first.str_of("access_token").unwrap());
    let answer = send(
        &dc1(),
        "DELETE",
        "/app-mgmt/v0/connections",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.body.is_empty() || answer.body == "{}");
    assert!(answer.header("concur-correlationid").is_some());
    for revoked in [&first, &second] {
        refresh(&dc1(), revoked.str_of("refresh_token").unwrap()).assert_code(
            400,
            "invalid_grant",
            108,
        );
    }
    // Another user's tokens still work, and so do the user's later grants.
    assert_eq!(
        refresh(&dc1(), other.str_of("refresh_token").unwrap()).status,
        200
    );
    let later = grant();
    assert_eq!(
        refresh(&dc1(), later.str_of("refresh_token").unwrap()).status,
        200
    );
}

#[test]
fn revocation_needs_a_users_bearer_token() {
    let app = token(&dc1(), &[("grant_type", "client_credentials")]).json();
    let app_bearer = format!("Bearer {}", app.str_of("access_token").unwrap());
    for headers in [
        vec![],
        vec![("Authorization", "Bearer not-a-token")],
        vec![("Authorization", "Basic dXNlcjpwYXNz")],
        vec![("Authorization", app_bearer.as_str())],
    ] {
        let answer = send(&dc1(), "DELETE", "/app-mgmt/v0/connections", &headers, "");
        assert_eq!(answer.status, 401, "{headers:?}: {answer:?}");
        assert!(answer.json().str_of("error").is_some());
    }
}

/// A legacy (net2) refresh token from the Native Flow.
fn legacy_refresh_token(login: &str, password: &str) -> String {
    let basic = STANDARD.encode(format!("{login}:{password}"));
    let answer = send(
        &dc1(),
        "GET",
        "/net2/oauth2/accesstoken.ashx",
        &[
            ("Authorization", &format!("Basic {basic}")),
            ("X-ConsumerKey", CONSUMER_KEY),
        ],
        "",
    );
    assert_eq!(answer.status, 200);
    let start = answer.body.find("<Refresh_Token>").unwrap() + "<Refresh_Token>".len();
    let end = answer.body.find("</Refresh_Token>").unwrap();
    answer.body[start..end].to_string()
}

fn app_bearer() -> String {
    let app = token(&dc1(), &[("grant_type", "client_credentials")]).json();
    format!("Bearer {}", app.str_of("access_token").unwrap())
}

fn exchange(key: &str, query: &str, bearer: &str, legacy: &str, secret: &str) -> Answer {
    let body = format!(
        "{{\"token\":{},\"secret\":{}}}",
        json_string(legacy),
        json_string(secret)
    );
    send(
        &dc1(),
        "POST",
        &format!("/appmgmt/v0/legacyApps/{key}/exchangeRefreshToken/me{query}"),
        &[
            ("Authorization", bearer),
            ("Content-Type", "application/json"),
        ],
        &body,
    )
}

fn json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[test]
fn legacy_refresh_tokens_exchange_for_oauth2_ones() {
    let (login, password) = demo();
    let legacy = legacy_refresh_token(login, password);
    let bearer = app_bearer();
    for (query, ptype, sub) in [
        ("", "user", oauth2_subject(login)),
        (
            "?returnType=companyToken",
            "company",
            COMPANY_ID.to_string(),
        ),
    ] {
        let answer = exchange(CONSUMER_KEY, query, &bearer, &legacy, OAUTH2_CLIENT_SECRET);
        assert_eq!(answer.status, 200, "{answer:?}");
        let json = answer.json();
        let created = json.i64_of("created").expect("created in epoch ms");
        assert!((now() * 1000 - 5000..=now() * 1000 + 5000).contains(&created));
        assert_eq!(json.i64_of("expired"), Some(created + 180 * 86_400_000));
        assert!(matches!(json.get("scopes"), Some(Json::Array(s)) if !s.is_empty()));
        let context = Json::parse(json.str_of("context").unwrap()).expect("context is JSON text");
        assert_eq!(context.str_of("ptype"), Some(ptype));
        assert_eq!(context.str_of("userid"), Some(sub.as_str()));
        assert_eq!(context.str_of("cid"), Some(OAUTH2_CLIENT_ID));
        let answer = refresh(&dc1(), json.str_of("token").unwrap());
        assert_token(&answer, &dc1(), ptype, &sub);
    }
}

#[test]
fn legacy_exchange_refusals() {
    let (login, password) = demo();
    let legacy = legacy_refresh_token(login, password);
    let bearer = app_bearer();
    let user = password_grant(&dc1(), login, password).json();
    let user_bearer = format!("Bearer {}", user.str_of("access_token").unwrap());
    let not_admin = legacy_refresh_token(ACCOUNTS[2].login_id, ACCOUNTS[2].password);
    let (legacy, bearer, user_bearer, not_admin) = (
        legacy.as_str(),
        bearer.as_str(),
        user_bearer.as_str(),
        not_admin.as_str(),
    );
    let cases = [
        (
            CONSUMER_KEY,
            "",
            "Bearer nope",
            legacy,
            OAUTH2_CLIENT_SECRET,
            401,
            "UNAUTHORIZED",
        ),
        (
            CONSUMER_KEY,
            "",
            user_bearer,
            legacy,
            OAUTH2_CLIENT_SECRET,
            401,
            "UNAUTHORIZED",
        ),
        (
            CONSUMER_KEY,
            "",
            bearer,
            legacy,
            CLIENT_SECRET,
            401,
            "UNAUTHORIZED",
        ),
        (
            "other-key",
            "",
            bearer,
            legacy,
            OAUTH2_CLIENT_SECRET,
            400,
            "INVALIDAPP",
        ),
        (
            CONSUMER_KEY,
            "",
            bearer,
            "R_bogus",
            OAUTH2_CLIENT_SECRET,
            400,
            "INVALIDTOKEN",
        ),
        (
            CONSUMER_KEY,
            "?returnType=companyToken",
            bearer,
            not_admin,
            OAUTH2_CLIENT_SECRET,
            400,
            "INVALIDTOKEN",
        ),
    ];
    for (key, query, bearer, token, secret, status, code) in cases {
        let answer = exchange(key, query, bearer, token, secret);
        assert_eq!(answer.status, status, "{code}: {answer:?}");
        let json = answer.json();
        assert_eq!(json.str_of("code"), Some(code));
        assert!(json.str_of("message").is_some_and(|m| !m.is_empty()));
        assert!(answer.header("concur-correlationid").is_some());
    }
    // The non-admin's token exchanges fine for a user token.
    let answer = exchange(CONSUMER_KEY, "", bearer, not_admin, OAUTH2_CLIENT_SECRET);
    assert_eq!(answer.status, 200, "{answer:?}");
}

#[test]
fn correlation_ids_are_echoed_or_fresh() {
    let answer = post(
        &dc1(),
        "/oauth2/v0/token",
        &[("concur-correlationid", "mine-123")],
        &[("grant_type", "nope")],
    );
    assert_eq!(answer.header("concur-correlationid"), Some("mine-123"));
    let a = token(&dc1(), &[("grant_type", "client_credentials")]);
    let b = token(&dc1(), &[("grant_type", "client_credentials")]);
    let (a, b) = (
        a.header("concur-correlationid").unwrap(),
        b.header("concur-correlationid").unwrap(),
    );
    assert!(is_uuid(a) && is_uuid(b));
    assert_ne!(a, b);
    for scenario in [
        "json-500",
        "status-503",
        "error-5",
        "retry-503-1-1-corr",
        "geo16-name-x.example",
    ] {
        let answer = post(&dc1(), &format!("/s/{scenario}/oauth2/v0/token"), &[], &[]);
        assert!(
            answer.header("concur-correlationid").is_some_and(is_uuid),
            "{scenario}: {answer:?}"
        );
    }
}

fn demo_at(scenario: &str) -> Answer {
    let (login, password) = demo();
    post(
        &dc1(),
        &format!("/s/{scenario}/oauth2/v0/token"),
        &[],
        &[
            ("grant_type", "password"),
            ("username", login),
            ("password", password),
        ],
    )
}

#[test]
fn expires_number_scenario() {
    let answer = demo_at("expires-number");
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json().get("expires_in"),
        Some(&Json::Number("3600".into()))
    );
    assert!(answer.body.contains("\"expires_in\":3600,"));
}

#[test]
fn retry_scenarios_refuse_k_times_then_answer() {
    for status in [429, 502, 503, 504] {
        let scenario = format!("retry-{status}-2-3-count-{status}");
        for _ in 0..2 {
            let answer = demo_at(&scenario);
            assert_eq!(answer.status, status);
            assert_eq!(answer.header("retry-after"), Some("3"));
            assert!(!answer.body.is_empty());
        }
        assert_eq!(demo_at(&scenario).status, 200);
        assert_eq!(demo_at(&scenario).status, 200);
    }
    // Each TAG counts on its own.
    assert_eq!(demo_at("retry-503-1-0-tag-a").status, 503);
    assert_eq!(demo_at("retry-503-1-0-tag-b").status, 503);
    assert_eq!(demo_at("retry-503-1-0-tag-a").status, 200);

    let answer = demo_at("retry-502-1-none-nohdr");
    assert_eq!(answer.status, 502);
    assert_eq!(answer.header("retry-after"), None);
    let before = now();
    let answer = demo_at("retry-429-1-date-d");
    assert_eq!(answer.status, 429);
    let date = answer.header("retry-after").expect("an HTTP-date");
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    let (y, m, d, hh, mm, ss) = {
        // "Wed, 25 Nov 2026 01:37:15 GMT"
        let f: Vec<&str> = date.split([' ', ':']).collect();
        let month = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .iter()
        .position(|m| *m == f[2])
        .unwrap() as i64
            + 1;
        (
            f[3].parse::<i64>().unwrap(),
            month,
            f[1].parse::<i64>().unwrap(),
            f[4].parse::<i64>().unwrap(),
            f[5].parse::<i64>().unwrap(),
            f[6].parse::<i64>().unwrap(),
        )
    };
    let at = days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss;
    assert!((before + 1..=now() + 1).contains(&at), "{date} vs {before}");
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[test]
fn geolocation_scenarios() {
    for (scenario, geolocation) in [
        ("geo16-http-4567", "http://127.0.0.1:4567"),
        ("geo16-https-4568", "https://127.0.0.1:4568"),
        ("geo16-name-eu2.example", "https://eu2.example"),
    ] {
        let json = demo_at(scenario).assert_code(400, "invalid_request", 16);
        assert_eq!(json.str_of("geolocation"), Some(geolocation), "{scenario}");
    }
    for (scenario, geolocation) in [
        ("geo-token-http-4569", "http://127.0.0.1:4569"),
        ("geo-token-https-4570", "https://127.0.0.1:4570"),
        ("geo-token-name-us2.example", "https://us2.example"),
    ] {
        let answer = demo_at(scenario);
        assert_token(&answer, geolocation, "user", &oauth2_subject(demo().0));
    }
    // The scenario still checks the credentials.
    let answer = post(
        &dc1(),
        "/s/geo-token-name-us2.example/oauth2/v0/token",
        &[],
        &[
            ("grant_type", "password"),
            ("username", "x"),
            ("password", "y"),
        ],
    );
    answer.assert_code(400, "invalid_grant", 5);
}

#[test]
fn error_scenarios_give_each_documented_code() {
    for (code, status, error) in [
        (5, 400, "invalid_grant"),
        (14, 400, "invalid_grant"),
        (16, 400, "invalid_request"),
        (52, 400, "invalid_request"),
        (64, 401, "invalid_client"),
        (103, 400, "invalid_request"),
        (104, 400, "invalid_grant"),
        (108, 400, "invalid_grant"),
        (120, 400, "invalid_request"),
        (136, 400, "invalid_grant"),
        (59, 403, "access_denied"),
    ] {
        let json = demo_at(&format!("error-{code}")).assert_code(status, error, code);
        assert_eq!(json.get("geolocation").is_some(), code == 16, "{code}");
    }
    let json = demo_at("error-16").json();
    assert_eq!(json.str_of("geolocation"), Some(dc2().as_str()));
    let answer = post(
        &dc1(),
        &format!(
            "/s/error-INVALIDSCOPES/appmgmt/v0/legacyApps/{CONSUMER_KEY}/exchangeRefreshToken/me"
        ),
        &[],
        &[],
    );
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json().str_of("code"), Some("INVALIDSCOPES"));
}

#[test]
fn status_and_json_500_scenarios() {
    let answer = demo_at("status-503");
    assert_eq!(answer.status, 503);
    assert!(answer.json().str_of("error").is_some());
    let answer = demo_at("json-500");
    assert_eq!(answer.status, 500);
    assert_eq!(answer.header("content-type"), Some("text/plain"));
    assert!(!answer.body.is_empty() && Json::parse(&answer.body).is_none());
    // The generic scenarios still apply to the new paths.
    assert_eq!(demo_at("empty").body, "");
    let answer = send(
        &dc1(),
        "GET",
        "/s/no-such-scenario/oauth2/v0/token",
        &[],
        "",
    );
    assert_eq!(answer.status, 404);
}

#[test]
fn the_evil_listener_logs_and_answers_404() {
    let server = shared();
    let id = correlation("evil");
    let answer = post(
        &server.evil_base_url(),
        "/oauth2/v0/token",
        &[("concur-correlationid", &id)],
        &[("grant_type", "refresh_token"), ("refresh_token", "stolen")],
    );
    assert_eq!(answer.status, 404);
    let mine: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.header("concur-correlationid") == Some(&id))
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].listener, Listener::Evil);
    assert!(!mine[0].tls);
    assert_eq!(mine[0].form_value("refresh_token"), Some("stolen"));
    assert_eq!(
        mine[0].form_value("client_secret"),
        Some(OAUTH2_CLIENT_SECRET)
    );
    assert_eq!(mine[0].grant_type(), Some("refresh_token"));
    assert!(server.evil_base_url().starts_with("http://127.0.0.1:"));
}

#[test]
fn the_log_holds_the_decoded_form_and_counts_grants() {
    let server = shared();
    let id = correlation("form");
    let (login, password) = demo();
    post(
        &dc1(),
        "/s/expires-number/oauth2/v0/token",
        &[("concur-correlationid", &id)],
        &[
            ("grant_type", "password"),
            ("username", login),
            ("password", password),
        ],
    );
    let mine: Vec<_> = server
        .token_requests("password")
        .into_iter()
        .filter(|r| r.header("concur-correlationid") == Some(&id))
        .collect();
    assert_eq!(mine.len(), 1);
    let request = &mine[0];
    assert_eq!(request.endpoint(), "/oauth2/v0/token");
    assert_eq!(request.scenario, "expires-number");
    assert_eq!(request.listener, Listener::DataCentre1);
    assert_eq!(request.form_value("client_id"), Some(OAUTH2_CLIENT_ID));
    assert_eq!(
        request.form_value("client_secret"),
        Some(OAUTH2_CLIENT_SECRET)
    );
    assert_eq!(request.form_value("password"), Some(password));
    assert!(
        request
            .body
            .contains("client_secret=o2-s3cr3t%2B%2F%3D%26%25+%23%3F")
    );
}

#[test]
fn grants_work_without_recording() {
    let server = TestServer::start().unwrap();
    server.set_recording(false);
    let base = server.base_url();
    let body = |fields: &[(&str, &str)]| {
        let mut all = vec![
            ("client_id", OAUTH2_CLIENT_ID),
            ("client_secret", OAUTH2_CLIENT_SECRET),
        ];
        all.extend_from_slice(fields);
        form(&all)
    };
    let headers = [("Content-Type", FORM)];
    let post = |fields: &[(&str, &str)]| {
        let answer = send_to(
            &server,
            &base,
            "POST",
            "/oauth2/v0/token",
            &headers,
            &body(fields),
        );
        (answer.status, answer.json())
    };
    let (login, password) = demo();
    let (status, first) = post(&[
        ("grant_type", "password"),
        ("username", login),
        ("password", password),
    ]);
    assert_eq!(status, 200);
    let rt1 = first.str_of("refresh_token").unwrap();
    let (status, second) = post(&[("grant_type", "refresh_token"), ("refresh_token", rt1)]);
    assert_eq!(status, 200);
    let (status, again) = post(&[("grant_type", "refresh_token"), ("refresh_token", rt1)]);
    assert_eq!((status, again.i64_of("code")), (400, Some(108)));
    let rt2 = second.str_of("refresh_token").unwrap();
    assert_eq!(
        post(&[("grant_type", "refresh_token"), ("refresh_token", rt2)]).0,
        200
    );
    // Another server does not take this one's tokens.
    assert_eq!(refresh(&dc1(), rt2).json().i64_of("code"), Some(108));
    assert!(server.requests().is_empty());
}

#[test]
fn concurrent_refreshes_with_one_token_let_exactly_one_through() {
    let (login, password) = demo();
    let rt = password_grant(&dc1(), login, password)
        .json()
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| refresh(&dc1(), &rt).status))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        7,
        "{statuses:?}"
    );
}
