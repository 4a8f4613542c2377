//! User-defined ops: their VJP and JVP against central differences and against the
//! same function recorded from built-in ops, replay re-running `forward`, saved state,
//! use inside checkpointed segments and chains and on dual-number tapes, and callbacks
//! that fail or return NaN leaving the tape usable after `reset`.

mod common;

use autodiff_core::checkpoint::{chain_gradient, chain_gradient_store_all, segment_fn, step_fn};
use autodiff_core::{Dual, Error, Real, Result, Tape, UserOp, UserOpPoint, Var, VarId};
use common::{assert_close, central_difference, Rng};
use core::mem::MaybeUninit;

fn memory() -> Vec<MaybeUninit<u8>> {
    vec![MaybeUninit::uninit(); 1 << 14]
}

/// Polar to Cartesian, `(r, θ) → (r cos θ, r sin θ)`, saving `cos θ` and `sin θ` for the
/// derivatives; generic, so it runs on dual numbers too.
#[derive(Clone, Copy)]
struct Polar;

impl<T: Real> UserOp<T> for Polar {
    fn forward(&self, x: &[T], y: &mut [T], state: &mut [T]) -> Result<()> {
        let (c, s) = (x[1].cos(), x[1].sin());
        state[0] = c;
        state[1] = s;
        y[0] = x[0] * c;
        y[1] = x[0] * s;
        Ok(())
    }

    fn vjp(&self, at: UserOpPoint<'_, T>, dy: &[T], dx: &mut [T]) -> Result<()> {
        let (r, c, s) = (at.inputs[0], at.state[0], at.state[1]);
        dx[0] = dy[0] * c + dy[1] * s;
        dx[1] = -(dy[0] * r * s) + dy[1] * r * c;
        Ok(())
    }

    fn jvp(&self, at: UserOpPoint<'_, T>, dx: &[T], dy: &mut [T]) -> Result<()> {
        let (r, c, s) = (at.inputs[0], at.state[0], at.state[1]);
        dy[0] = dx[0] * c - dx[1] * r * s;
        dy[1] = dx[0] * s + dx[1] * r * c;
        Ok(())
    }
}

/// The same op without a JVP.
#[derive(Clone, Copy)]
struct PolarReverseOnly;

impl UserOp<f64> for PolarReverseOnly {
    fn forward(&self, x: &[f64], y: &mut [f64], state: &mut [f64]) -> Result<()> {
        Polar.forward(x, y, state)
    }
    fn vjp(&self, at: UserOpPoint<'_, f64>, dy: &[f64], dx: &mut [f64]) -> Result<()> {
        Polar.vjp(at, dy, dx)
    }
}

/// `f(r, θ, z) = x·y + sin(x) + z·y` where `(x, y)` is polar → Cartesian; `by_op`
/// chooses the user op or built-in ops for the conversion.
fn f<'t>(tape: &'t Tape<'t, f64>, inputs: [Var<'t, f64>; 3], by_op: bool) -> Var<'t, f64> {
    let [r, theta, z] = inputs;
    let (x, y) = if by_op {
        let mut out = [VarId::INVALID; 2];
        tape.user_op(Polar, &[r.id(), theta.id()], &mut out, 2)
            .unwrap();
        (Var::from_id(tape, out[0]), Var::from_id(tape, out[1]))
    } else {
        (r * theta.cos(), r * theta.sin())
    };
    x * y + x.sin() + z * y
}

fn plain_f(p: [f64; 3]) -> f64 {
    let (x, y) = (p[0] * p[1].cos(), p[0] * p[1].sin());
    x * y + x.sin() + p[2] * y
}

