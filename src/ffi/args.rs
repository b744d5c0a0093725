//! Reading C arguments, and the failure value every export carries back to its boundary.

use std::ffi::{CStr, c_char};
use std::time::Duration;

use zeroize::Zeroizing;

use super::status::concur_status;
use crate::{Error, Options};

/// A failure on its way to the caller: the status, the message for the error buffer, and the
/// HTTP status for the outputs that report one.
pub(crate) struct Failure {
    pub(crate) status: concur_status,
    pub(crate) message: String,
    pub(crate) http_status: u32,
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

pub(crate) fn invalid(message: impl Into<String>) -> Failure {
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
pub(crate) unsafe fn required<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's promise.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| invalid(format!("{name} is not valid UTF-8")))
}

/// A copy of an argument, taken before any output is touched (an input may live in an output
/// buffer: refresh in place), in a buffer sized once and wiped when dropped (it may be a secret).
pub(crate) fn wiped_copy(value: &str) -> Zeroizing<String> {
    let mut copy = Zeroizing::new(String::with_capacity(value.len()));
    copy.push_str(value);
    copy
}

/// [`required`], copied with [`wiped_copy`].
///
/// # Safety
/// As for [`required`].
pub(crate) unsafe fn required_copy(
    ptr: *const c_char,
    name: &str,
) -> Result<Zeroizing<String>, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { required(ptr, name) }.map(wiped_copy)
}

/// [`optional`], copied with [`wiped_copy`].
///
/// # Safety
/// As for [`required`].
pub(crate) unsafe fn optional_copy(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<Zeroizing<String>>, Failure> {
    // SAFETY: forwarded from the caller.
    Ok(unsafe { optional(ptr, name) }?.map(wiped_copy))
}

/// Like [`required`], with NULL meaning "not given".
///
/// # Safety
/// As for [`required`].
pub(crate) unsafe fn optional<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
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
pub(crate) unsafe fn read_options(
    options: *const super::concur_options,
) -> Result<Options, Failure> {
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

/// The Native Flow's three credentials: the key and login ID required, the password NULL or
/// "" for none. Copied (an input may live in an output buffer) into buffers wiped on drop, so
/// no unwiped copy of the password is made.
///
/// # Safety
/// Each pointer must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn native_credentials(
    consumer_key: *const c_char,
    login_id: *const c_char,
    password: *const c_char,
) -> Result<[Zeroizing<String>; 3], Failure> {
    // SAFETY (all three): forwarded from the caller.
    unsafe {
        Ok([
            required_copy(consumer_key, "consumer_key")?,
            required_copy(login_id, "login_id")?,
            optional_copy(password, "password")?.unwrap_or_default(),
        ])
    }
}
