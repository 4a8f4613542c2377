//! The adjoint of a long explicit ODE integration in a fixed, small arena.
//!
//! A reaction–diffusion (heat) equation on a periodic grid of 64 points,
//!
//! ```text
//! du_i/dt = κ·(u_{i+1} − 2u_i + u_{i−1})/Δx² + r·u_i·(1 − u_i) + q_i,
//! ```
//!
//! is stiff enough that explicit RK4 needs a small time step: n = 100,000 steps of
//! dt = 1e-4 reach t = 10. The loss is `½‖u(10)‖²`; its gradient with respect to the
//! initial state `u(0)` (64 values) and the parameters `θ = (κ, r, q_0..q_63)` (66
//! values) comes from [`chain_gradient`] with 32 snapshots in a 1 MiB arena. Storing
//! the whole chain instead would take about 10 GB of tape.
//!
//! The gradient is checked against central finite differences on a few components;
//! the program exits with status 1 when one disagrees by more than `1e-6` relative.
//! (The difference step is `h = 1e-5·max(|c|, 0.1)` for a component `c`. Central
//! differences err by O(h²)·|L'''|, below 1e-9 relative here, plus the rounding of
//! two 100,000-step runs divided by `2h`, about 1e-8 relative; measured errors are
//! 1e-11 to 2e-8. A wrong derivative rule or a mis-ordered reversal would be off by
//! far more than `1e-6`.)
//!
//! Run with `cargo run --release -p autodiff-core --example ode_adjoint`.

use autodiff_core::checkpoint::{chain_gradient, min_forward_steps, Step};
use autodiff_core::{Result, Tape, Var, VarId};
use core::ops::{Add, Mul, Sub};
use std::mem::MaybeUninit;
use std::time::Instant;

const D: usize = 64;
const STEPS: usize = 100_000;
const DT: f64 = 1e-4;
const SNAPSHOTS: usize = 32;
const ARENA_BYTES: usize = 1 << 20;
/// `1/Δx²` for Δx = 1/64.
const INV_DX2: f64 = (D * D) as f64;

/// What both a plain `f64` and a taped `Var` can do: the step is written once,
/// so the forward-only runs compute exactly the values the recorded ones do.
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

/// One RK4 step from `u` with parameters `[κ, r, q_0..q_63]`.
fn rk4<V: Num>(u: &[V; D], params: &[V]) -> [V; D] {
    let (kappa, r, q) = (params[0], params[1], &params[2..]);
    let mut k1 = *u;
    let mut k2 = *u;
    let mut k3 = *u;
    let mut k4 = *u;
    let mut stage = *u;
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
        let mut p = [Var::from_id(tape, params[0]); D + 2];
        for (v, &id) in p.iter_mut().zip(params) {
            *v = Var::from_id(tape, id);
        }
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
        next.copy_from_slice(&rk4(&u, params));
        Ok(true)
    }
}

fn half_norm2<V: Num>(u: &[V]) -> V {
    let mut acc = u[0] * u[0] * 0.5;
    for &x in &u[1..] {
        acc = acc + x * x * 0.5;
    }
    acc
}

/// The loss by a plain forward run, for finite differences.
fn loss_plain(u0: &[f64; D], params: &[f64]) -> f64 {
    let mut u = *u0;
    for _ in 0..STEPS {
        u = rk4(&u, params);
    }
    half_norm2(&u)
}

fn main() {
    let u0: [f64; D] = core::array::from_fn(|i| {
        let x = i as f64 / D as f64;
        0.2 + 0.15 * (2.0 * core::f64::consts::PI * x).sin()
            + 0.05 * (6.0 * core::f64::consts::PI * x).cos()
    });
    let mut params = vec![0.005, 0.3];
    params.extend((0..D).map(|i| 0.01 * (i % 5) as f64));

    let mut arena = vec![MaybeUninit::<u8>::uninit(); ARENA_BYTES];
    let mut grad_u0 = [0.0; D];
    let mut grad_params = vec![0.0; params.len()];
    let start = Instant::now();
    let report = chain_gradient(
        &mut arena,
        STEPS,
        SNAPSHOTS,
        &u0,
        &params,
        HeatStep,
        |tape: &Tape<'_, f64>, u: &[VarId], _p: &[VarId]| {
            let vars: Vec<Var<'_, f64>> = u.iter().map(|&id| Var::from_id(tape, id)).collect();
            half_norm2(&vars).id()
        },
        &mut grad_u0,
        &mut grad_params,
    );
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            eprintln!("ode_adjoint: {error}");
            std::process::exit(1);
        }
    };
    let elapsed = start.elapsed();
    let records_per_step = report.step_bytes / Tape::<f64>::bytes_per_record();
    println!("reaction-diffusion, {D} points, RK4, n = {STEPS} steps of dt = {DT}");
    println!("loss ½‖u(T)‖² = {:.12}", report.loss);
    println!(
        "arena {} KiB, peak {} KiB: {} snapshots ({} B of workspace) + one step's tape ({} B, ~{records_per_step} records)",
        ARENA_BYTES / 1024,
        report.peak_bytes / 1024,
        SNAPSHOTS,
        report.workspace_bytes,
        report.step_bytes
    );
    println!(
        "store-everything tape would need ~{:.1} GB",
        (report.step_bytes as f64) * STEPS as f64 / 1e9
    );
    println!(
        "forward-only steps {} ({:.2}× n; binomial minimum {}), recorded steps {}, time {:.2?}",
        report.advances,
        report.advances as f64 / STEPS as f64,
        min_forward_steps(STEPS, SNAPSHOTS).unwrap_or(0),
        report.recorded,
        elapsed
    );

    // Central finite differences on a few components.
    let tolerance = 1e-6;
    let mut worst: f64 = 0.0;
    println!(
        "{:<12} {:>22} {:>22} {:>10}",
        "component", "adjoint", "finite diff.", "rel. err"
    );
    let mut check = |name: String, adjoint: f64, perturb: &dyn Fn(f64) -> f64, at: f64| {
        let h = 1e-5 * at.abs().max(0.1);
        let fd = (perturb(h) - perturb(-h)) / (2.0 * h);
        let err = (adjoint - fd).abs() / fd.abs().max(adjoint.abs()).max(1e-12);
        worst = worst.max(err);
        println!("{name:<12} {adjoint:>22.12e} {fd:>22.12e} {err:>10.2e}");
    };
    for i in [0, 17, 40] {
        check(
            format!("u0[{i}]"),
            grad_u0[i],
            &|h| {
                let mut u = u0;
                u[i] += h;
                loss_plain(&u, &params)
            },
            u0[i],
        );
    }
    for (j, name) in [(0, "kappa"), (1, "r"), (2 + 5, "q[5]")] {
        check(
            name.to_string(),
            grad_params[j],
            &|h| {
                let mut p = params.clone();
                p[j] += h;
                loss_plain(&u0, &p)
            },
            params[j],
        );
    }
    if worst > tolerance {
        eprintln!("ode_adjoint: adjoint and finite differences disagree (worst {worst:.2e} > {tolerance:.0e})");
        std::process::exit(1);
    }
    println!(
        "adjoint matches finite differences (worst relative error {worst:.2e} <= {tolerance:.0e})"
    );
}
