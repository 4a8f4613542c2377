/* A tensor-valued user-defined op in a training loop: a softmax classifier whose
 * softmax is the host's own code with a hand-written VJP (and JVP), put on the tape
 * with ad_tensor_user_op_f64().
 *
 * The model is p = softmax(x W + b) over BATCH rows of FEATURES inputs and CLASSES
 * classes, the loss -mean(log p[label]); the data are three Gaussian blobs. The op's
 * forward computes each row's softmax stably; its vjp, given pbar, returns
 * zbar = p * (pbar - sum(p * pbar)) row by row (and its jvp the same map forward: the
 * Jacobian is symmetric). Before training, the gradient of the loss is checked against
 * the library's fused ad_cross_entropy (1e-12) and against central differences (1e-6),
 * and forward mode against reverse; then 200 SGD steps must bring the loss below 0.1.
 * The program exits with status 1 when a check fails.
 *
 * make test builds and runs it; by hand:
 *     cc -O2 examples/softmax_op.c $(pkg-config --cflags --libs autodiff) -lm -o softmax_op
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "autodiff.h"

#define BATCH 48
#define FEATURES 4
#define CLASSES 3

static unsigned char mem[1 << 18], mem_ref[1 << 18];
static double batch_x[BATCH * FEATURES], onehot[BATCH * CLASSES];
static uint32_t labels[BATCH];
static double w_init[FEATURES * CLASSES], b_init[CLASSES];

/* ---- the op: softmax along the last axis ---- */

static int softmax_forward(void *user_data, const ad_user_tensor_f64 *in, size_t n_in,
                           const ad_user_tensor_f64 *out, size_t n_out, double *state,
                           size_t state_len) {
    size_t cols = in[0].dims[in[0].rank - 1], r, c;
    (void)user_data, (void)n_in, (void)n_out, (void)state, (void)state_len;
    for (r = 0; r < in[0].len / cols; r++) {
        const double *z = in[0].data + r * cols;
        double *p = out[0].data + r * cols, max = z[0], total = 0;
        for (c = 1; c < cols; c++) max = z[c] > max ? z[c] : max;
        for (c = 0; c < cols; c++) total += p[c] = exp(z[c] - max);
        for (c = 0; c < cols; c++) p[c] /= total;
    }
    return 0;
}

/* d = p * (s - sum(p * s)) row by row: the VJP with s = pbar, the JVP with s = zdot. */
static void softmax_derivative(const ad_user_tensor_f64 *p, const ad_user_tensor_f64 *s,
                               const ad_user_tensor_f64 *d) {
    size_t cols = p->dims[p->rank - 1], r, c;
    for (r = 0; r < p->len / cols; r++) {
        const double *pr = p->data + r * cols, *sr = s->data + r * cols;
        double *dr = d->data + r * cols, dot = 0;
        for (c = 0; c < cols; c++) dot += pr[c] * sr[c];
        for (c = 0; c < cols; c++) dr[c] = pr[c] * (sr[c] - dot);
    }
}

static int softmax_vjp(void *user_data, const ad_user_tensor_f64 *in, size_t n_in,
                       const ad_user_tensor_f64 *out, size_t n_out, const double *state,
                       size_t state_len, const ad_user_tensor_f64 *out_grads,
                       const ad_user_tensor_f64 *in_grads) {
    (void)user_data, (void)in, (void)n_in, (void)n_out, (void)state, (void)state_len;
    softmax_derivative(&out[0], &out_grads[0], &in_grads[0]);
    return 0;
}

static int softmax_jvp(void *user_data, const ad_user_tensor_f64 *in, size_t n_in,
                       const ad_user_tensor_f64 *out, size_t n_out, const double *state,
                       size_t state_len, const ad_user_tensor_f64 *in_tangents,
                       const ad_user_tensor_f64 *out_tangents) {
    (void)user_data, (void)in, (void)n_in, (void)n_out, (void)state, (void)state_len;
    softmax_derivative(&out[0], &in_tangents[0], &out_tangents[0]);
    return 0;
}

static const ad_tensor_user_op_def_f64 softmax_op = {softmax_forward, softmax_vjp,
                                                     softmax_jvp, NULL, 0};

/* ---- the model ---- */

/* The loss of one batch: -mean(log softmax(x W + b)[label]), through the user op, or
 * through the library's fused cross-entropy when `fused`. */
static ad_tensor record_loss(ad_tape *t, ad_tensor w, ad_tensor b, int fused) {
    const size_t x_dims[2] = {BATCH, FEATURES}, z_dims[2] = {BATCH, CLASSES}, ranks[1] = {2};
    ad_tensor x = ad_tensor_const_f64(t, x_dims, 2, batch_x, BATCH * FEATURES);
    ad_tensor z = ad_linear(t, x, w, b, AD_ACT_IDENTITY), p;
    if (fused) return ad_cross_entropy(t, z, labels, BATCH);
    if (ad_tensor_user_op_f64(t, &softmax_op, &z, 1, z_dims, ranks, &p, 1) != AD_OK) return p;
    ad_tensor picked = ad_tensor_mul(t, ad_tensor_activation(t, p, AD_ACT_LOG),
                                     ad_tensor_const_f64(t, z_dims, 2, onehot, BATCH * CLASSES));
    return ad_tensor_scale(t, ad_tensor_sum(t, picked), -1.0 / BATCH);
}

