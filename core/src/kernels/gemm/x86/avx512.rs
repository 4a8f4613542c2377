//! AVX-512 kernels (with AVX2 and FMA): 16 `f32` or 8 `f64` lanes, masks in `k`
//! registers.

use core::arch::x86_64::*;

use crate::kernels::gemm::sealed::KernelSet;

#[inline(always)]
fn mask16(count: usize) -> __mmask16 {
    if count >= 16 {
        0xFFFF
    } else {
        ((1u32 << count) - 1) as __mmask16
    }
}
#[inline(always)]
fn mask8(count: usize) -> __mmask8 {
    if count >= 8 {
        0xFF
    } else {
        ((1u32 << count) - 1) as __mmask8
    }
}
#[target_feature(enable = "avx512f")]
unsafe fn maskload_ps512(p: *const f32, m: __mmask16) -> __m512 {
    // SAFETY: the caller guarantees the lanes enabled in `m` are readable; masked
    // lanes are not accessed.
    unsafe { _mm512_maskz_loadu_ps(m, p) }
}
#[target_feature(enable = "avx512f")]
unsafe fn maskload_pd512(p: *const f64, m: __mmask8) -> __m512d {
    // SAFETY: as maskload_ps512.
    unsafe { _mm512_maskz_loadu_pd(m, p) }
}
#[target_feature(enable = "avx512f")]
unsafe fn maskstore_ps512(p: *mut f32, m: __mmask16, v: __m512) {
    // SAFETY: the caller guarantees the lanes enabled in `m` are writable; masked
    // lanes are not accessed.
    unsafe { _mm512_mask_storeu_ps(p, m, v) }
}
#[target_feature(enable = "avx512f")]
unsafe fn maskstore_pd512(p: *mut f64, m: __mmask8, v: __m512d) {
    // SAFETY: as maskstore_ps512.
    unsafe { _mm512_mask_storeu_pd(p, m, v) }
}

x86_kernels!(
    f32_avx512,
    f32,
    __m512,
    __mmask16,
    16,
    "avx512f,avx2,fma",
    load = _mm512_loadu_ps,
    store = _mm512_storeu_ps,
    set1 = _mm512_set1_ps,
    zero = _mm512_setzero_ps,
    fma = _mm512_fmadd_ps,
    mul = _mm512_mul_ps,
    mask_for = super::mask16,
    maskload = super::maskload_ps512,
    maskstore = super::maskstore_ps512,
    hsum = _mm512_reduce_add_ps
);
x86_kernels!(
    f64_avx512,
    f64,
    __m512d,
    __mmask8,
    8,
    "avx512f,avx2,fma",
    load = _mm512_loadu_pd,
    store = _mm512_storeu_pd,
    set1 = _mm512_set1_pd,
    zero = _mm512_setzero_pd,
    fma = _mm512_fmadd_pd,
    mul = _mm512_mul_pd,
    mask_for = super::mask8,
    maskload = super::maskload_pd512,
    maskstore = super::maskstore_pd512,
    hsum = _mm512_reduce_add_pd
);

/// The AVX-512 kernels for `f32`.
#[inline]
pub(in crate::kernels::gemm) fn f32_set() -> KernelSet<f32> {
    KernelSet {
        mr: 8,
        nr: 32,
        micro: f32_avx512::micro::<8, 2>,
        direct: [
            (8, [f32_avx512::direct::<8, 1>, f32_avx512::direct::<8, 2>]),
            (4, [f32_avx512::direct::<4, 1>, f32_avx512::direct::<4, 2>]),
            (2, [f32_avx512::direct::<2, 1>, f32_avx512::direct::<2, 2>]),
            (1, [f32_avx512::direct::<1, 1>, f32_avx512::direct::<1, 2>]),
        ],
        gemv_n: f32_avx512::gemv_n,
        gemv_t: f32_avx512::gemv_t,
    }
}

/// The AVX-512 kernels for `f64`.
#[inline]
pub(in crate::kernels::gemm) fn f64_set() -> KernelSet<f64> {
    KernelSet {
        mr: 8,
        nr: 16,
        micro: f64_avx512::micro::<8, 2>,
        direct: [
            (8, [f64_avx512::direct::<8, 1>, f64_avx512::direct::<8, 2>]),
            (4, [f64_avx512::direct::<4, 1>, f64_avx512::direct::<4, 2>]),
            (2, [f64_avx512::direct::<2, 1>, f64_avx512::direct::<2, 2>]),
            (1, [f64_avx512::direct::<1, 1>, f64_avx512::direct::<1, 2>]),
        ],
        gemv_n: f64_avx512::gemv_n,
        gemv_t: f64_avx512::gemv_t,
    }
}
