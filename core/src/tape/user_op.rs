//! User-defined ops: code the tape does not differentiate itself (a LAPACK solve, a
//! legacy routine, a closed-form adjoint) put on the tape with its own derivative.
//!
//! A [`UserOp`] maps `n` scalar inputs to `m` scalar outputs. Its `forward` computes the
//! outputs (when recorded, and again at every [`Tape::replay`]); its `vjp` gives the
//! inputs' adjoints from the outputs' (backward); its optional `jvp` gives the outputs'
//! tangents from the inputs' (forward mode: without it, [`Tape::jvp`] fails with
//! [`Error::NoJvp`]). `forward` may save state for the derivatives (a factorisation)
//! in a buffer the op asked for, which lives in the arena beside the op.
//!
//! # Records and memory
//!
//! The op takes one *call record* followed by one record per output, like a checkpointed
//! segment. The call record points at a node at the arena's high end: the op itself
//! (moved there, never dropped, hence `Copy + 'static`), the input indices, the saved
//! state and staging buffers for the callbacks' arguments (records interleave values and
//! adjoints, so the arguments are gathered into contiguous slices). A backward sweep
//! reaches the call record after every output record, when the outputs' adjoints are
//! complete, and calls `vjp` once for all of them.
//!
//! # Callbacks
//!
//! The callbacks see numbers only, never the tape, and run as callbacks on it (see
//! `reentry.rs`): a C callback that reaches the tape through its user data cannot reset
//! it or start a sweep on it. A callback's error becomes the tape's sticky error (except
//! a missing `jvp`, which only fails that `jvp`), and `reset` makes the tape usable again.

use super::extension::{Extension, ExtensionHeader, ExtensionKind, NODE_ALIGN};
use super::{Tape, VarId};
use crate::error::{Error, Result};
use crate::real::Real;
use core::mem::{align_of, size_of};

/// The point a derivative callback is asked at: the inputs, the outputs `forward`
/// computed from them, and the state it saved.
#[derive(Clone, Copy, Debug)]
pub struct UserOpPoint<'a, T> {
    pub inputs: &'a [T],
    pub outputs: &'a [T],
    pub state: &'a [T],
}

/// An op with `n` inputs and `m` outputs whose values and derivatives the caller
/// computes. Every slice has the length the op was recorded with.
pub trait UserOp<T: Real> {
    /// Writes `outputs` from `inputs`, and whatever the derivatives will need into
    /// `state` (zeroed when the op is recorded; kept between calls).
    fn forward(&self, inputs: &[T], outputs: &mut [T], state: &mut [T]) -> Result<()>;

    /// Writes `input_adjoints[k] = Σⱼ output_adjoints[j] · ∂outputⱼ/∂inputₖ` (the buffer
    /// arrives zeroed).
    fn vjp(
        &self,
        at: UserOpPoint<'_, T>,
        output_adjoints: &[T],
        input_adjoints: &mut [T],
    ) -> Result<()>;

    /// Writes `output_tangents[j] = Σₖ ∂outputⱼ/∂inputₖ · input_tangents[k]`. Optional:
    /// by default forward mode over the op fails with [`Error::NoJvp`].
    fn jvp(
        &self,
        at: UserOpPoint<'_, T>,
        input_tangents: &[T],
        output_tangents: &mut [T],
    ) -> Result<()> {
        let _ = (at, input_tangents, output_tangents);
        Err(Error::NoJvp)
    }
}

/// Which callback to run.
#[derive(Clone, Copy)]
enum Callback {
    Forward,
    Vjp,
    Jvp,
}

/// How the node calls its op, whatever the op's type: `op` points at it, `buffers` at
/// the node's staging buffers.
type CallFn<T> = unsafe fn(*const u8, Callback, &Buffers<T>) -> Result<()>;

