//! The vault's fleet test (issue 20), per store — SQLite, Redis, PostgreSQL: eight processes
//! share 1,000 connections with short lifetimes, calling `access_token` on random IDs while
//! each runs `keep_alive`. No refresh token is used twice, every connection is alive and
//! refreshable at the end, and every report adds up. Then the same with two processes killed
//! (SIGKILL) mid-sweep: a refresh in flight in a killed process may lose that connection (the
//! server rotated, the answer died with the process) — at most that process's concurrency —
//! and each such connection is found dead, never silently; every other connection stays alive
//! and no other refresh token is used twice.
//! The processes are this test program run again (`FLEET_STORE` set); the server is the test
//! server of the parent process, reached over loopback TLS.
#![cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use concur_native::manager::{ConnectionState, KeyedStore, Outcome};
use concur_native::vault::{TokenVault, VaultStart};
use concur_native::{Client, Options};
use concur_test_server::{OAUTH2_CLIENT_ID as ID, OAUTH2_CLIENT_SECRET as SECRET, TestServer};

#[path = "support/servers.rs"]
mod servers;

/// Connections shared by the fleet.
const CONNECTIONS: usize = 1_000;
/// Processes in the fleet.
const PROCESSES: usize = 8;
/// Threads per process calling `access_token`, and calls each.
const CALLERS: usize = 2;
const CALLS: usize = 150;
/// Connections each `keep_alive` refreshes at a time.
const CONCURRENCY: usize = 8;
/// The sweep's horizon: connections added with a 60 s refresh token are due; refreshed ones
/// (an hour) are not.
const WITHIN: Duration = Duration::from_secs(600);
/// How long a killed process's store lock outlives it (SQLite, Redis: a lease renewed every
/// third of it while held; PostgreSQL's lock ends with the session). Long enough that a holder
/// starved of CPU on a loaded machine still renews in time.
const LOCK_TTL: Duration = Duration::from_secs(6);

/// Opens the store at `url` with the fleet's short lock lease.
fn open_store(url: &str) -> Arc<dyn KeyedStore> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Arc::new(
            concur_native::manager::sqlite::SqliteStore::open(url)
                .unwrap()
                .lock_ttl(LOCK_TTL),
        );
    }
    #[cfg(feature = "redis")]
    if url.starts_with("redis:") {
        return Arc::new(
            concur_native::manager::redis_keyed::RedisKeyedStore::open(url)
                .unwrap()
                .lock_ttl(LOCK_TTL),
        );
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres:") {
        return Arc::new(concur_native::manager::postgres::PostgresStore::open(url).unwrap());
    }
    panic!("no store for this URL in this build");
}

fn vault(base: &str, ca: &str, url: &str) -> TokenVault {
    let options = Options::new()
        .base_url(base)
        .ca_file(ca)
        .timeout(Duration::from_secs(30));
    let client = Arc::new(Client::new(&options).unwrap());
    TokenVault::new(client, ID, SECRET, open_store(url)).unwrap()
}

fn id(n: usize) -> String {
    format!("fleet-{n:04}")
}

