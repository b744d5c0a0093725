//! Reading C arguments: strings, credentials and `concur_options`, each checked and copied
//! before any output is touched.

use std::ffi::{CStr, c_char};
use std::time::Duration;

use zeroize::Zeroizing;

use super::failure::{Failure, invalid};
use super::{concur_proxy_env, concur_trust_store};
use crate::{Options, TrustStore};

const HONOUR: u32 = concur_proxy_env::CONCUR_PROXY_ENV_HONOUR as u32;
const IGNORE: u32 = concur_proxy_env::CONCUR_PROXY_ENV_IGNORE as u32;
const MOZILLA: u32 = concur_trust_store::CONCUR_TRUST_STORE_MOZILLA as u32;
const OS: u32 = concur_trust_store::CONCUR_TRUST_STORE_OS as u32;
const BOTH: u32 = concur_trust_store::CONCUR_TRUST_STORE_BOTH as u32;

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
    // SAFETY: NULL or valid by the caller's promise; struct_size 0 is this version's layout;
    // concur_options holds integers and pointers only, for which zero bytes are valid.
    let grown = unsafe {
        super::extensible::input_grown(
            options,
            "options",
            true,
            super::CONCUR_OPTIONS_FIRST_LAYOUT_SIZE,
        )
    }?;
    let Some(o) = grown else {
        return Ok(result);
    };
    // SAFETY (all): the strings are NULL or NUL-terminated by the caller's promise.
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
    if let Some(hosts) = unsafe { optional(o.trusted_hosts, "options.trusted_hosts") }? {
        for host in hosts.split(',').map(str::trim) {
            if host.is_empty() {
                return Err(invalid("options.trusted_hosts has an empty entry"));
            }
            result = result.trusted_host(host);
        }
    }
    result = match o.retries {
        0 => result,
        super::CONCUR_RETRIES_NONE => result.retries(0),
        n if n > 0 => result.retries(n as u32),
        _ => {
            return Err(invalid(
                "options.retries must be 0 (default), CONCUR_RETRIES_NONE or a positive count",
            ));
        }
    };
    if let Some(id) = unsafe { optional(o.correlation_id, "options.correlation_id") }? {
        result = result.correlation_id(id);
    }
    result = match o.proxy_env {
        HONOUR => result,
        IGNORE => result.proxy_from_env(false),
        _ => {
            return Err(invalid(
                "options.proxy_env must be CONCUR_PROXY_ENV_HONOUR (0) or CONCUR_PROXY_ENV_IGNORE",
            ));
        }
    };
    let store = match o.trust_store {
        MOZILLA => TrustStore::Mozilla,
        OS => TrustStore::Os,
        BOTH => TrustStore::Both,
        _ => {
            return Err(invalid(
                "options.trust_store must be CONCUR_TRUST_STORE_MOZILLA (0), \
                 CONCUR_TRUST_STORE_OS or CONCUR_TRUST_STORE_BOTH",
            ));
        }
    };
    Ok(result.trust_store(store))
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
