//! `token_loop MODE COUNT`: COUNT sequential calls in one process against the server named by
//! CONCUR_BASE_URL / CONCUR_CA_FILE / CONCUR_CONSUMER_KEY / CONCUR_LOGIN_ID / CONCUR_PASSWORD,
//! printing the elapsed time as JSON: {"mode":…, "count":…, "seconds":…}. Modes:
//! - `client`: one reusable Client (connections kept alive);
//! - `oneshot`: `native_token()` each time (a fresh connection and handshake per call);
//! - `floor`: a bare keep-alive HTTPS GET of the same URL with the same headers built once,
//!   the body read and not parsed: the cost of the transport alone, the floor for `client`.
//! - `threads8`: `client`, shared by 8 threads, COUNT calls in all;
//! - `parse`: `parse_token_document` on a typical answer, no network.
//! - `oauth2`: password grants (`POST /oauth2/v0/token`) through one Client, with
//!   CONCUR_OAUTH2_CLIENT_ID / CONCUR_OAUTH2_CLIENT_SECRET;
//! - `oauth2_floor`: the same form POST over a bare keep-alive ureq agent, body built once and
//!   read, not parsed: the floor for `oauth2`;
//! - `cached1` / `cached8`: `TokenManager::access_token()` on a valid cached token, from 1 and
//!   from 8 threads (COUNT calls per thread);
//! - `refresh_file` / `refresh_redis`: a refresh through a file store / a Redis store
//!   (CONCUR_REDIS_URL) per call: the cost a holder pays when the token is due.

use std::time::{Duration, Instant};

use std::sync::Arc;

