//! Every tensor op's graph through a tape with the GPU attached, against the same graph
//! on the host tape.

use super::*;

/// Value ranges of tape-case inputs: any sign, and positive (div's divisor, log, sqrt).
pub const ANY: (f64, f64) = (-1.5, 1.5);
pub const POSITIVE: (f64, f64) = (0.3, 2.0);

pub type TapeBuild<T> = fn(&Tape<'_, T>, &[TensorId]) -> TensorId;
/// A tape-level case: its name, its inputs (shape and value range), and its graph.
pub type TapeCase<T> = (
    &'static str,
    &'static [(&'static [usize], (f64, f64))],
    TapeBuild<T>,
);

/// Every tensor op, each as a graph from its inputs to one tensor: the list of
/// `core/tests/device_tensors.rs`, plus a transpose of odd size (the tiled kernel's edges;
/// it overwrites forward and accumulates backward, here twice) and a round trip through
/// host memory (`to_host`, then `to_device` back to where the input lives).
pub fn tape_cases<T: Float>() -> Vec<TapeCase<T>> {
    vec![
        ("matmul", &[(&[3, 4], ANY), (&[4, 5], ANY)], |t, x| {
            t.matmul(x[0], x[1])
        }),
        ("matmul_tn", &[(&[4, 3], ANY), (&[4, 5], ANY)], |t, x| {
            t.matmul_t(x[0], x[1], true, false)
        }),
        ("matmul_nt", &[(&[3, 4], ANY), (&[5, 4], ANY)], |t, x| {
            t.matmul_t(x[0], x[1], false, true)
        }),
        ("matmul_tt", &[(&[4, 3], ANY), (&[5, 4], ANY)], |t, x| {
            t.matmul_t(x[0], x[1], true, true)
        }),
        ("linear_relu", LINEAR, |t, x| {
            t.linear(x[0], x[1], x[2], Activation::Relu)
        }),
        ("linear_identity", LINEAR, |t, x| {
            t.linear(x[0], x[1], x[2], Activation::Identity)
        }),
        ("linear_tanh", LINEAR, |t, x| {
            t.linear(x[0], x[1], x[2], Activation::Tanh)
        }),
        ("linear_sigmoid", LINEAR, |t, x| {
            t.linear(x[0], x[1], x[2], Activation::Sigmoid)
        }),
        ("linear_exp", LINEAR, |t, x| {
            t.linear(x[0], x[1], x[2], Activation::Exp)
        }),
        ("add_broadcast", &[(&[3, 4], ANY), (&[4], ANY)], |t, x| {
            t.tensor_add(x[0], x[1])
        }),
        (
            "sub_broadcast",
            &[(&[3, 1], ANY), (&[1, 4], ANY)],
            |t, x| t.tensor_sub(x[0], x[1]),
        ),
        (
            "mul_broadcast",
            &[(&[2, 3, 4], ANY), (&[3, 1], ANY)],
            |t, x| t.tensor_mul(x[0], x[1]),
        ),
        ("div", &[(&[3, 4], ANY), (&[3, 4], POSITIVE)], |t, x| {
            t.tensor_div(x[0], x[1])
        }),
        ("mul_self", ONE, |t, x| t.tensor_mul(x[0], x[0])),
        ("scale", ONE, |t, x| t.scale(x[0], -2.5)),
        ("relu", ONE, |t, x| t.relu(x[0])),
        ("leaky_relu", ONE, |t, x| t.leaky_relu(x[0], 0.1)),
        ("sigmoid", ONE, |t, x| t.tensor_sigmoid(x[0])),
        ("tanh", ONE, |t, x| t.tensor_tanh(x[0])),
        ("gelu", ONE, |t, x| t.gelu(x[0])),
        ("exp", ONE, |t, x| t.tensor_exp(x[0])),
        ("log", &[(&[3, 4], POSITIVE)], |t, x| t.tensor_log(x[0])),
        ("sqrt", &[(&[3, 4], POSITIVE)], |t, x| t.tensor_sqrt(x[0])),
        ("square", ONE, |t, x| t.square(x[0])),
        ("sum", ONE, |t, x| t.sum(x[0])),
        ("mean", ONE, |t, x| t.mean(x[0])),
        ("sum_axis0", ONE, |t, x| t.sum_axis(x[0], 0)),
        ("mean_axis1", ONE, |t, x| t.mean_axis(x[0], 1)),
        ("sum_axis_middle", &[(&[2, 3, 4], ANY)], |t, x| {
            t.sum_axis(x[0], 1)
        }),
        ("reshape", ONE, |t, x| t.reshape(x[0], &[2, 6])),
        ("transpose", ONE, |t, x| t.transpose(x[0])),
        ("transpose_odd_twice", &[(&[37, 53], ANY)], |t, x| {
            t.tensor_add(t.transpose(x[0]), t.transpose(x[0]))
        }),
        ("softmax", ONE, |t, x| t.softmax(x[0])),
        ("log_softmax", ONE, |t, x| t.log_softmax(x[0])),
        ("cross_entropy", ONE, |t, x| {
            t.cross_entropy(x[0], &[2, 0, 3])
        }),
        ("mse", &[(&[3, 4], ANY), (&[3, 4], ANY)], |t, x| {
            t.mse(x[0], x[1])
        }),
        ("to_host_and_back", ONE, |t, x| {
            let home = t.tensor_device(x[0]).unwrap_or(DeviceId::HOST);
            t.to_device(t.tensor_tanh(t.to_host(t.square(x[0]))), home)
        }),
    ]
}

