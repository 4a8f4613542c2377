//! x86-64 SIMD kernels. `x86_kernels!` writes one module of kernels (packed
//! microkernel, unpacked tiles, matrix-vector loops) for an element type and an
//! instruction set; `avx2` and `avx512` instantiate it for `f32` and `f64` and build
//! the [`KernelSet`](super::sealed::KernelSet)s that dispatch hands out.

/// Kernels of one (type, instruction set), as a module `$name`.
macro_rules! x86_kernels {
    (
        $name:ident, $t:ty, $v:ty, $mask:ty, $lanes:expr, $feat:literal,
        load = $load:ident, store = $store:ident, set1 = $set1:ident, zero = $zero:ident,
        fma = $fma:ident, mul = $mul:ident, mask_for = $mask_for:path,
        maskload = $maskload:path, maskstore = $maskstore:path, hsum = $hsum:path
    ) => {
        mod $name {
            #[allow(unused_imports)]
            use core::arch::x86_64::*;

            const L: usize = $lanes;

            /// Register-blocked `MR × (NV·L)` tile.
            ///
            /// # Safety
            /// The CPU supports the enabled features; `a` readable for `kc*MR`, `b` for
            /// `kc*NV*L`; `c[i*ldc + j]` writable (readable unless `beta == 0`) for
            /// `i < MR`, `j < NV*L`.
            #[target_feature(enable = $feat)]
            #[allow(unused_unsafe)]
            pub(super) unsafe fn micro<const MR: usize, const NV: usize>(
                kc: usize,
                a: *const $t,
                b: *const $t,
                c: *mut $t,
                ldc: usize,
                alpha: $t,
                beta: $t,
            ) {
                // SAFETY: all pointer offsets stay inside the ranges the caller
                // guarantees (documented above); loads and stores are unaligned.
                unsafe {
                    let mut acc = [[$zero(); NV]; MR];
                    let mut a = a;
                    let mut b = b;
                    for _ in 0..kc {
                        let mut bv = [$zero(); NV];
                        for (v, bvv) in bv.iter_mut().enumerate() {
                            *bvv = $load(b.add(v * L));
                        }
                        for (i, row) in acc.iter_mut().enumerate() {
                            let ai = $set1(*a.add(i));
                            for (x, &bvv) in row.iter_mut().zip(bv.iter()) {
                                *x = $fma(ai, bvv, *x);
                            }
                        }
                        a = a.add(MR);
                        b = b.add(NV * L);
                    }
                    let av = $set1(alpha);
                    if beta == 0.0 {
                        for (i, row) in acc.iter().enumerate() {
                            for (v, &x) in row.iter().enumerate() {
                                $store(c.add(i * ldc + v * L), $mul(av, x));
                            }
                        }
                    } else {
                        let bv = $set1(beta);
                        for (i, row) in acc.iter().enumerate() {
                            for (v, &x) in row.iter().enumerate() {
                                let p = c.add(i * ldc + v * L);
                                $store(p, $fma(av, x, $mul(bv, $load(p))));
                            }
                        }
                    }
                }
            }

            /// `C[i, j] = alpha·Σ_p a[i·rsa + p·csa]·b[p·ldb + j] + beta·C[i, j]` for
            /// `i < MR`, `j < w`, straight from unpacked operands. The first `NV − 1`
            /// vectors of each row are full and the last is masked to the lanes below
            /// `w`, so `(NV − 1)·L < w ≤ NV·L`.
            ///
            /// # Safety
            /// The CPU supports the enabled features; `a[i*rsa + p*csa]` readable and
            /// `b[p*ldb + j]` readable for `i < MR`, `p < kc`, `j < w`; `c[i*ldc + j]`
            /// writable (readable unless `beta == 0`) for `i < MR`, `j < w`.
            #[target_feature(enable = $feat)]
            #[allow(unused_unsafe, clippy::too_many_arguments)]
            pub(super) unsafe fn direct<const MR: usize, const NV: usize>(
                kc: usize,
                a: *const $t,
                rsa: usize,
                csa: usize,
                b: *const $t,
                ldb: usize,
                w: usize,
                c: *mut $t,
                ldc: usize,
                alpha: $t,
                beta: $t,
            ) {
                let mask = $mask_for(w - (NV - 1) * L);
                // SAFETY: full vectors cover columns below (NV-1)*L < w; the last one
                // touches only the lanes enabled in `mask`, columns below `w`.
                unsafe {
                    let mut acc = [[$zero(); NV]; MR];
                    let mut a = a;
                    let mut b = b;
                    for _ in 0..kc {
                        let mut bv = [$zero(); NV];
                        for (v, bvv) in bv.iter_mut().enumerate().take(NV - 1) {
                            *bvv = $load(b.add(v * L));
                        }
                        bv[NV - 1] = $maskload(b.add((NV - 1) * L), mask);
                        for (i, row) in acc.iter_mut().enumerate() {
                            let ai = $set1(*a.add(i * rsa));
                            for (x, &bvv) in row.iter_mut().zip(bv.iter()) {
                                *x = $fma(ai, bvv, *x);
                            }
                        }
                        a = a.add(csa);
                        b = b.add(ldb);
                    }
                    let av = $set1(alpha);
                    let bt = $set1(beta);
                    for (i, row) in acc.iter().enumerate() {
                        let ci = c.add(i * ldc);
                        for (v, &x) in row.iter().enumerate().take(NV - 1) {
                            let p = ci.add(v * L);
                            let y = if beta == 0.0 {
                                $mul(av, x)
                            } else {
                                $fma(av, x, $mul(bt, $load(p)))
                            };
                            $store(p, y);
                        }
                        let p = ci.add((NV - 1) * L);
                        let x = row[NV - 1];
                        let y = if beta == 0.0 {
                            $mul(av, x)
                        } else {
                            $fma(av, x, $mul(bt, $maskload(p, mask)))
                        };
                        $maskstore(p, mask, y);
                    }
                }
            }

            /// Writes `alpha·acc[j] + beta·out[j·incout]` for `j < w`.
            ///
            /// # Safety
            /// `out[j*incout]` valid for `j < w`; `w <= NV*L`.
            #[target_feature(enable = $feat)]
            #[allow(unused_unsafe)]
            unsafe fn write_out<const NV: usize>(
                acc: &[$v; NV],
                w: usize,
                alpha: $t,
                beta: $t,
                out: *mut $t,
                incout: usize,
            ) {
                let mut tmp = [0.0 as $t; 4 * L];
                for (v, &x) in acc.iter().enumerate() {
                    // SAFETY: v < NV <= 4, so v*L + L <= tmp.len().
                    unsafe { $store(tmp.as_mut_ptr().add(v * L), x) };
                }
                for (j, &s) in tmp.iter().take(w).enumerate() {
                    // SAFETY: j < w, which the caller guarantees is in range.
                    let o = unsafe { &mut *out.add(j * incout) };
                    *o = if beta == 0.0 {
                        alpha * s
                    } else {
                        alpha * s + beta * *o
                    };
                }
            }

            /// One block of `w <= NV*L` outputs of the axpy-form gemv; `U` independent
            /// accumulator sets over `p` hide FMA latency.
            ///
            /// # Safety
            /// As `gemv_n` for columns `0..w` (pointers already offset to the block).
            #[target_feature(enable = $feat)]
            #[allow(unused_unsafe, clippy::too_many_arguments)]
            unsafe fn gemv_n_block<const NV: usize, const U: usize>(
                w: usize,
                k: usize,
                x: *const $t,
                incx: usize,
                m: *const $t,
                ldm: usize,
                alpha: $t,
                beta: $t,
                out: *mut $t,
                incout: usize,
            ) {
                // Lanes of the last vector that are in range.
                let last = w - (NV - 1) * L;
                let mask = $mask_for(last);
                // SAFETY: loads read m[p*ldm + v*L + l] for p < k and
                // v*L + l < w (the last vector is masked to `last` lanes).
                unsafe {
                    let mut acc = [[$zero(); NV]; U];
                    let mut p = 0;
                    while p + U <= k {
                        for (u, accu) in acc.iter_mut().enumerate() {
                            let xp = $set1(*x.add((p + u) * incx));
                            let row = m.add((p + u) * ldm);
                            for v in 0..NV - 1 {
                                accu[v] = $fma(xp, $load(row.add(v * L)), accu[v]);
                            }
                            accu[NV - 1] =
                                $fma(xp, $maskload(row.add((NV - 1) * L), mask), accu[NV - 1]);
                        }
                        p += U;
                    }
                    while p < k {
                        let xp = $set1(*x.add(p * incx));
                        let row = m.add(p * ldm);
                        for v in 0..NV - 1 {
                            acc[0][v] = $fma(xp, $load(row.add(v * L)), acc[0][v]);
                        }
                        acc[0][NV - 1] =
                            $fma(xp, $maskload(row.add((NV - 1) * L), mask), acc[0][NV - 1]);
                        p += 1;
                    }
                    let mut sum = acc[0];
                    for accu in acc.iter().skip(1) {
                        for (s, &x) in sum.iter_mut().zip(accu.iter()) {
                            *s = $fma($set1(1.0), x, *s);
                        }
                    }
                    write_out::<NV>(&sum, w, alpha, beta, out, incout);
                }
            }

            /// `out[j] = alpha·Σ_p x[p·incx]·m[p·ldm + j] + beta·out[j·incout]`.
            ///
            /// # Safety
            /// Every index named is in bounds for `p < k`, `j < n`.
            #[target_feature(enable = $feat)]
            #[allow(unused_unsafe, clippy::too_many_arguments)]
            pub(super) unsafe fn gemv_n(
                n: usize,
                k: usize,
                x: *const $t,
                incx: usize,
                m: *const $t,
                ldm: usize,
                alpha: $t,
                beta: $t,
                out: *mut $t,
                incout: usize,
            ) {
                let mut j = 0;
                // SAFETY: each block covers columns j..j+w with j + w <= n, so the
                // offset pointers satisfy gemv_n_block's contract.
                unsafe {
                    while j + 4 * L <= n {
                        gemv_n_block::<4, 2>(
                            4 * L,
                            k,
                            x,
                            incx,
                            m.add(j),
                            ldm,
                            alpha,
                            beta,
                            out.add(j * incout),
                            incout,
                        );
                        j += 4 * L;
                    }
                    let w = n - j;
                    let (mj, oj) = (m.add(j), out.add(j * incout));
                    match w.div_ceil(L) {
                        0 => {}
                        1 => gemv_n_block::<1, 8>(w, k, x, incx, mj, ldm, alpha, beta, oj, incout),
                        2 => gemv_n_block::<2, 4>(w, k, x, incx, mj, ldm, alpha, beta, oj, incout),
                        3 => gemv_n_block::<3, 2>(w, k, x, incx, mj, ldm, alpha, beta, oj, incout),
                        _ => gemv_n_block::<4, 2>(w, k, x, incx, mj, ldm, alpha, beta, oj, incout),
                    }
                }
            }

            /// `R` dot products of `x` (contiguous) with rows `m[r*ldm..][..k]`.
            ///
            /// # Safety
            /// `x[p]` and `m[r*ldm + p]` readable for `p < k`, `r < R`.
            #[target_feature(enable = $feat)]
            #[allow(unused_unsafe)]
            unsafe fn dots<const R: usize>(
                k: usize,
                x: *const $t,
                m: *const $t,
                ldm: usize,
            ) -> [$t; R] {
                // SAFETY: full vectors read p..p+L with p + L <= k; the tail is masked
                // to k - p lanes.
                unsafe {
                    let mut acc = [$zero(); R];
                    let mut p = 0;
                    while p + L <= k {
                        let xv = $load(x.add(p));
                        for (r, a) in acc.iter_mut().enumerate() {
                            *a = $fma(xv, $load(m.add(r * ldm + p)), *a);
                        }
                        p += L;
                    }
                    if p < k {
                        let mask = $mask_for(k - p);
                        let xv = $maskload(x.add(p), mask);
                        for (r, a) in acc.iter_mut().enumerate() {
                            *a = $fma(xv, $maskload(m.add(r * ldm + p), mask), *a);
                        }
                    }
                    let mut res = [0.0 as $t; R];
                    for (s, &a) in res.iter_mut().zip(acc.iter()) {
                        *s = $hsum(a);
                    }
                    res
                }
            }

            /// `out[j] = alpha·Σ_p x[p·incx]·m[j·ldm + p] + beta·out[j·incout]`.
            ///
            /// # Safety
            /// Every index named is in bounds for `p < k`, `j < n`.
            #[target_feature(enable = $feat)]
            #[allow(unused_unsafe, clippy::too_many_arguments)]
            pub(super) unsafe fn gemv_t(
                n: usize,
                k: usize,
                x: *const $t,
                incx: usize,
                m: *const $t,
                ldm: usize,
                alpha: $t,
                beta: $t,
                out: *mut $t,
                incout: usize,
            ) {
                if incx != 1 {
                    // SAFETY: same contract.
                    unsafe {
                        $crate::kernels::gemm::portable::gemv_t_portable(
                            n, k, x, incx, m, ldm, alpha, beta, out, incout,
                        )
                    };
                    return;
                }
                let mut j = 0;
                // SAFETY: rows j..j+R with j + R <= n are in bounds, and so are their
                // outputs out[(j + r)*incout].
                unsafe {
                    let emit = |j: usize, s: &[$t]| {
                        for (r, &v) in s.iter().enumerate() {
                            let o = &mut *out.add((j + r) * incout);
                            *o = if beta == 0.0 {
                                alpha * v
                            } else {
                                alpha * v + beta * *o
                            };
                        }
                    };
                    while j + 8 <= n {
                        let s = dots::<8>(k, x, m.add(j * ldm), ldm);
                        emit(j, &s);
                        j += 8;
                    }
                    while j + 4 <= n {
                        let s = dots::<4>(k, x, m.add(j * ldm), ldm);
                        emit(j, &s);
                        j += 4;
                    }
                    while j < n {
                        let s = dots::<1>(k, x, m.add(j * ldm), ldm);
                        emit(j, &s);
                        j += 1;
                    }
                }
            }
        }
    };
}

// Declared after the macro, which they expand.
pub(super) mod avx2;
pub(super) mod avx512;
