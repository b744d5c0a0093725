//! The Python class `TokenManager`: the core's token manager behind Python arguments (a start,
//! a store named by a path, a `redis://` URL or an object with `load`/`save`), with the GIL
//! released whenever a call may wait.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use concur_native::manager::{
    AccessToken, Document, FileStore, MemoryStore, RedisStore, RefreshPolicy, Sealer, Start,
    StoreKey, StoreLock, TokenManager, TokenStore,
};
use concur_native::{Error, OAuth2Token};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString, PyTuple};
use zeroize::Zeroizing;

use crate::events::{PyManagerStatus, observer};
use crate::{PyClient, PyOAuth2Token, Text, guard, refuse_pickle, run, to_py_err};

/// The Redis key a token is kept under when `redis_key` is not given.
const DEFAULT_REDIS_KEY: &str = "concur-native:token";

/// Keeps one valid access token for every thread of this process, and through a shared store
/// for other processes (a file) or machines (Redis). Refreshed once, shortly before it expires,
/// however many threads ask at that moment; the refresh token Concur may rotate is saved before
/// the new access token is handed out.
///
/// ``TokenManager(client, client_id, client_secret, *, refresh_token=None, geolocation=None,
/// grant=None, username=None, password=None, company_id=None, request_token=None, store=None,
/// redis_key=None, margin=300, floor=None, store_key=None, require_sealed=False,
/// on_event=None)``
///
/// Start from a stored ``refresh_token`` (and its ``geolocation``), or name a ``grant``:
/// ``"password"`` (with ``username=`` and ``password=``), ``"company"`` (with ``company_id=``
/// and ``request_token=``) or ``"client_credentials"`` (asked again whenever it expires). The
/// start is used only while the store holds no token. ``store`` is None (this process's
/// memory), a path (a file shared by the processes of a machine, replaced atomically, locked
/// with ``flock`` around each refresh), a ``redis://`` or ``rediss://`` URL (workers on many
/// machines; the token under ``redis_key``, default ``"concur-native:token"``), or an object
/// with ``load() -> bytes | None`` and ``save(bytes)`` (your own secret storage; refreshes are
/// serialised within this process only). ``margin`` (seconds) is how long before its expiry a
/// token is refreshed: inside it, callers keep the current token while one refresh runs on a
/// library thread. ``floor`` (seconds, default 30, below ``margin``, at most a day) is the
/// least validity handed out: below it a caller waits for the refresh. Transient failures are
/// retried with backoff while the token lasts.
///
/// ``store_key`` seals what the store holds (AES-256-GCM): 32 bytes, their base64 text, or a
/// list of them (the first seals, every one opens: key rotation). A plain stored document is
/// read and sealed at the next save, unless ``require_sealed=True``. ``on_event`` is called
/// with a ``RefreshEvent`` after every refresh attempt, on the thread that made it (keep it
/// short; an exception it raises is logged and ignored). Every event is also logged on the
/// ``concur_native.manager`` logger (info, warning for failures). ``status()`` returns a
/// ``ManagerStatus``.
///
/// ``access_token()`` returns the access token (``str``), ``await access_token_async()`` the
/// same for asyncio (off the event loop), ``token()`` the whole ``OAuth2Token``
/// and ``invalidate()`` forgets the token held in memory (after an API call answered 401).
/// Errors are ``ConcurError`` subclasses: ``UnauthorizedError`` for a refresh token Concur calls
/// bad or expired (code 108; it is not sent again), ``StoreError`` when the store cannot be
/// read or written (the token is then not handed out).
#[pyclass(frozen, module = "concur_native", name = "TokenManager")]
pub(crate) struct PyTokenManager {
    inner: Arc<TokenManager>,
    /// The cached token's text as a Python `str`, made once per token rather than per call:
    /// `access_token()` hands out a new reference to it while the core still holds that very
    /// token as usable without waiting (`TokenManager::is_cached`).
    text: ArcSwapOption<CachedText>,
    callbacks: Option<Arc<Callbacks>>,
}

impl Drop for PyTokenManager {
    /// The core's manager waits, when dropped, for a refresh ahead still running, which may
    /// need the GIL (an `on_event` callback, a callback store): this waits first, with the GIL
    /// released, so that a manager freed while it refreshes cannot deadlock.
    fn drop(&mut self) {
        let inner = &self.inner;
        Python::attach(|py| py.detach(|| inner.wait_idle(Duration::from_secs(3600))));
    }
}