/// # Safety
/// `op` must point at a live `U`, and the buffers' slices must not overlap.
unsafe fn call_op<T: Real, U: UserOp<T>>(
    op: *const u8,
    callback: Callback,
    buffers: &Buffers<T>,
) -> Result<()> {
    // SAFETY: the caller's contract.
    let op = unsafe { &*op.cast::<U>() };
    // SAFETY: the buffers are disjoint parts of the node, only used by this call.
    unsafe {
        match callback {
            Callback::Forward => op.forward(
                buffers.get(Part::Inputs),
                buffers.get(Part::Outputs),
                buffers.get(Part::State),
            ),
            Callback::Vjp => op.vjp(
                buffers.point(),
                buffers.get(Part::OutputSeeds),
                buffers.get(Part::InputSeeds),
            ),
            Callback::Jvp => op.jvp(
                buffers.point(),
                buffers.get(Part::InputSeeds),
                buffers.get(Part::OutputSeeds),
            ),
        }
    }
}

/// The node of a call record, at the start of the op's block of the arena.
#[repr(C, align(8))]
struct Node<T: Real> {
    header: ExtensionHeader<T>,
    /// What the output records point at.
    output_header: ExtensionHeader<T>,
    call: CallFn<T>,
    n_in: u32,
    n_out: u32,
    state_len: u32,
    /// Record index of the first output record; the others follow it.
    first_output: u32,
    /// Byte offsets from the node: the op, the input indices, the buffers.
    op_offset: usize,
    indices_offset: usize,
    buffers_offset: usize,
}

/// The staging buffers in a node: inputs, outputs, output seeds (adjoints or tangents),
/// input seeds, then the saved state; `T`s, one after another.
struct Buffers<T> {
    base: *mut T,
    n_in: usize,
    n_out: usize,
    state_len: usize,
}

/// One of a node's staging buffers.
#[derive(Clone, Copy)]
enum Part {
    Inputs,
    Outputs,
    OutputSeeds,
    InputSeeds,
    State,
}

impl<T: Real> Buffers<T> {
    /// # Safety
    /// The slice must not be in use elsewhere (see `call_op`).
    unsafe fn get<'a>(&self, part: Part) -> &'a mut [T] {
        let (n_in, n_out) = (self.n_in, self.n_out);
        let (start, len) = match part {
            Part::Inputs => (0, n_in),
            Part::Outputs => (n_in, n_out),
            Part::OutputSeeds => (n_in + n_out, n_out),
            Part::InputSeeds => (n_in + 2 * n_out, n_in),
            Part::State => (2 * (n_in + n_out), self.state_len),
        };
        // SAFETY: the node holds `2(n_in + n_out) + state_len` values from `base`.
        unsafe { core::slice::from_raw_parts_mut(self.base.add(start), len) }
    }

    unsafe fn point<'a>(&self) -> UserOpPoint<'a, T> {
        // SAFETY: forwarded.
        unsafe {
            UserOpPoint {
                inputs: self.get(Part::Inputs),
                outputs: self.get(Part::Outputs),
                state: self.get(Part::State),
            }
        }
    }
}

/// A record's slot the sweeps copy from or to.
#[derive(Clone, Copy)]
enum Slot {
    Value,
    /// The adjoint, or in a one-lane tangent sweep the tangent.
    Adjoint,
}

/// The sweep functions of call records and of output records, one table per `T`.
struct Tables<T>(core::marker::PhantomData<T>);

impl<T: Real> Tables<T> {
    const CALL: Extension<T> = Extension {
        kind: ExtensionKind::UserOp,
        backward: backward::<T>,
        tangent: tangent::<T>,
        replay: replay::<T>,
        clear: nothing::<T>,
        check: nothing_ok::<T>,
        relocated: crate::tape::nothing_to_relocate::<T>,
    };
    /// Output records: the call record, earlier in forward sweeps and later in backward
    /// ones, does their work.
    const OUTPUT: Extension<T> = Extension {
        kind: ExtensionKind::UserOp,
        backward: nothing::<T>,
        tangent: nothing_ok::<T>,
        replay: nothing::<T>,
        clear: nothing::<T>,
        check: nothing_ok::<T>,
        relocated: crate::tape::nothing_to_relocate::<T>,
    };
}

