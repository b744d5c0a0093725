//! Refresh, revoke and the Web flow's code exchange against the loopback test server, with the
//! same classes of tests as the Native Flow: success, each error class, bad arguments, secrets.

use std::time::Duration;

use concur_native::{
    Client, ErrorKind, Options, Token, authorization_url, native_token, parse_callback,
};
use concur_test_server::{ACCOUNTS, CLIENT_SECRET, CONSUMER_KEY, shared as server};

fn options(base_url: String) -> Options {
    Options::new()
        .base_url(base_url)
        .ca_file(server().ca_file())
        .timeout(Duration::from_secs(10))
}

fn client() -> Client {
    Client::new(&options(server().base_url())).expect("client")
}

fn scenario_client(name: &str) -> Client {
    Client::new(&options(server().scenario_url(name)).timeout(Duration::from_millis(500)))
        .expect("client")
}

fn login(account: usize) -> Token {
    let a = &ACCOUNTS[account];
    native_token(
        CONSUMER_KEY,
        a.login_id,
        a.password,
        &options(server().base_url()),
    )
    .unwrap()
}

/// What Login.aspx answers: the Location Concur would send the user's browser to.
fn approve(query: &str) -> String {
    server().approve(query).expect("Login.aspx redirects")
}

#[test]
fn refresh_keeps_the_refresh_token_and_follows_the_instance_url() {
    let first = login(0);
    let instance = first.instance_url().expect("instance url").to_string();
    let client = Client::new(&options(instance)).expect("client at the instance URL");
    let refreshed = client
        .refresh_token(CONSUMER_KEY, CLIENT_SECRET, first.refresh_token().unwrap())
        .expect("refreshed");
    assert_ne!(refreshed.token(), first.token());
    // Concur's refresh answer has no Refresh_Token: the caller's is kept.
    assert_eq!(refreshed.refresh_token(), first.refresh_token());
    assert!(refreshed.expires_at().is_some());
}

#[test]
fn the_secret_is_percent_encoded_on_the_wire() {
    let first = login(0);
    client()
        .refresh_token(CONSUMER_KEY, CLIENT_SECRET, first.refresh_token().unwrap())
        .expect("refreshed");
    let request = server()
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.target.contains("refresh_token="))
        .expect("logged");
    assert!(
        request
            .target
            .contains("client_secret=demo-secret%2Fwith%2Bspecial%26chars%3D%25"),
        "{}",
        request.target
    );
}

#[test]
fn refresh_errors() {
    let first = login(0);
    let refresh = first.refresh_token().unwrap();
    let e = client()
        .refresh_token(CONSUMER_KEY, "wrong-secret", refresh)
        .unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Unauthorized, Some(401)));
    assert_eq!(
        e.concur_message(),
        Some("Invalid client ID or client secret.")
    );
    assert!(!e.to_string().contains("wrong-secret"));

    let e = client()
        .refresh_token(CONSUMER_KEY, CLIENT_SECRET, "R_unknown")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);

    let e = scenario_client("status-503")
        .refresh_token(CONSUMER_KEY, CLIENT_SECRET, refresh)
        .unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::HttpStatus, Some(503)));
    let e = scenario_client("slow-headers-3000")
        .refresh_token(CONSUMER_KEY, CLIENT_SECRET, refresh)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let e = scenario_client("html")
        .refresh_token(CONSUMER_KEY, CLIENT_SECRET, refresh)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);

    for (id, secret, token) in [
        ("", CLIENT_SECRET, refresh),
        (CONSUMER_KEY, "", refresh),
        (CONSUMER_KEY, "a\0b", refresh),
        (CONSUMER_KEY, CLIENT_SECRET, ""),
        (CONSUMER_KEY, CLIENT_SECRET, "has space"),
    ] {
        let e = client().refresh_token(id, secret, token).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
}

