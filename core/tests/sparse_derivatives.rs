//! Sparse Jacobians and Hessians: exact patterns on hand-built structures, supersets on
//! random programs, optimal colour counts on banded and stencil problems, recovered
//! entries equal to the dense derivatives (and to finite differences), plans reused
//! across replays, and the errors of bad input.

mod common;

use autodiff_core::sparse::{JacobianMode, Ordering, SparseHessian, SparseJacobian};
use autodiff_core::{Error, Tape, Var, VarId};
use common::{assert_close, memory, Rng};

const ORDERINGS: [Ordering; 4] = [
    Ordering::Natural,
    Ordering::LargestFirst,
    Ordering::SmallestLast,
    Ordering::Saturation,
];
const MODES: [JacobianMode; 2] = [JacobianMode::Forward, JacobianMode::Reverse];

/// Memory for a plan: ample for these problems. A plan zeroes the memory it is given, so
/// it is kept small (Miri checks every word).
const PLAN_BYTES: usize = 1 << 18;

/// The pattern of a plan as (row, column) pairs.
fn pairs(starts: &[u32], columns: &[u32]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for r in 0..starts.len() - 1 {
        for &c in &columns[starts[r] as usize..starts[r + 1] as usize] {
            out.push((r, c as usize));
        }
    }
    out
}

/// Checks a Jacobian plan against the dense Jacobian at the tape's current point:
/// every entry outside the pattern is zero, every recovered entry equals the dense one.
/// Returns the number of colours.
fn check_jacobian(
    tape: &Tape<'_, f64>,
    outputs: &[VarId],
    x: &[f64],
    mode: JacobianMode,
    ordering: Ordering,
    exact: Option<&dyn Fn(usize, usize) -> bool>,
) -> usize {
    let (m, n) = (outputs.len(), tape.num_inputs());
    let mut plan_memory = memory(PLAN_BYTES);
    let plan = SparseJacobian::new(tape, outputs, mode, ordering, &mut plan_memory).unwrap();
    let pattern = pairs(plan.row_starts(), plan.column_indices());
    assert_eq!(pattern.len(), plan.nnz());
    let mut values = vec![0.0; plan.nnz()];
    plan.evaluate(tape, x, &mut values).unwrap();
    let mut dense = vec![0.0; m * n];
    tape.jacobian_rows(outputs, &mut dense).unwrap();
    let mut in_pattern = vec![false; m * n];
    for (e, &(r, c)) in pattern.iter().enumerate() {
        in_pattern[r * n + c] = true;
        assert_close("recovered entry", values[e], dense[r * n + c], 1e-12);
    }
    for r in 0..m {
        for c in 0..n {
            if let Some(exact) = exact {
                assert_eq!(in_pattern[r * n + c], exact(r, c), "pattern at ({r}, {c})");
            }
            if !in_pattern[r * n + c] {
                assert_eq!(
                    dense[r * n + c],
                    0.0,
                    "a nonzero outside the pattern at ({r}, {c})"
                );
            }
        }
    }
    // The colouring is a partial distance-2 one: entries of a row sit in distinct colours.
    let colour = plan.colouring();
    for r in 0..m {
        let row: Vec<_> = pattern.iter().filter(|p| p.0 == r).map(|p| p.1).collect();
        if mode == JacobianMode::Forward {
            for (i, &a) in row.iter().enumerate() {
                for &b in &row[i + 1..] {
                    assert_ne!(colour[a], colour[b], "columns {a} and {b} share row {r}");
                }
            }
        }
    }
    if mode == JacobianMode::Reverse {
        for c in 0..n {
            let rows: Vec<_> = pattern.iter().filter(|p| p.1 == c).map(|p| p.0).collect();
            for (i, &a) in rows.iter().enumerate() {
                for &b in &rows[i + 1..] {
                    assert_ne!(colour[a], colour[b], "rows {a} and {b} share column {c}");
                }
            }
        }
    }
    plan.colours()
}

fn inputs(tape: &Tape<'_, f64>, rng: &mut Rng, n: usize) -> (Vec<f64>, Vec<VarId>) {
    let x: Vec<f64> = (0..n).map(|_| rng.uniform(0.5, 1.5)).collect();
    let ids = x.iter().map(|&v| tape.input(v).id()).collect();
    (x, ids)
}

