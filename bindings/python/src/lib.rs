//! The Python module `concur_native._native`: a thin layer over the Rust core. Arguments are
//! converted, the network call runs with the GIL released, and core errors become the
//! exception classes of `concur_native._errors`.
//!
//! Every entry point runs inside `catch_unwind`: a bug in the core becomes an `InternalError`
//! (a `ConcurError`), never pyo3's `PanicException`, a `BaseException` that `except Exception`
//! misses.

use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use concur_native::oauth2::{Grant, OtpRequest};
use concur_native::{Error, ErrorKind, OAuth2Token, Options};
use pyo3::exceptions::{PyOSError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use zeroize::Zeroizing;

mod events;
mod manager;
mod pool;
mod vault;

/// A `str` argument, copied into a buffer that is wiped when dropped. A `str` that cannot be
/// UTF-8 (a lone surrogate) is an `InvalidArgumentError` that quotes nothing of it: Python's
/// own `UnicodeEncodeError` would carry the whole value (a password) in its `object`.
struct Text(Zeroizing<String>);

impl FromPyObject<'_, '_> for Text {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Text> {
        let text = obj.cast::<PyString>()?;
        match text.to_cow() {
            Ok(value) => Ok(Text(Zeroizing::new(value.into_owned()))),
            // The UnicodeEncodeError (and the value it holds) is dropped here, not chained.
            Err(_) => Err(to_py_err(
                obj.py(),
                &Error::invalid_argument(
                    "a string argument is not valid Unicode (it holds a lone surrogate)",
                ),
            )),
        }
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// The message of the `InternalError` a caught panic becomes.
const INTERNAL: &str = "internal error: a bug in concur-native was caught; please report it";

fn internal_error(py: Python<'_>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = py
            .import("concur_native._errors")?
            .getattr("InternalError")?;
        Ok(PyErr::from_value(class.call1((INTERNAL,))?))
    };
    build().unwrap_or_else(|e| e)
}

/// Runs an entry point's body with the GIL held, a panic becoming an `InternalError`.
fn guard<T>(py: Python<'_>, body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| Err(internal_error(py)))
}

/// Unix seconds as an aware UTC ``datetime``; None for None and for a time out of datetime's
/// range (an attribute read must not raise what the server chose).
fn utc_datetime(py: Python<'_>, seconds: Option<f64>) -> PyResult<Option<Bound<'_, PyAny>>> {
    let Some(seconds) = seconds else {
        return Ok(None);
    };
    let datetime = py.import("datetime")?;
    let utc = datetime.getattr("timezone")?.getattr("utc")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("tz", utc)?;
    match datetime
        .getattr("datetime")?
        .call_method("fromtimestamp", (seconds,), Some(&kwargs))
    {
        Ok(at) => Ok(Some(at)),
        Err(e)
            if e.is_instance_of::<PyValueError>(py)
                || e.is_instance_of::<PyOverflowError>(py)
                || e.is_instance_of::<PyOSError>(py) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The `repr()` of a value, for the `repr()` of the token classes.
fn repr_of(value: Option<Bound<'_, PyAny>>) -> PyResult<String> {
    match value {
        Some(v) => Ok(v.repr()?.to_string()),
        None => Ok("None".to_string()),
    }
}

/// A Python-style quoted string or None, for `repr()`.
fn quoted(value: Option<&str>) -> String {
    value.map_or("None".to_string(), |v| format!("{v:?}"))
}

/// Refuses pickling of an object that holds secrets.
fn refuse_pickle(class: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "{class} objects hold secrets and cannot be pickled; store the fields you need yourself \
         if you really mean to"
    ))
}

/// An access token and what came with it. Immutable; `repr()` masks the secrets, and pickling
/// is refused so that a token is never written somewhere by accident.
#[pyclass(frozen, module = "concur_native", name = "Token")]
struct Token {
    inner: concur_native::Token,
}

#[pymethods]
impl Token {
    /// The access token, for the `Authorization: OAuth {token}` header of later calls.
    #[getter]
    fn token(&self) -> &str {
        self.inner.token()
    }

    /// The refresh token, or None when the answer carried none.
    #[getter]
    fn refresh_token(&self) -> Option<&str> {
        self.inner.refresh_token()
    }

    /// The expiry exactly as Concur wrote it (``6/1/2014 8:00:00 AM``, UTC), or None.
    #[getter]
    fn expiration_date(&self) -> Option<&str> {
        self.inner.expiration_date()
    }

    /// The expiry as an aware UTC ``datetime``, or None when Concur's text could not be read.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.inner.expires_at().map(|s| s as f64))
    }

    /// The data-centre base URL for later calls, or None.
    #[getter]
    fn instance_url(&self) -> Option<&str> {
        self.inner.instance_url()
    }

    fn __repr__(&self) -> String {
        format!(
            "Token(token='***', refresh_token={}, expiration_date={}, instance_url={})",
            self.inner.refresh_token().map_or("None", |_| "'***'"),
            quoted(self.inner.expiration_date()),
            quoted(self.inner.instance_url()),
        )
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "Token objects hold secrets and cannot be pickled; store token.token yourself \
             if you really mean to",
        ))
    }

    /// Tokens are immutable: a copy is the same object.
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __deepcopy__(slf: Py<Self>, memo: Bound<'_, PyAny>) -> Py<Self> {
        drop(memo);
        slf
    }
}

