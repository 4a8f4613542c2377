//! Vector forward and reverse mode (several directions per sweep, arbitrary seed
//! matrices) and dense Hessians by vector forward over reverse: checked against the
//! one-direction sweeps, central finite differences and the dual-number tape.

mod common;

use autodiff_core::{Dual, Error, Tape, Var, VarId};
use common::{assert_close, memory, Rng};

/// A seeded random program over `n` inputs with `m` outputs, every op on a safe domain.
/// Returns the inputs and the outputs.
pub fn random_program(
    tape: &Tape<'_, f64>,
    rng: &mut Rng,
    n: usize,
    steps: usize,
    m: usize,
) -> (Vec<VarId>, Vec<VarId>) {
    let inputs: Vec<VarId> = (0..n)
        .map(|_| tape.input(rng.uniform(0.5, 1.5)).id())
        .collect();
    let mut pool = inputs.clone();
    let var = |id| autodiff_core::Var::from_id(tape, id);
    for _ in 0..steps {
        let a = var(pool[rng.below(0, pool.len())]);
        let b = var(pool[rng.below(0, pool.len())]);
        let y = match rng.below(0, 10) {
            0 => a + b,
            1 => a * b,
            2 => a - 0.5 * b,
            3 => (a * 0.3).sin() + b,
            4 => a / (b * b + 1.0),
            5 => (a * 0.2).exp() * b,
            6 => (a * a + 1.0).ln(),
            7 => a.hypot(b),
            8 => (a * 0.5).tanh() - b.sqrt().max(a),
            _ => a.powi(3) * 0.1 + b.atan2(a),
        };
        pool.push(y.id());
    }
    let outputs = (0..m).map(|i| pool[pool.len() - 1 - i]).collect();
    (inputs, outputs)
}

