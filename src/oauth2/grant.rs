//! The grants of `POST /oauth2/v0/token`, one request path for all: the form, the host each
//! grant goes to, code 16's one retry at the user's data centre, and the token's checks.

use std::time::{SystemTime, UNIX_EPOCH};

use ureq::http::Method;

use crate::client::Client;
use crate::credentials::{require_secret, require_visible};
use crate::error::Error;
use crate::form::form_body;
use crate::oauth2::answer::token_from_answer;
use crate::oauth2::geolocation::trusted_data_centre;
use crate::oauth2::token::OAuth2Token;
use crate::options::BaseUrl;
use crate::retry::Resend;
use crate::transport::Outgoing;

/// The token endpoint, relative to a data centre's base URL.
pub const OAUTH2_TOKEN_PATH: &str = "/oauth2/v0/token";

/// A production host, where Concur sends password, one-time-password and client-credentials
/// grants when the user's data centre is not known yet (a user who lives elsewhere is then
/// followed there, code 16).
pub const PRODUCTION_HOST: &str = "https://us2.api.concursolutions.com";

/// The host Concur names for company (`credtype=authtoken`) and authorization-code grants.
pub const GLZ_HOST: &str = "https://glz.api.concursolutions.com";

/// The content type of every token request: Concur refuses one with a `charset` parameter.
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// Concur's code for "the user lives in another data centre; ask there".
const ELSEWHERE: i64 = 16;

/// What to trade for a token at `POST /oauth2/v0/token`. The application's own `client_id` and
/// `client_secret` go beside it, in [`Client::oauth2_token`].
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum Grant<'a> {
    /// A user's credentials (`grant_type=password`, `credtype=password`): the Native Flow's
    /// successor.
    Password {
        /// The user's login name.
        username: &'a str,
        /// The user's password.
        password: &'a str,
        /// Scopes to ask for, space separated; `None` for the application's.
        scope: Option<&'a str>,
    },
    /// A company-level token from App Center's request token (`grant_type=password`,
    /// `credtype=authtoken`). The request token lasts 24 hours and may be sent again within
    /// them after a network failure.
    Company {
        /// The company's UUID (App Center's `id`).
        company_id: &'a str,
        /// App Center's `requestToken`.
        request_token: &'a str,
    },
    /// A new access token for a refresh token (`grant_type=refresh_token`). Send it to the
    /// token's geolocation. Concur may rotate the refresh token: store the one the answer
    /// carries. Never sent twice by a retry.
    RefreshToken {
        /// The stored refresh token.
        refresh_token: &'a str,
        /// Scopes to narrow the new token to; `None` for the same.
        scope: Option<&'a str>,
    },
    /// The application's own token (`grant_type=client_credentials`); no refresh token.
    ClientCredentials,
    /// The code of the authorization-code flow (`grant_type=authorization_code`); single-use,
    /// never sent twice by a retry.
    AuthorizationCode {
        /// The `code` of the callback (see [`parse_oauth2_callback`](crate::oauth2::parse_oauth2_callback)).
        code: &'a str,
        /// The `redirect_uri` given to the authorize URL, exactly.
        redirect_uri: &'a str,
    },
    /// A one-time password sent by email (`grant_type=otp`), after
    /// [`Client::send_otp`].
    Otp {
        /// The email address the one-time password went to.
        email: &'a str,
        /// The one-time password.
        otp: &'a str,
        /// Scopes to ask for; `None` for the application's.
        scope: Option<&'a str>,
    },
}

