/* header_sweep/rows_control.h: Rows: recorded comparisons, selections, branches and user-defined ops,
 * scalar and tensor.
 * Part of tests/c/header_sweep.c, one program: included there once, in order. */
#ifndef AUTODIFF_HEADER_SWEEP_ROWS_CONTROL_H
#define AUTODIFF_HEADER_SWEEP_ROWS_CONTROL_H

#include "framework.h"

/* ---- recorded comparisons, selections and branches ---- */

static void rows_compare(void) {
    size_t changed = 7, first = 7;
    double at[2] = {-3.0, 2.0};
    ad_var c;
    for (int form = 0; form < H_FORMS; form++) {
        handle_form h = (handle_form)form;
        uint64_t want = scalar_form_statuses(h);
        fresh();
        scalar_op_row("ad_compare", h, ad_var_is_valid(ad_compare(fx.t, AD_CMP_LT, scalar_form(h), fx.x)), __LINE__);
        fresh();
        scalar_op_row("ad_compare", h, ad_var_is_valid(ad_compare(fx.t, AD_CMP_LT, fx.x, scalar_form(h))), __LINE__);
        fresh();
        scalar_op_row("ad_compare_const", h, ad_var_is_valid(ad_compare_const(fx.t, AD_CMP_GE, scalar_form(h), 0.0)), __LINE__);
        fresh();
        c = ad_compare(fx.t, AD_CMP_LT, fx.x, fx.y);
        scalar_op_row("ad_select", h, ad_var_is_valid(ad_select(fx.t, c, scalar_form(h), fx.x)), __LINE__);
        fresh();
        scalar_op_row("ad_select", h, ad_var_is_valid(ad_select(fx.t, scalar_form(h), fx.x, fx.y)), __LINE__);
        /* A live variable that is not a comparison is no branch condition. */
        fresh();
        CHECK(!ad_branch(fx.t, scalar_form(h)));
        row_is_op = 1;
        row_result("ad_branch", "ad_branch(t, <form>)", ad_tape_status(fx.t),
                   want == S(AD_OK) ? S(AD_ERR_INVALID_ARGUMENT) : want, NULL, __LINE__);
        row_is_op = 0;
    }
    EXPECT_VAR(AD_ERR_INVALID_ARGUMENT, ad_compare, fx.t, (ad_cmp)6, fx.x, fx.y);
    EXPECT_VAR(AD_ERR_INVALID_ARGUMENT, ad_compare, fx.t, (ad_cmp)-1, fx.x, fx.y);
    EXPECT_VAR(AD_ERR_INVALID_ARGUMENT, ad_compare_const, fx.t, (ad_cmp)INT_MAX, fx.x, 1.0);
    EXPECT_VAR(AD_OK, ad_compare_const, fx.t, AD_CMP_NE, fx.x, NAN);
    EXPECT_VAR(AD_OK, ad_compare, fx.t32, AD_CMP_EQ, fx.x32, fx.x32);
    EXPECT_VAR(AD_OK, ad_compare_const, fx.td, AD_CMP_GT, fx.xd, 1.0);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_compare, sticky_t(), AD_CMP_LT, fx.x, fx.y);
    EXPECT_VAR(NO_TAPE, ad_compare, NULL, AD_CMP_LT, fx.x, fx.y);
    EXPECT_VAR(NO_TAPE, ad_compare_const, fx.ended, AD_CMP_LT, fx.x, 1.0);
    EXPECT_VAR(NO_TAPE, ad_select, NULL, fx.x, fx.x, fx.y);
    CHECK(!ad_branch(NULL, fx.x));
    CHECK(!ad_branch(fx.ended, fx.x));
    fresh();
    CHECK(ad_branch(fx.td, ad_compare_const(fx.td, AD_CMP_GT, fx.xd, 1.0)));
    CHECK(ad_tape_status(fx.td) == AD_OK);

    EXPECT(AD_ERR_NULL, ad_tape_branch_changes, NULL, &changed, &first);
    EXPECT(AD_ERR_NULL, ad_tape_branch_changes, fx.t, NULL, &first);
    EXPECT(AD_ERR_NULL, ad_tape_branch_changes, fx.t, &changed, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_tape_branch_changes, fx.t, (size_t *)(void *)(mem_t + 1), &first);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_branch_changes, fx.ended, &changed, &first);
    EXPECT(AD_OK, ad_tape_branch_changes, sticky_t(), &changed, &first);
    CHECK(changed == 0 && first == 0);
    /* A replay across a branch: the status, and the numbers behind it. */
    fresh();
    CHECK(ad_branch(fx.t, ad_compare(fx.t, AD_CMP_GT, fx.x, fx.y)));
    EXPECT_HERE(AD_ERR_BRANCH_CHANGED, ad_replay, fx.t, at, 2);
    row_sticky = ad_tape_status(fx.t);
    EXPECT_HERE(AD_OK, ad_tape_branch_changes, fx.t, &changed, &first);
    CHECK(changed == 1 && first == 0);
    EXPECT_HERE(AD_ERR_BRANCH_CHANGED, ad_backward, fx.t, fx.f);
}

