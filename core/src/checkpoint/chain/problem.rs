//! What every entry point is handed, and the checks on it and on what the step and
//! the loss record.

use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Tape, VarId};

/// A chain's starting state and parameters, its step and loss, and where its
/// gradients go.
pub(super) struct Problem<'p, T, S, L> {
    pub(super) x0: &'p [T],
    pub(super) params: &'p [T],
    pub(super) step: S,
    pub(super) loss: L,
    pub(super) grad_x0: &'p mut [T],
    pub(super) grad_params: &'p mut [T],
}

impl<'p, T, S, L> Problem<'p, T, S, L> {
    /// Bundles the arguments, after checking that each gradient is as long as what it
    /// is the gradient of.
    pub(super) fn new(
        x0: &'p [T],
        params: &'p [T],
        step: S,
        loss: L,
        grad_x0: &'p mut [T],
        grad_params: &'p mut [T],
    ) -> Result<Self> {
        check_lengths(x0, params, grad_x0, grad_params)?;
        Ok(Problem {
            x0,
            params,
            step,
            loss,
            grad_x0,
            grad_params,
        })
    }
}

fn check_lengths<T>(x0: &[T], params: &[T], grad_x0: &[T], grad_params: &[T]) -> Result<()> {
    if grad_x0.len() != x0.len() {
        return Err(Error::LengthMismatch {
            what: "chain gradient: grad_x0 length",
            got: grad_x0.len(),
            against: "the length of x0",
            expected: x0.len(),
        });
    }
    if grad_params.len() != params.len() {
        return Err(Error::LengthMismatch {
            what: "chain gradient: grad_params length",
            got: grad_params.len(),
            against: "the length of params",
            expected: params.len(),
        });
    }
    Ok(())
}

/// After a step recorded: the tape is healthy and every next-state variable is live.
pub(super) fn check_outputs<T: Real>(tape: &Tape<'_, T>, next: &[VarId]) -> Result<()> {
    tape.status()?;
    for &id in next {
        if !id.is_valid() {
            return Err(Error::InvalidArgument(
                "chain step: a next-state variable was left unset",
            ));
        }
        tape.check_handle(id)?;
    }
    Ok(())
}

/// After the loss recorded: its value, which must be finite.
pub(super) fn check_loss<T: Real>(tape: &Tape<'_, T>, loss: VarId) -> Result<T> {
    tape.status()?;
    let value = tape.value(loss)?;
    if value.is_non_finite() {
        return Err(Error::NonFinite(
            "chain gradient: the loss is NaN or infinite",
        ));
    }
    Ok(value)
}
