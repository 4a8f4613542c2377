//! `ad_tensor`: row-major `float`/`double` arrays of rank 0 to 4 on `AD_F32` and `AD_F64`
//! tapes, and the ops that record them.
//!
//! Ops return a tensor, never a status, and are sticky exactly like the scalar ops in
//! [`crate::var`]: a failing op (a wrong shape, a full arena, a NULL pointer, a tape of
//! the wrong dtype) keeps its error on the tape and returns the invalid tensor, and every
//! later op does the same. Calls that move data between C arrays and tensors return an
//! `ad_status`. The element type of a data array is part of each call's name (`_f32`,
//! `_f64`) and must match the tape's dtype: tensors are never converted.

use crate::error::{Failure, Result};
use crate::ptr;
use crate::tape::{ad_tape, call, header, poison, AnyTape, Header};
use crate::var::ad_var;
use autodiff_core::{Activation, Error, Float, Shape, Tape, TensorId, VarId};
use core::ffi::{c_char, c_int};

/// A tensor on a tape: the index of its record, its kind, the generation that issued it
/// and the identity of its tape, like `ad_var`. Plain data; the tape checks it on every
/// use. A failed op returns the invalid tensor (`index == UINT32_MAX`, every other field
/// 0).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ad_tensor {
    pub index: u32,
    pub kind: u32,
    pub generation: u32,
    pub tape: u32,
}

impl From<ad_tensor> for TensorId {
    fn from(x: ad_tensor) -> TensorId {
        TensorId {
            index: x.index,
            kind: x.kind,
            generation: x.generation,
            tape: x.tape,
        }
    }
}

impl From<TensorId> for ad_tensor {
    fn from(id: TensorId) -> ad_tensor {
        ad_tensor {
            index: id.index,
            kind: id.kind,
            generation: id.generation,
            tape: id.tape,
        }
    }
}

pub(crate) const INVALID: ad_tensor = ad_tensor {
    index: TensorId::INVALID.index,
    kind: TensorId::INVALID.kind,
    generation: TensorId::INVALID.generation,
    tape: TensorId::INVALID.tape,
};

/// An elementwise function, for `ad_tensor_activation()` and `ad_linear()`. The
/// numbers are part of the ABI.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ad_activation {
    /// `x`.
    AD_ACT_IDENTITY = 0,
    /// `max(x, 0)`; the derivative at 0 is 0.
    AD_ACT_RELU = 1,
    /// `x` for `x > 0`, `0.01 x` otherwise (`ad_leaky_relu()` takes another slope).
    AD_ACT_LEAKY_RELU = 2,
    /// `1 / (1 + e^-x)`.
    AD_ACT_SIGMOID = 3,
    /// `tanh(x)`.
    AD_ACT_TANH = 4,
    /// `x Φ(x)`, with the exact normal CDF.
    AD_ACT_GELU = 5,
    /// `e^x`.
    AD_ACT_EXP = 6,
    /// Natural logarithm.
    AD_ACT_LOG = 7,
    /// Square root.
    AD_ACT_SQRT = 8,
    /// `x²`.
    AD_ACT_SQUARE = 9,
}

/// Receives an `ad_activation` from C. Any `int` is safe to pass: an unknown value is
/// reported as `AD_ERR_INVALID_ARGUMENT`.
/// cbindgen:ignore
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct ActivationArg(pub c_int);

impl ActivationArg {
    fn get(self) -> Result<Activation> {
        usize::try_from(self.0)
            .ok()
            .and_then(|code| Activation::ALL.get(code).copied())
            .ok_or(Failure::Core(Error::InvalidArgument("unknown activation")))
    }
}

/// The element types of tensors, and how to find a tape of each inside an [`AnyTape`].
pub trait TensorElem: Float {
    /// The tape if its dtype is `Self`; `AD_ERR_DTYPE_MISMATCH` otherwise.
    fn typed(any: &AnyTape) -> Result<&Tape<'static, Self>>;
}

impl TensorElem for f32 {
    fn typed(any: &AnyTape) -> Result<&Tape<'static, f32>> {
        match any {
            AnyTape::F32(t) => Ok(t),
            _ => Err(Error::DtypeMismatch.into()),
        }
    }
}

impl TensorElem for f64 {
    fn typed(any: &AnyTape) -> Result<&Tape<'static, f64>> {
        match any {
            AnyTape::F64(t) => Ok(t),
            _ => Err(Error::DtypeMismatch.into()),
        }
    }
}

