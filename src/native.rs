//! Concur's Native Flow: one GET with the user's credentials, one token document back.

use ureq::http::HeaderName;

use crate::client::Client;
use crate::credentials::{basic_authorization, consumer_key_header};
use crate::document::{self, ConcurError, Document};
use crate::error::{Error, ErrorKind};
use crate::options::Options;
use crate::token::Token;
use crate::transport::Answer;

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
        let headers = vec![
            (
                HeaderName::from_static("x-consumerkey"),
                consumer_key_header(consumer_key)?,
            ),
            (
                ureq::http::header::AUTHORIZATION,
                basic_authorization(login_id, password)?,
            ),
        ];
        let url = self.transport.base.endpoint(NATIVE_TOKEN_PATH);
        let answer = self.transport.get(&url, headers)?;
        token_from_answer(answer)
    }
}

/// Turns any answer of Concur's token endpoints into a token or a typed error.
pub(crate) fn token_from_answer(answer: Answer) -> Result<Token, Error> {
    let status = answer.status;
    let parsed = document::parse(&answer.body, answer.content_type.as_deref());
    let none = ConcurError::default();
    let concur_error = match &parsed {
        Ok(Document::Error(e)) => e,
        _ => &none,
    };
    match status {
        200..=299 => match parsed.map_err(|e| e.with_status(status))? {
            Document::Token(token) => Ok(token),
            Document::Error(e) if names_credentials(&e) => Err(refusal(status, &e)),
            Document::Error(e) => Err(Error::protocol("Concur answered with an error document")
                .with_status(status)
                .with_concur_error(e.message.as_deref(), e.id.as_deref())),
        },
        401 | 403 => Err(refusal(status, concur_error)),
        300..=399 => {
            Err(Error::new(ErrorKind::HttpStatus, "redirects are not followed").with_status(status))
        }
        _ => Err(Error::new(ErrorKind::HttpStatus, "")
            .with_status(status)
            .with_concur_error(concur_error.message.as_deref(), concur_error.id.as_deref())),
    }
}

fn refusal(status: u16, e: &ConcurError) -> Error {
    Error::new(
        ErrorKind::Unauthorized,
        "Concur refused the credentials or the consumer key",
    )
    .with_status(status)
    .with_concur_error(e.message.as_deref(), e.id.as_deref())
}

/// Whether an error document sent with a success status says the credentials or key are wrong.
fn names_credentials(e: &ConcurError) -> bool {
    const WORDS: &[&str] = &[
        "credential",
        "password",
        "login",
        "consumer key",
        "consumerkey",
        "unauthori",
        "not authori",
        "forbidden",
        "access denied",
        "invalid user",
    ];
    let message = e.message.as_deref().unwrap_or("").to_ascii_lowercase();
    WORDS.iter().any(|w| message.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Result<Token, Error> {
        token_from_answer(Answer {
            status,
            content_type: Some("text/xml".into()),
            body: body.as_bytes().to_vec(),
        })
    }

    const ERROR_DOC: &str = "<Error><Message>Invalid login</Message><Id>E7</Id></Error>";

    #[test]
    fn statuses_map_to_classes() {
        let e = answer(401, ERROR_DOC).unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::Unauthorized, Some(401)));
        assert_eq!(
            (e.concur_message(), e.error_id()),
            (Some("Invalid login"), Some("E7"))
        );

        let e = answer(403, "not xml").unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::Unauthorized, Some(403)));

        let e = answer(503, ERROR_DOC).unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::HttpStatus, Some(503)));
        assert!(e.is_server_error());

        let e = answer(302, "").unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::HttpStatus, Some(302)));
        assert!(e.to_string().contains("redirect"));

        let e = answer(200, ERROR_DOC).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthorized);

        let e = answer(
            200,
            "<Error><Message>Down for maintenance</Message></Error>",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert_eq!(e.concur_message(), Some("Down for maintenance"));

        let e = answer(200, "<html/>").unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::Protocol, Some(200)));
    }
}
