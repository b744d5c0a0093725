//! The C ABI as C and C++ programs see it: the header compiles as C99 and C++17 with every
//! warning an error, the contract tests (`tests/c/abi_test.c`, and `tests/c/oauth2_test.c` for
//! the current API, `tests/c/manager_test.c` for the token manager, `tests/c/vault_test.c` for the
//! token vault) pass against the loopback
//! server, and the examples print a token. With `--ignored`, the same programs run under
//! valgrind against both the debug and the release build of the library, with the suppression
//! file shipped to C users (`share/valgrind/concur_native.supp`), which is shown to hide nothing
//! of the caller's own (the test command in the README does that).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use concur_test_server::{
    ACCOUNTS, CLIENT_SECRET, COMPANY_ID, CONSUMER_KEY, EU_PASSWORD, EU_USERNAME, LOCKED_USERNAME,
    Listener, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET, OTP_CODE, REQUEST_TOKEN, shared as server,
};

/// The folder holding `libconcur_native.so`. `cargo test` builds the crate only as an rlib, so
/// the shared library is built here, once, with the same cargo, target and profile, and the
/// `redis` and `sqlite` features (the token manager's Redis store, the vault's SQLite store),
/// whatever features the tests were built with.
fn library_dir() -> &'static Path {
    library_dir_for(!cfg!(debug_assertions))
}

/// The same for a chosen profile: the valgrind tests also run against the release build,
/// which is what C users link (and where the optimiser moves code that memcheck reports).
fn library_dir_for(release: bool) -> &'static Path {
    static DIRS: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    DIRS[usize::from(release)].get_or_init(|| {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args([
                "build",
                "--lib",
                "-p",
                "concur-native",
                // The C library as CI ships it to the manager's users: with the Redis store, and
                // SQLite for the vault (PostgreSQL left out: the vault's test sees it refused as
                // not built in).
                "--features",
                "redis,sqlite",
                "--message-format=json-render-diagnostics",
            ])
            .arg("--target")
            .arg(env!("CONCUR_NATIVE_TARGET"))
            .current_dir(root());
        if release {
            cargo.arg("--release");
        }
        let output = cargo.output().expect("cargo runs");
        assert!(
            output.status.success(),
            "building the shared library failed"
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            // Proc-macro crates are shared libraries too: pick this crate's artifact.
            .filter(|m| {
                m["reason"] == "compiler-artifact" && m["target"]["name"] == "concur_native"
            })
            .filter_map(|m| m["filenames"].as_array().cloned())
            .flatten()
            .filter_map(|f| f.as_str().map(PathBuf::from))
            .find(|f| f.extension().is_some_and(|e| e == "so" || e == "dylib"))
            .and_then(|f| f.parent().map(Path::to_path_buf))
            .expect("cargo reported the shared library")
    })
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles one C or C++ file against the header and the shared library.
fn compile(source: &str, cplusplus: bool) -> PathBuf {
    compile_with(source, cplusplus, &[])
}

/// The same, with extra compiler flags (sanitizers).
fn compile_with(source: &str, cplusplus: bool, flags: &[&str]) -> PathBuf {
    compile_against(library_dir(), source, cplusplus, flags)
}

/// The same, linked against the shared library in `lib`.
fn compile_against(lib: &Path, source: &str, cplusplus: bool, flags: &[&str]) -> PathBuf {
    let target = env!("CONCUR_NATIVE_TARGET");
    let mut build = cc::Build::new();
    build
        .target(target)
        .host(target)
        .opt_level(0)
        .debug(true)
        .cargo_metadata(false)
        .cpp(cplusplus);
    let mut cmd = build.get_compiler().to_command();
    let stem = Path::new(source)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .to_string();
    // Tests run in parallel: each compile gets its own file, or one would run another's
    // half-written binary.
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::SeqCst);
    let out = lib.join(format!("c-{stem}-{}-{n}", std::process::id()));
    cmd.arg(if cplusplus { "-std=c++17" } else { "-std=c99" })
        .args(["-Wall", "-Wextra", "-Wpedantic", "-Werror"])
        .args(flags)
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join(source))
        .arg("-o")
        .arg(&out)
        .arg(format!("-L{}", lib.display()))
        .arg("-lconcur_native")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lpthread");
    let status = cmd.status().expect("the C compiler runs");
    assert!(status.success(), "compiling {source} failed: {cmd:?}");
    out
}

fn closed_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("https://{}", listener.local_addr().unwrap())
}

/// A Web-flow callback with a fresh code, as Login.aspx sends the browser back with it.
fn approved_callback(state: &str) -> String {
    let query = format!(
        "client_id={CONSUMER_KEY}&redirect_uri=https%3A%2F%2Fpartner.example%2Fcb&state={state}"
    );
    server().approve(&query).expect("Login.aspx redirects")
}

