//! The unpacked path for small products: tiles read `op(A)` by broadcasts and rows of
//! `B` as vectors where they are stored, so nothing is packed. A transposed `B` is
//! first transposed into scratch.

use super::{sealed::KernelSet, GemmScalar, INTERNAL};
use crate::Result;

/// Largest `m·k` and `k·n` the unpacked path takes: its operands then stay in cache
/// without packing.
const DIRECT_MAX: usize = 1 << 16;

/// Whether an `m × n × k` product (with `m, n > 1`) takes the unpacked path. Within
/// these bounds `k·n ≤ gemm_scratch_len(m, n, k)`, so the transpose buffer fits in
/// scratch sized by [`gemm_scratch_len`](super::gemm_scratch_len).
pub(super) fn direct_fits<T: GemmScalar>(m: usize, n: usize, k: usize) -> bool {
    k <= T::KC
        && n <= T::NC
        && m.saturating_mul(k) <= DIRECT_MAX
        && n.saturating_mul(k) <= DIRECT_MAX
}

/// `dst[p*n + j] = b[j*ldb + p]` for `p < k`, `j < n`: `op(B)` of a transposed `B`,
/// row-major. Eight stored rows at a time, so each destination row gets a contiguous
/// run of eight.
pub(super) fn transpose_into<T: Copy>(
    b: &[T],
    ldb: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
) -> Result<()> {
    const R: usize = 8;
    if n == 0 || k == 0 {
        return Ok(());
    }
    // The last element read is b[(n-1)*ldb + k-1] and written dst[(k-1)*n + n-1].
    if ldb < k || b.len() < (n - 1) * ldb + k || dst.len() < k * n {
        return Err(INTERNAL);
    }
    let (bp, dp) = (b.as_ptr(), dst.as_mut_ptr());
    let mut j0 = 0;
    while j0 + R <= n {
        for p in 0..k {
            // SAFETY: j0 + r < n and p < k, inside the bounds checked above.
            unsafe {
                let mut run = [*bp.add(j0 * ldb + p); R];
                for (r, v) in run.iter_mut().enumerate().skip(1) {
                    *v = *bp.add((j0 + r) * ldb + p);
                }
                core::ptr::copy_nonoverlapping(run.as_ptr(), dp.add(p * n + j0), R);
            }
        }
        j0 += R;
    }
    for j in j0..n {
        for p in 0..k {
            // SAFETY: as above.
            unsafe { *dp.add(p * n + j) = *bp.add(j * ldb + p) };
        }
    }
    Ok(())
}

/// `C = alpha·op(A)·B + beta·C` with `B` stored `k × n` (row-major, `ldb`), tile by tile
/// from the unpacked operands: column panels up to `nr` wide (the last one masked), and
/// within each, row blocks of the largest kernel that fits.
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm_direct<T: GemmScalar>(
    ks: &KernelSet<T>,
    ta: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: &[T],
    lda: usize,
    b: &[T],
    ldb: usize,
    beta: T,
    c: &mut [T],
    ldc: usize,
) {
    // op(A)[i, p] = a[i*rsa + p*csa].
    let (rsa, csa) = if ta { (1, lda) } else { (lda, 1) };
    let half = ks.nr / 2;
    let (ap, bp, cp) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    let mut j = 0;
    while j < n {
        let w = (n - j).min(ks.nr);
        let wide = usize::from(w > half);
        let mut i = 0;
        for &(rows, kernels) in &ks.direct {
            while i + rows <= m {
                // SAFETY: the caller validated op(A) (m × k), B (k × n, ldb) and C
                // (m × n, ldc) against their slices; the tile covers rows i..i+rows ≤ m
                // and columns j..j+w ≤ n, and `wide` picks the kernel whose vector count
                // matches w (at most nr/2 lanes: one masked vector; else two, the second
                // masked).
                unsafe {
                    (kernels[wide])(
                        k,
                        ap.add(i * rsa),
                        rsa,
                        csa,
                        bp.add(j),
                        ldb,
                        w,
                        cp.add(i * ldc + j),
                        ldc,
                        alpha,
                        beta,
                    )
                };
                i += rows;
            }
        }
        j += w;
    }
}
