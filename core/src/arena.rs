//! A two-ended bump arena over memory the caller hands in.
//!
//! The low end grows upward and the high end grows downward; the free bytes are the gap
//! between them. The tape keeps its records at the low end, so that they stay one
//! contiguous array, and puts everything else (tensor data, parameters, scratch) at the
//! high end. Neither end ever asks a global allocator, and running out is an
//! [`Error::OutOfMemory`] that says how many bytes were needed and how many were free.
//!
//! Allocation takes `&self` and returns slices tied to that borrow, while
//! [`rewind`](Arena::rewind) takes `&mut self`: the borrow checker therefore proves no
//! slice handed out after a mark survives the rewind that reuses its bytes.
//!
//! # Under AddressSanitizer
//!
//! The whole arena is one caller buffer, so a sanitizer sees every byte of it as live.
//! Builds with `--cfg autodiff_asan` (and `-Zsanitizer=address`) therefore poison the
//! free bytes: the gap between the two cursors, which is also where rewound regions and
//! released scratch go back to. Every cursor move goes through this type and keeps the
//! shadow memory in step: [`new`](Arena::new) poisons everything, the allocations
//! unpoison exactly the bytes they hand out (alignment padding stays poisoned), and
//! [`rewind`](Arena::rewind), `set_low_offset` and `release_high_to` poison what they give
//! back. Dropping the arena unpoisons the whole buffer, which is the caller's again (a
//! stack array left poisoned would be reported when its frame is reused).
//!
//! AddressSanitizer keeps one shadow byte per 8-byte granule, which says how many of the
//! granule's *first* bytes are addressable. Its interface documents that poisoning may
//! cover only a subregion of the range asked for and unpoisoning a superregion, never
//! the other way round, so the calls here pass exact byte ranges and live bytes are
//! never poisoned. What that leaves unseen: free bytes that share a granule with live
//! bytes *above* them (the free bytes just below a high cursor that is not a multiple of
//! 8, or the padding below a block whose granule the block starts inside). Free bytes
//! that share a granule with live bytes below them (above a low cursor that is not a
//! multiple of 8) are poisoned. Building with the cfg but without the sanitizer fails
//! to link (the two `__asan_*` functions are missing).

use crate::error::{Error, Result};
use core::cell::Cell;
use core::marker::PhantomData;
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::NonNull;

/// The two cursors of an arena, saved by [`Arena::mark`] and restored by
/// [`Arena::rewind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    low: usize,
    high: usize,
}

/// A bump allocator over caller memory. See the module documentation.
pub struct Arena<'m> {
    base: NonNull<u8>,
    len: usize,
    /// Bytes in use at the low end: `[0, low)`.
    low: Cell<usize>,
    /// Start of the bytes in use at the high end: `[high, len)`.
    high: Cell<usize>,
    _memory: PhantomData<&'m mut [MaybeUninit<u8>]>,
}

/// Poisons bytes `[from, to)` of the arena at `base` for AddressSanitizer (nothing
/// without `--cfg autodiff_asan`). See the module documentation.
#[inline(always)]
fn poison(base: NonNull<u8>, from: usize, to: usize) {
    #[cfg(autodiff_asan)]
    if from < to {
        // SAFETY: callers pass offsets inside the arena; the call only writes shadow
        // memory, and its interface poisons at most the range given.
        unsafe { asan::__asan_poison_memory_region(base.as_ptr().add(from), to - from) }
    }
    #[cfg(not(autodiff_asan))]
    let _ = (base, from, to);
}

/// Unpoisons bytes `[from, to)` of the arena at `base` (see [`poison`]).
#[inline(always)]
fn unpoison(base: NonNull<u8>, from: usize, to: usize) {
    #[cfg(autodiff_asan)]
    if from < to {
        // SAFETY: as in `poison`; unpoisoning may cover a few bytes more than the range
        // (the rest of its first and last granules), which hides nothing live.
        unsafe { asan::__asan_unpoison_memory_region(base.as_ptr().add(from), to - from) }
    }
    #[cfg(not(autodiff_asan))]
    let _ = (base, from, to);
}

#[cfg(autodiff_asan)]
mod asan {
    extern "C" {
        /// From AddressSanitizer's runtime (`sanitizer/asan_interface.h`).
        pub(super) fn __asan_poison_memory_region(addr: *const u8, size: usize);
        pub(super) fn __asan_unpoison_memory_region(addr: *const u8, size: usize);
    }
}