/// Runs `$body` (a `Result`) with `$t` bound to the tape of an `AD_F32` or `AD_F64`
/// tape; `AD_ERR_DTYPE_MISMATCH` for an `AD_F64_DUAL` one, which has no tensors.
macro_rules! with_float_tape {
    ($any:expr, $t:ident => $body:expr) => {
        match $any {
            $crate::tape::AnyTape::F32($t) => $body,
            $crate::tape::AnyTape::F64($t) => $body,
            $crate::tape::AnyTape::F64Dual(_) => Err($crate::error::Failure::Core(
                autodiff_core::Error::DtypeMismatch,
            )),
        }
    };
}

/// Runs a recording op on a live tape. A failure `f` reports becomes the tape's sticky
/// error and gives `invalid`; so does a dead or poisoned tape (without touching it).
///
/// # Safety
/// As for [`header`].
pub(crate) unsafe fn record<R: Copy>(
    tape: *const ad_tape,
    invalid: R,
    f: impl FnOnce(&Header) -> Result<R>,
) -> R {
    ffi_boundary!(
        {
            // SAFETY: forwarded from the caller.
            unsafe { poison(tape) };
            invalid
        },
        {
            // SAFETY: forwarded from the caller.
            match unsafe { header(tape) } {
                Ok(header) if !header.is_poisoned() => f(header).unwrap_or_else(|failure| {
                    header.fail_op(failure);
                    invalid
                }),
                _ => invalid,
            }
        }
    )
}

/// Records a tensor op that reads no C arrays, on a tape of either float dtype.
///
/// # Safety
/// As for [`header`].
pub(crate) unsafe fn op(
    tape: *const ad_tape,
    f32_op: impl FnOnce(&Tape<'static, f32>) -> Result<TensorId>,
    f64_op: impl FnOnce(&Tape<'static, f64>) -> Result<TensorId>,
) -> ad_tensor {
    // SAFETY: forwarded from the caller.
    unsafe {
        record(tape, INVALID, |header| {
            Ok(match &header.tape {
                AnyTape::F32(t) => f32_op(t)?,
                AnyTape::F64(t) => f64_op(t)?,
                AnyTape::F64Dual(_) => return Err(Error::DtypeMismatch.into()),
            }
            .into())
        })
    }
}

/// Expands to an [`op`] call whose body is the same generic expression for both dtypes.
macro_rules! float_op {
    ($tape:expr, $t:ident => $body:expr) => {
        op($tape, |$t| $body, |$t| $body)
    };
}

/// Whether `x` is a tensor some op returned successfully, as opposed to the invalid
/// tensor of a failed op. A valid tensor may still be stale or foreign.
#[no_mangle]
pub extern "C" fn ad_tensor_is_valid(x: ad_tensor) -> bool {
    ffi_boundary!(false, { x != INVALID })
}

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

/// A new input tensor on an `AD_F32` tape: shape `dims[0..rank)` (rank 0 to 4; rank 0 is
/// a scalar and `dims` may be NULL), holding a copy of the `len` row-major values at
/// `data`. `len` must be the product of the dimensions (`AD_ERR_INVALID_ARGUMENT`).
/// Gradients flow into it, and `ad_tensor_set_value_f32()` may overwrite it for
/// `ad_replay()`. On an `AD_F64` tape the op fails with `AD_ERR_DTYPE_MISMATCH`.
///
/// Sticky errors: `AD_ERR_NULL` (`dims` with `rank > 0`, `data` with `len > 0`),
/// `AD_ERR_MISALIGNED` (`dims` or `data`), `AD_ERR_INVALID_ARGUMENT` (a rank above 4, a
/// dimension above `UINT32_MAX`, or `len` not the element count: the message gives both),
/// `AD_ERR_SIZE_OVERFLOW` (the element count, `rank` or `len` overflows `size_t`),
/// `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (the upload to a default device failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_input_f32(
    tape: *mut ad_tape,
    dims: *const usize,
    rank: usize,
    data: *const f32,
    len: usize,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { leaf(tape, dims, rank, data, len, false) }
}

/// `ad_tensor_input_f32()` for an `AD_F64` tape.
///
/// Sticky errors: `AD_ERR_NULL` (`dims` with `rank > 0`, `data` with `len > 0`),
/// `AD_ERR_MISALIGNED` (`dims` or `data`), `AD_ERR_INVALID_ARGUMENT` (a rank above 4, a
/// dimension above `UINT32_MAX`, or `len` not the element count: the message gives both),
/// `AD_ERR_SIZE_OVERFLOW` (the element count, `rank` or `len` overflows `size_t`),
/// `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (the upload to a default device failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_input_f64(
    tape: *mut ad_tape,
    dims: *const usize,
    rank: usize,
    data: *const f64,
    len: usize,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { leaf(tape, dims, rank, data, len, false) }
}

