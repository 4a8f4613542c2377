/* Generated gradient against the plain function, a hand-written gradient and replay on
 * the tape (ad_replay + ad_gradient through libautodiff), for Rosenbrock and the chain at
 * n = 1000, in one run on one core. Prints medians (µs per call) and ratios to the plain
 * function, after checking that every gradient agrees.
 *
 * Built by `make codegen-bench` with -O2, hosted (so <math.h> builtins such as sqrt stay
 * inline), and linked with the files gen.c wrote, compiled on their own with
 * $(GEN_CFLAGS). */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "workloads.h"

/* What gen.c generated (see ad_tape_generate_c()). */
void rosenbrock_gen(const double *x, double *y);
void rosenbrock_gen_vjp(const double *x, const double *y_bar, double *y, double *x_bar);
void chain_gen(const double *x, double *y);
void chain_gen_vjp(const double *x, const double *y_bar, double *y, double *x_bar);

#define SAMPLES 201
static unsigned char mem_r[1 << 20], mem_c[1 << 20];
static volatile double sink;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What is timed: one call of each kind on one workload. */
typedef struct {
    const char *name;
    double (*plain)(const double *);
    void (*hand)(const double *, double *);
    void (*generated)(const double *, double *);
    void (*generated_vjp)(const double *, const double *, double *, double *);
    ad_tape *tape;
    ad_var f;
} workload;

enum { PLAIN, GENERATED_VALUE, HAND, GENERATED_VJP, TAPE, KINDS };
static const char *const kind_names[KINDS] = {"plain f", "generated f", "hand-written gradient",
                                              "generated gradient (vjp)", "tape: replay + gradient"};

static void run(const workload *w, int kind, const double *x, double *g) {
    static const double one = 1.0;
    double y;
    switch (kind) {
    case PLAIN: sink = w->plain(x); break;
    case GENERATED_VALUE: w->generated(x, &y); sink = y; break;
    case HAND: w->hand(x, g); sink = g[0]; break;
    case GENERATED_VJP: w->generated_vjp(x, &one, &y, g); sink = g[0]; break;
    case TAPE:
        if (ad_replay(w->tape, x, N) != AD_OK || ad_gradient(w->tape, w->f, g, N) != AD_OK) exit(1);
        sink = g[0];
        break;
    }
}

/* Median over SAMPLES of the mean of a batch long enough to take about 200 µs; the kinds
 * interleave sample by sample, so drifts of a shared machine hit all alike. */
static void measure(const workload *w, const double *x) {
    static double times[KINDS][SAMPLES];
    double g[N];
    int reps[KINDS];
    for (int k = 0; k < KINDS; k++) {
        double t0 = now_us();
        run(w, k, x, g);
        double once = now_us() - t0;
        reps[k] = once > 200 ? 1 : (int)(200 / (once + 1e-3)) + 1;
    }
    for (int s = 0; s < SAMPLES; s++) {
        for (int k = 0; k < KINDS; k++) {
            double t0 = now_us();
            for (int r = 0; r < reps[k]; r++) run(w, k, x, g);
            times[k][s] = (now_us() - t0) / reps[k];
        }
    }
    double plain = 0;
    printf("| %s, n = %d | ", w->name, N);
    for (int k = 0; k < KINDS; k++) {
        qsort(times[k], SAMPLES, sizeof times[k][0], by_value);
        double median = times[k][SAMPLES / 2];
        if (k == PLAIN) plain = median;
        printf("%.2f (%.2f×) | ", median, median / plain);
    }
    printf("\n");
}

/* The generated gradient must equal the tape's bit for bit on Rosenbrock (only + − ×)
 * and within rounding on the chain; the hand-written one within rounding. */
static int check(const workload *w, const double *x, int bitwise) {
    double g_gen[N], g_tape[N], g_hand[N], y, one = 1.0, worst = 0, scale = 0;
    w->generated_vjp(x, &one, &y, g_gen);
    run(w, TAPE, x, g_tape);
    w->hand(x, g_hand);
    for (int i = 0; i < N; i++) {
        double d = fabs(g_gen[i] - g_tape[i]), h = fabs(g_hand[i] - g_tape[i]);
        if (bitwise && g_gen[i] != g_tape[i]) return 0;
        worst = d > worst ? d : worst;
        worst = h > worst ? h : worst;
        scale = fabs(g_tape[i]) > scale ? fabs(g_tape[i]) : scale;
    }
    fprintf(stderr, "%s: generated and hand-written gradients within %.2e of the tape's (max |g| %.3g)%s\n",
            w->name, worst, scale, bitwise ? ", generated bit for bit" : "");
    return worst <= 1e-12 * (1 + scale);
}

int main(void) {
    double x[N], at[N];
    workload ws[2] = {
        {"rosenbrock", rosenbrock_plain, rosenbrock_hand_gradient, rosenbrock_gen, rosenbrock_gen_vjp, NULL, {0, 0, 0, 0}},
        {"chain", chain_plain, chain_hand_gradient, chain_gen, chain_gen_vjp, NULL, {0, 0, 0, 0}},
    };
    point(x);
    other_point(at);
    if (ad_tape_init(mem_r, sizeof mem_r, AD_F64, &ws[0].tape) != AD_OK ||
        ad_tape_init(mem_c, sizeof mem_c, AD_F64, &ws[1].tape) != AD_OK)
        return 1;
    ws[0].f = rosenbrock_taped(ws[0].tape, x);
    ws[1].f = chain_taped(ws[1].tape, x);
    if (!check(&ws[0], at, 1) || !check(&ws[1], at, 0)) {
        fprintf(stderr, "codegen-bench: the gradients disagree\n");
        return 1;
    }
    printf("| workload | ");
    for (int k = 0; k < KINDS; k++) printf("%s | ", kind_names[k]);
    printf("\n|---|---|---|---|---|---|\n");
    for (int i = 0; i < 2; i++) measure(&ws[i], at);
    return 0;
}
