//! How a chain lays out the caller's memory, `mem`:
//!
//! ```text
//! [conversion buffers (AD_F32)] [driver workspace] [ad_tape header, arena]
//! ```
//!
//! [`Cut`] takes the arrays from the front, [`Converted`] holds the `double` ↔ element
//! buffers of an `AD_F32` chain (an `AD_F64` chain uses the caller's arrays directly),
//! and [`EndTape`] ends the `ad_tape` header placed in the rest.

use super::{narrow, CheckpointElem};
use crate::error::{ad_status, Result};
use crate::tape::{ad_tape, ad_tape_done, DtypeArg};
use autodiff_core::checkpoint::workspace_bytes;
use autodiff_core::Error;
use core::ffi::c_int;
use core::mem::{align_of, size_of, MaybeUninit};

/// Cuts typed arrays from the front of the caller's memory.
pub(super) struct Cut {
    pub(super) base: *mut u8,
    pub(super) len: usize,
    pub(super) used: usize,
}

impl Cut {
    /// `count` values of `U`, aligned, uninitialised.
    fn take<U>(&mut self, count: usize) -> Result<*mut U> {
        let at = self.base as usize;
        let start = at
            .checked_add(self.used)
            .and_then(|a| a.checked_next_multiple_of(align_of::<U>()))
            .ok_or(Error::SizeOverflow)?
            - at;
        let end = count
            .checked_mul(size_of::<U>())
            .and_then(|bytes| bytes.checked_add(start))
            .ok_or(Error::SizeOverflow)?;
        if end > self.len {
            return Err(Error::OutOfMemory {
                needed: end,
                free: self.len,
            }
            .into());
        }
        self.used = end;
        Ok(self.base.wrapping_add(start).cast())
    }

    /// `count` bytes, uninitialised, as in `zeroed`.
    pub(super) fn bytes<'m>(&mut self, count: usize) -> Result<&'m mut [MaybeUninit<u8>]> {
        let at = self.take::<MaybeUninit<u8>>(count)?;
        // SAFETY: as in `zeroed`; uninitialised bytes are valid `MaybeUninit`s.
        Ok(unsafe { core::slice::from_raw_parts_mut(at, count) })
    }

    /// `count` values of `U`, aligned, zeroed: a slice of the caller's memory that no
    /// other cut overlaps, for as long as the memory is lent to the call.
    pub(super) fn zeroed<'m, U: Copy + Default>(&mut self, count: usize) -> Result<&'m mut [U]> {
        let at = self.take::<U>(count)?;
        // SAFETY: `count` aligned values inside `mem`, disjoint from every other cut;
        // each is written before the slice is formed.
        unsafe {
            for i in 0..count {
                at.add(i).write(U::default());
            }
            Ok(core::slice::from_raw_parts_mut(at, count))
        }
    }
}

/// The `double` ↔ element buffers an `AD_F32` chain cuts first from `mem`, in this
/// order.
pub(super) struct Converted<'m, T> {
    /// `x0`, rounded to `T`.
    pub(super) x0: &'m mut [T],
    /// `params`, rounded to `T`.
    pub(super) params: &'m mut [T],
    /// The gradient of `x0` in `T`, widened into the caller's array on success.
    pub(super) gx: &'m mut [T],
    /// The gradient of `params` in `T`, as `gx`.
    pub(super) gp: &'m mut [T],
    /// A state in doubles for the stop condition.
    pub(super) state: &'m mut [f64],
    /// The doubles `eval` works on (`CStep::scratch`).
    pub(super) scratch: &'m mut [f64],
}

impl<T: CheckpointElem> Converted<'_, T> {
    /// Cuts the buffers from `cut` and fills `x0` and `params` from the caller's.
    pub(super) fn cut(cut: &mut Cut, x0: &[f64], params: &[f64]) -> Result<Self> {
        let (d, p) = (x0.len(), params.len());
        let converted = Converted {
            x0: cut.zeroed::<T>(d)?,
            params: cut.zeroed::<T>(p)?,
            gx: cut.zeroed::<T>(d)?,
            gp: cut.zeroed::<T>(p)?,
            state: cut.zeroed::<f64>(d)?,
            scratch: cut.zeroed::<f64>(
                d.checked_mul(2)
                    .and_then(|n| n.checked_add(p))
                    .ok_or(Error::SizeOverflow)?,
            )?,
        };
        narrow(converted.x0, x0);
        narrow(converted.params, params);
        Ok(converted)
    }
}

/// Bytes of the `double` ↔ element conversion buffers an `AD_F32` chain cuts first
/// (`x0`, `params`, both gradients; a state of doubles for the stop condition, and two
/// states and the parameters for the evaluation), alignment included; none for
/// `AD_F64`.
pub(super) fn conversion_bytes<T: CheckpointElem>(d: usize, p: usize) -> Option<usize> {
    if T::native(&[]).is_some() {
        return Some(0);
    }
    let values = d
        .checked_add(p)?
        .checked_mul(2)?
        .checked_mul(size_of::<T>())?;
    let doubles = d.checked_mul(3)?.checked_add(p)?;
    values
        .checked_add(doubles.checked_mul(size_of::<f64>())?)?
        .checked_add(4 * (align_of::<T>() - 1) + 2 * (align_of::<f64>() - 1))
}

/// What `mem` needs before the tape's header: conversion buffers and the driver's
/// workspace.
pub(super) fn chain_workspace<T: CheckpointElem>(
    d: usize,
    p: usize,
    slots: usize,
) -> Result<usize> {
    conversion_bytes::<T>(d, p)
        .and_then(|c| c.checked_add(workspace_bytes::<T>(d, p, slots)?))
        .ok_or(Error::SizeOverflow.into())
}

/// The bytes `ad_tape_bytes_for()` reports for `records`.
pub(super) fn tape_bytes<T: CheckpointElem>(records: usize) -> Result<usize> {
    let mut bytes = 0;
    // SAFETY: `bytes` is a valid place for one `usize`.
    let status =
        unsafe { crate::tape::ad_tape_bytes_for(records, DtypeArg(T::DTYPE as c_int), &mut bytes) };
    match status {
        ad_status::AD_OK => Ok(bytes),
        _ => Err(Error::SizeOverflow.into()),
    }
}

/// Ends the chain's tape when dropped (also on unwinding), so that a pointer to it a
/// callback kept reads as ended.
pub(super) struct EndTape(pub(super) *mut ad_tape);

impl Drop for EndTape {
    fn drop(&mut self) {
        // SAFETY: the header `ad_tape_init` made for this call; nothing uses it after.
        let _ = unsafe { ad_tape_done(self.0) };
    }
}
