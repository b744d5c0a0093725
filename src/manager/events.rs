//! What a token keeper tells its operators: one [`RefreshEvent`] per refresh attempt (to an
//! observer callback, and as `log` records under `concur_native::manager`), and a
//! [`ManagerStatus`] snapshot on demand. Neither ever holds a secret: no token, no password,
//! no key — expiries, kinds, codes and correlation ids only.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorKind};

/// The `log` target of the records a manager writes.
pub const LOG_TARGET: &str = "concur_native::manager";

/// How a refresh attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Refreshed here: a new token was obtained from Concur and saved.
    Refreshed,
    /// Taken from the store: another holder had refreshed already.
    FromStore,
    /// Failed, and will be tried again (see [`RefreshEvent::retry_at`]).
    Failed,
    /// Failed with Concur's verdict (a bad or expired refresh token, a revoked connection, an
    /// unknown client): never tried again with these credentials.
    Dead,
    /// Not an attempt: a warning that the connection's refresh token has come within one of
    /// the vault's horizons of its expiry without having been renewed (see
    /// [`RefreshEvent::horizon`]). Told once per horizon per refresh token, by the sweep
    /// that could not renew it (trigger `KeepAlive`) or by the caller whose access read it
    /// (trigger `Expired`).
    Expiring,
}

impl Outcome {
    /// A stable lower-case name: `"refreshed"`, `"from_store"`, `"failed"`, `"dead"`,
    /// `"expiring"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Refreshed => "refreshed",
            Outcome::FromStore => "from_store",
            Outcome::Failed => "failed",
            Outcome::Dead => "dead",
            Outcome::Expiring => "expiring",
        }
    }
}

/// Why a refresh was attempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Trigger {
    /// No token yet (the first call, or the store was empty).
    Absent,
    /// Inside the refresh window: refreshed ahead on the library's thread while callers kept
    /// the current token.
    Ahead,
    /// Below the floor (or expired): a caller waited for it.
    Expired,
    /// The caller invalidated the token (`invalidate()`).
    Invalidated,
    /// A vault's sweep (`keep_alive`) renewed a refresh token nearing its expiry.
    KeepAlive,
}

impl Trigger {
    /// A stable lower-case name: `"absent"`, `"ahead"`, `"expired"`, `"invalidated"`,
    /// `"keep_alive"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Absent => "absent",
            Trigger::Ahead => "ahead",
            Trigger::Expired => "expired",
            Trigger::Invalidated => "invalidated",
            Trigger::KeepAlive => "keep_alive",
        }
    }
}

/// One refresh attempt, as operators see it. Holds no secret.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RefreshEvent {
    /// How it ended.
    pub outcome: Outcome,
    /// Why it was attempted.
    pub trigger: Trigger,
    /// The OAuth grant sent (`"refresh_token"`, `"password"`, `"client_credentials"`), or
    /// `None` when nothing was sent (taken from the store, or the store failed first).
    pub grant: Option<&'static str>,
    /// How long the attempt took, store included.
    pub duration: Duration,
    /// When the attempt ended.
    pub at: SystemTime,
    /// The new access token's expiry (Unix seconds), on success.
    pub expires_at: Option<i64>,
    /// The new refresh token's expiry (Unix seconds), on success when Concur said it.
    pub refresh_expires_at: Option<i64>,
    /// The error, on failure: its kind, Concur code, HTTP status and correlation id (never a
    /// secret; see [`Error`]).
    pub error: Option<Error>,
    /// Failures in a row, this one included (0 on success).
    pub failures: u32,
    /// When the next attempt may start, for a failure that is tried again.
    pub retry_at: Option<SystemTime>,
    /// The connection this event is about, when the keeper holds several (a vault).
    pub connection: Option<Arc<str>>,
    /// For an [`Outcome::Expiring`] warning: the horizon crossed (30 or 7 days by default).
    pub horizon: Option<Duration>,
}

impl RefreshEvent {
    /// The error's kind, on failure.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.error.as_ref().map(Error::kind)
    }
}

impl fmt::Display for RefreshEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token refresh {}", self.outcome.as_str())?;
        if let Some(c) = &self.connection {
            write!(f, " for connection {c}")?;
        }
        write!(
            f,
            " ({}, {} ms",
            self.trigger.as_str(),
            self.duration.as_millis()
        )?;
        if let Some(g) = self.grant {
            write!(f, ", grant {g}")?;
        }
        if let Some(e) = self.expires_at {
            write!(f, ", expires at {e}")?;
        }
        f.write_str(")")?;
        if let Some(e) = &self.error {
            write!(f, ": {e}")?;
            if let Some(c) = e.correlation_id() {
                write!(f, " [correlation id {c}]")?;
            }
            write!(f, "; {} failure(s) in a row", self.failures)?;
            if let Some(at) = self.retry_at {
                let wait = at.duration_since(self.at).unwrap_or_default();
                write!(f, "; next attempt in {} ms", wait.as_millis())?;
            }
        }
        Ok(())
    }
}

/// The callback a keeper calls with each [`RefreshEvent`], on the thread that made the attempt.
/// A callback that panics is logged and ignored: it never breaks or stalls a refresh. Keep it
/// short (hand the event to a queue): the refresh waits for it.
pub type Observer = Arc<dyn Fn(&RefreshEvent) + Send + Sync>;

/// Where a keeper's token stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Nothing has gone wrong since the last refresh.
    Active,
    /// The last attempts failed and are being tried again.
    Failing,
    /// Concur refused the credentials: nothing more is sent until they change.
    Dead,
}

impl State {
    /// A stable lower-case name: `"active"`, `"failing"`, `"dead"`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Failing => "failing",
            State::Dead => "dead",
        }
    }
}

/// A snapshot of a keeper, for operators. Holds no secret.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ManagerStatus {
    /// Where it stands.
    pub state: State,
    /// The access token's expiry (Unix seconds), when a token is held.
    pub expires_at: Option<i64>,
    /// The refresh token's expiry (Unix seconds), when known.
    pub refresh_expires_at: Option<i64>,
    /// When the last successful refresh (or read from the store) ended.
    pub last_refresh: Option<SystemTime>,
    /// The last failure, until a refresh succeeds.
    pub last_error: Option<Error>,
    /// Failures in a row.
    pub failures: u32,
    /// When the next attempt may start, while failing.
    pub next_attempt: Option<SystemTime>,
    /// Refreshes that obtained a new token here, since the keeper was made.
    pub refresh_count: u64,
    /// Whether a refresh is running now.
    pub refreshing: bool,
}

/// Hands `event` to the observer and to `log`; a panicking observer is logged and ignored.
pub(crate) fn emit(observer: Option<&Observer>, event: &RefreshEvent) {
    match event.outcome {
        Outcome::Refreshed | Outcome::FromStore => {
            log::info!(target: LOG_TARGET, "{event}");
        }
        Outcome::Failed | Outcome::Dead | Outcome::Expiring => {
            log::warn!(target: LOG_TARGET, "{event}");
        }
    }
    if let Some(observer) = observer {
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| observer(event)));
        if called.is_err() {
            log::warn!(
                target: LOG_TARGET,
                "the refresh event callback panicked; the event was dropped"
            );
        }
    }
}
