//! Keeping a token: one valid access token for every caller, refreshed ahead of its expiry on
//! the library's own thread while callers keep the current one, once between threads,
//! processes or machines (through a [`TokenStore`]), the rotated refresh token saved before
//! anyone uses the new access token, Concur outages ridden through while the token lasts, every
//! attempt told to an observer and to `log`, and stored documents sealed when a key is given.
//!
//! ```no_run
//! use std::sync::Arc;
//! use concur_native::{Client, Options};
//! use concur_native::manager::{FileStore, Start, TokenManager};
//!
//! let client = Arc::new(Client::new(&Options::new())?);
//! let manager = TokenManager::new(
//!     client,
//!     "client-id",
//!     "client-secret",
//!     Start::RefreshToken { refresh_token: "stored".into(), geolocation: None },
//! )?
//! .with_store(FileStore::new("/var/lib/app/concur-token.json"))
//! .on_event(|event| eprintln!("{event}"));
//! let bearer = manager.access_token()?; // refreshed, saved and shared as needed
//! println!("Authorization: Bearer {}", bearer.as_str());
//! # Ok::<(), concur_native::Error>(())
//! ```
//!
//! The policy (see [`RefreshPolicy`]): outside the *window* (5 minutes before expiry by
//! default) a call answers from memory; inside it and above the *floor* (30 s), the first
//! caller to notice starts one refresh in the background and every caller keeps the current
//! token; below the floor, with no token, or after [`invalidate`](TokenManager::invalidate), a
//! caller waits for the one refresh. A transient failure (an outage) is tried again with
//! backoff while the token lasts; Concur's verdict (108, a revoked connection, an unknown
//! client) is reported at once and never re-sent.

mod engine;
mod events;
mod file;
mod keyed;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
mod keyed_common;
mod policy;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
pub mod redis_keyed;
mod seal;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;
mod vault;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

pub use engine::{
    AccessToken, DEFAULT_LOCK_WAIT, MAX_REFRESHES_AHEAD, Start, refreshes_ahead, wait_for_refreshes,
};
pub use events::{LOG_TARGET, ManagerStatus, Observer, Outcome, RefreshEvent, State, Trigger};
pub use file::FileStore;
pub use keyed::{
    ConnectionKind, ConnectionRecord, ConnectionState, KeyedLock, KeyedStore, MAX_CONNECTION_ID,
    MemoryKeyedStore, check_connection_id,
};
pub use policy::{
    DEFAULT_FLOOR, DEFAULT_WINDOW, FIRST_BACKOFF, Failure, Freshness, MAX_BACKOFF, RefreshPolicy,
};
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_LOCK_TTL, RedisStore};
pub use seal::{Sealer, StoreKey};
pub use store::{Document, MemoryStore, StoreLock, StoredToken, TokenStore};
pub use vault::{
    ConnectionInfo, Connections, DEFAULT_CACHE_CAPACITY, DEFAULT_HORIZONS,
    DEFAULT_KEEP_ALIVE_CONCURRENCY, DEFAULT_KEEP_ALIVE_WITHIN, KeepAliveFailure, KeepAliveReport,
    TokenVault, VaultStart, open_store,
};

use crate::client::Client;
use crate::error::Error;
use engine::{Engine, Shared, StoreSlot};

/// How long before its expiry an access token is refreshed, by default: the refresh window.
pub const DEFAULT_MARGIN: Duration = DEFAULT_WINDOW;

