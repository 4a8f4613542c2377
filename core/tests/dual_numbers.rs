//! Dual numbers: every elementary function of `Real` against central finite differences,
//! second derivatives through nested duals, vector mode against scalar mode, f32, and the
//! documented conventions at non-differentiable points.

use autodiff_core::{Dual, DualN, Real};

type D = Dual<f64>;
type DD = Dual<Dual<f64>>;
type DN = DualN<f64, 3>;
type D32 = Dual<f32>;

/// Finite-difference step.
const H: f64 = 1e-6;

/// Relative tolerance for derivatives against central differences.
///
/// `(f(x+h) − f(x−h)) / 2h` has truncation error `h²·|f'''|/6` and rounding error about
/// `ε·|f|/h` (`ε = 2.2e-16`). With `h = 1e-6` that is `1.7e-13·|f'''| + 2.2e-10·|f|`.
/// Every domain below stays away from singularities so that `|f|` and `|f'''|` (and
/// `|f''''|` for the second-derivative checks) stay under about 1e4 (the worst are `ln`
/// at 0.1, `powi(-3)` at 0.5, `atanh` at ±0.9, `exp(5)`), which bounds the error by about
/// 1e-8. A correct rule therefore lands well inside `1e-6·max(1, |f'|)`, while a wrong rule
/// (a missing factor, a sign) misses by far more.
const TOL: f64 = 1e-6;

/// Relative tolerance of `Dual<f32>` tangents against `Dual<f64>` ones at the same (f32)
/// point. f32 `libm` functions are within an ulp or two (`ε₃₂ = 1.2e-7`); a partial chains
/// a few such steps, and the worst cancellation in our domains (`1 − x²` at `|x| = 0.9`
/// in `asin`/`acos`/`atanh`) amplifies the error about 5×. That is about 2e-6, so 2e-5 has
/// a 10× margin.
const TOL32: f64 = 2e-5;

/// Sample points per function.
const POINTS: usize = 8;

/// splitmix64: a tiny deterministic generator, seeded per test case.
struct Rng(u64);

impl Rng {
    fn seeded(name: &str) -> Self {
        // FNV-1a of the name, so each case gets its own fixed stream.
        let mut h = 0xcbf2_9ce4_8422_2325_u64;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit
    }

    /// Magnitude uniform in `[lo, hi)`, random sign: keeps away from zero.
    fn signed(&mut self, lo: f64, hi: f64) -> f64 {
        let m = self.uniform(lo, hi);
        if self.next_u64() & 1 == 0 {
            m
        } else {
            -m
        }
    }
}

fn assert_close(what: &str, x: impl core::fmt::Debug, got: f64, want: f64, tol: f64) {
    let err = (got - want).abs();
    assert!(
        err <= tol * want.abs().max(1.0),
        "{what} at {x:?}: got {got:e}, want {want:e} (error {err:e})"
    );
}

fn central_difference(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    (f(x + H) - f(x - H)) / (2.0 * H)
}

/// Checks a unary function: value as the plain float, tangent against finite differences,
/// `DualN` against `Dual`, the nested second derivative against finite differences of the
/// first, and `Dual<f32>` against `Dual<f64>`.
#[allow(clippy::too_many_arguments)]
fn check_unary(
    name: &str,
    sample: impl Fn(&mut Rng) -> f64,
    plain: impl Fn(f64) -> f64,
    dual: impl Fn(D) -> D,
    dual_n: impl Fn(DN) -> DN,
    nested: Option<&dyn Fn(DD) -> DD>,
    plain32: impl Fn(f32) -> f32,
    dual32: impl Fn(D32) -> D32,
) {
    let mut rng = Rng::seeded(name);
    let derivative = |x: f64| dual(D::variable(x)).tangent;
    for _ in 0..POINTS {
        let x = sample(&mut rng);
        let y = dual(D::variable(x));
        assert_eq!(y.value, plain(x), "{name} value at {x}");
        let fd = central_difference(&plain, x);
        assert_close(name, x, y.tangent, fd, TOL);

        let yn = dual_n(DN::variable(x, 1));
        assert_eq!(yn.value, y.value, "{name} DualN value at {x}");
        assert_eq!(yn.tangents, [0.0, y.tangent, 0.0], "{name} DualN at {x}");

        if let Some(nested) = nested {
            let y2 = nested(DD::variable(D::variable(x)));
            assert_eq!(y2.value.value, y.value, "{name} nested value at {x}");
            assert_eq!(y2.value.tangent, y.tangent, "{name} nested inner at {x}");
            assert_eq!(y2.tangent.value, y.tangent, "{name} nested outer at {x}");
            let fd2 = central_difference(derivative, x);
            assert_close(name, x, y2.tangent.tangent, fd2, TOL);
        }

        let x32 = x as f32;
        let y32 = dual32(D32::variable(x32));
        assert_eq!(y32.value, plain32(x32), "{name} f32 value at {x32}");
        let reference = derivative(f64::from(x32));
        assert_close(name, x32, f64::from(y32.tangent), reference, TOL32);
    }
}