/// The inputs of most one-input cases, and of `linear`.
pub const ONE: &[(&[usize], (f64, f64))] = &[(&[3, 4], ANY)];
pub const LINEAR: &[(&[usize], (f64, f64))] = &[(&[3, 4], ANY), (&[4, 5], ANY), (&[5], ANY)];

/// A case's graph on `device` of `tape` (reset first; inputs made there), reduced to a
/// loss by weighting its output with fixed numbers and summing: where the loss lives, its
/// value, and every input's gradient.
pub fn tape_case<T: Float>(
    tape: &mut Tape<'_, T>,
    device: DeviceId,
    inputs: &[(&[usize], (f64, f64))],
    data: &[Vec<T>],
    build: TapeBuild<T>,
) -> Result<TapeOutcome<T>, CoreError> {
    tape.reset();
    let xs: Vec<TensorId> = inputs
        .iter()
        .zip(data)
        .map(|((dims, _), d)| tape.tensor_input_on(device, dims, d))
        .collect();
    let y = build(tape, &xs);
    tape.status()?;
    let dims = dims_of(tape, y);
    let weights: Vec<T> = (0..dims.iter().product())
        .map(|i: usize| T::from_f64(0.5 + 0.25 * (i % 7) as f64))
        .collect();
    let w = tape.tensor_constant_on(device, &dims, &weights);
    let loss = tape.sum(tape.tensor_mul(y, w));
    tape.status()?;
    tape.backward(loss.as_var())?;
    let grads = xs
        .iter()
        .zip(data)
        .map(|(&x, d)| {
            let mut g = vec![T::zero(); d.len()];
            tape.tensor_grad(x, &mut g).map(|()| g)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut value = [T::zero()];
    tape.tensor_value(loss, &mut value)?;
    // Forward mode along a fixed direction per input.
    for (&x, d) in xs.iter().zip(data) {
        let direction: Vec<T> = (0..d.len())
            .map(|i| T::from_f64(0.25 * ((i % 5) as f64 - 2.0)))
            .collect();
        tape.seed_tensor_tangent(x, &direction)?;
    }
    tape.jvp(&[])?;
    let mut tangent = [T::zero()];
    tape.tensor_tangent(loss, &mut tangent)?;
    Ok(TapeOutcome {
        at: tape.tensor_device(loss)?,
        loss: value[0],
        grads,
        tangent: tangent[0],
    })
}

/// What one case computed through a tape: where the loss lives, its value, every input's
/// gradient, and the loss's tangent along a fixed direction.
pub struct TapeOutcome<T> {
    pub at: DeviceId,
    pub loss: T,
    pub grads: Vec<Vec<T>>,
    pub tangent: T,
}

/// Every op through a tape with the GPU attached, against the same graph on the host
/// (the same tape, reset between): the loss, that it lives on the GPU, every input's
/// gradient, and the loss's tangent (forward mode).
pub fn tape_op_cases<T: Float + DeviceScalar>(dev: &Device, report: &mut Report, rng: &mut Rng) {
    let mark = dev.mark();
    let mut mem = vec![MaybeUninit::<u8>::uninit(); 1 << 22];
    let mut tape = Tape::<T>::new(&mut mem).expect("tape");
    // SAFETY: the tape and the device stay on this thread.
    let gpu = match unsafe { tape.attach_local_device(dev) } {
        Ok(gpu) => gpu,
        Err(e) => return report.tape_error(&format!("attach_device [{:?}]", T::DTYPE), e, dev),
    };
    for (name, inputs, build) in tape_cases::<T>() {
        let name = format!("tape {name} [{:?}]", T::DTYPE);
        let data: Vec<Vec<T>> = inputs
            .iter()
            .map(|(dims, (lo, hi))| rng.vec(dims.iter().product(), *lo, *hi))
            .collect();
        let host = match tape_case(&mut tape, DeviceId::HOST, inputs, &data, build) {
            Ok(host) => host,
            Err(e) => {
                report.error(&format!("{name} on the host"), e);
                continue;
            }
        };
        match tape_case(&mut tape, gpu, inputs, &data, build) {
            Ok(TapeOutcome {
                at,
                loss,
                grads,
                tangent,
            }) => {
                report.check(at == gpu, || {
                    format!("{name}: the loss lives on {at:?}, not the GPU")
                });
                let tol = Tol::Accumulating;
                report.compare(
                    &format!("{name} loss"),
                    &[loss],
                    &[host.loss],
                    tol,
                    T::DTYPE,
                );
                report.compare(
                    &format!("{name} tangent (forward mode)"),
                    &[tangent],
                    &[host.tangent],
                    tol,
                    T::DTYPE,
                );
                for (i, (g, want)) in grads.iter().zip(&host.grads).enumerate() {
                    report.compare(
                        &format!("{name} gradient (input {i})"),
                        g,
                        want,
                        tol,
                        T::DTYPE,
                    );
                }
            }
            Err(e) => report.tape_error(&name, e, dev),
        }
    }
    // The tape is done with the device: let it go (a device serves one tape at a time)
    // and give back its parameters' and records' memory.
    tape.release_devices();
    dev.rewind(mark).expect("rewind");
}
