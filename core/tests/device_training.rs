//! Training with parameters on the reference CPU device follows the host's trajectory,
//! reset gives the recording's device memory back, and every parameter is updated.

mod common;
use common::memory;

use autodiff_core::tensor::device::CpuDevice;
use autodiff_core::{Activation, Adam, DeviceId, Optimizer, Sgd, Tape, TensorId};
use common::{assert_close, Rng};

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
            let init = rng.vec(dims.iter().product(), -0.5, 0.5);
            tape.parameter_on(device, dims, &init).unwrap()
        })
        .collect();
    tape.set_optimizer(optimizer).unwrap();
    let x = rng.vec(8 * 4, -1.0, 1.0);
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
