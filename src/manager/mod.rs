//! Keeping a token: one valid access token for every caller, refreshed once shortly before it
//! expires (once between threads, processes or machines, through a [`TokenStore`]), and the
//! rotated refresh token saved before anyone uses the new access token.
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
//! .with_store(FileStore::new("/var/lib/app/concur-token.json"));
//! let bearer = manager.access_token()?; // refreshed, saved and shared as needed
//! println!("Authorization: Bearer {}", bearer.as_str());
//! # Ok::<(), concur_native::Error>(())
//! ```

mod file;
#[cfg(feature = "redis")]
mod redis;
mod store;

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use zeroize::{Zeroize, Zeroizing};

pub use file::FileStore;
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_LOCK_TTL, RedisStore};
pub use store::{MemoryStore, StoreLock, StoredToken, TokenStore};

use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::oauth2::{Grant, OAuth2Token};

/// How long before its expiry an access token is refreshed, by default.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(300);

/// How long a caller waits for a store's lock (another process's refresh), by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);

/// Concur's code for a bad or expired refresh token.
const BAD_REFRESH_TOKEN: i64 = 108;

/// Where a manager starts when its store holds nothing yet.
#[derive(Clone)]
pub enum Start {
    /// A refresh token stored earlier (and the geolocation it belongs to).
    RefreshToken {
        /// The refresh token.
        refresh_token: String,
        /// The data centre to refresh at; `None` for the client's host.
        geolocation: Option<String>,
    },
    /// A password grant for a user, run once; its refresh token is kept from then on.
    Password {
        /// The user's login name.
        username: String,
        /// The user's password.
        password: String,
    },
    /// A company grant from App Center's request token, run once.
    Company {
        /// The company's UUID.
        company_id: String,
        /// The request token (valid 24 hours).
        request_token: String,
    },
    /// The application's own token; run again whenever it expires (it has no refresh token).
    ClientCredentials,
}

impl Drop for Start {
    fn drop(&mut self) {
        match self {
            Start::RefreshToken { refresh_token, .. } => refresh_token.zeroize(),
            Start::Password { password, .. } => password.zeroize(),
            Start::Company { request_token, .. } => request_token.zeroize(),
            Start::ClientCredentials => {}
        }
    }
}

impl fmt::Debug for Start {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Start::RefreshToken { geolocation, .. } => f
                .debug_struct("RefreshToken")
                .field("refresh_token", &"***")
                .field("geolocation", geolocation)
                .finish(),
            Start::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Start::Company { company_id, .. } => f
                .debug_struct("Company")
                .field("company_id", company_id)
                .field("request_token", &"***")
                .finish(),
            Start::ClientCredentials => f.write_str("ClientCredentials"),
        }
    }
}

/// A valid access token handed out by a [`TokenManager`]: cheap to clone (one reference
/// count), valid for at least the manager's margin when it was handed out.
#[derive(Clone)]
pub struct AccessToken(Arc<Current>);

impl AccessToken {
    /// The access token, for `Authorization: Bearer …`.
    pub fn as_str(&self) -> &str {
        self.0.token.access_token()
    }

    /// The whole token: expiry, geolocation (where to send API calls), subject, …
    pub fn token(&self) -> &OAuth2Token {
        &self.0.token
    }
}

impl Deref for AccessToken {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AccessToken").field(&self.0.token).finish()
    }
}

struct Current {
    token: OAuth2Token,
    /// When this token stops being handed out (its expiry less the margin).
    fresh_until: Instant,
}

#[derive(Default)]
struct Flight {
    running: bool,
    generation: u64,
    last: Option<Result<Arc<Current>, Error>>,
}

