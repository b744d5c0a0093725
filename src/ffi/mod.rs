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
//! - Every input is read (and copied) before any output is touched, so an input may live in
//!   an output buffer: refreshing with the refresh token held in `out->refresh_token`, or
//!   parsing a callback URL held in the `code` buffer, works in place.
//! - Output buffers must not overlap each other or the error buffer (`error_message`): the
//!   same `concur_buffer` given twice, or `data` ranges that share a byte, are
//!   `CONCUR_ERR_INVALID_ARGUMENT`, and nothing is sent.
//! - No panic crosses the boundary: a bug is caught and reported as `CONCUR_ERR_INTERNAL`.
//! - Every function is thread-safe and reentrant; the library keeps no global state.
//! - Extensible structs (`concur_options`, `concur_oauth2_grant`, `concur_oauth2_token_buffers`,
//!   `concur_error_details`, `concur_token_manager_options`, `concur_store_callbacks`,
//!   `concur_manager_status`, `concur_token_vault_options`, `concur_vault_start`,
//!   `concur_connection_info`, `concur_keep_alive_report`, and the library's
//!   `concur_refresh_event` and `concur_keep_alive_entry`) start with
//!   `uint32_t struct_size`: see the `extensible` module.

mod args;
mod authorize;
mod boundary;
mod buffers;
mod client;
mod details;
mod extensible;
mod failure;
mod manager;
mod manager_events;
mod native;
mod oauth2;
mod status;
mod token_out;
mod vault;
mod web_flow;

use std::ffi::c_char;

pub use authorize::{concur_oauth2_authorize_url, concur_parse_oauth2_callback};
pub use buffers::{concur_buffer, concur_oauth2_token_buffers, concur_token_buffers};
pub use client::{
    concur_client, concur_client_exchange_code, concur_client_free, concur_client_native_token,
    concur_client_new, concur_client_refresh_token, concur_client_revoke_token,
    concur_client_revoke_user_tokens,
};
pub use details::concur_error_details;
pub use manager::{
    CONCUR_STORE_EMPTY, CONCUR_STORE_OK, CONCUR_STORE_TOO_SMALL, concur_manager_start,
    concur_store_callbacks, concur_store_load, concur_store_save, concur_token_manager,
    concur_token_manager_access_token, concur_token_manager_free, concur_token_manager_invalidate,
    concur_token_manager_new, concur_token_manager_options, concur_token_manager_status,
};
pub use manager_events::{
    CONCUR_MANAGER_STATUS_CORRELATION_ID_CAPACITY, CONCUR_STORE_KEY_BASE64_LEN,
    concur_manager_state, concur_manager_status, concur_refresh_event, concur_refresh_event_cb,
    concur_refresh_outcome, concur_refresh_trigger, concur_store_key_generate,
};
pub use native::concur_native_token;
pub use oauth2::{
    concur_client_exchange_legacy_refresh_token, concur_client_oauth2_revoke_connections,
    concur_client_oauth2_send_otp, concur_client_oauth2_token, concur_grant_kind,
    concur_oauth2_grant,
};
pub use status::concur_status;
pub use vault::{
    CONCUR_CONNECTION_ID_CAPACITY, CONCUR_CONNECTION_TEXT_CAPACITY, concur_connection_cb,
    concur_connection_info, concur_connection_kind, concur_connection_state,
    concur_keep_alive_entry, concur_keep_alive_entry_cb, concur_keep_alive_outcome,
    concur_keep_alive_report, concur_token_vault, concur_token_vault_access_token,
    concur_token_vault_add, concur_token_vault_connection, concur_token_vault_connections,
    concur_token_vault_free, concur_token_vault_invalidate, concur_token_vault_keep_alive,
    concur_token_vault_new, concur_token_vault_options, concur_token_vault_remove,
    concur_vault_start, concur_vault_start_kind,
};
pub use web_flow::{concur_authorization_url, concur_parse_callback};

/// A capacity for each output buffer that fits every token Concur issues today with room to
/// spare.
pub const CONCUR_NATIVE_RECOMMENDED_CAPACITY: usize = 4096;

/// No token field (`concur_token_buffers`) is ever longer than this many bytes (answers are
/// capped at 64 KiB), so a buffer of `CONCUR_NATIVE_MAX_FIELD_LEN + 1` bytes always suffices
/// for one. This bound does not apply to `concur_authorization_url`'s `url`, whose length
/// follows its inputs: at most the base URL's length + 70 + 3 × (the lengths of client_id,
/// scope, redirect_uri and state, or 32 for a generated state) bytes, since every part is
/// percent-encoded.
pub const CONCUR_NATIVE_MAX_FIELD_LEN: usize = 65535;

/// A capacity for the error-message buffer that holds every message whole.
pub const CONCUR_NATIVE_ERROR_CAPACITY: usize = 1024;

/// `concur_options.retries` for "never send a call again": retries off.
pub const CONCUR_RETRIES_NONE: i32 = -1;

