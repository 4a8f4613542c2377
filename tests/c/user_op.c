/* User-defined ops from C: derivatives against central differences, replay running the
 * forward callback again, saved state, a missing jvp, failing, NaN and re-entrant
 * callbacks leaving the tape usable after a reset, and an op inside a checkpoint block
 * giving the unmarked gradient bit for bit. */
#include <string.h>

#include "check.h"

static unsigned char mem[1 << 15], mem2[1 << 15];

/* What the callbacks see through user_data. */
typedef struct {
    int forward_calls, vjp_calls;
    int fail_forward, fail_vjp, nan;
    ad_tape *reenter; /* a tape to misuse from inside forward */
    ad_status reentry_status[3];
} ctx;

/* (r, t) -> (r cos t, r sin t), saving cos t and sin t. */
static int polar_forward(void *ud, const double *x, size_t n_in, double *y, size_t n_out,
                         double *state, size_t state_len) {
    ctx *c = ud;
    c->forward_calls++;
    if (n_in != 2 || n_out != 2 || state_len != 2) return 99;
    if (c->fail_forward) return 7;
    if (c->reenter) {
        ad_var any = {0, 0, 0, 0};
        c->reentry_status[0] = ad_tape_reset(c->reenter);
        c->reentry_status[1] = ad_backward(c->reenter, any);
        c->reentry_status[2] = ad_tape_done(c->reenter);
    }
    state[0] = cos(x[1]);
    state[1] = sin(x[1]);
    y[0] = c->nan ? NAN : x[0] * state[0];
    y[1] = x[0] * state[1];
    return 0;
}

static int polar_vjp(void *ud, const double *x, size_t n_in, const double *y, size_t n_out,
                     const double *state, size_t state_len, const double *dy, double *dx) {
    ctx *c = ud;
    (void)y, (void)n_in, (void)n_out, (void)state_len;
    c->vjp_calls++;
    if (c->fail_vjp) return -3;
    dx[0] = dy[0] * state[0] + dy[1] * state[1];
    dx[1] = -dy[0] * x[0] * state[1] + dy[1] * x[0] * state[0];
    return 0;
}

static int polar_jvp(void *ud, const double *x, size_t n_in, const double *y, size_t n_out,
                     const double *state, size_t state_len, const double *dx, double *dy) {
    (void)ud, (void)y, (void)n_in, (void)n_out, (void)state_len;
    dy[0] = dx[0] * state[0] - dx[1] * x[0] * state[1];
    dy[1] = dx[0] * state[1] + dx[1] * x[0] * state[0];
    return 0;
}

static ad_user_op_def polar_def(ctx *c) {
    ad_user_op_def def;
    def.forward = polar_forward;
    def.vjp = polar_vjp;
    def.jvp = polar_jvp;
    def.user_data = c;
    def.state_len = 2;
    return def;
}

/* f(r, t, z) = x*y + sin(x) + z*y with (x, y) = polar(r, t). */
static double f_plain(const double p[3]) {
    double x = p[0] * cos(p[1]), y = p[0] * sin(p[1]);
    return x * y + sin(x) + p[2] * y;
}

static ad_var f_taped(ad_tape *t, const ad_var in[3], const ad_user_op_def *def) {
    ad_var xy[2];
    if (ad_user_op(t, def, in, 2, xy, 2) != AD_OK) return xy[0];
    return ad_add(t, ad_add(t, ad_mul(t, xy[0], xy[1]), ad_sin(t, xy[0])), ad_mul(t, in[2], xy[1]));
}