/// An access token from Concur's current Authentication API (oauth2/v0), with what came with
/// it. Immutable; ``repr()`` masks the access, refresh and id tokens, and pickling is refused.
///
/// After a refresh, store the new ``refresh_token`` and ``geolocation``: Concur may rotate
/// both. Send refreshes and later API calls to ``geolocation``.
#[pyclass(frozen, module = "concur_native", name = "OAuth2Token")]
struct PyOAuth2Token {
    inner: concur_native::OAuth2Token,
}

#[pymethods]
impl PyOAuth2Token {
    /// The access token, for the ``Authorization: Bearer {access_token}`` header.
    #[getter]
    fn access_token(&self) -> &str {
        self.inner.access_token()
    }

    /// The token type Concur named (``"Bearer"``).
    #[getter]
    fn token_type(&self) -> &str {
        self.inner.token_type()
    }

    /// When the access token expires, as an aware UTC ``datetime``, or None.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.inner.expires_at().map(|s| s as f64))
    }

    /// The refresh token (None for a client-credentials token). After a refresh, the one to
    /// store from now on.
    #[getter]
    fn refresh_token(&self) -> Option<&str> {
        self.inner.refresh_token()
    }

    /// When the refresh token expires, as an aware UTC ``datetime``, or None.
    #[getter]
    fn refresh_expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.inner.refresh_expires_at().map(|s| s as f64))
    }

    /// The granted scopes, space separated, or None.
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.inner.scope()
    }

    /// The base URL of the user's (or company's) data centre, already checked to be trusted:
    /// send refreshes and later calls there.
    #[getter]
    fn geolocation(&self) -> Option<&str> {
        self.inner.geolocation()
    }

    /// The id_token (a JWT), or None.
    #[getter]
    fn id_token(&self) -> Option<&str> {
        self.inner.id_token()
    }

    /// The id_token's ``sub`` claim (the user's or company's UUID), read **without verifying
    /// the signature**: fine for routing your own calls, not for deciding who somebody is.
    #[getter]
    fn subject(&self) -> Option<&str> {
        self.inner.subject()
    }

    /// The id_token's ``concur.type`` claim (``"user"`` or ``"company"``), read without
    /// verifying the signature.
    #[getter]
    fn principal_type(&self) -> Option<&str> {
        self.inner.principal_type()
    }

    /// The ``concur-correlationid`` of the exchange that returned this token.
    #[getter]
    fn correlation_id(&self) -> Option<&str> {
        self.inner.correlation_id()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mask = |v: Option<&str>| if v.is_some() { "'***'" } else { "None" };
        Ok(format!(
            "OAuth2Token(access_token='***', token_type={}, expires_at={}, refresh_token={}, \
             refresh_expires_at={}, scope={}, geolocation={}, id_token={}, subject={}, \
             principal_type={}, correlation_id={})",
            quoted(Some(self.inner.token_type())),
            repr_of(self.expires_at(py)?)?,
            mask(self.inner.refresh_token()),
            repr_of(self.refresh_expires_at(py)?)?,
            quoted(self.inner.scope()),
            quoted(self.inner.geolocation()),
            mask(self.inner.id_token()),
            quoted(self.inner.subject()),
            quoted(self.inner.principal_type()),
            quoted(self.inner.correlation_id()),
        ))
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(refuse_pickle("OAuth2Token"))
    }

    /// Tokens are immutable: a copy is the same object.
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __deepcopy__(slf: Py<Self>, memo: Bound<'_, PyAny>) -> Py<Self> {
        drop(memo);
        slf
    }
}

/// What ``Client.exchange_legacy_refresh_token`` returns: the current API's refresh token for
/// a legacy one. Immutable; ``repr()`` masks the refresh token, and pickling is refused.
#[pyclass(frozen, module = "concur_native", name = "LegacyExchange")]
struct PyLegacyExchange {
    inner: concur_native::oauth2::LegacyExchange,
}

#[pymethods]
impl PyLegacyExchange {
    /// The new refresh token: use it with ``Client.refresh_grant`` from now on.
    #[getter]
    fn refresh_token(&self) -> &str {
        &self.inner.refresh_token
    }

