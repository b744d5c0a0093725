//! `concur_token_manager`: the token manager in the C ABI, over a store named by the caller (a
//! file, Redis, or the application's own load/save callbacks).

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::args::{optional, required};
use super::boundary::boundary;
use super::buffers::concur_oauth2_token_buffers;
use super::client::{client_ref, concur_client};
use super::details::concur_error_details;
use super::extensible;
use super::failure::{Failure, invalid};
use super::manager_events::{EventSink, concur_manager_status, concur_refresh_event_cb};
use super::oauth2::{deliver_token, details_export, failed_into, open_token_out};
use super::status::concur_status;
use crate::Error;
use crate::manager::{
    DEFAULT_WINDOW, Document, FileStore, MemoryStore, RefreshPolicy, Sealer, Start, StoreKey,
    StoreLock, TokenManager, TokenStore,
};

/// Where a manager starts when its store holds no token yet. Values are fixed for ever; 0 is
/// not a start (a zero-initialised options struct is refused). In C the field is a
/// `uint32_t`: a value this version does not know is `CONCUR_ERR_INVALID_ARGUMENT`.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_manager_start {
    /// A refresh token stored earlier: `refresh_token`, and `geolocation` (the data centre it
    /// belongs to; NULL for the client's host).
    CONCUR_MANAGER_START_REFRESH_TOKEN = 1,
    /// A password grant, run once: `username`, `password`. Its refresh token is kept from then
    /// on.
    CONCUR_MANAGER_START_PASSWORD = 2,
    /// A company grant from App Center, run once: `company_id`, `request_token`.
    CONCUR_MANAGER_START_COMPANY = 3,
    /// The application's own token (no field): asked for again whenever it expires, since it
    /// comes without a refresh token.
    CONCUR_MANAGER_START_CLIENT_CREDENTIALS = 4,
}

const START_REFRESH_TOKEN: u32 = concur_manager_start::CONCUR_MANAGER_START_REFRESH_TOKEN as u32;
const START_PASSWORD: u32 = concur_manager_start::CONCUR_MANAGER_START_PASSWORD as u32;
const START_COMPANY: u32 = concur_manager_start::CONCUR_MANAGER_START_COMPANY as u32;
const START_CLIENT_CREDENTIALS: u32 =
    concur_manager_start::CONCUR_MANAGER_START_CLIENT_CREDENTIALS as u32;

/// `concur_store_load` returns this when it wrote the document.
pub const CONCUR_STORE_OK: i32 = 0;
/// `concur_store_load` returns this when nothing is stored yet.
pub const CONCUR_STORE_EMPTY: i32 = 1;
/// `concur_store_load` returns this when the document does not fit in `capacity` bytes, with
/// `*len` set to its size: the library calls it again with a buffer that large.
pub const CONCUR_STORE_TOO_SMALL: i32 = 2;

/// The largest document a load callback may ask room for; stored tokens are far smaller.
const MAX_DOCUMENT: usize = 64 * 1024;

/// The room the library gives a load callback first; more when it answers
/// `CONCUR_STORE_TOO_SMALL`.
const FIRST_CAPACITY: usize = 4096;

/// Reads the stored document into `document` (`capacity` bytes, owned by the library and
/// wiped after use; no NUL is needed) and sets `*len` to its length. Returns
/// `CONCUR_STORE_OK`, `CONCUR_STORE_EMPTY` (nothing stored yet; `document` is not read),
/// `CONCUR_STORE_TOO_SMALL` (with `*len` set to the size needed), or any other value for a
/// failure (`CONCUR_ERR_STORE`). Return exactly the bytes the last save gave.
#[allow(non_camel_case_types)]
pub type concur_store_load = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        document: *mut c_char,
        capacity: usize,
        len: *mut usize,
    ) -> i32,
>;

/// Replaces the stored document, whole, with the `len` bytes at `document` (a small JSON
/// object, followed by a NUL not counted in `len`; valid during the call only, then wiped).
/// Returns 0 once the document is kept (durably, if the application wants the token to outlive
/// the process), anything else for a failure: then the token is not handed out
/// (`CONCUR_ERR_STORE`), since the refresh token it carries would be lost.
#[allow(non_camel_case_types)]
pub type concur_store_save =
    Option<unsafe extern "C" fn(user: *mut c_void, document: *const c_char, len: usize) -> i32>;

