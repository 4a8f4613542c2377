/* The MLP training step of bench/python/bench.py, in C: the reference the Python step is
 * compared with. 100 inputs, 10 fused linear layers of width 100 with ReLU, 100 -> 10,
 * softmax cross-entropy, plain SGD (lr 0.01), f32, one fixed batch. Each step resets the
 * tape, records the batch and the network, runs backward and updates the parameters.
 *
 *   mlp_step batch steps warmup
 *
 * Prints `c mlp batch=B median_us=T` and the loss before and after, like the Python
 * side, whose inputs (weights and batch) it reads from the same seeded generator. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "autodiff.h"

#define DIM 100
#define WIDTH 100
#define CLASSES 10
#define HIDDEN 10
#define LAYERS (HIDDEN + 1)
#define MAX_BATCH 4096

static unsigned char mem[64 << 20];
static float init[WIDTH * WIDTH], batch_x[MAX_BATCH * DIM];
static uint32_t batch_y[MAX_BATCH];
static ad_param weight[LAYERS], bias[LAYERS];

/* A 32-bit linear congruential stream that bench.py reproduces exactly. */
static uint32_t lcg = 12345u;
static float next_uniform(void) { /* in [-1, 1) */
    lcg = lcg * 1664525u + 1013904223u;
    return (float)(lcg >> 8) / 8388608.0f - 1.0f;
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static ad_tensor step(ad_tape *t, size_t batch) {
    const size_t dims[2] = {batch, DIM};
    ad_tensor h, loss;
    int l;
    ad_tape_reset(t);
    h = ad_tensor_const_f32(t, dims, 2, batch_x, batch * DIM);
    for (l = 0; l < LAYERS; l++)
        h = ad_linear(t, h, ad_param_use(t, weight[l]), ad_param_use(t, bias[l]),
                      l < HIDDEN ? AD_ACT_RELU : AD_ACT_IDENTITY);
    loss = ad_cross_entropy(t, h, batch_y, batch);
    ad_backward(t, ad_tensor_as_var(t, loss));
    ad_optim_step(t);
    return loss;
}

int main(int argc, char **argv) {
    size_t batch = argc > 1 ? (size_t)atol(argv[1]) : 64, i, n;
    int steps = argc > 2 ? atoi(argv[2]) : 300, warmup = argc > 3 ? atoi(argv[3]) : 50, s, l;
    double *times;
    float first, last;
    ad_tape *t;
    if (batch == 0 || batch > MAX_BATCH || steps <= 0) return 2;
    if (ad_tape_init(mem, sizeof mem, AD_F32, &t) != AD_OK) return 1;
    for (l = 0; l < LAYERS; l++) {
        const size_t out = l < HIDDEN ? WIDTH : CLASSES, in = l == 0 ? DIM : WIDTH;
        const size_t wdims[2] = {in, out}, bdims[1] = {out};
        for (i = 0; i < in * out; i++) init[i] = next_uniform() * 0.1f;
        if (ad_param_new_f32(t, wdims, 2, init, in * out, &weight[l]) != AD_OK) return 1;
        for (i = 0; i < out; i++) init[i] = 0.0f;
        if (ad_param_new_f32(t, bdims, 1, init, out, &bias[l]) != AD_OK) return 1;
    }
    if (ad_optim_sgd(t, 0.01, 0.0, 0.0) != AD_OK) return 1;
    for (i = 0; i < batch * DIM; i++) batch_x[i] = next_uniform();
    for (i = 0; i < batch; i++) batch_y[i] = (uint32_t)(i % CLASSES);

    if (ad_tensor_value_f32(t, step(t, batch), &first, 1) != AD_OK) {
        fprintf(stderr, "mlp_step: %s\n", ad_tape_error(t));
        return 1;
    }
    for (s = 0; s < warmup; s++) step(t, batch);
    times = malloc(sizeof(double) * (size_t)steps);
    if (!times) return 1;
    for (s = 0; s < steps; s++) {
        double t0 = seconds();
        step(t, batch);
        times[s] = (seconds() - t0) * 1e6;
    }
    n = (size_t)steps;
    qsort(times, n, sizeof(double), cmp);
    if (ad_tensor_value_f32(t, step(t, batch), &last, 1) != AD_OK) return 1;
    printf("# c batch=%zu loss first=%.6f after %d steps=%.6f\n", batch, first, warmup + steps + 2, last);
    printf("c mlp batch=%zu median_us=%.1f\n", batch, times[n / 2]);
    free(times);
    ad_tape_done(t);
    return 0;
}
