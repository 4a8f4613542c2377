//! Status codes: `ad_status`, its text, and the mapping from the core's `Error`.

use autodiff_core::Error;
use core::ffi::{c_char, c_int, CStr};
use core::fmt;

/// The result of every fallible call. `AD_OK` is zero; every other value names one kind
/// of failure. The numbers are part of the ABI: new codes are only ever appended.
/// `ad_status_str()` gives a fixed description of a code; `ad_tape_error()` gives the
/// message of a tape's failure, with the numbers that explain it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ad_status {
    /// Success.
    AD_OK = 0,
    /// A required pointer argument was NULL.
    AD_ERR_NULL = 1,
    /// The tape pointer does not point at a live tape: never initialised, already ended
    /// with `ad_tape_done()`/`ad_tape_free()`, or misaligned (detection is best effort).
    AD_ERR_INVALID_TAPE = 2,
    /// The library caught an internal panic. The tape (if any) refuses further work
    /// until `ad_tape_reset()`. Please report it: this is a bug.
    AD_ERR_PANIC = 3,
    /// The memory given to the tape is too small for what was asked.
    AD_ERR_OUT_OF_MEMORY = 4,
    /// The tape reached the largest number of variables a tape can index: 2^32 - 1
    /// records (memory usually runs out first: 24 bytes a record for f64, 16 for f32).
    AD_ERR_TOO_MANY_VARIABLES = 5,
    /// A handle of this tape that is no longer live: recorded before the tape's last
    /// `ad_tape_reset()`, or made inside a checkpoint block that has ended.
    AD_ERR_STALE_HANDLE = 6,
    /// A handle from another tape (or from a tape that once lived in the same memory),
    /// the invalid handle a failed op returned, or one never issued.
    AD_ERR_FOREIGN_HANDLE = 7,
    /// An argument outside what the call accepts, such as an array length that differs
    /// from the count it must equal (the message gives both numbers) or an unknown dtype.
    AD_ERR_INVALID_ARGUMENT = 8,
    /// Two shapes that an op cannot combine.
    AD_ERR_SHAPE_MISMATCH = 9,
    /// A size or byte count that overflows `size_t`.
    AD_ERR_SIZE_OVERFLOW = 10,
    /// A tensor was updated in place after an op that needs its old value.
    AD_ERR_MODIFIED_IN_PLACE = 11,
    /// The call needs a tape of another dtype (e.g. `ad_hvp()` on an `AD_F64` tape).
    AD_ERR_DTYPE_MISMATCH = 12,
    /// A value needed for a derivative is NaN or infinite.
    AD_ERR_NON_FINITE = 13,
    /// No usable compute device (GPU).
    AD_ERR_NO_DEVICE = 14,
    /// A compute backend failed.
    AD_ERR_BACKEND = 15,
    /// A pointer argument is not aligned for its element type.
    AD_ERR_MISALIGNED = 16,
    /// A failure this version of the C API has no specific code for; the tape's message
    /// says what happened.
    AD_ERR_OTHER = 17,
    /// A caller's output buffer, given with a capacity, is too small; the call's length
    /// out-parameter (e.g. `len_out` of `ad_tape_dot()`) says how much is needed.
    AD_ERR_BUFFER_TOO_SMALL = 18,
    /// An op's arguments live on different devices (move them with
    /// `ad_tensor_to_device()` / `ad_tensor_to_host()`).
    AD_ERR_DEVICE_MISMATCH = 19,
    /// A device number the tape never attached.
    AD_ERR_UNKNOWN_DEVICE = 20,
    /// What the call asks is not available for tensors on a device (a checkpointed
    /// segment of them, a move from one device straight to another, a rank-0 parameter
    /// on a device); the tape's message says what.
    AD_ERR_UNSUPPORTED_ON_DEVICE = 21,
    /// A handle of the wrong kind: a tensor's fields copied into an `ad_var`, or the
    /// other way round (convert with `ad_tensor_as_var()`).
    AD_ERR_WRONG_HANDLE_KIND = 22,
    /// A call that a callback running on the tape (a checkpoint block, a chain step or
    /// loss) may not make on that same tape: a reset or end, a sweep (`ad_backward()`,
    /// `ad_jvp()`, `ad_replay()`, ...), an optimizer step, creating parameters or
    /// attaching devices. The tape keeps this error.
    AD_ERR_REENTRANT = 23,
    /// `ad_replay()` found comparisons passed to `ad_branch()` coming out differently at
    /// the new inputs: the recorded op sequence is not the one the program now runs, so
    /// the replayed values and any derivative of them are not valid.
    /// `ad_tape_branch_changes()` gives how many changed and the first one's position;
    /// the tape keeps this error: reset it and record again.
    AD_ERR_BRANCH_CHANGED = 24,
    /// A user-defined op's callback (see `ad_user_op()`) returned a non-zero code; the
    /// tape's message gives it. The tape keeps this error until `ad_tape_reset()`.
    AD_ERR_CALLBACK_FAILED = 25,
    /// Forward mode (`ad_jvp()`) reached a user-defined op that has no `jvp` callback.
    /// Reverse mode still works; the tape does not keep this error.
    AD_ERR_NO_JVP = 26,
    /// A sparse plan (`ad_sparse_jacobian_init()`, `ad_sparse_hessian_init()`) made from a
    /// recording the tape no longer holds: the tape was reset, or recorded more, since.
    /// Make the plan again.
    AD_ERR_STALE_PATTERN = 27,
    /// A sparse plan made from another tape, or of the other kind than the call needs (a
    /// Jacobian plan given to `ad_sparse_hessian_eval()`, or the other way round).
    AD_ERR_FOREIGN_PATTERN = 28,
    /// A tape image that cannot be loaded: not an image, truncated, corrupt (its
    /// checksum fails) or inconsistent; the message says which check failed. Nothing
    /// was recorded.
    AD_ERR_BAD_IMAGE = 29,
    /// A tape image in a format version this library does not read; the message gives
    /// both versions.
    AD_ERR_IMAGE_VERSION = 30,
    /// The tape holds records that cannot be exported as an image (checkpointed-segment
    /// records, device tensors) or as C source (those, and tensor records); the message
    /// says which.
    AD_ERR_NOT_EXPORTABLE = 31,
    /// A saved optimizer state given to `ad_optim_state_load()` that does not fit the
    /// tape: another optimizer or dtype, other parameter sizes, or not a saved state at
    /// all; the tape's message says which.
    AD_ERR_STATE_MISMATCH = 32,
}

