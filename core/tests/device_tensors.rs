//! Tensors on a device, through the reference CPU device (`CpuDevice`): every op's value
//! and gradients equal the host's, training with device parameters follows the host's
//! trajectory, transfers carry gradients both ways, rank-0 device results mix with
//! scalar ops, reset gives device memory back, and every misuse is a clear error that
//! `reset` clears.

mod common;
use common::memory;

use autodiff_core::checkpoint::segment_fn;
use autodiff_core::tensor::device::CpuDevice;
use autodiff_core::{
    Activation, Adam, DeviceId, Error, Optimizer, Sgd, Tape, TensorDevice, TensorId,
};
use common::{assert_close, Rng};
use std::sync::atomic::{AtomicUsize, Ordering};

fn random(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.uniform(lo, hi)).collect()
}

/// One tensor input of a case: its shape and the range its values are drawn from.
struct Input {
    dims: &'static [usize],
    lo: f64,
    hi: f64,
}

const fn input(dims: &'static [usize]) -> Input {
    Input {
        dims,
        lo: -1.5,
        hi: 1.5,
    }
}

const fn positive(dims: &'static [usize]) -> Input {
    Input {
        dims,
        lo: 0.3,
        hi: 2.0,
    }
}

type Build = fn(&Tape<'_, f64>, &[TensorId]) -> TensorId;

/// Every tensor op, each as a graph from its inputs to one tensor.
fn cases() -> Vec<(&'static str, Vec<Input>, Build)> {
    vec![
        ("matmul", vec![input(&[3, 4]), input(&[4, 5])], |t, x| {
            t.matmul(x[0], x[1])
        }),
        ("matmul_tn", vec![input(&[4, 3]), input(&[4, 5])], |t, x| {
            t.matmul_t(x[0], x[1], true, false)
        }),
        ("matmul_nt", vec![input(&[3, 4]), input(&[5, 4])], |t, x| {
            t.matmul_t(x[0], x[1], false, true)
        }),
        ("matmul_tt", vec![input(&[4, 3]), input(&[5, 4])], |t, x| {
            t.matmul_t(x[0], x[1], true, true)
        }),
        (
            "linear_relu",
            vec![input(&[3, 4]), input(&[4, 5]), input(&[5])],
            |t, x| t.linear(x[0], x[1], x[2], Activation::Relu),
        ),
        (
            "linear_identity",
            vec![input(&[3, 4]), input(&[4, 5]), input(&[5])],
            |t, x| t.linear(x[0], x[1], x[2], Activation::Identity),
        ),
        (
            "linear_tanh",
            vec![input(&[3, 4]), input(&[4, 5]), input(&[5])],
            |t, x| t.linear(x[0], x[1], x[2], Activation::Tanh),
        ),
        (
            "linear_sigmoid",
            vec![input(&[3, 4]), input(&[4, 5]), input(&[5])],
            |t, x| t.linear(x[0], x[1], x[2], Activation::Sigmoid),
        ),
        (
            "linear_exp",
            vec![input(&[3, 4]), input(&[4, 5]), input(&[5])],
            |t, x| t.linear(x[0], x[1], x[2], Activation::Exp),
        ),
        (
            "add_broadcast",
            vec![input(&[3, 4]), input(&[4])],
            |t, x| t.tensor_add(x[0], x[1]),
        ),
        (
            "sub_broadcast",
            vec![input(&[3, 1]), input(&[1, 4])],
            |t, x| t.tensor_sub(x[0], x[1]),
        ),
        (
            "mul_broadcast",
            vec![input(&[2, 3, 4]), input(&[3, 1])],
            |t, x| t.tensor_mul(x[0], x[1]),
        ),
        ("div", vec![input(&[3, 4]), positive(&[3, 4])], |t, x| {
            t.tensor_div(x[0], x[1])
        }),
        ("mul_self", vec![input(&[3, 4])], |t, x| {
            t.tensor_mul(x[0], x[0])
        }),
        ("scale", vec![input(&[3, 4])], |t, x| t.scale(x[0], -2.5)),
        ("relu", vec![input(&[3, 4])], |t, x| t.relu(x[0])),
        ("leaky_relu", vec![input(&[3, 4])], |t, x| {
            t.leaky_relu(x[0], 0.1)
        }),
        ("sigmoid", vec![input(&[3, 4])], |t, x| {
            t.tensor_sigmoid(x[0])
        }),
        ("tanh", vec![input(&[3, 4])], |t, x| t.tensor_tanh(x[0])),
        ("gelu", vec![input(&[3, 4])], |t, x| t.gelu(x[0])),
        ("exp", vec![input(&[3, 4])], |t, x| t.tensor_exp(x[0])),
        ("log", vec![positive(&[3, 4])], |t, x| t.tensor_log(x[0])),
        ("sqrt", vec![positive(&[3, 4])], |t, x| t.tensor_sqrt(x[0])),
        ("square", vec![input(&[3, 4])], |t, x| t.square(x[0])),
        ("sum", vec![input(&[3, 4])], |t, x| t.sum(x[0])),
        ("mean", vec![input(&[3, 4])], |t, x| t.mean(x[0])),
        ("sum_axis0", vec![input(&[3, 4])], |t, x| {
            t.sum_axis(x[0], 0)
        }),
        ("mean_axis1", vec![input(&[3, 4])], |t, x| {
            t.mean_axis(x[0], 1)
        }),
        ("sum_axis_middle", vec![input(&[2, 3, 4])], |t, x| {
            t.sum_axis(x[0], 1)
        }),
        ("reshape", vec![input(&[3, 4])], |t, x| {
            t.reshape(x[0], &[2, 6])
        }),
        ("transpose", vec![input(&[3, 4])], |t, x| t.transpose(x[0])),
        ("softmax", vec![input(&[3, 4])], |t, x| t.softmax(x[0])),
        ("log_softmax", vec![input(&[3, 4])], |t, x| {
            t.log_softmax(x[0])
        }),
        ("cross_entropy", vec![input(&[3, 4])], |t, x| {
            t.cross_entropy(x[0], &[2, 0, 3])
        }),
        ("mse", vec![input(&[3, 4]), input(&[3, 4])], |t, x| {
            t.mse(x[0], x[1])
        }),
    ]
}

/// The case's output weighted by fixed numbers and summed: a scalar whose gradient
/// reaches every output element differently.
fn weighted_sum(tape: &Tape<'_, f64>, y: TensorId, device: DeviceId) -> TensorId {
    let shape = tape.tensor_shape(y).unwrap();
    let dims: Vec<usize> = shape.dims().iter().map(|&d| d as usize).collect();
    let n: usize = dims.iter().product();
    let weights: Vec<f64> = (0..n).map(|i| 0.5 + 0.25 * (i % 7) as f64).collect();
    let w = tape.tensor_constant_on(device, &dims, &weights);
    tape.sum(tape.tensor_mul(y, w))
}

/// The loss, every input's gradient, and the loss's tangent along `directions` (forward
/// mode) of case `build` on `device` (inputs created there).
fn run_case(
    tape: &Tape<'_, f64>,
    device: DeviceId,
    data: &[Vec<f64>],
    directions: &[Vec<f64>],
    inputs: &[Input],
    build: Build,
) -> (f64, Vec<Vec<f64>>, f64) {
    let xs: Vec<TensorId> = inputs
        .iter()
        .zip(data)
        .map(|(i, d)| tape.tensor_input_on(device, i.dims, d))
        .collect();
    let y = build(tape, &xs);
    let loss = weighted_sum(tape, y, device);
    tape.status().unwrap();
    assert_eq!(tape.tensor_device(loss).unwrap(), device);
    tape.backward(loss.as_var()).unwrap();
    let grads = xs
        .iter()
        .zip(data)
        .map(|(&x, d)| {
            let mut g = vec![0.0; d.len()];
            tape.tensor_grad(x, &mut g).unwrap();
            g
        })
        .collect();
    let mut value = [0.0];
    tape.tensor_value(loss, &mut value).unwrap();
    assert_eq!(
        value[0],
        tape.value(loss.as_var()).unwrap(),
        "rank-0 mirror"
    );
    for (&x, v) in xs.iter().zip(directions) {
        tape.seed_tensor_tangent(x, v).unwrap();
    }
    tape.jvp(&[]).unwrap();
    let mut tangent = [0.0];
    tape.tensor_tangent(loss, &mut tangent).unwrap();
    (value[0], grads, tangent[0])
}

#[test]
fn every_op_on_the_device_matches_the_host() {
    let mut rng = Rng::seeded("device every op");
    let mut device_memory = vec![0.0f64; 1 << 16];
    let device = CpuDevice::new(&mut device_memory);
    let mut mem = memory(1 << 20);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let dev = tape.attach_device(&device).unwrap();
    for (name, inputs, build) in cases() {
        let data: Vec<Vec<f64>> = inputs
            .iter()
            .map(|i| random(&mut rng, i.dims.iter().product(), i.lo, i.hi))
            .collect();
        let directions: Vec<Vec<f64>> = data
            .iter()
            .map(|d| random(&mut rng, d.len(), -1.0, 1.0))
            .collect();
        tape.reset();
        let (host_loss, host_grads, host_tangent) =
            run_case(&tape, DeviceId::HOST, &data, &directions, &inputs, build);
        tape.reset();
        let (dev_loss, dev_grads, dev_tangent) =
            run_case(&tape, dev, &data, &directions, &inputs, build);
        assert_close(&format!("{name}: loss"), dev_loss, host_loss, 1e-12);
        assert_close(
            &format!("{name}: tangent"),
            dev_tangent,
            host_tangent,
            1e-12,
        );
        // Forward and reverse mode agree on the device: tangent = gradient · direction.
        let along: f64 = dev_grads
            .iter()
            .zip(&directions)
            .flat_map(|(g, v)| g.iter().zip(v).map(|(g, v)| g * v))
            .sum();
        assert_close(
            &format!("{name}: tangent vs gradient"),
            dev_tangent,
            along,
            1e-10,
        );
        for (k, (d, h)) in dev_grads.iter().zip(&host_grads).enumerate() {
            for (i, (&d, &h)) in d.iter().zip(h).enumerate() {
                assert_close(&format!("{name}: d/dx{k}[{i}]"), d, h, 1e-12);
            }
        }
    }
}

#[test]
fn device_gradients_match_finite_differences() {
    // One composite graph on the device, checked against central differences of the
    // host forward, so the device path is checked against something other than itself.
    let mut rng = Rng::seeded("device finite differences");
    let x = random(&mut rng, 12, -1.0, 1.0);
    let w = random(&mut rng, 20, -1.0, 1.0);
    let b = random(&mut rng, 5, -0.5, 0.5);
    let labels = [4u32, 1, 0];
    let loss_at = |tape: &Tape<'_, f64>, device: DeviceId, x: &[f64]| {
        let xt = tape.tensor_input_on(device, &[3, 4], x);
        let wt = tape.tensor_input_on(device, &[4, 5], &w);
        let bt = tape.tensor_input_on(device, &[5], &b);
        let h = tape.linear(xt, wt, bt, Activation::Tanh);
        let loss = tape.cross_entropy(tape.log_softmax(h), &labels);
        (xt, loss)
    };
    let mut device_memory = vec![0.0f64; 1 << 14];
    let device = CpuDevice::new(&mut device_memory);
    let mut mem = memory(1 << 18);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let dev = tape.attach_device(&device).unwrap();
    let (xt, loss) = loss_at(&tape, dev, &x);
    tape.backward(loss.as_var()).unwrap();
    let mut grad = vec![0.0; 12];
    tape.tensor_grad(xt, &mut grad).unwrap();
    for i in 0..12 {
        let f = |v: f64| {
            let mut xs = x.clone();
            xs[i] = v;
            tape.reset();
            let tape = &tape;
            let (_, loss) = loss_at(tape, DeviceId::HOST, &xs);
            tape.value(loss.as_var()).unwrap()
        };
        let fd = common::central_difference(f, x[i]);
        assert_close(&format!("d loss/dx[{i}]"), grad[i], fd, 1e-7);
    }
}

