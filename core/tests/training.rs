//! Parameters and optimizer steps through the fused linear layer: gradients against
//! the unfused composition (matmul, broadcast add, ReLU) at batch 1 and larger batches,
//! lazily zeroed parameter gradients (shared, unused, backward twice), and SGD updates.

mod common;

use autodiff_core::{Activation, Optimizer, ParamId, Sgd, Tape, TensorId};

fn data(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Layer sizes of a small MLP: 5 → 7 → 7 → 3.
const SIZES: [usize; 4] = [5, 7, 7, 3];

fn make_params(tape: &Tape<f64>) -> Vec<(ParamId, ParamId)> {
    (0..SIZES.len() - 1)
        .map(|l| {
            let (i, o) = (SIZES[l], SIZES[l + 1]);
            let w = tape
                .parameter(&[i, o], &data(i * o, 10 + l as u64))
                .unwrap();
            let b = tape.parameter(&[o], &data(o, 20 + l as u64)).unwrap();
            (w, b)
        })
        .collect()
}

/// Records the network's loss, fused (`linear`) or unfused.
fn loss(
    tape: &Tape<f64>,
    params: &[(ParamId, ParamId)],
    x: &[f64],
    labels: &[u32],
    fused: bool,
) -> TensorId {
    let batch = labels.len();
    let mut h = tape.tensor_input(&[batch, SIZES[0]], x);
    let last = params.len() - 1;
    for (l, &(w, b)) in params.iter().enumerate() {
        let act = if l == last {
            Activation::Identity
        } else {
            Activation::Relu
        };
        let (w, b) = (tape.param(w), tape.param(b));
        h = if fused {
            tape.linear(h, w, b, act)
        } else {
            let z = tape.tensor_add(tape.matmul(h, w), b);
            if l == last {
                z
            } else {
                tape.relu(z)
            }
        };
    }
    tape.cross_entropy(h, labels)
}

fn grads(tape: &Tape<f64>, params: &[(ParamId, ParamId)]) -> Vec<Vec<f64>> {
    params
        .iter()
        .flat_map(|&(w, b)| [w, b])
        .map(|p| {
            let mut g = vec![0.0; tape.param_shape(p).unwrap().checked_len().unwrap()];
            tape.read_param_grad(p, &mut g).unwrap();
            g
        })
        .collect()
}

fn assert_close(a: &[Vec<f64>], b: &[Vec<f64>], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: parameter counts");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.len(), y.len(), "{what}: parameter lengths");
        for (&u, &v) in x.iter().zip(y) {
            assert!(
                (u - v).abs() <= 1e-12 * (1.0 + v.abs()),
                "{what}: {u} vs {v}"
            );
        }
    }
}

/// Each parameter (weights and biases of every layer) has a non-zero gradient entry.
fn assert_every_gradient_nonzero(grads: &[Vec<f64>], what: &str) {
    assert_eq!(
        grads.len(),
        2 * (SIZES.len() - 1),
        "{what}: parameter count"
    );
    for (p, g) in grads.iter().enumerate() {
        assert!(
            g.iter().any(|&v| v != 0.0),
            "{what}: parameter {p} has an all-zero gradient"
        );
    }
}

#[test]
fn fused_layers_match_unfused_at_every_batch_size() {
    for batch in [1usize, 2, 5] {
        let mut mem = common::memory(1 << 20);
        let mut tape = Tape::<f64>::new(&mut mem).unwrap();
        let params = make_params(&tape);
        let x = data(batch * SIZES[0], 99 + batch as u64);
        let labels: Vec<u32> = (0..batch as u32).map(|i| i % 3).collect();
        let mut results = Vec::new();
        for fused in [true, false] {
            tape.reset();
            let l = loss(&tape, &params, &x, &labels, fused);
            tape.backward(l.as_var()).unwrap();
            results.push((tape.value(l.as_var()).unwrap(), grads(&tape, &params)));
        }
        assert!((results[0].0 - results[1].0).abs() < 1e-12, "batch {batch}");
        assert_close(&results[0].1, &results[1].1, &format!("batch {batch}"));
        // Every parameter's gradient is non-zero: the backward sweep reached each one (a
        // gradient left at zero would pass the comparison above).
        assert_every_gradient_nonzero(&results[0].1, &format!("batch {batch}"));
    }
}

