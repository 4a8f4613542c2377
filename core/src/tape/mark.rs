//! Marks in a recording, to drop everything recorded after them: how a checkpointed
//! block is recorded, used and discarded at the end of the tape.

use super::Tape;
use crate::real::Real;

/// A point in a recording. Only the tape that made it accepts it.
#[allow(dead_code)] // until checkpointed segments use it
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordMark {
    len: u32,
    inputs: u32,
    inputs_end: u32,
    high: usize,
    tag: u32,
}

#[allow(dead_code)] // until checkpointed segments use it
impl<T: Real> Tape<'_, T> {
    /// The current end of the recording and of the high-end allocations.
    pub(crate) fn record_mark(&self) -> RecordMark {
        RecordMark {
            len: self.len.get(),
            inputs: self.inputs.get(),
            inputs_end: self.inputs_end.get(),
            high: self.arena.high_offset(),
            tag: self.tag.get(),
        }
    }

    /// Bytes recorded since `mark`: records plus high-end allocations.
    pub(crate) fn bytes_since(&self, mark: RecordMark) -> usize {
        let records = (self.len.get().saturating_sub(mark.len)) as usize * Self::bytes_per_record();
        records + mark.high.saturating_sub(self.arena.high_offset())
    }

    /// Drops every record and high-end allocation made since `mark`. Handles to dropped
    /// records fail the tape's index check (reported as stale) until new records reuse
    /// their indices, so blocks must not let their handles escape. A mark from another
    /// generation (before a reset) is ignored. The pending error, if any, stays.
    ///
    /// # Safety
    /// Nothing allocated at the high end after `mark` may be used afterwards.
    pub(crate) unsafe fn truncate(&self, mark: RecordMark) {
        if mark.tag != self.tag.get()
            || mark.len > self.len.get()
            || mark.high < self.arena.high_offset()
        {
            return;
        }
        self.len.set(mark.len);
        // The cached constant may be among the dropped records.
        self.last_constant.set((T::zero(), super::VarId::INVALID));
        self.inputs.set(mark.inputs);
        self.inputs_end.set(mark.inputs_end);
        self.arena.set_low_offset(self.records_end());
        self.arena.release_high_to(mark.high);
        self.refresh_limit();
    }
}
