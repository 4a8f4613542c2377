//! Where a forward lane sweep keeps each record's lanes: a row per record, or rows shared
//! by records that are never alive at once.
//!
//! A vector forward sweep carries `p` tangents per record. Kept for every record they
//! take `len × p` values: 57 MB for a hand-tracking Jacobian of 275 000 records in 26
//! directions, every row written once and read back a few records later, so that sweep
//! ran at the speed of memory rather than of its arithmetic. But most values are used
//! only by records soon after them: the values whose tangents are still needed at any
//! point of the sweep are few. A record needs its row from its own place to its last
//! user (to the end, for the records the caller reads afterwards); records whose spans
//! do not overlap can share a row. With [`SlotRows`] the rows then number the most
//! values alive at once, and stay in cache.
//!
//! The plan is one pass over the records from the last down, which assigns the rows as
//! interval colouring does: a record takes a row where the pass first meets it (at its
//! last user, or its own place when nothing uses it) and gives it back where the pass
//! reaches the record itself. The vector sweep plans only where a row per record would
//! not fit in cache anyway, and where rows are wide enough to repay the pass
//! ([`plans_rows`]). The sweeps whose callers read every record's lanes afterwards
//! (second order, compressed sparse Jacobians) keep a row per record.
//!
//! Each record's row lives in the record's own adjoint slot, which a forward sweep does
//! not use otherwise: the plan needs scratch only for its stack of rows given back
//! (`len` indices at most), the sweep reads a row from the cache line it reads the
//! record's value from, and a tape swept again (a Jacobian at every new point:
//! [`replay`](Tape::replay) or `forward_vector_at`) plans once. The pass costs as much as
//! a fifth of the sweep on a tape past the cache, where it streams every record once
//! more. [`LaneRowsPlan`] says which sweep the rows serve; until a backward or tangent
//! sweep takes the slots back, reading them as adjoints or tangents is refused.

use super::record::Record;
use super::{record_kind, RecordKind, SlotContent, Tape, VarId};
use crate::real::Real;
use core::mem::{align_of, size_of};

/// Lane blocks up to this size keep a row per record: they fit in a core's cache (L2 is
/// 1 MiB on the machines measured), where the plan's extra pass would only add work.
const ROW_PER_RECORD_UP_TO_BYTES: usize = 1 << 20;

/// Rows narrower than this keep a row per record whatever the block's size. The plan's
/// pass reads every record once more (24 bytes for `f64`) and costs about as much as
/// streaming a row of about 80 bytes: on a tape of 242 000 records that did not fit in
/// cache, planned rows took 1.8× the time at 4 `f64` lanes, 1.4× at 8, 1.06× at 9, and
/// 0.78×, 0.65× and 0.65× at 12, 16 and 26.
const PLAN_FROM_ROW_BYTES: usize = 96;

/// Whether a forward sweep of `len` records in `p` lanes of `T` plans its rows. (Every
/// number type the tapes take has room for a row index in its adjoint slot; one
/// without would keep a row per record.)
pub(crate) fn plans_rows<T>(len: usize, p: usize) -> bool {
    let row = p.saturating_mul(size_of::<T>());
    slot_holds_a_row::<T>()
        && row >= PLAN_FROM_ROW_BYTES
        && len.saturating_mul(row) > ROW_PER_RECORD_UP_TO_BYTES
}

/// Whether an adjoint slot of type `T` can hold a `u32` row index.
const fn slot_holds_a_row<T>() -> bool {
    size_of::<T>() >= size_of::<u32>() && align_of::<T>() >= align_of::<u32>()
}

/// Which planned sweep the rows in the adjoint slots serve: a tape of `len` records whose
/// kept records (the sweep's outputs) have the fingerprint `kept`, in `rows` rows. The
/// rows do not depend on the lane count or on the values, so a replay keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LaneRowsPlan {
    len: u32,
    kept: u64,
    rows: u32,
}

impl LaneRowsPlan {
    /// Rows no sweep may use: those of records since dropped (the slots keep the rows of
    /// the records that remain, which no longer form a plan the fingerprint describes).
    pub(crate) const STALE: LaneRowsPlan = LaneRowsPlan {
        len: 0,
        kept: 0,
        rows: 0,
    };

