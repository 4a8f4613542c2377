//! The tensor layer's per-tape state (parameter table, optimizer, attached devices), in
//! the arena's persistent region behind the tape's layer-state pointer.
//!
//! It is one cell with closure-scoped access: readers get copies, writers run a closure
//! on the only `&mut` to it (see [`Tape::with_layer_state`]). No reference to the state
//! or to a parameter slot ever outlives the call that made it, so no two of them can
//! overlap, whatever the call graph between the layer's functions.

use super::device::attach::{Devices, MAX_DEVICES};
use super::device::DeviceId;
use super::float::Float;
use super::group_ready::ReadyHook;
use super::group_slot::GroupTable;
use super::optimizer::OptimizerState;
use super::param_slot::{ParamId, ParamSlot};
use crate::error::{Error, Result};
use crate::tape::{HandleKind, Tape};

/// The tensor layer's per-tape state, behind the tape's layer-state pointer.
#[derive(Clone, Copy)]
pub(crate) struct TensorState<T: Float> {
    pub params: *mut ParamSlot<T>,
    pub count: u32,
    pub capacity: u32,
    pub optimizer: Option<OptimizerState>,
    /// The parameter groups (see [`group`](super::group)).
    pub groups: GroupTable<T>,
    /// Told when a group's gradient is complete, during
    /// [`backward_notifying`](Tape::backward_notifying) only.
    pub ready_hook: Option<ReadyHook>,
    /// Devices attached to the tape.
    pub devices: Devices<T>,
    /// Where `tensor_input`, `tensor_constant` and `parameter` put new tensors.
    pub default_device: DeviceId,
}

impl<T: Float> Tape<'_, T> {
    /// A copy of the tensor state; `None` before the tape has one.
    pub(crate) fn tensor_state(&self) -> Option<TensorState<T>> {
        self.update_tensor_state(|state| *state).ok()
    }

    /// Runs `f` on the tensor state. Fails when the tape has none yet.
    pub(crate) fn update_tensor_state<R>(
        &self,
        f: impl FnOnce(&mut TensorState<T>) -> R,
    ) -> Result<R> {
        // SAFETY: only this layer sets the layer state of a `Tape<T: Float>`, to a
        // `TensorState<T>` in the persistent region.
        unsafe { self.with_layer_state::<TensorState<T>, R>(f) }
    }

    /// Creates the tensor state (in the persistent region, so only while pristine) if the
    /// tape has none yet.
    pub(crate) fn ensure_tensor_state(&self) -> Result<()> {
        if self.has_layer_state() {
            return Ok(());
        }
        let state = self.alloc(
            1,
            TensorState::<T> {
                params: core::ptr::null_mut(),
                count: 0,
                capacity: 0,
                optimizer: None,
                groups: GroupTable::EMPTY,
                ready_hook: None,
                devices: [None; MAX_DEVICES],
                default_device: DeviceId::HOST,
            },
        )?;
        self.set_layer_state(state.as_ptr().cast());
        Ok(())
    }

    /// A copy of parameter `p`'s slot.
    pub(crate) fn param_slot(&self, p: ParamId) -> Result<ParamSlot<T>> {
        self.update_param_slot(p, |slot| *slot)
    }

    /// Runs `f` on parameter `p`'s slot.
    pub(crate) fn update_param_slot<R>(
        &self,
        p: ParamId,
        f: impl FnOnce(&mut ParamSlot<T>) -> R,
    ) -> Result<R> {
        if p.tape != self.identity() || !self.has_layer_state() {
            return Err(Error::ForeignHandle);
        }
        if p.kind != HandleKind::Param.code() {
            return Err(Error::WrongHandleKind {
                expected: HandleKind::describe(HandleKind::Param.code()),
                got: HandleKind::describe(p.kind),
            });
        }
        self.update_tensor_state(|state| {
            if p.index >= state.count {
                return Err(Error::ForeignHandle);
            }
            // SAFETY: `index < count`, the table holds `count` slots, and it is reached
            // only from inside the state's cell, like the state itself.
            Ok(f(unsafe { &mut *state.params.add(p.index as usize) }))
        })?
    }

    /// The handle of this tape's parameter number `index`.
    pub(crate) fn param_id(&self, index: u32) -> ParamId {
        ParamId {
            index,
            kind: HandleKind::Param.code(),
            tape: self.identity(),
        }
    }
}
