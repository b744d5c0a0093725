//! The token vault: many connections (companies, users, the application itself), each kept
//! by the same engine as a [`TokenManager`](super::TokenManager) keeps its one token, over a
//! [`KeyedStore`] shared by threads, processes and machines.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use zeroize::{Zeroize, Zeroizing};

use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::oauth2::{Grant, OAuth2Token};

use super::engine::{
    AccessToken, Current, DEFAULT_LOCK_WAIT, Engine, Shared, Slot, SlotLock, Start, unix_now,
    unknown_connection,
};
use super::events::{ManagerStatus, Observer, RefreshEvent, Trigger};
use super::keyed::{
    ConnectionKind, ConnectionRecord, ConnectionState, KeyedLock, KeyedStore, MemoryKeyedStore,
    check_connection_id,
};
use super::policy::{Failure, RefreshPolicy};
use super::seal::Sealer;
use super::store::{Document, StoredToken};

/// How many connection engines a vault keeps in memory by default (least recently used out).
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// The horizons warned about by default: 30 and 7 days before a refresh token's expiry.
pub const DEFAULT_HORIZONS: [Duration; 2] = [
    Duration::from_secs(30 * 86_400),
    Duration::from_secs(7 * 86_400),
];

/// How far ahead [`TokenVault::keep_alive`] looks by default: 30 days.
pub const DEFAULT_KEEP_ALIVE_WITHIN: Duration = Duration::from_secs(30 * 86_400);

/// How many connections [`TokenVault::keep_alive`] refreshes at a time by default.
pub const DEFAULT_KEEP_ALIVE_CONCURRENCY: usize = 8;

/// How a connection is first obtained by [`TokenVault::add`].
#[derive(Clone)]
pub enum VaultStart {
    /// A refresh token stored earlier (and its geolocation): refreshed once at once, so that
    /// the stored token is fresh and known alive.
    RefreshToken {
        /// The refresh token.
        refresh_token: String,
        /// The data centre to refresh at; `None` for the client's host.
        geolocation: Option<String>,
    },
    /// A company grant from App Center's request token.
    Company {
        /// The company's UUID.
        company_id: String,
        /// The request token (valid 24 hours).
        request_token: String,
    },
    /// A password grant for a user.
    Password {
        /// The user's login name.
        username: String,
        /// The user's password.
        password: String,
    },
    /// The authorization-code exchange of the Web flow.
    AuthorizationCode {
        /// The `code` of the callback.
        code: String,
        /// The `redirect_uri` given to the authorize URL, exactly.
        redirect_uri: String,
    },
    /// The application's own token (client credentials), obtained again whenever it expires.
    ClientCredentials,
}

/// A connection as an operator sees it: its stored [`ConnectionRecord`] and the horizon its
/// refresh token has come within. No secret.
///
/// The horizon is a separate field rather than a state: a connection can be `Active` and
/// within 7 days of its refresh token's death (a keep-alive failing for a week), and both
/// facts matter. [`state_name`](ConnectionInfo::state_name) folds them into one word.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// The caller's name for the connection.
    pub id: String,
    /// What the connection stands for.
    pub kind: ConnectionKind,
    /// The token's subject (a company or user UUID), when Concur said.
    pub subject: Option<String>,
    /// The data centre the connection lives at.
    pub geolocation: Option<String>,
    /// When the current access token expires (Unix seconds).
    pub expires_at: Option<i64>,
    /// When the refresh token expires (Unix seconds).
    pub refresh_expires_at: Option<i64>,
    /// When the connection was last refreshed or added (Unix seconds).
    pub last_refresh: Option<i64>,
    /// Its health as stored.
    pub state: ConnectionState,
    /// Concur's code that killed it (108, …), when dead.
    pub concur_code: Option<i64>,
    /// Transient failures in a row.
    pub failures: u32,
    /// When it was added (Unix seconds).
    pub added_at: i64,
    /// The smallest of the vault's horizons the refresh token's expiry is within (not for a
    /// dead connection); `None` when it is outside them all or its expiry is unknown.
    pub horizon: Option<Duration>,
}

impl ConnectionInfo {
    /// `"active"`, `"expiring"` (active or failing, within a horizon), `"failing"` or
    /// `"dead"`.
    pub fn state_name(&self) -> &'static str {
        match (self.state, self.horizon) {
            (ConnectionState::Dead, _) => "dead",
            (_, Some(_)) => "expiring",
            (state, None) => state.as_str(),
        }
    }

    /// The record's view with the horizon `horizons` (longest first) give it at `now`.
    fn of(record: ConnectionRecord, horizons: &[Duration], now: i64) -> ConnectionInfo {
        let horizon = match (record.state, record.refresh_expires_at) {
            (ConnectionState::Dead, _) | (_, None) => None,
            (_, Some(at)) => {
                let left = at.saturating_sub(now);
                horizons
                    .iter()
                    .rfind(|h| left < i64::try_from(h.as_secs()).unwrap_or(i64::MAX))
                    .copied()
            }
        };
        ConnectionInfo {
            id: record.id,
            kind: record.kind,
            subject: record.subject,
            geolocation: record.geolocation,
            expires_at: record.expires_at,
            refresh_expires_at: record.refresh_expires_at,
            last_refresh: record.last_refresh,
            state: record.state,
            concur_code: record.concur_code,
            failures: record.failures,
            added_at: record.added_at,
            horizon,
        }
    }
}

impl Drop for VaultStart {
    fn drop(&mut self) {
        match self {
            VaultStart::RefreshToken { refresh_token, .. } => refresh_token.zeroize(),
            VaultStart::Company { request_token, .. } => request_token.zeroize(),
            VaultStart::Password { password, .. } => password.zeroize(),
            VaultStart::AuthorizationCode { code, .. } => code.zeroize(),
            VaultStart::ClientCredentials => {}
        }
    }
}

