//! Tensor records in an image: one fixed-size entry per tensor record, in record order,
//! then their data. A tensor record's `b` field in the record table is its entry's
//! number, so an argument's entry (and its shape) is found without a scan.
//!
//! | offset | bytes | entry field |
//! |---|---|---|
//! | 0 | 1 | kind (`KIND_*`) |
//! | 1 | 1 | detail: the activation, the elementwise op's code, the axis, or the matmul's transposes (bit 0: `a`, bit 1: `b`) |
//! | 2 | 1 | rank |
//! | 3 | 1 | arguments (0 to 3) |
//! | 4 | 16 | the dimensions, 4 × u32 (0 past the rank) |
//! | 20 | 12 | the arguments' record indices, 3 × u32 (0 past the count) |
//! | 32 | 8 | the op's constant (IEEE bits of an `f64`): the scale factor, the leaky slope |
//! | 40 | 4 | a parameter's index (`KIND_PARAM`), else 0 |
//!
//! After the entries, in entry order: each input's and constant's values (`w` bytes
//! each), each parameter's values when the image carries them (flag bit 0), and each
//! cross-entropy's labels (u32, one per row of its logits).
//!
//! Loading records each entry through the op that recorded it, so the checks here are
//! the ops' own (shapes, labels, constants): an image whose entries pass them records
//! without an error other than running out of memory.

use super::format::u32_at;
use crate::error::{Error, Result};
use crate::op::Op;
use crate::shape::{Shape, MAX_RANK};
use crate::tensor::{broadcast_shape, Activation, Kind};

/// Bytes per entry.
pub(crate) const ENTRY_LEN: usize = 44;

/// An op's kind code and detail byte; `None` for kinds images do not hold (device
/// transfers, checkpointed segments' and user ops' outputs).
pub(crate) fn kind_code(kind: Kind) -> Option<(u8, u8)> {
    Some(match kind {
        Kind::Input => (0, 0),
        Kind::Constant => (1, 0),
        Kind::Param => (2, 0),
        Kind::MatMul {
            transpose_a,
            transpose_b,
        } => (3, transpose_a as u8 | (transpose_b as u8) << 1),
        Kind::Binary(op) => (4, op as u8),
        Kind::Scale => (5, 0),
        Kind::Unary(activation) => (6, activation as u8),
        Kind::Sum => (7, 0),
        Kind::Mean => (8, 0),
        Kind::SumAxis(axis) => (9, axis),
        Kind::MeanAxis(axis) => (10, axis),
        Kind::Reshape => (11, 0),
        Kind::Transpose => (12, 0),
        Kind::Softmax => (13, 0),
        Kind::LogSoftmax => (14, 0),
        Kind::CrossEntropy => (15, 0),
        Kind::Mse => (16, 0),
        Kind::Linear(activation) => (17, activation as u8),
        Kind::SegmentOutput | Kind::UserOpOutput | Kind::ToDevice | Kind::ToHost => return None,
    })
}

/// The kind of a code and detail byte, if they name one.
fn kind_of(code: u8, detail: u8) -> Option<Kind> {
    let activation = Activation::ALL.get(detail as usize).copied();
    let plain = |kind: Kind| (detail == 0).then_some(kind);
    match code {
        0 => plain(Kind::Input),
        1 => plain(Kind::Constant),
        2 => plain(Kind::Param),
        3 => (detail < 4).then_some(Kind::MatMul {
            transpose_a: detail & 1 != 0,
            transpose_b: detail & 2 != 0,
        }),
        4 => Op::from_code(detail)
            .filter(|op| matches!(op, Op::Add | Op::Sub | Op::Mul | Op::Div))
            .map(Kind::Binary),
        5 => plain(Kind::Scale),
        6 => activation.map(Kind::Unary),
        7 => plain(Kind::Sum),
        8 => plain(Kind::Mean),
        9 => Some(Kind::SumAxis(detail)),
        10 => Some(Kind::MeanAxis(detail)),
        11 => plain(Kind::Reshape),
        12 => plain(Kind::Transpose),
        13 => plain(Kind::Softmax),
        14 => plain(Kind::LogSoftmax),
        15 => plain(Kind::CrossEntropy),
        16 => plain(Kind::Mse),
        17 => activation
            .filter(|a| a.output_determines_derivative())
            .map(Kind::Linear),
        _ => None,
    }
}

