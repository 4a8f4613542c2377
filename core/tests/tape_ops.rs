//! Every scalar op recorded on a tape: the reverse gradient agrees with central finite
//! differences and with the forward (`jvp`) tangent, on `f64` and on `f32` tapes, at
//! seeded random points inside each op's domain. Then the documented conventions at the
//! points where an op is not differentiable.

mod common;

use autodiff_core::{Op, Real, Tape, Var};
use common::{assert_close, central_difference, Rng};
use core::mem::MaybeUninit;

/// Relative tolerance of reverse gradients against central differences on `f64`.
///
/// The central difference has truncation error `h²·|f'''|/6` and rounding error about
/// `ε·|f|/h` (`ε = 2.2e-16`); with `h = 1e-6` that is `1.7e-13·|f'''| + 2.2e-10·|f|`.
/// The domains below stay away from singularities so that `|f|` and `|f'''|` stay under
/// about 1e4 (the worst: `powi(-5)` and `ln` near their lower ends, `exp(3)`), which
/// bounds the error by about 1e-8. A correct rule lands well inside `1e-6·max(1, |f'|)`;
/// a wrong one (a missing factor, a flipped sign) misses by orders of magnitude more.
const FD_TOL: f64 = 1e-6;

/// Relative tolerance of reverse against forward mode on `f64`. Both multiply the same
/// partials, only in a different order (`adjoint·∂` backward, `∂·tangent` forward, summed
/// over shared arguments in another order), so they differ by a few roundings at most.
const MODES_TOL: f64 = 1e-12;

/// Relative tolerance of `f32` reverse gradients against the `f64` finite difference at
/// the same (f32-representable) point. f32 `libm` functions are within an ulp or two
/// (`ε₃₂ = 1.2e-7`); a partial chains at most a few such steps, and the worst cancellation
/// in these domains (`1 − x²` at `|x| = 0.9`, `x² − 1` at 1.1) amplifies that about 5×:
/// about 3e-6 in all, plus the f64 difference's 1e-8. 3e-5 leaves a 10× margin.
const F32_TOL: f64 = 3e-5;

/// Relative tolerance of `f32` reverse against `f32` forward mode: a few f32 roundings.
const F32_MODES_TOL: f64 = 1e-6;

/// Sample points per op (under Miri, which runs them some thousand times slower, 3).
const POINTS: usize = if cfg!(miri) { 3 } else { 20 };

/// `pow` for plain `f64`, so one expression serves the tape and the reference.
trait Pow {
    fn pow(self, y: Self) -> Self;
}

impl Pow for f64 {
    fn pow(self, y: f64) -> f64 {
        self.powf(y)
    }
}

type Unary64 = for<'t> fn(Var<'t, f64>) -> Var<'t, f64>;
type Unary32 = for<'t> fn(Var<'t, f32>) -> Var<'t, f32>;
type Binary64 = for<'t> fn(Var<'t, f64>, Var<'t, f64>) -> Var<'t, f64>;
type Binary32 = for<'t> fn(Var<'t, f32>, Var<'t, f32>) -> Var<'t, f32>;

