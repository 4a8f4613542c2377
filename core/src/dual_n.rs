//! Vector forward mode: a dual number with `N` tangents.
//!
//! The operators and the [`Real`] impl come from the same macros as
//! [`Dual`](crate::Dual)'s; only the chain-rule helpers differ (a loop over the tangents).

use core::cmp::Ordering;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::dual::{dual_number, dual_scalar_lhs};
use crate::op::Op;
use crate::real::Real;

/// A dual number with `N` tangents: forward-mode AD in `N` directions at once.
///
/// Seed input `i` with [`DualN::variable(x_i, i)`](DualN::variable) and one evaluation of
/// `f: ℝᴺ → ℝᵐ` gives every output's full gradient: `tangents[i]` of output `j` is
/// `∂f_j/∂x_i`. That is `N` columns of the Jacobian for the price of one pass (each
/// operation does one value and `N` tangent updates), with no tape. For many inputs, run
/// it in blocks of `N` columns. It implements [`Real`], like [`Dual`](crate::Dual), and
/// compares primal values only, for the same reason.
///
/// # Example
///
/// `f(x, y) = 2x² + sin y` at `(3, 3)`: `f = 18 + sin 3`, `∇f = (12, cos 3)`.
///
/// ```
/// use autodiff_core::{DualN, Real};
///
/// let x = DualN::<f64, 2>::variable(3.0, 0);
/// let y = DualN::<f64, 2>::variable(3.0, 1);
/// let f = 2.0 * x * x + y.sin();
/// assert_eq!(f.value, 18.0 + Real::sin(3.0_f64));
/// assert_eq!(f.tangents, [12.0, Real::cos(3.0_f64)]);
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DualN<T: Real, const N: usize> {
    /// The primal value.
    pub value: T,
    /// The derivatives along the `N` seeded directions.
    pub tangents: [T; N],
}

impl<T: Real, const N: usize> DualN<T, N> {
    /// A dual with the given value and tangents.
    #[inline(always)]
    pub const fn new(value: T, tangents: [T; N]) -> Self {
        DualN { value, tangents }
    }

    /// Input number `index`: tangent one in direction `index`, zero in the others.
    ///
    /// An `index` of `N` or more has no direction to seed, so the result is a
    /// [constant](DualN::constant) (all tangents zero) rather than a panic.
    #[inline]
    pub fn variable(value: T, index: usize) -> Self {
        let mut tangents = [T::zero(); N];
        if let Some(t) = tangents.get_mut(index) {
            *t = T::one();
        }
        DualN::new(value, tangents)
    }

    /// A constant: all tangents zero.
    #[inline(always)]
    pub fn constant(value: T) -> Self {
        DualN::new(value, [T::zero(); N])
    }

    /// `op(self)` and its tangents by the chain rule.
    #[inline(always)]
    fn unary(self, op: Op, n: i32) -> Self {
        let y = op.eval_unary(self.value, n);
        let d = op.unary_partial(self.value, y, n);
        DualN::new(y, self.tangents.map(|t| d * t))
    }

    /// `op(self, rhs)` and its tangents by the chain rule.
    #[inline(always)]
    fn binary(self, op: Op, rhs: Self) -> Self {
        let y = op.eval_binary(self.value, rhs.value);
        let (da, db) = op.binary_partials(self.value, rhs.value, y);
        let mut tangents = self.tangents;
        for (t, tb) in tangents.iter_mut().zip(rhs.tangents) {
            *t = da * *t + db * tb;
        }
        DualN::new(y, tangents)
    }

    /// `op(self, rhs)` with a constant `rhs`: its term is dropped, not multiplied by zero.
    #[inline(always)]
    fn binary_const_rhs(self, op: Op, rhs: T) -> Self {
        let y = op.eval_binary(self.value, rhs);
        let (da, _) = op.binary_partials(self.value, rhs, y);
        DualN::new(y, self.tangents.map(|t| da * t))
    }

    /// `op(lhs, rhs)` with a constant `lhs`.
    #[inline(always)]
    fn binary_const_lhs(lhs: T, op: Op, rhs: Self) -> Self {
        let y = op.eval_binary(lhs, rhs.value);
        let (_, db) = op.binary_partials(lhs, rhs.value, y);
        DualN::new(y, rhs.tangents.map(|t| db * t))
    }
}

dual_number!([T: Real, const N: usize] DualN<T, N>);

impl<T: Real, const N: usize> DualN<T, N> {
    #[inline(always)]
    fn tangents_are_zero(self) -> bool {
        self.tangents.iter().all(|t| t.is_zero())
    }
}
dual_scalar_lhs!([const N: usize] f32, DualN<f32, N>);
dual_scalar_lhs!([const N: usize] f64, DualN<f64, N>);
