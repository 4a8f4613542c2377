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
/// where the invocation writes `[name: *const Elem]` (or `*mut Elem`, or `*mut *mut Elem`
/// for an out-parameter that receives an array's address, or `*const (A | B)` for a
/// pointer to a per-dtype struct, `A` in the `f32` form and `B` in the `f64` one).
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
    // `[name: *const Elem]` or `*mut Elem`.
    (
        $(#[doc = $f32_doc:literal])*
        fn $f32_name:ident;
        $(#[doc = $f64_doc:literal])*
        fn $f64_name:ident;
        $(#[doc = $common_doc:literal])*
        ($($pre:ident: $pre_ty:ty,)* [$elems:ident: *$pointer:tt Elem] $(, $post:ident: $post_ty:ty)* $(,)?)
            -> $ret:ty $body:block
    ) => {
        float_entry_points! {
            @emit [$(#[doc = $f32_doc])*] $f32_name [$(#[doc = $f64_doc])*] $f64_name
            [$(#[doc = $common_doc])*] [$($pre: $pre_ty,)*] $elems
            [*$pointer f32] [*$pointer f64] [$(, $post: $post_ty)*] $ret $body
        }
    };
    // `[name: *mut *mut Elem]`: an out-parameter that receives an array's address.
    (
        $(#[doc = $f32_doc:literal])*
        fn $f32_name:ident;
        $(#[doc = $f64_doc:literal])*
        fn $f64_name:ident;
        $(#[doc = $common_doc:literal])*
        ($($pre:ident: $pre_ty:ty,)* [$elems:ident: *$outer:tt *$pointer:tt Elem] $(, $post:ident: $post_ty:ty)* $(,)?)
            -> $ret:ty $body:block
    ) => {
        float_entry_points! {
            @emit [$(#[doc = $f32_doc])*] $f32_name [$(#[doc = $f64_doc])*] $f64_name
            [$(#[doc = $common_doc])*] [$($pre: $pre_ty,)*] $elems
            [*$outer *$pointer f32] [*$outer *$pointer f64] [$(, $post: $post_ty)*] $ret $body
        }
    };
    // `[name: *const (F32Type | F64Type)]`: a pointer to a per-dtype struct, named for
    // each form.
    (
        $(#[doc = $f32_doc:literal])*
        fn $f32_name:ident;
        $(#[doc = $f64_doc:literal])*
        fn $f64_name:ident;
        $(#[doc = $common_doc:literal])*
        ($($pre:ident: $pre_ty:ty,)* [$elems:ident: *$pointer:tt ($f32_elem:ident | $f64_elem:ident)] $(, $post:ident: $post_ty:ty)* $(,)?)
            -> $ret:ty $body:block
    ) => {
        float_entry_points! {
            @emit [$(#[doc = $f32_doc])*] $f32_name [$(#[doc = $f64_doc])*] $f64_name
            [$(#[doc = $common_doc])*] [$($pre: $pre_ty,)*] $elems
            [*$pointer $f32_elem] [*$pointer $f64_elem] [$(, $post: $post_ty)*] $ret $body
        }
    };
    (
        @emit [$($f32_doc:tt)*] $f32_name:ident [$($f64_doc:tt)*] $f64_name:ident
        [$($common_doc:tt)*] [$($pre:tt)*] $elems:ident
        [$($f32_ty:tt)*] [$($f64_ty:tt)*] [$($post:tt)*] $ret:ty $body:block
    ) => {
        $($f32_doc)*
        $($common_doc)*
        #[no_mangle]
        pub unsafe extern "C" fn $f32_name($($pre)* $elems: $($f32_ty)* $($post)*) -> $ret $body

        $($f64_doc)*
        $($common_doc)*
        #[no_mangle]
        pub unsafe extern "C" fn $f64_name($($pre)* $elems: $($f64_ty)* $($post)*) -> $ret $body
    };
}