/// A store of the application's own (its secret storage, a database, …): a load and a save
/// callback and the `user` pointer passed to both. Set `struct_size` to
/// `sizeof(concur_store_callbacks)` (or call `concur_store_callbacks_init`).
///
/// The library copies this struct in `concur_token_manager_new`; `user` must stay valid until
/// `concur_token_manager_free`. The callbacks run on whichever thread calls
/// `concur_token_manager_access_token` when the manager needs the store, one at a time for a
/// manager: a load and the save of a refresh happen under an in-process lock of that manager.
/// That lock is all the exclusion a callback store gets: two managers (or two processes) over
/// the same storage may both refresh, and the one whose refresh token Concur rotated first
/// wins, unless the application's storage serialises them itself. Share one manager between
/// threads instead; for processes, use a file store, for machines, Redis. The callbacks must
/// return normally (never throw, `longjmp` or unwind through the library) and must not call
/// the manager that called them (it waits for them: a deadlock).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_store_callbacks {
    /// `sizeof(concur_store_callbacks)` as the caller was compiled with it; 0 is refused.
    pub struct_size: u32,
    /// Reads the stored document; required.
    pub load: concur_store_load,
    /// Replaces the stored document; required.
    pub save: concur_store_save,
    /// Passed to both callbacks as is; may be NULL.
    pub user: *mut c_void,
}

/// What `concur_token_manager_new` builds a manager from. Set `struct_size` to
/// `sizeof(concur_token_manager_options)` (or call `concur_token_manager_options_init`),
/// `client_id`, `client_secret`, `start` and the fields that start uses (see
/// `concur_manager_start`); the library never reads the other start fields. Everything is
/// copied (the struct and its strings need not outlive the call) but `callbacks->user` and
/// `event_user`.
///
/// The struct grows at its end only: `floor_seconds`, `store_keys`, `store_key_count`,
/// `require_sealed`, `on_event` and `event_user` came in its second layout, and a program whose
/// `struct_size` is that of the first (ending with `callbacks`: 112 bytes on 64-bit platforms)
/// gets their defaults.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct concur_token_manager_options {
    /// `sizeof(concur_token_manager_options)` as the caller was compiled with it; 0 is refused.
    pub struct_size: u32,
    /// The application's client ID; required.
    pub client_id: *const c_char,
    /// The application's client secret; required.
    pub client_secret: *const c_char,
    /// One of `concur_manager_start`.
    pub start: u32,
    /// The stored refresh token (`CONCUR_MANAGER_START_REFRESH_TOKEN`).
    pub refresh_token: *const c_char,
    /// The refresh token's data centre, a token's `geolocation`
    /// (`CONCUR_MANAGER_START_REFRESH_TOKEN`); NULL for the client's host.
    pub geolocation: *const c_char,
    /// The user's login name (`CONCUR_MANAGER_START_PASSWORD`).
    pub username: *const c_char,
    /// The user's password (`CONCUR_MANAGER_START_PASSWORD`).
    pub password: *const c_char,
    /// The company's UUID (`CONCUR_MANAGER_START_COMPANY`).
    pub company_id: *const c_char,
    /// App Center's request token (`CONCUR_MANAGER_START_COMPANY`).
    pub request_token: *const c_char,
    /// Where the token is kept: NULL for this manager's memory; a file path, for the processes
    /// of one machine (created on the first save, mode 0600, beside a `.lock` file; its
    /// directory must exist); or a `redis://[:password@]host:port[/db]` URL, for many machines
    /// (then `redis_key` is required). A `redis://` store needs the library built with its
    /// `redis` feature (`scripts/install-c.sh --features redis`); without it,
    /// `concur_token_manager_new` returns `CONCUR_ERR_NOT_BUILT_IN`. Must be NULL when
    /// `callbacks` is set.
    pub store: *const c_char,
    /// The Redis key the token is kept under (beside it `{key}:lock` and `{key}:fence`);
    /// required with a `redis://` store, NULL otherwise.
    pub redis_key: *const c_char,
    /// The refresh window, in seconds; 0 for 300. Once the token is valid for less than this,
    /// a call still gets it at once, and one refresh ahead starts on a thread of the library's
    /// own (callers never wait for it). At most a day.
    pub margin_seconds: u32,
    /// The application's own store (see `concur_store_callbacks`); NULL for none.
    pub callbacks: *const concur_store_callbacks,
    /// The floor, in seconds; 0 for 30 (or half of `margin_seconds` when that is smaller). A
    /// token valid for less than this is never handed out: the call waits for a refresh. Must
    /// be below the window (`margin_seconds`, 300 when 0), else `CONCUR_ERR_INVALID_ARGUMENT`.
    /// A floor above a token's lifetime (3600 s at Concur) makes every call wait for a new one.
    pub floor_seconds: u32,
    /// Keys that seal the stored token (AES-256-GCM, bound to the store's name), each the
    /// base64 text (standard or URL-safe, padded or not) of 32 random bytes, NUL-terminated,
    /// as `concur_store_key_generate` or `concur-token store-key` make them: the first seals
    /// every save, any of them opens (list the new key first to rotate). A wrong key (or a
    /// tampered or copied document) is `CONCUR_ERR_STORE`, and the store is left unchanged.
    /// A plain-text document, from before keys were set, is read and sealed at the next save
    /// unless `require_sealed`. NULL (with `store_key_count` 0) for a plain-text store.
    pub store_keys: *const *const c_char,
    /// How many strings `store_keys` points to: 0 with NULL `store_keys`, else 1 to 16.
    pub store_key_count: usize,
    /// 1 to refuse a plain-text document in the store (`CONCUR_ERR_STORE`) instead of reading
    /// it; needs `store_keys`. 0 (the default) migrates it; other values are refused.
    pub require_sealed: u32,
    /// Called with every refresh attempt (see `concur_refresh_event_cb`); NULL for none.
    pub on_event: concur_refresh_event_cb,
    /// Passed to `on_event` as is; may be NULL. Must stay valid until
    /// `concur_token_manager_free` returns.
    pub event_user: *mut c_void,
}