/// Waits, at most `timeout` seconds and with the GIL released, until no refresh ahead runs in
/// the process: the package's `atexit` hook, since a process that ends in the middle of a
/// refresh may lose the refresh token Concur just rotated.
#[pyfunction]
pub(crate) fn _wait_for_refreshes(py: Python<'_>, timeout: f64) -> bool {
    let timeout = Duration::try_from_secs_f64(timeout).unwrap_or(Duration::ZERO);
    py.detach(|| concur_native::manager::wait_for_refreshes(timeout))
}

#[pymethods]
impl PyTokenManager {
    #[new]
    #[pyo3(signature = (client, client_id, client_secret, *, refresh_token=None, geolocation=None, grant=None, username=None, password=None, company_id=None, request_token=None, store=None, redis_key=None, margin=300.0, floor=None, store_key=None, require_sealed=false, on_event=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        client: &Bound<'_, PyClient>,
        client_id: Text,
        client_secret: Text,
        refresh_token: Option<Text>,
        geolocation: Option<Text>,
        grant: Option<Text>,
        username: Option<Text>,
        password: Option<Text>,
        company_id: Option<Text>,
        request_token: Option<Text>,
        store: Option<Bound<'_, PyAny>>,
        redis_key: Option<Text>,
        margin: f64,
        floor: Option<f64>,
        store_key: Option<Bound<'_, PyAny>>,
        require_sealed: bool,
        on_event: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        guard(py, || {
            let invalid = |detail: &str| to_py_err(py, &Error::invalid_argument(detail));
            let given = [
                ("refresh_token", refresh_token.is_some()),
                ("geolocation", geolocation.is_some()),
                ("username", username.is_some()),
                ("password", password.is_some()),
                ("company_id", company_id.is_some()),
                ("request_token", request_token.is_some()),
            ];
            // Every keyword given must belong to the chosen start.
            let only = |allowed: &[&str], start: &str| -> PyResult<()> {
                match given
                    .iter()
                    .find(|(name, is)| *is && !allowed.contains(name))
                {
                    Some((name, _)) => Err(invalid(&format!("{name}= does not go with {start}"))),
                    None => Ok(()),
                }
            };
            let owned = |t: Option<Text>| t.map(|t| t.to_string()).unwrap_or_default();
            let start = match grant.as_deref() {
                None => {
                    only(&["refresh_token", "geolocation"], "a refresh-token start")?;
                    let Some(refresh_token) = refresh_token else {
                        return Err(invalid(
                            "give refresh_token=, or grant= \"password\", \"company\" or \
                             \"client_credentials\"",
                        ));
                    };
                    Start::RefreshToken {
                        refresh_token: refresh_token.to_string(),
                        geolocation: geolocation.map(|g| g.to_string()),
                    }
                }
                Some("password") => {
                    only(&["username", "password"], "grant=\"password\"")?;
                    if username.is_none() || password.is_none() {
                        return Err(invalid("grant=\"password\" needs username= and password="));
                    }
                    Start::Password {
                        username: owned(username),
                        password: owned(password),
                    }
                }
                Some("company") => {
                    only(&["company_id", "request_token"], "grant=\"company\"")?;
                    if company_id.is_none() || request_token.is_none() {
                        return Err(invalid(
                            "grant=\"company\" needs company_id= and request_token=",
                        ));
                    }
                    Start::Company {
                        company_id: owned(company_id),
                        request_token: owned(request_token),
                    }
                }
                Some("client_credentials") => {
                    only(&[], "grant=\"client_credentials\"")?;
                    Start::ClientCredentials
                }
                Some(_) => {
                    return Err(invalid(
                        "grant= must be \"password\", \"company\" or \"client_credentials\"",
                    ));
                }
            };
            let Ok(margin) = Duration::try_from_secs_f64(margin) else {
                return Err(invalid("margin= must be a non-negative number of seconds"));
            };
            let policy = floor
                .map(|floor| policy_from(margin, floor))
                .transpose()
                .map_err(|detail| invalid(&detail))?;
            let sealer =
                sealer_from(store_key, require_sealed).map_err(|detail| invalid(&detail))?;
            let on_event = match on_event.filter(|f| !f.is_none()) {
                Some(f) if !f.is_callable() => {
                    return Err(invalid(
                        "on_event= must be callable (it is given each RefreshEvent)",
                    ));
                }
                f => f.map(Bound::unbind),
            };
            let (store, callbacks) = store_from(py, store, redis_key)?;
            let client = client.get().inner.clone();
            let mut inner = TokenManager::new(client, &client_id, &client_secret, start)
                .map_err(|e| to_py_err(py, &e))?
                .with_boxed_store(store)
                .with_observer(observer(on_event));
            // Without floor=, margin= keeps its meaning of old (the floor follows it down).
            inner = match policy {
                Some(policy) => inner.with_policy(policy),
                None => inner.with_margin(margin),
            };
            if let Some(sealer) = sealer {
                inner = inner.with_sealer(sealer);
            }
            Ok(PyTokenManager {
                inner: Arc::new(inner),
                text: ArcSwapOption::empty(),
                callbacks,
            })
        })
    }

    /// A valid access token (``str``), for ``Authorization: Bearer …``: from memory while it is
    /// valid for at least the margin (no request), else refreshed once for every caller waiting.
    /// The GIL is released while it waits.
    fn access_token(&self, py: Python<'_>) -> PyResult<Py<PyString>> {
        guard(py, || {
            // The hot path, with the GIL held: a fresh token in memory is read without waiting.
            if let Some(token) = self.cached(py) {
                return Ok(token);
            }
            let token = self.call(py, |m| m.with_access_token(str::to_string))?;
            Ok(PyString::new(py, &token).unbind())
        })
    }

    /// ``await manager.access_token_async()``: the same token as ``access_token()`` for asyncio
    /// code. A fresh token in memory is returned without leaving the event loop's thread; a
    /// refresh runs on the library's threads while the loop goes on. Cancelling the awaiting
    /// task raises ``CancelledError`` at once; a refresh already under way still completes for
    /// every other caller.
    fn access_token_async<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        py.import("concur_native._aio")?
            .getattr("manager_access_token")?
            .call1((slf,))
    }

    /// The access token held in memory when it is valid for at least the margin, else None:
    /// never waits, never sends. Not part of the API (``access_token_async``'s fast path).
    fn _cached_access_token(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.cached(py)
    }

    /// The whole ``OAuth2Token`` behind ``access_token()``: expiry, geolocation (where to send
    /// API calls), refresh token, … .
    fn token(&self, py: Python<'_>) -> PyResult<PyOAuth2Token> {
        let inner: OAuth2Token = self.call(py, |m| m.access_token().map(|t| t.token().clone()))?;
        Ok(PyOAuth2Token { inner })
    }

    /// Forgets the access token held in memory (say, after an API call answered 401): the next
    /// call reads the store, and refreshes when the stored token is no fresher.
    fn invalidate(&self) {
        self.inner.invalidate();
    }

    /// A ``ManagerStatus`` snapshot for operators: state, expiries, last refresh and error,
    /// failures in a row, next attempt, refresh count. Never waits for a refresh; holds no
    /// secret.
    fn status(&self, py: Python<'_>) -> PyResult<PyManagerStatus> {
        guard(py, || {
            let manager = Arc::clone(&self.inner);
            let status = py.detach(move || manager.status());
            PyManagerStatus::new(py, status)
        })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(refuse_pickle("TokenManager"))
    }
}

