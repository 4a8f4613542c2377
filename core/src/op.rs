//! The elementary operations and their derivative rules, written once.
//!
//! The tape records an [`Op`] code per variable, and the dual numbers, the backward sweep,
//! the tangent sweep and replay all evaluate values and partial derivatives through the
//! functions here. So each rule, and each convention at a non-differentiable point, has
//! one definition.
//!
//! # Conventions at non-differentiable points and on domain errors
//!
//! | function | point | derivative used |
//! |---|---|---|
//! | `abs` | `x = 0` | `0` (the sign function, as PyTorch and JAX) |
//! | `max(a, b)` | `a == b` | all to `a`, the first argument (`max` returns `a` at a tie) |
//! | `min(a, b)` | `a == b` | all to `a`, the first argument |
//! | `sqrt` | `x = 0` | `+∞` (`1 / (2·√0)`) |
//! | `cbrt` | `x = 0` | `+∞` |
//! | `hypot(a, b)` | `a = b = 0` | `(0, 0)`, a subgradient |
//! | `atan2(a, b)` | `a = b = 0` | NaN (`0/0`): the angle is undefined there |
//! | `pow(a, b)` | `a = 0` | `∂/∂b = 0` (the `a^b·ln a` term is taken as its limit) |
//! | `powi(x, 0)` | any `x` | `0` |
//!
//! The sweeps skip a zero adjoint (and a zero tangent) instead of multiplying it by the
//! partial, so an infinite partial on a path the output does not depend on never turns
//! into `0 · ∞ = NaN`. On a path it does depend on, `∞` and NaN propagate as they should.
//!
//! Outside a function's domain the *value* is NaN (`sqrt(-1)`, `ln(-1)`, `asin(2)`,
//! `acosh(0)`), and the NaN travels through every later value, so a NaN result flags the
//! problem. The derivative is the formula evaluated as is: NaN where it contains the
//! value or a square root of a negative (`sqrt`, `asin`, `acos`, `acosh`), and the finite
//! formula value where it does not (`ln'(x) = 1/x` for `x < 0`, `atanh'(x) = 1/(1−x²)`
//! for `|x| > 1`).

use crate::real::Real;

/// An operation code. Fits in 6 bits, so a tape record packs it beside an argument index.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// An independent variable. No arguments.
    Input = 0,
    /// A constant. No arguments; never receives a meaningful adjoint.
    Const,

    // Binary: both arguments are variables.
    Add,
    Sub,
    Mul,
    Div,
    /// `a^b` with both differentiable.
    Pow,
    /// `a^b` where `b` is a constant: no derivative flows to `b`, so a negative base
    /// does not poison tangents with `ln(a)`.
    Powf,
    Atan2,
    Min,
    Max,
    Hypot,

    // Unary: one argument variable (`Powi` also carries its integer exponent).
    Neg,
    Recip,
    Powi,
    Sqrt,
    Cbrt,
    Exp,
    ExpM1,
    Ln,
    Ln1p,
    Log2,
    Log10,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Abs,
    Sigmoid,
    Softplus,
    Erf,

    // A variable and a constant stored in the record itself (as `f32` bits in the
    // second-argument field), for constants `f32` holds exactly: most literals. This
    // saves a `Const` record per use. The constant travels as `n` in the unary rules.
    /// `x + c`
    AddConst,
    /// `x · c`
    MulConst,
    /// `x / c`
    DivConst,
    /// `c − x`
    ConstSub,
    /// `c / x`
    ConstDiv,

    /// A tensor-layer op; the record's argument indexes the tensor layer's own table.
    Tensor,

    /// `x` itself: how a tape reaches an argument too far back for the op that uses it
    /// (see the tape's record layout). After the older ops, so that their codes keep
    /// their numbers.
    Copy,

    // A variable and a constant that `f32` does not hold, kept beside the records (the
    // record's second field locates it): any constant costs no record of its own and
    // no backward work. Only `f64` tapes make them (an `f32` tape's constants are all
    // `f32`).
    /// `x + c`
    AddWide,
    /// `x · c`
    MulWide,
    /// `x / c`
    DivWide,
    /// `c − x`
    WideSub,
    /// `c / x`
    WideDiv,
}

