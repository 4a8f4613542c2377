//! Version numbers, at compile time (`AD_VERSION_*` macros) and at run time.
//!
//! The macros are literals because cbindgen copies constants into the header without
//! evaluating them; the assertions below refuse to compile when they drift from
//! `Cargo.toml`.

use core::ffi::c_char;

/// The major version of the library this header belongs to.
pub const AD_VERSION_MAJOR: u32 = 0;
/// The minor version of the library this header belongs to.
pub const AD_VERSION_MINOR: u32 = 2;
/// The patch version of the library this header belongs to.
pub const AD_VERSION_PATCH: u32 = 0;

/// The ABI version of the library this header belongs to; see `ad_abi_version()`.
pub const AD_ABI_VERSION: u32 = 1;

/// Parses a decimal `u32` at compile time (the `env!` strings of cargo's version parts).
const fn parse_u32(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let mut value = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        assert!(bytes[i].is_ascii_digit(), "version part is not a number");
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}

const _: () = assert!(AD_VERSION_MAJOR == parse_u32(env!("CARGO_PKG_VERSION_MAJOR")));
const _: () = assert!(AD_VERSION_MINOR == parse_u32(env!("CARGO_PKG_VERSION_MINOR")));
const _: () = assert!(AD_VERSION_PATCH == parse_u32(env!("CARGO_PKG_VERSION_PATCH")));

/// The library's version as "MAJOR.MINOR.PATCH", e.g. "0.1.0". The string is static:
/// never free it. Compare with the `AD_VERSION_*` macros to see whether the library
/// loaded at run time is the one the host was compiled against.
#[no_mangle]
pub extern "C" fn ad_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    ffi_boundary!(VERSION.as_ptr().cast(), { VERSION.as_ptr().cast() })
}

/// The ABI version of the loaded library. A host compiled against this header should
/// refuse to run when `ad_abi_version() != AD_ABI_VERSION`.
///
/// Policy: the ABI version is the number in the soname (`libautodiff.so.<ABI>`). It goes
/// up whenever a change could break a host compiled against an older header: a function
/// removed or its signature changed, a struct's layout changed, an enum value
/// renumbered. Adding functions, or appending new status codes or dtypes, does not
/// change it.
#[no_mangle]
pub extern "C" fn ad_abi_version() -> u32 {
    ffi_boundary!(AD_ABI_VERSION, { AD_ABI_VERSION })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    #[test]
    fn version_string_matches_the_macros() {
        // SAFETY: `ad_version` returns a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(ad_version()) }.to_str().unwrap();
        let expected = format!("{AD_VERSION_MAJOR}.{AD_VERSION_MINOR}.{AD_VERSION_PATCH}");
        assert_eq!(text, expected);
    }

    #[test]
    fn abi_version_is_the_soname_number() {
        let build = include_str!("../build.rs");
        assert!(build.contains(&format!("const ABI_VERSION: u32 = {AD_ABI_VERSION};")));
        assert_eq!(ad_abi_version(), AD_ABI_VERSION);
    }
}
