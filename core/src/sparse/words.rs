//! A plan's memory as 32-bit words: every array a plan keeps (indices, colours, offsets)
//! is of `u32`, so one bump region of words serves them all, and each array is kept as a
//! [`Span`] into it rather than as a reference.

use crate::error::{Error, Result};
use core::mem::MaybeUninit;

/// A run of words: `start..start + len`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) len: usize,
}

impl Span {
    pub(super) fn end(self) -> usize {
        self.start + self.len
    }
}

/// The caller's bytes as zeroed words (the unaligned head and tail are left unused).
pub(super) fn words_of(memory: &mut [MaybeUninit<u8>]) -> &mut [u32] {
    // SAFETY: any bytes may be viewed as `MaybeUninit<u32>`; `align_to_mut` keeps the
    // middle part aligned.
    let (_, middle, _) = unsafe { memory.align_to_mut::<MaybeUninit<u32>>() };
    for word in middle.iter_mut() {
        word.write(0);
    }
    // SAFETY: every element was initialised just above, and `MaybeUninit<u32>` has the
    // layout of `u32`.
    unsafe { &mut *(middle as *mut [MaybeUninit<u32>] as *mut [u32]) }
}

/// Hands out spans from the low end of `capacity` words and remembers the highest point
/// any scratch reached, for the plan's peak-memory report.
pub(super) struct Bump {
    pub(super) low: usize,
    pub(super) capacity: usize,
    pub(super) peak: usize,
}

impl Bump {
    pub(super) fn new(capacity: usize) -> Bump {
        Bump {
            low: 0,
            capacity,
            peak: 0,
        }
    }

    /// `len` words at the low end.
    pub(super) fn take(&mut self, len: usize) -> Result<Span> {
        let span = Span {
            start: self.low,
            len,
        };
        let end = self.low.checked_add(len).ok_or(Error::SizeOverflow)?;
        self.fits(end)?;
        self.low = end;
        self.peak = self.peak.max(end);
        Ok(span)
    }

    /// Fails unless `end` words fit, saying how many bytes were needed.
    pub(super) fn fits(&self, end: usize) -> Result<()> {
        if end > self.capacity {
            return Err(Error::OutOfMemory {
                needed: end.saturating_mul(4),
                free: self.capacity.saturating_sub(self.low).saturating_mul(4),
            });
        }
        Ok(())
    }

    /// Notes that scratch reached `end` words.
    pub(super) fn touch(&mut self, end: usize) {
        self.peak = self.peak.max(end);
    }
}

/// `value` as a `u32` index, or a size error.
pub(super) fn index(value: usize) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::SizeOverflow)
}
