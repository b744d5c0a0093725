//! The raw N-API addon behind the `concur-native` npm package. `lib/index.js` is the public
//! API: it checks argument types, and turns the outcomes below into `Token` objects and
//! `ConcurError` rejections. The network call runs on the addon's own threads (`pool`), never
//! on the JS thread and never on libuv's thread pool, which `fs`, `dns.lookup`, `crypto` and
//! `zlib` share. Every entry point runs inside `catch_unwind`: a bug becomes an error with code
//! `INTERNAL`, never a panic through N-API, which aborts the process.
//!
//! This file holds the legacy (`net2`) entry points and what every call shares; the current
//! API (oauth2/v0) is in `current`, the token manager in `manager`.

pub mod current;
pub mod manager;
mod pool;
pub mod vault;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use concur_native::{Error, Options};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use zeroize::Zeroizing;

/// The message of an `INTERNAL` error: a caught panic.
const INTERNAL: &str = "internal error: a bug in concur-native was caught; please report it";

fn internal_error() -> RawError {
    RawError {
        code: "INTERNAL".to_string(),
        message: INTERNAL.to_string(),
        ..RawError::default()
    }
}

/// Runs a synchronous entry point's body, a panic becoming `on_panic(INTERNAL error)`.
fn guard<T>(body: impl FnOnce() -> T, on_panic: impl FnOnce(RawError) -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| on_panic(internal_error()))
}

/// Arguments of `nativeToken`, already type-checked by `lib/index.js`.
#[napi(object)]
pub struct RawNativeTokenOptions {
    /// The application's consumer key.
    pub consumer_key: String,
    /// The user's login ID.
    pub login_id: String,
    /// The user's password; absent or null for none.
    pub password: Option<String>,
    /// Base URL; absent for Concur's default host.
    pub base_url: Option<String>,
    /// Deadline for the whole exchange, in milliseconds.
    pub timeout_ms: Option<f64>,
    /// Extra CA certificates (PEM file).
    pub ca_file: Option<String>,
    /// HTTP(S) proxy URL.
    pub proxy: Option<String>,
    /// Text appended to the User-Agent header.
    pub user_agent_suffix: Option<String>,
    /// Whether the proxy environment variables are honoured (default true).
    pub proxy_from_env: Option<bool>,
    /// `"mozilla"` (default), `"os"` or `"both"`.
    pub trust_store: Option<String>,
}

/// A failure as plain data; `lib/index.js` turns it into a `ConcurError`.
#[napi(object)]
#[derive(Clone, Default)]
pub struct RawError {
    /// The error class (`UNAUTHORIZED`, `TIMEOUT`, …).
    pub code: String,
    /// The one-line explanation.
    pub message: String,
    /// The HTTP status, when an answer arrived.
    pub status_code: Option<u32>,
    /// The Message of Concur's error document.
    pub concur_message: Option<String>,
    /// The Id of Concur's error document.
    pub error_id: Option<String>,
    /// The current API's numeric error `code`.
    pub concur_code: Option<i64>,
    /// The current API's OAuth `error` (`invalid_grant`, …).
    pub oauth_error: Option<String>,
    /// The data centre a code 16 answer named.
    pub geolocation: Option<String>,
    /// The `concur-correlationid` of the exchange.
    pub correlation_id: Option<String>,
}

impl From<&Error> for RawError {
    fn from(e: &Error) -> RawError {
        RawError {
            code: e.kind().code().to_string(),
            message: e.to_string(),
            status_code: e.status().map(u32::from),
            concur_message: e.concur_message().map(str::to_string),
            error_id: e.error_id().map(str::to_string),
            concur_code: e.concur_code(),
            oauth_error: e.oauth_error().map(str::to_string),
            geolocation: e.geolocation().map(str::to_string),
            correlation_id: e.correlation_id().map(str::to_string),
        }
    }
}

