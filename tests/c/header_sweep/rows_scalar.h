/* header_sweep/rows_scalar.h: Rows: tapes, scalar ops and the derivative drivers.
 * Part of tests/c/header_sweep.c, one program: included there once, in order. */
#ifndef AUTODIFF_HEADER_SWEEP_ROWS_SCALAR_H
#define AUTODIFF_HEADER_SWEEP_ROWS_SCALAR_H

#include "framework.h"

/* ---- tapes ---- */

/* Growth callbacks over malloc, for the ad_tape_set_growth rows. */
static void *sweep_grow(void *user, size_t min_bytes, size_t wanted_bytes, size_t *got_bytes) {
    void *block = malloc(min_bytes);
    (void)user, (void)wanted_bytes;
    if (block) *got_bytes = min_bytes;
    return block;
}
static void sweep_release(void *user, void *block, size_t bytes) {
    (void)user, (void)bytes;
    free(block);
}

static void rows_tapes(void) {
    size_t n = 7;
    ad_tape *t = NULL;
    ad_tape *garbage = (ad_tape *)(void *)device_memory;

    EXPECT(AD_ERR_NULL, ad_tape_init, NULL, 64, AD_F64, &t);
    EXPECT(AD_ERR_NULL, ad_tape_init, mem_ended, sizeof mem_ended, AD_F64, NULL);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_tape_init, mem_ended, 0, AD_F64, &t);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_tape_init, mem_ended + 3, 16, AD_F64, &t);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_init, mem_ended, sizeof mem_ended, (ad_dtype)0, &t);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_init, mem_ended, sizeof mem_ended, (ad_dtype)4, &t);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_init, mem_ended, sizeof mem_ended, (ad_dtype)-1, &t);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_init, mem_ended, sizeof mem_ended, (ad_dtype)INT_MAX, &t);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_init, mem_ended, SIZE_MAX, AD_F64, &t);
    CHECK(t == NULL);

    EXPECT(AD_ERR_NULL, ad_tape_new, 4096, AD_F64, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_new, 4096, (ad_dtype)0, &t);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_tape_new, 0, AD_F64, &t);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_tape_new, 8, AD_F32, &t);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_new, SIZE_MAX, AD_F64, &t);
    CHECK(t == NULL);

    EXPECT(AD_ERR_NULL, ad_tape_done, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_done, fx.ended);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_done, garbage);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_done, (ad_tape *)(void *)(mem_t + 1));
    ad_tape_free(NULL);
    ad_tape_free(fx.ended);
    CALLED(ad_tape_free);

    EXPECT(AD_ERR_NULL, ad_tape_bytes_for, 1, AD_F64, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_bytes_for, 1, (ad_dtype)7, &n);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_bytes_for, SIZE_MAX, AD_F64, &n);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_bytes_for, SIZE_MAX / 8, AD_F64_DUAL, &n);
    EXPECT(AD_OK, ad_tape_bytes_for, 0, AD_F32, &n);

    EXPECT(AD_ERR_NULL, ad_tape_set_growth, NULL, sweep_grow, sweep_release, NULL);
    EXPECT(AD_ERR_NULL, ad_tape_set_growth, fx.t, NULL, sweep_release, NULL);
    EXPECT(AD_ERR_NULL, ad_tape_set_growth, fx.t, sweep_grow, NULL, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_set_growth, fx.ended, sweep_grow, sweep_release, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_set_growth, garbage, sweep_grow, sweep_release, NULL);
    {
        ad_tape *grows = NULL;
        FIXTURE(ad_tape_new(4096, AD_F64, &grows) == AD_OK);
        EXPECT(AD_OK, ad_tape_set_growth, grows, sweep_grow, sweep_release, NULL);
        ad_var y = ad_input(grows, 0.5);
        for (int i = 0; i < 1000; i++) y = ad_sin(grows, y);
        CHECK(ad_tape_status(grows) == AD_OK);
        /* The records moved to a block of these callbacks: they cannot change now. */
        EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_set_growth, grows, sweep_grow, sweep_release, NULL);
        ad_tape_free(grows);
    }

    EXPECT(AD_ERR_NULL, ad_tape_reset, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_reset, fx.ended);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_reset, garbage);
    EXPECT(AD_OK, ad_tape_reset, sticky_t());

    EXPECT(AD_ERR_NULL, ad_tape_status, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_status, fx.ended);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tape_status, sticky_t());

    fresh();
    CHECK(strcmp(ad_tape_error(NULL), "null tape") == 0);
    CHECK(strcmp(ad_tape_error(fx.ended), "not a live tape") == 0);
    CHECK(strcmp(ad_tape_error(fx.t), "no error") == 0);
    CHECK(strstr(ad_tape_error(sticky_t()), "stale") != NULL);
    CALLED(ad_tape_error);

    EXPECT(AD_ERR_NULL, ad_tape_num_inputs, NULL, &n);
    EXPECT(AD_ERR_NULL, ad_tape_num_inputs, fx.t, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_tape_num_inputs, fx.t, (size_t *)(void *)(mem_ended + 1));
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_num_inputs, fx.ended, &n);
    EXPECT(AD_ERR_NULL, ad_tape_len, NULL, &n);
    EXPECT(AD_ERR_NULL, ad_tape_len, fx.t, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_len, fx.ended, &n);
    EXPECT(AD_ERR_NULL, ad_tape_bytes_used, NULL, &n);
    EXPECT(AD_ERR_NULL, ad_tape_bytes_used, fx.t, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_bytes_used, fx.ended, &n);
    CHECK(n != 7); /* written by the successful ad_tape_bytes_for above */
    /* Readers still answer on a sticky tape. */
    EXPECT(AD_OK, ad_tape_len, sticky_t(), &n);
}