/// Value, reverse gradient, finite difference and forward tangent of `f` at random points
/// of `[lo, hi)`, on an f64 tape and on an f32 tape.
fn check_unary(
    name: &str,
    (lo, hi): (f64, f64),
    f64_tape: Unary64,
    f32_tape: Unary32,
    plain: fn(f64) -> f64,
) {
    let mut rng = Rng::seeded(name);
    // One buffer per tape: the f64 tape still borrows its own when the f32 one starts
    // (under ASan the arena has a drop, which keeps that borrow alive to the end).
    let (mut mem, mut mem32) = (
        [MaybeUninit::<u8>::uninit(); 512],
        [MaybeUninit::<u8>::uninit(); 512],
    );
    for _ in 0..POINTS {
        let x0 = rng.uniform(lo, hi);
        let at = format!("{name} at x = {x0}");

        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let x = tape.input(x0);
        let y = f64_tape(x);
        tape.status().unwrap();
        // The tape evaluates through `libm`, the reference through `std`: an ulp or so.
        assert_close(&format!("value of {at}"), y.value(), plain(x0), 1e-14);
        let mut grad = [f64::NAN];
        tape.gradient_into(y.id(), &mut grad).unwrap();
        assert_eq!(grad[0], x.grad(), "{at}: gradient_into and grad disagree");
        let fd = central_difference(plain, x0);
        assert_close(
            &format!("reverse vs finite difference, {at}"),
            grad[0],
            fd,
            FD_TOL,
        );
        tape.jvp(&[1.0]).unwrap();
        let tangent = tape.tangent(y.id()).unwrap();
        assert_close(
            &format!("forward vs reverse, {at}"),
            tangent,
            grad[0],
            MODES_TOL,
        );

        let x32 = x0 as f32;
        let tape = Tape::<f32>::new(&mut mem32).unwrap();
        let x = tape.input(x32);
        let y = f32_tape(x);
        let mut grad = [f32::NAN];
        tape.gradient_into(y.id(), &mut grad).unwrap();
        let fd = central_difference(plain, f64::from(x32));
        assert_close(
            &format!("f32 reverse vs f64 finite difference, {name} at {x32}"),
            f64::from(grad[0]),
            fd,
            F32_TOL,
        );
        tape.jvp(&[1.0]).unwrap();
        let tangent = tape.tangent(y.id()).unwrap();
        assert_close(
            &format!("f32 forward vs reverse, {name} at {x32}"),
            f64::from(tangent),
            f64::from(grad[0]),
            F32_MODES_TOL,
        );
    }
}

/// As `check_unary`, for a function of two inputs: both partials, and the forward tangent
/// along each unit direction. Points closer than 1e-3 to the diagonal are redrawn, so the
/// finite difference of `min`/`max` never straddles the switch.
fn check_binary(
    name: &str,
    (xlo, xhi): (f64, f64),
    (ylo, yhi): (f64, f64),
    f64_tape: Binary64,
    f32_tape: Binary32,
    plain: fn(f64, f64) -> f64,
) {
    let mut rng = Rng::seeded(name);
    // One buffer per tape: the f64 tape still borrows its own when the f32 one starts
    // (under ASan the arena has a drop, which keeps that borrow alive to the end).
    let (mut mem, mut mem32) = (
        [MaybeUninit::<u8>::uninit(); 512],
        [MaybeUninit::<u8>::uninit(); 512],
    );
    for _ in 0..POINTS {
        let (x0, y0) = loop {
            let (x0, y0) = (rng.uniform(xlo, xhi), rng.uniform(ylo, yhi));
            if (x0 - y0).abs() > 1e-3 {
                break (x0, y0);
            }
        };
        let at = format!("{name} at ({x0}, {y0})");
        let fd = [
            central_difference(|x| plain(x, y0), x0),
            central_difference(|y| plain(x0, y), y0),
        ];

        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let (x, y) = (tape.input(x0), tape.input(y0));
        let z = f64_tape(x, y);
        tape.status().unwrap();
        assert_close(&format!("value of {at}"), z.value(), plain(x0, y0), 1e-14);
        let mut grad = [f64::NAN; 2];
        tape.gradient_into(z.id(), &mut grad).unwrap();
        assert_eq!(
            grad,
            [x.grad(), y.grad()],
            "{at}: gradient_into and grad disagree"
        );
        for k in 0..2 {
            assert_close(
                &format!("∂{k} reverse vs finite difference, {at}"),
                grad[k],
                fd[k],
                FD_TOL,
            );
            let mut seed = [0.0; 2];
            seed[k] = 1.0;
            tape.jvp(&seed).unwrap();
            let tangent = tape.tangent(z.id()).unwrap();
            assert_close(
                &format!("∂{k} forward vs reverse, {at}"),
                tangent,
                grad[k],
                MODES_TOL,
            );
        }

        let (x32, y32) = (x0 as f32, y0 as f32);
        let fd = [
            central_difference(|x| plain(x, f64::from(y32)), f64::from(x32)),
            central_difference(|y| plain(f64::from(x32), y), f64::from(y32)),
        ];
        let tape = Tape::<f32>::new(&mut mem32).unwrap();
        let (x, y) = (tape.input(x32), tape.input(y32));
        let z = f32_tape(x, y);
        let mut grad = [f32::NAN; 2];
        tape.gradient_into(z.id(), &mut grad).unwrap();
        for k in 0..2 {
            let at = format!("∂{k} {name} at ({x32}, {y32})");
            assert_close(
                &format!("f32 reverse vs f64 finite difference, {at}"),
                f64::from(grad[k]),
                fd[k],
                F32_TOL,
            );
            let mut seed = [0.0; 2];
            seed[k] = 1.0;
            tape.jvp(&seed).unwrap();
            let tangent = tape.tangent(z.id()).unwrap();
            assert_close(
                &format!("f32 forward vs reverse, {at}"),
                f64::from(tangent),
                f64::from(grad[k]),
                F32_MODES_TOL,
            );
        }
    }
}

