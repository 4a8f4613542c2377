//! What recorded comparisons cost: the Rosenbrock and transcendental-chain workloads of
//! `benches/scalar.rs` (n = 1000), recorded three ways, timed as medians:
//!
//! * `plain`: the workload as the benchmarks record it;
//! * `branch`: each term guarded by a host `if` on a recorded comparison
//!   (`x[i] < 1000`, always true here), which replay checks;
//! * `select`: each term added through a selection on the same comparison
//!   (`select(x[i] < 1000, term, x[i])`), which replay re-picks.
//!
//! For each: records and arena bytes, µs to record, to record and take the gradient, and
//! to replay at another point and take the gradient. The `plain` rows, run at two
//! commits, show what the comparison machinery costs a tape that does not use it.
//!
//! ```sh
//! cargo run --release -p autodiff-core --example compare_cost [-- --samples 1000]
//! ```

#[path = "../benches/support/scalar_workloads.rs"]
#[allow(dead_code)]
mod scalar_workloads;

use autodiff_core::{Cmp, Tape, Var};
use core::mem::MaybeUninit;
use scalar_workloads::{other_point, point, MEMORY_BYTES, N};
use std::hint::black_box;
use std::time::Instant;

const WARMUP: usize = 50;

/// Median µs per call of `body` over `samples` calls.
fn median_us(samples: usize, mut body: impl FnMut()) -> f64 {
    for _ in 0..WARMUP {
        body();
    }
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            body();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

type Term = for<'t> fn(Var<'t, f64>, Var<'t, f64>) -> Var<'t, f64>;

#[derive(Clone, Copy, PartialEq)]
enum Guard {
    Branch,
    Select,
}

/// The workload's sum with each term guarded by `guard`, streamed as the benchmarks do.
fn record_guarded<'t>(
    tape: &'t Tape<'t, f64>,
    x: &[f64],
    term: Term,
    guard: Guard,
) -> Var<'t, f64> {
    let mut f = tape.constant(0.0);
    let mut xi = tape.input(x[0]);
    for &next in &x[1..] {
        let xn = tape.input(next);
        let t = term(xi, xn);
        let inside = xi.compare_const(Cmp::Lt, 1000.0);
        f = match guard {
            Guard::Branch if inside.branch() => f + t,
            Guard::Branch => f - t,
            Guard::Select => f + inside.select(t, xi),
        };
        xi = xn;
    }
    f
}

fn report(name: &str, plain: scalar_workloads::RecordFn, term: Term, samples: usize) {
    let mut memory = vec![MaybeUninit::<u8>::uninit(); 2 * MEMORY_BYTES];
    let mut tape = Tape::<f64>::new(&mut memory).expect("the arena holds a tape");
    let (x, x2) = (point(N), other_point(N));
    let mut g = vec![0.0; N];
    let mut want = vec![0.0; N];
    // Every variant computes the plain gradient, and its guards hold at the other point.
    tape.reset();
    let f = plain(&tape, &x);
    tape.gradient_into(f.id(), &mut want).expect("recorded");
    for guard in [Guard::Branch, Guard::Select] {
        tape.reset();
        let f = record_guarded(&tape, &x, term, guard);
        tape.gradient_into(f.id(), &mut g).expect("recorded");
        assert_eq!(g, want, "{name}: a guard changed the gradient");
        tape.replay(&x2)
            .expect("the guards hold at the other point too");
    }
    let variants: [(&str, Option<Guard>); 3] = [
        ("plain", None),
        ("branch", Some(Guard::Branch)),
        ("select", Some(Guard::Select)),
    ];
    for (label, guard) in variants {
        let record = |tape: &Tape<'_, f64>| match guard {
            None => plain(tape, &x).id(),
            Some(guard) => record_guarded(tape, &x, term, guard).id(),
        };
        tape.reset();
        record(&tape);
        let (records, bytes) = (tape.len(), tape.used_bytes());
        let record_only = median_us(samples, || {
            tape.reset();
            black_box(record(&tape));
        });
        let record_gradient = median_us(samples, || {
            tape.reset();
            let f = record(&tape);
            tape.gradient_into(f, &mut g).expect("recorded");
            black_box(&g);
        });
        tape.reset();
        let f = record(&tape);
        let replay_gradient = median_us(samples, || {
            tape.replay(black_box(&x2)).expect("recorded");
            tape.gradient_into(f, &mut g).expect("recorded");
            black_box(&g);
        });
        println!(
            "{name:<10} {label:<7} records={records} bytes={bytes} record_us={record_only:.2} \
             record_gradient_us={record_gradient:.2} replay_gradient_us={replay_gradient:.2}"
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut samples = 1000;
    while let Some(arg) = args.next() {
        if arg == "--samples" {
            samples = args
                .next()
                .and_then(|s| s.parse().ok())
                .expect("--samples N");
        }
    }
    report(
        "rosenbrock",
        scalar_workloads::rosenbrock_tape,
        scalar_workloads::rosenbrock_term,
        samples,
    );
    report(
        "chain",
        scalar_workloads::chain_tape,
        scalar_workloads::chain_term,
        samples,
    );
}
