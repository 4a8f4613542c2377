//! `k = 1`: the product is an outer product, `C = alpha·x·yᵀ + beta·C`. A batch-1 weight
//! gradient (`dW = xᵀ·dz`) is one; the tiled kernels spend most of their time on tile
//! bookkeeping here, while one fused multiply per element of `C` is all it needs.

use super::GemmScalar;
use crate::kernels::cpu_features::{clamp_isa, Isa};

/// `c[i·ldc + j] = alpha·x(i)·y[j] + beta·c[i·ldc + j]` for `i < m`, `j < n`, where
/// `x(i) = a[i·inca]`. With `beta == 0`, `C` is not read. The caller has checked that
/// every index is in bounds (`a` holds `(m−1)·inca + 1` values, `y` holds `n`, and `c`
/// `(m−1)·ldc + n`); slices are indexed safely here anyway.
#[allow(clippy::too_many_arguments)]
pub(super) fn rank_one<T: GemmScalar>(
    isa: Isa,
    m: usize,
    n: usize,
    alpha: T,
    a: &[T],
    inca: usize,
    y: &[T],
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    #[inline(always)]
    fn rows<T: GemmScalar>(
        m: usize,
        n: usize,
        alpha: T,
        a: &[T],
        inca: usize,
        y: &[T],
        beta: T,
        c: &mut [T],
        ldc: usize,
    ) {
        let y = &y[..n.min(y.len())];
        for i in 0..m {
            let (Some(&xi), Some(row)) = (a.get(i * inca), c.get_mut(i * ldc..i * ldc + y.len()))
            else {
                return;
            };
            let s = alpha * xi;
            if beta == T::zero() {
                row.iter_mut().zip(y).for_each(|(c, &y)| *c = s * y);
            } else {
                row.iter_mut()
                    .zip(y)
                    .for_each(|(c, &y)| *c = s * y + beta * *c);
            }
        }
    }
    /// # Safety
    /// The CPU must support AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn rows_avx512<T: GemmScalar>(
        m: usize,
        n: usize,
        alpha: T,
        a: &[T],
        inca: usize,
        y: &[T],
        beta: T,
        c: &mut [T],
        ldc: usize,
    ) {
        rows(m, n, alpha, a, inca, y, beta, c, ldc)
    }
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn rows_avx2<T: GemmScalar>(
        m: usize,
        n: usize,
        alpha: T,
        a: &[T],
        inca: usize,
        y: &[T],
        beta: T,
        c: &mut [T],
        ldc: usize,
    ) {
        rows(m, n, alpha, a, inca, y, beta, c, ldc)
    }
    #[cfg(target_arch = "x86_64")]
    match clamp_isa(isa) {
        // SAFETY: `clamp_isa` lowers the request to what the CPU supports.
        Isa::Avx512 => return unsafe { rows_avx512(m, n, alpha, a, inca, y, beta, c, ldc) },
        // SAFETY: as above.
        Isa::Avx2Fma => return unsafe { rows_avx2(m, n, alpha, a, inca, y, beta, c, ldc) },
        Isa::Scalar => {}
    }
    let _ = clamp_isa(isa);
    rows(m, n, alpha, a, inca, y, beta, c, ldc)
}