#[test]
fn web_flow_from_login_url_to_token() {
    let request = authorization_url(
        &server().base_url(),
        CONSUMER_KEY,
        &["EXPRPT", "LIST"],
        "https://partner.example/callback?tenant=7",
        None,
    )
    .unwrap();
    let query = request.url.split_once('?').unwrap().1;
    let callback = approve(query);
    assert!(
        callback.starts_with("https://partner.example/callback?tenant=7&code="),
        "{callback}"
    );
    let code = parse_callback(&callback, Some(&request.state)).expect("a code");
    let token = client()
        .exchange_code(CONSUMER_KEY, CLIENT_SECRET, &code)
        .expect("exchanged");
    assert!(token.refresh_token().is_some());
    // A request token is good for one exchange.
    let e = client()
        .exchange_code(CONSUMER_KEY, CLIENT_SECRET, &code)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
}

#[test]
fn web_flow_refusals() {
    let request = authorization_url(
        &server().base_url(),
        CONSUMER_KEY,
        &[],
        "https://p.example/cb",
        None,
    )
    .unwrap();
    let query = request.url.split_once('?').unwrap().1;
    let denied = approve(&format!("{query}&deny=1"));
    let e = parse_callback(&denied, Some(&request.state)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert_eq!(e.concur_message(), Some("The user denied access."));

    let callback = approve(query);
    let forged = callback.replace(&request.state, "attacker-state");
    let e = parse_callback(&forged, Some(&request.state)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);

    let code = parse_callback(&callback, Some(&request.state)).unwrap();
    let e = client()
        .exchange_code(CONSUMER_KEY, "bad", &code)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    let e = scenario_client("status-500")
        .exchange_code(CONSUMER_KEY, CLIENT_SECRET, &code)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HttpStatus);
    let e = client()
        .exchange_code(CONSUMER_KEY, CLIENT_SECRET, "")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn app_center_listener_code() {
    // App Center calls the partner's listener with ?code= and no state.
    let callback = approve(&format!(
        "client_id={CONSUMER_KEY}&redirect_uri=https%3A%2F%2Fpartner.example%2Flisten"
    ));
    let code = parse_callback(&callback, None).unwrap();
    client()
        .exchange_code(CONSUMER_KEY, CLIENT_SECRET, &code)
        .expect("exchanged");
}

#[test]
fn revoke_one_token_then_its_refresh_fails() {
    let admin = login(0);
    let victim = login(2);
    client()
        .refresh_token(CONSUMER_KEY, CLIENT_SECRET, victim.refresh_token().unwrap())
        .expect("refreshable before");
    client()
        .revoke_token(admin.token(), victim.token())
        .expect("revoked");
    let e = client()
        .refresh_token(CONSUMER_KEY, CLIENT_SECRET, victim.refresh_token().unwrap())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    // This test's revocation: other tests revoke on the same server at the same time.
    let authorization = format!("OAuth {}", admin.token());
    let request = server()
        .requests()
        .into_iter()
        .find(|r| {
            r.target.contains("revoketoken.ashx?token=")
                && r.header("authorization") == Some(authorization.as_str())
        })
        .expect("the revocation, sent with the administrator's token");
    assert_eq!(request.method, "POST");
    // No body, said plainly: not an empty chunked body.
    assert_eq!(request.header("content-length"), Some("0"));
    assert_eq!(request.header("transfer-encoding"), None);
}

#[test]
fn revoke_all_of_a_users_tokens() {
    let admin = login(0);
    let a = login(1);
    let b = login(1);
    client()
        .revoke_user_tokens(admin.token(), CONSUMER_KEY, ACCOUNTS[1].login_id)
        .expect("revoked");
    for t in [a, b] {
        let e = client()
            .refresh_token(CONSUMER_KEY, CLIENT_SECRET, t.refresh_token().unwrap())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthorized);
    }
}

