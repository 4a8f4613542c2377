//! The scalar workloads, shared by `benches/scalar.rs` (criterion) and
//! `examples/bench_report.rs` (medians and machine-readable lines for `bench/run.sh`).
//!
//! Both functions are the ones `bench/peers/adolc_bench.cpp` differentiates, at the same
//! points, so our figures and ADOL-C's describe the same work:
//!
//! * Rosenbrock: `f = Σ_{i<n-1} 100·(x[i+1] − x[i]²)² + (1 − x[i])²`
//! * transcendental chain:
//!   `f = Σ_{i<n-1} sin(x[i])·exp(0.01·x[i+1]) + ln(1 + x[i]²) + sqrt(1 + x[i+1]²)/(1 + x[i]²)`
//!
//! Recording streams the inputs (`x[i+1]` is made an input when the loop first needs
//! it), so it needs no buffer of variables; the inputs are still recorded in index
//! order, which is the order `gradient_into` and `replay` use.

use autodiff_core::{Tape, Var};

/// The problem size of both workloads.
pub const N: usize = 1000;

/// Arena bytes for either workload at `N` (the chain needs about 18 records per term).
pub const MEMORY_BYTES: usize = 1 << 20;

/// Records `f` at `x` on `tape` and returns the output.
pub type RecordFn = for<'t> fn(&'t Tape<'t, f64>, &[f64]) -> Var<'t, f64>;

/// Records `workload` at `x` on `tape` (which the caller has reset or just made) and
/// takes the gradient into `g`: the "gradient including recording" every report times.
pub fn record_gradient(workload: &Workload, tape: &Tape<'_, f64>, x: &[f64], g: &mut [f64]) {
    let f = (workload.record)(tape, std::hint::black_box(x));
    tape.gradient_into(f.id(), g).expect("recorded");
    std::hint::black_box(g);
}

/// One workload: the recorded function, the plain one and a hand-written gradient.
pub struct Workload {
    pub name: &'static str,
    pub record: RecordFn,
    pub plain: fn(&[f64]) -> f64,
    pub analytic_gradient: fn(&[f64], &mut [f64]),
    /// Records per term of the sum, by kind, so reports can split bytes per op.
    pub per_term: OpCounts,
}

/// How many records of each kind one term of a workload's sum adds. Literals that `f32`
/// holds exactly (`1.0`, `100.0`) live inside the record that uses them (`AddConst`,
/// `ConstSub`, `MulConst`, ...); on these `f64` tapes others (`0.01`) live beside the
/// records (`MulWide`, ...), so both count as `inline_constant` ops. A `Const` record
/// made once and shared by every term counts once in `shared_constants`.
#[derive(Clone, Copy, Debug)]
pub struct OpCounts {
    /// `Const` records per term.
    pub constants: usize,
    /// `Const` records made once and shared by every term.
    pub shared_constants: usize,
    /// Ops of one variable and an inline constant.
    pub inline_constant: usize,
    /// Ops of one variable (`sin`, `exp`, ...).
    pub unary: usize,
    /// Ops of two variables.
    pub binary: usize,
}

impl OpCounts {
    pub fn total(self) -> usize {
        self.constants + self.inline_constant + self.unary + self.binary
    }
}

impl Workload {
    /// The tape length after recording at size `n`: `n` inputs, the constant the sum
    /// starts from and `n − 1` terms.
    pub fn expected_records(&self, n: usize) -> usize {
        n + 1 + self.per_term.shared_constants + (n - 1) * self.per_term.total()
    }
}

pub const ROSENBROCK: Workload = Workload {
    name: "rosenbrock",
    record: rosenbrock_tape,
    plain: rosenbrock_f64,
    analytic_gradient: rosenbrock_gradient,
    per_term: OpCounts {
        constants: 0,
        shared_constants: 0,
        inline_constant: 2,
        unary: 0,
        binary: 6,
    },
};

pub const CHAIN: Workload = Workload {
    name: "chain",
    record: chain_tape,
    plain: chain_f64,
    analytic_gradient: chain_gradient,
    per_term: OpCounts {
        constants: 0,
        shared_constants: 0,
        inline_constant: 3,
        unary: 4,
        binary: 7,
    },
};

pub const WORKLOADS: [Workload; 2] = [ROSENBROCK, CHAIN];

/// The point tapes are recorded at (the same as ADOL-C's benchmark).
pub fn point(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 + 0.4 * (0.37 * i as f64).sin())
        .collect()
}

/// A second point, for replaying a tape recorded at [`point`].
pub fn other_point(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| -0.3 + 0.6 * (0.11 * i as f64).cos())
        .collect()
}

