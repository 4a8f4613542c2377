//! Running a segment's block again when a sweep (backward, tangent or replay) reaches
//! its record: the block records at the end of the tape, the sweep runs over what it
//! recorded, the results move to the segment's outputs (or inputs), and the records
//! are dropped.

use super::layout::{for_each_param_use, segment_node, SegmentNode};
use super::SegmentElement;
use crate::error::{Error, Result};
use crate::tape::{Extension, ExtensionKind, RecordMark, Tape, VarId};

/// The sweep functions of segment records and of their scalar output records, for
/// the per-type statics of [`Float`].
pub(crate) const fn extensions<T: SegmentElement>() -> [Extension<T>; 2] {
    [
        Extension {
            kind: ExtensionKind::Segment,
            backward: backward::<T>,
            tangent: tangent::<T>,
            replay: replay::<T>,
            clear: nothing::<T>,
            check: check::<T>,
            relocated: crate::tape::nothing_to_relocate::<T>,
        },
        Extension {
            kind: ExtensionKind::Segment,
            backward: nothing::<T>,
            // The segment record, earlier in the sweep, wrote these records' values and
            // tangents; they are leaves otherwise.
            tangent: nothing_ok::<T>,
            replay: nothing::<T>,
            clear: nothing::<T>,
            check: nothing_ok::<T>,
            relocated: crate::tape::nothing_to_relocate::<T>,
        },
    ]
}

fn nothing<T: SegmentElement>(_: &Tape<'_, T>, _: u32) {}

fn nothing_ok<T: SegmentElement>(_: &Tape<'_, T>, _: u32) -> Result<()> {
    Ok(())
}

/// What running a block again is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Backward,
    Tangent,
    Replay,
}

fn backward<T: SegmentElement>(tape: &Tape<'_, T>, i: u32) {
    if let Err(error) = rerun(tape, i, Mode::Backward) {
        tape.fail(error);
    }
}

fn tangent<T: SegmentElement>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    rerun(tape, i, Mode::Tangent)
}

fn replay<T: SegmentElement>(tape: &Tape<'_, T>, i: u32) {
    if let Err(error) = rerun(tape, i, Mode::Replay) {
        tape.fail(error);
    }
}

/// Fails when a tensor input, or a parameter the block uses, was written in place since
/// the segment recorded (or replayed) it.
fn check<T: SegmentElement>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    let Some(node) = segment_node(tape, i) else {
        return Ok(());
    };
    // SAFETY: a segment record's node and region live as long as the record.
    let node = unsafe { *node.cast_const() };
    let modified = |recorded: u32, current: u32| {
        (recorded != current).then_some(Error::ModifiedInPlace {
            recorded_version: recorded,
            current_version: current,
        })
    };
    let base = segment_node(tape, i).map_or(core::ptr::null(), |n| n.cast_const().cast::<u8>());
    let n_in = node.n_in as usize;
    for k in 0..n_in {
        // SAFETY: the region holds `n_in` indices and `n_in` versions.
        let (index, recorded) = unsafe {
            let indices = base.add(node.inputs_offset).cast::<u32>();
            (*indices.add(k), *indices.add(n_in + k))
        };
        if let Some(current) = T::tensor_version(tape, index) {
            if let Some(error) = modified(recorded, current) {
                return Err(error);
            }
        }
    }
    for k in 0..node.n_params as usize {
        // SAFETY: the region holds `n_params` pairs.
        let [param, recorded] = unsafe { *base.add(node.params_offset).cast::<[u32; 2]>().add(k) };
        if let Some(error) = modified(recorded, T::param_version(tape, param)) {
            return Err(error);
        }
    }
    Ok(())
}

