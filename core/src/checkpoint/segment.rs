//! Checkpointed segments: blocks of a recording whose insides are recomputed in the
//! backward sweep instead of kept, as `torch.utils.checkpoint` does.
//!
//! [`Tape::checkpoint`] runs a [`Segment`] (a block: a closure, or a C callback behind a
//! small `Copy` struct) on its inputs, keeps only the values of its outputs, and drops
//! everything the block recorded. The tape then holds one *segment record* followed by
//! one record per output:
//!
//! - a scalar output is a record whose value is the output's value;
//! - a tensor output (rank 0 included) is a tensor leaf holding a copy of the output's
//!   value and a gradient buffer; other tensor ops use it like any tensor.
//!
//! When a backward sweep reaches the segment record, the outputs' adjoints are complete
//! (their records come after it). The record then runs the block again on the same
//! input records, at the end of the tape, adds the outputs' adjoints to those of the
//! re-recorded outputs, sweeps backward over the re-recorded records only (so their
//! contributions reach the real inputs, and any parameters the block uses), and drops
//! them. Blocks nest: a segment inside a block is one more record of the block, and
//! does the same, one level further along the tape.
//!
//! # Memory
//!
//! Forward, a segment keeps its record, its output records and their data, the input
//! indices, the block itself (moved into the arena) and a little bookkeeping. It also
//! reserves, as tensor ops do for their kernels' scratch, the bytes its backward needs
//! to record the block again: what the block recorded, plus the scratch the block's own
//! ops reserved (for a nested segment, its own backward), plus a few bytes. A reserve is
//! a maximum, not a sum: a chain of segments needs the *largest* block's bytes once,
//! which is how checkpointing saves memory. [`Tape::used_bytes`] plus
//! [`Tape::reserved_bytes`] is what a recording needs to be differentiated; when the
//! arena cannot hold that, `checkpoint` fails with [`Error::OutOfMemory`] (sticky, as for
//! any op), and [`Tape::reset`] makes the tape usable again.
//!
//! # Exactness
//!
//! The gradients equal those of the same block recorded without `checkpoint`, bit for
//! bit, provided the block is deterministic (records the same ops from the same values,
//! as every op of this crate computes) and returns distinct outputs that are records it
//! made (not an input handed back unchanged, not one variable for two outputs). The
//! reason is that every adjoint receives the same terms in the same order:
//!
//! - The records after the segment are those after the block in the unmarked tape, with
//!   the output records in place of the block's outputs, so each output record's
//!   adjoint is summed exactly as the block output's adjoint was, by the time the sweep
//!   reaches the block.
//! - It is *assigned* to the re-recorded output (added to a zero adjoint, which is
//!   exact), before the block's own later records add their terms, as in the unmarked
//!   sweep, where the block's records come after everything past the block.
//! - The re-recorded block refers to the real input records, not to copies, so its
//!   sweep adds into their adjoints (and into tensor and parameter gradient buffers)
//!   directly, in the block's order, after everything past the segment added its own:
//!   exactly when and how the unmarked sweep does, since a block's records are
//!   contiguous.
//!
//! An output that is an input handed back, or one variable returned twice, still gets
//! the right gradient, but its adjoint is summed in another order, so the last bits may
//! differ.
//!
//! # Handles and blocks
//!
//! Handles made inside a block are only valid inside it: after `checkpoint` returns, its
//! records are gone, and a handle kept from then is reported stale until a new record
//! takes its index (after which it silently names that record: do not keep them). The
//! `outputs` written by `checkpoint` are the output records. A block may also use live
//! handles it captured instead of receiving them as inputs; they act as inputs do.
//! The block must not record independent inputs (`Tape::input`), and runs again in
//! every backward, [`Tape::jvp`] and [`Tape::replay`] that reaches the segment (with the
//! tape's current values there: use `replay` to change inputs, not in-place writes).
//!
//! Tensor inputs written in place since the segment recorded ([`Tape::set_tensor_value`])
//! and parameters the block uses that were updated since are reported by `backward` as
//! [`Error::ModifiedInPlace`], as the unmarked recording would report them.
//!
//! # Tangents and replay
//!
//! [`Tape::jvp`] runs the block again at the end of the tape and sweeps tangents over
//! it; the tangents of its inputs must be seeded on the inputs (scalar seeds, or
//! [`Tape::seed_tensor_tangent`] on input tensors), not on parameters used inside the
//! block. This needs the block's bytes again plus its tensors' tangent buffers, which are
//! not reserved: when they do not fit, `jvp` reports [`Error::OutOfMemory`].
//! [`Tape::replay`] runs the block again at the new input values and copies the new
//! outputs into the output records.
//!
//! Segments are for `f32` and `f64` tapes ([`Float`]); tapes of dual numbers cannot
//! record them.

