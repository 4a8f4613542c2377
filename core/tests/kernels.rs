//! Kernel tests: GEMM against a naive triple loop, elementwise kernels against plain
//! references, softmax cross-entropy against finite differences.

use autodiff_core::kernels::elementwise as ew;
use autodiff_core::kernels::{
    gemm, gemm_scratch_len, gemm_scratch_len_for, gemm_with_isa, Isa, Transpose,
};
use autodiff_core::Error;

/// splitmix64: a tiny seeded generator, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn vec(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.uniform()).collect()
    }
}

/// Every instruction set; under Miri, which picks the portable kernels for all of them,
/// the portable one once.
const ISAS: &[Isa] = if cfg!(miri) {
    &[Isa::Scalar]
} else {
    &[Isa::Scalar, Isa::Avx2Fma, Isa::Avx512]
};

/// `full`, or `small` under Miri, which runs the kernels some thousand times slower:
/// there the same kinds of shapes (edges, several cache blocks, MLP layers) are smaller.
const fn sized(full: usize, small: usize) -> usize {
    if cfg!(miri) {
        small
    } else {
        full
    }
}

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
    let pad = |rng: &mut Rng| if rng.below(3) == 0 { rng.below(5) } else { 0 };
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
        a: rng.vec(len(ar, ac, lda)),
        b: rng.vec(len(br, bc, ldb)),
        c: rng.vec(len(m, n, ldc)),
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
    let mut rng = Rng(1);
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
                    let m = dims[rng.below(dims.len())];
                    let n = dims[rng.below(dims.len())];
                    let k = dims[rng.below(dims.len())];
                    check_case(&make_case(&mut rng, ta, tb, m, n, k, alpha, beta));
                }
            }
        }
    }
}

#[test]
fn gemm_matches_naive_on_random_shapes() {
    let mut rng = Rng(2);
    let max = sized(70, 20);
    for _ in 0..sized(200, 16) {
        let m = 1 + rng.below(max);
        let n = 1 + rng.below(max);
        let k = 1 + rng.below(max);
        let (ta, tb) = (rng.below(2) == 1, rng.below(2) == 1);
        let alpha = [1.0, -1.0, 0.75][rng.below(3)];
        let beta = [0.0, 1.0, -0.25][rng.below(3)];
        check_case(&make_case(&mut rng, ta, tb, m, n, k, alpha, beta));
    }
}

