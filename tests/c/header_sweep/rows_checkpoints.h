/* header_sweep/rows_checkpoints.h: Rows: checkpointed segments and chains.
 * Part of tests/c/header_sweep.c, one program: included there once, in order. */
#ifndef AUTODIFF_HEADER_SWEEP_ROWS_CHECKPOINTS_H
#define AUTODIFF_HEADER_SWEEP_ROWS_CHECKPOINTS_H

#include "framework.h"

/* ---- checkpoints ---- */

typedef enum { B_SIN, B_UNSET, B_STATUS, B_HAND_BACK, B_SCALE, B_MISUSE } block_kind;

static ad_status scalar_block(ad_tape *t, const ad_var *in, size_t n_in, ad_var *out, size_t n_out,
                              void *user_data) {
    block_kind kind = *(const block_kind *)user_data;
    (void)n_in;
    if (kind == B_STATUS) return AD_ERR_NON_FINITE;
    if (kind == B_MISUSE) {
        /* Inside a block its tape is lent: reset and end are refused (and fail the tape). */
        EXPECT_HERE(AD_ERR_REENTRANT, ad_tape_reset, t);
        EXPECT_HERE(AD_ERR_REENTRANT, ad_tape_done, t);
        /* ...and so is a sweep of the tape the block runs on. */
        EXPECT_HERE(AD_ERR_REENTRANT, ad_backward, t, in[0]);
        EXPECT_HERE(AD_ERR_REENTRANT, ad_replay, t, NULL, 0);
        ad_tape_free(t); /* refused likewise */
    }
    if (kind != B_UNSET)
        for (size_t i = 0; i < n_out; i++) out[i] = ad_sin(t, in[0]);
    return ad_tape_status(t);
}

static ad_status tensor_block(ad_tape *t, const ad_tensor *in, size_t n_in, ad_tensor *out,
                              size_t n_out, void *user_data) {
    block_kind kind = *(const block_kind *)user_data;
    (void)n_in;
    if (kind == B_STATUS) return AD_ERR_BACKEND;
    for (size_t i = 0; i < n_out && kind != B_UNSET; i++)
        out[i] = kind == B_HAND_BACK ? in[0] : ad_tensor_scale(t, in[0], 2.0);
    return ad_tape_status(t);
}

