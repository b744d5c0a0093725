//! The token vault in the addon: one core `TokenVault` per JS `TokenVault`, every call that may
//! wait (a store, a refresh, a sweep) run on the addon's own threads. The connections, their
//! engines, the store and the sweep are the core's; this file converts arguments and results.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use concur_native::Error;
use concur_native::manager::{DEFAULT_WINDOW, RefreshPolicy};
use concur_native::vault::{ConnectionInfo, KeepAliveReport, TokenVault, VaultStart, open_store};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use zeroize::Zeroizing;

use crate::manager::{RawEvent, RawStoreKey, sealer};
use crate::{RawClient, RawError, RawOutcome, Value, guard, spawn_call};

/// A `TokenVault`'s options, already type-checked by `lib/index.js`.
#[napi(object, object_to_js = false)]
pub struct RawVaultOptions {
    /// The application's client ID.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
    /// The store's URL (`memory:` when absent).
    pub store: Option<String>,
    /// Refresh this many seconds before expiry.
    pub margin_seconds: Option<f64>,
    /// Hand out no token valid for fewer seconds than this (below the margin).
    pub floor_seconds: Option<f64>,
    /// The keys sealing the store: the first seals, all open.
    pub store_keys: Option<Vec<RawStoreKey>>,
    /// Refuse plain-text stored documents (needs store keys).
    pub require_sealed: Option<bool>,
    /// How many connections are held in memory.
    pub cache_capacity: Option<f64>,
    /// When to warn before a refresh token's expiry, in seconds.
    pub horizons_seconds: Option<Vec<f64>>,
}

/// How a connection starts (`add`), already type-checked: `start` names it.
#[napi(object, object_to_js = false)]
pub struct RawVaultStart {
    /// `refreshToken`, `company`, `password`, `authorizationCode` or `clientCredentials`.
    pub start: String,
    /// `refreshToken`: the stored refresh token.
    pub refresh_token: Option<String>,
    /// `refreshToken`: its data centre.
    pub geolocation: Option<String>,
    /// `company`: the company's UUID.
    pub company_id: Option<String>,
    /// `company`: App Center's request token.
    pub request_token: Option<String>,
    /// `password`: the user's login name.
    pub username: Option<String>,
    /// `password`: the user's password.
    pub password: Option<String>,
    /// `authorizationCode`: the callback's code.
    pub code: Option<String>,
    /// `authorizationCode`: the redirect URI given to the authorize URL.
    pub redirect_uri: Option<String>,
}

/// A number of seconds as a duration; `name` names the option in the error.
fn seconds(name: &str, value: f64) -> std::result::Result<Duration, Error> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        Error::invalid_argument(format!("{name} must be a non-negative number of seconds"))
    })
}

fn start_of(raw: RawVaultStart) -> std::result::Result<VaultStart, Error> {
    let missing = |name: &str| Error::invalid_argument(format!("{name} is missing"));
    // Each secret is moved into a buffer wiped when dropped; the start wipes its own copy.
    let wiped = |v: Option<String>| v.map(Zeroizing::new);
    let take = |v: &mut Option<Zeroizing<String>>, name: &str| {
        v.as_mut()
            .map(|v| std::mem::take(&mut **v))
            .ok_or_else(|| missing(name))
    };
    let (mut refresh_token, mut request_token, mut password, mut code) = (
        wiped(raw.refresh_token),
        wiped(raw.request_token),
        wiped(raw.password),
        wiped(raw.code),
    );
    Ok(match raw.start.as_str() {
        "refreshToken" => VaultStart::RefreshToken {
            refresh_token: take(&mut refresh_token, "refreshToken")?,
            geolocation: raw.geolocation,
        },
        "company" => VaultStart::Company {
            company_id: raw.company_id.ok_or_else(|| missing("companyId"))?,
            request_token: take(&mut request_token, "requestToken")?,
        },
        "password" => VaultStart::Password {
            username: raw.username.ok_or_else(|| missing("username"))?,
            password: take(&mut password, "password")?,
        },
        "authorizationCode" => VaultStart::AuthorizationCode {
            code: take(&mut code, "code")?,
            redirect_uri: raw.redirect_uri.ok_or_else(|| missing("redirectUri"))?,
        },
        "clientCredentials" => VaultStart::ClientCredentials,
        _ => return Err(Error::invalid_argument("unknown start")),
    })
}

