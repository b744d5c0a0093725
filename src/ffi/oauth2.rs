//! The current API (oauth2/v0) over a `concur_client`: every grant, the one-time password,
//! revocation and the legacy-token migration. Each function reads, calls the core, writes.

use std::ffi::c_char;

use zeroize::Zeroizing;

use super::args::{optional_copy, required_copy};
use super::boundary::boundary;
use super::buffers::{concur_buffer, concur_oauth2_token_buffers};
use super::client::{client_ref, concur_client};
use super::details::concur_error_details;
use super::extensible;
use super::failure::{Failure, invalid};
use super::status::concur_status;
use super::token_out::{check_buffers, clear, deliver};
use crate::oauth2::{Grant, OAuth2Token, OtpRequest};

/// What a `concur_oauth2_grant` trades for a token. Values are fixed for ever; 0 is not a
/// kind (a zero-initialised grant is refused). In C the field is a `uint32_t`: a value this
/// version does not know is `CONCUR_ERR_INVALID_ARGUMENT`.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_grant_kind {
    /// A user's credentials: `username`, `password`, optional `scope`.
    CONCUR_GRANT_PASSWORD = 1,
    /// A company token from App Center: `company_id`, `request_token`.
    CONCUR_GRANT_COMPANY = 2,
    /// A refresh: `refresh_token`, optional `scope`. Pass the token's geolocation as `host`,
    /// and store the refresh token the answer carries (Concur may rotate it).
    CONCUR_GRANT_REFRESH_TOKEN = 3,
    /// The application's own token: no field; no refresh token comes back.
    CONCUR_GRANT_CLIENT_CREDENTIALS = 4,
    /// The authorization-code flow's code: `code`, `redirect_uri` (exactly as given to the
    /// authorize URL).
    CONCUR_GRANT_AUTHORIZATION_CODE = 5,
    /// A one-time password sent by `concur_client_oauth2_send_otp`: `email`, `otp`, optional
    /// `scope`.
    CONCUR_GRANT_OTP = 6,
}

/// A grant for `concur_client_oauth2_token`. Set `struct_size` to
/// `sizeof(concur_oauth2_grant)` (or call `concur_oauth2_grant_init`), `kind`, and the fields
/// that kind uses (see `concur_grant_kind`); the library never reads the others, so they may
/// hold anything. Strings are NUL-terminated UTF-8; a field the kind requires may not be NULL.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_oauth2_grant {
    /// `sizeof(concur_oauth2_grant)` as the caller was compiled with it; 0 is refused.
    pub struct_size: u32,
    /// One of `concur_grant_kind`.
    pub kind: u32,
    /// The user's login name (password grant).
    pub username: *const c_char,
    /// The user's password (password grant).
    pub password: *const c_char,
    /// The company's UUID, App Center's `id` (company grant).
    pub company_id: *const c_char,
    /// App Center's `requestToken` (company grant).
    pub request_token: *const c_char,
    /// The stored refresh token (refresh grant).
    pub refresh_token: *const c_char,
    /// The callback's code (authorization-code grant).
    pub code: *const c_char,
    /// The redirect URI given to the authorize URL (authorization-code grant).
    pub redirect_uri: *const c_char,
    /// The address the one-time password went to (OTP grant).
    pub email: *const c_char,
    /// The one-time password (OTP grant).
    pub otp: *const c_char,
    /// Scopes, space separated (password, refresh and OTP grants); NULL for the default.
    pub scope: *const c_char,
}

type Secret = Zeroizing<String>;

/// The kinds as the `u32` the C struct holds (a Rust enum read from C memory would be undefined
/// behaviour for a value it does not name).
const PASSWORD: u32 = concur_grant_kind::CONCUR_GRANT_PASSWORD as u32;
const COMPANY: u32 = concur_grant_kind::CONCUR_GRANT_COMPANY as u32;
const REFRESH_TOKEN: u32 = concur_grant_kind::CONCUR_GRANT_REFRESH_TOKEN as u32;
const CLIENT_CREDENTIALS: u32 = concur_grant_kind::CONCUR_GRANT_CLIENT_CREDENTIALS as u32;
const AUTHORIZATION_CODE: u32 = concur_grant_kind::CONCUR_GRANT_AUTHORIZATION_CODE as u32;
const OTP: u32 = concur_grant_kind::CONCUR_GRANT_OTP as u32;