impl fmt::Debug for VaultStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultStart::RefreshToken { geolocation, .. } => f
                .debug_struct("RefreshToken")
                .field("refresh_token", &"***")
                .field("geolocation", geolocation)
                .finish(),
            VaultStart::Company { company_id, .. } => f
                .debug_struct("Company")
                .field("company_id", company_id)
                .field("request_token", &"***")
                .finish(),
            VaultStart::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            VaultStart::AuthorizationCode { redirect_uri, .. } => f
                .debug_struct("AuthorizationCode")
                .field("code", &"***")
                .field("redirect_uri", redirect_uri)
                .finish(),
            VaultStart::ClientCredentials => f.write_str("ClientCredentials"),
        }
    }
}

impl VaultStart {
    /// Checks the start's arguments before anything is locked or sent.
    fn check(&self) -> Result<(), Error> {
        match self {
            VaultStart::RefreshToken {
                refresh_token,
                geolocation,
            } => {
                crate::credentials::require_visible("the refresh token", refresh_token)?;
                if let Some(g) = geolocation {
                    crate::options::BaseUrl::parse(g)?;
                }
            }
            VaultStart::Company {
                company_id,
                request_token,
            } => {
                crate::credentials::require_visible("the company ID", company_id)?;
                crate::credentials::require_visible("the request token", request_token)?;
            }
            VaultStart::Password { username, password } => {
                crate::oauth2::require_text("the username", username)?;
                crate::credentials::require_secret("the password", password)?;
            }
            VaultStart::AuthorizationCode { code, redirect_uri } => {
                crate::credentials::require_visible("the authorization code", code)?;
                crate::oauth2::require_text("the redirect URI", redirect_uri)?;
            }
            VaultStart::ClientCredentials => {}
        }
        Ok(())
    }

    /// What the connection stands for.
    fn kind(&self) -> ConnectionKind {
        match self {
            VaultStart::Company { .. } => ConnectionKind::Company,
            VaultStart::ClientCredentials => ConnectionKind::App,
            _ => ConnectionKind::User,
        }
    }

    /// The grant to send, and the host to send it to.
    fn grant(&self) -> (Grant<'_>, Option<&str>) {
        match self {
            VaultStart::RefreshToken {
                refresh_token,
                geolocation,
            } => (
                Grant::RefreshToken {
                    refresh_token,
                    scope: None,
                },
                geolocation.as_deref(),
            ),
            VaultStart::Company {
                company_id,
                request_token,
            } => (
                Grant::Company {
                    company_id,
                    request_token,
                },
                None,
            ),
            VaultStart::Password { username, password } => (
                Grant::Password {
                    username,
                    password,
                    scope: None,
                },
                None,
            ),
            VaultStart::AuthorizationCode { code, redirect_uri } => {
                (Grant::AuthorizationCode { code, redirect_uri }, None)
            }
            VaultStart::ClientCredentials => (Grant::ClientCredentials, None),
        }
    }
}

/// What one [`TokenVault::keep_alive`] did. `checked == refreshed + fresh + dead.len() +
/// failed.len()`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct KeepAliveReport {
    /// Connections found due by the sweep.
    pub checked: u64,
    /// Refreshed by this sweep.
    pub refreshed: u64,
    /// Not refreshed because they no longer needed it: another sweeper (or a caller's refresh)
    /// held them, or had refreshed them since they were listed.
    pub fresh: u64,
    /// Connections Concur refused (or known refused already): their ID and Concur's code.
    pub dead: Vec<(String, Option<i64>)>,
    /// Connections whose refresh failed for now (an outage): left, failing, for the next run.
    pub failed: Vec<KeepAliveFailure>,
}

impl KeepAliveReport {
    /// Whether nothing died or failed (a cron's exit status).
    pub fn is_clean(&self) -> bool {
        self.dead.is_empty() && self.failed.is_empty()
    }

    fn add(&mut self, id: &str, swept: Swept) {
        self.checked += 1;
        match swept {
            Swept::Refreshed => self.refreshed += 1,
            Swept::Fresh | Swept::Busy => self.fresh += 1,
            Swept::Dead(code) => self.dead.push((id.to_string(), code)),
            Swept::Failed(error) => self.failed.push(KeepAliveFailure {
                id: id.to_string(),
                error,
            }),
        }
    }
}

/// A connection [`TokenVault::keep_alive`] could not refresh for now.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KeepAliveFailure {
    /// The connection's ID.
    pub id: String,
    /// The error (its kind, code and correlation id; never a secret).
    pub error: Error,
}

impl KeepAliveFailure {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.error.kind()
    }

    /// The exchange's correlation id, when Concur answered.
    pub fn correlation_id(&self) -> Option<&str> {
        self.error.correlation_id()
    }
}

/// What the sweep did with one connection.
enum Swept {
    Refreshed,
    Fresh,
    /// Its lock was held at that moment: by another sweeper (which refreshes it) or by a caller
    /// only reading it (which does not); looked at again at the end of the sweep.
    Busy,
    Dead(Option<i64>),
    Failed(Error),
}

/// How long a sweep waits, at its end, for the lock of a connection that was busy when listed.
const BUSY_WAIT: Duration = Duration::from_secs(5);

/// How many records a page of [`TokenVault::connections`] or of a sweep reads.
const PAGE: usize = 500;

