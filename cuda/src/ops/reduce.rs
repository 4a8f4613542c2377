//! Sums and means, over everything or along one axis (which the result drops, as the
//! CPU backend's `sum_axis`), and their backward.

use super::{distinct, elementwise_launch, floats, row_launch, shape_error};
use crate::backend::Arg;
use crate::error::Result;
use crate::kernels::Kernel;
use crate::tensor::DeviceTensor;
use crate::Device;

/// Which reduction: the core's, which the tape passes through
/// [`TensorDevice`](autodiff_core::TensorDevice).
pub use autodiff_core::tensor::device::Reduction;

/// The input viewed as (outer, len, inner) around the reduced axis, and the scale.
struct Plan {
    outer: usize,
    len: usize,
    inner: usize,
    scale: f64,
}

/// The plan for reducing `x` into `y`, after checking `y`'s shape.
fn plan(
    op: &'static str,
    reduction: Reduction,
    x: &DeviceTensor,
    y: &DeviceTensor,
) -> Result<Plan> {
    let dims = x.dims();
    let (outer, len, inner, out_dims): (usize, usize, usize, Vec<u32>) = match reduction {
        Reduction::Sum | Reduction::Mean => (1, x.len, 1, vec![]),
        Reduction::SumAxis(axis) | Reduction::MeanAxis(axis) => {
            if axis >= dims.len() {
                return Err(shape_error(op, &[x]));
            }
            let product = |d: &[u32]| d.iter().map(|&d| d as usize).product::<usize>();
            let kept = dims
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != axis)
                .map(|(_, &d)| d);
            (
                product(&dims[..axis]),
                dims[axis] as usize,
                product(&dims[axis + 1..]),
                kept.collect(),
            )
        }
    };
    if y.dims() != out_dims.as_slice() {
        return Err(shape_error(op, &[x, y]));
    }
    let scale = match reduction {
        Reduction::Mean | Reduction::MeanAxis(_) => 1.0 / len.max(1) as f64,
        _ => 1.0,
    };
    Ok(Plan {
        outer,
        len,
        inner,
        scale,
    })
}

/// `y = scale · Σ x` along the plan's axis; `accumulate` adds into `y` instead.
fn reduce(
    dev: &Device,
    op: &'static str,
    p: &Plan,
    x: &DeviceTensor,
    y: &DeviceTensor,
    accumulate: bool,
) -> Result<()> {
    distinct(op, y, &[x])?;
    let (dtype, [px, py]) = floats(dev, op, [x, y])?;
    let outputs = p.outer * p.inner;
    if outputs == 0 {
        return Ok(());
    }
    let acc = Arg::I32(accumulate.into());
    if p.inner == 1 {
        let args = [
            Arg::U64(p.outer as u64),
            Arg::U64(p.len as u64),
            Arg::Real(p.scale),
            acc,
            Arg::Ptr(px),
            Arg::Ptr(py),
        ];
        dev.launch(Kernel::ReduceRows, dtype, row_launch(p.outer, p.len), &args)
    } else {
        let args = [
            Arg::U64(p.outer as u64),
            Arg::U64(p.len as u64),
            Arg::U64(p.inner as u64),
            Arg::Real(p.scale),
            acc,
            Arg::Ptr(px),
            Arg::Ptr(py),
        ];
        dev.launch(
            Kernel::ReduceCols,
            dtype,
            elementwise_launch(outputs),
            &args,
        )
    }
}

/// `y = reduction(x)`.
pub fn reduce_forward(
    dev: &Device,
    reduction: Reduction,
    x: &DeviceTensor,
    y: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "reduce_forward";
    let p = plan(OP, reduction, x, y)?;
    reduce(dev, OP, &p, x, y, false)
}

/// `gx += ∂reduction/∂x · g`: `g` (the result's gradient) spread back over the axis.
pub fn reduce_backward(
    dev: &Device,
    reduction: Reduction,
    g: &DeviceTensor,
    gx: &DeviceTensor,
) -> Result<()> {
    const OP: &str = "reduce_backward";
    let p = plan(OP, reduction, gx, g)?;
    distinct(OP, gx, &[g])?;
    let (dtype, [pg, pgx]) = floats(dev, OP, [g, gx])?;
    if gx.len == 0 {
        return Ok(());
    }
    let args = [
        Arg::U64(p.outer as u64),
        Arg::U64(p.len as u64),
        Arg::U64(p.inner as u64),
        Arg::Real(p.scale),
        Arg::Ptr(pg),
        Arg::Ptr(pgx),
    ];
    dev.launch(
        Kernel::ReduceBackward,
        dtype,
        elementwise_launch(gx.len),
        &args,
    )
}

/// The fused layer's bias gradient: `gb += Σ_rows dz` for `dz` (`rows × cols`) and `gb`
/// (`[cols]`).
pub fn bias_grad(dev: &Device, dz: &DeviceTensor, gb: &DeviceTensor) -> Result<()> {
    const OP: &str = "bias_grad";
    if dz.shape.rank() != 2 {
        return Err(shape_error(OP, &[dz, gb]));
    }
    let p = plan(OP, Reduction::SumAxis(0), dz, gb)?;
    reduce(dev, OP, &p, dz, gb, true)
}
