//! Data parallelism on one machine, without MPI: parameter groups (one contiguous
//! gradient buffer that a host reduces before the optimizer step), bulk reads and writes
//! of values and gradients, and saving and restoring the optimizer's state. Shards on
//! separate tapes, averaged by hand, stand for the processes of a data-parallel job.

mod common;
#[path = "support/data_parallel.rs"]
mod support;

use autodiff_core::{Adam, Error, Optimizer, ParamGroup, Sgd, Tape, TensorId};
use support::*;

#[test]
fn the_group_buffer_holds_each_parameters_gradient_in_order() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = make_params(&tape);
    let g = tape.param_group_all().unwrap();
    let (x, labels) = batch(0);
    let l = loss(&tape, &params, &x, &labels);
    tape.backward(l.as_var()).unwrap();
    let mut expected = Vec::new();
    for &p in &params {
        let mut grad = vec![0.0; tape.param_shape(p).unwrap().checked_len().unwrap()];
        tape.read_param_grad(p, &mut grad).unwrap();
        expected.extend(grad);
    }
    let mut read = vec![0.0; expected.len()];
    tape.read_group_grads(g, &mut read).unwrap();
    assert_eq!(read, expected);
    assert_eq!(tape.group_grads_mut(g).unwrap(), &expected[..]);
}

/// Each gradient in the buffer against a central difference of the loss in f64 (a
/// hundred tapes: left out under Miri, where the other tests cover the same memory).
#[test]
#[cfg_attr(miri, ignore)]
fn the_group_gradients_match_central_finite_differences() {
    let mut mem = memory();
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = make_params(&tape);
    let g = tape.param_group(&params).unwrap();
    let (x, labels) = batch(1);
    let l = loss(&tape, &params, &x, &labels);
    tape.backward(l.as_var()).unwrap();
    let mut grads = vec![0.0; tape.group_len(g).unwrap()];
    tape.read_group_grads(g, &mut grads).unwrap();

    let evaluate = |w: &[f64]| {
        let mut mem = memory();
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let params = make_params(&tape);
        let g = tape.param_group_all().unwrap();
        tape.write_group_values(g, w).unwrap();
        let l = loss(&tape, &params, &x, &labels);
        tape.value(l.as_var()).unwrap()
    };
    let mut w = {
        let mut mem = memory();
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        make_params(&tape);
        values(&tape, tape.param_group_all().unwrap())
    };
    let h = 1e-6;
    for k in 0..w.len() {
        let w0 = w[k];
        w[k] = w0 + h;
        let up = evaluate(&w);
        w[k] = w0 - h;
        let down = evaluate(&w);
        w[k] = w0;
        let fd = (up - down) / (2.0 * h);
        assert!(
            (grads[k] - fd).abs() < 1e-7 * (1.0 + fd.abs()),
            "element {k}: {} vs {fd}",
            grads[k]
        );
    }
}

#[test]
fn the_optimizer_step_uses_what_the_host_left_in_the_buffer() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = make_params(&tape);
    tape.set_optimizer(Optimizer::Sgd(Sgd {
        lr: 0.5,
        momentum: 0.0,
        weight_decay: 0.0,
    }))
    .unwrap();
    let g = tape.param_group_all().unwrap();
    let before = values(&tape, g);
    let (x, labels) = batch(2);
    let l = loss(&tape, &params, &x, &labels);
    tape.backward(l.as_var()).unwrap();
    // An in-place "reduction": the host scales the buffer.
    let reduced: Vec<f64> = tape
        .group_grads_mut(g)
        .unwrap()
        .iter_mut()
        .map(|v| {
            *v *= 3.0;
            *v
        })
        .collect();
    tape.optimizer_step().unwrap();
    let after = values(&tape, g);
    for k in 0..before.len() {
        assert_eq!(after[k], before[k] - 0.5 * reduced[k]);
    }

    // The same through a host's own buffer.
    tape.reset();
    let l = loss(&tape, &params, &x, &labels);
    tape.backward(l.as_var()).unwrap();
    let written: Vec<f64> = (0..before.len()).map(|k| k as f64 * 0.01).collect();
    tape.write_group_grads(g, &written).unwrap();
    tape.optimizer_step().unwrap();
    let last = values(&tape, g);
    for k in 0..before.len() {
        assert_eq!(last[k], after[k] - 0.5 * written[k]);
    }
}

