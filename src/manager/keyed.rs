//! The vault's stores: one document per connection, named by the caller's ID, with the
//! operator's record of it beside the document (no secret in the record, so listing 100,000
//! connections reads no token and needs no key), one lock per connection, and a sweep index
//! ordered by refresh expiry. The in-memory keyed store lives here; SQLite, Redis and
//! PostgreSQL each have their own file and cargo feature.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::error::Error;

use super::store::Document;

/// The longest connection ID, in bytes.
pub const MAX_CONNECTION_ID: usize = 256;

/// Checks a connection ID: printable text (no control character), 1 to
/// [`MAX_CONNECTION_ID`] bytes. An invalid ID is an `InvalidArgument` error quoting nothing of
/// it but its length.
pub fn check_connection_id(id: &str) -> Result<(), Error> {
    if id.is_empty() {
        return Err(Error::invalid("the connection ID is empty"));
    }
    if id.len() > MAX_CONNECTION_ID {
        return Err(Error::invalid(format!(
            "the connection ID is {} bytes long; at most {MAX_CONNECTION_ID} are allowed",
            id.len()
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::invalid(
            "the connection ID holds a control character (it must be printable text)",
        ));
    }
    Ok(())
}

/// What a connection stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionKind {
    /// A company's connection (App Center: a company grant from a request token).
    Company,
    /// A user's connection (a password grant, an authorization code, a stored refresh token).
    User,
    /// The application's own token (client credentials).
    App,
}

impl ConnectionKind {
    /// `"company"`, `"user"` or `"app"`: the name stores and bindings use.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::Company => "company",
            ConnectionKind::User => "user",
            ConnectionKind::App => "app",
        }
    }

    /// The kind named by [`as_str`](ConnectionKind::as_str).
    pub fn from_name(name: &str) -> Option<ConnectionKind> {
        match name {
            "company" => Some(ConnectionKind::Company),
            "user" => Some(ConnectionKind::User),
            "app" => Some(ConnectionKind::App),
            _ => None,
        }
    }
}

/// A connection's health as stored (the vault adds the horizon warnings when it reads it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The last refresh succeeded (or none has run yet).
    Active,
    /// Transient failures in a row (an outage): it will be tried again.
    Failing,
    /// Concur's verdict (a 108, a revoked connection, an unknown client): never sent again.
    Dead,
}

impl ConnectionState {
    /// `"active"`, `"failing"` or `"dead"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Active => "active",
            ConnectionState::Failing => "failing",
            ConnectionState::Dead => "dead",
        }
    }

    /// The state named by [`as_str`](ConnectionState::as_str).
    pub fn from_name(name: &str) -> Option<ConnectionState> {
        match name {
            "active" => Some(ConnectionState::Active),
            "failing" => Some(ConnectionState::Failing),
            "dead" => Some(ConnectionState::Dead),
            _ => None,
        }
    }
}

/// What a keyed store keeps beside a connection's document: everything an operator lists,
/// nothing secret. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRecord {
    /// The caller's name for the connection.
    pub id: String,
    /// What the connection stands for.
    pub kind: ConnectionKind,
    /// The token's subject (a company or user UUID), when Concur said.
    pub subject: Option<String>,
    /// The data centre the connection lives at.
    pub geolocation: Option<String>,
    /// When the current access token expires.
    pub expires_at: Option<i64>,
    /// When the refresh token expires (the connection dies unused then).
    pub refresh_expires_at: Option<i64>,
    /// When the connection was last refreshed (or added).
    pub last_refresh: Option<i64>,
    /// Its health.
    pub state: ConnectionState,
    /// Concur's code that killed it (108, …), when dead.
    pub concur_code: Option<i64>,
    /// Transient failures in a row.
    pub failures: u32,
    /// When it was added.
    pub added_at: i64,
}

impl ConnectionRecord {
    /// Whether a sweep looking `within` seconds ahead of `now` must refresh this connection:
    /// not dead, and its refresh token expires before `now + within`, or its expiry is unknown
    /// and its last refresh is older than `within` (or it was never refreshed).
    pub fn is_due(&self, now: i64, within: i64) -> bool {
        if self.state == ConnectionState::Dead {
            return false;
        }
        match self.refresh_expires_at {
            Some(at) => at < now.saturating_add(within),
            None => self
                .last_refresh
                .is_none_or(|last| last < now.saturating_sub(within)),
        }
    }

    /// The key of the sweep index: the refresh expiry, or, when unknown, the last refresh
    /// plus `within` (a connection never refreshed sorts first).
    pub fn sweep_key(&self, within: i64) -> i64 {
        self.refresh_expires_at.unwrap_or_else(|| {
            self.last_refresh
                .map_or(i64::MIN, |last| last.saturating_add(within))
        })
    }
}

