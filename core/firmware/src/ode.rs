//! The adjoint of an explicit ODE integration with binomial checkpointing, in `f64`
//! (software floating point on a Cortex-M4F, whose FPU is single precision).
//!
//! A small version of `core/examples/ode_adjoint.rs`: the reaction–diffusion equation
//! `du_i/dt = κ·(u_{i+1} − 2u_i + u_{i−1})/Δx² + r·u_i·(1 − u_i) + q_i` on a periodic
//! grid of 8 points, 400 RK4 steps of `dt = 0.025`, and the loss `½‖u(10)‖²`. Its gradient
//! with respect to `u(0)` and `θ = (κ, r, q_0..q_7)` comes from `chain_gradient` with 6
//! snapshots, in an arena that holds about one step's tape: the whole chain's tape would
//! need some 400 times that. Six components are checked against central finite
//! differences (within 10⁻⁶ relative, as in the host example), and every value must
//! match the host's bit for bit: the operations are the same IEEE ones on both.

use crate::report::Report;
use autodiff_core::checkpoint::chain_gradient;
use autodiff_core::checkpoint::Step;
use autodiff_core::{Real, Result, Tape, Var, VarId};
use core::mem::MaybeUninit;
use core::ops::{Add, Mul, Sub};

const D: usize = 8;
const P: usize = D + 2;
const STEPS: usize = 400;
const DT: f64 = 0.025;
const SNAPSHOTS: usize = 6;
/// `1/Δx²` for Δx = 1/8.
const INV_DX2: f64 = (D * D) as f64;

/// The workspace (snapshots, buffers, handles: under 2 KiB) and one step's tape
/// (about 9 KiB).
pub const ARENA_BYTES: usize = 16 * 1024;

/// What both a plain `f64` and a taped `Var` can do: the step is written once, so the
/// forward-only runs compute exactly the values the recorded ones do.
trait Num:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Mul<f64, Output = Self>
    + Add<f64, Output = Self>
{
    /// `1 − self`.
    fn one_minus(self) -> Self;
}

impl Num for f64 {
    fn one_minus(self) -> f64 {
        1.0 - self
    }
}

impl Num for Var<'_, f64> {
    fn one_minus(self) -> Self {
        1.0 - self
    }
}

/// The right-hand side at `u`, into `out`.
fn rhs<V: Num>(u: &[V; D], kappa: V, r: V, q: &[V], out: &mut [V; D]) {
    for i in 0..D {
        let left = u[(i + D - 1) % D];
        let right = u[(i + 1) % D];
        let lap = (right + left - u[i] * 2.0) * INV_DX2;
        out[i] = kappa * lap + r * u[i] * u[i].one_minus() + q[i];
    }
}

/// One RK4 step from `u` with parameters `[κ, r, q_0..q_7]`.
fn rk4<V: Num>(u: &[V; D], params: &[V; P]) -> [V; D] {
    let (kappa, r, q) = (params[0], params[1], &params[2..]);
    let (mut k1, mut k2, mut k3, mut k4, mut stage) = (*u, *u, *u, *u, *u);
    rhs(u, kappa, r, q, &mut k1);
    for i in 0..D {
        stage[i] = u[i] + k1[i] * (DT / 2.0);
    }
    rhs(&stage, kappa, r, q, &mut k2);
    for i in 0..D {
        stage[i] = u[i] + k2[i] * (DT / 2.0);
    }
    rhs(&stage, kappa, r, q, &mut k3);
    for i in 0..D {
        stage[i] = u[i] + k3[i] * DT;
    }
    rhs(&stage, kappa, r, q, &mut k4);
    let mut next = *u;
    for i in 0..D {
        next[i] = u[i] + (k1[i] + (k2[i] + k3[i]) * 2.0 + k4[i]) * (DT / 6.0);
    }
    next
}

fn half_norm2<V: Num>(u: &[V; D]) -> V {
    let mut acc = u[0] * u[0] * 0.5;
    for &x in &u[1..] {
        acc = acc + x * x * 0.5;
    }
    acc
}

struct HeatStep;

