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
    /// of the k-th input (they arrive zeroed). `tangents` holds `len × p` values.
    pub(crate) fn sweep_tangent_lanes(
        &self,
        tangents: &mut [T],
        p: usize,
        mut seed: impl FnMut(usize, &mut [T]),
    ) {
        let mut input = 0;
        for i in 0..self.len.get() {
            let record = self.record(i);
            let (done, rest) = tangents.split_at_mut(i as usize * p);
            let lanes = &mut rest[..p];
            let op = record.op();
            dispatch_op!(op,
                leaf => {
                    lanes.fill(T::zero());
                    if op == Op::Input {
                        seed(input, lanes);
                        input += 1;
                    }
                },
                unary(op) => {
                    let x = record.a() as usize;
                    let partial =
                        op.unary_partial(self.record(record.a()).value, record.value, record.b as i32);
                    for (lane, &t) in lanes.iter_mut().zip(&done[x * p..x * p + p]) {
                        *lane = times(t, partial);
                    }
                },
                binary(op) => {
                    let (a, b) = (record.a() as usize, record.b as usize);
                    let (da, db) = op.binary_partials(
                        self.record(record.a()).value,
                        self.record(record.b).value,
                        record.value,
                    );
                    let (ta, tb) = (&done[a * p..a * p + p], &done[b * p..b * p + p]);
                    for ((lane, &ta), &tb) in lanes.iter_mut().zip(ta).zip(tb) {
                        *lane = times(ta, da) + times(tb, db);
                    }
                },
                // `check_lane_sweep` keeps tensor records out.
                tensor => lanes.fill(T::zero()),
            );
        }
    }

    /// Reverse adjoints in `p` lanes from record `last` down to record 0. `adjoints` holds
    /// `len × p` values, seeded by the caller.
    pub(crate) fn sweep_adjoint_lanes(&self, adjoints: &mut [T], p: usize, last: u32) {
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
                    let x = record.a() as usize;
                    let partial =
                        op.unary_partial(self.record(record.a()).value, record.value, record.b as i32);
                    for (target, &lane) in before[x * p..x * p + p].iter_mut().zip(lanes) {
                        *target += times(lane, partial);
                    }
                },
                binary(op) => {
                    let (a, b) = (record.a() as usize, record.b as usize);
                    let (da, db) = op.binary_partials(
                        self.record(record.a()).value,
                        self.record(record.b).value,
                        record.value,
                    );
                    // `a` and `b` may be one record (`x · x`): two passes, one borrow each.
                    for (target, &lane) in before[a * p..a * p + p].iter_mut().zip(lanes) {
                        *target += times(lane, da);
                    }
                    for (target, &lane) in before[b * p..b * p + p].iter_mut().zip(lanes) {
                        *target += times(lane, db);
                    }
                },
                tensor => {},
            );
        }
    }
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
