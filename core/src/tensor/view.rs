//! Where a tensor's or parameter's host buffers are, for hosts that read them in place.
//!
//! The copying reads (`tensor_value`, `read_param_grad`, ...) are what Rust code uses. A
//! host that wraps the arena in its own array type (the Python package's numpy views)
//! needs the address instead, and takes on the rules a copy does not need: a tensor's
//! buffers live in the arena until the tape's next reset or end; a parameter's until the
//! tape ends. The contents change with every sweep, optimizer step or write.

use super::node::Node;
use super::param::{materialize, materialize_grad};
use super::{Float, ParamId, TensorId};
use crate::error::{Error, Result};
use crate::tape::Tape;

/// One of a tensor's or parameter's buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buffer {
    /// Its value.
    Value,
    /// Its gradient from the last backward sweep.
    Grad,
}

impl<T: Float> Tape<'_, T> {
    /// The address of tensor `t`'s value or gradient in the arena and its element count.
    /// The buffer stays in place until the tape's next reset or end. Rank-0 tensors
    /// (whose value and gradient are their record's slot, shared by the sweeps) and
    /// tensors on a device have no such buffer; a constant has no gradient.
    pub fn tensor_buffer(&self, t: TensorId, which: Buffer) -> Result<(*const T, usize)> {
        let node = self.node(t)?;
        if node.rank0() {
            return Err(Error::InvalidArgument(
                "a rank-0 tensor has no buffer of its own: read its value instead",
            ));
        }
        if node.on_device() {
            return Err(Error::UnsupportedOnDevice(
                "a tensor on a device has no buffer in the arena",
            ));
        }
        match which {
            Buffer::Value => Ok((node.value, node.len)),
            Buffer::Grad => {
                self.status()?;
                materialize_grad(self, &node);
                self.status()?;
                grad_of(&node)
            }
        }
    }

    /// The address of parameter `p`'s value or gradient and its element count. A
    /// parameter's buffers stay in place until the tape ends (a reset keeps them);
    /// asking for the gradient zeroes it first if no backward has written it since the
    /// parameter was last used.
    pub fn param_buffer(&self, p: ParamId, which: Buffer) -> Result<(*const T, usize)> {
        let slot = self.param_slot(p)?;
        if !slot.device.id.is_host() {
            return Err(Error::UnsupportedOnDevice(
                "a parameter on a device has no buffer in the arena",
            ));
        }
        match which {
            Buffer::Value => Ok((slot.value, slot.len)),
            Buffer::Grad => {
                materialize(self, p)?;
                Ok((slot.grad, slot.len))
            }
        }
    }
}

fn grad_of<T: Float>(node: &Node<T>) -> Result<(*const T, usize)> {
    if node.grad.is_null() {
        return Err(Error::InvalidArgument("a constant tensor has no gradient"));
    }
    Ok((node.grad, node.len))
}