/// How many tensor arguments an op of `kind` reads.
pub(crate) fn arguments(kind: Kind) -> usize {
    match kind {
        Kind::Input | Kind::Constant | Kind::Param | Kind::SegmentOutput | Kind::UserOpOutput => 0,
        Kind::MatMul { .. } | Kind::Binary(_) | Kind::Mse => 2,
        Kind::Linear(_) => 3,
        _ => 1,
    }
}

/// The constant `activation()` records for the activations that take none.
pub(crate) const ACTIVATION_CONSTANT: f64 = 0.01;

/// A tensor record as an image holds it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TensorEntry {
    pub kind: Kind,
    pub shape: Shape,
    pub args: [u32; 3],
    pub arg_count: usize,
    pub scalar: f64,
    pub param: u32,
}

impl TensorEntry {
    pub fn encode(&self, out: &mut [u8]) {
        // Writers check `kind_code` first.
        let (code, detail) = kind_code(self.kind).unwrap_or((u8::MAX, 0));
        out[0] = code;
        out[1] = detail;
        out[2] = self.shape.rank() as u8;
        out[3] = self.arg_count as u8;
        for k in 0..MAX_RANK {
            let dim = self.shape.dims().get(k).copied().unwrap_or(0);
            out[4 + 4 * k..8 + 4 * k].copy_from_slice(&dim.to_le_bytes());
        }
        for k in 0..3 {
            out[20 + 4 * k..24 + 4 * k].copy_from_slice(&self.args[k].to_le_bytes());
        }
        out[32..40].copy_from_slice(&self.scalar.to_bits().to_le_bytes());
        out[40..44].copy_from_slice(&self.param.to_le_bytes());
    }

    /// The entry at `at`, with its own fields checked (not yet against its arguments).
    pub fn decode(image: &[u8], at: usize) -> Result<TensorEntry> {
        let bad = Error::BadImage;
        let kind = kind_of(image[at], image[at + 1])
            .ok_or(bad("a tensor record has an unknown kind or detail"))?;
        let rank = image[at + 2] as usize;
        let arg_count = image[at + 3] as usize;
        if rank > MAX_RANK || arg_count != arguments(kind) {
            return Err(bad("a tensor record's rank or argument count is invalid"));
        }
        let mut dims = [0usize; MAX_RANK];
        for (k, dim) in dims.iter_mut().enumerate() {
            *dim = u32_at(image, at + 4 + 4 * k) as usize;
            if k >= rank && *dim != 0 {
                return Err(bad("a tensor record's unused fields are not zero"));
            }
        }
        // The element count must have a size in bytes, as recording checks.
        let shape = Shape::new(&dims[..rank])
            .filter(|s| s.checked_len().and_then(|len| len.checked_mul(8)).is_some())
            .ok_or(bad("a tensor record's shape is invalid"))?;
        let mut args = [0u32; 3];
        for (k, arg) in args.iter_mut().enumerate() {
            *arg = u32_at(image, at + 20 + 4 * k);
            if k >= arg_count && *arg != 0 {
                return Err(bad("a tensor record's unused fields are not zero"));
            }
        }
        let mut scalar = [0u8; 8];
        scalar.copy_from_slice(&image[at + 32..at + 40]);
        let entry = TensorEntry {
            kind,
            shape,
            args,
            arg_count,
            scalar: f64::from_bits(u64::from_le_bytes(scalar)),
            param: u32_at(image, at + 40),
        };
        // The constant as the op records it, so that the loaded record writes back the
        // same bytes.
        let scalar_ok = match kind {
            Kind::Scale | Kind::Unary(Activation::LeakyRelu) => entry.scalar.is_finite(),
            Kind::Unary(_) => entry.scalar.to_bits() == ACTIVATION_CONSTANT.to_bits(),
            _ => entry.scalar.to_bits() == 0,
        };
        let param_ok = kind == Kind::Param || entry.param == 0;
        if !(scalar_ok && param_ok) {
            return Err(bad("a tensor record's op fields are invalid"));
        }
        Ok(entry)
    }

