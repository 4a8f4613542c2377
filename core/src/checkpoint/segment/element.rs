//! What checkpointed segments need from the layer above them.
//!
//! A segment keeps tensor outputs and re-runs blocks that record tensor ops, but the
//! checkpoint layer sits below the tensor layer and never names it: it asks through
//! [`SegmentElement`], which the tensor layer implements for its element types
//! (`tensor/segment_support.rs`). The tape's extension mechanism does the rest.

use crate::error::Result;
use crate::real::Real;
use crate::shape::Shape;
use crate::tape::{Extension, Tape, VarId};

/// The buffers of a tensor record. A rank-0 tensor's point into its tape record.
/// Public only so that [`SegmentElement`] can name it; it is not reachable from outside.
#[derive(Clone, Copy)]
pub struct TensorView<T> {
    pub shape: Shape,
    pub len: usize,
    pub value: *mut T,
    /// Null for constants.
    pub grad: *mut T,
    /// Null until a tangent sweep allocates it.
    pub tangent: *mut T,
}

/// An element type checkpointed segments can record: `f32` and `f64`. Every `Float`
/// is one; the methods are the tensor layer's answers about records of a tape.
pub trait SegmentElement: Real {
    /// The sweep functions of segment records and of their scalar output records: a
    /// static per type, since records are recognised by the address of their table.
    fn segment_extensions() -> &'static [Extension<Self>; 2];

    /// The buffers of record `index`, if it is a tensor record.
    fn tensor_view(tape: &Tape<'_, Self>, index: u32) -> Option<TensorView<Self>>;

    /// True when a record in `from..to` is a tensor on a device, or reads one. Segments
    /// refuse those: recording a block again in backward would take device memory that
    /// nothing gives back before `reset`.
    fn has_device_records(tape: &Tape<'_, Self>, from: usize, to: usize) -> bool;

    /// The version of the data tensor record `index` reads: a parameter's for a
    /// parameter use, the node's own otherwise. `None` for scalar records.
    fn tensor_version(tape: &Tape<'_, Self>, index: u32) -> Option<u32>;

    /// `(parameter, version)` when record `index` is a use of a parameter.
    fn param_use(tape: &Tape<'_, Self>, index: u32) -> Option<(u32, u32)>;

    /// Makes tensor record `index`'s gradient ready to be added to.
    fn prepare_grad(tape: &Tape<'_, Self>, index: u32);

    /// The current version of parameter `index`.
    fn param_version(tape: &Tape<'_, Self>, index: u32) -> u32;

    /// Records the leaf that stands for a segment's tensor output: shape `shape`, value
    /// and gradient in the given buffers of `len` elements (which must live as long as
    /// the record), or, for rank 0, in the record itself, with value `scalar`.
    fn push_segment_output(
        tape: &Tape<'_, Self>,
        shape: Shape,
        len: usize,
        value: *mut Self,
        grad: *mut Self,
        scalar: Self,
    ) -> Result<VarId>;

    /// The tangent buffer of tensor record `index`, allocated (zeroed) if no sweep has
    /// yet, as the tangent sweep would.
    fn tensor_tangent_buffer(tape: &Tape<'_, Self>, index: u32) -> Result<*mut Self>;
}
