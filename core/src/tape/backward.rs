//! The backward sweep: vector-Jacobian products, gradients and Jacobians by rows.

use super::record::{Record, SMALL_TAPE};
use super::{Tape, Var, VarId};
use crate::error::{Error, Result};
use crate::op::{dispatch_op, Arity, Op};
use crate::real::Real;

/// The gradient of one output, read through the variables it was taken with respect to.
/// Adjoints are read by value on each call, never lent out, because other `&Tape` calls
/// may overwrite them while this view is alive.
pub struct Gradients<'t, T: Real> {
    tape: &'t Tape<'t, T>,
}

impl<'t, T: Real> Gradients<'t, T> {
    /// `∂output/∂x`; NaN when `x` is not a live variable of the tape.
    pub fn wrt(&self, x: Var<'_, T>) -> T {
        self.tape.grad(x.id()).unwrap_or(T::from_f64(f64::NAN))
    }
}

impl<'m, T: Real> Tape<'m, T> {
    /// Runs backward from `output`: afterwards [`grad`](Tape::grad) of every variable is
    /// `∂output/∂variable`.
    ///
    /// Fails with the tape's pending error, with a handle error, or with
    /// [`Error::NonFinite`] when the output's value is NaN or infinite (its gradient
    /// would be meaningless); the tape stays usable.
    pub fn backward(&self, output: VarId) -> Result<()> {
        self.begin_backward(output)?;
        self.sweep_backward(output.index as usize, &mut |_, _| {});
        // A checkpointed segment that fails to record its block again (out of memory,
        // an error from the block) sets the tape's error during the sweep.
        self.status()
    }

    /// Everything [`backward`](Tape::backward) checks and sets up before its sweep: the
    /// adjoints cleared and `output`'s seeded with 1.
    fn begin_backward(&self, output: VarId) -> Result<()> {
        self.refuse_in_callback("backward")?;
        self.status()?;
        self.check_handle(output)?;
        // A rank-0 tensor (a loss) keeps its value in its record too, so this one check
        // covers scalar and tensor outputs alike.
        if self.record(output.index).value.is_non_finite() {
            return Err(Error::NonFinite(
                "backward: the output value is NaN or infinite",
            ));
        }
        self.for_each_extension_record(|extension, i| (extension.check)(self, i))?;
        self.clear_adjoints();
        self.slots_hold(super::SlotContent::Adjoints);
        // SAFETY: `output` is a live record index.
        unsafe {
            let seed = &mut (*self.records_ptr().add(output.index as usize)).adjoint;
            *seed = T::one();
        }
        Ok(())
    }

    /// Runs backward from `output` and returns the gradients.
    pub fn gradient<'s>(&'s self, output: Var<'_, T>) -> Result<Gradients<'s, T>> {
        self.backward(output.id())?;
        Ok(Gradients { tape: self })
    }

    /// Runs backward from `output` and writes `∂output/∂input` for every input, in
    /// recording order, into `grads` (whose length must be [`num_inputs`](Tape::num_inputs)).
    pub fn gradient_into(&self, output: VarId, grads: &mut [T]) -> Result<()> {
        self.gradient_into_as(output, grads, |g| g)
    }

    /// [`gradient_into`](Tape::gradient_into) a buffer of another type, each entry
    /// converted by `convert` as it is written (only once backward succeeded).
    pub fn gradient_into_as<S>(
        &self,
        output: VarId,
        grads: &mut [S],
        convert: impl Fn(T) -> S,
    ) -> Result<()> {
        if grads.len() != self.num_inputs() {
            return Err(Error::LengthMismatch {
                what: "gradient buffer length",
                got: grads.len(),
                against: "the number of inputs",
                expected: self.num_inputs(),
            });
        }
        if self.has_extension_records.get() {
            // A checkpointed segment can fail in the middle of the sweep, and `grads`
            // must then stay as it was: read the inputs' adjoints after it.
            self.backward(output)?;
            for (slot, adjoint) in grads.iter_mut().zip(self.input_adjoints()) {
                *slot = convert(adjoint);
            }
            return Ok(());
        }
        // Without extension records nothing can fail once the sweep starts, so the
        // sweep writes each input's gradient as it passes the input: no second scan of
        // a tape whose inputs are spread through it (that scan was a sixth of a
        // Rosenbrock gradient). Inputs the output does not depend on are skipped by the
        // sweep, hence the zeros first.
        self.begin_backward(output)?;
        for slot in grads.iter_mut() {
            *slot = convert(T::zero());
        }
        self.sweep_backward(output.index as usize, &mut |number, adjoint| {
            if let Some(slot) = grads.get_mut(number as usize) {
                *slot = convert(adjoint);
            }
        });
        self.status()
    }

