/* Checkpointing from C: segments (ad_checkpoint, ad_checkpoint_tensors) against the same block recorded
 * unmarked, bit for bit, nested, failing, misused; chain gradients (ad_chain_gradient,
 * ad_chain_gradient_eval, ad_chain_gradient_online) against the whole chain recorded on one tape through the C
 * API, bit for bit, and against finite differences, with the binomial schedule's
 * optimal recomputation counts, memory errors before any callback, and bad arguments. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* ---- segments ---- */

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

/* ---- chains ---- */

#define D 3
#define P 2
#define H 0.01

typedef struct {
    size_t step_calls, loss_calls, done_calls;
    size_t fail_at;   /* step k that fails, SIZE_MAX: none */
    int reset_in_step;
    int segment;      /* record each step's work as a segment */
    size_t stop_at;   /* online: done at this k */
    int done_order_ok;
    ad_tape *seen;
    size_t eval_calls;
    size_t eval_fail_at; /* step k whose evaluation fails, SIZE_MAX: none */
    int eval_float;      /* evaluate in float (for AD_F32 chains) */
} chain_state;

/* x_{k+1,i} = x_i + h·(sin(θ0·x_i + x_{i+1}) − θ1·x_i³), indices mod 3. */
static ad_status step_body(ad_tape *t, const ad_var *x, size_t n_in, ad_var *next, size_t n_out,
                           void *user_data) {
    (void)n_in;
    (void)n_out;
    (void)user_data;
    const ad_var *theta = x + D;
    for (int i = 0; i < D; i++) {
        ad_var xi = x[i], xj = x[(i + 1) % D];
        ad_var f = ad_sub(t, ad_sin(t, ad_add(t, ad_mul(t, theta[0], xi), xj)),
                          ad_mul(t, theta[1], ad_mul(t, ad_mul(t, xi, xi), xi)));
        next[i] = ad_add(t, xi, ad_scale(t, f, H));
    }
    return AD_OK;
}

static ad_status step(ad_tape *t, size_t k, const ad_var *state, const ad_var *params,
                      ad_var *next, void *user_data) {
    chain_state *s = user_data;
    ad_var in[D + P];
    s->step_calls++;
    s->seen = t;
    if (k == s->fail_at) return AD_ERR_NON_FINITE;
    if (s->reset_in_step && ad_tape_reset(t) != AD_OK) return ad_tape_status(t);
    memcpy(in, state, D * sizeof *in);
    memcpy(in + D, params, P * sizeof *in);
    if (s->segment) return ad_checkpoint(t, step_body, NULL, in, D + P, next, D);
    return step_body(t, in, D + P, next, D, NULL);
}

/* Σ (i+1)·x_i² + θ0·x_0 */
static ad_var loss(ad_tape *t, const ad_var *x, const ad_var *theta, void *user_data) {
    chain_state *s = user_data;
    s->loss_calls++;
    ad_var acc = ad_mul(t, theta[0], x[0]);
    for (int i = 0; i < D; i++) acc = ad_add(t, acc, ad_scale(t, ad_mul(t, x[i], x[i]), i + 1.0));
    return acc;
}

/* The step without a tape: the recorded ops in the same order, with the library's sin
 * (through a dual number) so that the values are the tape's bit for bit. */
static ad_status eval(size_t k, const double *x, const double *theta, double *next,
                      void *user_data) {
    chain_state *s = user_data;
    s->eval_calls++;
    if (k == s->eval_fail_at) return AD_ERR_BACKEND;
    for (int i = 0; i < D; i++) {
        if (s->eval_float) {
            float xi = (float)x[i], xj = (float)x[(i + 1) % D], t0 = (float)theta[0],
                  t1 = (float)theta[1];
            float sn = (float)ad_dual_sin(ad_dual_make((float)(t0 * xi + xj), 0.0)).value;
            float f = sn - t1 * ((xi * xi) * xi);
            next[i] = (float)(xi + f * (float)H);
        } else {
            double xi = x[i], xj = x[(i + 1) % D];
            double sn = ad_dual_sin(ad_dual_make(theta[0] * xi + xj, 0.0)).value;
            double f = sn - theta[1] * ((xi * xi) * xi);
            next[i] = xi + f * H;
        }
    }
    return AD_OK;
}

