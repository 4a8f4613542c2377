//! The sweeps of tensors that live on a device, and of the transfers between host and
//! device: each op's forward and backward as calls to the device's kernels, with the
//! same formulas and gradient rules as the host code (`linalg`, `elementwise`,
//! `reduce`, `loss`).

use crate::error::{Error, Result};
use crate::tape::Tape;
use crate::tensor::device::{DeviceRef, Reduction, TensorDevice};
use crate::tensor::float::Float;
use crate::tensor::node::{Kind, Node};
use crate::tensor::param::take_stale_grad;

/// True when `node` is computed by this module: it lives on a device, or it brings a
/// device tensor to the host.
pub(crate) fn runs_on_device<T: Float>(node: &Node<T>) -> bool {
    node.on_device() || node.kind == Kind::ToHost
}

/// Argument `k` of `node`.
fn arg<T: Float>(tape: &Tape<'_, T>, node: &Node<T>, k: usize) -> Result<Node<T>> {
    tape.node_at(node.args[k])
        .ok_or(Error::InvalidArgument("a tensor's argument vanished"))
}

pub(super) fn reduction(kind: Kind) -> Option<Reduction> {
    Some(match kind {
        Kind::Sum => Reduction::Sum,
        Kind::Mean => Reduction::Mean,
        Kind::SumAxis(axis) => Reduction::SumAxis(axis as usize),
        Kind::MeanAxis(axis) => Reduction::MeanAxis(axis as usize),
        _ => return None,
    })
}

/// The same buffer read as `shape` (a reshape's value or gradient).
pub(super) fn relabel(r: DeviceRef, like: &DeviceRef) -> DeviceRef {
    DeviceRef {
        buffer: r.buffer,
        shape: like.shape,
    }
}

/// Op-specific device buffer `saved` of `node`, read as `shape`'s tensor.
fn saved<T: Float>(node: &Node<T>, of: &Node<T>) -> DeviceRef {
    DeviceRef {
        buffer: node.device.saved,
        shape: of.shape,
    }
}

/// `node`'s value slot in host memory (a host node's buffer, or a rank-0 node's record).
///
/// # Safety
/// No other reference to the buffer may be alive while the slice is used.
unsafe fn host_value_mut<'b, T: Float>(node: &Node<T>) -> &'b mut [T] {
    // SAFETY: `value` holds `len` elements on the host for these nodes; exclusivity is
    // the caller's.
    unsafe { core::slice::from_raw_parts_mut(node.value, node.len) }
}

/// Computes `node`'s value from its arguments' values.
pub(crate) fn forward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> Result<()> {
    if node.kind == Kind::ToHost {
        let source = arg(tape, node, 0)?;
        // SAFETY: the result's own host buffer, written only here.
        let out = unsafe { host_value_mut(node) };
        return tape
            .device(source.device.id)?
            .download(source.device_value(), out);
    }
    let device = tape.device(node.device.id)?;
    let y = node.device_value();
    let value = |k| arg(tape, node, k).map(|a| a.device_value());
    match node.kind {
        Kind::Input
        | Kind::Constant
        | Kind::Param
        | Kind::SegmentOutput
        | Kind::UserOpOutput
        | Kind::ToHost => {}
        Kind::ToDevice => {
            let source = arg(tape, node, 0)?;
            // SAFETY: the argument's host value is only read.
            device.upload(y, unsafe { source.value() })?;
        }
        Kind::MatMul {
            transpose_a,
            transpose_b,
        } => device.matmul(value(0)?, transpose_a, value(1)?, transpose_b, y, 0.0)?,
        Kind::Linear(act) => {
            device.matmul(value(0)?, false, value(1)?, false, y, 0.0)?;
            device.bias_act_forward(act, value(2)?, y)?;
        }
        Kind::Binary(op) => device.binary_forward(op, value(0)?, value(1)?, y)?,
        Kind::Scale => device.scale_forward(node.scalar, value(0)?, y)?,
        Kind::Unary(act) => device.unary_forward(act, node.scalar, value(0)?, y)?,
        Kind::Sum | Kind::Mean | Kind::SumAxis(_) | Kind::MeanAxis(_) => {
            let r = reduction(node.kind).ok_or(Error::InvalidArgument("not a reduction"))?;
            device.reduce_forward(r, value(0)?, y)?
        }
        Kind::Reshape => device.scale_forward(1.0, relabel(value(0)?, &y), y)?,
        Kind::Transpose => device.transpose(value(0)?, y, false)?,
        Kind::Softmax | Kind::LogSoftmax => {
            device.softmax_forward(node.kind == Kind::LogSoftmax, value(0)?, y)?
        }
        Kind::CrossEntropy => {
            let logits = arg(tape, node, 0)?;
            let probs = saved(node, &logits);
            device.cross_entropy_forward(logits.device_value(), node.device.labels, probs, y)?
        }
        Kind::Mse => device.mse_forward(value(0)?, value(1)?, y)?,
    }
    if node.rank0() {
        // Scalar ops read a rank-0 result from its record: mirror the value there.
        // SAFETY: the record's value slot, not otherwise borrowed.
        device.download(y, unsafe { host_value_mut(node) })?;
    }
    Ok(())
}

