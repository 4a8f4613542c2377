//! GPU queries: how many devices there are, whether one is usable, its name and memory.
//!
//! They forward to the CUDA backend (`cuda/`). A library built without the `cuda`
//! feature needs no CUDA at all, and every call here reports `AD_ERR_NO_DEVICE`; so does
//! a library built with it on a machine with no driver or no GPU. None of them ever
//! aborts the host, whatever is (or is not) installed.

use crate::error::{ad_status, Failure, Result};
use autodiff_core::Error;
use autodiff_cuda::{device_count, Device, DeviceInfo};
use core::ffi::c_char;

fn status_of(result: Result<()>) -> ad_status {
    result.map_or_else(Failure::status, |()| ad_status::AD_OK)
}

fn describe(ordinal: usize) -> Result<DeviceInfo> {
    Device::describe(ordinal).map_err(|e| Failure::Core(Error::from(e)))
}

/// The number of usable GPUs, into `*count_out`.
///
/// Statuses: `AD_ERR_NULL` (`count_out`), `AD_ERR_MISALIGNED` (`count_out`),
/// `AD_ERR_NO_DEVICE` (none: no `cuda` feature in this build, no driver, or no GPU;
/// `*count_out` is left untouched).
#[no_mangle]
pub unsafe extern "C" fn ad_device_count(count_out: *mut usize) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of((|| {
            // SAFETY: the caller's contract.
            let count_out = unsafe { crate::ptr::out(count_out, "count_out") }?;
            *count_out = device_count().map_err(|e| Failure::Core(Error::from(e)))?;
            Ok(())
        })())
    })
}

/// 1 when at least one GPU is usable, 0 otherwise. Never fails; returns no status.
#[no_mangle]
pub extern "C" fn ad_device_available() -> i32 {
    ffi_boundary!(0, { i32::from(device_count().is_ok_and(|n| n > 0)) })
}

/// The name of GPU `ordinal` (0-based), as a NUL-terminated string in `buf` (`cap`
/// bytes), and its length without the NUL in `*len_out`.
///
/// Statuses: `AD_ERR_BUFFER_TOO_SMALL` (`cap` cannot hold the name and its NUL: nothing is
/// written to `buf`, `*len_out` still gets the length), `AD_ERR_NULL` (`len_out`, or `buf`
/// with a large enough `cap`), `AD_ERR_MISALIGNED` (`len_out`), `AD_ERR_NO_DEVICE` (no
/// such GPU), `AD_ERR_BACKEND` (the driver failed).
#[no_mangle]
pub unsafe extern "C" fn ad_device_name(
    ordinal: usize,
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of((|| {
            // SAFETY: the caller's contract.
            let len_out = unsafe { crate::ptr::out(len_out, "len_out") }?;
            let info = describe(ordinal)?;
            // SAFETY: the caller's contract: `buf` holds `cap` bytes.
            unsafe { copy_name(info.name.as_bytes(), buf, cap, len_out) }
        })())
    })
}

/// Writes `name` and its NUL into the `cap` bytes at `buf`, and its length into
/// `*len_out`, which is written even when `cap` is too small (`AD_ERR_BUFFER_TOO_SMALL`,
/// and nothing in `buf`).
///
/// # Safety
/// A non-null `buf` must be valid for `cap` bytes of writes.
unsafe fn copy_name(name: &[u8], buf: *mut c_char, cap: usize, len_out: &mut usize) -> Result<()> {
    *len_out = name.len();
    if cap <= name.len() {
        return Err(Failure::BufferTooSmall {
            what: "name buffer",
            needed: name.len() + 1,
            cap,
        });
    }
    // SAFETY: forwarded from the caller.
    let buf = unsafe { crate::ptr::slice_mut(buf.cast::<u8>(), cap, "buf") }?;
    buf[..name.len()].copy_from_slice(name);
    buf[name.len()] = 0;
    Ok(())
}

/// Free and total memory of GPU `ordinal`, in bytes. Nothing is written unless it
/// succeeds.
///
/// Statuses: `AD_ERR_NULL` (`free_out` or `total_out`), `AD_ERR_MISALIGNED` (either),
/// `AD_ERR_NO_DEVICE` (no such GPU), `AD_ERR_BACKEND` (the driver failed).
#[no_mangle]
pub unsafe extern "C" fn ad_device_memory(
    ordinal: usize,
    free_out: *mut usize,
    total_out: *mut usize,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of((|| {
            // SAFETY: the caller's contract.
            let free_out = unsafe { crate::ptr::out(free_out, "free_out") }?;
            // SAFETY: the caller's contract.
            let total_out = unsafe { crate::ptr::out(total_out, "total_out") }?;
            let info = describe(ordinal)?;
            *free_out = info.free_memory;
            *total_out = info.total_memory;
            Ok(())
        })())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_buffer_too_small_is_buffer_too_small_and_still_gives_the_length() {
        let (mut buf, mut len) = ([7 as c_char; 8], 0usize);
        // SAFETY: `buf` holds 8 bytes.
        let small = unsafe { copy_name(b"H100 SXM", buf.as_mut_ptr(), 8, &mut len) };
        assert_eq!(
            small.unwrap_err().status(),
            ad_status::AD_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 8);
        assert_eq!(buf, [7; 8], "nothing written");
        // SAFETY: NULL with a capacity of 0 asks for the length.
        let ask = unsafe { copy_name(b"H100", core::ptr::null_mut(), 0, &mut len) };
        assert_eq!(
            ask.unwrap_err().status(),
            ad_status::AD_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 4);
        // SAFETY: as above.
        unsafe { copy_name(b"H100", buf.as_mut_ptr(), 5, &mut len) }.unwrap();
        assert_eq!(
            &buf[..5],
            &[
                b'H' as c_char,
                b'1' as c_char,
                b'0' as c_char,
                b'0' as c_char,
                0
            ]
        );
    }

    #[test]
    fn without_a_gpu_every_query_says_no_device_and_writes_nothing() {
        // These machines have no GPU (and the default build no `cuda` feature).
        if ad_device_available() == 1 {
            return;
        }
        let mut count = 99usize;
        // SAFETY: valid pointers.
        assert_eq!(
            unsafe { ad_device_count(&mut count) },
            ad_status::AD_ERR_NO_DEVICE
        );
        assert_eq!(count, 99);
        let (mut buf, mut len) = ([1 as c_char; 8], 0usize);
        // SAFETY: valid pointers and capacity.
        assert_eq!(
            unsafe { ad_device_name(0, buf.as_mut_ptr(), 8, &mut len) },
            ad_status::AD_ERR_NO_DEVICE
        );
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: valid pointers.
        assert_eq!(
            unsafe { ad_device_memory(0, &mut free, &mut total) },
            ad_status::AD_ERR_NO_DEVICE
        );
        // SAFETY: NULL is checked.
        assert_eq!(
            unsafe { ad_device_count(core::ptr::null_mut()) },
            ad_status::AD_ERR_NULL
        );
    }
}
