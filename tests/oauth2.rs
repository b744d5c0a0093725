//! Concur's current Authentication API (oauth2/v0) end to end against the loopback test
//! server: every grant, each documented error code's class and fields, code 16 followed once
//! and only to a trusted data centre, rotation, both `expires_in` types, retries, correlation
//! ids both ways, bad arguments sending nothing, and no secret in any error or Debug text.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use concur_native::oauth2::{Grant, OtpRequest, oauth2_authorize_url, parse_oauth2_callback};
use concur_native::{Client, Error, ErrorKind, OAuth2Token, Options};
use concur_test_server::{
    ACCOUNTS, COMPANY_ID, CONSUMER_KEY, EU_PASSWORD, EU_USERNAME, LOCKED_USERNAME, Listener,
    OAUTH2_CLIENT_ID as ID, OAUTH2_CLIENT_SECRET as SECRET, OTP_CODE, REQUEST_TOKEN,
    RecordedRequest, oauth2_subject, shared as server,
};

const TEN_SECONDS: Duration = Duration::from_secs(10);

/// A correlation id of the test's own, so that its requests can be told apart in the log of
/// the server every test shares.
fn tag(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn options(base: String, correlation: &str) -> Options {
    Options::new()
        .base_url(base)
        .ca_file(server().ca_file())
        .timeout(TEN_SECONDS)
        .correlation_id(correlation)
}

fn client_at(base: String, correlation: &str) -> Client {
    Client::new(&options(base, correlation)).expect("client")
}

fn client(correlation: &str) -> Client {
    client_at(server().base_url(), correlation)
}

/// Every request the server got with this correlation id.
fn sent(correlation: &str) -> Vec<RecordedRequest> {
    server()
        .requests()
        .into_iter()
        .filter(|r| r.header("concur-correlationid") == Some(correlation))
        .collect()
}

fn password<'a>(username: &'a str, password: &'a str) -> Grant<'a> {
    Grant::Password {
        username,
        password,
        scope: None,
    }
}

fn user_token(correlation: &str) -> OAuth2Token {
    client(correlation)
        .oauth2_token(
            ID,
            SECRET,
            &password(ACCOUNTS[0].login_id, ACCOUNTS[0].password),
            None,
        )
        .expect("a password grant")
}

fn expect_error(result: Result<impl std::fmt::Debug, Error>, kind: ErrorKind) -> Error {
    let e = result.expect_err("an error");
    assert_eq!(e.kind(), kind, "{e}");
    e
}

#[test]
fn password_grant_returns_every_field() {
    let c = tag("password");
    let before = concur_native_now();
    let t = user_token(&c);
    assert!(!t.access_token().is_empty());
    assert_eq!(t.token_type(), "Bearer");
    let expires = t.expires_at().expect("expires_at");
    assert!(
        (before + 3600..=concur_native_now() + 3600).contains(&expires),
        "{expires}"
    );
    assert!(t.refresh_token().is_some());
    assert!(t.refresh_expires_at().unwrap() > before + 170 * 86_400);
    assert!(t.scope().is_some());
    assert_eq!(t.geolocation(), Some(server().base_url().as_str()));
    assert!(t.id_token().is_some());
    assert_eq!(
        t.subject(),
        Some(oauth2_subject(ACCOUNTS[0].login_id).as_str())
    );
    assert_eq!(t.principal_type(), Some("user"));
    assert_eq!(t.correlation_id(), Some(c.as_str()));

    // On the wire: one form POST, secrets only in the body, no charset.
    let requests = sent(&c);
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.endpoint()),
        ("POST", "/oauth2/v0/token")
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(r.form_value("client_secret"), Some(SECRET));
    assert_eq!(r.form_value("password"), Some(ACCOUNTS[0].password));
    assert_eq!(r.form_value("credtype"), Some("password"));
    assert!(
        !r.target.contains('?'),
        "nothing in the query: {}",
        r.target
    );
}

fn concur_native_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn company_grant() {
    let t = client(&tag("company"))
        .oauth2_token(
            ID,
            SECRET,
            &Grant::Company {
                company_id: COMPANY_ID,
                request_token: REQUEST_TOKEN,
            },
            None,
        )
        .unwrap();
    assert_eq!(t.principal_type(), Some("company"));
    assert_eq!(t.subject(), Some(COMPANY_ID));
    assert!(t.refresh_token().is_some());
}

