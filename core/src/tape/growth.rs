//! Growth: a host may hand a full tape more memory for its records.
//!
//! A tape's records start at the low end of the caller's arena. A host that cannot size
//! that memory up front registers growth hooks ([`Tape::set_growth`], or
//! [`GrowthHooks`] from C): when the records run out of room, the tape asks the host for
//! a block of at least the size it needs (and says how much it would like: twice what
//! it has, so that growing costs each record a constant number of copies), moves its
//! records there, and gives the previous block back. The core still never allocates;
//! the host decides where the memory comes from, and may refuse.
//!
//! # Why one contiguous block, moved, rather than chunks
//!
//! The sweeps walk the records as one array, with no test of where a chunk ends, and
//! that is where their speed comes from (backward and replay are a few instructions a
//! record). Chunked records would put a boundary test, or a second loop level, in every
//! sweep and in the host's inline recording path. Moving costs a copy of 24 bytes a
//! record at each doubling (at most two copies a record in all, memory bandwidth only)
//! and, while the copy runs, the old and the new block at once. So backward, replay and
//! checkpointing run at the same speed on a grown tape, and the hot recording path is
//! unchanged: one comparison against `limit`, whose failure is where growth happens.
//!
//! # When records may move
//!
//! Records move only where nothing holds a pointer into them:
//! - a scalar op that finds the tape full (`push`), and the start of an op that records
//!   extension records ([`room_for_records`](Tape::room_for_records)), which makes room
//!   before it reads any other record's slots;
//! - never during a sweep (a checkpointed block recorded again, sweep scratch), nor in
//!   a callback the tape runs (user ops, chain steps, graph sinks), whose caller may be
//!   in the middle of a sweep. A checkpointed block being recorded for the first time
//!   may grow the tape: nothing around it holds record pointers.
//!
//! A rank-0 tensor keeps pointers to its record's value and adjoint slots; after a move
//! each extension record's `relocated` hook points them at the new home.
//!
//! The records' old home in the arena becomes free for the high end (tensor data,
//! scratch). The scratch reserve is kept free in both places: a checkpointed segment
//! recorded again in backward takes records from the block and scratch from the arena.
//!
//! The rest of the high end (tensor data, parameters) stays in the arena. Constants
//! `f32` does not hold go to the arena until the records move out, and from then on to
//! the top of the records' block, which grows with the records and moves with them: a
//! recording full of such constants runs at the speed of a small one
//! (`wide_constant.rs`).
//! Sweep scratch the arena cannot hold (the lanes of a vector sweep: a tangent per
//! record and direction) comes from the same hooks (`host_scratch.rs`).

use super::record::Record;
use super::Tape;
use crate::arena::align_up;
use crate::error::{Error, Result};
use crate::real::Real;
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::NonNull;

/// A host's source of memory for a tape's records: see the module documentation.
pub trait RecordGrowth<'m> {
    /// A block of at least `min_bytes`, preferably `wanted_bytes` (at least as many), or
    /// `None` to refuse: the op that needed room then fails with
    /// [`Error::OutOfMemory`], as on a tape without growth.
    fn grow(&mut self, min_bytes: usize, wanted_bytes: usize) -> Option<&'m mut [MaybeUninit<u8>]>;

    /// Gives back a block `grow` handed out, which the tape no longer uses: when it moves
    /// to a bigger one, and when the tape is dropped.
    fn release(&mut self, block: &'m mut [MaybeUninit<u8>]);
}

/// [`GrowthHooks::grow`]: `(context, min_bytes, wanted_bytes)` to a block `(start,
/// bytes)` of at least `min_bytes`, or `None`.
pub type GrowFn = unsafe fn(*mut (), usize, usize) -> Option<(NonNull<u8>, usize)>;

/// Growth hooks as the tape keeps them: two functions and the context they are called
/// with (a host without Rust's traits, such as the C API, makes these directly).
#[derive(Clone, Copy, Debug)]
pub struct GrowthHooks {
    pub grow: GrowFn,
    /// `(context, start, bytes)`: a block `grow` handed out, given back.
    pub release: unsafe fn(*mut (), NonNull<u8>, usize),
    pub context: *mut (),
}

/// The host block the records live in, once they moved out of the arena.
#[derive(Clone, Copy, Debug)]
pub(super) struct RecordBlock {
    start: NonNull<u8>,
    bytes: usize,
    /// Bytes from the records' (aligned) start to the block's top: its end, rounded
    /// down to 8 bytes of address. Wide constants lie below the top, records above the
    /// start.
    pub(super) room: usize,
}

