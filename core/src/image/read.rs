//! Loading an image into a tape: every byte is checked before anything is recorded.

use super::format::{image_info, record_at, u32_at, u64_at};
use crate::error::{Error, Result};
use crate::portable::PortableFloat;
use crate::tape::RecordKind;
use crate::tape::{Tape, VarId};

impl<T: PortableFloat> Tape<'_, T> {
    /// Records the image's tape at the end of this one and writes the handles of the
    /// outputs it names into `outputs` (whose length must be the image's output count:
    /// ask [`image_info`](super::image_info)). Values of ops are recomputed from the
    /// leaves by the same rules replay uses. The loaded inputs count among this tape's
    /// inputs, after any recorded before.
    ///
    /// The whole image is checked first (header, length, checksum, every record's op
    /// and arguments), so a corrupt, truncated or hostile image fails with
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
        let (mut inputs, mut leaves) = (0usize, 0usize);
        for i in 0..info.records {
            match record_at(image, i)?.kind {
                RecordKind::Input => {
                    inputs += 1;
                    leaves += 1;
                }
                RecordKind::Const | RecordKind::WideConstant => leaves += 1,
                // `record_at` refuses extension records.
                RecordKind::Unary
                | RecordKind::UnaryWithOperand
                | RecordKind::Binary
                | RecordKind::Extension => {}
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
        let base = self.len() as u32;
        let mut leaf_at = info.leaves_at();
        for i in 0..info.records {
            let record = record_at(image, i)?;
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