/// A token the core handed out and its text as a Python `str`.
struct CachedText {
    token: AccessToken,
    text: Py<PyString>,
}

impl PyTokenManager {
    /// The access token held in memory when it is usable without waiting, else None: the
    /// `str` made for it earlier when the core still holds that very token (no lock, no
    /// allocation, no copy: a reference count), else a new `str`, kept for the next calls.
    fn cached(&self, py: Python<'_>) -> Option<Py<PyString>> {
        if let Some(text) = self.text.load().as_ref()
            && self.inner.is_cached(&text.token)
        {
            return Some(text.text.clone_ref(py));
        }
        let token = self.inner.cached_token()?;
        let text = PyString::new(py, token.as_str()).unbind();
        self.text.store(Some(Arc::new(CachedText {
            text: text.clone_ref(py),
            token,
        })));
        Some(text)
    }

    /// Runs `f` on the manager with the GIL released; a store callback's exception becomes the
    /// `__cause__` of the `StoreError`.
    fn call<T: Send + 'static>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&TokenManager) -> Result<T, Error> + Send + 'static,
    ) -> PyResult<T> {
        let manager = Arc::clone(&self.inner);
        run(py, move || f(&manager)).inspect_err(|e| {
            if let Some(raised) = self.callbacks.as_ref().and_then(|c| c.take_raised()) {
                e.set_cause(py, Some(raised));
            }
        })
    }
}

