//! `ad_dual`: forward-mode dual numbers for C, with no tape and no memory at all.
//!
//! Each function is a thin wrapper over the core's `Dual<f64>`, whose derivative rules
//! are the tape's (`Op`), so a dual and a tape agree on every value and derivative,
//! conventions at singular points included. Pure functions of their arguments: safe from
//! any thread, and they cannot fail (a NaN argument gives NaN).

use autodiff_core::{Dual, Real};
use core::ffi::c_int;

/// A dual number `value + tangent·ε` with `ε² = 0`. Evaluating a function on
/// `ad_dual_make(x, 1.0)` gives `f(x)` in `value` and `f'(x)` in `tangent`; seeding
/// `tangent = v` gives the directional derivative `f'(x)·v`. Plain data: pass and return
/// it by value.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ad_dual {
    /// The value `x`.
    pub value: f64,
    /// The derivative `dx` carried along with it.
    pub tangent: f64,
}

impl From<Dual<f64>> for ad_dual {
    fn from(d: Dual<f64>) -> ad_dual {
        ad_dual {
            value: d.value,
            tangent: d.tangent,
        }
    }
}

impl From<ad_dual> for Dual<f64> {
    fn from(d: ad_dual) -> Dual<f64> {
        Dual::new(d.value, d.tangent)
    }
}

/// What a dual function returns if the impossible happens and it panics.
const NAN: ad_dual = ad_dual {
    value: f64::NAN,
    tangent: f64::NAN,
};

fn unary(x: ad_dual, f: impl FnOnce(Dual<f64>) -> Dual<f64>) -> ad_dual {
    ffi_boundary!(NAN, { f(x.into()).into() })
}

fn binary(a: ad_dual, b: ad_dual, f: impl FnOnce(Dual<f64>, Dual<f64>) -> Dual<f64>) -> ad_dual {
    ffi_boundary!(NAN, { f(a.into(), b.into()).into() })
}

/// The dual `value + tangent·ε`.
#[no_mangle]
pub extern "C" fn ad_dual_make(value: f64, tangent: f64) -> ad_dual {
    ffi_boundary!(NAN, { ad_dual { value, tangent } })
}

/// `x * c` for a constant `c`.
#[no_mangle]
pub extern "C" fn ad_dual_scale(x: ad_dual, c: f64) -> ad_dual {
    unary(x, |x| x * c)
}

/// `x^n` for an integer `n`.
#[no_mangle]
pub extern "C" fn ad_dual_powi(x: ad_dual, n: c_int) -> ad_dual {
    unary(x, |x| x.powi(n))
}

/// `x^c` for a constant `c`: no derivative flows to `c`, so a negative `x` with an
/// integral `c` has a finite derivative.
#[no_mangle]
pub extern "C" fn ad_dual_powf(x: ad_dual, c: f64) -> ad_dual {
    unary(x, |x| x.powf_const(c))
}

/// `a + b`.
#[no_mangle]
pub extern "C" fn ad_dual_add(a: ad_dual, b: ad_dual) -> ad_dual {
    binary(a, b, |a, b| a + b)
}

/// `a - b`.
#[no_mangle]
pub extern "C" fn ad_dual_sub(a: ad_dual, b: ad_dual) -> ad_dual {
    binary(a, b, |a, b| a - b)
}

/// `a * b`.
#[no_mangle]
pub extern "C" fn ad_dual_mul(a: ad_dual, b: ad_dual) -> ad_dual {
    binary(a, b, |a, b| a * b)
}

/// `a / b`.
#[no_mangle]
pub extern "C" fn ad_dual_div(a: ad_dual, b: ad_dual) -> ad_dual {
    binary(a, b, |a, b| a / b)
}

/// `a^b`, differentiable in both (the derivative in `b` needs `a > 0`).
#[no_mangle]
pub extern "C" fn ad_dual_pow(a: ad_dual, b: ad_dual) -> ad_dual {
    binary(a, b, Real::powf)
}

/// The angle of the point `(b, a)`, as C's `atan2(a, b)`.
#[no_mangle]
pub extern "C" fn ad_dual_atan2(a: ad_dual, b: ad_dual) -> ad_dual {
    binary(a, b, Real::atan2)
}

/// The smaller of `a` and `b` by value; at a tie, `a`.
#[no_mangle]
pub extern "C" fn ad_dual_min(a: ad_dual, b: ad_dual) -> ad_dual {
    binary(a, b, Real::min)
}

/// The larger of `a` and `b` by value; at a tie, `a`.
#[no_mangle]
pub extern "C" fn ad_dual_max(a: ad_dual, b: ad_dual) -> ad_dual {
    binary(a, b, Real::max)
}

/// `sqrt(a² + b²)` without undue overflow.
#[no_mangle]
pub extern "C" fn ad_dual_hypot(a: ad_dual, b: ad_dual) -> ad_dual {
    binary(a, b, Real::hypot)
}

