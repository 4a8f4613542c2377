//! The call record of a tensor user op (see `user_op.rs`): its node in the arena (the
//! op, its inputs, the descriptor table its callbacks receive, the saved state, the
//! outputs' buffers), how a callback is run on it, and recording.

use super::float::Float;
use super::node::{Kind, Node};
use super::user_op::{TensorArgs, TensorArgsMut, TensorUserOp, TensorUserOpPoint, UserTensor};
use super::TensorId;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::{ExtensionHeader, Tape, MAX_RECORDS};
use core::marker::PhantomData;
use core::mem::{align_of, size_of};

/// Which callback to run.
#[derive(Clone, Copy)]
pub(super) enum Callback {
    Forward,
    Vjp,
    Jvp,
}

/// How the node calls its op, whatever the op's type: `op` points at it, `table` at
/// the descriptor table, `state` at the saved state.
type CallFn<T> = unsafe fn(*const u8, Callback, &Table<T>) -> Result<()>;

/// # Safety
/// `op` must point at a live `U`; the table's descriptors must describe live buffers,
/// the written ones distinct from each other and from every other one.
unsafe fn call_op<T: Float, U: TensorUserOp<T>>(
    op: *const u8,
    callback: Callback,
    table: &Table<T>,
) -> Result<()> {
    // SAFETY: the caller's contract.
    let op = unsafe { &*op.cast::<U>() };
    // SAFETY: the caller's contract; each part is lent to one argument only.
    unsafe {
        match callback {
            Callback::Forward => op.forward(
                table.read(Part::Inputs),
                table.write(Part::Outputs),
                core::slice::from_raw_parts_mut(table.state, table.state_len),
            ),
            Callback::Vjp => op.vjp(
                table.point(),
                table.read(Part::OutputSeeds),
                table.write(Part::InputSeeds),
            ),
            Callback::Jvp => op.jvp(
                table.point(),
                table.read(Part::InputSeeds),
                table.write(Part::OutputSeeds),
            ),
        }
    }
}

/// The node of a call record, at the start of the op's block of the arena.
#[repr(C, align(8))]
pub(super) struct CallNode<T: Float> {
    header: ExtensionHeader<T>,
    call: CallFn<T>,
    pub n_in: u32,
    pub n_out: u32,
    state_len: u32,
    /// Record index of the first output record; the others follow it.
    pub first_output: u32,
    /// The elements of all inputs together: the scratch a sweep stages their seeds in.
    pub seeds_len: usize,
    /// Byte offsets from the node: the op, the input indices (then their versions), the
    /// descriptor table, the state, the outputs' value and gradient buffers.
    op_offset: usize,
    inputs_offset: usize,
    table_offset: usize,
    state_offset: usize,
    outputs_offset: usize,
}

/// A node's descriptor table: inputs, outputs, output seeds (gradients or tangents),
/// input seeds, `UserTensor`s one after another; and the saved state.
pub(super) struct Table<T> {
    base: *mut UserTensor<T>,
    n_in: usize,
    n_out: usize,
    state: *mut T,
    state_len: usize,
}

/// One part of a node's descriptor table.
#[derive(Clone, Copy)]
pub(super) enum Part {
    Inputs,
    Outputs,
    OutputSeeds,
    InputSeeds,
}

impl<T> Table<T> {
    fn range(&self, part: Part) -> (usize, usize) {
        let (n_in, n_out) = (self.n_in, self.n_out);
        match part {
            Part::Inputs => (0, n_in),
            Part::Outputs => (n_in, n_out),
            Part::OutputSeeds => (n_in + n_out, n_out),
            Part::InputSeeds => (n_in + 2 * n_out, n_in),
        }
    }

    /// The descriptors of `part`, to fill.
    ///
    /// # Safety
    /// No other slice of the same part may be alive.
    pub(super) unsafe fn descriptors<'a>(&self, part: Part) -> &'a mut [UserTensor<T>] {
        let (start, len) = self.range(part);
        // SAFETY: the table holds `2(n_in + n_out)` written descriptors from `base`.
        unsafe { core::slice::from_raw_parts_mut(self.base.add(start), len) }
    }

    /// # Safety
    /// The descriptors of `part` must describe buffers nothing writes during the call.
    unsafe fn read<'a>(&self, part: Part) -> TensorArgs<'a, T> {
        // SAFETY: forwarded; only read.
        TensorArgs {
            args: unsafe { self.descriptors(part) },
        }
    }

    /// # Safety
    /// The descriptors of `part` must describe distinct buffers only this call uses.
    unsafe fn write<'a>(&self, part: Part) -> TensorArgsMut<'a, T> {
        TensorArgsMut {
            // SAFETY: forwarded.
            args: unsafe { self.descriptors(part) },
            _data: PhantomData,
        }
    }

