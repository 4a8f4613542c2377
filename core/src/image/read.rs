//! Loading an image into a tape: every byte is checked before anything is recorded.

use super::format::{image_info, record_at, u32_at, u64_at};
use super::tensors::ENTRY_LEN;
use crate::error::{Error, Result};
use crate::portable::PortableFloat;
use crate::tape::RecordKind;
use crate::tape::{Tape, VarId};
use crate::tensor::Float;

impl<T: PortableFloat + Float> Tape<'_, T> {
    /// Records the image's tape at the end of this one and writes the handles of the
    /// outputs it names into `outputs` (whose length must be the image's output count:
    /// ask [`image_info`](super::image_info)). Values of ops are recomputed from the
    /// leaves by the same rules replay uses. The loaded inputs count among this tape's
    /// inputs, after any recorded before.
    ///
    /// Tensor records are recorded through the ops that recorded them. A parameter they
    /// use is this tape's parameter of the same index, which must have the same shape;
    /// when the image carries parameter values ([`ImageOptions`](super::ImageOptions)),
    /// they are written into it first.
    ///
    /// The whole image is checked first (header, length, checksum, every record's op
    /// and arguments, every tensor record's shape against its arguments', its data and
    /// its parameter), so a corrupt, truncated or hostile image fails with
    /// [`Error::BadImage`] or [`Error::ImageVersion`] and records nothing. Also fails
    /// with the tape's pending error, [`Error::DtypeMismatch`] (an `f32` image on an
    /// `f64` tape or the other way round), [`Error::LengthMismatch`] (`outputs`), or,
    /// when the arena fills up while recording, the tape's sticky out-of-memory error,
    /// as any recording would.
    pub fn load_image(&self, image: &[u8], outputs: &mut [VarId]) -> Result<()> {
        self.status()?;
        let info = image_info(image)?;
        if info.value_bytes != T::BYTES {
            return Err(Error::DtypeMismatch);
        }
        if outputs.len() != info.outputs {
            return Err(Error::LengthMismatch {
                what: "outputs length",
                got: outputs.len(),
                against: "the image's output count",
                expected: info.outputs,
            });
        }
        let (mut inputs, mut leaves, mut tensors) = (0usize, 0usize, 0u32);
        for i in 0..info.records {
            let record = record_at(image, i)?;
            match record.kind {
                RecordKind::Input => {
                    inputs += 1;
                    leaves += 1;
                }
                RecordKind::Const => leaves += 1,
                RecordKind::WideConstant if Self::HAS_WIDE_CONSTANTS => leaves += 1,
                RecordKind::WideConstant => {
                    return Err(Error::BadImage(
                        "a wide-constant op in an image of a tape whose constants are all f32",
                    ))
                }
                RecordKind::Extension => {
                    if record.b != tensors {
                        return Err(Error::BadImage(
                            "a tensor record's entry number is out of order",
                        ));
                    }
                    tensors += 1;
                }
                RecordKind::Unary | RecordKind::UnaryWithOperand | RecordKind::Binary => {}
            }
        }
        if inputs != info.inputs || leaves != info.leaves {
            return Err(Error::BadImage(
                "the header's counts disagree with the records",
            ));
        }
        for k in 0..info.outputs {
            if u32_at(image, info.outputs_at() + 4 * k) as usize >= info.records {
                return Err(Error::BadImage("an output names a record past the end"));
            }
        }
        let section = self.check_tensor_section(image, &info, tensors as usize)?;
        let base = self.len() as u32;
        let mut leaf_at = info.leaves_at();
        let mut data_at = info.tensors_at() + tensors as usize * ENTRY_LEN;
        for i in 0..info.records {
            let record = record_at(image, i)?;
            if record.kind == RecordKind::Extension {
                let id =
                    self.load_tensor_record(image, &info, section, record.b, base, &mut data_at)?;
                if id.index != base + i as u32 {
                    let error = Error::BadImage("a tensor record did not load as one record");
                    self.fail(error);
                    return Err(error);
                }
                continue;
            }
            let value = match record.kind {
                RecordKind::Input | RecordKind::Const | RecordKind::WideConstant => {
                    let value = T::from_bits_u64(u64_at(image, leaf_at, T::BYTES));
                    leaf_at += T::BYTES;
                    value
                }
                RecordKind::Unary
                | RecordKind::UnaryWithOperand
                | RecordKind::Binary
                | RecordKind::Extension => T::zero(),
            };
            let shift = |index: u32| base + index;
            let (a, b) = match record.kind {
                RecordKind::Binary => (shift(record.a), shift(record.b)),
                RecordKind::Unary | RecordKind::UnaryWithOperand => (shift(record.a), record.b),
                RecordKind::WideConstant => (shift(record.a), 0),
                RecordKind::Input | RecordKind::Const | RecordKind::Extension => (0, 0),
            };
            if !self.restore_record(record.op, a, b, value).is_valid() {
                // The arena filled up (or the tape hit its record limit): the tape keeps
                // the error, as after any recording that runs out.
                return self.status().and(Err(Error::SizeOverflow));
            }
        }
        for (k, slot) in outputs.iter_mut().enumerate() {
            *slot = self.handle_at(base + u32_at(image, info.outputs_at() + 4 * k));
        }
        Ok(())
    }
}
