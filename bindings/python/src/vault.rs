//! The Python class `TokenVault`: the core's token vault behind Python arguments (a store named
//! by URL, the manager's options, the keyword starts), with the GIL released whenever a
//! call may wait; `ConnectionInfo`, `KeepAliveReport` and the per-connection `ConnectionManager`
//! view that the requests/httpx adapters and anything taking a `TokenManager` accept.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use concur_native::Error;
use concur_native::vault::{ConnectionInfo, KeepAliveReport, TokenVault, VaultStart, open_store};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::events::{PyManagerStatus, observer};
use crate::manager::{policy_from, sealer_from};
use crate::{
    PyClient, PyOAuth2Token, Text, guard, quoted, refuse_pickle, run, to_py_err, utc_datetime,
};

/// An `InvalidArgumentError` with `detail`.
fn invalid(py: Python<'_>, detail: &str) -> PyErr {
    to_py_err(py, &Error::invalid_argument(detail))
}

/// A duration given as seconds (int or float) or a `datetime.timedelta`; `name` names the
/// argument in the error.
fn duration_from(py: Python<'_>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let seconds: f64 = if value.hasattr("total_seconds")? {
        value.call_method0("total_seconds")?.extract()?
    } else if value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid(
            py,
            &format!("{name}= must be seconds or a timedelta"),
        ));
    } else {
        value
            .extract()
            .map_err(|_| invalid(py, &format!("{name}= must be seconds or a timedelta")))?
    };
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| invalid(py, &format!("{name}= must be a non-negative duration")))
}

/// Many connections (companies, users, the application itself) kept alive in one store: the
/// ``TokenManager``'s guarantees per connection, a bounded in-memory cache, listing without
/// loading tokens, and ``keep_alive()`` for the daily cron.
///
/// ``TokenVault(client, client_id, client_secret, *, store="memory:", margin=300, floor=None,
/// store_key=None, require_sealed=False, on_event=None, cache_capacity=None, horizons=None)``
///
/// ``store`` is a URL: ``"memory:"`` (this process), ``"sqlite:///path"`` (the processes of a
/// machine), ``"redis://…"`` / ``"rediss://…"`` or ``"postgres://…"`` (many machines).
/// ``margin``, ``floor``, ``store_key`` and ``require_sealed`` mean what they mean for a
/// ``TokenManager``; ``on_event`` gets every ``RefreshEvent`` (its ``connection`` names the
/// connection; ``outcome == "expiring"`` warns that a refresh token came within a horizon,
/// 30 and 7 days by default, of its expiry). ``cache_capacity`` bounds the connections held in
/// memory (10,000 by default; least recently used out).
///
/// Connections are named by an ID of your choosing (printable text up to 256 bytes). Errors are
/// ``ConcurError`` subclasses: ``UnknownConnectionError`` for an ID the vault does not hold,
/// ``InvalidArgumentError`` for bad input, ``StoreError`` for a store that fails.
#[pyclass(frozen, module = "concur_native", name = "TokenVault")]
pub(crate) struct PyTokenVault {
    inner: Shared,
}

/// The core vault as the Python objects share it. The core's vault waits, when dropped, for
/// its connections' refreshes ahead, which may need the GIL (an `on_event` callback): the last
/// reference is dropped with the GIL released, so that a vault freed while it refreshes cannot
/// deadlock.
struct Shared(Option<Arc<TokenVault>>);

impl std::ops::Deref for Shared {
    type Target = Arc<TokenVault>;

    fn deref(&self) -> &Arc<TokenVault> {
        self.0.as_ref().expect("a vault is only taken when dropped")
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(vault) = self.0.take() {
            Python::attach(|py| py.detach(move || drop(vault)));
        }
    }
}

