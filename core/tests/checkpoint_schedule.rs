//! Replays checkpointing schedules on a simulated chain whose states are their indices,
//! and checks them against brute-force optima.

// Index loops read best for the dynamic program over (n, s).
#![allow(clippy::needless_range_loop)]

use autodiff_core::checkpoint::{
    binomial_beta, min_forward_steps, repetition_number, Action, Online, Schedule, MAX_SNAPSHOTS,
};
use autodiff_core::Error;
use std::collections::{HashMap, VecDeque};

/// `full`, or `small` under Miri. The schedules are safe code that Miri runs some
/// thousand times slower; under it the sweeps keep every kind of chain, fewer and shorter.
const fn sized(full: usize, small: usize) -> usize {
    if cfg!(miri) {
        small
    } else {
        full
    }
}

/// A chain of `n` steps with `s` slots, driven by actions. It knows nothing of the
/// algorithm: it only checks that every action is legal and the reversal is complete.
struct Sim {
    n: usize,
    slots: Vec<Option<usize>>,
    current: Option<usize>,
    /// Steps `0..pending` are still to be reversed.
    pending: usize,
    turned: bool,
    advances: usize,
    actions: usize,
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
            actions: 0,
        }
    }

    fn apply(&mut self, action: Action) -> Result<(), String> {
        self.actions += 1;
        match action {
            Action::Advance { from, to } => {
                if self.current != Some(from) {
                    return Err(format!("{action:?} from current {:?}", self.current));
                }
                if to <= from {
                    return Err(format!("{action:?} does not move forward"));
                }
                if to >= self.pending.max(1) && self.turned {
                    return Err(format!("{action:?} past the unreversed steps"));
                }
                if to > self.n {
                    return Err(format!("{action:?} past the end of the chain"));
                }
                self.advances = self.advances.saturating_add(to - from);
                self.current = Some(to);
            }
            Action::Snapshot { slot, step } => {
                if self.current != Some(step) {
                    return Err(format!("{action:?} with current {:?}", self.current));
                }
                let Some(dst) = self.slots.get_mut(slot) else {
                    return Err(format!("{action:?}: slot out of range"));
                };
                *dst = Some(step);
            }
            Action::Restore { slot, step } => {
                match self.slots.get(slot) {
                    Some(&Some(held)) if held == step => {}
                    other => return Err(format!("{action:?} but slot holds {other:?}")),
                }
                self.current = Some(step);
            }
            Action::FirstTurn { step } | Action::Turn { step } => {
                let first = matches!(action, Action::FirstTurn { .. });
                if first == self.turned {
                    return Err(format!("{action:?}: first turn must come first, once"));
                }
                if step.checked_add(1) != Some(self.pending) {
                    return Err(format!(
                        "{action:?}, expected step {}",
                        self.pending as isize - 1
                    ));
                }
                if self.current != Some(step) {
                    return Err(format!("{action:?} from current {:?}", self.current));
                }
                self.turned = true;
                self.pending = step;
                self.current = None;
            }
        }
        Ok(())
    }

    /// Replays `actions`, then checks that every step was reversed.
    fn run(&mut self, actions: impl Iterator<Item = Action>) -> Result<usize, String> {
        for action in actions {
            self.apply(action)?;
            if self.actions > 10_000_000 {
                return Err("runaway schedule".into());
            }
        }
        if self.pending != 0 {
            return Err(format!("ended with steps 0..{} unreversed", self.pending));
        }
        if self.n > 0 && !self.turned {
            return Err("no turn".into());
        }
        Ok(self.advances)
    }
}

fn replay_offline(n: usize, s: usize) -> Result<usize, String> {
    let schedule = Schedule::new(n, s).map_err(|e| format!("{e}"))?;
    Sim::new(n, s).run(schedule)
}

/// `F(n, s)` for all `n <= max_n`, `s <= max_s`: the recursion over the first state
/// stored after `x0`. `None` is infinity.
fn dp_table(max_n: usize, max_s: usize) -> Vec<Vec<Option<usize>>> {
    let mut f = vec![vec![None; max_s + 1]; max_n + 1];
    for row in f.iter_mut().take(2) {
        row.fill(Some(0));
    }
    for n in 2..=max_n {
        for s in 1..=max_s {
            let mut best: Option<usize> = None;
            for m in 1..n {
                if let (Some(tail), Some(head)) = (f[n - m][s - 1], f[m][s]) {
                    let cost = m + tail + head;
                    best = Some(best.map_or(cost, |b: usize| b.min(cost)));
                }
            }
            f[n][s] = best;
        }
    }
    f
}