/* Tapes in tiny and misaligned blocks: each either starts or says AD_ERR_OUT_OF_MEMORY,
 * and one that starts either records or fails with a documented sticky status. */
static void tiny_arenas(void) {
    static unsigned char block[4096 + 64];
    size_t header = 0, small = 0;
    FIXTURE(ad_tape_bytes_for(0, AD_F64, &header) == AD_OK);
    FIXTURE(ad_tape_bytes_for(3, AD_F64, &small) == AD_OK);
    for (int dtype = AD_F32; dtype <= AD_F64_DUAL; dtype++) {
        for (size_t offset = 0; offset < 16; offset++) {
            for (size_t len = 0; len <= small + 64 && offset + len <= sizeof block; len++) {
                ad_tape *t = NULL;
                ad_status s = ad_tape_init(block + offset, len, (ad_dtype)dtype, &t);
                if (s != AD_OK) {
                    row_result("ad_tape_init", "ad_tape_init(tiny block)", s, S(AD_ERR_OUT_OF_MEMORY),
                               NULL, __LINE__);
                    continue;
                }
                ad_var x = ad_input(t, 2.0);
                ad_var y = ad_mul(t, x, ad_sin(t, x));
                ad_status st = ad_tape_status(t);
                double g = 0;
                if (st != AD_OK) {
                    row_result("ad_mul", "ad_mul(on a tiny tape)", st,
                               S(AD_ERR_OUT_OF_MEMORY) | S(AD_ERR_TOO_MANY_VARIABLES) |
                                   S(AD_ERR_FOREIGN_HANDLE),
                               NULL, __LINE__);
                } else {
                    ad_status b = ad_backward(t, y);
                    if (b == AD_OK) {
                        ad_status gs = ad_grad(t, x, &g);
                        CHECK(gs == AD_OK && fabs(g - (sin(2.0) + 2.0 * cos(2.0))) < 1e-5);
                    } else {
                        row_result("ad_backward", "ad_backward(on a tiny tape)", b,
                                   S(AD_ERR_OUT_OF_MEMORY), NULL, __LINE__);
                    }
                }
                FIXTURE(ad_tape_done(t) == AD_OK);
            }
        }
    }
    (void)header;
    /* The same on the heap. */
    for (size_t bytes = 0; bytes <= small + 64; bytes += 8) {
        ad_tape *t = NULL;
        ad_status s = ad_tape_new(bytes, AD_F64, &t);
        if (s != AD_OK) {
            row_result("ad_tape_new", "ad_tape_new(tiny)", s, S(AD_ERR_OUT_OF_MEMORY), NULL, __LINE__);
            continue;
        }
        (void)ad_input(t, 1.0);
        ad_tape_free(t);
    }
}

/* ---- scalar ops ---- */

typedef ad_var (*unary_fn)(ad_tape *, ad_var);
typedef ad_var (*binary_fn)(ad_tape *, ad_var, ad_var);