#[pymethods]
impl PyTokenVault {
    #[new]
    #[pyo3(signature = (client, client_id, client_secret, *, store=None, margin=300.0, floor=None, store_key=None, require_sealed=false, on_event=None, cache_capacity=None, horizons=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        client: &Bound<'_, PyClient>,
        client_id: Text,
        client_secret: Text,
        store: Option<Text>,
        margin: f64,
        floor: Option<f64>,
        store_key: Option<Bound<'_, PyAny>>,
        require_sealed: bool,
        on_event: Option<Bound<'_, PyAny>>,
        cache_capacity: Option<i64>,
        horizons: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        guard(py, || {
            let Ok(margin) = Duration::try_from_secs_f64(margin) else {
                return Err(invalid(
                    py,
                    "margin= must be a non-negative number of seconds",
                ));
            };
            let policy = floor
                .map(|floor| policy_from(margin, floor))
                .transpose()
                .map_err(|detail| invalid(py, &detail))?;
            let sealer = sealer_from(store_key, require_sealed).map_err(|d| invalid(py, &d))?;
            let on_event = match on_event.filter(|f| !f.is_none()) {
                Some(f) if !f.is_callable() => {
                    return Err(invalid(
                        py,
                        "on_event= must be callable (it is given each RefreshEvent)",
                    ));
                }
                f => f.map(Bound::unbind),
            };
            let capacity = match cache_capacity {
                None => None,
                Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                Some(_) => return Err(invalid(py, "cache_capacity= must be at least 1")),
            };
            let horizons = match horizons.filter(|h| !h.is_none()) {
                None => None,
                Some(list) => {
                    let mut found = Vec::new();
                    for item in list
                        .try_iter()
                        .map_err(|_| invalid(py, "horizons= must be a list of durations"))?
                    {
                        found.push(duration_from(py, "horizons", &item?)?);
                    }
                    Some(found)
                }
            };
            let url = store.as_deref().unwrap_or("memory:").to_string();
            let client = client.get().inner.clone();
            let client_id = client_id.to_string();
            let secret = client_secret;
            // Opening a store may reach a server: off the GIL.
            let mut vault = run(py, move || {
                let store = open_store(&url)?;
                TokenVault::new(client, &client_id, &secret, store)
            })?
            .with_observer(observer(on_event));
            vault = match policy {
                Some(policy) => vault.with_policy(policy),
                None => vault.with_margin(margin),
            };
            if let Some(sealer) = sealer {
                vault = vault.with_sealer(sealer);
            }
            if let Some(capacity) = capacity {
                vault = vault.with_cache_capacity(capacity);
            }
            if let Some(horizons) = horizons {
                vault = vault.with_horizons(horizons);
            }
            Ok(PyTokenVault {
                inner: Shared(Some(Arc::new(vault))),
            })
        })
    }

    /// Adds connection ``id`` and returns its first ``OAuth2Token``, stored before it is
    /// returned. One start, by keywords: ``refresh_token=`` (and ``geolocation=``), refreshed
    /// once at once; ``company_id=`` and ``request_token=`` (App Center's company grant);
    /// ``username=`` and ``password=``; ``code=`` and ``redirect_uri=`` (the Web flow's
    /// callback); or ``client_credentials=True`` (the application's own token). An ID the vault
    /// holds already is an ``InvalidArgumentError`` unless ``replace=True``.
    #[pyo3(signature = (id, *, refresh_token=None, geolocation=None, company_id=None, request_token=None, username=None, password=None, code=None, redirect_uri=None, client_credentials=false, replace=false))]
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        py: Python<'_>,
        id: Text,
        refresh_token: Option<Text>,
        geolocation: Option<Text>,
        company_id: Option<Text>,
        request_token: Option<Text>,
        username: Option<Text>,
        password: Option<Text>,
        code: Option<Text>,
        redirect_uri: Option<Text>,
        client_credentials: bool,
        replace: bool,
    ) -> PyResult<PyOAuth2Token> {
        guard(py, || {
            let start = start_from(
                py,
                [
                    ("refresh_token", refresh_token),
                    ("geolocation", geolocation),
                    ("company_id", company_id),
                    ("request_token", request_token),
                    ("username", username),
                    ("password", password),
                    ("code", code),
                    ("redirect_uri", redirect_uri),
                ],
                client_credentials,
            )?;
            let vault = Arc::clone(&self.inner);
            let id = id.to_string();
            let token = run(py, move || vault.add(&id, start, replace))?;
            Ok(PyOAuth2Token {
                inner: token.token().clone(),
            })
        })
    }

    /// Connection ``id``'s access token (``str``), valid for at least the floor: from memory
    /// while it is outside the refresh window, else from the store or one refresh shared by
    /// every caller (threads, processes, machines). The GIL is released while it waits.
    fn access_token(&self, py: Python<'_>, id: Text) -> PyResult<Py<PyString>> {
        guard(py, || {
            // The hot path, with the GIL held: a token in memory is read without waiting.
            if let Some(token) = self.cached(py, &id) {
                return Ok(token);
            }
            let vault = Arc::clone(&self.inner);
            let id = id.to_string();
            let token = run(py, move || vault.with_access_token(&id, str::to_string))?;
            Ok(PyString::new(py, &token).unbind())
        })
    }

    /// ``await vault.access_token_async(id)``: ``access_token(id)`` for asyncio code, run on
    /// the library's threads while the event loop goes on.
    fn access_token_async<'py>(slf: &Bound<'py, Self>, id: Text) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        py.import("concur_native._aio")?
            .getattr("vault_access_token")?
            .call1((slf, &*id))
    }

    /// Connection ``id``'s access token when it is held in memory and usable without waiting,
    /// else None: never waits, never sends. Not part of the API (``access_token_async``'s fast
    /// path).
    fn _cached_access_token(&self, py: Python<'_>, id: Text) -> Option<Py<PyString>> {
        self.cached(py, &id)
    }

    /// Connection ``id``'s whole ``OAuth2Token`` (expiry, geolocation, refresh token, …), as
    /// ``access_token(id)`` hands it out.
    fn token(&self, py: Python<'_>, id: Text) -> PyResult<PyOAuth2Token> {
        guard(py, || {
            let vault = Arc::clone(&self.inner);
            let id = id.to_string();
            let inner = run(py, move || vault.token(&id))?;
            Ok(PyOAuth2Token { inner })
        })
    }

    /// Forgets connection ``id``'s access token (say, after an API call answered 401): its
    /// next use refreshes.
    fn invalidate(&self, py: Python<'_>, id: Text) -> PyResult<()> {
        guard(py, || {
            let vault = Arc::clone(&self.inner);
            let id = id.to_string();
            run(py, move || vault.invalidate(&id))
        })
    }

    /// Removes connection ``id`` from memory and store; with ``revoke=True`` Concur revokes
    /// the connection first (and it is kept when that fails).
    #[pyo3(signature = (id, revoke=false))]
    fn remove(&self, py: Python<'_>, id: Text, revoke: bool) -> PyResult<()> {
        guard(py, || {
            let vault = Arc::clone(&self.inner);
            let id = id.to_string();
            run(py, move || vault.remove(&id, revoke))
        })
    }

    /// Connection ``id`` as an operator sees it (a ``ConnectionInfo``; no secret, no token
    /// loaded).
    fn connection(&self, py: Python<'_>, id: Text) -> PyResult<PyConnectionInfo> {
        guard(py, || {
            let vault = Arc::clone(&self.inner);
            let id = id.to_string();
            let info = run(py, move || vault.connection(&id))?;
            Ok(PyConnectionInfo::from(info))
        })
    }

    /// Every connection in ID order, as an iterator of ``ConnectionInfo`` that reads the store
    /// a page at a time (no token loaded: 100,000 connections list in little memory).
    fn connections(&self) -> PyConnections {
        PyConnections::new(Shared(Some(Arc::clone(&self.inner))))
    }

    /// A ``ManagerStatus`` of connection ``id``'s engine in this process.
    fn status(&self, py: Python<'_>, id: Text) -> PyResult<PyManagerStatus> {
        guard(py, || {
            let vault = Arc::clone(&self.inner);
            let id = id.to_string();
            let status = run(py, move || vault.status(&id))?;
            PyManagerStatus::new(py, status)
        })
    }

    /// Refreshes every connection whose refresh token expires within ``within`` (seconds or a
    /// ``timedelta``; 30 days by default), ``concurrency`` at a time (1 to 64), and returns a
    /// ``KeepAliveReport``. Safe from a cron on every machine at once. A connection Concur
    /// refuses (108) is reported dead, not raised; an outage is reported failed and left for
    /// the next run.
    #[pyo3(signature = (within=None, concurrency=8))]
    fn keep_alive(
        &self,
        py: Python<'_>,
        within: Option<Bound<'_, PyAny>>,
        concurrency: i64,
    ) -> PyResult<PyKeepAliveReport> {
        guard(py, || {
            let within = match within.filter(|w| !w.is_none()) {
                None => concur_native::vault::DEFAULT_KEEP_ALIVE_WITHIN,
                Some(w) => duration_from(py, "within", &w)?,
            };
            // Out of range (negative included) is the core's to refuse, by name.
            let concurrency = usize::try_from(concurrency).unwrap_or(0);
            let vault = Arc::clone(&self.inner);
            let report = run(py, move || vault.keep_alive(within, concurrency))?;
            Ok(PyKeepAliveReport::new(py, report))
        })
    }

    /// A view of connection ``id`` shaped like a ``TokenManager`` (``access_token()``,
    /// ``access_token_async()``, ``token()``, ``invalidate()``, ``status()``): give it to
    /// ``concur_native.auth.BearerAuth`` / ``HTTPXAuth`` or anything that takes a manager.
    fn manager(slf: &Bound<'_, Self>, id: Text) -> PyResult<PyConnectionManager> {
        let py = slf.py();
        concur_native::vault::check_connection_id(&id).map_err(|e| to_py_err(py, &e))?;
        Ok(PyConnectionManager {
            vault: slf.clone().unbind(),
            id: id.to_string(),
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", **self.inner)
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(refuse_pickle("TokenVault"))
    }
}

impl PyTokenVault {
    /// Connection `id`'s access token held in memory, as a new `str`, when the core hands it out
    /// without waiting (no lock, no store, no request); else None.
    fn cached(&self, py: Python<'_>, id: &str) -> Option<Py<PyString>> {
        self.inner
            .cached_access_token(id, |token| PyString::new(py, token).unbind())
    }
}

/// The start the keywords of `add` name; every keyword given must belong to it.
fn start_from(
    py: Python<'_>,
    given: [(&'static str, Option<Text>); 8],
    client_credentials: bool,
) -> PyResult<VaultStart> {
    const STARTS: [(&str, &[&str], &[&str]); 4] = [
        ("refresh_token=", &["refresh_token"], &["geolocation"]),
        (
            "company_id= and request_token=",
            &["company_id", "request_token"],
            &[],
        ),
        ("username= and password=", &["username", "password"], &[]),
        ("code= and redirect_uri=", &["code", "redirect_uri"], &[]),
    ];
    let present: Vec<&'static str> = given
        .iter()
        .filter(|(_, value)| value.is_some())
        .map(|(name, _)| *name)
        .collect();
    let [rt, geo, company, request, user, pass, code, redirect] = given.map(|(_, value)| value);
    let choices = "give one start: refresh_token= (with geolocation=), company_id= and \
                   request_token=, username= and password=, code= and redirect_uri=, or \
                   client_credentials=True";
    if client_credentials {
        if let Some(name) = present.first() {
            return Err(invalid(
                py,
                &format!("{name}= does not go with client_credentials=True"),
            ));
        }
        return Ok(VaultStart::ClientCredentials);
    }
    // The start is the one whose first required keyword is given.
    let Some((label, required, optional)) = STARTS
        .iter()
        .find(|(_, required, _)| required.iter().any(|r| present.contains(r)))
    else {
        return Err(invalid(py, choices));
    };
    if let Some(name) = present
        .iter()
        .find(|p| !required.contains(p) && !optional.contains(p))
    {
        return Err(invalid(py, &format!("{name}= does not go with {label}")));
    }
    if let Some(name) = required.iter().find(|r| !present.contains(r)) {
        return Err(invalid(
            py,
            &format!("{label} are given together: {name}= is missing"),
        ));
    }
    let owned = |t: Option<Text>| t.map(|t| t.to_string()).unwrap_or_default();
    Ok(match required[0] {
        "refresh_token" => VaultStart::RefreshToken {
            refresh_token: owned(rt),
            geolocation: geo.map(|g| g.to_string()),
        },
        "company_id" => VaultStart::Company {
            company_id: owned(company),
            request_token: owned(request),
        },
        "username" => VaultStart::Password {
            username: owned(user),
            password: owned(pass),
        },
        _ => VaultStart::AuthorizationCode {
            code: owned(code),
            redirect_uri: owned(redirect),
        },
    })
}

/// One connection of a ``TokenVault`` as an operator sees it (``vault.connection(id)``, each
/// item of ``vault.connections()``). Immutable; holds no secret. Times are aware UTC
/// ``datetime`` objects.
#[pyclass(frozen, eq, module = "concur_native", name = "ConnectionInfo")]
#[derive(PartialEq)]
pub(crate) struct PyConnectionInfo {
    info: ConnectionInfo,
}

impl From<ConnectionInfo> for PyConnectionInfo {
    fn from(info: ConnectionInfo) -> PyConnectionInfo {
        PyConnectionInfo { info }
    }
}

fn datetime_of(py: Python<'_>, seconds: Option<i64>) -> PyResult<Option<Bound<'_, PyAny>>> {
    utc_datetime(py, seconds.map(|s| s as f64))
}

#[pymethods]
impl PyConnectionInfo {
    /// The connection's ID (the caller's name for it).
    #[getter]
    fn id(&self) -> &str {
        &self.info.id
    }

    /// ``"company"``, ``"user"`` or ``"app"``.
    #[getter]
    fn kind(&self) -> &'static str {
        self.info.kind.as_str()
    }

    /// The token's subject (a company or user UUID), when Concur said.
    #[getter]
    fn subject(&self) -> Option<&str> {
        self.info.subject.as_deref()
    }

    /// The data centre the connection lives at.
    #[getter]
    fn geolocation(&self) -> Option<&str> {
        self.info.geolocation.as_deref()
    }

    /// When the stored access token expires.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        datetime_of(py, self.info.expires_at)
    }

    /// When the refresh token expires (when Concur said).
    #[getter]
    fn refresh_expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        datetime_of(py, self.info.refresh_expires_at)
    }

    /// When the connection was last refreshed (or added).
    #[getter]
    fn last_refresh<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        datetime_of(py, self.info.last_refresh)
    }

    /// ``"active"``, ``"expiring"`` (its refresh token within a horizon of its expiry),
    /// ``"failing"`` (transient failures in a row) or ``"dead"`` (Concur refused it; see
    /// ``concur_code``).
    #[getter]
    fn state(&self) -> &'static str {
        self.info.state_name()
    }

    /// Concur's code that killed the connection (108, …), when dead.
    #[getter]
    fn concur_code(&self) -> Option<i64> {
        self.info.concur_code
    }

    /// Transient failures in a row.
    #[getter]
    fn failures(&self) -> u32 {
        self.info.failures
    }

    /// The smallest horizon the refresh token's expiry is within (a ``timedelta``), or None.
    #[getter]
    fn horizon<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.info
            .horizon
            .map(|h| {
                py.import("datetime")?
                    .getattr("timedelta")?
                    .call1((0, h.as_secs_f64()))
            })
            .transpose()
    }

    /// When the connection was added.
    #[getter]
    fn added_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        datetime_of(py, Some(self.info.added_at))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let at = |s: Option<i64>| -> PyResult<String> { crate::repr_of(datetime_of(py, s)?) };
        Ok(format!(
            "ConnectionInfo(id={}, kind={}, subject={}, geolocation={}, expires_at={}, \
             refresh_expires_at={}, last_refresh={}, state={}, concur_code={}, failures={}, \
             added_at={})",
            quoted(Some(&self.info.id)),
            quoted(Some(self.info.kind.as_str())),
            quoted(self.info.subject.as_deref()),
            quoted(self.info.geolocation.as_deref()),
            at(self.info.expires_at)?,
            at(self.info.refresh_expires_at)?,
            at(self.info.last_refresh)?,
            quoted(Some(self.info.state_name())),
            self.info
                .concur_code
                .map_or("None".to_string(), |c| c.to_string()),
            self.info.failures,
            at(Some(self.info.added_at))?,
        ))
    }
}

