//! `concur_token_vault`: the token vault in the C ABI — many connections, each named by the
//! caller's ID, kept alive over a keyed store named by URL (`memory:`, `sqlite:///path`,
//! `redis://…`, `postgres://…`).

use std::ffi::{CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::args::{optional, required, required_copy, wiped_copy};
use super::boundary::boundary;
use super::buffers::concur_oauth2_token_buffers;
use super::client::{client_ref, concur_client};
use super::details::concur_error_details;
use super::extensible;
use super::failure::{Failure, invalid};
use super::manager::{policy_of, sealer_of};
use super::manager_events::{EventSink, concur_refresh_event_cb};
use super::oauth2::{deliver_token, details_export, failed_into, open_token_out};
use super::status::concur_status;
use crate::manager::{ConnectionInfo, ConnectionKind, MAX_CONNECTION_ID, TokenVault, VaultStart};
use crate::vault::open_store;

/// How `concur_token_vault_add` obtains a connection (`concur_vault_start.kind`). Values are
/// fixed for ever (the first four are those of `concur_manager_start`); 0 is not a kind. In C
/// the field is a `uint32_t`: a value this version does not know is
/// `CONCUR_ERR_INVALID_ARGUMENT`.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_vault_start_kind {
    /// A refresh token stored earlier: `refresh_token`, and `geolocation` (NULL for the
    /// client's host). It is refreshed once at once, so the vault holds a fresh one.
    CONCUR_VAULT_START_REFRESH_TOKEN = 1,
    /// A user's password grant: `username`, `password`.
    CONCUR_VAULT_START_PASSWORD = 2,
    /// A company grant from App Center: `company_id`, `request_token`.
    CONCUR_VAULT_START_COMPANY = 3,
    /// The application's own token (no field).
    CONCUR_VAULT_START_CLIENT_CREDENTIALS = 4,
    /// The authorization-code exchange of the Web flow: `code`, `redirect_uri` (exactly as
    /// given to the authorize URL).
    CONCUR_VAULT_START_AUTHORIZATION_CODE = 5,
}

const START_REFRESH_TOKEN: u32 = concur_vault_start_kind::CONCUR_VAULT_START_REFRESH_TOKEN as u32;
const START_PASSWORD: u32 = concur_vault_start_kind::CONCUR_VAULT_START_PASSWORD as u32;
const START_COMPANY: u32 = concur_vault_start_kind::CONCUR_VAULT_START_COMPANY as u32;
const START_CLIENT_CREDENTIALS: u32 =
    concur_vault_start_kind::CONCUR_VAULT_START_CLIENT_CREDENTIALS as u32;
const START_AUTHORIZATION_CODE: u32 =
    concur_vault_start_kind::CONCUR_VAULT_START_AUTHORIZATION_CODE as u32;

/// What `concur_token_vault_new` builds a vault from. Set `struct_size` to
/// `sizeof(concur_token_vault_options)` (or call `concur_token_vault_options_init`),
/// `client_id`, `client_secret` and `store`. Everything is copied (the struct and its strings
/// need not outlive the call) but `event_user`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct concur_token_vault_options {
    /// `sizeof(concur_token_vault_options)` as the caller was compiled with it; 0 is refused.
    pub struct_size: u32,
    /// The application's client ID; required.
    pub client_id: *const c_char,
    /// The application's client secret; required.
    pub client_secret: *const c_char,
    /// Where the connections are kept, by URL: `memory:` (this vault only; NULL means the
    /// same), `sqlite:///path/to/file.db` (the processes of one machine), `redis://…` or
    /// `rediss://…` (many machines), `postgres://…` or `postgresql://…`. Each store but memory
    /// is a Cargo feature of the library (`scripts/install-c.sh --features sqlite`, …): a URL
    /// whose feature this build lacks is `CONCUR_ERR_NOT_BUILT_IN`, naming the feature; a URL
    /// that does not parse is `CONCUR_ERR_INVALID_ARGUMENT`; a store that cannot be reached or
    /// holds a newer schema is `CONCUR_ERR_STORE`.
    pub store: *const c_char,
    /// The refresh window, in seconds; 0 for 300 (as `concur_token_manager_options`).
    pub margin_seconds: u32,
    /// The floor, in seconds; 0 for 30 (or half of `margin_seconds` when smaller). Must be
    /// below the window.
    pub floor_seconds: u32,
    /// Keys that seal every connection's stored document (as
    /// `concur_token_manager_options.store_keys`): NULL (with `store_key_count` 0) for none.
    pub store_keys: *const *const c_char,
    /// How many strings `store_keys` points to: 0 with NULL `store_keys`, else 1 to 16.
    pub store_key_count: usize,
    /// 1 to refuse a plain-text document (needs `store_keys`); 0 migrates it.
    pub require_sealed: u32,
    /// Called with every refresh attempt and horizon warning of every connection (the event's
    /// `connection` names it); NULL for none. The same rules as a manager's `on_event`: the
    /// calls never overlap, none starts once `concur_token_vault_free` has returned, and the
    /// callback must not call the vault.
    pub on_event: concur_refresh_event_cb,
    /// Passed to `on_event` as is; may be NULL. Must stay valid until
    /// `concur_token_vault_free` returns.
    pub event_user: *mut c_void,
    /// How many connections the vault keeps in memory (the least recently used forgotten
    /// first, read from the store again when used); 0 for 10000.
    pub cache_capacity: usize,
}