#define OP(fn) {#fn, fn}
static const struct {
    const char *name;
    unary_fn fn;
} unary_ops[] = {
    OP(ad_neg),   OP(ad_recip), OP(ad_sqrt),  OP(ad_cbrt),  OP(ad_exp),     OP(ad_expm1),
    OP(ad_log),   OP(ad_log1p), OP(ad_log2),  OP(ad_log10), OP(ad_sin),     OP(ad_cos),
    OP(ad_tan),   OP(ad_asin),  OP(ad_acos),  OP(ad_atan),  OP(ad_sinh),    OP(ad_cosh),
    OP(ad_tanh),  OP(ad_asinh), OP(ad_acosh), OP(ad_atanh), OP(ad_abs),     OP(ad_sigmoid),
    OP(ad_softplus), OP(ad_erf),
};
static const struct {
    const char *name;
    binary_fn fn;
} binary_ops[] = {
    OP(ad_add), OP(ad_sub), OP(ad_mul), OP(ad_div), OP(ad_pow),
    OP(ad_atan2), OP(ad_min), OP(ad_max), OP(ad_hypot),
};

/* The forms of a scalar handle an op is given, with the status each leaves. */
typedef enum { H_LIVE, H_STALE, H_FOREIGN, H_INVALID, H_FORGED_INDEX, H_FORGED_TAG, H_TENSOR,
               H_RANK0_TENSOR, H_NAN, H_FORMS } handle_form;
static const char *const form_names[H_FORMS] = {"live", "stale", "foreign", "invalid",
                                                "forged index", "forged tag", "tensor",
                                                "rank-0 tensor", "NaN-valued"};

static ad_var scalar_form(handle_form form) {
    static const ad_var invalid = {UINT32_MAX, 0, 0, 0};
    switch (form) {
    case H_LIVE: return fx.x;
    case H_STALE: return fx.stale;
    case H_FOREIGN: return fx.fu;
    case H_INVALID: return invalid;
    case H_FORGED_INDEX: return WITH_INDEX_VAR(fx.x, 1000);
    case H_FORGED_TAG: return WITH_TAG_VAR(fx.x, fx.tag ^ 0x5a5a5a5au);
    case H_TENSOR: return AS_VAR(fx.a);
    case H_RANK0_TENSOR: return AS_VAR(fx.s);
    case H_NAN: return fx.nan;
    default: return fx.x;
    }
}

/* What an op on fx.t leaves when given `form`. */
static uint64_t scalar_form_statuses(handle_form form) {
    switch (form) {
    case H_LIVE: case H_NAN: return S(AD_OK);
    case H_STALE: return S(AD_ERR_STALE_HANDLE);
    case H_FOREIGN: case H_INVALID: return S(AD_ERR_FOREIGN_HANDLE);
    case H_FORGED_INDEX: case H_FORGED_TAG: return HANDLE_ERRORS;
    /* A tensor's bytes copied into a variable keep the tensor's kind: refused, whatever
     * the rank (ad_tensor_as_var is the conversion). */
    case H_TENSOR: case H_RANK0_TENSOR: return S(AD_ERR_WRONG_HANDLE_KIND);
    default: return 0;
    }
}

/* One op row from a table: `valid` is the handle's validity, `form` what it was given. */
static void scalar_op_row(const char *fn, handle_form form, int valid, int line) {
    char call[128];
    uint64_t want = scalar_form_statuses(form);
    ad_status got = fixture_status();
    snprintf(call, sizeof call, "%s(t, <%s>)", fn, form_names[form]);
    if ((want == S(AD_OK)) != (valid != 0)) {
        fprintf(stderr, "header_sweep.c:%d: %s gave a %s handle (status %s)\n", line, call,
                valid ? "valid" : "invalid", status_name((int)got));
        spec_call(fn, line);
        check_record(0, __FILE__, line, call);
        return;
    }
    row_result(fn, call, got, want, NULL, line);
}

