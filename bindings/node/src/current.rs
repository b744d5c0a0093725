//! The current API (oauth2/v0) in the addon: the requests `lib/index.js` sends, the core calls
//! they become, and the core's tokens as plain JS objects. No protocol logic: every check and
//! every request is the core's.

use concur_native::oauth2::{Grant, LegacyExchange, OtpRequest};
use concur_native::{Client, Error, OAuth2Token};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use zeroize::Zeroizing;

use crate::{RawAuthorization, RawError, RawOutcome, guard};

/// A secret (or any argument) held in a buffer wiped when dropped.
type Secret = Zeroizing<String>;

fn secret(value: Option<String>) -> Option<Secret> {
    value.map(Zeroizing::new)
}

fn text(value: &Option<Secret>) -> Option<&str> {
    value.as_deref().map(String::as_str)
}

/// A field the grant needs; `lib/index.js` checks it is there, so this is a second guard.
fn needed<'a>(value: &'a Option<Secret>, name: &str) -> std::result::Result<&'a str, Error> {
    text(value).ok_or_else(|| Error::invalid_argument(format!("{name} is missing")))
}

/// One grant of `POST /oauth2/v0/token`, already type-checked by `lib/index.js`. `grant`
/// names it: `password`, `company`, `refreshToken`, `clientCredentials`,
/// `authorizationCode` or `otp`; the fields it needs are set, the others absent.
#[napi(object, object_to_js = false)]
pub struct RawGrantRequest {
    /// Which grant.
    pub grant: String,
    /// The application's client ID.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
    /// Password grant: the user's login name.
    pub username: Option<String>,
    /// Password grant: the user's password.
    pub password: Option<String>,
    /// Password, refresh and OTP grants: the scopes to ask for.
    pub scope: Option<String>,
    /// Company grant: the company's UUID.
    pub company_id: Option<String>,
    /// Company grant: App Center's request token.
    pub request_token: Option<String>,
    /// Refresh grant: the refresh token.
    pub refresh_token: Option<String>,
    /// Authorization-code grant: the callback's code.
    pub code: Option<String>,
    /// Authorization-code grant: the redirect URI given to the authorize URL.
    pub redirect_uri: Option<String>,
    /// OTP grant: the email address.
    pub email: Option<String>,
    /// OTP grant: the one-time password.
    pub otp: Option<String>,
    /// The host to send the call to (a stored geolocation).
    pub base_url: Option<String>,
}

/// `sendOtp`'s arguments, already type-checked.
#[napi(object, object_to_js = false)]
pub struct RawOtpRequest {
    /// The application's client ID.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
    /// The user's email address.
    pub email: String,
    /// The user's name, for the email.
    pub name: Option<String>,
    /// The company's name, for the email.
    pub company: Option<String>,
    /// A link to put in the email.
    pub link: Option<String>,
    /// The host to send the call to.
    pub base_url: Option<String>,
}

/// `exchangeLegacyRefreshToken`'s arguments, already type-checked.
#[napi(object, object_to_js = false)]
pub struct RawLegacyRequest {
    /// A client-credentials access token of the new application.
    pub app_access_token: String,
    /// The legacy application's consumer key.
    pub old_consumer_key: String,
    /// The legacy refresh token.
    pub old_refresh_token: String,
    /// The new application's client secret.
    pub client_secret: String,
    /// Ask for a company token.
    pub company: bool,
    /// The host to send the call to.
    pub base_url: Option<String>,
}

/// One call of the current API on a shared client; every argument is wiped once it ends.
pub enum Call {
    /// A grant of `POST /oauth2/v0/token`.
    Grant {
        /// Which grant (see [`RawGrantRequest`]).
        grant: String,
        /// Client ID.
        client_id: Secret,
        /// Client secret.
        client_secret: Secret,
        /// The grant's fields, in [`RawGrantRequest`]'s order from `username` to `otp`.
        fields: [Option<Secret>; 10],
        /// The host.
        base_url: Option<Secret>,
    },
    /// `POST /oauth2/v0/otp`.
    SendOtp {
        /// Client ID.
        client_id: Secret,
        /// Client secret.
        client_secret: Secret,
        /// email, name, company, link.
        fields: [Option<Secret>; 4],
        /// The host.
        base_url: Option<Secret>,
    },
    /// `DELETE /app-mgmt/v0/connections`.
    RevokeConnections {
        /// The user's access token.
        access_token: Secret,
        /// The host.
        base_url: Option<Secret>,
    },
    /// The legacy-token migration.
    Legacy {
        /// app token, old consumer key, old refresh token, client secret.
        fields: [Secret; 4],
        /// Company token wanted.
        company: bool,
        /// The host.
        base_url: Option<Secret>,
    },
}