/// A way to obtain a connection for `concur_token_vault_add`. Set `struct_size` to
/// `sizeof(concur_vault_start)` (or call `concur_vault_start_init`), `kind`, and the fields
/// that kind uses (see `concur_vault_start_kind`); the library never reads the others. Strings
/// are NUL-terminated UTF-8, copied during the call.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_vault_start {
    /// `sizeof(concur_vault_start)` as the caller was compiled with it; 0 is refused.
    pub struct_size: u32,
    /// One of `concur_vault_start_kind`.
    pub kind: u32,
    /// The stored refresh token (`CONCUR_VAULT_START_REFRESH_TOKEN`).
    pub refresh_token: *const c_char,
    /// Its data centre, a token's `geolocation` (`CONCUR_VAULT_START_REFRESH_TOKEN`); NULL for
    /// the client's host.
    pub geolocation: *const c_char,
    /// The user's login name (`CONCUR_VAULT_START_PASSWORD`).
    pub username: *const c_char,
    /// The user's password (`CONCUR_VAULT_START_PASSWORD`).
    pub password: *const c_char,
    /// The company's UUID (`CONCUR_VAULT_START_COMPANY`).
    pub company_id: *const c_char,
    /// App Center's request token (`CONCUR_VAULT_START_COMPANY`).
    pub request_token: *const c_char,
    /// The callback's code (`CONCUR_VAULT_START_AUTHORIZATION_CODE`).
    pub code: *const c_char,
    /// The redirect URI given to the authorize URL (`CONCUR_VAULT_START_AUTHORIZATION_CODE`).
    pub redirect_uri: *const c_char,
}

/// What a connection stands for (`concur_connection_info.kind`). Values are fixed for ever.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_connection_kind {
    /// A company's connection (App Center's company grant).
    CONCUR_CONNECTION_KIND_COMPANY = 1,
    /// A user's connection (a password grant, an authorization code, a stored refresh token).
    CONCUR_CONNECTION_KIND_USER = 2,
    /// The application's own token (client credentials).
    CONCUR_CONNECTION_KIND_APP = 3,
}

/// A connection's health (`concur_connection_info.state`). Values are fixed for ever; in C
/// the field is a `uint32_t`.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_connection_state {
    /// Refreshed fine, and its refresh token is outside every horizon.
    CONCUR_CONNECTION_STATE_ACTIVE = 1,
    /// Active or failing, and its refresh token within a horizon (`horizon_seconds`) of its
    /// expiry: keep-alive it, or it dies.
    CONCUR_CONNECTION_STATE_EXPIRING = 2,
    /// Its last refreshes failed for now (an outage; `failures` in a row): tried again.
    CONCUR_CONNECTION_STATE_FAILING = 3,
    /// Concur refused it (`concur_code`, 108 most often): never sent again; add it anew.
    CONCUR_CONNECTION_STATE_DEAD = 4,
}

/// The room of `concur_connection_info.id`, its NUL included: every connection ID (at most 256
/// bytes) fits.
pub const CONCUR_CONNECTION_ID_CAPACITY: usize = 257;

const _: () = assert!(CONCUR_CONNECTION_ID_CAPACITY == MAX_CONNECTION_ID + 1);

/// The room of `concur_connection_info.subject` and `.geolocation`, their NUL included.
pub const CONCUR_CONNECTION_TEXT_CAPACITY: usize = 257;

