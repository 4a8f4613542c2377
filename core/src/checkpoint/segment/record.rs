//! Recording a segment: the block runs once, what the segment keeps is staged, the
//! block's records are dropped, and the segment record and its output records take
//! their place.

use super::layout::{
    call_block, for_each_param_use, output_bytes, Header, Layout, OutputDesc, SegmentNode,
    DESC_STRIDE,
};
use super::{Segment, SegmentElement};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::{ExtensionHeader, RecordMark, Tape, VarId};
use core::mem::{align_of, size_of};

/// The forward of [`Tape::checkpoint`]; errors are set on the tape by the caller.
pub(super) fn record_segment<T: SegmentElement, B: Segment<T> + Copy + Send + 'static>(
    tape: &Tape<'_, T>,
    block: B,
    inputs: &[VarId],
    outputs: &mut [VarId],
) -> Result<()> {
    tape.status()?;
    for &x in inputs {
        tape.check_record_handle(x)?;
    }
    if align_of::<B>() > 8 {
        return Err(Error::InvalidArgument(
            "checkpoint: the block's alignment is above 8 bytes",
        ));
    }
    let count = |n: usize| {
        u32::try_from(n).map_err(|_| {
            Error::InvalidArgument("checkpoint: more inputs or outputs than a tape holds records")
        })
    };
    let (n_in, n_out) = (count(inputs.len())?, count(outputs.len())?);
    // The block's staging goes to the arena's high end (`tape/growth.rs`).
    tape.make_way_for_extension_data(1 + outputs.len())?;

    let mark = tape.open_block()?;
    let staged = stage(tape, &block, inputs, outputs, mark);
    let (staged, layout, n_params, need) = match staged {
        Ok(staged) => staged,
        Err(error) => {
            // SAFETY: nothing recorded by the block is used after this.
            unsafe { tape.truncate(mark) };
            return Err(error);
        }
    };
    // SAFETY: `staged` is an 8-aligned block of `bytes / 8` words taken after `mark`;
    // nothing else the block allocated is used after this.
    let region = unsafe { tape.truncate_keeping(mark, staged, layout.bytes / 8) }?.cast::<u8>();

    let extensions = T::segment_extensions();
    let node = region.cast::<SegmentNode<T>>();
    // SAFETY: the region holds the layout's bytes, 8-aligned, and only this function
    // refers to it yet; `B` fits at its offset (alignment at most 8, checked above).
    unsafe {
        node.write(SegmentNode {
            header: Header(ExtensionHeader {
                extension: &extensions[0],
            }),
            output_header: Header(ExtensionHeader {
                extension: &extensions[1],
            }),
            call: call_block::<T, B>,
            block_offset: layout.block,
            inputs_offset: layout.inputs,
            params_offset: layout.params,
            need,
            n_in,
            n_out,
            n_params,
            first_output: 0,
        });
        region.add(layout.block).cast::<B>().write(block);
        let indices = region.add(layout.inputs).cast::<u32>();
        for (k, &x) in inputs.iter().enumerate() {
            indices.add(k).write(x.index);
            indices
                .add(inputs.len() + k)
                .write(T::tensor_version(tape, x.index).unwrap_or(0));
            indices.add(2 * inputs.len() + k).write(x.kind);
        }
    }

    // Extension records do not grow the tape: make room for the segment and its outputs.
    tape.room_for_records(1 + outputs.len())?;
    let segment = tape.push_extension(node.cast(), T::zero());
    tape.status()?;
    let first_output = segment.index + 1;
    // SAFETY: as above.
    unsafe { (*node).first_output = first_output };

    let mut offset = layout.outputs;
    for (j, slot) in outputs.iter_mut().enumerate() {
        // SAFETY: the region holds one descriptor per output and their data, staged
        // before the move (which kept every offset).
        let (desc, data) = unsafe {
            let desc = *region
                .add(layout.descs + j * DESC_STRIDE)
                .cast::<OutputDesc>();
            (desc, region.add(offset).cast::<T>())
        };
        let bytes = output_bytes::<T>(&desc).ok_or(Error::SizeOverflow)?;
        // SAFETY: `data` holds the output's staged value (and room for its gradient).
        let value = unsafe { *data };
        let id = if desc.tensor {
            let grad = if desc.shape.rank() > 0 {
                // SAFETY: the gradient buffer follows the value buffer, `bytes / 2` on.
                let grad = unsafe { region.add(offset + bytes / 2).cast::<T>() };
                // SAFETY: `len` elements of the region that only this output uses.
                unsafe { core::slice::from_raw_parts_mut(grad, desc.len) }.fill(T::zero());
                grad
            } else {
                core::ptr::null_mut()
            };
            T::push_segment_output(tape, desc.shape, desc.len, data, grad, value)?
        } else {
            tape.push_extension(
                // SAFETY: a field of the node just written.
                unsafe { core::ptr::addr_of!((*node).output_header) }.cast(),
                value,
            )
        };
        tape.status()?;
        if id.index != first_output + j as u32 {
            return Err(Error::InvalidArgument(
                "checkpoint: output records are not contiguous",
            ));
        }
        // The output's handle has the kind the block gave it (a C block over tensors
        // hands back tensor handles, a Rust block either kind).
        *slot = VarId {
            kind: slot.kind,
            ..id
        };
        offset += bytes;
    }
    tape.reserve_scratch(need)
}