/// The longest margin or floor a policy with an explicit floor accepts: a day.
const MAX_THRESHOLD_SECONDS: f64 = 86_400.0;

/// The refresh policy of `margin=` (already checked) with an explicit `floor=`; the error is
/// the detail of an `InvalidArgumentError`.
pub(crate) fn policy_from(margin: Duration, floor: f64) -> Result<RefreshPolicy, String> {
    if !floor.is_finite() || floor < 0.0 {
        return Err("floor= must be a non-negative number of seconds".into());
    }
    if floor > MAX_THRESHOLD_SECONDS {
        return Err("floor= must be at most a day (86400 seconds)".into());
    }
    if margin.as_secs_f64() > MAX_THRESHOLD_SECONDS {
        return Err("margin= must be at most a day (86400 seconds) when floor= is given".into());
    }
    let floor = Duration::from_secs_f64(floor);
    if floor >= margin {
        return Err("floor= must be below margin= (the refresh window)".into());
    }
    RefreshPolicy::new(margin, floor).map_err(|e| format!("floor=: {e}"))
}

/// The sealer of `store_key=` and `require_sealed=`; None without a key. The error is the
/// detail of an `InvalidArgumentError` and never quotes a key.
pub(crate) fn sealer_from(
    store_key: Option<Bound<'_, PyAny>>,
    require_sealed: bool,
) -> Result<Option<Sealer>, String> {
    let Some(given) = store_key.filter(|k| !k.is_none()) else {
        if require_sealed {
            return Err("require_sealed=True needs store_key=".into());
        }
        return Ok(None);
    };
    let keys = if given.is_instance_of::<PyList>() || given.is_instance_of::<PyTuple>() {
        let mut keys = Vec::new();
        for (n, item) in given
            .try_iter()
            .map_err(|_| "store_key= is unreadable")?
            .enumerate()
        {
            let item = item.map_err(|_| "store_key= is unreadable")?;
            keys.push(key_from(&item).map_err(|e| format!("{e} (item {n} of the list)"))?);
        }
        if keys.is_empty() {
            return Err("store_key= is an empty list: give at least one key".into());
        }
        keys
    } else {
        vec![key_from(&given)?]
    };
    let sealer = Sealer::new(keys).map_err(|e| format!("store_key=: {e}"))?;
    Ok(Some(sealer.require_sealed(require_sealed)))
}

/// One key of `store_key=`: 32 raw bytes, or their base64 text (standard or URL-safe, padded
/// or not). Copies are wiped; errors never quote the key.
fn key_from(item: &Bound<'_, PyAny>) -> Result<StoreKey, String> {
    if let Ok(bytes) = item.cast::<PyBytes>() {
        return StoreKey::from_bytes(bytes.as_bytes())
            .map_err(|_| "store_key= must be 32 bytes (or their base64 text)".into());
    }
    if let Ok(bytes) = item.cast::<PyByteArray>() {
        let copy = Zeroizing::new(bytes.to_vec());
        return StoreKey::from_bytes(&copy)
            .map_err(|_| "store_key= must be 32 bytes (or their base64 text)".into());
    }
    if let Ok(text) = item.cast::<PyString>() {
        let not_base64 = || "store_key= is not the base64 text of 32 bytes".to_string();
        let text = Zeroizing::new(text.to_cow().map_err(|_| not_base64())?.into_owned());
        return StoreKey::from_base64(&text).map_err(|_| not_base64());
    }
    Err("store_key= must be bytes, a base64 str, or a list of them".into())
}

/// A store, and its callbacks when it is a Python object.
type ChosenStore = (Box<dyn TokenStore>, Option<Arc<Callbacks>>);

