//! The record cursor protocol (`core/src/tape/cursor.rs`) followed from outside the
//! library, as `include/autodiff_inline.h` follows it in C: records appended through the
//! cursor are the records the tape's own calls make (values, gradients, tangents and
//! replay agree bit for bit), and recording through the API continues from them. Runs
//! under Miri (`make miri`), which checks that writing through the cursor while the
//! tape is borrowed only shared is allowed by the aliasing model.

mod common;

use autodiff_core::{Op, RecordCursor, Tape, VarId};
use core::ptr::NonNull;

/// The handle kind of a scalar (`HandleKind::Scalar`).
const SCALAR: u32 = 1;

/// A record as the protocol writes it (the `f64` layout of `tape/record.rs`).
#[repr(C)]
struct RecordF64 {
    first: u32,
    b: u32,
    value: f64,
    adjoint: f64,
}

/// Appends `op(a, b)` through `cursor` as the inline C path does, or `None` where the
/// protocol sends the caller to the library instead. A unary op (`Neg`, `Recip`, `Abs`)
/// reads `a` only, and its record's second word is 0.
///
/// # Safety
/// `cursor` is the live cursor of a tape no call of which is running.
unsafe fn push(cursor: NonNull<RecordCursor>, op: Op, a: VarId, b: VarId) -> Option<VarId> {
    // SAFETY: the caller's contract; the cursor's counters are cells.
    let c = unsafe { cursor.as_ref() };
    let len = c.len.get();
    let live = |x: VarId| {
        x.kind == SCALAR
            && x.tape == c.identity
            && x.generation == c.generation.get()
            && x.index < len
    };
    if c.limit.get() <= len || !live(a) || !live(b) || a.index >= 1 << 25 {
        return None;
    }
    let records = c.records.cast::<RecordF64>().as_ptr();
    // SAFETY: both indices are below `len`; the record at `len` is below `limit`.
    unsafe {
        let (x, y) = (
            (*records.add(a.index as usize)).value,
            (*records.add(b.index as usize)).value,
        );
        let value = match op {
            Op::Add => x + y,
            Op::Sub => x - y,
            Op::Mul => x * y,
            Op::Div => x / y,
            Op::Neg => -x,
            Op::Recip => 1.0 / x,
            Op::Abs => x.abs(),
            _ => return None,
        };
        records.add(len as usize).write(RecordF64 {
            first: (op as u32) << 26 | a.index,
            b: if is_unary(op) { 0 } else { b.index },
            value,
            adjoint: 0.0,
        });
    }
    c.len.set(len + 1);
    Some(VarId {
        index: len,
        kind: SCALAR,
        generation: c.generation.get(),
        tape: c.identity,
    })
}

/// The unary ops the cursor records (`b` unused).
fn is_unary(op: Op) -> bool {
    matches!(op, Op::Neg | Op::Recip | Op::Abs)
}

/// The tape's own call for `op(a, b)` (`b` unused for a unary op).
fn api_op(tape: &Tape<'_, f64>, op: Op, a: VarId, b: VarId) -> VarId {
    if is_unary(op) {
        tape.unary_id(op, a)
    } else {
        tape.binary_id(op, a, b)
    }
}

/// Appends `x op c` through `cursor` for one of the ops with a constant (`op` is its
/// inline form: `AddConst`, `MulConst`, `DivConst`, `ConstSub`, `ConstDiv`) as the inline
/// C path does: inside the record when `f32` holds `c`, else in the pool's next slot
/// (the wide form). `None` where the protocol sends the caller to the library.
///
/// # Safety
/// `cursor` is the live cursor of a tape no call of which is running.
unsafe fn push_constant(cursor: NonNull<RecordCursor>, op: Op, x: VarId, c: f64) -> Option<VarId> {
    // SAFETY: the caller's contract; the cursor's counters are cells.
    let cur = unsafe { cursor.as_ref() };
    let len = cur.len.get();
    let live = x.kind == SCALAR
        && x.tape == cur.identity
        && x.generation == cur.generation.get()
        && x.index < len;
    if cur.limit.get() <= len || !live || x.index >= 1 << 25 {
        return None;
    }
    let narrow = c as f32;
    let (op, b) = if f64::from(narrow) == c {
        (op as u32, narrow.to_bits())
    } else if cur.wide_left.get() > 0 {
        let (slot, reference) = (cur.wide_next.get(), cur.wide_reference.get());
        // SAFETY: one of the pool chunk's `wide_left` free slots.
        unsafe { slot.write(c) };
        cur.wide_next.set(slot.wrapping_add(1));
        cur.wide_reference.set(reference + 1);
        cur.wide_left.set(cur.wide_left.get() - 1);
        (op as u32 + 7, reference)
    } else {
        return None;
    };
    let records = cur.records.cast::<RecordF64>().as_ptr();
    // SAFETY: `x.index < len`; the record at `len` is below `limit`.
    unsafe {
        let v = (*records.add(x.index as usize)).value;
        let value = match Op::from_code(op as u8)? {
            Op::AddConst | Op::AddWide => v + c,
            Op::MulConst | Op::MulWide => v * c,
            Op::DivConst | Op::DivWide => v / c,
            Op::ConstSub | Op::WideSub => c - v,
            _ => c / v,
        };
        records.add(len as usize).write(RecordF64 {
            first: op << 26 | x.index,
            b,
            value,
            adjoint: 0.0,
        });
    }
    cur.len.set(len + 1);
    Some(VarId {
        index: len,
        kind: SCALAR,
        generation: cur.generation.get(),
        tape: cur.identity,
    })
}

