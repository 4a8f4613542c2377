//! C generated from a tape computes what the tape computes: values, vector-Jacobian
//! products and Jacobian-vector products, for Rosenbrock, the transcendental chain,
//! one RK4 step of the reaction-diffusion ODE (examples/ode_adjoint.c), a small MLP's
//! loss, and every op. Where the records use only `+ − × ÷` and constants (Rosenbrock,
//! RK4), the results must be equal bit for bit; where they call transcendentals,
//! `<math.h>` and the library's `libm` may round differently in the last place, so
//! those are compared to a tolerance and the count of bitwise-equal results is printed.
//! The generated files also compile freestanding with `-Wall -Wextra -Werror -pedantic`
//! for the host and for a Cortex-M4.
//!
//! Not under Miri, which cannot run a C compiler.
#![cfg(not(miri))]

mod common;
#[path = "codegen/harness.rs"]
mod harness;

use autodiff_core::codegen::CodeOptions;
use autodiff_core::{Error, Op, Real, Tape, Var, VarId};
use common::{memory, Rng};
use harness::{assert_bitwise, assert_close, compare_with_tape};

fn uniform_vec(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.uniform(lo, hi)).collect()
}

/// Inputs recorded at one point, a second point to replay and run at, seeds.
struct Point {
    record_at: Vec<f64>,
    run_at: Vec<f64>,
    y_bar: Vec<f64>,
    x_dot: Vec<f64>,
}

fn point(name: &str, inputs: usize, outputs: usize, lo: f64, hi: f64) -> Point {
    let mut rng = Rng::seeded(name);
    Point {
        record_at: uniform_vec(&mut rng, inputs, lo, hi),
        run_at: uniform_vec(&mut rng, inputs, lo, hi),
        y_bar: if outputs == 1 {
            vec![1.0]
        } else {
            uniform_vec(&mut rng, outputs, -1.0, 1.0)
        },
        x_dot: uniform_vec(&mut rng, inputs, -1.0, 1.0),
    }
}

/// A constant of the element type, for generic workloads.
fn k<T: Real>(value: f64) -> T {
    T::from_f64(value)
}

/// `c − x` and `c / x`, as `c - x` and `c / x` record them for a concrete float.
fn rsub<'t, T: Real>(c: f64, x: Var<'t, T>) -> Var<'t, T> {
    Var::from_id(
        x.tape(),
        x.tape().const_binary_id(Op::Sub, k::<T>(c), x.id()),
    )
}

fn rdiv<'t, T: Real>(c: f64, x: Var<'t, T>) -> Var<'t, T> {
    Var::from_id(
        x.tape(),
        x.tape().const_binary_id(Op::Div, k::<T>(c), x.id()),
    )
}

fn narrow<T: Real>(values: &[f64]) -> Vec<T> {
    values.iter().map(|&v| T::from_f64(v)).collect()
}

/// Records `f` at `p.record_at`, then compares the tape and the generated code at
/// `p.run_at`.
fn compare<T: autodiff_core::PortableFloat>(
    tag: &str,
    p: &Point,
    f: impl for<'t> Fn(&'t Tape<'t, T>, &[Var<'t, T>]) -> Vec<Var<'t, T>>,
) -> Vec<harness::Pair<T>> {
    let mut mem = memory(1 << 22);
    let tape = Tape::<T>::new(&mut mem).unwrap();
    let inputs: Vec<Var<'_, T>> = p
        .record_at
        .iter()
        .map(|&v| tape.input(T::from_f64(v)))
        .collect();
    let outputs: Vec<VarId> = f(&tape, &inputs).iter().map(|v| v.id()).collect();
    tape.status().unwrap();
    let input_ids: Vec<VarId> = inputs.iter().map(|v| v.id()).collect();
    compare_with_tape(
        &tape,
        &input_ids,
        &outputs,
        tag,
        &narrow::<T>(&p.run_at),
        &narrow::<T>(&p.y_bar),
        &narrow::<T>(&p.x_dot),
    )
}

fn rosenbrock<'t, T: Real>(tape: &'t Tape<'t, T>, x: &[Var<'t, T>]) -> Vec<Var<'t, T>> {
    let mut f = tape.constant(T::zero());
    for w in x.windows(2) {
        let a = w[1] - w[0] * w[0];
        let b = rsub(1.0, w[0]);
        f = f + (a * k::<T>(100.0) * a + b * b);
    }
    vec![f]
}