fn nothing<T: Real>(_: &Tape<'_, T>, _: u32) {}

fn nothing_ok<T: Real>(_: &Tape<'_, T>, _: u32) -> Result<()> {
    Ok(())
}

/// Bytes from `offset` rounded up to 8.
fn round8(n: usize) -> Option<usize> {
    n.checked_add(7).map(|n| n & !7)
}

impl<'m, T: Real> Tape<'m, T> {
    /// Records `op` on `inputs` (scalar variables): runs its `forward`, and writes one
    /// handle per output into `outputs` (whose length says how many the op makes).
    /// `state_len` values of saved state are kept for it in the arena. See
    /// [`UserOp`] and the module documentation.
    ///
    /// The op is moved into the arena and never dropped, hence `Copy + 'static`; `Send`
    /// because the tape is. Fails (setting the tape's error and writing
    /// [`VarId::INVALID`] to every output) with the tape's pending error, a handle
    /// error for an input, [`Error::InvalidArgument`] for no outputs, the error
    /// `forward` returned, or [`Error::OutOfMemory`].
    pub fn user_op<U>(
        &self,
        op: U,
        inputs: &[VarId],
        outputs: &mut [VarId],
        state_len: usize,
    ) -> Result<()>
    where
        U: UserOp<T> + Copy + Send + 'static,
    {
        outputs.fill(VarId::INVALID);
        let result =
            self.record_or_release(|| record::<T, U>(self, op, inputs, outputs, state_len));
        if result.is_err() {
            outputs.fill(VarId::INVALID);
        }
        result
    }

    /// Runs `record`, which records an op whose node it allocates before pushing any
    /// record (a user op, scalar or tensor). When it fails, the node's memory is given
    /// back if no record points at it, the tape keeps the error, and the tape's status
    /// is returned.
    pub(crate) fn record_or_release(&self, record: impl FnOnce() -> Result<()>) -> Result<()> {
        let (mark, len) = (self.high_mark(), self.len());
        if let Err(error) = record() {
            if self.len() == len {
                // SAFETY: no record points at what was allocated since `mark`, and
                // `record` has returned: nothing uses it after this.
                unsafe { self.release_to(mark) };
            }
            self.fail(error);
            return self.status();
        }
        Ok(())
    }
}

/// The forward of [`Tape::user_op`]; the caller sets errors on the tape.
fn record<T: Real, U: UserOp<T> + Copy + Send + 'static>(
    tape: &Tape<'_, T>,
    op: U,
    inputs: &[VarId],
    outputs: &mut [VarId],
    state_len: usize,
) -> Result<()> {
    tape.status()?;
    for &x in inputs {
        tape.check_handle(x)?;
    }
    if outputs.is_empty() {
        return Err(Error::InvalidArgument("user op: no outputs"));
    }
    if align_of::<U>() > NODE_ALIGN || align_of::<T>() > NODE_ALIGN {
        return Err(Error::InvalidArgument(
            "user op: the op's alignment is above 8 bytes",
        ));
    }
    let count = |n: usize| {
        u32::try_from(n).map_err(|_| {
            Error::InvalidArgument(
                "user op: more inputs, outputs or state than a tape holds records",
            )
        })
    };
    let (n_in, n_out, n_state) = (
        count(inputs.len())?,
        count(outputs.len())?,
        count(state_len)?,
    );
    let values = (inputs.len() + outputs.len())
        .checked_mul(2)
        .and_then(|n| n.checked_add(state_len))
        .and_then(|n| n.checked_mul(size_of::<T>()))
        .ok_or(Error::SizeOverflow)?;
    let op_offset = round8(size_of::<Node<T>>()).ok_or(Error::SizeOverflow)?;
    let indices_offset = round8(size_of::<U>())
        .and_then(|n| n.checked_add(op_offset))
        .ok_or(Error::SizeOverflow)?;
    let buffers_offset = inputs
        .len()
        .checked_mul(4)
        .and_then(round8)
        .and_then(|n| n.checked_add(indices_offset))
        .ok_or(Error::SizeOverflow)?;
    let bytes = buffers_offset
        .checked_add(values)
        .and_then(round8)
        .ok_or(Error::SizeOverflow)?;

    let words = tape.alloc::<u64>(bytes / 8, 0)?;
    let node = words.as_ptr().cast::<Node<T>>();
    let base = node.cast::<u8>();
    // SAFETY: the block holds `bytes`, 8-aligned, zeroed, and only this function refers
    // to it yet; `U` and `T` fit at their offsets (alignment at most 8, checked above).
    unsafe {
        node.write(Node {
            header: ExtensionHeader {
                extension: &Tables::<T>::CALL,
            },
            output_header: ExtensionHeader {
                extension: &Tables::<T>::OUTPUT,
            },
            call: call_op::<T, U>,
            n_in,
            n_out,
            state_len: n_state,
            first_output: 0,
            op_offset,
            indices_offset,
            buffers_offset,
        });
        base.add(op_offset).cast::<U>().write(op);
        let indices = base.add(indices_offset).cast::<u32>();
        for (k, &x) in inputs.iter().enumerate() {
            indices.add(k).write(x.index);
        }
        // Zero bits are not a `T` for every `Real`: write real zeros.
        let buffers = buffers_of(node);
        let len = 2 * (inputs.len() + outputs.len()) + state_len;
        for k in 0..len {
            buffers.base.add(k).write(T::zero());
        }
    }
    // SAFETY: the node was just written.
    unsafe { run_forward(tape, node) }?;

    // Extension records do not grow the tape: make room for the call and its outputs.
    tape.room_for_records(1 + outputs.len())?;
    let call = tape.push_extension(node.cast(), T::zero());
    tape.status()?;
    // SAFETY: as above.
    unsafe { (*node).first_output = call.index + 1 };
    for (j, slot) in outputs.iter_mut().enumerate() {
        // SAFETY: the node and its buffers, written above.
        let value = unsafe { buffers_of(node).get(Part::Outputs)[j] };
        // SAFETY: a field of the node.
        let header = unsafe { core::ptr::addr_of!((*node).output_header) };
        *slot = tape.push_extension(header.cast(), value);
        tape.status()?;
    }
    Ok(())
}