impl Op {
    /// Whether the op's value or derivative calls into libm beyond `sqrt` and `fabs`:
    /// exponentials, logarithms, the trigonometric and hyperbolic functions and their
    /// inverses, `cbrt`, `erf`, `sigmoid`, `softplus`, `pow`, `atan2` and `hypot`. A core
    /// built without its `transcendental` feature refuses to record these and links
    /// none of their code: an image that only needs `+ − × ÷`, `sqrt`, powers and
    /// constants pays for no libm beyond those.
    pub const fn is_transcendental(self) -> bool {
        matches!(
            self,
            Op::Cbrt
                | Op::Exp
                | Op::ExpM1
                | Op::Ln
                | Op::Ln1p
                | Op::Log2
                | Op::Log10
                | Op::Sin
                | Op::Cos
                | Op::Tan
                | Op::Asin
                | Op::Acos
                | Op::Atan
                | Op::Sinh
                | Op::Cosh
                | Op::Tanh
                | Op::Asinh
                | Op::Acosh
                | Op::Atanh
                | Op::Sigmoid
                | Op::Softplus
                | Op::Erf
                | Op::Pow
                | Op::Powf
                | Op::Atan2
                | Op::Hypot
        )
    }
}

/// Whether the tape's sweeps include the libm rules: without the `transcendental`
/// feature the tape refuses those ops, so its sweeps compile their arms to nothing and an
/// image links none of their code. Dual numbers use every rule either way.
pub(crate) const TAPE_HAS_LIBM_RULES: bool = cfg!(feature = "transcendental");

/// The rules that call libm, apart from the others so that the tape's sweeps can leave
/// them out ([`TAPE_HAS_LIBM_RULES`]).
mod transcendental {
    use super::Op;
    use crate::real::Real;

    #[inline(always)]
    pub(super) fn unary_value<T: Real>(op: Op, x: T) -> T {
        match op {
            Op::Cbrt => x.cbrt(),
            Op::Exp => x.exp(),
            Op::ExpM1 => x.exp_m1(),
            Op::Ln => x.ln(),
            Op::Ln1p => x.ln_1p(),
            Op::Log2 => x.log2(),
            Op::Log10 => x.log10(),
            Op::Sin => x.sin(),
            Op::Cos => x.cos(),
            Op::Tan => x.tan(),
            Op::Asin => x.asin(),
            Op::Acos => x.acos(),
            Op::Atan => x.atan(),
            Op::Sinh => x.sinh(),
            Op::Cosh => x.cosh(),
            Op::Tanh => x.tanh(),
            Op::Asinh => x.asinh(),
            Op::Acosh => x.acosh(),
            Op::Atanh => x.atanh(),
            Op::Sigmoid => x.sigmoid(),
            Op::Softplus => x.softplus(),
            Op::Erf => x.erf(),
            _ => x,
        }
    }

    #[inline(always)]
    pub(super) fn unary_partial<T: Real>(op: Op, x: T) -> T {
        match op {
            Op::Sin => x.cos(),
            Op::Cos => -x.sin(),
            Op::Sinh => x.cosh(),
            Op::Cosh => x.sinh(),
            Op::Softplus => x.sigmoid(),
            Op::Erf => T::from_f64(core::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp(),
            _ => T::zero(),
        }
    }

    #[inline(always)]
    pub(super) fn binary_value<T: Real>(op: Op, a: T, b: T) -> T {
        match op {
            Op::Pow | Op::Powf => a.powf(b),
            Op::Atan2 => a.atan2(b),
            Op::Hypot => a.hypot(b),
            _ => a,
        }
    }

    /// Out of line, unlike the other rules: `pow` and `ln` are long, and inlined into
    /// the backward sweep's loop for these rare records they slowed the common ones
    /// (llsq's backward from C, `x · c` and `−` only, by a tenth).
    #[inline(never)]
    pub(super) fn binary_partials<T: Real>(op: Op, a: T, b: T, y: T) -> (T, T) {
        let (zero, one) = (T::zero(), T::one());
        match op {
            Op::Pow => {
                let d_base = b * a.powf(b - one);
                let d_exponent = if a == zero { zero } else { y * a.ln() };
                (d_base, d_exponent)
            }
            Op::Powf => (b * a.powf(b - one), zero),
            _ => (zero, zero),
        }
    }
}

/// How many variable arguments an op reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    Leaf,
    Unary,
    Binary,
    Tensor,
    /// One variable and a constant kept beside the records.
    WideConstant,
}

impl Op {
    /// The highest op code; codes above it are invalid.
    pub const LAST: Op = Op::WideDiv;

    /// The op with code `code`, if there is one.
    #[inline(always)]
    pub fn from_code(code: u8) -> Option<Op> {
        if code <= Op::LAST as u8 {
            // SAFETY: `Op` is `repr(u8)` with contiguous discriminants 0..=LAST.
            Some(unsafe { core::mem::transmute::<u8, Op>(code) })
        } else {
            None
        }
    }

