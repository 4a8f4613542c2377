//! GEMM against a naive triple loop: edge, random, cache-blocked and MLP shapes, every
//! instruction set, and bad arguments.

use autodiff_core::kernels::{
    gemm, gemm_scratch_len, gemm_scratch_len_for, gemm_with_isa, Isa, Transpose,
};
use autodiff_core::Error;

#[path = "common/kernel_data.rs"]
mod kernel_data;
use kernel_data::{sized, ISAS};
mod common;
use common::Rng;

/// Reference: C = alpha·op(A)·op(B) + beta·C in f64, `beta == 0` ignoring C.
#[allow(clippy::too_many_arguments)]
fn naive(
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    b: &[f64],
    ldb: usize,
    beta: f64,
    c: &mut [f64],
    ldc: usize,
) {
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0;
            for p in 0..k {
                let av = if ta { a[p * lda + i] } else { a[i * lda + p] };
                let bv = if tb { b[j * ldb + p] } else { b[p * ldb + j] };
                s += av * bv;
            }
            let cij = &mut c[i * ldc + j];
            *cij = if beta == 0.0 {
                alpha * s
            } else {
                alpha * s + beta * *cij
            };
        }
    }
}

struct Case {
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    lda: usize,
    ldb: usize,
    ldc: usize,
    alpha: f64,
    beta: f64,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
}

fn tr(t: bool) -> Transpose {
    if t {
        Transpose::Yes
    } else {
        Transpose::No
    }
}

#[allow(clippy::too_many_arguments)]
fn make_case(
    rng: &mut Rng,
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    beta: f64,
) -> Case {
    let (ar, ac) = if ta { (k, m) } else { (m, k) };
    let (br, bc) = if tb { (n, k) } else { (k, n) };
    let pad = |rng: &mut Rng| {
        if rng.below(0, 3) == 0 {
            rng.below(0, 5)
        } else {
            0
        }
    };
    let lda = ac.max(1) + pad(rng);
    let ldb = bc.max(1) + pad(rng);
    let ldc = n.max(1) + pad(rng);
    let len = |r: usize, c: usize, ld: usize| {
        if r == 0 || c == 0 {
            0
        } else {
            (r - 1) * ld + c
        }
    };
    Case {
        ta,
        tb,
        m,
        n,
        k,
        lda,
        ldb,
        ldc,
        alpha,
        beta,
        a: rng.vec(len(ar, ac, lda), -1.0, 1.0),
        b: rng.vec(len(br, bc, ldb), -1.0, 1.0),
        c: rng.vec(len(m, n, ldc), -1.0, 1.0),
    }
}

fn expected(case: &Case) -> Vec<f64> {
    let mut c = case.c.clone();
    naive(
        case.ta, case.tb, case.m, case.n, case.k, case.alpha, &case.a, case.lda, &case.b, case.ldb,
        case.beta, &mut c, case.ldc,
    );
    c
}

fn run_f64(isa: Isa, case: &Case, c: &mut [f64]) {
    let mut scratch = vec![f64::NAN; gemm_scratch_len::<f64>(case.m, case.n, case.k)];
    gemm_with_isa(
        isa,
        tr(case.ta),
        tr(case.tb),
        case.m,
        case.n,
        case.k,
        case.alpha,
        &case.a,
        case.lda,
        &case.b,
        case.ldb,
        case.beta,
        c,
        case.ldc,
        &mut scratch,
    )
    .unwrap();
}

fn run_f32(isa: Isa, case: &Case, c: &mut [f32]) {
    let a: Vec<f32> = case.a.iter().map(|&x| x as f32).collect();
    let b: Vec<f32> = case.b.iter().map(|&x| x as f32).collect();
    let mut scratch = vec![f32::NAN; gemm_scratch_len::<f32>(case.m, case.n, case.k)];
    gemm_with_isa(
        isa,
        tr(case.ta),
        tr(case.tb),
        case.m,
        case.n,
        case.k,
        case.alpha as f32,
        &a,
        case.lda,
        &b,
        case.ldb,
        case.beta as f32,
        c,
        case.ldc,
        &mut scratch,
    )
    .unwrap();
}

