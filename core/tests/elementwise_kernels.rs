//! Elementwise kernels against plain references, and softmax cross-entropy against
//! finite differences.

use autodiff_core::kernels::elementwise as ew;
use autodiff_core::Error;

#[path = "common/kernel_data.rs"]
mod kernel_data;
use kernel_data::sized;
mod common;
use common::Rng;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn bias_relu_forward_matches_reference() {
    let mut rng = Rng::from_seed(10);
    for &(rows, cols) in &[(1, 1), (3, 7), (sized(64, 6), sized(100, 13)), (5, 33)] {
        let x32: Vec<f32> = rng
            .vec(rows * cols, -1.0, 1.0)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let b32: Vec<f32> = rng.vec(cols, -1.0, 1.0).iter().map(|&v| v as f32).collect();
        let want: Vec<f32> = (0..rows * cols)
            .map(|i| (x32[i] + b32[i % cols]).max(0.0))
            .collect();
        let mut y = vec![f32::NAN; rows * cols];
        ew::bias_relu(rows, cols, &x32, &b32, &mut y).unwrap();
        assert_eq!(y, want);
        let mut z = x32.clone();
        ew::bias_relu_in_place(rows, cols, &mut z, &b32).unwrap();
        assert_eq!(z, want);
        let mut z = x32.clone();
        ew::bias_add_in_place(rows, cols, &mut z, &b32).unwrap();
        let want_add: Vec<f32> = (0..rows * cols).map(|i| x32[i] + b32[i % cols]).collect();
        assert_eq!(z, want_add);
    }
    // NaN pre-activations give 0, like max(NaN, 0) as a select.
    let mut y = [1.0f64; 2];
    ew::bias_relu(1, 2, &[f64::NAN, -1.0], &[0.0, 0.5], &mut y).unwrap();
    assert_eq!(y, [0.0, 0.0]);
    let mut y = [0.0f32; 6];
    assert!(ew::bias_relu(2, 3, &[0.0; 5], &[0.0; 3], &mut y).is_err());
    assert!(ew::bias_relu(2, 3, &[0.0; 6], &[0.0; 2], &mut y).is_err());
    assert!(ew::bias_relu_in_place(2, 3, &mut y, &[0.0; 4]).is_err());
    assert_eq!(
        ew::bias_relu(usize::MAX, 3, &[0.0; 6], &[0.0; 3], &mut y),
        Err(Error::SizeOverflow)
    );
}

#[test]
fn relu_backward_is_a_mask() {
    let mut rng = Rng::from_seed(11);
    let y: Vec<f64> = rng
        .vec(1000, -1.0, 1.0)
        .iter()
        .map(|&v| if v < -0.3 { 0.0 } else { v })
        .collect();
    let g = rng.vec(1000, -1.0, 1.0);
    let want: Vec<f64> = y
        .iter()
        .zip(&g)
        .map(|(&yv, &gv)| if yv > 0.0 { gv } else { 0.0 })
        .collect();
    let mut gi = vec![f64::NAN; 1000];
    ew::relu_backward(&y, &g, &mut gi).unwrap();
    assert_eq!(gi, want);
    let mut g2 = g.clone();
    ew::relu_backward_in_place(&y, &mut g2).unwrap();
    assert_eq!(g2, want);
    // Masked-off lanes are exactly zero even for non-finite gradients.
    let mut out = [1.0f32; 3];
    ew::relu_backward(&[0.0, -1.0, 2.0], &[f32::NAN, f32::INFINITY, 3.0], &mut out).unwrap();
    assert_eq!(out, [0.0, 0.0, 3.0]);
    assert!(ew::relu_backward(&[0.0f32; 3], &[0.0; 2], &mut out).is_err());
    assert!(ew::relu_backward_in_place(&[0.0f32; 2], &mut out).is_err());
}