#[test]
fn a_client_keeps_working_after_a_revocation() {
    // A revocation is a POST on the same kept-alive connection as the calls around it.
    let client = client();
    let admin = client
        .native_token(CONSUMER_KEY, ACCOUNTS[0].login_id, ACCOUNTS[0].password)
        .unwrap();
    for _ in 0..5 {
        client
            .revoke_user_tokens(admin.token(), CONSUMER_KEY, ACCOUNTS[1].login_id)
            .expect("revoked");
        client
            .native_token(CONSUMER_KEY, ACCOUNTS[0].login_id, ACCOUNTS[0].password)
            .expect("the next call on the same connection");
    }
}

#[test]
fn revoke_errors() {
    let admin = login(0);
    // Not ACCOUNTS[1]: two tests revoke all of that user's tokens, at the same time as this one
    // (this test then saw 401, an unknown token, instead of 403: 1 run in 12 under load).
    let not_admin = login(2);
    let e = client()
        .revoke_token(not_admin.token(), admin.token())
        .unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Unauthorized, Some(403)));
    let e = client().revoke_token("0_bogus", admin.token()).unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::Unauthorized, Some(401)));
    let e = client()
        .revoke_token(admin.token(), "0_unknown")
        .unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::HttpStatus, Some(404)));
    let e = scenario_client("slow-headers-3000")
        .revoke_token(admin.token(), admin.token())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    for (caller, token) in [
        ("", "x"),
        ("a b", "x"),
        (admin.token(), ""),
        (admin.token(), "a\r\nb"),
    ] {
        let e = client().revoke_token(caller, token).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
    let e = client()
        .revoke_user_tokens(admin.token(), CONSUMER_KEY, "")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // The admin's own token still works: none of the refused calls revoked anything.
    client()
        .revoke_token(admin.token(), login(2).token())
        .expect("still an admin");
}

#[test]
fn secrets_never_appear_in_errors() {
    let first = login(0);
    let refresh = first.refresh_token().unwrap();
    let mut texts = Vec::new();
    for name in ["status-500", "html", "close", "huge"] {
        let c = scenario_client(name);
        let results = [
            c.refresh_token(CONSUMER_KEY, CLIENT_SECRET, refresh)
                .map(|_| ()),
            c.exchange_code(CONSUMER_KEY, CLIENT_SECRET, "C_secret_code")
                .map(|_| ()),
            // A 200 to a revocation is a success whatever its body ("html"): skip those.
            c.revoke_token(first.token(), first.token()),
        ];
        for e in results.into_iter().filter_map(Result::err) {
            texts.push(e.to_string());
            texts.push(format!("{e:?}"));
        }
    }
    assert!(texts.len() >= 22, "most calls must fail: {}", texts.len());
    for text in &texts {
        for secret in [
            CLIENT_SECRET,
            "demo-secret",
            refresh,
            first.token(),
            "C_secret_code",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

/// The requests the server got carrying this correlation id.
fn sent_with(correlation: &str) -> usize {
    server()
        .requests()
        .iter()
        .filter(|r| r.header("concur-correlationid") == Some(correlation))
        .count()
}

#[test]
fn legacy_calls_share_the_retry_policy() {
    // The Native Flow may be sent again: a 503 is retried twice (250 ms, then 500 ms apart).
    let correlation = format!("legacy-retry-{}", std::process::id());
    let o = options(server().scenario_url("status-503")).correlation_id(&correlation);
    let e = Client::new(&o)
        .unwrap()
        .native_token(CONSUMER_KEY, ACCOUNTS[0].login_id, ACCOUNTS[0].password)
        .unwrap_err();
    assert_eq!((e.kind(), e.status()), (ErrorKind::HttpStatus, Some(503)));
    assert_eq!(sent_with(&correlation), 3, "one call and two retries");
    assert_eq!(e.correlation_id(), Some(correlation.as_str()));

    // A refresh never is: the first may have reached the server.
    let correlation = format!("legacy-refresh-{}", std::process::id());
    let o = options(server().scenario_url("status-503")).correlation_id(&correlation);
    let e = Client::new(&o)
        .unwrap()
        .refresh_token(CONSUMER_KEY, CLIENT_SECRET, "some-refresh-token")
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(sent_with(&correlation), 1);
}
