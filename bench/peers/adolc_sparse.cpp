// The sparse benchmarks of BENCHMARKS.md on ADOL-C (Debian's libadolc-dev) with ColPack
// (libcolpack-dev), beside core/examples/sparse_bench.rs.
//
// Debian builds ADOL-C without ColPack, so its sparse_jac/sparse_hess drivers stop with
// "can only be used if linked with ColPack". This program runs the same pipeline those
// drivers run, from the public pieces: jac_pat/hess_pat for the pattern, ColPack for the
// colouring (partial distance-2 of columns; star for Hessians) and the seed matrix,
// fov_forward (hess_mat for Hessians) for the compressed derivative, and ColPack's
// recovery into coordinate arrays. Checks a few entries by hand before timing.
#include <adolc/adolc.h>
#include <adolc/adolc_sparse.h>
#include <ColPack/ColPackHeaders.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace ColPack;

static double seconds_now() {
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

template <class F> static double median(int reps, F f) {
    std::vector<double> t(reps);
    for (int i = 0; i < reps; i++) {
        double s = seconds_now();
        f();
        t[i] = seconds_now() - s;
    }
    std::sort(t.begin(), t.end());
    return t[reps / 2];
}

static const double LAMBDA = 6.0;

template <class T> static void bratu(int k, const T *u, T *r) {
    double h2l = LAMBDA / double((k + 1) * (k + 1));
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            T c = u[i * k + j];
            T v = 4.0 * c - h2l * exp(c);
            if (i > 0) v -= u[(i - 1) * k + j];
            if (i + 1 < k) v -= u[(i + 1) * k + j];
            if (j > 0) v -= u[i * k + j - 1];
            if (j + 1 < k) v -= u[i * k + j + 1];
            r[i * k + j] = v;
        }
}

static volatile double sink;

