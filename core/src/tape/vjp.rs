//! Vector-Jacobian products with several seeded outputs.

use super::{Tape, VarId};
use crate::error::{Error, Result};
use crate::real::Real;

impl<'m, T: Real> Tape<'m, T> {
    /// Runs backward from several outputs at once: afterwards [`grad`](Tape::grad) of
    /// every variable `v` is `Σᵢ seeds[i] · ∂outputs[i]/∂v`, a vector-Jacobian product.
    ///
    /// Every adjoint is cleared, then `seeds[i]` is added to the adjoint of
    /// `outputs[i]` (in order, so a repeated output gets the sum), and one sweep runs
    /// from the highest output down to record 0. An output may be any live variable,
    /// an input included: seeding an input adds the seed to its gradient.
    ///
    /// Unlike [`backward`](Tape::backward) it does not refuse a non-finite output value
    /// (a zero seed on it is meaningful). Fails with the tape's pending error, a handle
    /// error, or [`Error::InvalidArgument`] when the slices differ in length; the tape
    /// stays usable.
    pub fn vjp(&self, outputs: &[VarId], seeds: &[T]) -> Result<()> {
        if outputs.len() != seeds.len() {
            return Err(Error::LengthMismatch {
                what: "vjp: seed length",
                got: seeds.len(),
                against: "the number of outputs",
                expected: outputs.len(),
            });
        }
        self.vjp_with(outputs, |i| seeds[i])
    }

    /// [`vjp`](Tape::vjp) with the seed of `outputs[i]` given by `seed(i)`: how a row of a
    /// weight matrix seeds a sweep without a copy.
    pub(super) fn vjp_with(&self, outputs: &[VarId], seed: impl Fn(usize) -> T) -> Result<()> {
        self.refuse_in_callback("vjp")?;
        self.status()?;
        let mut last = None::<u32>;
        for &output in outputs {
            self.check_handle(output)?;
            last = Some(last.map_or(output.index, |l| l.max(output.index)));
        }
        self.for_each_extension_record(|extension, i| (extension.check)(self, i))?;
        self.clear_adjoints();
        self.slots_hold(super::SlotContent::Adjoints);
        let Some(last) = last else {
            return Ok(());
        };
        let records = self.records_ptr();
        for (i, &output) in outputs.iter().enumerate() {
            // SAFETY: `output` was checked to be a live record index.
            unsafe { (*records.add(output.index as usize)).adjoint += seed(i) };
        }
        self.sweep_backward(last as usize, &mut |_, _| {});
        self.status()
    }
}

#[cfg(test)]
mod tests {
    use crate::Tape;
    use core::mem::MaybeUninit;

    #[test]
    fn seeds_combine_linearly() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let x = tape.input(1.5);
        let y = tape.input(-0.5);
        let a = x * y; // ∂a = (y, x)
        let b = x.sin() + y; // ∂b = (cos x, 1)
        tape.vjp(&[a.id(), b.id()], &[2.0, 3.0]).unwrap();
        assert_eq!(x.grad(), 2.0 * -0.5 + 3.0 * 1.5f64.cos());
        assert_eq!(y.grad(), 2.0 * 1.5 + 3.0);
        // Seeding an input adds to its gradient; a repeated output gets both seeds.
        tape.vjp(&[a.id(), x.id(), a.id()], &[1.0, 10.0, 1.0])
            .unwrap();
        assert_eq!(x.grad(), 10.0 + 2.0 * -0.5);
        assert_eq!(y.grad(), 2.0 * 1.5);
        // Matches backward for a single unit seed.
        tape.vjp(&[b.id()], &[1.0]).unwrap();
        let g = x.grad();
        tape.backward(b.id()).unwrap();
        assert_eq!(g, x.grad());
        assert!(tape.vjp(&[a.id()], &[]).is_err());
        tape.vjp(&[], &[]).unwrap();
        assert_eq!(x.grad(), 0.0);
    }
}
