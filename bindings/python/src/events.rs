//! What a `TokenManager` tells Python: each refresh attempt as a frozen `RefreshEvent` (to the
//! `concur_native.manager` logger, then to `on_event`), and `status()` as a frozen
//! `ManagerStatus`. Neither holds a secret: the core's events and status hold none, and the
//! error is the `ConcurError` a caller would have been raised.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use concur_native::Error;
use concur_native::manager::{ManagerStatus, Observer, RefreshEvent};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{quoted, repr_of, to_py_err, utc_datetime};

/// The logger every event goes to.
const LOGGER: &str = "concur_native.manager";

/// `logging.WARNING` and `logging.INFO`.
const WARNING: i32 = 30;
const INFO: i32 = 20;

/// The manager's observer: each event to the `concur_native.manager` logger, then to
/// `on_event`. Called on the thread that made the attempt (a binding thread or the core's
/// refresh thread, never one holding the GIL while it waits for a refresh), it takes the GIL;
/// while the interpreter shuts down the event is dropped.
pub(crate) fn observer(on_event: Option<Py<PyAny>>) -> Observer {
    Arc::new(move |event: &RefreshEvent| {
        Python::try_attach(|py| deliver(py, event, on_event.as_ref()));
    })
}

fn deliver(py: Python<'_>, event: &RefreshEvent, on_event: Option<&Py<PyAny>>) {
    let logged = || -> PyResult<(Bound<'_, PyAny>, Py<PyRefreshEvent>)> {
        let object = Py::new(py, PyRefreshEvent::new(py, event))?;
        let logger = py
            .import("logging")?
            .getattr("getLogger")?
            .call1((LOGGER,))?;
        let level = match event.outcome.as_str() {
            "failed" | "dead" | "expiring" => WARNING,
            _ => INFO,
        };
        let extra = PyDict::new(py);
        extra.set_item("concur_event", &object)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("extra", extra)?;
        logger.call_method(
            "log",
            (level, "%s", object.get().text.as_str()),
            Some(&kwargs),
        )?;
        Ok((logger, object))
    };
    let (logger, object) = match logged() {
        Ok(done) => done,
        Err(e) => {
            // A broken logging set-up: nobody to raise it to.
            e.write_unraisable(py, None);
            return;
        }
    };
    let Some(callback) = on_event else {
        return;
    };
    if let Err(raised) = callback.call1(py, (object,)) {
        // Its class only: the text is the application's and could quote anything.
        let class = raised
            .get_type(py)
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "an exception".to_string());
        let warned = logger.call_method1(
            "warning",
            ("the on_event callback raised %s; ignored", class),
        );
        if let Err(e) = warned {
            e.write_unraisable(py, None);
        }
    }
}

/// Unix seconds of a `SystemTime`.
fn unix(at: SystemTime) -> f64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// The exception a core error is raised as, for an event or a status.
fn exception(py: Python<'_>, error: Option<&Error>) -> Option<Py<PyAny>> {
    error.map(|e| to_py_err(py, e).into_value(py).into_any())
}