/// One test per case: the expression is written once and instantiated for an f64 tape, an
/// f32 tape and plain f64 (the reference).
macro_rules! unary {
    ($($name:ident: |$x:ident| $e:expr, $lo:expr, $hi:expr;)*) => {$(
        #[test]
        fn $name() {
            fn on_f64<'t>($x: Var<'t, f64>) -> Var<'t, f64> { $e }
            fn on_f32<'t>($x: Var<'t, f32>) -> Var<'t, f32> { $e }
            fn plain($x: f64) -> f64 { $e }
            super::check_unary(stringify!($name), ($lo, $hi), on_f64, on_f32, plain);
        }
    )*};
}

macro_rules! binary {
    ($($name:ident: |$x:ident, $y:ident| $e:expr, ($xlo:expr, $xhi:expr), ($ylo:expr, $yhi:expr);)*) => {$(
        #[test]
        fn $name() {
            fn on_f64<'t>($x: Var<'t, f64>, $y: Var<'t, f64>) -> Var<'t, f64> { $e }
            fn on_f32<'t>($x: Var<'t, f32>, $y: Var<'t, f32>) -> Var<'t, f32> { $e }
            fn plain($x: f64, $y: f64) -> f64 { $e }
            super::check_binary(stringify!($name), ($xlo, $xhi), ($ylo, $yhi), on_f64, on_f32, plain);
        }
    )*};
}

// `erf` on plain f64 is `Real::erf`, a name std may take one day; either is the function.
#[allow(unstable_name_collisions)]
mod unary_op_gradients_match_finite_differences_and_forward_mode {
    #[allow(unused_imports)]
    use super::{Pow, Real, Var};

    unary! {
        neg: |x| -x, -5.0, 5.0;
        recip_positive: |x| x.recip(), 0.5, 4.0;
        recip_negative: |x| x.recip(), -4.0, -0.5;
        sqrt: |x| x.sqrt(), 0.1, 9.0;
        cbrt_positive: |x| x.cbrt(), 0.1, 8.0;
        cbrt_negative: |x| x.cbrt(), -8.0, -0.1;
        exp: |x| x.exp(), -3.0, 3.0;
        exp_m1: |x| x.exp_m1(), -2.0, 2.0;
        ln: |x| x.ln(), 0.1, 10.0;
        ln_1p: |x| x.ln_1p(), -0.9, 5.0;
        log2: |x| x.log2(), 0.1, 10.0;
        log10: |x| x.log10(), 0.1, 10.0;
        sin: |x| x.sin(), -6.0, 6.0;
        cos: |x| x.cos(), -6.0, 6.0;
        tan: |x| x.tan(), -1.3, 1.3;
        asin: |x| x.asin(), -0.9, 0.9;
        acos: |x| x.acos(), -0.9, 0.9;
        atan: |x| x.atan(), -5.0, 5.0;
        sinh: |x| x.sinh(), -3.0, 3.0;
        cosh: |x| x.cosh(), -3.0, 3.0;
        tanh: |x| x.tanh(), -3.0, 3.0;
        asinh: |x| x.asinh(), -5.0, 5.0;
        acosh: |x| x.acosh(), 1.1, 6.0;
        atanh: |x| x.atanh(), -0.9, 0.9;
        abs_positive: |x| x.abs(), 0.1, 5.0;
        abs_negative: |x| x.abs(), -5.0, -0.1;
        sigmoid: |x| x.sigmoid(), -6.0, 6.0;
        softplus: |x| x.softplus(), -6.0, 6.0;
        erf: |x| x.erf(), -2.5, 2.5;
    }
}

