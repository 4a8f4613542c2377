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
        if x.len() != n || v.len() != n || gradient_out.len() != n || hv_out.len() != n {
            return Err(Error::InvalidArgument(
                "hessian_vector_product: every slice needs one entry per input",
            ));
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
