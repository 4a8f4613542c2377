//! The tensor layer's side of the tape's sweeps: each function gets a record index,
//! finds the node and dispatches on its kind to the op family that computes it.

use super::float::Float;
use super::node::{Kind, Node};
use super::on_device;
use super::{elementwise, group_ready, linalg, loss, param, reduce};
use crate::error::{Error, Result};
use crate::tape::Tape;

/// A copy of the node of record `i`, which the tape only passes for tensor records.
fn node_of<T: Float>(tape: &Tape<'_, T>, i: u32) -> Option<Node<T>> {
    tape.node_at(i)
}

/// Adds record `i`'s contribution to its arguments' gradients.
pub(crate) fn backward<T: Float>(tape: &Tape<'_, T>, i: u32) {
    let Some(node) = node_of(tape, i) else { return };
    if !matches!(node.kind, Kind::MatMul { .. } | Kind::Linear(_)) {
        // Other ops add into their arguments' gradients, so stale parameter gradients
        // are cleared first; linalg overwrites them instead.
        for k in 0..node.arg_count as usize {
            if let Some(arg) = tape.node_at(node.args[k]) {
                param::materialize_grad(tape, &arg);
            }
        }
    }
    if on_device::sweep::runs_on_device(&node) {
        if let Err(error) = on_device::sweep::backward(tape, &node) {
            tape.fail(error);
        }
        return;
    }
    match node.kind {
        Kind::Param => group_ready::param_use_swept(tape, &node, i),
        Kind::Input | Kind::Constant | Kind::SegmentOutput | Kind::UserOpOutput => {}
        Kind::ToDevice | Kind::ToHost => {}
        Kind::MatMul { .. } | Kind::Linear(_) => linalg::backward(tape, &node),
        Kind::Binary(_) | Kind::Scale | Kind::Unary(_) => elementwise::backward(tape, &node),
        Kind::Sum
        | Kind::Mean
        | Kind::SumAxis(_)
        | Kind::MeanAxis(_)
        | Kind::Reshape
        | Kind::Transpose => reduce::backward(tape, &node),
        Kind::Softmax | Kind::LogSoftmax | Kind::CrossEntropy | Kind::Mse => {
            loss::backward(tape, &node)
        }
    }
}

/// Recomputes record `i`'s value from its arguments (its forward).
pub(crate) fn replay<T: Float>(tape: &Tape<'_, T>, i: u32) {
    let Some(node) = node_of(tape, i) else { return };
    if let Err(error) = forward(tape, &node) {
        tape.fail(error);
        return;
    }
    let version = (node.kind == Kind::Param).then(|| super::param::version(tape, node.param));
    let mut refreshed = node;
    refresh_arg_versions(tape, &mut refreshed);
    tape.update_node(i, |node| {
        if let Some(version) = version {
            node.version = version;
        }
        node.arg_versions = refreshed.arg_versions;
    });
}

/// Runs a node's forward: writes its value from its arguments' values. Only device
/// kernels can fail.
pub(crate) fn forward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> Result<()> {
    if on_device::sweep::runs_on_device(node) {
        return on_device::sweep::forward(tape, node);
    }
    match node.kind {
        // Leaves hold their data; a parameter use reads the parameter's storage directly.
        Kind::Input | Kind::Constant | Kind::Param | Kind::SegmentOutput | Kind::UserOpOutput => {}
        Kind::ToDevice | Kind::ToHost => {}
        Kind::MatMul { .. } | Kind::Linear(_) => linalg::forward(tape, node),
        Kind::Binary(_) | Kind::Scale | Kind::Unary(_) => elementwise::forward(tape, node),
        Kind::Sum
        | Kind::Mean
        | Kind::SumAxis(_)
        | Kind::MeanAxis(_)
        | Kind::Reshape
        | Kind::Transpose => reduce::forward(tape, node),
        Kind::Softmax | Kind::LogSoftmax | Kind::CrossEntropy | Kind::Mse => {
            loss::forward(tape, node)
        }
    }
    Ok(())
}

/// Points a rank-0 node's value, gradient and tangent at its record's slots again,
/// after growth moved the records (`tape/growth.rs`); other nodes keep their buffers
/// at the arena's high end, which never moves.
pub(crate) fn relocated<T: Float>(tape: &Tape<'_, T>, i: u32) {
    let Some((value, adjoint)) = tape.record_slots(i) else {
        return;
    };
    tape.update_node(i, |node| {
        if node.rank0() {
            node.value = value;
            if !node.grad.is_null() {
                node.grad = adjoint;
            }
            if !node.tangent.is_null() {
                node.tangent = adjoint;
            }
        }
    });
}

