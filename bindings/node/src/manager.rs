//! The token manager in the addon: one core `TokenManager` per JS `TokenManager`, its
//! (possibly blocking) `access_token()` run on the addon's threads. The caching, the single
//! shared refresh, the refresh policy, the sealing and the stores are the core's.
//!
//! Refresh events reach JS through a thread-safe function called in non-blocking mode (the
//! refreshing thread never waits for JS) and unreferenced (it keeps no process alive).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use concur_native::Error;
use concur_native::manager::{
    DEFAULT_WINDOW, FileStore, ManagerStatus, RedisStore, RefreshEvent, RefreshPolicy, Sealer,
    Start, StoreKey, TokenManager,
};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use zeroize::Zeroizing;

use crate::{RawClient, RawError, RawOutcome, Value, guard, spawn_call};

/// A `TokenManager`'s options, already type-checked by `lib/index.js`. `start` names where it
/// starts when its store holds nothing: `refreshToken`, `password`, `company` or
/// `clientCredentials`, with that start's fields set.
#[napi(object, object_to_js = false)]
pub struct RawManagerOptions {
    /// The application's client ID.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
    /// Where to start.
    pub start: String,
    /// `refreshToken` start: the stored refresh token.
    pub refresh_token: Option<String>,
    /// `refreshToken` start: its data centre.
    pub geolocation: Option<String>,
    /// `password` start: the user's login name.
    pub username: Option<String>,
    /// `password` start: the user's password.
    pub password: Option<String>,
    /// `company` start: the company's UUID.
    pub company_id: Option<String>,
    /// `company` start: App Center's request token.
    pub request_token: Option<String>,
    /// A file path, or a `redis://` URL.
    pub store: Option<String>,
    /// The key of a Redis store.
    pub redis_key: Option<String>,
    /// Refresh this many seconds before expiry.
    pub margin_seconds: Option<f64>,
    /// Hand out no token valid for fewer seconds than this (below the margin).
    pub floor_seconds: Option<f64>,
    /// The keys sealing the store: the first seals, all open.
    pub store_keys: Option<Vec<RawStoreKey>>,
    /// Refuse plain-text stored documents (needs store keys).
    pub require_sealed: Option<bool>,
}

/// One store key as given: 32 raw bytes, or base64 text of 32 bytes.
#[napi(object, object_to_js = false)]
pub struct RawStoreKey {
    /// The raw bytes (a Buffer or Uint8Array).
    pub bytes: Option<Uint8Array>,
    /// Base64 text (standard or URL-safe, padded or not).
    pub base64: Option<String>,
}

/// A number of seconds as a duration; `name` names the option in the error.
fn seconds(name: &str, value: f64) -> std::result::Result<Duration, Error> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        Error::invalid_argument(format!("{name} must be a non-negative number of seconds"))
    })
}

/// The sealer the options ask for; its errors name `storeKey` and never quote a key.
pub(crate) fn sealer(
    keys: Option<Vec<RawStoreKey>>,
    require_sealed: bool,
) -> std::result::Result<Option<Sealer>, Error> {
    let Some(keys) = keys else {
        if require_sealed {
            return Err(Error::invalid_argument("requireSealed needs a storeKey"));
        }
        return Ok(None);
    };
    let many = keys.len() > 1;
    let keys = keys
        .into_iter()
        .enumerate()
        .map(|(i, key)| {
            let name = if many {
                format!("storeKey[{i}]")
            } else {
                "storeKey".to_string()
            };
            let base64 = key.base64.map(Zeroizing::new);
            let parsed = match (&key.bytes, &base64) {
                (Some(bytes), None) => StoreKey::from_bytes(bytes),
                (None, Some(text)) => StoreKey::from_base64(text),
                _ => Err(Error::invalid_argument("a key is bytes or base64 text")),
            };
            parsed.map_err(|e| Error::invalid_argument(format!("{name}: {}", e.detail())))
        })
        .collect::<std::result::Result<Vec<_>, Error>>()?;
    let sealer = Sealer::new(keys)
        .map_err(|e| Error::invalid_argument(format!("storeKey: {}", e.detail())))?;
    Ok(Some(sealer.require_sealed(require_sealed)))
}

/// Moves a wiped-on-drop string out of its buffer (no copy is made).
fn take(value: &mut Option<Zeroizing<String>>, name: &str) -> std::result::Result<String, Error> {
    value
        .as_mut()
        .map(|v| std::mem::take(&mut **v))
        .ok_or_else(|| Error::invalid_argument(format!("{name} is missing")))
}

