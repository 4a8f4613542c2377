//! Device tensors beyond single ops: transfers carry gradients both ways, rank-0 device
//! results mix with scalar ops, replay and default devices, one tape per device, a
//! tape moving threads with its device, and every misuse or device failure a clear
//! error that `reset` clears.

mod common;
use common::memory;

use autodiff_core::checkpoint::segment_fn;
use autodiff_core::tensor::device::CpuDevice;
use autodiff_core::{
    Activation, Adam, DeviceId, Error, Optimizer, Sgd, Tape, TensorDevice, TensorId,
};
use common::{assert_close, Rng};
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn transfers_carry_gradients_both_ways() {
    // host x → device: tanh → host: square → device: sum, against the same all on host.
    let mut rng = Rng::seeded("device transfers");
    let x = rng.vec(6, -1.0, 1.0);
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
