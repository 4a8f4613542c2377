//! The MLP demo trained on the CPU tape, on the GPU with raw ops, and through a tape
//! with its parameters on the GPU; losses compared step by step, and the step timed.

use super::*;

/// The median of `TIMED_STEPS` timings of `step`, in microseconds, after the warm steps
/// the caller ran; NaN when GPU_CHECK_NO_TIMING is set (under compute-sanitizer).
pub fn median_micros<E>(mut step: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    const TIMED_STEPS: usize = 50;
    if std::env::var_os("GPU_CHECK_NO_TIMING").is_some() {
        return Ok(f64::NAN);
    }
    let mut times = Vec::with_capacity(TIMED_STEPS);
    for _ in 0..TIMED_STEPS {
        let start = Instant::now();
        step()?;
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[TIMED_STEPS / 2])
}

pub const INPUT: usize = 10;
pub const HIDDEN: usize = 100;
pub const CLASSES: usize = 10;
/// The MLP's parameters: W1, b1, W2, b2.
pub const MLP_SHAPES: [&[usize]; 4] = [&[INPUT, HIDDEN], &[HIDDEN], &[HIDDEN, CLASSES], &[CLASSES]];

/// The MLP's parameters on `device` of `tape` (new, or just reset), from `init`, with
/// `sgd` as the tape's optimizer.
pub fn tape_mlp(
    tape: &Tape<'_, f32>,
    device: DeviceId,
    init: &[Vec<f32>],
    sgd: Sgd,
) -> Result<Vec<ParamId>, CoreError> {
    let params = MLP_SHAPES
        .iter()
        .zip(init)
        .map(|(dims, w)| tape.parameter_on(device, dims, w))
        .collect::<Result<Vec<_>, _>>()?;
    tape.set_optimizer(Optimizer::Sgd(sgd))?;
    Ok(params)
}

/// One training step through the tape, the input put on `device` (where the parameters
/// `p` live): record, forward, backward, optimizer step; returns the step's loss.
pub fn tape_mlp_step(
    tape: &mut Tape<'_, f32>,
    device: DeviceId,
    p: &[ParamId],
    x: &[f32],
    labels: &[u32],
) -> Result<f32, CoreError> {
    tape.reset();
    let xin = tape.tensor_input_on(device, &[labels.len(), INPUT], x);
    let h = tape.linear(xin, tape.param(p[0]), tape.param(p[1]), Activation::Relu);
    let logits = tape.linear(h, tape.param(p[2]), tape.param(p[3]), Activation::Identity);
    let loss = tape.cross_entropy(logits, labels);
    tape.status()?;
    tape.backward(loss.as_var())?;
    let value = tape.value(loss.as_var())?;
    tape.optimizer_step()?;
    Ok(value)
}