/// Keeps many Concur connections alive: the [`TokenManager`](super::TokenManager)'s
/// guarantees per connection (one refresh per connection across threads, processes and
/// machines sharing the store; refresh ahead; stale if error; the rotated refresh token saved
/// before use; Concur's 108 never re-sent), a bounded in-memory cache of connections, listing
/// without loading tokens, and a sweep ([`keep_alive`](TokenVault::keep_alive)) that keeps
/// refresh tokens from dying unused. `Send + Sync`: share it in an `Arc`.
///
/// Each connection has an engine of its own (the manager's), created when the connection is
/// first used and kept in a bounded cache (least recently used out); what the engines share
/// (client, application credentials, policy, key, observer, store) is held once. A connection
/// removed by another process is noticed at its next refresh (`UnknownConnection`); until
/// then this process may still hand out the access token it holds.
pub struct TokenVault {
    shared: Arc<Shared>,
    store: Arc<dyn KeyedStore>,
    horizons: Vec<Duration>,
    cache: Cache,
}

impl fmt::Debug for TokenVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVault")
            .field("client_id", &self.shared.client_id)
            .field("policy", &self.shared.policy)
            .field("sealed", &self.shared.sealer.seals())
            .field("horizons", &self.horizons)
            .field("cache_capacity", &self.cache.capacity)
            .finish_non_exhaustive()
    }
}

impl TokenVault {
    /// A vault over `client` for the application `client_id`/`client_secret`, keeping its
    /// connections in `store`. Nothing is sent until a connection is used.
    pub fn new(
        client: Arc<Client>,
        client_id: &str,
        client_secret: &str,
        store: Arc<dyn KeyedStore>,
    ) -> Result<TokenVault, Error> {
        crate::oauth2::require_app(client_id, client_secret)?;
        Ok(TokenVault {
            shared: Arc::new(Shared {
                client,
                client_id: client_id.to_string(),
                client_secret: Zeroizing::new(client_secret.to_string()),
                sealer: Sealer::default(),
                policy: RefreshPolicy::default(),
                lock_wait: DEFAULT_LOCK_WAIT,
                observer: None,
            }),
            store,
            horizons: DEFAULT_HORIZONS.to_vec(),
            cache: Cache::new(DEFAULT_CACHE_CAPACITY),
        })
    }

    /// Changes what the engines share; the connections cached so far are forgotten (they are
    /// read from the store again when used). Called before the vault is shared.
    fn configure(mut self, change: impl FnOnce(&mut Shared)) -> TokenVault {
        change(Arc::make_mut(&mut self.shared));
        self.forget_all();
        self
    }

    /// Forgets every cached connection, once its refresh ahead (if one runs) has landed.
    fn forget_all(&mut self) {
        let capacity = self.cache.capacity;
        let old = std::mem::replace(&mut self.cache, Cache::new(capacity));
        for shard in old.shards.iter() {
            for entry in shard
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
            {
                entry.engine.wait_idle(None);
            }
        }
    }

    /// Refreshes ahead inside the policy's window, and hands out nothing valid for less than
    /// its floor.
    pub fn with_policy(self, policy: RefreshPolicy) -> TokenVault {
        self.configure(|shared| shared.policy = policy)
    }

    /// Refreshes ahead this long before expiry (see `TokenManager::with_margin`).
    pub fn with_margin(self, margin: Duration) -> TokenVault {
        self.configure(|shared| {
            let floor = shared.policy.floor().min(margin / 2);
            shared.policy = RefreshPolicy::new(margin, floor)
                .unwrap_or_else(|_| RefreshPolicy::zero_floor(margin));
        })
    }

    /// Seals every connection's document with the sealer's first key (AES-256-GCM, bound to
    /// the store's identity of that connection, so a document copied under another ID does not
    /// open), and opens documents sealed under any of its keys.
    pub fn with_sealer(self, sealer: Sealer) -> TokenVault {
        self.configure(|shared| shared.sealer = sealer)
    }

    /// Calls `observer` with every refresh attempt and horizon warning (events carry the
    /// connection's ID).
    pub fn on_event(self, observer: impl Fn(&RefreshEvent) + Send + Sync + 'static) -> TokenVault {
        self.with_observer(Arc::new(observer))
    }

    /// Calls `observer` with every event, given as an [`Observer`].
    pub fn with_observer(self, observer: Observer) -> TokenVault {
        self.configure(|shared| shared.observer = Some(observer))
    }

    /// Waits this long at most for a connection's lock (default 60 s).
    pub fn with_lock_wait(self, wait: Duration) -> TokenVault {
        self.configure(|shared| shared.lock_wait = wait)
    }

    /// Keeps about `capacity` connections in memory (at least 1; default
    /// [`DEFAULT_CACHE_CAPACITY`]), the least recently used forgotten first (they are read
    /// from the store again when used). Up to 2,047 the bound is exact; above, the cache is
    /// spread over up to 16 shards that each hold an eighth more than their share, so that
    /// `capacity` connections fit however their IDs spread, and at most 12.5 % more are kept.
    pub fn with_cache_capacity(mut self, capacity: usize) -> TokenVault {
        self.forget_all();
        self.cache = Cache::new(capacity.max(1));
        self
    }

    /// Warns (an [`Outcome::Expiring`](super::Outcome::Expiring) event) when a connection's
    /// refresh token comes within each of `horizons` of its expiry without having been
    /// renewed (default [`DEFAULT_HORIZONS`]: 30 and 7 days). No horizon: no warning.
    pub fn with_horizons(mut self, horizons: impl IntoIterator<Item = Duration>) -> TokenVault {
        let mut horizons: Vec<Duration> = horizons.into_iter().collect();
        horizons.sort_unstable_by(|a, b| b.cmp(a));
        horizons.dedup();
        self.horizons = horizons;
        self
    }

    /// The refresh policy in force.
    pub fn policy(&self) -> RefreshPolicy {
        self.shared.policy
    }

    /// The store the vault keeps its connections in.
    pub fn store(&self) -> &Arc<dyn KeyedStore> {
        &self.store
    }