/// Keeps one access token valid for every caller. `access_token()` answers from memory while
/// the token is outside the refresh window (no lock, no allocation, no request); inside the
/// window it still answers at once and one background refresh starts; below the floor, one
/// caller refreshes while the others wait and share its result or its error. The refresh
/// happens under the [`TokenStore`]'s lock, so holders sharing a store (processes on a machine
/// through a [`FileStore`], workers on many machines through a Redis store) refresh once
/// between them; the new refresh token is saved (sealed, with a key) before the new access
/// token is handed out, and a failed save is an error. `Send + Sync`: share it in an `Arc`.
pub struct TokenManager {
    inner: Arc<Engine>,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("client_id", &self.inner.shared.client_id)
            .field("start", &self.inner.start)
            .field("policy", &self.inner.shared.policy)
            .field("sealed", &self.inner.shared.sealer.seals())
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    /// A manager over `client` for the application `client_id`/`client_secret`, starting from
    /// `start` when its store holds no token yet. Keeps the token in memory until
    /// [`with_store`](TokenManager::with_store) names a store. Nothing is sent until the first
    /// [`access_token`](TokenManager::access_token).
    pub fn new(
        client: Arc<Client>,
        client_id: &str,
        client_secret: &str,
        start: Start,
    ) -> Result<TokenManager, Error> {
        crate::oauth2::require_app(client_id, client_secret)?;
        match &start {
            Start::RefreshToken {
                refresh_token,
                geolocation,
            } => {
                crate::credentials::require_visible("the refresh token", refresh_token)?;
                if let Some(g) = geolocation {
                    crate::options::BaseUrl::parse(g)?;
                }
            }
            Start::Password { username, password } => {
                crate::oauth2::require_text("the username", username)?;
                crate::credentials::require_secret("the password", password)?;
            }
            Start::Company {
                company_id,
                request_token,
            } => {
                crate::credentials::require_visible("the company ID", company_id)?;
                crate::credentials::require_visible("the request token", request_token)?;
            }
            Start::ClientCredentials => {}
        }
        let store = MemoryStore::new();
        let identity = store.identity();
        let shared = Shared {
            client,
            client_id: client_id.to_string(),
            client_secret: Zeroizing::new(client_secret.to_string()),
            sealer: Sealer::default(),
            policy: RefreshPolicy::default(),
            lock_wait: DEFAULT_LOCK_WAIT,
            observer: None,
        };
        Ok(TokenManager {
            inner: Arc::new(Engine::new(
                Arc::new(shared),
                Some(start),
                Box::new(StoreSlot(Box::new(store))),
                identity,
                None,
            )),
        })
    }

