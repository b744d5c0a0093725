//! The token vault against the loopback test server: every start kind of `add` (and replacing),
//! one refresh per connection across threads and across two vaults sharing a store, invalidate,
//! remove with revocation, unknown and invalid IDs, listing 2,500 records without a token,
//! keep-alive reports that add up, 108 marking a connection dead and never re-sent, two sweeps
//! racing, sealed documents bound to their ID, events carrying the ID and no secret, and the
//! bounded cache.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use concur_native::manager::{Outcome, Trigger};
use concur_native::oauth2::{Grant, oauth2_authorize_url, parse_oauth2_callback};
use concur_native::vault::{
    ConnectionKind, ConnectionRecord, ConnectionState, KeyedLock, KeyedStore, MemoryKeyedStore,
    RefreshEvent, Sealer, StoreKey, StoredToken, TokenVault, VaultStart, open_store,
};
use concur_native::{Client, Error, ErrorKind, Options};
use concur_test_server::{
    ACCOUNTS, COMPANY_ID, OAUTH2_CLIENT_ID as ID, OAUTH2_CLIENT_SECRET as SECRET, REQUEST_TOKEN,
    TestServer, shared as server,
};

/// Far enough ahead that every refresh token the server issues (180 days) is due.
const EVERYTHING: Duration = Duration::from_secs(181 * 86_400);

fn tag(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "vault-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn client_of(server: &TestServer, correlation: &str) -> Arc<Client> {
    let options = Options::new()
        .base_url(server.base_url())
        .ca_file(server.ca_file())
        .timeout(Duration::from_secs(20))
        .correlation_id(correlation);
    Arc::new(Client::new(&options).unwrap())
}

/// Token-endpoint requests of one grant type whose correlation id starts with `prefix`.
fn grants_on(server: &TestServer, prefix: &str, grant: &str) -> usize {
    server
        .token_requests(grant)
        .iter()
        .filter(|r| {
            r.header("concur-correlationid")
                .is_some_and(|c| c.starts_with(prefix))
        })
        .count()
}

fn grants(prefix: &str, grant: &str) -> usize {
    grants_on(server(), prefix, grant)
}

fn vault_on(store: Arc<dyn KeyedStore>, correlation: &str) -> TokenVault {
    TokenVault::new(client_of(server(), correlation), ID, SECRET, store).unwrap()
}

fn password() -> VaultStart {
    VaultStart::Password {
        username: ACCOUNTS[0].login_id.into(),
        password: ACCOUNTS[0].password.into(),
    }
}

/// A fresh user refresh token (and its geolocation) from a password grant.
fn refresh_token() -> (String, String) {
    let t = client_of(server(), &tag("seed"))
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

/// The document stored for `id`, opened without a key.
fn stored(store: &dyn KeyedStore, id: &str) -> StoredToken {
    let document = store.load(id).unwrap().expect("a document");
    StoredToken::from_document(&document).unwrap()
}

fn recorder() -> (
    Arc<Mutex<Vec<RefreshEvent>>>,
    impl Fn(&RefreshEvent) + Send + Sync + 'static,
) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    (events, move |e: &RefreshEvent| {
        sink.lock().unwrap().push(e.clone())
    })
}

/// A record as a store filled directly holds it.
fn record(id: &str, refresh_expires_at: Option<i64>) -> ConnectionRecord {
    ConnectionRecord {
        id: id.into(),
        kind: ConnectionKind::User,
        subject: None,
        geolocation: None,
        expires_at: None,
        refresh_expires_at,
        last_refresh: Some(0),
        state: ConnectionState::Active,
        concur_code: None,
        failures: 0,
        added_at: 0,
    }
}

