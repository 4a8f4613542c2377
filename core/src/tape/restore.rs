//! Recording a record whose fields come from elsewhere (a loaded image), by the same
//! paths ordinary recording takes.

use super::record::Record;
use super::{Local, Tape, VarId};
use crate::error::Error;
use crate::op::Op;
use crate::real::Real;

impl<T: Real> Tape<'_, T> {
    /// Records `op` with arguments `a` and `b` (record indices below `len` for the
    /// arguments it reads, checked by the caller; otherwise its operand), and `value`
    /// for a leaf (the constant, for a wide-constant op). Other ops compute their value
    /// from their arguments. Unlike
    /// [`constant_id`](Tape::constant_id), a constant always takes a record of its own,
    /// so indices stay those of the source.
    pub(crate) fn restore_record(&self, op: Op, a: u32, b: u32, value: T) -> VarId {
        let argument = |index: u32| Local {
            index,
            generation: self.scopes.generation_of(index),
        };
        match record_kind(op) {
            RecordKind::Input => self.input_id(value),
            RecordKind::Const => self.push(Record::leaf(Op::Const, 0, value)),
            RecordKind::Unary | RecordKind::UnaryWithOperand => {
                self.record_unary(op, argument(a), b as i32)
            }
            RecordKind::Binary => self.record_binary(op, argument(a), argument(b)),
            // `value` is the constant. Taking a constant record instead would shift the
            // indices, so a constant the pool cannot take fails the restore.
            RecordKind::WideConstant => self
                .record_wide_constant(op, argument(a), value)
                .unwrap_or_else(|| self.fail(Error::SizeOverflow)),
            RecordKind::Extension => self.fail(Error::InvalidArgument(
                "restore_record: extension records cannot be restored",
            )),
        }
    }
}

/// What a record's fields mean for its op. Written as an exhaustive
/// match so that an op added later must be placed here before images can hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordKind {
    Input,
    Const,
    /// One argument `a`; `b` is 0.
    Unary,
    /// One argument `a`; `b` is an operand of the op itself (`Powi`'s exponent, or the
    /// `f32` bits of an inline constant), any value.
    UnaryWithOperand,
    /// Two arguments `a`, `b`.
    Binary,
    /// One argument `a` and a constant beside the records, which `b` locates in the
    /// tape (an image carries the constant among its leaf values instead).
    WideConstant,
    /// A record of a layer above the tape: not in images.
    Extension,
}

pub(crate) fn record_kind(op: Op) -> RecordKind {
    match op {
        Op::Input => RecordKind::Input,
        Op::Const => RecordKind::Const,
        Op::Add
        | Op::Sub
        | Op::Mul
        | Op::Div
        | Op::Pow
        | Op::Powf
        | Op::Atan2
        | Op::Min
        | Op::Max
        | Op::Hypot => RecordKind::Binary,
        Op::Powi | Op::AddConst | Op::MulConst | Op::DivConst | Op::ConstSub | Op::ConstDiv => {
            RecordKind::UnaryWithOperand
        }
        Op::AddWide | Op::MulWide | Op::DivWide | Op::WideSub | Op::WideDiv => {
            RecordKind::WideConstant
        }
        Op::Copy
        | Op::Neg
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
        | Op::Abs
        | Op::Sigmoid
        | Op::Softplus
        | Op::Erf => RecordKind::Unary,
        Op::Tensor => RecordKind::Extension,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_has_a_record_kind_and_only_tensor_is_an_extension() {
        for code in 0..=Op::LAST as u8 {
            let op = Op::from_code(code).unwrap();
            assert_eq!(record_kind(op) == RecordKind::Extension, op == Op::Tensor);
        }
    }
}