#[test]
fn a_parameter_the_loss_does_not_reach_reads_as_zero_in_the_buffer() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = make_params(&tape);
    let g = tape.param_group_all().unwrap();
    let (x, labels) = batch(3);
    let l = loss(&tape, &params, &x, &labels);
    tape.backward(l.as_var()).unwrap();
    assert!(tape.group_grads_mut(g).unwrap().iter().all(|&v| v != 0.0));
    // Next recording: every parameter used, but the loss reaches only the first weight,
    // so every other gradient is zero (not the last step's).
    tape.reset();
    let uses: Vec<TensorId> = params.iter().map(|&p| tape.param(p)).collect();
    let xs = tape.tensor_constant(&[BATCH, SIZES[0]], &x);
    let s = tape.sum(tape.matmul(xs, uses[0]));
    tape.backward(s.as_var()).unwrap();
    let first = SIZES[0] * SIZES[1];
    let grads = tape.group_grads_mut(g).unwrap();
    assert!(grads[..first].iter().all(|&v| v != 0.0));
    assert!(grads[first..].iter().all(|&v| v == 0.0));
}

/// Two shards on two tapes, their gradients averaged through the group buffers, against
/// one tape over the whole batch: f64, so only the summation order differs.
#[test]
fn averaged_shards_train_like_the_full_batch() {
    let mut full_mem = memory();
    let mut full = Tape::<f64>::new(&mut full_mem).unwrap();
    let mut shard_mem = [memory(), memory()];
    let [m0, m1] = &mut shard_mem;
    let mut shards = [Tape::<f64>::new(m0).unwrap(), Tape::<f64>::new(m1).unwrap()];
    let adam = Optimizer::Adam(Adam {
        lr: 0.01,
        ..Adam::default()
    });
    let full_params = make_params(&full);
    full.set_optimizer(adam).unwrap();
    let full_group = full.param_group_all().unwrap();
    let mut shard_params = Vec::new();
    let mut groups = Vec::new();
    for tape in &shards {
        shard_params.push(make_params(tape));
        tape.set_optimizer(adam).unwrap();
        groups.push(tape.param_group_all().unwrap());
    }
    let half = BATCH / 2;
    for step in 0..6 {
        let (x, labels) = batch(step);
        full.reset();
        let l = loss(&full, &full_params, &x, &labels);
        full.backward(l.as_var()).unwrap();
        full.optimizer_step().unwrap();

        let mut sum = vec![0.0; full.group_len(full_group).unwrap()];
        for (r, tape) in shards.iter_mut().enumerate() {
            tape.reset();
            let rows = r * half..(r + 1) * half;
            let xs = &x[rows.start * SIZES[0]..rows.end * SIZES[0]];
            let l = loss(tape, &shard_params[r], xs, &labels[rows]);
            tape.backward(l.as_var()).unwrap();
            for (s, g) in sum.iter_mut().zip(tape.group_grads_mut(groups[r]).unwrap()) {
                *s += *g;
            }
        }
        for (r, tape) in shards.iter_mut().enumerate() {
            let grads = tape.group_grads_mut(groups[r]).unwrap();
            for (g, s) in grads.iter_mut().zip(&sum) {
                *g = s / 2.0;
            }
            tape.optimizer_step().unwrap();
        }
    }
    let expected = values(&full, full_group);
    for (r, tape) in shards.iter().enumerate() {
        let got = values(tape, groups[r]);
        for (a, b) in got.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-12, "shard {r}: {a} vs {b}");
        }
    }
}