use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::{
    Extension, ExtensionHeader, ExtensionKind, RecordMark, Tape, VarId, MAX_RECORDS,
};
use crate::tensor::Float;
use core::mem::{align_of, size_of};

/// A block of a recording to checkpoint: records its outputs from its inputs.
pub trait Segment<T: Float> {
    /// Records the block on `tape` from `inputs`, writing the output variables (scalars,
    /// or tensors as `VarId::from(tensor_id)`) into `outputs` (preset to
    /// [`VarId::INVALID`]). It runs once when recorded and again in every sweep that
    /// reaches the segment, and must record the same ops from the same values each time.
    ///
    /// Errors go either way: return one, or let the tape's sticky error carry it.
    fn record(&self, tape: &Tape<'_, T>, inputs: &[VarId], outputs: &mut [VarId]) -> Result<()>;
}

impl<T: Float, F> Segment<T> for F
where
    F: Fn(&Tape<'_, T>, &[VarId], &mut [VarId]),
{
    fn record(&self, tape: &Tape<'_, T>, inputs: &[VarId], outputs: &mut [VarId]) -> Result<()> {
        self(tape, inputs, outputs);
        Ok(())
    }
}

/// Returns `f` unchanged; lets the compiler infer a closure's argument types as a
/// [`Segment`]: `tape.checkpoint(segment_fn(move |tape, inputs, outputs| ...), ...)`.
pub fn segment_fn<T, F>(f: F) -> F
where
    T: Float,
    F: Fn(&Tape<'_, T>, &[VarId], &mut [VarId]),
{
    f
}

impl<'m, T: Float> Tape<'m, T> {
    /// Records `block` on `inputs` as a checkpointed segment: only its outputs are kept,
    /// and its insides are recorded again when a sweep needs them. Writes one handle per
    /// output into `outputs` (whose length says how many the block makes). See the
    /// [module documentation](crate::checkpoint::segment) for memory, exactness and
    /// handles.
    ///
    /// The block is moved into the arena and never dropped, hence `Copy + 'static`: a
    /// closure capturing parameter handles and constants by value. It is `Send` because
    /// the tape is: a tape moved to another thread runs its blocks there. A C callback
    /// with its `void *user_data` fits in a two-pointer struct whose `Segment::record`
    /// calls it; the caller then keeps the user data alive as long as the tape may sweep
    /// the segment.
    ///
    /// The block runs as a callback on the tape: it holds only `&Tape`, so it cannot
    /// reset the tape or release its devices, and a sweep, optimizer step, parameter or
    /// device change it starts on the tape fails with [`Error::Reentrant`].
    ///
    /// Fails (setting the tape's error, and writing [`VarId::INVALID`] to every output)
    /// with the tape's pending error, a handle error for an input, an error from the
    /// block, [`Error::InvalidArgument`] when the block leaves an output unset,
    /// [`Error::Reentrant`] when it started a sweep, or [`Error::OutOfMemory`] when the
    /// segment and the reserve its backward needs do not fit.
    ///
    /// A block cannot reset its tape:
    ///
    /// ```compile_fail
    /// use autodiff_core::checkpoint::segment_fn;
    /// use autodiff_core::{Tape, VarId};
    /// use core::mem::MaybeUninit;
    /// let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
    /// let tape = Tape::<f64>::new(&mut mem).unwrap();
    /// let x = tape.input_id(1.0);
    /// let mut out = [VarId::INVALID];
    /// let block = segment_fn(|t: &Tape<'_, f64>, i: &[VarId], o: &mut [VarId]| {
    ///     t.reset();
    ///     o[0] = i[0];
    /// });
    /// let _ = tape.checkpoint(block, &[x], &mut out);
    /// ```
    ///
    /// nor keep state that another thread could reach once the tape moves there:
    ///
    /// ```compile_fail
    /// use autodiff_core::checkpoint::segment_fn;
    /// use autodiff_core::{Tape, VarId};
    /// use core::cell::Cell;
    /// use core::mem::MaybeUninit;
    /// let calls: &'static Cell<u32> = Box::leak(Box::new(Cell::new(0)));
    /// let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
    /// let tape = Tape::<f64>::new(&mut mem).unwrap();
    /// let x = tape.input_id(1.0);
    /// let mut out = [VarId::INVALID];
    /// let block = segment_fn(move |_: &Tape<'_, f64>, i: &[VarId], o: &mut [VarId]| {
    ///     calls.set(calls.get() + 1);
    ///     o[0] = i[0];
    /// });
    /// let _ = tape.checkpoint(block, &[x], &mut out);
    /// ```
    pub fn checkpoint<B>(&self, block: B, inputs: &[VarId], outputs: &mut [VarId]) -> Result<()>
    where
        B: Segment<T> + Copy + Send + 'static,
    {
        outputs.fill(VarId::INVALID);
        let result = record_segment(self, block, inputs, outputs);
        if let Err(error) = result {
            self.fail(error);
            outputs.fill(VarId::INVALID);
            return self.status();
        }
        Ok(())
    }
}

/// How the segment record calls its block, whatever the block's type.
type CallFn<T> = for<'a, 'b, 'c, 'd> unsafe fn(
    *const u8,
    &'a Tape<'b, T>,
    &'c [VarId],
    &'d mut [VarId],
) -> Result<()>;

/// # Safety
/// `block` must point at a live `B`.
unsafe fn call_block<T: Float, B: Segment<T>>(
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
struct Header<T: Float>(ExtensionHeader<T>);

/// The node of a segment record, at the start of the segment's region of the arena.
/// Offsets are from the node's address.
#[derive(Clone, Copy)]
#[repr(C)]
struct SegmentNode<T: Float> {
    header: Header<T>,
    /// What the scalar output records point at.
    output_header: Header<T>,
    call: CallFn<T>,
    /// The block (a `B`).
    block_offset: usize,
    /// `n_in` input record indices, then the versions of those that are tensors.
    inputs_offset: usize,
    /// `n_params` pairs (parameter, version) of the parameter uses inside the block.
    params_offset: usize,
    /// The scratch reserve this segment's backward needs.
    need: usize,
    n_in: u32,
    n_out: u32,
    n_params: u32,
    /// Record index of the first output record; the others follow it.
    first_output: u32,
}

/// What a block's output was when the segment recorded it.
#[derive(Clone, Copy)]
#[repr(C)]
struct OutputDesc {
    shape: Shape,
    len: usize,
    tensor: bool,
}

/// Bytes between output descriptors in a segment's region.
const DESC_STRIDE: usize = (size_of::<OutputDesc>() + 7) & !7;

/// The byte layout of a segment's region.
struct Layout {
    block: usize,
    inputs: usize,
    params: usize,
    descs: usize,
    outputs: usize,
    bytes: usize,
}

fn round8(n: usize) -> Option<usize> {
    n.checked_add(7).map(|n| n & !7)
}

/// Bytes of an output's data in the region: a value (or, for a tensor of rank 1 or
/// more, its value and gradient buffers).
fn output_bytes<T: Float>(desc: &OutputDesc) -> Option<usize> {
    if desc.tensor && desc.shape.rank() > 0 {
        round8(desc.len.checked_mul(size_of::<T>())?)?.checked_mul(2)
    } else {
        Some(8)
    }
}

impl Layout {
    fn new<T: Float, B>(
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

/// The sweep functions of segment records and of their scalar output records, for
/// the per-type statics of [`Float`].
pub(crate) const fn extensions<T: Float>() -> [Extension<T>; 2] {
    [
        Extension {
            kind: ExtensionKind::Segment,
            backward: backward::<T>,
            tangent: tangent::<T>,
            replay: replay::<T>,
            clear: nothing::<T>,
            check: check::<T>,
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
        },
    ]
}

fn nothing<T: Float>(_: &Tape<'_, T>, _: u32) {}

fn nothing_ok<T: Float>(_: &Tape<'_, T>, _: u32) -> Result<()> {
    Ok(())
}

/// The node of record `index`, if it is a segment record.
fn segment_node<T: Float>(tape: &Tape<'_, T>, index: u32) -> Option<*mut SegmentNode<T>> {
    (tape.is_extension_record(index)
        && core::ptr::eq(tape.extension_of(index), &T::segment_extensions()[0]))
    .then(|| tape.extension_node(index).cast())
}

/// Calls `f(parameter, version)` for every parameter use among records `first..end`,
/// those inside nested segments included.
fn for_each_param_use<T: Float>(
    tape: &Tape<'_, T>,
    first: usize,
    end: usize,
    mut f: impl FnMut(u32, u32),
) {
    for i in first as u32..end as u32 {
        if let Some((param, version)) = tape.param_use(i) {
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

/// The forward of [`Tape::checkpoint`]; errors are set on the tape by the caller.
fn record_segment<T: Float, B: Segment<T> + Copy + Send + 'static>(
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
        u32::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_RECORDS)
            .ok_or(Error::InvalidArgument(
                "checkpoint: more inputs or outputs than a tape holds records",
            ))
    };
    let (n_in, n_out) = (count(inputs.len())?, count(outputs.len())?);

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
                .write(tape.tensor_version(x.index).unwrap_or(0));
            indices.add(2 * inputs.len() + k).write(x.kind);
        }
    }

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
            tape.push_segment_output(desc.shape, desc.len, data, grad, value)?
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
fn stage<T: Float, B: Segment<T>>(
    tape: &Tape<'_, T>,
    block: &B,
    inputs: &[VarId],
    outputs: &mut [VarId],
    mark: RecordMark,
) -> Result<(*const u64, Layout, u32, usize)> {
    tape.align_high()?;
    {
        let _block = tape.enter_callback();
        block.record(tape, inputs, outputs)?;
    }
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
    let on_device = |y: &VarId| tape.has_device_records(y.index as usize, y.index as usize + 1);
    if tape.has_device_records(mark.len(), tape.len()) || outputs.iter().any(on_device) {
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
    let desc_of = |y: VarId| match tape.tensor_view(y.index) {
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
            match tape.tensor_view(y.index) {
                Some(view) => core::ptr::copy_nonoverlapping(view.value, data, view.len),
                None => data.write(tape.value(tape.scalar_handle(y))?),
            }
            offset += output_bytes::<T>(&desc_of(y)).ok_or(Error::SizeOverflow)?;
        }
    }
    Ok((staged, layout, n_params, need))
}

/// What running a block again is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Backward,
    Tangent,
    Replay,
}

fn backward<T: Float>(tape: &Tape<'_, T>, i: u32) {
    if let Err(error) = rerun(tape, i, Mode::Backward) {
        tape.fail(error);
    }
}

fn tangent<T: Float>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    rerun(tape, i, Mode::Tangent)
}

fn replay<T: Float>(tape: &Tape<'_, T>, i: u32) {
    if let Err(error) = rerun(tape, i, Mode::Replay) {
        tape.fail(error);
    }
}

/// Fails when a tensor input, or a parameter the block uses, was written in place since
/// the segment recorded (or replayed) it.
fn check<T: Float>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
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
        if let Some(current) = tape.tensor_version(index) {
            if let Some(error) = modified(recorded, current) {
                return Err(error);
            }
        }
    }
    for k in 0..node.n_params as usize {
        // SAFETY: the region holds `n_params` pairs.
        let [param, recorded] = unsafe { *base.add(node.params_offset).cast::<[u32; 2]>().add(k) };
        if let Some(error) = modified(recorded, tape.param_version(param)) {
            return Err(error);
        }
    }
    Ok(())
}

/// Runs segment record `i`'s block again at the end of the tape, for `mode`, and drops
/// what it recorded.
fn rerun<T: Float>(tape: &Tape<'_, T>, i: u32, mode: Mode) -> Result<()> {
    let node_ptr =
        segment_node(tape, i).ok_or(Error::InvalidArgument("checkpoint: not a segment record"))?;
    // SAFETY: a segment record's node and region live as long as the record.
    let node = unsafe { *node_ptr.cast_const() };
    let base = node_ptr.cast::<u8>();
    if mode == Mode::Tangent {
        // The output records' tangent buffers must outlive the re-recording.
        for j in 0..node.n_out {
            let o = node.first_output + j;
            if tape.tensor_view(o).is_some() {
                tape.tensor_tangent_buffer(o)?;
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
fn rerun_in_block<T: Float>(
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
fn rerun_block<T: Float>(
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
        match (tape.tensor_view(o), tape.tensor_view(r.index)) {
            (Some(ov), Some(rv)) if ov.shape == rv.shape && ov.len == rv.len => {}
            (None, None) => {}
            _ => return Err(mismatch),
        }
    }
    match mode {
        Mode::Backward => {
            for (j, &r) in outputs.iter().enumerate() {
                let o = node.first_output + j as u32;
                match (tape.tensor_view(o), tape.tensor_view(r.index)) {
                    (Some(ov), Some(rv)) => {
                        tape.prepare_grad(r.index);
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
                tape.sweep_backward_range(mark.len(), end - 1);
            }
        }
        Mode::Tangent => {
            tape.sweep_tangents_from(mark.len())?;
            for (j, &r) in outputs.iter().enumerate() {
                let o = node.first_output + j as u32;
                match (tape.tensor_view(o), tape.tensor_view(r.index)) {
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
                match (tape.tensor_view(o), tape.tensor_view(r.index)) {
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
                    if let Some(version) = tape.tensor_version(*indices.add(k)) {
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

fn slots<T: Float>(tape: &Tape<'_, T>, a: u32, b: u32) -> Result<(Slots<T>, Slots<T>)> {
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
