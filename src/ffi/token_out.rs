//! Writing results into caller-owned buffers: all fields or none.

use std::ffi::c_char;

use super::boundary::boundary;
use super::buffers::{concur_buffer, concur_token_buffers};
use super::failure::{Failure, invalid};
use super::status::concur_status;
use crate::Token;

/// Refuses, before anything is sent, buffers with a NULL `data` and a capacity, and output
/// buffers whose bytes overlap each other or the error buffer (`error_message`,
/// `error_capacity`): one value would overwrite another.
pub(crate) fn check_buffers<'a>(
    buffers: impl IntoIterator<Item = (&'a str, &'a concur_buffer)>,
    error_message: *const c_char,
    error_capacity: usize,
) -> Result<(), Failure> {
    let buffers: Vec<_> = buffers.into_iter().collect();
    for (i, &(name, buffer)) in buffers.iter().enumerate() {
        if buffer.is_malformed() {
            return Err(invalid(format!(
                "{name}.data is NULL with a non-zero capacity"
            )));
        }
        if let Some((other, _)) = buffers[..i].iter().find(|(_, b)| b.overlaps(buffer)) {
            return Err(invalid(format!(
                "{other} and {name} overlap: output buffers must be distinct memory"
            )));
        }
        if buffer.overlaps_bytes(error_message, error_capacity) {
            return Err(invalid(format!(
                "{name} overlaps error_message: output buffers must be distinct memory"
            )));
        }
    }
    Ok(())
}

/// Writes every value into its buffer, or, when one does not fit, none of them: then each
/// `len` says what its field needs and the status is `CONCUR_ERR_BUFFER_TOO_SMALL`.
///
/// # Safety
/// Every buffer must be NULL or point to its `capacity` writable bytes.
pub(crate) unsafe fn deliver(
    fields: &mut [(&str, &mut concur_buffer, &[u8])],
) -> Result<(), Failure> {
    let too_small: Vec<String> = fields
        .iter()
        .filter(|(_, buffer, value)| !buffer.fits(value))
        .map(|(name, buffer, value)| {
            format!(
                "{name} needs {} bytes (capacity {})",
                value.len() + 1,
                buffer.capacity
            )
        })
        .collect();
    if !too_small.is_empty() {
        for (_, buffer, value) in fields.iter_mut() {
            buffer.len = value.len();
        }
        return Err(Failure::new(
            concur_status::CONCUR_ERR_BUFFER_TOO_SMALL,
            format!("buffer too small: {}", too_small.join(", ")),
        ));
    }
    for (_, buffer, value) in fields.iter_mut() {
        // SAFETY: every value fits (checked above); the buffers are valid by the caller's
        // promise.
        unsafe { buffer.write(value) };
    }
    Ok(())
}

/// Empties every buffer, so that a failure leaves nothing of a secret behind.
///
/// # Safety
/// Every buffer must be NULL or point to its `capacity` writable bytes; `clear` writes nothing
/// through a NULL `data`.
pub(crate) unsafe fn clear<'a>(buffers: impl IntoIterator<Item = &'a mut concur_buffer>) {
    for buffer in buffers {
        // SAFETY: forwarded from the caller.
        unsafe { buffer.clear() };
    }
}

fn token_buffers(out: &mut concur_token_buffers) -> [(&'static str, &mut concur_buffer); 4] {
    [
        ("out->token", &mut out.token),
        ("out->refresh_token", &mut out.refresh_token),
        ("out->expiration_date", &mut out.expiration_date),
        ("out->instance_url", &mut out.instance_url),
    ]
}

/// The shape shared by every export that returns a token: read (copy) the inputs, empty the
/// outputs, check them, get the token, write it (all fields or none), and report the HTTP
/// status of a failed answer.
///
/// `read` runs first, before any output is touched, and returns the call to make: an input
/// may live in an output buffer (the refresh token in `out->refresh_token`, refreshed in
/// place), so inputs must be copied out before the outputs are cleared.
///
/// # Safety
/// `out` must be NULL or point to a valid `concur_token_buffers` whose buffers are NULL or
/// point to `capacity` writable bytes; `error_message` must be NULL or point to
/// `error_capacity` writable bytes.
pub(crate) unsafe fn token_export<Call>(
    out: *mut concur_token_buffers,
    error_message: *mut c_char,
    error_capacity: usize,
    read: impl FnOnce() -> Result<Call, Failure>,
) -> concur_status
where
    Call: FnOnce() -> Result<Token, Failure>,
{
    // SAFETY: forwarded from the caller.
    unsafe {
        boundary(error_message, error_capacity, || {
            let Some(out) = out.as_mut() else {
                return Err(invalid("out is NULL"));
            };
            let call = read();
            clear(token_buffers(out).into_iter().map(|(_, b)| b));
            out.expires_at = 0;
            out.http_status = 0;
            let result = check_buffers(
                token_buffers(out).iter().map(|(n, b)| (*n, &**b)),
                error_message,
                error_capacity,
            )
            .and(call)
            .and_then(|call| call())
            .and_then(|token| {
                let values = [
                    token.token().as_bytes(),
                    token.refresh_token().unwrap_or("").as_bytes(),
                    token.expiration_date().unwrap_or("").as_bytes(),
                    token.instance_url().unwrap_or("").as_bytes(),
                ];
                let mut fields: Vec<_> = token_buffers(out)
                    .into_iter()
                    .zip(values)
                    .map(|((name, buffer), value)| (name, buffer, value))
                    .collect();
                deliver(&mut fields)?;
                out.expires_at = token.expires_at().unwrap_or(0);
                Ok(())
            });
            if let Err(failure) = &result {
                out.http_status = failure.http_status;
            }
            result
        })
    }
}

/// The whole body of an export that writes a URL and the state it carries (the Web flow's and
/// the current API's authorize URLs): refuses a NULL or shared output, copies the inputs before
/// the outputs are cleared (an input may live in an output buffer), checks the buffers, then
/// writes both values or neither. `build` gets the copied inputs and returns `(url, state)`.
///
/// # Safety
/// `url` and `state_out` NULL or valid; `error_message` NULL or `error_capacity` writable bytes.
pub(crate) unsafe fn url_and_state<I>(
    url: *mut concur_buffer,
    state_out: *mut concur_buffer,
    error_message: *mut c_char,
    error_capacity: usize,
    copy_inputs: impl FnOnce() -> Result<I, Failure>,
    build: impl FnOnce(I) -> Result<(String, String), Failure>,
) -> concur_status {
    // SAFETY (all): pointers are NULL or valid by the caller's promise.
    unsafe {
        boundary(error_message, error_capacity, || {
            // One buffer given twice would be two live `&mut` to it: refuse before making them.
            if std::ptr::eq(url, state_out) && !url.is_null() {
                return Err(invalid(
                    "url and state_out are the same buffer: output buffers must be distinct",
                ));
            }
            let (Some(url), Some(state_out)) = (url.as_mut(), state_out.as_mut()) else {
                return Err(invalid("url or state_out is NULL"));
            };
            let inputs = copy_inputs();
            clear([&mut *url, &mut *state_out]);
            check_buffers(
                [("url", &*url), ("state_out", &*state_out)],
                error_message,
                error_capacity,
            )?;
            let (built_url, state) = build(inputs?)?;
            deliver(&mut [
                ("url", url, built_url.as_bytes()),
                ("state_out", state_out, state.as_bytes()),
            ])
        })
    }
}
