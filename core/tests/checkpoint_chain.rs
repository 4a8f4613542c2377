//! Chain checkpointing: gradients against the store-everything tape and finite
//! differences, evaluation counts against the binomial optimum, memory bounds and
//! up-front memory errors.

mod common;
use common::memory;

use autodiff_core::checkpoint::{
    chain_gradient, chain_gradient_on_tape, chain_gradient_online, chain_gradient_online_on_tape,
    chain_gradient_store_all, min_forward_steps, step_fn, workspace_bytes, Action, ChainReport,
    Online, Step,
};
use autodiff_core::{Error, Real, Result, Tape, Var, VarId};

const D: usize = 3;
const H: f64 = 0.01;

/// `x_{k+1,i} = x_i + h·(sin(θ0·x_i + x_{i+1}) − θ1·x_i³)`, indices mod 3.
struct Nonlinear {
    calls: usize,
    evaluations: usize,
    /// Provide the plain evaluation (else the driver records for advances).
    plain: bool,
}

impl Nonlinear {
    fn new(plain: bool) -> Nonlinear {
        Nonlinear {
            calls: 0,
            evaluations: 0,
            plain,
        }
    }
}

fn step_value(x: &[f64], theta: &[f64], next: &mut [f64]) {
    for i in 0..D {
        let xi = x[i];
        let xj = x[(i + 1) % D];
        let f = Real::sin(theta[0] * xi + xj) - theta[1] * (xi * xi * xi);
        next[i] = xi + f * H;
    }
}

impl Step<f64> for Nonlinear {
    fn record(
        &mut self,
        tape: &Tape<'_, f64>,
        _k: usize,
        state: &[VarId],
        params: &[VarId],
        next: &mut [VarId],
    ) -> Result<()> {
        self.calls += 1;
        let t0 = Var::from_id(tape, params[0]);
        let t1 = Var::from_id(tape, params[1]);
        for i in 0..D {
            let xi = Var::from_id(tape, state[i]);
            let xj = Var::from_id(tape, state[(i + 1) % D]);
            let f = (t0 * xi + xj).sin() - t1 * (xi * xi * xi);
            next[i] = (xi + f * H).id();
        }
        Ok(())
    }

    fn evaluate(&mut self, _k: usize, x: &[f64], theta: &[f64], next: &mut [f64]) -> Result<bool> {
        if !self.plain {
            return Ok(false);
        }
        self.evaluations += 1;
        step_value(x, theta, next);
        Ok(true)
    }
}

/// `Σ (i+1)·x_i² + θ0·x_0`: uses the parameters too.
fn loss(tape: &Tape<'_, f64>, x: &[VarId], theta: &[VarId]) -> VarId {
    let mut acc = Var::from_id(tape, theta[0]) * Var::from_id(tape, x[0]);
    for (i, &id) in x.iter().enumerate() {
        let xi = Var::from_id(tape, id);
        acc = acc + xi * xi * (i as f64 + 1.0);
    }
    acc.id()
}

fn loss_value(x: &[f64], theta: &[f64]) -> f64 {
    let mut acc = theta[0] * x[0];
    for (i, &xi) in x.iter().enumerate() {
        acc += xi * xi * (i as f64 + 1.0);
    }
    acc
}

const X0: [f64; D] = [0.7, -0.4, 0.5];
const THETA: [f64; 2] = [1.3, 0.8];

struct Grads {
    x0: [f64; D],
    theta: [f64; 2],
    report: ChainReport<f64>,
}

fn store_all(n: usize) -> Grads {
    let mut mem = memory(4096 + n * 64 * Tape::<f64>::bytes_per_record());
    let mut g = Grads {
        x0: [0.0; D],
        theta: [0.0; 2],
        report: ChainReport {
            loss: 0.0,
            steps: 0,
            advances: 0,
            recorded: 0,
            workspace_bytes: 0,
            step_bytes: 0,
            peak_bytes: 0,
        },
    };
    g.report = chain_gradient_store_all(
        &mut mem,
        n,
        &X0,
        &THETA,
        Nonlinear::new(false),
        loss,
        &mut g.x0,
        &mut g.theta,
    )
    .unwrap();
    g
}

fn checkpointed(n: usize, s: usize, step: &mut Nonlinear, bytes: usize) -> Result<Grads> {
    let mut mem = memory(bytes);
    let mut x0 = [0.0; D];
    let mut theta = [0.0; 2];
    let report = chain_gradient(&mut mem, n, s, &X0, &THETA, step, loss, &mut x0, &mut theta)?;
    Ok(Grads { x0, theta, report })
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn assert_same(a: &Grads, b: &Grads, what: &str) {
    assert_eq!(bits(&a.x0), bits(&b.x0), "{what}: ∂/∂x0");
    assert_eq!(bits(&a.theta), bits(&b.theta), "{what}: ∂/∂θ");
    assert_eq!(
        a.report.loss.to_bits(),
        b.report.loss.to_bits(),
        "{what}: loss"
    );
}

/// `full`, or `small` under Miri, which runs a step some thousand times slower: there
/// the tests run the same kinds of chains, shorter.
const fn sized(full: usize, small: usize) -> usize {
    if cfg!(miri) {
        small
    } else {
        full
    }
}

/// The chains the bitwise comparison runs: under Miri, the first ten (up to n = 37).
fn cases() -> &'static [(usize, usize)] {
    &CASES[..sized(CASES.len(), 10)]
}