/// Trains a 4 → 6 → 3 MLP for `steps` steps with its parameters on `device`, and
/// returns every loss and the final parameters.
fn train(
    tape: &mut Tape<'_, f64>,
    device: DeviceId,
    optimizer: Optimizer,
    steps: usize,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut rng = Rng::seeded("device training");
    let shapes: [&[usize]; 4] = [&[4, 6], &[6], &[6, 3], &[3]];
    let params: Vec<_> = shapes
        .iter()
        .map(|dims| {
            let init = random(&mut rng, dims.iter().product(), -0.5, 0.5);
            tape.parameter_on(device, dims, &init).unwrap()
        })
        .collect();
    tape.set_optimizer(optimizer).unwrap();
    let x = random(&mut rng, 8 * 4, -1.0, 1.0);
    let labels: Vec<u32> = (0..8).map(|i| (i % 3) as u32).collect();
    let mut losses = vec![];
    for _ in 0..steps {
        tape.reset();
        let input = tape.to_device(tape.tensor_input(&[8, 4], &x), device);
        let p: Vec<TensorId> = params.iter().map(|&p| tape.param(p)).collect();
        let h = tape.linear(input, p[0], p[1], Activation::Relu);
        let logits = tape.linear(h, p[2], p[3], Activation::Identity);
        let loss = tape.cross_entropy(logits, &labels);
        tape.backward(loss.as_var()).unwrap();
        tape.optimizer_step().unwrap();
        losses.push(tape.value(loss.as_var()).unwrap());
    }
    let finals = params
        .iter()
        .zip(shapes)
        .map(|(&p, dims)| {
            let mut out = vec![0.0; dims.iter().product()];
            tape.read_param(p, &mut out).unwrap();
            out
        })
        .collect();
    (losses, finals)
}