fn var<'t>(tape: &'t Tape<'t, f64>, id: VarId) -> Var<'t, f64> {
    Var::from_id(tape, id)
}

#[test]
fn banded_jacobian_has_an_exact_pattern_and_three_colours() {
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let n = 12;
    let (x, ids) = inputs(&tape, &mut Rng::seeded("banded"), n);
    let v = |i: usize| var(&tape, ids[i]);
    let outputs: Vec<VarId> = (0..n)
        .map(|i| {
            let mut y = v(i).exp();
            if i > 0 {
                y = y * v(i - 1);
            }
            if i + 1 < n {
                y = y + v(i + 1).sin();
            }
            y.id()
        })
        .collect();
    let band = |r: usize, c: usize| r.abs_diff(c) <= 1;
    for mode in MODES {
        for ordering in ORDERINGS {
            let colours = check_jacobian(&tape, &outputs, &x, mode, ordering, Some(&band));
            assert_eq!(colours, 3, "{mode:?} {ordering:?}");
        }
    }
}

/// The residual of a 2-D Bratu problem on a `k × k` grid (zero boundary).
fn stencil(tape: &Tape<'_, f64>, ids: &[VarId], k: usize) -> Vec<VarId> {
    let u = |i: usize, j: usize| var(tape, ids[i * k + j]);
    let mut outputs = Vec::new();
    for i in 0..k {
        for j in 0..k {
            let mut r = 4.0 * u(i, j) - 0.1 * u(i, j).exp();
            if i > 0 {
                r = r - u(i - 1, j);
            }
            if i + 1 < k {
                r = r - u(i + 1, j);
            }
            if j > 0 {
                r = r - u(i, j - 1);
            }
            if j + 1 < k {
                r = r - u(i, j + 1);
            }
            outputs.push(r.id());
        }
    }
    outputs
}

#[test]
fn five_point_stencil_jacobian_takes_five_colours() {
    // Under Miri (thousands of times slower) the smallest grid only.
    let sizes: &[usize] = if cfg!(miri) { &[5] } else { &[5, 9, 16] };
    for &k in sizes {
        let mut mem = memory(1 << 22);
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let (x, ids) = inputs(&tape, &mut Rng::seeded("stencil"), k * k);
        let outputs = stencil(&tape, &ids, k);
        let neighbours = |r: usize, c: usize| {
            let (ri, rj, ci, cj) = (r / k, r % k, c / k, c % k);
            ri.abs_diff(ci) + rj.abs_diff(cj) <= 1
        };
        for mode in MODES {
            for ordering in ORDERINGS {
                let colours =
                    check_jacobian(&tape, &outputs, &x, mode, ordering, Some(&neighbours));
                // A row holds five entries, so five is optimal; saturation order finds it.
                if ordering == Ordering::Saturation {
                    assert_eq!(colours, 5, "{k}×{k} {mode:?}");
                } else {
                    assert!(
                        (5..=7).contains(&colours),
                        "{k}×{k} {mode:?} {ordering:?}: {colours}"
                    );
                }
            }
        }
    }
}

