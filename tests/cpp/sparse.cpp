// The C++ wrapper's vector modes, dense Hessian and sparse plans (autodiff/sparse.hpp,
// through autodiff.hpp): results against the dense Jacobian and by hand, colour counts,
// exceptions for bad input, and a plan that throws once the tape records again.
#include "autodiff.hpp"

#include <cmath>
#include <cstdio>
#include <type_traits>
#include <vector>

#include "check.hpp"
#define CHECK_NEAR(got, want)                                                            \
    do {                                                                                 \
        double g_ = (got), w_ = (want);                                                  \
        bool ok_ = std::fabs(g_ - w_) <= 1e-10 * (1.0 + std::fabs(w_));                  \
        if (!ok_) std::fprintf(stderr, "%s = %.17g, want %.17g\n", #got, g_, w_);        \
        check_record(ok_, __FILE__, __LINE__, #got " ~ " #want);                                         \
    } while (0)
#define CHECK_THROWS(stmt, want)                                                         \
    do {                                                                                 \
        bool thrown_ = false;                                                            \
        try {                                                                            \
            stmt;                                                                        \
        } catch (const autodiff::Error &e_) {                                            \
            thrown_ = e_.status() == (want);                                             \
        }                                                                                \
        check_record(thrown_, __FILE__, __LINE__, #stmt " throws " #want);                               \
    } while (0)

namespace ad = autodiff;

static_assert(!std::is_copy_constructible<ad::SparsePlan>::value, "SparsePlan is move-only");
static_assert(std::is_nothrow_move_constructible<ad::SparsePlan>::value, "SparsePlan moves");

// A tridiagonal system r_i = x_{i-1} x_i + exp(x_i) − x_{i+1}: three colours.
static std::vector<ad::Var> tridiagonal(ad::Tape &t, std::vector<ad::Var> &x, int n) {
    std::vector<ad::Var> r;
    for (int i = 0; i < n; i++) x.push_back(t.input(0.1 * i + 0.2));
    for (int i = 0; i < n; i++) {
        ad::Var v = exp(x[i]);
        if (i > 0) v = v + x[i - 1] * x[i];
        if (i + 1 < n) v = v - x[i + 1];
        r.push_back(v);
    }
    return r;
}

static void jacobians() {
    const int n = 10;
    static unsigned char mem[1 << 16], plan_mem[1 << 14];
    ad::Tape t(mem, sizeof mem);
    std::vector<ad::Var> x;
    std::vector<ad::Var> r = tridiagonal(t, x, n);
    std::vector<double> dense = t.jacobian(r);
    for (ad_sparse_mode mode : {AD_SPARSE_FORWARD, AD_SPARSE_REVERSE}) {
        ad::SparsePlan plan = ad::SparsePlan::jacobian(t, r, plan_mem, sizeof plan_mem, mode);
        CHECK(plan.colours() == 3);
        CHECK(plan.nnz() == 3 * n - 2);
        std::vector<uint32_t> rows, cols;
        plan.pattern_coo(rows, cols);
        std::vector<double> at(n);
        for (int i = 0; i < n; i++) at[i] = 0.1 * i + 0.2;
        std::vector<double> values = plan.evaluate(t, at);
        for (size_t e = 0; e < values.size(); e++) CHECK_NEAR(values[e], dense[rows[e] * n + cols[e]]);
        std::vector<uint32_t> starts;
        plan.pattern_csr(starts, cols);
        CHECK(starts.size() == n + 1 && starts[n] == plan.nnz());
        ad::SparsePlan moved = std::move(plan);
        CHECK(moved.get() != nullptr && plan.get() == nullptr);
    }
    // Vector modes against the dense Jacobian.
    std::vector<double> seeds(n * 2);
    for (size_t i = 0; i < seeds.size(); i++) seeds[i] = std::sin(1.0 + i);
    std::vector<double> y = ad::forward_vector(t, r, seeds, 2);
    std::vector<double> z = ad::reverse_vector(t, r, seeds, 2);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 2; j++) {
            double fy = 0, fz = 0;
            for (int k = 0; k < n; k++) {
                fy += dense[i * n + k] * seeds[k * 2 + j];
                fz += seeds[j * n + k] * dense[k * n + i];
            }
            CHECK_NEAR(y[i * 2 + j], fy);
            CHECK_NEAR(z[j * n + i], fz);
        }
    }
    CHECK_THROWS(ad::forward_vector(t, r, seeds, 3), AD_ERR_INVALID_ARGUMENT);
    // The buffer forms give the same, bit for bit, into the caller's memory.
    {
        std::vector<ad_var> handles(r.size());
        for (size_t i = 0; i < r.size(); i++) handles[i] = r[i].raw();
        std::vector<double> yb(y.size()), zb(z.size());
        ad::forward_vector(t, handles.data(), handles.size(), seeds.data(), seeds.size(), 2, yb.data(), yb.size());
        ad::reverse_vector(t, handles.data(), handles.size(), seeds.data(), seeds.size(), 2, zb.data(), zb.size());
        CHECK(yb == y && zb == z);
        CHECK(ad::try_forward_vector(t, handles.data(), handles.size(), seeds.data(), seeds.size(), 2, yb.data(),
                                     yb.size() - 1) == AD_ERR_INVALID_ARGUMENT);
        CHECK(ad::try_reverse_vector(t, handles.data(), handles.size(), nullptr, seeds.size(), 2, zb.data(),
                                     zb.size()) == AD_ERR_NULL);
        // At new inputs in one call: a replay, then forward_vector, to the bit.
        std::vector<double> at(n);
        for (int i = 0; i < n; i++) at[i] = 0.3 - 0.01 * i;
        std::vector<double> ya = ad::forward_vector_at(t, at, r, seeds, 2);
        t.replay(at.data(), at.size());
        CHECK(ad::forward_vector(t, r, seeds, 2) == ya);
        ad::forward_vector_at(t, at.data(), at.size(), handles.data(), handles.size(), seeds.data(), seeds.size(),
                              2, yb.data(), yb.size());
        CHECK(yb == ya);
        CHECK(ad::try_forward_vector_at(t, at.data(), at.size() - 1, handles.data(), handles.size(), seeds.data(),
                                        seeds.size(), 2, yb.data(), yb.size()) == AD_ERR_INVALID_ARGUMENT);
        CHECK_THROWS(ad::forward_vector_at(t, at, r, seeds, 3), AD_ERR_INVALID_ARGUMENT);
    }
    // Re-recording makes a plan stale.
    ad::SparsePlan plan = ad::SparsePlan::jacobian(t, r, plan_mem, sizeof plan_mem);
    t.reset();
    x.clear();
    r = tridiagonal(t, x, n);
    std::vector<double> at(n, 0.5), values(plan.nnz());
    CHECK(plan.try_evaluate(t, at, values) == AD_ERR_STALE_PATTERN);
    CHECK_THROWS(plan.evaluate(t, at), AD_ERR_STALE_PATTERN);
    CHECK_THROWS(ad::SparsePlan::jacobian(t, r, plan_mem, 16), AD_ERR_OUT_OF_MEMORY);
}

// f = Σ (x_i x_{i+1})² + sin x_0: a tridiagonal Hessian, by hand at one point.
static void hessians() {
    const int n = 6;
    static unsigned char mem[1 << 16], plan_mem[1 << 14];
    ad::Tape t(mem, sizeof mem);
    std::vector<ad::Var> x;
    for (int i = 0; i < n; i++) x.push_back(t.input(0.5 + 0.25 * i));
    ad::Var f = sin(x[0]);
    for (int i = 0; i + 1 < n; i++) {
        ad::Var p = x[i] * x[i + 1];
        f = f + p * p;
    }
    std::vector<double> h = ad::hessian(t, {f}, {2.0});
    ad::SparsePlan plan = ad::SparsePlan::hessian(t, {f}, plan_mem, sizeof plan_mem);
    CHECK(plan.colours() == 3 && plan.sizes().is_hessian == 1);
    std::vector<double> at(n);
    for (int i = 0; i < n; i++) at[i] = 0.5 + 0.25 * i;
    std::vector<double> values = plan.evaluate(t, at, {2.0});
    std::vector<uint32_t> rows, cols;
    plan.pattern_coo(rows, cols);
    for (size_t e = 0; e < values.size(); e++) CHECK_NEAR(values[e], h[rows[e] * n + cols[e]]);
    // d²/dx0dx1 of 2·(x0 x1)² = 8 x0 x1; d²/dx0² = 2·(2 x1² − sin x0).
    CHECK_NEAR(h[1], 8 * at[0] * at[1]);
    CHECK_NEAR(h[0], 2 * (2 * at[1] * at[1] - std::sin(at[0])));
    CHECK_THROWS(plan.evaluate(t, at), AD_ERR_FOREIGN_PATTERN);
    CHECK_THROWS(ad::hessian(t, {f}, {}), AD_ERR_INVALID_ARGUMENT);
}

int main() {
    try {
        jacobians();
        hessians();
    } catch (const std::exception &e) {
        failed++;
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    }
    return check_summary();
}
