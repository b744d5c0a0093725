//! What the vault's SQLite, PostgreSQL and Redis stores share: a pool of idle store
//! connections, a thread that keeps a lock's lease alive, store URLs shown without their
//! password, compare-and-swap generations, and the two-part sweep order (refresh expiry known,
//! then unknown) merged into one.

use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Error;

use super::keyed::ConnectionRecord;

/// How long a store lock lives when its holder dies without releasing it (a crashed worker).
/// A living holder renews it every third of this while it holds it, however long that is.
#[cfg(any(feature = "sqlite", feature = "redis"))]
pub(crate) const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The most idle connections a pool keeps.
const MAX_IDLE: usize = 16;

/// Idle store connections, taken for one operation and given back after it.
pub(crate) struct Pool<C> {
    idle: Mutex<Vec<C>>,
}

impl<C> Pool<C> {
    pub(crate) fn new() -> Pool<C> {
        Pool {
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle connection, or a new one from `open`.
    pub(crate) fn take(&self, open: impl FnOnce() -> Result<C, Error>) -> Result<C, Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(c) => Ok(c),
            None => open(),
        }
    }

    /// Gives a connection back (dropped when the pool is full).
    pub(crate) fn put(&self, connection: C) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
    }
}

/// Calls `renew` every `period` on its own thread until dropped or until `renew` answers
/// false (the lease was lost: the compare-and-swap save still guards the document).
#[cfg(any(feature = "sqlite", feature = "redis"))]
pub(crate) struct Keeper {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(any(feature = "sqlite", feature = "redis"))]
impl Keeper {
    pub(crate) fn start(
        period: std::time::Duration,
        mut renew: impl FnMut() -> bool + Send + 'static,
    ) -> Keeper {
        use std::sync::mpsc::{self, RecvTimeoutError};
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("concur-lease".into())
            .spawn(move || {
                loop {
                    match stopped.recv_timeout(period) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    if !renew() {
                        return;
                    }
                }
            })
            .ok();
        Keeper {
            stop: Some(stop),
            thread,
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "redis"))]
impl Drop for Keeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Milliseconds since the Unix epoch (lock expiries shared between processes).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().min(i64::MAX as u128) as i64)
}

/// A fresh compare-and-swap generation: random, so that a connection removed and added again
/// never repeats the generation a stalled holder loaded.
pub(crate) fn new_generation() -> i64 {
    let bytes = crate::random::secret_bytes::<8>().unwrap_or_else(|_| now_ms().to_le_bytes());
    (i64::from_le_bytes(bytes) & i64::MAX).max(1)
}

/// `url` with the password of its user information (`scheme://user:password@host`) and any
/// `password=` query parameter left out: what a store shows of itself and binds into sealed
/// documents.
#[cfg(any(feature = "postgres", feature = "redis"))]
pub(crate) fn url_without_password(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let authority = match authority.rsplit_once('@') {
                Some((user, host)) => {
                    let user = user.split_once(':').map_or(user, |(u, _)| u);
                    if user.is_empty() {
                        host.to_string()
                    } else {
                        format!("{user}@{host}")
                    }
                }
                None => authority.to_string(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => base.to_string(),
    };
    if let Some(query) = query {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.to_ascii_lowercase().starts_with("password="))
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}

/// The error for a store whose schema a newer library wrote.
pub(crate) fn schema_newer(found: i64, ours: i64) -> Error {
    Error::store(format!(
        "the store's schema is version {found}, newer than this library's {ours}"
    ))
}

/// The sweep bounds of [`KeyedStore::due`](super::KeyedStore::due) for stores with two
/// indexes: connections whose refresh expiry is known, by that expiry, and the others, by
/// their last refresh (`i64::MIN` when never refreshed).
pub(crate) struct DueBounds {
    /// Due when the refresh expiry is below this.
    pub(crate) known_below: i64,
    /// Due (expiry unknown) when the last refresh key is below this.
    pub(crate) unknown_below: i64,
    /// Resume the known part after this `(refresh expiry, id)`.
    pub(crate) known_after: i64,
    /// Resume the unknown part after this `(last refresh key, id)`.
    pub(crate) unknown_after: i64,
    /// The ID of the cursor (`""` when none: every ID is greater).
    pub(crate) after_id: String,
}

impl DueBounds {
    pub(crate) fn new(now: i64, within: i64, after: Option<(i64, &str)>) -> DueBounds {
        let (key, after_id) = after.map_or((i64::MIN, ""), |(k, id)| (k, id));
        // A sweep key of the unknown part is last refresh + within: invert it.
        let unknown_after = if key == i64::MIN {
            i64::MIN
        } else {
            (i128::from(key) - i128::from(within)).clamp(i128::from(i64::MIN), i128::from(i64::MAX))
                as i64
        };
        DueBounds {
            known_below: now.saturating_add(within),
            unknown_below: now.saturating_sub(within).max(i64::MIN + 1),
            known_after: key,
            unknown_after,
            after_id: after_id.to_string(),
        }
    }
}

/// The value of the unknown part's index for a record: its last refresh, `i64::MIN` when none.
pub(crate) fn last_key(record: &ConnectionRecord) -> i64 {
    record.last_refresh.unwrap_or(i64::MIN)
}

/// Merges the two parts (each in its own index order) into sweep order and keeps `limit`.
pub(crate) fn merge_due(
    known: Vec<ConnectionRecord>,
    unknown: Vec<ConnectionRecord>,
    within: i64,
    limit: usize,
) -> Vec<ConnectionRecord> {
    let mut all: Vec<(i64, ConnectionRecord)> = known
        .into_iter()
        .chain(unknown)
        .map(|r| (r.sweep_key(within), r))
        .collect();
    all.sort_by(|a, b| (a.0, a.1.id.as_bytes()).cmp(&(b.0, b.1.id.as_bytes())));
    all.into_iter().take(limit).map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(feature = "postgres", feature = "redis"))]
    fn passwords_are_left_out_of_urls() {
        for (url, shown) in [
            ("redis://:pw@127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("redis://user:pw@host", "redis://user@host"),
            (
                "postgres://u:p%40ss@db:5432/app?sslmode=disable&password=x",
                "postgres://u@db:5432/app?sslmode=disable",
            ),
            ("postgresql://u@db/app", "postgresql://u@db/app"),
            ("sqlite:///var/lib/v.db", "sqlite:///var/lib/v.db"),
        ] {
            assert_eq!(url_without_password(url), shown);
        }
    }

    #[test]
    fn generations_are_positive_and_differ() {
        let (a, b) = (new_generation(), new_generation());
        assert!(a > 0 && b > 0 && a != b);
    }
}