/// # Safety
/// `node` must point at a written node.
unsafe fn buffers_of<T: Real>(node: *mut Node<T>) -> Buffers<T> {
    // SAFETY: the caller's contract; the buffers follow the node at its offset.
    unsafe {
        Buffers {
            base: node.cast::<u8>().add((*node).buffers_offset).cast::<T>(),
            n_in: (*node).n_in as usize,
            n_out: (*node).n_out as usize,
            state_len: (*node).state_len as usize,
        }
    }
}

/// Runs one callback as a callback on the tape.
///
/// # Safety
/// `node` must point at a written node.
unsafe fn run<T: Real>(tape: &Tape<'_, T>, node: *mut Node<T>, callback: Callback) -> Result<()> {
    // SAFETY: the caller's contract.
    let (call, op) = unsafe { ((*node).call, node.cast::<u8>().add((*node).op_offset)) };
    let _callback = tape.enter_callback();
    // SAFETY: `op` is the node's `U`, the buffers are the node's own.
    unsafe { call(op, callback, &buffers_of(node)) }
}

/// Gathers the inputs' values and runs `forward`.
///
/// # Safety
/// `node` must point at a written node whose inputs are live records.
unsafe fn run_forward<T: Real>(tape: &Tape<'_, T>, node: *mut Node<T>) -> Result<()> {
    // SAFETY: the caller's contract.
    unsafe {
        gather_inputs(tape, node, Slot::Value, Part::Inputs);
        run(tape, node, Callback::Forward)
    }
}

/// The record slot `slot` of record `index`, or zero past the end.
fn read_slot<T: Real>(tape: &Tape<'_, T>, index: u32, slot: Slot) -> T {
    // SAFETY: `record_slots` gives pointers into a live record.
    tape.record_slots(index)
        .map_or(T::zero(), |(value, adjoint)| unsafe {
            match slot {
                Slot::Value => *value,
                Slot::Adjoint => *adjoint,
            }
        })
}