/// An optional copied string as the core takes it.
fn text(value: &Option<Secret>) -> Option<&str> {
    value.as_deref().map(String::as_str)
}

/// A grant's strings, copied (wiped on drop) before any output is touched.
enum OwnedGrant {
    Password(Secret, Secret, Option<Secret>),
    Company(Secret, Secret),
    RefreshToken(Secret, Option<Secret>),
    ClientCredentials,
    AuthorizationCode(Secret, Secret),
    Otp(Secret, Secret, Option<Secret>),
}

impl OwnedGrant {
    /// Reads the fields `grant->kind` uses, and no other.
    ///
    /// # Safety
    /// `grant` must be NULL or a valid `concur_oauth2_grant` of `struct_size` bytes whose used
    /// strings are NULL or NUL-terminated.
    unsafe fn read(grant: *const concur_oauth2_grant) -> Result<OwnedGrant, Failure> {
        // SAFETY (all): forwarded from the caller.
        unsafe {
            let Some(g) = extensible::input(grant, "grant", false)? else {
                return Err(invalid("grant is NULL"));
            };
            let scope = || optional_copy(g.scope, "grant->scope");
            Ok(match g.kind {
                PASSWORD => OwnedGrant::Password(
                    required_copy(g.username, "grant->username")?,
                    required_copy(g.password, "grant->password")?,
                    scope()?,
                ),
                COMPANY => OwnedGrant::Company(
                    required_copy(g.company_id, "grant->company_id")?,
                    required_copy(g.request_token, "grant->request_token")?,
                ),
                REFRESH_TOKEN => OwnedGrant::RefreshToken(
                    required_copy(g.refresh_token, "grant->refresh_token")?,
                    scope()?,
                ),
                CLIENT_CREDENTIALS => OwnedGrant::ClientCredentials,
                AUTHORIZATION_CODE => OwnedGrant::AuthorizationCode(
                    required_copy(g.code, "grant->code")?,
                    required_copy(g.redirect_uri, "grant->redirect_uri")?,
                ),
                OTP => OwnedGrant::Otp(
                    required_copy(g.email, "grant->email")?,
                    required_copy(g.otp, "grant->otp")?,
                    scope()?,
                ),
                0 => return Err(invalid("grant->kind not set")),
                other => return Err(invalid(format!("grant->kind {other} is unknown"))),
            })
        }
    }

    fn as_grant(&self) -> Grant<'_> {
        match self {
            OwnedGrant::Password(username, password, scope) => Grant::Password {
                username,
                password,
                scope: text(scope),
            },
            OwnedGrant::Company(company_id, request_token) => Grant::Company {
                company_id,
                request_token,
            },
            OwnedGrant::RefreshToken(refresh_token, scope) => Grant::RefreshToken {
                refresh_token,
                scope: text(scope),
            },
            OwnedGrant::ClientCredentials => Grant::ClientCredentials,
            OwnedGrant::AuthorizationCode(code, redirect_uri) => {
                Grant::AuthorizationCode { code, redirect_uri }
            }
            OwnedGrant::Otp(email, otp, scope) => Grant::Otp {
                email,
                otp,
                scope: text(scope),
            },
        }
    }
}

/// The caller's `concur_error_details`, once opened: checked, emptied, and filled at the end.
pub(crate) struct Details<'a> {
    ptr: *mut concur_error_details,
    opened: Option<&'a mut concur_error_details>,
}

