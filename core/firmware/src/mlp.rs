//! A 2-16-16-1 multilayer perceptron in `f32`, trained on a fixed batch: the tensor
//! half of the core (fused linear layers, `tanh`, mean squared error, parameters that
//! survive `reset`, an optimizer) on a microcontroller.
//!
//! The batch is 32 points of `[−1, 1]²` with targets `y = x₀·x₁ + x₀/2`, both drawn from
//! a fixed linear congruential generator, as are the initial weights. 200 steps of SGD
//! with momentum (learning rate 0.1, momentum 0.9) must lower the loss at every shown
//! step and cut it below a tenth of its start (it falls about 175-fold).
//!
//! The losses are compared with the host's within 10⁻⁵ relative: the x86-64 matrix
//! kernels fuse multiply-adds and sum in another order, so the last bits differ (by
//! under 10⁻⁶ relative after 200 steps). SGD keeps that drift small; with Adam, whose
//! step divides by the gradient's running magnitude, the same one-ulp differences grew
//! to 10⁻² by the end.

use crate::report::Report;
use autodiff_core::{Activation, Optimizer, ParamId, Sgd, Tape};
use core::mem::MaybeUninit;

/// Parameters and their momentum (about 5 KiB), one step's recording (about 12.5 KiB
/// more), and the scratch its backward sweep takes (12 KiB).
pub const ARENA_BYTES: usize = 32 * 1024;

const BATCH: usize = 32;
const WIDTHS: [usize; 4] = [2, 16, 16, 1];
const STEPS: u32 = 200;
/// Steps whose loss is printed.
const SHOWN_EVERY: u32 = 40;
/// The relative tolerance of a loss against the host's, as a power of ten.
const LOSS_TOLERANCE_EXPONENT: u8 = 5;

/// A linear congruential generator (Numerical Recipes' constants) on 32 bits, so that
/// the firmware needs no 64-bit arithmetic for it.
struct Lcg(u32);

impl Lcg {
    /// Uniform in `[−1, 1)`, from the top 24 bits (exact in `f32`).
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (self.0 >> 8) as f32 * (2.0 / (1u32 << 24) as f32) - 1.0
    }

    fn fill(&mut self, out: &mut [f32], scale: f32) {
        for v in out {
            *v = self.next() * scale;
        }
    }
}

/// The network's parameters: a weight and a bias per layer.
type Layers = [(ParamId, ParamId); 3];

fn make_layers(tape: &Tape<f32>, rng: &mut Lcg) -> autodiff_core::Result<Layers> {
    let mut weights = [0.0f32; 16 * 16];
    let mut layer = |l: usize| -> autodiff_core::Result<(ParamId, ParamId)> {
        let (inputs, outputs) = (WIDTHS[l], WIDTHS[l + 1]);
        let w = &mut weights[..inputs * outputs];
        // Uniform in ±1/√fan-in, the usual scale for tanh layers.
        let scale = if inputs == 2 { 0.707 } else { 0.25 };
        rng.fill(w, scale);
        let w = tape.parameter(&[inputs, outputs], w)?;
        let b = tape.parameter(&[outputs], &[0.0; 16][..outputs])?;
        Ok((w, b))
    };
    Ok([layer(0)?, layer(1)?, layer(2)?])
}

/// Records the loss of the batch and returns its value (NaN when recording failed).
fn record_loss(tape: &Tape<f32>, layers: &Layers, x: &[f32], y: &[f32]) -> f32 {
    let mut h = tape.tensor_input(&[BATCH, WIDTHS[0]], x);
    for (l, &(w, b)) in layers.iter().enumerate() {
        let activation = if l + 1 == layers.len() {
            Activation::Identity
        } else {
            Activation::Tanh
        };
        h = tape.linear(h, tape.param(w), tape.param(b), activation);
    }
    let target = tape.tensor_input(&[BATCH, 1], y);
    let loss = tape.mse(h, target).as_var();
    match tape.backward(loss) {
        Ok(()) => tape.value(loss).unwrap_or(f32::NAN),
        Err(_) => f32::NAN,
    }
}

pub fn run(arena: &mut [MaybeUninit<u8>], report: &mut Report) {
    let mut rng = Lcg(2024);
    let mut x = [0.0f32; BATCH * 2];
    rng.fill(&mut x, 1.0);
    let mut y = [0.0f32; BATCH];
    for (t, p) in y.iter_mut().zip(x.chunks_exact(2)) {
        *t = p[0] * p[1] + 0.5 * p[0];
    }

    let mut tape = match Tape::<f32>::new(arena) {
        Ok(tape) => tape,
        Err(_) => return report.check("tape fits the arena", false),
    };
    let layers = match make_layers(&tape, &mut rng) {
        Ok(layers) => layers,
        Err(_) => return report.check("parameters fit the arena", false),
    };
    let sgd = Sgd {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.0,
    };
    if tape.set_optimizer(Optimizer::Sgd(sgd)).is_err() {
        return report.check("optimizer state fits the arena", false);
    }
    report.info("parameter and optimizer bytes", tape.used_bytes());

    let (mut first, mut last, mut shown_fell) = (f32::NAN, f32::NAN, true);
    for step in 0..=STEPS {
        tape.reset();
        let loss = record_loss(&tape, &layers, &x, &y);
        if step == 0 {
            first = loss;
            report.info("bytes in use after one step's recording", tape.used_bytes());
        }
        if step % SHOWN_EVERY == 0 {
            let mut label = *b"loss at step 000";
            for (i, digit) in label[13..].iter_mut().enumerate() {
                *digit = b'0' + (step / [100, 10, 1][i] % 10) as u8;
            }
            let label = core::str::from_utf8(&label).unwrap_or("loss");
            report.close(label, loss, LOSS_TOLERANCE_EXPONENT);
            shown_fell &= step == 0 || loss < last;
            last = loss;
        }
        if step < STEPS && tape.optimizer_step().is_err() {
            return report.check("optimizer step", false);
        }
    }
    report.check("loss falls at every shown step", shown_fell);
    report.check("final loss below a tenth of the first", last < first / 10.0);
}