    /// The values this entry's data holds (of `w` bytes each, or 4-byte labels), given
    /// its first argument's shape and whether the image carries parameters.
    pub fn data_items(&self, first_arg: Shape, parameters: bool) -> u64 {
        let len = self.shape.checked_len().unwrap_or(0) as u64;
        match self.kind {
            Kind::Input | Kind::Constant => len,
            Kind::Param if parameters => len,
            Kind::CrossEntropy => first_arg.dims().first().copied().unwrap_or(0) as u64,
            _ => 0,
        }
    }

    /// Checks the entry against its arguments' shapes, as recording the op would: the
    /// shape the op makes of them must be the entry's.
    pub fn check_shapes(&self, shapes: &[Shape]) -> Result<()> {
        let same = |s: Shape| Some(s);
        let matrix = |s: &Shape| s.rank() == 2;
        let made = match self.kind {
            Kind::Input | Kind::Constant | Kind::Param => same(self.shape),
            Kind::MatMul {
                transpose_a: ta,
                transpose_b: tb,
            } => {
                let (a, b) = (shapes[0], shapes[1]);
                let dims = |s: &Shape, t: bool| {
                    let d = s.dims();
                    if t {
                        (d[1], d[0])
                    } else {
                        (d[0], d[1])
                    }
                };
                (matrix(&a) && matrix(&b))
                    .then(|| (dims(&a, ta), dims(&b, tb)))
                    .filter(|((_, k), (k2, _))| k == k2)
                    .map(|((m, _), (_, n))| Shape::matrix(m, n))
            }
            Kind::Binary(_) => broadcast_shape(&shapes[0], &shapes[1]),
            Kind::Scale | Kind::Unary(_) => same(shapes[0]),
            Kind::Sum | Kind::Mean | Kind::CrossEntropy => {
                (self.kind != Kind::CrossEntropy || matrix(&shapes[0])).then_some(Shape::SCALAR)
            }
            Kind::Mse => (shapes[0] == shapes[1]).then_some(Shape::SCALAR),
            Kind::SumAxis(axis) | Kind::MeanAxis(axis) => {
                let axis = axis as usize;
                let from = shapes[0];
                (axis < from.rank())
                    .then(|| {
                        let mut dims = [0usize; MAX_RANK];
                        let mut rank = 0;
                        for (i, &d) in from.dims().iter().enumerate() {
                            if i != axis {
                                dims[rank] = d as usize;
                                rank += 1;
                            }
                        }
                        Shape::new(&dims[..rank])
                    })
                    .flatten()
            }
            Kind::SegmentOutput | Kind::UserOpOutput | Kind::ToDevice | Kind::ToHost => None,
            Kind::Reshape => {
                (shapes[0].checked_len() == self.shape.checked_len()).then_some(self.shape)
            }
            Kind::Transpose => {
                matrix(&shapes[0]).then(|| Shape::matrix(shapes[0].dims()[1], shapes[0].dims()[0]))
            }
            Kind::Softmax | Kind::LogSoftmax => (shapes[0].rank() > 0).then_some(shapes[0]),
            Kind::Linear(_) => {
                let (x, w, b) = (shapes[0], shapes[1], shapes[2]);
                (matrix(&x)
                    && matrix(&w)
                    && x.dims()[1] == w.dims()[0]
                    && b.dims() == [w.dims()[1]])
                .then(|| Shape::matrix(x.dims()[0], w.dims()[1]))
            }
        };
        if made != Some(self.shape) {
            return Err(Error::BadImage(
                "a tensor record's shape does not follow from its arguments'",
            ));
        }
        Ok(())
    }
}
