/* Chain gradients from C (ad_chain_gradient, ad_chain_gradient_eval,
 * ad_chain_gradient_online) against the whole chain recorded on one tape through the C
 * API, bit for bit, and against finite differences, with the binomial schedule's
 * optimal recomputation counts, memory errors before any callback, and bad arguments. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

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

    /* Exactly the documented size: the workspace plus the records of one step's tape, with
     * each constant float does not hold (the step's D scalings by H = 0.01) counted as one. */
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
    CHECK_OK(ad_tape_bytes_for(records + D, AD_F64, &tb));
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
    test_chain_matches_store_all();
    test_chain_finite_differences();
    test_chain_f32();
    test_chain_online();
    test_chain_eval();
    test_chain_memory();
    test_chain_failures();
    return check_summary();
}
