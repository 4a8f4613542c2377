//! What checkpointed segments (`crate::checkpoint::segment`) need from the tensor
//! layer: a view of a tensor record's buffers, the leaves that stand for a segment's
//! tensor outputs, and parameter versions.

use super::float::Float;
use super::node::{Kind, Node};
use super::TensorId;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::{Tape, VarId};

/// The buffers of a tensor record. A rank-0 tensor's point into its tape record.
#[derive(Clone, Copy)]
pub(crate) struct TensorView<T> {
    pub shape: Shape,
    pub len: usize,
    pub value: *mut T,
    /// Null for constants.
    pub grad: *mut T,
    /// Null until a tangent sweep allocates it.
    pub tangent: *mut T,
}

impl<T: Float> Tape<'_, T> {
    /// The buffers of record `index`, if it is a tensor record.
    pub(crate) fn tensor_view(&self, index: u32) -> Option<TensorView<T>> {
        self.node_at(index).map(|node| TensorView {
            shape: node.shape,
            len: node.len,
            value: node.value,
            grad: node.grad,
            tangent: node.tangent,
        })
    }

    /// True when a record in `from..to` is a tensor on a device, or reads one (a
    /// `to_host`). Checkpointed segments refuse those: recording a block again in
    /// backward would take device memory that nothing gives back before `reset`.
    pub(crate) fn has_device_records(&self, from: usize, to: usize) -> bool {
        (from..to).any(|i| {
            self.node_at(i as u32)
                .is_some_and(|node| super::device::sweep::runs_on_device(&node))
        })
    }

    /// The version of the data tensor record `index` reads: a parameter's for a
    /// parameter use, the node's own otherwise. `None` for scalar records.
    pub(crate) fn tensor_version(&self, index: u32) -> Option<u32> {
        let node = self.node_at(index)?;
        Some(if node.kind == Kind::Param {
            super::param::version(self, node.param)
        } else {
            node.version
        })
    }

    /// `(parameter, version)` when record `index` is a use of a parameter.
    pub(crate) fn param_use(&self, index: u32) -> Option<(u32, u32)> {
        let node = self.node_at(index)?;
        (node.kind == Kind::Param).then_some((node.param, node.version))
    }

    /// Makes tensor record `index`'s gradient ready to be added to (a parameter use's
    /// gradient may be marked zero without being cleared).
    pub(crate) fn prepare_grad(&self, index: u32) {
        if let Some(node) = self.node_at(index) {
            super::param::materialize_grad(self, &node);
        }
    }

    /// The current version of parameter `index`.
    pub(crate) fn param_version(&self, index: u32) -> u32 {
        super::param::version(self, index)
    }

    /// Records the leaf that stands for a segment's tensor output: shape `shape`, value
    /// and gradient in the given buffers of `len` elements (which must live as long as
    /// the record), or, for rank 0, in the record itself, with value `scalar`.
    pub(crate) fn push_segment_output(
        &self,
        shape: Shape,
        len: usize,
        value: *mut T,
        grad: *mut T,
        scalar: T,
    ) -> Result<VarId> {
        let node = Node::new(Kind::SegmentOutput, shape, len);
        if shape.rank() == 0 {
            let (id, node) = self.push_node(node, false)?;
            // SAFETY: a rank-0 node's value is its record's value slot.
            unsafe { *node.value = scalar };
            Ok(id.var())
        } else {
            let (id, _) = self.push_node_sharing(node, value, grad)?;
            Ok(id.var())
        }
    }

    /// The tangent buffer of tensor record `index`, allocated (zeroed) if no sweep has
    /// yet, as the tangent sweep would.
    pub(crate) fn tensor_tangent_buffer(&self, index: u32) -> Result<*mut T> {
        let node = self
            .node_at(index)
            .ok_or(Error::InvalidArgument("expected a tensor record"))?;
        if !node.tangent.is_null() {
            return Ok(node.tangent);
        }
        let buffer = if node.rank0() {
            self.record_slots(index)
                .map(|(_, adjoint)| adjoint)
                .ok_or(Error::InvalidArgument("tensor record vanished"))?
        } else {
            self.alloc(node.len, T::zero())?.as_ptr()
        };
        self.update_node(index, |node| node.tangent = buffer);
        Ok(buffer)
    }
}

impl From<VarId> for TensorId {
    /// The same record as a tensor handle (checked as one when used).
    fn from(id: VarId) -> TensorId {
        TensorId::from_var(id)
    }
}

impl From<TensorId> for VarId {
    /// The same record as a scalar handle: what [`TensorId::as_var`] returns.
    fn from(id: TensorId) -> VarId {
        id.var()
    }
}
