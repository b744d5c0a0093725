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

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use zeroize::{Zeroize, Zeroizing};

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

use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::oauth2::{Grant, OAuth2Token};

/// How long before its expiry an access token is refreshed, by default: the refresh window.
pub const DEFAULT_MARGIN: Duration = DEFAULT_WINDOW;

/// How long a caller waits for a store's lock (another process's refresh), by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);

/// Concur's code for a bad or expired refresh token.
const BAD_REFRESH_TOKEN: i64 = 108;

/// Concur's access tokens live an hour; one without an expiry is taken to.
const ASSUMED_LIFETIME: i64 = 3600;

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
/// count), valid for at least the manager's floor when it was handed out.
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
    /// When the token enters the refresh window (refreshed ahead from then on).
    refresh_at: Instant,
    /// When the token reaches the floor (no longer handed out).
    floor_at: Instant,
}

/// The one refresh at a time, and the health of the last ones.
#[derive(Default)]
struct Flight {
    running: bool,
    generation: u64,
    last: Option<Result<Arc<Current>, Error>>,
    failures: u32,
    next_attempt: Option<(Instant, SystemTime)>,
    last_error: Option<Error>,
    /// Concur's verdict on the last attempt: no refresh ahead until a caller's own succeeds.
    permanent: bool,
    last_refresh: Option<SystemTime>,
    refresh_count: u64,
}

/// Keeps one access token valid for every caller. `access_token()` answers from memory while
/// the token is outside the refresh window (no lock, no allocation, no request); inside the
/// window it still answers at once and one background refresh starts; below the floor, one
/// caller refreshes while the others wait and share its result or its error. The refresh
/// happens under the [`TokenStore`]'s lock, so holders sharing a store (processes on a machine
/// through a [`FileStore`], workers on many machines through a Redis store) refresh once
/// between them; the new refresh token is saved (sealed, with a key) before the new access
/// token is handed out, and a failed save is an error. `Send + Sync`: share it in an `Arc`.
pub struct TokenManager {
    inner: Arc<Inner>,
}

struct Inner {
    client: Arc<Client>,
    client_id: String,
    client_secret: Zeroizing<String>,
    start: Start,
    store: Box<dyn TokenStore>,
    identity: String,
    sealer: Sealer,
    policy: RefreshPolicy,
    lock_wait: Duration,
    observer: Option<Observer>,
    current: ArcSwapOption<Current>,
    /// Set while a refresh runs, so that callers inside the window skip the flight's mutex.
    refreshing: AtomicBool,
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
            .field("client_id", &self.inner.client_id)
            .field("start", &self.inner.start)
            .field("policy", &self.inner.policy)
            .field("sealed", &self.inner.sealer.seals())
            .finish_non_exhaustive()
    }
}

