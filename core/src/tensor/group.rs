//! Parameter groups: parameters whose gradients share one contiguous buffer, so that a
//! host can reduce them in a single call (an `MPI_Allreduce` across data-parallel
//! processes) between `backward` and `optimizer_step`, and read or write the whole
//! model's values and gradients in bulk.
//!
//! Making a group moves its parameters' gradients into a new buffer from the persistent
//! region, in the order given; the parameters' own gradient buffers go unused from then
//! on (a group costs its gradients' size once more). Every backward contribution and
//! every optimizer step then goes through that buffer, so whatever the host leaves in it
//! is what the step uses. Values are not moved: bulk reads and writes gather and scatter
//! them.
//!
//! Gradients are zeroed lazily (see [`param`](super::param)): a parameter that the last
//! recording used but its output did not reach holds a stale gradient until something
//! reads it. Every call here that exposes the buffer first brings it up to date, so take
//! the buffer through one of them after each `backward`. (A parameter the recording did
//! not use at all keeps its last gradient, as [`Tape::read_param_grad`] reports it.)

use super::float::Float;
use super::group_slot::{GroupSlot, ParamGroup};
use super::param::materialize;
use super::param_slot::ParamId;
use crate::error::{Error, Result};
use crate::tape::{HandleKind, Tape};

impl<'m, T: Float> Tape<'m, T> {
    /// A group of `params`, in that order: their gradients move into one contiguous
    /// buffer of the sum of their element counts. Make groups right after creating the
    /// parameters (before or after setting the optimizer), before recording. A parameter
    /// belongs to at most one group, and only host parameters can be grouped.
    pub fn param_group(&self, params: &[ParamId]) -> Result<ParamGroup> {
        self.create_group(params.len(), |k| params[k])
    }

    /// A group of every parameter of the tape, in the order they were created.
    pub fn param_group_all(&self) -> Result<ParamGroup> {
        self.create_group(self.num_params(), |k| self.param_id(k as u32))
    }

    /// The number of elements of group `g`'s gradient buffer (and of its values).
    pub fn group_len(&self, g: ParamGroup) -> Result<usize> {
        Ok(self.group_slot(g)?.len)
    }

    /// Group `g`'s gradient buffer, brought up to date (a parameter the last recording
    /// used but its output did not reach reads as zero), as a pointer and an element
    /// count. The buffer lives as long as the tape, and the next optimizer step uses what
    /// it holds then; a backward overwrites it. Writing through the pointer is the
    /// caller's business: [`group_grads_mut`](Tape::group_grads_mut) is the safe form.
    pub fn group_grad_buffer(&self, g: ParamGroup) -> Result<(*mut T, usize)> {
        let slot = self.group_slot(g)?;
        self.materialize_group(&slot)?;
        Ok((slot.grad, slot.len))
    }

    /// Group `g`'s gradients, up to date, to reduce in place before the optimizer step.
    pub fn group_grads_mut(&mut self, g: ParamGroup) -> Result<&mut [T]> {
        let (grad, len) = self.group_grad_buffer(g)?;
        // SAFETY: the buffer holds `len` elements for the tape's life, and `&mut self`
        // keeps every other path to it (sweeps, steps, reads) away while the slice lives.
        Ok(unsafe { core::slice::from_raw_parts_mut(grad, len) })
    }

    /// Copies group `g`'s gradients (from the last backward, up to date) into `out`.
    pub fn read_group_grads(&self, g: ParamGroup, out: &mut [T]) -> Result<()> {
        let slot = self.group_slot(g)?;
        check_len(&slot, out.len(), "buffer length")?;
        self.materialize_group(&slot)?;
        // SAFETY: the buffer holds `len` elements and is only read here.
        out.copy_from_slice(unsafe { core::slice::from_raw_parts(slot.grad, slot.len) });
        Ok(())
    }

    /// Overwrites group `g`'s gradients with `data` (a reduced gradient, say): the next
    /// optimizer step uses it.
    pub fn write_group_grads(&self, g: ParamGroup, data: &[T]) -> Result<()> {
        self.refuse_in_callback("write_group_grads")?;
        let slot = self.group_slot(g)?;
        check_len(&slot, data.len(), "data length")?;
        for &index in slot.param_indices() {
            self.update_param_slot(self.param_id(index), |p| p.grad_stale = false)?;
        }
        // SAFETY: the buffer holds `len` elements; no slice of it is alive.
        unsafe { core::slice::from_raw_parts_mut(slot.grad, slot.len) }.copy_from_slice(data);
        Ok(())
    }

    /// Copies the values of group `g`'s parameters, one after another, into `out`.
    pub fn read_group_values(&self, g: ParamGroup, out: &mut [T]) -> Result<()> {
        let slot = self.group_slot(g)?;
        check_len(&slot, out.len(), "buffer length")?;
        let mut rest = out;
        for &index in slot.param_indices() {
            let p = self.param_id(index);
            let (head, tail) = rest.split_at_mut(self.param_slot(p)?.len);
            self.read_param(p, head)?;
            rest = tail;
        }
        Ok(())
    }

    /// Overwrites the values of group `g`'s parameters from `data` (laid out as
    /// [`read_group_values`](Tape::read_group_values) writes it): to start every process
    /// from the same parameters, or to restore a checkpoint. Like
    /// [`write_param`](Tape::write_param), it makes ops recorded from the old values
    /// report [`Error::ModifiedInPlace`].
    pub fn write_group_values(&self, g: ParamGroup, data: &[T]) -> Result<()> {
        self.refuse_in_callback("write_group_values")?;
        let slot = self.group_slot(g)?;
        check_len(&slot, data.len(), "data length")?;
        let mut rest = data;
        for &index in slot.param_indices() {
            let p = self.param_id(index);
            let (head, tail) = rest.split_at(self.param_slot(p)?.len);
            self.write_param(p, head)?;
            rest = tail;
        }
        Ok(())
    }

