//! What the Jacobian and Hessian plans share: the pattern in compressed-row form, the
//! colouring, the outputs and input records, all as spans of the plan's words, and how
//! they are built.
//!
//! Building lays the plan's words out as
//! `[outputs | input records | pattern entries | row starts | colours | …]` from the
//! low end. While the pattern is propagated, the per-record sets and marks sit
//! at the high end and the set pool between; the finished pattern is copied down over
//! the pool, and the colouring's work arrays then use the space above it. Scratch is
//! not kept, but the highest word it reached is reported as the plan's peak.

use super::colouring::Rows;
use super::pattern::{self, SetTable, Sets};
use super::words::{index, words_of, Bump, Span};
use super::Recording;
use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Tape, VarId};
use core::mem::MaybeUninit;

/// Which pattern a plan holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Rows are outputs, columns inputs.
    Jacobian,
    /// Rows and columns are inputs: the symmetric Hessian of the weighted outputs.
    Hessian,
}

pub(super) struct Plan<'p> {
    pub(super) words: &'p mut [u32],
    pub(super) recording: Recording,
    pub(super) rows: usize,
    pub(super) columns: usize,
    pub(super) outputs: Span,
    pub(super) inputs: Span,
    pub(super) indices: Span,
    pub(super) starts: Span,
    pub(super) colour: Span,
    pub(super) colours: usize,
    pub(super) bump: Bump,
    /// Bytes of the caller's memory before its first aligned word.
    head: usize,
}

impl<'p> Plan<'p> {
    /// The pattern of `outputs` (a Jacobian's or the weighted Hessian's), in `memory`.
    pub(super) fn pattern<T: Real>(
        tape: &Tape<'_, T>,
        outputs: &[VarId],
        kind: Kind,
        memory: &'p mut [MaybeUninit<u8>],
    ) -> Result<Plan<'p>> {
        tape.check_lane_sweep("sparse pattern")?;
        for &output in outputs {
            tape.check_handle(output)?;
        }
        let base = memory.as_ptr() as usize;
        let words = words_of(memory);
        let head = (words.as_ptr() as usize).wrapping_sub(base);
        let (m, n, len) = (outputs.len(), tape.num_inputs(), tape.len());
        let mut bump = Bump::new(words.len());
        let outputs_span = bump.take(m)?;
        for (slot, &output) in words[outputs_span.start..].iter_mut().zip(outputs) {
            *slot = output.index;
        }
        let inputs = bump.take(n)?;
        tape.input_records(&mut words[inputs.start..inputs.end()]);
        let rows = match kind {
            Kind::Jacobian => m,
            Kind::Hessian => n,
        };

        // High end: record sets, input partner sets (Hessians), the marks' bits.
        let partner_words = if kind == Kind::Hessian { 2 * n } else { 0 };
        let high = 2 * len + partner_words + 2 * pattern::bitset_words(len);
        let pool_start = bump.low;
        bump.fits(pool_start.checked_add(high).ok_or(Error::SizeOverflow)?)?;
        let pool_end = bump.capacity - high;
        let (fixed, rest) = words.split_at_mut(pool_start);
        let (pool, rest) = rest.split_at_mut(pool_end - pool_start);
        let (record_starts, rest) = rest.split_at_mut(len);
        let (record_lens, rest) = rest.split_at_mut(len);
        let (partner_starts, rest) = rest.split_at_mut(partner_words / 2);
        let (partner_lens, rest) = rest.split_at_mut(partner_words / 2);
        let (live, needed) = rest.split_at_mut(pattern::bitset_words(len));
        let mut marks = pattern::Marks { live, needed };
        let outputs_of = &fixed[outputs_span.start..outputs_span.end()];
        pattern::mark_records(tape, outputs_of, kind == Kind::Hessian, &mut marks);
        let mut records = SetTable {
            starts: record_starts,
            lens: record_lens,
        };
        let mut partners = SetTable {
            starts: partner_starts,
            lens: partner_lens,
        };
        let mut sets = Sets::new(pool);
        let (block, entries) = match kind {
            Kind::Jacobian => {
                pattern::propagate(
                    tape,
                    &marks,
                    &mut records,
                    &mut sets,
                    |_, _, _, _, _| Ok(()),
                )?;
                let rows = outputs_of.iter().map(|&record| record as usize);
                sets.write_rows(&records, rows)?
            }
            Kind::Hessian => {
                pattern::propagate(tape, &marks, &mut records, &mut sets, |sets, c, a, b, y| {
                    pattern::add_interactions(sets, &mut partners, c, a, b, y)
                })?;
                sets.write_rows(&partners, 0..n)?
            }
        };
        index(entries)?;
        // The memory this needed: the pool at its fullest plus the high-end arrays.
        bump.touch(pool_start + sets.used() + entries + rows + 1 + high);
        // The pattern block [entries | row starts] moves down over the pool.
        let from = pool_start + block;
        words.copy_within(from..from + entries + rows + 1, pool_start);
        let indices = bump.take(entries)?;
        let starts = bump.take(rows + 1)?;
        Ok(Plan {
            words,
            recording: Recording::of(tape),
            rows,
            columns: n,
            outputs: outputs_span,
            inputs,
            indices,
            starts,
            colour: Span::default(),
            colours: 0,
            bump,
            head,
        })
    }

    pub(super) fn span(&self, span: Span) -> &[u32] {
        &self.words[span.start..span.end()]
    }

    pub(super) fn pattern_rows(&self) -> Rows<'_> {
        Rows {
            starts: self.span(self.starts),
            indices: self.span(self.indices),
        }
    }

    /// The highest number of bytes of the caller's memory the plan used, scratch
    /// included.
    pub(super) fn peak_bytes(&self) -> usize {
        self.head + self.bump.peak * 4
    }

    /// `count` words of scratch above everything kept, zeroed; only until the next
    /// `take`.
    pub(super) fn scratch_span(&mut self, count: usize) -> Result<Span> {
        let start = self.bump.low;
        let end = start.checked_add(count).ok_or(Error::SizeOverflow)?;
        self.bump.fits(end)?;
        self.bump.touch(end);
        self.words[start..end].fill(0);
        Ok(Span { start, len: count })
    }
}
