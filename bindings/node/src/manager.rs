//! The token manager in the addon: one core `TokenManager` per JS `TokenManager`, its
//! (possibly blocking) `access_token()` run on the addon's threads. The caching, the single
//! shared refresh and the stores are the core's.

use std::sync::Arc;
use std::time::Duration;

use concur_native::Error;
use concur_native::manager::{FileStore, RedisStore, Start, TokenManager};
use napi::bindgen_prelude::*;
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
    let mut manager = TokenManager::new(client, &o.client_id, &client_secret, start)?;
    if let Some(seconds) = o.margin_seconds {
        let margin = Duration::try_from_secs_f64(seconds).map_err(|_| {
            Error::invalid_argument("margin must be a non-negative number of seconds")
        })?;
        manager = manager.with_margin(margin);
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
    /// `creationError`.
    #[napi(constructor)]
    pub fn new(client: &RawClient, options: RawManagerOptions) -> RawTokenManager {
        guard(
            || match build(client, options) {
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

    /// The access token held in memory when it is valid for the margin, at once, on the
    /// calling thread (no request, no wait); `null` when a refresh is due.
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
