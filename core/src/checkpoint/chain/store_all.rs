//! The reference: the whole chain and the loss recorded on one tape.

use super::problem::{check_loss, check_outputs, Problem};
use super::step::{record_loss, record_step};
use super::workspace::Carver;
use super::{ChainReport, Step};
use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Tape, VarId};
use core::mem::MaybeUninit;

/// Records all `steps` steps of `problem` and its loss on one tape over what follows
/// the variable handles in `memory`, and runs one backward sweep.
pub(super) fn store_all<T, S, L>(
    memory: &mut [MaybeUninit<u8>],
    steps: usize,
    problem: Problem<'_, T, S, L>,
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    let Problem {
        x0,
        params,
        mut step,
        mut loss,
        grad_x0,
        grad_params,
    } = problem;
    let (d, p) = (x0.len(), params.len());
    let mut carver = Carver::new(memory);
    let ids = carver.take(
        d.checked_mul(3)
            .and_then(|n| n.checked_add(p))
            .ok_or(Error::SizeOverflow)?,
        VarId::INVALID,
    )?;
    let workspace = carver.used;
    let tape = Tape::<T>::new(carver.rest)?;
    let (first, rest) = ids.split_at_mut(d);
    let (pids, rest) = rest.split_at_mut(p);
    let (mut cur, mut next) = rest.split_at_mut(d);
    for (id, &x) in first.iter_mut().zip(x0) {
        *id = tape.input_id(x);
    }
    for (id, &x) in pids.iter_mut().zip(params) {
        *id = tape.input_id(x);
    }
    for (c, &f) in cur.iter_mut().zip(first.iter()) {
        *c = f;
    }
    for k in 0..steps {
        next.fill(VarId::INVALID);
        record_step(&mut step, &tape, k, cur, pids, next)?;
        check_outputs(&tape, next)?;
        core::mem::swap(&mut cur, &mut next);
    }
    let l = record_loss(&mut loss, &tape, cur, pids);
    let value = check_loss(&tape, l)?;
    tape.vjp(&[l], &[T::one()])?;
    for (g, &id) in grad_x0.iter_mut().zip(first.iter()) {
        *g = tape.grad(id)?;
    }
    for (g, &id) in grad_params.iter_mut().zip(pids.iter()) {
        *g = tape.grad(id)?;
    }
    let step_bytes = tape.used_bytes();
    Ok(ChainReport {
        loss: value,
        steps,
        advances: 0,
        recorded: steps,
        workspace_bytes: workspace,
        step_bytes,
        peak_bytes: workspace.saturating_add(step_bytes),
    })
}