fn put(store: &dyn KeyedStore, id: &str, document: &[u8], record: &ConnectionRecord) {
    let mut lock = store.lock(id, Duration::ZERO).unwrap();
    lock.load().unwrap();
    lock.save(Some(document), record).unwrap();
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn add_runs_every_start_kind_and_refuses_an_id_present_unless_replacing() {
    let c = tag("add");
    let store = Arc::new(MemoryKeyedStore::new());
    let vault = vault_on(store.clone(), &c);

    let (refresh, geolocation) = refresh_token();
    let t = vault
        .add(
            "user-rt",
            VaultStart::RefreshToken {
                refresh_token: refresh.clone(),
                geolocation: Some(geolocation),
            },
            false,
        )
        .unwrap();
    // Refreshed once at once: the stored refresh token is the rotated one.
    assert_eq!(grants(&c, "refresh_token"), 1);
    let kept = stored(&*store, "user-rt");
    assert_ne!(kept.refresh_token.as_deref(), Some(refresh.as_str()));
    assert_eq!(kept.access_token.as_deref(), Some(t.as_str()));

    vault.add("user-pw", password(), false).unwrap();
    vault
        .add(
            "company",
            VaultStart::Company {
                company_id: COMPANY_ID.into(),
                request_token: REQUEST_TOKEN.into(),
            },
            false,
        )
        .unwrap();
    let app = vault
        .add("app", VaultStart::ClientCredentials, false)
        .unwrap();
    assert!(app.token().refresh_token().is_none());

    // The authorization code of the Web flow.
    let redirect = "https://partner.example/cb";
    let request = oauth2_authorize_url(
        ID,
        redirect,
        &["openid", "user.read"],
        None,
        Some(&server().plain_base_url()),
    )
    .unwrap();
    let query = request.url.split_once('?').unwrap().1;
    let callback = parse_oauth2_callback(
        &server().approve_oauth2(query).unwrap(),
        Some(&request.state),
    )
    .unwrap();
    vault
        .add(
            "user-code",
            VaultStart::AuthorizationCode {
                code: callback.code.clone(),
                redirect_uri: redirect.into(),
            },
            false,
        )
        .unwrap();
    assert_eq!(grants(&c, "authorization_code"), 1);

    let kinds: Vec<(String, ConnectionKind, ConnectionState)> = vault
        .connections()
        .map(|c| c.unwrap())
        .map(|c| (c.id, c.kind, c.state))
        .collect();
    assert_eq!(
        kinds,
        [
            ("app".into(), ConnectionKind::App, ConnectionState::Active),
            (
                "company".into(),
                ConnectionKind::Company,
                ConnectionState::Active
            ),
            (
                "user-code".into(),
                ConnectionKind::User,
                ConnectionState::Active
            ),
            (
                "user-pw".into(),
                ConnectionKind::User,
                ConnectionState::Active
            ),
            (
                "user-rt".into(),
                ConnectionKind::User,
                ConnectionState::Active
            ),
        ]
    );
    let info = vault.connection("company").unwrap();
    assert!(info.subject.is_some() && info.geolocation.is_some());
    assert!(info.refresh_expires_at.unwrap() > now() + 170 * 86_400);
    assert_eq!(info.state_name(), "active");

    // Present: refused without replace (nothing sent), replaced with it.
    let before = grants(&c, "password");
    let e = vault.add("user-pw", password(), false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(grants(&c, "password"), before);
    let old = stored(&*store, "user-pw").refresh_token.clone();
    let replaced = vault.add("user-pw", password(), true).unwrap();
    assert_ne!(stored(&*store, "user-pw").refresh_token, old);
    assert_eq!(
        vault.access_token("user-pw").unwrap().as_str(),
        replaced.as_str()
    );

    // A grant that fails stores nothing.
    let e = vault
        .add(
            "bad",
            VaultStart::RefreshToken {
                refresh_token: "not-a-refresh-token".into(),
                geolocation: None,
            },
            false,
        )
        .unwrap_err();
    assert_eq!(e.concur_code(), Some(108));
    assert!(store.record("bad").unwrap().is_none());
    assert_eq!(
        vault.access_token("bad").unwrap_err().kind(),
        ErrorKind::UnknownConnection
    );
}

#[test]
fn eight_threads_make_one_refresh_per_connection() {
    let c = tag("threads");
    let store = Arc::new(MemoryKeyedStore::new());
    let vault = vault_on(store, &c);
    let ids: Vec<String> = (0..4).map(|i| format!("conn-{i}")).collect();
    for id in &ids {
        vault.add(id, password(), false).unwrap();
        vault.invalidate(id).unwrap();
    }
    let barrier = Barrier::new(8);
    let seen = Mutex::new(HashSet::new());
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                barrier.wait();
                for id in &ids {
                    let t = vault.access_token(id).unwrap();
                    seen.lock()
                        .unwrap()
                        .insert((id.clone(), t.as_str().to_string()));
                }
            });
        }
    });
    assert_eq!(grants(&c, "refresh_token"), ids.len());
    assert_eq!(
        seen.lock().unwrap().len(),
        ids.len(),
        "one token per connection"
    );
}

#[test]
fn the_cached_read_never_waits_sends_or_reads_the_store() {
    let c = tag("cached");
    let store = Arc::new(MemoryKeyedStore::new());
    let vault = vault_on(store.clone(), &c);
    // Unknown, and not cached: None, nothing sent, nothing read.
    assert!(vault.cached_access_token("nobody", str::len).is_none());
    assert!(vault.cached_token("nobody").is_none());
    let added = vault.add("cached-1", password(), false).unwrap();
    let sent = grants(&c, "password") + grants(&c, "refresh_token");
    assert_eq!(
        vault
            .cached_access_token("cached-1", str::to_string)
            .as_deref(),
        Some(added.as_str())
    );
    assert_eq!(
        vault.cached_token("cached-1").unwrap().as_str(),
        added.as_str()
    );
    // Invalidated: a call would wait for a refresh, so the cached read says None.
    vault.invalidate("cached-1").unwrap();
    assert!(vault.cached_access_token("cached-1", str::len).is_none());
    // Another vault over the same store has it stored but not cached: None, nothing read.
    let other = vault_on(store, &c);
    assert!(other.cached_access_token("cached-1", str::len).is_none());
    assert_eq!(grants(&c, "password") + grants(&c, "refresh_token"), sent);
    // The slow path refreshes; the cached read then serves the new token.
    let fresh = vault.access_token("cached-1").unwrap();
    assert!(
        vault.wait_idle(Duration::from_secs(30)),
        "no refresh left running"
    );
    assert_ne!(fresh.as_str(), added.as_str());
    assert_eq!(
        vault
            .cached_access_token("cached-1", str::to_string)
            .as_deref(),
        Some(fresh.as_str())
    );
}

