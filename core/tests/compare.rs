//! Recorded comparisons, selections and branch-change detection: a replay either gives
//! what a fresh recording at the same inputs gives, bit for bit, or reports that a host
//! branch would now go the other way. Never a silent mismatch.

mod common;

use autodiff_core::checkpoint::segment_fn;
use autodiff_core::{Cmp, Error, Tape, Var, VarId};
use common::{assert_close, central_difference, Rng};
use core::mem::MaybeUninit;

fn memory() -> Vec<MaybeUninit<u8>> {
    vec![MaybeUninit::uninit(); 1 << 14]
}

#[test]
fn every_relation_records_its_ieee_outcome_against_variables_and_constants() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let samples = [-1.5, 0.0, -0.0, 2.0, f64::NAN, f64::INFINITY];
    for cmp in Cmp::ALL {
        for &a in &samples {
            for &b in &samples {
                let want = match cmp {
                    Cmp::Lt => a < b,
                    Cmp::Le => a <= b,
                    Cmp::Gt => a > b,
                    Cmp::Ge => a >= b,
                    Cmp::Eq => a == b,
                    Cmp::Ne => a != b,
                };
                let (x, y) = (tape.input(a), tape.input(b));
                let both = x.compare(cmp, y);
                let constant = x.compare_const(cmp, b);
                let what = format!("{a} {} {b}", cmp.symbol());
                assert_eq!(both.value(), f64::from(u8::from(want)), "{what}");
                assert_eq!(
                    constant.value(),
                    f64::from(u8::from(want)),
                    "{what} (constant)"
                );
                assert_eq!(both.branch(), want, "{what}");
                tape.reset();
            }
        }
    }
    assert_eq!(Cmp::from_code(6), None);
}

#[test]
fn no_derivative_flows_through_a_comparison() {
    let mut mem = memory();
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(1.5);
    let y = x.compare_const(Cmp::Gt, 1.0) * x;
    let grads = tape.gradient(y).unwrap();
    assert_eq!(grads.wrt(x), 1.0);
    tape.jvp(&[1.0]).unwrap();
    assert_eq!(tape.tangent(y.id()).unwrap(), 1.0);
}

/// `|x|` written as a host branch, and as a selection.
fn abs_by_branch<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
    if x.compare_const(Cmp::Gt, 0.0).branch() {
        x * x
    } else {
        -x
    }
}

fn abs_by_select<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
    x.compare_const(Cmp::Gt, 0.0).select(x * x, -x)
}

#[test]
fn replay_across_a_host_branch_reports_the_change_and_refuses_the_gradient() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(2.0).id();
    let y = abs_by_branch(Var::from_id(&tape, x)).id();
    tape.backward(y).unwrap();
    assert_eq!(tape.grad(x), Ok(4.0));

    // The same side: fine.
    tape.replay(&[5.0]).unwrap();
    assert_eq!(tape.value(y), Ok(25.0));
    // The other side: reported, and sticky.
    let changed = Error::BranchChanged {
        changed: 1,
        first: 0,
    };
    assert_eq!(tape.replay(&[-3.0]), Err(changed));
    assert_eq!(tape.status(), Err(changed));
    assert_eq!(tape.backward(y), Err(changed));
    assert_eq!(tape.jvp(&[1.0]), Err(changed));
    assert_eq!(tape.replay(&[2.0]), Err(changed));
    assert!(changed.to_string().contains("record again"));

    tape.reset();
    let x = tape.input(-3.0);
    let y = abs_by_branch(x);
    assert_eq!(y.value(), 3.0);
    assert_eq!(tape.gradient(y).unwrap().wrt(x), -1.0);
}

