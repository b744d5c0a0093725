//! Caller-owned output buffers: the only memory the library writes for a C caller.

use std::ffi::c_char;

/// One output field: `capacity` bytes at `data`, owned by the caller, and the length written
/// back by the library.
///
/// The library reads `data` and `capacity` and writes `len` (and the bytes at `data`).
/// A value of `n` bytes needs `capacity >= n + 1`: it is always NUL-terminated. A buffer with
/// `data == NULL` and `capacity == 0` means "I do not want this field": it is skipped, though
/// its `len` is still reported. `data == NULL` with a non-zero capacity is an invalid argument.
/// The output buffers of one call must be distinct memory: their `data` ranges must not share
/// a byte with each other or with the error buffer (that is an invalid argument, and nothing is
/// sent). They may hold the call's inputs, which are read before any output is written.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_buffer {
    /// Where the value goes; NULL (with `capacity` 0) to skip the field.
    pub data: *mut c_char,
    /// How many bytes `data` can hold, the terminating NUL included.
    pub capacity: usize,
    /// Written by the library: the value's length in bytes, without the NUL. After
    /// `CONCUR_ERR_BUFFER_TOO_SMALL`, the length the value needs; 0 after any other error.
    pub len: usize,
}

/// The outputs of `concur_native_token`. Fill in each buffer's `data` and `capacity`
/// (`CONCUR_NATIVE_RECOMMENDED_CAPACITY` bytes each is plenty; `CONCUR_NATIVE_MAX_FIELD_LEN + 1`
/// always suffices); the library writes the rest.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_token_buffers {
    /// The access token, for `Authorization: OAuth {token}` on later calls.
    pub token: concur_buffer,
    /// The refresh token; empty when the answer carried none.
    pub refresh_token: concur_buffer,
    /// The expiry exactly as Concur wrote it (`6/1/2014 8:00:00 AM`, UTC); may be empty.
    pub expiration_date: concur_buffer,
    /// The data-centre base URL for later calls; empty when the answer carried none.
    pub instance_url: concur_buffer,
    /// Written by the library: the expiry as Unix seconds (UTC), 0 when unknown or on failure.
    pub expires_at: i64,
    /// Written by the library: on failure, the HTTP status of Concur's answer, 0 when no answer
    /// arrived (and 0 on success).
    pub http_status: u32,
}

/// The outputs of `concur_client_oauth2_token`: a current-API (oauth2/v0) token and what came
/// with it. Set `struct_size` to `sizeof(concur_oauth2_token_buffers)` (or call
/// `concur_oauth2_token_buffers_init`), then each wanted buffer's `data` and `capacity`; the
/// library writes the rest. The nine buffers are all-or-nothing, as for `concur_token_buffers`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct concur_oauth2_token_buffers {
    /// `sizeof(concur_oauth2_token_buffers)` as the caller was compiled with it; 0 is refused.
    pub struct_size: u32,
    /// The access token, for `Authorization: Bearer {access_token}`.
    pub access_token: concur_buffer,
    /// The token type Concur named (`Bearer`).
    pub token_type: concur_buffer,
    /// The refresh token (after a refresh, the one to store from now on: Concur may rotate
    /// it); empty for `client_credentials`.
    pub refresh_token: concur_buffer,
    /// The granted scopes, space separated; may be empty.
    pub scope: concur_buffer,
    /// The base URL of the user's (or company's) data centre, already checked as trusted: pass
    /// it as `host` to refreshes and later calls.
    pub geolocation: concur_buffer,
    /// The id_token (a JWT); empty for `client_credentials`.
    pub id_token: concur_buffer,
    /// The id_token's `sub` claim (the user's or company's UUID), read without verifying the
    /// signature; may be empty.
    pub subject: concur_buffer,
    /// The id_token's `concur.type` claim (`user` or `company`), read without verifying the
    /// signature; may be empty.
    pub principal_type: concur_buffer,
    /// The `concur-correlationid` of the exchange.
    pub correlation_id: concur_buffer,
    /// Written by the library: when the access token expires, as Unix seconds; 0 when unknown
    /// or on failure.
    pub expires_at: i64,
    /// Written by the library: when the refresh token expires, as Unix seconds; 0 when unknown
    /// or on failure.
    pub refresh_expires_at: i64,
    /// Written by the library: on failure, the HTTP status of Concur's answer, 0 when no answer
    /// arrived (and 0 on success).
    pub http_status: u16,
}

impl concur_oauth2_token_buffers {
    /// The buffers, named for messages, in field order.
    pub(crate) fn buffers(&mut self) -> [(&'static str, &mut concur_buffer); 9] {
        [
            ("out->access_token", &mut self.access_token),
            ("out->token_type", &mut self.token_type),
            ("out->refresh_token", &mut self.refresh_token),
            ("out->scope", &mut self.scope),
            ("out->geolocation", &mut self.geolocation),
            ("out->id_token", &mut self.id_token),
            ("out->subject", &mut self.subject),
            ("out->principal_type", &mut self.principal_type),
            ("out->correlation_id", &mut self.correlation_id),
        ]
    }
}

impl concur_buffer {
    pub(crate) fn is_skipped(&self) -> bool {
        self.data.is_null() && self.capacity == 0
    }

    pub(crate) fn is_malformed(&self) -> bool {
        self.data.is_null() && self.capacity != 0
    }

    /// The addresses `data` spans, `[start, end)`; `None` for a buffer that spans nothing.
    fn span(&self) -> Option<(usize, usize)> {
        span(self.data, self.capacity)
    }

    /// Whether the two buffers' bytes overlap, so that writing one would change the other.
    pub(crate) fn overlaps(&self, other: &concur_buffer) -> bool {
        overlap(self.span(), other.span())
    }

