/* The adjoint of a long explicit ODE integration in a fixed, small arena, from C: the
 * twin of core/examples/ode_adjoint.rs.
 *
 * A reaction-diffusion (heat) equation on a periodic grid of 64 points,
 *
 *     du_i/dt = kappa*(u_{i+1} - 2u_i + u_{i-1})/dx^2 + r*u_i*(1 - u_i) + q_i,
 *
 * is stiff enough that explicit RK4 needs a small time step: n = 100,000 steps of
 * dt = 1e-4 reach t = 10. The loss is |u(10)|^2 / 2; its gradient with respect to the
 * initial state u(0) (64 values) and the parameters theta = (kappa, r, q_0..q_63) (66
 * values) comes from ad_chain_gradient_eval() with 32 snapshots in a 1 MiB static
 * arena. Recording the whole chain on one tape instead would take gigabytes.
 *
 * The step is written twice (examples/reaction_diffusion.h): rk4_taped() records one RK4
 * step through the C API, and rk4() computes the same operations in the same order on
 * doubles. The schedule's
 * forward-only runs (more than four times n here) call rk4() and skip the tape; the
 * n steps that are reversed are recorded. Set ONLY_TAPE to 1 to record the
 * forward-only runs too (ad_chain_gradient()): the same figures, several times slower.
 *
 * The gradient is checked against central finite differences of a plain C integration
 * on a few components; the program exits with status 1 when one disagrees by more
 * than 1e-6 relative. (The difference step is h = 1e-5*max(|c|, 0.1) for a component
 * c. Central differences err by O(h^2)*|L'''|, below 1e-9 relative here, plus the
 * rounding of two 100,000-step runs divided by 2h, about 1e-8 relative. A wrong
 * derivative rule or a mis-ordered reversal would be off by far more than 1e-6.)
 *
 * make test builds and runs it; by hand:
 *     cc -O2 examples/ode_adjoint.c $(pkg-config --cflags --libs autodiff) -o ode_adjoint
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "autodiff.h"
#include "reaction_diffusion.h"

#define STEPS 100000
#define SNAPSHOTS 32
#ifndef ONLY_TAPE
#define ONLY_TAPE 0
#endif

/* The arena: snapshots, buffers and one step's tape, whatever the number of steps. */
static unsigned char mem[1 << 20];

static double loss_plain(const double *u0, const double *p) {
    double u[D];
    memcpy(u, u0, sizeof u);
    for (long k = 0; k < STEPS; k++) rk4(u, p);
    double acc = u[0] * u[0] * 0.5;
    for (int i = 1; i < D; i++) acc = acc + u[i] * u[i] * 0.5;
    return acc;
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double worst;

static void check(const char *name, double adjoint, double *value, double at, const double *u0,
                  const double *p) {
    double h = 1e-5 * (fabs(at) > 0.1 ? fabs(at) : 0.1);
    double saved = *value;
    *value = saved + h;
    double plus = loss_plain(u0, p);
    *value = saved - h;
    double minus = loss_plain(u0, p);
    *value = saved;
    double fd = (plus - minus) / (2.0 * h);
    double scale = fabs(fd) > fabs(adjoint) ? fabs(fd) : fabs(adjoint);
    double err = fabs(adjoint - fd) / (scale > 1e-12 ? scale : 1e-12);
    if (err > worst || err != err) worst = err != err ? INFINITY : err;
    printf("%-12s %22.12e %22.12e %10.2e\n", name, adjoint, fd, err);
}

int main(void) {
    const double pi = 3.14159265358979323846;
    double u0[D], params[NP], grad_u0[D], grad_params[NP];
    for (int i = 0; i < D; i++) {
        double x = (double)i / D;
        u0[i] = 0.2 + 0.15 * sin(2.0 * pi * x) + 0.05 * cos(6.0 * pi * x);
    }
    params[0] = 0.005;
    params[1] = 0.3;
    for (int i = 0; i < D; i++) params[2 + i] = 0.01 * (i % 5);

    /* What one recorded step and the loss take, on a tape in the same arena. */
    size_t records = 0, step_bytes = 0, workspace = 0;
    {
        ad_tape *t;
        ad_var u[D], p[NP], next[D];
        if (ad_tape_init(mem, sizeof mem, AD_F64, &t) != AD_OK) return 1;
        for (int i = 0; i < D; i++) u[i] = ad_input(t, u0[i]);
        for (int i = 0; i < NP; i++) p[i] = ad_input(t, params[i]);
        rk4_taped(t, 0, u, p, next, NULL);
        half_norm2_taped(t, next, p, NULL);
        if (ad_tape_status(t) != AD_OK || ad_tape_len(t, &records) != AD_OK ||
            ad_tape_bytes_used(t, &step_bytes) != AD_OK) {
            fprintf(stderr, "ode_adjoint: %s\n", ad_tape_error(t));
            return 1;
        }
        ad_tape_done(t);
    }
    if (ad_chain_workspace_bytes(AD_F64, D, NP, SNAPSHOTS, &workspace) != AD_OK) return 1;

    ad_chain_report report;
    double start = seconds();
    ad_status st = ad_chain_gradient_eval(mem, sizeof mem, AD_F64, STEPS, SNAPSHOTS, u0, D, params,
                                          NP, rk4_taped, ONLY_TAPE ? NULL : rk4_eval,
                                          half_norm2_taped, NULL, grad_u0, grad_params, &report);
    double elapsed = seconds() - start;
    if (st != AD_OK) {
        fprintf(stderr, "ode_adjoint: ad_chain_gradient_eval: %s\n", ad_status_str(st));
        return 1;
    }
    printf("reaction-diffusion, %d points, RK4, n = %d steps of dt = %g (C API)\n", D, STEPS, DT);
    printf("loss |u(T)|^2/2 = %.12f\n", report.loss);
    printf("arena %zu KiB, peak %zu B (%zu KiB): %d snapshots (%zu B of workspace) + one step's "
           "tape (%zu records, %zu B)\n",
           sizeof mem / 1024, report.peak_bytes, report.peak_bytes / 1024, SNAPSHOTS, workspace,
           records, step_bytes);
    printf("store-everything tape would need ~%.1f GB\n", (double)step_bytes * STEPS / 1e9);
    printf("forward-only steps %zu (%.2fx n), recorded steps %zu: recomputation ratio "
           "(n + advances)/n = %.2f, time %.2f s\n",
           report.advances, (double)report.advances / STEPS, report.recorded,
           (double)(report.recorded + report.advances) / STEPS, elapsed);

    const double tolerance = 1e-6;
    printf("%-12s %22s %22s %10s\n", "component", "adjoint", "finite diff.", "rel. err");
    int points[] = {0, 17, 40};
    for (int j = 0; j < 3; j++) {
        char name[16];
        int i = points[j];
        snprintf(name, sizeof name, "u0[%d]", i);
        check(name, grad_u0[i], &u0[i], u0[i], u0, params);
    }
    check("kappa", grad_params[0], &params[0], params[0], u0, params);
    check("r", grad_params[1], &params[1], params[1], u0, params);
    check("q[5]", grad_params[2 + 5], &params[2 + 5], params[2 + 5], u0, params);
    if (!(worst <= tolerance)) {
        fprintf(stderr,
                "ode_adjoint: adjoint and finite differences disagree (worst %.2e > %.0e)\n",
                worst, tolerance);
        return 1;
    }
    printf("adjoint matches finite differences (worst relative error %.2e <= %.0e)\n", worst,
           tolerance);
    return 0;
}