/// The tape's own call for `x op c`, `op` as in [`push_constant`].
fn api_constant(tape: &Tape<'_, f64>, op: Op, x: VarId, c: f64) -> VarId {
    match op {
        Op::AddConst => tape.binary_const_id(Op::Add, x, c),
        Op::MulConst => tape.binary_const_id(Op::Mul, x, c),
        Op::DivConst => tape.binary_const_id(Op::Div, x, c),
        Op::ConstSub => tape.const_binary_id(Op::Sub, c, x),
        _ => tape.const_binary_id(Op::Div, c, x),
    }
}

/// What a test does without a cursor: builds that poison the arena for
/// AddressSanitizer offer none; every other build must.
fn no_cursor() {
    #[cfg(not(autodiff_asan))]
    panic!("a tape without a record cursor outside AddressSanitizer builds");
}

/// `Σ t_i − 1/|t_i|` for `t_i = (x_i · x_{i+1} − x_i) / x_{i+1}` through `op` (the API's
/// call, or the cursor; a unary op's second argument is unused).
fn record(tape: &Tape<'_, f64>, x: &[f64], op: &dyn Fn(Op, VarId, VarId) -> VarId) -> VarId {
    let xs: Vec<VarId> = x.iter().map(|&v| tape.input(v).id()).collect();
    let mut sum = tape.constant(0.0).id();
    for w in xs.windows(2) {
        let term = op(Op::Div, op(Op::Sub, op(Op::Mul, w[0], w[1]), w[0]), w[1]);
        let magnitude = op(Op::Abs, term, term);
        let inverse = op(Op::Neg, op(Op::Recip, magnitude, magnitude), magnitude);
        sum = op(Op::Add, sum, op(Op::Add, term, inverse));
    }
    // And an API op on top of the cursor's records.
    tape.unary_id(Op::Sin, sum)
}

#[test]
fn records_through_the_cursor_are_the_tapes_own() {
    let n = if cfg!(miri) { 6 } else { 40 };
    let mut rng = common::Rng::seeded("record cursor");
    let x: Vec<f64> = (0..n).map(|_| rng.uniform(0.5, 2.0)).collect();
    let (mut mem_api, mut mem_cursor) = (common::memory(1 << 14), common::memory(1 << 14));
    let api = Tape::<f64>::new(&mut mem_api).unwrap();
    let via = Tape::<f64>::new(&mut mem_cursor).unwrap();
    let Some(cursor) = via.record_cursor() else {
        return no_cursor();
    };

    let f_api = record(&api, &x, &|op, a, b| api_op(&api, op, a, b));
    let f_via = record(&via, &x, &|op, a, b| {
        // SAFETY: no call of `via` is running here.
        unsafe { push(cursor, op, a, b) }.expect("the protocol's conditions hold")
    });
    assert!(
        f_api
            == VarId {
                tape: f_api.tape,
                ..f_via
            }
            && f_api.tape != f_via.tape
    );
    let g = assert_twins((&api, f_api), (&via, f_via), &x);
    assert!(g.iter().all(|g| *g != 0.0));
}

