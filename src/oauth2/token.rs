//! The current API's token: access token, expiry, the refresh token that may rotate, the
//! user's data centre, and what the id_token says (read, not verified).

use std::fmt;

use zeroize::Zeroize;

/// An access token from Concur's current Authentication API (`oauth2/v0`), with what came with
/// it.
///
/// The access, refresh and id tokens are secrets: `Debug` masks them, and dropping an
/// `OAuth2Token` overwrites them in memory. After a refresh, store the new
/// [`refresh_token`](OAuth2Token::refresh_token) and [`geolocation`](OAuth2Token::geolocation):
/// Concur may rotate both, and the old refresh token may stop working.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2Token {
    pub(crate) access_token: String,
    pub(crate) token_type: String,
    pub(crate) expires_at: Option<i64>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) refresh_expires_at: Option<i64>,
    pub(crate) scope: Option<String>,
    pub(crate) geolocation: Option<String>,
    pub(crate) id_token: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) principal_type: Option<String>,
    pub(crate) correlation_id: Option<String>,
}

impl OAuth2Token {
    /// The access token, for the `Authorization: Bearer {access_token}` header of later calls.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The token type Concur named (`"Bearer"`).
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// When the access token expires, as Unix seconds (UTC): the time the answer was received
    /// plus its `expires_in`. `None` when the answer gave no usable `expires_in`.
    pub fn expires_at(&self) -> Option<i64> {
        self.expires_at
    }

    /// The refresh token, absent for `client_credentials`. After a refresh this is the token to
    /// store from now on (Concur may have issued a new one; the one sent is kept when the
    /// answer carried none).
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// When the refresh token expires, as Unix seconds (Concur sends `refresh_expires_in` as a
    /// point in time, not a duration), when the answer said.
    pub fn refresh_expires_at(&self) -> Option<i64> {
        self.refresh_expires_at
    }

    /// The granted scopes, space separated, when the answer listed them.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The base URL of the user's (or company's) data centre: send refreshes and every later
    /// API call there. Checked before it was returned: always a trusted host (see
    /// [`Options::trusted_host`](crate::Options::trusted_host)). When the answer named none,
    /// the data centre that answered.
    pub fn geolocation(&self) -> Option<&str> {
        self.geolocation.as_deref()
    }

    /// The id_token (a JWT), absent for `client_credentials`.
    pub fn id_token(&self) -> Option<&str> {
        self.id_token.as_deref()
    }

    /// The `sub` claim of the id_token: the user's or company's UUID, which later APIs need.
    /// Read from the token's payload **without verifying its signature**: fine for routing
    /// your own calls, not for deciding who somebody is (verify the id_token against Concur's
    /// JWKS for that).
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The `concur.type` claim of the id_token (`"user"` or `"company"`), read **without
    /// verifying its signature** (see [`subject`](OAuth2Token::subject)).
    pub fn principal_type(&self) -> Option<&str> {
        self.principal_type.as_deref()
    }

    /// The `concur-correlationid` of the exchange that returned this token.
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }
}

impl fmt::Debug for OAuth2Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mask = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("OAuth2Token")
            .field("access_token", &"***")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("refresh_token", &mask(&self.refresh_token))
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("scope", &self.scope)
            .field("geolocation", &self.geolocation)
            .field("id_token", &mask(&self.id_token))
            .field("subject", &self.subject)
            .field("principal_type", &self.principal_type)
            .field("correlation_id", &self.correlation_id)
            .finish()
    }
}

impl Drop for OAuth2Token {
    fn drop(&mut self) {
        self.access_token.zeroize();
        self.refresh_token.zeroize();
        self.id_token.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_every_secret() {
        let t = OAuth2Token {
            access_token: "secret-access".into(),
            token_type: "Bearer".into(),
            expires_at: Some(1),
            refresh_token: Some("secret-refresh".into()),
            refresh_expires_at: Some(2),
            scope: Some("openid".into()),
            geolocation: Some("https://us2.api.concursolutions.com".into()),
            id_token: Some("secret-id".into()),
            subject: Some("u-1".into()),
            principal_type: Some("user".into()),
            correlation_id: Some("c".into()),
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(
            shown.contains("us2.api") && shown.contains("u-1"),
            "{shown}"
        );
    }
}