/// Row-major `rows × cols` of uniform entries.
fn matrix(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f64> {
    (0..rows * cols).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

#[test]
fn vector_forward_equals_one_jvp_per_direction() {
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let mut rng = Rng::seeded("vector_forward");
    let (n, m, p) = (6, 4, 5);
    let (_, outputs) = random_program(&tape, &mut rng, n, 60, m);
    let seeds = matrix(&mut rng, n, p);
    let mut y = vec![0.0; m * p];
    tape.forward_vector(&outputs, &seeds, p, &mut y).unwrap();
    for j in 0..p {
        let column: Vec<f64> = (0..n).map(|k| seeds[k * p + j]).collect();
        tape.jvp(&column).unwrap();
        for (r, &output) in outputs.iter().enumerate() {
            assert_close("J·x", y[r * p + j], tape.tangent(output).unwrap(), 1e-13);
        }
    }
}

#[test]
fn vector_reverse_equals_one_vjp_per_direction_and_finite_differences() {
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let mut rng = Rng::seeded("vector_reverse");
    let (n, m, q) = (5, 3, 4);
    let (inputs, outputs) = random_program(&tape, &mut rng, n, 50, m);
    let x: Vec<f64> = inputs.iter().map(|&i| tape.value(i).unwrap()).collect();
    let weights = matrix(&mut rng, q, m);
    let mut z = vec![0.0; q * n];
    tape.reverse_vector(&outputs, &weights, q, &mut z).unwrap();
    let mut grads = vec![0.0; n];
    for j in 0..q {
        tape.vjp(&outputs, &weights[j * m..(j + 1) * m]).unwrap();
        for k in 0..n {
            grads[k] = tape.grad(inputs[k]).unwrap();
            assert_close("u·J", z[j * n + k], grads[k], 1e-13);
        }
        // Central differences of u·f along each input, by replay.
        for k in 0..n {
            let weighted = |h: f64| {
                let mut at = x.clone();
                at[k] += h;
                tape.replay(&at).unwrap();
                (0..m)
                    .map(|r| weights[j * m + r] * tape.value(outputs[r]).unwrap())
                    .sum::<f64>()
            };
            let fd = (weighted(1e-6) - weighted(-1e-6)) / 2e-6;
            assert_close("u·J against differences", z[j * n + k], fd, 1e-6);
        }
        tape.replay(&x).unwrap();
    }
}

#[test]
fn dense_hessian_matches_the_dual_tape_and_differences_of_the_gradient() {
    let mut rng = Rng::seeded("dense_hessian");
    let n = 5;
    let x: Vec<f64> = (0..n).map(|_| rng.uniform(0.5, 1.5)).collect();
    // f = Σ sin(x_k x_{k+1}) + x_0² x_4 / (1 + x_2²) + exp(0.3 x_1) x_3.
    fn f<'t>(v: &[autodiff_core::Var<'t, f64>]) -> autodiff_core::Var<'t, f64> {
        let mut s = v[0] * v[0] * v[4] / (v[2] * v[2] + 1.0) + (v[1] * 0.3).exp() * v[3];
        for k in 0..v.len() - 1 {
            s = s + (v[k] * v[k + 1]).sin();
        }
        s
    }
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let v: Vec<_> = x.iter().map(|&xi| tape.input(xi)).collect();
    let out = f(&v).id();
    let mut h = vec![0.0; n * n];
    tape.hessian(&[out], &[1.0], &mut h).unwrap();

    let mut dual_mem = memory(1 << 16);
    let dual = Tape::<Dual<f64>>::new(&mut dual_mem).unwrap();
    let dv: Vec<_> = x.iter().map(|&xi| dual.input(Dual::constant(xi))).collect();
    let dout = f_dual(&dv).id();
    let (mut g, mut hv) = (vec![0.0; n], vec![0.0; n]);
    for j in 0..n {
        let e: Vec<f64> = (0..n).map(|k| f64::from(u8::from(k == j))).collect();
        dual.hessian_vector_product(dout, &x, &e, &mut g, &mut hv)
            .unwrap();
        for i in 0..n {
            assert_close("H against the dual tape", h[i * n + j], hv[i], 1e-12);
            assert_close("H symmetric", h[i * n + j], h[j * n + i], 1e-12);
        }
    }
    // Differences of the gradient.
    let grad_at = |at: &[f64]| {
        tape.replay(at).unwrap();
        let mut g = vec![0.0; n];
        tape.gradient_into(out, &mut g).unwrap();
        g
    };
    for j in 0..n {
        let (mut up, mut down) = (x.clone(), x.clone());
        up[j] += 1e-6;
        down[j] -= 1e-6;
        let (gu, gd) = (grad_at(&up), grad_at(&down));
        for i in 0..n {
            assert_close(
                "H against differences",
                h[i * n + j],
                (gu[i] - gd[i]) / 2e-6,
                1e-6,
            );
        }
    }
}

fn f_dual<'t>(v: &[autodiff_core::Var<'t, Dual<f64>>]) -> autodiff_core::Var<'t, Dual<f64>> {
    let c = |x: f64| v[0].tape().constant(Dual::constant(x));
    let mut s = v[0] * v[0] * v[4] / (v[2] * v[2] + c(1.0)) + (v[1] * c(0.3)).exp() * v[3];
    for k in 0..v.len() - 1 {
        s = s + (v[k] * v[k + 1]).sin();
    }
    s
}

#[test]
fn hessian_product_of_a_weighted_sum_is_the_weighted_sum_of_hessians() {
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let mut rng = Rng::seeded("weighted_hessian");
    let (n, m, p) = (4, 3, 3);
    let (_, outputs) = random_program(&tape, &mut rng, n, 40, m);
    let weights = [0.7, -1.3, 2.0];
    let seeds = matrix(&mut rng, n, p);
    let mut combined = vec![0.0; n * p];
    tape.hessian_product(&outputs, &weights, &seeds, p, &mut combined)
        .unwrap();
    let mut sum = vec![0.0; n * p];
    for (r, &output) in outputs.iter().enumerate() {
        let mut part = vec![0.0; n * p];
        tape.hessian_product(&[output], &[1.0], &seeds, p, &mut part)
            .unwrap();
        for (s, v) in sum.iter_mut().zip(&part) {
            *s += weights[r] * v;
        }
    }
    for (got, want) in combined.iter().zip(&sum) {
        assert_close("H(Σ w f)·X", *got, *want, 1e-12);
    }
}

