//! Forward sweeps over a recorded tape: tangents (Jacobian-vector products and Jacobians by
//! columns) and replay at new input values.

use super::backward::check_jacobian_len;
use super::record::{Record, SMALL_TAPE};
use super::{Tape, VarId};
use crate::error::{Error, Result};
use crate::op::{dispatch_op, Op};
use crate::real::Real;
use core::mem::size_of;

/// Tangent slots of `N` lanes per record, at a fixed byte stride: either the records'
/// own adjoint slots (one lane) or a scratch block (several lanes).
struct TangentSlots<T, const N: usize> {
    base: *mut u8,
    stride: usize,
    _lanes: core::marker::PhantomData<[T; N]>,
}

impl<T: Real, const N: usize> TangentSlots<T, N> {
    /// # Safety
    /// Slot `i` must lie inside the block the slots were made for.
    #[inline(always)]
    unsafe fn get(&self, i: u32) -> [T; N] {
        // SAFETY: the caller keeps `i` in range; base and stride keep `[T; N]` aligned.
        unsafe {
            self.base
                .add(i as usize * self.stride)
                .cast::<[T; N]>()
                .read()
        }
    }

    /// # Safety
    /// As for `get`.
    #[inline(always)]
    unsafe fn set(&self, i: u32, lanes: [T; N]) {
        // SAFETY: as in `get`.
        unsafe {
            self.base
                .add(i as usize * self.stride)
                .cast::<[T; N]>()
                .write(lanes)
        }
    }
}

impl<'m, T: Real> Tape<'m, T> {
    /// Runs forward with tangents: `seeds[k]` is the tangent of the k-th input (recording
    /// order). Afterwards [`tangent`](Tape::tangent) of every variable is its directional
    /// derivative `J·seeds`. Overwrites the adjoints of the last backward.
    pub fn jvp(&self, seeds: &[T]) -> Result<()> {
        self.jvp_from(seeds, |seed| seed)
    }

    /// [`jvp`](Tape::jvp) with seeds of another type, each converted by `convert` as the
    /// sweep reads it: how a host whose numbers are not `T` (the C API's `double`s on an
    /// `f32` tape) seeds a sweep without a copy.
    pub fn jvp_from<S: Copy>(&self, seeds: &[S], convert: impl Fn(S) -> T) -> Result<()> {
        self.jvp_with(seeds.len(), |k| convert(seeds[k]))
    }

    /// [`jvp`](Tape::jvp) with the tangent of the k-th of `count` inputs given by
    /// `seed(k)`: how a column of a seed matrix seeds a sweep without a copy.
    pub(super) fn jvp_with(&self, count: usize, seed: impl Fn(usize) -> T) -> Result<()> {
        self.refuse_in_callback("jvp")?;
        self.status()?;
        if count != self.num_inputs() {
            return Err(Error::LengthMismatch {
                what: "seed length",
                got: count,
                against: "the number of inputs",
                expected: self.num_inputs(),
            });
        }
        self.adjoints_dirty.set(true);
        self.slots_hold(super::SlotContent::Tangents);
        let slots = TangentSlots::<T, 1> {
            // The adjoint field of record 0; `[T; 1]` has `T`'s layout.
            base: self
                .records_ptr()
                .cast::<u8>()
                .wrapping_add(core::mem::offset_of!(Record<T>, adjoint)),
            stride: size_of::<Record<T>>(),
            _lanes: core::marker::PhantomData,
        };
        // SAFETY: the slots are the adjoint fields of the `len` live records.
        unsafe { self.sweep_tangents(&slots, |k| [if k < count { seed(k) } else { T::zero() }], 0) }
    }

