//! A tape past 2^26 records, where a record's first argument can no longer be stored as
//! an index in its first word: arguments are then reached by distance, through the
//! second word, or through a copy (see `tape/record.rs`). Each form is exercised here by
//! an op whose argument lies far back, and the gradient, a tangent and a replay are
//! checked against the closed forms. About 1.1 GB of arena, so not under Miri.
#![cfg(not(miri))]

use autodiff_core::{Tape, Var};
use core::mem::MaybeUninit;

/// The first index whose records store arguments by distance.
const FIRST_WORD_LIMIT: usize = 1 << 25;

/// Records `v · 1` until the tape holds `len` records: a chain that keeps `v`'s value
/// and passes its adjoint through unchanged.
fn fill_to<'t>(tape: &'t Tape<'_, f32>, mut v: Var<'t, f32>, len: usize) -> Var<'t, f32> {
    while tape.len() < len {
        v = v * 1.0;
    }
    v
}

#[test]
fn arguments_far_back_in_a_tape_of_more_than_2_pow_26_records() {
    let records = 2 * FIRST_WORD_LIMIT + 64;
    let mut memory = vec![MaybeUninit::<u8>::uninit(); records * 16 + 4096];
    let tape = Tape::<f32>::new(&mut memory).unwrap();
    let (x0_at, x1_at) = (1.25f32, 0.5f32);
    let x0 = tape.input(x0_at);
    let x1 = tape.input(x1_at);

    // A value just past the first word's index range, then one used from far away.
    let v = fill_to(&tape, x1, FIRST_WORD_LIMIT + 8);
    let far = v * 1.0;
    assert!(far.id().index as usize > FIRST_WORD_LIMIT);
    let near_use = x0 * far; // by distance
    let v = fill_to(&tape, v, 2 * FIRST_WORD_LIMIT + 16);
    assert!(tape.len() - far.id().index as usize > FIRST_WORD_LIMIT);

    let before = tape.len();
    let product = far * x0; // a binary op: reads a copy of `far`
    let sine = far.sin(); // a plain unary op: `far` in its second word
    let cube = far.powi(3); // a unary op with an operand: reads a copy
    let by_second_argument = x0 * far; // `far` as the second argument: no copy needed
    assert_eq!(tape.len() - before, 6, "two copies and four ops");

    let out = near_use + product + sine + cube + by_second_argument + v * 0.0;
    tape.status().unwrap();
    assert!(tape.len() > 2 * FIRST_WORD_LIMIT);

    let expect = |x0: f32, x1: f32| {
        let value = 3.0 * x0 * x1 + x1.sin() + x1.powi(3);
        (value, 3.0 * x1, 3.0 * x0 + x1.cos() + 3.0 * x1 * x1)
    };
    let close = |got: f32, want: f32| (got - want).abs() <= 1e-5 * want.abs().max(1.0);

    let (value, d0, d1) = expect(x0_at, x1_at);
    assert!(close(out.value(), value), "{} vs {value}", out.value());
    tape.backward(out.id()).unwrap();
    let (g0, g1) = (tape.grad(x0.id()).unwrap(), tape.grad(x1.id()).unwrap());
    assert!(
        close(g0, d0) && close(g1, d1),
        "gradient ({g0}, {g1}) vs ({d0}, {d1})"
    );

    // Forward mode over the same records: the tangent along x1 is ∂out/∂x1.
    tape.jvp(&[0.0, 1.0]).unwrap();
    let t1 = tape.tangent(out.id()).unwrap();
    assert!(close(t1, d1), "tangent {t1} vs {d1}");

    // Replay at new inputs re-evaluates every form.
    let (y0, y1) = (-0.75f32, 2.0f32);
    tape.replay(&[y0, y1]).unwrap();
    let (value, d0, _) = expect(y0, y1);
    let replayed = tape.value(out.id()).unwrap();
    assert!(close(replayed, value), "replayed {replayed} vs {value}");
    tape.backward(out.id()).unwrap();
    assert!(close(tape.grad(x0.id()).unwrap(), d0));
}
