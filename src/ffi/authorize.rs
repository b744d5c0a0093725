//! The current API's authorization-code flow in C, both local steps: the authorize URL, and
//! the callback's code and geolocation. Neither touches the network.

use std::ffi::c_char;

use zeroize::Zeroizing;

use super::args::{optional_copy, required_copy};
use super::buffers::concur_buffer;
use super::details::concur_error_details;
use super::failure::{Failure, invalid};
use super::oauth2::details_export;
use super::status::concur_status;
use super::token_out::{check_buffers, clear, deliver, url_and_state};

/// Builds the URL that asks a user to grant the application access:
/// `{base_url}/oauth2/v0/authorize?client_id=…&redirect_uri=…&scope=…&response_type=code&state=…`,
/// every part percent-encoded. `scopes` is space separated (NULL or "" for the application's);
/// `state` NULL means 128 random bits from the operating system's CSPRNG; `base_url` NULL means
/// `https://www-us2.api.concursolutions.com`. The URL goes to `url`, the state sent to
/// `state_out` (keep it for `concur_parse_oauth2_callback`); both or neither.
///
/// # Safety
/// Strings NULL or NUL-terminated; `url` and `state_out` must point to valid `concur_buffer`s;
/// `error_message` NULL or `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_oauth2_authorize_url(
    client_id: *const c_char,
    redirect_uri: *const c_char,
    scopes: *const c_char,
    state: *const c_char,
    base_url: *const c_char,
    url: *mut concur_buffer,
    state_out: *mut concur_buffer,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY: the caller's promise, passed on.
    unsafe {
        url_and_state(
            url,
            state_out,
            error_message,
            error_capacity,
            || {
                Ok((
                    required_copy(client_id, "client_id")?,
                    required_copy(redirect_uri, "redirect_uri")?,
                    optional_copy(scopes, "scopes")?,
                    optional_copy(state, "state")?,
                    optional_copy(base_url, "base_url")?,
                ))
            },
            |(client_id, redirect_uri, scopes, state, base_url)| {
                let scopes: Vec<&str> = scopes
                    .as_deref()
                    .map_or("", |s| s.as_str())
                    .split_ascii_whitespace()
                    .collect();
                let request = crate::oauth2::oauth2_authorize_url(
                    &client_id,
                    &redirect_uri,
                    &scopes,
                    state.as_deref().map(|s| s.as_str()),
                    base_url.as_deref().map(|s| s.as_str()),
                )?;
                Ok((request.url, request.state))
            },
        )
    }
}

/// Reads the URL Concur sent the user back to (`{redirect_uri}?code=…&geolocation=…&state=…`)
/// and writes its `code` and `geolocation` (empty when the callback named none; checked to be
/// an `https://` URL, not checked as trusted: pass it as the code exchange's `host` only if
/// you trust it). With `expected_state` (NULL to skip), the state is checked first: a
/// mismatch is `CONCUR_ERR_INVALID_ARGUMENT`. A refusal (`error_code=…`) is
/// `CONCUR_ERR_UNAUTHORIZED`, its code in `details->concur_code`. `geolocation` may be NULL.
///
/// # Safety
/// Strings NULL or NUL-terminated; `code` must point to a valid `concur_buffer`, `geolocation`
/// be NULL or point to one; `details` NULL or valid; `error_message` NULL or `error_capacity`
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_parse_oauth2_callback(
    callback_url: *const c_char,
    expected_state: *const c_char,
    code: *mut concur_buffer,
    geolocation: *mut concur_buffer,
    details: *mut concur_error_details,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        details_export(details, error_message, error_capacity, |details| {
            let inputs: Result<_, Failure> = (|| {
                Ok((
                    required_copy(callback_url, "callback_url")?,
                    optional_copy(expected_state, "expected_state")?,
                ))
            })();
            details.open(error_message, error_capacity)?;
            if std::ptr::eq(code, geolocation) && !code.is_null() {
                return Err(invalid(
                    "code and geolocation are the same buffer: output buffers must be distinct",
                ));
            }
            let Some(code) = code.as_mut() else {
                return Err(invalid("code is NULL"));
            };
            let mut skipped = concur_buffer {
                data: std::ptr::null_mut(),
                capacity: 0,
                len: 0,
            };
            let geolocation = geolocation.as_mut().unwrap_or(&mut skipped);
            clear([&mut *code, &mut *geolocation]);
            let mut named = details.buffers();
            named.push(("code", &*code));
            named.push(("geolocation", &*geolocation));
            check_buffers(named, error_message, error_capacity)?;
            let (callback_url, expected_state) = inputs?;
            let callback = crate::oauth2::parse_oauth2_callback(
                &callback_url,
                expected_state.as_deref().map(|s| s.as_str()),
            )?;
            let value = Zeroizing::new(callback.code.clone());
            deliver(&mut [
                ("code", code, value.as_bytes()),
                (
                    "geolocation",
                    geolocation,
                    callback.geolocation.as_deref().unwrap_or("").as_bytes(),
                ),
            ])?;
            Ok(None)
        })
    }
}
