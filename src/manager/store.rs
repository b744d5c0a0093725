//! Where a kept token lives between refreshes: the stored document, the store trait with its
//! lock and compare-and-swap save, and the in-memory store.

use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::oauth2::Members;
use crate::oauth2::OAuth2Token;

/// What a store keeps: the refresh token (rotated by every refresh), its expiry, the data
/// centre to refresh at, and the current access token with its expiry, so that other
/// processes and machines sharing the store use it instead of refreshing again.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoredToken {
    /// The refresh token to use next; `None` for client-credentials tokens.
    pub refresh_token: Option<String>,
    /// When the refresh token expires, as Unix seconds, when known.
    pub refresh_expires_at: Option<i64>,
    /// The user's data centre (the token's geolocation).
    pub geolocation: Option<String>,
    /// The current access token.
    pub access_token: Option<String>,
    /// When the access token expires, as Unix seconds.
    pub expires_at: Option<i64>,
}

impl StoredToken {
    /// What to store of a fresh token.
    pub fn from_token(token: &OAuth2Token) -> StoredToken {
        StoredToken {
            refresh_token: token.refresh_token().map(str::to_string),
            refresh_expires_at: token.refresh_expires_at(),
            geolocation: token.geolocation().map(str::to_string),
            access_token: Some(token.access_token().to_string()),
            expires_at: token.expires_at(),
        }
    }

    /// The document stores hold: a small JSON object, `{"version":1,…}`, in a buffer wiped on
    /// drop.
    pub fn to_document(&self) -> Zeroizing<Vec<u8>> {
        let mut map = Map::new();
        map.insert("version".into(), Value::from(1));
        let mut text = |name: &str, value: &Option<String>| {
            if let Some(v) = value {
                map.insert(name.into(), Value::from(v.as_str()));
            }
        };
        text("refresh_token", &self.refresh_token);
        text("geolocation", &self.geolocation);
        text("access_token", &self.access_token);
        for (name, value) in [
            ("refresh_expires_at", self.refresh_expires_at),
            ("expires_at", self.expires_at),
        ] {
            if let Some(v) = value {
                map.insert(name.into(), Value::from(v));
            }
        }
        let mut value = Value::Object(map);
        let document = Zeroizing::new(serde_json::to_vec(&value).unwrap_or_default());
        crate::oauth2::wipe_json(&mut value);
        document
    }

    /// Reads a stored document; anything else is a [`Store`](crate::ErrorKind::Store) error
    /// that quotes nothing of it.
    pub fn from_document(document: &[u8]) -> Result<StoredToken, Error> {
        let garbage = || Error::store("the store holds something that is not a stored token");
        let members = Members::parse(document).map_err(|_| garbage())?;
        if members.integer("version") != Some(1) {
            return Err(garbage());
        }
        let token = |name: &str| -> Result<Option<String>, Error> {
            match members.text(name) {
                Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()) => {
                    Ok(Some(t.to_string()))
                }
                Some(_) => Err(garbage()),
                None => Ok(None),
            }
        };
        Ok(StoredToken {
            refresh_token: token("refresh_token")?,
            geolocation: token("geolocation")?,
            access_token: token("access_token")?,
            refresh_expires_at: members.integer("refresh_expires_at"),
            expires_at: members.integer("expires_at"),
        })
    }
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mask = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("StoredToken")
            .field("refresh_token", &mask(&self.refresh_token))
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("geolocation", &self.geolocation)
            .field("access_token", &mask(&self.access_token))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Drop for StoredToken {
    fn drop(&mut self) {
        self.refresh_token.zeroize();
        self.access_token.zeroize();
    }
}

/// A stored document as the store holds it (plain JSON, or sealed): wiped on drop.
pub type Document = Zeroizing<Vec<u8>>;