#[test]
fn two_vaults_over_one_store_act_as_two_processes() {
    let c = tag("two");
    let store: Arc<dyn KeyedStore> = Arc::new(MemoryKeyedStore::new());
    let a = vault_on(Arc::clone(&store), &format!("{c}-a"));
    let b = vault_on(Arc::clone(&store), &format!("{c}-b"));
    let added = a.add("shared", password(), false).unwrap();
    // B has nothing in memory: it takes what A stored, sending nothing.
    assert_eq!(b.access_token("shared").unwrap().as_str(), added.as_str());
    assert_eq!(grants(&c, "refresh_token"), 0);
    // A's token is refused: A refreshes once; B, invalidating the same token, takes A's new one.
    a.invalidate("shared").unwrap();
    let renewed = a.access_token("shared").unwrap();
    assert_ne!(renewed.as_str(), added.as_str());
    b.invalidate("shared").unwrap();
    assert_eq!(b.access_token("shared").unwrap().as_str(), renewed.as_str());
    assert_eq!(grants(&c, "refresh_token"), 1);
    // Removed by B: A's next refresh finds it gone.
    b.remove("shared", false).unwrap();
    a.invalidate("shared").unwrap();
    assert_eq!(
        a.access_token("shared").unwrap_err().kind(),
        ErrorKind::UnknownConnection
    );
    assert_eq!(
        grants(&c, "refresh_token"),
        1,
        "nothing sent for a removed connection"
    );
}

#[test]
fn invalidate_refreshes_even_when_the_store_holds_the_same_token() {
    let c = tag("invalidate");
    let store = Arc::new(MemoryKeyedStore::new());
    let vault = vault_on(store.clone(), &c);
    let first = vault.add("x", password(), false).unwrap();
    assert_eq!(vault.access_token("x").unwrap().as_str(), first.as_str());
    vault.invalidate("x").unwrap();
    let second = vault.access_token("x").unwrap();
    assert_ne!(second.as_str(), first.as_str());
    assert_eq!(
        stored(&*store, "x").access_token.as_deref(),
        Some(second.as_str())
    );
    assert_eq!(grants(&c, "refresh_token"), 1);
    // A vault that never held it refuses the stored token too.
    let other = vault_on(store.clone(), &c);
    other.invalidate("x").unwrap();
    let third = other.access_token("x").unwrap();
    assert_ne!(third.as_str(), second.as_str());
    assert_eq!(grants(&c, "refresh_token"), 2);
    let status = other.status("x").unwrap();
    assert_eq!(status.refresh_count, 1);
}

#[test]
fn remove_with_revoke_kills_the_refresh_token_and_forgets_everything() {
    // A server of its own: revocation ends every refresh family of the user.
    let own = TestServer::start().unwrap();
    let c = tag("revoke");
    let store = Arc::new(MemoryKeyedStore::new());
    let vault = TokenVault::new(client_of(&own, &c), ID, SECRET, store.clone()).unwrap();
    vault.add("keep", password(), false).unwrap();
    vault.add("gone", password(), false).unwrap();
    let refresh = stored(&*store, "gone").refresh_token.clone().unwrap();
    vault.remove("gone", true).unwrap();
    assert!(store.load("gone").unwrap().is_none());
    assert!(store.record("gone").unwrap().is_none());
    assert_eq!(
        vault.connection("gone").unwrap_err().kind(),
        ErrorKind::UnknownConnection
    );
    assert_eq!(
        vault.remove("gone", false).unwrap_err().kind(),
        ErrorKind::UnknownConnection
    );
    let e = client_of(&own, &c)
        .oauth2_token(
            ID,
            SECRET,
            &Grant::RefreshToken {
                refresh_token: &refresh,
                scope: None,
            },
            None,
        )
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.concur_code()),
        (ErrorKind::Unauthorized, Some(108))
    );
    assert_eq!(store.count().unwrap(), 1);
}

