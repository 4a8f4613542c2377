//! Recorded control flow: comparisons, selections, and the branches a host takes on them.
//!
//! A tape replays the op sequence it recorded. Host code that branched on a value
//! (`if x > 0 { x * x } else { -x }`) recorded one side only, so a replay at an input
//! where the other side would run computes the wrong function, silently. Two tools fix
//! that:
//!
//! - [`Tape::select_id`] keeps both sides on the tape and picks one by a recorded
//!   condition at every sweep: branch-free code, correct at any input.
//! - [`Tape::branch`] reads a recorded comparison's outcome for a host `if` and marks
//!   the comparison as one the op sequence depends on. [`Tape::replay`] re-evaluates
//!   every comparison; when a marked one comes out differently it fails with
//!   [`Error::BranchChanged`] (sticky: the values it computed followed the wrong
//!   branch, so no gradient of them is reported), and the host records again.
//!
//! A comparison is a record whose value is 1 or 0 and through which no derivative
//! flows. Its `b` field holds the right-hand side's index in the low 26 bits, then the
//! relation (3 bits), the outcome at recording time (1 bit) and whether a host branched
//! on it (1 bit). A selection takes two records, because a record has room for two
//! arguments: `SelectArms` (the two arms) and `Select` (the condition, and the
//! `SelectArms` record's index). The sweeps pass `Select`'s adjoint or tangent to the
//! arm the condition picks now, and replay re-picks it, so comparisons and selections
//! cost nothing on tapes that do not use them.

use super::record::Record;
use super::{Tape, Var, VarId};
use crate::error::Error;
use crate::op::Op;
use crate::real::Real;

/// A relation between two values. Comparisons follow IEEE 754: every relation with a
/// NaN is false except [`Cmp::Ne`].
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp {
    /// `a < b`
    Lt = 0,
    /// `a <= b`
    Le,
    /// `a > b`
    Gt,
    /// `a >= b`
    Ge,
    /// `a == b`
    Eq,
    /// `a != b`
    Ne,
}

impl Cmp {
    /// Every relation, in code order.
    pub const ALL: [Cmp; 6] = [Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge, Cmp::Eq, Cmp::Ne];

    /// The relation with code `code` (its position in [`Cmp::ALL`]), if there is one.
    pub fn from_code(code: u32) -> Option<Cmp> {
        Cmp::ALL.get(code as usize).copied()
    }

    /// Whether `a` and `b` stand in this relation (by primal value on dual numbers).
    #[inline(always)]
    pub fn holds<T: Real>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }

    /// The operator's symbol, for messages.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
        }
    }
}

const RHS_BITS: u32 = 26;
const RHS_MASK: u32 = (1 << RHS_BITS) - 1;
const RELATION_SHIFT: u32 = RHS_BITS;
const OUTCOME_BIT: u32 = 1 << 29;
const BRANCHED_BIT: u32 = 1 << 30;

/// The `b` field of a comparison record.
#[inline(always)]
fn pack(rhs: u32, cmp: Cmp, outcome: bool) -> u32 {
    (rhs & RHS_MASK) | ((cmp as u32) << RELATION_SHIFT) | if outcome { OUTCOME_BIT } else { 0 }
}

#[inline(always)]
fn relation(b: u32) -> Cmp {
    // Only `pack` writes these bits; the fallback matters only if a host scribbled over
    // the arena.
    Cmp::from_code((b >> RELATION_SHIFT) & 0b111).unwrap_or(Cmp::Ne)
}

/// The value a condition stands for: any non-zero value is true (NaN included, as in C).
#[inline(always)]
fn truth<T: Real>(value: T) -> bool {
    !value.is_zero()
}

#[inline(always)]
fn as_value<T: Real>(outcome: bool) -> T {
    if outcome {
        T::one()
    } else {
        T::zero()
    }
}

/// What a replay found out about the comparisons host branches depend on.
#[derive(Default)]
pub(super) struct BranchCheck {
    /// Comparisons met so far, in recording order.
    seen: u32,
    changed: u32,
    first_changed: Option<u32>,
}

impl BranchCheck {
    /// The error to report, when a comparison a host branched on changed outcome.
    pub(super) fn verdict(&self) -> Option<Error> {
        self.first_changed.map(|first| Error::BranchChanged {
            changed: self.changed as usize,
            first: first as usize,
        })
    }
}

impl<'m, T: Real> Tape<'m, T> {
    /// Records `a ⋈ b` as a variable whose value is 1 when the relation holds and 0 when
    /// not: a condition for [`select_id`](Tape::select_id), or for a host branch through
    /// [`branch`](Tape::branch). No derivative flows through it.
    pub fn compare_id(&self, cmp: Cmp, a: VarId, b: VarId) -> VarId {
        let (a, b) = (self.vouch(a), self.vouch(b));
        if !(self.is_live(a) && self.is_live(b)) {
            let bad = if self.is_live(a) { b } else { a };
            self.fail_handle(self.handle_of(bad));
            return VarId::INVALID;
        }
        let outcome = cmp.holds(self.record(a.index).value, self.record(b.index).value);
        self.push(Record::new(
            Op::Compare,
            a.index,
            pack(b.index, cmp, outcome),
            as_value(outcome),
        ))
    }

    /// `a ⋈ c` for a constant `c` (recorded as a constant and a comparison).
    pub fn compare_const_id(&self, cmp: Cmp, a: VarId, c: T) -> VarId {
        let c = self.constant_id(c);
        self.compare_id(cmp, a, c)
    }

