//! Dense CPU kernels for the tensor layer: pure functions over slices.
//!
//! Nothing here knows about tapes, arenas or shapes; each function takes plain slices
//! with explicit dimensions and leading dimensions, checks every length before touching
//! memory, and reports bad input as an [`Error`](crate::Error) instead of panicking.
//! Nothing allocates: where a kernel needs scratch memory (GEMM packing), the caller
//! passes it in and a companion function says how much.
//!
//! - [`cpu_features`]: run-time detection of AVX2/FMA and AVX-512 (no `std` needed);
//! - [`gemm`](mod@gemm): `C = alpha·op(A)·op(B) + beta·C` for `f32` and `f64`, cache-blocked and
//!   packed, with SIMD microkernels chosen at run time and an unpacked path for
//!   matrix-vector shapes;
//! - [`elementwise`]: the fused loops of an MLP training step (bias + ReLU, the ReLU
//!   mask, bias gradients, SGD/Adam updates, softmax cross-entropy).

pub mod cpu_features;
pub mod elementwise;
pub mod gemm;
pub(crate) mod tanh;

pub use cpu_features::{detected_isa, Isa};
pub use gemm::{
    gemm, gemm_scratch_len, gemm_scratch_len_for, gemm_with_isa, GemmScalar, Transpose,
};