    /// Changes the configuration; called before the manager is shared. A background refresh
    /// still running (a builder called after use) is waited for.
    fn configure(mut self, change: impl FnOnce(&mut Engine)) -> TokenManager {
        loop {
            if let Some(inner) = Arc::get_mut(&mut self.inner) {
                change(inner);
                return self;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Keeps the token in `store` (shared with other processes or machines).
    pub fn with_store(self, store: impl TokenStore + 'static) -> TokenManager {
        self.with_boxed_store(Box::new(store))
    }

    /// Keeps the token in a store given as a box (a binding's choice at run time).
    pub fn with_boxed_store(self, store: Box<dyn TokenStore>) -> TokenManager {
        self.configure(|inner| {
            inner.identity = store.identity();
            inner.slot = Box::new(StoreSlot(store));
        })
    }

    /// Refreshes ahead this long before expiry (default [`DEFAULT_MARGIN`], 5 minutes). A
    /// margin at or below the floor brings the floor to half the margin; set both with
    /// [`with_policy`](TokenManager::with_policy).
    pub fn with_margin(self, margin: Duration) -> TokenManager {
        self.configure(|inner| {
            let shared = Arc::make_mut(&mut inner.shared);
            let floor = shared.policy.floor().min(margin / 2);
            shared.policy = RefreshPolicy::new(margin, floor)
                .unwrap_or_else(|_| RefreshPolicy::zero_floor(margin));
        })
    }

    /// Refreshes ahead inside the policy's window, and hands out nothing valid for less than
    /// its floor.
    pub fn with_policy(self, policy: RefreshPolicy) -> TokenManager {
        self.configure(|inner| Arc::make_mut(&mut inner.shared).policy = policy)
    }

    /// Waits this long at most for the store's lock (default [`DEFAULT_LOCK_WAIT`]).
    pub fn with_lock_wait(self, wait: Duration) -> TokenManager {
        self.configure(|inner| Arc::make_mut(&mut inner.shared).lock_wait = wait)
    }

    /// Seals what the manager stores with the sealer's first key (AES-256-GCM, the store's
    /// identity bound in), and opens documents sealed under any of its keys.
    pub fn with_sealer(self, sealer: Sealer) -> TokenManager {
        self.configure(|inner| Arc::make_mut(&mut inner.shared).sealer = sealer)
    }

    /// Calls `observer` with every refresh attempt (see [`RefreshEvent`]).
    pub fn on_event(
        self,
        observer: impl Fn(&RefreshEvent) + Send + Sync + 'static,
    ) -> TokenManager {
        self.with_observer(Arc::new(observer))
    }

    /// Calls `observer` with every refresh attempt, given as an [`Observer`].
    pub fn with_observer(self, observer: Observer) -> TokenManager {
        self.configure(|inner| Arc::make_mut(&mut inner.shared).observer = Some(observer))
    }

    /// The refresh policy in force.
    pub fn policy(&self) -> RefreshPolicy {
        self.inner.shared.policy
    }

    /// An access token valid for at least the floor: from memory when it is (and a refresh
    /// ahead started when it is inside the window), else from the store (another holder
    /// refreshed), else from one refresh shared by every caller waiting.
    pub fn access_token(&self) -> Result<AccessToken, Error> {
        if let Some(current) = self.inner.usable() {
            return Ok(AccessToken(current));
        }
        self.inner.renew().map(AccessToken)
    }

    /// Calls `f` with a valid access token without taking a reference count: the cheapest
    /// way to read a cached token from many threads.
    pub fn with_access_token<R>(&self, f: impl FnOnce(&str) -> R) -> Result<R, Error> {
        {
            let guard = self.inner.current.load();
            if let Some(current) = guard.as_ref()
                && self.inner.serves(current)
            {
                return Ok(f(current.token.access_token()));
            }
        }
        let current = self.inner.renew()?;
        Ok(f(current.token.access_token()))
    }

    /// Calls `f` with the access token held in memory when it may be handed out without
    /// waiting (above the floor; a refresh ahead starts in the background when it is inside
    /// the window); `None`, without waiting, locking or sending anything, when
    /// [`access_token`](TokenManager::access_token) would wait for a refresh. For callers whose
    /// hot path must never block (a binding holding Python's GIL).
    pub fn cached_access_token<R>(&self, f: impl FnOnce(&str) -> R) -> Option<R> {
        let guard = self.inner.current.load();
        let current = guard.as_ref()?;
        self.inner
            .serves(current)
            .then(|| f(current.token.access_token()))
    }

    /// The token held in memory as it is — maybe inside the window, maybe below the floor —
    /// without refreshing, starting a refresh ahead or waiting; `None` before the first one.
    /// For a tool that reports what it holds (a command that waited for its refresh ahead and
    /// prints the result); a token to send is [`access_token`](TokenManager::access_token)'s.
    pub fn current(&self) -> Option<AccessToken> {
        self.inner.current.load_full().map(AccessToken)
    }

    /// The token [`cached_access_token`](TokenManager::cached_access_token) would hand out, as
    /// a handle (one reference count); `None` in the same cases. With
    /// [`is_cached`](TokenManager::is_cached), for a binding that keeps its own copy of the
    /// token's text (a Python `str`) and hands that copy out while the token stays cached.
    pub fn cached_token(&self) -> Option<AccessToken> {
        self.inner.usable().map(AccessToken)
    }

    /// Whether `token` is still the very token in memory and usable without waiting: whether
    /// [`cached_access_token`](TokenManager::cached_access_token) would hand out this one. No
    /// lock, no reference count, no allocation; inside the window it starts a refresh ahead,
    /// as `cached_access_token` does. (Identity, not text: `token` keeps its allocation alive,
    /// so a newer token can never be mistaken for it.)
    pub fn is_cached(&self, token: &AccessToken) -> bool {
        let guard = self.inner.current.load();
        guard
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &token.0) && self.inner.serves(c))
    }

    /// Forgets the access token (say, after an API call answered 401): the next call refreshes,
    /// even when the store still holds that same token as valid.
    pub fn invalidate(&self) {
        self.inner.invalidate();
    }

    /// A snapshot for operators: expiries, the last refresh and error, failures in a row, the
    /// next attempt, the number of refreshes. No secret.
    pub fn status(&self) -> ManagerStatus {
        self.inner.status()
    }
}

impl Drop for TokenManager {
    /// Waits for a refresh still running on the library's thread: a process that exits in the
    /// middle of one may lose the refresh token Concur just rotated.
    fn drop(&mut self) {
        self.inner.wait_idle(None);
    }
}

impl TokenManager {
    /// Waits until no refresh of this manager runs, at most `timeout`; whether none runs. Short
    /// programs (a cron job, a script) need not call it: dropping the manager waits. Bindings
    /// whose objects outlive their process's exit call [`wait_for_refreshes`] instead.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        self.inner.wait_idle(Some(timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_manager_is_send_and_sync() {
        assert_send_sync::<TokenManager>();
        assert_send_sync::<AccessToken>();
    }
}
