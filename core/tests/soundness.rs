//! Regression tests for the memory model: each one reproduces a call sequence that once
//! corrupted memory, reached undefined behaviour or returned a wrong answer as success.
//! The compile-time half (a `Var` or a callback cannot outlive a `reset`, a block must be
//! `Send`) is in the doctests of `Var` and `Tape::checkpoint`.

use autodiff_core::checkpoint::{chain_gradient, segment_fn, step_fn, workspace_bytes};
use autodiff_core::tensor::device::CpuDevice;
use autodiff_core::{Error, Op, Tape, TensorDevice, TensorId, VarId};
use core::mem::MaybeUninit;

fn memory(bytes: usize) -> Vec<MaybeUninit<u8>> {
    vec![MaybeUninit::uninit(); bytes]
}

/// The tangent sweep allocates tensors' tangent buffers; on an `f32` tape the C API once
/// converted the seeds through scratch that those buffers landed in, so a tensor recorded
/// next overwrote them and a second `jvp` wrote through a clobbered node. Now nothing is
/// converted through scratch, and an allocation inside scratch is refused.
#[test]
fn tangent_buffers_outlive_the_sweep_on_f32_tapes() {
    let mut mem = memory(1 << 16);
    let tape = Tape::<f32>::new(&mut mem).unwrap();
    let x = tape.tensor_input(&[256], &[1.0; 256]);
    let y = tape.scale(x, 3.0);
    let loss = tape.sum(y);
    tape.seed_tensor_tangent(x, &[1.0; 256]).unwrap();
    tape.jvp_from(&[] as &[f64], |s| s as f32).unwrap();
    let w = tape.tensor_constant(&[8], &[7.0; 8]);
    let mut read = [0.0f32; 8];
    tape.tensor_value(w, &mut read).unwrap();
    assert_eq!(read, [7.0; 8]);
    tape.jvp_from(&[] as &[f64], |s| s as f32).unwrap();
    assert_eq!(tape.tangent(loss.as_var()).unwrap(), 768.0);
    let mut ty = [0.0f32; 256];
    tape.tensor_tangent(y, &mut ty).unwrap();
    assert!(ty.iter().all(|&t| t == 3.0));
    tape.tensor_value(w, &mut read).unwrap();
    assert_eq!(read, [7.0; 8]);
}

/// The README's arena is a plain byte array, whose start need not be 8-aligned; tensor
/// nodes are aligned by address, and once every tensor op failed with `SizeOverflow`.
#[test]
fn tensors_work_in_memory_of_any_alignment() {
    let mut mem = memory((1 << 14) + 8);
    for skew in 0..8 {
        let tape = Tape::<f64>::new(&mut mem[skew..]).unwrap();
        let x = tape.tensor_input(&[3], &[1.0, 2.0, 3.0]);
        let loss = tape.sum(tape.square(x));
        tape.backward(loss.as_var())
            .unwrap_or_else(|e| panic!("skew {skew}: {e}"));
        let mut g = [0.0; 3];
        tape.tensor_grad(x, &mut g).unwrap();
        assert_eq!(g, [2.0, 4.0, 6.0], "skew {skew}");
    }
}