fn chain<'t, T: Real>(tape: &'t Tape<'t, T>, x: &[Var<'t, T>]) -> Vec<Var<'t, T>> {
    let mut f = tape.constant(T::zero());
    for w in x.windows(2) {
        let (xi, xn) = (w[0], w[1]);
        let a2 = xi * xi + k::<T>(1.0);
        f = f
            + (xi.sin() * (xn * k::<T>(0.01)).exp()
                + a2.ln()
                + (xn * xn + k::<T>(1.0)).sqrt() / a2);
    }
    vec![f]
}

/// One RK4 step of examples/ode_adjoint.c's reaction-diffusion system with D points:
/// inputs are u[D], then kappa, r and q[D]; outputs the next u.
const D: usize = 8;

fn rk4_step<'t, T: Real>(_tape: &'t Tape<'t, T>, x: &[Var<'t, T>]) -> Vec<Var<'t, T>> {
    let dt = 1e-4;
    let inv_dx2 = (D * D) as f64;
    let (u, p) = x.split_at(D);
    let (kappa, r, q) = (p[0], p[1], &p[2..]);
    let rhs = |u: &[Var<'t, T>]| -> Vec<Var<'t, T>> {
        (0..D)
            .map(|i| {
                let (left, right) = (u[(i + D - 1) % D], u[(i + 1) % D]);
                let lap = (right + left - u[i] * k::<T>(2.0)) * k::<T>(inv_dx2);
                kappa * lap + r * u[i] * rsub(1.0, u[i]) + q[i]
            })
            .collect()
    };
    let stage = |s: &[Var<'t, T>], h: f64| -> Vec<Var<'t, T>> {
        (0..D).map(|i| u[i] + s[i] * k::<T>(h)).collect()
    };
    let k1 = rhs(u);
    let k2 = rhs(&stage(&k1, dt / 2.0));
    let k3 = rhs(&stage(&k2, dt / 2.0));
    let k4 = rhs(&stage(&k3, dt));
    (0..D)
        .map(|i| u[i] + (k1[i] + (k2[i] + k3[i]) * k::<T>(2.0) + k4[i]) * k::<T>(dt / 6.0))
        .collect()
}

/// A 2-8-1 tanh MLP's mean squared error over four fixed samples; the inputs are the
/// 33 weights and biases.
const MLP_PARAMS: usize = 2 * 8 + 8 + 8 + 1;

fn mlp_loss<'t, T: Real>(tape: &'t Tape<'t, T>, w: &[Var<'t, T>]) -> Vec<Var<'t, T>> {
    let samples = [
        ([0.5, -1.0], 0.25),
        ([1.5, 0.5], -0.5),
        ([-0.75, 0.25], 1.0),
        ([0.0, 2.0], 0.0),
    ];
    let (w1, rest) = w.split_at(16);
    let (b1, rest) = rest.split_at(8);
    let (w2, b2) = rest.split_at(8);
    let mut loss = tape.constant(T::zero());
    for (x, target) in samples {
        let mut out = b2[0];
        for j in 0..8 {
            let h = (w1[2 * j] * k::<T>(x[0]) + w1[2 * j + 1] * k::<T>(x[1]) + b1[j]).tanh();
            out = out + w2[j] * h;
        }
        let err = out - k::<T>(target);
        loss = loss + err * err;
    }
    vec![loss * k::<T>(0.25)]
}

