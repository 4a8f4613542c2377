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
            self.fail(format!(
                "{name}: element {} is {} against {} (len {} vs {})",
                worst.1,
                worst.2,
                worst.3,
                got.len(),
                want.len()
            ));
        }
    }

    fn error(&mut self, name: &str, e: impl std::fmt::Display) {
        self.fail(format!("{name}: {e}"));
    }

    /// A failure of a tape with the GPU attached: the core's error carries only a static
    /// category, the device keeps the full text of its last failure.
    fn tape_error(&mut self, name: &str, e: CoreError, dev: &Device) {
        self.error(name, tape_failure(dev, e));
    }

    fn check(&mut self, ok: bool, line: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.fail(line());
        }
    }

    fn fail(&mut self, line: String) {
        println!("FAIL {line}");
        self.failed.push(line);
    }
}

/// `e`, with the device's full text of its last failure when it has one.
fn tape_failure(dev: &Device, e: CoreError) -> String {
    match dev.last_error() {
        Some(text) => format!("{e} (last device failure: {text})"),
        None => e.to_string(),
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

/// Value ranges of tape-case inputs: any sign, and positive (div's divisor, log, sqrt).
const ANY: (f64, f64) = (-1.5, 1.5);
const POSITIVE: (f64, f64) = (0.3, 2.0);

type TapeBuild<T> = fn(&Tape<'_, T>, &[TensorId]) -> TensorId;
/// A tape-level case: its name, its inputs (shape and value range), and its graph.
type TapeCase<T> = (
    &'static str,
    &'static [(&'static [usize], (f64, f64))],
    TapeBuild<T>,
);

/// Every tensor op, each as a graph from its inputs to one tensor: the list of
/// `core/tests/device_tensors.rs`, plus a transpose of odd size (the tiled kernel's edges;
/// it overwrites forward and accumulates backward, here twice) and a round trip through
/// host memory (`to_host`, then `to_device` back to where the input lives).
fn tape_cases<T: Float>() -> Vec<TapeCase<T>> {
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
const ONE: &[(&[usize], (f64, f64))] = &[(&[3, 4], ANY)];
const LINEAR: &[(&[usize], (f64, f64))] = &[(&[3, 4], ANY), (&[4, 5], ANY), (&[5], ANY)];

/// A case's graph on `device` of `tape` (reset first; inputs made there), reduced to a
/// loss by weighting its output with fixed numbers and summing: where the loss lives, its
/// value, and every input's gradient.
fn tape_case<T: Float>(
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
struct TapeOutcome<T> {
    at: DeviceId,
    loss: T,
    grads: Vec<Vec<T>>,
    tangent: T,
}

/// Every op through a tape with the GPU attached, against the same graph on the host
/// (the same tape, reset between): the loss, that it lives on the GPU, every input's
/// gradient, and the loss's tangent (forward mode).
fn tape_op_cases<T: Float + DeviceScalar>(dev: &Device, report: &mut Report, rng: &mut Rng) {
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

/// The median of `TIMED_STEPS` timings of `step`, in microseconds, after the warm steps
/// the caller ran; NaN when GPU_CHECK_NO_TIMING is set (under compute-sanitizer).
fn median_micros<E>(mut step: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
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

const INPUT: usize = 10;
const HIDDEN: usize = 100;
const CLASSES: usize = 10;
/// The MLP's parameters: W1, b1, W2, b2.
const MLP_SHAPES: [&[usize]; 4] = [&[INPUT, HIDDEN], &[HIDDEN], &[HIDDEN, CLASSES], &[CLASSES]];

/// The MLP's parameters on `device` of `tape` (new, or just reset), from `init`, with
/// `sgd` as the tape's optimizer.
fn tape_mlp(
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
fn tape_mlp_step(
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
fn mlp(dev: &Device, report: &mut Report, rng: &mut Rng) {
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
