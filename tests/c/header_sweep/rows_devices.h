/* header_sweep/rows_devices.h: Rows: compute devices, GPU queries and dual numbers.
 * Part of tests/c/header_sweep.c, one program: included there once, in order. */
#ifndef AUTODIFF_HEADER_SWEEP_ROWS_DEVICES_H
#define AUTODIFF_HEADER_SWEEP_ROWS_DEVICES_H

#include "framework.h"

/* ---- devices ---- */

static void rows_devices(void) {
    static double dev_mem[256];
    static float dev_mem32[256];
    static unsigned char fresh_mem[1 << 14];
    ad_device *d = NULL, *d32 = NULL;
    ad_tape *t = NULL;
    int id = -1;

    EXPECT(AD_ERR_NO_DEVICE, ad_device_open_cuda, 0, 1 << 20, &d);
    EXPECT(AD_ERR_NO_DEVICE, ad_device_open_cuda, SIZE_MAX, 0, NULL);
    EXPECT(AD_ERR_NULL, ad_device_open_cpu, NULL, sizeof dev_mem, AD_F64, &d);
    EXPECT(AD_ERR_NULL, ad_device_open_cpu, dev_mem, sizeof dev_mem, AD_F64, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_device_open_cpu, (unsigned char *)dev_mem + 4, 64, AD_F64, &d);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_device_open_cpu, dev_mem, sizeof dev_mem, AD_F64_DUAL, &d);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_device_open_cpu, dev_mem, sizeof dev_mem, (ad_dtype)0, &d);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_device_open_cpu, dev_mem, sizeof dev_mem, (ad_dtype)12, &d);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_device_open_cpu, dev_mem, SIZE_MAX, AD_F64, &d);
    CHECK(d == NULL);
    /* No memory at all: it opens, and has room for nothing. */
    EXPECT(AD_OK, ad_device_open_cpu, NULL, 0, AD_F32, &d);
    EXPECT_HERE(AD_OK, ad_device_close, d);
    d = NULL;
    EXPECT(AD_ERR_NULL, ad_device_close, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_device_close, fx.dev); /* fx.tdev holds it */

    EXPECT(AD_OK, ad_device_open_cpu, dev_mem, sizeof dev_mem, AD_F64, &d);
    EXPECT(AD_OK, ad_device_open_cpu, dev_mem32, sizeof dev_mem32, AD_F32, &d32);
    FIXTURE(ad_tape_init(fresh_mem, sizeof fresh_mem, AD_F64, &t) == AD_OK);
    EXPECT_HERE(AD_ERR_NULL, ad_tape_attach_device, NULL, d, &id);
    EXPECT_HERE(AD_ERR_NULL, ad_tape_attach_device, t, NULL, &id);
    EXPECT_HERE(AD_ERR_NULL, ad_tape_attach_device, t, d, NULL);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_tape_attach_device, t, d, (int *)(void *)(mem_ended + 1));
    EXPECT_HERE(AD_ERR_DTYPE_MISMATCH, ad_tape_attach_device, t, d32, &id);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_tape_attach_device, t, fx.dev, &id); /* serves fx.tdev */
    EXPECT_HERE(AD_ERR_INVALID_TAPE, ad_tape_attach_device, fx.ended, d, &id);
    FIXTURE(ad_tape_reset(t) == AD_OK);
    (void)ad_input(t, 1.0);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_tape_attach_device, t, d, &id); /* after recording */
    FIXTURE(ad_tape_reset(t) == AD_OK);
    EXPECT_HERE(AD_OK, ad_tape_attach_device, t, d, &id);
    CHECK(id == 1);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_tape_attach_device, t, d, &id); /* twice */
    FIXTURE(ad_tape_reset(t) == AD_OK);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_device_close, d);
    FIXTURE(ad_tape_done(t) == AD_OK);
    EXPECT_HERE(AD_ERR_DTYPE_MISMATCH, ad_tape_attach_device, fx.td, d, &id);
    EXPECT_HERE(AD_OK, ad_device_close, d);
    EXPECT_HERE(AD_OK, ad_device_close, d32);

    EXPECT(AD_OK, ad_tape_set_device, fx.tdev, 0);
    EXPECT(AD_ERR_UNKNOWN_DEVICE, ad_tape_set_device, fx.tdev, 2);
    EXPECT(AD_ERR_UNKNOWN_DEVICE, ad_tape_set_device, fx.tdev, -1);
    EXPECT(AD_ERR_UNKNOWN_DEVICE, ad_tape_set_device, fx.tdev, 256);
    EXPECT(AD_ERR_UNKNOWN_DEVICE, ad_tape_set_device, fx.tdev, INT_MAX);
    EXPECT(AD_ERR_UNKNOWN_DEVICE, ad_tape_set_device, fx.t, 1);
    EXPECT(AD_ERR_NULL, ad_tape_set_device, NULL, 0);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tape_set_device, fx.td, 0);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_set_device, fx.ended, 0);

    EXPECT_TENSOR(AD_OK, ad_tensor_to_device, fx.tdev, fx.dh, 1);
    EXPECT_TENSOR(AD_OK, ad_tensor_to_device, fx.tdev, fx.da, 1);
    EXPECT_TENSOR(AD_ERR_UNKNOWN_DEVICE, ad_tensor_to_device, fx.tdev, fx.dh, 2);
    EXPECT_TENSOR(AD_ERR_UNKNOWN_DEVICE, ad_tensor_to_device, fx.tdev, fx.dh, -7);
    EXPECT_TENSOR(AD_ERR_UNKNOWN_DEVICE, ad_tensor_to_device, fx.t, fx.a, 1);
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_tensor_to_device, fx.t, fx.stale_a, 0);
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_tensor_to_device, fx.tdev, fx.a, 1);
    EXPECT_TENSOR(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_to_device, fx.tdev, AS_TENSOR(fx.sdev), 1);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_to_device, fx.td, fx.a, 1);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_to_device, NULL, fx.a, 1);
    EXPECT_TENSOR(AD_OK, ad_tensor_to_host, fx.tdev, fx.da);
    EXPECT_TENSOR(AD_OK, ad_tensor_to_host, fx.tdev, fx.dh);
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_tensor_to_host, fx.t, fx.stale_a);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_to_host, NULL, fx.da);

    EXPECT(AD_OK, ad_tensor_device, fx.tdev, fx.da, &id);
    EXPECT(AD_ERR_NULL, ad_tensor_device, NULL, fx.da, &id);
    EXPECT(AD_ERR_NULL, ad_tensor_device, fx.tdev, fx.da, NULL);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_device, fx.t, fx.stale_a, &id);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tensor_device, fx.t, fx.au, &id);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_device, fx.t, AS_TENSOR(fx.x), &id);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_device, fx.td, fx.a, &id);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_device, fx.ended, fx.a, &id);
}

