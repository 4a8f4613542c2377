/* Vector modes, dense Hessians and sparse plans from C: results against ad_jacobian(),
 * finite differences by ad_replay(), colour counts, the pattern arrays, and the
 * statuses of bad input (small buffers, stale and foreign plans, ended plans). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define K 6
#define N (K * K)

static unsigned char tape_mem[1 << 20];
static unsigned char other_mem[1 << 16];
static unsigned char plan_mem[1 << 16];
static unsigned char plan2_mem[1 << 16];

/* The 2-D Bratu residual on a K × K grid: 4u − Σ neighbours − 0.1·exp(u). */
static void record_stencil(ad_tape *t, const double *x, ad_var *u, ad_var *r) {
    int i, j;
    for (i = 0; i < N; i++) u[i] = ad_input(t, x[i]);
    for (i = 0; i < K; i++) {
        for (j = 0; j < K; j++) {
            ad_var v = ad_sub(t, ad_scale(t, u[i * K + j], 4.0), ad_scale(t, ad_exp(t, u[i * K + j]), 0.1));
            if (i > 0) v = ad_sub(t, v, u[(i - 1) * K + j]);
            if (i + 1 < K) v = ad_sub(t, v, u[(i + 1) * K + j]);
            if (j > 0) v = ad_sub(t, v, u[i * K + j - 1]);
            if (j + 1 < K) v = ad_sub(t, v, u[i * K + j + 1]);
            r[i * K + j] = v;
        }
    }
}

static double dense[N * N], values[5 * N], z[N * N];
static uint32_t starts[N + 1], cols[5 * N], rows[5 * N], colours[N];

