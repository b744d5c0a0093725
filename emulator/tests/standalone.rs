//! The standalone server: its JSON line carries every value the Python and Node tests read, and
//! its help lists every scenario.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use concur_emulator::json::Json;
use concur_emulator::{
    COMPANY_ID, EU_PASSWORD, EU_USERNAME, LOCKED_USERNAME, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET,
    OTP_CODE, REQUEST_TOKEN, SCENARIOS,
};

const PROGRAM: &str = env!("CARGO_BIN_EXE_concur-test-server");

#[test]
fn the_json_line_names_every_base_and_demo_value() {
    let mut child = Command::new(PROGRAM)
        .arg("--exit-on-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    drop(child.stdin.take());
    assert!(
        child.wait().unwrap().success(),
        "it exits when stdin closes"
    );
    let info = Json::parse(line.trim()).expect("one JSON object");
    for key in [
        "base_url",
        "plain_base_url",
        "localhost_url",
        "ca_file",
        "consumer_key",
        "client_secret",
        "login_id",
        "password",
    ] {
        assert!(info.str_of(key).is_some(), "{key}");
    }
    assert!(info.i64_of("port").is_some());
    assert!(matches!(info.get("accounts"), Some(Json::Array(a)) if a.len() == 3));
    let base = |key: &str, scheme: &str| {
        let url = info.str_of(key).unwrap_or_else(|| panic!("{key}"));
        assert!(
            url.starts_with(&format!("{scheme}://127.0.0.1:")),
            "{key}: {url}"
        );
        url.to_string()
    };
    let bases = [
        base("base_url", "https"),
        base("second_base_url", "https"),
        base("plain_base_url", "http"),
        base("evil_base_url", "http"),
    ];
    for (i, a) in bases.iter().enumerate() {
        assert!(!bases[i + 1..].contains(a), "distinct listeners");
    }
    for (key, value) in [
        ("oauth2_client_id", OAUTH2_CLIENT_ID),
        ("oauth2_client_secret", OAUTH2_CLIENT_SECRET),
        ("company_id", COMPANY_ID),
        ("request_token", REQUEST_TOKEN),
        ("otp", OTP_CODE),
        ("eu_username", EU_USERNAME),
        ("eu_password", EU_PASSWORD),
        ("locked_username", LOCKED_USERNAME),
    ] {
        assert_eq!(info.str_of(key), Some(value), "{key}");
    }
}

#[test]
fn help_lists_every_scenario() {
    let output = Command::new(PROGRAM).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for (name, _) in SCENARIOS {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(name)),
            "{name}"
        );
    }
    assert!(help.contains("retry-STATUS-K-AFTER-TAG"));
}
