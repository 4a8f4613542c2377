//! Recorded control flow and user-defined ops on random scalar programs: a differential
//! oracle for replay.
//!
//! A program mixes plain ops, host branches on recorded comparisons
//! (`compare_id` + `branch`), selections (`select_id`) and a user-defined op (polar to
//! Cartesian, with a VJP and a JVP). It is recorded at `x`, recorded afresh at `x2`, and
//! the first recording replayed at `x2`. Checked:
//!
//! - the replay either succeeds, and then every host branch went the same way in both
//!   recordings and values and gradients are bit for bit the fresh recording's; or it
//!   fails with `Error::BranchChanged`, and then the branches part, and the first change
//!   reported is the comparison where they part; never any other error, never a silent
//!   mismatch;
//! - the user op gives the values of the same function recorded from built-in ops, bit
//!   for bit, and its gradient and tangents agree with theirs within rounding;
//! - after a branch change the tape refuses gradients, and after `reset` records again.
//!
//! Nothing may panic.
#![no_main]

use autodiff_core::{Cmp, Error, Op, Real, Result, Tape, UserOp, UserOpPoint, VarId};
use autodiff_fuzz::Bytes;
use core::mem::MaybeUninit;
use libfuzzer_sys::fuzz_target;

const MAX_INPUTS: usize = 4;
const MAX_STEPS: usize = 16;
const MEM: usize = 1 << 15;

const UNARY: [Op; 6] = [Op::Sin, Op::Cos, Op::Tanh, Op::Neg, Op::Atan, Op::Sigmoid];
const BINARY: [Op; 5] = [Op::Add, Op::Sub, Op::Mul, Op::Min, Op::Max];

/// A condition: `node ⋈ node` or `node ⋈ constant`.
#[derive(Clone, Copy, Debug)]
struct Cond {
    cmp: Cmp,
    a: usize,
    rhs: usize,
    constant: Option<f64>,
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Unary(Op, usize),
    Binary(Op, usize, usize),
    /// A host `if` on the condition: one unary op or the other.
    Branch(Cond, Op, Op, usize),
    /// Both sides recorded, one selected.
    Select(Cond, usize, usize),
    /// `(r, θ) → (r cos θ, r sin θ)`: two nodes.
    Polar(usize, usize),
}

fn generate(b: &mut Bytes) -> (usize, Vec<Step>) {
    let n_inputs = 1 + b.below(MAX_INPUTS);
    let mut nodes = n_inputs;
    let mut steps = Vec::new();
    for _ in 0..1 + b.below(MAX_STEPS) {
        let cond = |b: &mut Bytes| Cond {
            cmp: b.pick(&Cmp::ALL),
            a: b.below(nodes),
            rhs: b.below(nodes),
            constant: b.bool().then(|| b.input_f64()),
        };
        let step = match b.below(5) {
            0 => Step::Unary(b.pick(&UNARY), b.below(nodes)),
            1 => Step::Binary(b.pick(&BINARY), b.below(nodes), b.below(nodes)),
            2 => Step::Branch(cond(b), b.pick(&UNARY), b.pick(&UNARY), b.below(nodes)),
            3 => Step::Select(cond(b), b.below(nodes), b.below(nodes)),
            _ => Step::Polar(b.below(nodes), b.below(nodes)),
        };
        nodes += if matches!(step, Step::Polar(..)) {
            2
        } else {
            1
        };
        steps.push(step);
    }
    (n_inputs, steps)
}

#[derive(Clone, Copy)]
struct Polar;

impl<T: Real> UserOp<T> for Polar {
    fn forward(&self, x: &[T], y: &mut [T], _: &mut [T]) -> Result<()> {
        y[0] = x[0] * x[1].cos();
        y[1] = x[0] * x[1].sin();
        Ok(())
    }
    fn vjp(&self, at: UserOpPoint<'_, T>, dy: &[T], dx: &mut [T]) -> Result<()> {
        let (r, c, s) = (at.inputs[0], at.inputs[1].cos(), at.inputs[1].sin());
        dx[0] = dy[0] * c + dy[1] * s;
        dx[1] = dy[1] * (r * c) - dy[0] * (r * s);
        Ok(())
    }
    fn jvp(&self, at: UserOpPoint<'_, T>, dx: &[T], dy: &mut [T]) -> Result<()> {
        let (r, c, s) = (at.inputs[0], at.inputs[1].cos(), at.inputs[1].sin());
        dy[0] = dx[0] * c - dx[1] * (r * s);
        dy[1] = dx[0] * s + dx[1] * (r * c);
        Ok(())
    }
}

/// A recording: its nodes, and the host branches it took (the comparison's position
/// among all recorded comparisons, and the outcome).
struct Recording {
    nodes: Vec<VarId>,
    path: Vec<(usize, bool)>,
}

