//! The token manager against the loopback test server: a cached token costs no request, a
//! token inside the margin is refreshed, 64 callers at expiry make one refresh, the rotated
//! refresh token is saved before it is used, a failed save surfaces, 108 surfaces as
//! unauthorized and is not sent again, client credentials are renewed without a refresh
//! token; and across processes through a file store: one refresh between 8 processes, and a
//! process killed in the middle of its refresh loses nothing.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use concur_native::manager::{
    Document, FileStore, MemoryStore, Outcome, RefreshEvent, RefreshPolicy, Sealer, Start, State,
    StoreKey, StoreLock, StoredToken, TokenManager, TokenStore, Trigger,
};
use concur_native::oauth2::Grant;
use concur_native::{Client, Error, ErrorKind, Options};
use concur_test_server::{
    ACCOUNTS, OAUTH2_CLIENT_ID as ID, OAUTH2_CLIENT_SECRET as SECRET, shared as server,
};

const HOUR_AND_A_BIT: Duration = Duration::from_secs(3600 + 60);

/// A floor above an hour: every token Concur issues is below it, so every call waits for a
/// refresh of its own.
fn always_refresh() -> RefreshPolicy {
    RefreshPolicy::new(2 * HOUR_AND_A_BIT, HOUR_AND_A_BIT).unwrap()
}

/// What a store holds, read as a token.
fn stored_in(store: &dyn TokenStore) -> Option<StoredToken> {
    Sealer::default().load(store).unwrap()
}

fn tag(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "mgr-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn client(base: &str, correlation: &str) -> Arc<Client> {
    let options = Options::new()
        .base_url(base)
        .ca_file(server().ca_file())
        .timeout(Duration::from_secs(20))
        .correlation_id(correlation);
    Arc::new(Client::new(&options).unwrap())
}

/// Token-endpoint requests of one grant type whose correlation id starts with `prefix`.
fn grants(prefix: &str, grant: &str) -> usize {
    server()
        .token_requests(grant)
        .iter()
        .filter(|r| {
            r.header("concur-correlationid")
                .is_some_and(|c| c.starts_with(prefix))
        })
        .count()
}

/// A fresh user refresh token (and its geolocation) from a password grant.
fn refresh_token() -> (String, String) {
    let t = client(&server().base_url(), &tag("seed"))
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
        .unwrap();
    (
        t.refresh_token().unwrap().to_string(),
        t.geolocation().unwrap().to_string(),
    )
}

fn manager(correlation: &str) -> TokenManager {
    let (refresh_token, geolocation) = refresh_token();
    TokenManager::new(
        client(&server().base_url(), correlation),
        ID,
        SECRET,
        Start::RefreshToken {
            refresh_token,
            geolocation: Some(geolocation),
        },
    )
    .unwrap()
}

#[test]
fn a_cached_token_costs_no_request() {
    let c = tag("cached");
    let m = manager(&c);
    assert_eq!(
        m.cached_access_token(str::to_string),
        None,
        "nothing yet, nothing sent"
    );
    let first = m.access_token().unwrap();
    assert_eq!(
        m.cached_access_token(str::to_string).as_deref(),
        Some(first.as_str())
    );
    for _ in 0..1000 {
        assert_eq!(m.access_token().unwrap().as_str(), first.as_str());
        m.with_access_token(|t| assert_eq!(t, first.as_str()))
            .unwrap();
    }
    assert_eq!(grants(&c, "refresh_token"), 1);
}

#[test]
fn a_token_below_the_floor_is_refreshed_and_rotation_is_followed() {
    let c = tag("margin");
    let m = manager(&c).with_policy(always_refresh());
    let a = m.access_token().unwrap();
    let b = m.access_token().unwrap();
    let d = m.access_token().unwrap();
    assert_ne!(a.as_str(), b.as_str());
    assert_ne!(b.as_str(), d.as_str());
    // Three refreshes, each with the refresh token the one before rotated in.
    assert_eq!(grants(&c, "refresh_token"), 3);
    assert_ne!(a.token().refresh_token(), b.token().refresh_token());
}

