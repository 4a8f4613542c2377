//! The sweeps that carry several directions ("lanes") per record at once, with the lane
//! count chosen at run time: the engine of the vector modes, the second-order sweep and
//! the compressed sparse evaluations.
//!
//! Lanes live in scratch, not in the records: record `i`'s lanes are `lanes[i·p..(i+1)·p]`.
//! A record's arguments precede it, so splitting the block at `i·p` gives the arguments'
//! lanes and the record's own as two disjoint slices, and the sweeps need no `unsafe`.
//!
//! They run on scalar tapes only: a tensor record keeps its tangent and gradient in the
//! tensor's own buffers, one direction at a time, so the public vector modes run tapes
//! with tensors lane by lane instead (see `vector_forward.rs` and `vector_reverse.rs`).

use super::forward::times;
use super::lane_rows::{LaneRows, RowPerRecord};
use super::Tape;
use crate::error::{Error, Result};
use crate::op::{dispatch_op, Op};
use crate::real::Real;

impl<'m, T: Real> Tape<'m, T> {
    /// Fails unless the lane sweeps can run: no pending error, not inside a callback on
    /// this tape, and no tensor records (whose derivatives live outside the lanes).
    pub(crate) fn check_lane_sweep(&self, what: &'static str) -> Result<()> {
        self.refuse_in_callback(what)?;
        self.status()?;
        if self.has_extension_records() {
            return Err(Error::InvalidArgument(
                "this sweep works on scalar tapes only: the tape holds tensor records",
            ));
        }
        Ok(())
    }

    /// The record indices of the inputs, in recording order, written into `out` (one per
    /// input).
    pub(crate) fn input_records(&self, out: &mut [u32]) {
        let inputs = (0..self.inputs_end.get()).filter(|&i| self.record(i).op() == Op::Input);
        for (slot, index) in out.iter_mut().zip(inputs) {
            *slot = index;
        }
    }

    /// Forward tangents in `p` lanes over every record: `seed(k, lanes)` fills the lanes
    /// of the k-th input (they arrive zeroed). `tangents` holds `len × p` values. With
    /// [`Values::Replayed`] the sweep also re-evaluates every record at new inputs, as
    /// [`replay`](Tape::replay) does, in the same pass: the caller has checked the count.
    ///
    /// Lane counts up to 8 run a copy of the loop with the count fixed at compile time,
    /// which the compiler unrolls and keeps free of bounds checks.
    pub(crate) fn sweep_tangent_lanes(
        &self,
        tangents: &mut [T],
        p: usize,
        values: Values<'_, T>,
        seed: impl FnMut(usize, &mut [T]),
    ) {
        self.sweep_tangent_lanes_in(tangents, p, values, seed, &RowPerRecord)
    }

    /// [`sweep_tangent_lanes`](Tape::sweep_tangent_lanes) with each record's lanes in the
    /// row `rows` gives it: `tangents` holds as many rows of `p` values as it uses.
    pub(crate) fn sweep_tangent_lanes_in<R: LaneRows>(
        &self,
        tangents: &mut [T],
        p: usize,
        values: Values<'_, T>,
        seed: impl FnMut(usize, &mut [T]),
        rows: &R,
    ) {
        match p {
            1 => self.tangent_lanes::<1, R>(tangents, p, values, seed, rows),
            2 => self.tangent_lanes::<2, R>(tangents, p, values, seed, rows),
            3 => self.tangent_lanes::<3, R>(tangents, p, values, seed, rows),
            4 => self.tangent_lanes::<4, R>(tangents, p, values, seed, rows),
            5 => self.tangent_lanes::<5, R>(tangents, p, values, seed, rows),
            6 => self.tangent_lanes::<6, R>(tangents, p, values, seed, rows),
            7 => self.tangent_lanes::<7, R>(tangents, p, values, seed, rows),
            8 => self.tangent_lanes::<8, R>(tangents, p, values, seed, rows),
            _ => self.tangent_lanes::<0, R>(tangents, p, values, seed, rows),
        }
    }