    /// Adds connection `id` by running `start`'s grant (a refresh token is refreshed once, so
    /// that the stored one is fresh and known alive), under the connection's lock, saving its
    /// document and record before returning its access token. An ID already present is an
    /// `InvalidArgument` error unless `replace`; a failed grant stores nothing.
    pub fn add(&self, id: &str, start: VaultStart, replace: bool) -> Result<AccessToken, Error> {
        check_connection_id(id)?;
        start.check()?;
        let kind = start.kind();
        let mut lock = VaultLock::new(self.store.lock(id, self.shared.lock_wait)?, id)?;
        if lock.record.is_some() && !replace {
            return Err(Error::invalid(
                "the vault holds a connection by that ID already; ask to replace it to add it \
                 again",
            ));
        }
        // The compare-and-swap save compares with what the lock read.
        lock.lock.load()?;
        lock.fresh = Some(kind);
        let id: Arc<str> = Arc::from(id);
        let engine = Arc::new(self.engine(&id, kind));
        let (grant, host) = start.grant();
        let current = engine.enroll(&mut lock, &grant, host)?;
        drop(lock);
        self.cache.put(id, engine, true);
        Ok(AccessToken(current))
    }

    /// Connection `id`'s access token, valid for at least the floor: from memory (a cached
    /// connection outside the refresh window: a map read, no allocation, no lock), else from
    /// the store or one refresh. An unknown ID is an `UnknownConnection` error.
    pub fn access_token(&self, id: &str) -> Result<AccessToken, Error> {
        if let Some(current) = self.cache.usable(id) {
            return Ok(AccessToken(current));
        }
        self.renew(id).map(AccessToken)
    }

    /// Calls `f` with connection `id`'s access token without taking a reference count on the
    /// token.
    pub fn with_access_token<R>(&self, id: &str, f: impl FnOnce(&str) -> R) -> Result<R, Error> {
        let mut f = Some(f);
        if let Some(Some(r)) = self.cache.with_usable(id, |t| f.take().map(|f| f(t))) {
            return Ok(r);
        }
        let current = self.renew(id)?;
        // `f` is still here: the cached path called it only when it returned.
        f.map(|f| f(current.token.access_token()))
            .ok_or_else(|| Error::store("a bug lost the caller's function"))
    }

    /// Calls `f` with connection `id`'s access token when this process holds it and may hand it
    /// out without waiting (above the floor; a refresh ahead starts in the background inside
    /// the window); `None` — without waiting, locking, reading the store or sending anything —
    /// when [`access_token`](TokenVault::access_token) would (a connection not cached, below
    /// the floor, unknown). For callers whose hot path must never block (a binding holding
    /// Python's GIL, Node's event loop).
    pub fn cached_access_token<R>(&self, id: &str, f: impl FnOnce(&str) -> R) -> Option<R> {
        self.cache.with_usable(id, f)
    }

    /// The token [`cached_access_token`](TokenVault::cached_access_token) would hand out, as a
    /// handle (one reference count); `None` in the same cases.
    pub fn cached_token(&self, id: &str) -> Option<AccessToken> {
        self.cache.usable(id).map(AccessToken)
    }

    /// Connection `id`'s whole token (expiry, geolocation, refresh expiry, …), as
    /// [`access_token`](TokenVault::access_token) hands it out.
    pub fn token(&self, id: &str) -> Result<OAuth2Token, Error> {
        self.access_token(id).map(|t| t.token().clone())
    }