mod integer_powers_match_finite_differences_and_forward_mode {
    use super::Var;

    unary! {
        powi_0: |x| x.powi(0), -2.0, 2.0;
        powi_1: |x| x.powi(1), -2.0, 2.0;
        powi_2: |x| x.powi(2), -2.0, 2.0;
        powi_3: |x| x.powi(3), -2.0, 2.0;
        powi_7: |x| x.powi(7), -1.5, 1.5;
        powi_minus_1_positive: |x| x.powi(-1), 0.5, 2.0;
        powi_minus_1_negative: |x| x.powi(-1), -2.0, -0.5;
        powi_minus_2: |x| x.powi(-2), 0.5, 2.0;
        powi_minus_3_negative: |x| x.powi(-3), -2.0, -0.5;
        powi_minus_5: |x| x.powi(-5), 0.7, 2.0;
    }
}

mod constant_exponents_and_constants_on_either_side {
    use super::Var;

    unary! {
        powf_2_5: |x| x.powf(2.5), 0.2, 4.0;
        powf_minus_1_5: |x| x.powf(-1.5), 0.3, 4.0;
        powf_0_5: |x| x.powf(0.5), 0.2, 4.0;
        constant_times_var: |x| 2.0 * x, -5.0, 5.0;
        var_times_constant: |x| x * 2.0, -5.0, 5.0;
        var_over_constant: |x| x / 3.0, -5.0, 5.0;
        constant_over_var: |x| 3.0 / x, 0.5, 4.0;
        var_plus_constant: |x| x + 1.5, -5.0, 5.0;
        constant_plus_var: |x| 1.5 + x, -5.0, 5.0;
        var_minus_constant: |x| x - 1.5, -5.0, 5.0;
        constant_minus_var: |x| 1.5 - x, -5.0, 5.0;
        var_used_twice_accumulates: |x| x * x + x, -3.0, 3.0;
        var_minus_itself_is_zero: |x| x - x, -3.0, 3.0;
        var_over_itself_is_one: |x| x / x, 0.5, 3.0;
        chain_of_three: |x| (2.0 * x).sin().exp() / 3.0, -2.0, 2.0;
    }
}

mod binary_op_gradients_match_finite_differences_and_forward_mode {
    #[allow(unused_imports)]
    use super::{Pow, Var};

    binary! {
        add: |x, y| x + y, (-5.0, 5.0), (-5.0, 5.0);
        sub: |x, y| x - y, (-5.0, 5.0), (-5.0, 5.0);
        mul: |x, y| x * y, (-5.0, 5.0), (-5.0, 5.0);
        div_positive_divisor: |x, y| x / y, (-5.0, 5.0), (0.5, 4.0);
        div_negative_divisor: |x, y| x / y, (-5.0, 5.0), (-4.0, -0.5);
        pow: |x, y| x.pow(y), (0.5, 3.0), (-2.0, 3.0);
        atan2_upper_half_plane: |x, y| x.atan2(y), (0.5, 3.0), (-3.0, 3.0);
        atan2_lower_half_plane: |x, y| x.atan2(y), (-3.0, -0.5), (-3.0, 3.0);
        atan2_right_half_plane: |x, y| x.atan2(y), (-3.0, 3.0), (0.5, 3.0);
        min: |x, y| x.min(y), (-3.0, 3.0), (-3.0, 3.0);
        max: |x, y| x.max(y), (-3.0, 3.0), (-3.0, 3.0);
        hypot: |x, y| x.hypot(y), (0.2, 3.0), (-3.0, 3.0);
        seed_example: |x, y| (x + y) * (x - 2.0 * y), (-5.0, 5.0), (-5.0, 5.0);
        shared_subexpression: |x, y| { let s = x * y; s.sin() * s + x / (1.0 + y * y) }, (-2.0, 2.0), (-2.0, 2.0);
    }
}