static void rows_scalar_ops(void) {
    for (size_t i = 0; i < COUNT(unary_ops); i++) {
        for (int form = 0; form < H_FORMS; form++) {
            fresh();
            scalar_op_row(unary_ops[i].name, (handle_form)form,
                          ad_var_is_valid(unary_ops[i].fn(fx.t, scalar_form((handle_form)form))),
                          __LINE__);
        }
        fresh();
        op_result(unary_ops[i].name, "op(NULL, x)", ad_var_is_valid(unary_ops[i].fn(NULL, fx.x)),
                  NO_TAPE, NULL, __LINE__);
        fresh();
        op_result(unary_ops[i].name, "op(ended, x)",
                  ad_var_is_valid(unary_ops[i].fn(fx.ended, fx.x)), NO_TAPE, NULL, __LINE__);
        /* On a sticky tape: nothing recorded, the first error kept. */
        fresh();
        {
            ad_tape *t = sticky_t();
            int valid = ad_var_is_valid(unary_ops[i].fn(t, fx.x));
            CHECK(!valid && ad_tape_status(t) == AD_ERR_STALE_HANDLE);
        }
    }
    for (size_t i = 0; i < COUNT(binary_ops); i++) {
        for (int form = 0; form < H_FORMS; form++) {
            fresh();
            scalar_op_row(binary_ops[i].name, (handle_form)form,
                          ad_var_is_valid(binary_ops[i].fn(fx.t, fx.y, scalar_form((handle_form)form))),
                          __LINE__);
            fresh();
            scalar_op_row(binary_ops[i].name, (handle_form)form,
                          ad_var_is_valid(binary_ops[i].fn(fx.t, scalar_form((handle_form)form), fx.y)),
                          __LINE__);
        }
        fresh();
        op_result(binary_ops[i].name, "op(NULL, x, y)",
                  ad_var_is_valid(binary_ops[i].fn(NULL, fx.x, fx.y)), NO_TAPE, NULL, __LINE__);
        /* Mixing tapes: a handle of u on t. */
        fresh();
        scalar_op_row(binary_ops[i].name, H_FOREIGN,
                      ad_var_is_valid(binary_ops[i].fn(fx.u, fx.fu, fx.x)), __LINE__);
    }
    /* Ops with a constant operand: NaN and infinite constants record (values may be NaN). */
    EXPECT_VAR(AD_OK, ad_input, fx.t, NAN);
    EXPECT_VAR(AD_OK, ad_input, fx.t, INFINITY);
    EXPECT_VAR(NO_TAPE, ad_input, NULL, 1.0);
    EXPECT_VAR(NO_TAPE, ad_input, fx.ended, 1.0);
    EXPECT_VAR(AD_OK, ad_const, fx.t, -INFINITY);
    EXPECT_VAR(NO_TAPE, ad_const, NULL, 1.0);
    EXPECT_VAR(AD_OK, ad_scale, fx.t, fx.x, NAN);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_scale, fx.t, fx.stale, 2.0);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_scale, fx.t, fx.fu, 2.0);
    EXPECT_VAR(NO_TAPE, ad_scale, NULL, fx.x, 2.0);
    EXPECT_VAR(AD_OK, ad_add_const, fx.t, fx.x, NAN);
    EXPECT_VAR(AD_OK, ad_sub_const, fx.t, fx.x, 0.1);
    EXPECT_VAR(AD_OK, ad_div_const, fx.t, fx.x, 0.0);
    EXPECT_VAR(AD_OK, ad_const_sub, fx.t, INFINITY, fx.x);
    EXPECT_VAR(AD_OK, ad_const_div, fx.t, 3.0, fx.x);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_add_const, fx.t, fx.stale, 2.0);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_sub_const, fx.t, fx.fu, 2.0);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_div_const, fx.t, fx.stale, 2.0);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_const_sub, fx.t, 2.0, fx.fu);
    EXPECT_VAR(NO_TAPE, ad_const_div, NULL, 2.0, fx.x);
    {
        double values[3] = {1.0, NAN, -2.0};
        ad_var vars[3];
        EXPECT(AD_OK, ad_inputs, fx.t, values, 3, vars);
        EXPECT(AD_OK, ad_inputs, fx.t, NULL, 0, NULL);
        EXPECT(AD_ERR_NULL, ad_inputs, NULL, values, 3, vars);
        EXPECT(AD_ERR_NULL, ad_inputs, fx.t, NULL, 3, vars);
        EXPECT(AD_ERR_NULL, ad_inputs, fx.t, values, 3, NULL);
        EXPECT(AD_ERR_INVALID_TAPE, ad_inputs, fx.ended, values, 3, vars);
        EXPECT(AD_ERR_SIZE_OVERFLOW, ad_inputs, fx.t, values, SIZE_MAX, vars);
        EXPECT(AD_ERR_STALE_HANDLE, ad_inputs, sticky_t(), values, 3, vars);
        CHECK(!ad_var_is_valid(vars[0]) && !ad_var_is_valid(vars[2]));
        fresh();
    }
    EXPECT_VAR(AD_OK, ad_powf, fx.t, fx.x, INFINITY);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_powf, fx.t, fx.stale, 2.0);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_powf, fx.t, fx.fu, 2.0);
    EXPECT_VAR(NO_TAPE, ad_powf, NULL, fx.x, 2.0);
    EXPECT_VAR(AD_OK, ad_powi, fx.t, fx.x, INT_MIN);
    EXPECT_VAR(AD_OK, ad_powi, fx.t, fx.x, INT_MAX);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_powi, fx.t, fx.stale, 2);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_powi, fx.t, fx.fu, 2);
    EXPECT_VAR(NO_TAPE, ad_powi, NULL, fx.x, 2);
    /* Ops record on a dual tape and an f32 tape too. */
    EXPECT_VAR(AD_OK, ad_sin, fx.td, fx.xd);
    EXPECT_VAR(AD_OK, ad_sin, fx.t32, fx.x32);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_sin, fx.t32, fx.stale32);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_sin, fx.td, fx.x);

    {
        static const ad_var invalid = {UINT32_MAX, 0, 0, 0};
        fresh();
        CHECK(!ad_var_is_valid(invalid));
        CHECK(ad_var_is_valid(fx.x));
        CHECK(ad_var_is_valid(fx.stale)); /* valid, though stale */
        CALLED(ad_var_is_valid);
    }
}