/// A small deterministic random sequence (xorshift), one per process.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// One process of the fleet (when `FLEET_STORE` is set): callers on random IDs while the
/// main thread sweeps; prints its report and the IDs its callers found dead.
#[test]
fn fleet_child() {
    let Ok(url) = std::env::var("FLEET_STORE") else {
        return;
    };
    let base = std::env::var("FLEET_BASE").unwrap();
    let ca = std::env::var("FLEET_CA").unwrap();
    let worker: u64 = std::env::var("FLEET_WORKER").unwrap().parse().unwrap();
    let callers = if std::env::var("FLEET_SWEEP_ONLY").is_ok() {
        0
    } else {
        CALLERS
    };
    // A refresh ahead in the background that meets Concur's verdict tells it by an event only.
    let vault = vault(&base, &ca, &url).on_event(|event| {
        if event.outcome == Outcome::Dead
            && let Some(id) = &event.connection
        {
            println!("CALLER-DEAD {id}");
        }
    });
    let dead_seen = std::sync::Mutex::new(Vec::new());
    let report = std::thread::scope(|s| {
        for caller in 0..callers {
            let (vault, dead_seen) = (&vault, &dead_seen);
            s.spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (worker * 31 + caller as u64 + 1));
                for _ in 0..CALLS {
                    let id = id(rng.below(CONNECTIONS));
                    match vault.access_token(&id) {
                        Ok(token) => assert!(!token.as_str().is_empty()),
                        // Only Concur's verdict on a connection a killed process lost,
                        // recorded dead.
                        Err(e)
                            if vault.connection(&id).map(|c| c.state)
                                == Ok(ConnectionState::Dead) =>
                        {
                            let _ = e;
                            dead_seen.lock().unwrap().push(id)
                        }
                        Err(e) => panic!("access_token({id}): {e}"),
                    }
                }
            });
        }
        println!("SWEEPING");
        vault.keep_alive(WITHIN, CONCURRENCY).unwrap()
    });
    println!(
        "REPORT {} {} {} {} {}",
        report.checked,
        report.refreshed,
        report.fresh,
        report.dead.len(),
        report.failed.len()
    );
    for (id, code) in &report.dead {
        println!("DEAD {id} {}", code.unwrap_or(0));
    }
    for failure in &report.failed {
        println!("FAILED {} {:?}", failure.id, failure.kind());
    }
    for id in dead_seen.lock().unwrap().iter() {
        println!("CALLER-DEAD {id}");
    }
}

/// What a child printed.
#[derive(Default)]
struct Output {
    reports: Vec<[u64; 5]>,
    dead: Vec<String>,
    failed: Vec<String>,
    caller_dead: Vec<String>,
}

fn spawn(url: &str, server: &TestServer, worker: usize, sweep_only: bool) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "fleet_child", "--nocapture", "--test-threads=1"])
        .env("FLEET_STORE", url)
        .env("FLEET_BASE", server.base_url())
        .env("FLEET_CA", server.ca_file())
        .env("FLEET_WORKER", worker.to_string())
        .stdout(Stdio::piped());
    if sweep_only {
        command.env("FLEET_SWEEP_ONLY", "1");
    }
    command.spawn().unwrap()
}

/// Waits for `child` and reads what it printed (it must have succeeded).
fn finish(mut child: Child, out: &mut Output) {
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("REPORT") => {
                let n: Vec<u64> = words.map(|w| w.parse().unwrap()).collect();
                out.reports.push([n[0], n[1], n[2], n[3], n[4]]);
            }
            Some("DEAD") => out.dead.push(words.next().unwrap().to_string()),
            Some("FAILED") => out.failed.push(line.clone()),
            Some("CALLER-DEAD") => out.caller_dead.push(words.next().unwrap().to_string()),
            _ => {}
        }
    }
    assert!(child.wait().unwrap().success(), "a fleet process failed");
}

/// How many times each refresh token was sent.
fn refresh_token_uses(server: &TestServer) -> HashMap<String, usize> {
    let mut uses = HashMap::new();
    for request in server.token_requests("refresh_token") {
        let token = request.form_value("refresh_token").unwrap().to_string();
        *uses.entry(token).or_insert(0) += 1;
    }
    uses
}

/// Adds the fleet's connections (password grants, each a refresh family of its own) with a
/// 40 s access token and a 60 s refresh token, then has the server issue hour-long ones.
fn add_connections(server: &TestServer, url: &str) {
    server.set_lifetimes(Duration::from_secs(40), Duration::from_secs(60));
    let vault = vault(&server.base_url(), &server.ca_file().to_string_lossy(), url);
    let accounts: Vec<_> = concur_test_server::ACCOUNTS
        .iter()
        .filter(|a| !a.password.is_empty())
        .collect();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (vault, accounts) = (&vault, &accounts);
            s.spawn(move || {
                for n in (t..CONNECTIONS).step_by(8) {
                    let account = accounts[n % accounts.len()];
                    let start = VaultStart::Password {
                        username: account.login_id.into(),
                        password: account.password.into(),
                    };
                    vault.add(&id(n), start, false).unwrap();
                }
            });
        }
    });
    assert_eq!(vault.store().count().unwrap(), CONNECTIONS as u64);
    server.set_lifetimes(Duration::from_secs(3600), Duration::from_secs(3600));
}

