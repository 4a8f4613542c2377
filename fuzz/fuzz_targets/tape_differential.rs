//! The core `Tape<f64>` on random scalar programs, against itself and against plain
//! arithmetic: a differential oracle.
//!
//! A program is some inputs, instructions before a block, a block of instructions that
//! may be recorded as a checkpointed segment, and instructions after it. On each:
//!
//! - every recorded value equals plain `f64` evaluation of the same ops (bitwise);
//! - reverse mode (`gradient_into`), forward mode over the tape (`jvp`) and dual numbers
//!   (`Dual<f64>`, no tape) agree within the rounding the partials allow, and reverse
//!   mode agrees with central finite differences where the function is smooth around
//!   the point (the finite differences checked against themselves at two step sizes);
//! - Jacobians by rows equal per-output gradients, and by columns per-direction `jvp`s;
//! - `replay` at new inputs gives bit for bit what a fresh recording at those inputs
//!   gives (values, gradients, tangents: the program has no value-dependent branches, and
//!   `min`/`max`/`abs` pick theirs again), and so does a reset tape recording again;
//! - the block recorded as a checkpointed segment gives bit for bit the values and
//!   gradients of recording it inline (the documented exactness), and its replay too.
//!
//! One input in four runs it all on tapes that grow (`Tape::set_growth`): each starts
//! with room for part of its records only, and must match, bit for bit, a tape given
//! its memory up front (values, gradients and tangents, at `x` and at `x2`).
//!
//! Handles are only ever made by the tape's own calls (`*_id`), so the target survives
//! changes to their layout. Nothing may panic.
#![no_main]

use autodiff_core::checkpoint::Segment;
use autodiff_core::{Activation, Dual, Error, Op, Real, Tape, TensorId, VarId};
use autodiff_fuzz::{open, Bytes, Growth, TapeMemory, GROWN_DIRECTIONS};
use core::mem::MaybeUninit;
use libfuzzer_sys::fuzz_target;

const MAX_INPUTS: usize = 4;
const MAX_PRE: usize = 10;
const MAX_BLOCK: usize = 8;
const MAX_BLOCK_IN: usize = 3;
const MAX_BLOCK_OUT: usize = 3;
const MAX_POST: usize = 10;
/// Arena bytes per tape: ample for the largest program and its segment's reserve.
const MEM: usize = 1 << 15;
const EPS: f64 = f64::EPSILON;

/// One instruction. Arguments are indices into the nodes of the scope it runs in.
#[derive(Clone, Copy, Debug)]
enum Instr {
    Const(f64),
    Unary(Op, u8),
    Powi(u8, i32),
    Binary(Op, u8, u8),
    /// `node op c`, through `binary_const_id` (inline constants for `+ - * /`).
    VarConst(Op, u8, f64),
    /// `c op node`, through `const_binary_id`.
    ConstVar(Op, f64, u8),
}

const UNARY: [Op; 28] = [
    Op::Neg,
    Op::Recip,
    Op::Sqrt,
    Op::Cbrt,
    Op::Exp,
    Op::ExpM1,
    Op::Ln,
    Op::Ln1p,
    Op::Log2,
    Op::Log10,
    Op::Sin,
    Op::Cos,
    Op::Tan,
    Op::Asin,
    Op::Acos,
    Op::Atan,
    Op::Sinh,
    Op::Cosh,
    Op::Tanh,
    Op::Asinh,
    Op::Acosh,
    Op::Atanh,
    Op::Abs,
    Op::Sigmoid,
    Op::Softplus,
    Op::Erf,
    Op::Neg,
    Op::Sin,
];

/// Binary ops of two variables, or of a constant and a variable. `Powf` (whose exponent
/// is a constant by definition: no derivative flows to it) only takes a constant
/// exponent, in [`VAR_CONST`].
const BINARY: [Op; 12] = [
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::Pow,
    Op::Sub,
    Op::Atan2,
    Op::Min,
    Op::Max,
    Op::Hypot,
    Op::Add,
    Op::Mul,
];

/// Binary ops of a variable and a constant.
const VAR_CONST: [Op; 11] = [
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::Pow,
    Op::Powf,
    Op::Atan2,
    Op::Min,
    Op::Max,
    Op::Hypot,
    Op::Powf,
];

/// Constants: some that `f32` holds exactly (inline in the record), some not.
const CONSTANTS: [f64; 12] = [
    0.0,
    1.0,
    -1.0,
    2.0,
    0.5,
    -3.0,
    0.1,
    1e-7,
    3.25,
    -0.75,
    1e10,
    1.0 / 3.0,
];

/// The block of a program, recorded inline or as a checkpointed segment. `Copy` and
/// `'static` (and `Send`), as segments must be: the instructions live in the struct.
#[derive(Clone, Copy, Debug)]
struct Block {
    instrs: [Instr; MAX_BLOCK],
    len: u8,
    n_in: u8,
    n_out: u8,
}

impl Block {
    fn instrs(&self) -> &[Instr] {
        &self.instrs[..self.len as usize]
    }
}

impl Segment<f64> for Block {
    fn record(
        &self,
        tape: &Tape<'_, f64>,
        inputs: &[VarId],
        outputs: &mut [VarId],
    ) -> autodiff_core::Result<()> {
        let rec = Rec(tape);
        let mut nodes: Vec<VarId> = inputs.to_vec();
        for &instr in self.instrs() {
            let v = step(&rec, instr, &nodes);
            nodes.push(v);
        }
        let first = nodes.len() - outputs.len();
        outputs.copy_from_slice(&nodes[first..]);
        Ok(())
    }
}

/// A generated program. Scopes: `pre` sees the inputs and earlier `pre` nodes; the block
/// sees its `n_in` inputs (`block_in`, global nodes) and its own nodes; `post` sees the
/// global nodes: inputs, `pre`, the block's outputs, earlier `post`.
#[derive(Debug)]
struct Program {
    n_inputs: usize,
    pre: Vec<Instr>,
    block: Option<(Block, Vec<u8>)>,
    post: Vec<Instr>,
    /// Global nodes differentiated (the last one is "the" output).
    outputs: Vec<usize>,
}

/// What a program can run on.
trait Backend {
    type V: Copy;
    fn constant(&self, c: f64) -> Self::V;
    fn unary(&self, op: Op, x: Self::V) -> Self::V;
    fn powi(&self, x: Self::V, n: i32) -> Self::V;
    fn binary(&self, op: Op, a: Self::V, b: Self::V) -> Self::V;
    fn var_const(&self, op: Op, x: Self::V, c: f64) -> Self::V;
    fn const_var(&self, op: Op, c: f64, x: Self::V) -> Self::V;
}