/// The size of `concur_token_manager_options`' first layout, which ended with `callbacks`:
/// the smallest `struct_size` accepted.
const OPTIONS_FIRST_LAYOUT_SIZE: usize =
    std::mem::offset_of!(concur_token_manager_options, floor_seconds);

/// The most keys a store may list.
const MAX_STORE_KEYS: usize = 16;

/// A token manager: keeps one valid access token for every thread that asks, refreshes it
/// once ahead of its expiry (once between the processes or machines sharing its store),
/// and saves the rotated refresh token before the new access token is handed out. Create it
/// with `concur_token_manager_new`, release it with `concur_token_manager_free`. Every other
/// call takes a `const concur_token_manager *` and is safe from many threads at once.
#[allow(non_camel_case_types)]
pub struct concur_token_manager {
    inner: TokenManager,
    events: Option<Arc<EventSink>>,
}

impl concur_token_manager {
    pub(crate) fn inner(&self) -> &TokenManager {
        &self.inner
    }
}

/// A store of the caller's callbacks, behind an in-process lock.
struct CallbackStore {
    load: unsafe extern "C" fn(*mut c_void, *mut c_char, usize, *mut usize) -> i32,
    save: unsafe extern "C" fn(*mut c_void, *const c_char, usize) -> i32,
    user: *mut c_void,
    locked: Mutex<bool>,
    released: Condvar,
}

// SAFETY: the callbacks and `user` are the caller's, documented to be called from any thread
// (one call at a time per manager, which the lock below ensures).
unsafe impl Send for CallbackStore {}
// SAFETY: as above; every call goes through the lock.
unsafe impl Sync for CallbackStore {}

