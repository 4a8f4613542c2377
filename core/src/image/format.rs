//! The byte layout of a tape image, and the checks that make a loaded image safe.
//!
//! Every integer is little-endian and of a fixed width, so the layout is the same
//! whatever the writer's or the reader's pointer width and byte order (an image written
//! on x86-64 loads on a 32-bit Cortex-M).
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | magic `ADTP` |
//! | 4 | 2 | format version ([`VERSION`]) |
//! | 6 | 1 | bytes per value: 4 (`f32`) or 8 (`f64`) |
//! | 7 | 1 | flags: bit 0, the image carries its parameters' values ([`FLAG_PARAMETERS`]) |
//! | 8 | 4 | records `r` |
//! | 12 | 4 | inputs (records with op `Input`) |
//! | 16 | 4 | leaves `l` (records with op `Input` or `Const`, and wide-constant ops) |
//! | 20 | 4 | outputs `o` |
//! | 24 | 4 | total length in bytes |
//! | 28 | 4 | CRC-32 (IEEE) of every byte of the image but these four |
//! | 32 | 4 | bytes of the tensor section `t` |
//! | 36 | 8·r | records: `op << 26 | a`, then `b` (the in-memory record's fields; a tensor record has `a = 0` and `b` its entry's number) |
//! | … | w·l | the leaves' values in record order, IEEE bits of `w` bytes (for a wide-constant op, `AddWide` … `WideDiv`, its constant; its `b` is 0) |
//! | … | 4·o | the outputs' record indices |
//! | … | t | the tensor records (see `tensors`) |
//!
//! Only leaves carry values: a loaded tape recomputes every other value by the same
//! rules as replay, so an image cannot make a value disagree with its op. Version 1
//! (scalar records only, a 32-byte header) is no longer read.

use crate::error::{Error, Result};
use crate::op::Op;
use crate::tape::{record_kind, RecordKind};

/// The four bytes every image starts with.
pub const MAGIC: [u8; 4] = *b"ADTP";
/// The format version this build writes and reads.
pub const VERSION: u16 = 2;
/// Bytes before the records.
pub const HEADER_LEN: usize = 36;
/// Bytes per record.
pub const RECORD_LEN: usize = 8;
/// Bytes per output index.
pub const OUTPUT_LEN: usize = 4;
/// Where the checksum sits.
pub(crate) const CHECKSUM_AT: usize = 28;
/// Where the tensor section's length sits.
pub(crate) const TENSOR_BYTES_AT: usize = 32;
/// Header flag: the image carries the values of the parameters its tensor records use.
pub const FLAG_PARAMETERS: u8 = 1;
/// Bits of a record's first word that hold the first argument (as in memory).
pub(crate) const INDEX_BITS: u32 = 26;
/// The most records an image holds: its first argument field is an index of
/// [`INDEX_BITS`] bits (a tape may hold more; it cannot be saved).
pub(crate) const MAX_IMAGE_RECORDS: u32 = (1 << INDEX_BITS) - 1;

/// What an image's header says, once the whole image has been checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// Bytes per value: 4 for an `f32` tape, 8 for an `f64` one.
    pub value_bytes: usize,
    /// Records (variables) the image holds: a tape that loads it needs room for them.
    pub records: usize,
    /// Independent variables, in the order replay and gradients list them.
    pub inputs: usize,
    /// Records with op `Input` or `Const`, whose values the image carries.
    pub leaves: usize,
    /// Outputs the writer named, in order.
    pub outputs: usize,
    /// The image's length in bytes.
    pub len: usize,
    /// Bytes of its tensor records and their data (0 for a scalar tape).
    pub tensor_bytes: usize,
    /// Whether it carries the values of the parameters its tensor records use (loading
    /// writes them into the loading tape's parameters).
    pub parameters: bool,
}

impl ImageInfo {
    /// The image's length for these counts; `None` when it overflows.
    pub(crate) fn total_len(
        value_bytes: usize,
        records: u64,
        leaves: u64,
        outputs: u64,
        tensor_bytes: u64,
    ) -> Option<u64> {
        (HEADER_LEN as u64)
            .checked_add(records.checked_mul(RECORD_LEN as u64)?)?
            .checked_add(leaves.checked_mul(value_bytes as u64)?)?
            .checked_add(outputs.checked_mul(OUTPUT_LEN as u64)?)?
            .checked_add(tensor_bytes)
    }

    /// Byte offset of the leaves' values.
    pub(crate) fn leaves_at(&self) -> usize {
        HEADER_LEN + self.records * RECORD_LEN
    }

    /// Byte offset of the output indices.
    pub(crate) fn outputs_at(&self) -> usize {
        self.leaves_at() + self.leaves * self.value_bytes
    }

    /// Byte offset of the tensor section.
    pub(crate) fn tensors_at(&self) -> usize {
        self.outputs_at() + self.outputs * OUTPUT_LEN
    }
}

