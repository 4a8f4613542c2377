//! Online checkpointing: the number of steps is learned only when the chain ends.
//!
//! The forward sweep keeps at most `s` snapshots with a level rule after the dynamic
//! checkpointing of Wang, Moin & Hirsch ("Minimal repetition dynamic checkpointing
//! algorithm for unsteady adjoint calculation", SIAM J. Sci. Comput. 31(4), 2009),
//! with `x0` pinned in slot 0:
//!
//! - every stored state carries a *level*, `x0` the highest possible;
//! - while a slot is free, the state about to be advanced is stored with level 0;
//! - otherwise, a snapshot is *dispensable* when a later one has a higher level; the
//!   latest dispensable snapshot is dropped and the state takes its slot with level 0;
//! - with none dispensable, the latest snapshot is replaced by the state, one level up.
//!
//! Low levels thin out towards the past, so the kept states end up spread roughly as
//! the binomial schedule would place them. [`Online::finish`] then reverses the chain
//! with the binomial recursion of [`Schedule`] over each gap between kept states, the
//! latest gap first, with every slot the earlier snapshots leave free.
//!
//! # Cost against the offline optimum
//!
//! The count is the forward sweep (`n − 1` advances when `finish` is called at state
//! `n − 1`) plus the reversal's advances. The tests measure the ratio to
//! [`min_forward_steps`](super::min_forward_steps) for every `n` in `2..=1000` and
//! `s` in `1..=10`: it is 1 for `s = 1` and at most 1.38 overall (1.15 for `s = 2`,
//! rising with `s`), and falls to 1.02–1.11 for `n` of 10⁴ and more (measured for
//! `s` from 3 to 10). The worst case sits just below `n = β(s, 2)`, where the offline
//! schedule advances each step at most twice and this one a third time on part of the
//! chain; that gap approaches 1.5 for large `s` (1.45 measured at `s = 30`), and the
//! tests assert it stays below 1.5 up to `s = 32`.

use super::schedule::{Entry, Schedule, MAX_SNAPSHOTS};
use super::Action;
use crate::error::{Error, Result};

/// A stored state in the forward sweep, with its level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Kept {
    slot: usize,
    step: usize,
    level: usize,
}

const EMPTY: Kept = Kept {
    slot: 0,
    step: 0,
    level: 0,
};

/// The forward sweep of an online schedule: call [`Online::advance`] before each step,
/// then [`Online::finish`] for the reversal. Fixed-size state; no allocation.
///
/// ```text
/// let mut online = Online::new(s)?;            // current state: x0
/// while !done {
///     if let Some(Action::Snapshot { slot, .. }) = online.advance()? { store(slot) }
///     x = step(x);                             // Advance { from: k, to: k + 1 }
/// }
/// for action in online.finish(n)? { ... }      // n = online.state() or state() + 1
/// ```
#[derive(Clone, Debug)]
pub struct Online {
    /// Stored states ordered by step; `kept[..len]` is in use, `kept[0]` is `x0`.
    kept: [Kept; MAX_SNAPSHOTS],
    len: usize,
    snapshots: usize,
    /// The index of the current state.
    state: usize,
}

impl Online {
    /// An online schedule with `snapshots` slots, `x0` included. Errors with
    /// [`Error::InvalidArgument`] for 0 slots (the length of the chain is unknown, so it
    /// may need one) or more than [`MAX_SNAPSHOTS`].
    pub fn new(snapshots: usize) -> Result<Online> {
        if snapshots == 0 {
            return Err(Error::InvalidArgument(
                "online checkpointing: needs at least one snapshot",
            ));
        }
        if snapshots > MAX_SNAPSHOTS {
            return Err(Error::InvalidArgument(
                "online checkpointing: more snapshots than MAX_SNAPSHOTS",
            ));
        }
        Ok(Online {
            kept: [EMPTY; MAX_SNAPSHOTS],
            len: 0,
            snapshots,
            state: 0,
        })
    }

    /// The index `k` of the current state `x_k`: how many steps have run.
    pub fn state(&self) -> usize {
        self.state
    }

