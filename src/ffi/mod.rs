//! The C ABI: `concur_native_token()` and its companions, as declared in
//! `include/concur_native.h` (generated from this module by cbindgen).
//!
//! The contract, for every function here:
//! - The return value is a [`concur_status`]; outputs go to caller-owned memory only.
//! - Output strings are NUL-terminated whenever their capacity is above 0, and no byte is ever
//!   written past a capacity. Outputs hold a value only after `CONCUR_OK`; after any error they
//!   are emptied, so no part of a token is ever left behind.
//! - Input strings are NUL-terminated UTF-8. NULL where a value is required, or invalid UTF-8,
//!   is `CONCUR_ERR_INVALID_ARGUMENT`, with a message, and nothing is sent.
//! - No panic crosses the boundary: a bug is caught and reported as `CONCUR_ERR_INTERNAL`.
//! - Every function is thread-safe and reentrant; the library keeps no global state.

mod buffers;
mod status;

use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

pub use buffers::{concur_buffer, concur_token_buffers};
pub use status::concur_status;

use crate::{Error, Options, Token};

/// A capacity for each output buffer that fits every token Concur issues today with room to
/// spare.
pub const CONCUR_NATIVE_RECOMMENDED_CAPACITY: usize = 4096;

/// No output field is ever longer than this many bytes (answers are capped at 64 KiB), so a
/// buffer of `CONCUR_NATIVE_MAX_FIELD_LEN + 1` bytes always suffices.
pub const CONCUR_NATIVE_MAX_FIELD_LEN: usize = 65535;

/// A capacity for the error-message buffer that holds every message whole.
pub const CONCUR_NATIVE_ERROR_CAPACITY: usize = 1024;

/// Options for a call. Zero-initialise it (`concur_options opts = {0};`) and set what you need:
/// every NULL or 0 field takes its default.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_options {
    /// Base URL; NULL for `https://www.concursolutions.com`. Must be `https://`; `http://` is
    /// accepted for loopback hosts only.
    pub base_url: *const c_char,
    /// Deadline for the whole exchange in milliseconds; 0 for 30000. At most 3600000.
    pub timeout_ms: u32,
    /// A PEM file of extra CA certificates to trust on top of Mozilla's roots; NULL for none.
    pub ca_file: *const c_char,
    /// An HTTP(S) proxy URL such as `http://proxy:3128`; NULL for a direct connection.
    /// Environment variables are never consulted.
    pub proxy: *const c_char,
    /// Text appended to the User-Agent header; NULL for none.
    pub user_agent_suffix: *const c_char,
}

/// A failure on its way to the caller: the status and the message for the error buffer.
struct Failure {
    status: concur_status,
    message: String,
    http_status: u32,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure {
            status: concur_status::from_kind(e.kind()),
            message: e.to_string(),
            http_status: e.status().map_or(0, u32::from),
        }
    }
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure {
        status: concur_status::CONCUR_ERR_INVALID_ARGUMENT,
        message: format!("invalid argument: {}", message.into()),
        http_status: 0,
    }
}

/// Reads a required NUL-terminated UTF-8 argument without copying it.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
unsafe fn required<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's promise.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| invalid(format!("{name} is not valid UTF-8")))
}

/// Like [`required`], with NULL meaning "not given".
///
/// # Safety
/// As for [`required`].
unsafe fn optional<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { required(ptr, name) }.map(Some)
    }
}

/// # Safety
/// `options` must be NULL or point to a valid `concur_options` whose strings are NULL or
/// NUL-terminated.
unsafe fn read_options(options: *const concur_options) -> Result<Options, Failure> {
    let mut result = Options::new();
    // SAFETY: NULL or valid by the caller's promise.
    let Some(o) = (unsafe { options.as_ref() }) else {
        return Ok(result);
    };
    // SAFETY (all four): the strings are NULL or NUL-terminated by the caller's promise.
    if let Some(url) = unsafe { optional(o.base_url, "options.base_url") }? {
        result = result.base_url(url);
    }
    if o.timeout_ms != 0 {
        result = result.timeout(Duration::from_millis(u64::from(o.timeout_ms)));
    }
    if let Some(path) = unsafe { optional(o.ca_file, "options.ca_file") }? {
        result = result.ca_file(path);
    }
    if let Some(proxy) = unsafe { optional(o.proxy, "options.proxy") }? {
        result = result.proxy(proxy);
    }
    if let Some(suffix) = unsafe { optional(o.user_agent_suffix, "options.user_agent_suffix") }? {
        result = result.user_agent_suffix(suffix);
    }
    Ok(result)
}

