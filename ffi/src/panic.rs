//! The panic boundary.
//!
//! Unwinding out of an `extern "C"` function aborts the host, so every exported function
//! runs its body inside `ffi_boundary!`, which turns a panic into a fallback value
//! (`AD_ERR_PANIC` for functions returning a status). The core never panics by design;
//! this is the last line of defence, and `ad_debug_panic_for_test` proves it works in
//! the shipped library.
//!
//! The library is built with the `ffi` cargo profile, which unwinds; under a profile
//! with `panic = "abort"` the boundary compiles but a panic aborts.

use crate::error::ad_status;

/// Runs `$body` and yields its value, or `$fallback` if it panicked.
macro_rules! ffi_boundary {
    ($fallback:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $fallback,
        }
    };
}

/// Panics inside the boundary and so returns `AD_ERR_PANIC`: a test hook that proves a
/// panic never crosses into C. It is exported by every build but left out of the public
/// header; tests declare it themselves. It touches no state.
/// cbindgen:ignore
#[no_mangle]
pub extern "C" fn ad_debug_panic_for_test() -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        std::panic::panic_any("ad_debug_panic_for_test: deliberate panic")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_the_boundary_becomes_the_fallback() {
        assert_eq!(ad_debug_panic_for_test(), ad_status::AD_ERR_PANIC);
        let value: i32 = ffi_boundary!(-1, { 7 });
        assert_eq!(value, 7);
    }
}