#[test]
fn unknown_and_invalid_ids_are_typed_errors_and_touch_nothing() {
    let c = tag("ids");
    let store = Arc::new(MemoryKeyedStore::new());
    let vault = vault_on(store.clone(), &c);
    for unknown in ["nobody", "é"] {
        assert_eq!(
            vault.access_token(unknown).unwrap_err().kind(),
            ErrorKind::UnknownConnection
        );
        assert_eq!(
            vault.connection(unknown).unwrap_err().kind(),
            ErrorKind::UnknownConnection
        );
        assert_eq!(
            vault.invalidate(unknown).unwrap_err().kind(),
            ErrorKind::UnknownConnection
        );
        assert_eq!(
            vault.remove(unknown, true).unwrap_err().kind(),
            ErrorKind::UnknownConnection
        );
        assert_eq!(
            vault.status(unknown).unwrap_err().kind(),
            ErrorKind::UnknownConnection
        );
        assert_eq!(
            vault.token(unknown).unwrap_err().code_str(),
            "UNKNOWN_CONNECTION"
        );
    }
    let long = "x".repeat(257);
    for bad in ["", "a\nb", "tab\there", long.as_str()] {
        let e = vault.access_token(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
        assert_eq!(
            vault.add(bad, password(), false).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            vault.connection(bad).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            vault.remove(bad, false).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
    // Bad starts: InvalidArgument naming the parameter, nothing sent, nothing stored.
    let e = vault
        .add(
            "x",
            VaultStart::Password {
                username: "u".into(),
                password: String::new(),
            },
            false,
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("password"), "{e}");
    assert_eq!(
        vault.keep_alive(EVERYTHING, 0).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(store.count().unwrap(), 0);
    assert_eq!(grants(&c, "password"), 0);
    assert_eq!(
        TokenVault::new(client_of(server(), &c), "", SECRET, store)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

trait CodeStr {
    fn code_str(&self) -> &'static str;
}

impl CodeStr for concur_native::Error {
    fn code_str(&self) -> &'static str {
        self.kind().code()
    }
}

#[test]
fn connections_page_over_records_without_reading_a_token() {
    let store = Arc::new(MemoryKeyedStore::new());
    for i in 0..2_500 {
        // Documents that are not tokens at all: listing must never read one.
        put(
            &*store,
            &format!("c{i:05}"),
            b"not a document",
            &record(&format!("c{i:05}"), Some(now() + 20 * 86_400)),
        );
    }
    let vault = vault_on(store.clone(), &tag("list"));
    let listed: Vec<_> = vault.connections().map(|c| c.unwrap()).collect();
    assert_eq!(listed.len(), 2_500);
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id), "in ID order");
    assert_eq!(listed[0].id, "c00000");
    assert_eq!(listed[2_499].id, "c02499");
    // 20 days left: within the 30-day horizon, not the 7-day one.
    assert!(
        listed
            .iter()
            .all(|c| c.horizon == Some(Duration::from_secs(30 * 86_400)))
    );
    assert!(listed.iter().all(|c| c.state_name() == "expiring"));
    // Pages with the caller's own cursor: the same records, in the same order.
    let first = vault.connection_page(None, 1_000).unwrap();
    let second = vault.connection_page(Some(&first[999].id), 1_000).unwrap();
    let last = vault.connection_page(Some(&second[999].id), 1_000).unwrap();
    assert_eq!((first.len(), second.len(), last.len()), (1_000, 1_000, 500));
    assert_eq!(first[0], listed[0]);
    assert_eq!(second[0], listed[1_000]);
    assert_eq!(last[499], listed[2_499]);
    assert!(
        vault
            .connection_page(Some("c02499"), 10)
            .unwrap()
            .is_empty()
    );
    // A garbage document is a Store error when used, not a crash.
    assert_eq!(
        vault.access_token("c00001").unwrap_err().kind(),
        ErrorKind::Store
    );
}

#[test]
fn keep_alive_reports_add_up_and_a_108_is_dead_and_never_sent_again() {
    let c = tag("sweep");
    let store = Arc::new(MemoryKeyedStore::new());
    let (events, observer) = recorder();
    let vault = vault_on(store.clone(), &c).on_event(observer);
    for i in 0..6 {
        vault.add(&format!("live-{i}"), password(), false).unwrap();
    }
    // Dead: a refresh token the server never issued.
    let mut bad = StoredToken::default();
    bad.refresh_token = Some("not-a-refresh-token".into());
    bad.refresh_expires_at = Some(now() + 3 * 86_400);
    put(
        &*store,
        "dead",
        &bad.to_document(),
        &record("dead", Some(now() + 3 * 86_400)),
    );
    // Failing: a data centre nobody answers at.
    let mut unreachable = StoredToken::default();
    unreachable.refresh_token = Some("whatever".into());
    unreachable.geolocation = Some("https://127.0.0.1:1".into());
    unreachable.refresh_expires_at = Some(now() + 86_400);
    put(
        &*store,
        "failing",
        &unreachable.to_document(),
        &record("failing", Some(now() + 86_400)),
    );
    let before = grants(&c, "refresh_token");

    // 30 days ahead: only the two filled directly are due.
    let report = vault
        .keep_alive(Duration::from_secs(30 * 86_400), 4)
        .unwrap();
    assert_eq!(report.checked, 2);
    assert_eq!(report.dead, [("dead".to_string(), Some(108))]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].id, "failing");
    assert_ne!(report.failed[0].kind(), ErrorKind::Unauthorized);
    assert_eq!(
        report.checked,
        report.refreshed + report.fresh + report.dead.len() as u64 + report.failed.len() as u64
    );
    let dead = vault.connection("dead").unwrap();
    assert_eq!(
        (dead.state, dead.concur_code, dead.failures),
        (ConnectionState::Dead, Some(108), 1)
    );
    let failing = vault.connection("failing").unwrap();
    assert_eq!(
        (failing.state, failing.failures),
        (ConnectionState::Failing, 1)
    );
    assert_eq!(failing.horizon, Some(Duration::from_secs(7 * 86_400)));
    assert!(!report.is_clean());

    // Everything: the six live ones are refreshed, the dead one is not listed again.
    let sent = grants(&c, "refresh_token");
    assert_eq!(sent - before, 1, "the dead token was sent once");
    let report = vault.keep_alive(EVERYTHING, 3).unwrap();
    assert_eq!((report.checked, report.refreshed), (7, 6));
    assert_eq!(report.failed.len(), 1);
    assert!(report.dead.is_empty());
    assert_eq!(
        grants(&c, "refresh_token") - sent,
        6,
        "live ones once; the dead one never"
    );
    assert_eq!(vault.connection("failing").unwrap().failures, 2);
    // A caller asking for the dead one hears Concur's verdict without a request.
    let e = vault.access_token("dead").unwrap_err();
    assert_eq!(
        (e.kind(), e.concur_code()),
        (ErrorKind::Unauthorized, Some(108))
    );
    let other = vault_on(store.clone(), &c);
    assert_eq!(
        other.access_token("dead").unwrap_err().concur_code(),
        Some(108)
    );
    assert_eq!(grants(&c, "refresh_token") - sent, 6);
    // Live ones still serve, from what the sweep stored.
    for i in 0..6 {
        let id = format!("live-{i}");
        let t = vault.access_token(&id).unwrap();
        assert_eq!(
            stored(&*store, &id).access_token.as_deref(),
            Some(t.as_str())
        );
    }

    // A dead connection is removed even when revocation is asked: nothing is left to revoke.
    vault.remove("dead", true).unwrap();
    assert!(store.record("dead").unwrap().is_none());

    let events = events.lock().unwrap();
    let swept: Vec<_> = events
        .iter()
        .filter(|e| e.trigger == Trigger::KeepAlive && e.outcome == Outcome::Refreshed)
        .collect();
    assert_eq!(swept.len(), 6);
    assert!(events.iter().all(|e| e.connection.is_some()));
    // Horizon warnings: the failing one crossed 30 and 7 days, once each.
    let warned: Vec<_> = events
        .iter()
        .filter(|e| e.outcome == Outcome::Expiring)
        .map(|e| {
            (
                e.connection.as_deref().unwrap().to_string(),
                e.horizon.unwrap(),
            )
        })
        .collect();
    assert!(warned.contains(&("failing".into(), Duration::from_secs(7 * 86_400))));
    assert_eq!(
        warned.iter().filter(|(id, _)| id == "failing").count(),
        2,
        "{warned:?}"
    );
}

#[test]
fn two_sweeps_racing_refresh_each_connection_once() {
    let c = tag("race");
    let store: Arc<dyn KeyedStore> = Arc::new(MemoryKeyedStore::new());
    let adder = vault_on(Arc::clone(&store), &format!("{c}-add"));
    for i in 0..40 {
        adder.add(&format!("r{i:02}"), password(), false).unwrap();
    }
    // Their refresh tokens made to expire in 10 days: due for a 30-day sweep, and no longer
    // once refreshed (180 days).
    for i in 0..40 {
        let id = format!("r{i:02}");
        let mut lock = store.lock(&id, Duration::ZERO).unwrap();
        lock.load().unwrap();
        let mut record = lock.record().unwrap().unwrap();
        record.refresh_expires_at = Some(now() + 10 * 86_400);
        lock.save(None, &record).unwrap();
    }
    let month = Duration::from_secs(30 * 86_400);
    let a = vault_on(Arc::clone(&store), &format!("{c}-a"));
    let b = vault_on(Arc::clone(&store), &format!("{c}-b"));
    let barrier = Barrier::new(2);
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| {
            barrier.wait();
            a.keep_alive(month, 4).unwrap()
        });
        let hb = s.spawn(|| {
            barrier.wait();
            b.keep_alive(month, 4).unwrap()
        });
        (ha.join().unwrap(), hb.join().unwrap())
    });
    for r in [&ra, &rb] {
        assert_eq!(
            r.checked,
            r.refreshed + r.fresh + r.dead.len() as u64 + r.failed.len() as u64
        );
        assert!(r.is_clean());
    }
    assert_eq!(ra.refreshed + rb.refreshed, 40);
    assert_eq!(
        grants(&c, "refresh_token"),
        40,
        "each connection refreshed once"
    );
    // Nothing is due any more.
    let again = a.keep_alive(month, 4).unwrap();
    assert_eq!(again.checked, 0);
}

