//! Forward-mode dual numbers with one tangent.
//!
//! The operator and [`Real`] impls are shared with [`DualN`](crate::DualN) through the
//! macros below; each type supplies only its chain-rule helpers (`unary`, `binary`,
//! `binary_const_rhs`, `binary_const_lhs`). Every derivative rule comes from [`Op`].

use core::cmp::Ordering;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::op::Op;
use crate::real::Real;

/// A dual number `value + tangent·ε` with `ε² = 0`: forward-mode AD in one direction.
///
/// Evaluating a function on `Dual::variable(x)` gives `f(x)` in [`value`](Dual::value) and
/// `f'(x)` in [`tangent`](Dual::tangent), in one pass and with no tape. More generally,
/// seeding `Dual::new(x, v)` gives the directional derivative `f'(x)·v`. `Dual<T>`
/// implements [`Real`], so the same generic code runs on `f64` and on duals, and duals
/// nest: `Dual<Dual<f64>>` carries second derivatives.
///
/// Comparisons (`PartialEq`, `PartialOrd`) look at the primal [`value`](Dual::value)
/// only. That way a generic function takes the same branch (`if x < 0`, `max`, `abs`)
/// on a dual as on the plain float, as [`Real`] requires. The price is that `a == b`
/// says nothing about the tangents; compare the fields to check those.
///
/// # Example
///
/// `f(x) = 2x² + sin x` at `x = 3`: `f(3) = 18 + sin 3` and `f'(3) = 12 + cos 3`.
///
/// ```
/// use autodiff_core::{Dual, Real};
///
/// fn f<R: Real>(x: R) -> R {
///     R::from_f64(2.0) * x * x + x.sin()
/// }
///
/// let y = f(Dual::variable(3.0_f64));
/// assert_eq!(y.value, 18.0 + Real::sin(3.0_f64));
/// assert_eq!(y.tangent, 12.0 + Real::cos(3.0_f64));
///
/// // Nested duals: the tangent of the tangent is f''(3) = 4 − sin 3.
/// let y2 = f(Dual::variable(Dual::variable(3.0_f64)));
/// assert_eq!(y2.tangent.tangent, 4.0 - Real::sin(3.0_f64));
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Dual<T: Real> {
    /// The primal value `f(x)`.
    pub value: T,
    /// The derivative along the seeded direction, `f'(x)·v`.
    pub tangent: T,
}

impl<T: Real> Dual<T> {
    /// A dual with the given value and tangent.
    #[inline(always)]
    pub const fn new(value: T, tangent: T) -> Self {
        Dual { value, tangent }
    }

    /// The independent variable `x`: tangent one, so results carry `d/dx`.
    #[inline(always)]
    pub fn variable(value: T) -> Self {
        Dual::new(value, T::one())
    }

    /// A constant: tangent zero.
    #[inline(always)]
    pub fn constant(value: T) -> Self {
        Dual::new(value, T::zero())
    }

    /// `op(self)` and its tangent by the chain rule.
    #[inline(always)]
    fn unary(self, op: Op, n: i32) -> Self {
        let y = op.eval_unary(self.value, n);
        Dual::new(y, op.unary_partial(self.value, y, n) * self.tangent)
    }

    /// `op(self, rhs)` and its tangent by the chain rule.
    #[inline(always)]
    fn binary(self, op: Op, rhs: Self) -> Self {
        let y = op.eval_binary(self.value, rhs.value);
        let (da, db) = op.binary_partials(self.value, rhs.value, y);
        Dual::new(y, da * self.tangent + db * rhs.tangent)
    }

    /// `op(self, rhs)` with a constant `rhs`: its term is dropped, not multiplied by zero,
    /// so an infinite or NaN partial towards the constant cannot poison the tangent.
    #[inline(always)]
    fn binary_const_rhs(self, op: Op, rhs: T) -> Self {
        let y = op.eval_binary(self.value, rhs);
        let (da, _) = op.binary_partials(self.value, rhs, y);
        Dual::new(y, da * self.tangent)
    }

    /// `op(lhs, rhs)` with a constant `lhs`.
    #[inline(always)]
    fn binary_const_lhs(lhs: T, op: Op, rhs: Self) -> Self {
        let y = op.eval_binary(lhs, rhs.value);
        let (_, db) = op.binary_partials(lhs, rhs.value, y);
        Dual::new(y, db * rhs.tangent)
    }
}

