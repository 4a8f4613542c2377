//! Every tensor op's gradient against central finite differences in f64, and its
//! tangent against the gradient (`tangent(loss) = ∇loss · seed`).

mod common;

use autodiff_core::{Tape, TensorId};

/// splitmix64, for seeded inputs without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n)
            .map(|_| lo + (self.next() * 0.5 + 0.5) * (hi - lo))
            .collect()
    }
}

/// Builds a scalar loss from input tensors (shapes, data); `build` returns the loss as
/// a rank-0 tensor. A weighted sum with fixed pseudo-random weights turns tensor outputs
/// into a loss, so every output element's gradient is exercised.
fn check(
    name: &str,
    shapes: &[&[usize]],
    data: &[Vec<f64>],
    build: impl Fn(&Tape<f64>, &[TensorId]) -> TensorId,
) {
    let mut mem = common::memory(1 << 22);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let evaluate = |tape: &mut Tape<f64>, data: &[Vec<f64>]| -> f64 {
        tape.reset();
        let tape = &*tape;
        let inputs: Vec<_> = shapes
            .iter()
            .zip(data)
            .map(|(s, d)| tape.tensor_input(s, d))
            .collect();
        let loss = build(tape, &inputs);
        tape.status().unwrap_or_else(|e| panic!("{name}: {e}"));
        tape.value(loss.as_var()).unwrap()
    };
    tape.reset();
    let inputs: Vec<_> = shapes
        .iter()
        .zip(data)
        .map(|(s, d)| tape.tensor_input(s, d))
        .collect();
    let loss = build(&tape, &inputs);
    tape.status().unwrap_or_else(|e| panic!("{name}: {e}"));
    tape.backward(loss.as_var()).unwrap();
    let grads: Vec<Vec<f64>> = inputs
        .iter()
        .zip(data)
        .map(|(&t, d)| {
            let mut g = vec![0.0; d.len()];
            tape.tensor_grad(t, &mut g).unwrap();
            g
        })
        .collect();
    // Tangent along a seeded direction must equal the gradient's dot product with it.
    let mut rng = Rng(0xD1CE);
    let seeds: Vec<Vec<f64>> = data.iter().map(|d| rng.vec(d.len(), -1.0, 1.0)).collect();
    for (&t, s) in inputs.iter().zip(&seeds) {
        tape.seed_tensor_tangent(t, s).unwrap();
    }
    tape.jvp(&[]).unwrap();
    let tangent = tape.tangent(loss.as_var()).unwrap();
    let expected: f64 = grads
        .iter()
        .zip(&seeds)
        .flat_map(|(g, s)| g.iter().zip(s).map(|(a, b)| a * b))
        .sum();
    assert!(
        (tangent - expected).abs() <= 1e-9 * (1.0 + expected.abs()),
        "{name}: tangent {tangent} vs ∇·seed {expected}"
    );
    // Central differences, h = 1e-6: truncation ~h²·|f'''| and rounding ~ε·|f|/h, both
    // far below the 1e-6 relative tolerance for these smooth, O(1) functions.
    let h = 1e-6;
    for (k, d) in data.iter().enumerate() {
        for i in (0..d.len()).filter(|&i| common::fd_checks(i, d.len())) {
            let mut plus = data.to_vec();
            plus[k][i] += h;
            let mut minus = data.to_vec();
            minus[k][i] -= h;
            let fd = (evaluate(&mut tape, &plus) - evaluate(&mut tape, &minus)) / (2.0 * h);
            let ad = grads[k][i];
            assert!(
                (fd - ad).abs() <= 1e-6 * (1.0 + fd.abs()),
                "{name}: input {k}[{i}]: finite difference {fd} vs reverse {ad}"
            );
        }
    }
}

/// Σ wᵢ·tᵢ with fixed weights: a scalar loss touching every element of `t`.
fn weighted_sum(tape: &Tape<f64>, t: TensorId) -> TensorId {
    let shape = tape.tensor_shape(t).unwrap();
    let n = shape.checked_len().unwrap();
    let dims: Vec<usize> = shape.dims().iter().map(|&d| d as usize).collect();
    let weights: Vec<f64> = (0..n).map(|i| 0.3 + 0.1 * (i % 7) as f64).collect();
    let w = tape.tensor_constant(&dims, &weights);
    tape.sum(tape.tensor_mul(t, w))
}

#[test]
fn matmul_with_every_transpose_matches_finite_differences() {
    let mut rng = Rng(1);
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a_shape: &[usize] = if ta { &[4, 3] } else { &[3, 4] };
        let b_shape: &[usize] = if tb { &[5, 4] } else { &[4, 5] };
        let data = vec![rng.vec(12, -1.0, 1.0), rng.vec(20, -1.0, 1.0)];
        check("matmul", &[a_shape, b_shape], &data, |t, x| {
            weighted_sum(t, t.matmul_t(x[0], x[1], ta, tb))
        });
    }
}