/// The iterator ``vault.connections()`` returns: ``ConnectionInfo`` objects in ID order, the
/// store read a page at a time with the GIL released. A store that fails mid-way raises its
/// ``StoreError``, then the iterator ends.
#[pyclass(frozen, module = "concur_native", name = "ConnectionIterator")]
pub(crate) struct PyConnections {
    vault: Shared,
    cursor: Mutex<Cursor>,
}

/// Where a listing stands: the page read and not yet handed out, and the last ID read.
#[derive(Default)]
struct Cursor {
    page: VecDeque<ConnectionInfo>,
    after: Option<String>,
    done: bool,
}

/// How many connections a page of the listing reads.
const PAGE: usize = 500;

impl PyConnections {
    fn new(vault: Shared) -> PyConnections {
        PyConnections {
            vault,
            cursor: Mutex::new(Cursor::default()),
        }
    }

    /// The next connection, reading a page when the last is used up.
    fn next(&self) -> Option<Result<ConnectionInfo, Error>> {
        let mut cursor = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        if cursor.page.is_empty() && !cursor.done {
            match self.vault.connection_page(cursor.after.as_deref(), PAGE) {
                Ok(page) => {
                    cursor.done = page.len() < PAGE;
                    cursor.after = page.last().map(|c| c.id.clone());
                    cursor.page = page.into();
                }
                Err(e) => {
                    cursor.done = true;
                    return Some(Err(e));
                }
            }
        }
        cursor.page.pop_front().map(Ok)
    }
}