fn step<B: Backend>(b: &B, instr: Instr, nodes: &[B::V]) -> B::V {
    let at = |i: u8| nodes[i as usize];
    match instr {
        Instr::Const(c) => b.constant(c),
        Instr::Unary(op, x) => b.unary(op, at(x)),
        Instr::Powi(x, n) => b.powi(at(x), n),
        Instr::Binary(op, x, y) => b.binary(op, at(x), at(y)),
        Instr::VarConst(op, x, c) => b.var_const(op, at(x), c),
        Instr::ConstVar(op, c, x) => b.const_var(op, c, at(x)),
    }
}

/// Forward mode with no tape: `Dual<f64>` through its `Real` methods, as a user writes
/// it (`powf_const` for a constant exponent, constants as duals otherwise).
struct Duals;

impl Backend for Duals {
    type V = Dual<f64>;
    fn constant(&self, c: f64) -> Dual<f64> {
        Dual::new(c, 0.0)
    }
    fn unary(&self, op: Op, x: Dual<f64>) -> Dual<f64> {
        op.eval_unary(x, 0)
    }
    fn powi(&self, x: Dual<f64>, n: i32) -> Dual<f64> {
        Op::Powi.eval_unary(x, n)
    }
    fn binary(&self, op: Op, a: Dual<f64>, b: Dual<f64>) -> Dual<f64> {
        op.eval_binary(a, b)
    }
    fn var_const(&self, op: Op, x: Dual<f64>, c: f64) -> Dual<f64> {
        match op {
            Op::Powf => x.powf_const(c),
            _ => op.eval_binary(x, self.constant(c)),
        }
    }
    fn const_var(&self, op: Op, c: f64, x: Dual<f64>) -> Dual<f64> {
        op.eval_binary(self.constant(c), x)
    }
}

/// Recording on a tape.
struct Rec<'a, 'm, T: Real>(&'a Tape<'m, T>);

impl<T: Real> Backend for Rec<'_, '_, T> {
    type V = VarId;
    fn constant(&self, c: f64) -> VarId {
        self.0.constant_id(T::from_f64(c))
    }
    fn unary(&self, op: Op, x: VarId) -> VarId {
        self.0.unary_id(op, x)
    }
    fn powi(&self, x: VarId, n: i32) -> VarId {
        self.0.powi_id(x, n)
    }
    fn binary(&self, op: Op, a: VarId, b: VarId) -> VarId {
        self.0.binary_id(op, a, b)
    }
    fn var_const(&self, op: Op, x: VarId, c: f64) -> VarId {
        self.0.binary_const_id(op, x, T::from_f64(c))
    }
    fn const_var(&self, op: Op, c: f64, x: VarId) -> VarId {
        self.0.const_binary_id(op, T::from_f64(c), x)
    }
}

impl Program {
    fn generate(b: &mut Bytes) -> Program {
        let n_inputs = 1 + b.below(MAX_INPUTS);
        let mut count = n_inputs;
        let pre: Vec<Instr> = (0..b.below(MAX_PRE + 1))
            .map(|_| {
                let instr = gen_instr(b, count, false);
                count += 1;
                instr
            })
            .collect();
        let block = if b.bool() {
            let n_in = 1 + b.below(MAX_BLOCK_IN);
            let block_in: Vec<u8> = (0..n_in).map(|_| b.below(count) as u8).collect();
            let n_out = 1 + b.below(MAX_BLOCK_OUT);
            let len = n_out + b.below(MAX_BLOCK - n_out + 1);
            let mut instrs = [Instr::Const(0.0); MAX_BLOCK];
            for (j, slot) in instrs.iter_mut().enumerate().take(len) {
                // The last n_out instructions are the outputs: distinct records the block
                // made, never constants (a constant may be shared with an earlier one).
                *slot = gen_instr(b, n_in + j, j >= len - n_out);
            }
            count += n_out;
            Some((
                Block {
                    instrs,
                    len: len as u8,
                    n_in: n_in as u8,
                    n_out: n_out as u8,
                },
                block_in,
            ))
        } else {
            None
        };
        let post: Vec<Instr> = (0..b.below(MAX_POST + 1))
            .map(|_| {
                let instr = gen_instr(b, count, false);
                count += 1;
                instr
            })
            .collect();
        let n_outputs = 1 + b.below(3);
        let mut outputs: Vec<usize> = (0..n_outputs - 1).map(|_| b.below(count)).collect();
        outputs.push(count - 1);
        Program {
            n_inputs,
            pre,
            block,
            post,
            outputs,
        }
    }

    /// The program with its block inline: one scope, instructions over "flat" nodes
    /// (inputs, pre, every block node, post), and the flat node of each global node.
    fn flatten(&self) -> (Vec<Instr>, Vec<usize>) {
        let mut flat = self.pre.clone();
        let mut global: Vec<usize> = (0..self.n_inputs + self.pre.len()).collect();
        if let Some((block, block_in)) = &self.block {
            let base = self.n_inputs + flat.len();
            let local = |i: u8| -> u8 {
                let i = i as usize;
                if i < block.n_in as usize {
                    block_in[i]
                } else {
                    (base + i - block.n_in as usize) as u8
                }
            };
            for &instr in block.instrs() {
                flat.push(remap(instr, local));
            }
            let end = base + block.len as usize;
            global.extend(end - block.n_out as usize..end);
        }
        let post_base = self.n_inputs + flat.len();
        let post_global = global.len();
        for &instr in &self.post {
            flat.push(remap(instr, |i| {
                let i = i as usize;
                if i < post_global {
                    global[i] as u8
                } else {
                    (post_base + i - post_global) as u8
                }
            }));
        }
        let n = global.len();
        global.extend((0..self.post.len()).map(|k| post_base + k));
        debug_assert_eq!(global.len(), n + self.post.len());
        (flat, global)
    }

    /// Runs the program on a backend with the block inline; returns the flat nodes.
    fn run_flat<B: Backend>(b: &B, flat: &[Instr], inputs: &[B::V]) -> Vec<B::V> {
        let mut nodes = inputs.to_vec();
        for &instr in flat {
            let v = step(b, instr, &nodes);
            nodes.push(v);
        }
        nodes
    }