fn key(n: u8) -> StoreKey {
    StoreKey::from_bytes(&[n; 32]).unwrap()
}

#[test]
fn sealed_documents_hold_no_token_and_open_under_their_own_id_only() {
    let c = tag("sealed");
    let store: Arc<dyn KeyedStore> = Arc::new(MemoryKeyedStore::new());
    let vault = vault_on(Arc::clone(&store), &c).with_sealer(Sealer::new(vec![key(7)]).unwrap());
    let t = vault.add("one", password(), false).unwrap();
    vault.add("two", password(), false).unwrap();
    let document = store.load("one").unwrap().unwrap();
    let refresh = t.token().refresh_token().unwrap();
    for secret in [t.as_str(), refresh] {
        assert!(
            !document
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "the sealed document holds a token"
        );
    }
    // Copied under another ID, "one"'s document does not open.
    let record = store.record("two").unwrap().unwrap();
    put(&*store, "two", &document, &record);
    let reader = vault_on(Arc::clone(&store), &c).with_sealer(Sealer::new(vec![key(7)]).unwrap());
    assert_eq!(
        reader.access_token("two").unwrap_err().kind(),
        ErrorKind::Store
    );
    assert_eq!(reader.access_token("one").unwrap().as_str(), t.as_str());
    // Without the key, nothing opens.
    let keyless = vault_on(Arc::clone(&store), &c);
    assert_eq!(
        keyless.access_token("one").unwrap_err().kind(),
        ErrorKind::Store
    );
}

