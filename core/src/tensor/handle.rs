//! [`Tensor`], a tensor bound to its tape, so Rust code can write
//! `x.matmul(w).relu() + b`.

use super::float::Float;
use super::node::Activation;
use super::TensorId;
use crate::tape::{Tape, Var, VarId};
use core::ops::{Add, Div, Mul, Sub};

/// A tensor bound to its tape. Like [`Var`], it cannot outlive the tape, and it is stale
/// after a reset.
#[derive(Clone, Copy)]
pub struct Tensor<'t, T: Float> {
    tape: &'t Tape<'t, T>,
    id: TensorId,
}

impl<'t, T: Float> Tensor<'t, T> {
    /// Binds a bare handle to `tape` (it is checked when used).
    pub fn from_id(tape: &'t Tape<'t, T>, id: TensorId) -> Tensor<'t, T> {
        Tensor { tape, id }
    }

    pub fn id(self) -> TensorId {
        self.id
    }

    fn with(self, id: TensorId) -> Tensor<'t, T> {
        Tensor {
            tape: self.tape,
            id,
        }
    }

    /// This rank-0 tensor as a scalar variable (a loss, a sum).
    pub fn as_var(self) -> Var<'t, T> {
        Var::from_id(self.tape, self.id.as_var())
    }

    pub fn matmul(self, other: Tensor<'t, T>) -> Tensor<'t, T> {
        self.with(self.tape.matmul(self.id, other.id))
    }
    pub fn linear(
        self,
        w: Tensor<'t, T>,
        bias: Tensor<'t, T>,
        activation: Activation,
    ) -> Tensor<'t, T> {
        self.with(self.tape.linear(self.id, w.id, bias.id, activation))
    }
    pub fn scale(self, c: f64) -> Tensor<'t, T> {
        self.with(self.tape.scale(self.id, c))
    }
    pub fn activation(self, activation: Activation) -> Tensor<'t, T> {
        self.with(self.tape.activation(self.id, activation))
    }
    pub fn relu(self) -> Tensor<'t, T> {
        self.activation(Activation::Relu)
    }
    pub fn sigmoid(self) -> Tensor<'t, T> {
        self.activation(Activation::Sigmoid)
    }
    pub fn tanh(self) -> Tensor<'t, T> {
        self.activation(Activation::Tanh)
    }
    pub fn sum(self) -> Tensor<'t, T> {
        self.with(self.tape.sum(self.id))
    }
    pub fn mean(self) -> Tensor<'t, T> {
        self.with(self.tape.mean(self.id))
    }
    pub fn sum_axis(self, axis: usize) -> Tensor<'t, T> {
        self.with(self.tape.sum_axis(self.id, axis))
    }
    pub fn mean_axis(self, axis: usize) -> Tensor<'t, T> {
        self.with(self.tape.mean_axis(self.id, axis))
    }
    pub fn reshape(self, dims: &[usize]) -> Tensor<'t, T> {
        self.with(self.tape.reshape(self.id, dims))
    }
    pub fn transpose(self) -> Tensor<'t, T> {
        self.with(self.tape.transpose(self.id))
    }
    pub fn softmax(self) -> Tensor<'t, T> {
        self.with(self.tape.softmax(self.id))
    }
    pub fn log_softmax(self) -> Tensor<'t, T> {
        self.with(self.tape.log_softmax(self.id))
    }
    pub fn cross_entropy(self, labels: &[u32]) -> Tensor<'t, T> {
        self.with(self.tape.cross_entropy(self.id, labels))
    }
    pub fn mse(self, target: Tensor<'t, T>) -> Tensor<'t, T> {
        self.with(self.tape.mse(self.id, target.id))
    }
}

macro_rules! tensor_operators {
    ($($trait:ident $method:ident $tape_method:ident,)*) => {$(
        impl<'t, T: Float> $trait for Tensor<'t, T> {
            type Output = Tensor<'t, T>;
            fn $method(self, rhs: Tensor<'t, T>) -> Tensor<'t, T> {
                self.with(self.tape.$tape_method(self.id, rhs.id))
            }
        }
    )*};
}

tensor_operators! {
    Add add tensor_add,
    Sub sub tensor_sub,
    Mul mul tensor_mul,
    Div div tensor_div,
}

impl<'m, T: Float> Tape<'m, T> {
    /// A bound input tensor (see [`tensor_input`](Tape::tensor_input)).
    pub fn tensor<'t>(&'t self, dims: &[usize], data: &[T]) -> Tensor<'t, T> {
        Tensor {
            tape: self,
            id: self.tensor_input(dims, data),
        }
    }

    /// A bound use of parameter `p` (see [`param`](Tape::param)).
    pub fn param_tensor<'t>(&'t self, p: super::ParamId) -> Tensor<'t, T> {
        Tensor {
            tape: self,
            id: self.param(p),
        }
    }
}

impl From<VarId> for TensorId {
    /// The same record as a tensor handle (checked as one when used).
    fn from(id: VarId) -> TensorId {
        TensorId::from_var(id)
    }
}

impl From<TensorId> for VarId {
    /// The same record as a scalar handle: what [`TensorId::as_var`] returns.
    fn from(id: TensorId) -> VarId {
        id.var()
    }
}
