//! The binomial (Revolve) schedule and the online schedule of
//! `autodiff_core::checkpoint`, driven on a simulated chain whose states are their
//! indices.
//!
//! For fuzzed `n` steps and `s` slots the actions must be a valid reversal: every step
//! reversed exactly once, `n - 1` down to `0`, the first reversal a `FirstTurn`; every
//! advance starting from the current state and never past the steps still to reverse;
//! snapshots taken of the current state, into slots below `s`; restores only of what a
//! slot holds. The offline schedule's advance count must equal `min_forward_steps(n, s)`
//! (which the code claims it attains), and that must equal the dynamic program over the
//! first stored state for the sizes the table covers. `binomial_beta` and
//! `repetition_number` are checked against independent arithmetic. Nothing may panic,
//! whatever the arguments.
#![no_main]

use autodiff_core::checkpoint::{
    binomial_beta, min_forward_steps, repetition_number, Action, Online, Schedule, MAX_SNAPSHOTS,
};
use autodiff_core::Error;
use autodiff_fuzz::Bytes;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The dynamic program covers `n <= DP_N`, `s <= DP_S`.
const DP_N: usize = 400;
const DP_S: usize = 12;
/// Chains longer than this are only followed for a prefix of their actions.
const FULL_RUN_MAX_N: usize = 20_000;
/// How many actions of a huge chain are checked.
const PREFIX_ACTIONS: usize = 2_000;

/// `F(n, s)`: the fewest advances that reverse `n` steps with `s` slots (`x0`
/// included), by the recursion over the first state stored after `x0`:
/// `F(0 | 1, s) = 0`, `F(n, 0) = inf` for `n > 1`,
/// `F(n, s) = min over 1 <= m < n of m + F(n - m, s - 1) + F(m, s)`.
fn dp() -> &'static Vec<Vec<Option<usize>>> {
    static TABLE: OnceLock<Vec<Vec<Option<usize>>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut f = vec![vec![None; DP_S + 1]; DP_N + 1];
        for row in f.iter_mut().take(2) {
            row.fill(Some(0));
        }
        for n in 2..=DP_N {
            for s in 1..=DP_S {
                let mut best: Option<usize> = None;
                for m in 1..n {
                    if let (Some(tail), Some(head)) = (f[n - m][s - 1], f[m][s]) {
                        let cost = m + tail + head;
                        best = Some(best.map_or(cost, |b| b.min(cost)));
                    }
                }
                f[n][s] = best;
            }
        }
        f
    })
}

/// `C(a, b)` in `u128`, or `None` past `u128` (independent of the code under test).
fn choose(a: u128, b: u128) -> Option<u128> {
    if b > a {
        return Some(0);
    }
    let b = b.min(a - b);
    let mut c: u128 = 1;
    for i in 0..b {
        c = c.checked_mul(a - i)? / (i + 1);
    }
    Some(c)
}

/// A chain of `n` steps with `s` slots that only checks that actions are legal.
struct Sim {
    n: usize,
    slots: Vec<Option<usize>>,
    current: Option<usize>,
    /// Steps `0..pending` are still to be reversed.
    pending: usize,
    turned: bool,
    advances: u128,
    reversed: Vec<usize>,
}

impl Sim {
    fn new(n: usize, s: usize) -> Sim {
        Sim {
            n,
            slots: vec![None; s],
            current: Some(0),
            pending: n,
            turned: false,
            advances: 0,
            reversed: Vec::new(),
        }
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Advance { from, to } => {
                assert_eq!(self.current, Some(from), "{action:?}");
                assert!(to > from, "{action:?} does not move forward");
                assert!(to <= self.n, "{action:?} past the end of the chain");
                if self.turned {
                    assert!(to < self.pending, "{action:?} past the unreversed steps");
                }
                self.advances += (to - from) as u128;
                self.current = Some(to);
            }
            Action::Snapshot { slot, step } => {
                assert_eq!(self.current, Some(step), "{action:?}");
                assert!(slot < self.slots.len(), "{action:?}: slot out of range");
                self.slots[slot] = Some(step);
            }
            Action::Restore { slot, step } => {
                assert!(slot < self.slots.len(), "{action:?}: slot out of range");
                assert_eq!(self.slots[slot], Some(step), "{action:?}");
                self.current = Some(step);
            }
            Action::FirstTurn { step } | Action::Turn { step } => {
                let first = matches!(action, Action::FirstTurn { .. });
                assert_ne!(first, self.turned, "{action:?}: one FirstTurn, first");
                assert_eq!(step.checked_add(1), Some(self.pending), "{action:?}");
                assert_eq!(self.current, Some(step), "{action:?}");
                self.turned = true;
                self.pending = step;
                self.current = None;
                self.reversed.push(step);
            }
        }
    }

    /// Follows `actions` to the end and checks the reversal is complete; returns the
    /// advance count.
    fn run_all(&mut self, actions: &mut Schedule) -> u128 {
        let mut count: usize = 0;
        for action in actions.by_ref() {
            self.apply(action);
            count += 1;
            // Every step gives at most a snapshot, an advance, a restore and a turn per
            // level of recursion; this bounds a runaway schedule.
            assert!(
                count <= 8 * (self.n + 1) * (MAX_SNAPSHOTS + 2),
                "runaway schedule"
            );
        }
        assert_eq!(actions.next(), None, "not fused");
        assert_eq!(self.pending, 0, "steps 0..{} left unreversed", self.pending);
        assert_eq!(
            self.reversed.len(),
            self.n,
            "a step reversed twice or never"
        );
        assert!(self.reversed.iter().rev().copied().eq(0..self.n));
        self.advances
    }
}

