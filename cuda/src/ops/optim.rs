//! Optimizer updates in place, with the CPU backend's formulas (`autodiff_core::Sgd`,
//! `autodiff_core::Adam`): one tensor at a time, or every parameter in one launch.

use super::{distinct, elementwise_launch, floats, same_shape, BLOCK, MAX_BLOCKS};
use crate::backend::{Arg, Launch};
use crate::error::{CudaError, Result};
use crate::kernels::{DType, Kernel};
use crate::tensor::DeviceTensor;
use crate::Device;
use autodiff_core::{Adam, Sgd};

/// One parameter for the multi-tensor updates: its value, its gradient and the optimizer
/// state (SGD: the velocity in `state[0]` when momentum is non-zero; Adam: the two
/// moments).
#[derive(Clone, Copy, Debug)]
pub struct ParamBuffers<'a> {
    pub w: &'a DeviceTensor,
    pub g: &'a DeviceTensor,
    pub state: [Option<&'a DeviceTensor>; 2],
}

/// Checks one parameter; returns (dtype, [w, g, s0, s1] addresses, 0 for no state).
fn check_param(
    dev: &Device,
    op: &'static str,
    p: &ParamBuffers,
    states: usize,
) -> Result<(DType, [u64; 4])> {
    same_shape(op, p.w, p.g)?;
    distinct(op, p.w, &[p.g])?;
    let (dtype, [pw, pg]) = floats(dev, op, [p.w, p.g])?;
    let mut ptrs = [pw, pg, 0, 0];
    for (i, state) in p.state.iter().enumerate() {
        match (i < states, state) {
            (true, Some(s)) => {
                same_shape(op, p.w, s)?;
                distinct(op, s, &[p.w, p.g])?;
                ptrs[2 + i] = dev.pointer(op, s, dtype)?;
            }
            (true, None) => {
                return Err(CudaError::InvalidArgument("optimizer state tensor missing"))
            }
            (false, _) => {}
        }
    }
    if let (Some(a), Some(b)) = (p.state[0], p.state[1]) {
        if states == 2 {
            distinct(op, a, &[b])?;
        }
    }
    Ok((dtype, ptrs))
}

fn sgd_states(s: &Sgd) -> usize {
    usize::from(s.momentum != 0.0)
}

/// The Adam step's scalars after `step` (≥ 1) updates: (lr / (1 − β1ᵗ), 1 / √(1 − β2ᵗ),
/// 1 − lr·decay), as the CPU backend computes them.
fn adam_scalars(a: &Adam, step: u64) -> Result<[Arg; 7]> {
    if step == 0 {
        return Err(CudaError::InvalidArgument(
            "adam: the step count starts at 1",
        ));
    }
    let t = step.min(i32::MAX as u64) as f64;
    let correction1 = 1.0 - a.beta1.powf(t);
    let correction2 = 1.0 - a.beta2.powf(t);
    Ok([
        Arg::Real(a.lr / correction1),
        Arg::Real(a.beta1),
        Arg::Real(a.beta2),
        Arg::Real(a.eps),
        Arg::Real(1.0 / correction2.sqrt()),
        Arg::Real(a.weight_decay),
        Arg::Real(1.0 - a.lr * a.weight_decay),
    ])
}

/// SGD on one tensor; `velocity` is needed when momentum is non-zero.
pub fn sgd_update(
    dev: &Device,
    s: &Sgd,
    w: &DeviceTensor,
    g: &DeviceTensor,
    velocity: Option<&DeviceTensor>,
) -> Result<()> {
    let p = ParamBuffers {
        w,
        g,
        state: [velocity, None],
    };
    let (dtype, [pw, pg, pv, _]) = check_param(dev, "sgd_update", &p, sgd_states(s))?;
    if w.len == 0 {
        return Ok(());
    }
    let args = [
        Arg::U64(w.len as u64),
        Arg::Ptr(pw),
        Arg::Ptr(pg),
        Arg::Ptr(pv),
        Arg::Real(s.lr),
        Arg::Real(s.momentum),
        Arg::Real(s.weight_decay),
    ];
    dev.launch(Kernel::Sgd, dtype, elementwise_launch(w.len), &args)
}