#[test]
fn sixty_four_callers_at_expiry_make_one_refresh() {
    let c = tag("herd");
    let m = Arc::new(manager(&c));
    let barrier = Arc::new(Barrier::new(64));
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let (m, barrier) = (m.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                m.access_token().map(|t| t.as_str().to_string())
            })
        })
        .collect();
    let tokens: Vec<String> = threads
        .into_iter()
        .map(|t| t.join().unwrap().expect("a token"))
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
    assert_eq!(grants(&c, "refresh_token"), 1, "one refresh request");
}

#[test]
fn the_rotated_refresh_token_is_saved_before_the_token_is_used() {
    let c = tag("saved");
    let store = Arc::new(MemoryStore::new());
    let (refresh_token, geolocation) = refresh_token();
    let m = TokenManager::new(
        client(&server().base_url(), &c),
        ID,
        SECRET,
        Start::RefreshToken {
            refresh_token: refresh_token.clone(),
            geolocation: Some(geolocation.clone()),
        },
    )
    .unwrap()
    .with_store(SharedStore(store.clone()));
    let token = m.access_token().unwrap();
    let stored = stored_in(&*store).expect("stored");
    assert_ne!(
        stored.refresh_token.as_deref(),
        Some(refresh_token.as_str())
    );
    assert_eq!(
        stored.refresh_token.as_deref(),
        token.token().refresh_token()
    );
    assert_eq!(stored.access_token.as_deref(), Some(token.as_str()));
    assert_eq!(stored.geolocation.as_deref(), Some(geolocation.as_str()));
    assert_eq!(stored.expires_at, token.token().expires_at());
}

/// A store shared by reference (tests look into it).
struct SharedStore(Arc<MemoryStore>);

impl TokenStore for SharedStore {
    fn load(&self) -> Result<Option<Document>, Error> {
        self.0.load()
    }
    fn lock(&self, wait: Duration) -> Result<Box<dyn StoreLock + '_>, Error> {
        self.0.lock(wait)
    }
}

/// A store whose saves fail.
struct ReadOnlyStore;

struct ReadOnlyLock;

impl StoreLock for ReadOnlyLock {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        Ok(None)
    }
    fn save(&mut self, _: &[u8]) -> Result<(), Error> {
        Err(Error::store_failure("the disk is full"))
    }
}

impl TokenStore for ReadOnlyStore {
    fn load(&self) -> Result<Option<Document>, Error> {
        Ok(None)
    }
    fn lock(&self, _: Duration) -> Result<Box<dyn StoreLock + '_>, Error> {
        Ok(Box::new(ReadOnlyLock))
    }
}

#[test]
fn a_failed_save_is_an_error_and_the_token_is_not_used() {
    let c = tag("save-fails");
    let m = TokenManager::new(
        client(&server().base_url(), &c),
        ID,
        SECRET,
        Start::ClientCredentials,
    )
    .unwrap()
    .with_store(ReadOnlyStore);
    let e = m.access_token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store);
    assert!(e.to_string().contains("disk is full"), "{e}");
    // Not cached: the next call asks again (and fails again).
    assert_eq!(m.access_token().unwrap_err().kind(), ErrorKind::Store);
    assert_eq!(grants(&c, "client_credentials"), 2);
}

#[test]
fn a_bad_refresh_token_is_unauthorized_108_and_not_sent_again() {
    let c = tag("dead");
    let m = TokenManager::new(
        client(&server().base_url(), &c),
        ID,
        SECRET,
        Start::RefreshToken {
            refresh_token: "not-a-refresh-token".into(),
            geolocation: None,
        },
    )
    .unwrap();
    for _ in 0..3 {
        let e = m.access_token().unwrap_err();
        assert_eq!(
            (e.kind(), e.concur_code()),
            (ErrorKind::Unauthorized, Some(108))
        );
    }
    assert_eq!(
        grants(&c, "refresh_token"),
        1,
        "the dead token was sent once"
    );
}

#[test]
fn client_credentials_are_renewed_without_a_refresh_token() {
    let c = tag("cc");
    let m = TokenManager::new(
        client(&server().base_url(), &c),
        ID,
        SECRET,
        Start::ClientCredentials,
    )
    .unwrap()
    .with_policy(always_refresh());
    let a = m.access_token().unwrap();
    let b = m.access_token().unwrap();
    assert_ne!(a.as_str(), b.as_str());
    assert!(a.token().refresh_token().is_none());
    assert_eq!(grants(&c, "client_credentials"), 2);
    assert_eq!(grants(&c, "refresh_token"), 0);
}