    /// The one-lane tangent sweep over records `first..len` only, with every leaf
    /// among them at tangent zero: the tangents of a block recorded at the end of the
    /// tape, from the tangents already in the slots of the records it uses.
    pub(crate) fn sweep_tangents_from(&self, first: usize) -> Result<()> {
        let slots = TangentSlots::<T, 1> {
            base: self
                .records_ptr()
                .cast::<u8>()
                .wrapping_add(core::mem::offset_of!(Record<T>, adjoint)),
            stride: size_of::<Record<T>>(),
            _lanes: core::marker::PhantomData,
        };
        // SAFETY: the slots are the adjoint fields of the `len` live records.
        unsafe { self.sweep_tangents(&slots, |_| [T::zero()], first as u32) }
    }

    /// The Jacobian of `outputs` with respect to the inputs, by columns: forward sweeps
    /// carrying `N` input directions at once (vector forward mode, as with `DualN`).
    /// `jacobian` is row-major, `outputs.len() × num_inputs()`. Needs `len × N` values of
    /// scratch from the arena (or the growth hooks), given back before returning.
    pub fn jacobian_columns<const N: usize>(
        &self,
        outputs: &[VarId],
        jacobian: &mut [T],
    ) -> Result<()> {
        self.jacobian_columns_as::<N, T>(outputs, jacobian, |entry| entry)
    }

    /// [`jacobian_columns`](Tape::jacobian_columns) into a buffer of another type, each
    /// entry converted by `convert` as it is written.
    pub fn jacobian_columns_as<const N: usize, S>(
        &self,
        outputs: &[VarId],
        jacobian: &mut [S],
        convert: impl Fn(T) -> S,
    ) -> Result<()> {
        self.refuse_in_callback("jacobian_columns")?;
        self.status()?;
        let n = self.num_inputs();
        if N == 0 {
            return Err(Error::InvalidArgument(
                "jacobian_columns needs at least one lane",
            ));
        }
        if self.has_extension_records() {
            // Tensor tangents live in the tensors' own buffers, not in the lane scratch.
            return Err(Error::InvalidArgument(
                "jacobian_columns works on scalar tapes; use jacobian_rows on tapes with tensors",
            ));
        }
        check_jacobian_len(outputs.len(), n, jacobian.len())?;
        for &output in outputs {
            self.check_handle(output)?;
        }
        // `len × N` lanes: from the arena, or on a tape that may grow, from its host when
        // the arena cannot hold them. A failure leaves the tape's state alone.
        let lanes = self.len().checked_mul(N).ok_or(Error::SizeOverflow)?;
        self.with_scratch(lanes, |scratch: &mut [T]| {
            let slots = TangentSlots::<T, N> {
                base: scratch.as_mut_ptr().cast(),
                stride: size_of::<[T; N]>(),
                _lanes: core::marker::PhantomData,
            };
            for first in (0..n).step_by(N) {
                let seed = |k: usize| {
                    let mut lanes = [T::zero(); N];
                    if let Some(lane) = k.checked_sub(first).and_then(|j| lanes.get_mut(j)) {
                        *lane = T::one();
                    }
                    lanes
                };
                // SAFETY: `scratch` holds `len` slots of `[T; N]`.
                unsafe { self.sweep_tangents(&slots, seed, 0) }?;
                for (row, &output) in outputs.iter().enumerate() {
                    // SAFETY: `output` was checked to be a live record.
                    let lanes = unsafe { slots.get(output.index) };
                    for (j, lane) in lanes.iter().enumerate().take(n - first) {
                        jacobian[row * n + first + j] = convert(*lane);
                    }
                }
            }
            Ok(())
        })?
    }

    /// Re-evaluates every recorded value at new inputs (`inputs[k]` for the k-th input)
    /// without recording again, as ADOL-C's zero-order forward. The op sequence is the
    /// one recorded: host control flow that depended on values is not re-taken, though
    /// `min`, `max`, `abs` and [`select_id`](Tape::select_id) pick their branch at the
    /// new values. Host branches taken through [`branch`](Tape::branch) are checked:
    /// when one would now go the other way, replay fails with [`Error::BranchChanged`],
    /// which stays the tape's error until [`reset`](Tape::reset).
    pub fn replay(&self, inputs: &[T]) -> Result<()> {
        self.replay_from(inputs, |input| input)
    }