/// The program, or the wrapper (valgrind and its arguments) running it. Without cargo's
/// `LD_LIBRARY_PATH`, which lists `target/debug` first: a `libconcur_native.so` left there by an
/// earlier `cargo build` would win over the library the program was linked against (its
/// RUNPATH), and the program would test a stale build.
fn command(program: &Path, wrapper: Option<&[&str]>) -> Command {
    let mut c = match wrapper {
        Some(args) => {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]).arg(program);
            c
        }
        None => Command::new(program),
    };
    c.env_remove("LD_LIBRARY_PATH");
    c
}

fn run(program: &Path, wrapper: Option<&[&str]>, example_env: bool) -> Output {
    let a = &ACCOUNTS[0];
    let mut cmd = command(program, wrapper);
    if example_env {
        cmd.env("CONCUR_CONSUMER_KEY", CONSUMER_KEY)
            .env("CONCUR_LOGIN_ID", a.login_id)
            .env("CONCUR_PASSWORD", a.password)
            .env("CONCUR_BASE_URL", server().base_url())
            .env("CONCUR_CA_FILE", server().ca_file());
    } else {
        cmd.env("CONCUR_TEST_BASE_URL", server().base_url())
            .env("CONCUR_TEST_PLAIN_URL", server().plain_base_url())
            .env("CONCUR_TEST_CLOSED_URL", closed_url())
            .env("CONCUR_TEST_CA_FILE", server().ca_file())
            .env("CONCUR_TEST_CONSUMER_KEY", CONSUMER_KEY)
            .env("CONCUR_TEST_LOGIN_ID", a.login_id)
            .env("CONCUR_TEST_PASSWORD", a.password)
            .env("CONCUR_TEST_CLIENT_SECRET", CLIENT_SECRET)
            .env("CONCUR_TEST_CALLBACK_URL", approved_callback("st4te"))
            .env("CONCUR_TEST_CALLBACK_STATE", "st4te")
            .env("CONCUR_TEST_OTHER_LOGIN_ID", ACCOUNTS[2].login_id)
            .env("CONCUR_TEST_OTHER_PASSWORD", ACCOUNTS[2].password);
    }
    cmd.output().expect("the program runs")
}

/// Runs the current API's contract test (`tests/c/oauth2_test.c`) under `wrapper`, then checks
/// in the server's log what the program cannot see: the untrusted geolocation's listener got
/// nothing, no bad-argument call reached the server, and the correlation id set in the options
/// went out with the requests. Each run has its own tag, so that runs side by side (and the
/// debug and release runs under valgrind) meet no counter or address of another.
fn run_oauth2_test(program: &Path, wrapper: Option<&[&str]>) -> Output {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let tag = format!(
        "{}x{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    );
    let callback = server()
        .approve_oauth2(&format!(
            "client_id={OAUTH2_CLIENT_ID}&redirect_uri=https%3A%2F%2Fpartner.example%2Fcb\
             &response_type=code&state=o2state"
        ))
        .expect("the authorize page redirects");
    let evil_port = server()
        .evil_base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let mut cmd = match wrapper {
        Some(args) => {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]).arg(program);
            c
        }
        None => Command::new(program),
    };
    let output = cmd
        .env("CONCUR_TEST_BASE_URL", server().base_url())
        .env("CONCUR_TEST_SECOND_URL", server().second_base_url())
        .env("CONCUR_TEST_CA_FILE", server().ca_file())
        .env("CONCUR_TEST_HTTPS_PORT", server().port().to_string())
        .env("CONCUR_TEST_EVIL_PORT", &evil_port)
        .env("CONCUR_TEST_OAUTH2_CLIENT_ID", OAUTH2_CLIENT_ID)
        .env("CONCUR_TEST_OAUTH2_CLIENT_SECRET", OAUTH2_CLIENT_SECRET)
        .env("CONCUR_TEST_CONSUMER_KEY", CONSUMER_KEY)
        .env("CONCUR_TEST_LOGIN_ID", ACCOUNTS[0].login_id)
        .env("CONCUR_TEST_PASSWORD", ACCOUNTS[0].password)
        .env("CONCUR_TEST_OTHER_LOGIN_ID", ACCOUNTS[2].login_id)
        .env("CONCUR_TEST_OTHER_PASSWORD", ACCOUNTS[2].password)
        .env("CONCUR_TEST_EU_USERNAME", EU_USERNAME)
        .env("CONCUR_TEST_EU_PASSWORD", EU_PASSWORD)
        .env("CONCUR_TEST_LOCKED_USERNAME", LOCKED_USERNAME)
        .env("CONCUR_TEST_COMPANY_ID", COMPANY_ID)
        .env("CONCUR_TEST_REQUEST_TOKEN", REQUEST_TOKEN)
        .env("CONCUR_TEST_OTP", OTP_CODE)
        .env("CONCUR_TEST_OAUTH2_CALLBACK_URL", &callback)
        .env("CONCUR_TEST_RUN_TAG", &tag)
        .output()
        .expect("the program runs");

    let log = server().requests();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        log.iter()
            .any(|r| r.scenario == format!("geo16-http-{evil_port}")),
        "the program asked the scenario naming the untrusted host: {stdout}"
    );
    assert!(
        log.iter().all(|r| r.listener != Listener::Evil),
        "the untrusted geolocation was sent a request"
    );
    let never = format!("never-{tag}");
    let reached: Vec<_> = log
        .iter()
        .filter(|r| r.scenario == never)
        .map(|r| (&r.method, &r.target, r.grant_type()))
        .collect();
    assert!(
        reached.is_empty(),
        "a call with bad arguments reached the server: {reached:?}\n{stdout}"
    );
    let correlation = format!("c-abi-{tag}");
    let correlated: Vec<_> = log
        .iter()
        .filter(|r| r.header("concur-correlationid") == Some(correlation.as_str()))
        .collect();
    assert!(
        correlated.len() >= 3,
        "the options' correlation id was sent: {} requests carry it",
        correlated.len()
    );
    assert!(
        correlated
            .iter()
            .all(|r| r.form_value("client_secret") == Some(OAUTH2_CLIENT_SECRET)),
        "the correlated requests are the program's own"
    );
    let retried = format!("retry-503-1-0-{tag}-default");
    assert_eq!(
        log.iter().filter(|r| r.scenario == retried).count(),
        2,
        "one 503, then the retry"
    );
    let not_retried = format!("retry-503-1-0-{tag}-none");
    assert_eq!(
        log.iter().filter(|r| r.scenario == not_retried).count(),
        1,
        "retries off: sent once"
    );
    output
}