#[test]
fn refresh_rotates_and_the_old_token_stops_working() {
    let c = tag("rotation");
    let first = user_token(&c);
    let geolocation = first.geolocation().unwrap().to_string();
    let old = first.refresh_token().unwrap().to_string();
    let refresh = |token: &str| {
        client(&c).oauth2_token(
            ID,
            SECRET,
            &Grant::RefreshToken {
                refresh_token: token,
                scope: None,
            },
            Some(&geolocation),
        )
    };
    let second = refresh(&old).expect("refreshed");
    let new = second.refresh_token().unwrap().to_string();
    assert_ne!(new, old, "rotated");
    assert_ne!(second.access_token(), first.access_token());
    assert_eq!(second.geolocation(), Some(geolocation.as_str()));

    let e = expect_error(refresh(&old), ErrorKind::Unauthorized);
    assert_eq!(e.concur_code(), Some(108));
    assert_eq!(e.oauth_error(), Some("invalid_grant"));
    // The new one works once.
    assert!(refresh(&new).is_ok());
}

#[test]
fn client_credentials_have_no_refresh_token() {
    let t = client(&tag("cc"))
        .oauth2_token(ID, SECRET, &Grant::ClientCredentials, None)
        .unwrap();
    assert!(t.refresh_token().is_none());
    assert!(t.id_token().is_none());
    assert!(t.expires_at().is_some());
}

#[test]
fn authorization_code_flow() {
    let redirect = "https://partner.example/cb";
    let request = oauth2_authorize_url(
        ID,
        redirect,
        &["openid", "user.read"],
        None,
        Some(&server().plain_base_url()),
    )
    .unwrap();
    let query = request.url.split_once('?').unwrap().1;
    let callback_url = server().approve_oauth2(query).expect("authorize redirects");
    let callback = parse_oauth2_callback(&callback_url, Some(&request.state)).unwrap();
    let c = tag("code");
    let exchange = |code: &str, redirect_uri: &str| {
        client(&c).oauth2_token(
            ID,
            SECRET,
            &Grant::AuthorizationCode { code, redirect_uri },
            None,
        )
    };
    let t = exchange(&callback.code, redirect).expect("exchanged");
    assert_eq!(t.principal_type(), Some("user"));
    // Single use: 103, unauthorized.
    let e = expect_error(exchange(&callback.code, redirect), ErrorKind::Unauthorized);
    assert_eq!(e.concur_code(), Some(103));

    // redirect_uri mismatch: 104.
    let callback = parse_oauth2_callback(
        &server().approve_oauth2(query).unwrap(),
        Some(&request.state),
    )
    .unwrap();
    let e = expect_error(
        exchange(&callback.code, "https://other.example/cb"),
        ErrorKind::Unauthorized,
    );
    assert_eq!(e.concur_code(), Some(104));
}

#[test]
fn otp_send_then_grant() {
    let email = format!("{}@otp.example", tag("otp"));
    let c = client(&tag("otp"));
    c.send_otp(
        ID,
        SECRET,
        &OtpRequest {
            email: &email,
            name: Some("Pat"),
            ..OtpRequest::default()
        },
        None,
    )
    .expect("otp sent");
    let t = c
        .oauth2_token(
            ID,
            SECRET,
            &Grant::Otp {
                email: &email,
                otp: OTP_CODE,
                scope: None,
            },
            None,
        )
        .expect("otp grant");
    assert!(t.refresh_token().is_some());
}