#[test]
fn events_carry_the_id_and_nothing_holds_a_secret() {
    let c = tag("secrets");
    let store = Arc::new(MemoryKeyedStore::new());
    let (events, observer) = recorder();
    let vault = vault_on(store.clone(), &c).on_event(observer);
    let t = vault.add("company-42", password(), false).unwrap();
    vault.invalidate("company-42").unwrap();
    let t2 = vault.access_token("company-42").unwrap();
    let e = vault
        .add(
            "bad",
            VaultStart::RefreshToken {
                refresh_token: "rt-secret-value".into(),
                geolocation: None,
            },
            false,
        )
        .unwrap_err();
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0].trigger, Trigger::Absent);
    assert_eq!(events[1].trigger, Trigger::Invalidated);
    assert_eq!(events[2].outcome, Outcome::Dead);
    assert_eq!(events[0].connection.as_deref(), Some("company-42"));
    assert_eq!(events[2].connection.as_deref(), Some("bad"));
    assert!(events[0].to_string().contains("company-42"));
    let secrets = [
        t.as_str(),
        t.token().refresh_token().unwrap(),
        t2.as_str(),
        t2.token().refresh_token().unwrap(),
        ACCOUNTS[0].password,
        SECRET,
        "rt-secret-value",
    ];
    let mut texts: Vec<String> = events
        .iter()
        .flat_map(|e| [format!("{e}"), format!("{e:?}")])
        .collect();
    texts.push(format!("{e} {e:?}"));
    texts.push(format!("{vault:?}"));
    texts.push(format!("{:?}", vault.connection("company-42").unwrap()));
    texts.push(format!("{:?}", store.record("company-42").unwrap()));
    texts.push(format!("{:?}", vault.status("company-42").unwrap()));
    texts.push(format!("{t:?}"));
    texts.push(format!("{:?}", password()));
    texts.push(format!(
        "{:?}",
        VaultStart::RefreshToken {
            refresh_token: "rt-secret-value".into(),
            geolocation: None
        }
    ));
    for text in &texts {
        for secret in secrets {
            assert!(!text.contains(secret), "a secret in {text}");
        }
    }
}

#[test]
fn a_cache_of_ten_serves_fifty_connections_correctly() {
    let c = tag("cache");
    let store: Arc<dyn KeyedStore> = Arc::new(MemoryKeyedStore::new());
    let adder = vault_on(Arc::clone(&store), &format!("{c}-add"));
    let mut tokens = Vec::new();
    for i in 0..50 {
        let id = format!("k{i}");
        tokens.push((
            id.clone(),
            adder
                .add(&id, password(), false)
                .unwrap()
                .as_str()
                .to_string(),
        ));
    }
    let vault = vault_on(Arc::clone(&store), &c).with_cache_capacity(10);
    for _ in 0..3 {
        for (id, token) in &tokens {
            assert_eq!(vault.access_token(id).unwrap().as_str(), token.as_str());
        }
    }
    assert_eq!(
        grants(&c, "refresh_token"),
        0,
        "every token came from the store"
    );
}

#[test]
fn store_urls_open_or_are_typed_errors() {
    assert!(open_store("memory:").is_ok());
    assert_eq!(
        open_store("gopher://x").err().unwrap().kind(),
        ErrorKind::InvalidArgument
    );
    let e = open_store("redis://:hunter2@")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!e.contains("hunter2"), "{e}");
}

/// The same vault over SQLite, opened by URL twice (two processes' connections to one file):
/// added by one, used by the other from the store, swept by both racing, sealed.
#[cfg(feature = "sqlite")]
#[test]
fn two_vaults_over_one_sqlite_file() {
    let dir = std::env::temp_dir().join(tag("sqlite"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("vault.db").display());
    let c = tag("sqlite");
    let sealer = || Sealer::new(vec![key(3)]).unwrap();
    let a = vault_on(open_store(&url).unwrap(), &format!("{c}-a")).with_sealer(sealer());
    let b = vault_on(open_store(&url).unwrap(), &format!("{c}-b")).with_sealer(sealer());
    let mut tokens = Vec::new();
    for i in 0..12 {
        let id = format!("s{i:02}");
        tokens.push((id.clone(), a.add(&id, password(), false).unwrap()));
    }
    for (id, token) in &tokens {
        assert_eq!(b.access_token(id).unwrap().as_str(), token.as_str());
    }
    assert_eq!(grants(&c, "refresh_token"), 0);
    // Due in 10 days, swept by both at once: each refreshed once.
    let store = open_store(&url).unwrap();
    for (id, _) in &tokens {
        let mut lock = store.lock(id, Duration::from_secs(5)).unwrap();
        lock.load().unwrap();
        let mut record = lock.record().unwrap().unwrap();
        record.refresh_expires_at = Some(now() + 10 * 86_400);
        lock.save(None, &record).unwrap();
    }
    let month = Duration::from_secs(30 * 86_400);
    let barrier = Barrier::new(2);
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| {
            barrier.wait();
            a.keep_alive(month, 3).unwrap()
        });
        let hb = s.spawn(|| {
            barrier.wait();
            b.keep_alive(month, 3).unwrap()
        });
        (ha.join().unwrap(), hb.join().unwrap())
    });
    assert_eq!(ra.refreshed + rb.refreshed, 12);
    assert_eq!(grants(&c, "refresh_token"), 12);
    assert_eq!(b.connections().count(), 12);
    assert!(
        b.connections()
            .all(|c| c.unwrap().state == ConnectionState::Active)
    );
    // A third holder takes what the sweeps stored, sending nothing.
    let third = vault_on(open_store(&url).unwrap(), &format!("{c}-c")).with_sealer(sealer());
    for (id, token) in &tokens {
        assert_ne!(third.access_token(id).unwrap().as_str(), token.as_str());
    }
    assert_eq!(grants(&c, "refresh_token"), 12);
    b.remove("s00", false).unwrap();
    assert_eq!(
        a.connection("s00").unwrap_err().kind(),
        ErrorKind::UnknownConnection
    );
    drop((a, b, third, store));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_refresh_token_near_its_end_is_warned_about_once_per_horizon() {
    let store = Arc::new(MemoryKeyedStore::new());
    let mut token = StoredToken::default();
    token.access_token = Some("stored-access-token".into());
    token.expires_at = Some(now() + 3600);
    token.refresh_token = Some("stored-refresh-token".into());
    token.refresh_expires_at = Some(now() + 3 * 86_400);
    put(
        &*store,
        "old",
        &token.to_document(),
        &record("old", token.refresh_expires_at),
    );
    let (events, observer) = recorder();
    let c = tag("horizon");
    let vault = vault_on(store.clone(), &c).on_event(observer);
    for _ in 0..3 {
        assert_eq!(
            vault.access_token("old").unwrap().as_str(),
            "stored-access-token"
        );
    }
    let events = events.lock().unwrap();
    let warned: Vec<_> = events
        .iter()
        .filter(|e| e.outcome == Outcome::Expiring)
        .map(|e| (e.connection.as_deref(), e.horizon, e.refresh_expires_at))
        .collect();
    assert_eq!(
        warned,
        [
            (
                Some("old"),
                Some(Duration::from_secs(30 * 86_400)),
                token.refresh_expires_at
            ),
            (
                Some("old"),
                Some(Duration::from_secs(7 * 86_400)),
                token.refresh_expires_at
            ),
        ]
    );
    assert_eq!(grants(&c, "refresh_token"), 0);
    // No horizon configured: no warning.
    let (quiet, observer) = recorder();
    let vault = vault_on(store, &c).on_event(observer).with_horizons([]);
    vault.access_token("old").unwrap();
    assert!(
        quiet
            .lock()
            .unwrap()
            .iter()
            .all(|e| e.outcome != Outcome::Expiring)
    );
}

