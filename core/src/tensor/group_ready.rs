//! Telling a host, during backward, when a parameter group's gradient is complete, so it
//! can start reducing that group (an `MPI_Iallreduce`) while the sweep goes on with the
//! layers below, as DDP's gradient buckets do.
//!
//! A record's arguments precede it, so the sweep, which runs from the last record down,
//! has finished every contribution to a parameter's gradient once it passes the
//! recording's first use of that parameter. A group is complete when the sweep passes the
//! first use of any of its parameters: the recording notes that record per group
//! (with the epoch, so a use from before a reset is never taken for one now).
//!
//! A use recorded inside a checkpointed block is dropped with the block's records and
//! recorded again during the sweep at other indices, so a group used there is never
//! announced: the host reduces it after backward returns, like a group the sweep did not
//! reach.

use super::float::Float;
use super::node::Node;
use crate::error::Result;
use crate::tape::{Tape, VarId};
use crate::TensorId;

use super::ParamGroup;

/// The host's callback for one [`backward_notifying`](Tape::backward_notifying) call,
/// its lifetime erased: it is set only while that call runs.
pub(crate) type ReadyHook = *mut (dyn FnMut(ParamGroup) + 'static);

/// No record: a group used inside a checkpointed block in this epoch.
const UNKNOWN: u32 = u32::MAX;

impl<'m, T: Float> Tape<'m, T> {
    /// Runs backward from `output` like [`backward`](Tape::backward), and calls `ready`
    /// with each parameter group whose gradient is complete, as soon as the sweep has
    /// finished it (the groups of the last layers first). The group's buffer is up to
    /// date when `ready` runs, and nothing writes to it again before the next backward.
    ///
    /// `ready` runs inside the sweep, as a callback on the tape: it may read (for
    /// example [`read_group_grads`](Tape::read_group_grads)) but not write parameters or
    /// gradients, sweep or step ([`Error::Reentrant`](crate::Error::Reentrant)). A group
    /// the output does not depend on, or one used inside a checkpointed block, is not
    /// announced.
    pub fn backward_notifying(
        &self,
        output: VarId,
        ready: &mut dyn FnMut(ParamGroup),
    ) -> Result<()> {
        self.refuse_in_callback("backward_notifying")?;
        if self.tensor_state().is_none() {
            return self.backward(output);
        }
        let hook: *mut (dyn FnMut(ParamGroup) + '_) = ready;
        // SAFETY: only the lifetime changes; `Unset` clears the hook before this call
        // returns (or unwinds), so it is never called after `ready`'s borrow ends.
        let hook: ReadyHook = unsafe { core::mem::transmute(hook) };
        self.update_tensor_state(|state| state.ready_hook = Some(hook))?;
        /// Clears the hook when dropped.
        struct Unset<'a, 'm, T: Float>(&'a Tape<'m, T>);
        impl<T: Float> Drop for Unset<'_, '_, T> {
            fn drop(&mut self) {
                let _ = self.0.update_tensor_state(|state| state.ready_hook = None);
            }
        }
        let _unset = Unset(self);
        self.backward(output)
    }

    /// Notes a use of a parameter of group `index`, recorded as `id`.
    pub(super) fn note_group_use(&self, index: u32, id: TensorId) {
        let epoch = self.epoch();
        let in_block = id.generation != epoch;
        let _ = self.update_group_slot(index, |slot| {
            if in_block {
                slot.first_use = UNKNOWN;
            } else if slot.first_use_epoch != epoch {
                slot.first_use = id.index;
            }
            slot.first_use_epoch = epoch;
        });
    }
}

/// The sweep passed parameter use `node`, record `i`: when that was its group's first
/// use, the group is complete, and the hook (if any) hears of it.
pub(crate) fn param_use_swept<T: Float>(tape: &Tape<'_, T>, node: &Node<T>, i: u32) {
    let Some(hook) = tape.tensor_state().and_then(|state| state.ready_hook) else {
        return;
    };
    let Some(index) = tape
        .param_slot(tape.param_id(node.param))
        .ok()
        .and_then(|slot| slot.group)
    else {
        return;
    };
    let complete = tape
        .update_group_slot(index, |slot| {
            (slot.first_use == i && slot.first_use_epoch == tape.epoch()).then_some(*slot)
        })
        .ok()
        .flatten();
    let Some(slot) = complete else { return };
    if let Err(error) = tape.materialize_group(&slot) {
        tape.fail(error);
        return;
    }
    let _scope = tape.enter_callback();
    // SAFETY: the hook is set only while `backward_notifying` runs, which holds the
    // closure's unique borrow; the callback scope keeps it from starting another sweep.
    unsafe { (*hook)(tape.group_id(index)) };
}