/// `unary!(name, |x| body, sampler)` runs `check_unary` with `body` at every type.
/// Add `, no_nested` when `body` mixes in an `f64` literal, which `Dual<Dual<f64>>` does
/// not take.
macro_rules! unary {
    ($name:expr, |$x:ident| $body:expr, $sample:expr) => {
        check_unary(
            $name,
            $sample,
            |$x: f64| $body,
            |$x: D| $body,
            |$x: DN| $body,
            Some(&|$x: DD| $body),
            |$x: f32| $body,
            |$x: D32| $body,
        )
    };
    ($name:expr, |$x:ident| $body:expr, $sample:expr, no_nested) => {
        check_unary(
            $name,
            $sample,
            |$x: f64| $body,
            |$x: D| $body,
            |$x: DN| $body,
            None,
            |$x: f32| $body,
            |$x: D32| $body,
        )
    };
}

/// `∂f/∂x_i` at `(a, b)` with `Dual`.
fn partial(f: &impl Fn(D, D) -> D, a: f64, b: f64, i: usize) -> f64 {
    let seed = |k: usize| if k == i { 1.0 } else { 0.0 };
    f(D::new(a, seed(0)), D::new(b, seed(1))).tangent
}

/// Checks a binary function: both partials against finite differences, `DualN` against
/// `Dual`, all second partials through nested duals, and `Dual<f32>`.
#[allow(clippy::too_many_arguments)]
fn check_binary(
    name: &str,
    sample: impl Fn(&mut Rng) -> (f64, f64),
    plain: impl Fn(f64, f64) -> f64,
    dual: impl Fn(D, D) -> D,
    dual_n: impl Fn(DN, DN) -> DN,
    nested: impl Fn(DD, DD) -> DD,
    plain32: impl Fn(f32, f32) -> f32,
    dual32: impl Fn(D32, D32) -> D32,
) {
    let mut rng = Rng::seeded(name);
    for _ in 0..POINTS {
        let (a, b) = sample(&mut rng);
        let y = dual(D::variable(a), D::constant(b));
        assert_eq!(y.value, plain(a, b), "{name} value at {a}, {b}");
        let da = y.tangent;
        let db = dual(D::constant(a), D::variable(b)).tangent;
        let what_a = format!("d{name}/da");
        let what_b = format!("d{name}/db");
        assert_close(
            &what_a,
            (a, b),
            da,
            central_difference(|t| plain(t, b), a),
            TOL,
        );
        assert_close(
            &what_b,
            (a, b),
            db,
            central_difference(|t| plain(a, t), b),
            TOL,
        );

        let yn = dual_n(DN::variable(a, 0), DN::variable(b, 2));
        assert_eq!(yn.value, y.value, "{name} DualN value at {a}, {b}");
        assert_eq!(yn.tangents, [da, 0.0, db], "{name} DualN at {a}, {b}");

        // Inner duals seed direction i, outer duals direction j: tangent.tangent is
        // ∂²f/∂x_i∂x_j, compared with the central difference of ∂f/∂x_i along x_j.
        for i in 0..2 {
            for j in 0..2 {
                let seed = |k: usize, s: usize| if k == s { 1.0 } else { 0.0 };
                let na = DD::new(D::new(a, seed(0, i)), D::new(seed(0, j), 0.0));
                let nb = DD::new(D::new(b, seed(1, i)), D::new(seed(1, j), 0.0));
                let y2 = nested(na, nb);
                assert_eq!(y2.value.value, y.value, "{name} nested value at {a}, {b}");
                let fd2 = if j == 0 {
                    central_difference(|t| partial(&dual, t, b, i), a)
                } else {
                    central_difference(|t| partial(&dual, a, t, i), b)
                };
                let what = format!("d²{name}/dx{i}dx{j}");
                assert_close(&what, (a, b), y2.tangent.tangent, fd2, TOL);
            }
        }

        let (a32, b32) = (a as f32, b as f32);
        let y32 = dual32(D32::variable(a32), D32::constant(b32));
        assert_eq!(
            y32.value,
            plain32(a32, b32),
            "{name} f32 value at {a32}, {b32}"
        );
        let db32 = dual32(D32::constant(a32), D32::variable(b32)).tangent;
        let (a64, b64) = (f64::from(a32), f64::from(b32));
        let want_a = partial(&dual, a64, b64, 0);
        let want_b = partial(&dual, a64, b64, 1);
        assert_close(&what_a, (a32, b32), f64::from(y32.tangent), want_a, TOL32);
        assert_close(&what_b, (a32, b32), f64::from(db32), want_b, TOL32);
    }
}

