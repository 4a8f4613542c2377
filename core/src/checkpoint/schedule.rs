//! The offline binomial schedule (Griewank & Walther's Revolve) and its arithmetic.
//!
//! See the [module documentation](super) for the conventions: `x0` takes a slot, and
//! only [`Action::Advance`] steps are counted as forward evaluations.

use crate::error::{Error, Result};

/// The largest number of snapshot slots a schedule can manage; its state is a fixed
/// array of this many entries.
pub const MAX_SNAPSHOTS: usize = 64;

/// One instruction of a checkpointing schedule. States are numbered `0..=n`: state
/// `k + 1` is step `k` applied to state `k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Run the step function forward without recording, from state `from` (the current
    /// state) to state `to`: `to - from` step evaluations. The result is the current
    /// state.
    Advance { from: usize, to: usize },
    /// Copy the current state, which is state `step`, into slot `slot`, overwriting what
    /// the slot held. The current state stays.
    Snapshot { slot: usize, step: usize },
    /// Make the state held in slot `slot`, which is state `step`, the current state. The
    /// slot keeps its copy.
    Restore { slot: usize, step: usize },
    /// The first reversal: from the current state (state `step`, always `n - 1`), record
    /// step `step` on the tape, seed the adjoint of state `step + 1`, and run the step's
    /// backward. Afterwards the current state is used up; the next action, if any, is a
    /// [`Action::Restore`].
    FirstTurn { step: usize },
    /// A later reversal: from the current state (state `step`), record step `step` and
    /// run its backward with the adjoint of state `step + 1` from the previous reversal.
    /// Afterwards the current state is used up; the next action, if any, is a
    /// [`Action::Restore`].
    Turn { step: usize },
}

/// `β(s, t) = C(s + t, s)`: the largest chain that `s` slots (including the one holding
/// `x0`) reverse with at most `t` advance evaluations of any step. `None` when the value
/// or `s + t` overflows `usize`.
pub fn binomial_beta(s: usize, t: usize) -> Option<usize> {
    let m = s.checked_add(t)?;
    let k = if s < t { s } else { t };
    // c_i = C(m, i); c_{i+1} = c_i * (m - i) / (i + 1) is exact. For i < k <= m / 2 the
    // sequence grows, so once it passes usize::MAX the result does too; the u128
    // intermediate never overflows because c_i <= usize::MAX and m - i <= usize::MAX.
    let mut c: u128 = 1;
    let mut i: usize = 0;
    while i < k {
        let factor = m.checked_sub(i)? as u128;
        let divisor = (i as u128).checked_add(1)?;
        c = c.checked_mul(factor)?.checked_div(divisor)?;
        if c > usize::MAX as u128 {
            return None;
        }
        i = i.checked_add(1)?;
    }
    usize::try_from(c).ok()
}

/// `β(s, t)`, or `usize::MAX` where it overflows: fine wherever it is only compared
/// with a `usize`.
fn beta_sat(s: usize, t: usize) -> usize {
    binomial_beta(s, t).unwrap_or(usize::MAX)
}

/// `β(s, t - 1)`, and 0 for `t = 0` (the binomial with a negative argument).
fn beta_sat_pred(s: usize, t: usize) -> usize {
    match t.checked_sub(1) {
        Some(t) => beta_sat(s, t),
        None => 0,
    }
}

