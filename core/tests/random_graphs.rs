//! Seeded random expression graphs with shared subexpressions. On each, every way the
//! tape offers to differentiate agrees: reverse gradients, forward tangents, Jacobians by
//! rows and by columns, and central finite differences; and `replay` at new inputs gives
//! bit for bit what recording from scratch at those inputs gives.

mod common;

use autodiff_core::{Op, Tape, VarId};
use common::{assert_close, Rng, H};

#[path = "common/random_program.rs"]
mod random_program;
use random_program::{Instr, Program};

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
    // On an f64 tape a constant `f32` holds goes inside the record, any other beside it.
    let form = |c: f64, inline: Op, wide: Op| if c as f32 as f64 == c { inline } else { wide };
    match *instr {
        Instr::VarConst(Op::Add | Op::Sub, _, c) | Instr::ConstVar(Op::Add, c, _) => {
            Some(form(c, Op::AddConst, Op::AddWide))
        }
        Instr::VarConst(Op::Mul, _, c) | Instr::ConstVar(Op::Mul, c, _) => {
            Some(form(c, Op::MulConst, Op::MulWide))
        }
        Instr::VarConst(Op::Div, _, c) => Some(form(c, Op::DivConst, Op::DivWide)),
        Instr::ConstVar(Op::Sub, c, _) => Some(form(c, Op::ConstSub, Op::WideSub)),
        Instr::ConstVar(Op::Div, c, _) => Some(form(c, Op::ConstDiv, Op::WideDiv)),
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
        // `Copy` only appears past 2^26 records (tests/large_tapes.rs covers it).
        if !matches!(op, Op::Input | Op::Tensor | Op::Copy) {
            assert!(ops_seen.contains(op.name()), "no graph used {}", op.name());
        }
    }
    assert!(ops_seen.contains("constant op var"));
}