/// The optimum over *all* schedules with `s` slots, by a 0-1 breadth-first search over
/// (current state, unreversed steps, slot contents). Only for small `n` and `s`.
fn exhaustive_optimum(n: usize, s: usize) -> Option<usize> {
    type State = (Option<u8>, u8, Vec<Option<u8>>);
    let start: State = (Some(0), n as u8, vec![None; s]);
    let mut dist: HashMap<State, usize> = HashMap::new();
    let mut queue = VecDeque::new();
    dist.insert(start.clone(), 0);
    queue.push_back(start);
    while let Some(state) = queue.pop_front() {
        let d = dist[&state];
        let (cur, end, slots) = state.clone();
        if end == 0 {
            return Some(d);
        }
        let mut next: Vec<(State, usize)> = Vec::new();
        if let Some(c) = cur {
            if c + 1 < end {
                next.push(((Some(c + 1), end, slots.clone()), 1));
            }
            if c + 1 == end {
                next.push(((None, end - 1, slots.clone()), 0));
            }
            for i in 0..s {
                let mut stored = slots.clone();
                stored[i] = Some(c);
                stored.sort();
                next.push(((cur, end, stored), 0));
            }
        }
        for v in slots.iter().flatten() {
            if *v < end {
                next.push(((Some(*v), end, slots.clone()), 0));
            }
        }
        for (state, cost) in next {
            let nd = d + cost;
            if dist.get(&state).is_none_or(|&old| nd < old) {
                dist.insert(state.clone(), nd);
                if cost == 0 {
                    queue.push_front(state);
                } else {
                    queue.push_back(state);
                }
            }
        }
    }
    None
}

#[test]
fn offline_schedule_is_valid_and_optimal_for_every_small_chain() {
    let (max_n, max_s) = (sized(200, 24), sized(10, 4));
    let dp = dp_table(max_n, max_s);
    for n in 1..=max_n {
        for s in 1..=max_s {
            let advances = replay_offline(n, s).unwrap_or_else(|e| panic!("n={n} s={s}: {e}"));
            let closed = min_forward_steps(n, s).expect("closed form");
            assert_eq!(advances, closed, "n={n} s={s}: schedule vs closed form");
            assert_eq!(dp[n][s], Some(closed), "n={n} s={s}: DP vs closed form");
        }
    }
}

#[test]
fn closed_form_matches_search_over_all_schedules() {
    for (max_n, s) in [(9, 1), (9, 2), (8, 3), (7, 4)] {
        for n in 1..=max_n.min(sized(max_n, 5)) {
            assert_eq!(
                exhaustive_optimum(n, s),
                min_forward_steps(n, s),
                "n={n} s={s}"
            );
        }
    }
}

#[test]
fn offline_schedule_counts_agree_on_longer_chains() {
    let chains: &[(usize, usize)] = if cfg!(miri) {
        &[(300, 3), (500, 8), (200, 1)]
    } else {
        &[(1000, 3), (5000, 8), (10_000, 20), (100_000, 64), (2000, 1)]
    };
    for &(n, s) in chains {
        let advances = replay_offline(n, s).unwrap();
        assert_eq!(Some(advances), min_forward_steps(n, s), "n={n} s={s}");
    }
}

#[test]
fn offline_schedule_small_cases_read_as_documented() {
    let all = |n, s| Schedule::new(n, s).unwrap().collect::<Vec<_>>();
    for s in 0..=MAX_SNAPSHOTS {
        assert_eq!(all(0, s), []);
        assert_eq!(all(1, s), [Action::FirstTurn { step: 0 }]);
    }
    assert_eq!(
        all(3, 2),
        [
            Action::Snapshot { slot: 0, step: 0 },
            Action::Advance { from: 0, to: 1 },
            Action::Snapshot { slot: 1, step: 1 },
            Action::Advance { from: 1, to: 2 },
            Action::FirstTurn { step: 2 },
            Action::Restore { slot: 1, step: 1 },
            Action::Turn { step: 1 },
            Action::Restore { slot: 0, step: 0 },
            Action::Turn { step: 0 },
        ]
    );
    // With one slot: re-run from x0 before each reversal, n(n-1)/2 advances.
    assert_eq!(replay_offline(10, 1), Ok(45));
    // Enough slots: one sweep, n - 1 advances.
    assert_eq!(replay_offline(11, 10), Ok(10));
    assert_eq!(replay_offline(12, 10), Ok(12));
}

