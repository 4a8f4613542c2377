//! `ad_param`: tensors that persist across `ad_tape_reset()`, for training.
//!
//! Parameters live in a region at the top of the tape's memory that a reset keeps. They
//! must be created right after `ad_tape_init()` (or a reset), before anything is
//! recorded; then the optimizer is set (see [`crate::optim`]). Each training step resets
//! the tape, records a use of every parameter with `ad_param_use()`, runs backward and
//! calls `ad_optim_step()`: the memory in use is the same at every step.

use crate::error::{ad_status, Result};
use crate::ptr;
use crate::tape::{ad_tape, call};
use crate::tensor::{ad_tensor, record, TensorElem, INVALID};
use autodiff_core::{ParamId, Tape};

/// A parameter of a tape: its number, its kind and the identity of its tape. Unlike
/// variables and tensors it stays valid across `ad_tape_reset()`; another tape rejects it
/// (`AD_ERR_FOREIGN_HANDLE`), and a variable's or tensor's bytes posing as one are
/// `AD_ERR_WRONG_HANDLE_KIND`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ad_param {
    /// The parameter's number on its tape.
    pub index: u32,
    /// Which kind of handle this is; checked on every use.
    pub kind: u32,
    /// The identity of the tape that made it, unique in the process.
    pub tape: u32,
}

impl From<ad_param> for ParamId {
    fn from(p: ad_param) -> ParamId {
        ParamId {
            index: p.index,
            kind: p.kind,
            tape: p.tape,
        }
    }
}

impl From<ParamId> for ad_param {
    fn from(p: ParamId) -> ad_param {
        ad_param {
            index: p.index,
            kind: p.kind,
            tape: p.tape,
        }
    }
}

/// `ad_param_new_*` for a tape of `T`.
///
/// # Safety
/// The caller's contract for every pointer.
unsafe fn new_param<T: TensorElem>(
    tape: *mut ad_tape,
    dims: *const usize,
    rank: usize,
    init: *const T,
    len: usize,
    param_out: *mut ad_param,
) -> ad_status {
    // SAFETY: forwarded from the caller.
    unsafe {
        call(tape, |header| {
            let t = T::typed(&header.tape)?;
            let param_out = ptr::out(param_out, "param_out")?;
            let dims = ptr::slice(dims, rank, "dims")?;
            let init = ptr::slice(init, len, "init")?;
            *param_out = t.parameter(dims, init)?.into();
            Ok(())
        })
    }
}

float_entry_points! {
    /// A new parameter on an `AD_F32` tape, of shape `dims[0..rank)` and initial value
    /// `init[0..len)` (row-major, `len` the element count), into `*param_out`. It takes its
    /// value, its gradient and (once an optimizer is set) the optimizer's state from the
    /// tape's memory for the tape's whole life, on the tape's default device
    /// (`ad_tape_set_device()`). Create every parameter right after `ad_tape_init()` or
    /// `ad_tape_reset()`, before recording anything and before `ad_optim_sgd()` or
    /// `ad_optim_adam()`.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, `param_out`, `dims` with `rank > 0`, or `init` with `len > 0`),
    /// `AD_ERR_MISALIGNED` (`dims`, `init` or `param_out`), `AD_ERR_INVALID_TAPE`,
    /// `AD_ERR_INVALID_ARGUMENT` (something was recorded since the last reset, or an optimizer is set;
    /// a rank above 4 or a dimension above `UINT32_MAX`; `len` is not the element count, the message
    /// gives both), `AD_ERR_SIZE_OVERFLOW` (the element count, `rank` or `len`),
    /// `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype), `AD_ERR_OUT_OF_MEMORY`,
    /// `AD_ERR_UNSUPPORTED_ON_DEVICE` (rank 0 on a device), `AD_ERR_BACKEND` (a device failed), and the
    /// tape's sticky error, `AD_ERR_REENTRANT` (called from inside a callback running on this tape).
    fn ad_param_new_f32;
    /// `ad_param_new_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_param_new_f64;
    (
        tape: *mut ad_tape,
        dims: *const usize,
        rank: usize,
        [init: *const Elem],
        len: usize,
        param_out: *mut ad_param,
    ) -> ad_status {
        // SAFETY: the caller's contract.
        unsafe { new_param(tape, dims, rank, init, len, param_out) }
    }
}

