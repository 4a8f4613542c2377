//! The layer that talks to CUDA: the driver through cudarc with the `cuda` feature, an
//! uninhabited stub without it. Both offer the same functions; the stub's constructors
//! report `NoDevice`, so nothing above ever holds a stub backend.

#[cfg(feature = "cuda")]
mod driver;
#[cfg(feature = "cuda")]
pub(crate) use driver::{Backend, MODULES};

#[cfg(not(feature = "cuda"))]
mod stub;
#[cfg(not(feature = "cuda"))]
pub(crate) use stub::Backend;

/// A kernel argument. `Real` becomes the kernel's element type; `Words` is a by-value
/// struct of 64-bit words (the broadcast layout).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) enum Arg {
    Ptr(u64),
    U64(u64),
    I32(i32),
    Real(f64),
    Words([u64; 12]),
}

/// A launch's grid and (one-dimensional) block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Launch {
    pub grid: (u32, u32, u32),
    pub block: u32,
}

/// A row-major `c = alpha·op(a)·op(b) + beta·c` with `op(a)` m×k and `op(b)` k×n;
/// `lda`, `ldb`, `ldc` are the stored row lengths. Dimensions already fit in `i32`.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) struct Gemm {
    pub transpose_a: bool,
    pub transpose_b: bool,
    pub m: i32,
    pub n: i32,
    pub k: i32,
    pub alpha: f64,
    pub a: u64,
    pub lda: i32,
    pub b: u64,
    pub ldb: i32,
    pub beta: f64,
    pub c: u64,
    pub ldc: i32,
}