#[test]
fn arrow_block_diagonal_and_dense_row_patterns_are_exact() {
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let n = 9;
    let (x, ids) = inputs(&tape, &mut Rng::seeded("arrow"), n);
    let v = |i: usize| var(&tape, ids[i]);
    // Arrow: row 0 reads everything, row i reads x0 and xi.
    let mut arrow = vec![(1..n).fold(v(0).sin(), |s, i| s + v(i) * v(i)).id()];
    arrow.extend((1..n).map(|i| (v(0) * v(i)).id()));
    let is_arrow = |r: usize, c: usize| r == 0 || c == 0 || r == c;
    assert_eq!(
        check_jacobian(
            &tape,
            &arrow,
            &x,
            JacobianMode::Forward,
            Ordering::SmallestLast,
            Some(&is_arrow)
        ),
        n
    );
    assert_eq!(
        check_jacobian(
            &tape,
            &arrow,
            &x,
            JacobianMode::Reverse,
            Ordering::SmallestLast,
            Some(&is_arrow)
        ),
        n
    );
    // Blocks of three.
    let blocks: Vec<VarId> = (0..n)
        .map(|i| {
            let b = i / 3 * 3;
            (v(b) * v(b + 1) + v(b + 2).cos() * v(i)).id()
        })
        .collect();
    let same_block = |r: usize, c: usize| r / 3 == c / 3;
    for mode in MODES {
        for ordering in ORDERINGS {
            let colours = check_jacobian(&tape, &blocks, &x, mode, ordering, Some(&same_block));
            assert_eq!(colours, 3);
        }
    }
    // A dense row over a diagonal: forward needs n colours, reverse two.
    let mut dense_row = vec![(1..n).fold(v(0), |s, i| s + v(i)).id()];
    dense_row.extend((1..n).map(|i| v(i).tanh().id()));
    let is_dense_row = |r: usize, c: usize| r == 0 || r == c;
    assert_eq!(
        check_jacobian(
            &tape,
            &dense_row,
            &x,
            JacobianMode::Forward,
            Ordering::Natural,
            Some(&is_dense_row)
        ),
        n
    );
    for ordering in ORDERINGS {
        assert_eq!(
            check_jacobian(
                &tape,
                &dense_row,
                &x,
                JacobianMode::Reverse,
                ordering,
                Some(&is_dense_row)
            ),
            2
        );
    }
}

/// A seeded random program: `m` outputs of `steps` random ops over `n` inputs.
fn random_program(
    tape: &Tape<'_, f64>,
    rng: &mut Rng,
    n: usize,
    steps: usize,
    m: usize,
) -> (Vec<f64>, Vec<VarId>) {
    let (x, ids) = inputs(tape, rng, n);
    let mut pool = ids.clone();
    let c = tape.constant(0.5).id();
    pool.push(c);
    for _ in 0..steps {
        let a = var(tape, pool[rng.below(0, pool.len())]);
        let b = var(tape, pool[rng.below(0, pool.len())]);
        let y = match rng.below(0, 9) {
            0 => a + b,
            1 => a * b,
            2 => a - b * 0.25,
            3 => (a * 0.3).sin(),
            4 => a / (b * b + 1.0),
            5 => (a * 0.2).exp(),
            6 => a.max(b),
            7 => a.hypot(b) + 0.1,
            _ => a.powi(2) * 0.5,
        };
        pool.push(y.id());
    }
    let outputs = (0..m).map(|_| pool[rng.below(n, pool.len())]).collect();
    (x, outputs)
}

#[test]
fn random_programs_have_superset_patterns_and_exact_recovered_jacobians() {
    for case in 0..if cfg!(miri) { 2 } else { 12 } {
        let mut rng = Rng::from_seed(1000 + case);
        let mut mem = memory(1 << 20);
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let (n, m) = (rng.below(1, 9), rng.below(1, 7));
        let (x, outputs) = random_program(&tape, &mut rng, n, 40, m);
        for mode in MODES {
            for ordering in ORDERINGS {
                check_jacobian(&tape, &outputs, &x, mode, ordering, None);
            }
        }
    }
}

#[test]
fn a_plan_is_reused_across_replays_and_matches_finite_differences() {
    let mut mem = memory(1 << 22);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let k = if cfg!(miri) { 4 } else { 6 };
    let mut rng = Rng::seeded("replays");
    let (_, ids) = inputs(&tape, &mut rng, k * k);
    let outputs = stencil(&tape, &ids, k);
    let mut plan_memory = memory(PLAN_BYTES);
    let plan = SparseJacobian::new(
        &tape,
        &outputs,
        JacobianMode::Forward,
        Ordering::SmallestLast,
        &mut plan_memory,
    )
    .unwrap();
    let n = k * k;
    let mut values = vec![0.0; plan.nnz()];
    for _ in 0..if cfg!(miri) { 1 } else { 3 } {
        let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        plan.evaluate(&tape, &x, &mut values).unwrap();
        let pattern = pairs(plan.row_starts(), plan.column_indices());
        for (e, &(r, c)) in pattern.iter().enumerate() {
            let residual = |h: f64| {
                let mut at = x.clone();
                at[c] += h;
                tape.replay(&at).unwrap();
                tape.value(outputs[r]).unwrap()
            };
            let fd = (residual(1e-6) - residual(-1e-6)) / 2e-6;
            assert_close("J against differences", values[e], fd, 1e-7);
        }
    }
    // Coordinates list the same entries.
    let (mut rows, mut columns) = (vec![0; plan.nnz()], vec![0; plan.nnz()]);
    plan.coordinates(&mut rows, &mut columns).unwrap();
    let pattern = pairs(plan.row_starts(), plan.column_indices());
    for (e, &(r, c)) in pattern.iter().enumerate() {
        assert_eq!((rows[e] as usize, columns[e] as usize), (r, c));
    }
    assert!(plan.peak_bytes() > 0 && plan.peak_bytes() <= PLAN_BYTES);
}

