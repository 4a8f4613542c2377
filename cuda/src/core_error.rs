//! How a [`CudaError`] reads as the core's [`Error`], for a tape that dispatches to this
//! backend through [`TensorDevice`](autodiff_core::TensorDevice).
//!
//! The core's errors carry static text only, so dynamic details (the driver's error code,
//! the shapes that did not fit) are dropped here; [`Device::last_error`](crate::Device::last_error)
//! keeps the full message of the last failure on the trait's path.

use crate::error::CudaError;
use autodiff_core::Error;
use std::cell::RefCell;

/// The full message of the last failure, beside the static core error that reports it.
#[derive(Debug, Default)]
pub(crate) struct LastError(RefCell<Option<String>>);

impl LastError {
    /// Keeps `error`'s message and returns the core's error for it.
    pub(crate) fn record(&self, error: CudaError) -> Error {
        *self.0.borrow_mut() = Some(error.to_string());
        error.into()
    }

    pub(crate) fn get(&self) -> Option<String> {
        self.0.borrow().clone()
    }
}

impl From<CudaError> for Error {
    fn from(e: CudaError) -> Error {
        match e {
            CudaError::NoDevice(_) => Error::NoDevice,
            CudaError::OutOfMemory { needed, free } => Error::OutOfMemory { needed, free },
            // The shapes are in the dynamic text; the op's name is what stays static. The
            // ops also report an output overlapping an input this way.
            CudaError::ShapeMismatch { op, .. } => Error::InvalidArgument(op),
            CudaError::DTypeMismatch { .. } => Error::DtypeMismatch,
            CudaError::InvalidArgument(what) => Error::InvalidArgument(what),
            // A handle of another device, or one rewound past: the tape's own notions.
            CudaError::WrongDevice => Error::ForeignHandle,
            CudaError::StaleHandle => Error::StaleHandle,
            CudaError::NoCublas => Error::Backend("cuBLAS could not be loaded"),
            CudaError::Driver(_) => Error::Backend("CUDA driver call failed"),
            CudaError::Cublas(_) => Error::Backend("cuBLAS call failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;

    #[test]
    fn every_cuda_error_has_a_core_error() {
        let cases = [
            (CudaError::NoDevice("no driver".into()), Error::NoDevice),
            (
                CudaError::OutOfMemory { needed: 8, free: 4 },
                Error::OutOfMemory { needed: 8, free: 4 },
            ),
            (
                CudaError::ShapeMismatch {
                    op: "transpose",
                    detail: "[2, 3] vs [2, 3]".into(),
                },
                Error::InvalidArgument("transpose"),
            ),
            (
                CudaError::DTypeMismatch {
                    op: "zero",
                    expected: DType::F32,
                    found: DType::F64,
                },
                Error::DtypeMismatch,
            ),
            (
                CudaError::InvalidArgument("adam: the step count starts at 1"),
                Error::InvalidArgument("adam: the step count starts at 1"),
            ),
            (CudaError::WrongDevice, Error::ForeignHandle),
            (CudaError::StaleHandle, Error::StaleHandle),
            (
                CudaError::NoCublas,
                Error::Backend("cuBLAS could not be loaded"),
            ),
            (
                CudaError::Driver("cuMemcpyHtoD: CUDA_ERROR_ILLEGAL_ADDRESS".into()),
                Error::Backend("CUDA driver call failed"),
            ),
            (
                CudaError::Cublas("sgemm: CUBLAS_STATUS_EXECUTION_FAILED".into()),
                Error::Backend("cuBLAS call failed"),
            ),
        ];
        for (cuda, core) in cases {
            assert_eq!(Error::from(cuda.clone()), core, "{cuda:?}");
        }
    }

    #[test]
    fn the_last_failure_keeps_its_full_message() {
        let last = LastError::default();
        assert_eq!(last.get(), None);
        let driver = CudaError::Driver("launch ad_scale: CUDA_ERROR_LAUNCH_FAILED".into());
        assert_eq!(
            last.record(driver),
            Error::Backend("CUDA driver call failed")
        );
        assert_eq!(
            last.get().as_deref(),
            Some("CUDA driver error: launch ad_scale: CUDA_ERROR_LAUNCH_FAILED")
        );
        // A later failure replaces it.
        last.record(CudaError::ShapeMismatch {
            op: "matmul",
            detail: "[2, 3] vs [4, 5] vs [2, 5]".into(),
        });
        assert_eq!(
            last.get().as_deref(),
            Some("matmul: shapes [2, 3] vs [4, 5] vs [2, 5]")
        );
    }
}