#[test]
fn vjp_and_jvp_agree_with_central_differences_and_with_built_in_ops() {
    let mut rng = Rng::seeded("user op polar");
    for _ in 0..if cfg!(miri) { 3 } else { 50 } {
        let p = [
            rng.uniform(0.2, 2.0),
            rng.uniform(-3.0, 3.0),
            rng.uniform(-1.0, 1.0),
        ];
        let (mut mem_op, mut mem_ref) = (memory(), memory());
        let (op_tape, ref_tape) = (
            Tape::<f64>::new(&mut mem_op).unwrap(),
            Tape::<f64>::new(&mut mem_ref).unwrap(),
        );
        let by_op = f(&op_tape, p.map(|v| op_tape.input(v)), true);
        let by_ref = f(&ref_tape, p.map(|v| ref_tape.input(v)), false);
        assert_eq!(by_op.value(), by_ref.value());
        let (mut g, mut h) = ([0.0; 3], [0.0; 3]);
        op_tape.gradient_into(by_op.id(), &mut g).unwrap();
        ref_tape.gradient_into(by_ref.id(), &mut h).unwrap();
        for k in 0..3 {
            let numeric = central_difference(
                |t| {
                    let mut q = p;
                    q[k] = t;
                    plain_f(q)
                },
                p[k],
            );
            assert_close(&format!("vjp {k} at {p:?}"), g[k], numeric, 1e-6);
            assert_close(&format!("vjp {k} vs built-in"), g[k], h[k], 1e-13);
            let mut seeds = [0.0; 3];
            seeds[k] = 1.0;
            op_tape.jvp(&seeds).unwrap();
            assert_close(
                &format!("jvp {k}"),
                op_tape.tangent(by_op.id()).unwrap(),
                g[k],
                1e-13,
            );
        }
    }
}

#[test]
fn replay_runs_forward_again_and_matches_a_fresh_recording_bitwise() {
    let (mut mem, mut fresh_mem) = (memory(), memory());
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let out = f(&tape, [0.5, 0.3, -0.2].map(|v| tape.input(v)), true);
    let at = [1.7, -2.1, 0.9];
    tape.replay(&at).unwrap();
    let fresh = Tape::<f64>::new(&mut fresh_mem).unwrap();
    let fresh_out = f(&fresh, at.map(|v| fresh.input(v)), true);
    assert_eq!(out.value().to_bits(), fresh_out.value().to_bits());
    let (mut g, mut h) = ([0.0; 3], [0.0; 3]);
    tape.gradient_into(out.id(), &mut g).unwrap();
    fresh.gradient_into(fresh_out.id(), &mut h).unwrap();
    assert_eq!(g.map(f64::to_bits), h.map(f64::to_bits));
}

#[test]
fn forward_mode_without_a_jvp_is_refused_and_reverse_mode_still_works() {
    let mut mem = memory();
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (r, theta) = (tape.input(2.0), tape.input(0.5));
    let mut out = [VarId::INVALID; 2];
    tape.user_op(PolarReverseOnly, &[r.id(), theta.id()], &mut out, 2)
        .unwrap();
    assert_eq!(tape.jvp(&[1.0, 0.0]), Err(Error::NoJvp));
    assert_eq!(tape.status(), Ok(()), "a missing JVP is not sticky");
    let grads = tape.gradient(Var::from_id(&tape, out[1])).unwrap();
    assert_close("dy/dθ", grads.wrt(theta), 2.0 * 0.5f64.cos(), 1e-15);
    assert!(Error::NoJvp.to_string().contains("no JVP"));
}

/// An op whose callbacks fail, or give NaN, on request.
#[derive(Clone, Copy)]
struct Faulty {
    fail_forward_above: f64,
    fail_vjp: bool,
    nan: bool,
}

impl UserOp<f64> for Faulty {
    fn forward(&self, x: &[f64], y: &mut [f64], _: &mut [f64]) -> Result<()> {
        if x[0] > self.fail_forward_above {
            return Err(Error::CallbackFailed { code: 7 });
        }
        y[0] = if self.nan { f64::NAN } else { 2.0 * x[0] };
        Ok(())
    }
    fn vjp(&self, _: UserOpPoint<'_, f64>, dy: &[f64], dx: &mut [f64]) -> Result<()> {
        if self.fail_vjp {
            return Err(Error::CallbackFailed { code: 8 });
        }
        dx[0] = 2.0 * dy[0];
        Ok(())
    }
}

/// After `reset`, the tape computes a known gradient again.
fn usable_again(tape: &mut Tape<'_, f64>) {
    tape.reset();
    let x = tape.input(3.0);
    let y = x * x;
    assert_eq!(tape.gradient(y).unwrap().wrt(x), 6.0);
    tape.reset();
}

