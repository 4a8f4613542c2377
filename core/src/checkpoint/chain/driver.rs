//! The driver that follows a schedule's actions on real states and a tape, and the
//! offline and online runs the entry points share.

use super::problem::{check_loss, check_outputs, Problem};
use super::step::{record_loss, record_step};
use super::workspace::{new_tape, Memory, Workspace};
use super::{ChainReport, Step};
use crate::checkpoint::{Action, Online, Schedule};
use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Tape, VarId};

/// The offline drivers' common part: `problem` over `steps` steps with the binomial
/// schedule for `snapshots` slots.
pub(super) fn offline<T, S, L>(
    memory: Memory<'_, '_, '_, T>,
    steps: usize,
    snapshots: usize,
    problem: Problem<'_, T, S, L>,
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    let schedule = Schedule::new(steps, snapshots)?;
    let slots = snapshots.min(steps);
    drive(memory, slots, problem, |driver| {
        driver.probe(steps >= 1)?;
        driver.report.steps = steps;
        if steps == 0 {
            driver.loss_only()
        } else {
            driver.run(schedule)
        }
    })
}

/// The online drivers' common part: `problem` over steps until `done`, with
/// [`Online`] for `snapshots` slots.
pub(super) fn online<T, S, D, L>(
    memory: Memory<'_, '_, '_, T>,
    snapshots: usize,
    mut done: D,
    problem: Problem<'_, T, S, L>,
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    D: FnMut(usize, &[T]) -> bool,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    let mut online = Online::new(snapshots)?;
    let stop_at_x0 = done(0, problem.x0);
    drive(memory, snapshots, problem, |driver| {
        driver.probe(!stop_at_x0)?;
        if stop_at_x0 {
            return driver.loss_only();
        }
        let mut k: usize = 0;
        loop {
            // The current state is x_k, not yet handed to `online`: run step k first, so
            // that if x_{k+1} ends the chain, x_k is still here for the first turn.
            driver.evaluate_next(k)?;
            let next = k.checked_add(1).ok_or(Error::SizeOverflow)?;
            if done(next, driver.tmp) {
                break;
            }
            if let Some(Action::Snapshot { slot, .. }) = online.advance()? {
                driver.snapshot(slot)?;
            }
            core::mem::swap(&mut driver.cur, &mut driver.tmp);
            k = next;
        }
        // Here online.state() == k and the current state is x_k, k = n − 1.
        let steps = k.checked_add(1).ok_or(Error::SizeOverflow)?;
        driver.report.steps = steps;
        driver.run(online.finish(steps)?)
    })
}

/// Carves the workspace for `slots` snapshots from `memory`, puts the tape in place,
/// has `run` drive the chain and writes the gradients out.
fn drive<T, S, L, R>(
    memory: Memory<'_, '_, '_, T>,
    slots: usize,
    problem: Problem<'_, T, S, L>,
    run: R,
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
    R: FnOnce(&mut Driver<'_, '_, '_, T, S, L>) -> Result<()>,
{
    let Problem {
        x0,
        params,
        mut step,
        mut loss,
        grad_x0,
        grad_params,
    } = problem;
    let memory_len = memory.memory_len();
    let (workspace, their_tape) = match memory {
        Memory::Whole(memory) => (memory, None),
        Memory::Split { tape, workspace } => (workspace, Some(tape)),
    };
    let (work, rest) = Workspace::carve(workspace, slots, x0, params.len(), memory_len)?;
    let work_used = work.used;
    // The caller's tape and one over the rest of the memory have unrelated lifetimes,
    // so each gets its own call.
    let drive_on = |tape: &Tape<'_, T>| {
        let mut driver = Driver::new(work, tape, params, &mut step, &mut loss, memory_len);
        run(&mut driver)?;
        driver.finish(grad_x0, grad_params)
    };
    match their_tape {
        Some(tape) => drive_on(tape),
        None => drive_on(&new_tape(rest, work_used, memory_len)?),
    }
}

/// The state of one chain reversal: workspace, tape and counters.
struct Driver<'a, 'tm, 'c, T: Real, S, L> {
    tape: &'a Tape<'tm, T>,
    /// Snapshot slots, `d` values each.
    snaps: &'a mut [T],
    /// The current state and the next one.
    cur: &'a mut [T],
    tmp: &'a mut [T],
    /// `[λ (d) | θ running sum (p)]`: the adjoint of the state after the step about to
    /// be reversed, then the parameters' gradient so far.
    seeds: &'a mut [T],
    /// `[next (d) | params (p) | state (d)]`: the variables of the tape's step.
    ids: &'a mut [VarId],
    params: &'c [T],
    step: &'c mut S,
    loss: &'c mut L,
    memory_len: usize,
    report: ChainReport<T>,
}