#[test]
fn invalid_arguments_are_errors() {
    assert!(matches!(
        Schedule::new(2, 0),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Schedule::new(usize::MAX, 0),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Schedule::new(10, MAX_SNAPSHOTS + 1),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Schedule::new(0, usize::MAX),
        Err(Error::InvalidArgument(_))
    ));
    assert!(Schedule::new(0, 0).is_ok());
    assert!(Schedule::new(1, 0).is_ok());
    assert!(matches!(Online::new(0), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        Online::new(MAX_SNAPSHOTS + 1),
        Err(Error::InvalidArgument(_))
    ));
    let mut online = Online::new(3).unwrap();
    for _ in 0..5 {
        online.advance().unwrap();
    }
    for bad in [0, 4, 7, usize::MAX] {
        assert!(matches!(online.finish(bad), Err(Error::InvalidArgument(_))));
    }
    assert!(online.finish(5).is_ok() && online.finish(6).is_ok());
}

#[test]
fn binomial_arithmetic() {
    assert_eq!(binomial_beta(0, 0), Some(1));
    assert_eq!(binomial_beta(3, 0), Some(1));
    assert_eq!(binomial_beta(0, 7), Some(1));
    assert_eq!(binomial_beta(1, 7), Some(8));
    assert_eq!(binomial_beta(10, 10), Some(184_756));
    if usize::BITS == 64 {
        assert_eq!(binomial_beta(32, 32), Some(1_832_624_140_942_590_534));
        assert_eq!(binomial_beta(33, 33), Some(7_219_428_434_016_265_740));
        assert_eq!(binomial_beta(34, 34), None);
        // r = 11: β(64, 10) < 2^40 <= β(64, 11); 11·2^40 − β(65, 10).
        assert_eq!(repetition_number(1 << 40, 64), Some(11));
        assert_eq!(min_forward_steps(1 << 40, 64), Some(11_265_696_799_181));
    }
    assert_eq!(binomial_beta(1, usize::MAX), None);
    assert_eq!(binomial_beta(usize::MAX, 1), None);
    assert_eq!(binomial_beta(usize::MAX - 1, 1), Some(usize::MAX));
    assert_eq!(binomial_beta(usize::MAX, usize::MAX), None);
    for s in 0..sized(40, 12) {
        for t in 0..sized(40, 12) {
            assert_eq!(binomial_beta(s, t), binomial_beta(t, s));
            if let (Some(a), Some(b), Some(c)) = (
                binomial_beta(s + 1, t + 1),
                binomial_beta(s, t + 1),
                binomial_beta(s + 1, t),
            ) {
                assert_eq!(a, b + c, "Pascal at s={s} t={t}");
            }
        }
    }

    assert_eq!(repetition_number(0, 0), Some(0));
    assert_eq!(repetition_number(1, 0), Some(0));
    assert_eq!(repetition_number(2, 0), None);
    assert_eq!(repetition_number(usize::MAX, 1), Some(usize::MAX - 1));
    for s in 1..12 {
        for n in 2..sized(3000, 200) {
            let r = repetition_number(n, s).unwrap();
            assert!(binomial_beta(s, r).unwrap() >= n);
            assert!(binomial_beta(s, r - 1).unwrap() < n);
        }
    }
    let r = repetition_number(usize::MAX, 2).unwrap();
    assert!(binomial_beta(2, r).is_none_or(|b| b == usize::MAX));
    assert!(binomial_beta(2, r - 1).unwrap() < usize::MAX);

    assert_eq!(min_forward_steps(0, 0), Some(0));
    assert_eq!(min_forward_steps(1, 0), Some(0));
    assert_eq!(min_forward_steps(2, 0), None);
    assert_eq!(min_forward_steps(5, 1), Some(10));
    assert_eq!(min_forward_steps(usize::MAX, 1), None);
    for s in 1..=MAX_SNAPSHOTS {
        // Never panics, even where the count overflows.
        let _ = min_forward_steps(usize::MAX, s);
        let _ = min_forward_steps(usize::MAX - 1, s);
    }
}