/// A connection as an operator sees it, written by `concur_token_vault_connection` (set
/// `struct_size` to `sizeof(concur_connection_info)`, or call `concur_connection_info_init`)
/// and handed to a `concur_connection_cb` (then owned by the library, `struct_size` its
/// `sizeof`, valid during the callback only). Times are Unix seconds, 0 when unknown. No field
/// holds a secret. A text that does not fit its field (never an ID) is left empty, with its
/// `_len` set to its length.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone)]
pub struct concur_connection_info {
    /// `sizeof(concur_connection_info)`.
    pub struct_size: u32,
    /// One of `concur_connection_kind`.
    pub kind: concur_connection_kind,
    /// One of `concur_connection_state`.
    pub state: concur_connection_state,
    /// The connection's ID, NUL-terminated.
    pub id: [c_char; CONCUR_CONNECTION_ID_CAPACITY],
    /// The ID's length in bytes, without the NUL.
    pub id_len: usize,
    /// The token's subject (a company or user UUID), NUL-terminated; empty when unknown.
    pub subject: [c_char; CONCUR_CONNECTION_TEXT_CAPACITY],
    /// The subject's length in bytes, without the NUL.
    pub subject_len: usize,
    /// The data centre the connection lives at, NUL-terminated; empty when unknown.
    pub geolocation: [c_char; CONCUR_CONNECTION_TEXT_CAPACITY],
    /// The geolocation's length in bytes, without the NUL.
    pub geolocation_len: usize,
    /// When the current access token expires.
    pub expires_at: i64,
    /// When the refresh token expires.
    pub refresh_expires_at: i64,
    /// When it was last refreshed (or added).
    pub last_refresh: i64,
    /// When it was added.
    pub added_at: i64,
    /// 1 when a Concur code killed it (then in `concur_code`), else 0.
    pub has_concur_code: i32,
    /// Concur's code that killed it (108, …) when `has_concur_code`; else 0.
    pub concur_code: i64,
    /// Transient failures in a row.
    pub failures: u32,
    /// The smallest of the vault's horizons its refresh token's expiry is within, in seconds;
    /// 0 when none (or dead, or the expiry is unknown).
    pub horizon_seconds: u64,
}

/// Called by `concur_token_vault_connections` with each connection, in ID order: `user` as
/// given, `info` valid during the call only. Return 0 to go on, anything else to stop (the
/// call then returns `CONCUR_OK`). It runs on the calling thread and must not call the vault.
#[allow(non_camel_case_types)]
pub type concur_connection_cb =
    Option<unsafe extern "C" fn(user: *mut c_void, info: *const concur_connection_info) -> i32>;

/// What one `concur_token_vault_keep_alive` did. Set `struct_size` to
/// `sizeof(concur_keep_alive_report)` (or call `concur_keep_alive_report_init`); the library
/// writes the rest, on success only. `checked == refreshed + fresh + dead + failed`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_keep_alive_report {
    /// `sizeof(concur_keep_alive_report)` as the caller was compiled with it; 0 is refused.
    pub struct_size: u32,
    /// Connections found due.
    pub checked: u64,
    /// Refreshed by this sweep.
    pub refreshed: u64,
    /// Not refreshed: another sweeper held or had just refreshed them.
    pub fresh: u64,
    /// Found dead, or killed by Concur's answer (each handed to the entry callback).
    pub dead: u64,
    /// Failed for now, left for the next run (each handed to the entry callback).
    pub failed: u64,
}

/// What happened to a connection a keep-alive could not keep (`concur_keep_alive_entry`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_keep_alive_outcome {
    /// Dead: Concur refused it (or it was dead already); never sent again.
    CONCUR_KEEP_ALIVE_DEAD = 1,
    /// Failed for now (an outage); the next run tries again.
    CONCUR_KEEP_ALIVE_FAILED = 2,
}

/// A connection a keep-alive could not keep, handed to its `concur_keep_alive_entry_cb`. The
/// struct and its strings belong to the library and are valid during the callback only. No
/// field holds a secret.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_keep_alive_entry {
    /// `sizeof(concur_keep_alive_entry)` as the library was built.
    pub struct_size: u32,
    /// One of `concur_keep_alive_outcome`.
    pub outcome: concur_keep_alive_outcome,
    /// The connection's ID, NUL-terminated.
    pub id: *const c_char,
    /// A failure's status; `CONCUR_ERR_UNAUTHORIZED` for a dead one.
    pub status: concur_status,
    /// 1 when Concur's code is known (then in `concur_code`), else 0.
    pub has_concur_code: i32,
    /// Concur's code (108, …) when `has_concur_code`; else 0.
    pub concur_code: i64,
    /// A failure's `concur-correlationid`; NULL when none is known (and for a dead one).
    pub correlation_id: *const c_char,
    /// A failure's text; NULL for a dead one.
    pub message: *const c_char,
}

/// Called by `concur_token_vault_keep_alive` once per dead or failed connection, on the
/// calling thread, after the sweep: `user` as given, `entry` valid during the call only. It
/// must not call the vault.
#[allow(non_camel_case_types)]
pub type concur_keep_alive_entry_cb =
    Option<unsafe extern "C" fn(user: *mut c_void, entry: *const concur_keep_alive_entry)>;