static void sparse_jacobian(void) {
    ad_tape *t, *other;
    ad_sparse *plan, *reverse;
    ad_sparse_sizes info;
    ad_var u[N], r[N];
    double x[N], seeds[N * 3], y[N * 3];
    int i, e, mode;
    for (i = 0; i < N; i++) x[i] = 0.1 * (i % 7) - 0.2;
    CHECK_OK(ad_tape_init(tape_mem, sizeof tape_mem, AD_F64, &t));
    record_stencil(t, x, u, r);
    CHECK_OK(ad_sparse_jacobian_init(t, r, N, AD_SPARSE_FORWARD, AD_ORDER_SATURATION, plan_mem,
                                     sizeof plan_mem, &plan));
    CHECK_OK(ad_sparse_info(plan, &info));
    CHECK(info.rows == N && info.cols == N && info.is_hessian == 0);
    CHECK(info.colours == 5);
    CHECK(info.nnz == (size_t)(5 * N - 4 * K));
    CHECK(info.peak_bytes > 0 && info.peak_bytes <= sizeof plan_mem);
    CHECK_OK(ad_sparse_pattern_csr(plan, starts, N + 1, cols, info.nnz));
    CHECK_OK(ad_sparse_pattern_coo(plan, rows, cols, info.nnz));
    CHECK_OK(ad_sparse_colouring(plan, colours, N));
    CHECK(starts[N] == info.nnz);
    CHECK_OK(ad_sparse_jacobian_init(t, r, N, AD_SPARSE_REVERSE, AD_ORDER_SMALLEST_LAST, plan2_mem,
                                     sizeof plan2_mem, &reverse));
    /* At two points: the plan is reused after a replay. */
    for (mode = 0; mode < 4; mode++) {
        ad_sparse *p = mode % 2 ? reverse : plan;
        if (mode == 2)
            for (i = 0; i < N; i++) x[i] = 0.05 * i;
        CHECK_OK(ad_sparse_jacobian_eval(t, p, x, N, values, 5 * N));
        CHECK_OK(ad_jacobian(t, r, N, dense, N * N));
        for (e = 0; e < (int)info.nnz; e++) CHECK_NEAR(values[e], dense[rows[e] * N + cols[e]], 1e-12);
    }
    /* One entry by central differences of the replayed residual. */
    {
        double up, down, h = 1e-6, xs = x[7];
        x[7] = xs + h;
        CHECK_OK(ad_replay(t, x, N));
        CHECK_OK(ad_value(t, r[8], &up));
        x[7] = xs - h;
        CHECK_OK(ad_replay(t, x, N));
        CHECK_OK(ad_value(t, r[8], &down));
        x[7] = xs;
        CHECK_OK(ad_sparse_jacobian_eval(t, plan, x, N, values, 5 * N));
        for (e = 0; e < (int)info.nnz; e++)
            if (rows[e] == 8 && cols[e] == 7) CHECK_NEAR(values[e], (up - down) / (2 * h), 1e-7);
    }
    /* Vector forward with three directions and reverse with three: against J. */
    for (i = 0; i < N * 3; i++) seeds[i] = (double)((i * 37) % 11) - 5.0;
    CHECK_OK(ad_forward_vector(t, r, N, seeds, N * 3, 3, y, N * 3));
    CHECK_OK(ad_jacobian(t, r, N, dense, N * N));
    for (i = 0; i < N; i++) {
        for (e = 0; e < 3; e++) {
            double want = 0;
            int k;
            for (k = 0; k < N; k++) want += dense[i * N + k] * seeds[k * 3 + e];
            CHECK_NEAR(y[i * 3 + e], want, 1e-12);
        }
    }
    CHECK_OK(ad_reverse_vector(t, r, N, seeds, N * 3, 3, z, 3 * N));
    for (e = 0; e < 3; e++) {
        for (i = 0; i < N; i++) {
            double want = 0;
            int k;
            for (k = 0; k < N; k++) want += seeds[e * N + k] * dense[k * N + i];
            CHECK_NEAR(z[e * N + i], want, 1e-12);
        }
    }
    CHECK_STATUS(ad_forward_vector(t, r, N, seeds, N * 3 - 1, 3, y, N * 3), AD_ERR_INVALID_ARGUMENT);
    /* At a new point in one call: ad_replay() then ad_forward_vector(), to the bit, and
     * the tape holds the new values. A wrong input count writes nothing and leaves them. */
    {
        double x2[N], at[N * 3], value_at, value_replayed;
        for (i = 0; i < N; i++) x2[i] = 0.02 * i - 0.1;
        CHECK_OK(ad_forward_vector_at(t, x2, N, r, N, seeds, N * 3, 3, at, N * 3));
        CHECK_OK(ad_value(t, r[5], &value_at));
        CHECK_OK(ad_replay(t, x2, N));
        CHECK_OK(ad_value(t, r[5], &value_replayed));
        CHECK_OK(ad_forward_vector(t, r, N, seeds, N * 3, 3, y, N * 3));
        CHECK(memcmp(at, y, sizeof at) == 0);
        CHECK(value_at == value_replayed);
        at[0] = 42.0;
        CHECK_STATUS(ad_forward_vector_at(t, x, N - 1, r, N, seeds, N * 3, 3, at, N * 3),
                     AD_ERR_INVALID_ARGUMENT);
        CHECK(at[0] == 42.0);
        CHECK_OK(ad_value(t, r[5], &value_at));
        CHECK(value_at == value_replayed);
        CHECK_OK(ad_replay(t, x, N));
    }

    /* Bad input. */
    CHECK_STATUS(ad_sparse_jacobian_eval(t, plan, x, N, values, info.nnz - 1), AD_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ad_sparse_pattern_csr(plan, starts, N, cols, info.nnz), AD_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ad_sparse_colouring(plan, colours, N - 1), AD_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(ad_sparse_jacobian_eval(t, plan, x, N - 1, values, 5 * N), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_sparse_hessian_eval(t, plan, x, N, x, 1, values, 5 * N), AD_ERR_FOREIGN_PATTERN);
    CHECK_STATUS(ad_sparse_jacobian_eval(t, NULL, x, N, values, 5 * N), AD_ERR_NULL);
    CHECK_STATUS(ad_sparse_jacobian_init(t, r, N, (ad_sparse_mode)7, AD_ORDER_NATURAL, plan2_mem,
                                         sizeof plan2_mem, &reverse), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_sparse_jacobian_init(t, r, N, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, plan2_mem, 64,
                                         &reverse), AD_ERR_OUT_OF_MEMORY);
    CHECK_OK(ad_tape_init(other_mem, sizeof other_mem, AD_F64, &other));
    for (i = 0; i < N; i++) (void)ad_input(other, x[i]);
    CHECK_STATUS(ad_sparse_jacobian_eval(other, plan, x, N, values, 5 * N), AD_ERR_FOREIGN_PATTERN);
    CHECK_OK(ad_tape_done(other));
    /* Re-recording makes the plan stale; a new plan works. */
    CHECK_OK(ad_tape_reset(t));
    record_stencil(t, x, u, r);
    CHECK_STATUS(ad_sparse_jacobian_eval(t, plan, x, N, values, 5 * N), AD_ERR_STALE_PATTERN);
    CHECK(strstr(ad_tape_error(t), "stale") != NULL);
    CHECK_OK(ad_sparse_done(plan));
    CHECK_STATUS(ad_sparse_done(plan), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_sparse_info(plan, &info), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_sparse_jacobian_init(t, r, N, AD_SPARSE_FORWARD, AD_ORDER_LARGEST_FIRST, plan_mem,
                                     sizeof plan_mem, &plan));
    CHECK_OK(ad_sparse_jacobian_eval(t, plan, x, N, values, 5 * N));
    CHECK_OK(ad_sparse_done(plan));
    CHECK_OK(ad_tape_done(t));
}

/* Chained Rosenbrock: a tridiagonal Hessian, three colours, against ad_hessian(). */
static void sparse_hessian(ad_dtype dtype, double tol) {
    enum { R = 12 };
    ad_tape *t;
    ad_sparse *plan;
    ad_sparse_sizes info;
    ad_var x[R], f;
    double at[R], h[R * R], w = 1.0, hv[3 * R];
    int i, e;
    CHECK_OK(ad_tape_init(tape_mem, sizeof tape_mem, dtype, &t));
    for (i = 0; i < R; i++) x[i] = ad_input(t, at[i] = 0.3 + 0.1 * i);
    f = ad_const(t, 0.0);
    for (i = 0; i + 1 < R; i++) {
        ad_var a = ad_sub(t, x[i + 1], ad_mul(t, x[i], x[i]));
        ad_var b = ad_sub(t, ad_const(t, 1.0), x[i]);
        f = ad_add(t, f, ad_add(t, ad_scale(t, ad_mul(t, a, a), 100.0), ad_mul(t, b, b)));
    }
    CHECK_OK(ad_sparse_hessian_init(t, &f, 1, AD_ORDER_NATURAL, plan_mem, sizeof plan_mem, &plan));
    CHECK_OK(ad_sparse_info(plan, &info));
    CHECK(info.is_hessian == 1 && info.rows == R && info.colours == 3 && info.nnz == 3 * R - 2);
    CHECK_OK(ad_sparse_pattern_coo(plan, rows, cols, info.nnz));
    CHECK_OK(ad_sparse_hessian_eval(t, plan, at, R, &w, 1, hv, 3 * R));
    CHECK_OK(ad_hessian(t, &f, &w, 1, h, R * R));
    for (e = 0; e < (int)info.nnz; e++) CHECK_NEAR(hv[e], h[rows[e] * R + cols[e]], tol);
    /* The diagonal by hand: 1200 x_i² − 400 x_{i+1} + 2 (+ 200 from the previous term). */
    CHECK_NEAR(h[0], 1200 * at[0] * at[0] - 400 * at[1] + 2, tol);
    CHECK_STATUS(ad_sparse_hessian_eval(t, plan, at, R, &w, 2, hv, 3 * R), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_sparse_jacobian_eval(t, plan, at, R, hv, 3 * R), AD_ERR_FOREIGN_PATTERN);
    CHECK_STATUS(ad_hessian(t, &f, &w, 1, h, R * R - 1), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_sparse_done(plan));
    CHECK_OK(ad_tape_done(t));
}

int main(void) {
    sparse_jacobian();
    sparse_hessian(AD_F64, 1e-10);
    sparse_hessian(AD_F32, 1e-3);
    sparse_hessian(AD_F64_DUAL, 1e-10);
    return check_summary();
}