/// Runs segment record `i`'s block again at the end of the tape, for `mode`, and drops
/// what it recorded.
fn rerun<T: SegmentElement>(tape: &Tape<'_, T>, i: u32, mode: Mode) -> Result<()> {
    let node_ptr =
        segment_node(tape, i).ok_or(Error::InvalidArgument("checkpoint: not a segment record"))?;
    // SAFETY: a segment record's node and region live as long as the record.
    let node = unsafe { *node_ptr.cast_const() };
    let base = node_ptr.cast::<u8>();
    if mode == Mode::Tangent {
        // The output records' tangent buffers must outlive the re-recording.
        for j in 0..node.n_out {
            let o = node.first_output + j;
            if T::tensor_view(tape, o).is_some() {
                T::tensor_tangent_buffer(tape, o)?;
            }
        }
    }
    let mark = tape.open_block()?;
    tape.begin_rerecording();
    let result = rerun_in_block(tape, &node, base, mark, mode);
    tape.end_rerecording();
    // SAFETY: nothing the block recorded again (nor the handles' array, allocated after
    // the mark) is used after this.
    unsafe { tape.truncate(mark) };
    result
}

/// Names the segment's inputs again (with the generations that issued them, which are
/// still open) in an array allocated inside the block's region, then runs the block.
fn rerun_in_block<T: SegmentElement>(
    tape: &Tape<'_, T>,
    node: &SegmentNode<T>,
    base: *mut u8,
    mark: RecordMark,
    mode: Mode,
) -> Result<()> {
    let (n_in, n_out) = (node.n_in as usize, node.n_out as usize);
    let ids = tape.alloc(n_in + n_out, VarId::INVALID)?;
    // SAFETY: `n_in + n_out` handles just allocated, which only this call refers to,
    // until the truncation after it returns.
    let ids = unsafe { core::slice::from_raw_parts_mut(ids.as_ptr(), n_in + n_out) };
    let (inputs, outputs) = ids.split_at_mut(n_in);
    // SAFETY: the region holds `n_in` input indices, versions and kinds.
    let indices = unsafe { base.add(node.inputs_offset).cast::<u32>() };
    for (k, x) in inputs.iter_mut().enumerate() {
        // SAFETY: `k < n_in`.
        let (index, kind) = unsafe { (*indices.add(k), *indices.add(2 * n_in + k)) };
        *x = VarId {
            kind,
            ..tape.handle_at(index)
        };
    }
    rerun_block(tape, node, base, inputs, outputs, mark, mode)
}

