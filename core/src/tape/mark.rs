//! Marks in a recording, to drop everything recorded after them: how a checkpointed
//! block is recorded, used and discarded at the end of the tape.

use super::scope::ScopeMark;
use super::Tape;
use crate::error::{Error, Result};
use crate::real::Real;

/// A point in a recording. Only the tape that made it accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordMark {
    len: u32,
    inputs: u32,
    inputs_end: u32,
    high: usize,
    /// Wide constants at the top of the records' host block (`wide_constant.rs`).
    block_constants: usize,
    reserved: usize,
    /// The tape's epoch when the mark was taken: a mark from before a reset is ignored.
    epoch: u32,
    /// The generation to return to when the block ends.
    scope: ScopeMark,
}

impl RecordMark {
    /// The number of records when the mark was taken: the index of the first record
    /// made after it.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }
}

impl<T: Real> Tape<'_, T> {
    /// Starts a checkpointed block's recording: a mark to drop it at, and a fresh
    /// generation for its handles (so that none outlives the block). After it the scratch
    /// reserve is zero until [`truncate`](Tape::truncate) restores it: the block recorded
    /// next may use the reserved bytes (everything it records is dropped before any sweep
    /// needs them), and [`scratch_reserve`](Tape::scratch_reserve) then tells the scratch
    /// its own ops asked for. Fails when blocks nest deeper than
    /// [`MAX_BLOCK_DEPTH`](crate::tape::MAX_BLOCK_DEPTH).
    pub(crate) fn open_block(&self) -> Result<RecordMark> {
        let scope = self.scopes.open(self.len.get())?;
        self.refresh_generation();
        let mark = RecordMark {
            len: self.len.get(),
            inputs: self.inputs.get(),
            inputs_end: self.inputs_end.get(),
            high: self.arena.high_offset(),
            block_constants: self.block_constants.get(),
            reserved: self.reserved.get(),
            epoch: self.scopes.epoch(),
            scope,
        };
        // Start without a cached constant, so that a block records the same constants
        // wherever it is recorded (and so the same bytes), and never reuses a handle of
        // the enclosing generation.
        self.last_constant.set((T::zero(), super::VarId::INVALID));
        self.forget_wide_chunk();
        self.reserved.set(0);
        self.refresh_limit();
        Ok(mark)
    }

    /// The bytes kept free for sweep scratch (see `reserve_scratch`).
    pub(crate) fn scratch_reserve(&self) -> usize {
        self.reserved.get()
    }

    /// Bytes recorded since `mark`: records plus high-end allocations (and wide constants
    /// at the top of the records' host block).
    pub(crate) fn bytes_since(&self, mark: RecordMark) -> usize {
        let records = (self.len.get().saturating_sub(mark.len)) as usize * Self::bytes_per_record();
        let block_constants = self
            .block_constants
            .get()
            .saturating_sub(mark.block_constants);
        records + block_constants + mark.high.saturating_sub(self.arena.high_offset())
    }

    /// Moves the high end down to a multiple of 8 bytes (of address), so that a block
    /// recorded from here allocates with the same padding wherever it starts.
    pub(crate) fn align_high(&self) -> Result<()> {
        self.status()?;
        match self.alloc_below_reserve::<u64>(0, 0, self.reserved.get()) {
            Ok(_) => Ok(()),
            Err(error) => {
                self.fail(error);
                Err(error)
            }
        }
    }

    /// Drops every record and high-end allocation made since `mark`, restores the
    /// scratch reserve of then, and closes the block's generation: handles made inside
    /// the block are stale from now on, even once new records reuse their indices. A
    /// mark from before a reset is ignored. The pending error, if any, stays.
    ///
    /// # Safety
    /// Nothing allocated at the high end after `mark` may be used afterwards.
    pub(crate) unsafe fn truncate(&self, mark: RecordMark) {
        if mark.epoch != self.scopes.epoch() {
            return;
        }
        self.scopes.close(mark.scope);
        self.refresh_generation();
        if mark.len > self.len.get() || mark.high < self.arena.high_offset() {
            return;
        }
        self.len.set(mark.len);
        // Rows planned for a vector sweep over the dropped records serve no sweep now.
        if let super::SlotContent::LaneRows(_) = self.slot_content.get() {
            self.slots_hold(super::SlotContent::LaneRows(
                super::lane_rows::LaneRowsPlan::STALE,
            ));
        }
        // The cached constant may be among the dropped records.
        self.last_constant.set((T::zero(), super::VarId::INVALID));
        self.forget_wide_chunk();
        // A mark taken while the records lived in the arena holds none: what the block
        // has then came after it.
        self.block_constants
            .set(mark.block_constants.min(self.block_constants.get()));
        self.inputs.set(mark.inputs);
        self.inputs_end.set(mark.inputs_end);
        self.reserved.set(mark.reserved);
        self.arena.set_low_offset(self.records_end());
        self.arena.release_high_to(mark.high);
        self.refresh_limit();
    }

    /// [`truncate`](Tape::truncate)s to `mark`, then allocates `words` 8-byte words at
    /// the high end (keeping the restored reserve free) and moves the `words` words at
    /// `keep` there. The new block starts at `mark`'s high end rounded down to 8 bytes,
    /// above everything `keep` may overlap; the move copies as `memmove` does.
    ///
    /// # Safety
    /// `keep` must be an 8-aligned block of `words` words allocated after `mark`; as for
    /// `truncate`, nothing else allocated after `mark` may be used afterwards.
    pub(crate) unsafe fn truncate_keeping(
        &self,
        mark: RecordMark,
        keep: *const u64,
        words: usize,
    ) -> Result<*mut u64> {
        // SAFETY: passed on from the caller.
        unsafe { self.truncate(mark) };
        let floor = self.records_end().saturating_add(self.reserved.get());
        if floor > self.arena.high_offset() {
            return Err(Error::OutOfMemory {
                needed: words.saturating_mul(8),
                free: 0,
            });
        }
        self.arena.set_low_offset(floor);
        let block = self.arena.alloc_high_raw::<u64>(words);
        self.arena.set_low_offset(self.records_end());
        self.refresh_limit();
        let block = block?.as_ptr();
        // SAFETY: both blocks hold `words` words inside the arena; truncating and
        // allocating only moved cursors, so `keep`'s contents are intact.
        unsafe { self.arena.move_words(keep, block, words) };
        Ok(block)
    }

    /// Marks the start of a block's re-recording (in a backward, tangent or replay
    /// sweep of a checkpointed segment); calls nest.
    pub(crate) fn begin_rerecording(&self) {
        self.rerecording.set(self.rerecording.get() + 1);
    }

    /// Ends what [`begin_rerecording`](Tape::begin_rerecording) began.
    pub(crate) fn end_rerecording(&self) {
        self.rerecording
            .set(self.rerecording.get().saturating_sub(1));
    }

    /// True while a checkpointed block is being recorded again: ops then must not
    /// reset state that earlier parts of the sweep already filled in (a parameter's
    /// gradient).
    pub(crate) fn is_rerecording(&self) -> bool {
        self.rerecording.get() > 0
    }
}