/* ---- user-defined ops ---- */

static int sweep_forward(void *ud, const double *x, size_t n_in, double *y, size_t n_out,
                         double *state, size_t state_len) {
    (void)ud, (void)state, (void)state_len;
    for (size_t j = 0; j < n_out; j++) y[j] = n_in ? 2.0 * x[0] : 1.0;
    return ud ? 5 : 0; /* non-NULL user data: fail */
}

static int sweep_vjp(void *ud, const double *x, size_t n_in, const double *y, size_t n_out,
                     const double *state, size_t state_len, const double *dy, double *dx) {
    (void)ud, (void)x, (void)y, (void)state, (void)state_len;
    for (size_t k = 0; k < n_in; k++)
        for (size_t j = 0; j < n_out; j++) dx[k] += 2.0 * dy[j];
    return 0;
}

static void rows_user_ops(void) {
    ad_user_op_def def = {sweep_forward, sweep_vjp, NULL, NULL, 1};
    ad_user_op_def failing = {sweep_forward, sweep_vjp, NULL, &def, 0};
    ad_user_op_def no_forward = {NULL, sweep_vjp, NULL, NULL, 0};
    ad_user_op_def no_vjp = {sweep_forward, NULL, NULL, NULL, 0};
    ad_var in[2], out[2];
    double seeds[2] = {1, 0};
    for (int form = 0; form < H_FORMS; form++) {
        handle_form h = (handle_form)form;
        fresh();
        in[0] = scalar_form(h);
        in[1] = fx.y;
        row_result("ad_user_op", "ad_user_op(t, <form>)", ad_user_op(fx.t, &def, in, 2, out, 2),
                   scalar_form_statuses(h), NULL, __LINE__);
    }
    /* The inputs, read after each row's fresh fixture. */
#define USER_IN (in[0] = fx.x, in[1] = fx.y, in)
    EXPECT(AD_OK, ad_user_op, fx.t, &def, USER_IN, 2, out, 2);
    EXPECT(AD_OK, ad_user_op, fx.t, &def, NULL, 0, out, 1);
    EXPECT(AD_ERR_NULL, ad_user_op, NULL, &def, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_user_op, fx.ended, &def, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_NULL, ad_user_op, fx.t, NULL, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_NULL, ad_user_op, fx.t, &no_forward, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_NULL, ad_user_op, fx.t, &no_vjp, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_NULL, ad_user_op, fx.t, &def, NULL, 2, out, 2);
    EXPECT(AD_ERR_NULL, ad_user_op, fx.t, &def, USER_IN, 2, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_user_op, fx.t, (const ad_user_op_def *)(const void *)(mem_t + 1), USER_IN, 2, out, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_user_op, fx.t, &def, USER_IN, 2, (ad_var *)(void *)(mem_t + 1), 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_user_op, fx.t, &def, USER_IN, 2, out, 0);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_user_op, fx.t, &def, USER_IN, 2, in, 2);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_user_op, fx.t, &def, USER_IN, SIZE_MAX, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_user_op, fx.t32, &def, &fx.x32, 1, out, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_user_op, fx.td, &def, &fx.xd, 1, out, 1);
    EXPECT(AD_ERR_CALLBACK_FAILED, ad_user_op, fx.t, &failing, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_STALE_HANDLE, ad_user_op, sticky_t(), &def, USER_IN, 2, out, 2);
    /* Forward mode over an op with no jvp. */
    fresh();
    CHECK_OK(ad_user_op(fx.t, &def, USER_IN, 2, out, 2));
    EXPECT_HERE(AD_ERR_NO_JVP, ad_jvp, fx.t, seeds, 2);