    fn create_group(
        &self,
        count: usize,
        param_at: impl Fn(usize) -> ParamId,
    ) -> Result<ParamGroup> {
        self.refuse_in_callback("param_group")?;
        self.require_pristine(
            "make parameter groups right after creating the parameters, before recording",
        )?;
        if count == 0 {
            return Err(Error::InvalidArgument(
                "a parameter group needs at least one parameter",
            ));
        }
        let mut total = 0usize;
        for k in 0..count {
            let p = param_at(k);
            let slot = self.param_slot(p)?;
            if !slot.device.id.is_host() {
                return Err(Error::UnsupportedOnDevice(
                    "parameter groups hold host parameters only",
                ));
            }
            if slot.group.is_some() || (0..k).any(|j| param_at(j).index == p.index) {
                return Err(Error::InvalidArgument(
                    "a parameter can be in one group only, once",
                ));
            }
            total = total.checked_add(slot.len).ok_or(Error::SizeOverflow)?;
        }
        let undo = self.persistent_undo_point();
        let result = self.lay_out_group(count, &param_at, total);
        match result {
            Ok(_) => self.make_persistent(),
            Err(_) => self.undo_persistent(undo),
        }
        result
    }

    /// Takes the group's memory, moves its parameters' gradients there and enters it in
    /// the table. Nothing is changed before every allocation succeeded.
    fn lay_out_group(
        &self,
        count: usize,
        param_at: &impl Fn(usize) -> ParamId,
        total: usize,
    ) -> Result<ParamGroup> {
        let table = self.tensor_state().ok_or(Error::ForeignHandle)?.groups;
        let grown = if table.count == table.capacity {
            let capacity = table.capacity.saturating_mul(2).max(4);
            let empty = GroupSlot {
                grad: core::ptr::null_mut(),
                len: 0,
                params: core::ptr::null(),
                count: 0,
                first_use: 0,
                first_use_epoch: 0,
            };
            Some((self.alloc(capacity as usize, empty)?.as_ptr(), capacity))
        } else {
            None
        };
        let indices = self.alloc(count, 0u32)?.as_ptr();
        let grad = self.alloc(total, T::zero())?.as_ptr();
        let index = table.count;
        let mut offset = 0;
        for k in 0..count {
            let p = param_at(k);
            // SAFETY: `indices` holds `count` elements, and nothing else refers to it yet.
            unsafe { *indices.add(k) = p.index };
            let slot = self.param_slot(p)?;
            // SAFETY: `offset + len <= total`, the new buffer's length; the old gradient
            // holds `len` elements. No recording shares either (the tape is pristine).
            let moved = unsafe { grad.add(offset) };
            unsafe { core::ptr::copy_nonoverlapping(slot.grad, moved, slot.len) };
            self.update_param_slot(p, |slot| {
                slot.grad = moved;
                slot.group = Some(index);
            })?;
            offset += slot.len;
        }
        let group = GroupSlot {
            grad,
            len: total,
            params: indices,
            count: count as u32,
            first_use: 0,
            first_use_epoch: 0,
        };
        self.update_tensor_state(|state| {
            let table = &mut state.groups;
            if let Some((slots, capacity)) = grown {
                for i in 0..table.count as usize {
                    // SAFETY: both tables hold at least `count` slots.
                    unsafe { *slots.add(i) = *table.slots.add(i) };
                }
                table.slots = slots;
                table.capacity = capacity;
            }
            // SAFETY: `count < capacity`.
            unsafe { *table.slots.add(table.count as usize) = group };
            table.count += 1;
        })?;
        Ok(self.group_id(index))
    }

    /// The handle of this tape's group number `index`.
    pub(super) fn group_id(&self, index: u32) -> ParamGroup {
        ParamGroup {
            index,
            kind: HandleKind::ParamGroup.code(),
            tape: self.identity(),
        }
    }

    /// Runs `f` on group number `index`'s slot (an index this tape issued).
    pub(super) fn update_group_slot<R>(
        &self,
        index: u32,
        f: impl FnOnce(&mut GroupSlot<T>) -> R,
    ) -> Result<R> {
        self.update_tensor_state(|state| {
            let table = &state.groups;
            if index >= table.count {
                return Err(Error::ForeignHandle);
            }
            // SAFETY: `index < count`, the table holds `count` slots, reached only from
            // inside the state's cell.
            Ok(f(unsafe { &mut *table.slots.add(index as usize) }))
        })?
    }

    /// A copy of group `g`'s slot, after checking the handle.
    fn group_slot(&self, g: ParamGroup) -> Result<GroupSlot<T>> {
        if g.tape != self.identity() || !self.has_layer_state() {
            return Err(Error::ForeignHandle);
        }
        if g.kind != HandleKind::ParamGroup.code() {
            return Err(Error::WrongHandleKind {
                expected: HandleKind::describe(HandleKind::ParamGroup.code()),
                got: HandleKind::describe(g.kind),
            });
        }
        self.update_group_slot(g.index, |slot| *slot)
    }

    /// Zeroes the stale gradients in a group, so its whole buffer is the last gradient.
    pub(super) fn materialize_group(&self, slot: &GroupSlot<T>) -> Result<()> {
        slot.param_indices()
            .iter()
            .try_for_each(|&index| materialize(self, self.param_id(index)))
    }
}

/// Fails unless a caller's buffer holds exactly the group's element count.
fn check_len<T>(slot: &GroupSlot<T>, got: usize, what: &'static str) -> Result<()> {
    if got == slot.len {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            got,
            against: "the group's element count",
            expected: slot.len,
        })
    }
}