impl Step<f64> for HeatStep {
    fn record(
        &mut self,
        tape: &Tape<'_, f64>,
        _k: usize,
        state: &[VarId],
        params: &[VarId],
        next: &mut [VarId],
    ) -> Result<()> {
        let u: [Var<'_, f64>; D] = core::array::from_fn(|i| Var::from_id(tape, state[i]));
        let p: [Var<'_, f64>; P] = core::array::from_fn(|i| Var::from_id(tape, params[i]));
        for (n, v) in next.iter_mut().zip(rk4(&u, &p)) {
            *n = v.id();
        }
        Ok(())
    }

    fn evaluate(
        &mut self,
        _k: usize,
        state: &[f64],
        params: &[f64],
        next: &mut [f64],
    ) -> Result<bool> {
        let u: [f64; D] = core::array::from_fn(|i| state[i]);
        let p: [f64; P] = core::array::from_fn(|i| params[i]);
        next.copy_from_slice(&rk4(&u, &p));
        Ok(true)
    }
}

/// The loss by a plain forward run, for finite differences.
fn loss_plain(u0: &[f64; D], params: &[f64; P]) -> f64 {
    let mut u = *u0;
    for _ in 0..STEPS {
        u = rk4(&u, params);
    }
    half_norm2(&u)
}

/// Whether `adjoint` agrees with the central difference of `loss` at `at` within
/// 10⁻⁶ relative (the step `h = 10⁻⁵·max(|at|, 0.1)` errs far less).
fn agrees_with_finite_difference(adjoint: f64, at: f64, loss: impl Fn(f64) -> f64) -> bool {
    let h = 1e-5 * at.abs().max(0.1);
    let fd = (loss(h) - loss(-h)) / (2.0 * h);
    let scale = fd.abs().max(adjoint.abs()).max(1e-12);
    (adjoint - fd).abs() <= 1e-6 * scale
}

pub fn run(arena: &mut [MaybeUninit<u8>], report: &mut Report) {
    let two_pi = 2.0 * core::f64::consts::PI;
    let u0: [f64; D] = core::array::from_fn(|i| {
        let x = i as f64 / D as f64;
        0.2 + 0.15 * Real::sin(two_pi * x) + 0.05 * Real::cos(3.0 * two_pi * x)
    });
    let mut params = [0.0; P];
    params[0] = 0.005;
    params[1] = 0.3;
    for (i, q) in params[2..].iter_mut().enumerate() {
        *q = 0.01 * (i % 5) as f64;
    }

    let (mut grad_u0, mut grad_params) = ([0.0; D], [0.0; P]);
    let loss = |tape: &Tape<'_, f64>, u: &[VarId], _: &[VarId]| {
        let vars: [Var<'_, f64>; D] = core::array::from_fn(|i| Var::from_id(tape, u[i]));
        half_norm2(&vars).id()
    };
    let chain = chain_gradient(
        arena,
        STEPS,
        SNAPSHOTS,
        &u0,
        &params,
        HeatStep,
        loss,
        &mut grad_u0,
        &mut grad_params,
    );
    let chain = match chain {
        Ok(chain) => chain,
        Err(_) => return report.check("the chain's gradient", false),
    };
    report.info("arena bytes", ARENA_BYTES);
    report.info("peak bytes in use", chain.peak_bytes);
    report.info("one step's tape bytes", chain.step_bytes);
    report.info(
        "bytes of a tape of the whole chain",
        chain.step_bytes * STEPS,
    );
    report.info("forward-only steps", chain.advances);
    report.exact("loss", chain.loss);
    report.check(
        "loss equals a plain forward run",
        chain.loss == loss_plain(&u0, &params),
    );

    let (mut u_right, mut p_right) = (true, true);
    for (i, label) in [(0, "dL/du0[0]"), (3, "dL/du0[3]"), (6, "dL/du0[6]")] {
        report.exact(label, grad_u0[i]);
        u_right &= agrees_with_finite_difference(grad_u0[i], u0[i], |h| {
            let mut u = u0;
            u[i] += h;
            loss_plain(&u, &params)
        });
    }
    for (j, label) in [(0, "dL/dkappa"), (1, "dL/dr"), (2 + 5, "dL/dq[5]")] {
        report.exact(label, grad_params[j]);
        p_right &= agrees_with_finite_difference(grad_params[j], params[j], |h| {
            let mut p = params;
            p[j] += h;
            loss_plain(&u0, &p)
        });
    }
    report.check("dL/du0 matches finite differences", u_right);
    report.check("dL/dtheta matches finite differences", p_right);
}
