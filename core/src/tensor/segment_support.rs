//! The tensor layer's side of checkpointed segments: it answers
//! [`SegmentElement`]'s questions about tensor records (their buffers, the leaves that
//! stand for a segment's tensor outputs, parameter versions), so that the checkpoint
//! layer below never names tensors.

use super::float::Float;
use super::node::{Kind, Node};
use crate::checkpoint::segment::{SegmentElement, TensorView};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::{Extension, Tape, VarId};

impl<T: Float> SegmentElement for T {
    fn segment_extensions() -> &'static [Extension<T>; 2] {
        <T as super::float::sealed::Sealed>::segment_extensions()
    }

    fn tensor_view(tape: &Tape<'_, T>, index: u32) -> Option<TensorView<T>> {
        tape.node_at(index).map(|node| TensorView {
            shape: node.shape,
            len: node.len,
            value: node.value,
            grad: node.grad,
            tangent: node.tangent,
        })
    }

    fn has_device_records(tape: &Tape<'_, T>, from: usize, to: usize) -> bool {
        (from..to).any(|i| {
            tape.node_at(i as u32)
                .is_some_and(|node| super::on_device::sweep::runs_on_device(&node))
        })
    }

    fn tensor_version(tape: &Tape<'_, T>, index: u32) -> Option<u32> {
        let node = tape.node_at(index)?;
        Some(if node.kind == Kind::Param {
            super::param::version(tape, node.param)
        } else {
            node.version
        })
    }

    fn param_use(tape: &Tape<'_, T>, index: u32) -> Option<(u32, u32)> {
        let node = tape.node_at(index)?;
        (node.kind == Kind::Param).then_some((node.param, node.version))
    }

    fn prepare_grad(tape: &Tape<'_, T>, index: u32) {
        if let Some(node) = tape.node_at(index) {
            super::param::materialize_grad(tape, &node);
        }
    }

    fn param_version(tape: &Tape<'_, T>, index: u32) -> u32 {
        super::param::version(tape, index)
    }

    fn push_segment_output(
        tape: &Tape<'_, T>,
        shape: Shape,
        len: usize,
        value: *mut T,
        grad: *mut T,
        scalar: T,
    ) -> Result<VarId> {
        let node = Node::new(Kind::SegmentOutput, shape, len);
        if shape.rank() == 0 {
            let (id, node) = tape.push_node(node, false)?;
            // SAFETY: a rank-0 node's value is its record's value slot.
            unsafe { *node.value = scalar };
            Ok(id.var())
        } else {
            let (id, _) = tape.push_node_sharing(node, value, grad)?;
            Ok(id.var())
        }
    }

    fn tensor_tangent_buffer(tape: &Tape<'_, T>, index: u32) -> Result<*mut T> {
        let node = tape
            .node_at(index)
            .ok_or(Error::InvalidArgument("expected a tensor record"))?;
        if !node.tangent.is_null() {
            return Ok(node.tangent);
        }
        let buffer = if node.rank0() {
            tape.record_slots(index)
                .map(|(_, adjoint)| adjoint)
                .ok_or(Error::InvalidArgument("tensor record vanished"))?
        } else {
            tape.alloc(node.len, T::zero())?.as_ptr()
        };
        tape.update_node(index, |node| node.tangent = buffer);
        Ok(buffer)
    }
}
