//! `ad_device`: a compute device a tape can keep tensors on, and the calls that move
//! tensors there and back.
//!
//! A device is opened (`ad_device_open_cuda()` for a GPU, `ad_device_open_cpu()` for the
//! reference CPU device over caller memory), attached to one or more tapes with
//! `ad_tape_attach_device()`, which gives a small device number (the host is 0), and
//! closed after the last tape using it has ended: `ad_device_close()` refuses while a
//! live tape holds it, so a tape never reaches a closed device.
//!
//! Threads: a device is used from one thread at a time, like the tape that holds it (a
//! GPU's driver context is bound to the calling thread). Moving a tape and its device
//! to another thread between calls is fine; using them from two threads at once is not.

pub use crate::device_object::ad_device;
use crate::device_object::{object, Backend, DeviceObject, OPEN};
use crate::error::{ad_status, Failure, Result};
use crate::ptr;
use crate::tape::{ad_tape, call, AnyTape};
use crate::tensor::ad_tensor;
use autodiff_core::tensor::device::CpuDevice;
use autodiff_core::{DeviceId, Error};
use core::cell::Cell;
use core::ffi::{c_int, c_void};
use core::ptr::NonNull;

fn open(backend: Backend, device_out: *mut *mut ad_device) -> Result<()> {
    // SAFETY: the caller's contract for `device_out`.
    let device_out = unsafe { ptr::out(device_out, "device_out") }?;
    let object = Box::new(DeviceObject {
        magic: OPEN,
        backend,
        attached: Cell::new(0),
    });
    *device_out = Box::into_raw(object).cast();
    Ok(())
}

fn status_of(result: Result<()>) -> ad_status {
    result.map_or_else(Failure::status, |()| ad_status::AD_OK)
}

/// Opens GPU `ordinal` with a device arena of `arena_bytes` (allocated once; every tape
/// attached to it takes its tensors from there), into `*device_out`.
///
/// Statuses: `AD_ERR_NO_DEVICE` (this library was built without the `cuda` feature, or
/// there is no driver or no such GPU), `AD_ERR_NULL` (`device_out`), `AD_ERR_MISALIGNED`
/// (`device_out`), `AD_ERR_OUT_OF_MEMORY` (the arena cannot be allocated),
/// `AD_ERR_BACKEND` (the driver failed).
#[no_mangle]
pub unsafe extern "C" fn ad_device_open_cuda(
    ordinal: usize,
    arena_bytes: usize,
    device_out: *mut *mut ad_device,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of((|| {
            let device = autodiff_cuda::Device::open(ordinal, arena_bytes)
                .map_err(|e| Failure::Core(Error::from(e)))?;
            open(Backend::Cuda(device), device_out)
        })())
    })
}

/// Opens the reference CPU device, whose memory is the `len` bytes at `mem` (aligned for
/// `dtype`'s element type, kept valid and untouched until `ad_device_close()`) and whose
/// kernels are plain loops: the device path of a tape, runnable anywhere. `dtype` is
/// `AD_F32` or `AD_F64`; only tapes of that dtype can attach it.
///
/// Statuses: `AD_ERR_NULL` (`device_out`, or `mem` with room for an element),
/// `AD_ERR_MISALIGNED` (`mem` or `device_out`), `AD_ERR_INVALID_ARGUMENT` (`dtype` is not
/// `AD_F32` or `AD_F64`), `AD_ERR_SIZE_OVERFLOW` (`len`).
#[no_mangle]
pub unsafe extern "C" fn ad_device_open_cpu(
    mem: *mut c_void,
    len: usize,
    dtype: crate::tape::DtypeArg,
    device_out: *mut *mut ad_device,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of((|| {
            let backend = match dtype.get()? {
                crate::tape::ad_dtype::AD_F32 => {
                    // SAFETY: the caller's contract: `len` bytes, exclusively ours.
                    let memory = unsafe { ptr::slice_mut(mem.cast::<f32>(), len / 4, "mem") }?;
                    Backend::Cpu32(CpuDevice::new(memory))
                }
                crate::tape::ad_dtype::AD_F64 => {
                    // SAFETY: as above.
                    let memory = unsafe { ptr::slice_mut(mem.cast::<f64>(), len / 8, "mem") }?;
                    Backend::Cpu64(CpuDevice::new(memory))
                }
                _ => return Err(Error::InvalidArgument("a device holds AD_F32 or AD_F64").into()),
            };
            open(backend, device_out)
        })())
    })
}

/// Closes `device` and frees it. Nothing is closed while a live tape holds it: end those
/// tapes first.
///
/// Statuses: `AD_ERR_NULL`, `AD_ERR_INVALID_ARGUMENT` (a live tape holds it; not an open
/// device, best effort).
#[no_mangle]
pub unsafe extern "C" fn ad_device_close(device: *mut ad_device) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of((|| {
            // SAFETY: the caller's contract.
            let object = unsafe { object(device) }?;
            if object.attached.get() > 0 {
                return Err(Error::InvalidArgument(
                    "the device is attached to a live tape: end the tape first",
                )
                .into());
            }
            // SAFETY: made by `Box::into_raw` in `open`, and no tape refers to it.
            let mut object = unsafe { Box::from_raw(device.cast::<DeviceObject>()) };
            object.magic = 0;
            drop(object);
            Ok(())
        })())
    })
}