    /// Records the program on `tape` with the block as a checkpointed segment; returns
    /// the global nodes, or the error of `checkpoint`.
    fn record_checkpointed(&self, tape: &Tape<'_, f64>, x: &[f64]) -> Result<Vec<VarId>, Error> {
        let rec = Rec(tape);
        let mut nodes: Vec<VarId> = x.iter().map(|&v| tape.input_id(v)).collect();
        for &instr in &self.pre {
            let v = step(&rec, instr, &nodes);
            nodes.push(v);
        }
        if let Some((block, block_in)) = &self.block {
            let inputs: Vec<VarId> = block_in.iter().map(|&i| nodes[i as usize]).collect();
            let mut outputs = vec![VarId::INVALID; block.n_out as usize];
            tape.checkpoint(*block, &inputs, &mut outputs)?;
            nodes.extend_from_slice(&outputs);
        }
        for &instr in &self.post {
            let v = step(&rec, instr, &nodes);
            nodes.push(v);
        }
        Ok(nodes)
    }
}

fn remap(instr: Instr, f: impl Fn(u8) -> u8) -> Instr {
    match instr {
        Instr::Const(c) => Instr::Const(c),
        Instr::Unary(op, x) => Instr::Unary(op, f(x)),
        Instr::Powi(x, n) => Instr::Powi(f(x), n),
        Instr::Binary(op, x, y) => Instr::Binary(op, f(x), f(y)),
        Instr::VarConst(op, x, c) => Instr::VarConst(op, f(x), c),
        Instr::ConstVar(op, c, x) => Instr::ConstVar(op, c, f(x)),
    }
}

/// An instruction over `count` existing nodes (at least one); never a constant when
/// `no_const`.
fn gen_instr(b: &mut Bytes, count: usize, no_const: bool) -> Instr {
    let kind = b.u8();
    let x = b.below(count) as u8;
    match kind % 16 {
        0 if !no_const => Instr::Const(b.pick(&CONSTANTS)),
        0..=5 => Instr::Unary(b.pick(&UNARY), x),
        6 => {
            let n = match b.u8() {
                250 => i32::MIN,
                251 => i32::MAX,
                252 => 1000,
                k => k as i32 % 9 - 4,
            };
            Instr::Powi(x, n)
        }
        7..=11 => Instr::Binary(b.pick(&BINARY), x, b.below(count) as u8),
        12 | 13 => Instr::VarConst(b.pick(&VAR_CONST), x, b.pick(&CONSTANTS)),
        _ => Instr::ConstVar(b.pick(&BINARY), b.pick(&CONSTANTS), x),
    }
}

/// Plain evaluation with what the checks need: values, local partials, a signature of
/// the branches and domain regions each op is in (a change between two points means
/// the function is not smooth between them), and magnitudes for rounding bounds.
struct Trace {
    values: Vec<f64>,
    /// `(argument, ∂node/∂argument)` of each node.
    partials: Vec<Vec<(usize, f64)>>,
    signature: Vec<i64>,
    /// Some partial towards a constant operand is NaN or infinite. The tape never
    /// multiplies it (a constant's tangent is zero and skipped), but dual numbers run
    /// through `Real` do, as `0 · ∞`.
    constant_partial_not_finite: bool,
}

fn sign(v: f64) -> i64 {
    if v.is_nan() {
        2
    } else if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

fn trace(flat: &[Instr], x: &[f64]) -> Trace {
    let mut values = x.to_vec();
    let mut partials: Vec<Vec<(usize, f64)>> = vec![Vec::new(); x.len()];
    let mut signature = Vec::new();
    let mut constant_partial_not_finite = false;
    for &instr in flat {
        let at = |i: u8| values[i as usize];
        let (y, p, sig) = match instr {
            Instr::Const(c) => (c, vec![], 0),
            Instr::Unary(op, a) => {
                let v = at(a);
                let y = op.eval_unary(v, 0);
                let sig = match op {
                    Op::Tan => (v / core::f64::consts::PI + 0.5).floor() as i64,
                    Op::Asin | Op::Acos | Op::Atanh => sign(1.0 - v.abs()),
                    Op::Acosh => sign(v - 1.0),
                    Op::Ln1p => sign(1.0 + v),
                    _ => sign(v),
                };
                (y, vec![(a as usize, op.unary_partial(v, y, 0))], sig)
            }
            Instr::Powi(a, n) => {
                let v = at(a);
                let y = Op::Powi.eval_unary(v, n);
                (
                    y,
                    vec![(a as usize, Op::Powi.unary_partial(v, y, n))],
                    sign(v),
                )
            }
            Instr::Binary(op, a, b) => {
                let (u, v) = (at(a), at(b));
                let y = op.eval_binary(u, v);
                let (pa, pb) = op.binary_partials(u, v, y);
                let sig = binary_signature(op, u, v);
                (y, vec![(a as usize, pa), (b as usize, pb)], sig)
            }
            Instr::VarConst(op, a, c) => {
                let u = at(a);
                let y = op.eval_binary(u, c);
                let sig = binary_signature(op, u, c);
                let (pa, pc) = op.binary_partials(u, c, y);
                constant_partial_not_finite |= !pc.is_finite();
                (y, vec![(a as usize, pa)], sig)
            }
            Instr::ConstVar(op, c, a) => {
                let v = at(a);
                let y = op.eval_binary(c, v);
                let sig = binary_signature(op, c, v);
                let (pc, pa) = op.binary_partials(c, v, y);
                constant_partial_not_finite |= !pc.is_finite();
                (y, vec![(a as usize, pa)], sig)
            }
        };
        values.push(y);
        partials.push(p);
        signature.push(sig);
    }
    Trace {
        values,
        partials,
        signature,
        constant_partial_not_finite,
    }
}

fn binary_signature(op: Op, a: f64, b: f64) -> i64 {
    match op {
        Op::Min | Op::Max => sign(a - b),
        Op::Atan2 => sign(a) * 4 + sign(b),
        Op::Div => sign(b),
        Op::Pow | Op::Powf => sign(a) * 4 + sign(b),
        // hypot's partials `a / h` and `b / h` flip sign with their argument, and when
        // both arguments cross zero together (`hypot(s, s)`), central differences see
        // `√2·|s|`, whose kink they average away: a sign change is a different branch.
        Op::Hypot => sign(a) * 4 + sign(b),
        _ => 0,
    }
}

impl Trace {
    fn finite(&self) -> bool {
        self.values.iter().all(|v| v.is_finite())
            && self.partials.iter().flatten().all(|(_, p)| p.is_finite())
    }

    /// `Σ over paths of |Π partials|` from input `i` to every node: what forward and
    /// reverse mode sum, in magnitude, so their rounding differs by a few ulps of it.
    fn forward_magnitudes(&self, n_inputs: usize, i: usize) -> Vec<f64> {
        let mut m = vec![0.0; self.values.len()];
        m[i] = 1.0;
        for node in n_inputs..self.values.len() {
            m[node] = self.partials[node]
                .iter()
                .map(|&(arg, p)| p.abs() * m[arg])
                .sum();
        }
        m
    }

    /// `Σ over paths of |Π partials|` from every node to output `out`: the sums of
    /// [`forward_magnitudes`](Trace::forward_magnitudes), taken in reverse mode's order.
    fn reverse_magnitudes(&self, out: usize) -> Vec<f64> {
        let mut adj = vec![0.0; self.values.len()];
        adj[out] = 1.0;
        for node in (0..=out).rev() {
            for &(arg, p) in &self.partials[node] {
                adj[arg] += p.abs() * adj[node];
            }
        }
        adj
    }

    /// For output `out`, `Σ over nodes of |value| · |∂out/∂node|` in magnitude: a first
    /// order bound (over ε) on the rounding error of `out`'s value.
    fn rounding_scale(&self, out: usize) -> f64 {
        self.reverse_magnitudes(out)
            .iter()
            .zip(&self.values)
            .map(|(adj, value)| value.abs() * adj)
            .sum()
    }
}

/// Equal bit for bit, or both NaN.
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Equal as numbers (`-0 == 0`), or both NaN.
fn same_num(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn new_mem() -> Vec<MaybeUninit<u8>> {
    vec![MaybeUninit::uninit(); MEM]
}

/// Records the flat program on a fresh tape at `x`; returns the flat nodes' handles.
fn record_flat(tape: &Tape<'_, f64>, flat: &[Instr], x: &[f64]) -> Vec<VarId> {
    let inputs: Vec<VarId> = x.iter().map(|&v| tape.input_id(v)).collect();
    Program::run_flat(&Rec(tape), flat, &inputs)
}

/// The gradient of `out` with respect to the inputs, or the error.
fn gradient(tape: &Tape<'_, f64>, out: VarId, n: usize) -> Result<Vec<f64>, Error> {
    let mut g = vec![f64::NAN; n];
    tape.gradient_into(out, &mut g)?;
    Ok(g)
}

/// Tangents of `outs` along each unit direction: `t[k][i] = ∂outs[k]/∂x_i`.
fn tangents(tape: &Tape<'_, f64>, outs: &[VarId], n: usize) -> Result<Vec<Vec<f64>>, Error> {
    let mut t = vec![vec![0.0; n]; outs.len()];
    for i in 0..n {
        let mut seeds = vec![0.0; n];
        seeds[i] = 1.0;
        tape.jvp(&seeds)?;
        for (row, &out) in t.iter_mut().zip(outs) {
            row[i] = tape.tangent(out)?;
        }
    }
    Ok(t)
}

fn assert_same_result(what: &str, a: &Result<Vec<f64>, Error>, b: &Result<Vec<f64>, Error>) {
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.len(), b.len());
            for (k, (&u, &v)) in a.iter().zip(b).enumerate() {
                assert!(same(u, v), "{what}[{k}]: {u:e} vs {v:e}");
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "{what}: different errors"),
        _ => panic!("{what}: {a:?} vs {b:?}"),
    }
}

