//! Gradients of long chains `x_{k+1} = step(x_k, θ)` in bounded memory.
//!
//! For `k = 0..n`, a [`Step`] maps the state `x_k` (dimension `d`) and the parameters
//! `θ` (dimension `p`) to `x_{k+1}`; a loss is taken of the final state `x_n` (and, if
//! it likes, of `θ`). [`chain_gradient`] computes `∂loss/∂x_0` and `∂loss/∂θ` with the
//! binomial [`Schedule`]: it keeps at most `s` states of `d` values and one step's
//! tape, whatever `n` is, and evaluates the steps `n + min_forward_steps(n, s)` times.
//! [`chain_gradient_online`] does the same when `n` is only known once a stop condition
//! holds ([`Online`]), and [`chain_gradient_store_all`] records the whole chain on one
//! tape, the reference the other two reproduce.
//!
//! # Memory
//!
//! Everything lives in the `memory` slice the caller hands in, nothing on the heap.
//! The front holds the workspace ([`workspace_bytes`]): the snapshot slots, two state
//! buffers, the adjoint seeds and the variable handles. The rest is one tape, reset
//! before every recorded step. Before any chain work the driver records step 0 from
//! `x_0` followed by the loss, as a probe: if the workspace or that probe does not fit,
//! the call fails with [`Error::OutOfMemory`] whose `free` is `memory.len()` and whose
//! `needed` is the bytes the workspace and the probe took when the probe fitted, and
//! otherwise a lower bound (what was recorded when the tape filled, plus one record).
//! The probe assumes every step records the same number of variables; a later step
//! that records more can still fail with the tape's error.
//!
//! [`chain_gradient_on_tape`] and [`chain_gradient_online_on_tape`] take the workspace
//! and the tape separately, for hosts that must own the tape themselves (the C API puts
//! it behind an `ad_tape*` its callbacks record through); they compute the same thing.
//!
//! # Counting and calls
//!
//! [`ChainReport::advances`] counts the steps run forward only for their value (the
//! [`Action::Advance`]s of the schedule; for the online driver, also the forward
//! sweep), [`ChainReport::recorded`] the steps recorded for their backward (exactly
//! `n`). The step function runs `advances + recorded` times plus once for the probe
//! (when `n >= 1`), and the loss twice (probe and end).
//!
//! # Exactness
//!
//! The gradients equal [`chain_gradient_store_all`]'s bit for bit, for `x_0` and `θ`
//! alike, as long as no step returns one variable for two components of the next
//! state (or returns an input unchanged *and* uses that component again), and any
//! [`Step::evaluate`] computes the values the recorded ops compute. The reason: every
//! adjoint is summed in the same order. Within a step the sweep visits the same
//! records in the same order. The adjoint of `x_{k+1}` is complete (all of step
//! `k + 1`'s contributions, summed in sweep order) before it seeds step `k`'s outputs,
//! as in the long tape, where step `k + 1`'s records come later and are swept first.
//! And `θ`'s running sum is carried from turn to turn as the seed of step `k`'s
//! parameter inputs, instead of being summed per step and added, so each of its
//! adjoints receives the same terms in the same order as the single `θ` record does on
//! the long tape.

mod driver;
mod problem;
mod step;
mod store_all;
mod workspace;

pub use step::{step_fn, Step, StepFn};
pub use workspace::TapeLoan;

use crate::error::Result;
use crate::real::Real;
use crate::tape::{Tape, VarId};
use core::mem::{align_of, size_of, MaybeUninit};
use problem::Problem;
use workspace::Memory;

// Named by the documentation only.
#[cfg(doc)]
use super::{Action, Online, Schedule};
#[cfg(doc)]
use crate::error::Error;

/// What a chain gradient computed and cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChainReport<T> {
    /// The loss at the final state.
    pub loss: T,
    /// The number of steps `n`.
    pub steps: usize,
    /// Steps run forward for their value only (see the module docs).
    pub advances: usize,
    /// Steps recorded and run backward: `n`.
    pub recorded: usize,
    /// Bytes of the workspace at the front of the memory (snapshots, state buffers,
    /// seeds, handles, alignment).
    pub workspace_bytes: usize,
    /// Tape bytes of one recorded step followed by the loss, as the probe measured.
    pub step_bytes: usize,
    /// The most bytes of the memory in use at once: the workspace plus the tape's
    /// largest recording.
    pub peak_bytes: usize,
}

/// An upper bound on the workspace the drivers carve from the front of the memory for
/// dimension `dim`, `params` parameters and `snapshots` slots (the offline driver
/// needs `min(snapshots, n)` slots). The tape takes the rest: add
/// [`ChainReport::step_bytes`] (or an estimate of one step's records times
/// [`Tape::bytes_per_record`]) for the whole memory. `None` on overflow.
pub fn workspace_bytes<T: Real>(dim: usize, params: usize, snapshots: usize) -> Option<usize> {
    let values = snapshots
        .checked_mul(dim)?
        .checked_add(dim.checked_mul(3)?)?
        .checked_add(params)?;
    let handles = dim.checked_mul(2)?.checked_add(params)?;
    // Five buffers of values and one of handles, each possibly padded for alignment.
    values
        .checked_mul(size_of::<T>())?
        .checked_add(handles.checked_mul(size_of::<VarId>())?)?
        .checked_add(5 * (align_of::<T>() - 1) + align_of::<VarId>() - 1)
}

