//! Reading a tensor's shape, value, gradient and tangent into C arrays, and writing
//! values and tangent seeds from them.

use super::{ad_tensor, TensorElem};
use crate::error::{Failure, Result};
use crate::ptr;
use crate::tape::{ad_tape, call, Header};
use autodiff_core::{Shape, Tape, TensorId};

/// The shape of `x`, checked.
fn shape_of(header: &Header, x: ad_tensor) -> Result<Shape> {
    with_float_tape!(&header.tape, t => Ok(t.tensor_shape(x.into())?))
}

/// The rank of `x` (0 to 4), into `*rank_out`. Answers on a tape with a sticky error too.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `rank_out`), `AD_ERR_MISALIGNED` (`rank_out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_INVALID_ARGUMENT` (a scalar variable),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_rank(
    tape: *const ad_tape,
    x: ad_tensor,
    rank_out: *mut usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let rank_out = ptr::out(rank_out, "rank_out")?;
            *rank_out = shape_of(header, x)?.rank();
            Ok(())
        })
    }
}

/// The shape of `x`: its rank into `*rank_out` and its dimensions into
/// `dims_out[0..rank)`, which holds `cap` values (it may be NULL when `cap` is 0). 4 is
/// always enough. Answers on a tape with a sticky error too.
///
/// Statuses: `AD_ERR_BUFFER_TOO_SMALL` (`cap` is below the rank: the rank is still written to
/// `*rank_out`), `AD_ERR_NULL` (`tape`, `rank_out`, or `dims_out` with `cap > 0`),
/// `AD_ERR_MISALIGNED` (`dims_out` or `rank_out`), `AD_ERR_SIZE_OVERFLOW` (`cap`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_INVALID_ARGUMENT` (a scalar variable),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_dims(
    tape: *const ad_tape,
    x: ad_tensor,
    dims_out: *mut usize,
    cap: usize,
    rank_out: *mut usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let rank_out = ptr::out(rank_out, "rank_out")?;
            let dims = ptr::slice_mut(dims_out, cap, "dims_out")?;
            let shape = shape_of(header, x)?;
            *rank_out = shape.rank();
            if cap < shape.rank() {
                return Err(Failure::BufferTooSmall {
                    what: "dims_out",
                    needed: shape.rank(),
                    cap,
                });
            }
            for (slot, &d) in dims.iter_mut().zip(shape.dims()) {
                *slot = d as usize;
            }
            Ok(())
        })
    }
}