impl Details<'_> {
    /// Checks the struct and its buffers, and empties it. Call it after the inputs are read.
    ///
    /// # Safety
    /// `ptr` (given to [`details_export`]) must be NULL or a valid `concur_error_details`.
    pub(crate) unsafe fn open(
        &mut self,
        error_message: *const c_char,
        error_capacity: usize,
    ) -> Result<(), Failure> {
        // SAFETY (all): forwarded from the caller.
        unsafe {
            let Some(details) = extensible::output(self.ptr, "details")? else {
                return Ok(());
            };
            check_buffers(
                details.buffers().iter().map(|(n, b)| (*n, &**b)),
                error_message,
                error_capacity,
            )?;
            details.clear();
            self.opened = Some(details);
        }
        Ok(())
    }

    /// The details' buffers, for the overlap check with the call's outputs.
    pub(crate) fn buffers(&mut self) -> Vec<(&'static str, &concur_buffer)> {
        match &mut self.opened {
            Some(d) => d.buffers().into_iter().map(|(n, b)| (n, &*b)).collect(),
            None => Vec::new(),
        }
    }
}

/// The shape of every current-API export: `body` reads its inputs, opens the details, does its
/// work and returns the correlation id it learnt; the details then record the outcome.
///
/// # Safety
/// `details` must be NULL or a valid `concur_error_details`; `error_message` NULL or
/// `error_capacity` writable bytes.
pub(crate) unsafe fn details_export(
    details: *mut concur_error_details,
    error_message: *mut c_char,
    error_capacity: usize,
    body: impl FnOnce(&mut Details<'_>) -> Result<Option<String>, Failure>,
) -> concur_status {
    // SAFETY (all): forwarded from the caller.
    unsafe {
        boundary(error_message, error_capacity, || {
            let mut slot = Details {
                ptr: details,
                opened: None,
            };
            let outcome = body(&mut slot);
            if let Some(d) = slot.opened {
                d.record(outcome.as_ref().map(|c| c.as_deref()));
            }
            outcome.map(|_| ())
        })
    }
}

/// Trades a grant for a token at `POST {host}/oauth2/v0/token` and writes it into `out`
/// (all buffers or none, as for `concur_native_token`).
///
/// `client_id` and `client_secret` are the application's; `grant` says what is traded (see
/// `concur_oauth2_grant`). `host` NULL sends the call to the client's base URL when its options
/// set one, else to the host Concur documents for the grant; pass a token's `geolocation` to
/// refresh it. When Concur answers code 16 (the user lives in another data centre), the call
/// is sent once more, to the geolocation it named, if that host is trusted (see
/// `concur_options.trusted_hosts`); an untrusted one is `CONCUR_ERR_PROTOCOL` and nothing is
/// sent there. `details` (NULL when not wanted) receives Concur's code, OAuth error,
/// geolocation and correlation id. Secrets never appear in the error text.
///
/// Inputs are read before any output is touched: refreshing with the refresh token held in
/// `out->refresh_token` works in place.
///
/// # Safety
/// `client` from `concur_client_new`; strings NULL or NUL-terminated; `grant` NULL or valid
/// for its `struct_size`; `out` NULL or a valid `concur_oauth2_token_buffers` whose buffers are
/// NULL or hold `capacity` writable bytes; `details` NULL or valid; `error_message` NULL or
/// `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_oauth2_token(
    client: *const concur_client,
    client_id: *const c_char,
    client_secret: *const c_char,
    grant: *const concur_oauth2_grant,
    host: *const c_char,
    out: *mut concur_oauth2_token_buffers,
    details: *mut concur_error_details,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        details_export(details, error_message, error_capacity, |details| {
            let inputs: Result<_, Failure> = (|| {
                Ok((
                    client_ref(client)?,
                    required_copy(client_id, "client_id")?,
                    required_copy(client_secret, "client_secret")?,
                    OwnedGrant::read(grant)?,
                    optional_copy(host, "host")?,
                ))
            })();
            details.open(error_message, error_capacity)?;
            let out = open_token_out(out, details, error_message, error_capacity)?;
            let (client, client_id, client_secret, grant, host) = inputs?;
            let token = client
                .inner
                .oauth2_token(
                    &client_id,
                    &client_secret,
                    &grant.as_grant(),
                    host.as_deref().map(|h| h.as_str()),
                )
                .map_err(|e| failed_into(out, e))?;
            deliver_token(out, &token)
        })
    }
}