impl Call {
    /// A grant call from its request.
    pub fn grant(r: RawGrantRequest) -> Call {
        Call::Grant {
            grant: r.grant,
            client_id: Zeroizing::new(r.client_id),
            client_secret: Zeroizing::new(r.client_secret),
            fields: [
                secret(r.username),
                secret(r.password),
                secret(r.scope),
                secret(r.company_id),
                secret(r.request_token),
                secret(r.refresh_token),
                secret(r.code),
                secret(r.redirect_uri),
                secret(r.email),
                secret(r.otp),
            ],
            base_url: secret(r.base_url),
        }
    }

    /// A one-time-password call from its request.
    pub fn send_otp(r: RawOtpRequest) -> Call {
        Call::SendOtp {
            client_id: Zeroizing::new(r.client_id),
            client_secret: Zeroizing::new(r.client_secret),
            fields: [
                Some(Zeroizing::new(r.email)),
                secret(r.name),
                secret(r.company),
                secret(r.link),
            ],
            base_url: secret(r.base_url),
        }
    }

    /// A migration call from its request.
    pub fn legacy(r: RawLegacyRequest) -> Call {
        Call::Legacy {
            fields: [
                Zeroizing::new(r.app_access_token),
                Zeroizing::new(r.old_consumer_key),
                Zeroizing::new(r.old_refresh_token),
                Zeroizing::new(r.client_secret),
            ],
            company: r.company,
            base_url: secret(r.base_url),
        }
    }

    /// Makes the call on `client` (blocking: on one of the addon's threads).
    pub fn run(self, client: &Client) -> RawOutcome {
        match &self {
            Call::Grant {
                grant,
                client_id,
                client_secret,
                fields,
                base_url,
            } => RawOutcome::of(run_grant(
                client,
                grant,
                client_id,
                client_secret,
                fields,
                text(base_url),
            )),
            Call::SendOtp {
                client_id,
                client_secret,
                fields: [email, name, company, link],
                base_url,
            } => {
                let request = OtpRequest {
                    email: text(email).unwrap_or_default(),
                    name: text(name),
                    company: text(company),
                    link: text(link),
                };
                RawOutcome::of(client.send_otp(client_id, client_secret, &request, text(base_url)))
            }
            Call::RevokeConnections {
                access_token,
                base_url,
            } => RawOutcome::of(client.revoke_connections(access_token, text(base_url))),
            Call::Legacy {
                fields: [app, key, refresh, secret],
                company,
                base_url,
            } => RawOutcome::of(client.exchange_legacy_refresh_token(
                app,
                key,
                refresh,
                secret,
                *company,
                text(base_url),
            )),
        }
    }
}

fn run_grant(
    client: &Client,
    grant: &str,
    client_id: &str,
    client_secret: &str,
    fields: &[Option<Secret>; 10],
    host: Option<&str>,
) -> std::result::Result<OAuth2Token, Error> {
    let [
        username,
        password,
        scope,
        company_id,
        request_token,
        refresh_token,
        code,
        redirect_uri,
        email,
        otp,
    ] = fields;
    let grant = match grant {
        "password" => Grant::Password {
            username: needed(username, "username")?,
            password: needed(password, "password")?,
            scope: text(scope),
        },
        "company" => Grant::Company {
            company_id: needed(company_id, "companyId")?,
            request_token: needed(request_token, "requestToken")?,
        },
        "refreshToken" => Grant::RefreshToken {
            refresh_token: needed(refresh_token, "refreshToken")?,
            scope: text(scope),
        },
        "clientCredentials" => Grant::ClientCredentials,
        "authorizationCode" => Grant::AuthorizationCode {
            code: needed(code, "code")?,
            redirect_uri: needed(redirect_uri, "redirectUri")?,
        },
        "otp" => Grant::Otp {
            email: needed(email, "email")?,
            otp: needed(otp, "otp")?,
            scope: text(scope),
        },
        _ => return Err(Error::invalid_argument("unknown grant")),
    };
    client.oauth2_token(client_id, client_secret, &grant, host)
}

