//! The raw N-API addon behind the `concur-native` npm package. `lib/index.js` is the public
//! API: it checks argument types, and turns the outcomes below into `Token` objects and
//! `ConcurError` rejections. The network call runs on libuv's thread pool, never on the JS
//! thread.

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

/// Exactly one of `token` and `error` is set. Failures travel as data rather than as a
/// rejected promise so that the JS side can build a proper `ConcurError` with its fields.
#[napi(object)]
pub struct RawOutcome {
    /// The token on success.
    pub token: Option<RawToken>,
    /// The failure otherwise.
    pub error: Option<RawError>,
}

impl RawOutcome {
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

fn options_from(raw: &RawNativeTokenOptions) -> std::result::Result<Options, Error> {
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
    let checked = options_from(&options);
    AsyncTask::new(NativeTokenTask {
        consumer_key: options.consumer_key,
        login_id: Zeroizing::new(options.login_id),
        password: Zeroizing::new(options.password.unwrap_or_default()),
        options: checked,
    })
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
