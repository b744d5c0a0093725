//! Interpreting the answers of Concur's OAuth endpoints: a token document, an empty success,
//! or one of the error classes.

use crate::error::{Error, ErrorKind};
use crate::net2::document::{self, ConcurError, Document};
use crate::net2::token::Token;
use crate::transport::Answer;

/// Reads a token document received some other way (an `<Access_Token>` in XML, or its JSON
/// twin) as if it were a successful answer: the token, or Concur's error document as a typed
/// error, or a protocol error. The same reader the network calls use, with the same rules:
/// letter case ignored, values trimmed and unescaped, DTDs refused.
///
/// ```
/// let doc = b"<Access_Token><Token>abc</Token><Expiration_date>6/1/2014 8:00:00 AM</Expiration_date></Access_Token>";
/// let token = concur_native::parse_token_document(doc, None)?;
/// assert_eq!(token.expires_at(), Some(1_401_609_600));
/// # Ok::<(), concur_native::Error>(())
/// ```
pub fn parse_token_document(body: &[u8], content_type: Option<&str>) -> Result<Token, Error> {
    token_from_answer(Answer::received(
        200,
        content_type.map(str::to_string),
        body,
    ))
}

/// Turns an answer of Concur's token endpoints into a token or a typed error.
pub(crate) fn token_from_answer(answer: Answer) -> Result<Token, Error> {
    let correlation = answer.correlation_id.clone();
    read_token(answer).map_err(|e| e.with_correlation_id(correlation.as_deref()))
}

fn read_token(answer: Answer) -> Result<Token, Error> {
    let status = answer.status;
    // The body holds the tokens: it is wiped when dropped.
    let body = answer.body;
    let parsed = document::parse(&body, answer.content_type.as_deref());
    if !(200..=299).contains(&status) {
        return Err(failure(status, parsed.ok()));
    }
    match parsed.map_err(|e| e.with_status(status))? {
        Document::Token(token) => Ok(token),
        Document::Error(e) if names_credentials(&e) => Err(refusal(status, &e)),
        Document::Error(e) => Err(Error::protocol("Concur answered with an error document")
            .with_status(status)
            .with_concur_error(e.message.as_deref(), e.id.as_deref())),
    }
}

/// Turns an answer that carries nothing on success (revocation) into `()` or a typed error.
/// A success status whose body is an `<Error>` document is a failure, as for the token
/// endpoints: a revocation that did not happen must not read as done. Any other body of a
/// success (empty, or something else) is a success.
pub(crate) fn nothing_from_answer(answer: Answer) -> Result<(), Error> {
    let correlation = answer.correlation_id.clone();
    read_nothing(answer).map_err(|e| e.with_correlation_id(correlation.as_deref()))
}

fn read_nothing(answer: Answer) -> Result<(), Error> {
    let status = answer.status;
    let body = answer.body;
    let parsed = document::parse(&body, answer.content_type.as_deref());
    if !(200..=299).contains(&status) {
        return Err(failure(status, parsed.ok()));
    }
    match parsed {
        Ok(Document::Error(e)) if names_credentials(&e) => Err(refusal(status, &e)),
        Ok(Document::Error(e)) => Err(Error::protocol("Concur answered with an error document")
            .with_status(status)
            .with_concur_error(e.message.as_deref(), e.id.as_deref())),
        _ => Ok(()),
    }
}

/// The error for a non-success status, with Concur's message and Id when the body said them.
fn failure(status: u16, parsed: Option<Document>) -> Error {
    let none = ConcurError::default();
    let concur_error = match &parsed {
        Some(Document::Error(e)) => e,
        _ => &none,
    };
    match status {
        401 | 403 => refusal(status, concur_error),
        300..=399 => {
            Error::new(ErrorKind::HttpStatus, "redirects are not followed").with_status(status)
        }
        _ => Error::new(ErrorKind::HttpStatus, "")
            .with_status(status)
            .with_concur_error(concur_error.message.as_deref(), concur_error.id.as_deref()),
    }
}

fn refusal(status: u16, e: &ConcurError) -> Error {
    Error::new(ErrorKind::Unauthorized, "Concur refused the credentials")
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
    use crate::ErrorKind;

    fn answer(status: u16, body: &str) -> Result<Token, Error> {
        token_from_answer(Answer::received(
            status,
            Some("text/xml".into()),
            body.as_bytes(),
        ))
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

        let e = nothing_from_answer(Answer::received(401, None, ERROR_DOC.as_bytes())).unwrap_err();
        assert_eq!(
            (e.kind(), e.error_id()),
            (ErrorKind::Unauthorized, Some("E7"))
        );

        let e = answer(200, "<html/>").unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::Protocol, Some(200)));
    }

    fn revocation(status: u16, body: &str) -> Result<(), Error> {
        nothing_from_answer(Answer::received(
            status,
            Some("text/xml".into()),
            body.as_bytes(),
        ))
    }

    #[test]
    fn a_revocation_answered_with_an_error_document_failed() {
        let e = revocation(
            200,
            "<Error><Message>Invalid token: not revoked</Message></Error>",
        )
        .unwrap_err();
        assert_eq!((e.kind(), e.status()), (ErrorKind::Protocol, Some(200)));
        assert_eq!(e.concur_message(), Some("Invalid token: not revoked"));
        let e = revocation(204, r#"{"Error":{"Message":"Not authorized","Id":"E9"}}"#).unwrap_err();
        assert_eq!(
            (e.kind(), e.error_id()),
            (ErrorKind::Unauthorized, Some("E9"))
        );
        // What a revocation that happened looks like: no body, or something else.
        assert_eq!(revocation(200, ""), Ok(()));
        assert_eq!(revocation(204, ""), Ok(()));
        assert_eq!(revocation(200, "<html><body>done</body></html>"), Ok(()));
    }
}