/// Options for a call. Zero-initialise it (`concur_options opts = {0};`, or
/// `concur_options_init(&opts)`) and set what you need: every NULL or 0 field takes its default.
///
/// **Pre-1.0 ABI change (0.1):** `struct_size` is a new first field, and `trusted_hosts`,
/// `retries` and `correlation_id` new last ones; programs compiled against an earlier header
/// must be recompiled. From then on the struct only grows at its end (see `struct_size`):
/// `proxy_env` and `trust_store` came later, and a program whose `struct_size` ends before
/// them gets their defaults.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct concur_options {
    /// `sizeof(concur_options)` as the caller was compiled with it, so that later versions of
    /// the library, with more fields, read only the fields the caller has. Unlike the other
    /// extensible structs, 0 is accepted here and means this version's layout, so that a
    /// zero-initialised `concur_options` still means "all defaults". A larger size (a newer
    /// header) is accepted when the fields this version does not know are all zero. The
    /// smallest size accepted is that of the first layout, which ended with `correlation_id`
    /// (72 bytes on 64-bit platforms): the fields after it then take their defaults.
    pub struct_size: u32,
    /// Base URL; NULL for `https://www.concursolutions.com`. Must be `https://`; `http://` is
    /// accepted for loopback hosts only. The current API (oauth2/v0) sends every call there
    /// when it is set (unless the call names its own host), else to Concur's host for the call.
    pub base_url: *const c_char,
    /// Deadline for the whole exchange in milliseconds; 0 for 30000. At most 3600000.
    pub timeout_ms: u32,
    /// A PEM file of extra CA certificates to trust on top of Mozilla's roots; NULL for none.
    pub ca_file: *const c_char,
    /// An HTTP(S) proxy URL such as `http://proxy:3128`, for every request (loopback hosts
    /// included); it wins over the environment, whose proxy variables are then not read. NULL
    /// for none: then the environment's proxy is used as curl uses it (`https_proxy`,
    /// `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY`, with `no_proxy`/`NO_PROXY` exemptions; never
    /// for loopback hosts), unless `proxy_env` is `CONCUR_PROXY_ENV_IGNORE`. SOCKS proxies are
    /// refused, from here or from the environment (`CONCUR_ERR_INVALID_ARGUMENT`, naming the
    /// variable, never its value).
    pub proxy: *const c_char,
    /// Text appended to the User-Agent header; NULL for none.
    pub user_agent_suffix: *const c_char,
    /// More hosts to trust as data centres (geolocations named by Concur's answers), as a
    /// comma-separated list of host names (`"a.example,b.example"`, matched exactly); NULL for
    /// none. Hosts under `concursolutions.com` are always trusted; any other host named by an
    /// answer is refused (`CONCUR_ERR_PROTOCOL`) and nothing is sent to it.
    pub trusted_hosts: *const c_char,
    /// How many times a call is sent again after a 429, 502, 503 or 504 answer, when the wait
    /// fits in the deadline: 0 for the default (2), `CONCUR_RETRIES_NONE` (-1) for none, or a
    /// count up to 10. A refresh or code exchange, once sent, is never sent again.
    pub retries: i32,
    /// The `concur-correlationid` sent with every request (1 to 128 printable ASCII characters
    /// without spaces); NULL for a fresh random UUID per request.
    pub correlation_id: *const c_char,
    /// One of `concur_proxy_env`: whether the proxy environment variables are honoured when
    /// `proxy` is NULL; 0 (`CONCUR_PROXY_ENV_HONOUR`) by default. They are read when the client
    /// is built (`concur_client_new`; for `concur_native_token`, at each call).
    pub proxy_env: u32,
    /// One of `concur_trust_store`: the root certificates to trust; 0
    /// (`CONCUR_TRUST_STORE_MOZILLA`) by default. `ca_file` adds to any of them.
    pub trust_store: u32,
}

/// The size of `concur_options`' first layout, which ended with `correlation_id`: the
/// smallest `struct_size` accepted.
pub(crate) const CONCUR_OPTIONS_FIRST_LAYOUT_SIZE: usize =
    std::mem::offset_of!(concur_options, proxy_env);

/// `concur_options.proxy_env`: whether the proxy environment variables are honoured.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_proxy_env {
    /// Honour them as curl does (the default): `https_proxy`, `HTTPS_PROXY`, `all_proxy`,
    /// `ALL_PROXY` name the proxy, `no_proxy`/`NO_PROXY` the hosts that go direct; loopback
    /// hosts always go direct.
    CONCUR_PROXY_ENV_HONOUR = 0,
    /// Read no proxy variable: a direct connection unless `proxy` is set.
    CONCUR_PROXY_ENV_IGNORE = 1,
}

/// `concur_options.trust_store`: which root certificates a server's certificate may chain to.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_trust_store {
    /// Mozilla's roots, built into the library (the default).
    CONCUR_TRUST_STORE_MOZILLA = 0,
    /// The operating system's store, read when the client is built (on Linux: `SSL_CERT_FILE`
    /// and `SSL_CERT_DIR` when set, else the system's CA bundle). A store that cannot be read
    /// or holds no certificate is `CONCUR_ERR_INVALID_ARGUMENT`, never a fallback to Mozilla's.
    CONCUR_TRUST_STORE_OS = 1,
    /// Both Mozilla's roots and the operating system's store.
    CONCUR_TRUST_STORE_BOTH = 2,
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
