/* The reaction-diffusion equation of examples/ode_adjoint.c and examples/mpi_sensitivity.c
 * on a periodic grid of D = 64 points,
 *
 *     du_i/dt = kappa*(u_{i+1} - 2u_i + u_{i-1})/dx^2 + r*u_i*(1 - u_i) + q_i,
 *
 * with parameters theta = (kappa, r, q_0..q_63): one explicit RK4 step of dt = 1e-4,
 * recorded through the C API (rk4_taped, for ad_chain_gradient*) and the same operations
 * in the same order on doubles (rk4, and rk4_eval for the chain's forward-only runs),
 * and the loss |u|^2 / 2 (half_norm2_taped). Static functions: each example includes it.
 */
#ifndef REACTION_DIFFUSION_H
#define REACTION_DIFFUSION_H

#include <string.h>

#include "autodiff.h"

#define D 64
#define NP (D + 2)
#define DT 1e-4
#define INV_DX2 ((double)(D * D)) /* 1/dx^2 for dx = 1/64 */

/* ---- the step, taped ---- */

static void rhs_taped(ad_tape *t, const ad_var *u, ad_var kappa, ad_var r, const ad_var *q,
                      ad_var *out) {
    for (int i = 0; i < D; i++) {
        ad_var left = u[(i + D - 1) % D], right = u[(i + 1) % D];
        ad_var lap = ad_scale(t, ad_sub(t, ad_add(t, right, left), ad_scale(t, u[i], 2.0)),
                              INV_DX2);
        ad_var growth = ad_mul(t, ad_mul(t, r, u[i]), ad_sub(t, ad_const(t, 1.0), u[i]));
        out[i] = ad_add(t, ad_add(t, ad_mul(t, kappa, lap), growth), q[i]);
    }
}

static ad_status rk4_taped(ad_tape *t, size_t k, const ad_var *u, const ad_var *p, ad_var *next,
                           void *user_data) {
    ad_var k1[D], k2[D], k3[D], k4[D], stage[D];
    ad_var kappa = p[0], r = p[1];
    const ad_var *q = p + 2;
    (void)k;
    (void)user_data;
    rhs_taped(t, u, kappa, r, q, k1);
    for (int i = 0; i < D; i++) stage[i] = ad_add(t, u[i], ad_scale(t, k1[i], DT / 2.0));
    rhs_taped(t, stage, kappa, r, q, k2);
    for (int i = 0; i < D; i++) stage[i] = ad_add(t, u[i], ad_scale(t, k2[i], DT / 2.0));
    rhs_taped(t, stage, kappa, r, q, k3);
    for (int i = 0; i < D; i++) stage[i] = ad_add(t, u[i], ad_scale(t, k3[i], DT));
    rhs_taped(t, stage, kappa, r, q, k4);
    for (int i = 0; i < D; i++) {
        ad_var sum = ad_add(t, ad_add(t, k1[i], ad_scale(t, ad_add(t, k2[i], k3[i]), 2.0)), k4[i]);
        next[i] = ad_add(t, u[i], ad_scale(t, sum, DT / 6.0));
    }
    return ad_tape_status(t);
}

/* |u|^2 / 2 */
static ad_var half_norm2_taped(ad_tape *t, const ad_var *u, const ad_var *p, void *user_data) {
    (void)p;
    (void)user_data;
    ad_var acc = ad_scale(t, ad_mul(t, u[0], u[0]), 0.5);
    for (int i = 1; i < D; i++) acc = ad_add(t, acc, ad_scale(t, ad_mul(t, u[i], u[i]), 0.5));
    return acc;
}

/* ---- the same in plain C, for finite differences ---- */

static void rhs(const double *u, double kappa, double r, const double *q, double *out) {
    for (int i = 0; i < D; i++) {
        double left = u[(i + D - 1) % D], right = u[(i + 1) % D];
        double lap = (right + left - u[i] * 2.0) * INV_DX2;
        out[i] = kappa * lap + r * u[i] * (1.0 - u[i]) + q[i];
    }
}

static void rk4(double *u, const double *p) {
    double k1[D], k2[D], k3[D], k4[D], stage[D];
    const double *q = p + 2;
    rhs(u, p[0], p[1], q, k1);
    for (int i = 0; i < D; i++) stage[i] = u[i] + k1[i] * (DT / 2.0);
    rhs(stage, p[0], p[1], q, k2);
    for (int i = 0; i < D; i++) stage[i] = u[i] + k2[i] * (DT / 2.0);
    rhs(stage, p[0], p[1], q, k3);
    for (int i = 0; i < D; i++) stage[i] = u[i] + k3[i] * DT;
    rhs(stage, p[0], p[1], q, k4);
    for (int i = 0; i < D; i++) u[i] = u[i] + (k1[i] + (k2[i] + k3[i]) * 2.0 + k4[i]) * (DT / 6.0);
}

/* The step without a tape, for the forward-only runs. */
static ad_status rk4_eval(size_t k, const double *state, const double *params, double *next,
                          void *user_data) {
    (void)k;
    (void)user_data;
    memcpy(next, state, D * sizeof *next);
    rk4(next, params);
    return AD_OK;
}

#endif