fn build(client: &RawClient, o: RawManagerOptions) -> std::result::Result<TokenManager, Error> {
    let client = client
        .inner
        .clone()
        .ok_or_else(|| Error::invalid_argument("the client was not created"))?;
    let client_secret = Zeroizing::new(o.client_secret);
    let mut refresh_token = o.refresh_token.map(Zeroizing::new);
    let mut password = o.password.map(Zeroizing::new);
    let mut request_token = o.request_token.map(Zeroizing::new);
    let store = o.store.map(Zeroizing::new);
    let start = match o.start.as_str() {
        "refreshToken" => Start::RefreshToken {
            refresh_token: take(&mut refresh_token, "refreshToken")?,
            geolocation: o.geolocation,
        },
        "password" => Start::Password {
            username: o
                .username
                .ok_or_else(|| Error::invalid_argument("username is missing"))?,
            password: take(&mut password, "password")?,
        },
        "company" => Start::Company {
            company_id: o
                .company_id
                .ok_or_else(|| Error::invalid_argument("companyId is missing"))?,
            request_token: take(&mut request_token, "requestToken")?,
        },
        "clientCredentials" => Start::ClientCredentials,
        _ => return Err(Error::invalid_argument("unknown grant")),
    };
    let margin = o.margin_seconds.map(|s| seconds("margin", s)).transpose()?;
    let floor = o.floor_seconds.map(|s| seconds("floor", s)).transpose()?;
    let sealer = sealer(o.store_keys, o.require_sealed.unwrap_or(false))?;
    let mut manager = TokenManager::new(client, &o.client_id, &client_secret, start)?;
    match (margin, floor) {
        // A floor sets both thresholds, checked by the core (below the margin, at most a day).
        (margin, Some(floor)) => {
            let policy = RefreshPolicy::new(margin.unwrap_or(DEFAULT_WINDOW), floor)?;
            manager = manager.with_policy(policy);
        }
        // A margin alone means what it always did.
        (Some(margin), None) => manager = manager.with_margin(margin),
        (None, None) => {}
    }
    if let Some(sealer) = sealer {
        manager = manager.with_sealer(sealer);
    }
    let redis = store
        .as_deref()
        .is_some_and(|s| s.starts_with("redis://") || s.starts_with("rediss://"));
    match (store, o.redis_key) {
        (Some(url), Some(key)) if redis => {
            manager = manager.with_store(RedisStore::new(&url, &key)?);
        }
        (Some(_), None) if redis => {
            return Err(Error::invalid_argument("a redis:// store needs a redisKey"));
        }
        (Some(path), None) => manager = manager.with_store(FileStore::new(path.as_str())),
        (_, Some(_)) => {
            return Err(Error::invalid_argument(
                "redisKey goes with a redis:// store only",
            ));
        }
        (None, None) => {}
    }
    Ok(manager)
}

/// Milliseconds since the Unix epoch, for a JS `Date`.
fn epoch_ms(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -(e.duration().as_secs_f64() * 1000.0),
    }
}

/// One refresh attempt as plain data (no secret); `lib/index.js` makes the frozen event object.
#[napi(object, object_from_js = false)]
pub struct RawEvent {
    /// `refreshed`, `from_store`, `failed` or `dead`.
    pub outcome: String,
    /// `absent`, `ahead`, `expired` or `invalidated`.
    pub trigger: String,
    /// The grant sent, if any.
    pub grant: Option<String>,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: f64,
    /// When it ended, in milliseconds since the epoch.
    pub at_ms: f64,
    /// The new access token's expiry, in Unix seconds.
    pub expires_at: Option<f64>,
    /// The new refresh token's expiry, in Unix seconds.
    pub refresh_expires_at: Option<f64>,
    /// The failure.
    pub error: Option<RawError>,
    /// Failures in a row.
    pub failures: u32,
    /// When the next attempt may start, in milliseconds since the epoch.
    pub retry_at_ms: Option<f64>,
    /// The connection, when the keeper holds several.
    pub connection: Option<String>,
    /// For an `expiring` warning, the horizon crossed, in seconds.
    pub horizon_seconds: Option<f64>,
}

impl From<&RefreshEvent> for RawEvent {
    fn from(e: &RefreshEvent) -> RawEvent {
        RawEvent {
            outcome: e.outcome.as_str().to_string(),
            trigger: e.trigger.as_str().to_string(),
            grant: e.grant.map(str::to_string),
            duration_ms: e.duration.as_secs_f64() * 1000.0,
            at_ms: epoch_ms(e.at),
            expires_at: e.expires_at.map(|s| s as f64),
            refresh_expires_at: e.refresh_expires_at.map(|s| s as f64),
            error: e.error.as_ref().map(RawError::from),
            failures: e.failures,
            retry_at_ms: e.retry_at.map(epoch_ms),
            connection: e.connection.as_deref().map(str::to_string),
            horizon_seconds: e.horizon.map(|h| h.as_secs_f64()),
        }
    }
}

/// A manager's state as plain data (no secret); `lib/index.js` makes the status object.
#[napi(object, object_from_js = false)]
#[derive(Clone)]
pub struct RawStatus {
    /// `active`, `failing` or `dead`.
    pub state: String,
    /// The access token's expiry, in Unix seconds.
    pub expires_at: Option<f64>,
    /// The refresh token's expiry, in Unix seconds.
    pub refresh_expires_at: Option<f64>,
    /// When the last refresh ended, in milliseconds since the epoch.
    pub last_refresh_ms: Option<f64>,
    /// The last failure, until a refresh succeeds.
    pub last_error: Option<RawError>,
    /// Failures in a row.
    pub failures: u32,
    /// When the next attempt may start, in milliseconds since the epoch.
    pub next_attempt_ms: Option<f64>,
    /// Refreshes made here.
    pub refresh_count: f64,
    /// Whether a refresh runs now.
    pub refreshing: bool,
}