    /// The Jacobian of `outputs` with respect to the inputs, by rows: one backward sweep
    /// per output. `jacobian` is row-major, `outputs.len() × num_inputs()`.
    pub fn jacobian_rows(&self, outputs: &[VarId], jacobian: &mut [T]) -> Result<()> {
        self.jacobian_rows_as(outputs, jacobian, |entry| entry)
    }

    /// [`jacobian_rows`](Tape::jacobian_rows) into a buffer of another type, each entry
    /// converted by `convert` as it is written.
    pub fn jacobian_rows_as<S>(
        &self,
        outputs: &[VarId],
        jacobian: &mut [S],
        convert: impl Fn(T) -> S,
    ) -> Result<()> {
        // Checked up front, as `jacobian_columns` does: with no inputs (or no outputs) the
        // loop below never runs a backward sweep that would check them.
        self.status()?;
        for &output in outputs {
            self.check_handle(output)?;
        }
        let n = self.num_inputs();
        check_jacobian_len(outputs.len(), n, jacobian.len())?;
        for (&output, row) in outputs.iter().zip(jacobian.chunks_exact_mut(n.max(1))) {
            self.gradient_into_as(output, &mut row[..n], &convert)?;
        }
        Ok(())
    }

    /// The adjoint (or tangent) slots of the inputs, in recording order.
    pub(super) fn input_adjoints(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.inputs_end.get())
            .map(|i| self.record(i))
            .filter(|record| record.op() == Op::Input)
            .map(|record| record.adjoint)
    }

    /// Zeroes every adjoint slot if an earlier sweep may have left one non-zero. Recording
    /// and replay write zero adjoints, so the first backward after them skips this pass.
    pub(super) fn clear_adjoints(&self) {
        if self.adjoints_dirty.replace(true) {
            let records = self.records_ptr();
            for i in 0..self.len() {
                // SAFETY: `i < len`.
                unsafe { (*records.add(i)).adjoint = T::zero() };
            }
            let _ = self.for_each_extension_record(|extension, i| {
                (extension.clear)(self, i);
                Ok(())
            });
        }
    }

    /// Propagates adjoints from record `last` down to record 0, handing each input's
    /// number and complete, non-zero adjoint to `input_adjoint` as it passes. Each
    /// record's arguments precede it, so when the scan reaches a record its adjoint is
    /// complete.
    pub(super) fn sweep_backward(&self, last: usize, input_adjoint: &mut impl FnMut(u32, T)) {
        // The scratch reserve exists for the sweep: release it, so that ops which
        // re-record during backward (checkpointed segments) may use the space.
        let reserved = self.reserved.replace(0);
        self.refresh_limit();
        self.sweep_backward_range(0, last, input_adjoint);
        self.reserved.set(reserved);
        self.refresh_limit();
    }

    /// Propagates adjoints from record `last` down to record `first` only (the backward
    /// of a block recorded at the end of the tape, when `first > 0`), handing inputs'
    /// adjoints to `input_adjoint` as [`sweep_backward`](Tape::sweep_backward) does.
    pub(crate) fn sweep_backward_range(
        &self,
        first: usize,
        last: usize,
        input_adjoint: &mut impl FnMut(u32, T),
    ) {
        if last < SMALL_TAPE {
            self.sweep_backward_over::<false>(first, last, input_adjoint)
        } else {
            self.sweep_backward_over::<true>(first, last, input_adjoint)
        }
    }

    /// [`sweep_backward_range`](Tape::sweep_backward_range), with arguments decoded as
    /// records past [`SMALL_TAPE`] need them when `LARGE`.
    fn sweep_backward_over<const LARGE: bool>(
        &self,
        first: usize,
        last: usize,
        input_adjoint: &mut impl FnMut(u32, T),
    ) {
        if self.worth_prefetching::<LARGE>(first, last) {
            self.sweep_backward_with::<LARGE, true>(first, last, input_adjoint)
        } else {
            self.sweep_backward_with::<LARGE, false>(first, last, input_adjoint)
        }
    }

    /// Whether a sweep from `last` down to `first` should prefetch arguments (see
    /// [`prefetch_arguments`]): when the records are too many for the caches, and
    /// [`PREFETCH_SAMPLES`] records spread over them find arguments that miss often
    /// enough. Such an argument is more than [`PREFETCH_AHEAD`] records below its user,
    /// beyond the lines the hardware fetches ahead of the sweep, and not an input:
    /// inputs come first and are used all through most tapes (llsq's coefficients,
    /// det's matrix, gmm's parameters), so they stay in a cache, and a sweep that
    /// prefetched for them lost 15–30% to the prefetches' own cost.
    fn worth_prefetching<const LARGE: bool>(&self, first: usize, last: usize) -> bool {
        // Where `prefetch` is no hint, the prefetching loop is not even compiled in
        // (firmware flash).
        if !HAS_PREFETCH || last - first < PREFETCH_FROM {
            return false;
        }
        let records = self.records_ptr();
        let inputs_end = self.inputs_end.get() as usize;
        let step = ((last - first) / PREFETCH_SAMPLES).max(1);
        let mut far = 0;
        for j in (first..last).step_by(step).take(PREFETCH_SAMPLES) {
            // SAFETY: `j < last < len`.
            let record = unsafe { records.add(j).read() };
            if !matches!(
                record.op().arity(),
                Arity::Unary | Arity::Binary | Arity::WideConstant
            ) {
                continue;
            }
            let misses = |x: u32| x as usize >= inputs_end && j - x as usize > PREFETCH_AHEAD;
            far += usize::from(
                record
                    .arguments_in::<LARGE>(j as u32)
                    .into_iter()
                    .any(misses),
            );
        }
        far * PREFETCH_SHARE >= PREFETCH_SAMPLES
    }

    /// [`sweep_backward_over`](Tape::sweep_backward_over), prefetching arguments ahead
    /// of the sweep when `PREFETCH` (see [`prefetch_arguments`]).
    fn sweep_backward_with<const LARGE: bool, const PREFETCH: bool>(
        &self,
        first: usize,
        last: usize,
        input_adjoint: &mut impl FnMut(u32, T),
    ) {
        let records: *mut Record<T> = self.records_ptr();
        let wide = self.wide_constants();
        // The adjoint of the record the sweep reaches next, `i − 1`, held in a register
        // while record `i` adds its shares to it (see `send`).
        // SAFETY: `last < len`.
        let mut next = unsafe { (*records.add(last)).adjoint };
        // `first..last + 1`, not `first..=last`: an inclusive range's reverse step keeps a
        // flag of its own, a few instructions a record in a loop of a few dozen.
        for i in (first..last + 1).rev() {
            // SAFETY: `i <= last < len`, and every argument index is below `i` (it was a
            // live handle when the record was made), so all accesses are to written
            // records, and the argument records are distinct from record `i`.
            unsafe {
                let slot = records.add(i);
                let record = slot.read();
                // Complete now: every later record has sent its share. Stored, because
                // `grad` reads any record's adjoint, and tensor ops read it from the slot.
                let adjoint = next;
                (*slot).adjoint = adjoint;
                // Every later record has sent its share to record `i − 1` too, except this
                // one. (At record 0 this reads record 0 again, and nothing uses it.)
                let previous = records.add(i.saturating_sub(1));
                next = (*previous).adjoint;
                // Scalar records the output does not depend on have a zero adjoint; skipping
                // them keeps an infinite partial there (sqrt at 0) from making `0 · ∞ = NaN`.
                // Tensor records keep their gradients in their own buffers, so they always run.
                if adjoint.is_zero() && record.op() != Op::Tensor {
                    continue;
                }
                if PREFETCH {
                    // Near `first`, it prefetches for records below it, which this
                    // sweep never reaches: written records all the same, so harmless.
                    prefetch_arguments::<T, LARGE>(records, i.saturating_sub(PREFETCH_AHEAD));
                }
                // `+ − ×` of two variables (most records of most tapes) by compare and
                // branch on the raw op code, ahead of the full dispatch. That dispatch is
                // one indirect jump, whose target this CPU predicted well or badly
                // depending on where the code landed: one tape's backward took 11 to 41 µs
                // across builds that changed nothing in this loop (BENCHMARKS.md).
                // Conditional branches do not share that fate, and with these three gone
                // the jump sees fewer targets in a row.
                if record.is(Op::Mul) || record.is(Op::Add) || record.is(Op::Sub) {
                    let a = record.a_in::<LARGE>(i as u32) as usize;
                    let b = record.b as usize;
                    // The shares of `+` and `−` are the adjoint itself (and its negation):
                    // exactly what multiplying by ±1 gives, without the multiply's
                    // latency on the sweep's critical path.
                    let (share_a, share_b) = if record.is(Op::Mul) {
                        (
                            adjoint * (*records.add(b)).value,
                            adjoint * (*records.add(a)).value,
                        )
                    } else if record.is(Op::Add) {
                        (adjoint, adjoint)
                    } else {
                        (adjoint, -adjoint)
                    };
                    if a == b {
                        send_both(records, a, i, share_a, share_b, &mut next);
                    } else {
                        send(records, a, i, share_a, &mut next);
                        send(records, b, i, share_b, &mut next);
                    }
                    continue;
                }
                let op = record.op();
                dispatch_op!(op,
                    leaf => {
                        if op == Op::Input {
                            input_adjoint(record.b, adjoint);
                        }
                    },
                    unary(op) => {
                        let x = record.a_in::<LARGE>(i as u32) as usize;
                        let partial = op.unary_partial_recorded((*records.add(x)).value, record.value, record.b as i32);
                        send(records, x, i, adjoint * partial, &mut next);
                    },
                    binary(op) => {
                        let a = record.a_in::<LARGE>(i as u32) as usize;
                        let b = record.b as usize;
                        let (da, db) = op.binary_partials_recorded((*records.add(a)).value, (*records.add(b)).value, record.value);
                        send(records, a, i, adjoint * da, &mut next);
                        send(records, b, i, adjoint * db, &mut next);
                    },
                    wide(op) => {
                        let x = record.a_in::<LARGE>(i as u32) as usize;
                        let c = wide.get(record.b);
                        let partial = op.partial_with_constant((*records.add(x)).value, record.value, c);
                        send(records, x, i, adjoint * partial, &mut next);
                    },
                    tensor => {
                        (self.extension_of(i as u32).backward)(self, i as u32);
                        // It sent its shares to the slots, that of record `i − 1` included.
                        next = (*previous).adjoint;
                    },
                )
            }
        }
        // A range that starts past record 0 hands the record before it what it received.
        if first > 0 {
            // SAFETY: `first - 1 < last < len`.
            unsafe { (*records.add(first - 1)).adjoint = next };
        }
    }
}

