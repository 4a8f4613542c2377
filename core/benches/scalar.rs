//! Scalar reverse mode on Rosenbrock and a transcendental chain, n = 1000, each three ways:
//!
//! * `gradient_with_recording`: reset, record with `Var` operators, `gradient_into`;
//! * `gradient_by_replay`: `replay` a tape recorded once at new inputs, `gradient_into`;
//! * `plain_f64`: the function on `f64`s, the yardstick for the two above.
//!
//! The workloads live in `support/scalar_workloads.rs`, shared with
//! `examples/bench_report.rs`; every gradient is checked against an analytic one before
//! anything is timed.

#[path = "support/scalar_workloads.rs"]
#[allow(dead_code)]
mod scalar_workloads;

use autodiff_core::Tape;
use core::mem::MaybeUninit;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use scalar_workloads::{other_point, point, Workload, MEMORY_BYTES, N, WORKLOADS};

fn bench_workload(c: &mut Criterion, workload: &Workload) {
    let mut memory = vec![MaybeUninit::<u8>::uninit(); MEMORY_BYTES];
    let mut tape = Tape::<f64>::new(&mut memory).expect("the arena holds a tape");
    scalar_workloads::check(workload, &mut tape, N);

    let (x, x2) = (point(N), other_point(N));
    let mut g = vec![0.0; N];
    let mut group = c.benchmark_group(format!("{}_n{N}", workload.name));

    group.bench_function("gradient_with_recording", |b| {
        b.iter(|| {
            tape.reset();
            scalar_workloads::record_gradient(workload, &tape, &x, &mut g);
        })
    });

    tape.reset();
    let f = (workload.record)(&tape, &x).id();
    group.bench_function("gradient_by_replay", |b| {
        b.iter(|| {
            tape.replay(black_box(&x2)).expect("recorded");
            tape.gradient_into(f, &mut g).expect("recorded");
            black_box(&g);
        })
    });

    group.bench_function("plain_f64", |b| b.iter(|| (workload.plain)(black_box(&x))));
    group.finish();
}

fn scalar(c: &mut Criterion) {
    for workload in &WORKLOADS {
        bench_workload(c, workload);
    }
}

criterion_group!(benches, scalar);
criterion_main!(benches);
