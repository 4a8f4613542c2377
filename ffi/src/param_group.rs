//! `ad_param_group`: parameters whose gradients share one contiguous buffer, for data
//! parallelism. After `ad_backward()`, a host reduces the group's gradients across
//! processes in place (one `MPI_Allreduce` over the buffer `ad_param_group_grads_*()`
//! returns), then calls `ad_optim_step()`, which uses the reduced values. Bulk reads and
//! writes of values start every process from the same parameters and restore
//! checkpoints.

use crate::error::{ad_status, Result};
use crate::param::ad_param;
use crate::ptr;
use crate::tape::{ad_tape, call};
use crate::tensor::TensorElem;
use autodiff_core::{ParamGroup, ParamId, Tape};

/// A group of a tape's parameters: its number, its kind and the identity of its tape.
/// Like `ad_param`, it stays valid across `ad_tape_reset()`, and another tape rejects it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ad_param_group {
    /// The group's number on its tape.
    pub index: u32,
    /// Which kind of handle this is; checked on every use.
    pub kind: u32,
    /// The identity of the tape that made it, unique in the process.
    pub tape: u32,
}

impl From<ad_param_group> for ParamGroup {
    fn from(g: ad_param_group) -> ParamGroup {
        ParamGroup {
            index: g.index,
            kind: g.kind,
            tape: g.tape,
        }
    }
}

impl From<ParamGroup> for ad_param_group {
    fn from(g: ParamGroup) -> ad_param_group {
        ad_param_group {
            index: g.index,
            kind: g.kind,
            tape: g.tape,
        }
    }
}

/// `ad_param` and `ParamId` are the same three `u32`s, so an array of one is read as the
/// other.
const _: () = {
    assert!(core::mem::size_of::<ad_param>() == core::mem::size_of::<ParamId>());
    assert!(core::mem::align_of::<ad_param>() == core::mem::align_of::<ParamId>());
    assert!(core::mem::offset_of!(ad_param, index) == core::mem::offset_of!(ParamId, index));
    assert!(core::mem::offset_of!(ad_param, kind) == core::mem::offset_of!(ParamId, kind));
    assert!(core::mem::offset_of!(ad_param, tape) == core::mem::offset_of!(ParamId, tape));
};

/// A group of the `n` parameters at `params`, in that order, into `*group_out`: their
/// gradients move into one contiguous buffer of the sum of their element counts, taken
/// from the tape's memory for its whole life (the parameters' own gradient buffers go
/// unused: a group costs its gradients' size once more). Make groups right after creating
/// the parameters (before or after setting the optimizer), before recording anything. A
/// parameter belongs to at most one group. One group per layer lets a host reduce layer
/// by layer; `ad_param_group_all()` makes one of everything.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `group_out`, or `params` with `n > 0`),
/// `AD_ERR_MISALIGNED` (`params`, `group_out`), `AD_ERR_INVALID_TAPE`,
/// `AD_ERR_INVALID_ARGUMENT` (`n` is 0; a parameter already in a group or given twice;
/// something was recorded since the last reset), `AD_ERR_FOREIGN_HANDLE`,
/// `AD_ERR_WRONG_HANDLE_KIND` (an element of `params` is not a parameter of this tape),
/// `AD_ERR_UNSUPPORTED_ON_DEVICE` (a parameter on a device), `AD_ERR_SIZE_OVERFLOW`,
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape), and the
/// tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_param_group_new(
    tape: *mut ad_tape,
    params: *const ad_param,
    n: usize,
    group_out: *mut ad_param_group,
) -> ad_status {
    // SAFETY: the caller's contract; `ad_param` is laid out as `ParamId` (checked above).
    unsafe {
        call(tape, |header| {
            let params = ptr::slice(params.cast::<ParamId>(), n, "params")?;
            let group_out = ptr::out(group_out, "group_out")?;
            *group_out = with_float_tape!(&header.tape, t => Ok(t.param_group(params)?))?.into();
            Ok(())
        })
    }
}

