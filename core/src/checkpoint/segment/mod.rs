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
//! arena cannot hold that, `checkpoint` fails with [`Error::OutOfMemory`](crate::Error::OutOfMemory) (sticky, as for
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
//! [`Error::ModifiedInPlace`](crate::Error::ModifiedInPlace), as the unmarked recording would report them.
//!
//! # Tangents and replay
//!
//! [`Tape::jvp`] runs the block again at the end of the tape and sweeps tangents over
//! it; the tangents of its inputs must be seeded on the inputs (scalar seeds, or
//! [`Tape::seed_tensor_tangent`] on input tensors), not on parameters used inside the
//! block. This needs the block's bytes again plus its tensors' tangent buffers, which are
//! not reserved: when they do not fit, `jvp` reports [`Error::OutOfMemory`](crate::Error::OutOfMemory).
//! [`Tape::replay`] runs the block again at the new input values and copies the new
//! outputs into the output records.
//!
//! Segments are for `f32` and `f64` tapes ([`Float`](crate::Float)); tapes of dual numbers cannot
//! record them.

use crate::error::Result;
use crate::tape::{Tape, VarId};

mod element;
mod layout;
mod record;
mod rerun;

pub use element::SegmentElement;
pub(crate) use element::TensorView;
pub(crate) use rerun::extensions;

/// A block of a recording to checkpoint: records its outputs from its inputs.
pub trait Segment<T: SegmentElement> {
    /// Records the block on `tape` from `inputs`, writing the output variables (scalars,
    /// or tensors as `VarId::from(tensor_id)`) into `outputs` (preset to
    /// [`VarId::INVALID`]). It runs once when recorded and again in every sweep that
    /// reaches the segment, and must record the same ops from the same values each time.
    ///
    /// Errors go either way: return one, or let the tape's sticky error carry it.
    fn record(&self, tape: &Tape<'_, T>, inputs: &[VarId], outputs: &mut [VarId]) -> Result<()>;
}

impl<T: SegmentElement, F> Segment<T> for F
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
    T: SegmentElement,
    F: Fn(&Tape<'_, T>, &[VarId], &mut [VarId]),
{
    f
}

impl<'m, T: SegmentElement> Tape<'m, T> {
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
    /// device change it starts on the tape fails with [`Error::Reentrant`](crate::Error::Reentrant).
    ///
    /// Fails (setting the tape's error, and writing [`VarId::INVALID`] to every output)
    /// with the tape's pending error, a handle error for an input, an error from the
    /// block, [`Error::InvalidArgument`](crate::Error::InvalidArgument) when the block leaves an output unset,
    /// [`Error::Reentrant`](crate::Error::Reentrant) when it started a sweep, or [`Error::OutOfMemory`](crate::Error::OutOfMemory) when the
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
        let result = record::record_segment(self, block, inputs, outputs);
        if let Err(error) = result {
            self.fail(error);
            outputs.fill(VarId::INVALID);
            return self.status();
        }
        Ok(())
    }
}