fn resume_is_bitwise<T: autodiff_core::Float + core::fmt::Debug>() {
    let adam = Optimizer::Adam(Adam {
        lr: 0.02,
        weight_decay: 0.01,
        decoupled_weight_decay: true,
        ..Adam::default()
    });
    let mut mem = memory();
    let mut straight = Tape::<T>::new(&mut mem).unwrap();
    let params = make_params(&straight);
    straight.set_optimizer(adam).unwrap();
    let g = straight.param_group_all().unwrap();
    train(&mut straight, &params, 0, 10);
    let expected = values(&straight, g);

    // Interrupted after 4 steps: values and optimizer state saved ...
    let mut mem = memory();
    let mut first = Tape::<T>::new(&mut mem).unwrap();
    let params = make_params(&first);
    first.set_optimizer(adam).unwrap();
    let g = first.param_group_all().unwrap();
    train(&mut first, &params, 0, 4);
    let saved_values = values(&first, g);
    let mut saved_state = vec![0u8; first.optimizer_state_bytes().unwrap()];
    assert_eq!(
        first.save_optimizer_state(&mut saved_state).unwrap(),
        saved_state.len()
    );

    // ... and restored into a fresh tape whose parameters start elsewhere.
    let mut mem = memory();
    let mut second = Tape::<T>::new(&mut mem).unwrap();
    let zeros = [T::zero(); 64];
    let mut params = Vec::new();
    for l in 0..SIZES.len() - 1 {
        let (i, o) = (SIZES[l], SIZES[l + 1]);
        params.push(second.parameter(&[i, o], &zeros[..i * o]).unwrap());
        params.push(second.parameter(&[o], &zeros[..o]).unwrap());
    }
    second.set_optimizer(adam).unwrap();
    let g = second.param_group_all().unwrap();
    second.write_group_values(g, &saved_values).unwrap();
    second.load_optimizer_state(&saved_state).unwrap();
    train(&mut second, &params, 4, 6);
    let resumed = values(&second, g);
    let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&resumed), bits(&expected));
}

#[test]
fn resuming_from_saved_values_and_optimizer_state_is_bitwise_the_uninterrupted_run() {
    resume_is_bitwise::<f64>();
    resume_is_bitwise::<f32>();
}

#[test]
fn without_the_moments_a_resumed_adam_run_differs() {
    // The check above is not vacuous: restoring the values alone does not resume.
    let adam = Optimizer::Adam(Adam {
        lr: 0.02,
        ..Adam::default()
    });
    let mut mem = memory();
    let mut straight = Tape::<f64>::new(&mut mem).unwrap();
    let params = make_params(&straight);
    straight.set_optimizer(adam).unwrap();
    let g = straight.param_group_all().unwrap();
    train(&mut straight, &params, 0, 6);
    let expected = values(&straight, g);

    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = make_params(&tape);
    tape.set_optimizer(adam).unwrap();
    let g = tape.param_group_all().unwrap();
    train(&mut tape, &params, 0, 3);
    let saved = values(&tape, g);
    let mut mem = memory();
    let mut fresh = Tape::<f64>::new(&mut mem).unwrap();
    let params = make_params(&fresh);
    fresh.set_optimizer(adam).unwrap();
    let g = fresh.param_group_all().unwrap();
    fresh.write_group_values(g, &saved).unwrap();
    train(&mut fresh, &params, 3, 3);
    assert_ne!(values(&fresh, g), expected);
}

#[test]
fn bad_groups_and_buffers_are_errors_and_leave_the_tape_usable() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    assert!(matches!(
        tape.param_group_all(),
        Err(Error::InvalidArgument(_))
    ));
    let params = make_params(&tape);
    assert!(matches!(
        tape.param_group(&[]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        tape.param_group(&[params[0], params[0]]),
        Err(Error::InvalidArgument(_))
    ));
    let first = tape.param_group(&params[..2]).unwrap();
    assert!(matches!(
        tape.param_group(&params[1..3]),
        Err(Error::InvalidArgument(_))
    ));
    let rest = tape.param_group(&params[2..]).unwrap();
    let len = tape.group_len(first).unwrap();
    assert_eq!(len + tape.group_len(rest).unwrap(), 4 * 6 + 6 + 6 * 3 + 3);

    let mut short = vec![0.0; len - 1];
    assert!(matches!(
        tape.read_group_grads(first, &mut short),
        Err(Error::LengthMismatch { got, expected, .. }) if got == len - 1 && expected == len
    ));
    assert!(matches!(
        tape.write_group_grads(first, &short),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        tape.read_group_values(first, &mut short),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        tape.write_group_values(first, &short),
        Err(Error::LengthMismatch { .. })
    ));

    // Handles: another tape's group, a parameter's bytes posing as a group, an unknown one.
    let mut other_mem = memory();
    let other = Tape::<f64>::new(&mut other_mem).unwrap();
    let other_group = {
        make_params(&other);
        other.param_group_all().unwrap()
    };
    assert_eq!(tape.group_len(other_group), Err(Error::ForeignHandle));
    let posing = ParamGroup {
        index: params[0].index,
        kind: params[0].kind,
        tape: params[0].tape,
    };
    assert!(matches!(
        tape.group_len(posing),
        Err(Error::WrongHandleKind { .. })
    ));
    let unknown = ParamGroup { index: 7, ..first };
    assert_eq!(tape.group_len(unknown), Err(Error::ForeignHandle));

    // Groups are made before recording.
    let (x, labels) = batch(0);
    let l = loss(&tape, &params, &x, &labels);
    let mut late_mem = memory();
    let late = Tape::<f64>::new(&mut late_mem).unwrap();
    let late_params = make_params(&late);
    late.tensor_constant(&[1], &[1.0]);
    assert!(matches!(
        late.param_group(&late_params),
        Err(Error::InvalidArgument(_))
    ));

    tape.backward(l.as_var()).unwrap();
    assert_eq!(tape.group_grads_mut(first).unwrap().len(), len);
    tape.reset();
    tape.status().unwrap();
}