    /// Forgets connection `id`'s access token (say, after an API call answered 401): its next
    /// use refreshes, even when the store still holds that same token as valid.
    pub fn invalidate(&self, id: &str) -> Result<(), Error> {
        let engine = self.engine_for(id)?;
        if engine.current.load().is_some() {
            engine.invalidate();
            return Ok(());
        }
        // Nothing in memory: the token to refuse is the one the store holds.
        let Some(document) = self.store.load(id)? else {
            self.cache.remove(id);
            return Err(unknown_connection());
        };
        let plain = self.shared.sealer.open(&engine.identity, &document)?;
        let stored = StoredToken::from_document(&plain)?;
        if let Some(access) = &stored.access_token {
            *engine
                .invalidated
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Zeroizing::new(access.clone()));
        }
        Ok(())
    }

    /// Removes connection `id` from memory and store (nothing of it left); with `revoke`, first
    /// asks Concur to revoke the connection (`DELETE /app-mgmt/v0/connections` with an access
    /// token of it), and keeps it when that fails — unless Concur refuses the connection
    /// already (a dead one: nothing left to revoke). An unknown ID is an `UnknownConnection`
    /// error.
    pub fn remove(&self, id: &str, revoke: bool) -> Result<(), Error> {
        check_connection_id(id)?;
        if revoke {
            match self.access_token(id) {
                Ok(token) => self
                    .shared
                    .client
                    .revoke_connections(token.as_str(), token.token().geolocation())?,
                // Concur refuses the connection already (108, revoked): nothing to revoke.
                Err(e) if e.kind() == ErrorKind::Unauthorized => {}
                Err(e) => return Err(e),
            }
        }
        let mut lock = self.store.lock(id, self.shared.lock_wait)?;
        let known = lock.record()?.is_some();
        let removed = known && self.store.remove(id)?;
        drop(lock);
        self.cache.remove(id);
        if removed {
            Ok(())
        } else {
            Err(unknown_connection())
        }
    }

    /// Connection `id` as an operator sees it (no secret, no token loaded).
    pub fn connection(&self, id: &str) -> Result<ConnectionInfo, Error> {
        check_connection_id(id)?;
        let record = self.store.record(id)?.ok_or_else(unknown_connection)?;
        Ok(ConnectionInfo::of(record, &self.horizons, unix_now()))
    }

    /// Every connection in ID order, read from the store a page of records at a time (no
    /// token loaded, so 100,000 connections list in little memory).
    pub fn connections(&self) -> Connections<'_> {
        Connections {
            vault: self,
            after: None,
            page: VecDeque::new(),
            done: false,
        }
    }

    /// Up to `limit` connections in ID order, starting after the ID `after`: one page of
    /// [`connections`](TokenVault::connections), for a caller that keeps its own cursor (a
    /// binding's iterator, a paged API). No token is loaded.
    pub fn connection_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ConnectionInfo>, Error> {
        let now = unix_now();
        Ok(self
            .store
            .records(after, limit)?
            .into_iter()
            .map(|record| ConnectionInfo::of(record, &self.horizons, now))
            .collect())
    }

    /// A snapshot of connection `id`'s engine in this process (expiries, failures, the last
    /// error); an unknown ID is an `UnknownConnection` error.
    pub fn status(&self, id: &str) -> Result<ManagerStatus, Error> {
        self.engine_for(id).map(|engine| engine.status())
    }

    /// Refreshes every connection whose refresh token expires within `within` (or whose expiry
    /// is unknown and last refresh is older), `concurrency` at a time (1 to 64), skipping
    /// those another sweeper holds (and the application's own tokens, which have no refresh
    /// token; both counted as fresh): safe on many machines at once, each connection refreshed
    /// once between them. A 108 marks a connection dead (never sent again) and is reported,
    /// not raised; an outage leaves it failing for the next run. An error is returned only when
    /// the store cannot be listed.
    pub fn keep_alive(
        &self,
        within: Duration,
        concurrency: usize,
    ) -> Result<KeepAliveReport, Error> {
        if !(1..=64).contains(&concurrency) {
            return Err(Error::invalid("concurrency must be between 1 and 64"));
        }
        let within = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
        let now = unix_now();
        let report = Mutex::new(KeepAliveReport::default());
        let busy = Mutex::new(Vec::new());
        let mut seen: HashSet<String> = HashSet::new();
        let mut cursor: Option<(i64, String)> = None;
        loop {
            let page = self.store.due(
                now,
                within,
                cursor.as_ref().map(|(key, id)| (*key, id.as_str())),
                PAGE,
            )?;
            let Some(last) = page.last() else {
                break;
            };
            cursor = Some((last.sweep_key(within), last.id.clone()));
            let work: Vec<ConnectionRecord> = page
                .into_iter()
                .filter(|r| seen.insert(r.id.clone()))
                .collect();
            self.sweep_all(
                &work,
                now,
                within,
                concurrency,
                Duration::ZERO,
                &report,
                &busy,
            );
        }
        // A connection whose lock was held when reached may have been held by a caller only
        // reading it: unless another holder refreshed it meanwhile (its record changed), wait
        // for its lock and sweep it now, so that no due connection is left behind.
        let busy = busy.into_inner().unwrap_or_else(PoisonError::into_inner);
        let none = Mutex::new(Vec::new());
        self.sweep_all(&busy, now, within, concurrency, BUSY_WAIT, &report, &none);
        Ok(report.into_inner().unwrap_or_else(PoisonError::into_inner))
    }

    /// Sweeps `work`, `concurrency` at a time, waiting `wait` for each lock; a connection whose
    /// lock stayed held goes to `busy` (when `wait` is zero) or counts as fresh.
    #[allow(clippy::too_many_arguments)]
    fn sweep_all(
        &self,
        work: &[ConnectionRecord],
        now: i64,
        within: i64,
        concurrency: usize,
        wait: Duration,
        report: &Mutex<KeepAliveReport>,
        busy: &Mutex<Vec<ConnectionRecord>>,
    ) {
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..concurrency.min(work.len()) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(record) = work.get(i) else {
                            break;
                        };
                        let swept = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            self.sweep_one(record, now, within, wait)
                        }))
                        .unwrap_or_else(|_| {
                            Swept::Failed(Error::store("a bug interrupted the refresh"))
                        });
                        if matches!(swept, Swept::Busy) && wait.is_zero() {
                            busy.lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(record.clone());
                            continue;
                        }
                        report
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .add(&record.id, swept);
                    }
                });
            }
        });
    }

    /// The sweep of one listed connection: under its lock taken at once (or skipped), the
    /// record read again, refreshed only if still due.
    fn sweep_one(&self, listed: &ConnectionRecord, now: i64, within: i64, wait: Duration) -> Swept {
        let lock = match self.store.lock(&listed.id, wait) {
            Ok(lock) => lock,
            // Another sweeper, or a caller, holds it.
            Err(e) if e.is_lock_busy() => return Swept::Busy,
            // The store fails (unreachable, refusing): a failure for the report, not "fresh".
            Err(e) => return Swept::Failed(e),
        };
        let mut lock = match VaultLock::new(lock, &listed.id) {
            Ok(lock) => lock,
            Err(e) => return Swept::Failed(e),
        };
        let Some(record) = lock.record.clone() else {
            return Swept::Fresh; // removed since it was listed
        };
        // Refreshed by another holder since it was listed (or no longer due): left alone, so
        // that sweepers racing refresh each connection once between them.
        // An application's own token has no refresh token to keep alive.
        if !record.is_due(now, within)
            || record.last_refresh != listed.last_refresh
            || record.refresh_expires_at != listed.refresh_expires_at
            || record.kind == ConnectionKind::App
        {
            return Swept::Fresh;
        }
        let id: Arc<str> = Arc::from(record.id.as_str());
        let engine = match self.cache.get(&id) {
            Some(engine) => engine,
            None => self
                .cache
                .put(id.clone(), Arc::new(self.engine(&id, record.kind)), false),
        };
        let result = engine.sweep(&mut lock);
        drop(lock);
        match result {
            None => Swept::Fresh,
            Some(Ok(_)) => Swept::Refreshed,
            Some(Err(error)) => {
                engine.warn_horizons(
                    record.refresh_expires_at,
                    &self.horizons,
                    Trigger::KeepAlive,
                );
                if error.kind() == ErrorKind::UnknownConnection {
                    self.cache.remove(&id);
                    Swept::Fresh
                } else if RefreshPolicy::classify(&error) == Failure::Permanent {
                    Swept::Dead(error.concur_code())
                } else {
                    Swept::Failed(error)
                }
            }
        }
    }

    /// The slow path of `access_token`: the connection's engine (made from its record when not
    /// cached) refreshes, or takes what another holder stored.
    fn renew(&self, id: &str) -> Result<Arc<Current>, Error> {
        let engine = self.engine_for(id)?;
        match engine.renew() {
            Ok(current) => {
                engine.warn_horizons(
                    current.token.refresh_expires_at(),
                    &self.horizons,
                    Trigger::Expired,
                );
                Ok(current)
            }
            Err(error) => {
                if error.kind() == ErrorKind::UnknownConnection {
                    self.cache.remove(id);
                }
                Err(error)
            }
        }
    }

    /// Connection `id`'s engine: cached, or made from its record.
    fn engine_for(&self, id: &str) -> Result<Arc<Engine>, Error> {
        if let Some(engine) = self.cache.get(id) {
            return Ok(engine);
        }
        check_connection_id(id)?;
        let record = self.store.record(id)?.ok_or_else(unknown_connection)?;
        let id: Arc<str> = Arc::from(id);
        let engine = Arc::new(self.engine(&id, record.kind));
        Ok(self.cache.put(id, engine, false))
    }

    /// A new engine for connection `id` of kind `kind`.
    fn engine(&self, id: &Arc<str>, kind: ConnectionKind) -> Engine {
        // An application's token has no refresh token: it is obtained again when it expires.
        let start = (kind == ConnectionKind::App).then_some(Start::ClientCredentials);
        Engine::new(
            Arc::clone(&self.shared),
            start,
            Box::new(VaultSlot {
                store: Arc::clone(&self.store),
                id: Arc::clone(id),
            }),
            self.store.identity(id),
            Some(Arc::clone(id)),
        )
    }
}

