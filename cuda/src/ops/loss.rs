//! Softmax and log-softmax along the last axis, mean cross-entropy from class labels, and
//! mean squared error; losses are rank-0 tensors.

use super::{distinct, elementwise_launch, floats, row_launch, rows_of, same_shape, shape_error};
use crate::backend::{Arg, Launch};
use crate::error::{CudaError, Result};
use crate::kernels::{DType, Kernel};
use crate::tensor::DeviceTensor;
use crate::Device;

/// Softmax or its logarithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Softmax {
    Softmax,
    LogSoftmax,
}

impl Softmax {
    fn code(self) -> Arg {
        Arg::I32((self == Softmax::LogSoftmax).into())
    }
}

/// `y = softmax(x)` or `log_softmax(x)` along the last axis. `y` may be `x`.
pub fn softmax_forward(
    dev: &Device,
    kind: Softmax,
    x: &DeviceTensor,
    y: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "softmax_forward";
    same_shape(OP, x, y)?;
    if x != y {
        distinct(OP, y, &[x])?;
    }
    let (dtype, [px, py]) = floats(dev, OP, [x, y])?;
    let (rows, cols) = rows_of(x);
    if x.len == 0 {
        return Ok(());
    }
    let args = [
        Arg::U64(rows as u64),
        Arg::U64(cols as u64),
        kind.code(),
        Arg::Ptr(px),
        Arg::Ptr(py),
    ];
    dev.launch(Kernel::SoftmaxForward, dtype, row_launch(rows, cols), &args)
}

/// `gx += J(y)ᵀ·g` from the forward's output `y`.
pub fn softmax_backward(
    dev: &Device,
    kind: Softmax,
    y: &DeviceTensor,
    g: &DeviceTensor,
    gx: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "softmax_backward";
    same_shape(OP, y, g)?;
    same_shape(OP, y, gx)?;
    distinct(OP, gx, &[y, g])?;
    let (dtype, [py, pg, pgx]) = floats(dev, OP, [y, g, gx])?;
    let (rows, cols) = rows_of(y);
    if y.len == 0 {
        return Ok(());
    }
    let args = [
        Arg::U64(rows as u64),
        Arg::U64(cols as u64),
        kind.code(),
        Arg::Ptr(py),
        Arg::Ptr(pg),
        Arg::Ptr(pgx),
    ];
    dev.launch(
        Kernel::SoftmaxBackward,
        dtype,
        row_launch(rows, cols),
        &args,
    )
}

/// Checks `logits` `[rows, classes]`, `labels` `[rows]` (u32), a same-shaped `probs` and
/// returns (rows, classes, labels' address).
fn check_classes(
    dev: &Device,
    op: &'static str,
    logits: &DeviceTensor,
    labels: &DeviceTensor,
    probs: &DeviceTensor,
) -> Result<(usize, usize, u64)> {
    if logits.shape.rank() != 2 || labels.dims() != [logits.dims()[0]] {
        return Err(shape_error(op, &[logits, labels]));
    }
    same_shape(op, logits, probs)?;
    let pl = dev.pointer(op, labels, DType::U32)?;
    let (rows, cols) = (logits.dims()[0] as usize, logits.dims()[1] as usize);
    Ok((rows, cols, pl))
}

fn check_scalar(op: &'static str, t: &DeviceTensor) -> Result<()> {
    if t.shape.rank() == 0 {
        Ok(())
    } else {
        Err(shape_error(op, &[t]))
    }
}

/// `loss = mean over rows of −log softmax(logits)[label]`, saving the softmax in `probs`
/// for the backward. `logits` is `[rows, classes]`, `labels` `[rows]` of u32, `loss`
/// rank 0. A label not below `classes` contributes 0 (the tape rejects such labels when
/// it records; the device does not read them back to check).
pub fn cross_entropy_forward(
    dev: &Device,
    logits: &DeviceTensor,
    labels: &DeviceTensor,
    probs: &DeviceTensor,
    loss: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "cross_entropy_forward";
    let (rows, cols, pl) = check_classes(dev, OP, logits, labels, probs)?;
    check_scalar(OP, loss)?;
    distinct(OP, probs, &[logits, labels, loss])?;
    distinct(OP, loss, &[logits, labels])?;
    let (dtype, [px, pp, ploss]) = floats(dev, OP, [logits, probs, loss])?;
    if rows == 0 || cols == 0 {
        return Err(CudaError::InvalidArgument(
            "cross_entropy: no rows or no classes",
        ));
    }
    dev.with_scratch(|| {
        let row_loss = dev.alloc(dtype, &[rows])?;
        let prl = dev.pointer(OP, &row_loss, dtype)?;
        let args = [
            Arg::U64(rows as u64),
            Arg::U64(cols as u64),
            Arg::Ptr(px),
            Arg::Ptr(pl),
            Arg::Ptr(pp),
            Arg::Ptr(prl),
        ];
        dev.launch(
            Kernel::CrossEntropyForward,
            dtype,
            row_launch(rows, cols),
            &args,
        )?;
        // The mean of the row losses, in a fixed order.
        let mean = [
            Arg::U64(1),
            Arg::U64(rows as u64),
            Arg::Real(1.0 / rows as f64),
            Arg::I32(0),
            Arg::Ptr(prl),
            Arg::Ptr(ploss),
        ];
        dev.launch(Kernel::ReduceRows, dtype, row_launch(1, rows), &mean)
    })
}