    /// The number of snapshot slots.
    pub fn snapshots(&self) -> usize {
        self.snapshots
    }

    /// Announces that step `k = self.state()` is about to run forward. Returns
    /// `Some(Action::Snapshot { slot, step: k })` when the current state must first be
    /// stored in `slot` (overwriting it), `None` when it need not be. Either way the
    /// caller then runs step `k`, `Action::Advance { from: k, to: k + 1 }`, which counts
    /// as one advance evaluation. Errors with [`Error::SizeOverflow`] when the step
    /// index would overflow `usize`.
    pub fn advance(&mut self) -> Result<Option<Action>> {
        let k = self.state;
        let next = k.checked_add(1).ok_or(Error::SizeOverflow)?;
        let stored = self.place(k);
        self.state = next;
        Ok(stored.map(|slot| Action::Snapshot { slot, step: k }))
    }

    /// Where to store state `k`, if anywhere; updates the kept set.
    fn place(&mut self, k: usize) -> Option<usize> {
        if self.len == 0 {
            // x0 is pinned: nothing is ever dispensable before it.
            *self.kept.get_mut(0)? = Kept {
                slot: 0,
                step: k,
                level: usize::MAX,
            };
            self.len = 1;
            return Some(0);
        }
        if self.len < self.snapshots {
            let slot = self.len;
            *self.kept.get_mut(self.len)? = Kept {
                slot,
                step: k,
                level: 0,
            };
            self.len = self.len.checked_add(1)?;
            return Some(slot);
        }
        let last = self.len.checked_sub(1)?;
        if last == 0 {
            // One slot, holding x0: nothing else can be kept.
            return None;
        }
        // The latest dispensable snapshot: a later one has a higher level.
        let mut later_max: usize = 0;
        let mut dispensable = None;
        let mut i = last;
        while i >= 1 {
            let level = self.kept.get(i)?.level;
            if i < last && level < later_max {
                dispensable = Some(i);
                break;
            }
            later_max = later_max.max(level);
            i = i.checked_sub(1)?;
        }
        match dispensable {
            Some(i) => {
                let slot = self.kept.get(i)?.slot;
                // Close the gap, then append the state at level 0.
                let mut j = i;
                while j < last {
                    let moved = *self.kept.get(j.checked_add(1)?)?;
                    *self.kept.get_mut(j)? = moved;
                    j = j.checked_add(1)?;
                }
                *self.kept.get_mut(last)? = Kept {
                    slot,
                    step: k,
                    level: 0,
                };
                Some(slot)
            }
            None => {
                let top = self.kept.get_mut(last)?;
                top.step = k;
                top.level = top.level.saturating_add(1);
                Some(top.slot)
            }
        }
    }

    /// Ends the forward sweep: the chain has `steps` steps. Call it either at state
    /// `steps − 1` (before running the last step, which the reversal then records
    /// directly: `steps == self.state() + 1`) or at state `steps` (after running it:
    /// `steps == self.state()`; the reversal starts from a restore). Returns the
    /// reversal, which uses the kept snapshots and the free slots, never more than
    /// `snapshots()` at once. Errors with [`Error::InvalidArgument`] for any other
    /// `steps`.
    pub fn finish(&self, steps: usize) -> Result<Schedule> {
        let current = if Some(steps) == self.state.checked_add(1) {
            Some(self.state)
        } else if steps == self.state {
            None
        } else {
            return Err(Error::InvalidArgument(
                "online checkpointing: finish(n) needs n == state() or n == state() + 1",
            ));
        };
        let mut kept = [Entry { slot: 0, step: 0 }; MAX_SNAPSHOTS];
        for (dst, src) in kept.iter_mut().zip(self.kept.iter().take(self.len)) {
            *dst = Entry {
                slot: src.slot,
                step: src.step,
            };
        }
        let kept = kept.get(..self.len).unwrap_or(&[]);
        Ok(Schedule::resume(steps, self.snapshots, kept, current))
    }
}
