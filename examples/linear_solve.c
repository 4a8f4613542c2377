/* An implicit derivative: a linear solve A(p) x = b(p) as a user-defined op whose
 * adjoint is one transposed solve with the saved factorisation, instead of taping the
 * factorisation's O(n^3) operations.
 *
 * A(p) and b(p) are recorded from p = (p0, p1, p2) with ordinary ops:
 *
 *     A_ij = (i == j ? 4 + p0 : 0) + cos(p1 (i - j)) / (1 + i + j),   b_i = sin(p2 (i + 1)),
 *
 * then x = solve(A, b) is one op (n^2 + n inputs, n outputs), and the loss is
 * L = sum_i (1 + i) x_i^2. The op's forward factorises PA = LU with partial pivoting
 * and keeps L, U and P in its saved state; its vjp, given xbar, solves A^T lambda = xbar
 * with them and returns bbar = lambda, Abar = -lambda x^T; its jvp solves
 * A xdot = bdot - Adot x. The gradient of L is checked against central differences and
 * against taping Gaussian elimination op by op, and forward mode against reverse; the
 * program exits with status 1 when one disagrees (1e-6 relative for the differences,
 * whose step h = 1e-6 errs by about h^2 plus rounding / h; 1e-11 for the taped
 * elimination and forward mode, which differ from the op by rounding only).
 *
 * make test builds and runs it; by hand:
 *     cc -O2 examples/linear_solve.c $(pkg-config --cflags --libs autodiff) -lm -o linear_solve
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autodiff.h"

#define N 6
#define P 3
/* The op's saved state: the LU factors (N*N), then the row permutation (N, as doubles). */
#define STATE (N * N + N)

static unsigned char mem_op[1 << 16], mem_taped[1 << 16];

/* PA = LU in place with partial pivoting; perm[i] is the row of A in row i of PA. */
static int factorise(double lu[N * N], double perm[N]) {
    for (int i = 0; i < N; i++) perm[i] = i;
    for (int k = 0; k < N; k++) {
        int pivot = k;
        for (int i = k + 1; i < N; i++)
            if (fabs(lu[i * N + k]) > fabs(lu[pivot * N + k])) pivot = i;
        if (lu[pivot * N + k] == 0.0) return 1; /* singular: fail the op */
        if (pivot != k) {
            double t = perm[k];
            perm[k] = perm[pivot];
            perm[pivot] = t;
            for (int j = 0; j < N; j++) {
                t = lu[k * N + j];
                lu[k * N + j] = lu[pivot * N + j];
                lu[pivot * N + j] = t;
            }
        }
        for (int i = k + 1; i < N; i++) {
            lu[i * N + k] /= lu[k * N + k];
            for (int j = k + 1; j < N; j++) lu[i * N + j] -= lu[i * N + k] * lu[k * N + j];
        }
    }
    return 0;
}

/* x = A^-1 b with the factors. */
static void solve(const double *lu, const double *perm, const double *b, double *x) {
    for (int i = 0; i < N; i++) {
        x[i] = b[(int)perm[i]];
        for (int j = 0; j < i; j++) x[i] -= lu[i * N + j] * x[j];
    }
    for (int i = N - 1; i >= 0; i--) {
        for (int j = i + 1; j < N; j++) x[i] -= lu[i * N + j] * x[j];
        x[i] /= lu[i * N + i];
    }
}

/* lambda = A^-T c with the factors: A^T = U^T L^T P, so solve U^T z = c, L^T w = z,
 * lambda = P^T w. */
static void solve_transposed(const double *lu, const double *perm, const double *c, double *lambda) {
    double w[N];
    for (int i = 0; i < N; i++) {
        w[i] = c[i];
        for (int j = 0; j < i; j++) w[i] -= lu[j * N + i] * w[j];
        w[i] /= lu[i * N + i];
    }
    for (int i = N - 1; i >= 0; i--)
        for (int j = i + 1; j < N; j++) w[i] -= lu[j * N + i] * w[j];
    for (int i = 0; i < N; i++) lambda[(int)perm[i]] = w[i];
}

/* The op. Inputs: A row-major, then b. Outputs: x. */
static int solve_forward(void *user_data, const double *in, size_t n_in, double *x, size_t n_out,
                         double *state, size_t state_len) {
    (void)user_data;
    if (n_in != N * N + N || n_out != N || state_len != STATE) return 1;
    memcpy(state, in, N * N * sizeof *state);
    if (factorise(state, state + N * N)) return 2;
    solve(state, state + N * N, in + N * N, x);
    return 0;
}

static int solve_vjp(void *user_data, const double *in, size_t n_in, const double *x, size_t n_out,
                     const double *state, size_t state_len, const double *xbar, double *inbar) {
    double lambda[N];
    (void)user_data, (void)in, (void)n_in, (void)n_out, (void)state_len;
    solve_transposed(state, state + N * N, xbar, lambda);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) inbar[i * N + j] = -lambda[i] * x[j];
        inbar[N * N + i] = lambda[i];
    }
    return 0;
}

static int solve_jvp(void *user_data, const double *in, size_t n_in, const double *x, size_t n_out,
                     const double *state, size_t state_len, const double *indot, double *xdot) {
    double rhs[N];
    (void)user_data, (void)in, (void)n_in, (void)n_out, (void)state_len;
    for (int i = 0; i < N; i++) {
        rhs[i] = indot[N * N + i];
        for (int j = 0; j < N; j++) rhs[i] -= indot[i * N + j] * x[j];
    }
    solve(state, state + N * N, rhs, xdot);
    return 0;
}

