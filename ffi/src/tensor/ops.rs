//! The tensor ops: products, elementwise arithmetic and activations, reductions,
//! reshapes, softmax and losses, each recording one tensor record.

use super::{ad_tensor, record, ActivationArg};
use crate::ptr;
use crate::tape::ad_tape;
use crate::var::ad_var;
use autodiff_core::{Error, Shape, TensorId, VarId};
use core::ffi::c_int;

/// The matrix product `op(a) · op(b)` of two 2-D tensors, where `op` transposes its
/// argument when `transpose_a` (or `transpose_b`) is non-zero: `[m, k] · [k, n]` gives
/// `[m, n]`. Inner dimensions that differ are `AD_ERR_SHAPE_MISMATCH`, and
/// `ad_tape_error()` names both shapes.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (not two 2-D tensors whose inner dimensions agree),
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of
/// this tape's current recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is
/// expected), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments
/// on different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_matmul(
    tape: *mut ad_tape,
    a: ad_tensor,
    b: ad_tensor,
    transpose_a: c_int,
    transpose_b: c_int,
) -> ad_tensor {
    let (a, b) = (a.into(), b.into());
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.matmul_t(a, b, transpose_a != 0, transpose_b != 0))) }
}

/// The fused layer `act(x · w + b)` in one record: `x` is `[batch, in]`, `w` `[in, out]`,
/// `b` `[out]`, the result `[batch, out]`. `act` must be one whose derivative its output
/// determines: `AD_ACT_IDENTITY`, `AD_ACT_RELU`, `AD_ACT_SIGMOID`, `AD_ACT_TANH` or
/// `AD_ACT_EXP` (`AD_ERR_INVALID_ARGUMENT` otherwise).
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (shapes that do not fit), `AD_ERR_STALE_HANDLE` ,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected; an `act`
/// not listed above), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH`
/// (arguments on different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`,
/// `AD_ERR_BACKEND` (a device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_linear(
    tape: *mut ad_tape,
    x: ad_tensor,
    w: ad_tensor,
    b: ad_tensor,
    act: ActivationArg,
) -> ad_tensor {
    let (x, w, b) = (x.into(), w.into(), b.into());
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.linear(x, w, b, act.get()?))) }
}

/// `a + b` elementwise, with numpy broadcasting (shapes aligned at their last axes; a
/// dimension of 1 stretches). Shapes that do not broadcast are `AD_ERR_SHAPE_MISMATCH`.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (shapes that do not broadcast), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on
/// different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_add(
    tape: *mut ad_tape,
    a: ad_tensor,
    b: ad_tensor,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.tensor_add(a.into(), b.into()))) }
}

/// `a - b` elementwise, with broadcasting as `ad_tensor_add()`.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (shapes that do not broadcast), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on
/// different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_sub(
    tape: *mut ad_tape,
    a: ad_tensor,
    b: ad_tensor,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.tensor_sub(a.into(), b.into()))) }
}

/// `a * b` elementwise, with broadcasting as `ad_tensor_add()`.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (shapes that do not broadcast), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on
/// different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_mul(
    tape: *mut ad_tape,
    a: ad_tensor,
    b: ad_tensor,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.tensor_mul(a.into(), b.into()))) }
}

/// `a / b` elementwise, with broadcasting as `ad_tensor_add()`.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (shapes that do not broadcast), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on
/// different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_div(
    tape: *mut ad_tape,
    a: ad_tensor,
    b: ad_tensor,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.tensor_div(a.into(), b.into()))) }
}

/// `x * c` for a constant `c` (finite; `AD_ERR_INVALID_ARGUMENT` otherwise).
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a
/// tensor not of this tape's current recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where
/// a tensor is expected; a `c` that is NaN or infinite), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL`
/// tape), `AD_ERR_DEVICE_MISMATCH` (arguments on different devices), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_scale(tape: *mut ad_tape, x: ad_tensor, c: f64) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.scale(x.into(), c))) }
}

/// `act(x)` elementwise, for any `ad_activation` (`AD_ACT_LEAKY_RELU` with slope 0.01).
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a
/// tensor not of this tape's current recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where
/// a tensor is expected; an unknown `act`), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape),
/// `AD_ERR_DEVICE_MISMATCH` (arguments on different devices), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_activation(
    tape: *mut ad_tape,
    x: ad_tensor,
    act: ActivationArg,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.activation(x.into(), act.get()?))) }
}

/// `x` where `x > 0`, `slope * x` elsewhere, elementwise (`slope` finite).
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a
/// tensor not of this tape's current recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where
/// a tensor is expected; a `slope` that is NaN or infinite), `AD_ERR_DTYPE_MISMATCH` (an
/// `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on different devices),
/// `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_leaky_relu(tape: *mut ad_tape, x: ad_tensor, slope: f64) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.leaky_relu(x.into(), slope))) }
}

/// The sum of all elements: a rank-0 tensor (see `ad_tensor_as_var()`).
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a
/// tensor not of this tape's current recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where
/// a tensor is expected), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH`
/// (arguments on different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`,
/// `AD_ERR_BACKEND` (a device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_sum(tape: *mut ad_tape, x: ad_tensor) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.sum(x.into()))) }
}

/// The mean of all elements: a rank-0 tensor.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a
/// tensor not of this tape's current recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where
/// a tensor is expected), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH`
/// (arguments on different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`,
/// `AD_ERR_BACKEND` (a device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_mean(tape: *mut ad_tape, x: ad_tensor) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.mean(x.into()))) }
}

/// Sums along `axis` (below the rank; `AD_ERR_SHAPE_MISMATCH` otherwise), removing it:
/// `[2, 3]` along axis 0 gives `[3]`.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (`axis` not below the rank), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on
/// different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_sum_axis(
    tape: *mut ad_tape,
    x: ad_tensor,
    axis: usize,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.sum_axis(x.into(), axis))) }
}