macro_rules! binary {
    ($name:expr, |$a:ident, $b:ident| $body:expr, $sample:expr) => {
        check_binary(
            $name,
            $sample,
            |$a: f64, $b: f64| $body,
            |$a: D, $b: D| $body,
            |$a: DN, $b: DN| $body,
            |$a: DD, $b: DD| $body,
            |$a: f32, $b: f32| $body,
            |$a: D32, $b: D32| $body,
        )
    };
}

#[test]
fn seed_example_is_exact() {
    // f(x) = 2x² + sin x at x = 3: f = 18 + sin 3, f' = 12 + cos 3, with the same
    // floating-point operations as the formulas, so equal bit for bit.
    let x = D::variable(3.0);
    let f = 2.0 * x * x + x.sin();
    assert_eq!(f.value, 18.0 + Real::sin(3.0_f64));
    assert_eq!(f.tangent, 12.0 + Real::cos(3.0_f64));

    let x = D32::variable(3.0);
    let f = 2.0 * x * x + x.sin();
    assert_eq!(f.value, 18.0 + Real::sin(3.0_f32));
    assert_eq!(f.tangent, 12.0 + Real::cos(3.0_f32));

    // The same through generic code, with the constant as a `Real`.
    fn g<R: Real>(x: R) -> R {
        R::from_f64(2.0) * x.powi(2) + x.sin()
    }
    let f = g(D::variable(3.0));
    assert_eq!(f.value, 18.0 + Real::sin(3.0_f64));
    assert_eq!(f.tangent, 12.0 + Real::cos(3.0_f64));
}

#[test]
fn arithmetic_operators() {
    binary!("add", |a, b| a + b, |r| (
        r.uniform(-10.0, 10.0),
        r.uniform(-10.0, 10.0)
    ));
    binary!("sub", |a, b| a - b, |r| (
        r.uniform(-10.0, 10.0),
        r.uniform(-10.0, 10.0)
    ));
    binary!("mul", |a, b| a * b, |r| (
        r.uniform(-10.0, 10.0),
        r.uniform(-10.0, 10.0)
    ));
    binary!("div", |a, b| a / b, |r| (
        r.uniform(-10.0, 10.0),
        r.signed(0.5, 3.0)
    ));
    unary!("neg", |x| -x, |r| r.uniform(-10.0, 10.0));
}

#[test]
fn operators_with_a_scalar_on_either_side() {
    let any = |r: &mut Rng| r.uniform(-10.0, 10.0);
    let off_zero = |r: &mut Rng| r.signed(0.5, 3.0);
    unary!("x + c", |x| x + 2.5, any, no_nested);
    unary!("c + x", |x| 2.5 + x, any, no_nested);
    unary!("x - c", |x| x - 2.5, any, no_nested);
    unary!("c - x", |x| 2.5 - x, any, no_nested);
    unary!("x * c", |x| x * 2.5, any, no_nested);
    unary!("c * x", |x| 2.5 * x, any, no_nested);
    unary!("x / c", |x| x / 2.5, any, no_nested);
    unary!("c / x", |x| 2.5 / x, off_zero, no_nested);
}