    /// [`sweep_tangent_lanes_in`](Tape::sweep_tangent_lanes_in) with `N` lanes, or `p`
    /// when `N` is 0.
    fn tangent_lanes<const N: usize, R: LaneRows>(
        &self,
        tangents: &mut [T],
        p: usize,
        values: Values<'_, T>,
        mut seed: impl FnMut(usize, &mut [T]),
        rows: &R,
    ) {
        let p = if N == 0 { p } else { N };
        let records = self.records_ptr();
        let replaying = matches!(values, Values::Replayed(_));
        let wide = self.wide_constants();
        let mut input = 0;
        for i in 0..self.len() {
            // SAFETY: `i < len`; arguments precede `i`, so with replay their values are
            // already the new ones. Records are only reached through the raw pointer here.
            let record = unsafe { records.add(i).read() };
            // The record's row apart from every other: its arguments' rows differ from it
            // (they are still taken while it is computed).
            let own = rows.row(i);
            let (before, rest) = tangents.split_at_mut(own * p);
            let (lanes, after) = rest.split_at_mut(p);
            let row_of = |argument: usize| -> &[T] {
                let row = rows.row(argument);
                if R::ARGUMENTS_BEFORE || row < own {
                    &before[row * p..row * p + p]
                } else {
                    let from = (row - own - 1) * p;
                    &after[from..from + p]
                }
            };
            let op = record.op();
            let value_of = |j: u32| {
                // SAFETY: argument indices are below `i < len`.
                unsafe { (*records.add(j as usize)).value }
            };
            let y = dispatch_op!(op,
                leaf => {
                    lanes.fill(T::zero());
                    if op == Op::Input {
                        seed(input, lanes);
                        input += 1;
                        match values {
                            Values::Replayed(new) => new(input - 1),
                            Values::Recorded => record.value,
                        }
                    } else {
                        record.value
                    }
                },
                unary(op) => {
                    let (a, n) = (record.a(i as u32) as usize, record.b as i32);
                    let x = value_of(record.a(i as u32));
                    let y = if replaying { op.eval_unary(x, n) } else { record.value };
                    let partial = op.unary_partial(x, y, n);
                    scale(lanes, row_of(a), partial);
                    y
                },
                binary(op) => {
                    let (a, b) = (record.a(i as u32) as usize, record.b as usize);
                    let (va, vb) = (value_of(record.a(i as u32)), value_of(record.b));
                    let y = if replaying { op.eval_binary(va, vb) } else { record.value };
                    let (da, db) = op.binary_partials(va, vb, y);
                    let (ta, tb) = (row_of(a), row_of(b));
                    if da.is_non_finite() || db.is_non_finite() {
                        for ((lane, &ta), &tb) in lanes.iter_mut().zip(ta).zip(tb) {
                            *lane = times(ta, da) + times(tb, db);
                        }
                    } else {
                        for ((lane, &ta), &tb) in lanes.iter_mut().zip(ta).zip(tb) {
                            *lane = ta * da + tb * db;
                        }
                    }
                    y
                },
                wide(op) => {
                    let a = record.a(i as u32) as usize;
                    let x = value_of(record.a(i as u32));
                    let c = wide.get(record.b);
                    let y = if replaying { op.eval_with_constant(x, c) } else { record.value };
                    scale(lanes, row_of(a), op.partial_with_constant(x, y, c));
                    y
                },
                // `check_lane_sweep` keeps tensor records out.
                tensor => {
                    lanes.fill(T::zero());
                    record.value
                },
            );
            if replaying {
                // SAFETY: `i < len`; no reference into the records is alive.
                unsafe {
                    let slot = records.add(i);
                    (*slot).value = y;
                    // As `replay` does, the slots are zeroed, unless they hold the rows
                    // (which `replay` keeps too).
                    if !R::ROWS_IN_SLOTS {
                        (*slot).adjoint = T::zero();
                    }
                }
            }
        }
        if replaying && !R::ROWS_IN_SLOTS {
            // As after `replay`: the slots hold zeros, and no sweep's results.
            self.slots_hold(super::SlotContent::Nothing);
            self.adjoints_dirty.set(false);
        }
    }

