//! Each op's value and partial derivatives as C expressions: the formulas of
//! [`op.rs`](crate::op) written out in C, operation for operation, so that compiled C
//! rounds as the tape does wherever C's `<math.h>` computes what `libm` computes.
//!
//! A template is text with placeholders, expanded by the emitter; `{{` and `}}` are
//! C's own braces:
//!
//! | placeholder | stands for |
//! |---|---|
//! | `{a}`, `{b}` | the arguments' values |
//! | `{y}` | the record's own value |
//! | `{m}` | the math functions' suffix (`f` for `float`) |
//! | `{F}` | the generated function's name (prefix of its helpers) |
//! | `{0}`, `{1}`, `{3}`, `{ln2}`, `{ln10}`, `{2/sqrtpi}` | constants of the element type |
//! | `{c}`, `{1/c}` | the record's inline constant and its reciprocal |
//! | `{n}`, `{n-1}`, `{n+1}`, `{(n)}` | `Powi`'s exponent as C `int`s, and as a value |

use crate::op::Op;

/// The value and the partials `∂y/∂a` (and `∂y/∂b`) of an op.
pub(crate) struct Rule {
    pub value: &'static str,
    pub partial_a: &'static str,
    /// Empty for unary ops.
    pub partial_b: &'static str,
}

const fn unary(value: &'static str, partial_a: &'static str) -> Rule {
    Rule {
        value,
        partial_a,
        partial_b: "",
    }
}

const fn binary(value: &'static str, partial_a: &'static str, partial_b: &'static str) -> Rule {
    Rule {
        value,
        partial_a,
        partial_b,
    }
}

/// The rule of `op` with `Powi` exponent `n`; `None` for leaves and extension records,
/// which have none. Exhaustive over [`Op`]: an op added later does not compile here
/// until it has a C form.
pub(crate) fn rule(op: Op, n: i32) -> Option<Rule> {
    Some(match op {
        Op::Input | Op::Const | Op::Tensor => return None,
        Op::Add => binary("({a} + {b})", "{1}", "{1}"),
        Op::Sub => binary("({a} - {b})", "{1}", "-{1}"),
        Op::Mul => binary("({a} * {b})", "{b}", "{a}"),
        Op::Div => binary("({a} / {b})", "({1} / {b})", "(-{y} * ({1} / {b}))"),
        Op::Pow => binary(
            "pow{m}({a}, {b})",
            "({b} * pow{m}({a}, {b} - {1}))",
            "({a} == {0} ? {0} : {y} * log{m}({a}))",
        ),
        Op::Powf => binary("pow{m}({a}, {b})", "({b} * pow{m}({a}, {b} - {1}))", "{0}"),
        Op::Atan2 => binary(
            "atan2{m}({a}, {b})",
            "({b} * ({1} / ({a} * {a} + {b} * {b})))",
            "(-{a} * ({1} / ({a} * {a} + {b} * {b})))",
        ),
        // Ties go to `a`, as `Real::min` / `Real::max` and their partials do.
        Op::Min => binary(
            "({b} < {a} ? {b} : {a})",
            "({b} < {a} ? {0} : {1})",
            "({b} < {a} ? {1} : {0})",
        ),
        Op::Max => binary(
            "({b} > {a} ? {b} : {a})",
            "({b} > {a} ? {0} : {1})",
            "({b} > {a} ? {1} : {0})",
        ),
        Op::Hypot => binary(
            "hypot{m}({a}, {b})",
            "({y} == {0} ? {0} : {a} / {y})",
            "({y} == {0} ? {0} : {b} / {y})",
        ),
        Op::Copy => unary("{a}", "{1}"),
        Op::Neg => unary("(-{a})", "-{1}"),
        Op::Recip => unary("({1} / {a})", "(-({y} * {y}))"),
        Op::Powi => unary(
            "{F}_powi({a}, {n})",
            match n {
                0 => "{0}",
                // `n − 1` overflows at `i32::MIN`; op.rs uses `x^(n+1) / x²` there.
                i32::MIN => "({(n)} * ({F}_powi({a}, {n+1}) / ({a} * {a})))",
                _ => "({(n)} * {F}_powi({a}, {n-1}))",
            },
        ),
        Op::Sqrt => unary("sqrt{m}({a})", "({1} / ({y} + {y}))"),
        Op::Cbrt => unary("cbrt{m}({a})", "({1} / ({3} * {y} * {y}))"),
        Op::Exp => unary("exp{m}({a})", "{y}"),
        Op::ExpM1 => unary("expm1{m}({a})", "({y} + {1})"),
        Op::Ln => unary("log{m}({a})", "({1} / {a})"),
        Op::Ln1p => unary("log1p{m}({a})", "({1} / ({1} + {a}))"),
        Op::Log2 => unary("log2{m}({a})", "({1} / ({a} * {ln2}))"),
        Op::Log10 => unary("log10{m}({a})", "({1} / ({a} * {ln10}))"),
        Op::Sin => unary("sin{m}({a})", "cos{m}({a})"),
        Op::Cos => unary("cos{m}({a})", "(-sin{m}({a}))"),
        Op::Tan => unary("tan{m}({a})", "({1} + {y} * {y})"),
        Op::Asin => unary("asin{m}({a})", "({1} / sqrt{m}({1} - {a} * {a}))"),
        Op::Acos => unary("acos{m}({a})", "(-({1} / sqrt{m}({1} - {a} * {a})))"),
        Op::Atan => unary("atan{m}({a})", "({1} / ({1} + {a} * {a}))"),
        Op::Sinh => unary("sinh{m}({a})", "cosh{m}({a})"),
        Op::Cosh => unary("cosh{m}({a})", "sinh{m}({a})"),
        Op::Tanh => unary("tanh{m}({a})", "({1} - {y} * {y})"),
        Op::Asinh => unary("asinh{m}({a})", "({1} / sqrt{m}({a} * {a} + {1}))"),
        Op::Acosh => unary("acosh{m}({a})", "({1} / sqrt{m}({a} * {a} - {1}))"),
        Op::Atanh => unary("atanh{m}({a})", "({1} / ({1} - {a} * {a}))"),
        Op::Abs => unary(
            "fabs{m}({a})",
            "({a} > {0} ? {1} : ({a} < {0} ? -{1} : {0}))",
        ),
        Op::Sigmoid => unary("{F}_sigmoid({a})", "({y} * ({1} - {y}))"),
        Op::Softplus => unary("{F}_softplus({a})", "{F}_sigmoid({a})"),
        Op::Erf => unary("erf{m}({a})", "({2/sqrtpi} * exp{m}(-({a} * {a})))"),
        Op::AddConst => unary("({a} + {c})", "{1}"),
        Op::MulConst => unary("({a} * {c})", "{c}"),
        Op::DivConst => unary("({a} / {c})", "{1/c}"),
        Op::ConstSub => unary("({c} - {a})", "-{1}"),
        Op::ConstDiv => unary("({c} / {a})", "(-({y} / {a}))"),
        // `{c}` is the constant beside the records here (see `emit.rs`).
        Op::AddWide => unary("({a} + {c})", "{1}"),
        Op::MulWide => unary("({a} * {c})", "{c}"),
        Op::DivWide => unary("({a} / {c})", "{1/c}"),
        Op::WideSub => unary("({c} - {a})", "-{1}"),
        Op::WideDiv => unary("({c} / {a})", "(-({y} / {a}))"),
    })
}

