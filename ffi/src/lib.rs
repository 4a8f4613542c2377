//! `autodiff-ffi`: the C ABI of libautodiff.
//!
//! A thin shell over `autodiff-core`: each module is one family of C objects and holds no
//! differentiation logic of its own. `include/autodiff.h` is generated from these
//! signatures and doc comments by cbindgen (see `cbindgen.toml`), so the comments here
//! are written for a C reader.
//!
//! Infrastructure: [`panic`] holds the `catch_unwind` boundary every export goes through,
//! [`ptr`] the checks on C pointers.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]
// Every exported function is `unsafe extern "C"`; the pointer contract they share is
// stated once, in the header's preamble, rather than on each function.
#![allow(clippy::missing_safety_doc)]

#[macro_use]
pub mod panic;
#[macro_use]
pub mod tape;
#[macro_use]
pub mod tensor;
pub mod checkpoint;
pub mod compute_device;
pub mod derivatives;
pub mod device;
pub mod dual;
pub mod error;
pub mod optim;
pub mod param;
pub mod ptr;
pub mod sparse;
pub mod var;
pub mod vector_modes;
pub mod version;
