//! The core built without its `transcendental` feature, as the smallest firmware builds
//! it: recording an op that needs libm (exp, sin, pow, atan2, ...) is refused with an
//! error, not a panic and not a wrong value; everything algebraic works, reverse and
//! forward; the tape is usable after a reset; dual numbers keep every rule. Run with
//! `cargo test -p autodiff-core --no-default-features --features tensor-jvp --test
//! without_transcendental` (`make firmware` does); with default features this file is
//! empty.
#![cfg(not(feature = "transcendental"))]

mod common;

use autodiff_core::{Dual, Error, Op, Real, Tape};
use common::assert_close;

/// The Rosenbrock function of `x` on `tape`, and its gradient by hand.
fn rosenbrock(x: &[f64]) -> (f64, Vec<f64>) {
    let mut f = 0.0;
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let (a, b) = (x[i], x[i + 1]);
        f += 100.0 * (b - a * a).powi(2) + (1.0 - a).powi(2);
        g[i] += -400.0 * a * (b - a * a) - 2.0 * (1.0 - a);
        g[i + 1] += 200.0 * (b - a * a);
    }
    (f, g)
}

#[test]
fn algebraic_ops_differentiate_in_both_modes() {
    let mut memory = common::memory(1 << 16);
    let tape = Tape::<f64>::new(&mut memory).unwrap();
    let at = [0.3, -1.2, 0.8, 1.5];
    let x: Vec<_> = at.iter().map(|&v| tape.input(v)).collect();
    let mut f = tape.constant(0.0);
    for w in x.windows(2) {
        let d = w[1] - w[0] * w[0];
        let e = 1.0 - w[0];
        f = f + 100.0 * d * d + e * e;
    }
    // sqrt, powers, division and abs are algebraic too.
    let extra = (x[0] * x[0] + 1.0).sqrt() / (x[1].abs() + 2.0) + x[2].powi(3);
    let total = f + extra;
    let grads = tape.gradient(total).unwrap();

    let (want_f, mut want_g) = rosenbrock(&at);
    let s = (at[0] * at[0] + 1.0).sqrt();
    let q = at[1].abs() + 2.0;
    want_g[0] += at[0] / s / q;
    want_g[1] += -s / (q * q) * at[1].signum();
    want_g[2] += 3.0 * at[2] * at[2];
    assert_close(
        "value",
        total.value(),
        want_f + s / q + at[2].powi(3),
        1e-12,
    );
    for (k, v) in x.iter().enumerate() {
        assert_close(&format!("reverse d/dx{k}"), grads.wrt(*v), want_g[k], 1e-12);
    }
    // Forward mode along e_1 gives the same partial.
    let seeds: Vec<f64> = (0..at.len())
        .map(|k| if k == 1 { 1.0 } else { 0.0 })
        .collect();
    tape.jvp(&seeds).unwrap();
    assert_close(
        "forward d/dx1",
        tape.tangent(total.id()).unwrap(),
        want_g[1],
        1e-12,
    );
}

#[test]
fn libm_ops_are_refused_and_the_tape_recovers() {
    let mut memory = common::memory(1 << 14);
    let mut tape = Tape::<f32>::new(&mut memory).unwrap();
    for op in [Op::Sin, Op::Exp, Op::Ln, Op::Tanh, Op::Sigmoid, Op::Erf] {
        assert!(op.is_transcendental());
        let x = tape.input(0.5f32);
        let y = tape.unary_id(op, x.id());
        assert!(!y.is_valid(), "{op:?} was recorded");
        assert!(
            matches!(tape.status(), Err(Error::InvalidArgument(_))),
            "{op:?}: {:?}",
            tape.status()
        );
        tape.reset();
    }
    for op in [Op::Pow, Op::Atan2, Op::Hypot] {
        let (a, b) = (tape.input(0.5f32), tape.input(2.0f32));
        assert!(
            !tape.binary_id(op, a.id(), b.id()).is_valid(),
            "{op:?} was recorded"
        );
        assert!(matches!(tape.status(), Err(Error::InvalidArgument(_))));
        tape.reset();
    }
    // The Var methods go the same way.
    let x = tape.input(0.5f32);
    let y = x.sin();
    assert!(!y.id().is_valid());
    assert!(matches!(tape.status(), Err(Error::InvalidArgument(_))));
    tape.reset();
    // After the reset the tape records again.
    let x = tape.input(3.0f32);
    let y = x * x - x;
    assert_eq!(y.value(), 6.0);
    assert_eq!(tape.gradient(y).unwrap().wrt(x), 5.0);
    assert!(!Op::Mul.is_transcendental() && !Op::Sqrt.is_transcendental());
}

#[test]
fn dual_numbers_keep_every_rule() {
    let x = Dual::new(0.7f64, 1.0);
    let y = x.sin() * x.exp();
    let want = 0.7f64.cos() * 0.7f64.exp() + 0.7f64.sin() * 0.7f64.exp();
    assert_close("d(sin x · e^x)/dx", y.tangent, want, 1e-14);
    assert_close("value", y.value, 0.7f64.sin() * 0.7f64.exp(), 1e-15);
}
