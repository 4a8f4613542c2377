//! Tape images: save a recorded tape as bytes, load them into another tape (in other
//! memory, on another machine). The layout is fixed (little-endian, 32-bit fields,
//! versioned, with a CRC-32), so an image written on x86-64 loads on a 32-bit
//! microcontroller.

use crate::error::{Failure, Result};
use crate::ptr;
use crate::tape::{ad_dtype, ad_tape, call};
use crate::var::ad_var;
use autodiff_core::image::ImageOptions;
use autodiff_core::{image, Error, VarId};
use core::ffi::{c_uint, c_void};

/// What `ad_image_inspect()` reads from an image's header.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ad_image_info {
    /// The dtype of the tape that wrote it (`AD_F32` or `AD_F64`); only a tape of that
    /// dtype loads it.
    pub dtype: ad_dtype,
    /// Variables the image holds: a tape that loads it needs room for them
    /// (`ad_tape_bytes_for()`).
    pub records: usize,
    /// Its independent variables, in recording order.
    pub inputs: usize,
    /// The outputs it names: the length of `ad_tape_load_image()`'s `outputs_out`.
    pub outputs: usize,
}

/// `outputs[0..n)` as core handles.
///
/// # Safety
/// As for [`ptr::slice`].
unsafe fn handles<'a>(outputs: *const ad_var, n: usize) -> Result<&'a [VarId]> {
    // SAFETY: forwarded from the caller.
    let outputs = unsafe { ptr::slice(outputs, n, "outputs") }?;
    // SAFETY: `ad_var` and `VarId` have one layout (asserted in `var`).
    Ok(unsafe { core::slice::from_raw_parts(outputs.as_ptr().cast::<VarId>(), outputs.len()) })
}

/// Writes the recorded tape as an image into `buf[0..cap)`, naming `outputs[0..n)` (in
/// order) as its outputs, and its length to `*len_out`. Call it with `buf` NULL and
/// `cap` 0 to ask for the length (that call fails with `AD_ERR_BUFFER_TOO_SMALL` and
/// writes `*len_out`), then again with a buffer that long. Scalar and tensor records
/// (host tensors; a parameter is referred to by its index, without its values: the
/// loading tape's parameter of that index serves); checkpointed-segment records and
/// device tensors have no image form. Reads the tape only.
///
/// Statuses: `AD_ERR_BUFFER_TOO_SMALL` (`cap` is below the image's length, which is
/// still written to `*len_out`; nothing is written to `buf`), `AD_ERR_NULL` (`tape`,
/// `len_out`, `buf` with `cap > 0`, or `outputs` with `n > 0`), `AD_ERR_MISALIGNED`
/// (`len_out` or `outputs`), `AD_ERR_SIZE_OVERFLOW` (`cap` or `n`, or an image over
/// 4 GiB), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`buf` overlaps `outputs`),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an output),
/// `AD_ERR_NOT_EXPORTABLE` (the tape holds checkpointed-segment records or device
/// tensors), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_save_image(
    tape: *const ad_tape,
    outputs: *const ad_var,
    n: usize,
    buf: *mut c_void,
    cap: usize,
    len_out: *mut usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe { save_image(tape, outputs, n, 0, buf, cap, len_out) }
}

/// `ad_tape_save_image_with()` flag: the image also carries the values of the
/// parameters its tensor records use, which loading writes into the loading tape's
/// parameters (of the same index and shape).
pub const AD_IMAGE_PARAMETERS: c_uint = 1;