#[test]
fn training_with_device_parameters_follows_the_host() {
    let optimizers = [
        Optimizer::Sgd(Sgd {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 1e-3,
        }),
        Optimizer::Sgd(Sgd {
            lr: 0.1,
            momentum: 0.0,
            weight_decay: 0.0,
        }),
        Optimizer::Adam(Adam {
            lr: 0.01,
            ..Adam::default()
        }),
        Optimizer::Adam(Adam {
            lr: 0.01,
            weight_decay: 0.01,
            decoupled_weight_decay: true,
            ..Adam::default()
        }),
    ];
    for optimizer in optimizers {
        let mut host_mem = memory(1 << 18);
        let mut host_tape = Tape::<f64>::new(&mut host_mem).unwrap();
        let (host_losses, host_params) = train(&mut host_tape, DeviceId::HOST, optimizer, 6);

        let mut device_memory = vec![0.0f64; 1 << 14];
        let device = CpuDevice::new(&mut device_memory);
        let mut mem = memory(1 << 18);
        let mut tape = Tape::<f64>::new(&mut mem).unwrap();
        let dev = tape.attach_device(&device).unwrap();
        let (losses, params) = train(&mut tape, dev, optimizer, 6);
        assert!(
            losses[5] < losses[0],
            "{optimizer:?}: the loss went down: {losses:?}"
        );
        for (step, (&d, &h)) in losses.iter().zip(&host_losses).enumerate() {
            assert_close(&format!("{optimizer:?} loss at step {step}"), d, h, 1e-12);
        }
        for (d, h) in params.iter().zip(&host_params) {
            for (&d, &h) in d.iter().zip(h) {
                assert_close(&format!("{optimizer:?} final parameter"), d, h, 1e-12);
            }
        }
    }
}

