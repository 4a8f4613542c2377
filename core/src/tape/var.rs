//! Variable handles: [`VarId`], a plain index for hosts, and [`Var`], which carries its
//! tape so Rust code can write `x * x + x.sin()`.

use super::{HandleKind, Local, Tape};
use crate::error::Error;
use crate::op::Op;
use crate::real::Real;
use core::ops::{Add, Div, Mul, Neg, Sub};

/// A variable on a tape: its record index, its kind, the generation that issued it and
/// the identity of its tape. Plain data, so hosts (and the C API) can store it anywhere;
/// the tape checks all four on every use (see [`Tape`]'s "Handles").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct VarId {
    pub index: u32,
    pub kind: u32,
    pub generation: u32,
    pub tape: u32,
}

impl VarId {
    /// What a failed op returns. No tape ever accepts it.
    pub const INVALID: VarId = VarId {
        index: u32::MAX,
        kind: 0,
        generation: 0,
        tape: 0,
    };

    /// False for the handle a failed op returned.
    pub fn is_valid(self) -> bool {
        self != VarId::INVALID
    }
}

impl Default for VarId {
    fn default() -> VarId {
        VarId::INVALID
    }
}

/// A variable bound to its tape. It cannot outlive the tape, nor the tape's `reset`
/// (which takes `&mut`): both are compile errors. A bare [`VarId`] kept across a reset is
/// stale: using it then sets [`Error::StaleHandle`] on the tape.
///
/// ```
/// use autodiff_core::{Error, Tape};
/// use core::mem::MaybeUninit;
/// let mut mem = [MaybeUninit::<u8>::uninit(); 1024];
/// let mut tape = Tape::<f64>::new(&mut mem).unwrap();
/// let x = tape.input(2.0).id();
/// tape.reset();
/// let _ = tape.binary_id(autodiff_core::Op::Mul, x, x); // records nothing
/// assert_eq!(tape.status(), Err(Error::StaleHandle));
/// ```
///
/// Using a `Var` after a reset does not compile:
///
/// ```compile_fail
/// use autodiff_core::Tape;
/// use core::mem::MaybeUninit;
/// let mut mem = [MaybeUninit::<u8>::uninit(); 1024];
/// let mut tape = Tape::<f64>::new(&mut mem).unwrap();
/// let x = tape.input(2.0);
/// tape.reset();
/// let _ = x * x;
/// ```
///
/// Outliving the tape is a compile error:
///
/// ```compile_fail
/// use autodiff_core::Tape;
/// use core::mem::MaybeUninit;
/// let x = {
///     let mut mem = [MaybeUninit::<u8>::uninit(); 1024];
///     let tape = Tape::<f64>::new(&mut mem).unwrap();
///     tape.input(2.0)
/// };
/// ```
#[derive(Clone, Copy)]
pub struct Var<'t, T: Real> {
    tape: &'t Tape<'t, T>,
    // The handle, less what the tape reference already says (whose it is, and that it is
    // a scalar): two words in all, so arithmetic on `Var`s keeps them in registers.
    index: u32,
    /// The generation that issued it; 0 (never issued) for an invalid variable.
    generation: u32,
}

impl<T: Real> core::fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Var")
            .field("id", &self.id())
            .field("value", &self.tape.value(self.id()))
            .finish()
    }
}

