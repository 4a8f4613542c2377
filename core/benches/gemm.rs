//! f32 GEMM throughput on the shapes of the MLP benchmark (width 100, batch 64 and 1).
//!
//! Criterion's "elements" throughput is set to the flop count `2·m·n·k`, so its
//! `elem/s` figure reads as FLOP/s.

use autodiff_core::kernels::{gemm_scratch_len, gemm_with_isa, Isa, Transpose};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

struct Shape {
    name: &'static str,
    ta: Transpose,
    tb: Transpose,
    m: usize,
    n: usize,
    k: usize,
}

const SHAPES: [Shape; 5] = [
    // Forward: Y(64×100) = X(64×100)·W(100×100).
    Shape {
        name: "fwd_64x100x100_NN",
        ta: Transpose::No,
        tb: Transpose::No,
        m: 64,
        n: 100,
        k: 100,
    },
    // dX(64×100) = dY(64×100)·Wᵀ.
    Shape {
        name: "dA_64x100x100_NT",
        ta: Transpose::No,
        tb: Transpose::Yes,
        m: 64,
        n: 100,
        k: 100,
    },
    // dW(100×100) = Xᵀ(100×64)·dY(64×100).
    Shape {
        name: "dB_100x100x64_TN",
        ta: Transpose::Yes,
        tb: Transpose::No,
        m: 100,
        n: 100,
        k: 64,
    },
    // Batch 1: y(1×100) = x(1×100)·W, and dx = dy·Wᵀ.
    Shape {
        name: "fwd_1x100x100_NN",
        ta: Transpose::No,
        tb: Transpose::No,
        m: 1,
        n: 100,
        k: 100,
    },
    Shape {
        name: "dA_1x100x100_NT",
        ta: Transpose::No,
        tb: Transpose::Yes,
        m: 1,
        n: 100,
        k: 100,
    },
];

fn fill(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 1000.0 - 0.5
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("sgemm");
    for s in &SHAPES {
        let a_len = s.m * s.k;
        let b_len = s.k * s.n;
        let a = fill(a_len, 1);
        let b = fill(b_len, 2);
        let mut cm = vec![0.0f32; s.m * s.n];
        let mut scratch = vec![0.0f32; gemm_scratch_len::<f32>(s.m, s.n, s.k)];
        let lda = if s.ta == Transpose::Yes { s.m } else { s.k };
        let ldb = if s.tb == Transpose::Yes { s.k } else { s.n };
        group.throughput(Throughput::Elements((2 * s.m * s.n * s.k) as u64));
        for isa in [Isa::Avx2Fma, Isa::Avx512] {
            group.bench_function(BenchmarkId::new(s.name, format!("{isa:?}")), |bench| {
                bench.iter(|| {
                    gemm_with_isa(
                        isa,
                        s.ta,
                        s.tb,
                        s.m,
                        s.n,
                        s.k,
                        1.0f32,
                        black_box(&a),
                        lda,
                        black_box(&b),
                        ldb,
                        0.0,
                        &mut cm,
                        s.n,
                        &mut scratch,
                    )
                    .unwrap();
                    black_box(&mut cm);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
