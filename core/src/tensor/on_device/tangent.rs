//! Forward mode (tangents) through device tensors, built from the device's own kernels:
//! every tangent rule is linear in the argument tangents, and each is a forward kernel
//! applied to tangents, a backward kernel whose Jacobian is the one wanted (softmax's is
//! symmetric), or a short composition of them.

use super::sweep::{reduction, relabel};
use crate::error::{Error, Result};
use crate::op::Op;
use crate::shape::Shape;
use crate::tape::Tape;
use crate::tensor::device::{DeviceRef, Reduction, TensorDevice};
use crate::tensor::float::Float;
use crate::tensor::node::{Kind, Node};
use crate::tensor::Activation;

/// The tangent of a node, as the device reads it: its buffer, or none (zero).
fn tangent_of<T: Float>(node: &Node<T>) -> Option<DeviceRef> {
    node.device.tangent.map(|buffer| DeviceRef {
        buffer,
        shape: node.shape,
    })
}

/// Computes record `i`'s tangent (a device node, or a `to_host`) from its arguments'.
pub(crate) fn tangent<T: Float>(tape: &Tape<'_, T>, i: u32) -> Result<()> {
    let arg_of = |node: &Node<T>, k: usize| {
        tape.node_at(node.args[k])
            .ok_or(Error::InvalidArgument("a tensor's argument vanished"))
    };
    let first = node(tape, i)?;
    if first.kind == Kind::ToHost {
        return to_host(tape, &first, &arg_of(&first, 0)?);
    }
    // Buffers first (which writes the node), then the rule (which only reads it).
    let device = tape.device(first.device.id)?;
    let shapes = scratch_shapes(&first, |k| arg_of(&first, k))?;
    ensure_buffers(tape, device, i, &shapes)?;
    let node = node(tape, i)?;
    let arg = |k: usize| arg_of(&node, k);
    let t = tangent_of(&node).ok_or(Error::InvalidArgument("tangent buffer vanished"))?;
    // An argument's tangent; every argument precedes `node`, so the sweep gave it one.
    let ta = |k: usize| -> Result<DeviceRef> {
        tangent_of(&arg(k)?).ok_or(Error::InvalidArgument("an argument has no tangent"))
    };
    let value = |k: usize| arg(k).map(|a| a.device_value());
    let y = node.device_value();
    let scratch = |k: usize| -> Result<DeviceRef> {
        match (node.device.tangent_scratch[k], shapes[k]) {
            (Some(buffer), Some(shape)) => Ok(DeviceRef { buffer, shape }),
            _ => Err(Error::InvalidArgument("tangent work buffer vanished")),
        }
    };
    match node.kind {
        // Leaves keep their seed (zero unless seeded).
        Kind::Input
        | Kind::Constant
        | Kind::Param
        | Kind::SegmentOutput
        | Kind::UserOpOutput
        | Kind::ToHost => {}
        Kind::ToDevice => {
            let source = arg(0)?;
            if source.tangent.is_null() {
                device.zero(t)?;
            } else {
                // SAFETY: the argument's host tangent, `len` elements, only read.
                let host = unsafe { core::slice::from_raw_parts(source.tangent, source.len) };
                device.upload(t, host)?;
            }
        }
        Kind::MatMul {
            transpose_a,
            transpose_b,
        } => {
            device.matmul(ta(0)?, transpose_a, value(1)?, transpose_b, t, 0.0)?;
            device.matmul(value(0)?, transpose_a, ta(1)?, transpose_b, t, 1.0)?;
        }
        Kind::Linear(act) => {
            // tz = tx·W + x·tW + tb, then t = tz ⊙ act'(y).
            let tz = scratch(0)?;
            device.matmul(ta(0)?, false, value(1)?, false, tz, 0.0)?;
            device.matmul(value(0)?, false, ta(1)?, false, tz, 1.0)?;
            device.binary_forward(Op::Add, tz, ta(2)?, tz)?;
            device.act_output_backward(act, y, tz, t)?;
        }
        Kind::Binary(op) => {
            let (a, b, tx, tw) = (value(0)?, value(1)?, ta(0)?, ta(1)?);
            match op {
                Op::Add | Op::Sub => device.binary_forward(op, tx, tw, t)?,
                Op::Mul => {
                    // ta·b + a·tb
                    let other = scratch(0)?;
                    device.binary_forward(Op::Mul, tx, b, t)?;
                    device.binary_forward(Op::Mul, a, tw, other)?;
                    device.binary_forward(Op::Add, t, other, t)?;
                }
                _ => {
                    // (ta − y·tb) / b
                    let ytb = scratch(0)?;
                    device.binary_forward(Op::Mul, y, tw, ytb)?;
                    device.binary_forward(Op::Sub, tx, ytb, t)?;
                    device.binary_forward(Op::Div, t, b, t)?;
                }
            }
        }
        Kind::Scale => device.scale_forward(node.scalar, ta(0)?, t)?,
        Kind::Unary(act) => {
            device.zero(t)?;
            device.unary_backward(act, node.scalar, value(0)?, y, ta(0)?, t)?;
        }
        Kind::Sum | Kind::Mean | Kind::SumAxis(_) | Kind::MeanAxis(_) => {
            let r = reduction(node.kind).ok_or(Error::InvalidArgument("not a reduction"))?;
            device.reduce_forward(r, ta(0)?, t)?
        }
        Kind::Reshape => device.scale_forward(1.0, relabel(ta(0)?, &t), t)?,
        Kind::Transpose => device.transpose(ta(0)?, t, false)?,
        Kind::Softmax => {
            // The softmax Jacobian is symmetric: J·ta is the backward of ta.
            device.zero(t)?;
            device.softmax_backward(false, y, ta(0)?, t)?;
        }
        Kind::LogSoftmax => {
            // ta − Σ_row softmax ⊙ ta, with softmax = exp(y).
            let tx = ta(0)?;
            let rank = node.shape.rank();
            let (p, sums) = (scratch(0)?, scratch(1)?);
            device.unary_forward(Activation::Exp, 0.0, y, p)?;
            device.binary_forward(Op::Mul, p, tx, p)?;
            device.reduce_forward(Reduction::SumAxis(rank - 1), p, sums)?;
            let sums_kept = DeviceRef {
                buffer: sums.buffer,
                shape: rows_shape(&node.shape).1,
            };
            device.binary_forward(Op::Sub, tx, sums_kept, t)?;
        }
        Kind::CrossEntropy => {
            // Σ (probs − onehot)/rows ⊙ ta, the backward with a unit loss gradient.
            let logits = arg(0)?;
            let probs = DeviceRef {
                buffer: node.device.saved,
                shape: logits.shape,
            };
            let (dx, one) = (scratch(0)?, scratch(2)?);
            device.upload(one, &[T::one()])?;
            device.zero(dx)?;
            device.cross_entropy_backward(probs, node.device.labels, one, dx)?;
            device.binary_forward(Op::Mul, dx, ta(0)?, dx)?;
            device.reduce_forward(Reduction::Sum, dx, t)?;
        }
        Kind::Mse => {
            if node.args[0] == node.args[1] {
                device.zero(t)?;
            } else {
                // Σ dx ⊙ tx + dz ⊙ tz with dx = −dz = 2(x − z)/n, the backward with a
                // unit loss gradient.
                let (dx, dz, one) = (scratch(0)?, scratch(1)?, scratch(2)?);
                device.upload(one, &[T::one()])?;
                device.zero(dx)?;
                device.zero(dz)?;
                device.mse_backward(value(0)?, value(1)?, one, Some(dx), Some(dz))?;
                device.binary_forward(Op::Mul, dx, ta(0)?, dx)?;
                device.binary_forward(Op::Mul, dz, ta(1)?, dz)?;
                device.binary_forward(Op::Add, dx, dz, dx)?;
                device.reduce_forward(Reduction::Sum, dx, t)?;
            }
        }
    }
    if node.rank0() && !node.tangent.is_null() {
        // Scalar ops read a rank-0 result's tangent from its record.
        // SAFETY: the record's slot, written only here during the sweep.
        let host = unsafe { core::slice::from_raw_parts_mut(node.tangent, 1) };
        device.download(t, host)?;
    }
    Ok(())
}

