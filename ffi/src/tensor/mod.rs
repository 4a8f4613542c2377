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
use crate::tape::{ad_tape, header, poison, AnyTape, Header};
use autodiff_core::{Activation, Error, Float, Tape, TensorId};
use core::ffi::c_int;

/// A tensor on a tape: the index of its record, its kind, the generation that issued it
/// and the identity of its tape, like `ad_var`. Plain data; the tape checks it on every
/// use. A failed op returns the invalid tensor (`index == UINT32_MAX`, every other field
/// 0).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ad_tensor {
    /// The index of the tensor's record on its tape (`UINT32_MAX` in the invalid handle).
    pub index: u32,
    /// Which kind of handle this is; checked on every use.
    pub kind: u32,
    /// The generation of the tape that issued it; a reset starts a new one.
    pub generation: u32,
    /// The identity of the tape that issued it, unique in the process.
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

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<ad_tensor>() == size_of::<TensorId>());
    assert!(align_of::<ad_tensor>() == align_of::<TensorId>());
    assert!(offset_of!(ad_tensor, index) == offset_of!(TensorId, index));
    assert!(offset_of!(ad_tensor, kind) == offset_of!(TensorId, kind));
    assert!(offset_of!(ad_tensor, generation) == offset_of!(TensorId, generation));
    assert!(offset_of!(ad_tensor, tape) == offset_of!(TensorId, tape));
};

// SAFETY: the layouts asserted just above.
unsafe impl crate::ptr::CoreHandle for ad_tensor {
    type Core = TensorId;
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
        $crate::tensor::op($tape, |$t| $body, |$t| $body)
    };
}

/// Whether `x` is a tensor some op returned successfully, as opposed to the invalid
/// tensor of a failed op. A valid tensor may still be stale or foreign.
#[no_mangle]
pub extern "C" fn ad_tensor_is_valid(x: ad_tensor) -> bool {
    ffi_boundary!(false, { x != INVALID })
}

mod data;
mod dot;
mod leaf;
mod ops;
mod user_op;

// The entry points, by their C names, at `tensor::` as before the split.
pub use data::*;
pub use dot::*;
pub use leaf::*;
pub use ops::*;
pub use user_op::*;
