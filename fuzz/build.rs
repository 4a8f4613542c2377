//! Compiles `src/inline_recording.c`: the recording functions of `autodiff_inline.h`,
//! which `c_api_sequences` calls beside the library's own.
fn main() {
    println!("cargo:rerun-if-changed=src/inline_recording.c");
    println!("cargo:rerun-if-changed=../include/autodiff_inline.h");
    println!("cargo:rerun-if-changed=../include/autodiff.h");
    cc::Build::new()
        .file("src/inline_recording.c")
        .include("../include")
        .std("c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("inline_recording");
}