static void derivatives_agree_with_central_differences(void) {
    static const double points[][3] = {{1.3, 0.4, -0.7}, {0.5, -2.2, 1.1}, {2.0, 3.0, 0.2}};
    ctx c = {0};
    ad_user_op_def def = polar_def(&c);
    ad_tape *t;
    ad_var in[3], out;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    for (int k = 0; k < 3; k++) in[k] = ad_input(t, points[0][k]);
    out = f_taped(t, in, &def);
    CHECK_OK(ad_tape_status(t));
    for (size_t p = 0; p < 3; p++) {
        double g[3], v;
        int calls = c.forward_calls;
        CHECK_OK(ad_replay(t, points[p], 3));
        CHECK(c.forward_calls == calls + 1);
        CHECK_OK(ad_value(t, out, &v));
        CHECK_NEAR(v, f_plain(points[p]), 1e-14);
        CHECK_OK(ad_gradient(t, out, g, 3));
        for (int k = 0; k < 3; k++) {
            double q[3], seeds[3] = {0, 0, 0}, plus, minus, tangent;
            const double h = 1e-6;
            memcpy(q, points[p], sizeof q);
            q[k] += h;
            plus = f_plain(q);
            q[k] -= 2 * h;
            minus = f_plain(q);
            CHECK_NEAR(g[k], (plus - minus) / (2 * h), 1e-6);
            seeds[k] = 1.0;
            CHECK_OK(ad_jvp(t, seeds, 3));
            CHECK_OK(ad_tangent(t, out, &tangent));
            CHECK_NEAR(tangent, g[k], 1e-13);
        }
    }
    CHECK(c.vjp_calls == 3);
    CHECK_OK(ad_tape_done(t));
}

static void a_missing_jvp_fails_forward_mode_only(void) {
    ctx c = {0};
    ad_user_op_def def = polar_def(&c);
    ad_tape *t;
    ad_var in[3], out;
    double seeds[3] = {1, 0, 0}, g[3];
    def.jvp = NULL;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    for (int k = 0; k < 3; k++) in[k] = ad_input(t, 1.0 + k);
    out = f_taped(t, in, &def);
    CHECK_STATUS(ad_jvp(t, seeds, 3), AD_ERR_NO_JVP);
    CHECK(strstr(ad_tape_error(t), "no JVP") != NULL);
    CHECK_OK(ad_tape_status(t));
    CHECK_OK(ad_gradient(t, out, g, 3));
    CHECK_OK(ad_tape_done(t));
}

/* After a reset, the tape computes a known gradient again. */
static void usable_again(ad_tape *t) {
    double g;
    ad_var x;
    CHECK_OK(ad_tape_reset(t));
    x = ad_input(t, 3.0);
    CHECK_OK(ad_gradient(t, ad_mul(t, x, x), &g, 1));
    CHECK(g == 6.0);
    CHECK_OK(ad_tape_reset(t));
}

