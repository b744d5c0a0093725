//! `concur_client`: options checked once, connections kept, shared between threads.

use std::ffi::c_char;
use std::sync::Arc;

use super::args::{native_credentials, read_options, required, required_copy};
use super::boundary::boundary;
use super::buffers::concur_token_buffers;
use super::concur_options;
use super::failure::{Failure, invalid};
use super::status::concur_status;
use super::token_out::token_export;
use crate::Client;

/// A reusable client: it holds checked options and keeps TLS connections alive between calls,
/// so that a job fetching tokens for many users pays one handshake, not one per user.
/// Create it with `concur_client_new`, release it with `concur_client_free`. It is safe to
/// use from several threads at once: every call takes a `const concur_client *`. A token
/// manager made from it (`concur_token_manager_new`) keeps the client's connections alive on
/// its own: the client may be freed before the manager.
#[allow(non_camel_case_types)]
pub struct concur_client {
    /// Shared with the token managers made from this client.
    pub(crate) inner: Arc<Client>,
    /// The correlation id the options fixed, reported on success by calls whose answer has
    /// none to give.
    pub(crate) correlation_id: Option<String>,
}

/// # Safety
/// `client` must be NULL or come from `concur_client_new` and not be freed.
pub(crate) unsafe fn client_ref<'a>(
    client: *const concur_client,
) -> Result<&'a concur_client, Failure> {
    // SAFETY: NULL or valid by the caller's promise.
    unsafe { client.as_ref() }.ok_or_else(|| invalid("client is NULL"))
}

/// Creates a client from `options` (NULL for the defaults) and stores it in `*client_out`.
/// Nothing is sent until the first call. On failure `*client_out` is set to NULL.
///
/// # Safety
/// `options` must be NULL or valid, with NULL or NUL-terminated strings; `client_out` must be
/// NULL or point to writable storage for a pointer; `error_message` must be NULL or point to
/// `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_new(
    options: *const concur_options,
    client_out: *mut *mut concur_client,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            let Some(slot) = client_out.as_mut() else {
                return Err(invalid("client_out is NULL"));
            };
            *slot = std::ptr::null_mut();
            let options = read_options(options)?;
            let inner = Arc::new(Client::new(&options)?);
            let correlation_id = options.correlation_id.clone();
            *slot = Box::into_raw(Box::new(concur_client {
                inner,
                correlation_id,
            }));
            Ok(())
        })
    }
}

/// Releases a client. NULL is accepted and does nothing. The client must not be in use by
/// another thread, nor used again. Token managers made from it keep working: each holds its
/// own reference to the client's connections, released by `concur_token_manager_free`.
///
/// # Safety
/// `client` must be NULL or come from `concur_client_new`, and not be freed already.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_free(client: *mut concur_client) {
    if client.is_null() {
        return;
    }
    // SAFETY: from Box::into_raw in concur_client_new, freed once by the caller's promise.
    let client = unsafe { Box::from_raw(client) };
    // Dropping releases memory and sockets; no part of it is known to panic, but a panic must
    // never unwind into C (that would abort the host): at worst, something leaks.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(client)));
}

/// The Native Flow over the client's connections; arguments and outputs as for
/// `concur_native_token`.
///
/// # Safety
/// `client` must come from `concur_client_new`; the rest as for `concur_native_token`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_native_token(
    client: *const concur_client,
    consumer_key: *const c_char,
    login_id: *const c_char,
    password: *const c_char,
    out: *mut concur_token_buffers,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        token_export(out, error_message, error_capacity, || {
            let client = &client_ref(client)?.inner;
            let [consumer_key, login_id, password] =
                native_credentials(consumer_key, login_id, password)?;
            Ok(move || Ok(client.native_token(&consumer_key, &login_id, &password)?))
        })
    }
}

/// Refreshes a token: `GET {base}/net2/oauth2/getaccesstoken.ashx?refresh_token=…&client_id=…
/// &client_secret=…`. Create the client with the token's instance URL as its base. When the
/// answer carries no refresh token, `out->refresh_token` receives the one given. The client
/// secret and the refresh token never appear in the error text.
///
/// # Safety
/// `client` must come from `concur_client_new`; strings NUL-terminated; `out` and
/// `error_message` as for `concur_native_token`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_refresh_token(
    client: *const concur_client,
    client_id: *const c_char,
    client_secret: *const c_char,
    refresh_token: *const c_char,
    out: *mut concur_token_buffers,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        token_export(out, error_message, error_capacity, || {
            let client = &client_ref(client)?.inner;
            let client_id = required_copy(client_id, "client_id")?;
            let client_secret = required_copy(client_secret, "client_secret")?;
            let refresh_token = required_copy(refresh_token, "refresh_token")?;
            Ok(move || Ok(client.refresh_token(&client_id, &client_secret, &refresh_token)?))
        })
    }
}

/// Exchanges a request token (`code`, from the Web flow's callback, App Center's listener call
/// or an Auto-Connect connection request) for an access token:
/// `GET {base}/net2/oauth2/GetAccessToken.ashx?code=…&client_id=…&client_secret=…`.
///
/// # Safety
/// As for `concur_client_refresh_token`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_exchange_code(
    client: *const concur_client,
    client_id: *const c_char,
    client_secret: *const c_char,
    code: *const c_char,
    out: *mut concur_token_buffers,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        token_export(out, error_message, error_capacity, || {
            let client = &client_ref(client)?.inner;
            let client_id = required_copy(client_id, "client_id")?;
            let client_secret = required_copy(client_secret, "client_secret")?;
            let code = required_copy(code, "code")?;
            Ok(move || Ok(client.exchange_code(&client_id, &client_secret, &code)?))
        })
    }
}

/// Revokes one access token: `POST {base}/net2/oauth2/revoketoken.ashx?token=…` with
/// `Authorization: OAuth {admin_access_token}` (a Web Services Administrator's token).
///
/// # Safety
/// `client` must come from `concur_client_new`; strings NUL-terminated; `error_message` NULL
/// or `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_revoke_token(
    client: *const concur_client,
    admin_access_token: *const c_char,
    token: *const c_char,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            let client = &client_ref(client)?.inner;
            let admin = required(admin_access_token, "admin_access_token")?;
            let token = required(token, "token")?;
            Ok(client.revoke_token(admin, token)?)
        })
    }
}

/// Revokes every token a user granted the application:
/// `POST {base}/net2/oauth2/revoketoken.ashx?consumerKey=…&user=…`, authorised as for
/// `concur_client_revoke_token`.
///
/// # Safety
/// As for `concur_client_revoke_token`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_revoke_user_tokens(
    client: *const concur_client,
    admin_access_token: *const c_char,
    consumer_key: *const c_char,
    login_id: *const c_char,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            let client = &client_ref(client)?.inner;
            let admin = required(admin_access_token, "admin_access_token")?;
            let consumer_key = required(consumer_key, "consumer_key")?;
            let login_id = required(login_id, "login_id")?;
            Ok(client.revoke_user_tokens(admin, consumer_key, login_id)?)
        })
    }
}