/// Adam (AdamW when `decoupled_weight_decay`) on one tensor, the `step`-th update (≥ 1).
pub fn adam_update(
    dev: &Device,
    a: &Adam,
    step: u64,
    w: &DeviceTensor,
    g: &DeviceTensor,
    m: &DeviceTensor,
    v: &DeviceTensor,
) -> Result<()> {
    let p = ParamBuffers {
        w,
        g,
        state: [Some(m), Some(v)],
    };
    let (dtype, [pw, pg, pm, pv]) = check_param(dev, "adam_update", &p, 2)?;
    let scalars = adam_scalars(a, step)?;
    if w.len == 0 {
        return Ok(());
    }
    let mut args = vec![
        Arg::U64(w.len as u64),
        Arg::Ptr(pw),
        Arg::Ptr(pg),
        Arg::Ptr(pm),
        Arg::Ptr(pv),
    ];
    args.extend(scalars);
    args.push(Arg::I32(a.decoupled_weight_decay.into()));
    dev.launch(Kernel::Adam, dtype, elementwise_launch(w.len), &args)
}

/// Checks every parameter, uploads the table of slots into arena scratch and launches
/// `kernel` once with `blockIdx.y` over the parameters.
fn update_all(
    dev: &Device,
    op: &'static str,
    kernel: Kernel,
    params: &[ParamBuffers],
    states: usize,
    scalars: &[Arg],
) -> Result<()> {
    if params.is_empty() {
        return Ok(());
    }
    if params.len() > MAX_BLOCKS as usize {
        return Err(CudaError::InvalidArgument(
            "multi-tensor update: more than 65535 tensors",
        ));
    }
    let mut table = Vec::with_capacity(params.len() * 5);
    let mut dtype = None;
    let mut longest = 0;
    for p in params {
        let (d, ptrs) = check_param(dev, op, p, states)?;
        if *dtype.get_or_insert(d) != d {
            return Err(CudaError::DTypeMismatch {
                op,
                expected: dtype.unwrap_or(d),
                found: d,
            });
        }
        table.extend(ptrs);
        table.push(p.w.len as u64);
        longest = longest.max(p.w.len);
    }
    let dtype = dtype.unwrap_or(DType::F32);
    // Slots must not be updated twice in one launch: parameters may not share memory.
    for (i, p) in params.iter().enumerate() {
        for q in &params[i + 1..] {
            distinct(op, p.w, &[q.w])?;
        }
    }
    dev.with_scratch(|| {
        let words = dev.alloc(DType::U32, &[table.len() * 2])?;
        let bytes: Vec<u8> = table.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let address = dev.write_bytes(&words, &bytes)?;
        let launch = Launch {
            grid: (elementwise_launch(longest).grid.0, params.len() as u32, 1),
            block: BLOCK,
        };
        let mut args = vec![Arg::Ptr(address)];
        args.extend_from_slice(scalars);
        dev.launch(kernel, dtype, launch, &args)
    })
}

/// SGD on every parameter in one launch.
pub fn sgd_update_all(dev: &Device, s: &Sgd, params: &[ParamBuffers]) -> Result<()> {
    let scalars = [
        Arg::Real(s.lr),
        Arg::Real(s.momentum),
        Arg::Real(s.weight_decay),
    ];
    update_all(
        dev,
        "sgd_update_all",
        Kernel::SgdMulti,
        params,
        sgd_states(s),
        &scalars,
    )
}

/// Adam on every parameter in one launch, the `step`-th update (≥ 1).
pub fn adam_update_all(dev: &Device, a: &Adam, step: u64, params: &[ParamBuffers]) -> Result<()> {
    let mut scalars = adam_scalars(a, step)?.to_vec();
    scalars.push(Arg::I32(a.decoupled_weight_decay.into()));
    update_all(
        dev,
        "adam_update_all",
        Kernel::AdamMulti,
        params,
        2,
        &scalars,
    )
}
