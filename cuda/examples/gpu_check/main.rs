//! GPU parity check: every op's forward and backward on the GPU against the CPU backend
//! (`autodiff-core`'s tape, same element type, same inputs), then the same through the
//! tape: a tape with the GPU attached (`Tape::attach_device`, inputs made with
//! `tensor_input_on`) runs every tensor op's graph, reduced to a loss by a fixed weighted
//! sum, against the same graph on the host tape, loss and every input gradient, f32 and
//! f64. Then the MLP demo (10 → 100 → 10, ReLU, softmax cross-entropy, SGD) trained on
//! the CPU tape, on the GPU with raw ops, and through a tape with its parameters on the GPU
//! (`parameter_on`, the tape's optimizer): losses compared step by step, device memory
//! after each tape step checked constant (reset rewinds it), and the GPU step's median
//! time both ways (through the tape: recording, forward, backward, optimizer step and
//! reading the loss, what a user's training loop costs).
//!
//! It needs a GPU and cannot run on the CPU-only build machines: there it prints why and
//! exits with status 77 ("skipped"), which `make cuda-test` checks. `tests/gpu/run.sh`
//! runs the binary built here on a GPU machine, without Rust.
//!
//! Tolerances, |gpu − cpu| ≤ atol + rtol·|cpu|:
//!
//! | ops | f32 rtol / atol | f64 rtol / atol |
//! |---|---|---|
//! | elementwise, broadcasting, optimizers | 1e-5 / 1e-6 | 1e-12 / 1e-14 |
//! | reductions, softmax, cross-entropy, mse, matmul, linear, MLP losses | 1e-4 / 1e-5 | 1e-10 / 1e-12 |
//!
//! The tape-level cases all use the second row: their loss is a sum. A failure on the
//! tape's path prints the device's full message (`Device::last_error`).
//!
//! Exit status: 0 all checks passed, 1 a check failed, 77 no GPU.

use autodiff_core::{
    Activation, Adam, DeviceId, Error as CoreError, Float, Optimizer, ParamId, Sgd, Tape, TensorId,
};
use autodiff_cuda::ops::{self, BinaryOp, ParamBuffers, Reduction, Softmax, Transpose};
use autodiff_cuda::{CudaError, DType, Device, DeviceScalar, DeviceTensor};
use std::mem::MaybeUninit;
use std::time::Instant;

mod mlp;
mod op_cases;
mod report;
mod tape_cases;
use mlp::*;
use op_cases::*;
use report::*;
use tape_cases::*;

fn main() {
    std::process::exit(run());
}

/// Everything but the exit, so the device is dropped (its memory freed, which
/// compute-sanitizer's leak check looks at) before the process ends.
fn run() -> i32 {
    let info = match Device::probe() {
        Ok(info) => info,
        Err(e) => {
            println!("gpu_check: skipped: {e}");
            return 77;
        }
    };
    println!(
        "gpu_check: {} (compute {}.{}), {} MiB total, {} MiB free",
        info.name,
        info.compute_capability.0,
        info.compute_capability.1,
        info.total_memory >> 20,
        info.free_memory >> 20
    );
    let dev = match Device::open(0, 256 << 20) {
        Ok(dev) => dev,
        Err(e) => {
            println!("FAIL open: {e}");
            return 1;
        }
    };
    let mut report = Report::default();
    let mut rng = Rng(0x5EED);
    op_cases::<f32>(&dev, &mut report, &mut rng);
    op_cases::<f64>(&dev, &mut report, &mut rng);
    optimizer_cases::<f32>(&dev, &mut report, &mut rng);
    optimizer_cases::<f64>(&dev, &mut report, &mut rng);
    tape_op_cases::<f32>(&dev, &mut report, &mut rng);
    tape_op_cases::<f64>(&dev, &mut report, &mut rng);
    mlp(&dev, &mut report, &mut rng);
    if let Err(e) = dev.synchronize() {
        report.error("final synchronize", e);
    }
    drop(dev);
    println!(
        "gpu_check: {} checks passed, {} failed",
        report.passed,
        report.failed.len()
    );
    i32::from(!report.failed.is_empty())
}
