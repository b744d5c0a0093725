//! The one error type of the library, and its classes.
//!
//! No error text ever quotes a credential, a header value or a request URL: messages are built
//! from fixed words, HTTP statuses and what Concur's error document said.

use std::fmt;

/// The class of an [`Error`]: what went wrong, in the terms a caller acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument or option was unusable; no request was sent.
    InvalidArgument,
    /// Concur refused the credentials or the consumer key (HTTP 401/403, or an error document
    /// saying so).
    Unauthorized,
    /// Concur answered with an HTTP status that is neither success nor a refusal of the
    /// credentials: a 5xx server error, a 3xx redirect (never followed), a 404, a 429, …
    HttpStatus,
    /// The whole exchange did not finish within the deadline.
    Timeout,
    /// No connection could be made (or kept) to the host or to the proxy.
    Connect,
    /// The TLS handshake failed: an untrusted or wrong-host certificate, an old protocol, …
    Tls,
    /// The answer was not a token document: malformed, too large, truncated, of another kind.
    Protocol,
}

impl ErrorKind {
    /// A stable, upper-case name for the class (`"UNAUTHORIZED"`, `"HTTP_STATUS"`, …), the
    /// same string the Node binding uses as `code`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::Unauthorized => "UNAUTHORIZED",
            ErrorKind::HttpStatus => "HTTP_STATUS",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Connect => "CONNECT",
            ErrorKind::Tls => "TLS",
            ErrorKind::Protocol => "PROTOCOL",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::HttpStatus => "unexpected HTTP status",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Connect => "connection failed",
            ErrorKind::Tls => "TLS failure",
            ErrorKind::Protocol => "malformed answer",
        }
    }
}

/// What went wrong while obtaining a token.
///
/// Besides its [`kind`](Error::kind), an error carries the HTTP status when an answer arrived,
/// and the message and Id of Concur's error document when the answer was one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    detail: String,
    status: Option<u16>,
    concur_message: Option<String>,
    error_id: Option<String>,
}

/// Concur's messages are shown to people: keep them one line and of reasonable length.
const MAX_SERVER_TEXT: usize = 512;

impl Error {
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<String>) -> Error {
        Error {
            kind,
            detail: detail.into(),
            status: None,
            concur_message: None,
            error_id: None,
        }
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, detail)
    }

    /// An [`ErrorKind::InvalidArgument`] error, for wrappers (the bindings) that check
    /// arguments of their own before calling the library. `detail` must not quote a secret.
    pub fn invalid_argument(detail: impl Into<String>) -> Error {
        Error::invalid(detail)
    }

    pub(crate) fn protocol(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Protocol, detail)
    }

    pub(crate) fn with_status(mut self, status: u16) -> Error {
        self.status = Some(status);
        self
    }

    pub(crate) fn with_concur_error(mut self, message: Option<&str>, id: Option<&str>) -> Error {
        self.concur_message = message.map(clean_server_text).filter(|m| !m.is_empty());
        self.error_id = id.map(clean_server_text).filter(|m| !m.is_empty());
        self
    }

    /// The class of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status of the answer, when one arrived.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The `Message` of Concur's error document, when the answer was one.
    pub fn concur_message(&self) -> Option<&str> {
        self.concur_message.as_deref()
    }

    /// The `Id` of Concur's error document, when the answer was one: quote it to Concur support.
    pub fn error_id(&self) -> Option<&str> {
        self.error_id.as_deref()
    }

    /// What the library itself says about the failure, without the class or Concur's words.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Whether the failure was a 5xx answer, which a later retry may not meet again.
    pub fn is_server_error(&self) -> bool {
        matches!(self.status, Some(500..=599))
    }
}

/// Control characters would let a hostile server forge log lines; long text would flood them.
fn clean_server_text(text: &str) -> String {
    let one_line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(MAX_SERVER_TEXT) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.describe())?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        if let Some(message) = &self.concur_message {
            write!(f, ": Concur says \"{message}\"")?;
        }
        if let Some(id) = &self.error_id {
            write!(f, " [error id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_class_status_message_and_id() {
        let e = Error::new(ErrorKind::Unauthorized, "")
            .with_status(401)
            .with_concur_error(Some(" Invalid\r\nlogin "), Some("ERR-1"));
        assert_eq!(
            e.to_string(),
            "unauthorized (HTTP 401): Concur says \"Invalid  login\" [error id ERR-1]"
        );
    }

    #[test]
    fn server_text_is_capped() {
        let long = "x".repeat(5000);
        let e = Error::protocol("p").with_concur_error(Some(&long), None);
        assert_eq!(
            e.concur_message().unwrap().chars().count(),
            MAX_SERVER_TEXT + 1
        );
    }
}
