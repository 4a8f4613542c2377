//! One SGD training step of an MLP on the tape, f32: 100 input features, ten fused
//! 100→100 ReLU layers, a 100→10 output layer, softmax cross-entropy from labels, and
//! an in-place SGD update (lr 0.01). Batch 64 and batch 1.
//!
//! Run pinned to one core for stable numbers, e.g.
//! `taskset -c 1 cargo bench -p autodiff-core --bench mlp`.

use autodiff_core::{Activation, Optimizer, ParamId, Sgd, Tape};
use core::mem::MaybeUninit;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;

const WIDTH: usize = 100;
const CLASSES: usize = 10;
const HIDDEN_LAYERS: usize = 10;

/// splitmix64 in [-1, 1), for seeded data without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

/// Parameters `(w, b)` of every layer, He-scaled so activations neither vanish nor blow up.
fn build(tape: &Tape<'_, f32>, rng: &mut Rng) -> Vec<(ParamId, ParamId)> {
    let mut params = Vec::new();
    for l in 0..=HIDDEN_LAYERS {
        let out = if l == HIDDEN_LAYERS { CLASSES } else { WIDTH };
        let scale = (2.0 / WIDTH as f32).sqrt();
        let w: Vec<f32> = (0..WIDTH * out).map(|_| rng.next() * scale).collect();
        let b: Vec<f32> = (0..out).map(|_| rng.next() * 0.1).collect();
        let w = tape.parameter(&[WIDTH, out], &w).unwrap();
        let b = tape.parameter(&[out], &b).unwrap();
        params.push((w, b));
    }
    tape.set_optimizer(Optimizer::Sgd(Sgd {
        lr: 0.01,
        momentum: 0.0,
        weight_decay: 0.0,
    }))
    .unwrap();
    params
}

fn step(
    tape: &mut Tape<'_, f32>,
    params: &[(ParamId, ParamId)],
    batch: usize,
    x: &[f32],
    labels: &[u32],
) {
    tape.reset();
    let mut h = tape.tensor_input(&[batch, WIDTH], x);
    for (l, &(w, b)) in params.iter().enumerate() {
        let act = if l == HIDDEN_LAYERS {
            Activation::Identity
        } else {
            Activation::Relu
        };
        h = tape.linear(h, tape.param(w), tape.param(b), act);
    }
    let loss = tape.cross_entropy(h, labels);
    tape.backward(loss.as_var()).unwrap();
    tape.optimizer_step().unwrap();
}

fn bench_batch(c: &mut Criterion, batch: usize) {
    let mut memory = vec![MaybeUninit::<u8>::uninit(); 8 << 20];
    let mut tape = Tape::<f32>::new(&mut memory).unwrap();
    let mut rng = Rng(0x5EED);
    let params = build(&tape, &mut rng);
    let x: Vec<f32> = (0..batch * WIDTH).map(|_| rng.next()).collect();
    let labels: Vec<u32> = (0..batch as u32).map(|i| i % CLASSES as u32).collect();
    let mut group = c.benchmark_group(format!("mlp_sgd_step/batch{batch}"));
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("tape", |b| {
        b.iter(|| step(&mut tape, &params, batch, black_box(&x), black_box(&labels)))
    });
    group.finish();
}

fn mlp(c: &mut Criterion) {
    bench_batch(c, 64);
    bench_batch(c, 1);
}

criterion_group!(benches, mlp);
criterion_main!(benches);