static void rows_checkpoints(void) {
    block_kind sin_block = B_SIN, unset = B_UNSET, status = B_STATUS, hand_back = B_HAND_BACK,
               scale = B_SCALE, misuse = B_MISUSE;
    ad_var in[2], out[2];
    ad_tensor tin[2], tout[2];

#define VARS2(a, b) (in[0] = (a), in[1] = (b), in)
#define TENSORS1(a) (tin[0] = (a), tin)
    EXPECT(AD_OK, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_OK, ad_checkpoint, fx.t32, scalar_block, &sin_block, VARS2(fx.x32, fx.x32), 2, out, 2);
    EXPECT(AD_OK, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.y), 1, out, 0);
    EXPECT(AD_ERR_NULL, ad_checkpoint, NULL, scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint, fx.t, NULL, &sin_block, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint, fx.t, scalar_block, &sin_block, NULL, 2, out, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, NULL, 1);
    EXPECT(AD_ERR_MISALIGNED, ad_checkpoint, fx.t, scalar_block, &sin_block,
           (const ad_var *)(void *)(mem_ended + 2), 1, out, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, in, 1);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.y), SIZE_MAX, out, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.stale), 2, out, 1);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.fu, fx.y), 2, out, 1);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_checkpoint, fx.t, scalar_block, &sin_block,
                  VARS2(fx.x, WITH_INDEX_VAR(fx.x, 555)), 2, out, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_checkpoint, fx.t, scalar_block, &unset, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_NON_FINITE, ad_checkpoint, fx.t, scalar_block, &status, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_REENTRANT, ad_checkpoint, fx.t, scalar_block, &misuse, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_checkpoint, fx.td, scalar_block, &sin_block, VARS2(fx.xd, fx.xd), 2, out, 1);
    EXPECT(AD_ERR_INVALID_TAPE, ad_checkpoint, fx.ended, scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_checkpoint, sticky_t(), scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, out, 1);
    /* A failed checkpoint is sticky: the tape reports it, and reset clears it. */
    fresh();
    (void)ad_checkpoint(fx.t, scalar_block, &unset, VARS2(fx.x, fx.y), 2, out, 1);
    CHECK(ad_tape_status(fx.t) == AD_ERR_INVALID_ARGUMENT && !ad_var_is_valid(out[0]));

    EXPECT(AD_OK, ad_checkpoint_tensors, fx.t, tensor_block, &scale, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint_tensors, NULL, tensor_block, &scale, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint_tensors, fx.t, NULL, &scale, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint_tensors, fx.t, tensor_block, &scale, NULL, 1, tout, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint_tensors, fx.t, tensor_block, &scale, TENSORS1(fx.a), 1, NULL, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_checkpoint_tensors, sticky_t(), tensor_block, &scale,
           TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_checkpoint_tensors, fx.t, tensor_block, &scale, TENSORS1(fx.a), 1, tin, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_checkpoint_tensors, fx.t, tensor_block, &scale, TENSORS1(fx.stale_a), 1, tout, 1);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_checkpoint_tensors, fx.t, tensor_block, &scale, TENSORS1(fx.au), 1, tout, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_checkpoint_tensors, fx.t, tensor_block, &unset, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_BACKEND, ad_checkpoint_tensors, fx.t, tensor_block, &status, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_checkpoint_tensors, fx.t, tensor_block, &scale,
           TENSORS1(AS_TENSOR(fx.x)), 1, tout, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_checkpoint_tensors, fx.td, tensor_block, &scale, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_INVALID_TAPE, ad_checkpoint_tensors, fx.ended, tensor_block, &scale, TENSORS1(fx.a), 1, tout, 1);
    /* Device tensors: a block that records device ops, or hands a device input back. */
    EXPECT(AD_ERR_UNSUPPORTED_ON_DEVICE, ad_checkpoint_tensors, fx.tdev, tensor_block, &scale,
           TENSORS1(fx.da), 1, tout, 1);
    EXPECT(AD_ERR_UNSUPPORTED_ON_DEVICE, ad_checkpoint_tensors, fx.tdev, tensor_block, &hand_back,
           TENSORS1(fx.da), 1, tout, 1);
    EXPECT(AD_OK, ad_checkpoint_tensors, fx.tdev, tensor_block, &scale, TENSORS1(fx.dh), 1, tout, 1);
#undef VARS2
#undef TENSORS1
}

/* ---- chains ---- */

static ad_status chain_step(ad_tape *t, size_t k, const ad_var *state, const ad_var *params,
                            ad_var *next, void *user_data) {
    (void)k;
    (void)user_data;
    next[0] = ad_mul(t, ad_sin(t, state[0]), params[0]);
    return ad_tape_status(t);
}

static ad_var chain_loss(ad_tape *t, const ad_var *state, const ad_var *params, void *user_data) {
    (void)params;
    (void)user_data;
    return ad_mul(t, state[0], state[0]);
}

static ad_status chain_eval(size_t k, const double *state, const double *params, double *next,
                            void *user_data) {
    (void)k;
    (void)user_data;
    next[0] = sin(state[0]) * params[0];
    return AD_OK;
}

static int chain_done(size_t k, const double *state, size_t d, void *user_data) {
    (void)state;
    (void)d;
    (void)user_data;
    return k >= 5;
}

static ad_status misuse_step(ad_tape *t, size_t k, const ad_var *state, const ad_var *params,
                             ad_var *next, void *user_data) {
    (void)user_data;
    if (k == 0) EXPECT_HERE(AD_ERR_REENTRANT, ad_tape_reset, t);
    return chain_step(t, k, state, params, next, NULL);
}

static ad_status no_state_step(ad_tape *t, size_t k, const ad_var *state, const ad_var *params,
                               ad_var *next, void *user_data) {
    (void)t, (void)k, (void)state, (void)params, (void)next, (void)user_data;
    return AD_OK;
}

static ad_var params_loss(ad_tape *t, const ad_var *state, const ad_var *params, void *user_data) {
    (void)state;
    (void)user_data;
    return ad_mul(t, params[0], params[0]);
}

