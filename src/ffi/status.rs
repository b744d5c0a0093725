//! The status every C function returns.

use crate::error::ErrorKind;

/// The outcome of a call. Values are fixed for ever: new ones are added at the end, retired
/// ones are never reused. In C the type is a `uint32_t`, so unknown future values are safe to
/// receive; `concur_native_status_name` names them.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum concur_status {
    /// Success: every requested output was written.
    CONCUR_OK = 0,
    /// An argument was NULL where a value is required, not valid UTF-8, or unusable (empty
    /// consumer key, login ID with ':', a base URL that is not https, …). No request was sent.
    CONCUR_ERR_INVALID_ARGUMENT = 1,
    /// A token arrived but an output buffer was too small for its field. Every `len` holds the
    /// bytes its field needs (without the NUL); no buffer holds any part of the token.
    CONCUR_ERR_BUFFER_TOO_SMALL = 2,
    /// The exchange did not finish within the deadline.
    CONCUR_ERR_TIMEOUT = 3,
    /// No connection could be made to the host or the proxy.
    CONCUR_ERR_CONNECT = 4,
    /// The TLS handshake failed (untrusted or wrong-host certificate, old protocol, …).
    CONCUR_ERR_TLS = 5,
    /// Concur refused the credentials or the consumer key.
    CONCUR_ERR_UNAUTHORIZED = 6,
    /// Concur answered with another HTTP status (5xx, a redirect, 404, 429, …).
    CONCUR_ERR_HTTP_STATUS = 7,
    /// The answer was not a usable token document (malformed, too large, truncated, …).
    CONCUR_ERR_PROTOCOL = 8,
    /// A bug inside the library was caught at the boundary. Please report it.
    CONCUR_ERR_INTERNAL = 9,
    /// The token manager's store (a file, Redis, or the caller's callbacks) could not be read
    /// or written, or held something that is not a stored token. A token whose save failed is
    /// not handed out: its rotated refresh token would be lost.
    CONCUR_ERR_STORE = 10,
    /// The call needs an optional part of the library that this build was compiled without:
    /// a Cargo feature, named in the error message (`scripts/install-c.sh --features NAME`
    /// builds it in). Today only the `redis` feature: a `redis://` store in
    /// `concur_token_manager_new`. No request was sent and no store was touched.
    CONCUR_ERR_NOT_BUILT_IN = 11,
    /// A token vault holds no connection by that ID (never added, or removed). Nothing was
    /// sent.
    CONCUR_ERR_UNKNOWN_CONNECTION = 12,
}

impl concur_status {
    /// The status for an error class of the core.
    pub(crate) fn from_kind(kind: ErrorKind) -> concur_status {
        match kind {
            ErrorKind::InvalidArgument => concur_status::CONCUR_ERR_INVALID_ARGUMENT,
            ErrorKind::Unauthorized => concur_status::CONCUR_ERR_UNAUTHORIZED,
            ErrorKind::HttpStatus => concur_status::CONCUR_ERR_HTTP_STATUS,
            ErrorKind::Timeout => concur_status::CONCUR_ERR_TIMEOUT,
            ErrorKind::Connect => concur_status::CONCUR_ERR_CONNECT,
            ErrorKind::Tls => concur_status::CONCUR_ERR_TLS,
            ErrorKind::Protocol => concur_status::CONCUR_ERR_PROTOCOL,
            ErrorKind::Store => concur_status::CONCUR_ERR_STORE,
            ErrorKind::NotBuiltIn => concur_status::CONCUR_ERR_NOT_BUILT_IN,
            ErrorKind::UnknownConnection => concur_status::CONCUR_ERR_UNKNOWN_CONNECTION,
            // A class added to the core but not yet here must still come out as an error.
            #[allow(unreachable_patterns)]
            _ => concur_status::CONCUR_ERR_INTERNAL,
        }
    }

    /// The NUL-terminated name of a status value; values unknown to this version get a
    /// generic name rather than a crash.
    pub(crate) fn name(value: u32) -> &'static std::ffi::CStr {
        match value {
            0 => c"CONCUR_OK",
            1 => c"CONCUR_ERR_INVALID_ARGUMENT",
            2 => c"CONCUR_ERR_BUFFER_TOO_SMALL",
            3 => c"CONCUR_ERR_TIMEOUT",
            4 => c"CONCUR_ERR_CONNECT",
            5 => c"CONCUR_ERR_TLS",
            6 => c"CONCUR_ERR_UNAUTHORIZED",
            7 => c"CONCUR_ERR_HTTP_STATUS",
            8 => c"CONCUR_ERR_PROTOCOL",
            9 => c"CONCUR_ERR_INTERNAL",
            10 => c"CONCUR_ERR_STORE",
            11 => c"CONCUR_ERR_NOT_BUILT_IN",
            12 => c"CONCUR_ERR_UNKNOWN_CONNECTION",
            _ => c"CONCUR_UNKNOWN_STATUS",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_variants() {
        for status in [
            concur_status::CONCUR_OK,
            concur_status::CONCUR_ERR_INVALID_ARGUMENT,
            concur_status::CONCUR_ERR_BUFFER_TOO_SMALL,
            concur_status::CONCUR_ERR_TIMEOUT,
            concur_status::CONCUR_ERR_CONNECT,
            concur_status::CONCUR_ERR_TLS,
            concur_status::CONCUR_ERR_UNAUTHORIZED,
            concur_status::CONCUR_ERR_HTTP_STATUS,
            concur_status::CONCUR_ERR_PROTOCOL,
            concur_status::CONCUR_ERR_INTERNAL,
            concur_status::CONCUR_ERR_STORE,
            concur_status::CONCUR_ERR_NOT_BUILT_IN,
            concur_status::CONCUR_ERR_UNKNOWN_CONNECTION,
        ] {
            assert_eq!(
                concur_status::name(status as u32).to_str().unwrap(),
                format!("{status:?}")
            );
        }
        assert_eq!(concur_status::name(77).to_bytes(), b"CONCUR_UNKNOWN_STATUS");
    }
}