#[test]
fn a_password_start_runs_once_then_refreshes() {
    let c = tag("password-start");
    let m = TokenManager::new(
        client(&server().base_url(), &c),
        ID,
        SECRET,
        Start::Password {
            username: ACCOUNTS[0].login_id.into(),
            password: ACCOUNTS[0].password.into(),
        },
    )
    .unwrap()
    .with_policy(always_refresh());
    m.access_token().unwrap();
    m.access_token().unwrap();
    assert_eq!(
        (grants(&c, "password"), grants(&c, "refresh_token")),
        (1, 1)
    );
}

#[test]
fn secrets_appear_in_no_debug_text() {
    let c = tag("debug");
    let m = manager(&c);
    let token = m.access_token().unwrap();
    let texts = [format!("{m:?}"), format!("{token:?}")];
    for text in texts {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(token.as_str()), "{text}");
        assert!(
            !text.contains(token.token().refresh_token().unwrap()),
            "{text}"
        );
    }
}

// ---- across processes -------------------------------------------------------------------

/// Not a test of its own: the entry point of the child processes the two tests below start
/// (this same program, run with `CONCUR_MANAGER_CHILD` set). It prints the access token and
/// exits.
#[test]
fn child_process_entry() {
    let Ok(store) = std::env::var("CONCUR_MANAGER_CHILD") else {
        return;
    };
    let base = std::env::var("CONCUR_MANAGER_BASE").unwrap();
    let correlation = std::env::var("CONCUR_MANAGER_TAG").unwrap();
    let start_file = std::env::var("CONCUR_MANAGER_GO").unwrap();
    let options = Options::new()
        .base_url(&base)
        .ca_file(std::env::var("CONCUR_MANAGER_CA").unwrap())
        .timeout(Duration::from_secs(60))
        .correlation_id(&correlation);
    // The store always holds a token here: the start is never used.
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
    .with_store(FileStore::new(store));
    let m = match std::env::var("CONCUR_MANAGER_KEY") {
        Ok(key) => m.with_sealer(Sealer::new(vec![StoreKey::from_base64(&key).unwrap()]).unwrap()),
        Err(_) => m,
    };
    let ahead = std::env::var("CONCUR_MANAGER_AHEAD").ok();
    let m = if ahead.is_some() {
        m.with_policy(ahead_policy())
    } else {
        m
    };
    // Start together: wait for the parent's signal.
    let waited = Instant::now();
    while !std::path::Path::new(&start_file).exists() {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no start signal"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut token = m.access_token().expect("a token");
    // Refreshing ahead: the seeded token is handed out at once, and the process keeps asking
    // until the refresh ahead (its own, or another process's taken from the store) lands.
    while ahead.as_deref() == Some(token.as_str()) {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no refresh ahead"
        );
        std::thread::sleep(Duration::from_millis(5));
        token = m.access_token().expect("a token");
    }
    println!("ACCESS_TOKEN={}", token.as_str());
}

struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_child(
    store: &std::path::Path,
    base: &str,
    correlation: &str,
    go: &std::path::Path,
) -> Child {
    spawn_child_with(store, base, correlation, go, &[])
}