/// Sweeps over at least this many records prefetch arguments (see
/// [`prefetch_arguments`]): 1.5 MiB of `f64` records, well past the L2 cache of the
/// CPUs measured. Below it, nearly every argument is in a cache already, and the
/// prefetches would be pure cost.
const PREFETCH_FROM: usize = 1 << 16;

/// Whether [`prefetch`] gives the CPU a hint on this target.
const HAS_PREFETCH: bool = cfg!(all(target_arch = "x86_64", not(miri)));

/// How many records [`worth_prefetching`](Tape::worth_prefetching) looks at, and the
/// share of them (one in this many) that must have an argument likely to miss.
const PREFETCH_SAMPLES: usize = 256;
const PREFETCH_SHARE: usize = 8;

/// How far below the record it processes the sweep prefetches arguments: far enough
/// for a line to come from memory while the records in between are processed.
const PREFETCH_AHEAD: usize = 64;

/// Prefetches the slots of record `j`'s arguments, which the sweep reaches
/// [`PREFETCH_AHEAD`] records later.
///
/// Why: an argument recorded long before its use (an LSTM's state from the previous
/// character, an ODE's state from the previous step) was last touched when it was
/// recorded or replayed, a whole tape earlier, so its slot is in no cache when the
/// sweep loads its value and adds to its adjoint. The hardware prefetcher follows the
/// sweep down the records, not such jumps. In GradBench's lstm that load held about
/// 70% of the sweep's time, one miss a dependency at a time.
///
/// Only records with a non-zero adjoint prefetch (the caller skips the others first):
/// a sweep through a region the output does not depend on (most of an ODE's
/// recording) would otherwise fetch lines nothing reads, and was twice as slow.
#[inline(always)]
unsafe fn prefetch_arguments<T: Real, const LARGE: bool>(records: *mut Record<T>, j: usize) {
    // SAFETY (caller): `j` is a written record.
    let record = unsafe { records.add(j).read() };
    for argument in record.arguments_in::<LARGE>(j as u32) {
        prefetch(records.wrapping_add(argument as usize));
    }
}