#[test]
fn wrong_lengths_and_stale_handles_are_errors_that_leave_the_tape_usable() {
    let mut mem = memory(1 << 16);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(1.0);
    let y = tape.input(2.0);
    let f = (x * y).id();
    let mut out = [0.0; 2];
    assert!(matches!(
        tape.forward_vector(&[f], &[1.0; 3], 2, &mut out),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        tape.reverse_vector(&[f], &[1.0; 2], 2, &mut [0.0; 3]),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        tape.hessian(&[f], &[1.0], &mut [0.0; 3]),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        tape.forward_vector(&[f], &[1.0, 0.0, 0.0, 1.0], 2, &mut [0.0; 3]),
        Err(Error::LengthMismatch { .. })
    ));
    tape.forward_vector(&[f], &[1.0, 0.0, 0.0, 1.0], 2, &mut out)
        .unwrap();
    assert_eq!(out, [2.0, 1.0]);
    tape.reset();
    let _ = tape.input(1.0);
    assert_eq!(
        tape.forward_vector(&[f], &[1.0], 1, &mut [0.0]),
        Err(Error::StaleHandle)
    );
    // Scratch that does not fit is an error, not a panic, and the tape goes on.
    let mut small = memory(256);
    let tape = Tape::<f64>::new(&mut small).unwrap();
    let mut v = tape.input(1.0);
    for _ in 0..8 {
        v = v * v;
    }
    let mut h = [0.0];
    assert!(matches!(
        tape.hessian(&[v.id()], &[1.0], &mut h),
        Err(Error::OutOfMemory { .. })
    ));
    tape.status().unwrap();
}

/// A chain through inputs at `point`, then their sum: every input stays alive to the
/// end, so that a vector sweep with planned rows (`lane_rows.rs`) needs a row for each
/// at once.
fn record_chain_then_sum<'t>(tape: &'t Tape<'t, f64>, point: &[f64]) -> Var<'t, f64> {
    let x: Vec<_> = point.iter().map(|&v| tape.input(v)).collect();
    let mut y = x[0];
    for &xi in &x[1..] {
        y = (xi * y).sin() + xi;
    }
    x.iter().fold(y, |sum, &xi| sum + xi)
}

/// The point [`record_chain_then_sum`] records at unless told otherwise.
fn chain_point(n: usize) -> Vec<f64> {
    (0..n).map(|i| 0.3 + 1e-4 * i as f64).collect()
}

/// A vector sweep wide and long enough to plan its rows takes two scratch blocks in
/// turn, the plan's and then the rows': when either does not fit, it fails with
/// `OutOfMemory`, writes nothing, gives back what it took, and the tape's other sweeps
/// run.
#[test]
fn a_planned_vector_sweep_that_does_not_fit_fails_and_leaves_the_tape_usable() {
    let (n, p) = (2000, 26);
    let len = {
        let mut roomy = memory(1 << 20);
        let tape = Tape::<f64>::new(&mut roomy).unwrap();
        record_chain_then_sum(&tape, &chain_point(n));
        tape.len()
    };
    let records = Tape::<f64>::bytes_for_records(len).unwrap();
    // The plan's scratch: its stack of rows given back, at most one a record.
    let plan = len * core::mem::size_of::<u32>();
    // The rows, a row of 26 lanes for each input at least, are several times the plan.
    assert!(n * p * 8 > 4 * plan);
    // No room for the plan; room for the plan but not for the rows.
    for free in [64, plan + 256] {
        let mut mem = memory(records + free + 64);
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let y = record_chain_then_sum(&tape, &chain_point(n)).id();
        tape.status().unwrap();
        assert_eq!(tape.len(), len);
        let seeds = vec![1.0; n * p];
        let mut out = vec![7.0; p];
        let used = tape.used_bytes();
        match tape.forward_vector(&[y], &seeds, p, &mut out) {
            Err(Error::OutOfMemory { needed, .. }) => assert!(needed > free, "{needed}"),
            other => panic!("{free} bytes free: {other:?}"),
        }
        assert!(out.iter().all(|&v| v == 7.0), "nothing written");
        assert_eq!(tape.used_bytes(), used, "the scratch taken was given back");
        tape.status().unwrap();
        // Where the plan fitted, it was made, and holds the adjoint slots.
        assert_eq!(tape.grad(y).is_err(), free > plan, "{free} bytes free");
        // The sweeps that need no scratch run: a tangent along every input is the sum
        // of the gradient.
        let mut gradient = vec![0.0; n];
        tape.gradient_into(y, &mut gradient).unwrap();
        tape.jvp(&vec![1.0; n]).unwrap();
        assert_close(
            "J·1",
            tape.tangent(y).unwrap(),
            gradient.iter().sum(),
            1e-12,
        );
    }
}