/// The node of tensor record `i`.
fn node<T: Float>(tape: &Tape<'_, T>, i: u32) -> Result<Node<T>> {
    tape.node_at(i)
        .ok_or(Error::InvalidArgument("tensor record vanished"))
}

/// The work buffers (by slot) the tangent rule of `node` needs.
fn scratch_shapes<T: Float>(
    node: &Node<T>,
    arg: impl Fn(usize) -> Result<Node<T>>,
) -> Result<[Option<Shape>; 3]> {
    Ok(match node.kind {
        Kind::Linear(_) | Kind::Binary(Op::Mul | Op::Div) => [Some(node.shape), None, None],
        Kind::LogSoftmax => [Some(node.shape), Some(rows_shape(&node.shape).0), None],
        Kind::CrossEntropy => [Some(arg(0)?.shape), None, Some(Shape::SCALAR)],
        Kind::Mse if node.args[0] != node.args[1] => {
            let shape = arg(0)?.shape;
            [Some(shape), Some(shape), Some(Shape::SCALAR)]
        }
        _ => [None; 3],
    })
}

/// Allocates (zero) record `i`'s tangent and the work buffers of `shapes`, those it does
/// not have yet: the first sweep allocates, later ones reuse.
fn ensure_buffers<T: Float>(
    tape: &Tape<'_, T>,
    device: &dyn TensorDevice<T>,
    i: u32,
    shapes: &[Option<Shape>; 3],
) -> Result<()> {
    let existing = node(tape, i)?.device;
    let shape = node(tape, i)?.shape;
    let tangent = match existing.tangent {
        Some(buffer) => buffer,
        None => device.alloc(shape)?,
    };
    let mut scratch = existing.tangent_scratch;
    for (slot, wanted) in scratch.iter_mut().zip(shapes) {
        if let (None, Some(shape)) = (*slot, wanted) {
            *slot = Some(device.alloc(*shape)?);
        }
    }
    tape.update_node(i, |node| {
        node.device.tangent = Some(tangent);
        node.device.tangent_scratch = scratch;
    });
    Ok(())
}

