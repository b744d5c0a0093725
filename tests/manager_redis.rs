//! The token manager's Redis store against a real `redis-server` started on a loopback port:
//! eight processes at expiry refresh once between them, a refresh that outlives the lock's TTL
//! keeps its lock alive and saves its rotated token, a save whose lock lapsed still lands when
//! nothing newer was stored, a worker that stalled past its lock cannot overwrite a newer token,
//! and garbage or an unreachable server is a store error.
//! Built with the `redis` feature, which the test command turns on.
#![cfg(feature = "redis")]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use concur_native::manager::{
    RedisStore, Sealer, Start, StoreLock, StoredToken, TokenManager, TokenStore,
};
use concur_native::oauth2::Grant;
use concur_native::{Client, ErrorKind, Options};
use concur_test_server::{
    ACCOUNTS, OAUTH2_CLIENT_ID as ID, OAUTH2_CLIENT_SECRET as SECRET, shared as server,
};

/// One `redis-server` for the program, on a free loopback port, without persistence. It is
/// started from a thread that lives as long as the program, with the parent-death signal set,
/// so it ends with the program (a static is never dropped: a server started otherwise
/// outlived every run).
fn redis() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut command = Command::new("redis-server");
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args([
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--protected-mode",
                    "yes",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SAFETY: only prctl, which is async-signal-safe, runs in the child before exec.
            unsafe {
                command.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            // Never waited for: it is killed (parent-death signal) when the program ends.
            #[allow(clippy::zombie_processes)]
            let _child: Child = command
                .spawn()
                .expect("redis-server is installed (Debian package redis-server)");
            sender.send(format!("redis://127.0.0.1:{port}/")).unwrap();
            // The parent-death signal follows this thread: it must outlive every test.
            loop {
                std::thread::park();
            }
        });
        let url = receiver.recv().expect("redis-server started");
        let client = redis::Client::open(url.as_str()).unwrap();
        let started = Instant::now();
        while client.get_connection().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        url
    })
}

fn key(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "concur-test:{name}:{}:{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn token(refresh: &str, access: &str) -> StoredToken {
    StoredToken {
        refresh_token: Some(refresh.into()),
        refresh_expires_at: None,
        geolocation: None,
        access_token: Some(access.into()),
        expires_at: Some(1),
    }
}

fn raw() -> redis::Connection {
    redis::Client::open(redis())
        .unwrap()
        .get_connection()
        .unwrap()
}

fn stored(store: &RedisStore) -> StoredToken {
    Sealer::default()
        .load(store)
        .unwrap()
        .expect("a stored token")
}

fn save(lock: &mut dyn StoreLock, token: &StoredToken) -> Result<(), concur_native::Error> {
    lock.save(&token.to_document())
}

/// The lock vanishing as if it had expired (a crash of the keeper, a failover).
fn lapse(k: &str) {
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{k}:lock"))
        .query(&mut raw())
        .unwrap();
}

#[test]
fn a_save_whose_lock_lapsed_lands_when_nothing_newer_was_stored() {
    let k = key("lapsed");
    let store = RedisStore::new(redis(), &k).unwrap();
    let mut lock = store.lock(Duration::from_secs(1)).unwrap();
    save(&mut *lock, &token("seeded", "a")).expect_err("a save needs a load first");
    assert!(lock.load().unwrap().is_none());
    save(&mut *lock, &token("first", "a")).unwrap();
    lapse(&k);
    // No other holder: the rotated refresh token is kept (audit S1: it was dropped).
    save(&mut *lock, &token("rotated", "b")).unwrap();
    drop(lock);
    assert_eq!(stored(&store).refresh_token.as_deref(), Some("rotated"));
}