#[test]
fn a_selection_is_right_on_both_sides_after_replay() {
    let mut mem = memory();
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(2.0);
    let y = abs_by_select(x);
    for at in [2.0, -3.0, 0.5, 0.0, -0.25, 7.0] {
        tape.replay(&[at]).unwrap();
        let want = if at > 0.0 { at * at } else { -at };
        let slope = if at > 0.0 { 2.0 * at } else { -1.0 };
        assert_eq!(y.value(), want, "value at {at}");
        tape.backward(y.id()).unwrap();
        assert_eq!(x.grad(), slope, "gradient at {at}");
        tape.jvp(&[1.0]).unwrap();
        assert_eq!(tape.tangent(y.id()), Ok(slope), "tangent at {at}");
    }
}

#[test]
fn branch_refuses_what_is_not_a_live_comparison() {
    let mut mem = memory();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(1.0);
    assert!(!x.branch());
    assert!(matches!(tape.status(), Err(Error::InvalidArgument(_))));
    tape.reset();
    let stale: VarId = tape.input(1.0).compare_const(Cmp::Lt, 2.0).id();
    tape.reset();
    assert!(!tape.branch(stale));
    assert_eq!(tape.status(), Err(Error::StaleHandle));
    tape.reset();
    let x = tape.input(1.0).id();
    assert_eq!(tape.select_id(x, x, VarId::INVALID), VarId::INVALID);
    assert_eq!(tape.status(), Err(Error::ForeignHandle));
    tape.reset();
    assert_eq!(tape.len(), 0);
}

#[test]
fn a_selection_that_runs_out_of_memory_fails_like_any_op() {
    // An input and a comparison (a record and a 32-byte node) fit, whatever the
    // alignment; the selection (a record and a 24-byte node) does not.
    let mut mem = vec![MaybeUninit::uninit(); Tape::<f64>::bytes_per_record() * 2 + 48];
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input_id(1.0);
    let c = tape.compare_id(Cmp::Lt, x, x);
    assert!(c.is_valid());
    assert_eq!(tape.select_id(c, x, x), VarId::INVALID);
    assert!(matches!(tape.status(), Err(Error::OutOfMemory { .. })));
    tape.reset();
    assert!(tape.status().is_ok());
}

#[test]
fn selections_inside_a_checkpointed_segment_give_the_unmarked_gradient_bitwise() {
    let (mut mem_a, mut mem_b) = (memory(), memory());
    let marked = Tape::<f64>::new(&mut mem_a).unwrap();
    let x = marked.input_id(0.7);
    let mut out = [VarId::INVALID];
    let block = segment_fn(
        |tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]| {
            outputs[0] = abs_by_select(Var::from_id(tape, inputs[0])).sin().id();
        },
    );
    marked.checkpoint(block, &[x], &mut out).unwrap();
    let plain = Tape::<f64>::new(&mut mem_b).unwrap();
    let px = plain.input(0.7);
    let plain_out = abs_by_select(px).sin();
    for at in [0.7, -1.3] {
        marked.replay(&[at]).unwrap();
        plain.replay(&[at]).unwrap();
        marked.backward(out[0]).unwrap();
        plain.backward(plain_out.id()).unwrap();
        assert_eq!(
            marked.grad(x).unwrap().to_bits(),
            px.grad().to_bits(),
            "at {at}"
        );
    }
}

#[test]
fn jacobians_by_rows_work_on_tapes_with_comparisons_and_by_columns_are_refused() {
    let mut mem = memory();
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(-2.0);
    let y = abs_by_select(x);
    let mut j = [0.0];
    tape.jacobian_rows(&[y.id()], &mut j).unwrap();
    assert_eq!(j, [-1.0]);
    assert!(matches!(
        tape.jacobian_columns::<2>(&[y.id()], &mut j),
        Err(Error::InvalidArgument(_))
    ));
}

// ---- seeded random programs with branches ----

const PROGRAMS: usize = if cfg!(miri) { 3 } else { 400 };
const INPUTS: usize = 3;