use ad_status::*;

impl ad_status {
    /// Every status, in code order.
    /// cbindgen:ignore
    pub const ALL: [ad_status; 33] = [
        AD_OK,
        AD_ERR_NULL,
        AD_ERR_INVALID_TAPE,
        AD_ERR_PANIC,
        AD_ERR_OUT_OF_MEMORY,
        AD_ERR_TOO_MANY_VARIABLES,
        AD_ERR_STALE_HANDLE,
        AD_ERR_FOREIGN_HANDLE,
        AD_ERR_INVALID_ARGUMENT,
        AD_ERR_SHAPE_MISMATCH,
        AD_ERR_SIZE_OVERFLOW,
        AD_ERR_MODIFIED_IN_PLACE,
        AD_ERR_DTYPE_MISMATCH,
        AD_ERR_NON_FINITE,
        AD_ERR_NO_DEVICE,
        AD_ERR_BACKEND,
        AD_ERR_MISALIGNED,
        AD_ERR_OTHER,
        AD_ERR_BUFFER_TOO_SMALL,
        AD_ERR_DEVICE_MISMATCH,
        AD_ERR_UNKNOWN_DEVICE,
        AD_ERR_UNSUPPORTED_ON_DEVICE,
        AD_ERR_WRONG_HANDLE_KIND,
        AD_ERR_REENTRANT,
        AD_ERR_BRANCH_CHANGED,
        AD_ERR_CALLBACK_FAILED,
        AD_ERR_NO_JVP,
        AD_ERR_STALE_PATTERN,
        AD_ERR_FOREIGN_PATTERN,
        AD_ERR_BAD_IMAGE,
        AD_ERR_IMAGE_VERSION,
        AD_ERR_NOT_EXPORTABLE,
        AD_ERR_STATE_MISMATCH,
    ];