/// Asserts that `via`'s recording of `f` (through the cursor) is `api`'s, bit for bit:
/// its length, `f`'s value, the gradient, a tangent, and `f` replayed at `1.25·x`.
/// Returns the gradient.
fn assert_twins(
    (api, f_api): (&Tape<'_, f64>, VarId),
    (via, f_via): (&Tape<'_, f64>, VarId),
    x: &[f64],
) -> Vec<f64> {
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits();
    assert_eq!(api.len(), via.len());
    assert!(same(api.value(f_api).unwrap(), via.value(f_via).unwrap()));
    let (mut g_api, mut g_via) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    api.gradient_into(f_api, &mut g_api).unwrap();
    via.gradient_into(f_via, &mut g_via).unwrap();
    assert!(g_api.iter().zip(&g_via).all(|(&a, &b)| same(a, b)));
    let seed: Vec<f64> = (0..x.len()).map(|i| i as f64 - 1.5).collect();
    api.jvp(&seed).unwrap();
    via.jvp(&seed).unwrap();
    assert!(same(
        api.tangent(f_api).unwrap(),
        via.tangent(f_via).unwrap()
    ));
    let x2: Vec<f64> = x.iter().map(|v| v * 1.25).collect();
    api.replay(&x2).unwrap();
    via.replay(&x2).unwrap();
    assert!(same(api.value(f_api).unwrap(), via.value(f_via).unwrap()));
    g_api
}

#[test]
fn the_protocol_refuses_what_the_library_must_check() {
    let mut mem = common::memory(1 << 12);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let Some(cursor) = tape.record_cursor() else {
        return no_cursor();
    };
    let x = tape.input(2.0).id();
    // SAFETY (each call below): no call of `tape` is running.
    assert!(unsafe { push(cursor, Op::Mul, x, x) }.is_some());
    // A handle of another generation, kind or tape.
    let stale = x;
    tape.reset();
    let cursor = tape.record_cursor().unwrap();
    let y = tape.input(3.0).id();
    assert!(unsafe { push(cursor, Op::Mul, stale, y) }.is_none());
    assert!(unsafe { push(cursor, Op::Mul, VarId { kind: 2, ..y }, y) }.is_none());
    assert!(unsafe {
        push(
            cursor,
            Op::Mul,
            VarId {
                tape: y.tape ^ 1,
                ..y
            },
            y,
        )
    }
    .is_none());
    // A failed tape: `limit` is zero until reset.
    let _ = tape.binary_id(Op::Mul, stale, y);
    assert!(tape.status().is_err());
    assert!(unsafe { push(cursor, Op::Add, y, y) }.is_none());
    tape.reset();
    let cursor = tape.record_cursor().unwrap();
    let z = tape.input(1.0).id();
    assert!(unsafe { push(cursor, Op::Add, z, z) }.is_some());
    // A full tape.
    let mut last = z;
    while let Some(next) = unsafe { push(cursor, Op::Add, last, z) } {
        last = next;
    }
    assert_eq!(tape.binary_id(Op::Add, last, z), VarId::INVALID);
    assert!(tape.status().is_err());
}

/// `Σ c₅ / ((c₁ − x_i·c₂) / c₃ + c₄)` with constants `f32` holds and ones it does not,
/// through `k` (the API's calls, or the cursor).
fn record_with_constants(
    tape: &Tape<'_, f64>,
    x: &[f64],
    k: &dyn Fn(Op, VarId, f64) -> VarId,
) -> VarId {
    let mut sum = tape.constant(0.0).id();
    for (i, &v) in x.iter().enumerate() {
        let xi = tape.input(v).id();
        let wide = 0.1 + i as f64 * 0.013;
        let t = k(Op::ConstSub, k(Op::MulConst, xi, wide), 1.5);
        let t = k(Op::AddConst, k(Op::DivConst, t, 0.3), 4.0);
        sum = tape.binary_id(Op::Add, sum, k(Op::ConstDiv, t, wide + 0.5));
    }
    sum
}

#[test]
fn constants_through_the_cursor_are_the_tapes_own() {
    // Constants `f32` does not hold, enough for the pool to take several chunks: the
    // library's call takes each, and the cursor fills it.
    let n = if cfg!(miri) { 12 } else { 60 };
    let mut rng = common::Rng::seeded("record cursor constants");
    let x: Vec<f64> = (0..n).map(|_| rng.uniform(0.5, 2.0)).collect();
    let (mut mem_api, mut mem_cursor) = (common::memory(1 << 15), common::memory(1 << 15));
    let api = Tape::<f64>::new(&mut mem_api).unwrap();
    let via = Tape::<f64>::new(&mut mem_cursor).unwrap();
    let Some(cursor) = via.record_cursor() else {
        return no_cursor();
    };
    let inline = core::cell::Cell::new(0);
    let f_api = record_with_constants(&api, &x, &|op, x, c| api_constant(&api, op, x, c));
    let f_via = record_with_constants(&via, &x, &|op, x, c| {
        // SAFETY: no call of `via` is running here.
        match unsafe { push_constant(cursor, op, x, c) } {
            Some(id) => {
                inline.set(inline.get() + 1);
                id
            }
            None => api_constant(&via, op, x, c),
        }
    });
    assert!(inline.get() > 4 * n, "{} of {} inline", inline.get(), 5 * n);
    assert_eq!(api.used_bytes(), via.used_bytes());
    let g = assert_twins((&api, f_api), (&via, f_via), &x);
    // Against central differences in one input.
    let h = 1e-6;
    let at = |shift: f64| {
        let mut z = x.clone();
        z[3] += shift;
        via.replay(&z).unwrap();
        via.value(f_via).unwrap()
    };
    common::assert_close("df/dx3", g[3], (at(h) - at(-h)) / (2.0 * h), 1e-6);
}
