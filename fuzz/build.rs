//! Compiles `src/inline_recording.c`: the recording functions of `autodiff_inline.h`,
//! which `c_api_sequences` calls beside the library's own.
fn main() {
    println!("cargo:rerun-if-changed=src/inline_recording.c");
    println!("cargo:rerun-if-changed=../include/autodiff_inline.h");
    println!("cargo:rerun-if-changed=../include/autodiff.h");
    let mut build = cc::Build::new();
    // The fuzz build instruments the Rust code for AddressSanitizer (cargo-fuzz's
    // default); the C, whose stores go straight into the tape's memory, is instrumented
    // too, so that a store past that memory is reported where it happens.
    let sanitizers = std::env::var("CARGO_CFG_SANITIZE").unwrap_or_default();
    if sanitizers.split(',').any(|s| s == "address") {
        build.flag("-fsanitize=address");
    }
    build
        .file("src/inline_recording.c")
        .include("../include")
        .std("c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("inline_recording");
}
