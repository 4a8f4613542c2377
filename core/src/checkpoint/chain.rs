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

use super::{Action, Online, Schedule};
use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Tape, VarId};
use core::mem::{align_of, size_of, MaybeUninit};

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
    mut step: S,
    mut loss: L,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    check_lengths(x0, params, grad_x0, grad_params)?;
    let schedule = Schedule::new(steps, snapshots)?;
    let slots = snapshots.min(steps);
    let memory_len = memory.len();
    let (work, rest) = Workspace::carve(memory, slots, x0, params.len(), memory_len)?;
    let tape = new_tape(rest, work.used, memory_len)?;
    let driver = Driver::new(work, &tape, params, &mut step, &mut loss, memory_len);
    offline(driver, steps, schedule, grad_x0, grad_params)
}

/// [`chain_gradient`] on a tape the caller made, with the workspace ([`workspace_bytes`])
/// in `workspace`: for hosts that need the tape to live somewhere of their choosing,
/// such as behind a C handle its steps record through. The driver resets `tape` before
/// every recording (whatever it held is lost) and leaves it holding the last one.
/// [`ChainReport::peak_bytes`] counts the workspace used and the tape's bytes in use
/// (as [`Tape::used_bytes`]); an [`Error::OutOfMemory`] counts `free` as the workspace's
/// length plus the tape's capacity. Otherwise as [`chain_gradient`].
#[allow(clippy::too_many_arguments)]
pub fn chain_gradient_on_tape<T, S, L>(
    tape: &Tape<'_, T>,
    workspace: &mut [MaybeUninit<u8>],
    steps: usize,
    snapshots: usize,
    x0: &[T],
    params: &[T],
    mut step: S,
    mut loss: L,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    check_lengths(x0, params, grad_x0, grad_params)?;
    let schedule = Schedule::new(steps, snapshots)?;
    let slots = snapshots.min(steps);
    let memory_len = workspace.len().saturating_add(tape.capacity_bytes());
    let (work, _) = Workspace::carve(workspace, slots, x0, params.len(), memory_len)?;
    let driver = Driver::new(work, tape, params, &mut step, &mut loss, memory_len);
    offline(driver, steps, schedule, grad_x0, grad_params)
}

/// The offline drivers' common part, once the workspace and the tape are in place.
fn offline<T, S, L>(
    mut driver: Driver<'_, '_, T, S, L>,
    steps: usize,
    schedule: Schedule,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    driver.probe(steps >= 1)?;
    driver.report.steps = steps;
    if steps == 0 {
        driver.loss_only()?;
    } else {
        driver.run(schedule)?;
    }
    driver.finish(grad_x0, grad_params)
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
    mut step: S,
    mut done: D,
    mut loss: L,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    D: FnMut(usize, &[T]) -> bool,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    check_lengths(x0, params, grad_x0, grad_params)?;
    let online = Online::new(snapshots)?;
    let stop_at_x0 = done(0, x0);
    let memory_len = memory.len();
    let (work, rest) = Workspace::carve(memory, snapshots, x0, params.len(), memory_len)?;
    let tape = new_tape(rest, work.used, memory_len)?;
    let driver = Driver::new(work, &tape, params, &mut step, &mut loss, memory_len);
    online_run(driver, online, stop_at_x0, &mut done, grad_x0, grad_params)
}

/// [`chain_gradient_online`] on a tape the caller made, with the workspace in
/// `workspace`, as [`chain_gradient_on_tape`] is to [`chain_gradient`].
#[allow(clippy::too_many_arguments)]
pub fn chain_gradient_online_on_tape<T, S, D, L>(
    tape: &Tape<'_, T>,
    workspace: &mut [MaybeUninit<u8>],
    snapshots: usize,
    x0: &[T],
    params: &[T],
    mut step: S,
    mut done: D,
    mut loss: L,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    D: FnMut(usize, &[T]) -> bool,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    check_lengths(x0, params, grad_x0, grad_params)?;
    let online = Online::new(snapshots)?;
    let stop_at_x0 = done(0, x0);
    let memory_len = workspace.len().saturating_add(tape.capacity_bytes());
    let (work, _) = Workspace::carve(workspace, snapshots, x0, params.len(), memory_len)?;
    let driver = Driver::new(work, tape, params, &mut step, &mut loss, memory_len);
    online_run(driver, online, stop_at_x0, &mut done, grad_x0, grad_params)
}

