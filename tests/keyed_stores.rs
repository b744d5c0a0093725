//! The vault's keyed stores against one conformance suite over `&dyn KeyedStore` — memory,
//! SQLite (a temporary file), Redis (a real `redis-server` on a loopback port) and PostgreSQL
//! (a real server started by this program) — plus each store's own cases: bad and unreachable
//! URLs, a schema newer than the library left untouched, nothing left after a remove, and
//! Redis's warning when it runs without persistence.
//! The SQLite, Redis and PostgreSQL parts need their cargo features (the test command turns them
//! on).

#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
use std::process::Stdio;
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use concur_native::ErrorKind;
use concur_native::manager::{
    ConnectionKind, ConnectionRecord, ConnectionState, KeyedStore, MemoryKeyedStore,
};

#[path = "support/servers.rs"]
mod servers;
#[cfg(any(feature = "redis", feature = "postgres"))]
use servers::free_port;
#[cfg(feature = "postgres")]
use servers::pg_server;
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
use servers::unique;

fn record(
    id: &str,
    refresh_expires_at: Option<i64>,
    last_refresh: Option<i64>,
) -> ConnectionRecord {
    ConnectionRecord {
        id: id.into(),
        kind: ConnectionKind::Company,
        subject: Some(format!("subject of {id}")),
        geolocation: Some("https://us.api.concursolutions.com".into()),
        expires_at: Some(1_700_003_600),
        refresh_expires_at,
        last_refresh,
        state: ConnectionState::Active,
        concur_code: None,
        failures: 0,
        added_at: 1_700_000_000,
    }
}

fn put(store: &dyn KeyedStore, record: &ConnectionRecord, document: &[u8]) {
    let mut lock = store.lock(&record.id, Duration::from_secs(10)).unwrap();
    lock.load().unwrap();
    lock.save(Some(document), record).unwrap();
}

fn ids(records: &[ConnectionRecord]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

/// What a store's test gives the suite beyond the store itself.
struct Harness<'a> {
    /// A second handle on the same data, as another process would open it.
    other: &'a dyn KeyedStore,
    /// Writes a new document for `id` behind the store's back, as a holder whose lock lapsed
    /// would (None for a store whose lock cannot lapse).
    overwrite: Option<&'a dyn Fn(&str)>,
    /// Everything the store holds, counted in its own terms (rows, keys), for "nothing left".
    residue: &'a dyn Fn() -> u64,
}

