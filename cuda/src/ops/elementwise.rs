//! Activations, `scale`, and `+ - * /` with numpy broadcasting (rank ≤ 4), and the fused
//! layer's bias + activation epilogue.

use super::{distinct, elementwise_launch, floats, same_shape, shape_error};
use crate::backend::Arg;
use crate::error::{CudaError, Result};
use crate::kernels::Kernel;
use crate::tensor::DeviceTensor;
use crate::Device;
use autodiff_core::{Activation, Shape, MAX_RANK};

/// The elementwise binary ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum BinaryOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
}

fn act_code(act: Activation) -> Arg {
    Arg::I32(act as u8 as i32)
}

/// `y = act(x)`; `slope` is leaky ReLU's negative slope. `y` may be `x` (in place).
pub fn unary_forward(
    dev: &Device,
    act: Activation,
    slope: f64,
    x: &DeviceTensor,
    y: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "unary_forward";
    same_shape(OP, x, y)?;
    if x != y {
        distinct(OP, y, &[x])?;
    }
    let (dtype, [px, py]) = floats(dev, OP, [x, y])?;
    if x.len == 0 {
        return Ok(());
    }
    let args = [
        act_code(act),
        Arg::Real(slope),
        Arg::Ptr(px),
        Arg::Ptr(py),
        Arg::U64(x.len as u64),
    ];
    dev.launch(
        Kernel::UnaryForward,
        dtype,
        elementwise_launch(x.len),
        &args,
    )
}

/// `gx += g · act'(x)`, given the forward's input `x` and output `y`.
pub fn unary_backward(
    dev: &Device,
    act: Activation,
    slope: f64,
    x: &DeviceTensor,
    y: &DeviceTensor,
    g: &DeviceTensor,
    gx: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "unary_backward";
    for t in [y, g, gx] {
        same_shape(OP, x, t)?;
    }
    distinct(OP, gx, &[x, y, g])?;
    let (dtype, [px, py, pg, pgx]) = floats(dev, OP, [x, y, g, gx])?;
    if x.len == 0 {
        return Ok(());
    }
    let args = [
        act_code(act),
        Arg::Real(slope),
        Arg::Ptr(px),
        Arg::Ptr(py),
        Arg::Ptr(pg),
        Arg::Ptr(pgx),
        Arg::U64(x.len as u64),
    ];
    dev.launch(
        Kernel::UnaryBackward,
        dtype,
        elementwise_launch(x.len),
        &args,
    )
}

/// `y = c·x` (`accumulate`: `y += c·x`).
fn scale(
    dev: &Device,
    op: &'static str,
    c: f64,
    x: &DeviceTensor,
    y: &DeviceTensor,
    accumulate: bool,
) -> Result<()> {
    same_shape(op, x, y)?;
    if x != y || accumulate {
        distinct(op, y, &[x])?;
    }
    let (dtype, [px, py]) = floats(dev, op, [x, y])?;
    if x.len == 0 {
        return Ok(());
    }
    let args = [
        Arg::Real(c),
        Arg::Ptr(px),
        Arg::Ptr(py),
        Arg::I32(accumulate.into()),
        Arg::U64(x.len as u64),
    ];
    dev.launch(Kernel::Scale, dtype, elementwise_launch(x.len), &args)
}

/// `y = c·x`. `y` may be `x`.
pub fn scale_forward(dev: &Device, c: f64, x: &DeviceTensor, y: &DeviceTensor) -> Result<()> {
    scale(dev, "scale_forward", c, x, y, false)
}

/// `gx += c·g`.
pub fn scale_backward(dev: &Device, c: f64, g: &DeviceTensor, gx: &DeviceTensor) -> Result<()> {
    scale(dev, "scale_backward", c, g, gx, true)
}

/// Dimension `k` counted from the last (0 = last), 1 past the rank.
fn dim_from_right(shape: &Shape, k: usize) -> usize {
    let rank = shape.rank();
    if k < rank {
        shape.dims()[rank - 1 - k] as usize
    } else {
        1
    }
}

/// The kernels' broadcast layout: the output's dimensions padded to rank 4, then each
/// operand's element strides through the output (0 along stretched dimensions), or a
/// shape error when `out` is not the numpy broadcast of `a` and `b`.
fn broadcast_layout(
    op: &'static str,
    a: &DeviceTensor,
    b: &DeviceTensor,
    out: &DeviceTensor,
) -> Result<[u64; 12]> {
    if out.shape.rank() != a.shape.rank().max(b.shape.rank()) {
        return Err(shape_error(op, &[a, b, out]));
    }
    let mut words = [0u64; 12];
    let mut strides = [1u64; 2];
    for k in 0..MAX_RANK {
        let (da, db) = (dim_from_right(&a.shape, k), dim_from_right(&b.shape, k));
        let d = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(shape_error(op, &[a, b])),
        };
        if dim_from_right(&out.shape, k) != d {
            return Err(shape_error(op, &[a, b, out]));
        }
        let slot = MAX_RANK - 1 - k;
        words[slot] = d as u64;
        for (operand, dim) in [da, db].into_iter().enumerate() {
            words[4 + 4 * operand + slot] = if dim == d { strides[operand] } else { 0 };
            strides[operand] *= dim as u64;
        }
    }
    Ok(words)
}