    /// When the new refresh token was created, as an aware UTC ``datetime``, or None.
    #[getter]
    fn created_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.inner.created_ms.map(|ms| ms as f64 / 1000.0))
    }

    /// When the new refresh token expires, as an aware UTC ``datetime``, or None.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.inner.expires_ms.map(|ms| ms as f64 / 1000.0))
    }

    /// The scopes the new refresh token carries (empty when Concur named none).
    #[getter]
    fn scopes(&self) -> Vec<&str> {
        self.inner
            .scopes
            .as_deref()
            .map_or_else(Vec::new, |s| s.split_whitespace().collect())
    }

    /// Concur's ``context``, as sent: a JSON text naming the principal type (``ptype``).
    #[getter]
    fn context(&self) -> Option<&str> {
        self.inner.context.as_deref()
    }

    /// The ``concur-correlationid`` of the exchange.
    #[getter]
    fn correlation_id(&self) -> Option<&str> {
        self.inner.correlation_id.as_deref()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "LegacyExchange(refresh_token='***', created_at={}, expires_at={}, scopes={:?}, \
             context={}, correlation_id={})",
            repr_of(self.created_at(py)?)?,
            repr_of(self.expires_at(py)?)?,
            self.scopes(),
            quoted(self.inner.context.as_deref()),
            quoted(self.inner.correlation_id.as_deref()),
        ))
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(refuse_pickle("LegacyExchange"))
    }

    /// Immutable: a copy is the same object.
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __deepcopy__(slf: Py<Self>, memo: Bound<'_, PyAny>) -> Py<Self> {
        drop(memo);
        slf
    }
}

/// The exception class of `concur_native._errors` for an error class of the core.
fn exception_class(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidArgument => "InvalidArgumentError",
        ErrorKind::Unauthorized => "UnauthorizedError",
        ErrorKind::HttpStatus => "HTTPStatusError",
        ErrorKind::Timeout => "ConcurTimeoutError",
        ErrorKind::Connect => "ConcurConnectionError",
        ErrorKind::Tls => "TLSError",
        ErrorKind::Protocol => "ProtocolError",
        ErrorKind::Store => "StoreError",
        ErrorKind::NotBuiltIn => "NotBuiltInError",
        ErrorKind::UnknownConnection => "UnknownConnectionError",
        _ => "ConcurError",
    }
}

fn to_py_err(py: Python<'_>, error: &Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let class = py
            .import("concur_native._errors")?
            .getattr(exception_class(error.kind()))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("status_code", error.status())?;
        kwargs.set_item("message", error.concur_message())?;
        kwargs.set_item("error_id", error.error_id())?;
        kwargs.set_item("concur_code", error.concur_code())?;
        kwargs.set_item("oauth_error", error.oauth_error())?;
        kwargs.set_item("geolocation", error.geolocation())?;
        kwargs.set_item("correlation_id", error.correlation_id())?;
        Ok(PyErr::from_value(
            class.call((error.to_string(),), Some(&kwargs))?,
        ))
    };
    build().unwrap_or_else(|e| e)
}

/// Builds core options from the keyword arguments every entry point takes (one each: they are
/// the keyword arguments, passed on).
#[allow(clippy::too_many_arguments)]
fn options_from(
    py: Python<'_>,
    base_url: Option<Text>,
    timeout: Option<f64>,
    ca_file: Option<PathBuf>,
    proxy: Option<Text>,
    user_agent_suffix: Option<Text>,
    proxy_from_env: bool,
    trust_store: &str,
) -> PyResult<Options> {
    let store = trust_store
        .parse::<concur_native::TrustStore>()
        .map_err(|e| to_py_err(py, &e))?;
    // None is httpx's "no timeout": the core caps every deadline, so it is the longest one.
    let timeout = timeout.map_or(Ok(concur_native::MAX_TIMEOUT), Duration::try_from_secs_f64);
    let Ok(timeout) = timeout else {
        let e = Error::invalid_argument("the timeout must be a positive number of seconds");
        return Err(to_py_err(py, &e));
    };
    let mut options = Options::new().timeout(timeout);
    if let Some(url) = base_url {
        options = options.base_url(&*url);
    }
    if let Some(path) = ca_file {
        options = options.ca_file(path);
    }
    if let Some(url) = proxy {
        options = options.proxy(&*url);
    }
    if let Some(suffix) = user_agent_suffix {
        options = options.user_agent_suffix(&*suffix);
    }
    Ok(options.proxy_from_env(proxy_from_env).trust_store(store))
}

/// How long a sync call waits for its worker between two checks for a signal (Ctrl-C): the
/// longest a `KeyboardInterrupt` can be late. The outcome itself is taken as soon as it is
/// there.
const SIGNAL_SLICE: Duration = Duration::from_millis(50);

/// Runs a core call on one of the binding's threads ([`pool`]) while this thread waits for it
/// with the GIL released, in slices between which it checks for signals: Ctrl-C raises
/// `KeyboardInterrupt` at once, and the abandoned call is not sent when it had not started, or
/// has its result dropped (secrets wiped) when it had. A panic becomes an `InternalError`.
/// On a worker thread (a call from a store callback, or the Python side of an asyncio call)
/// the call runs right there, the GIL released.
fn run<T: Send + 'static>(
    py: Python<'_>,
    call: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> PyResult<T> {
    if pool::on_worker() {
        return py
            .detach(|| catch_unwind(AssertUnwindSafe(call)))
            .map_err(|_| internal_error(py))?
            .map_err(|e| to_py_err(py, &e));
    }
    let slot = pool::Slot::new();
    let filled = Arc::clone(&slot);
    let job: pool::Job = Box::new(move || {
        if filled.abandoned() {
            return;
        }
        filled.fill(catch_unwind(AssertUnwindSafe(call)));
    });
    if let Err(job) = pool::submit(job) {
        // No thread could be started: the call runs here, as it did before the pool.
        py.detach(job);
    }
    let outcome = loop {
        if let Some(outcome) = py.detach(|| slot.wait(SIGNAL_SLICE)) {
            break outcome;
        }
        if let Err(interrupted) = py.check_signals() {
            slot.abandon();
            return Err(interrupted);
        }
    };
    outcome
        .map_err(|_| internal_error(py))?
        .map_err(|e| to_py_err(py, &e))
}