static void jacobian_case(int k, int reps) {
    const int n = k * k, m = n;
    const short tag = 1;
    std::vector<double> x0(n), x(n), y(m);
    for (int i = 0; i < n; i++) x0[i] = 0.1 + 0.3 * ((i % 17) / 17.0);
    for (int i = 0; i < n; i++) x[i] = 0.2 + 0.1 * ((i % 7) / 7.0);
    double t0 = seconds_now();
    {
        std::vector<adouble> u(n), r(m);
        trace_on(tag);
        for (int i = 0; i < n; i++) u[i] <<= x0[i];
        bratu(k, u.data(), r.data());
        for (int i = 0; i < m; i++) r[i] >>= y[i];
        trace_off();
    }
    double record = seconds_now() - t0;
    std::printf("### ADOL-C: Bratu residual, n = %d\n\nrecord (trace_on/off): %.3f ms\n\n", n,
                record * 1e3);

    unsigned int **pattern = new unsigned int *[m];
    int options[3] = {0, 0, 0};
    double pattern_time = median(k > 300 ? 1 : 5, [&] {
        for (int i = 0; i < m; i++) pattern[i] = nullptr;
        jac_pat(tag, m, n, x0.data(), pattern, options);
    });
    size_t nnz = 0;
    for (int i = 0; i < m; i++) nnz += pattern[i][0];
    std::printf("jac_pat: %.2f ms, %zu nonzeros\n\n", pattern_time * 1e3, nnz);
    std::printf("| ColPack ordering | colours (column partial distance-2) | colouring + seed (ms) |\n");
    std::printf("|---|---:|---:|\n");
    const char *orderings[] = {"NATURAL", "LARGEST_FIRST", "SMALLEST_LAST",
                               "INCIDENCE_DEGREE"};
    // ColPack's counts vary from run to run for some orderings: the fewest and most of 5.
    for (const char *ordering : orderings) {
        int fewest = 1 << 30, most = 0;
        double t = median(5, [&] {
            BipartiteGraphPartialColoringInterface g(SRC_MEM_ADOLC, pattern, m, n);
            g.PartialDistanceTwoColoring(ordering, "COLUMN_PARTIAL_DISTANCE_TWO");
            int rows = 0, cols = 0;
            double **seed = g.GetSeedMatrix(&rows, &cols);
            (void)seed;
            fewest = std::min(fewest, g.GetVertexColorCount());
            most = std::max(most, g.GetVertexColorCount());
        });
        std::printf("| %s | %d–%d | %.2f |\n", ordering, fewest, most, t * 1e3);
    }
    // The driver's pipeline with the ordering sparse_jac uses by default (SMALLEST_LAST).
    BipartiteGraphPartialColoringInterface g(SRC_MEM_ADOLC, pattern, m, n);
    g.PartialDistanceTwoColoring("SMALLEST_LAST", "COLUMN_PARTIAL_DISTANCE_TWO");
    int seed_rows = 0, p = 0;
    double **seed = g.GetSeedMatrix(&seed_rows, &p);
    double **compressed = myalloc2(m, p);
    JacobianRecovery1D recovery;
    unsigned int *ri = nullptr, *ci = nullptr;
    double *values = nullptr;
    auto evaluate = [&] {
        fov_forward(tag, m, n, p, x.data(), seed, y.data(), compressed);
        recovery.RecoverD2Cln_CoordinateFormat_usermem(&g, compressed, pattern, &ri, &ci, &values);
    };
    ri = new unsigned int[nnz];
    ci = new unsigned int[nnz];
    values = new double[nnz];
    evaluate();
    // J[r][r] = 4 − h²λ exp(x_r), J[r][r+1] = −1.
    double h2l = LAMBDA / double((k + 1) * (k + 1));
    int checked = 0;
    for (size_t e = 0; e < nnz; e++) {
        double want = ri[e] == ci[e] ? 4.0 - h2l * std::exp(x[ri[e]]) : -1.0;
        if (std::fabs(values[e] - want) > 1e-12 * (1 + std::fabs(want))) {
            std::fprintf(stderr, "J[%u][%u] = %g, want %g\n", ri[e], ci[e], values[e], want);
            std::exit(1);
        }
        checked++;
    }
    double jac = median(reps, evaluate);
    double zos = median(reps, [&] { zos_forward(tag, m, n, 0, x.data(), y.data()); });
    std::vector<double> r(m);
    double primal = median(reps * 20, [&] {
        bratu(k, x.data(), r.data());
        sink = r[m / 2];
    });
    std::printf("\nSMALLEST_LAST, %d colours in this run, %d entries checked; at new inputs:\n\n",
                p, checked);
    std::printf("| | ms | ÷ primal |\n|---|---:|---:|\n");
    std::printf("| plain double residual (primal) | %.4f | 1 |\n", primal * 1e3);
    std::printf("| zos_forward alone | %.4f | %.2f |\n", zos * 1e3, zos / primal);
    std::printf("| sparse Jacobian (fov_forward with the seed + ColPack recovery) | %.4f | %.2f |\n\n",
                jac * 1e3, jac / primal);
    std::printf("RESULT adolc-jacobian n=%d colours=%d jac_ms=%.4f primal_ms=%.4f pattern_ms=%.3f\n\n",
                n, p, jac * 1e3, primal * 1e3, pattern_time * 1e3);
    myfree2(compressed);
    delete[] ri;
    delete[] ci;
    delete[] values;
    for (int i = 0; i < m; i++) free(pattern[i]);
    delete[] pattern;
}

template <class T> static T rosenbrock(int n, const T *x) {
    T f = 0.0;
    for (int i = 0; i + 1 < n; i++) {
        T a = x[i + 1] - x[i] * x[i];
        T b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
    }
    return f;
}