/// A tensor loss that is NaN or infinite cannot be differentiated: `backward` says so,
/// as it does for scalars, instead of returning success.
#[test]
fn non_finite_tensor_losses_are_reported() {
    let mut mem = memory(1 << 16);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    type Build = fn(&Tape<'_, f64>) -> TensorId;
    let cases: [(&str, Build); 6] = [
        ("division by zero", |t| {
            let a = t.tensor_input(&[2], &[1.0, 2.0]);
            let b = t.tensor_input(&[2], &[0.0, 1.0]);
            t.sum(t.tensor_div(a, b))
        }),
        ("log of a negative number", |t| {
            let a = t.tensor_input(&[2], &[-1.0, 2.0]);
            t.sum(t.tensor_log(a))
        }),
        ("softmax of +inf", |t| {
            let a = t.tensor_input(&[1, 2], &[f64::INFINITY, 0.0]);
            t.sum(t.softmax(a))
        }),
        ("cross-entropy with -inf", |t| {
            let a = t.tensor_input(&[1, 2], &[f64::NEG_INFINITY, 0.0]);
            t.cross_entropy(a, &[0])
        }),
        ("mse with NaN", |t| {
            let a = t.tensor_input(&[2], &[f64::NAN, 0.0]);
            let b = t.tensor_constant(&[2], &[0.0, 0.0]);
            t.mse(a, b)
        }),
        ("a rank-0 NaN", |t| t.tensor_input(&[], &[f64::NAN])),
    ];
    for (what, build) in cases {
        tape.reset();
        let loss = build(&tape);
        tape.status().unwrap();
        assert!(
            matches!(tape.backward(loss.as_var()), Err(Error::NonFinite(_))),
            "{what}"
        );
        // The tape stays usable.
        tape.status().unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

/// Handles name their tape by a process-unique identity: a tape made again in the same
/// memory (the C API's `ad_tape_init` at one address, or malloc reusing a block) rejects
/// the old tape's handles.
#[test]
fn a_tape_made_again_in_the_same_memory_rejects_old_handles() {
    let mut mem = memory(1 << 12);
    let (old_var, old_tensor) = {
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        (tape.input_id(1.0), tape.tensor_input(&[1], &[2.0]))
    };
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let _ = tape.input_id(5.0);
    let _ = tape.tensor_input(&[1], &[6.0]);
    assert_eq!(tape.value(old_var), Err(Error::ForeignHandle));
    assert_eq!(tape.tensor_shape(old_tensor), Err(Error::ForeignHandle));
}

/// A rank-0 tensor input's tangent seed reaches everything computed from it.
#[test]
fn rank_zero_tensor_seeds_reach_the_tangents() {
    let mut mem = memory(1 << 14);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.tensor_input(&[], &[1.5]);
    let y = tape.square(x);
    let z = tape.sum(tape.tensor_exp(y));
    tape.seed_tensor_tangent(x, &[2.0]).unwrap();
    tape.jvp(&[]).unwrap();
    let want = 2.0 * 2.0 * 1.5 * (1.5f64 * 1.5).exp();
    assert!((tape.tangent(z.as_var()).unwrap() - want).abs() < 1e-12);
    // Seeds persist across sweeps, as for tensors of higher rank...
    tape.backward(z.as_var()).unwrap();
    tape.jvp(&[]).unwrap();
    assert!((tape.tangent(z.as_var()).unwrap() - want).abs() < 1e-12);
    // ...and agree with the gradient.
    tape.backward(z.as_var()).unwrap();
    let mut g = [0.0];
    tape.tensor_grad(x, &mut g).unwrap();
    assert!((2.0 * g[0] - want).abs() < 1e-12);
}

/// Softmax, log-softmax and cross-entropy stay exact for large logits.
#[test]
fn softmax_is_stable_for_large_logits() {
    let mut mem32 = memory(1 << 12);
    let t32 = Tape::<f32>::new(&mut mem32).unwrap();
    let p = t32.softmax(t32.tensor_input(&[1, 2], &[1e7, 1e7]));
    let mut out = [0.0f32; 2];
    t32.tensor_value(p, &mut out).unwrap();
    assert_eq!(out, [0.5, 0.5]);

    let mut mem64 = memory(1 << 12);
    let t64 = Tape::<f64>::new(&mut mem64).unwrap();
    let logits = t64.tensor_input(&[1, 2], &[1e17, 1e17]);
    let p = t64.softmax(logits);
    let mut out = [0.0f64; 2];
    t64.tensor_value(p, &mut out).unwrap();
    assert_eq!(out, [0.5, 0.5]);
    let ls = t64.log_softmax(logits);
    t64.tensor_value(ls, &mut out).unwrap();
    assert_eq!(out, [-core::f64::consts::LN_2; 2]);
    let ce = t64.cross_entropy(logits, &[1]);
    assert_eq!(t64.value(ce.as_var()).unwrap(), core::f64::consts::LN_2);
}

/// Adjoints and tangents share storage: reading one after the other sweep is refused.
#[test]
fn gradients_after_jvp_and_tangents_after_backward_are_refused() {
    let mut mem = memory(1 << 12);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(2.0);
    let y = x * x;
    tape.backward(y.id()).unwrap();
    assert_eq!(tape.grad(x.id()), Ok(4.0));
    assert!(matches!(
        tape.tangent(y.id()),
        Err(Error::InvalidArgument(_))
    ));
    tape.jvp(&[1.0]).unwrap();
    assert_eq!(tape.tangent(y.id()), Ok(4.0));
    assert!(matches!(tape.grad(x.id()), Err(Error::InvalidArgument(_))));
    // Neither refusal is sticky.
    tape.status().unwrap();
    tape.backward(y.id()).unwrap();
    assert_eq!(tape.grad(x.id()), Ok(4.0));
}

/// A checkpointed block that runs a sweep on its own tape used to recurse without end
/// when backward re-ran it; now the sweep is refused with `Reentrant`, whenever the
/// block runs.
#[test]
fn a_block_cannot_sweep_its_own_tape() {
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let block = segment_fn(
        |tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]| {
            outputs[0] = tape.unary_id(Op::Sin, inputs[0]);
            let _ = tape.backward(outputs[0]);
        },
    );
    let x = tape.input_id(0.5);
    let mut out = [VarId::INVALID];
    assert!(matches!(
        tape.checkpoint(block, &[x], &mut out),
        Err(Error::Reentrant(_))
    ));
    assert!(matches!(tape.status(), Err(Error::Reentrant(_))));

    // Only in backward: the block sweeps when it is run again.
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    use std::sync::atomic::{AtomicBool, Ordering};
    static ARMED: AtomicBool = AtomicBool::new(false);
    let block = segment_fn(
        |tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]| {
            outputs[0] = tape.unary_id(Op::Sin, inputs[0]);
            if ARMED.load(Ordering::Relaxed) {
                let _ = tape.jvp(&[1.0]);
                let _ = tape.replay(&[1.0]);
                let _ = tape.backward(outputs[0]);
            }
        },
    );
    let x = tape.input_id(0.5);
    let mut out = [VarId::INVALID];
    tape.checkpoint(block, &[x], &mut out).unwrap();
    ARMED.store(true, Ordering::Relaxed);
    assert!(matches!(tape.backward(out[0]), Err(Error::Reentrant(_))));
    ARMED.store(false, Ordering::Relaxed);
}

/// The vector forward sweep, at a new point too, is refused inside a block, by its name.
#[test]
fn a_block_cannot_run_forward_vector_at_on_its_own_tape() {
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let block = segment_fn(
        |tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]| {
            outputs[0] = tape.unary_id(Op::Sin, inputs[0]);
            let mut jacobian = [0.0];
            let _ = tape.forward_vector_at(&[1.0], &[outputs[0]], &[1.0], 1, &mut jacobian);
        },
    );
    let x = tape.input_id(0.5);
    let mut out = [VarId::INVALID];
    assert_eq!(
        tape.checkpoint(block, &[x], &mut out),
        Err(Error::Reentrant("forward_vector_at"))
    );
}