fn fields(out: &mut concur_token_buffers) -> [(&'static str, &mut concur_buffer); 4] {
    [
        ("token", &mut out.token),
        ("refresh_token", &mut out.refresh_token),
        ("expiration_date", &mut out.expiration_date),
        ("instance_url", &mut out.instance_url),
    ]
}

/// Empties every output, so that a failure leaves nothing of a token behind.
///
/// # Safety
/// Every buffer in `out` must be NULL or point to its `capacity` writable bytes.
unsafe fn clear_outputs(out: &mut concur_token_buffers) {
    for (_, buffer) in fields(out) {
        // SAFETY: forwarded from the caller.
        unsafe { buffer.clear() };
    }
    out.expires_at = 0;
    out.http_status = 0;
}

/// Writes the token into the buffers, all of them or none.
///
/// # Safety
/// Every buffer in `out` must be NULL or point to its `capacity` writable bytes.
unsafe fn deliver(token: &Token, out: &mut concur_token_buffers) -> Result<(), Failure> {
    let values = [
        token.token().as_bytes(),
        token.refresh_token().unwrap_or("").as_bytes(),
        token.expiration_date().unwrap_or("").as_bytes(),
        token.instance_url().unwrap_or("").as_bytes(),
    ];
    let mut too_small = Vec::new();
    for ((name, buffer), value) in fields(out).into_iter().zip(values) {
        if !buffer.fits(value) {
            too_small.push(format!(
                "{name} needs {} bytes (capacity {})",
                value.len() + 1,
                buffer.capacity
            ));
        }
    }
    if !too_small.is_empty() {
        for ((_, buffer), value) in fields(out).into_iter().zip(values) {
            buffer.len = value.len();
        }
        return Err(Failure {
            status: concur_status::CONCUR_ERR_BUFFER_TOO_SMALL,
            message: format!("buffer too small: {}", too_small.join(", ")),
            http_status: 0,
        });
    }
    for ((_, buffer), value) in fields(out).into_iter().zip(values) {
        // SAFETY: every value fits (checked above) and the buffers are valid by the caller's
        // promise.
        unsafe { buffer.write(value) };
    }
    out.expires_at = token.expires_at().unwrap_or(0);
    Ok(())
}

/// # Safety
/// As for [`concur_native_token`].
unsafe fn native_token_call(
    consumer_key: *const c_char,
    login_id: *const c_char,
    password: *const c_char,
    options: *const concur_options,
    out: &mut concur_token_buffers,
) -> Result<(), Failure> {
    for (name, buffer) in fields(out) {
        if buffer.is_malformed() {
            return Err(invalid(format!(
                "out->{name}.data is NULL with a non-zero capacity"
            )));
        }
    }
    // SAFETY (all): pointers are NULL or NUL-terminated strings by the caller's promise. The
    // strings are borrowed, not copied, so no unwiped copy of the password is made here.
    let consumer_key = unsafe { required(consumer_key, "consumer_key") }?;
    let login_id = unsafe { required(login_id, "login_id") }?;
    let password = unsafe { optional(password, "password") }?.unwrap_or("");
    let options = unsafe { read_options(options) }?;
    let token = crate::native_token(consumer_key, login_id, password, &options)?;
    // SAFETY: buffers valid by the caller's promise.
    unsafe { deliver(&token, out) }
}

/// Obtains an access token with Concur's Native Flow and writes it into caller-owned buffers.
///
/// `consumer_key` and `login_id` are required; `password` may be NULL or "" for an account
/// without one. `options` may be NULL for the defaults. `out` is required: set each buffer's
/// `data` and `capacity` (see `concur_buffer`). `error_message` may be NULL; otherwise on
/// failure it receives a one-line explanation (the HTTP status and Concur's message and error
/// Id when there was an answer), truncated to `error_capacity` bytes with its NUL, and on
/// success an empty string. It never contains the password or the token.
///
/// Returns `CONCUR_OK` with every requested field written, or an error status with every
/// field emptied (after `CONCUR_ERR_BUFFER_TOO_SMALL`, each `len` says what its field needs).
///
/// The call blocks for at most the deadline of `options` (30 s by default). The library
/// keeps no copy of the credentials: the encoded form it sends is wiped from memory once
/// the request is done; wiping the caller's own copies is up to the caller.
///
/// # Safety
/// Every non-NULL string argument must be NUL-terminated and stay valid for the call; `out`
/// must point to a valid `concur_token_buffers` whose buffers are NULL or point to
/// `capacity` writable bytes; `error_message` must be NULL or point to `error_capacity`
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_native_token(
    consumer_key: *const c_char,
    login_id: *const c_char,
    password: *const c_char,
    options: *const concur_options,
    out: *mut concur_token_buffers,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `out` is NULL or valid by the caller's promise.
        let Some(out) = (unsafe { out.as_mut() }) else {
            return Err(invalid("out is NULL"));
        };
        // Empty everything first: every path below either fills all outputs or none
        // (after BUFFER_TOO_SMALL, only the lengths).
        // SAFETY: each buffer is NULL or valid by the caller's promise; `clear` writes nothing
        // through a NULL `data`.
        unsafe { clear_outputs(out) };
        // SAFETY: forwarded from the caller.
        let result = unsafe { native_token_call(consumer_key, login_id, password, options, out) };
        if let Err(failure) = &result {
            out.http_status = failure.http_status;
        }
        result
    }))
    .unwrap_or_else(|_| {
        Err(Failure {
            status: concur_status::CONCUR_ERR_INTERNAL,
            message: "internal error: a bug in concur-native was caught; please report it"
                .to_string(),
            http_status: 0,
        })
    });
    let (status, message) = match outcome {
        Ok(()) => (concur_status::CONCUR_OK, String::new()),
        Err(failure) => (failure.status, failure.message),
    };
    // SAFETY: `error_message` is NULL or holds `error_capacity` writable bytes.
    unsafe { buffers::write_message(error_message, error_capacity, &message) };
    status
}

/// The library's version (`"0.1.0"`), as a static NUL-terminated string. Never NULL; do not
/// free it.
#[unsafe(no_mangle)]
pub extern "C" fn concur_native_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The name of a status value (`"CONCUR_ERR_TIMEOUT"`), as a static NUL-terminated string;
/// `"CONCUR_UNKNOWN_STATUS"` for a value this version does not know. Never NULL; do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn concur_native_status_name(status: u32) -> *const c_char {
    concur_status::name(status).as_ptr()
}
