//! Sparsity patterns by index-set propagation over the records.
//!
//! Every live record gets the set of inputs it depends on: an input its own index, an op
//! the union of its arguments' sets. Sets are sorted lists of input indices in one pool
//! of words; an op whose set equals an argument's (every unary op, a sum with a constant,
//! a union that adds nothing) shares that argument's list instead of copying it, so a
//! stencil costs a few words per grid point rather than per record.
//!
//! For Hessians each input `k` also keeps the set `N_k` of inputs it interacts with
//! nonlinearly (Walther's nonlinear interaction domains): a nonlinear op adds the
//! products of its arguments' sets, as [`Curvature`] says. Sets replaced by a larger one
//! stay in the pool; the pool is scratch, given back once the pattern is copied out.
//!
//! Only records the outputs depend on are visited (a reverse pass marks them, see
//! [`Marks`]), so work recorded for other outputs adds nothing to the pattern.

use crate::error::{Error, Result};
use crate::op::Op;
use crate::real::Real;
use crate::tape::Tape;

/// A sorted set of input indices in a [`Sets`] pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Set {
    start: u32,
    len: u32,
}

impl Set {
    pub(super) fn len(self) -> usize {
        self.len as usize
    }
}

/// The pool the sets live in: words below `top` hold sets, above it is free.
pub(super) struct Sets<'a> {
    pool: &'a mut [u32],
    top: usize,
}

impl<'a> Sets<'a> {
    /// A pool over `pool` (only its first `u32::MAX` words are used, so that a set's start
    /// fits in a `u32`).
    pub(super) fn new(pool: &'a mut [u32]) -> Sets<'a> {
        let usable = pool.len().min(u32::MAX as usize);
        Sets {
            pool: &mut pool[..usable],
            top: 0,
        }
    }

    /// Words in use.
    pub(super) fn used(&self) -> usize {
        self.top
    }

    /// Member `t` of `set`.
    pub(super) fn member(&self, set: Set, t: usize) -> u32 {
        self.pool[set.start as usize + t]
    }

    fn room(&self, words: usize) -> Result<()> {
        if self.top + words > self.pool.len() {
            return Err(Error::OutOfMemory {
                needed: (self.top + words).saturating_mul(4),
                free: (self.pool.len() - self.top).saturating_mul(4),
            });
        }
        Ok(())
    }

    /// The set `{k}`.
    pub(super) fn singleton(&mut self, k: u32) -> Result<Set> {
        self.room(1)?;
        self.pool[self.top] = k;
        self.top += 1;
        Ok(Set {
            start: (self.top - 1) as u32,
            len: 1,
        })
    }

    /// `a ∪ b`: one of them when the other adds nothing, else a new list.
    pub(super) fn union(&mut self, a: Set, b: Set) -> Result<Set> {
        if b.len == 0 || a == b {
            return Ok(a);
        }
        if a.len == 0 {
            return Ok(b);
        }
        self.room(a.len() + b.len())?;
        let top = self.top;
        let (old, free) = self.pool.split_at_mut(top);
        let (xs, ys) = (
            &old[a.start as usize..a.start as usize + a.len()],
            &old[b.start as usize..b.start as usize + b.len()],
        );
        let (mut i, mut j, mut count) = (0, 0, 0);
        while i < xs.len() || j < ys.len() {
            let next = match (xs.get(i), ys.get(j)) {
                (Some(&x), Some(&y)) if x == y => {
                    i += 1;
                    j += 1;
                    x
                }
                (Some(&x), Some(&y)) if x < y => {
                    i += 1;
                    x
                }
                (Some(&x), None) => {
                    i += 1;
                    x
                }
                (_, Some(&y)) => {
                    j += 1;
                    y
                }
                (None, None) => break,
            };
            free[count] = next;
            count += 1;
        }
        // The union contains both; equal in size to one, it is that one.
        if count == a.len() {
            return Ok(a);
        }
        if count == b.len() {
            return Ok(b);
        }
        self.top += count;
        Ok(Set {
            start: top as u32,
            len: count as u32,
        })
    }
}

/// Per-record (or per-input) sets, as two arrays of words.
pub(super) struct SetTable<'a> {
    pub(super) starts: &'a mut [u32],
    pub(super) lens: &'a mut [u32],
}

