//! Recording a tensor user op (see `user_op.rs`): the checks, the node's layout in the
//! arena, the first `forward`, then the call record and the output records.

use super::float::Float;
use super::node::{Kind, Node};
use super::user_op::{TensorUserOp, UserTensor};
use super::user_op_node::{
    call_op, describe_inputs, input_version, inputs_of, run, table_of, CallNode, Callback, Part,
};
use super::user_op_sweeps::Tables;
use super::TensorId;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::{ExtensionHeader, Tape};
use core::mem::{align_of, size_of};

/// Bytes rounded up to 8.
fn round8(n: usize) -> Option<usize> {
    n.checked_add(7).map(|n| n & !7)
}

impl<'m, T: Float> Tape<'m, T> {
    /// Records `op` on the tensors `inputs`: runs its `forward` into new tensors of
    /// shapes `output_shapes`, and writes their handles into `outputs` (as many as
    /// shapes). `state_len` elements of saved state are kept for it in the arena. See
    /// [`TensorUserOp`] and the module documentation.
    ///
    /// The op is moved into the arena and never dropped, hence `Copy + 'static`; `Send`
    /// because the tape is. Fails (setting the tape's error and writing
    /// [`TensorId::INVALID`] to every output) with the tape's pending error, a handle
    /// error for an input, [`Error::InvalidArgument`] for no outputs,
    /// [`Error::LengthMismatch`] for a count of shapes other than of outputs,
    /// [`Error::UnsupportedOnDevice`] for an input on a device, the error `forward`
    /// returned, [`Error::SizeOverflow`] or [`Error::OutOfMemory`]. Nothing is recorded
    /// then.
    pub fn tensor_user_op<U>(
        &self,
        op: U,
        inputs: &[TensorId],
        output_shapes: &[Shape],
        outputs: &mut [TensorId],
        state_len: usize,
    ) -> Result<()>
    where
        U: TensorUserOp<T> + Copy + Send + 'static,
    {
        if output_shapes.len() != outputs.len() {
            outputs.fill(TensorId::INVALID);
            self.fail(Error::LengthMismatch {
                what: "user op: output shapes",
                got: output_shapes.len(),
                against: "the number of outputs",
                expected: outputs.len(),
            });
            return self.status();
        }
        self.tensor_user_op_shaped(op, inputs, |j| Ok(output_shapes[j]), outputs, state_len)
    }

    /// [`tensor_user_op`](Tape::tensor_user_op) with output `j`'s shape given by
    /// `shape_of(j)`, for hosts that hold shapes in another form (the C API's arrays of
    /// dimensions); an error it returns fails the op.
    pub fn tensor_user_op_shaped<U>(
        &self,
        op: U,
        inputs: &[TensorId],
        shape_of: impl Fn(usize) -> Result<Shape>,
        outputs: &mut [TensorId],
        state_len: usize,
    ) -> Result<()>
    where
        U: TensorUserOp<T> + Copy + Send + 'static,
    {
        outputs.fill(TensorId::INVALID);
        let result = self
            .record_or_release(|| record::<T, U>(self, op, inputs, &shape_of, outputs, state_len));
        if result.is_err() {
            outputs.fill(TensorId::INVALID);
        }
        result
    }
}

/// Byte offsets of a node's parts, and its size.
struct Layout {
    op: usize,
    inputs: usize,
    table: usize,
    state: usize,
    outputs: usize,
    bytes: usize,
}

impl Layout {
    fn new<T: Float, U>(n_in: usize, n_out: usize, state_len: usize, data: usize) -> Option<Self> {
        let op = round8(size_of::<CallNode<T>>())?;
        let inputs = op.checked_add(round8(size_of::<U>())?)?;
        let table = inputs.checked_add(round8(n_in.checked_mul(2 * size_of::<u32>())?)?)?;
        let descriptors = n_in.checked_add(n_out)?.checked_mul(2)?;
        let state = table.checked_add(descriptors.checked_mul(size_of::<UserTensor<T>>())?)?;
        let outputs = state.checked_add(round8(state_len.checked_mul(size_of::<T>())?)?)?;
        // Each output's value and gradient, `data` elements of each in all.
        let bytes = outputs.checked_add(round8(data.checked_mul(2 * size_of::<T>())?)?)?;
        Some(Layout {
            op,
            inputs,
            table,
            state,
            outputs,
            bytes,
        })
    }
}

