//! One connection's engine: the token in memory, one refresh at a time (ahead on the library's
//! thread, or waited for below the floor), stale if error with backoff, Concur's verdict never
//! re-sent, the rotated refresh token saved under the slot's lock before use, events told. A
//! [`TokenManager`](super::TokenManager) is one engine over its [`TokenStore`]; a
//! [`TokenVault`](super::TokenVault) runs one per connection over its keyed store.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use zeroize::{Zeroize, Zeroizing};

use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::oauth2::{Grant, OAuth2Token};

use super::events::{
    self, LOG_TARGET, ManagerStatus, Observer, Outcome, RefreshEvent, State, Trigger,
};
use super::policy::{Failure, Freshness, RefreshPolicy};
use super::seal::Sealer;
use super::store::{Document, StoreLock, StoredToken, TokenStore};

/// How long a caller waits for a store's lock (another process's refresh), by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);

/// Concur's code for a bad or expired refresh token.
pub(crate) const BAD_REFRESH_TOKEN: i64 = 108;

/// Concur's access tokens live an hour; one without an expiry is taken to.
const ASSUMED_LIFETIME: i64 = 3600;

/// Where an engine keeps its one document: a manager's [`TokenStore`], or one connection of a
/// vault's keyed store.
pub(crate) trait Slot: Send + Sync {
    /// Takes the slot's lock, waiting at most `wait`.
    fn lock(&self, wait: Duration) -> Result<Box<dyn SlotLock + '_>, Error>;
}

/// A slot's lock, held for one refresh.
pub(crate) trait SlotLock {
    /// The document under the lock.
    fn load(&mut self) -> Result<Option<Document>, Error>;

    /// Concur's verdict on the stored refresh token, recorded by any holder (a vault's dead
    /// record): the error to answer without sending anything.
    fn verdict(&mut self) -> Result<Option<Error>, Error> {
        Ok(None)
    }

    /// Saves `document` (sealed already), the serialized `token` (a vault writes its record
    /// from the token too).
    fn save(&mut self, document: &[u8], token: &OAuth2Token) -> Result<(), Error>;

    /// Records a failed attempt (a vault's record: failing, or dead with Concur's code).
    fn failed(&mut self, error: &Error) -> Result<(), Error> {
        let _ = error;
        Ok(())
    }
}

/// A manager's slot: its [`TokenStore`].
pub(crate) struct StoreSlot(pub(crate) Box<dyn TokenStore>);

struct StoreSlotLock<'a>(Box<dyn StoreLock + 'a>);

impl Slot for StoreSlot {
    fn lock(&self, wait: Duration) -> Result<Box<dyn SlotLock + '_>, Error> {
        Ok(Box::new(StoreSlotLock(self.0.lock(wait)?)))
    }
}

impl SlotLock for StoreSlotLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        self.0.load()
    }

    fn save(&mut self, document: &[u8], _: &OAuth2Token) -> Result<(), Error> {
        self.0.save(document)
    }
}

/// What the engines of one keeper share: one allocation for a vault's thousands.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) client: Arc<Client>,
    pub(crate) client_id: String,
    pub(crate) client_secret: Zeroizing<String>,
    pub(crate) sealer: Sealer,
    pub(crate) policy: RefreshPolicy,
    pub(crate) lock_wait: Duration,
    pub(crate) observer: Option<Observer>,
}

/// One connection's engine (see the module's text).
pub(crate) struct Engine {
    pub(crate) shared: Arc<Shared>,
    /// Where to start when the slot holds no refresh token; `None` for a vault's connection
    /// (its document holds it, or it is gone).
    pub(crate) start: Option<Start>,
    pub(crate) slot: Box<dyn Slot>,
    /// The name bound into the sealed document.
    pub(crate) identity: String,
    /// The vault's connection ID, for events.
    pub(crate) connection: Option<Arc<str>>,
    pub(crate) current: ArcSwapOption<Current>,
    /// Set while a refresh runs, so that callers inside the window skip the flight's mutex.
    refreshing: AtomicBool,
    flight: Mutex<Flight>,
    landed: Condvar,
    /// The refresh token Concur called bad or expired (108), and that error: not sent again.
    dead: Mutex<Option<(Zeroizing<String>, Error)>>,
    /// The access token the caller called bad (`invalidate`): not taken from the store again.
    pub(crate) invalidated: Mutex<Option<Zeroizing<String>>>,
    /// The refresh token expiry last warned about, and how many horizons were told for it.
    warned: Mutex<(i64, u8)>,
}

