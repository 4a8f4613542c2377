//! Scalar benchmark report: the workloads of `benches/scalar.rs`, timed as medians over
//! many repetitions, with tape statistics (ns per recorded op, ns per op of backward,
//! bytes of arena per record). `bench/run.sh` runs it pinned to one core and turns its
//! output into the tables of BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release -p autodiff-core --example bench_report [-- --samples 2000]
//! ```
//!
//! Output: `#` comment lines, then one machine-readable line per workload,
//! `autodiff <name> n=<n> key=value ...`; times are µs per call, medians.

#[path = "../benches/support/scalar_workloads.rs"]
mod scalar_workloads;
#[path = "../benches/support/timing.rs"]
mod timing;

use autodiff_core::Tape;
use core::mem::MaybeUninit;
use scalar_workloads::{other_point, point, Workload, MEMORY_BYTES, N, WORKLOADS};
use std::hint::black_box;
use timing::{median_us, WARMUP};

/// The plain function takes about a microsecond, so each of its samples times this many
/// calls (as ADOL-C's harness does).
const PLAIN_INNER: usize = 100;

fn report(workload: &Workload, samples: usize) {
    let mut memory = vec![MaybeUninit::<u8>::uninit(); MEMORY_BYTES];
    let mut tape = Tape::<f64>::new(&mut memory).expect("the arena holds a tape");
    scalar_workloads::check(workload, &mut tape, N);
    let (x, x2) = (point(N), other_point(N));
    let mut g = vec![0.0; N];

    let record_grad = median_us(samples, 1, || {
        tape.reset();
        scalar_workloads::record_gradient(workload, &tape, &x, &mut g);
    });
    let record = median_us(samples, 1, || {
        tape.reset();
        black_box((workload.record)(&tape, black_box(&x)).id());
    });

    tape.reset();
    let f = (workload.record)(&tape, &x).id();
    let records = tape.len();
    let used_bytes = tape.used_bytes();
    // Backward alone: every call after the first also clears the adjoints of the last.
    let backward = median_us(samples, 1, || {
        tape.gradient_into(f, &mut g).expect("recorded");
        black_box(&g);
    });
    let replay_grad = median_us(samples, 1, || {
        tape.replay(black_box(&x2)).expect("recorded");
        tape.gradient_into(f, &mut g).expect("recorded");
        black_box(&g);
    });
    let replay = median_us(samples, 1, || {
        tape.replay(black_box(&x2)).expect("recorded");
    });
    let plain = median_us(samples, PLAIN_INNER, || {
        black_box((workload.plain)(black_box(&x)));
    });

    let terms = N - 1;
    let per_term = workload.per_term;
    let (constants, inline_constant, unary, binary) = (
        1 + per_term.shared_constants + terms * per_term.constants,
        terms * per_term.inline_constant,
        terms * per_term.unary,
        terms * per_term.binary,
    );
    let ops = inline_constant + unary + binary;
    println!(
        "# {}: {records} records = {N} inputs + {constants} constants + {inline_constant} \
         ops with an inline constant + {unary} unary + {binary} binary ops; \
         {used_bytes} arena bytes in use",
        workload.name
    );
    println!(
        "autodiff {name} n={N} record_grad_us={record_grad:.2} replay_grad_us={replay_grad:.2} \
         plain_us={plain:.3} record_us={record:.2} backward_us={backward:.2} \
         replay_us={replay:.2} records={records} inputs={N} constants={constants} \
         inline_constant={inline_constant} unary={unary} binary={binary} ns_per_record={:.3} ns_per_backward_record={:.3} \
         ns_per_op_recorded={:.3} bytes_per_record={} used_bytes={used_bytes} \
         used_bytes_per_record={:.2} used_bytes_per_op={:.2}",
        record * 1e3 / records as f64,
        backward * 1e3 / records as f64,
        record * 1e3 / ops as f64,
        Tape::<f64>::bytes_per_record(),
        used_bytes as f64 / records as f64,
        used_bytes as f64 / ops as f64,
        name = workload.name,
    );
}

fn main() {
    let mut samples = 2000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|v| v.parse::<usize>())) {
            ("--samples", Some(Ok(value))) if value > 0 => samples = value,
            _ => {
                eprintln!("usage: bench_report [--samples N]");
                std::process::exit(2);
            }
        }
    }
    println!(
        "# autodiff scalar report: medians over {samples} samples after {WARMUP} warm-up \
         calls; plain samples time {PLAIN_INNER} calls each; times in µs per call"
    );
    for workload in &WORKLOADS {
        report(workload, samples);
    }
}
