//! What the data-parallel test binaries share: a small MLP (4 → 6 → 3, tanh) with its
//! parameters and batches from fixed seeds, its loss, and a training loop.
#![allow(dead_code)]

use super::common::Rng;
use autodiff_core::{Activation, ParamGroup, ParamId, Tape, TensorId};
use core::mem::MaybeUninit;

/// Layer sizes of a small MLP: 4 → 6 → 3.
pub const SIZES: [usize; 3] = [4, 6, 3];
pub const BATCH: usize = 8;

pub fn memory() -> Vec<MaybeUninit<u8>> {
    vec![MaybeUninit::uninit(); 1 << 16]
}

pub fn random(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// The parameters (weight, bias per layer) from a fixed seed, whatever the tape's float.
pub fn make_params<T: autodiff_core::Float>(tape: &Tape<T>) -> Vec<ParamId> {
    let mut rng = Rng::seeded("data_parallel params");
    let mut params = Vec::new();
    for l in 0..SIZES.len() - 1 {
        let (i, o) = (SIZES[l], SIZES[l + 1]);
        let w: Vec<T> = random(&mut rng, i * o)
            .into_iter()
            .map(T::from_f64)
            .collect();
        let b: Vec<T> = random(&mut rng, o).into_iter().map(T::from_f64).collect();
        params.push(tape.parameter(&[i, o], &w).unwrap());
        params.push(tape.parameter(&[o], &b).unwrap());
    }
    params
}

/// A batch of step `step`: inputs and labels, from a fixed seed.
pub fn batch(step: usize) -> (Vec<f64>, Vec<u32>) {
    let mut rng = Rng::from_seed(1000 + step as u64);
    let x = random(&mut rng, BATCH * SIZES[0]);
    let labels = (0..BATCH).map(|_| rng.below(0, SIZES[2]) as u32).collect();
    (x, labels)
}

/// Records the mean cross-entropy of `rows` samples.
pub fn loss<T: autodiff_core::Float>(
    tape: &Tape<T>,
    params: &[ParamId],
    x: &[f64],
    labels: &[u32],
) -> TensorId {
    let x: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
    let mut h = tape.tensor_constant(&[labels.len(), SIZES[0]], &x);
    let layers = params.len() / 2;
    for l in 0..layers {
        let act = if l + 1 == layers {
            Activation::Identity
        } else {
            Activation::Tanh
        };
        h = tape.linear(
            h,
            tape.param(params[2 * l]),
            tape.param(params[2 * l + 1]),
            act,
        );
    }
    tape.cross_entropy(h, labels)
}

pub fn values<T: autodiff_core::Float>(tape: &Tape<T>, g: ParamGroup) -> Vec<T> {
    let mut out = vec![T::zero(); tape.group_len(g).unwrap()];
    tape.read_group_values(g, &mut out).unwrap();
    out
}

/// Runs `steps` Adam steps from `start` on `tape`.
pub fn train<T: autodiff_core::Float>(
    tape: &mut Tape<T>,
    params: &[ParamId],
    start: usize,
    steps: usize,
) {
    for step in start..start + steps {
        tape.reset();
        let (x, labels) = batch(step);
        let l = loss(tape, params, &x, &labels);
        tape.backward(l.as_var()).unwrap();
        tape.optimizer_step().unwrap();
    }
}
