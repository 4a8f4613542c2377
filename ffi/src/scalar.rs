//! The element types a tape can hold, and how C `double`s reach them.
//!
//! The C API speaks `double` whatever the tape's dtype. For an `AD_F64` tape the
//! caller's arrays are used in place; for the others they are converted through scratch
//! space borrowed from the tape's own arena and given back before the call returns, so
//! no call ever touches a heap.

use crate::error::Result;
use autodiff_core::{Error, Real, Tape};
use core::mem::{align_of, size_of};

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
    if count == 0 {
        return f(&mut []);
    }
    // Checked up front, because a failed `alloc` would set the tape's sticky error: a
    // read-only call must not poison the tape. The slack covers the alignment.
    let needed = count
        .checked_mul(size_of::<T>())
        .and_then(|bytes| bytes.checked_add(align_of::<T>()))
        .ok_or(Error::SizeOverflow)?;
    let free = tape.capacity_bytes() - tape.used_bytes();
    if needed > free {
        return Err(Error::OutOfMemory { needed, free }.into());
    }
    let mark = tape.high_mark();
    let block = tape.alloc::<T>(count, T::zero())?;
    // SAFETY: `alloc` returned `count` initialised values that nothing else refers to;
    // they stay ours until `release_to(mark)` below.
    let scratch = unsafe { core::slice::from_raw_parts_mut(block.as_ptr(), count) };
    let result = f(scratch);
    // SAFETY: `scratch` is not used after this line.
    unsafe { tape.release_to(mark) };
    result
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
