/* Tensor user ops from C: a softmax with a hand-written VJP and JVP, checked against the
 * built-in ad_softmax and central differences on AD_F64, and on AD_F32; replay running
 * the forward callback again; a missing jvp; failing, NaN, re-entrant and recording
 * callbacks leaving the tape usable after a reset; bad arguments refused when recorded;
 * and the op inside a checkpoint block giving the unmarked gradient bit for bit. */
#include <string.h>

#include "check.h"

#define ROWS 3
#define COLS 4
#define N (ROWS * COLS)

static unsigned char mem[1 << 16], mem2[1 << 16];

/* What the callbacks see through user_data. */
typedef struct {
    int forward_calls, vjp_calls;
    int fail_forward, fail_vjp, fail_jvp, nan;
    int reset_inside, record_inside;
    ad_tape *tape;
    ad_status inside_status;
} ctx;

/* Softmax along the last axis, row by row, for both element types. */
#define SOFTMAX_ROWS(T, EXP, x, y, rows, cols)                                           \
    do {                                                                               \
        size_t r_, c_;                                                                 \
        for (r_ = 0; r_ < (rows); r_++) {                                              \
            const T *xr_ = (x) + r_ * (cols);                                          \
            T *yr_ = (y) + r_ * (cols), max_ = xr_[0], total_ = 0;                     \
            for (c_ = 1; c_ < (cols); c_++) max_ = xr_[c_] > max_ ? xr_[c_] : max_;   \
            for (c_ = 0; c_ < (cols); c_++) total_ += yr_[c_] = EXP(xr_[c_] - max_);  \
            for (c_ = 0; c_ < (cols); c_++) yr_[c_] /= total_;                        \
        }                                                                              \
    } while (0)

/* d = y * (s - sum(y * s)) row by row: the VJP (s = dy) and, the Jacobian being
 * symmetric, the JVP (s = dx). */
#define SOFTMAX_DERIVATIVE(T, y, s, d, rows, cols)                                       \
    do {                                                                               \
        size_t r_, c_;                                                                 \
        for (r_ = 0; r_ < (rows); r_++) {                                              \
            const T *yr_ = (y) + r_ * (cols), *sr_ = (s) + r_ * (cols);                \
            T *dr_ = (d) + r_ * (cols), dot_ = 0;                                      \
            for (c_ = 0; c_ < (cols); c_++) dot_ += yr_[c_] * sr_[c_];                 \
            for (c_ = 0; c_ < (cols); c_++) dr_[c_] = yr_[c_] * (sr_[c_] - dot_);      \
        }                                                                              \
    } while (0)

static size_t rows_of(const ad_user_tensor_f64 *x) { return x->len / x->dims[x->rank - 1]; }

static int softmax_forward(void *ud, const ad_user_tensor_f64 *in, size_t n_in,
                           const ad_user_tensor_f64 *out, size_t n_out, double *state,
                           size_t state_len) {
    ctx *c = ud;
    (void)state;
    c->forward_calls++;
    if (n_in != 1 || n_out != 1 || state_len != 0 || in[0].rank != 2) return 99;
    if (in[0].len != out[0].len || out[0].dims[1] != in[0].dims[1]) return 98;
    if (c->fail_forward) return 7;
    if (c->reset_inside) c->inside_status = ad_tape_reset(c->tape);
    if (c->record_inside) {
        double one = 1.0;
        ad_tensor_const_f64(c->tape, NULL, 0, &one, 1);
    }
    SOFTMAX_ROWS(double, exp, in[0].data, out[0].data, rows_of(in), in[0].dims[1]);
    if (c->nan) out[0].data[0] = NAN;
    return 0;
}

static int softmax_vjp(void *ud, const ad_user_tensor_f64 *in, size_t n_in,
                       const ad_user_tensor_f64 *out, size_t n_out, const double *state,
                       size_t state_len, const ad_user_tensor_f64 *dy,
                       const ad_user_tensor_f64 *dx) {
    ctx *c = ud;
    (void)n_in, (void)n_out, (void)state, (void)state_len;
    c->vjp_calls++;
    if (c->fail_vjp) return -3;
    SOFTMAX_DERIVATIVE(double, out[0].data, dy[0].data, dx[0].data, rows_of(in), in[0].dims[1]);
    return 0;
}

