//! `autodiff-core`: automatic differentiation with no heap and no `std`.
//!
//! Every byte comes from memory the caller hands in. The layers, bottom to top, import
//! only downward:
//!
//! 1. numbers and errors: [`Real`], [`Error`], [`Shape`];
//! 2. duals and the arena: [`Dual`], [`DualN`], [`Arena`];
//! 3. the tape: [`Tape`], [`Var`];
//! 4. tensors and checkpointing;
//! 5. optimizers and backends.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

mod arena;
pub mod checkpoint;
mod dual;
mod dual_n;
mod error;
pub mod kernels;
mod op;
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
pub use real::Real;
pub use shape::{Shape, MAX_RANK};
pub use tape::{Gradients, Tape, Var, VarId, MAX_BLOCK_DEPTH, MAX_RECORDS};
pub use tensor::{
    Activation, Adam, DeviceId, Float, Optimizer, ParamId, Sgd, Tensor, TensorDevice, TensorId,
};
