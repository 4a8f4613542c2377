//! Attaching devices to a tape, and reaching them: the tape keeps up to
//! [`MAX_DEVICES`] devices in its tensor state (persistent, like parameters), each with
//! the mark its memory is rewound to after a reset.

use super::{DeviceId, DeviceMark, TensorDevice};
use crate::error::{Error, Result};
use crate::tape::Tape;
use crate::tensor::float::Float;

/// How many devices one tape can use.
pub const MAX_DEVICES: usize = 4;

/// A device attached to a tape.
#[derive(Clone, Copy)]
pub(crate) struct AttachedDevice<T: Float> {
    /// Lifetime erased: [`Tape::attach_device`] takes a `&'m` borrow, and the tape, which
    /// cannot outlive `'m`, is the only reader.
    device: *const (dyn TensorDevice<T> + 'static),
    /// Everything persistent on the device (parameters, optimizer state) lies below it.
    persistent: DeviceMark,
    /// The tape's epoch when the device memory was last rewound: a different current
    /// epoch means the tape was reset since, and the recording's device memory can go.
    rewound_at: u32,
}

/// The device table, in the tensor layer's persistent state.
pub(crate) type Devices<T> = [Option<AttachedDevice<T>>; MAX_DEVICES];

impl<'m, T: Float> Tape<'m, T> {
    /// Lets tensors of this tape live on `device` and returns its handle. Like
    /// parameters, call it right after the tape is made or reset, before recording; the
    /// device stays attached for the tape's life. The device's memory above its current
    /// top becomes the tape's: the tape rewinds it to there (plus whatever parameters it
    /// puts there) at every reset. A device serves one tape at a time: another tape can
    /// attach it once this one calls [`release_devices`](Tape::release_devices) (dropping
    /// a tape does not, so that a tape stays a plain value with no `Drop`).
    ///
    /// The device must be `Sync`, since a `Tape` is `Send`: the tape may move to another
    /// thread and reach the device from there. For a device that is not (the CUDA
    /// backend's, bound to its driver context), see
    /// [`attach_local_device`](Tape::attach_local_device).
    pub fn attach_device(&self, device: &'m (dyn TensorDevice<T> + Sync)) -> Result<DeviceId> {
        self.refuse_in_callback("attach_device")?;
        // SAFETY: a `Sync` device may be reached from whichever thread holds the tape.
        unsafe { self.attach_local_device(device) }
    }

    /// [`attach_device`](Tape::attach_device) for a device that is not `Sync`.
    ///
    /// # Safety
    /// While `device` is attached, the tape and the device must not be used from two
    /// threads at once: keep the tape on the thread that uses the device (or make sure
    /// nothing else touches the device while another thread holds the tape).
    pub unsafe fn attach_local_device(&self, device: &'m dyn TensorDevice<T>) -> Result<DeviceId> {
        self.require_pristine(
            "attach devices right after the tape is made or reset, before recording",
        )?;
        let undo = self.persistent_undo_point();
        let result = self.add_device(device);
        match result {
            Ok(_) => self.make_persistent(),
            Err(_) => self.undo_persistent(undo),
        }
        result
    }

    /// Makes `id` (the host, or an attached device) where
    /// [`tensor_input`](Tape::tensor_input), [`tensor_constant`](Tape::tensor_constant)
    /// and [`parameter`](Tape::parameter) put new tensors from now on: the way to run a
    /// whole tape on a device without naming it in every call. It lasts across resets.
    pub fn set_default_device(&self, id: DeviceId) -> Result<()> {
        self.refuse_in_callback("set_default_device")?;
        if !id.is_host() {
            self.attached(id)?;
        }
        // With no tensor state yet, only the host can be named, and it is the default.
        let _ = self.update_tensor_state(|state| state.default_device = id);
        Ok(())
    }

    /// Where new leaves and parameters go (see [`set_default_device`](Tape::set_default_device)).
    pub fn default_device(&self) -> DeviceId {
        self.tensor_state()
            .map_or(DeviceId::HOST, |state| state.default_device)
    }