// ---- conventions at non-differentiable points (see the table in `op.rs`) ----

/// `∂f/∂x` and `∂f/∂y` of a two-input function at `(a, b)` on an f64 tape, by reverse and
/// by forward mode (asserted equal, NaN included), with the value.
fn partials(a: f64, b: f64, f: Binary64) -> (f64, [f64; 2]) {
    let mut mem = [MaybeUninit::<u8>::uninit(); 512];
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (x, y) = (tape.input(a), tape.input(b));
    let z = f(x, y);
    let mut grad = [0.0; 2];
    tape.gradient_into(z.id(), &mut grad).unwrap();
    for (k, g) in grad.iter().enumerate() {
        let mut seed = [0.0; 2];
        seed[k] = 1.0;
        tape.jvp(&seed).unwrap();
        let t = tape.tangent(z.id()).unwrap();
        assert!(
            t.to_bits() == g.to_bits() || (t.is_nan() && g.is_nan()),
            "forward {t} vs reverse {g}"
        );
    }
    (z.value(), grad)
}

/// `df/dx` at `a` on an f64 tape, by reverse and forward mode (asserted equal), with the
/// value.
fn derivative(a: f64, f: Unary64) -> (f64, f64) {
    let mut mem = [MaybeUninit::<u8>::uninit(); 512];
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(a);
    let z = f(x);
    tape.backward(z.id()).unwrap();
    let g = x.grad();
    tape.jvp(&[1.0]).unwrap();
    let t = tape.tangent(z.id()).unwrap();
    assert!(
        t.to_bits() == g.to_bits() || (t.is_nan() && g.is_nan()),
        "forward {t} vs reverse {g}"
    );
    (z.value(), g)
}

#[test]
fn abs_has_derivative_zero_at_zero() {
    assert_eq!(derivative(0.0, |x| x.abs()), (0.0, 0.0));
    assert_eq!(derivative(-0.0, |x| x.abs()), (0.0, 0.0));
}

#[test]
fn min_and_max_give_the_whole_derivative_to_the_first_argument_at_a_tie() {
    assert_eq!(partials(1.5, 1.5, |x, y| x.max(y)), (1.5, [1.0, 0.0]));
    assert_eq!(partials(1.5, 1.5, |x, y| x.min(y)), (1.5, [1.0, 0.0]));
    assert_eq!(partials(1.5, 1.5, |x, y| y.max(x)), (1.5, [0.0, 1.0]));
    assert_eq!(partials(1.0, 2.0, |x, y| x.max(y)), (2.0, [0.0, 1.0]));
    assert_eq!(partials(1.0, 2.0, |x, y| x.min(y)), (1.0, [1.0, 0.0]));
}

#[test]
fn sqrt_and_cbrt_have_infinite_derivative_at_zero() {
    assert_eq!(derivative(0.0, |x| x.sqrt()), (0.0, f64::INFINITY));
    assert_eq!(derivative(0.0, |x| x.cbrt()), (0.0, f64::INFINITY));
}

#[test]
fn hypot_at_the_origin_has_zero_subgradient() {
    assert_eq!(partials(0.0, 0.0, |x, y| x.hypot(y)), (0.0, [0.0, 0.0]));
}

#[test]
fn atan2_at_the_origin_has_nan_derivatives() {
    let (value, [da, db]) = partials(0.0, 0.0, |x, y| x.atan2(y));
    assert_eq!(value, 0.0);
    assert!(da.is_nan() && db.is_nan(), "got ({da}, {db})");
}

#[test]
fn pow_with_zero_base_has_zero_exponent_derivative() {
    let (value, [da, db]) = partials(0.0, 2.0, |x, y| x.pow(y));
    assert_eq!((value, da, db), (0.0, 0.0, 0.0));
    let (value, [da, db]) = partials(0.0, 3.0, |x, y| x.pow(y));
    assert_eq!((value, da, db), (0.0, 0.0, 0.0));
}

