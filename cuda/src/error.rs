//! The backend's error type. Every failure, including a missing driver or GPU, is one of
//! these; nothing panics.

use std::fmt;

/// What went wrong in a GPU call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CudaError {
    /// No usable GPU: the build lacks the `cuda` feature, `libcuda.so` is absent, or the
    /// driver reports no device. The text says which.
    NoDevice(String),
    /// cuBLAS (needed by matmul and the fused layer) could not be loaded.
    NoCublas,
    /// A CUDA driver call failed; the text names the call and the driver's error.
    Driver(String),
    /// A cuBLAS call failed.
    Cublas(String),
    /// The device arena cannot hold `needed` more bytes; `free` bytes remain.
    OutOfMemory { needed: usize, free: usize },
    /// Shapes that `op` cannot combine; the text gives them.
    ShapeMismatch { op: &'static str, detail: String },
    /// A tensor of the wrong element type for `op`.
    DTypeMismatch {
        op: &'static str,
        expected: crate::DType,
        found: crate::DType,
    },
    /// A tensor that belongs to another [`Device`](crate::Device).
    WrongDevice,
    /// A tensor whose memory was given back by a rewind or reset of the device arena.
    StaleHandle,
    /// An argument outside what the call accepts; the text says which.
    InvalidArgument(&'static str),
}

pub type Result<T, E = CudaError> = std::result::Result<T, E>;

impl fmt::Display for CudaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CudaError::NoDevice(why) => write!(f, "no device: {why}"),
            CudaError::NoCublas => f.write_str("cuBLAS could not be loaded (libcublas.so)"),
            CudaError::Driver(what) => write!(f, "CUDA driver error: {what}"),
            CudaError::Cublas(what) => write!(f, "cuBLAS error: {what}"),
            CudaError::OutOfMemory { needed, free } => write!(
                f,
                "device arena exhausted: needed {needed} bytes, {free} bytes free"
            ),
            CudaError::ShapeMismatch { op, detail } => write!(f, "{op}: shapes {detail}"),
            CudaError::DTypeMismatch {
                op,
                expected,
                found,
            } => write!(f, "{op}: expected {expected:?} elements, found {found:?}"),
            CudaError::WrongDevice => f.write_str("tensor belongs to another device"),
            CudaError::StaleHandle => {
                f.write_str("stale tensor: its memory was given back by a rewind or reset")
            }
            CudaError::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
        }
    }
}

impl std::error::Error for CudaError {}