/// Runs `func(*args, **kwargs)` on one of the binding's threads for an asyncio call and hands
/// its outcome to `deliver(ok, value)` there (the Python side passes it to the event loop with
/// `loop.call_soon_threadsafe`). Returns the call's ticket: cancelled before the call starts,
/// nothing is sent; cancelled while it runs, its outcome is dropped unread. Not part of the API.
#[pyfunction]
#[pyo3(signature = (func, args, kwargs, deliver))]
fn _spawn(
    py: Python<'_>,
    func: Py<PyAny>,
    args: Py<PyTuple>,
    kwargs: Option<Py<PyDict>>,
    deliver: Py<PyAny>,
) -> PyResult<Ticket> {
    let flag = Arc::new(pool::Flag::default());
    let cancelled = Arc::clone(&flag);
    let job: pool::Job = Box::new(move || {
        Python::attach(|py| {
            if cancelled.is_set() {
                return;
            }
            let outcome = func.call(py, args.bind(py), kwargs.as_ref().map(|k| k.bind(py)));
            if cancelled.is_set() {
                return; // the outcome (a token, say) is dropped here, unread
            }
            let (ok, value) = match outcome {
                Ok(value) => (true, value),
                Err(e) => (false, e.into_value(py).into_any()),
            };
            // `deliver` catches the closed loop's RuntimeError itself; anything else is a bug
            // with nobody to raise it to.
            if let Err(e) = deliver.call1(py, (ok, value)) {
                e.write_unraisable(py, None);
            }
        });
    });
    if pool::submit(job).is_err() {
        let e = Error::invalid_argument("no thread could be started for the call");
        return Err(to_py_err(py, &e));
    }
    Ok(Ticket { flag })
}

/// The handle of an asyncio call on the binding's threads. Not part of the API.
#[pyclass(frozen, module = "concur_native._native", name = "_Ticket")]
struct Ticket {
    flag: Arc<pool::Flag>,
}

#[pymethods]
impl Ticket {
    /// Cancels the call: not sent if it has not started, its outcome dropped if it has.
    fn cancel(&self) {
        self.flag.set();
    }
}

/// Runs an empty call the way every network call runs, through the pool (`pooled=True`) or
/// on this thread with the GIL released (`False`, as before the pool), for the benchmark of
/// the pool's cost. Not part of the API.
#[pyfunction]
fn _empty_call_for_tests(py: Python<'_>, pooled: bool) -> PyResult<()> {
    if pooled {
        run(py, || Ok(()))
    } else {
        py.detach(|| catch_unwind(AssertUnwindSafe(|| Ok::<(), Error>(()))))
            .map_err(|_| internal_error(py))?
            .map_err(|e| to_py_err(py, &e))
    }
}

/// Panics inside the guard every call goes through, for the test suite: the panic must come
/// out as `InternalError`, never as `PanicException`. Not part of the API.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    run(py, || -> Result<(), Error> {
        panic!("the panic concur_native's tests ask for")
    })
}

/// Obtain an access token with Concur's Native Flow.
///
/// Sends ``GET {base_url}/net2/oauth2/accesstoken.ashx`` with the login ID and password as
/// HTTP Basic credentials and the consumer key as ``X-ConsumerKey``, and returns a ``Token``.
/// ``password`` may be None or "" for an account without one. ``base_url`` defaults to
/// ``https://www.concursolutions.com``; ``timeout`` (seconds) bounds the whole exchange (None:
/// the longest the core allows, an hour); ``ca_file`` adds trusted CA certificates (PEM) to
/// the roots of ``trust_store`` (``"mozilla"``, ``"os"`` or ``"both"``, as for ``Client``);
/// ``proxy`` is an HTTP(S) proxy URL (without it, ``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` are
/// honoured as by curl, unless ``proxy_from_env=False``).
///
/// The call runs on the library's threads while this one waits with the GIL released; Ctrl-C
/// interrupts the wait. Raises a ``ConcurError`` subclass on failure; no message ever contains
/// the password or the token. For many calls, a ``Client`` keeps
/// connections alive between them.
#[pyfunction]
#[pyo3(signature = (consumer_key, login_id, password, *, base_url=None, timeout=Some(30.0), ca_file=None, proxy=None, user_agent_suffix=None, proxy_from_env=true, trust_store="mozilla"))]
#[pyo3(
    text_signature = "(consumer_key, login_id, password, *, base_url=None, timeout=30.0, ca_file=None, proxy=None, user_agent_suffix=None, proxy_from_env=True, trust_store='mozilla')"
)]
#[allow(clippy::too_many_arguments)]
fn native_token(
    py: Python<'_>,
    consumer_key: Text,
    login_id: Text,
    password: Option<Text>,
    base_url: Option<Text>,
    timeout: Option<f64>,
    ca_file: Option<PathBuf>,
    proxy: Option<Text>,
    user_agent_suffix: Option<Text>,
    proxy_from_env: bool,
    trust_store: &str,
) -> PyResult<Token> {
    // Our copies of the credentials are wiped when they go out of scope; Python's own str
    // objects are the caller's to drop.
    guard(py, || {
        let password = password.map_or_else(|| Zeroizing::new(String::new()), |p| p.0);
        let options = options_from(
            py,
            base_url,
            timeout,
            ca_file,
            proxy,
            user_agent_suffix,
            proxy_from_env,
            trust_store,
        )?;
        let inner = run(py, move || {
            concur_native::native_token(&consumer_key, &login_id, &password, &options)
        })?;
        Ok(Token { inner })
    })
}