/// The shape of one value per row along the last axis (`shape` without it), and the same
/// with the last axis kept as 1 (to broadcast back over rows).
fn rows_shape(shape: &Shape) -> (Shape, Shape) {
    let dims = shape.dims();
    let mut kept = [1usize; crate::shape::MAX_RANK];
    for (k, &d) in kept.iter_mut().zip(dims) {
        *k = d as usize;
    }
    let rank = dims.len().max(1);
    kept[rank - 1] = 1;
    let dropped = Shape::new(&kept[..rank - 1]).unwrap_or(Shape::SCALAR);
    let kept = Shape::new(&kept[..rank]).unwrap_or(Shape::SCALAR);
    (dropped, kept)
}

/// `to_host`: the host result's tangent is the device argument's, brought back.
fn to_host<T: Float>(tape: &Tape<'_, T>, node: &Node<T>, source: &Node<T>) -> Result<()> {
    if node.tangent.is_null() {
        return Ok(());
    }
    // SAFETY: the result's host tangent buffer, `len` elements, written only here.
    let out = unsafe { core::slice::from_raw_parts_mut(node.tangent, node.len) };
    match tangent_of(source) {
        Some(t) => tape.device(source.device.id)?.download(t, out),
        None => {
            out.fill(T::zero());
            Ok(())
        }
    }
}

/// Sets device leaf `i`'s tangent seed to `data` (its element count long).
pub(crate) fn seed<T: Float>(tape: &Tape<'_, T>, i: u32, data: &[T]) -> Result<()> {
    let device = tape.device(node(tape, i)?.device.id)?;
    ensure_buffers(tape, device, i, &[None; 3])?;
    let t = tangent_of(&node(tape, i)?).ok_or(Error::InvalidArgument("tangent buffer vanished"))?;
    device.upload(t, data)
}

/// Copies a device node's tangent into `out` (its element count long); zeros if no
/// sweep or seed gave it one.
pub(crate) fn read<T: Float>(tape: &Tape<'_, T>, node: &Node<T>, out: &mut [T]) -> Result<()> {
    match tangent_of(node) {
        Some(t) => tape.device(node.device.id)?.download(t, out),
        None => {
            out.fill(T::zero());
            Ok(())
        }
    }
}
