//! One source for the `AD_F32` and `AD_F64` forms of a C entry point.
//!
//! Many calls exist once per float dtype (`ad_tensor_value_f32` and `_f64`, ...), and
//! the two differ only in the element type of one pointer argument: the work is a
//! generic Rust function. [`float_entry_points!`] writes both `extern "C"` functions
//! from one body and one set of docs, so a fix lands in both.
//!
//! cbindgen does not expand macros by itself: `make header` runs it over the
//! macro-expanded crate (`[parse.expand]` in `ffi/cbindgen.toml`), so the header still
//! lists both functions with their documentation.

/// Defines an entry point twice, once taking `*const f32`/`*mut f32` and once `f64`
/// where the invocation writes `[name: *const Elem]` (or `*mut`).
///
/// ```ignore
/// float_entry_points! {
///     /// Docs of the `f32` form.
///     fn ad_thing_f32;
///     /// Docs of the `f64` form.
///     fn ad_thing_f64;
///     /// Docs both forms end with (may be empty).
///     (tape: *const ad_tape, [out: *mut Elem], len: usize) -> ad_status {
///         unsafe { generic_thing(tape, out, len) }
///     }
/// }
/// ```
macro_rules! float_entry_points {
    (
        $(#[doc = $f32_doc:literal])*
        fn $f32_name:ident;
        $(#[doc = $f64_doc:literal])*
        fn $f64_name:ident;
        $(#[doc = $common_doc:literal])*
        ($($pre:ident: $pre_ty:ty,)* [$elems:ident: *$pointer:tt Elem] $(, $post:ident: $post_ty:ty)* $(,)?)
            -> $ret:ty $body:block
    ) => {
        $(#[doc = $f32_doc])*
        $(#[doc = $common_doc])*
        #[no_mangle]
        pub unsafe extern "C" fn $f32_name(
            $($pre: $pre_ty,)* $elems: *$pointer f32 $(, $post: $post_ty)*
        ) -> $ret $body

        $(#[doc = $f64_doc])*
        $(#[doc = $common_doc])*
        #[no_mangle]
        pub unsafe extern "C" fn $f64_name(
            $($pre: $pre_ty,)* $elems: *$pointer f64 $(, $post: $post_ty)*
        ) -> $ret $body
    };
}