/// A group of every parameter of the tape, in the order they were created, into
/// `*group_out`; as `ad_param_group_new()`.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `group_out`), `AD_ERR_MISALIGNED` (`group_out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (the tape has no parameters, or one is in
/// a group already; something was recorded since the last reset),
/// `AD_ERR_UNSUPPORTED_ON_DEVICE` (a parameter on a device), `AD_ERR_SIZE_OVERFLOW`,
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape), and the tape's
/// sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_param_group_all(
    tape: *mut ad_tape,
    group_out: *mut ad_param_group,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let group_out = ptr::out(group_out, "group_out")?;
            *group_out = with_float_tape!(&header.tape, t => Ok(t.param_group_all()?))?.into();
            Ok(())
        })
    }
}

/// The number of elements of group `g`'s gradients (and of its parameters' values), into
/// `*len_out`.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `len_out`), `AD_ERR_MISALIGNED` (`len_out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND` (`g` is not
/// a group of this tape), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_param_group_len(
    tape: *const ad_tape,
    g: ad_param_group,
    len_out: *mut usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let len_out = ptr::out(len_out, "len_out")?;
            *len_out = with_float_tape!(&header.tape, t => Ok(t.group_len(g.into())?))?;
            Ok(())
        })
    }
}

/// `ad_param_group_grads_*` for a tape of `T`.
///
/// # Safety
/// As for [`call`].
unsafe fn grads<T: TensorElem>(
    tape: *mut ad_tape,
    g: ad_param_group,
    data_out: *mut *mut T,
    len_out: *mut usize,
) -> ad_status {
    // SAFETY: forwarded from the caller.
    unsafe {
        call(tape, |header| {
            let data_out = ptr::out(data_out, "data_out")?;
            let len_out = ptr::out(len_out, "len_out")?;
            let (data, len) = T::typed(&header.tape)?.group_grad_buffer(g.into())?;
            *data_out = data;
            *len_out = len;
            Ok(())
        })
    }
}

float_entry_points! {
    /// Group `g`'s gradient buffer on an `AD_F32` tape: its address into `*data_out`, its
    /// element count into `*len_out`. Call it after each `ad_backward()`: it brings the
    /// buffer up to date (a parameter the recording used but the output did not reach reads as
    /// zero; one the recording did not use keeps its last gradient, as `ad_param_grad_*()`
    /// reports it). The host may
    /// then read and overwrite the buffer in place (an `MPI_Allreduce(MPI_IN_PLACE, ...)`,
    /// a scaling), and `ad_optim_step()` uses what it holds. The address is the same for the
    /// tape's whole life; the next `ad_backward()` overwrites the contents.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, `data_out` or `len_out`), `AD_ERR_MISALIGNED`
    /// (`data_out` or `len_out`), `AD_ERR_INVALID_TAPE`, `AD_ERR_FOREIGN_HANDLE`,
    /// `AD_ERR_WRONG_HANDLE_KIND` (`g` is not a group of this tape), `AD_ERR_DTYPE_MISMATCH`
    /// (a tape of another dtype).
    fn ad_param_group_grads_f32;
    /// `ad_param_group_grads_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_param_group_grads_f64;
    (
        tape: *mut ad_tape,
        g: ad_param_group,
        [data_out: *mut *mut Elem],
        len_out: *mut usize,
    ) -> ad_status {
        // SAFETY: the caller's contract.
        unsafe { grads(tape, g, data_out, len_out) }
    }
}

float_entry_points! {
    /// Copies group `g`'s gradients (from the last `ad_backward()`, brought up to date as by
    /// `ad_param_group_grads_*()`) into `out[0..len)` on an `AD_F32` tape, `len` the group's
    /// element count (`ad_param_group_len()`). For hosts that keep their own buffer.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `out` with `len > 0`), `AD_ERR_MISALIGNED` (`out`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the group's element count;
    /// the message gives both), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_FOREIGN_HANDLE`,
    /// `AD_ERR_WRONG_HANDLE_KIND` (`g` is not a group of this tape), `AD_ERR_DTYPE_MISMATCH` (a
    /// tape of another dtype).
    fn ad_param_group_read_grads_f32;
    /// `ad_param_group_read_grads_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_param_group_read_grads_f64;
    (
        tape: *const ad_tape,
        g: ad_param_group,
        [out: *mut Elem],
        len: usize,
    ) -> ad_status {
        // SAFETY: the caller's contract.
        unsafe {
            with_group(tape, out, |t, out| {
                Ok(t.read_group_grads(g.into(), ptr::slice_mut(out, len, "out")?)?)
            })
        }
    }
}