#[test]
fn failing_and_nan_callbacks_are_sticky_errors_and_reset_clears_them() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let good = Faulty {
        fail_forward_above: f64::INFINITY,
        fail_vjp: false,
        nan: false,
    };
    let mut out = [VarId::INVALID];

    // forward fails when recorded: nothing recorded, outputs invalid, the error kept.
    let x = tape.input_id(1.0);
    let len = tape.len();
    let failing = Faulty {
        fail_forward_above: 0.0,
        ..good
    };
    assert_eq!(
        tape.user_op(failing, &[x], &mut out, 0),
        Err(Error::CallbackFailed { code: 7 })
    );
    assert_eq!(out, [VarId::INVALID]);
    assert_eq!(tape.len(), len);
    assert_eq!(tape.status(), Err(Error::CallbackFailed { code: 7 }));
    usable_again(&mut tape);

    // forward fails when replayed.
    let x = tape.input_id(-1.0);
    tape.user_op(failing, &[x], &mut out, 0).unwrap();
    assert_eq!(tape.replay(&[1.0]), Err(Error::CallbackFailed { code: 7 }));
    assert_eq!(tape.status(), Err(Error::CallbackFailed { code: 7 }));
    usable_again(&mut tape);

    // vjp fails.
    let x = tape.input_id(1.0);
    let op = Faulty {
        fail_vjp: true,
        ..good
    };
    tape.user_op(op, &[x], &mut out, 0).unwrap();
    assert_eq!(
        tape.backward(out[0]),
        Err(Error::CallbackFailed { code: 8 })
    );
    assert!(tape.to_string_for_test().contains("code 8"));
    usable_again(&mut tape);

    // NaN outputs: backward refuses a NaN output, as for any op.
    let x = tape.input_id(1.0);
    tape.user_op(Faulty { nan: true, ..good }, &[x], &mut out, 0)
        .unwrap();
    assert!(matches!(tape.backward(out[0]), Err(Error::NonFinite(_))));
    usable_again(&mut tape);
}

/// The message of the tape's error, for the checks above.
trait ErrorText {
    fn to_string_for_test(&self) -> String;
}

impl ErrorText for Tape<'_, f64> {
    fn to_string_for_test(&self) -> String {
        self.status()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }
}

#[test]
fn bad_arguments_fail_like_any_op() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input_id(1.0);
    assert!(matches!(
        tape.user_op(Polar, &[x, x], &mut [], 0),
        Err(Error::InvalidArgument(_))
    ));
    usable_again(&mut tape);
    let stale = tape.input_id(1.0);
    tape.reset();
    let mut out = [VarId::INVALID; 2];
    assert_eq!(
        tape.user_op(Polar, &[stale, stale], &mut out, 2),
        Err(Error::StaleHandle)
    );
    usable_again(&mut tape);
    // Out of memory: the op does not fit in a tiny arena.
    let mut small = vec![MaybeUninit::uninit(); 4 * Tape::<f64>::bytes_per_record()];
    let mut tiny = Tape::<f64>::new(&mut small).unwrap();
    let (r, t) = (tiny.input_id(1.0), tiny.input_id(1.0));
    assert!(matches!(
        tiny.user_op(Polar, &[r, t], &mut out, 2),
        Err(Error::OutOfMemory { .. })
    ));
    tiny.reset();
    assert!(tiny.status().is_ok());
}

#[test]
fn an_op_inside_a_checkpointed_segment_gives_the_unmarked_gradient_bitwise() {
    let p = [1.3, 0.7, -0.4];
    let (mut mem_a, mut mem_b) = (memory(), memory());
    let marked = Tape::<f64>::new(&mut mem_a).unwrap();
    let inputs = p.map(|v| marked.input_id(v));
    let mut out = [VarId::INVALID];
    let block = segment_fn(
        |tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]| {
            let vars = [0, 1, 2].map(|k| Var::from_id(tape, inputs[k]));
            outputs[0] = f(tape, vars, true).id();
        },
    );
    marked.checkpoint(block, &inputs, &mut out).unwrap();
    let marked_out = Var::from_id(&marked, out[0]).sin();
    let plain = Tape::<f64>::new(&mut mem_b).unwrap();
    let plain_out = f(&plain, p.map(|v| plain.input(v)), true).sin();
    let (mut g, mut h) = ([0.0; 3], [0.0; 3]);
    marked.gradient_into(marked_out.id(), &mut g).unwrap();
    plain.gradient_into(plain_out.id(), &mut h).unwrap();
    assert_eq!(g.map(f64::to_bits), h.map(f64::to_bits));
    // Replay and forward mode through the segment run the op again too.
    marked.replay(&[0.9, -0.3, 0.2]).unwrap();
    assert_eq!(marked_out.value(), plain_f([0.9, -0.3, 0.2]).sin());
    marked.jvp(&[1.0, 0.0, 0.0]).unwrap();
    marked.gradient_into(marked_out.id(), &mut g).unwrap();
    assert!(g.iter().all(|v| v.is_finite()));
}

