//! `autodiff-ffi`: the C ABI of libautodiff.
//!
//! A thin shell over `autodiff-core`: each module is one family of C objects and holds no
//! differentiation logic of its own. `include/autodiff.h` is generated from these
//! signatures and doc comments by cbindgen (see `cbindgen.toml`), so the comments here
//! are written for a C reader.
//!
//! Infrastructure: [`panic`](mod@panic) holds the `catch_unwind` boundary every export
//! goes through, [`ptr`] the checks on C pointers.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]
// Every exported function is `unsafe extern "C"`; the pointer contract they share is
// stated once, in the header's preamble, rather than on each function.
#![allow(clippy::missing_safety_doc)]

#[macro_use]
mod float_pair;
#[macro_use]
pub mod panic;
#[macro_use]
pub mod tape;
#[macro_use]
pub mod tensor;
mod c_buffer;
pub mod checkpoint;
pub mod codegen;
pub mod compare;
pub mod derivatives;
pub mod device;
mod device_object;
pub mod dual;
pub mod error;
pub mod gpu_query;
pub mod group_ready;
pub mod image;
pub mod optim;
pub mod optim_state;
pub mod param;
pub mod param_group;
pub mod ptr;
pub mod sparse;
pub mod user_op;
pub mod var;
pub mod vector_modes;
pub mod version;
pub mod view;
