/* An implicit derivative: the solution of x = g(x, p), found by Newton's method, as a
 * user-defined op differentiated by the implicit function theorem (as JAX's custom_root
 * and Stan's algebra_solver do) instead of taping the iterations.
 *
 *     g0(x, p) = cos(x1) / 2 + p0,    g1(x, p) = sin(x0 + x1) / 2.5 + p1 x0 / (1 + x0^2)
 *
 * At the solution xs(p), F(x, p) = x - g(x, p) = 0, so dxs/dp = (I - g_x)^-1 g_p. The
 * op's vjp, given xbar, solves (I - g_x)^T lambda = xbar and returns pbar = g_p^T lambda;
 * its jvp returns (I - g_x)^-1 g_p pdot. g_x and g_p come from dual numbers (ad_dual_*),
 * at the solution the forward found: no tape inside the op, and nothing of the Newton
 * iterations on the outer one.
 *
 * The loss L = x0^2 + 3 x1 + x0 x1 is differentiated with respect to p; the gradient is
 * checked against central differences (1e-6 relative: the step h = 1e-6 errs by about
 * h^2 plus rounding / h), against taping 100 plain fixed-point iterations (a contraction,
 * converged far below 1e-12 by then; 1e-10 relative), and forward mode against reverse
 * (1e-12). The program exits with status 1 when one disagrees.
 *
 * make test builds and runs it; by hand:
 *     cc -O2 examples/fixed_point.c $(pkg-config --cflags --libs autodiff) -lm -o fixed_point
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autodiff.h"

#define ITERATIONS 100

static unsigned char mem_op[1 << 12], mem_taped[1 << 16];

/* g on dual numbers: values, and one directional derivative. */
static void g_dual(const ad_dual x[2], const ad_dual p[2], ad_dual out[2]) {
    ad_dual x0sq = ad_dual_mul(x[0], x[0]);
    out[0] = ad_dual_add(ad_dual_scale(ad_dual_cos(x[1]), 0.5), p[0]);
    out[1] = ad_dual_add(ad_dual_scale(ad_dual_sin(ad_dual_add(x[0], x[1])), 1 / 2.5),
                         ad_dual_div(ad_dual_mul(p[1], x[0]), ad_dual_add(ad_dual_make(1, 0), x0sq)));
}

/* g's Jacobians at (x, p): gx[i][j] = dg_i/dx_j, gp[i][j] = dg_i/dp_j. */
static void jacobians(const double x[2], const double p[2], double gx[2][2], double gp[2][2]) {
    for (int d = 0; d < 4; d++) {
        ad_dual xd[2], pd[2], out[2];
        for (int k = 0; k < 2; k++) {
            xd[k] = ad_dual_make(x[k], d == k ? 1.0 : 0.0);
            pd[k] = ad_dual_make(p[k], d == 2 + k ? 1.0 : 0.0);
        }
        g_dual(xd, pd, out);
        for (int i = 0; i < 2; i++) {
            if (d < 2) gx[i][d] = out[i].tangent;
            else gp[i][d - 2] = out[i].tangent;
        }
    }
}

/* Solves the 2x2 system m y = r (or m^T y = r). */
static int solve2(double m[2][2], int transposed, const double r[2], double y[2]) {
    double a = m[0][0], b = transposed ? m[1][0] : m[0][1], c = transposed ? m[0][1] : m[1][0], d = m[1][1];
    double det = a * d - b * c;
    if (det == 0.0) return 1;
    y[0] = (d * r[0] - b * r[1]) / det;
    y[1] = (a * r[1] - c * r[0]) / det;
    return 0;
}

/* I - g_x at (x, p), and g_p. */
static void linearise(const double x[2], const double p[2], double m[2][2], double gp[2][2]) {
    double gx[2][2];
    jacobians(x, p, gx, gp);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) m[i][j] = (i == j) - gx[i][j];
}

/* The op: inputs p, outputs the solution xs; Newton on F(x) = x - g(x, p). */
static int root_forward(void *user_data, const double *p, size_t n_in, double *x, size_t n_out,
                        double *state, size_t state_len) {
    (void)user_data, (void)state, (void)state_len;
    if (n_in != 2 || n_out != 2) return 1;
    x[0] = x[1] = 0.0;
    for (int it = 0; it < 50; it++) {
        double m[2][2], gp[2][2], f[2], dx[2];
        ad_dual xd[2], pd[2], g[2];
        for (int k = 0; k < 2; k++) {
            xd[k] = ad_dual_make(x[k], 0);
            pd[k] = ad_dual_make(p[k], 0);
        }
        g_dual(xd, pd, g);
        f[0] = x[0] - g[0].value;
        f[1] = x[1] - g[1].value;
        linearise(x, p, m, gp);
        if (solve2(m, 0, f, dx)) return 2;
        x[0] -= dx[0];
        x[1] -= dx[1];
        if (fabs(dx[0]) + fabs(dx[1]) < 1e-15) return 0;
    }
    return 3; /* no convergence: the tape keeps AD_ERR_CALLBACK_FAILED */
}

static int root_vjp(void *user_data, const double *p, size_t n_in, const double *x, size_t n_out,
                    const double *state, size_t state_len, const double *xbar, double *pbar) {
    double m[2][2], gp[2][2], lambda[2];
    (void)user_data, (void)n_in, (void)n_out, (void)state, (void)state_len;
    linearise(x, p, m, gp);
    if (solve2(m, 1, xbar, lambda)) return 2;
    for (int j = 0; j < 2; j++) pbar[j] = gp[0][j] * lambda[0] + gp[1][j] * lambda[1];
    return 0;
}