/// A reusable client: options checked once, TLS connections kept alive between calls, safe to
/// share between threads. Every method releases the GIL while it waits for Concur.
///
/// ``Client(*, base_url=None, timeout=30.0, ca_file=None, proxy=None, user_agent_suffix=None,
/// trusted_hosts=(), retries=None, correlation_id=None, proxy_from_env=True,
/// trust_store="mozilla")``. For the Native Flow's refresh and revocation, point ``base_url`` at
/// the token's ``instance_url``.
///
/// Without ``proxy``, the proxy environment variables are honoured as curl does
/// (``https_proxy``, ``HTTPS_PROXY``, ``all_proxy``, ``ALL_PROXY``, ``no_proxy``/``NO_PROXY``;
/// loopback hosts always go direct), read when the client is built; ``proxy_from_env=False``
/// ignores them. ``trust_store`` is ``"mozilla"`` (Mozilla's roots, the default), ``"os"`` (the
/// system's store: on Linux ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set, else the system bundle)
/// or ``"both"``; ``ca_file`` adds to any of them.
///
/// The current API (oauth2/v0): ``password_grant``, ``company_grant``, ``refresh_grant``,
/// ``client_credentials_grant``, ``authorization_code_grant``, ``send_otp`` / ``otp_grant``,
/// ``revoke_connections`` and ``exchange_legacy_refresh_token``. Each call goes to its
/// ``base_url`` keyword when given, else to the client's ``base_url`` when set, else to the host
/// Concur documents for it. A code 16 answer (the user lives elsewhere) is followed once when the
/// named host is trusted: under ``concursolutions.com``, one of ``trusted_hosts`` (host names,
/// matched exactly), or loopback when the call went to loopback. ``retries`` (default 2, at
/// most 10) resends after 429/502/503/504 within the timeout; ``correlation_id`` is sent as
/// ``concur-correlationid`` instead of a fresh UUID per request.
#[pyclass(frozen, module = "concur_native", name = "Client")]
struct PyClient {
    // Shared with the token managers built over this client.
    inner: Arc<concur_native::Client>,
}

