//! The tape under test of a differential target, in fixed memory or growing: a grown
//! tape starts in an arena with room for everything but most of its records, and gets
//! blocks for them from a [`PoolGrowth`], so that every comparison the target makes
//! checks a grown tape against fixed ones.

use crate::{Bytes, PoolGrowth};
use autodiff_core::Tape;
use core::mem::{size_of, MaybeUninit};

/// The most directions a target's `jacobian_columns` carries at once.
pub const MAX_DIRECTIONS: usize = 4;

/// How the tape under test grows.
#[derive(Clone, Copy, Debug)]
pub struct Growth {
    /// The arena's room for records, in 256ths of the records a fixed tape makes.
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
    arena: Vec<MaybeUninit<u8>>,
    pool: Vec<MaybeUninit<u8>>,
    growth: Option<Growth>,
}

impl TapeMemory {
    /// Fixed memory of `bytes`, or (with `growth`) memory sized from a fixed tape of
    /// `bytes` on which `record` records what the tape under test will: an arena for
    /// what that one keeps at its high end (tensor data, constants, a checkpoint's
    /// staging), its scratch reserve and the scratch of Jacobians by columns (up to
    /// [`MAX_DIRECTIONS`] values a record, which the reserve does not cover), but only
    /// part of its records; a pool for every block the tape may ask for. Returns
    /// `record`'s result too, computed on the fixed tape: the reference the grown one
    /// must match.
    pub fn new<R>(
        growth: Option<Growth>,
        bytes: usize,
        record: impl FnOnce(&Tape<'_, f64>) -> R,
    ) -> (TapeMemory, Option<R>) {
        let Some(g) = growth else {
            let arena = vec![MaybeUninit::uninit(); bytes];
            let pool = Vec::new();
            return (
                TapeMemory {
                    arena,
                    pool,
                    growth,
                },
                None,
            );
        };
        let mut mem = vec![MaybeUninit::uninit(); bytes];
        let reference = Tape::<f64>::new(&mut mem).expect("a fixed tape");
        let result = record(&reference);
        let per_record = Tape::<f64>::bytes_per_record();
        let records = reference.len() * per_record;
        let reserve = reference.reserved_bytes();
        let high = reference.used_bytes() - records;
        // For up to twice the records (see below).
        let columns = 2 * reference.len() * MAX_DIRECTIONS * size_of::<f64>();
        let arena = high + reserve + columns + records * g.records as usize / 256;
        // The largest block the tape may ask for holds its records (up to twice the
        // fixed tape's: constants that find no room in the arena take records), the
        // reserve and a record more; doubling asks for at most twice that, and a
        // stingy host hands out one block per record.
        let largest = 2 * (2 * records + reserve + per_record) + per_record + g.gap;
        let pool = (2 * reference.len() + 2) * largest;
        let memory = TapeMemory {
            arena: vec![MaybeUninit::uninit(); arena],
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
        (&mut self.arena, host)
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