/// Computes record `i`'s tangent from its arguments' tangents, allocating the tangent
/// buffer the first time.
// Without `tensor-jvp` nothing calls it (nor the kernels it calls, which the allowance
// keeps alive with it).
#[cfg_attr(not(feature = "tensor-jvp"), allow(dead_code))]
pub(crate) fn tangent<T: Float>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    let Some(node) = node_of(tape, i) else {
        return Ok(());
    };
    // A device node needs a host tangent only as a rank-0 result's record slot.
    if node.tangent.is_null() && (!node.on_device() || node.rank0()) {
        let buffer = if node.rank0() {
            tape.record_slots(i)
                .map(|(_, adjoint)| adjoint)
                .ok_or(Error::InvalidArgument("tensor record vanished"))?
        } else {
            tape.alloc(node.len, T::zero())?.as_ptr()
        };
        tape.update_node(i, |node| node.tangent = buffer);
    }
    let Some(node) = node_of(tape, i) else {
        return Ok(());
    };
    if on_device::sweep::runs_on_device(&node) {
        return on_device::tangent::tangent(tape, i);
    }
    match node.kind {
        // Leaves keep whatever tangent was seeded (zero unless seeded).
        Kind::Input | Kind::Constant | Kind::Param => {
            if node.rank0() {
                // The scalar sweep wrote nothing here: the slot holds whatever the last
                // sweep left. A rank-0 leaf's seed waits in its op constant (see
                // `seed_tensor_tangent`); a constant's is zero.
                let seed = match node.kind {
                    Kind::Constant => T::zero(),
                    _ => T::from_f64(node.scalar),
                };
                // SAFETY: the tangent buffer belongs to this node alone.
                if let Some(t) = unsafe { node.tangent_mut() } {
                    t.fill(seed);
                }
            }
        }
        // The segment's or user op's record, earlier in the sweep, wrote this tangent.
        Kind::SegmentOutput | Kind::UserOpOutput => {}
        Kind::ToDevice | Kind::ToHost => {}
        Kind::MatMul { .. } | Kind::Linear(_) => linalg::tangent(tape, &node),
        Kind::Binary(_) | Kind::Scale | Kind::Unary(_) => elementwise::tangent(tape, &node),
        Kind::Sum
        | Kind::Mean
        | Kind::SumAxis(_)
        | Kind::MeanAxis(_)
        | Kind::Reshape
        | Kind::Transpose => reduce::tangent(tape, &node),
        Kind::Softmax | Kind::LogSoftmax | Kind::CrossEntropy | Kind::Mse => {
            loss::tangent(tape, &node)
        }
    }
    Ok(())
}

/// The forward sweep of a tensor record when the `tensor-jvp` feature is off: forward
/// mode over tensors is about 11 KiB of a Cortex-M image that trains a network, and
/// training never runs it.
#[cfg(not(feature = "tensor-jvp"))]
pub(crate) fn tangent_not_built<T: Float>(_: &Tape<'_, T>, _: u32) -> Result<()> {
    Err(Error::InvalidArgument(
        "forward mode over tensors is not built in (autodiff-core's `tensor-jvp` feature)",
    ))
}

/// Zeroes record `i`'s gradient.
pub(crate) fn clear<T: Float>(tape: &Tape<'_, T>, i: u32) {
    if let Some(node) = node_of(tape, i) {
        if param::mark_grad_stale(tape, &node) {
            return;
        }
        if node.on_device() {
            if let Err(error) = on_device::sweep::clear(tape, &node) {
                tape.fail(error);
            }
            return;
        }
        // SAFETY: the gradient buffer is not referenced elsewhere during a clear.
        if let Some(grad) = unsafe { node.grad_mut() } {
            grad.fill(T::zero());
        }
    }
}

/// Fails when an argument of record `i` (or, for a parameter use, the parameter) was
/// overwritten in place after record `i` computed its value from it.
pub(crate) fn check<T: Float>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    let Some(node) = node_of(tape, i) else {
        return Ok(());
    };
    if node.kind == Kind::Param {
        let current = super::param::version(tape, node.param);
        if current != node.version {
            return Err(Error::ModifiedInPlace {
                recorded_version: node.version,
                current_version: current,
            });
        }
        return Ok(());
    }
    for k in 0..node.arg_count as usize {
        if let Some(arg) = tape.node_at(node.args[k]) {
            if arg.version != node.arg_versions[k] {
                return Err(Error::ModifiedInPlace {
                    recorded_version: node.arg_versions[k],
                    current_version: arg.version,
                });
            }
        }
    }
    Ok(())
}

/// Notes the versions of `node`'s arguments that its value was just computed from.
pub(crate) fn refresh_arg_versions<T: Float>(tape: &Tape<'_, T>, node: &mut Node<T>) {
    for k in 0..node.arg_count as usize {
        if let Some(arg) = tape.node_at(node.args[k]) {
            node.arg_versions[k] = arg.version;
        }
    }
}