fn spawn_child_with(
    store: &std::path::Path,
    base: &str,
    correlation: &str,
    go: &std::path::Path,
    env: &[(&str, &str)],
) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .envs(env.iter().copied())
        .args([
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CONCUR_MANAGER_CHILD", store)
        .env("CONCUR_MANAGER_BASE", base)
        .env("CONCUR_MANAGER_TAG", correlation)
        .env("CONCUR_MANAGER_GO", go)
        .env("CONCUR_MANAGER_CA", server().ca_file())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn token_of(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "a child failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.split_once("ACCESS_TOKEN=").map(|(_, t)| t.trim()))
        .expect("the child printed its token")
        .to_string()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("concur-manager-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A stored refresh token whose access token has expired: every process must refresh.
fn seed(store: &FileStore) -> String {
    seed_with(store, "expired-access-token", 1, &Sealer::default())
}

/// Stores a fresh refresh token with the access token `access` expiring at `expires_at`,
/// sealed by `sealer`; returns the refresh token.
fn seed_with(store: &dyn TokenStore, access: &str, expires_at: i64, sealer: &Sealer) -> String {
    let (refresh_token, _) = refresh_token();
    seed_token(store, &refresh_token, access, expires_at, sealer);
    refresh_token
}

fn seed_token(
    store: &dyn TokenStore,
    refresh: &str,
    access: &str,
    expires_at: i64,
    sealer: &Sealer,
) {
    let stale = StoredToken {
        refresh_token: Some(refresh.into()),
        refresh_expires_at: None,
        geolocation: None,
        access_token: Some(access.into()),
        expires_at: Some(expires_at),
    };
    let mut lock = store.lock(Duration::from_secs(1)).unwrap();
    lock.load().unwrap();
    let document = sealer.seal_document(&store.identity(), &stale).unwrap();
    lock.save(&document).unwrap();
}

#[test]
fn eight_processes_sharing_a_file_store_refresh_once() {
    let dir = temp_dir("eight");
    let path = dir.join("token.json");
    let store = FileStore::new(&path);
    let seeded = seed(&store);
    let prefix = tag("procs");
    let go = dir.join("go");
    let mut children = Children(
        (0..8)
            .map(|i| spawn_child(&path, &server().base_url(), &format!("{prefix}-{i}"), &go))
            .collect(),
    );
    std::fs::write(&go, b"").unwrap();
    let tokens: Vec<String> = children.0.drain(..).map(token_of).collect();
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every process has the one new token"
    );
    assert_eq!(
        grants(&prefix, "refresh_token"),
        1,
        "one refresh between eight processes"
    );
    let stored = stored_in(&store).unwrap();
    assert_eq!(stored.access_token.as_deref(), Some(tokens[0].as_str()));
    assert_ne!(
        stored.refresh_token.as_deref(),
        Some(seeded.as_str()),
        "rotated and saved"
    );
}

#[test]
fn a_process_killed_mid_refresh_loses_nothing() {
    let dir = temp_dir("killed");
    let path = dir.join("token.json");
    let store = FileStore::new(&path);
    let seeded = seed(&store);
    let prefix = tag("killed");
    let go = dir.join("go");
    std::fs::write(&go, b"").unwrap();
    // The victim refreshes against a server that never answers, holding the lock.
    let victim_tag = format!("{prefix}-victim");
    let mut victim = spawn_child(
        &path,
        &server().scenario_url("hang-60000"),
        &victim_tag,
        &go,
    );
    let waited = Instant::now();
    while grants(&victim_tag, "refresh_token") == 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the victim never sent its refresh"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut survivors = Children(
        (0..3)
            .map(|i| spawn_child(&path, &server().base_url(), &format!("{prefix}-{i}"), &go))
            .collect(),
    );
    victim.kill().unwrap();
    victim.wait().unwrap();
    // The file is whole and still the seeded token: the victim saved nothing.
    assert_eq!(
        stored_in(&store).unwrap().refresh_token.as_deref(),
        Some(seeded.as_str())
    );
    let tokens: Vec<String> = survivors.0.drain(..).map(token_of).collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    let survivors_refreshes = grants(&prefix, "refresh_token") - 1;
    assert_eq!(
        survivors_refreshes, 1,
        "the survivors refreshed once, with the seeded token"
    );
    let stored = stored_in(&store).unwrap();
    assert_eq!(stored.access_token.as_deref(), Some(tokens[0].as_str()));
    assert_ne!(stored.refresh_token.as_deref(), Some(seeded.as_str()));
}

#[test]
fn invalidate_refreshes_even_when_the_store_holds_the_same_token() {
    let c = tag("invalidate");
    let store = Arc::new(MemoryStore::new());
    let (refresh_token, geolocation) = refresh_token();
    let m = TokenManager::new(
        client(&server().base_url(), &c),
        ID,
        SECRET,
        Start::RefreshToken {
            refresh_token,
            geolocation: Some(geolocation),
        },
    )
    .unwrap()
    .with_store(SharedStore(store.clone()));
    let first = m.access_token().unwrap();
    m.invalidate();
    let second = m.access_token().unwrap();
    assert_ne!(
        first.as_str(),
        second.as_str(),
        "the invalidated token is not handed out again"
    );
    assert_eq!(grants(&c, "refresh_token"), 2);
    // And a later call is served from memory again.
    assert_eq!(m.access_token().unwrap().as_str(), second.as_str());
    assert_eq!(grants(&c, "refresh_token"), 2);
}

// ---- round two: refresh ahead, stale if error, events, sealed stores ----------------------

/// A window of 3500 s and a floor of 10 s: a token of Concur's hour is fresh for 100 s.
fn ahead_policy() -> RefreshPolicy {
    RefreshPolicy::new(Duration::from_secs(3500), Duration::from_secs(10)).unwrap()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Inside the ahead policy's window and far above its floor.
fn stale_expiry() -> i64 {
    unix_now() + 3000
}

/// A manager at `base` over a store the test seeded (its start is never used), refreshing
/// ahead.
fn on_seeded_store(base: &str, correlation: &str, store: &Arc<MemoryStore>) -> TokenManager {
    TokenManager::new(
        client(base, correlation),
        ID,
        SECRET,
        Start::RefreshToken {
            refresh_token: "unused-start".into(),
            geolocation: None,
        },
    )
    .unwrap()
    .with_store(SharedStore(store.clone()))
    .with_policy(ahead_policy())
}

/// A memory store whose saves wait on a latch the test opens: a refresh held as long as the
/// test wants, without timing.
#[derive(Default)]
struct LatchStore {
    inner: MemoryStore,
    closed: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
    saves: AtomicU32,
}

impl LatchStore {
    fn set(&self, closed: bool) {
        *self.closed.lock().unwrap() = closed;
        self.opened.notify_all();
    }
}

struct LatchLock<'a> {
    store: &'a LatchStore,
    inner: Box<dyn StoreLock + 'a>,
}

impl StoreLock for LatchLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        self.inner.load()
    }
    fn save(&mut self, document: &[u8]) -> Result<(), Error> {
        let mut closed = self.store.closed.lock().unwrap();
        while *closed {
            closed = self.store.opened.wait(closed).unwrap();
        }
        drop(closed);
        self.store.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(document)
    }
}