/// A constant tensor on an `AD_F32` tape: as `ad_tensor_input_f32()`, but no gradient
/// flows into it (`ad_tensor_grad_f32()` of it fails with `AD_ERR_INVALID_ARGUMENT`).
///
/// Sticky errors: `AD_ERR_NULL` (`dims` with `rank > 0`, `data` with `len > 0`),
/// `AD_ERR_MISALIGNED` (`dims` or `data`), `AD_ERR_INVALID_ARGUMENT` (a rank above 4, a
/// dimension above `UINT32_MAX`, or `len` not the element count: the message gives both),
/// `AD_ERR_SIZE_OVERFLOW` (the element count, `rank` or `len` overflows `size_t`),
/// `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (the upload to a default device failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_const_f32(
    tape: *mut ad_tape,
    dims: *const usize,
    rank: usize,
    data: *const f32,
    len: usize,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { leaf(tape, dims, rank, data, len, true) }
}

/// `ad_tensor_const_f32()` for an `AD_F64` tape.
///
/// Sticky errors: `AD_ERR_NULL` (`dims` with `rank > 0`, `data` with `len > 0`),
/// `AD_ERR_MISALIGNED` (`dims` or `data`), `AD_ERR_INVALID_ARGUMENT` (a rank above 4, a
/// dimension above `UINT32_MAX`, or `len` not the element count: the message gives both),
/// `AD_ERR_SIZE_OVERFLOW` (the element count, `rank` or `len` overflows `size_t`),
/// `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (the upload to a default device failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_const_f64(
    tape: *mut ad_tape,
    dims: *const usize,
    rank: usize,
    data: *const f64,
    len: usize,
) -> ad_tensor {
    // SAFETY: the caller's contract.
    unsafe { leaf(tape, dims, rank, data, len, true) }
}

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

/// Copies the value of `x` (row-major) into `out[0..len)`, `len` being its element count,
/// on an `AD_F32` tape. Values stay readable on a tape with a sticky error.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or `out` with `len > 0`), `AD_ERR_MISALIGNED` (`out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count, the message
/// gives both; a scalar variable), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_DTYPE_MISMATCH` (a tape of
/// another dtype), `AD_ERR_BACKEND` (a device failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_value_f32(
    tape: *const ad_tape,
    x: ad_tensor,
    out: *mut f32,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe { read_out(tape, x, out, len, |t, id, out| t.tensor_value(id, out)) }
}

/// `ad_tensor_value_f32()` for an `AD_F64` tape, with the same statuses.
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_value_f64(
    tape: *const ad_tape,
    x: ad_tensor,
    out: *mut f64,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe { read_out(tape, x, out, len, |t, id, out| t.tensor_value(id, out)) }
}

/// Copies the gradient of `x` from the last `ad_backward()` into `out[0..len)`, as
/// `ad_tensor_value_f32()`.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or `out` with `len > 0`), `AD_ERR_MISALIGNED` (`out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count, the message
/// gives both; a scalar variable; a constant, which has no gradient), `AD_ERR_SIZE_OVERFLOW`
/// (`len`), `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`x`),
/// `AD_ERR_DTYPE_MISMATCH` (a tape of another dtype), `AD_ERR_BACKEND` (a device failed), and the
/// tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_grad_f32(
    tape: *const ad_tape,
    x: ad_tensor,
    out: *mut f32,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe { read_out(tape, x, out, len, |t, id, out| t.tensor_grad(id, out)) }
}

/// `ad_tensor_grad_f32()` for an `AD_F64` tape, with the same statuses.
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_grad_f64(
    tape: *const ad_tape,
    x: ad_tensor,
    out: *mut f64,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe { read_out(tape, x, out, len, |t, id, out| t.tensor_grad(id, out)) }
}

/// Copies the tangent of `x` from the last `ad_jvp()` into `out[0..len)` (zeros when
/// no tangent reached it), as `ad_tensor_value_f32()`.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or `out` with `len > 0`), `AD_ERR_MISALIGNED` (`out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not the element count, the message
/// gives both; a scalar variable), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_DTYPE_MISMATCH` (a tape of
/// another dtype), `AD_ERR_BACKEND` (a device failed), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_tangent_f32(
    tape: *const ad_tape,
    x: ad_tensor,
    out: *mut f32,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe { read_out(tape, x, out, len, |t, id, out| t.tensor_tangent(id, out)) }
}

/// `ad_tensor_tangent_f32()` for an `AD_F64` tape, with the same statuses.
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_tangent_f64(
    tape: *const ad_tape,
    x: ad_tensor,
    out: *mut f64,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe { read_out(tape, x, out, len, |t, id, out| t.tensor_tangent(id, out)) }
}

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
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_set_value_f32(
    tape: *mut ad_tape,
    x: ad_tensor,
    data: *const f32,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        write_in(tape, x, data, len, |t, id, data| {
            t.set_tensor_value(id, data)
        })
    }
}