#[test]
fn reset_gives_the_recordings_device_memory_back() {
    let mut device_memory = vec![0.0f64; 1 << 14];
    let device = CpuDevice::new(&mut device_memory);
    let mut mem = memory(1 << 18);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let dev = tape.attach_device(&device).unwrap();
    let w = tape.parameter_on(dev, &[4, 4], &[0.1; 16]).unwrap();
    tape.set_optimizer(Optimizer::Adam(Adam::default()))
        .unwrap();
    let persistent = device.used();
    assert_eq!(persistent, 4 * 16, "value, gradient and two moments");
    let mut used_after_step = vec![];
    for _ in 0..5 {
        tape.reset();
        let x = tape.tensor_input_on(dev, &[2, 4], &[0.5; 8]);
        let loss = tape.mean(tape.tensor_tanh(tape.matmul(x, tape.param(w))));
        tape.backward(loss.as_var()).unwrap();
        tape.optimizer_step().unwrap();
        used_after_step.push(device.used());
    }
    assert!(used_after_step[0] > persistent);
    assert!(
        used_after_step.iter().all(|&u| u == used_after_step[0]),
        "{used_after_step:?}"
    );
}

#[test]
fn transfers_carry_gradients_both_ways() {
    // host x → device: tanh → host: square → device: sum, against the same all on host.
    let mut rng = Rng::seeded("device transfers");
    let x = random(&mut rng, 6, -1.0, 1.0);
    let mut device_memory = vec![0.0f64; 1 << 12];
    let device = CpuDevice::new(&mut device_memory);
    let mut mem = memory(1 << 16);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let dev = tape.attach_device(&device).unwrap();
    let mut gradient = |hops: bool| {
        tape.reset();
        let xt = tape.tensor_input(&[2, 3], &x);
        let on = |t| if hops { tape.to_device(t, dev) } else { t };
        let off = |t| if hops { tape.to_host(t) } else { t };
        let h = off(tape.tensor_tanh(on(xt)));
        let loss = off(tape.sum(on(tape.square(h))));
        assert_eq!(tape.tensor_device(loss).unwrap(), DeviceId::HOST);
        tape.backward(loss.as_var()).unwrap();
        let mut g = vec![0.0; 6];
        tape.tensor_grad(xt, &mut g).unwrap();
        // Forward mode through the same hops, along the first axis vector.
        let mut direction = [0.0; 6];
        direction[0] = 1.0;
        tape.seed_tensor_tangent(xt, &direction).unwrap();
        tape.jvp(&[]).unwrap();
        let mut tangent = [0.0];
        tape.tensor_tangent(loss, &mut tangent).unwrap();
        assert_close("tangent = ∂loss/∂x[0]", tangent[0], g[0], 1e-14);
        (tape.value(loss.as_var()).unwrap(), g)
    };
    let (host_loss, host_grad) = gradient(false);
    let (loss, grad) = gradient(true);
    assert_close("loss", loss, host_loss, 1e-14);
    for (i, (&d, &h)) in grad.iter().zip(&host_grad).enumerate() {
        assert_close(&format!("dx[{i}]"), d, h, 1e-14);
    }
}

#[test]
fn a_rank0_device_result_mixes_with_scalar_ops() {
    // total = 3·sum(x²) + y², with sum(x²) on the device and y a host scalar; x's
    // gradient flows through the device tensor's record, y's through scalars.
    let mut device_memory = vec![0.0f64; 1 << 10];
    let device = CpuDevice::new(&mut device_memory);
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let dev = tape.attach_device(&device).unwrap();
    let x = tape.tensor_input_on(dev, &[3], &[1.0, -2.0, 0.5]);
    let s = tape.sum(tape.square(x));
    // Part of the gradient also reaches `s` from a device op (s scaled, summed again).
    let s_twice = tape.sum(tape.scale(s, 2.0));
    let y = tape.input(4.0);
    let (s, s_twice) = (
        autodiff_core::Tensor::from_id(&tape, s).as_var(),
        autodiff_core::Tensor::from_id(&tape, s_twice).as_var(),
    );
    let total = s * 3.0 + s_twice + y * y;
    assert_eq!(total.value(), 3.0 * 5.25 + 2.0 * 5.25 + 16.0);
    tape.backward(total.id()).unwrap();
    let mut g = [0.0; 3];
    tape.tensor_grad(x, &mut g).unwrap();
    assert_eq!(g, [10.0, -20.0, 5.0], "(3 + 2)·2x");
    assert_eq!(tape.gradient(total).unwrap().wrt(y), 8.0);
}