/// A latch store shared with the test.
struct Latched(Arc<LatchStore>);

impl TokenStore for Latched {
    fn load(&self) -> Result<Option<Document>, Error> {
        self.0.inner.load()
    }
    fn lock(&self, wait: Duration) -> Result<Box<dyn StoreLock + '_>, Error> {
        Ok(Box::new(LatchLock {
            store: &self.0,
            inner: self.0.inner.lock(wait)?,
        }))
    }
}

/// Collects the events a manager reports.
fn recorder() -> (
    Arc<std::sync::Mutex<Vec<RefreshEvent>>>,
    impl Fn(&RefreshEvent) + Send + Sync + 'static,
) {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    (events, move |e: &RefreshEvent| {
        sink.lock().unwrap().push(e.clone())
    })
}

/// Waits (bounded) until `done` holds; the bound only stops a broken run.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "never: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn callers_inside_the_window_keep_the_current_token_while_one_refresh_runs() {
    let c = tag("ahead");
    let store = Arc::new(LatchStore::default());
    let (events, observe) = recorder();
    let m = Arc::new(
        manager(&c)
            .with_store(Latched(store.clone()))
            // A window above the hour: every token is inside it at once, far above the floor.
            .with_policy(RefreshPolicy::new(HOUR_AND_A_BIT, Duration::from_secs(10)).unwrap())
            .on_event(observe),
    );
    let first = m.access_token().unwrap().as_str().to_string();
    store.set(true);
    // 8 threads, 200 calls each, while the refresh ahead is held at its save: each call
    // returns the current token (a caller waiting for the refresh would never return).
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                (0..200)
                    .map(|_| m.access_token().unwrap().as_str().to_string())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap().iter().all(|t| *t == first));
    }
    until("the refresh ahead reached its save", || {
        grants(&c, "refresh_token") == 2 && m.status().refreshing
    });
    assert_eq!(store.saves.load(Ordering::SeqCst), 1, "only the first save");
    assert_eq!(grants(&c, "refresh_token"), 2, "exactly one refresh ahead");
    store.set(false);
    until("the refreshed token is handed out", || {
        m.access_token().unwrap().as_str() != first
    });
    let events = events.lock().unwrap();
    assert_eq!(events[0].trigger, Trigger::Absent);
    assert_eq!(
        (events[1].outcome, events[1].trigger, events[1].grant),
        (Outcome::Refreshed, Trigger::Ahead, Some("refresh_token"))
    );
    assert!(events[1].expires_at.unwrap() > unix_now() + 3500);
    assert!(events[1].refresh_expires_at.is_some());
}

