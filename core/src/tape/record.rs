//! One tape record: what op made a variable, from which arguments, and its value and
//! adjoint.
//!
//! Keeping the adjoint inside the record (instead of in an array allocated at backward
//! time) means backward can never run out of memory after recording succeeded, and an
//! argument's value and adjoint share a cache line. For `f64` a record is 24 bytes:
//! 8 of op code and argument indices, 8 of value, 8 of adjoint.

use crate::op::Op;
use crate::real::Real;

/// Bits of [`Record::op_and_a`] that hold the first argument's index.
const INDEX_BITS: u32 = 26;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;

/// The largest number of records one tape can hold: indices must fit in 26 bits so that
/// the op code fits beside the first argument.
pub const MAX_RECORDS: u32 = INDEX_MASK;

/// A recorded variable. The arguments of record `i` always have indices below `i`, so a
/// reverse scan sees every adjoint complete before it propagates it.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct Record<T> {
    /// The op code in the top 6 bits, the first argument's index in the low 26.
    op_and_a: u32,
    /// The second argument's index; `Powi`'s exponent; the tensor layer's node reference.
    pub(crate) b: u32,
    pub(crate) value: T,
    /// The adjoint during and after backward; the tangent during and after a tangent sweep.
    pub(crate) adjoint: T,
}

impl<T: Real> Record<T> {
    #[inline(always)]
    pub(crate) fn new(op: Op, a: u32, b: u32, value: T) -> Record<T> {
        debug_assert!(a <= INDEX_MASK);
        Record {
            op_and_a: ((op as u32) << INDEX_BITS) | (a & INDEX_MASK),
            b,
            value,
            adjoint: T::zero(),
        }
    }

    #[inline(always)]
    pub(crate) fn op(&self) -> Op {
        // Records are only built by `new`, from a valid `Op`; the fallback only matters if
        // a host scribbles over the arena, and costs nothing measurable.
        Op::from_code((self.op_and_a >> INDEX_BITS) as u8).unwrap_or(Op::Const)
    }

    #[inline(always)]
    pub(crate) fn a(&self) -> u32 {
        self.op_and_a & INDEX_MASK
    }
}
