//! One tape record: what op made a variable, from which arguments, and its value and
//! adjoint.
//!
//! Keeping the adjoint inside the record (instead of in an array allocated at backward
//! time) means backward can never run out of memory after recording succeeded, and an
//! argument's value and adjoint share a cache line. For `f64` a record is 24 bytes:
//! 8 of op code and argument indices, 8 of value, 8 of adjoint.
//!
//! # How 2^32 records fit 24 bytes
//!
//! The op code and the first argument share one 32-bit word, so the first argument has
//! 26 bits, read as a signed number; the second argument (or the op's operand) has a
//! word of its own. The first argument is stored
//! - as its index, when that is below 2^25 (every argument of a tape of up to 2^25
//!   records, and the inputs and early values of any tape);
//! - otherwise as its distance back from the record, negated, when that is below 2^25
//!   (values computed recently: nearly every argument in a long recording);
//! - otherwise, when the op leaves the second word unused (a plain unary op), in the
//!   second word, marked by `-2^25` in the first ([`ARGUMENT_IN_B`]).
//!
//! An argument none of these reach is first copied by an [`Op::Copy`] record (which
//! uses the third form), and the op reads the copy one record back: one extra record,
//! only for an argument more than 2^25 records back and above index 2^25. The
//! alternative, a 32-byte record with room for full indices, would cost every record of
//! every tape a third more memory and backward bandwidth.

use crate::op::Op;
use crate::real::Real;

/// Bits of [`Record::op_and_a`] below the op code.
const OP_SHIFT: u32 = 26;
/// The low 26 bits of [`Record::op_and_a`]: the first argument, as a signed number.
const ARGUMENT_BITS: u32 = (1 << OP_SHIFT) - 1;
/// The largest index, and the largest distance back, the first word holds.
const FIELD_MASK: u32 = (1 << 25) - 1;
/// The most negative 26-bit number, `-2^25`, which no distance uses: the argument's
/// index is in the second word.
const ARGUMENT_IN_B_SIGNED: i32 = -(1 << 25);
const ARGUMENT_IN_B: u32 = 1 << 25;

/// Records below this index store every first argument as its index (see the module
/// docs), so a sweep over them needs no decoding.
pub(crate) const SMALL_TAPE: usize = 1 << 25;

/// The largest number of records one tape can hold. Record indices are 32 bits, and
/// `u32::MAX` is the index no handle refers to; memory is the practical limit (24 bytes
/// a record for `f64`, 16 for `f32`).
pub const MAX_RECORDS: u32 = u32::MAX;

/// A recorded variable. The arguments of record `i` always have indices below `i`, so a
/// reverse scan sees every adjoint complete before it propagates it.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct Record<T> {
    /// The op code in the top 6 bits, the first argument in the low 26 (see the module
    /// docs).
    op_and_a: u32,
    /// The second argument's index; an input's number among the inputs; `Powi`'s
    /// exponent; an inline constant's bits; where a wide constant lies
    /// (`wide_constant.rs`); the tensor layer's node reference; or the first argument's
    /// index (`ARGUMENT_IN_B`).
    pub(crate) b: u32,
    pub(crate) value: T,
    /// The adjoint during and after backward; the tangent during and after a tangent sweep.
    pub(crate) adjoint: T,
}

/// How record `index` can refer to its first argument `a` from its first word, if it
/// can: `a` itself when small, else the distance back when short.
#[inline(always)]
fn first_argument_field(index: u32, a: u32) -> Option<u32> {
    if a <= FIELD_MASK {
        return Some(a);
    }
    let distance = index.wrapping_sub(a);
    (distance <= FIELD_MASK).then_some(distance.wrapping_neg() & ARGUMENT_BITS)
}

impl<T: Real> Record<T> {
    /// A record with no arguments (`Input`, with its number among the inputs in `b`;
    /// `Const`) or with a node reference (`Tensor`) in `b`.
    #[inline(always)]
    pub(crate) fn leaf(op: Op, b: u32, value: T) -> Record<T> {
        Record {
            op_and_a: (op as u32) << OP_SHIFT,
            b,
            value,
            adjoint: T::zero(),
        }
    }

    /// Record `index` of `op` with first argument `a`, and `b` as the op uses it; `None`
    /// when `a` is out of reach (see the module docs) and `b` is taken.
    #[inline(always)]
    pub(crate) fn new(op: Op, index: u32, a: u32, b: u32, value: T) -> Option<Record<T>> {
        let field = first_argument_field(index, a)?;
        Some(Record {
            op_and_a: ((op as u32) << OP_SHIFT) | field,
            b,
            value,
            adjoint: T::zero(),
        })
    }

    /// A record of a unary `op` that takes no operand, with its argument `a` in the
    /// second word: reaches any argument.
    #[inline(always)]
    pub(crate) fn with_argument_in_b(op: Op, a: u32, value: T) -> Record<T> {
        Record {
            op_and_a: ((op as u32) << OP_SHIFT) | ARGUMENT_IN_B,
            b: a,
            value,
            adjoint: T::zero(),
        }
    }

