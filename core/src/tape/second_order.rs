//! Hessians by vector forward over reverse on an ordinary tape.
//!
//! A forward sweep carries `p` tangent directions `ẋ = X·s`; a reverse sweep then carries
//! the adjoint `ȳ` of the weighted outputs together with its `p` tangents `ẏ̄`, which
//! end as `H·X` at the inputs. For `y = φ(x)` the rule is
//! `ẋ̄ += ẏ̄·φ'(x) + ȳ·φ''(x)·ẋ`, and for a binary op the same with the 2 × 2 block of
//! second partials. The second partials come from the op's own first-partial rule
//! evaluated on dual numbers, so every convention of `op.rs` holds to second order too,
//! and ops need no second rule of their own.
//!
//! Needs `len × (2p + 1)` values of scratch, on scalar tapes.

use super::forward::times;
use super::lanes::{check_len, product};
use super::{Tape, VarId};
use crate::dual::Dual;
use crate::error::Result;
use crate::op::{dispatch_op, Op};
use crate::real::Real;

/// Directions per sweep of [`Tape::hessian`].
const DENSE_HESSIAN_LANES: usize = 8;

impl<'m, T: Real> Tape<'m, T> {
    /// `H·X` for `f = Σᵢ weights[i]·outputs[i]`: `seeds` is the `num_inputs × directions`
    /// matrix `X`, row-major, and `out` receives the `num_inputs × directions` product,
    /// row-major. At the recorded (or last replayed) values; one forward and one reverse
    /// sweep for all directions. Scalar tapes only.
    pub fn hessian_product(
        &self,
        outputs: &[VarId],
        weights: &[T],
        seeds: &[T],
        directions: usize,
        out: &mut [T],
    ) -> Result<()> {
        let (n, p) = (self.num_inputs(), directions);
        check_len(
            "hessian_product: seed matrix length",
            seeds.len(),
            "inputs × directions",
            product(n, p)?,
        )?;
        check_len(
            "hessian_product: result length",
            out.len(),
            "inputs × directions",
            product(n, p)?,
        )?;
        self.hessian_lanes(
            outputs,
            weights,
            |w| w,
            p,
            |k, lanes| lanes.copy_from_slice(&seeds[k * p..k * p + p]),
            |k, lanes| out[k * p..k * p + p].copy_from_slice(lanes),
        )
    }

    /// The dense `num_inputs × num_inputs` Hessian of `f = Σᵢ weights[i]·outputs[i]`,
    /// row-major into `hessian`, by vector forward over reverse with the unit directions,
    /// several per sweep. Scalar tapes only.
    pub fn hessian(&self, outputs: &[VarId], weights: &[T], hessian: &mut [T]) -> Result<()> {
        self.hessian_as(outputs, weights, hessian, |s| s, |t| t)
    }

    /// [`hessian`](Tape::hessian) with weights and entries of another type.
    pub fn hessian_as<S: Copy>(
        &self,
        outputs: &[VarId],
        weights: &[S],
        hessian: &mut [S],
        to_real: impl Fn(S) -> T,
        from_real: impl Fn(T) -> S,
    ) -> Result<()> {
        let n = self.num_inputs();
        check_len(
            "hessian: result length",
            hessian.len(),
            "inputs × inputs",
            product(n, n)?,
        )?;
        for first in (0..n).step_by(DENSE_HESSIAN_LANES) {
            let p = DENSE_HESSIAN_LANES.min(n - first);
            self.hessian_lanes(
                outputs,
                weights,
                &to_real,
                p,
                |k, lanes| {
                    if let Some(lane) = k.checked_sub(first).and_then(|j| lanes.get_mut(j)) {
                        *lane = T::one();
                    }
                },
                |k, lanes| {
                    let row = &mut hessian[k * n + first..k * n + first + p];
                    for (entry, &lane) in row.iter_mut().zip(lanes) {
                        *entry = from_real(lane);
                    }
                },
            )?;
        }
        Ok(())
    }

    /// The second-order sweep: `seed(k, lanes)` fills input `k`'s `p` tangent lanes
    /// (zeroed on arrival), and `read(k, lanes)` receives input `k`'s lanes of `H·X`.
    pub(crate) fn hessian_lanes<S: Copy>(
        &self,
        outputs: &[VarId],
        weights: &[S],
        to_real: impl Fn(S) -> T,
        p: usize,
        seed: impl FnMut(usize, &mut [T]),
        read: impl FnMut(usize, &[T]),
    ) -> Result<()> {
        self.check_lane_sweep("hessian")?;
        check_len(
            "hessian: weight length",
            weights.len(),
            "the number of outputs",
            outputs.len(),
        )?;
        let mut last = None::<u32>;
        for &output in outputs {
            self.check_handle(output)?;
            last = Some(last.map_or(output.index, |l| l.max(output.index)));
        }
        let seed_adjoints = |adjoints: &mut [T]| {
            for (&output, &weight) in outputs.iter().zip(weights) {
                adjoints[output.index as usize] += to_real(weight);
            }
        };
        self.hessian_lanes_seeded(super::Values::Recorded, last, seed_adjoints, p, seed, read)
    }