/// Whether `op`'s partials can be infinite or NaN at finite arguments (`operand` is the
/// record's second field: `Powi`'s exponent, an inline constant's bits). Only these
/// records need the tape's skip of a zero adjoint: elsewhere `0 · partial` is a zero,
/// which adds nothing to an adjoint (adjoints start at `+0` and never become `−0`), so
/// skipping or not gives the same bits while every value is finite. Exhaustive over
/// [`Op`], like [`rule`].
pub(crate) fn partial_may_be_non_finite(op: Op, operand: u32) -> bool {
    let constant = f32::from_bits(operand);
    match op {
        Op::Input | Op::Const | Op::Tensor => false,
        // Constant partials, argument values, or bounded functions of them.
        Op::Add | Op::Sub | Op::Mul | Op::Min | Op::Max | Op::Hypot | Op::Neg | Op::Copy => false,
        Op::Sin | Op::Cos | Op::Tan | Op::Atan | Op::Tanh | Op::Asinh | Op::Abs => false,
        Op::Sigmoid | Op::Softplus | Op::Erf | Op::ConstSub => false,
        Op::AddConst | Op::AddWide | Op::WideSub => false,
        // The constant is not in `operand`: guarded whatever it is (a guard that never
        // fires costs a branch, not a bit of the result).
        Op::MulWide | Op::DivWide | Op::WideDiv => true,
        Op::MulConst => !constant.is_finite(),
        Op::DivConst => !(1.0 / constant).is_finite(),
        // `n·x^(n−1)`: finite for n = 0, 1, 2 only.
        Op::Powi => !matches!(operand as i32, 0..=2),
        // Poles, domain edges and overflow.
        Op::Div | Op::Pow | Op::Powf | Op::Atan2 | Op::Recip | Op::Sqrt | Op::Cbrt => true,
        Op::Exp | Op::ExpM1 | Op::Ln | Op::Ln1p | Op::Log2 | Op::Log10 => true,
        Op::Asin | Op::Acos | Op::Sinh | Op::Cosh | Op::Acosh | Op::Atanh | Op::ConstDiv => true,
    }
}

/// The helper functions templates may call, each as it is written in [`crate::real`].
pub(crate) const HELPERS: [(&str, &str); 3] = [
    (
        "{F}_powi(",
        "/* x^n by squaring, as the tape computes it. */
static {T} {F}_powi({T} x, int n)
{{
    {T} base = x, result = {1};
    unsigned long e = n < 0 ? 0UL - (unsigned long)n : (unsigned long)n;
    while (e > 0) {{
        if (e & 1UL) result = result * base;
        e >>= 1;
        if (e > 0) base = base * base;
    }}
    return n < 0 ? {1} / result : result;
}}
",
    ),
    (
        "{F}_sigmoid(",
        "/* 1 / (1 + e^-x), branching on the sign so that exp never overflows. */
static {T} {F}_sigmoid({T} x)
{{
    {T} e;
    if (x >= {0}) return {1} / ({1} + exp{m}(-x));
    e = exp{m}(x);
    return e / ({1} + e);
}}
",
    ),
    (
        "{F}_softplus(",
        "/* ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|). */
static {T} {F}_softplus({T} x)
{{
    {T} positive = x > {0} ? x : {0};
    return positive + log1p{m}(exp{m}(-fabs{m}(x)));
}}
",
    ),
];