/* The loss at W = w, b = b_init on a fresh tape over `m`, and its gradient in W. */
static double loss_at(unsigned char *m, size_t len, const double *w, double *grad, int fused) {
    const size_t w_dims[2] = {FEATURES, CLASSES}, b_dims[1] = {CLASSES};
    double value = NAN;
    ad_tape *t;
    if (ad_tape_init(m, len, AD_F64, &t) != AD_OK) return NAN;
    ad_tensor wt = ad_tensor_input_f64(t, w_dims, 2, w, FEATURES * CLASSES);
    ad_tensor bt = ad_tensor_input_f64(t, b_dims, 1, b_init, CLASSES);
    ad_tensor loss = record_loss(t, wt, bt, fused);
    if (grad && ad_backward(t, ad_tensor_as_var(t, loss)) == AD_OK)
        ad_tensor_grad_f64(t, wt, grad, FEATURES * CLASSES);
    ad_tensor_value_f64(t, loss, &value, 1);
    if (ad_tape_status(t) != AD_OK) fprintf(stderr, "%s\n", ad_tape_error(t));
    ad_tape_done(t);
    return value;
}

/* A fixed pseudo-random number in [-1, 1). */
static double noise(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (double)(*state >> 8) / (double)(1u << 23) - 1.0;
}

static int check(const char *what, double got, double want, double tol) {
    if (fabs(got - want) <= tol * (1.0 + fabs(want))) return 1;
    fprintf(stderr, "%s: got %.17g, want %.17g\n", what, got, want);
    return 0;
}

/* The gradient against ad_cross_entropy and central differences; forward mode against
 * reverse. */
static int derivatives_check(void) {
    const size_t w_dims[2] = {FEATURES, CLASSES}, b_dims[1] = {CLASSES};
    double grad[FEATURES * CLASSES], fused[FEATURES * CLASSES], seed[FEATURES * CLASSES];
    double tangent = 0, directional = 0;
    int ok = 1, i;
    ad_tape *t;
    loss_at(mem, sizeof mem, w_init, grad, 0);
    loss_at(mem_ref, sizeof mem_ref, w_init, fused, 1);
    for (i = 0; i < FEATURES * CLASSES; i++) {
        double w[FEATURES * CLASSES], h = 1e-6, up, down;
        int j;
        for (j = 0; j < FEATURES * CLASSES; j++) w[j] = w_init[j];
        w[i] += h;
        up = loss_at(mem_ref, sizeof mem_ref, w, NULL, 0);
        w[i] -= 2 * h;
        down = loss_at(mem_ref, sizeof mem_ref, w, NULL, 0);
        ok &= check("gradient vs ad_cross_entropy", grad[i], fused[i], 1e-12);
        ok &= check("gradient vs central difference", grad[i], (up - down) / (2 * h), 1e-6);
        seed[i] = 0.1 * (i % 5) - 0.2;
        directional += grad[i] * seed[i];
    }
    if (ad_tape_init(mem, sizeof mem, AD_F64, &t) != AD_OK) return 0;
    ad_tensor wt = ad_tensor_input_f64(t, w_dims, 2, w_init, FEATURES * CLASSES);
    ad_tensor bt = ad_tensor_input_f64(t, b_dims, 1, b_init, CLASSES);
    ad_tensor loss = record_loss(t, wt, bt, 0);
    ok &= ad_tensor_seed_tangent_f64(t, wt, seed, FEATURES * CLASSES) == AD_OK;
    ok &= ad_jvp(t, NULL, 0) == AD_OK;
    ok &= ad_tensor_tangent_f64(t, loss, &tangent, 1) == AD_OK;
    ok &= check("forward mode vs reverse", tangent, directional, 1e-12);
    ad_tape_done(t);
    return ok;
}

int main(void) {
    const size_t w_dims[2] = {FEATURES, CLASSES}, b_dims[1] = {CLASSES};
    uint32_t seed = 7;
    double loss_value = NAN;
    ad_param w, b;
    ad_tape *t;
    int i, f, step;
    for (i = 0; i < FEATURES * CLASSES; i++) w_init[i] = 0.3 * noise(&seed);
    for (i = 0; i < BATCH; i++) { /* class c: feature c is large */
        labels[i] = (uint32_t)(i % CLASSES);
        for (f = 0; f < CLASSES; f++) onehot[i * CLASSES + f] = f == i % CLASSES ? 1.0 : 0.0;
        for (f = 0; f < FEATURES; f++) batch_x[i * FEATURES + f] = 0.3 * noise(&seed);
        batch_x[i * FEATURES + i % CLASSES] += 1.5;
    }
    if (!derivatives_check()) return 1;

    if (ad_tape_init(mem, sizeof mem, AD_F64, &t) != AD_OK) return 1;
    ad_param_new_f64(t, w_dims, 2, w_init, FEATURES * CLASSES, &w);
    ad_param_new_f64(t, b_dims, 1, b_init, CLASSES, &b);
    ad_optim_sgd(t, 0.5, 0.9, 0.0);
    for (step = 0; step < 200; step++) {
        ad_tape_reset(t);
        ad_tensor loss = record_loss(t, ad_param_use(t, w), ad_param_use(t, b), 0);
        if (ad_backward(t, ad_tensor_as_var(t, loss)) != AD_OK) {
            fprintf(stderr, "%s\n", ad_tape_error(t));
            return 1;
        }
        ad_tensor_value_f64(t, loss, &loss_value, 1);
        if (ad_optim_step(t) != AD_OK) return 1;
    }
    printf("softmax user op: derivatives agree; loss after 200 SGD steps: %g\n", loss_value);
    ad_tape_done(t);
    return loss_value < 0.1 ? 0 : 1;
}