#undef USER_IN
}

/* ---- tensor user ops ---- */

static int sweep_tensor_forward(void *ud, const ad_user_tensor_f64 *in, size_t n_in,
                                const ad_user_tensor_f64 *out, size_t n_out, double *state,
                                size_t state_len) {
    (void)state, (void)state_len;
    for (size_t j = 0; j < n_out; j++)
        for (size_t e = 0; e < out[j].len; e++) out[j].data[e] = n_in ? 2.0 * in[0].data[e % in[0].len] : 1.0;
    return ud ? 5 : 0; /* non-NULL user data: fail */
}

static int sweep_tensor_vjp(void *ud, const ad_user_tensor_f64 *in, size_t n_in,
                            const ad_user_tensor_f64 *out, size_t n_out, const double *state,
                            size_t state_len, const ad_user_tensor_f64 *dy,
                            const ad_user_tensor_f64 *dx) {
    (void)ud, (void)in, (void)out, (void)state, (void)state_len, (void)n_out, (void)dy;
    for (size_t k = 0; k < n_in; k++)
        for (size_t e = 0; e < dx[k].len; e++) dx[k].data[e] = 0.0;
    return 0;
}

static int sweep_tensor_forward_f32(void *ud, const ad_user_tensor_f32 *in, size_t n_in,
                                    const ad_user_tensor_f32 *out, size_t n_out, float *state,
                                    size_t state_len) {
    (void)ud, (void)in, (void)n_in, (void)state, (void)state_len;
    for (size_t j = 0; j < n_out; j++)
        for (size_t e = 0; e < out[j].len; e++) out[j].data[e] = 1.0f;
    return 0;
}

static int sweep_tensor_vjp_f32(void *ud, const ad_user_tensor_f32 *in, size_t n_in,
                                const ad_user_tensor_f32 *out, size_t n_out, const float *state,
                                size_t state_len, const ad_user_tensor_f32 *dy,
                                const ad_user_tensor_f32 *dx) {
    (void)ud, (void)in, (void)n_in, (void)out, (void)n_out, (void)state, (void)state_len;
    (void)dy, (void)dx;
    return 0;
}