/// `gx += (g_loss / rows)·(probs − onehot(labels))`; `g_loss` is the loss's gradient (a
/// rank-0 device tensor, so no copy back to the host is needed).
pub fn cross_entropy_backward(
    dev: &Device,
    probs: &DeviceTensor,
    labels: &DeviceTensor,
    g_loss: &DeviceTensor,
    gx: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "cross_entropy_backward";
    let (rows, cols, pl) = check_classes(dev, OP, probs, labels, gx)?;
    check_scalar(OP, g_loss)?;
    distinct(OP, gx, &[probs, labels, g_loss])?;
    let (dtype, [pp, pg, pgx]) = floats(dev, OP, [probs, g_loss, gx])?;
    if probs.len == 0 {
        return Ok(());
    }
    let args = [
        Arg::U64(rows as u64),
        Arg::U64(cols as u64),
        Arg::Ptr(pp),
        Arg::Ptr(pl),
        Arg::Ptr(pg),
        Arg::Ptr(pgx),
    ];
    dev.launch(
        Kernel::CrossEntropyBackward,
        dtype,
        elementwise_launch(probs.len),
        &args,
    )
}

/// `loss = mean((x − z)²)`, rank 0.
pub fn mse_forward(
    dev: &Device,
    x: &DeviceTensor,
    z: &DeviceTensor,
    loss: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "mse_forward";
    same_shape(OP, x, z)?;
    check_scalar(OP, loss)?;
    distinct(OP, loss, &[x, z])?;
    let (dtype, [px, pz, ploss]) = floats(dev, OP, [x, z, loss])?;
    if x.len == 0 {
        return Err(CudaError::InvalidArgument("mse: empty tensors"));
    }
    let args = [
        Arg::U64(x.len as u64),
        Arg::Ptr(px),
        Arg::Ptr(pz),
        Arg::Ptr(ploss),
    ];
    let one_block = Launch {
        grid: (1, 1, 1),
        block: row_launch(1, x.len).block,
    };
    dev.launch(Kernel::MseForward, dtype, one_block, &args)
}

/// `gx += 2·g_loss/n·(x − z)` and `gz −= 2·g_loss/n·(x − z)`; a `None` gradient is
/// skipped.
pub fn mse_backward(
    dev: &Device,
    x: &DeviceTensor,
    z: &DeviceTensor,
    g_loss: &DeviceTensor,
    gx: Option<&DeviceTensor>,
    gz: Option<&DeviceTensor>,
) -> Result<()> {
    const OP: &str = "mse_backward";
    same_shape(OP, x, z)?;
    check_scalar(OP, g_loss)?;
    let (dtype, [px, pz, pg]) = floats(dev, OP, [x, z, g_loss])?;
    let mut grads = [0u64; 2];
    for (slot, grad) in grads.iter_mut().zip([gx, gz]) {
        if let Some(grad) = grad {
            same_shape(OP, x, grad)?;
            distinct(OP, grad, &[x, z, g_loss])?;
            *slot = dev.pointer(OP, grad, dtype)?;
        }
    }
    if let (Some(a), Some(b)) = (gx, gz) {
        distinct(OP, a, &[b])?;
    }
    if x.len == 0 {
        return Ok(());
    }
    let args = [
        Arg::U64(x.len as u64),
        Arg::Ptr(px),
        Arg::Ptr(pz),
        Arg::Ptr(pg),
        Arg::Ptr(grads[0]),
        Arg::Ptr(grads[1]),
    ];
    dev.launch(Kernel::MseBackward, dtype, elementwise_launch(x.len), &args)
}
