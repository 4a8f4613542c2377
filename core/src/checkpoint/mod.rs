//! Checkpointing schedules for reversing long chains `x_{k+1} = step(x_k, θ)`.
//!
//! A chain of `n` steps has states `x_0 ..= x_n`; reverse mode needs the steps back to
//! front, each from its input state, in memory for only `s` stored states. A schedule
//! says when to run steps forward unrecorded, which states to store and reload, and
//! when to record a step and run its backward. It never touches states itself: the
//! [`Action`]s are instructions for a driver that owns the states and the tape.
//!
//! - [`Schedule`]: `n` known in advance. The binomial schedule of Griewank & Walther
//!   (Revolve, ACM TOMS 26(1), 2000), which attains the proven minimum
//!   [`min_forward_steps`] of forward evaluations.
//! - [`Online`]: `n` learned only when the chain ends. Stores states as the steps run,
//!   never more than `s`, and then hands over a [`Schedule`] for the reversal; it costs
//!   somewhat more (see [`online`] for the measured ratio).
//!
//! The [`chain`] drivers follow these actions on real states and a tape in caller
//! memory: [`chain_gradient`] and [`chain_gradient_online`] compute `∂loss/∂x0` and
//! `∂loss/∂θ` of a chain with `s` stored states and one step's tape, and
//! [`chain_gradient_store_all`] records the whole chain, the reference they match bit
//! for bit.
//!
//! [`segment`] checkpoints blocks of an ordinary recording instead
//! ([`Tape::checkpoint`](crate::Tape::checkpoint)): only a block's outputs are kept, and
//! its insides are recorded again when the backward sweep reaches it.
//!
//! # Conventions
//!
//! - **Slots.** `s` counts every stored state, `x0` included: `x0` goes to slot 0 as
//!   the first action whenever it is needed later (always for `n >= 2`). Slots are
//!   numbered `0..s`; a [`Action::Snapshot`] overwrites its slot. The current state,
//!   the one the step function works on, is not a slot.
//! - **Counting.** The forward evaluations counted are those of [`Action::Advance`]:
//!   `to − from` each, initial sweep included. The `n` recorded evaluations inside
//!   [`Action::FirstTurn`] and [`Action::Turn`] are not counted; every step is
//!   recorded exactly once. For `n <= s + 1` the count is `n − 1` (one sweep, every
//!   state stored); with one slot it is `n(n − 1)/2`.
//! - **Order.** Steps are reversed `n − 1` down to `0`; the first reversal is
//!   [`Action::FirstTurn`], where the adjoint is seeded. After a turn the current state
//!   is used up and the next action is a [`Action::Restore`].
//! - **Edge cases.** `n = 0` gives an empty schedule; `n = 1` needs no slot and is the
//!   single `FirstTurn { step: 0 }`; `s = 0` with `n > 1`, and `s > MAX_SNAPSHOTS`, are
//!   [`Error::InvalidArgument`](crate::Error::InvalidArgument).
//!
//! # The closed form
//!
//! With `β(s, t) = C(s + t, s)` ([`binomial_beta`]) and `r` the smallest `t` with
//! `β(s, t) >= n` ([`repetition_number`]), the minimum is `r·n − β(s + 1, r − 1)`. It
//! is the value of the recursion over the first stored state after `x0`,
//! `F(1, s) = 0`, `F(n, 0) = ∞` for `n > 1`,
//! `F(n, s) = min_{1 <= m < n} m + F(n − m, s − 1) + F(m, s)`, which the tests check
//! for every `n <= 200`, `s <= 10`, and against a search over all schedules for small
//! `n` and `s`.

pub mod chain;
pub mod online;
pub mod schedule;
pub mod segment;

pub use chain::{
    chain_gradient, chain_gradient_on_tape, chain_gradient_online, chain_gradient_online_on_tape,
    chain_gradient_store_all, step_fn, workspace_bytes, ChainReport, Step, StepFn, TapeLoan,
};
pub use online::Online;
pub use schedule::{
    binomial_beta, min_forward_steps, repetition_number, Action, Schedule, MAX_SNAPSHOTS,
};
pub use segment::{segment_fn, Segment};