impl Engine {
    /// An engine over `slot`, its document sealed under `identity`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        start: Option<Start>,
        slot: Box<dyn Slot>,
        identity: String,
        connection: Option<Arc<str>>,
    ) -> Engine {
        Engine {
            shared,
            start,
            slot,
            identity,
            connection,
            current: ArcSwapOption::empty(),
            refreshing: AtomicBool::new(false),
            flight: Mutex::new(Flight::default()),
            landed: Condvar::new(),
            dead: Mutex::new(None),
            invalidated: Mutex::new(None),
            warned: Mutex::new((0, 0)),
        }
    }
}

/// The error for a connection ID a vault does not hold.
pub(crate) fn unknown_connection() -> Error {
    Error::new(
        ErrorKind::UnknownConnection,
        "the vault holds no connection by that ID",
    )
}

/// Runs `attempt`, a panic inside it turned into an error.
fn caught(attempt: impl FnOnce() -> Result<Arc<Current>, Error>) -> Result<Arc<Current>, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(attempt))
        .unwrap_or_else(|_| Err(Error::store("a bug interrupted the refresh")))
}

/// The time now, in Unix seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

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

/// A valid access token handed out by a [`TokenManager`](super::TokenManager) or a
/// [`TokenVault`](super::TokenVault): cheap to clone (one reference
/// count), valid for at least the manager's floor when it was handed out.
#[derive(Clone)]
pub struct AccessToken(pub(crate) Arc<Current>);

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

/// The token in memory, with the instants the policy gives it.
pub(crate) struct Current {
    pub(crate) token: OAuth2Token,
    /// When the token enters the refresh window (refreshed ahead from then on).
    refresh_at: Instant,
    /// When the token reaches the floor (no longer handed out).
    floor_at: Instant,
}

/// The one refresh at a time, and the health of the last ones.
#[derive(Default)]
pub(crate) struct Flight {
    pub(crate) running: bool,
    pub(crate) generation: u64,
    pub(crate) last: Option<Result<Arc<Current>, Error>>,
    pub(crate) failures: u32,
    pub(crate) next_attempt: Option<(Instant, SystemTime)>,
    pub(crate) last_error: Option<Error>,
    /// Concur's verdict on the last attempt: no refresh ahead until a caller's own succeeds.
    pub(crate) permanent: bool,
    pub(crate) last_refresh: Option<SystemTime>,
    pub(crate) refresh_count: u64,
}

/// What one attempt did, for its event.
#[derive(Default)]
struct Attempt {
    grant: Option<&'static str>,
    from_store: bool,
    /// Nothing was sent: the refresh token is known dead. No event for it.
    known_dead: bool,
}

/// Refreshes running ahead on the library's threads, in the whole process.
static IN_FLIGHT: Mutex<usize> = Mutex::new(0);
static IN_FLIGHT_DONE: Condvar = Condvar::new();

/// One refresh ahead counted in [`IN_FLIGHT`] while it lives.
struct InFlight;

/// The most refreshes ahead running at once in a process, every manager's and every vault
/// connection's together: a vault whose thousands of connections enter their windows together
/// must not start thousands of threads. Past it, callers keep the current token, a later call
/// starts the refresh ahead, and below the floor callers refresh on their own threads.
pub const MAX_REFRESHES_AHEAD: usize = 64;

