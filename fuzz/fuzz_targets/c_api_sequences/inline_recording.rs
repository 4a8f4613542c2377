//! The recording functions of `autodiff_inline.h`, called on any tape pointer and any
//! handle the sequence has, as the library's own calls are. They write records into the
//! tape's memory from C (`fuzz/src/inline_recording.c` compiles them), by the protocol
//! of the tape's record cursor, or else call the library. Their records then meet every
//! other call of the sequence: sweeps, replays, blocks, growth, resets.
//!
//! Checked: a handle an op returns on an `f64` tape holds exactly the value the op gives
//! its arguments' values (the header's promise: the records the library would write);
//! `ad_inline_value` reads what `ad_value` reads, or nothing.

use crate::{out_f64, value, Dtype, World, SCRATCH_WORDS, SENTINEL, TAPES};
use autodiff::derivatives::ad_value;
use autodiff::error::ad_status::AD_OK;
use autodiff::tape::ad_tape;
use autodiff::var::{ad_var, ad_var_is_valid};
use autodiff_fuzz::Bytes;
use core::ffi::c_int;
use core::ptr;

// Only pointers to `ad_tape` cross (C sees it as an incomplete type), which the lint
// cannot tell from passing one by value.
#[allow(improper_ctypes)]
extern "C" {
    fn fuzz_inline_add(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var;
    fn fuzz_inline_sub(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var;
    fn fuzz_inline_mul(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var;
    fn fuzz_inline_div(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var;
    fn fuzz_inline_add_const(tape: *mut ad_tape, x: ad_var, c: f64) -> ad_var;
    fn fuzz_inline_sub_const(tape: *mut ad_tape, x: ad_var, c: f64) -> ad_var;
    fn fuzz_inline_scale(tape: *mut ad_tape, x: ad_var, c: f64) -> ad_var;
    fn fuzz_inline_div_const(tape: *mut ad_tape, x: ad_var, c: f64) -> ad_var;
    fn fuzz_inline_const_sub(tape: *mut ad_tape, c: f64, x: ad_var) -> ad_var;
    fn fuzz_inline_const_div(tape: *mut ad_tape, c: f64, x: ad_var) -> ad_var;
    fn fuzz_inline_neg(tape: *mut ad_tape, x: ad_var) -> ad_var;
    fn fuzz_inline_recip(tape: *mut ad_tape, x: ad_var) -> ad_var;
    fn fuzz_inline_abs(tape: *mut ad_tape, x: ad_var) -> ad_var;
    fn fuzz_inline_value(tape: *mut ad_tape, x: ad_var, value: *mut f64) -> c_int;
}

type Binary = unsafe extern "C" fn(*mut ad_tape, ad_var, ad_var) -> ad_var;
/// What an op must give its arguments' values (or a handle's value and a constant).
type Expected = fn(f64, f64) -> f64;

/// The header's `+ − × ÷` of two handles, each with the value it must give.
const BINARY: [(Binary, Expected); 4] = [
    (fuzz_inline_add, |a, b| a + b),
    (fuzz_inline_sub, |a, b| a - b),
    (fuzz_inline_mul, |a, b| a * b),
    (fuzz_inline_div, |a, b| a / b),
];

type Unary = unsafe extern "C" fn(*mut ad_tape, ad_var) -> ad_var;

/// The header's unary ops, each with the value it must give.
const UNARY: [(Unary, fn(f64) -> f64); 3] = [
    (fuzz_inline_neg, |x| -x),
    (fuzz_inline_recip, |x| 1.0 / x),
    (fuzz_inline_abs, f64::abs),
];

/// The header's ops of a handle `x` and a constant `c`, by number: the op's result, and
/// the value it must have given `x`'s value.
unsafe fn with_constant(k: u8, tape: *mut ad_tape, x: ad_var, c: f64) -> (ad_var, Expected) {
    unsafe {
        match k {
            0 => (fuzz_inline_add_const(tape, x, c), |x, c| x + c),
            // Recorded as `x + (−c)`, as the library records `ad_sub_const`.
            1 => (fuzz_inline_sub_const(tape, x, c), |x, c| x + -c),
            2 => (fuzz_inline_scale(tape, x, c), |x, c| x * c),
            3 => (fuzz_inline_div_const(tape, x, c), |x, c| x / c),
            4 => (fuzz_inline_const_sub(tape, c, x), |x, c| c - x),
            _ => (fuzz_inline_const_div(tape, c, x), |x, c| c / x),
        }
    }
}

/// Whether two values are the same number (any NaN matches any NaN: C and Rust may
/// order the operands of `+` and `×` differently, which picks another NaN's payload).
fn same(got: f64, want: f64) -> bool {
    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())
}

/// `x`'s value through `ad_value`, which must succeed: `x` is an argument of an op that
/// just succeeded on `tape`.
unsafe fn value_of(tape: *mut ad_tape, x: ad_var) -> f64 {
    let (status, v) = out_f64(|o| unsafe { ad_value(tape, x, o) });
    assert_eq!(status, AD_OK, "an argument of a recorded op cannot be read");
    v
}

/// An argument for an op on slot `i`'s tape: mostly one of that tape's own inputs or
/// its last result (which the header records inline, if the tape lets it), else any
/// handle of the sequence.
fn operand(world: &World, b: &mut Bytes, i: Option<usize>) -> ad_var {
    let own = world.live(i).filter(|_| b.u8() % 4 != 0);
    match own {
        Some(slot) if !slot.inputs.is_empty() && b.bool() => {
            slot.inputs[b.below(slot.inputs.len())]
        }
        Some(slot) if slot.last_var.is_some() => slot.last_var.expect("checked"),
        _ => world.var(b),
    }
}

/// One call of the header: an op (kept in the sequence's handles) or a read.
pub(crate) unsafe fn call(world: &mut World, b: &mut Bytes, scratch: &mut [u64; SCRATCH_WORDS]) {
    // Mostly a live `f64` tape, the only kind the header records on itself.
    let f64_slot = (0..TAPES).find(|&k| world.live(Some(k)).is_some_and(|s| s.dtype == Dtype::F64));
    let (tape, i) = match f64_slot {
        Some(k) if b.u8() % 4 != 0 => (world.slots[k].as_ref().expect("live").tape, Some(k)),
        _ => world.tape(b, scratch),
    };
    // Only on an `f64` tape does the header write records; on the others it calls the
    // library, whose constants are rounded to the tape's type.
    let f64_tape = world.live(i).is_some_and(|s| s.dtype == Dtype::F64);
    let x = operand(world, b, i);
    match b.u8() % 14 {
        k @ 0..=3 => {
            let y = operand(world, b, i);
            let (op, want) = BINARY[k as usize];
            let z = unsafe { op(tape, x, y) };
            world.keep_var(z, i);
            if f64_tape && ad_var_is_valid(z) {
                let want = unsafe { want(value_of(tape, x), value_of(tape, y)) };
                let got = unsafe { value_of(tape, z) };
                assert!(same(got, want), "inline op {k}: {got:e}, not {want:e}");
            }
        }
        k @ 4..=9 => {
            let c = value(b);
            let (z, want) = unsafe { with_constant(k - 4, tape, x, c) };
            world.keep_var(z, i);
            if f64_tape && ad_var_is_valid(z) {
                let want = want(unsafe { value_of(tape, x) }, c);
                let got = unsafe { value_of(tape, z) };
                assert!(
                    same(got, want),
                    "inline op {k} with {c:e}: {got:e}, not {want:e}"
                );
            }
        }
        k @ 10..=12 => {
            let (op, want) = UNARY[k as usize - 10];
            let z = unsafe { op(tape, x) };
            world.keep_var(z, i);
            if f64_tape && ad_var_is_valid(z) {
                let want = want(unsafe { value_of(tape, x) });
                let got = unsafe { value_of(tape, z) };
                assert!(same(got, want), "inline op {k}: {got:e}, not {want:e}");
            }
        }
        _ => {
            let mut v = SENTINEL;
            let out = if b.one_in(16) {
                ptr::null_mut()
            } else {
                &mut v
            };
            let read = unsafe { fuzz_inline_value(tape, x, out) };
            if read == 0 || out.is_null() {
                assert_eq!(read, 0, "ad_inline_value read into NULL");
                assert_eq!(v.to_bits(), SENTINEL.to_bits(), "a value written on 0");
            } else {
                assert_eq!(read, 1);
                let (status, want) = out_f64(|o| unsafe { ad_value(tape, x, o) });
                assert_eq!(status, AD_OK, "ad_inline_value read what ad_value refuses");
                assert!(same(v, want), "ad_inline_value {v:e}, ad_value {want:e}");
            }
        }
    }
}
