//! The seed chapter's worked gradients on an `f32` tape: the scalar reverse mode a
//! firmware author reaches for first, with nothing else linked in.
//!
//! - `f(x, y) = (x + y)(x − 2y)` at (3, 2): `f = −5`, `∂f/∂x = 4`, `∂f/∂y = −11`;
//! - `f(x) = 2x² + sin x` at 3, in reverse mode and by a forward (tangent) sweep over
//!   the same recording: both `f'(3) = 12 + cos 3`;
//! - `z = x² + y²` at (3, 4): `z = 25`, `∇z = (6, 8)`;
//! - and a second tape, which must see the first one's variables as foreign: tape
//!   identities come from a counter that targets without compare-and-swap (ARMv6-M)
//!   advance with a plain load and store.

use crate::report::Report;
use autodiff_core::{Error, Real, Tape};
use core::mem::MaybeUninit;

/// The arena, for two tapes of a few dozen records each.
pub const ARENA_BYTES: usize = 1024;

pub fn run(arena: &mut [MaybeUninit<u8>], report: &mut Report) {
    let (arena, other_arena) = arena.split_at_mut(arena.len() / 2);
    let mut tape = match Tape::<f32>::new(arena) {
        Ok(tape) => tape,
        Err(_) => return report.check("tape fits the arena", false),
    };
    report.info("bytes per record (f32)", Tape::<f32>::bytes_per_record());
    report.info("bytes per record (f64)", Tape::<f64>::bytes_per_record());

    let (x, y) = (tape.input(3.0), tape.input(2.0));
    let f = (x + y) * (x - 2.0 * y);
    let mut g = [0.0; 2];
    let swept = tape.gradient_into(f.id(), &mut g).is_ok();
    report.exact("product f", f.value());
    report.exact("product df/dx", g[0]);
    report.exact("product df/dy", g[1]);
    report.check(
        "product (x+y)(x-2y) at (3,2) = -5, grad (4,-11)",
        swept && f.value() == -5.0 && g == [4.0, -11.0],
    );

    tape.reset();
    let x = tape.input(3.0);
    let f = 2.0 * x * x + x.sin();
    // NaN stands for a failed sweep: it fails the check below.
    let reverse = tape.backward(f.id()).map_or(f32::NAN, |()| x.grad());
    let forward = tape
        .jvp(&[1.0])
        .and_then(|()| tape.tangent(f.id()))
        .unwrap_or(f32::NAN);
    let expected = 12.0 + Real::cos(3.0f32);
    report.exact("2x^2+sin x f", f.value());
    report.exact("2x^2+sin x f' reverse", reverse);
    report.exact("2x^2+sin x f' forward", forward);
    report.check(
        "2x^2+sin x at 3: f' = 12 + cos 3 in reverse and forward",
        reverse == expected && forward == expected,
    );

    tape.reset();
    let (x, y) = (tape.input(3.0), tape.input(4.0));
    let z = x * x + y * y;
    let swept = tape.gradient_into(z.id(), &mut g).is_ok();
    report.exact("x^2+y^2 z", z.value());
    report.exact("x^2+y^2 dz/dx", g[0]);
    report.exact("x^2+y^2 dz/dy", g[1]);
    report.check(
        "x^2+y^2 at (3,4) = 25, grad (6,8)",
        swept && z.value() == 25.0 && g == [6.0, 8.0],
    );
    report.info("tape bytes in use", tape.used_bytes());

    let other = Tape::<f32>::new(other_arena);
    let seen_from_other = other.map(|other| other.value(x.id()));
    report.check(
        "a variable is foreign to another tape",
        matches!(seen_from_other, Ok(Err(Error::ForeignHandle))),
    );
}