/// Where a vault keeps its connections: one document per connection ID (the
/// [`StoredToken`](super::StoredToken) document, sealed when the vault has a key) and its
/// [`ConnectionRecord`], written together. Implement it to keep connections anywhere; the
/// library's are [`MemoryKeyedStore`] and, behind cargo features, SQLite, Redis and
/// PostgreSQL.
///
/// Each connection has its own lock. A refresh happens under it: the holder reads the
/// document (another holder may have refreshed), refreshes only if it must, and saves the
/// rotated token before anyone uses it. [`KeyedLock::save`] is a compare-and-swap: it replaces
/// the document only if the store still holds the one this lock loaded (a lock whose exclusion
/// can lapse must check that atomically in the store).
pub trait KeyedStore: Send + Sync {
    /// Reads connection `id`'s document without its lock (`None`: no such connection).
    fn load(&self, id: &str) -> Result<Option<Document>, Error>;

    /// Takes connection `id`'s lock, waiting at most `wait` for it (`Duration::ZERO`: only if
    /// free at once, for a sweep that skips what another sweeper holds). A lock can be taken
    /// for an ID that has no document yet (adding it). Timing out is
    /// [`Error::lock_busy`]; any other failure is a plain `Store` error (a sweep
    /// reports it as failed, not as a connection another sweeper holds).
    fn lock(&self, id: &str, wait: Duration) -> Result<Box<dyn KeyedLock + '_>, Error>;

    /// Connection `id`'s record (`None`: no such connection).
    fn record(&self, id: &str) -> Result<Option<ConnectionRecord>, Error>;

    /// Up to `limit` records in ID order (byte order), starting after the ID `after`; no
    /// document is read.
    fn records(&self, after: Option<&str>, limit: usize) -> Result<Vec<ConnectionRecord>, Error>;

    /// Up to `limit` records that are [due](ConnectionRecord::is_due) for a sweep looking
    /// `within` seconds ahead of `now`, in [sweep order](ConnectionRecord::sweep_key) (then
    /// ID), starting after `after` (a `(sweep_key, id)` cursor). Stores with an index answer
    /// without scanning every connection.
    fn due(
        &self,
        now: i64,
        within: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ConnectionRecord>, Error>;

    /// Forgets connection `id`, document and record (nothing of it left); whether it existed.
    fn remove(&self, id: &str) -> Result<bool, Error>;

    /// The number of connections.
    fn count(&self) -> Result<u64, Error>;

    /// The name bound into connection `id`'s sealed document, so that one copied under
    /// another ID or store does not open: the store's URL (without password) and the ID.
    fn identity(&self, id: &str) -> String;
}

/// One connection's lock, held for one refresh (or one add or remove); released when dropped.
pub trait KeyedLock {
    /// Reads the connection's document under the lock.
    fn load(&mut self) -> Result<Option<Document>, Error>;

    /// Reads the connection's record under the lock.
    fn record(&mut self) -> Result<Option<ConnectionRecord>, Error>;

    /// Writes the record, and the document with it when `document` is given (`None` keeps
    /// the document: a failure recorded), both or neither, if the store still holds the
    /// document the last [`load`](KeyedLock::load) read; otherwise a `Store` error and nothing
    /// changes. Saving a connection that has no document yet adds it.
    fn save(&mut self, document: Option<&[u8]>, record: &ConnectionRecord) -> Result<(), Error>;
}

/// Keeps connections in this process only: for one process with many threads, or tests.
#[derive(Default)]
pub struct MemoryKeyedStore {
    state: Mutex<MemoryKeyed>,
    released: Condvar,
}

#[derive(Default)]
struct MemoryKeyed {
    connections: BTreeMap<String, (Document, ConnectionRecord)>,
    locked: HashSet<String>,
}

impl MemoryKeyedStore {
    /// An empty store.
    pub fn new() -> MemoryKeyedStore {
        MemoryKeyedStore::default()
    }

    fn state(&self) -> MutexGuard<'_, MemoryKeyed> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl KeyedStore for MemoryKeyedStore {
    fn load(&self, id: &str) -> Result<Option<Document>, Error> {
        Ok(self.state().connections.get(id).map(|(d, _)| d.clone()))
    }