#[pymethods]
impl PyConnections {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyConnectionInfo>> {
        guard(py, || {
            // The cursor's lock is taken with the GIL released: a thread waiting for it never
            // holds the GIL its holder needs back.
            match py.detach(|| self.next()) {
                None => Ok(None),
                Some(Ok(info)) => Ok(Some(PyConnectionInfo::from(info))),
                Some(Err(e)) => Err(to_py_err(py, &e)),
            }
        })
    }
}

/// What one ``vault.keep_alive()`` did: ``checked == refreshed + fresh + len(dead) +
/// len(failed)``. ``dead`` lists ``(id, concur_code)``; ``failed`` lists ``(id, error)`` with
/// the ``ConcurError`` (its class, ``correlation_id``, …; never a secret). Immutable; true
/// when nothing died or failed.
#[pyclass(frozen, module = "concur_native", name = "KeepAliveReport")]
pub(crate) struct PyKeepAliveReport {
    checked: u64,
    refreshed: u64,
    fresh: u64,
    dead: Vec<(String, Option<i64>)>,
    failed: Vec<(String, Py<PyAny>)>,
}

impl PyKeepAliveReport {
    fn new(py: Python<'_>, report: KeepAliveReport) -> PyKeepAliveReport {
        PyKeepAliveReport {
            checked: report.checked,
            refreshed: report.refreshed,
            fresh: report.fresh,
            failed: report
                .failed
                .iter()
                .map(|f| {
                    (
                        f.id.clone(),
                        to_py_err(py, &f.error).into_value(py).into_any(),
                    )
                })
                .collect(),
            dead: report.dead,
        }
    }
}