static int done(size_t k, const double *state, size_t d, void *user_data) {
    chain_state *s = user_data;
    if (k != s->done_calls || d != D || state == NULL) s->done_order_ok = 0;
    s->done_calls++;
    return k == s->stop_at;
}

static const double X0[D] = {0.7, -0.4, 0.5};
static const double THETA[P] = {1.3, 0.8};

/* The whole chain on one tape through the C API: the reference. */
static ad_status store_all(ad_dtype dtype, size_t n, double gx[D], double gp[P], double *l) {
    size_t bytes;
    ad_tape *t;
    ad_status st = ad_tape_bytes_for(64 + n * 40, dtype, &bytes);
    if (st == AD_OK) st = ad_tape_new(bytes, dtype, &t);
    if (st != AD_OK) return st;
    chain_state s = {0};
    s.fail_at = SIZE_MAX;
    ad_var x[D], theta[P], next[D];
    for (int i = 0; i < D; i++) x[i] = ad_input(t, X0[i]);
    for (int i = 0; i < P; i++) theta[i] = ad_input(t, THETA[i]);
    ad_var first[D];
    memcpy(first, x, sizeof x);
    for (size_t k = 0; k < n && st == AD_OK; k++) {
        st = step(t, k, x, theta, next, &s);
        memcpy(x, next, sizeof x);
    }
    if (st == AD_OK) {
        ad_var f = loss(t, x, theta, &s);
        st = ad_backward(t, f);
        if (st == AD_OK) st = ad_value(t, f, l);
        for (int i = 0; i < D && st == AD_OK; i++) st = ad_grad(t, first[i], &gx[i]);
        for (int i = 0; i < P && st == AD_OK; i++) st = ad_grad(t, theta[i], &gp[i]);
    }
    ad_tape_free(t);
    return st;
}

static double plain_loss(size_t n, const double x0[D], const double theta[P]) {
    double x[D], next[D];
    memcpy(x, x0, sizeof x);
    for (size_t k = 0; k < n; k++) {
        for (int i = 0; i < D; i++) {
            double xi = x[i], xj = x[(i + 1) % D];
            next[i] = xi + (sin(theta[0] * xi + xj) - theta[1] * (xi * xi * xi)) * H;
        }
        memcpy(x, next, sizeof x);
    }
    double acc = theta[0] * x[0];
    for (int i = 0; i < D; i++) acc += x[i] * x[i] * (i + 1.0);
    return acc;
}

/* Aligned for double, so that the "array inside mem" check is what fails below. */
static union {
    unsigned char bytes[1 << 16];
    double align;
} chain_u;
#define chain_mem chain_u.bytes

static void test_chain_matches_store_all(void) {
    static const struct {
        size_t n, s;
        long optimal; /* min_forward_steps(n, s), from the core's closed form */
    } cases[] = {
        {0, 1, 0},  {1, 1, 0},     {2, 1, 1},    {5, 2, 6},    {10, 2, 20},
        {10, 3, 15}, {57, 3, 216}, {100, 5, 316}, {200, 4, 948}, {200, 64, 334},
    };
    for (size_t c = 0; c < COUNT(cases); c++) {
        size_t n = cases[c].n, snaps = cases[c].s;
        double rx[D], rp[P], rl, gx[D], gp[P];
        CHECK_OK(store_all(AD_F64, n, rx, rp, &rl));
        for (int seg = 0; seg <= 1; seg++) {
            chain_state s = {0};
            s.fail_at = SIZE_MAX;
            s.segment = seg;
            ad_chain_report r;
            CHECK_OK(ad_chain_gradient(chain_mem, sizeof chain_mem, AD_F64, n, snaps, X0, D,
                                       THETA, P, step, loss, &s, gx, gp, &r));
            int same = same_bits(r.loss, rl);
            for (int i = 0; i < D; i++) same &= same_bits(gx[i], rx[i]);
            for (int i = 0; i < P; i++) same &= same_bits(gp[i], rp[i]);
            if (!same) fprintf(stderr, "n = %zu, s = %zu, segments %d: not bitwise\n", n, snaps, seg);
            CHECK(same);
            CHECK(r.steps == n && r.recorded == n);
            if (cases[c].optimal >= 0) CHECK(r.advances == (size_t)cases[c].optimal);
            /* the probe, the advances, the recorded steps; the loss at probe and end */
            CHECK(s.step_calls == (n ? 1 : 0) + r.advances + n);
            CHECK(s.loss_calls == 2);
            CHECK(r.peak_bytes > 0 && r.peak_bytes <= sizeof chain_mem);
            /* The tape the callbacks saw is ended when the call returns. */
            if (n) CHECK_STATUS(ad_tape_status(s.seen), AD_ERR_INVALID_TAPE);
        }
    }
}

