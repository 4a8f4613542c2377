//! AVX2 + FMA kernels: 8 `f32` or 4 `f64` lanes, masks as vectors of all-ones lanes.

use core::arch::x86_64::*;

use crate::kernels::gemm::sealed::KernelSet;

#[target_feature(enable = "avx2")]
fn mask_epi32(count: usize) -> __m256i {
    let c = count.min(8) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(c),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}
#[target_feature(enable = "avx2")]
fn mask_epi64(count: usize) -> __m256i {
    let c = count.min(4) as i64;
    _mm256_cmpgt_epi64(_mm256_set1_epi64x(c), _mm256_setr_epi64x(0, 1, 2, 3))
}
#[target_feature(enable = "avx2")]
unsafe fn maskload_ps256(p: *const f32, m: __m256i) -> __m256 {
    // SAFETY: the caller guarantees the lanes enabled in `m` are readable; masked
    // lanes are not accessed.
    unsafe { _mm256_maskload_ps(p, m) }
}
#[target_feature(enable = "avx2")]
unsafe fn maskload_pd256(p: *const f64, m: __m256i) -> __m256d {
    // SAFETY: as maskload_ps256.
    unsafe { _mm256_maskload_pd(p, m) }
}
#[target_feature(enable = "avx2")]
unsafe fn maskstore_ps256(p: *mut f32, m: __m256i, v: __m256) {
    // SAFETY: the caller guarantees the lanes enabled in `m` are writable; masked
    // lanes are not accessed.
    unsafe { _mm256_maskstore_ps(p, m, v) }
}
#[target_feature(enable = "avx2")]
unsafe fn maskstore_pd256(p: *mut f64, m: __m256i, v: __m256d) {
    // SAFETY: as maskstore_ps256.
    unsafe { _mm256_maskstore_pd(p, m, v) }
}
#[target_feature(enable = "avx2")]
fn hsum_ps256(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}
#[target_feature(enable = "avx2")]
fn hsum_pd256(v: __m256d) -> f64 {
    let s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
    let s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    _mm_cvtsd_f64(s)
}

x86_kernels!(
    f32_avx2,
    f32,
    __m256,
    __m256i,
    8,
    "avx2,fma",
    load = _mm256_loadu_ps,
    store = _mm256_storeu_ps,
    set1 = _mm256_set1_ps,
    zero = _mm256_setzero_ps,
    fma = _mm256_fmadd_ps,
    mul = _mm256_mul_ps,
    mask_for = super::mask_epi32,
    maskload = super::maskload_ps256,
    maskstore = super::maskstore_ps256,
    hsum = super::hsum_ps256
);
x86_kernels!(
    f64_avx2,
    f64,
    __m256d,
    __m256i,
    4,
    "avx2,fma",
    load = _mm256_loadu_pd,
    store = _mm256_storeu_pd,
    set1 = _mm256_set1_pd,
    zero = _mm256_setzero_pd,
    fma = _mm256_fmadd_pd,
    mul = _mm256_mul_pd,
    mask_for = super::mask_epi64,
    maskload = super::maskload_pd256,
    maskstore = super::maskstore_pd256,
    hsum = super::hsum_pd256
);

/// The AVX2 + FMA kernels for `f32`.
#[inline]
pub(in crate::kernels::gemm) fn f32_set() -> KernelSet<f32> {
    KernelSet {
        mr: 6,
        nr: 16,
        micro: f32_avx2::micro::<6, 2>,
        direct: [
            (6, [f32_avx2::direct::<6, 1>, f32_avx2::direct::<6, 2>]),
            (4, [f32_avx2::direct::<4, 1>, f32_avx2::direct::<4, 2>]),
            (2, [f32_avx2::direct::<2, 1>, f32_avx2::direct::<2, 2>]),
            (1, [f32_avx2::direct::<1, 1>, f32_avx2::direct::<1, 2>]),
        ],
        gemv_n: f32_avx2::gemv_n,
        gemv_t: f32_avx2::gemv_t,
    }
}

/// The AVX2 + FMA kernels for `f64`.
#[inline]
pub(in crate::kernels::gemm) fn f64_set() -> KernelSet<f64> {
    KernelSet {
        mr: 6,
        nr: 8,
        micro: f64_avx2::micro::<6, 2>,
        direct: [
            (6, [f64_avx2::direct::<6, 1>, f64_avx2::direct::<6, 2>]),
            (4, [f64_avx2::direct::<4, 1>, f64_avx2::direct::<4, 2>]),
            (2, [f64_avx2::direct::<2, 1>, f64_avx2::direct::<2, 2>]),
            (1, [f64_avx2::direct::<1, 1>, f64_avx2::direct::<1, 2>]),
        ],
        gemv_n: f64_avx2::gemv_n,
        gemv_t: f64_avx2::gemv_t,
    }
}
