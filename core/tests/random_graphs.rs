//! Seeded random expression graphs with shared subexpressions. On each, every way the
//! tape offers to differentiate agrees: reverse gradients, forward tangents, Jacobians by
//! rows and by columns, and central finite differences; and `replay` at new inputs gives
//! bit for bit what recording from scratch at those inputs gives.

mod common;

use autodiff_core::{Op, Real, Tape, Var, VarId};
use common::{assert_close, Rng, H};

/// Graphs checked; under Miri, which runs them some thousand times slower, 30.
const GRAPHS: usize = if cfg!(miri) { 30 } else { 200 };
/// Every node's value stays within this bound for all inputs in `[-INPUT, INPUT]`: the
/// generator tracks a bound per node and never emits an op that could exceed it.
const LIMIT: f64 = 20.0;
const INPUT: f64 = 2.0;

/// Relative tolerance of reverse gradients against central differences (`h = 1e-6`).
/// The difference errs by `h²·|f'''|/6 + ε·Σ|f|/h`: rounding is about `2.2e-16 · LIMIT ·
/// (graph depth ≤ 80) / 1e-6 ≈ 4e-7` at worst and far less in practice, and with node
/// values bounded by `LIMIT` the third derivatives stay small enough that truncation is
/// below that. Wrong rules or wrong accumulation miss by orders of magnitude more.
const FD_TOL: f64 = 2e-6;
/// Forward and reverse multiply the same partials in another association order: their
/// difference is rounding only, a few ulps of the largest term.
const MODES_TOL: f64 = 1e-12;

/// One node of a generated program; inputs are nodes `0..n_inputs`, instruction `i`
/// makes node `n_inputs + i`.
#[derive(Clone, Copy, Debug)]
enum Instr {
    Const(f64),
    Unary(Op, usize),
    Powi(usize, i32),
    Binary(Op, usize, usize),
    /// `node op constant`, through the `Var op T` operators (and `Var::powf`).
    VarConst(Op, usize, f64),
    /// `constant op node`, through the `f64 op Var` operators.
    ConstVar(Op, f64, usize),
}

struct Program {
    n_inputs: usize,
    instrs: Vec<Instr>,
    /// A bound on each node's magnitude, over all inputs in `[-INPUT, INPUT]`.
    bounds: Vec<f64>,
}

/// What a program computes on: plain `f64` (through `Real`, the functions the tape calls)
/// or tape variables (through the `Var` methods and operators).
trait Num: Copy {
    fn constant_like(self, c: f64) -> Self;
    fn unary(self, op: Op) -> Self;
    fn int_power(self, n: i32) -> Self;
    fn binary(self, op: Op, rhs: Self) -> Self;
    fn var_const(self, op: Op, c: f64) -> Self;
    fn const_var(c: f64, op: Op, x: Self) -> Self;
}

impl Num for f64 {
    fn constant_like(self, c: f64) -> f64 {
        c
    }
    fn unary(self, op: Op) -> f64 {
        let x = self;
        match op {
            Op::Neg => -x,
            Op::Recip => Real::recip(x),
            Op::Sqrt => Real::sqrt(x),
            Op::Cbrt => Real::cbrt(x),
            Op::Exp => Real::exp(x),
            Op::ExpM1 => Real::exp_m1(x),
            Op::Ln => Real::ln(x),
            Op::Ln1p => Real::ln_1p(x),
            Op::Log2 => Real::log2(x),
            Op::Log10 => Real::log10(x),
            Op::Sin => Real::sin(x),
            Op::Cos => Real::cos(x),
            Op::Tan => Real::tan(x),
            Op::Asin => Real::asin(x),
            Op::Acos => Real::acos(x),
            Op::Atan => Real::atan(x),
            Op::Sinh => Real::sinh(x),
            Op::Cosh => Real::cosh(x),
            Op::Tanh => Real::tanh(x),
            Op::Asinh => Real::asinh(x),
            Op::Acosh => Real::acosh(x),
            Op::Atanh => Real::atanh(x),
            Op::Abs => Real::abs(x),
            Op::Sigmoid => Real::sigmoid(x),
            Op::Softplus => Real::softplus(x),
            Op::Erf => Real::erf(x),
            other => panic!("not a unary op: {other:?}"),
        }
    }
    fn int_power(self, n: i32) -> f64 {
        Real::powi(self, n)
    }
    fn binary(self, op: Op, b: f64) -> f64 {
        let a = self;
        match op {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
            Op::Pow | Op::Powf => Real::powf(a, b),
            Op::Atan2 => Real::atan2(a, b),
            Op::Min => Real::min(a, b),
            Op::Max => Real::max(a, b),
            Op::Hypot => Real::hypot(a, b),
            other => panic!("not a binary op: {other:?}"),
        }
    }
    fn var_const(self, op: Op, c: f64) -> f64 {
        self.binary(op, c)
    }
    fn const_var(c: f64, op: Op, x: f64) -> f64 {
        c.binary(op, x)
    }
}

