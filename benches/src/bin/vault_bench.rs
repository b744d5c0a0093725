//! `vault_bench MODE …`: the token vault's benchmark figures (issue 20), printed as one JSON
//! object for benches/run.py. Modes:
//! - `cached N CALLS [CAPACITY]`: N connections filled straight into a `MemoryKeyedStore` (documents made
//!   by `StoredToken::to_document`, no network), every one cached, then `access_token(id)` on
//!   random IDs (the vault's cache capacity N, or CAPACITY) against the single `TokenManager`'s cached `access_token()` in the same program
//!   (its token seeded in a `MemoryStore`), and the vault's call on one ID again and again
//!   (its own path, without random IDs' cache misses): ns per call, p50/p99 over batches of 64 calls; and
//!   the bytes a cached connection holds beyond its token strings (this program's counting
//!   allocator: live bytes after caching all N minus before, over N).
//! - `fill URL N`: N connections with fresh fake tokens written into the store URL names
//!   (through `KeyedStore::lock` and `save`, 8 threads; a SQLite file in one transaction), for
//!   the Python row.
//! - `stores N_KEEP N_LIST CONCURRENCY URL…`, against the test server named by CONCUR_BASE_URL,
//!   CONCUR_CA_FILE, CONCUR_OAUTH2_CLIENT_ID/SECRET, CONCUR_LOGIN_ID/PASSWORD: N_KEEP refresh
//!   tokens got once by password grants; then per store, the same refreshes sent bare
//!   (`Client::oauth2_token`, refresh grants, CONCURRENCY threads), their tokens filled into
//!   the store, and `keep_alive(400 days, CONCURRENCY)` refreshing all of them; then the store
//!   filled up to N_LIST connections and `connections()` listed whole.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use concur_native::manager::{MemoryStore, Start, TokenManager, TokenStore};
use concur_native::oauth2::Grant;
use concur_native::vault::{
    ConnectionKind, ConnectionRecord, ConnectionState, KeyedStore, MemoryKeyedStore, StoredToken,
    TokenVault, open_store,
};
use concur_native::{Client, Options};

/// Bytes allocated and not yet freed, by every thread.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's pointer and layout, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's pointer, layout and size, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Fake token sizes of the filled connections (about a Concur JWT and refresh token).
const ACCESS: usize = 600;
const REFRESH: usize = 300;
const GEO: &str = "https://us2.api.concursolutions.com";
/// Calls per timed batch: a clock read per call would weigh more than the call.
const BATCH: usize = 64;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("set {name}"))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn id_of(prefix: &str, i: usize) -> String {
    format!("{prefix}-{i:07}")
}

fn record(id: &str, token: &StoredToken) -> ConnectionRecord {
    ConnectionRecord {
        id: id.to_string(),
        kind: ConnectionKind::User,
        subject: None,
        geolocation: token.geolocation.clone(),
        expires_at: token.expires_at,
        refresh_expires_at: token.refresh_expires_at,
        last_refresh: Some(now()),
        state: ConnectionState::Active,
        concur_code: None,
        failures: 0,
        added_at: now(),
    }
}

fn fake_token(i: usize) -> StoredToken {
    let mut token = StoredToken::default();
    token.access_token = Some(format!("{i:0>ACCESS$}"));
    token.expires_at = Some(now() + 3600);
    token.refresh_token = Some(format!("{i:0>REFRESH$}"));
    token.refresh_expires_at = Some(now() + 180 * 86_400);
    token.geolocation = Some(GEO.into());
    token
}

/// Writes `tokens(i)` under `id_of(prefix, i)` for i in `range`, from 8 threads.
fn fill(
    store: &dyn KeyedStore,
    prefix: &str,
    range: std::ops::Range<usize>,
    tokens: &(dyn Fn(usize) -> StoredToken + Sync),
) {
    let next = AtomicUsize::new(range.start);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= range.end {
                        break;
                    }
                    let id = id_of(prefix, i);
                    let token = tokens(i);
                    let mut lock = store.lock(&id, Duration::from_secs(30)).unwrap();
                    lock.load().unwrap();
                    lock.save(Some(&token.to_document()), &record(&id, &token))
                        .unwrap();
                }
            });
        }
    });
}