/// A token vault: a valid access token per connection for every thread that asks, each
/// refreshed once ahead of its expiry (once between the processes or machines sharing the
/// store), the rotated refresh token saved before the access token is handed out; a sweep that
/// keeps refresh tokens from dying unused. Create it with `concur_token_vault_new`, release it
/// with `concur_token_vault_free`. Every other call takes a `const concur_token_vault *` and is
/// safe from many threads at once.
#[allow(non_camel_case_types)]
pub struct concur_token_vault {
    inner: TokenVault,
    events: Option<Arc<EventSink>>,
}

/// Reads a connection ID argument.
///
/// # Safety
/// `id` must be NULL or NUL-terminated.
unsafe fn read_id(id: *const c_char) -> Result<Zeroizing<String>, Failure> {
    // SAFETY: forwarded from the caller. An ID is no secret, but one copy helper serves.
    let id = unsafe { required(id, "id") }?;
    crate::manager::check_connection_id(id).map_err(|e| invalid(format!("id: {}", e.detail())))?;
    Ok(wiped_copy(id))
}

/// The vault behind a pointer.
///
/// # Safety
/// `vault` must be NULL or from `concur_token_vault_new` and not freed.
unsafe fn vault_ref<'a>(
    vault: *const concur_token_vault,
) -> Result<&'a concur_token_vault, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { vault.as_ref() }.ok_or_else(|| invalid("vault is NULL"))
}

/// The start a `concur_vault_start` names, its fields copied (secrets wiped on drop).
///
/// # Safety
/// `start` must be NULL or valid for its `struct_size`, the strings its kind uses NULL or
/// NUL-terminated.
unsafe fn read_start(start: *const concur_vault_start) -> Result<VaultStart, Failure> {
    // SAFETY (all): forwarded from the caller.
    unsafe {
        let Some(s) = extensible::input(start, "start", false)? else {
            return Err(invalid("start is NULL"));
        };
        let text = |ptr, name| required_copy(ptr, name).map(|s| s.to_string());
        Ok(match s.kind {
            START_REFRESH_TOKEN => VaultStart::RefreshToken {
                refresh_token: text(s.refresh_token, "start->refresh_token")?,
                geolocation: optional(s.geolocation, "start->geolocation")?.map(str::to_string),
            },
            START_PASSWORD => VaultStart::Password {
                username: text(s.username, "start->username")?,
                password: text(s.password, "start->password")?,
            },
            START_COMPANY => VaultStart::Company {
                company_id: text(s.company_id, "start->company_id")?,
                request_token: text(s.request_token, "start->request_token")?,
            },
            START_CLIENT_CREDENTIALS => VaultStart::ClientCredentials,
            START_AUTHORIZATION_CODE => VaultStart::AuthorizationCode {
                code: text(s.code, "start->code")?,
                redirect_uri: text(s.redirect_uri, "start->redirect_uri")?,
            },
            0 => return Err(invalid("start->kind not set")),
            other => return Err(invalid(format!("start->kind {other} is unknown"))),
        })
    }
}

/// Creates a vault over `client` and stores it in `*vault_out` (NULL on failure). The store
/// is opened here (a SQLite file is created, a server is connected to); nothing is sent to
/// Concur until a connection is added or used. Bad options (a missing client ID, a store URL
/// that does not parse, a floor not below the window, a key that is not base64 of 32 bytes) are
/// `CONCUR_ERR_INVALID_ARGUMENT`; a store whose feature this build lacks
/// `CONCUR_ERR_NOT_BUILT_IN`; a store that cannot be opened `CONCUR_ERR_STORE`.
///
/// The vault keeps its own reference to the client: free the client whenever you like.
///
/// # Safety
/// `client` NULL or from `concur_client_new`; `options` NULL or valid for its `struct_size`,
/// its strings NULL or NUL-terminated, `store_keys` NULL or `store_key_count` pointers to
/// NUL-terminated strings; `vault_out` NULL or writable; `error_message` NULL or
/// `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_vault_new(
    client: *const concur_client,
    options: *const concur_token_vault_options,
    vault_out: *mut *mut concur_token_vault,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            let Some(slot) = vault_out.as_mut() else {
                return Err(invalid("vault_out is NULL"));
            };
            *slot = std::ptr::null_mut();
            let client = client_ref(client)?;
            let Some(o) = extensible::input(options, "options", false)? else {
                return Err(invalid("options is NULL"));
            };
            let client_id = required(o.client_id, "options->client_id")?;
            let client_secret = required_copy(o.client_secret, "options->client_secret")?;
            let url = optional(o.store, "options->store")?.unwrap_or("memory:");
            if url.is_empty() {
                return Err(invalid(
                    "options->store is empty (NULL, or \"memory:\", keeps the connections in \
                     memory)",
                ));
            }
            let sealer = sealer_of(o.store_keys, o.store_key_count, o.require_sealed)?;
            let policy = policy_of(o.margin_seconds, o.floor_seconds)?;
            let events = EventSink::new(o.on_event, o.event_user);
            let store = open_store(url)?;
            let mut inner =
                TokenVault::new(client.inner.clone(), client_id, &client_secret, store)?;
            inner = match policy {
                Ok(policy) => inner.with_policy(policy),
                Err(window) => inner.with_margin(window),
            };
            if let Some(sealer) = sealer {
                inner = inner.with_sealer(sealer);
            }
            if o.cache_capacity != 0 {
                inner = inner.with_cache_capacity(o.cache_capacity);
            }
            if let Some(events) = &events {
                inner = inner.with_observer(events.observer());
            }
            *slot = Box::into_raw(Box::new(concur_token_vault { inner, events }));
            Ok(())
        })
    }
}

