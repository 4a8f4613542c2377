//! Chain checkpointing on a tanh recurrence `x_{k+1} = tanh(W·x_k + b)`, `W` and `b`
//! the parameters: the gradient's time and peak arena bytes for several snapshot
//! counts, and the recomputation ratio (forward-only steps / n) beside the binomial
//! minimum `min_forward_steps(n, s) / n`.
//!
//! Groups:
//! - `chain/d100_n10000`: d = 100 (10,100 parameters, about 20,000 scalar records per
//!   step), n = 10,000, s = 5, 10, 20, 50. Store-everything is impossible here: it
//!   needs about 2·10⁸ records (4.9 GB), more than the arena given to it here, and
//!   more than a device of this class should hold for one gradient.
//! - `chain/d100_n1000`: the same with n = 1,000, store-everything included (485 MB).
//!
//! Forward-only steps use `Step::evaluate` (plain `f64`, the recorded ops' order), so
//! they cost a tenth or so of a recorded step and its backward. The table of bytes
//! and ratios is printed to stderr before each group is measured.

use autodiff_core::checkpoint::{
    chain_gradient, chain_gradient_store_all, min_forward_steps, ChainReport, Step,
};
use autodiff_core::{Real, Result, Tape, Var, VarId};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::time::Instant;

const D: usize = 100;

struct TanhStep;

impl Step<f64> for TanhStep {
    fn record(
        &mut self,
        tape: &Tape<'_, f64>,
        _k: usize,
        state: &[VarId],
        params: &[VarId],
        next: &mut [VarId],
    ) -> Result<()> {
        let (w, b) = params.split_at(D * D);
        let x: Vec<Var<'_, f64>> = state.iter().map(|&id| Var::from_id(tape, id)).collect();
        for i in 0..D {
            let row = &w[i * D..(i + 1) * D];
            let mut acc = Var::from_id(tape, row[0]) * x[0];
            for j in 1..D {
                acc = acc + Var::from_id(tape, row[j]) * x[j];
            }
            next[i] = (acc + Var::from_id(tape, b[i])).tanh().id();
        }
        Ok(())
    }

    fn evaluate(&mut self, _k: usize, x: &[f64], params: &[f64], next: &mut [f64]) -> Result<bool> {
        let (w, b) = params.split_at(D * D);
        for i in 0..D {
            let row = &w[i * D..(i + 1) * D];
            let mut acc = row[0] * x[0];
            for j in 1..D {
                acc += row[j] * x[j];
            }
            next[i] = Real::tanh(acc + b[i]);
        }
        Ok(true)
    }
}

fn loss(tape: &Tape<'_, f64>, x: &[VarId], _params: &[VarId]) -> VarId {
    let mut acc = Var::from_id(tape, x[0]);
    for &id in &x[1..] {
        acc = acc + Var::from_id(tape, id);
    }
    acc.id()
}

struct Problem {
    x0: Vec<f64>,
    params: Vec<f64>,
}

fn problem() -> Problem {
    // A deterministic pseudo-random W with spectral radius below 1.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut params: Vec<f64> = (0..D * D).map(|_| uniform() * 0.15).collect();
    params.extend((0..D).map(|_| uniform() * 0.1));
    let x0 = (0..D).map(|_| uniform()).collect();
    Problem { x0, params }
}

/// Snapshot count, or `None` for store-everything.
fn gradient(
    p: &Problem,
    arena: &mut [MaybeUninit<u8>],
    n: usize,
    s: Option<usize>,
) -> ChainReport<f64> {
    let mut gx = vec![0.0; D];
    let mut gp = vec![0.0; p.params.len()];
    let report = match s {
        Some(s) => chain_gradient(
            arena, n, s, &p.x0, &p.params, TanhStep, loss, &mut gx, &mut gp,
        ),
        None => {
            chain_gradient_store_all(arena, n, &p.x0, &p.params, TanhStep, loss, &mut gx, &mut gp)
        }
    };
    let report = report.expect("chain gradient");
    black_box((&gx, &gp));
    report
}

fn group(c: &mut Criterion, n: usize, configs: &[Option<usize>], arena_bytes: usize) {
    let p = problem();
    let mut arena = vec![MaybeUninit::<u8>::uninit(); arena_bytes];
    let name = format!("chain/d{D}_n{n}");
    eprintln!("{name}: s, peak arena bytes, forward-only steps, ratio, binomial ratio, one run");
    for &s in configs {
        let start = Instant::now();
        let r = gradient(&p, &mut arena, n, s);
        let once = start.elapsed();
        let label = s.map_or("store-all".to_string(), |s| s.to_string());
        let theory = s.map_or(0.0, |s| {
            min_forward_steps(n, s).unwrap_or(0) as f64 / n as f64
        });
        eprintln!(
            "  s = {label:>9}: {:>11} B, {:>7} steps, ratio {:.3}, binomial {:.3}, {:.2?}",
            r.peak_bytes,
            r.advances,
            r.advances as f64 / n as f64,
            theory,
            once
        );
    }
    let mut g = c.benchmark_group(&name);
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    for &s in configs {
        let label = s.map_or("store-all".to_string(), |s| format!("s{s}"));
        g.bench_function(BenchmarkId::from_parameter(label), |bench| {
            bench.iter(|| gradient(&p, &mut arena, n, s))
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    // One step's tape: ~30,400 records (inputs included) × 24 B ≈ 730 KB.
    group(c, 10_000, &[Some(5), Some(10), Some(20), Some(50)], 2 << 20);
    group(
        c,
        1_000,
        &[Some(5), Some(10), Some(20), Some(50), None],
        1000 * 20_400 * 24 + (4 << 20),
    );
}

criterion_group!(chain, benches);
criterion_main!(chain);
