//! `concur-token` against the loopback test server: each subcommand (the Native Flow's and the
//! current API's `oauth2 …`, `oauth2 access-token` through a store included), exit codes per
//! error class, secrets only from standard input (`--…-stdin`), the environment or a prompt,
//! never in output or errors; shell completions.

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use concur_test_server::{
    ACCOUNTS, CLIENT_SECRET, COMPANY_ID, CONSUMER_KEY, EU_PASSWORD, EU_USERNAME, OAUTH2_CLIENT_ID,
    OAUTH2_CLIENT_SECRET, OTP_CODE, REQUEST_TOKEN, shared as server,
};

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

/// Runs the tool in a pseudo-terminal (util-linux `script`) with `args` after the connection
/// options and `env` besides, answers the prompt containing `prompt` once the terminal's echo
/// is off, and returns everything the terminal displayed.
fn on_a_terminal(
    args: &str,
    env: &[(&str, &str)],
    prompt: &str,
    password: &str,
) -> (String, Option<i32>) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let command = format!(
        "{} --base-url {} --ca-file {} {args}",
        env!("CARGO_BIN_EXE_concur-token"),
        server().base_url(),
        server().ca_file().display(),
    );
    let mut script = Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .env_remove("CONCUR_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    for (name, value) in env {
        script.env(name, value);
    }
    let mut child = script.spawn().expect("script (util-linux) runs");
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
    while !String::from_utf8_lossy(&shown).contains(prompt) {
        assert!(std::time::Instant::now() < deadline, "no prompt: {shown:?}");
        if let Ok(bytes) = screen.recv_timeout(std::time::Duration::from_millis(100)) {
            shown.extend(bytes);
        }
    }
    // rpassword writes the prompt before it turns echo off: typed on seeing the prompt alone,
    // the password could still be echoed by the terminal, so wait for the terminal's state.
    wait_for_echo_off(child.id(), deadline);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
    let status = child.wait().unwrap();
    while let Ok(bytes) = screen.recv_timeout(std::time::Duration::from_millis(500)) {
        shown.extend(bytes);
    }
    drop(stdin);
    (String::from_utf8_lossy(&shown).into_owned(), status.code())
}

/// Waits until the terminal of the tool running under `script` (process `root`) has echo off.
fn wait_for_echo_off(root: u32, deadline: std::time::Instant) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    loop {
        let terminal = tool_terminal(root).and_then(|tty| {
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOCTTY)
                .open(tty)
                .ok()
        });
        if let Some(terminal) = terminal {
            let mut state = std::mem::MaybeUninit::<libc::termios>::uninit();
            // SAFETY: tcgetattr fills `state` for an open descriptor, and says when it did.
            if unsafe { libc::tcgetattr(terminal.as_raw_fd(), state.as_mut_ptr()) } == 0 {
                // SAFETY: initialised by the successful tcgetattr above.
                let state = unsafe { state.assume_init() };
                if state.c_lflag & libc::ECHO == 0 {
                    return;
                }
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the echo never went off"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// The pseudo-terminal of the `concur-token` process descending from `root`, once it runs.
fn tool_terminal(root: u32) -> Option<std::path::PathBuf> {
    let tool = std::path::Path::new(env!("CARGO_BIN_EXE_concur-token"));
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .as_deref()
            != Some(tool)
            || !descends_from(pid, root)
        {
            continue;
        }
        let tty = std::fs::read_link(format!("/proc/{pid}/fd/0")).ok()?;
        if tty.starts_with("/dev/pts/") {
            return Some(tty);
        }
    }
    None
}

fn descends_from(mut pid: u32, root: u32) -> bool {
    for _ in 0..8 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        match parent {
            Some(parent) if parent == root => return true,
            Some(parent) if parent > 1 => pid = parent,
            _ => return false,
        }
    }
    false
}