#[test]
fn assigning_operators() {
    let off_zero = |r: &mut Rng| r.signed(0.5, 3.0);
    unary!(
        "scalar assign",
        |x| {
            let mut y = x;
            y += 1.5;
            y *= 2.5;
            y -= 0.5;
            y /= 3.0;
            y
        },
        off_zero,
        no_nested
    );
    unary!(
        "dual assign",
        |x| {
            let mut y = x;
            y *= x;
            y += x;
            y -= Real::sin(x);
            y /= Real::exp(x);
            y
        },
        off_zero
    );
}

#[test]
fn powers_and_roots() {
    unary!("recip", |x| Real::recip(x), |r| r.signed(0.5, 3.0));
    for n in [-3, -2, -1, 0, 1, 2, 3, 7] {
        unary!(&format!("powi {n}"), |x| Real::powi(x, n), |r| r
            .signed(0.5, 2.0));
    }
    binary!("powf", |a, b| Real::powf(a, b), |r| (
        r.uniform(0.5, 3.0),
        r.uniform(-2.5, 2.5)
    ));
    unary!("sqrt", |x| Real::sqrt(x), |r| r.uniform(0.1, 10.0));
    unary!("cbrt", |x| Real::cbrt(x), |r| r.signed(0.1, 10.0));
    binary!("hypot", |a, b| Real::hypot(a, b), |r| (
        r.signed(0.1, 5.0),
        r.signed(0.1, 5.0)
    ));
}

#[test]
fn exponentials_and_logarithms() {
    unary!("exp", |x| Real::exp(x), |r| r.uniform(-5.0, 5.0));
    unary!("exp_m1", |x| Real::exp_m1(x), |r| r.uniform(-3.0, 3.0));
    unary!("ln", |x| Real::ln(x), |r| r.uniform(0.1, 10.0));
    unary!("ln_1p", |x| Real::ln_1p(x), |r| r.uniform(-0.5, 10.0));
    unary!("log2", |x| Real::log2(x), |r| r.uniform(0.1, 10.0));
    unary!("log10", |x| Real::log10(x), |r| r.uniform(0.1, 10.0));
}

#[test]
fn trigonometric_functions() {
    unary!("sin", |x| Real::sin(x), |r| r.uniform(-10.0, 10.0));
    unary!("cos", |x| Real::cos(x), |r| r.uniform(-10.0, 10.0));
    // |x| ≤ 1.3 keeps clear of the pole at π/2.
    unary!("tan", |x| Real::tan(x), |r| r.uniform(-1.3, 1.3));
    unary!("asin", |x| Real::asin(x), |r| r.uniform(-0.9, 0.9));
    unary!("acos", |x| Real::acos(x), |r| r.uniform(-0.9, 0.9));
    unary!("atan", |x| Real::atan(x), |r| r.uniform(-10.0, 10.0));
    // y away from 0 keeps clear of the branch cut along the negative x axis.
    binary!("atan2", |y, x| Real::atan2(y, x), |r| (
        r.signed(0.5, 3.0),
        r.uniform(-3.0, 3.0)
    ));
}

#[test]
fn hyperbolic_functions() {
    unary!("sinh", |x| Real::sinh(x), |r| r.uniform(-4.0, 4.0));
    unary!("cosh", |x| Real::cosh(x), |r| r.uniform(-4.0, 4.0));
    unary!("tanh", |x| Real::tanh(x), |r| r.uniform(-3.0, 3.0));
    unary!("asinh", |x| Real::asinh(x), |r| r.uniform(-10.0, 10.0));
    unary!("acosh", |x| Real::acosh(x), |r| r.uniform(1.1, 10.0));
    unary!("atanh", |x| Real::atanh(x), |r| r.uniform(-0.9, 0.9));
}

