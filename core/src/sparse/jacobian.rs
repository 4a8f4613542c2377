//! Sparse Jacobians: pattern, column (or row) colouring, and compressed evaluation by
//! vector forward (or reverse) mode, recovered into compressed-row order.

use super::check_inputs;
use super::colouring::{self, Bipartite, Ordering, Rows};
use super::plan::{Kind, Plan};
use crate::error::Result;
use crate::real::Real;
use crate::tape::{check_len, product, Tape, Values, VarId};
use core::mem::MaybeUninit;

/// How a sparse Jacobian is compressed and evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum JacobianMode {
    /// Columns coloured; one vector forward sweep with a lane per colour.
    Forward = 0,
    /// Rows coloured; one vector reverse sweep with a lane per colour.
    Reverse = 1,
}

impl JacobianMode {
    /// The mode with number `code`, if there is one.
    pub fn from_code(code: u32) -> Option<JacobianMode> {
        match code {
            0 => Some(JacobianMode::Forward),
            1 => Some(JacobianMode::Reverse),
            _ => None,
        }
    }
}

/// The sparse Jacobian of some outputs of a recorded scalar tape with respect to its
/// inputs: pattern (compressed rows, columns sorted), colouring, and evaluation at new
/// inputs with recovery, all in the memory the plan was given.
pub struct SparseJacobian<'p> {
    plan: Plan<'p>,
    mode: JacobianMode,
}