static void test_chain_finite_differences(void) {
    size_t n = 150;
    double gx[D], gp[P], h = 1e-6;
    chain_state s = {0};
    s.fail_at = SIZE_MAX;
    CHECK_OK(ad_chain_gradient(chain_mem, sizeof chain_mem, AD_F64, n, 4, X0, D, THETA, P, step,
                               loss, &s, gx, gp, NULL));
    for (int i = 0; i < D; i++) {
        double xp[D], xm[D];
        memcpy(xp, X0, sizeof xp);
        memcpy(xm, X0, sizeof xm);
        xp[i] += h;
        xm[i] -= h;
        /* central differences: O(h²) truncation, ~1e-10 rounding: 1e-6 is ample */
        CHECK_NEAR(gx[i], (plain_loss(n, xp, THETA) - plain_loss(n, xm, THETA)) / (2 * h), 1e-6);
    }
    for (int i = 0; i < P; i++) {
        double tp[P], tm[P];
        memcpy(tp, THETA, sizeof tp);
        memcpy(tm, THETA, sizeof tm);
        tp[i] += h;
        tm[i] -= h;
        CHECK_NEAR(gp[i], (plain_loss(n, X0, tp) - plain_loss(n, X0, tm)) / (2 * h), 1e-6);
    }
}

static void test_chain_f32(void) {
    size_t n = 40;
    double rx[D], rp[P], rl, gx[D], gp[P], fx[D], fp[P];
    chain_state s = {0};
    s.fail_at = SIZE_MAX;
    ad_chain_report r;
    CHECK_OK(store_all(AD_F32, n, rx, rp, &rl));
    CHECK_OK(ad_chain_gradient(chain_mem, sizeof chain_mem, AD_F32, n, 3, X0, D, THETA, P, step,
                               loss, &s, gx, gp, &r));
    int same = same_bits(r.loss, rl);
    for (int i = 0; i < D; i++) same &= same_bits(gx[i], rx[i]);
    for (int i = 0; i < P; i++) same &= same_bits(gp[i], rp[i]);
    CHECK(same);
    s = (chain_state){0};
    s.fail_at = SIZE_MAX;
    CHECK_OK(ad_chain_gradient(chain_mem, sizeof chain_mem, AD_F64, n, 3, X0, D, THETA, P, step,
                               loss, &s, fx, fp, NULL));
    for (int i = 0; i < D; i++) CHECK_NEAR(gx[i], fx[i], 1e-4);
    for (int i = 0; i < P; i++) CHECK_NEAR(gp[i], fp[i], 1e-4);
}

static void test_chain_online(void) {
    size_t ns[] = {0, 1, 2, 10, 57, 200};
    size_t snaps[] = {1, 3, 5};
    for (size_t a = 0; a < COUNT(ns); a++) {
        for (size_t b = 0; b < COUNT(snaps); b++) {
            size_t n = ns[a];
            double rx[D], rp[P], rl, gx[D], gp[P];
            CHECK_OK(store_all(AD_F64, n, rx, rp, &rl));
            chain_state s = {0};
            s.fail_at = SIZE_MAX;
            s.stop_at = n;
            s.done_order_ok = 1;
            ad_chain_report r;
            CHECK_OK(ad_chain_gradient_online(chain_mem, sizeof chain_mem, AD_F64, snaps[b], X0, D,
                                              THETA, P, step, done, loss, &s, gx, gp, &r));
            int same = same_bits(r.loss, rl);
            for (int i = 0; i < D; i++) same &= same_bits(gx[i], rx[i]);
            for (int i = 0; i < P; i++) same &= same_bits(gp[i], rp[i]);
            CHECK(same);
            CHECK(r.steps == n && r.recorded == n);
            CHECK(s.done_calls == n + 1 && s.done_order_ok);
            CHECK(s.step_calls == (n ? 1 : 0) + r.advances + n);
        }
    }
    /* AD_F32 online: the state reaches `done` as doubles. */
    {
        double gx[D], gp[P];
        chain_state s = {0};
        s.fail_at = SIZE_MAX;
        s.stop_at = 20;
        s.done_order_ok = 1;
        CHECK_OK(ad_chain_gradient_online(chain_mem, sizeof chain_mem, AD_F32, 2, X0, D, THETA, P,
                                          step, done, loss, &s, gx, gp, NULL));
        CHECK(s.done_calls == 21 && s.done_order_ok);
    }
    /* NULL `done`, zero snapshots. */
    {
        double gx[D], gp[P];
        chain_state s = {0};
        s.fail_at = SIZE_MAX;
        CHECK_STATUS(ad_chain_gradient_online(chain_mem, sizeof chain_mem, AD_F64, 2, X0, D, THETA,
                                              P, step, NULL, loss, &s, gx, gp, NULL),
                     AD_ERR_NULL);
        CHECK_STATUS(ad_chain_gradient_online(chain_mem, sizeof chain_mem, AD_F64, 0, X0, D, THETA,
                                              P, step, done, loss, &s, gx, gp, NULL),
                     AD_ERR_INVALID_ARGUMENT);
        CHECK(s.step_calls == 0 && s.done_calls == 0);
    }
}