static void misbehaving_callbacks_leave_the_tape_usable_after_reset(void) {
    ctx c = {0};
    ad_user_op_def def = polar_def(&c);
    ad_tape *t, *t32;
    ad_var in[2], out[2], three[3];
    double g[2], at[2] = {1.0, 2.0};
    size_t len;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));

    /* forward fails when recorded: nothing recorded, outputs invalid, the error kept. */
    c.fail_forward = 1;
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 0.5);
    CHECK_OK(ad_tape_len(t, &len));
    CHECK_STATUS(ad_user_op(t, &def, in, 2, out, 2), AD_ERR_CALLBACK_FAILED);
    CHECK(!ad_var_is_valid(out[0]) && !ad_var_is_valid(out[1]));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_CALLBACK_FAILED);
    CHECK(strstr(ad_tape_error(t), "code 7") != NULL);
    usable_again(t);

    /* forward fails when replayed. */
    c.fail_forward = 0;
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 0.5);
    CHECK_OK(ad_user_op(t, &def, in, 2, out, 2));
    c.fail_forward = 1;
    CHECK_STATUS(ad_replay(t, at, 2), AD_ERR_CALLBACK_FAILED);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_CALLBACK_FAILED);
    c.fail_forward = 0;
    usable_again(t);

    /* vjp fails. */
    c.fail_vjp = 1;
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 0.5);
    CHECK_OK(ad_user_op(t, &def, in, 2, out, 2));
    CHECK_STATUS(ad_gradient(t, out[1], g, 2), AD_ERR_CALLBACK_FAILED);
    CHECK(strstr(ad_tape_error(t), "code -3") != NULL);
    c.fail_vjp = 0;
    usable_again(t);

    /* NaN outputs: backward refuses a NaN output, as for any op. */
    c.nan = 1;
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 0.5);
    CHECK_OK(ad_user_op(t, &def, in, 2, out, 2));
    CHECK_STATUS(ad_gradient(t, out[0], g, 2), AD_ERR_NON_FINITE);
    c.nan = 0;
    usable_again(t);

    /* A callback that resets, sweeps or ends its own tape: refused, and sticky. */
    c.reenter = t;
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 0.5);
    CHECK_STATUS(ad_user_op(t, &def, in, 2, out, 2), AD_ERR_REENTRANT);
    CHECK(c.reentry_status[0] == AD_ERR_REENTRANT);
    CHECK(c.reentry_status[1] == AD_ERR_REENTRANT);
    CHECK(c.reentry_status[2] == AD_ERR_REENTRANT);
    c.reenter = NULL;
    usable_again(t);

    /* A callback that counts its arguments gets what the op was recorded with: a wrong
     * count is the callback's own failure, reported as such. */
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 0.5);
    three[0] = in[0];
    three[1] = in[1];
    three[2] = in[1];
    CHECK_STATUS(ad_user_op(t, &def, three, 3, out, 2), AD_ERR_CALLBACK_FAILED);
    CHECK(strstr(ad_tape_error(t), "code 99") != NULL);
    usable_again(t);

    /* Bad definitions. */
    in[0] = ad_input(t, 1.0);
    in[1] = ad_input(t, 0.5);
    def.vjp = NULL;
    CHECK_STATUS(ad_user_op(t, &def, in, 2, out, 2), AD_ERR_NULL);
    usable_again(t);
    def = polar_def(&c);
    in[0] = ad_input(t, 1.0);
    CHECK_STATUS(ad_user_op(t, &def, in, 1, out, 0), AD_ERR_INVALID_ARGUMENT);
    usable_again(t);
    CHECK_OK(ad_tape_init(mem2, sizeof mem2, AD_F32, &t32));
    in[0] = ad_input(t32, 1.0);
    in[1] = ad_input(t32, 0.5);
    CHECK_STATUS(ad_user_op(t32, &def, in, 2, out, 2), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_done(t32));
    CHECK_OK(ad_tape_done(t));
}

/* A checkpoint block that calls the op. */
static ad_status block(ad_tape *t, const ad_var *in, size_t n_in, ad_var *out, size_t n_out,
                       void *ud) {
    (void)n_in, (void)n_out;
    out[0] = f_taped(t, in, ud);
    return ad_tape_status(t);
}

static void an_op_inside_a_checkpoint_block_gives_the_unmarked_gradient(void) {
    static const double p[3] = {1.1, -0.6, 0.35};
    ctx c = {0};
    ad_user_op_def def = polar_def(&c);
    ad_tape *marked, *plain;
    ad_var in[3], pin[3], out, pout;
    double g[3], h[3];
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &marked));
    CHECK_OK(ad_tape_init(mem2, sizeof mem2, AD_F64, &plain));
    for (int k = 0; k < 3; k++) {
        in[k] = ad_input(marked, p[k]);
        pin[k] = ad_input(plain, p[k]);
    }
    CHECK_OK(ad_checkpoint(marked, block, &def, in, 3, &out, 1));
    out = ad_exp(marked, out);
    pout = ad_exp(plain, f_taped(plain, pin, &def));
    CHECK_OK(ad_gradient(marked, out, g, 3));
    CHECK_OK(ad_gradient(plain, pout, h, 3));
    CHECK(memcmp(g, h, sizeof g) == 0);
    CHECK_OK(ad_tape_done(marked));
    CHECK_OK(ad_tape_done(plain));
}

int main(void) {
    derivatives_agree_with_central_differences();
    a_missing_jvp_fails_forward_mode_only();
    misbehaving_callbacks_leave_the_tape_usable_after_reset();
    an_op_inside_a_checkpoint_block_gives_the_unmarked_gradient();
    return check_summary();
}
