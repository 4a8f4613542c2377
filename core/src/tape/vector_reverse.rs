//! Vector reverse mode: `q` adjoint directions per sweep over a recorded tape (ADOL-C's
//! `fov_reverse`).

use super::lanes::{check_len, product};
use super::{Tape, VarId};
use crate::error::Result;
use crate::real::Real;

impl<'m, T: Real> Tape<'m, T> {
    /// `Z = U·J`: `directions` weighted combinations of the rows of the Jacobian of
    /// `outputs` at once. `weights` is the `directions × outputs.len()` matrix `U`,
    /// row-major (row `j` weighs every output for direction `j`); `out` receives the
    /// `directions × num_inputs` matrix `Z`, row-major, over the inputs in recording
    /// order.
    ///
    /// On a scalar tape one sweep carries every direction, in `len × directions` values
    /// of scratch taken from the arena and given back before returning. A tape with
    /// tensors runs one [`vjp`](Tape::vjp) per direction instead (a tensor record's
    /// gradient lives in the tensor's own buffer, one direction at a time). Unlike
    /// [`backward`](Tape::backward) it does not refuse a non-finite output value. Fails,
    /// writing nothing, on a length that differs from what the tape needs, a bad output
    /// handle, or scratch that does not fit.
    pub fn reverse_vector(
        &self,
        outputs: &[VarId],
        weights: &[T],
        directions: usize,
        out: &mut [T],
    ) -> Result<()> {
        self.reverse_vector_as(outputs, weights, directions, out, |s| s, |t| t)
    }

    /// [`reverse_vector`](Tape::reverse_vector) with weights and results of another
    /// type, converted by `to_real` and `from_real` as the sweep reads and writes them.
    pub fn reverse_vector_as<S: Copy>(
        &self,
        outputs: &[VarId],
        weights: &[S],
        directions: usize,
        out: &mut [S],
        to_real: impl Fn(S) -> T,
        from_real: impl Fn(T) -> S,
    ) -> Result<()> {
        self.refuse_in_callback("reverse_vector")?;
        self.status()?;
        let (m, n, q) = (outputs.len(), self.num_inputs(), directions);
        check_len(
            "reverse_vector: weight matrix length",
            weights.len(),
            "directions × outputs",
            product(q, m)?,
        )?;
        check_len(
            "reverse_vector: result length",
            out.len(),
            "directions × inputs",
            product(q, n)?,
        )?;
        let mut last = None::<u32>;
        for &output in outputs {
            self.check_handle(output)?;
            last = Some(last.map_or(output.index, |l| l.max(output.index)));
        }
        let Some(last) = last.filter(|_| q > 0) else {
            out.fill(from_real(T::zero()));
            return Ok(());
        };
        if self.has_extension_records() {
            for (direction, row) in out.chunks_exact_mut(n.max(1)).enumerate().take(q) {
                self.vjp_with(outputs, |i| to_real(weights[direction * m + i]))?;
                for (entry, adjoint) in row[..n].iter_mut().zip(self.input_adjoints()) {
                    *entry = from_real(adjoint);
                }
            }
            return Ok(());
        }
        self.check_lane_sweep("reverse_vector")?;
        self.with_scratch(product(self.len(), q)?, |adjoints: &mut [T]| {
            for (i, &output) in outputs.iter().enumerate() {
                let at = output.index as usize * q;
                for (direction, lane) in adjoints[at..at + q].iter_mut().enumerate() {
                    *lane += to_real(weights[direction * m + i]);
                }
            }
            self.sweep_adjoint_lanes(adjoints, q, last);
            let inputs =
                (0..self.inputs_end.get()).filter(|&i| self.record(i).op() == crate::op::Op::Input);
            for (k, record) in inputs.enumerate() {
                let at = record as usize * q;
                for (direction, &lane) in adjoints[at..at + q].iter().enumerate() {
                    out[direction * n + k] = from_real(lane);
                }
            }
        })
    }
}