/// The forward of [`Tape::tensor_user_op`]; the caller sets errors on the tape.
fn record<T: Float, U: TensorUserOp<T> + Copy + Send + 'static>(
    tape: &Tape<'_, T>,
    op: U,
    inputs: &[TensorId],
    shape_of: &impl Fn(usize) -> Result<Shape>,
    outputs: &mut [TensorId],
    state_len: usize,
) -> Result<()> {
    tape.status()?;
    let mut seeds_len = 0usize;
    for &x in inputs {
        let node = tape.node(x)?;
        if node.on_device() {
            return Err(Error::UnsupportedOnDevice("user ops on device tensors"));
        }
        seeds_len = seeds_len.checked_add(node.len).ok_or(Error::SizeOverflow)?;
    }
    if outputs.is_empty() {
        return Err(Error::InvalidArgument("user op: no outputs"));
    }
    if align_of::<U>() > 8 {
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
    let mut data = 0usize;
    for j in 0..outputs.len() {
        let len = shape_of(j)?.checked_len().ok_or(Error::SizeOverflow)?;
        data = data.checked_add(len).ok_or(Error::SizeOverflow)?;
    }
    let layout = Layout::new::<T, U>(inputs.len(), outputs.len(), state_len, data)
        .ok_or(Error::SizeOverflow)?;
    let scratch = seeds_len
        .checked_mul(size_of::<T>())
        .ok_or(Error::SizeOverflow)?;

    let words = tape.alloc::<u64>(layout.bytes / 8, 0)?;
    tape.reserve_scratch(scratch)?;
    let node = words.as_ptr().cast::<CallNode<T>>();
    let base = node.cast::<u8>();
    // SAFETY: the block holds `layout.bytes`, 8-aligned, zeroed, and only this function
    // refers to it yet; every part fits at its offset (alignments at most 8).
    unsafe {
        node.write(CallNode {
            header: ExtensionHeader {
                extension: &Tables::<T>::CALL,
            },
            call: call_op::<T, U>,
            n_in,
            n_out,
            state_len: n_state,
            first_output: 0,
            seeds_len,
            op_offset: layout.op,
            inputs_offset: layout.inputs,
            table_offset: layout.table,
            state_offset: layout.state,
            outputs_offset: layout.outputs,
        });
        base.add(layout.op).cast::<U>().write(op);
        let (indices, versions) = inputs_of(node);
        for (k, &x) in inputs.iter().enumerate() {
            indices.add(k).write(x.index);
            versions.add(k).write(input_version(tape, x.index));
        }
        // Zero bits are not a `T` for every `Float` in principle: write real zeros.
        let state = base.add(layout.state).cast::<T>();
        for k in 0..state_len {
            state.add(k).write(T::zero());
        }
        let buffers = base.add(layout.outputs).cast::<T>();
        for k in 0..2 * data {
            buffers.add(k).write(T::zero());
        }
        let table = table_of(node);
        for desc in table
            .descriptors(Part::OutputSeeds)
            .iter_mut()
            .chain(table.descriptors(Part::InputSeeds).iter_mut())
        {
            *desc = UserTensor::new(core::ptr::null_mut(), 0, Shape::SCALAR);
        }
        let mut offset = 0;
        for (j, desc) in table.descriptors(Part::Outputs).iter_mut().enumerate() {
            let shape = shape_of(j)?;
            let len = shape.checked_len().unwrap_or(0);
            *desc = UserTensor::new(buffers.add(offset), len, shape);
            offset += 2 * len;
        }
        describe_inputs(tape, node)?;
        run(tape, node, Callback::Forward)?;
    }

    // Extension records do not grow the tape: make room for the call and its outputs.
    tape.room_for_records(1 + outputs.len())?;
    let call = tape.push_extension(node.cast(), T::zero());
    tape.status()?;
    // SAFETY: as above.
    unsafe { (*node).first_output = call.index + 1 };
    let mut offset = 0;
    for (j, slot) in outputs.iter_mut().enumerate() {
        let shape = shape_of(j)?;
        let len = shape.checked_len().unwrap_or(0);
        // SAFETY: the output's value buffer, then its gradient buffer, in the block.
        let (value, grad) = unsafe {
            let value = base.add(layout.outputs).cast::<T>().add(offset);
            (value, value.add(len))
        };
        offset += 2 * len;
        let leaf = Node::new(Kind::UserOpOutput, shape, len);
        let id = if shape.rank() == 0 {
            let (id, leaf) = tape.push_node(leaf, false)?;
            // SAFETY: a rank-0 node's value is its record's value slot; `value` holds
            // the one element forward wrote.
            unsafe { *leaf.value = *value };
            id
        } else {
            tape.push_node_sharing(leaf, value, grad)?.0
        };
        if id.index != call.index + 1 + j as u32 {
            return Err(Error::InvalidArgument(
                "user op: output records are not contiguous",
            ));
        }
        *slot = id;
    }
    Ok(())
}