/// Means along `axis`, removing it, as `ad_tensor_sum_axis()`.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (`axis` not below the rank), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on
/// different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_mean_axis(
    tape: *mut ad_tape,
    x: ad_tensor,
    axis: usize,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.mean_axis(x.into(), axis))) }
}

/// The same elements in the shape `dims[0..rank)`, which must have the same element
/// count (`AD_ERR_SHAPE_MISMATCH` otherwise).
///
/// Sticky errors: `AD_ERR_NULL` (`dims` with `rank > 0`), `AD_ERR_MISALIGNED` (`dims`),
/// `AD_ERR_SIZE_OVERFLOW` (`rank`), `AD_ERR_SHAPE_MISMATCH` (another element count, or one that
/// overflows `size_t`), `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current recording),
/// `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected; a rank above 4 or a
/// dimension above `UINT32_MAX`), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape),
/// `AD_ERR_DEVICE_MISMATCH` (arguments on different devices), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_reshape(
    tape: *mut ad_tape,
    x: ad_tensor,
    dims: *const usize,
    rank: usize,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe {
        float_op!(tape, t => {
            let dims = ptr::slice(dims, rank, "dims")?;
            Ok(t.reshape(x.into(), dims))
        })
    }
}

/// The transpose of a 2-D tensor.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (not 2-D), `AD_ERR_STALE_HANDLE` or
/// `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on
/// different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_transpose(tape: *mut ad_tape, x: ad_tensor) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.transpose(x.into()))) }
}

/// Softmax along the last axis (rank 1 or more).
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (rank 0), `AD_ERR_STALE_HANDLE` or
/// `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on
/// different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_softmax(tape: *mut ad_tape, x: ad_tensor) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.softmax(x.into()))) }
}

/// Log-softmax along the last axis, computed stably.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (rank 0), `AD_ERR_STALE_HANDLE` or
/// `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on
/// different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_log_softmax(tape: *mut ad_tape, x: ad_tensor) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.log_softmax(x.into()))) }
}

/// The mean softmax cross-entropy of `logits` (`[batch, classes]`) against the class
/// indices `labels[0..n)`, one per row (`n == batch`, each below `classes`): a rank-0
/// tensor. The labels are copied.
///
/// Sticky errors: `AD_ERR_NULL` (`labels` with `n > 0`), `AD_ERR_MISALIGNED` (`labels`),
/// `AD_ERR_SIZE_OVERFLOW` (`n`), `AD_ERR_SHAPE_MISMATCH` (`logits` not 2-D, or `n` not its batch;
/// the message names both shapes), `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current recording),
/// `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected; a label not below the
/// class count), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH`
/// (arguments on different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`,
/// `AD_ERR_BACKEND` (a device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_cross_entropy(
    tape: *mut ad_tape,
    logits: ad_tensor,
    labels: *const u32,
    n: usize,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe {
        float_op!(tape, t => {
            let labels = ptr::slice(labels, n, "labels")?;
            Ok(t.cross_entropy(logits.into(), labels))
        })
    }
}

/// The mean squared error of two tensors of one shape: a rank-0 tensor.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (different shapes), `AD_ERR_STALE_HANDLE` or
/// `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND` (a tensor not of this tape's current
/// recording), `AD_ERR_INVALID_ARGUMENT` (a scalar variable where a tensor is expected),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_DEVICE_MISMATCH` (arguments on
/// different devices), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (a
/// device kernel failed).
#[no_mangle]
pub unsafe extern "C" fn ad_mse(
    tape: *mut ad_tape,
    prediction: ad_tensor,
    target: ad_tensor,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { float_op!(tape, t => Ok(t.mse(prediction.into(), target.into()))) }
}

/// A rank-0 tensor (a loss, a sum) as a scalar variable: scalar ops take it, and
/// `ad_backward(t, ad_tensor_as_var(t, loss))` runs backward from it. Another rank is
/// `AD_ERR_SHAPE_MISMATCH`. Sticky like an op: it returns the invalid variable on failure.
///
/// Sticky errors: `AD_ERR_SHAPE_MISMATCH` (a rank other than 0), `AD_ERR_STALE_HANDLE` or
/// `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_INVALID_ARGUMENT` (a scalar
/// variable), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_as_var(tape: *mut ad_tape, x: ad_tensor) -> ad_var {
    let invalid: ad_var = VarId::INVALID.into();
    // SAFETY: the caller's contract.
    unsafe {
        record(tape, invalid, |header| {
            let id = TensorId::from(x);
            let shape = with_float_tape!(&header.tape, t => Ok(t.tensor_shape(id)?))?;
            if shape.rank() != 0 {
                return Err(Error::ShapeMismatch {
                    op: "as_var (needs a rank-0 tensor)",
                    lhs: shape,
                    rhs: Shape::SCALAR,
                }
                .into());
            }
            Ok(id.as_var().into())
        })
    }
}

/// The tensor a scalar handle names: the outputs of a loaded image
/// (`ad_tape_load_image()`) are `ad_var`s, and those that name tensor records are
/// tensors. Sticky like an op: it returns the invalid tensor on failure.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_INVALID_ARGUMENT` (`x` names a scalar
/// record), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_of(tape: *mut ad_tape, x: ad_var) -> ad_tensor {
    let invalid: ad_tensor = TensorId::INVALID.into();
    // SAFETY: the caller's contract.
    unsafe {
        record(tape, invalid, |header| {
            let id = VarId::from(x);
            Ok(with_float_tape!(&header.tape, t => Ok(t.tensor_of(id)?))?.into())
        })
    }
}
