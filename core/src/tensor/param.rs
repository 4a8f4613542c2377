//! Parameters: tensors that persist across resets, with their gradients and optimizer
//! state, in the arena's persistent region.
//!
//! Create every parameter (and the optimizer) right after the tape is made or reset,
//! before recording: the persistent region is the arena's top, and it can only grow
//! while nothing else sits below it. Each step then uses a parameter through
//! [`Tape::param`], which records a leaf that *shares* the parameter's value and gradient
//! buffers: no copies.

use super::device::{DeviceBuffer, DeviceId};
use super::float::Float;
use super::node::{Kind, Node};
use super::param_slot::{ParamId, ParamSlot};
use super::state::TensorState;
use super::TensorId;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::Tape;

/// A point to roll the persistent region back to when creating a parameter or setting
/// the optimizer fails half-way.
pub(crate) struct PersistentUndo<T: Float> {
    high: usize,
    layer_state: *mut u8,
    state: Option<TensorState<T>>,
}

impl<'m, T: Float> Tape<'m, T> {
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
        self.parameter_on(self.default_device(), dims, init)
    }

    /// A parameter like [`parameter`](Tape::parameter), living on `device` (the host, or
    /// a device [attached](Tape::attach_device) to this tape). Its gradient and
    /// optimizer state live there too, and uses of it are device tensors.
    pub fn parameter_on(&self, device: DeviceId, dims: &[usize], init: &[T]) -> Result<ParamId> {
        self.refuse_in_callback("parameter_on")?;
        self.require_pristine(
            "create parameters right after the tape is made or reset, before recording",
        )?;
        let shape = Shape::new(dims).ok_or(Error::InvalidArgument(
            "rank above 4, or a dimension above 2^32 - 1",
        ))?;
        let len = shape.checked_len().ok_or(Error::SizeOverflow)?;
        if init.len() != len {
            return Err(Error::LengthMismatch {
                what: "initial data length",
                got: init.len(),
                against: "the shape's element count",
                expected: len,
            });
        }
        if !device.is_host() && shape.rank() == 0 {
            return Err(Error::UnsupportedOnDevice(
                "rank-0 parameters live on the host (use shape [1] on a device)",
            ));
        }
        let undo = self.persistent_undo_point();
        let result = self.create_parameter(device, shape, len, init);
        match result {
            Ok(_) => {
                self.make_persistent();
                if !device.is_host() {
                    self.make_device_persistent(device)?;
                }
            }
            // Give back everything the failed call took, so a failure costs no memory
            // for the rest of the tape's life; its error stays for `reset` to clear.
            Err(_) => {
                self.undo_persistent(undo);
                self.rewind_device_to_persistent(device);
            }
        }
        result
    }

    /// What [`undo_persistent`](Tape::undo_persistent) restores: the high-end cursor
    /// and the tensor state as they are now.
    pub(crate) fn persistent_undo_point(&self) -> PersistentUndo<T> {
        PersistentUndo {
            high: self.high_mark(),
            layer_state: self.layer_state(),
            state: self.tensor_state(),
        }
    }

    /// Returns the high end, and the parameter table, to an undo point taken while the
    /// tape was pristine, dropping whatever a failed persistent allocation took.
    pub(crate) fn undo_persistent(&self, undo: PersistentUndo<T>) {
        self.set_layer_state(undo.layer_state);
        if let Some(saved) = undo.state {
            // The state existed at the undo point, so it exists now.
            let _ = self.update_tensor_state(|state| *state = saved);
        }
        // SAFETY: nothing allocated since the undo point is referred to any more: the
        // layer state and parameter table are back to what they were then.
        unsafe { self.release_to(undo.high) };
    }

    fn create_parameter(
        &self,
        device: DeviceId,
        shape: Shape,
        len: usize,
        init: &[T],
    ) -> Result<ParamId> {
        self.ensure_tensor_state()?;
        let state = self.tensor_state().ok_or(Error::ForeignHandle)?;
        if state.optimizer.is_some() {
            return Err(Error::InvalidArgument(
                "create every parameter before setting the optimizer",
            ));
        }
        if state.count == state.capacity {
            let capacity = state.capacity.saturating_mul(2).max(8);
            let empty = ParamSlot::unset(Shape::SCALAR, 0);
            let table = self.alloc(capacity as usize, empty)?.as_ptr();
            self.update_tensor_state(|state| {
                for i in 0..state.count as usize {
                    // SAFETY: both tables hold at least `count` slots.
                    unsafe { *table.add(i) = *state.params.add(i) };
                }
                state.params = table;
                state.capacity = capacity;
            })?;
        }
        let mut slot = ParamSlot::unset(shape, len);
        if device.is_host() {
            slot.value = self.alloc(len, T::zero())?.as_ptr();
            slot.grad = self.alloc(len, T::zero())?.as_ptr();
            // SAFETY: `value` holds `len` elements.
            unsafe { core::slice::from_raw_parts_mut(slot.value, len) }.copy_from_slice(init);
        } else {
            let dev = self.device(device)?;
            slot.device.id = device;
            slot.device.value = dev.alloc(shape)?;
            slot.device.grad = dev.alloc(shape)?;
            dev.upload(slot.device_ref(slot.device.value), init)?;
        }
        let index = self.update_tensor_state(|state| {
            let index = state.count;
            // SAFETY: `count < capacity`.
            unsafe { *state.params.add(index as usize) = slot };
            state.count += 1;
            index
        })?;
        Ok(self.param_id(index))
    }

    /// Records a use of parameter `p`: a leaf sharing the parameter's value and gradient.
    /// Its gradient starts at zero for this recording (lazily: the buffer is marked
    /// stale, and the first backward contribution overwrites it).
    pub fn param(&self, p: ParamId) -> TensorId {
        let record = || {
            let slot = self.param_slot(p)?;
            let mut node = Node::new(Kind::Param, slot.shape, slot.len);
            node.param = p.index;
            node.version = slot.version;
            node.device.id = slot.device.id;
            if !slot.device.id.is_host() {
                node.device.value = slot.device.value;
                node.device.grad = Some(slot.device.grad);
            }
            let (id, _) = self.push_node_sharing(node, slot.value, slot.grad)?;
            // A checkpointed block recorded again during a sweep must leave the gradient
            // the sweep has accumulated so far.
            if !self.is_rerecording() {
                self.update_param_slot(p, |slot| slot.grad_stale = true)?;
            }
            if let Some(group) = slot.group {
                self.note_group_use(group, id);
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
        self.read_param_buffer(&slot, slot.value, slot.device.value, out)
    }

    /// Copies parameter `p`'s gradient (from the last backward) into `out`.
    pub fn read_param_grad(&self, p: ParamId, out: &mut [T]) -> Result<()> {
        materialize(self, p)?;
        let slot = self.param_slot(p)?;
        self.read_param_buffer(&slot, slot.grad, slot.device.grad, out)
    }

    /// Copies one of `slot`'s buffers, `host` or (for a device parameter) `device`.
    fn read_param_buffer(
        &self,
        slot: &ParamSlot<T>,
        host: *mut T,
        device: DeviceBuffer,
        out: &mut [T],
    ) -> Result<()> {
        if out.len() != slot.len {
            return Err(Error::LengthMismatch {
                what: "buffer length",
                got: out.len(),
                against: "the parameter's element count",
                expected: slot.len,
            });
        }
        if slot.device.id.is_host() {
            // SAFETY: the buffer holds `len` elements and is only read.
            out.copy_from_slice(unsafe { core::slice::from_raw_parts(host, slot.len) });
            Ok(())
        } else {
            self.device(slot.device.id)?
                .download(slot.device_ref(device), out)
        }
    }

    /// Overwrites parameter `p`'s value. Ops recorded from the old value report
    /// [`Error::ModifiedInPlace`] on `backward` (until a replay recomputes them).
    pub fn write_param(&self, p: ParamId, data: &[T]) -> Result<()> {
        self.refuse_in_callback("write_param")?;
        let slot = self.param_slot(p)?;
        if data.len() != slot.len {
            return Err(Error::LengthMismatch {
                what: "data length",
                got: data.len(),
                against: "the parameter's element count",
                expected: slot.len,
            });
        }
        if slot.device.id.is_host() {
            // SAFETY: the value holds `len` elements; no slice of it is alive.
            unsafe { core::slice::from_raw_parts_mut(slot.value, slot.len) }.copy_from_slice(data);
        } else {
            self.device(slot.device.id)?
                .upload(slot.device_ref(slot.device.value), data)?;
        }
        self.update_param_slot(p, |slot| slot.version = slot.version.wrapping_add(1))
    }
}

impl<T: Float> Tape<'_, T> {
    /// Sets element `i` of host parameter `p`'s value to `element(i)`, as
    /// [`write_param`](Tape::write_param) would write it (an image's loader reads the
    /// values from its bytes).
    pub(crate) fn write_param_with(&self, p: ParamId, element: impl Fn(usize) -> T) -> Result<()> {
        self.refuse_in_callback("write_param")?;
        let slot = self.param_slot(p)?;
        if !slot.device.id.is_host() {
            return Err(Error::InvalidArgument(
                "values from a function are written to host parameters only",
            ));
        }
        // SAFETY: the value holds `len` elements; no slice of it is alive.
        let values = unsafe { core::slice::from_raw_parts_mut(slot.value, slot.len) };
        for (i, value) in values.iter_mut().enumerate() {
            *value = element(i);
        }
        self.update_param_slot(p, |slot| slot.version = slot.version.wrapping_add(1))
    }
}

