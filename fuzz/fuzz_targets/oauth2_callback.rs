//! Callback URLs of the current API's authorization-code flow, with and without a state.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    concur_native::fuzzing::oauth2_callback(text, None);
    concur_native::fuzzing::oauth2_callback(text, Some("state"));
});