#[test]
fn bias_grad_sums_columns() {
    let mut rng = Rng::from_seed(12);
    for &(rows, cols) in &[(1, 1), (sized(64, 6), sized(100, 13)), (7, 3), (0, 4)] {
        let dc = rng.vec(rows * cols, -1.0, 1.0);
        let mut want = vec![0.0; cols];
        for r in 0..rows {
            for c in 0..cols {
                want[c] += dc[r * cols + c];
            }
        }
        let mut db = vec![f64::NAN; cols];
        ew::bias_grad(rows, cols, &dc, &mut db, false).unwrap();
        assert_eq!(db, want);
        let mut acc = vec![1.0; cols];
        ew::bias_grad(rows, cols, &dc, &mut acc, true).unwrap();
        for (a, w) in acc.iter().zip(&want) {
            assert!(close(*a, w + 1.0, 1e-12));
        }
    }
    assert!(ew::bias_grad(2, 3, &[0.0f32; 6], &mut [0.0; 2], false).is_err());
    assert!(ew::bias_grad(2, 3, &[0.0f32; 5], &mut [0.0; 3], false).is_err());
}

#[test]
fn sgd_variants_match_reference() {
    let mut rng = Rng::from_seed(13);
    let n = 37;
    let w0 = rng.vec(n, -1.0, 1.0);
    let g = rng.vec(n, -1.0, 1.0);
    let mut w = w0.clone();
    ew::sgd(0.1, &mut w, &g).unwrap();
    for i in 0..n {
        assert!(close(w[i], w0[i] - 0.1 * g[i], 1e-15));
    }
    let mut w = w0.clone();
    ew::sgd_weight_decay(0.1, 0.01, &mut w, &g).unwrap();
    for i in 0..n {
        assert!(close(w[i], w0[i] - 0.1 * (g[i] + 0.01 * w0[i]), 1e-15));
    }
    for nesterov in [false, true] {
        let p = ew::SgdMomentum {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.01,
            nesterov,
        };
        let (mut w, mut v) = (w0.clone(), vec![0.0; n]);
        let (mut rw, mut rv) = (w0.clone(), vec![0.0; n]);
        for _ in 0..3 {
            ew::sgd_momentum(&p, &mut w, &g, &mut v).unwrap();
            for i in 0..n {
                let d = g[i] + 0.01 * rw[i];
                rv[i] = 0.9 * rv[i] + d;
                rw[i] -= 0.1 * if nesterov { d + 0.9 * rv[i] } else { rv[i] };
            }
        }
        for i in 0..n {
            assert!(close(w[i], rw[i], 1e-14) && close(v[i], rv[i], 1e-14));
        }
    }
    assert!(ew::sgd(0.1f32, &mut [0.0; 3], &[0.0; 2]).is_err());
    let p = ew::SgdMomentum {
        lr: 0.1f32,
        momentum: 0.9,
        weight_decay: 0.0,
        nesterov: false,
    };
    assert!(ew::sgd_momentum(&p, &mut [0.0; 3], &[0.0; 3], &mut [0.0; 2]).is_err());
}

#[test]
fn adam_matches_reference() {
    let mut rng = Rng::from_seed(14);
    let n = 29;
    let w0 = rng.vec(n, -1.0, 1.0);
    for (wd, decoupled) in [(0.0, false), (0.01, false), (0.01, true)] {
        let p = ew::Adam {
            weight_decay: wd,
            decoupled,
            ..ew::Adam::new(1e-2f64)
        };
        let (mut w, mut m, mut v) = (w0.clone(), vec![0.0; n], vec![0.0; n]);
        let (mut rw, mut rm, mut rv) = (w0.clone(), vec![0.0; n], vec![0.0; n]);
        for step in 1..=4u64 {
            let g = rng.vec(n, -1.0, 1.0);
            ew::adam(&p, step, &mut w, &g, &mut m, &mut v).unwrap();
            for i in 0..n {
                let mut gi = g[i];
                if decoupled {
                    rw[i] -= 1e-2 * wd * rw[i];
                } else {
                    gi += wd * rw[i];
                }
                rm[i] = 0.9 * rm[i] + 0.1 * gi;
                rv[i] = 0.999 * rv[i] + 0.001 * gi * gi;
                let mh = rm[i] / (1.0 - 0.9f64.powi(step as i32));
                let vh = rv[i] / (1.0 - 0.999f64.powi(step as i32));
                rw[i] -= 1e-2 * mh / (vh.sqrt() + 1e-8);
            }
        }
        for i in 0..n {
            assert!(close(w[i], rw[i], 1e-12), "{} vs {}", w[i], rw[i]);
        }
    }
    let p = ew::Adam::new(1e-3f32);
    assert!(ew::adam(
        &p,
        0,
        &mut [0.0; 2],
        &[0.0; 2],
        &mut [0.0; 2],
        &mut [0.0; 2]
    )
    .is_err());
    assert!(ew::adam(
        &p,
        1,
        &mut [0.0; 2],
        &[0.0; 2],
        &mut [0.0; 1],
        &mut [0.0; 2]
    )
    .is_err());
}

