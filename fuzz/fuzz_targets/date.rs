//! The expiry-date reader, on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    concur_native::fuzzing::date(text);
});
