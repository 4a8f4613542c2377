//! The byte layout of a segment's region of the arena: its node (the extension record's
//! header, the block, its inputs' indices and versions, its parameter uses), the
//! descriptors of its outputs and their data.

use super::{Segment, SegmentElement};
use crate::error::Result;
use crate::shape::Shape;
use crate::tape::{ExtensionHeader, Tape, VarId};
use core::mem::size_of;

/// How the segment record calls its block, whatever the block's type.
pub(super) type CallFn<T> = for<'a, 'b, 'c, 'd> unsafe fn(
    *const u8,
    &'a Tape<'b, T>,
    &'c [VarId],
    &'d mut [VarId],
) -> Result<()>;

/// # Safety
/// `block` must point at a live `B`.
pub(super) unsafe fn call_block<T: SegmentElement, B: Segment<T>>(
    block: *const u8,
    tape: &Tape<'_, T>,
    inputs: &[VarId],
    outputs: &mut [VarId],
) -> Result<()> {
    // SAFETY: passed on from the caller.
    unsafe { (*block.cast::<B>()).record(tape, inputs, outputs) }
}

/// An extension header on its own 8-byte boundary, so records may point at it.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
pub(super) struct Header<T: SegmentElement>(pub(super) ExtensionHeader<T>);

/// The node of a segment record, at the start of the segment's region of the arena.
/// Offsets are from the node's address.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct SegmentNode<T: SegmentElement> {
    pub(super) header: Header<T>,
    /// What the scalar output records point at.
    pub(super) output_header: Header<T>,
    pub(super) call: CallFn<T>,
    /// The block (a `B`).
    pub(super) block_offset: usize,
    /// `n_in` input record indices, then the versions of those that are tensors.
    pub(super) inputs_offset: usize,
    /// `n_params` pairs (parameter, version) of the parameter uses inside the block.
    pub(super) params_offset: usize,
    /// The scratch reserve this segment's backward needs.
    pub(super) need: usize,
    pub(super) n_in: u32,
    pub(super) n_out: u32,
    pub(super) n_params: u32,
    /// Record index of the first output record; the others follow it.
    pub(super) first_output: u32,
}

/// What a block's output was when the segment recorded it.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct OutputDesc {
    pub(super) shape: Shape,
    pub(super) len: usize,
    pub(super) tensor: bool,
}

/// Bytes between output descriptors in a segment's region.
pub(super) const DESC_STRIDE: usize = (size_of::<OutputDesc>() + 7) & !7;

/// The byte layout of a segment's region.
pub(super) struct Layout {
    pub(super) block: usize,
    pub(super) inputs: usize,
    pub(super) params: usize,
    pub(super) descs: usize,
    pub(super) outputs: usize,
    pub(super) bytes: usize,
}

fn round8(n: usize) -> Option<usize> {
    n.checked_add(7).map(|n| n & !7)
}

/// Bytes of an output's data in the region: a value (or, for a tensor of rank 1 or
/// more, its value and gradient buffers).
pub(super) fn output_bytes<T: SegmentElement>(desc: &OutputDesc) -> Option<usize> {
    if desc.tensor && desc.shape.rank() > 0 {
        round8(desc.len.checked_mul(size_of::<T>())?)?.checked_mul(2)
    } else {
        Some(8)
    }
}

impl Layout {
    pub(super) fn new<T: SegmentElement, B>(
        n_in: usize,
        n_params: usize,
        descs: impl Iterator<Item = OutputDesc> + Clone,
    ) -> Option<Layout> {
        let mut bytes = round8(size_of::<SegmentNode<T>>())?;
        let block = bytes;
        bytes = bytes.checked_add(round8(size_of::<B>())?)?;
        let inputs = bytes;
        // Per input: its record index, its version, and the kind of its handle.
        bytes = bytes.checked_add(round8(n_in.checked_mul(12)?)?)?;
        let params = bytes;
        bytes = bytes.checked_add(n_params.checked_mul(8)?)?;
        let descs_offset = bytes;
        bytes = bytes.checked_add(descs.clone().count().checked_mul(DESC_STRIDE)?)?;
        let outputs = bytes;
        for desc in descs {
            bytes = bytes.checked_add(output_bytes::<T>(&desc)?)?;
        }
        Some(Layout {
            block,
            inputs,
            params,
            descs: descs_offset,
            outputs,
            bytes,
        })
    }
}

/// The node of record `index`, if it is a segment record.
pub(super) fn segment_node<T: SegmentElement>(
    tape: &Tape<'_, T>,
    index: u32,
) -> Option<*mut SegmentNode<T>> {
    (tape.is_extension_record(index)
        && core::ptr::eq(tape.extension_of(index), &T::segment_extensions()[0]))
    .then(|| tape.extension_node(index).cast())
}

/// Calls `f(parameter, version)` for every parameter use among records `first..end`,
/// those inside nested segments included.
pub(super) fn for_each_param_use<T: SegmentElement>(
    tape: &Tape<'_, T>,
    first: usize,
    end: usize,
    mut f: impl FnMut(u32, u32),
) {
    for i in first as u32..end as u32 {
        if let Some((param, version)) = T::param_use(tape, i) {
            f(param, version);
        } else if let Some(node) = segment_node(tape, i) {
            // SAFETY: a segment record's node and region live as long as the record.
            unsafe {
                let pairs = node
                    .cast::<u8>()
                    .add((*node).params_offset)
                    .cast::<[u32; 2]>();
                for k in 0..(*node).n_params as usize {
                    let [param, version] = *pairs.add(k);
                    f(param, version);
                }
            }
        }
    }
}