const CASES: [(usize, usize); 14] = [
    (1, 1),
    (1, 0),
    (2, 1),
    (5, 1),
    (5, 2),
    (10, 3),
    (10, 10),
    (10, 20),
    (11, 10),
    (37, 4),
    (100, 2),
    (100, 5),
    (100, 64),
    (333, 7),
];

#[test]
fn checkpointed_gradients_equal_store_everything_bitwise() {
    for plain in [false, true] {
        for &(n, s) in cases() {
            let reference = store_all(n);
            let mut step = Nonlinear::new(plain);
            let got = checkpointed(n, s, &mut step, 1 << 16).unwrap();
            let what = format!("n = {n}, s = {s}, plain = {plain}");
            assert_same(&got, &reference, &what);
            let r = got.report;
            assert_eq!(r.steps, n, "{what}");
            assert_eq!(r.recorded, n, "{what}");
            assert_eq!(Some(r.advances), min_forward_steps(n, s), "{what}");
            // Every call accounted for: advances, turns, and the probe.
            if plain {
                assert_eq!(step.evaluations, r.advances, "{what}");
                assert_eq!(step.calls, n + 1, "{what}");
            } else {
                assert_eq!(step.calls, r.advances + n + 1, "{what}");
            }
            assert!(r.peak_bytes <= 1 << 16);
            assert!(r.peak_bytes >= r.workspace_bytes + r.step_bytes);
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let (n, s) = (sized(200, 30), 3);
    let mut step = Nonlinear::new(true);
    let got = checkpointed(n, s, &mut step, 1 << 16).unwrap();
    let run = |x0: &[f64], theta: &[f64]| {
        let (mut x, mut next) = (x0.to_vec(), vec![0.0; D]);
        for _ in 0..n {
            step_value(&x, theta, &mut next);
            std::mem::swap(&mut x, &mut next);
        }
        loss_value(&x, theta)
    };
    assert!((got.report.loss - run(&X0, &THETA)).abs() <= 1e-14 * got.report.loss.abs());
    let eps = 1e-6;
    for i in 0..D {
        let (mut plus, mut minus) = (X0, X0);
        plus[i] += eps;
        minus[i] -= eps;
        let fd = (run(&plus, &THETA) - run(&minus, &THETA)) / (2.0 * eps);
        let err = (fd - got.x0[i]).abs() / got.x0[i].abs().max(1e-3);
        assert!(err < 1e-7, "∂/∂x0[{i}]: {} vs fd {fd}", got.x0[i]);
    }
    for j in 0..2 {
        let (mut plus, mut minus) = (THETA, THETA);
        plus[j] += eps;
        minus[j] -= eps;
        let fd = (run(&X0, &plus) - run(&X0, &minus)) / (2.0 * eps);
        let err = (fd - got.theta[j]).abs() / got.theta[j].abs().max(1e-3);
        assert!(err < 1e-7, "∂/∂θ[{j}]: {} vs fd {fd}", got.theta[j]);
    }
}

#[test]
fn a_chain_of_no_steps_is_the_loss_gradient() {
    let mut step = Nonlinear::new(false);
    let got = checkpointed(0, 0, &mut step, 4096).unwrap();
    assert_eq!(step.calls, 0);
    assert_eq!(got.x0, [2.0 * 0.7 + 1.3, 4.0 * -0.4, 6.0 * 0.5]);
    assert_eq!(got.theta, [0.7, 0.0]);
    assert_same(&got, &store_all(0), "n = 0");
}

#[test]
fn too_small_memory_fails_before_any_work() {
    let n = sized(1000, 60);
    // Not even the workspace.
    let mut step = Nonlinear::new(false);
    let err = checkpointed(n, 10, &mut step, 64).err().unwrap();
    assert!(
        matches!(err, Error::OutOfMemory { needed, free: 64 } if needed > 64),
        "{err:?}"
    );
    assert_eq!(step.calls, 0);
    // The workspace, but not one step: at most the probe ran.
    let full = checkpointed(n, 10, &mut Nonlinear::new(false), 1 << 16)
        .unwrap()
        .report;
    let bytes = full.workspace_bytes + full.step_bytes / 2;
    let mut step = Nonlinear::new(false);
    let err = checkpointed(n, 10, &mut step, bytes).err().unwrap();
    match err {
        Error::OutOfMemory { needed, free } => {
            assert_eq!(free, bytes);
            assert!(needed > bytes, "{needed} <= {bytes}");
            assert!(needed <= full.workspace_bytes + full.step_bytes + 64);
        }
        other => panic!("{other:?}"),
    }
    assert!(step.calls <= 1, "{} calls", step.calls);
    // The error text says what to do.
    assert!(err.to_string().contains("needed"));
    // The peak the successful run reported is enough (up to alignment slack).
    let mut step = Nonlinear::new(false);
    checkpointed(n, 10, &mut step, full.peak_bytes + 16).unwrap();
}

#[test]
fn peak_memory_does_not_grow_with_the_chain() {
    let (n_short, n_long) = (sized(100, 20), sized(10_000, 400));
    let short = checkpointed(n_short, 5, &mut Nonlinear::new(true), 1 << 16)
        .unwrap()
        .report;
    let long = checkpointed(n_long, 5, &mut Nonlinear::new(true), 1 << 16)
        .unwrap()
        .report;
    assert_eq!(short.peak_bytes, long.peak_bytes);
    assert_eq!(Some(long.advances), min_forward_steps(n_long, 5));
    // The store-everything tape for the same chain is far larger.
    let all = store_all(n_long).report;
    assert!(all.peak_bytes > sized(100, 3) * long.peak_bytes);
}

/// Advances an online chain of `n` steps costs: `Online`'s own count (forward sweep
/// to x_{n−1}, then the reversal) plus the last forward step.
fn online_advances(n: usize, s: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let mut online = Online::new(s).unwrap();
    for _ in 0..n - 1 {
        online.advance().unwrap();
    }
    let reversal: usize = online
        .finish(n)
        .unwrap()
        .map(|a| match a {
            Action::Advance { from, to } => to - from,
            _ => 0,
        })
        .sum();
    (n - 1) + reversal + 1
}

#[test]
fn online_gradients_equal_store_everything() {
    for s in [1, 2, 5] {
        for &n in &[0, 1, 2, 3, 10, 57, 200][..sized(7, 5)] {
            let reference = store_all(n);
            let mut mem = memory(1 << 16);
            let (mut x0, mut theta) = ([0.0; D], [0.0; 2]);
            let mut step = Nonlinear::new(n % 2 == 0);
            let mut seen = Vec::new();
            let report = chain_gradient_online(
                &mut mem,
                s,
                &X0,
                &THETA,
                &mut step,
                |k, x: &[f64]| {
                    assert!(x.iter().all(|v| v.is_finite()));
                    seen.push(k);
                    k == n
                },
                loss,
                &mut x0,
                &mut theta,
            )
            .unwrap();
            let what = format!("online n = {n}, s = {s}");
            assert_same(&Grads { x0, theta, report }, &reference, &what);
            assert_eq!(report.steps, n, "{what}");
            assert_eq!(report.recorded, n, "{what}");
            assert_eq!(report.advances, online_advances(n, s), "{what}");
            assert_eq!(seen, (0..=n).collect::<Vec<_>>(), "{what}");
        }
    }
}

#[test]
fn online_memory_is_bounded_by_its_slots() {
    let run = |n: usize| {
        let mut mem = memory(1 << 16);
        let (mut x0, mut theta) = ([0.0; D], [0.0; 2]);
        chain_gradient_online(
            &mut mem,
            4,
            &X0,
            &THETA,
            Nonlinear::new(true),
            |k, _: &[f64]| k == n,
            loss,
            &mut x0,
            &mut theta,
        )
        .unwrap()
        .peak_bytes
    };
    assert_eq!(run(50), run(sized(5000, 400)));
}

#[test]
fn closures_record_steps() {
    // x_{k+1} = x_k · θ, loss = x_n: ∂/∂x0 = θⁿ, ∂/∂θ = n·θⁿ⁻¹·x0.
    let mut mem = memory(1 << 12);
    let (mut gx, mut gt) = ([0.0], [0.0]);
    let report = chain_gradient(
        &mut mem,
        6,
        2,
        &[2.0],
        &[1.5],
        step_fn(
            |tape: &Tape<'_, f64>, _k, x: &[VarId], p: &[VarId], next: &mut [VarId]| {
                next[0] = tape.binary_id(autodiff_core::Op::Mul, x[0], p[0]);
            },
        ),
        |_tape: &Tape<'_, f64>, x: &[VarId], _p: &[VarId]| x[0],
        &mut gx,
        &mut gt,
    )
    .unwrap();
    assert_eq!(report.loss, 2.0 * 1.5f64.powi(6));
    assert_eq!(gx[0], 1.5f64.powi(6));
    assert!((gt[0] - 6.0 * 1.5f64.powi(5) * 2.0).abs() < 1e-12);
}

#[test]
fn bad_arguments_and_failing_steps_are_reported() {
    let mut mem = memory(1 << 14);
    let (mut gx, mut gt) = ([0.0; D], [0.0; 2]);
    let mut run = |n: usize, s: usize, step: &mut dyn Step<f64>, gt: &mut [f64]| {
        chain_gradient(&mut mem, n, s, &X0, &THETA, step, loss, &mut gx, gt)
    };
    assert!(matches!(
        run(5, 0, &mut Nonlinear::new(false), &mut gt),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        run(5, 65, &mut Nonlinear::new(false), &mut gt),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        run(5, 2, &mut Nonlinear::new(false), &mut [0.0; 3]),
        Err(Error::LengthMismatch { .. })
    ));
    // A step that leaves a component unset.
    let mut lazy = step_fn(|_: &Tape<'_, f64>, _, _: &[VarId], _: &[VarId], _: &mut [VarId]| {});
    assert!(matches!(
        run(5, 2, &mut lazy, &mut gt),
        Err(Error::InvalidArgument(_))
    ));
    // A step that fails at k = 3 (after the probe): its error comes back.
    struct Failing;
    impl Step<f64> for Failing {
        fn record(
            &mut self,
            tape: &Tape<'_, f64>,
            k: usize,
            state: &[VarId],
            _: &[VarId],
            next: &mut [VarId],
        ) -> Result<()> {
            if k == 3 {
                return Err(Error::Backend("step 3"));
            }
            next.copy_from_slice(&state[..D]);
            let _ = tape;
            Ok(())
        }
    }
    assert_eq!(
        run(5, 2, &mut Failing, &mut gt).err(),
        Some(Error::Backend("step 3"))
    );
    // A sticky tape error inside the step.
    let mut stale = step_fn(
        |tape: &Tape<'_, f64>, _, _: &[VarId], _: &[VarId], next: &mut [VarId]| {
            // A handle of the current generation past the end of the tape.
            let bad = VarId {
                index: 1 << 20,
                ..tape.constant_id(0.0)
            };
            next.fill(tape.unary_id(autodiff_core::Op::Sin, bad));
        },
    );
    assert!(run(5, 2, &mut stale, &mut gt).is_err());
}

#[test]
fn a_tape_the_caller_made_gives_the_same_gradients_and_counts() {
    for &(n, s) in &[(0, 1), (1, 1), (10, 2), (57, 3), (100, 5)][..sized(5, 3)] {
        let plain = checkpointed(n, s, &mut Nonlinear::new(false), 1 << 14).unwrap();
        let mut workspace = memory(workspace_bytes::<f64>(D, 2, s).unwrap());
        let mut arena = memory(1 << 14);
        let mut tape = Tape::<f64>::new(&mut arena).unwrap();
        // Whatever the tape held before is dropped by the driver.
        let _ = tape.input(1.0);
        let (mut x0, mut theta) = ([0.0; D], [0.0; 2]);
        let report = chain_gradient_on_tape(
            &mut tape,
            &mut workspace,
            n,
            s,
            &X0,
            &THETA,
            Nonlinear::new(false),
            loss,
            &mut x0,
            &mut theta,
        )
        .unwrap();
        let what = format!("on a tape, n = {n}, s = {s}");
        assert_same(&Grads { x0, theta, report }, &plain, &what);
        assert_eq!(report.advances, plain.report.advances, "{what}");
        assert_eq!(report.step_bytes, plain.report.step_bytes, "{what}");

        let (mut x0, mut theta) = ([0.0; D], [0.0; 2]);
        let report = chain_gradient_online_on_tape(
            &mut tape,
            &mut workspace,
            s,
            &X0,
            &THETA,
            Nonlinear::new(true),
            |k, _: &[f64]| k == n,
            loss,
            &mut x0,
            &mut theta,
        )
        .unwrap();
        let what = format!("online on a tape, n = {n}, s = {s}");
        assert_same(&Grads { x0, theta, report }, &plain, &what);
        assert_eq!(report.advances, online_advances(n, s), "{what}");
    }
    // A workspace one byte short is an up-front memory error.
    let mut workspace = memory(workspace_bytes::<f64>(D, 2, 2).unwrap() - 64);
    let mut arena = memory(1 << 14);
    let mut tape = Tape::<f64>::new(&mut arena).unwrap();
    let (mut x0, mut theta) = ([0.0; D], [0.0; 2]);
    let result = chain_gradient_on_tape(
        &mut tape,
        &mut workspace,
        10,
        2,
        &X0,
        &THETA,
        Nonlinear::new(false),
        loss,
        &mut x0,
        &mut theta,
    );
    assert!(matches!(result, Err(Error::OutOfMemory { .. })));
}
