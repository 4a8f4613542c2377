//! Vector forward mode: `p` tangent directions per sweep over a recorded tape, from an
//! arbitrary seed matrix (ADOL-C's `fov_forward`), at the recorded point or, replaying
//! in the same sweep, at a new one.

use super::lane_rows::{plans_rows, LaneRows, RowPerRecord};
use super::lanes::{check_len, product};
use super::{Tape, Values, VarId};
use crate::error::Result;
use crate::real::Real;

impl<'m, T: Real> Tape<'m, T> {
    /// `Y = J·X`: the derivatives of `outputs` along `directions` input directions at
    /// once. `seeds` is the `num_inputs × directions` seed matrix `X`, row-major (row `k`
    /// holds input `k`'s tangent in every direction); `out` receives the
    /// `outputs.len() × directions` matrix `Y`, row-major.
    ///
    /// On a scalar tape one sweep carries every direction, in `len × directions` values
    /// of scratch taken from the arena and given back before returning. Where that block
    /// would not fit in cache and the rows are wide (see `lane_rows.rs`), records that are
    /// never alive at once share rows instead: scratch for the values alive at once, after
    /// a plan made in at most `len` indices of scratch. The plan stays in the adjoint
    /// slots, so that the next sweep for the same outputs, after a
    /// [`replay`](Tape::replay) too (or through
    /// [`forward_vector_at`](Tape::forward_vector_at)), skips it; [`grad`](Tape::grad) and
    /// [`tangent`](Tape::tangent) then fail until a backward or tangent sweep runs again.
    /// A tape with tensors runs one [`jvp`](Tape::jvp) per direction instead (a tensor
    /// record's tangent lives in the tensor's own buffer, one direction at a time); tensor
    /// inputs keep the tangents seeded with `seed_tensor_tangent`, so the directions are
    /// those of the scalar inputs. Fails, writing nothing, on a length that differs from
    /// what the tape needs, a bad output handle, or scratch that does not fit.
    pub fn forward_vector(
        &self,
        outputs: &[VarId],
        seeds: &[T],
        directions: usize,
        out: &mut [T],
    ) -> Result<()> {
        self.forward_vector_as(outputs, seeds, directions, out, |s| s, |t| t)
    }

    /// [`forward_vector`](Tape::forward_vector) with seeds and results of another type,
    /// converted by `to_real` and `from_real` as the sweep reads and writes them.
    pub fn forward_vector_as<S: Copy>(
        &self,
        outputs: &[VarId],
        seeds: &[S],
        directions: usize,
        out: &mut [S],
        to_real: impl Fn(S) -> T,
        from_real: impl Fn(T) -> S,
    ) -> Result<()> {
        self.forward_vector_from(None, outputs, seeds, directions, out, to_real, from_real)
    }

    /// [`replay`](Tape::replay) at `inputs`, then
    /// [`forward_vector`](Tape::forward_vector): a Jacobian product at a new point (as
    /// ADOL-C's `fov_forward` takes it). On a scalar tape one sweep does both, so the
    /// records are read once, not twice; a tape with tensors replays, then sweeps.
    /// Afterwards the tape holds the values at `inputs`, as after a replay. Fails as
    /// either does; on a scalar tape a failure (an input count that differs from the
    /// tape's, scratch that does not fit) writes nothing and leaves the values as they
    /// were.
    pub fn forward_vector_at(
        &self,
        inputs: &[T],
        outputs: &[VarId],
        seeds: &[T],
        directions: usize,
        out: &mut [T],
    ) -> Result<()> {
        self.forward_vector_at_as(inputs, outputs, seeds, directions, out, |s| s, |t| t)
    }

    /// [`forward_vector_at`](Tape::forward_vector_at) with inputs, seeds and results of
    /// another type, converted by `to_real` and `from_real` as the sweep reads and writes
    /// them.
    // `forward_vector_as`'s arguments and the point: a struct of them would be one more
    // type for a caller to build.
    #[allow(clippy::too_many_arguments)]
    pub fn forward_vector_at_as<S: Copy>(
        &self,
        inputs: &[S],
        outputs: &[VarId],
        seeds: &[S],
        directions: usize,
        out: &mut [S],
        to_real: impl Fn(S) -> T,
        from_real: impl Fn(T) -> S,
    ) -> Result<()> {
        let inputs = Some(inputs);
        self.forward_vector_from(inputs, outputs, seeds, directions, out, to_real, from_real)
    }