static int softmax_jvp(void *ud, const ad_user_tensor_f64 *in, size_t n_in,
                       const ad_user_tensor_f64 *out, size_t n_out, const double *state,
                       size_t state_len, const ad_user_tensor_f64 *dx,
                       const ad_user_tensor_f64 *dy) {
    ctx *c = ud;
    (void)n_in, (void)n_out, (void)state, (void)state_len;
    if (c->fail_jvp) return 5;
    SOFTMAX_DERIVATIVE(double, out[0].data, dx[0].data, dy[0].data, rows_of(in), in[0].dims[1]);
    return 0;
}

static ad_tensor_user_op_def_f64 softmax_def(ctx *c) {
    ad_tensor_user_op_def_f64 def;
    def.forward = softmax_forward;
    def.vjp = softmax_vjp;
    def.jvp = softmax_jvp;
    def.user_data = c;
    def.state_len = 0;
    return def;
}

static const size_t dims[2] = {ROWS, COLS};
static double x0[N], w0[N];

/* A fixed pseudo-random number in [-1, 1). */
static double noise(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return (double)(*state >> 8) / (double)(1u << 23) - 1.0;
}

/* sum(softmax(x) * w), by the user op (def) or by ad_softmax (def NULL). */
static ad_tensor loss(ad_tape *t, ad_tensor x, ad_tensor w, const ad_tensor_user_op_def_f64 *def) {
    ad_tensor p;
    if (def) {
        size_t ranks[1] = {2};
        if (ad_tensor_user_op_f64(t, def, &x, 1, dims, ranks, &p, 1) != AD_OK) return p;
    } else {
        p = ad_softmax(t, x);
    }
    return ad_tensor_sum(t, ad_tensor_mul(t, p, w));
}

static double plain_loss(const double *x) {
    double y[N], total = 0;
    size_t i;
    SOFTMAX_ROWS(double, exp, x, y, (size_t)ROWS, (size_t)COLS);
    for (i = 0; i < N; i++) total += y[i] * w0[i];
    return total;
}

/* The loss's value and gradient at x0 on a fresh tape in `m`. */
static void value_and_grad(unsigned char *m, size_t len, const ad_tensor_user_op_def_f64 *def,
                           double *value, double *grad) {
    ad_tape *t;
    CHECK_OK(ad_tape_init(m, len, AD_F64, &t));
    ad_tensor x = ad_tensor_input_f64(t, dims, 2, x0, N);
    ad_tensor w = ad_tensor_const_f64(t, dims, 2, w0, N);
    ad_tensor l = loss(t, x, w, def);
    CHECK_OK(ad_backward(t, ad_tensor_as_var(t, l)));
    CHECK_OK(ad_tensor_value_f64(t, l, value, 1));
    CHECK_OK(ad_tensor_grad_f64(t, x, grad, N));
    CHECK_OK(ad_tape_done(t));
}

static void derivatives_agree_with_built_in_softmax_and_central_differences(void) {
    ctx c = {0};
    ad_tensor_user_op_def_f64 def = softmax_def(&c);
    double v, rv, g[N], rg[N], tangent, directional = 0, seed[N];
    size_t i;
    ad_tape *t;
    value_and_grad(mem, sizeof mem, &def, &v, g);
    value_and_grad(mem2, sizeof mem2, NULL, &rv, rg);
    CHECK_NEAR(v, rv, 1e-14);
    for (i = 0; i < N; i++) {
        double xp[N], xm[N], h = 1e-6;
        memcpy(xp, x0, sizeof xp);
        memcpy(xm, x0, sizeof xm);
        xp[i] += h;
        xm[i] -= h;
        CHECK_NEAR(g[i], rg[i], 1e-13);
        CHECK_NEAR(g[i], (plain_loss(xp) - plain_loss(xm)) / (2 * h), 1e-8);
        seed[i] = 0.5 - (double)i / N;
        directional += g[i] * seed[i];
    }
    CHECK(c.forward_calls == 1 && c.vjp_calls == 1);

    /* Forward mode: the tangent of the loss along `seed` is grad . seed. */
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    ad_tensor x = ad_tensor_input_f64(t, dims, 2, x0, N);
    ad_tensor w = ad_tensor_const_f64(t, dims, 2, w0, N);
    ad_tensor l = loss(t, x, w, &def);
    CHECK_OK(ad_tensor_seed_tangent_f64(t, x, seed, N));
    CHECK_OK(ad_jvp(t, NULL, 0));
    CHECK_OK(ad_tensor_tangent_f64(t, l, &tangent, 1));
    CHECK_NEAR(tangent, directional, 1e-13);
    CHECK_OK(ad_tape_done(t));
}