    /// The second-order sweep with outputs already checked: `last` is the highest output
    /// record (`None` for no outputs), and `seed_adjoints` adds the outputs' weights to
    /// the zeroed adjoints, one per record. With [`Values::Replayed`](super::Values) the
    /// forward half also replays the tape at new inputs (counted by the caller).
    pub(crate) fn hessian_lanes_seeded(
        &self,
        values: super::Values<'_, T>,
        last: Option<u32>,
        seed_adjoints: impl FnOnce(&mut [T]),
        p: usize,
        seed: impl FnMut(usize, &mut [T]),
        mut read: impl FnMut(usize, &[T]),
    ) -> Result<()> {
        self.check_lane_sweep("hessian")?;
        let len = self.len();
        let lane_values = product(len, p)?;
        let total = lane_values
            .checked_mul(2)
            .and_then(|v| v.checked_add(len))
            .ok_or(crate::error::Error::SizeOverflow)?;
        self.with_scratch(total, |scratch: &mut [T]| {
            let (tangents, rest) = scratch.split_at_mut(lane_values);
            let (adjoint_tangents, adjoints) = rest.split_at_mut(lane_values);
            self.sweep_tangent_lanes(tangents, p, values, seed);
            if let Some(last) = last {
                seed_adjoints(adjoints);
                self.sweep_second_order(tangents, adjoint_tangents, adjoints, p, last);
            }
            let inputs = (0..self.inputs_end.get()).filter(|&i| self.record(i).op() == Op::Input);
            for (k, record) in inputs.enumerate() {
                let at = record as usize * p;
                read(k, &adjoint_tangents[at..at + p]);
            }
        })
    }

    /// The reverse half: adjoints and their `p` tangents from record `last` down.
    fn sweep_second_order(
        &self,
        tangents: &[T],
        adjoint_tangents: &mut [T],
        adjoints: &mut [T],
        p: usize,
        last: u32,
    ) {
        let one = T::one();
        let wide = self.wide_constants();
        for i in (0..=last).rev() {
            let record = self.record(i);
            let adjoint = adjoints[i as usize];
            let (before, rest) = adjoint_tangents.split_at_mut(i as usize * p);
            let lanes = &rest[..p];
            if adjoint.is_zero() && lanes.iter().all(|lane| lane.is_zero()) {
                continue;
            }
            // A one-argument record with partial φ' and second derivative φ'' at `x`.
            let unary_step =
                |x: usize, partial: T, second: T, adjoints: &mut [T], before: &mut [T]| {
                    adjoints[x] += times(adjoint, partial);
                    let curvature = times(adjoint, second);
                    let targets = before[x * p..x * p + p].iter_mut();
                    for ((target, &lane), &t) in targets.zip(lanes).zip(&tangents[x * p..x * p + p])
                    {
                        *target += times(lane, partial) + times(t, curvature);
                    }
                };
            dispatch_op!(record.op(),
                leaf => {},
                unary(op) => {
                    let x = record.a(i) as usize;
                    let (value, n) = (self.record(record.a(i)).value, record.b as i32);
                    let partial = op.unary_partial(value, record.value, n);
                    // φ'' as the tangent of φ' along x, with y's tangent φ'.
                    let second = op
                        .unary_partial(Dual::new(value, one), Dual::new(record.value, partial), n)
                        .tangent;
                    unary_step(x, partial, second, adjoints, before);
                },
                binary(op) => {
                    let (a, b) = (record.a(i) as usize, record.b as usize);
                    let (va, vb) = (self.record(record.a(i)).value, self.record(record.b).value);
                    let (da, db) = op.binary_partials(va, vb, record.value);
                    // Column `a` then column `b` of the second partials, as tangents of the
                    // first partials along each argument.
                    let (daa, dba) = op.binary_partials(
                        Dual::new(va, one), Dual::new(vb, T::zero()), Dual::new(record.value, da));
                    let (dab, dbb) = op.binary_partials(
                        Dual::new(va, T::zero()), Dual::new(vb, one), Dual::new(record.value, db));
                    // `Powf`'s exponent carries no derivative, to first order or second.
                    let through_b = |second: T| if op == Op::Powf { T::zero() } else { times(adjoint, second) };
                    let c = [
                        times(adjoint, daa.tangent),
                        through_b(dab.tangent),
                        through_b(dba.tangent),
                        through_b(dbb.tangent),
                    ];
                    adjoints[a] += times(adjoint, da);
                    adjoints[b] += times(adjoint, db);
                    let (ta, tb) = (&tangents[a * p..a * p + p], &tangents[b * p..b * p + p]);
                    for (j, &lane) in lanes.iter().enumerate() {
                        before[a * p + j] += times(lane, da) + times(ta[j], c[0]) + times(tb[j], c[1]);
                    }
                    for (j, &lane) in lanes.iter().enumerate() {
                        before[b * p + j] += times(lane, db) + times(ta[j], c[2]) + times(tb[j], c[3]);
                    }
                },
                wide(op) => {
                    let x = record.a(i) as usize;
                    let value = self.record(record.a(i)).value;
                    let c = wide.get(record.b);
                    let partial = op.partial_with_constant(value, record.value, c);
                    let second = op
                        .partial_with_constant(
                            Dual::new(value, one),
                            Dual::new(record.value, partial),
                            Dual::new(c, T::zero()),
                        )
                        .tangent;
                    unary_step(x, partial, second, adjoints, before);
                },
                tensor => {},
            );
        }
    }
}
