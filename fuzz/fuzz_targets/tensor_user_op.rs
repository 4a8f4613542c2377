//! Tensor user ops on random tensor programs: a differential oracle against built-in
//! tensor ops, and callbacks that misbehave.
//!
//! A program over one input tensor of a random shape (rank 1 to 3) applies a chain of
//! elementwise ops, softmaxes and scalings; each softmax is a user op (forward, VJP,
//! JVP written by hand) in one recording and the built-in `softmax` in the other, and a
//! user op that doubles its input may stand anywhere in both (in the reference, as
//! `scale(2)`), configured to fail its forward, VJP or JVP, give NaN, or have no JVP.
//! Checked:
//!
//! - values agree within rounding, and so do gradients and tangents where the values
//!   stay moderate;
//! - a failing callback's error is exactly `CallbackFailed` with its code and sticks to
//!   the tape (a missing JVP is `NoJvp` and does not), NaN is a value, and after `reset`
//!   the tape records and differentiates again;
//! - replay at a second input gives a fresh recording's values and gradient bit for bit.
//!
//! Nothing may panic.
#![no_main]

use autodiff_core::{
    Activation, Error, Float, Result, Shape, Tape, TensorArgs, TensorArgsMut, TensorId,
    TensorUserOp, TensorUserOpPoint,
};
use autodiff_fuzz::Bytes;
use core::mem::MaybeUninit;
use libfuzzer_sys::fuzz_target;

const MAX_STEPS: usize = 8;
const MEM: usize = 1 << 17;
const ACTIVATIONS: [Activation; 4] = [
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Square,
    Activation::Identity,
];

/// Softmax along the last axis.
#[derive(Clone, Copy)]
struct Softmax;

/// `d = y ⊙ (s − Σ y ⊙ s)` row by row: the VJP and (the Jacobian is symmetric) the JVP.
fn softmax_derivative<T: Float>(y: &[T], s: &[T], d: &mut [T], width: usize) {
    let rows = y.chunks_exact(width).zip(s.chunks_exact(width));
    for ((y, s), d) in rows.zip(d.chunks_exact_mut(width)) {
        let dot = y.iter().zip(s).fold(T::zero(), |acc, (&y, &s)| acc + y * s);
        for ((d, &y), &s) in d.iter_mut().zip(y).zip(s) {
            *d = y * (s - dot);
        }
    }
}

fn width(args: &TensorArgs<'_, f64>) -> usize {
    args.shape(0).last().copied().unwrap_or(1).max(1)
}

impl TensorUserOp<f64> for Softmax {
    fn forward(
        &self,
        x: TensorArgs<'_, f64>,
        mut y: TensorArgsMut<'_, f64>,
        _: &mut [f64],
    ) -> Result<()> {
        let w = width(&x);
        for (x, y) in x
            .data(0)
            .chunks_exact(w)
            .zip(y.data_mut(0).chunks_exact_mut(w))
        {
            let max = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
            let mut total = 0.0;
            for (y, &x) in y.iter_mut().zip(x) {
                *y = (x - max).exp();
                total += *y;
            }
            y.iter_mut().for_each(|y| *y /= total);
        }
        Ok(())
    }
    fn vjp(
        &self,
        at: TensorUserOpPoint<'_, f64>,
        dy: TensorArgs<'_, f64>,
        mut dx: TensorArgsMut<'_, f64>,
    ) -> Result<()> {
        softmax_derivative(
            at.outputs.data(0),
            dy.data(0),
            dx.data_mut(0),
            width(&at.inputs),
        );
        Ok(())
    }
    fn jvp(
        &self,
        at: TensorUserOpPoint<'_, f64>,
        dx: TensorArgs<'_, f64>,
        mut dy: TensorArgsMut<'_, f64>,
    ) -> Result<()> {
        softmax_derivative(
            at.outputs.data(0),
            dx.data(0),
            dy.data_mut(0),
            width(&at.inputs),
        );
        Ok(())
    }
}

/// `y = 2x`, with callbacks that misbehave on request.
#[derive(Clone, Copy, Debug, Default)]
struct Double {
    fail_forward: bool,
    fail_vjp: bool,
    fail_jvp: bool,
    no_jvp: bool,
    nan: bool,
}

