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

use super::cpu_features::{clamp_isa, detected_isa, Isa};
use crate::{Error, Real, Result};

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
/// with these transposes: never more than [`gemm_scratch_len`], often less (nothing
/// for small products with `B` as stored, `k·n` to transpose a small `B`).
pub fn gemm_scratch_len_for<T: GemmScalar>(
    ta: Transpose,
    tb: Transpose,
    m: usize,
    n: usize,
    k: usize,
) -> usize {
    let _ = ta;
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
    let need = gemm_scratch_len_for::<T>(ta, tb, m, n, k);
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

/// Largest `m·k` and `k·n` the unpacked path takes: its operands then stay in cache
/// without packing.
const DIRECT_MAX: usize = 1 << 16;

/// Whether an `m × n × k` product (with `m, n > 1`) takes the unpacked path. Within
/// these bounds `k·n ≤ gemm_scratch_len(m, n, k)`, so the transpose buffer fits in
/// scratch sized by [`gemm_scratch_len`].
fn direct_fits<T: GemmScalar>(m: usize, n: usize, k: usize) -> bool {
    k <= T::KC
        && n <= T::NC
        && m.saturating_mul(k) <= DIRECT_MAX
        && n.saturating_mul(k) <= DIRECT_MAX
}

/// `dst[p*n + j] = b[j*ldb + p]` for `p < k`, `j < n`: `op(B)` of a transposed `B`,
/// row-major. Eight stored rows at a time, so each destination row gets a contiguous
/// run of eight.
fn transpose_into<T: Copy>(b: &[T], ldb: usize, n: usize, k: usize, dst: &mut [T]) -> Result<()> {
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
fn gemm_direct<T: GemmScalar>(
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

#[allow(clippy::too_many_arguments)]
fn gemm_packed<T: GemmScalar>(
    ks: &KernelSet<T>,
    ta: bool,
    tb: bool,
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
    let (mr, nr) = (ks.mr, ks.nr);
    let kc_max = k.min(T::KC);
    // Scratch layout: [packed A block | packed B block]. gemm_scratch_len bounds both.
    let a_cap = (m.min(T::MC) + T::MR_MAX) * kc_max;
    let (apack, rest) = scratch.split_at_mut(a_cap.min(scratch.len()));
    let bpack = rest;
    // A tile on the stack for edge tiles (fewer than MR rows or NR columns).
    let mut tile = [T::zero(); 16 * 32];
    if mr * nr > tile.len() {
        return Err(INTERNAL);
    }

    let mut jc = 0;
    while jc < n {
        let nc = (n - jc).min(T::NC);
        let n_panels = nc.div_ceil(nr);
        let mut pc = 0;
        while pc < k {
            let kc = (k - pc).min(T::KC);
            let b_len = n_panels * nr * kc;
            let bp = bpack.get_mut(..b_len).ok_or(INTERNAL)?;
            pack_b(tb, b, ldb, pc, jc, kc, nc, nr, bp)?;
            let beta_eff = if pc == 0 { beta } else { T::one() };

            let mut ic = 0;
            while ic < m {
                let mc = (m - ic).min(T::MC);
                let m_panels = mc.div_ceil(mr);
                let a_len = m_panels * mr * kc;
                let ap = apack.get_mut(..a_len).ok_or(INTERNAL)?;
                pack_a(ta, a, lda, ic, pc, mc, kc, mr, ap)?;

                for jp in 0..n_panels {
                    let j0 = jc + jp * nr;
                    let nr_eff = (jc + nc - j0).min(nr);
                    let bpanel = bp.get(jp * nr * kc..(jp + 1) * nr * kc).ok_or(INTERNAL)?;
                    for ip in 0..m_panels {
                        let i0 = ic + ip * mr;
                        let mr_eff = (ic + mc - i0).min(mr);
                        let apanel = ap.get(ip * mr * kc..(ip + 1) * mr * kc).ok_or(INTERNAL)?;
                        if mr_eff == mr && nr_eff == nr {
                            let start = i0 * ldc + j0;
                            let end = (i0 + mr - 1) * ldc + j0 + nr;
                            let ct = c.get_mut(start..end).ok_or(INTERNAL)?;
                            // SAFETY: the microkernel reads mr*kc elements of apanel,
                            // nr*kc of bpanel (both exact slices), and touches
                            // ct[i*ldc + j] for i < mr, j < nr, the largest being
                            // (mr-1)*ldc + nr - 1 < ct.len().
                            unsafe {
                                (ks.micro)(
                                    kc,
                                    apanel.as_ptr(),
                                    bpanel.as_ptr(),
                                    ct.as_mut_ptr(),
                                    ldc,
                                    alpha,
                                    beta_eff,
                                )
                            };
                        } else {
                            // SAFETY: as above, with the tile buffer (ldc = nr, at
                            // least mr*nr elements, checked before the loops) as C.
                            unsafe {
                                (ks.micro)(
                                    kc,
                                    apanel.as_ptr(),
                                    bpanel.as_ptr(),
                                    tile.as_mut_ptr(),
                                    nr,
                                    T::one(),
                                    T::zero(),
                                )
                            };
                            for (i, trow) in tile.chunks(nr).take(mr_eff).enumerate() {
                                let start = (i0 + i) * ldc + j0;
                                let crow = c.get_mut(start..start + nr_eff).ok_or(INTERNAL)?;
                                if beta_eff == T::zero() {
                                    for (cv, &t) in crow.iter_mut().zip(trow) {
                                        *cv = alpha * t;
                                    }
                                } else {
                                    for (cv, &t) in crow.iter_mut().zip(trow) {
                                        *cv = alpha * t + beta_eff * *cv;
                                    }
                                }
                            }
                        }
                    }
                }
                ic += mc;
            }
            pc += kc;
        }
        jc += nc;
    }
    Ok(())
}

/// `dst.copy_from_slice(src)` for the short runs of packing, with the panel widths
/// as fixed-size copies so they compile to a few vector moves instead of a `memcpy`
/// call. Lengths must match (the callers slice both to the same length).
#[inline(always)]
fn copy_small<T: Copy>(dst: &mut [T], src: &[T]) {
    fn fixed<T: Copy, const N: usize>(dst: &mut [T], src: &[T]) -> bool {
        match (<&mut [T; N]>::try_from(dst), <&[T; N]>::try_from(src)) {
            (Ok(d), Ok(s)) => {
                *d = *s;
                true
            }
            _ => false,
        }
    }
    let done = match dst.len() {
        4 => fixed::<T, 4>(dst, src),
        6 => fixed::<T, 6>(dst, src),
        8 => fixed::<T, 8>(dst, src),
        16 => fixed::<T, 16>(dst, src),
        32 => fixed::<T, 32>(dst, src),
        _ => false,
    };
    if !done {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s;
        }
    }
}

/// Packs `op(A)[ic..ic+mc, pc..pc+kc]` into row panels `mr` tall: panel `q` holds, for
/// each `p < kc`, the `mr` values `op(A)[ic + q·mr + r, pc + p]` (zero past `mc`).
#[allow(clippy::too_many_arguments)]
fn pack_a<T: GemmScalar>(
    ta: bool,
    a: &[T],
    lda: usize,
    ic: usize,
    pc: usize,
    mc: usize,
    kc: usize,
    mr: usize,
    dst: &mut [T],
) -> Result<()> {
    for (q, panel) in dst.chunks_exact_mut(mr * kc).enumerate() {
        let i0 = ic + q * mr;
        let rows = (ic + mc - i0).min(mr);
        if rows < mr {
            panel.fill(T::zero());
        }
        if ta {
            // A stored k × m: op(A)[i, p] = a[p*lda + i]; rows i0.. are contiguous.
            for (p, dcol) in panel.chunks_exact_mut(mr).enumerate() {
                let start = (pc + p) * lda + i0;
                let src = a.get(start..start + rows).ok_or(INTERNAL)?;
                copy_small(&mut dcol[..rows], src);
            }
        } else {
            // A stored m × k: op(A)[i, p] = a[i*lda + p]; gather each row.
            for r in 0..rows {
                let start = (i0 + r) * lda + pc;
                let src = a.get(start..start + kc).ok_or(INTERNAL)?;
                for (dcol, &v) in panel.chunks_exact_mut(mr).zip(src) {
                    if let Some(d) = dcol.get_mut(r) {
                        *d = v;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Packs `op(B)[pc..pc+kc, jc..jc+nc]` into column panels `nr` wide: panel `q` holds,
/// for each `p < kc`, the `nr` values `op(B)[pc + p, jc + q·nr + c]` (zero past `nc`).
#[allow(clippy::too_many_arguments)]
fn pack_b<T: GemmScalar>(
    tb: bool,
    b: &[T],
    ldb: usize,
    pc: usize,
    jc: usize,
    kc: usize,
    nc: usize,
    nr: usize,
    dst: &mut [T],
) -> Result<()> {
    for (q, panel) in dst.chunks_exact_mut(nr * kc).enumerate() {
        let j0 = jc + q * nr;
        let cols = (jc + nc - j0).min(nr);
        if cols < nr {
            panel.fill(T::zero());
        }
        if tb {
            // B stored n × k: op(B)[p, j] = b[j*ldb + p]; gather each stored row.
            for col in 0..cols {
                let start = (j0 + col) * ldb + pc;
                let src = b.get(start..start + kc).ok_or(INTERNAL)?;
                for (drow, &v) in panel.chunks_exact_mut(nr).zip(src) {
                    if let Some(d) = drow.get_mut(col) {
                        *d = v;
                    }
                }
            }
        } else {
            // B stored k × n: op(B)[p, j] = b[p*ldb + j]; contiguous runs.
            for (p, drow) in panel.chunks_exact_mut(nr).enumerate() {
                let start = (pc + p) * ldb + j0;
                let src = b.get(start..start + cols).ok_or(INTERNAL)?;
                copy_small(&mut drow[..cols], src);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Portable kernels.

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
/// See [`sealed::KernelSet::gemv_n`]: every index named there must be in bounds.
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
/// See [`sealed::KernelSet::gemv_t`]: every index named there must be in bounds.
#[allow(clippy::too_many_arguments)]
unsafe fn gemv_t_portable<T: GemmScalar>(
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

fn portable_set<T: GemmScalar>() -> KernelSet<T> {
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

// ---------------------------------------------------------------------------------
// x86-64 SIMD kernels, one module per (type, instruction set).

#[cfg(target_arch = "x86_64")]
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
                        super::gemv_t_portable(n, k, x, incx, m, ldm, alpha, beta, out, incout)
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

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    #[inline(always)]
    pub(super) fn mask16(count: usize) -> __mmask16 {
        if count >= 16 {
            0xFFFF
        } else {
            ((1u32 << count) - 1) as __mmask16
        }
    }
    #[inline(always)]
    pub(super) fn mask8(count: usize) -> __mmask8 {
        if count >= 8 {
            0xFF
        } else {
            ((1u32 << count) - 1) as __mmask8
        }
    }
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn maskload_ps512(p: *const f32, m: __mmask16) -> __m512 {
        // SAFETY: the caller guarantees the lanes enabled in `m` are readable; masked
        // lanes are not accessed.
        unsafe { _mm512_maskz_loadu_ps(m, p) }
    }
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn maskload_pd512(p: *const f64, m: __mmask8) -> __m512d {
        // SAFETY: as maskload_ps512.
        unsafe { _mm512_maskz_loadu_pd(m, p) }
    }
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn maskstore_ps512(p: *mut f32, m: __mmask16, v: __m512) {
        // SAFETY: the caller guarantees the lanes enabled in `m` are writable; masked
        // lanes are not accessed.
        unsafe { _mm512_mask_storeu_ps(p, m, v) }
    }
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn maskstore_pd512(p: *mut f64, m: __mmask8, v: __m512d) {
        // SAFETY: as maskstore_ps512.
        unsafe { _mm512_mask_storeu_pd(p, m, v) }
    }
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn maskstore_ps256(p: *mut f32, m: __m256i, v: __m256) {
        // SAFETY: as maskstore_ps512.
        unsafe { _mm256_maskstore_ps(p, m, v) }
    }
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn maskstore_pd256(p: *mut f64, m: __m256i, v: __m256d) {
        // SAFETY: as maskstore_ps512.
        unsafe { _mm256_maskstore_pd(p, m, v) }
    }
    #[target_feature(enable = "avx2")]
    pub(super) fn mask_epi32(count: usize) -> __m256i {
        let c = count.min(8) as i32;
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(c),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }
    #[target_feature(enable = "avx2")]
    pub(super) fn mask_epi64(count: usize) -> __m256i {
        let c = count.min(4) as i64;
        _mm256_cmpgt_epi64(_mm256_set1_epi64x(c), _mm256_setr_epi64x(0, 1, 2, 3))
    }
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn maskload_ps256(p: *const f32, m: __m256i) -> __m256 {
        // SAFETY: the caller guarantees the lanes enabled in `m` are readable; masked
        // lanes are not accessed.
        unsafe { _mm256_maskload_ps(p, m) }
    }
    #[target_feature(enable = "avx2")]
    pub(super) fn hsum_ps256(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }
    #[target_feature(enable = "avx2")]
    pub(super) fn hsum_pd256(v: __m256d) -> f64 {
        let s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
        let s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
        _mm_cvtsd_f64(s)
    }
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn maskload_pd256(p: *const f64, m: __m256i) -> __m256d {
        // SAFETY: as maskload_ps256.
        unsafe { _mm256_maskload_pd(p, m) }
    }
}

#[cfg(target_arch = "x86_64")]
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
    mask_for = super::x86::mask16,
    maskload = super::x86::maskload_ps512,
    maskstore = super::x86::maskstore_ps512,
    hsum = _mm512_reduce_add_ps
);
#[cfg(target_arch = "x86_64")]
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
    mask_for = super::x86::mask8,
    maskload = super::x86::maskload_pd512,
    maskstore = super::x86::maskstore_pd512,
    hsum = _mm512_reduce_add_pd
);
#[cfg(target_arch = "x86_64")]
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
    mask_for = super::x86::mask_epi32,
    maskload = super::x86::maskload_ps256,
    maskstore = super::x86::maskstore_ps256,
    hsum = super::x86::hsum_ps256
);
#[cfg(target_arch = "x86_64")]
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
    mask_for = super::x86::mask_epi64,
    maskload = super::x86::maskload_pd256,
    maskstore = super::x86::maskstore_pd256,
    hsum = super::x86::hsum_pd256
);

impl sealed::Sealed for f32 {
    const MR_MAX: usize = 16;
    const NR_MAX: usize = 32;
    const MC: usize = 144;
    const KC: usize = 256;
    const NC: usize = 2048;

    fn kernels(isa: Isa) -> KernelSet<f32> {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => KernelSet {
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
            },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => KernelSet {
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
            },
            _ => portable_set(),
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
            Isa::Avx512 => KernelSet {
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
            },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => KernelSet {
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
            },
            _ => portable_set(),
        }
    }
}
