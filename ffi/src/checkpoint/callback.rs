//! What segments and chains share when they call C: handle and value arrays as C
//! pointers (NULL when empty), and the status a callback returns as a core error.

use crate::error::{ad_status, StatusArg};
use crate::var::ad_var;
use autodiff_core::Real as Elem;
use autodiff_core::{Error, Tape, VarId};
use core::ffi::c_int;

/// `values` for C: NULL when empty.
pub(super) fn ptr_or_null<T>(values: &[T]) -> *const T {
    if values.is_empty() {
        core::ptr::null()
    } else {
        values.as_ptr()
    }
}

/// `values` for C to write: NULL when empty.
pub(super) fn mut_ptr_or_null<T>(values: &mut [T]) -> *mut T {
    if values.is_empty() {
        core::ptr::null_mut()
    } else {
        values.as_mut_ptr()
    }
}

/// `vars` for C: NULL when empty.
pub(super) fn vars_ptr(vars: &[VarId]) -> *const ad_var {
    ptr_or_null(vars).cast()
}

pub(super) fn vars_mut_ptr(vars: &mut [VarId]) -> *mut ad_var {
    mut_ptr_or_null(vars).cast()
}

/// The error a callback's `status` stands for: the tape's sticky error when it has one
/// (the callback's own op failed, which says most), else the status itself.
pub(super) fn callback_result<T: Elem>(
    tape: &Tape<'_, T>,
    status: StatusArg,
) -> autodiff_core::Result<()> {
    if status.0 == ad_status::AD_OK as c_int {
        return Ok(());
    }
    tape.status()?;
    Err(error_of_status(status))
}

/// A core error for a status a callback returned: the same code where the core has an
/// error that carries no numbers, `InvalidArgument` naming the code otherwise.
pub(super) fn error_of_status(status: StatusArg) -> Error {
    use ad_status::*;
    match ad_status::from_code(status.0) {
        Some(AD_ERR_STALE_HANDLE) => Error::StaleHandle,
        Some(AD_ERR_STALE_PATTERN) => Error::StalePattern,
        Some(AD_ERR_FOREIGN_PATTERN) => Error::ForeignPattern,
        Some(AD_ERR_FOREIGN_HANDLE) => Error::ForeignHandle,
        Some(AD_ERR_SIZE_OVERFLOW) => Error::SizeOverflow,
        Some(AD_ERR_DTYPE_MISMATCH) => Error::DtypeMismatch,
        Some(AD_ERR_NO_DEVICE) => Error::NoDevice,
        Some(AD_ERR_UNKNOWN_DEVICE) => Error::UnknownDevice,
        Some(AD_ERR_DEVICE_MISMATCH) => Error::DeviceMismatch {
            op: "a callback returned AD_ERR_DEVICE_MISMATCH",
        },
        Some(AD_ERR_UNSUPPORTED_ON_DEVICE) => {
            Error::UnsupportedOnDevice("a callback returned AD_ERR_UNSUPPORTED_ON_DEVICE")
        }
        Some(AD_ERR_INVALID_ARGUMENT) => {
            Error::InvalidArgument("a callback returned AD_ERR_INVALID_ARGUMENT")
        }
        Some(AD_ERR_NON_FINITE) => Error::NonFinite("a callback returned AD_ERR_NON_FINITE"),
        Some(AD_ERR_BACKEND) => Error::Backend("a callback returned AD_ERR_BACKEND"),
        Some(AD_ERR_NULL) => Error::InvalidArgument("a callback returned AD_ERR_NULL"),
        Some(AD_ERR_INVALID_TAPE) => {
            Error::InvalidArgument("a callback returned AD_ERR_INVALID_TAPE")
        }
        Some(AD_ERR_PANIC) => Error::InvalidArgument("a callback returned AD_ERR_PANIC"),
        Some(AD_ERR_OUT_OF_MEMORY) => {
            Error::InvalidArgument("a callback returned AD_ERR_OUT_OF_MEMORY")
        }
        Some(AD_ERR_TOO_MANY_VARIABLES) => {
            Error::InvalidArgument("a callback returned AD_ERR_TOO_MANY_VARIABLES")
        }
        Some(AD_ERR_SHAPE_MISMATCH) => {
            Error::InvalidArgument("a callback returned AD_ERR_SHAPE_MISMATCH")
        }
        Some(AD_ERR_MODIFIED_IN_PLACE) => {
            Error::InvalidArgument("a callback returned AD_ERR_MODIFIED_IN_PLACE")
        }
        Some(AD_ERR_MISALIGNED) => Error::InvalidArgument("a callback returned AD_ERR_MISALIGNED"),
        Some(AD_ERR_OTHER) => Error::InvalidArgument("a callback returned AD_ERR_OTHER"),
        Some(AD_ERR_BUFFER_TOO_SMALL) => {
            Error::InvalidArgument("a callback returned AD_ERR_BUFFER_TOO_SMALL")
        }
        Some(AD_ERR_WRONG_HANDLE_KIND) => Error::WrongHandleKind {
            expected: "the kind the callee takes",
            got: "another kind (a callback returned AD_ERR_WRONG_HANDLE_KIND)",
        },
        Some(AD_ERR_REENTRANT) => Error::Reentrant("a callback returned AD_ERR_REENTRANT"),
        Some(AD_ERR_BRANCH_CHANGED) => {
            Error::InvalidArgument("a callback returned AD_ERR_BRANCH_CHANGED")
        }
        Some(AD_ERR_CALLBACK_FAILED) => Error::CallbackFailed {
            code: AD_ERR_CALLBACK_FAILED as i32,
        },
        Some(AD_ERR_NO_JVP) => Error::NoJvp,
        Some(AD_ERR_BAD_IMAGE) => Error::BadImage("a callback returned AD_ERR_BAD_IMAGE"),
        Some(AD_ERR_IMAGE_VERSION) => {
            Error::InvalidArgument("a callback returned AD_ERR_IMAGE_VERSION")
        }
        Some(AD_ERR_NOT_EXPORTABLE) => {
            Error::NotExportable("a callback returned AD_ERR_NOT_EXPORTABLE")
        }
        Some(AD_ERR_STATE_MISMATCH) => {
            Error::StateMismatch("a callback returned AD_ERR_STATE_MISMATCH")
        }
        Some(AD_OK) | None => Error::InvalidArgument("a callback returned an unknown status"),
    }
}
