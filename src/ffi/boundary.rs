//! The edge every export goes through: panics caught, the status returned, the message written.

use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::buffers::write_message;
use super::failure::Failure;
use super::status::concur_status;

/// Runs `body`, turning a panic into `CONCUR_ERR_INTERNAL`, and writes the outcome's message
/// into the caller's error buffer (an empty string on success).
///
/// # Safety
/// `error_message` must be NULL or point to `error_capacity` writable bytes.
pub(crate) unsafe fn boundary(
    error_message: *mut c_char,
    error_capacity: usize,
    body: impl FnOnce() -> Result<(), Failure>,
) -> concur_status {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        Err(Failure::new(
            concur_status::CONCUR_ERR_INTERNAL,
            "internal error: a bug in concur-native was caught; please report it".to_string(),
        ))
    });
    let (status, message) = match outcome {
        Ok(()) => (concur_status::CONCUR_OK, String::new()),
        Err(failure) => (failure.status, failure.message),
    };
    // SAFETY: forwarded from the caller.
    unsafe { write_message(error_message, error_capacity, &message) };
    status
}