/// Opens the caller's token outputs: checked (`struct_size`, NULL, buffers overlapping each
/// other, the details' or the error buffer) and emptied. Call it after the inputs are read and
/// the details opened.
///
/// # Safety
/// `out` must be NULL or a valid `concur_oauth2_token_buffers` whose buffers are NULL or hold
/// `capacity` writable bytes; `error_message` NULL or `error_capacity` writable bytes.
pub(crate) unsafe fn open_token_out<'a>(
    out: *mut concur_oauth2_token_buffers,
    details: &mut Details<'_>,
    error_message: *const c_char,
    error_capacity: usize,
) -> Result<&'a mut concur_oauth2_token_buffers, Failure> {
    // SAFETY (all): forwarded from the caller.
    unsafe {
        let Some(out) = extensible::output(out, "out")? else {
            return Err(invalid("out is NULL"));
        };
        clear(out.buffers().into_iter().map(|(_, b)| b));
        out.expires_at = 0;
        out.refresh_expires_at = 0;
        out.http_status = 0;
        {
            let mut named: Vec<(&str, &concur_buffer)> = details.buffers();
            let outputs = out.buffers();
            named.extend(outputs.iter().map(|(n, b)| (*n, &**b)));
            check_buffers(named, error_message, error_capacity)?;
        }
        Ok(out)
    }
}

/// The failure of the call whose token was to go into `out` (opened by [`open_token_out`]),
/// its HTTP status recorded there (0 when no answer came).
pub(crate) fn failed_into(out: &mut concur_oauth2_token_buffers, error: crate::Error) -> Failure {
    let failure = Failure::from(error);
    out.http_status = u16::try_from(failure.http_status).unwrap_or(0);
    failure
}

/// Writes `token` into outputs opened by [`open_token_out`]: every buffer or none (then each
/// `len` is the length its field needs). Returns the exchange's correlation id for the details.
///
/// # Safety
/// As for [`open_token_out`].
pub(crate) unsafe fn deliver_token(
    out: &mut concur_oauth2_token_buffers,
    token: &OAuth2Token,
) -> Result<Option<String>, Failure> {
    let values = [
        token.access_token(),
        token.token_type(),
        token.refresh_token().unwrap_or(""),
        token.scope().unwrap_or(""),
        token.geolocation().unwrap_or(""),
        token.id_token().unwrap_or(""),
        token.subject().unwrap_or(""),
        token.principal_type().unwrap_or(""),
        token.correlation_id().unwrap_or(""),
    ];
    let correlation_id = token.correlation_id().map(str::to_string);
    let mut fields: Vec<_> = out
        .buffers()
        .into_iter()
        .zip(values)
        .map(|((name, buffer), value)| (name, buffer, value.as_bytes()))
        .collect();
    // SAFETY: forwarded from the caller.
    unsafe { deliver(&mut fields) }.map_err(|mut failure| {
        failure.correlation_id = correlation_id.clone();
        failure
    })?;
    out.expires_at = token.expires_at().unwrap_or(0);
    out.refresh_expires_at = token.refresh_expires_at().unwrap_or(0);
    Ok(correlation_id)
}

/// Emails a user a one-time password: `POST {host}/oauth2/v0/otp` with the application's
/// credentials; then trade it with a `CONCUR_GRANT_OTP` grant. `email` is required; `name`,
/// `company` and `link` (for the email's text) may be NULL. `host` as for
/// `concur_client_oauth2_token` (a production host by default).
///
/// # Safety
/// `client` from `concur_client_new`; strings NULL or NUL-terminated; `details` NULL or valid;
/// `error_message` NULL or `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_oauth2_send_otp(
    client: *const concur_client,
    client_id: *const c_char,
    client_secret: *const c_char,
    email: *const c_char,
    name: *const c_char,
    company: *const c_char,
    link: *const c_char,
    host: *const c_char,
    details: *mut concur_error_details,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        details_export(details, error_message, error_capacity, |details| {
            let inputs: Result<_, Failure> = (|| {
                Ok((
                    client_ref(client)?,
                    required_copy(client_id, "client_id")?,
                    required_copy(client_secret, "client_secret")?,
                    required_copy(email, "email")?,
                    optional_copy(name, "name")?,
                    optional_copy(company, "company")?,
                    optional_copy(link, "link")?,
                    optional_copy(host, "host")?,
                ))
            })();
            details.open(error_message, error_capacity)?;
            let (client, client_id, client_secret, email, name, company, link, host) = inputs?;
            let request = OtpRequest {
                email: &email,
                name: text(&name),
                company: text(&company),
                link: text(&link),
            };
            client
                .inner
                .send_otp(&client_id, &client_secret, &request, text(&host))?;
            Ok(client.correlation_id.clone())
        })
    }
}