/// Elements of C outside the m × n view (row padding) must be left alone.
fn in_view(case: &Case, idx: usize) -> bool {
    idx % case.ldc < case.n
}

fn check_case(case: &Case) {
    let want = expected(case);
    for &isa in ISAS {
        // f64: the reference sums in the same precision; the results differ only in
        // rounding order, bounded by about k·eps·Σ|a·b| ≤ k²·eps with |a|, |b| ≤ 1.
        let mut c = case.c.clone();
        if case.beta == 0.0 {
            for (i, x) in c.iter_mut().enumerate() {
                if in_view(case, i) {
                    *x = f64::NAN;
                }
            }
        }
        run_f64(isa, case, &mut c);
        let kf = case.k as f64;
        let eps64 = f64::EPSILON;
        let tol64 =
            4.0 * eps64 * ((kf + 2.0) * kf.max(1.0) * case.alpha.abs() + case.beta.abs() + 1.0);
        for (i, (&got, &w)) in c.iter().zip(&want).enumerate() {
            assert!(
                (got - w).abs() <= tol64,
                "f64 {isa:?} ta={} tb={} m={} n={} k={} alpha={} beta={} at {i}: {got} vs {w}",
                case.ta,
                case.tb,
                case.m,
                case.n,
                case.k,
                case.alpha,
                case.beta
            );
        }
        // f32: inputs are rounded to f32 (relative error 2^-24 each) and the k-term sum
        // accumulates in f32, so with |a|, |b| ≤ 1 the error is bounded by about
        // (k + 2)·2^-24·k·|alpha| + |beta|·2^-24; factor 4 covers rounding C itself.
        let mut c32: Vec<f32> = case.c.iter().map(|&x| x as f32).collect();
        if case.beta == 0.0 {
            for (i, x) in c32.iter_mut().enumerate() {
                if in_view(case, i) {
                    *x = f32::NAN;
                }
            }
        }
        run_f32(isa, case, &mut c32);
        let eps = f32::EPSILON as f64;
        let tol32 =
            4.0 * eps * ((kf + 2.0) * kf.max(1.0) * case.alpha.abs() + case.beta.abs() + 1.0);
        for (i, (&got, &w)) in c32.iter().zip(&want).enumerate() {
            let w = if in_view(case, i) { w } else { w as f32 as f64 };
            assert!(
                (got as f64 - w).abs() <= tol32,
                "f32 {isa:?} ta={} tb={} m={} n={} k={} alpha={} beta={} at {i}: {got} vs {w}",
                case.ta,
                case.tb,
                case.m,
                case.n,
                case.k,
                case.alpha,
                case.beta
            );
        }
    }
}

#[test]
fn gemm_matches_naive_on_edge_shapes() {
    let mut rng = Rng::from_seed(1);
    let dims = [1usize, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 47, 64, 100];
    let dims = &dims[..sized(dims.len(), 10)];
    for &(alpha, beta) in &[
        (1.0, 0.0),
        (1.0, 1.0),
        (-0.5, 2.0),
        (2.5, 0.0),
        (0.0, 0.5),
        (0.0, 0.0),
    ] {
        for ta in [false, true] {
            for tb in [false, true] {
                for _ in 0..sized(12, 2) {
                    let m = dims[rng.below(0, dims.len())];
                    let n = dims[rng.below(0, dims.len())];
                    let k = dims[rng.below(0, dims.len())];
                    check_case(&make_case(&mut rng, ta, tb, m, n, k, alpha, beta));
                }
            }
        }
    }
}

#[test]
fn gemm_matches_naive_on_random_shapes() {
    let mut rng = Rng::from_seed(2);
    let max = sized(70, 20);
    for _ in 0..sized(200, 16) {
        let m = 1 + rng.below(0, max);
        let n = 1 + rng.below(0, max);
        let k = 1 + rng.below(0, max);
        let (ta, tb) = (rng.below(0, 2) == 1, rng.below(0, 2) == 1);
        let alpha = [1.0, -1.0, 0.75][rng.below(0, 3)];
        let beta = [0.0, 1.0, -0.25][rng.below(0, 3)];
        check_case(&make_case(&mut rng, ta, tb, m, n, k, alpha, beta));
    }
}

