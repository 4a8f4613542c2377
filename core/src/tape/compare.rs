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
//! Comparisons and selections are extension records (see `extension.rs`): a record
//! whose value is the result (1 or 0 for a comparison, through which no derivative
//! flows) and a small node at the arena's high end with the arguments, the relation,
//! the outcome when recorded and whether a host branched on it. So the scalar sweeps'
//! loops are the same code as on a tape without them, and tapes that never compare pay
//! nothing; a tape that does pays what extension records cost (a node per record, a
//! pass over the records in `backward`, and `jacobian_columns` refused, as for tensors).

use super::extension::{Extension, ExtensionHeader, ExtensionKind};
use super::{Tape, Var, VarId};
use crate::error::{Error, Result};
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

/// The node of a comparison record.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct CompareNode<T: Real> {
    header: ExtensionHeader<T>,
    a: u32,
    /// The right-hand side: record `b`, or the constant `c` when `b` is [`CONSTANT`].
    b: u32,
    c: T,
    cmp: Cmp,
    /// The outcome when recorded.
    recorded: bool,
    /// Whether a host branched on it ([`Tape::branch`]).
    branched: bool,
}

/// A comparison node's `b` when its right-hand side is the constant in the node: kept
/// there, not in a `Const` record, whose one-entry cache a loop that uses other constants
/// too would defeat.
const CONSTANT: u32 = u32::MAX;

/// The node of a selection record.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct SelectNode<T: Real> {
    header: ExtensionHeader<T>,
    cond: u32,
    if_true: u32,
    if_false: u32,
}

/// The sweep functions of comparison and selection records, one table per `T`.
struct Tables<T>(core::marker::PhantomData<T>);

impl<T: Real> Tables<T> {
    const COMPARE: Extension<T> = Extension {
        kind: ExtensionKind::Compare,
        backward: nothing::<T>,
        tangent: compare_tangent::<T>,
        replay: compare_replay::<T>,
        clear: nothing::<T>,
        check: nothing_ok::<T>,
        relocated: crate::tape::nothing_to_relocate::<T>,
    };
    const SELECT: Extension<T> = Extension {
        kind: ExtensionKind::Select,
        backward: select_backward::<T>,
        tangent: select_tangent::<T>,
        replay: select_replay::<T>,
        clear: nothing::<T>,
        check: nothing_ok::<T>,
        relocated: crate::tape::nothing_to_relocate::<T>,
    };
}

fn nothing<T: Real>(_: &Tape<'_, T>, _: u32) {}

fn nothing_ok<T: Real>(_: &Tape<'_, T>, _: u32) -> Result<()> {
    Ok(())
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

/// The value slot, or the adjoint (tangent) slot, of record `index`.
fn slot<T: Real>(tape: &Tape<'_, T>, index: u32, adjoint: bool) -> Option<*mut T> {
    tape.record_slots(index)
        .map(|(value, adjoint_slot)| if adjoint { adjoint_slot } else { value })
}

fn read<T: Real>(tape: &Tape<'_, T>, index: u32, adjoint: bool) -> T {
    // SAFETY: `record_slots` gives pointers into a live record.
    slot(tape, index, adjoint).map_or(T::zero(), |p| unsafe { *p })
}

fn write<T: Real>(tape: &Tape<'_, T>, index: u32, adjoint: bool, value: T) {
    if let Some(p) = slot(tape, index, adjoint) {
        // SAFETY: as in `read`; no reference into the records is alive in the sweeps.
        unsafe { *p = value };
    }
}

/// The node of comparison record `i`, if it is one.
fn compare_node<T: Real>(tape: &Tape<'_, T>, i: u32) -> Option<*mut CompareNode<T>> {
    (tape.is_extension_record(i) && tape.extension_of(i).kind == ExtensionKind::Compare)
        .then(|| tape.extension_node(i).cast())
}

/// The node of selection record `i` (which the caller knows to be one).
fn select_node<T: Real>(tape: &Tape<'_, T>, i: u32) -> SelectNode<T> {
    // SAFETY: selection records point at a `SelectNode` that lives as long as they do.
    unsafe { tape.extension_node(i).cast::<SelectNode<T>>().read() }
}

fn compare_replay<T: Real>(tape: &Tape<'_, T>, i: u32) {
    if let Some(node) = compare_node(tape, i) {
        // SAFETY: a comparison record's node lives as long as it does.
        let node = unsafe { node.read() };
        let rhs = match node.b {
            CONSTANT => node.c,
            b => read(tape, b, false),
        };
        let outcome = node.cmp.holds(read(tape, node.a, false), rhs);
        write(tape, i, false, as_value(outcome));
    }
}

fn compare_tangent<T: Real>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    write(tape, i, true, T::zero());
    Ok(())
}

/// The arm selection record `i` picks at its condition's current value.
fn chosen<T: Real>(tape: &Tape<'_, T>, i: u32) -> u32 {
    let node = select_node(tape, i);
    if truth(read(tape, node.cond, false)) {
        node.if_true
    } else {
        node.if_false
    }
}

fn select_backward<T: Real>(tape: &Tape<'_, T>, i: u32) {
    let adjoint = read(tape, i, true);
    // A zero adjoint passes nothing on (and an arm's `-0.0` stays as it is).
    if !adjoint.is_zero() {
        let arm = chosen(tape, i);
        write(tape, arm, true, read(tape, arm, true) + adjoint);
    }
}

fn select_tangent<T: Real>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    write(tape, i, true, read(tape, chosen(tape, i), true));
    Ok(())
}