/// What a successful call hands back, kept as core values until they become JS strings: those
/// are made straight from the core's text, and the core's values wipe themselves when dropped,
/// so no unwiped Rust copy is left.
pub enum Value {
    /// Nothing (a revocation, a one-time password sent).
    Nothing,
    /// A legacy token; in JS `token: { token, refreshToken?, expirationDate?, expiresAt?,
    /// instanceUrl? }`.
    Token(concur_native::Token),
    /// A current-API token; in JS `oauth2: { accessToken, tokenType, … }` (see `current`).
    OAuth2(concur_native::OAuth2Token),
    /// A token manager's token: in JS `oauth2` as above.
    Managed(concur_native::manager::AccessToken),
    /// Only a token manager's access token: in JS `bearer: string`.
    Bearer(concur_native::manager::AccessToken),
    /// A migrated legacy refresh token; in JS `legacy: { refreshToken, … }`.
    Legacy(concur_native::oauth2::LegacyExchange),
    /// A vault's connection (no secret); in JS `connection: { id, kind, … }`.
    Connection(vault::RawConnectionInfo),
    /// A page of a vault's connections and whether the listing ended; in JS
    /// `connections: [...]`, `done`.
    Connections(Vec<vault::RawConnectionInfo>, bool),
    /// A vault sweep's report; in JS `report: { checked, … }`.
    Report(vault::RawKeepAliveReport),
    /// A connection engine's status; in JS `status: { state, … }`.
    Status(manager::RawStatus),
}

/// At most one of a value and `error` is set (neither after a successful revocation).
/// Failures travel as data rather than as a rejected promise so that the JS side can build a
/// proper `ConcurError` with its fields.
pub struct RawOutcome {
    value: Value,
    error: Option<RawError>,
}

impl ToNapiValue for RawOutcome {
    unsafe fn to_napi_value(
        raw_env: napi::sys::napi_env,
        val: Self,
    ) -> Result<napi::sys::napi_value> {
        let env = Env::from_raw(raw_env);
        let mut outcome = Object::new(&env)?;
        match &val.value {
            Value::Nothing => {}
            Value::Token(t) => {
                let mut token = Object::new(&env)?;
                token.set("token", t.token())?;
                if let Some(v) = t.refresh_token() {
                    token.set("refreshToken", v)?;
                }
                if let Some(v) = t.expiration_date() {
                    token.set("expirationDate", v)?;
                }
                if let Some(v) = t.expires_at() {
                    token.set("expiresAt", v as f64)?;
                }
                if let Some(v) = t.instance_url() {
                    token.set("instanceUrl", v)?;
                }
                outcome.set("token", token)?;
            }
            Value::OAuth2(t) => outcome.set("oauth2", current::oauth2_object(&env, t)?)?,
            Value::Managed(t) => outcome.set("oauth2", current::oauth2_object(&env, t.token())?)?,
            Value::Bearer(t) => outcome.set("bearer", t.as_str())?,
            Value::Legacy(x) => outcome.set("legacy", current::legacy_object(&env, x)?)?,
            Value::Connection(c) => outcome.set("connection", c.clone())?,
            Value::Connections(page, done) => {
                outcome.set("connections", page.clone())?;
                outcome.set("done", *done)?;
            }
            Value::Report(r) => outcome.set("report", r.clone())?,
            Value::Status(s) => outcome.set("status", s.clone())?,
        }
        if let Some(e) = val.error {
            outcome.set("error", e)?;
        }
        // SAFETY: `raw_env` is the environment this call was given.
        unsafe { Object::to_napi_value(raw_env, outcome) }
    }
}

impl From<()> for Value {
    fn from((): ()) -> Value {
        Value::Nothing
    }
}

impl From<concur_native::Token> for Value {
    fn from(t: concur_native::Token) -> Value {
        Value::Token(t)
    }
}

impl From<concur_native::OAuth2Token> for Value {
    fn from(t: concur_native::OAuth2Token) -> Value {
        Value::OAuth2(t)
    }
}

impl From<concur_native::oauth2::LegacyExchange> for Value {
    fn from(x: concur_native::oauth2::LegacyExchange) -> Value {
        Value::Legacy(x)
    }
}

impl RawOutcome {
    fn from_unit(result: std::result::Result<(), Error>) -> RawOutcome {
        RawOutcome::of(result)
    }

    fn from_result(result: std::result::Result<concur_native::Token, Error>) -> RawOutcome {
        RawOutcome::of(result)
    }

