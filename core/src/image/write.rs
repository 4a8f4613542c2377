//! Writing a recorded tape as an image (layout in [`format`](super::format) and
//! [`tensors`](super::tensors)).

use super::format::{
    ImageInfo, CHECKSUM_AT, FLAG_PARAMETERS, HEADER_LEN, RECORD_LEN, TENSOR_BYTES_AT, VERSION,
};
use super::tensors::{arguments, kind_code, TensorEntry, ENTRY_LEN};
use super::MAGIC;
use crate::error::{Error, Result};
use crate::portable::PortableFloat;
use crate::tape::{record_kind, RecordKind};
use crate::tape::{Tape, VarId};
use crate::tensor::{Float, Kind, Node};

/// What an image holds besides the records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageOptions {
    /// Also carry the values of the parameters the tensor records use. Without them,
    /// the loading tape's own parameters (of the same index and shape) serve.
    pub parameters: bool,
}

impl<T: PortableFloat + Float> Tape<'_, T> {
    /// The length in bytes of the image [`write_image`](Tape::write_image) writes for
    /// `outputs`: ask, then give a buffer that long.
    ///
    /// Fails with the tape's pending error, a handle error for an output, or
    /// [`Error::NotExportable`] when the tape holds checkpointed-segment records, or
    /// tensors on a device or moved between devices (images hold scalar and host tensor
    /// records).
    pub fn image_len(&self, outputs: &[VarId]) -> Result<usize> {
        self.image_len_with(outputs, ImageOptions::default())
    }

    /// [`image_len`](Tape::image_len) for an image written with `options`.
    pub fn image_len_with(&self, outputs: &[VarId], options: ImageOptions) -> Result<usize> {
        Ok(self.image_layout(outputs, options)?.len)
    }

    /// Writes the recorded tape, with `outputs` named in order, into the start of `out`
    /// and returns the image's length. Fails as [`image_len`](Tape::image_len) does, or
    /// with [`Error::LengthMismatch`] when `out` is shorter than the image (nothing is
    /// written then). Reads the tape only. Parameters are referred to by index, without
    /// their values: see [`write_image_with`](Tape::write_image_with).
    pub fn write_image(&self, outputs: &[VarId], out: &mut [u8]) -> Result<usize> {
        self.write_image_with(outputs, ImageOptions::default(), out)
    }

    /// [`write_image`](Tape::write_image) with `options`.
    pub fn write_image_with(
        &self,
        outputs: &[VarId],
        options: ImageOptions,
        out: &mut [u8],
    ) -> Result<usize> {
        let info = self.image_layout(outputs, options)?;
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
        out[7] = if options.parameters {
            FLAG_PARAMETERS
        } else {
            0
        };
        for (k, count) in counts.into_iter().enumerate() {
            // `image_layout` checked that every count fits in 32 bits.
            put_u32(out, 8 + 4 * k, count as u32);
        }
        put_u32(out, TENSOR_BYTES_AT, info.tensor_bytes as u32);
        let mut leaf_at = info.leaves_at();
        let mut entries = 0u32;
        for i in 0..info.records {
            let (op, a, b, value) = self.scalar_record(i as u32).ok_or(Error::StaleHandle)?;
            let at = HEADER_LEN + i * RECORD_LEN;
            let (a, b, leaf) = match record_kind(op) {
                RecordKind::Extension => {
                    entries += 1;
                    (0, entries - 1, None)
                }
                RecordKind::Input | RecordKind::Const => (a, b, Some(value)),
                // A wide constant travels among the leaf values; its locator is the tape's.
                RecordKind::WideConstant => (a, 0, Some(self.wide_constant_of(b))),
                _ => (a, b, None),
            };
            put_u32(out, at, ((op as u32) << super::format::INDEX_BITS) | a);
            put_u32(out, at + 4, b);
            if let Some(leaf) = leaf {
                put_value(out, &mut leaf_at, leaf);
            }
        }
        for (k, output) in outputs.iter().enumerate() {
            put_u32(out, info.outputs_at() + 4 * k, output.index);
        }
        self.write_tensors(&info, options, out)?;
        let checksum = super::format::checksum(out);
        put_u32(out, CHECKSUM_AT, checksum);
        Ok(info.len)
    }

    /// The tensor section: the entries, then their data.
    fn write_tensors(&self, info: &ImageInfo, options: ImageOptions, out: &mut [u8]) -> Result<()> {
        let mut entry_at = info.tensors_at();
        let entries = if info.tensor_bytes > 0 {
            (0..info.records as u32)
                .filter(|&i| self.node_at(i).is_some())
                .count()
        } else {
            0
        };
        let mut data_at = entry_at + entries * ENTRY_LEN;
        for i in 0..info.records as u32 {
            let Some(node) = self.node_at(i) else {
                continue;
            };
            entry_of(&node).encode(&mut out[entry_at..entry_at + ENTRY_LEN]);
            entry_at += ENTRY_LEN;
            let values = matches!(node.kind, Kind::Input | Kind::Constant)
                || (node.kind == Kind::Param && options.parameters);
            if values {
                // SAFETY: a host node's value (checked by `image_layout`), only read here.
                for &value in unsafe { node.value() } {
                    put_value(out, &mut data_at, value);
                }
            }
            if node.kind == Kind::CrossEntropy {
                // SAFETY: a host cross-entropy node's labels, one per row of its logits.
                let labels =
                    unsafe { core::slice::from_raw_parts(node.labels, self.rows_of(&node)) };
                for &label in labels {
                    put_u32(out, data_at, label);
                    data_at += 4;
                }
            }
        }
        Ok(())
    }

    /// The rows of a node's first argument (a cross-entropy's logits).
    fn rows_of(&self, node: &Node<T>) -> usize {
        self.node_at(node.args[0])
            .and_then(|logits| logits.shape.dims().first().copied())
            .unwrap_or(0) as usize
    }

    /// The counts and length of the image of this tape with `outputs`, after checking
    /// that it can be written.
    fn image_layout(&self, outputs: &[VarId], options: ImageOptions) -> Result<ImageInfo> {
        self.status()?;
        for &output in outputs {
            self.check_handle(output)?;
        }
        let (mut inputs, mut leaves, mut tensor_bytes) = (0usize, 0usize, 0u64);
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
                    tensor_bytes += ENTRY_LEN as u64 + self.tensor_data_len(i, options)?;
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
            tensor_bytes,
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
            // Below `len`, which fits in 32 bits.
            tensor_bytes: tensor_bytes as usize,
            parameters: options.parameters,
        })
    }

    /// The bytes of data tensor record `i` carries, or why it cannot be written.
    fn tensor_data_len(&self, i: u32, options: ImageOptions) -> Result<u64> {
        let not_exportable = Error::NotExportable(
            "the tape holds checkpointed-segment records or device tensors, which images do not hold",
        );
        let node = self.node_at(i).ok_or(not_exportable)?;
        if node.on_device() || kind_code(node.kind).is_none() {
            return Err(not_exportable);
        }
        let (len, value) = (node.len as u64, T::BYTES as u64);
        Ok(match node.kind {
            Kind::Input | Kind::Constant => len * value,
            Kind::Param if options.parameters => len * value,
            Kind::CrossEntropy => 4 * self.rows_of(&node) as u64,
            _ => 0,
        })
    }
}

/// The image entry of a host tensor node.
fn entry_of<T: Float>(node: &Node<T>) -> TensorEntry {
    let count = arguments(node.kind);
    let mut args = [0u32; 3];
    args[..count].copy_from_slice(&node.args[..count]);
    TensorEntry {
        kind: node.kind,
        shape: node.shape,
        args,
        arg_count: count,
        // Leaves keep a tangent seed here, which is no part of the recording.
        scalar: match node.kind {
            Kind::Scale | Kind::Unary(_) => node.scalar,
            _ => 0.0,
        },
        param: if node.kind == Kind::Param {
            node.param
        } else {
            0
        },
    }
}

fn put_value<T: PortableFloat>(out: &mut [u8], at: &mut usize, value: T) {
    let bytes = value.to_bits_u64().to_le_bytes();
    out[*at..*at + T::BYTES].copy_from_slice(&bytes[..T::BYTES]);
    *at += T::BYTES;
}

fn put_u32(out: &mut [u8], at: usize, value: u32) {
    out[at..at + 4].copy_from_slice(&value.to_le_bytes());
}