/// Every op once or more, each its own output, arguments kept inside the domains.
fn every_op<'t, T: Real>(tape: &'t Tape<'t, T>, x: &[Var<'t, T>]) -> Vec<Var<'t, T>> {
    // x in [0.2, 0.8]: inside every domain once shifted.
    let (a, b) = (x[0], x[1]);
    let big = a + k::<T>(1.5); // > 1, for acosh
    let third = tape.constant(T::from_f64(1.0 / 3.0)); // not exact in f32 for f64: a Const record
    vec![
        a + b,
        a - b,
        a * b,
        a / b,
        a.pow(b),
        a.powf(T::from_f64(2.5)),
        a.atan2(b),
        a.min(b),
        a.max(b),
        b.min(a),
        a.hypot(b),
        -a,
        a.recip(),
        a.powi(3),
        a.powi(-2),
        a.powi(0),
        a.sqrt(),
        a.cbrt(),
        a.exp(),
        a.exp_m1(),
        a.ln(),
        a.ln_1p(),
        a.log2(),
        a.log10(),
        a.sin(),
        a.cos(),
        a.tan(),
        a.asin(),
        a.acos(),
        a.atan(),
        a.sinh(),
        a.cosh(),
        a.tanh(),
        a.asinh(),
        big.acosh(),
        a.atanh(),
        (a - b).abs(),
        (a - k::<T>(0.5)).sigmoid(),
        (b - k::<T>(0.5)).sigmoid(),
        (a - k::<T>(0.5)).softplus(),
        (b - k::<T>(5.0)).softplus(),
        a.erf(),
        a + k::<T>(0.5),
        a * k::<T>(0.25),
        a / k::<T>(0.5),
        rsub(2.0, a),
        rdiv(2.0, a),
        a * third,
        a * k::<T>(0.1),
        a * a,
    ]
    .into_iter()
    .map(|v| v * (b + k::<T>(1.0)))
    .collect()
}

#[test]
fn rosenbrock_is_bitwise_the_tapes_in_f64_and_f32() {
    let p = point("rosenbrock", 30, 1, -1.5, 1.5);
    assert_bitwise(&compare::<f64>("rosenbrock_f64", &p, rosenbrock));
    assert_bitwise(&compare::<f32>("rosenbrock_f32", &p, rosenbrock));
}

#[test]
fn rk4_step_is_bitwise_the_tapes() {
    let mut p = point("rk4", 2 * D + 2, D, 0.0, 1.0);
    p.record_at[D] = 0.05; // kappa
    p.run_at[D] = 0.04;
    assert_bitwise(&compare::<f64>("rk4_f64", &p, rk4_step));
}

#[test]
fn chain_agrees_with_the_tape_to_rounding_of_the_math_library() {
    let p = point("chain", 30, 1, -2.0, 2.0);
    let (same, total) = assert_close(&compare::<f64>("chain_f64", &p, chain), 1e-13);
    eprintln!("chain f64: {same} of {total} results bitwise equal");
    let (same, total) = assert_close(&compare::<f32>("chain_f32", &p, chain), 1e-5);
    eprintln!("chain f32: {same} of {total} results bitwise equal");
}

#[test]
fn mlp_loss_agrees_with_the_tape_to_rounding_of_the_math_library() {
    let p = point("mlp", MLP_PARAMS, 1, -1.0, 1.0);
    let (same, total) = assert_close(&compare::<f64>("mlp_f64", &p, mlp_loss), 1e-13);
    eprintln!("mlp f64: {same} of {total} results bitwise equal");
    let (same, total) = assert_close(&compare::<f32>("mlp_f32", &p, mlp_loss), 1e-5);
    eprintln!("mlp f32: {same} of {total} results bitwise equal");
}

#[test]
fn every_op_agrees_with_the_tape_in_f64_and_f32() {
    let p = point("every op", 2, 50, 0.2, 0.8);
    let (same, total) = assert_close(&compare::<f64>("every_op_f64", &p, every_op), 1e-13);
    eprintln!("every op f64: {same} of {total} results bitwise equal");
    let (same, total) = assert_close(&compare::<f32>("every_op_f32", &p, every_op), 2e-5);
    eprintln!("every op f32: {same} of {total} results bitwise equal");
}

#[test]
fn tensor_records_are_refused_as_not_exportable() {
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let t = tape.tensor_input(&[3], &[1.0, 2.0, 3.0]);
    let s = tape.sum(t).as_var();
    let mut code = String::new();
    let err = tape
        .write_c(&[s], &CodeOptions::new("f"), &mut code)
        .unwrap_err();
    assert!(matches!(err, Error::NotExportable(_)), "{err:?}");
    // A scalar output that does not depend on the tensor is still generated.
    let x = tape.input(2.0);
    let y = x * x;
    tape.write_c(&[y.id()], &CodeOptions::new("f"), &mut code)
        .unwrap();
    assert!(code.contains("void f_vjp("));
}

