/* header_sweep/rows_params.h: Rows: parameters, optimizers, parameter groups and buffers in place.
 * Part of tests/c/header_sweep.c, one program: included there once, in order. */
#ifndef AUTODIFF_HEADER_SWEEP_ROWS_PARAMS_H
#define AUTODIFF_HEADER_SWEEP_ROWS_PARAMS_H

#include "framework.h"

/* ---- parameters and optimizers ---- */

/* A tape that has recorded nothing, as parameter creation needs (made anew each time). */
static ad_tape *pristine(ad_dtype dtype) {
    static unsigned char mem[1 << 13];
    ad_tape *t = NULL;
    FIXTURE(ad_tape_init(mem, sizeof mem, dtype, &t) == AD_OK);
    return t;
}

static void rows_params(void) {
    ad_param q;
    double out[4];
    float out32[4];
    size_t n = 0;
    static const size_t rank5[5] = {1, 1, 1, 1, 1};
    static const size_t huge[4] = {(size_t)1 << 16, (size_t)1 << 16, (size_t)1 << 16, (size_t)1 << 16};
    double *odd = (double *)(void *)(mem_ended + 4);

    /* Creation: after recording, the optimizer, or on a dual tape, it is refused. */
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_new_f64, fx.t, D2, 1, V2, 2, &q);
    EXPECT(AD_ERR_NULL, ad_param_new_f64, NULL, D2, 1, V2, 2, &q);
    EXPECT(AD_ERR_NULL, ad_param_new_f64, pristine(AD_F64), D2, 1, V2, 2, NULL);
    EXPECT(AD_ERR_NULL, ad_param_new_f64, pristine(AD_F64), NULL, 1, V2, 2, &q);
    EXPECT(AD_ERR_NULL, ad_param_new_f64, pristine(AD_F64), D2, 1, NULL, 2, &q);
    EXPECT(AD_ERR_MISALIGNED, ad_param_new_f64, pristine(AD_F64), D2, 1, odd, 2, &q);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_new_f64, pristine(AD_F64), D2, 1, V2, 1, &q);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_new_f64, pristine(AD_F64), rank5, 5, V2, 1, &q);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_param_new_f64, pristine(AD_F64), huge, 4, V2, 1, &q);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_new_f64, pristine(AD_F32), D2, 1, V2, 2, &q);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_new_f64, fx.td, D2, 1, V2, 2, &q);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_new_f64, fx.ended, D2, 1, V2, 2, &q);
    EXPECT(AD_ERR_NULL, ad_param_new_f32, NULL, D2, 1, F2, 2, &q);
    EXPECT(AD_OK, ad_param_new_f32, pristine(AD_F32), D2, 1, F2, 2, &q);
    EXPECT(AD_OK, ad_param_new_f64, pristine(AD_F64), NULL, 0, V2, 1, &q);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_new_f64, fx.u, D2, 1, V2, 2, &q); /* after recording */
    EXPECT(AD_ERR_NULL, ad_param_new_f32, pristine(AD_F32), D2, 1, NULL, 2, &q);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_new_f32, pristine(AD_F32), D2, 1, F2, 3, &q);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_new_f32, pristine(AD_F64), D2, 1, F2, 2, &q);

    EXPECT_TENSOR(AD_OK, ad_param_use, fx.t, fx.p);
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_param_use, fx.t, fx.up);
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_param_use, fx.t, WITH_INDEX_PARAM(fx.p, 7));
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_param_use, fx.t, WITH_TAPE_PARAM(fx.p, 0xabcdu));
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_param_use, fx.td, fx.p);
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_param_use, fx.t, AS_PARAM(fx.a)); /* a tensor */
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_param_use, fx.t, AS_PARAM(fx.x)); /* a scalar */
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_param_use, sticky_t(), fx.p);
    EXPECT_TENSOR(NO_TAPE, ad_param_use, NULL, fx.p);
    EXPECT_TENSOR(NO_TAPE, ad_param_use, fx.ended, fx.p);

    EXPECT(AD_OK, ad_param_count, fx.t, &n);
    EXPECT(AD_ERR_NULL, ad_param_count, NULL, &n);
    EXPECT(AD_ERR_NULL, ad_param_count, fx.t, NULL);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_count, fx.td, &n);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_count, fx.ended, &n);

    EXPECT(AD_OK, ad_param_read_f64, fx.t, fx.p, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_read_f64, NULL, fx.p, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_read_f64, fx.t, fx.p, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_param_read_f64, fx.t, fx.p, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_read_f64, fx.t, fx.p, out, 3);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_read_f64, fx.t, fx.up, out, 2);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_read_f64, fx.t, WITH_INDEX_PARAM(fx.p, 99), out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_read_f64, fx.t32, fx.p32, out, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_read_f64, fx.ended, fx.p, out, 2);
    EXPECT(AD_OK, ad_param_read_f32, fx.t32, fx.p32, out32, 2);
    EXPECT(AD_ERR_NULL, ad_param_read_f32, fx.t32, fx.p32, NULL, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_read_f32, fx.t32, fx.p32, out32, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_read_f32, fx.t, fx.p, out32, 2);
    EXPECT(AD_ERR_NULL, ad_param_read_f32, NULL, fx.p32, out32, 2);
    EXPECT(AD_OK, ad_param_grad_f64, fx.t, fx.p, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_grad_f64, NULL, fx.p, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_grad_f64, fx.t, fx.p, NULL, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_grad_f64, fx.t, fx.p, out, 0);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_grad_f64, fx.t, fx.up, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_grad_f64, fx.td, fx.p, out, 2);
    EXPECT(AD_OK, ad_param_grad_f32, fx.t32, fx.p32, out32, 2);
    EXPECT(AD_ERR_NULL, ad_param_grad_f32, fx.t32, fx.p32, NULL, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_grad_f32, fx.t32, fx.p32, out32, 4);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_grad_f32, fx.t, fx.p, out32, 2);
    EXPECT(AD_ERR_NULL, ad_param_grad_f32, NULL, fx.p32, out32, 2);
    EXPECT(AD_OK, ad_param_write_f64, fx.t, fx.p, V2, 2);
    EXPECT(AD_ERR_NULL, ad_param_write_f64, NULL, fx.p, V2, 2);
    EXPECT(AD_ERR_NULL, ad_param_write_f64, fx.t, fx.p, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_param_write_f64, fx.t, fx.p, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_write_f64, fx.t, fx.p, V2, 1);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_write_f64, fx.t, fx.up, V2, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_write_f64, fx.t32, fx.p32, V2, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_write_f64, fx.ended, fx.p, V2, 2);
    EXPECT(AD_OK, ad_param_write_f32, fx.t32, fx.p32, F2, 2);
    EXPECT(AD_ERR_NULL, ad_param_write_f32, fx.t32, fx.p32, NULL, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_write_f32, fx.t32, fx.p32, F2, 3);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_write_f32, fx.t, fx.p, F2, 2);
    EXPECT(AD_ERR_NULL, ad_param_write_f32, NULL, fx.p32, F2, 2);
    /* The parameter is back at its start value for the rows after. */
    FIXTURE(ad_param_write_f64(fx.t, fx.p, V2, 2) == AD_OK);
    FIXTURE(ad_param_write_f32(fx.t32, fx.p32, F2, 2) == AD_OK);

    /* Optimizers: bad settings, no parameters, one already set, a dual tape. */
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_sgd, fx.t, 0.1, 0.0, 0.0);   /* set already */
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_sgd, fx.t32, 0.1, 0.0, 0.0); /* recorded since reset */
    EXPECT(AD_ERR_NULL, ad_optim_sgd, NULL, 0.1, 0.0, 0.0);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_sgd, fx.td, 0.1, 0.0, 0.0);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_sgd, fx.ended, 0.1, 0.0, 0.0);
    EXPECT(AD_ERR_NULL, ad_optim_adam, NULL, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_adam, fx.td, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_adam, fx.t, 1e-3, 0.9, 0.999, 1e-8, 0.0, 1);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_adam, fx.ended, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0);
    {
        static unsigned char mem[1 << 13];
        ad_tape *t = NULL;
        static const double bad_sgd[][3] = {{NAN, 0, 0}, {-1, 0, 0}, {0.1, 1.0, 0},  {0.1, -0.5, 0},
                                            {0.1, 0, -1}, {INFINITY, 0, 0}, {0.1, NAN, 0}, {0.1, 0, INFINITY}};
        static const double bad_adam[][5] = {{NAN, 0.9, 0.999, 1e-8, 0}, {1e-3, 1.0, 0.999, 1e-8, 0},
                                             {1e-3, 0.9, 1.0, 1e-8, 0},  {1e-3, 0.9, 0.999, 0.0, 0},
                                             {1e-3, 0.9, 0.999, -1, 0},  {1e-3, 0.9, 0.999, 1e-8, -1},
                                             {1e-3, -0.1, 0.999, 1e-8, 0}, {1e-3, 0.9, 0.999, INFINITY, 0}};
        FIXTURE(ad_tape_init(mem, sizeof mem, AD_F64, &t) == AD_OK);
        /* No parameters yet. */
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_sgd, t, 0.1, 0.0, 0.0);
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_adam, t, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0);
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_step, t);
        FIXTURE(ad_tape_reset(t) == AD_OK);
        FIXTURE(ad_param_new_f64(t, D2, 1, V2, 2, &q) == AD_OK);
        for (size_t i = 0; i < COUNT(bad_sgd); i++)
            EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_sgd, t, bad_sgd[i][0], bad_sgd[i][1], bad_sgd[i][2]);
        for (size_t i = 0; i < COUNT(bad_adam); i++)
            EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_adam, t, bad_adam[i][0], bad_adam[i][1],
                        bad_adam[i][2], bad_adam[i][3], bad_adam[i][4], 1);
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_step, t);
        FIXTURE(ad_tape_reset(t) == AD_OK);
        EXPECT_HERE(AD_OK, ad_optim_adam, t, 1e-3, 0.9, 0.999, 1e-8, 0.0, INT_MIN);
        EXPECT_HERE(AD_OK, ad_optim_step, t);
        FIXTURE(ad_tape_done(t) == AD_OK);
    }
    EXPECT(AD_OK, ad_optim_step, fx.t);
    EXPECT(AD_ERR_NULL, ad_optim_step, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_step, fx.t32);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_step, fx.td);
    EXPECT(AD_ERR_STALE_HANDLE, ad_optim_step, sticky_t());
    EXPECT(AD_ERR_STALE_HANDLE, ad_optim_sgd, sticky_t(), 0.1, 0.0, 0.0);
    EXPECT(AD_OK, ad_param_read_f64, sticky_t(), fx.p, out, 2);
    EXPECT(AD_OK, ad_param_count, sticky_t(), &n);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_step, fx.ended);
    FIXTURE(ad_param_write_f64(fx.t, fx.p, V2, 2) == AD_OK);
}

