//! The raw N-API addon behind the `concur-native` npm package. `lib/index.js` is the public
//! API: it checks argument types, and turns the outcomes below into `Token` objects and
//! `ConcurError` rejections. The network call runs on libuv's thread pool, never on the JS
//! thread.

use std::sync::Arc;
use std::time::Duration;

use concur_native::{Error, Options};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use zeroize::Zeroizing;

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
}

/// A token as plain data; `lib/index.js` wraps it.
#[napi(object)]
pub struct RawToken {
    /// The access token.
    pub token: String,
    /// The refresh token, if any.
    pub refresh_token: Option<String>,
    /// The expiry as Concur wrote it, if any.
    pub expiration_date: Option<String>,
    /// The expiry in Unix seconds, if readable.
    pub expires_at: Option<f64>,
    /// The instance URL, if any.
    pub instance_url: Option<String>,
}

/// A failure as plain data; `lib/index.js` turns it into a `ConcurError`.
#[napi(object)]
#[derive(Clone)]
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
}

/// At most one of `token` and `error` is set (neither after a successful revocation).
/// Failures travel as data rather than as a rejected promise so that the JS side can build a
/// proper `ConcurError` with its fields.
#[napi(object)]
pub struct RawOutcome {
    /// The token on success.
    pub token: Option<RawToken>,
    /// The failure otherwise.
    pub error: Option<RawError>,
}

impl RawOutcome {
    fn from_unit(result: std::result::Result<(), Error>) -> RawOutcome {
        match result {
            Ok(()) => RawOutcome {
                token: None,
                error: None,
            },
            Err(e) => RawOutcome::from_result(Err(e)),
        }
    }

    fn from_result(result: std::result::Result<concur_native::Token, Error>) -> RawOutcome {
        match result {
            Ok(t) => RawOutcome {
                token: Some(RawToken {
                    token: t.token().to_string(),
                    refresh_token: t.refresh_token().map(str::to_string),
                    expiration_date: t.expiration_date().map(str::to_string),
                    expires_at: t.expires_at().map(|s| s as f64),
                    instance_url: t.instance_url().map(str::to_string),
                }),
                error: None,
            },
            Err(e) => RawOutcome {
                token: None,
                error: Some(RawError {
                    code: e.kind().code().to_string(),
                    message: e.to_string(),
                    status_code: e.status().map(u32::from),
                    concur_message: e.concur_message().map(str::to_string),
                    error_id: e.error_id().map(str::to_string),
                }),
            },
        }
    }
}

/// One Native Flow call, run off the JS thread.
pub struct NativeTokenTask {
    consumer_key: String,
    login_id: Zeroizing<String>,
    password: Zeroizing<String>,
    options: std::result::Result<Options, Error>,
}

impl Task for NativeTokenTask {
    type Output = RawOutcome;
    type JsValue = RawOutcome;

    fn compute(&mut self) -> Result<RawOutcome> {
        let result = match &self.options {
            Ok(options) => concur_native::native_token(
                &self.consumer_key,
                &self.login_id,
                &self.password,
                options,
            ),
            Err(e) => Err(e.clone()),
        };
        // The credentials are not needed any more: wipe them now, not when JS collects the task.
        self.login_id = Zeroizing::default();
        self.password = Zeroizing::default();
        Ok(RawOutcome::from_result(result))
    }

    fn resolve(&mut self, _env: Env, output: RawOutcome) -> Result<RawOutcome> {
        Ok(output)
    }
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
}