impl<'t> Num for Var<'t, f64> {
    fn constant_like(self, c: f64) -> Self {
        self.tape().constant(c)
    }
    fn unary(self, op: Op) -> Self {
        let x = self;
        match op {
            Op::Neg => -x,
            Op::Recip => x.recip(),
            Op::Sqrt => x.sqrt(),
            Op::Cbrt => x.cbrt(),
            Op::Exp => x.exp(),
            Op::ExpM1 => x.exp_m1(),
            Op::Ln => x.ln(),
            Op::Ln1p => x.ln_1p(),
            Op::Log2 => x.log2(),
            Op::Log10 => x.log10(),
            Op::Sin => x.sin(),
            Op::Cos => x.cos(),
            Op::Tan => x.tan(),
            Op::Asin => x.asin(),
            Op::Acos => x.acos(),
            Op::Atan => x.atan(),
            Op::Sinh => x.sinh(),
            Op::Cosh => x.cosh(),
            Op::Tanh => x.tanh(),
            Op::Asinh => x.asinh(),
            Op::Acosh => x.acosh(),
            Op::Atanh => x.atanh(),
            Op::Abs => x.abs(),
            Op::Sigmoid => x.sigmoid(),
            Op::Softplus => x.softplus(),
            Op::Erf => x.erf(),
            other => panic!("not a unary op: {other:?}"),
        }
    }
    fn int_power(self, n: i32) -> Self {
        self.powi(n)
    }
    fn binary(self, op: Op, b: Self) -> Self {
        let a = self;
        match op {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
            Op::Pow => a.pow(b),
            Op::Atan2 => a.atan2(b),
            Op::Min => a.min(b),
            Op::Max => a.max(b),
            Op::Hypot => a.hypot(b),
            other => panic!("not a binary op: {other:?}"),
        }
    }
    fn var_const(self, op: Op, c: f64) -> Self {
        match op {
            Op::Add => self + c,
            Op::Sub => self - c,
            Op::Mul => self * c,
            Op::Div => self / c,
            Op::Powf => self.powf(c),
            other => panic!("no var-constant form for {other:?}"),
        }
    }
    fn const_var(c: f64, op: Op, x: Self) -> Self {
        match op {
            Op::Add => c + x,
            Op::Sub => c - x,
            Op::Mul => c * x,
            Op::Div => c / x,
            other => panic!("no constant-var form for {other:?}"),
        }
    }
}

impl Program {
    fn len(&self) -> usize {
        self.bounds.len()
    }

    fn push(&mut self, instr: Instr, bound: f64) -> usize {
        assert!(bound <= LIMIT, "generator bug: {instr:?} may reach {bound}");
        self.instrs.push(instr);
        self.bounds.push(bound);
        self.len() - 1
    }

    /// A node at least `c ∈ [0.5, 2)` above zero: `a·a + c`, or `softplus(a) + c` when
    /// `a` is too large to square, or `sigmoid(a) + c` when even that is too large.
    fn positive(&mut self, rng: &mut Rng, a: usize) -> (usize, f64) {
        let c = rng.uniform(0.5, 2.0);
        let ba = self.bounds[a];
        // At most `LIMIT - 1`, so callers may add 1 (as `acosh(p + 1)` does).
        let inner = if ba * ba + c <= LIMIT - 1.0 {
            self.push(Instr::Binary(Op::Mul, a, a), ba * ba)
        } else if ba + 0.7 + c <= LIMIT - 1.0 {
            self.push(Instr::Unary(Op::Softplus, a), ba + 0.7)
        } else {
            self.push(Instr::Unary(Op::Sigmoid, a), 1.0)
        };
        let bound = self.bounds[inner] + c;
        (self.push(Instr::VarConst(Op::Add, inner, c), bound), c)
    }