static int root_jvp(void *user_data, const double *p, size_t n_in, const double *x, size_t n_out,
                    const double *state, size_t state_len, const double *pdot, double *xdot) {
    double m[2][2], gp[2][2], r[2];
    (void)user_data, (void)n_in, (void)n_out, (void)state, (void)state_len;
    linearise(x, p, m, gp);
    for (int i = 0; i < 2; i++) r[i] = gp[i][0] * pdot[0] + gp[i][1] * pdot[1];
    return solve2(m, 0, r, xdot) ? 2 : 0;
}

static ad_var record_loss(ad_tape *t, const ad_var x[2]) {
    return ad_add(t, ad_add(t, ad_mul(t, x[0], x[0]), ad_scale(t, x[1], 3.0)), ad_mul(t, x[0], x[1]));
}

/* x <- g(x, p), recorded ITERATIONS times from 0. */
static void record_iterations(ad_tape *t, const ad_var p[2], ad_var x[2]) {
    x[0] = x[1] = ad_const(t, 0.0);
    for (int it = 0; it < ITERATIONS; it++) {
        ad_var g0 = ad_add(t, ad_scale(t, ad_cos(t, x[1]), 0.5), p[0]);
        ad_var g1 = ad_add(t, ad_scale(t, ad_sin(t, ad_add(t, x[0], x[1])), 1 / 2.5),
                           ad_div(t, ad_mul(t, p[1], x[0]), ad_add(t, ad_const(t, 1.0), ad_mul(t, x[0], x[0]))));
        x[0] = g0;
        x[1] = g1;
    }
}

static double plain_loss(const double p[2]) {
    double x[2];
    if (root_forward(NULL, p, 2, x, 2, NULL, 0)) return NAN;
    return x[0] * x[0] + 3 * x[1] + x[0] * x[1];
}

static int close_to(double got, double want, double tol) {
    return fabs(got - want) <= tol * (1.0 + fabs(want));
}

int main(void) {
    static const double p0[2] = {0.3, 0.8};
    ad_user_op_def def = {root_forward, root_vjp, root_jvp, NULL, 0};
    ad_tape *t, *taped;
    ad_var p[2], q[2], x[2], loss, taped_loss;
    double g[2], g_taped[2];
    size_t len_op, len_taped;
    int ok = 1;
    if (ad_tape_init(mem_op, sizeof mem_op, AD_F64, &t) != AD_OK ||
        ad_tape_init(mem_taped, sizeof mem_taped, AD_F64, &taped) != AD_OK)
        return 1;
    p[0] = ad_input(t, p0[0]);
    p[1] = ad_input(t, p0[1]);
    if (ad_user_op(t, &def, p, 2, x, 2) != AD_OK) {
        fprintf(stderr, "ad_user_op: %s\n", ad_tape_error(t));
        return 1;
    }
    loss = record_loss(t, x);
    if (ad_gradient(t, loss, g, 2) != AD_OK) {
        fprintf(stderr, "ad_gradient: %s\n", ad_tape_error(t));
        return 1;
    }
    q[0] = ad_input(taped, p0[0]);
    q[1] = ad_input(taped, p0[1]);
    record_iterations(taped, q, x);
    taped_loss = record_loss(taped, x);
    if (ad_gradient(taped, taped_loss, g_taped, 2) != AD_OK) return 1;
    ad_tape_len(t, &len_op);
    ad_tape_len(taped, &len_taped);
    for (int k = 0; k < 2; k++) {
        const double h = 1e-6;
        double plus[2], minus[2], fd, seeds[2] = {0, 0}, tangent;
        memcpy(plus, p0, sizeof plus);
        memcpy(minus, p0, sizeof minus);
        plus[k] += h;
        minus[k] -= h;
        fd = (plain_loss(plus) - plain_loss(minus)) / (2 * h);
        seeds[k] = 1.0;
        if (ad_jvp(t, seeds, 2) != AD_OK || ad_tangent(t, loss, &tangent) != AD_OK) return 1;
        printf("dL/dp%d: implicit %.12f, taped iterations %.12f, central difference %.12f, jvp %.12f\n",
               k, g[k], g_taped[k], fd, tangent);
        ok &= close_to(g[k], fd, 1e-6) && close_to(g[k], g_taped[k], 1e-10) && close_to(tangent, g[k], 1e-12);
    }
    /* A new p through replay: Newton runs again, and the gradient follows. */
    {
        const double p1[2] = {-0.2, 1.3};
        double plus[2] = {p1[0] + 1e-6, p1[1]}, minus[2] = {p1[0] - 1e-6, p1[1]};
        if (ad_replay(t, p1, 2) != AD_OK || ad_gradient(t, loss, g, 2) != AD_OK) return 1;
        ok &= close_to(g[0], (plain_loss(plus) - plain_loss(minus)) / 2e-6, 1e-6);
    }
    printf("records: %zu with the solve as one op, %zu with %d iterations taped\n", len_op, len_taped,
           ITERATIONS);
    ad_tape_done(t);
    ad_tape_done(taped);
    puts(ok ? "fixed_point: the implicit derivative agrees" : "fixed_point: FAILED");
    return ok ? 0 : 1;
}
