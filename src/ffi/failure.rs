//! The failure value every export carries back to its boundary: the status, the message for
//! the error buffer and what `concur_error_details` reports. It sits below the modules that
//! read arguments (`args`, `extensible`) and those that write outputs, which all produce it.

use super::status::concur_status;
use crate::Error;

/// A failure on its way to the caller: the status, the message for the error buffer, the
/// HTTP status for the outputs that report one, and the core's error (Concur's code, OAuth
/// error, geolocation, correlation id) for `concur_error_details`.
pub(crate) struct Failure {
    pub(crate) status: concur_status,
    pub(crate) message: String,
    pub(crate) http_status: u32,
    pub(crate) error: Option<Error>,
    /// The exchange's correlation id when the failure came after an answer but is not the
    /// core's (a token too large for its buffers).
    pub(crate) correlation_id: Option<String>,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure {
            status: concur_status::from_kind(e.kind()),
            message: e.to_string(),
            http_status: e.status().map_or(0, u32::from),
            error: Some(e),
            correlation_id: None,
        }
    }
}

impl Failure {
    /// A failure of the library's own, with no answer behind it.
    pub(crate) fn new(status: concur_status, message: String) -> Failure {
        Failure {
            status,
            message,
            http_status: 0,
            error: None,
            correlation_id: None,
        }
    }
}

/// A `CONCUR_ERR_INVALID_ARGUMENT` failure: "invalid argument: " and `message`.
pub(crate) fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(
        concur_status::CONCUR_ERR_INVALID_ARGUMENT,
        format!("invalid argument: {}", message.into()),
    )
}