#[test]
fn an_outage_during_a_refresh_ahead_serves_the_current_token_with_backoff() {
    let c = tag("outage");
    let store = Arc::new(MemoryStore::new());
    seed_with(
        &SharedStore(store.clone()),
        "seeded-access",
        stale_expiry(),
        &Sealer::default(),
    );
    let (events, observe) = recorder();
    // Concur answers the first two refreshes 503, then recovers.
    let base = server().scenario_url(&format!("retry-503-2-0-{c}"));
    let m = on_seeded_store(&base, &c, &store).on_event(observe);
    let started = Instant::now();
    let mut last = String::new();
    while events.lock().unwrap().len() < 4 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never recovered"
        );
        // Never an error: the seeded token is above the floor.
        last = m
            .access_token()
            .expect("the current token")
            .as_str()
            .to_string();
        std::thread::sleep(Duration::from_millis(1));
    }
    let events = events.lock().unwrap().clone();
    let outcomes: Vec<_> = events.iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::FromStore,
            Outcome::Failed,
            Outcome::Failed,
            Outcome::Refreshed
        ]
    );
    for (e, failures) in events[1..3].iter().zip(1..) {
        let error = e.error.as_ref().unwrap();
        assert_eq!((error.status(), e.failures), (Some(503), failures));
        assert_eq!(error.correlation_id(), Some(c.as_str()));
        assert!(e.retry_at.is_some());
    }
    // The backoff: about 1 s, then about 2 s (±20 %), between the attempts' ends.
    let gap = |a: &RefreshEvent, b: &RefreshEvent| b.at.duration_since(a.at).unwrap();
    assert!(gap(&events[1], &events[2]) >= Duration::from_millis(800));
    assert!(gap(&events[2], &events[3]) >= Duration::from_millis(1600));
    assert_eq!(
        grants(&c, "refresh_token"),
        3,
        "one request per step, whatever the callers"
    );
    assert_eq!(m.status().state, State::Active);
    until("the new token", || {
        last = m.access_token().unwrap().as_str().to_string();
        last != "seeded-access"
    });
}

#[test]
fn concurs_verdict_is_reported_once_and_never_sent_again() {
    let c = tag("verdict");
    let store = Arc::new(MemoryStore::new());
    seed_token(
        &SharedStore(store.clone()),
        "not-a-refresh-token",
        "seeded-access",
        stale_expiry(),
        &Sealer::default(),
    );
    let (events, observe) = recorder();
    // The stored refresh token is one Concur refuses (108).
    let m = on_seeded_store(&server().base_url(), &c, &store).on_event(observe);
    until("the dead event", || {
        assert_eq!(m.access_token().unwrap().as_str(), "seeded-access");
        events.lock().unwrap().len() == 2
    });
    for _ in 0..200 {
        assert_eq!(m.access_token().unwrap().as_str(), "seeded-access");
    }
    let status = m.status();
    assert_eq!((status.state, status.failures), (State::Dead, 1));
    assert_eq!(status.last_error.as_ref().unwrap().concur_code(), Some(108));
    // Below the floor (here: invalidated) the caller gets the verdict, nothing is sent.
    m.invalidate();
    let e = m.access_token().unwrap_err();
    assert_eq!(
        (e.kind(), e.concur_code()),
        (ErrorKind::Unauthorized, Some(108))
    );
    assert_eq!(grants(&c, "refresh_token"), 1, "108 sent once");
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 2, "one dead event");
    assert_eq!(events[1].outcome, Outcome::Dead);
    assert!(events[1].retry_at.is_none());
}