/// Checks a Hessian plan against the dense Hessian; returns the colour count.
fn check_hessian(
    tape: &Tape<'_, f64>,
    outputs: &[VarId],
    weights: &[f64],
    x: &[f64],
    ordering: Ordering,
    exact: Option<&dyn Fn(usize, usize) -> bool>,
) -> usize {
    let n = tape.num_inputs();
    let mut plan_memory = memory(PLAN_BYTES);
    let plan = SparseHessian::new(tape, outputs, ordering, &mut plan_memory).unwrap();
    let mut values = vec![0.0; plan.nnz()];
    plan.evaluate(tape, x, weights, &mut values).unwrap();
    let mut dense = vec![0.0; n * n];
    tape.hessian(outputs, weights, &mut dense).unwrap();
    let pattern = pairs(plan.row_starts(), plan.column_indices());
    let mut in_pattern = vec![false; n * n];
    for (e, &(r, c)) in pattern.iter().enumerate() {
        in_pattern[r * n + c] = true;
        assert_close(
            "recovered Hessian entry",
            values[e],
            dense[r * n + c],
            1e-10,
        );
    }
    for r in 0..n {
        for c in 0..n {
            assert_eq!(
                in_pattern[r * n + c],
                in_pattern[c * n + r],
                "symmetric pattern"
            );
            if let Some(exact) = exact {
                assert_eq!(
                    in_pattern[r * n + c],
                    exact(r, c),
                    "Hessian pattern at ({r}, {c})"
                );
            }
            if !in_pattern[r * n + c] {
                assert_eq!(
                    dense[r * n + c],
                    0.0,
                    "a nonzero outside the pattern at ({r}, {c})"
                );
            }
        }
    }
    assert_star_colouring(n, &in_pattern, plan.colouring());
    plan.colours()
}

/// Neighbours differ in colour, and no path on four vertices has only two colours.
fn assert_star_colouring(n: usize, adjacent: &[bool], colour: &[u32]) {
    let edge = |a: usize, b: usize| a != b && adjacent[a * n + b];
    for a in 0..n {
        for b in (0..n).filter(|&b| edge(a, b)) {
            assert_ne!(
                colour[a], colour[b],
                "neighbours {a} and {b} share a colour"
            );
            for c in (0..n).filter(|&c| c != a && edge(b, c)) {
                for d in (0..n).filter(|&d| d != b && d != a && edge(c, d)) {
                    let two = colour[a] == colour[c] && colour[b] == colour[d];
                    assert!(!two, "path {a}-{b}-{c}-{d} has two colours");
                }
            }
        }
    }
}

#[test]
fn chained_rosenbrock_hessian_is_tridiagonal_with_three_colours() {
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let n = 10;
    let (x, ids) = inputs(&tape, &mut Rng::seeded("rosenbrock"), n);
    let v = |i: usize| var(&tape, ids[i]);
    let mut f = tape.constant(0.0);
    for i in 0..n - 1 {
        let a = v(i + 1) - v(i) * v(i);
        let b = 1.0 - v(i);
        f = f + 100.0 * a * a + b * b;
    }
    let band = |r: usize, c: usize| r.abs_diff(c) <= 1;
    for ordering in ORDERINGS {
        assert_eq!(
            check_hessian(&tape, &[f.id()], &[1.0], &x, ordering, Some(&band)),
            3
        );
    }
}

