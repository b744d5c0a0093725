//! Generates `include/concur_native.h` from `src/ffi` with cbindgen, and tells the C tests which
//! target they compile for.

use std::path::Path;

/// The folder cbindgen reads: the C ABI, and nothing else.
const FFI_DIR: &str = "src/ffi";
const HEADER: &str = "include/concur_native.h";

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
    // Write only on change: an unchanged header keeps its timestamp, and a read-only source
    // tree (a packaged crate) is never touched.
    let path = dir.join(HEADER);
    if std::fs::read(&path).ok().as_deref() != Some(generated.as_slice()) {
        std::fs::create_dir_all(path.parent().expect("include/")).expect("include/ can be made");
        std::fs::write(&path, &generated).expect("the header can be written");
    }
}
