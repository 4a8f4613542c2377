//! Constants that `f32` does not hold, beside the records instead of in them.
//!
//! An op with a constant keeps the constant in its record when `f32` holds it exactly
//! (the `…Const` ops, most literals). Any other constant of an `f64` tape (or of a dual
//! tape over `f64`, when its tangents are zero) goes to a pool at the arena's high end,
//! 8 bytes each (the value alone: a dual constant reads back with zero tangents), and
//! the op's record (`AddWide` … `WideDiv`)
//! locates it: it costs no record and no backward work, where it used to take a
//! constant record and a binary op that sent an adjoint to it. The pool grows in chunks
//! of 1, 2, 4, … up to [`CHUNK`] constants (one, where a chunk does not fit), allocated
//! like any other high-end data: a reset or the end of a checkpointed block gives them
//! back with everything else recorded after them. So `k` constants take at most
//! `16·k` bytes, less than the `24·k` their constant records took: memory sized for a
//! recording's records and constants (`bytes_for_records`) still holds it.
//!
//! # On a tape that grows
//!
//! A tape whose records live in a host's block (`growth.rs`) takes its chunks from the
//! top of that block, leaving the arena's room to what only the arena holds (tensor
//! data, a checkpoint's staging); the arena, only when the block has no room and cannot
//! grow (inside a sweep). The chunks stack downwards while the records fill the block
//! upwards. Their references count back from the top, as negative 32-bit numbers, so
//! they stay valid when the block moves: a move copies the constants to the new block's
//! top. A record tells its constant's place by its reference's sign; references into
//! the arena are below 2^31.
//!
//! Before, such a constant took a constant record (shared by repeats of one constant)
//! and a binary op once the arena was full, through the library's call even from a
//! host's inline path: GradBench's llsq at its largest size recorded 46% more records
//! than it needs, and retaping it took twice the time it takes now.

use super::{Local, Tape, VarId};
use crate::op::Op;
use crate::real::Real;
use core::mem::size_of;

/// The most constants allocated at a time. A host recording through the cursor
/// (`cursor.rs`) calls into the library for each new chunk: a cap of 32 made those calls
/// about 7% of GradBench llsq's recording time from C++ (half its ops have such a
/// constant). The doubling from 1 keeps the pool within twice the constants it holds,
/// whatever the cap.
const CHUNK: u32 = 256;

