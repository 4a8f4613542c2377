//! Hessian-vector products: forward-over-reverse on a tape of dual numbers.
//!
//! Record `f` on a `Tape<Dual<T>>`. Replaying it at inputs `x + ε·v` makes every value a
//! dual whose tangent is its directional derivative along `v`; the backward sweep then
//! computes adjoints as duals too, and the tangent of each input's adjoint is
//! `(∇²f · v)ᵢ`. No extra machinery: the derivative rules are generic over `Real`.

use super::{Tape, VarId};
use crate::dual::Dual;
use crate::error::{Error, Result};
use crate::real::Real;

impl<'m, T: Real> Tape<'m, Dual<T>> {
    /// At inputs `x`, writes `∇f(x)` into `gradient_out` and `∇²f(x)·v` into `hv_out`,
    /// where `f` is the recorded `output`. Every slice has one entry per input. The
    /// recorded values are replaced by those at `x` (with tangents `v`). Needs one dual
    /// per input of arena scratch, given back before returning.
    pub fn hessian_vector_product(
        &self,
        output: VarId,
        x: &[T],
        v: &[T],
        gradient_out: &mut [T],
        hv_out: &mut [T],
    ) -> Result<()> {
        self.status()?;
        self.check_handle(output)?;
        let n = self.num_inputs();
        for (what, got) in [
            ("hessian_vector_product: x length", x.len()),
            ("hessian_vector_product: v length", v.len()),
            (
                "hessian_vector_product: gradient length",
                gradient_out.len(),
            ),
            ("hessian_vector_product: hv length", hv_out.len()),
        ] {
            if got != n {
                return Err(Error::LengthMismatch {
                    what,
                    got,
                    against: "the number of inputs",
                    expected: n,
                });
            }
        }
        // Scratch for a query, not a recording: a failure leaves the tape's state alone.
        let mark = self.high_mark();
        let seeded = self.alloc_below_reserve(n, Dual::<T>::default(), self.reserved.get())?;
        // SAFETY: `n` initialised duals that nothing else refers to.
        let seeded = unsafe { core::slice::from_raw_parts_mut(seeded.as_ptr(), n) };
        for ((slot, &xi), &vi) in seeded.iter_mut().zip(x).zip(v) {
            *slot = Dual::new(xi, vi);
        }
        let result = self.replay(seeded).and_then(|()| self.backward(output));
        // SAFETY: `seeded` is not used after this point.
        unsafe { self.release_to(mark) };
        result?;
        for ((g, hv), adjoint) in gradient_out
            .iter_mut()
            .zip(hv_out.iter_mut())
            .zip(self.input_adjoints())
        {
            *g = adjoint.value;
            *hv = adjoint.tangent;
        }
        Ok(())
    }
}