/// What one attempt did, for its event.
#[derive(Default)]
struct Attempt {
    grant: Option<&'static str>,
    from_store: bool,
    /// Nothing was sent: the refresh token is known dead. No event for it.
    known_dead: bool,
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
        Ok(TokenManager {
            inner: Arc::new(Inner {
                client,
                client_id: client_id.to_string(),
                client_secret: Zeroizing::new(client_secret.to_string()),
                start,
                identity: store.identity(),
                store: Box::new(store),
                sealer: Sealer::default(),
                policy: RefreshPolicy::default(),
                lock_wait: DEFAULT_LOCK_WAIT,
                observer: None,
                current: ArcSwapOption::empty(),
                refreshing: AtomicBool::new(false),
                flight: Mutex::new(Flight::default()),
                landed: Condvar::new(),
                dead: Mutex::new(None),
                invalidated: Mutex::new(None),
            }),
        })
    }

    /// Changes the configuration; called before the manager is shared. A background refresh
    /// still running (a builder called after use) is waited for.
    fn configure(mut self, change: impl FnOnce(&mut Inner)) -> TokenManager {
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
            inner.store = store;
        })
    }

    /// Refreshes ahead this long before expiry (default [`DEFAULT_MARGIN`], 5 minutes). A
    /// margin at or below the floor brings the floor to half the margin; set both with
    /// [`with_policy`](TokenManager::with_policy).
    pub fn with_margin(self, margin: Duration) -> TokenManager {
        self.configure(|inner| {
            let floor = inner.policy.floor().min(margin / 2);
            inner.policy = RefreshPolicy::new(margin, floor)
                .unwrap_or_else(|_| RefreshPolicy::zero_floor(margin));
        })
    }

    /// Refreshes ahead inside the policy's window, and hands out nothing valid for less than
    /// its floor.
    pub fn with_policy(self, policy: RefreshPolicy) -> TokenManager {
        self.configure(|inner| inner.policy = policy)
    }

    /// Waits this long at most for the store's lock (default [`DEFAULT_LOCK_WAIT`]).
    pub fn with_lock_wait(self, wait: Duration) -> TokenManager {
        self.configure(|inner| inner.lock_wait = wait)
    }

    /// Seals what the manager stores with the sealer's first key (AES-256-GCM, the store's
    /// identity bound in), and opens documents sealed under any of its keys.
    pub fn with_sealer(self, sealer: Sealer) -> TokenManager {
        self.configure(|inner| inner.sealer = sealer)
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
        self.configure(|inner| inner.observer = Some(observer))
    }

    /// The refresh policy in force.
    pub fn policy(&self) -> RefreshPolicy {
        self.inner.policy
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
        if let Some(current) = self.inner.current.swap(None) {
            *self
                .inner
                .invalidated
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some(Zeroizing::new(current.token.access_token().to_string()));
        }
    }

    /// A snapshot for operators: expiries, the last refresh and error, failures in a row, the
    /// next attempt, the number of refreshes. No secret.
    pub fn status(&self) -> ManagerStatus {
        let current = self.inner.current.load_full();
        let flight = self.inner.lock_flight();
        let dead = flight.permanent;
        ManagerStatus {
            state: if dead {
                State::Dead
            } else if flight.failures > 0 {
                State::Failing
            } else {
                State::Active
            },
            expires_at: current.as_ref().and_then(|c| c.token.expires_at()),
            refresh_expires_at: current.as_ref().and_then(|c| c.token.refresh_expires_at()),
            last_refresh: flight.last_refresh,
            last_error: flight.last_error.clone(),
            failures: flight.failures,
            next_attempt: flight.next_attempt.map(|(_, wall)| wall),
            refresh_count: flight.refresh_count,
            refreshing: flight.running,
        }
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

/// Refreshes running ahead on the library's threads, in the whole process.
static IN_FLIGHT: Mutex<usize> = Mutex::new(0);
static IN_FLIGHT_DONE: Condvar = Condvar::new();

/// One refresh ahead counted in [`IN_FLIGHT`] while it lives.
struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        *IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut count = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
        *count = count.saturating_sub(1);
        drop(count);
        IN_FLIGHT_DONE.notify_all();
    }
}

