//! Parameters: tensors that persist across resets, with their gradients and optimizer
//! state, in the arena's persistent region.
//!
//! Create every parameter (and the optimizer) right after the tape is made or reset,
//! before recording: the persistent region is the arena's top, and it can only grow
//! while nothing else sits below it. Each step then uses a parameter through
//! [`Tape::param`], which records a leaf that *shares* the parameter's value and gradient
//! buffers: no copies.

use super::float::Float;
use super::node::{Kind, Node};
use super::optim::OptimizerState;
use super::TensorId;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::Tape;

/// A parameter of a tape. Unlike variables, it stays valid across `reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct ParamId {
    pub index: u32,
    /// The owning tape's identity, so another tape's parameter is rejected.
    pub tape: u32,
}

/// One parameter's buffers.
#[derive(Clone, Copy)]
pub(crate) struct ParamSlot<T> {
    pub shape: Shape,
    pub len: usize,
    pub value: *mut T,
    pub grad: *mut T,
    /// Bumped by every in-place update.
    pub version: u32,
    /// The gradient is logically zero but its buffer was not cleared: the first
    /// backward contribution overwrites it instead of adding (see [`take_stale_grad`]).
    pub grad_stale: bool,
    /// Optimizer state (momentum, or Adam's two moments); null until an optimizer is set.
    pub state: [*mut T; 2],
}

/// A point to roll the persistent region back to when creating a parameter or setting
/// the optimizer fails half-way.
pub(crate) struct PersistentUndo<T> {
    high: usize,
    layer_state: *mut u8,
    state: Option<TensorState<T>>,
}

/// The tensor layer's per-tape state, behind the tape's layer-state pointer.
#[derive(Clone, Copy)]
pub(crate) struct TensorState<T> {
    pub params: *mut ParamSlot<T>,
    pub count: u32,
    pub capacity: u32,
    pub optimizer: Option<OptimizerState>,
}

impl<'m, T: Float> Tape<'m, T> {
    // The state lives in the persistent region; callers hold it only within one call.
    #[allow(clippy::mut_from_ref)]
    pub(crate) fn tensor_state(&self) -> Option<&mut TensorState<T>> {
        let state = self.layer_state().cast::<TensorState<T>>();
        // SAFETY: only this module sets the layer state of a `Tape<T: Float>`, to a
        // `TensorState<T>` in the persistent region; callers hold it briefly.
        (!state.is_null()).then(|| unsafe { &mut *state })
    }

    #[allow(clippy::mut_from_ref)]
    pub(crate) fn param_slot(&self, p: ParamId) -> Result<&mut ParamSlot<T>> {
        if p.tape != self.identity() {
            return Err(Error::ForeignHandle);
        }
        let state = self.tensor_state().ok_or(Error::ForeignHandle)?;
        if p.index >= state.count {
            return Err(Error::ForeignHandle);
        }
        // SAFETY: `index < count`, and the table holds `count` slots.
        Ok(unsafe { &mut *state.params.add(p.index as usize) })
    }

