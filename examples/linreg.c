/* Linear regression through the C API: Linear(10, 1), a [10, 1] weight and a [1] bias,
 * fitted by SGD (lr 0.01, batch 32) to synthetic data y = x . w* + b* + noise made here
 * from a fixed seed. Prints the loss falling and the recovered weights beside the true
 * ones; exits with status 0 only if every one is within 0.05 of the truth.
 *
 *   linreg [epochs]   (default 30)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "autodiff.h"

#define IN 10
#define SAMPLES 1024
#define BATCH 32
#define TOLERANCE 0.05

static unsigned char mem[1 << 16];
static float xs[SAMPLES][IN], ys[SAMPLES];

static uint64_t rng_state = 0x11e4u;
static uint64_t next_u64(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
static double uniform(void) { return ((double)(next_u64() >> 11) + 0.5) / 9007199254740992.0; }
static double gaussian(void) {
    return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

static int fail(ad_tape *t, const char *what) {
    fprintf(stderr, "linreg: %s: %s\n", what, ad_tape_error(t));
    return 1;
}

int main(int argc, char **argv) {
    static const size_t wdims[2] = {IN, 1}, bdims[1] = {1}, xdims[2] = {BATCH, IN},
                        ydims[2] = {BATCH, 1};
    int epochs = argc > 1 ? atoi(argv[1]) : 30, epoch, i, k, worst_ok = 1;
    float w_true[IN], b_true = 0.7f, w[IN] = {0}, b = 0.0f;
    ad_param pw, pb;
    ad_tape *t;
    size_t step = 0;

    if (epochs <= 0) {
        fprintf(stderr, "usage: linreg [epochs]\n");
        return 2;
    }
    for (k = 0; k < IN; k++) w_true[k] = (float)(2.0 * uniform() - 1.0) * 2.0f;
    for (i = 0; i < SAMPLES; i++) {
        float y = b_true;
        for (k = 0; k < IN; k++) {
            xs[i][k] = (float)gaussian();
            y += xs[i][k] * w_true[k];
        }
        ys[i] = y + 0.1f * (float)gaussian();
    }

    if (ad_tape_init(mem, sizeof mem, AD_F32, &t) != AD_OK) return 1;
    if (ad_param_new_f32(t, wdims, 2, w, IN, &pw) != AD_OK) return fail(t, "weight");
    if (ad_param_new_f32(t, bdims, 1, &b, 1, &pb) != AD_OK) return fail(t, "bias");
    if (ad_optim_sgd(t, 0.01, 0.0, 0.0) != AD_OK) return fail(t, "optimizer");

    printf("linreg: Linear(%d, 1), %d samples, batch %d, SGD lr 0.01\n", IN, SAMPLES, BATCH);
    for (epoch = 1; epoch <= epochs; epoch++) {
        double total = 0.0;
        for (i = 0; i + BATCH <= SAMPLES; i += BATCH, step++) {
            ad_tensor x, y, pred, loss;
            float value;
            if (ad_tape_reset(t) != AD_OK) return fail(t, "reset");
            x = ad_tensor_const_f32(t, xdims, 2, &xs[i][0], BATCH * IN);
            y = ad_tensor_const_f32(t, ydims, 2, &ys[i], BATCH);
            pred = ad_linear(t, x, ad_param_use(t, pw), ad_param_use(t, pb), AD_ACT_IDENTITY);
            loss = ad_mse(t, pred, y);
            if (ad_backward(t, ad_tensor_as_var(t, loss)) != AD_OK) return fail(t, "backward");
            if (ad_tensor_value_f32(t, loss, &value, 1) != AD_OK) return fail(t, "loss");
            total += value;
            if (ad_optim_step(t) != AD_OK) return fail(t, "step");
        }
        if (epoch == 1 || epoch % 5 == 0 || epoch == epochs)
            printf("  epoch %2d  mean batch loss %.6f\n", epoch, total / (SAMPLES / BATCH));
    }

    if (ad_param_read_f32(t, pw, w, IN) != AD_OK || ad_param_read_f32(t, pb, &b, 1) != AD_OK)
        return fail(t, "read");
    printf("   true    learned\n");
    for (k = 0; k < IN; k++) {
        printf("w%-2d %7.4f %8.4f\n", k, w_true[k], w[k]);
        worst_ok &= fabs(w[k] - w_true[k]) <= TOLERANCE;
    }
    printf("b   %7.4f %8.4f\n", b_true, b);
    worst_ok &= fabs(b - b_true) <= TOLERANCE;
    ad_tape_done(t);
    if (!worst_ok) {
        fprintf(stderr, "linreg: weights not recovered within %.2f after %zu steps\n", TOLERANCE,
                step);
        return 1;
    }
    printf("linreg: recovered every weight within %.2f after %zu steps\n", TOLERANCE, step);
    return 0;
}