/* A(p) and b(p), recorded: a[N*N] then b[N]. */
static void record_system(ad_tape *t, const ad_var p[P], ad_var ab[N * N + N]) {
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            ad_var off = ad_scale(t, ad_cos(t, ad_scale(t, p[1], (double)(i - j))), 1.0 / (1 + i + j));
            ab[i * N + j] = i == j ? ad_add(t, off, ad_add(t, p[0], ad_const(t, 4.0))) : off;
        }
        ab[N * N + i] = ad_sin(t, ad_scale(t, p[2], (double)(i + 1)));
    }
}

static ad_var record_loss(ad_tape *t, const ad_var x[N]) {
    ad_var loss = ad_const(t, 0.0);
    for (int i = 0; i < N; i++) loss = ad_add(t, loss, ad_scale(t, ad_mul(t, x[i], x[i]), 1.0 + i));
    return loss;
}

/* The loss in plain doubles, for the central differences. */
static double plain_loss(const double p[P]) {
    double a[N * N], b[N], perm[N], x[N], loss = 0;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++)
            a[i * N + j] = (i == j ? 4 + p[0] : 0) + cos(p[1] * (i - j)) / (1 + i + j);
        b[i] = sin(p[2] * (i + 1));
    }
    factorise(a, perm);
    solve(a, perm, b, x);
    for (int i = 0; i < N; i++) loss += (1 + i) * x[i] * x[i];
    return loss;
}

/* Gaussian elimination recorded op by op (A is diagonally dominant: no pivoting). */
static void record_elimination(ad_tape *t, ad_var ab[N * N + N], ad_var x[N]) {
    ad_var *a = ab, *b = ab + N * N;
    for (int k = 0; k < N; k++) {
        for (int i = k + 1; i < N; i++) {
            ad_var m = ad_div(t, a[i * N + k], a[k * N + k]);
            for (int j = k + 1; j < N; j++) a[i * N + j] = ad_sub(t, a[i * N + j], ad_mul(t, m, a[k * N + j]));
            b[i] = ad_sub(t, b[i], ad_mul(t, m, b[k]));
        }
    }
    for (int i = N - 1; i >= 0; i--) {
        ad_var s = b[i];
        for (int j = i + 1; j < N; j++) s = ad_sub(t, s, ad_mul(t, a[i * N + j], x[j]));
        x[i] = ad_div(t, s, a[i * N + i]);
    }
}

static int close_to(double got, double want, double tol) {
    return fabs(got - want) <= tol * (1.0 + fabs(want));
}

int main(void) {
    static const double p0[P] = {0.3, 0.7, 1.1};
    ad_user_op_def def = {solve_forward, solve_vjp, solve_jvp, NULL, STATE};
    ad_tape *t, *taped;
    ad_var p[P], q[P], ab[N * N + N], x[N], loss, taped_loss;
    double g[P], g_taped[P];
    size_t len_op, len_taped;
    int ok = 1;
    if (ad_tape_init(mem_op, sizeof mem_op, AD_F64, &t) != AD_OK ||
        ad_tape_init(mem_taped, sizeof mem_taped, AD_F64, &taped) != AD_OK)
        return 1;
    for (int k = 0; k < P; k++) p[k] = ad_input(t, p0[k]);
    record_system(t, p, ab);
    if (ad_user_op(t, &def, ab, N * N + N, x, N) != AD_OK) {
        fprintf(stderr, "ad_user_op: %s\n", ad_tape_error(t));
        return 1;
    }
    loss = record_loss(t, x);
    if (ad_gradient(t, loss, g, P) != AD_OK) {
        fprintf(stderr, "ad_gradient: %s\n", ad_tape_error(t));
        return 1;
    }

    for (int k = 0; k < P; k++) q[k] = ad_input(taped, p0[k]);
    record_system(taped, q, ab);
    record_elimination(taped, ab, x);
    taped_loss = record_loss(taped, x);
    if (ad_gradient(taped, taped_loss, g_taped, P) != AD_OK) return 1;
    ad_tape_len(t, &len_op);
    ad_tape_len(taped, &len_taped);

    for (int k = 0; k < P; k++) {
        const double h = 1e-6;
        double plus[P], minus[P], fd, seeds[P] = {0, 0, 0}, tangent;
        memcpy(plus, p0, sizeof plus);
        memcpy(minus, p0, sizeof minus);
        plus[k] += h;
        minus[k] -= h;
        fd = (plain_loss(plus) - plain_loss(minus)) / (2 * h);
        seeds[k] = 1.0;
        if (ad_jvp(t, seeds, P) != AD_OK || ad_tangent(t, loss, &tangent) != AD_OK) return 1;
        printf("dL/dp%d: op %.12f, taped elimination %.12f, central difference %.12f, jvp %.12f\n", k,
               g[k], g_taped[k], fd, tangent);
        ok &= close_to(g[k], fd, 1e-6) && close_to(g[k], g_taped[k], 1e-11) && close_to(tangent, g[k], 1e-11);
    }
    printf("records: %zu with the solve as one op, %zu with the elimination taped\n", len_op, len_taped);
    ad_tape_done(t);
    ad_tape_done(taped);
    puts(ok ? "linear_solve: the implicit adjoint agrees" : "linear_solve: FAILED");
    return ok ? 0 : 1;
}