#[test]
fn piecewise_and_special_functions() {
    // Away from the kinks (x = 0, a = b), where finite differences straddle two branches.
    unary!("abs", |x| Real::abs(x), |r| r.signed(0.1, 10.0));
    let apart = |r: &mut Rng| {
        let a = r.uniform(-10.0, 10.0);
        (a, a + r.signed(0.1, 5.0))
    };
    binary!("min", |a, b| Real::min(a, b), apart);
    binary!("max", |a, b| Real::max(a, b), apart);
    unary!("sigmoid", |x| Real::sigmoid(x), |r| r.uniform(-10.0, 10.0));
    unary!("softplus", |x| Real::softplus(x), |r| r.signed(0.05, 10.0));
    unary!("erf", |x| Real::erf(x), |r| r.uniform(-3.0, 3.0));
}

#[test]
fn powf_const_drops_the_exponent_term() {
    // For a positive base it agrees with powf's base partial.
    let x = D::variable(1.7);
    assert_eq!(x.powf_const(2.5).value, x.powf(D::constant(2.5)).value);
    assert_eq!(x.powf_const(2.5).tangent, x.powf(D::constant(2.5)).tangent);
    // For a negative base, powf's `a^b·ln a` term is NaN even times a zero tangent;
    // powf_const has no such term.
    let x = D::variable(-2.0);
    assert_eq!(x.powf_const(3.0).value, -8.0);
    assert_eq!(x.powf_const(3.0).tangent, 12.0);
    assert!(x.powf(D::constant(3.0)).tangent.is_nan());
    let xn = DN::variable(-2.0, 2);
    assert_eq!(xn.powf_const(3.0).tangents, [0.0, 0.0, 12.0]);
}

#[test]
fn nested_duals_give_exact_second_derivatives() {
    let mut rng = Rng::seeded("second derivatives");
    for _ in 0..POINTS {
        let x = rng.uniform(-2.0, 2.0);
        let xx = DD::variable(D::variable(x));

        let cube = xx * xx * xx;
        assert_eq!(cube.value.value, x * x * x);
        assert_eq!(cube.tangent.tangent, 6.0 * x, "x³ at {x}");
        assert_eq!(xx.powi(3).tangent.tangent, 6.0 * x, "powi(x, 3) at {x}");

        let sine = xx.sin();
        assert_eq!(sine.value.tangent, Real::cos(x));
        assert_eq!(sine.tangent.tangent, -Real::sin(x), "sin at {x}");

        // (exp(x²))'' = (2 + 4x²)·exp(x²); the two sides round differently, by a few ulps.
        let gauss = (xx * xx).exp();
        let e = Real::exp(x * x);
        assert_eq!(gauss.tangent.value, 2.0 * x * e);
        let want = (2.0 + 4.0 * x * x) * e;
        let got = gauss.tangent.tangent;
        assert!(
            (got - want).abs() <= 1e-15 * want.abs(),
            "exp(x²) at {x}: {got} vs {want}"
        );
    }
}

/// A function of three inputs using a bit of everything.
fn three_inputs<R: Real>(x: R, y: R, z: R) -> R {
    x * y * z.sin() + (x / y).exp() - z.powi(2) + x.hypot(z) * y.tanh()
        - R::from_f64(0.5) * x.max(z)
}

#[test]
fn dual_n_gives_the_gradient_in_one_pass() {
    let mut rng = Rng::seeded("gradient");
    for _ in 0..POINTS {
        let (x, y, z) = (
            rng.uniform(-2.0, 2.0),
            rng.signed(0.5, 2.0),
            rng.uniform(-2.0, 2.0),
        );
        let f = three_inputs(DN::variable(x, 0), DN::variable(y, 1), DN::variable(z, 2));

        let along = |i: usize| {
            let seed = |k: usize| if k == i { D::variable } else { D::constant };
            three_inputs(seed(0)(x), seed(1)(y), seed(2)(z))
        };
        let scalar = [along(0), along(1), along(2)];
        assert_eq!(f.value, three_inputs(x, y, z));
        assert_eq!(f.value, scalar[0].value);
        // The same operations per component, so equal bit for bit.
        assert_eq!(f.tangents, scalar.map(|d| d.tangent), "at {x}, {y}, {z}");

        let fd = [
            central_difference(|t| three_inputs(t, y, z), x),
            central_difference(|t| three_inputs(x, t, z), y),
            central_difference(|t| three_inputs(x, y, t), z),
        ];
        for (got, want) in f.tangents.into_iter().zip(fd) {
            assert_close("three_inputs", (x, y, z), got, want, TOL);
        }
    }
}