impl TokenVault {
    /// Waits until no refresh ahead of this vault's cached connections runs, at most
    /// `timeout`; whether none runs. Dropping the vault waits without a limit; a binding whose
    /// objects are freed from a caller's thread (C's `concur_token_vault_free`) bounds it.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        self.cache.shards.iter().all(|shard| {
            let engines: Vec<Arc<Engine>> = shard
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .map(|e| Arc::clone(&e.engine))
                .collect();
            engines.iter().all(|engine| {
                engine.wait_idle(Some(
                    deadline.saturating_duration_since(std::time::Instant::now()),
                ))
            })
        })
    }
}

impl Drop for TokenVault {
    /// Waits for the refreshes ahead of its cached connections still running on the library's
    /// threads: a process that exits in the middle of one may lose the refresh token Concur
    /// just rotated. (Connections forgotten by the cache are waited for by
    /// [`wait_for_refreshes`](super::wait_for_refreshes).)
    fn drop(&mut self) {
        for shard in &self.cache.shards {
            let engines: Vec<Arc<Engine>> = shard
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .map(|e| Arc::clone(&e.engine))
                .collect();
            for engine in engines {
                engine.wait_idle(None);
            }
        }
    }
}

/// The connections of a vault, a page of records at a time: see [`TokenVault::connections`].
/// Each item is a `Result`: a store that fails mid-way yields its error, then ends.
pub struct Connections<'a> {
    vault: &'a TokenVault,
    after: Option<String>,
    page: VecDeque<ConnectionRecord>,
    done: bool,
}

impl Iterator for Connections<'_> {
    type Item = Result<ConnectionInfo, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty() && !self.done {
            match self.vault.store.records(self.after.as_deref(), PAGE) {
                Ok(page) => {
                    self.done = page.len() < PAGE;
                    self.after = page.last().map(|r| r.id.clone());
                    self.page = page.into();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let record = self.page.pop_front()?;
        Some(Ok(ConnectionInfo::of(
            record,
            &self.vault.horizons,
            unix_now(),
        )))
    }
}

/// Opens a keyed store by URL: `memory:` (this process only), `sqlite:///path`,
/// `redis://…`/`rediss://…`, `postgres://…`/`postgresql://…` (each behind the cargo feature of
/// its name; without it, `NotBuiltIn`). A URL that does not parse is `InvalidArgument` (its
/// text is not quoted: it may hold a password).
pub fn open_store(url: &str) -> Result<Arc<dyn KeyedStore>, Error> {
    if url == "memory:" {
        return Ok(Arc::new(MemoryKeyedStore::new()));
    }
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") => open_sqlite(url),
        Some("redis" | "rediss") => open_redis(url),
        Some("postgres" | "postgresql") => open_postgres(url),
        _ => Err(Error::invalid(
            "the store URL is not memory:, sqlite:///path, redis://, rediss://, postgres:// or \
             postgresql://",
        )),
    }
}

#[cfg(feature = "sqlite")]
fn open_sqlite(url: &str) -> Result<Arc<dyn KeyedStore>, Error> {
    Ok(Arc::new(super::sqlite::SqliteStore::open(url)?))
}

#[cfg(not(feature = "sqlite"))]
fn open_sqlite(_: &str) -> Result<Arc<dyn KeyedStore>, Error> {
    Err(Error::not_built_in("sqlite", "a sqlite:// store"))
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<Arc<dyn KeyedStore>, Error> {
    Ok(Arc::new(super::postgres::PostgresStore::open(url)?))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_: &str) -> Result<Arc<dyn KeyedStore>, Error> {
    Err(Error::not_built_in("postgres", "a postgres:// store"))
}

#[cfg(feature = "redis")]
fn open_redis(url: &str) -> Result<Arc<dyn KeyedStore>, Error> {
    Ok(Arc::new(super::redis_keyed::RedisKeyedStore::open(url)?))
}

#[cfg(not(feature = "redis"))]
fn open_redis(_: &str) -> Result<Arc<dyn KeyedStore>, Error> {
    Err(Error::not_built_in("redis", "a redis:// store"))
}

/// A vault connection's slot: its ID in the keyed store.
struct VaultSlot {
    store: Arc<dyn KeyedStore>,
    id: Arc<str>,
}

impl Slot for VaultSlot {
    fn lock(&self, wait: Duration) -> Result<Box<dyn SlotLock + '_>, Error> {
        Ok(Box::new(VaultLock::new(
            self.store.lock(&self.id, wait)?,
            &self.id,
        )?))
    }
}

