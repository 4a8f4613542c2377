//! The device arena's bookkeeping: one device block, allocated once when the device is
//! opened, handed out by bumping, with marks to rewind to, like the core's host arena.
//!
//! The bookkeeping is all on the host, so it is tested without a GPU. Every allocation
//! gets a serial number; the live allocations form a stack ordered by serial and offset.
//! A tensor handle is valid while its (serial, offset) is still on the stack, so a handle
//! from before a rewind is reported stale even when a newer tensor now occupies its bytes.

use crate::error::{CudaError, Result};
use std::cell::RefCell;

/// Every allocation starts on this boundary (cudaMalloc's own alignment), which is more
/// than any element type needs and keeps rows coalesced.
pub(crate) const ALIGN: usize = 256;

/// A point to rewind the device arena to: everything allocated after it is given back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaMark {
    pub(crate) device: u32,
    pub(crate) serial: u64,
}

#[derive(Clone, Copy, Debug)]
struct Allocation {
    offset: usize,
    bytes: usize,
    serial: u64,
}

#[derive(Debug)]
pub(crate) struct DeviceArena {
    capacity: usize,
    live: RefCell<Vec<Allocation>>,
    next_serial: std::cell::Cell<u64>,
}

impl DeviceArena {
    pub(crate) fn new(capacity: usize) -> DeviceArena {
        DeviceArena {
            capacity,
            live: RefCell::new(Vec::new()),
            next_serial: std::cell::Cell::new(0),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes in use, up to the end of the last live allocation.
    pub(crate) fn used(&self) -> usize {
        self.live.borrow().last().map_or(0, |a| a.offset + a.bytes)
    }

    /// Reserves `bytes` (at least 1, so each allocation has its own address) and returns
    /// its (offset, serial).
    pub(crate) fn alloc(&self, bytes: usize) -> Result<(usize, u64)> {
        let used = self.used();
        let offset = used.div_ceil(ALIGN) * ALIGN;
        let end = offset.checked_add(bytes.max(1));
        match end {
            Some(end) if end <= self.capacity => {
                let serial = self.next_serial.get();
                self.next_serial.set(serial + 1);
                self.live.borrow_mut().push(Allocation {
                    offset,
                    bytes: bytes.max(1),
                    serial,
                });
                Ok((offset, serial))
            }
            _ => Err(CudaError::OutOfMemory {
                needed: bytes,
                free: self.capacity.saturating_sub(offset),
            }),
        }
    }

    pub(crate) fn is_live(&self, offset: usize, serial: u64) -> bool {
        let live = self.live.borrow();
        live.binary_search_by_key(&serial, |a| a.serial)
            .is_ok_and(|i| live[i].offset == offset)
    }

    pub(crate) fn mark(&self, device: u32) -> ArenaMark {
        ArenaMark {
            device,
            serial: self.next_serial.get(),
        }
    }

    /// Gives back everything allocated after `mark`.
    pub(crate) fn rewind(&self, mark: ArenaMark) {
        self.live.borrow_mut().retain(|a| a.serial < mark.serial);
    }

    /// Gives back everything.
    pub(crate) fn reset(&self) {
        self.live.borrow_mut().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_aligned_and_bumped() {
        let arena = DeviceArena::new(4096);
        let (a, _) = arena.alloc(10).unwrap();
        let (b, _) = arena.alloc(300).unwrap();
        let (c, _) = arena.alloc(0).unwrap();
        assert_eq!((a, b, c), (0, 256, 768));
        assert_eq!(arena.used(), 769);
    }

    #[test]
    fn exhaustion_reports_needed_and_free_and_leaves_arena_usable() {
        let arena = DeviceArena::new(1024);
        arena.alloc(700).unwrap();
        assert_eq!(
            arena.alloc(512),
            Err(CudaError::OutOfMemory {
                needed: 512,
                free: 256
            })
        );
        assert_eq!(arena.alloc(256).unwrap().0, 768);
        assert!(arena.alloc(usize::MAX).is_err());
    }

    #[test]
    fn rewind_frees_later_allocations_and_makes_their_handles_stale() {
        let arena = DeviceArena::new(4096);
        let (keep, keep_serial) = arena.alloc(100).unwrap();
        let mark = arena.mark(0);
        let (old, old_serial) = arena.alloc(100).unwrap();
        arena.rewind(mark);
        assert!(arena.is_live(keep, keep_serial));
        assert!(!arena.is_live(old, old_serial));
        // The same bytes again, under a new serial: the old handle stays stale.
        let (new, new_serial) = arena.alloc(100).unwrap();
        assert_eq!(new, old);
        assert!(arena.is_live(new, new_serial));
        assert!(!arena.is_live(old, old_serial));
        // A mark rewound past is harmless to rewind to again.
        arena.rewind(mark);
        arena.rewind(mark);
        assert_eq!(arena.used(), 100);
        arena.reset();
        assert!(!arena.is_live(keep, keep_serial));
        assert_eq!(arena.used(), 0);
    }
}