    /// The plan of a sweep over `len` records that keeps `outputs`, if it were made now.
    fn wanted(len: u32, outputs: &[VarId]) -> LaneRowsPlan {
        LaneRowsPlan {
            len,
            kept: fingerprint(outputs),
            rows: 0,
        }
    }

    /// Whether these rows serve the sweep `wanted` describes. A plan has at least one
    /// row, so the stale plan serves none.
    fn serves(&self, wanted: &LaneRowsPlan) -> bool {
        self.rows > 0 && self.len == wanted.len && self.kept == wanted.kept
    }
}

/// The kept records' indices in order, mixed into 64 bits (a multiply and a rotation per
/// index, as fast hashes mix words). Two output lists that differ give one fingerprint
/// with a chance of about 2^-64; the rows would then keep the wrong records to the end.
fn fingerprint(outputs: &[VarId]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    outputs.iter().fold(outputs.len() as u64, |hash, output| {
        (hash ^ u64::from(output.index))
            .wrapping_mul(K)
            .rotate_left(29)
    })
}

/// Which row of a lane block holds each record's lanes during a forward sweep.
pub(crate) trait LaneRows {
    /// Whether every argument's row precedes its record's, as when rows are record
    /// indices: the sweep then reads arguments below the record's row with no test.
    const ARGUMENTS_BEFORE: bool;

    /// Whether the rows live in the records' adjoint slots, which a replaying sweep
    /// then leaves alone.
    const ROWS_IN_SLOTS: bool;

    /// The row of record `record`.
    fn row(&self, record: usize) -> usize;
}

/// Row `i` holds record `i`'s lanes, and every row stays valid after the sweep.
pub(crate) struct RowPerRecord;

impl LaneRows for RowPerRecord {
    const ARGUMENTS_BEFORE: bool = true;
    const ROWS_IN_SLOTS: bool = false;

    #[inline(always)]
    fn row(&self, record: usize) -> usize {
        record
    }
}

/// Rows shared by records that are never alive at once, as [`Tape::plan_lane_rows`]
/// assigned them and left them in the records' adjoint slots. After the sweep only the
/// kept records' rows still hold their lanes.
pub(crate) struct SlotRows<T> {
    records: *const Record<T>,
}

impl<T: Real> LaneRows for SlotRows<T> {
    const ARGUMENTS_BEFORE: bool = false;
    const ROWS_IN_SLOTS: bool = true;

    #[inline(always)]
    fn row(&self, record: usize) -> usize {
        // SAFETY: the sweep asks for the rows of its records and their arguments, all
        // below `len`; `slot_holds_a_row` holds wherever a plan was made.
        let slot = unsafe { row_in_slot(self.records.add(record)).read() };
        slot.wrapping_sub(1) as usize
    }
}

/// Record `record`'s adjoint slot, read or written as its row plus one: 0, what a slot
/// holds after recording or a replay, is a record the plan has not met yet.
///
/// # Safety
/// `record` must point at a record, of a `T` that [`slot_holds_a_row`].
#[inline(always)]
unsafe fn row_in_slot<T>(record: *const Record<T>) -> *mut u32 {
    // SAFETY (caller): a record; the cast keeps the slot's provenance.
    unsafe {
        core::ptr::addr_of!((*record).adjoint)
            .cast::<u32>()
            .cast_mut()
    }
}

/// The slot of a record the plan has not met yet.
const NO_ROW: u32 = 0;