impl InFlight {
    /// Counts one more refresh ahead, unless [`MAX_REFRESHES_AHEAD`] run already.
    fn try_enter() -> Option<InFlight> {
        let mut count = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
        if *count >= MAX_REFRESHES_AHEAD {
            return None;
        }
        *count += 1;
        Some(InFlight)
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

/// How many refreshes ahead run in this process now (every manager's and every vault
/// connection's; at most [`MAX_REFRESHES_AHEAD`]): for a status page, and for tests.
pub fn refreshes_ahead() -> usize {
    *IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner)
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

impl Engine {
    /// Waits until no refresh runs (at most `timeout`, when given); whether none runs.
    pub(crate) fn wait_idle(&self, timeout: Option<Duration>) -> bool {
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
    pub(crate) fn usable(self: &Arc<Self>) -> Option<Arc<Current>> {
        let current = self.current.load_full()?;
        self.serves(&current).then_some(current)
    }

    /// Whether `current` may be handed out now; inside the window, starts a refresh ahead.
    pub(crate) fn serves(self: &Arc<Self>, current: &Current) -> bool {
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
        let Some(in_flight) = InFlight::try_enter() else {
            return; // as many refreshes ahead as allowed run: a later call starts this one
        };
        flight.running = true;
        self.refreshing.store(true, Ordering::Release);
        drop(flight);
        let inner = Arc::clone(self);
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
    pub(crate) fn renew(self: &Arc<Self>) -> Result<Arc<Current>, Error> {
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

    pub(crate) fn lock_flight(&self) -> MutexGuard<'_, Flight> {
        self.flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One attempt, its event and its record: the result, and what it did.
    fn attempt(
        &self,
        trigger: Trigger,
    ) -> (Result<Arc<Current>, Error>, Attempt, Trigger, Instant) {
        let started = Instant::now();
        let mut attempt = Attempt::default();
        let result = caught(|| self.refresh(&mut attempt));
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
                connection: self.connection.clone(),
                horizon: None,
            };
            events::emit(self.shared.observer.as_ref(), &event);
        }
        result
    }

    /// Reads the slot's document under the lock, opened and parsed.
    fn read(&self, lock: &mut dyn SlotLock) -> Result<Option<StoredToken>, Error> {
        let Some(document) = lock.load()? else {
            return Ok(None);
        };
        let plain = self.shared.sealer.open(&self.identity, &document)?;
        StoredToken::from_document(&plain).map(Some)
    }

    /// Under the slot's lock: use what another holder stored, or refresh and save.
    fn refresh(&self, attempt: &mut Attempt) -> Result<Arc<Current>, Error> {
        let mut lock = self.slot.lock(self.shared.lock_wait)?;
        self.refresh_locked(&mut *lock, attempt, false)
    }

    /// The refresh, under the slot's lock `lock`. `force` (a sweep renewing the refresh token)
    /// refreshes even when the stored access token is fresh.
    fn refresh_locked(
        &self,
        lock: &mut dyn SlotLock,
        attempt: &mut Attempt,
        force: bool,
    ) -> Result<Arc<Current>, Error> {
        let stored = self.read(lock)?;
        let invalidated = self
            .invalidated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if !force
            && let Some(stored) = &stored
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
        if !matches!(self.start, Some(Start::ClientCredentials))
            && let Some(verdict) = lock.verdict()?
        {
            // Another holder (process, machine) heard Concur's verdict on this connection.
            attempt.known_dead = true;
            return Err(verdict);
        }
        let token = match (&stored_refresh, &self.start) {
            (_, Some(Start::ClientCredentials)) => {
                attempt.grant = Some("client_credentials");
                self.grant(&Grant::ClientCredentials, None)
            }
            (Some(refresh), _) => self.refresh_with(refresh, geolocation.as_deref(), attempt),
            (
                None,
                Some(Start::RefreshToken {
                    refresh_token,
                    geolocation,
                }),
            ) => self.refresh_with(refresh_token, geolocation.as_deref(), attempt),
            (None, Some(Start::Password { username, password })) => {
                attempt.grant = Some("password");
                self.grant(
                    &Grant::Password {
                        username,
                        password,
                        scope: None,
                    },
                    None,
                )
            }
            (
                None,
                Some(Start::Company {
                    company_id,
                    request_token,
                }),
            ) => {
                attempt.grant = Some("password");
                self.grant(
                    &Grant::Company {
                        company_id,
                        request_token,
                    },
                    None,
                )
            }
            // A vault's connection whose document is gone (removed by another holder).
            (None, None) => return Err(unknown_connection()),
        };
        let token = match token {
            Ok(token) => token,
            Err(error) => {
                if !attempt.known_dead
                    && let Err(e) = lock.failed(&error)
                {
                    log::warn!(
                        target: LOG_TARGET,
                        "the failure could not be recorded in the store: {e}"
                    );
                }
                return Err(error);
            }
        };
        self.keep(lock, token)
    }

    /// Saves `token` under the slot's lock (sealed, with its record in a vault) and installs
    /// it: saved before it is used, as a rotated refresh token must never be lost.
    fn keep(&self, lock: &mut dyn SlotLock, token: OAuth2Token) -> Result<Arc<Current>, Error> {
        let document = StoredToken::from_token(&token).to_document();
        let sealed = self.shared.sealer.seal(&self.identity, &document)?;
        lock.save(&sealed, &token)?;
        *self
            .invalidated
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        Ok(self.install(token))
    }

    /// A vault's sweep: under the lock it holds already (`lock`), renews the refresh token
    /// through the same attempt as a refresh (event, health, save before use). `None` when a
    /// refresh of this connection is running in this process already (it waits for this very
    /// lock, and will use what the sweep saved); else the result, and whether a new token was
    /// obtained.
    pub(crate) fn sweep(&self, lock: &mut dyn SlotLock) -> Option<Result<Arc<Current>, Error>> {
        {
            let mut flight = self.lock_flight();
            if flight.running {
                return None;
            }
            flight.running = true;
            self.refreshing.store(true, Ordering::Release);
        }
        let started = Instant::now();
        let mut attempt = Attempt::default();
        let result = caught(|| self.refresh_locked(lock, &mut attempt, true));
        Some(self.land((result, attempt, Trigger::KeepAlive, started)))
    }

    /// A vault's `add`: under the lock it holds (`lock`), runs `grant` (at `host`), saves the
    /// token and installs it, telling the observer as a refresh does.
    pub(crate) fn enroll(
        &self,
        lock: &mut dyn SlotLock,
        grant: &Grant<'_>,
        host: Option<&str>,
    ) -> Result<Arc<Current>, Error> {
        {
            let mut flight = self.lock_flight();
            flight.running = true;
            self.refreshing.store(true, Ordering::Release);
        }
        let started = Instant::now();
        let attempt = Attempt {
            grant: Some(grant.grant_type()),
            ..Attempt::default()
        };
        let result = caught(|| {
            let token = self.grant(grant, host)?;
            self.keep(lock, token)
        });
        self.land((result, attempt, Trigger::Absent, started))
    }

    /// Tells the observer, once per horizon per refresh token, that the refresh token expiring
    /// at `refresh_expires_at` has come within `horizons` (longest first) of its expiry.
    pub(crate) fn warn_horizons(
        &self,
        refresh_expires_at: Option<i64>,
        horizons: &[Duration],
        trigger: Trigger,
    ) {
        let Some(at) = refresh_expires_at else {
            return;
        };
        let left = at.saturating_sub(unix_now());
        let crossed = horizons
            .iter()
            .filter(|h| left < i64::try_from(h.as_secs()).unwrap_or(i64::MAX))
            .count();
        let newly = {
            let mut warned = self.warned.lock().unwrap_or_else(PoisonError::into_inner);
            if warned.0 != at {
                *warned = (at, 0);
            }
            let before = usize::from(warned.1);
            if crossed <= before {
                return;
            }
            warned.1 = u8::try_from(crossed).unwrap_or(u8::MAX);
            before..crossed
        };
        for horizon in &horizons[newly] {
            let event = RefreshEvent {
                outcome: Outcome::Expiring,
                trigger,
                grant: None,
                duration: Duration::ZERO,
                at: SystemTime::now(),
                expires_at: None,
                refresh_expires_at: Some(at),
                error: None,
                failures: 0,
                retry_at: None,
                connection: self.connection.clone(),
                horizon: Some(*horizon),
            };
            events::emit(self.shared.observer.as_ref(), &event);
        }
    }

    /// Forgets the access token in memory; the next call refreshes, even when the store still
    /// holds that same token as valid.
    pub(crate) fn invalidate(&self) {
        if let Some(current) = self.current.swap(None) {
            *self
                .invalidated
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some(Zeroizing::new(current.token.access_token().to_string()));
        }
    }

    /// A snapshot for operators. No secret.
    pub(crate) fn status(&self) -> ManagerStatus {
        let current = self.current.load_full();
        let flight = self.lock_flight();
        ManagerStatus {
            state: if flight.permanent {
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

    /// Whether a stored token expiring at `expires_at` is worth taking instead of refreshing:
    /// outside the window; or, above the floor, when it outlives the token held (a new
    /// process, or another holder's refresh), so that no caller waits while a usable token is
    /// stored — the next call refreshes it ahead.
    fn better_than_current(&self, expires_at: i64) -> bool {
        match self.shared.policy.freshness(left(Some(expires_at))) {
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
        let shared = &self.shared;
        shared
            .client
            .oauth2_token(&shared.client_id, &shared.client_secret, grant, host)
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
        let refresh_at = now + left.saturating_sub(self.shared.policy.window());
        let floor_at = now + left.saturating_sub(self.shared.policy.floor());
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
