//! The current API's calls around the token: sending a one-time password, revoking a user's
//! connection, and trading a legacy refresh token for a current one.

use ureq::http::{Method, header::AUTHORIZATION};

use crate::client::Client;
use crate::credentials::{bearer_authorization, require_secret, require_visible};
use crate::error::Error;
use crate::form::{form_body, json_body};
use crate::oauth2::answer::{Members, failure, nothing_from_answer};
use crate::oauth2::grant::{PRODUCTION_HOST, require_app, require_text};
use crate::query::percent_encode_into;
use crate::retry::Resend;
use crate::transport::Outgoing;

/// The one-time-password endpoint.
pub const OAUTH2_OTP_PATH: &str = "/oauth2/v0/otp";

/// The endpoint that revokes every refresh token a user gave the application.
pub const CONNECTIONS_PATH: &str = "/app-mgmt/v0/connections";

/// Who to email a one-time password to, for [`Client::send_otp`].
#[derive(Clone, Copy, Debug, Default)]
pub struct OtpRequest<'a> {
    /// The user's email address (`channel_handle`).
    pub email: &'a str,
    /// The user's name, for the email's greeting.
    pub name: Option<&'a str>,
    /// The company's name, for the email.
    pub company: Option<&'a str>,
    /// A link to put in the email.
    pub link: Option<&'a str>,
}

/// What the migration call returns: the current API's refresh token for a legacy one.
#[derive(Clone, PartialEq, Eq)]
pub struct LegacyExchange {
    /// The new refresh token: use it with [`Grant::RefreshToken`](crate::oauth2::Grant) from
    /// now on, and forget the legacy one.
    pub refresh_token: String,
    /// When the new refresh token was created, as Unix milliseconds (Concur's `created`).
    pub created_ms: Option<i64>,
    /// When the new refresh token expires, as Unix milliseconds (Concur's `expired`).
    pub expires_ms: Option<i64>,
    /// The scopes it carries, space separated (Concur sends a list).
    pub scopes: Option<String>,
    /// Concur's `context`, as sent: a JSON text naming the principal type (`ptype`).
    pub context: Option<String>,
    /// The `concur-correlationid` of the exchange.
    pub correlation_id: Option<String>,
}

impl std::fmt::Debug for LegacyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyExchange")
            .field("refresh_token", &"***")
            .field("created_ms", &self.created_ms)
            .field("expires_ms", &self.expires_ms)
            .field("scopes", &self.scopes)
            .field("context", &self.context)
            .field("correlation_id", &self.correlation_id)
            .finish()
    }
}

impl Drop for LegacyExchange {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.refresh_token);
    }
}

impl Client {
    /// Emails the user a one-time password: `POST {host}/oauth2/v0/otp` with the application's
    /// credentials (Concur answers `{"message":"otp sent"}`). Then trade it with
    /// [`Grant::Otp`](crate::oauth2::Grant::Otp). The host is chosen as for
    /// [`Client::oauth2_token`] (a production host by default).
    pub fn send_otp(
        &self,
        client_id: &str,
        client_secret: &str,
        request: &OtpRequest<'_>,
        host: Option<&str>,
    ) -> Result<(), Error> {
        require_app(client_id, client_secret)?;
        require_text("the email address", request.email)?;
        let mut fields = vec![
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("channel_handle", request.email),
            ("channel_type", "email"),
        ];
        for (name, value) in [
            ("name", request.name),
            ("company", request.company),
            ("link", request.link),
        ] {
            if let Some(value) = value {
                require_text(&format!("the {name}"), value)?;
                fields.push((name, value));
            }
        }
        let base = self.oauth2_base(host, PRODUCTION_HOST)?;
        // Like a grant, the send follows a user who lives in another data centre (code 16).
        self.post_form(
            OAUTH2_OTP_PATH,
            form_body(&fields),
            base,
            Resend::Allowed,
            |answer, _| nothing_from_answer(answer),
        )
    }

    /// Revokes every refresh token the user gave this application: `DELETE
    /// {host}/app-mgmt/v0/connections` with `Authorization: Bearer {access_token}` (a token of
    /// that user). Send it to the user's geolocation.
    pub fn revoke_connections(&self, access_token: &str, host: Option<&str>) -> Result<(), Error> {
        let authorization = bearer_authorization(access_token)?;
        let base = self.oauth2_base(host, PRODUCTION_HOST)?;
        let request = Outgoing::new(
            Method::DELETE,
            &base.endpoint(CONNECTIONS_PATH),
            Resend::Allowed,
        )
        .header(AUTHORIZATION, authorization);
        nothing_from_answer(&self.transport.send(&request)?)
    }

    /// Trades a refresh token of the legacy flows (this library's Native Flow, say) for one of
    /// the current API: `POST {host}/appmgmt/v0/legacyApps/{old consumer key}/exchangeRefreshToken/me`
    /// (with `?returnType=companyToken` when `company`), `Authorization: Bearer
    /// {app_access_token}` (a client-credentials token of the new application), and a JSON body
    /// holding the old refresh token and the new application's client secret.
    pub fn exchange_legacy_refresh_token(
        &self,
        app_access_token: &str,
        old_consumer_key: &str,
        old_refresh_token: &str,
        client_secret: &str,
        company: bool,
        host: Option<&str>,
    ) -> Result<LegacyExchange, Error> {
        let authorization = bearer_authorization(app_access_token)?;
        require_visible("the old consumer key", old_consumer_key)?;
        require_visible("the old refresh token", old_refresh_token)?;
        require_secret("the client secret", client_secret)?;
        let base = self.oauth2_base(host, PRODUCTION_HOST)?;
        let mut url = base.endpoint("/appmgmt/v0/legacyApps/");
        percent_encode_into(&mut url, old_consumer_key);
        url.push_str("/exchangeRefreshToken/me");
        if company {
            url.push_str("?returnType=companyToken");
        }
        let body = json_body(&[("token", old_refresh_token), ("secret", client_secret)]);
        // Never sent twice: the legacy token may be consumed by the first.
        let request = Outgoing::new(Method::POST, &url, Resend::Never)
            .header(AUTHORIZATION, authorization)
            .body("application/json", body);
        let answer = self.transport.send(&request)?;
        let correlation = answer.correlation_id.as_deref();
        let members = Members::parse(&answer.body);
        if !(200..=299).contains(&answer.status) {
            return Err(
                failure(answer.status, members.ok().as_ref()).with_correlation_id(correlation)
            );
        }
        let members = members.map_err(|e| {
            e.with_status(answer.status)
                .with_correlation_id(correlation)
        })?;
        let refresh_token = members
            .text("token")
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                failure(answer.status, Some(&members))
                    .with_detail("the answer has no usable token")
                    .with_correlation_id(correlation)
            })?;
        let plain = |v: &str| v.len() <= 4096 && !v.chars().any(char::is_control);
        Ok(LegacyExchange {
            refresh_token: refresh_token.to_string(),
            created_ms: members.integer("created"),
            expires_ms: members.integer("expired"),
            scopes: members.words("scopes").filter(|v| plain(v)),
            context: members
                .text("context")
                .filter(|v| plain(v))
                .map(str::to_string),
            correlation_id: answer.correlation_id.clone(),
        })
    }
}