#[test]
fn misuse_is_a_clear_error_and_reset_clears_it() {
    let mut device_memory = vec![0.0f64; 256];
    let device = CpuDevice::new(&mut device_memory);
    let mut other_memory = vec![0.0f64; 256];
    let other = CpuDevice::new(&mut other_memory);
    let mut mem = memory(1 << 16);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let dev = tape.attach_device(&device).unwrap();
    let dev2 = tape.attach_device(&other).unwrap();
    assert_eq!(tape.num_devices(), 2);
    assert_eq!(tape.device_name(dev).unwrap(), "cpu (reference device)");
    let usable = |tape: &mut Tape<'_, f64>| {
        tape.reset();
        let x = tape.tensor_input_on(dev, &[2], &[1.0, 2.0]);
        let loss = tape.sum(tape.square(x));
        tape.backward(loss.as_var()).unwrap();
        assert_eq!(tape.value(loss.as_var()).unwrap(), 5.0);
    };

    // Mixing host and device in one op.
    let h = tape.tensor_input(&[2], &[1.0, 2.0]);
    let d = tape.tensor_input_on(dev, &[2], &[1.0, 2.0]);
    assert!(!tape.tensor_add(h, d).is_valid());
    let error = tape.status().unwrap_err();
    assert_eq!(error, Error::DeviceMismatch { op: "add" });
    assert!(error.to_string().contains("to_device"), "{error}");
    usable(&mut tape);

    // Two devices in one op, and a direct move between them.
    let a = tape.tensor_input_on(dev, &[1, 2], &[1.0, 2.0]);
    let b = tape.tensor_input_on(dev2, &[2, 1], &[1.0, 2.0]);
    assert!(!tape.matmul(a, b).is_valid());
    assert_eq!(tape.status(), Err(Error::DeviceMismatch { op: "matmul" }));
    usable(&mut tape);
    let a = tape.tensor_input_on(dev, &[2], &[1.0, 2.0]);
    assert!(!tape.to_device(a, dev2).is_valid());
    assert!(matches!(tape.status(), Err(Error::UnsupportedOnDevice(_))));
    usable(&mut tape);

    // Devices the tape never attached.
    for unknown in [DeviceId(3), DeviceId(200)] {
        assert!(!tape.tensor_input_on(unknown, &[1], &[1.0]).is_valid());
        assert_eq!(tape.status(), Err(Error::UnknownDevice));
        tape.reset();
        assert_eq!(
            tape.parameter_on(unknown, &[1], &[1.0]),
            Err(Error::UnknownDevice)
        );
        usable(&mut tape);
        assert!(tape.device_name(unknown).is_err());
    }

    // Attaching once recording has begun.
    tape.reset();
    let _ = tape.tensor_input(&[1], &[1.0]);
    assert!(matches!(
        tape.attach_device(&device),
        Err(Error::InvalidArgument(_))
    ));
    usable(&mut tape);

    // Device memory runs out: a clear error, nothing half-made, and reset recovers.
    tape.reset();
    let big = vec![0.5; 300];
    assert!(!tape.tensor_input_on(dev, &[300], &big).is_valid());
    assert!(matches!(tape.status(), Err(Error::OutOfMemory { .. })));
    usable(&mut tape);
    tape.reset();
    assert!(matches!(
        tape.parameter_on(dev, &[300], &big),
        Err(Error::OutOfMemory { .. })
    ));
    assert!(matches!(
        tape.parameter_on(dev, &[], &[1.0]),
        Err(Error::UnsupportedOnDevice(_))
    ));
    usable(&mut tape);

    // Checkpointed segments refuse device tensors.
    tape.reset();
    let x = tape.tensor_input(&[2], &[1.0, 2.0]);
    let block = segment_fn(
        move |tape: &Tape<'_, f64>,
              inputs: &[autodiff_core::VarId],
              outputs: &mut [autodiff_core::VarId]| {
            let on = tape.to_device(TensorId::from(inputs[0]), dev);
            outputs[0] = tape.sum(on).as_var();
        },
    );
    let mut outputs = [autodiff_core::VarId::INVALID];
    assert!(matches!(
        tape.checkpoint(block, &[x.as_var()], &mut outputs),
        Err(Error::UnsupportedOnDevice(_))
    ));
    usable(&mut tape);
}

#[test]
fn replay_recomputes_device_tensors() {
    let mut device_memory = vec![0.0f64; 1 << 10];
    let device = CpuDevice::new(&mut device_memory);
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let dev = tape.attach_device(&device).unwrap();
    let x = tape.tensor_input_on(dev, &[3], &[1.0, 2.0, 3.0]);
    let loss = tape.sum(tape.square(x));
    assert_eq!(tape.value(loss.as_var()).unwrap(), 14.0);
    tape.set_tensor_value(x, &[2.0, 0.0, -1.0]).unwrap();
    assert!(matches!(
        tape.backward(loss.as_var()),
        Err(Error::ModifiedInPlace { .. })
    ));
    tape.replay(&[]).unwrap();
    assert_eq!(tape.value(loss.as_var()).unwrap(), 5.0);
    tape.backward(loss.as_var()).unwrap();
    let mut g = [0.0; 3];
    tape.tensor_grad(x, &mut g).unwrap();
    assert_eq!(g, [4.0, 0.0, -2.0]);
}