/* ---- derivatives ---- */

static void rows_derivatives(void) {
    double d = 7.0, buf[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    double *odd = (double *)(void *)((unsigned char *)buf + 4);
    ad_var outs[2];

    EXPECT(AD_ERR_NULL, ad_backward, NULL, fx.f);
    EXPECT(AD_ERR_INVALID_TAPE, ad_backward, fx.ended, fx.f);
    EXPECT(AD_ERR_STALE_HANDLE, ad_backward, fx.t, fx.stale);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_backward, fx.t, fx.fu);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_backward, fx.t, WITH_INDEX_VAR(fx.x, 1000));
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_backward, fx.t, WITH_TAG_VAR(fx.x, fx.tag + 77));
    EXPECT(AD_ERR_NON_FINITE, ad_backward, fx.t, fx.nan);
    EXPECT(AD_ERR_STALE_HANDLE, ad_backward, sticky_t(), fx.f);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_backward, fx.t, AS_VAR(fx.s));
    EXPECT(AD_OK, ad_backward, fx.t, ad_tensor_as_var(fx.t, fx.s));
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_backward, fx.t, AS_VAR(fx.a));
    EXPECT(AD_OK, ad_backward, fx.td, fx.fd);
    EXPECT(AD_OK, ad_backward, fx.t32, fx.f32);

    EXPECT(AD_ERR_NULL, ad_grad, NULL, fx.x, &d);
    EXPECT(AD_ERR_NULL, ad_grad, fx.t, fx.x, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_grad, fx.t, fx.x, odd);
    EXPECT(AD_ERR_INVALID_TAPE, ad_grad, fx.ended, fx.x, &d);
    EXPECT(AD_ERR_STALE_HANDLE, ad_grad, fx.t, fx.stale, &d);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_grad, fx.t, fx.fu, &d);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_grad, fx.t, WITH_INDEX_VAR(fx.x, 77), &d);
    EXPECT(AD_ERR_STALE_HANDLE, ad_grad, sticky_t(), fx.x, &d);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_value, fx.t, AS_VAR(fx.a), &d);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_grad, fx.t, AS_VAR(fx.a), &d);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_value, fx.t, AS_VAR(fx.p), &d); /* a parameter */
    EXPECT(AD_ERR_NULL, ad_value, NULL, fx.x, &d);
    EXPECT(AD_ERR_NULL, ad_value, fx.t, fx.x, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_value, fx.t, fx.x, odd);
    EXPECT(AD_ERR_INVALID_TAPE, ad_value, fx.ended, fx.x, &d);
    EXPECT(AD_ERR_STALE_HANDLE, ad_value, fx.t, fx.stale, &d);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_value, fx.t, fx.fu, &d);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_value, fx.t, WITH_TAG_VAR(fx.x, 12345), &d);
    EXPECT(AD_OK, ad_value, fx.t, fx.nan, &d);
    EXPECT(AD_ERR_NULL, ad_tangent, NULL, fx.x, &d);
    EXPECT(AD_ERR_NULL, ad_tangent, fx.t, fx.x, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_tangent, fx.t, fx.x, odd);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tangent, fx.ended, fx.x, &d);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tangent, fx.t, fx.stale, &d);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tangent, fx.t, fx.fu, &d);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tangent, sticky_t(), fx.x, &d);

    EXPECT(AD_ERR_NULL, ad_gradient, NULL, fx.f, buf, 2);
    EXPECT(AD_ERR_NULL, ad_gradient, fx.t, fx.f, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_gradient, fx.t, fx.f, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_gradient, fx.t, fx.f, buf, 3);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_gradient, fx.t, fx.f, NULL, 0);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_gradient, fx.t, fx.f, buf, SIZE_MAX / 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_gradient, fx.t, fx.stale, buf, 2);
    EXPECT(AD_ERR_NON_FINITE, ad_gradient, fx.t, fx.nan, buf, 2);
    EXPECT(AD_ERR_STALE_HANDLE, ad_gradient, sticky_t(), fx.f, buf, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_gradient, fx.t32, fx.f32, buf, 2);
    EXPECT(AD_OK, ad_gradient, fx.t32, fx.f32, buf, 1);
    EXPECT(AD_ERR_INVALID_TAPE, ad_gradient, fx.ended, fx.f, buf, 2);
    fresh();
    ad_gradient(fx.t, fx.f, buf, 3);
    CHECK(strcmp(ad_tape_error(fx.t), "gradient buffer length 3 differs from the number of inputs 2") == 0);
    fresh();
    ad_jvp(fx.t32, buf, 2);
    CHECK(strcmp(ad_tape_error(fx.t32), "seed length 2 differs from the number of inputs 1") == 0);

    EXPECT(AD_ERR_NULL, ad_jvp, NULL, buf, 2);
    EXPECT(AD_ERR_NULL, ad_jvp, fx.t, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_jvp, fx.t, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jvp, fx.t, buf, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jvp, fx.t, NULL, 0);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_jvp, fx.t, buf, SIZE_MAX);
    EXPECT(AD_ERR_STALE_HANDLE, ad_jvp, sticky_t(), buf, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_jvp, fx.ended, buf, 2);
    {
        double nans[2] = {NAN, INFINITY};
        EXPECT(AD_OK, ad_jvp, fx.t, nans, 2);
        EXPECT(AD_OK, ad_replay, fx.t, nans, 2);
    }
    EXPECT(AD_ERR_NULL, ad_replay, NULL, buf, 2);
    EXPECT(AD_ERR_NULL, ad_replay, fx.t, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_replay, fx.t, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_replay, fx.t, buf, 3);
    EXPECT(AD_ERR_STALE_HANDLE, ad_replay, sticky_t(), buf, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_replay, fx.ended, buf, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_replay, fx.t32, buf, 0);