/// Implements one arithmetic operator (`Self ∘ Self`, `Self ∘ T`) and its assigning form.
macro_rules! dual_operator {
    ([$($g:tt)*] $ty:ty, $Trait:ident, $method:ident, $Assign:ident, $assign:ident, $op:expr) => {
        impl<$($g)*> $Trait for $ty {
            type Output = Self;
            #[inline(always)]
            fn $method(self, rhs: Self) -> Self {
                self.binary($op, rhs)
            }
        }
        impl<$($g)*> $Trait<T> for $ty {
            type Output = Self;
            #[inline(always)]
            fn $method(self, rhs: T) -> Self {
                self.binary_const_rhs($op, rhs)
            }
        }
        impl<$($g)*> $Assign for $ty {
            #[inline(always)]
            fn $assign(&mut self, rhs: Self) {
                *self = self.binary($op, rhs);
            }
        }
        impl<$($g)*> $Assign<T> for $ty {
            #[inline(always)]
            fn $assign(&mut self, rhs: T) {
                *self = self.binary_const_rhs($op, rhs);
            }
        }
    };
}
pub(crate) use dual_operator;

/// Implements `scalar ∘ dual` for a concrete float `$s` (Rust cannot write it generically
/// over `T`), as in `2.0 * x`.
macro_rules! dual_scalar_lhs {
    ([$($g:tt)*] $s:ty, $ty:ty) => {
        $crate::dual::dual_scalar_lhs!(@one [$($g)*] $s, $ty, Add, add, Op::Add);
        $crate::dual::dual_scalar_lhs!(@one [$($g)*] $s, $ty, Sub, sub, Op::Sub);
        $crate::dual::dual_scalar_lhs!(@one [$($g)*] $s, $ty, Mul, mul, Op::Mul);
        $crate::dual::dual_scalar_lhs!(@one [$($g)*] $s, $ty, Div, div, Op::Div);
    };
    (@one [$($g:tt)*] $s:ty, $ty:ty, $Trait:ident, $method:ident, $op:expr) => {
        impl<$($g)*> $Trait<$ty> for $s {
            type Output = $ty;
            #[inline(always)]
            fn $method(self, rhs: $ty) -> $ty {
                <$ty>::binary_const_lhs(self, $op, rhs)
            }
        }
    };
}
pub(crate) use dual_scalar_lhs;