#[test]
fn powf_sends_no_derivative_to_its_constant_exponent_even_for_a_negative_base() {
    // x^3 at x = −2 through `powf`: the exponent is a constant, so no `ln(−2)` appears.
    let (value, d) = derivative(-2.0, |x| x.powf(3.0));
    assert_eq!(value, -8.0);
    assert!((d - 12.0).abs() < 1e-12, "got {d}");
}

#[test]
fn powi_zero_is_one_with_derivative_zero_everywhere() {
    for a in [0.0, -3.0, 2.5] {
        assert_eq!(derivative(a, |x| x.powi(0)), (1.0, 0.0));
    }
}

#[test]
fn powi_derivative_is_exact_for_small_integer_powers() {
    assert_eq!(derivative(3.0, |x| x.powi(2)), (9.0, 6.0));
    assert_eq!(derivative(-2.0, |x| x.powi(3)), (-8.0, 12.0));
    assert_eq!(derivative(2.0, |x| x.powi(-1)), (0.5, -0.25));
    assert_eq!(derivative(0.0, |x| x.powi(1)), (0.0, 1.0));
}

#[test]
fn powi_at_the_extreme_exponents_does_not_panic() {
    // n − 1 overflows i32 at n = i32::MIN; the rule must still give n·x^(n−1).
    let (value, d) = derivative(1.0, |x| x.powi(i32::MIN));
    assert_eq!((value, d), (1.0, f64::from(i32::MIN)));
    let (value, d) = derivative(-1.0, |x| x.powi(i32::MIN));
    // (−1)^(2^31) = 1, and n·(−1)^(n−1) = n·(−1) = 2^31.
    assert_eq!((value, d), (1.0, -f64::from(i32::MIN)));
    let (value, d) = derivative(1.0, |x| x.powi(i32::MAX));
    assert_eq!((value, d), (1.0, f64::from(i32::MAX)));
}

#[test]
fn domain_errors_give_nan_values_and_nan_outputs_cannot_be_differentiated() {
    let mut mem = [MaybeUninit::<u8>::uninit(); 512];
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(-1.0);
    let y = x.sqrt();
    assert!(y.value().is_nan());
    // Recording a NaN is not an error: only differentiating from it is.
    tape.status().unwrap();
    assert!(matches!(
        tape.backward(y.id()),
        Err(autodiff_core::Error::NonFinite(_))
    ));
    let z = x.ln() * 0.0;
    assert!(z.value().is_nan(), "NaN travels through later values");
}

#[test]
fn unary_id_and_binary_id_record_the_same_values_and_gradients_as_var_methods() {
    let mut mem = [MaybeUninit::<u8>::uninit(); 1024];
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (x, y) = (tape.input(0.7), tape.input(-1.3));
    let by_method = (x.sin() * y).atan2(x.exp());
    let s = tape.unary_id(Op::Sin, x.id());
    let p = tape.binary_id(Op::Mul, s, y.id());
    let e = tape.unary_id(Op::Exp, x.id());
    let by_id = tape.binary_id(Op::Atan2, p, e);
    assert_eq!(tape.value(by_id).unwrap(), by_method.value());
    let mut g1 = [0.0; 2];
    let mut g2 = [0.0; 2];
    tape.gradient_into(by_method.id(), &mut g1).unwrap();
    tape.gradient_into(by_id, &mut g2).unwrap();
    assert_eq!(g1, g2);
    let cube = tape.powi_id(x.id(), 3);
    assert_eq!(tape.value(cube).unwrap(), 0.7f64.powi(3));
}

#[test]
fn a_constant_receives_no_gradient_flow_into_inputs() {
    let mut mem = [MaybeUninit::<u8>::uninit(); 512];
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(2.0);
    let c = tape.constant(5.0);
    let z = x * c + c.sin();
    let mut g = [0.0];
    tape.gradient_into(z.id(), &mut g).unwrap();
    assert_eq!(g, [5.0]);
    assert_eq!(tape.num_inputs(), 1);
}