#define OUTS (outs[0] = fx.f, outs[1] = fx.x, outs)
#define OUTS_D (outs[0] = fx.fd, outs[1] = fx.xd, outs)
    EXPECT(AD_ERR_NULL, ad_jacobian, NULL, OUTS, 2, buf, 4);
    EXPECT(AD_ERR_NULL, ad_jacobian, fx.t, NULL, 2, buf, 4);
    EXPECT(AD_ERR_NULL, ad_jacobian, fx.t, OUTS, 2, NULL, 4);
    EXPECT(AD_ERR_MISALIGNED, ad_jacobian, fx.t, OUTS, 2, odd, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jacobian, fx.t, OUTS, 2, buf, 3);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jacobian, fx.t, OUTS, 2, (double *)(void *)outs, 2);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_jacobian, fx.t, OUTS, SIZE_MAX, buf, 4);
    EXPECT(AD_ERR_INVALID_TAPE, ad_jacobian, fx.ended, OUTS, 2, buf, 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_jacobian, sticky_t(), OUTS, 2, buf, 4);
    EXPECT(AD_OK, ad_jacobian, fx.t, OUTS, 0, NULL, 0);
    EXPECT(AD_ERR_NULL, ad_jacobian_fwd, NULL, OUTS_D, 2, buf, 4);
    EXPECT(AD_ERR_NULL, ad_jacobian_fwd, fx.td, NULL, 2, buf, 4);
    EXPECT(AD_ERR_NULL, ad_jacobian_fwd, fx.td, OUTS_D, 2, NULL, 4);
    EXPECT(AD_ERR_MISALIGNED, ad_jacobian_fwd, fx.td, OUTS_D, 2, odd, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jacobian_fwd, fx.td, OUTS_D, 2, buf, 5);
    EXPECT(AD_ERR_INVALID_TAPE, ad_jacobian_fwd, fx.ended, OUTS_D, 2, buf, 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_jacobian_fwd, sticky_t(), OUTS, 2, buf, 4);
    /* Forward Jacobians are for scalar tapes: fx.t holds tensors. */
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jacobian_fwd, fx.t, OUTS, 2, buf, 4);
    EXPECT(AD_OK, ad_jacobian_fwd, fx.td, OUTS_D, 2, buf, 2);
    {
        ad_var stale_outs[2];
        fresh();
        stale_outs[0] = fx.f;
        stale_outs[1] = fx.stale;
        row_result("ad_jacobian", "ad_jacobian(t, {f, stale}, ...)",
                   ad_jacobian(fx.t, stale_outs, 2, buf, 4), S(AD_ERR_STALE_HANDLE), NULL, __LINE__);
        fresh();
        stale_outs[0] = fx.f;
        stale_outs[1] = fx.nan;
        row_result("ad_jacobian", "ad_jacobian(t, {f, nan}, ...)",
                   ad_jacobian(fx.t, stale_outs, 2, buf, 4), S(AD_ERR_NON_FINITE), NULL, __LINE__);
        fresh();
        stale_outs[0] = fx.fd;
        stale_outs[1] = fx.fu;
        row_result("ad_jacobian_fwd", "ad_jacobian_fwd(td, {fd, foreign}, ...)",
                   ad_jacobian_fwd(fx.td, stale_outs, 2, buf, 2), S(AD_ERR_FOREIGN_HANDLE), NULL,
                   __LINE__);
    }

    {
        double x1[1] = {1.5}, v1[1] = {1}, g1[1], h1[1];
        EXPECT(AD_ERR_NULL, ad_hvp, NULL, fx.fd, x1, v1, g1, h1, 1);
        EXPECT(AD_ERR_NULL, ad_hvp, fx.td, fx.fd, NULL, v1, g1, h1, 1);
        EXPECT(AD_ERR_NULL, ad_hvp, fx.td, fx.fd, x1, NULL, g1, h1, 1);
        EXPECT(AD_ERR_NULL, ad_hvp, fx.td, fx.fd, x1, v1, NULL, h1, 1);
        EXPECT(AD_ERR_NULL, ad_hvp, fx.td, fx.fd, x1, v1, g1, NULL, 1);
        EXPECT(AD_ERR_MISALIGNED, ad_hvp, fx.td, fx.fd, odd, v1, g1, h1, 1);
        EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hvp, fx.td, fx.fd, x1, v1, g1, h1, 0);
        EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hvp, fx.td, fx.fd, x1, v1, g1, g1, 1);
        EXPECT(AD_ERR_DTYPE_MISMATCH, ad_hvp, fx.t, fx.f, x1, v1, g1, h1, 1);
        EXPECT(AD_ERR_DTYPE_MISMATCH, ad_hvp, fx.t32, fx.f32, x1, v1, g1, h1, 1);
        EXPECT(AD_ERR_FOREIGN_HANDLE, ad_hvp, fx.td, fx.f, x1, v1, g1, h1, 1);
        EXPECT(AD_ERR_INVALID_TAPE, ad_hvp, fx.ended, fx.fd, x1, v1, g1, h1, 1);
        EXPECT(AD_OK, ad_hvp, fx.td, fx.fd, x1, v1, g1, h1, 1);
        x1[0] = NAN;
        EXPECT(AD_ERR_NON_FINITE, ad_hvp, fx.td, fx.fd, x1, v1, g1, h1, 1);
    }
}

#endif