/// Asks for the cache line of `record`'s adjoint (and, but for one record in eight,
/// which straddles two lines, its value). A hint only: on targets without a stable
/// prefetch instruction in Rust, and under Miri, it does nothing.
#[inline(always)]
fn prefetch<T>(record: *const Record<T>) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        // Keep in step with `HAS_PREFETCH`.
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let adjoint = record
            .cast::<i8>()
            .wrapping_add(core::mem::offset_of!(Record<T>, adjoint));
        // SAFETY: every x86-64 CPU has SSE, and a prefetch neither reads nor faults,
        // whatever the address: an index that is not an argument (a record with one
        // argument repeats it) costs a wasted line at most.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(adjoint) };
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = record;
}

/// Adds record `from`'s `contribution` to the adjoint of its argument `argument`.
///
/// Most records are an argument of the very next one, so a sweep that added every
/// contribution to its slot would, at nearly every step, load the adjoint the step
/// before had just stored, and wait for that store: on the sweep's critical path, a
/// store-to-load forward on top of the multiply and the add. So the adjoint of record
/// `from − 1` is in a register, `next` (loaded from its slot at the start of the step,
/// off that path), and its share is added there. The adds are the same, in the same
/// order, as if every share went to its slot: every adjoint is the same to the bit.
#[inline(always)]
unsafe fn send<T: Real>(
    records: *mut Record<T>,
    argument: usize,
    from: usize,
    contribution: T,
    next: &mut T,
) {
    if argument + 1 == from {
        *next += contribution;
    } else {
        // SAFETY (caller): `argument` is a written record below `from`.
        unsafe { (*records.add(argument)).adjoint += contribution };
    }
}