#[test]
fn the_reference_device_is_a_tensor_device_for_f32_too() {
    let mut device_memory = vec![0.0f32; 64];
    let device = CpuDevice::new(&mut device_memory);
    let as_trait: &(dyn TensorDevice<f32> + Sync) = &device;
    let mut mem = memory(1 << 14);
    let tape = Tape::<f32>::new(&mut mem).unwrap();
    let dev = tape.attach_device(as_trait).unwrap();
    let x = tape.tensor_input_on(dev, &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let loss = tape.cross_entropy(x, &[1, 0]);
    tape.backward(loss.as_var()).unwrap();
    let mut g = [0.0f32; 4];
    tape.tensor_grad(x, &mut g).unwrap();
    // Each row's gradient sums to zero: softmax − one-hot, over the batch.
    assert!(
        (g[0] + g[1]).abs() < 1e-6 && (g[2] + g[3]).abs() < 1e-6,
        "{g:?}"
    );
    assert!(g[1] < 0.0 && g[2] < 0.0);
}

#[test]
fn a_default_device_puts_a_whole_tape_on_the_device() {
    let mut device_memory = vec![0.0f64; 1 << 10];
    let device = CpuDevice::new(&mut device_memory);
    let mut mem = memory(1 << 16);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    assert_eq!(tape.default_device(), DeviceId::HOST);
    assert_eq!(
        tape.set_default_device(DeviceId(1)),
        Err(Error::UnknownDevice)
    );
    let dev = tape.attach_device(&device).unwrap();
    tape.set_default_device(dev).unwrap();
    let w = tape.parameter(&[2, 2], &[1.0, 2.0, 3.0, 4.0]).unwrap();
    for _ in 0..2 {
        tape.reset();
        let x = tape.tensor_input(&[1, 2], &[1.0, 1.0]);
        let c = tape.tensor_constant(&[2], &[0.5, 0.5]);
        let y = tape.tensor_add(tape.matmul(x, tape.param(w)), c);
        for t in [x, c, y] {
            assert_eq!(tape.tensor_device(t).unwrap(), dev);
        }
        let loss = tape.sum(y);
        tape.backward(loss.as_var()).unwrap();
        assert_eq!(tape.value(loss.as_var()).unwrap(), 4.0 + 6.0 + 1.0);
        let mut g = [0.0; 4];
        tape.read_param_grad(w, &mut g).unwrap();
        assert_eq!(g, [1.0; 4]);
    }
    tape.set_default_device(DeviceId::HOST).unwrap();
    tape.reset();
    assert_eq!(
        tape.tensor_device(tape.tensor_input(&[1], &[1.0])).unwrap(),
        DeviceId::HOST
    );
}

#[test]
fn a_device_serves_one_tape_at_a_time() {
    let mut device_memory = vec![0.0f64; 1 << 10];
    let device = CpuDevice::new(&mut device_memory);
    let (mut mem_a, mut mem_b) = (memory(1 << 14), memory(1 << 14));
    let mut a = Tape::<f64>::new(&mut mem_a).unwrap();
    let mut b = Tape::<f64>::new(&mut mem_b).unwrap();
    let on_a = a.attach_device(&device).unwrap();
    a.reset();
    assert!(
        matches!(a.attach_device(&device), Err(Error::InvalidArgument(_))),
        "twice"
    );
    a.reset();
    // Tape b would rewind a's tensors away at its resets: refused.
    assert!(matches!(
        b.attach_device(&device),
        Err(Error::InvalidArgument(_))
    ));
    b.reset();
    let p = a.parameter_on(on_a, &[2], &[1.0, 2.0]).unwrap();
    a.set_optimizer(Optimizer::Sgd(Sgd {
        lr: 0.1,
        momentum: 0.0,
        weight_decay: 0.0,
    }))
    .unwrap();
    a.release_devices();
    assert_eq!(a.optimizer_step(), Err(Error::UnknownDevice));
    assert_eq!(a.num_devices(), 0);
    let x = a.tensor_input_on(on_a, &[2], &[1.0, 2.0]);
    assert!(!x.is_valid());
    assert_eq!(a.status(), Err(Error::UnknownDevice));
    assert_eq!(a.read_param(p, &mut [0.0; 2]), Err(Error::UnknownDevice));
    let on_b = b.attach_device(&device).unwrap();
    let y = b.tensor_input_on(on_b, &[2], &[3.0, 4.0]);
    let loss = b.sum(b.square(y));
    b.backward(loss.as_var()).unwrap();
    assert_eq!(b.value(loss.as_var()).unwrap(), 25.0);
}

/// A device that fails its `fail_at`-th call (counting from 0) and otherwise does what
/// the reference device does: every device failure must become a status, never a
/// panic, and leave a tape that works after `reset`.
struct FailingDevice<'a> {
    inner: CpuDevice<'a, f64>,
    calls: AtomicUsize,
    fail_at: AtomicUsize,
}

impl FailingDevice<'_> {
    fn tick(&self) -> autodiff_core::Result<()> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        if n == self.fail_at.load(Ordering::Relaxed) {
            Err(Error::Backend("injected failure"))
        } else {
            Ok(())
        }
    }
}

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name(&self, $($arg: $ty),*) -> autodiff_core::Result<()> {
            self.tick()?;
            self.inner.$name($($arg),*)
        }
    )*};
}

