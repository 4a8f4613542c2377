//! The tensor records of an image: checked whole before anything is recorded, then
//! recorded, each through the op that recorded it.

use super::format::{record_at, u32_at, u64_at, ImageInfo};
use super::tensors::{TensorEntry, ENTRY_LEN};
use crate::error::{Error, Result};
use crate::portable::PortableFloat;
use crate::shape::Shape;
use crate::tape::{RecordKind, Tape};
use crate::tensor::{Activation, Float, Kind, TensorId};

/// Where an image's tensor entries and their data are.
#[derive(Clone, Copy)]
pub(super) struct TensorSection {
    entries_at: usize,
}

impl TensorSection {
    fn entry(&self, image: &[u8], number: u32) -> Result<TensorEntry> {
        TensorEntry::decode(image, self.entries_at + number as usize * ENTRY_LEN)
    }

    /// The entry of record `index`, which must be a tensor record.
    fn entry_of_record(&self, image: &[u8], index: u32) -> Result<TensorEntry> {
        let record = record_at(image, index as usize)?;
        if record.kind != RecordKind::Extension {
            return Err(Error::BadImage("a tensor record reads a scalar record"));
        }
        self.entry(image, record.b)
    }

    /// The shapes of `entry`'s arguments (records before `index`).
    fn argument_shapes(&self, image: &[u8], entry: &TensorEntry, index: u32) -> Result<[Shape; 3]> {
        let mut shapes = [Shape::SCALAR; 3];
        for (shape, &arg) in shapes.iter_mut().zip(&entry.args[..entry.arg_count]) {
            if arg >= index {
                return Err(Error::BadImage("a record's arguments do not precede it"));
            }
            *shape = self.entry_of_record(image, arg)?.shape;
        }
        Ok(shapes)
    }
}