#[test]
fn revoking_connections_stops_the_refresh_token() {
    // A user of this test's own: revocation applies to the user server-wide.
    let email = format!("{}@revoke.example", tag("revoke"));
    let c = client(&tag("revoke"));
    c.send_otp(
        ID,
        SECRET,
        &OtpRequest {
            email: &email,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let t = c
        .oauth2_token(
            ID,
            SECRET,
            &Grant::Otp {
                email: &email,
                otp: OTP_CODE,
                scope: None,
            },
            None,
        )
        .unwrap();
    c.revoke_connections(t.access_token(), t.geolocation())
        .expect("revoked");
    let e = expect_error(
        c.oauth2_token(
            ID,
            SECRET,
            &Grant::RefreshToken {
                refresh_token: t.refresh_token().unwrap(),
                scope: None,
            },
            t.geolocation(),
        ),
        ErrorKind::Unauthorized,
    );
    assert_eq!(e.concur_code(), Some(108));
    let e = expect_error(
        c.revoke_connections("not-a-token", None),
        ErrorKind::Unauthorized,
    );
    assert_eq!(e.status(), Some(401));
}

#[test]
fn a_legacy_refresh_token_migrates() {
    let legacy = concur_native::native_token(
        CONSUMER_KEY,
        ACCOUNTS[0].login_id,
        ACCOUNTS[0].password,
        &Options::new()
            .base_url(server().base_url())
            .ca_file(server().ca_file()),
    )
    .unwrap();
    let c = client(&tag("migrate"));
    let app = c
        .oauth2_token(ID, SECRET, &Grant::ClientCredentials, None)
        .unwrap();
    let exchanged = c
        .exchange_legacy_refresh_token(
            app.access_token(),
            CONSUMER_KEY,
            legacy.refresh_token().unwrap(),
            SECRET,
            false,
            None,
        )
        .expect("migrated");
    assert!(exchanged.created_ms.is_some() && exchanged.expires_ms.is_some());
    assert!(!format!("{exchanged:?}").contains(&exchanged.refresh_token));
    // The new refresh token works with the refresh grant.
    let t = c
        .oauth2_token(
            ID,
            SECRET,
            &Grant::RefreshToken {
                refresh_token: &exchanged.refresh_token,
                scope: None,
            },
            None,
        )
        .expect("refresh with the migrated token");
    assert_eq!(t.principal_type(), Some("user"));

    let company = c
        .exchange_legacy_refresh_token(
            app.access_token(),
            CONSUMER_KEY,
            legacy.refresh_token().unwrap(),
            SECRET,
            true,
            None,
        )
        .expect("company token");
    assert!(
        company
            .context
            .as_deref()
            .unwrap_or_default()
            .contains("company")
    );

    let e = expect_error(
        c.exchange_legacy_refresh_token(
            app.access_token(),
            CONSUMER_KEY,
            "bogus",
            SECRET,
            false,
            None,
        ),
        ErrorKind::Unauthorized,
    );
    assert_eq!(e.oauth_error(), Some("INVALIDTOKEN"));
}

#[test]
fn documented_error_codes_map_to_classes_and_fields() {
    for (code, kind) in [
        (5, ErrorKind::Unauthorized),
        (14, ErrorKind::Unauthorized),
        (52, ErrorKind::HttpStatus),
        (64, ErrorKind::Unauthorized),
        (103, ErrorKind::Unauthorized),
        (104, ErrorKind::Unauthorized),
        (108, ErrorKind::Unauthorized),
        (120, ErrorKind::HttpStatus),
        (136, ErrorKind::Unauthorized),
    ] {
        let c = tag("codes");
        let e = expect_error(
            client_at(server().scenario_url(&format!("error-{code}")), &c).oauth2_token(
                ID,
                SECRET,
                &password("u", "p"),
                None,
            ),
            kind,
        );
        assert_eq!(e.concur_code(), Some(code), "{e}");
        assert!(e.oauth_error().is_some(), "{e}");
        assert!(e.concur_message().is_some(), "{e}");
        assert!(e.status().is_some());
        assert_eq!(e.correlation_id(), Some(c.as_str()));
    }
}

#[test]
fn real_refusals_carry_their_codes() {
    let c = client(&tag("refusals"));
    let e = expect_error(
        c.oauth2_token(ID, SECRET, &password(ACCOUNTS[0].login_id, "wrong"), None),
        ErrorKind::Unauthorized,
    );
    assert_eq!(e.concur_code(), Some(5));
    let e = expect_error(
        c.oauth2_token(ID, SECRET, &password(LOCKED_USERNAME, "x"), None),
        ErrorKind::Unauthorized,
    );
    assert_eq!(e.concur_code(), Some(14));
    let e = expect_error(
        c.oauth2_token(ID, "wrong-secret", &Grant::ClientCredentials, None),
        ErrorKind::Unauthorized,
    );
    assert_eq!((e.concur_code(), e.status()), (Some(64), Some(401)));
}

#[test]
fn code_16_is_followed_once_to_the_users_data_centre() {
    let c = tag("geo16");
    let t = client(&c)
        .oauth2_token(ID, SECRET, &password(EU_USERNAME, EU_PASSWORD), None)
        .expect("followed to data centre 2");
    assert_eq!(t.geolocation(), Some(server().second_base_url().as_str()));
    let requests = sent(&c);
    let at = |l: Listener| requests.iter().filter(|r| r.listener == l).count();
    assert_eq!(
        (at(Listener::DataCentre1), at(Listener::DataCentre2)),
        (1, 1)
    );
}

#[test]
fn a_second_code_16_is_not_followed() {
    // Data centre 1 says "ask 127.0.0.1:{its own port}", where the EU user gets 16 again.
    let c = tag("geo16-twice");
    let base = server().scenario_url(&format!("geo16-https-{}", server().port()));
    let e = expect_error(
        client_at(base, &c).oauth2_token(ID, SECRET, &password(EU_USERNAME, EU_PASSWORD), None),
        ErrorKind::HttpStatus,
    );
    assert_eq!(e.concur_code(), Some(16));
    assert!(e.to_string().contains("again"), "{e}");
    let requests = sent(&c);
    assert_eq!(requests.len(), 2, "the first ask and one follow");
    assert!(requests.iter().all(|r| r.listener == Listener::DataCentre1));
}

fn evil_port() -> u16 {
    server()
        .evil_base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn evil_requests() -> usize {
    server()
        .requests()
        .iter()
        .filter(|r| r.listener == Listener::Evil)
        .count()
}

#[test]
fn an_untrusted_geolocation_receives_nothing() {
    let before = evil_requests();
    for scenario in [
        format!("geo16-http-{}", evil_port()),
        format!("geo-token-http-{}", evil_port()),
        "geo16-name-concursolutions.com.attacker.example".to_string(),
        "geo-token-name-attacker.example".to_string(),
    ] {
        let e = expect_error(
            client_at(server().scenario_url(&scenario), &tag("evil")).oauth2_token(
                ID,
                SECRET,
                &password(ACCOUNTS[0].login_id, ACCOUNTS[0].password),
                None,
            ),
            ErrorKind::Protocol,
        );
        let text = e.to_string();
        assert!(text.contains("nothing was sent"), "{text}");
        assert!(
            text.contains("127.0.0.1") || text.contains("attacker.example"),
            "names the host: {text}"
        );
    }
    assert_eq!(evil_requests(), before, "the evil listener got nothing");
}

#[test]
fn expires_in_as_number_and_as_string() {
    let now = concur_native_now();
    for base in [server().base_url(), server().scenario_url("expires-number")] {
        let t = client_at(base, &tag("expires"))
            .oauth2_token(ID, SECRET, &Grant::ClientCredentials, None)
            .unwrap();
        let at = t.expires_at().unwrap();
        assert!((now + 3599..now + 3700).contains(&at), "{at}");
    }
}

#[test]
fn retries_are_honoured_within_the_deadline() {
    for (status, after) in [(503, "0"), (429, "1"), (502, "none"), (504, "date")] {
        let c = tag("retry");
        let base = server().scenario_url(&format!("retry-{status}-1-{after}-{c}"));
        let t = client_at(base, &c).oauth2_token(ID, SECRET, &Grant::ClientCredentials, None);
        assert!(t.is_ok(), "{status} {after}: {t:?}");
        assert_eq!(sent(&c).len(), 2, "{status}: one retry");
    }
}

#[test]
fn retries_are_refused_when_they_cannot_help() {
    // Budget spent: three refusals, two retries.
    let c = tag("retry-budget");
    let base = server().scenario_url(&format!("retry-503-3-0-{c}"));
    let e = expect_error(
        client_at(base, &c).oauth2_token(ID, SECRET, &Grant::ClientCredentials, None),
        ErrorKind::HttpStatus,
    );
    assert_eq!(e.status(), Some(503));
    assert_eq!(sent(&c).len(), 3);

    // Retries off.
    let c = tag("retry-off");
    let base = server().scenario_url(&format!("retry-503-1-0-{c}"));
    let o = options(base, &c).retries(0);
    expect_error(
        Client::new(&o)
            .unwrap()
            .oauth2_token(ID, SECRET, &Grant::ClientCredentials, None),
        ErrorKind::HttpStatus,
    );
    assert_eq!(sent(&c).len(), 1);

    // A Retry-After longer than the deadline: answered at once, not slept through.
    let c = tag("retry-late");
    let base = server().scenario_url(&format!("retry-503-1-30-{c}"));
    let started = Instant::now();
    expect_error(
        client_at(base, &c).oauth2_token(ID, SECRET, &Grant::ClientCredentials, None),
        ErrorKind::HttpStatus,
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(sent(&c).len(), 1);

    // A refresh is never sent twice: the first may have rotated the token.
    let c = tag("retry-refresh");
    let token = user_token(&c);
    let base = server().scenario_url(&format!("retry-503-1-0-{c}"));
    expect_error(
        client_at(base, &c).oauth2_token(
            ID,
            SECRET,
            &Grant::RefreshToken {
                refresh_token: token.refresh_token().unwrap(),
                scope: None,
            },
            None,
        ),
        ErrorKind::HttpStatus,
    );
    assert_eq!(
        sent(&c)
            .iter()
            .filter(|r| r.grant_type() == Some("refresh_token"))
            .count(),
        1
    );
}

#[test]
fn correlation_ids_both_ways() {
    // Sent: a fresh UUID per call unless set; received: the server's, on tokens and errors.
    let o = Options::new()
        .base_url(server().base_url())
        .ca_file(server().ca_file());
    let c = Client::new(&o).unwrap();
    let a = c
        .oauth2_token(ID, SECRET, &Grant::ClientCredentials, None)
        .unwrap();
    let b = c
        .oauth2_token(ID, SECRET, &Grant::ClientCredentials, None)
        .unwrap();
    let (a, b) = (a.correlation_id().unwrap(), b.correlation_id().unwrap());
    assert_ne!(a, b);
    assert_eq!(a.len(), 36, "a UUID: {a}");
    assert_eq!(
        sent(a).len(),
        1,
        "the id the server answered is the one sent"
    );
    let e = c
        .oauth2_token(ID, SECRET, &password(ACCOUNTS[0].login_id, "wrong"), None)
        .unwrap_err();
    assert_eq!(e.correlation_id().map(str::len), Some(36));
    assert!(e.to_string().contains("correlation id"), "{e}");
}

#[test]
fn bad_arguments_send_nothing() {
    let c = tag("bad-args");
    let client = client(&c);
    let calls: Vec<Box<dyn Fn() -> Result<(), Error>>> = vec![
        Box::new(|| {
            client
                .oauth2_token("", SECRET, &Grant::ClientCredentials, None)
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token("a b", SECRET, &Grant::ClientCredentials, None)
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(ID, "", &Grant::ClientCredentials, None)
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(ID, "s\0", &Grant::ClientCredentials, None)
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(ID, SECRET, &password("", "p"), None)
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(ID, SECRET, &password("u\n", "p"), None)
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(ID, SECRET, &password("u", ""), None)
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(
                    ID,
                    SECRET,
                    &Grant::RefreshToken {
                        refresh_token: "a b",
                        scope: None,
                    },
                    None,
                )
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(
                    ID,
                    SECRET,
                    &Grant::Password {
                        username: "u",
                        password: "p",
                        scope: Some("a\tb"),
                    },
                    None,
                )
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(
                    ID,
                    SECRET,
                    &Grant::Company {
                        company_id: "",
                        request_token: "t",
                    },
                    None,
                )
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(
                    ID,
                    SECRET,
                    &Grant::AuthorizationCode {
                        code: "c",
                        redirect_uri: "",
                    },
                    None,
                )
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(
                    ID,
                    SECRET,
                    &Grant::Otp {
                        email: "e@x",
                        otp: "",
                        scope: None,
                    },
                    None,
                )
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(
                    ID,
                    SECRET,
                    &Grant::ClientCredentials,
                    Some("http://x.example"),
                )
                .map(drop)
        }),
        Box::new(|| {
            client
                .oauth2_token(ID, SECRET, &Grant::ClientCredentials, Some("https://u:p@x"))
                .map(drop)
        }),
        Box::new(|| client.send_otp(ID, SECRET, &OtpRequest::default(), None)),
        Box::new(|| client.revoke_connections("", None)),
        Box::new(|| client.revoke_connections("a\r\nb", None)),
        Box::new(|| {
            client
                .exchange_legacy_refresh_token("t", "k", "", SECRET, false, None)
                .map(drop)
        }),
    ];
    for (i, call) in calls.iter().enumerate() {
        let e = call().expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "call {i}: {e}");
    }
    assert!(sent(&c).is_empty(), "nothing was sent");
}

#[test]
fn secrets_appear_in_no_error_or_debug_text() {
    let c = tag("secrets");
    let client = client(&c);
    let token = user_token(&c);
    let secrets = [
        SECRET.to_string(),
        ACCOUNTS[0].password.to_string(),
        REQUEST_TOKEN.to_string(),
        OTP_CODE.to_string(),
        token.access_token().to_string(),
        token.refresh_token().unwrap().to_string(),
        token.id_token().unwrap().to_string(),
    ];
    let mut texts = vec![format!("{token:?}"), format!("{client:?}")];
    let mut push = |e: Error| {
        texts.push(e.to_string());
        texts.push(format!("{e:?}"));
    };
    let wrong = |s: &str| format!("{s}-wrong");
    push(
        client
            .oauth2_token(ID, &wrong(SECRET), &Grant::ClientCredentials, None)
            .unwrap_err(),
    );
    push(
        client
            .oauth2_token(
                ID,
                SECRET,
                &password(ACCOUNTS[0].login_id, &wrong(ACCOUNTS[0].password)),
                None,
            )
            .unwrap_err(),
    );
    push(
        client
            .oauth2_token(
                ID,
                SECRET,
                &Grant::Company {
                    company_id: COMPANY_ID,
                    request_token: &wrong(REQUEST_TOKEN),
                },
                None,
            )
            .unwrap_err(),
    );
    push(
        client
            .oauth2_token(
                ID,
                SECRET,
                &Grant::Otp {
                    email: "nobody@x.example",
                    otp: OTP_CODE,
                    scope: None,
                },
                None,
            )
            .unwrap_err(),
    );
    push(
        client
            .oauth2_token(
                ID,
                SECRET,
                &Grant::RefreshToken {
                    refresh_token: &wrong(token.refresh_token().unwrap()),
                    scope: None,
                },
                None,
            )
            .unwrap_err(),
    );
    push(
        client
            .revoke_connections(&wrong(token.access_token()), None)
            .unwrap_err(),
    );
    push(
        client
            .oauth2_token(ID, SECRET, &password("u", "p\0"), None)
            .unwrap_err(),
    );
    push(
        client_at(server().scenario_url("json-500"), &c)
            .oauth2_token(ID, SECRET, &Grant::ClientCredentials, None)
            .unwrap_err(),
    );
    for text in &texts {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a secret in {text}");
        }
    }
}

#[test]
fn the_one_time_password_send_follows_code_16_too() {
    let c = tag("otp16");
    let client = client(&c);
    client
        .send_otp(
            ID,
            SECRET,
            &OtpRequest {
                email: EU_USERNAME,
                ..Default::default()
            },
            None,
        )
        .expect("followed to data centre 2");
    let requests = sent(&c);
    let at = |l: Listener| requests.iter().filter(|r| r.listener == l).count();
    assert_eq!(
        (at(Listener::DataCentre1), at(Listener::DataCentre2)),
        (1, 1)
    );
    let t = client
        .oauth2_token(
            ID,
            SECRET,
            &Grant::Otp {
                email: EU_USERNAME,
                otp: OTP_CODE,
                scope: None,
            },
            None,
        )
        .expect("the grant follows as well");
    assert_eq!(t.geolocation(), Some(server().second_base_url().as_str()));
}