// An infinite partial (`sqrt` at 0) on a record the output does not depend on must not
// reach the result as 0 × ∞ = NaN: the sweeps skip zero adjoints and zero tangents.
#[test]
fn records_the_output_does_not_depend_on_do_not_affect_its_derivatives() {
    let mut mem = [MaybeUninit::<u8>::uninit(); 512];
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(0.0);
    let _unrelated = x.sqrt();
    let f = x * 3.0;
    tape.backward(f.id()).unwrap();
    assert_eq!(x.grad(), 3.0, "reverse");

    let c = tape.constant(0.0);
    let g = x + c.sqrt();
    tape.backward(g.id()).unwrap();
    assert_eq!(x.grad(), 1.0, "reverse through a constant's sqrt");
    tape.jvp(&[1.0]).unwrap();
    assert_eq!(
        tape.tangent(g.id()).unwrap(),
        1.0,
        "forward through a constant's sqrt"
    );
}

// `gradient_into` takes each input's gradient from the backward sweep as it passes the
// input, by the number the input's record carries, instead of from a scan afterwards.
// Inputs spread through the tape, inputs the output never reads (whose records the sweep
// skips) and a second gradient over dirty adjoints must each land in their own slot.
#[test]
fn gradient_into_puts_every_input_in_its_place_wherever_inputs_were_recorded() {
    const INPUTS: usize = 40;
    let mut rng = Rng::seeded("gradient_into with inputs spread through the tape");
    let mut mem = vec![MaybeUninit::<u8>::uninit(); 1 << 16];
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let mut inputs: Vec<Var<'_, f64>> = Vec::new();
    let mut f = tape.constant(0.0);
    for k in 0..INPUTS {
        let x = tape.input(rng.uniform(-1.0, 1.0));
        inputs.push(x);
        // Every fourth input is never read; the others feed the sum in three ways, one
        // of them through an input recorded long before.
        f = match k % 4 {
            0 => f,
            1 => f + x * x,
            2 => f * 0.5 + x.sin(),
            _ => f + x * inputs[k / 2],
        };
    }
    let point: Vec<f64> = inputs.iter().map(|x| x.value()).collect();
    let output = f.id();

    // The second call runs over the adjoints the first left behind.
    let mut first = vec![f64::NAN; INPUTS];
    let mut g = vec![f64::NAN; INPUTS];
    tape.gradient_into(output, &mut first).unwrap();
    tape.gradient_into(output, &mut g).unwrap();
    for (k, x) in inputs.iter().enumerate() {
        assert_eq!(first[k].to_bits(), g[k].to_bits(), "input {k}: two calls");
        assert_eq!(
            g[k].to_bits(),
            x.grad().to_bits(),
            "input {k}: against its adjoint"
        );
        // `inputs[k / 2]` above is always an odd input, never one of these.
        if k % 4 == 0 {
            assert_eq!(g[k], 0.0, "input {k} is never read");
        }
    }
    for k in 0..INPUTS {
        let at = |v: f64| {
            let mut moved = point.clone();
            moved[k] = v;
            tape.replay(&moved).unwrap();
            tape.value(output).unwrap()
        };
        let difference = central_difference(at, point[k]);
        assert_close(&format!("input {k}"), g[k], difference, FD_TOL);
    }
}