#[test]
fn the_password_prompt_does_not_echo() {
    let args = format!(
        "native --consumer-key {CONSUMER_KEY} --login {}",
        ACCOUNTS[0].login_id
    );
    let (screen, code) = on_a_terminal(&args, &[], "password for", ACCOUNTS[0].password);
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

// --- the current API: `concur-token oauth2 …` ----------------------------------------------

/// `concur-token --base-url {base} oauth2 {args}` with the application's secret in the
/// environment, and `env` besides.
fn oauth2(base: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tool(base);
    cmd.arg("oauth2")
        .args(args)
        .env("CONCUR_CLIENT_SECRET", OAUTH2_CLIENT_SECRET);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().expect("concur-token runs")
}

fn json_of(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn password_grant(base: &str, username: &str, password: &str, json: bool) -> Output {
    let mut args = vec![
        "password",
        "--client-id",
        OAUTH2_CLIENT_ID,
        "--username",
        username,
    ];
    if json {
        args.push("--json");
    }
    oauth2(base, &args, &[("CONCUR_PASSWORD", password)])
}

fn refresh(base: &str, refresh_token: &str) -> Output {
    oauth2(
        base,
        &["refresh", "--client-id", OAUTH2_CLIENT_ID, "--json"],
        &[("CONCUR_REFRESH_TOKEN", refresh_token)],
    )
}

/// A user of the test's own (revocation is per user, server-wide): an OTP grant for a fresh
/// address, through the tool, `otp --send` then `otp`.
fn otp_user(tag: &str) -> (String, serde_json::Value) {
    let email = format!("cli-{tag}-{}@example.com", std::process::id());
    let base = server().base_url();
    let sent = oauth2(
        &base,
        &[
            "otp",
            "--client-id",
            OAUTH2_CLIENT_ID,
            "--email",
            &email,
            "--send",
            "--json",
        ],
        &[],
    );
    assert_eq!(json_of(&sent)["sent"], true);
    let out = oauth2(
        &base,
        &[
            "otp",
            "--client-id",
            OAUTH2_CLIENT_ID,
            "--email",
            &email,
            "--json",
        ],
        &[("CONCUR_OTP", OTP_CODE)],
    );
    (email, json_of(&out))
}

#[test]
fn oauth2_password_prints_the_access_token_alone() {
    let out = password_grant(
        &server().base_url(),
        ACCOUNTS[0].login_id,
        ACCOUNTS[0].password,
        false,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let token = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    // Other tests send password grants to the same server at the same time: look for this
    // one's fields among them rather than taking the latest (which raced: 1 run in 24).
    let sent = server().token_requests("password");
    assert!(
        sent.iter()
            .any(|r| r.form_value("username") == Some(ACCOUNTS[0].login_id)
                && r.form_value("client_secret") == Some(OAUTH2_CLIENT_SECRET)
                && r.form_value("password") == Some(ACCOUNTS[0].password)),
        "the grant reached the server with the username, password and secret in its form"
    );
}

#[test]
fn oauth2_password_json_has_the_whole_token() {
    let base = server().base_url();
    let doc = json_of(&password_grant(
        &base,
        ACCOUNTS[0].login_id,
        ACCOUNTS[0].password,
        true,
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(doc["token_type"], "Bearer");
    assert!(doc["access_token"].as_str().unwrap().len() > 20);
    assert!(doc["refresh_token"].as_str().unwrap().starts_with("rt."));
    assert!(doc["id_token"].as_str().is_some());
    let expires_at = doc["expires_at"].as_i64().unwrap();
    assert!(
        (now + 3500..=now + 3700).contains(&expires_at),
        "{expires_at}"
    );
    assert!(doc["refresh_expires_at"].as_i64().unwrap() > now + 170 * 86_400);
    assert_eq!(doc["geolocation"].as_str(), Some(base.as_str()));
    assert_eq!(doc["principal_type"], "user");
    assert!(doc["subject"].as_str().is_some() && doc["correlation_id"].as_str().is_some());
    assert!(doc["scope"].as_str().unwrap().contains("openid"));
}

#[test]
fn oauth2_follows_code_16_to_the_users_data_centre() {
    let doc = json_of(&password_grant(
        &server().base_url(),
        EU_USERNAME,
        EU_PASSWORD,
        true,
    ));
    assert_eq!(
        doc["geolocation"].as_str(),
        Some(server().second_base_url().as_str())
    );
}

/// How many requests the server got under this scenario name (each test uses its own, so
/// that tests running at the same time do not count each other's).
fn requests_under(scenario: &str) -> usize {
    server()
        .requests()
        .iter()
        .filter(|r| r.scenario == scenario)
        .count()
}

#[test]
fn oauth2_refuses_an_untrusted_data_centre() {
    let out = password_grant(
        &server().scenario_url("geo16-name-evil.example"),
        ACCOUNTS[0].login_id,
        ACCOUNTS[0].password,
        false,
    );
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("evil.example"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(requests_under("geo16-name-evil.example"), 1);
    // A token whose geolocation is untrusted is refused too; --trusted-host trusts the host
    // (checked, not visited: no request goes to a token's geolocation, and no name is looked up).
    let scenario = "geo-token-name-concur.partner.example";
    let grant = |extra: &[&str]| {
        tool(&server().scenario_url(scenario))
            .args(extra)
            .args([
                "oauth2",
                "password",
                "--json",
                "--client-id",
                OAUTH2_CLIENT_ID,
            ])
            .args(["--username", ACCOUNTS[0].login_id])
            .env("CONCUR_CLIENT_SECRET", OAUTH2_CLIENT_SECRET)
            .env("CONCUR_PASSWORD", ACCOUNTS[0].password)
            .output()
            .unwrap()
    };
    let out = grant(&[]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("concur.partner.example"));
    let out = grant(&["--trusted-host", "concur.partner.example"]);
    assert_eq!(
        json_of(&out)["geolocation"],
        "https://concur.partner.example"
    );
    assert_eq!(requests_under(scenario), 2);
}

#[test]
fn oauth2_refresh_rotates_and_the_old_token_exits_3() {
    let base = server().base_url();
    let first = json_of(&password_grant(
        &base,
        ACCOUNTS[2].login_id,
        ACCOUNTS[2].password,
        true,
    ));
    let old = first["refresh_token"].as_str().unwrap();
    let second = json_of(&refresh(first["geolocation"].as_str().unwrap(), old));
    let new = second["refresh_token"].as_str().unwrap();
    assert_ne!(new, old, "rotated");
    assert_eq!(second["subject"], first["subject"]);
    let out = refresh(&base, old);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("code 108") && stderr.contains("invalid_grant"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(old) && !stderr.contains(OAUTH2_CLIENT_SECRET),
        "{stderr}"
    );
    json_of(&refresh(&base, new));
}

#[test]
fn oauth2_company_and_client_credentials() {
    let base = server().base_url();
    let company = oauth2(
        &base,
        &[
            "company",
            "--client-id",
            OAUTH2_CLIENT_ID,
            "--company-id",
            COMPANY_ID,
            "--json",
        ],
        &[("CONCUR_REQUEST_TOKEN", REQUEST_TOKEN)],
    );
    assert_eq!(json_of(&company)["principal_type"], "company");
    let wrong = oauth2(
        &base,
        &[
            "company",
            "--client-id",
            OAUTH2_CLIENT_ID,
            "--company-id",
            COMPANY_ID,
        ],
        &[(
            "CONCUR_REQUEST_TOKEN",
            "00000000-dead-beef-0000-000000000000",
        )],
    );
    assert_eq!(wrong.status.code(), Some(3));
    assert!(!text(&wrong.stderr).contains("dead-beef"));

    let app = oauth2(
        &base,
        &[
            "client-credentials",
            "--client-id",
            OAUTH2_CLIENT_ID,
            "--json",
        ],
        &[],
    );
    let app = json_of(&app);
    assert!(app["access_token"].as_str().is_some());
    assert!(app["refresh_token"].is_null() && app["id_token"].is_null());
}

#[test]
fn oauth2_otp_then_revoke() {
    let (email, token) = otp_user("revoke");
    assert_eq!(token["principal_type"], "user");
    // The one-time password was used: a second grant is refused (code 83, HTTP 400).
    let again = oauth2(
        &server().base_url(),
        &["otp", "--client-id", OAUTH2_CLIENT_ID, "--email", &email],
        &[("CONCUR_OTP", OTP_CODE)],
    );
    assert_eq!(again.status.code(), Some(4), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("code 83"));

    let revoked = oauth2(
        token["geolocation"].as_str().unwrap(),
        &["revoke", "--json"],
        &[(
            "CONCUR_ACCESS_TOKEN",
            token["access_token"].as_str().unwrap(),
        )],
    );
    assert_eq!(json_of(&revoked)["revoked"], true);
    let refresh_token = token["refresh_token"].as_str().unwrap();
    let out = refresh(&server().base_url(), refresh_token);
    assert_eq!(out.status.code(), Some(3), "revoked: {}", text(&out.stderr));

    // An application's token cannot revoke: 401, exit 3.
    let app = json_of(&oauth2(
        &server().base_url(),
        &[
            "client-credentials",
            "--client-id",
            OAUTH2_CLIENT_ID,
            "--json",
        ],
        &[],
    ));
    let out = oauth2(
        &server().base_url(),
        &["revoke"],
        &[("CONCUR_ACCESS_TOKEN", app["access_token"].as_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[test]
fn oauth2_authorize_url_then_the_code() {
    let out = tool(&server().plain_base_url())
        .args(["oauth2", "authorize-url", "--client-id", OAUTH2_CLIENT_ID])
        .args([
            "--redirect-uri",
            "https://partner.example/cb",
            "--scope",
            "openid",
        ])
        .args(["--scope", "user.read", "--json"])
        .output()
        .unwrap();
    let doc = json_of(&out);
    let (url, state) = (doc["url"].as_str().unwrap(), doc["state"].as_str().unwrap());
    assert_eq!(state.len(), 32);
    assert!(url.contains("scope=openid%20user.read"), "{url}");
    let callback = server()
        .approve_oauth2(url.split_once('?').unwrap().1)
        .unwrap();
    assert!(callback.contains("code=") && callback.contains(&format!("state={state}")));

    // Without --json: the URL on stdout, the given state on stderr.
    let out = tool(&server().plain_base_url())
        .args(["oauth2", "authorize-url", "--client-id", OAUTH2_CLIENT_ID])
        .args([
            "--redirect-uri",
            "https://partner.example/cb",
            "--state",
            "st-1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(text(&out.stdout).trim().ends_with("&state=st-1"));
    assert_eq!(text(&out.stderr).trim(), "state: st-1");
}

#[test]
fn oauth2_exit_codes_name_the_error_class() {
    let grant = |base: &str, password: &str| {
        password_grant(base, ACCOUNTS[0].login_id, password, false)
            .status
            .code()
    };
    let out = password_grant(
        &server().base_url(),
        ACCOUNTS[0].login_id,
        "Wrong-Pw-91",
        false,
    );
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("code 5"), "{stderr}");
    assert!(!stderr.contains("Wrong-Pw-91") && !stderr.contains(OAUTH2_CLIENT_SECRET));
    let good = ACCOUNTS[0].password;
    assert_eq!(grant(&server().scenario_url("error-61"), good), Some(3));
    assert_eq!(grant(&server().scenario_url("status-503"), good), Some(4));
    assert_eq!(grant(&server().scenario_url("html"), good), Some(8));
    assert_eq!(grant("https://127.0.0.1:1", good), Some(6));
    assert_eq!(grant("http://example.com", good), Some(2));
    // A bad argument is refused before anything is sent.
    let out = oauth2(
        &server().scenario_url("cli-bad-client-id"),
        &[
            "password",
            "--client-id",
            "not a client id",
            "--username",
            "u@x",
        ],
        &[("CONCUR_PASSWORD", "p")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(requests_under("cli-bad-client-id"), 0);
}

#[test]
fn oauth2_secrets_come_only_from_the_environment_or_a_prompt() {
    let base = server().scenario_url("cli-no-secret");
    for flag in ["--client-secret", "--password", "--refresh-token", "--otp"] {
        let out = tool(&base)
            .args([
                "oauth2",
                "password",
                "--client-id",
                OAUTH2_CLIENT_ID,
                "--username",
                "u@x",
            ])
            .args([flag, "hunter2"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(
            !text(&out.stderr).contains("hunter2"),
            "{}",
            text(&out.stderr)
        );
    }
    // No terminal and no variable: exit 2, naming the variable, nothing sent.
    for (args, variable) in [
        (
            &["password", "--username", "u@x"][..],
            "CONCUR_CLIENT_SECRET",
        ),
        (&["client-credentials"][..], "CONCUR_CLIENT_SECRET"),
    ] {
        let out = tool(&base)
            .arg("oauth2")
            .args(args)
            .args(["--client-id", OAUTH2_CLIENT_ID])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains(&format!("set {variable}")),
            "{}",
            text(&out.stderr)
        );
    }
    for (args, env, variable) in [
        (
            &["password", "--username", "u@x"][..],
            "CONCUR_PASSWORD",
            "CONCUR_PASSWORD",
        ),
        (
            &["refresh"][..],
            "CONCUR_REFRESH_TOKEN",
            "CONCUR_REFRESH_TOKEN",
        ),
        (
            &["company", "--company-id", COMPANY_ID][..],
            "CONCUR_REQUEST_TOKEN",
            "CONCUR_REQUEST_TOKEN",
        ),
        (
            &["otp", "--email", "u@example.com"][..],
            "CONCUR_OTP",
            "CONCUR_OTP",
        ),
    ] {
        let out = oauth2(
            &base,
            &[args, &["--client-id", OAUTH2_CLIENT_ID]].concat(),
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{env}");
        assert!(
            text(&out.stderr).contains(&format!("set {variable}")),
            "{}",
            text(&out.stderr)
        );
    }
    let out = tool(&base).args(["oauth2", "revoke"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("set CONCUR_ACCESS_TOKEN"));
    assert_eq!(requests_under("cli-no-secret"), 0);
}

#[test]
fn oauth2_help_has_an_example_for_each() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_concur-token"))
            .args(args)
            .output()
            .unwrap();
        text(&out.stdout)
    };
    let top = help(&["--help"]);
    assert!(
        top.contains("oauth2") && top.contains("concur-token oauth2 password"),
        "{top}"
    );
    let all = help(&["oauth2", "--help"]);
    for sub in [
        "password",
        "company",
        "refresh",
        "client-credentials",
        "otp",
        "revoke",
        "authorize-url",
        "access-token",
    ] {
        assert!(
            all.contains(&format!("concur-token oauth2 {sub} ")),
            "{sub}: {all}"
        );
        let own = help(&["oauth2", sub, "--help"]);
        assert!(
            own.contains("Example") && own.contains(&format!("concur-token oauth2 {sub} ")),
            "{sub}: {own}"
        );
    }
}

#[test]
fn oauth2_the_password_prompt_does_not_echo() {
    let args = format!(
        "oauth2 password --client-id {OAUTH2_CLIENT_ID} --username {}",
        ACCOUNTS[0].login_id
    );
    let env = [("CONCUR_CLIENT_SECRET", OAUTH2_CLIENT_SECRET)];
    let (screen, code) = on_a_terminal(&args, &env, "password for", ACCOUNTS[0].password);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Concur password for"), "{screen}");
    assert!(
        screen.contains("eyJ"),
        "the access token is printed: {screen}"
    );
    assert!(
        !screen.contains(ACCOUNTS[0].password),
        "the password was echoed: {screen}"
    );
}

// --- `concur-token oauth2 access-token --store …` -------------------------------------------

/// `oauth2 access-token --client-id … --store {store}` and `args`, with the client secret and
/// `env` in the environment.
fn access_token(store: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec![
        "access-token",
        "--client-id",
        OAUTH2_CLIENT_ID,
        "--store",
        store.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    oauth2(&server().base_url(), &all, env)
}

/// Refresh requests the server got that carried one of these refresh tokens.
fn refreshes_with(tokens: &[&str]) -> usize {
    server()
        .token_requests("refresh_token")
        .iter()
        .filter(|r| {
            r.form_value("refresh_token")
                .is_some_and(|t| tokens.contains(&t))
        })
        .count()
}

fn store_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("concur-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stored(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn oauth2_access_token_refreshes_through_a_file_store() {
    use std::os::unix::fs::PermissionsExt;

    let path = store_dir("file").join("token.json");
    let first = json_of(&password_grant(
        &server().base_url(),
        ACCOUNTS[0].login_id,
        ACCOUNTS[0].password,
        true,
    ));
    let seeded = first["refresh_token"].as_str().unwrap().to_string();
    let geolocation = first["geolocation"].as_str().unwrap().to_string();

    // The first run starts from the refresh token: one refresh, saved (0600) before printing.
    let out = access_token(
        &path,
        &["--geolocation", &geolocation],
        &[("CONCUR_REFRESH_TOKEN", &seeded)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let a = text(&out.stdout).trim().to_string();
    let saved = stored(&path);
    assert_eq!(saved["access_token"], a.as_str());
    let rotated = saved["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rotated, seeded);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(refreshes_with(&[&seeded, &rotated]), 1);

    // The second costs no request, and needs no refresh token.
    let out = access_token(&path, &[], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), a);
    assert_eq!(refreshes_with(&[&seeded, &rotated]), 1, "no request");

    // Inside the margin: refreshed with the stored (rotated) refresh token, not the first one,
    // even when the environment still holds it.
    let out = access_token(
        &path,
        &["--margin", "3660", "--json"],
        &[("CONCUR_REFRESH_TOKEN", &seeded)],
    );
    let doc = json_of(&out);
    assert_ne!(doc["access_token"].as_str().unwrap(), a);
    assert_eq!(doc["geolocation"].as_str(), Some(geolocation.as_str()));
    assert_eq!(
        refreshes_with(&[&seeded]),
        1,
        "the first token was sent once"
    );
    assert_eq!(refreshes_with(&[&rotated]), 1);
    assert_eq!(stored(&path)["refresh_token"], doc["refresh_token"]);
    assert!(!text(&out.stderr).contains(OAUTH2_CLIENT_SECRET));
}

#[test]
fn oauth2_access_token_starts_from_a_grant() {
    let dir = store_dir("grants");
    // Client credentials: asked for once, then served from the store; asked again when due.
    let path = dir.join("app.json");
    let cc = |extra: &[&str]| {
        let mut args = vec!["--grant", "client-credentials"];
        args.extend_from_slice(extra);
        let out = access_token(&path, &args, &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    };
    let a = cc(&[]);
    // Each grant's access token carries a fresh random jti: the same token is no new grant.
    assert_eq!(cc(&[]), a);
    assert_ne!(cc(&["--margin", "3660"]), a);
    assert!(stored(&path).get("refresh_token").is_none());

    // A password start runs once; the next run (no password given) refreshes what it stored.
    let path = dir.join("user.json");
    let out = access_token(
        &path,
        &["--grant", "password", "--username", ACCOUNTS[0].login_id],
        &[("CONCUR_PASSWORD", ACCOUNTS[0].password)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let granted = stored(&path)["refresh_token"].as_str().unwrap().to_string();
    let out = access_token(
        &path,
        &[
            "--grant",
            "password",
            "--username",
            ACCOUNTS[0].login_id,
            "--margin",
            "3660",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(refreshes_with(&[&granted]), 1);
}

#[test]
fn oauth2_access_token_errors_exit_with_their_class() {
    let dir = store_dir("errors");
    // An empty store and no refresh token (and no terminal to ask on): 2, nothing written.
    let empty = dir.join("empty.json");
    let out = access_token(&empty, &[], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("CONCUR_REFRESH_TOKEN"));
    assert!(!empty.exists());
    // A dead refresh token: 3, code 108, and the token quoted nowhere.
    let out = access_token(
        &empty,
        &[],
        &[("CONCUR_REFRESH_TOKEN", "not-a-refresh-token")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("code 108"), "{stderr}");
    assert!(!stderr.contains("not-a-refresh-token"));
    // Garbage in the store: 9, and the file is left as it was.
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, b"{\"refresh_token\": 42").unwrap();
    let out = access_token(&garbage, &["--grant", "client-credentials"], &[]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&garbage).unwrap(), b"{\"refresh_token\": 42");
    // A store in a directory that does not exist: 9.
    let nowhere = dir.join("missing").join("token.json");
    let out = access_token(&nowhere, &["--grant", "client-credentials"], &[]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    // Bad arguments: 2.
    for args in [
        &["--redis-key", "k"][..],
        &["--margin", "-1"],
        &["--grant", "password"],
        &["--grant", "implicit"],
    ] {
        let out = access_token(&empty, args, &[("CONCUR_REFRESH_TOKEN", "x")]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(!empty.exists());
}

// --- sealed stores, the floor, status and events -------------------------------------------

/// What `concur-token store-key` printed, checked to be one line of padded standard base64
/// (44 characters) that decodes to 32 bytes.
fn store_key() -> String {
    let out = tool(&server().base_url())
        .arg("store-key")
        .output()
        .expect("concur-token runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let key = printed.strip_suffix('\n').expect("one line").to_string();
    assert_eq!(key.len(), 44, "{printed:?}");
    assert!(!key.contains('\n'));
    assert!(key.ends_with('=') && !key.ends_with("=="), "{key}");
    assert!(
        key[..43]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/'),
        "{key}"
    );
    // The library reads exactly 32 decoded bytes as a key, and nothing else.
    concur_native::manager::StoreKey::from_base64(&key).expect("32 bytes of base64");
    key
}

#[test]
fn store_key_prints_a_fresh_key_each_run() {
    let a = store_key();
    let b = store_key();
    assert_ne!(a, b);
    let help = tool(&server().base_url())
        .args(["store-key", "--help"])
        .output()
        .unwrap();
    let help = text(&help.stdout);
    assert!(help.contains("export CONCUR_STORE_KEY="), "{help}");
    assert!(help.contains("--store-key-file"), "{help}");
}

/// Asserts that none of `secrets` shows in what `out` printed, on either stream.
fn quotes_none(out: &Output, secrets: &[&str]) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    for secret in secrets {
        assert!(!stdout.contains(secret), "stdout quotes a secret: {stdout}");
        assert!(!stderr.contains(secret), "stderr quotes a secret: {stderr}");
    }
}

/// A refresh token of its own for a test: a password grant's (refresh tokens rotate).
fn seed_refresh_token() -> (String, String) {
    let first = json_of(&password_grant(
        &server().base_url(),
        ACCOUNTS[0].login_id,
        ACCOUNTS[0].password,
        true,
    ));
    (
        first["refresh_token"].as_str().unwrap().to_string(),
        first["geolocation"].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_sealed_file_store_holds_no_token_and_opens_only_with_its_key() {
    use std::os::unix::fs::PermissionsExt;

    let dir = store_dir("sealed");
    let path = dir.join("token.json");
    let key = store_key();
    let (seeded, geolocation) = seed_refresh_token();
    let keyed = [("CONCUR_STORE_KEY", key.as_str())];

    // Sealed from the first save: the file holds neither token, nor the key.
    let out = access_token(
        &path,
        &["--geolocation", &geolocation, "--json"],
        &[("CONCUR_REFRESH_TOKEN", &seeded), keyed[0]],
    );
    let doc = json_of(&out);
    quotes_none(&out, &[&key, OAUTH2_CLIENT_SECRET, &seeded]);
    let access = doc["access_token"].as_str().unwrap().to_string();
    let rotated = doc["refresh_token"].as_str().unwrap().to_string();
    let sealed = std::fs::read(&path).unwrap();
    let sealed_text = text(&sealed);
    assert!(sealed_text.starts_with("{\"sealed\":1,"), "{sealed_text}");
    for secret in [&access, &rotated, &seeded, &key] {
        assert!(!sealed_text.contains(secret.as_str()), "{sealed_text}");
    }
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(refreshes_with(&[&seeded, &rotated]), 1);

    // Again with the key: the token read from the sealed store, no request, no refresh token.
    let out = access_token(&path, &[], &keyed);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), access);
    assert_eq!(refreshes_with(&[&seeded, &rotated]), 1, "no request");
    quotes_none(&out, &[&key]);

    // A wrong key, and no key: exit 9, nothing sent, the file as it was; no key quoted.
    let other = store_key();
    for env in [&[("CONCUR_STORE_KEY", other.as_str())][..], &[]] {
        let out = access_token(&path, &[], env);
        assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty());
        quotes_none(&out, &[&key, &other, &access, &rotated]);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            sealed,
            "the file is unchanged"
        );
    }
    assert_eq!(refreshes_with(&[&seeded, &rotated]), 1, "no request");

    // Rotation: a new key first, the old one still opens; a refresh seals under the new one,
    // which then opens alone, while the old one alone no longer does.
    let new = store_key();
    let both = format!("{new},{key}");
    let out = access_token(
        &path,
        &["--margin", "3660"],
        &[("CONCUR_STORE_KEY", both.as_str())],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_ne!(text(&out.stdout).trim(), access, "refreshed");
    quotes_none(&out, &[&key, &new]);
    let out = access_token(&path, &[], &[("CONCUR_STORE_KEY", new.as_str())]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = access_token(&path, &[], &keyed);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));

    // The same keys from a file: refused while others may read it, taken once it is 0600.
    let key_file = dir.join("store.key");
    std::fs::write(&key_file, format!("# the newest first\n{new}\n\n{key}\n")).unwrap();
    let with_file = |mode: u32| {
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(mode)).unwrap();
        access_token(
            &path,
            &["--store-key-file", key_file.to_str().unwrap()],
            &[],
        )
    };
    for mode in [0o644, 0o640, 0o604] {
        let out = with_file(mode);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{mode:o}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("chmod 600"),
            "{}",
            text(&out.stderr)
        );
        quotes_none(&out, &[&key, &new]);
    }
    let out = with_file(0o600);
    assert!(out.status.success(), "{}", text(&out.stderr));
    quotes_none(&out, &[&key, &new]);
    // The file wins over the environment.
    std::fs::write(&key_file, format!("{other}\n")).unwrap();
    let out = access_token(
        &path,
        &["--store-key-file", key_file.to_str().unwrap()],
        &[("CONCUR_STORE_KEY", new.as_str())],
    );
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    quotes_none(&out, &[&other, &new]);
}

#[test]
fn bad_keys_and_require_sealed_are_refused() {
    let dir = store_dir("keys");
    // A plain store, written without a key.
    let plain = dir.join("plain.json");
    let out = access_token(&plain, &["--grant", "client-credentials"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = std::fs::read(&plain).unwrap();
    let key = store_key();

    // --require-sealed refuses it (exit 9, untouched); without the flag it is read, and sealed
    // at the next save.
    let out = access_token(
        &plain,
        &["--grant", "client-credentials", "--require-sealed"],
        &[("CONCUR_STORE_KEY", &key)],
    );
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&plain).unwrap(), before);
    let out = access_token(
        &plain,
        &["--grant", "client-credentials", "--margin", "3660"],
        &[("CONCUR_STORE_KEY", &key)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&std::fs::read(&plain).unwrap()).starts_with("{\"sealed\":1,"));

    // Keys that are no keys, an empty variable, --require-sealed without a key, a key on the
    // command line: exit 2, nothing written, no key quoted.
    let empty = dir.join("empty.json");
    let half = &key[..22];
    let cases: [(&[&str], &str); 6] = [
        (&[], "not-base64!"),
        (&[], half),
        (&[], ""),
        (&[], ",,"),
        (&["--require-sealed"], "-"),
        (&["--store-key", &key], "-"),
    ];
    for (args, value) in cases {
        let mut all = vec!["--grant", "client-credentials"];
        all.extend_from_slice(args);
        let env: &[(&str, &str)] = if value == "-" {
            &[]
        } else {
            &[("CONCUR_STORE_KEY", value)]
        };
        let out = access_token(&empty, &all, env);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} {value:?}: {}",
            text(&out.stderr)
        );
        quotes_none(&out, &[&key]);
        if value.len() > 3 {
            quotes_none(&out, &[value]);
        }
    }
    assert!(!empty.exists());
}

#[test]
fn the_floor_must_be_below_the_margin_and_below_it_the_run_refreshes() {
    let dir = store_dir("floor");
    let empty = dir.join("empty.json");
    for args in [
        &["--floor", "300"][..],
        &["--floor", "400"],
        &["--margin", "60", "--floor", "60"],
        &["--floor=-1"],
        &["--floor", "nan"],
        &["--margin", "100000", "--floor", "90000"],
    ] {
        let out = access_token(&empty, args, &[("CONCUR_REFRESH_TOKEN", "x")]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("--floor"),
            "{}",
            text(&out.stderr)
        );
    }
    assert!(!empty.exists());
    // Without --floor a small margin still works (the floor follows it down).
    let path = dir.join("app.json");
    let run = |args: &[&str]| {
        let mut all = vec!["--grant", "client-credentials", "--events"];
        all.extend_from_slice(args);
        let out = access_token(&path, &all, &[]);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        (text(&out.stdout).trim().to_string(), text(&out.stderr))
    };
    let (a, events) = run(&["--margin", "0"]);
    assert!(
        events.contains("token refresh refreshed (absent"),
        "{events}"
    );
    // The stored token (an hour left) inside the window and above the floor: taken from the
    // store, then refreshed ahead, which the run waits for and prints.
    let (b, events) = run(&["--margin", "3660", "--floor", "10"]);
    assert_ne!(a, b);
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(lines.len(), 2, "{events}");
    assert!(
        lines[0].starts_with("concur-token: token refresh from_store (absent"),
        "{events}"
    );
    assert!(
        lines[1].starts_with("concur-token: token refresh refreshed (ahead"),
        "{events}"
    );
    // Below the floor: not taken from the store, refreshed before anything is printed.
    let (c, events) = run(&["--margin", "3700", "--floor", "3650"]);
    assert_ne!(b, c);
    assert_eq!(events.lines().count(), 1, "{events}");
    assert!(
        events.starts_with("concur-token: token refresh refreshed (absent"),
        "{events}"
    );
    // Valid for more than the margin: the same token, read from the store, nothing sent.
    let (d, events) = run(&[]);
    assert_eq!(c, d);
    assert_eq!(events.lines().count(), 1, "{events}");
    assert!(
        events.starts_with("concur-token: token refresh from_store (absent"),
        "{events}"
    );

    // Concur unreachable for the refresh ahead: the stored token (above the floor) is printed,
    // with a warning; with --status, the status says the keeper is failing and why.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = format!("https://{}", closed.local_addr().unwrap());
    drop(closed);
    let offline = |extra: &[&str]| {
        let mut cmd = tool(&unreachable);
        cmd.args(["oauth2", "access-token", "--client-id", OAUTH2_CLIENT_ID])
            .args([
                "--store",
                path.to_str().unwrap(),
                "--grant",
                "client-credentials",
            ])
            .args(["--margin", "3660", "--floor", "10"])
            .args(extra)
            .env("CONCUR_CLIENT_SECRET", OAUTH2_CLIENT_SECRET);
        let out = cmd.output().expect("concur-token runs");
        assert!(out.status.success(), "{}", text(&out.stderr));
        quotes_none(&out, &[OAUTH2_CLIENT_SECRET]);
        assert!(!text(&out.stderr).contains(&d));
        out
    };
    let out = offline(&[]);
    assert_eq!(text(&out.stdout), format!("{d}\n"));
    let warning = text(&out.stderr);
    assert!(
        warning.starts_with("concur-token: the refresh ahead failed, the current token is printed: connection failed"),
        "{warning}"
    );
    let out = offline(&["--status"]);
    quotes_none(&out, &[&d]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(status["state"], "failing", "{status}");
    assert_eq!(status["failures"], 1, "{status}");
    assert_eq!(status["last_error"]["kind"], "CONNECT", "{status}");
    assert!(status["next_attempt"].is_u64(), "{status}");
    assert_eq!(
        std::fs::read(&path).map(|b| text(&b).contains(&d)).ok(),
        Some(true)
    );
}

#[test]
fn status_is_json_without_secrets_and_says_why_a_run_failed() {
    let dir = store_dir("status");
    let path = dir.join("token.json");
    let key = store_key();
    let (seeded, geolocation) = seed_refresh_token();
    let env = [
        ("CONCUR_REFRESH_TOKEN", seeded.as_str()),
        ("CONCUR_STORE_KEY", key.as_str()),
    ];
    let out = access_token(&path, &["--geolocation", &geolocation, "--json"], &env);
    let token = json_of(&out);
    let access = token["access_token"].as_str().unwrap().to_string();
    let rotated = token["refresh_token"].as_str().unwrap().to_string();

    let secrets = [
        access.as_str(),
        rotated.as_str(),
        seeded.as_str(),
        key.as_str(),
        OAUTH2_CLIENT_SECRET,
        ACCOUNTS[0].password,
    ];
    let out = access_token(&path, &["--status", "--events", "--margin", "3660"], &env);
    quotes_none(&out, &secrets);
    let status = json_of(&out);
    for field in [
        "state",
        "expires_at",
        "refresh_expires_at",
        "last_refresh",
        "failures",
        "next_attempt",
        "refresh_count",
        "last_error",
    ] {
        assert!(status.get(field).is_some(), "{field}: {status}");
    }
    assert_eq!(status["state"], "active");
    assert_eq!(status["failures"], 0);
    assert_eq!(status["refresh_count"], 1, "refreshed ahead: {status}");
    assert!(status["last_error"].is_null());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        status["expires_at"].as_i64().unwrap() > now + 3000,
        "{status}"
    );
    assert!(
        status["last_refresh"].as_i64().unwrap() >= now - 60,
        "{status}"
    );
    assert!(text(&out.stderr).contains("token refresh refreshed (ahead"));

    // A dead refresh token: exit 3, and the status says why (kind, Concur's code), on stdout.
    let empty = dir.join("empty.json");
    let out = access_token(
        &empty,
        &["--status"],
        &[("CONCUR_REFRESH_TOKEN", "dead-refresh-token-77")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    quotes_none(&out, &["dead-refresh-token-77", OAUTH2_CLIENT_SECRET]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(status["state"], "dead", "{status}");
    assert_eq!(status["failures"], 1, "{status}");
    assert_eq!(status["refresh_count"], 0, "{status}");
    assert!(status["expires_at"].is_null(), "{status}");
    let error = &status["last_error"];
    assert_eq!(error["kind"], "UNAUTHORIZED", "{status}");
    assert_eq!(error["concur_code"], 108, "{status}");
    assert!(error["status"].is_u64(), "{status}");
    assert!(
        error["message"].as_str().unwrap().contains("108"),
        "{status}"
    );
    assert!(error.get("correlation_id").is_some(), "{status}");

    // --status replaces the token: with --json it is a usage error.
    let out = access_token(&path, &["--status", "--json"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// A redis-server of the test's own on a free loopback port (killed when dropped), and its URL.
struct Redis(std::process::Child, String);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_server() -> Redis {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("redis-server is installed (Debian package redis-server)");
    let redis = Redis(child, format!("redis://127.0.0.1:{port}/"));
    let started = Instant::now();
    loop {
        let pong = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.write_all(b"PING\r\n")?;
            let mut answer = [0u8; 5];
            s.read_exact(&mut answer)?;
            Ok(answer == *b"+PONG")
        });
        if pong.unwrap_or(false) {
            return redis;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn oauth2_access_token_through_redis() {
    let redis = redis_server();
    let first = json_of(&password_grant(
        &server().base_url(),
        ACCOUNTS[0].login_id,
        ACCOUNTS[0].password,
        true,
    ));
    let seeded = first["refresh_token"].as_str().unwrap().to_string();
    let store = std::path::Path::new(&redis.1);
    let key = format!("cli-test:{}", std::process::id());
    let out = access_token(
        store,
        &["--redis-key", &key],
        &[("CONCUR_REFRESH_TOKEN", &seeded)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let a = text(&out.stdout).trim().to_string();
    // Another machine's run: the token from Redis, no request, no refresh token needed.
    let out = access_token(store, &["--redis-key", &key], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), a);
    assert_eq!(refreshes_with(&[&seeded]), 1);
    let out = access_token(store, &["--redis-key", &key, "--json"], &[]);
    let rotated = json_of(&out)["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(refreshes_with(&[&rotated]), 0, "still no request");
    // Nothing listens on the port any more: exit 9.
    let url = redis.1.clone();
    drop(redis);
    let out = access_token(std::path::Path::new(&url), &["--redis-key", &key], &[]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
}

// --- secrets on standard input: `--password-stdin` and the other `--…-stdin` flags ---------

/// Runs `cmd` with `input` on its standard input (a pipe, closed once written), and checks
/// that none of `secrets` shows in what it printed, whatever the outcome.
fn with_stdin(mut cmd: Command, input: &[u8], secrets: &[&str]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("concur-token runs");
    let mut stdin = child.stdin.take().unwrap();
    // A tool that refuses before reading closes the pipe: a failed write is not the test's.
    let _ = stdin.write_all(input);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    for secret in secrets {
        for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !text(stream).contains(secret),
                "{secret:?} in {name}: {}",
                text(stream)
            );
        }
    }
    out
}

/// `oauth2 password` for `account` at `base`, the client secret in the environment, with
/// `extra` arguments.
fn password_grant_cmd(base: &str, login: &str, extra: &[&str]) -> Command {
    let mut cmd = tool(base);
    cmd.args(["oauth2", "password", "--client-id", OAUTH2_CLIENT_ID])
        .args(["--username", login])
        .args(extra)
        .env("CONCUR_CLIENT_SECRET", OAUTH2_CLIENT_SECRET);
    cmd
}

/// Password grants the server got for `login` carrying exactly `password`.
fn password_grants_with(login: &str, password: &str) -> usize {
    server()
        .token_requests("password")
        .iter()
        .filter(|r| {
            r.form_value("username") == Some(login) && r.form_value("password") == Some(password)
        })
        .count()
}

#[test]
fn a_piped_password_is_granted_without_its_line_break() {
    let account = &ACCOUNTS[2];
    let before = password_grants_with(account.login_id, account.password);
    // As `echo`, `printf '%s'` and Windows tools write it: `\n`, nothing, `\r\n`.
    for ending in ["\n", "", "\r\n"] {
        let input = format!("{}{ending}", account.password);
        let cmd = password_grant_cmd(
            &server().base_url(),
            account.login_id,
            &["--password-stdin"],
        );
        let out = with_stdin(
            cmd,
            input.as_bytes(),
            &[account.password, OAUTH2_CLIENT_SECRET],
        );
        assert!(out.status.success(), "{ending:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).starts_with("eyJ"),
            "{}",
            text(&out.stdout)
        );
    }
    // The server saw the exact password each time (a line break left on it is a 401).
    assert_eq!(
        password_grants_with(account.login_id, account.password),
        before + 3
    );

    // The legacy Native Flow reads it the same way.
    let mut cmd = tool(&server().base_url());
    cmd.args(["native", "--consumer-key", CONSUMER_KEY]).args([
        "--login",
        account.login_id,
        "--password-stdin",
    ]);
    let input = format!("{}\n", account.password);
    let out = with_stdin(cmd, input.as_bytes(), &[account.password]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("0_"), "{}", text(&out.stdout));
}

#[test]
fn stdin_wins_over_the_environment_which_wins_over_the_prompt() {
    let account = &ACCOUNTS[0];
    let mut cmd = password_grant_cmd(
        &server().base_url(),
        account.login_id,
        &["--password-stdin"],
    );
    cmd.env("CONCUR_PASSWORD", "env-password-not-this-one");
    let input = format!("{}\n", account.password);
    let out = with_stdin(cmd, input.as_bytes(), &[account.password, "env-password"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The client secret piped in, the password from the environment; a wrong piped secret
    // exits 3 and is quoted nowhere.
    let mut cmd = tool(&server().base_url());
    cmd.args(["oauth2", "password", "--client-id", OAUTH2_CLIENT_ID])
        .args(["--username", account.login_id, "--client-secret-stdin"])
        .env("CONCUR_PASSWORD", account.password)
        .env("CONCUR_CLIENT_SECRET", "env-secret-not-this-one");
    let input = format!("{OAUTH2_CLIENT_SECRET}\n");
    let out = with_stdin(
        cmd,
        input.as_bytes(),
        &[OAUTH2_CLIENT_SECRET, account.password],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut cmd = tool(&server().base_url());
    cmd.args([
        "oauth2",
        "client-credentials",
        "--client-id",
        OAUTH2_CLIENT_ID,
    ])
    .arg("--client-secret-stdin");
    let out = with_stdin(cmd, b"wrong-piped-secret-qq\n", &["wrong-piped-secret-qq"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[test]
fn a_bad_secret_on_stdin_exits_2_and_nothing_is_sent() {
    let scenario = "cli-stdin-refused";
    let base = server().scenario_url(scenario);
    let secret = "hunter2-kk";
    for input in [
        "".to_string(),
        "\n".to_string(),
        "\r\n".to_string(),
        format!("{secret}\n\n"),
        format!("{secret}\0tail"),
        format!("{secret}\ttail"),
        format!("{secret}\x1b[2J"),
    ] {
        let cmd = password_grant_cmd(&base, ACCOUNTS[0].login_id, &["--password-stdin"]);
        let out = with_stdin(
            cmd,
            input.as_bytes(),
            &[secret, "tail", OAUTH2_CLIENT_SECRET],
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "{input:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        let stderr = text(&out.stderr);
        assert!(stderr.contains("--password-stdin"), "{input:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    // Not UTF-8, and more than 64 KiB.
    for input in [b"hunter2-kk\xff\xfe".to_vec(), vec![b'a'; 64 * 1024 + 1]] {
        let cmd = password_grant_cmd(&base, ACCOUNTS[0].login_id, &["--password-stdin"]);
        let out = with_stdin(cmd, &input, &[secret]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    }
    assert_eq!(requests_under(scenario), 0);
}

#[test]
fn two_stdin_flags_or_one_the_command_does_not_read_exit_2() {
    let scenario = "cli-stdin-flags";
    let base = server().scenario_url(scenario);
    let secret = "hunter2-ll";
    let input = format!("{secret}\n");
    // Before or after the subcommand alike.
    for (before, after) in [
        (&["--password-stdin", "--client-secret-stdin"][..], &[][..]),
        (&["--password-stdin"][..], &["--client-secret-stdin"][..]),
        (&[][..], &["--otp-stdin", "--password-stdin"][..]),
    ] {
        let mut cmd = tool(&base);
        cmd.args(before)
            .args(["oauth2", "password", "--client-id", OAUTH2_CLIENT_ID])
            .args(["--username", ACCOUNTS[0].login_id])
            .args(after)
            .env("CONCUR_CLIENT_SECRET", OAUTH2_CLIENT_SECRET);
        let out = with_stdin(cmd, input.as_bytes(), &[secret, OAUTH2_CLIENT_SECRET]);
        assert_eq!(out.status.code(), Some(2), "{before:?} {after:?}");
        assert!(
            text(&out.stderr).contains("at most one --…-stdin flag"),
            "{}",
            text(&out.stderr)
        );
    }
    // A secret the subcommand never reads: refused, not silently ignored.
    for args in [
        &["oauth2", "password", "--username", "u@x", "--otp-stdin"][..],
        &["oauth2", "client-credentials", "--refresh-token-stdin"],
        &[
            "oauth2",
            "authorize-url",
            "--redirect-uri",
            "https://a.example/cb",
            "--client-secret-stdin",
        ],
    ] {
        let mut cmd = tool(&base);
        cmd.args(args)
            .args(["--client-id", OAUTH2_CLIENT_ID])
            .env("CONCUR_CLIENT_SECRET", OAUTH2_CLIENT_SECRET);
        let out = with_stdin(cmd, input.as_bytes(), &[secret, OAUTH2_CLIENT_SECRET]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("this command does not read"),
            "{}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let mut cmd = tool(&base);
    cmd.args(["native", "--consumer-key", CONSUMER_KEY, "--login", "u"])
        .args(["--no-password", "--password-stdin"]);
    let out = with_stdin(cmd, input.as_bytes(), &[secret]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(requests_under(scenario), 0);
}

#[test]
fn a_stdin_flag_refuses_a_terminal() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let scenario = "cli-stdin-terminal";
    let command = format!(
        "{} --base-url {} --ca-file {} native --consumer-key {CONSUMER_KEY} --login u --password-stdin",
        env!("CARGO_BIN_EXE_concur-token"),
        server().scenario_url(scenario),
        server().ca_file().display(),
    );
    // util-linux `script` runs the tool with a pseudo-terminal as its standard input.
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("CONCUR_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    // Typed ahead, then end-of-file: a tool that read the terminal would send this (and fail
    // the test) rather than wait forever.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"typed-at-the-terminal\n\x04").unwrap();
    let mut screen = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut screen)
        .unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(2), "{screen}");
    assert!(screen.contains("standard input is a terminal"), "{screen}");
    assert_eq!(requests_under(scenario), 0);
}

/// `concur-token {args}` at `base` with `input` piped in (a line break after it), the
/// application's secret `app_secret` in the environment; none of them may show in its output.
fn piped(base: &str, args: &[&str], app_secret: &str, input: &str) -> Output {
    let mut cmd = tool(base);
    cmd.args(args).env("CONCUR_CLIENT_SECRET", app_secret);
    with_stdin(cmd, format!("{input}\n").as_bytes(), &[input, app_secret])
}

#[test]
fn each_secret_has_its_stdin_flag() {
    let base = server().base_url();
    let id = ["--client-id", OAUTH2_CLIENT_ID, "--json"];
    let (email, first) = otp_user("stdin");
    let args = [&["oauth2", "refresh", "--refresh-token-stdin"][..], &id].concat();
    let refresh_token = first["refresh_token"].as_str().unwrap();
    let refreshed = json_of(&piped(&base, &args, OAUTH2_CLIENT_SECRET, refresh_token));
    assert!(
        refreshed["access_token"]
            .as_str()
            .unwrap()
            .starts_with("eyJ")
    );

    let sent = oauth2(
        &base,
        &[&["otp", "--email", &email, "--send"][..], &id].concat(),
        &[],
    );
    assert_eq!(json_of(&sent)["sent"], true);
    let args = [
        &["oauth2", "otp", "--email", &email, "--otp-stdin"][..],
        &id,
    ]
    .concat();
    let otp = json_of(&piped(&base, &args, OAUTH2_CLIENT_SECRET, OTP_CODE));
    assert_eq!(otp["principal_type"], "user");

    let args = [
        &[
            "oauth2",
            "company",
            "--company-id",
            COMPANY_ID,
            "--request-token-stdin",
        ][..],
        &id,
    ]
    .concat();
    let company = json_of(&piped(&base, &args, OAUTH2_CLIENT_SECRET, REQUEST_TOKEN));
    assert_eq!(company["principal_type"], "company");

    // The user's access token revokes their refresh tokens: the rotated one is dead after.
    let user_token = refreshed["access_token"].as_str().unwrap();
    let args = ["oauth2", "revoke", "--access-token-stdin", "--json"];
    let revoked = json_of(&piped(&base, &args, OAUTH2_CLIENT_SECRET, user_token));
    assert_eq!(revoked["revoked"], true);
    let rotated = refreshed["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&base, rotated).status.code(), Some(3));

    // The legacy flows: a refresh, then the refreshed token revoked by an administrator.
    let mine = json_of(&native(Some(ACCOUNTS[0].password), &["--json"]));
    let legacy_refresh = mine["refresh_token"].as_str().unwrap();
    let mut cmd = tool(&base);
    cmd.args(["--json", "refresh", "--client-id", CONSUMER_KEY])
        .arg("--refresh-token-stdin")
        .env("CONCUR_CLIENT_SECRET", CLIENT_SECRET);
    // A legacy refresh's answer repeats the refresh token given (as documented).
    let input = format!("{legacy_refresh}\n");
    let legacy = json_of(&with_stdin(cmd, input.as_bytes(), &[CLIENT_SECRET]));
    assert_eq!(legacy["refresh_token"].as_str(), Some(legacy_refresh));
    let admin = native(Some(ACCOUNTS[0].password), &[]);
    let admin = text(&admin.stdout).trim().to_string();
    let mut cmd = tool(&base);
    cmd.args(["revoke", "--token-to-revoke-stdin"])
        .env("CONCUR_ACCESS_TOKEN", &admin);
    let doomed = legacy["token"].as_str().unwrap();
    let out = with_stdin(cmd, format!("{doomed}\n").as_bytes(), &[doomed, &admin]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let args = [
        "refresh",
        "--client-id",
        CONSUMER_KEY,
        "--refresh-token-stdin",
    ];
    let out = piped(&base, &args, CLIENT_SECRET, legacy_refresh);
    assert_eq!(out.status.code(), Some(3), "revoked: {}", text(&out.stderr));
}

#[test]
fn access_token_takes_the_client_secret_from_stdin() {
    let dir = store_dir("stdin");
    let store = dir.join("token.json");
    let args = [
        "oauth2",
        "access-token",
        "--client-id",
        OAUTH2_CLIENT_ID,
        "--grant",
        "client-credentials",
        "--store",
        store.to_str().unwrap(),
    ];
    let mut cmd = tool(&server().base_url());
    cmd.args(args).arg("--client-secret-stdin");
    let input = format!("{OAUTH2_CLIENT_SECRET}\r\n");
    let out = with_stdin(cmd, input.as_bytes(), &[OAUTH2_CLIENT_SECRET]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    assert_eq!(
        stored(&store)["access_token"].as_str(),
        Some(token.as_str())
    );
    let on_disk = std::fs::read_to_string(&store).unwrap();
    assert!(!on_disk.contains(OAUTH2_CLIENT_SECRET), "{on_disk}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// --- shell completions: `concur-token completions <shell>` ----------------------------------

/// The completion script for `shell`, checked to be printed on success with nothing on stderr.
/// CONCUR_CA_FILE names no file: the connection's options play no part in completions.
fn completions(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_concur-token"))
        .args(["completions", shell])
        .env("CONCUR_CA_FILE", "/nonexistent/ca.pem")
        .output()
        .expect("concur-token runs");
    assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{shell}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn bash_completions_parse_and_complete_past_the_subcommand() {
    let script = completions("bash");
    for word in [
        "native",
        "refresh",
        "revoke",
        "oauth2",
        "access-token",
        "--password-stdin",
    ] {
        assert!(script.contains(word), "{word}");
    }
    assert!(
        !script.contains("__panic"),
        "the hidden subcommand is not offered"
    );
    let path = std::env::temp_dir().join(format!("concur-token-{}.bash", std::process::id()));
    std::fs::write(&path, &script).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(syntax.status.success(), "bash -n: {}", text(&syntax.stderr));
    // What <Tab> offers: the completion function called as bash's `complete -F` calls it.
    let session = r#"
        source "$1"
        complete -p concur-token
        offer() {
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
            _concur__token concur-token "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
            echo "$* => ${COMPREPLY[*]}"
        }
        offer concur-token oa
        offer concur-token oauth2 pa
        offer concur-token oauth2 password --user
        offer concur-token native --password-s
        offer concur-token completions z
        offer concur-token st
        offer concur-token oauth2 access-token --store-k
    "#;
    let out = Command::new("bash")
        .args(["-c", session, "bash"])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let offered = text(&out.stdout);
    for line in [
        "complete -o bashdefault -o default -o nosort -F _concur__token concur-token",
        "concur-token oa => oauth2",
        "concur-token oauth2 pa => password",
        "concur-token oauth2 password --user => --username",
        "concur-token native --password-s => --password-stdin",
        "concur-token completions z => zsh",
        "concur-token st => store-key",
        "concur-token oauth2 access-token --store-k => --store-key-file",
    ] {
        assert!(
            offered.lines().any(|l| l == line),
            "{line:?} in:\n{offered}"
        );
    }
}

#[test]
fn zsh_fish_powershell_and_elvish_completions_name_every_subcommand() {
    // Content checks only: these shells are not part of the test machine.
    for (shell, registration) in [
        ("zsh", "#compdef concur-token"),
        ("fish", "complete -c concur-token"),
        (
            "powershell",
            "Register-ArgumentCompleter -Native -CommandName 'concur-token'",
        ),
        ("elvish", "edit:completion:arg-completer[concur-token]"),
    ] {
        let script = completions(shell);
        assert!(script.contains(registration), "{shell}");
        for word in [
            "native",
            "refresh",
            "revoke",
            "oauth2",
            "authorize-url",
            "access-token",
            "store-key",
            "require-sealed",
        ] {
            assert!(script.contains(word), "{shell}: {word}");
        }
        assert!(script.contains("password-stdin"), "{shell}");
        assert!(!script.contains("__panic"), "{shell}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_concur-token"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

// ---- proxies from the environment and the trust store --------------------------------------

/// Variables that steer the proxy and the OS trust store, removed from every run below but for
/// the ones a test sets.
const NETWORK_ENVIRONMENT: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// `native` against the test server by a name only the test proxy resolves
/// (`concur.test`), with `env` as the only network variables.
fn native_via_name(env: &[(&str, &str)], extra: &[&str]) -> Output {
    let base = format!(
        "https://{}:{}/s/legacy",
        concur_test_server::PROXY_ONLY_HOST,
        server().port()
    );
    let mut cmd = tool(&base);
    for name in NETWORK_ENVIRONMENT {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied())
        .env("CONCUR_PASSWORD", ACCOUNTS[0].password)
        .args(extra)
        .args([
            "native",
            "--consumer-key",
            CONSUMER_KEY,
            "--login",
            ACCOUNTS[0].login_id,
        ]);
    cmd.output().expect("concur-token runs")
}

#[test]
fn https_proxy_is_honoured_and_an_explicit_proxy_wins() {
    use concur_test_server::ConnectProxy;
    let from_env = ConnectProxy::start().expect("a proxy");
    let out = native_via_name(&[("HTTPS_PROXY", &from_env.url())], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).trim().is_empty());
    assert_eq!(
        from_env.connects().len(),
        1,
        "the call went through HTTPS_PROXY"
    );

    let explicit = ConnectProxy::start().expect("a proxy");
    let out = native_via_name(
        &[("HTTPS_PROXY", &from_env.url())],
        &["--proxy", &explicit.url()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(explicit.connects().len(), 1, "--proxy carried the call");
    assert_eq!(from_env.connects().len(), 1, "HTTPS_PROXY got nothing more");
}

#[test]
fn a_socks_proxy_in_the_environment_is_refused_by_name_unless_a_proxy_is_given() {
    use concur_test_server::ConnectProxy;
    let socks = [("ALL_PROXY", "socks5://me:hunter2@127.0.0.1:9")];
    let out = native_via_name(&socks, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ALL_PROXY"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    // With --proxy no variable is read. (--no-proxy-env's direct call is proven by the
    // library's tests/network.rs, where a name can resolve to loopback without DNS.)
    let explicit = ConnectProxy::start().expect("a proxy");
    let out = native_via_name(&socks, &["--proxy", &explicit.url()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(explicit.connects().len(), 1);
}

/// `native` against the loopback server trusting only the store `store` (no --ca-file), with
/// `SSL_CERT_FILE` naming the test server's CA.
fn native_trusting(store: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_concur-token"));
    for (name, _) in std::env::vars() {
        if name.starts_with("CONCUR_") {
            cmd.env_remove(name);
        }
    }
    for name in NETWORK_ENVIRONMENT {
        cmd.env_remove(name);
    }
    cmd.env("SSL_CERT_FILE", server().ca_file())
        .env("CONCUR_PASSWORD", ACCOUNTS[0].password)
        .args(["--base-url", &server().base_url(), "--trust-store", store])
        .args([
            "native",
            "--consumer-key",
            CONSUMER_KEY,
            "--login",
            ACCOUNTS[0].login_id,
        ]);
    cmd.output().expect("concur-token runs")
}

#[test]
fn the_trust_store_flag_picks_the_roots() {
    for store in ["os", "both"] {
        let out = native_trusting(store);
        assert!(out.status.success(), "{store}: {}", text(&out.stderr));
    }
    let out = native_trusting("mozilla");
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let out = native_trusting("windows");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn a_closed_stdout_ends_the_tool_quietly() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    // A pipe whose reader is gone before the tool writes: `concur-token … | head -c0`.
    let mut fds = [0; 2];
    // SAFETY: pipe fills two descriptors, each owned once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fresh descriptors from pipe(2), owned nowhere else.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    let mut cmd = tool(&server().base_url());
    cmd.env("CONCUR_PASSWORD", ACCOUNTS[0].password)
        .args([
            "native",
            "--consumer-key",
            CONSUMER_KEY,
            "--login",
            ACCOUNTS[0].login_id,
        ])
        .stdout(std::process::Stdio::from(writer));
    let out = cmd.output().expect("concur-token runs");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?} {stderr}",
        out.status
    );
}

// ---- concur-token vault ----

/// `concur-token vault ARGS` over the SQLite store at `db`, the client secret in the
/// environment, `stdin` piped in when given.
fn vault(db: &std::path::Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut cmd = tool(&server().base_url());
    cmd.arg("vault")
        .arg("--store")
        .arg(format!("sqlite://{}", db.display()))
        .args(["--client-id", OAUTH2_CLIENT_ID])
        .args(args)
        .env("CONCUR_CLIENT_SECRET", OAUTH2_CLIENT_SECRET);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("concur-token runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn vault_db(name: &str) -> std::path::PathBuf {
    store_dir(&format!("vault-{name}")).join("vault.db")
}

#[test]
fn vault_add_every_start_then_list_show_and_access_token_across_processes() {
    let db = vault_db("every");
    let (refresh_token, geolocation) = seed_refresh_token();

    // From a stored refresh token, read from standard input (never argv).
    let added = vault(
        &db,
        &[
            "add",
            "user-1",
            "--geolocation",
            &geolocation,
            "--refresh-token-stdin",
            "--json",
        ],
        &[],
        Some(&format!("{refresh_token}\n")),
    );
    let added = json_of(&added);
    let user_token = added["access_token"].as_str().unwrap().to_string();
    assert_ne!(
        added["refresh_token"].as_str().unwrap(),
        refresh_token,
        "refreshed at once"
    );
    // A company from its request token (the environment), a user's password (stdin), the
    // application's own token.
    let company = vault(
        &db,
        &["add", "company-1", "--company-id", COMPANY_ID],
        &[("CONCUR_REQUEST_TOKEN", REQUEST_TOKEN)],
        None,
    );
    assert!(company.status.success(), "{}", text(&company.stderr));
    let printed = text(&company.stdout);
    assert_eq!(
        printed.lines().count(),
        1,
        "the access token alone: {printed}"
    );
    let company_token = printed.trim().to_string();
    assert!(
        company_token.len() > 20 && !company_token.contains(' '),
        "{printed}"
    );
    let password = vault(
        &db,
        &[
            "add",
            "user-2",
            "--username",
            ACCOUNTS[0].login_id,
            "--password-stdin",
        ],
        &[],
        Some(ACCOUNTS[0].password),
    );
    assert!(password.status.success(), "{}", text(&password.stderr));
    let app = vault(&db, &["add", "app", "--client-credentials"], &[], None);
    assert!(app.status.success(), "{}", text(&app.stderr));
    for out in [&company, &password, &app] {
        quotes_none(
            out,
            &[
                OAUTH2_CLIENT_SECRET,
                ACCOUNTS[0].password,
                REQUEST_TOKEN,
                &refresh_token,
            ],
        );
    }

    // An ID present is refused (2) unless --replace.
    let again = vault(
        &db,
        &["add", "user-2", "--username", ACCOUNTS[0].login_id],
        &[("CONCUR_PASSWORD", ACCOUNTS[0].password)],
        None,
    );
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    let replaced = vault(
        &db,
        &[
            "add",
            "user-2",
            "--username",
            ACCOUNTS[0].login_id,
            "--replace",
        ],
        &[("CONCUR_PASSWORD", ACCOUNTS[0].password)],
        None,
    );
    assert!(replaced.status.success(), "{}", text(&replaced.stderr));

    // Another process reads the stored token: the same access token, nothing sent.
    let held = added["refresh_token"].as_str().unwrap();
    let token = vault(&db, &["access-token", "user-1"], &[], None);
    assert!(token.status.success(), "{}", text(&token.stderr));
    assert_eq!(text(&token.stdout), format!("{user_token}\n"));
    assert_eq!(refreshes_with(&[held]), 0, "served from the store");
    let token = json_of(&vault(
        &db,
        &["access-token", "user-1", "--json"],
        &[],
        None,
    ));
    assert_eq!(token["access_token"], user_token.as_str());
    assert_eq!(token["token_type"], "Bearer");

    // `list` and `show` read no secret: no client ID, no client secret needed.
    let mut cmd = tool(&server().base_url());
    let listed = cmd
        .args(["vault", "list", "--json", "--store"])
        .arg(format!("sqlite://{}", db.display()))
        .output()
        .unwrap();
    let listed = json_of(&listed);
    let listed = listed.as_array().expect("a JSON array");
    let ids: Vec<&str> = listed.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["app", "company-1", "user-1", "user-2"], "in ID order");
    let kinds: Vec<&str> = listed.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["app", "company", "user", "user"]);
    for c in listed {
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "added_at",
                "concur_code",
                "expires_at",
                "failures",
                "geolocation",
                "horizon_seconds",
                "id",
                "kind",
                "last_refresh",
                "refresh_expires_at",
                "state",
                "subject"
            ]
        );
        assert_eq!(c["state"], "active");
        assert!(c["expires_at"].as_i64().unwrap() > 0 && c["added_at"].as_i64().unwrap() > 0);
    }
    assert_eq!(listed[1]["subject"], COMPANY_ID);
    let table = vault(&db, &["list"], &[], None);
    assert!(table.status.success(), "{}", text(&table.stderr));
    let table = text(&table.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("STATE"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("company-1") && lines[2].contains("company"),
        "{table}"
    );

    let shown = json_of(&vault(&db, &["show", "company-1", "--json"], &[], None));
    assert_eq!(shown, listed[1]);
    let shown = vault(&db, &["show", "user-1"], &[], None);
    let shown = text(&shown.stdout);
    assert!(shown.contains("kind:               user"), "{shown}");
    assert!(
        shown.contains(&format!("geolocation:        {geolocation}")),
        "{shown}"
    );

    // Nothing printed by list or show holds a token or secret.
    for out in [&table, &shown] {
        for secret in [
            user_token.as_str(),
            &company_token,
            held,
            &refresh_token,
            OAUTH2_CLIENT_SECRET,
        ] {
            assert!(!out.contains(secret), "{out}");
        }
    }
}

#[test]
fn vault_unknown_and_invalid_ids_and_missing_options_exit_with_their_codes() {
    let db = vault_db("unknown");
    for args in [
        &["access-token", "nobody"][..],
        &["show", "nobody"],
        &["remove", "nobody"],
        &["show", "nobody", "--json"],
    ] {
        let out = vault(&db, args, &[], None);
        assert_eq!(
            out.status.code(),
            Some(11),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stdout).is_empty());
    }
    // An ID too long, or with a control character: invalid, nothing sent.
    let long = "x".repeat(257);
    for id in [long.as_str(), "a\u{1}b", ""] {
        let out = vault(&db, &["show", id], &[], None);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    }
    // No store; a store URL that does not parse; a bad duration; a concurrency out of range.
    let mut cmd = tool(&server().base_url());
    let out = cmd.args(["vault", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--store"),
        "{}",
        text(&out.stderr)
    );
    let mut cmd = tool(&server().base_url());
    let out = cmd
        .args(["vault", "list", "--store", "ftp://nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    for args in [
        &["keep-alive", "--within", "3w"][..],
        &["keep-alive", "--concurrency", "0"],
        &["keep-alive", "--concurrency", "65"],
    ] {
        let out = vault(&db, args, &[], None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // The client ID is required where the secret is used.
    let mut cmd = tool(&server().base_url());
    let out = cmd
        .args(["vault", "access-token", "x", "--store"])
        .arg(format!("sqlite://{}", db.display()))
        .env("CONCUR_CLIENT_SECRET", OAUTH2_CLIENT_SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--client-id"),
        "{}",
        text(&out.stderr)
    );
    // A secret flag the subcommand does not read is refused, not ignored.
    let out = vault(&db, &["list", "--password-stdin"], &[], Some("pw"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn vault_secrets_never_come_from_the_command_line() {
    for flag in [
        "--refresh-token",
        "--password",
        "--request-token",
        "--code",
        "--client-secret",
    ] {
        let db = vault_db("argv");
        let out = vault(&db, &["add", "x", flag, "s3cret-on-argv"], &[], None);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", text(&out.stderr));
        assert!(!text(&out.stdout).contains("s3cret-on-argv"));
    }
    // The authorization code: from standard input only (or CONCUR_CODE); a wrong one exits 3
    // and is never quoted.
    let db = vault_db("code");
    let out = vault(
        &db,
        &[
            "add",
            "web",
            "--redirect-uri",
            "https://partner.example/cb",
            "--code-stdin",
        ],
        &[],
        Some("not-a-code-4711"),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    quotes_none(&out, &["not-a-code-4711", OAUTH2_CLIENT_SECRET]);
    let listed = vault(&db, &["list", "--json"], &[], None);
    assert_eq!(json_of(&listed), serde_json::json!([]), "nothing stored");
}

#[test]
fn vault_keep_alive_reports_and_exits_1_when_a_connection_died() {
    let db = vault_db("keep-alive");
    let mut held = Vec::new();
    for i in 0..3 {
        let out = json_of(&vault(
            &db,
            &[
                "add",
                &format!("live-{i}"),
                "--username",
                ACCOUNTS[0].login_id,
                "--json",
            ],
            &[("CONCUR_PASSWORD", ACCOUNTS[0].password)],
            None,
        ));
        held.push(out["refresh_token"].as_str().unwrap().to_string());
    }
    let held: Vec<&str> = held.iter().map(String::as_str).collect();
    // Nothing is due 1 minute ahead: exit 0, nothing checked.
    let report = json_of(&vault(
        &db,
        &["keep-alive", "--within", "1m", "--json"],
        &[],
        None,
    ));
    assert_eq!(
        report,
        serde_json::json!({"checked": 0, "refreshed": 0, "fresh": 0, "dead": [], "failed": []})
    );
    assert_eq!(refreshes_with(&held), 0);
    // Ten years ahead: every one due, refreshed once; exit 0; the table on stdout, no bar
    // (stderr is not a terminal).
    let out = vault(
        &db,
        &["keep-alive", "--within", "3650d", "--concurrency", "2"],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "checked 3, refreshed 3, fresh 0, dead 0, failed 0\n"
    );
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
    assert_eq!(refreshes_with(&held), 3, "each refreshed once");

    // A connection whose refresh token was rotated away behind the vault's back: Concur's 108
    // makes it dead, reported, exit 1; never sent again.
    let added = json_of(&vault(
        &db,
        &[
            "add",
            "doomed",
            "--username",
            ACCOUNTS[0].login_id,
            "--json",
        ],
        &[("CONCUR_PASSWORD", ACCOUNTS[0].password)],
        None,
    ));
    let doomed = added["refresh_token"].as_str().unwrap();
    json_of(&refresh(&server().base_url(), doomed));
    let out = vault(
        &db,
        &["keep-alive", "--within", "3650d", "--json"],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["checked"], 4);
    assert_eq!(report["refreshed"], 3);
    assert_eq!(report["fresh"], 0);
    assert_eq!(
        report["dead"],
        serde_json::json!([{"id": "doomed", "concur_code": 108}])
    );
    assert_eq!(report["failed"], serde_json::json!([]));
    quotes_none(&out, &[doomed, OAUTH2_CLIENT_SECRET]);
    // 2: the rotation outside the vault, then the sweep's (answered 108).
    assert_eq!(refreshes_with(&[doomed]), 2);
    let shown = json_of(&vault(&db, &["show", "doomed", "--json"], &[], None));
    assert_eq!(shown["state"], "dead");
    assert_eq!(shown["concur_code"], 108);
    // The table says it in words; a dead connection is not swept again.
    let out = vault(&db, &["list"], &[], None);
    let table = text(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with("doomed"))
        .expect("its row");
    assert!(
        row.contains("dead") && row.contains("concur code 108"),
        "{table}"
    );
    let out = vault(&db, &["keep-alive", "--within", "3650d"], &[], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stdout),
        "checked 3, refreshed 3, fresh 0, dead 0, failed 0\n"
    );
    assert_eq!(refreshes_with(&[doomed]), 2, "108 is never sent again");

    // Remove forgets it; then it is unknown (11).
    let out = vault(&db, &["remove", "doomed"], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(
        vault(&db, &["show", "doomed"], &[], None).status.code(),
        Some(11)
    );
}

#[test]
fn vault_remove_with_revoke_revokes_at_concur() {
    let db = vault_db("revoke");
    // A user of the test's own: revocation is per user, server-wide.
    let (_, token) = otp_user("vault-revoke");
    let refresh_token = token["refresh_token"].as_str().unwrap();
    let added = json_of(&vault(
        &db,
        &["add", "revoked", "--refresh-token-stdin", "--json"],
        &[],
        Some(refresh_token),
    ));
    let held = added["refresh_token"].as_str().unwrap().to_string();
    let out = vault(&db, &["remove", "revoked", "--revoke", "--json"], &[], None);
    assert_eq!(
        json_of(&out),
        serde_json::json!({"removed": "revoked", "revoked": true})
    );
    quotes_none(&out, &[&held, OAUTH2_CLIENT_SECRET]);
    assert_eq!(
        vault(&db, &["show", "revoked"], &[], None).status.code(),
        Some(11)
    );
    // The refresh token the vault held is dead at Concur.
    assert_eq!(refresh(&server().base_url(), &held).status.code(), Some(3));
}

#[test]
fn vault_keep_alive_shows_a_progress_bar_on_a_terminal_only() {
    let db = vault_db("bar");
    for i in 0..3 {
        let out = vault(
            &db,
            &["add", &format!("c-{i}"), "--client-credentials"],
            &[],
            None,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let seeded = json_of(&vault(
        &db,
        &["add", "user", "--username", ACCOUNTS[0].login_id, "--json"],
        &[("CONCUR_PASSWORD", ACCOUNTS[0].password)],
        None,
    ));
    assert!(seeded["refresh_token"].is_string());
    // Under a pseudo-terminal (util-linux `script`): the bar on standard error, counting the
    // one connection due, then erased; the report on standard output.
    let command = format!(
        "{} --base-url {} --ca-file {} vault --store sqlite://{} --client-id {OAUTH2_CLIENT_ID} \
         keep-alive --within 3650d",
        env!("CARGO_BIN_EXE_concur-token"),
        server().base_url(),
        server().ca_file().display(),
        db.display(),
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("CONCUR_CLIENT_SECRET", OAUTH2_CLIENT_SECRET)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    let screen = text(&out.stdout);
    assert!(screen.contains("keep-alive ["), "{screen:?}");
    assert!(screen.contains("] 1/1"), "{screen:?}");
    assert!(
        screen.contains("checked 1, refreshed 1, fresh 0, dead 0, failed 0"),
        "{screen:?}"
    );
    assert!(!screen.contains(OAUTH2_CLIENT_SECRET));
}

#[test]
fn vault_sealed_store_holds_no_token_and_opens_only_with_its_key() {
    let db = vault_db("sealed");
    let key = store_key();
    let added = json_of(&vault(
        &db,
        &[
            "add",
            "sealed",
            "--username",
            ACCOUNTS[0].login_id,
            "--json",
        ],
        &[
            ("CONCUR_PASSWORD", ACCOUNTS[0].password),
            ("CONCUR_STORE_KEY", &key),
        ],
        None,
    ));
    let (access, refresh_token) = (
        added["access_token"].as_str().unwrap(),
        added["refresh_token"].as_str().unwrap(),
    );
    // SQLite keeps its pages in the file and its write-ahead log: neither holds a token.
    for path in [db.clone(), db.with_extension("db-wal")] {
        if let Ok(bytes) = std::fs::read(&path) {
            let bytes = String::from_utf8_lossy(&bytes);
            assert!(
                !bytes.contains(access) && !bytes.contains(refresh_token),
                "{path:?}"
            );
        }
    }
    let with_key = vault(
        &db,
        &["access-token", "sealed"],
        &[("CONCUR_STORE_KEY", &key)],
        None,
    );
    assert_eq!(text(&with_key.stdout), format!("{access}\n"));
    // Without it (or with another key), the store cannot be opened: exit 9, nothing quoted.
    let without = vault(&db, &["access-token", "sealed"], &[], None);
    assert_eq!(without.status.code(), Some(9), "{}", text(&without.stderr));
    let other = vault(
        &db,
        &["access-token", "sealed"],
        &[("CONCUR_STORE_KEY", &store_key())],
        None,
    );
    assert_eq!(other.status.code(), Some(9), "{}", text(&other.stderr));
    quotes_none(&other, &[access, refresh_token, &key]);
    // Listing needs no key: the records hold no secret.
    let listed = json_of(&vault(&db, &["list", "--json"], &[], None));
    assert_eq!(listed[0]["id"], "sealed");
}