/// The part of [`rerun`] between the mark and the truncation.
fn rerun_block<T: SegmentElement>(
    tape: &Tape<'_, T>,
    node: &SegmentNode<T>,
    base: *mut u8,
    inputs: &[VarId],
    outputs: &mut [VarId],
    mark: RecordMark,
    mode: Mode,
) -> Result<()> {
    tape.align_high()?;
    {
        let _block = tape.enter_callback();
        // SAFETY: the region holds the block `call` was made for.
        unsafe { (node.call)(base.add(node.block_offset), tape, inputs, outputs) }?;
    }
    tape.status()?;
    let mismatch = Error::InvalidArgument(
        "checkpoint: the block recorded again gave other outputs (kinds or shapes) than when recorded",
    );
    for (j, &r) in outputs.iter().enumerate() {
        if !r.is_valid() {
            return Err(Error::InvalidArgument(
                "checkpoint: the block recorded again left an output unset",
            ));
        }
        tape.check_record_handle(r)?;
        let o = node.first_output + j as u32;
        match (T::tensor_view(tape, o), T::tensor_view(tape, r.index)) {
            (Some(ov), Some(rv)) if ov.shape == rv.shape && ov.len == rv.len => {}
            (None, None) => {}
            _ => return Err(mismatch),
        }
    }
    match mode {
        Mode::Backward => {
            for (j, &r) in outputs.iter().enumerate() {
                let o = node.first_output + j as u32;
                match (T::tensor_view(tape, o), T::tensor_view(tape, r.index)) {
                    (Some(ov), Some(rv)) => {
                        T::prepare_grad(tape, r.index);
                        if !rv.grad.is_null() && !ov.grad.is_null() && rv.grad != ov.grad {
                            // SAFETY: distinct gradient buffers of `len` elements.
                            let (from, to) = unsafe {
                                (
                                    core::slice::from_raw_parts(ov.grad, ov.len),
                                    core::slice::from_raw_parts_mut(rv.grad, rv.len),
                                )
                            };
                            to.iter_mut().zip(from).for_each(|(t, &f)| *t += f);
                        }
                    }
                    _ => {
                        let (from, to) = slots(tape, o, r.index)?;
                        // SAFETY: adjoint slots of two distinct live records.
                        unsafe { *to.1 += *from.1 };
                    }
                }
            }
            let end = tape.len();
            if end > mark.len() {
                tape.sweep_backward_range(mark.len(), end - 1, &mut |_, _| {});
            }
        }
        Mode::Tangent => {
            tape.sweep_tangents_from(mark.len())?;
            for (j, &r) in outputs.iter().enumerate() {
                let o = node.first_output + j as u32;
                match (T::tensor_view(tape, o), T::tensor_view(tape, r.index)) {
                    (Some(ov), Some(rv)) => {
                        // SAFETY: the output record's tangent buffer (allocated before
                        // the re-recording) holds `len` elements, and the re-recorded
                        // output's, if any, as many; they are distinct.
                        let to = unsafe { core::slice::from_raw_parts_mut(ov.tangent, ov.len) };
                        if rv.tangent.is_null() {
                            to.fill(T::zero());
                        } else {
                            to.copy_from_slice(unsafe {
                                core::slice::from_raw_parts(rv.tangent, rv.len)
                            });
                        }
                    }
                    _ => {
                        let (to, from) = slots(tape, o, r.index)?;
                        // SAFETY: tangent (adjoint) slots of two distinct live records.
                        unsafe { *to.1 = *from.1 };
                    }
                }
            }
        }
        Mode::Replay => {
            for (j, &r) in outputs.iter().enumerate() {
                let o = node.first_output + j as u32;
                match (T::tensor_view(tape, o), T::tensor_view(tape, r.index)) {
                    (Some(ov), Some(rv)) => {
                        // SAFETY: distinct value buffers of `len` elements.
                        unsafe { core::ptr::copy_nonoverlapping(rv.value, ov.value, ov.len) };
                    }
                    _ => {
                        let (to, from) = slots(tape, o, r.index)?;
                        // SAFETY: value slots of two distinct live records.
                        unsafe { *to.0 = *from.0 };
                    }
                }
            }
            // The segment now reflects the current versions of what it read.
            // SAFETY: the region holds `n_in` indices and versions, and `n_params` pairs.
            unsafe {
                let n_in = node.n_in as usize;
                let indices = base.add(node.inputs_offset).cast::<u32>();
                for k in 0..n_in {
                    if let Some(version) = T::tensor_version(tape, *indices.add(k)) {
                        indices.add(n_in + k).write(version);
                    }
                }
                let pairs = base.add(node.params_offset).cast::<[u32; 2]>();
                let mut k = 0;
                for_each_param_use(tape, mark.len(), tape.len(), |param, version| {
                    if k < node.n_params as usize {
                        pairs.add(k).write([param, version]);
                        k += 1;
                    }
                });
            }
        }
    }
    Ok(())
}

/// The (value, adjoint) slots of records `a` and `b`, which must be distinct.
type Slots<T> = (*mut T, *mut T);

fn slots<T: SegmentElement>(tape: &Tape<'_, T>, a: u32, b: u32) -> Result<(Slots<T>, Slots<T>)> {
    if a == b {
        return Err(Error::InvalidArgument(
            "checkpoint: an output record is its own block output",
        ));
    }
    let vanished = Error::InvalidArgument("checkpoint: a record vanished");
    Ok((
        tape.record_slots(a).ok_or(vanished)?,
        tape.record_slots(b).ok_or(vanished)?,
    ))
}