/// [`send`] of both shares of a record whose two arguments are one record (`x · x`,
/// `x + x`), in turn: the same two adds in the same order, but the slot is loaded and
/// stored once. Two sends would store the first sum and load it straight back, and
/// that store-to-load forward is on the sweep's critical path (a square's argument is
/// usually needed again a few records later).
#[inline(always)]
unsafe fn send_both<T: Real>(
    records: *mut Record<T>,
    argument: usize,
    from: usize,
    first: T,
    second: T,
    next: &mut T,
) {
    if argument + 1 == from {
        *next = *next + first + second;
    } else {
        // SAFETY (caller): `argument` is a written record below `from`.
        unsafe {
            let slot = &mut (*records.add(argument)).adjoint;
            *slot = *slot + first + second;
        }
    }
}

/// Fails unless a Jacobian buffer of `len` entries holds `outputs × inputs` of them.
pub(super) fn check_jacobian_len(outputs: usize, inputs: usize, len: usize) -> Result<()> {
    let expected = outputs.checked_mul(inputs).ok_or(Error::SizeOverflow)?;
    if len != expected {
        return Err(Error::LengthMismatch {
            what: "jacobian buffer length",
            got: len,
            against: "outputs × inputs",
            expected,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Tape, VarId};
    use core::mem::MaybeUninit;

    /// `∂output/∂input` for every input, by the sweep that prefetches or the one that
    /// does not, as bits.
    fn input_gradient<const PREFETCH: bool>(tape: &Tape<'_, f64>, output: VarId) -> [u64; 8] {
        let mut grads = [0u64; 8];
        tape.begin_backward(output).unwrap();
        tape.sweep_backward_with::<false, PREFETCH>(0, output.index as usize, &mut |n, g| {
            grads[n as usize] = g.to_bits()
        });
        grads
    }

    /// A sweep over a long recurrence whose state is read again a step (120 records)
    /// later, as an LSTM's is, takes the prefetching loop; one whose only far
    /// arguments are inputs (llsq's coefficients), and a short one, do not. Prefetching
    /// changes no adjoint, to the bit.
    #[test]
    fn long_recurrences_prefetch_and_their_gradients_do_not_change() {
        // Under Miri (where a prefetch does nothing), a short tape: the prefetching loop's
        // reads ahead are still checked.
        const RECORDS: usize = if cfg!(miri) {
            2000
        } else {
            super::PREFETCH_FROM + 8192
        };
        const BYTES: usize = (RECORDS + 64) * 24;
        static mut MEMORY: [MaybeUninit<u8>; BYTES] = [MaybeUninit::uninit(); BYTES];
        // SAFETY: only this test uses `MEMORY`.
        let memory = unsafe { &mut *core::ptr::addr_of_mut!(MEMORY) };
        let mut tape = Tape::<f64>::new(memory).unwrap();
        {
            let x: [_; 8] = core::array::from_fn(|i| tape.input(0.1 * i as f64 - 0.3));
            // A state of 40 values; each step reads the last step's, 120 records back.
            let mut state: [_; 40] = core::array::from_fn(|i| x[i % 8]);
            while tape.len() + 200 < RECORDS {
                tape.status().unwrap();
                state = core::array::from_fn(|i| (state[i] * x[i % 8] + state[(i + 1) % 40]).sin());
            }
            // Only where a prefetch is a hint (and the tape is long enough: not under Miri).
            let len = tape.len();
            assert_eq!(
                tape.worth_prefetching::<false>(0, len - 1),
                super::HAS_PREFETCH
            );
            let output = state[0];
            let with = input_gradient::<true>(&tape, output.id());
            let without = input_gradient::<false>(&tape, output.id());
            assert!(with.iter().all(|&g| f64::from_bits(g).is_finite()));
            assert!(with.iter().any(|&g| f64::from_bits(g) != 0.0));
            assert_eq!(with, without);
        }
        if cfg!(miri) {
            return;
        }
        tape.reset();
        {
            // The same length, every term near its arguments but for the inputs.
            let x: [_; 8] = core::array::from_fn(|i| tape.input(0.1 * i as f64 - 0.3));
            let mut sum = x[0];
            let mut k = 0;
            while tape.len() + 8 < RECORDS {
                tape.status().unwrap();
                sum = sum + (x[k % 8] * 0.5 + 1.0).sin();
                k += 1;
            }
            assert!(!tape.worth_prefetching::<false>(0, tape.len() - 1));
            // Too short to prefetch at all.
            assert!(!tape.worth_prefetching::<false>(0, super::PREFETCH_FROM - 1));
        }
    }

    /// The adjoint of the record just before is held in a register while a record sends
    /// it shares; every record's adjoint must still end up in its slot, and a sweep over a
    /// range must hand on what its first record sent the record before the range.
    #[test]
    fn shares_sent_to_the_previous_record_reach_its_slot() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 4096];
        let tape = Tape::<f64>::new(&mut memory).unwrap();
        let x = tape.input(1.5);
        let y = x * 3.0; // record 1: its argument is record 0
        let s = y * y; // both arguments are the record before
        let t = s - y; // `y` two records back: through its slot
        let u = t + t; // both arguments are the record before
        tape.backward(u.id()).unwrap();
        // ∂u/∂t = 2, ∂u/∂s = 2, ∂u/∂y = 2·2y − 2, ∂u/∂x = 3·∂u/∂y.
        assert_eq!(t.grad(), 2.0);
        assert_eq!(s.grad(), 2.0);
        assert_eq!(y.grad(), 2.0 * 2.0 * 4.5 - 2.0);
        assert_eq!(x.grad(), 3.0 * (2.0 * 2.0 * 4.5 - 2.0));

        // A sweep of records 2..=4 alone: record 2 (`s = y·y`) owes record 1 its share.
        tape.clear_adjoints();
        // SAFETY: record 4 is live.
        unsafe { (*tape.records_ptr().add(4)).adjoint = 1.0 };
        tape.sweep_backward_range(2, 4, &mut |_, _| {});
        assert_eq!(y.grad(), 2.0 * 2.0 * 4.5 - 2.0);
        assert_eq!(x.grad(), 0.0, "record 0 is outside the range");
    }

    /// Every adjoint is the sum that adding each share to its slot gives, added in the
    /// same order, to the bit: the vector sweep, which does add each share to its slot,
    /// agrees on a seeded random tape where records are squared (`x · x`, both shares to
    /// the record before, or to an earlier one's slot) and used again later (shares from
    /// elsewhere too), in `f32`, where a change of order would show.
    #[test]
    fn adjoints_are_the_slot_by_slot_sums_to_the_bit() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 1 << 15];
        let tape = Tape::<f32>::new(&mut memory).unwrap();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut draw = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        const INPUTS: usize = 16;
        let mut vars = [tape.input(0.5); 400];
        for (k, var) in vars.iter_mut().enumerate().take(INPUTS).skip(1) {
            *var = tape.input(0.9 - 0.1 * k as f32);
        }
        for k in INPUTS..vars.len() {
            // The last value, and one of the few before it (most values are used again).
            let (last, earlier) = (vars[k - 1], vars[k - 2 - draw(INPUTS - 1)]);
            // Every value stays within [−1, 1].
            vars[k] = match draw(7) {
                0 | 1 => last * last - 0.5,
                2 => (last * earlier + 0.5) * 0.6,
                3 => (earlier - last) * 0.5,
                // Both shares of one record to an earlier record's slot.
                4 => earlier * earlier * 0.9,
                5 => (earlier + earlier) * 0.4,
                _ => (last + earlier).sin(),
            };
        }
        let output = vars[vars.len() - 1];
        let mut by_register = [0.0f32; INPUTS];
        let mut by_slot = [0.0f32; INPUTS];
        tape.gradient_into(output.id(), &mut by_register).unwrap();
        tape.reverse_vector(&[output.id()], &[1.0], 1, &mut by_slot)
            .unwrap();
        assert!(by_register.iter().all(|g| g.is_finite()) && by_register.iter().any(|g| *g != 0.0));
        assert_eq!(by_register.map(f32::to_bits), by_slot.map(f32::to_bits));
    }

    /// A record whose shares cancel (one from a later record, one from the next record,
    /// added in the register) has a zero adjoint, and the records behind it get nothing
    /// from it.
    #[test]
    fn shares_that_cancel_leave_a_zero_adjoint() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 4096];
        let tape = Tape::<f64>::new(&mut memory).unwrap();
        let x = tape.input(0.0);
        let r = x.cbrt(); // its partial with respect to `x` is infinite at 0
        let q = -r; // sends −1 to `r` through the register
        let z = q + r; // sends +1 to `r` through its slot
        tape.backward(z.id()).unwrap();
        assert_eq!(q.grad(), 1.0);
        assert_eq!(r.grad(), 0.0);
        assert_eq!(x.grad(), 0.0, "not 0 · ∞");
    }
}