impl Grant<'_> {
    /// The `grant_type` this grant sends.
    pub fn grant_type(&self) -> &'static str {
        match self {
            Grant::Password { .. } | Grant::Company { .. } => "password",
            Grant::RefreshToken { .. } => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::Otp { .. } => "otp",
        }
    }

    /// The host Concur documents for this grant when no base URL was set.
    fn default_host(&self) -> &'static str {
        match self {
            Grant::Company { .. } | Grant::AuthorizationCode { .. } => GLZ_HOST,
            _ => PRODUCTION_HOST,
        }
    }

    fn resend(&self) -> Resend {
        match self {
            Grant::RefreshToken { .. } | Grant::AuthorizationCode { .. } => Resend::Never,
            _ => Resend::Allowed,
        }
    }

    /// Checks every value (naming the argument, never quoting it) and returns the form fields
    /// after `client_id`, `client_secret` and `grant_type`.
    fn fields(&self) -> Result<Vec<(&'static str, &str)>, Error> {
        let mut fields = Vec::with_capacity(5);
        match *self {
            Grant::Password {
                username,
                password,
                scope,
            } => {
                require_text("the username", username)?;
                require_secret("the password", password)?;
                fields.extend([
                    ("username", username),
                    ("password", password),
                    ("credtype", "password"),
                ]);
                push_scope(&mut fields, scope)?;
            }
            Grant::Company {
                company_id,
                request_token,
            } => {
                require_visible("the company ID", company_id)?;
                require_visible("the request token", request_token)?;
                fields.extend([
                    ("username", company_id),
                    ("password", request_token),
                    ("credtype", "authtoken"),
                ]);
            }
            Grant::RefreshToken {
                refresh_token,
                scope,
            } => {
                require_visible("the refresh token", refresh_token)?;
                fields.push(("refresh_token", refresh_token));
                push_scope(&mut fields, scope)?;
            }
            Grant::ClientCredentials => {}
            Grant::AuthorizationCode { code, redirect_uri } => {
                require_visible("the code", code)?;
                require_visible("the redirect URI", redirect_uri)?;
                fields.extend([("code", code), ("redirect_uri", redirect_uri)]);
            }
            Grant::Otp { email, otp, scope } => {
                require_text("the email address", email)?;
                require_visible("the one-time password", otp)?;
                fields.extend([
                    ("otp", otp),
                    ("channel_handle", email),
                    ("channel_type", "email"),
                ]);
                push_scope(&mut fields, scope)?;
            }
        }
        Ok(fields)
    }

    fn sent_refresh_token(&self) -> Option<&str> {
        match self {
            Grant::RefreshToken { refresh_token, .. } => Some(refresh_token),
            _ => None,
        }
    }
}

fn push_scope<'a>(
    fields: &mut Vec<(&'static str, &'a str)>,
    scope: Option<&'a str>,
) -> Result<(), Error> {
    if let Some(scope) = scope {
        if scope.is_empty() || scope.chars().any(char::is_control) {
            return Err(Error::invalid(
                "the scope is empty or contains control characters",
            ));
        }
        fields.push(("scope", scope));
    }
    Ok(())
}

/// Names and addresses: non-empty, no control characters.
pub(crate) fn require_text(what: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "{what} contains control characters"
        )));
    }
    Ok(())
}

/// The application's credentials, checked.
pub(crate) fn require_app(client_id: &str, client_secret: &str) -> Result<(), Error> {
    require_visible("the client ID", client_id)?;
    require_secret("the client secret", client_secret)
}

