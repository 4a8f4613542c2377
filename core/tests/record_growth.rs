//! Growth (`Tape::set_growth`): a tape that starts in a few hundred bytes and grows
//! through host blocks records, differentiates, replays and checkpoints exactly as a
//! tape given all its memory up front (bit for bit); blocks go back to the host; a host
//! that refuses or hands in a bad block fails the op, not the process, and the tape
//! stays usable after a reset. Runs under Miri (`make miri`).
//!
//! Growth moves the records only: tensor data, nodes and a checkpoint's staging live
//! at the arena's high end, which the tapes here are given enough of.

mod common;
use common::{central_difference, memory, Rng};

use autodiff_core::{Error, Op, RecordGrowth, Tape, TensorId, VarId};
use core::mem::MaybeUninit;

#[path = "common/segment_blocks.rs"]
mod segment_blocks;
use segment_blocks::scalar_block;

/// Arena bytes for the tensors and checkpoints of `record`, far fewer than its records.
const ARENA: usize = sized(128 << 10, 16 << 10);

/// `full`, or `small` under Miri.
const fn sized(full: usize, small: usize) -> usize {
    if cfg!(miri) {
        small
    } else {
        full
    }
}

/// A host that carves blocks from one buffer, as a firmware pool or an mmap'd region
/// would, and counts what it hands out and gets back.
struct Carver<'m> {
    rest: &'m mut [MaybeUninit<u8>],
    grown: usize,
    released: usize,
    /// Requests whose least and wanted sizes agree: sweep scratch asks so.
    exact_requests: usize,
    /// Give this many blocks, then refuse.
    blocks_left: usize,
    /// Hand in blocks one byte smaller than asked for (a host bug).
    short: bool,
    /// Hand in the least asked for, not what the tape would like.
    stingy: bool,
}

impl<'m> Carver<'m> {
    fn new(pool: &'m mut [MaybeUninit<u8>]) -> Self {
        Carver {
            rest: pool,
            grown: 0,
            released: 0,
            exact_requests: 0,
            blocks_left: usize::MAX,
            short: false,
            stingy: false,
        }
    }
}

impl<'m> RecordGrowth<'m> for Carver<'m> {
    fn grow(&mut self, min: usize, wanted: usize) -> Option<&'m mut [MaybeUninit<u8>]> {
        assert!(wanted >= min, "wanted {wanted} below min {min}");
        if self.blocks_left == 0 {
            return None;
        }
        let size = match (self.short, self.stingy) {
            (true, _) => min - 1,
            (false, true) => min,
            (false, false) => wanted,
        };
        if size > self.rest.len() {
            return None;
        }
        // Odd offsets on purpose: the tape aligns inside the block.
        let (block, rest) = core::mem::take(&mut self.rest).split_at_mut(size);
        self.rest = rest.get_mut(3..).unwrap_or_default();
        self.blocks_left -= 1;
        self.grown += 1;
        self.exact_requests += usize::from(min == wanted);
        Some(block)
    }

    fn release(&mut self, block: &'m mut [MaybeUninit<u8>]) {
        assert!(!block.is_empty());
        self.released += 1;
    }
}

/// Scalar work mixed with tensors (whose rank-0 results keep pointers into their
/// records) and a checkpointed segment, over inputs `x`: returns the loss and the tensor
/// input, whose gradient the caller reads too.
fn record(tape: &Tape<'_, f64>, x: &[f64]) -> (VarId, TensorId) {
    let inputs: Vec<VarId> = x.iter().map(|&v| tape.input_id(v)).collect();
    let n = inputs.len();
    let w = tape.tensor_input(&[2, 2], &[0.5, -0.25, 0.75, 1.5]);
    let mut loss = tape.constant_id(0.0);
    for i in 0..n - 1 {
        // Rosenbrock, with a constant f32 cannot hold (a wide constant).
        let t = tape.binary_id(
            Op::Sub,
            inputs[i + 1],
            tape.binary_id(Op::Mul, inputs[i], inputs[i]),
        );
        let u = tape.binary_id(Op::Sub, tape.constant_id(1.0), inputs[i]);
        let term = tape.binary_id(
            Op::Mul,
            tape.constant_id(100.1),
            tape.binary_id(Op::Mul, t, t),
        );
        loss = tape.binary_id(
            Op::Add,
            loss,
            tape.binary_id(Op::Add, term, tape.binary_id(Op::Mul, u, u)),
        );
        if i % 16 == 0 {
            // A rank-0 tensor, used by scalar ops after later records moved.
            let y = tape.tensor_tanh(tape.matmul(w, w));
            let s: VarId = tape.sum(y).into();
            let scaled = tape.binary_id(Op::Mul, s, inputs[i]);
            loss = tape.binary_id(Op::Add, loss, tape.unary_id(Op::Sin, scaled));
        }
        if i % 32 == 5 {
            let mut out = [VarId::INVALID; 2];
            // A failure stays on the tape (sticky), as every op's does.
            let _ = tape.checkpoint(scalar_block, &[inputs[i], inputs[i + 1]], &mut out);
            loss = tape.binary_id(Op::Add, loss, tape.binary_id(Op::Mul, out[0], out[1]));
        }
    }
    (loss, w)
}