    /// Whether this record is of `op`, by its raw code: the sweeps' fast paths test their
    /// commonest ops this way ahead of [`op`](Record::op)'s decoding, which costs a check
    /// and a branch of its own on every record. No invalid code equals a valid one, so
    /// the comparison needs no check.
    #[inline(always)]
    pub(crate) fn is(&self, op: Op) -> bool {
        self.op_and_a >> OP_SHIFT == op as u32
    }

    /// The two records a backward sweep reaches from this one, record `index`, as
    /// [`a_in`](Record::a_in) decodes the first: both arguments of a binary op of two
    /// variables (`Add` to `Hypot`, whose codes are consecutive), else the first one
    /// twice, chosen without a branch. For prefetching: a leaf's or a tensor record's
    /// "argument" is an index all the same, of some written record.
    #[inline(always)]
    pub(crate) fn arguments_in<const LARGE: bool>(&self, index: u32) -> [u32; 2] {
        let a = self.a_in::<LARGE>(index);
        let code = self.op_and_a >> OP_SHIFT;
        let binary = code.wrapping_sub(Op::Add as u32) <= Op::Hypot as u32 - Op::Add as u32;
        [a, if binary { self.b } else { a }]
    }

    #[inline(always)]
    pub(crate) fn op(&self) -> Op {
        // Records are only built by the constructors here, from a valid `Op`; the
        // fallback only matters if a host scribbles over the arena, and costs nothing
        // measurable.
        Op::from_code((self.op_and_a >> OP_SHIFT) as u8).unwrap_or(Op::Const)
    }

    /// [`a`](Record::a) when `LARGE` is false and the caller knows `index` is below
    /// [`SMALL_TAPE`], where every first argument is stored as its index: the sweeps'
    /// hot loops take this form for every tape of up to 2^25 records.
    #[inline(always)]
    pub(crate) fn a_in<const LARGE: bool>(&self, index: u32) -> u32 {
        if LARGE {
            self.a(index)
        } else {
            self.op_and_a & ARGUMENT_BITS
        }
    }

    /// The first argument of this record, which is record `index`.
    #[inline(always)]
    pub(crate) fn a(&self, index: u32) -> u32 {
        // The mode bit and the field read as one signed 26-bit number `s`: the index
        // itself when `s >= 0`, the distance back `-s` when negative. Decoded without a
        // branch; only the second-word form takes one, and it is taken so rarely that
        // it predicts perfectly.
        let signed = ((self.op_and_a << (32 - OP_SHIFT)) as i32) >> (32 - OP_SHIFT);
        if signed == ARGUMENT_IN_B_SIGNED {
            return self.b;
        }
        (signed as u32).wrapping_add(index & ((signed >> 31) as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_arguments_are_reached_exactly_for_binary_ops() {
        let mut ops = 0;
        for code in 0..64u8 {
            let Some(op) = Op::from_code(code) else {
                continue;
            };
            ops += 1;
            let record = Record::new(op, 10, 3, 7, 0.0f64).unwrap();
            let binary = op.arity() == crate::op::Arity::Binary;
            assert_eq!(
                record.arguments_in::<false>(10),
                [3, if binary { 7 } else { 3 }],
                "{op:?}"
            );
        }
        assert!(ops > 40, "{ops} ops");
    }

    #[test]
    fn every_form_decodes_to_the_argument_it_encodes() {
        let far = 1u32 << 30;
        // Small index: absolute.
        let r = Record::new(Op::Neg, far + 5, 7, 0, 0.0f64).unwrap();
        assert_eq!(r.a(far + 5), 7);
        assert_eq!(r.op(), Op::Neg);
        // Large index, short distance: relative.
        let r = Record::new(Op::Mul, far + 5, far + 1, 3, 0.0f64).unwrap();
        assert_eq!((r.a(far + 5), r.b, r.op()), (far + 1, 3, Op::Mul));
        // Large index, long distance: out of reach of the first word.
        assert!(Record::new(Op::Mul, far + 5, 1 << 26, 3, 0.0f64).is_none());
        // ... but reachable through the second word.
        let r = Record::with_argument_in_b(Op::Copy, 1 << 26, 2.0f64);
        assert_eq!((r.a(far + 5), r.op(), r.value), (1 << 26, Op::Copy, 2.0));
        // The boundaries of both forms.
        assert_eq!(
            Record::new(Op::Neg, u32::MAX - 1, FIELD_MASK, 0, 0.0f32)
                .unwrap()
                .a(u32::MAX - 1),
            FIELD_MASK
        );
        let index = u32::MAX - 1;
        let a = index - FIELD_MASK;
        assert_eq!(
            Record::new(Op::Neg, index, a, 0, 0.0f32).unwrap().a(index),
            a
        );
        assert!(Record::new(Op::Neg, index, a - 1, 0, 0.0f32).is_none());
    }
}
