//! What the kernel tests (`gemm.rs`, `elementwise_kernels.rs`) share: the instruction
//! sets to run, and sizes that shrink under Miri.
#![allow(dead_code)]

use autodiff_core::kernels::Isa;

/// Every instruction set; under Miri, which picks the portable kernels for all of them,
/// the portable one once.
pub const ISAS: &[Isa] = if cfg!(miri) {
    &[Isa::Scalar]
} else {
    &[Isa::Scalar, Isa::Avx2Fma, Isa::Avx512]
};

/// `full`, or `small` under Miri, which runs the kernels some thousand times slower:
/// there the same kinds of shapes (edges, several cache blocks, MLP layers) are smaller.
pub const fn sized(full: usize, small: usize) -> usize {
    if cfg!(miri) {
        small
    } else {
        full
    }
}