/// Chain steps and losses are callbacks too.
#[test]
fn a_chain_step_cannot_sweep_its_tape() {
    let mut mem = memory(workspace_bytes::<f64>(1, 0, 2).unwrap() + (1 << 14));
    let step = step_fn(
        |tape: &Tape<'_, f64>, _k: usize, state: &[VarId], _p: &[VarId], next: &mut [VarId]| {
            next[0] = tape.unary_id(Op::Sin, state[0]);
            let _ = tape.backward(next[0]);
        },
    );
    let loss = |_: &Tape<'_, f64>, state: &[VarId], _: &[VarId]| state[0];
    let (mut gx, mut gp) = ([0.0], []);
    let result = chain_gradient(&mut mem, 4, 2, &[0.3], &[], step, loss, &mut gx, &mut gp);
    assert!(matches!(result, Err(Error::Reentrant(_))), "{result:?}");
}

/// A graph sink is a callback: it may read the tape, not sweep it.
#[test]
fn a_dot_sink_cannot_sweep_the_tape() {
    struct Sweeping<'a, 't> {
        tape: &'a Tape<'t, f64>,
        output: VarId,
        refused: bool,
    }
    impl core::fmt::Write for Sweeping<'_, '_> {
        fn write_str(&mut self, _: &str) -> core::fmt::Result {
            self.refused |= matches!(self.tape.backward(self.output), Err(Error::Reentrant(_)));
            Ok(())
        }
    }
    let mut mem = memory(1 << 14);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.tensor_input(&[2], &[1.0, 2.0]);
    let output = tape.sum(x).as_var();
    let mut sink = Sweeping {
        tape: &tape,
        output,
        refused: false,
    };
    tape.write_dot(&mut sink).unwrap();
    assert!(sink.refused);
}

/// The reference device's trait methods are public: overlapping buffers handed to an
/// optimizer update are refused, not aliased as two `&mut` slices.
#[test]
fn the_cpu_device_refuses_overlapping_optimizer_buffers() {
    use autodiff_core::tensor::device::{DeviceBuffer, DeviceRef};
    use autodiff_core::{Sgd, Shape};
    let mut memory = vec![0.0f64; 64];
    let device = CpuDevice::new(&mut memory);
    let a = device.alloc(Shape::new(&[8]).unwrap()).unwrap();
    let _ = device.alloc(Shape::new(&[8]).unwrap()).unwrap();
    let whole = DeviceRef {
        buffer: a,
        shape: Shape::new(&[8]).unwrap(),
    };
    let shifted = DeviceRef {
        buffer: DeviceBuffer {
            offset: a.offset + 4,
            ..a
        },
        shape: Shape::new(&[8]).unwrap(),
    };
    let sgd = Sgd {
        lr: 0.1,
        momentum: 0.0,
        weight_decay: 0.0,
    };
    assert!(matches!(
        device.sgd_update(&sgd, whole, shifted, None),
        Err(Error::InvalidArgument(_))
    ));
}

/// A tensor with no elements may have a huge dimension beside its zero one; ops on it
/// once looped over that dimension with nothing to do (minutes, or for ever).
#[test]
fn empty_tensors_with_huge_dimensions_cost_nothing() {
    let mut mem = memory(1 << 14);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let empty = tape.tensor_input(&[4, 1 << 31, 0], &[]);
    let scalar = tape.tensor_input(&[], &[2.0]);
    let quotient = tape.tensor_div(empty, scalar);
    let summed = tape.sum_axis(quotient, 1);
    let loss = tape.sum(tape.square(summed));
    tape.status().unwrap();
    tape.backward(loss.as_var()).unwrap();
    assert_eq!(tape.value(loss.as_var()), Ok(0.0));
    let mut g = [7.0];
    tape.tensor_grad(scalar, &mut g).unwrap();
    assert_eq!(g, [0.0]);
}