/* ---- parameter groups, the optimizer's saved state, backward with notifications ---- */

static int ready_calls;
static ad_status ready_refused = AD_OK;

static void count_ready(ad_tape *t, ad_param_group g, void *user_data) {
    double *zeros = user_data;
    double *data = NULL;
    size_t len = 0;
    ready_calls++;
    EXPECT_HERE(AD_OK, ad_param_group_grads_f64, t, g, &data, &len);
    EXPECT_HERE(AD_ERR_REENTRANT, ad_param_group_write_grads_f64, t, g, zeros, len);
    EXPECT_HERE(AD_ERR_REENTRANT, ad_tape_reset, t); /* the sweep still uses its memory */
    EXPECT_HERE(AD_ERR_REENTRANT, ad_tape_done, t);
    ready_refused = AD_ERR_REENTRANT;
}

static void ignore_ready(ad_tape *t, ad_param_group g, void *user_data) {
    (void)t;
    (void)g;
    (void)user_data;
    ready_calls++;
}

static void rows_param_groups(void) {
    ad_param q[2];
    ad_param_group h;
    ad_param_group posing;
    double out[4], *data = NULL, zeros[2] = {0, 0};
    float out32[4], *data32 = NULL;
    size_t len = 0;
    static unsigned char state[256];
    double *odd = (double *)(void *)(mem_ended + 4);
    ad_param *odd_params = (ad_param *)(void *)(mem_ended + 2);
    memcpy(&posing, &fx.p, sizeof posing); /* a parameter's bytes as a group */

    /* Making groups: on a pristine tape, each parameter in one group only. */
    {
        ad_tape *t = pristine(AD_F64);
        FIXTURE(ad_param_new_f64(t, D2, 1, V2, 2, &q[0]) == AD_OK);
        FIXTURE(ad_param_new_f64(t, D2, 1, V2, 2, &q[1]) == AD_OK);
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_param_group_new, t, q, 0, &h);
        EXPECT_HERE(AD_ERR_NULL, ad_param_group_new, t, NULL, 1, &h);
        EXPECT_HERE(AD_ERR_NULL, ad_param_group_new, t, q, 1, NULL);
        EXPECT_HERE(AD_ERR_MISALIGNED, ad_param_group_new, t, odd_params, 1, &h);
        EXPECT_HERE(AD_ERR_FOREIGN_HANDLE, ad_param_group_new, t, &fx.up, 1, &h);
        EXPECT_HERE(AD_OK, ad_param_group_new, t, q, 1, &h);
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_param_group_new, t, q, 2, &h); /* q[0] again */
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_param_group_all, t, &h);
        EXPECT_HERE(AD_OK, ad_param_group_new, t, q + 1, 1, &h);
        EXPECT_HERE(AD_OK, ad_param_group_len, t, h, &len);
        CHECK(len == 2);
        FIXTURE(ad_tape_done(t) == AD_OK);
    }
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_all, pristine(AD_F64), &h); /* no parameters */
    EXPECT(AD_ERR_NULL, ad_param_group_all, NULL, &h);
    EXPECT(AD_ERR_NULL, ad_param_group_all, pristine(AD_F64), NULL);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_all, fx.td, &h);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_all, fx.ended, &h);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_new, fx.t, &fx.p, 1, &h); /* after recording */
    EXPECT(AD_ERR_NULL, ad_param_group_new, NULL, &fx.p, 1, &h);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_new, fx.td, &fx.p, 1, &h);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_new, fx.ended, &fx.p, 1, &h);

    EXPECT(AD_OK, ad_param_group_len, fx.t, fx.g, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_len, NULL, fx.g, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_len, fx.t, fx.g, NULL);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_group_len, fx.t, fx.ug, &len);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_param_group_len, fx.t, posing, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_len, fx.td, fx.g, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_len, fx.ended, fx.g, &len);

    EXPECT(AD_OK, ad_param_group_grads_f64, fx.t, fx.g, &data, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_grads_f64, NULL, fx.g, &data, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_grads_f64, fx.t, fx.g, NULL, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_grads_f64, fx.t, fx.g, &data, NULL);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_group_grads_f64, fx.t, fx.ug, &data, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_grads_f64, fx.t32, fx.g32, &data, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_grads_f64, fx.ended, fx.g, &data, &len);
    EXPECT(AD_OK, ad_param_group_grads_f32, fx.t32, fx.g32, &data32, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_grads_f32, fx.t32, fx.g32, NULL, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_grads_f32, fx.t, fx.g, &data32, &len);

    EXPECT(AD_OK, ad_param_group_read_grads_f64, fx.t, fx.g, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_read_grads_f64, NULL, fx.g, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_read_grads_f64, fx.t, fx.g, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_param_group_read_grads_f64, fx.t, fx.g, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_read_grads_f64, fx.t, fx.g, out, 3);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_group_read_grads_f64, fx.t, fx.ug, out, 2);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_param_group_read_grads_f64, fx.t, posing, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_read_grads_f64, fx.t32, fx.g32, out, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_read_grads_f64, fx.ended, fx.g, out, 2);
    EXPECT(AD_OK, ad_param_group_read_grads_f32, fx.t32, fx.g32, out32, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_read_grads_f32, fx.t32, fx.g32, out32, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_read_grads_f32, fx.t, fx.g, out32, 2);

    EXPECT(AD_OK, ad_param_group_write_grads_f64, fx.t, fx.g, V2, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_write_grads_f64, NULL, fx.g, V2, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_write_grads_f64, fx.t, fx.g, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_param_group_write_grads_f64, fx.t, fx.g, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_write_grads_f64, fx.t, fx.g, V2, 1);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_group_write_grads_f64, fx.t, fx.ug, V2, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_write_grads_f64, fx.t32, fx.g32, V2, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_write_grads_f64, fx.ended, fx.g, V2, 2);
    EXPECT(AD_OK, ad_param_group_write_grads_f32, fx.t32, fx.g32, F2, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_write_grads_f32, fx.t32, fx.g32, F2, 3);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_write_grads_f32, fx.t, fx.g, F2, 2);

    EXPECT(AD_OK, ad_param_group_read_values_f64, fx.t, fx.g, out, 2);
    CHECK(out[0] == V2[0] && out[1] == V2[1]);
    EXPECT(AD_ERR_NULL, ad_param_group_read_values_f64, fx.t, fx.g, NULL, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_read_values_f64, fx.t, fx.g, out, 0);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_group_read_values_f64, fx.t, fx.ug, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_read_values_f64, fx.td, fx.g, out, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_read_values_f64, fx.ended, fx.g, out, 2);
    EXPECT(AD_OK, ad_param_group_read_values_f32, fx.t32, fx.g32, out32, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_read_values_f32, NULL, fx.g32, out32, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_read_values_f32, fx.t, fx.g, out32, 2);

    EXPECT(AD_OK, ad_param_group_write_values_f64, fx.t, fx.g, V2, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_write_values_f64, fx.t, fx.g, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_param_group_write_values_f64, fx.t, fx.g, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_write_values_f64, fx.t, fx.g, V2, 3);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_param_group_write_values_f64, fx.t, posing, V2, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_write_values_f64, fx.ended, fx.g, V2, 2);
    EXPECT(AD_OK, ad_param_group_write_values_f32, fx.t32, fx.g32, F2, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_write_values_f32, NULL, fx.g32, F2, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_write_values_f32, fx.t, fx.g, F2, 2);

    /* The optimizer's state: sizes, a buffer too small, states that do not fit. */
    EXPECT(AD_OK, ad_optim_state_bytes, fx.t, &len);
    CHECK(len > 0 && len <= sizeof state);
    EXPECT(AD_ERR_NULL, ad_optim_state_bytes, NULL, &len);
    EXPECT(AD_ERR_NULL, ad_optim_state_bytes, fx.t, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_state_bytes, fx.t32, &len); /* no optimizer */
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_state_bytes, fx.td, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_state_bytes, fx.ended, &len);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_optim_state_save, fx.t, state, 4, &len);
    CHECK(len > 4);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_optim_state_save, fx.t, NULL, 0, &len);
    EXPECT(AD_ERR_NULL, ad_optim_state_save, fx.t, NULL, 8, &len);
    EXPECT(AD_ERR_NULL, ad_optim_state_save, fx.t, state, sizeof state, NULL);
    EXPECT(AD_ERR_NULL, ad_optim_state_save, NULL, state, sizeof state, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_state_save, fx.t32, state, sizeof state, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_state_save, fx.td, state, sizeof state, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_state_save, fx.ended, state, sizeof state, &len);
    EXPECT(AD_OK, ad_optim_state_save, fx.t, state, sizeof state, &len);
    EXPECT(AD_OK, ad_optim_state_load, fx.t, state, len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_state_load, fx.t, state, len - 1);
    EXPECT(AD_ERR_STATE_MISMATCH, ad_optim_state_load, fx.t, V6, sizeof V6);
    EXPECT(AD_ERR_STATE_MISMATCH, ad_optim_state_load, fx.t, state, 8);
    EXPECT(AD_ERR_NULL, ad_optim_state_load, fx.t, NULL, len);
    EXPECT(AD_ERR_NULL, ad_optim_state_load, NULL, state, len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_state_load, fx.t32, state, len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_state_load, fx.td, state, len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_state_load, fx.ended, state, len);

    /* Backward with notifications: the group is announced once; inside, writes are
     * refused, and the backward reports it. */
    ready_calls = 0;
    EXPECT(AD_OK, ad_backward_notify, fx.t, ad_tensor_as_var(fx.t, ad_tensor_sum(fx.t, fx.pu)),
           ignore_ready, NULL);
    CHECK(ready_calls == 1);
    ready_calls = 0;
    EXPECT(AD_ERR_REENTRANT, ad_backward_notify, fx.t,
           ad_tensor_as_var(fx.t, ad_tensor_sum(fx.t, fx.pu)), count_ready, zeros);
    CHECK(ready_calls == 1 && ready_refused == AD_ERR_REENTRANT);
    EXPECT(AD_ERR_NULL, ad_backward_notify, fx.t, fx.f, NULL, NULL);
    EXPECT(AD_ERR_NULL, ad_backward_notify, NULL, fx.f, ignore_ready, NULL);
    EXPECT(AD_ERR_STALE_HANDLE, ad_backward_notify, fx.t, fx.stale, ignore_ready, NULL);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_backward_notify, fx.t, fx.fu, ignore_ready, NULL);
    EXPECT(AD_ERR_NON_FINITE, ad_backward_notify, fx.t, fx.nan, ignore_ready, NULL);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_backward_notify, fx.td, fx.fd, ignore_ready, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_backward_notify, fx.ended, fx.f, ignore_ready, NULL);
    EXPECT(AD_OK, ad_backward_notify, fx.t, fx.f, ignore_ready, NULL);
    FIXTURE(ad_param_write_f64(fx.t, fx.p, V2, 2) == AD_OK);
    FIXTURE(ad_param_write_f32(fx.t32, fx.p32, F2, 2) == AD_OK);
    (void)data;
    (void)data32;
}