impl<'p> SparseJacobian<'p> {
    /// Detects the pattern of the Jacobian of `outputs` from `tape` and colours it in
    /// `ordering`'s order, for evaluation in `mode`, all in `memory`. Fails with
    /// [`Error::OutOfMemory`](crate::Error::OutOfMemory) (the bytes needed so far) when `memory` is too small, and
    /// on tapes with tensor records.
    pub fn new<T: Real>(
        tape: &Tape<'_, T>,
        outputs: &[VarId],
        mode: JacobianMode,
        ordering: Ordering,
        memory: &'p mut [MaybeUninit<u8>],
    ) -> Result<SparseJacobian<'p>> {
        let mut plan = Plan::pattern(tape, outputs, Kind::Jacobian, memory)?;
        let (m, n, nnz) = (plan.rows, plan.columns, plan.indices.len);
        let vertices = match mode {
            JacobianMode::Forward => n,
            JacobianMode::Reverse => m,
        };
        plan.colour = plan.bump.take(vertices)?;
        let work = colouring::work_words(vertices);
        let scratch = plan.scratch_span(n + 1 + nnz + work)?;
        let (kept, rest) = plan.words.split_at_mut(plan.colour.start);
        let (colour, rest) = rest.split_at_mut(scratch.start - plan.colour.start);
        let (column_starts, rest) = rest.split_at_mut(n + 1);
        let (column_rows, rest) = rest.split_at_mut(nnz);
        let work = &mut rest[..work];
        let rows = Rows {
            starts: &kept[plan.starts.start..plan.starts.end()],
            indices: &kept[plan.indices.start..plan.indices.end()],
        };
        colouring::transpose(rows, n, column_starts, column_rows);
        let columns = Rows {
            starts: column_starts,
            indices: column_rows,
        };
        let graph = match mode {
            JacobianMode::Forward => Bipartite {
                of_vertex: columns,
                of_net: rows,
            },
            JacobianMode::Reverse => Bipartite {
                of_vertex: rows,
                of_net: columns,
            },
        };
        plan.colours = colouring::greedy(&graph, ordering, colour, work) as usize;
        Ok(SparseJacobian { plan, mode })
    }

    /// Number of outputs (rows).
    pub fn rows(&self) -> usize {
        self.plan.rows
    }

    /// Number of inputs (columns).
    pub fn columns(&self) -> usize {
        self.plan.columns
    }

    /// Number of structural nonzeros.
    pub fn nnz(&self) -> usize {
        self.plan.indices.len
    }

    /// Number of colours: the directions each evaluation carries.
    pub fn colours(&self) -> usize {
        self.plan.colours
    }

    /// The mode the plan evaluates in.
    pub fn mode(&self) -> JacobianMode {
        self.mode
    }

    /// Row `r`'s entries are `column_indices()[row_starts()[r]..row_starts()[r + 1]]`.
    pub fn row_starts(&self) -> &[u32] {
        self.plan.span(self.plan.starts)
    }

    /// The column of every entry, row by row, increasing within a row.
    pub fn column_indices(&self) -> &[u32] {
        self.plan.span(self.plan.indices)
    }

    /// The colour of every column (forward mode) or row (reverse mode).
    pub fn colouring(&self) -> &[u32] {
        self.plan.span(self.plan.colour)
    }

    /// The most bytes of the plan's memory in use at once while it was built.
    pub fn peak_bytes(&self) -> usize {
        self.plan.peak_bytes()
    }

    /// The pattern as coordinates: `rows[e]`, `columns[e]` for every entry, in the
    /// order of [`evaluate`](SparseJacobian::evaluate)'s values. Both hold
    /// [`nnz`](SparseJacobian::nnz) entries.
    pub fn coordinates(&self, rows: &mut [u32], columns: &mut [u32]) -> Result<()> {
        self.plan.coordinates(rows, columns)
    }

    /// The Jacobian's entries at inputs `x`, in pattern order, into `values`
    /// ([`nnz`](SparseJacobian::nnz) of them): replays the tape at `x`, then one vector
    /// sweep of [`colours`](SparseJacobian::colours) lanes, in `len × colours` values of
    /// the tape's scratch. Fails with [`Error::StalePattern`](crate::Error::StalePattern) when the tape was reset or
    /// recorded more since the plan was made, [`Error::ForeignPattern`](crate::Error::ForeignPattern) for another
    /// tape's plan.
    pub fn evaluate<T: Real>(&self, tape: &Tape<'_, T>, x: &[T], values: &mut [T]) -> Result<()> {
        self.evaluate_as(tape, x, values, |s| s, |t| t)
    }

    /// [`evaluate`](SparseJacobian::evaluate) with inputs and values of another type.
    pub fn evaluate_as<T: Real, S: Copy>(
        &self,
        tape: &Tape<'_, T>,
        x: &[S],
        values: &mut [S],
        to_real: impl Fn(S) -> T,
        from_real: impl Fn(T) -> S,
    ) -> Result<()> {
        tape.status()?;
        self.plan.recording.check(tape)?;
        tape.check_lane_sweep("sparse jacobian")?;
        check_len(
            "sparse jacobian: values length",
            values.len(),
            "the pattern's nonzeros",
            self.nnz(),
        )?;
        check_inputs(tape, x.len())?;
        let p = self.colours();
        // Forward mode replays in its sweep; reverse mode needs the values first.
        if p == 0 || self.mode == JacobianMode::Reverse {
            tape.replay_from(x, &to_real)?;
            if p == 0 {
                return Ok(());
            }
        }
        let new_input = |k: usize| to_real(x[k]);
        let plan = &self.plan;
        let (outputs, inputs) = (plan.span(plan.outputs), plan.span(plan.inputs));
        let (colour, rows) = (self.colouring(), plan.pattern_rows());
        let one = T::one();
        tape.with_scratch(product(tape.len(), p)?, |lanes: &mut [T]| match self.mode {
            JacobianMode::Forward => {
                let replayed = Values::Replayed(&new_input);
                tape.sweep_tangent_lanes(lanes, p, replayed, |k, seed| {
                    seed[colour[k] as usize] = one
                });
                for (r, &output) in outputs.iter().enumerate() {
                    let base = output as usize * p;
                    let range = rows.starts[r] as usize..rows.starts[r + 1] as usize;
                    for e in range {
                        let c = colour[rows.indices[e] as usize] as usize;
                        values[e] = from_real(lanes[base + c]);
                    }
                }
            }
            JacobianMode::Reverse => {
                for (r, &output) in outputs.iter().enumerate() {
                    lanes[output as usize * p + colour[r] as usize] += one;
                }
                let last = outputs.iter().copied().max().unwrap_or(0);
                tape.sweep_adjoint_lanes(lanes, p, last);
                for (r, &c) in colour.iter().enumerate() {
                    let c = c as usize;
                    let range = rows.starts[r] as usize..rows.starts[r + 1] as usize;
                    for e in range {
                        let record = inputs[rows.indices[e] as usize] as usize;
                        values[e] = from_real(lanes[record * p + c]);
                    }
                }
            }
        })
    }
}

impl Plan<'_> {
    /// The pattern as coordinate pairs, in entry order.
    pub(super) fn coordinates(&self, rows: &mut [u32], columns: &mut [u32]) -> Result<()> {
        let nnz = self.indices.len;
        check_len(
            "pattern rows length",
            rows.len(),
            "the pattern's nonzeros",
            nnz,
        )?;
        check_len(
            "pattern columns length",
            columns.len(),
            "the pattern's nonzeros",
            nnz,
        )?;
        let pattern = self.pattern_rows();
        for r in 0..pattern.count() {
            let range = pattern.starts[r] as usize..pattern.starts[r + 1] as usize;
            rows[range.clone()].fill(r as u32);
            columns[range.clone()].copy_from_slice(&pattern.indices[range]);
        }
        Ok(())
    }
}