impl<T: Real> Tape<'_, T> {
    /// Whether this tape's constants can live in the pool: those of an `f64` tape, and
    /// those without tangents of a dual tape over `f64`. (An `f32` tape's constants
    /// always fit their records.)
    pub(crate) const HAS_WIDE_CONSTANTS: bool = T::F64_VALUED;

    /// Records `op` (one of the wide-constant ops) of `x` and the constant `c`; `None`
    /// when the pool cannot take `c` (a dual constant with a tangent, or see
    /// `wide_slot`): the caller records a constant record and a binary op instead.
    #[inline(always)]
    pub(super) fn record_wide_constant(&self, op: Op, x: Local, c: T) -> Option<VarId> {
        let plain = c.plain_f64()?;
        if !self.is_live(x) {
            self.fail_handle(self.handle_of(x));
            return Some(VarId::INVALID);
        }
        let slot = self.wide_slot(plain)?;
        // The constant as every sweep reads it back (`WideConstants::get`), so that
        // replay repeats this value to the bit (a dual `−0` tangent reads back `+0`).
        let value = op.eval_with_constant(self.record(x.index).value, T::from_f64(plain));
        Some(self.push_op(op, x.index, slot, value))
    }

    /// A pool slot holding `c`, as a record's second field: its address counted in
    /// 8-byte units from the 8-aligned address at or below the arena's start (as
    /// extension nodes are; caller memory need not be aligned). `None` when the arena is
    /// full (the tape is failed then, unless it may grow), while a sweep's scratch region is open (which
    /// allows no allocation: a checkpointed block recorded again inside a sweep), or
    /// when the reference does not fit 32 bits (an arena past 32 GiB).
    #[inline(always)]
    fn wide_slot(&self, c: f64) -> Option<u32> {
        if self.wide_left.get() == 0 {
            self.take_wide_chunk()?;
        }
        // The same steps as a host's inline path takes (`cursor.rs`).
        let slot = self.wide_next.get();
        let reference = self.wide_reference.get();
        // SAFETY: `slot` is one of the `wide_left` unused values of the current chunk,
        // which the arena (or the records' block) holds until the next reset or
        // truncation (both empty the chunk).
        unsafe { slot.write(c) };
        self.wide_next.set(slot.wrapping_add(1));
        // A block's chunk ends at reference −1: the step past it wraps to an unused 0.
        self.wide_reference.set(reference.wrapping_add(1));
        self.wide_left.set(self.wide_left.get() - 1);
        Some(reference)
    }

    /// Makes a new chunk of slots the current one, as [`wide_slot`](Self::wide_slot)
    /// describes; `None` where it takes none. Out of line: once in a doubling chunk.
    #[cold]
    #[inline(never)]
    fn take_wide_chunk(&self) -> Option<()> {
        if self.scratch_open.get() > 0 || self.status().is_err() {
            return None;
        }
        // Twice the last chunk (at most `CHUNK`) where it fits, else one slot: a
        // small arena (a firmware tape of a few hundred bytes) must not run out for
        // the chunk's sake.
        let size = self.wide_chunk.get().clamp(1, CHUNK);
        self.wide_chunk.set((size * 2).min(CHUNK));
        // Once the records live in a host's block, the constants go there too: the arena
        // keeps its room for what only it can hold (tensor data, a checkpoint's staging).
        if self.records_in_host_block() && self.take_block_chunk(size).is_some() {
            return Some(());
        }
        // A new chunk lies below the high end's start. Where that is past what a
        // record's field reaches as a non-negative reference (an arena past 16 GiB), no
        // slot of it could be referenced: take none, rather than a chunk that is never
        // used.
        if (self.arena.high_offset() + self.node_misalignment()) / 8 > i32::MAX as usize {
            return None;
        }
        let keep_free = self.reserved.get();
        let one = || self.alloc_below_reserve::<f64>(1, 0.0, keep_free);
        let chunk = match self.alloc_below_reserve::<f64>(size as usize, 0.0, keep_free) {
            Ok(chunk) => (chunk, size),
            Err(_) => match one() {
                Ok(slot) => (slot, 1),
                // A tape that may grow (`growth.rs`) moves its records out of the
                // arena, and its constants follow them. Where the host refuses, the
                // constant takes a constant record, which may fail the tape as any
                // record does.
                Err(_) if !self.records_in_host_block() && self.grow_records(0) => {
                    return self.take_block_chunk(size);
                }
                Err(_) if self.grows() => return None,
                Err(error) => {
                    self.fail(error);
                    return None;
                }
            },
        };
        // The chunk's references run from its first slot's up (all below the high
        // end's start, so below 2^31: checked above).
        let (start, size) = chunk;
        let shifted = self.arena_offset(start.as_ptr().cast())? + self.node_misalignment();
        let first = u32::try_from(shifted / 8).ok()?;
        self.wide_next.set(start.as_ptr());
        self.wide_reference.set(first);
        self.wide_left.set(size);
        Some(())
    }

    /// Makes a chunk of `size` slots at the top of the records' host block the current
    /// one, growing the block where it lacks room (see the module docs). `None` where the
    /// host refuses or the records may not move now, and the block has no room.
    fn take_block_chunk(&self, size: u32) -> Option<()> {
        let bytes = size as usize * size_of::<f64>();
        let free = || {
            let used = self.len() * Self::bytes_per_record() + self.reserved.get();
            self.record_room().saturating_sub(used)
        };
        if free() < bytes {
            // Room for as many more records as the chunk's bytes would hold.
            self.grow_records(bytes.div_ceil(Self::bytes_per_record()));
            if free() < bytes {
                return None;
            }
        }
        let constants = self.block_constants.get() + bytes;
        // The chunk's first slot is `constants` bytes below the top.
        let first = i32::try_from(constants / size_of::<f64>())
            .ok()?
            .wrapping_neg() as u32;
        self.block_constants.set(constants);
        self.refresh_limit();
        self.wide_next
            .set(self.block_top().wrapping_sub(constants).cast::<f64>());
        self.wide_reference.set(first);
        self.wide_left.set(size);
        Some(())
    }

    /// Points the current chunk's next slot at the records' new block, when the chunk
    /// lies in the block (its references are negative): called when the records move.
    pub(super) fn relocate_wide_chunk(&self) {
        let reference = self.wide_reference.get() as i32;
        if self.wide_left.get() > 0 && reference < 0 {
            let offset = reference as isize * size_of::<f64>() as isize;
            self.wide_next
                .set(self.block_top().wrapping_offset(offset).cast::<f64>());
        }
    }

    /// Forgets the current chunk: called when the high end is given back (reset, the
    /// end of a checkpointed block), and at a block's start so that the block's
    /// constants are allocated after its mark and go with it.
    pub(super) fn forget_wide_chunk(&self) {
        self.wide_left.set(0);
        self.wide_chunk.set(1);
    }

    /// The constant that a wide-constant record with second field `b` locates.
    #[inline(always)]
    pub(crate) fn wide_constant_of(&self, b: u32) -> T {
        self.wide_constants().get(b)
    }

    /// The pool's reader, for a sweep to take once before its loop: a constant is then
    /// one load.
    #[inline(always)]
    pub(crate) fn wide_constants(&self) -> WideConstants<T> {
        WideConstants {
            // The 8-aligned address at or below the arena's start, from which the
            // records count their constants' slots in 8-byte units; only ever offset
            // back into the arena (`get`).
            base: self.arena.ptr_at(0).wrapping_sub(self.node_misalignment()),
            block_top: self.block_top(),
            _element: core::marker::PhantomData,
        }
    }
}