/// The version of parameter `index`, or 0 for an unknown one.
pub(crate) fn version<T: Float>(tape: &Tape<'_, T>, index: u32) -> u32 {
    tape.param_slot(tape.param_id(index))
        .map_or(0, |slot| slot.version)
}

/// The parameter `node` uses, if it is a parameter use.
fn param_of<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> Option<ParamId> {
    (node.kind == Kind::Param).then(|| tape.param_id(node.param))
}

/// Zeroes a stale parameter gradient so it can be read or added to.
pub(crate) fn materialize<T: Float>(tape: &Tape<'_, T>, p: ParamId) -> Result<()> {
    let slot = tape.param_slot(p)?;
    if slot.grad_stale {
        if slot.device.id.is_host() {
            // SAFETY: the gradient buffer holds `len` elements; no slice of it is alive.
            unsafe { core::slice::from_raw_parts_mut(slot.grad, slot.len) }.fill(T::zero());
        } else {
            tape.device(slot.device.id)?
                .zero(slot.device_ref(slot.device.grad))?;
        }
        tape.update_param_slot(p, |slot| slot.grad_stale = false)?;
    }
    Ok(())
}

/// Before `node`'s gradient is read or added to: zeroes it if it is a stale parameter
/// gradient (a device failure fails the tape). No slice of the gradient may be alive.
pub(crate) fn materialize_grad<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    if let Some(p) = param_of(tape, node) {
        if let Err(error) = materialize(tape, p) {
            tape.fail(error);
        }
    }
}

/// For a backward that will *overwrite* `node`'s whole gradient instead of adding to
/// it: true (and the gradient no longer stale) when `node` is a parameter use whose
/// gradient is stale, so the caller must write rather than accumulate.
pub(crate) fn take_stale_grad<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> bool {
    param_of(tape, node).is_some_and(|p| {
        tape.update_param_slot(p, |slot| core::mem::replace(&mut slot.grad_stale, false))
            .unwrap_or(false)
    })
}

/// Marks `node`'s gradient as zero without clearing it; false if `node` is not a
/// parameter use.
pub(crate) fn mark_grad_stale<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> bool {
    param_of(tape, node).is_some_and(|p| {
        tape.update_param_slot(p, |slot| slot.grad_stale = true)
            .is_ok()
    })
}