#[test]
fn events_hold_no_secret_and_a_panicking_observer_changes_nothing() {
    let c = tag("events");
    let (refresh, geolocation) = refresh_token();
    let (events, observe) = recorder();
    let m = TokenManager::new(
        client(&server().base_url(), &c),
        ID,
        SECRET,
        Start::RefreshToken {
            refresh_token: refresh.clone(),
            geolocation: Some(geolocation),
        },
    )
    .unwrap()
    .with_policy(always_refresh())
    .on_event(move |e| {
        observe(e);
        panic!("an observer's bug");
    });
    let a = m.access_token().unwrap();
    let b = m.access_token().unwrap();
    assert_ne!(a.as_str(), b.as_str(), "refreshed twice despite the panics");
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 2);
    let secrets = [
        SECRET,
        refresh.as_str(),
        a.as_str(),
        b.as_str(),
        a.token().refresh_token().unwrap(),
    ];
    for e in events.iter() {
        assert_eq!(e.outcome, Outcome::Refreshed);
        assert!(e.duration > Duration::ZERO && e.grant == Some("refresh_token"));
        let text = format!("{e} {e:?} {:?}", m.status());
        for secret in secrets {
            assert!(!text.contains(secret), "{text}");
        }
    }
}

/// Every way a token could show in a file: as is, base64, hex.
fn assert_holds_none_of(bytes: &[u8], secrets: &[&str]) {
    use base64::Engine;
    let text = String::from_utf8_lossy(bytes);
    for secret in secrets {
        let forms = [
            secret.to_string(),
            base64::engine::general_purpose::STANDARD.encode(secret),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
            secret.bytes().map(|b| format!("{b:02x}")).collect(),
        ];
        for form in forms {
            assert!(!text.contains(&form), "{form} in {text}");
        }
    }
}

fn key(n: u8) -> StoreKey {
    StoreKey::from_bytes(&[n; 32]).unwrap()
}

#[test]
fn a_sealed_file_holds_no_token_and_opens_with_its_keys_only() {
    let dir = temp_dir("sealed");
    let path = dir.join("token.json");
    let c = tag("sealed");
    let one = || Sealer::new(vec![key(1)]).unwrap();
    let m = manager(&c)
        .with_store(FileStore::new(&path))
        .with_sealer(one());
    let token = m.access_token().unwrap();
    let file = std::fs::read(&path).unwrap();
    assert!(file.starts_with(b"{\"sealed\":1"));
    assert_holds_none_of(
        &file,
        &[token.as_str(), token.token().refresh_token().unwrap()],
    );
    let stored = one().load(&FileStore::new(&path)).unwrap().unwrap();
    assert_eq!(stored.access_token.as_deref(), Some(token.as_str()));

    // A wrong key: a Store error naming neither key nor content, and the file unchanged.
    let wrong = manager(&tag("wrong"))
        .with_store(FileStore::new(&path))
        .with_sealer(Sealer::new(vec![key(2)]).unwrap());
    let e = wrong.access_token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store);
    assert_holds_none_of(e.to_string().as_bytes(), &[token.as_str()]);
    assert_eq!(std::fs::read(&path).unwrap(), file);

    // Copied under another name, it does not open.
    let copy = dir.join("copy.json");
    std::fs::copy(&path, &copy).unwrap();
    assert_eq!(
        one().load(&FileStore::new(&copy)).unwrap_err().kind(),
        ErrorKind::Store
    );
}

