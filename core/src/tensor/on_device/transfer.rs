//! The two ops that move a tensor between host memory and a device, and the device
//! buffers ops keep besides their value and gradient.

use crate::error::{Error, Result};
use crate::tape::Tape;
use crate::tensor::device::DeviceId;
use crate::tensor::float::Float;
use crate::tensor::node::{Kind, Node};
use crate::tensor::TensorId;

impl<T: Float> Tape<'_, T> {
    /// `x` copied to `device` (attached to this tape), as a new tensor there. Gradients
    /// flow back to `x`. `x` must live on the host; a tensor already on `device` is
    /// returned as it is.
    pub fn to_device(&self, x: TensorId, device: DeviceId) -> TensorId {
        let record = || {
            let source = self.node(x)?;
            if source.device.id == device {
                return Ok(x);
            }
            if source.on_device() {
                return Err(Error::UnsupportedOnDevice(
                    "moving a tensor between two devices (bring it to the host first)",
                ));
            }
            if device.is_host() {
                return Ok(x);
            }
            let (shape, len) = (source.shape, source.len);
            // Backward brings the gradient back through host scratch of `len` elements.
            self.record_node_on(device, Kind::ToDevice, shape, &[x], 0.0, len, |_, _| Ok(()))
        };
        record().unwrap_or_else(|error| self.fail_tensor(error))
    }

    /// `x`, which lives on a device, copied into host memory as a new tensor. Gradients
    /// flow back to `x`. A host tensor is returned as it is.
    pub fn to_host(&self, x: TensorId) -> TensorId {
        let record = || {
            let source = self.node(x)?;
            if !source.on_device() {
                return Ok(x);
            }
            let shape = source.shape;
            self.record_node_on(DeviceId::HOST, Kind::ToHost, shape, &[x], 0.0, 0, |_, _| {
                Ok(())
            })
        };
        record().unwrap_or_else(|error| self.fail_tensor(error))
    }

    /// The device where tensor `x` lives ([`DeviceId::HOST`] for host memory).
    pub fn tensor_device(&self, x: TensorId) -> Result<DeviceId> {
        Ok(self.node(x)?.device.id)
    }

    /// Allocates the op-specific device buffer of a fresh node that runs on a device:
    /// cross-entropy's probabilities, a fused layer's `g ⊙ act'(y)` (all but the identity
    /// activation), and the staging buffer through which `to_host` sends its gradient
    /// back to the argument's device. Sweeps then never allocate.
    pub(crate) fn allocate_device_saved(&self, node: &mut Node<T>) -> Result<()> {
        let first_arg = || {
            self.node_at(node.args[0])
                .ok_or(Error::InvalidArgument("a tensor's argument vanished"))
        };
        let (device, shape) = match node.kind {
            Kind::CrossEntropy => (node.device.id, first_arg()?.shape),
            Kind::Linear(act) if act != crate::tensor::Activation::Identity => {
                (node.device.id, node.shape)
            }
            Kind::ToHost => (first_arg()?.device.id, node.shape),
            _ => return Ok(()),
        };
        node.device.saved = self.device(device)?.alloc(shape)?;
        Ok(())
    }
}