static void test_chain_eval(void) {
    static const struct {
        size_t n, s;
    } cases[] = {{1, 1}, {10, 2}, {100, 5}, {200, 4}};
    for (size_t c = 0; c < COUNT(cases); c++) {
        size_t n = cases[c].n;
        double rx[D], rp[P], rl, gx[D], gp[P];
        CHECK_OK(store_all(AD_F64, n, rx, rp, &rl));
        chain_state s = {0};
        s.fail_at = SIZE_MAX;
        s.eval_fail_at = SIZE_MAX;
        ad_chain_report r;
        CHECK_OK(ad_chain_gradient_eval(chain_mem, sizeof chain_mem, AD_F64, n, cases[c].s, X0, D,
                                        THETA, P, step, eval, loss, &s, gx, gp, &r));
        int same = same_bits(r.loss, rl);
        for (int i = 0; i < D; i++) same &= same_bits(gx[i], rx[i]);
        for (int i = 0; i < P; i++) same &= same_bits(gp[i], rp[i]);
        CHECK(same);
        /* Every forward-only run goes to eval; the tape sees the probe and the turns. */
        CHECK(s.eval_calls == r.advances && s.step_calls == 1 + n);
    }
    /* AD_F32, evaluating in float. */
    {
        double rx[D], rp[P], rl, gx[D], gp[P];
        size_t n = 40;
        chain_state s = {0};
        s.fail_at = SIZE_MAX;
        s.eval_fail_at = SIZE_MAX;
        s.eval_float = 1;
        ad_chain_report r;
        CHECK_OK(store_all(AD_F32, n, rx, rp, &rl));
        CHECK_OK(ad_chain_gradient_eval(chain_mem, sizeof chain_mem, AD_F32, n, 3, X0, D, THETA,
                                        P, step, eval, loss, &s, gx, gp, &r));
        for (int i = 0; i < D; i++) CHECK_NEAR(gx[i], rx[i], 1e-5);
        for (int i = 0; i < P; i++) CHECK_NEAR(gp[i], rp[i], 1e-5);
        CHECK(s.eval_calls == r.advances && s.eval_calls > 0);
    }
    /* NULL eval is ad_chain_gradient; a failing eval fails the chain with its status. */
    {
        double gx[D] = {-7, -7, -7}, gp[P] = {-7, -7};
        chain_state s = {0};
        s.fail_at = SIZE_MAX;
        s.eval_fail_at = SIZE_MAX;
        ad_chain_report r;
        CHECK_OK(ad_chain_gradient_eval(chain_mem, sizeof chain_mem, AD_F64, 10, 2, X0, D, THETA,
                                        P, step, NULL, loss, &s, gx, gp, &r));
        CHECK(r.advances == 20 && s.step_calls == 1 + 20 + 10);
        s = (chain_state){0};
        s.fail_at = SIZE_MAX;
        s.eval_fail_at = 3;
        gx[0] = -7;
        CHECK_STATUS(ad_chain_gradient_eval(chain_mem, sizeof chain_mem, AD_F64, 10, 2, X0, D,
                                            THETA, P, step, eval, loss, &s, gx, gp, &r),
                     AD_ERR_BACKEND);
        CHECK(gx[0] == -7);
    }
}