static void replay_runs_forward_again(void) {
    ctx c = {0};
    ad_tensor_user_op_def_f64 def = softmax_def(&c);
    double moved[N], v, g[N], fresh_v, fresh_g[N], saved[N];
    size_t i;
    ad_tape *t;
    for (i = 0; i < N; i++) moved[i] = x0[i] * 1.5 - 0.25;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    ad_tensor x = ad_tensor_input_f64(t, dims, 2, x0, N);
    ad_tensor w = ad_tensor_const_f64(t, dims, 2, w0, N);
    ad_tensor l = loss(t, x, w, &def);
    CHECK_OK(ad_tensor_set_value_f64(t, x, moved, N));
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, l)), AD_ERR_MODIFIED_IN_PLACE);
    CHECK_OK(ad_replay(t, NULL, 0));
    CHECK(c.forward_calls == 2);
    CHECK_OK(ad_backward(t, ad_tensor_as_var(t, l)));
    CHECK_OK(ad_tensor_value_f64(t, l, &v, 1));
    CHECK_OK(ad_tensor_grad_f64(t, x, g, N));
    CHECK_OK(ad_tape_done(t));
    memcpy(saved, x0, sizeof saved);
    memcpy(x0, moved, sizeof x0);
    value_and_grad(mem2, sizeof mem2, &def, &fresh_v, fresh_g);
    memcpy(x0, saved, sizeof x0);
    CHECK(memcmp(&v, &fresh_v, sizeof v) == 0);
    CHECK(memcmp(g, fresh_g, sizeof g) == 0);
}

/* The f32 forms: the same softmax on float data. */
static int softmax_forward_f32(void *ud, const ad_user_tensor_f32 *in, size_t n_in,
                               const ad_user_tensor_f32 *out, size_t n_out, float *state,
                               size_t state_len) {
    (void)ud, (void)n_in, (void)n_out, (void)state, (void)state_len;
    SOFTMAX_ROWS(float, expf, in[0].data, out[0].data, in[0].len / in[0].dims[1], in[0].dims[1]);
    return 0;
}

static int softmax_vjp_f32(void *ud, const ad_user_tensor_f32 *in, size_t n_in,
                           const ad_user_tensor_f32 *out, size_t n_out, const float *state,
                           size_t state_len, const ad_user_tensor_f32 *dy,
                           const ad_user_tensor_f32 *dx) {
    (void)ud, (void)n_in, (void)n_out, (void)state, (void)state_len;
    SOFTMAX_DERIVATIVE(float, out[0].data, dy[0].data, dx[0].data, in[0].len / in[0].dims[1],
                       in[0].dims[1]);
    return 0;
}

static void an_f32_op_matches_built_in_softmax(void) {
    ad_tensor_user_op_def_f32 def = {softmax_forward_f32, softmax_vjp_f32, NULL, NULL, 0};
    float x[N], w[N], g[2][N];
    size_t i, ranks[1] = {2};
    int by_op;
    for (i = 0; i < N; i++) x[i] = (float)x0[i], w[i] = (float)w0[i];
    for (by_op = 0; by_op < 2; by_op++) {
        ad_tape *t;
        ad_tensor p;
        CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F32, &t));
        ad_tensor xt = ad_tensor_input_f32(t, dims, 2, x, N);
        if (by_op) {
            CHECK_OK(ad_tensor_user_op_f32(t, &def, &xt, 1, dims, ranks, &p, 1));
        } else {
            p = ad_softmax(t, xt);
        }
        ad_tensor l = ad_tensor_sum(t, ad_tensor_mul(t, p, ad_tensor_const_f32(t, dims, 2, w, N)));
        CHECK_OK(ad_backward(t, ad_tensor_as_var(t, l)));
        CHECK_OK(ad_tensor_grad_f32(t, xt, g[by_op], N));
        /* No jvp: forward mode fails, and only that call. */
        if (by_op) {
            CHECK_STATUS(ad_jvp(t, NULL, 0), AD_ERR_NO_JVP);
            CHECK_OK(ad_tape_status(t));
        }
        CHECK_OK(ad_tape_done(t));
    }
    for (i = 0; i < N; i++) CHECK_NEAR(g[1][i], g[0][i], 1e-6);
}