static void rows_tensor_user_ops(void) {
    ad_tensor_user_op_def_f64 def = {sweep_tensor_forward, sweep_tensor_vjp, NULL, NULL, 2};
    ad_tensor_user_op_def_f64 failing = {sweep_tensor_forward, sweep_tensor_vjp, NULL, &def, 0};
    ad_tensor_user_op_def_f64 no_forward = {NULL, sweep_tensor_vjp, NULL, NULL, 0};
    ad_tensor_user_op_def_f64 no_vjp = {sweep_tensor_forward, NULL, NULL, NULL, 0};
    ad_tensor_user_op_def_f32 def32 = {sweep_tensor_forward_f32, sweep_tensor_vjp_f32, NULL, NULL, 0};
    const size_t ranks[2] = {2, 0}, rank5[1] = {5}, dims5[5] = {1, 1, 1, 1, 1};
    const size_t huge[4] = {SIZE_MAX / 2, 4, 1, 1}, rank4[1] = {4};
    ad_tensor in[1], out[2];
    double seeds[2] = {1, 0};
    for (int form = 0; form < T_FORMS; form++) {
        fresh();
        in[0] = tensor_form_of((tensor_form)form, fx.a);
        row_result("ad_tensor_user_op_f64", "ad_tensor_user_op_f64(t, <form>)",
                   ad_tensor_user_op_f64(fx.t, &def, in, 1, D23, ranks, out, 2),
                   tensor_form_statuses((tensor_form)form), NULL, __LINE__);
    }
    /* The input, read after each row's fresh fixture. */
#define TUSER_IN(x) (in[0] = (x), in)
    EXPECT(AD_OK, ad_tensor_user_op_f64, fx.t, &def, TUSER_IN(fx.a), 1, D23, ranks, out, 2);
    EXPECT(AD_OK, ad_tensor_user_op_f64, fx.t, &def, NULL, 0, D23, ranks, out, 1);
    EXPECT(AD_OK, ad_tensor_user_op_f32, fx.t32, &def32, TUSER_IN(fx.a32), 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_NULL, ad_tensor_user_op_f64, NULL, &def, TUSER_IN(fx.a), 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_user_op_f64, fx.ended, &def, TUSER_IN(fx.a), 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_NULL, ad_tensor_user_op_f64, fx.t, NULL, TUSER_IN(fx.a), 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_NULL, ad_tensor_user_op_f64, fx.t, &no_forward, TUSER_IN(fx.a), 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_NULL, ad_tensor_user_op_f64, fx.t, &no_vjp, TUSER_IN(fx.a), 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_NULL, ad_tensor_user_op_f64, fx.t, &def, NULL, 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_NULL, ad_tensor_user_op_f64, fx.t, &def, TUSER_IN(fx.a), 1, NULL, ranks, out, 2);
    EXPECT(AD_ERR_NULL, ad_tensor_user_op_f64, fx.t, &def, TUSER_IN(fx.a), 1, D23, NULL, out, 2);
    EXPECT(AD_ERR_NULL, ad_tensor_user_op_f64, fx.t, &def, TUSER_IN(fx.a), 1, D23, ranks, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_user_op_f64, fx.t,
           (const ad_tensor_user_op_def_f64 *)(const void *)(mem_t + 1), TUSER_IN(fx.a), 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_user_op_f64, fx.t, &def, TUSER_IN(fx.a), 1,
           (const size_t *)(const void *)(mem_t + 1), ranks, out, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_user_op_f64, fx.t, &def, TUSER_IN(fx.a), 1, D23, ranks, out, 0);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_user_op_f64, fx.t, &def, TUSER_IN(fx.a), 1, D23, ranks, in, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_user_op_f64, fx.t, &def, TUSER_IN(fx.a), 1, dims5, rank5, out, 1);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tensor_user_op_f64, fx.t, &def, TUSER_IN(fx.a), SIZE_MAX, D23, ranks, out, 2);
    EXPECT_ONE_OF(S(AD_ERR_SIZE_OVERFLOW) | S(AD_ERR_INVALID_ARGUMENT), ad_tensor_user_op_f64, fx.t, &def,
                  TUSER_IN(fx.a), 1, huge, rank4, out, 1);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_user_op_f64, fx.t, &def, TUSER_IN(AS_TENSOR(fx.x)), 1, D23,
           ranks, out, 2);
    EXPECT(AD_ERR_UNSUPPORTED_ON_DEVICE, ad_tensor_user_op_f64, fx.tdev, &def, TUSER_IN(fx.da), 1, D23,
           ranks, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_user_op_f64, fx.t32, &def, TUSER_IN(fx.a32), 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_user_op_f32, fx.t, &def32, TUSER_IN(fx.a), 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_user_op_f64, fx.td, &def, NULL, 0, D23, ranks, out, 1);
    EXPECT(AD_ERR_CALLBACK_FAILED, ad_tensor_user_op_f64, fx.t, &failing, TUSER_IN(fx.a), 1, D23, ranks, out, 2);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_user_op_f64, sticky_t(), &def, TUSER_IN(fx.a), 1, D23, ranks, out, 2);
    /* Forward mode over an op with no jvp. */
    fresh();
    CHECK_OK(ad_tensor_user_op_f64(fx.t, &def, TUSER_IN(fx.a), 1, D23, ranks, out, 2));
    EXPECT_HERE(AD_ERR_NO_JVP, ad_jvp, fx.t, seeds, 2);
#undef TUSER_IN
}

/* ---------------------------------------------------------------------------------
 * After all of it: every tape computes a gradient again after a reset
 * ------------------------------------------------------------------------------- */

#endif
