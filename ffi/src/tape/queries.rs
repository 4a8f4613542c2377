//! What a tape can say about itself: its sticky status and message, and its sizes.

use super::*;

/// The tape's sticky error: `AD_OK` while every op so far succeeded, otherwise the
/// status of the first op that failed (later ops record nothing and return an invalid
/// handle); each op's "Sticky errors" list what that can be.
///
/// Statuses: the tape's sticky error, `AD_ERR_PANIC` (after a caught panic, until
/// `ad_tape_reset()`), `AD_ERR_NULL`, `AD_ERR_INVALID_TAPE`.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_status(tape: *const ad_tape) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        match unsafe { header(tape) } {
            Err(failure) => failure.status(),
            Ok(header) if header.poisoned.get() => ad_status::AD_ERR_PANIC,
            Ok(header) => header.sticky().map_or(ad_status::AD_OK, Failure::status),
        }
    })
}

/// A message that explains the tape's failure: its sticky error if there is one,
/// otherwise the latest call on it that failed since the last reset, otherwise "no
/// error". Never NULL. The text lives in a buffer inside the tape (in the caller's
/// memory), which this call writes, hence the non-const tape: it stays valid until the next
/// `ad_tape_error()` on this tape or the tape's end. A NULL tape gives the static string
/// "null tape", one that is not live "not a live tape". Returns no status.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_error(tape: *mut ad_tape) -> *const c_char {
    ffi_boundary!(c"internal panic caught at the C boundary".as_ptr(), {
        // SAFETY: the caller's contract.
        match unsafe { header(tape) } {
            Err(Failure::Null(_)) => c"null tape".as_ptr(),
            Err(_) => c"not a live tape".as_ptr(),
            Ok(header) => match header.failure() {
                None => c"no error".as_ptr(),
                Some(failure) => {
                    // SAFETY: the buffer is only touched here, and the returned pointer
                    // is documented to die at the next call.
                    let buffer = unsafe { &mut *header.message.get() };
                    write_message(buffer, failure);
                    buffer.as_ptr().cast()
                }
            },
        }
    })
}

/// Formats `failure` into `buffer`, truncated at a character boundary, NUL-terminated.
fn write_message(buffer: &mut [u8; MESSAGE_LEN], failure: Failure) {
    struct Truncating<'b> {
        buffer: &'b mut [u8],
        len: usize,
    }
    impl Write for Truncating<'_> {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            let room = self.buffer.len() - 1 - self.len;
            let mut take = text.len().min(room);
            while !text.is_char_boundary(take) {
                take -= 1;
            }
            self.buffer[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
            self.len += take;
            Ok(())
        }
    }
    let mut writer = Truncating { buffer, len: 0 };
    // `Truncating` never fails, and nor do the `Display` impls it runs.
    let _ = write!(writer, "{failure}");
    let end = writer.len;
    buffer[end] = 0;
}

/// Reads one number about a live tape into `*out`.
///
/// # Safety
/// As for [`header`]; `out` as for [`crate::ptr::out`].
unsafe fn query(
    tape: *const ad_tape,
    out: *mut usize,
    name: &'static str,
    f: impl FnOnce(&AnyTape) -> usize,
) -> ad_status {
    // SAFETY: forwarded.
    unsafe {
        call(tape, |header| {
            let out = crate::ptr::out(out, name)?;
            *out = f(&header.tape);
            Ok(())
        })
    }
}

/// The number of inputs recorded, into `*count_out`: the length `ad_gradient()`,
/// `ad_jvp()` and `ad_replay()` expect. Answers on a tape with a sticky error too.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `count_out`), `AD_ERR_MISALIGNED` (`count_out`),
/// `AD_ERR_INVALID_TAPE`.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_num_inputs(
    tape: *const ad_tape,
    count_out: *mut usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        query(
            tape,
            count_out,
            "count_out",
            |any| with_tape!(any, t => t.num_inputs()),
        )
    }
}

/// The number of variables recorded (inputs, constants and op results), into
/// `*count_out`. Answers on a tape with a sticky error too.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `count_out`), `AD_ERR_MISALIGNED` (`count_out`),
/// `AD_ERR_INVALID_TAPE`.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_len(tape: *const ad_tape, count_out: *mut usize) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        query(
            tape,
            count_out,
            "count_out",
            |any| with_tape!(any, t => t.len()),
        )
    }
}

/// The bytes of the tape's arena in use, into `*bytes_out` (the header's own bytes are
/// not counted). Answers on a tape with a sticky error too.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `bytes_out`), `AD_ERR_MISALIGNED` (`bytes_out`),
/// `AD_ERR_INVALID_TAPE`.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_bytes_used(
    tape: *const ad_tape,
    bytes_out: *mut usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        query(
            tape,
            bytes_out,
            "bytes_out",
            |any| with_tape!(any, t => t.used_bytes()),
        )
    }
}
