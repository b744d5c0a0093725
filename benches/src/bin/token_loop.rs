//! `token_loop MODE COUNT`: COUNT sequential calls in one process against the server named by
//! CONCUR_BASE_URL / CONCUR_CA_FILE / CONCUR_CONSUMER_KEY / CONCUR_LOGIN_ID / CONCUR_PASSWORD,
//! printing the elapsed time as JSON: {"mode":…, "count":…, "seconds":…}. Modes:
//! - `client`: one reusable Client (connections kept alive);
//! - `oneshot`: `native_token()` each time (a fresh connection and handshake per call);
//! - `floor`: a bare keep-alive HTTPS GET of the same URL with the same headers built once,
//!   the body read and not parsed: the cost of the transport alone, the floor for `client`.
//! - `threads8`: `client`, shared by 8 threads, COUNT calls in all;
//! - `parse`: `parse_token_document` on a typical answer, no network.

use std::time::{Duration, Instant};

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
    let started;
    match mode {
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
            let pem = std::fs::read(&ca).unwrap();
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|i| match i.unwrap() {
                    ureq::tls::PemItem::Certificate(c) => Some(c),
                    _ => None,
                })
                .collect();
            let tls = ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .build();
            let agent = ureq::Agent::config_builder()
                .tls_config(tls)
                .build()
                .new_agent();
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
