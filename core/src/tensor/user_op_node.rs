//! The call record of a tensor user op (see `user_op.rs`): its node in the arena (the
//! op, its inputs, the descriptor table its callbacks receive, the saved state, the
//! outputs' buffers), and how a callback is run on it. Recording is in
//! `user_op_record.rs`, the sweeps in `user_op_sweeps.rs`.

use super::float::Float;
use super::node::{Kind, Node};
use super::user_op::{TensorArgs, TensorArgsMut, TensorUserOp, TensorUserOpPoint, UserTensor};
use crate::error::{Error, Result};
use crate::tape::{ExtensionHeader, Tape};
use core::marker::PhantomData;

/// Which callback to run.
#[derive(Clone, Copy)]
pub(super) enum Callback {
    Forward,
    Vjp,
    Jvp,
}

/// How the node calls its op, whatever the op's type: `op` points at it, `table` at
/// the descriptor table, `state` at the saved state.
pub(super) type CallFn<T> = unsafe fn(*const u8, Callback, &Table<T>) -> Result<()>;

/// # Safety
/// `op` must point at a live `U`; the table's descriptors must describe live buffers,
/// the written ones distinct from each other and from every other one.
pub(super) unsafe fn call_op<T: Float, U: TensorUserOp<T>>(
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
    pub header: ExtensionHeader<T>,
    pub call: CallFn<T>,
    pub n_in: u32,
    pub n_out: u32,
    pub state_len: u32,
    /// Record index of the first output record; the others follow it.
    pub first_output: u32,
    /// The elements of all inputs together: the scratch a sweep stages their seeds in.
    pub seeds_len: usize,
    /// Byte offsets from the node: the op, the input indices (then their versions), the
    /// descriptor table, the state, the outputs' value and gradient buffers.
    pub op_offset: usize,
    pub inputs_offset: usize,
    pub table_offset: usize,
    pub state_offset: usize,
    pub outputs_offset: usize,
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