/* ---- GPU queries: no GPU here (or a library without the cuda feature) ---- */

static void rows_gpu_queries(void) {
    size_t n = 7, free_bytes = 0, total = 0, len = 0;
    char name[4];
    int have = ad_device_available();
    CHECK(have == 0 || have == 1);
    CALLED(ad_device_available);
    if (have) {
        printf("header_sweep: a GPU is present: the no-device rows are skipped\n");
        EXPECT(AD_ERR_NULL, ad_device_count, NULL);
        EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_device_name, 0, name, 1, &len);
        EXPECT(AD_ERR_NO_DEVICE, ad_device_memory, SIZE_MAX, &free_bytes, &total);
        return;
    }
    EXPECT(AD_ERR_NO_DEVICE, ad_device_count, &n);
    EXPECT(AD_ERR_NULL, ad_device_count, NULL);
    CHECK(n == 7);
    EXPECT(AD_ERR_NO_DEVICE, ad_device_name, 0, name, sizeof name, &len);
    EXPECT(AD_ERR_NO_DEVICE, ad_device_name, SIZE_MAX, NULL, 0, &len);
    EXPECT(AD_ERR_NULL, ad_device_name, 0, name, sizeof name, NULL);
    EXPECT(AD_ERR_NO_DEVICE, ad_device_memory, 0, &free_bytes, &total);
    EXPECT(AD_ERR_NULL, ad_device_memory, 0, NULL, &total);
    EXPECT(AD_ERR_NULL, ad_device_memory, 0, &free_bytes, NULL);
}

