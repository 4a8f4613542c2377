//! Reading and writing a tensor's data from the host, wherever it lives: a host node's
//! buffers are copied, a device node's are uploaded or downloaded.

use crate::error::{Error, Result};
use crate::tape::Tape;
use crate::tensor::device::DeviceRef;
use crate::tensor::float::Float;
use crate::tensor::node::Node;

impl<T: Float> Node<T> {
    /// The node's device value buffer with its shape.
    pub(crate) fn device_value(&self) -> DeviceRef {
        DeviceRef {
            buffer: self.device.value,
            shape: self.shape,
        }
    }

    /// The node's device gradient buffer with its shape, if it has one.
    pub(crate) fn device_grad(&self) -> Option<DeviceRef> {
        self.device.grad.map(|buffer| DeviceRef {
            buffer,
            shape: self.shape,
        })
    }
}

/// Fails unless a caller's buffer holds exactly the tensor's `expected` elements.
pub(crate) fn check_length(expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what: "buffer length",
            got: found,
            against: "the tensor's element count",
            expected,
        })
    }
}

impl<T: Float> Tape<'_, T> {
    /// Sets `node`'s value to `data` (its element count long). A rank-0 device node's
    /// host mirror is set too.
    pub(crate) fn write_node_value(&self, node: &Node<T>, data: &[T]) -> Result<()> {
        check_length(node.len, data.len())?;
        if node.on_device() {
            self.device(node.device.id)?
                .upload(node.device_value(), data)?;
        }
        if !node.value.is_null() {
            // SAFETY: a host value buffer (or a rank-0 record slot) of `len` elements, not
            // otherwise borrowed while data is written.
            unsafe { core::slice::from_raw_parts_mut(node.value, node.len) }.copy_from_slice(data);
        }
        Ok(())
    }

    /// Sets element `i` of host node `node`'s value to `element(i)`.
    pub(crate) fn write_node_value_with(
        &self,
        node: &Node<T>,
        element: impl Fn(usize) -> T,
    ) -> Result<()> {
        if node.on_device() {
            return Err(Error::InvalidArgument(
                "values from a function are written to host tensors only",
            ));
        }
        // SAFETY: a host value buffer (or a rank-0 record slot) of `len` elements, not
        // otherwise borrowed while it is written.
        let values = unsafe { core::slice::from_raw_parts_mut(node.value, node.len) };
        for (i, value) in values.iter_mut().enumerate() {
            *value = element(i);
        }
        Ok(())
    }

    /// Copies `node`'s value into `out` (its element count long).
    pub(crate) fn read_node_value(&self, node: &Node<T>, out: &mut [T]) -> Result<()> {
        check_length(node.len, out.len())?;
        if node.on_device() {
            return self
                .device(node.device.id)?
                .download(node.device_value(), out);
        }
        // SAFETY: the value is only read.
        out.copy_from_slice(unsafe { node.value() });
        Ok(())
    }

    /// Copies `node`'s gradient into `out`; constants have none.
    pub(crate) fn read_node_grad(&self, node: &Node<T>, out: &mut [T]) -> Result<()> {
        check_length(node.len, out.len())?;
        let no_gradient = Error::InvalidArgument("a constant tensor has no gradient");
        if node.on_device() {
            let grad = node.device_grad().ok_or(no_gradient)?;
            return self.device(node.device.id)?.download(grad, out);
        }
        // SAFETY: the gradient is only read.
        let grad = unsafe { node.grad_mut() }.ok_or(no_gradient)?;
        out.copy_from_slice(grad);
        Ok(())
    }
}