    #[inline(always)]
    pub fn arity(self) -> Arity {
        match self {
            Op::Input | Op::Const => Arity::Leaf,
            Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Pow
            | Op::Powf
            | Op::Atan2
            | Op::Min
            | Op::Max
            | Op::Hypot => Arity::Binary,
            Op::Tensor => Arity::Tensor,
            Op::AddWide | Op::MulWide | Op::DivWide | Op::WideSub | Op::WideDiv => {
                Arity::WideConstant
            }
            _ => Arity::Unary,
        }
    }

    /// The name used in messages and in graph exports.
    pub fn name(self) -> &'static str {
        match self {
            Op::Input => "input",
            Op::Const => "const",
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Mul => "mul",
            Op::Div => "div",
            Op::Pow => "pow",
            Op::Powf => "powf",
            Op::Atan2 => "atan2",
            Op::Min => "min",
            Op::Max => "max",
            Op::Hypot => "hypot",
            Op::Neg => "neg",
            Op::Recip => "recip",
            Op::Powi => "powi",
            Op::Sqrt => "sqrt",
            Op::Cbrt => "cbrt",
            Op::Exp => "exp",
            Op::ExpM1 => "exp_m1",
            Op::Ln => "ln",
            Op::Ln1p => "ln_1p",
            Op::Log2 => "log2",
            Op::Log10 => "log10",
            Op::Sin => "sin",
            Op::Cos => "cos",
            Op::Tan => "tan",
            Op::Asin => "asin",
            Op::Acos => "acos",
            Op::Atan => "atan",
            Op::Sinh => "sinh",
            Op::Cosh => "cosh",
            Op::Tanh => "tanh",
            Op::Asinh => "asinh",
            Op::Acosh => "acosh",
            Op::Atanh => "atanh",
            Op::Abs => "abs",
            Op::Sigmoid => "sigmoid",
            Op::Softplus => "softplus",
            Op::Erf => "erf",
            Op::AddConst => "add_const",
            Op::MulConst => "mul_const",
            Op::DivConst => "div_const",
            Op::ConstSub => "const_sub",
            Op::ConstDiv => "const_div",
            Op::Tensor => "tensor",
            Op::Copy => "copy",
            Op::AddWide => "add_wide",
            Op::MulWide => "mul_wide",
            Op::DivWide => "div_wide",
            Op::WideSub => "wide_sub",
            Op::WideDiv => "wide_div",
        }
    }

    /// The value of a unary op at `x`. `n` is the exponent of `Powi` and ignored otherwise.
    /// Binary, leaf and tensor ops return `x` unchanged (callers dispatch on arity first).
    #[inline(always)]
    pub fn eval_unary<T: Real>(self, x: T, n: i32) -> T {
        self.eval_unary_where::<T, true>(x, n)
    }

    /// [`Op::eval_unary`] as the tape's sweeps apply it ([`TAPE_HAS_LIBM_RULES`]).
    #[inline(always)]
    pub(crate) fn eval_unary_recorded<T: Real>(self, x: T, n: i32) -> T {
        self.eval_unary_where::<T, TAPE_HAS_LIBM_RULES>(x, n)
    }

    #[inline(always)]
    fn eval_unary_where<T: Real, const LIBM: bool>(self, x: T, n: i32) -> T {
        match self {
            Op::Copy => x,
            Op::Neg => -x,
            Op::Recip => x.recip(),
            Op::Powi => x.powi(n),
            Op::Sqrt => x.sqrt(),
            Op::Abs => x.abs(),
            Op::AddConst => x + inline_constant(n),
            Op::MulConst => x * inline_constant(n),
            Op::DivConst => x / inline_constant(n),
            Op::ConstSub => inline_constant::<T>(n) - x,
            Op::ConstDiv => inline_constant::<T>(n) / x,
            _ if LIBM => transcendental::unary_value(self, x),
            _ => T::from_f64(f64::NAN),
        }
    }

    /// `dy/dx` of a unary op, given its argument `x` and its value `y = op(x)`.
    /// Reusing `y` saves a transcendental call for `exp`, `tanh`, `sigmoid` and friends.
    #[inline(always)]
    pub fn unary_partial<T: Real>(self, x: T, y: T, n: i32) -> T {
        self.unary_partial_where::<T, true>(x, y, n)
    }

    /// [`Op::unary_partial`] as the tape's sweeps apply it ([`TAPE_HAS_LIBM_RULES`]).
    #[inline(always)]
    pub(crate) fn unary_partial_recorded<T: Real>(self, x: T, y: T, n: i32) -> T {
        self.unary_partial_where::<T, TAPE_HAS_LIBM_RULES>(x, y, n)
    }

    #[inline(always)]
    fn unary_partial_where<T: Real, const LIBM: bool>(self, x: T, y: T, n: i32) -> T {
        let one = T::one();
        match self {
            Op::Copy => one,
            Op::Neg => -one,
            Op::Recip => -(y * y),
            Op::Powi => {
                if n == 0 {
                    T::zero()
                } else {
                    // `n − 1` overflows at `i32::MIN`; there `x^(n−1) = x^(n+1) / x²`.
                    let power = match n.checked_sub(1) {
                        Some(m) => x.powi(m),
                        None => x.powi(n + 1) / (x * x),
                    };
                    T::from_f64(n as f64) * power
                }
            }
            Op::Sqrt => (y + y).recip(),
            Op::Cbrt => (T::from_f64(3.0) * y * y).recip(),
            Op::Exp => y,
            Op::ExpM1 => y + one,
            Op::Ln => x.recip(),
            Op::Ln1p => (one + x).recip(),
            Op::Log2 => (x * T::from_f64(core::f64::consts::LN_2)).recip(),
            Op::Log10 => (x * T::from_f64(core::f64::consts::LN_10)).recip(),
            Op::Tan => one + y * y,
            Op::Asin => (one - x * x).sqrt().recip(),
            Op::Acos => -(one - x * x).sqrt().recip(),
            Op::Atan => (one + x * x).recip(),
            Op::Tanh => one - y * y,
            Op::Asinh => (x * x + one).sqrt().recip(),
            Op::Acosh => (x * x - one).sqrt().recip(),
            Op::Atanh => (one - x * x).recip(),
            Op::Abs => {
                if x > T::zero() {
                    one
                } else if x < T::zero() {
                    -one
                } else {
                    T::zero()
                }
            }
            Op::Sigmoid => y * (one - y),
            Op::AddConst => one,
            Op::MulConst => inline_constant(n),
            Op::DivConst => inline_constant::<T>(n).recip(),
            Op::ConstSub => -one,
            Op::ConstDiv => -(y / x),
            _ if LIBM => transcendental::unary_partial(self, x),
            _ => T::from_f64(f64::NAN),
        }
    }

    /// The value of a binary op. Non-binary ops return `a` (callers dispatch on arity).
    #[inline(always)]
    pub fn eval_binary<T: Real>(self, a: T, b: T) -> T {
        self.eval_binary_where::<T, true>(a, b)
    }

    /// [`Op::eval_binary`] as the tape's sweeps apply it ([`TAPE_HAS_LIBM_RULES`]).
    #[inline(always)]
    pub(crate) fn eval_binary_recorded<T: Real>(self, a: T, b: T) -> T {
        self.eval_binary_where::<T, TAPE_HAS_LIBM_RULES>(a, b)
    }

    #[inline(always)]
    fn eval_binary_where<T: Real, const LIBM: bool>(self, a: T, b: T) -> T {
        match self {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
            Op::Min => a.min(b),
            Op::Max => a.max(b),
            _ if LIBM => transcendental::binary_value(self, a, b),
            _ => T::from_f64(f64::NAN),
        }
    }

    /// `(∂y/∂a, ∂y/∂b)` of a binary op, given its arguments and its value `y`.
    #[inline(always)]
    pub fn binary_partials<T: Real>(self, a: T, b: T, y: T) -> (T, T) {
        self.binary_partials_where::<T, true>(a, b, y)
    }

    /// [`Op::binary_partials`] as the tape's sweeps apply it ([`TAPE_HAS_LIBM_RULES`]).
    #[inline(always)]
    pub(crate) fn binary_partials_recorded<T: Real>(self, a: T, b: T, y: T) -> (T, T) {
        self.binary_partials_where::<T, TAPE_HAS_LIBM_RULES>(a, b, y)
    }

    #[inline(always)]
    fn binary_partials_where<T: Real, const LIBM: bool>(self, a: T, b: T, y: T) -> (T, T) {
        let (zero, one) = (T::zero(), T::one());
        match self {
            Op::Add => (one, one),
            Op::Sub => (one, -one),
            Op::Mul => (b, a),
            Op::Div => {
                let inv = b.recip();
                (inv, -y * inv)
            }
            Op::Atan2 => {
                let inv = (a * a + b * b).recip();
                (b * inv, -a * inv)
            }
            // Ties go to `a`, matching `Real::min` / `Real::max`, which return `a` at a tie.
            Op::Min => {
                if b < a {
                    (zero, one)
                } else {
                    (one, zero)
                }
            }
            Op::Max => {
                if b > a {
                    (zero, one)
                } else {
                    (one, zero)
                }
            }
            Op::Hypot => {
                if y == zero {
                    (zero, zero)
                } else {
                    (a / y, b / y)
                }
            }
            _ if LIBM => transcendental::binary_partials(self, a, b, y),
            _ => (T::from_f64(f64::NAN), T::from_f64(f64::NAN)),
        }
    }
}