#[test]
fn elementwise_binary_ops_broadcast_a_row_over_a_matrix() {
    let mut rng = Rng(2);
    let data = vec![rng.vec(12, 0.5, 2.0), rng.vec(4, 0.5, 2.0)];
    check("add", &[&[3, 4], &[4]], &data, |t, x| {
        weighted_sum(t, t.tensor_add(x[0], x[1]))
    });
    check("sub", &[&[3, 4], &[4]], &data, |t, x| {
        weighted_sum(t, t.tensor_sub(x[0], x[1]))
    });
    check("mul", &[&[3, 4], &[4]], &data, |t, x| {
        weighted_sum(t, t.tensor_mul(x[0], x[1]))
    });
    check("div", &[&[3, 4], &[4]], &data, |t, x| {
        weighted_sum(t, t.tensor_div(x[0], x[1]))
    });
    let column = vec![rng.vec(12, 0.5, 2.0), rng.vec(3, 0.5, 2.0)];
    check("div by column", &[&[3, 4], &[3, 1]], &column, |t, x| {
        weighted_sum(t, t.tensor_div(x[0], x[1]))
    });
    let same = vec![rng.vec(6, 0.5, 2.0), rng.vec(6, 0.5, 2.0)];
    check("mul same shape", &[&[2, 3], &[2, 3]], &same, |t, x| {
        weighted_sum(t, t.tensor_mul(x[0], x[1]))
    });
}

#[test]
fn activations_and_scale_match_finite_differences() {
    let mut rng = Rng(3);
    // Keep away from ReLU's kink at 0 so the finite difference is meaningful.
    let signed: Vec<f64> = rng
        .vec(10, 0.1, 2.0)
        .iter()
        .enumerate()
        .map(|(i, &v)| if i % 2 == 0 { v } else { -v })
        .collect();
    let positive = vec![rng.vec(10, 0.2, 2.0)];
    let signed = vec![signed];
    check("relu", &[&[2, 5]], &signed, |t, x| {
        weighted_sum(t, t.relu(x[0]))
    });
    check("leaky_relu", &[&[2, 5]], &signed, |t, x| {
        weighted_sum(t, t.leaky_relu(x[0], 0.1))
    });
    check("sigmoid", &[&[2, 5]], &signed, |t, x| {
        weighted_sum(t, t.tensor_sigmoid(x[0]))
    });
    check("tanh", &[&[2, 5]], &signed, |t, x| {
        weighted_sum(t, t.tensor_tanh(x[0]))
    });
    check("gelu", &[&[2, 5]], &signed, |t, x| {
        weighted_sum(t, t.gelu(x[0]))
    });
    check("exp", &[&[2, 5]], &signed, |t, x| {
        weighted_sum(t, t.tensor_exp(x[0]))
    });
    check("log", &[&[2, 5]], &positive, |t, x| {
        weighted_sum(t, t.tensor_log(x[0]))
    });
    check("sqrt", &[&[2, 5]], &positive, |t, x| {
        weighted_sum(t, t.tensor_sqrt(x[0]))
    });
    check("square", &[&[2, 5]], &signed, |t, x| {
        weighted_sum(t, t.square(x[0]))
    });
    check("scale", &[&[2, 5]], &signed, |t, x| {
        weighted_sum(t, t.scale(x[0], -2.5))
    });
}

#[test]
fn reductions_reshape_and_transpose_match_finite_differences() {
    let mut rng = Rng(4);
    let data = vec![rng.vec(24, -1.0, 1.0)];
    let shape: &[usize] = &[2, 3, 4];
    check("sum", &[shape], &data, |t, x| t.sum(t.square(x[0])));
    check("mean", &[shape], &data, |t, x| t.mean(t.square(x[0])));
    for axis in 0..3 {
        check("sum_axis", &[shape], &data, |t, x| {
            weighted_sum(t, t.sum_axis(x[0], axis))
        });
        check("mean_axis", &[shape], &data, |t, x| {
            weighted_sum(t, t.mean_axis(x[0], axis))
        });
    }
    check("reshape", &[shape], &data, |t, x| {
        weighted_sum(t, t.reshape(x[0], &[6, 4]))
    });
    let matrix = vec![rng.vec(12, -1.0, 1.0)];
    check("transpose", &[&[3, 4]], &matrix, |t, x| {
        weighted_sum(t, t.transpose(x[0]))
    });
}

#[test]
fn softmax_family_and_losses_match_finite_differences() {
    let mut rng = Rng(5);
    let logits = vec![rng.vec(12, -2.0, 2.0)];
    check("softmax", &[&[3, 4]], &logits, |t, x| {
        weighted_sum(t, t.softmax(x[0]))
    });
    check("log_softmax", &[&[3, 4]], &logits, |t, x| {
        weighted_sum(t, t.log_softmax(x[0]))
    });
    check("cross_entropy", &[&[3, 4]], &logits, |t, x| {
        t.cross_entropy(x[0], &[0, 3, 1])
    });
    let pair = vec![rng.vec(6, -1.0, 1.0), rng.vec(6, -1.0, 1.0)];
    check("mse", &[&[2, 3], &[2, 3]], &pair, |t, x| t.mse(x[0], x[1]));
}