    /// [`forward_vector_as`](Tape::forward_vector_as), replaying at `inputs` first when
    /// given.
    #[allow(clippy::too_many_arguments)]
    fn forward_vector_from<S: Copy>(
        &self,
        inputs: Option<&[S]>,
        outputs: &[VarId],
        seeds: &[S],
        directions: usize,
        out: &mut [S],
        to_real: impl Fn(S) -> T,
        from_real: impl Fn(T) -> S,
    ) -> Result<()> {
        // The call's name, for the errors that give it.
        let what = match inputs {
            Some(_) => "forward_vector_at",
            None => "forward_vector",
        };
        self.refuse_in_callback(what)?;
        self.status()?;
        let (n, p) = (self.num_inputs(), directions);
        if let Some(inputs) = inputs {
            check_len(
                "forward_vector_at: input length",
                inputs.len(),
                "the number of inputs",
                n,
            )?;
        }
        check_len(
            "forward_vector: seed matrix length",
            seeds.len(),
            "inputs × directions",
            product(n, p)?,
        )?;
        check_len(
            "forward_vector: result length",
            out.len(),
            "outputs × directions",
            product(outputs.len(), p)?,
        )?;
        for &output in outputs {
            self.check_handle(output)?;
        }
        if p == 0 || self.has_extension_records() {
            if let Some(inputs) = inputs {
                self.replay_from(inputs, &to_real)?;
            }
            // With no directions this sweeps nothing.
            return self.forward_lane_by_lane(outputs, seeds, p, out, to_real, from_real);
        }
        self.check_lane_sweep(what)?;
        let seed = |k: usize, lanes: &mut [T]| {
            for (lane, &seed) in lanes.iter_mut().zip(&seeds[k * p..k * p + p]) {
                *lane = to_real(seed);
            }
        };
        let new_input;
        let values = match inputs {
            Some(inputs) => {
                new_input = |k: usize| to_real(inputs[k]);
                Values::Replayed(&new_input)
            }
            None => Values::Recorded,
        };
        let plan = plans_rows::<T>(self.len(), p);
        self.sweep_forward_vector(outputs, p, out, seed, from_real, plan, values)
    }

    /// The sweep of [`forward_vector_as`](Tape::forward_vector_as), its arguments
    /// checked, at the recorded values or replaying (`values`): with a row of lanes per
    /// record, or with rows planned by liveness when `plan` (see `lane_rows.rs`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sweep_forward_vector<S>(
        &self,
        outputs: &[VarId],
        p: usize,
        out: &mut [S],
        seed: impl FnMut(usize, &mut [T]),
        from_real: impl Fn(T) -> S,
        plan: bool,
        values: Values<'_, T>,
    ) -> Result<()> {
        if !plan {
            return self.with_scratch(product(self.len(), p)?, |tangents: &mut [T]| {
                self.sweep_tangent_lanes(tangents, p, values, seed);
                read_rows(tangents, &RowPerRecord, outputs, p, out, from_real);
            });
        }
        let rows = self.lane_rows_in_slots(outputs)?;
        self.with_scratch(product(rows, p)?, |tangents: &mut [T]| {
            let rows = self.slot_rows();
            self.sweep_tangent_lanes_in(tangents, p, values, seed, &rows);
            read_rows(tangents, &rows, outputs, p, out, from_real);
        })
    }

    /// The tensor-tape path of `forward_vector`: one tangent sweep per direction.
    fn forward_lane_by_lane<S: Copy>(
        &self,
        outputs: &[VarId],
        seeds: &[S],
        p: usize,
        out: &mut [S],
        to_real: impl Fn(S) -> T,
        from_real: impl Fn(T) -> S,
    ) -> Result<()> {
        for direction in 0..p {
            self.jvp_with(self.num_inputs(), |k| to_real(seeds[k * p + direction]))?;
            for (row, &output) in outputs.iter().enumerate() {
                out[row * p + direction] = from_real(self.tangent(output)?);
            }
        }
        Ok(())
    }
}

/// Writes the lanes of `outputs` (row-major, `p` to an output) from the rows `rows` gives
/// them in `tangents`.
fn read_rows<T: Real, S>(
    tangents: &[T],
    rows: &impl LaneRows,
    outputs: &[VarId],
    p: usize,
    out: &mut [S],
    from_real: impl Fn(T) -> S,
) {
    for (entries, &output) in out.chunks_exact_mut(p).zip(outputs) {
        let at = rows.row(output.index as usize) * p;
        for (entry, &lane) in entries.iter_mut().zip(&tangents[at..at + p]) {
            *entry = from_real(lane);
        }
    }
}