pub fn rosenbrock_tape<'t>(tape: &'t Tape<'t, f64>, x: &[f64]) -> Var<'t, f64> {
    let mut f = tape.constant(0.0);
    let mut xi = tape.input(x[0]);
    for &next in &x[1..] {
        let xn = tape.input(next);
        f = f + rosenbrock_term(xi, xn);
        xi = xn;
    }
    f
}

/// One term of the Rosenbrock sum, recorded.
pub fn rosenbrock_term<'t>(xi: Var<'t, f64>, xn: Var<'t, f64>) -> Var<'t, f64> {
    let a = xn - xi * xi;
    let b = 1.0 - xi;
    100.0 * a * a + b * b
}

pub fn rosenbrock_f64(x: &[f64]) -> f64 {
    let mut f = 0.0;
    for w in x.windows(2) {
        let a = w[1] - w[0] * w[0];
        let b = 1.0 - w[0];
        f += 100.0 * a * a + b * b;
    }
    f
}

pub fn rosenbrock_gradient(x: &[f64], g: &mut [f64]) {
    g.fill(0.0);
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        g[i] += -400.0 * x[i] * a - 2.0 * (1.0 - x[i]);
        g[i + 1] += 200.0 * a;
    }
}

pub fn chain_tape<'t>(tape: &'t Tape<'t, f64>, x: &[f64]) -> Var<'t, f64> {
    let mut f = tape.constant(0.0);
    let mut xi = tape.input(x[0]);
    for &next in &x[1..] {
        let xn = tape.input(next);
        f = f + chain_term(xi, xn);
        xi = xn;
    }
    f
}

/// One term of the transcendental chain's sum, recorded.
pub fn chain_term<'t>(xi: Var<'t, f64>, xn: Var<'t, f64>) -> Var<'t, f64> {
    let a2 = 1.0 + xi * xi;
    xi.sin() * (0.01 * xn).exp() + a2.ln() + (1.0 + xn * xn).sqrt() / a2
}

pub fn chain_f64(x: &[f64]) -> f64 {
    let mut f = 0.0;
    for w in x.windows(2) {
        let (a, b) = (w[0], w[1]);
        let a2 = 1.0 + a * a;
        f += a.sin() * (0.01 * b).exp() + a2.ln() + (1.0 + b * b).sqrt() / a2;
    }
    f
}

pub fn chain_gradient(x: &[f64], g: &mut [f64]) {
    g.fill(0.0);
    for i in 0..x.len() - 1 {
        let (a, b) = (x[i], x[i + 1]);
        let a2 = 1.0 + a * a;
        let e = (0.01 * b).exp();
        let sb = (1.0 + b * b).sqrt();
        g[i] += a.cos() * e + 2.0 * a / a2 - sb * 2.0 * a / (a2 * a2);
        g[i + 1] += 0.01 * a.sin() * e + b / (sb * a2);
    }
}

/// Checks the tape's gradient against the analytic one, both by recording at [`point`]
/// and by replaying that tape at [`other_point`], and that the tape holds exactly the
/// records the op counts promise. Panics on any mismatch, so a broken build cannot
/// produce benchmark figures.
pub fn check(workload: &Workload, tape: &mut Tape<'_, f64>, n: usize) {
    let (x, x2) = (point(n), other_point(n));
    let (mut g, mut want) = (vec![0.0; n], vec![0.0; n]);

    tape.reset();
    let f = (workload.record)(tape, &x);
    assert_eq!(
        tape.len(),
        workload.expected_records(n),
        "{}: records",
        workload.name
    );
    let value = f.value();
    let plain = (workload.plain)(&x);
    assert!(
        (value - plain).abs() <= 1e-12 * plain.abs().max(1.0),
        "{}: taped value {value} differs from plain {plain}",
        workload.name
    );
    tape.gradient_into(f.id(), &mut g)
        .expect("gradient of a recorded tape");
    (workload.analytic_gradient)(&x, &mut want);
    assert_close(workload.name, "recorded", &g, &want);

    tape.replay(&x2).expect("replay at a second point");
    tape.gradient_into(f.id(), &mut g)
        .expect("gradient after replay");
    (workload.analytic_gradient)(&x2, &mut want);
    assert_close(workload.name, "replayed", &g, &want);
}

fn assert_close(name: &str, how: &str, got: &[f64], want: &[f64]) {
    let scale = want.iter().fold(1.0f64, |m, w| m.max(w.abs()));
    let worst = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (g, w)| m.max((g - w).abs()));
    assert!(
        worst <= 1e-9 * scale,
        "{name}: {how} gradient differs from the analytic one by {worst:e} (scale {scale:e})"
    );
}
