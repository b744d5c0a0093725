//! The token vault: many connections (companies, users, the application itself), each kept
//! by the same engine as a [`TokenManager`](super::TokenManager) keeps its one token, over a
//! [`KeyedStore`] shared by threads, processes and machines.

use std::sync::Arc;
use std::time::Duration;

use crate::client::Client;
use crate::error::{Error, ErrorKind};

use super::events::{Observer, RefreshEvent};
use super::keyed::{ConnectionKind, ConnectionRecord, ConnectionState, KeyedStore};
use super::policy::RefreshPolicy;
use super::seal::Sealer;
use super::{AccessToken, ManagerStatus};
use crate::oauth2::OAuth2Token;

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
        todo!()
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
    /// Not refreshed because they no longer needed it: another sweeper held or had just
    /// refreshed them.
    pub fresh: u64,
    /// Connections Concur refused (or found dead already): their ID and Concur's code.
    pub dead: Vec<(String, Option<i64>)>,
    /// Connections whose refresh failed for now (an outage): left for the next run.
    pub failed: Vec<KeepAliveFailure>,
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

/// Keeps many Concur connections alive: the [`TokenManager`](super::TokenManager)'s
/// guarantees per connection (one refresh per connection across threads, processes and
/// machines sharing the store; refresh ahead; stale if error; the rotated refresh token saved
/// before use; Concur's 108 never re-sent), a bounded in-memory cache of connections, listing
/// without loading tokens, and a sweep ([`keep_alive`](TokenVault::keep_alive)) that keeps
/// refresh tokens from dying unused. `Send + Sync`: share it in an `Arc`.
pub struct TokenVault {
    _private: (),
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
        let _ = (client, client_id, client_secret, store);
        todo!()
    }

    /// Refreshes ahead inside the policy's window, and hands out nothing valid for less than
    /// its floor.
    pub fn with_policy(self, policy: RefreshPolicy) -> TokenVault {
        let _ = policy;
        todo!()
    }

    /// Refreshes ahead this long before expiry (see `TokenManager::with_margin`).
    pub fn with_margin(self, margin: Duration) -> TokenVault {
        let _ = margin;
        todo!()
    }

    /// Seals every connection's document with the sealer's first key (AES-256-GCM, bound to
    /// the store's identity of that connection), and opens documents under any of its keys.
    pub fn with_sealer(self, sealer: Sealer) -> TokenVault {
        let _ = sealer;
        todo!()
    }

    /// Calls `observer` with every refresh attempt and horizon warning (events carry the
    /// connection's ID).
    pub fn on_event(self, observer: impl Fn(&RefreshEvent) + Send + Sync + 'static) -> TokenVault {
        self.with_observer(Arc::new(observer))
    }

    /// Calls `observer` with every event, given as an [`Observer`].
    pub fn with_observer(self, observer: Observer) -> TokenVault {
        let _ = observer;
        todo!()
    }

    /// Waits this long at most for a connection's lock (default 60 s).
    pub fn with_lock_wait(self, wait: Duration) -> TokenVault {
        let _ = wait;
        todo!()
    }

    /// Keeps at most `capacity` connections in memory (at least 1; default
    /// [`DEFAULT_CACHE_CAPACITY`]), the least recently used forgotten first (they are read
    /// from the store again when used).
    pub fn with_cache_capacity(self, capacity: usize) -> TokenVault {
        let _ = capacity;
        todo!()
    }

    /// Warns (an [`Outcome::Expiring`](super::Outcome::Expiring) event) when a connection's
    /// refresh token comes within each of `horizons` of its expiry without having been
    /// renewed (default [`DEFAULT_HORIZONS`]: 30 and 7 days).
    pub fn with_horizons(self, horizons: impl IntoIterator<Item = Duration>) -> TokenVault {
        let _ = horizons.into_iter();
        todo!()
    }

    /// The refresh policy in force.
    pub fn policy(&self) -> RefreshPolicy {
        todo!()
    }

    /// The store the vault keeps its connections in.
    pub fn store(&self) -> &Arc<dyn KeyedStore> {
        todo!()
    }

    /// Adds connection `id` by running `start`'s grant (a refresh token is refreshed once),
    /// under the connection's lock, saving its document and record before returning its access
    /// token. An ID already present is an `InvalidArgument` error unless `replace`.
    pub fn add(&self, id: &str, start: VaultStart, replace: bool) -> Result<AccessToken, Error> {
        let _ = (id, start, replace);
        todo!()
    }

    /// Connection `id`'s access token, valid for at least the floor: from memory (a cached
    /// connection outside the refresh window: a map read, no allocation, no lock), else from
    /// the store or one refresh. An unknown ID is an `UnknownConnection` error.
    pub fn access_token(&self, id: &str) -> Result<AccessToken, Error> {
        let _ = id;
        todo!()
    }

    /// Calls `f` with connection `id`'s access token without taking a reference count.
    pub fn with_access_token<R>(&self, id: &str, f: impl FnOnce(&str) -> R) -> Result<R, Error> {
        let _ = (id, f);
        todo!()
    }

    /// Connection `id`'s whole token (expiry, geolocation, refresh expiry, …), as
    /// [`access_token`](TokenVault::access_token) hands it out.
    pub fn token(&self, id: &str) -> Result<OAuth2Token, Error> {
        let _ = id;
        todo!()
    }

    /// Forgets connection `id`'s access token (say, after an API call answered 401): its next
    /// use refreshes.
    pub fn invalidate(&self, id: &str) -> Result<(), Error> {
        let _ = id;
        todo!()
    }

    /// Removes connection `id` from memory and store (nothing of it left); with `revoke`, first
    /// asks Concur to revoke the connection (with an access token of it), and keeps it when
    /// that fails. An unknown ID is an `UnknownConnection` error.
    pub fn remove(&self, id: &str, revoke: bool) -> Result<(), Error> {
        let _ = (id, revoke);
        todo!()
    }

    /// Connection `id` as an operator sees it (no secret, no token loaded).
    pub fn connection(&self, id: &str) -> Result<ConnectionInfo, Error> {
        let _ = id;
        todo!()
    }

    /// Every connection in ID order, read from the store a page at a time (no token loaded).
    pub fn connections(&self) -> Connections<'_> {
        todo!()
    }

    /// A snapshot of connection `id`'s engine in this process (expiries, failures, the last
    /// error); an unknown ID is an `UnknownConnection` error.
    pub fn status(&self, id: &str) -> Result<ManagerStatus, Error> {
        let _ = id;
        todo!()
    }

    /// Refreshes every connection whose refresh token expires within `within` (or whose expiry
    /// is unknown and last refresh is older), `concurrency` at a time, skipping those another
    /// sweeper holds: safe on many machines at once. A 108 marks a connection dead; an outage
    /// leaves it failing for the next run.
    pub fn keep_alive(
        &self,
        within: Duration,
        concurrency: usize,
    ) -> Result<KeepAliveReport, Error> {
        let _ = (within, concurrency);
        todo!()
    }
}

/// The connections of a vault, a page of records at a time: see [`TokenVault::connections`].
/// Each item is a `Result`: a store that fails mid-way yields its error, then ends.
pub struct Connections<'a> {
    _vault: &'a TokenVault,
}

impl Iterator for Connections<'_> {
    type Item = Result<ConnectionInfo, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        todo!()
    }
}

/// Opens a keyed store by URL: `memory:` (this process only), `sqlite:///path`,
/// `redis://…`/`rediss://…`, `postgres://…`/`postgresql://…` (each behind the cargo feature of
/// its name; without it, `NotBuiltIn`). A URL that does not parse is `InvalidArgument`.
pub fn open_store(url: &str) -> Result<Arc<dyn KeyedStore>, Error> {
    let _ = url;
    todo!()
}

impl From<&ConnectionRecord> for ConnectionInfo {
    fn from(record: &ConnectionRecord) -> ConnectionInfo {
        let _ = record;
        todo!()
    }
}