/// `fill`, for the store `url` names: a SQLite file is written in one transaction with the
/// columns `SqliteStore` writes (its `synchronous=FULL` commits would take minutes for 100,000,
/// and measure the disk's fsync, not the listing); the vault reads every row back through the
/// store (listing, loading), so a schema this does not match fails the bench loudly.
fn fill_url(
    url: &str,
    store: &dyn KeyedStore,
    prefix: &str,
    range: std::ops::Range<usize>,
    tokens: &(dyn Fn(usize) -> StoredToken + Sync),
) {
    let Some(path) = url.strip_prefix("sqlite://") else {
        return fill(store, prefix, range, tokens);
    };
    let mut db = rusqlite::Connection::open(path).unwrap();
    db.busy_timeout(Duration::from_secs(30)).unwrap();
    let transaction = db.transaction().unwrap();
    {
        let mut insert = transaction
            .prepare(
                "INSERT INTO connections (id, document, generation, kind, subject, geolocation,
                     expires_at, refresh_expires_at, last_refresh, last_key, state, concur_code,
                     failures, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .unwrap();
        for i in range {
            let id = id_of(prefix, i);
            let token = tokens(i);
            let r = record(&id, &token);
            insert
                .execute(rusqlite::params![
                    r.id,
                    &token.to_document()[..],
                    i as i64 + 1,
                    r.kind.as_str(),
                    r.subject,
                    r.geolocation,
                    r.expires_at,
                    r.refresh_expires_at,
                    r.last_refresh,
                    r.last_refresh.unwrap_or(i64::MIN),
                    r.state.as_str(),
                    r.concur_code,
                    i64::from(r.failures),
                    r.added_at,
                ])
                .unwrap();
        }
    }
    transaction.commit().unwrap();
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// ns per call of `call(i)` over `calls` calls: p50, p99 and mean over batches of BATCH calls.
fn timed(calls: usize, mut call: impl FnMut(usize)) -> String {
    let mut per_call = Vec::with_capacity(calls / BATCH + 1);
    let started = Instant::now();
    let mut i = 0;
    while i < calls {
        let batch = Instant::now();
        for _ in 0..BATCH {
            call(i);
            i += 1;
        }
        per_call.push(batch.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    let mean = started.elapsed().as_nanos() as f64 / i as f64;
    per_call.sort_by(f64::total_cmp);
    format!(
        "{{\"p50_ns\":{:.2},\"p99_ns\":{:.2},\"mean_ns\":{mean:.2}}}",
        percentile(&per_call, 0.5),
        percentile(&per_call, 0.99)
    )
}

fn cached(n: usize, calls: usize, capacity: usize) {
    let store = Arc::new(MemoryKeyedStore::new());
    fill(&*store, "connection", 0..n, &fake_token);
    let client = Arc::new(Client::new(&Options::new()).unwrap());
    let vault = TokenVault::new(client.clone(), "client-id", "client-secret", store)
        .unwrap()
        .with_cache_capacity(capacity);
    let ids: Vec<String> = (0..n).map(|i| id_of("connection", i)).collect();

    let before = LIVE.load(Ordering::SeqCst);
    for id in &ids {
        vault.access_token(id).unwrap();
    }
    let held = (LIVE.load(Ordering::SeqCst) - before) as f64 / n as f64;
    let strings = (ACCESS + REFRESH + GEO.len() + "Bearer".len()) as f64;

    // Random IDs, drawn before the clock starts (xorshift).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let order: Vec<u32> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as u32
        })
        .collect();
    let mask = order.len() - 1;

    // The single manager, its token seeded in a memory store: nothing is sent.
    let seeded = MemoryStore::new();
    {
        let mut lock = seeded.lock(Duration::from_secs(1)).unwrap();
        lock.load().unwrap();
        lock.save(&fake_token(0).to_document()).unwrap();
    }
    let manager = TokenManager::new(
        client,
        "client-id",
        "client-secret",
        Start::RefreshToken {
            refresh_token: "unused".into(),
            geolocation: None,
        },
    )
    .unwrap()
    .with_store(seeded);
    manager.access_token().unwrap();

    // Taken in turn, so that a noisy moment of the machine hits both alike.
    let (mut vault_runs, mut manager_runs, mut hot_runs) = (Vec::new(), Vec::new(), Vec::new());
    let hot = &ids[n / 2];
    for _ in 0..3 {
        hot_runs.push(timed(calls, |_| {
            std::hint::black_box(vault.access_token(std::hint::black_box(hot)).unwrap());
        }));
        vault_runs.push(timed(calls, |i| {
            let id = &ids[order[i & mask] as usize];
            std::hint::black_box(vault.access_token(std::hint::black_box(id)).unwrap());
        }));
        manager_runs.push(timed(calls, |_| {
            std::hint::black_box(manager.access_token().unwrap());
        }));
    }
    println!(
        "{{\"connections\":{n},\"calls\":{calls},\"vault\":[{}],\"vault_hot\":[{}],\"manager\":[{}],\
         \"held_bytes\":{held:.1},\"string_bytes\":{strings},\"beyond_strings_bytes\":{:.1}}}",
        vault_runs.join(","),
        hot_runs.join(","),
        manager_runs.join(","),
        held - strings
    );
}

fn stores(n_keep: usize, n_list: usize, concurrency: usize, urls: &[String]) {
    let options = Options::new()
        .timeout(Duration::from_secs(60))
        .base_url(env("CONCUR_BASE_URL").as_str())
        .ca_file(env("CONCUR_CA_FILE").as_str());
    let client = Arc::new(Client::new(&options).unwrap());
    let (id, secret) = (
        env("CONCUR_OAUTH2_CLIENT_ID"),
        env("CONCUR_OAUTH2_CLIENT_SECRET"),
    );
    let (login, password) = (env("CONCUR_LOGIN_ID"), env("CONCUR_PASSWORD"));

    // `f(i)` for every i < n from `threads` threads, results in order; wall seconds.
    let parallel = |n: usize,
                    threads: usize,
                    f: &(dyn Fn(usize) -> StoredToken + Sync)|
     -> (Vec<StoredToken>, f64) {
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        let mut out: Vec<(usize, StoredToken)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= n {
                                break mine;
                            }
                            mine.push((i, f(i)));
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        let seconds = started.elapsed().as_secs_f64();
        out.sort_by_key(|(i, _)| *i);
        (out.into_iter().map(|(_, t)| t).collect(), seconds)
    };

    let (mut tokens, _) = parallel(n_keep, 8, &|_| {
        let grant = Grant::Password {
            username: &login,
            password: &password,
            scope: None,
        };
        StoredToken::from_token(&client.oauth2_token(&id, &secret, &grant, None).unwrap())
    });

    let mut results = Vec::new();
    for (n, url) in urls.iter().enumerate() {
        // Bare: the same refreshes sent by the client, at the same concurrency.
        let (refreshed, bare) = parallel(n_keep, concurrency, &|i| {
            let grant = Grant::RefreshToken {
                refresh_token: tokens[i].refresh_token.as_deref().unwrap(),
                scope: None,
            };
            StoredToken::from_token(
                &client
                    .oauth2_token(&id, &secret, &grant, tokens[i].geolocation.as_deref())
                    .unwrap(),
            )
        });

        let store = open_store(url).unwrap();
        let prefix = format!("bench{n}");
        let started = Instant::now();
        fill_url(url, &*store, &prefix, 0..n_keep, &|i| refreshed[i].clone());
        let fill_keep = started.elapsed().as_secs_f64();
        let vault = TokenVault::new(client.clone(), &id, &secret, store.clone()).unwrap();
        let started = Instant::now();
        let report = vault
            .keep_alive(Duration::from_secs(400 * 86_400), concurrency)
            .unwrap();
        let keep_alive = started.elapsed().as_secs_f64();
        assert_eq!(
            report.refreshed, n_keep as u64,
            "{url}: every connection refreshed"
        );
        assert!(report.is_clean());
        tokens = (0..n_keep)
            .map(|i| {
                let document = store.load(&id_of(&prefix, i)).unwrap().unwrap();
                StoredToken::from_document(&document).unwrap()
            })
            .collect();

        let started = Instant::now();
        fill_url(
            url,
            &*store,
            &prefix,
            n_keep..n_list.max(n_keep),
            &fake_token,
        );
        let fill_list = started.elapsed().as_secs_f64();
        let mut listings = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            let mut listed = 0;
            for info in vault.connections() {
                std::hint::black_box(info.unwrap());
                listed += 1;
            }
            listings.push(started.elapsed().as_secs_f64() * 1e3);
            assert_eq!(listed, n_list.max(n_keep), "{url}: every connection listed");
        }
        listings.sort_by(f64::total_cmp);
        let kind = url.split(':').next().unwrap();
        results.push(format!(
            "{{\"store\":\"{kind}\",\"refreshes\":{n_keep},\"bare_s\":{bare:.4},\
             \"keep_alive_s\":{keep_alive:.4},\"fill_s\":{:.4},\"fill_per_s\":{:.1},\
             \"listed\":{},\"list_ms\":{:.3}}}",
            fill_keep + fill_list,
            n_list.max(n_keep) as f64 / (fill_keep + fill_list),
            n_list.max(n_keep),
            listings[1]
        ));
    }
    println!(
        "{{\"concurrency\":{concurrency},\"stores\":[{}]}}",
        results.join(",")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.get(1).map(String::as_str) {
        Some("cached") => {
            let n = number(2, 100_000);
            cached(n, number(3, 2_000_000), number(4, n))
        }
        Some("fill") => {
            let store = open_store(&args[2]).unwrap();
            let n = number(3, 100_000);
            let started = Instant::now();
            fill_url(&args[2], &*store, "connection", 0..n, &fake_token);
            println!(
                "{{\"filled\":{n},\"seconds\":{:.3}}}",
                started.elapsed().as_secs_f64()
            );
        }
        Some("stores") => stores(
            number(2, 10_000),
            number(3, 100_000),
            number(4, 8),
            &args[5..],
        ),
        other => panic!("unknown mode {other:?}: cached | fill | stores"),
    }
}