    fn lock(&self, id: &str, wait: Duration) -> Result<Box<dyn KeyedLock + '_>, Error> {
        let deadline = Instant::now() + wait;
        let mut state = self.state();
        while state.locked.contains(id) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::lock_busy(
                    "the connection's lock was not released in time",
                ));
            }
            state = self
                .released
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.locked.insert(id.to_string());
        Ok(Box::new(MemoryKeyedLock {
            store: self,
            id: id.to_string(),
        }))
    }

    fn record(&self, id: &str) -> Result<Option<ConnectionRecord>, Error> {
        Ok(self.state().connections.get(id).map(|(_, r)| r.clone()))
    }

    fn records(&self, after: Option<&str>, limit: usize) -> Result<Vec<ConnectionRecord>, Error> {
        use std::ops::Bound;
        let state = self.state();
        let lower = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.to_string()));
        Ok(state
            .connections
            .range((lower, Bound::Unbounded))
            .take(limit)
            .map(|(_, (_, r))| r.clone())
            .collect())
    }

    fn due(
        &self,
        now: i64,
        within: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ConnectionRecord>, Error> {
        let state = self.state();
        let mut due: Vec<(i64, &ConnectionRecord)> = state
            .connections
            .values()
            .map(|(_, r)| (r.sweep_key(within), r))
            .filter(|(key, r)| {
                r.is_due(now, within) && after.is_none_or(|(k, id)| (*key, r.id.as_str()) > (k, id))
            })
            .collect();
        due.sort_by(|a, b| (a.0, a.1.id.as_str()).cmp(&(b.0, b.1.id.as_str())));
        Ok(due
            .into_iter()
            .take(limit)
            .map(|(_, r)| r.clone())
            .collect())
    }

    fn remove(&self, id: &str) -> Result<bool, Error> {
        Ok(self.state().connections.remove(id).is_some())
    }

    fn count(&self) -> Result<u64, Error> {
        Ok(self.state().connections.len() as u64)
    }

    fn identity(&self, id: &str) -> String {
        format!("memory:#{id}")
    }
}

struct MemoryKeyedLock<'a> {
    store: &'a MemoryKeyedStore,
    id: String,
}

impl KeyedLock for MemoryKeyedLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        self.store.load(&self.id)
    }

    fn record(&mut self) -> Result<Option<ConnectionRecord>, Error> {
        self.store.record(&self.id)
    }

    fn save(&mut self, document: Option<&[u8]>, record: &ConnectionRecord) -> Result<(), Error> {
        let mut state = self.store.state();
        let document = match (document, state.connections.get(&self.id)) {
            (Some(d), _) => Zeroizing::new(d.to_vec()),
            (None, Some((d, _))) => d.clone(),
            (None, None) => {
                return Err(Error::store(
                    "a record cannot be saved for a connection that has no document",
                ));
            }
        };
        state
            .connections
            .insert(self.id.clone(), (document, record.clone()));
        Ok(())
    }
}

impl Drop for MemoryKeyedLock<'_> {
    fn drop(&mut self) {
        self.store.state().locked.remove(&self.id);
        self.store.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, refresh_expires_at: Option<i64>, last: Option<i64>) -> ConnectionRecord {
        ConnectionRecord {
            id: id.into(),
            kind: ConnectionKind::Company,
            subject: None,
            geolocation: None,
            expires_at: None,
            refresh_expires_at,
            last_refresh: last,
            state: ConnectionState::Active,
            concur_code: None,
            failures: 0,
            added_at: 0,
        }
    }

    #[test]
    fn ids_are_checked() {
        assert!(check_connection_id("08bcca1e-0d4f-4261-9f1b-f778d96617d6").is_ok());
        assert!(check_connection_id("user é 1").is_ok());
        for bad in ["", "a\nb", "a\u{0}b", &"x".repeat(257)] {
            let e = check_connection_id(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn memory_store_pages_sweeps_and_locks_per_connection() {
        let store = MemoryKeyedStore::new();
        for (id, rx, last) in [
            ("a", Some(100), None),
            ("b", Some(50), None),
            ("c", None, Some(10)),
            ("d", Some(10_000), None),
        ] {
            let mut lock = store.lock(id, Duration::ZERO).unwrap();
            assert!(lock.load().unwrap().is_none());
            lock.save(Some(b"doc"), &record(id, rx, last)).unwrap();
        }
        let page = store.records(Some("a"), 2).unwrap();
        assert_eq!(
            page.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["b", "c"]
        );
        // now 0, within 1000: a (100), b (50) due; c: last refresh 10 is not older than -1000.
        let due = store.due(0, 1000, None, 10).unwrap();
        assert_eq!(
            due.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        let rest = store.due(0, 1000, Some((50, "b")), 10).unwrap();
        assert_eq!(rest.len(), 1);
        let held = store.lock("a", Duration::ZERO).unwrap();
        assert!(store.lock("a", Duration::from_millis(5)).is_err());
        assert!(store.lock("b", Duration::ZERO).is_ok());
        drop(held);
        assert!(store.remove("a").unwrap());
        assert!(!store.remove("a").unwrap());
        assert_eq!(store.count().unwrap(), 3);
        let mut lock = store.lock("zz", Duration::ZERO).unwrap();
        assert!(lock.save(None, &record("zz", None, None)).is_err());
    }
}