static void test_chain_memory(void) {
    size_t ws, tb, records, n = 30, snaps = 4;
    double gx[D] = {-7, -7, -7}, gp[P] = {-7, -7};
    ad_chain_report r;
    chain_state s = {0};
    s.fail_at = SIZE_MAX;

    CHECK_OK(ad_chain_workspace_bytes(AD_F64, D, P, snaps, &ws));
    CHECK(ws >= (snaps * D + 3 * D + P) * sizeof(double));
    CHECK_STATUS(ad_chain_workspace_bytes(AD_F64, D, P, SIZE_MAX, &ws), AD_ERR_SIZE_OVERFLOW);
    CHECK_STATUS(ad_chain_workspace_bytes(AD_F64_DUAL, D, P, snaps, &ws), AD_ERR_DTYPE_MISMATCH);
    CHECK_STATUS(ad_chain_workspace_bytes(AD_F64, D, P, snaps, NULL), AD_ERR_NULL);
    CHECK_OK(ad_chain_workspace_bytes(AD_F64, D, P, snaps, &ws));

    /* Too small for the workspace, or for it and the inputs' records: no callback runs. */
    size_t too_small[] = {0, 64, ws, ws + 64};
    for (size_t i = 0; i < COUNT(too_small); i++) {
        s = (chain_state){0};
        s.fail_at = SIZE_MAX;
        CHECK_STATUS(ad_chain_gradient(chain_mem, too_small[i], AD_F64, n, snaps, X0, D, THETA, P,
                                       step, loss, &s, gx, gp, &r),
                     AD_ERR_OUT_OF_MEMORY);
        CHECK(s.step_calls == 0 && s.loss_calls == 0);
        s.stop_at = 5;
        CHECK_STATUS(ad_chain_gradient_online(chain_mem, too_small[i], AD_F64, snaps, X0, D, THETA,
                                              P, step, done, loss, &s, gx, gp, &r),
                     AD_ERR_OUT_OF_MEMORY);
        CHECK(s.step_calls == 0 && s.loss_calls == 0 && s.done_calls == 0);
    }
    CHECK(gx[0] == -7 && gp[0] == -7); /* outputs untouched on failure */

    /* Room for the inputs but not a step: the probe fails before any chain work. */
    CHECK_OK(ad_tape_bytes_for(D + P + 4, AD_F64, &tb));
    s = (chain_state){0};
    s.fail_at = SIZE_MAX;
    CHECK_STATUS(ad_chain_gradient(chain_mem, ws + tb, AD_F64, n, snaps, X0, D, THETA, P, step,
                                   loss, &s, gx, gp, &r),
                 AD_ERR_OUT_OF_MEMORY);
    CHECK(s.step_calls == 1 && s.loss_calls == 0);

    /* Exactly the documented size: the workspace plus the records of one step's tape. */
    {
        static unsigned char one[1 << 14];
        ad_tape *t;
        CHECK_OK(ad_tape_init(one, sizeof one, AD_F64, &t));
        ad_var x[D], theta[P], next[D];
        for (int i = 0; i < D; i++) x[i] = ad_input(t, X0[i]);
        for (int i = 0; i < P; i++) theta[i] = ad_input(t, THETA[i]);
        chain_state c = {0};
        c.fail_at = SIZE_MAX;
        CHECK_OK(step(t, 0, x, theta, next, &c));
        loss(t, next, theta, &c);
        CHECK_OK(ad_tape_len(t, &records));
        CHECK_OK(ad_tape_done(t));
    }
    CHECK_OK(ad_tape_bytes_for(records, AD_F64, &tb));
    s = (chain_state){0};
    s.fail_at = SIZE_MAX;
    CHECK_OK(ad_chain_gradient(chain_mem, ws + tb, AD_F64, n, snaps, X0, D, THETA, P, step, loss,
                               &s, gx, gp, &r));
    CHECK(r.peak_bytes <= ws + tb);
    /* The peak does not grow with the chain. */
    {
        ad_chain_report longer;
        s = (chain_state){0};
        s.fail_at = SIZE_MAX;
        CHECK_OK(ad_chain_gradient(chain_mem, ws + tb, AD_F64, 20 * n, snaps, X0, D, THETA, P,
                                   step, loss, &s, gx, gp, &longer));
        CHECK(longer.peak_bytes == r.peak_bytes);
    }
    /* Unaligned memory is fine. */
    s = (chain_state){0};
    s.fail_at = SIZE_MAX;
    CHECK_OK(ad_chain_gradient(chain_mem + 3, sizeof chain_mem - 3, AD_F64, n, snaps, X0, D, THETA,
                               P, step, loss, &s, gx, gp, NULL));
}