/// An aware UTC `datetime` of a time always in range (now, or a few minutes from now).
fn required_datetime(py: Python<'_>, seconds: f64) -> PyResult<Bound<'_, PyAny>> {
    utc_datetime(py, Some(seconds))?
        .ok_or_else(|| PyValueError::new_err("the time is out of datetime's range"))
}

/// An optional time of Unix seconds, for `repr()`.
fn repr_time(py: Python<'_>, seconds: Option<f64>) -> PyResult<String> {
    repr_of(utc_datetime(py, seconds)?)
}

/// One refresh attempt of a ``TokenManager``, as operators see it (given to ``on_event`` and
/// attached to the log record as ``concur_event``). Immutable; holds no secret: no token, no
/// password, no key. ``str(event)`` is a one-line text for a log.
#[pyclass(frozen, module = "concur_native", name = "RefreshEvent")]
pub(crate) struct PyRefreshEvent {
    outcome: &'static str,
    trigger: &'static str,
    grant: Option<&'static str>,
    duration: f64,
    at: f64,
    expires_at: Option<i64>,
    refresh_expires_at: Option<i64>,
    error: Option<Py<PyAny>>,
    failures: u32,
    retry_at: Option<f64>,
    connection: Option<String>,
    horizon: Option<f64>,
    text: String,
}

impl PyRefreshEvent {
    fn new(py: Python<'_>, event: &RefreshEvent) -> PyRefreshEvent {
        PyRefreshEvent {
            outcome: event.outcome.as_str(),
            trigger: event.trigger.as_str(),
            grant: event.grant,
            duration: event.duration.as_secs_f64(),
            at: unix(event.at),
            expires_at: event.expires_at,
            refresh_expires_at: event.refresh_expires_at,
            error: exception(py, event.error.as_ref()),
            failures: event.failures,
            retry_at: event.retry_at.map(unix),
            connection: event.connection.as_deref().map(str::to_string),
            horizon: event.horizon.map(|h| h.as_secs_f64()),
            text: event.to_string(),
        }
    }
}

#[pymethods]
impl PyRefreshEvent {
    /// How it ended: ``"refreshed"`` (a new token from Concur, saved), ``"from_store"`` (another
    /// holder had refreshed), ``"failed"`` (tried again after ``retry_at``), ``"dead"``
    /// (Concur refused the credentials: not tried again), or, from a ``TokenVault``,
    /// ``"expiring"`` (a warning: the refresh token came within ``horizon`` of its expiry).
    #[getter]
    fn outcome(&self) -> &'static str {
        self.outcome
    }

    /// Why it was attempted: ``"absent"`` (no token yet), ``"ahead"`` (inside the margin, on
    /// the library's thread), ``"expired"`` (below the floor, a caller waited) or
    /// ``"invalidated"`` (after ``invalidate()``), or ``"keep_alive"`` (a vault's sweep).
    #[getter]
    fn trigger(&self) -> &'static str {
        self.trigger
    }

    /// The grant sent (``"refresh_token"``, ``"password"``, ``"client_credentials"``), or None
    /// when nothing was sent.
    #[getter]
    fn grant(&self) -> Option<&'static str> {
        self.grant
    }

    /// How long the attempt took, store included, in seconds.
    #[getter]
    fn duration(&self) -> f64 {
        self.duration
    }

    /// When the attempt ended, as an aware UTC ``datetime``.
    #[getter]
    fn at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        required_datetime(py, self.at)
    }

    /// The new access token's expiry (aware UTC ``datetime``) on success, else None.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.expires_at.map(|s| s as f64))
    }

    /// The new refresh token's expiry (aware UTC ``datetime``) when Concur said it, else None.
    #[getter]
    fn refresh_expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.refresh_expires_at.map(|s| s as f64))
    }

    /// On failure, the ``ConcurError`` a caller would have been raised (its ``code``,
    /// ``concur_code``, ``status_code``, ``correlation_id``, …; never a secret), else None.
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.error.as_ref().map(|e| e.clone_ref(py))
    }

    /// Failures in a row, this one included (0 on success).
    #[getter]
    fn failures(&self) -> u32 {
        self.failures
    }

    /// When the next attempt may start (aware UTC ``datetime``), after a failure that is
    /// tried again; else None.
    #[getter]
    fn retry_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.retry_at)
    }

    /// The connection the event is about, for a keeper of several; None for a ``TokenManager``.
    #[getter]
    fn connection(&self) -> Option<&str> {
        self.connection.as_deref()
    }

    /// For an ``"expiring"`` warning, the horizon the refresh token came within (a
    /// ``timedelta``: 30 or 7 days by default); else None.
    #[getter]
    fn horizon<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.horizon
            .map(|h| py.import("datetime")?.getattr("timedelta")?.call1((0, h)))
            .transpose()
    }

    fn __str__(&self) -> &str {
        &self.text
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let error = match &self.error {
            Some(e) => e.bind(py).repr()?.to_string(),
            None => "None".to_string(),
        };
        Ok(format!(
            "RefreshEvent(outcome={}, trigger={}, grant={}, duration={:.3}, at={}, \
             expires_at={}, refresh_expires_at={}, error={error}, failures={}, retry_at={}, \
             connection={})",
            quoted(Some(self.outcome)),
            quoted(Some(self.trigger)),
            quoted(self.grant),
            self.duration,
            repr_time(py, Some(self.at))?,
            repr_time(py, self.expires_at.map(|s| s as f64))?,
            repr_time(py, self.refresh_expires_at.map(|s| s as f64))?,
            self.failures,
            repr_time(py, self.retry_at)?,
            quoted(self.connection.as_deref()),
        ))
    }
}