impl CallbackStore {
    fn state(&self) -> MutexGuard<'_, bool> {
        self.locked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn call_load(&self) -> Result<Option<Document>, Error> {
        let mut capacity = FIRST_CAPACITY;
        // A callback that asks for room twice has its answer; a third ask is a bug of its own.
        for _ in 0..3 {
            let mut document = Zeroizing::new(vec![0u8; capacity]);
            let mut len = 0usize;
            // SAFETY: `capacity` writable bytes and a `size_t`, as the callback is promised;
            // the callback itself is the caller's.
            let status =
                unsafe { (self.load)(self.user, document.as_mut_ptr().cast(), capacity, &mut len) };
            match status {
                CONCUR_STORE_OK if len <= capacity => {
                    document.truncate(len);
                    return Ok(Some(document));
                }
                CONCUR_STORE_OK => {
                    return Err(Error::store_failure(
                        "the load callback reported more bytes than its buffer holds",
                    ));
                }
                CONCUR_STORE_EMPTY => return Ok(None),
                CONCUR_STORE_TOO_SMALL if len > capacity && len <= MAX_DOCUMENT => capacity = len,
                CONCUR_STORE_TOO_SMALL => {
                    return Err(Error::store_failure(format!(
                        "the load callback asked for a buffer of {len} bytes (it had {capacity}; \
                         at most {MAX_DOCUMENT})"
                    )));
                }
                other => {
                    return Err(Error::store_failure(format!(
                        "the load callback failed (it returned {other})"
                    )));
                }
            }
        }
        Err(Error::store_failure(
            "the load callback kept asking for a larger buffer",
        ))
    }

    fn call_save(&self, document: &[u8]) -> Result<(), Error> {
        // Sized once, so that no unwiped copy is left behind by a reallocation.
        let mut terminated = Zeroizing::new(Vec::with_capacity(document.len() + 1));
        terminated.extend_from_slice(document);
        terminated.push(0);
        // SAFETY: `len` bytes and a NUL at `document`, valid during the call; the callback is
        // the caller's.
        let status = unsafe { (self.save)(self.user, terminated.as_ptr().cast(), document.len()) };
        if status == 0 {
            Ok(())
        } else {
            Err(Error::store_failure(format!(
                "the save callback failed (it returned {status})"
            )))
        }
    }
}

impl TokenStore for CallbackStore {
    fn load(&self) -> Result<Option<Document>, Error> {
        self.lock(crate::manager::DEFAULT_LOCK_WAIT)?.load()
    }

    fn lock(&self, wait: Duration) -> Result<Box<dyn StoreLock + '_>, Error> {
        let deadline = Instant::now() + wait;
        let mut locked = self.state();
        while *locked {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::store_failure(
                    "the callback store's lock was not released in time",
                ));
            }
            locked = self
                .released
                .wait_timeout(locked, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *locked = true;
        Ok(Box::new(CallbackLock { store: self }))
    }
}

struct CallbackLock<'a> {
    store: &'a CallbackStore,
}

impl StoreLock for CallbackLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        self.store.call_load()
    }

    // The in-process lock is the only exclusion a callback store has (see
    // concur_store_callbacks): holding it is the compare-and-swap.
    fn save(&mut self, document: &[u8]) -> Result<(), Error> {
        self.store.call_save(document)
    }
}

impl Drop for CallbackLock<'_> {
    fn drop(&mut self) {
        *self.store.state() = false;
        self.store.released.notify_one();
    }
}

/// The store the options name, checked.
///
/// # Safety
/// `o`'s strings must be NULL or NUL-terminated; `o.callbacks` NULL or valid for its
/// `struct_size`.
unsafe fn read_store(o: &concur_token_manager_options) -> Result<Box<dyn TokenStore>, Failure> {
    // SAFETY (all): forwarded from the caller.
    unsafe {
        let store = optional(o.store, "options->store")?;
        let redis_key = optional(o.redis_key, "options->redis_key")?;
        let callbacks = extensible::input(o.callbacks, "options->callbacks", false)?;
        if let Some(c) = callbacks {
            if store.is_some() {
                return Err(invalid(
                    "options->store and options->callbacks are both set: choose one",
                ));
            }
            let (Some(load), Some(save)) = (c.load, c.save) else {
                return Err(invalid(
                    "options->callbacks needs both a load and a save callback",
                ));
            };
            if redis_key.is_some() {
                return Err(invalid(
                    "options->redis_key is set without a redis:// store",
                ));
            }
            return Ok(Box::new(CallbackStore {
                load,
                save,
                user: c.user,
                locked: Mutex::new(false),
                released: Condvar::new(),
            }));
        }
        let Some(store) = store else {
            if redis_key.is_some() {
                return Err(invalid(
                    "options->redis_key is set without a redis:// store",
                ));
            }
            return Ok(Box::new(MemoryStore::new()));
        };
        if store.starts_with("redis://") || store.starts_with("rediss://") {
            return redis_store(store, redis_key);
        }
        if store.is_empty() {
            return Err(invalid(
                "options->store is empty (NULL keeps the token in memory)",
            ));
        }
        if store.contains("://") {
            return Err(invalid(
                "options->store is a URL but not a redis:// one (a file path has no \"://\")",
            ));
        }
        if redis_key.is_some() {
            return Err(invalid(
                "options->redis_key is set without a redis:// store",
            ));
        }
        Ok(Box::new(FileStore::new(store)))
    }
}

