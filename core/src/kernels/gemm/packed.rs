//! The general path, Goto/BLIS style: `op(B)` packed block by block (`KC × NC`) into
//! column panels `NR` wide, `op(A)` block by block (`MC × KC`) into row panels `MR`
//! tall, and the microkernel run on each `MR × NR` tile of `C`.

use super::{sealed::KernelSet, GemmScalar, INTERNAL};
use crate::Result;

#[allow(clippy::too_many_arguments)]
pub(super) fn gemm_packed<T: GemmScalar>(
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
