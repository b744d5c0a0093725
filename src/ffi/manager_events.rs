//! What a `concur_token_manager` tells its operators in C: a `concur_refresh_event` per refresh
//! attempt (to the `on_event` callback of its options), a `concur_manager_status` snapshot on
//! demand, and `concur_store_key_generate` for the keys that seal its store. Nothing here ever
//! holds a secret: no token, no password, no key.

use std::ffi::{CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use super::boundary::boundary;
use super::failure::{Failure, invalid};
use super::status::concur_status;
use crate::Error;
use crate::manager::{ManagerStatus, Observer, Outcome, RefreshEvent, State, StoreKey, Trigger};

/// How a refresh attempt ended (`concur_refresh_event.outcome`). Values are fixed for ever; in
/// C the field is a `uint32_t`, so treat a value you do not know as a failure.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_refresh_outcome {
    /// A new token was obtained from Concur and saved.
    CONCUR_REFRESH_OUTCOME_REFRESHED = 1,
    /// The token was taken from the store: another holder (process, machine) had refreshed.
    CONCUR_REFRESH_OUTCOME_FROM_STORE = 2,
    /// The attempt failed and will be tried again (see `retry_at`); callers keep the current
    /// token while it stays above the floor.
    CONCUR_REFRESH_OUTCOME_FAILED = 3,
    /// Concur refused the credentials (a bad or expired refresh token, code 108; a revoked
    /// connection; an unknown client): nothing more is sent until the manager is made again.
    CONCUR_REFRESH_OUTCOME_DEAD = 4,
    /// Not an attempt: a token vault's warning that a connection's refresh token has come
    /// within one of its horizons (30 or 7 days by default) of its expiry unrenewed.
    CONCUR_REFRESH_OUTCOME_EXPIRING = 5,
}

/// Why a refresh was attempted (`concur_refresh_event.trigger`). Values are fixed for ever.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_refresh_trigger {
    /// No token yet (the first call, or an empty store).
    CONCUR_REFRESH_TRIGGER_ABSENT = 1,
    /// Inside the refresh window (`margin_seconds`): refreshed ahead on the library's thread
    /// while callers kept the current token.
    CONCUR_REFRESH_TRIGGER_AHEAD = 2,
    /// Below the floor (`floor_seconds`) or expired: a caller waited for it.
    CONCUR_REFRESH_TRIGGER_EXPIRED = 3,
    /// `concur_token_manager_invalidate` was called.
    CONCUR_REFRESH_TRIGGER_INVALIDATED = 4,
    /// A token vault's sweep (keep-alive) renewed a refresh token nearing its expiry.
    CONCUR_REFRESH_TRIGGER_KEEP_ALIVE = 5,
}

/// Where a manager stands (`concur_manager_status.state`). Values are fixed for ever.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_manager_state {
    /// Nothing has gone wrong since the last refresh.
    CONCUR_MANAGER_STATE_ACTIVE = 1,
    /// The last attempts failed; they are tried again with a backoff (about 1 s, doubling, at
    /// most 120 s) while the current token lasts.
    CONCUR_MANAGER_STATE_FAILING = 2,
    /// Concur refused the credentials: nothing more is sent.
    CONCUR_MANAGER_STATE_DEAD = 3,
}

