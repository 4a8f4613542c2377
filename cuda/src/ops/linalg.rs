//! Matrix products through cuBLAS, the fused layer `act(x·W + b)`, and the transpose.

use super::{
    act_output_backward, bias_act_forward, bias_grad, elementwise::check_layer_activation,
};
use super::{distinct, floats, shape_error, BLOCK, MAX_BLOCKS};
use crate::backend::{Arg, Gemm, Launch};
use crate::error::{CudaError, Result};
use crate::kernels::Kernel;
use crate::tensor::DeviceTensor;
use crate::Device;
use autodiff_core::Activation;

pub use autodiff_core::kernels::gemm::Transpose;

fn flip(t: Transpose) -> Transpose {
    match t {
        Transpose::No => Transpose::Yes,
        Transpose::Yes => Transpose::No,
    }
}

fn dim(d: u32) -> Result<i32> {
    i32::try_from(d).map_err(|_| CudaError::InvalidArgument("matmul: a dimension above i32::MAX"))
}

/// `c = alpha·op(a)·op(b) + beta·c` for 2-D tensors (`beta = 0`: `c` is only written).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    dev: &Device,
    a: &DeviceTensor,
    transpose_a: Transpose,
    b: &DeviceTensor,
    transpose_b: Transpose,
    c: &DeviceTensor,
    alpha: f64,
    beta: f64,
) -> Result<()> {
    const OP: &str = "matmul";
    if a.shape.rank() != 2 || b.shape.rank() != 2 || c.shape.rank() != 2 {
        return Err(shape_error(OP, &[a, b, c]));
    }
    let (ta, tb) = (transpose_a == Transpose::Yes, transpose_b == Transpose::Yes);
    let (ad, bd) = (a.dims(), b.dims());
    let (m, k) = if ta { (ad[1], ad[0]) } else { (ad[0], ad[1]) };
    let (k2, n) = if tb { (bd[1], bd[0]) } else { (bd[0], bd[1]) };
    if k != k2 || c.dims() != [m, n] {
        return Err(shape_error(OP, &[a, b, c]));
    }
    distinct(OP, c, &[a, b])?;
    let (dtype, [pa, pb, pc]) = floats(dev, OP, [a, b, c])?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    let gemm = Gemm {
        transpose_a: ta,
        transpose_b: tb,
        m: dim(m)?,
        n: dim(n)?,
        k: dim(k)?,
        alpha,
        a: pa,
        lda: dim(ad[1].max(1))?,
        b: pb,
        ldb: dim(bd[1].max(1))?,
        beta,
        c: pc,
        ldc: dim(n)?,
    };
    dev.gemm(dtype, &gemm)
}

/// The backward of `c = op(a)·op(b)`: `ga += ∂/∂a`, `gb += ∂/∂b` given `c`'s gradient
/// `g`; a `None` gradient is skipped.
#[allow(clippy::too_many_arguments)]
pub fn matmul_backward(
    dev: &Device,
    a: &DeviceTensor,
    transpose_a: Transpose,
    b: &DeviceTensor,
    transpose_b: Transpose,
    g: &DeviceTensor,
    ga: Option<&DeviceTensor>,
    gb: Option<&DeviceTensor>,
) -> Result<()> {
    // d op(a) = g·op(b)ᵀ, so ga += g·op(b)ᵀ, or its transpose op(b)·gᵀ when a is used
    // transposed; likewise d op(b) = op(a)ᵀ·g.
    if let Some(ga) = ga {
        match transpose_a {
            Transpose::No => matmul(dev, g, Transpose::No, b, flip(transpose_b), ga, 1.0, 1.0)?,
            Transpose::Yes => matmul(dev, b, transpose_b, g, Transpose::Yes, ga, 1.0, 1.0)?,
        }
    }
    if let Some(gb) = gb {
        match transpose_b {
            Transpose::No => matmul(dev, a, flip(transpose_a), g, Transpose::No, gb, 1.0, 1.0)?,
            Transpose::Yes => matmul(dev, g, Transpose::Yes, a, transpose_a, gb, 1.0, 1.0)?,
        }
    }
    Ok(())
}