impl<'t, T: Real> Var<'t, T> {
    /// A variable for a handle this tape just issued (or the invalid one).
    #[inline(always)]
    pub(crate) fn new(tape: &'t Tape<'t, T>, id: VarId) -> Var<'t, T> {
        Var {
            tape,
            index: id.index,
            generation: id.generation,
        }
    }

    /// Binds a bare handle to `tape` (it is checked when used). A handle of another tape
    /// or of another kind binds as the invalid variable, which fails as foreign.
    pub fn from_id(tape: &'t Tape<'t, T>, id: VarId) -> Var<'t, T> {
        if id.kind == HandleKind::Scalar.code() && id.tape == tape.identity() {
            Var::new(tape, id)
        } else {
            Var::new(tape, VarId::INVALID)
        }
    }

    /// The bare handle.
    pub fn id(self) -> VarId {
        if self.generation == 0 {
            return VarId::INVALID;
        }
        self.handle()
    }

    /// The bare handle, without telling the invalid variable apart.
    #[inline(always)]
    fn handle(self) -> VarId {
        VarId {
            index: self.index,
            kind: HandleKind::Scalar.code(),
            generation: self.generation,
            tape: self.tape.identity(),
        }
    }

    /// The handle as the recording ops take it: the tape reference vouches for whose it
    /// is and its kind. The invalid variable's generation 0 was never issued.
    #[inline(always)]
    fn local(self) -> Local {
        Local {
            index: self.index,
            generation: self.generation,
        }
    }

    /// The tape this variable was recorded on.
    pub fn tape(self) -> &'t Tape<'t, T> {
        self.tape
    }

    /// The value, or NaN when the handle is not live (the tape's status says why).
    pub fn value(self) -> T {
        self.tape.value(self.id()).unwrap_or(T::from_f64(f64::NAN))
    }

    /// The adjoint after `backward`, or NaN when unavailable (see `Tape::grad`).
    pub fn grad(self) -> T {
        self.tape.grad(self.id()).unwrap_or(T::from_f64(f64::NAN))
    }

    #[inline(always)]
    fn unary(self, op: Op) -> Var<'t, T> {
        self.with(self.tape.record_unary(op, self.local(), 0))
    }

    #[inline(always)]
    fn binary(self, op: Op, other: Var<'t, T>) -> Var<'t, T> {
        if !core::ptr::eq(self.tape, other.tape) {
            return self.with(self.tape.fail_foreign());
        }
        self.with(self.tape.record_binary(op, self.local(), other.local()))
    }

    /// `self op c`, with `c` kept inside the record when `f32` holds it exactly.
    #[inline(always)]
    fn binary_const(self, op: Op, constant: T) -> Var<'t, T> {
        self.with(self.tape.binary_const(op, self.local(), constant))
    }

    /// `c op self`, with `c` kept inside the record when `f32` holds it exactly.
    #[inline(always)]
    fn const_binary(self, op: Op, constant: T) -> Var<'t, T> {
        self.with(self.tape.const_binary(op, constant, self.local()))
    }

    #[inline(always)]
    fn with(self, id: VarId) -> Var<'t, T> {
        Var::new(self.tape, id)
    }

    /// `x^n` for an integer `n`.
    pub fn powi(self, n: i32) -> Var<'t, T> {
        self.with(self.tape.powi_id(self.handle(), n))
    }
    /// `x^c` for a constant exponent: no derivative flows to `c`.
    pub fn powf(self, c: T) -> Var<'t, T> {
        self.binary_const(Op::Powf, c)
    }
    /// `x^y`, differentiable in both.
    pub fn pow(self, y: Var<'t, T>) -> Var<'t, T> {
        self.binary(Op::Pow, y)
    }
    /// The angle of the point `(x, self)`.
    pub fn atan2(self, x: Var<'t, T>) -> Var<'t, T> {
        self.binary(Op::Atan2, x)
    }
    /// The smaller of two; a tie goes to `self` (value and derivative).
    pub fn min(self, other: Var<'t, T>) -> Var<'t, T> {
        self.binary(Op::Min, other)
    }
    /// The larger of two; a tie goes to `self` (value and derivative).
    pub fn max(self, other: Var<'t, T>) -> Var<'t, T> {
        self.binary(Op::Max, other)
    }
    pub fn hypot(self, other: Var<'t, T>) -> Var<'t, T> {
        self.binary(Op::Hypot, other)
    }
}

/// The unary methods, one line each: the rules live in [`Op`].
macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:ident,)*) => {
        impl<'t, T: Real> Var<'t, T> {
            $(
                $(#[$doc])*
                #[inline]
                pub fn $name(self) -> Var<'t, T> {
                    self.unary(Op::$op)
                }
            )*
        }
    };
}

unary_methods! {
    recip => Recip,
    /// The derivative at 0 is +∞ (see [`Op`] for every convention).
    sqrt => Sqrt,
    cbrt => Cbrt,
    exp => Exp,
    exp_m1 => ExpM1,
    ln => Ln,
    ln_1p => Ln1p,
    log2 => Log2,
    log10 => Log10,
    sin => Sin,
    cos => Cos,
    tan => Tan,
    asin => Asin,
    acos => Acos,
    atan => Atan,
    sinh => Sinh,
    cosh => Cosh,
    tanh => Tanh,
    asinh => Asinh,
    acosh => Acosh,
    atanh => Atanh,
    /// The derivative at 0 is 0.
    abs => Abs,
    sigmoid => Sigmoid,
    softplus => Softplus,
    erf => Erf,
}

impl<'t, T: Real> Neg for Var<'t, T> {
    type Output = Var<'t, T>;
    fn neg(self) -> Var<'t, T> {
        self.unary(Op::Neg)
    }
}