/// Waits, at most `timeout`, until no refresh ahead runs in this process (every manager's);
/// whether none runs. For an exit hook: a process that ends in the middle of a refresh may lose
/// the refresh token Concur just rotated (the Python and Node packages call it at exit).
pub fn wait_for_refreshes(timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut count = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
    while *count > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        count = IN_FLIGHT_DONE
            .wait_timeout(count, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    true
}

impl Inner {
    /// Waits until no refresh runs (at most `timeout`, when given); whether none runs.
    fn wait_idle(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut flight = self.lock_flight();
        while flight.running {
            flight = match deadline {
                None => self
                    .landed
                    .wait(flight)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    self.landed
                        .wait_timeout(flight, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        true
    }

    /// The current token when it may be handed out; starts a refresh ahead when it is inside
    /// the window.
    fn usable(self: &Arc<Self>) -> Option<Arc<Current>> {
        let current = self.current.load_full()?;
        self.serves(&current).then_some(current)
    }

    /// Whether `current` may be handed out now; inside the window, starts a refresh ahead.
    fn serves(self: &Arc<Self>, current: &Current) -> bool {
        let now = Instant::now();
        if now < current.refresh_at {
            return true;
        }
        if now >= current.floor_at {
            return false;
        }
        self.ahead();
        true
    }

    /// Starts one refresh on a thread of the library's own, unless one runs, Concur's verdict
    /// stands, or the backoff after a failure has not run out.
    fn ahead(self: &Arc<Self>) {
        if self.refreshing.load(Ordering::Acquire) {
            return;
        }
        let mut flight = self.lock_flight();
        if flight.running
            || flight.permanent
            || flight
                .next_attempt
                .is_some_and(|(at, _)| Instant::now() < at)
        {
            return;
        }
        flight.running = true;
        self.refreshing.store(true, Ordering::Release);
        drop(flight);
        let inner = Arc::clone(self);
        let in_flight = InFlight::enter();
        let spawned = std::thread::Builder::new()
            .name("concur-refresh".into())
            .spawn(move || {
                let _in_flight = in_flight;
                let result = inner.attempt(Trigger::Ahead);
                // Its callers hold the current token; its outcome goes to the observer.
                let _ = inner.land(result);
            });
        if spawned.is_err() {
            // No thread to be had: the next caller past the floor refreshes in its own.
            let mut flight = self.lock_flight();
            flight.running = false;
            self.refreshing.store(false, Ordering::Release);
            drop(flight);
            self.landed.notify_all();
        }
    }

    /// One refresh at a time: the first caller runs it, the others (and callers arriving while
    /// a refresh ahead runs) wait for it and share its result or its error.
    fn renew(self: &Arc<Self>) -> Result<Arc<Current>, Error> {
        let mut flight = self.lock_flight();
        loop {
            if let Some(current) = self.usable() {
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
        self.refreshing.store(true, Ordering::Release);
        drop(flight);
        let trigger = if self.current.load().is_some() {
            Trigger::Expired
        } else if self
            .invalidated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
        {
            Trigger::Invalidated
        } else {
            Trigger::Absent
        };
        let result = self.attempt(trigger);
        self.land(result)
    }

    fn lock_flight(&self) -> MutexGuard<'_, Flight> {
        self.flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One attempt, its event and its record: the result, and what it did.
    fn attempt(
        &self,
        trigger: Trigger,
    ) -> (Result<Arc<Current>, Error>, Attempt, Trigger, Instant) {
        let started = Instant::now();
        let mut attempt = Attempt::default();
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.refresh(&mut attempt)))
                .unwrap_or_else(|_| Err(Error::store("a bug interrupted the refresh")));
        (result, attempt, trigger, started)
    }

    /// Ends a flight: records its health, wakes the waiting callers, tells the observer.
    fn land(
        &self,
        (result, attempt, trigger, started): (
            Result<Arc<Current>, Error>,
            Attempt,
            Trigger,
            Instant,
        ),
    ) -> Result<Arc<Current>, Error> {
        let now = SystemTime::now();
        let mut flight = self.lock_flight();
        let (outcome, retry_at) = match &result {
            Ok(_) => {
                flight.failures = 0;
                flight.next_attempt = None;
                flight.last_error = None;
                flight.permanent = false;
                flight.last_refresh = Some(now);
                if !attempt.from_store {
                    flight.refresh_count += 1;
                }
                let outcome = if attempt.from_store {
                    Outcome::FromStore
                } else {
                    Outcome::Refreshed
                };
                (outcome, None)
            }
            Err(error) => {
                flight.last_error = Some(error.clone());
                if !attempt.known_dead {
                    flight.failures = flight.failures.saturating_add(1);
                }
                match RefreshPolicy::classify(error) {
                    Failure::Permanent => {
                        flight.permanent = true;
                        flight.next_attempt = None;
                        (Outcome::Dead, None)
                    }
                    Failure::Transient => {
                        let pause = RefreshPolicy::backoff(flight.failures);
                        flight.next_attempt = Some((Instant::now() + pause, now + pause));
                        (Outcome::Failed, Some(now + pause))
                    }
                }
            }
        };
        let failures = flight.failures;
        flight.running = false;
        flight.generation = flight.generation.wrapping_add(1);
        flight.last = Some(result.clone());
        self.refreshing.store(false, Ordering::Release);
        drop(flight);
        self.landed.notify_all();
        if !attempt.known_dead {
            let token = result.as_ref().ok().map(|c| &c.token);
            let event = RefreshEvent {
                outcome,
                trigger,
                grant: attempt.grant,
                duration: started.elapsed(),
                at: now,
                expires_at: token.and_then(OAuth2Token::expires_at),
                refresh_expires_at: token.and_then(OAuth2Token::refresh_expires_at),
                error: result.as_ref().err().cloned(),
                failures: if result.is_ok() { 0 } else { failures },
                retry_at,
                connection: None,
            };
            events::emit(self.observer.as_ref(), &event);
        }
        result
    }

    /// Reads the store's document under the lock, opened and parsed.
    fn read(&self, lock: &mut dyn StoreLock) -> Result<Option<StoredToken>, Error> {
        let Some(document) = lock.load()? else {
            return Ok(None);
        };
        let plain = self.sealer.open(&self.identity, &document)?;
        StoredToken::from_document(&plain).map(Some)
    }

    /// Under the store's lock: use what another holder stored, or refresh and save.
    fn refresh(&self, attempt: &mut Attempt) -> Result<Arc<Current>, Error> {
        let mut lock = self.store.lock(self.lock_wait)?;
        let stored = self.read(&mut *lock)?;
        let invalidated = self
            .invalidated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(stored) = &stored
            && let (Some(access), Some(expires_at)) = (&stored.access_token, stored.expires_at)
            && invalidated.as_deref().map(String::as_str) != Some(access.as_str())
            && self.better_than_current(expires_at)
        {
            attempt.from_store = true;
            let token = OAuth2Token::from_stored(access, stored);
            return Ok(self.install(token));
        }
        let stored_refresh = stored.as_ref().and_then(|s| s.refresh_token.clone());
        let geolocation = stored.as_ref().and_then(|s| s.geolocation.clone());
        let token = match (&stored_refresh, &self.start) {
            (_, Start::ClientCredentials) => {
                attempt.grant = Some("client_credentials");
                self.grant(&Grant::ClientCredentials, None)?
            }
            (Some(refresh), _) => self.refresh_with(refresh, geolocation.as_deref(), attempt)?,
            (
                None,
                Start::RefreshToken {
                    refresh_token,
                    geolocation,
                },
            ) => self.refresh_with(refresh_token, geolocation.as_deref(), attempt)?,
            (None, Start::Password { username, password }) => {
                attempt.grant = Some("password");
                self.grant(
                    &Grant::Password {
                        username,
                        password,
                        scope: None,
                    },
                    None,
                )?
            }
            (
                None,
                Start::Company {
                    company_id,
                    request_token,
                },
            ) => {
                attempt.grant = Some("password");
                self.grant(
                    &Grant::Company {
                        company_id,
                        request_token,
                    },
                    None,
                )?
            }
        };
        // Saved before it is used: a rotated refresh token must never be lost.
        let document = StoredToken::from_token(&token).to_document();
        let sealed = self.sealer.seal(&self.identity, &document)?;
        lock.save(&sealed)?;
        drop(lock);
        *self
            .invalidated
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        Ok(self.install(token))
    }

    /// Whether a stored token expiring at `expires_at` is worth taking instead of refreshing:
    /// outside the window; or, above the floor, when it outlives the token held (a new
    /// process, or another holder's refresh), so that no caller waits while a usable token is
    /// stored — the next call refreshes it ahead.
    fn better_than_current(&self, expires_at: i64) -> bool {
        match self.policy.freshness(left(Some(expires_at))) {
            Freshness::Fresh => true,
            Freshness::Expired => false,
            Freshness::Stale => self
                .current
                .load()
                .as_ref()
                .is_none_or(|c| c.token.expires_at().is_none_or(|held| held < expires_at)),
        }
    }

    fn grant(&self, grant: &Grant<'_>, host: Option<&str>) -> Result<OAuth2Token, Error> {
        self.client
            .oauth2_token(&self.client_id, &self.client_secret, grant, host)
    }

    fn refresh_with(
        &self,
        refresh_token: &str,
        host: Option<&str>,
        attempt: &mut Attempt,
    ) -> Result<OAuth2Token, Error> {
        let mut dead = self.dead.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((token, error)) = dead.as_ref()
            && token.as_str() == refresh_token
        {
            attempt.known_dead = true;
            return Err(error.clone());
        }
        attempt.grant = Some("refresh_token");
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

    fn install(&self, token: OAuth2Token) -> Arc<Current> {
        let now = Instant::now();
        let left = left(token.expires_at());
        // A token already inside the window (or below the floor) is handed to its callers
        // once; the next call refreshes ahead (or waits).
        let refresh_at = now + left.saturating_sub(self.policy.window());
        let floor_at = now + left.saturating_sub(self.policy.floor());
        let current = Arc::new(Current {
            token,
            refresh_at,
            floor_at,
        });
        self.current.store(Some(current.clone()));
        current
    }
}

/// How long a token expiring at `expires_at` (Unix seconds) is still valid.
fn left(expires_at: Option<i64>) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let left = expires_at.unwrap_or(now + ASSUMED_LIFETIME) - now;
    Duration::from_secs(left.max(0) as u64)
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