/// Records the block after `mark`, and stages what the segment keeps in a block of
/// words allocated after it: the parameter uses, the outputs' descriptors and values.
/// Returns that block, its layout, the number of parameter uses and the reserve the
/// segment's backward needs.
fn stage<T: SegmentElement, B: Segment<T>>(
    tape: &Tape<'_, T>,
    block: &B,
    inputs: &[VarId],
    outputs: &mut [VarId],
    mark: RecordMark,
) -> Result<(*const u64, Layout, u32, usize)> {
    tape.align_high()?;
    // A block recorded for the first time may grow the tape (see `tape/growth.rs`).
    tape.run_growable_callback(|| block.record(tape, inputs, outputs))?;
    tape.status()?;
    for &y in outputs.iter() {
        if !y.is_valid() {
            return Err(Error::InvalidArgument(
                "checkpoint: the block left an output unset",
            ));
        }
        tape.check_record_handle(y)?;
    }
    // Device tensors are refused before any output's data is read (a device tensor's
    // value is not in host memory): a block that recorded on a device, and one that
    // hands back a device tensor it was given.
    let on_device = |y: &VarId| T::has_device_records(tape, y.index as usize, y.index as usize + 1);
    if T::has_device_records(tape, mark.len(), tape.len()) || outputs.iter().any(on_device) {
        return Err(Error::UnsupportedOnDevice(
            "checkpointed segments of device tensors",
        ));
    }
    // The block's records and allocations, and the scratch its ops reserved, is what
    // recording it again takes; add its inputs' and outputs' handles (allocated in the
    // block's region while it runs again) and the padding to 8 bytes.
    let need = tape
        .bytes_since(mark)
        .checked_add(tape.scratch_reserve())
        .and_then(|n| {
            n.checked_add((inputs.len() + outputs.len()).checked_mul(size_of::<VarId>())?)
        })
        .and_then(|n| n.checked_add(8))
        .ok_or(Error::SizeOverflow)?;
    let mut n_params = 0u32;
    for_each_param_use(tape, mark.len(), tape.len(), |_, _| n_params += 1);

    // Descriptors are computed twice (for the layout, then into the staging block)
    // to need no other memory.
    let desc_of = |y: VarId| match T::tensor_view(tape, y.index) {
        Some(view) => OutputDesc {
            shape: view.shape,
            len: view.len,
            tensor: true,
        },
        None => OutputDesc {
            shape: Shape::SCALAR,
            len: 1,
            tensor: false,
        },
    };
    let layout = Layout::new::<T, B>(
        inputs.len(),
        n_params as usize,
        outputs.iter().map(|&y| desc_of(y)),
    )
    .ok_or(Error::SizeOverflow)?;
    let staged = tape.alloc::<u64>(layout.bytes / 8, 0)?.as_ptr();
    let base = staged.cast::<u8>();
    // SAFETY: the pairs and the outputs' data lie inside the staging block, at the
    // layout's offsets; the outputs' buffers are live records' data, only read.
    unsafe {
        let pairs = base.add(layout.params).cast::<[u32; 2]>();
        let mut k = 0;
        for_each_param_use(tape, mark.len(), tape.len(), |param, version| {
            pairs.add(k).write([param, version]);
            k += 1;
        });
        let mut offset = layout.outputs;
        for (j, &y) in outputs.iter().enumerate() {
            base.add(layout.descs + j * DESC_STRIDE)
                .cast::<OutputDesc>()
                .write(desc_of(y));
            let data = base.add(offset).cast::<T>();
            match T::tensor_view(tape, y.index) {
                Some(view) => core::ptr::copy_nonoverlapping(view.value, data, view.len),
                None => data.write(tape.value(tape.scalar_handle(y))?),
            }
            offset += output_bytes::<T>(&desc_of(y)).ok_or(Error::SizeOverflow)?;
        }
    }
    Ok((staged, layout, n_params, need))
}