/* ad_tensor_buffer / ad_param_buffer: the address of a buffer in the tape's memory, and
 * what a copying read of the same buffer gives. */
static void rows_buffers(void) {
    const void *data = NULL;
    size_t len = 0;
    double copy[6];
    const void **odd_data = (const void **)(void *)(mem_ended + 1);
    size_t *odd_len = (size_t *)(void *)(mem_ended + 1);

    EXPECT(AD_OK, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_VALUE, &data, &len);
    CHECK(len == 6 && ad_tensor_value_f64(fx.t, fx.a, copy, 6) == AD_OK &&
          memcmp(data, copy, sizeof copy) == 0);
    EXPECT(AD_OK, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_GRAD, &data, &len);
    EXPECT(AD_OK, ad_tensor_buffer, fx.t, fx.c, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_OK, ad_tensor_buffer, fx.t32, fx.a32, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_buffer, fx.t, fx.c, AD_BUFFER_GRAD, &data, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_buffer, fx.t, fx.s, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_buffer, fx.t, fx.a, (ad_buffer)7, &data, &len);
    EXPECT(AD_ERR_NULL, ad_tensor_buffer, NULL, fx.a, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_NULL, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_VALUE, NULL, &len);
    EXPECT(AD_ERR_NULL, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_VALUE, &data, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_VALUE, odd_data, &len);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_VALUE, &data, odd_len);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_buffer, fx.t, fx.stale_a, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tensor_buffer, fx.t, fx.au, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_buffer, fx.t, AS_TENSOR(fx.x), AD_BUFFER_VALUE, &data,
           &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_buffer, fx.td, AS_TENSOR(fx.xd), AD_BUFFER_VALUE, &data,
           &len);
    EXPECT(AD_ERR_UNSUPPORTED_ON_DEVICE, ad_tensor_buffer, fx.tdev, fx.da, AD_BUFFER_VALUE, &data,
           &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_buffer, fx.ended, fx.a, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_OK, ad_tensor_buffer, sticky_t(), fx.a, AD_BUFFER_VALUE, &data, &len);

    EXPECT(AD_OK, ad_param_buffer, fx.t, fx.p, AD_BUFFER_VALUE, &data, &len);
    CHECK(len == 2 && ad_param_read_f64(fx.t, fx.p, copy, 2) == AD_OK &&
          memcmp(data, copy, 2 * sizeof(double)) == 0);
    EXPECT(AD_OK, ad_param_buffer, fx.t, fx.p, AD_BUFFER_GRAD, &data, &len);
    EXPECT(AD_OK, ad_param_buffer, fx.t32, fx.p32, AD_BUFFER_GRAD, &data, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_buffer, fx.t, fx.p, (ad_buffer)-1, &data, &len);
    EXPECT(AD_ERR_NULL, ad_param_buffer, NULL, fx.p, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_NULL, ad_param_buffer, fx.t, fx.p, AD_BUFFER_VALUE, NULL, &len);
    EXPECT(AD_ERR_MISALIGNED, ad_param_buffer, fx.t, fx.p, AD_BUFFER_VALUE, &data, odd_len);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_buffer, fx.t, fx.up, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_buffer, fx.t, AS_PARAM(fx.a), AD_BUFFER_VALUE, &data,
           &len); /* a tensor */
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_buffer, fx.td, fx.p, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_buffer, fx.ended, fx.p, AD_BUFFER_VALUE, &data, &len);
}

#endif