    /// Fails unless the arena holds nothing but persistent data.
    pub(crate) fn require_pristine(&self, what: &'static str) -> Result<()> {
        self.status()?;
        if self.is_pristine() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(what))
        }
    }

    /// A parameter of shape `dims`, initialised from `init`. Must be called before any
    /// recording (right after `new` or `reset`); the memory stays taken for the tape's
    /// life.
    pub fn parameter(&self, dims: &[usize], init: &[T]) -> Result<ParamId> {
        self.require_pristine(
            "create parameters right after the tape is made or reset, before recording",
        )?;
        let shape = Shape::new(dims).ok_or(Error::InvalidArgument(
            "rank above 4, or a dimension above 2^32 - 1",
        ))?;
        let len = shape.checked_len().ok_or(Error::SizeOverflow)?;
        if init.len() != len {
            return Err(Error::InvalidArgument(
                "initial data length differs from the shape's element count",
            ));
        }
        let undo = self.persistent_undo_point();
        let result = self.create_parameter(shape, len, init);
        match result {
            Ok(_) => self.make_persistent(),
            // Give back everything the failed call took, so a failure costs no memory
            // for the rest of the tape's life; its error stays for `reset` to clear.
            Err(_) => self.undo_persistent(undo),
        }
        result
    }

    /// What [`undo_persistent`](Tape::undo_persistent) restores: the high-end cursor
    /// and the tensor state as they are now.
    pub(crate) fn persistent_undo_point(&self) -> PersistentUndo<T> {
        PersistentUndo {
            high: self.high_mark(),
            layer_state: self.layer_state(),
            state: self.tensor_state().map(|s| *s),
        }
    }

    /// Returns the high end, and the parameter table, to an undo point taken while the
    /// tape was pristine, dropping whatever a failed persistent allocation took.
    pub(crate) fn undo_persistent(&self, undo: PersistentUndo<T>) {
        self.set_layer_state(undo.layer_state);
        if let (Some(saved), Some(state)) = (undo.state, self.tensor_state()) {
            *state = saved;
        }
        // SAFETY: nothing allocated since the undo point is referred to any more: the
        // layer state and parameter table are back to what they were then.
        unsafe { self.release_to(undo.high) };
    }

    fn create_parameter(&self, shape: Shape, len: usize, init: &[T]) -> Result<ParamId> {
        let state = match self.tensor_state() {
            Some(state) => state,
            None => {
                let state = self.alloc(
                    1,
                    TensorState::<T> {
                        params: core::ptr::null_mut(),
                        count: 0,
                        capacity: 0,
                        optimizer: None,
                    },
                )?;
                self.set_layer_state(state.as_ptr().cast());
                // SAFETY: just written.
                unsafe { &mut *state.as_ptr() }
            }
        };
        if state.optimizer.is_some() {
            return Err(Error::InvalidArgument(
                "create every parameter before setting the optimizer",
            ));
        }
        if state.count == state.capacity {
            let capacity = state.capacity.saturating_mul(2).max(8);
            let empty = ParamSlot {
                shape: Shape::SCALAR,
                len: 0,
                value: core::ptr::null_mut(),
                grad: core::ptr::null_mut(),
                version: 0,
                grad_stale: false,
                state: [core::ptr::null_mut(); 2],
            };
            let table = self.alloc(capacity as usize, empty)?.as_ptr();
            for i in 0..state.count as usize {
                // SAFETY: both tables hold at least `count` slots.
                unsafe { *table.add(i) = *state.params.add(i) };
            }
            state.params = table;
            state.capacity = capacity;
        }
        let value = self.alloc(len, T::zero())?.as_ptr();
        let grad = self.alloc(len, T::zero())?.as_ptr();
        // SAFETY: `value` holds `len` elements.
        unsafe { core::slice::from_raw_parts_mut(value, len) }.copy_from_slice(init);
        let index = state.count;
        // SAFETY: `count < capacity`.
        unsafe {
            *state.params.add(index as usize) = ParamSlot {
                shape,
                len,
                value,
                grad,
                version: 0,
                grad_stale: false,
                state: [core::ptr::null_mut(); 2],
            }
        };
        state.count += 1;
        Ok(ParamId {
            index,
            tape: self.identity(),
        })
    }

    /// Records a use of parameter `p`: a leaf sharing the parameter's value and gradient.
    /// Its gradient starts at zero for this recording (lazily: the buffer is marked
    /// stale, and the first backward contribution overwrites it).
    pub fn param(&self, p: ParamId) -> TensorId {
        let record = || {
            let slot = *self.param_slot(p)?;
            let mut node = Node::new(Kind::Param, slot.shape, slot.len);
            node.param = p.index;
            node.version = slot.version;
            let (id, node) = self.push_node_sharing(node, slot.value, slot.grad)?;
            let _ = node;
            // A checkpointed block recorded again during a sweep must leave the gradient
            // the sweep has accumulated so far.
            if !self.is_rerecording() {
                self.param_slot(p)?.grad_stale = true;
            }
            Ok(id)
        };
        record().unwrap_or_else(|error| self.fail_tensor(error))
    }

    /// The number of parameters.
    pub fn num_params(&self) -> usize {
        self.tensor_state().map_or(0, |s| s.count as usize)
    }

    /// The shape of parameter `p`.
    pub fn param_shape(&self, p: ParamId) -> Result<Shape> {
        Ok(self.param_slot(p)?.shape)
    }

    /// Copies parameter `p`'s value into `out`.
    pub fn read_param(&self, p: ParamId, out: &mut [T]) -> Result<()> {
        let slot = self.param_slot(p)?;
        // SAFETY: the value holds `len` elements and is only read.
        super::node::copy_exact(
            unsafe { core::slice::from_raw_parts(slot.value, slot.len) },
            out,
        )
    }

    /// Copies parameter `p`'s gradient (from the last backward) into `out`.
    pub fn read_param_grad(&self, p: ParamId, out: &mut [T]) -> Result<()> {
        let slot = self.param_slot(p)?;
        materialize(slot);
        // SAFETY: as above.
        super::node::copy_exact(
            unsafe { core::slice::from_raw_parts(slot.grad, slot.len) },
            out,
        )
    }

    /// Overwrites parameter `p`'s value. Ops recorded from the old value report
    /// [`Error::ModifiedInPlace`] on `backward` (until a replay recomputes them).
    pub fn write_param(&self, p: ParamId, data: &[T]) -> Result<()> {
        let slot = self.param_slot(p)?;
        if data.len() != slot.len {
            return Err(Error::InvalidArgument(
                "data length differs from the parameter's element count",
            ));
        }
        // SAFETY: the value holds `len` elements; no slice of it is alive.
        unsafe { core::slice::from_raw_parts_mut(slot.value, slot.len) }.copy_from_slice(data);
        slot.version = slot.version.wrapping_add(1);
        Ok(())
    }
}

