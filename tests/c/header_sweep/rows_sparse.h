/* header_sweep/rows_sparse.h: Rows: vector modes, dense Hessians and sparse plans.
 * Part of tests/c/header_sweep.c, one program: included there once, in order. */
#ifndef AUTODIFF_HEADER_SWEEP_ROWS_SPARSE_H
#define AUTODIFF_HEADER_SWEEP_ROWS_SPARSE_H

#include "framework.h"

/* ---- vector modes, dense Hessians and sparse plans ---- */

static unsigned char sweep_plan_mem[4096], sweep_plan2_mem[4096];

static void rows_vector_modes(void) {
    double buf[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    double at[4] = {1.25, 0.5, 7, 7};
    double *odd = (double *)(void *)((unsigned char *)buf + 4);
    ad_var outs[2];

    EXPECT(AD_ERR_NULL, ad_forward_vector, NULL, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_NULL, ad_forward_vector, fx.td, NULL, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_NULL, ad_forward_vector, fx.td, OUTS_D, 2, NULL, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_NULL, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, 2, NULL, 4);
    EXPECT(AD_ERR_MISALIGNED, ad_forward_vector, fx.td, OUTS_D, 2, odd, 2, 2, buf + 4, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector, fx.td, OUTS_D, 2, buf, 3, 2, buf + 4, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, 2, buf + 4, 3);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, 2, buf + 1, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, SIZE_MAX, buf + 4, 4);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, 2, buf + 4, SIZE_MAX);
    EXPECT(AD_ERR_INVALID_TAPE, ad_forward_vector, fx.ended, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_forward_vector, sticky_t(), OUTS, 2, buf, 2, 1, buf + 4, 2);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_forward_vector, fx.td, OUTS, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_forward_vector, fx.t, (outs[0] = AS_VAR(fx.a), outs), 1, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_OK, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_OK, ad_forward_vector, fx.t, OUTS, 2, buf, 2, 1, buf + 4, 2);
    EXPECT(AD_OK, ad_forward_vector, fx.t32, (outs[0] = fx.f32, outs), 1, buf, 2, 2, buf + 2, 2);

    /* The same at a new point: `at` holds an input for each of the fixture's tapes (td
     * and t32 have one, t two). */
    EXPECT(AD_ERR_NULL, ad_forward_vector_at, NULL, at, 1, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_NULL, ad_forward_vector_at, fx.td, NULL, 1, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_NULL, ad_forward_vector_at, fx.td, at, 1, NULL, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_NULL, ad_forward_vector_at, fx.td, at, 1, OUTS_D, 2, NULL, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_NULL, ad_forward_vector_at, fx.td, at, 1, OUTS_D, 2, buf, 2, 2, NULL, 4);
    EXPECT(AD_ERR_MISALIGNED, ad_forward_vector_at, fx.td, odd, 1, OUTS_D, 2, buf + 4, 2, 2, at, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector_at, fx.td, at, 2, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector_at, fx.td, at, 1, OUTS_D, 2, buf, 3, 2, buf + 4, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector_at, fx.td, at, 1, OUTS_D, 2, buf, 2, 2, buf + 4, 3);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector_at, fx.td, buf + 3, 1, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_forward_vector_at, fx.td, at, 1, OUTS_D, 2, buf, 2, 2, buf + 4, SIZE_MAX);
    EXPECT(AD_ERR_INVALID_TAPE, ad_forward_vector_at, fx.ended, at, 1, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_forward_vector_at, sticky_t(), at, 2, OUTS, 2, buf, 2, 1, buf + 4, 2);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_forward_vector_at, fx.td, at, 1, OUTS, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_forward_vector_at, fx.t, at, 2, (outs[0] = AS_VAR(fx.a), outs), 1, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_OK, ad_forward_vector_at, fx.td, at, 1, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_OK, ad_forward_vector_at, fx.t, at, 2, OUTS, 2, buf, 2, 1, buf + 4, 2);
    EXPECT(AD_OK, ad_forward_vector_at, fx.t32, at, 1, (outs[0] = fx.f32, outs), 1, buf, 2, 2, buf + 2, 2);

    EXPECT(AD_ERR_NULL, ad_reverse_vector, NULL, OUTS_D, 2, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_ERR_NULL, ad_reverse_vector, fx.td, OUTS_D, 2, NULL, 4, 2, buf + 4, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 4, 2, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 3, 2, buf + 4, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 4, 2, buf + 4, 3);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 4, 2, buf + 3, 2);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 4, SIZE_MAX / 2 + 1, buf + 4, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_reverse_vector, fx.ended, OUTS_D, 2, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_ERR_STALE_HANDLE, ad_reverse_vector, sticky_t(), OUTS, 2, buf, 2, 1, buf + 4, 2);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_reverse_vector, fx.td, OUTS, 2, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_reverse_vector, fx.t, (outs[0] = AS_VAR(fx.a), outs), 1, buf, 1, 1, buf + 4, 2);
    EXPECT(AD_OK, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_OK, ad_reverse_vector, fx.t, OUTS, 2, buf, 2, 1, buf + 4, 2);
    EXPECT(AD_OK, ad_reverse_vector, fx.t32, (outs[0] = fx.f32, outs), 1, buf, 2, 2, buf + 2, 2);

    EXPECT(AD_ERR_NULL, ad_hessian, NULL, OUTS_D, buf, 2, buf + 2, 1);
    EXPECT(AD_ERR_NULL, ad_hessian, fx.td, NULL, buf, 2, buf + 2, 1);
    EXPECT(AD_ERR_NULL, ad_hessian, fx.td, OUTS_D, NULL, 2, buf + 2, 1);
    EXPECT(AD_ERR_NULL, ad_hessian, fx.td, OUTS_D, buf, 2, NULL, 1);
    EXPECT(AD_ERR_MISALIGNED, ad_hessian, fx.td, OUTS_D, buf, 2, odd, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hessian, fx.td, OUTS_D, buf, 2, buf + 2, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hessian, fx.td, OUTS_D, buf, 2, buf + 1, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hessian, fx.t, OUTS, buf, 2, buf + 2, 4);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_hessian, fx.td, OUTS_D, buf, 2, buf + 2, SIZE_MAX);
    EXPECT(AD_ERR_INVALID_TAPE, ad_hessian, fx.ended, OUTS_D, buf, 2, buf + 2, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_hessian, sticky_t(), OUTS, buf, 2, buf + 2, 4);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_hessian, fx.td, OUTS, buf, 2, buf + 2, 1);
    EXPECT(AD_OK, ad_hessian, fx.td, OUTS_D, buf, 2, buf + 2, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hessian, fx.t32, (outs[0] = fx.f32, outs), buf, 1, buf + 2, 1);
}

