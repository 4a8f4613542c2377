//! Backward with notifications: each parameter group is announced as soon as the sweep
//! has finished its gradient (the last layer first), so a host can start reducing it
//! across processes while backward goes on; what the callback may not do; and groups
//! used inside checkpointed blocks, which are not announced.

mod common;
#[path = "support/data_parallel.rs"]
mod support;

use autodiff_core::{Error, ParamGroup, Tape};
use support::*;

/// Per-layer groups are announced as the sweep finishes them, last layer first, each
/// with its final gradient already in place.
#[test]
fn backward_notifying_announces_each_layer_group_when_its_gradient_is_complete() {
    let mut mem = memory();
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = make_params(&tape);
    let layers: Vec<ParamGroup> = params
        .chunks(2)
        .map(|pair| tape.param_group(pair).unwrap())
        .collect();
    let (x, labels) = batch(4);
    let l = loss(&tape, &params, &x, &labels);
    let mut announced = Vec::new();
    tape.backward_notifying(l.as_var(), &mut |g| {
        let mut grads = vec![0.0; tape.group_len(g).unwrap()];
        tape.read_group_grads(g, &mut grads).unwrap();
        announced.push((g, grads));
    })
    .unwrap();
    let order: Vec<ParamGroup> = announced.iter().map(|(g, _)| *g).collect();
    assert_eq!(order, [layers[1], layers[0]]);
    for (g, seen) in &announced {
        let mut last = vec![0.0; seen.len()];
        tape.read_group_grads(*g, &mut last).unwrap();
        assert_eq!(seen, &last);
        assert!(seen.iter().any(|&v| v != 0.0));
    }

    // A plain backward announces nothing and gives the same gradients.
    let mut grads = vec![0.0; tape.group_len(layers[0]).unwrap()];
    tape.read_group_grads(layers[0], &mut grads).unwrap();
    tape.backward(l.as_var()).unwrap();
    let mut again = vec![0.0; grads.len()];
    tape.read_group_grads(layers[0], &mut again).unwrap();
    assert_eq!(grads, again);
}

#[test]
fn a_ready_callback_may_not_write_gradients_and_the_backward_reports_it() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = make_params(&tape);
    let g = tape.param_group_all().unwrap();
    let (x, labels) = batch(5);
    let l = loss(&tape, &params, &x, &labels);
    let zeros = vec![0.0; tape.group_len(g).unwrap()];
    let mut refused = None;
    let result = tape.backward_notifying(l.as_var(), &mut |g| {
        refused = Some(tape.write_group_grads(g, &zeros));
    });
    assert!(matches!(refused, Some(Err(Error::Reentrant(_)))));
    assert!(matches!(result, Err(Error::Reentrant(_))));
    tape.reset();
    let l = loss(&tape, &params, &x, &labels);
    let mut calls = 0;
    tape.backward_notifying(l.as_var(), &mut |_| calls += 1)
        .unwrap();
    assert_eq!(calls, 1);
}

/// A group whose parameter is used inside a checkpointed block is not announced (the
/// block's records are dropped and recorded again during the sweep), and its gradient is
/// still right; a group used outside is announced.
#[test]
fn a_group_used_inside_a_checkpointed_block_is_not_announced() {
    use autodiff_core::checkpoint::segment_fn;
    use autodiff_core::{Op, VarId};
    let mut mem = memory();
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = make_params(&tape);
    let inside = tape.param_group(&params[..2]).unwrap();
    let outside = tape.param_group(&params[2..]).unwrap();
    let x = tape.input_id(2.0);
    let w = params[0];
    let block = segment_fn(move |t: &Tape<'_, f64>, i: &[VarId], o: &mut [VarId]| {
        let s = t.sum(t.param(w)).as_var();
        o[0] = t.binary_id(Op::Mul, s, i[0]);
    });
    let mut out = [VarId::INVALID];
    tape.checkpoint(block, &[x], &mut out).unwrap();
    let b = tape.sum(tape.param(params[2])).as_var();
    let f = tape.binary_id(Op::Add, out[0], b);
    let mut announced = Vec::new();
    tape.backward_notifying(f, &mut |g| announced.push(g))
        .unwrap();
    assert_eq!(announced, [outside]);
    let mut grads = vec![0.0; tape.group_len(inside).unwrap()];
    tape.read_group_grads(inside, &mut grads).unwrap();
    let weights = SIZES[0] * SIZES[1];
    assert!(grads[..weights].iter().all(|&g| g == 2.0));
    assert!(grads[weights..].iter().all(|&g| g == 0.0));
}
