//! # concur-native
//!
//! Obtains and keeps SAP Concur OAuth 2 access tokens, in both of Concur's generations:
//!
//! - the current Authentication API, [`oauth2`] (`POST /oauth2/v0/token`): every grant through
//!   [`Client::oauth2_token`] with a [`Grant`], code 16 followed to a trusted data centre,
//!   rotation, retries, the legacy-token migration;
//! - a [`manager::TokenManager`] that keeps one valid access token for many threads, processes
//!   (a file store) or machines (a Redis store), refreshing once and saving the rotated refresh
//!   token before it is used;
//! - a [`vault::TokenVault`] that keeps thousands of connections (every company's, every
//!   user's) alive the same way, listed without loading a token, swept by a keep-alive;
//! - the legacy `net2` flows: the **Native Flow** (a partner application sends a user's
//!   credentials and its consumer key, and gets back a token), refresh, revocation, Web flow.
//!
//! ```no_run
//! use concur_native::{Client, ErrorKind, Grant, Options};
//!
//! let client = Client::new(&Options::new())?;
//! let password = std::env::var("CONCUR_PASSWORD").unwrap_or_default();
//! let grant = Grant::Password { username: "user@example.com", password: &password, scope: None };
//! match client.oauth2_token("client-id", "client-secret", &grant, None) {
//!     Ok(token) => println!("Authorization: Bearer {}", token.access_token()),
//!     Err(e) if e.kind() == ErrorKind::Unauthorized => eprintln!("refused: {e}"),
//!     Err(e) => eprintln!("{e}"),
//! }
//! # Ok::<(), concur_native::Error>(())
//! ```
//!
//! ```no_run
//! use concur_native::{native_token, Options};
//!
//! let password = std::env::var("CONCUR_PASSWORD").unwrap_or_default();
//! let token = native_token("my-consumer-key", "user@example.com", &password, &Options::new())?;
//! println!("Authorization: OAuth {}", token.token());
//! # Ok::<(), concur_native::Error>(())
//! ```
//!
//! The same library is a C shared library (`include/concur_native.h`), a Python package and a
//! Node package.
//!
//! ## Promises
//! - TLS only, except `http://` to loopback hosts for tests; redirects are never followed; a
//!   data centre an answer names is followed only when it is trusted.
//! - The answer is read up to 64 KiB and no further; XML DTDs and entities are refused.
//! - Credentials are encoded once, wiped from memory when the request is dropped, and never
//!   appear in an error message or `Debug` output. Tokens are masked in `Debug` and wiped on drop.

#![warn(missing_docs)]

#[doc(hidden)]
pub mod __bindings;
mod calendar;
mod client;
mod credentials;
mod error;
#[doc(hidden)]
pub mod ffi;
mod form;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod manager;
mod net2;
pub mod oauth2;
mod options;
mod proxy;
mod query;
mod random;
mod resolver;
mod retry;
mod secret;
mod transport;
pub mod vault;

pub use client::Client;
pub use error::{Error, ErrorKind};
pub use net2::answer::parse_token_document;
pub use net2::native::{NATIVE_TOKEN_PATH, native_token};
pub use net2::refresh::REFRESH_TOKEN_PATH;
pub use net2::revoke::REVOKE_TOKEN_PATH;
pub use net2::token::Token;
pub use net2::web_flow::{
    AUTHORIZE_PATH, AuthorizationRequest, CODE_EXCHANGE_PATH, authorization_url, parse_callback,
};
pub use oauth2::{Grant, OAuth2Token};
pub use options::{
    DEFAULT_BASE_URL, DEFAULT_RETRIES, DEFAULT_TIMEOUT, MAX_RETRIES, MAX_TIMEOUT, Options,
    TrustStore,
};
pub use transport::MAX_ANSWER_BYTES;

/// The library's version, as in `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