/// Reads wide constants by their records' second field (see [`Tape::wide_constants`]).
#[derive(Clone, Copy)]
pub(crate) struct WideConstants<T> {
    /// Where non-negative references count from, in the arena.
    base: *const u8,
    /// Where negative references count back from: the records' host block's top.
    block_top: *const u8,
    _element: core::marker::PhantomData<T>,
}

impl<T: Real> WideConstants<T> {
    /// The constant of a wide-constant record whose second field is `b`.
    #[inline(always)]
    pub(crate) fn get(self, b: u32) -> T {
        // A select, not a branch: the references of one tape mix both forms.
        let units = b as i32 as isize;
        let base = if units < 0 { self.block_top } else { self.base };
        // SAFETY: `b` is the second field of a wide-constant record, which only
        // `record_wide_constant` makes, from a slot it wrote (8-byte units from `base`,
        // or back from the block's top); the slot lives as long as the record (both go
        // at the same reset or truncation), and moves with the records.
        T::from_f64(unsafe { base.wrapping_offset(units * 8).cast::<f64>().read() })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Op, Tape};
    use core::mem::MaybeUninit;

    /// `((0.3 − x·0.1) / 0.7 + 0.2)` and `1.1 / x`: every wide form, at `x`, in `f64`.
    fn plain(x: f64) -> (f64, f64) {
        ((0.3 - x * 0.1) / 0.7 + 0.2, 1.1 / x)
    }

    #[test]
    fn any_constant_costs_no_record_and_keeps_every_bit() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
        // An arena that starts off 8-byte alignment: slots are located from the aligned
        // address below it.
        let tape = Tape::<f64>::new(&mut mem[3..]).unwrap();
        let x = tape.input(1.7);
        let f = (0.3 - x * 0.1) / 0.7 + 0.2;
        let g = 1.1 / x;
        assert_eq!(tape.len(), 1 + 5, "one record per op, none per constant");
        for (op, i) in [
            (Op::MulWide, 1),
            (Op::WideSub, 2),
            (Op::DivWide, 3),
            (Op::AddWide, 4),
            (Op::WideDiv, 5),
        ] {
            assert_eq!(tape.scalar_record(i).unwrap().0, op);
        }
        let (pf, pg) = plain(1.7);
        assert_eq!(
            (f.value().to_bits(), g.value().to_bits()),
            (pf.to_bits(), pg.to_bits())
        );
        tape.backward(f.id()).unwrap();
        assert_eq!(tape.grad(x.id()).unwrap(), -0.1 / 0.7);
        tape.backward(g.id()).unwrap();
        assert_eq!(tape.grad(x.id()).unwrap(), -(pg / 1.7));
        tape.jvp(&[1.0]).unwrap();
        assert_eq!(tape.tangent(f.id()).unwrap(), -0.1 / 0.7);
        tape.replay(&[-2.5]).unwrap();
        let (pf, pg) = plain(-2.5);
        assert_eq!(tape.value(f.id()).unwrap().to_bits(), pf.to_bits());
        assert_eq!(tape.value(g.id()).unwrap().to_bits(), pg.to_bits());
    }

    /// A small arena (room for a few records and a few slots, not for the larger
    /// chunks) takes one slot at a time; filling it ends in the tape's out-of-memory
    /// error, and a reset gives the slots back.
    fn small_arena_round_trip<T: crate::Real>(mem: &mut [MaybeUninit<u8>]) {
        let mut tape = Tape::<T>::new(mem).unwrap();
        let c = |v: f64| T::from_f64(v);
        for _ in 0..3 {
            let x = tape.input_id(c(2.0));
            let y = tape.binary_const_id(Op::Add, tape.binary_const_id(Op::Mul, x, c(0.1)), c(0.2));
            tape.status().unwrap();
            assert_eq!(tape.value(y).unwrap().to_f64(), 2.0 * 0.1 + 0.2);
            assert_eq!(tape.len(), 3, "no record per constant");
            tape.reset();
        }
        let x = tape.input_id(c(2.0));
        let mut y = x;
        for k in 0..64 {
            y = tape.binary_const_id(Op::Mul, y, c(0.1 + k as f64));
        }
        assert!(tape.status().is_err());
        tape.reset();
        let x = tape.input_id(c(1.0));
        assert!(tape.binary_const_id(Op::Mul, x, c(0.1)).is_valid());
    }

    #[test]
    fn a_small_arena_takes_one_slot_at_a_time_and_a_reset_gives_them_back() {
        small_arena_round_trip::<f64>(&mut [MaybeUninit::<u8>::uninit(); 200]);
        small_arena_round_trip::<crate::Dual<f64>>(&mut [MaybeUninit::<u8>::uninit(); 320]);
    }

    #[test]
    fn an_f32_tape_keeps_its_constants_in_the_records() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
        let tape = Tape::<f32>::new(&mut mem).unwrap();
        let x = tape.input(2.0);
        let _ = x * 0.1;
        assert_eq!(tape.scalar_record(1).unwrap().0, Op::MulConst);
    }
}