    /// The outcome of any core call.
    pub fn of<T: Into<Value>>(result: std::result::Result<T, Error>) -> RawOutcome {
        match result {
            Ok(v) => RawOutcome {
                value: v.into(),
                error: None,
            },
            Err(e) => RawOutcome::failed(RawError::from(&e)),
        }
    }

    fn failed(error: RawError) -> RawOutcome {
        RawOutcome {
            value: Value::Nothing,
            error: Some(error),
        }
    }

    fn internal() -> RawOutcome {
        RawOutcome::failed(internal_error())
    }

    fn cancelled() -> RawOutcome {
        RawOutcome::failed(RawError {
            code: "ABORT_ERR".to_string(),
            message: "the call was aborted before it started; nothing was sent".to_string(),
            ..RawError::default()
        })
    }

    fn no_thread() -> RawOutcome {
        RawOutcome::failed(RawError {
            message: "internal error: no thread could be started for the call".to_string(),
            ..internal_error()
        })
    }
}

/// Runs `work` on the addon's own threads; the promise resolves to its `RawOutcome` (an
/// `INTERNAL` error if it panicked) and never rejects. With `call_id` (from `newCallId`),
/// `cancelCall` stops the call from starting.
fn spawn_call<'env>(
    env: &'env Env,
    call_id: Option<f64>,
    work: impl FnOnce() -> RawOutcome + Send + 'static,
) -> Result<Object<'env>> {
    let (deferred, promise) = env.create_deferred()?;
    pool::submit(pool::Job {
        work: Box::new(move || {
            catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| RawOutcome::internal())
        }),
        deferred,
        id: call_id.map(|id| id as u64),
    });
    Ok(promise)
}

/// Waits, at most `seconds`, until no refresh ahead runs in the process; whether none runs.
/// The package's exit hook: a process that ends in the middle of a refresh may lose the
/// refresh token Concur just rotated. Blocks the event loop, which at exit runs nothing else.
#[napi]
pub fn wait_for_refreshes(seconds: f64) -> bool {
    let timeout = std::time::Duration::try_from_secs_f64(seconds).unwrap_or_default();
    concur_native::manager::wait_for_refreshes(timeout)
}

/// A fresh id to pass to one async call, so that `cancelCall` can stop it from starting.
#[napi]
pub fn new_call_id() -> f64 {
    pool::new_call_id() as f64
}

/// Stops the call with this id from starting, if it has not yet (then nothing is sent).
#[napi]
pub fn cancel_call(id: f64) {
    guard(|| pool::cancel(id as u64), |_| ());
}

/// Options of a `Client`, already type-checked by `lib/index.js`.
#[napi(object)]
pub struct RawClientOptions {
    /// Base URL; absent for Concur's default host.
    pub base_url: Option<String>,
    /// Deadline for each exchange, in milliseconds.
    pub timeout_ms: Option<f64>,
    /// Extra CA certificates (PEM file).
    pub ca_file: Option<String>,
    /// HTTP(S) proxy URL.
    pub proxy: Option<String>,
    /// Text appended to the User-Agent header.
    pub user_agent_suffix: Option<String>,
    /// More hosts trusted as data centres (code 16, geolocations).
    pub trusted_hosts: Option<Vec<String>>,
    /// How many times a call is sent again after 429/502/503/504.
    pub retries: Option<f64>,
    /// The `concur-correlationid` to send instead of a fresh one per request.
    pub correlation_id: Option<String>,
    /// Whether the proxy environment variables are honoured (default true).
    pub proxy_from_env: Option<bool>,
    /// `"mozilla"` (default), `"os"` or `"both"`.
    pub trust_store: Option<String>,
}

impl From<&RawNativeTokenOptions> for RawClientOptions {
    fn from(raw: &RawNativeTokenOptions) -> RawClientOptions {
        RawClientOptions {
            base_url: raw.base_url.clone(),
            timeout_ms: raw.timeout_ms,
            ca_file: raw.ca_file.clone(),
            proxy: raw.proxy.clone(),
            user_agent_suffix: raw.user_agent_suffix.clone(),
            trusted_hosts: None,
            retries: None,
            correlation_id: None,
            proxy_from_env: raw.proxy_from_env,
            trust_store: raw.trust_store.clone(),
        }
    }
}

