//! The emulator's control API, seed, virtual clock, faults, journal and refresh token record,
//! driven over plain HTTP with a tiny client (as a test in any language would), and through
//! the same operations' Rust methods.
//!
//! Every test starts an emulator of its own: they advance clocks, reset and revoke.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use concur_emulator::json::Json;
use concur_emulator::{
    App, COMPANY_ID, Emulator, FaultKind, Lifetimes, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET,
    REQUEST_TOKEN, RefreshState, Rotation, User, digest,
};

const DEMO_LOGIN: &str = "demo.user@example.com";
const DEMO_PASSWORD: &str = "correct horse battery staple";

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Json {
        Json::parse(&self.body).unwrap_or_else(|| panic!("not JSON: {} {}", self.status, self.body))
    }
}

/// One request over the plain listener, `Connection: close`; `None` when the server closed
/// the connection without answering.
fn try_call(
    server: &Emulator,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<Reply> {
    let addr = server
        .plain_base_url()
        .trim_start_matches("http://")
        .to_string();
    let mut stream = TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    if raw.is_empty() {
        return None;
    }
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head");
    let status = head[9..12].parse().expect("a status");
    Some(Reply {
        status,
        headers: head.to_string(),
        body: body.to_string(),
    })
}

fn call(server: &Emulator, method: &str, path: &str, body: &str) -> Reply {
    try_call(server, method, path, &[], body).expect("an answer")
}

fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `POST /oauth2/v0/token` with the demo app's credentials and these fields.
fn token(server: &Emulator, fields: &[(&str, &str)]) -> Reply {
    token_as(server, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET, fields)
}

fn token_as(server: &Emulator, id: &str, secret: &str, fields: &[(&str, &str)]) -> Reply {
    let mut form = format!("client_id={}&client_secret={}", enc(id), enc(secret));
    for (n, v) in fields {
        form.push_str(&format!("&{n}={}", enc(v)));
    }
    try_call(
        server,
        "POST",
        "/oauth2/v0/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    )
    .expect("an answer")
}

fn password_grant(server: &Emulator) -> Json {
    let reply = token(
        server,
        &[
            ("grant_type", "password"),
            ("username", DEMO_LOGIN),
            ("password", DEMO_PASSWORD),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn refresh(server: &Emulator, refresh_token: &str) -> Reply {
    token(
        server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
}

fn code_of(reply: &Reply) -> Option<i64> {
    reply.json().i64_of("code")
}

fn identity(server: &Emulator, access_token: &str) -> u16 {
    let auth = format!("Bearer {access_token}");
    try_call(
        server,
        "GET",
        "/profile/identity/v4.1/Users",
        &[("Authorization", &auth)],
        "",
    )
    .expect("an answer")
    .status
}

fn start() -> Emulator {
    Emulator::start().expect("the emulator starts")
}

#[test]
fn health_reset_and_unknown_endpoints() {
    let server = start();
    let health = call(&server, "GET", "/_emulator/health", "");
    assert_eq!(health.status, 200);
    assert_eq!(health.json().str_of("status"), Some("ok"));
    assert!(health.headers.contains("Content-Type: application/json"));
    assert_eq!(call(&server, "GET", "/_emulator/nothing", "").status, 404);
    assert_eq!(call(&server, "DELETE", "/_emulator/health", "").status, 405);
    assert_eq!(call(&server, "PUT", "/_emulator/journal", "").status, 405);

    // reset: a new user, a changed lifetime, an advanced clock, a fault and a journal all go.
    let before = server.now();
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/users",
            r#"{"login":"x@example.com","password":"p"}"#
        )
        .status,
        201
    );
    assert_eq!(
        call(&server, "PUT", "/_emulator/lifetimes", r#"{"access":60}"#).status,
        200
    );
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/clock/advance",
            r#"{"seconds":86400}"#
        )
        .status,
        200
    );
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/faults",
            r#"{"endpoint":"token","kind":"drop"}"#
        )
        .status,
        201
    );
    let form = format!(
        "client_id={}&client_secret={}&grant_type=client_credentials",
        enc(OAUTH2_CLIENT_ID),
        enc(OAUTH2_CLIENT_SECRET)
    );
    let dropped = try_call(
        &server,
        "POST",
        "/oauth2/v0/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert!(dropped.is_none(), "the queued drop");
    assert_eq!(call(&server, "POST", "/_emulator/reset", "").status, 200);
    assert!(
        server.now() < before + 100,
        "the clock is back to real time"
    );
    assert_eq!(server.lifetimes(), Lifetimes::default());
    assert!(server.users().iter().all(|u| u.login != "x@example.com"));
    assert_eq!(call(&server, "GET", "/_emulator/journal", "").body, "[]");
    assert_eq!(call(&server, "GET", "/_emulator/faults", "").body, "[]");
    password_grant(&server);
}

#[test]
fn bad_input_is_a_400_with_a_message_and_never_a_crash() {
    let server = start();
    let cases: &[(&str, &str, &str)] = &[
        ("POST", "/_emulator/apps", "{"),
        ("POST", "/_emulator/apps", "[1,2]"),
        ("POST", "/_emulator/apps", r#"{"client_id":5}"#),
        ("POST", "/_emulator/apps", r#"{"grants":["magic"]}"#),
        ("POST", "/_emulator/apps", r#"{"color":"red"}"#),
        ("POST", "/_emulator/companies", r#"{"id":"not-a-uuid"}"#),
        ("POST", "/_emulator/companies", r#"{"name":""}"#),
        ("POST", "/_emulator/users", r#"{"login":"a@b.c"}"#),
        (
            "POST",
            "/_emulator/users",
            r#"{"login":"a@b.c","password":"p","data_centre":3}"#,
        ),
        (
            "POST",
            "/_emulator/users",
            r#"{"login":"a@b.c","password":"p","locked":"yes"}"#,
        ),
        ("POST", "/_emulator/consumer-keys", r#"{"key":"a/b"}"#),
        ("POST", "/_emulator/revoke", r#"{}"#),
        (
            "POST",
            "/_emulator/revoke",
            r#"{"refresh_token":"a","connection":"b"}"#,
        ),
        ("POST", "/_emulator/expire", r#"{"all":false}"#),
        ("POST", "/_emulator/expire", r#"{"everything":true}"#),
        ("PUT", "/_emulator/lifetimes", r#"{"access":0}"#),
        ("PUT", "/_emulator/lifetimes", r#"{"access":"3600"}"#),
        ("PUT", "/_emulator/rotation", r#"{"mode":"maybe"}"#),
        ("POST", "/_emulator/faults", r#"{"endpoint":"token"}"#),
        (
            "POST",
            "/_emulator/faults",
            r#"{"endpoint":"token","kind":"status"}"#,
        ),
        (
            "POST",
            "/_emulator/faults",
            r#"{"endpoint":"token","kind":"latency"}"#,
        ),
        (
            "POST",
            "/_emulator/faults",
            r#"{"endpoint":"token","kind":"drop","count":0}"#,
        ),
        (
            "POST",
            "/_emulator/faults",
            r#"{"endpoint":"/_emulator/health","kind":"drop"}"#,
        ),
        (
            "POST",
            "/_emulator/faults",
            r#"{"endpoint":"token","kind":"status","status":99}"#,
        ),
        ("POST", "/_emulator/clock/advance", r#"{"seconds":-5}"#),
        ("POST", "/_emulator/clock/advance", r#"{}"#),
        ("POST", "/_emulator/clock/advance", "\u{0}\u{1}"),
    ];
    for (method, path, body) in cases {
        let reply = call(&server, method, path, body);
        assert_eq!(reply.status, 400, "{method} {path} {body}: {}", reply.body);
        let json = reply.json();
        assert_eq!(json.str_of("error"), Some("bad_request"));
        assert!(
            json.str_of("message").is_some_and(|m| !m.is_empty()),
            "{}",
            reply.body
        );
    }
    // Still serving, nothing changed by the refused requests.
    assert_eq!(server.apps().len(), 1);
    assert_eq!(server.rotation(), Rotation::Always);
    assert_eq!(call(&server, "GET", "/_emulator/health", "").status, 200);
}

#[test]
fn apps_limit_grants_and_scopes_and_can_be_deleted() {
    let server = start();
    let reply = call(
        &server,
        "POST",
        "/_emulator/apps",
        r#"{"client_id":"cc-only","client_secret":"s3cret","grants":["client_credentials"],"scopes":["LIST"]}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        call(&server, "GET", "/_emulator/apps/cc-only", "")
            .json()
            .str_of("client_secret"),
        Some("s3cret")
    );
    let cc = token_as(
        &server,
        "cc-only",
        "s3cret",
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(cc.status, 200, "{}", cc.body);
    assert!(cc.json().get("refresh_token").is_none());
    let pw = token_as(
        &server,
        "cc-only",
        "s3cret",
        &[
            ("grant_type", "password"),
            ("username", DEMO_LOGIN),
            ("password", DEMO_PASSWORD),
        ],
    );
    assert_eq!(code_of(&pw), Some(60), "{}", pw.body);
    let scoped = token_as(
        &server,
        "cc-only",
        "s3cret",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "LIST EXPRPT"),
        ],
    );
    assert_eq!(code_of(&scoped), Some(54), "{}", scoped.body);
    let wrong = token_as(
        &server,
        "cc-only",
        "nope",
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(code_of(&wrong), Some(64));
    assert_eq!(
        call(&server, "DELETE", "/_emulator/apps/cc-only", "").status,
        200
    );
    assert_eq!(
        call(&server, "DELETE", "/_emulator/apps/cc-only", "").status,
        404
    );
    assert_eq!(
        call(&server, "GET", "/_emulator/apps/cc-only", "").status,
        404
    );
    let gone = token_as(
        &server,
        "cc-only",
        "s3cret",
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(code_of(&gone), Some(64));
    // A generated app gets a client ID and secret.
    let generated = call(&server, "POST", "/_emulator/apps", "{}").json();
    let (id, secret) = (
        generated.str_of("client_id").unwrap(),
        generated.str_of("client_secret").unwrap(),
    );
    assert_eq!(
        token_as(&server, id, secret, &[("grant_type", "client_credentials")]).status,
        200
    );
}

#[test]
fn companies_and_request_tokens_follow_the_virtual_clock() {
    let server = start();
    let created = call(
        &server,
        "POST",
        "/_emulator/companies",
        r#"{"name":"Acme"}"#,
    );
    assert_eq!(created.status, 201);
    let company = created.json();
    let id = company.str_of("id").unwrap().to_string();
    let first = company.str_of("request_token").unwrap().to_string();
    let grant = |request_token: &str| {
        token(
            &server,
            &[
                ("grant_type", "password"),
                ("credtype", "authtoken"),
                ("username", &id),
                ("password", request_token),
            ],
        )
    };
    let ok = grant(&first);
    assert_eq!(ok.status, 200, "{}", ok.body);
    let id_token = ok.json().str_of("id_token").unwrap().to_string();
    assert!(!id_token.is_empty());
    // Reusable within its 24 hours (a retry after a network failure).
    assert_eq!(grant(&first).status, 200);
    assert_eq!(
        code_of(&grant("5185ae5a-0000-4000-8000-000000000000")),
        Some(5)
    );
    // 23 h later a new one is made; at 24 h + 1 s the first has expired, the new one has not.
    server.advance(23 * 3600);
    let second = call(
        &server,
        "POST",
        &format!("/_emulator/companies/{id}/request-tokens"),
        "",
    );
    assert_eq!(second.status, 201);
    let second = second.json().str_of("request_token").unwrap().to_string();
    server.advance(3600 + 1);
    assert_eq!(code_of(&grant(&first)), Some(5));
    assert_eq!(grant(&second).status, 200);
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/companies/08bcca1e-0000-4000-8000-000000000000/request-tokens",
            ""
        )
        .status,
        404
    );
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/companies",
            &format!(r#"{{"id":"{id}"}}"#)
        )
        .status,
        409
    );
    assert_eq!(
        call(&server, "DELETE", &format!("/_emulator/companies/{id}"), "").status,
        200
    );
    assert_eq!(code_of(&grant(&second)), Some(5));
    // The demo company's request token expired with the clock too; the Rust API makes another.
    let demo = token(
        &server,
        &[
            ("grant_type", "password"),
            ("credtype", "authtoken"),
            ("username", COMPANY_ID),
            ("password", REQUEST_TOKEN),
        ],
    );
    assert_eq!(code_of(&demo), Some(5));
    let fresh = server
        .new_request_token(COMPANY_ID)
        .expect("the demo company exists");
    let demo = token(
        &server,
        &[
            ("grant_type", "password"),
            ("credtype", "authtoken"),
            ("username", COMPANY_ID),
            ("password", &fresh),
        ],
    );
    assert_eq!(demo.status, 200);
    let added = server.add_company();
    let request_token = added.request_tokens[0].0.clone();
    let added_grant = token(
        &server,
        &[
            ("grant_type", "password"),
            ("credtype", "authtoken"),
            ("username", &added.id),
            ("password", &request_token),
        ],
    );
    assert_eq!(added_grant.status, 200, "{}", added_grant.body);
}

#[test]
fn users_locked_disabled_and_elsewhere() {
    let server = start();
    for (body, code) in [
        (
            r#"{"login":"l@example.com","password":"p","locked":true}"#,
            Some(14),
        ),
        (
            r#"{"login":"d@example.com","password":"p","disabled":true}"#,
            Some(10),
        ),
        (
            r#"{"login":"e@example.com","password":"p","data_centre":2}"#,
            Some(16),
        ),
        (r#"{"login":"ok@example.com","password":"p"}"#, None),
    ] {
        let created = call(&server, "POST", "/_emulator/users", body);
        assert_eq!(created.status, 201);
        let login = created.json().str_of("login").unwrap().to_string();
        let reply = token(
            &server,
            &[
                ("grant_type", "password"),
                ("username", &login),
                ("password", "p"),
            ],
        );
        assert_eq!(code_of(&reply), code, "{login}: {}", reply.body);
        if code == Some(16) {
            assert_eq!(
                reply.json().str_of("geolocation"),
                Some(server.second_base_url().as_str())
            );
        }
    }
    assert_eq!(
        call(&server, "DELETE", "/_emulator/users/ok%40example.com", "").status,
        200
    );
    let gone = token(
        &server,
        &[
            ("grant_type", "password"),
            ("username", "ok@example.com"),
            ("password", "p"),
        ],
    );
    assert_eq!(code_of(&gone), Some(5));
    server.add_user(User {
        login: "rust@example.com".into(),
        password: "q".into(),
        data_centre: 1,
        locked: false,
        disabled: false,
    });
    assert_eq!(
        token(
            &server,
            &[
                ("grant_type", "password"),
                ("username", "rust@example.com"),
                ("password", "q")
            ]
        )
        .status,
        200
    );
}

#[test]
fn the_virtual_clock_expires_access_and_refresh_tokens() {
    let server = start();
    let t0 = call(&server, "GET", "/_emulator/clock", "")
        .json()
        .i64_of("now")
        .unwrap();
    let grant = password_grant(&server);
    let access = grant.str_of("access_token").unwrap();
    let refresh_token = grant.str_of("refresh_token").unwrap().to_string();
    assert_eq!(grant.str_of("expires_in"), Some("3600"));
    let horizon = grant.i64_of("refresh_expires_in").unwrap();
    assert!(
        (horizon - t0 - 180 * 86_400).abs() < 5,
        "six months: {horizon} vs {t0}"
    );
    assert_eq!(identity(&server, access), 200);
    let advanced = call(
        &server,
        "POST",
        "/_emulator/clock/advance",
        r#"{"seconds":3599}"#,
    )
    .json();
    assert!(advanced.i64_of("now").unwrap() >= t0 + 3599);
    assert_eq!(identity(&server, access), 200, "one second left");
    server.advance(2);
    assert_eq!(identity(&server, access), 401, "the hour has passed");
    // The refresh token lives six months of virtual time.
    let refreshed = refresh(&server, &refresh_token);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let rotated = refreshed
        .json()
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    server.advance(180 * 86_400 + 1);
    assert_eq!(code_of(&refresh(&server, &rotated)), Some(108));
    let states: Vec<RefreshState> = server
        .refresh_token_uses()
        .iter()
        .map(|r| r.state)
        .collect();
    assert_eq!(states, [RefreshState::Rotated, RefreshState::Expired]);
    // Dates in answers follow the clock: a new grant's horizon is six months past the advanced now.
    let later = password_grant(&server);
    assert!(later.i64_of("refresh_expires_in").unwrap() > horizon + 180 * 86_400);
}

#[test]
fn lifetimes_set_what_new_tokens_get() {
    let server = start();
    let reply = call(
        &server,
        "PUT",
        "/_emulator/lifetimes",
        r#"{"access":60,"refresh":120}"#,
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json().i64_of("request_token"), Some(86_400));
    let grant = password_grant(&server);
    assert_eq!(grant.str_of("expires_in"), Some("60"));
    let access = grant.str_of("access_token").unwrap();
    server.advance(61);
    assert_eq!(identity(&server, access), 401);
    server.advance(60);
    assert_eq!(
        code_of(&refresh(&server, grant.str_of("refresh_token").unwrap())),
        Some(108)
    );
    server.set_lifetimes(Lifetimes {
        access: 7,
        ..Lifetimes::default()
    });
    assert_eq!(password_grant(&server).str_of("expires_in"), Some("7"));
}

#[test]
fn faults_apply_to_exactly_the_next_n_requests() {
    let server = start();
    let queued = call(
        &server,
        "POST",
        "/_emulator/faults",
        r#"{"endpoint":"token","count":2,"kind":"status","code":108}"#,
    );
    assert_eq!(queued.status, 201);
    assert_eq!(queued.json().i64_of("status"), Some(400));
    for _ in 0..2 {
        let reply = token(
            &server,
            &[
                ("grant_type", "password"),
                ("username", DEMO_LOGIN),
                ("password", DEMO_PASSWORD),
            ],
        );
        assert_eq!(code_of(&reply), Some(108));
        assert_eq!(reply.json().str_of("error"), Some("invalid_grant"));
    }
    password_grant(&server);

    call(
        &server,
        "POST",
        "/_emulator/faults",
        r#"{"endpoint":"/oauth2/v0/token","kind":"status","status":503}"#,
    );
    let reply = token(&server, &[("grant_type", "client_credentials")]);
    assert_eq!(reply.status, 503);
    assert!(reply.headers.contains("Content-Type: text/plain"));

    call(
        &server,
        "POST",
        "/_emulator/faults",
        r#"{"endpoint":"token","kind":"rate-limit","retry_after":7}"#,
    );
    let reply = token(&server, &[("grant_type", "client_credentials")]);
    assert_eq!(reply.status, 429);
    assert!(
        reply.headers.contains("Retry-After: 7"),
        "{}",
        reply.headers
    );

    call(
        &server,
        "POST",
        "/_emulator/faults",
        r#"{"endpoint":"token","kind":"malformed"}"#,
    );
    let reply = token(&server, &[("grant_type", "client_credentials")]);
    assert_eq!(reply.status, 200);
    assert!(
        Json::parse(&reply.body).is_none(),
        "malformed: {}",
        reply.body
    );

    call(
        &server,
        "POST",
        "/_emulator/faults",
        r#"{"endpoint":"token","kind":"drop"}"#,
    );
    let form = format!(
        "client_id={}&client_secret={}&grant_type=client_credentials",
        enc(OAUTH2_CLIENT_ID),
        enc(OAUTH2_CLIENT_SECRET)
    );
    let dropped = try_call(
        &server,
        "POST",
        "/oauth2/v0/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert!(dropped.is_none(), "the connection closes unanswered");

    call(
        &server,
        "POST",
        "/_emulator/faults",
        r#"{"endpoint":"token","kind":"latency","ms":300}"#,
    );
    let started = Instant::now();
    assert_eq!(
        token(&server, &[("grant_type", "client_credentials")]).status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A fault for another path leaves the token endpoint alone; the Rust API queues the same.
    server.queue_fault(
        "/profile/identity/v4.1/Users",
        1,
        FaultKind::Status {
            status: 500,
            code: None,
        },
    );
    let grant = password_grant(&server);
    let access = grant.str_of("access_token").unwrap();
    assert_eq!(identity(&server, access), 500);
    assert_eq!(identity(&server, access), 200);
    assert_eq!(call(&server, "GET", "/_emulator/faults", "").body, "[]");
    // The journal shows each fault's status, the dropped request as 0.
    let journal = call(&server, "GET", "/_emulator/journal", "").json();
    let Json::Array(entries) = journal else {
        panic!("an array")
    };
    let statuses: Vec<i64> = entries
        .iter()
        .map(|e| e.i64_of("status").unwrap())
        .collect();
    assert_eq!(
        statuses,
        [400, 400, 200, 503, 429, 200, 0, 200, 200, 500, 200]
    );
}

#[test]
fn the_journal_digests_every_secret() {
    let server = start();
    let grant = password_grant(&server);
    let access = grant.str_of("access_token").unwrap().to_string();
    let refresh_token = grant.str_of("refresh_token").unwrap().to_string();
    let refreshed = refresh(&server, &refresh_token).json();
    let new_refresh = refreshed.str_of("refresh_token").unwrap().to_string();
    identity(&server, &access);
    let company = server.add_company();
    let request_token = company.request_tokens[0].0.clone();
    token(
        &server,
        &[
            ("grant_type", "password"),
            ("credtype", "authtoken"),
            ("username", &company.id),
            ("password", &request_token),
        ],
    );
    // The legacy flow: Basic credentials and a secret in the query.
    let basic = format!(
        "Basic {}",
        base64_of(&format!("{DEMO_LOGIN}:{DEMO_PASSWORD}"))
    );
    try_call(
        &server,
        "GET",
        "/net2/oauth2/accesstoken.ashx",
        &[
            ("Authorization", &basic),
            ("X-ConsumerKey", concur_emulator::CONSUMER_KEY),
        ],
        "",
    );
    try_call(
        &server,
        "GET",
        &format!(
            "/net2/oauth2/getaccesstoken.ashx?refresh_token=R_1&client_id=k&client_secret={}",
            enc("legacy-secret")
        ),
        &[],
        "",
    );

    let text = call(&server, "GET", "/_emulator/journal", "").body;
    for secret in [
        DEMO_PASSWORD,
        &enc(DEMO_PASSWORD),
        OAUTH2_CLIENT_SECRET,
        &enc(OAUTH2_CLIENT_SECRET),
        &access,
        &refresh_token,
        &new_refresh,
        &request_token,
        &basic,
        "legacy-secret",
    ] {
        assert!(
            !text.contains(secret),
            "the journal shows a secret: {secret}"
        );
    }
    for secret in [
        DEMO_PASSWORD,
        OAUTH2_CLIENT_SECRET,
        &refresh_token,
        &request_token,
        &basic,
        "legacy-secret",
    ] {
        assert!(text.contains(&digest(secret)), "no digest of {secret}");
    }
    assert!(text.contains(&digest(&format!("Bearer {access}"))));
    let journal = Json::parse(&text).unwrap();
    let Json::Array(entries) = journal else {
        panic!("an array")
    };
    assert_eq!(entries.len(), 6);
    assert_eq!(entries[0].str_of("grant"), Some("password"));
    assert_eq!(entries[1].str_of("grant"), Some("refresh_token"));
    assert_eq!(
        entries[2].str_of("endpoint"),
        Some("/profile/identity/v4.1/Users")
    );
    assert_eq!(
        entries[0].get("form").and_then(|f| f.str_of("username")),
        Some(DEMO_LOGIN)
    );
    assert!(digest("x").starts_with("sha256:") && digest("x").len() == 19);
    // The Rust API returns the same text.
    assert_eq!(server.journal(), text);
    // Only what came after a seq; then cleared.
    let tail = Json::parse(&call(&server, "GET", "/_emulator/journal?since=4", "").body).unwrap();
    let Json::Array(tail) = tail else {
        panic!("an array")
    };
    assert_eq!(tail.len(), 2);
    assert_eq!(tail[0].i64_of("seq"), Some(5));
    assert_eq!(
        call(&server, "GET", "/_emulator/journal?since=x", "").status,
        400
    );
    assert_eq!(
        call(&server, "DELETE", "/_emulator/journal", "").status,
        200
    );
    assert_eq!(server.journal(), "[]");
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn every_refresh_token_is_tracked_and_reuse_is_108() {
    let server = start();
    let grant = password_grant(&server);
    let first = grant.str_of("refresh_token").unwrap().to_string();
    let second = refresh(&server, &first)
        .json()
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    // The rotated token is spent: a second use is refused, however often it is tried.
    assert_eq!(code_of(&refresh(&server, &first)), Some(108));
    assert_eq!(code_of(&refresh(&server, &first)), Some(108));
    // A token never issued (even one shaped like the emulator's) is refused.
    assert_eq!(code_of(&refresh(&server, "rt.bogus.0000")), Some(108));
    let mut forged = second.clone();
    forged.pop();
    forged.push('0');
    assert_eq!(code_of(&refresh(&server, &forged)), Some(108));
    let list = call(&server, "GET", "/_emulator/refresh-tokens", "").json();
    let Json::Array(items) = list else {
        panic!("an array")
    };
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].str_of("digest"), Some(digest(&first).as_str()));
    assert_eq!(items[0].str_of("state"), Some("rotated"));
    assert_eq!(
        items[0].i64_of("uses"),
        Some(1),
        "the refused reuse is not counted as a use"
    );
    assert_eq!(items[1].str_of("state"), Some("live"));
    assert_eq!(items[0].i64_of("family"), items[1].i64_of("family"));
    // No token was used twice.
    assert!(server.refresh_token_uses().iter().all(|r| r.uses <= 1));

    // Revoking one token, then a connection.
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/revoke",
            &format!(r#"{{"refresh_token":"{second}"}}"#)
        )
        .status,
        200
    );
    assert_eq!(code_of(&refresh(&server, &second)), Some(108));
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/revoke",
            r#"{"refresh_token":"never-issued"}"#
        )
        .status,
        404
    );
    let other = password_grant(&server);
    let sub = concur_emulator::oauth2_subject(DEMO_LOGIN);
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/revoke",
            &format!(r#"{{"connection":"{sub}"}}"#)
        )
        .status,
        200
    );
    assert_eq!(
        code_of(&refresh(&server, other.str_of("refresh_token").unwrap())),
        Some(108)
    );
    assert_eq!(
        identity(&server, other.str_of("access_token").unwrap()),
        401,
        "a revoked connection's access token is refused"
    );
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/revoke",
            r#"{"connection":"nobody"}"#
        )
        .status,
        404
    );
    assert_eq!(
        server.refresh_token_uses().last().unwrap().state,
        RefreshState::Revoked
    );
    // A new grant after the revocation works.
    let fresh = password_grant(&server);
    assert_eq!(
        refresh(&server, fresh.str_of("refresh_token").unwrap()).status,
        200
    );
}

#[test]
fn rotation_modes_always_never_sometimes() {
    let server = start();
    assert_eq!(
        call(&server, "PUT", "/_emulator/rotation", r#"{"mode":"never"}"#)
            .json()
            .str_of("mode"),
        Some("never")
    );
    let held = password_grant(&server)
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    for _ in 0..3 {
        let reply = refresh(&server, &held);
        assert_eq!(reply.json().str_of("refresh_token"), Some(held.as_str()));
    }
    assert_eq!(server.refresh_token_uses()[0].uses, 3);
    assert_eq!(server.refresh_token_uses()[0].state, RefreshState::Live);

    server.set_rotation(Rotation::Sometimes);
    let mut token = password_grant(&server)
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    let mut rotated = Vec::new();
    for _ in 0..4 {
        let next = refresh(&server, &token)
            .json()
            .str_of("refresh_token")
            .unwrap()
            .to_string();
        rotated.push(next != token);
        token = next;
    }
    assert_eq!(rotated, [false, true, false, true]);

    server.set_rotation(Rotation::Always);
    let first = password_grant(&server)
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    let second = refresh(&server, &first)
        .json()
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    assert_eq!(code_of(&refresh(&server, &first)), Some(108));
}

#[test]
fn expire_now_access_refresh_and_all() {
    let server = start();
    let a = password_grant(&server);
    let b = password_grant(&server);
    let (a_access, b_access) = (
        a.str_of("access_token").unwrap(),
        b.str_of("access_token").unwrap(),
    );
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/expire",
            &format!(r#"{{"access_token":"{a_access}"}}"#)
        )
        .status,
        200
    );
    assert_eq!(identity(&server, a_access), 401);
    assert_eq!(identity(&server, b_access), 200);
    let a_refresh = a.str_of("refresh_token").unwrap();
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/expire",
            &format!(r#"{{"refresh_token":"{a_refresh}"}}"#)
        )
        .status,
        200
    );
    assert_eq!(code_of(&refresh(&server, a_refresh)), Some(108));
    assert_eq!(
        call(
            &server,
            "POST",
            "/_emulator/expire",
            r#"{"access_token":"nope"}"#
        )
        .status,
        404
    );
    assert_eq!(
        call(&server, "POST", "/_emulator/expire", r#"{"all":true}"#).status,
        200
    );
    assert_eq!(identity(&server, b_access), 401);
    assert_eq!(
        code_of(&refresh(&server, b.str_of("refresh_token").unwrap())),
        Some(108)
    );
    let c = password_grant(&server);
    assert_eq!(
        identity(&server, c.str_of("access_token").unwrap()),
        200,
        "tokens issued later live"
    );
    assert!(server.expire_access_token(c.str_of("access_token").unwrap()));
    assert_eq!(identity(&server, c.str_of("access_token").unwrap()), 401);
}

#[test]
fn the_protected_api_answers_in_concurs_shape() {
    let server = start();
    let grant = password_grant(&server);
    let auth = format!("Bearer {}", grant.str_of("access_token").unwrap());
    let reply = try_call(
        &server,
        "GET",
        "/profile/identity/v4.1/Users",
        &[("Authorization", &auth)],
        "",
    )
    .unwrap();
    assert_eq!(reply.status, 200);
    let list = reply.json();
    assert_eq!(list.i64_of("totalResults"), Some(1));
    let Some(Json::Array(resources)) = list.get("Resources") else {
        panic!("Resources")
    };
    let me = &resources[0];
    let sub = concur_emulator::oauth2_subject(DEMO_LOGIN);
    assert_eq!(me.str_of("id"), Some(sub.as_str()));
    assert_eq!(me.str_of("userName"), Some(DEMO_LOGIN));
    let one = try_call(
        &server,
        "GET",
        &format!("/profile/identity/v4.1/Users/{sub}"),
        &[("Authorization", &auth)],
        "",
    )
    .unwrap();
    assert_eq!(one.json().str_of("id"), Some(sub.as_str()));
    let other = try_call(
        &server,
        "GET",
        "/profile/identity/v4.1/Users/00000000-0000-4000-8000-000000000000",
        &[("Authorization", &auth)],
        "",
    )
    .unwrap();
    assert_eq!(other.status, 404);
    let none = try_call(&server, "GET", "/profile/identity/v4.1/Users", &[], "").unwrap();
    assert_eq!(none.status, 401);
    assert!(none.headers.contains("WWW-Authenticate: Bearer"));
    assert_eq!(identity(&server, "not-a-token"), 401);
    // A company token sees every user.
    let fresh = server.new_request_token(COMPANY_ID).unwrap();
    let company = token(
        &server,
        &[
            ("grant_type", "password"),
            ("credtype", "authtoken"),
            ("username", COMPANY_ID),
            ("password", &fresh),
        ],
    )
    .json();
    let auth = format!("Bearer {}", company.str_of("access_token").unwrap());
    let all = try_call(
        &server,
        "GET",
        "/profile/identity/v4.1/Users",
        &[("Authorization", &auth)],
        "",
    )
    .unwrap()
    .json();
    assert_eq!(
        all.i64_of("totalResults"),
        Some(server.users().len() as i64)
    );
    // The connection revoked the way Concur does it: DELETE /app-mgmt/v0/connections.
    let bearer = format!("Bearer {}", grant.str_of("access_token").unwrap());
    let revoked = try_call(
        &server,
        "DELETE",
        "/app-mgmt/v0/connections",
        &[("Authorization", &bearer)],
        "",
    )
    .unwrap();
    assert_eq!(revoked.status, 200);
    assert_eq!(
        identity(&server, grant.str_of("access_token").unwrap()),
        401
    );
}

#[test]
fn a_seed_applies_all_or_nothing() {
    let server = start();
    let seed = r#"{
        "apps": [{"client_id": "seeded-app", "client_secret": "seeded-secret", "grants": ["password", "refresh_token"]}],
        "companies": [{"id": "11111111-2222-4333-8444-555555555555", "name": "Seeded", "request_tokens": ["seeded-request-token"]}],
        "users": [{"login": "seeded@example.com", "password": "pw", "data_centre": 1}],
        "consumer_keys": [{"key": "seeded-key", "secret": "seeded-legacy-secret"}],
        "lifetimes": {"access": 120},
        "rotation": "never"
    }"#;
    server.seed(seed).expect("a valid seed");
    assert_eq!(server.rotation(), Rotation::Never);
    let reply = token_as(
        &server,
        "seeded-app",
        "seeded-secret",
        &[
            ("grant_type", "password"),
            ("username", "seeded@example.com"),
            ("password", "pw"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json().str_of("expires_in"), Some("120"));
    let company = token(
        &server,
        &[
            ("grant_type", "password"),
            ("credtype", "authtoken"),
            ("username", "11111111-2222-4333-8444-555555555555"),
            ("password", "seeded-request-token"),
        ],
    );
    assert_eq!(company.status, 200, "{}", company.body);
    assert!(server.apps().contains(&App {
        client_id: "seeded-app".into(),
        client_secret: "seeded-secret".into(),
        grants: vec!["password".into(), "refresh_token".into()],
        scopes: vec![],
    }));

    for (bad, says) in [
        ("not json", "JSON"),
        (r#"{"apps": {}}"#, "apps"),
        (r#"{"users": [{"login": "a@b.c"}]}"#, "users[0]"),
        (r#"{"lifetimes": {"access": -1}}"#, "lifetimes"),
        (r#"{"rotation": "maybe"}"#, "rotation"),
        (r#"{"extra": 1}"#, "extra"),
    ] {
        let fresh = start();
        let error = fresh.seed(bad).expect_err(bad);
        assert!(error.contains(says), "{bad}: {error}");
    }
    // All or nothing: a valid app before an invalid user is not added either.
    let fresh = start();
    assert!(
        fresh
            .seed(r#"{"apps": [{"client_id": "half"}], "users": [{}]}"#)
            .is_err()
    );
    assert!(fresh.apps().iter().all(|a| a.client_id != "half"));
}

#[test]
fn debug_output_shows_no_secret() {
    let server = start();
    let text = format!(
        "{:?} {:?} {:?}",
        server.apps(),
        server.users(),
        server.companies()
    );
    for secret in [OAUTH2_CLIENT_SECRET, DEMO_PASSWORD, REQUEST_TOKEN] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains(OAUTH2_CLIENT_ID) && text.contains(DEMO_LOGIN));
}

#[test]
fn without_recording_refresh_tokens_still_rotate_and_expire() {
    let server = start();
    server.set_recording(false);
    let first = password_grant(&server)
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    let second = refresh(&server, &first)
        .json()
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    assert_eq!(
        code_of(&refresh(&server, &first)),
        Some(108),
        "spent by its generation"
    );
    server.set_rotation(Rotation::Never);
    let kept = refresh(&server, &second)
        .json()
        .str_of("refresh_token")
        .unwrap()
        .to_string();
    assert_eq!(kept, second);
    server.advance(180 * 86_400 + 1);
    assert_eq!(
        code_of(&refresh(&server, &second)),
        Some(108),
        "past its horizon"
    );
    assert!(server.refresh_token_uses().is_empty());
    assert_eq!(server.journal(), "[]");
}

#[test]
fn consumer_keys_gate_the_legacy_flows() {
    let server = start();
    let basic = format!(
        "Basic {}",
        base64_of(&format!("{DEMO_LOGIN}:{DEMO_PASSWORD}"))
    );
    let native = |key: &str| {
        try_call(
            &server,
            "GET",
            "/net2/oauth2/accesstoken.ashx",
            &[("Authorization", &basic), ("X-ConsumerKey", key)],
            "",
        )
        .unwrap()
        .status
    };
    assert_eq!(native("my-legacy-key"), 403);
    let added = call(
        &server,
        "POST",
        "/_emulator/consumer-keys",
        r#"{"key":"my-legacy-key","secret":"my-legacy-secret"}"#,
    );
    assert_eq!(added.status, 201);
    assert_eq!(native("my-legacy-key"), 200);
    let refresh_with = |key: &str, secret: &str| {
        let path = format!(
            "/net2/oauth2/getaccesstoken.ashx?refresh_token=R_none&client_id={}&client_secret={}",
            enc(key),
            enc(secret)
        );
        try_call(&server, "GET", &path, &[], "").unwrap().body
    };
    // Known key and secret: the refresh token is what is wrong; a wrong secret is the client.
    assert!(refresh_with("my-legacy-key", "my-legacy-secret").contains("refresh token"));
    assert!(refresh_with("my-legacy-key", "wrong").contains("client ID or client secret"));
    let key = concur_emulator::CONSUMER_KEY;
    assert_eq!(
        call(
            &server,
            "DELETE",
            &format!("/_emulator/consumer-keys/{key}"),
            ""
        )
        .status,
        200
    );
    assert_eq!(native(key), 403);
}
