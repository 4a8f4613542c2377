//! Addresses of tensor and parameter buffers inside the tape's memory, for hosts that
//! read them in place instead of copying (numpy views in the Python package).
//!
//! The copying reads (`ad_tensor_value_*`, `ad_param_grad_*`, ...) need no rules beyond
//! the call. An address does: it is valid only as long as the memory it points into
//! holds that buffer, which the doc comments state and the host must enforce.

use crate::error::{ad_status, Failure, Result};
use crate::param::ad_param;
use crate::ptr;
use crate::tape::{ad_tape, call};
use crate::tensor::ad_tensor;
use autodiff_core::{Buffer, Error};
use core::ffi::{c_int, c_void};

/// Which buffer of a tensor or parameter `ad_tensor_buffer()` and `ad_param_buffer()`
/// locate. The numbers are part of the ABI.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ad_buffer {
    /// The value.
    AD_BUFFER_VALUE = 0,
    /// The gradient from the last `ad_backward()`.
    AD_BUFFER_GRAD = 1,
}

/// Receives an `ad_buffer` from C. Any `int` is safe to pass: an unknown value is
/// reported as `AD_ERR_INVALID_ARGUMENT`.
/// cbindgen:ignore
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct BufferArg(pub c_int);

impl BufferArg {
    fn get(self) -> Result<Buffer> {
        match self.0 {
            0 => Ok(Buffer::Value),
            1 => Ok(Buffer::Grad),
            _ => Err(Failure::Core(Error::InvalidArgument("unknown buffer"))),
        }
    }
}

/// Writes `found`'s address and length to the out-parameters, as `const void *`.
///
/// # Safety
/// The caller's contract for both out-pointers.
unsafe fn write_found<T>(
    found: (*const T, usize),
    data_out: *mut *const c_void,
    len_out: *mut usize,
) -> Result<()> {
    // SAFETY: forwarded from the caller.
    let (data_out, len_out) = unsafe {
        (
            ptr::out(data_out, "data_out")?,
            ptr::out(len_out, "len_out")?,
        )
    };
    *data_out = found.0.cast();
    *len_out = found.1;
    Ok(())
}

/// The address of the value or gradient (`which`) of tensor `x` inside the tape's memory,
/// into `*data_out`, and its element count into `*len_out`: `len` row-major `float`s on an
/// `AD_F32` tape, `double`s on an `AD_F64` one. Nothing is copied, so the contents are
/// whatever the tape holds when they are read: the next `ad_backward()` rewrites a
/// gradient, `ad_replay()` a value. The address stays valid until the tape's next
/// `ad_tape_reset()` or its end; reading it after that reads memory the tape reuses or
/// the caller took back. Read only: a write bypasses the checks that catch in-place
/// updates (use `ad_tensor_set_value_*()`). Rank-0 tensors have no buffer of their own
/// (read them with `ad_tensor_value_*()`), nor do tensors on a device; a constant has no
/// gradient. Answers values on a tape with a sticky error too.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `data_out` or `len_out`), `AD_ERR_MISALIGNED`
/// (`data_out` or `len_out`), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (an unknown
/// `which`; a rank-0 tensor; the gradient of a constant; a scalar variable),
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`x`),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_UNSUPPORTED_ON_DEVICE` (a tensor
/// on a device), and, for the gradient, the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_buffer(
    tape: *const ad_tape,
    x: ad_tensor,
    which: BufferArg,
    data_out: *mut *const c_void,
    len_out: *mut usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let which = which.get()?;
            with_float_tape!(&header.tape, t => {
                let found = t.tensor_buffer(x.into(), which)?;
                write_found(found, data_out, len_out)
            })
        })
    }
}

/// The address of the value or gradient (`which`) of parameter `p` inside the tape's
/// memory, into `*data_out`, and its element count into `*len_out`, as
/// `ad_tensor_buffer()`. A parameter's buffers outlive `ad_tape_reset()`: the address
/// stays valid until the tape ends. `ad_optim_step()` and `ad_param_write_*()` change the
/// value, every `ad_backward()` the gradient (asking for the gradient zeroes it when no
/// backward reached the parameter since its last `ad_param_use()`).
///
/// Statuses: `AD_ERR_NULL` (`tape`, `data_out` or `len_out`), `AD_ERR_MISALIGNED`
/// (`data_out` or `len_out`), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (an unknown
/// `which`), `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND` (`p` is not a parameter
/// of this tape), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape),
/// `AD_ERR_UNSUPPORTED_ON_DEVICE` (a parameter on a device).
#[no_mangle]
pub unsafe extern "C" fn ad_param_buffer(
    tape: *const ad_tape,
    p: ad_param,
    which: BufferArg,
    data_out: *mut *const c_void,
    len_out: *mut usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let which = which.get()?;
            with_float_tape!(&header.tape, t => {
                let found = t.param_buffer(p.into(), which)?;
                write_found(found, data_out, len_out)
            })
        })
    }
}