#[test]
fn a_stalled_lock_holder_cannot_overwrite_a_newer_token() {
    let k = key("stalled");
    let store = RedisStore::new(redis(), &k).unwrap();
    let mut first = store.lock(Duration::from_secs(1)).unwrap();
    first.load().unwrap();
    save(&mut *first, &token("seeded", "a")).unwrap();
    drop(first);
    let mut stalled = store.lock(Duration::from_secs(1)).unwrap();
    stalled.load().unwrap();
    lapse(&k);
    let other = RedisStore::new(redis(), &k).unwrap();
    let mut newer = other.lock(Duration::from_secs(1)).unwrap();
    newer.load().unwrap();
    save(&mut *newer, &token("newer-refresh", "newer-access")).unwrap();
    drop(newer);
    let e = save(&mut *stalled, &token("stale-refresh", "stale-access")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store);
    assert!(e.to_string().contains("newer one was kept"), "{e}");
    drop(stalled);
    assert_eq!(
        stored(&store).refresh_token.as_deref(),
        Some("newer-refresh")
    );
}

#[test]
fn a_held_lock_is_kept_alive_past_its_ttl() {
    let k = key("alive");
    let store = RedisStore::new(redis(), &k)
        .unwrap()
        .lock_ttl(Duration::from_millis(900));
    let held = store.lock(Duration::from_secs(1)).unwrap();
    // Three TTLs later the lock is still there and still excludes another holder.
    std::thread::sleep(Duration::from_millis(2700));
    let pttl: i64 = redis::cmd("PTTL")
        .arg(format!("{k}:lock"))
        .query(&mut raw())
        .unwrap();
    assert!(pttl > 0, "the lock expired while held (PTTL {pttl})");
    let other = RedisStore::new(redis(), &k).unwrap();
    assert!(other.lock(Duration::from_millis(50)).is_err());
    drop(held);
    let pttl: i64 = redis::cmd("PTTL")
        .arg(format!("{k}:lock"))
        .query(&mut raw())
        .unwrap();
    assert_eq!(pttl, -2, "released on drop");
}

/// Audit S1 end to end: a refresh that takes longer than the lock's TTL (the server answers
/// after 1.5 s, the TTL is 0.3 s) saves its rotated refresh token and the next holder uses it.
#[test]
fn a_refresh_slower_than_the_lock_ttl_keeps_the_connection() {
    let k = key("slow");
    let refresh = seeded_refresh_token();
    let slow = RedisStore::new(redis(), &k)
        .unwrap()
        .lock_ttl(Duration::from_millis(300));
    let options = Options::new()
        .base_url(server().scenario_url("slow-headers-1500"))
        .ca_file(server().ca_file())
        .timeout(Duration::from_secs(60));
    let m = TokenManager::new(
        Arc::new(Client::new(&options).unwrap()),
        ID,
        SECRET,
        Start::RefreshToken {
            refresh_token: refresh.clone(),
            geolocation: None,
        },
    )
    .unwrap()
    .with_store(slow);
    let token = m.access_token().expect("the slow refresh is saved");
    let kept = stored(&RedisStore::new(redis(), &k).unwrap());
    assert_ne!(kept.refresh_token.as_deref(), Some(refresh.as_str()));
    assert_eq!(kept.access_token.as_deref(), Some(token.as_str()));
    // The next holder refreshes with the rotated token: the connection lives.
    let next = client()
        .oauth2_token(
            ID,
            SECRET,
            &Grant::RefreshToken {
                refresh_token: kept.refresh_token.as_deref().unwrap(),
                scope: None,
            },
            None,
        )
        .expect("the saved refresh token works");
    assert!(next.refresh_token().is_some());
}