fn options_from(raw: &RawClientOptions) -> std::result::Result<Options, Error> {
    let mut options = Options::new();
    if let Some(ms) = raw.timeout_ms {
        let timeout = Duration::try_from_secs_f64(ms / 1000.0)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| Error::invalid_argument("timeoutMs must be a positive number"))?;
        options = options.timeout(timeout);
    }
    if let Some(url) = &raw.base_url {
        options = options.base_url(url.as_str());
    }
    if let Some(path) = &raw.ca_file {
        options = options.ca_file(path.as_str());
    }
    if let Some(proxy) = &raw.proxy {
        options = options.proxy(proxy.as_str());
    }
    if let Some(suffix) = &raw.user_agent_suffix {
        options = options.user_agent_suffix(suffix.as_str());
    }
    for host in raw.trusted_hosts.iter().flatten() {
        options = options.trusted_host(host.as_str());
    }
    if let Some(retries) = raw.retries {
        if !(retries.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&retries)) {
            return Err(Error::invalid_argument(
                "retries must be a non-negative integer",
            ));
        }
        options = options.retries(retries as u32);
    }
    if let Some(id) = &raw.correlation_id {
        options = options.correlation_id(id.as_str());
    }
    if let Some(honour) = raw.proxy_from_env {
        options = options.proxy_from_env(honour);
    }
    if let Some(store) = &raw.trust_store {
        options = options.trust_store(store.parse()?);
    }
    Ok(options)
}

/// Starts a Native Flow call; resolves to a `RawOutcome`, never rejects.
#[napi(ts_return_type = "Promise<RawOutcome>")]
pub fn native_token<'env>(
    env: &'env Env,
    options: RawNativeTokenOptions,
    call_id: Option<f64>,
) -> Result<Object<'env>> {
    let checked = guard(
        || options_from(&RawClientOptions::from(&options)).map_err(Some),
        |_| Err(None),
    );
    let consumer_key = options.consumer_key;
    let login_id = Zeroizing::new(options.login_id);
    let password = Zeroizing::new(options.password.unwrap_or_default());
    spawn_call(env, call_id, move || match checked {
        Ok(options) => RawOutcome::from_result(concur_native::native_token(
            &consumer_key,
            &login_id,
            &password,
            &options,
        )),
        Err(Some(e)) => RawOutcome::from_unit(Err(e)),
        Err(None) => RawOutcome::internal(),
    })
}

/// Panics inside the guards every call goes through, for the test suite: with `sync`, in a
/// synchronous export (the result carries an `INTERNAL` error); otherwise on a worker thread
/// (the promise resolves to one). Not part of the API.
#[napi(
    js_name = "_panicForTests",
    ts_return_type = "RawCallback | Promise<RawOutcome>"
)]
pub fn panic_for_tests<'env>(
    env: &'env Env,
    sync: bool,
) -> Result<Either<RawCallback, Object<'env>>> {
    if sync {
        return Ok(Either::A(guard(
            || -> RawCallback { panic!("the panic concur-native's tests ask for") },
            |error| RawCallback {
                code: None,
                error: Some(error),
            },
        )));
    }
    spawn_call(env, None, || {
        panic!("the panic concur-native's tests ask for")
    })
    .map(Either::B)
}

/// One call on a shared client.
pub enum ClientCall {
    /// The Native Flow.
    Native {
        /// Consumer key.
        consumer_key: String,
        /// Login ID, wiped after use.
        login_id: Zeroizing<String>,
        /// Password, wiped after use.
        password: Zeroizing<String>,
    },
    /// Refresh with a refresh token.
    Refresh {
        /// Client ID (consumer key).
        client_id: String,
        /// Client secret, wiped after use.
        client_secret: Zeroizing<String>,
        /// Refresh token, wiped after use.
        refresh_token: Zeroizing<String>,
    },
    /// Exchange a request token.
    Exchange {
        /// Client ID (consumer key).
        client_id: String,
        /// Client secret, wiped after use.
        client_secret: Zeroizing<String>,
        /// The code, wiped after use.
        code: Zeroizing<String>,
    },
    /// Revoke one token.
    Revoke {
        /// The administrator's access token, wiped after use.
        admin: Zeroizing<String>,
        /// The token to revoke, wiped after use.
        token: Zeroizing<String>,
    },
    /// Revoke all of a user's tokens.
    RevokeUser {
        /// The administrator's access token, wiped after use.
        admin: Zeroizing<String>,
        /// Consumer key.
        consumer_key: String,
        /// The user's login ID.
        login_id: String,
    },
    /// A call of the current API (oauth2/v0).
    Current(Box<current::Call>),
}

