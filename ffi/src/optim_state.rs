//! Saving and restoring the optimizer's whole state (SGD's velocities, Adam's moments and
//! its step count), so that a training job can checkpoint and resume. Together with the
//! parameters' values (`ad_param_group_read_values_*()`), a resumed run continues bit for
//! bit as the uninterrupted one.

use crate::error::{ad_status, Failure};
use crate::ptr;
use crate::tape::{ad_tape, call};
use core::ffi::c_void;

/// The number of bytes `ad_optim_state_save()` writes, into `*bytes_out`.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `bytes_out`), `AD_ERR_MISALIGNED` (`bytes_out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (no optimizer is set),
/// `AD_ERR_UNSUPPORTED_ON_DEVICE` (a parameter lives on a device), `AD_ERR_SIZE_OVERFLOW`,
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_optim_state_bytes(
    tape: *const ad_tape,
    bytes_out: *mut usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let bytes_out = ptr::out(bytes_out, "bytes_out")?;
            *bytes_out = with_float_tape!(&header.tape, t => Ok(t.optimizer_state_bytes()?))?;
            Ok(())
        })
    }
}

/// Writes the optimizer's whole state (its kind, its step count and every parameter's
/// state buffers, in the machine's byte order) into `buf[0..cap)`, and its length into
/// `*len_out`. Save the parameters' values beside it to checkpoint a job.
///
/// Statuses: `AD_ERR_BUFFER_TOO_SMALL` (`cap` is below the state's size: `*len_out` still
/// says how many bytes are needed, and nothing is written to `buf`), `AD_ERR_NULL`
/// (`tape`, `len_out`, or `buf` with `cap > 0`), `AD_ERR_MISALIGNED` (`len_out`),
/// `AD_ERR_SIZE_OVERFLOW` (`cap`), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (no
/// optimizer is set), `AD_ERR_UNSUPPORTED_ON_DEVICE` (a parameter lives on a device),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_optim_state_save(
    tape: *const ad_tape,
    buf: *mut c_void,
    cap: usize,
    len_out: *mut usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let len_out = ptr::out(len_out, "len_out")?;
            let buf = ptr::slice_mut(buf.cast::<u8>(), cap, "buf")?;
            with_float_tape!(&header.tape, t => {
                let needed = t.optimizer_state_bytes()?;
                *len_out = needed;
                if cap < needed {
                    return Err(Failure::BufferTooSmall { what: "buf", needed, cap });
                }
                t.save_optimizer_state(buf)?;
                Ok(())
            })
        })
    }
}

/// Restores an optimizer state that `ad_optim_state_save()` wrote, `data[0..len)`, from a
/// tape with the same dtype, the same optimizer and parameters of the same sizes in the
/// same order (its settings, such as the learning rate, stay as this tape's). Nothing
/// changes unless it all matches.
///
/// Statuses: `AD_ERR_STATE_MISMATCH` (not a saved state, or saved from a tape that differs
/// in one of those ways; the message says which), `AD_ERR_INVALID_ARGUMENT` (`len` is not
/// the state's size; no optimizer is set), `AD_ERR_NULL` (`tape`, or `data` with
/// `len > 0`), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_INVALID_TAPE`,
/// `AD_ERR_UNSUPPORTED_ON_DEVICE` (a parameter lives on a device), `AD_ERR_DTYPE_MISMATCH`
/// (an `AD_F64_DUAL` tape), `AD_ERR_REENTRANT` (called from inside a callback running on
/// this tape).
#[no_mangle]
pub unsafe extern "C" fn ad_optim_state_load(
    tape: *mut ad_tape,
    data: *const c_void,
    len: usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let data = ptr::slice(data.cast::<u8>(), len, "data")?;
            with_float_tape!(&header.tape, t => Ok(t.load_optimizer_state(data)?))
        })
    }
}
