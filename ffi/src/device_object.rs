//! The object behind an `ad_device*`: an open device (a CPU or CUDA backend), and the
//! list of devices a tape holds. Apart from the calls (`device.rs`) because the tape's
//! header holds an [`Attachments`]: the tape layer depends on this file, and the calls
//! depend on the tape layer.

use crate::error::{Failure, Result};
use autodiff_core::tensor::device::CpuDevice;
use autodiff_core::{Error, TensorDevice};
use core::cell::Cell;
use core::ptr::NonNull;

/// A compute device. Opaque: C code holds the `ad_device*` an `ad_device_open_*()` call
/// made.
pub struct ad_device {
    _private: [u8; 0],
}

/// `DeviceObject::magic` of an open device ("addevic1").
pub(crate) const OPEN: u64 = 0x6164_6465_7669_6331;

pub(crate) enum Backend {
    Cpu32(CpuDevice<'static, f32>),
    Cpu64(CpuDevice<'static, f64>),
    Cuda(autodiff_cuda::Device),
}

/// What `ad_device*` points at (on the heap).
pub(crate) struct DeviceObject {
    pub(crate) magic: u64,
    pub(crate) backend: Backend,
    /// Live tapes it is attached to.
    pub(crate) attached: Cell<u32>,
}

impl DeviceObject {
    /// The device as an `f32` or `f64` device.
    pub(crate) fn as_f32(&'static self) -> Result<&'static dyn TensorDevice<f32>> {
        match &self.backend {
            Backend::Cpu32(d) => Ok(d),
            Backend::Cuda(d) => Ok(d),
            Backend::Cpu64(_) => Err(Error::DtypeMismatch.into()),
        }
    }

    pub(crate) fn as_f64(&'static self) -> Result<&'static dyn TensorDevice<f64>> {
        match &self.backend {
            Backend::Cpu64(d) => Ok(d),
            Backend::Cuda(d) => Ok(d),
            Backend::Cpu32(_) => Err(Error::DtypeMismatch.into()),
        }
    }
}

/// The devices a tape holds, released when the tape ends (its header is dropped).
#[derive(Default)]
pub struct Attachments(
    Cell<[Option<NonNull<DeviceObject>>; autodiff_core::tensor::device::MAX_DEVICES]>,
);

impl Attachments {
    pub(crate) fn add(&self, device: NonNull<DeviceObject>) {
        let mut list = self.0.get();
        if let Some(slot) = list.iter_mut().find(|slot| slot.is_none()) {
            *slot = Some(device);
            // SAFETY: an open device (checked by the caller).
            let attached = unsafe { &device.as_ref().attached };
            attached.set(attached.get() + 1);
        }
        self.0.set(list);
    }
}

impl Drop for Attachments {
    fn drop(&mut self) {
        for device in self.0.get().into_iter().flatten() {
            // SAFETY: a device cannot be closed while attached, so it is still open.
            let attached = unsafe { &device.as_ref().attached };
            attached.set(attached.get().saturating_sub(1));
        }
    }
}

/// The open device behind `device`.
///
/// # Safety
/// `device` is NULL, or a pointer an `ad_device_open_*()` call returned (open or closed:
/// the magic number tells, best effort).
pub(crate) unsafe fn object(device: *const ad_device) -> Result<&'static DeviceObject> {
    let object = device.cast::<DeviceObject>();
    if object.is_null() {
        return Err(Failure::Null("device"));
    }
    // SAFETY: the caller's contract.
    let object = unsafe { &*object };
    if object.magic != OPEN {
        return Err(Error::InvalidArgument("not an open device").into());
    }
    Ok(object)
}