fn ce_reference(rows: usize, classes: usize, x: &[f64], labels: &[u32]) -> f64 {
    let mut total = 0.0;
    for r in 0..rows {
        let row = &x[r * classes..(r + 1) * classes];
        let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = mx + row.iter().map(|&v| (v - mx).exp()).sum::<f64>().ln();
        total += lse - row[labels[r] as usize];
    }
    total / rows as f64
}

#[test]
fn softmax_cross_entropy_gradient_matches_finite_differences() {
    let mut rng = Rng::from_seed(15);
    for &(rows, classes) in &[(1, 1), (1, 10), (4, 3), (8, 10)] {
        let x: Vec<f64> = rng
            .vec(rows * classes, -1.0, 1.0)
            .iter()
            .map(|v| 3.0 * v)
            .collect();
        let labels: Vec<u32> = (0..rows).map(|_| rng.below(0, classes) as u32).collect();
        let mut grad = vec![f64::NAN; rows * classes];
        let loss = ew::softmax_cross_entropy(rows, classes, &x, &labels, &mut grad).unwrap();
        assert!(close(loss, ce_reference(rows, classes, &x, &labels), 1e-13));
        let h = 1e-6;
        for i in 0..rows * classes {
            let mut xp = x.clone();
            xp[i] += h;
            let mut xm = x.clone();
            xm[i] -= h;
            let fd = (ce_reference(rows, classes, &xp, &labels)
                - ce_reference(rows, classes, &xm, &labels))
                / (2.0 * h);
            assert!(
                (grad[i] - fd).abs() < 1e-8,
                "row-major index {i}: {} vs {fd}",
                grad[i]
            );
        }
        // Each row of the gradient sums to zero.
        for r in 0..rows {
            let s: f64 = grad[r * classes..(r + 1) * classes].iter().sum();
            assert!(s.abs() < 1e-15);
        }
    }
}

#[test]
fn softmax_cross_entropy_is_stable_and_validates() {
    // Huge logits: the max is subtracted, so nothing overflows.
    let x = [1000.0f32, 0.0, -1000.0, 500.0, 500.0, 500.0];
    let mut g = [0.0f32; 6];
    let loss = ew::softmax_cross_entropy(2, 3, &x, &[0, 1], &mut g).unwrap();
    assert!(loss.is_finite());
    let want = (0.0 + 3.0f64.ln()) / 2.0;
    assert!((loss as f64 - want).abs() < 1e-6);
    // (softmax − one-hot) / rows: row 0 is certain and right, row 1 uniform over three.
    let want = [0.0, 0.0, 0.0, 1.0 / 6.0, -1.0 / 3.0, 1.0 / 6.0];
    for (i, (&got, &want)) in g.iter().zip(&want).enumerate() {
        assert!(
            (f64::from(got) - want).abs() < 1e-6,
            "g[{i}] = {got}, want {want}"
        );
    }
    let mut g = [0.0f64; 6];
    assert!(ew::softmax_cross_entropy(2, 3, &[0.0; 6], &[0, 3], &mut g).is_err());
    assert!(ew::softmax_cross_entropy(2, 3, &[0.0; 6], &[0], &mut g).is_err());
    assert!(ew::softmax_cross_entropy(2, 3, &[0.0; 5], &[0, 1], &mut g).is_err());
    assert!(ew::softmax_cross_entropy::<f32>(2, 0, &[], &[0, 1], &mut []).is_err());
    assert_eq!(
        ew::softmax_cross_entropy::<f64>(0, 3, &[], &[], &mut []),
        Ok(0.0)
    );
}