impl<T: Real> Tape<'_, T> {
    /// The rows for a planned forward sweep over every record that keeps `outputs`, left
    /// in the adjoint slots: those already there when they serve it (the tape has not
    /// changed since they were planned), else a new plan, made in `len` indices of
    /// scratch. Returns how many rows the sweep uses. Fails, leaving the slots
    /// as they were, when the scratch does not fit.
    pub(crate) fn lane_rows_in_slots(&self, outputs: &[VarId]) -> crate::error::Result<usize> {
        let wanted = LaneRowsPlan::wanted(self.len.get(), outputs);
        if let SlotContent::LaneRows(planned) = self.slot_content.get() {
            if planned.serves(&wanted) {
                return Ok(planned.rows as usize);
            }
        }
        let kept = outputs.iter().map(|output| output.index);
        let rows = self.with_scratch(self.len(), |free: &mut [u32]| {
            // The plan starts from slots that read as no row: zeros, as recording and
            // replay leave them. Clearing also marks them dirty: they will hold rows,
            // which a backward must clear first.
            self.clear_adjoints();
            self.plan_lane_rows(free, kept)
        })?;
        self.slots_hold(SlotContent::LaneRows(LaneRowsPlan {
            rows: rows as u32,
            ..wanted
        }));
        Ok(rows)
    }

    /// The rows [`lane_rows_in_slots`](Tape::lane_rows_in_slots) left in the slots.
    pub(crate) fn slot_rows(&self) -> SlotRows<T> {
        SlotRows {
            records: self.records_ptr(),
        }
    }

    /// Plans the rows of a forward lane sweep over every record, after which the caller
    /// reads the lanes of the records `kept` only, in the records' adjoint slots (see
    /// [`row_in_slot`]), which must read as no row. `free` holds `len` indices, the stack
    /// of rows given back (it never holds more rows than records); returns how many rows
    /// the plan uses.
    ///
    /// A record is alive in the sweep from its own place to its last user (to the end,
    /// when kept). Going down from the last record, the pass meets that interval's end
    /// first: the record takes the most recently freed row there, and gives it back at
    /// its own place. Two records alive at once hold their rows at once here, so their
    /// rows differ; in particular a record's row differs from its arguments'.
    pub(crate) fn plan_lane_rows(
        &self,
        free: &mut [u32],
        kept: impl Iterator<Item = u32>,
    ) -> usize {
        debug_assert!(slot_holds_a_row::<T>());
        let records = self.records_ptr();
        // SAFETY: record indices below `len` (every argument's is); `T`'s slot holds a row
        // (`plans_rows`); each reference lives for one call, and no other is alive.
        let slot = |record: u32| unsafe { &mut *row_in_slot(records.add(record as usize)) };
        let mut stack = FreeRows {
            free,
            len: 0,
            rows: 0,
        };
        for record in kept {
            stack.assign(slot(record));
        }
        for i in (0..self.len() as u32).rev() {
            // Nothing after it uses a record that has no row yet: it still takes one for
            // its own step (the sweep writes its lanes there).
            stack.assign(slot(i));
            let (a, b) = arguments_of(&self.record(i), i);
            // Arguments take their rows while the record holds its own; `x · x` names
            // one argument twice, and the second look finds it assigned.
            stack.assign(slot(a));
            stack.assign(slot(b));
            // Below its own place the record is not alive.
            stack.give_back(*slot(i) - 1);
        }
        stack.rows as usize
    }
}

/// The rows a plan has handed out, and those given back.
struct FreeRows<'s> {
    /// Given back, most recent last, in `free[..len]`.
    free: &'s mut [u32],
    len: usize,
    /// Rows `0..rows` have been handed out.
    rows: u32,
}

impl FreeRows<'_> {
    /// Gives the record of `slot` a row unless it has one: the last given back, else a
    /// new one.
    #[inline(always)]
    fn assign(&mut self, slot: &mut u32) {
        if *slot != NO_ROW {
            return;
        }
        let row = if self.len > 0 {
            self.len -= 1;
            self.free[self.len]
        } else {
            self.rows += 1;
            self.rows - 1
        };
        *slot = row + 1;
    }

    /// Every row handed out is given back at most once, so `free` (one entry per
    /// record) never fills.
    #[inline(always)]
    fn give_back(&mut self, row: u32) {
        self.free[self.len] = row;
        self.len += 1;
    }
}

