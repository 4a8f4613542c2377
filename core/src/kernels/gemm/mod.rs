//! General matrix multiply: `C = alpha·op(A)·op(B) + beta·C` for `f32` and `f64`.
//!
//! All matrices are row-major with a leading dimension (the distance, in elements,
//! between the starts of consecutive rows). `op(X)` is `X` or `Xᵀ` as [`Transpose`]
//! says, so the backward products of a linear layer, `dA = dC·Bᵀ` and `dB = Aᵀ·dC`,
//! need no explicit transposes.
//!
//! # Algorithm
//!
//! The general path is the classic Goto/BLIS scheme: `op(B)` is packed block by block
//! (`KC × NC`) into column panels `NR` wide, `op(A)` block by block (`MC × KC`) into row
//! panels `MR` tall, and a register-blocked microkernel computes each `MR × NR` tile of
//! `C` with fused multiply-adds. The microkernel is chosen at run time
//! ([`detected_isa`]): AVX-512, AVX2 + FMA, or portable Rust.
//!
//! A matrix-vector product (`m == 1` or `n == 1`) skips packing (which would dominate
//! its cost) and runs vectorised axpy or dot loops directly on the operands.
//!
//! Small products (`k ≤ KC`, `m·k` and `k·n` at most 2¹⁶, the shapes of a narrow MLP)
//! skip packing too: tiles read `op(A)` by broadcasts and rows of `B` as vectors where
//! they are stored, with the ragged last column panel masked. A transposed `B` is first
//! transposed into scratch, so that its rows are contiguous.
//!
//! # Contract
//!
//! * `beta == 0` never reads `C`, so `C` may hold garbage, NaN included.
//! * `alpha == 0` (or `k == 0`) never reads `A` or `B`; `C` becomes `beta·C`.
//! * The packing buffer comes from the caller: `scratch` must hold at least
//!   [`gemm_scratch_len_for`] elements ([`gemm_scratch_len`] is enough for every
//!   transpose). Nothing allocates.
//! * Every dimension, leading dimension and slice length is checked first; bad input
//!   gives an [`Error`], never a panic.
//!
//! # Layout
//!
//! * this file: the public entry points, argument checks and the choice of path and
//!   kernels;
//! * `packed`: the blocked driver and the packing of `op(A)` and `op(B)`;
//! * `direct`: the unpacked path for small products (and the transpose of a small `B`);
//! * `portable`: the portable microkernels and matrix-vector loops;
//! * `x86`: the AVX2 + FMA and AVX-512 kernels (x86-64 only).

use super::cpu_features::{clamp_isa, detected_isa, Isa};
use crate::{Error, Real, Result};

use direct::{direct_fits, gemm_direct, transpose_into};
use packed::gemm_packed;

mod direct;
mod packed;
mod portable;
mod rank_one;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Whether an operand enters the product as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transpose {
    /// `op(X) = X`.
    No,
    /// `op(X) = Xᵀ`.
    Yes,
}

impl Transpose {
    #[inline]
    fn is_yes(self) -> bool {
        matches!(self, Transpose::Yes)
    }
}

/// The element types [`gemm`] supports: `f32` and `f64`. Sealed.
pub trait GemmScalar: Real + sealed::Sealed {}

impl GemmScalar for f32 {}
impl GemmScalar for f64 {}

mod sealed {
    use super::Isa;

    /// Microkernel of one tile: `kc` steps over packed panels `a` (`MR` wide) and `b`
    /// (`NR` wide), then `c[i*ldc + j] = alpha·acc + beta·c` for the full `MR × NR`
    /// tile (`beta == 0`: `c` is not read).
    pub type MicroFn<T> = unsafe fn(usize, *const T, *const T, *mut T, usize, T, T);

    /// Matrix-vector kernel: `(n, k, x, incx, m, ldm, alpha, beta, out, incout)`.
    pub type GemvFn<T> =
        unsafe fn(usize, usize, *const T, usize, *const T, usize, T, T, *mut T, usize);

    /// Unpacked tile kernel: `(kc, a, rsa, csa, b, ldb, w, c, ldc, alpha, beta)`, see
    /// the x86 `direct` kernels.
    pub type DirectFn<T> =
        unsafe fn(usize, *const T, usize, usize, *const T, usize, usize, *mut T, usize, T, T);

    pub struct KernelSet<T> {
        pub mr: usize,
        pub nr: usize,
        pub micro: MicroFn<T>,
        /// Unpacked tile kernels by row count, largest first and ending with 1 row;
        /// `[0]` for tiles at most `nr / 2` wide, `[1]` for wider ones (up to `nr`).
        pub direct: [(usize, [DirectFn<T>; 2]); 4],
        /// `out[j] = alpha·Σ_p x[p·incx]·m[p·ldm + j] + beta·out[j·incout]`, `j < n`.
        pub gemv_n: GemvFn<T>,
        /// `out[j] = alpha·Σ_p x[p·incx]·m[j·ldm + p] + beta·out[j·incout]`, `j < n`.
        pub gemv_t: GemvFn<T>,
    }