impl Client {
    /// Trades a [`Grant`] for a token at `POST {host}/oauth2/v0/token`, form-encoded, every
    /// secret in the body (built in a buffer wiped once sent), with a fresh
    /// `concur-correlationid`.
    ///
    /// The host is `host` when given (a stored geolocation, say), else the client's base URL
    /// when one was set, else the host Concur documents for the grant ([`PRODUCTION_HOST`],
    /// or [`GLZ_HOST`] for company and authorization-code grants). When Concur answers code
    /// 16 (the user lives in another data centre), the call is sent once more, to the
    /// geolocation it named, within the same deadline, if that host is trusted (see
    /// [`Options::trusted_host`](crate::Options::trusted_host)); an untrusted one is a
    /// protocol error and nothing is sent there. A token whose geolocation is untrusted is
    /// refused the same way.
    ///
    /// ```no_run
    /// use concur_native::{Client, Options, oauth2::Grant};
    /// let client = Client::new(&Options::new())?;
    /// let password = std::env::var("CONCUR_PASSWORD").unwrap_or_default();
    /// let grant = Grant::Password { username: "user@example.com", password: &password, scope: None };
    /// let token = client.oauth2_token("client-id", "client-secret", &grant, None)?;
    /// println!("Bearer {} (store {:?})", token.access_token(), token.geolocation());
    /// # Ok::<(), concur_native::Error>(())
    /// ```
    pub fn oauth2_token(
        &self,
        client_id: &str,
        client_secret: &str,
        grant: &Grant<'_>,
        host: Option<&str>,
    ) -> Result<OAuth2Token, Error> {
        require_app(client_id, client_secret)?;
        let mut fields = vec![
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("grant_type", grant.grant_type()),
        ];
        fields.extend(grant.fields()?);
        let base = self.oauth2_base(host, grant.default_host())?;
        let body = form_body(&fields);
        drop(fields);
        self.post_form(
            OAUTH2_TOKEN_PATH,
            body,
            base,
            grant.resend(),
            |answer, asked| {
                let mut token = token_from_answer(answer, now(), grant.sent_refresh_token())?;
                let geolocation = self
                    .checked_geolocation(token.geolocation.as_deref(), asked)
                    .map_err(|e| e.with_correlation_id(token.correlation_id()))?;
                token.geolocation = Some(geolocation);
                Ok(token)
            },
        )
    }

    /// `POST {base}{path}` with a form body, read by `read`; when Concur answers code 16 (the
    /// user lives elsewhere), sent once more to the geolocation it named, if trusted, within
    /// the same deadline and with the same correlation id. A second code 16 is an error.
    pub(crate) fn post_form<T>(
        &self,
        path: &str,
        body: bytes::Bytes,
        base: BaseUrl,
        resend: Resend,
        read: impl Fn(&crate::transport::Answer, &BaseUrl) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let deadline = self.transport.deadline();
        let correlation_id = self.transport.correlation_id();
        let mut asked = base;
        let mut followed = false;
        loop {
            let request =
                Outgoing::new(Method::POST, &asked.endpoint(path), resend).body(FORM, body.clone());
            let answer = self
                .transport
                .exchange(&request, deadline, &correlation_id)?;
            match read(&answer, &asked) {
                Ok(value) => return Ok(value),
                Err(e) if e.concur_code() == Some(ELSEWHERE) && !followed => {
                    let Some(elsewhere) = e.geolocation() else {
                        return Err(e);
                    };
                    asked = trusted_data_centre(elsewhere, &asked, self.trusted_hosts())
                        .map_err(|refused| refused.with_correlation_id(e.correlation_id()))?;
                    followed = true;
                }
                Err(e) if e.concur_code() == Some(ELSEWHERE) => {
                    return Err(e.with_detail(
                        "Concur named another data centre again after one was followed",
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The base URL a current-API call goes to: the call's own host, else the client's base
    /// URL when set, else Concur's host for the call.
    pub(crate) fn oauth2_base(&self, host: Option<&str>, default: &str) -> Result<BaseUrl, Error> {
        match host {
            Some(host) => BaseUrl::parse(host),
            None if self.base_is_set => Ok(self.transport.base.clone()),
            None => BaseUrl::parse(default),
        }
    }

    /// The geolocation to hand back: the answer's, once trusted, else the data centre asked.
    fn checked_geolocation(&self, named: Option<&str>, asked: &BaseUrl) -> Result<String, Error> {
        match named {
            Some(url) => Ok(trusted_data_centre(url, asked, self.trusted_hosts())?.url),
            None => Ok(asked.url.clone()),
        }
    }
}

/// Now, as Unix seconds.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