/// The conformance suite: every keyed store must pass it.
fn conformance(store: &dyn KeyedStore, h: &Harness<'_>) {
    assert_eq!(store.count().unwrap(), 0);
    assert!(store.load("nobody").unwrap().is_none());
    assert!(store.record("nobody").unwrap().is_none());
    assert!(!store.remove("nobody").unwrap());

    // Add, load, record, update under one lock.
    let first = record("first", Some(2_000_000_000), Some(1_700_000_000));
    {
        let mut lock = store.lock("first", Duration::ZERO).unwrap();
        assert!(lock.load().unwrap().is_none());
        assert!(lock.record().unwrap().is_none());
        // No document yet: a record alone cannot be saved.
        assert_eq!(
            lock.save(None, &first).unwrap_err().kind(),
            ErrorKind::Store
        );
        lock.save(Some(b"document one"), &first).unwrap();
        assert_eq!(&lock.load().unwrap().unwrap()[..], b"document one");
        // A second save under the same lock follows the first.
        let mut failing = first.clone();
        failing.state = ConnectionState::Failing;
        failing.failures = 2;
        lock.save(None, &failing).unwrap();
        assert_eq!(lock.record().unwrap().unwrap(), failing);
        assert_eq!(&lock.load().unwrap().unwrap()[..], b"document one");
        lock.save(Some(b"document two"), &first).unwrap();
    }
    assert_eq!(&store.load("first").unwrap().unwrap()[..], b"document two");
    assert_eq!(
        &h.other.load("first").unwrap().unwrap()[..],
        b"document two"
    );
    assert_eq!(store.record("first").unwrap().unwrap(), first);
    let mut odd = record("odd \u{e9}\u{1f600} id", None, None);
    odd.kind = ConnectionKind::User;
    odd.subject = None;
    odd.geolocation = None;
    odd.expires_at = None;
    odd.state = ConnectionState::Dead;
    odd.concur_code = Some(108);
    odd.failures = u32::MAX;
    odd.added_at = -5;
    put(store, &odd, &[0, 1, 2, 255]);
    assert_eq!(h.other.record(&odd.id).unwrap().unwrap(), odd);
    assert_eq!(&store.load(&odd.id).unwrap().unwrap()[..], &[0, 1, 2, 255]);
    assert!(store.remove("first").unwrap());
    assert!(store.remove(&odd.id).unwrap());
    assert_eq!(store.count().unwrap(), 0);

    // Compare-and-swap: a save after another holder saved is refused, and changes nothing.
    if let Some(overwrite) = h.overwrite {
        put(store, &record("cas", Some(5), None), b"old");
        let mut lock = store.lock("cas", Duration::ZERO).unwrap();
        assert_eq!(&lock.load().unwrap().unwrap()[..], b"old");
        overwrite("cas");
        let mut mine = record("cas", Some(6), None);
        mine.failures = 9;
        assert_eq!(
            lock.save(Some(b"mine"), &mine).unwrap_err().kind(),
            ErrorKind::Store
        );
        assert_eq!(lock.save(None, &mine).unwrap_err().kind(), ErrorKind::Store);
        assert_ne!(&store.load("cas").unwrap().unwrap()[..], b"mine");
        assert_ne!(store.record("cas").unwrap().unwrap().failures, 9);
        // Reading again makes the newer document the compare side.
        lock.load().unwrap();
        lock.save(Some(b"mine"), &mine).unwrap();
        drop(lock);
        assert_eq!(&store.load("cas").unwrap().unwrap()[..], b"mine");
        assert!(store.remove("cas").unwrap());
    }

    // Locks: exclusion across handles, ZERO skips, a waiter gets it when released.
    {
        let held = store.lock("locked", Duration::ZERO).unwrap();
        let e = h.other.lock("locked", Duration::ZERO).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Store);
        let started = Instant::now();
        assert!(h.other.lock("locked", Duration::from_millis(150)).is_err());
        assert!(started.elapsed() >= Duration::from_millis(150));
        drop(h.other.lock("free", Duration::ZERO).unwrap());
        let barrier = Barrier::new(2);
        let order = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            s.spawn(|| {
                barrier.wait();
                let _lock = h.other.lock("locked", Duration::from_secs(20)).unwrap();
                order.lock().unwrap().push("waiter");
            });
            barrier.wait();
            std::thread::sleep(Duration::from_millis(50));
            order.lock().unwrap().push("holder");
            drop(held);
        });
        assert_eq!(*order.lock().unwrap(), ["holder", "waiter"]);
        drop(store.lock("locked", Duration::ZERO).unwrap());
    }

    // Paging 2,500 records by ID, in byte order, with a cursor.
    let mut expected: Vec<String> = (0..2_500)
        .map(|i| format!("c-{:05}", (i * 7919) % 2_500))
        .collect();
    expected.push("C-upper".into());
    expected.push("c-\u{e9}".into());
    for id in &expected {
        put(store, &record(id, Some(1_800_000_000), None), b"d");
    }
    expected.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(store.count().unwrap(), expected.len() as u64);
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = h.other.records(after.as_deref(), 333).unwrap();
        assert!(page.len() <= 333);
        if page.is_empty() {
            break;
        }
        after = Some(page.last().unwrap().id.clone());
        seen.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(seen, expected);
    assert_eq!(
        ids(&store.records(Some("c-00001"), 2).unwrap()),
        ["c-00002", "c-00003"]
    );
    assert!(store.records(Some("c-\u{e9}"), 10).unwrap().is_empty());
    for id in &expected {
        assert!(store.remove(id).unwrap());
    }
    assert_eq!(store.count().unwrap(), 0);

    // The sweep: due order, cursor, dead left out.
    let now = 1_000_000;
    let within = 1_000;
    let mut dead = record("dead", Some(now), None);
    dead.state = ConnectionState::Dead;
    let mut failing = record("failing", Some(now + 10), None);
    failing.state = ConnectionState::Failing;
    for r in [
        record("k-late", Some(now + 999), None),
        record("k-early", Some(now - 50), None),
        record("k-tie-b", Some(now + 10), None),
        record("k-tie-a", Some(now + 10), None),
        record("k-fresh", Some(now + 1_000), None),
        record("u-never", None, None),
        record("u-old", None, Some(now - 1_001)),
        record("u-older", None, Some(now - 5_000)),
        record("u-recent", None, Some(now - 1_000)),
        dead,
        failing,
    ] {
        put(store, &r, b"d");
    }
    let due = store.due(now, within, None, 100).unwrap();
    // Sweep keys: u-never MIN, u-older -4000, k-early now-50, u-old now-1, ties at now+10
    // (failing, k-tie-a, k-tie-b by ID), k-late now+999.
    let order = [
        "u-never", "u-older", "k-early", "u-old", "failing", "k-tie-a", "k-tie-b", "k-late",
    ];
    assert_eq!(ids(&due), order);
    for r in &due {
        assert!(r.is_due(now, within));
    }
    for limit in [1, 2, 3] {
        let mut paged = Vec::new();
        let mut cursor: Option<(i64, String)> = None;
        loop {
            let page = h
                .other
                .due(
                    now,
                    within,
                    cursor.as_ref().map(|(k, id)| (*k, id.as_str())),
                    limit,
                )
                .unwrap();
            assert!(page.len() <= limit);
            let Some(last) = page.last() else { break };
            cursor = Some((last.sweep_key(within), last.id.clone()));
            paged.extend(page.into_iter().map(|r| r.id));
        }
        assert_eq!(paged, order, "paged by {limit}");
    }
    // A refreshed connection leaves the sweep.
    put(
        store,
        &record("k-early", Some(now + 10 * within), Some(now)),
        b"d2",
    );
    assert!(!ids(&store.due(now, within, None, 100).unwrap()).contains(&"k-early"));
    assert_eq!(store.due(now, within, None, 0).unwrap().len(), 0);
    for r in store.records(None, 100).unwrap() {
        assert!(store.remove(&r.id).unwrap());
    }

    // Nothing left of anything.
    assert_eq!(store.count().unwrap(), 0);
    assert_eq!((h.residue)(), 0, "the store still holds something");
}