impl<T: PortableFloat + Float> Tape<'_, T> {
    /// Checks every tensor record of a checked image (`tensors` of them) against its
    /// arguments and this tape's parameters, and the data they carry against the
    /// section's length. Records nothing.
    pub(super) fn check_tensor_section(
        &self,
        image: &[u8],
        info: &ImageInfo,
        tensors: usize,
    ) -> Result<TensorSection> {
        let entries_len = tensors
            .checked_mul(ENTRY_LEN)
            .filter(|&len| len <= info.tensor_bytes)
            .ok_or(Error::BadImage(
                "the tensor section is shorter than its entries",
            ))?;
        let section = TensorSection {
            entries_at: info.tensors_at(),
        };
        let end = (info.tensors_at() + info.tensor_bytes) as u64;
        let mut data_at = (info.tensors_at() + entries_len) as u64;
        let mut number = 0u32;
        for i in 0..info.records as u32 {
            if record_at(image, i as usize)?.kind != RecordKind::Extension {
                continue;
            }
            let entry = section.entry(image, number)?;
            number += 1;
            let shapes = section.argument_shapes(image, &entry, i)?;
            entry.check_shapes(&shapes)?;
            if entry.kind == Kind::Param {
                let fits = (entry.param as usize) < self.num_params()
                    && self.param_shape(self.param_id(entry.param)).ok() == Some(entry.shape);
                if !fits {
                    return Err(Error::BadImage(
                        "a tensor record uses a parameter the loading tape does not have (by index and shape)",
                    ));
                }
            }
            let width = if entry.kind == Kind::CrossEntropy {
                4
            } else {
                T::BYTES as u64
            };
            let items = entry.data_items(shapes[0], info.parameters);
            let data_end = items
                .checked_mul(width)
                .and_then(|len| data_at.checked_add(len))
                .filter(|&at| at <= end)
                .ok_or(Error::BadImage(
                    "a tensor record's data runs past the image",
                ))?;
            if entry.kind == Kind::CrossEntropy {
                let classes = shapes[0].dims()[1];
                let labels = (0..items).map(|k| u32_at(image, (data_at + 4 * k) as usize));
                if labels.clone().any(|label| label >= classes) {
                    return Err(Error::BadImage(
                        "a cross-entropy label is not below the class count",
                    ));
                }
            }
            data_at = data_end;
        }
        if data_at != end {
            return Err(Error::BadImage(
                "the tensor section's length disagrees with its records",
            ));
        }
        Ok(section)
    }

    /// Records tensor record `index` of a checked image (its entry number `number`, its
    /// data at `*data_at`, which moves past it) at the end of this tape, whose records
    /// from `base` on are the image's.
    pub(super) fn load_tensor_record(
        &self,
        image: &[u8],
        info: &ImageInfo,
        section: TensorSection,
        number: u32,
        base: u32,
        data_at: &mut usize,
    ) -> Result<TensorId> {
        let entry = section.entry(image, number)?;
        let arg = |k: usize| TensorId::from_var(self.handle_at(base + entry.args[k]));
        let width = T::BYTES;
        let value_at = *data_at;
        let value = |k: usize| T::from_bits_u64(u64_at(image, value_at + k * width, width));
        let len = entry.shape.checked_len().unwrap_or(0);
        let id = match entry.kind {
            Kind::Input | Kind::Constant => {
                *data_at += len * width;
                self.leaf_from(entry.kind, entry.shape, value)
            }
            Kind::Param => {
                let p = self.param_id(entry.param);
                if info.parameters {
                    *data_at += len * width;
                    if let Err(error) = self.write_param_with(p, value) {
                        // Records before this one stay: the error is sticky, as for
                        // any recording that fails.
                        self.fail(error);
                        return Err(error);
                    }
                }
                self.param(p)
            }
            Kind::MatMul {
                transpose_a,
                transpose_b,
            } => self.matmul_t(arg(0), arg(1), transpose_a, transpose_b),
            Kind::Binary(op) => match op {
                crate::op::Op::Add => self.tensor_add(arg(0), arg(1)),
                crate::op::Op::Sub => self.tensor_sub(arg(0), arg(1)),
                crate::op::Op::Mul => self.tensor_mul(arg(0), arg(1)),
                _ => self.tensor_div(arg(0), arg(1)),
            },
            Kind::Scale => self.scale(arg(0), entry.scalar),
            Kind::Unary(Activation::LeakyRelu) => self.leaky_relu(arg(0), entry.scalar),
            Kind::Unary(activation) => self.activation(arg(0), activation),
            Kind::Sum => self.sum(arg(0)),
            Kind::Mean => self.mean(arg(0)),
            Kind::SumAxis(axis) => self.sum_axis(arg(0), axis as usize),
            Kind::MeanAxis(axis) => self.mean_axis(arg(0), axis as usize),
            Kind::Reshape => {
                let mut dims = [0usize; crate::shape::MAX_RANK];
                for (d, &dim) in dims.iter_mut().zip(entry.shape.dims()) {
                    *d = dim as usize;
                }
                self.reshape(arg(0), &dims[..entry.shape.rank()])
            }
            Kind::Transpose => self.transpose(arg(0)),
            Kind::Softmax => self.softmax(arg(0)),
            Kind::LogSoftmax => self.log_softmax(arg(0)),
            Kind::CrossEntropy => {
                let rows = self.node(arg(0))?.shape.dims()[0] as usize;
                *data_at += 4 * rows;
                self.cross_entropy_from(arg(0), rows, |k| u32_at(image, value_at + 4 * k))
            }
            Kind::Mse => self.mse(arg(0), arg(1)),
            Kind::Linear(activation) => self.linear(arg(0), arg(1), arg(2), activation),
            // `TensorEntry::decode` refuses these.
            Kind::SegmentOutput | Kind::UserOpOutput | Kind::ToDevice | Kind::ToHost => {
                TensorId::INVALID
            }
        };
        self.status()?;
        Ok(id)
    }
}