/// The JS function events go to (see `manager`): called without waiting, unreferenced.
type EventSink = ThreadsafeFunction<RawEvent, (), RawEvent, Status, false, true>;

fn build(
    client: &RawClient,
    o: RawVaultOptions,
    sink: Option<EventSink>,
) -> std::result::Result<TokenVault, Error> {
    let client = client
        .inner
        .clone()
        .ok_or_else(|| Error::invalid_argument("the client was not created"))?;
    let secret = Zeroizing::new(o.client_secret);
    let margin = o.margin_seconds.map(|s| seconds("margin", s)).transpose()?;
    let floor = o.floor_seconds.map(|s| seconds("floor", s)).transpose()?;
    let sealer = sealer(o.store_keys, o.require_sealed.unwrap_or(false))?;
    let capacity = match o.cache_capacity {
        None => None,
        Some(n) if n >= 1.0 && n.fract() == 0.0 => Some(n.min(usize::MAX as f64) as usize),
        Some(_) => {
            return Err(Error::invalid_argument(
                "cacheCapacity must be a whole number, at least 1",
            ));
        }
    };
    let horizons = o
        .horizons_seconds
        .map(|h| {
            h.into_iter()
                .map(|s| seconds("horizons", s))
                .collect::<std::result::Result<Vec<_>, _>>()
        })
        .transpose()?;
    let url = Zeroizing::new(o.store.unwrap_or_else(|| "memory:".to_string()));
    let mut vault = TokenVault::new(client, &o.client_id, &secret, open_store(&url)?)?;
    match (margin, floor) {
        (margin, Some(floor)) => {
            vault = vault.with_policy(RefreshPolicy::new(margin.unwrap_or(DEFAULT_WINDOW), floor)?);
        }
        (Some(margin), None) => vault = vault.with_margin(margin),
        (None, None) => {}
    }
    if let Some(sealer) = sealer {
        vault = vault.with_sealer(sealer);
    }
    if let Some(capacity) = capacity {
        vault = vault.with_cache_capacity(capacity);
    }
    if let Some(horizons) = horizons {
        vault = vault.with_horizons(horizons);
    }
    if let Some(sink) = sink {
        vault = vault.on_event(move |event| {
            // Closing (the environment is going away) drops the event.
            let _ = sink.call(
                RawEvent::from(event),
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        });
    }
    Ok(vault)
}

/// A connection as plain data (no secret); `lib/index.js` makes the frozen info object.
#[napi(object, object_from_js = false)]
#[derive(Clone)]
pub struct RawConnectionInfo {
    /// The connection's ID.
    pub id: String,
    /// `company`, `user` or `app`.
    pub kind: String,
    /// The token's subject.
    pub subject: Option<String>,
    /// The data centre.
    pub geolocation: Option<String>,
    /// The access token's expiry, in Unix seconds.
    pub expires_at: Option<f64>,
    /// The refresh token's expiry, in Unix seconds.
    pub refresh_expires_at: Option<f64>,
    /// The last refresh, in Unix seconds.
    pub last_refresh: Option<f64>,
    /// `active`, `expiring`, `failing` or `dead`.
    pub state: String,
    /// Concur's code that killed it.
    pub concur_code: Option<i64>,
    /// Transient failures in a row.
    pub failures: u32,
    /// The horizon the refresh token's expiry is within, in seconds.
    pub horizon_seconds: Option<f64>,
    /// When it was added, in Unix seconds.
    pub added_at: f64,
}

impl From<ConnectionInfo> for RawConnectionInfo {
    fn from(c: ConnectionInfo) -> RawConnectionInfo {
        RawConnectionInfo {
            state: c.state_name().to_string(),
            kind: c.kind.as_str().to_string(),
            expires_at: c.expires_at.map(|s| s as f64),
            refresh_expires_at: c.refresh_expires_at.map(|s| s as f64),
            last_refresh: c.last_refresh.map(|s| s as f64),
            concur_code: c.concur_code,
            failures: c.failures,
            horizon_seconds: c.horizon.map(|h| h.as_secs_f64()),
            added_at: c.added_at as f64,
            subject: c.subject,
            geolocation: c.geolocation,
            id: c.id,
        }
    }
}

/// A connection Concur refused, in a report.
#[napi(object, object_from_js = false)]
#[derive(Clone)]
pub struct RawDead {
    /// The connection's ID.
    pub id: String,
    /// Concur's code.
    pub concur_code: Option<i64>,
}

/// A connection that failed for now, in a report.
#[napi(object, object_from_js = false)]
#[derive(Clone)]
pub struct RawFailed {
    /// The connection's ID.
    pub id: String,
    /// The failure (no secret).
    pub error: RawError,
}

/// What one sweep did.
#[napi(object, object_from_js = false)]
#[derive(Clone)]
pub struct RawKeepAliveReport {
    /// Connections found due.
    pub checked: f64,
    /// Refreshed by this sweep.
    pub refreshed: f64,
    /// No longer needing it.
    pub fresh: f64,
    /// Refused by Concur.
    pub dead: Vec<RawDead>,
    /// Failed for now.
    pub failed: Vec<RawFailed>,
}

impl From<KeepAliveReport> for RawKeepAliveReport {
    fn from(r: KeepAliveReport) -> RawKeepAliveReport {
        RawKeepAliveReport {
            checked: r.checked as f64,
            refreshed: r.refreshed as f64,
            fresh: r.fresh as f64,
            failed: r
                .failed
                .iter()
                .map(|f| RawFailed {
                    id: f.id.clone(),
                    error: RawError::from(&f.error),
                })
                .collect(),
            dead: r
                .dead
                .into_iter()
                .map(|(id, concur_code)| RawDead { id, concur_code })
                .collect(),
        }
    }
}

/// The raw vault behind `TokenVault` in `lib/index.js`; its methods resolve to a `RawOutcome`
/// and never reject.
#[napi]
pub struct RawTokenVault {
    inner: Option<Arc<TokenVault>>,
    error: Option<RawError>,
}

/// How many connections one `connectionsPage` call hands to JS at most.
const PAGE: usize = 500;

#[napi]
impl RawTokenVault {
    /// Checks the options, opens the store and builds the vault (nothing is sent); a failure
    /// is kept for `creationError`. `on_event` gets every event as a `RawEvent`, on the event
    /// loop; it must not throw.
    #[napi(constructor)]
    pub fn new(
        client: &RawClient,
        options: RawVaultOptions,
        on_event: Option<Function<RawEvent, ()>>,
    ) -> RawTokenVault {
        let failed = |e: &Error| RawTokenVault {
            inner: None,
            error: Some(RawError::from(e)),
        };
        guard(
            || {
                let sink = on_event
                    .map(|f| {
                        f.build_threadsafe_function::<RawEvent>()
                            .callee_handled::<false>()
                            .weak::<true>()
                            .build()
                    })
                    .transpose();
                let sink = match sink {
                    Ok(sink) => sink,
                    Err(e) => {
                        return failed(&Error::invalid_argument(format!("onEvent: {}", e.reason)));
                    }
                };
                match build(client, options, sink) {
                    Ok(vault) => RawTokenVault {
                        inner: Some(Arc::new(vault)),
                        error: None,
                    },
                    Err(e) => failed(&e),
                }
            },
            |error| RawTokenVault {
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

    fn run<'env>(
        &self,
        env: &'env Env,
        call_id: Option<f64>,
        work: impl FnOnce(&TokenVault) -> RawOutcome + Send + 'static,
    ) -> Result<Object<'env>> {
        let vault = self
            .inner
            .clone()
            .ok_or_else(|| napi::Error::from_reason("the vault was not created"))?;
        spawn_call(env, call_id, move || work(&vault))
    }

    /// Adds connection `id` from `start`: `{ oauth2 }`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn add<'env>(
        &self,
        env: &'env Env,
        id: String,
        start: RawVaultStart,
        replace: bool,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        let start = start_of(start);
        self.run(env, call_id, move |v| {
            RawOutcome::of(
                start
                    .and_then(|s| v.add(&id, s, replace))
                    .map(Value::Managed),
            )
        })
    }

    /// Connection `id`'s access token: `{ bearer }`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn access_token<'env>(
        &self,
        env: &'env Env,
        id: String,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.run(env, call_id, move |v| {
            RawOutcome::of(v.access_token(&id).map(Value::Bearer))
        })
    }

    /// Connection `id`'s access token when this process holds it and may hand it out without
    /// waiting, at once, on the calling thread (no lock, no store, no request); `null` when a
    /// call would wait.
    #[napi]
    pub fn cached_access_token(&self, id: String) -> Option<String> {
        guard(
            || {
                self.inner
                    .as_ref()
                    .and_then(|v| v.cached_access_token(&id, str::to_string))
            },
            |_| None,
        )
    }

    /// Connection `id`'s whole token: `{ oauth2 }`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn token<'env>(
        &self,
        env: &'env Env,
        id: String,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.run(env, call_id, move |v| {
            RawOutcome::of(v.access_token(&id).map(Value::Managed))
        })
    }

    /// Forgets connection `id`'s access token: `{}`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn invalidate<'env>(
        &self,
        env: &'env Env,
        id: String,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.run(env, call_id, move |v| RawOutcome::of(v.invalidate(&id)))
    }

    /// Removes connection `id` (revoking it first when asked): `{}`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn remove<'env>(
        &self,
        env: &'env Env,
        id: String,
        revoke: bool,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.run(env, call_id, move |v| RawOutcome::of(v.remove(&id, revoke)))
    }

    /// Connection `id` as an operator sees it: `{ connection }`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn connection<'env>(
        &self,
        env: &'env Env,
        id: String,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.run(env, call_id, move |v| {
            RawOutcome::of(v.connection(&id).map(|c| Value::Connection(c.into())))
        })
    }

    /// Connection `id`'s engine in this process: `{ status }`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn status<'env>(
        &self,
        env: &'env Env,
        id: String,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.run(env, call_id, move |v| {
            RawOutcome::of(v.status(&id).map(|s| Value::Status(s.into())))
        })
    }

    /// Sweeps the connections due within `within_seconds`: `{ report }`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn keep_alive<'env>(
        &self,
        env: &'env Env,
        within_seconds: f64,
        concurrency: f64,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        let within = seconds("within", within_seconds);
        // Out of range is the core's to refuse, by name.
        let concurrency = if concurrency.fract() == 0.0 && concurrency >= 0.0 {
            concurrency.min(usize::MAX as f64) as usize
        } else {
            0
        };
        self.run(env, call_id, move |v| {
            RawOutcome::of(
                within
                    .and_then(|w| v.keep_alive(w, concurrency))
                    .map(|r| Value::Report(r.into())),
            )
        })
    }

    /// A cursor over every connection, read a page at a time (`RawConnections.next`).
    #[napi]
    pub fn connections(&self) -> Result<RawConnections> {
        let vault = self
            .inner
            .clone()
            .ok_or_else(|| napi::Error::from_reason("the vault was not created"))?;
        Ok(RawConnections {
            pages: Arc::new(Pages::new(vault)),
        })
    }
}

