//! Portable kernels: plain Rust loops for targets (or CPUs) without a SIMD kernel
//! set, and the strided matrix-vector fallback of the x86 kernels.

use super::sealed::KernelSet;
use super::GemmScalar;

/// # Safety
/// `a` readable for `kc*MR`, `b` for `kc*NR`, `c` writable (and readable unless
/// `beta == 0`) at `i*ldc + j` for `i < MR`, `j < NR`.
unsafe fn micro_portable<T: GemmScalar, const MR: usize, const NR: usize>(
    kc: usize,
    a: *const T,
    b: *const T,
    c: *mut T,
    ldc: usize,
    alpha: T,
    beta: T,
) {
    // SAFETY: the caller guarantees the panel lengths and the C tile (see above).
    let (a, b) = unsafe {
        (
            core::slice::from_raw_parts(a, kc * MR),
            core::slice::from_raw_parts(b, kc * NR),
        )
    };
    let mut acc = [[T::zero(); NR]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for (row, &ai) in acc.iter_mut().zip(ap) {
            for (x, &bj) in row.iter_mut().zip(bp) {
                *x += ai * bj;
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            // SAFETY: i < MR, j < NR: inside the caller's tile.
            let cij = unsafe { &mut *c.add(i * ldc + j) };
            *cij = if beta == T::zero() {
                alpha * v
            } else {
                alpha * v + beta * *cij
            };
        }
    }
}

/// Portable unpacked tile: `c[i*ldc + j] = alpha·Σ_p a[i*rsa + p*csa]·b[p*ldb + j] +
/// beta·c[i*ldc + j]` for `i < MR`, `j < w ≤ 32`.
///
/// # Safety
/// Every index named is in bounds (readable, and writable for `c`).
#[allow(clippy::too_many_arguments)]
unsafe fn direct_portable<T: GemmScalar, const MR: usize>(
    kc: usize,
    a: *const T,
    rsa: usize,
    csa: usize,
    b: *const T,
    ldb: usize,
    w: usize,
    c: *mut T,
    ldc: usize,
    alpha: T,
    beta: T,
) {
    let w = w.min(32);
    let mut acc = [[T::zero(); 32]; MR];
    for p in 0..kc {
        // SAFETY: p < kc, j < w: in bounds by the caller's contract.
        let row = unsafe { core::slice::from_raw_parts(b.add(p * ldb), w) };
        for (i, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: as above, i < MR.
            let ai = unsafe { *a.add(i * rsa + p * csa) };
            for (x, &bj) in acc_row.iter_mut().zip(row) {
                *x += ai * bj;
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (j, &v) in acc_row.iter().take(w).enumerate() {
            // SAFETY: i < MR, j < w.
            let cij = unsafe { &mut *c.add(i * ldc + j) };
            *cij = if beta == T::zero() {
                alpha * v
            } else {
                alpha * v + beta * *cij
            };
        }
    }
}

/// # Safety
/// See [`KernelSet::gemv_n`]: every index named there must be in bounds.
#[allow(clippy::too_many_arguments)]
unsafe fn gemv_n_portable<T: GemmScalar>(
    n: usize,
    k: usize,
    x: *const T,
    incx: usize,
    m: *const T,
    ldm: usize,
    alpha: T,
    beta: T,
    out: *mut T,
    incout: usize,
) {
    const W: usize = 16;
    let mut j0 = 0;
    while j0 < n {
        let w = (n - j0).min(W);
        let mut acc = [T::zero(); W];
        for p in 0..k {
            // SAFETY: p < k, j0 + j < n: in bounds by the caller's contract.
            let xp = unsafe { *x.add(p * incx) };
            let row = unsafe { core::slice::from_raw_parts(m.add(p * ldm + j0), w) };
            for (s, &v) in acc.iter_mut().zip(row) {
                *s += xp * v;
            }
        }
        for (j, &s) in acc.iter().take(w).enumerate() {
            // SAFETY: j0 + j < n.
            let o = unsafe { &mut *out.add((j0 + j) * incout) };
            *o = if beta == T::zero() {
                alpha * s
            } else {
                alpha * s + beta * *o
            };
        }
        j0 += w;
    }
}

/// # Safety
/// See [`KernelSet::gemv_t`]: every index named there must be in bounds.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemv_t_portable<T: GemmScalar>(
    n: usize,
    k: usize,
    x: *const T,
    incx: usize,
    m: *const T,
    ldm: usize,
    alpha: T,
    beta: T,
    out: *mut T,
    incout: usize,
) {
    for j in 0..n {
        // SAFETY: j < n and p < k: in bounds by the caller's contract.
        let row = unsafe { core::slice::from_raw_parts(m.add(j * ldm), k) };
        let mut s = [T::zero(); 4];
        if incx == 1 {
            // SAFETY: x[p] for p < k.
            let xs = unsafe { core::slice::from_raw_parts(x, k) };
            let mut xc = xs.chunks_exact(4);
            let mut rc = row.chunks_exact(4);
            for (xq, rq) in (&mut xc).zip(&mut rc) {
                for l in 0..4 {
                    s[l] += xq[l] * rq[l];
                }
            }
            for (&xv, &rv) in xc.remainder().iter().zip(rc.remainder()) {
                s[0] += xv * rv;
            }
        } else {
            for (p, &rv) in row.iter().enumerate() {
                // SAFETY: p < k.
                s[0] += unsafe { *x.add(p * incx) } * rv;
            }
        }
        let sum = (s[0] + s[1]) + (s[2] + s[3]);
        // SAFETY: j < n.
        let o = unsafe { &mut *out.add(j * incout) };
        *o = if beta == T::zero() {
            alpha * sum
        } else {
            alpha * sum + beta * *o
        };
    }
}

pub(super) fn portable_set<T: GemmScalar>() -> KernelSet<T> {
    KernelSet {
        mr: 4,
        nr: 8,
        micro: micro_portable::<T, 4, 8>,
        direct: [
            (4, [direct_portable::<T, 4>; 2]),
            (2, [direct_portable::<T, 2>; 2]),
            (1, [direct_portable::<T, 1>; 2]),
            (1, [direct_portable::<T, 1>; 2]),
        ],
        gemv_n: gemv_n_portable::<T>,
        gemv_t: gemv_t_portable::<T>,
    }
}
