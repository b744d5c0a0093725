//! The token/error document reader (XML and JSON), on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the declared content type, as the transport would pass it.
    let (kind, body) = data.split_first().unwrap_or((&0, data));
    let content_type = match kind % 3 {
        0 => None,
        1 => Some("text/xml; charset=utf-8"),
        _ => Some("application/json"),
    };
    concur_native::fuzzing::document(body, content_type);
});