    /// Claims `device` for this tape and puts it in a free slot of the device table.
    fn add_device(&self, device: &'m dyn TensorDevice<T>) -> Result<DeviceId> {
        self.ensure_tensor_state()?;
        let state = self.tensor_state().ok_or(Error::UnknownDevice)?;
        let slot = state
            .devices
            .iter()
            .position(Option::is_none)
            .ok_or(Error::InvalidArgument(
                "attach_device: a tape holds at most 4 devices",
            ))?;
        let pointer = device as *const dyn TensorDevice<T>;
        if state
            .devices
            .iter()
            .flatten()
            .any(|a| core::ptr::addr_eq(a.device, pointer))
        {
            return Err(Error::InvalidArgument(
                "attach_device: the device is attached already",
            ));
        }
        device.claim(self.identity())?;
        // SAFETY: only the lifetime changes; see `AttachedDevice::device`.
        let device: &'static dyn TensorDevice<T> = unsafe { core::mem::transmute(device) };
        let attached = AttachedDevice {
            device,
            persistent: device.mark(),
            rewound_at: self.epoch(),
        };
        self.update_tensor_state(|state| state.devices[slot] = Some(attached))?;
        Ok(DeviceId(slot as u8 + 1))
    }

    /// Detaches every device and lets other tapes claim them. Call it before the tape
    /// goes away if another tape is to use its devices (a device serves one tape at a
    /// time). Tensors and parameters on the devices become unusable
    /// ([`Error::UnknownDevice`]); the tape is then reset.
    pub fn release_devices(&mut self) {
        self.for_each_device(|id| {
            if let Ok(attached) = self.attached(id) {
                // SAFETY: as in `device`.
                unsafe { &*attached.device }.release(self.identity());
            }
        });
        let _ = self.update_tensor_state(|state| {
            state.devices = [None; MAX_DEVICES];
            state.default_device = DeviceId::HOST;
        });
        self.reset();
    }

    /// The devices attached so far.
    pub fn num_devices(&self) -> usize {
        self.tensor_state()
            .map_or(0, |s| s.devices.iter().flatten().count())
    }

    /// The name of attached device `id`.
    pub fn device_name(&self, id: DeviceId) -> Result<&str> {
        Ok(self.device(id)?.name())
    }

    /// A copy of attached device `id`'s entry.
    fn attached(&self, id: DeviceId) -> Result<AttachedDevice<T>> {
        self.update_attached(id, |attached| *attached)
    }

    /// Runs `f` on attached device `id`'s entry.
    fn update_attached<R>(
        &self,
        id: DeviceId,
        f: impl FnOnce(&mut AttachedDevice<T>) -> R,
    ) -> Result<R> {
        let slot = (id.0 as usize)
            .checked_sub(1)
            .filter(|&slot| slot < MAX_DEVICES)
            .ok_or(Error::UnknownDevice)?;
        if !self.has_layer_state() {
            return Err(Error::UnknownDevice);
        }
        self.update_tensor_state(|state| state.devices[slot].as_mut().map(f))?
            .ok_or(Error::UnknownDevice)
    }

    /// Device `id`, its memory first rewound to the persistent mark if the tape was reset
    /// since the last time it was reached.
    pub(crate) fn device(&self, id: DeviceId) -> Result<&dyn TensorDevice<T>> {
        let attached = self.attached(id)?;
        // SAFETY: the device outlives the tape (see `AttachedDevice::device`).
        let device = unsafe { &*attached.device };
        if attached.rewound_at != self.epoch() {
            device.rewind(attached.persistent)?;
            let epoch = self.epoch();
            self.update_attached(id, |attached| attached.rewound_at = epoch)?;
        }
        Ok(device)
    }

    /// Keeps everything allocated on device `id` so far across resets (parameters,
    /// optimizer state).
    pub(crate) fn make_device_persistent(&self, id: DeviceId) -> Result<()> {
        // Through `device`, so what a recording before the last reset took is given
        // back first rather than kept for good.
        let mark = self.device(id)?.mark();
        self.update_attached(id, |attached| attached.persistent = mark)
    }

    /// Gives back device memory taken since the persistent mark (a failed persistent
    /// allocation).
    pub(crate) fn rewind_device_to_persistent(&self, id: DeviceId) {
        if let Ok(attached) = self.attached(id) {
            // SAFETY: as in `device`.
            let _ = unsafe { &*attached.device }.rewind(attached.persistent);
        }
    }
}

impl<T: Float> Tape<'_, T> {
    /// Calls `f` with every attached device's handle.
    pub(crate) fn for_each_device(&self, mut f: impl FnMut(DeviceId)) {
        let count = self.tensor_state().map_or(0, |s| s.devices.len());
        for slot in 0..count {
            let attached = self
                .tensor_state()
                .is_some_and(|s| s.devices[slot].is_some());
            if attached {
                f(DeviceId(slot as u8 + 1));
            }
        }
    }
}