#[test]
fn dual_n_seeding() {
    assert_eq!(DN::variable(2.0, 1).tangents, [0.0, 1.0, 0.0]);
    // An index with no direction gives a constant instead of a panic.
    assert_eq!(DN::variable(2.0, 3).tangents, [0.0; 3]);
    assert_eq!(DN::variable(2.0, usize::MAX).tangents, [0.0; 3]);
    assert_eq!(DN::constant(2.0).tangents, [0.0; 3]);
    assert_eq!(DN::new(2.0, [1.0, 2.0, 3.0]).tangents, [1.0, 2.0, 3.0]);
    // N = 0 is just the value.
    let z = DualN::<f64, 0>::variable(2.0, 0);
    assert_eq!((z * z).sin().value, Real::sin(4.0_f64));
}

#[test]
fn conventions_at_non_differentiable_points() {
    // abs'(0) = 0.
    assert_eq!(D::variable(0.0).abs().tangent, 0.0);
    assert_eq!(D::variable(-0.0).abs().tangent, 0.0);
    assert_eq!(DN::variable(0.0, 0).abs().tangents, [0.0; 3]);

    // At a tie, max and min send the whole derivative to the first argument.
    let (a, b) = (DN::variable(1.0, 0), DN::variable(1.0, 1));
    assert_eq!(a.max(b).tangents, [1.0, 0.0, 0.0]);
    assert_eq!(b.max(a).tangents, [0.0, 1.0, 0.0]);
    assert_eq!(a.min(b).tangents, [1.0, 0.0, 0.0]);
    assert_eq!(D::variable(1.0).max(D::constant(1.0)).tangent, 1.0);
    assert_eq!(D::constant(1.0).max(D::variable(1.0)).tangent, 0.0);

    // sqrt'(0) = +∞ (and cbrt'(0) likewise).
    assert_eq!(D::variable(0.0).sqrt().tangent, f64::INFINITY);
    assert_eq!(D::variable(0.0).cbrt().tangent, f64::INFINITY);
    assert_eq!(D32::variable(0.0).sqrt().tangent, f32::INFINITY);

    // hypot at the origin: the zero subgradient.
    let h = DN::variable(0.0, 0).hypot(DN::variable(0.0, 1));
    assert_eq!(h.tangents, [0.0; 3]);
}

#[test]
fn comparisons_constants_and_conversions() {
    // Comparisons see the primal value only.
    assert_eq!(D::new(1.0, 5.0), D::new(1.0, -3.0));
    assert!(D::new(1.0, 100.0) < D::new(2.0, -100.0));
    assert_eq!(DN::new(1.0, [1.0; 3]), DN::constant(1.0));
    assert!(DN::variable(3.0, 0) > DN::constant(2.0));

    let zero = D::default();
    assert_eq!((zero.value, zero.tangent), (0.0, 0.0));
    assert_eq!(DN::default().tangents, [0.0; 3]);
    assert_eq!((D::zero().value, D::one().value), (0.0, 1.0));

    let c = D::from_f64(2.5);
    assert_eq!((c.value, c.tangent), (2.5, 0.0));
    let cc = DD::from_f64(2.5);
    assert_eq!(cc.value.value, 2.5);
    assert_eq!(
        (cc.value.tangent, cc.tangent.value, cc.tangent.tangent),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(D::new(2.5, 7.0).to_f64(), 2.5);
    assert_eq!(D32::new(0.5, 7.0).to_f64(), 0.5);
    assert_eq!(DD::variable(D::variable(1.5)).to_f64(), 1.5);

    assert!(D::new(f64::NAN, 0.0).is_non_finite());
    assert!(!D::new(1.0, f64::NAN).is_non_finite());
    assert!(DN::constant(f64::INFINITY).is_non_finite());
}
