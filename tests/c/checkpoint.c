/* Checkpointed segments from C (ad_checkpoint, ad_checkpoint_tensors) against the same
 * block recorded unmarked, bit for bit, nested, failing and misused. Chain gradients are
 * in checkpoint_chain.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

typedef struct {
    int calls;
    int fail_on_call;      /* return `fail_status` on this call (1-based), 0: never */
    ad_status fail_status;
    int misuse;            /* 1: reset the tape, 2: end it, 3: free it, 4: foreign op,
                              5: run backward on it, 6: replay it */
    ad_status misuse_got;
    ad_tape *other;        /* for the foreign op */
} block_state;

/* f(x, y) = [sin(x*y) + x, exp(y)*x - y^3] */
static ad_status block(ad_tape *t, const ad_var *in, size_t n_in, ad_var *out, size_t n_out,
                       void *user_data) {
    block_state *s = user_data;
    if (s) {
        s->calls++;
        if (s->misuse == 1) s->misuse_got = ad_tape_reset(t);
        if (s->misuse == 2) s->misuse_got = ad_tape_done(t);
        if (s->misuse == 3) ad_tape_free(t);
        if (s->misuse == 5) s->misuse_got = ad_backward(t, in[0]);
        if (s->misuse == 6) s->misuse_got = ad_replay(t, NULL, 0);
        if (s->fail_on_call == s->calls) return s->fail_status;
    }
    if (n_in != 2 || n_out != 2) return AD_ERR_INVALID_ARGUMENT;
    ad_var x = in[0], y = in[1];
    if (s && s->misuse == 4) x = ad_input(s->other, 1.0); /* a variable of another tape */
    out[0] = ad_add(t, ad_sin(t, ad_mul(t, x, y)), x);
    out[1] = ad_sub(t, ad_mul(t, ad_exp(t, y), x), ad_powi(t, y, 3));
    return ad_tape_status(t);
}

/* Two outputs from two inputs, through an inner segment of `block`. */
static ad_status outer_block(ad_tape *t, const ad_var *in, size_t n_in, ad_var *out,
                             size_t n_out, void *user_data) {
    ad_var mid[2], in2[2];
    if (user_data) ((block_state *)user_data)->calls++;
    (void)n_in;
    (void)n_out;
    in2[0] = ad_mul(t, in[0], in[1]);
    in2[1] = ad_scale(t, in[1], 0.5);
    ad_status st = user_data ? ad_checkpoint(t, block, NULL, in2, 2, mid, 2)
                             : block(t, in2, 2, mid, 2, NULL);
    if (st != AD_OK) return st;
    out[0] = ad_tanh(t, ad_add(t, mid[0], in[0]));
    out[1] = ad_mul(t, mid[1], mid[0]);
    return ad_tape_status(t);
}

static ad_status leaves_unset(ad_tape *t, const ad_var *in, size_t n_in, ad_var *out,
                              size_t n_out, void *user_data) {
    (void)n_in;
    (void)n_out;
    (void)user_data;
    out[0] = ad_sin(t, in[0]); /* out[1] left invalid */
    return AD_OK;
}

enum mode { UNMARKED, SEGMENT, NESTED_UNMARKED, NESTED };

/* loss = out0 * out1 + cos(x) of the block at (x, y); gradients into g. */
static ad_status run_segment(ad_dtype dtype, enum mode mode, block_state *s, double g[2],
                             double *loss) {
    static unsigned char mem[1 << 15];
    ad_tape *t;
    ad_status st = ad_tape_init(mem, sizeof mem, dtype, &t);
    if (st != AD_OK) return st;
    ad_var in[2] = {ad_input(t, 0.8), ad_input(t, -1.3)}, out[2];
    ad_var scaled[2] = {ad_scale(t, in[0], 1.5), ad_add(t, in[1], in[0])};
    switch (mode) {
    case UNMARKED: st = block(t, scaled, 2, out, 2, NULL); break;
    case SEGMENT: st = ad_checkpoint(t, block, s, scaled, 2, out, 2); break;
    case NESTED_UNMARKED: st = outer_block(t, scaled, 2, out, 2, NULL); break;
    case NESTED: st = ad_checkpoint(t, outer_block, s, scaled, 2, out, 2); break;
    }
    if (st == AD_OK) {
        ad_var f = ad_add(t, ad_mul(t, out[0], out[1]), ad_cos(t, in[0]));
        st = ad_backward(t, f);
        if (st == AD_OK) st = ad_value(t, f, loss);
        if (st == AD_OK) st = ad_grad(t, in[0], &g[0]);
        if (st == AD_OK) st = ad_grad(t, in[1], &g[1]);
    }
    ad_tape_done(t);
    return st;
}

