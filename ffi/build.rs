//! Gives the shared library its soname, so that hosts record `libautodiff.so.<ABI>` and
//! a library with an incompatible ABI is never picked up by the loader.

/// Must equal `version::AD_ABI_VERSION`; `make test` checks the built library with readelf.
const ABI_VERSION: u32 = 1;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libautodiff.so.{ABI_VERSION}");
    }
}