/// Implements the operators, the primal-only comparisons, `Default` and [`Real`] for a
/// dual type with the private helpers `constant`, `unary`, `binary`, `binary_const_rhs`
/// and `binary_const_lhs`, and a public `value: T` field.
macro_rules! dual_number {
    ([$($g:tt)*] $ty:ty) => {
        $crate::dual::dual_operator!([$($g)*] $ty, Add, add, AddAssign, add_assign, Op::Add);
        $crate::dual::dual_operator!([$($g)*] $ty, Sub, sub, SubAssign, sub_assign, Op::Sub);
        $crate::dual::dual_operator!([$($g)*] $ty, Mul, mul, MulAssign, mul_assign, Op::Mul);
        $crate::dual::dual_operator!([$($g)*] $ty, Div, div, DivAssign, div_assign, Op::Div);

        impl<$($g)*> Neg for $ty {
            type Output = Self;
            #[inline(always)]
            fn neg(self) -> Self {
                self.unary(Op::Neg, 0)
            }
        }

        /// Compares the primal values only; see the type's documentation.
        impl<$($g)*> PartialEq for $ty {
            #[inline(always)]
            fn eq(&self, other: &Self) -> bool {
                self.value == other.value
            }
        }

        /// Compares the primal values only; see the type's documentation.
        impl<$($g)*> PartialOrd for $ty {
            #[inline(always)]
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                self.value.partial_cmp(&other.value)
            }
        }

        /// Zero, with zero tangents.
        impl<$($g)*> Default for $ty {
            #[inline(always)]
            fn default() -> Self {
                Self::constant(T::zero())
            }
        }

        impl<$($g)*> $ty {
            /// `self^exponent` for a constant `exponent` ([`Op::Powf`]): no derivative
            /// flows to the exponent. Unlike [`Real::powf`], whose rule includes the
            /// `a^b·ln a` term (NaN for a negative base even when multiplied by a zero
            /// tangent), this gives a finite tangent for `(-2)^3.0`.
            #[inline(always)]
            pub fn powf_const(self, exponent: T) -> Self {
                self.binary_const_rhs(Op::Powf, exponent)
            }
        }

        /// Each function evaluates the value and the partial through [`Op`]; `from_f64`
        /// makes a constant and `to_f64` returns the primal value.
        impl<$($g)*> Real for $ty {
            #[inline(always)]
            fn zero() -> Self {
                Self::constant(T::zero())
            }
            #[inline(always)]
            fn one() -> Self {
                Self::constant(T::one())
            }
            #[inline(always)]
            fn from_f64(value: f64) -> Self {
                Self::constant(T::from_f64(value))
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self.value.to_f64()
            }
            #[inline(always)]
            fn is_non_finite(self) -> bool {
                self.value.is_non_finite()
            }
            #[inline(always)]
            fn is_zero(self) -> bool {
                self.value.is_zero() && self.tangents_are_zero()
            }
            /// A constant whose value `f32` holds, as for a plain float, when every
            /// tangent is zero: the tape then keeps it inside the op's record (`x · 0.5`
            /// is one record, not a constant record and a product), which reads it back
            /// as `from_f64` makes it, with tangents `+0`. (So a `−0` tangent reads back
            /// as `+0`, which can change only the sign of a zero tangent downstream:
            /// `x − c` is recorded as `x + (−c)`, whose negated tangent is `−0`.)
            #[inline(always)]
            fn exact_f32(self) -> Option<f32> {
                self.tangents_are_zero().then_some(self.value)?.exact_f32()
            }
            const F64_VALUED: bool = T::F64_VALUED;
            /// As [`exact_f32`](Real::exact_f32), for a constant beside the records.
            #[inline(always)]
            fn plain_f64(self) -> Option<f64> {
                self.tangents_are_zero().then_some(self.value)?.plain_f64()
            }
            #[inline(always)]
            fn recip(self) -> Self {
                self.unary(Op::Recip, 0)
            }
            #[inline(always)]
            fn powi(self, n: i32) -> Self {
                self.unary(Op::Powi, n)
            }
            /// Both base and exponent differentiable ([`Op::Pow`]); for a constant
            /// exponent see `powf_const`.
            #[inline(always)]
            fn powf(self, exponent: Self) -> Self {
                self.binary(Op::Pow, exponent)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                self.unary(Op::Sqrt, 0)
            }
            #[inline(always)]
            fn cbrt(self) -> Self {
                self.unary(Op::Cbrt, 0)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                self.unary(Op::Exp, 0)
            }
            #[inline(always)]
            fn exp_m1(self) -> Self {
                self.unary(Op::ExpM1, 0)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                self.unary(Op::Ln, 0)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                self.unary(Op::Ln1p, 0)
            }
            #[inline(always)]
            fn log2(self) -> Self {
                self.unary(Op::Log2, 0)
            }
            #[inline(always)]
            fn log10(self) -> Self {
                self.unary(Op::Log10, 0)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                self.unary(Op::Sin, 0)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                self.unary(Op::Cos, 0)
            }
            #[inline(always)]
            fn tan(self) -> Self {
                self.unary(Op::Tan, 0)
            }
            #[inline(always)]
            fn asin(self) -> Self {
                self.unary(Op::Asin, 0)
            }
            #[inline(always)]
            fn acos(self) -> Self {
                self.unary(Op::Acos, 0)
            }
            #[inline(always)]
            fn atan(self) -> Self {
                self.unary(Op::Atan, 0)
            }
            #[inline(always)]
            fn atan2(self, x: Self) -> Self {
                self.binary(Op::Atan2, x)
            }
            #[inline(always)]
            fn sinh(self) -> Self {
                self.unary(Op::Sinh, 0)
            }
            #[inline(always)]
            fn cosh(self) -> Self {
                self.unary(Op::Cosh, 0)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                self.unary(Op::Tanh, 0)
            }
            #[inline(always)]
            fn asinh(self) -> Self {
                self.unary(Op::Asinh, 0)
            }
            #[inline(always)]
            fn acosh(self) -> Self {
                self.unary(Op::Acosh, 0)
            }
            #[inline(always)]
            fn atanh(self) -> Self {
                self.unary(Op::Atanh, 0)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                self.unary(Op::Abs, 0)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                self.binary(Op::Min, other)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                self.binary(Op::Max, other)
            }
            #[inline(always)]
            fn hypot(self, other: Self) -> Self {
                self.binary(Op::Hypot, other)
            }
            #[inline(always)]
            fn sigmoid(self) -> Self {
                self.unary(Op::Sigmoid, 0)
            }
            #[inline(always)]
            fn softplus(self) -> Self {
                self.unary(Op::Softplus, 0)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                self.unary(Op::Erf, 0)
            }
        }
    };
}
pub(crate) use dual_number;

dual_number!([T: Real] Dual<T>);

impl<T: Real> Dual<T> {
    #[inline(always)]
    fn tangents_are_zero(self) -> bool {
        self.tangent.is_zero()
    }
}
dual_scalar_lhs!([] f32, Dual<f32>);
dual_scalar_lhs!([] f64, Dual<f64>);