#[test]
fn sgd_step_subtracts_the_scaled_gradient() {
    for batch in [1usize, 4] {
        let mut mem = common::memory(1 << 20);
        let mut tape = Tape::<f64>::new(&mut mem).unwrap();
        let params = make_params(&tape);
        tape.set_optimizer(Optimizer::Sgd(Sgd {
            lr: 0.1,
            momentum: 0.0,
            weight_decay: 0.0,
        }))
        .unwrap();
        let x = data(batch * SIZES[0], 7);
        let labels: Vec<u32> = (0..batch as u32).map(|i| (i + 1) % 3).collect();
        for _ in 0..3 {
            let before: Vec<Vec<f64>> = params
                .iter()
                .flat_map(|&(w, b)| [w, b])
                .map(|p| {
                    let mut v = vec![0.0; tape.param_shape(p).unwrap().checked_len().unwrap()];
                    tape.read_param(p, &mut v).unwrap();
                    v
                })
                .collect();
            tape.reset();
            let l = loss(&tape, &params, &x, &labels, true);
            tape.backward(l.as_var()).unwrap();
            let g = grads(&tape, &params);
            assert_every_gradient_nonzero(&g, &format!("batch {batch}"));
            tape.optimizer_step().unwrap();
            for ((p, w0), g) in params
                .iter()
                .flat_map(|&(w, b)| [w, b])
                .zip(&before)
                .zip(&g)
            {
                let mut w1 = vec![0.0; w0.len()];
                tape.read_param(p, &mut w1).unwrap();
                assert_ne!(&w1, w0, "the step changed the parameter");
                for ((&a, &b), &gv) in w1.iter().zip(w0).zip(g) {
                    assert!((a - (b - 0.1 * gv)).abs() < 1e-15);
                }
            }
        }
    }
}

#[test]
fn parameter_gradients_start_at_zero_each_recording() {
    let mut mem = common::memory(1 << 20);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let w = tape.parameter(&[3, 3], &data(9, 1)).unwrap();
    let b = tape.parameter(&[3], &data(3, 2)).unwrap();
    let unused = tape.parameter(&[2], &[1.0, 2.0]).unwrap();
    let x = data(6, 3);
    let mut run = |shared: bool| -> (Vec<f64>, Vec<f64>) {
        tape.reset();
        let _ = tape.param(unused);
        let h = tape.tensor_input(&[2, 3], &x);
        let h = tape.linear(h, tape.param(w), tape.param(b), Activation::Tanh);
        let h = if shared {
            // The same parameter used twice: both contributions add up.
            tape.linear(h, tape.param(w), tape.param(b), Activation::Identity)
        } else {
            h
        };
        let l = tape.sum(tape.square(h));
        tape.backward(l.as_var()).unwrap();
        let first = (read_grad(&tape, w), read_grad(&tape, b));
        // A second backward over the same recording gives the same gradients.
        tape.backward(l.as_var()).unwrap();
        assert_eq!(first, (read_grad(&tape, w), read_grad(&tape, b)));
        assert_eq!(read_grad(&tape, unused), vec![0.0, 0.0]);
        first
    };
    let single = run(false);
    let shared = run(true);
    let again = run(false);
    assert_eq!(single, again);
    // The shared gradient against central differences on every weight.
    let w0 = data(9, 1);
    let mut value = |wv: &[f64]| -> f64 {
        tape.write_param(w, wv).unwrap();
        tape.reset();
        let h = tape.tensor_input(&[2, 3], &x);
        let h = tape.linear(h, tape.param(w), tape.param(b), Activation::Tanh);
        let h = tape.linear(h, tape.param(w), tape.param(b), Activation::Identity);
        let l = tape.sum(tape.square(h));
        tape.value(l.as_var()).unwrap()
    };
    for i in 0..9 {
        let h = 1e-6;
        let (mut plus, mut minus) = (w0.clone(), w0.clone());
        plus[i] += h;
        minus[i] -= h;
        let fd = (value(&plus) - value(&minus)) / (2.0 * h);
        assert!(
            (fd - shared.0[i]).abs() < 1e-6 * (1.0 + fd.abs()),
            "w[{i}]: {fd} vs {}",
            shared.0[i]
        );
    }
}

fn read_grad(tape: &Tape<f64>, p: ParamId) -> Vec<f64> {
    let mut g = vec![0.0; tape.param_shape(p).unwrap().checked_len().unwrap()];
    tape.read_param_grad(p, &mut g).unwrap();
    g
}
