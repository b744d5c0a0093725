//! Concur's current Authentication API (`oauth2/v0`): every grant of `POST /oauth2/v0/token`,
//! the one-time password, revocation, the legacy-token migration and the authorization-code
//! flow's URL and callback.
//!
//! Every call goes over a [`Client`](crate::Client), shares its transport, deadline, proxy and
//! CA settings with the legacy flows, and returns an [`OAuth2Token`] or the library's
//! [`Error`](crate::Error), which carries Concur's numeric `code`, OAuth `error`, description,
//! geolocation and correlation id.
//!
//! **Which host.** Each call goes to the `host` it is given (a stored geolocation), else to the
//! client's base URL when the options set one, else to the host Concur documents for it:
//! [`PRODUCTION_HOST`] for password, one-time-password and client-credentials grants,
//! [`GLZ_HOST`] for company and authorization-code grants. A refresh and every later call
//! belong at the token's [`geolocation`](OAuth2Token::geolocation).
//!
//! **Geolocation, safely.** A user who lives in another data centre gets code 16 and its
//! geolocation: the call is sent there once, automatically, within the same deadline, when
//! the host is trusted (`https://` under `concursolutions.com`, a host added with
//! [`Options::trusted_host`](crate::Options::trusted_host), or loopback when the call went to
//! loopback). An untrusted host is a protocol error that names it, and nothing is sent to it.

mod answer;
mod authorize;
mod connections;
mod geolocation;
mod grant;
mod token;

pub use authorize::{
    AUTHORIZE_HOST, OAUTH2_AUTHORIZE_PATH, OAuth2AuthorizationRequest, OAuth2Callback,
    oauth2_authorize_url, parse_oauth2_callback,
};
pub use connections::{CONNECTIONS_PATH, LegacyExchange, OAUTH2_OTP_PATH, OtpRequest};
pub use geolocation::CONCUR_DOMAIN;
pub use grant::{GLZ_HOST, Grant, OAUTH2_TOKEN_PATH, PRODUCTION_HOST};
pub use token::OAuth2Token;

#[cfg(feature = "fuzzing")]
pub(crate) use answer::token_from_answer;
pub(crate) use answer::{Members, wipe as wipe_json};
pub(crate) use geolocation::trusted_data_centre;
pub(crate) use grant::{require_app, require_text};