/// Adds `node`'s contribution to its arguments' gradients.
pub(crate) fn backward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> Result<()> {
    if node.kind == Kind::ToHost {
        return to_host_backward(tape, node);
    }
    let Some(g) = node.device_grad() else {
        return Ok(());
    };
    let device = tape.device(node.device.id)?;
    if node.rank0() {
        fold_host_adjoint(device, node, g)?;
    }
    let a = || arg(tape, node, 0);
    let b = || arg(tape, node, 1);
    match node.kind {
        Kind::Input
        | Kind::Constant
        | Kind::Param
        | Kind::SegmentOutput
        | Kind::UserOpOutput
        | Kind::ToHost => {}
        Kind::ToDevice => to_device_backward(tape, device, &a()?, g)?,
        Kind::MatMul {
            transpose_a,
            transpose_b,
        } => products_backward(tape, device, (&a()?, transpose_a), (&b()?, transpose_b), g)?,
        Kind::Linear(act) => {
            let y = node.device_value();
            let dz = if act == crate::tensor::Activation::Identity {
                g
            } else {
                let dz = saved(node, node);
                device.act_output_backward(act, y, g, dz)?;
                dz
            };
            products_backward(tape, device, (&a()?, false), (&b()?, false), dz)?;
            let bias = arg(tape, node, 2)?;
            if let Some(gb) = bias.device_grad() {
                if take_stale_grad(tape, &bias) {
                    device.zero(gb)?;
                }
                device.bias_grad(dz, gb)?;
            }
        }
        Kind::Binary(op) => {
            let (a, b) = (a()?, b()?);
            let y = node.device_value();
            let (va, vb) = (a.device_value(), b.device_value());
            device.binary_backward(op, va, vb, y, g, a.device_grad(), b.device_grad())?
        }
        Kind::Scale => {
            if let Some(ga) = a()?.device_grad() {
                device.scale_backward(node.scalar, g, ga)?
            }
        }
        Kind::Unary(act) => {
            let a = a()?;
            if let Some(ga) = a.device_grad() {
                let (x, y) = (a.device_value(), node.device_value());
                device.unary_backward(act, node.scalar, x, y, g, ga)?
            }
        }
        Kind::Sum | Kind::Mean | Kind::SumAxis(_) | Kind::MeanAxis(_) => {
            let r = reduction(node.kind).ok_or(Error::InvalidArgument("not a reduction"))?;
            if let Some(ga) = a()?.device_grad() {
                device.reduce_backward(r, g, ga)?
            }
        }
        Kind::Reshape => {
            if let Some(ga) = a()?.device_grad() {
                device.scale_backward(1.0, relabel(g, &ga), ga)?
            }
        }
        Kind::Transpose => {
            if let Some(ga) = a()?.device_grad() {
                device.transpose(g, ga, true)?
            }
        }
        Kind::Softmax | Kind::LogSoftmax => {
            if let Some(ga) = a()?.device_grad() {
                let log = node.kind == Kind::LogSoftmax;
                device.softmax_backward(log, node.device_value(), g, ga)?
            }
        }
        Kind::CrossEntropy => {
            let logits = a()?;
            if let Some(ga) = logits.device_grad() {
                let probs = saved(node, &logits);
                device.cross_entropy_backward(probs, node.device.labels, g, ga)?
            }
        }
        Kind::Mse => {
            let (a, b) = (a()?, b()?);
            let (va, vb) = (a.device_value(), b.device_value());
            // `mse(x, x)`: the two contributions cancel, and devices may refuse one
            // buffer as both gradients.
            let (ga, gb) = if node.args[0] == node.args[1] {
                (None, None)
            } else {
                (a.device_grad(), b.device_grad())
            };
            device.mse_backward(va, vb, g, ga, gb)?
        }
    }
    Ok(())
}

