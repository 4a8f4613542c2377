//! Checked conversions of C pointer arguments into Rust references and slices.
//!
//! Every pointer a C caller hands in passes through here: NULL and misalignment become
//! statuses (`AD_ERR_NULL`, `AD_ERR_MISALIGNED`) before anything is dereferenced. What
//! cannot be checked (that the pointer addresses live memory of the stated length) is the
//! caller's side of the contract stated in the header.

use crate::error::{Failure, Result};
use autodiff_core::Error;
use core::mem::{align_of, size_of, size_of_val};

fn check<T>(ptr: *const T, name: &'static str) -> Result<()> {
    if ptr.is_null() {
        Err(Failure::Null(name))
    } else if !(ptr as usize).is_multiple_of(align_of::<T>()) {
        Err(Failure::Misaligned(name))
    } else {
        Ok(())
    }
}

/// `ptr` as the place an out-parameter is written to.
///
/// # Safety
/// A non-null `ptr` must be valid for writes of one `T`.
pub unsafe fn out<'a, T>(ptr: *mut T, name: &'static str) -> Result<&'a mut T> {
    check(ptr, name)?;
    // SAFETY: non-null and aligned; validity is the caller's contract.
    Ok(unsafe { &mut *ptr })
}

/// Checks that a slice of `len` values of `T` can exist at all.
fn check_len<T>(len: usize) -> Result<()> {
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(Failure::Core(Error::SizeOverflow)),
    }
}

/// `len` values at `ptr`. An empty slice may come with a NULL pointer.
///
/// # Safety
/// When `len > 0`, `ptr` must be valid for reads of `len` values of `T`.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &'static str) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    check(ptr, name)?;
    check_len::<T>(len)?;
    // SAFETY: non-null, aligned, and a size that fits `isize`; validity is the caller's
    // contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// `len` writable values at `ptr`. An empty slice may come with a NULL pointer.
///
/// # Safety
/// When `len > 0`, `ptr` must be valid for reads and writes of `len` values of `T`, and
/// not alias any other argument.
pub unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize, name: &'static str) -> Result<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    check(ptr, name)?;
    check_len::<T>(len)?;
    // SAFETY: as in `slice`.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// Fails unless the byte ranges of `a` and `b` are disjoint: Rust may not hold a shared and
/// a mutable view of the same memory, so overlapping C arrays are refused, not trusted.
pub fn disjoint<A, B>(a: &[A], b: &[B], what: &'static str) -> Result<()> {
    let (a0, a1) = (a.as_ptr() as usize, a.as_ptr() as usize + size_of_val(a));
    let (b0, b1) = (b.as_ptr() as usize, b.as_ptr() as usize + size_of_val(b));
    if a0 < b1 && b0 < a1 {
        Err(Failure::Core(Error::InvalidArgument(what)))
    } else {
        Ok(())
    }
}

/// A C handle type laid out exactly as a core one (`ad_var` as `VarId`, `ad_tensor` as
/// `TensorId`), so arrays of it are read as arrays of the core's.
///
/// # Safety
/// `Self` and `Core` must have the same size, alignment and fields at the same offsets
/// (asserted at compile time beside each implementation).
pub unsafe trait CoreHandle: Sized {
    type Core;
}

/// C handles as the core's.
pub fn as_core<H: CoreHandle>(handles: &[H]) -> &[H::Core] {
    // SAFETY: the same layout (the trait's contract).
    unsafe { core::slice::from_raw_parts(handles.as_ptr().cast(), handles.len()) }
}

/// C handles as the core's, to write.
pub fn as_core_mut<H: CoreHandle>(handles: &mut [H]) -> &mut [H::Core] {
    // SAFETY: as in `as_core`.
    unsafe { core::slice::from_raw_parts_mut(handles.as_mut_ptr().cast(), handles.len()) }
}