impl<'m> Arena<'m> {
    /// An arena over all of `memory`. The arena may hand out any byte of it.
    pub fn new(memory: &'m mut [MaybeUninit<u8>]) -> Arena<'m> {
        let len = memory.len();
        // A slice pointer is never null, even for an empty slice.
        let base = NonNull::new(memory.as_mut_ptr().cast::<u8>()).unwrap_or(NonNull::dangling());
        poison(base, 0, len);
        Arena {
            base,
            len,
            low: Cell::new(0),
            high: Cell::new(len),
            _memory: PhantomData,
        }
    }

    /// The size of the memory the arena manages.
    pub fn capacity(&self) -> usize {
        self.len
    }

    /// Bytes neither end has taken.
    pub fn free_bytes(&self) -> usize {
        self.high.get() - self.low.get()
    }

    /// Bytes taken by both ends together.
    pub fn used_bytes(&self) -> usize {
        self.len - self.free_bytes()
    }

    /// The current cursors, to [`rewind`](Arena::rewind) to later.
    pub fn mark(&self) -> Mark {
        Mark {
            low: self.low.get(),
            high: self.high.get(),
        }
    }

    /// Returns every byte taken since `mark` to the free gap. A mark from another arena,
    /// or one that would grow the arena, is ignored for the end it does not fit.
    pub fn rewind(&mut self, mark: Mark) {
        if mark.low <= self.low.get() {
            poison(self.base, mark.low, self.low.get());
            self.low.set(mark.low);
        }
        if mark.high >= self.high.get() && mark.high <= self.len {
            poison(self.base, self.high.get(), mark.high);
            self.high.set(mark.high);
        }
    }

    /// `count` values of `T`, all set to `fill`, from the high end.
    // Each call hands out fresh bytes disjoint from every earlier slice, and only
    // `rewind(&mut self)` can reuse them, so `&self -> &mut` is sound here (as in bumpalo).
    #[allow(clippy::mut_from_ref)]
    pub fn alloc_high<T: Copy>(&self, count: usize, fill: T) -> Result<&mut [T]> {
        let ptr = self.alloc_high_raw::<T>(count)?;
        // SAFETY: `alloc_high_raw` returned `count` properly aligned, unaliased `T` slots
        // inside the arena, which stay ours until a `rewind` (which needs `&mut self`).
        unsafe {
            for i in 0..count {
                ptr.as_ptr().add(i).write(fill);
            }
            Ok(core::slice::from_raw_parts_mut(ptr.as_ptr(), count))
        }
    }

    /// `count` values of `T`, all set to `fill`, from the low end.
    #[allow(clippy::mut_from_ref)]
    pub fn alloc_low<T: Copy>(&self, count: usize, fill: T) -> Result<&mut [T]> {
        let ptr = self.alloc_low_raw::<T>(count)?;
        // SAFETY: as in `alloc_high`.
        unsafe {
            for i in 0..count {
                ptr.as_ptr().add(i).write(fill);
            }
            Ok(core::slice::from_raw_parts_mut(ptr.as_ptr(), count))
        }
    }

    /// Space for `count` values of `T` at the high end, uninitialised.
    pub(crate) fn alloc_high_raw<T>(&self, count: usize) -> Result<NonNull<T>> {
        let bytes = count
            .checked_mul(size_of::<T>())
            .ok_or(Error::SizeOverflow)?;
        let (low, high) = (self.low.get(), self.high.get());
        let free = high - low;
        // Lowest address the block may start at, aligned down from `high - bytes`.
        let start = (self.base_addr() + high)
            .checked_sub(bytes)
            .map(|addr| addr & !(align_of::<T>() - 1))
            .filter(|&addr| addr >= self.base_addr() + low)
            .ok_or(Error::OutOfMemory {
                needed: bytes,
                free,
            })?;
        let offset = start - self.base_addr();
        self.high.set(offset);
        unpoison(self.base, offset, offset + bytes);
        // SAFETY: `offset` lies in `[low, high]`, inside the caller's memory.
        Ok(unsafe { NonNull::new_unchecked(self.base.as_ptr().add(offset).cast()) })
    }

    /// Space for `count` values of `T` at the low end, uninitialised.
    pub(crate) fn alloc_low_raw<T>(&self, count: usize) -> Result<NonNull<T>> {
        let bytes = count
            .checked_mul(size_of::<T>())
            .ok_or(Error::SizeOverflow)?;
        let (low, high) = (self.low.get(), self.high.get());
        let free = high - low;
        let start = align_up(self.base_addr() + low, align_of::<T>()).ok_or(Error::SizeOverflow)?
            - self.base_addr();
        let end =
            start
                .checked_add(bytes)
                .filter(|&end| end <= high)
                .ok_or(Error::OutOfMemory {
                    needed: bytes + (start - low),
                    free,
                })?;
        self.low.set(end);
        unpoison(self.base, start, end);
        // SAFETY: `start` lies in `[low, high]`, inside the caller's memory.
        Ok(unsafe { NonNull::new_unchecked(self.base.as_ptr().add(start).cast()) })
    }

    /// Address of byte `offset` (which must be at most `capacity()`).
    pub(crate) fn ptr_at(&self, offset: usize) -> *mut u8 {
        debug_assert!(offset <= self.len);
        // SAFETY: callers pass offsets within the arena; one-past-the-end is allowed.
        unsafe { self.base.as_ptr().add(offset.min(self.len)) }
    }

    /// The high cursor, as a byte offset from the start of the memory.
    pub(crate) fn high_offset(&self) -> usize {
        self.high.get()
    }

    /// Moves the low cursor to `offset`. The caller guarantees `offset <= high`, and that
    /// nothing still in use lies in the bytes this gives back.
    pub(crate) fn set_low_offset(&self, offset: usize) {
        if offset <= self.high.get() {
            let low = self.low.get();
            if offset < low {
                poison(self.base, offset, low);
            } else {
                unpoison(self.base, low, offset);
            }
            self.low.set(offset);
        }
    }

    /// Moves the high cursor back up to `offset` (at most `capacity()`). The caller
    /// guarantees nothing still in use lies in the bytes this gives back.
    pub(crate) fn release_high_to(&self, offset: usize) {
        if offset >= self.low.get() && offset <= self.len {
            let high = self.high.get();
            if offset > high {
                poison(self.base, high, offset);
            } else {
                unpoison(self.base, offset, high);
            }
            self.high.set(offset);
        }
    }

    /// Copies `words` 8-byte words from `src` to `dst` as `memmove` does, where `src` may
    /// lie in bytes just given back to the free gap (a block kept across a truncation is
    /// moved from where it was to where it stays). Under AddressSanitizer the source is
    /// unpoisoned for the copy, and whatever of it lies in the free gap afterwards is
    /// poisoned again.
    ///
    /// # Safety
    /// Both blocks lie inside the arena and are valid for `words` words, and nothing but
    /// this copy has written to `src`'s bytes since they were given back.
    pub(crate) unsafe fn move_words(&self, src: *const u64, dst: *mut u64, words: usize) {
        let bytes = words.saturating_mul(8);
        let from = (src as usize).wrapping_sub(self.base_addr());
        unpoison(self.base, from, from + bytes);
        // SAFETY: the caller's contract.
        unsafe { core::ptr::copy(src, dst, words) };
        let gap_from = from.max(self.low.get());
        let gap_to = (from + bytes).min(self.high.get());
        poison(self.base, gap_from, gap_to);
    }

    fn base_addr(&self) -> usize {
        self.base.as_ptr() as usize
    }
}

#[cfg(autodiff_asan)]
impl Drop for Arena<'_> {
    /// Hands the whole buffer back to the caller unpoisoned.
    fn drop(&mut self) {
        unpoison(self.base, 0, self.len);
    }
}