impl TensorUserOp<f64> for Double {
    fn forward(
        &self,
        x: TensorArgs<'_, f64>,
        mut y: TensorArgsMut<'_, f64>,
        state: &mut [f64],
    ) -> Result<()> {
        if self.fail_forward {
            return Err(Error::CallbackFailed { code: 11 });
        }
        state[0] += 1.0; // the state persists between calls
        for (y, &x) in y.data_mut(0).iter_mut().zip(x.data(0)) {
            *y = if self.nan { f64::NAN } else { 2.0 * x };
        }
        Ok(())
    }
    fn vjp(
        &self,
        _: TensorUserOpPoint<'_, f64>,
        dy: TensorArgs<'_, f64>,
        mut dx: TensorArgsMut<'_, f64>,
    ) -> Result<()> {
        if self.fail_vjp {
            return Err(Error::CallbackFailed { code: 12 });
        }
        dx.data_mut(0)
            .iter_mut()
            .zip(dy.data(0))
            .for_each(|(d, &g)| *d = 2.0 * g);
        Ok(())
    }
    fn jvp(
        &self,
        _: TensorUserOpPoint<'_, f64>,
        dx: TensorArgs<'_, f64>,
        mut dy: TensorArgsMut<'_, f64>,
    ) -> Result<()> {
        if self.no_jvp {
            return Err(Error::NoJvp);
        }
        if self.fail_jvp {
            return Err(Error::CallbackFailed { code: 13 });
        }
        dy.data_mut(0)
            .iter_mut()
            .zip(dx.data(0))
            .for_each(|(d, &t)| *d = 2.0 * t);
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Activation(Activation),
    Softmax,
    Scale(f64),
    Double(Double),
}

fn generate(b: &mut Bytes) -> (Vec<usize>, Vec<Step>) {
    let dims: Vec<usize> = (0..1 + b.below(3)).map(|_| 1 + b.below(4)).collect();
    let steps = (0..1 + b.below(MAX_STEPS))
        .map(|_| match b.below(4) {
            0 => Step::Activation(b.pick(&ACTIVATIONS)),
            1 => Step::Softmax,
            2 => Step::Scale(b.input_f64()),
            _ => Step::Double(Double {
                fail_forward: b.one_in(8),
                fail_vjp: b.one_in(8),
                fail_jvp: b.one_in(8),
                no_jvp: b.one_in(8),
                nan: b.one_in(8),
            }),
        })
        .collect();
    (dims, steps)
}

/// Records the program; returns the input and the loss (the sum of the last tensor), or
/// the error of a user op that failed when recorded.
fn record(
    tape: &Tape<'_, f64>,
    dims: &[usize],
    x: &[f64],
    steps: &[Step],
    by_op: bool,
) -> core::result::Result<(TensorId, TensorId), Error> {
    let input = tape.tensor_input(dims, x);
    let shape = Shape::new(dims).expect("a small shape");
    let mut t = input;
    for &step in steps {
        let user_op = |op: &dyn Fn(&mut [TensorId]) -> Result<()>| {
            let mut out = [TensorId::INVALID];
            op(&mut out).map(|()| out[0])
        };
        t = match step {
            Step::Activation(a) => tape.activation(t, a),
            Step::Scale(c) => tape.scale(t, c),
            Step::Softmax if by_op => {
                user_op(&|out| tape.tensor_user_op(Softmax, &[t], &[shape], out, 0))?
            }
            Step::Softmax => tape.softmax(t),
            Step::Double(op) => user_op(&|out| tape.tensor_user_op(op, &[t], &[shape], out, 1))?,
        };
    }
    Ok((input, tape.sum(t)))
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-7 * a.abs().max(b.abs()).max(1.0)
}

fn grad(
    tape: &Tape<'_, f64>,
    input: TensorId,
    loss: TensorId,
    len: usize,
) -> core::result::Result<Vec<f64>, Error> {
    tape.backward(loss.as_var())?;
    let mut g = vec![0.0; len];
    tape.tensor_grad(input, &mut g).map(|()| g)
}

/// The reference program: every `Double` as `scale(2)`, softmax built in.
fn reference(steps: &[Step]) -> Vec<Step> {
    steps
        .iter()
        .map(|&s| match s {
            Step::Double(_) => Step::Scale(2.0),
            other => other,
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let (dims, steps) = generate(&mut b);
    let len: usize = dims.iter().product();
    let x: Vec<f64> = (0..len).map(|_| b.input_f64()).collect();
    let x2: Vec<f64> = (0..len).map(|_| b.input_f64()).collect();
    let faults = steps.iter().filter_map(|s| match s {
        Step::Double(d) => Some(*d),
        _ => None,
    });
    let (fail_forward, fail_vjp, fail_jvp, no_jvp, nan) =
        faults.fold((false, false, false, false, false), |f, d| {
            (
                f.0 || d.fail_forward,
                f.1 || d.fail_vjp,
                f.2 || d.fail_jvp,
                f.3 || d.no_jvp,
                f.4 || d.nan,
            )
        });

    let (mut mem, mut ref_mem, mut fresh_mem) = (
        vec![MaybeUninit::uninit(); MEM],
        vec![MaybeUninit::uninit(); MEM],
        vec![MaybeUninit::uninit(); MEM],
    );
    let mut tape = Tape::<f64>::new(&mut mem).expect("tape");
    let recorded = record(&tape, &dims, &x, &steps, true);
    if fail_forward {
        assert_eq!(recorded.err(), Some(Error::CallbackFailed { code: 11 }));
        assert_eq!(tape.status(), Err(Error::CallbackFailed { code: 11 }));
        tape.reset();
        let (input, loss) =
            record(&tape, &dims, &x, &[Step::Softmax], true).expect("records after reset");
        grad(&tape, input, loss, len).expect("differentiates after reset");
        return;
    }
    let (input, loss) = recorded.expect("records");
    let plain = Tape::<f64>::new(&mut ref_mem).expect("tape");
    let (p_input, p_loss) = record(&plain, &dims, &x, &reference(&steps), false).expect("records");
    let (value, p_value) = (
        tape.value(loss.as_var()).expect("live"),
        plain.value(p_loss.as_var()).expect("live"),
    );
    if nan {
        assert!(value.is_nan(), "a NaN output flows on: {value}");
        assert!(matches!(
            tape.backward(loss.as_var()),
            Err(Error::NonFinite(_))
        ));
        return;
    }
    let moderate = p_value.is_finite() && p_value.abs() < 1e6 && x.iter().all(|v| v.abs() < 1e3);
    if moderate {
        assert!(
            close(value, p_value),
            "value: user op {value} vs built-in {p_value}"
        );
    }
    let g = grad(&tape, input, loss, len);
    if fail_vjp {
        match g {
            Err(Error::CallbackFailed { code: 12 }) => {
                assert_eq!(tape.status(), Err(Error::CallbackFailed { code: 12 }));
                tape.reset();
                let (input, loss) =
                    record(&tape, &dims, &x, &[Step::Softmax], true).expect("records after reset");
                grad(&tape, input, loss, len).expect("differentiates after reset");
            }
            // The output is not finite, or every gradient reaching the op is zero (its
            // VJP is then skipped).
            Err(Error::NonFinite(_)) => assert!(!value.is_finite()),
            Ok(_) => {}
            Err(other) => panic!("backward: {other}"),
        }
        return;
    }
    let (Ok(g), Ok(h)) = (g, grad(&plain, p_input, p_loss, len)) else {
        return;
    };
    if moderate && g.iter().chain(&h).all(|v| v.abs() < 1e6) {
        for k in 0..len {
            assert!(
                close(g[k], h[k]),
                "gradient {k}: user op {} vs built-in {}",
                g[k],
                h[k]
            );
        }
    }
    let seed: Vec<f64> = (0..len).map(|k| if k == 0 { 1.0 } else { 0.0 }).collect();
    tape.seed_tensor_tangent(input, &seed).expect("seed");
    match tape.jvp(&[]) {
        Err(Error::NoJvp) => {
            assert!(no_jvp);
            assert_eq!(tape.status(), Ok(()), "a missing JVP is not sticky");
        }
        Err(Error::CallbackFailed { code: 13 }) => {
            assert!(fail_jvp);
            assert_eq!(tape.status(), Err(Error::CallbackFailed { code: 13 }));
            tape.reset();
            return;
        }
        Err(other) => panic!("jvp: {other}"),
        Ok(()) => {
            assert!(!no_jvp && !fail_jvp);
            let t = tape.tangent(loss.as_var()).expect("tangent");
            if moderate && g[0].abs() < 1e6 {
                assert!(close(t, g[0]), "tangent {t} vs gradient {}", g[0]);
            }
        }
    }

    // Replay at x2 against a fresh recording there.
    tape.set_tensor_value(input, &x2).expect("set");
    tape.replay(&[]).expect("replay");
    let fresh = Tape::<f64>::new(&mut fresh_mem).expect("tape");
    let (f_input, f_loss) = record(&fresh, &dims, &x2, &steps, true).expect("records");
    let (v, fv) = (
        tape.value(loss.as_var()).expect("live"),
        fresh.value(f_loss.as_var()).expect("live"),
    );
    assert_eq!(v.to_bits(), fv.to_bits(), "value after replay");
    match (
        grad(&tape, input, loss, len),
        grad(&fresh, f_input, f_loss, len),
    ) {
        (Ok(g), Ok(h)) => assert_eq!(
            g.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            h.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        ),
        (g, h) => assert_eq!(g.is_ok(), h.is_ok(), "{g:?} vs {h:?}"),
    }
});