/// The version of parameter `index`, or 0 for an unknown one.
pub(crate) fn version<T: Float>(tape: &Tape<'_, T>, index: u32) -> u32 {
    tape.param_slot(ParamId {
        index,
        tape: tape.identity(),
    })
    .map_or(0, |slot| slot.version)
}

/// The slot of `node` if it is a parameter use.
fn slot_of<'a, T: Float>(tape: &'a Tape<'_, T>, node: &Node<T>) -> Option<&'a mut ParamSlot<T>> {
    if node.kind != Kind::Param {
        return None;
    }
    tape.param_slot(ParamId {
        index: node.param,
        tape: tape.identity(),
    })
    .ok()
}

/// Zeroes a stale parameter gradient so it can be read or added to.
pub(crate) fn materialize<T: Float>(slot: &mut ParamSlot<T>) {
    if slot.grad_stale {
        // SAFETY: the gradient buffer holds `len` elements; no slice of it is alive.
        unsafe { core::slice::from_raw_parts_mut(slot.grad, slot.len) }.fill(T::zero());
        slot.grad_stale = false;
    }
}

/// Before `node`'s gradient is read or added to: zeroes it if it is a stale parameter
/// gradient. No slice of the gradient may be alive.
pub(crate) fn materialize_grad<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    if let Some(slot) = slot_of(tape, node) {
        materialize(slot);
    }
}

/// For a backward that will *overwrite* `node`'s whole gradient instead of adding to
/// it: true (and the gradient no longer stale) when `node` is a parameter use whose
/// gradient is stale, so the caller must write rather than accumulate.
pub(crate) fn take_stale_grad<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> bool {
    match slot_of(tape, node) {
        Some(slot) if slot.grad_stale => {
            slot.grad_stale = false;
            true
        }
        _ => false,
    }
}

/// Marks `node`'s gradient as zero without clearing it; false if `node` is not a
/// parameter use.
pub(crate) fn mark_grad_stale<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> bool {
    match slot_of(tape, node) {
        Some(slot) => {
            slot.grad_stale = true;
            true
        }
        None => false,
    }
}