/// One refresh attempt, handed to `concur_token_manager_options.on_event`. The struct and
/// every string it points to belong to the library and are valid during the callback only:
/// copy what you keep. Strings are NUL-terminated UTF-8, or NULL where said. No field ever
/// holds a secret (token, password, client secret, key).
///
/// `struct_size` is `sizeof(concur_refresh_event)` as the library was built: a later library
/// adds fields at the end only, so every field of this header is present when `struct_size`
/// covers it (`offsetof(concur_refresh_event, field) < event->struct_size`); all of them are
/// with this version.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_refresh_event {
    /// `sizeof(concur_refresh_event)` as the library was built.
    pub struct_size: u32,
    /// How it ended (one of `concur_refresh_outcome`).
    pub outcome: concur_refresh_outcome,
    /// Why it was attempted (one of `concur_refresh_trigger`).
    pub trigger: concur_refresh_trigger,
    /// `CONCUR_OK` on success, else the error's status (as `concur_token_manager_access_token`
    /// would return it).
    pub status: concur_status,
    /// The OAuth grant sent (`"refresh_token"`, `"password"`, `"client_credentials"`); NULL
    /// when nothing was sent (taken from the store, or the store failed first).
    pub grant: *const c_char,
    /// How long the attempt took, store included, in milliseconds.
    pub duration_ms: u64,
    /// When the attempt ended, in Unix milliseconds.
    pub at: i64,
    /// The new access token's expiry in Unix seconds; 0 when unknown (always on failure).
    pub expires_at: i64,
    /// The new refresh token's expiry in Unix seconds; 0 when unknown (always on failure).
    pub refresh_expires_at: i64,
    /// The HTTP status of Concur's answer to a failed attempt; 0 when none arrived (and on
    /// success).
    pub http_status: u16,
    /// 1 when Concur's answer carried a numeric code (then in `concur_code`), else 0, as in
    /// `concur_error_details`.
    pub has_concur_code: i32,
    /// Concur's numeric code (108: bad or expired refresh token, …) when `has_concur_code`;
    /// else 0.
    pub concur_code: i64,
    /// The failed exchange's `concur-correlationid` (quote it to Concur support); NULL when
    /// none is known (and on success).
    pub correlation_id: *const c_char,
    /// Failures in a row, this one included; 0 on success.
    pub failures: u32,
    /// When the next attempt may start, in Unix milliseconds, for a failure tried again
    /// (`CONCUR_REFRESH_OUTCOME_FAILED`); 0 otherwise.
    pub retry_at: i64,
    /// The error's text (as `concur_token_manager_access_token` writes it); NULL on success.
    pub message: *const c_char,
    /// The whole event as one line of operator text (`token refresh failed (ahead, 12 ms, grant
    /// refresh_token): … ; 1 failure(s) in a row; next attempt in 1043 ms`), never NULL: what
    /// the library's own log records say.
    pub summary: *const c_char,
    /// A token vault's event: the connection's ID; NULL for a manager's. (Added after the
    /// first layout: present when `struct_size` covers it, always with this version.)
    pub connection: *const c_char,
    /// A `CONCUR_REFRESH_OUTCOME_EXPIRING` warning: the horizon reached, in seconds (30 or 7
    /// days by default); 0 otherwise.
    pub horizon_seconds: u64,
}

/// Called by a manager with each refresh attempt: `user` is `event_user` of its options, as
/// given; `event` is valid during the call only.
///
/// The callback runs on the thread that made the attempt: a caller's, inside
/// `concur_token_manager_access_token`, or the library's own thread for a refresh ahead. Calls
/// for one manager never overlap (a lock of the library is held around each), and none starts
/// once `concur_token_manager_free` has returned. It must be quick (the refreshing thread, and
/// a concurrent `concur_token_manager_free`, wait for it), must return normally (never
/// `longjmp`, throw or unwind through the library), and must not call the manager (no
/// `concur_token_manager_*` function with it, `status` included): the library does not promise
/// that such a call returns.
#[allow(non_camel_case_types)]
pub type concur_refresh_event_cb =
    Option<unsafe extern "C" fn(user: *mut c_void, event: *const concur_refresh_event)>;

/// The caller's event callback and its user pointer, closed by `concur_token_manager_free` so
/// that no call starts after it.
pub(crate) struct EventSink {
    callback: unsafe extern "C" fn(*mut c_void, *const concur_refresh_event),
    user: *mut c_void,
    /// Held during each call; `true` once the manager is freed.
    closed: Mutex<bool>,
}

