//! The core never touches the heap: with a counting global allocator installed, recording,
//! backward, forward, replay, Jacobians, errors, reset and a whole training loop make zero
//! allocations. Each thread counts its own heap calls, in a thread-local counter, so the
//! tests of this binary can run in parallel without one's measurement hiding or adding
//! to another's.

mod common;

use autodiff_core::{Dual, Error, Op, Tape, VarId};
use core::cell::Cell;
use core::mem::MaybeUninit;
use std::alloc::{GlobalAlloc, Layout, System};

struct Counting;

thread_local! {
    /// Whether this thread is measuring. Const-initialised and without a destructor,
    /// like `HEAP_CALLS`, so the allocator can read it without allocating.
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    /// This thread's heap calls while measuring.
    static HEAP_CALLS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    if MEASURING.with(Cell::get) {
        HEAP_CALLS.with(|calls| calls.set(calls.get() + 1));
    }
}

// SAFETY: every call forwards to `System` unchanged; counting has no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap calls (allocations, reallocations and frees) made by `f` on this thread.
fn heap_calls<R>(f: impl FnOnce() -> R) -> (usize, R) {
    HEAP_CALLS.with(|calls| calls.set(0));
    MEASURING.with(|m| m.set(true));
    let result = f();
    MEASURING.with(|m| m.set(false));
    (HEAP_CALLS.with(Cell::get), result)
}

/// A fixed-size `fmt::Write` sink, to show errors format without a `String`.
struct StackText {
    bytes: [u8; 256],
    len: usize,
}

impl core::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Everything the tape does, on f64, f32 and dual tapes; returns results to check later.
fn workload(mem: &mut [MaybeUninit<u8>]) -> [f64; 16] {
    use core::fmt::Write;
    let mut out = [f64::NAN; 16];
    {
        let mut tape = Tape::<f64>::new(&mut *mem).unwrap();
        let (x, y) = (tape.input(3.0), tape.input(2.0));
        let f = (x + y) * (x - 2.0 * y);
        let every_op = ((x.sin() + y.cos()).exp().ln() * x.tanh().sigmoid()).atan2(y.hypot(x))
            + x.powi(3).cbrt().sqrt().recip()
            + x.abs().max(y).min(x).powf(1.5).softplus().erf().asinh()
            + (y / 4.0).asin().acos().atan().sinh().cosh().tan()
            + (x / 10.0).atanh().ln_1p().exp_m1()
            + (x + 0.5).acosh().log2().log10()
            + x.pow(y)
            - (-y);
        let u = tape.unary_id(Op::Tanh, every_op.id());
        let v = tape.binary_id(Op::Mul, u, f.id());
        let _ = tape.powi_id(v, -2);
        tape.status().unwrap();

        let mut g = [0.0; 2];
        tape.gradient_into(f.id(), &mut g).unwrap();
        out[0] = g[0];
        out[1] = g[1];
        tape.backward(every_op.id()).unwrap();
        let grads = tape.gradient(f).unwrap();
        out[2] = grads.wrt(y);
        tape.jvp(&[1.0, 0.0]).unwrap();
        out[3] = tape.tangent(f.id()).unwrap();
        let mut jac = [0.0; 6];
        let outputs = [f.id(), every_op.id(), v];
        tape.jacobian_rows(&outputs, &mut jac).unwrap();
        tape.jacobian_columns::<2>(&outputs, &mut jac).unwrap();
        tape.jacobian_columns::<3>(&outputs, &mut jac).unwrap();
        tape.jacobian_columns::<1>(&outputs, &mut jac).unwrap();
        out[4] = jac[1];
        tape.replay(&[4.0, 1.0]).unwrap();
        tape.gradient_into(f.id(), &mut g).unwrap();
        out[5] = f.value();
        out[6] = g[0];

        // Errors, and formatting them.
        let (x, f) = (x.id(), f.id());
        tape.reset();
        assert_eq!(tape.value(f), Err(Error::StaleHandle));
        let _ = tape.unary_id(Op::Sin, x);
        let mut text = StackText {
            bytes: [0; 256],
            len: 0,
        };
        write!(text, "{}", tape.status().unwrap_err()).unwrap();
        out[7] = text.len as f64;
        tape.reset();
        while tape.input(1.0).id() != VarId::INVALID {}
        let oom = tape.status().unwrap_err();
        text.len = 0;
        write!(text, "{oom} {oom:?}").unwrap();
        out[8] = tape.len() as f64;
        assert!(tape.jvp(&[]).is_err());
        assert!(tape
            .tensor_shape(tape.tensor_input(&[4], &[0.0; 4]))
            .is_err());
        tape.reset();
        let p = tape.parameter(&[4], &[1.5; 4]).unwrap();
        tape.reset();
        let mut value = [0.0; 4];
        tape.read_param(p, &mut value).unwrap();
        out[9] = value[0];
    }
    {
        let tape = Tape::<f32>::new(&mut *mem).unwrap();
        let (x, y) = (tape.input(3.0), tape.input(2.0));
        let f = (x + y) * (x - 2.0 * y);
        let mut g = [0.0f32; 2];
        tape.gradient_into(f.id(), &mut g).unwrap();
        out[10] = f64::from(g[1]);
        tape.jvp(&[0.0, 1.0]).unwrap();
        out[11] = f64::from(tape.tangent(f.id()).unwrap());
    }
    {
        let tape = Tape::<Dual<f64>>::new(&mut *mem).unwrap();
        let (x, y) = (
            tape.input(Dual::new(3.0, 0.0)),
            tape.input(Dual::new(2.0, 0.0)),
        );
        let f = x * x * y;
        let (mut g, mut hv) = ([0.0; 2], [0.0; 2]);
        tape.hessian_vector_product(f.id(), &[3.0, 2.0], &[1.0, 0.0], &mut g, &mut hv)
            .unwrap();
        out[12] = g[0];
        out[13] = hv[0];
        out[14] = hv[1];
    }
    out
}