#[test]
fn keys_rotate_and_plain_documents_migrate_unless_sealing_is_required() {
    let dir = temp_dir("rotate");
    let path = dir.join("token.json");
    let store = FileStore::new(&path);
    // A plain document (as stored before encryption) migrates: read, then sealed at the save.
    seed_with(&store, "expired", 1, &Sealer::default());
    let strict = manager(&tag("strict"))
        .with_store(FileStore::new(&path))
        .with_sealer(Sealer::new(vec![key(1)]).unwrap().require_sealed(true));
    assert_eq!(strict.access_token().unwrap_err().kind(), ErrorKind::Store);
    let migrating = manager(&tag("migrate"))
        .with_store(FileStore::new(&path))
        .with_sealer(Sealer::new(vec![key(1)]).unwrap())
        .with_policy(always_refresh());
    migrating.access_token().unwrap();
    let sealed_one = std::fs::read(&path).unwrap();
    assert!(String::from_utf8_lossy(&sealed_one).contains(key(1).id()));
    // A new first key: the old document opens, and the next save is under the new key.
    let rotated = manager(&tag("rotate"))
        .with_store(FileStore::new(&path))
        .with_sealer(Sealer::new(vec![key(2), key(1)]).unwrap())
        .with_policy(always_refresh());
    rotated.access_token().unwrap();
    let sealed_two = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
    assert!(sealed_two.contains(key(2).id()) && !sealed_two.contains(key(1).id()));
    assert!(Sealer::new(vec![key(1)]).unwrap().load(&store).is_err());
    assert!(
        Sealer::new(vec![key(2)])
            .unwrap()
            .load(&store)
            .unwrap()
            .is_some()
    );
}

#[test]
fn eight_processes_on_a_sealed_file_refresh_ahead_once() {
    let dir = temp_dir("sealed-eight");
    let path = dir.join("token.json");
    let store = FileStore::new(&path);
    let key_text = StoreKey::generate_base64().unwrap();
    let sealer = Sealer::new(vec![StoreKey::from_base64(&key_text).unwrap()]).unwrap();
    let seeded = seed_with(&store, "seeded-access", stale_expiry(), &sealer);
    let prefix = tag("sealed-procs");
    let go = dir.join("go");
    let env = [
        ("CONCUR_MANAGER_KEY", key_text.as_str()),
        ("CONCUR_MANAGER_AHEAD", "seeded-access"),
    ];
    let mut children = Children(
        (0..8)
            .map(|i| {
                let tag = format!("{prefix}-{i}");
                spawn_child_with(&path, &server().base_url(), &tag, &go, &env)
            })
            .collect(),
    );
    std::fs::write(&go, b"").unwrap();
    let tokens: Vec<String> = children.0.drain(..).map(token_of).collect();
    assert!(
        tokens
            .iter()
            .all(|t| *t == tokens[0] && t != "seeded-access")
    );
    assert_eq!(
        grants(&prefix, "refresh_token"),
        1,
        "one refresh ahead between eight"
    );
    let stored = sealer.load(&store).unwrap().unwrap();
    assert_eq!(stored.access_token.as_deref(), Some(tokens[0].as_str()));
    assert_ne!(stored.refresh_token.as_deref(), Some(seeded.as_str()));
}

#[test]
fn thresholds_are_checked_at_construction() {
    for (window, floor) in [(30, 30), (10, 30), (100_000, 10)] {
        let e = RefreshPolicy::new(Duration::from_secs(window), Duration::from_secs(floor));
        assert_eq!(e.unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
    assert_eq!(
        Sealer::new(vec![]).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        StoreKey::from_base64("c2hvcnQ=").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn a_manager_dropped_during_a_refresh_ahead_waits_for_its_save() {
    let c = tag("drop");
    let store = Arc::new(LatchStore::default());
    let m = manager(&c)
        .with_store(Latched(store.clone()))
        .with_policy(RefreshPolicy::new(HOUR_AND_A_BIT, Duration::from_secs(10)).unwrap());
    let first = m.access_token().unwrap().as_str().to_string();
    store.set(true);
    assert_eq!(
        m.access_token().unwrap().as_str(),
        first,
        "handed out at once"
    );
    until("the refresh ahead was sent", || {
        grants(&c, "refresh_token") == 2
    });
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dropping = {
        let dropped = dropped.clone();
        std::thread::spawn(move || {
            drop(m);
            dropped.store(true, Ordering::SeqCst);
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !dropped.load(Ordering::SeqCst),
        "the drop did not wait for the save"
    );
    store.set(false);
    dropping.join().unwrap();
    assert_eq!(
        store.saves.load(Ordering::SeqCst),
        2,
        "the rotated token was saved"
    );
    let stored = stored_in(&Latched(store.clone())).unwrap();
    assert_ne!(stored.access_token.as_deref(), Some(first.as_str()));
    assert!(concur_native::manager::wait_for_refreshes(
        Duration::from_secs(30)
    ));
}