/// `-x`.
#[no_mangle]
pub extern "C" fn ad_dual_neg(x: ad_dual) -> ad_dual {
    unary(x, |x| -x)
}

/// `1 / x`.
#[no_mangle]
pub extern "C" fn ad_dual_recip(x: ad_dual) -> ad_dual {
    unary(x, Real::recip)
}

/// Square root; the derivative at 0 is +infinity.
#[no_mangle]
pub extern "C" fn ad_dual_sqrt(x: ad_dual) -> ad_dual {
    unary(x, Real::sqrt)
}

/// Cube root.
#[no_mangle]
pub extern "C" fn ad_dual_cbrt(x: ad_dual) -> ad_dual {
    unary(x, Real::cbrt)
}

/// `e^x`.
#[no_mangle]
pub extern "C" fn ad_dual_exp(x: ad_dual) -> ad_dual {
    unary(x, Real::exp)
}

/// `e^x - 1`, accurate near 0.
#[no_mangle]
pub extern "C" fn ad_dual_expm1(x: ad_dual) -> ad_dual {
    unary(x, Real::exp_m1)
}

/// Natural logarithm.
#[no_mangle]
pub extern "C" fn ad_dual_log(x: ad_dual) -> ad_dual {
    unary(x, Real::ln)
}

/// `log(1 + x)`, accurate near 0.
#[no_mangle]
pub extern "C" fn ad_dual_log1p(x: ad_dual) -> ad_dual {
    unary(x, Real::ln_1p)
}

/// Base-2 logarithm.
#[no_mangle]
pub extern "C" fn ad_dual_log2(x: ad_dual) -> ad_dual {
    unary(x, Real::log2)
}

/// Base-10 logarithm.
#[no_mangle]
pub extern "C" fn ad_dual_log10(x: ad_dual) -> ad_dual {
    unary(x, Real::log10)
}

/// Sine.
#[no_mangle]
pub extern "C" fn ad_dual_sin(x: ad_dual) -> ad_dual {
    unary(x, Real::sin)
}

/// Cosine.
#[no_mangle]
pub extern "C" fn ad_dual_cos(x: ad_dual) -> ad_dual {
    unary(x, Real::cos)
}

/// Tangent.
#[no_mangle]
pub extern "C" fn ad_dual_tan(x: ad_dual) -> ad_dual {
    unary(x, Real::tan)
}

/// Arcsine.
#[no_mangle]
pub extern "C" fn ad_dual_asin(x: ad_dual) -> ad_dual {
    unary(x, Real::asin)
}

/// Arccosine.
#[no_mangle]
pub extern "C" fn ad_dual_acos(x: ad_dual) -> ad_dual {
    unary(x, Real::acos)
}

/// Arctangent.
#[no_mangle]
pub extern "C" fn ad_dual_atan(x: ad_dual) -> ad_dual {
    unary(x, Real::atan)
}

/// Hyperbolic sine.
#[no_mangle]
pub extern "C" fn ad_dual_sinh(x: ad_dual) -> ad_dual {
    unary(x, Real::sinh)
}

/// Hyperbolic cosine.
#[no_mangle]
pub extern "C" fn ad_dual_cosh(x: ad_dual) -> ad_dual {
    unary(x, Real::cosh)
}

/// Hyperbolic tangent.
#[no_mangle]
pub extern "C" fn ad_dual_tanh(x: ad_dual) -> ad_dual {
    unary(x, Real::tanh)
}

/// Inverse hyperbolic sine.
#[no_mangle]
pub extern "C" fn ad_dual_asinh(x: ad_dual) -> ad_dual {
    unary(x, Real::asinh)
}

/// Inverse hyperbolic cosine.
#[no_mangle]
pub extern "C" fn ad_dual_acosh(x: ad_dual) -> ad_dual {
    unary(x, Real::acosh)
}

/// Inverse hyperbolic tangent.
#[no_mangle]
pub extern "C" fn ad_dual_atanh(x: ad_dual) -> ad_dual {
    unary(x, Real::atanh)
}

/// Absolute value; the derivative at 0 is 0.
#[no_mangle]
pub extern "C" fn ad_dual_abs(x: ad_dual) -> ad_dual {
    unary(x, Real::abs)
}

/// `1 / (1 + e^-x)`, without overflow for large `|x|`.
#[no_mangle]
pub extern "C" fn ad_dual_sigmoid(x: ad_dual) -> ad_dual {
    unary(x, Real::sigmoid)
}

/// `log(1 + e^x)`, without overflow for large `x`.
#[no_mangle]
pub extern "C" fn ad_dual_softplus(x: ad_dual) -> ad_dual {
    unary(x, Real::softplus)
}

/// The error function.
#[no_mangle]
pub extern "C" fn ad_dual_erf(x: ad_dual) -> ad_dual {
    unary(x, Real::erf)
}
