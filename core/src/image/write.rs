//! Writing a recorded tape as an image (layout in [`format`](super::format)).

use super::format::{ImageInfo, HEADER_LEN, MAGIC, RECORD_LEN, VERSION};
use crate::error::{Error, Result};
use crate::portable::PortableFloat;
use crate::tape::{record_kind, RecordKind};
use crate::tape::{Tape, VarId};

impl<T: PortableFloat> Tape<'_, T> {
    /// The length in bytes of the image [`write_image`](Tape::write_image) writes for
    /// `outputs`: ask, then give a buffer that long.
    ///
    /// Fails with the tape's pending error, a handle error for an output, or
    /// [`Error::NotExportable`] when the tape holds tensor or checkpointed-segment
    /// records (images hold scalar records only).
    pub fn image_len(&self, outputs: &[VarId]) -> Result<usize> {
        Ok(self.image_layout(outputs)?.len)
    }

    /// Writes the recorded tape, with `outputs` named in order, into the start of `out`
    /// and returns the image's length. Fails as [`image_len`](Tape::image_len) does, or
    /// with [`Error::LengthMismatch`] when `out` is shorter than the image (nothing is
    /// written then). Reads the tape only.
    pub fn write_image(&self, outputs: &[VarId], out: &mut [u8]) -> Result<usize> {
        let info = self.image_layout(outputs)?;
        let Some(out) = out.get_mut(..info.len) else {
            return Err(Error::LengthMismatch {
                what: "image buffer length",
                got: out.len(),
                against: "the image length",
                expected: info.len,
            });
        };
        let counts = [
            info.records,
            info.inputs,
            info.leaves,
            info.outputs,
            info.len,
        ];
        out[..4].copy_from_slice(&MAGIC);
        out[4..6].copy_from_slice(&VERSION.to_le_bytes());
        out[6] = T::BYTES as u8;
        out[7] = 0;
        for (k, count) in counts.into_iter().enumerate() {
            // `image_layout` checked that every count fits in 32 bits.
            put_u32(out, 8 + 4 * k, count as u32);
        }
        let mut leaf_at = info.leaves_at();
        for i in 0..info.records {
            let (op, a, b, value) = self.scalar_record(i as u32).ok_or(Error::StaleHandle)?;
            let at = HEADER_LEN + i * RECORD_LEN;
            put_u32(out, at, ((op as u32) << super::format::INDEX_BITS) | a);
            let kind = record_kind(op);
            // A wide constant travels among the leaf values; its locator is the tape's.
            let (b, leaf) = match kind {
                RecordKind::WideConstant => (0, self.wide_constant_of(b)),
                _ => (b, value),
            };
            put_u32(out, at + 4, b);
            if matches!(
                kind,
                RecordKind::Input | RecordKind::Const | RecordKind::WideConstant
            ) {
                let bytes = leaf.to_bits_u64().to_le_bytes();
                out[leaf_at..leaf_at + T::BYTES].copy_from_slice(&bytes[..T::BYTES]);
                leaf_at += T::BYTES;
            }
        }
        for (k, output) in outputs.iter().enumerate() {
            put_u32(out, info.outputs_at() + 4 * k, output.index);
        }
        let checksum = super::format::checksum(out);
        put_u32(out, 28, checksum);
        Ok(info.len)
    }

    /// The counts and length of the image of this tape with `outputs`, after checking
    /// that it can be written.
    fn image_layout(&self, outputs: &[VarId]) -> Result<ImageInfo> {
        self.status()?;
        for &output in outputs {
            self.check_handle(output)?;
        }
        let (mut inputs, mut leaves) = (0usize, 0usize);
        for i in 0..self.len() as u32 {
            let (op, ..) = self.scalar_record(i).ok_or(Error::StaleHandle)?;
            match record_kind(op) {
                RecordKind::Input => {
                    inputs += 1;
                    leaves += 1;
                }
                RecordKind::Const | RecordKind::WideConstant => leaves += 1,
                RecordKind::Unary | RecordKind::UnaryWithOperand | RecordKind::Binary => {}
                RecordKind::Extension => {
                    return Err(Error::NotExportable(
                        "the tape holds tensor or checkpointed-segment records; images and generated C hold scalar records only",
                    ))
                }
            }
        }
        if self.len() > super::format::MAX_IMAGE_RECORDS as usize {
            return Err(Error::NotExportable(
                "the tape holds more records than an image can (2^26 - 1)",
            ));
        }
        let too_many = |count: usize| u32::try_from(count).is_err();
        if too_many(outputs.len()) {
            return Err(Error::SizeOverflow);
        }
        let len = ImageInfo::total_len(
            T::BYTES,
            self.len() as u64,
            leaves as u64,
            outputs.len() as u64,
        )
        .and_then(|len| u32::try_from(len).ok())
        .and_then(|len| usize::try_from(len).ok())
        .ok_or(Error::SizeOverflow)?;
        Ok(ImageInfo {
            value_bytes: T::BYTES,
            records: self.len(),
            inputs,
            leaves,
            outputs: outputs.len(),
            len,
        })
    }
}

fn put_u32(out: &mut [u8], at: usize, value: u32) {
    out[at..at + 4].copy_from_slice(&value.to_le_bytes());
}
