//! Tensors on a device, through the reference CPU device (`CpuDevice`): every op's value
//! and gradients equal the host's and finite differences. `device_training.rs` and
//! `device_misuse.rs` cover training, transfers, threads and errors.

mod common;
use common::memory;

use autodiff_core::tensor::device::CpuDevice;
use autodiff_core::{Activation, DeviceId, Tape, TensorId};
use common::{assert_close, Rng};

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
            .map(|i| rng.vec(i.dims.iter().product(), i.lo, i.hi))
            .collect();
        let directions: Vec<Vec<f64>> = data.iter().map(|d| rng.vec(d.len(), -1.0, 1.0)).collect();
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
    let x = rng.vec(12, -1.0, 1.0);
    let w = rng.vec(20, -1.0, 1.0);
    let b = rng.vec(5, -0.5, 0.5);
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