// SAFETY: the callback and `user` are the caller's, documented to be called from any thread;
// the calls are serialised by `closed`.
unsafe impl Send for EventSink {}
// SAFETY: as above.
unsafe impl Sync for EventSink {}

impl EventSink {
    /// A sink for `callback` (NULL: none).
    pub(crate) fn new(callback: concur_refresh_event_cb, user: *mut c_void) -> Option<Arc<Self>> {
        callback.map(|callback| {
            Arc::new(EventSink {
                callback,
                user,
                closed: Mutex::new(false),
            })
        })
    }

    /// The observer the core calls: each event delivered to C, a panic of the bridge caught.
    pub(crate) fn observer(self: &Arc<Self>) -> Observer {
        let sink = Arc::clone(self);
        Arc::new(move |event: &RefreshEvent| {
            // Never let a bug of the bridge reach the refresh (the core catches it too).
            let _ = catch_unwind(AssertUnwindSafe(|| sink.deliver(event)));
        })
    }

    /// No call starts after this returns, and one in progress has ended.
    pub(crate) fn close(&self) {
        *self.closed.lock().unwrap_or_else(PoisonError::into_inner) = true;
    }

    fn deliver(&self, event: &RefreshEvent) {
        let error = event.error.as_ref();
        let grant = event.grant.map(text);
        let correlation_id = error.and_then(Error::correlation_id).map(text);
        let message = error.map(|e| text(&e.to_string()));
        let summary = text(&event.to_string());
        let connection = event.connection.as_deref().map(text);
        let concur_code = error.and_then(Error::concur_code);
        let c_event = concur_refresh_event {
            struct_size: std::mem::size_of::<concur_refresh_event>() as u32,
            outcome: outcome(event.outcome),
            trigger: trigger(event.trigger),
            status: error.map_or(concur_status::CONCUR_OK, |e| {
                concur_status::from_kind(e.kind())
            }),
            grant: c_ptr(grant.as_ref()),
            duration_ms: u64::try_from(event.duration.as_millis()).unwrap_or(u64::MAX),
            at: unix_ms(Some(event.at)),
            expires_at: event.expires_at.unwrap_or(0),
            refresh_expires_at: event.refresh_expires_at.unwrap_or(0),
            http_status: error.and_then(Error::status).unwrap_or(0),
            has_concur_code: i32::from(concur_code.is_some()),
            concur_code: concur_code.unwrap_or(0),
            correlation_id: c_ptr(correlation_id.as_ref()),
            failures: event.failures,
            retry_at: unix_ms(event.retry_at),
            message: c_ptr(message.as_ref()),
            summary: summary.as_ptr(),
            connection: c_ptr(connection.as_ref()),
            horizon_seconds: event.horizon.map_or(0, |h| h.as_secs()),
        };
        let closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
        if *closed {
            return;
        }
        // SAFETY: the caller's callback, with its own `user` and an event whose strings live
        // until the end of this function.
        unsafe { (self.callback)(self.user, &c_event) };
        drop(closed);
    }
}

