//! The smallest useful reverse-mode program: the gradient of the Rosenbrock function
//! in 8 variables on an `f32` tape, with nothing but `+ − ×` recorded. Its flash is
//! what a scalar reverse-mode user pays at the least (see BENCHMARKS.md).
//!
//! `f(x) = Σ_{i<7} 100·(x_{i+1} − x_i²)² + (1 − x_i)²` at `x_i = −1.2, 1, −1.2, …`; the
//! gradient is checked against the closed form within 10⁻⁶ relative (the closed form
//! rounds in another order) and compared with the host's bit for bit.

use crate::report::Report;
use autodiff_core::Tape;
use core::mem::MaybeUninit;

const N: usize = 8;

/// About ten records per term.
pub const ARENA_BYTES: usize = 2048;

/// `∂f/∂x_i`, by hand.
fn closed_form(x: &[f32; N]) -> [f32; N] {
    core::array::from_fn(|i| {
        let mut g = 0.0;
        if i + 1 < N {
            g += -400.0 * x[i] * (x[i + 1] - x[i] * x[i]) - 2.0 * (1.0 - x[i]);
        }
        if i > 0 {
            g += 200.0 * (x[i] - x[i - 1] * x[i - 1]);
        }
        g
    })
}

pub fn run(arena: &mut [MaybeUninit<u8>], report: &mut Report) {
    let tape = match Tape::<f32>::new(arena) {
        Ok(tape) => tape,
        Err(_) => return report.check("tape fits the arena", false),
    };
    let x0: [f32; N] = core::array::from_fn(|i| if i % 2 == 0 { -1.2 } else { 1.0 });
    let x = x0.map(|v| tape.input(v));
    let mut f = tape.constant(0.0);
    for i in 0..N - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        f = f + 100.0 * a * a + b * b;
    }
    let mut g = [0.0f32; N];
    let swept = tape.gradient_into(f.id(), &mut g).is_ok();
    report.exact("f", f.value());
    const LABELS: [&str; N] = [
        "df/dx0", "df/dx1", "df/dx2", "df/dx3", "df/dx4", "df/dx5", "df/dx6", "df/dx7",
    ];
    for (label, &gi) in LABELS.iter().zip(&g) {
        report.exact(label, gi);
    }
    let by_hand = closed_form(&x0);
    let close = g
        .iter()
        .zip(&by_hand)
        .all(|(&a, &b)| (a - b).abs() <= 1e-6 * b.abs().max(1.0));
    report.check("gradient matches the closed form", swept && close);
    report.info("tape bytes in use", tape.used_bytes());
}