impl From<&RawNativeTokenOptions> for RawClientOptions {
    fn from(raw: &RawNativeTokenOptions) -> RawClientOptions {
        RawClientOptions {
            base_url: raw.base_url.clone(),
            timeout_ms: raw.timeout_ms,
            ca_file: raw.ca_file.clone(),
            proxy: raw.proxy.clone(),
            user_agent_suffix: raw.user_agent_suffix.clone(),
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
    Ok(options)
}

/// Starts a Native Flow call; resolves to a `RawOutcome`, never rejects.
#[napi(ts_return_type = "Promise<RawOutcome>")]
pub fn native_token(options: RawNativeTokenOptions) -> AsyncTask<NativeTokenTask> {
    let checked = options_from(&RawClientOptions::from(&options));
    AsyncTask::new(NativeTokenTask {
        consumer_key: options.consumer_key,
        login_id: Zeroizing::new(options.login_id),
        password: Zeroizing::new(options.password.unwrap_or_default()),
        options: checked,
    })
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
}

/// A call on a shared client, run off the JS thread.
pub struct ClientTask {
    client: Arc<concur_native::Client>,
    call: Option<ClientCall>,
}

impl Task for ClientTask {
    type Output = RawOutcome;
    type JsValue = RawOutcome;

    fn compute(&mut self) -> Result<RawOutcome> {
        let client = &self.client;
        // Taken, so the secrets are dropped (and wiped) as soon as the call returns.
        let outcome = match self.call.take() {
            Some(ClientCall::Native {
                consumer_key,
                login_id,
                password,
            }) => RawOutcome::from_result(client.native_token(&consumer_key, &login_id, &password)),
            Some(ClientCall::Refresh {
                client_id,
                client_secret,
                refresh_token,
            }) => RawOutcome::from_result(client.refresh_token(
                &client_id,
                &client_secret,
                &refresh_token,
            )),
            Some(ClientCall::Exchange {
                client_id,
                client_secret,
                code,
            }) => RawOutcome::from_result(client.exchange_code(&client_id, &client_secret, &code)),
            Some(ClientCall::Revoke { admin, token }) => {
                RawOutcome::from_unit(client.revoke_token(&admin, &token))
            }
            Some(ClientCall::RevokeUser {
                admin,
                consumer_key,
                login_id,
            }) => {
                RawOutcome::from_unit(client.revoke_user_tokens(&admin, &consumer_key, &login_id))
            }
            None => RawOutcome::from_unit(Err(Error::invalid_argument("the call ran twice"))),
        };
        Ok(outcome)
    }

    fn resolve(&mut self, _env: Env, output: RawOutcome) -> Result<RawOutcome> {
        Ok(output)
    }
}

/// The raw client behind `Client` in `lib/index.js`; its methods resolve to a `RawOutcome`
/// and never reject.
#[napi]
pub struct RawClient {
    inner: Option<Arc<concur_native::Client>>,
    error: Option<RawError>,
}

#[napi]
impl RawClient {
    /// Checks the options and builds the client; a failure is kept for `creationError`, so
    /// that JS can throw a proper ConcurError.
    #[napi(constructor)]
    pub fn new(options: RawClientOptions) -> RawClient {
        match options_from(&options).and_then(|o| concur_native::Client::new(&o)) {
            Ok(client) => RawClient {
                inner: Some(Arc::new(client)),
                error: None,
            },
            Err(e) => RawClient {
                inner: None,
                error: RawOutcome::from_unit(Err(e)).error,
            },
        }
    }

    /// Why the options were refused, if they were.
    #[napi]
    pub fn creation_error(&self) -> Option<RawError> {
        self.error.clone()
    }

    fn task(&self, call: ClientCall) -> Result<AsyncTask<ClientTask>> {
        let client = self
            .inner
            .clone()
            .ok_or_else(|| napi::Error::from_reason("the client was not created"))?;
        Ok(AsyncTask::new(ClientTask {
            client,
            call: Some(call),
        }))
    }

    /// The Native Flow.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn native_token(
        &self,
        consumer_key: String,
        login_id: String,
        password: Option<String>,
    ) -> Result<AsyncTask<ClientTask>> {
        self.task(ClientCall::Native {
            consumer_key,
            login_id: Zeroizing::new(login_id),
            password: Zeroizing::new(password.unwrap_or_default()),
        })
    }

    /// Refresh with a refresh token.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn refresh_token(
        &self,
        client_id: String,
        client_secret: String,
        refresh_token: String,
    ) -> Result<AsyncTask<ClientTask>> {
        self.task(ClientCall::Refresh {
            client_id,
            client_secret: Zeroizing::new(client_secret),
            refresh_token: Zeroizing::new(refresh_token),
        })
    }

    /// Exchange a request token.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn exchange_code(
        &self,
        client_id: String,
        client_secret: String,
        code: String,
    ) -> Result<AsyncTask<ClientTask>> {
        self.task(ClientCall::Exchange {
            client_id,
            client_secret: Zeroizing::new(client_secret),
            code: Zeroizing::new(code),
        })
    }

    /// Revoke one token.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn revoke_token(&self, admin: String, token: String) -> Result<AsyncTask<ClientTask>> {
        self.task(ClientCall::Revoke {
            admin: Zeroizing::new(admin),
            token: Zeroizing::new(token),
        })
    }

    /// Revoke all of a user's tokens.
    #[napi(ts_return_type = "Promise<RawOutcome>")]
    pub fn revoke_user_tokens(
        &self,
        admin: String,
        consumer_key: String,
        login_id: String,
    ) -> Result<AsyncTask<ClientTask>> {
        self.task(ClientCall::RevokeUser {
            admin: Zeroizing::new(admin),
            consumer_key,
            login_id,
        })
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
            error: RawOutcome::from_unit(Err(e)).error,
        },
    }
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
    match concur_native::parse_callback(&callback_url, expected_state.as_deref()) {
        Ok(code) => RawCallback {
            code: Some(code),
            error: None,
        },
        Err(e) => RawCallback {
            code: None,
            error: RawOutcome::from_unit(Err(e)).error,
        },
    }
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
