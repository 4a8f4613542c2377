//! Checkpointed segments (`Tape::checkpoint`): gradients bit for bit those of the same
//! blocks recorded plainly, tangents and replay through segments, the memory they save,
//! and what they save; `checkpoint_segment_errors.rs` has their failures.

mod common;
use common::memory;

use autodiff_core::checkpoint::{segment_fn, Segment};
use autodiff_core::{Activation, Error, Op, ParamId, Tape, TensorId, VarId};
use common::Rng;

#[path = "common/segment_blocks.rs"]
mod segment_blocks;
use segment_blocks::{layers, mlp_params, scalar_block};

/// `full`, or `small` under Miri, which runs these some thousand times slower: there the
/// tests record the same kinds of blocks, fewer and smaller.
const fn sized(full: usize, small: usize) -> usize {
    if cfg!(miri) {
        small
    } else {
        full
    }
}

/// Records `block` as a segment, or plainly, on `tape`.
fn run<B: Segment<f64> + Copy + Send + 'static>(
    tape: &Tape<'_, f64>,
    checkpointed: bool,
    block: B,
    inputs: &[VarId],
    outputs: &mut [VarId],
) {
    if checkpointed {
        tape.checkpoint(block, inputs, outputs).unwrap();
    } else {
        block.record(tape, inputs, outputs).unwrap();
    }
}

/// Some entry of `values` is not zero.
fn assert_nonzero(values: &[f64], what: &str) {
    assert!(values.iter().any(|&v| v != 0.0), "{what} is all zero");
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// `x, y` inputs; two segments in sequence, the second fed by the first's outputs, an
/// input used inside and outside the blocks; returns the gradient of the loss.
fn scalar_chain(checkpointed: bool, at: [f64; 2]) -> (f64, [f64; 2]) {
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input_id(at[0]);
    let y = tape.input_id(at[1]);
    let outside = tape.unary_id(Op::Cos, x);
    let mut first = [VarId::INVALID; 2];
    run(&tape, checkpointed, scalar_block, &[x, y], &mut first);
    let mut second = [VarId::INVALID; 2];
    run(
        &tape,
        checkpointed,
        scalar_block,
        &[first[1], x],
        &mut second,
    );
    let loss = tape.binary_id(Op::Mul, second[0], second[1]);
    let loss = tape.binary_id(Op::Add, loss, tape.binary_id(Op::Mul, first[0], outside));
    let loss = tape.binary_id(Op::Add, loss, y);
    let mut grad = [0.0; 2];
    tape.gradient_into(loss, &mut grad).unwrap();
    (tape.value(loss).unwrap(), grad)
}

#[test]
fn scalar_segments_match_bitwise() {
    let mut rng = Rng::seeded("scalar segments");
    for _ in 0..sized(20, 3) {
        let at = [rng.uniform(-1.5, 1.5), rng.uniform(-1.0, 1.0)];
        let (plain_loss, plain) = scalar_chain(false, at);
        let (loss, grad) = scalar_chain(true, at);
        assert!(plain.iter().all(|&g| g != 0.0), "a zero gradient at {at:?}");
        assert_eq!(plain_loss.to_bits(), loss.to_bits());
        assert_eq!(bits(&plain), bits(&grad), "at {at:?}");
    }
}

/// Outer block: a nested segment inside, then more ops on its outputs.
fn nested_block(tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]) {
    let mut inner = [VarId::INVALID; 2];
    tape.checkpoint(segment_fn(scalar_block), inputs, &mut inner)
        .unwrap();
    let mut deeper = [VarId::INVALID; 2];
    // Two levels: a segment whose block holds a segment.
    tape.checkpoint(
        segment_fn(
            |tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]| {
                let mut inner = [VarId::INVALID; 2];
                tape.checkpoint(segment_fn(scalar_block), inputs, &mut inner)
                    .unwrap();
                outputs[0] = tape.binary_id(Op::Mul, inner[0], inner[1]);
                outputs[1] = tape.unary_id(Op::Tanh, inner[1]);
            },
        ),
        &[inner[1], inputs[1]],
        &mut deeper,
    )
    .unwrap();
    outputs[0] = tape.binary_id(Op::Sub, deeper[0], inner[0]);
    outputs[1] = tape.binary_id(Op::Mul, deeper[1], inputs[0]);
}

/// The nested block written out with no segment at all.
fn nested_block_plain(tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]) {
    let mut inner = [VarId::INVALID; 2];
    scalar_block(tape, inputs, &mut inner);
    let mut again = [VarId::INVALID; 2];
    scalar_block(tape, &[inner[1], inputs[1]], &mut again);
    let deeper = [
        tape.binary_id(Op::Mul, again[0], again[1]),
        tape.unary_id(Op::Tanh, again[1]),
    ];
    outputs[0] = tape.binary_id(Op::Sub, deeper[0], inner[0]);
    outputs[1] = tape.binary_id(Op::Mul, deeper[1], inputs[0]);
}

