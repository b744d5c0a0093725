//! Refreshing an access token with its refresh token.

use ureq::http::Method;

use crate::client::Client;
use crate::credentials::{require_secret, require_visible};
use crate::error::Error;
use crate::net2::answer::token_from_answer;
use crate::net2::token::Token;
use crate::query::url_with_query;
use crate::retry::Resend;
use crate::transport::Outgoing;

/// The refresh endpoint, relative to the base URL (the user's `Instance_Url`).
pub const REFRESH_TOKEN_PATH: &str = "/net2/oauth2/getaccesstoken.ashx";

impl Client {
    /// Refreshes a token: `GET {base}/net2/oauth2/getaccesstoken.ashx?refresh_token=…&client_id=…
    /// &client_secret=…`. Point the client's base URL at the `Instance_Url` of the token.
    ///
    /// The answer is a token document like the first one; when it carries no refresh token,
    /// the one given here is kept in the returned token. The client secret and the refresh
    /// token travel in the query string, so no error ever quotes the request URL, and the URL
    /// is wiped from memory once sent.
    pub fn refresh_token(
        &self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
    ) -> Result<Token, Error> {
        require_visible("the client ID", client_id)?;
        require_secret("the client secret", client_secret)?;
        require_visible("the refresh token", refresh_token)?;
        let mut token = self.token_by_query(
            REFRESH_TOKEN_PATH,
            &[
                ("refresh_token", refresh_token),
                ("client_id", client_id),
                ("client_secret", client_secret),
            ],
        )?;
        if token.refresh_token.is_none() {
            token.refresh_token = Some(refresh_token.to_string());
        }
        Ok(token)
    }
}

impl Client {
    /// `GET {base}{path}?{params}` answered by a token document: refresh and code exchange,
    /// whose secrets travel in the query (built into a buffer wiped once sent).
    pub(crate) fn token_by_query(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<Token, Error> {
        let url = url_with_query(&self.transport.base.endpoint(path), params);
        // Never sent twice: a code is single-use, and a refresh must not race its own rotation.
        let answer = self
            .transport
            .send(&Outgoing::new(Method::GET, &url, Resend::Never))?;
        self.checked_instance(token_from_answer(answer)?)
    }
}