impl SetTable<'_> {
    pub(super) fn get(&self, i: usize) -> Set {
        Set {
            start: self.starts[i],
            len: self.lens[i],
        }
    }

    pub(super) fn set(&mut self, i: usize, set: Set) {
        self.starts[i] = set.start;
        self.lens[i] = set.len;
    }
}

/// How an op's second derivatives couple its arguments' input sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Curvature {
    /// Linear (or piecewise linear, as `abs`, `min`, `max`): no interaction.
    Linear,
    /// Every pair of inputs in the result's set interacts.
    Whole,
    /// `a · b`: each input of `a` with each of `b`.
    Product,
    /// `a / b`: each input of `a` with each of `b`, and `b`'s among themselves.
    Quotient,
}

/// Which arguments an op's set comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arguments {
    None,
    Input,
    One,
    Two,
    /// `Powf`: the exponent carries no derivative, so only the base counts.
    BaseOnly,
}

/// The structural rule of every op. Exhaustive on purpose: a new op must say how it
/// couples its arguments before patterns can be taken over it.
fn rule(op: Op, exponent: i32) -> (Arguments, Curvature) {
    use Curvature::*;
    match op {
        Op::Input => (Arguments::Input, Linear),
        Op::Const | Op::Tensor => (Arguments::None, Linear),
        Op::Add | Op::Sub | Op::Min | Op::Max => (Arguments::Two, Linear),
        Op::Mul => (Arguments::Two, Product),
        Op::Div => (Arguments::Two, Quotient),
        Op::Pow | Op::Atan2 | Op::Hypot => (Arguments::Two, Whole),
        Op::Powf => (Arguments::BaseOnly, Whole),
        Op::Copy
        | Op::Neg
        | Op::Abs
        | Op::AddConst
        | Op::MulConst
        | Op::DivConst
        | Op::ConstSub
        | Op::AddWide
        | Op::MulWide
        | Op::DivWide
        | Op::WideSub => (Arguments::One, Linear),
        Op::Powi if exponent == 0 || exponent == 1 => (Arguments::One, Linear),
        Op::Powi
        | Op::Recip
        | Op::Sqrt
        | Op::Cbrt
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
        | Op::ConstDiv
        | Op::WideDiv => (Arguments::One, Whole),
    }
}

/// `(op, a, b)` of record `i`, which exists.
fn record<T: Real>(tape: &Tape<'_, T>, i: u32) -> (Op, u32, u32) {
    tape.scalar_record(i)
        .map_or((Op::Const, 0, 0), |(op, a, b, _)| (op, a, b))
}

fn is_set(bits: &[u32], i: u32) -> bool {
    bits[(i / 32) as usize] & (1 << (i % 32)) != 0
}

fn set_bit(bits: &mut [u32], i: u32) {
    bits[(i / 32) as usize] |= 1 << (i % 32);
}

/// Words of one bitset over `records` records.
pub(super) fn bitset_words(records: usize) -> usize {
    records / 32 + 1
}

/// Which records the propagation visits: `live`, those some output depends on, and
/// `needed`, those whose input set is read. For a Jacobian every live record's set is
/// needed; for a Hessian only those that reach a nonlinear op's arguments are, so a long
/// running sum, which only adds, stores no sets (they would grow to quadratic size).
pub(super) struct Marks<'a> {
    pub(super) live: &'a mut [u32],
    pub(super) needed: &'a mut [u32],
}

/// Marks the live and needed records of `outputs` (record indices), for a Hessian when
/// `hessian`, else for a Jacobian.
pub(super) fn mark_records<T: Real>(
    tape: &Tape<'_, T>,
    outputs: &[u32],
    hessian: bool,
    marks: &mut Marks<'_>,
) {
    let Some(&last) = outputs.iter().max() else {
        return;
    };
    for &output in outputs {
        set_bit(marks.live, output);
        if !hessian {
            set_bit(marks.needed, output);
        }
    }
    for i in (0..=last).rev() {
        if !is_set(marks.live, i) {
            continue;
        }
        let (op, a, b) = record(tape, i);
        let (arguments, curvature) = rule(op, b as i32);
        let needs = is_set(marks.needed, i) || curvature != Curvature::Linear;
        let mut mark_argument = |j: u32| {
            set_bit(marks.live, j);
            if needs {
                set_bit(marks.needed, j);
            }
        };
        match arguments {
            Arguments::None | Arguments::Input => {}
            Arguments::One | Arguments::BaseOnly => mark_argument(a),
            Arguments::Two => {
                mark_argument(a);
                mark_argument(b);
            }
        }
    }
}