struct Derivatives {
    loss: u64,
    grad: Vec<u64>,
    w_grad: Vec<u64>,
    replayed: u64,
    replayed_grad: Vec<u64>,
    tangent: u64,
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Everything the tests compare, from a tape already recorded by `record`.
fn derivatives(tape: &Tape<'_, f64>, loss: VarId, w: TensorId, x: &[f64]) -> Derivatives {
    let mut grad = vec![0.0; x.len()];
    tape.gradient_into(loss, &mut grad).unwrap();
    let mut w_grad = [0.0; 4];
    tape.tensor_grad(w, &mut w_grad).unwrap();
    let value = tape.value(loss).unwrap();
    let moved: Vec<f64> = x.iter().map(|v| v * 0.9 + 0.05).collect();
    tape.replay(&moved).unwrap();
    let replayed = tape.value(loss).unwrap();
    let mut replayed_grad = vec![0.0; x.len()];
    tape.gradient_into(loss, &mut replayed_grad).unwrap();
    let seeds: Vec<f64> = (0..x.len())
        .map(|i| if i == 1 { 1.0 } else { 0.0 })
        .collect();
    tape.jvp(&seeds).unwrap();
    let tangent = tape.tangent(loss).unwrap();
    Derivatives {
        loss: value.to_bits(),
        grad: bits(&grad),
        w_grad: bits(&w_grad),
        replayed: replayed.to_bits(),
        replayed_grad: bits(&replayed_grad),
        tangent: tangent.to_bits(),
    }
}

fn inputs(n: usize) -> Vec<f64> {
    Rng::seeded("record growth").vec(n, -1.2, 1.2)
}

fn reference(x: &[f64]) -> Derivatives {
    let mut mem = memory(1 << 22);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (loss, w) = record(&tape, x);
    tape.status().unwrap();
    derivatives(&tape, loss, w, x)
}

#[test]
fn a_grown_tape_matches_one_given_its_memory_up_front() {
    let x = inputs(sized(1200, 80));
    let want = reference(&x);
    let mut pool = memory(1 << 22);
    let mut carver = Carver::new(&mut pool);
    {
        let mut mem = memory(ARENA);
        let mut tape = Tape::<f64>::new(&mut mem).unwrap();
        tape.set_growth(&mut carver).unwrap();
        let (loss, w) = record(&tape, &x);
        tape.status().unwrap();
        assert!(tape.records_in_host_block());
        let got = derivatives(&tape, loss, w, &x);
        assert_eq!(got.loss, want.loss);
        assert_eq!(got.grad, want.grad);
        assert_eq!(got.w_grad, want.w_grad);
        assert_eq!(got.replayed, want.replayed);
        assert_eq!(got.replayed_grad, want.replayed_grad);
        assert_eq!(got.tangent, want.tangent);

        // A reset keeps the block: recording again needs no growth.
        tape.reset();
        let (loss, w) = record(&tape, &x);
        tape.status().unwrap();
        assert_eq!(derivatives(&tape, loss, w, &x).grad, want.grad);
    }
    // Doubling: a handful of blocks, each one but the last given back when the records
    // moved on, the last when the tape was dropped.
    assert!(carver.grown >= sized(2, 1), "grew {} times", carver.grown);
    assert!(carver.grown <= 24, "grew {} times", carver.grown);
    assert_eq!(carver.released, carver.grown);
}

#[test]
fn gradient_of_a_grown_tape_matches_central_differences() {
    let x = inputs(sized(200, 80));
    let mut pool = memory(1 << 21);
    let mut carver = Carver::new(&mut pool);
    let mut mem = memory(ARENA);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    tape.set_growth(&mut carver).unwrap();
    let (loss, _) = record(&tape, &x);
    let mut grad = vec![0.0; x.len()];
    tape.gradient_into(loss, &mut grad).unwrap();
    for k in [0, x.len() / 2, x.len() - 1] {
        let fd = central_difference(
            |v| {
                let mut at = x.clone();
                at[k] = v;
                tape.replay(&at).unwrap();
                tape.value(loss).unwrap()
            },
            x[k],
        );
        common::assert_close("d loss / dx", grad[k], fd, 1e-6);
    }
    tape.reset();
}

#[test]
fn a_host_that_refuses_fails_the_op_and_a_reset_recovers() {
    let mut pool = memory(1 << 21);
    let mut carver = Carver::new(&mut pool);
    carver.blocks_left = 1;
    let mut mem = memory(ARENA);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    tape.set_growth(&mut carver).unwrap();
    // Far more records than the arena and one doubled block hold.
    let mut y = tape.input_id(0.5);
    for _ in 0..ARENA {
        y = tape.unary_id(Op::Sin, y);
    }
    assert!(matches!(tape.status(), Err(Error::OutOfMemory { .. })));
    assert!(!y.is_valid());
    tape.reset();
    // What fits in the one block still records and differentiates.
    let a = tape.input_id(3.0);
    let y = tape.binary_id(Op::Mul, a, a);
    tape.backward(y).unwrap();
    assert_eq!(tape.grad(a).unwrap(), 6.0);
    drop(tape);
    assert_eq!((carver.grown, carver.released), (1, 1));
}

#[test]
fn a_host_that_hands_in_the_least_it_can_grows_the_tape_at_every_record() {
    let records = sized(400, 150);
    // The carver never reuses a block: room for every size from 1 to `records`.
    let mut pool = memory(24 * records * records);
    let mut carver = Carver::new(&mut pool);
    carver.stingy = true;
    {
        let mut mem = memory(256);
        let mut tape = Tape::<f64>::new(&mut mem).unwrap();
        tape.set_growth(&mut carver).unwrap();
        // y = x^(records): each record moves all before it.
        let x = tape.input_id(1.0001);
        let mut y = x;
        for _ in 1..records {
            y = tape.binary_id(Op::Mul, y, x);
        }
        tape.backward(y).unwrap();
        let n = records as f64;
        common::assert_close("x^n", tape.value(y).unwrap(), 1.0001f64.powf(n), 1e-12);
        common::assert_close(
            "n x^(n-1)",
            tape.grad(x).unwrap(),
            n * 1.0001f64.powf(n - 1.0),
            1e-10,
        );
    }
    assert!(carver.grown > records - 20, "grew {} times", carver.grown);
    assert_eq!(carver.released, carver.grown);
}

#[test]
fn constants_f32_cannot_hold_take_no_record_on_a_growing_tape_whose_arena_is_full() {
    // 0.1 and its kin go to a pool in the arena (`wide_constant.rs`); a small arena
    // fills with them, and a growing tape then stacks them at its block's top.
    let n = sized(3000, 300);
    let mut pool = memory(1 << 22);
    let mut carver = Carver::new(&mut pool);
    let mut mem = memory(1024);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    tape.set_growth(&mut carver).unwrap();
    let x = tape.input(0.5);
    let mut y = x;
    let mut want = (0.5f64, 1.0f64); // value and derivative, in step
    for k in 0..n {
        let c = 0.1 + (k % 97) as f64 * 1e-3;
        y = (y * c).sin() + x;
        want = (
            (want.0 * c).sin() + 0.5,
            (want.0 * c).cos() * c * want.1 + 1.0,
        );
    }
    tape.status().unwrap();
    assert_eq!(tape.len(), 1 + 3 * n, "a record per op, none per constant");
    assert_eq!(y.value(), want.0);
    common::assert_close("dy/dx", tape.gradient(y).unwrap().wrt(x), want.1, 1e-12);
}

/// `y ← sin(y · c_k) + x` over `steps` constants `c_k` that `f32` does not hold, with
/// `0.7 − y` and `y / 1.3` now and then (the other wide forms), and checkpointed blocks
/// (which take wide constants of their own) at the start and every `steps / 4`: far
/// more constants than a small arena holds. Returns the inputs and `y`.
fn record_constants(tape: &Tape<'_, f64>, x: [f64; 2], steps: usize) -> ([VarId; 2], VarId) {
    let inputs = x.map(|v| tape.input_id(v));
    let mut y = tape.binary_id(Op::Mul, inputs[0], inputs[1]);
    for k in 0..steps {
        if k % (steps / 4) == 0 {
            let mut out = [VarId::INVALID; 2];
            let _ = tape.checkpoint(scalar_block, &[y, inputs[1]], &mut out);
            y = tape.binary_id(Op::Add, out[0], out[1]);
        }
        let c = 0.1 + k as f64 * 1e-7;
        let t = tape.unary_id(Op::Sin, tape.binary_const_id(Op::Mul, y, c));
        y = tape.binary_id(Op::Add, t, inputs[0]);
        if k % 61 == 0 {
            y = tape.const_binary_id(Op::Sub, 0.7, y);
        }
        if k % 89 == 0 {
            y = tape.binary_const_id(Op::Div, y, 1.3);
        }
    }
    (inputs, y)
}

/// Value, gradient, replayed value and gradient, and tangent, as bits.
fn constant_derivatives(tape: &Tape<'_, f64>, y: VarId, x: [f64; 2]) -> Vec<u64> {
    let mut got = vec![tape.value(y).unwrap().to_bits()];
    let mut grad = [0.0; 2];
    tape.gradient_into(y, &mut grad).unwrap();
    got.extend(bits(&grad));
    tape.replay(&[x[0] * 0.9, x[1] + 0.1]).unwrap();
    got.push(tape.value(y).unwrap().to_bits());
    tape.gradient_into(y, &mut grad).unwrap();
    got.extend(bits(&grad));
    tape.jvp(&[0.0, 1.0]).unwrap();
    got.push(tape.tangent(y).unwrap().to_bits());
    got
}

#[test]
fn constants_at_a_blocks_top_move_with_the_records_and_match_a_tape_given_its_memory() {
    let x = [0.4, -0.7];
    let steps = sized(20_000, 600);
    let mut mem = memory(1 << 22);
    let reference = Tape::<f64>::new(&mut mem).unwrap();
    let (_, y) = record_constants(&reference, x, steps);
    reference.status().unwrap();
    let want = constant_derivatives(&reference, y, x);

    let mut pool = memory(1 << 23);
    let mut carver = Carver::new(&mut pool);
    {
        // Room for the checkpoints' staging and a few chunks of constants, not for all.
        let mut mem = memory(sized(16 << 10, 2 << 10));
        let mut tape = Tape::<f64>::new(&mut mem).unwrap();
        tape.set_growth(&mut carver).unwrap();
        for _ in 0..2 {
            let (_, y) = record_constants(&tape, x, steps);
            tape.status().unwrap();
            assert_eq!(
                tape.len(),
                reference.len(),
                "the same records: none per constant"
            );
            assert_eq!(constant_derivatives(&tape, y, x), want);
            // The block keeps its size; the constants stack again from its top.
            tape.reset();
        }
    }
    assert!(carver.grown >= sized(4, 2), "grew {} times", carver.grown);
    assert_eq!(carver.released, carver.grown);
}

/// Records `y ← tanh(x_i · y) + x_i · c` over the inputs `x`, `rounds` times with a new
/// constant `c` each round: a long tape whose values depend on every input. Returns the
/// inputs' handles and `y`'s.
fn record_recurrence(tape: &Tape<'_, f64>, x: &[f64], rounds: usize) -> (Vec<VarId>, VarId) {
    let ids: Vec<VarId> = x.iter().map(|&v| tape.input_id(v)).collect();
    let mut y = tape.constant_id(0.0);
    for round in 0..rounds {
        for &xi in &ids {
            let t = tape.unary_id(Op::Tanh, tape.binary_id(Op::Mul, xi, y));
            y = tape.binary_id(
                Op::Add,
                t,
                tape.binary_id(Op::Mul, xi, tape.constant_id(round as f64 * 0.01 + 0.3)),
            );
        }
    }
    tape.status().unwrap();
    (ids, y)
}

#[test]
fn vector_sweeps_take_scratch_the_arena_cannot_hold_from_the_host() {
    let (n, p) = (sized(64, 8), 6);
    let x = inputs(n);
    let mut pool = memory(1 << 23);
    let mut carver = Carver::new(&mut pool);
    let mut mem = memory(sized(4096, 1024));
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    tape.set_growth(&mut carver).unwrap();
    let (_, y) = record_recurrence(&tape, &x, sized(20, 3));
    let mut rng = Rng::seeded("directions");
    let seeds = rng.vec(n * p, -1.0, 1.0);
    let mut out = vec![0.0; p];
    tape.forward_vector(&[y], &seeds, p, &mut out).unwrap();
    // Again: the scratch block kept from the first sweep serves.
    let mut again = vec![0.0; p];
    tape.forward_vector(&[y], &seeds, p, &mut again).unwrap();
    assert_eq!(bits(&again), bits(&out));
    // Each direction against a scalar jvp, which needs no scratch.
    for k in 0..p {
        let direction: Vec<f64> = (0..n).map(|i| seeds[i * p + k]).collect();
        tape.jvp(&direction).unwrap();
        common::assert_close("lane", out[k], tape.tangent(y).unwrap(), 1e-14);
    }
    // Jacobian columns, four lanes at a time, in the block kept from the first sweep.
    let mut row = vec![0.0; n];
    tape.jacobian_columns::<4>(&[y], &mut row).unwrap();
    for (i, &entry) in row.iter().enumerate() {
        let unit: Vec<f64> = (0..n).map(|j| f64::from(u8::from(i == j))).collect();
        tape.jvp(&unit).unwrap();
        common::assert_close("column", entry, tape.tangent(y).unwrap(), 1e-14);
    }
    drop(tape);
    // The records grew, then the sweeps' scratch came from the host, once; all came back.
    assert!(carver.grown >= 2, "grew {} times", carver.grown);
    assert_eq!(carver.exact_requests, 1);
    assert_eq!(carver.released, carver.grown);
}

#[test]
fn a_vector_sweep_with_planned_rows_takes_its_scratch_from_the_host_once() {
    // 26 directions over about 7700 records: a row per record would take 1.6 MB, so the
    // sweep plans its rows (`lane_rows.rs`): the plan's block from the host, given back,
    // then the rows' block. The tape keeps the first for the second, and for the next
    // sweep, which finds its plan already made. (Under Miri the tape is too small to
    // plan: one block of a row per record.)
    let (n, p) = (sized(64, 4), 26);
    let x = inputs(n);
    let mut pool = memory(1 << 23);
    let mut carver = Carver::new(&mut pool);
    let mut mem = memory(4096);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    tape.set_growth(&mut carver).unwrap();
    let (ids, y) = record_recurrence(&tape, &x, sized(30, 2));
    let outputs = [y, ids[0], y];
    let mut rng = Rng::seeded("planned directions");
    let seeds = rng.vec(n * p, -1.0, 1.0);
    let mut out = vec![0.0; outputs.len() * p];
    tape.forward_vector(&outputs, &seeds, p, &mut out).unwrap();
    let mut again = vec![0.0; outputs.len() * p];
    tape.forward_vector(&outputs, &seeds, p, &mut again)
        .unwrap();
    assert_eq!(bits(&again), bits(&out));
    for k in 0..p {
        let direction: Vec<f64> = (0..n).map(|i| seeds[i * p + k]).collect();
        tape.jvp(&direction).unwrap();
        common::assert_close("lane", out[k], tape.tangent(y).unwrap(), 1e-14);
        assert_eq!(out[p + k], seeds[k], "an input's lanes are its seeds");
        assert_eq!(out[2 * p + k].to_bits(), out[k].to_bits());
    }
    drop(tape);
    // One block asked for, kept for the rows and the second sweep. All came back.
    assert_eq!(carver.exact_requests, 1);
    assert_eq!(carver.released, carver.grown);
}

#[test]
fn a_block_smaller_than_asked_for_is_refused_and_given_back() {
    let mut pool = memory(1 << 16);
    let mut carver = Carver::new(&mut pool);
    carver.short = true;
    let mut mem = memory(200);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    tape.set_growth(&mut carver).unwrap();
    let mut x = tape.input_id(1.0);
    for _ in 0..64 {
        x = tape.unary_id(Op::Sin, x);
    }
    assert!(matches!(tape.status(), Err(Error::InvalidArgument(m)) if m.contains("smaller")));
    assert!(!tape.records_in_host_block());
    tape.reset();
    assert!(tape.input_id(2.0).is_valid());
    drop(tape);
    assert_eq!((carver.grown, carver.released), (1, 1));
}

#[test]
fn growth_hooks_cannot_change_once_the_records_moved() {
    let mut pool = memory(1 << 16);
    let mut first = Carver::new(&mut pool);
    let mut other_pool = memory(1 << 10);
    let mut second = Carver::new(&mut other_pool);
    let mut mem = memory(200);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    tape.set_growth(&mut first).unwrap();
    for k in 0..100 {
        tape.input_id(k as f64);
    }
    tape.status().unwrap();
    assert!(matches!(
        tape.set_growth(&mut second),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn a_tensor_op_whose_reserve_grows_still_finds_room_for_its_record() {
    // A stingy host leaves no record to spare after each growth, so that whatever
    // record count comes before them, the ops' larger scratch reserve (kept free in the
    // block too) must not take the room they made for their own records.
    for padding in 100..sized(160, 103) {
        let mut pool = memory(1 << 20);
        let mut carver = Carver::new(&mut pool);
        carver.stingy = true;
        let mut mem = memory(2 << 10);
        let mut tape = Tape::<f64>::new(&mut mem).unwrap();
        tape.set_growth(&mut carver).unwrap();
        let a = tape.tensor_input(&[3, 1], &[0.5, -0.25, 0.75]);
        let b = tape.tensor_input(&[3, 2], &[1.0, 2.0, -1.0, 0.5, 0.25, 1.5]);
        for k in 0..padding {
            tape.constant_id(k as f64 + 2.0);
        }
        // (With the records still in the arena, the tensors' buffers may find them in
        // the way: growth makes room for records only.)
        assert!(tape.records_in_host_block(), "padding {padding}");
        let c = tape.matmul_t(a, b, true, false);
        let loss: VarId = tape.sum(c).into();
        assert!(loss.is_valid(), "padding {padding}: {:?}", tape.status());
        let mut grad = [0.0; 3];
        tape.backward(loss).unwrap();
        tape.tensor_grad(a, &mut grad).unwrap();
        assert_eq!(grad, [3.0, -0.5, 1.75], "padding {padding}");
    }
}

/// A dual tape (Hessian-vector products) keeps constants `f32` does not hold beside its
/// records as an `f64` tape does, 8 bytes each: at the top of a block that moves as the
/// records grow. Its gradient and `H·v` match a tape given its memory up front, bit for
/// bit, and no constant takes a record.
#[test]
fn a_dual_tapes_constants_move_with_its_records() {
    use autodiff_core::Dual;
    type D = Dual<f64>;
    let steps = sized(5000, 300);
    // y ← sin(y · c_k) + x from y = x·z, with y ← 0.7 − y now and then.
    let record = |tape: &Tape<'_, D>| {
        let x = tape.input_id(D::constant(0.0));
        let z = tape.input_id(D::constant(0.0));
        let mut y = tape.binary_id(Op::Mul, x, z);
        for k in 0..steps {
            let c = D::constant(0.1 + k as f64 * 1e-7);
            let t = tape.unary_id(Op::Sin, tape.binary_const_id(Op::Mul, y, c));
            y = tape.binary_id(Op::Add, t, x);
            if k % 61 == 0 {
                y = tape.const_binary_id(Op::Sub, D::constant(0.7), y);
            }
        }
        y
    };
    let derivatives = |tape: &Tape<'_, D>, y: VarId| {
        let (mut g, mut hv) = ([0.0; 2], [0.0; 2]);
        tape.hessian_vector_product(y, &[0.4, -0.7], &[1.0, 0.5], &mut g, &mut hv)
            .unwrap();
        [bits(&g), bits(&hv)].concat()
    };
    let ops = 1 + 3 * steps + (0..steps).filter(|k| k % 61 == 0).count();

    let mut mem = memory(1 << 22);
    let reference = Tape::<D>::new(&mut mem).unwrap();
    let y = record(&reference);
    reference.status().unwrap();
    assert_eq!(
        reference.len(),
        2 + ops,
        "a record per op, none per constant"
    );
    let want = derivatives(&reference, y);

    let mut pool = memory(1 << 23);
    let mut carver = Carver::new(&mut pool);
    {
        let mut mem = memory(sized(8 << 10, 2 << 10));
        let mut tape = Tape::<D>::new(&mut mem).unwrap();
        tape.set_growth(&mut carver).unwrap();
        let y = record(&tape);
        tape.status().unwrap();
        assert_eq!(tape.len(), reference.len());
        assert_eq!(derivatives(&tape, y), want);
    }
    assert!(carver.grown >= 2, "grew {} times", carver.grown);
    assert_eq!(carver.released, carver.grown);
}