    /// Reverse adjoints in `p` lanes from record `last` down to record 0. `adjoints` holds
    /// `len × p` values, seeded by the caller.
    pub(crate) fn sweep_adjoint_lanes(&self, adjoints: &mut [T], p: usize, last: u32) {
        let wide = self.wide_constants();
        for i in (0..=last).rev() {
            let record = self.record(i);
            let (before, rest) = adjoints.split_at_mut(i as usize * p);
            let lanes = &rest[..p];
            // A record the seeded outputs do not depend on: skipping it keeps an infinite
            // partial there from making `0 · ∞ = NaN`, and saves the work.
            if lanes.iter().all(|lane| lane.is_zero()) {
                continue;
            }
            dispatch_op!(record.op(),
                leaf => {},
                unary(op) => {
                    let x = record.a(i) as usize;
                    let partial =
                        op.unary_partial(self.record(record.a(i)).value, record.value, record.b as i32);
                    accumulate(&mut before[x * p..x * p + p], lanes, partial);
                },
                binary(op) => {
                    let (a, b) = (record.a(i) as usize, record.b as usize);
                    let (da, db) = op.binary_partials(
                        self.record(record.a(i)).value,
                        self.record(record.b).value,
                        record.value,
                    );
                    // `a` and `b` may be one record (`x · x`): two passes, one borrow each.
                    accumulate(&mut before[a * p..a * p + p], lanes, da);
                    accumulate(&mut before[b * p..b * p + p], lanes, db);
                },
                wide(op) => {
                    let x = record.a(i) as usize;
                    let c = wide.get(record.b);
                    let partial =
                        op.partial_with_constant(self.record(record.a(i)).value, record.value, c);
                    accumulate(&mut before[x * p..x * p + p], lanes, partial);
                },
                tensor => {},
            );
        }
    }
}

/// `lanes = from · partial`, lane by lane, with a zero lane staying zero even when the
/// partial is infinite or NaN (see [`times`]); a finite partial, the common case, needs
/// no test per lane, so the loop vectorises.
#[inline(always)]
fn scale<T: Real>(lanes: &mut [T], from: &[T], partial: T) {
    if partial.is_non_finite() {
        for (lane, &t) in lanes.iter_mut().zip(from) {
            *lane = times(t, partial);
        }
    } else {
        for (lane, &t) in lanes.iter_mut().zip(from) {
            *lane = t * partial;
        }
    }
}

/// `targets += lanes · partial`, lane by lane, as [`scale`] does.
#[inline(always)]
fn accumulate<T: Real>(targets: &mut [T], lanes: &[T], partial: T) {
    if partial.is_non_finite() {
        for (target, &lane) in targets.iter_mut().zip(lanes) {
            *target += times(lane, partial);
        }
    } else {
        for (target, &lane) in targets.iter_mut().zip(lanes) {
            *target += lane * partial;
        }
    }
}

/// Where a lane sweep takes the records' values from.
#[derive(Clone, Copy)]
pub(crate) enum Values<'a, T> {
    /// As recorded (or last replayed).
    Recorded,
    /// Re-evaluated in the same pass at new inputs: the k-th input's value is `f(k)`.
    Replayed(&'a dyn Fn(usize) -> T),
}

/// `rows × cols`, or a size error.
pub(crate) fn product(rows: usize, cols: usize) -> Result<usize> {
    rows.checked_mul(cols).ok_or(Error::SizeOverflow)
}

/// Fails unless a caller's buffer holds exactly `expected` entries.
pub(crate) fn check_len(
    what: &'static str,
    got: usize,
    against: &'static str,
    expected: usize,
) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            got,
            against,
            expected,
        })
    }
}
