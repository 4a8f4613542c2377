//! Sparse Hessians: the pattern of nonlinear interactions, a star colouring, and
//! compressed evaluation by vector forward over reverse with direct symmetric recovery.
//!
//! With a star colouring, for every off-diagonal entry `(i, j)` either `j` is the only
//! neighbour of `i` in `j`'s colour, so the entry is alone in row `i`'s compressed
//! column `colour[j]`, or the same holds with `i` and `j` swapped. The plan records,
//! once, which row each entry is read from; evaluation is then a gather.

use super::check_inputs;
use super::colouring::{self, Adjacency, Ordering};
use super::plan::{Kind, Plan};
use super::words::Span;
use crate::error::Result;
use crate::real::Real;
use crate::tape::{check_len, product, Tape, Values, VarId};
use core::mem::MaybeUninit;

/// The sparse Hessian of `f = Σᵢ wᵢ·outputs[i]` (one output with weight 1 for a plain
/// function, a Lagrangian's constraints with their multipliers) with respect to a scalar
/// tape's inputs: symmetric pattern (both triangles, compressed rows), star colouring,
/// and evaluation at new inputs and weights, all in the memory the plan was given.
pub struct SparseHessian<'p> {
    plan: Plan<'p>,
    /// For every entry, the row of `H·S` it is read from (its own row or its column).
    sources: Span,
}