/// A `redis://` store, with its key.
#[cfg(feature = "redis")]
fn redis_store(url: &str, key: Option<&str>) -> Result<Box<dyn TokenStore>, Failure> {
    let Some(key) = key else {
        return Err(invalid(
            "options->redis_key is required with a redis:// store",
        ));
    };
    Ok(Box::new(crate::manager::RedisStore::new(url, key)?))
}

/// A `redis://` store in a build without one: `CONCUR_ERR_NOT_BUILT_IN` whatever the URL and
/// key, since no fix of them would help.
#[cfg(not(feature = "redis"))]
fn redis_store(_url: &str, _key: Option<&str>) -> Result<Box<dyn TokenStore>, Failure> {
    Err(Error::not_built_in("redis", "options->store, a redis:// URL,").into())
}

/// The start the options name, its fields copied (secrets into buffers wiped on drop).
///
/// # Safety
/// The strings of `o` that its `start` uses must be NULL or NUL-terminated.
unsafe fn read_start(o: &concur_token_manager_options) -> Result<Start, Failure> {
    // SAFETY (all): forwarded from the caller.
    unsafe {
        Ok(match o.start {
            START_REFRESH_TOKEN => Start::RefreshToken {
                refresh_token: required(o.refresh_token, "options->refresh_token")?.to_string(),
                geolocation: optional(o.geolocation, "options->geolocation")?.map(str::to_string),
            },
            START_PASSWORD => Start::Password {
                username: required(o.username, "options->username")?.to_string(),
                password: required(o.password, "options->password")?.to_string(),
            },
            START_COMPANY => Start::Company {
                company_id: required(o.company_id, "options->company_id")?.to_string(),
                request_token: required(o.request_token, "options->request_token")?.to_string(),
            },
            START_CLIENT_CREDENTIALS => Start::ClientCredentials,
            0 => return Err(invalid("options->start not set")),
            other => return Err(invalid(format!("options->start {other} is unknown"))),
        })
    }
}

/// The refresh policy the options ask for: `Ok` a checked window and floor, or `Err(window)`
/// for a window alone (floor 0: the default floor, brought down to half a small window, as
/// before floors could be set).
fn read_policy(
    o: &concur_token_manager_options,
) -> Result<Result<RefreshPolicy, Duration>, Failure> {
    policy_of(o.margin_seconds, o.floor_seconds)
}

/// [`read_policy`] from the two fields (shared with the vault's options).
pub(super) fn policy_of(
    margin_seconds: u32,
    floor_seconds: u32,
) -> Result<Result<RefreshPolicy, Duration>, Failure> {
    let o = Margins {
        margin_seconds,
        floor_seconds,
    };
    let window = match o.margin_seconds {
        0 => DEFAULT_WINDOW,
        s => Duration::from_secs(u64::from(s)),
    };
    if o.floor_seconds == 0 {
        return Ok(Err(window));
    }
    let floor = Duration::from_secs(u64::from(o.floor_seconds));
    if floor >= window {
        return Err(invalid(format!(
            "options->floor_seconds ({}) must be below the refresh window, \
             options->margin_seconds ({}{})",
            o.floor_seconds,
            window.as_secs(),
            if o.margin_seconds == 0 {
                ", the default"
            } else {
                ""
            }
        )));
    }
    RefreshPolicy::new(window, floor)
        .map(Ok)
        .map_err(|_| invalid("options->margin_seconds is over a day (86400)"))
}

/// The three fields of a sealer.
struct KeyFields {
    store_keys: *const *const c_char,
    store_key_count: usize,
    require_sealed: u32,
}

/// The two fields of a refresh policy.
struct Margins {
    margin_seconds: u32,
    floor_seconds: u32,
}