    /// The status with number `code`, if there is one.
    pub fn from_code(code: c_int) -> Option<ad_status> {
        Self::ALL.iter().copied().find(|s| *s as c_int == code)
    }

    /// The fixed description, NUL-terminated.
    pub fn text(self) -> &'static CStr {
        match self {
            AD_OK => c"ok",
            AD_ERR_NULL => c"null pointer argument",
            AD_ERR_INVALID_TAPE => c"not a live tape",
            AD_ERR_PANIC => c"internal panic caught at the C boundary",
            AD_ERR_OUT_OF_MEMORY => c"tape memory exhausted",
            AD_ERR_TOO_MANY_VARIABLES => c"too many variables on one tape",
            AD_ERR_STALE_HANDLE => c"stale handle (from before the last reset, or an ended block)",
            AD_ERR_FOREIGN_HANDLE => c"foreign handle (another tape, or a failed op)",
            AD_ERR_INVALID_ARGUMENT => c"invalid argument",
            AD_ERR_SHAPE_MISMATCH => c"shape mismatch",
            AD_ERR_SIZE_OVERFLOW => c"size overflow",
            AD_ERR_MODIFIED_IN_PLACE => c"tensor modified in place",
            AD_ERR_DTYPE_MISMATCH => c"dtype mismatch",
            AD_ERR_NON_FINITE => c"non-finite value",
            AD_ERR_NO_DEVICE => c"no usable device",
            AD_ERR_BACKEND => c"backend failure",
            AD_ERR_MISALIGNED => c"misaligned pointer argument",
            AD_ERR_OTHER => c"other error",
            AD_ERR_BUFFER_TOO_SMALL => c"output buffer too small",
            AD_ERR_DEVICE_MISMATCH => c"arguments on different devices",
            AD_ERR_UNKNOWN_DEVICE => c"unknown device",
            AD_ERR_UNSUPPORTED_ON_DEVICE => c"not supported on a device",
            AD_ERR_WRONG_HANDLE_KIND => c"wrong kind of handle",
            AD_ERR_REENTRANT => c"not allowed inside a callback on the same tape",
            AD_ERR_BRANCH_CHANGED => c"a recorded branch changed at the replayed inputs",
            AD_ERR_CALLBACK_FAILED => c"a user-defined op's callback failed",
            AD_ERR_NO_JVP => c"a user-defined op has no forward-mode derivative",
            AD_ERR_STALE_PATTERN => c"stale sparsity pattern (the tape was reset or recorded more)",
            AD_ERR_FOREIGN_PATTERN => c"sparsity pattern of another tape or kind",
            AD_ERR_BAD_IMAGE => c"bad tape image (truncated, corrupt or not an image)",
            AD_ERR_IMAGE_VERSION => c"tape image format version not supported",
            AD_ERR_NOT_EXPORTABLE => c"the tape holds records that cannot be exported",
            AD_ERR_STATE_MISMATCH => c"saved optimizer state does not fit the tape",
        }
    }
}