static void rows_sparse(void) {
    double buf[8] = {1, 1, 1, 1, 1, 1, 1, 1}, x = 1.25;
    double *odd = (double *)(void *)((unsigned char *)buf + 4);
    uint32_t ibuf[8], jbuf[8];
    uint32_t *oddi = (uint32_t *)(void *)((unsigned char *)ibuf + 2);
    ad_var outs[2];
    ad_sparse *plan = NULL, *hplan = NULL, *bad;
    ad_sparse_sizes sizes;
    ad_sparse *oddp = (ad_sparse *)(void *)(sweep_plan2_mem + 3);

    EXPECT(AD_ERR_NULL, ad_sparse_jacobian_init, NULL, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_jacobian_init, fx.td, NULL, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, NULL, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, (ad_sparse **)(void *)oddi);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, (ad_sparse_mode)9, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, (ad_ordering)-1, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_sparse_jacobian_init, fx.t, OUTS, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_sparse_jacobian_init, fx.td, OUTS_D, SIZE_MAX / 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, 8, &bad);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, 120, &bad);
    EXPECT(AD_ERR_INVALID_TAPE, ad_sparse_jacobian_init, fx.ended, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_STALE_HANDLE, ad_sparse_jacobian_init, sticky_t(), OUTS, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_sparse_jacobian_init, fx.td, OUTS, 2, AD_SPARSE_REVERSE, AD_ORDER_SATURATION, sweep_plan_mem, sizeof sweep_plan_mem, &bad);

    EXPECT(AD_ERR_NULL, ad_sparse_hessian_init, NULL, OUTS_D, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_hessian_init, fx.td, NULL, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_hessian_init, fx.td, OUTS_D, 1, AD_ORDER_NATURAL, NULL, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_hessian_init, fx.td, OUTS_D, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_sparse_hessian_init, fx.td, OUTS_D, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, (ad_sparse **)(void *)oddi);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_sparse_hessian_init, fx.td, OUTS_D, 1, (ad_ordering)4, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_sparse_hessian_init, fx.t, OUTS, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_sparse_hessian_init, fx.td, OUTS_D, SIZE_MAX / 2, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_sparse_hessian_init, fx.td, OUTS_D, 1, AD_ORDER_NATURAL, sweep_plan2_mem, 100, &bad);
    EXPECT(AD_ERR_INVALID_TAPE, ad_sparse_hessian_init, fx.ended, OUTS_D, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_STALE_HANDLE, ad_sparse_hessian_init, sticky_t(), OUTS, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_sparse_hessian_init, fx.td, OUTS, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);

    /* Live plans on the dual tape: its two outputs fd = xd², xd. */
    EXPECT(AD_OK, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_SATURATION, sweep_plan_mem, sizeof sweep_plan_mem, &plan);
    EXPECT_HERE(AD_OK, ad_sparse_hessian_init, fx.td, OUTS_D, 2, AD_ORDER_SMALLEST_LAST, sweep_plan2_mem, sizeof sweep_plan2_mem, &hplan);
    EXPECT_HERE(AD_OK, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, buf, 8);
    CHECK_NEAR(buf[0], 2.5, 1e-15);
    CHECK_NEAR(buf[1], 1.0, 1e-15);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_jacobian_eval, NULL, plan, &x, 1, buf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_jacobian_eval, fx.td, NULL, &x, 1, buf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_jacobian_eval, fx.td, plan, NULL, 1, buf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, NULL, 8);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, odd, 2);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_jacobian_eval, fx.td, oddp, &x, 1, buf, 8);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_jacobian_eval, fx.td, plan, &x, 2, buf, 8);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_jacobian_eval, fx.td, (ad_sparse *)(void *)buf, &x, 1, buf + 2, 4);
    EXPECT_HERE(AD_ERR_SIZE_OVERFLOW, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, buf, SIZE_MAX);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, buf, 1);
    EXPECT_HERE(AD_ERR_FOREIGN_PATTERN, ad_sparse_jacobian_eval, fx.td, hplan, &x, 1, buf, 8);
    EXPECT_HERE(AD_ERR_FOREIGN_PATTERN, ad_sparse_jacobian_eval, fx.u, plan, &x, 1, buf, 8);
    EXPECT_HERE(AD_ERR_INVALID_TAPE, ad_sparse_jacobian_eval, fx.ended, plan, &x, 1, buf, 8);
    EXPECT_HERE(AD_OK, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, buf + 2, 4);
    CHECK_NEAR(buf[2], 2.0 * 2.5, 1e-15); /* weights (2.5, 1): 2.5 · d²(xd²) */
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_hessian_eval, NULL, hplan, &x, 1, buf, 2, buf + 2, 4);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_hessian_eval, fx.td, NULL, &x, 1, buf, 2, buf + 2, 4);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_hessian_eval, fx.td, hplan, NULL, 1, buf, 2, buf + 2, 4);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, NULL, 2, buf + 2, 4);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, NULL, 4);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, odd, 1);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 1, buf + 2, 4);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, buf + 1, 4);
    EXPECT_HERE(AD_ERR_SIZE_OVERFLOW, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, SIZE_MAX, buf + 2, 4);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, buf + 2, 0);
    EXPECT_HERE(AD_ERR_FOREIGN_PATTERN, ad_sparse_hessian_eval, fx.td, plan, &x, 1, buf, 2, buf + 2, 4);
    EXPECT_HERE(AD_ERR_INVALID_TAPE, ad_sparse_hessian_eval, fx.ended, hplan, &x, 1, buf, 2, buf + 2, 4);

    EXPECT_HERE(AD_OK, ad_sparse_info, plan, &sizes);
    CHECK(sizes.rows == 2 && sizes.cols == 1 && sizes.nnz == 2 && sizes.colours == 1);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_info, NULL, &sizes);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_info, plan, NULL);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_info, oddp, &sizes);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_info, (ad_sparse *)(void *)buf, &sizes);
    EXPECT_HERE(AD_OK, ad_sparse_pattern_csr, plan, ibuf, 3, jbuf, 2);
    CHECK(ibuf[0] == 0 && ibuf[1] == 1 && ibuf[2] == 2 && jbuf[0] == 0 && jbuf[1] == 0);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_csr, NULL, ibuf, 3, jbuf, 2);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_csr, plan, NULL, 3, jbuf, 2);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_csr, plan, ibuf, 3, NULL, 2);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_pattern_csr, plan, oddi, 3, jbuf, 2);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_pattern_csr, (ad_sparse *)(void *)buf, ibuf, 3, jbuf, 2);
    EXPECT_HERE(AD_ERR_SIZE_OVERFLOW, ad_sparse_pattern_csr, plan, ibuf, SIZE_MAX, jbuf, 2);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_pattern_csr, plan, ibuf, 2, jbuf, 2);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_pattern_csr, plan, ibuf, 3, jbuf, 1);
    EXPECT_HERE(AD_OK, ad_sparse_pattern_coo, hplan, ibuf, jbuf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_coo, NULL, ibuf, jbuf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_coo, plan, NULL, jbuf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_coo, plan, ibuf, NULL, 8);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_pattern_coo, plan, oddi, jbuf, 2);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_pattern_coo, plan, ibuf, ibuf + 1, 2);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_pattern_coo, (ad_sparse *)(void *)buf, ibuf, jbuf, 2);
    EXPECT_HERE(AD_ERR_SIZE_OVERFLOW, ad_sparse_pattern_coo, plan, ibuf, jbuf, SIZE_MAX);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_pattern_coo, plan, ibuf, jbuf, 1);
    EXPECT_HERE(AD_OK, ad_sparse_colouring, plan, ibuf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_colouring, NULL, ibuf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_colouring, plan, NULL, 8);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_colouring, plan, oddi, 8);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_colouring, (ad_sparse *)(void *)buf, ibuf, 8);
    EXPECT_HERE(AD_ERR_SIZE_OVERFLOW, ad_sparse_colouring, plan, ibuf, SIZE_MAX);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_colouring, plan, ibuf, 0);

    /* A new recording makes both plans stale; ending them ends them. */
    EXPECT(AD_ERR_STALE_PATTERN, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, buf, 8);
    EXPECT(AD_ERR_STALE_PATTERN, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, buf + 2, 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_sparse_jacobian_eval, sticky_t(), plan, &x, 1, buf, 8);
    EXPECT(AD_ERR_STALE_HANDLE, ad_sparse_hessian_eval, sticky_t(), hplan, &x, 1, buf, 2, buf + 2, 4);
    EXPECT_HERE(AD_OK, ad_sparse_done, plan);
    EXPECT_HERE(AD_OK, ad_sparse_done, hplan);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_done, plan);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_done, NULL);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_done, oddp);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_info, plan, &sizes);
}

#endif