/* ---- dual numbers: no status; NaN, infinities and extremes must simply compute ---- */

typedef ad_dual (*dual_unary_fn)(ad_dual);
typedef ad_dual (*dual_binary_fn)(ad_dual, ad_dual);

static void rows_duals(void) {
    static const struct {
        const char *name;
        dual_unary_fn fn;
    } unary[] = {
        OP(ad_dual_neg),  OP(ad_dual_recip), OP(ad_dual_sqrt),  OP(ad_dual_cbrt),     OP(ad_dual_exp),
        OP(ad_dual_expm1), OP(ad_dual_log),  OP(ad_dual_log1p), OP(ad_dual_log2),     OP(ad_dual_log10),
        OP(ad_dual_sin),  OP(ad_dual_cos),   OP(ad_dual_tan),   OP(ad_dual_asin),     OP(ad_dual_acos),
        OP(ad_dual_atan), OP(ad_dual_sinh),  OP(ad_dual_cosh),  OP(ad_dual_tanh),     OP(ad_dual_asinh),
        OP(ad_dual_acosh), OP(ad_dual_atanh), OP(ad_dual_abs),  OP(ad_dual_sigmoid),  OP(ad_dual_softplus),
        OP(ad_dual_erf),
    };
    static const struct {
        const char *name;
        dual_binary_fn fn;
    } binary[] = {
        OP(ad_dual_add), OP(ad_dual_sub), OP(ad_dual_mul),   OP(ad_dual_div),   OP(ad_dual_pow),
        OP(ad_dual_atan2), OP(ad_dual_min), OP(ad_dual_max), OP(ad_dual_hypot),
    };
    const double values[] = {0.0, -0.0, 1.0, -1.0, 0.5, 1e308, -1e308, 5e-324, NAN, INFINITY, -INFINITY};
    double sink = 0;
    for (size_t i = 0; i < COUNT(values); i++) {
        for (size_t j = 0; j < COUNT(values); j++) {
            ad_dual a = ad_dual_make(values[i], values[j]);
            ad_dual b = ad_dual_make(values[j], values[i]);
            for (size_t k = 0; k < COUNT(unary); k++) sink += unary[k].fn(a).value;
            for (size_t k = 0; k < COUNT(binary); k++) sink += binary[k].fn(a, b).tangent;
            sink += ad_dual_scale(a, values[j]).value + ad_dual_powf(a, values[j]).value +
                    ad_dual_powi(a, (int)j - 5).value + ad_dual_powi(a, INT_MIN).value +
                    ad_dual_powi(a, INT_MAX).value;
        }
    }
    (void)sink;
    for (size_t k = 0; k < COUNT(unary); k++) spec_call(unary[k].name, __LINE__);
    for (size_t k = 0; k < COUNT(binary); k++) spec_call(binary[k].name, __LINE__);
    CALLED(ad_dual_make);
    CALLED(ad_dual_scale);
    CALLED(ad_dual_powf);
    CALLED(ad_dual_powi);
    {
        ad_dual d = ad_dual_sin(ad_dual_make(0.5, 1.0));
        CHECK_NEAR(d.value, sin(0.5), 1e-15);
        CHECK_NEAR(d.tangent, cos(0.5), 1e-15);
    }
}

#endif