#[test]
fn a_saved_state_that_does_not_fit_is_refused_and_changes_nothing() {
    let adam = Optimizer::Adam(Adam::default());
    let sgd = Optimizer::Sgd(Sgd {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.0,
    });
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    assert!(matches!(
        tape.optimizer_state_bytes(),
        Err(Error::InvalidArgument(_))
    ));
    let params = make_params(&tape);
    tape.set_optimizer(adam).unwrap();
    train(&mut tape, &params, 0, 2);
    let mut state = vec![0u8; tape.optimizer_state_bytes().unwrap()];
    let mut small = vec![0u8; state.len() - 1];
    assert!(matches!(
        tape.save_optimizer_state(&mut small),
        Err(Error::LengthMismatch { .. })
    ));
    tape.save_optimizer_state(&mut state).unwrap();

    let mismatch = |e: Result<(), Error>| matches!(e, Err(Error::StateMismatch(_)));
    assert!(mismatch(tape.load_optimizer_state(&[0u8; 64])));
    assert!(mismatch(tape.load_optimizer_state(&state[..10])));
    assert!(matches!(
        tape.load_optimizer_state(&state[..state.len() - 1]),
        Err(Error::LengthMismatch { .. })
    ));

    // Another optimizer; another element type; other parameter sizes.
    let mut other_mem = memory();
    let with_sgd = Tape::<f64>::new(&mut other_mem).unwrap();
    make_params(&with_sgd);
    with_sgd.set_optimizer(sgd).unwrap();
    assert!(mismatch(with_sgd.load_optimizer_state(&state)));

    let mut f32_mem = memory();
    let as_f32 = Tape::<f32>::new(&mut f32_mem).unwrap();
    make_params(&as_f32);
    as_f32.set_optimizer(adam).unwrap();
    assert!(mismatch(as_f32.load_optimizer_state(&state)));
    let mut shape_mem = memory();
    let reshaped = Tape::<f64>::new(&mut shape_mem).unwrap();
    reshaped.parameter(&[25], &[0.0; 25]).unwrap();
    reshaped.parameter(&[5], &[0.0; 5]).unwrap();
    reshaped.parameter(&[6, 3], &[0.0; 18]).unwrap();
    reshaped.parameter(&[3], &[0.0; 3]).unwrap();
    reshaped.set_optimizer(adam).unwrap();
    let mut reshaped_state = vec![0u8; reshaped.optimizer_state_bytes().unwrap()];
    assert_eq!(reshaped_state.len(), state.len());
    reshaped.save_optimizer_state(&mut reshaped_state).unwrap();
    assert!(mismatch(reshaped.load_optimizer_state(&state)));

    // Nothing changed: the tape's own state is still what it saved.
    let mut again = vec![0u8; state.len()];
    tape.save_optimizer_state(&mut again).unwrap();
    assert_eq!(again, state);
    tape.load_optimizer_state(&state).unwrap();
    train(&mut tape, &params, 2, 1);
}
