//! How the tape records: the hot path's handle checks (index and generation, the rest
//! vouched for by the handle's type or checked once), pushing a record, and the failure
//! paths, kept out of line so that recording stays small.

use super::identity::HandleKind;
use super::record::{Record, MAX_RECORDS};
use super::{Local, Tape, VarId};
use crate::error::Error;
use crate::op::Op;
use crate::real::Real;
use core::mem::size_of;

/// What recording a libm op reports in a core built without `transcendental`.
const WITHOUT_TRANSCENDENTAL: Error = Error::InvalidArgument(
    "this op needs autodiff-core's `transcendental` feature (exp, ln, trigonometric, pow, ...)",
);

impl<T: Real> Tape<'_, T> {
    /// True when `x` is a live scalar handle of this tape.
    #[inline(always)]
    pub(super) fn owns(&self, x: VarId) -> bool {
        x.kind == HandleKind::Scalar.code()
            && x.tape == self.identity
            && self.is_live(self.local(x))
    }

    /// `x` without the parts that name this tape and the scalar kind, which the caller
    /// has checked (or, for a [`Var`], its tape reference vouches for).
    #[inline(always)]
    pub(super) fn local(&self, x: VarId) -> Local {
        Local {
            index: x.index,
            generation: x.generation,
        }
    }

    /// `x` as a handle again.
    #[inline(always)]
    pub(super) fn handle_of(&self, x: Local) -> VarId {
        VarId {
            index: x.index,
            kind: HandleKind::Scalar.code(),
            generation: x.generation,
            tape: self.identity,
        }
    }

    /// True when record `x.index` exists and generation `x.generation` issued it and is
    /// still open. The common case (the current generation) costs two comparisons;
    /// handles from enclosing generations (captured by a checkpointed block) take the
    /// slow path, out of line.
    #[inline(always)]
    pub(super) fn is_live(&self, x: Local) -> bool {
        (x.index < self.len.get() && x.generation == self.generation.get())
            || self.is_live_in_enclosing_generation(x)
    }

    #[cold]
    #[inline(never)]
    pub(super) fn is_live_in_enclosing_generation(&self, x: Local) -> bool {
        x.index < self.len.get() && self.scopes.is_open_for(x.generation, x.index)
    }

    /// The scalar handle `x` as the recording ops take it: this tape's and a scalar, or
    /// (failing the tape with why not) one that no generation issued.
    #[inline(always)]
    pub(super) fn vouch(&self, x: VarId) -> Local {
        if x.kind == HandleKind::Scalar.code() && x.tape == self.identity {
            self.local(x)
        } else {
            self.fail_handle(x);
            Local::NONE
        }
    }

    /// Makes the handles `push` issues carry the current generation; called whenever
    /// it changes (reset, and a checkpointed block's start and end).
    pub(super) fn refresh_generation(&self) {
        self.generation.set(self.scopes.generation());
    }

    #[inline(always)]
    pub(super) fn record_unary(&self, op: Op, x: Local, n: i32) -> VarId {
        if !self.is_live(x) {
            self.fail_handle(self.handle_of(x));
            return VarId::INVALID;
        }
        if !crate::op::TAPE_HAS_LIBM_RULES && op.is_transcendental() {
            return self.fail(WITHOUT_TRANSCENDENTAL);
        }
        let value = op.eval_unary_recorded(self.record(x.index).value, n);
        self.push_op(op, x.index, n as u32, value)
    }

    #[inline(always)]
    pub(super) fn record_binary(&self, op: Op, a: Local, b: Local) -> VarId {
        if !(self.is_live(a) && self.is_live(b)) {
            let bad = if self.is_live(a) { b } else { a };
            self.fail_handle(self.handle_of(bad));
            return VarId::INVALID;
        }
        if !crate::op::TAPE_HAS_LIBM_RULES && op.is_transcendental() {
            return self.fail(WITHOUT_TRANSCENDENTAL);
        }
        let value = op.eval_binary_recorded(self.record(a.index).value, self.record(b.index).value);
        self.push_op(op, a.index, b.index, value)
    }

    /// Appends a record of `op` with first argument `a` (a record index), `b` as the op
    /// uses it, and `value`.
    #[inline(always)]
    pub(super) fn push_op(&self, op: Op, a: u32, b: u32, value: T) -> VarId {
        match Record::new(op, self.len.get(), a, b, value) {
            Some(record) => self.push(record),
            None => self.push_with_far_argument(op, a, b, value),
        }
    }

    /// [`push_op`](Tape::push_op) when `a` is out of reach of the record's first word
    /// (more than 2^25 records back and above index 2^25; see the record layout): a
    /// plain unary op keeps `a` in its second word, any other op reads a copy of `a`
    /// made just before it.
    #[cold]
    #[inline(never)]
    fn push_with_far_argument(&self, op: Op, a: u32, b: u32, value: T) -> VarId {
        if super::record_kind(op) == super::RecordKind::Unary {
            return self.push(Record::with_argument_in_b(op, a, value));
        }
        let copy = self.push(Record::with_argument_in_b(
            Op::Copy,
            a,
            self.record(a).value,
        ));
        if !copy.is_valid() {
            return VarId::INVALID;
        }
        match Record::new(op, self.len.get(), copy.index, b, value) {
            Some(record) => self.push(record),
            // The copy is the record just before: always within reach.
            None => self.fail(Error::InvalidArgument(
                "internal: a copied argument is out of reach",
            )),
        }
    }

    /// Appends a record: the hot path of every op. One comparison guards both capacity
    /// and the error state (`limit` is zero while an error is pending).
    #[inline(always)]
    pub(super) fn push(&self, record: Record<T>) -> VarId {
        self.push_growing::<true>(record)
    }

    /// [`push`](Tape::push), where a full tape grows (`GROW`, see `growth.rs`) or fails.
    /// Extension records never grow here: the op that pushes one may hold pointers into
    /// the records, so it makes room first (`room_for_records`).
    #[inline(always)]
    pub(super) fn push_growing<const GROW: bool>(&self, record: Record<T>) -> VarId {
        let mut index = self.len.get();
        if index >= self.limit.get() {
            // The handle is made here, not by the cold path: a `VarId` returned from an
            // out-of-line call would live in memory on the hot path too.
            if !self.push_failed(GROW) {
                return VarId::INVALID;
            }
            index = self.len.get();
        }
        // Records grow past the arena's low cursor without telling it (`limit` keeps them
        // below the high end). Under AddressSanitizer the free gap is poisoned, so the
        // slot is claimed from the arena first: its low cursor then stays at the end of
        // the records, and a truncation or reset poisons the records it drops.
        #[cfg(autodiff_asan)]
        if self.record_block.get().is_none() {
            self.arena.set_low_offset(
                self.records_offset + (index as usize + 1) * size_of::<Record<T>>(),
            );
        }
        // SAFETY: `index < limit`, and `refresh_limit` keeps `limit` records inside the
        // gap below the arena's high end, or inside the host's block, which the tape owns.
        unsafe { self.records_ptr().add(index as usize).write(record) };
        self.len.set(index + 1);
        VarId {
            index,
            kind: HandleKind::Scalar.code(),
            generation: self.generation.get(),
            tape: self.identity,
        }
    }

    #[cold]
    #[inline(never)]
    /// Why `push` found no room, or room after all: true when the host's growth hooks
    /// moved the records to a bigger block (see `growth.rs`), so that `push` stays one
    /// comparison on its hot path.
    pub(super) fn push_failed(&self, grow: bool) -> bool {
        if self.error.get().is_some() {
            return false;
        }
        if grow && self.len.get() < MAX_RECORDS && self.grow_records(1) {
            return true;
        }
        let error = if self.len.get() == MAX_RECORDS {
            Error::TooManyVariables {
                limit: MAX_RECORDS as usize,
            }
        } else {
            Error::OutOfMemory {
                needed: size_of::<Record<T>>(),
                free: self.free_bytes(),
            }
        };
        self.fail(error);
        false
    }

    #[cold]
    #[inline(never)]
    pub(super) fn fail_handle(&self, x: VarId) {
        if self.error.get().is_none() {
            self.fail(self.handle_error(x));
        }
    }

    /// Why `x` is not a live handle of this tape.
    #[cold]
    pub(super) fn handle_error(&self, x: VarId) -> Error {
        if x.tape != self.identity || !self.scopes.was_issued(x.generation) {
            return Error::ForeignHandle;
        }
        let live = x.index < self.len.get()
            && (x.generation == self.scopes.generation()
                || self.scopes.is_open_for(x.generation, x.index));
        if live && x.kind != HandleKind::Scalar.code() {
            return Error::WrongHandleKind {
                expected: HandleKind::describe(HandleKind::Scalar.code()),
                got: HandleKind::describe(x.kind),
            };
        }
        // This tape's, but from a closed generation, or its record was dropped.
        Error::StaleHandle
    }

    /// Free bytes between the records and the high end.
    pub(super) fn free_bytes(&self) -> usize {
        self.arena.high_offset() - self.records_end()
    }

    /// Where the arena's low end stops: after the records, or at their old home once
    /// they moved to a block of the host's.
    pub(super) fn records_end(&self) -> usize {
        match self.record_block.get() {
            None => self.records_offset + self.len() * size_of::<Record<T>>(),
            Some(_) => self.records_offset,
        }
    }

    /// Recomputes how many records fit below the high end. Called whenever the high end
    /// moves or the error state changes.
    pub(super) fn refresh_limit(&self) {
        if self.error.get().is_some() {
            self.limit.set(0);
            return;
        }
        // The scratch reserve is kept free beside the records wherever they live: a
        // checkpointed block recorded again in a sweep takes records and high-end
        // memory from it.
        let room = self.record_room().saturating_sub(self.reserved.get());
        let fit = room / size_of::<Record<T>>().max(1);
        self.limit.set(fit.min(MAX_RECORDS as usize) as u32);
    }

    /// Record `index`, which must be below `len`.
    #[inline(always)]
    pub(super) fn record(&self, index: u32) -> Record<T> {
        debug_assert!(index < self.len.get());
        // SAFETY: callers pass indices of records already written (below `len`).
        unsafe { self.records_ptr().add(index as usize).read() }
    }

    #[inline(always)]
    pub(super) fn records_ptr(&self) -> *mut Record<T> {
        self.records.get().as_ptr()
    }
}