#[pymethods]
impl PyKeepAliveReport {
    /// Connections found due.
    #[getter]
    fn checked(&self) -> u64 {
        self.checked
    }

    /// Connections this sweep refreshed.
    #[getter]
    fn refreshed(&self) -> u64 {
        self.refreshed
    }

    /// Connections that no longer needed it (another sweeper had them).
    #[getter]
    fn fresh(&self) -> u64 {
        self.fresh
    }

    /// ``(id, concur_code)`` of each connection Concur refused.
    #[getter]
    fn dead<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.dead.iter().cloned())
    }

    /// ``(id, error)`` of each connection that failed for now (left for the next run).
    #[getter]
    fn failed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .failed
            .iter()
            .map(|(id, e)| PyTuple::new(py, [id.into_pyobject(py)?.into_any(), e.bind(py).clone()]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn __bool__(&self) -> bool {
        self.dead.is_empty() && self.failed.is_empty()
    }

    fn __repr__(&self) -> String {
        format!(
            "KeepAliveReport(checked={}, refreshed={}, fresh={}, dead={}, failed={})",
            self.checked,
            self.refreshed,
            self.fresh,
            self.dead.len(),
            self.failed.len()
        )
    }
}

/// One connection of a ``TokenVault`` shaped like a ``TokenManager`` (``vault.manager(id)``):
/// ``access_token()``, ``access_token_async()``, ``token()``, ``invalidate()``, ``status()``.
/// For ``concur_native.auth.BearerAuth`` / ``HTTPXAuth`` and anything that takes a manager.
#[pyclass(frozen, module = "concur_native", name = "ConnectionManager")]
pub(crate) struct PyConnectionManager {
    vault: Py<PyTokenVault>,
    id: String,
}

impl PyConnectionManager {
    fn id_text(&self) -> Text {
        Text(zeroize::Zeroizing::new(self.id.clone()))
    }
}

#[pymethods]
impl PyConnectionManager {
    /// The connection's ID.
    #[getter]
    fn id(&self) -> &str {
        &self.id
    }

    /// The vault the connection is in.
    #[getter]
    fn vault(&self, py: Python<'_>) -> Py<PyTokenVault> {
        self.vault.clone_ref(py)
    }

    /// ``vault.access_token(id)``.
    fn access_token(&self, py: Python<'_>) -> PyResult<Py<PyString>> {
        self.vault.get().access_token(py, self.id_text())
    }

    /// ``vault.access_token_async(id)``.
    fn access_token_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyTokenVault::access_token_async(self.vault.bind(py), self.id_text())
    }

    /// ``vault.token(id)``.
    fn token(&self, py: Python<'_>) -> PyResult<PyOAuth2Token> {
        self.vault.get().token(py, self.id_text())
    }

    /// ``vault.invalidate(id)``.
    fn invalidate(&self, py: Python<'_>) -> PyResult<()> {
        self.vault.get().invalidate(py, self.id_text())
    }

    /// ``vault.status(id)``.
    fn status(&self, py: Python<'_>) -> PyResult<PyManagerStatus> {
        self.vault.get().status(py, self.id_text())
    }

    fn __repr__(&self) -> String {
        format!("ConnectionManager(id={})", quoted(Some(&self.id)))
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(refuse_pickle("ConnectionManager"))
    }
}