/// A NUL-terminated copy of `s` (an interior NUL, never expected, becomes a space).
fn text(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

fn c_ptr(s: Option<&CString>) -> *const c_char {
    s.map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Unix milliseconds; 0 for none (or a time before 1970).
fn unix_ms(at: Option<SystemTime>) -> i64 {
    at.and_then(|at| at.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn outcome(o: Outcome) -> concur_refresh_outcome {
    match o {
        Outcome::Refreshed => concur_refresh_outcome::CONCUR_REFRESH_OUTCOME_REFRESHED,
        Outcome::FromStore => concur_refresh_outcome::CONCUR_REFRESH_OUTCOME_FROM_STORE,
        Outcome::Failed => concur_refresh_outcome::CONCUR_REFRESH_OUTCOME_FAILED,
        Outcome::Dead => concur_refresh_outcome::CONCUR_REFRESH_OUTCOME_DEAD,
        Outcome::Expiring => concur_refresh_outcome::CONCUR_REFRESH_OUTCOME_EXPIRING,
    }
}

fn trigger(t: Trigger) -> concur_refresh_trigger {
    match t {
        Trigger::Absent => concur_refresh_trigger::CONCUR_REFRESH_TRIGGER_ABSENT,
        Trigger::Ahead => concur_refresh_trigger::CONCUR_REFRESH_TRIGGER_AHEAD,
        Trigger::Expired => concur_refresh_trigger::CONCUR_REFRESH_TRIGGER_EXPIRED,
        Trigger::Invalidated => concur_refresh_trigger::CONCUR_REFRESH_TRIGGER_INVALIDATED,
        Trigger::KeepAlive => concur_refresh_trigger::CONCUR_REFRESH_TRIGGER_KEEP_ALIVE,
    }
}

/// The room of `concur_manager_status.last_error_correlation_id`, its NUL included: every
/// correlation id this library sends (at most 128 characters) fits.
pub const CONCUR_MANAGER_STATUS_CORRELATION_ID_CAPACITY: usize = 129;

/// A snapshot of a manager, written by `concur_token_manager_status`. Set `struct_size` to
/// `sizeof(concur_manager_status)` (or call `concur_manager_status_init`); the library writes
/// every other field, on success only. Times are Unix seconds (expiries) or Unix milliseconds
/// (events), 0 when unknown. No field holds a secret.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_manager_status {
    /// `sizeof(concur_manager_status)` as the caller was compiled with it; 0 is refused.
    pub struct_size: u32,
    /// Where it stands (one of `concur_manager_state`).
    pub state: concur_manager_state,
    /// The held access token's expiry, Unix seconds; 0 when no token is held (or unknown).
    pub expires_at: i64,
    /// The refresh token's expiry, Unix seconds; 0 when unknown.
    pub refresh_expires_at: i64,
    /// When the last successful refresh (or read from the store) ended, Unix milliseconds; 0
    /// for never.
    pub last_refresh: i64,
    /// When the next attempt may start while failing, Unix milliseconds; 0 otherwise.
    pub next_attempt: i64,
    /// Refreshes that obtained a new token here since the manager was made.
    pub refresh_count: u64,
    /// Failures in a row.
    pub failures: u32,
    /// 1 while a refresh runs, else 0.
    pub refreshing: i32,
    /// The last failure's status, until a refresh succeeds; `CONCUR_OK` when there is none.
    pub last_error_status: concur_status,
    /// The last failure's HTTP status; 0 when none arrived, or no failure.
    pub last_error_http_status: u16,
    /// 1 when the last failure carried Concur's numeric code (then in
    /// `last_error_concur_code`), else 0.
    pub last_error_has_concur_code: i32,
    /// Concur's numeric code of the last failure (108, …) when `last_error_has_concur_code`;
    /// else 0.
    pub last_error_concur_code: i64,
    /// The last failure's `concur-correlationid`, NUL-terminated; empty when none is known, or
    /// when it does not fit (then `last_error_correlation_id_len` is its length anyway).
    pub last_error_correlation_id: [c_char; CONCUR_MANAGER_STATUS_CORRELATION_ID_CAPACITY],
    /// The length of the last failure's correlation id, without the NUL; 0 when none. Above
    /// `CONCUR_MANAGER_STATUS_CORRELATION_ID_CAPACITY - 1` it was too long to be written.
    pub last_error_correlation_id_len: usize,
}

impl concur_manager_status {
    pub(super) fn fill(&mut self, s: &ManagerStatus) {
        self.state = match s.state {
            State::Active => concur_manager_state::CONCUR_MANAGER_STATE_ACTIVE,
            State::Failing => concur_manager_state::CONCUR_MANAGER_STATE_FAILING,
            State::Dead => concur_manager_state::CONCUR_MANAGER_STATE_DEAD,
        };
        self.expires_at = s.expires_at.unwrap_or(0);
        self.refresh_expires_at = s.refresh_expires_at.unwrap_or(0);
        self.last_refresh = unix_ms(s.last_refresh);
        self.next_attempt = unix_ms(s.next_attempt);
        self.refresh_count = s.refresh_count;
        self.failures = s.failures;
        self.refreshing = i32::from(s.refreshing);
        let error = s.last_error.as_ref();
        self.last_error_status = error.map_or(concur_status::CONCUR_OK, |e| {
            concur_status::from_kind(e.kind())
        });
        self.last_error_http_status = error.and_then(Error::status).unwrap_or(0);
        let code = error.and_then(Error::concur_code);
        self.last_error_has_concur_code = i32::from(code.is_some());
        self.last_error_concur_code = code.unwrap_or(0);
        let id = error
            .and_then(Error::correlation_id)
            .unwrap_or("")
            .as_bytes();
        self.last_error_correlation_id = [0; CONCUR_MANAGER_STATUS_CORRELATION_ID_CAPACITY];
        self.last_error_correlation_id_len = id.len();
        if id.len() < CONCUR_MANAGER_STATUS_CORRELATION_ID_CAPACITY {
            for (to, &from) in self.last_error_correlation_id.iter_mut().zip(id) {
                *to = from as c_char;
            }
        }
    }
}

/// The length of a generated store key's base64 text (`concur_store_key_generate`), without
/// its NUL: a buffer of `CONCUR_STORE_KEY_BASE64_LEN + 1` bytes holds one.
pub const CONCUR_STORE_KEY_BASE64_LEN: usize = 44;

/// Writes a fresh random store key (32 bytes from the system's generator) as standard base64
/// text (44 characters and a NUL) into `buf`, and its length (44, without the NUL) into
/// `*len`: a key for `concur_token_manager_options.store_keys`. Keep it as a secret (a secret
/// manager, an environment variable), never beside the store it seals; wipe `buf` after use.
///
/// Returns `CONCUR_OK`; `CONCUR_ERR_BUFFER_TOO_SMALL` when `capacity` is below
/// `CONCUR_STORE_KEY_BASE64_LEN + 1` (nothing is generated or written but `*len`, set to 44:
/// `(NULL, 0)` asks the size); `CONCUR_ERR_INVALID_ARGUMENT` when `len` is NULL, or `buf` NULL
/// with a non-zero `capacity`; `CONCUR_ERR_INTERNAL` when the system's generator fails.
///
/// # Safety
/// `buf` NULL or `capacity` writable bytes; `len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_store_key_generate(
    buf: *mut c_char,
    capacity: usize,
    len: *mut usize,
) -> concur_status {
    // SAFETY (all): NULL or valid by the caller's promise.
    unsafe {
        boundary(std::ptr::null_mut(), 0, || {
            let Some(len) = len.as_mut() else {
                return Err(invalid("len is NULL"));
            };
            if buf.is_null() && capacity != 0 {
                return Err(invalid("buf is NULL with a non-zero capacity"));
            }
            *len = CONCUR_STORE_KEY_BASE64_LEN;
            if capacity <= CONCUR_STORE_KEY_BASE64_LEN {
                return Err(Failure::new(
                    concur_status::CONCUR_ERR_BUFFER_TOO_SMALL,
                    format!(
                        "buffer too small: a store key needs {} bytes",
                        CONCUR_STORE_KEY_BASE64_LEN + 1
                    ),
                ));
            }
            let key = StoreKey::generate_base64()
                .map_err(|e| Failure::new(concur_status::CONCUR_ERR_INTERNAL, e.to_string()))?;
            let bytes = key.as_bytes();
            if bytes.len() != CONCUR_STORE_KEY_BASE64_LEN {
                return Err(Failure::new(
                    concur_status::CONCUR_ERR_INTERNAL,
                    "internal error: a store key of an unexpected length".to_string(),
                ));
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
            *buf.add(bytes.len()) = 0;
            Ok(())
        })
    }
}