use concur_native::manager::{FileStore, RedisStore, RefreshPolicy, Start, TokenManager};
use concur_native::oauth2::Grant;
use concur_native::{Client, Options, native_token};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("set {name}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("client");
    let count: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(500);
    let var = |name: &str| {
        if mode == "parse" {
            String::new()
        } else {
            env(name)
        }
    };
    let (base, ca) = (var("CONCUR_BASE_URL"), var("CONCUR_CA_FILE"));
    let (key, login, password) = (
        var("CONCUR_CONSUMER_KEY"),
        var("CONCUR_LOGIN_ID"),
        var("CONCUR_PASSWORD"),
    );
    let mut options = Options::new().timeout(Duration::from_secs(30));
    if mode != "parse" {
        options = options.base_url(base.as_str()).ca_file(ca.as_str());
    }
    let oauth2 = || {
        (
            env("CONCUR_OAUTH2_CLIENT_ID"),
            env("CONCUR_OAUTH2_CLIENT_SECRET"),
        )
    };
    let manager = |margin: Duration| {
        let (id, secret) = oauth2();
        let client = Arc::new(Client::new(&options).unwrap());
        TokenManager::new(
            client,
            &id,
            &secret,
            Start::Password {
                username: login.clone(),
                password: password.clone(),
            },
        )
        .unwrap()
        .with_margin(margin)
    };
    let started;
    match mode {
        "oauth2" => {
            let (id, secret) = oauth2();
            let client = Client::new(&options).unwrap();
            let grant = Grant::Password {
                username: &login,
                password: &password,
                scope: None,
            };
            client.oauth2_token(&id, &secret, &grant, None).unwrap();
            started = Instant::now();
            for _ in 0..count {
                client.oauth2_token(&id, &secret, &grant, None).unwrap();
            }
        }
        "oauth2_floor" => {
            let (id, secret) = oauth2();
            let agent = floor_agent(&ca);
            let url = format!("{base}/oauth2/v0/token");
            let body = format!(
                "client_id={}&client_secret={}&grant_type=password&username={}&password={}&credtype=password",
                form(&id),
                form(&secret),
                form(&login),
                form(&password)
            );
            let post = || {
                let mut response = agent
                    .post(&url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .send(body.as_bytes())
                    .unwrap();
                response.body_mut().read_to_vec().unwrap();
            };
            post();
            started = Instant::now();
            for _ in 0..count {
                post();
            }
        }
        "cached1" | "cached8" => {
            let m = manager(Duration::from_secs(60));
            m.access_token().unwrap();
            let threads = if mode == "cached8" { 8 } else { 1 };
            started = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        for _ in 0..count {
                            std::hint::black_box(m.access_token().unwrap());
                        }
                    });
                }
            });
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "{{\"mode\":\"{mode}\",\"count\":{},\"seconds\":{seconds}}}",
                count * threads
            );
            return;
        }
        "refresh_file" | "refresh_redis" => {
            // A floor past the token's lifetime: every call waits for a refresh, saves and
            // rotates (a window alone would refresh ahead while the calls took the cache).
            let policy = RefreshPolicy::new(Duration::from_secs(7300), Duration::from_secs(7200));
            let m = manager(Duration::from_secs(60)).with_policy(policy.unwrap());
            let m = if mode == "refresh_file" {
                let path =
                    std::env::temp_dir().join(format!("token-loop-{}.json", std::process::id()));
                m.with_store(FileStore::new(path))
            } else {
                let key = format!("token-loop:{}", std::process::id());
                m.with_store(RedisStore::new(&env("CONCUR_REDIS_URL"), &key).unwrap())
            };
            m.access_token().unwrap();
            started = Instant::now();
            for _ in 0..count {
                m.access_token().unwrap();
            }
        }
        "client" => {
            let client = Client::new(&options).unwrap();
            // The first call opens the connection; the loop measures the kept-alive ones.
            client.native_token(&key, &login, &password).unwrap();
            started = Instant::now();
            for _ in 0..count {
                client.native_token(&key, &login, &password).unwrap();
            }
        }
        "threads8" => {
            let client = Client::new(&options).unwrap();
            started = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..8 {
                    s.spawn(|| {
                        for _ in 0..count / 8 {
                            client.native_token(&key, &login, &password).unwrap();
                        }
                    });
                }
            });
        }
        "oneshot" => {
            started = Instant::now();
            for _ in 0..count {
                native_token(&key, &login, &password, &options).unwrap();
            }
        }
        "floor" => {
            let agent = floor_agent(&ca);
            let url = format!("{base}/net2/oauth2/accesstoken.ashx");
            let basic = format!("Basic {}", basic(&format!("{login}:{password}")));
            let get = || {
                let mut response = agent
                    .get(&url)
                    .header("Authorization", &basic)
                    .header("X-ConsumerKey", &key)
                    .call()
                    .unwrap();
                response.body_mut().read_to_vec().unwrap();
            };
            get(); // opens the connection, as `client` does before its clock starts
            started = Instant::now();
            for _ in 0..count {
                get();
            }
        }
        "parse" => {
            let document = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Access_Token>\r\n  \
                <Instance_Url>https://www-us.api.concursolutions.com/</Instance_Url>\r\n  \
                <Token>0_7c94af6db3d7e2f1000042</Token>\r\n  \
                <Expiration_date>11/23/2027 8:06:08 PM</Expiration_date>\r\n  \
                <Refresh_Token>R_27c7f908403e0113000042</Refresh_Token>\r\n</Access_Token>";
            started = Instant::now();
            for _ in 0..count {
                std::hint::black_box(
                    concur_native::parse_token_document(std::hint::black_box(document), None)
                        .unwrap(),
                );
            }
        }
        other => panic!("unknown mode {other}"),
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("{{\"mode\":\"{mode}\",\"count\":{count},\"seconds\":{seconds}}}");
}

/// A bare keep-alive agent trusting the test server's CA.
fn floor_agent(ca: &str) -> ureq::Agent {
    let pem = std::fs::read(ca).unwrap();
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i.unwrap() {
            ureq::tls::PemItem::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// Form-encoding of one value, without a dependency.
fn form(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Base64 without a dependency: the floor must not pay for anything `client` does not.
fn basic(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
