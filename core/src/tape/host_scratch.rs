//! Sweep scratch from the host, on a tape that may grow (see `growth.rs`).
//!
//! A vector sweep needs a tangent (or adjoint) per record and direction: `len × p`
//! values, which a tape that started small has no room for in its arena. With growth
//! hooks, [`with_scratch`](Tape::with_scratch) asks the host for that block instead of
//! failing. The block is then kept for the next sweep, which usually needs the same
//! size: asking the host again each sweep would cost a fresh allocation, and the
//! page faults of fresh memory, every time (ten times the sweep itself on a
//! 57 MB block). Two blocks are kept, because a compressed sparse Hessian nests two
//! scratch blocks (its compressed columns around the second-order sweep's lanes); a kept
//! block goes back when a sweep needs a bigger one, and when the tape is dropped.

use super::{GrowthHooks, Tape};
use crate::arena::align_up;
use crate::error::Error;
use crate::real::Real;
use core::cell::Cell;
use core::mem::{align_of, size_of};
use core::ptr::NonNull;

/// How many scratch blocks a tape keeps: one for each level of the deepest nesting of
/// scratch a sweep takes.
pub(super) const KEPT_SCRATCH_BLOCKS: usize = 2;

/// A scratch block from the host.
#[derive(Clone, Copy, Debug)]
pub(super) struct HostScratch {
    start: NonNull<u8>,
    bytes: usize,
}

impl<T: Real> Tape<'_, T> {
    /// `count` values of `U`, each `U::default()`, in a block from the host: the kept
    /// one when it is large enough, else a new one. `None` without growth hooks, when the
    /// host refuses or hands in a bad block (given straight back), or when the size
    /// overflows. The caller hands the block to
    /// [`finish_host_scratch`](Tape::finish_host_scratch) when done with it.
    pub(super) fn host_scratch<U: Copy + Default>(
        &self,
        count: usize,
    ) -> Option<(NonNull<U>, HostScratch)> {
        // Only a tape with growth hooks asks its host.
        let hooks = self.growth.get()?;
        let bytes = count
            .checked_mul(size_of::<U>())?
            .checked_add(align_of::<U>() - 1)?;
        let block = match self.take_kept_scratch(bytes) {
            Some(kept) => kept,
            None => self.new_host_scratch(hooks, bytes)?,
        };
        let address = block.start.as_ptr() as usize;
        let Some(padding) = align_up(address, align_of::<U>()).map(|aligned| aligned - address)
        else {
            // An address at the very end of the address space: keep the block, unused.
            self.finish_host_scratch(block);
            return None;
        };
        // SAFETY: the aligned start leaves room for `count` values (`bytes` counted the
        // padding), in a block only this call uses.
        let values = unsafe {
            let values = block.start.as_ptr().add(padding).cast::<U>();
            for i in 0..count {
                values.add(i).write(U::default());
            }
            NonNull::new_unchecked(values)
        };
        Some((values, block))
    }

    /// A new block of at least `bytes` from the host, checked.
    fn new_host_scratch(&self, hooks: GrowthHooks, bytes: usize) -> Option<HostScratch> {
        let len = self.len();
        let (start, got) = self.ask_host(hooks, bytes, bytes)?;
        let block = HostScratch { start, bytes: got };
        // A C host can record through its handle inside `grow`: in the middle of a
        // sweep, whose scratch was sized for the records there were.
        if self.len() != len {
            self.fail(Error::Reentrant(
                "growth: the grow callback recorded on the tape during a sweep",
            ));
            self.give_back_scratch(block);
            return None;
        }
        if got < bytes || self.overlaps_tape_memory(start, got) {
            self.give_back_scratch(block);
            return None;
        }
        Some(block)
    }

    /// The smallest kept block of at least `bytes`, no longer kept. When none is that
    /// large, the largest kept block goes back to the host (the sweep about to ask for
    /// a bigger one replaces it), and the answer is `None`.
    fn take_kept_scratch(&self, bytes: usize) -> Option<HostScratch> {
        let size = |slot: &Cell<Option<HostScratch>>| slot.get().map(|block| block.bytes);
        let fitting = self
            .kept_scratch
            .iter()
            .filter(|slot| size(slot).is_some_and(|kept| kept >= bytes))
            .min_by_key(|slot| size(slot));
        if let Some(slot) = fitting {
            return slot.take();
        }
        if let Some(largest) = self.kept_scratch.iter().max_by_key(|slot| size(slot)) {
            if let Some(block) = largest.take() {
                self.give_back_scratch(block);
            }
        }
        None
    }

    /// Takes back a block [`host_scratch`](Tape::host_scratch) handed out: kept for the
    /// next sweep, in a free place or in that of a smaller kept block, which goes back to
    /// the host; or given back itself when every kept block is at least as large.
    pub(super) fn finish_host_scratch(&self, block: HostScratch) {
        let size = |slot: &Cell<Option<HostScratch>>| slot.get().map_or(0, |kept| kept.bytes);
        // An empty place is the smallest.
        let smallest = self.kept_scratch.iter().min_by_key(|slot| size(slot));
        match smallest {
            Some(slot) if slot.get().is_none_or(|kept| kept.bytes < block.bytes) => {
                if let Some(smaller) = slot.replace(Some(block)) {
                    self.give_back_scratch(smaller);
                }
            }
            _ => self.give_back_scratch(block),
        }
    }

    /// True while a scratch block of the host's is kept.
    pub(super) fn has_kept_scratch(&self) -> bool {
        // `Cell`s of a `Copy` value: read without taking.
        self.kept_scratch.iter().any(|slot| slot.get().is_some())
    }

    /// Gives the kept scratch blocks back to the host.
    pub(super) fn release_kept_scratch(&self) {
        for slot in &self.kept_scratch {
            if let Some(block) = slot.take() {
                self.give_back_scratch(block);
            }
        }
    }

    fn give_back_scratch(&self, block: HostScratch) {
        if let Some(hooks) = self.growth.get() {
            // SAFETY: the hooks handed out this block, which is no longer used.
            unsafe { self.give_back(hooks, block.start, block.bytes) };
        }
    }
}