#[test]
fn gemm_matches_naive_across_cache_blocks() {
    // Larger than MC (f32: 144, f64: 96) and KC (256), so several blocks are packed and
    // beta switches to 1 after the first k block.
    let mut rng = Rng::from_seed(3);
    let shapes: &[(usize, usize, usize)] = if cfg!(miri) {
        &[(150, 2, 300)]
    } else {
        &[(150, 40, 300), (97, 70, 513), (200, 33, 257)]
    };
    for &(m, n, k) in shapes {
        for (ta, tb) in [(false, false), (true, true)] {
            check_case(&make_case(&mut rng, ta, tb, m, n, k, 1.0, 0.0));
            check_case(&make_case(&mut rng, ta, tb, m, n, k, 0.5, -1.0));
        }
    }
}

#[test]
fn gemm_mlp_shapes() {
    let mut rng = Rng::from_seed(4);
    // Under Miri: the same shapes with 64 and 100 scaled down to 6 and 13.
    let scale = |d: usize| match d {
        64 => sized(64, 6),
        100 => sized(100, 13),
        d => d,
    };
    for &(ta, tb, m, n, k) in &[
        (false, false, 64, 100, 100),
        (false, true, 64, 100, 100),
        (true, false, 100, 100, 64),
        (false, false, 1, 100, 100),
        (false, true, 1, 100, 100),
        (true, false, 100, 100, 1),
        (false, false, 64, 10, 100),
        (false, false, 100, 1, 100),
        (true, false, 100, 1, 64),
    ] {
        let (m, n, k) = (scale(m), scale(n), scale(k));
        check_case(&make_case(&mut rng, ta, tb, m, n, k, 1.0, 0.0));
        check_case(&make_case(&mut rng, ta, tb, m, n, k, 1.0, 1.0));
    }
}

#[test]
fn gemm_outer_products_match_naive() {
    // k = 1 takes its own path (a rank-one update) unless B is transposed.
    let mut rng = Rng::from_seed(5);
    let shapes: &[(usize, usize)] = &[(2, 2), (3, 17), (33, 1), (64, 10), (7, 65), (100, 100)];
    for &(m, n) in &shapes[..sized(shapes.len(), 5)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for &(alpha, beta) in &[(1.0, 0.0), (-0.5, 1.0), (2.0, -0.25)] {
                check_case(&make_case(&mut rng, ta, tb, m, n, 1, alpha, beta));
            }
        }
    }
}

#[test]
fn gemm_zero_sized_dimensions() {
    let mut rng = Rng::from_seed(5);
    for &(m, n, k) in &[(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0)] {
        for beta in [0.0, 1.0, 3.0] {
            check_case(&make_case(&mut rng, false, false, m, n, k, 1.0, beta));
        }
    }
    // k == 0 with beta == 0 zeroes C even when it held NaN.
    let mut c = [f32::NAN; 6];
    let no = Transpose::No;
    gemm(
        no,
        no,
        2,
        3,
        0,
        1.0f32,
        &[],
        0,
        &[],
        3,
        0.0,
        &mut c,
        3,
        &mut [],
    )
    .unwrap();
    assert_eq!(c, [0.0; 6]);
}

#[test]
fn gemm_alpha_zero_does_not_read_operands() {
    let a = [f64::NAN; 12];
    let b = [f64::INFINITY; 12];
    let mut c = [2.0f64; 9];
    let mut s = vec![0.0; gemm_scratch_len::<f64>(3, 3, 4)];
    let no = Transpose::No;
    gemm(no, no, 3, 3, 4, 0.0, &a, 4, &b, 3, 0.5, &mut c, 3, &mut s).unwrap();
    assert_eq!(c, [1.0; 9]);
}

