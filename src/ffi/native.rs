//! `concur_native_token()`: the one-shot Native Flow.

use std::ffi::c_char;

use super::args::{native_credentials, read_options};
use super::buffers::concur_token_buffers;
use super::concur_options;
use super::status::concur_status;
use super::token_out::token_export;

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
/// The call blocks for at most the deadline of `options` (30 s by default) and opens a fresh
/// connection; a `concur_client` keeps connections between calls. The library keeps no copy
/// of the credentials: the encoded form it sends is wiped from memory once the request is
/// done; wiping the caller's own copies is up to the caller.
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
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        token_export(out, error_message, error_capacity, || {
            let [consumer_key, login_id, password] =
                native_credentials(consumer_key, login_id, password)?;
            let options = read_options(options)?;
            Ok(move || {
                Ok(crate::native_token(
                    &consumer_key,
                    &login_id,
                    &password,
                    &options,
                )?)
            })
        })
    }
}