/// `ad_tape_save_image()` with `flags`: `AD_IMAGE_PARAMETERS`, or 0 (which is
/// `ad_tape_save_image()`).
///
/// Statuses: those of `ad_tape_save_image()`: `AD_ERR_BUFFER_TOO_SMALL`, `AD_ERR_NULL`,
/// `AD_ERR_MISALIGNED`, `AD_ERR_SIZE_OVERFLOW`, `AD_ERR_INVALID_TAPE`,
/// `AD_ERR_INVALID_ARGUMENT` (also: unknown bits in `flags`), `AD_ERR_DTYPE_MISMATCH`,
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND`,
/// `AD_ERR_NOT_EXPORTABLE`, and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_save_image_with(
    tape: *const ad_tape,
    outputs: *const ad_var,
    n: usize,
    flags: c_uint,
    buf: *mut c_void,
    cap: usize,
    len_out: *mut usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe { save_image(tape, outputs, n, flags, buf, cap, len_out) }
}

/// Both save calls.
///
/// # Safety
/// As for `ad_tape_save_image()`.
unsafe fn save_image(
    tape: *const ad_tape,
    outputs: *const ad_var,
    n: usize,
    flags: c_uint,
    buf: *mut c_void,
    cap: usize,
    len_out: *mut usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let len_out = ptr::out(len_out, "len_out")?;
            let outputs = handles(outputs, n)?;
            let buf = ptr::slice_mut(buf.cast::<u8>(), cap, "buf")?;
            ptr::disjoint(outputs, buf, "buf overlaps outputs")?;
            if flags & !AD_IMAGE_PARAMETERS != 0 {
                return Err(Error::InvalidArgument("unknown bits in flags").into());
            }
            let options = ImageOptions {
                parameters: flags & AD_IMAGE_PARAMETERS != 0,
            };
            with_float_tape!(&header.tape, t => {
                let len = t.image_len_with(outputs, options)?;
                *len_out = len;
                if len > cap {
                    return Err(Failure::BufferTooSmall { what: "buf", needed: len, cap });
                }
                t.write_image_with(outputs, options, buf)?;
                Ok(())
            })
        })
    }
}

/// Checks the image at `image[0..len)` whole (header, length, checksum) and writes what
/// its header says to `*info_out`: ask it before loading, for the tape's dtype, its
/// size and the number of outputs. Needs no tape.
///
/// Statuses: `AD_ERR_NULL` (`info_out`, or `image` with `len > 0`), `AD_ERR_MISALIGNED`
/// (`info_out`), `AD_ERR_SIZE_OVERFLOW` (`len`), `AD_ERR_BAD_IMAGE` (not an image,
/// truncated, corrupt or inconsistent), `AD_ERR_IMAGE_VERSION` (a format version this
/// library does not read).
#[no_mangle]
pub unsafe extern "C" fn ad_image_inspect(
    image: *const c_void,
    len: usize,
    info_out: *mut ad_image_info,
) -> crate::error::ad_status {
    let result = ffi_boundary!(Err(Failure::Panic), {
        (|| -> Result<()> {
            // SAFETY: the caller's contract.
            let info_out = unsafe { ptr::out(info_out, "info_out") }?;
            // SAFETY: the caller's contract.
            let bytes = unsafe { ptr::slice(image.cast::<u8>(), len, "image") }?;
            let info = image::image_info(bytes)?;
            *info_out = ad_image_info {
                dtype: if info.value_bytes == 4 {
                    ad_dtype::AD_F32
                } else {
                    ad_dtype::AD_F64
                },
                records: info.records,
                inputs: info.inputs,
                outputs: info.outputs,
            };
            Ok(())
        })()
    });
    match result {
        Ok(()) => crate::error::ad_status::AD_OK,
        Err(failure) => failure.status(),
    }
}

/// Loads the image at `image[0..len)` into `tape`, after anything recorded there, and
/// writes the handles of the outputs it names to `outputs_out[0..n)` (`n` must be the
/// image's output count, from `ad_image_inspect()`). Its inputs count among the tape's
/// inputs, after any recorded before (`ad_replay()`, `ad_gradient()` list them so).
/// Every other value is recomputed from them by the tape's own rules; tensor records
/// are recorded through their ops, and the parameters they use are this tape's of the
/// same index, which must exist with the same shape (else `AD_ERR_BAD_IMAGE`). Get a
/// tensor output's `ad_tensor` from its `ad_var` with `ad_tensor_of()`.
///
/// The image is checked whole before anything is recorded, so a corrupt, truncated or
/// hostile one fails and leaves the tape as it was. Only running out of memory while
/// recording it fails the tape (as any op would: `ad_tape_reset()` makes it usable).
///
/// Statuses: `AD_ERR_NULL` (`tape`, `image` with `len > 0`, or `outputs_out` with
/// `n > 0`), `AD_ERR_MISALIGNED` (`outputs_out`), `AD_ERR_SIZE_OVERFLOW` (`len` or
/// `n`), `AD_ERR_INVALID_TAPE`, `AD_ERR_BAD_IMAGE`, `AD_ERR_IMAGE_VERSION`,
/// `AD_ERR_DTYPE_MISMATCH` (the image's dtype is not the tape's; `AD_F64_DUAL` tapes
/// load none), `AD_ERR_INVALID_ARGUMENT` (`n` is not the image's output count; the
/// message gives both; `outputs_out` overlaps `image`), `AD_ERR_OUT_OF_MEMORY` and
/// `AD_ERR_TOO_MANY_VARIABLES` (the tape cannot hold it; these stay as its sticky
/// error), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_load_image(
    tape: *mut ad_tape,
    image: *const c_void,
    len: usize,
    outputs_out: *mut ad_var,
    n: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let bytes = ptr::slice(image.cast::<u8>(), len, "image")?;
            let outputs = ptr::slice_mut(outputs_out, n, "outputs_out")?;
            ptr::disjoint(bytes, outputs, "outputs_out overlaps image")?;
            // SAFETY: `ad_var` and `VarId` have one layout (asserted in `var`).
            let ids = core::slice::from_raw_parts_mut(outputs.as_mut_ptr().cast::<VarId>(), n);
            // The core writes the handles only once the whole image is recorded.
            with_float_tape!(&header.tape, t => Ok(t.load_image(bytes, ids)?))
        })
    }
}