impl Op {
    /// The wide-constant form of an inline-constant op (`AddConst` → `AddWide`, …).
    pub(crate) const fn wide_form(self) -> Option<Op> {
        match self {
            Op::AddConst => Some(Op::AddWide),
            Op::MulConst => Some(Op::MulWide),
            Op::DivConst => Some(Op::DivWide),
            Op::ConstSub => Some(Op::WideSub),
            Op::ConstDiv => Some(Op::WideDiv),
            _ => None,
        }
    }

    /// The value of a wide-constant op (`AddWide` … `WideDiv`) at `x` with constant `c`;
    /// other ops return `x` (callers dispatch on arity first).
    #[inline(always)]
    pub fn eval_with_constant<T: Real>(self, x: T, c: T) -> T {
        match self {
            Op::AddWide => x + c,
            Op::MulWide => x * c,
            Op::DivWide => x / c,
            Op::WideSub => c - x,
            Op::WideDiv => c / x,
            _ => x,
        }
    }

    /// `∂y/∂x` of a wide-constant op at `x`, with value `y` and constant `c`: the rules of
    /// the inline-constant ops, with the constant at full precision.
    #[inline(always)]
    pub fn partial_with_constant<T: Real>(self, x: T, y: T, c: T) -> T {
        match self {
            Op::AddWide => T::one(),
            Op::MulWide => c,
            Op::DivWide => c.recip(),
            Op::WideSub => -T::one(),
            Op::WideDiv => -(y / x),
            _ => T::one(),
        }
    }
}