    pub trait Sealed: Sized {
        /// Upper bounds over every kernel's `MR` and `NR`, for sizing scratch.
        const MR_MAX: usize;
        const NR_MAX: usize;
        const MC: usize;
        const KC: usize;
        const NC: usize;
        fn kernels(isa: Isa) -> KernelSet<Self>;
    }
}

use sealed::KernelSet;

/// Number of `T` elements of scratch that [`gemm`] needs for an `m × n × k` product.
///
/// Zero for shapes that take the unpacked paths (`m`, `n` or `k` zero, `m == 1`,
/// `n == 1`). The value is bounded by the cache-block sizes (well under a few MiB), so
/// it cannot overflow, and it is the same whatever SIMD level the machine has.
pub fn gemm_scratch_len<T: GemmScalar>(m: usize, n: usize, k: usize) -> usize {
    if m == 0 || n == 0 || k == 0 || m == 1 || n == 1 {
        return 0;
    }
    let kc = k.min(T::KC);
    let a = (m.min(T::MC) + T::MR_MAX) * kc;
    let b = (n.min(T::NC) + T::NR_MAX) * kc;
    a + b
}

/// Number of `T` elements of scratch that [`gemm`] needs for an `m × n × k` product
/// with `B` stored as `tb` says: never more than [`gemm_scratch_len`], often less (nothing
/// for small products with `B` as stored, `k·n` to transpose a small `B`).
pub fn gemm_scratch_len_for<T: GemmScalar>(tb: Transpose, m: usize, n: usize, k: usize) -> usize {
    if m == 0 || n == 0 || k == 0 || m == 1 || n == 1 {
        return 0;
    }
    if direct_fits::<T>(m, n, k) {
        return if tb.is_yes() { k * n } else { 0 };
    }
    gemm_scratch_len::<T>(m, n, k)
}

/// `C = alpha·op(A)·op(B) + beta·C`, with `op(A)` of shape `m × k`, `op(B)` `k × n` and
/// `C` `m × n`, all row-major with leading dimensions `lda`, `ldb`, `ldc`.
///
/// `A` is stored `m × k` (`ta == No`) or `k × m` (`ta == Yes`); likewise `B` is stored
/// `k × n` or `n × k`. A stored matrix of `r` rows and `c` columns needs `ld ≥ c` and a
/// slice of at least `(r − 1)·ld + c` elements. `scratch` needs
/// [`gemm_scratch_len_for`] elements (at most
/// [`gemm_scratch_len::<T>(m, n, k)`](gemm_scratch_len)); its contents on
/// entry do not matter and on return are unspecified.
///
/// # Errors
/// [`Error::InvalidArgument`] for a leading dimension smaller than its row, a slice too
/// short for its matrix, or too little scratch; [`Error::SizeOverflow`] when a required
/// length does not fit in `usize`.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: GemmScalar>(
    ta: Transpose,
    tb: Transpose,
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
    scratch: &mut [T],
) -> Result<()> {
    gemm_with_isa(
        detected_isa(),
        ta,
        tb,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
        scratch,
    )
}

