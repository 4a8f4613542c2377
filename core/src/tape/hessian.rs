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
    /// recorded values are replaced by those at `x` (with tangents `v`). Needs no memory:
    /// the replay makes each input's dual as it reads it.
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
        self.replay_with(n, |k| Dual::new(x[k], v[k]))?;
        self.backward(output)?;
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
