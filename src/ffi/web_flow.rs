//! The Web flow's two local steps: the URL that sends the user to Concur, and the callback
//! that brings back the code. Neither touches the network.

use std::ffi::c_char;

use super::args::{optional_copy, required_copy};
use super::boundary::boundary;
use super::buffers::concur_buffer;
use super::failure::{Failure, invalid};
use super::status::concur_status;
use super::token_out::{check_buffers, clear, deliver, url_and_state};
use zeroize::Zeroizing;

/// Builds the URL that starts the Web flow:
/// `{base_url}/net2/oauth2/Login.aspx?client_id=…&scope=…&redirect_uri=…&state=…`, every part
/// percent-encoded. `base_url` NULL means `https://www.concursolutions.com`; `scope` is a
/// comma-separated list such as `"EXPRPT,LIST"` (NULL or "" for none); `state` NULL means one
/// is drawn from the operating system's CSPRNG. The URL goes to `url`, the state sent to
/// `state_out` (keep it for `concur_parse_callback`); both all-or-nothing as for tokens.
///
/// # Safety
/// Strings NULL or NUL-terminated; `url` and `state_out` must point to valid `concur_buffer`s
/// whose `data` is NULL or holds `capacity` writable bytes; `error_message` NULL or
/// `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_authorization_url(
    base_url: *const c_char,
    client_id: *const c_char,
    scope: *const c_char,
    redirect_uri: *const c_char,
    state: *const c_char,
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
                    optional_copy(base_url, "base_url")?,
                    required_copy(client_id, "client_id")?,
                    optional_copy(scope, "scope")?,
                    required_copy(redirect_uri, "redirect_uri")?,
                    optional_copy(state, "state")?,
                ))
            },
            |(base_url, client_id, scope, redirect_uri, state)| {
                let base_url = base_url.as_deref().map_or(crate::DEFAULT_BASE_URL, |b| b);
                let scope = scope.as_deref().map_or("", |s| s);
                let scopes: Vec<&str> = scope.split(',').filter(|s| !s.is_empty()).collect();
                let request = crate::authorization_url(
                    base_url,
                    &client_id,
                    &scopes,
                    &redirect_uri,
                    state.as_deref().map(|s| s.as_str()),
                )?;
                Ok((request.url, request.state))
            },
        )
    }
}

/// Reads the callback URL Concur redirected the user to (or App Center called the listener
/// with) and writes its `code` into `code`. With `expected_state` (NULL to skip, as for App
/// Center), the callback's state must match: a mismatch is `CONCUR_ERR_INVALID_ARGUMENT`. A
/// callback with `error=` is `CONCUR_ERR_UNAUTHORIZED`, its description in the error text.
///
/// # Safety
/// Strings NULL or NUL-terminated; `code` must point to a valid `concur_buffer`;
/// `error_message` NULL or `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_parse_callback(
    callback_url: *const c_char,
    expected_state: *const c_char,
    code: *mut concur_buffer,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            let Some(code) = code.as_mut() else {
                return Err(invalid("code is NULL"));
            };
            // Copied before the output is cleared: the URL may live in `code` (parsed in place).
            let inputs: Result<_, Failure> = (|| {
                Ok((
                    required_copy(callback_url, "callback_url")?,
                    optional_copy(expected_state, "expected_state")?,
                ))
            })();
            clear([&mut *code]);
            check_buffers([("code", &*code)], error_message, error_capacity)?;
            let (callback_url, expected_state) = inputs?;
            let value = Zeroizing::new(crate::parse_callback(
                &callback_url,
                expected_state.as_deref().map(|s| s.as_str()),
            )?);
            deliver(&mut [("code", code, value.as_bytes())])
        })
    }
}
