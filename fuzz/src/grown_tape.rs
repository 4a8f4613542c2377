//! The tape under test of a differential target, in fixed memory or growing: a grown
//! tape starts in an arena with room for everything but most of its records, and gets
//! blocks for them from a [`PoolGrowth`], so that every comparison the target makes
//! checks a grown tape against fixed ones.

use crate::{Bytes, PoolGrowth};
use autodiff_core::Tape;
use core::mem::{size_of, MaybeUninit};

/// The directions a grown tape's `jacobian_columns` may carry at once. Its scratch (a
/// value per record and direction) comes from the arena, where the records have room
/// until they grow: scratch for as many directions as a record has values would leave
/// room for all of them, and the tape would never grow.
pub const GROWN_DIRECTIONS: usize = 1;

/// How the tape under test grows.
#[derive(Clone, Copy, Debug)]
pub struct Growth {
    /// Where between the Jacobian's scratch and all the records a fixed tape makes the
    /// arena's room for records lies, in 256ths (never all of them: they always grow).
    records: u8,
    /// Hand out the least the tape asks for (a block for each record, then).
    stingy: bool,
    /// Bytes skipped before each block (odd ones misalign it).
    gap: usize,
}

impl Growth {
    pub fn generate(b: &mut Bytes) -> Growth {
        Growth {
            records: b.u8(),
            stingy: b.one_in(4),
            gap: b.below(8),
        }
    }
}

/// Memory for the tape under test: an arena and, when it grows, a pool for its host.
pub struct TapeMemory {
    /// The arena is `buffer[start..start + len]`.
    buffer: Vec<MaybeUninit<u8>>,
    start: usize,
    len: usize,
    pool: Vec<MaybeUninit<u8>>,
    growth: Option<Growth>,
}

/// The alignment of the end of a grown tape's arena: as the end of a fixed tape's (a
/// heap block of a round size), so that the high end's allocations need the same
/// padding in both.
const END_ALIGN: usize = 64;
/// The most padding the arena's start may need before the records.
const ALIGN: usize = 8;

impl TapeMemory {
    /// Fixed memory of `bytes`, or (with `growth`) memory sized from a fixed tape of
    /// `bytes` on which `record` records what the tape under test will: an arena for
    /// what that one keeps at its high end (tensor data, constants, a checkpoint's
    /// staging), its scratch reserve and the scratch of Jacobians by columns (in
    /// [`GROWN_DIRECTIONS`], which the reserve does not cover), but only part of its
    /// records; a pool for every block the tape may ask for. Returns `record`'s result
    /// too, computed on the fixed tape: the reference the grown one must match.
    pub fn new<R>(
        growth: Option<Growth>,
        bytes: usize,
        record: impl FnOnce(&Tape<'_, f64>) -> R,
    ) -> (TapeMemory, Option<R>) {
        let Some(g) = growth else {
            let memory = TapeMemory {
                buffer: vec![MaybeUninit::uninit(); bytes],
                start: 0,
                len: bytes,
                pool: Vec::new(),
                growth,
            };
            return (memory, None);
        };
        let mut mem = vec![MaybeUninit::uninit(); bytes];
        let reference = Tape::<f64>::new(&mut mem).expect("a fixed tape");
        let result = record(&reference);
        let per_record = Tape::<f64>::bytes_per_record();
        let records = reference.len() * per_record;
        let reserve = reference.reserved_bytes();
        let high = reference.used_bytes() - records;
        let columns = reference.len() * GROWN_DIRECTIONS * size_of::<f64>();
        // Room for records from the Jacobian's scratch (which they may take while they
        // are in the arena, and give back when they move) up to a few bytes short of
        // all of them, with those few for the alignment of the arena's start.
        let short = records.saturating_sub(columns + ALIGN + 1);
        let room = columns + short * g.records as usize / 256;
        // (A tape needs room for a record when it starts.)
        let len = (high + reserve + room + ALIGN).max(per_record + ALIGN);
        let buffer = vec![MaybeUninit::uninit(); len + END_ALIGN];
        let end = buffer.as_ptr() as usize + len;
        let start = end.next_multiple_of(END_ALIGN) - end;
        if std::env::var_os("AD_FUZZ_DEBUG").is_some() {
            eprintln!(
                "grown tape: {g:?}, an arena of {len} bytes; a fixed tape had {} records \
                 ({records} bytes), {high} bytes at the high end and a reserve of {reserve}",
                reference.len()
            );
        }
        // The largest block the tape may ask for holds its records, the reserve and a
        // record more; doubling asks for at most twice that, and a stingy host hands
        // out one block per record.
        let largest = 2 * (records + reserve + per_record) + per_record + g.gap;
        let pool = (reference.len() + 2) * largest;
        let memory = TapeMemory {
            buffer,
            start,
            len,
            pool: vec![MaybeUninit::uninit(); pool],
            growth,
        };
        (memory, Some(result))
    }

    /// The arena, and the host that lends the tape its pool (`None` for fixed memory).
    pub fn split(&mut self) -> (&mut [MaybeUninit<u8>], Option<PoolGrowth<'_>>) {
        let host = self
            .growth
            .map(|g| PoolGrowth::new(&mut self.pool, g.stingy, g.gap));
        (&mut self.buffer[self.start..self.start + self.len], host)
    }
}

/// A tape in `arena`, growing through `host` if there is one.
pub fn open<'m, 'b: 'm>(
    arena: &'m mut [MaybeUninit<u8>],
    host: Option<&'m mut PoolGrowth<'b>>,
) -> Tape<'m, f64> {
    let mut tape = Tape::<f64>::new(arena).expect("a tape");
    if let Some(host) = host {
        tape.set_growth(host).expect("growth hooks on a new tape");
    }
    tape
}