/// A planned vector sweep leaves its plan in the adjoint slots, where the next sweep for
/// the same outputs finds it, after a replay at another point too: the Jacobian there is
/// that of a tape recorded at that point, to the bit. Reading the slots as gradients or
/// tangents fails until a backward or tangent sweep runs; a new record makes a new plan.
#[test]
fn a_planned_vector_sweep_keeps_its_plan_for_the_next_point() {
    let (n, p) = (2000, 26);
    let mut rng = Rng::seeded("planned sweep, next point");
    let seeds = matrix(&mut rng, n, p);
    let point: Vec<f64> = (0..n).map(|_| rng.uniform(0.2, 0.6)).collect();
    // `record_chain_then_sum` at `point`, on its own tape, and its Jacobian.
    let fresh = |extra: bool| {
        let mut mem = memory(1 << 20);
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let mut y = record_chain_then_sum(&tape, &point);
        if extra {
            y = y * y;
        }
        let mut out = vec![0.0; p];
        tape.forward_vector(&[y.id()], &seeds, p, &mut out).unwrap();
        let mut gradient = vec![0.0; n];
        tape.gradient_into(y.id(), &mut gradient).unwrap();
        (out, gradient)
    };
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let y = record_chain_then_sum(&tape, &chain_point(n)).id();
    let mut first = vec![0.0; p];
    tape.forward_vector(&[y], &seeds, p, &mut first).unwrap();
    for refused in [tape.grad(y), tape.tangent(y)] {
        assert!(
            matches!(refused, Err(Error::InvalidArgument(m)) if m.contains("planned forward_vector"))
        );
    }
    tape.replay(&point).unwrap();
    let mut out = vec![0.0; p];
    tape.forward_vector(&[y], &seeds, p, &mut out).unwrap();
    let (expected, expected_gradient) = fresh(false);
    assert_eq!(bits(&out), bits(&expected));
    assert_ne!(bits(&out), bits(&first), "another point");
    let mut gradient = vec![0.0; n];
    tape.gradient_into(y, &mut gradient).unwrap();
    assert_eq!(bits(&gradient), bits(&expected_gradient));
    // One more record, and the sweep from it: a new plan.
    let z = (Var::from_id(&tape, y) * Var::from_id(&tape, y)).id();
    tape.forward_vector(&[y], &seeds, p, &mut out).unwrap();
    tape.forward_vector(&[z], &seeds, p, &mut out).unwrap();
    assert_eq!(bits(&out), bits(&fresh(true).0));
}