/// [`GrowthHooks::grow`] for a [`RecordGrowth`] `G`.
///
/// # Safety
/// `context` is the `&mut G` given to [`Tape::set_growth`], unused by anything else.
unsafe fn grow_with<'m, G: RecordGrowth<'m>>(
    context: *mut (),
    min_bytes: usize,
    wanted_bytes: usize,
) -> Option<(NonNull<u8>, usize)> {
    // SAFETY: the caller's contract.
    let growth = unsafe { &mut *context.cast::<G>() };
    let block = growth.grow(min_bytes, wanted_bytes)?;
    Some((NonNull::new(block.as_mut_ptr().cast())?, block.len()))
}

/// [`GrowthHooks::release`] for a [`RecordGrowth`] `G`.
///
/// # Safety
/// As for [`grow_with`]; `(start, bytes)` is a block it handed out.
unsafe fn release_with<'m, G: RecordGrowth<'m>>(
    context: *mut (),
    start: NonNull<u8>,
    bytes: usize,
) {
    // SAFETY: the caller's contract: the block came from `G::grow` as `&'m mut`, and
    // the tape no longer uses it.
    unsafe {
        let growth = &mut *context.cast::<G>();
        growth.release(core::slice::from_raw_parts_mut(
            start.as_ptr().cast(),
            bytes,
        ));
    }
}

