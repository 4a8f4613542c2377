//! Each tensor op's forward and backward on a [`Device`], the calls a tape integration
//! makes. The formulas, conventions and accumulation rules are the CPU backend's
//! (`autodiff_core::tensor`): backward functions *add* into input gradients.
//!
//! Every function checks, before launching anything, that each tensor is the device's
//! and live, that element types agree, and that shapes fit; outputs may not overlap
//! inputs except where a function says so.

mod elementwise;
mod linalg;
mod loss;
mod optim;
mod reduce;

pub use elementwise::*;
pub use linalg::*;
pub use loss::*;
pub use optim::*;
pub use reduce::*;

use crate::backend::Launch;
use crate::error::{CudaError, Result};
use crate::kernels::DType;
use crate::tensor::DeviceTensor;
use crate::Device;

/// Threads per block for elementwise kernels.
const BLOCK: u32 = 256;
/// The most blocks an elementwise launch uses; the kernels loop (grid-stride) past it.
const MAX_BLOCKS: u64 = 65_535;

/// A launch covering `n` elements, one per thread.
fn elementwise_launch(n: usize) -> Launch {
    let blocks = (n as u64).div_ceil(BLOCK as u64).clamp(1, MAX_BLOCKS);
    Launch {
        grid: (blocks as u32, 1, 1),
        block: BLOCK,
    }
}

/// One block per row (up to the grid limit; the kernels loop past it), with a block of
/// whole warps no wider than the row needs.
fn row_launch(rows: usize, cols: usize) -> Launch {
    let block = (cols.div_ceil(32) * 32).clamp(32, BLOCK as usize) as u32;
    Launch {
        grid: ((rows as u64).clamp(1, MAX_BLOCKS) as u32, 1, 1),
        block,
    }
}

/// The common element type of floating tensors, checked on `dev`, and their addresses.
fn floats<const N: usize>(
    dev: &Device,
    op: &'static str,
    tensors: [&DeviceTensor; N],
) -> Result<(DType, [u64; N])> {
    let dtype = tensors[0].dtype;
    if dtype == DType::U32 {
        return Err(CudaError::DTypeMismatch {
            op,
            expected: DType::F32,
            found: DType::U32,
        });
    }
    let mut ptrs = [0; N];
    for (p, t) in ptrs.iter_mut().zip(tensors) {
        *p = dev.pointer(op, t, dtype)?;
    }
    Ok((dtype, ptrs))
}

fn same_shape(op: &'static str, a: &DeviceTensor, b: &DeviceTensor) -> Result<()> {
    if a.shape == b.shape {
        Ok(())
    } else {
        Err(shape_error(op, &[a, b]))
    }
}

fn shape_error(op: &'static str, tensors: &[&DeviceTensor]) -> CudaError {
    let detail = tensors
        .iter()
        .map(|t| format!("{:?}", t.dims()))
        .collect::<Vec<_>>()
        .join(" vs ");
    CudaError::ShapeMismatch { op, detail }
}

/// Fails when `out` shares bytes with any of `inputs`.
fn distinct(op: &'static str, out: &DeviceTensor, inputs: &[&DeviceTensor]) -> Result<()> {
    if inputs.iter().any(|t| t.overlaps(out)) {
        return Err(CudaError::ShapeMismatch {
            op,
            detail: "of an output and an input overlap in memory".into(),
        });
    }
    Ok(())
}

/// (rows, cols) of a tensor viewed as rows along its last axis.
fn rows_of(t: &DeviceTensor) -> (usize, usize) {
    let cols = t.dims().last().map_or(1, |&d| d as usize);
    (t.len.checked_div(cols).unwrap_or(0), cols)
}
