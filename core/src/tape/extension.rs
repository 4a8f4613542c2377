//! How the tape reaches records made by a layer above it (the tensor layer) without
//! naming that layer: a table of functions, one per sweep, installed by the layer the
//! first time it records. Records of op [`Op::Tensor`](crate::Op::Tensor) dispatch
//! through it; scalar records never look at it.

use super::Tape;
use crate::error::Result;
use crate::real::Real;

/// The sweeps of an extension layer, each given the tape and a record index.
pub struct Extension<T: Real> {
    /// Adds record `i`'s contribution to its arguments' adjoints.
    pub backward: for<'a, 'm> fn(&'a Tape<'m, T>, u32),
    /// Computes record `i`'s tangent from its arguments' tangents (one lane).
    pub tangent: for<'a, 'm> fn(&'a Tape<'m, T>, u32) -> Result<()>,
    /// Recomputes record `i`'s value from its arguments' values.
    pub replay: for<'a, 'm> fn(&'a Tape<'m, T>, u32),
    /// Zeroes record `i`'s adjoint storage.
    pub clear: for<'a, 'm> fn(&'a Tape<'m, T>, u32),
    /// Fails when record `i` can no longer be differentiated (an input it needs was
    /// modified in place since it was recorded or replayed).
    pub check: for<'a, 'm> fn(&'a Tape<'m, T>, u32) -> Result<()>,
}

impl<T: Real> Tape<'_, T> {
    /// Installs the extension the tape dispatches `Op::Tensor` records through. The same
    /// table for the whole life of the tape (it survives resets).
    pub fn install_extension(&self, extension: &'static Extension<T>) {
        self.extension.set(Some(extension));
    }

    /// The installed extension, if any.
    pub fn extension(&self) -> Option<&'static Extension<T>> {
        self.extension.get()
    }

    /// Runs `f` over every record of op `Op::Tensor`, in recording order.
    pub(super) fn for_each_extension_record(
        &self,
        mut f: impl FnMut(&'static Extension<T>, u32) -> Result<()>,
    ) -> Result<()> {
        let Some(extension) = self.extension.get() else {
            return Ok(());
        };
        for i in 0..self.len.get() {
            if self.record(i).op() == crate::op::Op::Tensor {
                f(extension, i)?;
            }
        }
        Ok(())
    }
}