/// The indices a forward sweep reads the lanes of for record `index`: its arguments,
/// with `index` itself in place of each it lacks.
#[inline(always)]
fn arguments_of<T: Real>(record: &Record<T>, index: u32) -> (u32, u32) {
    match record_kind(record.op()) {
        RecordKind::Binary => (record.a(index), record.b),
        RecordKind::Unary | RecordKind::UnaryWithOperand | RecordKind::WideConstant => {
            (record.a(index), index)
        }
        RecordKind::Input | RecordKind::Const | RecordKind::Extension => (index, index),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Tape, Values, Var, VarId};
    use core::mem::MaybeUninit;

    /// A draw below its argument from a xorshift generator seeded with `state`.
    fn generator(mut state: u64) -> impl FnMut(usize) -> usize {
        move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        }
    }

    /// A random tape of every argument form (binary, unary, an inline and a wide
    /// constant, `x · x`, values used once, many times or never) over `INPUTS` inputs,
    /// drawn by `draw`, and the handles of its records.
    fn random_tape<'t>(
        tape: &'t Tape<'t, f64>,
        records: &mut [Var<'t, f64>],
        draw: &mut impl FnMut(usize) -> usize,
    ) {
        const INPUTS: usize = 12;
        for (k, record) in records.iter_mut().enumerate().take(INPUTS) {
            *record = tape.input(0.3 + 0.05 * k as f64);
        }
        for k in INPUTS..records.len() {
            // Mostly recent values, sometimes an input or anything before.
            let near = records[k - 1 - draw(4)];
            let far = records[draw(k)];
            // Every value stays within [−2, 2].
            records[k] = match draw(7) {
                0 => near * far * 0.5,
                1 => near * near - 0.25,
                2 => (near + far) * 0.5,
                3 => near.sin() - far * 0.1,
                4 => 0.7 - near * 0.3,
                5 => (near - far).tanh(),
                _ => near * 1.1 / 1.7,
            };
        }
    }

    /// The same Jacobian product, bit for bit, whichever way the rows are kept, on
    /// seeded random tapes, with outputs that are inputs, values used again later, values
    /// nothing uses, a repeated output and the last record; in lane counts that take the
    /// fixed and the run-time loops.
    #[test]
    fn planned_rows_give_the_lanes_of_a_row_per_record() {
        let seeds: &[u64] = if cfg!(miri) {
            &[0x9e37_79b9_7f4a_7c15]
        } else {
            &[
                0x9e37_79b9_7f4a_7c15,
                0x2545_f491_4f6c_dd1d,
                0x5851_f42d_4c95_7f2d,
            ]
        };
        for &seed in seeds {
            let mut draw = generator(seed);
            let mut memory = [MaybeUninit::<u8>::uninit(); 1 << 18];
            let tape = Tape::<f64>::new(&mut memory).unwrap();
            let mut records = [tape.input(0.0); 300];
            random_tape(&tape, &mut records, &mut draw);
            let len = tape.len();
            let repeated = 12 + draw(len - 12);
            let picks = [
                3,
                repeated,
                12 + draw(len - 12),
                repeated,
                draw(len),
                len - 1,
            ];
            let outputs = picks.map(|k| VarId {
                index: k as u32,
                ..records[0].id()
            });
            compare_plans(&tape, &outputs);
        }
    }

    /// Asserts that a planned forward vector sweep gives the lanes of a row per record.
    fn compare_plans(tape: &Tape<'_, f64>, outputs: &[VarId; 6]) {
        let n = tape.num_inputs();
        for p in [3, 26] {
            let seed = |k: usize, lanes: &mut [f64]| {
                for (d, lane) in lanes.iter_mut().enumerate() {
                    *lane = ((k * 7 + d * 3) % 5) as f64 - 2.0;
                }
            };
            let mut per_record_block = [0.0; 6 * 26];
            let mut planned_block = [0.0; 6 * 26];
            let per_record = &mut per_record_block[..outputs.len() * p];
            let planned = &mut planned_block[..outputs.len() * p];
            tape.sweep_forward_vector(outputs, p, per_record, seed, |t| t, false, Values::Recorded)
                .unwrap();
            tape.sweep_forward_vector(outputs, p, planned, seed, |t| t, true, Values::Recorded)
                .unwrap();
            assert!(
                per_record.iter().any(|&t| t != 0.0) && per_record.iter().all(|t| t.is_finite())
            );
            for (k, (a, b)) in planned.iter().zip(per_record.iter()).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "p = {p}, entry {k}, {n} inputs");
            }
        }
    }

    /// A running sum over many inputs keeps only a few values alive at once: the plan
    /// needs far fewer rows than records, and gives the values alive at once different
    /// rows.
    #[test]
    fn rows_number_the_values_alive_at_once() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 1 << 16];
        let tape = Tape::<f64>::new(&mut memory).unwrap();
        let mut sum = tape.input(1.0);
        for k in 0..100 {
            let x = tape.input(k as f64);
            sum = sum * x + x.sin();
        }
        let len = tape.len();
        let mut scratch = [0u32; 2 * 500];
        let count = tape.plan_lane_rows(&mut scratch[..len], [sum.id().index].into_iter());
        let rows = tape.slot_rows();
        // At `sum · x`: the sum, the input, and the product; at `sin x` the product, the
        // input and the sine; at the new sum, the product, the sine and the sum.
        assert_eq!(count, 3, "{len} records");
        use super::LaneRows;
        for i in 4..len {
            // Each step of the loop is 4 records: x, sum · x, sin x, the new sum.
            let (x, product, sine, sum) = (i - 3, i - 2, i - 1, i);
            if (i - 4) % 4 == 0 {
                let rows = [
                    rows.row(x),
                    rows.row(product),
                    rows.row(sine),
                    rows.row(sum),
                ];
                assert!(rows.iter().all(|&row| row < count));
                assert_ne!(rows[1], rows[0], "the product and the input it reads");
                assert_ne!(rows[2], rows[1], "the sine and the product alive past it");
                assert_ne!(rows[3], rows[2], "the sum and the sine it reads");
                assert_ne!(rows[3], rows[1], "the sum and the product it reads");
            }
        }
    }

    /// The plan left in the slots serves the next sweep for the same outputs, a replay in
    /// between, and no sweep once the outputs, the records or the slots changed.
    #[test]
    fn a_plan_in_the_slots_serves_until_the_tape_changes() {
        use super::{row_in_slot, LaneRows, SlotContent};
        // Where the slots hold a plan, marks the last record's row; asks for rows, and
        // reads the mark back: a new plan writes every record's row.
        fn planned_again(tape: &Tape<'_, f64>, outputs: &[VarId]) -> bool {
            let last = tape.len() - 1;
            let marked = matches!(tape.slot_content.get(), SlotContent::LaneRows(_));
            if marked {
                // SAFETY: record `last` exists; `f64` slots hold rows.
                unsafe { row_in_slot(tape.records_ptr().add(last)).write(u32::MAX) };
            }
            tape.lane_rows_in_slots(outputs).unwrap();
            !marked || tape.slot_rows().row(last) != (u32::MAX - 1) as usize
        }
        let mut memory = [MaybeUninit::<u8>::uninit(); 1 << 16];
        let mut tape = Tape::<f64>::new(&mut memory).unwrap();
        let mut sum = tape.input(1.0);
        for k in 0..20 {
            let x = tape.input(k as f64 * 0.1);
            sum = sum * x + x.sin();
        }
        let (y, other) = (sum.id(), (sum * 2.0).id());
        assert!(planned_again(&tape, &[y]), "the first sweep plans");
        assert!(!planned_again(&tape, &[y]), "the same outputs again");
        let inputs: [f64; 21] = core::array::from_fn(|k| 0.3 - 0.01 * k as f64);
        tape.replay(&inputs).unwrap();
        assert!(!planned_again(&tape, &[y]), "after a replay");
        assert!(planned_again(&tape, &[y, other]), "other outputs");
        assert!(planned_again(&tape, &[y]), "the first outputs again");
        tape.backward(y).unwrap();
        assert!(planned_again(&tape, &[y]), "after backward took the slots");
        tape.jvp(&inputs).unwrap();
        assert!(planned_again(&tape, &[y]), "after jvp took the slots");
        let mark = tape.open_block().unwrap();
        let _ = sum * sum;
        assert!(planned_again(&tape, &[y]), "over a new record");
        // SAFETY: nothing was allocated at the high end since the mark.
        unsafe { tape.truncate(mark) };
        // As many records as the plan covered, the last one another.
        let _ = sum + 1.0;
        assert!(planned_again(&tape, &[y]), "once records were dropped");
        assert!(!planned_again(&tape, &[y]));
        tape.reset();
        let x = tape.input(1.0);
        let z = (x * x).id();
        assert!(planned_again(&tape, &[z]), "after a reset");
    }
}