/// The store keys the options list, checked (`None`: a plain-text store).
///
/// # Safety
/// `o.store_keys` must be NULL or point to `o.store_key_count` pointers, each NULL or to a
/// NUL-terminated string.
unsafe fn read_sealer(o: &concur_token_manager_options) -> Result<Option<Sealer>, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { sealer_of(o.store_keys, o.store_key_count, o.require_sealed) }
}

/// [`read_sealer`] from the three fields (shared with the vault's options).
///
/// # Safety
/// As for [`read_sealer`].
pub(super) unsafe fn sealer_of(
    store_keys: *const *const c_char,
    store_key_count: usize,
    require_sealed: u32,
) -> Result<Option<Sealer>, Failure> {
    let o = KeyFields {
        store_keys,
        store_key_count,
        require_sealed,
    };
    let count = o.store_key_count;
    let require_sealed = match o.require_sealed {
        0 => false,
        1 => true,
        other => {
            return Err(invalid(format!(
                "options->require_sealed {other} is neither 0 nor 1"
            )));
        }
    };
    if o.store_keys.is_null() {
        if count != 0 {
            return Err(invalid(format!(
                "options->store_keys is NULL but options->store_key_count is {count}"
            )));
        }
        if require_sealed {
            return Err(invalid(
                "options->require_sealed is set without options->store_keys",
            ));
        }
        return Ok(None);
    }
    if count == 0 {
        return Err(invalid(
            "options->store_keys is set but options->store_key_count is 0",
        ));
    }
    if count > MAX_STORE_KEYS {
        return Err(invalid(format!(
            "options->store_key_count {count} is over {MAX_STORE_KEYS}"
        )));
    }
    // SAFETY: non-NULL, `count` pointers by the caller's promise (count checked above).
    let texts = unsafe { std::slice::from_raw_parts(o.store_keys, count) };
    let mut keys = Vec::with_capacity(count);
    for (i, &text) in texts.iter().enumerate() {
        let name = format!("options->store_keys[{i}]");
        // SAFETY: NULL or NUL-terminated by the caller's promise.
        let text = unsafe { required(text, &name) }?;
        // The core's message is not used: it would not name the index. The key is never quoted.
        let key = StoreKey::from_base64(text).map_err(|_| {
            invalid(format!(
                "{name} is not the base64 text of a 32-byte key (44 characters, as \
                 concur_store_key_generate makes them)"
            ))
        })?;
        keys.push(key);
    }
    let sealer = Sealer::new(keys)?;
    Ok(Some(sealer.require_sealed(require_sealed)))
}

/// Creates a token manager over `client` and stores it in `*manager_out` (set to NULL on
/// failure). Nothing is sent and no store is touched until the first
/// `concur_token_manager_access_token`; the options are checked here, so a bad one (a missing
/// start field, an unknown start, a malformed `redis://` URL, a floor not below the window, a
/// store key that is not base64 of 32 bytes — named by its index —, …) is
/// `CONCUR_ERR_INVALID_ARGUMENT` now. A `redis://` store in a library built without its
/// `redis` feature is `CONCUR_ERR_NOT_BUILT_IN` (the message names the feature).
///
/// The manager keeps its own reference to the client's connections and options: free the
/// client whenever you like (before or after), and the manager with
/// `concur_token_manager_free`. Every string is copied; the options struct need not outlive
/// the call, but `options->callbacks->user` and `options->event_user` must outlive the manager.
///
/// # Safety
/// `client` NULL or from `concur_client_new`; `options` NULL or valid for its `struct_size`,
/// with the strings its start uses NULL or NUL-terminated, and `store_keys` NULL or
/// `store_key_count` pointers to NUL-terminated strings; `manager_out` NULL or writable;
/// `error_message` NULL or `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_manager_new(
    client: *const concur_client,
    options: *const concur_token_manager_options,
    manager_out: *mut *mut concur_token_manager,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            let Some(slot) = manager_out.as_mut() else {
                return Err(invalid("manager_out is NULL"));
            };
            *slot = std::ptr::null_mut();
            let client = client_ref(client)?;
            // An older caller's struct (its first layout) gets the later fields' defaults.
            let grown =
                extensible::input_grown(options, "options", false, OPTIONS_FIRST_LAYOUT_SIZE)?;
            let Some(o) = grown.as_ref() else {
                return Err(invalid("options is NULL"));
            };
            let client_id = required(o.client_id, "options->client_id")?;
            let client_secret = required(o.client_secret, "options->client_secret")?;
            let start = read_start(o)?;
            let store = read_store(o)?;
            let sealer = read_sealer(o)?;
            let policy = read_policy(o)?;
            let events = EventSink::new(o.on_event, o.event_user);
            let mut inner =
                TokenManager::new(client.inner.clone(), client_id, client_secret, start)?
                    .with_boxed_store(store);
            inner = match policy {
                Ok(policy) => inner.with_policy(policy),
                Err(window) => inner.with_margin(window),
            };
            if let Some(sealer) = sealer {
                inner = inner.with_sealer(sealer);
            }
            if let Some(events) = &events {
                inner = inner.with_observer(events.observer());
            }
            *slot = Box::into_raw(Box::new(concur_token_manager { inner, events }));
            Ok(())
        })
    }
}