#[test]
fn an_op_in_every_step_of_a_chain_gives_the_store_all_gradient() {
    // x_{k+1} = polar(x_k) scaled by θ: (r, φ) → θ·(r cos φ, r sin φ).
    let step = || {
        step_fn(
            |tape: &Tape<'_, f64>, _k: usize, x: &[VarId], theta: &[VarId], next: &mut [VarId]| {
                // A failure stays on the tape, which the driver reports.
                let mut out = [VarId::INVALID; 2];
                let _ = tape.user_op(Polar, x, &mut out, 2);
                let t = Var::from_id(tape, theta[0]);
                for (n, o) in next.iter_mut().zip(out) {
                    *n = (Var::from_id(tape, o) * t).id();
                }
            },
        )
    };
    let loss = |tape: &Tape<'_, f64>, x: &[VarId], _: &[VarId]| {
        (Var::from_id(tape, x[0]) + Var::from_id(tape, x[1]) * 0.5).id()
    };
    let (x0, theta) = ([1.1, 0.4], [0.9]);
    let mut mem = vec![MaybeUninit::uninit(); 1 << 18];
    let (mut gx, mut gt, mut sx, mut st) = ([0.0; 2], [0.0; 1], [0.0; 2], [0.0; 1]);
    chain_gradient(&mut mem, 12, 3, &x0, &theta, step(), loss, &mut gx, &mut gt).unwrap();
    chain_gradient_store_all(&mut mem, 12, &x0, &theta, step(), loss, &mut sx, &mut st).unwrap();
    assert_eq!(gx.map(f64::to_bits), sx.map(f64::to_bits));
    assert_eq!(gt.map(f64::to_bits), st.map(f64::to_bits));
    assert!(gx.iter().chain(&gt).all(|g| g.is_finite() && *g != 0.0));
}

#[test]
fn a_generic_op_gives_hessian_vector_products_on_a_dual_tape() {
    let p = [1.2, 0.6, -0.5];
    let v = [0.3, -1.0, 0.7];
    let mut mem = memory();
    let tape = Tape::<Dual<f64>>::new(&mut mem).unwrap();
    let inputs = p.map(|x| tape.input(Dual::new(x, 0.0)));
    let [r, theta, z] = inputs;
    let mut out = [VarId::INVALID; 2];
    tape.user_op(Polar, &[r.id(), theta.id()], &mut out, 2)
        .unwrap();
    let (x, y) = (Var::from_id(&tape, out[0]), Var::from_id(&tape, out[1]));
    let output = x * y + x.sin() + z * y;
    let (mut g, mut hv) = ([0.0; 3], [0.0; 3]);
    tape.hessian_vector_product(output.id(), &p, &v, &mut g, &mut hv)
        .unwrap();
    // ∇²f·v by central differences of the gradient along v.
    let grad_at = |q: [f64; 3]| {
        let mut mem = memory();
        let t = Tape::<f64>::new(&mut mem).unwrap();
        let out = f(&t, q.map(|x| t.input(x)), true);
        let mut g = [0.0; 3];
        t.gradient_into(out.id(), &mut g).unwrap();
        g
    };
    let h = 1e-5;
    let plus = grad_at([0, 1, 2].map(|k| p[k] + h * v[k]));
    let minus = grad_at([0, 1, 2].map(|k| p[k] - h * v[k]));
    for k in 0..3 {
        assert_close(
            &format!("hv {k}"),
            hv[k],
            (plus[k] - minus[k]) / (2.0 * h),
            1e-6,
        );
    }
    assert_eq!(g, grad_at(p));
}
