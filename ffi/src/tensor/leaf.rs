//! Tensors made from C arrays: inputs and constants, per float dtype.

use super::{ad_tensor, record, TensorElem, INVALID};
use crate::ptr;
use crate::tape::ad_tape;

/// A leaf tensor (input or constant) of `T`.
///
/// # Safety
/// The caller's contract for `dims` and `data`.
unsafe fn leaf<T: TensorElem>(
    tape: *const ad_tape,
    dims: *const usize,
    rank: usize,
    data: *const T,
    len: usize,
    constant: bool,
) -> ad_tensor {
    // SAFETY: forwarded from the caller.
    unsafe {
        record(tape, INVALID, |header| {
            let t = T::typed(&header.tape)?;
            let dims = ptr::slice(dims, rank, "dims")?;
            let data = ptr::slice(data, len, "data")?;
            let id = if constant {
                t.tensor_constant(dims, data)
            } else {
                t.tensor_input(dims, data)
            };
            Ok(id.into())
        })
    }
}

float_entry_points! {
    /// A new input tensor on an `AD_F32` tape: shape `dims[0..rank)` (rank 0 to 4; rank 0 is
    /// a scalar and `dims` may be NULL), holding a copy of the `len` row-major values at
    /// `data`. `len` must be the product of the dimensions (`AD_ERR_INVALID_ARGUMENT`).
    /// Gradients flow into it, and `ad_tensor_set_value_f32()` may overwrite it for
    /// `ad_replay()`. On an `AD_F64` tape the op fails with `AD_ERR_DTYPE_MISMATCH`.
    fn ad_tensor_input_f32;
    /// `ad_tensor_input_f32()` for an `AD_F64` tape.
    fn ad_tensor_input_f64;
    ///
    /// Sticky errors: `AD_ERR_NULL` (`dims` with `rank > 0`, `data` with `len > 0`),
    /// `AD_ERR_MISALIGNED` (`dims` or `data`), `AD_ERR_INVALID_ARGUMENT` (a rank above 4, a
    /// dimension above `UINT32_MAX`, or `len` not the element count: the message gives both),
    /// `AD_ERR_SIZE_OVERFLOW` (the element count, `rank` or `len` overflows `size_t`),
    /// `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype), `AD_ERR_OUT_OF_MEMORY`,
    /// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (the upload to a default device failed).
    (
        tape: *mut ad_tape,
        dims: *const usize,
        rank: usize,
        [data: *const Elem],
        len: usize,
    ) -> ad_tensor {
        // SAFETY: the caller's contract.
        unsafe { leaf(tape, dims, rank, data, len, false) }
    }
}

float_entry_points! {
    /// A constant tensor on an `AD_F32` tape: as `ad_tensor_input_f32()`, but no gradient
    /// flows into it (`ad_tensor_grad_f32()` of it fails with `AD_ERR_INVALID_ARGUMENT`).
    fn ad_tensor_const_f32;
    /// `ad_tensor_const_f32()` for an `AD_F64` tape.
    fn ad_tensor_const_f64;
    ///
    /// Sticky errors: `AD_ERR_NULL` (`dims` with `rank > 0`, `data` with `len > 0`),
    /// `AD_ERR_MISALIGNED` (`dims` or `data`), `AD_ERR_INVALID_ARGUMENT` (a rank above 4, a
    /// dimension above `UINT32_MAX`, or `len` not the element count: the message gives both),
    /// `AD_ERR_SIZE_OVERFLOW` (the element count, `rank` or `len` overflows `size_t`),
    /// `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype), `AD_ERR_OUT_OF_MEMORY`,
    /// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (the upload to a default device failed).
    (
        tape: *mut ad_tape,
        dims: *const usize,
        rank: usize,
        [data: *const Elem],
        len: usize,
    ) -> ad_tensor {
        // SAFETY: the caller's contract.
        unsafe { leaf(tape, dims, rank, data, len, true) }
    }
}