#[test]
fn nested_segments_match_bitwise() {
    let mut rng = Rng::seeded("nested segments");
    for _ in 0..sized(10, 2) {
        let at = [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)];
        let mut results = Vec::new();
        for mode in 0..3 {
            let mut mem = memory(1 << 16);
            let tape = Tape::<f64>::new(&mut mem).unwrap();
            let x = tape.input_id(at[0]);
            let y = tape.input_id(at[1]);
            let mut out = [VarId::INVALID; 2];
            match mode {
                0 => nested_block_plain(&tape, &[x, y], &mut out),
                // Nested segments inside an unmarked block, then inside a segment.
                1 => nested_block(&tape, &[x, y], &mut out),
                _ => tape
                    .checkpoint(segment_fn(nested_block), &[x, y], &mut out)
                    .unwrap(),
            }
            let loss = tape.binary_id(Op::Add, out[0], tape.binary_id(Op::Mul, out[1], y));
            let mut grad = [0.0; 2];
            tape.gradient_into(loss, &mut grad).unwrap();
            // A second backward re-runs every segment again, with the same result.
            let mut again = [0.0; 2];
            tape.gradient_into(loss, &mut again).unwrap();
            assert_eq!(bits(&grad), bits(&again));
            results.push((tape.value(loss).unwrap().to_bits(), bits(&grad)));
        }
        assert_eq!(results[0], results[1], "at {at:?}");
        assert_eq!(results[0], results[2], "at {at:?}");
    }
}

struct MlpRun {
    loss: f64,
    input_grad: Vec<f64>,
    param_grads: Vec<Vec<f64>>,
    /// `used_bytes + reserved_bytes` after recording.
    bytes: usize,
}

/// Records the MLP on `x` (`batch × width`) with segments of `per_segment` layers
/// (`0`: unmarked) and runs backward from the mean of squares of the output.
fn mlp_run(
    tape: &Tape<'_, f64>,
    params: &[(ParamId, ParamId)],
    x: &[f64],
    batch: usize,
    per_segment: usize,
) -> autodiff_core::Result<MlpRun> {
    let width = x.len() / batch;
    let input = tape.tensor_input(&[batch, width], x);
    let mut h: VarId = input.into();
    if per_segment == 0 {
        let mut out = [VarId::INVALID];
        layers(&params[..params.len().min(8)]).record(tape, &[h], &mut out)?;
        h = out[0];
        for chunk in params[params.len().min(8)..].chunks(8) {
            layers(chunk).record(tape, &[h], &mut out)?;
            h = out[0];
        }
    } else {
        for chunk in params.chunks(per_segment) {
            let mut out = [VarId::INVALID];
            tape.checkpoint(layers(chunk), &[h], &mut out)?;
            h = out[0];
        }
    }
    let loss = tape.mean(tape.square(TensorId::from(h)));
    tape.status()?;
    let bytes = tape.used_bytes() + tape.reserved_bytes();
    println!(
        "segments of {per_segment}: used {} reserved {}",
        tape.used_bytes(),
        tape.reserved_bytes()
    );
    tape.backward(loss.as_var())?;
    let mut input_grad = vec![0.0; x.len()];
    tape.tensor_grad(input, &mut input_grad)?;
    let mut param_grads = Vec::new();
    for &(w, b) in params {
        let mut gw = vec![0.0; width * width];
        let mut gb = vec![0.0; width];
        tape.read_param_grad(w, &mut gw)?;
        tape.read_param_grad(b, &mut gb)?;
        param_grads.push(gw);
        param_grads.push(gb);
    }
    Ok(MlpRun {
        loss: tape.value(loss.as_var())?,
        input_grad,
        param_grads,
        bytes,
    })
}

fn assert_same_run(a: &MlpRun, b: &MlpRun) {
    // Gradients that never arrived (all zero on both sides) would compare equal too.
    assert_nonzero(&a.input_grad, "the input's gradient");
    for (i, g) in a.param_grads.iter().enumerate() {
        assert_nonzero(g, &format!("parameter {i}'s gradient"));
    }
    assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    assert_eq!(bits(&a.input_grad), bits(&b.input_grad));
    assert_eq!(a.param_grads.len(), b.param_grads.len());
    for (ga, gb) in a.param_grads.iter().zip(&b.param_grads) {
        assert_eq!(bits(ga), bits(gb));
    }
}