#[test]
fn huge_chains_neither_panic_nor_stall() {
    for s in [1, 2, 3, 10, MAX_SNAPSHOTS] {
        for n in [usize::MAX, usize::MAX - 1, 1 << 62] {
            let mut sim = Sim::new(n, s);
            let mut schedule = Schedule::new(n, s).unwrap();
            for _ in 0..500 {
                let Some(action) = schedule.next() else { break };
                sim.apply(action)
                    .unwrap_or_else(|e| panic!("n={n} s={s}: {e}"));
            }
            assert!(sim.turned, "n={n} s={s}: reaches the first turn quickly");
        }
    }
}

/// Drives an online schedule through `n` steps; `late` calls `finish` after the last
/// step instead of before it. Returns the advance count.
fn replay_online(n: usize, s: usize, late: bool) -> Result<usize, String> {
    let mut online = Online::new(s).map_err(|e| format!("{e}"))?;
    let mut sim = Sim::new(n, s);
    let forward = if late { n } else { n.saturating_sub(1) };
    for k in 0..forward {
        assert_eq!(online.state(), k);
        if let Some(action) = online.advance().map_err(|e| format!("{e}"))? {
            if !matches!(action, Action::Snapshot { step, .. } if step == k) {
                return Err(format!("forward sweep at {k} asked for {action:?}"));
            }
            sim.apply(action)?;
        }
        sim.apply(Action::Advance { from: k, to: k + 1 })?;
    }
    let reversal = online.finish(n).map_err(|e| format!("{e}"))?;
    if late {
        // The state after the last step is of no use to the reversal.
        sim.current = None;
    }
    sim.run(reversal)
}

#[test]
fn online_schedule_is_valid() {
    for s in 1..=sized(12, 4) {
        for n in 1..=sized(300, 30) {
            for late in [false, true] {
                let advances = replay_online(n, s, late)
                    .unwrap_or_else(|e| panic!("n={n} s={s} late={late}: {e}"));
                let optimum = min_forward_steps(n, s).unwrap();
                assert!(advances >= optimum, "n={n} s={s}: beats the proven minimum");
            }
        }
    }
    let long: &[(usize, usize)] = if cfg!(miri) {
        &[(1000, 5)]
    } else {
        &[(10_000, 5), (20_000, 16), (50_000, MAX_SNAPSHOTS)]
    };
    for &(n, s) in long {
        replay_online(n, s, false).unwrap_or_else(|e| panic!("n={n} s={s}: {e}"));
    }
}

/// The ratio of the online advance count (finishing before the last step) to the
/// offline minimum.
fn online_ratio(n: usize, s: usize) -> f64 {
    let advances = replay_online(n, s, false).unwrap();
    let optimum = min_forward_steps(n, s).unwrap();
    if optimum == 0 {
        assert_eq!(advances, 0);
        1.0
    } else {
        advances as f64 / optimum as f64
    }
}

#[test]
fn online_schedule_stays_near_the_offline_optimum() {
    // Documented in `checkpoint::online`: at most 1.38 for s <= 10, n <= 1000.
    // Under Miri: the bound over a shorter range of n, which it also holds on.
    for s in 1..=sized(10, 3) {
        let mut worst = (1.0f64, 0);
        for n in 1..=sized(1000, 60) {
            let ratio = online_ratio(n, s);
            if ratio > worst.0 {
                worst = (ratio, n);
            }
        }
        println!(
            "s={s}: worst online/offline {:.3} at n={}",
            worst.0, worst.1
        );
        assert!(
            worst.0 <= 1.38,
            "s={s}: ratio {:.3} at n={}",
            worst.0,
            worst.1
        );
        if s == 1 {
            assert_eq!(worst.0, 1.0);
        }
    }
    // The worst case sits just below β(s, 2); it stays under 1.5 for larger s.
    for &s in if cfg!(miri) {
        &[12][..]
    } else {
        &[12, 16, 20, 24, 32][..]
    } {
        let b = binomial_beta(s, 2).unwrap();
        for n in b - 2 * s..=b + 2 * s {
            let ratio = online_ratio(n, s);
            assert!(ratio < 1.5, "s={s} n={n}: ratio {ratio:.3}");
        }
    }
    // Long chains: much closer to optimal (too long for Miri).
    if cfg!(miri) {
        return;
    }
    for (n, s) in [(10_000, 3), (10_000, 5), (20_000, 8), (20_000, 10)] {
        let ratio = online_ratio(n, s);
        println!("n={n} s={s}: online/offline {ratio:.3}");
        assert!(ratio <= 1.15, "n={n} s={s}: ratio {ratio:.3}");
    }
}