/* Records the op on x0 into a fresh tape; returns the loss. */
static ad_tensor record(ad_tape *t, const ad_tensor_user_op_def_f64 *def) {
    ad_tensor x = ad_tensor_input_f64(t, dims, 2, x0, N);
    ad_tensor w = ad_tensor_const_f64(t, dims, 2, w0, N);
    return loss(t, x, w, def);
}

/* After a reset the tape records and differentiates again. */
static void usable_again(ad_tape *t) {
    ctx c = {0};
    ad_tensor_user_op_def_f64 def = softmax_def(&c);
    CHECK_OK(ad_tape_reset(t));
    CHECK_OK(ad_backward(t, ad_tensor_as_var(t, record(t, &def))));
    CHECK_OK(ad_tape_reset(t));
}

static void failing_nan_and_misbehaving_callbacks(void) {
    ctx c = {0};
    ad_tensor_user_op_def_f64 def = softmax_def(&c);
    ad_tape *t;
    ad_tensor x, out;
    double value;
    size_t ranks[1] = {2}, len;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    c.tape = t;

    /* forward fails when recorded: nothing recorded, the output invalid, sticky. */
    c.fail_forward = 1;
    x = ad_tensor_input_f64(t, dims, 2, x0, N);
    CHECK_OK(ad_tape_len(t, &len));
    CHECK_STATUS(ad_tensor_user_op_f64(t, &def, &x, 1, dims, ranks, &out, 1), AD_ERR_CALLBACK_FAILED);
    CHECK(!ad_tensor_is_valid(out));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_CALLBACK_FAILED);
    CHECK(strstr(ad_tape_error(t), "7") != NULL);
    usable_again(t);

    /* vjp fails: backward reports it, and the tape keeps it. */
    c.fail_forward = 0;
    c.fail_vjp = 1;
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, record(t, &def))), AD_ERR_CALLBACK_FAILED);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_CALLBACK_FAILED);
    usable_again(t);

    /* jvp fails: sticky too. */
    c.fail_vjp = 0;
    c.fail_jvp = 1;
    record(t, &def);
    CHECK_STATUS(ad_jvp(t, NULL, 0), AD_ERR_CALLBACK_FAILED);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_CALLBACK_FAILED);
    usable_again(t);

    /* NaN flows as a value; backward from a NaN loss is refused. */
    c.fail_jvp = 0;
    c.nan = 1;
    out = record(t, &def);
    CHECK_OK(ad_tensor_value_f64(t, out, &value, 1));
    CHECK(isnan(value));
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, out)), AD_ERR_NON_FINITE);
    usable_again(t);

    /* A callback that resets its tape is refused, and the op fails. */
    c.nan = 0;
    c.reset_inside = 1;
    x = ad_tensor_input_f64(t, dims, 2, x0, N);
    CHECK_STATUS(ad_tensor_user_op_f64(t, &def, &x, 1, dims, ranks, &out, 1), AD_ERR_REENTRANT);
    CHECK_STATUS(c.inside_status, AD_ERR_REENTRANT);
    usable_again(t);

    /* A callback that records on its tape fails the op. */
    c.reset_inside = 0;
    c.record_inside = 1;
    x = ad_tensor_input_f64(t, dims, 2, x0, N);
    CHECK_STATUS(ad_tensor_user_op_f64(t, &def, &x, 1, dims, ranks, &out, 1), AD_ERR_REENTRANT);
    usable_again(t);
    CHECK_OK(ad_tape_done(t));
}

