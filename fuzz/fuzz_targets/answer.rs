//! A whole answer of a token endpoint (status, content type, body), as the client interprets it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let content_type = if status % 2 == 0 { Some("application/json") } else { None };
    concur_native::fuzzing::answer(status, content_type, &data[2..]);
});
