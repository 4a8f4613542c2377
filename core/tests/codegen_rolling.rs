//! Loop rolling in generated C: runs of records that repeat with a constant stride
//! become loops, and the loops compute the tape's bits. Covers inputs recorded inside
//! the loop (carried from one iteration to the next) and before it (strided reads of
//! `x`), fixed reads, values read from afar or a step back in the reverse pass (stored
//! in arrays), and tapes where rolling must not apply (irregular strides, short runs).
//!
//! Not under Miri, which cannot run a C compiler.
#![cfg(not(miri))]

mod common;
#[path = "codegen/harness.rs"]
#[allow(dead_code)]
mod harness;

use autodiff_core::codegen::CodeOptions;
use autodiff_core::{PortableFloat, Real, Tape, Var, VarId};
use common::{memory, Rng};
use harness::{assert_bitwise, compare_with_tape};

/// Records `record` at seeded inputs, checks what the generated code looks like with
/// `form`, then compares the generated code with the tape at a second point, bit for
/// bit. `record` records the inputs itself (in the order `x` holds them) and returns
/// them with the outputs.
fn check<T: PortableFloat>(
    tag: &str,
    inputs: usize,
    form: impl Fn(&str),
    record: impl for<'t> Fn(&'t Tape<'t, T>, &[T]) -> (Vec<Var<'t, T>>, Vec<Var<'t, T>>),
) {
    let mut rng = Rng::seeded(tag);
    let mut values = |n: usize| -> Vec<T> {
        (0..n)
            .map(|_| T::from_f64(rng.uniform(-1.2, 1.2)))
            .collect()
    };
    let (record_at, run_at, x_dot) = (values(inputs), values(inputs), values(inputs));
    let mut mem = memory(1 << 22);
    let tape = Tape::<T>::new(&mut mem).unwrap();
    let (xs, ys) = record(&tape, &record_at);
    tape.status().unwrap();
    let input_ids: Vec<VarId> = xs.iter().map(|v| v.id()).collect();
    let outputs: Vec<VarId> = ys.iter().map(|v| v.id()).collect();
    let y_bar = values(outputs.len());
    let mut code = String::new();
    tape.write_c(&outputs, &CodeOptions::new("gen"), &mut code)
        .unwrap();
    form(&code);
    let pairs = compare_with_tape(&tape, &input_ids, &outputs, tag, &run_at, &y_bar, &x_dot);
    assert_bitwise(&pairs);
}

fn rolled(code: &str) {
    assert!(code.contains("for (int r = 1;"), "no loop:\n{code}");
}

fn rolled_with_arrays(code: &str) {
    rolled(code);
    assert!(
        code.contains(" w[") && code.contains(" g["),
        "nothing stored:\n{code}"
    );
}

fn straight_line(code: &str) {
    assert!(!code.contains("for ("), "rolled:\n{code}");
}

fn k<T: Real>(value: f64) -> T {
    T::from_f64(value)
}

/// Rosenbrock with each input recorded inside the loop, as `bench/codegen/` records
/// it through the C API: the input is read again by the next iteration.
fn rosenbrock_interleaved<'t, T: Real>(
    tape: &'t Tape<'t, T>,
    x: &[T],
) -> (Vec<Var<'t, T>>, Vec<Var<'t, T>>) {
    let mut inputs = vec![tape.input(x[0])];
    let mut f = tape.constant(T::zero());
    for &value in &x[1..] {
        let (xi, xn) = (*inputs.last().unwrap(), tape.input(value));
        let a = xn - xi * xi;
        let b = xi - k::<T>(1.0);
        f = f + (a * k::<T>(100.0) * a + b * b);
        inputs.push(xn);
    }
    (inputs, vec![f])
}

#[test]
fn rosenbrock_with_inputs_inside_the_loop_rolls_bitwise() {
    check::<f64>("rolled_rosenbrock_f64", 40, rolled, rosenbrock_interleaved);
    check::<f32>("rolled_rosenbrock_f32", 40, rolled, rosenbrock_interleaved);
}