fn record(tape: &Tape<'_, f64>, inputs: &[f64], steps: &[Step], by_op: bool) -> Recording {
    let mut nodes: Vec<VarId> = inputs.iter().map(|&x| tape.input_id(x)).collect();
    let (mut path, mut comparisons) = (Vec::new(), 0);
    for &step in steps {
        let mut condition = |nodes: &[VarId], c: Cond| {
            comparisons += 1;
            match c.constant {
                Some(k) => tape.compare_const_id(c.cmp, nodes[c.a], k),
                None => tape.compare_id(c.cmp, nodes[c.a], nodes[c.rhs]),
            }
        };
        match step {
            Step::Unary(op, a) => nodes.push(tape.unary_id(op, nodes[a])),
            Step::Binary(op, a, b) => nodes.push(tape.binary_id(op, nodes[a], nodes[b])),
            Step::Branch(c, then, otherwise, x) => {
                let cond = condition(&nodes, c);
                let outcome = tape.branch(cond);
                path.push((comparisons - 1, outcome));
                let op = if outcome { then } else { otherwise };
                nodes.push(tape.unary_id(op, nodes[x]));
            }
            Step::Select(c, t, f) => {
                let cond = condition(&nodes, c);
                nodes.push(tape.select_id(cond, nodes[t], nodes[f]));
            }
            Step::Polar(r, theta) => {
                let (r, theta) = (nodes[r], nodes[theta]);
                if by_op {
                    let mut out = [VarId::INVALID; 2];
                    let _ = tape.user_op(Polar, &[r, theta], &mut out, 0);
                    nodes.extend(out);
                } else {
                    let (c, s) = (tape.unary_id(Op::Cos, theta), tape.unary_id(Op::Sin, theta));
                    nodes.push(tape.binary_id(Op::Mul, r, c));
                    nodes.push(tape.binary_id(Op::Mul, r, s));
                }
            }
        }
    }
    Recording { nodes, path }
}

fn new_mem() -> Vec<MaybeUninit<u8>> {
    vec![MaybeUninit::uninit(); MEM]
}

fn values(tape: &Tape<'_, f64>, nodes: &[VarId]) -> Vec<u64> {
    nodes
        .iter()
        .map(|&v| tape.value(v).expect("live").to_bits())
        .collect()
}

fn gradient(tape: &Tape<'_, f64>, out: VarId, n: usize) -> std::result::Result<Vec<f64>, Error> {
    let mut g = vec![0.0; n];
    tape.gradient_into(out, &mut g).map(|()| g)
}

fn bits(g: &[f64]) -> Vec<u64> {
    g.iter().map(|v| v.to_bits()).collect()
}

/// Agreement within rounding: relative to the larger magnitude, NaN with NaN.
fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let (n, steps) = generate(&mut b);
    let x: Vec<f64> = (0..n).map(|_| b.input_f64()).collect();
    let x2: Vec<f64> = (0..n).map(|_| b.input_f64()).collect();

    let (mut mem, mut fresh_mem, mut plain_mem) = (new_mem(), new_mem(), new_mem());
    let mut tape = Tape::<f64>::new(&mut mem).expect("tape");
    let a = record(&tape, &x, &steps, true);
    tape.status().expect("recording a small program");
    let out = *a.nodes.last().expect("a node");

    // The user op against the same function from built-in ops.
    let plain = Tape::<f64>::new(&mut plain_mem).expect("tape");
    let p = record(&plain, &x, &steps, false);
    plain.status().expect("recording a small program");
    let p_out = *p.nodes.last().expect("a node");
    assert_eq!(a.path, p.path, "the user op changed a branch");
    assert_eq!(
        tape.value(out).map(f64::to_bits),
        plain.value(p_out).map(f64::to_bits)
    );
    // Within rounding where nothing overflows (otherwise another association of the same
    // terms may make a NaN of an infinity).
    let moderate = p
        .nodes
        .iter()
        .all(|&v| plain.value(v).is_ok_and(|v| v.abs() < 1e6));
    let gradients = (gradient(&tape, out, n), gradient(&plain, p_out, n));
    if let (true, Ok(g), Ok(h)) = (moderate, gradients.0, gradients.1) {
        for k in 0..n {
            assert!(
                close(g[k], h[k]),
                "gradient {k}: user op {} vs built-in {}",
                g[k],
                h[k]
            );
        }
        let mut seeds = vec![0.0; n];
        seeds[0] = 1.0;
        tape.jvp(&seeds).expect("jvp");
        let t = tape.tangent(out).expect("tangent");
        assert!(close(t, g[0]), "tangent {t} vs gradient {}", g[0]);
    }

    // Replay at x2 against a fresh recording there.
    let fresh = Tape::<f64>::new(&mut fresh_mem).expect("tape");
    let f = record(&fresh, &x2, &steps, true);
    fresh.status().expect("recording a small program");
    let f_out = *f.nodes.last().expect("a node");
    match tape.replay(&x2) {
        Ok(()) => {
            assert_eq!(a.path, f.path, "a branch changed silently");
            assert_eq!(values(&tape, &a.nodes), values(&fresh, &f.nodes));
            let (g, h) = (gradient(&tape, out, n), gradient(&fresh, f_out, n));
            match (&g, &h) {
                (Ok(g), Ok(h)) => assert_eq!(bits(g), bits(h), "gradient after replay"),
                _ => assert_eq!(g.is_ok(), h.is_ok(), "{g:?} vs {h:?}"),
            }
        }
        Err(Error::BranchChanged { changed, first }) => {
            let parting = a
                .path
                .iter()
                .zip(&f.path)
                .find(|(p, q)| p != q)
                .expect("a change reported on the same path");
            assert_eq!(first, parting.0 .0);
            assert!(changed >= 1 && changed <= a.path.len());
            assert!(matches!(
                tape.backward(out),
                Err(Error::BranchChanged { .. })
            ));
            tape.reset();
            let again = record(&tape, &x2, &steps, true);
            assert_eq!(again.path, f.path);
            assert_eq!(values(&tape, &again.nodes), values(&fresh, &f.nodes));
        }
        Err(other) => panic!("replay: {other}"),
    }
});
