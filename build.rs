//! Generates the C header from `src/ffi` with cbindgen into `OUT_DIR` (a build script writes
//! nowhere else), and tells the tests which target they compile for and where the generated
//! header is: `tests/header.rs` fails when the committed `include/concur_native.h` differs.

use std::path::Path;

/// The folder cbindgen reads: the C ABI, and nothing else.
const FFI_DIR: &str = "src/ffi";

fn main() {
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed={FFI_DIR}");
    // The C tests compile with the same compiler and flags cargo uses for this target.
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=CONCUR_NATIVE_TARGET={target}");

    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&dir);
    let mut config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml is readable");
    let version = |part: &str| std::env::var(format!("CARGO_PKG_VERSION_{part}")).expect("set");
    config.after_includes = Some(format!(
        "\n/** The version this header belongs to; compare with concur_native_version() at run time. */\n\
         #define CONCUR_NATIVE_VERSION_MAJOR {}\n#define CONCUR_NATIVE_VERSION_MINOR {}\n\
         #define CONCUR_NATIVE_VERSION_PATCH {}",
        version("MAJOR"),
        version("MINOR"),
        version("PATCH")
    ));
    // cbindgen follows the `mod` declarations of src/ffi/mod.rs to the other files.
    let builder = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join(FFI_DIR).join("mod.rs"));
    for entry in std::fs::read_dir(dir.join(FFI_DIR)).expect("src/ffi is readable") {
        println!(
            "cargo:rerun-if-changed={}",
            entry.expect("src/ffi entry").path().display()
        );
    }
    let bindings = builder.generate().expect("cbindgen can read src/ffi");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let path = out.join("concur_native.h");
    // Written only on change, so that an unchanged header keeps its timestamp.
    if std::fs::read(&path).ok().as_deref() != Some(generated.as_slice()) {
        std::fs::write(&path, &generated).expect("OUT_DIR is writable");
    }
    println!(
        "cargo:rustc-env=CONCUR_NATIVE_GENERATED_HEADER={}",
        path.display()
    );
}
