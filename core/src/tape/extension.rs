//! How the tape reaches records made by layers above it (tensors, checkpointed segments)
//! without naming them.
//!
//! An extension record (op [`Op::Tensor`](crate::Op::Tensor)) carries a payload: the
//! arena offset, in 8-byte units, of a node the layer owns. Every such node starts with
//! an [`ExtensionHeader`], whose table of functions the sweeps call. Scalar records never
//! look at any of this.

use super::Tape;
use crate::error::{Error, Result};
use crate::real::Real;

/// Which layer made an extension record, so that a layer can tell its own records
/// (comparing table addresses cannot: a table of a generic `T` has no single address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionKind {
    Tensor,
    Segment,
    UserOp,
    Compare,
    Select,
}

/// The sweeps of an extension layer, each given the tape and a record index. Public
/// only so the sealed tensor trait can name it; it is not reachable from outside.
pub struct Extension<T: Real> {
    /// The layer the records belong to.
    pub kind: ExtensionKind,
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
    /// Re-points whatever record `i`'s node keeps inside the records (a rank-0
    /// tensor's value and adjoint slots) after growth moved them.
    pub relocated: for<'a, 'm> fn(&'a Tape<'m, T>, u32),
}

/// [`Extension::relocated`] for nodes that keep no pointer into the records.
pub(crate) fn nothing_to_relocate<T: Real>(_: &Tape<'_, T>, _: u32) {}

/// The first field of every extension node.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct ExtensionHeader<T: Real> {
    pub extension: &'static Extension<T>,
}

/// Extension nodes are aligned to this, and payloads count in these units.
pub(crate) const NODE_ALIGN: usize = 8;

impl<T: Real> Tape<'_, T> {
    /// Records an extension node that the caller has written at `node` (inside this
    /// tape's arena, aligned to [`NODE_ALIGN`], starting with an [`ExtensionHeader`]).
    /// `value` is the scalar a rank-0 result shows to scalar ops.
    pub(crate) fn push_extension(&self, node: *const ExtensionHeader<T>, value: T) -> super::VarId {
        let payload = self
            .arena_offset(node.cast())
            .and_then(|offset| offset.checked_add(self.node_misalignment()))
            .filter(|shifted| shifted % NODE_ALIGN == 0)
            .and_then(|shifted| u32::try_from(shifted / NODE_ALIGN).ok());
        match payload {
            Some(payload) => {
                let id = self.push_growing::<false>(super::record::Record::leaf(
                    crate::op::Op::Tensor,
                    payload,
                    value,
                ));
                if id.is_valid() {
                    self.has_extension_records.set(true);
                }
                id
            }
            None => self.fail(Error::SizeOverflow),
        }
    }

    /// The node of extension record `index`, which the caller knows to be one.
    pub(crate) fn extension_node(&self, index: u32) -> *mut u8 {
        let payload = self.record(index).b as usize;
        // `push_extension` made the payload at least the misalignment.
        self.arena
            .ptr_at((payload * NODE_ALIGN).saturating_sub(self.node_misalignment()))
    }

    /// How far the arena's start lies past an address aligned to [`NODE_ALIGN`]. Nodes
    /// are aligned by address, so payloads count from that aligned address, not from the
    /// arena's start: caller memory need not be aligned at all (a `[MaybeUninit<u8>; N]`).
    pub(super) fn node_misalignment(&self) -> usize {
        self.arena.ptr_at(0) as usize % NODE_ALIGN
    }

    /// The function table of extension record `index`.
    pub(crate) fn extension_of(&self, index: u32) -> &'static Extension<T> {
        // SAFETY: extension records are only made by `push_extension`, whose node starts
        // with an `ExtensionHeader` that lives as long as the record.
        unsafe { (*self.extension_node(index).cast::<ExtensionHeader<T>>()).extension }
    }

    /// True when record `index` (below `len`) is an extension record.
    pub(crate) fn is_extension_record(&self, index: u32) -> bool {
        index < self.len.get() && self.record(index).op() == crate::op::Op::Tensor
    }

    /// True when some live record is an extension record.
    pub(crate) fn has_extension_records(&self) -> bool {
        self.has_extension_records.get()
    }

    /// Runs `f` over every extension record, in recording order.
    pub(super) fn for_each_extension_record(
        &self,
        mut f: impl FnMut(&'static Extension<T>, u32) -> Result<()>,
    ) -> Result<()> {
        if !self.has_extension_records.get() {
            return Ok(());
        }
        for i in 0..self.len.get() {
            if self.record(i).op() == crate::op::Op::Tensor {
                f(self.extension_of(i), i)?;
            }
        }
        Ok(())
    }
}