impl<'p> SparseHessian<'p> {
    /// Detects the Hessian pattern of the weighted `outputs` from `tape` (structurally,
    /// for weights that may be any nonzero) and star-colours it in `ordering`'s order,
    /// all in `memory`. Fails with [`Error::OutOfMemory`](crate::Error::OutOfMemory)
    /// when `memory` is too small, and on tapes with tensor records.
    pub fn new<T: Real>(
        tape: &Tape<'_, T>,
        outputs: &[VarId],
        ordering: Ordering,
        memory: &'p mut [MaybeUninit<u8>],
    ) -> Result<SparseHessian<'p>> {
        let mut plan = Plan::pattern(tape, outputs, Kind::Hessian, memory)?;
        let (n, nnz) = (plan.columns, plan.indices.len);
        plan.colour = plan.bump.take(n)?;
        let sources = plan.bump.take(nnz)?;
        let work = colouring::work_words(n);
        let scratch = plan.scratch_span(work + 2 * (n + 1))?;
        let (kept, rest) = plan.words.split_at_mut(plan.colour.start);
        let (colour, rest) = rest.split_at_mut(n);
        let (source, rest) = rest.split_at_mut(scratch.start - sources.start);
        let (work, rest) = rest.split_at_mut(work);
        let (seen, count) = rest.split_at_mut(n + 1);
        let graph = Adjacency(colouring::Rows {
            starts: &kept[plan.starts.start..plan.starts.end()],
            indices: &kept[plan.indices.start..plan.indices.end()],
        });
        plan.colours = colouring::star(&graph, ordering, colour, work) as usize;
        recovery_sources(&graph, colour, source, seen, count);
        Ok(SparseHessian { plan, sources })
    }

    /// Number of inputs: the Hessian is `dimension × dimension`.
    pub fn dimension(&self) -> usize {
        self.plan.columns
    }

    /// Number of structural nonzeros, both triangles.
    pub fn nnz(&self) -> usize {
        self.plan.indices.len
    }

    /// Number of colours: the directions each evaluation carries.
    pub fn colours(&self) -> usize {
        self.plan.colours
    }

    /// Row `r`'s entries are `column_indices()[row_starts()[r]..row_starts()[r + 1]]`.
    pub fn row_starts(&self) -> &[u32] {
        self.plan.span(self.plan.starts)
    }

    /// The column of every entry, row by row, increasing within a row.
    pub fn column_indices(&self) -> &[u32] {
        self.plan.span(self.plan.indices)
    }

    /// The colour of every input.
    pub fn colouring(&self) -> &[u32] {
        self.plan.span(self.plan.colour)
    }

    /// The most bytes of the plan's memory in use at once while it was built.
    pub fn peak_bytes(&self) -> usize {
        self.plan.peak_bytes()
    }

    /// The pattern as coordinates, in the order of
    /// [`evaluate`](SparseHessian::evaluate)'s values; both hold
    /// [`nnz`](SparseHessian::nnz) entries.
    pub fn coordinates(&self, rows: &mut [u32], columns: &mut [u32]) -> Result<()> {
        self.plan.coordinates(rows, columns)
    }

    /// The Hessian's entries at inputs `x` for output weights `weights` (one per
    /// output), in pattern order, into `values`: replays the tape at `x`, then one
    /// forward and one reverse sweep of [`colours`](SparseHessian::colours) lanes, in
    /// `len × (2·colours + 1)` values of the tape's scratch. Fails with
    /// [`Error::StalePattern`](crate::Error::StalePattern) when the tape was reset or
    /// recorded more since the plan was made.
    pub fn evaluate<T: Real>(
        &self,
        tape: &Tape<'_, T>,
        x: &[T],
        weights: &[T],
        values: &mut [T],
    ) -> Result<()> {
        self.evaluate_as(tape, x, weights, values, |s| s, |t| t)
    }

    /// [`evaluate`](SparseHessian::evaluate) with inputs, weights and values of
    /// another type.
    pub fn evaluate_as<T: Real, S: Copy>(
        &self,
        tape: &Tape<'_, T>,
        x: &[S],
        weights: &[S],
        values: &mut [S],
        to_real: impl Fn(S) -> T,
        from_real: impl Fn(T) -> S,
    ) -> Result<()> {
        let plan = &self.plan;
        tape.status()?;
        plan.recording.check(tape)?;
        tape.check_lane_sweep("sparse hessian")?;
        let outputs = plan.span(plan.outputs);
        check_len(
            "sparse hessian: weights length",
            weights.len(),
            "the number of outputs",
            outputs.len(),
        )?;
        check_len(
            "sparse hessian: values length",
            values.len(),
            "the pattern's nonzeros",
            self.nnz(),
        )?;
        check_inputs(tape, x.len())?;
        let (n, p) = (self.dimension(), self.colours());
        if p == 0 {
            return tape.replay_from(x, &to_real);
        }
        let new_input = |k: usize| to_real(x[k]);
        let (colour, rows, sources) = (
            self.colouring(),
            plan.pattern_rows(),
            plan.span(self.sources),
        );
        let last = outputs.iter().copied().max();
        let seed_adjoints = |adjoints: &mut [T]| {
            for (&output, &weight) in outputs.iter().zip(weights) {
                adjoints[output as usize] += to_real(weight);
            }
        };
        let one = T::one();
        tape.with_scratch(product(n, p)?, |compressed: &mut [T]| {
            tape.hessian_lanes_seeded(
                Values::Replayed(&new_input),
                last,
                seed_adjoints,
                p,
                |k, lanes| lanes[colour[k] as usize] = one,
                |k, lanes| compressed[k * p..k * p + p].copy_from_slice(lanes),
            )?;
            for i in 0..n {
                let range = rows.starts[i] as usize..rows.starts[i + 1] as usize;
                for e in range {
                    let (j, source) = (rows.indices[e] as usize, sources[e] as usize);
                    let c = if source == i { colour[j] } else { colour[i] } as usize;
                    values[e] = from_real(compressed[source * p + c]);
                }
            }
            Ok(())
        })?
    }
}

/// For every entry `(i, j)`, the row of `H·S` that holds it alone in a compressed column:
/// `i` when no other neighbour of `i` shares `j`'s colour, else `j` (which the star
/// colouring then guarantees). `seen` and `count` hold a word per colour (at most one
/// per vertex, plus one).
fn recovery_sources(
    graph: &Adjacency<'_>,
    colour: &[u32],
    source: &mut [u32],
    seen: &mut [u32],
    count: &mut [u32],
) {
    let rows = graph.0;
    seen.fill(0);
    for i in 0..rows.count() as u32 {
        for &j in rows.row(i) {
            let c = colour[j as usize] as usize;
            if j == i {
                continue;
            }
            if seen[c] != i + 1 {
                seen[c] = i + 1;
                count[c] = 0;
            }
            count[c] += 1;
        }
        let start = rows.starts[i as usize] as usize;
        for (e, &j) in rows.row(i).iter().enumerate() {
            let alone = j == i || count[colour[j as usize] as usize] == 1;
            source[start + e] = if alone { i } else { j };
        }
    }
}