#[test]
fn garbage_and_an_unreachable_server_are_store_errors() {
    let k = key("garbage");
    let mut raw = redis::Client::open(redis())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(&k)
        .arg("{not a token")
        .query(&mut raw)
        .unwrap();
    let e = Sealer::default()
        .load(&RedisStore::new(redis(), &k).unwrap())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store);

    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:hunter2@127.0.0.1:{closed}/");
    let store = RedisStore::new(&url, "k").unwrap();
    let e = store.load().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store);
    assert!(!e.to_string().contains("hunter2") && !format!("{store:?}").contains("hunter2"));
    assert_eq!(
        RedisStore::new("http://x", "k").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

// ---- eight processes ---------------------------------------------------------------------

/// Not a test of its own: the entry point of the child processes started below.
#[test]
fn child_process_entry() {
    let Ok(k) = std::env::var("CONCUR_REDIS_CHILD") else {
        return;
    };
    let options = Options::new()
        .base_url(std::env::var("CONCUR_MANAGER_BASE").unwrap())
        .ca_file(std::env::var("CONCUR_MANAGER_CA").unwrap())
        .timeout(Duration::from_secs(60))
        .correlation_id(std::env::var("CONCUR_MANAGER_TAG").unwrap());
    let store = RedisStore::new(&std::env::var("CONCUR_REDIS_URL").unwrap(), &k).unwrap();
    let m = TokenManager::new(
        Arc::new(Client::new(&options).unwrap()),
        ID,
        SECRET,
        Start::RefreshToken {
            refresh_token: "unused-start".into(),
            geolocation: None,
        },
    )
    .unwrap()
    .with_store(store);
    let go = std::env::var("CONCUR_MANAGER_GO").unwrap();
    let waited = Instant::now();
    while !std::path::Path::new(&go).exists() {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no start signal"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    println!(
        "ACCESS_TOKEN={}",
        m.access_token().expect("a token").as_str()
    );
}

#[test]
fn eight_processes_sharing_redis_refresh_once() {
    let k = key("procs");
    let store = RedisStore::new(redis(), &k).unwrap();
    let refresh = seeded_refresh_token();
    let mut lock = store.lock(Duration::from_secs(1)).unwrap();
    lock.load().unwrap();
    save(&mut *lock, &token(&refresh, "expired")).unwrap();
    drop(lock);

    let dir = std::env::temp_dir().join(format!("concur-redis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let go = dir.join(format!("go-{k}").replace(':', "_"));
    let prefix = k.replace(':', "-");
    let children: Vec<Child> = (0..8)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "child_process_entry",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("CONCUR_REDIS_CHILD", &k)
                .env("CONCUR_REDIS_URL", redis())
                .env("CONCUR_MANAGER_BASE", server().base_url())
                .env("CONCUR_MANAGER_CA", server().ca_file())
                .env("CONCUR_MANAGER_TAG", format!("{prefix}-{i}"))
                .env("CONCUR_MANAGER_GO", &go)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(&go, b"").unwrap();
    let tokens: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "a child failed");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .find_map(|l| {
                    l.split_once("ACCESS_TOKEN=")
                        .map(|(_, t)| t.trim().to_string())
                })
                .expect("a token printed")
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    let refreshes = server()
        .token_requests("refresh_token")
        .iter()
        .filter(|r| {
            r.header("concur-correlationid")
                .is_some_and(|c| c.starts_with(&prefix))
        })
        .count();
    assert_eq!(refreshes, 1, "one refresh between eight processes");
    let stored = stored(&store);
    assert_eq!(stored.access_token.as_deref(), Some(tokens[0].as_str()));
    assert_ne!(stored.refresh_token.as_deref(), Some(refresh.as_str()));
}

/// A fresh user refresh token from a password grant.
fn seeded_refresh_token() -> String {
    client()
        .oauth2_token(
            ID,
            SECRET,
            &Grant::Password {
                username: ACCOUNTS[0].login_id,
                password: ACCOUNTS[0].password,
                scope: None,
            },
            None,
        )
        .unwrap()
        .refresh_token()
        .unwrap()
        .to_string()
}

fn client() -> Client {
    Client::new(
        &Options::new()
            .base_url(server().base_url())
            .ca_file(server().ca_file()),
    )
    .unwrap()
}