/// Whether the wider step pair keeps every periodic op's argument within a fraction of
/// a period: `sin(x^27)` at `x ≈ 1.58` turns 25 radians across a step of 6e-6, and
/// central differences at any such step alias (two of them can even agree).
fn resolves_periods(flat: &[Instr], plus: &Trace, minus: &Trace) -> bool {
    flat.iter().all(|instr| match *instr {
        Instr::Unary(Op::Sin | Op::Cos | Op::Tan, a) => {
            (plus.values[a as usize] - minus.values[a as usize]).abs() <= 0.5
        }
        _ => true,
    })
}

/// Central finite difference of node `out` along input `i` with step `h`.
fn central_difference(
    flat: &[Instr],
    x: &[f64],
    i: usize,
    h: f64,
    out: usize,
) -> (f64, Trace, Trace) {
    let (mut xp, mut xm) = (x.to_vec(), x.to_vec());
    xp[i] = x[i] + h;
    xm[i] = x[i] - h;
    let (tp, tm) = (trace(flat, &xp), trace(flat, &xm));
    let fd = (tp.values[out] - tm.values[out]) / (xp[i] - xm[i]);
    (fd, tp, tm)
}

/// Reverse-mode `g[i]` against central differences at two steps, where the function is
/// smooth and finite around `x`. Returns whether the check ran.
fn check_finite_differences(
    flat: &[Instr],
    x: &[f64],
    base: &Trace,
    out: usize,
    g: &[f64],
) -> bool {
    let mut checked = false;
    for (i, &gi) in g.iter().enumerate() {
        let h = (2.0f64).powi(-18) * x[i].abs().max(1.0);
        let (fd1, p1, m1) = central_difference(flat, x, i, h, out);
        let (fd2, p2, m2) = central_difference(flat, x, i, h / 4.0, out);
        let smooth = [&p1, &m1, &p2, &m2].iter().all(|t| {
            t.signature == base.signature
                && t.values.iter().all(|v| v.is_finite() && v.abs() <= 1e6)
        }) && resolves_periods(flat, &p1, &m1);
        if !smooth || !gi.is_finite() {
            continue;
        }
        let richardson = (fd1 - fd2).abs();
        if richardson > 0.05 * fd2.abs().max(1e-3) {
            // Not converging at these steps: too close to a singularity to tell.
            continue;
        }
        let rounding = [&p1, &m1, &p2, &m2]
            .iter()
            .map(|t| t.rounding_scale(out))
            .fold(0.0, f64::max);
        let tol = 2.0 * richardson
            + 8.0 * EPS * rounding / (h / 4.0)
            + 1e-9 * (gi.abs() + fd2.abs())
            + 1e-12;
        assert!(
            (gi - fd2).abs() <= tol,
            "input {i}: reverse {gi:e} vs central differences {fd2:e} (h {h:e}: {fd1:e}), tol {tol:e}"
        );
        checked = true;
    }
    checked
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let kind = b.u8();
    let growth = (kind >= 0xc0).then(|| Growth::generate(&mut b));
    if kind % 4 == 3 {
        tensor_program(&mut b, growth);
    } else {
        scalar_program(&mut b, growth);
    }
});