/// Fills buffer `part` from slot `slot` of the input records.
///
/// # Safety
/// `node` must point at a written node.
unsafe fn gather_inputs<T: Real>(tape: &Tape<'_, T>, node: *mut Node<T>, slot: Slot, part: Part) {
    // SAFETY: the caller's contract.
    unsafe {
        let indices = node.cast::<u8>().add((*node).indices_offset).cast::<u32>();
        for (k, value) in buffers_of(node).get(part).iter_mut().enumerate() {
            *value = read_slot(tape, *indices.add(k), slot);
        }
    }
}

/// Fills buffer `part` from slot `slot` of the output records.
///
/// # Safety
/// `node` must point at a written node.
unsafe fn gather_outputs<T: Real>(tape: &Tape<'_, T>, node: *mut Node<T>, slot: Slot, part: Part) {
    // SAFETY: the caller's contract.
    unsafe {
        let first = (*node).first_output;
        for (j, value) in buffers_of(node).get(part).iter_mut().enumerate() {
            *value = read_slot(tape, first + j as u32, slot);
        }
    }
}

/// Copies buffer `part` into slot `slot` of the output records.
///
/// # Safety
/// `node` must point at a written node.
unsafe fn scatter_outputs<T: Real>(tape: &Tape<'_, T>, node: *mut Node<T>, part: Part, slot: Slot) {
    // SAFETY: the caller's contract.
    unsafe {
        let first = (*node).first_output;
        for (j, &value) in buffers_of(node).get(part).iter().enumerate() {
            if let Some((value_slot, adjoint_slot)) = tape.record_slots(first + j as u32) {
                match slot {
                    Slot::Value => *value_slot = value,
                    Slot::Adjoint => *adjoint_slot = value,
                }
            }
        }
    }
}

/// The node of call record `i`.
fn node_of<T: Real>(tape: &Tape<'_, T>, i: u32) -> *mut Node<T> {
    tape.extension_node(i).cast()
}

fn replay<T: Real>(tape: &Tape<'_, T>, i: u32) {
    let node = node_of(tape, i);
    // SAFETY: record `i` is a call record: its node, its inputs and its output records
    // live as long as it.
    let result = unsafe { run_forward(tape, node) };
    match result {
        // SAFETY: as above.
        Ok(()) => unsafe { scatter_outputs(tape, node, Part::Outputs, Slot::Value) },
        Err(error) => {
            tape.fail(error);
        }
    }
}

fn backward<T: Real>(tape: &Tape<'_, T>, i: u32) {
    let node = node_of(tape, i);
    // SAFETY: record `i` is a call record: its node, its inputs and its output records
    // live as long as it.
    unsafe {
        gather_outputs(tape, node, Slot::Adjoint, Part::OutputSeeds);
        let buffers = buffers_of(node);
        // No output reaches the output of the sweep: nothing to pass on (and no `0 · ∞`
        // from an op whose derivative is infinite here).
        if buffers
            .get(Part::OutputSeeds)
            .iter()
            .all(|seed| seed.is_zero())
        {
            return;
        }
        gather_inputs(tape, node, Slot::Value, Part::Inputs);
        gather_outputs(tape, node, Slot::Value, Part::Outputs);
        buffers.get(Part::InputSeeds).fill(T::zero());
        if let Err(error) = run(tape, node, Callback::Vjp) {
            tape.fail(error);
            return;
        }
        let indices = node.cast::<u8>().add((*node).indices_offset).cast::<u32>();
        for (k, &seed) in buffers.get(Part::InputSeeds).iter().enumerate() {
            if let Some((_, adjoint)) = tape.record_slots(*indices.add(k)) {
                *adjoint += seed;
            }
        }
    }
}

fn tangent<T: Real>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    let node = node_of(tape, i);
    // SAFETY: record `i` is a call record; in a one-lane tangent sweep the adjoint slots
    // of its inputs hold their tangents.
    unsafe {
        gather_inputs(tape, node, Slot::Value, Part::Inputs);
        gather_inputs(tape, node, Slot::Adjoint, Part::InputSeeds);
        gather_outputs(tape, node, Slot::Value, Part::Outputs);
        buffers_of(node).get(Part::OutputSeeds).fill(T::zero());
        run(tape, node, Callback::Jvp)?;
        scatter_outputs(tape, node, Part::OutputSeeds, Slot::Adjoint);
    }
    Ok(())
}
