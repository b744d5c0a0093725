//! A whole answer of the current API's token endpoint (status, JSON body), as the client reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    concur_native::fuzzing::oauth2_answer(status, &data[2..]);
});