#[test]
fn tensor_segments_match_bitwise() {
    let (layers_n, width, batch) = (sized(12, 6), sized(16, 4), sized(5, 2));
    let mut mem = memory(sized(4 << 20, 1 << 18));
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = mlp_params(&tape, layers_n, width);
    let mut rng = Rng::seeded("mlp input");
    let x: Vec<f64> = (0..batch * width).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let plain = mlp_run(&tape, &params, &x, batch, 0).unwrap();
    for per_segment in [1, 3, 5, 8] {
        tape.reset();
        let run = mlp_run(&tape, &params, &x, batch, per_segment).unwrap();
        assert_same_run(&plain, &run);
    }
}

#[test]
fn deep_stack_records_in_fewer_bytes() {
    let (layers_n, width, batch) = (sized(50, 20), sized(32, 4), sized(16, 2));
    let mut mem = memory(sized(16 << 20, 1 << 19));
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = mlp_params(&tape, layers_n, width);
    let persistent = tape.used_bytes();
    let mut rng = Rng::seeded("deep input");
    let x: Vec<f64> = (0..batch * width).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let plain = mlp_run(&tape, &params, &x, batch, 0).unwrap();
    tape.reset();
    let checkpointed = mlp_run(&tape, &params, &x, batch, 5).unwrap();
    assert_same_run(&plain, &checkpointed);
    let (plain_bytes, ckpt_bytes) = (plain.bytes - persistent, checkpointed.bytes - persistent);
    println!(
        "{layers_n} tanh layers, width {width}, batch {batch}, f64: unmarked {plain_bytes} bytes, \
         segments of 5 layers {ckpt_bytes} bytes ({:.0}% saved), parameters {persistent} bytes",
        100.0 * (1.0 - ckpt_bytes as f64 / plain_bytes as f64)
    );
    assert!(
        ckpt_bytes * 2 < plain_bytes,
        "{ckpt_bytes} vs {plain_bytes}"
    );

    // The checkpointed run fits in an arena the unmarked one does not.
    let small = persistent + ckpt_bytes + 4096;
    assert!(small < persistent + plain_bytes);
    let mut mem = memory(small);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = mlp_params(&tape, layers_n, width);
    let run = mlp_run(&tape, &params, &x, batch, 5).unwrap();
    assert_same_run(&plain, &run);
    tape.reset();
    let error = mlp_run(&tape, &params, &x, batch, 0).err();
    assert!(
        matches!(error, Some(Error::OutOfMemory { .. })),
        "{error:?}"
    );
    // Usable again after the failure.
    tape.reset();
    let run = mlp_run(&tape, &params, &x, batch, 5).unwrap();
    assert_same_run(&plain, &run);
}

#[test]
fn shared_parameters_across_segments_match_bitwise() {
    // One layer's parameters used by every segment (a recurrence), and once more after.
    let (width, batch) = (8, 3);
    let mut mem = memory(1 << 20);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = mlp_params(&tape, 1, width);
    let block = layers(&[params[0], params[0]]);
    let mut rng = Rng::seeded("shared params");
    let x: Vec<f64> = (0..batch * width).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut results = Vec::new();
    for checkpointed in [false, true] {
        tape.reset();
        let input = tape.tensor_input(&[batch, width], &x);
        let mut h: VarId = input.into();
        for _ in 0..4 {
            let mut out = [VarId::INVALID];
            if checkpointed {
                tape.checkpoint(block, &[h], &mut out).unwrap();
            } else {
                block.record(&tape, &[h], &mut out).unwrap();
            }
            h = out[0];
        }
        let (w, b) = params[0];
        let h = tape.linear(h.into(), tape.param(w), tape.param(b), Activation::Tanh);
        let loss = tape.sum(h);
        tape.backward(loss.as_var()).unwrap();
        let mut gw = vec![0.0; width * width];
        tape.read_param_grad(w, &mut gw).unwrap();
        let mut gx = vec![0.0; x.len()];
        tape.tensor_grad(input, &mut gx).unwrap();
        assert_nonzero(&gw, "the shared weight's gradient");
        assert_nonzero(&gx, "the input's gradient");
        results.push((bits(&gw), bits(&gx)));
    }
    assert_eq!(results[0], results[1]);
}