#[test]
fn gemm_rejects_bad_arguments() {
    let a = [1.0f32; 12];
    let b = [1.0f32; 12];
    let mut c = [0.0f32; 9];
    let need = gemm_scratch_len::<f32>(3, 3, 4);
    assert!(need > 0);
    let mut s = vec![0.0f32; need];
    let no = Transpose::No;
    let invalid = |r: Result<(), Error>| matches!(r, Err(Error::InvalidArgument(_)));
    assert_eq!(
        gemm(no, no, 3, 3, 4, 1.0, &a, 4, &b, 3, 0.0, &mut c, 3, &mut s),
        Ok(())
    );
    assert_eq!(c, [4.0; 9]);
    // Scratch one element short (a transposed B needs scratch for every shape).
    let yes = Transpose::Yes;
    let need_t = gemm_scratch_len_for::<f32>(yes, 3, 3, 4);
    assert!(need_t > 0 && need_t <= need);
    assert!(invalid(gemm(
        no,
        yes,
        3,
        3,
        4,
        1.0,
        &a,
        4,
        &b,
        4,
        0.0,
        &mut c,
        3,
        &mut s[..need_t - 1]
    )));
    // A, B, C one element short.
    assert!(invalid(gemm(
        no,
        no,
        3,
        3,
        4,
        1.0,
        &a[..11],
        4,
        &b,
        3,
        0.0,
        &mut c,
        3,
        &mut s
    )));
    assert!(invalid(gemm(
        no,
        no,
        3,
        3,
        4,
        1.0,
        &a,
        4,
        &b[..11],
        3,
        0.0,
        &mut c,
        3,
        &mut s
    )));
    assert!(invalid(gemm(
        no,
        no,
        3,
        3,
        4,
        1.0,
        &a,
        4,
        &b,
        3,
        0.0,
        &mut c[..8],
        3,
        &mut s
    )));
    // Leading dimensions smaller than a row.
    assert!(invalid(gemm(
        no, no, 3, 3, 4, 1.0, &a, 3, &b, 3, 0.0, &mut c, 3, &mut s
    )));
    let yes = Transpose::Yes;
    assert!(invalid(gemm(
        no, yes, 3, 3, 4, 1.0, &a, 4, &b, 3, 0.0, &mut c, 3, &mut s
    )));
    assert!(invalid(gemm(
        no, no, 3, 3, 4, 1.0, &a, 4, &b, 3, 0.0, &mut c, 2, &mut s
    )));
    // Matrix-vector shapes check lengths too.
    assert!(invalid(gemm(
        no,
        no,
        1,
        3,
        4,
        1.0,
        &a[..3],
        4,
        &b,
        3,
        0.0,
        &mut c,
        3,
        &mut []
    )));
    assert!(invalid(gemm(
        no,
        no,
        3,
        1,
        4,
        1.0,
        &a,
        4,
        &b[..3],
        1,
        0.0,
        &mut c,
        1,
        &mut []
    )));
    assert!(invalid(gemm(
        yes,
        yes,
        1,
        3,
        4,
        1.0,
        &a,
        1,
        &b[..10],
        4,
        0.0,
        &mut c,
        3,
        &mut []
    )));
    // Sizes whose element count overflows usize.
    let big = usize::MAX / 2;
    let r = gemm(no, no, big, 3, 4, 1.0, &a, 4, &b, 3, 0.0, &mut c, 3, &mut s);
    assert_eq!(r, Err(Error::SizeOverflow));
    let r = gemm(no, no, 3, 3, 4, 1.0, &a, big, &b, 3, 0.0, &mut c, 3, &mut s);
    assert_eq!(r, Err(Error::SizeOverflow));
    let r = gemm(
        no,
        no,
        3,
        3,
        4,
        1.0,
        &a,
        4,
        &b,
        3,
        0.0,
        &mut c,
        usize::MAX,
        &mut s,
    );
    assert_eq!(r, Err(Error::SizeOverflow));
    let m = usize::MAX;
    assert!(gemm(no, no, m, m, m, 1.0, &a, m, &b, m, 0.0, &mut c, m, &mut s).is_err());
    // The scratch length itself never overflows and stays modest.
    assert!(gemm_scratch_len::<f32>(m, m, m) < 1 << 22);
    assert!(gemm_scratch_len::<f64>(m, m, m) < 1 << 22);
}