/// A rank-0 device node's gradient has two parts: what device ops added into its device
/// buffer, and what scalar ops (and the backward seed) added into its record's adjoint.
/// Before the node's own backward, the device buffer is made their sum. A node no device
/// op reads (a loss, usually) has nothing in its device buffer: one upload, no read back.
fn fold_host_adjoint<T: Float>(
    device: &dyn TensorDevice<T>,
    node: &Node<T>,
    g: DeviceRef,
) -> Result<()> {
    if node.grad.is_null() {
        return Ok(());
    }
    // SAFETY: the record's adjoint slot, only read.
    let host = unsafe { *node.grad };
    if host.is_zero() {
        return Ok(());
    }
    let mut total = [T::zero()];
    if node.device.read_on_device {
        device.download(g, &mut total)?;
    }
    total[0] += host;
    device.upload(g, &total)
}

/// `op(a)·op(b) = z` given `z`'s gradient `dz`: `ga += dz·op(b)ᵀ` (through op), `gb +=
/// op(a)ᵀ·dz`, each overwriting instead when it is a stale parameter gradient.
fn products_backward<T: Float>(
    tape: &Tape<'_, T>,
    device: &dyn TensorDevice<T>,
    (a, ta): (&Node<T>, bool),
    (b, tb): (&Node<T>, bool),
    dz: DeviceRef,
) -> Result<()> {
    let beta = |node: &Node<T>| {
        if take_stale_grad(tape, node) {
            0.0
        } else {
            1.0
        }
    };
    let (va, vb) = (a.device_value(), b.device_value());
    if let Some(ga) = a.device_grad() {
        let beta = beta(a);
        if ta {
            // dA (stored k × m) += op(B) · dZᵀ
            device.matmul(vb, tb, dz, true, ga, beta)?;
        } else {
            // dA (m × k) += dZ · op(B)ᵀ
            device.matmul(dz, false, vb, !tb, ga, beta)?;
        }
    }
    if let Some(gb) = b.device_grad() {
        let beta = beta(b);
        if tb {
            // dB (stored n × k) += dZᵀ · op(A)
            device.matmul(dz, true, va, ta, gb, beta)?;
        } else {
            // dB (k × n) += op(A)ᵀ · dZ
            device.matmul(va, !ta, dz, false, gb, beta)?;
        }
    }
    Ok(())
}

/// `to_device`: the host argument's gradient gains the device gradient, brought back
/// through scratch reserved when the transfer was recorded.
fn to_device_backward<T: Float>(
    tape: &Tape<'_, T>,
    device: &dyn TensorDevice<T>,
    source: &Node<T>,
    g: DeviceRef,
) -> Result<()> {
    // SAFETY: the argument's gradient is written only here during this call.
    let Some(gx) = (unsafe { source.grad_mut() }) else {
        return Ok(());
    };
    tape.with_scratch(gx.len(), |scratch: &mut [T]| {
        device.download(g, scratch)?;
        gx.iter_mut()
            .zip(scratch.iter())
            .for_each(|(gx, &g)| *gx += g);
        Ok(())
    })?
}

/// `to_host`: the device argument's gradient gains the host gradient, sent through the
/// staging buffer on the argument's device allocated when the transfer was recorded.
fn to_host_backward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> Result<()> {
    let source = arg(tape, node, 0)?;
    let Some(gx) = source.device_grad() else {
        return Ok(());
    };
    // SAFETY: the result's gradient is only read.
    let Some(g) = (unsafe { node.grad_mut() }) else {
        return Ok(());
    };
    let device = tape.device(source.device.id)?;
    let staging = saved(node, &source);
    device.upload(staging, g)?;
    device.scale_backward(1.0, staging, gx)
}

/// Zeroes a device node's gradient before a backward pass.
pub(crate) fn clear<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> Result<()> {
    match node.device_grad() {
        Some(g) if node.on_device() => tape.device(node.device.id)?.zero(g),
        _ => Ok(()),
    }
}