/// The constant an `…Const` op keeps in its record, from the bits it travels as.
#[inline(always)]
fn inline_constant<T: Real>(bits: i32) -> T {
    T::from_f64(f32::from_bits(bits as u32) as f64)
}

/// Matches an [`Op`] once, binding a *constant* op in each arm so that the rule functions
/// above inline and fold to the one formula. The sweeps use this instead of dispatching on
/// [`Arity`] and then again inside `unary_partial`, which cost a second jump per record.
///
/// ```text
/// dispatch_op!(op, leaf => ..., unary(OP) => ..., binary(OP) => ..., wide(OP) => ..., tensor => ...)
/// ```
macro_rules! dispatch_op {
    ($op:expr, leaf => $leaf:expr, unary($u:ident) => $unary:expr, binary($b:ident) => $binary:expr, wide($w:ident) => $wide:expr, tensor => $tensor:expr $(,)?) => {
        dispatch_op!(@arms $op, $leaf, $u, $unary, $b, $binary, $w, $wide, $tensor,
            unary [Neg Recip Powi Sqrt Cbrt Exp ExpM1 Ln Ln1p Log2 Log10 Sin Cos Tan Asin Acos
                   Atan Sinh Cosh Tanh Asinh Acosh Atanh Abs Sigmoid Softplus Erf
                   AddConst MulConst DivConst ConstSub ConstDiv Copy]
            binary [Add Sub Mul Div Pow Powf Atan2 Min Max Hypot]
            wide [AddWide MulWide DivWide WideSub WideDiv])
    };
    (@arms $op:expr, $leaf:expr, $u:ident, $unary:expr, $b:ident, $binary:expr, $w:ident, $wide:expr, $tensor:expr,
        unary [$($un:ident)*] binary [$($bin:ident)*] wide [$($wd:ident)*]) => {
        match $op {
            $crate::op::Op::Input | $crate::op::Op::Const => $leaf,
            $crate::op::Op::Tensor => $tensor,
            $($crate::op::Op::$un => {
                #[allow(non_snake_case)]
                let $u = $crate::op::Op::$un;
                $unary
            })*
            $($crate::op::Op::$bin => {
                #[allow(non_snake_case)]
                let $b = $crate::op::Op::$bin;
                $binary
            })*
            $($crate::op::Op::$wd => {
                #[allow(non_snake_case)]
                let $w = $crate::op::Op::$wd;
                $wide
            })*
        }
    };
}
pub(crate) use dispatch_op;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_fit_in_six_bits() {
        for code in 0..=Op::LAST as u8 {
            assert_eq!(Op::from_code(code).unwrap() as u8, code);
        }
        assert!(Op::from_code(Op::LAST as u8 + 1).is_none());
        assert!((Op::LAST as u8) < 64);
    }
}