/// An `OAuth2Token` as the plain object `lib/index.js` wraps: `accessToken`, `tokenType`,
/// `expiresAt` and `refreshExpiresAt` (Unix seconds), and the optional strings, each absent
/// when the core has none.
pub fn oauth2_object<'env>(env: &'env Env, t: &OAuth2Token) -> Result<Object<'env>> {
    let mut o = Object::new(env)?;
    o.set("accessToken", t.access_token())?;
    o.set("tokenType", t.token_type())?;
    if let Some(v) = t.expires_at() {
        o.set("expiresAt", v as f64)?;
    }
    if let Some(v) = t.refresh_expires_at() {
        o.set("refreshExpiresAt", v as f64)?;
    }
    let strings = [
        ("refreshToken", t.refresh_token()),
        ("scope", t.scope()),
        ("geolocation", t.geolocation()),
        ("idToken", t.id_token()),
        ("subject", t.subject()),
        ("principalType", t.principal_type()),
        ("correlationId", t.correlation_id()),
    ];
    for (name, value) in strings {
        if let Some(v) = value {
            o.set(name, v)?;
        }
    }
    Ok(o)
}

/// A `LegacyExchange` as a plain object: `refreshToken`, `createdMs`, `expiresMs`, `scopes`,
/// `context`, `correlationId`.
pub fn legacy_object<'env>(env: &'env Env, x: &LegacyExchange) -> Result<Object<'env>> {
    let mut o = Object::new(env)?;
    o.set("refreshToken", x.refresh_token.as_str())?;
    if let Some(v) = x.created_ms {
        o.set("createdMs", v as f64)?;
    }
    if let Some(v) = x.expires_ms {
        o.set("expiresMs", v as f64)?;
    }
    if let Some(v) = &x.scopes {
        o.set("scopes", v.as_str())?;
    }
    if let Some(v) = &x.context {
        o.set("context", v.as_str())?;
    }
    if let Some(v) = &x.correlation_id {
        o.set("correlationId", v.as_str())?;
    }
    Ok(o)
}

/// Builds the current API's authorize URL (synchronous: nothing is sent).
#[napi]
pub fn oauth2_authorize_url(
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    base_url: Option<String>,
) -> RawAuthorization {
    guard(
        || {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            match concur_native::oauth2::oauth2_authorize_url(
                &client_id,
                &redirect_uri,
                &scopes,
                state.as_deref(),
                base_url.as_deref(),
            ) {
                Ok(r) => RawAuthorization {
                    url: Some(r.url),
                    state: Some(r.state),
                    error: None,
                },
                Err(e) => RawAuthorization {
                    url: None,
                    state: None,
                    error: Some(RawError::from(&e)),
                },
            }
        },
        |error| RawAuthorization {
            url: None,
            state: None,
            error: Some(error),
        },
    )
}

/// The code and geolocation of a current-API callback, or the error.
#[napi(object)]
pub struct RawOAuth2Callback {
    /// The code, on success.
    pub code: Option<String>,
    /// The geolocation the callback named, if any.
    pub geolocation: Option<String>,
    /// The failure otherwise.
    pub error: Option<RawError>,
}

/// Reads a current-API callback URL (synchronous: nothing is sent).
#[napi]
pub fn parse_oauth2_callback(url: String, expected_state: Option<String>) -> RawOAuth2Callback {
    // The URL holds the code: wipe this copy of it once read.
    let url = Zeroizing::new(url);
    guard(
        || match concur_native::oauth2::parse_oauth2_callback(&url, expected_state.as_deref()) {
            Ok(c) => RawOAuth2Callback {
                code: Some(c.code.clone()),
                geolocation: c.geolocation.clone(),
                error: None,
            },
            Err(e) => RawOAuth2Callback {
                code: None,
                geolocation: None,
                error: Some(RawError::from(&e)),
            },
        },
        |error| RawOAuth2Callback {
            code: None,
            geolocation: None,
            error: Some(error),
        },
    )
}