#[test]
fn fused_linear_layer_matches_its_unfused_composition() {
    let mut rng = Rng(6);
    let data = vec![
        rng.vec(8, -1.0, 1.0),
        rng.vec(12, -1.0, 1.0),
        rng.vec(3, -1.0, 1.0),
    ];
    let shapes: &[&[usize]] = &[&[2, 4], &[4, 3], &[3]];
    for act in [
        autodiff_core::Activation::Identity,
        autodiff_core::Activation::Tanh,
        autodiff_core::Activation::Sigmoid,
    ] {
        check("linear", shapes, &data, |t, x| {
            weighted_sum(t, t.linear(x[0], x[1], x[2], act))
        });
    }
    // ReLU: move pre-activations away from 0 by a large bias, alternating sign.
    let data = vec![
        rng.vec(8, -0.1, 0.1),
        rng.vec(12, -0.1, 0.1),
        vec![1.0, -1.0, 1.0],
    ];
    check("linear relu", shapes, &data, |t, x| {
        weighted_sum(
            t,
            t.linear(x[0], x[1], x[2], autodiff_core::Activation::Relu),
        )
    });
}

#[test]
fn scalar_ops_mix_with_tensor_losses() {
    let mut rng = Rng(7);
    let data = vec![rng.vec(6, -1.0, 1.0)];
    check("loss plus scalar penalty", &[&[2, 3]], &data, |t, x| {
        let s = t.sum(t.square(x[0]));
        let m = t.mean(x[0]);
        // (s + sin m) through scalar ops, then back to a "tensor" handle of the record.
        let v = autodiff_core::Var::from_id(t, s.as_var())
            + autodiff_core::Var::from_id(t, m.as_var()).sin();
        TensorId::from(v.id())
    });
}

#[test]
fn a_small_mlp_full_gradient_matches_finite_differences() {
    use autodiff_core::{Activation, ParamId};
    // 4 → 5 (tanh) → 5 (sigmoid) → 3, cross-entropy over a batch of 3, in f64. Smooth
    // activations, so the finite differences see no kinks.
    let mut mem = common::memory(1 << 20);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let mut rng = Rng(8);
    let shapes: [&[usize]; 6] = [&[4, 5], &[5], &[5, 5], &[5], &[5, 3], &[3]];
    let params: Vec<ParamId> = shapes
        .iter()
        .map(|s| {
            let n = s.iter().product();
            tape.parameter(s, &rng.vec(n, -0.8, 0.8)).unwrap()
        })
        .collect();
    let x = rng.vec(12, -1.0, 1.0);
    let loss = |tape: &mut Tape<f64>| {
        tape.reset();
        let h = tape.tensor_input(&[3, 4], &x);
        let h = tape.linear(
            h,
            tape.param(params[0]),
            tape.param(params[1]),
            Activation::Tanh,
        );
        let h = tape.linear(
            h,
            tape.param(params[2]),
            tape.param(params[3]),
            Activation::Sigmoid,
        );
        let logits = tape.linear(
            h,
            tape.param(params[4]),
            tape.param(params[5]),
            Activation::Identity,
        );
        tape.cross_entropy(logits, &[2, 0, 1])
    };
    let l = loss(&mut tape);
    tape.backward(l.as_var()).unwrap();
    let grads: Vec<Vec<f64>> = params
        .iter()
        .zip(shapes)
        .map(|(&p, s)| {
            let mut g = vec![0.0; s.iter().product()];
            tape.read_param_grad(p, &mut g).unwrap();
            g
        })
        .collect();
    let h = 1e-6;
    let mut checked = 0;
    for (k, (&p, s)) in params.iter().zip(shapes).enumerate() {
        let mut w = vec![0.0; s.iter().product()];
        tape.read_param(p, &mut w).unwrap();
        for i in (0..w.len()).filter(|&i| common::fd_checks(i, w.len())) {
            let mut at = |delta: f64| {
                let mut moved = w.clone();
                moved[i] += delta;
                tape.write_param(p, &moved).unwrap();
                let l = loss(&mut tape).as_var();
                let value = tape.value(l).unwrap();
                tape.write_param(p, &w).unwrap();
                value
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            let ad = grads[k][i];
            assert!(
                (fd - ad).abs() <= 1e-6 * (1.0 + fd.abs()),
                "param {k}[{i}]: finite difference {fd} vs reverse {ad}"
            );
            checked += 1;
        }
    }
    if !cfg!(miri) {
        assert_eq!(checked, 20 + 5 + 25 + 5 + 15 + 3);
    }
}