/// The online drivers' common part, once the workspace and the tape are in place.
fn online_run<T, S, D, L>(
    mut driver: Driver<'_, '_, T, S, L>,
    mut online: Online,
    stop_at_x0: bool,
    done: &mut D,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    D: FnMut(usize, &[T]) -> bool,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    driver.probe(!stop_at_x0)?;
    if stop_at_x0 {
        driver.loss_only()?;
        return driver.finish(grad_x0, grad_params);
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
    driver.run(online.finish(steps)?)?;
    driver.finish(grad_x0, grad_params)
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
    mut step: S,
    mut loss: L,
    grad_x0: &mut [T],
    grad_params: &mut [T],
) -> Result<ChainReport<T>>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    check_lengths(x0, params, grad_x0, grad_params)?;
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
        step.record(&tape, k, cur, pids, next)?;
        check_outputs(&tape, next)?;
        core::mem::swap(&mut cur, &mut next);
    }
    let l = loss(&tape, cur, pids);
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

fn check_lengths<T>(x0: &[T], params: &[T], grad_x0: &[T], grad_params: &[T]) -> Result<()> {
    if grad_x0.len() != x0.len() {
        return Err(Error::InvalidArgument(
            "chain gradient: grad_x0 length differs from x0's",
        ));
    }
    if grad_params.len() != params.len() {
        return Err(Error::InvalidArgument(
            "chain gradient: grad_params length differs from params'",
        ));
    }
    Ok(())
}

/// After a step recorded: the tape is healthy and every next-state variable is live.
fn check_outputs<T: Real>(tape: &Tape<'_, T>, next: &[VarId]) -> Result<()> {
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
fn check_loss<T: Real>(tape: &Tape<'_, T>, loss: VarId) -> Result<T> {
    tape.status()?;
    let value = tape.value(loss)?;
    if value.is_non_finite() {
        return Err(Error::NonFinite(
            "chain gradient: the loss is NaN or infinite",
        ));
    }
    Ok(value)
}

/// Typed, initialised buffers cut from the front of caller memory.
struct Carver<'a> {
    rest: &'a mut [MaybeUninit<u8>],
    /// Bytes cut so far, padding included.
    used: usize,
}

impl<'a> Carver<'a> {
    fn new(memory: &'a mut [MaybeUninit<u8>]) -> Carver<'a> {
        Carver {
            rest: memory,
            used: 0,
        }
    }

    fn take<U: Copy>(&mut self, count: usize, fill: U) -> Result<&'a mut [U]> {
        let rest = core::mem::take(&mut self.rest);
        let pad = rest.as_ptr().align_offset(align_of::<U>());
        let total = count
            .checked_mul(size_of::<U>())
            .and_then(|bytes| bytes.checked_add(pad))
            .ok_or(Error::SizeOverflow)?;
        if total > rest.len() {
            let free = rest.len();
            self.rest = rest;
            return Err(Error::OutOfMemory {
                needed: total,
                free,
            });
        }
        let (head, tail) = rest.split_at_mut(total);
        self.rest = tail;
        self.used = self.used.saturating_add(total);
        let ptr = head.as_mut_ptr().wrapping_add(pad).cast::<U>();
        // SAFETY: `head` is ours for `'a` (split off an exclusive borrow), and bytes
        // `pad..total` of it hold `count` values of `U` at an address aligned for `U`.
        // Every value is written before the slice is formed, and `U: Copy` needs no drop.
        unsafe {
            for i in 0..count {
                ptr.add(i).write(fill);
            }
            Ok(core::slice::from_raw_parts_mut(ptr, count))
        }
    }
}