/// Releases a vault (and its reference to the client). NULL is accepted and does nothing. No
/// other thread may be using it, and it must not be used again. Its connections stay in the
/// store. A refresh ahead of this vault still running on the library's threads is waited for
/// (at most 2 minutes: a refresh ends within the client's timeout and the store's lock wait),
/// so that a program exiting after this loses no rotated refresh token. No event callback is called once this returns.
///
/// # Safety
/// `vault` must be NULL or come from `concur_token_vault_new`, and not be freed already.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_vault_free(vault: *mut concur_token_vault) {
    if vault.is_null() {
        return;
    }
    // SAFETY: from Box::into_raw in concur_token_vault_new, freed once by the caller's promise.
    let vault = unsafe { Box::from_raw(vault) };
    // A panic must never unwind into C: at worst, something leaks.
    let _ = catch_unwind(AssertUnwindSafe(move || {
        // This vault's refreshes ahead: none may be cut off by the program's exit. No new one
        // starts: no other thread uses it now.
        vault.inner.wait_idle(FREE_WAIT);
        // Closed then: a refresh ahead still finishing (past the wait) can no longer reach the
        // caller's callback.
        if let Some(events) = &vault.events {
            events.close();
        }
        drop(vault);
    }));
}

/// Adds connection `id` (printable text, 1 to 256 bytes) by running `start`'s grant (a
/// refresh token is refreshed once), saves it to the store, and writes its access token into
/// `out` (as `concur_token_manager_access_token` does). An ID already present is
/// `CONCUR_ERR_INVALID_ARGUMENT` unless `replace` is 1 (then the old connection is
/// overwritten; its refresh token is not revoked). `replace` other than 0 or 1 is refused.
/// Concur's refusal (a used request token, a wrong password) is `CONCUR_ERR_UNAUTHORIZED` with
/// `details`, and nothing is stored.
///
/// # Safety
/// `vault` NULL or from `concur_token_vault_new`; `id` NULL or NUL-terminated; `start` NULL
/// or valid for its `struct_size`; `out` NULL or a valid `concur_oauth2_token_buffers`;
/// `details` NULL or valid; `error_message` NULL or `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_vault_add(
    vault: *const concur_token_vault,
    id: *const c_char,
    start: *const concur_vault_start,
    replace: u32,
    out: *mut concur_oauth2_token_buffers,
    details: *mut concur_error_details,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        details_export(details, error_message, error_capacity, |details| {
            let inputs: Result<_, Failure> = (|| {
                let vault = vault_ref(vault)?;
                let id = read_id(id)?;
                let start = read_start(start)?;
                let replace = match replace {
                    0 => false,
                    1 => true,
                    other => return Err(invalid(format!("replace {other} is neither 0 nor 1"))),
                };
                Ok((vault, id, start, replace))
            })();
            details.open(error_message, error_capacity)?;
            let out = open_token_out(out, details, error_message, error_capacity)?;
            let (vault, id, start, replace) = inputs?;
            let token = vault
                .inner
                .add(&id, start, replace)
                .map_err(|e| failed_into(out, e))?;
            deliver_token(out, token.token())
        })
    }
}

