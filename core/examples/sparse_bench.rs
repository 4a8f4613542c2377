//! The sparse benchmarks of BENCHMARKS.md: a 2-D Bratu residual (five-point stencil)
//! and the Hessian of chained Rosenbrock, each at two sizes. For each: the time to record,
//! to detect the pattern and colour it, to evaluate the sparse Jacobian (or Hessian) at
//! new inputs with the plan reused (replay + one compressed sweep + recovery), and the
//! plain f64 function; the colour counts; and the memory used. Checks its results against
//! the plain function's finite differences before timing.
//!
//! `cargo run --release -p autodiff-core --example sparse_bench [-- --quick]`

use autodiff_core::sparse::{JacobianMode, Ordering, SparseHessian, SparseJacobian};
use autodiff_core::{Tape, Var, VarId};
use std::mem::MaybeUninit;
use std::time::Instant;

const ORDERINGS: [(Ordering, &str); 4] = [
    (Ordering::Natural, "natural"),
    (Ordering::LargestFirst, "largest-first"),
    (Ordering::SmallestLast, "smallest-last"),
    (Ordering::Saturation, "saturation"),
];

fn memory(bytes: usize) -> Vec<MaybeUninit<u8>> {
    let mut v = Vec::with_capacity(bytes);
    // SAFETY: uninitialised bytes are valid `MaybeUninit`s.
    unsafe { v.set_len(bytes) };
    v
}

/// Median seconds of `reps` runs of `f`.
fn median(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[reps / 2]
}

const LAMBDA: f64 = 6.0;

/// The Bratu residual on a `k × k` grid with zero boundary, plain f64.
fn bratu(k: usize, u: &[f64], r: &mut [f64]) {
    let h2l = LAMBDA / ((k + 1) * (k + 1)) as f64;
    for i in 0..k {
        for j in 0..k {
            let c = u[i * k + j];
            let mut v = 4.0 * c - h2l * c.exp();
            if i > 0 {
                v -= u[(i - 1) * k + j];
            }
            if i + 1 < k {
                v -= u[(i + 1) * k + j];
            }
            if j > 0 {
                v -= u[i * k + j - 1];
            }
            if j + 1 < k {
                v -= u[i * k + j + 1];
            }
            r[i * k + j] = v;
        }
    }
}

fn record_bratu<'t>(tape: &'t Tape<'t, f64>, k: usize, u0: &[f64]) -> Vec<VarId> {
    let h2l = LAMBDA / ((k + 1) * (k + 1)) as f64;
    let u: Vec<Var<'t, f64>> = u0.iter().map(|&x| tape.input(x)).collect();
    let mut out = Vec::with_capacity(k * k);
    for i in 0..k {
        for j in 0..k {
            let c = u[i * k + j];
            let mut v = 4.0 * c - h2l * c.exp();
            if i > 0 {
                v = v - u[(i - 1) * k + j];
            }
            if i + 1 < k {
                v = v - u[(i + 1) * k + j];
            }
            if j > 0 {
                v = v - u[i * k + j - 1];
            }
            if j + 1 < k {
                v = v - u[i * k + j + 1];
            }
            out.push(v.id());
        }
    }
    out
}

fn rosenbrock(x: &[f64]) -> f64 {
    let mut f = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
    }
    f
}

fn record_rosenbrock<'t>(tape: &'t Tape<'t, f64>, x0: &[f64]) -> VarId {
    let x: Vec<Var<'t, f64>> = x0.iter().map(|&v| tape.input(v)).collect();
    let mut f = tape.constant(0.0);
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        f = f + 100.0 * a * a + b * b;
    }
    f.id()
}

fn mb(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / (1 << 20) as f64)
}