/// A place to keep a token that several holders share: threads of one process (memory), the
/// processes of one machine (a file), the workers of many machines (Redis), or the
/// application's own secret storage. A store keeps one document, as bytes: the keeper turns
/// tokens into documents, and seals them when it has a key, so every store holds what it is
/// given and nothing more.
///
/// A refresh happens under the store's lock: the holder reads what is stored (another holder
/// may have refreshed already), refreshes only if it must, and saves the rotated token through
/// the lock before anyone uses it. The save is a compare-and-swap: it replaces the document
/// only if the store still holds the one this lock loaded. A lock whose exclusion can lapse
/// (Redis's expires) must make that check atomic in the store; one that cannot lapse (a file's
/// `flock`, a mutex) may rely on the lock.
pub trait TokenStore: Send + Sync {
    /// Reads the stored document without the lock (`None`: nothing stored yet).
    fn load(&self) -> Result<Option<Document>, Error>;

    /// Takes the store's lock, waiting at most `wait` for it.
    fn lock(&self, wait: Duration) -> Result<Box<dyn StoreLock + '_>, Error>;

    /// The store's name (a file's path as given, a Redis key), bound into sealed documents so
    /// that one copied under another name does not open. Empty by default.
    fn identity(&self) -> String {
        String::new()
    }
}

/// The store's lock, held for one refresh; released when dropped.
pub trait StoreLock {
    /// Reads the stored document under the lock.
    fn load(&mut self) -> Result<Option<Document>, Error>;

    /// Replaces the stored document, whole (never a partial document), if the store still holds
    /// what the last [`load`](StoreLock::load) through this lock read; otherwise a
    /// [`Store`](crate::ErrorKind::Store) error and the store is left as it is.
    fn save(&mut self, document: &[u8]) -> Result<(), Error>;
}

/// Keeps the token in this process only: for one process with many threads, or tests.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
    released: Condvar,
}

#[derive(Default)]
struct MemoryState {
    document: Option<Document>,
    locked: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn state(&self) -> MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenStore for MemoryStore {
    fn load(&self) -> Result<Option<Document>, Error> {
        Ok(self.state().document.clone())
    }

    fn lock(&self, wait: Duration) -> Result<Box<dyn StoreLock + '_>, Error> {
        let deadline = Instant::now() + wait;
        let mut state = self.state();
        while state.locked {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::lock_busy(
                    "the store's lock was not released in time",
                ));
            }
            state = self
                .released
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.locked = true;
        Ok(Box::new(MemoryLock { store: self }))
    }

    fn identity(&self) -> String {
        "memory:".to_string()
    }
}

struct MemoryLock<'a> {
    store: &'a MemoryStore,
}

impl StoreLock for MemoryLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        Ok(self.store.state().document.clone())
    }

    fn save(&mut self, document: &[u8]) -> Result<(), Error> {
        self.store.state().document = Some(Zeroizing::new(document.to_vec()));
        Ok(())
    }
}

impl Drop for MemoryLock<'_> {
    fn drop(&mut self) {
        self.store.state().locked = false;
        self.store.released.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_round_trip_and_garbage_is_a_store_error() {
        let t = StoredToken {
            refresh_token: Some("rt".into()),
            refresh_expires_at: Some(2),
            geolocation: Some("https://us2.api.concursolutions.com".into()),
            access_token: Some("at".into()),
            expires_at: Some(1),
        };
        assert_eq!(StoredToken::from_document(&t.to_document()).unwrap(), t);
        for garbage in [
            &b""[..],
            b"{}",
            b"[1]",
            b"{\"version\":2}",
            b"{\"version\":1,\"access_token\":\"a b\"}",
            b"\xff",
        ] {
            let e = StoredToken::from_document(garbage).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Store);
        }
        assert!(!format!("{t:?}").contains("rt\""));
    }

    #[test]
    fn the_memory_lock_is_exclusive_and_times_out() {
        let store = MemoryStore::new();
        let mut held = store.lock(Duration::from_millis(10)).unwrap();
        assert!(store.lock(Duration::from_millis(20)).is_err());
        held.save(&StoredToken::default().to_document()).unwrap();
        drop(held);
        assert!(store.lock(Duration::from_millis(10)).is_ok());
        assert!(store.load().unwrap().is_some());
    }
}
