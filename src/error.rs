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
    /// A token store (file, Redis, or the application's own) could not be read or written, or
    /// held something that is not a stored token. The stored token is left as it was.
    Store,
    /// The call needs an optional part that this build of the library was compiled without
    /// (a Cargo feature, named in the message: `redis` for a `redis://` store). Nothing was
    /// sent and no store was touched; a build with the feature accepts the same call.
    NotBuiltIn,
    /// A token vault holds no connection by that ID (never added, or removed). Nothing was
    /// sent.
    UnknownConnection,
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
            ErrorKind::Store => "STORE",
            ErrorKind::NotBuiltIn => "NOT_BUILT_IN",
            ErrorKind::UnknownConnection => "UNKNOWN_CONNECTION",
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
            ErrorKind::Store => "token store failed",
            ErrorKind::NotBuiltIn => "not built in",
            ErrorKind::UnknownConnection => "unknown connection",
        }
    }
}

/// What went wrong while obtaining a token.
///
/// Besides its [`kind`](Error::kind), an error carries the HTTP status when an answer arrived,
/// what Concur's error document said when the answer was one (the legacy `Message` and `Id`;
/// the current API's numeric `code`, OAuth `error`, `error_description` and `geolocation`), and
/// the `concur-correlationid` of the exchange, which Concur support asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(Box<Repr>);

/// The error's contents, boxed so that a `Result` stays one pointer wide on its error side.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Repr {
    kind: ErrorKind,
    detail: String,
    status: Option<u16>,
    concur_message: Option<String>,
    error_id: Option<String>,
    concur_code: Option<i64>,
    oauth_error: Option<String>,
    geolocation: Option<String>,
    correlation_id: Option<String>,
    /// A store's lock held by someone else past the wait (see [`Error::lock_busy`]).
    lock_busy: bool,
}

/// Concur's messages are shown to people: keep them one line and of reasonable length.
const MAX_SERVER_TEXT: usize = 512;

impl Error {
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<String>) -> Error {
        Error(Box::new(Repr {
            kind,
            detail: detail.into(),
            status: None,
            concur_message: None,
            error_id: None,
            concur_code: None,
            oauth_error: None,
            geolocation: None,
            correlation_id: None,
            lock_busy: false,
        }))
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, detail)
    }

    /// An [`ErrorKind::InvalidArgument`] error, for wrappers (the bindings) that check
    /// arguments of their own before calling the library. `detail` must not quote a secret.
    pub fn invalid_argument(detail: impl Into<String>) -> Error {
        Error::invalid(detail)
    }

    pub(crate) fn store(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Store, detail)
    }

    /// An [`ErrorKind::Store`] error, for token stores written outside the library (a
    /// [`TokenStore`](crate::manager::TokenStore) of the application's own, a binding's
    /// callback store). `detail` must not quote a secret.
    pub fn store_failure(detail: impl Into<String>) -> Error {
        Error::store(detail)
    }

    /// An [`ErrorKind::Store`] error saying a store's lock stayed held by another holder past
    /// the wait: what a [`KeyedStore`](crate::manager::KeyedStore) (or a
    /// [`TokenStore`](crate::manager::TokenStore)) of the application's own returns when its lock
    /// times out, so that a keep-alive sweep tells a connection another sweeper holds from a
    /// store that fails (see [`is_lock_busy`](Error::is_lock_busy)).
    pub fn lock_busy(detail: impl Into<String>) -> Error {
        let mut error = Error::store(detail);
        error.0.lock_busy = true;
        error
    }

    /// Whether this is a store's lock held by another holder past the wait
    /// ([`lock_busy`](Error::lock_busy)), not a store failing.
    pub fn is_lock_busy(&self) -> bool {
        self.0.lock_busy
    }

    /// An [`ErrorKind::NotBuiltIn`] error: `what` needs the Cargo feature `feature`, which this
    /// build lacks.
    // Called where a feature is off: a build with every feature has no caller.
    #[cfg_attr(feature = "redis", allow(dead_code))]
    pub(crate) fn not_built_in(feature: &str, what: &str) -> Error {
        Error::new(
            ErrorKind::NotBuiltIn,
            format!(
                "{what} needs the Cargo feature \"{feature}\", which this build of the library \
                 was compiled without (C library: scripts/install-c.sh --features {feature})"
            ),
        )
    }

    pub(crate) fn protocol(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Protocol, detail)
    }

    pub(crate) fn with_status(mut self, status: u16) -> Error {
        self.0.status = Some(status);
        self
    }

    pub(crate) fn with_concur_error(mut self, message: Option<&str>, id: Option<&str>) -> Error {
        self.0.concur_message = message.map(clean_server_text).filter(|m| !m.is_empty());
        self.0.error_id = id.map(clean_server_text).filter(|m| !m.is_empty());
        self
    }

    /// Adds what an oauth2/v0 JSON error document said: its numeric `code`, OAuth `error` string
    /// and `geolocation` (the description goes to [`concur_message`](Error::concur_message)).
    pub(crate) fn with_oauth2_error(
        mut self,
        code: Option<i64>,
        error: Option<&str>,
        description: Option<&str>,
        geolocation: Option<&str>,
    ) -> Error {
        self.0.concur_code = code;
        self.0.oauth_error = error.map(clean_server_text).filter(|m| !m.is_empty());
        self.0.concur_message = description.map(clean_server_text).filter(|m| !m.is_empty());
        self.0.geolocation = geolocation.map(clean_server_text).filter(|m| !m.is_empty());
        self
    }

    /// Records the exchange's `concur-correlationid` (keeps one already recorded).
    pub(crate) fn with_correlation_id(mut self, id: Option<&str>) -> Error {
        if self.0.correlation_id.is_none() {
            self.0.correlation_id = id.map(clean_server_text).filter(|m| !m.is_empty());
        }
        self
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.0.detail = detail.into();
        self
    }

    /// The class of the error.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The HTTP status of the answer, when one arrived.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// The `Message` of Concur's legacy error document, or the `error_description` of the
    /// current API's JSON error, when the answer was one.
    pub fn concur_message(&self) -> Option<&str> {
        self.0.concur_message.as_deref()
    }

    /// The `Id` of Concur's error document, when the answer was one: quote it to Concur support.
    pub fn error_id(&self) -> Option<&str> {
        self.0.error_id.as_deref()
    }

    /// The numeric `code` of the current API's JSON error (`5` wrong credentials, `16` the user
    /// lives in another data centre, `108` bad or expired refresh token, …), when it sent one.
    pub fn concur_code(&self) -> Option<i64> {
        self.0.concur_code
    }

    /// The OAuth `error` string of the current API's JSON error (`"invalid_grant"`, …).
    pub fn oauth_error(&self) -> Option<&str> {
        self.0.oauth_error.as_deref()
    }

    /// The `geolocation` named by the current API's JSON error (the data centre where the user
    /// lives, with code 16), as Concur sent it; not checked, never followed by this value alone.
    pub fn geolocation(&self) -> Option<&str> {
        self.0.geolocation.as_deref()
    }

    /// The `concur-correlationid` of the exchange: the one the server answered with, else the
    /// one this library sent. Quote it to Concur support.
    pub fn correlation_id(&self) -> Option<&str> {
        self.0.correlation_id.as_deref()
    }

    /// What the library itself says about the failure, without the class or Concur's words.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// Whether the failure was a 5xx answer, which a later retry may not meet again.
    pub fn is_server_error(&self) -> bool {
        matches!(self.0.status, Some(500..=599))
    }
}