/// The store a `store=` argument names, and its callbacks when it is a Python object.
fn store_from(
    py: Python<'_>,
    store: Option<Bound<'_, PyAny>>,
    redis_key: Option<Text>,
) -> PyResult<ChosenStore> {
    let invalid = |detail: &str| to_py_err(py, &Error::invalid_argument(detail));
    let Some(store) = store.filter(|s| !s.is_none()) else {
        if redis_key.is_some() {
            return Err(invalid("redis_key= goes with a redis:// store only"));
        }
        return Ok((Box::new(MemoryStore::new()), None));
    };
    if store.is_instance_of::<PyString>() {
        let text: Text = store.extract()?;
        if text.starts_with("redis://") || text.starts_with("rediss://") {
            let key = redis_key.as_deref().unwrap_or(DEFAULT_REDIS_KEY);
            let redis = RedisStore::new(&text, key).map_err(|e| to_py_err(py, &e))?;
            return Ok((Box::new(redis), None));
        }
        if redis_key.is_some() {
            return Err(invalid("redis_key= goes with a redis:// store only"));
        }
        if text.is_empty() {
            return Err(invalid("store= is an empty path"));
        }
        return Ok((Box::new(FileStore::new(PathBuf::from(&*text))), None));
    }
    if redis_key.is_some() {
        return Err(invalid("redis_key= goes with a redis:// store only"));
    }
    if store.hasattr("__fspath__")? {
        let path: PathBuf = store.extract()?;
        return Ok((Box::new(FileStore::new(path)), None));
    }
    if store.hasattr("load")? && store.hasattr("save")? {
        let callbacks = Arc::new(Callbacks {
            object: store.unbind(),
            locked: Mutex::new(false),
            released: Condvar::new(),
            raised: Mutex::new(None),
        });
        return Ok((Box::new(CallbackStore(callbacks.clone())), Some(callbacks)));
    }
    Err(PyTypeError::new_err(
        "store= must be None, a path, a redis:// URL, or an object with load() and save(bytes)",
    ))
}

/// A store kept by Python code: `load() -> bytes | None` and `save(bytes)`, called with the
/// GIL; refreshes are serialised by a lock of this process.
struct Callbacks {
    object: Py<PyAny>,
    locked: Mutex<bool>,
    released: Condvar,
    /// The exception a callback raised last, until the error it caused reaches Python.
    raised: Mutex<Option<PyErr>>,
}

impl Callbacks {
    fn lock_state(&self) -> MutexGuard<'_, bool> {
        self.locked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take_raised(&self) -> Option<PyErr> {
        self.raised
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// A store error naming the exception's class only: its text is the application's and
    /// could quote anything; the exception itself becomes the error's `__cause__`.
    fn failed(&self, py: Python<'_>, raised: PyErr, what: &str) -> Error {
        let class = raised
            .get_type(py)
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "an exception".to_string());
        *self.raised.lock().unwrap_or_else(PoisonError::into_inner) = Some(raised);
        Error::store_failure(format!("the token store's {what} raised {class}"))
    }

    fn load(&self) -> Result<Option<Document>, Error> {
        Python::attach(|py| {
            let value = self
                .object
                .bind(py)
                .call_method0("load")
                .map_err(|e| self.failed(py, e, "load()"))?;
            if value.is_none() {
                return Ok(None);
            }
            let document = if let Ok(bytes) = value.cast::<PyBytes>() {
                bytes.as_bytes().to_vec()
            } else if let Ok(bytes) = value.cast::<PyByteArray>() {
                bytes.to_vec()
            } else {
                return Err(Error::store_failure(
                    "the token store's load() returned neither bytes nor None",
                ));
            };
            Ok(Some(zeroize::Zeroizing::new(document)))
        })
    }

    fn save(&self, document: &[u8]) -> Result<(), Error> {
        Python::attach(|py| {
            let bytes = PyBytes::new(py, document);
            self.object
                .bind(py)
                .call_method1("save", (bytes,))
                .map(|_| ())
                .map_err(|e| self.failed(py, e, "save(bytes)"))
        })
    }
}

struct CallbackStore(Arc<Callbacks>);

impl TokenStore for CallbackStore {
    fn load(&self) -> Result<Option<Document>, Error> {
        self.0.load()
    }

    fn lock(&self, wait: Duration) -> Result<Box<dyn StoreLock + '_>, Error> {
        let deadline = Instant::now() + wait;
        let mut locked = self.0.lock_state();
        while *locked {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::store_failure(
                    "the token store's lock was not released in time",
                ));
            }
            locked = self
                .0
                .released
                .wait_timeout(locked, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *locked = true;
        Ok(Box::new(CallbackLock(&self.0)))
    }
}

/// This process's lock on a callback store, released when dropped.
struct CallbackLock<'a>(&'a Callbacks);

impl StoreLock for CallbackLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        self.0.load()
    }

    // This process's lock is the only exclusion a callback store has: holding it is the
    // compare-and-swap.
    fn save(&mut self, document: &[u8]) -> Result<(), Error> {
        self.0.save(document)
    }
}

impl Drop for CallbackLock<'_> {
    fn drop(&mut self) {
        *self.0.lock_state() = false;
        self.0.released.notify_one();
    }
}