    /// A node in `(-0.9, 0.9)`: `tanh(a) * 0.9`.
    fn unit(&mut self, a: usize) -> usize {
        let t = self.push(Instr::Unary(Op::Tanh, a), 1.0);
        self.push(Instr::VarConst(Op::Mul, t, 0.9), 0.9)
    }

    /// A random earlier node, biased to recent ones so graphs get deep as well as wide.
    fn pick(&self, rng: &mut Rng) -> usize {
        let n = self.len();
        if rng.next_u64() & 1 == 0 {
            rng.below(n.saturating_sub(8), n)
        } else {
            rng.below(0, n)
        }
    }

    /// Appends one random op (possibly with the guard nodes its domain needs).
    fn grow(&mut self, rng: &mut Rng) {
        let (a, b) = (self.pick(rng), self.pick(rng));
        let (ba, bb) = (self.bounds[a], self.bounds[b]);
        // Half the constants are exact in f32, which the tape stores inside the record
        // (the `…_const` ops); the others take a `Const` record.
        let c = rng.uniform(-2.0, 2.0);
        let c = if rng.next_u64() & 1 == 0 {
            c as f32 as f64
        } else {
            c
        };
        let fallback = Instr::Unary(Op::Tanh, a);
        match rng.below(0, 36) {
            0 => {
                self.push(Instr::Const(c), c.abs());
            }
            1 => {
                self.push(Instr::Unary(Op::Neg, a), ba);
            }
            2 => {
                self.push(Instr::Unary(Op::Sin, a), 1.0);
            }
            3 => {
                self.push(Instr::Unary(Op::Cos, a), 1.0);
            }
            4 => {
                self.push(Instr::Unary(Op::Tanh, a), 1.0);
            }
            5 => {
                self.push(Instr::Unary(Op::Sigmoid, a), 1.0);
            }
            6 => {
                self.push(Instr::Unary(Op::Erf, a), 1.0);
            }
            7 => {
                self.push(Instr::Unary(Op::Atan, a), 1.6);
            }
            8 => {
                self.push(Instr::Unary(Op::Asinh, a), ba.asinh());
            }
            9 if ba + 0.7 <= LIMIT => {
                self.push(Instr::Unary(Op::Softplus, a), ba + 0.7);
            }
            10 => {
                self.push(Instr::Unary(Op::Abs, a), ba);
            }
            11 if ba <= 2.5 => {
                self.push(Instr::Unary(Op::Exp, a), ba.exp());
            }
            12 if ba <= 2.5 => {
                self.push(Instr::Unary(Op::ExpM1, a), ba.exp());
            }
            13 if ba <= 2.5 => {
                let op = if rng.next_u64() & 1 == 0 {
                    Op::Sinh
                } else {
                    Op::Cosh
                };
                self.push(Instr::Unary(op, a), ba.cosh());
            }
            14 if ba <= 1.2 => {
                self.push(Instr::Unary(Op::Tan, a), 2.6);
            }
            15 => {
                let (p, _) = self.positive(rng, a);
                let bound = self.bounds[p].ln().abs().max(0.7);
                self.push(Instr::Unary(Op::Ln, p), bound);
            }
            16 => {
                let (p, _) = self.positive(rng, a);
                let op = if rng.next_u64() & 1 == 0 {
                    Op::Log2
                } else {
                    Op::Log10
                };
                self.push(Instr::Unary(op, p), 1.0 + self.bounds[p].log2().abs());
            }
            17 => {
                let (p, _) = self.positive(rng, a);
                self.push(Instr::Unary(Op::Ln1p, p), self.bounds[p].ln_1p());
            }
            18 => {
                let (p, _) = self.positive(rng, a);
                let op = if rng.next_u64() & 1 == 0 {
                    Op::Sqrt
                } else {
                    Op::Cbrt
                };
                self.push(Instr::Unary(op, p), self.bounds[p].sqrt().max(1.0));
            }
            19 => {
                let (p, c) = self.positive(rng, a);
                self.push(Instr::Unary(Op::Recip, p), 1.0 / c);
            }
            20 => {
                let (p, _) = self.positive(rng, a);
                let q = self.push(Instr::VarConst(Op::Add, p, 1.0), self.bounds[p] + 1.0);
                self.push(Instr::Unary(Op::Acosh, q), self.bounds[q].acosh());
            }
            21 => {
                let u = self.unit(a);
                let op = [Op::Asin, Op::Acos, Op::Atanh][rng.below(0, 3)];
                self.push(Instr::Unary(op, u), 3.2);
            }
            22 => {
                let n = [2, 3][rng.below(0, 2)];
                if ba.powi(n) <= LIMIT {
                    self.push(Instr::Powi(a, n), ba.powi(n));
                } else {
                    self.push(fallback, 1.0);
                }
            }
            23 => {
                let n = [-1, -2, -3][rng.below(0, 3)];
                let (p, c) = self.positive(rng, a);
                self.push(Instr::Powi(p, n), c.powi(n));
            }
            24 => {
                let e = rng.uniform(-1.5, 2.5);
                let (p, c) = self.positive(rng, a);
                let bound = self.bounds[p].powf(e).max(c.powf(e));
                if bound <= LIMIT {
                    self.push(Instr::VarConst(Op::Powf, p, e), bound);
                } else {
                    self.push(fallback, 1.0);
                }
            }
            25 => {
                let (p, c) = self.positive(rng, a);
                let base = self.bounds[p].max(1.0 / c);
                if bb <= 2.0 && base.powf(bb) <= LIMIT {
                    self.push(Instr::Binary(Op::Pow, p, b), base.powf(bb));
                } else {
                    self.push(fallback, 1.0);
                }
            }
            26 | 27 if ba + bb <= LIMIT => {
                let op = if rng.next_u64() & 1 == 0 {
                    Op::Add
                } else {
                    Op::Sub
                };
                self.push(Instr::Binary(op, a, b), ba + bb);
            }
            28 | 29 if ba * bb <= LIMIT => {
                self.push(Instr::Binary(Op::Mul, a, b), ba * bb);
            }
            30 => {
                let (p, c) = self.positive(rng, b);
                if ba / c <= LIMIT {
                    self.push(Instr::Binary(Op::Div, a, p), ba / c);
                } else {
                    self.push(fallback, 1.0);
                }
            }
            31 => {
                let (p, _) = self.positive(rng, b);
                self.push(Instr::Binary(Op::Atan2, a, p), 1.6);
            }
            32 => {
                let op = if rng.next_u64() & 1 == 0 {
                    Op::Min
                } else {
                    Op::Max
                };
                self.push(Instr::Binary(op, a, b), ba.max(bb));
            }
            33 if ba + bb <= LIMIT => {
                self.push(Instr::Binary(Op::Hypot, a, b), ba + bb);
            }
            34 => {
                let (op, bound) = match rng.below(0, 4) {
                    0 => (Op::Add, ba + c.abs()),
                    1 => (Op::Sub, ba + c.abs()),
                    2 => (Op::Mul, ba * c.abs()),
                    _ => (Op::Div, ba / c.abs().max(0.5)),
                };
                let c = if op == Op::Div {
                    c.signum() * c.abs().max(0.5)
                } else {
                    c
                };
                if bound <= LIMIT {
                    self.push(Instr::VarConst(op, a, c), bound);
                } else {
                    self.push(fallback, 1.0);
                }
            }
            35 => {
                let (op, bound) = match rng.below(0, 3) {
                    0 => (Op::Add, ba + c.abs()),
                    1 => (Op::Sub, ba + c.abs()),
                    _ => (Op::Mul, ba * c.abs()),
                };
                // A quarter of the time, and whenever the bound is too large, `c / p` for
                // a positive node instead.
                if bound <= LIMIT && !rng.next_u64().is_multiple_of(4) {
                    self.push(Instr::ConstVar(op, c, a), bound);
                } else {
                    let (p, pc) = self.positive(rng, a);
                    self.push(Instr::ConstVar(Op::Div, c, p), c.abs() / pc);
                }
            }
            _ => {
                // An op whose guard failed: a bounded op on the same argument instead.
                self.push(fallback, 1.0);
            }
        }
    }