/// Releases a manager (and its reference to the client). NULL is accepted and does nothing.
/// No other thread may be using it, and it must not be used again. The token stays in the
/// store (a file or Redis) for the next manager. A refresh ahead running on the library's
/// thread is waited for (it ends within the client's timeout and the store's lock wait), so
/// that neither a store callback nor the event callback is called after this returns.
///
/// # Safety
/// `manager` must be NULL or come from `concur_token_manager_new`, and not be freed already.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_manager_free(manager: *mut concur_token_manager) {
    if manager.is_null() {
        return;
    }
    // SAFETY: from Box::into_raw in concur_token_manager_new, freed once by the caller's
    // promise.
    let manager = unsafe { Box::from_raw(manager) };
    // A panic must never unwind into C: at worst, something leaks.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        // A refresh ahead may still run on the library's thread, with the caller's store
        // callbacks and event callback: wait for it (the core's own wait, bounded by the
        // refresh's deadline), so that none is called once this returns. No new one starts:
        // no other thread uses the manager now.
        manager.inner.wait_idle(crate::options::MAX_TIMEOUT);
        if let Some(events) = &manager.events {
            events.close();
        }
        drop(manager);
    }));
}

/// Writes a snapshot of `manager` into `*out` (see `concur_manager_status`): where it stands,
/// its token's expiries, the last refresh, the last failure and the next attempt. Sends
/// nothing, touches no store, never waits for a refresh; safe from many threads at once (but
/// not from an event callback).
///
/// Returns `CONCUR_OK`, or `CONCUR_ERR_INVALID_ARGUMENT` when `manager` or `out` is NULL or
/// `out->struct_size` is not set (0) or smaller than this header's `sizeof`; then `*out` is
/// left untouched.
///
/// # Safety
/// `manager` NULL or from `concur_token_manager_new` and not freed; `out` NULL or a writable
/// `concur_manager_status` of `out->struct_size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_manager_status(
    manager: *const concur_token_manager,
    out: *mut concur_manager_status,
) -> concur_status {
    // SAFETY (all): NULL or valid by the caller's promise.
    unsafe {
        boundary(std::ptr::null_mut(), 0, || {
            let manager = manager.as_ref().ok_or_else(|| invalid("manager is NULL"))?;
            let Some(out) = extensible::output(out, "out")? else {
                return Err(invalid("out is NULL"));
            };
            out.fill(&manager.inner().status());
            Ok(())
        })
    }
}