/// The fused layer `y = act(x·w + bias)`: `x` `[batch, in]`, `w` `[in, out]`, `bias`
/// `[out]`, `y` `[batch, out]`. The activation must be one whose derivative its output
/// determines (identity, ReLU, sigmoid, tanh, exp), as on the CPU.
pub fn linear_forward(
    dev: &Device,
    act: Activation,
    x: &DeviceTensor,
    w: &DeviceTensor,
    bias: &DeviceTensor,
    y: &DeviceTensor,
) -> Result<()> {
    check_layer_activation(act)?;
    distinct("linear_forward", y, &[bias])?;
    matmul(dev, x, Transpose::No, w, Transpose::No, y, 1.0, 0.0)?;
    bias_act_forward(dev, act, bias, y)
}

/// The fused layer's backward from its output `y` and gradient `g`: `gx += dz·wᵀ`,
/// `gw += xᵀ·dz`, `gb += Σ_rows dz` with `dz = g·act'(y)` in arena scratch; a `None`
/// gradient is skipped.
#[allow(clippy::too_many_arguments)]
pub fn linear_backward(
    dev: &Device,
    act: Activation,
    x: &DeviceTensor,
    w: &DeviceTensor,
    y: &DeviceTensor,
    g: &DeviceTensor,
    gx: Option<&DeviceTensor>,
    gw: Option<&DeviceTensor>,
    gb: Option<&DeviceTensor>,
) -> Result<()> {
    check_layer_activation(act)?;
    if y.shape.rank() != 2 {
        return Err(shape_error("linear_backward", &[x, w, y]));
    }
    let dims = [y.dims()[0] as usize, y.dims()[1] as usize];
    dev.with_scratch(|| {
        let dz = dev.alloc(y.dtype, &dims)?;
        act_output_backward(dev, act, y, g, &dz)?;
        if let Some(gb) = gb {
            bias_grad(dev, &dz, gb)?;
        }
        matmul_backward(dev, x, Transpose::No, w, Transpose::No, &dz, gx, gw)
    })
}

/// Side of the tiles the transpose kernel moves (`TILE` in `kernels/transpose.cu`).
const TRANSPOSE_TILE: usize = 32;

/// `y = xᵀ` for 2-D `x` (`rows × cols`) and `y` (`cols × rows`), or `y += xᵀ` when
/// `accumulate` (a gradient). `y` must not overlap `x`, even when square: the transpose is
/// never in place.
pub fn transpose(dev: &Device, x: &DeviceTensor, y: &DeviceTensor, accumulate: bool) -> Result<()> {
    const OP: &str = "transpose";
    if x.shape.rank() != 2 || y.shape.rank() != 2 || y.dims() != [x.dims()[1], x.dims()[0]] {
        return Err(shape_error(OP, &[x, y]));
    }
    distinct(OP, y, &[x])?;
    let (dtype, [px, py]) = floats(dev, OP, [x, y])?;
    if x.len == 0 {
        return Ok(());
    }
    let (rows, cols) = (x.dims()[0] as usize, x.dims()[1] as usize);
    let tiles = rows.div_ceil(TRANSPOSE_TILE) as u64 * cols.div_ceil(TRANSPOSE_TILE) as u64;
    let args = [
        Arg::U64(rows as u64),
        Arg::U64(cols as u64),
        Arg::I32(accumulate.into()),
        Arg::Ptr(px),
        Arg::Ptr(py),
    ];
    // One tile per block up to the grid limit (the kernel loops past it), 8 warps each.
    let launch = Launch {
        grid: (tiles.min(MAX_BLOCKS) as u32, 1, 1),
        block: BLOCK,
    };
    dev.launch(Kernel::Transpose, dtype, launch, &args)
}