impl From<Error> for ad_status {
    fn from(error: Error) -> ad_status {
        match error {
            Error::OutOfMemory { .. } => AD_ERR_OUT_OF_MEMORY,
            Error::TooManyVariables { .. } => AD_ERR_TOO_MANY_VARIABLES,
            Error::StaleHandle => AD_ERR_STALE_HANDLE,
            Error::ForeignHandle => AD_ERR_FOREIGN_HANDLE,
            Error::InvalidArgument(_) | Error::LengthMismatch { .. } => AD_ERR_INVALID_ARGUMENT,
            Error::ShapeMismatch { .. } => AD_ERR_SHAPE_MISMATCH,
            Error::SizeOverflow => AD_ERR_SIZE_OVERFLOW,
            Error::ModifiedInPlace { .. } => AD_ERR_MODIFIED_IN_PLACE,
            Error::DtypeMismatch => AD_ERR_DTYPE_MISMATCH,
            Error::NonFinite(_) => AD_ERR_NON_FINITE,
            Error::NoDevice => AD_ERR_NO_DEVICE,
            Error::Backend(_) => AD_ERR_BACKEND,
            Error::DeviceMismatch { .. } => AD_ERR_DEVICE_MISMATCH,
            Error::UnknownDevice => AD_ERR_UNKNOWN_DEVICE,
            Error::UnsupportedOnDevice(_) => AD_ERR_UNSUPPORTED_ON_DEVICE,
            Error::WrongHandleKind { .. } => AD_ERR_WRONG_HANDLE_KIND,
            Error::Reentrant(_) => AD_ERR_REENTRANT,
            Error::BranchChanged { .. } => AD_ERR_BRANCH_CHANGED,
            Error::CallbackFailed { .. } => AD_ERR_CALLBACK_FAILED,
            Error::NoJvp => AD_ERR_NO_JVP,
            Error::StalePattern => AD_ERR_STALE_PATTERN,
            Error::ForeignPattern => AD_ERR_FOREIGN_PATTERN,
            Error::BadImage(_) => AD_ERR_BAD_IMAGE,
            Error::ImageVersion { .. } => AD_ERR_IMAGE_VERSION,
            Error::NotExportable(_) => AD_ERR_NOT_EXPORTABLE,
            Error::StateMismatch(_) => AD_ERR_STATE_MISMATCH,
            _ => AD_ERR_OTHER,
        }
    }
}

/// Why a C call failed: a core error, or one the boundary itself detected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Failure {
    Core(Error),
    /// The named pointer argument was NULL.
    Null(&'static str),
    /// The named pointer argument is not aligned for its element type.
    Misaligned(&'static str),
    InvalidTape,
    Panic,
    /// The named output buffer holds `cap` elements; `needed` are needed.
    BufferTooSmall {
        what: &'static str,
        needed: usize,
        cap: usize,
    },
}

impl Failure {
    pub fn status(self) -> ad_status {
        match self {
            Failure::Core(error) => error.into(),
            Failure::Null(_) => AD_ERR_NULL,
            Failure::Misaligned(_) => AD_ERR_MISALIGNED,
            Failure::InvalidTape => AD_ERR_INVALID_TAPE,
            Failure::Panic => AD_ERR_PANIC,
            Failure::BufferTooSmall { .. } => AD_ERR_BUFFER_TOO_SMALL,
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Core(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Core(error) => error.fmt(f),
            Failure::Null(what) => write!(f, "null pointer: {what}"),
            Failure::Misaligned(what) => write!(f, "misaligned pointer: {what}"),
            Failure::InvalidTape => f.write_str("not a live tape"),
            Failure::Panic => f.write_str(
                "internal panic caught at the C boundary; reset the tape to use it again",
            ),
            Failure::BufferTooSmall { what, needed, cap } => {
                write!(f, "{what} too small: needs {needed}, holds {cap}")
            }
        }
    }
}

/// The result type of the boundary's helpers.
pub type Result<T, E = Failure> = core::result::Result<T, E>;

/// Receives an `ad_status` from C. Any `int` is safe to pass: unknown codes are answered,
/// not trusted, which a Rust enum parameter could not do.
/// cbindgen:ignore
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct StatusArg(pub c_int);

/// A fixed, NUL-terminated English description of `status`. The string is static: never
/// free it. An unknown code gives "unknown status code".
#[no_mangle]
pub extern "C" fn ad_status_str(status: StatusArg) -> *const c_char {
    ffi_boundary!(c"unknown status code".as_ptr(), {
        match ad_status::from_code(status.0) {
            Some(status) => status.text().as_ptr(),
            None => c"unknown status code".as_ptr(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_mismatch_is_an_invalid_argument_whose_message_gives_both_numbers() {
        let failure = Failure::Core(Error::LengthMismatch {
            what: "gradient buffer length",
            got: 3,
            against: "the number of inputs",
            expected: 2,
        });
        assert_eq!(failure.status(), AD_ERR_INVALID_ARGUMENT);
        assert_eq!(
            failure.to_string(),
            "gradient buffer length 3 differs from the number of inputs 2"
        );
    }
}