/// Gradients of a chain of `steps` steps, `x_{k+1} = step(x_k, params)` from `x0`,
/// with at most `snapshots` stored states (`x0` included, as in [`Schedule`]).
///
/// `loss(tape, x_n, params)` records the loss on `tape` from the final state's and
/// the parameters' variables and returns it. Writes `∂loss/∂x0` into `grad_x0`
/// (length `x0.len()`) and `∂loss/∂params` into `grad_params` (length
/// `params.len()`). See the [module documentation](self) for memory, counting and
/// exactness.
///
/// Errors: [`Error::InvalidArgument`] for mismatched lengths, `snapshots = 0` with
/// `steps > 1`, or more than [`MAX_SNAPSHOTS`](super::MAX_SNAPSHOTS); [`Error::OutOfMemory`] before any
/// chain work when the workspace and one step do not fit; a step's or the loss's
/// error; [`Error::NonFinite`] when the loss is NaN or infinite.
#[allow(clippy::too_many_arguments)]
pub fn chain_gradient<T, S, L>(
    memory: &mut [MaybeUninit<u8>],
    steps: usize,
    snapshots: usize,
    x0: &[T],
    params: &[T],
    step: S,
    loss: L,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    let problem = Problem::new(x0, params, step, loss, grad_x0, grad_params)?;
    driver::offline(Memory::Whole(memory), steps, snapshots, problem)
}

/// [`chain_gradient`] on a tape the caller made, with the workspace ([`workspace_bytes`])
/// in `workspace`: for hosts that need the tape to live somewhere of their choosing,
/// such as behind a C handle its steps record through. The driver resets `tape` before
/// every recording (whatever it held is lost) and leaves it holding the last one.
/// [`ChainReport::peak_bytes`] counts the workspace used and the tape's bytes in use
/// (as [`Tape::used_bytes`]); an [`Error::OutOfMemory`] counts `free` as the workspace's
/// length plus the tape's capacity. Otherwise as [`chain_gradient`].
#[allow(clippy::too_many_arguments)]
pub fn chain_gradient_on_tape<'t, 'm: 't, T, S, L>(
    tape: impl Into<TapeLoan<'t, 'm, T>>,
    workspace: &mut [MaybeUninit<u8>],
    steps: usize,
    snapshots: usize,
    x0: &[T],
    params: &[T],
    step: S,
    loss: L,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    let problem = Problem::new(x0, params, step, loss, grad_x0, grad_params)?;
    let tape = tape.into().tape();
    driver::offline(Memory::Split { tape, workspace }, steps, snapshots, problem)
}

/// [`chain_gradient`] for a chain whose length is unknown in advance: it runs until
/// `done(k, x_k)` returns true, so `n` is the first `k` it does for (`done(0, x0)`
/// true means no step at all). The forward sweep keeps at most `snapshots` states
/// with [`Online`], then reverses the chain; [`ChainReport::steps`] says how long it
/// was.
///
/// The forward sweep evaluates `n` steps: `Online`'s count (which stops at `x_{n−1}`)
/// plus the last one, needed to learn that the chain ends; the reversal starts from
/// `x_{n−1}` held in memory. Errors as [`chain_gradient`], and
/// [`Error::InvalidArgument`] for `snapshots = 0`.
#[allow(clippy::too_many_arguments)]
pub fn chain_gradient_online<T, S, D, L>(
    memory: &mut [MaybeUninit<u8>],
    snapshots: usize,
    x0: &[T],
    params: &[T],
    step: S,
    done: D,
    loss: L,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    D: FnMut(usize, &[T]) -> bool,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    let problem = Problem::new(x0, params, step, loss, grad_x0, grad_params)?;
    driver::online(Memory::Whole(memory), snapshots, done, problem)
}

/// [`chain_gradient_online`] on a tape the caller made, with the workspace in
/// `workspace`, as [`chain_gradient_on_tape`] is to [`chain_gradient`].
#[allow(clippy::too_many_arguments)]
pub fn chain_gradient_online_on_tape<'t, 'm: 't, T, S, D, L>(
    tape: impl Into<TapeLoan<'t, 'm, T>>,
    workspace: &mut [MaybeUninit<u8>],
    snapshots: usize,
    x0: &[T],
    params: &[T],
    step: S,
    done: D,
    loss: L,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    D: FnMut(usize, &[T]) -> bool,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    let problem = Problem::new(x0, params, step, loss, grad_x0, grad_params)?;
    let tape = tape.into().tape();
    driver::online(Memory::Split { tape, workspace }, snapshots, done, problem)
}

/// The reference: records all `steps` steps and the loss on one tape over `memory`
/// and runs one backward sweep. Memory grows with `steps`; no step is evaluated
/// twice (`advances` is 0). Same arguments and errors as [`chain_gradient`], without
/// the snapshots and the probe.
#[allow(clippy::too_many_arguments)]
pub fn chain_gradient_store_all<T, S, L>(
    memory: &mut [MaybeUninit<u8>],
    steps: usize,
    x0: &[T],
    params: &[T],
    step: S,
    loss: L,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    let problem = Problem::new(x0, params, step, loss, grad_x0, grad_params)?;
    store_all::store_all(memory, steps, problem)
}
