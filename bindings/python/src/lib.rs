//! The Python module `concur_native._native`: a thin layer over the Rust core. Arguments are
//! converted, the network call runs with the GIL released, and core errors become the
//! exception classes of `concur_native._errors`.

use std::path::PathBuf;
use std::time::Duration;

use concur_native::{Error, ErrorKind, Options};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use zeroize::Zeroizing;

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
        datetime
            .getattr("datetime")?
            .call_method("fromtimestamp", (seconds,), Some(&kwargs))
            .map(Some)
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
/// no message ever contains the password or the token.
#[pyfunction]
#[pyo3(signature = (consumer_key, login_id, password, *, base_url=None, timeout=30.0, ca_file=None, proxy=None, user_agent_suffix=None))]
#[allow(clippy::too_many_arguments)]
fn native_token(
    py: Python<'_>,
    consumer_key: String,
    login_id: String,
    password: Option<String>,
    base_url: Option<String>,
    timeout: f64,
    ca_file: Option<PathBuf>,
    proxy: Option<String>,
    user_agent_suffix: Option<String>,
) -> PyResult<Token> {
    // Our copies of the credentials are wiped when they go out of scope; Python's own str
    // objects are the caller's to drop.
    let login_id = Zeroizing::new(login_id);
    let password = Zeroizing::new(password.unwrap_or_default());
    let Ok(timeout) = Duration::try_from_secs_f64(timeout) else {
        let e = Error::invalid_argument("the timeout must be a positive number of seconds");
        return Err(to_py_err(py, &e));
    };
    let mut options = Options::new().timeout(timeout);
    if let Some(url) = base_url {
        options = options.base_url(url);
    }
    if let Some(path) = ca_file {
        options = options.ca_file(path);
    }
    if let Some(url) = proxy {
        options = options.proxy(url);
    }
    if let Some(suffix) = user_agent_suffix {
        options = options.user_agent_suffix(suffix);
    }
    let result =
        py.detach(|| concur_native::native_token(&consumer_key, &login_id, &password, &options));
    match result {
        Ok(inner) => Ok(Token { inner }),
        Err(e) => Err(to_py_err(py, &e)),
    }
}

/// The compiled half of the ``concur_native`` package; import ``concur_native`` instead.
#[pymodule(gil_used = false)]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(native_token, m)?)?;
    m.add_class::<Token>()?;
    m.add("__version__", concur_native::VERSION)?;
    m.add("DEFAULT_BASE_URL", concur_native::DEFAULT_BASE_URL)?;
    Ok(())
}