/// One step of a generated program; each makes one new node from earlier ones.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// `f(a, b)` for the menu entry `f`.
    Op { f: usize, a: usize, b: usize },
    /// `if a ⋈ rhs { f(a, b) } else { g(a, b) }`, a host branch.
    Branch(Choice),
    /// The same, as a selection: both sides recorded.
    Select(Choice),
}

#[derive(Clone, Copy, Debug)]
struct Choice {
    cmp: Cmp,
    a: usize,
    /// Compared with node `rhs`, or with the constant when there is one.
    rhs: usize,
    constant: Option<f64>,
    then: usize,
    otherwise: usize,
    b: usize,
}

/// Bounded two-argument functions: node values stay within a few units.
fn apply<'t>(f: usize, a: Var<'t, f64>, b: Var<'t, f64>) -> Var<'t, f64> {
    match f {
        0 => (a * b).tanh(),
        1 => a.sin() + b.cos(),
        2 => (a - b).tanh() * 2.0,
        3 => a * 0.5 + b.sin(),
        4 => (a * a + 1.0).ln() - b * 0.25,
        _ => a.atan() * b.tanh(),
    }
}
const FUNCTIONS: usize = 6;

fn generate(rng: &mut Rng) -> Vec<Step> {
    let length = rng.below(3, 12);
    (0..length)
        .map(|k| {
            let nodes = INPUTS + k;
            let choice = |rng: &mut Rng| Choice {
                cmp: Cmp::ALL[rng.below(0, 6)],
                a: rng.below(0, nodes),
                rhs: rng.below(0, nodes),
                constant: (rng.below(0, 2) == 0).then(|| rng.uniform(-1.0, 1.0)),
                then: rng.below(0, FUNCTIONS),
                otherwise: rng.below(0, FUNCTIONS),
                b: rng.below(0, nodes),
            };
            match rng.below(0, 3) {
                0 => Step::Op {
                    f: rng.below(0, FUNCTIONS),
                    a: rng.below(0, nodes),
                    b: rng.below(0, nodes),
                },
                1 => Step::Branch(choice(rng)),
                _ => Step::Select(choice(rng)),
            }
        })
        .collect()
}

/// A host branch the program took: the comparison's position among all recorded
/// comparisons, and which way it went.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Taken {
    comparison: usize,
    outcome: bool,
}

/// Records `program` at `inputs`; returns its output and the host branches taken.
fn record<'t>(
    tape: &'t Tape<'t, f64>,
    program: &[Step],
    inputs: &[f64],
) -> (Var<'t, f64>, Vec<Taken>) {
    let mut nodes: Vec<Var<'t, f64>> = inputs.iter().map(|&x| tape.input(x)).collect();
    let (mut path, mut comparisons) = (Vec::new(), 0);
    let mut condition = |nodes: &[Var<'t, f64>], c: &Choice| {
        comparisons += 1;
        let cond = match c.constant {
            Some(constant) => nodes[c.a].compare_const(c.cmp, constant),
            None => nodes[c.a].compare(c.cmp, nodes[c.rhs]),
        };
        (cond, comparisons - 1)
    };
    for step in program {
        let node = match *step {
            Step::Op { f, a, b } => apply(f, nodes[a], nodes[b]),
            Step::Branch(c) => {
                let (cond, comparison) = condition(&nodes, &c);
                let outcome = cond.branch();
                path.push(Taken {
                    comparison,
                    outcome,
                });
                let f = if outcome { c.then } else { c.otherwise };
                apply(f, nodes[c.a], nodes[c.b])
            }
            Step::Select(c) => {
                let (cond, _) = condition(&nodes, &c);
                let then = apply(c.then, nodes[c.a], nodes[c.b]);
                let otherwise = apply(c.otherwise, nodes[c.a], nodes[c.b]);
                cond.select(then, otherwise)
            }
        };
        nodes.push(node);
    }
    // Sum the last nodes so that the output depends on several paths.
    let output = nodes
        .iter()
        .rev()
        .take(3)
        .fold(tape.constant(0.0), |s, &v| s + v);
    (output, path)
}

