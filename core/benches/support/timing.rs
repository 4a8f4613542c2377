//! Timing for the benchmark reports (`examples/bench_report.rs`, `bench_growth.rs`).

use std::time::Instant;

/// Untimed calls before sampling, to warm caches and branch predictors.
pub const WARMUP: usize = 50;

/// Median µs per call of `body` over `samples` samples of `inner` calls each.
pub fn median_us(samples: usize, inner: usize, mut body: impl FnMut()) -> f64 {
    for _ in 0..WARMUP {
        body();
    }
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..inner {
                body();
            }
            start.elapsed().as_secs_f64() * 1e6 / inner as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
