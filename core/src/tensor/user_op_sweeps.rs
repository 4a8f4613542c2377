//! The sweeps of tensor user ops' call records (see `user_op.rs`): replay runs `forward`
//! into the output records' buffers, backward stages the inputs' gradients in scratch
//! for `vjp` and adds them to the inputs', the tangent sweep stages the inputs' tangents
//! for `jvp`, and the in-place check compares the inputs' versions.

use super::float::Float;
use super::node::Node;
use super::user_op_node::{
    describe, describe_inputs, input_version, inputs_of, output_nodes, run, table_of, CallNode,
    Callback, Part,
};
use crate::checkpoint::segment::SegmentElement;
use crate::error::{Error, Result};
use crate::tape::{Extension, ExtensionKind, Tape};

/// The sweep functions of call records, one table per `T`.
pub(super) struct Tables<T>(core::marker::PhantomData<T>);

impl<T: Float> Tables<T> {
    pub(super) const CALL: Extension<T> = Extension {
        kind: ExtensionKind::UserOp,
        backward: backward::<T>,
        tangent: tangent::<T>,
        replay: replay::<T>,
        // The output records' gradients are tensor buffers, which their own records
        // clear.
        clear: nothing::<T>,
        check: check::<T>,
        relocated: crate::tape::nothing_to_relocate::<T>,
    };
}

fn nothing<T: Float>(_: &Tape<'_, T>, _: u32) {}

/// The node of call record `i`.
fn node_of<T: Float>(tape: &Tape<'_, T>, i: u32) -> *mut CallNode<T> {
    tape.extension_node(i).cast()
}

/// The output records' nodes, copied.
fn outputs<'a, T: Float>(
    tape: &'a Tape<'_, T>,
    node: *mut CallNode<T>,
) -> impl Iterator<Item = Result<Node<T>>> + 'a {
    // SAFETY: a written node.
    let (first, n_out) = unsafe { ((*node).first_output, (*node).n_out) };
    output_nodes(tape, first, n_out)
}

/// Describes the outputs' values, and in part `seeds` each output's buffer that
/// `seed_of` picks (its gradient or tangent).
///
/// # Safety
/// `node` must point at a written node of a live call record.
unsafe fn describe_outputs<T: Float>(
    tape: &Tape<'_, T>,
    node: *mut CallNode<T>,
    seeds: Option<fn(&Node<T>) -> *mut T>,
) -> Result<()> {
    // SAFETY: the caller's contract.
    let table = unsafe { table_of(node) };
    // SAFETY: the table's parts, each borrowed once here.
    let (values, seed_descs) = unsafe {
        (
            table.descriptors(Part::Outputs),
            table.descriptors(Part::OutputSeeds),
        )
    };
    for (j, output) in outputs(tape, node).enumerate() {
        let output = output?;
        values[j] = describe(&output, output.value);
        if let Some(seed_of) = seeds {
            seed_descs[j] = describe(&output, seed_of(&output));
        }
    }
    Ok(())
}

fn replay<T: Float>(tape: &Tape<'_, T>, i: u32) {
    let node = node_of(tape, i);
    // SAFETY: record `i` is a call record: its node, its inputs and its output records
    // live as long as it; forward writes the outputs' value buffers (distinct, and read
    // by nothing else while it runs).
    let result = unsafe {
        describe_inputs(tape, node)
            .and_then(|()| describe_outputs(tape, node, None))
            .and_then(|()| run(tape, node, Callback::Forward))
    };
    match result {
        // The op now reflects the inputs' current versions.
        // SAFETY: the node's `n_in` indices and versions.
        Ok(()) => unsafe {
            let (indices, versions) = inputs_of(node);
            for k in 0..(*node).n_in as usize {
                versions.add(k).write(input_version(tape, *indices.add(k)));
            }
        },
        Err(error) => {
            tape.fail(error);
        }
    }
}

fn backward<T: Float>(tape: &Tape<'_, T>, i: u32) {
    if let Err(error) = try_backward(tape, i) {
        tape.fail(error);
    }
}

fn try_backward<T: Float>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    let node = node_of(tape, i);
    // No output reaches the output of the sweep: nothing to pass on (and no `0 · ∞` from
    // an op whose derivative is infinite here).
    let mut reached = false;
    for output in outputs(tape, node) {
        let output = output?;
        // SAFETY: the output's gradient buffer, only read here.
        if let Some(grad) = unsafe { output.grad_mut() } {
            reached |= grad.iter().any(|g| !g.is_zero());
        }
    }
    if !reached {
        return Ok(());
    }
    // SAFETY: record `i` is a call record: its node, inputs and output records live as
    // long as it. Stale parameter gradients are cleared before any slice of them lives.
    let (indices, n_in, seeds_len) = unsafe {
        let (indices, _) = inputs_of(node);
        (indices, (*node).n_in as usize, (*node).seeds_len)
    };
    for k in 0..n_in {
        // SAFETY: `k < n_in`.
        if let Some(input) = tape.node_at(unsafe { *indices.add(k) }) {
            super::param::materialize_grad(tape, &input);
        }
    }
    // SAFETY: as above; the output gradients are read-only while vjp runs.
    unsafe {
        describe_inputs(tape, node)?;
        describe_outputs(tape, node, Some(|output| output.grad))?;
    }
    // The recording reserved the scratch: this does not fail for want of memory.
    tape.with_scratch::<T, _>(seeds_len, |scratch| {
        // SAFETY: the table's input seeds describe disjoint chunks of the scratch.
        unsafe { describe_seeds(node, scratch) };
        // SAFETY: every descriptor is written; the scratch is this call's own.
        unsafe { run(tape, node, Callback::Vjp) }?;
        let mut chunks = scratch as &[T];
        for k in 0..n_in {
            // SAFETY: `k < n_in`.
            let input = tape
                .node_at(unsafe { *indices.add(k) })
                .ok_or(Error::InvalidArgument("user op: an input record vanished"))?;
            let (seed, rest) = chunks.split_at(input.len.min(chunks.len()));
            chunks = rest;
            // SAFETY: the input's gradient buffer, distinct from the scratch; no other
            // slice of it is alive. Constants have none.
            if let Some(grad) = unsafe { input.grad_mut() } {
                grad.iter_mut().zip(seed).for_each(|(g, &s)| *g += s);
            }
        }
        Ok(())
    })?
}