fn gradient(tape: &Tape<'_, f64>, output: Var<'_, f64>) -> Vec<f64> {
    let mut g = vec![0.0; INPUTS];
    tape.gradient_into(output.id(), &mut g).unwrap();
    g
}

#[test]
fn replay_of_random_branchy_programs_matches_a_fresh_recording_or_reports_the_change() {
    let mut rng = Rng::seeded("branchy programs");
    let (mut same_path, mut changed_path, mut branch_free) = (0, 0, 0);
    for case in 0..PROGRAMS {
        let program = generate(&mut rng);
        let x0: Vec<f64> = (0..INPUTS).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let x1: Vec<f64> = (0..INPUTS).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let ctx = format!("case {case}: {program:?} at {x0:?} then {x1:?}");

        let (mut mem_a, mut mem_b) = (memory(), memory());
        let replayed = Tape::<f64>::new(&mut mem_a).unwrap();
        let fresh = Tape::<f64>::new(&mut mem_b).unwrap();
        let (out_a, path_a) = record(&replayed, &program, &x0);
        let (out_b, path_b) = record(&fresh, &program, &x1);
        let want = gradient(&fresh, out_b);

        // The fresh recording's gradient against central differences, through
        // selections and branches alike (a comparison within h of its switch is
        // improbable enough at random points). Too slow for Miri, which checks memory.
        for (k, &g) in want.iter().enumerate().filter(|_| !cfg!(miri)) {
            let numeric = central_difference(
                |t| {
                    let mut x = x1.clone();
                    x[k] = t;
                    let mut mem = memory();
                    let tape = Tape::<f64>::new(&mut mem).unwrap();
                    let (out, _) = record(&tape, &program, &x);
                    out.value()
                },
                x1[k],
            );
            assert_close(&format!("{ctx}: d/dx{k}"), g, numeric, 1e-6);
        }
        // Forward mode agrees with reverse mode through selections.
        for (k, &g) in want.iter().enumerate() {
            let mut seeds = [0.0; INPUTS];
            seeds[k] = 1.0;
            fresh.jvp(&seeds).unwrap();
            assert_close(
                &format!("{ctx}: tangent {k}"),
                fresh.tangent(out_b.id()).unwrap(),
                g,
                1e-12,
            );
        }

        match replayed.replay(&x1) {
            Ok(()) => {
                assert_eq!(path_a, path_b, "{ctx}: a branch changed silently");
                assert_eq!(out_a.value().to_bits(), out_b.value().to_bits(), "{ctx}");
                let got = gradient(&replayed, out_a);
                let bits = |g: &[f64]| g.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{ctx}: gradient after replay");
                same_path += 1;
                branch_free += usize::from(path_a.is_empty());
            }
            Err(Error::BranchChanged { changed, first }) => {
                // Until the paths part, both tapes hold the same ops at the same
                // values: the first change reported is where they part.
                let parting = path_a
                    .iter()
                    .zip(&path_b)
                    .find(|(a, b)| a != b)
                    .unwrap_or_else(|| panic!("{ctx}: a change reported on the same path"));
                assert_eq!(first, parting.0.comparison, "{ctx}");
                assert!(changed >= 1 && changed <= path_a.len(), "{ctx}: {changed}");
                assert!(matches!(
                    replayed.backward(out_a.id()),
                    Err(Error::BranchChanged { .. })
                ));
                changed_path += 1;
            }
            Err(other) => panic!("{ctx}: {other}"),
        }
    }
    // Both outcomes happen often enough to mean something (Miri runs too few programs
    // to count on that).
    if !cfg!(miri) {
        assert!(same_path > PROGRAMS / 5, "{same_path} on the same path");
        assert!(changed_path > PROGRAMS / 20, "{changed_path} changed");
        assert!(branch_free > 0);
    }
}