/// Every report adds up; none failed.
fn check_reports(out: &Output, processes: usize) {
    assert_eq!(out.reports.len(), processes);
    for [checked, refreshed, fresh, dead, failed] in &out.reports {
        assert_eq!(
            *checked,
            refreshed + fresh + dead + failed,
            "a report does not add up"
        );
        assert!(*checked <= CONNECTIONS as u64);
    }
    assert!(out.failed.is_empty(), "{:?}", out.failed);
}

/// Every connection not in `lost` is active and refreshes again now; those in `lost` are
/// dead, with Concur's code.
fn check_alive(server: &TestServer, url: &str, lost: &HashSet<String>) {
    let vault = vault(&server.base_url(), &server.ca_file().to_string_lossy(), url);
    let infos: Vec<_> = vault.connections().map(Result::unwrap).collect();
    assert_eq!(infos.len(), CONNECTIONS);
    for info in &infos {
        if lost.contains(&info.id) {
            assert_eq!(info.state, ConnectionState::Dead, "{}", info.id);
            assert!(info.concur_code.is_some(), "{}", info.id);
        } else {
            assert_eq!(info.state, ConnectionState::Active, "{}", info.id);
        }
    }
    std::thread::scope(|s| {
        for t in 0..8 {
            let vault = &vault;
            s.spawn(move || {
                for n in (t..CONNECTIONS).step_by(8) {
                    if lost.contains(&id(n)) {
                        continue;
                    }
                    vault.invalidate(&id(n)).unwrap();
                    vault.access_token(&id(n)).unwrap();
                }
            });
        }
    });
}

/// One fleet at a time in this program: each is nine processes on a machine that may have two
/// cores, and starving a lock holder for its whole lease is not what these tests are about.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static FLEET: std::sync::Mutex<()> = std::sync::Mutex::new(());
    FLEET
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The fleet over the store at `url`.
fn fleet(url: &str) {
    let _one = one_at_a_time();
    let server = TestServer::start().unwrap();
    add_connections(&server, url);
    let children: Vec<_> = (0..PROCESSES)
        .map(|w| spawn(url, &server, w, false))
        .collect();
    let mut out = Output::default();
    for child in children {
        finish(child, &mut out);
    }
    check_reports(&out, PROCESSES);
    assert!(
        out.dead.is_empty() && out.caller_dead.is_empty(),
        "a connection died"
    );
    // Each due connection was refreshed once by the sweeps, or by a caller before them.
    let swept: u64 = out.reports.iter().map(|r| r[1]).sum();
    assert!(
        swept <= CONNECTIONS as u64,
        "{swept} sweep refreshes for {CONNECTIONS} connections"
    );
    let before_check = refresh_token_uses(&server).len();
    // Nothing is left due: every connection was refreshed by a sweep or a caller.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let left = open_store(url)
        .due(now, WITHIN.as_secs() as i64, None, 10)
        .unwrap();
    assert!(left.is_empty(), "left due after the fleet: {left:?}");
    check_alive(&server, url, &HashSet::new());
    let uses = refresh_token_uses(&server);
    // Every connection was due: the fleet refreshed each at least once; then each once more.
    assert!(
        before_check >= CONNECTIONS,
        "the fleet refreshed {before_check} times ({swept} by its sweeps) for {CONNECTIONS} due connections"
    );
    assert_eq!(
        uses.len() - before_check,
        CONNECTIONS,
        "refreshes of the last check"
    );
    let twice: Vec<_> = uses.values().filter(|n| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{} refresh tokens used twice",
        twice.len()
    );
}