/// A connection's lock with its record, read under it: saves write the record from the token,
/// failures write the record's health.
struct VaultLock<'a> {
    lock: Box<dyn KeyedLock + 'a>,
    record: Option<ConnectionRecord>,
    /// Adding (or replacing) a connection of this kind: its record starts afresh.
    fresh: Option<ConnectionKind>,
    /// The connection's ID, for a fresh record.
    id: String,
}

impl<'a> VaultLock<'a> {
    fn new(mut lock: Box<dyn KeyedLock + 'a>, id: &str) -> Result<VaultLock<'a>, Error> {
        let record = lock.record()?;
        Ok(VaultLock {
            id: id.to_string(),
            lock,
            record,
            fresh: None,
        })
    }
}

impl SlotLock for VaultLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        self.lock.load()
    }

    fn verdict(&mut self) -> Result<Option<Error>, Error> {
        Ok(self
            .record
            .as_ref()
            .filter(|r| r.state == ConnectionState::Dead)
            .map(|r| {
                Error::new(
                    ErrorKind::Unauthorized,
                    "Concur refused this connection's refresh token earlier; it is not sent \
                     again (add the connection again)",
                )
                .with_oauth2_error(r.concur_code, None, None, None)
            }))
    }

    fn save(&mut self, document: &[u8], token: &OAuth2Token) -> Result<(), Error> {
        let now = unix_now();
        let record = match (self.fresh, &self.record) {
            (Some(kind), _) => ConnectionRecord {
                id: self.id.clone(),
                kind,
                subject: token.subject().map(str::to_string),
                geolocation: token.geolocation().map(str::to_string),
                expires_at: token.expires_at(),
                refresh_expires_at: token.refresh_expires_at(),
                last_refresh: Some(now),
                state: ConnectionState::Active,
                concur_code: None,
                failures: 0,
                added_at: now,
            },
            (None, Some(old)) => ConnectionRecord {
                subject: token
                    .subject()
                    .map(str::to_string)
                    .or_else(|| old.subject.clone()),
                geolocation: token
                    .geolocation()
                    .map(str::to_string)
                    .or_else(|| old.geolocation.clone()),
                expires_at: token.expires_at(),
                refresh_expires_at: token.refresh_expires_at(),
                last_refresh: Some(now),
                state: ConnectionState::Active,
                concur_code: None,
                failures: 0,
                ..old.clone()
            },
            // Removed by another holder while this one was refreshing.
            (None, None) => return Err(unknown_connection()),
        };
        self.lock.save(Some(document), &record)?;
        self.record = Some(record);
        self.fresh = None;
        Ok(())
    }

    fn failed(&mut self, error: &Error) -> Result<(), Error> {
        if self.fresh.is_some() {
            return Ok(()); // an add that failed stores nothing
        }
        let Some(record) = &mut self.record else {
            return Ok(());
        };
        record.failures = record.failures.saturating_add(1);
        match RefreshPolicy::classify(error) {
            Failure::Permanent => {
                record.state = ConnectionState::Dead;
                record.concur_code = error.concur_code();
            }
            Failure::Transient => record.state = ConnectionState::Failing,
        }
        let record = record.clone();
        self.lock.save(None, &record)
    }
}

/// The bounded cache of connection engines: shards of a hash map under a read-write lock
/// each, every entry stamped with the clock of its last use; a shard over its share of the
/// capacity forgets its least recently used entry.
struct Cache {
    shards: Box<[Shard]>,
    per_shard: usize,
    capacity: usize,
    clock: AtomicU64,
}

/// One shard of the cache.
type Shard = RwLock<HashMap<Arc<str>, Entry>>;

struct Entry {
    engine: Arc<Engine>,
    used: AtomicU64,
}

/// At most this many shards.
const SHARDS: usize = 16;

/// Connections per shard below which the cache has fewer shards (one below 2,048): IDs spread
/// unevenly, and a shard of a few entries would forget one on almost every call.
const PER_SHARD: usize = 1024;

impl Cache {
    fn new(capacity: usize) -> Cache {
        let shards = (capacity / PER_SHARD).clamp(1, SHARDS);
        let share = capacity.div_ceil(shards);
        Cache {
            shards: (0..shards).map(|_| RwLock::new(HashMap::new())).collect(),
            // One shard holds exactly the capacity; several hold an eighth more than their
            // share each, so that IDs spread unevenly still fit (at most 12.5 % over in all).
            per_shard: if shards == 1 {
                share
            } else {
                share + share / 8
            },
            capacity,
            clock: AtomicU64::new(0),
        }
    }

    fn shard(&self, id: &str) -> &Shard {
        // FNV-1a: cheap, and only spreads IDs over the shards.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in id.as_bytes() {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        &self.shards[(hash % self.shards.len() as u64) as usize]
    }

    fn touch(&self, entry: &Entry) {
        let now = self.clock.load(Ordering::Relaxed);
        if entry.used.load(Ordering::Relaxed) != now {
            entry.used.store(now, Ordering::Relaxed);
        }
    }

    /// The cached token of connection `id` when it may be handed out without waiting.
    fn usable(&self, id: &str) -> Option<Arc<Current>> {
        let shard = self
            .shard(id)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = shard.get(id)?;
        self.touch(entry);
        entry.engine.usable()
    }