impl From<ManagerStatus> for RawStatus {
    fn from(s: ManagerStatus) -> RawStatus {
        RawStatus {
            state: s.state.as_str().to_string(),
            expires_at: s.expires_at.map(|v| v as f64),
            refresh_expires_at: s.refresh_expires_at.map(|v| v as f64),
            last_refresh_ms: s.last_refresh.map(epoch_ms),
            last_error: s.last_error.as_ref().map(RawError::from),
            failures: s.failures,
            next_attempt_ms: s.next_attempt.map(epoch_ms),
            refresh_count: s.refresh_count as f64,
            refreshing: s.refreshing,
        }
    }
}

/// The JS function events go to: called without waiting (a full queue cannot happen, it is
/// unbounded; a closing environment drops the event), and unreferenced.
type EventSink = ThreadsafeFunction<RawEvent, (), RawEvent, Status, false, true>;

/// Hands the core's events to `sink`; the refreshing thread never waits for JS.
fn observe(manager: TokenManager, sink: EventSink) -> TokenManager {
    manager.on_event(move |event| {
        // The status is ignored: Closing (the environment is going away) drops the event.
        let _ = sink.call(
            RawEvent::from(event),
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    })
}

/// Builds the manager, its events going to `on_event` when given.
fn with_events(
    client: &RawClient,
    options: RawManagerOptions,
    on_event: Option<Function<RawEvent, ()>>,
) -> std::result::Result<TokenManager, Error> {
    let sink = on_event
        .map(|f| {
            f.build_threadsafe_function::<RawEvent>()
                .callee_handled::<false>()
                .weak::<true>()
                .build()
        })
        .transpose()
        .map_err(|e| Error::invalid_argument(format!("onEvent: {}", e.reason)))?;
    let manager = build(client, options)?;
    Ok(match sink {
        Some(sink) => observe(manager, sink),
        None => manager,
    })
}

/// The raw manager behind `TokenManager` in `lib/index.js`; its methods resolve to a
/// `RawOutcome` and never reject.
#[napi]
pub struct RawTokenManager {
    inner: Option<Arc<TokenManager>>,
    error: Option<RawError>,
}

#[napi]
impl RawTokenManager {
    /// Checks the options and builds the manager (nothing is sent); a failure is kept for
    /// `creationError`. `on_event` gets every refresh attempt as a `RawEvent`, on the event
    /// loop; it must not throw.
    #[napi(constructor)]
    pub fn new(
        client: &RawClient,
        options: RawManagerOptions,
        on_event: Option<Function<RawEvent, ()>>,
    ) -> RawTokenManager {
        guard(
            || match with_events(client, options, on_event) {
                Ok(manager) => RawTokenManager {
                    inner: Some(Arc::new(manager)),
                    error: None,
                },
                Err(e) => RawTokenManager {
                    inner: None,
                    error: Some(RawError::from(&e)),
                },
            },
            |error| RawTokenManager {
                inner: None,
                error: Some(error),
            },
        )
    }

    /// Why the options were refused, if they were.
    #[napi]
    pub fn creation_error(&self) -> Option<RawError> {
        self.error.clone()
    }

    fn task<'env>(
        &self,
        env: &'env Env,
        call_id: Option<f64>,
        whole: bool,
    ) -> Result<Object<'env>> {
        let manager = self
            .inner
            .clone()
            .ok_or_else(|| napi::Error::from_reason("the manager was not created"))?;
        spawn_call(env, call_id, move || {
            RawOutcome::of(manager.access_token().map(|t| {
                if whole {
                    Value::Managed(t)
                } else {
                    Value::Bearer(t)
                }
            }))
        })
    }

    /// A snapshot of the manager's state (no secret).
    #[napi]
    pub fn status(&self) -> Option<RawStatus> {
        guard(
            || self.inner.as_ref().map(|m| RawStatus::from(m.status())),
            |_| None,
        )
    }

    /// The access token held in memory when it is above the floor (a refresh ahead starting
    /// in the background inside the window), at once, on the calling thread (no request, no
    /// wait); `null` when a call would wait for a refresh.
    #[napi]
    pub fn cached_access_token(&self) -> Option<String> {
        guard(
            || {
                self.inner
                    .as_ref()
                    .and_then(|m| m.cached_access_token(str::to_string))
            },
            |_| None,
        )
    }

    /// A valid access token (only its text): `{ bearer }`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn access_token<'env>(&self, env: &'env Env, call_id: Option<f64>) -> Result<Object<'env>> {
        self.task(env, call_id, false)
    }

    /// A valid token, whole: `{ oauth2 }`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn token<'env>(&self, env: &'env Env, call_id: Option<f64>) -> Result<Object<'env>> {
        self.task(env, call_id, true)
    }
}