static void test_chain_failures(void) {
    double gx[D] = {-7, -7, -7}, gp[P] = {-7, -7};
    chain_state s = {0};
    size_t n = 20;

    /* A step failing at k = 5 (after the probe), with its own status. */
    s.fail_at = 5;
    CHECK_STATUS(ad_chain_gradient(chain_mem, sizeof chain_mem, AD_F64, n, 3, X0, D, THETA, P,
                                   step, loss, &s, gx, gp, NULL),
                 AD_ERR_NON_FINITE);
    CHECK(gx[0] == -7 && gp[0] == -7);
    /* A step that resets its tape: refused, and the chain fails. */
    s = (chain_state){0};
    s.fail_at = SIZE_MAX;
    s.reset_in_step = 1;
    CHECK_STATUS(ad_chain_gradient(chain_mem, sizeof chain_mem, AD_F64, n, 3, X0, D, THETA, P,
                                   step, loss, &s, gx, gp, NULL),
                 AD_ERR_REENTRANT);
    CHECK(s.step_calls == 1);

    /* Arguments. */
    s = (chain_state){0};
    s.fail_at = SIZE_MAX;
#define RUN(mem, len, dtype, steps, snaps, x0, d, th, p, st, lo, gx_, gp_)                      \
    ad_chain_gradient(mem, len, dtype, steps, snaps, x0, d, th, p, st, lo, &s, gx_, gp_, NULL)
    size_t L = sizeof chain_mem;
    CHECK_STATUS(RUN(NULL, L, AD_F64, n, 3, X0, D, THETA, P, step, loss, gx, gp), AD_ERR_NULL);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 3, NULL, D, THETA, P, step, loss, gx, gp), AD_ERR_NULL);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 3, X0, D, NULL, P, step, loss, gx, gp), AD_ERR_NULL);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 3, X0, D, THETA, P, NULL, loss, gx, gp), AD_ERR_NULL);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 3, X0, D, THETA, P, step, NULL, gx, gp), AD_ERR_NULL);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 3, X0, D, THETA, P, step, loss, NULL, gp), AD_ERR_NULL);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 3, X0, D, THETA, P, step, loss, gx, NULL), AD_ERR_NULL);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64_DUAL, n, 3, X0, D, THETA, P, step, loss, gx, gp),
                 AD_ERR_DTYPE_MISMATCH);
    CHECK_STATUS(RUN(chain_mem, L, (ad_dtype)99, n, 3, X0, D, THETA, P, step, loss, gx, gp),
                 AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 0, X0, D, THETA, P, step, loss, gx, gp),
                 AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 65, X0, D, THETA, P, step, loss, gx, gp),
                 AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 3, X0, SIZE_MAX / 4, THETA, P, step, loss, gx, gp),
                 AD_ERR_SIZE_OVERFLOW);
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 3, X0, D, THETA, P, step, loss, gx, gx),
                 AD_ERR_INVALID_ARGUMENT); /* the gradients overlap */
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 3, (const double *)chain_mem, D, THETA, P, step,
                     loss, gx, gp),
                 AD_ERR_INVALID_ARGUMENT); /* x0 inside mem */
    CHECK_STATUS(RUN(chain_mem, L, AD_F64, n, 3, (const double *)(chain_mem + 1), D, THETA, P,
                     step, loss, gx, gp),
                 AD_ERR_MISALIGNED);
#undef RUN
    CHECK(s.step_calls == 0 && s.loss_calls == 0);
    CHECK(gx[0] == -7 && gp[0] == -7);
}

int main(void) {
    test_segments_match_unmarked();
    test_segment_failures();
    test_tensor_segments();
    test_chain_matches_store_all();
    test_chain_finite_differences();
    test_chain_f32();
    test_chain_online();
    test_chain_eval();
    test_chain_memory();
    test_chain_failures();
    return check_summary();
}