/// A `redis-server` on a free loopback port, without persistence, stopped when dropped.
struct Redis {
    child: Child,
    url: String,
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (Debian package redis-server)");
        let redis = Redis {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
        };
        let client = redis::Client::open(redis.url.as_str()).unwrap();
        let started = Instant::now();
        while client.get_connection().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What each case of `tests/c/manager_test.c` must have sent, found by its correlation id
/// (`m-{tag}-{case}`): the token requests of one grant type, and no request of any other kind.
/// A case served from memory or from a store sent nothing.
const MANAGER_REQUESTS: &[(&str, &str, usize)] = &[
    // 50 calls, an invalidate, two calls: the first refresh and the one invalidate asked for.
    ("cached", "refresh_token", 2),
    // A margin above the lifetime: each of three calls refreshes, the rotation followed.
    ("margin", "refresh_token", 3),
    // 16 threads at once: one refresh.
    ("threads", "refresh_token", 1),
    // Two managers on one file, or one Redis key: the second sent nothing.
    ("file-a", "refresh_token", 1),
    ("file-b", "refresh_token", 0),
    ("redis-a", "refresh_token", 1),
    ("redis-b", "refresh_token", 0),
    // Two managers over one pair of callbacks: the second reloaded the first's save.
    ("cb-a", "refresh_token", 1),
    ("cb-b", "refresh_token", 0),
    // A failing save: the refresh was made, its token withheld.
    ("cb-fail", "refresh_token", 1),
    // A failing or garbage load stops before any request.
    ("cb-load", "refresh_token", 0),
    // 108 is not sent a second time.
    ("bad108", "refresh_token", 1),
    // Client credentials renewed at the margin, with no refresh token.
    ("cc", "client_credentials", 2),
    // The password and company starts: one grant each; the second call was cached.
    ("pw", "password", 1),
    ("company", "password", 1),
    // Too small, then the cached token: one refresh.
    ("small", "refresh_token", 1),
    // Bad arguments: nothing at all.
    ("never", "refresh_token", 0),
    // A refresh with no token, then one ahead of expiry: each reported by an event.
    ("events", "refresh_token", 2),
    // A refresh answered 503: reported, not sent again by the call.
    ("events-fail", "refresh_token", 1),
    // A sealed file: one refresh; a wrong key sends nothing.
    ("sealed", "refresh_token", 1),
    ("sealed-wrong", "refresh_token", 0),
    // A plain file, then refused by require_sealed: nothing sent.
    ("plain-a", "refresh_token", 1),
    ("plain-b", "refresh_token", 0),
];

/// Runs the token manager's contract test (`tests/c/manager_test.c`) under `wrapper`, with a
/// `redis-server` of its own and a fresh folder for the file store, then checks the requests
/// of each case in the server's log (see [`MANAGER_REQUESTS`]).
fn run_manager_test(program: &Path, wrapper: Option<&[&str]>) -> Output {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let tag = format!(
        "{}x{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    );
    let redis = Redis::start();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cmgr-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let output = command(program, wrapper)
        .env("CONCUR_TEST_BASE_URL", server().base_url())
        .env("CONCUR_TEST_CA_FILE", server().ca_file())
        .env("CONCUR_TEST_OAUTH2_CLIENT_ID", OAUTH2_CLIENT_ID)
        .env("CONCUR_TEST_OAUTH2_CLIENT_SECRET", OAUTH2_CLIENT_SECRET)
        .env("CONCUR_TEST_LOGIN_ID", ACCOUNTS[0].login_id)
        .env("CONCUR_TEST_PASSWORD", ACCOUNTS[0].password)
        .env("CONCUR_TEST_COMPANY_ID", COMPANY_ID)
        .env("CONCUR_TEST_REQUEST_TOKEN", REQUEST_TOKEN)
        .env("CONCUR_TEST_RUN_TAG", &tag)
        .env("CONCUR_TEST_DIR", &dir)
        .env("CONCUR_TEST_REDIS_URL", &redis.url)
        .output()
        .expect("the program runs");
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let log = server().requests();
    for &(case, grant, expected) in MANAGER_REQUESTS {
        let correlation = format!("m-{tag}-{case}");
        let sent: Vec<_> = log
            .iter()
            .filter(|r| r.header("concur-correlationid") == Some(correlation.as_str()))
            .collect();
        let of_grant = sent
            .iter()
            .filter(|r| r.endpoint() == "/oauth2/v0/token" && r.grant_type() == Some(grant))
            .count();
        assert_eq!(
            (of_grant, sent.len()),
            (expected, expected),
            "case {case}: {expected} {grant} requests and nothing else\n{stdout}"
        );
    }
    output
}

/// Runs the token vault's contract test (`tests/c/vault_test.c`) under `wrapper`, with a fresh
/// folder for its SQLite store, then checks in the server's log that its calls with bad
/// arguments (a client whose correlation id is `v-{tag}-never`) sent nothing.
fn run_vault_test(program: &Path, wrapper: Option<&[&str]>) -> Output {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let tag = format!(
        "{}x{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    );
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cvault-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let output = command(program, wrapper)
        .env("CONCUR_TEST_BASE_URL", server().base_url())
        .env("CONCUR_TEST_CA_FILE", server().ca_file())
        .env("CONCUR_TEST_OAUTH2_CLIENT_ID", OAUTH2_CLIENT_ID)
        .env("CONCUR_TEST_OAUTH2_CLIENT_SECRET", OAUTH2_CLIENT_SECRET)
        .env("CONCUR_TEST_LOGIN_ID", ACCOUNTS[0].login_id)
        .env("CONCUR_TEST_PASSWORD", ACCOUNTS[0].password)
        .env("CONCUR_TEST_COMPANY_ID", COMPANY_ID)
        .env("CONCUR_TEST_REQUEST_TOKEN", REQUEST_TOKEN)
        .env("CONCUR_TEST_OTP", OTP_CODE)
        .env("CONCUR_TEST_RUN_TAG", &tag)
        .env("CONCUR_TEST_DIR", &dir)
        .output()
        .expect("the program runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let never = format!("v-{tag}-never");
    let sent = server()
        .requests()
        .iter()
        .filter(|r| r.header("concur-correlationid") == Some(never.as_str()))
        .count();
    assert_eq!(sent, 0, "calls with bad arguments sent nothing\n{stdout}");
    let memory = format!("v-{tag}-memory");
    assert!(
        server()
            .requests()
            .iter()
            .any(|r| r.header("concur-correlationid") == Some(memory.as_str())),
        "the memory vault's client sent its requests\n{stdout}"
    );
    output
}

fn issued_tokens() -> Vec<String> {
    server()
        .requests()
        .into_iter()
        .filter_map(|r| r.issued.map(|i| i.token))
        .collect()
}

fn check_example(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Token:"))
        .expect("a Token line")
        .trim()
        .to_string();
    assert!(
        issued_tokens().contains(&token),
        "the server issued {token}"
    );
    assert!(!stdout.contains(ACCOUNTS[0].password));
}

#[test]
fn contract_test_in_c() {
    let program = compile("tests/c/abi_test.c", false);
    let output = run(&program, None, false);
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

/// The token stores of the library as C sees them (`tests/c/store_features.c`): this build has
/// the `redis` feature, so a `redis://` store is accepted (and a `postgres://` vault refused).
/// tests/packaging/c.sh runs the same program against the default install, where every store
/// but memory (and the manager's file) must be `CONCUR_ERR_NOT_BUILT_IN`.
#[test]
fn store_features_in_c() {
    let program = compile("tests/c/store_features.c", false);
    let output = command(&program, None)
        .arg("redis")
        .output()
        .expect("the program runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("(redis): 8 passed, 0 failed"), "{stdout}");
}

/// `concur_options.proxy_env` and `trust_store` from C (`tests/c/network_test.c`): the test
/// CA only in the OS store (`SSL_CERT_FILE`), a recording proxy in `HTTPS_PROXY` that must
/// see the call to a name only it knows, then a SOCKS URL there that must be refused by name.
#[test]
fn network_options_in_c() {
    use concur_test_server::{ConnectProxy, PROXY_ONLY_HOST};
    let program = compile("tests/c/network_test.c", false);
    let proxy = ConnectProxy::start().expect("the proxy starts");
    let a = &ACCOUNTS[0];
    let proxy_only = format!("https://{PROXY_ONLY_HOST}:{}/s/legacy", server().port());
    for (phase, https_proxy) in [
        ("proxy", proxy.url()),
        (
            "socks",
            "socks5://u:Socks-Secret@127.0.0.1:1080".to_string(),
        ),
    ] {
        let mut cmd = Command::new(&program);
        for name in [
            "https_proxy",
            "all_proxy",
            "ALL_PROXY",
            "no_proxy",
            "NO_PROXY",
            "SSL_CERT_DIR",
        ] {
            cmd.env_remove(name);
        }
        let output = cmd
            .arg(phase)
            .env("HTTPS_PROXY", https_proxy)
            .env("SSL_CERT_FILE", server().ca_file())
            .env("CONCUR_TEST_BASE_URL", server().base_url())
            .env("CONCUR_TEST_PROXY_ONLY_URL", &proxy_only)
            .env("CONCUR_TEST_CONSUMER_KEY", CONSUMER_KEY)
            .env("CONCUR_TEST_LOGIN_ID", a.login_id)
            .env("CONCUR_TEST_PASSWORD", a.password)
            .output()
            .expect("the program runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        println!("{phase}: {stdout}");
        assert!(
            output.status.success() && stdout.contains(" 0 failed"),
            "{phase}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let connects = proxy.connects();
    assert_eq!(connects.len(), 1, "{connects:?}");
    assert_eq!(
        connects[0].target,
        format!("{PROXY_ONLY_HOST}:{}", server().port())
    );
}

#[test]
fn oauth2_contract_test_in_c() {
    let program = compile("tests/c/oauth2_test.c", false);
    let output = run_oauth2_test(&program, None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn manager_contract_test_in_c() {
    let program = compile("tests/c/manager_test.c", false);
    let output = run_manager_test(&program, None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn vault_contract_test_in_c() {
    let program = compile("tests/c/vault_test.c", false);
    let output = run_vault_test(&program, None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn c_example_prints_a_token() {
    check_example(&run(&compile("examples/native_token.c", false), None, true));
}

#[test]
fn cpp_example_prints_a_token() {
    check_example(&run(
        &compile("examples/native_token.cpp", true),
        None,
        true,
    ));
}

/// Runs `examples/token_lifecycle.c` (optionally under a wrapper) with a fresh Web-flow code.
fn run_lifecycle(program: &Path, wrapper: Option<&[&str]>) -> Output {
    let a = &ACCOUNTS[0];
    let mut cmd = command(program, wrapper);
    cmd.env("CONCUR_CONSUMER_KEY", CONSUMER_KEY)
        .env("CONCUR_LOGIN_ID", a.login_id)
        .env("CONCUR_PASSWORD", a.password)
        .env("CONCUR_CLIENT_SECRET", CLIENT_SECRET)
        .env("CONCUR_CALLBACK_URL", approved_callback("ex"))
        .env("CONCUR_CALLBACK_STATE", "ex")
        .env("CONCUR_BASE_URL", server().base_url())
        .env("CONCUR_CA_FILE", server().ca_file())
        .output()
        .unwrap()
}

fn check_lifecycle(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("(same refresh token: yes)"), "{stdout}");
    assert!(stdout.contains("Exchanged code:  0_"), "{stdout}");
    assert!(stdout.contains("Revoke:          CONCUR_OK"), "{stdout}");
}

/// Runs `examples/oauth2_password.c` against the server as the demo does.
fn run_oauth2_example(program: &Path, wrapper: Option<&[&str]>, password: &str) -> Output {
    let mut cmd = match wrapper {
        Some(args) => {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]).arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.env("CONCUR_OAUTH2_CLIENT_ID", OAUTH2_CLIENT_ID)
        .env("CONCUR_OAUTH2_CLIENT_SECRET", OAUTH2_CLIENT_SECRET)
        .env("CONCUR_USERNAME", ACCOUNTS[0].login_id)
        .env("CONCUR_PASSWORD", password)
        .env("CONCUR_BASE_URL", server().base_url())
        .env("CONCUR_CA_FILE", server().ca_file())
        .output()
        .expect("the example runs")
}

/// The example's password grant and refresh: two different access tokens, the refresh token
/// rotated and stored, and the refresh sent with the first token's refresh token.
fn check_oauth2_example(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("a {prefix} line: {stdout}"))
            .trim()
            .to_string()
    };
    let (first, refreshed) = (line("Access token:"), line("Refreshed token:"));
    assert!(!first.is_empty() && first != refreshed, "{stdout}");
    assert_eq!(line("Refresh token:"), "rotated (stored)");
    assert_eq!(line("Geolocation:"), server().base_url());
    assert!(!stdout.contains(ACCOUNTS[0].password) && !stdout.contains(OAUTH2_CLIENT_SECRET));
}

#[test]
fn c_oauth2_example_grants_and_refreshes() {
    let program = compile("examples/oauth2_password.c", false);
    check_oauth2_example(&run_oauth2_example(&program, None, ACCOUNTS[0].password));
}

#[test]
fn c_oauth2_example_explains_a_refusal() {
    let program = compile("examples/oauth2_password.c", false);
    let output = run_oauth2_example(&program, None, "definitely-wrong");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("password grant: CONCUR_ERR_UNAUTHORIZED: unauthorized (HTTP 400)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Concur code 5 (invalid_grant)") && stderr.contains("correlation id "),
        "{stderr}"
    );
    assert!(!stderr.contains("definitely-wrong"), "{stderr}");
}

/// `examples/token_manager.c` run twice on one token file sealed with `CONCUR_STORE_KEY`: four
/// threads share one token, the second run prints the first run's token, read from the file
/// (which holds it only sealed), each run reports its refresh event on stderr, and the server
/// saw one password grant from the example in all.
/// `examples/token_vault.c` twice over one SQLite file: the first run onboards the company,
/// the second finds it in the store (its token from there, nothing sent for it).
#[test]
fn c_vault_example_onboards_once_and_lists() {
    let program = compile("examples/token_vault.c", false);
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let db = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "token-vault-example-{}-{}.db",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    ));
    let run_once = |expected: &str| {
        let output = command(&program, None)
            .env("CONCUR_OAUTH2_CLIENT_ID", OAUTH2_CLIENT_ID)
            .env("CONCUR_OAUTH2_CLIENT_SECRET", OAUTH2_CLIENT_SECRET)
            .env("CONCUR_COMPANY_ID", COMPANY_ID)
            .env("CONCUR_REQUEST_TOKEN", REQUEST_TOKEN)
            .env("CONCUR_VAULT_STORE", format!("sqlite://{}", db.display()))
            .env("CONCUR_BASE_URL", server().base_url())
            .env("CONCUR_CA_FILE", server().ca_file())
            .output()
            .expect("the example runs");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.starts_with(expected), "{stdout}");
        assert!(stdout.contains(&format!("  {COMPANY_ID}")), "{stdout}");
        assert!(stdout.contains("  (1)"), "{stdout}");
        assert!(
            stdout.contains("Keep-alive:   checked 0, refreshed 0"),
            "{stdout}"
        );
        assert!(!stdout.contains(REQUEST_TOKEN), "{stdout}");
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("Access token:"))
            .expect("an Access token line")
            .trim()
            .to_string()
    };
    let first = run_once("Onboarded:");
    let second = run_once("Known:");
    let _ = std::fs::remove_file(&db);
    assert_eq!(first, second, "the second run's token came from the store");
}

#[test]
fn c_manager_example_shares_and_keeps_a_token() {
    let program = compile("examples/token_manager.c", false);
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "token-manager-example-{}-{}.json",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    ));
    let run_once = || {
        let output = Command::new(&program)
            .env("CONCUR_OAUTH2_CLIENT_ID", OAUTH2_CLIENT_ID)
            .env("CONCUR_OAUTH2_CLIENT_SECRET", OAUTH2_CLIENT_SECRET)
            .env("CONCUR_USERNAME", ACCOUNTS[0].login_id)
            .env("CONCUR_PASSWORD", ACCOUNTS[0].password)
            .env("CONCUR_TOKEN_FILE", &file)
            .env("CONCUR_BASE_URL", server().base_url())
            .env("CONCUR_CA_FILE", server().ca_file())
            // 32 bytes of 7s, base64.
            .env(
                "CONCUR_STORE_KEY",
                "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
            )
            .output()
            .expect("the example runs");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(output.status.success(), "{stdout}{stderr}");
        assert!(stdout.contains("Threads:         4, one token"), "{stdout}");
        assert!(stdout.contains("(sealed)"), "{stdout}");
        assert!(!stdout.contains(ACCOUNTS[0].password), "{stdout}");
        let token = stdout
            .lines()
            .find_map(|l| l.strip_prefix("Access token:"))
            .expect("an Access token line")
            .trim()
            .to_string();
        assert!(!stderr.contains(&token), "{stderr}");
        (token, stderr)
    };
    let (first, first_events) = run_once();
    let file_text = std::fs::read_to_string(&file).expect("the token file");
    let (second, second_events) = run_once();
    assert!(!file_text.contains(&first), "a sealed file: {file_text}");
    assert!(
        first_events.starts_with("refresh refreshed in ")
            && first_events.contains(", CONCUR_OK")
            && first_events.lines().count() == 1,
        "one refresh reported: {first_events}"
    );
    assert!(
        second_events.starts_with("refresh from_store in ") && second_events.lines().count() == 1,
        "one read from the file reported: {second_events}"
    );
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(file.with_extension("json.lock"));
    assert!(!first.is_empty());
    assert_eq!(first, second, "the second run used the kept token");
    // The example's user agent names it: two runs of four threads sent one password grant.
    let sent: Vec<_> = server()
        .requests()
        .into_iter()
        .filter(|r| {
            r.header("user-agent")
                .is_some_and(|u| u.contains("token_manager.c"))
        })
        .map(|r| r.grant_type().map(str::to_string))
        .collect();
    assert_eq!(sent, [Some("password".to_string())], "one request in all");
}

#[test]
fn c_lifecycle_example_refreshes_exchanges_and_revokes() {
    let program = compile("examples/token_lifecycle.c", false);
    check_lifecycle(&run_lifecycle(&program, None));
}

#[test]
fn c_example_explains_a_refusal() {
    let program = compile("examples/native_token.c", false);
    let output = Command::new(&program)
        .env("CONCUR_CONSUMER_KEY", CONSUMER_KEY)
        .env("CONCUR_LOGIN_ID", ACCOUNTS[0].login_id)
        .env("CONCUR_PASSWORD", "definitely-wrong")
        .env("CONCUR_BASE_URL", server().base_url())
        .env("CONCUR_CA_FILE", server().ca_file())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.starts_with("CONCUR_ERR_UNAUTHORIZED: unauthorized (HTTP 401)"),
        "{stderr}"
    );
    assert!(!stderr.contains("definitely-wrong"));
}

/// The suppression file C users pass to valgrind; installed with the library.
const SUPPRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/share/valgrind/concur_native.supp"
);

/// valgrind as a careful C user runs it: every leak kind valgrind reports by default
/// (definite and possible) and indirect ones are errors, with our suppression file.
const VALGRIND: &[&str] = &[
    "valgrind",
    "--quiet",
    "--error-exitcode=99",
    "--leak-check=full",
    "--errors-for-leak-kinds=definite,indirect,possible",
    "--show-leak-kinds=definite,indirect,possible",
    concat!(
        "--suppressions=",
        env!("CARGO_MANIFEST_DIR"),
        "/share/valgrind/concur_native.supp"
    ),
];

/// Both builds of the library, for the valgrind tests.
const PROFILES: [(&str, bool); 2] = [("debug", false), ("release", true)];

/// The C and C++ examples, the lifecycle one too (refresh, code exchange, the revocation POST).
#[test]
#[ignore = "needs valgrind; run by the README's test command"]
fn valgrind_c_examples() {
    for (profile, release) in PROFILES {
        let lib = library_dir_for(release);
        for (source, cplusplus) in [
            ("examples/native_token.c", false),
            ("examples/native_token.cpp", true),
            ("examples/token_lifecycle.c", false),
        ] {
            let program = compile_against(lib, source, cplusplus, &[]);
            let output = if source.contains("lifecycle") {
                run_lifecycle(&program, Some(VALGRIND))
            } else {
                run(&program, Some(VALGRIND), true)
            };
            println!(
                "{profile} {source}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(
                output.status.code(),
                Some(0),
                "{profile} {source}: valgrind found errors or leaks"
            );
            if source.contains("lifecycle") {
                check_lifecycle(&output);
            } else {
                check_example(&output);
            }
        }
    }
}

#[test]
#[ignore = "needs valgrind; run by the README's test command"]
fn valgrind_c_oauth2_example() {
    for (profile, release) in PROFILES {
        let program = compile_against(
            library_dir_for(release),
            "examples/oauth2_password.c",
            false,
            &[],
        );
        let output = run_oauth2_example(&program, Some(VALGRIND), ACCOUNTS[0].password);
        println!("{profile}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{profile}: valgrind found errors or leaks"
        );
        check_oauth2_example(&output);
    }
}

#[test]
#[ignore = "needs valgrind; run by the README's test command"]
fn valgrind_contract_test() {
    for (profile, release) in PROFILES {
        let program = compile_against(library_dir_for(release), "tests/c/abi_test.c", false, &[]);
        let output = run(&program, Some(VALGRIND), false);
        let stdout = String::from_utf8_lossy(&output.stdout);
        println!(
            "{profile}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{profile}: valgrind found errors or leaks"
        );
        assert!(stdout.contains(" 0 failed"), "{profile}: {stdout}");
    }
}

#[test]
#[ignore = "needs valgrind; run by the README's test command"]
fn valgrind_oauth2_contract_test() {
    for (profile, release) in PROFILES {
        let program = compile_against(
            library_dir_for(release),
            "tests/c/oauth2_test.c",
            false,
            &[],
        );
        let output = run_oauth2_test(&program, Some(VALGRIND));
        let stdout = String::from_utf8_lossy(&output.stdout);
        println!(
            "{profile}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{profile}: valgrind found errors or leaks"
        );
        assert!(stdout.contains(" 0 failed"), "{profile}: {stdout}");
    }
}

#[test]
#[ignore = "needs valgrind; run by the README's test command"]
fn valgrind_manager_contract_test() {
    for (profile, release) in PROFILES {
        let program = compile_against(
            library_dir_for(release),
            "tests/c/manager_test.c",
            false,
            &[],
        );
        let output = run_manager_test(&program, Some(VALGRIND));
        let stdout = String::from_utf8_lossy(&output.stdout);
        println!(
            "{profile}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{profile}: valgrind found errors or leaks"
        );
        assert!(stdout.contains(" 0 failed"), "{profile}: {stdout}");
    }
}

#[test]
#[ignore = "needs valgrind; run by the README's test command"]
fn valgrind_vault_contract_test() {
    for (profile, release) in PROFILES {
        let program = compile_against(library_dir_for(release), "tests/c/vault_test.c", false, &[]);
        let output = run_vault_test(&program, Some(VALGRIND));
        let stdout = String::from_utf8_lossy(&output.stdout);
        println!(
            "{profile}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{profile}: valgrind found errors or leaks"
        );
        assert!(stdout.contains(" 0 failed"), "{profile}: {stdout}");
    }
}

/// The suppression file is narrow: a program that gets a token through the library (so that
/// every suppression is in play) and then leaks 77 bytes and reads past them, run under
/// valgrind with the file, still has both of its own errors reported, in its own functions.
#[test]
#[ignore = "needs valgrind; run by the README's test command"]
fn valgrind_suppressions_hide_nothing_of_the_caller() {
    assert!(Path::new(SUPPRESSIONS).is_file(), "{SUPPRESSIONS}");
    for (profile, release) in PROFILES {
        let program = compile_against(
            library_dir_for(release),
            "tests/c/valgrind_canary.c",
            false,
            &[],
        );
        let output = run(&program, Some(VALGRIND), true);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report = String::from_utf8_lossy(&output.stderr);
        assert!(
            stdout.contains("status: CONCUR_OK"),
            "{profile}: the library ran: {stdout}"
        );
        assert_eq!(output.status.code(), Some(99), "{profile}: {report}");
        // Each error of the report with the frames under it: lines lose their `==PID==`
        // prefix, and a blank line ends a block.
        let text = report
            .lines()
            .map(|l| {
                l.strip_prefix("==")
                    .and_then(|rest| rest.split_once("=="))
                    .map_or(l, |(_, rest)| rest.trim())
            })
            .collect::<Vec<_>>()
            .join("\n");
        let blocks: Vec<&str> = text.split("\n\n").collect();
        let reported = |what: &str, function: &str| {
            blocks
                .iter()
                .any(|b| b.contains(what) && b.contains(function))
        };
        assert!(
            reported("Invalid read of size 1", "canary_invalid_read"),
            "{profile}: the caller's invalid read was hidden: {report}"
        );
        assert!(
            reported("77 bytes in 1 blocks are definitely lost", "canary_leak"),
            "{profile}: the caller's leak was hidden: {report}"
        );
        // And nothing of the library's own shows.
        assert!(!report.contains("concur_native::"), "{profile}: {report}");
    }
}

const SANITIZERS: &[&str] = &[
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
];

/// Proves the sanitizers are really in the program, so a green run means something.
fn assert_sanitized(program: &Path) {
    let symbols = Command::new("nm").arg(program).output().expect("nm runs");
    let symbols = String::from_utf8_lossy(&symbols.stdout);
    assert!(
        symbols.contains("__asan_init"),
        "AddressSanitizer is not linked"
    );
    assert!(symbols.contains("__ubsan_handle"), "UBSan is not linked");
}

fn sanitized_run(source: &str, example_env: bool) -> Output {
    let program = compile_with(source, false, SANITIZERS);
    assert_sanitized(&program);
    let mut output = run(&program, None, example_env);
    // ASan reports on stderr and exits non-zero: both end up in the assertion message.
    output.stdout.extend_from_slice(&output.stderr);
    output
}

#[test]
#[ignore = "needs libasan/libubsan; run by the README's test command"]
fn asan_ubsan_contract_test() {
    let output = sanitized_run("tests/c/abi_test.c", false);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(" 0 failed") && !text.contains("ERROR: AddressSanitizer"),
        "{text}"
    );
}

#[test]
#[ignore = "needs libasan/libubsan; run by the README's test command"]
fn asan_ubsan_oauth2_contract_test() {
    let program = compile_with("tests/c/oauth2_test.c", false, SANITIZERS);
    assert_sanitized(&program);
    let output = run_oauth2_test(&program, None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(" 0 failed") && !text.contains("ERROR: AddressSanitizer"),
        "{text}"
    );
}

#[test]
#[ignore = "needs libasan/libubsan; run by the README's test command"]
fn asan_ubsan_manager_contract_test() {
    let program = compile_with("tests/c/manager_test.c", false, SANITIZERS);
    assert_sanitized(&program);
    let output = run_manager_test(&program, None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(" 0 failed") && !text.contains("ERROR: AddressSanitizer"),
        "{text}"
    );
}

#[test]
#[ignore = "needs libasan/libubsan; run by the README's test command"]
fn asan_ubsan_vault_contract_test() {
    let program = compile_with("tests/c/vault_test.c", false, SANITIZERS);
    assert_sanitized(&program);
    let output = run_vault_test(&program, None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(" 0 failed") && !text.contains("ERROR: AddressSanitizer"),
        "{text}"
    );
}

#[test]
#[ignore = "needs libasan/libubsan; run by the README's test command"]
fn asan_ubsan_c_example() {
    let output = sanitized_run("examples/native_token.c", true);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("Token:"), "{text}");
}