/// `forward_vector_at` is `replay`, then `forward_vector`, to the bit: with a row per
/// record (3 directions), with planned rows (26, on a tape past the cache, made once and
/// found again at the next point), and on a tape with tensors (which replays, then sweeps
/// lane by lane). Afterwards the values are the replayed ones. A wrong input count, or
/// scratch that does not fit, writes nothing and leaves the values as they were.
#[test]
fn forward_vector_at_is_replay_then_forward_vector() {
    let n = 2000;
    let mut rng = Rng::seeded("forward_vector_at");
    let points: Vec<Vec<f64>> = (0..2)
        .map(|_| (0..n).map(|_| rng.uniform(0.2, 0.6)).collect())
        .collect();
    for p in [3, 26] {
        let seeds = matrix(&mut rng, n, p);
        let (mut fused_mem, mut apart_mem) = (memory(1 << 20), memory(1 << 20));
        let fused = Tape::<f64>::new(&mut fused_mem).unwrap();
        let apart = Tape::<f64>::new(&mut apart_mem).unwrap();
        let y = record_chain_then_sum(&fused, &chain_point(n)).id();
        let y_apart = record_chain_then_sum(&apart, &chain_point(n)).id();
        for point in &points {
            let (mut at, mut then) = (vec![0.0; p], vec![0.0; p]);
            fused
                .forward_vector_at(point, &[y], &seeds, p, &mut at)
                .unwrap();
            apart.replay(point).unwrap();
            apart
                .forward_vector(&[y_apart], &seeds, p, &mut then)
                .unwrap();
            assert_eq!(bits(&at), bits(&then), "{p} directions");
            assert_eq!(
                fused.value(y).unwrap().to_bits(),
                apart.value(y_apart).unwrap().to_bits()
            );
        }
        // Bad input: nothing written, nothing replayed.
        let value = fused.value(y).unwrap();
        let mut out = vec![7.0; p];
        assert!(matches!(
            fused.forward_vector_at(&points[0][1..], &[y], &seeds, p, &mut out),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(out.iter().all(|&v| v == 7.0));
        assert_eq!(fused.value(y).unwrap(), value);
        // The gradient at the last point, as a tape recorded there gives it.
        let mut gradient = vec![0.0; n];
        fused.gradient_into(y, &mut gradient).unwrap();
        let mut expected = vec![0.0; n];
        apart.gradient_into(y_apart, &mut expected).unwrap();
        assert_eq!(bits(&gradient), bits(&expected));
    }
    // Scratch that does not fit: an arena with room for the records and little more.
    let len = {
        let mut roomy = memory(1 << 20);
        let tape = Tape::<f64>::new(&mut roomy).unwrap();
        record_chain_then_sum(&tape, &chain_point(n));
        tape.len()
    };
    let mut tight = memory(Tape::<f64>::bytes_for_records(len).unwrap() + 128);
    let tape = Tape::<f64>::new(&mut tight).unwrap();
    let y = record_chain_then_sum(&tape, &chain_point(n)).id();
    let value = tape.value(y).unwrap();
    let (seeds, mut out) = (vec![1.0; n * 3], vec![7.0; 3]);
    assert!(matches!(
        tape.forward_vector_at(&points[0], &[y], &seeds, 3, &mut out),
        Err(Error::OutOfMemory { .. })
    ));
    assert!(out.iter().all(|&v| v == 7.0));
    assert_eq!(tape.value(y).unwrap(), value);
    tape.status().unwrap();
}

/// On a tape with tensors `forward_vector_at` replays, then runs one sweep a direction:
/// against a replay and single tangent sweeps.
#[test]
fn forward_vector_at_on_a_tape_with_tensors_replays_then_sweeps_lane_by_lane() {
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (x, _, outputs) = scalars_times_a_tensor_sum(&tape);
    let seeds = [1.0, 0.5, -2.0, 0.0, 1.0, 3.0]; // 2 inputs × 3 directions
    let point = [0.25, 2.0];
    let mut out = [0.0; 6];
    tape.forward_vector_at(&point, &outputs, &seeds, 3, &mut out)
        .unwrap();
    assert_eq!(tape.value(x.id()).unwrap(), 0.25);
    assert_close(
        "f at the point",
        tape.value(outputs[0]).unwrap(),
        0.25 * 10.0 + 2f64.sin(),
        1e-14,
    );
    for j in 0..3 {
        tape.jvp(&[seeds[j], seeds[3 + j]]).unwrap();
        for (r, &o) in outputs.iter().enumerate() {
            assert_eq!(out[r * 3 + j].to_bits(), tape.tangent(o).unwrap().to_bits());
        }
    }
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// A direction that does not move `x` must not pick up `0 · ∞ = NaN` from `sqrt` at 0,
/// in any lane, forward or reverse (the one-direction sweeps' convention).
#[test]
fn zero_lanes_stay_zero_through_infinite_partials() {
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (x, y) = (tape.input(0.0), tape.input(2.0));
    let f = (x.sqrt() + y * y).id();
    let g = (x.sqrt() * y).id();
    // Directions: along y only, twice, and along x (which is infinite, honestly).
    let seeds = [0.0, 0.0, 1.0, 1.0, 3.0, 0.0];
    let mut out = [0.0; 6];
    tape.forward_vector(&[f, g], &seeds, 3, &mut out).unwrap();
    assert_eq!(&out[..2], &[4.0, 12.0]);
    assert!(out[2].is_infinite());
    assert_eq!(out[3..5], [0.0, 0.0]);
    // Reverse: weighting only f, d/dx is infinite and d/dy is 4; weighting nothing, zeros.
    let mut z = [0.0; 4];
    tape.reverse_vector(&[f, g], &[1.0, 0.0, 0.0, 0.0], 2, &mut z)
        .unwrap();
    assert!(z[0].is_infinite());
    assert_eq!(z[1..], [4.0, 0.0, 0.0]);
}

/// Two inputs `x = 1.5`, `y = −0.5` and the outputs `x·s + sin y` and `x·y·s` of the sum
/// `s = 10` of a recorded 2 × 2 tensor: a tape whose vector modes run lane by lane.
fn scalars_times_a_tensor_sum<'t>(
    tape: &'t Tape<'t, f64>,
) -> (Var<'t, f64>, Var<'t, f64>, [VarId; 2]) {
    let (x, y) = (tape.input(1.5), tape.input(-0.5));
    let s = tape.tensor(&[2, 2], &[1.0, 2.0, 3.0, 4.0]).sum().as_var();
    (x, y, [(x * s + y.sin()).id(), (x * y * s).id()])
}

/// On a tape with tensors the vector modes run one direction per sweep, through the
/// tensor records: a scalar times a tensor's sum, against one jvp and one vjp each.
#[test]
fn tapes_with_tensors_run_lane_by_lane_and_agree_with_single_sweeps() {
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (x, y, outputs) = scalars_times_a_tensor_sum(&tape);
    let seeds = [1.0, 0.5, -2.0, 0.0, 1.0, 3.0]; // 2 inputs × 3 directions
    let mut y_out = [0.0; 6];
    tape.forward_vector(&outputs, &seeds, 3, &mut y_out)
        .unwrap();
    for j in 0..3 {
        tape.jvp(&[seeds[j], seeds[3 + j]]).unwrap();
        for (r, &o) in outputs.iter().enumerate() {
            assert_close(
                "lane by lane J·x",
                y_out[r * 3 + j],
                tape.tangent(o).unwrap(),
                1e-14,
            );
        }
    }
    let weights = [1.0, 2.0, -1.0, 0.5]; // 2 directions × 2 outputs
    let mut z = [0.0; 4];
    tape.reverse_vector(&outputs, &weights, 2, &mut z).unwrap();
    for j in 0..2 {
        tape.vjp(&outputs, &weights[j * 2..j * 2 + 2]).unwrap();
        assert_close(
            "lane by lane u·J (x)",
            z[j * 2],
            tape.grad(x.id()).unwrap(),
            1e-14,
        );
        assert_close(
            "lane by lane u·J (y)",
            z[j * 2 + 1],
            tape.grad(y.id()).unwrap(),
            1e-14,
        );
    }
    assert!(matches!(
        tape.hessian(&outputs, &[1.0, 1.0], &mut [0.0; 4]),
        Err(Error::InvalidArgument(_))
    ));
}