/// The repetition number `r`: the smallest `t` with `β(s, t) >= n`, that is the fewest
/// advance evaluations of the most repeated step. `None` when no `t` exists: `s = 0`
/// and `n > 1`.
pub fn repetition_number(n: usize, s: usize) -> Option<usize> {
    if n <= 1 {
        return Some(0);
    }
    if s == 0 {
        return None;
    }
    if s == 1 {
        // β(1, t) = t + 1.
        return n.checked_sub(1);
    }
    // β(s, t) >= t + 1 for s >= 1, so some hi <= n qualifies; search by doubling, then
    // bisect (lo, hi] with β(s, lo) < n <= β(s, hi).
    let mut lo: usize = 0;
    let mut hi: usize = 1;
    while beta_sat(s, hi) < n {
        lo = hi;
        hi = hi.saturating_mul(2);
    }
    while hi.saturating_sub(lo) > 1 {
        let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
        if beta_sat(s, mid) >= n {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// The proven minimum number of advance evaluations (the sum of `to - from` over all
/// [`Action::Advance`]) to reverse `n` steps with `s` slots, `x0` included:
/// `r·n − β(s + 1, r − 1)` with `r = repetition_number(n, s)` (and 0 for `n <= 1`).
/// [`Schedule`] attains it. `None` when `s = 0` and `n > 1` (impossible) or when the
/// count overflows `usize`.
pub fn min_forward_steps(n: usize, s: usize) -> Option<usize> {
    if n <= 1 {
        return Some(0);
    }
    let r = repetition_number(n, s)?;
    let total = r.checked_mul(n)?;
    let saved = match r.checked_sub(1) {
        Some(t) => binomial_beta(s.checked_add(1)?, t)?,
        None => 0,
    };
    total.checked_sub(saved)
}

/// How far to advance from a stored state so that reversing the `len` steps after it
/// with `avail` slots (the stored state's own included) stays optimal.
///
/// With `r = repetition_number(len, avail)`, any `m` with
/// `β(avail, r − 2) <= m <= β(avail, r − 1)` and
/// `β(avail − 1, r − 1) <= len − m <= β(avail − 1, r)` is optimal: the left part is then
/// reversed with repetition number `r − 1` and `avail` slots, the right part with `r`
/// and `avail − 1` slots, and the costs add up to `r·len − β(avail + 1, r − 1)`. The
/// interval is never empty; this returns its upper end, which advances furthest.
/// Requires `len >= 2` and `avail >= 1`; returns at least 1 and at most `len - 1`.
fn split(len: usize, avail: usize) -> usize {
    let last = len.saturating_sub(1).max(1);
    if avail <= 1 {
        return last;
    }
    let Some(r) = repetition_number(len, avail) else {
        return last;
    };
    let below = avail.saturating_sub(1);
    // β(avail, r − 1) < len and β(avail − 1, r − 1) <= β(avail, r − 1): both exact.
    let hi = beta_sat_pred(avail, r)
        .min(len.saturating_sub(beta_sat_pred(below, r)))
        .min(last);
    hi.max(1)
}

/// A live snapshot: slot `slot` holds state `step`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) slot: usize,
    pub(crate) step: usize,
}

const EMPTY: Entry = Entry { slot: 0, step: 0 };

/// The binomial reversal schedule of a chain of `n` steps with `s` snapshot slots, as an
/// iterator of [`Action`]s. Fixed-size state; no allocation.
///
/// It follows Griewank & Walther's recursion: from a stored state with `len` steps
/// left to reverse and `avail` slots, advance `m` steps (see the module docs for how `m`
/// is chosen), store that state, reverse the tail with `avail − 1` slots, then restore
/// and reverse the head with `avail` slots. Its advance count is exactly
/// [`min_forward_steps`]`(n, s)`.
///
/// [`super::Online::finish`] returns the same type, started from the snapshots the
/// online forward sweep kept.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Live snapshots, ordered by step (ascending); `stack[..len]` is in use.
    stack: [Entry; MAX_SNAPSHOTS],
    len: usize,
    /// Bit `i` set: slot `i` holds a live snapshot.
    used: u64,
    snapshots: usize,
    /// The current state, or `None` after a turn.
    current: Option<usize>,
    /// Steps `0..end` remain to be reversed.
    end: usize,
    turned: bool,
    steps: usize,
}

impl Schedule {
    /// The schedule that reverses `steps` steps with `snapshots` slots.
    ///
    /// `steps = 0` gives an empty schedule (there is nothing to reverse); `steps = 1`
    /// needs no slot and gives the single action `FirstTurn { step: 0 }`, even with
    /// `snapshots = 0`. Errors with [`Error::InvalidArgument`] when `snapshots = 0` and
    /// `steps > 1`, or when `snapshots > MAX_SNAPSHOTS`.
    pub fn new(steps: usize, snapshots: usize) -> Result<Schedule> {
        if snapshots > MAX_SNAPSHOTS {
            return Err(Error::InvalidArgument(
                "checkpoint schedule: more snapshots than MAX_SNAPSHOTS",
            ));
        }
        if snapshots == 0 && steps > 1 {
            return Err(Error::InvalidArgument(
                "checkpoint schedule: more than one step needs at least one snapshot",
            ));
        }
        Ok(Schedule {
            stack: [EMPTY; MAX_SNAPSHOTS],
            len: 0,
            used: 0,
            snapshots,
            current: Some(0),
            end: steps,
            turned: false,
            steps,
        })
    }

    /// A reversal of `steps` steps that starts with `kept` already stored (ordered by
    /// step, distinct slots below `snapshots`, steps below `steps`) and the current
    /// state `current` (`None` when it is not usable). Checked by the caller.
    pub(crate) fn resume(
        steps: usize,
        snapshots: usize,
        kept: &[Entry],
        current: Option<usize>,
    ) -> Schedule {
        let mut schedule = Schedule {
            stack: [EMPTY; MAX_SNAPSHOTS],
            len: 0,
            used: 0,
            snapshots,
            current,
            end: steps,
            turned: false,
            steps,
        };
        for (dst, src) in schedule.stack.iter_mut().zip(kept) {
            *dst = *src;
            schedule.used |= 1u64.checked_shl(src.slot as u32).unwrap_or(0);
            schedule.len = schedule.len.saturating_add(1);
        }
        schedule
    }

    /// The number of steps `n` this schedule reverses.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The number of snapshot slots it may use.
    pub fn snapshots(&self) -> usize {
        self.snapshots
    }

    fn top(&self) -> Option<Entry> {
        self.stack.get(self.len.checked_sub(1)?).copied()
    }

    /// Stops the iteration for good; only reached if an invariant broke.
    fn halt(&mut self) -> Option<Action> {
        self.end = 0;
        None
    }
}

impl Iterator for Schedule {
    type Item = Action;

    fn next(&mut self) -> Option<Action> {
        if self.end == 0 {
            return None;
        }
        let Some(cur) = self.current else {
            // After a turn (or when resumed without a usable state): reload the latest
            // snapshot, which is the start of the range being reversed.
            let Some(top) = self.top() else {
                return self.halt();
            };
            self.current = Some(top.step);
            return Some(Action::Restore {
                slot: top.slot,
                step: top.step,
            });
        };
        let Some(last) = self.end.checked_sub(1) else {
            return self.halt();
        };
        if cur == last {
            self.end = last;
            self.current = None;
            // Snapshots at or beyond the new end are no longer needed.
            while let Some(top) = self.top() {
                if top.step < self.end {
                    break;
                }
                self.used &= !1u64.checked_shl(top.slot as u32).unwrap_or(0);
                self.len = self.len.saturating_sub(1);
            }
            let first = !self.turned;
            self.turned = true;
            return Some(if first {
                Action::FirstTurn { step: cur }
            } else {
                Action::Turn { step: cur }
            });
        }
        if cur > last {
            return self.halt();
        }
        if self.top().map(|top| top.step) != Some(cur) {
            // At least two steps remain after an unstored state: store it.
            if self.len >= self.snapshots {
                return self.halt();
            }
            let slot = (!self.used).trailing_zeros() as usize;
            let Some(dst) = self.stack.get_mut(self.len) else {
                return self.halt();
            };
            *dst = Entry { slot, step: cur };
            self.len = self.len.saturating_add(1);
            self.used |= 1u64.checked_shl(slot as u32).unwrap_or(0);
            return Some(Action::Snapshot { slot, step: cur });
        }
        // The current state is the stored start of the range cur..end.
        let avail = self.snapshots.saturating_sub(self.len).saturating_add(1);
        let m = split(self.end.saturating_sub(cur), avail);
        let to = cur.saturating_add(m);
        self.current = Some(to);
        Some(Action::Advance { from: cur, to })
    }
}

impl core::iter::FusedIterator for Schedule {}
