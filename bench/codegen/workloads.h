/* Rosenbrock and the transcendental chain (core/benches/support/scalar_workloads.rs), n =
 * 1000, at the benchmark's points: recorded through the C API, written as plain C, and
 * with hand-written gradients. Shared by gen.c (which records and generates) and bench.c
 * (which times). */
#ifndef CODEGEN_BENCH_WORKLOADS_H
#define CODEGEN_BENCH_WORKLOADS_H

#include <math.h>

#include "autodiff.h"

#define N 1000

/* The points of scalar_workloads.rs: point(n) to record at, other_point(n) to run at. */
static inline void point(double *x) {
    for (int i = 0; i < N; i++) x[i] = 0.5 + 0.4 * sin(0.37 * i);
}

static inline void other_point(double *x) {
    for (int i = 0; i < N; i++) x[i] = -0.3 + 0.6 * cos(0.11 * i);
}

static inline ad_var rosenbrock_taped(ad_tape *t, const double *x) {
    ad_var f = ad_const(t, 0.0), xi = ad_input(t, x[0]);
    for (int i = 1; i < N; i++) {
        ad_var xn = ad_input(t, x[i]);
        ad_var a = ad_sub(t, xn, ad_mul(t, xi, xi));
        ad_var b = ad_sub(t, ad_const(t, 1.0), xi);
        f = ad_add(t, f, ad_add(t, ad_mul(t, ad_scale(t, a, 100.0), a), ad_mul(t, b, b)));
        xi = xn;
    }
    return f;
}

static inline ad_var chain_taped(ad_tape *t, const double *x) {
    ad_var f = ad_const(t, 0.0), xi = ad_input(t, x[0]);
    for (int i = 1; i < N; i++) {
        ad_var xn = ad_input(t, x[i]);
        ad_var a2 = ad_add(t, ad_mul(t, xi, xi), ad_const(t, 1.0));
        ad_var term = ad_add(t,
                             ad_add(t, ad_mul(t, ad_sin(t, xi), ad_exp(t, ad_scale(t, xn, 0.01))),
                                    ad_log(t, a2)),
                             ad_div(t, ad_sqrt(t, ad_add(t, ad_mul(t, xn, xn), ad_const(t, 1.0))), a2));
        f = ad_add(t, f, term);
        xi = xn;
    }
    return f;
}

static inline double rosenbrock_plain(const double *x) {
    double f = 0.0;
    for (int i = 0; i + 1 < N; i++) {
        double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
    }
    return f;
}

static inline double chain_plain(const double *x) {
    double f = 0.0;
    for (int i = 0; i + 1 < N; i++) {
        double a = x[i], b = x[i + 1], a2 = 1.0 + a * a;
        f += sin(a) * exp(0.01 * b) + log(a2) + sqrt(1.0 + b * b) / a2;
    }
    return f;
}

static inline void rosenbrock_hand_gradient(const double *x, double *g) {
    for (int i = 0; i < N; i++) g[i] = 0.0;
    for (int i = 0; i + 1 < N; i++) {
        double a = x[i + 1] - x[i] * x[i];
        g[i] += -400.0 * x[i] * a - 2.0 * (1.0 - x[i]);
        g[i + 1] += 200.0 * a;
    }
}

static inline void chain_hand_gradient(const double *x, double *g) {
    for (int i = 0; i < N; i++) g[i] = 0.0;
    for (int i = 0; i + 1 < N; i++) {
        double a = x[i], b = x[i + 1], a2 = 1.0 + a * a;
        double e = exp(0.01 * b), sb = sqrt(1.0 + b * b);
        g[i] += cos(a) * e + 2.0 * a / a2 - sb * 2.0 * a / (a2 * a2);
        g[i + 1] += 0.01 * sin(a) * e + b / (sb * a2);
    }
}

#endif