use autodiff_core::tensor::device::{DeviceBuffer, DeviceMark, DeviceRef, Reduction};
use autodiff_core::{Op, Shape};

impl TensorDevice<f64> for FailingDevice<'_> {
    fn name(&self) -> &str {
        "failing"
    }
    fn claim(&self, tape: u32) -> autodiff_core::Result<()> {
        self.inner.claim(tape)
    }
    fn release(&self, tape: u32) {
        self.inner.release(tape)
    }
    fn alloc(&self, shape: Shape) -> autodiff_core::Result<DeviceBuffer> {
        self.tick()?;
        self.inner.alloc(shape)
    }
    fn alloc_labels(&self, labels: &[u32]) -> autodiff_core::Result<DeviceBuffer> {
        self.tick()?;
        self.inner.alloc_labels(labels)
    }
    fn mark(&self) -> DeviceMark {
        TensorDevice::<f64>::mark(&self.inner)
    }
    delegate! {
        rewind(mark: DeviceMark);
        upload(dst: DeviceRef, src: &[f64]);
        download(src: DeviceRef, dst: &mut [f64]);
        zero(t: DeviceRef);
        matmul(a: DeviceRef, ta: bool, b: DeviceRef, tb: bool, c: DeviceRef, beta: f64);
        bias_act_forward(act: Activation, bias: DeviceRef, y: DeviceRef);
        act_output_backward(act: Activation, y: DeviceRef, g: DeviceRef, dz: DeviceRef);
        bias_grad(dz: DeviceRef, gb: DeviceRef);
        transpose(x: DeviceRef, y: DeviceRef, accumulate: bool);
        unary_forward(act: Activation, slope: f64, x: DeviceRef, y: DeviceRef);
        unary_backward(act: Activation, slope: f64, x: DeviceRef, y: DeviceRef, g: DeviceRef, gx: DeviceRef);
        scale_forward(c: f64, x: DeviceRef, y: DeviceRef);
        scale_backward(c: f64, g: DeviceRef, gx: DeviceRef);
        binary_forward(op: Op, a: DeviceRef, b: DeviceRef, y: DeviceRef);
        binary_backward(op: Op, a: DeviceRef, b: DeviceRef, y: DeviceRef, g: DeviceRef, ga: Option<DeviceRef>, gb: Option<DeviceRef>);
        reduce_forward(reduction: Reduction, x: DeviceRef, y: DeviceRef);
        reduce_backward(reduction: Reduction, g: DeviceRef, gx: DeviceRef);
        softmax_forward(log: bool, x: DeviceRef, y: DeviceRef);
        softmax_backward(log: bool, y: DeviceRef, g: DeviceRef, gx: DeviceRef);
        cross_entropy_forward(logits: DeviceRef, labels: DeviceBuffer, probs: DeviceRef, loss: DeviceRef);
        cross_entropy_backward(probs: DeviceRef, labels: DeviceBuffer, g_loss: DeviceRef, gx: DeviceRef);
        mse_forward(x: DeviceRef, z: DeviceRef, loss: DeviceRef);
        mse_backward(x: DeviceRef, z: DeviceRef, g_loss: DeviceRef, gx: Option<DeviceRef>, gz: Option<DeviceRef>);
        sgd_update(sgd: &Sgd, w: DeviceRef, g: DeviceRef, velocity: Option<DeviceRef>);
        adam_update(adam: &Adam, step: u64, w: DeviceRef, g: DeviceRef, m: DeviceRef, v: DeviceRef);
    }
}

