//! The random programs `random_graphs.rs` differentiates: a generator of expression
//! graphs with shared subexpressions whose every value stays bounded, and their
//! evaluation on plain `f64` or on tape variables.
#![allow(dead_code)]

use super::common::Rng;
use super::{INPUT, LIMIT};
use autodiff_core::{Op, Real, Tape, Var};

/// One node of a generated program; inputs are nodes `0..n_inputs`, instruction `i`
/// makes node `n_inputs + i`.
#[derive(Clone, Copy, Debug)]
pub enum Instr {
    Const(f64),
    Unary(Op, usize),
    Powi(usize, i32),
    Binary(Op, usize, usize),
    /// `node op constant`, through the `Var op T` operators (and `Var::powf`).
    VarConst(Op, usize, f64),
    /// `constant op node`, through the `f64 op Var` operators.
    ConstVar(Op, f64, usize),
}

pub struct Program {
    pub n_inputs: usize,
    pub instrs: Vec<Instr>,
    /// A bound on each node's magnitude, over all inputs in `[-INPUT, INPUT]`.
    pub bounds: Vec<f64>,
}

/// What a program computes on: plain `f64` (through `Real`, the functions the tape calls)
/// or tape variables (through the `Var` methods and operators).
pub trait Num: Copy {
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
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    pub fn push(&mut self, instr: Instr, bound: f64) -> usize {
        assert!(bound <= LIMIT, "generator bug: {instr:?} may reach {bound}");
        self.instrs.push(instr);
        self.bounds.push(bound);
        self.len() - 1
    }

    /// A node at least `c ∈ [0.5, 2)` above zero: `a·a + c`, or `softplus(a) + c` when
    /// `a` is too large to square, or `sigmoid(a) + c` when even that is too large.
    pub fn positive(&mut self, rng: &mut Rng, a: usize) -> (usize, f64) {
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
    pub fn unit(&mut self, a: usize) -> usize {
        let t = self.push(Instr::Unary(Op::Tanh, a), 1.0);
        self.push(Instr::VarConst(Op::Mul, t, 0.9), 0.9)
    }

    /// A random earlier node, biased to recent ones so graphs get deep as well as wide.
    pub fn pick(&self, rng: &mut Rng) -> usize {
        let n = self.len();
        if rng.next_u64() & 1 == 0 {
            rng.below(n.saturating_sub(8), n)
        } else {
            rng.below(0, n)
        }
    }

    /// Appends one random op (possibly with the guard nodes its domain needs).
    pub fn grow(&mut self, rng: &mut Rng) {
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

    pub fn random(rng: &mut Rng) -> Program {
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
    pub fn eval<N: Num>(&self, inputs: &[N]) -> Vec<N> {
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
    pub fn record<'t>(&self, tape: &'t Tape<'t, f64>, inputs: &[f64]) -> Vec<Var<'t, f64>> {
        let vars: Vec<_> = inputs.iter().map(|&x| tape.input(x)).collect();
        let nodes = self.eval(&vars);
        tape.status().expect("recording a generated graph");
        nodes
    }
}
