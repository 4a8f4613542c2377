//! Tensor-valued user-defined ops: code the tape does not differentiate itself (a batched
//! solve, a fused kernel, a hand-written softmax adjoint) put on the tape with its own
//! derivatives, over `n` tensor inputs and `m` tensor outputs whose shapes the caller
//! declares.
//!
//! A [`TensorUserOp`]'s `forward` computes the outputs' data from the inputs' (when
//! recorded, and again at every [`Tape::replay`]); its `vjp` gives the inputs' gradients
//! from the outputs' (backward); its optional `jvp` gives the outputs' tangents from the
//! inputs' (forward mode: without it, [`Tape::jvp`] fails with [`Error::NoJvp`], which the
//! tape does not keep). `forward` may keep state for the derivatives (a factorisation) in
//! a buffer of the length asked for, which lives in the arena beside the op.
//!
//! # Records and memory
//!
//! The op takes one *call record* followed by one tensor record per output, like the
//! scalar user op (`tape/user_op.rs`) and a checkpointed segment. The call record points
//! at a node at the arena's high end: the op itself (moved there, never dropped, hence
//! `Copy + 'static`), the input indices and the versions they were read at, a table of
//! argument descriptors ([`UserTensor`]) rewritten before every callback, the saved
//! state, and each output's value and gradient buffers, which the output records share
//! (a rank-0 output keeps its value in its record, as every rank-0 tensor does).
//!
//! A backward sweep reaches the call record after every output record, when the
//! outputs' gradients are complete, and calls `vjp` once for all of them; the inputs'
//! gradients are staged in scratch that the recording reserved (so `vjp` writes, never
//! adds, and an input passed twice is summed right), then added to the inputs'.
//!
//! # Callbacks
//!
//! The callbacks see data only, never the tape, and run as callbacks on it (see
//! `tape/reentry.rs`): a C callback that reaches the tape through its user data cannot
//! reset it or start a sweep on it, and one that records on it fails the op with
//! [`Error::Reentrant`]. A callback's error becomes the tape's sticky error (except a
//! missing `jvp`), and `reset` makes the tape usable again. Device tensors are refused.

use super::float::Float;
use crate::error::{Error, Result};
use crate::shape::{Shape, MAX_RANK};
use core::marker::PhantomData;

/// One tensor argument of a callback: where its data is, its element count and its
/// shape (`dims[rank..]` are 1). `repr(C)`: the C API hands arrays of these to C
/// callbacks as they are (`ad_user_tensor_f32`, `ad_user_tensor_f64`). Safe code reads
/// the data through [`TensorArgs`] and [`TensorArgsMut`].
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct UserTensor<T> {
    pub data: *mut T,
    pub len: usize,
    pub rank: usize,
    pub dims: [usize; MAX_RANK],
}

impl<T> UserTensor<T> {
    pub(super) fn new(data: *mut T, len: usize, shape: Shape) -> UserTensor<T> {
        let mut dims = [1; MAX_RANK];
        for (slot, &dim) in dims.iter_mut().zip(shape.dims()) {
            *slot = dim as usize;
        }
        UserTensor {
            data,
            len,
            rank: shape.rank(),
            dims,
        }
    }

    /// The dimensions, `rank` of them.
    pub fn shape(&self) -> &[usize] {
        &self.dims[..self.rank.min(MAX_RANK)]
    }
}

/// Tensors a callback reads: the inputs' or outputs' values, or the seeds of a
/// derivative (output gradients, input tangents).
#[derive(Clone, Copy)]
pub struct TensorArgs<'a, T> {
    pub(super) args: &'a [UserTensor<T>],
}

impl<'a, T> TensorArgs<'a, T> {
    /// How many tensors.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// The dimensions of tensor `k`.
    pub fn shape(&self, k: usize) -> &'a [usize] {
        self.args[k].shape()
    }

    /// The row-major data of tensor `k`.
    pub fn data(&self, k: usize) -> &'a [T] {
        let arg = &self.args[k];
        // SAFETY: a descriptor of a table the op wrote for this call: `len` elements
        // that nothing writes while the callback runs (`TensorArgs` are only made
        // over read-only arguments).
        unsafe { core::slice::from_raw_parts(arg.data, arg.len) }
    }

    /// The descriptors themselves (what C callbacks receive).
    pub fn descriptors(&self) -> &'a [UserTensor<T>] {
        self.args
    }
}

/// Tensors a callback writes: the outputs' values (forward), the inputs' gradients
/// (vjp) or the outputs' tangents (jvp). They arrive zeroed, and are distinct buffers.
pub struct TensorArgsMut<'a, T> {
    pub(super) args: &'a [UserTensor<T>],
    pub(super) _data: PhantomData<&'a mut T>,
}

impl<T> TensorArgsMut<'_, T> {
    pub fn len(&self) -> usize {
        self.args.len()
    }

    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// The dimensions of tensor `k`.
    pub fn shape(&self, k: usize) -> &[usize] {
        self.args[k].shape()
    }

    /// The row-major data of tensor `k`, to write.
    pub fn data_mut(&mut self, k: usize) -> &mut [T] {
        let arg = &self.args[k];
        // SAFETY: `len` elements that only this value lends out (the buffers are
        // distinct, and `&mut self` keeps one slice alive at a time).
        unsafe { core::slice::from_raw_parts_mut(arg.data, arg.len) }
    }

    /// Every tensor's data at once, to write.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut [T]> + '_ {
        // SAFETY: as for `data_mut`; the buffers are pairwise distinct.
        self.args
            .iter()
            .map(|arg| unsafe { core::slice::from_raw_parts_mut(arg.data, arg.len) })
    }

    /// The descriptors themselves (what C callbacks receive).
    pub fn descriptors(&mut self) -> &[UserTensor<T>] {
        self.args
    }
}

/// The point a derivative callback is asked at: the inputs, the outputs `forward`
/// computed from them, and the state it saved.
#[derive(Clone, Copy)]
pub struct TensorUserOpPoint<'a, T> {
    pub inputs: TensorArgs<'a, T>,
    pub outputs: TensorArgs<'a, T>,
    pub state: &'a [T],
}

/// An op from `n` tensors to `m` tensors whose values and derivatives the caller
/// computes. Every argument has the shape the op was recorded with.
pub trait TensorUserOp<T: Float> {
    /// Writes `outputs` from `inputs`, and whatever the derivatives will need into
    /// `state` (zeroed when the op is recorded; kept between calls).
    fn forward(
        &self,
        inputs: TensorArgs<'_, T>,
        outputs: TensorArgsMut<'_, T>,
        state: &mut [T],
    ) -> Result<()>;

    /// Writes each input's gradient, `Σⱼ output_gradsⱼ · ∂outputⱼ/∂input`, into
    /// `input_grads` (which arrive zeroed).
    fn vjp(
        &self,
        at: TensorUserOpPoint<'_, T>,
        output_grads: TensorArgs<'_, T>,
        input_grads: TensorArgsMut<'_, T>,
    ) -> Result<()>;

    /// Writes each output's tangent, `Σₖ ∂output/∂inputₖ · input_tangentsₖ`, into
    /// `output_tangents` (zeroed). Optional: by default forward mode over the op fails
    /// with [`Error::NoJvp`].
    fn jvp(
        &self,
        at: TensorUserOpPoint<'_, T>,
        input_tangents: TensorArgs<'_, T>,
        output_tangents: TensorArgsMut<'_, T>,
    ) -> Result<()> {
        let _ = (at, input_tangents, output_tangents);
        Err(Error::NoJvp)
    }
}