    fn random(rng: &mut Rng) -> Program {
        let n_inputs = rng.below(3, 7);
        let target = rng.below(20, 81);
        let mut program = Program {
            n_inputs,
            instrs: Vec::new(),
            bounds: vec![INPUT; n_inputs],
        };
        while program.len() < n_inputs + target {
            program.grow(rng);
        }
        program
    }

    /// Every node's value, the inputs first.
    fn eval<N: Num>(&self, inputs: &[N]) -> Vec<N> {
        assert_eq!(inputs.len(), self.n_inputs);
        let mut v = inputs.to_vec();
        for &instr in &self.instrs {
            let x = match instr {
                Instr::Const(c) => v[0].constant_like(c),
                Instr::Unary(op, a) => v[a].unary(op),
                Instr::Powi(a, n) => v[a].int_power(n),
                Instr::Binary(op, a, b) => v[a].binary(op, v[b]),
                Instr::VarConst(op, a, c) => v[a].var_const(op, c),
                Instr::ConstVar(op, c, a) => N::const_var(c, op, v[a]),
            };
            v.push(x);
        }
        v
    }

    /// Records the program on `tape` at `inputs` and returns every node's variable.
    fn record<'t>(&self, tape: &'t Tape<'t, f64>, inputs: &[f64]) -> Vec<Var<'t, f64>> {
        let vars: Vec<_> = inputs.iter().map(|&x| tape.input(x)).collect();
        let nodes = self.eval(&vars);
        tape.status().expect("recording a generated graph");
        nodes
    }
}