/// Writes connection `id`'s valid access token into `out`, with the token manager's
/// guarantees per connection (see `concur_token_manager_access_token`): from memory while it
/// is valid for longer than the floor, else from the store or one refresh shared by every
/// thread and process asking. An unknown ID is `CONCUR_ERR_UNKNOWN_CONNECTION` (nothing sent);
/// a dead connection `CONCUR_ERR_UNAUTHORIZED` with Concur's code in `details`.
///
/// # Safety
/// As for `concur_token_vault_add`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_vault_access_token(
    vault: *const concur_token_vault,
    id: *const c_char,
    out: *mut concur_oauth2_token_buffers,
    details: *mut concur_error_details,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        details_export(details, error_message, error_capacity, |details| {
            let inputs: Result<_, Failure> = (|| Ok((vault_ref(vault)?, read_id(id)?)))();
            details.open(error_message, error_capacity)?;
            let out = open_token_out(out, details, error_message, error_capacity)?;
            let (vault, id) = inputs?;
            let token = vault
                .inner
                .access_token(&id)
                .map_err(|e| failed_into(out, e))?;
            deliver_token(out, token.token())
        })
    }
}

/// Forgets connection `id`'s access token (an API call answered 401 with it, say): its next
/// use refreshes. An unknown ID is `CONCUR_ERR_UNKNOWN_CONNECTION`.
///
/// # Safety
/// `vault` NULL or from `concur_token_vault_new`; `id` NULL or NUL-terminated;
/// `error_message` NULL or `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_vault_invalidate(
    vault: *const concur_token_vault,
    id: *const c_char,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            let vault = vault_ref(vault)?;
            let id = read_id(id)?;
            Ok(vault.inner.invalidate(&id)?)
        })
    }
}

/// Removes connection `id` from memory and store: nothing of it is left. With `revoke` 1,
/// first asks Concur to revoke the connection (with an access token of it); when that fails,
/// the connection is kept and the error returned (`details` says Concur's answer). An unknown
/// ID is `CONCUR_ERR_UNKNOWN_CONNECTION`; `revoke` other than 0 or 1 is refused.
///
/// # Safety
/// As for `concur_token_vault_invalidate`; `details` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_vault_remove(
    vault: *const concur_token_vault,
    id: *const c_char,
    revoke: u32,
    details: *mut concur_error_details,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        details_export(details, error_message, error_capacity, |details| {
            let inputs: Result<_, Failure> = (|| {
                let revoke = match revoke {
                    0 => false,
                    1 => true,
                    other => return Err(invalid(format!("revoke {other} is neither 0 nor 1"))),
                };
                Ok((vault_ref(vault)?, read_id(id)?, revoke))
            })();
            details.open(error_message, error_capacity)?;
            let (vault, id, revoke) = inputs?;
            vault.inner.remove(&id, revoke)?;
            Ok(None)
        })
    }
}

/// Writes connection `id` as an operator sees it into `*out` (see `concur_connection_info`):
/// read from the store, no token loaded, nothing sent. An unknown ID is
/// `CONCUR_ERR_UNKNOWN_CONNECTION`; `out` NULL or with `struct_size` unset (0) or smaller than
/// this header's `sizeof` is `CONCUR_ERR_INVALID_ARGUMENT`. `*out` is written on success only.
///
/// # Safety
/// `vault` NULL or from `concur_token_vault_new`; `id` NULL or NUL-terminated; `out` NULL or a
/// writable `concur_connection_info` of `out->struct_size` bytes; `error_message` NULL or
/// `error_capacity` writable bytes, not inside `*out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_vault_connection(
    vault: *const concur_token_vault,
    id: *const c_char,
    out: *mut concur_connection_info,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            let vault = vault_ref(vault)?;
            let id = read_id(id)?;
            let Some(out) = extensible::output(out, "out")? else {
                return Err(invalid("out is NULL"));
            };
            if overlaps(out, error_message, error_capacity) {
                return Err(invalid(
                    "out overlaps error_message: output buffers must be distinct memory",
                ));
            }
            let info = vault.inner.connection(&id)?;
            fill_info(out, &info);
            Ok(())
        })
    }
}

/// Calls `callback` with every connection of the vault, in ID order, read from the store a
/// page at a time (no token loaded, nothing sent), until it returns non-zero; `*count_out`
/// (when not NULL) receives how many it was called with. A store that fails part-way is
/// `CONCUR_ERR_STORE` after the connections read until then.
///
/// # Safety
/// `vault` NULL or from `concur_token_vault_new`; `callback` NULL or a function as
/// `concur_connection_cb` says; `count_out` NULL or writable; `error_message` NULL or
/// `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_vault_connections(
    vault: *const concur_token_vault,
    callback: concur_connection_cb,
    user: *mut c_void,
    count_out: *mut usize,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            if let Some(count) = count_out.as_mut() {
                *count = 0;
            }
            let vault = vault_ref(vault)?;
            let Some(callback) = callback else {
                return Err(invalid("callback is NULL"));
            };
            let mut info = blank_info();
            for item in vault.inner.connections() {
                fill_info(&mut info, &item?);
                if let Some(count) = count_out.as_mut() {
                    *count += 1;
                }
                if callback(user, &info) != 0 {
                    break;
                }
            }
            Ok(())
        })
    }
}