    /// # Safety
    /// As for `read`, for the inputs, the outputs and the state.
    unsafe fn point<'a>(&self) -> TensorUserOpPoint<'a, T> {
        // SAFETY: forwarded.
        unsafe {
            TensorUserOpPoint {
                inputs: self.read(Part::Inputs),
                outputs: self.read(Part::Outputs),
                state: core::slice::from_raw_parts(self.state, self.state_len),
            }
        }
    }
}

/// Bytes rounded up to 8.
fn round8(n: usize) -> Option<usize> {
    n.checked_add(7).map(|n| n & !7)
}

/// The input indices and versions of a node: `n_in` of each.
///
/// # Safety
/// `node` must point at a written node.
pub(super) unsafe fn inputs_of<T: Float>(node: *mut CallNode<T>) -> (*mut u32, *mut u32) {
    // SAFETY: the caller's contract; the indices and versions follow at their offset.
    unsafe {
        let indices = node.cast::<u8>().add((*node).inputs_offset).cast::<u32>();
        (indices, indices.add((*node).n_in as usize))
    }
}

/// # Safety
/// `node` must point at a written node.
pub(super) unsafe fn table_of<T: Float>(node: *mut CallNode<T>) -> Table<T> {
    // SAFETY: the caller's contract.
    unsafe {
        let base = node.cast::<u8>();
        Table {
            base: base.add((*node).table_offset).cast(),
            n_in: (*node).n_in as usize,
            n_out: (*node).n_out as usize,
            state: base.add((*node).state_offset).cast(),
            state_len: (*node).state_len as usize,
        }
    }
}

/// Runs one callback as a callback on the tape; a callback that recorded on the tape
/// fails with [`Error::Reentrant`].
///
/// # Safety
/// `node` must point at a written node whose table describes live buffers, as
/// `call_op` needs for `callback`.
pub(super) unsafe fn run<T: Float>(
    tape: &Tape<'_, T>,
    node: *mut CallNode<T>,
    callback: Callback,
) -> Result<()> {
    // SAFETY: the caller's contract.
    let (call, op) = unsafe { ((*node).call, node.cast::<u8>().add((*node).op_offset)) };
    let len = tape.len();
    let result = {
        let _callback = tape.enter_callback();
        // SAFETY: `op` is the node's `U`, the table is the node's own.
        unsafe { call(op, callback, &table_of(node)) }
    };
    tape.status()?;
    if tape.len() != len {
        return Err(Error::Reentrant(
            "a user op's callback recorded on its tape",
        ));
    }
    result
}

/// A tensor's descriptor for the table.
pub(super) fn describe<T: Float>(node: &Node<T>, data: *mut T) -> UserTensor<T> {
    UserTensor::new(data, node.len, node.shape)
}

/// Fills the inputs' part of the table from the input records' values.
///
/// # Safety
/// `node` must point at a written node whose inputs are live tensor records.
pub(super) unsafe fn describe_inputs<T: Float>(
    tape: &Tape<'_, T>,
    node: *mut CallNode<T>,
) -> Result<()> {
    // SAFETY: the caller's contract.
    unsafe {
        let (indices, _) = inputs_of(node);
        for (k, desc) in table_of(node)
            .descriptors(Part::Inputs)
            .iter_mut()
            .enumerate()
        {
            let input = tape
                .node_at(*indices.add(k))
                .ok_or(Error::InvalidArgument("user op: an input record vanished"))?;
            *desc = describe(&input, input.value);
        }
    }
    Ok(())
}

/// The output records' nodes, one by one.
pub(super) fn output_nodes<'a, T: Float>(
    tape: &'a Tape<'_, T>,
    first: u32,
    n_out: u32,
) -> impl Iterator<Item = Result<Node<T>>> + 'a {
    (first..first + n_out).map(|o| {
        tape.node_at(o)
            .ok_or(Error::InvalidArgument("user op: an output record vanished"))
    })
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
        let (mark, len) = (self.high_mark(), self.len());
        let result = record::<T, U>(self, op, inputs, &shape_of, outputs, state_len);
        if let Err(error) = result {
            if self.len() == len {
                // No record points at the node: give its memory back.
                // SAFETY: the node is not used after this.
                unsafe { self.release_to(mark) };
            }
            self.fail(error);
            outputs.fill(TensorId::INVALID);
            return self.status();
        }
        Ok(())
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
        u32::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_RECORDS)
            .ok_or(Error::InvalidArgument(
                "user op: more inputs, outputs or state than a tape holds records",
            ))
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
                extension: &super::user_op_sweeps::Tables::<T>::CALL,
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

/// The version of the data tensor record `index` holds (a parameter's for a use of
/// one), for the in-place check.
pub(super) fn input_version<T: Float>(tape: &Tape<'_, T>, index: u32) -> u32 {
    tape.node_at(index).map_or(0, |node| {
        if node.kind == Kind::Param {
            super::param::version(tape, node.param)
        } else {
            node.version
        }
    })
}
