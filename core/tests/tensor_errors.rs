//! Tensor misuse gets an error that says what was wrong, the tape stays usable after a
//! reset, and in-place updates never produce a silently wrong gradient.

mod common;

use autodiff_core::{Activation, Error, Optimizer, Sgd, Tape, TensorId};

fn memory() -> common::Memory {
    common::memory(1 << 16)
}

#[test]
fn a_wrong_matmul_shape_names_both_shapes_and_later_ops_record_nothing() {
    let mut mem = memory();
    let mut tape = Tape::<f32>::new(&mut mem).unwrap();
    let a = tape.tensor_input(&[2, 3], &[1.0; 6]);
    let b = tape.tensor_input(&[4, 5], &[1.0; 20]);
    let len = tape.len();
    let c = tape.matmul(a, b);
    assert_eq!(c, TensorId::INVALID);
    let error = tape.status().unwrap_err();
    assert!(matches!(error, Error::ShapeMismatch { op: "matmul", .. }));
    assert_eq!(
        error.to_string(),
        "shape mismatch in matmul: [2, 3] and [4, 5]"
    );
    let _ = tape.relu(a);
    assert_eq!(tape.len(), len, "ops after the error record nothing");
    tape.reset();
    let a = tape.tensor_input(&[2, 3], &[1.0; 6]);
    let b = tape.tensor_input(&[3, 2], &[1.0; 6]);
    let s = tape.sum(tape.matmul(a, b));
    assert_eq!(tape.value(s.as_var()).unwrap(), 12.0);
}