/// Inputs recorded first and read in pairs (strided reads of `x`), plus one input
/// every iteration reads (a fixed read, whose adjoint collects a term per iteration).
#[test]
fn inputs_recorded_first_and_fixed_reads_roll_bitwise() {
    check::<f64>("rolled_strided_f64", 33, rolled, |tape, x| {
        let xs: Vec<_> = x.iter().map(|&v| tape.input(v)).collect();
        let centre = xs[0];
        let mut f = tape.constant(0.0);
        for w in xs[1..].windows(2) {
            let d = w[1] - w[0] * centre;
            f = f + d * d * 0.5 + w[0].abs();
        }
        (xs, vec![f])
    });
}

/// A first loop makes `z[i]`; a second reads them in reverse order, which is no
/// constant stride, so it stays straight-line, and the first loop's values are read
/// from after it at every iteration: they are stored, with their adjoints.
#[test]
fn values_read_from_afar_are_stored() {
    check::<f64>("rolled_stored_f64", 24, rolled_with_arrays, |tape, x| {
        let xs: Vec<_> = x.iter().map(|&v| tape.input(v)).collect();
        let z: Vec<_> = xs.windows(2).map(|w| w[0] * w[1] + 0.5).collect();
        let mut f = tape.constant(0.0);
        for (i, zi) in z.iter().rev().enumerate() {
            f = f + *zi * xs[i];
        }
        (xs, vec![f])
    });
}

/// A recurrence whose reverse pass needs the previous iteration's value (the partials
/// of `y · x` read `y`), which the reverse loop, running backwards, cannot carry: it is
/// stored. Two outputs: the last value and one from the middle of the run.
#[test]
fn values_a_step_back_are_stored_for_the_reverse_loop() {
    check::<f64>(
        "rolled_recurrence_f64",
        30,
        rolled_with_arrays,
        |tape, x| {
            let xs: Vec<_> = x.iter().map(|&v| tape.input(v)).collect();
            let mut y = xs[0];
            let mut middle = y;
            for (i, &xi) in xs.iter().enumerate().skip(1) {
                y = y * xi - y * 0.25 + xi;
                if i == 15 {
                    middle = y;
                }
            }
            (xs, vec![y, middle])
        },
    );
}

/// Indices that follow no stride (i² mod n): nothing to roll, and the straight-line
/// code still matches the tape.
#[test]
fn irregular_strides_are_not_rolled() {
    check::<f64>("irregular_f64", 37, straight_line, |tape, x| {
        let xs: Vec<_> = x.iter().map(|&v| tape.input(v)).collect();
        let n = xs.len();
        let mut f = tape.constant(0.0);
        for i in 0..n {
            f = f + xs[i * i % n] * xs[(3 * i + 1) % n] - xs[i];
        }
        (xs, vec![f])
    });
}

/// Repeats too short to be worth a loop, and a pattern whose op sequence changes
/// every iteration (`i` multiplications in iteration `i`).
#[test]
fn short_or_changing_patterns_stay_straight_line() {
    check::<f64>("short_run_f64", 4, straight_line, |tape, x| {
        let xs: Vec<_> = x.iter().map(|&v| tape.input(v)).collect();
        let f = xs
            .windows(2)
            .fold(tape.constant(0.0), |f, w| f + w[0] * w[1]);
        (xs, vec![f])
    });
    check::<f64>("changing_f64", 12, straight_line, |tape, x| {
        let xs: Vec<_> = x.iter().map(|&v| tape.input(v)).collect();
        let mut f = tape.constant(0.0);
        for i in 0..xs.len() {
            let mut term = xs[i];
            for _ in 0..i {
                term = term * xs[(i + 1) % xs.len()];
            }
            f = f + term;
        }
        (xs, vec![f])
    });
}