/// Control characters would let a hostile server forge log lines, and format characters (bidi
/// overrides such as U+202E, zero-width joiners) would let it make them read differently from
/// what they hold; long text would flood them.
pub(crate) fn clean_server_text(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_control() || is_format(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let one_line = mapped.trim();
    match one_line.char_indices().nth(MAX_SERVER_TEXT) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line.to_string(),
    }
}

/// Unicode's format characters (general category Cf, Unicode 15) that can reorder or hide text
/// (the bidi embeddings, overrides and isolates, the zero-width characters, the BOM, the soft
/// hyphen, the tags), and the line and paragraph separators.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
        | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.kind.describe())?;
        if let Some(status) = self.0.status {
            write!(f, " (HTTP {status})")?;
        }
        if !self.0.detail.is_empty() {
            write!(f, ": {}", self.0.detail)?;
        }
        if let Some(message) = &self.0.concur_message {
            write!(f, ": Concur says \"{message}\"")?;
        }
        if let Some(id) = &self.0.error_id {
            write!(f, " [error id {id}]")?;
        }
        match (self.0.concur_code, &self.0.oauth_error) {
            (Some(code), Some(error)) => write!(f, " [code {code}, {error}]")?,
            (Some(code), None) => write!(f, " [code {code}]")?,
            (None, Some(error)) => write!(f, " [{error}]")?,
            (None, None) => {}
        }
        if let Some(id) = &self.0.correlation_id {
            write!(f, " [correlation id {id}]")?;
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
    fn bidi_and_zero_width_characters_are_blanked() {
        let e = Error::protocol("p").with_concur_error(Some("pay\u{202E}live.exe\u{200B}x"), None);
        assert_eq!(e.concur_message(), Some("pay live.exe x"));
        let e = Error::protocol("p").with_concur_error(
            Some("Call \u{202E}evil\u{202C} \u{2066}x\u{2069}\u{200B}y\u{FEFF}\u{2028}z\u{E0041}"),
            None,
        );
        assert_eq!(e.concur_message(), Some("Call  evil   x  y  z"));
    }

    #[test]
    fn display_names_code_error_and_correlation_id() {
        let e = Error::new(ErrorKind::Unauthorized, "refused")
            .with_status(400)
            .with_oauth2_error(
                Some(5),
                Some("invalid_grant"),
                Some("Incorrect Credentials"),
                None,
            )
            .with_correlation_id(Some("c0ffee"));
        assert_eq!(
            e.to_string(),
            "unauthorized (HTTP 400): refused: Concur says \"Incorrect Credentials\" [code 5, invalid_grant] [correlation id c0ffee]"
        );
        assert_eq!(
            (e.concur_code(), e.oauth_error()),
            (Some(5), Some("invalid_grant"))
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