#[test]
fn a_device_failure_anywhere_is_a_status_and_reset_recovers() {
    // One training step of a small network with every kind of device call (parameters,
    // optimizer state, transfers, a fused layer, softmax, mse, a rank-0 result mixed
    // with a scalar op); the k-th device call fails, for every k the step makes.
    let step = |tape: &mut Tape<'_, f64>, params: &[autodiff_core::ParamId], dev: DeviceId| {
        tape.reset();
        let x = tape.to_device(
            tape.tensor_input(&[2, 3], &[0.1, -0.2, 0.3, 0.4, 0.5, -0.6]),
            dev,
        );
        let h = tape.linear(
            x,
            tape.param(params[0]),
            tape.param(params[1]),
            Activation::Tanh,
        );
        let p = tape.softmax(tape.transpose(h));
        let target = tape.tensor_constant_on(dev, &[2, 2], &[0.5, 0.5, 0.25, 0.75]);
        let mse = tape.mse(p, target);
        let ce = tape.cross_entropy(h, &[1, 0]);
        let total = tape.tensor_add(mse, ce);
        let host = tape.to_host(total);
        let loss = autodiff_core::Tensor::from_id(tape, host).as_var() * 2.0;
        tape.backward(loss.id())?;
        tape.value(loss.id())
    };
    let train_step =
        |tape: &mut Tape<'_, f64>, params: &[autodiff_core::ParamId], dev: DeviceId| {
            let loss = step(tape, params, dev)?;
            tape.optimizer_step()?;
            Ok::<_, Error>(loss)
        };
    let setup = |tape: &Tape<'_, f64>, device: &(dyn TensorDevice<f64> + Sync)| {
        let dev = tape.attach_device(device)?;
        let w = tape.parameter_on(dev, &[3, 2], &[0.1, 0.2, -0.3, 0.4, 0.5, -0.1])?;
        let b = tape.parameter_on(dev, &[2], &[0.01, -0.02])?;
        tape.set_optimizer(Optimizer::Adam(Adam::default()))?;
        Ok::<_, Error>((dev, [w, b]))
    };
    let run_clean = || {
        let mut device_memory = vec![0.0f64; 1 << 10];
        let device = FailingDevice {
            inner: CpuDevice::new(&mut device_memory),
            calls: 0.into(),
            fail_at: usize::MAX.into(),
        };
        let mut mem = memory(1 << 16);
        let mut tape = Tape::<f64>::new(&mut mem).unwrap();
        let (dev, params) = setup(&tape, &device).unwrap();
        let loss = step(&mut tape, &params, dev).unwrap();
        let before_update = device.calls.load(Ordering::Relaxed);
        tape.optimizer_step().unwrap();
        let before = before_update;
        (
            loss,
            before,
            device.calls.load(Ordering::Relaxed),
            device.inner.used(),
        )
    };
    let (clean_loss, before_update, calls, used) = run_clean();
    assert!(calls > 40, "the step makes {calls} device calls");
    for k in 0..calls {
        let mut device_memory = vec![0.0f64; 1 << 10];
        let device = FailingDevice {
            inner: CpuDevice::new(&mut device_memory),
            calls: 0.into(),
            fail_at: k.into(),
        };
        let mut mem = memory(1 << 16);
        let mut tape = Tape::<f64>::new(&mut mem).unwrap();
        let failed_in_setup = setup(&tape, &device);
        let Ok((dev, params)) = failed_in_setup else {
            assert_eq!(
                failed_in_setup.unwrap_err(),
                Error::Backend("injected failure")
            );
            continue;
        };
        let result = train_step(&mut tape, &params, dev);
        assert_eq!(result, Err(Error::Backend("injected failure")), "call {k}");
        let again = train_step(&mut tape, &params, dev).unwrap_or_else(|e| panic!("call {k}: {e}"));
        if k < before_update {
            // The parameters were not touched: the step is the clean one.
            assert_eq!(again, clean_loss, "call {k}");
        } else {
            // The update stopped half-way: other parameters, but a sound step.
            assert!(again.is_finite(), "call {k}");
        }
        assert_eq!(
            device.inner.used(),
            used,
            "call {k}: device memory after recovery"
        );
    }
}

#[test]
fn more_parameters_than_one_update_batch_all_get_updated() {
    // 20 parameters on the device (the update goes in batches of 16) against the host.
    let run = |tape: &mut Tape<'_, f64>, device: DeviceId| {
        let params: Vec<_> = (0..20)
            .map(|k| {
                tape.parameter_on(device, &[2], &[k as f64 * 0.1, -0.2])
                    .unwrap()
            })
            .collect();
        tape.set_optimizer(Optimizer::Adam(Adam {
            lr: 0.05,
            ..Adam::default()
        }))
        .unwrap();
        for _ in 0..3 {
            tape.reset();
            let mut total = tape.tensor_constant_on(device, &[2], &[0.0, 0.0]);
            for &p in &params {
                total = tape.tensor_add(total, tape.square(tape.param(p)));
            }
            let loss = tape.sum(total);
            tape.backward(loss.as_var()).unwrap();
            tape.optimizer_step().unwrap();
        }
        params
            .iter()
            .map(|&p| {
                let mut v = [0.0; 2];
                tape.read_param(p, &mut v).unwrap();
                v
            })
            .collect::<Vec<_>>()
    };
    let mut host_mem = memory(1 << 18);
    let mut host = Tape::<f64>::new(&mut host_mem).unwrap();
    let want = run(&mut host, DeviceId::HOST);
    let mut device_memory = vec![0.0f64; 1 << 12];
    let device = CpuDevice::new(&mut device_memory);
    let mut mem = memory(1 << 18);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let dev = tape.attach_device(&device).unwrap();
    let got = run(&mut tape, dev);
    assert_eq!(got, want);
    assert!(got[19][0] < 1.9, "the last parameter moved: {:?}", got[19]);
}

#[test]
fn a_tape_with_its_device_moves_to_another_thread() {
    // The reference device is `Sync`, so a tape holding it may be sent elsewhere while
    // this thread still reads the device.
    fn sync<D: Sync>(_: &D) {}
    let mut device_memory = vec![0.0f64; 1 << 10];
    let device = CpuDevice::new(&mut device_memory);
    sync(&device);
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let dev = tape.attach_device(&device).unwrap();
    let value = std::thread::scope(|s| {
        let worker = s.spawn(move || {
            let x = tape.tensor_input_on(dev, &[2], &[3.0, 4.0]);
            let loss = tape.sum(tape.square(x));
            tape.backward(loss.as_var()).unwrap();
            tape.value(loss.as_var()).unwrap()
        });
        let _ = device.used();
        worker.join().unwrap()
    });
    assert_eq!(value, 25.0);
}