/// Records a use of parameter `p` in the current recording: a tensor that shares the
/// parameter's value and gradient (no copy). Its gradient starts at zero. Sticky like
/// every op. Use each parameter once per recording: a second use zeroes the gradient the
/// first one's ops will accumulate into.
///
/// Sticky errors: `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND` (`p` is not a parameter of
/// this tape), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_param_use(tape: *mut ad_tape, p: ad_param) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe {
        record(
            tape,
            INVALID,
            |header| with_float_tape!(&header.tape, t => Ok(t.param(p.into()).into())),
        )
    }
}

/// The number of parameters of the tape, into `*count_out`.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `count_out`), `AD_ERR_MISALIGNED` (`count_out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_param_count(tape: *const ad_tape, count_out: *mut usize) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let count_out = ptr::out(count_out, "count_out")?;
            *count_out = with_float_tape!(&header.tape, t => Ok(t.num_params()))?;
            Ok(())
        })
    }
}

/// Runs `f` on the parameter `p` of a tape of `T` and a C array.
///
/// # Safety
/// As for [`call`]; `buffer` valid for `len` values.
unsafe fn param_data<T: TensorElem, B>(
    tape: *const ad_tape,
    buffer: B,
    f: impl FnOnce(&Tape<'static, T>, B) -> Result<()>,
) -> ad_status {
    // SAFETY: forwarded from the caller.
    unsafe { call(tape, |header| f(T::typed(&header.tape)?, buffer)) }
}

float_entry_points! {
    /// Copies the value of parameter `p` into `out[0..len)` on an `AD_F32` tape; `len` must be
    /// its element count.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `out` with `len > 0`), `AD_ERR_MISALIGNED` (`out`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count; the message
    /// gives both), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND`
    /// (`p` is not a parameter of this tape), `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype),
    /// `AD_ERR_BACKEND` (a device failed).
    fn ad_param_read_f32;
    /// `ad_param_read_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_param_read_f64;
    (
        tape: *const ad_tape,
        p: ad_param,
        [out: *mut Elem],
        len: usize,
    ) -> ad_status {
        // SAFETY: the caller's contract.
        unsafe {
            param_data(tape, out, |t, out| {
                Ok(t.read_param(p.into(), ptr::slice_mut(out, len, "out")?)?)
            })
        }
    }
}

float_entry_points! {
    /// Copies the gradient of parameter `p` from the last `ad_backward()` into
    /// `out[0..len)`, as `ad_param_read_f32()`.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `out` with `len > 0`), `AD_ERR_MISALIGNED` (`out`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count; the message
    /// gives both), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND`
    /// (`p` is not a parameter of this tape), `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype),
    /// `AD_ERR_BACKEND` (a device failed).
    fn ad_param_grad_f32;
    /// `ad_param_grad_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_param_grad_f64;
    (
        tape: *const ad_tape,
        p: ad_param,
        [out: *mut Elem],
        len: usize,
    ) -> ad_status {
        // SAFETY: the caller's contract.
        unsafe {
            param_data(tape, out, |t, out| {
                Ok(t.read_param_grad(p.into(), ptr::slice_mut(out, len, "out")?)?)
            })
        }
    }
}

float_entry_points! {
    /// Overwrites the value of parameter `p` with `data[0..len)`. Ops already recorded
    /// from its old value report `AD_ERR_MODIFIED_IN_PLACE` on `ad_backward()` instead of
    /// giving wrong gradients; record again (after a reset) to use the new value.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `data` with `len > 0`), `AD_ERR_MISALIGNED` (`data`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count; the message
    /// gives both), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND`
    /// (`p` is not a parameter of this tape), `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype),
    /// `AD_ERR_BACKEND` (a device failed), `AD_ERR_REENTRANT` (called from inside a callback running on
    /// this tape).
    fn ad_param_write_f32;
    /// `ad_param_write_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_param_write_f64;
    (
        tape: *mut ad_tape,
        p: ad_param,
        [data: *const Elem],
        len: usize,
    ) -> ad_status {
        // SAFETY: the caller's contract.
        unsafe {
            param_data(tape, data, |t, data| {
                Ok(t.write_param(p.into(), ptr::slice(data, len, "data")?)?)
            })
        }
    }
}