fn check_arithmetic(s: usize, t: usize, n: usize) {
    // β(s, t) = C(s + t, s), exactly or None past usize.
    let expected = (s as u128)
        .checked_add(t as u128)
        .and_then(|m| choose(m, s as u128))
        .filter(|&c| c <= usize::MAX as u128 && s.checked_add(t).is_some());
    assert_eq!(
        binomial_beta(s, t).map(|b| b as u128),
        expected,
        "beta({s}, {t})"
    );
    // r: the smallest t with β(s, t) >= n.
    match repetition_number(n, s) {
        None => assert!(s == 0 && n > 1, "r({n}, {s}) missing"),
        Some(r) => {
            if n > 1 {
                let at = binomial_beta(s, r).map_or(u128::MAX, |b| b as u128);
                assert!(at >= n as u128, "beta({s}, r={r}) < n={n}");
                if r > 0 {
                    let below = binomial_beta(s, r - 1).map_or(u128::MAX, |b| b as u128);
                    assert!(below < n as u128, "r({n}, {s}) = {r} is not the smallest");
                }
            } else {
                assert_eq!(r, 0);
            }
        }
    }
    let _ = min_forward_steps(n, s);
}

fn check_offline(n: usize, s: usize) {
    let schedule = Schedule::new(n, s);
    if s > MAX_SNAPSHOTS || (s == 0 && n > 1) {
        assert!(
            matches!(schedule, Err(Error::InvalidArgument(_))),
            "n={n} s={s} accepted"
        );
        return;
    }
    let mut schedule = schedule.expect("a valid (n, s) refused");
    assert_eq!(schedule.steps(), n);
    assert_eq!(schedule.snapshots(), s);
    let mut sim = Sim::new(n, s);
    if n > FULL_RUN_MAX_N {
        // Only a prefix: it must be legal, and cannot end early.
        for action in schedule.by_ref().take(PREFIX_ACTIONS) {
            sim.apply(action);
        }
        return;
    }
    let advances = sim.run_all(&mut schedule);
    let minimum = min_forward_steps(n, s).expect("min_forward_steps overflowed a small n");
    assert_eq!(
        advances, minimum as u128,
        "n={n} s={s}: the schedule is not the proven minimum"
    );
    if n <= DP_N && s <= DP_S {
        assert_eq!(
            dp()[n][s],
            Some(minimum),
            "n={n} s={s}: closed form vs recursion"
        );
    }
    if n >= 1 && n <= s + 1 {
        assert_eq!(minimum, n - 1, "n={n} s={s}: one sweep stores every state");
    }
    if s == 1 && n >= 1 {
        assert_eq!(minimum, n * (n - 1) / 2, "n={n}: one slot");
    }
}

fn check_online(n: usize, s: usize, late: bool) {
    let online = Online::new(s);
    if s == 0 || s > MAX_SNAPSHOTS {
        assert!(matches!(online, Err(Error::InvalidArgument(_))));
        return;
    }
    let mut online = online.expect("a valid s refused");
    let mut sim = Sim::new(n, s);
    let forward = if late { n } else { n.saturating_sub(1) };
    for k in 0..forward {
        assert_eq!(online.state(), k);
        if let Some(action) = online.advance().expect("advance failed") {
            assert!(
                matches!(action, Action::Snapshot { step, .. } if step == k),
                "forward sweep at {k} asked for {action:?}"
            );
            sim.apply(action);
        }
        sim.apply(Action::Advance { from: k, to: k + 1 });
    }
    // finish() takes n == state() or state() + 1 only.
    for wrong in [forward.wrapping_add(2), forward.wrapping_sub(1)] {
        if wrong != forward && Some(wrong) != forward.checked_add(1) {
            assert!(matches!(
                online.finish(wrong),
                Err(Error::InvalidArgument(_))
            ));
        }
    }
    let Ok(mut reversal) = online.finish(n) else {
        panic!("finish({n}) refused at state {forward}");
    };
    if late {
        // The state after the last step is of no use to the reversal.
        sim.current = None;
    }
    let advances = sim.run_all(&mut reversal);
    let minimum = min_forward_steps(n, s).expect("small n") as u128;
    assert!(advances >= minimum, "n={n} s={s}: online beats the minimum");
    // The module documentation: at most 1.38 times the offline minimum for s <= 10 and
    // n <= 1000, and below 1.5 up to s = 32 (finishing before the last step).
    if !late && n >= 2 {
        if s <= 10 && n <= 1000 {
            assert!(
                advances * 100 <= minimum * 138,
                "n={n} s={s}: online {advances} > 1.38 x {minimum}"
            );
        }
        if s <= 32 {
            assert!(
                advances * 2 < minimum * 3,
                "n={n} s={s}: online {advances} >= 1.5 x {minimum}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let mode = b.u8();
    // Mostly small chains, some long ones, some huge (prefix only).
    let n = match mode & 3 {
        0 | 1 => (b.u8() as usize) % 96,
        2 => b.u16() as usize % 2048,
        _ if mode & 0x20 == 0 => b.u16() as usize * 3 % FULL_RUN_MAX_N,
        _ => b.u64() as usize,
    };
    let s = match (mode >> 2) & 3 {
        0 => (b.u8() % 8) as usize,
        1 => (b.u8() % (MAX_SNAPSHOTS as u8 + 3)) as usize,
        2 => b.u8() as usize,
        _ => b.u64() as usize,
    };
    let t = b.u64() as usize >> (b.u8() % 64);
    check_arithmetic(s.min(4096), t, n);
    check_arithmetic(s, t, n);
    check_offline(n, s);
    if n <= 2048 {
        check_online(n, s, mode & 0x10 != 0);
    }
});
