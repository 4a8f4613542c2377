//! Every op's forward and backward, and every optimizer, on the GPU against the CPU
//! backend.

use super::*;

pub type CpuBinary<T> = fn(&Tape<T>, TensorId, TensorId) -> TensorId;
pub type GpuForward<'a> =
    &'a dyn Fn(&Device, &[DeviceTensor], &DeviceTensor) -> Result<(), CudaError>;

/// One op case: inputs of `shapes` drawn from `domain`; the CPU tape computes `y` and,
/// for the loss Σ y⊙w with random w, each input's gradient; the GPU computes `y`, then
/// each input's gradient from the seed g = w.
#[allow(clippy::too_many_arguments)]
pub fn case<T: Float + DeviceScalar>(
    dev: &Device,
    report: &mut Report,
    rng: &mut Rng,
    name: &str,
    tol: Tol,
    shapes: &[&[usize]],
    domain: (f64, f64),
    cpu: &dyn Fn(&Tape<T>, &[TensorId]) -> TensorId,
    forward: GpuForward,
    backward: GpuBackward,
) {
    let name = format!("{name} [{:?}]", T::DTYPE);
    let data: Vec<Vec<T>> = shapes
        .iter()
        .map(|s| rng.vec(s.iter().product(), domain.0, domain.1))
        .collect();
    let mut mem = vec![MaybeUninit::<u8>::uninit(); 1 << 24];
    let tape = Tape::<T>::new(&mut mem).expect("tape");
    let inputs: Vec<TensorId> = shapes
        .iter()
        .zip(&data)
        .map(|(s, d)| tape.tensor_input(s, d))
        .collect();
    let y = cpu(&tape, &inputs);
    let y_dims = dims_of(&tape, y);
    let y_len: usize = y_dims.iter().product();
    let seed: Vec<T> = rng.vec(y_len, -1.0, 1.0);
    let weights = tape.tensor_constant(&y_dims, &seed);
    let loss = tape.sum(tape.tensor_mul(y, weights));
    tape.status().expect("cpu record");
    tape.backward(loss.as_var()).expect("cpu backward");
    let mut y_cpu = vec![T::zero(); y_len];
    tape.tensor_value(y, &mut y_cpu).unwrap();
    let grads_cpu: Vec<Vec<T>> = inputs
        .iter()
        .zip(&data)
        .map(|(&t, d)| {
            let mut g = vec![T::zero(); d.len()];
            tape.tensor_grad(t, &mut g).unwrap();
            g
        })
        .collect();

    let mark = dev.mark();
    let run = || -> Result<(Vec<T>, Vec<Vec<T>>), CudaError> {
        let xs = shapes
            .iter()
            .zip(&data)
            .map(|(s, d)| dev.upload(s, d))
            .collect::<Result<Vec<_>, _>>()?;
        let yd = dev.alloc(T::DTYPE, &y_dims)?;
        forward(dev, &xs, &yd)?;
        let y_gpu = read::<T>(dev, &yd)?;
        let g = dev.upload(&y_dims, &seed)?;
        let grads = shapes
            .iter()
            .map(|s| dev.alloc(T::DTYPE, s))
            .collect::<Result<Vec<_>, _>>()?;
        backward(dev, &xs, &yd, &g, &grads)?;
        let grads_gpu = grads
            .iter()
            .map(|t| read::<T>(dev, t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((y_gpu, grads_gpu))
    };
    match run() {
        Ok((y_gpu, grads_gpu)) => {
            report.compare(&format!("{name} forward"), &y_gpu, &y_cpu, tol, T::DTYPE);
            for (i, (g, w)) in grads_gpu.iter().zip(&grads_cpu).enumerate() {
                report.compare(&format!("{name} backward (input {i})"), g, w, tol, T::DTYPE);
            }
        }
        Err(e) => report.error(&name, e),
    }
    dev.rewind(mark).expect("rewind");
}

pub const ACTIVATIONS: [(Activation, (f64, f64)); 10] = [
    (Activation::Identity, (-2.0, 2.0)),
    (Activation::Relu, (-2.0, 2.0)),
    (Activation::LeakyRelu, (-2.0, 2.0)),
    (Activation::Sigmoid, (-4.0, 4.0)),
    (Activation::Tanh, (-3.0, 3.0)),
    (Activation::Gelu, (-3.0, 3.0)),
    (Activation::Exp, (-2.0, 2.0)),
    (Activation::Log, (0.1, 3.0)),
    (Activation::Sqrt, (0.1, 3.0)),
    (Activation::Square, (-2.0, 2.0)),
];

pub fn op_cases<T: Float + DeviceScalar>(dev: &Device, report: &mut Report, rng: &mut Rng) {
    for (act, domain) in ACTIVATIONS {
        let slope = if act == Activation::LeakyRelu {
            0.1
        } else {
            0.0
        };
        case::<T>(
            dev,
            report,
            rng,
            &format!("activation {act:?}"),
            Tol::Pointwise,
            &[&[37, 53]],
            domain,
            &|t, x| {
                if act == Activation::LeakyRelu {
                    t.leaky_relu(x[0], slope)
                } else {
                    t.activation(x[0], act)
                }
            },
            &|d, x, y| ops::unary_forward(d, act, slope, &x[0], y),
            &|d, x, y, g, gx| ops::unary_backward(d, act, slope, &x[0], y, g, &gx[0]),
        );
    }
    case::<T>(
        dev,
        report,
        rng,
        "scale",
        Tol::Pointwise,
        &[&[1000]],
        (-2.0, 2.0),
        &|t, x| t.scale(x[0], -1.5),
        &|d, x, y| ops::scale_forward(d, -1.5, &x[0], y),
        &|d, _, _, g, gx| ops::scale_backward(d, -1.5, g, &gx[0]),
    );
    let binary: [(BinaryOp, CpuBinary<T>); 4] = [
        (BinaryOp::Add, |t, a, b| t.tensor_add(a, b)),
        (BinaryOp::Sub, |t, a, b| t.tensor_sub(a, b)),
        (BinaryOp::Mul, |t, a, b| t.tensor_mul(a, b)),
        (BinaryOp::Div, |t, a, b| t.tensor_div(a, b)),
    ];
    // Same shapes, a row vector, a column, a scalar, and rank-3 against rank-2.
    let layouts: [(&[usize], &[usize]); 5] = [
        (&[33, 65], &[33, 65]),
        (&[64, 100], &[100]),
        (&[64, 10], &[64, 1]),
        (&[7, 9], &[]),
        (&[3, 1, 17], &[5, 17]),
    ];
    for (op, cpu) in binary {
        for (sa, sb) in layouts {
            case::<T>(
                dev,
                report,
                rng,
                &format!("{op:?} {sa:?} by {sb:?}"),
                Tol::Pointwise,
                &[sa, sb],
                (0.5, 2.0),
                &|t, x| cpu(t, x[0], x[1]),
                &|d, x, y| ops::binary_forward(d, op, &x[0], &x[1], y),
                &|d, x, y, g, gx| {
                    ops::binary_backward(d, op, &x[0], &x[1], y, g, Some(&gx[0]), Some(&gx[1]))
                },
            );
        }
    }
    let reductions: [(Reduction, &[usize]); 7] = [
        (Reduction::Sum, &[300, 7]),
        (Reduction::Mean, &[100_000]),
        (Reduction::SumAxis(0), &[64, 100]),
        (Reduction::SumAxis(1), &[64, 100]),
        (Reduction::MeanAxis(0), &[4096, 10]),
        (Reduction::MeanAxis(1), &[3, 5000]),
        (Reduction::SumAxis(1), &[4, 6, 8]),
    ];
    for (red, shape) in reductions {
        case::<T>(
            dev,
            report,
            rng,
            &format!("{red:?} of {shape:?}"),
            Tol::Accumulating,
            &[shape],
            (-1.0, 1.0),
            &|t, x| match red {
                Reduction::Sum => t.sum(x[0]),
                Reduction::Mean => t.mean(x[0]),
                Reduction::SumAxis(a) => t.sum_axis(x[0], a),
                Reduction::MeanAxis(a) => t.mean_axis(x[0], a),
            },
            &|d, x, y| ops::reduce_forward(d, red, &x[0], y),
            &|d, _, _, g, gx| ops::reduce_backward(d, red, g, &gx[0]),
        );
    }
    for kind in [Softmax::Softmax, Softmax::LogSoftmax] {
        for shape in [&[64, 10][..], &[3, 1000], &[2, 3, 7]] {
            case::<T>(
                dev,
                report,
                rng,
                &format!("{kind:?} {shape:?}"),
                Tol::Accumulating,
                &[shape],
                (-5.0, 5.0),
                &|t, x| match kind {
                    Softmax::Softmax => t.softmax(x[0]),
                    Softmax::LogSoftmax => t.log_softmax(x[0]),
                },
                &|d, x, y| ops::softmax_forward(d, kind, &x[0], y),
                &|d, _, y, g, gx| ops::softmax_backward(d, kind, y, g, &gx[0]),
            );
        }
    }
    for (rows, classes) in [(64, 10), (5, 1000)] {
        let labels: Vec<u32> = (0..rows)
            .map(|_| (rng.unit() * classes as f64) as u32)
            .collect();
        let labels = &labels;
        // The probabilities live between forward and backward.
        let probs = std::cell::Cell::new(None);
        let probs = &probs;
        case::<T>(
            dev,
            report,
            rng,
            &format!("cross_entropy [{rows}, {classes}]"),
            Tol::Accumulating,
            &[&[rows, classes]],
            (-5.0, 5.0),
            &|t, x| t.cross_entropy(x[0], labels),
            &|d, x, loss| {
                let l = d.upload(&[rows], labels)?;
                let p = d.alloc(T::DTYPE, &[rows, classes])?;
                probs.set(Some((l, p)));
                ops::cross_entropy_forward(d, &x[0], &l, &p, loss)
            },
            &|d, _, _, g, gx| {
                let (l, p) = probs.get().expect("forward ran");
                ops::cross_entropy_backward(d, &p, &l, g, &gx[0])
            },
        );
    }
    case::<T>(
        dev,
        report,
        rng,
        "mse [64, 10]",
        Tol::Accumulating,
        &[&[64, 10], &[64, 10]],
        (-2.0, 2.0),
        &|t, x| t.mse(x[0], x[1]),
        &|d, x, loss| ops::mse_forward(d, &x[0], &x[1], loss),
        &|d, x, _, g, gx| ops::mse_backward(d, &x[0], &x[1], g, Some(&gx[0]), Some(&gx[1])),
    );
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let (m, k, n) = (33, 70, 17);
        let sa: &[usize] = if ta { &[k, m] } else { &[m, k] };
        let sb: &[usize] = if tb { &[n, k] } else { &[k, n] };
        let flag = |t| if t { Transpose::Yes } else { Transpose::No };
        case::<T>(
            dev,
            report,
            rng,
            &format!("matmul transpose ({ta}, {tb})"),
            Tol::Accumulating,
            &[sa, sb],
            (-1.0, 1.0),
            &|t, x| t.matmul_t(x[0], x[1], ta, tb),
            &|d, x, y| ops::matmul(d, &x[0], flag(ta), &x[1], flag(tb), y, 1.0, 0.0),
            &|d, x, _, g, gx| {
                ops::matmul_backward(
                    d,
                    &x[0],
                    flag(ta),
                    &x[1],
                    flag(tb),
                    g,
                    Some(&gx[0]),
                    Some(&gx[1]),
                )
            },
        );
    }
    for act in [
        Activation::Identity,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Exp,
    ] {
        case::<T>(
            dev,
            report,
            rng,
            &format!("linear {act:?}"),
            Tol::Accumulating,
            &[&[64, 10], &[10, 100], &[100]],
            (-1.0, 1.0),
            &|t, x| t.linear(x[0], x[1], x[2], act),
            &|d, x, y| ops::linear_forward(d, act, &x[0], &x[1], &x[2], y),
            &|d, x, y, g, gx| {
                ops::linear_backward(
                    d,
                    act,
                    &x[0],
                    &x[1],
                    y,
                    g,
                    Some(&gx[0]),
                    Some(&gx[1]),
                    Some(&gx[2]),
                )
            },
        );
    }
}

/// Three optimizer steps with a fixed gradient on the CPU tape and on the GPU, single- and
/// multi-tensor.
pub fn optimizer_cases<T: Float + DeviceScalar>(dev: &Device, report: &mut Report, rng: &mut Rng) {
    let optimizers = [
        Optimizer::Sgd(Sgd {
            lr: 0.1,
            momentum: 0.0,
            weight_decay: 0.0,
        }),
        Optimizer::Sgd(Sgd {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.01,
        }),
        Optimizer::Adam(Adam::default()),
        Optimizer::Adam(Adam {
            lr: 0.01,
            weight_decay: 0.1,
            ..Adam::default()
        }),
        Optimizer::Adam(Adam {
            lr: 0.01,
            weight_decay: 0.1,
            decoupled_weight_decay: true,
            ..Adam::default()
        }),
    ];
    const STEPS: u64 = 3;
    let shapes: [&[usize]; 2] = [&[10, 100], &[100]];
    for optimizer in optimizers {
        for multi in [false, true] {
            let name = format!("{optimizer:?} multi={multi} [{:?}]", T::DTYPE);
            let init: Vec<Vec<T>> = shapes
                .iter()
                .map(|s| rng.vec(s.iter().product(), -1.0, 1.0))
                .collect();
            let grad: Vec<Vec<T>> = shapes
                .iter()
                .map(|s| rng.vec(s.iter().product(), -1.0, 1.0))
                .collect();
            let mut mem = vec![MaybeUninit::<u8>::uninit(); 1 << 22];
            let mut tape = Tape::<T>::new(&mut mem).expect("tape");
            let params: Vec<_> = shapes
                .iter()
                .zip(&init)
                .map(|(s, d)| tape.parameter(s, d).unwrap())
                .collect();
            tape.set_optimizer(optimizer).unwrap();
            for _ in 0..STEPS {
                tape.reset();
                // Σ p⊙g has gradient g with respect to p.
                let mut loss = None;
                for ((p, s), g) in params.iter().zip(shapes).zip(&grad) {
                    let term =
                        tape.sum(tape.tensor_mul(tape.param(*p), tape.tensor_constant(s, g)));
                    loss = Some(match loss {
                        None => term,
                        Some(l) => tape.tensor_add(l, term),
                    });
                }
                tape.backward(loss.unwrap().as_var()).unwrap();
                tape.optimizer_step().unwrap();
            }
            let want: Vec<Vec<T>> = params
                .iter()
                .zip(&init)
                .map(|(p, d)| {
                    let mut out = vec![T::zero(); d.len()];
                    tape.read_param(*p, &mut out).unwrap();
                    out
                })
                .collect();
            let mark = dev.mark();
            let run = || -> Result<Vec<Vec<T>>, CudaError> {
                let mut ws = Vec::new();
                let mut gs = Vec::new();
                let mut states = Vec::new();
                for ((s, w), g) in shapes.iter().zip(&init).zip(&grad) {
                    ws.push(dev.upload(s, w)?);
                    gs.push(dev.upload(s, g)?);
                    states.push([dev.alloc(T::DTYPE, s)?, dev.alloc(T::DTYPE, s)?]);
                }
                for step in 1..=STEPS {
                    let buffers: Vec<ParamBuffers> = (0..ws.len())
                        .map(|i| ParamBuffers {
                            w: &ws[i],
                            g: &gs[i],
                            state: [Some(&states[i][0]), Some(&states[i][1])],
                        })
                        .collect();
                    match (optimizer, multi) {
                        (Optimizer::Sgd(s), true) => ops::sgd_update_all(dev, &s, &buffers)?,
                        (Optimizer::Adam(a), true) => {
                            ops::adam_update_all(dev, &a, step, &buffers)?
                        }
                        (Optimizer::Sgd(s), false) => {
                            for b in &buffers {
                                ops::sgd_update(dev, &s, b.w, b.g, b.state[0])?;
                            }
                        }
                        (Optimizer::Adam(a), false) => {
                            for b in &buffers {
                                ops::adam_update(
                                    dev,
                                    &a,
                                    step,
                                    b.w,
                                    b.g,
                                    b.state[0].expect("moment"),
                                    b.state[1].expect("moment"),
                                )?;
                            }
                        }
                    }
                }
                ws.iter().map(|w| read::<T>(dev, w)).collect()
            };
            match run() {
                Ok(got) => {
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        report.compare(
                            &format!("{name} param {i}"),
                            g,
                            w,
                            Tol::Pointwise,
                            T::DTYPE,
                        );
                    }
                }
                Err(e) => report.error(&name, e),
            }
            dev.rewind(mark).expect("rewind");
        }
    }
}