static void test_segments_match_unmarked(void) {
    ad_dtype dtypes[] = {AD_F64, AD_F32};
    for (size_t i = 0; i < COUNT(dtypes); i++) {
        double g0[2], g1[2], l0, l1;
        block_state s = {0};
        CHECK_OK(run_segment(dtypes[i], UNMARKED, NULL, g0, &l0));
        CHECK_OK(run_segment(dtypes[i], SEGMENT, &s, g1, &l1));
        CHECK(same_bits(g0[0], g1[0]) && same_bits(g0[1], g1[1]) && same_bits(l0, l1));
        CHECK(s.calls == 2); /* recorded, then recorded again by the backward sweep */

        /* Nested: a segment inside a segment's block. */
        block_state n = {0};
        CHECK_OK(run_segment(dtypes[i], NESTED_UNMARKED, NULL, g0, &l0));
        CHECK_OK(run_segment(dtypes[i], NESTED, &n, g1, &l1));
        CHECK(same_bits(g0[0], g1[0]) && same_bits(g0[1], g1[1]) && same_bits(l0, l1));
        CHECK(n.calls == 2);
    }
    /* And against central finite differences of the same function in plain C. */
    double g[2], l, lp, lm, h = 1e-6;
    CHECK_OK(run_segment(AD_F64, SEGMENT, NULL, g, &l));
    {
        /* f at (0.8 ± h, -1.3) by plain C. */
        for (int sign = -1; sign <= 1; sign += 2) {
            double x = 0.8 + sign * h, y = -1.3;
            double a = 1.5 * x, b = y + x;
            double o0 = sin(a * b) + a, o1 = exp(b) * a - b * b * b;
            *(sign < 0 ? &lm : &lp) = o0 * o1 + cos(x);
        }
        CHECK_NEAR(g[0], (lp - lm) / (2 * h), 1e-7);
    }
}

/* Tensors through a segment: h = tanh(x W), outputs h and sum(h * h). */
static ad_status tensor_block(ad_tape *t, const ad_tensor *in, size_t n_in, ad_tensor *out,
                              size_t n_out, void *user_data) {
    int *calls = user_data;
    (void)n_in;
    (void)n_out;
    if (calls) ++*calls;
    ad_tensor h = ad_tensor_activation(t, ad_matmul(t, in[0], in[1], 0, 0), AD_ACT_TANH);
    out[0] = h;
    out[1] = ad_tensor_sum(t, ad_tensor_mul(t, h, h));
    return ad_tape_status(t);
}

static ad_status run_tensor_segment(int segment, int *calls, double gx[6], double gw[6]) {
    static unsigned char mem[1 << 16];
    static const double x[6] = {0.5, -1.0, 0.25, 2.0, 0.1, -0.3};
    static const double w[6] = {0.3, -0.2, 0.7, 0.1, -0.5, 0.4};
    size_t xd[2] = {2, 3}, wd[2] = {3, 2};
    ad_tape *t;
    ad_status st = ad_tape_init(mem, sizeof mem, AD_F64, &t);
    if (st != AD_OK) return st;
    ad_tensor in[2] = {ad_tensor_input_f64(t, xd, 2, x, 6), ad_tensor_input_f64(t, wd, 2, w, 6)};
    ad_tensor out[2];
    st = segment ? ad_checkpoint_tensors(t, tensor_block, calls, in, 2, out, 2)
                 : tensor_block(t, in, 2, out, 2, NULL);
    if (st == AD_OK) {
        /* loss = mean(h) + s: uses both outputs, the rank-2 one through a tensor op. */
        ad_var loss = ad_add(t, ad_tensor_as_var(t, ad_tensor_mean(t, out[0])),
                             ad_tensor_as_var(t, out[1]));
        st = ad_backward(t, loss);
    }
    if (st == AD_OK) st = ad_tensor_grad_f64(t, in[0], gx, 6);
    if (st == AD_OK) st = ad_tensor_grad_f64(t, in[1], gw, 6);
    ad_tape_done(t);
    return st;
}

