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

#[test]
fn help_into_a_closed_pipe_is_no_panic() {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two descriptors this test then owns.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors are fresh and owned by nothing else.
    let (reader, writer) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    // Every write the program makes meets a pipe nobody reads (`--help | head -1`, closed).
    drop(reader);
    let output = Command::new(EMULATOR)
        .arg("--help")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty());
}

const EMULATOR: &str = env!("CARGO_BIN_EXE_concur-emulator");

/// Starts the program with `args`, reads its JSON line, and leaves it running until the
/// returned child's stdin is dropped.
fn start_program(args: &[&str]) -> (std::process::Child, Json) {
    let mut child = Command::new(EMULATOR)
        .args(args)
        .arg("--exit-on-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the emulator starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info = Json::parse(line.trim()).unwrap_or_else(|| panic!("one JSON object: {line:?}"));
    (child, info)
}

fn stop(mut child: std::process::Child) {
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

/// Runs the program expecting it to refuse to start: exit status 2 and a message on stderr.
fn refused(args: &[&str]) -> String {
    let output = Command::new(EMULATOR)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    assert!(output.stdout.is_empty(), "no JSON line: {args:?}");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn the_emulator_line_names_the_control_api_and_what_it_knows() {
    let dir = std::env::temp_dir().join(format!("concur-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_out = dir.join("ca.pem");
    let seed = dir.join("seed.json");
    std::fs::write(
        &seed,
        r#"{"users":[{"login":"seeded@example.com","password":"pw","data_centre":2}],
            "companies":[{"name":"Seeded"}]}"#,
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (child, info) = start_program(&[
        "--ca-out",
        ca_out.to_str().unwrap(),
        "--seed",
        seed.to_str().unwrap(),
        "--access-lifetime",
        "60",
        "--rotate",
        "sometimes",
    ]);
    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "started in {elapsed:?}"
    );
    let base = info.str_of("base_url").unwrap();
    assert_eq!(
        info.str_of("admin_url"),
        Some(format!("{base}/_emulator").as_str())
    );
    assert_eq!(info.str_of("ca_file"), ca_out.to_str());
    assert!(
        std::fs::read_to_string(&ca_out)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let centres = info.get("data_centres").unwrap();
    assert_eq!(centres.str_of("1"), Some(base));
    assert_eq!(centres.str_of("2"), info.str_of("second_base_url"));
    assert_eq!(info.str_of("rotation"), Some("sometimes"));
    assert_eq!(
        info.get("lifetimes").and_then(|l| l.i64_of("access")),
        Some(60)
    );
    let Some(Json::Array(users)) = info.get("users") else {
        panic!("users")
    };
    assert!(
        users
            .iter()
            .any(|u| u.str_of("login") == Some("seeded@example.com")
                && u.i64_of("data_centre") == Some(2))
    );
    let Some(Json::Array(companies)) = info.get("companies") else {
        panic!("companies")
    };
    assert!(
        companies
            .iter()
            .any(|c| c.str_of("name") == Some("Seeded") && c.str_of("request_token").is_some())
    );
    let Some(Json::Array(apps)) = info.get("apps") else {
        panic!("apps")
    };
    assert_eq!(apps[0].str_of("client_id"), Some(OAUTH2_CLIENT_ID));
    stop(child);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fixed_port_is_used_and_a_busy_one_is_a_clear_error() {
    let (child, info) = start_program(&[]);
    let port = info.i64_of("port").unwrap();
    let message = refused(&["--port", &port.to_string()]);
    assert!(message.contains("in use"), "{message}");
    stop(child);
    // The port is free again (the first emulator stopped): a fixed port works.
    let (child, again) = start_program(&["--port", &port.to_string()]);
    assert_eq!(again.i64_of("port"), Some(port));
    stop(child);
}

#[test]
fn bad_flags_and_seed_files_are_start_up_errors() {
    let dir = std::env::temp_dir().join(format!("concur-emulator-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_seed = dir.join("bad.json");
    std::fs::write(&bad_seed, r#"{"users":[{"login":"x"}]}"#).unwrap();
    let broken_seed = dir.join("broken.json");
    std::fs::write(&broken_seed, "{").unwrap();
    let bad_cert = dir.join("cert.pem");
    std::fs::write(&bad_cert, "not a certificate").unwrap();
    for (args, says) in [
        (vec!["--bogus"], "unknown argument"),
        (vec!["--port"], "--port needs"),
        (vec!["--port", "99999"], "not a port"),
        (vec!["--rotate", "maybe"], "always, never or sometimes"),
        (vec!["--access-lifetime", "0"], "seconds"),
        (vec!["--refresh-lifetime", "soon"], "seconds"),
        (
            vec!["--seed", bad_seed.to_str().unwrap()],
            "users[0]: password is required",
        ),
        (
            vec!["--seed", broken_seed.to_str().unwrap()],
            "not a JSON object",
        ),
        (vec!["--seed", "/nonexistent/seed.json"], "cannot read"),
        (vec!["--cert", bad_cert.to_str().unwrap()], "go together"),
        (
            vec![
                "--cert",
                bad_cert.to_str().unwrap(),
                "--key",
                bad_cert.to_str().unwrap(),
            ],
            "certificate",
        ),
    ] {
        let message = refused(&args);
        assert!(message.contains(says), "{args:?}: {message}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_documents_every_flag_and_control_endpoint() {
    let output = Command::new(EMULATOR).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--port",
        "--ca-out",
        "--cert",
        "--key",
        "--plain-http",
        "--seed",
        "--access-lifetime",
        "--refresh-lifetime",
        "--rotate",
        "--exit-on-stdin-eof",
        "--no-recording",
        "--help",
    ] {
        assert!(help.contains(flag), "{flag}");
    }
    for endpoint in [
        "/_emulator/health",
        "/_emulator/reset",
        "/_emulator/apps",
        "/_emulator/companies",
        "/request-tokens",
        "/_emulator/users",
        "/_emulator/consumer-keys",
        "/_emulator/revoke",
        "/_emulator/expire",
        "/_emulator/lifetimes",
        "/_emulator/rotation",
        "/_emulator/faults",
        "/_emulator/clock",
        "/_emulator/clock/advance",
        "/_emulator/journal",
        "/_emulator/refresh-tokens",
        "/oauth2/v0/token",
        "/profile/identity/v4.1/Users",
    ] {
        assert!(help.contains(endpoint), "{endpoint}");
    }
}