#[test]
fn gemm_matches_naive_across_cache_blocks() {
    // Larger than MC (f32: 144, f64: 96) and KC (256), so several blocks are packed and
    // beta switches to 1 after the first k block.
    let mut rng = Rng(3);
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
    let mut rng = Rng(4);
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
    let mut rng = Rng(5);
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
    let mut rng = Rng(5);
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
    let need_t = gemm_scratch_len_for::<f32>(no, yes, 3, 3, 4);
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

// ---------------------------------------------------------------------------------
// Elementwise kernels.

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn bias_relu_forward_matches_reference() {
    let mut rng = Rng(10);
    for &(rows, cols) in &[(1, 1), (3, 7), (sized(64, 6), sized(100, 13)), (5, 33)] {
        let x32: Vec<f32> = rng.vec(rows * cols).iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = rng.vec(cols).iter().map(|&v| v as f32).collect();
        let want: Vec<f32> = (0..rows * cols)
            .map(|i| (x32[i] + b32[i % cols]).max(0.0))
            .collect();
        let mut y = vec![f32::NAN; rows * cols];
        ew::bias_relu(rows, cols, &x32, &b32, &mut y).unwrap();
        assert_eq!(y, want);
        let mut z = x32.clone();
        ew::bias_relu_in_place(rows, cols, &mut z, &b32).unwrap();
        assert_eq!(z, want);
        let mut z = x32.clone();
        ew::bias_add_in_place(rows, cols, &mut z, &b32).unwrap();
        let want_add: Vec<f32> = (0..rows * cols).map(|i| x32[i] + b32[i % cols]).collect();
        assert_eq!(z, want_add);
    }
    // NaN pre-activations give 0, like max(NaN, 0) as a select.
    let mut y = [1.0f64; 2];
    ew::bias_relu(1, 2, &[f64::NAN, -1.0], &[0.0, 0.5], &mut y).unwrap();
    assert_eq!(y, [0.0, 0.0]);
    let mut y = [0.0f32; 6];
    assert!(ew::bias_relu(2, 3, &[0.0; 5], &[0.0; 3], &mut y).is_err());
    assert!(ew::bias_relu(2, 3, &[0.0; 6], &[0.0; 2], &mut y).is_err());
    assert!(ew::bias_relu_in_place(2, 3, &mut y, &[0.0; 4]).is_err());
    assert_eq!(
        ew::bias_relu(usize::MAX, 3, &[0.0; 6], &[0.0; 3], &mut y),
        Err(Error::SizeOverflow)
    );
}

#[test]
fn relu_backward_is_a_mask() {
    let mut rng = Rng(11);
    let y: Vec<f64> = rng
        .vec(1000)
        .iter()
        .map(|&v| if v < -0.3 { 0.0 } else { v })
        .collect();
    let g = rng.vec(1000);
    let want: Vec<f64> = y
        .iter()
        .zip(&g)
        .map(|(&yv, &gv)| if yv > 0.0 { gv } else { 0.0 })
        .collect();
    let mut gi = vec![f64::NAN; 1000];
    ew::relu_backward(&y, &g, &mut gi).unwrap();
    assert_eq!(gi, want);
    let mut g2 = g.clone();
    ew::relu_backward_in_place(&y, &mut g2).unwrap();
    assert_eq!(g2, want);
    // Masked-off lanes are exactly zero even for non-finite gradients.
    let mut out = [1.0f32; 3];
    ew::relu_backward(&[0.0, -1.0, 2.0], &[f32::NAN, f32::INFINITY, 3.0], &mut out).unwrap();
    assert_eq!(out, [0.0, 0.0, 3.0]);
    assert!(ew::relu_backward(&[0.0f32; 3], &[0.0; 2], &mut out).is_err());
    assert!(ew::relu_backward_in_place(&[0.0f32; 2], &mut out).is_err());
}

#[test]
fn bias_grad_sums_columns() {
    let mut rng = Rng(12);
    for &(rows, cols) in &[(1, 1), (sized(64, 6), sized(100, 13)), (7, 3), (0, 4)] {
        let dc = rng.vec(rows * cols);
        let mut want = vec![0.0; cols];
        for r in 0..rows {
            for c in 0..cols {
                want[c] += dc[r * cols + c];
            }
        }
        let mut db = vec![f64::NAN; cols];
        ew::bias_grad(rows, cols, &dc, &mut db, false).unwrap();
        assert_eq!(db, want);
        let mut acc = vec![1.0; cols];
        ew::bias_grad(rows, cols, &dc, &mut acc, true).unwrap();
        for (a, w) in acc.iter().zip(&want) {
            assert!(close(*a, w + 1.0, 1e-12));
        }
    }
    assert!(ew::bias_grad(2, 3, &[0.0f32; 6], &mut [0.0; 2], false).is_err());
    assert!(ew::bias_grad(2, 3, &[0.0f32; 5], &mut [0.0; 3], false).is_err());
}

#[test]
fn sgd_variants_match_reference() {
    let mut rng = Rng(13);
    let n = 37;
    let w0 = rng.vec(n);
    let g = rng.vec(n);
    let mut w = w0.clone();
    ew::sgd(0.1, &mut w, &g).unwrap();
    for i in 0..n {
        assert!(close(w[i], w0[i] - 0.1 * g[i], 1e-15));
    }
    let mut w = w0.clone();
    ew::sgd_weight_decay(0.1, 0.01, &mut w, &g).unwrap();
    for i in 0..n {
        assert!(close(w[i], w0[i] - 0.1 * (g[i] + 0.01 * w0[i]), 1e-15));
    }
    for nesterov in [false, true] {
        let p = ew::SgdMomentum {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.01,
            nesterov,
        };
        let (mut w, mut v) = (w0.clone(), vec![0.0; n]);
        let (mut rw, mut rv) = (w0.clone(), vec![0.0; n]);
        for _ in 0..3 {
            ew::sgd_momentum(&p, &mut w, &g, &mut v).unwrap();
            for i in 0..n {
                let d = g[i] + 0.01 * rw[i];
                rv[i] = 0.9 * rv[i] + d;
                rw[i] -= 0.1 * if nesterov { d + 0.9 * rv[i] } else { rv[i] };
            }
        }
        for i in 0..n {
            assert!(close(w[i], rw[i], 1e-14) && close(v[i], rv[i], 1e-14));
        }
    }
    assert!(ew::sgd(0.1f32, &mut [0.0; 3], &[0.0; 2]).is_err());
    let p = ew::SgdMomentum {
        lr: 0.1f32,
        momentum: 0.9,
        weight_decay: 0.0,
        nesterov: false,
    };
    assert!(ew::sgd_momentum(&p, &mut [0.0; 3], &[0.0; 3], &mut [0.0; 2]).is_err());
}

#[test]
fn adam_matches_reference() {
    let mut rng = Rng(14);
    let n = 29;
    let w0 = rng.vec(n);
    for (wd, decoupled) in [(0.0, false), (0.01, false), (0.01, true)] {
        let p = ew::Adam {
            weight_decay: wd,
            decoupled,
            ..ew::Adam::new(1e-2f64)
        };
        let (mut w, mut m, mut v) = (w0.clone(), vec![0.0; n], vec![0.0; n]);
        let (mut rw, mut rm, mut rv) = (w0.clone(), vec![0.0; n], vec![0.0; n]);
        for step in 1..=4u64 {
            let g = rng.vec(n);
            ew::adam(&p, step, &mut w, &g, &mut m, &mut v).unwrap();
            for i in 0..n {
                let mut gi = g[i];
                if decoupled {
                    rw[i] -= 1e-2 * wd * rw[i];
                } else {
                    gi += wd * rw[i];
                }
                rm[i] = 0.9 * rm[i] + 0.1 * gi;
                rv[i] = 0.999 * rv[i] + 0.001 * gi * gi;
                let mh = rm[i] / (1.0 - 0.9f64.powi(step as i32));
                let vh = rv[i] / (1.0 - 0.999f64.powi(step as i32));
                rw[i] -= 1e-2 * mh / (vh.sqrt() + 1e-8);
            }
        }
        for i in 0..n {
            assert!(close(w[i], rw[i], 1e-12), "{} vs {}", w[i], rw[i]);
        }
    }
    let p = ew::Adam::new(1e-3f32);
    assert!(ew::adam(
        &p,
        0,
        &mut [0.0; 2],
        &[0.0; 2],
        &mut [0.0; 2],
        &mut [0.0; 2]
    )
    .is_err());
    assert!(ew::adam(
        &p,
        1,
        &mut [0.0; 2],
        &[0.0; 2],
        &mut [0.0; 1],
        &mut [0.0; 2]
    )
    .is_err());
}

fn ce_reference(rows: usize, classes: usize, x: &[f64], labels: &[u32]) -> f64 {
    let mut total = 0.0;
    for r in 0..rows {
        let row = &x[r * classes..(r + 1) * classes];
        let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = mx + row.iter().map(|&v| (v - mx).exp()).sum::<f64>().ln();
        total += lse - row[labels[r] as usize];
    }
    total / rows as f64
}

#[test]
fn softmax_cross_entropy_gradient_matches_finite_differences() {
    let mut rng = Rng(15);
    for &(rows, classes) in &[(1, 1), (1, 10), (4, 3), (8, 10)] {
        let x: Vec<f64> = rng.vec(rows * classes).iter().map(|v| 3.0 * v).collect();
        let labels: Vec<u32> = (0..rows).map(|_| rng.below(classes) as u32).collect();
        let mut grad = vec![f64::NAN; rows * classes];
        let loss = ew::softmax_cross_entropy(rows, classes, &x, &labels, &mut grad).unwrap();
        assert!(close(loss, ce_reference(rows, classes, &x, &labels), 1e-13));
        let h = 1e-6;
        for i in 0..rows * classes {
            let mut xp = x.clone();
            xp[i] += h;
            let mut xm = x.clone();
            xm[i] -= h;
            let fd = (ce_reference(rows, classes, &xp, &labels)
                - ce_reference(rows, classes, &xm, &labels))
                / (2.0 * h);
            assert!(
                (grad[i] - fd).abs() < 1e-8,
                "row-major index {i}: {} vs {fd}",
                grad[i]
            );
        }
        // Each row of the gradient sums to zero.
        for r in 0..rows {
            let s: f64 = grad[r * classes..(r + 1) * classes].iter().sum();
            assert!(s.abs() < 1e-15);
        }
    }
}

#[test]
fn softmax_cross_entropy_is_stable_and_validates() {
    // Huge logits: the max is subtracted, so nothing overflows.
    let x = [1000.0f32, 0.0, -1000.0, 500.0, 500.0, 500.0];
    let mut g = [0.0f32; 6];
    let loss = ew::softmax_cross_entropy(2, 3, &x, &[0, 1], &mut g).unwrap();
    assert!(loss.is_finite());
    let want = (0.0 + 3.0f64.ln()) / 2.0;
    assert!((loss as f64 - want).abs() < 1e-6);
    // (softmax − one-hot) / rows: row 0 is certain and right, row 1 uniform over three.
    let want = [0.0, 0.0, 0.0, 1.0 / 6.0, -1.0 / 3.0, 1.0 / 6.0];
    for (i, (&got, &want)) in g.iter().zip(&want).enumerate() {
        assert!(
            (f64::from(got) - want).abs() < 1e-6,
            "g[{i}] = {got}, want {want}"
        );
    }
    let mut g = [0.0f64; 6];
    assert!(ew::softmax_cross_entropy(2, 3, &[0.0; 6], &[0, 3], &mut g).is_err());
    assert!(ew::softmax_cross_entropy(2, 3, &[0.0; 6], &[0], &mut g).is_err());
    assert!(ew::softmax_cross_entropy(2, 3, &[0.0; 5], &[0, 1], &mut g).is_err());
    assert!(ew::softmax_cross_entropy::<f32>(2, 0, &[], &[0, 1], &mut []).is_err());
    assert_eq!(
        ew::softmax_cross_entropy::<f64>(0, 3, &[], &[], &mut []),
        Ok(0.0)
    );
}