/// `ad_tensor_set_value_f32()` for an `AD_F64` tape, with the same statuses.
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_set_value_f64(
    tape: *mut ad_tape,
    x: ad_tensor,
    data: *const f64,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        write_in(tape, x, data, len, |t, id, data| {
            t.set_tensor_value(id, data)
        })
    }
}

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
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_seed_tangent_f32(
    tape: *mut ad_tape,
    x: ad_tensor,
    data: *const f32,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        write_in(tape, x, data, len, |t, id, data| {
            t.seed_tensor_tangent(id, data)
        })
    }
}

/// `ad_tensor_seed_tangent_f32()` for an `AD_F64` tape, with the same statuses.
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_seed_tangent_f64(
    tape: *mut ad_tape,
    x: ad_tensor,
    data: *const f64,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        write_in(tape, x, data, len, |t, id, data| {
            t.seed_tensor_tangent(id, data)
        })
    }
}

/// A `fmt::Write` into a C buffer of `cap` bytes that keeps a NUL-terminated prefix and
/// counts every byte offered.
pub(crate) struct CBuffer<'b> {
    pub(crate) buf: &'b mut [u8],
    pub(crate) len: usize,
}

impl CBuffer<'_> {
    /// Ends the text with its NUL and writes its length (without the NUL) to
    /// `*len_out`; fails with `AD_ERR_BUFFER_TOO_SMALL` when the text and its NUL did
    /// not fit (the buffer then holds a NUL-terminated prefix, if it has room for one).
    pub(crate) fn finish(self, len_out: &mut usize) -> Result<()> {
        let len = self.len;
        *len_out = len;
        if let Some(last) = self.buf.len().checked_sub(1) {
            self.buf[len.min(last)] = 0;
        }
        if len >= self.buf.len() {
            return Err(Failure::BufferTooSmall {
                what: "buf",
                needed: len + 1,
                cap: self.buf.len(),
            });
        }
        Ok(())
    }
}

impl core::fmt::Write for CBuffer<'_> {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.len);
        let take = text.len().min(room);
        let start = self.len.min(self.buf.len());
        self.buf[start..start + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += text.len();
        Ok(())
    }
}

/// Writes the recorded graph in Graphviz DOT into `buf`, NUL-terminated, and its length
/// (without the NUL, as `strlen`) into `*len_out`: one node per record (op and value for
/// scalars, kind and shape for tensors), one edge per argument. Render it with
/// `dot -Tsvg`. `buf` may be NULL when `cap` is 0, to ask for the length. `AD_F32` and
/// `AD_F64` tapes only. Answers on a tape with a sticky error too (the graph recorded
/// before it).
///
/// Statuses: `AD_ERR_BUFFER_TOO_SMALL` (`cap` bytes cannot hold the text and its NUL: the
/// length is still written to `*len_out`, so call again with `cap >= *len_out + 1`, and
/// `buf` holds a truncated, NUL-terminated prefix when `cap > 0`), `AD_ERR_NULL` (`tape`,
/// `len_out`, or `buf` with `cap > 0`), `AD_ERR_MISALIGNED` (`len_out`),
/// `AD_ERR_SIZE_OVERFLOW` (`cap`), `AD_ERR_INVALID_TAPE`, `AD_ERR_DTYPE_MISMATCH` (an
/// `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_tape_dot(
    tape: *const ad_tape,
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let len_out = ptr::out(len_out, "len_out")?;
            let buf = ptr::slice_mut(buf.cast::<u8>(), cap, "buf")?;
            let mut sink = CBuffer { buf, len: 0 };
            with_float_tape!(&header.tape, t => {
                t.write_dot(&mut sink)
                    .map_err(|_| Failure::Core(Error::InvalidArgument("graph export failed")))
            })?;
            sink.finish(len_out)
        })
    }
}

/// `ad_tensor` and `TensorId` are the same four `u32`s.
const _: () = {
    assert!(core::mem::size_of::<ad_tensor>() == core::mem::size_of::<TensorId>());
    assert!(core::mem::offset_of!(ad_tensor, index) == core::mem::offset_of!(TensorId, index));
    assert!(core::mem::offset_of!(ad_tensor, kind) == core::mem::offset_of!(TensorId, kind));
    assert!(
        core::mem::offset_of!(ad_tensor, generation) == core::mem::offset_of!(TensorId, generation)
    );
    assert!(core::mem::offset_of!(ad_tensor, tape) == core::mem::offset_of!(TensorId, tape));
    assert!(Activation::ALL.len() == ad_activation::AD_ACT_SQUARE as usize + 1);
};