/// Copies out of the tensor `x` of a tape of `T` into the caller's `out[0..len)`.
///
/// # Safety
/// As for [`call`]; `out` valid for `len` writes.
unsafe fn read_out<T: TensorElem>(
    tape: *const ad_tape,
    x: ad_tensor,
    out: *mut T,
    len: usize,
    f: impl FnOnce(&Tape<'static, T>, TensorId, &mut [T]) -> autodiff_core::Result<()>,
) -> crate::error::ad_status {
    // SAFETY: forwarded from the caller.
    unsafe {
        call(tape, |header| {
            let t = T::typed(&header.tape)?;
            let out = ptr::slice_mut(out, len, "out")?;
            Ok(f(t, x.into(), out)?)
        })
    }
}

/// Copies the caller's `data[0..len)` into the tensor `x` of a tape of `T`.
///
/// # Safety
/// As for [`call`]; `data` valid for `len` reads.
unsafe fn write_in<T: TensorElem>(
    tape: *const ad_tape,
    x: ad_tensor,
    data: *const T,
    len: usize,
    f: impl FnOnce(&Tape<'static, T>, TensorId, &[T]) -> autodiff_core::Result<()>,
) -> crate::error::ad_status {
    // SAFETY: forwarded from the caller.
    unsafe {
        call(tape, |header| {
            let t = T::typed(&header.tape)?;
            let data = ptr::slice(data, len, "data")?;
            Ok(f(t, x.into(), data)?)
        })
    }
}

float_entry_points! {
    /// Copies the value of `x` (row-major) into `out[0..len)`, `len` being its element count,
    /// on an `AD_F32` tape. Values stay readable on a tape with a sticky error.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `out` with `len > 0`), `AD_ERR_MISALIGNED` (`out`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count, the message
    /// gives both; a scalar variable), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_STALE_HANDLE`,
    /// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_DTYPE_MISMATCH` (a tape of
    /// another dtype), `AD_ERR_BACKEND` (a device failed).
    fn ad_tensor_value_f32;
    /// `ad_tensor_value_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_tensor_value_f64;
    (
        tape: *const ad_tape,
        x: ad_tensor,
        [out: *mut Elem],
        len: usize,
    ) -> crate::error::ad_status {
        // SAFETY: the caller's contract.
        unsafe { read_out(tape, x, out, len, |t, id, out| t.tensor_value(id, out)) }
    }
}

float_entry_points! {
    /// Copies the gradient of `x` from the last `ad_backward()` into `out[0..len)`, as
    /// `ad_tensor_value_f32()`.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `out` with `len > 0`), `AD_ERR_MISALIGNED` (`out`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count, the message
    /// gives both; a scalar variable; a constant, which has no gradient), `AD_ERR_SIZE_OVERFLOW`
    /// (`len`), `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`x`),
    /// `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype), `AD_ERR_BACKEND` (a device failed), and the
    /// tape's sticky error.
    fn ad_tensor_grad_f32;
    /// `ad_tensor_grad_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_tensor_grad_f64;
    (
        tape: *const ad_tape,
        x: ad_tensor,
        [out: *mut Elem],
        len: usize,
    ) -> crate::error::ad_status {
        // SAFETY: the caller's contract.
        unsafe { read_out(tape, x, out, len, |t, id, out| t.tensor_grad(id, out)) }
    }
}

float_entry_points! {
    /// Copies the tangent of `x` from the last `ad_jvp()` into `out[0..len)` (zeros when
    /// no tangent reached it), as `ad_tensor_value_f32()`.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `out` with `len > 0`), `AD_ERR_MISALIGNED` (`out`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count, the message
    /// gives both; a scalar variable), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_STALE_HANDLE`,
    /// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_DTYPE_MISMATCH` (a tape of
    /// another dtype), `AD_ERR_BACKEND` (a device failed), and the tape's sticky error.
    fn ad_tensor_tangent_f32;
    /// `ad_tensor_tangent_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_tensor_tangent_f64;
    (
        tape: *const ad_tape,
        x: ad_tensor,
        [out: *mut Elem],
        len: usize,
    ) -> crate::error::ad_status {
        // SAFETY: the caller's contract.
        unsafe { read_out(tape, x, out, len, |t, id, out| t.tensor_tangent(id, out)) }
    }
}

float_entry_points! {
    /// Overwrites the value of the input or constant tensor `x` with `data[0..len)`, for
    /// a following `ad_replay()`. Ops recorded from `x` report `AD_ERR_MODIFIED_IN_PLACE`
    /// on `ad_backward()` until a replay recomputes them.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `data` with `len > 0`), `AD_ERR_MISALIGNED` (`data`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count, the message
    /// gives both; a tensor that is not an input or constant; a scalar variable),
    /// `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_STALE_HANDLE` or `AD_ERR_FOREIGN_HANDLE`,
    /// `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype),
    /// `AD_ERR_BACKEND` (a device failed).
    fn ad_tensor_set_value_f32;
    /// `ad_tensor_set_value_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_tensor_set_value_f64;
    (
        tape: *mut ad_tape,
        x: ad_tensor,
        [data: *const Elem],
        len: usize,
    ) -> crate::error::ad_status {
        // SAFETY: the caller's contract.
        unsafe {
            write_in(tape, x, data, len, |t, id, data| {
                t.set_tensor_value(id, data)
            })
        }
    }
}

float_entry_points! {
    /// Sets the tangent of the input tensor (or parameter use) `x` to `data[0..len)` for
    /// the next `ad_jvp()`: tensor inputs are seeded here, scalar inputs by `ad_jvp()`'s
    /// seeds. Takes `len` values of the tape's memory the first time.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, or `data` with `len > 0`), `AD_ERR_MISALIGNED` (`data`),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count, the message
    /// gives both; a tensor that is not an input or parameter use; a scalar variable),
    /// `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_STALE_HANDLE` or `AD_ERR_FOREIGN_HANDLE`,
    /// `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype),
    /// `AD_ERR_OUT_OF_MEMORY` (the tangent buffer does not fit), `AD_ERR_BACKEND` (a device failed),
    /// and the tape's sticky error.
    fn ad_tensor_seed_tangent_f32;
    /// `ad_tensor_seed_tangent_f32()` for an `AD_F64` tape, with the same statuses.
    fn ad_tensor_seed_tangent_f64;
    (
        tape: *mut ad_tape,
        x: ad_tensor,
        [data: *const Elem],
        len: usize,
    ) -> crate::error::ad_status {
        // SAFETY: the caller's contract.
        unsafe {
            write_in(tape, x, data, len, |t, id, data| {
                t.seed_tensor_tangent(id, data)
            })
        }
    }
}