static void test_tensor_segments(void) {
    double gx0[6], gw0[6], gx1[6], gw1[6];
    int calls = 0;
    CHECK_OK(run_tensor_segment(0, NULL, gx0, gw0));
    CHECK_OK(run_tensor_segment(1, &calls, gx1, gw1));
    int same = 1, nonzero = 1;
    for (int i = 0; i < 6; i++) same &= same_bits(gx0[i], gx1[i]) && same_bits(gw0[i], gw1[i]);
    /* every input reaches the loss, so no gradient entry is zero (all-zero ones, as from
     * a sweep that skipped the segment, would also be the same bits) */
    for (int i = 0; i < 6; i++) nonzero &= gx0[i] != 0.0 && gw0[i] != 0.0;
    CHECK(same);
    CHECK(nonzero);
    CHECK(calls == 2);
    CHECK_STATUS(ad_checkpoint_tensors(NULL, tensor_block, NULL, NULL, 0, NULL, 0), AD_ERR_NULL);
}

static void test_segment_failures(void) {
    static unsigned char mem[1 << 14], mem2[1 << 12];
    ad_tape *t, *other;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    CHECK_OK(ad_tape_init(mem2, sizeof mem2, AD_F64, &other));
    ad_var in[2], out[2];

    /* A status returned by the block, with no op failure: kept as the tape's error. */
    block_state s = {0};
    s.fail_on_call = 1;
    s.fail_status = AD_ERR_NON_FINITE;
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 2.0);
    CHECK_STATUS(ad_checkpoint(t, block, &s, in, 2, out, 2), AD_ERR_NON_FINITE);
    CHECK(!ad_var_is_valid(out[0]) && !ad_var_is_valid(out[1]));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NON_FINITE); /* sticky */
    CHECK(strstr(ad_tape_error(t), "callback") != NULL);
    CHECK(!ad_var_is_valid(ad_sin(t, in[0])));

    /* A status without a matching core error is reported as invalid argument. */
    CHECK_OK(ad_tape_reset(t));
    s = (block_state){0};
    s.fail_on_call = 1;
    s.fail_status = AD_ERR_NULL;
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 2.0);
    CHECK_STATUS(ad_checkpoint(t, block, &s, in, 2, out, 2), AD_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ad_tape_error(t), "AD_ERR_NULL") != NULL);

    /* An op of the block that fails: its error wins over the status returned. */
    CHECK_OK(ad_tape_reset(t));
    s = (block_state){0};
    s.misuse = 4;
    s.other = other;
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 2.0);
    CHECK_STATUS(ad_checkpoint(t, block, &s, in, 2, out, 2), AD_ERR_FOREIGN_HANDLE);

    /* A block that leaves an output unset. */
    CHECK_OK(ad_tape_reset(t));
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 2.0);
    CHECK_STATUS(ad_checkpoint(t, leaves_unset, NULL, in, 2, out, 2), AD_ERR_INVALID_ARGUMENT);

    /* A block that fails only when the backward sweep records it again. */
    CHECK_OK(ad_tape_reset(t));
    s = (block_state){0};
    s.fail_on_call = 2;
    s.fail_status = AD_ERR_BACKEND;
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 2.0);
    CHECK_OK(ad_checkpoint(t, block, &s, in, 2, out, 2));
    CHECK_STATUS(ad_backward(t, ad_add(t, out[0], out[1])), AD_ERR_BACKEND);
    CHECK(s.calls == 2);

    /* Reset, done, free, and a sweep of the same tape inside the block are refused
     * (AD_ERR_REENTRANT); the tape stays live and keeps the error. */
    int misuses[] = {1, 2, 3, 5, 6};
    for (size_t i = 0; i < COUNT(misuses); i++) {
        CHECK_OK(ad_tape_reset(t));
        s = (block_state){0};
        s.misuse = misuses[i];
        s.misuse_got = AD_OK;
        in[0] = ad_input(t, 1.0);
        in[1] = ad_input(t, 2.0);
        CHECK_STATUS(ad_checkpoint(t, block, &s, in, 2, out, 2), AD_ERR_REENTRANT);
        if (misuses[i] != 3) CHECK_STATUS(s.misuse_got, AD_ERR_REENTRANT);
        CHECK(strstr(ad_tape_error(t), "inside a callback") != NULL);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_REENTRANT);
    }
    /* A block that runs backward on its own tape only when backward re-runs it: refused
     * there too, instead of recursing without end. */
    CHECK_OK(ad_tape_reset(t));
    s = (block_state){0};
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 2.0);
    CHECK_OK(ad_checkpoint(t, block, &s, in, 2, out, 2));
    s.misuse = 5;
    CHECK_STATUS(ad_backward(t, ad_add(t, out[0], out[1])), AD_ERR_REENTRANT);
    CHECK_STATUS(s.misuse_got, AD_ERR_REENTRANT);
    CHECK(s.calls == 2);
    /* ... also on a heap tape, where ending it would free the memory under the block. */
    {
        ad_tape *h;
        size_t bytes;
        CHECK_OK(ad_tape_bytes_for(256, AD_F64, &bytes));
        CHECK_OK(ad_tape_new(bytes, AD_F64, &h));
        s = (block_state){0};
        s.misuse = 3;
        in[0] = ad_input(h, 1.0);
        in[1] = ad_input(h, 2.0);
        CHECK_STATUS(ad_checkpoint(h, block, &s, in, 2, out, 2), AD_ERR_REENTRANT);
        CHECK_OK(ad_tape_reset(h)); /* outside the block: fine */
        ad_tape_free(h);
    }
    CHECK_OK(ad_tape_reset(t));

    /* NULLs and overlap: sticky, as for any recording op. */
    s = (block_state){0};
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 2.0);
    CHECK_STATUS(ad_checkpoint(NULL, block, &s, in, 2, out, 2), AD_ERR_NULL);
    CHECK_OK(ad_tape_status(t)); /* no tape to keep it */
    out[0] = in[0];
    CHECK_STATUS(ad_checkpoint(t, NULL, &s, in, 2, out, 2), AD_ERR_NULL);
    CHECK(!ad_var_is_valid(out[0]));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NULL);
    CHECK(!ad_var_is_valid(ad_sin(t, in[0])));
