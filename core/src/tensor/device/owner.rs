//! [`DeviceOwner`]: which tape a device serves, for backends to embed (see
//! [`TensorDevice::claim`](super::TensorDevice::claim)).

use crate::error::{Error, Result};
use core::cell::Cell;

/// The identity of the tape a device serves, if any.
#[derive(Debug, Default)]
pub struct DeviceOwner(Cell<Option<u32>>);

impl DeviceOwner {
    /// Makes `tape` the owner unless another tape is.
    pub fn claim(&self, tape: u32) -> Result<()> {
        match self.0.get() {
            Some(owner) if owner != tape => Err(Error::InvalidArgument(
                "the device serves another tape (release_devices() on that tape first)",
            )),
            _ => {
                self.0.set(Some(tape));
                Ok(())
            }
        }
    }

    /// Frees the device if `tape` owns it.
    pub fn release(&self, tape: u32) {
        if self.0.get() == Some(tape) {
            self.0.set(None);
        }
    }
}