fn scalar_program(b: &mut Bytes, growth: Option<Growth>) {
    let b = &mut *b;
    let program = Program::generate(b);
    let n = program.n_inputs;
    let x: Vec<f64> = (0..n).map(|_| b.input_f64()).collect();
    let x2: Vec<f64> = (0..n).map(|_| b.input_f64()).collect();
    let (flat, global) = program.flatten();
    let out_flat: Vec<usize> = program.outputs.iter().map(|&g| global[g]).collect();
    let out = *out_flat.last().expect("an output");
    if std::env::var_os("AD_FUZZ_DEBUG").is_some() {
        eprintln!("{program:#?}\nflat {flat:?}\nx {x:?}\nx2 {x2:?}");
    }

    // Plain evaluation and the recording agree on every value.
    let base = trace(&flat, &x);
    // A grown tape's derivatives at `x` are those of a fixed tape, bit for bit.
    let (mut mem, fixed_at_x) = TapeMemory::new(growth, MEM, |fixed| {
        let nodes = record_flat(fixed, &flat, &x);
        let outs: Vec<VarId> = out_flat.iter().map(|&k| nodes[k]).collect();
        let g = gradient(fixed, *outs.last().expect("an output"), n);
        let t = tangents(fixed, &outs, n).map(|t| t.concat());
        (fixed.len(), g, t)
    });
    let (arena, mut host) = mem.split();
    #[allow(unused_mut)] // `reset` takes `&mut self` in newer versions of the core.
    let mut tape = open(arena, host.as_mut());
    let nodes = record_flat(&tape, &flat, &x);
    tape.status().expect("recording a small program failed");
    assert_eq!(tape.num_inputs(), n);
    for (k, (&id, &v)) in nodes.iter().zip(&base.values).enumerate() {
        let recorded = tape.value(id).expect("value of a live node");
        assert!(
            same(recorded, v),
            "node {k}: tape {recorded:e} vs plain {v:e}"
        );
    }
    let outs: Vec<VarId> = out_flat.iter().map(|&k| nodes[k]).collect();
    let out_id = *outs.last().expect("an output");

    // Reverse mode; a non-finite output is refused.
    let g = gradient(&tape, out_id, n);
    if !base.values[out].is_finite() {
        assert!(
            matches!(g, Err(Error::NonFinite(_))),
            "non-finite output: {g:?}"
        );
    }
    // Forward mode over the tape, and dual numbers.
    let t = tangents(&tape, &outs, n);
    if let Some((_, fixed_g, fixed_t)) = &fixed_at_x {
        assert_same_result("gradient on a grown tape", &g, fixed_g);
        let t = t.clone().map(|t| t.concat());
        assert_same_result("tangents on a grown tape", &t, fixed_t);
    }
    if let (Ok(g), Ok(t)) = (&g, &t) {
        let t_out = t.last().expect("an output");
        let reverse = base.reverse_magnitudes(out);
        for i in 0..n {
            let dual_inputs: Vec<Dual<f64>> = (0..n)
                .map(|k| Dual::new(x[k], if k == i { 1.0 } else { 0.0 }))
                .collect();
            let dual = Program::run_flat(&Duals, &flat, &dual_inputs);
            if !base.finite() {
                continue;
            }
            let magnitude = base.forward_magnitudes(n, i)[out];
            let tol = 8.0 * (flat.len() as f64 + 2.0) * EPS * magnitude + f64::MIN_POSITIVE;
            if !magnitude.is_finite() {
                continue;
            }
            // Both sums take the same path products in opposite orders. Where they part
            // by more than rounding, a partial product underflowed (or overflowed) on one
            // way and not the other, and the two modes may part as much: `2/h` with `h`
            // near 1e111 under `hypot(2, ·)` takes reverse mode's adjoint below the
            // smallest subnormal (5.8e-334 → 0) while forward mode keeps -6e-220.
            if !(reverse[i] <= 2.0 * magnitude && magnitude <= 2.0 * reverse[i]) {
                continue;
            }
            assert!(
                (g[i] - t_out[i]).abs() <= tol,
                "input {i}: reverse {:e} vs forward {:e} (tol {tol:e})",
                g[i],
                t_out[i]
            );
            assert!(
                base.constant_partial_not_finite || (dual[out].tangent - t_out[i]).abs() <= tol,
                "input {i}: dual {:e} vs forward {:e} (tol {tol:e})",
                dual[out].tangent,
                t_out[i]
            );
            assert!(same(dual[out].value, base.values[out]));
        }
        if base.finite() {
            check_finite_differences(&flat, &x, &base, out, g);
        }
    }

    // Jacobians: by rows, each row is that output's gradient; by columns, each column
    // that direction's tangents.
    let m = outs.len();
    let mut rows = vec![f64::NAN; m * n];
    let rows_result = tape.jacobian_rows(&outs, &mut rows);
    let per_output: Vec<Result<Vec<f64>, Error>> =
        outs.iter().map(|&o| gradient(&tape, o, n)).collect();
    match &rows_result {
        Ok(()) => {
            for (k, row) in per_output.iter().enumerate() {
                let row = row
                    .as_ref()
                    .expect("gradient of a row the Jacobian computed");
                for i in 0..n {
                    assert!(same(rows[k * n + i], row[i]), "jacobian row {k} col {i}");
                }
            }
        }
        Err(e) => assert!(
            per_output.iter().any(|r| r.as_ref().err() == Some(e)),
            "jacobian_rows failed with {e:?} where every gradient succeeded"
        ),
    }
    let mut cols = vec![f64::NAN; m * n];
    let cols_result = match growth {
        None => tape.jacobian_columns::<3>(&outs, &mut cols),
        Some(_) => tape.jacobian_columns::<GROWN_DIRECTIONS>(&outs, &mut cols),
    };
    match (&cols_result, &t) {
        (Ok(()), Ok(t)) => {
            for k in 0..m {
                for i in 0..n {
                    assert!(
                        same_num(cols[k * n + i], t[k][i]) || !base.finite(),
                        "jacobian column {i} row {k}: {:e} vs jvp {:e}",
                        cols[k * n + i],
                        t[k][i]
                    );
                }
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("jacobian_columns {a:?} vs jvp {b:?}"),
    }

    // Replay at x2 against a fresh recording at x2.
    let mut mem2 = new_mem();
    let fresh = Tape::<f64>::new(&mut mem2).expect("tape");
    let fresh_nodes = record_flat(&fresh, &flat, &x2);
    // (A grown tape may have more records: constants that found no room in its arena.)
    let fixed_len = fixed_at_x.as_ref().map_or(tape.len(), |&(len, ..)| len);
    assert_eq!(
        fresh.len(),
        fixed_len,
        "recording depends on the input values"
    );
    tape.replay(&x2).expect("replay");
    for (k, (&a, &bb)) in nodes.iter().zip(&fresh_nodes).enumerate() {
        let (u, v) = (
            tape.value(a).expect("value"),
            fresh.value(bb).expect("value"),
        );
        assert!(same(u, v), "node {k}: replayed {u:e} vs fresh {v:e}");
    }
    let fresh_out = fresh_nodes[out];
    let fresh_outs: Vec<VarId> = out_flat.iter().map(|&k| fresh_nodes[k]).collect();
    assert_same_result(
        "gradient after replay",
        &gradient(&tape, out_id, n),
        &gradient(&fresh, fresh_out, n),
    );
    let t_replayed = tangents(&tape, &outs, n);
    let t_fresh = tangents(&fresh, &fresh_outs, n);
    assert_same_result(
        "tangents after replay",
        &t_replayed.map(|t| t.concat()),
        &t_fresh.map(|t| t.concat()),
    );

    // The same tape, reset, records again at x2 exactly as a fresh one.
    tape.reset();
    let again = record_flat(&tape, &flat, &x2);
    assert_same_result(
        "gradient after reset",
        &gradient(&tape, again[out], n),
        &gradient(&fresh, fresh_out, n),
    );

    // The block as a checkpointed segment: the same values and gradients, bit for bit,
    // at x and, replayed, at x2.
    if program.block.is_some() {
        let (mut mem3, _) =
            TapeMemory::new(growth, MEM, |fixed| program.record_checkpointed(fixed, &x));
        let (arena, mut host) = mem3.split();
        let seg = open(arena, host.as_mut());
        let mut mem4 = new_mem();
        let inline = Tape::<f64>::new(&mut mem4).expect("tape");
        let inline_nodes = record_flat(&inline, &flat, &x);
        let seg_nodes = program
            .record_checkpointed(&seg, &x)
            .unwrap_or_else(|e| panic!("checkpoint failed: {e:?}"));
        for (gk, &fk) in global.iter().enumerate() {
            let (u, v) = (
                seg.value(seg_nodes[gk]).expect("value"),
                inline.value(inline_nodes[fk]).expect("value"),
            );
            assert!(
                same(u, v),
                "global node {gk}: segment {u:e} vs inline {v:e}"
            );
        }
        let seg_out = seg_nodes[*program.outputs.last().expect("an output")];
        assert_same_result(
            "gradient through a segment",
            &gradient(&seg, seg_out, n),
            &gradient(&inline, inline_nodes[out], n),
        );
        seg.replay(&x2).expect("replay through a segment");
        for (gk, &fk) in global.iter().enumerate() {
            let (u, v) = (
                seg.value(seg_nodes[gk]).expect("value"),
                fresh.value(fresh_nodes[fk]).expect("value"),
            );
            assert!(
                same(u, v),
                "global node {gk}: replayed segment {u:e} vs fresh {v:e}"
            );
        }
        assert_same_result(
            "gradient through a replayed segment",
            &gradient(&seg, seg_out, n),
            &gradient(&fresh, fresh_out, n),
        );
    }
}

// ---- small tensor programs ----

/// One op of a tensor program; arguments are earlier nodes (inputs first).
#[derive(Clone, Copy, Debug)]
enum TensorOp {
    Add(usize, usize),
    Sub(usize, usize),
    Mul(usize, usize),
    Scale(usize, f64),
    Act(usize, Activation),
    SumAxis(usize, usize),
    MeanAxis(usize, usize),
    Matmul(usize, usize, bool, bool),
    Softmax(usize),
    LogSoftmax(usize),
    Transpose(usize),
    Flatten(usize),
    Mse(usize, usize),
    Mean(usize),
}

/// Smooth activations only: the finite differences need no kinks.
const SMOOTH: [Activation; 5] = [
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Square,
    Activation::Gelu,
    Activation::Identity,
];

/// numpy broadcasting of two shapes, if they broadcast.
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for k in 0..rank {
        let da = if k < rank - a.len() {
            1
        } else {
            a[k - (rank - a.len())]
        };
        let db = if k < rank - b.len() {
            1
        } else {
            b[k - (rank - b.len())]
        };
        out[k] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

struct TensorProgram {
    inputs: Vec<Vec<usize>>,
    ops: Vec<TensorOp>,
    /// Constant records after each op: on a grown tape, they make the records outgrow
    /// the arena, which keeps room for the buffers that backward and the tangents take
    /// later, and move again while the op's tensors point into them.
    padding: usize,
}

impl TensorProgram {
    fn generate(b: &mut Bytes) -> TensorProgram {
        let shapes_menu: [&[usize]; 8] =
            [&[], &[3], &[2, 3], &[3, 2], &[1, 3], &[2], &[3, 1], &[2, 2]];
        let n_inputs = 1 + b.below(2);
        let mut shapes: Vec<Vec<usize>> = (0..n_inputs)
            .map(|_| b.pick(&shapes_menu).to_vec())
            .collect();
        let inputs = shapes.clone();
        let mut ops = Vec::new();
        for _ in 0..1 + b.below(6) {
            let n = shapes.len();
            let a = b.below(n);
            let other = b.below(n);
            let sa = shapes[a].clone();
            let (op, shape) = match b.u8() % 14 {
                k @ 0..=2 => match broadcast(&sa, &shapes[other]) {
                    Some(out) => (
                        [
                            TensorOp::Add(a, other),
                            TensorOp::Sub(a, other),
                            TensorOp::Mul(a, other),
                        ][k as usize],
                        out,
                    ),
                    None => (TensorOp::Mul(a, a), sa),
                },
                3 => (TensorOp::Scale(a, b.pick(&[0.5, -2.0, 0.25, 3.0])), sa),
                4 | 5 => (TensorOp::Act(a, b.pick(&SMOOTH)), sa),
                6 | 7 if !sa.is_empty() => {
                    let axis = b.below(sa.len());
                    let mut out = sa.clone();
                    out.remove(axis);
                    if b.bool() {
                        (TensorOp::SumAxis(a, axis), out)
                    } else {
                        (TensorOp::MeanAxis(a, axis), out)
                    }
                }
                8 if sa.len() == 2 => {
                    let (ta, tb) = (b.bool(), b.bool());
                    let (m, k) = if ta { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
                    // A second operand whose (maybe transposed) rows are k.
                    let found = (0..n).find(|&j| {
                        let s = &shapes[(other + j) % n];
                        s.len() == 2 && (if tb { s[1] } else { s[0] }) == k
                    });
                    match found {
                        Some(j) => {
                            let j = (other + j) % n;
                            let cols = if tb { shapes[j][0] } else { shapes[j][1] };
                            (TensorOp::Matmul(a, j, ta, tb), vec![m, cols])
                        }
                        None => (TensorOp::Act(a, Activation::Tanh), sa),
                    }
                }
                9 if !sa.is_empty() => (TensorOp::Softmax(a), sa),
                10 if !sa.is_empty() => (TensorOp::LogSoftmax(a), sa),
                11 if sa.len() == 2 => (TensorOp::Transpose(a), vec![sa[1], sa[0]]),
                12 => (TensorOp::Flatten(a), vec![sa.iter().product()]),
                13 if shapes[other] == sa => (TensorOp::Mse(a, other), vec![]),
                _ => (TensorOp::Mean(a), vec![]),
            };
            ops.push(op);
            shapes.push(shape);
        }
        TensorProgram {
            inputs,
            ops,
            padding: 0,
        }
    }

    /// Records the program on `tape` from input data; returns every node and the loss
    /// (the sum of the last node, as a variable).
    fn record(&self, tape: &Tape<'_, f64>, data: &[Vec<f64>]) -> (Vec<TensorId>, VarId) {
        let mut nodes: Vec<TensorId> = self
            .inputs
            .iter()
            .zip(data)
            .map(|(dims, d)| tape.tensor_input(dims, d))
            .collect();
        for &op in &self.ops {
            let id = match op {
                TensorOp::Add(a, c) => tape.tensor_add(nodes[a], nodes[c]),
                TensorOp::Sub(a, c) => tape.tensor_sub(nodes[a], nodes[c]),
                TensorOp::Mul(a, c) => tape.tensor_mul(nodes[a], nodes[c]),
                TensorOp::Scale(a, c) => tape.scale(nodes[a], c),
                TensorOp::Act(a, act) => tape.activation(nodes[a], act),
                TensorOp::SumAxis(a, axis) => tape.sum_axis(nodes[a], axis),
                TensorOp::MeanAxis(a, axis) => tape.mean_axis(nodes[a], axis),
                TensorOp::Matmul(a, c, ta, tb) => tape.matmul_t(nodes[a], nodes[c], ta, tb),
                TensorOp::Softmax(a) => tape.softmax(nodes[a]),
                TensorOp::LogSoftmax(a) => tape.log_softmax(nodes[a]),
                TensorOp::Transpose(a) => tape.transpose(nodes[a]),
                TensorOp::Flatten(a) => {
                    let n = tape
                        .tensor_shape(nodes[a])
                        .map_or(0, |s| s.dims().iter().map(|&d| d as usize).product());
                    tape.reshape(nodes[a], &[n])
                }
                TensorOp::Mse(a, c) => tape.mse(nodes[a], nodes[c]),
                TensorOp::Mean(a) => tape.mean(nodes[a]),
            };
            nodes.push(id);
            for k in 0..self.padding {
                tape.constant_id(k as f64 + 2.0);
            }
        }
        let loss = tape.sum(*nodes.last().expect("a node")).as_var();
        (nodes, loss)
    }

    /// The loss at `data`, recorded afresh.
    fn loss_at(&self, data: &[Vec<f64>]) -> f64 {
        let mut mem = new_mem();
        let tape = Tape::<f64>::new(&mut mem).expect("tape");
        let (_, loss) = self.record(&tape, data);
        tape.value(loss).unwrap_or(f64::NAN)
    }
}

/// Backward from `loss`, then the gradients of `inputs` (of shapes `dims`), flattened.
fn tensor_gradients(
    tape: &Tape<'_, f64>,
    loss: VarId,
    inputs: &[TensorId],
    dims: &[Vec<usize>],
) -> Result<Vec<f64>, Error> {
    tape.backward(loss)?;
    let mut all = Vec::new();
    for (&id, d) in inputs.iter().zip(dims) {
        let mut g = vec![f64::NAN; elements_of(d)];
        tape.tensor_grad(id, &mut g)?;
        all.extend(g);
    }
    Ok(all)
}

fn elements_of(dims: &[usize]) -> usize {
    dims.iter().product()
}

fn tensor_program(b: &mut Bytes, growth: Option<Growth>) {
    let padding = growth.map_or(0, |_| b.below(17));
    let program = TensorProgram {
        padding,
        ..TensorProgram::generate(b)
    };
    let data: Vec<Vec<f64>> = program
        .inputs
        .iter()
        .map(|dims| {
            (0..elements_of(dims))
                .map(|_| b.input_f64() / 2.0)
                .collect()
        })
        .collect();
    let data2: Vec<Vec<f64>> = data
        .iter()
        .map(|d| d.iter().map(|_| b.input_f64() / 2.0).collect())
        .collect();
    let direction: Vec<Vec<f64>> = data
        .iter()
        .map(|d| d.iter().map(|_| b.input_f64()).collect())
        .collect();
    if std::env::var_os("AD_FUZZ_DEBUG").is_some() {
        eprintln!(
            "{:?}\n{:?}\ndata {data:?}\ndata2 {data2:?}",
            program.inputs, program.ops
        );
    }

    let n_inputs = program.inputs.len();
    // A grown tape's value, gradients and tangent at `data` are those of a fixed tape,
    // bit for bit.
    let (mut mem, fixed_at_data) = TapeMemory::new(growth, MEM, |fixed| {
        let (nodes, loss) = program.record(fixed, &data);
        let value = fixed.value(loss);
        let grads = tensor_gradients(fixed, loss, &nodes[..n_inputs], &program.inputs);
        for (k, d) in direction.iter().enumerate() {
            fixed.seed_tensor_tangent(nodes[k], d).expect("seed");
        }
        let tangent = fixed.jvp(&[]).and_then(|()| fixed.tangent(loss));
        (value, grads, tangent)
    });
    let (arena, mut host) = mem.split();
    #[allow(unused_mut)] // `reset` takes `&mut self` in newer versions of the core.
    let mut tape = open(arena, host.as_mut());
    let (nodes, loss) = program.record(&tape, &data);
    tape.status()
        .unwrap_or_else(|e| panic!("a shape-checked program failed: {e:?}"));
    let value = tape.value(loss).expect("loss");
    if let Some((fixed_value, fixed_grads, _)) = &fixed_at_data {
        let fixed_value = fixed_value.expect("the loss of a fixed tape");
        assert!(
            same(value, fixed_value),
            "loss on a grown tape {value:e} vs fixed {fixed_value:e}"
        );
        let grads = tensor_gradients(&tape, loss, &nodes[..n_inputs], &program.inputs);
        assert_same_result("tensor gradients on a grown tape", &grads, fixed_grads);
    }
    if !value.is_finite() {
        return;
    }
    tape.backward(loss).expect("backward");
    let grads: Vec<Vec<f64>> = program
        .inputs
        .iter()
        .enumerate()
        .map(|(k, dims)| {
            let mut g = vec![f64::NAN; elements_of(dims)];
            tape.tensor_grad(nodes[k], &mut g).expect("input gradient");
            g
        })
        .collect();
    // Magnitudes: the largest value and adjoint of any node, for rounding bounds.
    let mut vmax: f64 = 1.0;
    let mut amax: f64 = 1.0;
    for &id in &nodes {
        let n = tape
            .tensor_shape(id)
            .map_or(0, |s| s.dims().iter().map(|&d| d as usize).product());
        let mut out = vec![0.0; n];
        if tape.tensor_value(id, &mut out).is_ok() {
            vmax = out.iter().fold(vmax, |m, v| m.max(v.abs()));
        }
        if tape.tensor_grad(id, &mut out).is_ok() {
            amax = out.iter().fold(amax, |m, v| m.max(v.abs()));
        }
    }
    if !(vmax.is_finite() && amax.is_finite()) || vmax > 1e6 || amax > 1e6 {
        return;
    }
    let depth = program.ops.len() as f64 + 2.0;

    // Reverse mode against central differences on each input element.
    for (k, dims) in program.inputs.iter().enumerate() {
        for e in 0..elements_of(dims) {
            let at = |h: f64| {
                let mut d = data.clone();
                d[k][e] += h;
                program.loss_at(&d)
            };
            let x = data[k][e];
            let h = (2.0f64).powi(-18) * x.abs().max(1.0);
            let fd1 = (at(h) - at(-h)) / (2.0 * h);
            let fd2 = (at(h / 4.0) - at(-h / 4.0)) / (h / 2.0);
            let g = grads[k][e];
            if !(fd1.is_finite() && fd2.is_finite()) {
                continue;
            }
            let richardson = (fd1 - fd2).abs();
            if richardson > 0.05 * fd2.abs().max(1e-3) {
                continue;
            }
            let rounding = 64.0 * depth * EPS * vmax * 16.0 / (h / 4.0);
            let tol = 2.0 * richardson + rounding + 1e-8 * (g.abs() + fd2.abs()) + 1e-12;
            assert!(
                (g - fd2).abs() <= tol,
                "input {k}[{e}]: reverse {g:e} vs central differences {fd2:e} ({fd1:e}), tol {tol:e}"
            );
        }
    }

    // Forward mode: seeded tangents on every input against the gradient along them.
    let seeded = direction
        .iter()
        .enumerate()
        .try_for_each(|(k, d)| tape.seed_tensor_tangent(nodes[k], d))
        .and_then(|()| tape.jvp(&[]));
    match seeded {
        // The tangents take arena memory that neither `used_bytes` nor the reserve
        // counts, which a grown tape's arena, sized from those, may lack.
        Err(Error::OutOfMemory { .. }) if growth.is_some() => return,
        result => result.expect("seeds and jvp"),
    }
    let t = tape.tangent(loss).expect("tangent of the loss");
    if let Some((_, _, fixed_tangent)) = &fixed_at_data {
        assert_same_result(
            "tangent on a grown tape",
            &Ok(vec![t]),
            &fixed_tangent.map(|t| vec![t]),
        );
    }
    let along: f64 = grads
        .iter()
        .flatten()
        .zip(direction.iter().flatten())
        .map(|(g, d)| g * d)
        .sum();
    let dmax = direction
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let n_dir = direction.iter().flatten().count() as f64;
    let tol = 256.0 * depth * EPS * vmax * amax * dmax * n_dir.max(1.0) * 4.0 + 1e-300;
    assert!(
        (t - along).abs() <= tol,
        "jvp {t:e} vs gradient along the seeds {along:e} (tol {tol:e})"
    );
    // Replay at new input values against a fresh recording there, bit for bit.
    for (k, d) in data2.iter().enumerate() {
        tape.set_tensor_value(nodes[k], d).expect("set value");
    }
    tape.replay(&[]).expect("replay");
    let mut mem2 = new_mem();
    let fresh = Tape::<f64>::new(&mut mem2).expect("tape");
    let (fresh_nodes, fresh_loss) = program.record(&fresh, &data2);
    let (u, v) = (
        tape.value(loss).expect("loss"),
        fresh.value(fresh_loss).expect("loss"),
    );
    assert!(same(u, v), "replayed loss {u:e} vs fresh {v:e}");
    let (r1, r2) = (tape.backward(loss), fresh.backward(fresh_loss));
    assert_eq!(
        r1.is_ok(),
        r2.is_ok(),
        "backward after replay {r1:?} vs fresh {r2:?}"
    );
    if r1.is_ok() {
        for (k, dims) in program.inputs.iter().enumerate() {
            let n = elements_of(dims);
            let (mut g1, mut g2) = (vec![0.0; n], vec![0.0; n]);
            tape.tensor_grad(nodes[k], &mut g1).expect("grad");
            fresh.tensor_grad(fresh_nodes[k], &mut g2).expect("grad");
            for e in 0..n {
                assert!(
                    same(g1[e], g2[e]),
                    "input {k}[{e}] after replay: {:e} vs fresh {:e}",
                    g1[e],
                    g2[e]
                );
            }
        }
    }

    // A reset tape records again exactly as a fresh one.
    tape.reset();
    let (again, again_loss) = program.record(&tape, &data2);
    assert!(
        same(tape.value(again_loss).expect("loss"), v),
        "loss after reset"
    );
    assert_same_result(
        "tensor gradient after reset",
        &tensor_gradients(
            &tape,
            again_loss,
            &again[..program.inputs.len()],
            &program.inputs,
        ),
        &tensor_gradients(
            &fresh,
            fresh_loss,
            &fresh_nodes[..program.inputs.len()],
            &program.inputs,
        ),
    );
}