/// Refreshes every connection whose refresh token expires within `within_seconds` (0 for 30
/// days; or whose expiry is unknown and last refresh older), `concurrency` at a time (0 for
/// 8, at most 64), skipping those another sweeper holds: safe from many processes and
/// machines at once. A 108 marks a connection dead; an outage leaves it failing for the next
/// run. Writes the counts into `*out` (required) and hands each dead or failed connection to
/// `on_entry` (NULL for none) after the sweep. Connections dead or failed are no error: the
/// call returns `CONCUR_OK`; an error means the sweep itself failed (the store).
///
/// # Safety
/// `vault` NULL or from `concur_token_vault_new`; `out` NULL or a writable
/// `concur_keep_alive_report` of `out->struct_size` bytes; `on_entry` NULL or a function as
/// `concur_keep_alive_entry_cb` says; `error_message` NULL or `error_capacity` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn concur_token_vault_keep_alive(
    vault: *const concur_token_vault,
    within_seconds: u64,
    concurrency: u32,
    out: *mut concur_keep_alive_report,
    on_entry: concur_keep_alive_entry_cb,
    user: *mut c_void,
    error_message: *mut c_char,
    error_capacity: usize,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            let vault = vault_ref(vault)?;
            let Some(out) = extensible::output(out, "out")? else {
                return Err(invalid("out is NULL"));
            };
            let report_bytes = std::ptr::from_mut(out).cast::<c_char>();
            if overlap_bytes(
                report_bytes,
                std::mem::size_of::<concur_keep_alive_report>(),
                error_message,
                error_capacity,
            ) {
                return Err(invalid(
                    "out overlaps error_message: output buffers must be distinct memory",
                ));
            }
            let within = match within_seconds {
                0 => crate::manager::DEFAULT_KEEP_ALIVE_WITHIN,
                s => Duration::from_secs(s),
            };
            let concurrency = match concurrency {
                0 => crate::manager::DEFAULT_KEEP_ALIVE_CONCURRENCY,
                n @ 1..=MAX_CONCURRENCY => n as usize,
                n => {
                    return Err(invalid(format!(
                        "concurrency {n} is over {MAX_CONCURRENCY}"
                    )));
                }
            };
            let report = vault.inner.keep_alive(within, concurrency)?;
            out.checked = report.checked;
            out.refreshed = report.refreshed;
            out.fresh = report.fresh;
            out.dead = report.dead.len() as u64;
            out.failed = report.failed.len() as u64;
            if let Some(on_entry) = on_entry {
                for (id, code) in &report.dead {
                    let id = text(id);
                    let entry = concur_keep_alive_entry {
                        struct_size: std::mem::size_of::<concur_keep_alive_entry>() as u32,
                        outcome: concur_keep_alive_outcome::CONCUR_KEEP_ALIVE_DEAD,
                        id: id.as_ptr(),
                        status: concur_status::CONCUR_ERR_UNAUTHORIZED,
                        has_concur_code: i32::from(code.is_some()),
                        concur_code: code.unwrap_or(0),
                        correlation_id: std::ptr::null(),
                        message: std::ptr::null(),
                    };
                    on_entry(user, &entry);
                }
                for failure in &report.failed {
                    let id = text(&failure.id);
                    let correlation_id = failure.correlation_id().map(text);
                    let message = text(&failure.error.to_string());
                    let code = failure.error.concur_code();
                    let entry = concur_keep_alive_entry {
                        struct_size: std::mem::size_of::<concur_keep_alive_entry>() as u32,
                        outcome: concur_keep_alive_outcome::CONCUR_KEEP_ALIVE_FAILED,
                        id: id.as_ptr(),
                        status: concur_status::from_kind(failure.kind()),
                        has_concur_code: i32::from(code.is_some()),
                        concur_code: code.unwrap_or(0),
                        correlation_id: correlation_id
                            .as_ref()
                            .map_or(std::ptr::null(), |c| c.as_ptr()),
                        message: message.as_ptr(),
                    };
                    on_entry(user, &entry);
                }
            }
            Ok(())
        })
    }
}

/// How long `concur_token_vault_free` waits at most for refreshes ahead in flight.
const FREE_WAIT: Duration = Duration::from_secs(120);

/// The most connections one keep-alive refreshes at a time.
const MAX_CONCURRENCY: u32 = 64;