fn random_inputs(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.uniform(-INPUT, INPUT)).collect()
}

fn same_bits(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.to_bits(), w.to_bits(), "{what}[{k}]: {g:e} vs {w:e}");
    }
}

/// The op the tape records for a var-constant instruction whose constant `f32` holds
/// exactly (it keeps the constant in the record).
fn fused_op(instr: &Instr) -> Option<Op> {
    let exact = |c: f64| c as f32 as f64 == c;
    match *instr {
        Instr::VarConst(Op::Add | Op::Sub, _, c) | Instr::ConstVar(Op::Add, c, _) if exact(c) => {
            Some(Op::AddConst)
        }
        Instr::VarConst(Op::Mul, _, c) | Instr::ConstVar(Op::Mul, c, _) if exact(c) => {
            Some(Op::MulConst)
        }
        Instr::VarConst(Op::Div, _, c) if exact(c) => Some(Op::DivConst),
        Instr::ConstVar(Op::Sub, c, _) if exact(c) => Some(Op::ConstSub),
        Instr::ConstVar(Op::Div, c, _) if exact(c) => Some(Op::ConstDiv),
        _ => None,
    }
}

#[test]
fn every_differentiation_mode_agrees_on_random_graphs() {
    let mut memory = common::memory(1 << 16);
    let mut fresh_memory = common::memory(1 << 16);
    let mut rng = Rng::seeded("random graphs");
    let mut checked_partials = 0usize;
    let mut ops_seen = std::collections::BTreeSet::new();
    for graph in 0..GRAPHS {
        let program = Program::random(&mut rng);
        for instr in &program.instrs {
            ops_seen.insert(match *instr {
                Instr::Const(_) => "const",
                Instr::Powi(..) => "powi",
                Instr::Unary(op, _) | Instr::Binary(op, ..) => op.name(),
                Instr::VarConst(op, ..) => op.name(),
                Instr::ConstVar(..) => "constant op var",
            });
            if let Some(fused) = fused_op(instr) {
                ops_seen.insert(fused.name());
            }
        }
        let n = program.n_inputs;
        let x0 = random_inputs(&mut rng, n);

        let tape = Tape::<f64>::new(&mut memory).unwrap();
        let nodes = program.record(&tape, &x0);
        // Outputs: the last node and three others from the second half.
        let len = nodes.len();
        let mut outputs: Vec<VarId> = vec![nodes[len - 1].id()];
        for _ in 0..3 {
            outputs.push(nodes[rng.below(len / 2, len)].id());
        }
        let m = outputs.len();
        let ctx = |what: &str| format!("graph {graph} ({n} inputs, {len} nodes): {what}");

        // The tape's values are exactly the plain evaluation's: the same functions.
        let plain = program.eval(&x0);
        for (k, (var, &p)) in nodes.iter().zip(&plain).enumerate() {
            assert_eq!(
                var.value().to_bits(),
                p.to_bits(),
                "{}",
                ctx(&format!("value of node {k}"))
            );
        }

        // Reverse: one gradient per output, against finite differences.
        let mut gradients = vec![0.0; m * n];
        for (row, &output) in outputs.iter().enumerate() {
            let g = &mut gradients[row * n..(row + 1) * n];
            tape.gradient_into(output, g).unwrap();
            let node = nodes.iter().position(|v| v.id() == output).unwrap();
            for k in 0..n {
                let at = |t: f64| {
                    let mut x = x0.clone();
                    x[k] += t;
                    program.eval(&x)[node]
                };
                let fd = (at(H) - at(-H)) / (2.0 * H);
                assert_close(
                    &ctx(&format!("∂out{row}/∂x{k} vs finite difference")),
                    g[k],
                    fd,
                    FD_TOL,
                );
                checked_partials += 1;
            }
        }

        // Forward: one jvp per unit seed.
        let mut tangents = vec![0.0; m * n];
        for k in 0..n {
            let mut seed = vec![0.0; n];
            seed[k] = 1.0;
            tape.jvp(&seed).unwrap();
            for (row, &output) in outputs.iter().enumerate() {
                tangents[row * n + k] = tape.tangent(output).unwrap();
            }
        }
        for (i, (t, g)) in tangents.iter().zip(&gradients).enumerate() {
            assert_close(
                &ctx(&format!("forward vs reverse, entry {i}")),
                *t,
                *g,
                MODES_TOL,
            );
        }

        // Jacobians: rows repeat the backward sweeps, columns the tangent sweeps, bit for bit.
        let mut rows = vec![f64::NAN; m * n];
        tape.jacobian_rows(&outputs, &mut rows).unwrap();
        same_bits(&ctx("jacobian_rows vs gradient_into"), &rows, &gradients);
        let mut columns = vec![f64::NAN; m * n];
        tape.jacobian_columns::<3>(&outputs, &mut columns).unwrap();
        same_bits(&ctx("jacobian_columns::<3> vs jvp"), &columns, &tangents);
        let mut one_lane = vec![f64::NAN; m * n];
        tape.jacobian_columns::<1>(&outputs, &mut one_lane).unwrap();
        same_bits(&ctx("jacobian_columns::<1> vs jvp"), &one_lane, &tangents);

        // Replay at new inputs against recording from scratch there.
        let x1 = random_inputs(&mut rng, n);
        tape.replay(&x1).unwrap();
        let fresh = Tape::<f64>::new(&mut fresh_memory).unwrap();
        let fresh_nodes = program.record(&fresh, &x1);
        assert_eq!(tape.len(), fresh.len(), "{}", ctx("record counts"));
        for (k, (a, b)) in nodes.iter().zip(&fresh_nodes).enumerate() {
            assert_eq!(
                a.value().to_bits(),
                b.value().to_bits(),
                "{}",
                ctx(&format!("replayed node {k}"))
            );
        }
        let fresh_outputs: Vec<VarId> = outputs
            .iter()
            .map(|o| fresh_nodes[nodes.iter().position(|v| v.id() == *o).unwrap()].id())
            .collect();
        for (&o, &f) in outputs.iter().zip(&fresh_outputs) {
            let (mut g, mut h) = (vec![0.0; n], vec![0.0; n]);
            tape.gradient_into(o, &mut g).unwrap();
            fresh.gradient_into(f, &mut h).unwrap();
            same_bits(&ctx("gradient after replay vs re-recorded"), &g, &h);
        }
        let (mut a, mut b) = (vec![0.0; m * n], vec![0.0; m * n]);
        tape.jacobian_columns::<3>(&outputs, &mut a).unwrap();
        fresh.jacobian_columns::<3>(&fresh_outputs, &mut b).unwrap();
        same_bits(&ctx("jacobian_columns after replay vs re-recorded"), &a, &b);
    }
    // Guard against a generator that silently produces nothing to check, or skips ops.
    assert!(
        checked_partials >= GRAPHS * 3 * 4,
        "only {checked_partials} partials checked"
    );
    for code in 0..=Op::LAST as u8 {
        let op = Op::from_code(code).unwrap();
        if !matches!(op, Op::Input | Op::Tensor) {
            assert!(ops_seen.contains(op.name()), "no graph used {}", op.name());
        }
    }
    assert!(ops_seen.contains("constant op var"));
}