fn jacobian_case(k: usize, reps: usize) {
    let n = k * k;
    let u0: Vec<f64> = (0..n)
        .map(|i| 0.1 + 0.3 * ((i % 17) as f64 / 17.0))
        .collect();
    let mut tape_mem = memory(n * 9 * 24 + n * 9 * 5 * 8 + (1 << 20));
    let tape = Tape::<f64>::new(&mut tape_mem).unwrap();
    let start = Instant::now();
    let outputs = record_bratu(&tape, k, &u0);
    let record_time = start.elapsed().as_secs_f64();
    tape.status().unwrap();
    let records = tape.len();
    println!("### Bratu residual, n = {n} ({k} × {k} grid, five-point stencil)\n");
    println!(
        "{} records; tape {} MB of records",
        records,
        mb(tape.used_bytes())
    );
    println!("record: {:.3} ms\n", record_time * 1e3);
    println!("| ordering | mode | colours | pattern + colouring (ms) | plan peak (MB) |");
    println!("|---|---|---:|---:|---:|");
    let mut plan_mem = memory(n * 9 * 8 + n * 120 + (1 << 20));
    for (ordering, name) in ORDERINGS {
        for (mode, mode_name) in [
            (JacobianMode::Forward, "columns"),
            (JacobianMode::Reverse, "rows"),
        ] {
            let mut colours = 0;
            let mut peak = 0;
            let time = median(if n > 100_000 { 1 } else { 5 }, || {
                let plan =
                    SparseJacobian::new(&tape, &outputs, mode, ordering, &mut plan_mem).unwrap();
                colours = plan.colours();
                peak = plan.peak_bytes();
            });
            println!(
                "| {name} | {mode_name} | {colours} | {:.2} | {} |",
                time * 1e3,
                mb(peak)
            );
        }
    }
    let plan = SparseJacobian::new(
        &tape,
        &outputs,
        JacobianMode::Forward,
        Ordering::Saturation,
        &mut plan_mem,
    )
    .unwrap();
    let x: Vec<f64> = (0..n).map(|i| 0.2 + 0.1 * ((i % 7) as f64 / 7.0)).collect();
    let mut values = vec![0.0; plan.nnz()];
    plan.evaluate(&tape, &x, &mut values).unwrap();
    check_jacobian(k, &x, &plan, &values);
    let jacobian = median(reps, || plan.evaluate(&tape, &x, &mut values).unwrap());
    let replay = median(reps, || tape.replay(&x).unwrap());
    let mut r = vec![0.0; n];
    let primal = median(reps * 20, || bratu(k, std::hint::black_box(&x), &mut r));
    let scratch = records * plan.colours() * 8;
    println!(
        "\nJacobian (saturation order, {} colours, {} nonzeros), plan reused, at new inputs:\n",
        plan.colours(),
        plan.nnz()
    );
    println!("| | ms | ÷ primal |");
    println!("|---|---:|---:|");
    println!("| plain f64 residual (primal) | {:.4} | 1 |", primal * 1e3);
    println!(
        "| replay alone | {:.4} | {:.2} |",
        replay * 1e3,
        replay / primal
    );
    println!(
        "| sparse Jacobian (replay + compressed forward sweep + recovery) | {:.4} | {:.2} |",
        jacobian * 1e3,
        jacobian / primal
    );
    println!(
        "\nmemory: tape {} MB of records + {} MB of sweep scratch ({} lanes); plan {} MB at peak, {} MB kept\n",
        mb(tape.used_bytes()),
        mb(scratch),
        plan.colours(),
        mb(plan.peak_bytes()),
        mb((plan.nnz() + 2 * n + 1 + n + n) * 4),
    );
}

