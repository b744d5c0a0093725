//! Concur's Native Flow: one GET with the user's credentials, one token document back.

use ureq::http::{HeaderName, Method};

use crate::client::Client;
use crate::credentials::{basic_authorization, consumer_key_header};
use crate::error::Error;
use crate::net2::answer::token_from_answer;
use crate::net2::token::Token;
use crate::options::Options;
use crate::retry::Resend;
use crate::transport::Outgoing;

/// The Native Flow endpoint, relative to the base URL.
pub const NATIVE_TOKEN_PATH: &str = "/net2/oauth2/accesstoken.ashx";

/// Obtains an access token with Concur's Native Flow: `GET {base}/net2/oauth2/accesstoken.ashx`
/// with `Authorization: Basic base64(login_id ":" password)` and `X-ConsumerKey`.
///
/// The password may be empty (the encoded credentials still end with `:`). The login ID must
/// not be empty nor contain `:`. The encoded credentials are wiped from memory once sent, and
/// no error or debug text ever quotes them. Redirects are never followed.
///
/// This builds a fresh connection for the one call; [`Client`] keeps connections for many.
///
/// ```no_run
/// let options = concur_native::Options::new();
/// let token = concur_native::native_token("consumer-key", "user@example.com", "pw", &options)?;
/// println!("OAuth {}", token.token());
/// # Ok::<(), concur_native::Error>(())
/// ```
pub fn native_token(
    consumer_key: &str,
    login_id: &str,
    password: &str,
    options: &Options,
) -> Result<Token, Error> {
    // Refuse bad credentials before touching the file system or the network.
    consumer_key_header(consumer_key)?;
    basic_authorization(login_id, password)?;
    Client::new(options)?.native_token(consumer_key, login_id, password)
}

impl Client {
    /// Obtains an access token with the Native Flow over this client's connections; see
    /// [`native_token`].
    pub fn native_token(
        &self,
        consumer_key: &str,
        login_id: &str,
        password: &str,
    ) -> Result<Token, Error> {
        let url = self.transport.base.endpoint(NATIVE_TOKEN_PATH);
        let request = Outgoing::new(Method::GET, &url, Resend::Allowed)
            .header(
                HeaderName::from_static("x-consumerkey"),
                consumer_key_header(consumer_key)?,
            )
            .header(
                ureq::http::header::AUTHORIZATION,
                basic_authorization(login_id, password)?,
            );
        let answer = self.transport.send(&request)?;
        self.checked_instance(token_from_answer(answer)?)
    }

    /// Hands a legacy token back only when its `Instance_Url`, which callers use as the base
    /// URL of refreshes and revocations, names a trusted data centre (as a geolocation must);
    /// otherwise a protocol error naming the host, and the token is wiped.
    pub(crate) fn checked_instance(&self, token: Token) -> Result<Token, Error> {
        if let Some(url) = token.instance_url() {
            crate::oauth2::trusted_data_centre(url, &self.transport.base, self.trusted_hosts())?;
        }
        Ok(token)
    }
}