#[test]
fn bad_names_stale_handles_and_pending_errors_are_refused() {
    let mut mem = memory(1 << 16);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let y = {
        let x = tape.input(1.0);
        (x * x).id()
    };
    let mut code = String::new();
    for name in ["", "1f", "f-g", "f g", "double", "é", &"f".repeat(65)] {
        let err = tape
            .write_c(&[y], &CodeOptions::new(name), &mut code)
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "{name:?}: {err:?}"
        );
    }
    let mut small = [0u8; 16];
    let err = tape
        .write_c_into(&[y], &CodeOptions::new("f"), &mut small)
        .unwrap_err();
    assert!(matches!(err, Error::LengthMismatch { .. }), "{err:?}");
    tape.reset();
    let err = tape
        .write_c(&[y], &CodeOptions::new("f"), &mut code)
        .unwrap_err();
    assert_eq!(err, Error::StaleHandle);
    let x = tape.input(1.0);
    tape.fail(Error::InvalidArgument("test"));
    let err = tape
        .write_c(&[x.id()], &CodeOptions::new("f"), &mut code)
        .unwrap_err();
    assert_eq!(err, Error::InvalidArgument("test"));
}

/// `max(x, ln y) + sqrt(y)·0.5` at `y = 0`: `ln` and `sqrt` have infinite partials there,
/// on paths the output ignores (`max` picks `x`) or weighs by zero. The tape skips a zero
/// adjoint instead of making `0 · ∞ = NaN`; the generated code must give the same bits.
#[test]
fn infinite_partials_behind_a_zero_adjoint_give_the_tapes_zero() {
    let p = Point {
        record_at: vec![0.5, 0.0],
        run_at: vec![0.5, 0.0],
        y_bar: vec![1.0],
        x_dot: vec![1.0, 0.0],
    };
    let pairs = compare::<f64>("singular_f64", &p, |_, x| {
        vec![x[0].max(x[1].ln()) + x[1].sqrt() * k::<f64>(0.0) + x[0].ln()]
    });
    assert_bitwise(&pairs);
    let x_bar = &pairs
        .iter()
        .find(|p| p.what == "x_bar (gen_vjp)")
        .unwrap()
        .generated;
    assert_eq!(
        x_bar[1], 0.0,
        "the gradient through ln(0) and sqrt(0) is skipped, not NaN"
    );
}

/// `x^n` for the extreme exponents (`i32::MIN` has no C literal of its own, and its
/// partial takes op.rs's `x^(n+1) / x²` form) and small ones, at ±1 and 1.5 where the
/// powers are exact: bit for bit.
#[test]
fn powi_at_extreme_exponents_is_bitwise_the_tapes() {
    let p = Point {
        record_at: vec![1.0, -1.0, 1.5],
        run_at: vec![-1.0, 1.0, 1.5],
        y_bar: vec![1.0, -0.5, 0.25, 2.0, 1.0, 1.0],
        x_dot: vec![0.5, -1.0, 1.0],
    };
    let pairs = compare::<f64>("powi_f64", &p, |_, x| {
        vec![
            x[0].powi(i32::MIN),
            x[1].powi(i32::MAX),
            x[0].powi(i32::MIN + 1),
            x[2].powi(-3),
            x[2].powi(2),
            x[2].powi(1),
        ]
    });
    assert_bitwise(&pairs);
}

/// No outputs, and an output that is an input itself or a constant: still valid C, and
/// the gradient of an input output is its seed.
#[test]
fn degenerate_outputs_generate_valid_c() {
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(2.0);
    let c = tape.constant(3.0);
    let options = CodeOptions {
        name: "degenerate",
        gradient: true,
        jvp: true,
    };
    for (tag, outputs) in [("none", vec![]), ("leaves", vec![x.id(), c.id()])] {
        let mut code = String::new();
        tape.write_c(&outputs, &options, &mut code).unwrap();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("codegen");
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join(format!("degenerate_{tag}.c"));
        std::fs::write(&source, &code).unwrap();
        harness::compile_checks(&source);
    }
    let p = Point {
        record_at: vec![2.0],
        run_at: vec![-1.5],
        y_bar: vec![0.5, 4.0],
        x_dot: vec![3.0],
    };
    let pairs = compare::<f64>("leaves_f64", &p, |tape, x| vec![x[0], tape.constant(3.0)]);
    assert_bitwise(&pairs);
    let x_bar = &pairs
        .iter()
        .find(|p| p.what == "x_bar (gen_vjp)")
        .unwrap()
        .generated;
    assert_eq!(x_bar, &vec![0.5]);
}