/// `addr` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
pub(crate) fn align_up(addr: usize, align: usize) -> Option<usize> {
    Some(addr.checked_add(align - 1)? & !(align - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_share_one_gap() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 256];
        let arena = Arena::new(&mut mem);
        let low = arena.alloc_low::<u64>(4, 7).unwrap();
        assert_eq!(low, &[7; 4]);
        let high = arena.alloc_high::<u32>(8, 1).unwrap();
        assert_eq!(high.len(), 8);
        assert!(arena.free_bytes() <= 256 - 32 - 32);
        assert_eq!(arena.used_bytes() + arena.free_bytes(), 256);
    }

    #[test]
    fn exhaustion_reports_needed_and_free_bytes() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 64];
        let arena = Arena::new(&mut mem);
        arena.alloc_high::<u8>(40, 0).unwrap();
        let err = arena.alloc_low::<u8>(30, 0).unwrap_err();
        assert_eq!(
            err,
            Error::OutOfMemory {
                needed: 30,
                free: 24
            }
        );
    }

    #[test]
    fn overflowing_counts_are_size_errors() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 64];
        let arena = Arena::new(&mut mem);
        assert_eq!(
            arena.alloc_high::<u64>(usize::MAX / 4, 0).unwrap_err(),
            Error::SizeOverflow
        );
        assert!(matches!(
            arena.alloc_high::<u64>(usize::MAX / 8, 0).unwrap_err(),
            Error::OutOfMemory { .. }
        ));
    }

    #[test]
    fn rewind_returns_everything_after_the_mark() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 128];
        let mut arena = Arena::new(&mut mem);
        arena.alloc_low::<u8>(10, 0).unwrap();
        let mark = arena.mark();
        let free = arena.free_bytes();
        arena.alloc_low::<u16>(5, 0).unwrap();
        arena.alloc_high::<f64>(3, 0.0).unwrap();
        arena.rewind(mark);
        assert_eq!(arena.free_bytes(), free);
    }

    #[test]
    fn allocations_are_aligned() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 256];
        let arena = Arena::new(&mut mem);
        arena.alloc_low::<u8>(3, 0).unwrap();
        let p = arena.alloc_low::<u64>(1, 0).unwrap().as_ptr() as usize;
        assert_eq!(p % align_of::<u64>(), 0);
        arena.alloc_high::<u8>(5, 0).unwrap();
        let q = arena.alloc_high::<f64>(2, 0.0).unwrap().as_ptr() as usize;
        assert_eq!(q % align_of::<f64>(), 0);
    }

    #[test]
    fn empty_memory_is_an_empty_arena() {
        let mut mem: [MaybeUninit<u8>; 0] = [];
        let arena = Arena::new(&mut mem);
        assert_eq!(arena.free_bytes(), 0);
        assert!(arena.alloc_low::<u8>(1, 0).is_err());
        assert!(arena.alloc_low::<u8>(0, 0).is_ok());
    }
}