/// Keeps one access token valid for every caller. `access_token()` answers from memory while
/// the token is valid for at least the margin (no lock, no allocation, no request); otherwise
/// one caller refreshes while the others wait and share its result or its error. The refresh
/// happens under the [`TokenStore`]'s lock, so holders sharing a store (processes on a machine
/// through a [`FileStore`], workers on many machines through a Redis store) refresh once
/// between them; the new refresh token is saved before the new access token is handed out, and
/// a failed save is an error. `Send + Sync`: share it in an `Arc`.
pub struct TokenManager {
    client: Arc<Client>,
    client_id: String,
    client_secret: Zeroizing<String>,
    start: Start,
    store: Box<dyn TokenStore>,
    margin: Duration,
    lock_wait: Duration,
    current: ArcSwapOption<Current>,
    flight: Mutex<Flight>,
    landed: Condvar,
    /// The refresh token Concur called bad or expired (108), and that error: not sent again.
    dead: Mutex<Option<(Zeroizing<String>, Error)>>,
    /// The access token the caller called bad (`invalidate`): not taken from the store again.
    invalidated: Mutex<Option<Zeroizing<String>>>,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("client_id", &self.client_id)
            .field("start", &self.start)
            .field("margin", &self.margin)
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
        Ok(TokenManager {
            client,
            client_id: client_id.to_string(),
            client_secret: Zeroizing::new(client_secret.to_string()),
            start,
            store: Box::new(MemoryStore::new()),
            margin: DEFAULT_MARGIN,
            lock_wait: DEFAULT_LOCK_WAIT,
            current: ArcSwapOption::empty(),
            flight: Mutex::new(Flight::default()),
            landed: Condvar::new(),
            dead: Mutex::new(None),
            invalidated: Mutex::new(None),
        })
    }

    /// Keeps the token in `store` (shared with other processes or machines).
    pub fn with_store(mut self, store: impl TokenStore + 'static) -> TokenManager {
        self.store = Box::new(store);
        self
    }

    /// Keeps the token in a store given as a box (a binding's choice at run time).
    pub fn with_boxed_store(mut self, store: Box<dyn TokenStore>) -> TokenManager {
        self.store = store;
        self
    }

    /// Refreshes this long before expiry (default [`DEFAULT_MARGIN`], 5 minutes).
    pub fn with_margin(mut self, margin: Duration) -> TokenManager {
        self.margin = margin;
        self
    }

    /// Waits this long at most for the store's lock (default [`DEFAULT_LOCK_WAIT`]).
    pub fn with_lock_wait(mut self, wait: Duration) -> TokenManager {
        self.lock_wait = wait;
        self
    }

    /// An access token valid for at least the margin: from memory when it is, else from the
    /// store (another holder refreshed), else from one refresh shared by every caller waiting.
    pub fn access_token(&self) -> Result<AccessToken, Error> {
        if let Some(current) = self.fresh() {
            return Ok(AccessToken(current));
        }
        self.renew().map(AccessToken)
    }

    /// Calls `f` with a valid access token without taking a reference count: the cheapest
    /// way to read a cached token from many threads.
    pub fn with_access_token<R>(&self, f: impl FnOnce(&str) -> R) -> Result<R, Error> {
        {
            let guard = self.current.load();
            if let Some(current) = guard.as_ref()
                && Instant::now() < current.fresh_until
            {
                return Ok(f(current.token.access_token()));
            }
        }
        let current = self.renew()?;
        Ok(f(current.token.access_token()))
    }

    /// Calls `f` with the access token held in memory when it is valid for at least the margin;
    /// `None`, without waiting, locking or sending anything, when
    /// [`access_token`](TokenManager::access_token) would refresh or wait for a refresh. For
    /// callers whose hot path must never block (a binding holding Python's GIL).
    pub fn cached_access_token<R>(&self, f: impl FnOnce(&str) -> R) -> Option<R> {
        let guard = self.current.load();
        let current = guard.as_ref()?;
        (Instant::now() < current.fresh_until).then(|| f(current.token.access_token()))
    }

    /// The token [`cached_access_token`](TokenManager::cached_access_token) would hand out, as
    /// a handle (one reference count); `None` in the same cases. With
    /// [`is_cached`](TokenManager::is_cached), for a binding that keeps its own copy of the
    /// token's text (a Python `str`) and hands that copy out while the token stays cached.
    pub fn cached_token(&self) -> Option<AccessToken> {
        self.fresh().map(AccessToken)
    }

    /// Whether `token` is still the very token in memory and usable without waiting: whether
    /// [`cached_access_token`](TokenManager::cached_access_token) would hand out this one. No
    /// lock, no reference count, no allocation. (Identity, not text: `token` keeps its
    /// allocation alive, so a newer token can never be mistaken for it.)
    pub fn is_cached(&self, token: &AccessToken) -> bool {
        let guard = self.current.load();
        guard
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &token.0) && Instant::now() < c.fresh_until)
    }

    /// Forgets the access token (say, after an API call answered 401): the next call refreshes,
    /// even when the store still holds that same token as valid.
    pub fn invalidate(&self) {
        if let Some(current) = self.current.swap(None) {
            *self
                .invalidated
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some(Zeroizing::new(current.token.access_token().to_string()));
        }
    }

    fn fresh(&self) -> Option<Arc<Current>> {
        let current = self.current.load_full()?;
        (Instant::now() < current.fresh_until).then_some(current)
    }

    /// One refresh at a time: the first caller runs it, the others wait for it and share its
    /// result or its error.
    fn renew(&self) -> Result<Arc<Current>, Error> {
        let mut flight = self.lock_flight();
        loop {
            if let Some(current) = self.fresh() {
                return Ok(current);
            }
            if !flight.running {
                break;
            }
            let generation = flight.generation;
            while flight.running && flight.generation == generation {
                flight = self
                    .landed
                    .wait(flight)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if flight.generation != generation
                && let Some(last) = &flight.last
            {
                return last.clone();
            }
        }
        flight.running = true;
        drop(flight);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.refresh()))
            .unwrap_or_else(|_| Err(Error::store("a bug interrupted the refresh")));
        let mut flight = self.lock_flight();
        flight.running = false;
        flight.generation += 1;
        flight.last = Some(result.clone());
        drop(flight);
        self.landed.notify_all();
        result
    }

    fn lock_flight(&self) -> MutexGuard<'_, Flight> {
        self.flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Under the store's lock: use what another holder stored, or refresh and save.
    fn refresh(&self) -> Result<Arc<Current>, Error> {
        let mut lock = self.store.lock(self.lock_wait)?;
        let stored = lock.load()?;
        let invalidated = self
            .invalidated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(stored) = &stored
            && let (Some(access), Some(expires_at)) = (&stored.access_token, stored.expires_at)
            && let Some(fresh_until) = self.fresh_until(Some(expires_at))
            && Instant::now() < fresh_until
            && invalidated.as_deref().map(String::as_str) != Some(access.as_str())
        {
            let token = OAuth2Token::from_stored(access, stored);
            return Ok(self.install(token));
        }
        let stored_refresh = stored.as_ref().and_then(|s| s.refresh_token.clone());
        let geolocation = stored.as_ref().and_then(|s| s.geolocation.clone());
        let token = match (&stored_refresh, &self.start) {
            (_, Start::ClientCredentials) => self.grant(&Grant::ClientCredentials, None)?,
            (Some(refresh), _) => self.refresh_with(refresh, geolocation.as_deref())?,
            (
                None,
                Start::RefreshToken {
                    refresh_token,
                    geolocation,
                },
            ) => self.refresh_with(refresh_token, geolocation.as_deref())?,
            (None, Start::Password { username, password }) => self.grant(
                &Grant::Password {
                    username,
                    password,
                    scope: None,
                },
                None,
            )?,
            (
                None,
                Start::Company {
                    company_id,
                    request_token,
                },
            ) => self.grant(
                &Grant::Company {
                    company_id,
                    request_token,
                },
                None,
            )?,
        };
        // Saved before it is used: a rotated refresh token must never be lost.
        lock.save(&StoredToken::from_token(&token))?;
        drop(lock);
        *self
            .invalidated
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        Ok(self.install(token))
    }

    fn grant(&self, grant: &Grant<'_>, host: Option<&str>) -> Result<OAuth2Token, Error> {
        self.client
            .oauth2_token(&self.client_id, &self.client_secret, grant, host)
    }

    fn refresh_with(&self, refresh_token: &str, host: Option<&str>) -> Result<OAuth2Token, Error> {
        let mut dead = self.dead.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((token, error)) = dead.as_ref()
            && token.as_str() == refresh_token
        {
            return Err(error.clone());
        }
        let grant = Grant::RefreshToken {
            refresh_token,
            scope: None,
        };
        let result = self.grant(&grant, host);
        if let Err(e) = &result
            && e.kind() == ErrorKind::Unauthorized
            && e.concur_code() == Some(BAD_REFRESH_TOKEN)
        {
            *dead = Some((Zeroizing::new(refresh_token.to_string()), e.clone()));
        }
        result
    }

    fn fresh_until(&self, expires_at: Option<i64>) -> Option<Instant> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
        // Concur's access tokens live an hour; one without an expiry is taken to.
        let left = expires_at.unwrap_or(now + 3600) - now;
        let usable = Duration::from_secs(left.max(0) as u64).checked_sub(self.margin)?;
        Some(Instant::now() + usable)
    }

    fn install(&self, token: OAuth2Token) -> Arc<Current> {
        // A token that is already inside the margin is handed to its callers once, not cached.
        let fresh_until = self
            .fresh_until(token.expires_at())
            .unwrap_or_else(Instant::now);
        let current = Arc::new(Current { token, fresh_until });
        self.current.store(Some(current.clone()));
        current
    }
}

impl OAuth2Token {
    /// A token rebuilt from what a store kept (another holder's refresh).
    fn from_stored(access_token: &str, stored: &StoredToken) -> OAuth2Token {
        OAuth2Token {
            access_token: access_token.to_string(),
            token_type: "Bearer".to_string(),
            expires_at: stored.expires_at,
            refresh_token: stored.refresh_token.clone(),
            refresh_expires_at: stored.refresh_expires_at,
            scope: None,
            geolocation: stored.geolocation.clone(),
            id_token: None,
            subject: None,
            principal_type: None,
            correlation_id: None,
        }
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