    /// Calls `f` with connection `id`'s cached access token when it may be handed out without
    /// waiting, without a reference count (the engine's token is borrowed for the call).
    fn with_usable<R>(&self, id: &str, f: impl FnOnce(&str) -> R) -> Option<R> {
        let shard = self
            .shard(id)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = shard.get(id)?;
        self.touch(entry);
        let guard = entry.engine.current.load();
        let current = guard.as_ref()?;
        entry
            .engine
            .serves(current)
            .then(|| f(current.token.access_token()))
    }

    fn get(&self, id: &str) -> Option<Arc<Engine>> {
        let shard = self
            .shard(id)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = shard.get(id)?;
        self.touch(entry);
        Some(Arc::clone(&entry.engine))
    }

    /// Caches `engine` for `id` (replacing one cached when `replace`, else keeping it and
    /// returning it); forgets the least recently used entry of a full shard.
    fn put(&self, id: Arc<str>, engine: Arc<Engine>, replace: bool) -> Arc<Engine> {
        let stamp = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
        let mut shard = self
            .shard(&id)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if !replace && let Some(entry) = shard.get(&id) {
            return Arc::clone(&entry.engine);
        }
        shard.insert(
            Arc::clone(&id),
            Entry {
                engine: Arc::clone(&engine),
                used: AtomicU64::new(stamp),
            },
        );
        while shard.len() > self.per_shard {
            let oldest = shard
                .iter()
                .filter(|(key, _)| **key != id)
                .min_by_key(|(_, e)| e.used.load(Ordering::Relaxed))
                .map(|(key, _)| Arc::clone(key));
            match oldest {
                Some(key) => {
                    shard.remove(&key);
                }
                None => break,
            }
        }
        engine
    }

    fn remove(&self, id: &str) {
        self.shard(id)
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_vault_is_send_and_sync() {
        assert_send_sync::<TokenVault>();
    }

    #[test]
    fn store_urls_are_dispatched_and_checked() {
        assert!(open_store("memory:").is_ok());
        for bad in ["", "memory", "ftp://x", "sqlite:/x", "user:secret@host"] {
            let e = open_store(bad).err().unwrap();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
            assert!(!e.to_string().contains("secret"));
        }
        #[cfg(not(feature = "sqlite"))]
        assert_eq!(
            open_store("sqlite:///tmp/x.db").err().unwrap().kind(),
            ErrorKind::NotBuiltIn
        );
        #[cfg(not(feature = "postgres"))]
        assert_eq!(
            open_store("postgres://u:p@localhost/db")
                .err()
                .unwrap()
                .kind(),
            ErrorKind::NotBuiltIn
        );
    }

    #[test]
    fn horizons_pick_the_smallest_crossed() {
        let record = |rx: Option<i64>, state| ConnectionRecord {
            id: "a".into(),
            kind: ConnectionKind::User,
            subject: None,
            geolocation: None,
            expires_at: None,
            refresh_expires_at: rx,
            last_refresh: None,
            state,
            concur_code: None,
            failures: 0,
            added_at: 0,
        };
        let h = DEFAULT_HORIZONS;
        let day = 86_400;
        let info = ConnectionInfo::of(record(Some(40 * day), ConnectionState::Active), &h, 0);
        assert_eq!((info.horizon, info.state_name()), (None, "active"));
        let info = ConnectionInfo::of(record(Some(20 * day), ConnectionState::Active), &h, 0);
        assert_eq!(info.horizon, Some(h[0]));
        assert_eq!(info.state_name(), "expiring");
        let info = ConnectionInfo::of(record(Some(3 * day), ConnectionState::Failing), &h, 0);
        assert_eq!(info.horizon, Some(h[1]));
        let info = ConnectionInfo::of(record(Some(3 * day), ConnectionState::Dead), &h, 0);
        assert_eq!((info.horizon, info.state_name()), (None, "dead"));
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = Cache::new(10);
        let client = Arc::new(Client::new(&crate::Options::new()).unwrap());
        let store: Arc<dyn KeyedStore> = Arc::new(MemoryKeyedStore::new());
        let vault = TokenVault::new(client, "id", "secret", store).unwrap();
        for i in 0..50 {
            let id: Arc<str> = Arc::from(format!("c{i}").as_str());
            cache.put(
                id.clone(),
                Arc::new(vault.engine(&id, ConnectionKind::User)),
                false,
            );
            assert!(cache.get(&id).is_some(), "the entry just put is kept");
        }
        assert!(cache.len() <= 10, "{}", cache.len());
    }

    #[test]
    fn a_cache_holds_its_capacity_however_ids_spread() {
        let client = Arc::new(Client::new(&crate::Options::new()).unwrap());
        let store: Arc<dyn KeyedStore> = Arc::new(MemoryKeyedStore::new());
        let vault = TokenVault::new(client, "id", "secret", store).unwrap();
        for capacity in [10, 2_047, 20_000] {
            let cache = Cache::new(capacity);
            let ids: Vec<Arc<str>> = (0..capacity)
                .map(|i| Arc::from(format!("company-{i:06}").as_str()))
                .collect();
            for id in &ids {
                cache.put(
                    id.clone(),
                    Arc::new(vault.engine(id, ConnectionKind::User)),
                    false,
                );
            }
            // Every one of `capacity` connections is still cached: none was forgotten.
            assert!(ids.iter().all(|id| cache.get(id).is_some()), "{capacity}");
            assert_eq!(cache.len(), capacity);
            for i in 0..capacity {
                let id: Arc<str> = Arc::from(format!("more-{i:06}").as_str());
                cache.put(
                    id.clone(),
                    Arc::new(vault.engine(&id, ConnectionKind::User)),
                    false,
                );
            }
            assert!(
                cache.len() <= capacity + capacity / 8 + SHARDS,
                "{}",
                cache.len()
            );
        }
    }
}
