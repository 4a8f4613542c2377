//! Blocks the segment tests checkpoint: a scalar block, and a stack of `tanh(x·w + b)`
//! layers over parameters as a `Segment`.
#![allow(dead_code)]

use crate::common::Rng;
use autodiff_core::checkpoint::Segment;
use autodiff_core::{Activation, Op, ParamId, Tape, TensorId, VarId};

/// `layers` tanh layers of `width`, parameters created on `tape`.
pub fn mlp_params(tape: &Tape<'_, f64>, layers: usize, width: usize) -> Vec<(ParamId, ParamId)> {
    let mut rng = Rng::seeded("mlp params");
    let scale = 1.5 / (width as f64).sqrt();
    (0..layers)
        .map(|_| {
            let w: Vec<f64> = (0..width * width)
                .map(|_| rng.uniform(-scale, scale))
                .collect();
            let b: Vec<f64> = (0..width).map(|_| rng.uniform(-0.1, 0.1)).collect();
            (
                tape.parameter(&[width, width], &w).unwrap(),
                tape.parameter(&[width], &b).unwrap(),
            )
        })
        .collect()
}

/// A block of up to 8 `linear` tanh layers.
#[derive(Clone, Copy)]
pub struct Layers {
    params: [(ParamId, ParamId); 8],
    count: usize,
}

impl Segment<f64> for Layers {
    fn record(
        &self,
        tape: &Tape<'_, f64>,
        inputs: &[VarId],
        outputs: &mut [VarId],
    ) -> autodiff_core::Result<()> {
        let mut h = TensorId::from(inputs[0]);
        for &(w, b) in &self.params[..self.count] {
            h = tape.linear(h, tape.param(w), tape.param(b), Activation::Tanh);
        }
        outputs[0] = h.into();
        Ok(())
    }
}

pub fn layers(params: &[(ParamId, ParamId)]) -> Layers {
    let mut block = Layers {
        params: [params[0]; 8],
        count: params.len(),
    };
    block.params[..params.len()].copy_from_slice(params);
    block
}

/// A scalar block of two inputs and two outputs, with transcendental ops, constants and
/// an output that the block uses again.
pub fn scalar_block(tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]) {
    let (x, y) = (inputs[0], inputs[1]);
    let a = tape.binary_id(Op::Mul, x, y);
    let s = tape.unary_id(Op::Sin, a);
    let c = tape.constant_id(0.3);
    let e = tape.binary_id(Op::Mul, s, c);
    let e = tape.unary_id(Op::Exp, e);
    let u = tape.binary_id(Op::Add, e, x);
    let v = tape.binary_id(
        Op::Div,
        u,
        tape.binary_id(Op::Add, y, tape.constant_id(2.0)),
    );
    let v = tape.binary_id(Op::Mul, v, u);
    // Constants `f32` does not hold: kept beside the records (the wide-constant pool),
    // which a segment gives back and takes again each time its block is recorded.
    let v = tape.const_binary_id(Op::Sub, 0.7, tape.binary_const_id(Op::Mul, v, 0.3));
    outputs[0] = u;
    outputs[1] = v;
}
