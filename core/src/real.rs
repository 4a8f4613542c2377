//! The number types the library differentiates over.
//!
//! [`Real`] is implemented by `f32`, `f64`, [`Dual<T>`](crate::Dual) and
//! [`DualN<T, N>`](crate::DualN). Every derivative rule in the crate is written once,
//! generically over `Real`, so a tape of `Dual<f64>` differentiates its own backward
//! sweep (forward-over-reverse, which yields Hessian-vector products).
//!
//! The math comes from `libm`, so the trait works without `std`.

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

// `exp`, `expm1`, `ln`, `pow` and `tanh` for each float type: `libm`'s for `f32`, faster
// ones of ours for `f64`.
use crate::exp_f64::{exp as exp_f64, exp_m1 as expm1_f64, tanh as tanh_f64};
use crate::ln_f64::ln as ln_f64;
use crate::pow_f64::pow as pow_f64;
use libm::{expf, expm1f, logf, powf, tanhf};

/// A real number type: a float, or a dual number over one.
///
/// Comparisons (`PartialOrd`) compare primal values only, so `max`, `min` and `abs`
/// pick branches by value, the way every AD tool does.
pub trait Real:
    Copy
    + Debug
    + Default
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + 'static
{
    /// The additive identity.
    fn zero() -> Self;
    /// The multiplicative identity.
    fn one() -> Self;
    /// A constant (zero tangent for dual numbers). Rounds when `Self` is `f32`.
    fn from_f64(value: f64) -> Self;
    /// The primal value as `f64`, dropping any tangents.
    fn to_f64(self) -> f64;
    /// True when the primal value is NaN or infinite.
    fn is_non_finite(self) -> bool {
        !self.to_f64().is_finite()
    }
    /// True when every component is exactly zero (for dual numbers, the tangents too,
    /// which `==` does not compare). Sweeps skip zero adjoints with it, so a record the
    /// output does not depend on cannot turn `0 · ∞` into NaN.
    fn is_zero(self) -> bool {
        self == Self::zero()
    }
    /// True when `self` and `other` are the same plain float, bit for bit. Dual numbers
    /// answer false (the tape then never shares their constant records).
    fn same_bits(self, other: Self) -> bool {
        let _ = other;
        false
    }
    /// The number as an `f32`, when it is a plain float that `f32` holds exactly, or a
    /// dual number of such a value whose tangents are all zero. The tape stores such
    /// constants inside the record that uses them.
    fn exact_f32(self) -> Option<f32> {
        None
    }
    /// Whether the number's value is an `f64`: a plain `f64`, or a dual number of one.
    /// Only such tapes keep constants that `f32` does not hold beside their records
    /// (`wide_constant.rs`), where [`plain_f64`](Real::plain_f64) answers.
    const F64_VALUED: bool = false;
    /// The number as an `f64`, when it is a plain `f64`, or a dual number of one whose
    /// tangents are all zero: what a constant beside the records (8 bytes) holds, and
    /// reads back with [`from_f64`](Real::from_f64).
    fn plain_f64(self) -> Option<f64> {
        None
    }

    fn recip(self) -> Self;
    fn powi(self, n: i32) -> Self;
    fn powf(self, exponent: Self) -> Self;
    fn sqrt(self) -> Self;
    fn cbrt(self) -> Self;
    fn exp(self) -> Self;
    fn exp_m1(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn log2(self) -> Self;
    fn log10(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tan(self) -> Self;
    fn asin(self) -> Self;
    fn acos(self) -> Self;
    fn atan(self) -> Self;
    /// `self.atan2(x)` is the angle of the point `(x, self)`, as in `std`.
    fn atan2(self, x: Self) -> Self;
    fn sinh(self) -> Self;
    fn cosh(self) -> Self;
    fn tanh(self) -> Self;
    fn asinh(self) -> Self;
    fn acosh(self) -> Self;
    fn atanh(self) -> Self;
    fn abs(self) -> Self;
    /// The smaller value; at a tie, `self`.
    fn min(self, other: Self) -> Self;
    /// The larger value; at a tie, `self`.
    fn max(self, other: Self) -> Self;
    fn hypot(self, other: Self) -> Self;
    /// `1 / (1 + e^-x)`, computed without overflow for large `|x|`.
    fn sigmoid(self) -> Self;
    /// `ln(1 + e^x)`, computed without overflow for large `x`.
    fn softplus(self) -> Self;
    fn erf(self) -> Self;
}

/// Implements `Real` for a primitive float through the matching `libm` functions, and
/// `exp`, `exp_m1`, `ln`, `powf` and `tanh` through the ones named.
macro_rules! impl_real_for_float {
    ($t:ty, $sqrt:ident, $cbrt:ident, $exp:ident, $expm1:ident, $log:ident,
        $log1p:ident, $log2:ident, $log10:ident, $sin:ident, $cos:ident, $tan:ident,
        $asin:ident, $acos:ident, $atan:ident, $atan2:ident, $sinh:ident, $cosh:ident,
        $tanh:ident, $asinh:ident, $acosh:ident, $atanh:ident, $fabs:ident, $hypot:ident,
        $erf:ident, $pow:ident) => {
        impl Real for $t {
            #[inline(always)]
            fn zero() -> Self {
                0.0
            }
            #[inline(always)]
            fn one() -> Self {
                1.0
            }
            #[inline(always)]
            fn from_f64(value: f64) -> Self {
                value as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn same_bits(self, other: Self) -> bool {
                self.to_bits() == other.to_bits()
            }
            #[inline(always)]
            fn exact_f32(self) -> Option<f32> {
                let narrow = self as f32;
                (narrow as $t == self).then_some(narrow)
            }
            const F64_VALUED: bool = core::mem::size_of::<$t>() == 8;
            #[inline(always)]
            fn plain_f64(self) -> Option<f64> {
                Self::F64_VALUED.then_some(self as f64)
            }
            #[inline(always)]
            fn is_non_finite(self) -> bool {
                !self.is_finite()
            }
            #[inline(always)]
            fn recip(self) -> Self {
                1.0 / self
            }
            #[inline]
            fn powi(self, n: i32) -> Self {
                powi_by_squaring(self, n)
            }
            #[inline]
            fn powf(self, exponent: Self) -> Self {
                $pow(self, exponent)
            }
            #[inline]
            fn sqrt(self) -> Self {
                libm::$sqrt(self)
            }
            #[inline]
            fn cbrt(self) -> Self {
                libm::$cbrt(self)
            }
            #[inline]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline]
            fn exp_m1(self) -> Self {
                $expm1(self)
            }
            #[inline]
            fn ln(self) -> Self {
                $log(self)
            }
            #[inline]
            fn ln_1p(self) -> Self {
                libm::$log1p(self)
            }
            #[inline]
            fn log2(self) -> Self {
                libm::$log2(self)
            }
            #[inline]
            fn log10(self) -> Self {
                libm::$log10(self)
            }
            #[inline]
            fn sin(self) -> Self {
                libm::$sin(self)
            }
            #[inline]
            fn cos(self) -> Self {
                libm::$cos(self)
            }
            #[inline]
            fn tan(self) -> Self {
                libm::$tan(self)
            }
            #[inline]
            fn asin(self) -> Self {
                libm::$asin(self)
            }
            #[inline]
            fn acos(self) -> Self {
                libm::$acos(self)
            }
            #[inline]
            fn atan(self) -> Self {
                libm::$atan(self)
            }
            #[inline]
            fn atan2(self, x: Self) -> Self {
                libm::$atan2(self, x)
            }
            #[inline]
            fn sinh(self) -> Self {
                libm::$sinh(self)
            }
            #[inline]
            fn cosh(self) -> Self {
                libm::$cosh(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline]
            fn asinh(self) -> Self {
                libm::$asinh(self)
            }
            #[inline]
            fn acosh(self) -> Self {
                libm::$acosh(self)
            }
            #[inline]
            fn atanh(self) -> Self {
                libm::$atanh(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                libm::$fabs(self)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                if other < self {
                    other
                } else {
                    self
                }
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                if other > self {
                    other
                } else {
                    self
                }
            }
            #[inline]
            fn hypot(self, other: Self) -> Self {
                libm::$hypot(self, other)
            }
            #[inline]
            fn sigmoid(self) -> Self {
                // Branch on sign so that exp never overflows.
                if self >= 0.0 {
                    1.0 / (1.0 + $exp(-self))
                } else {
                    let e = $exp(self);
                    e / (1.0 + e)
                }
            }
            #[inline]
            fn softplus(self) -> Self {
                // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|)
                let positive = if self > 0.0 { self } else { 0.0 };
                positive + libm::$log1p($exp(-libm::$fabs(self)))
            }
            #[inline]
            fn erf(self) -> Self {
                libm::$erf(self)
            }
        }
    };
}

impl_real_for_float!(
    f64, sqrt, cbrt, exp_f64, expm1_f64, ln_f64, log1p, log2, log10, sin, cos, tan, asin, acos,
    atan, atan2, sinh, cosh, tanh_f64, asinh, acosh, atanh, fabs, hypot, erf, pow_f64
);
impl_real_for_float!(
    f32, sqrtf, cbrtf, expf, expm1f, logf, log1pf, log2f, log10f, sinf, cosf, tanf, asinf, acosf,
    atanf, atan2f, sinhf, coshf, tanhf, asinhf, acoshf, atanhf, fabsf, hypotf, erff, powf
);

/// `x^n` by repeated squaring: exact for small `n`, and `x^0 == 1` even for NaN, as `std`.
#[inline]
pub(crate) fn powi_by_squaring<T: Real>(x: T, n: i32) -> T {
    let mut base = x;
    let mut exponent = n.unsigned_abs();
    let mut result = T::one();
    while exponent > 0 {
        if exponent & 1 == 1 {
            result *= base;
        }
        exponent >>= 1;
        if exponent > 0 {
            base = base * base;
        }
    }
    if n < 0 {
        result.recip()
    } else {
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powi_matches_repeated_multiplication() {
        assert_eq!(powi_by_squaring(3.0f64, 0), 1.0);
        assert_eq!(powi_by_squaring(3.0f64, 5), 243.0);
        assert_eq!(powi_by_squaring(2.0f64, -3), 0.125);
        assert_eq!(powi_by_squaring(-2.0f32, 3), -8.0);
    }

    #[test]
    fn sigmoid_and_softplus_do_not_overflow() {
        assert_eq!(Real::sigmoid(1000.0f64), 1.0);
        assert_eq!(Real::sigmoid(-1000.0f64), 0.0);
        assert_eq!(Real::softplus(1000.0f64), 1000.0);
        assert!(Real::softplus(-1000.0f64) >= 0.0);
        assert!((Real::softplus(0.0f64) - core::f64::consts::LN_2).abs() < 1e-15);
    }

    #[test]
    fn min_and_max_return_self_at_ties() {
        assert_eq!(Real::max(1.0f64, 1.0), 1.0);
        assert_eq!(Real::min(2.0f32, 3.0), 2.0);
        assert_eq!(Real::max(2.0f32, 3.0), 3.0);
    }
}