/// Revokes every refresh token a user gave the application: `DELETE
/// {host}/app-mgmt/v0/connections` with `Authorization: Bearer {access_token}` (a token of
/// that user). Send it to the user's geolocation (`host`).
///
/// # Safety
/// As for `concur_client_oauth2_send_otp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_oauth2_revoke_connections(
    client: *const concur_client,
    access_token: *const c_char,
    host: *const c_char,
    details: *mut concur_error_details,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        details_export(details, error_message, error_capacity, |details| {
            let inputs: Result<_, Failure> = (|| {
                Ok((
                    client_ref(client)?,
                    required_copy(access_token, "access_token")?,
                    optional_copy(host, "host")?,
                ))
            })();
            details.open(error_message, error_capacity)?;
            let (client, access_token, host) = inputs?;
            client
                .inner
                .revoke_connections(&access_token, host.as_deref().map(|h| h.as_str()))?;
            Ok(client.correlation_id.clone())
        })
    }
}

/// Trades a refresh token of the legacy flows (this library's Native Flow, say) for one of the
/// current API: `POST {host}/appmgmt/v0/legacyApps/{old_consumer_key}/exchangeRefreshToken/me`
/// (for a company token when `company` is non-zero), authorised by `app_access_token` (a
/// `CONCUR_GRANT_CLIENT_CREDENTIALS` token of the new application), with the old refresh token
/// and the new application's `client_secret` in the body. Never sent twice. The new refresh
/// token goes to `refresh_token_out` (required); use it with `CONCUR_GRANT_REFRESH_TOKEN`.
///
/// # Safety
/// As for `concur_client_oauth2_send_otp`; `refresh_token_out` must point to a valid
/// `concur_buffer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_client_exchange_legacy_refresh_token(
    client: *const concur_client,
    app_access_token: *const c_char,
    old_consumer_key: *const c_char,
    old_refresh_token: *const c_char,
    client_secret: *const c_char,
    company: i32,
    host: *const c_char,
    refresh_token_out: *mut concur_buffer,
    details: *mut concur_error_details,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        details_export(details, error_message, error_capacity, |details| {
            let inputs: Result<_, Failure> = (|| {
                Ok((
                    client_ref(client)?,
                    required_copy(app_access_token, "app_access_token")?,
                    required_copy(old_consumer_key, "old_consumer_key")?,
                    required_copy(old_refresh_token, "old_refresh_token")?,
                    required_copy(client_secret, "client_secret")?,
                    optional_copy(host, "host")?,
                ))
            })();
            details.open(error_message, error_capacity)?;
            let Some(out) = refresh_token_out.as_mut() else {
                return Err(invalid("refresh_token_out is NULL"));
            };
            clear([&mut *out]);
            let mut named = details.buffers();
            named.push(("refresh_token_out", &*out));
            check_buffers(named, error_message, error_capacity)?;
            let (client, app_token, key, old_token, secret, host) = inputs?;
            let exchanged = client.inner.exchange_legacy_refresh_token(
                &app_token,
                &key,
                &old_token,
                &secret,
                company != 0,
                host.as_deref().map(|h| h.as_str()),
            )?;
            let correlation_id = exchanged.correlation_id.clone();
            deliver(&mut [("refresh_token_out", out, exchanged.refresh_token.as_bytes())])
                .map_err(|mut failure| {
                    failure.correlation_id = correlation_id.clone();
                    failure
                })?;
            Ok(correlation_id)
        })
    }
}