    /// [`replay`](Tape::replay) with inputs of another type, each converted by `convert`
    /// as the sweep reads it.
    pub fn replay_from<S: Copy>(&self, inputs: &[S], convert: impl Fn(S) -> T) -> Result<()> {
        self.replay_with(inputs.len(), |k| convert(inputs[k]))
    }

    /// [`replay`](Tape::replay) with the `k`-th of `count` inputs computed by `input(k)`.
    pub(crate) fn replay_with(&self, count: usize, input: impl Fn(usize) -> T) -> Result<()> {
        self.replay_values(count, input)?;
        if self.has_extension_records() {
            self.check_branches();
        }
        self.status()
    }

    /// The loop of [`replay_with`](Tape::replay_with), kept apart from the branch check
    /// that follows it: code after the loop in the same function slowed the loop by a
    /// third on scalar tapes (its layout changes).
    #[inline(never)]
    fn replay_values(&self, count: usize, input: impl Fn(usize) -> T) -> Result<()> {
        self.refuse_in_callback("replay")?;
        self.status()?;
        if count != self.num_inputs() {
            return Err(Error::LengthMismatch {
                what: "input length",
                got: count,
                against: "the number of inputs",
                expected: self.num_inputs(),
            });
        }
        // Rows planned for a vector forward sweep depend on the records, not on their
        // values: replay keeps them, so that the next such sweep need not plan again.
        let keep_rows = matches!(self.slot_content.get(), super::SlotContent::LaneRows(_));
        if !keep_rows {
            self.slots_hold(super::SlotContent::Nothing);
        }
        let inputs = (0..count).map(input);
        match (self.len() > SMALL_TAPE, !keep_rows) {
            (false, true) => self.replay_records::<false, true>(inputs),
            (true, true) => self.replay_records::<true, true>(inputs),
            (false, false) => self.replay_records::<false, false>(inputs),
            (true, false) => self.replay_records::<true, false>(inputs),
        }
        // Replay zeroed the scalar adjoints, unless it kept rows there; tensor gradients
        // live in their own buffers, which the next backward must still clear.
        self.adjoints_dirty
            .set(keep_rows || self.has_extension_records());
        // A checkpointed segment that fails to run its block again sets the error.
        self.status()
    }

    /// Every record's value again, from the inputs `next_input` yields, with arguments
    /// decoded as records past [`SMALL_TAPE`] need them when `LARGE`, and the adjoint
    /// slots zeroed when `ZERO_SLOTS`.
    #[inline(always)]
    fn replay_records<const LARGE: bool, const ZERO_SLOTS: bool>(
        &self,
        mut next_input: impl Iterator<Item = T>,
    ) {
        let records = self.records_ptr();
        let wide = self.wide_constants();
        for i in 0..self.len() {
            // SAFETY: `i < len`; arguments precede `i`, so their values are already new.
            unsafe {
                let record = records.add(i).read();
                // `+ − ×` of two variables by compare and branch on the raw op code ahead
                // of the full dispatch, as in backward (`sweep_backward_over`): the
                // dispatch's one indirect jump was predicted well or badly depending on
                // where the code landed (Rosenbrock's replay took 11.8 or 18.7 µs across
                // two builds that changed nothing in this loop).
                let value = if record.is(Op::Mul) || record.is(Op::Add) || record.is(Op::Sub) {
                    let a = (*records.add(record.a_in::<LARGE>(i as u32) as usize)).value;
                    let b = (*records.add(record.b as usize)).value;
                    if record.is(Op::Mul) {
                        a * b
                    } else if record.is(Op::Add) {
                        a + b
                    } else {
                        a - b
                    }
                } else {
                    let op = record.op();
                    dispatch_op!(op,
                        leaf => {
                            if op == Op::Input {
                                next_input.next().unwrap_or(record.value)
                            } else {
                                record.value
                            }
                        },
                        unary(op) => op.eval_unary_recorded((*records.add(record.a_in::<LARGE>(i as u32) as usize)).value, record.b as i32),
                        binary(op) => op.eval_binary_recorded(
                            (*records.add(record.a_in::<LARGE>(i as u32) as usize)).value,
                            (*records.add(record.b as usize)).value,
                        ),
                        wide(op) => op.eval_with_constant(
                            (*records.add(record.a_in::<LARGE>(i as u32) as usize)).value,
                            wide.get(record.b),
                        ),
                        tensor => {
                            (self.extension_of(i as u32).replay)(self, i as u32);
                            // A rank-0 tensor keeps its value in the record; re-read it.
                            (*records.add(i)).value
                        },
                    )
                };
                let slot = &mut *records.add(i);
                slot.value = value;
                if ZERO_SLOTS {
                    slot.adjoint = T::zero();
                }
            }
        }
    }