    /// Whether the buffer's bytes overlap the `capacity` bytes at `other`.
    pub(crate) fn overlaps_bytes(&self, other: *const c_char, capacity: usize) -> bool {
        overlap(self.span(), span(other, capacity))
    }

    pub(crate) fn fits(&self, value: &[u8]) -> bool {
        self.is_skipped() || value.len() < self.capacity
    }

    /// Empties the buffer: `len` 0 and, where there is room, a lone NUL.
    ///
    /// # Safety
    /// `data` must be NULL or point to `capacity` writable bytes.
    pub(crate) unsafe fn clear(&mut self) {
        self.len = 0;
        if !self.data.is_null() && self.capacity > 0 {
            // SAFETY: the caller promises `capacity` (> 0) writable bytes at `data`.
            unsafe { *self.data = 0 };
        }
    }

    /// Writes `value` and its NUL. The caller has checked `fits`.
    ///
    /// # Safety
    /// `data` must be NULL or point to `capacity` writable bytes, and `fits(value)` must hold.
    pub(crate) unsafe fn write(&mut self, value: &[u8]) {
        self.len = value.len();
        if self.is_skipped() {
            return;
        }
        debug_assert!(value.len() < self.capacity);
        // SAFETY: `value.len() + 1 <= capacity` bytes are writable at `data`, and a caller's
        // buffer cannot overlap a value the library owns.
        unsafe {
            std::ptr::copy_nonoverlapping(value.as_ptr(), self.data.cast::<u8>(), value.len());
            *self.data.add(value.len()) = 0;
        }
    }
}

fn span(data: *const c_char, capacity: usize) -> Option<(usize, usize)> {
    let start = data as usize;
    (start != 0 && capacity != 0).then(|| (start, start.saturating_add(capacity)))
}

fn overlap(a: Option<(usize, usize)>, b: Option<(usize, usize)>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.0 < b.1 && b.0 < a.1)
}

/// Writes a message into a caller's error buffer: truncated at a UTF-8 character boundary if it
/// must be, always NUL-terminated when `capacity > 0`, never a byte past `capacity`.
///
/// # Safety
/// `buffer` must be NULL or point to `capacity` writable bytes.
pub(crate) unsafe fn write_message(buffer: *mut c_char, capacity: usize, message: &str) {
    if buffer.is_null() || capacity == 0 {
        return;
    }
    let mut end = message.len().min(capacity - 1);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    // SAFETY: `end + 1 <= capacity` bytes are writable at `buffer`.
    unsafe {
        std::ptr::copy_nonoverlapping(message.as_ptr(), buffer.cast::<u8>(), end);
        *buffer.add(end) = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_into(capacity: usize, message: &str) -> Vec<u8> {
        let mut storage = vec![0xAAu8; capacity + 4];
        unsafe { write_message(storage.as_mut_ptr().cast(), capacity, message) };
        assert!(
            storage[capacity..].iter().all(|&b| b == 0xAA),
            "wrote past capacity"
        );
        storage.truncate(capacity);
        storage
    }

    #[test]
    fn messages_truncate_on_character_boundaries() {
        assert_eq!(message_into(6, "abc"), b"abc\0\xAA\xAA");
        assert_eq!(message_into(4, "abc"), b"abc\0");
        assert_eq!(message_into(3, "abc"), b"ab\0");
        assert_eq!(message_into(1, "abc"), b"\0");
        assert_eq!(message_into(0, "abc"), b"");
        // 'é' is two bytes: never split it.
        assert_eq!(message_into(3, "aé"), b"a\0\xAA");
    }

    #[test]
    fn buffers_hold_value_and_nul_or_nothing() {
        let mut storage = [0xAAu8; 8];
        let mut b = concur_buffer {
            data: storage.as_mut_ptr().cast(),
            capacity: 4,
            len: 99,
        };
        assert!(b.fits(b"abc"));
        assert!(!b.fits(b"abcd"));
        unsafe { b.write(b"abc") };
        assert_eq!((&storage[..5], b.len), (&b"abc\0\xAA"[..], 3));
        unsafe { b.clear() };
        assert_eq!((storage[0], b.len), (0, 0));

        let skipped = concur_buffer {
            data: std::ptr::null_mut(),
            capacity: 0,
            len: 0,
        };
        assert!(skipped.is_skipped() && skipped.fits(b"anything"));
        let malformed = concur_buffer {
            data: std::ptr::null_mut(),
            capacity: 3,
            len: 0,
        };
        assert!(malformed.is_malformed());
    }

    #[test]
    fn overlap_is_about_bytes() {
        let mut storage = [0u8; 16];
        let base: *mut c_char = storage.as_mut_ptr().cast();
        let at = |offset: usize, capacity: usize| concur_buffer {
            data: base.wrapping_add(offset),
            capacity,
            len: 0,
        };
        assert!(at(0, 8).overlaps(&at(7, 4)));
        assert!(at(7, 4).overlaps(&at(0, 8)));
        assert!(!at(0, 8).overlaps(&at(8, 4)));
        assert!(!at(0, 8).overlaps(&at(4, 0)));
        let skipped = concur_buffer {
            data: std::ptr::null_mut(),
            capacity: 0,
            len: 0,
        };
        assert!(!skipped.overlaps(&skipped));
        let error: *const c_char = base.wrapping_add(2);
        assert!(at(0, 3).overlaps_bytes(error, 1));
        assert!(!at(0, 2).overlaps_bytes(error, 8));
        assert!(!at(0, 8).overlaps_bytes(error, 0));
    }
}