#[test]
fn arrow_and_block_hessians_use_the_symmetry() {
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let n = 8;
    let (x, ids) = inputs(&tape, &mut Rng::seeded("arrow_hessian"), n);
    let v = |i: usize| var(&tape, ids[i]);
    // x0² · Σ xi: H00, H0i; a star colouring needs two colours (a distance-2 one, n).
    let arrow = (1..n).fold(tape.constant(0.0), |s, i| s + v(0) * v(0) * v(i));
    let is_arrow = |r: usize, c: usize| r == 0 || c == 0;
    for ordering in ORDERINGS {
        assert_eq!(
            check_hessian(&tape, &[arrow.id()], &[1.0], &x, ordering, Some(&is_arrow)),
            2
        );
    }
    // Two outputs, weighted: blocks of four from one, a diagonal from the other.
    let blocks = (0..n / 4).fold(tape.constant(0.0), |s, b| {
        s + (v(4 * b) * v(4 * b + 1) + v(4 * b + 2) * v(4 * b + 3)).exp()
    });
    let diagonal = (0..n).fold(tape.constant(0.0), |s, i| s + v(i).sin());
    let is_block = |r: usize, c: usize| r / 4 == c / 4;
    let colours = check_hessian(
        &tape,
        &[blocks.id(), diagonal.id()],
        &[0.5, -2.0],
        &x,
        Ordering::SmallestLast,
        Some(&is_block),
    );
    assert_eq!(colours, 4);
}

#[test]
fn random_hessians_are_supersets_and_recover_exactly() {
    for case in 0..if cfg!(miri) { 2 } else { 12 } {
        let mut rng = Rng::from_seed(2000 + case);
        let mut mem = memory(1 << 20);
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let (n, m) = (rng.below(1, 10), rng.below(1, 4));
        let (x, outputs) = random_program(&tape, &mut rng, n, 30, m);
        let weights: Vec<f64> = (0..m).map(|_| rng.uniform(-2.0, 2.0)).collect();
        for ordering in ORDERINGS {
            check_hessian(&tape, &outputs, &weights, &x, ordering, None);
        }
    }
}

#[test]
fn stale_and_foreign_plans_small_memory_and_wrong_lengths_are_errors() {
    let mut mem = memory(1 << 16);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let build = |tape: &Tape<'_, f64>| {
        let (x, y) = (tape.input(1.0), tape.input(2.0));
        [(x * y).id(), (x + y.sin()).id()]
    };
    let outputs = build(&tape);
    let mut plan_memory = memory(4096);
    let plan = SparseJacobian::new(
        &tape,
        &outputs,
        JacobianMode::Forward,
        Ordering::Natural,
        &mut plan_memory,
    )
    .unwrap();
    let mut values = vec![0.0; plan.nnz()];
    plan.evaluate(&tape, &[1.0, 2.0], &mut values).unwrap();
    assert!(matches!(
        plan.evaluate(&tape, &[1.0, 2.0], &mut values[1..]),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        plan.evaluate(&tape, &[1.0], &mut values),
        Err(Error::LengthMismatch { .. })
    ));
    // Recording more makes the plan stale; so do a reset and the same recording again.
    let _ = tape.input(3.0);
    assert_eq!(
        plan.evaluate(&tape, &[1.0, 2.0, 3.0], &mut values),
        Err(Error::StalePattern)
    );
    tape.reset();
    let _ = build(&tape);
    assert_eq!(
        plan.evaluate(&tape, &[1.0, 2.0], &mut values),
        Err(Error::StalePattern)
    );
    // Another tape's plan.
    let mut other_memory = memory(1 << 16);
    let other = Tape::<f64>::new(&mut other_memory).unwrap();
    let _ = build(&other);
    assert_eq!(
        plan.evaluate(&other, &[1.0, 2.0], &mut values),
        Err(Error::ForeignPattern)
    );
    // Plan memory too small: an error saying how much, and the tape goes on.
    let outputs = build(&other);
    let mut tiny = memory(16);
    let result = SparseHessian::new(&other, &outputs, Ordering::Natural, &mut tiny);
    assert!(matches!(result.err(), Some(Error::OutOfMemory { .. })));
    other.status().unwrap();
    // A stale handle among the outputs.
    tape.reset();
    let _ = build(&tape);
    let result = SparseJacobian::new(
        &tape,
        &[outputs[0]],
        JacobianMode::Forward,
        Ordering::Natural,
        &mut plan_memory,
    );
    assert!(matches!(result.err(), Some(Error::ForeignHandle)));
}