/// Gives every needed record its input set in `records`, and reports every live
/// nonlinear op to `interact(sets, curvature, set of a, set of b, set of the result)`.
pub(super) fn propagate<T: Real>(
    tape: &Tape<'_, T>,
    marks: &Marks<'_>,
    records: &mut SetTable<'_>,
    sets: &mut Sets<'_>,
    mut interact: impl FnMut(&mut Sets<'_>, Curvature, Set, Set, Set) -> Result<()>,
) -> Result<()> {
    let mut input = 0u32;
    let empty = Set::default();
    for i in 0..tape.len() as u32 {
        let (op, a, b) = record(tape, i);
        let (arguments, curvature) = rule(op, b as i32);
        if arguments == Arguments::Input {
            // Inputs are counted whether needed or not: the index is the input's position.
            if is_set(marks.needed, i) {
                let set = sets.singleton(input)?;
                records.set(i as usize, set);
            }
            input += 1;
            continue;
        }
        let nonlinear = curvature != Curvature::Linear && is_set(marks.live, i);
        if !(nonlinear || is_set(marks.needed, i)) {
            continue;
        }
        let (sa, sb, sy) = match arguments {
            Arguments::None | Arguments::Input => (empty, empty, empty),
            Arguments::One | Arguments::BaseOnly => {
                let sa = records.get(a as usize);
                (sa, empty, sa)
            }
            Arguments::Two => {
                let (sa, sb) = (records.get(a as usize), records.get(b as usize));
                (sa, sb, sets.union(sa, sb)?)
            }
        };
        records.set(i as usize, sy);
        if nonlinear && sy.len() > 0 {
            interact(sets, curvature, sa, sb, sy)?;
        }
    }
    Ok(())
}

/// The nonlinear interactions of one op, added to the inputs' partner sets `partners`.
pub(super) fn add_interactions(
    sets: &mut Sets<'_>,
    partners: &mut SetTable<'_>,
    curvature: Curvature,
    a: Set,
    b: Set,
    y: Set,
) -> Result<()> {
    // Each of `from`'s inputs gains the whole of `with` as partners.
    let mut couple = |sets: &mut Sets<'_>, from: Set, with: Set| -> Result<()> {
        for t in 0..from.len() {
            let k = sets.member(from, t) as usize;
            let grown = sets.union(partners.get(k), with)?;
            partners.set(k, grown);
        }
        Ok(())
    };
    match curvature {
        Curvature::Linear => Ok(()),
        Curvature::Whole => couple(sets, y, y),
        Curvature::Product => {
            couple(sets, a, b)?;
            couple(sets, b, a)
        }
        Curvature::Quotient => {
            couple(sets, a, b)?;
            couple(sets, b, y)
        }
    }
}

impl Sets<'_> {
    /// Writes the sets `table.get(r)` for `r` in `rows`, concatenated, followed by the
    /// `rows.len() + 1` row starts, into the free words above the sets; returns where
    /// that block starts in the pool and the number of entries.
    pub(super) fn write_rows(
        &mut self,
        table: &SetTable<'_>,
        rows: impl Iterator<Item = usize> + Clone,
    ) -> Result<(usize, usize)> {
        let count = rows.clone().count();
        let entries: usize = rows.clone().map(|r| table.get(r).len()).sum();
        self.room(entries + count + 1)?;
        let top = self.top;
        let (old, free) = self.pool.split_at_mut(top);
        let (indices, starts) = free.split_at_mut(entries);
        let mut at = 0;
        starts[0] = 0;
        for (r, row) in rows.enumerate() {
            let set = table.get(row);
            indices[at..at + set.len()]
                .copy_from_slice(&old[set.start as usize..set.start as usize + set.len()]);
            at += set.len();
            starts[r + 1] = u32::try_from(at).map_err(|_| Error::SizeOverflow)?;
        }
        Ok((top, entries))
    }
}
