//! GPU parity check: every op's forward and backward on the GPU against the CPU backend
//! (`autodiff-core`'s tape, same element type, same inputs), then the MLP demo (10 → 100
//! → 10, ReLU, softmax cross-entropy, SGD) trained on both, with GPU step times.
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
//! Exit status: 0 all checks passed, 1 a check failed, 77 no GPU.

use autodiff_core::{Activation, Adam, Float, Optimizer, Sgd, Tape, TensorId};
use autodiff_cuda::ops::{self, BinaryOp, ParamBuffers, Reduction, Softmax, Transpose};
use autodiff_cuda::{CudaError, DType, Device, DeviceScalar, DeviceTensor};
use std::mem::MaybeUninit;
use std::time::Instant;

/// splitmix64: seeded inputs without a dependency.
struct Rng(u64);
impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn vec<T: Float>(&mut self, n: usize, lo: f64, hi: f64) -> Vec<T> {
        (0..n)
            .map(|_| T::from_f64(lo + self.unit() * (hi - lo)))
            .collect()
    }
}

#[derive(Clone, Copy)]
enum Tol {
    /// Elementwise ops, broadcasting and optimizer updates.
    Pointwise,
    /// Anything that sums: reductions, softmax, losses, products.
    Accumulating,
}

impl Tol {
    fn bounds(self, dtype: DType) -> (f64, f64) {
        match (self, dtype) {
            (Tol::Pointwise, DType::F32) => (1e-5, 1e-6),
            (Tol::Accumulating, DType::F32) => (1e-4, 1e-5),
            (Tol::Pointwise, _) => (1e-12, 1e-14),
            (Tol::Accumulating, _) => (1e-10, 1e-12),
        }
    }
}

#[derive(Default)]
struct Report {
    passed: usize,
    failed: Vec<String>,
}

impl Report {
    fn compare<T: Float>(&mut self, name: &str, got: &[T], want: &[T], tol: Tol, dtype: DType) {
        let (rtol, atol) = tol.bounds(dtype);
        let worst = got
            .iter()
            .zip(want)
            .enumerate()
            .map(|(i, (g, w))| {
                let (g, w) = (g.to_f64(), w.to_f64());
                ((g - w).abs() / (atol + rtol * w.abs()), i, g, w)
            })
            .fold((0.0f64, 0, 0.0, 0.0), |a, b| {
                if b.0 > a.0 || b.0.is_nan() {
                    b
                } else {
                    a
                }
            });
        if got.len() == want.len() && worst.0 <= 1.0 {
            self.passed += 1;
        } else {
            let line = format!(
                "{name}: element {} is {} against {} (len {} vs {})",
                worst.1,
                worst.2,
                worst.3,
                got.len(),
                want.len()
            );
            println!("FAIL {line}");
            self.failed.push(line);
        }
    }

    fn error(&mut self, name: &str, e: CudaError) {
        let line = format!("{name}: {e}");
        println!("FAIL {line}");
        self.failed.push(line);
    }
}

fn dims_of<T: Float>(tape: &Tape<T>, t: TensorId) -> Vec<usize> {
    let shape = tape.tensor_shape(t).expect("cpu shape");
    shape.dims().iter().map(|&d| d as usize).collect()
}

fn read<T: Float + DeviceScalar>(dev: &Device, t: &DeviceTensor) -> Result<Vec<T>, CudaError> {
    let mut out = vec![T::zero(); t.len()];
    dev.read(t, &mut out)?;
    Ok(out)
}

type CpuBinary<T> = fn(&Tape<T>, TensorId, TensorId) -> TensorId;
type GpuForward<'a> = &'a dyn Fn(&Device, &[DeviceTensor], &DeviceTensor) -> Result<(), CudaError>;
type GpuBackward<'a> = &'a dyn Fn(
    &Device,
    &[DeviceTensor],
    &DeviceTensor,
    &DeviceTensor,
    &[DeviceTensor],
) -> Result<(), CudaError>;

