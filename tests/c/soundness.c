/* Call sequences that once corrupted the caller's memory or returned a wrong answer as
 * success, each written as a host would write it. Run plainly, under ASan+UBSan and
 * under valgrind (see the Makefile). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static unsigned char mem[1 << 16];

/* Seeds converted for an AD_F32 tape once went through scratch that the tangent sweep's
 * buffers also landed in: the next tensor overwrote them, and a second ad_jvp crashed. */
static void f32_jvp_twice_with_a_tensor_between(void) {
    ad_tape *t;
    size_t n = 256, eight = 8;
    float ones[256], sevens[8], read[8] = {0}, tangent[256] = {0};
    double loss_tangent = 0;
    int i;
    for (i = 0; i < 256; i++) ones[i] = 1.0f;
    for (i = 0; i < 8; i++) sevens[i] = 7.0f;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F32, &t));
    ad_tensor x = ad_tensor_input_f32(t, &n, 1, ones, n);
    ad_tensor y = ad_tensor_scale(t, x, 3.0);
    ad_var loss = ad_tensor_as_var(t, ad_tensor_sum(t, y));
    CHECK_OK(ad_tensor_seed_tangent_f32(t, x, ones, n));
    CHECK_OK(ad_jvp(t, NULL, 0));
    ad_tensor w = ad_tensor_const_f32(t, &eight, 1, sevens, eight);
    CHECK_OK(ad_tensor_value_f32(t, w, read, eight));
    CHECK(read[0] == 7.0f && read[7] == 7.0f);
    CHECK_OK(ad_jvp(t, NULL, 0));
    CHECK_OK(ad_tangent(t, loss, &loss_tangent));
    CHECK(loss_tangent == 768.0);
    CHECK_OK(ad_tensor_tangent_f32(t, y, tangent, n));
    CHECK(tangent[0] == 3.0f && tangent[255] == 3.0f);
    CHECK_OK(ad_tensor_value_f32(t, w, read, eight));
    CHECK(read[3] == 7.0f);
    CHECK_OK(ad_tape_done(t));
}

/* Handles name their tape by a process-unique identity, not by its address. */
static void handles_do_not_outlive_their_tape(void) {
    ad_tape *t, *h;
    double v = 0;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    ad_var old = ad_input(t, 1.0);
    CHECK_OK(ad_tape_done(t));
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t)); /* the same address */
    ad_var fresh = ad_input(t, 2.0);
    CHECK(fresh.index == old.index);
    CHECK_STATUS(ad_value(t, old, &v), AD_ERR_FOREIGN_HANDLE);
    CHECK_OK(ad_value(t, fresh, &v));
    CHECK(v == 2.0);
    CHECK_OK(ad_tape_done(t));

    /* A heap tape freed and made again, even if malloc hands back the same block. */
    CHECK_OK(ad_tape_new(4096, AD_F64, &h));
    old = ad_input(h, 1.0);
    ad_tape_free(h);
    CHECK_OK(ad_tape_new(4096, AD_F64, &h));
    (void)ad_input(h, 3.0);
    CHECK_STATUS(ad_value(h, old, &v), AD_ERR_FOREIGN_HANDLE);
    ad_tape_free(h);
}

/* A handle made inside a checkpoint block and kept outside is stale for good. */
static ad_var leaked;
static ad_status leaking_block(ad_tape *t, const ad_var *in, size_t n_in, ad_var *out,
                               size_t n_out, void *user_data) {
    (void)n_in;
    (void)n_out;
    (void)user_data;
    leaked = ad_sin(t, ad_exp(t, in[0]));
    out[0] = ad_cos(t, leaked);
    return ad_tape_status(t);
}

static void block_handles_stay_inside(void) {
    ad_tape *t;
    ad_var in, out;
    double v = 0;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    in = ad_input(t, 0.5);
    CHECK_OK(ad_checkpoint(t, leaking_block, NULL, &in, 1, &out, 1));
    CHECK_STATUS(ad_value(t, leaked, &v), AD_ERR_STALE_HANDLE);
    /* Even once new records take its index. */
    (void)ad_input(t, 7.0);
    (void)ad_input(t, 8.0);
    CHECK_STATUS(ad_value(t, leaked, &v), AD_ERR_STALE_HANDLE);
    CHECK_OK(ad_tape_status(t));
    /* The block's output is live, and backward re-runs the block. */
    CHECK_OK(ad_backward(t, out));
    CHECK_OK(ad_grad(t, in, &v));
    CHECK(fabs(v - (-sin(sin(exp(0.5))) * cos(exp(0.5)) * exp(0.5))) < 1e-12);
    CHECK_OK(ad_tape_done(t));
}

