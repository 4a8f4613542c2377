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

impl<'m> Arena<'m> {
    /// An arena over all of `memory`. The arena may hand out any byte of it.
    pub fn new(memory: &'m mut [MaybeUninit<u8>]) -> Arena<'m> {
        let len = memory.len();
        // A slice pointer is never null, even for an empty slice.
        let base = NonNull::new(memory.as_mut_ptr().cast::<u8>()).unwrap_or(NonNull::dangling());
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
    pub fn free(&self) -> usize {
        self.high.get() - self.low.get()
    }

    /// Bytes taken by both ends together.
    pub fn used(&self) -> usize {
        self.len - self.free()
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
            self.low.set(mark.low);
        }
        if mark.high >= self.high.get() && mark.high <= self.len {
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
            self.low.set(offset);
        }
    }

    /// Moves the high cursor back up to `offset` (at most `capacity()`). The caller
    /// guarantees nothing still in use lies in the bytes this gives back.
    pub(crate) fn release_high_to(&self, offset: usize) {
        if offset >= self.low.get() && offset <= self.len {
            self.high.set(offset);
        }
    }

    fn base_addr(&self) -> usize {
        self.base.as_ptr() as usize
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
        assert!(arena.free() <= 256 - 32 - 32);
        assert_eq!(arena.used() + arena.free(), 256);
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
        let free = arena.free();
        arena.alloc_low::<u16>(5, 0).unwrap();
        arena.alloc_high::<f64>(3, 0.0).unwrap();
        arena.rewind(mark);
        assert_eq!(arena.free(), free);
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
        assert_eq!(arena.free(), 0);
        assert!(arena.alloc_low::<u8>(1, 0).is_err());
        assert!(arena.alloc_low::<u8>(0, 0).is_ok());
    }
}
