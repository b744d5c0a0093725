//! # concur-native
//!
//! Obtains SAP Concur OAuth 2 access tokens with Concur's **Native Flow**: a partner application
//! sends a user's Concur credentials and its consumer key, and gets back a token.
//!
//! ```text
//! GET https://www.concursolutions.com/net2/oauth2/accesstoken.ashx
//! Authorization: Basic base64(LoginID ":" Password)
//! X-ConsumerKey: {consumer key}
//! ```
//!
//! ```no_run
//! use concur_native::{native_token, ErrorKind, Options};
//!
//! let password = std::env::var("CONCUR_PASSWORD").unwrap_or_default();
//! match native_token("my-consumer-key", "user@example.com", &password, &Options::new()) {
//!     Ok(token) => println!("Authorization: OAuth {}", token.token()),
//!     Err(e) if e.kind() == ErrorKind::Unauthorized => eprintln!("wrong credentials: {e}"),
//!     Err(e) => eprintln!("{e}"),
//! }
//! ```
//!
//! The same library is a C shared library (see the [`ffi`] module and
//! `include/concur_native.h`), a Python package and a Node package.
//!
//! ## Promises
//! - TLS only, except `http://` to loopback hosts for tests; redirects are never followed.
//! - The answer is read up to 64 KiB and no further; XML DTDs and entities are refused.
//! - Credentials are encoded once, wiped from memory when the request is dropped, and never
//!   appear in an error message or `Debug` output. Tokens are masked in `Debug` and wiped on drop.

#![warn(missing_docs)]

mod client;
mod credentials;
mod error;
pub mod ffi;
mod form;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod manager;
mod net2;
pub mod oauth2;
mod options;
mod query;
mod random;
mod resolver;
mod retry;
mod secret;
mod transport;

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
};
pub use transport::MAX_ANSWER_BYTES;

/// The library's version, as in `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