#[test]
fn memory_store_conforms() {
    let store = MemoryKeyedStore::new();
    conformance(
        &store,
        &Harness {
            other: &store,
            overwrite: None,
            residue: &|| store.count().unwrap(),
        },
    );
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use concur_native::manager::sqlite::SqliteStore;

    fn temp_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(unique("concur-keyed-sqlite"));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn raw(path: &std::path::Path) -> rusqlite::Connection {
        rusqlite::Connection::open(path).unwrap()
    }

    #[test]
    fn sqlite_store_conforms() {
        let dir = temp_dir();
        let path = dir.join("vault.db");
        let url = format!("sqlite://{}", path.display());
        let store = SqliteStore::open(&url).unwrap();
        let other = SqliteStore::open(&url).unwrap();
        let overwrite = |id: &str| {
            raw(&path)
                .execute(
                    "UPDATE connections SET document = x'6e6577', generation = generation + 1 WHERE id = ?1",
                    [id],
                )
                .unwrap();
        };
        let residue = || {
            let c = raw(&path);
            let n = |table: &str| -> i64 {
                c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                    .unwrap()
            };
            (n("connections") + n("locks")) as u64
        };
        conformance(
            &store,
            &Harness {
                other: &other,
                overwrite: Some(&overwrite),
                residue: &residue,
            },
        );
        let mode: String = raw(&path)
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(store.identity("a b"), format!("{url}#a b"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sqlite_urls_are_checked() {
        for bad in [
            "",
            "sqlite:",
            "sqlite://",
            "sqlite:///",
            "file:///tmp/x.db",
            "sqlite:///tmp/dir/",
            "sqlite:///tmp/a\nb.db",
        ] {
            let e = SqliteStore::open(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
        let dir = temp_dir();
        // A directory that does not exist, and a file that is no database.
        let missing = format!("sqlite://{}/no/such/dir/v.db", dir.display());
        assert_eq!(
            SqliteStore::open(&missing).unwrap_err().kind(),
            ErrorKind::Store
        );
        let junk = dir.join("junk.db");
        std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
        let e = SqliteStore::open(&format!("sqlite://{}", junk.display())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Store);
        assert_eq!(std::fs::read(&junk).unwrap(), vec![b'x'; 4096]);
        // A relative path is relative to the working directory.
        let relative = SqliteStore::open(&format!("sqlite://{}", pathdiff(&dir.join("rel.db"))));
        assert!(relative.is_ok());
        assert!(dir.join("rel.db").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// `path` relative to the working directory.
    fn pathdiff(path: &std::path::Path) -> String {
        let cwd = std::env::current_dir().unwrap();
        let ups = cwd.components().count() - 1;
        format!(
            "{}{}",
            "../".repeat(ups),
            path.strip_prefix("/").unwrap().display()
        )
    }

    #[test]
    fn a_newer_sqlite_schema_is_refused_untouched() {
        let dir = temp_dir();
        let path = dir.join("vault.db");
        let url = format!("sqlite://{}", path.display());
        let store = SqliteStore::open(&url).unwrap();
        put(&store, &record("kept", Some(1), None), b"doc");
        drop(store);
        raw(&path)
            .execute(
                "UPDATE meta SET value = 99 WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        let e = SqliteStore::open(&url).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Store);
        assert!(
            e.to_string()
                .contains("version 99, newer than this library's 1"),
            "{e}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_crashed_holders_sqlite_lock_lapses() {
        let dir = temp_dir();
        let url = format!("sqlite://{}", dir.join("vault.db").display());
        let store = SqliteStore::open(&url)
            .unwrap()
            .lock_ttl(Duration::from_millis(300));
        let held = store.lock("a", Duration::ZERO).unwrap();
        // Alive: renewed past its TTL.
        std::thread::sleep(Duration::from_millis(700));
        assert!(store.lock("a", Duration::ZERO).is_err());
        // A crash: the holder's process dies without releasing; its row stays with an expiry
        // that passes (here: made past at once; the keeper then finds the row no longer its
        // own and stops renewing).
        std::mem::forget(held);
        let c = raw(&dir.join("vault.db"));
        c.execute(
            "UPDATE locks SET holder = 'dead process', expires_ms = 0",
            [],
        )
        .unwrap();
        drop(store.lock("a", Duration::ZERO).unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Collects the `log` records of this program (the Redis persistence warning).
#[cfg(feature = "redis")]
mod captured {
    use std::sync::{Mutex, Once};

    static RECORDS: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            RECORDS
                .lock()
                .unwrap()
                .push((record.level(), record.args().to_string()));
        }
        fn flush(&self) {}
    }

    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            log::set_boxed_logger(Box::new(Capture)).unwrap();
            log::set_max_level(log::LevelFilter::Debug);
        });
    }

    /// The warnings that mention `needle`.
    pub fn warnings(needle: &str) -> Vec<String> {
        RECORDS
            .lock()
            .unwrap()
            .iter()
            .filter(|(level, text)| *level == log::Level::Warn && text.contains(needle))
            .map(|(_, text)| text.clone())
            .collect()
    }
}

#[cfg(feature = "redis")]
mod redis_store {
    use super::*;
    use crate::servers::redis_server::redis;
    use concur_native::manager::redis_keyed::RedisKeyedStore;

    fn raw() -> redis::Connection {
        redis::Client::open(redis())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    fn keys(prefix: &str) -> Vec<String> {
        let mut c = raw();
        let mut found: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut c)
            .unwrap();
        found.sort();
        found
    }

    #[test]
    fn redis_store_conforms() {
        let prefix = format!("{}:", unique("keyed"));
        let url = format!("{}?prefix={prefix}", redis());
        let store = RedisKeyedStore::open(&url).unwrap();
        let other = RedisKeyedStore::open(&url).unwrap();
        assert_eq!(store.prefix(), prefix);
        let overwrite = |id: &str| {
            let mut c = raw();
            let _: () = redis::cmd("HSET")
                .arg(format!("{prefix}c:{id}"))
                .arg("doc")
                .arg("new")
                .arg("gen")
                .arg("12345")
                .query(&mut c)
                .unwrap();
        };
        let residue = || {
            // Only the schema version stays.
            keys(&prefix)
                .iter()
                .filter(|k| **k != format!("{prefix}meta"))
                .count() as u64
        };
        conformance(
            &store,
            &Harness {
                other: &other,
                overwrite: Some(&overwrite),
                residue: &residue,
            },
        );
        assert_eq!(keys(&prefix), [format!("{prefix}meta")]);
        assert_eq!(store.identity("x"), format!("{url}#x"));
    }

    #[test]
    fn redis_identity_leaves_the_password_out() {
        // Parsing needs no server: the URL is checked, then the connection fails.
        let e = RedisKeyedStore::open("redis://user:secret-pw@127.0.0.1:1/0").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Store);
        assert!(!e.to_string().contains("secret-pw"));
        assert!(!format!("{e:?}").contains("secret-pw"));
    }

    #[test]
    fn redis_urls_are_checked() {
        for bad in [
            "",
            "memory:",
            "http://127.0.0.1:6379",
            "redis",
            "redis://h?prefix=",
            "redis://h:notaport/",
            "rediss://127.0.0.1:6379/",
        ] {
            let e = RedisKeyedStore::open(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
        let closed = format!("redis://127.0.0.1:{}/", free_port());
        assert_eq!(
            RedisKeyedStore::open(&closed).unwrap_err().kind(),
            ErrorKind::Store
        );
    }

    #[test]
    fn a_newer_redis_schema_is_refused_untouched() {
        let prefix = format!("{}:", unique("newer"));
        let url = format!("{}?prefix={prefix}", redis());
        let store = RedisKeyedStore::open(&url).unwrap();
        put(&store, &record("kept", Some(1), None), b"doc");
        drop(store);
        let mut c = raw();
        let _: () = redis::cmd("HSET")
            .arg(format!("{prefix}meta"))
            .arg("schema_version")
            .arg(7)
            .query(&mut c)
            .unwrap();
        let before = keys(&prefix);
        let e = RedisKeyedStore::open(&url).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Store);
        assert!(
            e.to_string()
                .contains("version 7, newer than this library's 1"),
            "{e}"
        );
        assert_eq!(keys(&prefix), before);
        let version: i64 = redis::cmd("HGET")
            .arg(format!("{prefix}meta"))
            .arg("schema_version")
            .query(&mut c)
            .unwrap();
        assert_eq!(version, 7);
    }

    #[test]
    fn redis_without_persistence_is_warned_about_once_per_open() {
        captured::install();
        let prefix = format!("{}:", unique("warned"));
        let url = format!("{}?prefix={prefix}", redis());
        let store = RedisKeyedStore::open(&url).unwrap();
        let warnings = captured::warnings(&prefix);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("appendonly"), "{}", warnings[0]);
        // Using the store warns no more.
        put(&store, &record("a", Some(1), None), b"d");
        assert_eq!(captured::warnings(&prefix).len(), 1);
        assert!(store.remove("a").unwrap());
        // With an append-only file: no warning.
        let quiet = format!("{}:", unique("persistent"));
        let server = redis::Client::open(redis()).unwrap();
        let mut c = server.get_connection().unwrap();
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("appendonly")
            .arg("yes")
            .query(&mut c)
            .unwrap();
        let opened = RedisKeyedStore::open(&format!("{}?prefix={quiet}", redis()));
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("appendonly")
            .arg("no")
            .query(&mut c)
            .unwrap();
        opened.unwrap();
        assert!(captured::warnings(&quiet).is_empty());
    }

    #[test]
    fn a_crashed_holders_redis_lock_lapses() {
        let prefix = format!("{}:", unique("lapse"));
        let url = format!("{}?prefix={prefix}", redis());
        let store = RedisKeyedStore::open(&url)
            .unwrap()
            .lock_ttl(Duration::from_millis(300));
        let held = store.lock("a", Duration::ZERO).unwrap();
        // Alive: renewed past its TTL.
        std::thread::sleep(Duration::from_millis(700));
        assert!(store.lock("a", Duration::ZERO).is_err());
        // A crash: the holder dies without releasing; made so here by taking the lease away
        // (its keeper then stops renewing) and letting it expire.
        std::mem::forget(held);
        let mut c = raw();
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}lock:a"))
            .arg("dead process")
            .arg("PX")
            .arg(200)
            .query(&mut c)
            .unwrap();
        assert!(store.lock("a", Duration::ZERO).is_err());
        drop(store.lock("a", Duration::from_secs(5)).unwrap());
    }
}

#[cfg(feature = "postgres")]
mod postgres_store {
    use super::*;
    use concur_native::manager::postgres::PostgresStore;

    #[test]
    fn postgres_store_conforms() {
        let url = pg_server::database();
        let store = PostgresStore::open(&url).unwrap();
        let other = PostgresStore::open(&url).unwrap();
        let overwrite = |id: &str| {
            pg_server::raw(&url)
                .execute(
                    "UPDATE concur_vault_connections SET document = 'new', generation = generation + 1 WHERE id = $1",
                    &[&id],
                )
                .unwrap();
        };
        let residue = || {
            let mut c = pg_server::raw(&url);
            let rows: i64 = c
                .query_one("SELECT COUNT(*) FROM concur_vault_connections", &[])
                .unwrap()
                .get(0);
            let locks: i64 = c
                .query_one(
                    "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'",
                    &[],
                )
                .unwrap()
                .get(0);
            (rows + locks) as u64
        };
        conformance(
            &store,
            &Harness {
                other: &other,
                overwrite: Some(&overwrite),
                residue: &residue,
            },
        );
        assert_eq!(store.identity("x"), format!("{url}#x"));
    }

    #[test]
    fn postgres_urls_are_checked() {
        for bad in [
            "",
            "memory:",
            "postgres",
            "mysql://u@h/db",
            "postgres://u@h:notaport/db",
            "postgres://u@h/db?sslmode=bogus",
        ] {
            let e = PostgresStore::open(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
        let closed = format!("postgres://u:secret-pw@127.0.0.1:{}/db", free_port());
        let e = PostgresStore::open(&closed).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Store);
        assert!(!format!("{e} {e:?}").contains("secret-pw"));
    }

    #[test]
    fn postgres_identity_leaves_the_password_out() {
        let url = pg_server::database();
        let with_password = url.replacen("postgres@", "postgres:pw-unused@", 1);
        let store = PostgresStore::open(&with_password).unwrap();
        assert_eq!(store.identity("a"), format!("{url}#a"));
        assert!(!format!("{store:?}").contains("pw-unused"));
    }

    #[test]
    fn postgres_over_tls_verifies_the_server() {
        let url = pg_server::database().replacen("postgres@", "tlsonly@", 1);
        // Plain TCP is refused for this role: a session proves TLS.
        let plain = format!("{url}?sslmode=disable");
        assert_eq!(
            PostgresStore::open(&plain).unwrap_err().kind(),
            ErrorKind::Store
        );
        let ca = pg_server::ca_file();
        for mode in ["require", "verify-full"] {
            let tls = format!("{url}?sslmode={mode}&sslrootcert={}", ca.display());
            let store = PostgresStore::open(&tls).unwrap();
            put(&store, &record("over tls", Some(1), None), b"doc");
            assert_eq!(&store.load("over tls").unwrap().unwrap()[..], b"doc");
            assert!(store.remove("over tls").unwrap());
        }
        // Without the test CA the server's certificate is not trusted.
        let untrusted = format!("{url}?sslmode=require");
        assert_eq!(
            PostgresStore::open(&untrusted).unwrap_err().kind(),
            ErrorKind::Store
        );
        // By a name its certificate does not carry (the CA trusted): refused.
        let misnamed = format!(
            "{}?sslmode=require&sslrootcert={}",
            url.replacen("127.0.0.1", "127.0.0.2", 1),
            ca.display()
        );
        assert!(PostgresStore::open(&misnamed).is_err());
        // A root file that cannot be read or holds no certificate is the caller's error.
        for root in ["/nonexistent/ca.pem", "/etc/hostname"] {
            let e = PostgresStore::open(&format!("{url}?sslmode=require&sslrootcert={root}"))
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{root}");
        }
    }

    #[test]
    fn a_newer_postgres_schema_is_refused_untouched() {
        let url = pg_server::database();
        let store = PostgresStore::open(&url).unwrap();
        put(&store, &record("kept", Some(1), None), b"doc");
        drop(store);
        let mut c = pg_server::raw(&url);
        c.execute(
            "UPDATE concur_vault_meta SET value = 42 WHERE key = 'schema_version'",
            &[],
        )
        .unwrap();
        let e = PostgresStore::open(&url).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Store);
        assert!(
            e.to_string()
                .contains("version 42, newer than this library's 1"),
            "{e}"
        );
        let version: i64 = c
            .query_one(
                "SELECT value FROM concur_vault_meta WHERE key = 'schema_version'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(version, 42);
        let rows: i64 = c
            .query_one("SELECT COUNT(*) FROM concur_vault_connections", &[])
            .unwrap()
            .get(0);
        assert_eq!(rows, 1);
    }

    #[test]
    fn eight_threads_open_one_new_postgres_store_at_once() {
        let url = pg_server::database();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| PostgresStore::open(&url).unwrap());
            }
        });
    }

    #[test]
    fn a_crashed_holders_postgres_lock_ends_with_its_session() {
        let url = pg_server::database();
        let store = PostgresStore::open(&url).unwrap();
        let mut other = pg_server::raw(&url);
        // Another process holds connection a's lock, then dies (its session closes).
        let key: i64 = other
            .query_one("SELECT hashtextextended('concur_vault:' || 'a', 0)", &[])
            .unwrap()
            .get(0);
        other
            .execute("SELECT pg_advisory_lock($1)", &[&key])
            .unwrap();
        assert!(store.lock("a", Duration::ZERO).is_err());
        drop(other);
        drop(store.lock("a", Duration::from_secs(10)).unwrap());
    }
}

/// The child side of the multi-process tests: when `KEYED_CHILD` names a store URL, this
/// process is one of eight workers; otherwise it does nothing.
#[test]
fn keyed_child() {
    let Ok(url) = std::env::var("KEYED_CHILD") else {
        return;
    };
    let worker: usize = std::env::var("KEYED_WORKER").unwrap().parse().unwrap();
    let store = open_any(&url);
    increments(&*store, worker);
}

/// How many connections the workers share, and how many increments each makes.
const SHARED: usize = 12;
const ROUNDS: usize = 30;

fn open_any(url: &str) -> Box<dyn KeyedStore> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Box::new(concur_native::manager::sqlite::SqliteStore::open(url).unwrap());
    }
    #[cfg(feature = "redis")]
    if url.starts_with("redis:") {
        return Box::new(concur_native::manager::redis_keyed::RedisKeyedStore::open(url).unwrap());
    }
    #[cfg(feature = "postgres")]
    if url.starts_with("postgres:") {
        return Box::new(concur_native::manager::postgres::PostgresStore::open(url).unwrap());
    }
    panic!("no store for this URL in this build");
}