/// `y = a op b`, broadcasting as numpy. `y` may be `a` or `b` when that operand already
/// has `y`'s shape (in place); otherwise it must not overlap them.
pub fn binary_forward(
    dev: &Device,
    op: BinaryOp,
    a: &DeviceTensor,
    b: &DeviceTensor,
    y: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "binary_forward";
    let layout = broadcast_layout(OP, a, b, y)?;
    for t in [a, b] {
        if t != y {
            distinct(OP, y, &[t])?;
        }
    }
    let (dtype, [pa, pb, py]) = floats(dev, OP, [a, b, y])?;
    if y.len == 0 {
        return Ok(());
    }
    let args = [
        Arg::I32(op as i32),
        Arg::Words(layout),
        Arg::Ptr(pa),
        Arg::Ptr(pb),
        Arg::Ptr(py),
        Arg::U64(y.len as u64),
    ];
    dev.launch(
        Kernel::BinaryForward,
        dtype,
        elementwise_launch(y.len),
        &args,
    )
}

/// `ga += ∂(a op b)/∂a · g` and `gb += ∂(a op b)/∂b · g`, each summed over the output
/// elements its operand was broadcast to; a `None` gradient is skipped. `ga` and `gb` may
/// be one tensor (for `x op x`).
#[allow(clippy::too_many_arguments)]
pub fn binary_backward(
    dev: &Device,
    op: BinaryOp,
    a: &DeviceTensor,
    b: &DeviceTensor,
    y: &DeviceTensor,
    g: &DeviceTensor,
    ga: Option<&DeviceTensor>,
    gb: Option<&DeviceTensor>,
) -> Result<()> {
    const OP: &str = "binary_backward";
    let layout = broadcast_layout(OP, a, b, y)?;
    same_shape(OP, y, g)?;
    for (which, operand, grad) in [(0, a, ga), (1, b, gb)] {
        let Some(grad) = grad else { continue };
        same_shape(OP, operand, grad)?;
        distinct(OP, grad, &[a, b, y, g])?;
        let (dtype, [pa, pb, py, pg, pgrad]) = floats(dev, OP, [a, b, y, g, grad])?;
        if y.len == 0 || grad.len == 0 {
            continue;
        }
        let args = [
            Arg::I32(op as i32),
            Arg::Words(layout),
            Arg::I32(which),
            Arg::Ptr(pa),
            Arg::Ptr(pb),
            Arg::Ptr(py),
            Arg::Ptr(pg),
            Arg::Ptr(pgrad),
            Arg::U64(grad.len as u64),
        ];
        dev.launch(
            Kernel::BinaryBackward,
            dtype,
            elementwise_launch(grad.len),
            &args,
        )?;
    }
    Ok(())
}

/// Activations a fused layer accepts: those whose derivative its output determines.
pub(crate) fn check_layer_activation(act: Activation) -> Result<()> {
    if act.output_determines_derivative() {
        Ok(())
    } else {
        Err(CudaError::InvalidArgument(
            "fused layer activation must be identity, relu, sigmoid, tanh or exp",
        ))
    }
}

/// In place on `y` (`rows × cols`, the product `x·W`): `y = act(y + bias)` with `bias`
/// (`[cols]`) added to every row.
pub fn bias_act_forward(
    dev: &Device,
    act: Activation,
    bias: &DeviceTensor,
    y: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "bias_act_forward";
    check_layer_activation(act)?;
    if y.shape.rank() != 2 || bias.dims() != [y.dims()[1]] {
        return Err(shape_error(OP, &[y, bias]));
    }
    distinct(OP, y, &[bias])?;
    let (dtype, [pb, py]) = floats(dev, OP, [bias, y])?;
    if y.len == 0 {
        return Ok(());
    }
    let (rows, cols) = (y.dims()[0] as u64, y.dims()[1] as u64);
    let args = [
        act_code(act),
        Arg::U64(rows),
        Arg::U64(cols),
        Arg::Ptr(pb),
        Arg::Ptr(py),
    ];
    dev.launch(
        Kernel::BiasActForward,
        dtype,
        elementwise_launch(y.len),
        &args,
    )
}

/// `dz = g · act'(y)` from the output `y` alone (written, not accumulated).
pub fn act_output_backward(
    dev: &Device,
    act: Activation,
    y: &DeviceTensor,
    g: &DeviceTensor,
    dz: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "act_output_backward";
    check_layer_activation(act)?;
    same_shape(OP, y, g)?;
    same_shape(OP, y, dz)?;
    distinct(OP, dz, &[y, g])?;
    let (dtype, [py, pg, pdz]) = floats(dev, OP, [y, g, dz])?;
    if y.len == 0 {
        return Ok(());
    }
    let args = [
        act_code(act),
        Arg::Ptr(py),
        Arg::Ptr(pg),
        Arg::Ptr(pdz),
        Arg::U64(y.len as u64),
    ];
    dev.launch(
        Kernel::ActOutputBackward,
        dtype,
        elementwise_launch(y.len),
        &args,
    )
}