impl ClientCall {
    /// Makes the call; the secrets are dropped (and wiped) as soon as it returns.
    fn run(self, client: &concur_native::Client) -> RawOutcome {
        match self {
            ClientCall::Native {
                consumer_key,
                login_id,
                password,
            } => RawOutcome::from_result(client.native_token(&consumer_key, &login_id, &password)),
            ClientCall::Refresh {
                client_id,
                client_secret,
                refresh_token,
            } => RawOutcome::from_result(client.refresh_token(
                &client_id,
                &client_secret,
                &refresh_token,
            )),
            ClientCall::Exchange {
                client_id,
                client_secret,
                code,
            } => RawOutcome::from_result(client.exchange_code(&client_id, &client_secret, &code)),
            ClientCall::Revoke { admin, token } => {
                RawOutcome::from_unit(client.revoke_token(&admin, &token))
            }
            ClientCall::RevokeUser {
                admin,
                consumer_key,
                login_id,
            } => RawOutcome::from_unit(client.revoke_user_tokens(&admin, &consumer_key, &login_id)),
            ClientCall::Current(call) => call.run(client),
        }
    }
}

/// The raw client behind `Client` in `lib/index.js`; its methods resolve to a `RawOutcome`
/// and never reject.
#[napi]
pub struct RawClient {
    pub(crate) inner: Option<Arc<concur_native::Client>>,
    error: Option<RawError>,
}

#[napi]
impl RawClient {
    /// Checks the options and builds the client; a failure is kept for `creationError`, so
    /// that JS can throw a proper ConcurError.
    #[napi(constructor)]
    pub fn new(options: RawClientOptions) -> RawClient {
        guard(
            || match options_from(&options).and_then(|o| concur_native::Client::new(&o)) {
                Ok(client) => RawClient {
                    inner: Some(Arc::new(client)),
                    error: None,
                },
                Err(e) => RawClient {
                    inner: None,
                    error: Some(RawError::from(&e)),
                },
            },
            |error| RawClient {
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

    pub(crate) fn task<'env>(
        &self,
        env: &'env Env,
        call_id: Option<f64>,
        call: ClientCall,
    ) -> Result<Object<'env>> {
        let client = self
            .inner
            .clone()
            .ok_or_else(|| napi::Error::from_reason("the client was not created"))?;
        spawn_call(env, call_id, move || call.run(&client))
    }

    /// The Native Flow.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn native_token<'env>(
        &self,
        env: &'env Env,
        consumer_key: String,
        login_id: String,
        password: Option<String>,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.task(
            env,
            call_id,
            ClientCall::Native {
                consumer_key,
                login_id: Zeroizing::new(login_id),
                password: Zeroizing::new(password.unwrap_or_default()),
            },
        )
    }

    /// Refresh with a refresh token.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn refresh_token<'env>(
        &self,
        env: &'env Env,
        client_id: String,
        client_secret: String,
        refresh_token: String,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.task(
            env,
            call_id,
            ClientCall::Refresh {
                client_id,
                client_secret: Zeroizing::new(client_secret),
                refresh_token: Zeroizing::new(refresh_token),
            },
        )
    }

    /// Exchange a request token.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn exchange_code<'env>(
        &self,
        env: &'env Env,
        client_id: String,
        client_secret: String,
        code: String,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.task(
            env,
            call_id,
            ClientCall::Exchange {
                client_id,
                client_secret: Zeroizing::new(client_secret),
                code: Zeroizing::new(code),
            },
        )
    }

    /// Revoke one token.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn revoke_token<'env>(
        &self,
        env: &'env Env,
        admin: String,
        token: String,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.task(
            env,
            call_id,
            ClientCall::Revoke {
                admin: Zeroizing::new(admin),
                token: Zeroizing::new(token),
            },
        )
    }

    /// Revoke all of a user's tokens.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn revoke_user_tokens<'env>(
        &self,
        env: &'env Env,
        admin: String,
        consumer_key: String,
        login_id: String,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.task(
            env,
            call_id,
            ClientCall::RevokeUser {
                admin: Zeroizing::new(admin),
                consumer_key,
                login_id,
            },
        )
    }
}