/// Spot checks of recovered entries against central differences of the plain residual.
fn check_jacobian(k: usize, x: &[f64], plan: &SparseJacobian<'_>, values: &[f64]) {
    let n = k * k;
    let (starts, columns) = (plan.row_starts(), plan.column_indices());
    let (mut up, mut down) = (vec![0.0; n], vec![0.0; n]);
    let mut at = x.to_vec();
    for &row in &[0, n / 2 + k / 3, n - 1] {
        for e in starts[row] as usize..starts[row + 1] as usize {
            let c = columns[e] as usize;
            at[c] = x[c] + 1e-6;
            bratu(k, &at, &mut up);
            at[c] = x[c] - 1e-6;
            bratu(k, &at, &mut down);
            at[c] = x[c];
            let fd = (up[row] - down[row]) / 2e-6;
            assert!(
                (values[e] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "J[{row}][{c}] = {} against {fd}",
                values[e]
            );
        }
    }
}

fn hessian_case(n: usize, reps: usize) {
    let x0: Vec<f64> = (0..n).map(|i| 0.5 + 0.01 * (i % 13) as f64).collect();
    let mut tape_mem = memory(n * 10 * 24 + n * 10 * 7 * 8 + (1 << 20));
    let tape = Tape::<f64>::new(&mut tape_mem).unwrap();
    let start = Instant::now();
    let f = record_rosenbrock(&tape, &x0);
    let record_time = start.elapsed().as_secs_f64();
    let records = tape.len();
    println!("### Chained Rosenbrock Hessian, n = {n}\n");
    println!(
        "{records} records; tape {} MB of records; record: {:.3} ms\n",
        mb(tape.used_bytes()),
        record_time * 1e3
    );
    println!("| ordering | colours (star) | pattern + colouring (ms) | plan peak (MB) |");
    println!("|---|---:|---:|---:|");
    let mut plan_mem = memory(n * 10 * 48 + (1 << 20));
    for (ordering, name) in ORDERINGS {
        let mut colours = 0;
        let mut peak = 0;
        let time = median(5, || {
            let plan = SparseHessian::new(&tape, &[f], ordering, &mut plan_mem).unwrap();
            colours = plan.colours();
            peak = plan.peak_bytes();
        });
        println!("| {name} | {colours} | {:.2} | {} |", time * 1e3, mb(peak));
    }
    let plan = SparseHessian::new(&tape, &[f], Ordering::Saturation, &mut plan_mem).unwrap();
    let x: Vec<f64> = (0..n).map(|i| 0.7 + 0.02 * (i % 5) as f64).collect();
    let mut values = vec![0.0; plan.nnz()];
    plan.evaluate(&tape, &x, &[1.0], &mut values).unwrap();
    // Entries by hand: H_ii = 1200 x_i² − 400 x_{i+1} + 2 (+ 200 for i > 0), H_i,i+1 = −400 x_i.
    let (starts, columns) = (plan.row_starts(), plan.column_indices());
    for i in [0, n / 2, n - 2] {
        for e in starts[i] as usize..starts[i + 1] as usize {
            let j = columns[e] as usize;
            let want = if j == i {
                1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0 + if i > 0 { 200.0 } else { 0.0 }
            } else if j == i + 1 {
                -400.0 * x[i]
            } else {
                -400.0 * x[j]
            };
            assert!(
                (values[e] - want).abs() < 1e-9 * (1.0 + want.abs()),
                "H[{i}][{j}]"
            );
        }
    }
    let hessian = median(reps, || {
        plan.evaluate(&tape, &x, &[1.0], &mut values).unwrap()
    });
    let primal = median(reps * 20, || {
        std::hint::black_box(rosenbrock(std::hint::black_box(&x)));
    });
    println!(
        "\nHessian (saturation order, {} colours, {} nonzeros), plan reused, at new inputs:\n",
        plan.colours(),
        plan.nnz()
    );
    println!("| | ms | ÷ primal |");
    println!("|---|---:|---:|");
    println!("| plain f64 function (primal) | {:.4} | 1 |", primal * 1e3);
    println!(
        "| sparse Hessian (replay + forward and reverse sweeps of {} lanes + recovery) | {:.4} | {:.2} |",
        plan.colours(),
        hessian * 1e3,
        hessian / primal
    );
    println!(
        "\nmemory: tape {} MB of records + {} MB of sweep scratch; plan {} MB at peak\n",
        mb(tape.used_bytes()),
        mb(records * (2 * plan.colours() + 1) * 8 + n * plan.colours() * 8),
        mb(plan.peak_bytes()),
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    jacobian_case(100, 50);
    if !quick {
        jacobian_case(1000, 5);
    }
    hessian_case(10_000, 50);
    if !quick {
        hessian_case(100_000, 10);
    }
}
