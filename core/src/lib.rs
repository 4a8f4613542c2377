//! `autodiff-core`: automatic differentiation with no heap and no `std`.
//!
//! Every byte comes from memory the caller hands in. The modules form layers, and each
//! imports only from layers below it (`tests/layers/check_modules.py`, run by `make
//! lint`, fails on an import that closes a cycle):
//!
//! 1. numbers, errors and op rules: [`Real`], [`Error`], [`Shape`], [`Op`]; the
//!    [`kernels`] (GEMM, vectorised elementwise loops), which know only numbers;
//! 2. dual numbers and the arena: [`Dual`], [`DualN`], [`Arena`];
//! 3. the tape: [`Tape`], [`Var`], and the extension records layers above it add;
//! 4. [`checkpoint`]ing: segments, chains and their schedules, over the tape. Segments
//!    keep tensor outputs without naming tensors: they ask through
//!    [`checkpoint::segment::SegmentElement`], which the tensor layer implements;
//! 5. [`tensor`]s: ops, parameters, optimizers and compute devices.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

mod arena;
pub mod checkpoint;
pub mod codegen;
mod dual;
mod dual_n;
mod error;
mod exp_f64;
pub mod image;
pub mod kernels;
mod ln_f64;
#[cfg(test)]
mod math_test_support;
mod op;
mod portable;
mod pow_f64;
mod real;
mod shape;
pub mod sparse;
mod tape;
pub mod tensor;

pub use arena::{Arena, Mark};
pub use dual::Dual;
pub use dual_n::DualN;
pub use error::{Error, Result};
pub use op::{Arity, Op};
pub use portable::PortableFloat;
pub use real::Real;
pub use shape::{Shape, MAX_RANK};
pub use tape::{
    Cmp, Gradients, GrowFn, GrowthHooks, RecordCursor, RecordGrowth, Tape, UserOp, UserOpPoint,
    Var, VarId, MAX_BLOCK_DEPTH, MAX_RECORDS,
};
pub use tensor::{
    Activation, Adam, Buffer, DeviceId, Float, Optimizer, ParamGroup, ParamId, Sgd, Tensor,
    TensorArgs, TensorArgsMut, TensorDevice, TensorId, TensorUserOp, TensorUserOpPoint, UserTensor,
};

/// The Rust examples of the repository's README, compiled and run as doctests so that
/// they cannot drift from the API (`make docs-test` compiles and runs its C ones).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