#[pymethods]
impl PyClient {
    #[new]
    #[pyo3(signature = (*, base_url=None, timeout=Some(30.0), ca_file=None, proxy=None, user_agent_suffix=None, trusted_hosts=Vec::new(), retries=None, correlation_id=None, proxy_from_env=true, trust_store="mozilla"))]
    #[pyo3(
        text_signature = "(*, base_url=None, timeout=30.0, ca_file=None, proxy=None, user_agent_suffix=None, trusted_hosts=(), retries=None, correlation_id=None, proxy_from_env=True, trust_store='mozilla')"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        base_url: Option<Text>,
        timeout: Option<f64>,
        ca_file: Option<PathBuf>,
        proxy: Option<Text>,
        user_agent_suffix: Option<Text>,
        trusted_hosts: Vec<Text>,
        retries: Option<i64>,
        correlation_id: Option<Text>,
        proxy_from_env: bool,
        trust_store: &str,
    ) -> PyResult<Self> {
        guard(py, || {
            let mut options = options_from(
                py,
                base_url,
                timeout,
                ca_file,
                proxy,
                user_agent_suffix,
                proxy_from_env,
                trust_store,
            )?;
            for host in &trusted_hosts {
                options = options.trusted_host(&**host);
            }
            if let Some(retries) = retries {
                let Ok(retries) = u32::try_from(retries) else {
                    let e = Error::invalid_argument("retries must be a small non-negative integer");
                    return Err(to_py_err(py, &e));
                };
                options = options.retries(retries);
            }
            if let Some(id) = correlation_id {
                options = options.correlation_id(&*id);
            }
            let inner = concur_native::Client::new(&options).map_err(|e| to_py_err(py, &e))?;
            Ok(PyClient {
                inner: Arc::new(inner),
            })
        })
    }

    /// Obtain an access token with the Native Flow over this client's connections.
    #[pyo3(signature = (consumer_key, login_id, password))]
    fn native_token(
        &self,
        py: Python<'_>,
        consumer_key: Text,
        login_id: Text,
        password: Option<Text>,
    ) -> PyResult<Token> {
        let password = password.map_or_else(|| Zeroizing::new(String::new()), |p| p.0);
        let client = Arc::clone(&self.inner);
        let inner = run(py, move || {
            client.native_token(&consumer_key, &login_id, &password)
        })?;
        Ok(Token { inner })
    }

    /// Refresh a token with its refresh token. When Concur's answer carries no refresh token,
    /// the one given is kept in the returned ``Token``.
    fn refresh_token(
        &self,
        py: Python<'_>,
        client_id: Text,
        client_secret: Text,
        refresh_token: Text,
    ) -> PyResult<Token> {
        let client = Arc::clone(&self.inner);
        let inner = run(py, move || {
            client.refresh_token(&client_id, &client_secret, &refresh_token)
        })?;
        Ok(Token { inner })
    }

    /// Exchange a request token (the ``code`` of a Web-flow callback, an App Center listener
    /// call or an Auto-Connect connection request) for an access token.
    fn exchange_code(
        &self,
        py: Python<'_>,
        client_id: Text,
        client_secret: Text,
        code: Text,
    ) -> PyResult<Token> {
        let client = Arc::clone(&self.inner);
        let inner = run(py, move || {
            client.exchange_code(&client_id, &client_secret, &code)
        })?;
        Ok(Token { inner })
    }

    /// Revoke one access token, authorised by a Web Services Administrator's access token.
    fn revoke_token(&self, py: Python<'_>, admin_access_token: Text, token: Text) -> PyResult<()> {
        let client = Arc::clone(&self.inner);
        run(py, move || client.revoke_token(&admin_access_token, &token))
    }

    /// Revoke every token a user granted the application (identified by its consumer key).
    fn revoke_user_tokens(
        &self,
        py: Python<'_>,
        admin_access_token: Text,
        consumer_key: Text,
        login_id: Text,
    ) -> PyResult<()> {
        let client = Arc::clone(&self.inner);
        run(py, move || {
            client.revoke_user_tokens(&admin_access_token, &consumer_key, &login_id)
        })
    }

    /// Current API (oauth2/v0): a user's token for their username and password
    /// (``grant_type=password``). Goes to ``base_url`` when given, else the client's base URL,
    /// else Concur's production host; a user living in another data centre (code 16) is
    /// followed there once when that host is trusted. Returns an ``OAuth2Token``.
    #[pyo3(signature = (client_id, client_secret, username, password, *, scope=None, base_url=None))]
    #[allow(clippy::too_many_arguments)]
    fn password_grant(
        &self,
        py: Python<'_>,
        client_id: Text,
        client_secret: Text,
        username: Text,
        password: Text,
        scope: Option<Text>,
        base_url: Option<Text>,
    ) -> PyResult<PyOAuth2Token> {
        self.grant(py, move |client| {
            let grant = Grant::Password {
                username: &username,
                password: &password,
                scope: scope.as_deref(),
            };
            client.oauth2_token(&client_id, &client_secret, &grant, base_url.as_deref())
        })
    }

    /// Current API: a company-level token for App Center's company ID and request token
    /// (``credtype=authtoken``). Goes to Concur's GLZ host unless ``base_url`` or the client's
    /// base URL says otherwise.
    #[pyo3(signature = (client_id, client_secret, company_id, request_token, *, base_url=None))]
    fn company_grant(
        &self,
        py: Python<'_>,
        client_id: Text,
        client_secret: Text,
        company_id: Text,
        request_token: Text,
        base_url: Option<Text>,
    ) -> PyResult<PyOAuth2Token> {
        self.grant(py, move |client| {
            let grant = Grant::Company {
                company_id: &company_id,
                request_token: &request_token,
            };
            client.oauth2_token(&client_id, &client_secret, &grant, base_url.as_deref())
        })
    }

    /// Current API: a new access token for a refresh token (``grant_type=refresh_token``).
    /// Pass the token's ``geolocation`` as ``base_url``. Concur may rotate the refresh token:
    /// store the returned token's ``refresh_token``. Never sent twice by a retry.
    #[pyo3(signature = (client_id, client_secret, refresh_token, *, scope=None, base_url=None))]
    fn refresh_grant(
        &self,
        py: Python<'_>,
        client_id: Text,
        client_secret: Text,
        refresh_token: Text,
        scope: Option<Text>,
        base_url: Option<Text>,
    ) -> PyResult<PyOAuth2Token> {
        self.grant(py, move |client| {
            let grant = Grant::RefreshToken {
                refresh_token: &refresh_token,
                scope: scope.as_deref(),
            };
            client.oauth2_token(&client_id, &client_secret, &grant, base_url.as_deref())
        })
    }

    /// Current API: the application's own token (``grant_type=client_credentials``), without
    /// a refresh token.
    #[pyo3(signature = (client_id, client_secret, *, base_url=None))]
    fn client_credentials_grant(
        &self,
        py: Python<'_>,
        client_id: Text,
        client_secret: Text,
        base_url: Option<Text>,
    ) -> PyResult<PyOAuth2Token> {
        self.grant(py, move |client| {
            let grant = Grant::ClientCredentials;
            client.oauth2_token(&client_id, &client_secret, &grant, base_url.as_deref())
        })
    }

    /// Current API: trade the ``code`` of an authorization-code callback (see
    /// ``parse_oauth2_callback``) for a token; ``redirect_uri`` exactly as given to
    /// ``oauth2_authorize_url``. Single-use: never sent twice by a retry.
    #[pyo3(signature = (client_id, client_secret, code, redirect_uri, *, base_url=None))]
    fn authorization_code_grant(
        &self,
        py: Python<'_>,
        client_id: Text,
        client_secret: Text,
        code: Text,
        redirect_uri: Text,
        base_url: Option<Text>,
    ) -> PyResult<PyOAuth2Token> {
        self.grant(py, move |client| {
            let grant = Grant::AuthorizationCode {
                code: &code,
                redirect_uri: &redirect_uri,
            };
            client.oauth2_token(&client_id, &client_secret, &grant, base_url.as_deref())
        })
    }

    /// Current API: email the user a one-time password (``POST /oauth2/v0/otp``); then call
    /// ``otp_grant``. Returns None once Concur says it was sent.
    #[pyo3(signature = (client_id, client_secret, email, *, name=None, company=None, link=None, base_url=None))]
    #[allow(clippy::too_many_arguments)]
    fn send_otp(
        &self,
        py: Python<'_>,
        client_id: Text,
        client_secret: Text,
        email: Text,
        name: Option<Text>,
        company: Option<Text>,
        link: Option<Text>,
        base_url: Option<Text>,
    ) -> PyResult<()> {
        let client = Arc::clone(&self.inner);
        guard(py, || {
            run(py, move || {
                let request = OtpRequest {
                    email: &email,
                    name: name.as_deref(),
                    company: company.as_deref(),
                    link: link.as_deref(),
                };
                client.send_otp(&client_id, &client_secret, &request, base_url.as_deref())
            })
        })
    }

    /// Current API: a user's token for the one-time password emailed by ``send_otp``
    /// (``grant_type=otp``).
    #[pyo3(signature = (client_id, client_secret, email, otp, *, scope=None, base_url=None))]
    #[allow(clippy::too_many_arguments)]
    fn otp_grant(
        &self,
        py: Python<'_>,
        client_id: Text,
        client_secret: Text,
        email: Text,
        otp: Text,
        scope: Option<Text>,
        base_url: Option<Text>,
    ) -> PyResult<PyOAuth2Token> {
        self.grant(py, move |client| {
            let grant = Grant::Otp {
                email: &email,
                otp: &otp,
                scope: scope.as_deref(),
            };
            client.oauth2_token(&client_id, &client_secret, &grant, base_url.as_deref())
        })
    }

    /// Current API: revoke every refresh token the user gave this application
    /// (``DELETE /app-mgmt/v0/connections``), authorised by an access token of that user.
    /// Send it to the user's ``geolocation``.
    #[pyo3(signature = (access_token, *, base_url=None))]
    fn revoke_connections(
        &self,
        py: Python<'_>,
        access_token: Text,
        base_url: Option<Text>,
    ) -> PyResult<()> {
        let client = Arc::clone(&self.inner);
        guard(py, || {
            run(py, move || {
                client.revoke_connections(&access_token, base_url.as_deref())
            })
        })
    }

    /// Current API: trade a legacy refresh token (of the Native Flow, say) for one of the
    /// current API. ``app_access_token`` is a client-credentials token of the new application;
    /// ``company=True`` asks for a company token. Never sent twice by a retry. Returns a
    /// ``LegacyExchange``.
    #[pyo3(signature = (app_access_token, old_consumer_key, old_refresh_token, client_secret, *, company=false, base_url=None))]
    #[allow(clippy::too_many_arguments)]
    fn exchange_legacy_refresh_token(
        &self,
        py: Python<'_>,
        app_access_token: Text,
        old_consumer_key: Text,
        old_refresh_token: Text,
        client_secret: Text,
        company: bool,
        base_url: Option<Text>,
    ) -> PyResult<PyLegacyExchange> {
        let client = Arc::clone(&self.inner);
        guard(py, || {
            let inner = run(py, move || {
                client.exchange_legacy_refresh_token(
                    &app_access_token,
                    &old_consumer_key,
                    &old_refresh_token,
                    &client_secret,
                    company,
                    base_url.as_deref(),
                )
            })?;
            Ok(PyLegacyExchange { inner })
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

impl PyClient {
    /// One grant of the current API, run by [`run`].
    fn grant(
        &self,
        py: Python<'_>,
        call: impl FnOnce(&concur_native::Client) -> Result<OAuth2Token, Error> + Send + 'static,
    ) -> PyResult<PyOAuth2Token> {
        let client = Arc::clone(&self.inner);
        guard(py, || {
            let inner = run(py, move || call(&client))?;
            Ok(PyOAuth2Token { inner })
        })
    }
}

/// Build the URL that sends a user to Concur for the Web flow. Returns ``(url, state)``: keep
/// ``state`` (generated from the OS's CSPRNG when not given) and pass it to ``parse_callback``.
/// ``scopes`` are Concur API scopes such as ``("EXPRPT", "LIST")``.
#[pyfunction]
#[pyo3(signature = (client_id, redirect_uri, *, scopes=Vec::new(), state=None, base_url=None))]
fn authorization_url(
    py: Python<'_>,
    client_id: Text,
    redirect_uri: Text,
    scopes: Vec<Text>,
    state: Option<Text>,
    base_url: Option<Text>,
) -> PyResult<(String, String)> {
    guard(py, || {
        let scopes: Vec<&str> = scopes.iter().map(|s| &**s).collect();
        let base_url = base_url
            .as_deref()
            .unwrap_or(concur_native::DEFAULT_BASE_URL);
        concur_native::authorization_url(
            base_url,
            &client_id,
            &scopes,
            &redirect_uri,
            state.as_deref(),
        )
        .map(|r| (r.url, r.state))
        .map_err(|e| to_py_err(py, &e))
    })
}

/// Read the callback URL Concur sent the user back with (or App Center called the listener
/// with) and return its ``code``. With ``expected_state``, a different state raises
/// ``InvalidArgumentError``; an ``error=`` callback raises ``UnauthorizedError``.
#[pyfunction]
#[pyo3(signature = (callback_url, expected_state=None))]
fn parse_callback(
    py: Python<'_>,
    callback_url: Text,
    expected_state: Option<Text>,
) -> PyResult<String> {
    guard(py, || {
        concur_native::parse_callback(&callback_url, expected_state.as_deref())
            .map_err(|e| to_py_err(py, &e))
    })
}

/// Current API: build the URL that asks a user to grant the application access
/// (``{base_url}/oauth2/v0/authorize?…``, every part percent-encoded). Returns
/// ``(url, state)``: keep ``state`` (128 random bits from the OS's CSPRNG when not given) and
/// pass it to ``parse_oauth2_callback``. ``base_url`` defaults to Concur's browser-facing host.
#[pyfunction]
#[pyo3(signature = (client_id, redirect_uri, *, scopes=Vec::new(), state=None, base_url=None))]
fn oauth2_authorize_url(
    py: Python<'_>,
    client_id: Text,
    redirect_uri: Text,
    scopes: Vec<Text>,
    state: Option<Text>,
    base_url: Option<Text>,
) -> PyResult<(String, String)> {
    guard(py, || {
        let scopes: Vec<&str> = scopes.iter().map(|s| &**s).collect();
        concur_native::oauth2::oauth2_authorize_url(
            &client_id,
            &redirect_uri,
            &scopes,
            state.as_deref(),
            base_url.as_deref(),
        )
        .map(|r| (r.url, r.state))
        .map_err(|e| to_py_err(py, &e))
    })
}

/// Current API: read the URL Concur sent the user back to and return ``(code, geolocation)``
/// (``geolocation`` None when the callback named none). With ``expected_state``, the state is
/// checked first: a mismatch raises ``InvalidArgumentError``; a refusal raises
/// ``UnauthorizedError`` with Concur's ``error_code`` as ``concur_code``.
#[pyfunction]
#[pyo3(signature = (url, expected_state=None))]
fn parse_oauth2_callback(
    py: Python<'_>,
    url: Text,
    expected_state: Option<Text>,
) -> PyResult<(String, Option<String>)> {
    guard(py, || {
        concur_native::oauth2::parse_oauth2_callback(&url, expected_state.as_deref())
            .map(|c| (c.code.clone(), c.geolocation.clone()))
            .map_err(|e| to_py_err(py, &e))
    })
}

/// The compiled half of the ``concur_native`` package; import ``concur_native`` instead.
#[pymodule(gil_used = false)]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(native_token, m)?)?;
    m.add_function(wrap_pyfunction!(authorization_url, m)?)?;
    m.add_function(wrap_pyfunction!(parse_callback, m)?)?;
    m.add_function(wrap_pyfunction!(oauth2_authorize_url, m)?)?;
    m.add_function(wrap_pyfunction!(parse_oauth2_callback, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_empty_call_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_spawn, m)?)?;
    m.add_function(wrap_pyfunction!(manager::_wait_for_refreshes, m)?)?;
    m.add_class::<Ticket>()?;
    m.add_class::<Token>()?;
    m.add_class::<PyClient>()?;
    m.add_class::<PyOAuth2Token>()?;
    m.add_class::<PyLegacyExchange>()?;
    m.add_class::<manager::PyTokenManager>()?;
    m.add_class::<events::PyRefreshEvent>()?;
    m.add_class::<events::PyManagerStatus>()?;
    m.add_class::<vault::PyTokenVault>()?;
    m.add_class::<vault::PyConnectionInfo>()?;
    m.add_class::<vault::PyConnections>()?;
    m.add_class::<vault::PyKeepAliveReport>()?;
    m.add_class::<vault::PyConnectionManager>()?;
    m.add("__version__", concur_native::VERSION)?;
    m.add("DEFAULT_BASE_URL", concur_native::DEFAULT_BASE_URL)?;
    Ok(())
}