float_entry_points! {
    /// Overwrites group `g`'s gradients with `data[0..len)` on an `AD_F32` tape (a gradient
    /// reduced in a host's own buffer): the next `ad_optim_step()` uses it.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `data` with `len > 0`), `AD_ERR_MISALIGNED` (`data`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the group's element count;
    /// the message gives both), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_FOREIGN_HANDLE`,
    /// `AD_ERR_WRONG_HANDLE_KIND` (`g` is not a group of this tape), `AD_ERR_DTYPE_MISMATCH` (a
    /// tape of another dtype), `AD_ERR_REENTRANT` (called from inside a callback running on this
    /// tape).
    fn ad_param_group_write_grads_f32;
    /// `ad_param_group_write_grads_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_param_group_write_grads_f64;
    (
        tape: *mut ad_tape,
        g: ad_param_group,
        [data: *const Elem],
        len: usize,
    ) -> ad_status {
        // SAFETY: the caller's contract.
        unsafe {
            with_group(tape, data, |t, data| {
                Ok(t.write_group_grads(g.into(), ptr::slice(data, len, "data")?)?)
            })
        }
    }
}

float_entry_points! {
    /// Copies the values of group `g`'s parameters, one after another in the group's order,
    /// into `out[0..len)` on an `AD_F32` tape.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `out` with `len > 0`), `AD_ERR_MISALIGNED` (`out`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the group's element count;
    /// the message gives both), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_FOREIGN_HANDLE`,
    /// `AD_ERR_WRONG_HANDLE_KIND` (`g` is not a group of this tape), `AD_ERR_DTYPE_MISMATCH` (a
    /// tape of another dtype).
    fn ad_param_group_read_values_f32;
    /// `ad_param_group_read_values_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_param_group_read_values_f64;
    (
        tape: *const ad_tape,
        g: ad_param_group,
        [out: *mut Elem],
        len: usize,
    ) -> ad_status {
        // SAFETY: the caller's contract.
        unsafe {
            with_group(tape, out, |t, out| {
                Ok(t.read_group_values(g.into(), ptr::slice_mut(out, len, "out")?)?)
            })
        }
    }
}

float_entry_points! {
    /// Overwrites the values of group `g`'s parameters from `data[0..len)` on an `AD_F32` tape,
    /// laid out as `ad_param_group_read_values_f32()` writes it: to start every process from
    /// rank 0's parameters (broadcast them, then write), or to restore a checkpoint. Ops
    /// recorded from the old values report `AD_ERR_MODIFIED_IN_PLACE` on `ad_backward()`.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `data` with `len > 0`), `AD_ERR_MISALIGNED` (`data`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the group's element count;
    /// the message gives both), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_FOREIGN_HANDLE`,
    /// `AD_ERR_WRONG_HANDLE_KIND` (`g` is not a group of this tape), `AD_ERR_DTYPE_MISMATCH` (a
    /// tape of another dtype), `AD_ERR_REENTRANT` (called from inside a callback running on this
    /// tape), `AD_ERR_BACKEND` (a device failed).
    fn ad_param_group_write_values_f32;
    /// `ad_param_group_write_values_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_param_group_write_values_f64;
    (
        tape: *mut ad_tape,
        g: ad_param_group,
        [data: *const Elem],
        len: usize,
    ) -> ad_status {
        // SAFETY: the caller's contract.
        unsafe {
            with_group(tape, data, |t, data| {
                Ok(t.write_group_values(g.into(), ptr::slice(data, len, "data")?)?)
            })
        }
    }
}

/// Runs `f` on a tape of `T` and the C array `buffer`.
///
/// # Safety
/// As for [`call`].
unsafe fn with_group<T: TensorElem, B>(
    tape: *const ad_tape,
    buffer: B,
    f: impl FnOnce(&Tape<'static, T>, B) -> Result<()>,
) -> ad_status {
    // SAFETY: forwarded from the caller.
    unsafe { call(tape, |header| f(T::typed(&header.tape)?, buffer)) }
}