#[test]
fn each_thread_counts_only_its_own_heap_calls() {
    // Another thread measures, and allocates, while this one measures: it neither resets
    // this thread's count nor adds to it (a process-wide counter did both).
    let barrier = std::sync::Barrier::new(2);
    let (ours, theirs) = std::thread::scope(|s| {
        let other = s.spawn(|| {
            barrier.wait(); // this thread is measuring now
            let (theirs, ()) = heap_calls(|| drop(Vec::<u64>::with_capacity(8)));
            barrier.wait();
            theirs
        });
        let (ours, ()) = heap_calls(|| {
            let v = Vec::<u64>::with_capacity(8);
            barrier.wait();
            barrier.wait(); // the other thread has measured
            drop(v);
        });
        (ours, other.join().unwrap())
    });
    assert_eq!((ours, theirs), (2, 2), "one allocation and one free each");
}

#[test]
fn the_tape_makes_no_heap_allocation() {
    // The counter works: a `Vec` in the measured region is seen.
    let (calls, v) = heap_calls(|| Vec::<u64>::with_capacity(8));
    assert!(calls >= 1, "the counting allocator is not installed");
    drop(v);

    let mut mem = common::Stack::<{ 1 << 14 }>::new();
    let (calls, out) = heap_calls(|| workload(&mut mem.0));
    assert_eq!(calls, 0, "heap calls during the workload");

    // And the workload computed what it should.
    assert_eq!(&out[..3], &[4.0, -11.0, -11.0]);
    assert_eq!(out[3], 4.0);
    assert_eq!(out[4], -11.0);
    // At (4, 1): f = 5·2 = 10, ∂f/∂x = 2x − y = 7.
    assert_eq!((out[5], out[6]), (10.0, 7.0));
    assert!(out[7] > 0.0);
    assert_eq!(out[8], ((1 << 14) / Tape::<f64>::bytes_per_record()) as f64);
    assert_eq!(out[9], 1.5);
    assert_eq!((out[10], out[11]), (-11.0, -11.0));
    // f = x²y: ∇f = (2xy, x²) = (12, 9); ∇²f·(1, 0) = (2y, 2x) = (4, 6).
    assert_eq!((out[12], out[13], out[14]), (12.0, 4.0, 6.0));
}

/// Fifty SGD steps of a small MLP (two fused linear layers, cross-entropy), each on a
/// cleared tape: returns the arena bytes in use after every step and the final loss.
fn training_loop(mem: &mut [MaybeUninit<u8>], used: &mut [usize; 50]) -> f32 {
    use autodiff_core::{Activation, Optimizer, Sgd};
    let mut tape = Tape::<f32>::new(mem).unwrap();
    let init = |n: usize, scale: f32| {
        let mut w = [0.0f32; 64];
        for (i, v) in w.iter_mut().enumerate().take(n) {
            *v = scale * (((i * 37 + 11) % 17) as f32 / 17.0 - 0.5);
        }
        w
    };
    let w1 = tape.parameter(&[4, 8], &init(32, 1.0)[..32]).unwrap();
    let b1 = tape.parameter(&[8], &[0.0; 8]).unwrap();
    let w2 = tape.parameter(&[8, 3], &init(24, 1.0)[..24]).unwrap();
    let b2 = tape.parameter(&[3], &[0.0; 3]).unwrap();
    tape.set_optimizer(Optimizer::Sgd(Sgd {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 1e-4,
    }))
    .unwrap();
    let x: [f32; 24] = core::array::from_fn(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0);
    let labels = [0u32, 1, 2, 0, 1, 2];
    let mut loss = 0.0;
    for slot in used.iter_mut() {
        tape.reset();
        let input = tape.tensor_input(&[6, 4], &x);
        let h = tape.linear(input, tape.param(w1), tape.param(b1), Activation::Relu);
        let logits = tape.linear(h, tape.param(w2), tape.param(b2), Activation::Identity);
        let l = tape.cross_entropy(logits, &labels);
        tape.backward(l.as_var()).unwrap();
        tape.optimizer_step().unwrap();
        loss = tape.value(l.as_var()).unwrap();
        *slot = tape.used_bytes();
    }
    loss
}

#[test]
fn a_training_loop_makes_no_heap_allocation_and_its_arena_use_does_not_grow() {
    let mut mem = common::memory(1 << 18);
    let mut used = [0usize; 50];
    let (calls, loss) = heap_calls(|| training_loop(&mut mem, &mut used));
    assert_eq!(calls, 0, "heap calls during training");
    assert!(
        used.iter().all(|&u| u == used[0]),
        "arena use changed between steps: {used:?}"
    );
    assert!(used[0] < 1 << 18);
    assert!(
        loss.is_finite() && loss < 1.0,
        "the loop did not train: loss {loss}"
    );
}
