//! Optimizers that update every parameter in place from its gradient: SGD (momentum,
//! weight decay) and Adam / AdamW.
//!
//! The optimizer's state buffers are taken from the persistent region when it is set,
//! so like parameters it must be set before recording. Each update bumps the parameters'
//! versions, so a `backward` over a recording made before the update is reported as
//! [`Error::ModifiedInPlace`] instead of giving a wrong gradient.

use super::device::{DeviceBuffer, DeviceId, DeviceRef, ParamRefs};
use super::float::Float;
use super::optimizer::{adam_update, sgd_update, Optimizer, OptimizerState};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::Tape;

impl<'m, T: Float> Tape<'m, T> {
    /// Installs the optimizer for every parameter created so far. Call it after the
    /// last `parameter` and before recording; it can be set only once per tape.
    pub fn set_optimizer(&self, optimizer: Optimizer) -> Result<()> {
        self.refuse_in_callback("set_optimizer")?;
        optimizer.validate()?;
        self.require_pristine(
            "set the optimizer right after creating parameters, before recording",
        )?;
        let state =
            self.tensor_state()
                .filter(|state| state.count > 0)
                .ok_or(Error::InvalidArgument(
                    "set_optimizer: the tape has no parameters",
                ))?;
        if state.optimizer.is_some() {
            return Err(Error::InvalidArgument(
                "set_optimizer: an optimizer is already set",
            ));
        }
        let undo = self.persistent_undo_point();
        let result = (0..state.count).try_for_each(|index| {
            let p = self.param_id(index);
            let slot = self.param_slot(p)?;
            if slot.device.id.is_host() {
                let mut buffers = [core::ptr::null_mut(); 2];
                for buffer in buffers.iter_mut().take(optimizer.buffers()) {
                    *buffer = self.alloc(slot.len, T::zero())?.as_ptr();
                }
                self.update_param_slot(p, |slot| slot.state = buffers)
            } else {
                let device = self.device(slot.device.id)?;
                let mut buffers = slot.device.state;
                for buffer in buffers.iter_mut().take(optimizer.buffers()) {
                    *buffer = device.alloc(slot.shape)?;
                }
                self.update_param_slot(p, |slot| slot.device.state = buffers)
            }
        });
        if let Err(error) = result {
            // Forget the buffers taken so far, then give their memory back.
            for index in 0..state.count {
                let _ = self.update_param_slot(self.param_id(index), |slot| {
                    slot.state = [core::ptr::null_mut(); 2];
                    slot.device.state = Default::default();
                });
            }
            self.undo_persistent(undo);
            self.for_each_device(|id| self.rewind_device_to_persistent(id));
            return Err(error);
        }
        self.make_persistent();
        self.for_each_device(|id| {
            let _ = self.make_device_persistent(id);
        });
        self.update_tensor_state(|state| {
            state.optimizer = Some(OptimizerState {
                optimizer,
                steps: 0,
            })
        })
    }

    /// Updates every parameter in place from its gradient (from the last `backward`).
    pub fn optimizer_step(&self) -> Result<()> {
        self.refuse_in_callback("optimizer_step")?;
        self.status()?;
        let no_optimizer = Error::InvalidArgument("optimizer_step: no optimizer is set");
        let (kind, steps, count) = self
            .update_tensor_state(|state| {
                let optimizer = state.optimizer.as_mut()?;
                optimizer.steps += 1;
                Some((optimizer.optimizer, optimizer.steps, state.count))
            })
            .ok()
            .flatten()
            .ok_or(no_optimizer)?;
        for index in 0..count {
            let p = self.param_id(index);
            super::param::materialize(self, p)?;
            let slot = self.param_slot(p)?;
            if !slot.device.id.is_host() {
                // Below, all of a device's parameters at once; a parameter whose device
                // was released is an error here, not silently left alone.
                self.device(slot.device.id)?;
                continue;
            }
            // SAFETY: the parameter's buffers each hold `len` elements, distinct from one
            // another, and no other slice of them is alive during the update.
            let (w, g) = unsafe {
                (
                    core::slice::from_raw_parts_mut(slot.value, slot.len),
                    core::slice::from_raw_parts(slot.grad, slot.len),
                )
            };
            match kind {
                Optimizer::Sgd(s) => {
                    // SAFETY: as above; null when momentum is zero.
                    let velocity = (!slot.state[0].is_null()).then(|| unsafe {
                        core::slice::from_raw_parts_mut(slot.state[0], slot.len)
                    });
                    sgd_update(s, w, g, velocity);
                }
                Optimizer::Adam(a) => {
                    // SAFETY: as above; Adam allocated both moments.
                    let (m, v) = unsafe {
                        (
                            core::slice::from_raw_parts_mut(slot.state[0], slot.len),
                            core::slice::from_raw_parts_mut(slot.state[1], slot.len),
                        )
                    };
                    adam_update(a, steps, w, g, m, v);
                }
            }
            self.update_param_slot(p, |slot| slot.version = slot.version.wrapping_add(1))?;
        }
        let mut result = Ok(());
        self.for_each_device(|id| {
            if result.is_ok() {
                result = self.update_device_params(id, kind, steps);
            }
        });
        result
    }

    /// Updates every parameter on device `id`, in batches of [`UPDATE_BATCH`].
    fn update_device_params(&self, id: DeviceId, kind: Optimizer, steps: u64) -> Result<()> {
        let flush = |refs: &[ParamRefs], indices: &[u32]| -> Result<()> {
            self.device(id)?.update_all(&kind, steps, refs)?;
            for &index in indices {
                self.update_param_slot(self.param_id(index), |slot| {
                    slot.version = slot.version.wrapping_add(1)
                })?;
            }
            Ok(())
        };
        let mut refs = [UNUSED; UPDATE_BATCH];
        let mut indices = [0u32; UPDATE_BATCH];
        let mut filled = 0;
        for index in 0..self.tensor_state().map_or(0, |s| s.count) {
            let slot = self.param_slot(self.param_id(index))?;
            if slot.device.id != id {
                continue;
            }
            refs[filled] = slot.param_refs(kind);
            indices[filled] = index;
            filled += 1;
            if filled == UPDATE_BATCH {
                flush(&refs, &indices)?;
                filled = 0;
            }
        }
        if filled > 0 {
            flush(&refs[..filled], &indices[..filled])?;
        }
        Ok(())
    }
}

/// Parameters one `update_all` call takes: enough for a whole small network at once,
/// without a heap.
const UPDATE_BATCH: usize = 16;

/// A placeholder for the unused entries of a batch.
const UNUSED: ParamRefs = {
    let nothing = DeviceRef {
        buffer: DeviceBuffer {
            offset: 0,
            serial: 0,
        },
        shape: Shape::SCALAR,
    };
    ParamRefs {
        w: nothing,
        g: nothing,
        state: [None, None],
    }
};