#[test]
fn rank0_and_scalar_outputs_mix_with_scalar_ops() {
    let mut results = Vec::new();
    for checkpointed in [false, true] {
        let mut mem = memory(1 << 18);
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let s = tape.input_id(0.7);
        let t = tape.tensor_input(&[2, 3], &[0.1, -0.2, 0.3, 0.4, -0.5, 0.6]);
        let block = segment_fn(
            |tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]| {
                let t = TensorId::from(inputs[1]);
                let sum = tape.sum(tape.tensor_exp(tape.scale(t, 1.5)));
                // A rank-0 tensor output, and a scalar one computed from it.
                outputs[0] = sum.into();
                outputs[1] = tape.binary_id(Op::Mul, sum.as_var(), inputs[0]);
                outputs[2] = tape.tensor_tanh(t).into();
            },
        );
        let mut out = [VarId::INVALID; 3];
        run(&tape, checkpointed, block, &[s, t.into()], &mut out);
        let tail = tape.sum(tape.tensor_mul(out[2].into(), TensorId::from(out[2])));
        let loss = tape.binary_id(Op::Mul, out[0], out[1]);
        let loss = tape.binary_id(Op::Add, loss, tail.as_var());
        tape.backward(loss).unwrap();
        let mut gt = [0.0; 6];
        tape.tensor_grad(t, &mut gt).unwrap();
        results.push((
            tape.value(loss).unwrap().to_bits(),
            tape.grad(s).unwrap().to_bits(),
            bits(&gt),
        ));
    }
    assert_eq!(results[0], results[1]);
}

#[test]
fn jvp_and_replay_run_through_segments() {
    let at = [0.4, -0.8];
    let mut results = Vec::new();
    for checkpointed in [false, true] {
        let mut mem = memory(1 << 16);
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let x = tape.input_id(at[0]);
        let y = tape.input_id(at[1]);
        let mut out = [VarId::INVALID; 2];
        run(&tape, checkpointed, scalar_block, &[x, y], &mut out);
        let mut deeper = [VarId::INVALID; 2];
        run(
            &tape,
            checkpointed,
            nested_block_plain,
            &[out[0], out[1]],
            &mut deeper,
        );
        let loss = tape.binary_id(Op::Mul, deeper[0], tape.unary_id(Op::Sin, deeper[1]));
        tape.jvp(&[0.3, -1.1]).unwrap();
        let tangent = tape.tangent(loss).unwrap();
        tape.replay(&[-0.2, 0.9]).unwrap();
        let replayed = tape.value(loss).unwrap();
        let mut grad = [0.0; 2];
        tape.gradient_into(loss, &mut grad).unwrap();
        results.push((tangent.to_bits(), replayed.to_bits(), bits(&grad)));
    }
    assert_eq!(results[0], results[1]);
    // And the replayed values are those of a fresh recording there.
    let (fresh, fresh_grad) = scalar_chain_like_jvp([-0.2, 0.9]);
    assert_eq!(results[1].1, fresh.to_bits());
    assert_eq!(results[1].2, bits(&fresh_grad));
}

fn scalar_chain_like_jvp(at: [f64; 2]) -> (f64, [f64; 2]) {
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input_id(at[0]);
    let y = tape.input_id(at[1]);
    let mut out = [VarId::INVALID; 2];
    scalar_block(&tape, &[x, y], &mut out);
    let mut deeper = [VarId::INVALID; 2];
    nested_block_plain(&tape, &[out[0], out[1]], &mut deeper);
    let loss = tape.binary_id(Op::Mul, deeper[0], tape.unary_id(Op::Sin, deeper[1]));
    let mut grad = [0.0; 2];
    tape.gradient_into(loss, &mut grad).unwrap();
    (tape.value(loss).unwrap(), grad)
}

#[test]
fn tensor_jvp_through_segments() {
    let (width, batch) = (6, 2);
    let mut results = Vec::new();
    for checkpointed in [false, true] {
        let mut mem = memory(1 << 20);
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let params = mlp_params(&tape, 4, width);
        let x: Vec<f64> = (0..batch * width)
            .map(|i| (i as f64 * 0.37).sin())
            .collect();
        let input = tape.tensor_input(&[batch, width], &x);
        let mut h: VarId = input.into();
        for chunk in params.chunks(2) {
            let mut out = [VarId::INVALID];
            if checkpointed {
                tape.checkpoint(layers(chunk), &[h], &mut out).unwrap();
            } else {
                layers(chunk).record(&tape, &[h], &mut out).unwrap();
            }
            h = out[0];
        }
        let loss = tape.sum(TensorId::from(h));
        let seed: Vec<f64> = (0..x.len()).map(|i| (i as f64 * 0.11).cos()).collect();
        tape.seed_tensor_tangent(input, &seed).unwrap();
        tape.jvp(&[]).unwrap();
        let mut th = vec![0.0; batch * width];
        tape.tensor_tangent(h.into(), &mut th).unwrap();
        results.push((tape.tangent(loss.as_var()).unwrap().to_bits(), bits(&th)));
    }
    assert_eq!(results[0], results[1]);
}