/// Where a ``TokenManager`` stands (``manager.status()``): a snapshot for operators.
/// Immutable; holds no secret.
#[pyclass(frozen, module = "concur_native", name = "ManagerStatus")]
pub(crate) struct PyManagerStatus {
    state: &'static str,
    expires_at: Option<i64>,
    refresh_expires_at: Option<i64>,
    last_refresh: Option<f64>,
    last_error: Option<Py<PyAny>>,
    failures: u32,
    next_attempt: Option<f64>,
    refresh_count: u64,
    refreshing: bool,
}

impl PyManagerStatus {
    pub(crate) fn new(py: Python<'_>, status: ManagerStatus) -> PyResult<PyManagerStatus> {
        Ok(PyManagerStatus {
            state: status.state.as_str(),
            expires_at: status.expires_at,
            refresh_expires_at: status.refresh_expires_at,
            last_refresh: status.last_refresh.map(unix),
            last_error: exception(py, status.last_error.as_ref()),
            failures: status.failures,
            next_attempt: status.next_attempt.map(unix),
            refresh_count: status.refresh_count,
            refreshing: status.refreshing,
        })
    }
}

#[pymethods]
impl PyManagerStatus {
    /// ``"active"`` (nothing wrong since the last refresh), ``"failing"`` (the last attempts
    /// failed and are tried again) or ``"dead"`` (Concur refused the credentials: nothing more
    /// is sent until they change).
    #[getter]
    fn state(&self) -> &'static str {
        self.state
    }

    /// The access token's expiry (aware UTC ``datetime``) when one is held, else None.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.expires_at.map(|s| s as f64))
    }

    /// The refresh token's expiry (aware UTC ``datetime``) when known, else None.
    #[getter]
    fn refresh_expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.refresh_expires_at.map(|s| s as f64))
    }

    /// When the last successful refresh (or read from the store) ended, or None.
    #[getter]
    fn last_refresh<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.last_refresh)
    }

    /// The last failure as its ``ConcurError``, until a refresh succeeds; else None.
    #[getter]
    fn last_error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.last_error.as_ref().map(|e| e.clone_ref(py))
    }

    /// Failures in a row.
    #[getter]
    fn failures(&self) -> u32 {
        self.failures
    }

    /// When the next attempt may start (aware UTC ``datetime``) while failing, else None.
    #[getter]
    fn next_attempt<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        utc_datetime(py, self.next_attempt)
    }

    /// Refreshes that obtained a new token here since the manager was made.
    #[getter]
    fn refresh_count(&self) -> u64 {
        self.refresh_count
    }

    /// Whether a refresh is running now.
    #[getter]
    fn refreshing(&self) -> bool {
        self.refreshing
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let last_error = match &self.last_error {
            Some(e) => e.bind(py).repr()?.to_string(),
            None => "None".to_string(),
        };
        Ok(format!(
            "ManagerStatus(state={}, expires_at={}, refresh_expires_at={}, last_refresh={}, \
             last_error={last_error}, failures={}, next_attempt={}, refresh_count={}, \
             refreshing={})",
            quoted(Some(self.state)),
            repr_time(py, self.expires_at.map(|s| s as f64))?,
            repr_time(py, self.refresh_expires_at.map(|s| s as f64))?,
            repr_time(py, self.last_refresh)?,
            self.failures,
            repr_time(py, self.next_attempt)?,
            self.refresh_count,
            if self.refreshing { "True" } else { "False" },
        ))
    }
}