static void hessian_case(int n, int reps) {
    const short tag = 2;
    std::vector<double> x0(n), x(n);
    for (int i = 0; i < n; i++) x0[i] = 0.5 + 0.01 * (i % 13);
    for (int i = 0; i < n; i++) x[i] = 0.7 + 0.02 * (i % 5);
    double fy;
    double t0 = seconds_now();
    {
        std::vector<adouble> ax(n);
        trace_on(tag);
        for (int i = 0; i < n; i++) ax[i] <<= x0[i];
        adouble f = rosenbrock(n, ax.data());
        f >>= fy;
        trace_off();
    }
    double record = seconds_now() - t0;
    unsigned int **pattern = new unsigned int *[n];
    double pattern_time = median(5, [&] {
        for (int i = 0; i < n; i++) pattern[i] = nullptr;
        hess_pat(tag, n, x0.data(), pattern, 0);
    });
    size_t nnz_full = 0;
    for (int i = 0; i < n; i++) nnz_full += pattern[i][0];
    std::printf("### ADOL-C: chained Rosenbrock Hessian, n = %d\n\nrecord: %.3f ms; hess_pat: %.2f ms, %zu nonzeros (both triangles)\n\n",
                n, record * 1e3, pattern_time * 1e3, nnz_full);
    std::printf("| ColPack ordering | colours (star) | colouring + seed (ms) |\n|---|---:|---:|\n");
    const char *orderings[] = {"NATURAL", "LARGEST_FIRST", "SMALLEST_LAST",
                               "INCIDENCE_DEGREE"};
    for (const char *ordering : orderings) {
        int fewest = 1 << 30, most = 0;
        double t = median(5, [&] {
            GraphColoringInterface g(SRC_MEM_ADOLC, pattern, n);
            g.Coloring(ordering, "STAR");
            int rows = 0, cols = 0;
            (void)g.GetSeedMatrix(&rows, &cols);
            fewest = std::min(fewest, g.GetVertexColorCount());
            most = std::max(most, g.GetVertexColorCount());
        });
        std::printf("| %s | %d–%d | %.2f |\n", ordering, fewest, most, t * 1e3);
    }
    GraphColoringInterface g(SRC_MEM_ADOLC, pattern, n);
    g.Coloring("SMALLEST_LAST", "STAR");
    int seed_rows = 0, p = 0;
    double **seed = g.GetSeedMatrix(&seed_rows, &p);
    double **compressed = myalloc2(n, p);
    HessianRecovery recovery;
    // The lower triangle, which the recovery writes (as sparse_hess does).
    size_t nnz = (nnz_full + n) / 2;
    unsigned int *ri = new unsigned int[nnz], *ci = new unsigned int[nnz];
    double *values = new double[nnz];
    auto evaluate = [&] {
        hess_mat(tag, n, p, x.data(), seed, compressed);
        recovery.DirectRecover_CoordinateFormat_usermem(&g, compressed, pattern, &ri, &ci, &values);
    };
    evaluate();
    for (size_t e = 0; e < nnz; e++) {
        unsigned i = std::min(ri[e], ci[e]), j = std::max(ri[e], ci[e]);
        double want = i == j ? 1200 * x[i] * x[i] - (i + 1 < (unsigned)n ? 400 * x[i + 1] - 2 : 0) +
                                   (i > 0 ? 200 : 0)
                             : -400 * x[i];
        if (i + 1 == (unsigned)n && i == j) want = 200;
        if (std::fabs(values[e] - want) > 1e-9 * (1 + std::fabs(want))) {
            std::fprintf(stderr, "H[%u][%u] = %g, want %g\n", i, j, values[e], want);
            std::exit(1);
        }
    }
    double hess = median(reps, evaluate);
    double primal = median(reps * 20, [&] { sink = rosenbrock(n, x.data()); });
    std::printf("\nSMALLEST_LAST star, %d colours in this run; at new inputs:\n\n| | ms | ÷ primal |\n|---|---:|---:|\n", p);
    std::printf("| plain double function (primal) | %.4f | 1 |\n", primal * 1e3);
    std::printf("| sparse Hessian (hess_mat with the seed + ColPack direct recovery) | %.4f | %.2f |\n\n",
                hess * 1e3, hess / primal);
    std::printf("RESULT adolc-hessian n=%d colours=%d hess_ms=%.4f primal_ms=%.4f pattern_ms=%.3f\n\n",
                n, p, hess * 1e3, primal * 1e3, pattern_time * 1e3);
    myfree2(compressed);
    delete[] ri;
    delete[] ci;
    delete[] values;
    for (int i = 0; i < n; i++) free(pattern[i]);
    delete[] pattern;
}

// --quick: n = 10^4 only; --jacobians / --hessians: one problem only (bench/sparse.sh runs
// them as two processes: ADOL-C's Hessian times grow tens of times over when they follow
// the n = 10^6 Jacobian's tape in the same process).
int main(int argc, char **argv) {
    bool quick = false, hessians = true, jacobians = true;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        quick |= arg == "--quick";
        if (arg == "--hessians") jacobians = false;
        if (arg == "--jacobians") hessians = false;
    }
    if (jacobians) {
        jacobian_case(100, 50);
        if (!quick) jacobian_case(1000, 5);
    }
    if (hessians) {
        hessian_case(10000, 50);
        if (!quick) hessian_case(100000, 10);
    }
    return 0;
}