/// The fleet test's child: a process with a vault over the SQLite file the parent names, every
/// call refreshing (a floor above the hour), calling `access_token` on pseudo-random IDs while
/// a thread sweeps; prints its report and whether every call succeeded.
#[cfg(feature = "sqlite")]
#[test]
fn fleet_child_entry() {
    use concur_native::vault::RefreshPolicy;
    let Ok(url) = std::env::var("CONCUR_VAULT_CHILD") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap();
    let options = Options::new()
        .base_url(var("CONCUR_VAULT_BASE"))
        .ca_file(var("CONCUR_VAULT_CA"))
        .timeout(Duration::from_secs(60))
        .correlation_id(var("CONCUR_VAULT_TAG"));
    let hour = Duration::from_secs(3600 + 60);
    let vault = TokenVault::new(
        Arc::new(Client::new(&options).unwrap()),
        ID,
        SECRET,
        open_store(&url).unwrap(),
    )
    .unwrap()
    .with_policy(RefreshPolicy::new(2 * hour, hour).unwrap());
    let n: u64 = var("CONCUR_VAULT_N").parse().unwrap();
    let go = var("CONCUR_VAULT_GO");
    let waited = std::time::Instant::now();
    while !std::path::Path::new(&go).exists() {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no start signal"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut seed = u64::from(std::process::id()) | 1;
    let report = std::thread::scope(|s| {
        let sweep = s.spawn(|| {
            vault
                .keep_alive(Duration::from_secs(30 * 86_400), 3)
                .unwrap()
        });
        for _ in 0..25 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let id = format!("f{:02}", seed % n);
            vault.access_token(&id).expect("every call succeeds");
        }
        sweep.join().unwrap()
    });
    println!(
        "REPORT {} {} {} {} {}",
        report.checked,
        report.refreshed,
        report.fresh,
        report.dead.len(),
        report.failed.len()
    );
}