    /// The forward tangent sweep, once for every lane count, over records `first..len`.
    /// `seed(k)` gives the lanes of the k-th input met.
    ///
    /// # Safety
    /// `slots` must address `len` slots.
    unsafe fn sweep_tangents<const N: usize>(
        &self,
        slots: &TangentSlots<T, N>,
        seed: impl Fn(usize) -> [T; N],
        first: u32,
    ) -> Result<()> {
        let wide = self.wide_constants();
        let mut input = 0;
        for i in first..self.len.get() {
            let record = self.record(i);
            let op = record.op();
            if op == Op::Tensor {
                // Only reached with one lane (the slot is the record's own adjoint field):
                // `jacobian_columns` refuses several lanes on tapes with extensions.
                (self.extension_of(i).tangent)(self, i)?;
                continue;
            }
            let lanes = dispatch_op!(op,
                leaf => {
                    if op == Op::Input {
                        input += 1;
                        seed(input - 1)
                    } else {
                        [T::zero(); N]
                    }
                },
                unary(op) => {
                    let x = self.record(record.a(i));
                    let partial = op.unary_partial_recorded(x.value, record.value, record.b as i32);
                    // SAFETY: argument slots precede `i`.
                    unsafe { slots.get(record.a(i)) }.map(|t| times(t, partial))
                },
                binary(op) => {
                    let (a, b) = (self.record(record.a(i)), self.record(record.b));
                    let (da, db) = op.binary_partials_recorded(a.value, b.value, record.value);
                    // SAFETY: argument slots precede `i`.
                    let (ta, tb) = unsafe { (slots.get(record.a(i)), slots.get(record.b)) };
                    let mut lanes = [T::zero(); N];
                    for ((lane, ta), tb) in lanes.iter_mut().zip(ta).zip(tb) {
                        *lane = times(ta, da) + times(tb, db);
                    }
                    lanes
                },
                wide(op) => {
                    let x = self.record(record.a(i));
                    let c = wide.get(record.b);
                    let partial = op.partial_with_constant(x.value, record.value, c);
                    // SAFETY: argument slots precede `i`.
                    unsafe { slots.get(record.a(i)) }.map(|t| times(t, partial))
                },
                // Handled above, before the generic store.
                tensor => [T::zero(); N],
            );
            // SAFETY: `i < len`.
            unsafe { slots.set(i, lanes) };
        }
        Ok(())
    }
}

/// `tangent · partial`, but zero for a zero tangent whatever the partial: a direction
/// that does not move an argument must not pick up `0 · ∞ = NaN` from it.
#[inline(always)]
pub(super) fn times<T: Real>(tangent: T, partial: T) -> T {
    if tangent.is_zero() {
        T::zero()
    } else {
        tangent * partial
    }
}