impl<'m, T: Real> Tape<'m, T> {
    /// Lets the tape grow: when its records run out of room it asks `growth` for a bigger
    /// block, moves them there, and gives the previous block back (see the module
    /// documentation of `growth.rs`). Fails with [`Error::InvalidArgument`] once the
    /// records live in a block of earlier hooks.
    /// `growth` is borrowed for the tape's life, and the blocks it hands out for at
    /// least as long (`'b`).
    pub fn set_growth<'b: 'm, G: RecordGrowth<'b> + Send>(
        &mut self,
        growth: &'m mut G,
    ) -> Result<()> {
        let hooks = GrowthHooks {
            grow: grow_with::<'b, G>,
            release: release_with::<'b, G>,
            context: (growth as *mut G).cast(),
        };
        // SAFETY: `growth` is borrowed for as long as the tape's memory ('m), so for
        // the tape's life, and only the hooks use it; its blocks live for 'b, longer
        // still. It is `Send`, as the tape is.
        unsafe { self.set_growth_hooks(hooks) }
    }

    /// [`set_growth`](Tape::set_growth) with hooks made by hand.
    ///
    /// # Safety
    /// Until the tape is dropped, `hooks.grow` must return blocks (at least as large as
    /// asked) that nothing else uses until the tape gives them back through
    /// `hooks.release`; both may be called from whichever thread uses the tape, and
    /// must not use the tape.
    pub unsafe fn set_growth_hooks(&mut self, hooks: GrowthHooks) -> Result<()> {
        if self.record_block.get().is_some() || self.has_kept_scratch() {
            return Err(Error::InvalidArgument(
                "growth hooks cannot change once the tape holds a block they handed in",
            ));
        }
        self.growth.set(Some(hooks));
        Ok(())
    }

    /// True when the tape has growth hooks.
    pub(super) fn grows(&self) -> bool {
        self.growth.get().is_some()
    }

    /// True once the records live in a block the growth hooks handed in.
    pub fn records_in_host_block(&self) -> bool {
        self.record_block.get().is_some()
    }

    /// Bytes the records have room for where they live now, the scratch reserve
    /// included.
    pub(super) fn record_room(&self) -> usize {
        match self.record_block.get() {
            None => self.arena.high_offset().saturating_sub(self.records_offset),
            Some(block) => block.room - self.block_constants.get(),
        }
    }

    /// The top of the records' host block, below which its wide constants lie; null
    /// while the records live in the arena.
    pub(super) fn block_top(&self) -> *mut u8 {
        match self.record_block.get() {
            None => core::ptr::null_mut(),
            Some(block) => self.records_ptr().cast::<u8>().wrapping_add(block.room),
        }
    }

    /// Makes room for `count` more records (growing when the tape may), so that an op
    /// that records extension records (which never grow the tape themselves) can push
    /// them. Fails as a full tape does when there is no room.
    pub(crate) fn room_for_records(&self, count: usize) -> Result<()> {
        self.status()?;
        self.make_way_for_extension_data(count)?;
        // `limit` is 0 while an error is pending (checked above), else at least `len`.
        let room = self.limit.get().saturating_sub(self.len.get()) as usize;
        if room >= count || self.grow_records(count) {
            return Ok(());
        }
        self.status()?;
        let error = Error::OutOfMemory {
            needed: count.saturating_mul(size_of::<Record<T>>()),
            free: room * size_of::<Record<T>>(),
        };
        self.fail(error);
        Err(error)
    }

    /// Extension ops put their data (tensor buffers, nodes, a checkpoint's staging) at
    /// the arena's high end. On a tape that may grow, the records make way for it at the
    /// first such op, to a host block with room for `count` more, instead of leaving
    /// both to run out of the arena together: the high end cannot move the records out
    /// later, as its callers may hold pointers into them. Call where nothing does (the
    /// start of such an op). A host that refuses leaves the records where they are; a
    /// bad block fails the tape.
    pub(crate) fn make_way_for_extension_data(&self, count: usize) -> Result<()> {
        if !self.records_in_host_block() && self.grows() {
            self.grow_records(count);
        }
        self.status()
    }

    /// Moves the records to a block from the growth hooks with room for `extra` more
    /// (and the scratch reserve). True when it did; false when the tape has no hooks,
    /// may not move its records now, or the host refused (which fails nothing: the
    /// caller reports the lack of room), and after a bad block (which fails the tape).
    #[cold]
    #[inline(never)]
    pub(super) fn grow_records(&self, extra: usize) -> bool {
        let Some(hooks) = self.growth.get() else {
            return false;
        };
        if !self.may_move_records() {
            return false;
        }
        let wanted = |len: usize| -> Option<usize> {
            len.checked_add(extra)?
                .checked_mul(size_of::<Record<T>>())?
                .checked_add(self.reserved.get())?
                .checked_add(self.block_constants.get())?
                // The records' start is aligned up, the top down to 8 bytes.
                .checked_add(align_of::<Record<T>>() - 1 + 7)
        };
        let Some(min_bytes) = wanted(self.len()) else {
            self.fail(Error::SizeOverflow);
            return false;
        };
        let wanted_bytes = min_bytes.max(self.record_room().saturating_mul(2));
        let Some((start, bytes)) = self.ask_host(hooks, min_bytes, wanted_bytes) else {
            return false;
        };
        // The hook may have recorded (through a C handle) before it returned.
        let adopted = match wanted(self.len()) {
            _ if self.error.get().is_some() => Err(None),
            Some(min_bytes) => self.adopt(start, bytes, min_bytes).map_err(Some),
            None => Err(Some(Error::SizeOverflow)),
        };
        match adopted {
            Ok(old) => {
                if let Some(old) = old {
                    let len = self.len();
                    self.release_block(hooks, old);
                    // A C host can record through its handle inside `release`, taking
                    // the room made for the caller's `extra` records, which the caller
                    // then writes past the block's end: that fails the tape instead.
                    if self.len() != len {
                        self.fail(Error::Reentrant(
                            "growth: the release callback recorded on the tape",
                        ));
                        return false;
                    }
                }
                true
            }
            Err(error) => {
                self.release_block(
                    hooks,
                    RecordBlock {
                        start,
                        bytes,
                        room: 0,
                    },
                );
                if let Some(error) = error {
                    self.fail(error);
                }
                false
            }
        }
    }

    /// True when nothing may hold a pointer into the records (see the module docs).
    fn may_move_records(&self) -> bool {
        self.error.get().is_none()
            && self.callbacks.get() == self.growable_callbacks.get()
            && self.rerecording.get() == 0
            && self.scratch_open.get() == 0
    }

    /// Moves the records into the host's block `(start, bytes)`, which must hold
    /// `min_bytes` (alignment included), and returns the host block they left, if any.
    fn adopt(
        &self,
        start: NonNull<u8>,
        bytes: usize,
        min_bytes: usize,
    ) -> Result<Option<RecordBlock>> {
        if bytes < min_bytes {
            return Err(Error::InvalidArgument(
                "growth: the block handed in is smaller than asked for",
            ));
        }
        let address = start.as_ptr() as usize;
        address.checked_add(bytes).ok_or(Error::SizeOverflow)?;
        if self.overlaps_tape_memory(start, bytes) {
            return Err(Error::InvalidArgument(
                "growth: the block handed in overlaps the tape's memory",
            ));
        }
        // `min_bytes` counted both paddings, so the aligned start and top lie inside the
        // block, as far apart as the records and constants need.
        let padding =
            align_up(address, align_of::<Record<T>>()).ok_or(Error::SizeOverflow)? - address;
        let room = (address + bytes) / 8 * 8 - (address + padding);
        let constants = self.block_constants.get();
        let old_top = self.block_top();
        // SAFETY: `padding + room <= bytes`; the block is the host's to lend (the hooks'
        // contract), and disjoint from the records and the constants below the old top
        // (checked above). The constants are `constants` bytes below the old top.
        let records = unsafe {
            let records = start.as_ptr().add(padding);
            core::ptr::copy_nonoverlapping(self.records_ptr(), records.cast(), self.len());
            if constants > 0 {
                core::ptr::copy_nonoverlapping(
                    old_top.sub(constants),
                    records.add(room - constants),
                    constants,
                );
            }
            NonNull::new_unchecked(records.cast::<Record<T>>())
        };
        self.records.set(records);
        let old = self
            .record_block
            .replace(Some(RecordBlock { start, bytes, room }));
        self.relocate_wide_chunk();
        if old.is_none() {
            // The records' home in the arena is free for the high end from now on.
            self.arena.set_low_offset(self.records_offset);
        }
        self.relocate_extension_records();
        self.refresh_limit();
        Ok(old)
    }

    /// True when `(start, bytes)` overlaps the arena or the records' host block.
    pub(super) fn overlaps_tape_memory(&self, start: NonNull<u8>, bytes: usize) -> bool {
        let address = start.as_ptr() as usize;
        let end = address.saturating_add(bytes);
        let overlaps = |from: usize, len: usize| address < from + len && from < end;
        overlaps(self.arena.ptr_at(0) as usize, self.arena.capacity())
            || self
                .record_block
                .get()
                .is_some_and(|block| overlaps(block.start.as_ptr() as usize, block.bytes))
    }

    /// Gives `block` back to the host.
    fn release_block(&self, hooks: GrowthHooks, block: RecordBlock) {
        // SAFETY: the hooks handed out this block, and the tape no longer uses it.
        unsafe { self.give_back(hooks, block.start, block.bytes) };
    }

    /// Gives the block `(start, bytes)` back to the host, as a callback on the tape.
    ///
    /// # Safety
    /// `hooks.grow` handed out the block, and nothing uses it any more.
    pub(super) unsafe fn give_back(&self, hooks: GrowthHooks, start: NonNull<u8>, bytes: usize) {
        let _callback = self.enter_callback();
        // SAFETY: the caller's contract.
        unsafe { (hooks.release)(hooks.context, start, bytes) };
    }

    /// Asks the host for a block of at least `min_bytes` (preferably `wanted_bytes`) as
    /// a callback on the tape, with the hooks taken meanwhile: should the host record on
    /// this tape, that op finds no hooks and fails, instead of growing inside a growth.
    pub(super) fn ask_host(
        &self,
        hooks: GrowthHooks,
        min_bytes: usize,
        wanted_bytes: usize,
    ) -> Option<(NonNull<u8>, usize)> {
        self.growth.set(None);
        let block = {
            let _callback = self.enter_callback();
            // SAFETY: the hooks' contract (`set_growth_hooks`).
            unsafe { (hooks.grow)(hooks.context, min_bytes, wanted_bytes) }
        };
        self.growth.set(Some(hooks));
        block
    }

    /// Points whatever the layers keep inside records at the records' new home.
    fn relocate_extension_records(&self) {
        let _ = self.for_each_extension_record(|extension, i| {
            (extension.relocated)(self, i);
            Ok(())
        });
    }

    /// Runs `f`, a checkpointed block being recorded for the first time, as a callback
    /// on the tape in which the records may still move (see the module docs).
    pub(crate) fn run_growable_callback<R>(&self, f: impl FnOnce() -> R) -> R {
        let _callback = self.enter_callback();
        self.growable_callbacks
            .set(self.growable_callbacks.get() + 1);
        /// Ends the growable scope also when `f` unwinds.
        struct Growable<'a>(&'a core::cell::Cell<u32>);
        impl Drop for Growable<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get().saturating_sub(1));
            }
        }
        let _growable = Growable(&self.growable_callbacks);
        f()
    }
}

impl<T: Real> Drop for Tape<'_, T> {
    /// Gives the records' host block, and the kept scratch block, back.
    fn drop(&mut self) {
        if let (Some(hooks), Some(block)) = (self.growth.get(), self.record_block.take()) {
            self.release_block(hooks, block);
        }
        self.release_kept_scratch();
    }
}
