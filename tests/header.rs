//! The committed `include/concur_native.h` is the one cbindgen generates from `src/ffi` (into
//! `OUT_DIR`, by build.rs). After changing the C ABI, regenerate it with
//! `CONCUR_NATIVE_UPDATE_HEADER=1 cargo test --test header` and commit it.

#[test]
fn the_committed_header_is_the_generated_one() {
    let generated = std::fs::read(env!("CONCUR_NATIVE_GENERATED_HEADER")).expect("generated");
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/concur_native.h");
    let committed = std::fs::read(committed_path).unwrap_or_default();
    if generated == committed {
        return;
    }
    if std::env::var_os("CONCUR_NATIVE_UPDATE_HEADER").is_some() {
        std::fs::write(committed_path, &generated).expect("include/ is writable");
        return;
    }
    panic!(
        "include/concur_native.h differs from the header generated from src/ffi: run \
         `CONCUR_NATIVE_UPDATE_HEADER=1 cargo test --test header` and commit the header"
    );
}