/// The MLP demo: 10 → 100 (ReLU) → 10, softmax cross-entropy, SGD; the same steps on the
/// CPU tape, on the GPU with raw ops, and through a tape with the GPU attached, losses
/// compared, then the GPU step's median time both ways at two batch sizes.
pub fn mlp(dev: &Device, report: &mut Report, rng: &mut Rng) {
    let sgd = Sgd {
        lr: 0.05,
        momentum: 0.0,
        weight_decay: 0.0,
    };
    let init: Vec<Vec<f32>> = vec![
        rng.vec(INPUT * HIDDEN, -0.3, 0.3),
        vec![0.0; HIDDEN],
        rng.vec(HIDDEN * CLASSES, -0.3, 0.3),
        vec![0.0; CLASSES],
    ];
    for batch in [64usize, 4096] {
        let x: Vec<f32> = rng.vec(batch * INPUT, -1.0, 1.0);
        let labels: Vec<u32> = (0..batch)
            .map(|_| (rng.unit() * CLASSES as f64) as u32)
            .collect();
        let steps = 20;

        // CPU reference.
        let mut mem = vec![MaybeUninit::<u8>::uninit(); 1 << 26];
        let mut tape = Tape::<f32>::new(&mut mem).expect("tape");
        let host = DeviceId::HOST;
        let cpu_losses = tape_mlp(&tape, host, &init, sgd).and_then(|p| {
            (0..steps)
                .map(|_| tape_mlp_step(&mut tape, host, &p, &x, &labels))
                .collect::<Result<Vec<f32>, _>>()
        });
        let cpu_losses = match cpu_losses {
            Ok(losses) => losses,
            Err(e) => {
                report.error(&format!("MLP batch {batch} on the CPU tape"), e);
                continue;
            }
        };

        let mark = dev.mark();
        let raw = || -> Result<(Vec<f32>, f64), CudaError> {
            let f = DType::F32;
            let (dw1, db1, dw2, db2) = (
                dev.upload(MLP_SHAPES[0], &init[0])?,
                dev.upload(MLP_SHAPES[1], &init[1])?,
                dev.upload(MLP_SHAPES[2], &init[2])?,
                dev.upload(MLP_SHAPES[3], &init[3])?,
            );
            let grads = [
                dev.alloc(f, MLP_SHAPES[0])?,
                dev.alloc(f, MLP_SHAPES[1])?,
                dev.alloc(f, MLP_SHAPES[2])?,
                dev.alloc(f, MLP_SHAPES[3])?,
            ];
            let xd = dev.upload(&[batch, INPUT], &x)?;
            let ld = dev.upload(&[batch], &labels)?;
            let h = dev.alloc(f, &[batch, HIDDEN])?;
            let gh = dev.alloc(f, &[batch, HIDDEN])?;
            let logits = dev.alloc(f, &[batch, CLASSES])?;
            let glogits = dev.alloc(f, &[batch, CLASSES])?;
            let probs = dev.alloc(f, &[batch, CLASSES])?;
            let loss = dev.alloc(f, &[])?;
            let one = dev.upload(&[], &[1.0f32])?;
            let mut losses = Vec::new();
            let step = |record: bool, losses: &mut Vec<f32>| -> Result<(), CudaError> {
                ops::linear_forward(dev, Activation::Relu, &xd, &dw1, &db1, &h)?;
                ops::linear_forward(dev, Activation::Identity, &h, &dw2, &db2, &logits)?;
                ops::cross_entropy_forward(dev, &logits, &ld, &probs, &loss)?;
                if record {
                    let mut l = [0.0f32];
                    dev.read(&loss, &mut l)?;
                    losses.push(l[0]);
                }
                for t in grads.iter().chain([&gh, &glogits]) {
                    dev.zero(t)?;
                }
                ops::cross_entropy_backward(dev, &probs, &ld, &one, &glogits)?;
                ops::linear_backward(
                    dev,
                    Activation::Identity,
                    &h,
                    &dw2,
                    &logits,
                    &glogits,
                    Some(&gh),
                    Some(&grads[2]),
                    Some(&grads[3]),
                )?;
                ops::linear_backward(
                    dev,
                    Activation::Relu,
                    &xd,
                    &dw1,
                    &h,
                    &gh,
                    None,
                    Some(&grads[0]),
                    Some(&grads[1]),
                )?;
                let params = [&dw1, &db1, &dw2, &db2];
                let buffers: Vec<ParamBuffers> = params
                    .iter()
                    .zip(&grads)
                    .map(|(w, g)| ParamBuffers {
                        w,
                        g,
                        state: [None, None],
                    })
                    .collect();
                ops::sgd_update_all(dev, &sgd, &buffers)
            };
            for _ in 0..steps {
                step(true, &mut losses)?;
            }
            // Timing: the median of timed steps after the warm ones above (no host read
            // inside, then a synchronize).
            let micros = median_micros(|| {
                step(false, &mut losses)?;
                dev.synchronize()
            })?;
            Ok((losses, micros))
        };
        let raw = raw();
        dev.rewind(mark).expect("rewind");

        // Through a tape with the GPU attached: what a user's training loop costs.
        let through_tape = || -> Result<(Vec<f32>, Vec<usize>, f64), String> {
            let failure = |e: CoreError| tape_failure(dev, e);
            let mut mem = vec![MaybeUninit::<u8>::uninit(); 1 << 24];
            let mut tape = Tape::<f32>::new(&mut mem).expect("tape");
            // SAFETY: the tape and the device stay on this thread.
            let gpu = unsafe { tape.attach_local_device(dev) }.map_err(failure)?;
            let mut train = || -> Result<(Vec<f32>, Vec<usize>, f64), String> {
                let p = tape_mlp(&tape, gpu, &init, sgd).map_err(failure)?;
                let mut losses = Vec::new();
                let mut arena_used = Vec::new();
                for _ in 0..steps {
                    losses.push(tape_mlp_step(&mut tape, gpu, &p, &x, &labels).map_err(failure)?);
                    arena_used.push(dev.arena_used());
                }
                // The loss is downloaded when it is recorded; the synchronize waits for
                // the backward and optimizer kernels queued after that.
                let micros = median_micros(|| {
                    tape_mlp_step(&mut tape, gpu, &p, &x, &labels).map_err(failure)?;
                    dev.synchronize().map_err(|e| e.to_string())
                })?;
                Ok((losses, arena_used, micros))
            };
            let result = train();
            // A device serves one tape at a time: let the next batch size's tape have it.
            tape.release_devices();
            result
        };
        let through_tape = through_tape();
        dev.rewind(mark).expect("rewind");

        let name = format!("MLP batch {batch}");
        let mut micros = (f64::NAN, f64::NAN);
        match raw {
            Ok((losses, raw_micros)) => {
                report.compare(
                    &format!("{name}: raw GPU ops, losses over {steps} steps"),
                    &losses,
                    &cpu_losses,
                    Tol::Accumulating,
                    DType::F32,
                );
                println!(
                    "{name}: raw GPU ops: loss {:.4} -> {:.4} (CPU {:.4} -> {:.4})",
                    losses[0],
                    losses[steps - 1],
                    cpu_losses[0],
                    cpu_losses[steps - 1]
                );
                micros.0 = raw_micros;
            }
            Err(e) => report.error(&format!("{name}, raw GPU ops"), e),
        }
        match through_tape {
            Ok((losses, arena_used, tape_micros)) => {
                report.compare(
                    &format!("{name}: through the tape, losses over {steps} steps"),
                    &losses,
                    &cpu_losses,
                    Tol::Accumulating,
                    DType::F32,
                );
                report.check(arena_used.iter().all(|&u| u == arena_used[0]), || {
                    format!(
                        "{name}: device arena bytes used after each tape step differ \
                         (reset must rewind device memory): {arena_used:?}"
                    )
                });
                println!(
                    "{name}: through the tape: loss {:.4} -> {:.4}; device arena {} bytes used after a step",
                    losses[0],
                    losses[steps - 1],
                    arena_used[0]
                );
                micros.1 = tape_micros;
            }
            Err(e) => report.error(&format!("{name}, through the tape"), e),
        }
        if std::env::var_os("GPU_CHECK_NO_TIMING").is_none() {
            println!(
                "{name}: GPU step median: raw ops {:.1} us, through the tape {:.1} us \
                 (record, forward, backward, SGD, loss read)",
                micros.0, micros.1
            );
        }
    }
}