#define FRESH()                                                                                 \
    do {                                                                                        \
        CHECK_OK(ad_tape_reset(t));                                                             \
        in[0] = ad_input(t, 1.0);                                                               \
        in[1] = ad_input(t, 2.0);                                                               \
    } while (0)
    FRESH();
    CHECK_STATUS(ad_checkpoint(t, block, &s, NULL, 2, out, 2), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NULL);
    FRESH();
    CHECK_STATUS(ad_checkpoint(t, block, &s, in, 2, NULL, 2), AD_ERR_NULL);
    FRESH();
    CHECK_STATUS(ad_checkpoint(t, block, &s, in, 2, in, 2), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    CHECK(s.calls == 0);
    FRESH();
#undef FRESH
    CHECK_OK(ad_checkpoint(t, block, &s, in, 2, out, 2));
    CHECK(s.calls == 1);
    {
        static unsigned char dmem[1 << 12];
        ad_tape *dt;
        CHECK_OK(ad_tape_init(dmem, sizeof dmem, AD_F64_DUAL, &dt));
        ad_var din[2] = {ad_input(dt, 1.0), ad_input(dt, 2.0)};
        s = (block_state){0};
        CHECK_STATUS(ad_checkpoint(dt, block, &s, din, 2, out, 2), AD_ERR_DTYPE_MISMATCH);
        CHECK(s.calls == 0);
        CHECK_OK(ad_tape_done(dt));
    }
    CHECK_OK(ad_tape_done(other));
    CHECK_OK(ad_tape_done(t));
}

int main(void) {
    test_segments_match_unmarked();
    test_segment_failures();
    test_tensor_segments();
    return check_summary();
}