impl<'a, 'tm, 'c, T, S, L> Driver<'a, 'tm, 'c, T, S, L>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    fn new(
        work: Workspace<'a, T>,
        tape: &'a Tape<'tm, T>,
        params: &'c [T],
        step: &'c mut S,
        loss: &'c mut L,
        memory_len: usize,
    ) -> Self {
        let workspace = work.used;
        Driver {
            tape,
            snaps: work.snaps,
            cur: work.cur,
            tmp: work.tmp,
            seeds: work.seeds,
            ids: work.ids,
            params,
            step,
            loss,
            memory_len,
            report: ChainReport {
                loss: T::zero(),
                steps: 0,
                advances: 0,
                recorded: 0,
                workspace_bytes: workspace,
                step_bytes: 0,
                peak_bytes: workspace,
            },
        }
    }

    fn dims(&self) -> (usize, usize) {
        (self.cur.len(), self.params.len())
    }

    fn note_peak(&mut self) {
        let used = self
            .report
            .workspace_bytes
            .saturating_add(self.tape.used_bytes());
        self.report.peak_bytes = self.report.peak_bytes.max(used);
    }

    /// Records step 0 (when `with_step`) and the loss once, before any chain work, and
    /// turns running out of memory into an error about the whole call.
    fn probe(&mut self, with_step: bool) -> Result<()> {
        let result = if with_step {
            self.record_step(0)
                .and_then(|()| self.record_loss_on_next())
        } else {
            self.record_loss_on_state()
        };
        match result {
            Ok(_) => {
                self.report.step_bytes = self.tape.used_bytes();
                self.reset_tape();
                Ok(())
            }
            Err(Error::OutOfMemory { .. }) => Err(Error::OutOfMemory {
                needed: self
                    .report
                    .workspace_bytes
                    .saturating_add(self.tape.used_bytes())
                    .saturating_add(Tape::<T>::bytes_per_record()),
                free: self.memory_len,
            }),
            Err(error) => Err(error),
        }
    }

    /// Resets the tape for the next step's recording.
    fn reset_tape(&self) {
        debug_assert!(!self.tape.in_callback());
        // SAFETY: the driver keeps only plain handles (`ids`) across steps, re-made after
        // every reset, and no callback runs now (each runs inside `record_step` or
        // `record_loss`, which have returned). The public entry points take the tape by
        // `&mut` (or, for the C API, behind its lent guard), so no other borrow of its
        // memory is alive.
        unsafe { self.tape.reset_unchecked() };
    }

    /// Resets the tape and records the inputs `cur` and the parameters.
    fn record_inputs(&mut self) {
        self.reset_tape();
        let d = self.cur.len();
        let (out, rest) = self.ids.split_at_mut(d);
        let (pids, sids) = rest.split_at_mut(self.params.len());
        out.fill(VarId::INVALID);
        for (id, &x) in sids.iter_mut().zip(self.cur.iter()) {
            *id = self.tape.input_id(x);
        }
        for (id, &x) in pids.iter_mut().zip(self.params) {
            *id = self.tape.input_id(x);
        }
    }

    /// Records step `k` from the current state; the next state's variables land in
    /// the first `d` handles.
    fn record_step(&mut self, k: usize) -> Result<()> {
        self.record_inputs();
        let (d, p) = self.dims();
        let (out, rest) = self.ids.split_at_mut(d);
        let (pids, sids) = rest.split_at_mut(p);
        record_step(self.step, self.tape, k, sids, pids, out)?;
        let checked = check_outputs(self.tape, out);
        self.note_peak();
        checked
    }

    /// Records the loss on the next-state variables of the step just recorded.
    fn record_loss_on_next(&mut self) -> Result<VarId> {
        let (d, p) = self.dims();
        let (out, rest) = self.ids.split_at(d);
        let pids = rest.get(..p).unwrap_or(&[]);
        let l = record_loss(self.loss, self.tape, out, pids);
        self.note_peak();
        self.tape.status()?;
        self.tape.check_handle(l)?;
        Ok(l)
    }

    /// Records the inputs and the loss on them (a chain of no steps).
    fn record_loss_on_state(&mut self) -> Result<VarId> {
        self.record_inputs();
        let (d, p) = self.dims();
        let rest = self.ids.get(d..).unwrap_or(&[]);
        let (pids, sids) = rest.split_at(p.min(rest.len()));
        let l = record_loss(self.loss, self.tape, sids, pids);
        self.note_peak();
        self.tape.status()?;
        self.tape.check_handle(l)?;
        Ok(l)
    }

    /// Evaluates step `k` from the current state into `tmp`.
    fn evaluate_next(&mut self, k: usize) -> Result<()> {
        self.report.advances = self.report.advances.saturating_add(1);
        if self.step.evaluate(k, self.cur, self.params, self.tmp)? {
            return Ok(());
        }
        self.record_step(k)?;
        for (t, &id) in self.tmp.iter_mut().zip(self.ids.iter()) {
            *t = self.tape.value(id)?;
        }
        Ok(())
    }

    /// The `d` values of snapshot slot `slot`.
    fn slot_range(&self, slot: usize) -> Result<core::ops::Range<usize>> {
        let d = self.cur.len();
        let start = slot.checked_mul(d).ok_or(Error::SizeOverflow)?;
        let end = start.checked_add(d).ok_or(Error::SizeOverflow)?;
        if end > self.snaps.len() {
            return Err(Error::InvalidArgument(
                "chain gradient: snapshot slot out of range",
            ));
        }
        Ok(start..end)
    }

    fn snapshot(&mut self, slot: usize) -> Result<()> {
        let range = self.slot_range(slot)?;
        for (s, &c) in self
            .snaps
            .get_mut(range)
            .unwrap_or(&mut [])
            .iter_mut()
            .zip(self.cur.iter())
        {
            *s = c;
        }
        Ok(())
    }

    fn restore(&mut self, slot: usize) -> Result<()> {
        let range = self.slot_range(slot)?;
        for (c, &s) in self
            .cur
            .iter_mut()
            .zip(self.snaps.get(range).unwrap_or(&[]))
        {
            *c = s;
        }
        Ok(())
    }

    /// Records step `k` from the current state and runs its backward: seeded by the
    /// loss on the first turn, by `λ` and the parameters' running sum afterwards.
    /// Leaves the adjoint of `x_k` in `λ` and the new running sum after it.
    fn turn(&mut self, k: usize, first: bool) -> Result<()> {
        self.record_step(k)?;
        self.report.recorded = self.report.recorded.saturating_add(1);
        if first {
            let l = self.record_loss_on_next()?;
            self.report.loss = check_loss(self.tape, l)?;
            self.tape.vjp(&[l], &[T::one()])?;
        } else {
            let (d, p) = self.dims();
            let n = d.saturating_add(p);
            let outputs = self.ids.get(..n).unwrap_or(&[]);
            self.tape.vjp(outputs, self.seeds)?;
        }
        self.read_adjoints()
    }

    /// After a backward: `λ` from the state inputs, the running sum from the
    /// parameter inputs.
    fn read_adjoints(&mut self) -> Result<()> {
        let d = self.cur.len();
        let (pids, sids) = self.ids.get(d..).unwrap_or(&[]).split_at(self.params.len());
        let (lambda, theta) = self.seeds.split_at_mut(d);
        for (g, &id) in lambda.iter_mut().zip(sids) {
            *g = self.tape.grad(id)?;
        }
        for (g, &id) in theta.iter_mut().zip(pids) {
            *g = self.tape.grad(id)?;
        }
        Ok(())
    }

    /// A chain of no steps: the gradient of the loss at `x0`.
    fn loss_only(&mut self) -> Result<()> {
        let l = self.record_loss_on_state()?;
        self.report.loss = check_loss(self.tape, l)?;
        self.tape.vjp(&[l], &[T::one()])?;
        self.read_adjoints()
    }

    /// Follows a schedule's actions to the end.
    fn run(&mut self, schedule: Schedule) -> Result<()> {
        for action in schedule {
            match action {
                Action::Advance { from, to } => {
                    for k in from..to {
                        self.evaluate_next(k)?;
                        core::mem::swap(&mut self.cur, &mut self.tmp);
                    }
                }
                Action::Snapshot { slot, .. } => self.snapshot(slot)?,
                Action::Restore { slot, .. } => self.restore(slot)?,
                Action::FirstTurn { step } => self.turn(step, true)?,
                Action::Turn { step } => self.turn(step, false)?,
            }
        }
        if self.report.recorded != self.report.steps {
            return Err(Error::InvalidArgument(
                "chain gradient: the schedule did not reverse every step",
            ));
        }
        Ok(())
    }

    fn finish(self, grad_x0: &mut [T], grad_params: &mut [T]) -> Result<ChainReport<T>> {
        let d = self.cur.len();
        let (lambda, theta) = self.seeds.split_at(d);
        for (g, &v) in grad_x0.iter_mut().zip(lambda) {
            *g = v;
        }
        for (g, &v) in grad_params.iter_mut().zip(theta) {
            *g = v;
        }
        Ok(self.report)
    }
}
