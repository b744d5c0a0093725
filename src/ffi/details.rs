//! `concur_error_details`: what Concur said about a failure, for the current API's functions.

use super::buffers::concur_buffer;
use super::failure::Failure;

/// What a failed call learnt beyond its status: the HTTP status, Concur's numeric code, the
/// OAuth `error`, the geolocation Concur named, and the `concur-correlationid` (quote it to
/// Concur support). An optional last-but-two argument of every current-API function: NULL
/// when not wanted.
///
/// Set `struct_size` to `sizeof(concur_error_details)` (or call `concur_error_details_init`)
/// and the buffers you want. The library fills it on failure and empties it on success, except
/// `correlation_id`, which is filled both ways when known. The details never change the
/// status: a buffer too small for its value is left empty with `len` set to the length needed.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_error_details {
    /// `sizeof(concur_error_details)` as the caller was compiled with it; 0 is refused.
    pub struct_size: u32,
    /// The HTTP status of Concur's answer; 0 when none arrived.
    pub http_status: u16,
    /// 1 when Concur's answer carried a numeric `code` (then in `concur_code`), else 0.
    pub has_concur_code: i32,
    /// Concur's numeric code (5 wrong credentials, 14 account locked, 16 the user lives in
    /// another data centre, 108 bad or expired refresh token, …) when `has_concur_code`.
    pub concur_code: i64,
    /// The OAuth `error` (`invalid_grant`, …) or the migration call's word code; may be empty.
    pub oauth_error: concur_buffer,
    /// The geolocation Concur's error named (code 16), as sent and not checked; may be empty.
    pub geolocation: concur_buffer,
    /// The `concur-correlationid` of the exchange (the server's, else the one sent).
    pub correlation_id: concur_buffer,
}

impl concur_error_details {
    /// The buffers, named for messages.
    pub(crate) fn buffers(&mut self) -> [(&'static str, &mut concur_buffer); 3] {
        [
            ("details->oauth_error", &mut self.oauth_error),
            ("details->geolocation", &mut self.geolocation),
            ("details->correlation_id", &mut self.correlation_id),
        ]
    }

    /// Empties every field.
    ///
    /// # Safety
    /// Each buffer's `data` must be NULL or hold `capacity` writable bytes.
    pub(crate) unsafe fn clear(&mut self) {
        self.http_status = 0;
        self.has_concur_code = 0;
        self.concur_code = 0;
        for (_, buffer) in self.buffers() {
            // SAFETY: forwarded from the caller.
            unsafe { buffer.clear() };
        }
    }

    /// Records a call's outcome: a failure's fields, or only the correlation id on success.
    ///
    /// # Safety
    /// As for [`clear`](Self::clear).
    pub(crate) unsafe fn record(&mut self, outcome: Result<Option<&str>, &Failure>) {
        // SAFETY (all): forwarded from the caller.
        unsafe {
            self.clear();
            match outcome {
                Ok(correlation_id) => put(&mut self.correlation_id, correlation_id),
                Err(failure) => {
                    self.http_status = u16::try_from(failure.http_status).unwrap_or(0);
                    let error = failure.error.as_ref();
                    if let Some(code) = error.and_then(|e| e.concur_code()) {
                        self.has_concur_code = 1;
                        self.concur_code = code;
                    }
                    put(&mut self.oauth_error, error.and_then(|e| e.oauth_error()));
                    put(&mut self.geolocation, error.and_then(|e| e.geolocation()));
                    let correlation_id = error
                        .and_then(|e| e.correlation_id())
                        .or(failure.correlation_id.as_deref());
                    put(&mut self.correlation_id, correlation_id);
                }
            }
        }
    }
}

/// Writes a value when it fits, else only its length (the buffer stays empty).
///
/// # Safety
/// `buffer.data` must be NULL or hold `capacity` writable bytes.
unsafe fn put(buffer: &mut concur_buffer, value: Option<&str>) {
    let value = value.unwrap_or("").as_bytes();
    if buffer.fits(value) {
        // SAFETY: it fits; valid by the caller's promise.
        unsafe { buffer.write(value) };
    } else {
        buffer.len = value.len();
    }
}