/// The fleet with two processes killed mid-sweep: they sweep alone until the server has seen
/// 100 refreshes, die, and the six others run as in [`fleet`]; then sweeps run until none
/// finds anything due.
fn fleet_with_kills(url: &str) {
    let _one = one_at_a_time();
    let server = TestServer::start().unwrap();
    add_connections(&server, url);
    let before = server.token_requests("refresh_token").len();
    let mut victims: Vec<_> = (0..2).map(|w| spawn(url, &server, w, true)).collect();
    let started = Instant::now();
    while server.token_requests("refresh_token").len() < before + 100 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the victims never swept"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    for victim in &mut victims {
        // SAFETY: kill on our own child's process id.
        unsafe { libc::kill(victim.id() as libc::pid_t, libc::SIGKILL) };
    }
    for mut victim in victims {
        assert!(!victim.wait().unwrap().success());
    }
    let survivors: Vec<_> = (2..PROCESSES)
        .map(|w| spawn(url, &server, w, false))
        .collect();
    let mut out = Output::default();
    for child in survivors {
        finish(child, &mut out);
    }
    check_reports(&out, PROCESSES - 2);
    // The next sweeps: until nothing is due (a killed process's lease lapses in LOCK_TTL).
    let vault = vault(&server.base_url(), &server.ca_file().to_string_lossy(), url);
    let started = Instant::now();
    loop {
        let report = vault.keep_alive(WITHIN, CONCURRENCY).unwrap();
        assert_eq!(
            report.checked,
            report.refreshed + report.fresh + report.dead.len() as u64 + report.failed.len() as u64
        );
        assert!(report.failed.is_empty());
        out.dead
            .extend(report.dead.iter().map(|(id, _)| id.clone()));
        if report.checked == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "sweeps never settled"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Lost: at most what the two victims had in flight, each reported by a sweep or to a
    // caller (never silently).
    let lost: HashSet<String> = out.dead.iter().chain(&out.caller_dead).cloned().collect();
    assert!(
        lost.len() <= 2 * CONCURRENCY,
        "{} connections lost",
        lost.len()
    );
    let dead_in_store: HashSet<String> = vault
        .connections()
        .map(Result::unwrap)
        .filter(|c| c.state == ConnectionState::Dead)
        .map(|c| c.id)
        .collect();
    assert_eq!(dead_in_store, lost, "a connection died silently");
    check_alive(&server, url, &lost);
    // Only a lost connection's refresh token was sent twice (the killed refresh's, once more).
    let uses = refresh_token_uses(&server);
    let twice = uses.values().filter(|n| **n > 1).count();
    assert!(
        twice <= lost.len(),
        "{twice} refresh tokens used twice, {} lost",
        lost.len()
    );
    eprintln!(
        "fleet with kills: {} connections lost to the killed processes' refreshes in flight",
        lost.len()
    );
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;

    fn url() -> (std::path::PathBuf, String) {
        let dir = std::env::temp_dir().join(servers::unique("concur-fleet"));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("vault.db").display());
        (dir, url)
    }

    #[test]
    fn sqlite_fleet() {
        let (dir, url) = url();
        fleet(&url);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sqlite_fleet_with_kills() {
        let (dir, url) = url();
        fleet_with_kills(&url);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[cfg(feature = "redis")]
mod redis {
    use super::*;

    fn url() -> String {
        format!(
            "{}?prefix={}:",
            servers::redis_server::redis(),
            servers::unique("fleet")
        )
    }

    #[test]
    fn redis_fleet() {
        fleet(&url());
    }

    #[test]
    fn redis_fleet_with_kills() {
        fleet_with_kills(&url());
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    #[test]
    fn postgres_fleet() {
        fleet(&servers::pg_server::database());
    }

    #[test]
    fn postgres_fleet_with_kills() {
        fleet_with_kills(&servers::pg_server::database());
    }
}
