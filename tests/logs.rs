//! With a Rust host's logger at TRACE, no secret reaches a log record: the `trace-guard`
//! feature (on by default) compiles ureq's wire dumps out, and ureq redacts what it logs at
//! DEBUG. (Audit finding #2: before the guard, 94 TRACE records held every secret in clear.)

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use concur_native::{Client, Options, native_token};
use concur_test_server::{ACCOUNTS, CLIENT_SECRET, CONSUMER_KEY, shared as server};

struct Capture(Mutex<Vec<(log::Level, String, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        self.0.lock().unwrap().push((
            record.level(),
            record.target().to_string(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn a_trace_logger_sees_no_secret() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let account = &ACCOUNTS[0];
    let options = Options::new()
        .base_url(server().base_url())
        .ca_file(server().ca_file())
        .timeout(Duration::from_secs(10));
    let token = native_token(CONSUMER_KEY, account.login_id, account.password, &options).unwrap();
    let refresh = token.refresh_token().unwrap().to_string();
    let instance = token.instance_url().unwrap().to_string();
    let refreshed = Client::new(&options.clone().base_url(instance))
        .unwrap()
        .refresh_token(CONSUMER_KEY, CLIENT_SECRET, &refresh)
        .unwrap();

    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", account.login_id, account.password));
    let secrets = [
        account.password.to_string(),
        basic,
        CLIENT_SECRET.to_string(),
        token.token().to_string(),
        refresh,
        refreshed.token().to_string(),
    ];
    let records = CAPTURE.0.lock().unwrap();
    assert!(
        records
            .iter()
            .any(|(l, t, _)| *l == log::Level::Debug && t.starts_with("ureq")),
        "the logger works: ureq's DEBUG records arrive ({} records)",
        records.len()
    );
    assert!(
        records.iter().all(|(l, _, _)| *l != log::Level::Trace),
        "TRACE records are compiled out"
    );
    for (level, target, text) in records.iter() {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a {level} record of {target} holds a secret"
            );
        }
    }
}