    /// `if_true` where `cond` is non-zero (NaN counts as non-zero), `if_false` where it
    /// is zero, chosen again by every sweep and replay from `cond`'s value then. The
    /// derivative flows to the chosen arm only.
    pub fn select_id(&self, cond: VarId, if_true: VarId, if_false: VarId) -> VarId {
        let (cond, t, f) = (self.vouch(cond), self.vouch(if_true), self.vouch(if_false));
        for x in [cond, t, f] {
            if !self.is_live(x) {
                self.fail_handle(self.handle_of(x));
                return VarId::INVALID;
            }
        }
        let arms = self.push(Record::new(Op::SelectArms, t.index, f.index, T::zero()));
        if !arms.is_valid() {
            return arms;
        }
        let chosen = if truth(self.record(cond.index).value) {
            t
        } else {
            f
        };
        let value = self.record(chosen.index).value;
        self.push(Record::new(Op::Select, cond.index, arms.index, value))
    }

    /// The outcome of the recorded comparison `cond` (from
    /// [`compare_id`](Tape::compare_id)), for a host `if`. The comparison is marked as
    /// one the recorded op sequence depends on, so a [`replay`](Tape::replay) where it
    /// comes out differently fails with [`Error::BranchChanged`].
    ///
    /// A `cond` that is not a live comparison fails the tape ([`Error::InvalidArgument`]
    /// for another variable, a handle error for a bad handle) and gives `false`.
    pub fn branch(&self, cond: VarId) -> bool {
        if let Err(error) = self.check_handle(cond) {
            self.fail(error);
            return false;
        }
        let record = self.record(cond.index);
        if record.op() != Op::Compare {
            self.fail(Error::InvalidArgument(
                "branch: the condition is not a recorded comparison",
            ));
            return false;
        }
        // SAFETY: `cond` is a live record index; records are only reached through raw
        // pointers, so no reference to this one is alive.
        unsafe { (*self.records_ptr().add(cond.index as usize)).b |= BRANCHED_BIT };
        truth(record.value)
    }

    /// The value of comparison record `record` at its arguments' current values, and
    /// notes in `check` whether a host branch on it now goes the other way.
    #[inline(always)]
    pub(super) fn replay_comparison(&self, record: &Record<T>, check: &mut BranchCheck) -> T {
        let (a, b) = (self.record(record.a()), self.record(record.b & RHS_MASK));
        let outcome = relation(record.b).holds(a.value, b.value);
        let recorded = record.b & OUTCOME_BIT != 0;
        if record.b & BRANCHED_BIT != 0 && outcome != recorded {
            check.changed += 1;
            check.first_changed.get_or_insert(check.seen);
        }
        check.seen += 1;
        as_value(outcome)
    }

    /// The index of the arm selection record `record` picks at its condition's current
    /// value.
    #[inline(always)]
    pub(super) fn chosen_arm(&self, record: &Record<T>) -> u32 {
        let arms = self.record(record.b);
        if truth(self.record(record.a()).value) {
            arms.a()
        } else {
            arms.b
        }
    }

    /// The arguments of control record `index` (a comparison's two sides, a selection's
    /// condition and arms), for graph exports.
    pub(crate) fn control_arguments(&self, index: u32) -> [Option<u32>; 3] {
        let record = self.record(index);
        match record.op() {
            Op::Compare => [Some(record.a()), Some(record.b & RHS_MASK), None],
            Op::Select => {
                let arms = self.record(record.b);
                [Some(record.a()), Some(arms.a()), Some(arms.b)]
            }
            _ => [None; 3],
        }
    }
}

/// Recorded comparisons and selections on bound variables.
///
/// ```
/// use autodiff_core::{Cmp, Error, Tape};
/// use core::mem::MaybeUninit;
/// let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
/// let tape = Tape::<f64>::new(&mut mem).unwrap();
/// let x = tape.input(2.0);
/// // A host branch: replay checks that it still goes this way.
/// let y = if x.compare_const(Cmp::Gt, 0.0).branch() { x * x } else { -x };
/// assert_eq!(tape.gradient(y).unwrap().wrt(x), 4.0);
/// assert_eq!(tape.replay(&[-3.0]), Err(Error::BranchChanged { changed: 1, first: 0 }));
/// ```
impl<'t, T: Real> Var<'t, T> {
    /// `self ⋈ other` as a condition variable (1 or 0); see [`Tape::compare_id`].
    pub fn compare(self, cmp: Cmp, other: Var<'t, T>) -> Var<'t, T> {
        let tape = self.tape();
        if !core::ptr::eq(tape, other.tape()) {
            return Var::new(tape, tape.fail(Error::ForeignHandle));
        }
        Var::new(tape, tape.compare_id(cmp, self.id(), other.id()))
    }

    /// `self ⋈ c` for a constant `c`; see [`Tape::compare_const_id`].
    pub fn compare_const(self, cmp: Cmp, c: T) -> Var<'t, T> {
        let tape = self.tape();
        Var::new(tape, tape.compare_const_id(cmp, self.id(), c))
    }

    /// `if_true` where this condition is non-zero, `if_false` where it is zero, chosen
    /// again at every sweep and replay; see [`Tape::select_id`].
    pub fn select(self, if_true: Var<'t, T>, if_false: Var<'t, T>) -> Var<'t, T> {
        let tape = self.tape();
        if !(core::ptr::eq(tape, if_true.tape()) && core::ptr::eq(tape, if_false.tape())) {
            return Var::new(tape, tape.fail(Error::ForeignHandle));
        }
        Var::new(tape, tape.select_id(self.id(), if_true.id(), if_false.id()))
    }

    /// This comparison's outcome, for a host `if` that replay then checks; see
    /// [`Tape::branch`].
    pub fn branch(self) -> bool {
        self.tape().branch(self.id())
    }
}