/// A record as an image holds it, decoded and checked against the records before it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ImageRecord {
    pub op: Op,
    pub kind: RecordKind,
    pub a: u32,
    pub b: u32,
}

pub(crate) fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

pub(crate) fn u64_at(bytes: &[u8], at: usize, width: usize) -> u64 {
    let mut word = [0u8; 8];
    word[..width].copy_from_slice(&bytes[at..at + width]);
    u64::from_le_bytes(word)
}

/// Checks the header, the length and the checksum of `image`, and reads its counts.
/// Record-by-record checks are `record_at`'s.
pub fn image_info(image: &[u8]) -> Result<ImageInfo> {
    if image.len() < 6 {
        return Err(Error::BadImage("truncated: shorter than its header"));
    }
    if image[..4] != MAGIC {
        return Err(Error::BadImage("not a tape image (the magic bytes differ)"));
    }
    let version = u16_at(image, 4);
    if version != VERSION {
        return Err(Error::ImageVersion {
            found: version,
            supported: VERSION,
        });
    }
    if image.len() < HEADER_LEN {
        return Err(Error::BadImage("truncated: shorter than its header"));
    }
    let value_bytes = image[6] as usize;
    if value_bytes != 4 && value_bytes != 8 {
        return Err(Error::BadImage("the value width is neither 4 nor 8 bytes"));
    }
    if image[7] & !FLAG_PARAMETERS != 0 {
        return Err(Error::BadImage("unknown flags"));
    }
    let [records, inputs, leaves, outputs, total, tensor_bytes] =
        [8, 12, 16, 20, 24, TENSOR_BYTES_AT].map(|at| u32_at(image, at));
    let expected = ImageInfo::total_len(
        value_bytes,
        records as u64,
        leaves as u64,
        outputs as u64,
        tensor_bytes as u64,
    )
    .filter(|&len| len == total as u64)
    .ok_or(Error::BadImage(
        "the length field disagrees with the counts",
    ))?;
    if (image.len() as u64) < expected {
        return Err(Error::BadImage("truncated: shorter than its length field"));
    }
    if (image.len() as u64) > expected {
        return Err(Error::BadImage("longer than its length field"));
    }
    if inputs > leaves || leaves > records || records > MAX_IMAGE_RECORDS {
        return Err(Error::BadImage("the record counts are inconsistent"));
    }
    if u32_at(image, CHECKSUM_AT) != checksum(image) {
        return Err(Error::BadImage("checksum mismatch: the image is corrupt"));
    }
    // Every count fits in usize now: the image itself, of that many bytes, is in memory.
    Ok(ImageInfo {
        value_bytes,
        records: records as usize,
        inputs: inputs as usize,
        leaves: leaves as usize,
        outputs: outputs as usize,
        len: image.len(),
        tensor_bytes: tensor_bytes as usize,
        parameters: image[7] & FLAG_PARAMETERS != 0,
    })
}

/// Record `i` of a checked image, with its arguments checked to precede it.
pub(crate) fn record_at(image: &[u8], i: usize) -> Result<ImageRecord> {
    let at = HEADER_LEN + i * RECORD_LEN;
    let first = u32_at(image, at);
    let b = u32_at(image, at + 4);
    let a = first & ((1 << INDEX_BITS) - 1);
    let op = Op::from_code((first >> INDEX_BITS) as u8)
        .ok_or(Error::BadImage("a record has an unknown op code"))?;
    let kind = record_kind(op);
    let precedes = |index: u32| (index as usize) < i;
    let valid = match kind {
        RecordKind::Input | RecordKind::Const => a == 0 && b == 0,
        RecordKind::Unary => precedes(a) && b == 0,
        RecordKind::UnaryWithOperand => precedes(a),
        // The constant is among the leaf values.
        RecordKind::WideConstant => precedes(a) && b == 0,
        RecordKind::Binary => precedes(a) && precedes(b),
        // A tensor record: its entry's number in `b`, which the loader checks.
        RecordKind::Extension => a == 0,
    };
    if !valid {
        return Err(Error::BadImage(
            "a record's arguments do not precede it, or its unused fields are not zero",
        ));
    }
    Ok(ImageRecord { op, kind, a, b })
}

/// The image's checksum: CRC-32 of every byte but the checksum field's.
pub(crate) fn checksum(image: &[u8]) -> u32 {
    let crc = crc32_update(!0, &image[..CHECKSUM_AT]);
    !crc32_update(crc, &image[CHECKSUM_AT + 4..])
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) by a 256-entry table built at
/// compile time: the checksum zip and PNG use, so other tools can verify an image.
fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &byte in bytes {
        crc = CRC_TABLE[((crc ^ byte as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(!crc32_update(!0, b"123456789"), 0xCBF4_3926);
    }
}