/// A NUL-terminated copy of `s` (an interior NUL, never expected, becomes a space).
fn text(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// Whether the error buffer shares a byte with `*info`.
fn overlaps(info: &concur_connection_info, error: *const c_char, capacity: usize) -> bool {
    overlap_bytes(
        std::ptr::from_ref(info).cast(),
        std::mem::size_of::<concur_connection_info>(),
        error,
        capacity,
    )
}

fn overlap_bytes(a: *const c_char, a_len: usize, b: *const c_char, b_len: usize) -> bool {
    let (a, b) = (a as usize, b as usize);
    a != 0 && b != 0 && a_len != 0 && b_len != 0 && a < b.saturating_add(b_len) && b < a + a_len
}

fn blank_info() -> concur_connection_info {
    concur_connection_info {
        struct_size: std::mem::size_of::<concur_connection_info>() as u32,
        kind: concur_connection_kind::CONCUR_CONNECTION_KIND_USER,
        state: concur_connection_state::CONCUR_CONNECTION_STATE_ACTIVE,
        id: [0; CONCUR_CONNECTION_ID_CAPACITY],
        id_len: 0,
        subject: [0; CONCUR_CONNECTION_TEXT_CAPACITY],
        subject_len: 0,
        geolocation: [0; CONCUR_CONNECTION_TEXT_CAPACITY],
        geolocation_len: 0,
        expires_at: 0,
        refresh_expires_at: 0,
        last_refresh: 0,
        added_at: 0,
        has_concur_code: 0,
        concur_code: 0,
        failures: 0,
        horizon_seconds: 0,
    }
}

/// Writes `value` into a fixed field: whole and NUL-terminated, or (too long) empty; the
/// length either way.
fn put_fixed<const N: usize>(field: &mut [c_char; N], len: &mut usize, value: Option<&str>) {
    let value = value.unwrap_or("").as_bytes();
    *field = [0; N];
    *len = value.len();
    if value.len() < N {
        for (to, &from) in field.iter_mut().zip(value) {
            *to = from as c_char;
        }
    }
}

/// Fills every field of `out` but `struct_size` (the caller's, for an output).
fn fill_info(out: &mut concur_connection_info, info: &ConnectionInfo) {
    out.kind = match info.kind {
        ConnectionKind::Company => concur_connection_kind::CONCUR_CONNECTION_KIND_COMPANY,
        ConnectionKind::App => concur_connection_kind::CONCUR_CONNECTION_KIND_APP,
        // A kind added to the core later reads as a user's until this layer names it.
        #[allow(unreachable_patterns)]
        _ => concur_connection_kind::CONCUR_CONNECTION_KIND_USER,
    };
    out.state = match info.state_name() {
        "expiring" => concur_connection_state::CONCUR_CONNECTION_STATE_EXPIRING,
        "failing" => concur_connection_state::CONCUR_CONNECTION_STATE_FAILING,
        "dead" => concur_connection_state::CONCUR_CONNECTION_STATE_DEAD,
        _ => concur_connection_state::CONCUR_CONNECTION_STATE_ACTIVE,
    };
    put_fixed(&mut out.id, &mut out.id_len, Some(&info.id));
    put_fixed(
        &mut out.subject,
        &mut out.subject_len,
        info.subject.as_deref(),
    );
    put_fixed(
        &mut out.geolocation,
        &mut out.geolocation_len,
        info.geolocation.as_deref(),
    );
    out.expires_at = info.expires_at.unwrap_or(0);
    out.refresh_expires_at = info.refresh_expires_at.unwrap_or(0);
    out.last_refresh = info.last_refresh.unwrap_or(0);
    out.added_at = info.added_at;
    out.has_concur_code = i32::from(info.concur_code.is_some());
    out.concur_code = info.concur_code.unwrap_or(0);
    out.failures = info.failures;
    out.horizon_seconds = info.horizon.map_or(0, |h| h.as_secs());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_fields_hold_the_value_or_nothing() {
        let mut field = [7 as c_char; 4];
        let mut len = 99;
        put_fixed(&mut field, &mut len, Some("abc"));
        assert_eq!((field, len), ([97, 98, 99, 0], 3));
        put_fixed(&mut field, &mut len, Some("abcd"));
        assert_eq!((field, len), ([0; 4], 4));
        put_fixed(&mut field, &mut len, None);
        assert_eq!((field, len), ([0; 4], 0));
    }

    #[test]
    fn overlap_is_about_bytes() {
        let base = 0x1000 as *const c_char;
        assert!(overlap_bytes(base, 8, base.wrapping_add(7), 4));
        assert!(!overlap_bytes(base, 8, base.wrapping_add(8), 4));
        assert!(!overlap_bytes(base, 8, std::ptr::null(), 4));
        assert!(!overlap_bytes(base, 8, base, 0));
    }
}
