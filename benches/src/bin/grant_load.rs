//! `grant_load THREADS SECONDS`: token grants per second from a concur-emulator on loopback.
//! THREADS clients, each with its own keep-alive connection (a ureq agent), POST
//! `grant_type=client_credentials` to `/oauth2/v0/token` in a loop for SECONDS (after one
//! warm-up grant each, which opens the connection), every answer read and checked to be a 200
//! with an access token. Server from CONCUR_BASE_URL / CONCUR_CA_FILE, app from
//! CONCUR_OAUTH2_CLIENT_ID / CONCUR_OAUTH2_CLIENT_SECRET. Prints
//! `{"threads":…,"grants":…,"seconds":…,"per_second":…}`.

use std::sync::Arc;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("set {name}"))
}

/// A keep-alive agent trusting only the emulator's CA.
fn agent(ca: &str) -> ureq::Agent {
    let pem = std::fs::read(ca).expect("the CA file is readable");
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item.expect("the CA file is PEM") {
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

/// Form-encoding of one value.
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4);
    let seconds: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let url = format!("{}/oauth2/v0/token", env("CONCUR_BASE_URL"));
    let ca = env("CONCUR_CA_FILE");
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        form(&env("CONCUR_OAUTH2_CLIENT_ID")),
        form(&env("CONCUR_OAUTH2_CLIENT_SECRET"))
    );
    let grants = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Every client has its connection open before the clock starts.
    let ready = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (url, ca, body) = (url.clone(), ca.clone(), body.clone());
            let (grants, stop, ready) = (grants.clone(), stop.clone(), ready.clone());
            std::thread::spawn(move || {
                let agent = agent(&ca);
                let grant = || {
                    let mut answer = agent
                        .post(&url)
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .send(body.as_bytes())
                        .expect("the emulator answers");
                    let status = answer.status().as_u16();
                    let text = answer.body_mut().read_to_string().expect("a body");
                    assert!(
                        status == 200 && text.contains("\"access_token\""),
                        "grant failed: {status}"
                    );
                };
                grant();
                ready.wait();
                let mut mine = 0;
                while !stop.load(Ordering::Relaxed) {
                    grant();
                    mine += 1;
                }
                grants.fetch_add(mine, Ordering::Relaxed);
            })
        })
        .collect();
    ready.wait();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("a client thread");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = grants.load(Ordering::Relaxed);
    println!(
        "{{\"threads\":{threads},\"grants\":{total},\"seconds\":{elapsed},\"per_second\":{}}}",
        total as f64 / elapsed
    );
}