/// Six processes share 30 connections in one SQLite file, each calling `access_token` (every
/// call a refresh) while sweeping: no call fails (a refresh token used twice would be 108), the
/// sweeps refresh each due connection at most once between them, and every connection is alive
/// at the end.
#[cfg(feature = "sqlite")]
#[test]
fn six_processes_share_a_sqlite_vault() {
    use std::process::{Command, Stdio};
    const N: usize = 30;
    let dir = std::env::temp_dir().join(tag("fleet"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("vault.db").display());
    let c = tag("fleet");
    let store = open_store(&url).unwrap();
    let seeder = vault_on(Arc::clone(&store), &format!("{c}-seed"));
    for i in 0..N {
        seeder.add(&format!("f{i:02}"), password(), false).unwrap();
    }
    for i in 0..N {
        let mut lock = store
            .lock(&format!("f{i:02}"), Duration::from_secs(5))
            .unwrap();
        lock.load().unwrap();
        let mut record = lock.record().unwrap().unwrap();
        record.refresh_expires_at = Some(now() + 10 * 86_400);
        lock.save(None, &record).unwrap();
    }
    let go = dir.join("go");
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "fleet_child_entry",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("CONCUR_VAULT_CHILD", &url)
                .env("CONCUR_VAULT_BASE", server().base_url())
                .env("CONCUR_VAULT_CA", server().ca_file())
                .env("CONCUR_VAULT_TAG", format!("{c}-child"))
                .env("CONCUR_VAULT_N", N.to_string())
                .env("CONCUR_VAULT_GO", &go)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(&go, b"go").unwrap();
    let mut swept = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "a child failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let numbers: Vec<u64> = stdout
            .lines()
            .find_map(|l| l.split_once("REPORT ").map(|(_, r)| r.trim()))
            .expect("the child printed its report")
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        let [checked, refreshed, fresh, dead, failed] = numbers[..] else {
            panic!("{numbers:?}");
        };
        assert_eq!(checked, refreshed + fresh + dead + failed);
        assert_eq!((dead, failed), (0, 0));
        swept += refreshed;
    }
    assert!(
        swept <= N as u64,
        "{swept} sweep refreshes for {N} connections"
    );
    // Every call refreshed (or shared the refresh its own process's sweep was making).
    let sent = grants(&format!("{c}-child"), "refresh_token") as u64;
    assert!(
        (100..=6 * 25 + swept).contains(&sent),
        "{sent} refreshes for 150 calls and {swept} sweep refreshes"
    );
    // Every connection is alive: its latest refresh token refreshes once more.
    let last = vault_on(Arc::clone(&store), &format!("{c}-last"));
    for i in 0..N {
        let id = format!("f{i:02}");
        assert_eq!(last.connection(&id).unwrap().state, ConnectionState::Active);
        last.invalidate(&id).unwrap();
        last.access_token(&id).unwrap();
    }
    assert_eq!(grants(&format!("{c}-last"), "refresh_token"), N);
    drop((seeder, last, store));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A store whose locks fail (an outage of the store itself), over a memory store.
struct FailingLocks(MemoryKeyedStore);

impl KeyedStore for FailingLocks {
    fn load(&self, id: &str) -> Result<Option<concur_native::manager::Document>, Error> {
        self.0.load(id)
    }
    fn lock(&self, _: &str, _: Duration) -> Result<Box<dyn KeyedLock + '_>, Error> {
        Err(Error::store_failure("the store cannot be reached"))
    }
    fn record(&self, id: &str) -> Result<Option<ConnectionRecord>, Error> {
        self.0.record(id)
    }
    fn records(&self, after: Option<&str>, limit: usize) -> Result<Vec<ConnectionRecord>, Error> {
        self.0.records(after, limit)
    }
    fn due(
        &self,
        now: i64,
        within: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ConnectionRecord>, Error> {
        self.0.due(now, within, after, limit)
    }
    fn remove(&self, id: &str) -> Result<bool, Error> {
        self.0.remove(id)
    }
    fn count(&self) -> Result<u64, Error> {
        self.0.count()
    }
    fn identity(&self, id: &str) -> String {
        self.0.identity(id)
    }
}

#[test]
fn a_store_failing_at_its_locks_is_reported_failed_not_fresh() {
    let inner = MemoryKeyedStore::new();
    for i in 0..3 {
        let id = format!("due-{i}");
        put(&inner, &id, b"unread", &record(&id, Some(now() + 86_400)));
    }
    let vault = vault_on(Arc::new(FailingLocks(inner)), &tag("failing-locks"));
    let report = vault
        .keep_alive(Duration::from_secs(30 * 86_400), 2)
        .unwrap();
    assert_eq!(report.checked, 3);
    assert_eq!((report.refreshed, report.fresh), (0, 0));
    assert_eq!(report.failed.len(), 3, "{report:?}");
    assert!(report.failed.iter().all(|f| f.kind() == ErrorKind::Store));
    assert!(!report.is_clean());
}

#[test]
fn refreshes_ahead_are_bounded_however_many_connections_enter_their_window() {
    use concur_native::manager::{MAX_REFRESHES_AHEAD, refreshes_ahead};
    let store = Arc::new(MemoryKeyedStore::new());
    // 100 connections inside the window (100 s left) whose data centre never answers (2 s).
    let hang = server().scenario_url("hang-2000");
    let n = MAX_REFRESHES_AHEAD + 36;
    for i in 0..n {
        let id = format!("ahead-{i:03}");
        let stored = StoredToken {
            refresh_token: Some(format!("rt-{i}")),
            refresh_expires_at: Some(now() + 86_400 * 100),
            geolocation: Some(hang.clone()),
            access_token: Some(format!("at-{i}")),
            expires_at: Some(now() + 100),
        };
        put(
            &*store,
            &id,
            &stored.to_document(),
            &record(&id, Some(now() + 86_400 * 100)),
        );
    }
    let vault = vault_on(store, &tag("bounded-ahead"));
    let mut most = 0;
    for i in 0..n {
        let id = format!("ahead-{i:03}");
        // Every caller gets the current token at once (from the store, then refreshed ahead).
        assert_eq!(vault.access_token(&id).unwrap().as_str(), format!("at-{i}"));
        assert_eq!(vault.access_token(&id).unwrap().as_str(), format!("at-{i}"));
        // Counted by the library (a thread's exit trails its count: threads are not counted).
        most = most.max(refreshes_ahead());
    }
    // Without the bound, the 100 refreshes ahead would all hang at once, each on its thread.
    assert!(
        most <= MAX_REFRESHES_AHEAD,
        "{most} refreshes ahead at once"
    );
    assert!(most > 0, "refreshes ahead started");
}