/// One worker: ROUNDS read-increment-save cycles, each under the connection's lock, over the
/// shared connections (starting at a different one per worker, so that they collide).
fn increments(store: &dyn KeyedStore, worker: usize) {
    for round in 0..ROUNDS {
        let id = format!("counter-{:02}", (worker * 5 + round) % SHARED);
        let mut lock = store.lock(&id, Duration::from_secs(60)).unwrap();
        let value: u64 = lock
            .load()
            .unwrap()
            .map_or(0, |d| std::str::from_utf8(&d).unwrap().parse().unwrap());
        // Widen the window in which a second holder would read the same value.
        std::thread::sleep(Duration::from_millis(2));
        let mut r = record(&id, Some(2_000_000_000 + value as i64), Some(value as i64));
        r.failures = u32::try_from(value + 1).unwrap();
        lock.save(Some((value + 1).to_string().as_bytes()), &r)
            .unwrap();
    }
}

/// Eight processes increment shared counters under the connections' locks: not one update is
/// lost (the lock excludes across processes, the save lands), and the records follow.
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
fn eight_processes_lose_no_update(url: &str) {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..8)
        .map(|worker| {
            std::process::Command::new(&exe)
                .args(["--exact", "keyed_child", "--nocapture", "--test-threads=1"])
                .env("KEYED_CHILD", url)
                .env("KEYED_WORKER", worker.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a worker failed");
    }
    let store = open_any(url);
    let mut total = 0;
    for r in store.records(None, 100).unwrap() {
        let value: u64 = std::str::from_utf8(&store.load(&r.id).unwrap().unwrap())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(u64::from(r.failures), value, "{}", r.id);
        total += value;
    }
    assert_eq!(total, (8 * ROUNDS) as u64);
    assert_eq!(store.count().unwrap(), SHARED as u64);
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_eight_processes_lose_no_update() {
    let dir = std::env::temp_dir().join(unique("concur-keyed-fleet"));
    std::fs::create_dir_all(&dir).unwrap();
    eight_processes_lose_no_update(&format!("sqlite://{}", dir.join("v.db").display()));
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(feature = "redis")]
#[test]
fn redis_eight_processes_lose_no_update() {
    let prefix = format!("{}:", unique("fleet"));
    eight_processes_lose_no_update(&format!(
        "{}?prefix={prefix}",
        servers::redis_server::redis()
    ));
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_eight_processes_lose_no_update() {
    eight_processes_lose_no_update(&pg_server::database());
}
