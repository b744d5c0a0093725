//! Callback URLs from the Web flow and App Center, with and without an expected state.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    concur_native::fuzzing::callback(text, None);
    concur_native::fuzzing::callback(text, Some("state"));
});
