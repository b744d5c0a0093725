//! `concur-token` against the loopback test server: each subcommand, exit codes per error
//! class, secrets only from the environment, never in output or errors.

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use concur_test_server::{ACCOUNTS, CLIENT_SECRET, CONSUMER_KEY, shared as server};

/// The tool with no controlling terminal (so a missing secret cannot be prompted for) and a
/// clean environment of CONCUR_* variables.
fn tool(base_url: &str) -> Command {
    tool_with_timeout(base_url, "10")
}

fn tool_with_timeout(base_url: &str, timeout: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_concur-token"));
    for (name, _) in std::env::vars() {
        if name.starts_with("CONCUR_") {
            cmd.env_remove(name);
        }
    }
    cmd.arg("--base-url")
        .arg(base_url)
        .arg("--ca-file")
        .arg(server().ca_file())
        .arg("--timeout")
        .arg(timeout);
    // SAFETY: setsid is async-signal-safe; it detaches the child from our terminal.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd
}

fn native(password: Option<&str>, extra: &[&str]) -> Output {
    let mut cmd = tool(&server().base_url());
    cmd.args([
        "native",
        "--consumer-key",
        CONSUMER_KEY,
        "--login",
        ACCOUNTS[0].login_id,
    ]);
    cmd.args(extra);
    if let Some(p) = password {
        cmd.env("CONCUR_PASSWORD", p);
    }
    cmd.output().expect("concur-token runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn native_prints_the_token_alone() {
    let out = native(Some(ACCOUNTS[0].password), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    let issued: Vec<String> = server()
        .requests()
        .into_iter()
        .filter_map(|r| r.issued.map(|i| i.token))
        .collect();
    assert!(issued.contains(&token), "{token}");
}

#[test]
fn native_json_has_the_whole_document() {
    let out = native(Some(ACCOUNTS[0].password), &["--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(doc["token"].as_str().unwrap().starts_with("0_"));
    assert!(doc["refresh_token"].as_str().unwrap().starts_with("R_"));
    assert!(doc["expires_at"].as_i64().unwrap() > 0);
    assert_eq!(
        doc["instance_url"].as_str().unwrap(),
        format!("{}/", server().base_url())
    );
}

#[test]
fn an_account_without_password() {
    let mut cmd = tool(&server().base_url());
    cmd.args([
        "native",
        "--consumer-key",
        CONSUMER_KEY,
        "--login",
        ACCOUNTS[1].login_id,
    ]);
    let out = cmd.arg("--no-password").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn exit_codes_name_the_error_class() {
    let out = native(Some("wrong-password-kk"), &[]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unauthorized (HTTP 401)"), "{stderr}");
    assert!(!stderr.contains("wrong-password-kk"));

    assert_eq!(
        native_exit_code(tool(&server().scenario_url("status-503"))),
        Some(4)
    );
    assert_eq!(
        native_exit_code(tool_with_timeout(
            &server().scenario_url("slow-headers-3000"),
            "0.3"
        )),
        Some(5)
    );
    assert_eq!(native_exit_code(tool("https://127.0.0.1:1")), Some(6));
    // No --ca-file: the test server's certificate is not trusted.
    let mut untrusted = Command::new(env!("CARGO_BIN_EXE_concur-token"));
    untrusted
        .args(["--base-url", &server().base_url()])
        .env_remove("CONCUR_CA_FILE");
    assert_eq!(native_exit_code(untrusted), Some(7));
    assert_eq!(
        native_exit_code(tool(&server().scenario_url("html"))),
        Some(8)
    );
    assert_eq!(native_exit_code(tool("http://example.com")), Some(2));
}

/// The exit code of `native` for a throwaway login, the tool's options already on `cmd`.
fn native_exit_code(mut cmd: Command) -> Option<i32> {
    cmd.args(["native", "--consumer-key", CONSUMER_KEY, "--login", "u"])
        .env("CONCUR_PASSWORD", "p")
        .output()
        .expect("concur-token runs")
        .status
        .code()
}

#[test]
fn no_password_without_a_terminal_is_an_invalid_argument() {
    let out = native(None, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("set CONCUR_PASSWORD"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs the tool in a pseudo-terminal (util-linux `script`), answers the password prompt once
/// it shows, and returns everything the terminal displayed.
fn on_a_terminal(password: &str) -> (String, Option<i32>) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let command = format!(
        "{} --base-url {} --ca-file {} native --consumer-key {CONSUMER_KEY} --login {}",
        env!("CARGO_BIN_EXE_concur-token"),
        server().base_url(),
        server().ca_file().display(),
        ACCOUNTS[0].login_id
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("CONCUR_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdout = child.stdout.take().unwrap();
    let (sender, screen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 256];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 || sender.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut shown = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // Type only once the prompt is up: typed ahead, the terminal would still echo.
    while !String::from_utf8_lossy(&shown).contains("password for") {
        assert!(std::time::Instant::now() < deadline, "no prompt: {shown:?}");
        if let Ok(bytes) = screen.recv_timeout(std::time::Duration::from_millis(100)) {
            shown.extend(bytes);
        }
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
    let status = child.wait().unwrap();
    while let Ok(bytes) = screen.recv_timeout(std::time::Duration::from_millis(500)) {
        shown.extend(bytes);
    }
    drop(stdin);
    (String::from_utf8_lossy(&shown).into_owned(), status.code())
}

#[test]
fn the_password_prompt_does_not_echo() {
    let (screen, code) = on_a_terminal(ACCOUNTS[0].password);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Concur password for"), "{screen}");
    assert!(screen.contains("0_"), "the token is printed: {screen}");
    assert!(
        !screen.contains(ACCOUNTS[0].password),
        "the password was echoed: {screen}"
    );
}

#[test]
fn secrets_cannot_be_passed_on_the_command_line() {
    let out = native(Some("x"), &["--password", "hunter2"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses unknown flags");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unexpected argument '--password'"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn refresh_and_revoke() {
    let out = native(Some(ACCOUNTS[0].password), &["--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (token, refresh) = (
        doc["token"].as_str().unwrap(),
        doc["refresh_token"].as_str().unwrap(),
    );

    let mut cmd = tool(doc["instance_url"].as_str().unwrap());
    let out = cmd
        .args(["--json", "refresh", "--client-id", CONSUMER_KEY])
        .env("CONCUR_CLIENT_SECRET", CLIENT_SECRET)
        .env("CONCUR_REFRESH_TOKEN", refresh)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let refreshed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(refreshed["refresh_token"].as_str(), Some(refresh));
    assert_ne!(refreshed["token"].as_str(), Some(token));

    // Revoking a token revokes its whole refresh family, the first token too: the
    // administrator signs in again for the revocations.
    let admin = native(Some(ACCOUNTS[0].password), &[]);
    let admin = text(&admin.stdout).trim().to_string();
    let out = tool(&server().base_url())
        .args(["revoke"])
        .env("CONCUR_ACCESS_TOKEN", &admin)
        .env(
            "CONCUR_TOKEN_TO_REVOKE",
            refreshed["token"].as_str().unwrap(),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = tool(&server().base_url())
        .args(["refresh", "--client-id", CONSUMER_KEY])
        .env("CONCUR_CLIENT_SECRET", CLIENT_SECRET)
        .env("CONCUR_REFRESH_TOKEN", refresh)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "the revoked token's refresh token is dead"
    );

    let out = tool(&server().base_url())
        .args([
            "revoke",
            "--consumer-key",
            CONSUMER_KEY,
            "--user",
            ACCOUNTS[2].login_id,
        ])
        .env("CONCUR_ACCESS_TOKEN", &admin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = tool(&server().base_url())
        .args(["refresh", "--client-id", CONSUMER_KEY])
        .env("CONCUR_CLIENT_SECRET", "wrong-secret-mm")
        .env("CONCUR_REFRESH_TOKEN", refresh)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("wrong-secret-mm") && !stderr.contains(refresh),
        "{stderr}"
    );
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_concur-token"))
        .arg("--help")
        .output()
        .unwrap();
    let help = text(&out.stdout);
    assert!(
        help.contains("Examples:") && help.contains("Exit codes:"),
        "{help}"
    );
    assert!(help.contains("native") && help.contains("refresh") && help.contains("revoke"));
}

#[test]
fn a_panic_exits_1_with_one_line() {
    let out = tool(&server().base_url())
        .arg("__panic-for-tests")
        .output()
        .expect("concur-token runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("internal error"), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("tests ask for"),
        "{stderr}"
    );
    let help = tool(&server().base_url()).arg("--help").output().unwrap();
    assert!(!text(&help.stdout).contains("panic"), "hidden from --help");
}

/// A one-shot proxy on loopback that refuses the tunnel, and returns the request line it got.
fn refusing_proxy() -> (String, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://proxyuser:Proxy-Secret-77@{}",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        (&stream)
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        first
    });
    (url, handle)
}

#[test]
fn the_proxy_comes_from_concur_proxy() {
    let (proxy, seen) = refusing_proxy();
    let mut cmd = tool(&server().base_url());
    cmd.env("CONCUR_PROXY", &proxy).args([
        "native",
        "--consumer-key",
        CONSUMER_KEY,
        "--login",
        ACCOUNTS[0].login_id,
    ]);
    let out = cmd
        .env("CONCUR_PASSWORD", ACCOUNTS[0].password)
        .output()
        .unwrap();
    let first = seen.join().unwrap();
    assert!(first.starts_with("CONNECT 127.0.0.1:"), "{first:?}");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("Proxy-Secret-77"));

    // --help shows that the variable exists, never its value.
    let help = tool(&server().base_url())
        .env("CONCUR_PROXY", &proxy)
        .arg("--help")
        .output()
        .unwrap();
    assert!(text(&help.stdout).contains("CONCUR_PROXY"));
    assert!(!text(&help.stdout).contains("Proxy-Secret-77"));
}
