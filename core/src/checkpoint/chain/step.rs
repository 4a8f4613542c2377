//! The [`Step`] trait, one step of a chain, and [`step_fn`] for closures.

use crate::error::Result;
use crate::real::Real;
use crate::tape::{Tape, VarId};

/// One step of a chain: records `x_{k+1} = step(x_k, θ)`.
pub trait Step<T: Real> {
    /// Records step `k` on `tape`, from the state variables `state` (dimension `d`) and
    /// the parameter variables `params` (dimension `p`), writing the variables of the
    /// next state into `next` (dimension `d`, preset to [`VarId::INVALID`]).
    ///
    /// Errors go either way: return one, or let the tape's sticky error carry it.
    fn record(
        &mut self,
        tape: &Tape<'_, T>,
        k: usize,
        state: &[VarId],
        params: &[VarId],
        next: &mut [VarId],
    ) -> Result<()>;

    /// Optionally evaluates step `k` without a tape, for the forward-only runs: writes
    /// `x_{k+1}` into `next` and returns `Ok(true)`. The default returns `Ok(false)`,
    /// and the driver records the step and reads its values instead. To keep the
    /// gradients exact, compute what the recorded ops compute, with the same
    /// functions (for example `Real::sin`, not `f64::sin`, which may round
    /// differently).
    fn evaluate(&mut self, k: usize, state: &[T], params: &[T], next: &mut [T]) -> Result<bool> {
        let _ = (k, state, params, next);
        Ok(false)
    }
}

/// A [`Step`] made from a closure; see [`step_fn`].
pub struct StepFn<F>(pub F);

/// A [`Step`] from a closure `|tape, k, state, params, next| ...` that records one step.
pub fn step_fn<T, F>(f: F) -> StepFn<F>
where
    T: Real,
    F: FnMut(&Tape<'_, T>, usize, &[VarId], &[VarId], &mut [VarId]),
{
    StepFn(f)
}

impl<T, F> Step<T> for StepFn<F>
where
    T: Real,
    F: FnMut(&Tape<'_, T>, usize, &[VarId], &[VarId], &mut [VarId]),
{
    fn record(
        &mut self,
        tape: &Tape<'_, T>,
        k: usize,
        state: &[VarId],
        params: &[VarId],
        next: &mut [VarId],
    ) -> Result<()> {
        (self.0)(tape, k, state, params, next);
        Ok(())
    }
}

impl<T: Real, S: Step<T> + ?Sized> Step<T> for &mut S {
    fn record(
        &mut self,
        tape: &Tape<'_, T>,
        k: usize,
        state: &[VarId],
        params: &[VarId],
        next: &mut [VarId],
    ) -> Result<()> {
        (**self).record(tape, k, state, params, next)
    }

    fn evaluate(&mut self, k: usize, state: &[T], params: &[T], next: &mut [T]) -> Result<bool> {
        (**self).evaluate(k, state, params, next)
    }
}

/// Records step `k` through `step`, as a callback on `tape` (which may therefore not
/// start a sweep on it: see [`Tape::refuse_in_callback`]).
pub(super) fn record_step<T: Real, S: Step<T> + ?Sized>(
    step: &mut S,
    tape: &Tape<'_, T>,
    k: usize,
    state: &[VarId],
    params: &[VarId],
    next: &mut [VarId],
) -> Result<()> {
    let _step = tape.enter_callback();
    step.record(tape, k, state, params, next)
}

/// Records the loss through `loss`, as a callback on `tape`, like [`record_step`].
pub(super) fn record_loss<T: Real, L>(
    loss: &mut L,
    tape: &Tape<'_, T>,
    state: &[VarId],
    params: &[VarId],
) -> VarId
where
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId + ?Sized,
{
    let _loss = tape.enter_callback();
    loss(tape, state, params)
}