/// On a dual tape (Hessian-vector products), a constant whose tangent is zero costs no
/// record of its own, as on a plain tape: inside the op's record where `f32` holds it,
/// else 8 bytes beside the records. One record where a constant record and a binary op
/// were two, and the same gradient and `H·v` to the bit. A constant with a tangent keeps
/// its record.
#[test]
fn dual_tapes_keep_constants_out_of_records_of_their_own() {
    use autodiff_core::{Dual, VarId};
    type D = Dual<f64>;
    // f(x, y) = c0·x·y + c1·(x − c2)² − c3/y + y/c4 − (c5 − x):
    // ∇f = (c0·y + 2c1·(x − c2) + 1, c0·x + c3/y² + 1/c4),
    // ∇²f = [[2c1, c0], [c0, −2c3/y³]].
    // `with_constant(op, a, k, constant_first)` records `a op c_k` (or `c_k op a`).
    fn f(tape: &Tape<'_, D>, with_constant: &dyn Fn(Op, VarId, usize, bool) -> VarId) -> VarId {
        let (x, y) = (tape.input(D::constant(0.0)), tape.input(D::constant(0.0)));
        let c0_xy = with_constant(Op::Mul, (x * y).id(), 0, false);
        let shifted = with_constant(Op::Sub, x.id(), 2, false);
        let square = Var::from_id(tape, shifted) * Var::from_id(tape, shifted);
        let c1_squares = with_constant(Op::Mul, square.id(), 1, true);
        let c3_over_y = with_constant(Op::Div, y.id(), 3, true);
        let y_over_c4 = with_constant(Op::Div, y.id(), 4, false);
        let rest = with_constant(Op::Sub, x.id(), 5, true);
        let v = |id| Var::from_id(tape, id);
        (v(c0_xy) + v(c1_squares) - v(c3_over_y) + v(y_over_c4) - v(rest)).id()
    }
    let (x, y) = (0.8, 1.7);
    let v = [0.3, -1.1];
    let run = |fused: bool, c: &[f64; 6]| {
        let mut mem = [MaybeUninit::<u8>::uninit(); 8192];
        let tape = Tape::<D>::new(&mut mem).unwrap();
        let output = f(&tape, &|op, a, k, constant_first| {
            let c = D::constant(c[k]);
            match (fused, constant_first) {
                (true, false) => tape.binary_const_id(op, a, c),
                (true, true) => tape.const_binary_id(op, c, a),
                (false, false) => tape.binary_id(op, a, tape.constant(c).id()),
                (false, true) => tape.binary_id(op, tape.constant(c).id(), a),
            }
        });
        let (mut g, mut hv) = ([0.0; 2], [0.0; 2]);
        tape.hessian_vector_product(output, &[x, y], &v, &mut g, &mut hv)
            .unwrap();
        (tape.len(), g, hv)
    };
    // Constants `f32` holds (inside the records), then ones it does not (beside them).
    for c in [
        [0.5, 3.0, 1.5, 2.0, 4.0, 0.25],
        [0.1, 3.3, 1.7, 2.9, 4.1, 0.3],
    ] {
        let (fused_len, g, hv) = run(true, &c);
        let (records_len, g_records, hv_records) = run(false, &c);
        // Six constants, each a record less.
        assert_eq!(records_len, fused_len + 6, "constants {c:?}");
        for k in 0..2 {
            assert_eq!(
                g[k].to_bits(),
                g_records[k].to_bits(),
                "gradient {k}, {c:?}"
            );
            assert_eq!(hv[k].to_bits(), hv_records[k].to_bits(), "H·v {k}, {c:?}");
        }
        let want_g = [
            c[0] * y + 2.0 * c[1] * (x - c[2]) + 1.0,
            c[0] * x + c[3] / (y * y) + 1.0 / c[4],
        ];
        let want_hv = [
            2.0 * c[1] * v[0] + c[0] * v[1],
            c[0] * v[0] - 2.0 * c[3] / (y * y * y) * v[1],
        ];
        for k in 0..2 {
            assert_close("gradient", g[k], want_g[k], 1e-14);
            assert_close("H·v", hv[k], want_hv[k], 1e-14);
        }
    }

    // A constant with a tangent keeps its record, and the tangent.
    let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
    let tape = Tape::<D>::new(&mut mem).unwrap();
    let a = tape.input(D::constant(2.0)).id();
    let product = tape.binary_const_id(Op::Mul, a, D::new(0.5, 1.0));
    assert_eq!(tape.len(), 3);
    assert_eq!(tape.value(product).unwrap().tangent, 2.0);
    let sum = tape.binary_const_id(Op::Add, a, D::new(0.1, -3.0));
    assert_eq!(tape.len(), 5);
    assert_eq!(tape.value(sum).unwrap().tangent, -3.0);
}