/// [`gemm`] with the SIMD level capped at `isa` (lowered to what the CPU supports, so
/// any value is safe). For tests and benchmarks that compare code paths.
#[allow(clippy::too_many_arguments)]
pub fn gemm_with_isa<T: GemmScalar>(
    isa: Isa,
    ta: Transpose,
    tb: Transpose,
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
    scratch: &mut [T],
) -> Result<()> {
    // Validate everything before touching memory.
    let (a_rows, a_cols) = if ta.is_yes() { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if tb.is_yes() { (n, k) } else { (k, n) };
    check_matrix(
        a.len(),
        a_rows,
        a_cols,
        lda,
        "gemm: A too short for its shape",
        "gemm: lda smaller than a row of A",
    )?;
    check_matrix(
        b.len(),
        b_rows,
        b_cols,
        ldb,
        "gemm: B too short for its shape",
        "gemm: ldb smaller than a row of B",
    )?;
    check_matrix(
        c.len(),
        m,
        n,
        ldc,
        "gemm: C too short for its shape",
        "gemm: ldc smaller than a row of C",
    )?;
    let need = gemm_scratch_len_for::<T>(tb, m, n, k);
    if scratch.len() < need {
        return Err(Error::InvalidArgument(
            "gemm: scratch shorter than gemm_scratch_len",
        ));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 || alpha == T::zero() {
        scale_c(m, n, beta, c, ldc);
        return Ok(());
    }

    let ks = T::kernels(clamp_isa(isa));
    let (ta, tb) = (ta.is_yes(), tb.is_yes());
    if m == 1 {
        // Row vector times matrix. x = op(A) row 0: a[p] or a[p*lda].
        let incx = if ta { lda } else { 1 };
        let f = if tb { ks.gemv_t } else { ks.gemv_n };
        // SAFETY: validation above gives, for p < k and j < n: op(A)[0, p] at
        // a[p*incx] in bounds; op(B)[p, j] at b[p*ldb + j] (no transpose, gemv_n) or
        // b[j*ldb + p] (transpose, gemv_t) in bounds; C[0, j] at c[j] in bounds.
        unsafe {
            f(
                n,
                k,
                a.as_ptr(),
                incx,
                b.as_ptr(),
                ldb,
                alpha,
                beta,
                c.as_mut_ptr(),
                1,
            )
        };
        return Ok(());
    }
    if n == 1 {
        // Matrix times column vector. x = op(B) column 0: b[p*ldb] or b[p].
        let incx = if tb { 1 } else { ldb };
        let f = if ta { ks.gemv_n } else { ks.gemv_t };
        // SAFETY: for p < k and i < m: op(B)[p, 0] at b[p*incx] in bounds; op(A)[i, p]
        // at a[i*lda + p] (no transpose, gemv_t) or a[p*lda + i] (transpose, gemv_n)
        // in bounds; C[i, 0] at c[i*ldc] in bounds.
        unsafe {
            f(
                m,
                k,
                b.as_ptr(),
                incx,
                a.as_ptr(),
                lda,
                alpha,
                beta,
                c.as_mut_ptr(),
                ldc,
            )
        };
        return Ok(());
    }
    if k == 1 && !tb {
        // An outer product; op(A)[i, 0] is a[i] (transposed A) or a[i·lda].
        let inca = if ta { 1 } else { lda };
        rank_one::rank_one(isa, m, n, alpha, a, inca, b, beta, c, ldc);
        return Ok(());
    }
    if direct_fits::<T>(m, n, k) {
        if tb {
            // Transpose op(B) into scratch (k × n, row-major) once; the tiles then read
            // its rows as contiguous vectors.
            let bt = scratch.get_mut(..k * n).ok_or(INTERNAL)?;
            transpose_into(b, ldb, n, k, bt)?;
            gemm_direct(&ks, ta, m, n, k, alpha, a, lda, bt, n, beta, c, ldc);
        } else {
            gemm_direct(&ks, ta, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        return Ok(());
    }
    gemm_packed(
        &ks, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, scratch,
    )
}

/// Checks that a row-major `rows × cols` matrix with leading dimension `ld` fits in
/// `len` elements.
fn check_matrix(
    len: usize,
    rows: usize,
    cols: usize,
    ld: usize,
    short: &'static str,
    bad_ld: &'static str,
) -> Result<()> {
    if ld < cols {
        return Err(Error::InvalidArgument(bad_ld));
    }
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let need = (rows - 1)
        .checked_mul(ld)
        .and_then(|x| x.checked_add(cols))
        .ok_or(Error::SizeOverflow)?;
    if len < need {
        return Err(Error::InvalidArgument(short));
    }
    Ok(())
}

/// `C = beta·C` over the `m × n` view (`beta == 0` writes zeros without reading).
fn scale_c<T: GemmScalar>(m: usize, n: usize, beta: T, c: &mut [T], ldc: usize) {
    for row in c.chunks_mut(ldc).take(m) {
        let len = n.min(row.len());
        let row = &mut row[..len];
        if beta == T::zero() {
            row.fill(T::zero());
        } else if beta != T::one() {
            for x in row {
                *x *= beta;
            }
        }
    }
}

const INTERNAL: Error = Error::InvalidArgument("gemm: internal bounds check failed");

impl sealed::Sealed for f32 {
    const MR_MAX: usize = 16;
    const NR_MAX: usize = 32;
    const MC: usize = 144;
    const KC: usize = 256;
    const NC: usize = 2048;

    fn kernels(isa: Isa) -> KernelSet<f32> {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::avx512::f32_set(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => x86::avx2::f32_set(),
            _ => portable::portable_set(),
        }
    }
}

impl sealed::Sealed for f64 {
    const MR_MAX: usize = 16;
    const NR_MAX: usize = 32;
    const MC: usize = 96;
    const KC: usize = 256;
    const NC: usize = 2048;

    fn kernels(isa: Isa) -> KernelSet<f64> {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::avx512::f64_set(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => x86::avx2::f64_set(),
            _ => portable::portable_set(),
        }
    }
}
