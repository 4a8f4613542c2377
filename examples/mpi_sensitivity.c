/* An ensemble of checkpointed ODE adjoints over MPI: the sensitivity of an ensemble's
 * total loss to shared parameters.
 *
 * Each member integrates the reaction-diffusion equation of examples/ode_adjoint.c
 * (examples/reaction_diffusion.h) from its own initial state, with the same parameters
 * theta = (kappa, r, q_0..q_63), for STEPS RK4 steps, and takes L_m = |u_m(T)|^2 / 2. Its
 * gradient dL_m/dtheta comes from ad_chain_gradient_eval() with a few snapshots (the
 * binomial checkpointing schedule), in a static arena of its own. Rank r computes the
 * members m = r, r + P, r + 2P, ...; MPI_Allreduce sums the gradients, so every rank ends
 * with d(sum_m L_m)/dtheta.
 *
 *   mpirun -np P mpi_sensitivity [--members E] [--check] [--bad-rank R]
 *
 * --check: rank 0 also computes every member in this one process and sums them in
 * member order, and fails unless the reduced gradient equals that sum to 1e-12 relative
 * (only the order of the additions differs), and checks d/dkappa and d/dr of the total
 * against central finite differences of a plain integration. --bad-rank R gives rank R's
 * members a NaN diffusion coefficient: its chain gradient fails with a status, which the
 * rank prints before MPI_Abort ends the job.
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "reaction_diffusion.h"

#define STEPS 2000
#define SNAPSHOTS 8
#define MAX_MEMBERS 64

static unsigned char mem[1 << 20];

/* Member m's initial state: a shifted, rescaled profile. */
static void initial_state(int m, double *u0) {
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < D; i++) {
        double x = (double)i / D + 0.125 * m;
        u0[i] = 0.2 + 0.15 * sin(2.0 * pi * x) + 0.05 * (1.0 + 0.1 * m) * cos(6.0 * pi * x);
    }
}

static void parameters(double *p) {
    p[0] = 0.005;
    p[1] = 0.3;
    for (int i = 0; i < D; i++) p[2 + i] = 0.01 * (i % 5);
}

/* dL_m/dtheta into grad, and L_m; the chain's status. */
static ad_status member_gradient(int m, const double *params, double *grad, double *loss) {
    double u0[D], grad_u0[D];
    ad_chain_report report;
    ad_status status;
    initial_state(m, u0);
    status = ad_chain_gradient_eval(mem, sizeof mem, AD_F64, STEPS, SNAPSHOTS, u0, D, params, NP,
                                    rk4_taped, rk4_eval, half_norm2_taped, NULL, grad_u0, grad,
                                    &report);
    *loss = report.loss;
    return status;
}

/* The ensemble's total loss by plain integration, for finite differences. */
static double total_loss_plain(int members, const double *p) {
    double total = 0.0;
    for (int m = 0; m < members; m++) {
        double u[D], acc = 0.0;
        initial_state(m, u);
        for (int k = 0; k < STEPS; k++) rk4(u, p);
        for (int i = 0; i < D; i++) acc += u[i] * u[i] * 0.5;
        total += acc;
    }
    return total;
}

/* Rank 0's checks of the reduced gradient: 0 when they pass. */
static int check(int members, double *params, const double *reduced) {
    double serial[NP] = {0}, grad[NP], loss, worst = 0.0;
    for (int m = 0; m < members; m++) {
        if (member_gradient(m, params, grad, &loss) != AD_OK) return 1;
        for (int k = 0; k < NP; k++) serial[k] += grad[k];
    }
    for (int k = 0; k < NP; k++) {
        double scale = fmax(fabs(serial[k]), 1e-300);
        double err = fabs(reduced[k] - serial[k]) / scale;
        if (!(err <= worst)) worst = err;
    }
    printf("mpi_sensitivity: reduced against one process: largest relative difference %.3g "
           "(tolerance 1e-12)\n",
           worst);
    if (!(worst <= 1e-12)) return 1;
    for (int k = 0; k < 2; k++) {
        double saved = params[k], h = 1e-5 * fabs(saved), plus, minus, fd, err;
        params[k] = saved + h;
        plus = total_loss_plain(members, params);
        params[k] = saved - h;
        minus = total_loss_plain(members, params);
        params[k] = saved;
        fd = (plus - minus) / (2.0 * h);
        err = fabs(fd - reduced[k]) / fmax(fabs(fd), 1e-12);
        printf("mpi_sensitivity: d/d%s: adjoint %.12e, finite differences %.12e (rel. %.2e)\n",
               k == 0 ? "kappa" : "r", reduced[k], fd, err);
        if (!(err <= 1e-6)) return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int rank, ranks, members = 4, do_check = 0, bad_rank = -1, status = 0;
    double params[NP], grad[NP], local[NP] = {0}, total[NP], loss, local_loss = 0.0, total_loss;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--members") == 0 && i + 1 < argc)
            members = atoi(argv[++i]);
        else if (strcmp(argv[i], "--check") == 0)
            do_check = 1;
        else if (strcmp(argv[i], "--bad-rank") == 0 && i + 1 < argc)
            bad_rank = atoi(argv[++i]);
        else
            members = 0;
    }
    if (members < 1 || members > MAX_MEMBERS) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np P mpi_sensitivity [--members 1..%d] [--check] "
                            "[--bad-rank R]\n",
                    MAX_MEMBERS);
        MPI_Finalize();
        return 2;
    }
    parameters(params);
    if (rank == bad_rank) params[0] = NAN;
    for (int m = rank; m < members; m += ranks) {
        ad_status st = member_gradient(m, params, grad, &loss);
        if (st != AD_OK) {
            fprintf(stderr, "mpi_sensitivity: rank %d, member %d: ad_chain_gradient_eval: %s; "
                            "aborting the job\n",
                    rank, m, ad_status_str(st));
            MPI_Abort(MPI_COMM_WORLD, 3);
        }
        for (int k = 0; k < NP; k++) local[k] += grad[k];
        local_loss += loss;
    }
    MPI_Allreduce(local, total, NP, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&local_loss, &total_loss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("mpi_sensitivity: %d members on %d ranks, %d RK4 steps each, %d snapshots\n",
               members, ranks, STEPS, SNAPSHOTS);
        printf("total loss %.12f; d/dkappa %.12e, d/dr %.12e, d/dq_5 %.12e\n", total_loss,
               total[0], total[1], total[2 + 5]);
        if (do_check) status = check(members, params, total);
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
