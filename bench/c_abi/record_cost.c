/* The cost of recording through the C ABI against the Rust API, on the workload of the
 * Rust scalar report (core/examples/bench_report.rs): Rosenbrock at n = 1000, recorded
 * op for op as core/benches/support/scalar_workloads.rs records it, so both tapes hold
 * the same 8,993 records. Prints the report's fields (medians, µs per call) in its
 * format, for `make bench-c-abi` to print beside the Rust report of the same run. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "autodiff_inline.h"

#define N 1000
#define WARMUP 50

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The point of scalar_workloads.rs. */
static void point(double *x) {
    for (int i = 0; i < N; i++) x[i] = 0.5 + 0.4 * sin(0.37 * i);
}

/* f = Σ 100·(x[i+1] − x[i]²)² + (1 − x[i])², in the Rust workload's order of ops. */
static ad_var rosenbrock(ad_tape *t, const double *x) {
    ad_var f = ad_const(t, 0.0), xi = ad_input(t, x[0]);
    for (int i = 1; i < N; i++) {
        ad_var xn = ad_input(t, x[i]);
        ad_var a = ad_sub(t, xn, ad_mul(t, xi, xi));
        ad_var b = ad_const_sub(t, 1.0, xi);
        f = ad_add(t, f, ad_add(t, ad_mul(t, ad_scale(t, a, 100.0), a), ad_mul(t, b, b)));
        xi = xn;
    }
    return f;
}

/* The same records through autodiff_inline.h, the inputs first (by ad_inputs()). */
static ad_var rosenbrock_inline(ad_tape *t, const double *x) {
    static ad_var xs[N];
    ad_var f = ad_const(t, 0.0);
    ad_inputs(t, x, N, xs);
    ad_var xi = xs[0];
    for (int i = 1; i < N; i++) {
        ad_var xn = xs[i];
        ad_var a = ad_inline_sub(t, xn, ad_inline_mul(t, xi, xi));
        ad_var b = ad_inline_const_sub(t, 1.0, xi);
        f = ad_inline_add(t, f, ad_inline_add(t, ad_inline_mul(t, ad_inline_scale(t, a, 100.0), a),
                                              ad_inline_mul(t, b, b)));
        xi = xn;
    }
    return f;
}

typedef ad_var (*recorder)(ad_tape *, const double *);

typedef enum { RECORD_GRAD, RECORD, BACKWARD } what;

static double median_us(ad_tape *t, recorder rosenbrock, const double *x, double *g, ad_var f, what w,
                        int samples) {
    double *times = malloc(sizeof *times * (size_t)samples);
    if (!times) exit(1);
    for (int s = -WARMUP; s < samples; s++) {
        double start = now_us();
        if (w != BACKWARD) {
            ad_tape_reset(t);
            f = rosenbrock(t, x);
        }
        if (w != RECORD && ad_gradient(t, f, g, N) != AD_OK) {
            fprintf(stderr, "record_cost: gradient failed: %s\n", ad_tape_error(t));
            exit(1);
        }
        if (s >= 0) times[s] = now_us() - start;
    }
    qsort(times, (size_t)samples, sizeof *times, by_value);
    double median = times[samples / 2];
    free(times);
    return median;
}

int main(int argc, char **argv) {
    int samples = argc > 1 ? atoi(argv[1]) : 2000;
    if (samples < 1) samples = 2000;
    static double x[N], g[N];
    point(x);
    ad_tape *t = NULL;
    if (ad_tape_new((size_t)1 << 24, AD_F64, &t) != AD_OK) return 1;

    static const struct {
        const char *name;
        recorder record;
    } ways[] = {{"c-abi", rosenbrock}, {"c-inline", rosenbrock_inline}};
    for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
        /* The gradient against the closed form, so that what is timed is right. */
        ad_tape_reset(t);
        ad_var f = ways[w].record(t, x);
        if (ad_gradient(t, f, g, N) != AD_OK) return 1;
        double worst = 0.0;
        for (int i = 0; i < N; i++) {
            double want = (i + 1 < N ? -400.0 * x[i] * (x[i + 1] - x[i] * x[i]) - 2.0 * (1.0 - x[i]) : 0.0) +
                          (i > 0 ? 200.0 * (x[i] - x[i - 1] * x[i - 1]) : 0.0);
            worst = fmax(worst, fabs(g[i] - want) / fmax(1.0, fabs(want)));
        }
        if (worst > 1e-12) {
            fprintf(stderr, "record_cost: %s gradient off by %.3g\n", ways[w].name, worst);
            return 1;
        }
        size_t records = 0;
        ad_tape_len(t, &records);

        double record_grad = median_us(t, ways[w].record, x, g, f, RECORD_GRAD, samples);
        double record = median_us(t, ways[w].record, x, g, f, RECORD, samples);
        ad_tape_reset(t);
        f = ways[w].record(t, x);
        double backward = median_us(t, ways[w].record, x, g, f, BACKWARD, samples);
        printf("%s rosenbrock n=%d record_grad_us=%.2f record_us=%.2f backward_us=%.2f records=%zu "
               "ns_per_record=%.3f\n",
               ways[w].name, N, record_grad, record, backward, records, record * 1e3 / (double)records);
    }
    ad_tape_free(t);
    return 0;
}