/// The buffers the drivers carve from the front of the memory.
struct Workspace<'a, T> {
    snaps: &'a mut [T],
    cur: &'a mut [T],
    tmp: &'a mut [T],
    seeds: &'a mut [T],
    ids: &'a mut [VarId],
    /// Bytes cut, padding included.
    used: usize,
}

impl<'a, T: Real> Workspace<'a, T> {
    /// Cuts the workspace for `slots` snapshots of `x0.len()` values and `p` parameters
    /// from the front of `memory`, with `x0` as the current state; returns it and the
    /// rest of `memory`. `memory_len` is the `free` an out-of-memory error reports.
    fn carve(
        memory: &'a mut [MaybeUninit<u8>],
        slots: usize,
        x0: &[T],
        p: usize,
        memory_len: usize,
    ) -> Result<(Self, &'a mut [MaybeUninit<u8>])> {
        let d = x0.len();
        let out_of_memory = |_| Error::OutOfMemory {
            needed: workspace_bytes::<T>(d, p, slots)
                .unwrap_or(usize::MAX)
                .saturating_add(Tape::<T>::bytes_per_record()),
            free: memory_len,
        };
        let mut carver = Carver::new(memory);
        let snaps = carver
            .take(slots.checked_mul(d).ok_or(Error::SizeOverflow)?, T::zero())
            .map_err(out_of_memory)?;
        let cur = carver.take(d, T::zero()).map_err(out_of_memory)?;
        let tmp = carver.take(d, T::zero()).map_err(out_of_memory)?;
        let seeds = carver
            .take(d.checked_add(p).ok_or(Error::SizeOverflow)?, T::zero())
            .map_err(out_of_memory)?;
        let handles = d
            .checked_mul(2)
            .and_then(|n| n.checked_add(p))
            .ok_or(Error::SizeOverflow)?;
        let ids = carver
            .take(handles, VarId::INVALID)
            .map_err(out_of_memory)?;
        for (c, &x) in cur.iter_mut().zip(x0) {
            *c = x;
        }
        let work = Workspace {
            snaps,
            cur,
            tmp,
            seeds,
            ids,
            used: carver.used,
        };
        Ok((work, carver.rest))
    }
}

/// A tape over what follows the workspace.
fn new_tape<T: Real>(
    rest: &mut [MaybeUninit<u8>],
    workspace: usize,
    memory_len: usize,
) -> Result<Tape<'_, T>> {
    Tape::<T>::new(rest).map_err(|_| Error::OutOfMemory {
        needed: workspace.saturating_add(Tape::<T>::bytes_per_record()),
        free: memory_len,
    })
}

/// The state of one chain reversal: workspace, tape and counters.
struct Driver<'a, 'c, T: Real, S, L> {
    tape: &'a Tape<'a, T>,
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

impl<'a, 'c, T, S, L> Driver<'a, 'c, T, S, L>
where
    T: Real,
    S: Step<T>,
    L: FnMut(&Tape<'_, T>, &[VarId], &[VarId]) -> VarId,
{
    fn new(
        work: Workspace<'a, T>,
        tape: &'a Tape<'a, T>,
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
                self.tape.reset();
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

    /// Resets the tape and records the inputs `cur` and the parameters.
    fn record_inputs(&mut self) {
        self.tape.reset();
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
        self.step.record(self.tape, k, sids, pids, out)?;
        let checked = check_outputs(self.tape, out);
        self.note_peak();
        checked
    }

    /// Records the loss on the next-state variables of the step just recorded.
    fn record_loss_on_next(&mut self) -> Result<VarId> {
        let (d, p) = self.dims();
        let (out, rest) = self.ids.split_at(d);
        let pids = rest.get(..p).unwrap_or(&[]);
        let l = (self.loss)(self.tape, out, pids);
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
        let l = (self.loss)(self.tape, sids, pids);
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