/// Writes a valid access token into `out` (all buffers or none, as for
/// `concur_client_oauth2_token`; `token_type` is `Bearer`): from memory while it is valid for
/// longer than the floor (no request, no store access; inside the refresh window one refresh
/// ahead starts on the library's thread, and this call does not wait for it), else from the
/// store when another holder refreshed already, else from one refresh (or grant) that every
/// thread asking at that moment waits for and shares, saved to the store before it is handed
/// out. A failed refresh ahead is tried again with a backoff while the token lasts; the
/// options' `on_event` hears of each attempt.
///
/// `out->refresh_token` receives the refresh token the manager holds (empty for client
/// credentials): keep it for the record if you must, but never refresh with it yourself, since
/// Concur rotates it and the manager's copy would die. A token read from a store carries only
/// what stores keep: the access and refresh tokens, their expiries and the geolocation (the
/// other buffers are empty).
///
/// Errors: `CONCUR_ERR_STORE` when the store failed (a token whose save failed is not handed
/// out); `CONCUR_ERR_UNAUTHORIZED` with Concur's code in `details` (108: the refresh token is
/// bad or expired; that token is not sent again, and every later call answers the same until a
/// store brings a new one); the others as for `concur_client_oauth2_token`. After
/// `CONCUR_ERR_BUFFER_TOO_SMALL` each `len` is the size needed: call again with larger buffers
/// (the token is cached, so no request is sent).
///
/// # Safety
/// `manager` NULL or from `concur_token_manager_new` and not freed; `out` NULL or a valid
/// `concur_oauth2_token_buffers` whose buffers are NULL or hold `capacity` writable bytes;
/// `details` NULL or valid; `error_message` NULL or `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_manager_access_token(
    manager: *const concur_token_manager,
    out: *mut concur_oauth2_token_buffers,
    details: *mut concur_error_details,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        details_export(details, error_message, error_capacity, |details| {
            let manager = manager.as_ref().ok_or_else(|| invalid("manager is NULL"));
            details.open(error_message, error_capacity)?;
            let out = open_token_out(out, details, error_message, error_capacity)?;
            let token = manager?
                .inner
                .access_token()
                .map_err(|e| failed_into(out, e))?;
            deliver_token(out, token.token())
        })
    }
}

/// Forgets the access token (after an API call answered 401 with it, say): the next
/// `concur_token_manager_access_token` refreshes, even when the store still holds that token
/// as valid. NULL is accepted and does nothing. Safe from many threads at once.
///
/// # Safety
/// `manager` must be NULL or come from `concur_token_manager_new` and not be freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_manager_invalidate(manager: *const concur_token_manager) {
    // SAFETY: NULL or valid by the caller's promise.
    if let Some(manager) = unsafe { manager.as_ref() } {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            manager.inner.invalidate();
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options naming a `redis://` store and its key, everything else zero.
    fn redis_options() -> concur_token_manager_options {
        concur_token_manager_options {
            struct_size: std::mem::size_of::<concur_token_manager_options>() as u32,
            client_id: std::ptr::null(),
            client_secret: std::ptr::null(),
            start: 0,
            refresh_token: std::ptr::null(),
            geolocation: std::ptr::null(),
            username: std::ptr::null(),
            password: std::ptr::null(),
            company_id: std::ptr::null(),
            request_token: std::ptr::null(),
            store: c"redis://127.0.0.1:6379/".as_ptr(),
            redis_key: c"concur-native:token".as_ptr(),
            margin_seconds: 0,
            callbacks: std::ptr::null(),
            floor_seconds: 0,
            store_keys: std::ptr::null(),
            store_key_count: 0,
            require_sealed: 0,
            on_event: None,
            event_user: std::ptr::null_mut(),
        }
    }

    /// With the feature, a `redis://` store is accepted (nothing is connected yet).
    #[cfg(feature = "redis")]
    #[test]
    fn a_redis_store_is_built_in() {
        // SAFETY: the options' strings are static C strings.
        let store = unsafe { read_store(&redis_options()) };
        assert!(
            store.is_ok(),
            "{}",
            store.err().map(|f| f.message).unwrap_or_default()
        );
    }

    /// Without it, the typed "not built in" status, naming the feature, even without a key.
    #[cfg(not(feature = "redis"))]
    #[test]
    fn a_redis_store_is_not_built_in() {
        for key in [c"k".as_ptr(), std::ptr::null()] {
            let options = concur_token_manager_options {
                redis_key: key,
                ..redis_options()
            };
            // SAFETY: the options' strings are static C strings.
            let Err(failure) = (unsafe { read_store(&options) }) else {
                panic!("a redis:// store was accepted without the redis feature");
            };
            assert_eq!(failure.status, concur_status::CONCUR_ERR_NOT_BUILT_IN);
            assert!(
                failure.message.starts_with("not built in: ")
                    && failure.message.contains("Cargo feature \"redis\""),
                "{}",
                failure.message
            );
        }
    }
}