#[test]
fn broadcast_and_reduction_errors_are_reported() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let a = tape.tensor_input(&[2, 3], &[1.0; 6]);
    let b = tape.tensor_input(&[2], &[1.0; 2]);
    let _ = tape.tensor_add(a, b);
    assert_eq!(
        tape.status().unwrap_err().to_string(),
        "shape mismatch in add: [2, 3] and [2]"
    );
    tape.reset();
    let a = tape.tensor_input(&[2, 3], &[1.0; 6]);
    let _ = tape.sum_axis(a, 2);
    assert!(matches!(tape.status(), Err(Error::ShapeMismatch { .. })));
    tape.reset();
    let a = tape.tensor_input(&[2, 3], &[1.0; 6]);
    let _ = tape.reshape(a, &[4, 2]);
    assert!(matches!(tape.status(), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn bad_data_labels_and_ranks_are_invalid_arguments() {
    let mut mem = memory();
    let mut tape = Tape::<f32>::new(&mut mem).unwrap();
    let _ = tape.tensor_input(&[2, 3], &[1.0; 5]);
    assert!(matches!(
        tape.status(),
        Err(Error::LengthMismatch {
            got: 5,
            expected: 6,
            ..
        })
    ));
    tape.reset();
    let _ = tape.tensor_input(&[1, 1, 1, 1, 1], &[1.0]);
    assert!(matches!(tape.status(), Err(Error::InvalidArgument(_))));
    tape.reset();
    let logits = tape.tensor_input(&[2, 3], &[0.0; 6]);
    let _ = tape.cross_entropy(logits, &[0, 3]);
    assert!(matches!(tape.status(), Err(Error::InvalidArgument(_))));
    tape.reset();
    let logits = tape.tensor_input(&[2, 3], &[0.0; 6]);
    let _ = tape.cross_entropy(logits, &[0]);
    assert!(matches!(tape.status(), Err(Error::ShapeMismatch { .. })));
    tape.reset();
    let x = tape.tensor_input(&[1, 2], &[0.0; 2]);
    let w = tape.tensor_input(&[2, 2], &[0.0; 4]);
    let b = tape.tensor_input(&[2], &[0.0; 2]);
    let _ = tape.linear(x, w, b, Activation::Gelu);
    assert!(matches!(tape.status(), Err(Error::InvalidArgument(_))));
}

#[test]
fn a_scalar_variable_is_not_a_tensor_and_a_stale_tensor_is_stale() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(1.0).id();
    // A scalar's fields copied into a tensor handle: the kind gives it away.
    let forged = TensorId {
        index: x.index,
        kind: x.kind,
        generation: x.generation,
        tape: x.tape,
    };
    assert!(matches!(
        tape.tensor_shape(forged),
        Err(Error::WrongHandleKind { .. })
    ));
    // Converted properly, it is a tensor handle of a record that is no tensor.
    assert!(matches!(
        tape.tensor_shape(TensorId::from(x)),
        Err(Error::InvalidArgument(_))
    ));
    let t = tape.tensor_input(&[2], &[1.0, 2.0]);
    tape.reset();
    assert_eq!(tape.tensor_shape(t), Err(Error::StaleHandle));
    let _ = tape.relu(t);
    assert_eq!(tape.status(), Err(Error::StaleHandle));
}

#[test]
fn an_arena_too_small_for_a_tensor_reports_bytes_and_recovers_after_reset() {
    let mut mem = common::memory(2048);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let _ = tape.tensor_input(&[100, 100], &vec![0.0; 10_000]);
    match tape.status() {
        Err(Error::OutOfMemory { needed, free }) => assert!(needed > free),
        other => panic!("expected OutOfMemory, got {other:?}"),
    }
    tape.reset();
    let t = tape.tensor_input(&[4], &[1.0, 2.0, 3.0, 4.0]);
    let s = tape.sum(tape.square(t));
    tape.backward(s.as_var()).unwrap();
    let mut g = [0.0; 4];
    tape.tensor_grad(t, &mut g).unwrap();
    assert_eq!(g, [2.0, 4.0, 6.0, 8.0]);
}

#[test]
fn updating_a_parameter_in_place_after_recording_is_reported_not_miscomputed() {
    let mut mem = memory();
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let w = tape.parameter(&[2], &[1.0, 2.0]).unwrap();
    tape.set_optimizer(Optimizer::Sgd(Sgd {
        lr: 0.1,
        momentum: 0.0,
        weight_decay: 0.0,
    }))
    .unwrap();
    let s = tape.sum(tape.square(tape.param(w)));
    tape.backward(s.as_var()).unwrap();
    tape.optimizer_step().unwrap();
    // The recording used the old weights; its backward would now be wrong.
    match tape.backward(s.as_var()) {
        Err(Error::ModifiedInPlace {
            recorded_version: 0,
            current_version: 1,
        }) => {}
        other => panic!("expected ModifiedInPlace, got {other:?}"),
    }
    // Replaying recomputes from the new weights, after which backward is right again.
    tape.replay(&[]).unwrap();
    tape.backward(s.as_var()).unwrap();
    let mut g = [0.0; 2];
    tape.read_param_grad(w, &mut g).unwrap();
    assert_eq!(g, [2.0 * 0.8, 2.0 * 1.6]);
}

#[test]
fn overwriting_an_input_is_caught_until_replay_recomputes() {
    let mut mem = memory();
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.tensor_input(&[3], &[1.0, 2.0, 3.0]);
    let y = tape.sum(tape.square(x));
    tape.set_tensor_value(x, &[2.0, 0.0, -1.0]).unwrap();
    assert!(matches!(
        tape.backward(y.as_var()),
        Err(Error::ModifiedInPlace { .. })
    ));
    tape.replay(&[]).unwrap();
    assert_eq!(tape.value(y.as_var()).unwrap(), 5.0);
    tape.backward(y.as_var()).unwrap();
    let mut g = [0.0; 3];
    tape.tensor_grad(x, &mut g).unwrap();
    assert_eq!(g, [4.0, 0.0, -2.0]);
}

#[test]
fn parameters_and_optimizers_must_come_before_recording() {
    let mut mem = memory();
    let mut tape = Tape::<f32>::new(&mut mem).unwrap();
    let _ = tape.tensor_input(&[1], &[0.0]);
    assert!(matches!(
        tape.parameter(&[2], &[0.0; 2]),
        Err(Error::InvalidArgument(_))
    ));
    tape.reset();
    let p = tape.parameter(&[2], &[0.0; 2]).unwrap();
    let bad = Optimizer::Sgd(Sgd {
        lr: f64::NAN,
        momentum: 0.0,
        weight_decay: 0.0,
    });
    assert!(matches!(
        tape.set_optimizer(bad),
        Err(Error::InvalidArgument(_))
    ));
    let mut out = [1.0; 3];
    assert!(matches!(
        tape.read_param(p, &mut out),
        Err(Error::LengthMismatch { .. })
    ));
    let mut other_mem = memory();
    let other = Tape::<f32>::new(&mut other_mem).unwrap();
    let mut two = [0.0; 2];
    assert_eq!(other.read_param(p, &mut two), Err(Error::ForeignHandle));
}

#[test]
fn the_graph_exports_as_graphviz_dot() {
    let mut mem = memory();
    let tape = Tape::<f32>::new(&mut mem).unwrap();
    let x = tape.tensor_input(&[2, 2], &[1.0; 4]);
    let s = tape.sum(tape.relu(x));
    let y = autodiff_core::Var::from_id(&tape, s.as_var()).sin();
    let _ = y;
    let mut dot = String::new();
    tape.write_dot(&mut dot).unwrap();
    assert!(dot.starts_with("digraph tape {"));
    assert!(dot.contains("n0 [label=\"input [2, 2] f32\"]"));
    assert!(dot.contains("n1 [label=\"relu [2, 2] f32\"]"));
    assert!(dot.contains("n0 -> n1;"));
    assert!(dot.contains("label=\"sin = "));
    assert!(dot.trim_end().ends_with('}'));
}

#[test]
fn a_parameter_that_does_not_fit_costs_no_memory() {
    let mut mem = common::memory(4096);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let free = |tape: &Tape<f64>| tape.capacity_bytes() - tape.used_bytes();
    let before = free(&tape);
    assert!(matches!(
        tape.parameter(&[40, 40], &[0.0; 1600]),
        Err(Error::OutOfMemory { .. })
    ));
    tape.reset();
    assert_eq!(free(&tape), before, "the failed parameter kept memory");
    // A parameter that fits, then an optimizer whose two moments do not.
    let p = tape.parameter(&[150], &[1.0; 150]).unwrap();
    let with_param = free(&tape);
    let adam = Optimizer::Adam(autodiff_core::Adam::default());
    assert!(matches!(
        tape.set_optimizer(adam),
        Err(Error::OutOfMemory { .. })
    ));
    tape.reset();
    assert_eq!(free(&tape), with_param, "the failed optimizer kept memory");
    tape.set_optimizer(Optimizer::Sgd(Sgd {
        lr: 0.1,
        momentum: 0.0,
        weight_decay: 0.0,
    }))
    .unwrap();
    let mut v = [0.0; 150];
    tape.read_param(p, &mut v).unwrap();
    assert_eq!(v, [1.0; 150]);
}
