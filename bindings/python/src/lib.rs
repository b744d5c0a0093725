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
use std::time::Duration;

use concur_native::{Error, ErrorKind, Options};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use zeroize::Zeroizing;

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
        let Some(seconds) = self.inner.expires_at() else {
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
            // A date out of datetime's range is unreadable, and unreadable is None: an
            // attribute read must not raise what the server chose.
            Err(e)
                if e.is_instance_of::<PyValueError>(py)
                    || e.is_instance_of::<PyOverflowError>(py) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The data-centre base URL for later calls, or None.
    #[getter]
    fn instance_url(&self) -> Option<&str> {
        self.inner.instance_url()
    }

    fn __repr__(&self) -> String {
        let quoted = |v: Option<&str>| v.map_or("None".to_string(), |v| format!("{v:?}"));
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

    fn __deepcopy__(slf: Py<Self>, _memo: Bound<'_, PyAny>) -> Py<Self> {
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
        Ok(PyErr::from_value(
            class.call((error.to_string(),), Some(&kwargs))?,
        ))
    };
    build().unwrap_or_else(|e| e)
}

/// Builds core options from the keyword arguments every entry point takes.
fn options_from(
    py: Python<'_>,
    base_url: Option<Text>,
    timeout: f64,
    ca_file: Option<PathBuf>,
    proxy: Option<Text>,
    user_agent_suffix: Option<Text>,
) -> PyResult<Options> {
    let Ok(timeout) = Duration::try_from_secs_f64(timeout) else {
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
    Ok(options)
}

/// Runs a core call with the GIL released and converts its outcome; a panic becomes an
/// `InternalError`.
fn run<T: Send>(py: Python<'_>, call: impl FnOnce() -> Result<T, Error> + Send) -> PyResult<T> {
    py.detach(|| catch_unwind(AssertUnwindSafe(call)))
        .map_err(|_| internal_error(py))?
        .map_err(|e| to_py_err(py, &e))
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
/// ``https://www.concursolutions.com``; ``timeout`` (seconds) bounds the whole exchange;
/// ``ca_file`` adds trusted CA certificates (PEM) to Mozilla's roots; ``proxy`` is an HTTP(S)
/// proxy URL (environment variables are never read).
///
/// The GIL is released during the network call. Raises a ``ConcurError`` subclass on failure;
/// no message ever contains the password or the token. For many calls, a ``Client`` keeps
/// connections alive between them.
#[pyfunction]
#[pyo3(signature = (consumer_key, login_id, password, *, base_url=None, timeout=30.0, ca_file=None, proxy=None, user_agent_suffix=None))]
#[allow(clippy::too_many_arguments)]
fn native_token(
    py: Python<'_>,
    consumer_key: Text,
    login_id: Text,
    password: Option<Text>,
    base_url: Option<Text>,
    timeout: f64,
    ca_file: Option<PathBuf>,
    proxy: Option<Text>,
    user_agent_suffix: Option<Text>,
) -> PyResult<Token> {
    // Our copies of the credentials are wiped when they go out of scope; Python's own str
    // objects are the caller's to drop.
    guard(py, || {
        let password = password.map_or_else(|| Zeroizing::new(String::new()), |p| p.0);
        let options = options_from(py, base_url, timeout, ca_file, proxy, user_agent_suffix)?;
        let inner = run(py, || {
            concur_native::native_token(&consumer_key, &login_id, &password, &options)
        })?;
        Ok(Token { inner })
    })
}

/// A reusable client: options checked once, TLS connections kept alive between calls, safe to
/// share between threads. Every method releases the GIL while it waits for Concur.
///
/// ``Client(base_url=None, timeout=30.0, ca_file=None, proxy=None, user_agent_suffix=None)``;
/// for refresh and revocation, point ``base_url`` at the token's ``instance_url``.
#[pyclass(frozen, module = "concur_native", name = "Client")]
struct PyClient {
    inner: concur_native::Client,
}

#[pymethods]
impl PyClient {
    #[new]
    #[pyo3(signature = (*, base_url=None, timeout=30.0, ca_file=None, proxy=None, user_agent_suffix=None))]
    fn new(
        py: Python<'_>,
        base_url: Option<Text>,
        timeout: f64,
        ca_file: Option<PathBuf>,
        proxy: Option<Text>,
        user_agent_suffix: Option<Text>,
    ) -> PyResult<Self> {
        guard(py, || {
            let options = options_from(py, base_url, timeout, ca_file, proxy, user_agent_suffix)?;
            let inner = concur_native::Client::new(&options).map_err(|e| to_py_err(py, &e))?;
            Ok(PyClient { inner })
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
        let inner = run(py, || {
            self.inner.native_token(&consumer_key, &login_id, &password)
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
        let inner = run(py, || {
            self.inner
                .refresh_token(&client_id, &client_secret, &refresh_token)
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
        let inner = run(py, || {
            self.inner.exchange_code(&client_id, &client_secret, &code)
        })?;
        Ok(Token { inner })
    }

    /// Revoke one access token, authorised by a Web Services Administrator's access token.
    fn revoke_token(&self, py: Python<'_>, admin_access_token: Text, token: Text) -> PyResult<()> {
        run(py, || self.inner.revoke_token(&admin_access_token, &token))
    }

    /// Revoke every token a user granted the application (identified by its consumer key).
    fn revoke_user_tokens(
        &self,
        py: Python<'_>,
        admin_access_token: Text,
        consumer_key: Text,
        login_id: Text,
    ) -> PyResult<()> {
        run(py, || {
            self.inner
                .revoke_user_tokens(&admin_access_token, &consumer_key, &login_id)
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
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

/// The compiled half of the ``concur_native`` package; import ``concur_native`` instead.
#[pymodule(gil_used = false)]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(native_token, m)?)?;
    m.add_function(wrap_pyfunction!(authorization_url, m)?)?;
    m.add_function(wrap_pyfunction!(parse_callback, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_class::<Token>()?;
    m.add_class::<PyClient>()?;
    m.add("__version__", concur_native::VERSION)?;
    m.add("DEFAULT_BASE_URL", concur_native::DEFAULT_BASE_URL)?;
    Ok(())
}