/* Handles carry their kind: a tensor's fields copied into an ad_var are refused. */
static void handle_kinds_are_checked(void) {
    ad_tape *t;
    size_t one = 1;
    double data = 2.0, v = 0;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    ad_tensor x = ad_tensor_input_f64(t, &one, 1, &data, 1);
    ad_var forged;
    memcpy(&forged, &x, sizeof forged);
    CHECK_STATUS(ad_value(t, forged, &v), AD_ERR_WRONG_HANDLE_KIND);
    CHECK(!ad_var_is_valid(ad_sin(t, forged)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_WRONG_HANDLE_KIND);
    CHECK_OK(ad_tape_reset(t));
    /* The conversion the API offers works. */
    x = ad_tensor_input_f64(t, NULL, 0, &data, 1);
    CHECK_OK(ad_value(t, ad_tensor_as_var(t, x), &v));
    CHECK(v == 2.0);
    CHECK_OK(ad_tape_done(t));
}

/* A rank-0 tensor input's tangent seed reaches what is computed from it. */
static void rank_zero_seed(void) {
    ad_tape *t;
    double x0 = 1.5, seed = 2.0, tangent = 0;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    ad_tensor x = ad_tensor_input_f64(t, NULL, 0, &x0, 1);
    ad_var y = ad_tensor_as_var(t, ad_tensor_activation(t, x, AD_ACT_SQUARE));
    CHECK_OK(ad_tensor_seed_tangent_f64(t, x, &seed, 1));
    CHECK_OK(ad_jvp(t, NULL, 0));
    CHECK_OK(ad_tangent(t, y, &tangent));
    CHECK(tangent == 2.0 * 2.0 * 1.5);
    CHECK_OK(ad_tape_done(t));
}

/* ad_grad after ad_jvp (they share storage) is refused, not answered wrong. */
static void grad_after_jvp(void) {
    ad_tape *t;
    double seed = 1.0, g = 0;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    ad_var x = ad_input(t, 3.0);
    ad_var y = ad_mul(t, x, x);
    CHECK_OK(ad_backward(t, y));
    CHECK_OK(ad_grad(t, x, &g));
    CHECK(g == 6.0);
    CHECK_OK(ad_jvp(t, &seed, 1));
    g = -1;
    CHECK_STATUS(ad_grad(t, x, &g), AD_ERR_INVALID_ARGUMENT);
    CHECK(g == -1);
    CHECK_OK(ad_tangent(t, y, &g));
    CHECK(g == 6.0);
    CHECK_OK(ad_tape_status(t));
    CHECK_OK(ad_tape_done(t));
}

/* Non-finite tensor losses are AD_ERR_NON_FINITE, as scalar ones are. */
static void non_finite_tensor_losses(void) {
    ad_tape *t;
    size_t two = 2, dims[2] = {1, 2};
    double num[2] = {1, 2}, den[2] = {0, 1}, neg[2] = {-1, 2}, logits[2] = {INFINITY, 0};
    double nan = NAN;
    uint32_t label = 0;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    ad_tensor a = ad_tensor_input_f64(t, &two, 1, num, 2);
    ad_tensor b = ad_tensor_input_f64(t, &two, 1, den, 2);
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, ad_tensor_sum(t, ad_tensor_div(t, a, b)))),
                 AD_ERR_NON_FINITE);
    ad_tensor c = ad_tensor_input_f64(t, &two, 1, neg, 2);
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(
                                    t, ad_tensor_sum(t, ad_tensor_activation(t, c, AD_ACT_LOG)))),
                 AD_ERR_NON_FINITE);
    ad_tensor l = ad_tensor_input_f64(t, dims, 2, logits, 2);
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, ad_tensor_sum(t, ad_softmax(t, l)))),
                 AD_ERR_NON_FINITE);
    logits[0] = -INFINITY;
    l = ad_tensor_input_f64(t, dims, 2, logits, 2);
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, ad_cross_entropy(t, l, &label, 1))),
                 AD_ERR_NON_FINITE);
    ad_tensor r = ad_tensor_input_f64(t, NULL, 0, &nan, 1);
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, r)), AD_ERR_NON_FINITE);
    CHECK_OK(ad_tape_status(t));
    CHECK_OK(ad_tape_done(t));
}

/* Softmax stays exact for large logits (f32). */
static void softmax_large_logits(void) {
    ad_tape *t;
    size_t dims[2] = {1, 2};
    float logits[2] = {1e7f, 1e7f}, p[2] = {0};
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F32, &t));
    ad_tensor s = ad_softmax(t, ad_tensor_input_f32(t, dims, 2, logits, 2));
    CHECK_OK(ad_tensor_value_f32(t, s, p, 2));
    CHECK(p[0] == 0.5f && p[1] == 0.5f);
    CHECK_OK(ad_tape_done(t));
}

/* Tensors work in memory of any alignment. */
static void unaligned_memory(void) {
    ad_tape *t;
    size_t three = 3;
    double x[3] = {1, 2, 3}, g[3] = {0};
    /* ad_tape_init aligns its header itself; the arena after it then starts at any
     * address the caller's skew gives. */
    for (int skew = 0; skew < 8; skew++) {
        CHECK_OK(ad_tape_init(mem + skew, sizeof mem - 8, AD_F64, &t));
        ad_tensor in = ad_tensor_input_f64(t, &three, 1, x, 3);
        ad_var loss = ad_tensor_as_var(t, ad_tensor_sum(t, ad_tensor_activation(t, in, AD_ACT_SQUARE)));
        CHECK_OK(ad_backward(t, loss));
        CHECK_OK(ad_tensor_grad_f64(t, in, g, 3));
        CHECK(g[0] == 2 && g[1] == 4 && g[2] == 6);
        CHECK_OK(ad_tape_done(t));
    }
}

int main(void) {
    f32_jvp_twice_with_a_tensor_between();
    handles_do_not_outlive_their_tape();
    block_handles_stay_inside();
    handle_kinds_are_checked();
    rank_zero_seed();
    grad_after_jvp();
    non_finite_tensor_losses();
    softmax_large_logits();
    unaligned_memory();
    return check_summary();
}