/// Lets tensors of `tape` live on `device`, and writes the device's number on this tape
/// (1 to 4; the host is 0) into `*id_out`. Like parameters, attach right after
/// `ad_tape_init()` or a reset, before recording. The device's memory then serves the
/// tape until it ends; a device serves one tape at a time.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `device` or `id_out`), `AD_ERR_MISALIGNED` (`id_out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (something was recorded since the last reset;
/// the device is attached already, serves another tape, or is not an open device; the tape holds 4
/// devices), `AD_ERR_DTYPE_MISMATCH` (the device cannot hold the tape's element type: a CPU device
/// of the other dtype, or an `AD_F64_DUAL` tape), `AD_ERR_BACKEND` (the device failed),
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape), and the tape's sticky
/// error.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_attach_device(
    tape: *mut ad_tape,
    device: *mut ad_device,
    id_out: *mut c_int,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let id_out = ptr::out(id_out, "id_out")?;
            let object = object(device)?;
            // SAFETY: the C API's thread model: a tape, and the device it holds, are used
            // from one thread at a time (see the module documentation).
            let id = match &header.tape {
                AnyTape::F32(t) => t.attach_local_device(object.as_f32()?)?,
                AnyTape::F64(t) => t.attach_local_device(object.as_f64()?)?,
                AnyTape::F64Dual(_) => return Err(Error::DtypeMismatch.into()),
            };
            header.devices.add(NonNull::from(object));
            *id_out = c_int::from(id.0);
            Ok(())
        })
    }
}

/// A device number from C.
fn device_id(id: c_int) -> Result<DeviceId> {
    u8::try_from(id)
        .map(DeviceId)
        .map_err(|_| Error::UnknownDevice.into())
}

/// Makes device `id` (0: the host) where `ad_tensor_input_*`, `ad_tensor_const_*` and
/// `ad_param_new_*` put new tensors from now on (across resets): the way to run a whole
/// tape on a GPU. Every other op runs where its arguments live.
///
/// Statuses: `AD_ERR_NULL`, `AD_ERR_INVALID_TAPE`, `AD_ERR_UNKNOWN_DEVICE` (`id` is not 0 or a
/// device this tape attached), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_REENTRANT`
/// (called from inside a callback running on this tape).
#[no_mangle]
pub unsafe extern "C" fn ad_tape_set_device(tape: *mut ad_tape, id: c_int) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let id = device_id(id)?;
            match &header.tape {
                AnyTape::F32(t) => t.set_default_device(id)?,
                AnyTape::F64(t) => t.set_default_device(id)?,
                AnyTape::F64Dual(_) => return Err(Error::DtypeMismatch.into()),
            }
            Ok(())
        })
    }
}

/// `x` copied to device `id` as a new tensor (gradients flow back to `x`). `x` must be
/// on the host or already on `id` (then it is returned as it is). Ops whose arguments
/// live on different devices fail with `AD_ERR_DEVICE_MISMATCH`: move them first.
///
/// Sticky errors: `AD_ERR_UNKNOWN_DEVICE` (`id` is not a device this tape attached),
/// `AD_ERR_UNSUPPORTED_ON_DEVICE` (`x` lives on another device), `AD_ERR_STALE_HANDLE` or
/// `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_INVALID_ARGUMENT` (a scalar
/// variable), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (the copy failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_to_device(
    tape: *mut ad_tape,
    x: ad_tensor,
    id: c_int,
) -> ad_tensor {
    let x = x.into();
    // SAFETY: the caller's contract.
    unsafe {
        crate::tensor::op(
            tape,
            |t| Ok(t.to_device(x, device_id(id)?)),
            |t| Ok(t.to_device(x, device_id(id)?)),
        )
    }
}

/// `x`, on a device, copied into host memory as a new tensor (gradients flow back). A
/// host tensor is returned as it is.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND`
/// (`x`), `AD_ERR_INVALID_ARGUMENT` (a scalar variable), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL`
/// tape), `AD_ERR_UNKNOWN_DEVICE` (its device was released), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_BACKEND` (the copy failed).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_to_host(tape: *mut ad_tape, x: ad_tensor) -> ad_tensor {
    let x = x.into();
    // SAFETY: the caller's contract.
    unsafe { crate::tensor::op(tape, |t| Ok(t.to_host(x)), |t| Ok(t.to_host(x))) }
}

/// The device number where `x` lives (0: the host), into `*id_out`. Answers on a tape
/// with a sticky error too.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `id_out`), `AD_ERR_MISALIGNED` (`id_out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (`x`), `AD_ERR_INVALID_ARGUMENT` (a scalar variable),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_tensor_device(
    tape: *const ad_tape,
    x: ad_tensor,
    id_out: *mut c_int,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let id_out = ptr::out(id_out, "id_out")?;
            let x = x.into();
            let id = match &header.tape {
                AnyTape::F32(t) => t.tensor_device(x)?,
                AnyTape::F64(t) => t.tensor_device(x)?,
                AnyTape::F64Dual(_) => return Err(Error::DtypeMismatch.into()),
            };
            *id_out = c_int::from(id.0);
            Ok(())
        })
    }
}