/// `var op var`, `var op T`, and, for the concrete floats, `T op var`.
macro_rules! binary_operators {
    ($($trait:ident $method:ident $op:ident,)*) => {$(
        impl<'t, T: Real> $trait for Var<'t, T> {
            type Output = Var<'t, T>;
            #[inline]
            fn $method(self, rhs: Var<'t, T>) -> Var<'t, T> {
                self.binary(Op::$op, rhs)
            }
        }
        impl<'t, T: Real> $trait<T> for Var<'t, T> {
            type Output = Var<'t, T>;
            #[inline]
            fn $method(self, rhs: T) -> Var<'t, T> {
                self.binary_const(Op::$op, rhs)
            }
        }
        impl<'t> $trait<Var<'t, f64>> for f64 {
            type Output = Var<'t, f64>;
            #[inline]
            fn $method(self, rhs: Var<'t, f64>) -> Var<'t, f64> {
                rhs.const_binary(Op::$op, self)
            }
        }
        impl<'t> $trait<Var<'t, f32>> for f32 {
            type Output = Var<'t, f32>;
            #[inline]
            fn $method(self, rhs: Var<'t, f32>) -> Var<'t, f32> {
                rhs.const_binary(Op::$op, self)
            }
        }
    )*};
}

binary_operators! {
    Add add Add,
    Sub sub Sub,
    Mul mul Mul,
    Div div Div,
}

impl<T: Real> Tape<'_, T> {
    #[cold]
    fn fail_foreign(&self) -> VarId {
        self.fail(Error::ForeignHandle)
    }

    /// `x op c` for a constant `c` and a binary `op`. For `+ − × ÷`, `c` lives inside
    /// the record when `f32` holds it exactly, else (an `f64` tape, or a dual tape over
    /// `f64` when `c` has no tangents) in the pool beside the records
    /// (`wide_constant.rs`); other ops, and constants neither place takes, get a
    /// (shared) `Const` record.
    #[inline(always)]
    pub fn binary_const_id(&self, op: Op, x: VarId, c: T) -> VarId {
        self.binary_const(op, self.vouch(x), c)
    }

    /// `c op x` for a constant `c` and a binary `op`, as [`binary_const_id`](Tape::binary_const_id).
    #[inline(always)]
    pub fn const_binary_id(&self, op: Op, c: T, x: VarId) -> VarId {
        self.const_binary(op, c, self.vouch(x))
    }

    #[inline(always)]
    fn binary_const(&self, op: Op, x: Local, c: T) -> VarId {
        let fused = match op {
            Op::Add => Some(Op::AddConst),
            // x − c is x + (−c), exact whenever c is.
            Op::Sub => return self.binary_const(Op::Add, x, -c),
            Op::Mul => Some(Op::MulConst),
            Op::Div => Some(Op::DivConst),
            _ => None,
        };
        self.record_with_constant(op, fused, x, c, false)
    }

    #[inline(always)]
    fn const_binary(&self, op: Op, c: T, x: Local) -> VarId {
        let fused = match op {
            Op::Add | Op::Mul => return self.binary_const(op, x, c),
            Op::Sub => Some(Op::ConstSub),
            Op::Div => Some(Op::ConstDiv),
            _ => None,
        };
        self.record_with_constant(op, fused, x, c, true)
    }

    #[inline(always)]
    fn record_with_constant(
        &self,
        op: Op,
        fused: Option<Op>,
        x: Local,
        c: T,
        constant_first: bool,
    ) -> VarId {
        let wide = match (fused, c.exact_f32()) {
            (Some(fused), Some(inline)) => {
                return self.record_unary(fused, x, inline.to_bits() as i32)
            }
            (Some(fused), None) if Self::HAS_WIDE_CONSTANTS => fused.wide_form(),
            _ => None,
        };
        match wide.and_then(|wide| self.record_wide_constant(wide, x, c)) {
            Some(id) => id,
            None => {
                let constant = self.vouch(self.constant_id(c));
                let (a, b) = if constant_first {
                    (constant, x)
                } else {
                    (x, constant)
                };
                self.record_binary(op, a, b)
            }
        }
    }
}