impl RawClient {
    /// Runs a current-API call on the addon's threads.
    fn current<'env>(
        &self,
        env: &'env Env,
        call_id: Option<f64>,
        call: current::Call,
    ) -> Result<Object<'env>> {
        self.task(env, call_id, ClientCall::Current(Box::new(call)))
    }
}

#[napi]
impl RawClient {
    /// A grant of the current API (`POST /oauth2/v0/token`).
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn oauth2_token<'env>(
        &self,
        env: &'env Env,
        request: current::RawGrantRequest,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.current(env, call_id, current::Call::grant(request))
    }

    /// Emails a one-time password (`POST /oauth2/v0/otp`).
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn send_otp<'env>(
        &self,
        env: &'env Env,
        request: current::RawOtpRequest,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.current(env, call_id, current::Call::send_otp(request))
    }

    /// Revokes the user's refresh tokens for this application.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn revoke_connections<'env>(
        &self,
        env: &'env Env,
        access_token: String,
        base_url: Option<String>,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        let call = current::Call::RevokeConnections {
            access_token: Zeroizing::new(access_token),
            base_url: base_url.map(Zeroizing::new),
        };
        self.current(env, call_id, call)
    }

    /// Trades a legacy refresh token for one of the current API.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn exchange_legacy_refresh_token<'env>(
        &self,
        env: &'env Env,
        request: current::RawLegacyRequest,
        call_id: Option<f64>,
    ) -> Result<Object<'env>> {
        self.current(env, call_id, current::Call::legacy(request))
    }
}

/// The Web flow's Login URL and the state sent, or the error.
#[napi(object)]
pub struct RawAuthorization {
    /// The URL, on success.
    pub url: Option<String>,
    /// The state sent, on success.
    pub state: Option<String>,
    /// The failure otherwise.
    pub error: Option<RawError>,
}

/// Builds the Web flow's Login URL (synchronous: nothing is sent).
#[napi]
pub fn authorization_url(
    base_url: Option<String>,
    client_id: String,
    scopes: Vec<String>,
    redirect_uri: String,
    state: Option<String>,
) -> RawAuthorization {
    guard(
        || {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let base = base_url
                .as_deref()
                .unwrap_or(concur_native::DEFAULT_BASE_URL);
            match concur_native::authorization_url(
                base,
                &client_id,
                &scopes,
                &redirect_uri,
                state.as_deref(),
            ) {
                Ok(r) => RawAuthorization {
                    url: Some(r.url),
                    state: Some(r.state),
                    error: None,
                },
                Err(e) => RawAuthorization {
                    url: None,
                    state: None,
                    error: Some(RawError::from(&e)),
                },
            }
        },
        |error| RawAuthorization {
            url: None,
            state: None,
            error: Some(error),
        },
    )
}

/// The code of a callback URL, or the error (synchronous: nothing is sent).
#[napi(object)]
pub struct RawCallback {
    /// The code, on success.
    pub code: Option<String>,
    /// The failure otherwise.
    pub error: Option<RawError>,
}

/// Reads a Web-flow or App Center callback URL.
#[napi]
pub fn parse_callback(callback_url: String, expected_state: Option<String>) -> RawCallback {
    // The URL holds the code: wipe this copy of it once read.
    let callback_url = Zeroizing::new(callback_url);
    guard(
        || match concur_native::parse_callback(&callback_url, expected_state.as_deref()) {
            Ok(code) => RawCallback {
                code: Some(code),
                error: None,
            },
            Err(e) => RawCallback {
                code: None,
                error: Some(RawError::from(&e)),
            },
        },
        |error| RawCallback {
            code: None,
            error: Some(error),
        },
    )
}

/// The library's version.
#[napi]
pub fn version() -> &'static str {
    concur_native::VERSION
}

/// Concur's default base URL.
#[napi]
pub fn default_base_url() -> &'static str {
    concur_native::DEFAULT_BASE_URL
}