static void rows_chains(void) {
    static double mem[1 << 11];
    double x0[1] = {0.5}, th[1] = {1.1}, gx[1], gp[1], nan_x0[1] = {NAN};
    double *odd = (double *)(void *)(mem_ended + 4);
    ad_chain_report report;
    size_t bytes = 0;

    EXPECT(AD_OK, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, gx, gp, &report);
    EXPECT(AD_OK, ad_chain_gradient, mem, sizeof mem, AD_F32, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, NULL, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, NULL, 1, th, 1, chain_step,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, NULL, 1, chain_step,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, NULL,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           NULL, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, NULL, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, gx, NULL, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, odd, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, (ad_chain_report *)(void *)(mem_ended + 1));
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient, mem, sizeof mem, (ad_dtype)0, 10, 2, x0, 1, th,
           1, chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_chain_gradient, mem, sizeof mem, AD_F64_DUAL, 10, 2, x0, 1, th,
           1, chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 0, x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 65, x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, x0, 1,
           chain_step, chain_loss, NULL, x0, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, (double *)mem, 1,
           th, 1, chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_chain_gradient, mem, 0, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_chain_gradient, (unsigned char *)mem + 1, 100, AD_F32, 10, 2, x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_chain_gradient, mem, SIZE_MAX, AD_F64, 10, 2, x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, SIZE_MAX, th,
           1, chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NON_FINITE, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, nan_x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_REENTRANT, ad_chain_gradient, mem, sizeof mem, AD_F64, 3, 2, x0, 1, th, 1,
           misuse_step, chain_loss, NULL, gx, gp, NULL);

    EXPECT(AD_OK, ad_chain_gradient_eval, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_eval, chain_loss, NULL, gx, gp, &report);
    EXPECT(AD_OK, ad_chain_gradient_eval, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           NULL, chain_loss, NULL, gx, gp, &report);
    EXPECT(AD_ERR_NULL, ad_chain_gradient_eval, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, NULL,
           chain_eval, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient_eval, mem, sizeof mem, (ad_dtype)99, 10, 2, x0,
           1, th, 1, chain_step, chain_eval, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_chain_gradient_eval, mem, 64, AD_F64, 10, 2, x0, 1, th, 1,
           chain_step, chain_eval, chain_loss, NULL, gx, gp, NULL);

    EXPECT(AD_OK, ad_chain_gradient_online, mem, sizeof mem, AD_F64, 2, x0, 1, th, 1, chain_step,
           chain_done, chain_loss, NULL, gx, gp, &report);
    EXPECT(AD_ERR_NULL, ad_chain_gradient_online, mem, sizeof mem, AD_F64, 2, x0, 1, th, 1, chain_step,
           NULL, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient_online, NULL, sizeof mem, AD_F64, 2, x0, 1, th, 1,
           chain_step, chain_done, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient_online, mem, sizeof mem, AD_F64, 0, x0, 1, th, 1,
           chain_step, chain_done, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient_online, mem, sizeof mem, (ad_dtype)-3, 2, x0, 1,
           th, 1, chain_step, chain_done, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_chain_gradient_online, mem, sizeof mem, AD_F64_DUAL, 2, x0, 1, th,
           1, chain_step, chain_done, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_chain_gradient_online, mem, 32, AD_F64, 2, x0, 1, th, 1,
           chain_step, chain_done, chain_loss, NULL, gx, gp, NULL);

    /* No state at all (d = 0, x0 NULL), or no parameters (p = 0, params NULL). */
    EXPECT(AD_OK, ad_chain_gradient, mem, sizeof mem, AD_F64, 4, 2, NULL, 0, th, 1, no_state_step,
           params_loss, NULL, NULL, gp, NULL);
    EXPECT(AD_OK, ad_chain_gradient, mem, sizeof mem, AD_F64, 0, 0, x0, 1, NULL, 0, chain_step,
           chain_loss, NULL, gx, NULL, NULL);

    EXPECT(AD_OK, ad_chain_workspace_bytes, AD_F64, 1, 1, 2, &bytes);
    EXPECT(AD_ERR_NULL, ad_chain_workspace_bytes, AD_F64, 1, 1, 2, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_workspace_bytes, (ad_dtype)0, 1, 1, 2, &bytes);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_chain_workspace_bytes, AD_F64_DUAL, 1, 1, 2, &bytes);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_chain_workspace_bytes, AD_F64, SIZE_MAX, 1, 2, &bytes);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_chain_workspace_bytes, AD_F32, 1, SIZE_MAX / 2, 2, &bytes);
}

#endif
