//! The element types a tape can hold, and how C `double`s reach them.
//!
//! The C API speaks `double` whatever the tape's dtype. For an `AD_F64` tape the
//! caller's arrays are used in place; for the others they are converted through scratch
//! space borrowed from the tape's own arena and given back before the call returns, so
//! no call ever touches a heap.

use crate::error::Result;
use autodiff_core::{Dual, Real, Tape};

/// A tape element type the C API offers.
pub trait Elem: Real {
    /// `values` as `[Self]` without copying, when `Self` is `f64`.
    fn native(values: &[f64]) -> Option<&[Self]>;
    /// `values` as `[Self]` without copying, when `Self` is `f64`.
    fn native_mut(values: &mut [f64]) -> Option<&mut [Self]>;
}

impl Elem for f64 {
    fn native(values: &[f64]) -> Option<&[f64]> {
        Some(values)
    }
    fn native_mut(values: &mut [f64]) -> Option<&mut [f64]> {
        Some(values)
    }
}

impl Elem for Dual<f64> {
    fn native(_: &[f64]) -> Option<&[Dual<f64>]> {
        None
    }
    fn native_mut(_: &mut [f64]) -> Option<&mut [Dual<f64>]> {
        None
    }
}

impl Elem for f32 {
    fn native(_: &[f64]) -> Option<&[f32]> {
        None
    }
    fn native_mut(_: &mut [f64]) -> Option<&mut [f32]> {
        None
    }
}

/// Runs `f` on `count` zeroed values of `T` from the tape's arena, then gives them back.
/// Fails with `OutOfMemory`, leaving the tape's state untouched, when they do not fit.
pub fn with_scratch<T: Elem, R>(
    tape: &Tape<'_, T>,
    count: usize,
    f: impl FnOnce(&mut [T]) -> Result<R>,
) -> Result<R> {
    tape.status()?;
    tape.with_scratch(count, f)?
}

/// Runs `f` on the caller's `values` as `[T]`, converting through scratch when `T` is not
/// `f64`.
pub fn with_input<T: Elem, R>(
    tape: &Tape<'_, T>,
    values: &[f64],
    f: impl FnOnce(&[T]) -> Result<R>,
) -> Result<R> {
    match T::native(values) {
        Some(native) => f(native),
        None => with_scratch(tape, values.len(), |scratch| {
            for (slot, &value) in scratch.iter_mut().zip(values) {
                *slot = T::from_f64(value);
            }
            f(scratch)
        }),
    }
}

/// Runs `f` with an output buffer for `out`, converting through scratch when `T` is not
/// `f64`. `f` must write nothing when it fails, so `out` is written only on success.
pub fn with_output<T: Elem>(
    tape: &Tape<'_, T>,
    out: &mut [f64],
    f: impl FnOnce(&mut [T]) -> Result<()>,
) -> Result<()> {
    if let Some(native) = T::native_mut(out) {
        return f(native);
    }
    with_scratch(tape, out.len(), |scratch| {
        f(scratch)?;
        for (slot, value) in out.iter_mut().zip(scratch.iter()) {
            *slot = value.to_f64();
        }
        Ok(())
    })
}
