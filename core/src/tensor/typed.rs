//! Tensors whose shapes are types, in the manner of dfdx: a mismatched product does not
//! compile.
//!
//! ```
//! use autodiff_core::{tensor::Matrix, Tape};
//! use core::mem::MaybeUninit;
//! let mut mem = [MaybeUninit::<u8>::uninit(); 8192];
//! let tape = Tape::<f32>::new(&mut mem).unwrap();
//! let a = Matrix::<f32, 2, 3>::input(&tape, &[1.0; 6]);
//! let b = Matrix::<f32, 3, 4>::input(&tape, &[1.0; 12]);
//! let c: Matrix<f32, 2, 4> = a.matmul(b);
//! let mut out = [0.0; 8];
//! tape.tensor_value(c.id(), &mut out).unwrap();
//! assert_eq!(out, [3.0; 8]);
//! ```
//!
//! An inner dimension that differs is a type error:
//!
//! ```compile_fail
//! use autodiff_core::{tensor::Matrix, Tape};
//! use core::mem::MaybeUninit;
//! let mut mem = [MaybeUninit::<u8>::uninit(); 8192];
//! let tape = Tape::<f32>::new(&mut mem).unwrap();
//! let a = Matrix::<f32, 2, 3>::input(&tape, &[1.0; 6]);
//! let b = Matrix::<f32, 4, 5>::input(&tape, &[1.0; 20]);
//! let c = a.matmul(b); // 2×3 · 4×5: does not compile
//! ```
//!
//! So is adding matrices of different shapes:
//!
//! ```compile_fail
//! use autodiff_core::{tensor::Matrix, Tape};
//! use core::mem::MaybeUninit;
//! let mut mem = [MaybeUninit::<u8>::uninit(); 8192];
//! let tape = Tape::<f32>::new(&mut mem).unwrap();
//! let a = Matrix::<f32, 2, 3>::input(&tape, &[1.0; 6]);
//! let b = Matrix::<f32, 3, 2>::input(&tape, &[1.0; 6]);
//! let c = a + b;
//! ```

use super::float::Float;
use super::node::Activation;
use super::TensorId;
use crate::tape::Tape;
use core::ops::{Add, Sub};

/// An `R × C` matrix on a tape.
#[derive(Clone, Copy)]
pub struct Matrix<'t, T: Float, const R: usize, const C: usize> {
    tape: &'t Tape<'t, T>,
    id: TensorId,
}

/// A vector of `N` elements on a tape (a bias).
#[derive(Clone, Copy)]
pub struct Vector<'t, T: Float, const N: usize> {
    id: TensorId,
    _tape: core::marker::PhantomData<&'t Tape<'t, T>>,
}

impl<'t, T: Float, const R: usize, const C: usize> Matrix<'t, T, R, C> {
    /// An input matrix from `R·C` row-major values. Any length mismatch sets the tape's
    /// error, as every op does.
    pub fn input(tape: &'t Tape<'t, T>, data: &[T]) -> Self {
        Matrix {
            tape,
            id: tape.tensor_input(&[R, C], data),
        }
    }

    /// A use of a parameter; its runtime shape is checked against `R × C`.
    pub fn param(tape: &'t Tape<'t, T>, p: super::ParamId) -> Self {
        let id = match tape.param_shape(p) {
            Ok(shape) if shape.dims() == [R as u32, C as u32] => tape.param(p),
            Ok(shape) => tape.fail_tensor(crate::Error::ShapeMismatch {
                op: "typed parameter",
                lhs: shape,
                rhs: crate::Shape::matrix(R as u32, C as u32),
            }),
            Err(error) => tape.fail_tensor(error),
        };
        Matrix { tape, id }
    }

    pub fn id(self) -> TensorId {
        self.id
    }

    /// `self · other`: the inner dimensions must agree at compile time.
    pub fn matmul<const N: usize>(self, other: Matrix<'t, T, C, N>) -> Matrix<'t, T, R, N> {
        Matrix {
            tape: self.tape,
            id: self.tape.matmul(self.id, other.id),
        }
    }

    /// `activation(self · w + bias)`.
    pub fn linear<const N: usize>(
        self,
        w: Matrix<'t, T, C, N>,
        bias: Vector<'t, T, N>,
        activation: Activation,
    ) -> Matrix<'t, T, R, N> {
        Matrix {
            tape: self.tape,
            id: self.tape.linear(self.id, w.id, bias.id, activation),
        }
    }

    pub fn transpose(self) -> Matrix<'t, T, C, R> {
        Matrix {
            tape: self.tape,
            id: self.tape.transpose(self.id),
        }
    }

    pub fn relu(self) -> Self {
        Matrix {
            tape: self.tape,
            id: self.tape.relu(self.id),
        }
    }
}

impl<'t, T: Float, const N: usize> Vector<'t, T, N> {
    pub fn input(tape: &'t Tape<'t, T>, data: &[T]) -> Self {
        Vector {
            id: tape.tensor_input(&[N], data),
            _tape: core::marker::PhantomData,
        }
    }

    pub fn id(self) -> TensorId {
        self.id
    }
}

impl<'t, T: Float, const R: usize, const C: usize> Add for Matrix<'t, T, R, C> {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Matrix {
            tape: self.tape,
            id: self.tape.tensor_add(self.id, rhs.id),
        }
    }
}

impl<'t, T: Float, const R: usize, const C: usize> Sub for Matrix<'t, T, R, C> {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Matrix {
            tape: self.tape,
            id: self.tape.tensor_sub(self.id, rhs.id),
        }
    }
}