/// One op case: inputs of `shapes` drawn from `domain`; the CPU tape computes `y` and,
/// for the loss Σ y⊙w with random w, each input's gradient; the GPU computes `y`, then
/// each input's gradient from the seed g = w.
#[allow(clippy::too_many_arguments)]
fn case<T: Float + DeviceScalar>(
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

const ACTIVATIONS: [(Activation, (f64, f64)); 10] = [
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

fn op_cases<T: Float + DeviceScalar>(dev: &Device, report: &mut Report, rng: &mut Rng) {
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
fn optimizer_cases<T: Float + DeviceScalar>(dev: &Device, report: &mut Report, rng: &mut Rng) {
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
            let tape = Tape::<T>::new(&mut mem).expect("tape");
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

/// The MLP demo: 10 → 100 (ReLU) → 10, softmax cross-entropy, SGD; the same steps on the
/// CPU tape and on the GPU, losses compared, then GPU step times at two batch sizes.
fn mlp(dev: &Device, report: &mut Report, rng: &mut Rng) {
    let sgd = Sgd {
        lr: 0.05,
        momentum: 0.0,
        weight_decay: 0.0,
    };
    let (input, hidden, classes) = (10, 100, 10);
    let w1: Vec<f32> = rng.vec(input * hidden, -0.3, 0.3);
    let b1: Vec<f32> = vec![0.0; hidden];
    let w2: Vec<f32> = rng.vec(hidden * classes, -0.3, 0.3);
    let b2: Vec<f32> = vec![0.0; classes];
    for batch in [64usize, 4096] {
        let x: Vec<f32> = rng.vec(batch * input, -1.0, 1.0);
        let labels: Vec<u32> = (0..batch)
            .map(|_| (rng.unit() * classes as f64) as u32)
            .collect();
        let steps = 20;

        // CPU reference.
        let mut mem = vec![MaybeUninit::<u8>::uninit(); 1 << 26];
        let tape = Tape::<f32>::new(&mut mem).expect("tape");
        let p = [
            tape.parameter(&[input, hidden], &w1).unwrap(),
            tape.parameter(&[hidden], &b1).unwrap(),
            tape.parameter(&[hidden, classes], &w2).unwrap(),
            tape.parameter(&[classes], &b2).unwrap(),
        ];
        tape.set_optimizer(Optimizer::Sgd(sgd)).unwrap();
        let mut cpu_losses = Vec::new();
        for _ in 0..steps {
            tape.reset();
            let xin = tape.tensor_input(&[batch, input], &x);
            let h = tape.linear(xin, tape.param(p[0]), tape.param(p[1]), Activation::Relu);
            let logits = tape.linear(h, tape.param(p[2]), tape.param(p[3]), Activation::Identity);
            let loss = tape.cross_entropy(logits, &labels);
            tape.backward(loss.as_var()).unwrap();
            cpu_losses.push(tape.value(loss.as_var()).unwrap());
            tape.optimizer_step().unwrap();
        }

        let mark = dev.mark();
        let run = || -> Result<(Vec<f32>, f64), CudaError> {
            let f = DType::F32;
            let (dw1, db1, dw2, db2) = (
                dev.upload(&[input, hidden], &w1)?,
                dev.upload(&[hidden], &b1)?,
                dev.upload(&[hidden, classes], &w2)?,
                dev.upload(&[classes], &b2)?,
            );
            let grads = [
                dev.alloc(f, &[input, hidden])?,
                dev.alloc(f, &[hidden])?,
                dev.alloc(f, &[hidden, classes])?,
                dev.alloc(f, &[classes])?,
            ];
            let xd = dev.upload(&[batch, input], &x)?;
            let ld = dev.upload(&[batch], &labels)?;
            let h = dev.alloc(f, &[batch, hidden])?;
            let gh = dev.alloc(f, &[batch, hidden])?;
            let logits = dev.alloc(f, &[batch, classes])?;
            let glogits = dev.alloc(f, &[batch, classes])?;
            let probs = dev.alloc(f, &[batch, classes])?;
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
            // inside). GPU_CHECK_NO_TIMING skips it (under compute-sanitizer).
            let timed = if std::env::var_os("GPU_CHECK_NO_TIMING").is_some() {
                0
            } else {
                50
            };
            let mut times = Vec::new();
            for _ in 0..timed {
                let start = Instant::now();
                step(false, &mut losses)?;
                dev.synchronize()?;
                times.push(start.elapsed().as_secs_f64() * 1e6);
            }
            times.sort_by(f64::total_cmp);
            Ok((
                losses,
                times.get(times.len() / 2).copied().unwrap_or(f64::NAN),
            ))
        };
        match run() {
            Ok((losses, micros)) => {
                report.compare(
                    &format!("MLP batch {batch}: losses over {steps} steps"),
                    &losses,
                    &cpu_losses,
                    Tol::Accumulating,
                    DType::F32,
                );
                println!(
                    "MLP batch {batch}: loss {:.4} -> {:.4} (CPU {:.4} -> {:.4}); GPU step median {micros:.1} us",
                    losses[0],
                    losses[steps - 1],
                    cpu_losses[0],
                    cpu_losses[steps - 1]
                );
            }
            Err(e) => report.error(&format!("MLP batch {batch}"), e),
        }
        dev.rewind(mark).expect("rewind");
    }
}

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