/// Where a listing stands: the last ID handed out, and whether it has ended.
#[derive(Default)]
struct Cursor {
    after: Option<String>,
    done: bool,
}

/// A listing: the vault and its cursor.
struct Pages {
    vault: Arc<TokenVault>,
    cursor: Mutex<Cursor>,
}

impl Pages {
    fn new(vault: Arc<TokenVault>) -> Pages {
        Pages {
            vault,
            cursor: Mutex::new(Cursor::default()),
        }
    }

    /// Up to [`PAGE`] connections, and whether the listing has ended.
    fn next_page(&self) -> std::result::Result<(Vec<RawConnectionInfo>, bool), Error> {
        let mut cursor = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        if cursor.done {
            return Ok((Vec::new(), true));
        }
        let page = match self.vault.connection_page(cursor.after.as_deref(), PAGE) {
            Ok(page) => page,
            Err(e) => {
                cursor.done = true;
                return Err(e);
            }
        };
        cursor.done = page.len() < PAGE;
        cursor.after = page.last().map(|c| c.id.clone());
        Ok((
            page.into_iter().map(RawConnectionInfo::from).collect(),
            cursor.done,
        ))
    }
}

/// The cursor `TokenVault.connections()` pages through.
#[napi]
pub struct RawConnections {
    pages: Arc<Pages>,
}

#[napi]
impl RawConnections {
    /// The next page: `{ connections, done }`.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn next<'env>(&self, env: &'env Env, call_id: Option<f64>) -> Result<Object<'env>> {
        let pages = Arc::clone(&self.pages);
        spawn_call(env, call_id, move || {
            RawOutcome::of(
                pages
                    .next_page()
                    .map(|(page, done)| Value::Connections(page, done)),
            )
        })
    }
}

/// Why `id` cannot name a connection (empty, too long, not printable), or nothing.
#[napi]
pub fn check_connection_id(id: String) -> Option<RawError> {
    guard(
        || {
            concur_native::vault::check_connection_id(&id)
                .err()
                .map(|e| RawError::from(&e))
        },
        Some,
    )
}
