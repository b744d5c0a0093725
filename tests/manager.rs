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
    Document, FileStore, MemoryStore, RefreshPolicy, Sealer, Start, StoreLock, StoredToken,
    TokenManager, TokenStore,
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
    // Start together: wait for the parent's signal.
    let waited = Instant::now();
    while !std::path::Path::new(&start_file).exists() {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no start signal"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let token = m.access_token().expect("a token");
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
    Command::new(std::env::current_exe().unwrap())
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
    let (refresh_token, _) = refresh_token();
    let stale = StoredToken {
        refresh_token: Some(refresh_token.clone()),
        refresh_expires_at: None,
        geolocation: None,
        access_token: Some("expired-access-token".into()),
        expires_at: Some(1),
    };
    let mut lock = store.lock(Duration::from_secs(1)).unwrap();
    lock.load().unwrap();
    lock.save(&stale.to_document()).unwrap();
    refresh_token
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