/// Points the table's input seeds at consecutive chunks of `scratch`, one per input of
/// its length. Nothing may write the scratch but through them until the callback
/// returns (a new borrow of it would invalidate them).
///
/// # Safety
/// `node` must point at a written node whose input descriptors are written, and
/// `scratch` hold `seeds_len` elements.
unsafe fn describe_seeds<T: Float>(node: *mut CallNode<T>, scratch: &mut [T]) {
    // SAFETY: the caller's contract.
    let table = unsafe { table_of(node) };
    // SAFETY: two different parts of the table.
    let (inputs, seeds) = unsafe {
        (
            table.descriptors(Part::Inputs),
            table.descriptors(Part::InputSeeds),
        )
    };
    // One pointer for all chunks: each `as_mut_ptr` would reborrow the whole scratch
    // and invalidate the pointers taken before it.
    let base = scratch.as_mut_ptr();
    let mut offset = 0;
    for (seed, input) in seeds.iter_mut().zip(inputs.iter()) {
        *seed = *input;
        // SAFETY: the inputs' lengths sum to `seeds_len`, the scratch's length.
        seed.data = unsafe { base.add(offset) };
        offset += input.len;
    }
}

fn tangent<T: Float>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    let node = node_of(tape, i);
    // The outputs' tangent buffers come first: nothing may be allocated inside scratch.
    // SAFETY: a written node.
    let (first, n_out, n_in, seeds_len) = unsafe {
        (
            (*node).first_output,
            (*node).n_out,
            (*node).n_in as usize,
            (*node).seeds_len,
        )
    };
    for o in first..first + n_out {
        let buffer = <T as SegmentElement>::tensor_tangent_buffer(tape, o)?;
        let output = tape
            .node_at(o)
            .ok_or(Error::InvalidArgument("user op: an output record vanished"))?;
        // SAFETY: the output's tangent buffer of `len` elements, not otherwise borrowed.
        unsafe { core::slice::from_raw_parts_mut(buffer, output.len) }.fill(T::zero());
    }
    // SAFETY: a call record's node, inputs and outputs; the tangent buffers just made.
    unsafe {
        describe_inputs(tape, node)?;
        describe_outputs(tape, node, Some(|output| output.tangent))?;
    }
    let result = tape.with_scratch::<T, _>(seeds_len, |scratch| {
        // The inputs' tangents, staged before the descriptors point into the scratch.
        // SAFETY: a written node; the descriptors of its inputs.
        let (indices, _) = unsafe { inputs_of(node) };
        let mut chunks = &mut *scratch;
        for k in 0..n_in {
            // SAFETY: `k < n_in`.
            let input = tape
                .node_at(unsafe { *indices.add(k) })
                .ok_or(Error::InvalidArgument("user op: an input record vanished"))?;
            let (seed, rest) = core::mem::take(&mut chunks).split_at_mut(input.len);
            chunks = rest;
            let tangent = super::elementwise::tangent_or_zero(&input);
            seed.iter_mut()
                .enumerate()
                .for_each(|(e, s)| *s = tangent(e));
        }
        // SAFETY: as in `try_backward`.
        unsafe { describe_seeds(node, scratch) };
        // SAFETY: every descriptor is written; the input seeds are the scratch, the
        // output seeds the outputs' own tangent buffers.
        unsafe { run(tape, node, Callback::Jvp) }
    });
    match result {
        Ok(Ok(())) => Ok(()),
        // A missing JVP fails only this sweep; any other failure is the tape's.
        Ok(Err(Error::NoJvp)) => Err(Error::NoJvp),
        Ok(Err(error)) => {
            tape.fail(error);
            Err(error)
        }
        // Forward mode reserves no scratch: too little memory fails only this sweep.
        Err(error) => Err(error),
    }
}

/// Fails when an input was overwritten in place since the op read it.
fn check<T: Float>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    let node = node_of(tape, i);
    // SAFETY: a call record's node: `n_in` indices and versions.
    unsafe {
        let (indices, versions) = inputs_of(node);
        for k in 0..(*node).n_in as usize {
            let (recorded, current) = (*versions.add(k), input_version(tape, *indices.add(k)));
            if recorded != current {
                return Err(Error::ModifiedInPlace {
                    recorded_version: recorded,
                    current_version: current,
                });
            }
        }
    }
    Ok(())
}
