//! Revoking tokens: one token, or every token a user granted an application.

use ureq::http::Method;

use crate::client::Client;
use crate::credentials::{oauth_authorization, require_visible};
use crate::error::Error;
use crate::net2::answer::nothing_from_answer;
use crate::query::url_with_query;
use crate::retry::Resend;
use crate::transport::Outgoing;

/// The revocation endpoint, relative to the base URL.
pub const REVOKE_TOKEN_PATH: &str = "/net2/oauth2/revoketoken.ashx";

impl Client {
    /// Revokes one access token: `POST {base}/net2/oauth2/revoketoken.ashx?token=…` with
    /// `Authorization: OAuth {admin_access_token}`. The caller's token must belong to a user
    /// with the Web Services Administrator (Professional) or Can Administrator (Standard) role.
    pub fn revoke_token(&self, admin_access_token: &str, token: &str) -> Result<(), Error> {
        require_visible("the token to revoke", token)?;
        self.revoke(admin_access_token, &[("token", token)])
    }

    /// Revokes every token a user granted the application:
    /// `POST {base}/net2/oauth2/revoketoken.ashx?consumerKey=…&user=…`, authorised like
    /// [`Client::revoke_token`].
    pub fn revoke_user_tokens(
        &self,
        admin_access_token: &str,
        consumer_key: &str,
        login_id: &str,
    ) -> Result<(), Error> {
        require_visible("the consumer key", consumer_key)?;
        if login_id.is_empty() || login_id.contains('\0') {
            return Err(Error::invalid(
                "the login ID is empty or contains a NUL character",
            ));
        }
        self.revoke(
            admin_access_token,
            &[("consumerKey", consumer_key), ("user", login_id)],
        )
    }

    fn revoke(&self, admin_access_token: &str, params: &[(&str, &str)]) -> Result<(), Error> {
        let authorization = oauth_authorization(admin_access_token)?;
        let url = url_with_query(&self.transport.base.endpoint(REVOKE_TOKEN_PATH), params);
        let answer = self.transport.send(
            &Outgoing::new(Method::POST, &url, Resend::Allowed)
                .header(ureq::http::header::AUTHORIZATION, authorization),
        )?;
        nothing_from_answer(answer)
    }
}