fn select_replay<T: Real>(tape: &Tape<'_, T>, i: u32) {
    write(tape, i, false, read(tape, chosen(tape, i), false));
}

impl<'m, T: Real> Tape<'m, T> {
    /// Records `a ⋈ b` as a variable whose value is 1 when the relation holds and 0 when
    /// not: a condition for [`select_id`](Tape::select_id), or for a host branch through
    /// [`branch`](Tape::branch). No derivative flows through it.
    pub fn compare_id(&self, cmp: Cmp, a: VarId, b: VarId) -> VarId {
        for x in [a, b] {
            if let Err(error) = self.check_handle(x) {
                return self.fail(error);
            }
        }
        self.record_comparison(cmp, a, b.index, self.record(b.index).value)
    }

    /// `a ⋈ c` for a constant `c`, kept in the comparison's node.
    pub fn compare_const_id(&self, cmp: Cmp, a: VarId, c: T) -> VarId {
        if let Err(error) = self.check_handle(a) {
            return self.fail(error);
        }
        self.record_comparison(cmp, a, CONSTANT, c)
    }

    /// Records `a ⋈ rhs` (both checked by the caller), where `rhs` is the value of
    /// record `b`, or the constant when `b` is [`CONSTANT`].
    fn record_comparison(&self, cmp: Cmp, a: VarId, b: u32, rhs: T) -> VarId {
        let outcome = cmp.holds(self.record(a.index).value, rhs);
        let node = CompareNode {
            header: ExtensionHeader {
                extension: &Tables::<T>::COMPARE,
            },
            a: a.index,
            b,
            c: rhs,
            cmp,
            recorded: outcome,
            branched: false,
        };
        self.push_control_node(node, as_value(outcome))
    }

    /// `if_true` where `cond` is non-zero (NaN counts as non-zero), `if_false` where it
    /// is zero, chosen again by every sweep and replay from `cond`'s value then. The
    /// derivative flows to the chosen arm only.
    pub fn select_id(&self, cond: VarId, if_true: VarId, if_false: VarId) -> VarId {
        for x in [cond, if_true, if_false] {
            if let Err(error) = self.check_handle(x) {
                return self.fail(error);
            }
        }
        let chosen = if truth(self.record(cond.index).value) {
            if_true
        } else {
            if_false
        };
        let node = SelectNode {
            header: ExtensionHeader {
                extension: &Tables::<T>::SELECT,
            },
            cond: cond.index,
            if_true: if_true.index,
            if_false: if_false.index,
        };
        self.push_control_node(node, self.record(chosen.index).value)
    }

    /// Moves `node` (which starts with its extension header) to the arena and records
    /// an extension record of value `value` pointing at it.
    fn push_control_node<N: Copy>(&self, node: N, value: T) -> VarId {
        // Extension records do not grow the tape (see `growth.rs`).
        if self.room_for_records(1).is_err() {
            return VarId::INVALID;
        }
        match self.alloc(1, node) {
            Ok(node) => self.push_extension(node.as_ptr().cast(), value),
            // `alloc` failed the tape.
            Err(_) => VarId::INVALID,
        }
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
        let Some(node) = compare_node(self, cond.index) else {
            self.fail(Error::InvalidArgument(
                "branch: the condition is not a recorded comparison",
            ));
            return false;
        };
        // SAFETY: a comparison record's node lives as long as it does; nodes are only
        // reached through raw pointers, so no reference to this one is alive.
        unsafe { (*node).branched = true };
        truth(self.record(cond.index).value)
    }

    /// After a replay: fails the tape when a comparison a host branched on now has
    /// another outcome than when it was recorded. Out of line and cold: inlined into
    /// `replay`, it made replay of scalar tapes that never compare a third slower
    /// (Rosenbrock, n = 1000: 13.3 µs → 22 µs).
    #[cold]
    #[inline(never)]
    pub(super) fn check_branches(&self) {
        if let Some(changed) = self.changed_branches() {
            self.fail(changed);
        }
    }

    /// The error to report when a comparison a host branched on now has another outcome
    /// than when it was recorded.
    fn changed_branches(&self) -> Option<Error> {
        let (mut seen, mut changed, mut first) = (0usize, 0usize, None);
        let _ = self.for_each_extension_record(|_, i| {
            if let Some(node) = compare_node(self, i) {
                // SAFETY: as in `branch`.
                let node = unsafe { node.read() };
                if node.branched && truth(self.record(i).value) != node.recorded {
                    changed += 1;
                    first.get_or_insert(seen);
                }
                seen += 1;
            }
            Ok(())
        });
        first.map(|first| Error::BranchChanged { changed, first })
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