static void bad_arguments_are_refused(void) {
    ctx c = {0};
    ad_tensor_user_op_def_f64 def = softmax_def(&c), no_vjp = softmax_def(&c);
    ad_tensor_user_op_def_f32 def32 = {softmax_forward_f32, softmax_vjp_f32, NULL, NULL, 0};
    size_t ranks[1] = {2}, rank5[1] = {5}, dims5[5] = {1, 1, 1, 1, 1};
    ad_tensor x, out;
    ad_tape *t;
    no_vjp.vjp = NULL;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    x = ad_tensor_input_f64(t, dims, 2, x0, N);
    CHECK_STATUS(ad_tensor_user_op_f64(NULL, &def, &x, 1, dims, ranks, &out, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_user_op_f64(t, NULL, &x, 1, dims, ranks, &out, 1), AD_ERR_NULL);
    usable_again(t);
    x = ad_tensor_input_f64(t, dims, 2, x0, N);
    CHECK_STATUS(ad_tensor_user_op_f64(t, &no_vjp, &x, 1, dims, ranks, &out, 1), AD_ERR_NULL);
    usable_again(t);
    x = ad_tensor_input_f64(t, dims, 2, x0, N);
    CHECK_STATUS(ad_tensor_user_op_f64(t, &def, &x, 1, NULL, ranks, &out, 1), AD_ERR_NULL);
    usable_again(t);
    x = ad_tensor_input_f64(t, dims, 2, x0, N);
    CHECK_STATUS(ad_tensor_user_op_f64(t, &def, &x, 1, dims5, rank5, &out, 1), AD_ERR_INVALID_ARGUMENT);
    usable_again(t);
    x = ad_tensor_input_f64(t, dims, 2, x0, N);
    CHECK_STATUS(ad_tensor_user_op_f64(t, &def, &x, 1, dims, ranks, &out, 0), AD_ERR_INVALID_ARGUMENT);
    usable_again(t);
    x = ad_tensor_input_f64(t, dims, 2, x0, N);
    CHECK_STATUS(ad_tensor_user_op_f32(t, &def32, &x, 1, dims, ranks, &out, 1), AD_ERR_DTYPE_MISMATCH);
    usable_again(t);
    /* A stale input. */
    x = ad_tensor_input_f64(t, dims, 2, x0, N);
    CHECK_OK(ad_tape_reset(t));
    CHECK_STATUS(ad_tensor_user_op_f64(t, &def, &x, 1, dims, ranks, &out, 1), AD_ERR_STALE_HANDLE);
    usable_again(t);
    CHECK(c.forward_calls == 0); /* every refusal came before the callback */
    CHECK_OK(ad_tape_done(t));
}

/* A checkpoint block over tensors whose only op is the softmax user op. */
static ad_status block(ad_tape *t, const ad_tensor *in, size_t n_in, ad_tensor *out, size_t n_out,
                       void *user_data) {
    (void)n_in, (void)n_out;
    out[0] = loss(t, in[0], in[1], user_data);
    return ad_tape_status(t);
}

static void an_op_inside_a_checkpoint_block_gives_the_unmarked_gradient_bitwise(void) {
    ctx c = {0};
    ad_tensor_user_op_def_f64 def = softmax_def(&c);
    double g[N], plain[N], value;
    ad_tape *t;
    ad_tensor in[2], out[1];
    value_and_grad(mem2, sizeof mem2, &def, &value, plain);
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    in[0] = ad_tensor_input_f64(t, dims, 2, x0, N);
    in[1] = ad_tensor_const_f64(t, dims, 2, w0, N);
    CHECK_OK(ad_checkpoint_tensors(t, block, &def, in, 2, out, 1));
    CHECK_OK(ad_backward(t, ad_tensor_as_var(t, out[0])));
    CHECK_OK(ad_tensor_grad_f64(t, in[0], g, N));
    CHECK(memcmp(g, plain, sizeof g) == 0);
    CHECK_OK(ad_tape_done(t));
}

int main(void) {
    unsigned seed = 12345u;
    size_t i;
    for (i = 0; i < N; i++) x0[i] = 2.0 * noise(&seed), w0[i] = noise(&seed);
    derivatives_agree_with_built_in_softmax_and_central_differences();
    replay_runs_forward_again();
    an_f32_op_matches_built_in_softmax();
    failing_nan_and_misbehaving_callbacks();
    bad_arguments_are_refused();
    an_op_inside_a_checkpoint_block_gives_the_unmarked_gradient_bitwise();
    return check_summary();
}
