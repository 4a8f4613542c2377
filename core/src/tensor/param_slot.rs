//! A parameter's handle and its slot in the tape's parameter table: its buffers on the
//! host or on a device, its version and its optimizer state.

use super::device::{DeviceBuffer, DeviceId, DeviceRef, ParamRefs};
use super::optimizer::Optimizer;
use crate::shape::Shape;

/// A parameter of a tape. Unlike variables, it stays valid across `reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct ParamId {
    pub index: u32,
    /// The handle's kind, at the same place as in variables and tensors, so that the
    /// bytes of one kind of handle are never taken for another.
    pub kind: u32,
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
    /// The [`ParamGroup`](super::ParamGroup) whose buffer holds the gradient; a
    /// parameter belongs to at most one group.
    pub group: Option<u32>,
    /// Optimizer state (momentum, or Adam's two moments); null until an optimizer is set.
    pub state: [*mut T; 2],
    /// Where the parameter lives. On a device, the host pointers above are null and
    /// these buffers hold the data.
    pub device: DeviceParam,
}

/// A parameter's buffers on a device.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DeviceParam {
    pub id: DeviceId,
    pub value: DeviceBuffer,
    pub grad: DeviceBuffer,
    pub state: [DeviceBuffer; 2],
}

impl<T> ParamSlot<T> {
    /// A slot of `shape` with no buffers yet.
    pub(crate) fn unset(shape: Shape, len: usize) -> ParamSlot<T> {
        ParamSlot {
            shape,
            len,
            value: core::ptr::null_mut(),
            grad: core::ptr::null_mut(),
            version: 0,
            grad_stale: false,
            group: None,
            state: [core::ptr::null_mut(); 2],
            device: DeviceParam::default(),
        }
    }

    /// Buffer `b` of this (device) parameter, with its shape.
    pub(crate) fn device_ref(&self, b: DeviceBuffer) -> DeviceRef {
        DeviceRef {
            buffer: b,
            shape: self.shape,
        }
    }

    /// This device parameter's buffers for an update by `optimizer`.
    pub(crate) fn param_refs(&self, optimizer: Optimizer) -> ParamRefs {
        let states = optimizer.buffers();
        let state = |k: usize| (k < states).then(|| self.device_ref(self.device.state[k]));
        ParamRefs {
            w: self.device_ref(self.device.value),
            g: self.device_ref(self.device.grad),
            state: [state(0), state(1)],
        }
    }
}
