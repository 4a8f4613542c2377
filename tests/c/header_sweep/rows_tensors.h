/* header_sweep/rows_tensors.h: Rows: tensor ops and tensor data.
 * Part of tests/c/header_sweep.c, one program: included there once, in order. */
#ifndef AUTODIFF_HEADER_SWEEP_ROWS_TENSORS_H
#define AUTODIFF_HEADER_SWEEP_ROWS_TENSORS_H

#include "framework.h"

/* ---- tensors ---- */

typedef ad_tensor (*tensor_unary_fn)(ad_tape *, ad_tensor);
typedef ad_tensor (*tensor_binary_fn)(ad_tape *, ad_tensor, ad_tensor);

static ad_tensor t_matmul(ad_tape *t, ad_tensor a, ad_tensor b) { return ad_matmul(t, a, b, 0, 0); }
static ad_tensor t_sum_axis(ad_tape *t, ad_tensor x) { return ad_tensor_sum_axis(t, x, 0); }
static ad_tensor t_mean_axis(ad_tape *t, ad_tensor x) { return ad_tensor_mean_axis(t, x, 0); }
static ad_tensor t_scale(ad_tape *t, ad_tensor x) { return ad_tensor_scale(t, x, 2.0); }
static ad_tensor t_relu(ad_tape *t, ad_tensor x) { return ad_tensor_activation(t, x, AD_ACT_RELU); }
static ad_tensor t_leaky(ad_tape *t, ad_tensor x) { return ad_leaky_relu(t, x, 0.1); }
static ad_tensor t_reshape(ad_tape *t, ad_tensor x) { return ad_reshape(t, x, D6, 1); }
static ad_tensor t_to_host(ad_tape *t, ad_tensor x) { return ad_tensor_to_host(t, x); }
static ad_tensor t_as_var_sum(ad_tape *t, ad_tensor x) {
    return ad_var_is_valid(ad_tensor_as_var(t, ad_tensor_sum(t, x))) ? x : ad_tensor_sum(t, x);
}

#define TOP(fn, name) {name, fn}
static const struct {
    const char *name;
    tensor_unary_fn fn;
} tensor_unary_ops[] = {
    TOP(ad_tensor_sum, "ad_tensor_sum"),       TOP(ad_tensor_mean, "ad_tensor_mean"),
    TOP(t_sum_axis, "ad_tensor_sum_axis"),     TOP(t_mean_axis, "ad_tensor_mean_axis"),
    TOP(ad_transpose, "ad_transpose"),         TOP(ad_softmax, "ad_softmax"),
    TOP(ad_log_softmax, "ad_log_softmax"),     TOP(t_scale, "ad_tensor_scale"),
    TOP(t_relu, "ad_tensor_activation"),       TOP(t_leaky, "ad_leaky_relu"),
    TOP(t_reshape, "ad_reshape"),              TOP(t_to_host, "ad_tensor_to_host"),
    TOP(t_as_var_sum, "ad_tensor_as_var"),
};
static const struct {
    const char *name;
    tensor_binary_fn fn;
} tensor_binary_ops[] = {
    TOP(ad_tensor_add, "ad_tensor_add"), TOP(ad_tensor_sub, "ad_tensor_sub"),
    TOP(ad_tensor_mul, "ad_tensor_mul"), TOP(ad_tensor_div, "ad_tensor_div"),
    TOP(ad_mse, "ad_mse"),               TOP(t_matmul, "ad_matmul"),
};

typedef enum { T_LIVE, T_STALE, T_FOREIGN, T_INVALID, T_FORGED_INDEX, T_FORGED_TAG, T_SCALAR,
               T_FORMS } tensor_form;
static const char *const tensor_form_names[T_FORMS] = {
    "live", "stale", "foreign", "invalid", "forged index", "forged tag", "scalar"};

static ad_tensor tensor_form_of(tensor_form form, ad_tensor live) {
    static const ad_tensor invalid = {UINT32_MAX, 0, 0, 0};
    switch (form) {
    case T_LIVE: return live;
    case T_STALE: return fx.stale_a;
    case T_FOREIGN: return fx.au;
    case T_INVALID: return invalid;
    case T_FORGED_INDEX: return WITH_INDEX_TENSOR(live, 4000);
    case T_FORGED_TAG: return WITH_TAG_TENSOR(live, fx.tag ^ 0x00ff00ffu);
    case T_SCALAR: return AS_TENSOR(fx.x);
    default: return live;
    }
}

static uint64_t tensor_form_statuses(tensor_form form) {
    switch (form) {
    case T_LIVE: return S(AD_OK);
    case T_STALE: return S(AD_ERR_STALE_HANDLE);
    case T_FOREIGN: case T_INVALID: return S(AD_ERR_FOREIGN_HANDLE);
    case T_FORGED_INDEX: case T_FORGED_TAG: return HANDLE_ERRORS;
    case T_SCALAR: return S(AD_ERR_WRONG_HANDLE_KIND);
    default: return 0;
    }
}

static void tensor_op_row(const char *fn, const char *form_name, uint64_t want, int valid, int line) {
    char call[128];
    ad_status got = fixture_status();
    snprintf(call, sizeof call, "%s(t, <%s>)", fn, form_name);
    if ((want == S(AD_OK)) != (valid != 0)) {
        fprintf(stderr, "header_sweep.c:%d: %s gave a %s handle (status %s)\n", line, call,
                valid ? "valid" : "invalid", status_name((int)got));
        spec_call(fn, line);
        check_record(0, __FILE__, line, call);
        return;
    }
    row_result(fn, call, got, want, NULL, line);
}

static void rows_tensor_ops(void) {
    static const size_t rank5[5] = {1, 1, 1, 1, 1};
    static const size_t huge[4] = {(size_t)1 << 16, (size_t)1 << 16, (size_t)1 << 16, (size_t)1 << 16};
    static const size_t wide[2] = {(size_t)UINT32_MAX + 1, 1};
    static const size_t zero[2] = {0, 3};
    static const uint32_t labels[2] = {0, 1}, bad_labels[2] = {0, 9};
    static double big[1 << 14]; /* more than fx.t's memory holds */
    static const size_t big_dims[1] = {COUNT(big)};
    double *odd = (double *)(void *)(mem_ended + 4);

    for (size_t i = 0; i < COUNT(tensor_unary_ops); i++) {
        for (int form = 0; form < T_FORMS; form++) {
            uint64_t want = tensor_form_statuses((tensor_form)form);
            fresh();
            tensor_op_row(tensor_unary_ops[i].name, tensor_form_names[form], want,
                          ad_tensor_is_valid(tensor_unary_ops[i].fn(fx.t, tensor_form_of((tensor_form)form, fx.a))),
                          __LINE__);
        }
        fresh();
        op_result(tensor_unary_ops[i].name, "op(NULL, a)",
                  ad_tensor_is_valid(tensor_unary_ops[i].fn(NULL, fx.a)), NO_TAPE, NULL, __LINE__);
        fresh();
        tensor_op_row(tensor_unary_ops[i].name, "dual tape", S(AD_ERR_DTYPE_MISMATCH),
                      ad_tensor_is_valid(tensor_unary_ops[i].fn(fx.td, AS_TENSOR(fx.xd))), __LINE__);
        fresh();
        tensor_op_row(tensor_unary_ops[i].name, "f32 tape", S(AD_OK),
                      ad_tensor_is_valid(tensor_unary_ops[i].fn(fx.t32, fx.a32)), __LINE__);
    }
    for (size_t i = 0; i < COUNT(tensor_binary_ops); i++) {
        int is_matmul = strcmp(tensor_binary_ops[i].name, "ad_matmul") == 0;
        for (int form = 0; form < T_FORMS; form++) {
            uint64_t want = tensor_form_statuses((tensor_form)form);
            fresh();
            tensor_op_row(tensor_binary_ops[i].name, tensor_form_names[form], want,
                          ad_tensor_is_valid(tensor_binary_ops[i].fn(
                              fx.t, fx.a, tensor_form_of((tensor_form)form, is_matmul ? fx.b : fx.c))),
                          __LINE__);
            fresh();
            tensor_op_row(tensor_binary_ops[i].name, tensor_form_names[form], want,
                          ad_tensor_is_valid(tensor_binary_ops[i].fn(
                              fx.t, tensor_form_of((tensor_form)form, fx.a), is_matmul ? fx.b : fx.c)),
                          __LINE__);
        }
        fresh();
        tensor_op_row(tensor_binary_ops[i].name, "shapes that do not combine", S(AD_ERR_SHAPE_MISMATCH),
                      ad_tensor_is_valid(tensor_binary_ops[i].fn(fx.t, fx.a, is_matmul ? fx.a : fx.b)),
                      __LINE__);
        fresh();
        op_result(tensor_binary_ops[i].name, "op(NULL, a, b)",
                  ad_tensor_is_valid(tensor_binary_ops[i].fn(NULL, fx.a, fx.b)), NO_TAPE, NULL, __LINE__);
        fresh();
        tensor_op_row(tensor_binary_ops[i].name, "host and device", S(AD_ERR_DEVICE_MISMATCH),
                      ad_tensor_is_valid(is_matmul ? ad_matmul(fx.tdev, fx.dh, fx.da, 0, 1)
                                                   : tensor_binary_ops[i].fn(fx.tdev, fx.dh, fx.da)),
                      __LINE__);
    }

    /* Leaves. */
    EXPECT_TENSOR(AD_OK, ad_tensor_input_f64, fx.t, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_OK, ad_tensor_input_f64, fx.t, NULL, 0, V6, 1);
    EXPECT_TENSOR(AD_OK, ad_tensor_input_f64, fx.t, zero, 2, NULL, 0);
    EXPECT_TENSOR(AD_ERR_NULL, ad_tensor_input_f64, fx.t, NULL, 2, V6, 6);
    EXPECT_TENSOR(AD_ERR_NULL, ad_tensor_input_f64, fx.t, D23, 2, NULL, 6);
    EXPECT_TENSOR(AD_ERR_MISALIGNED, ad_tensor_input_f64, fx.t, D23, 2, odd, 6);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f64, fx.t, D23, 2, V6, 5);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f64, fx.t, D23, 2, V6, 0);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f64, fx.t, rank5, 5, V6, 1);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f64, fx.t, wide, 2, V6, 1);
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_tensor_input_f64, fx.t, huge, 4, V6, 1);
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_tensor_input_f64, fx.t, D23, 2, V6, SIZE_MAX);
    EXPECT_TENSOR(AD_ERR_OUT_OF_MEMORY, ad_tensor_input_f64, fx.t, big_dims, 1, big, COUNT(big));
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_input_f64, fx.t32, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_input_f64, fx.td, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_tensor_input_f64, sticky_t(), D23, 2, V6, 6);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_input_f64, NULL, D23, 2, V6, 6);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_input_f64, fx.ended, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_OK, ad_tensor_input_f32, fx.t32, D23, 2, F6, 6);
    EXPECT_TENSOR(AD_ERR_NULL, ad_tensor_input_f32, fx.t32, D23, 2, NULL, 6);
    EXPECT_TENSOR(AD_ERR_MISALIGNED, ad_tensor_input_f32, fx.t32, D23, 2, (const float *)(void *)(mem_ended + 2), 6);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f32, fx.t32, D23, 2, F6, 7);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f32, fx.t32, rank5, 5, F6, 1);
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_tensor_input_f32, fx.t32, huge, 4, F6, 1);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_input_f32, fx.t, D23, 2, F6, 6);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_input_f32, NULL, D23, 2, F6, 6);
    EXPECT_TENSOR(AD_OK, ad_tensor_const_f64, fx.t, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_ERR_NULL, ad_tensor_const_f64, fx.t, D23, 2, NULL, 6);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_const_f64, fx.t, D23, 2, V6, 4);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_const_f64, fx.t, rank5, 5, V6, 1);
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_tensor_const_f64, fx.t, huge, 4, V6, 1);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_const_f64, fx.td, D23, 2, V6, 6);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_const_f64, NULL, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_OK, ad_tensor_const_f32, fx.t32, D23, 2, F6, 6);
    EXPECT_TENSOR(AD_ERR_NULL, ad_tensor_const_f32, fx.t32, NULL, 2, F6, 6);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_const_f32, fx.t32, D23, 2, F6, 1);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_const_f32, fx.t32, rank5, 5, F6, 1);
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_tensor_const_f32, fx.t32, huge, 4, F6, 1);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_const_f32, fx.t, D23, 2, F6, 6);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_const_f32, NULL, D23, 2, F6, 6);

    /* Op arguments beyond the handles. */
    EXPECT_TENSOR(AD_OK, ad_matmul, fx.t, fx.a, fx.a, 0, 1);
    EXPECT_TENSOR(AD_OK, ad_matmul, fx.t, fx.a, fx.a, INT_MIN, 0);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_matmul, fx.t, fx.s, fx.s, 0, 0);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_matmul, fx.td, fx.a, fx.b, 0, 0);
    EXPECT_TENSOR(NO_TAPE, ad_matmul, NULL, fx.a, fx.b, 0, 0);
    {
        ad_tensor bias;
        static const size_t d2[1] = {2};
        fresh();
        bias = ad_tensor_input_f64(fx.t, d2, 1, V2, 2);
        tensor_op_row("ad_linear", "live", S(AD_OK),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, bias, AD_ACT_TANH)), __LINE__);
        fresh();
        bias = ad_tensor_input_f64(fx.t, d2, 1, V2, 2);
        tensor_op_row("ad_linear", "GELU", S(AD_ERR_INVALID_ARGUMENT),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, bias, AD_ACT_GELU)), __LINE__);
        fresh();
        bias = ad_tensor_input_f64(fx.t, d2, 1, V2, 2);
        tensor_op_row("ad_linear", "activation 10", S(AD_ERR_INVALID_ARGUMENT),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, bias, (ad_activation)10)), __LINE__);
        fresh();
        bias = ad_tensor_input_f64(fx.t, d2, 1, V2, 2);
        tensor_op_row("ad_linear", "activation -1", S(AD_ERR_INVALID_ARGUMENT),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, bias, (ad_activation)-1)), __LINE__);
        fresh();
        tensor_op_row("ad_linear", "bias of the wrong shape", S(AD_ERR_SHAPE_MISMATCH),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, fx.a, AD_ACT_RELU)), __LINE__);
        fresh();
        tensor_op_row("ad_linear", "stale bias", S(AD_ERR_STALE_HANDLE),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, fx.stale_a, AD_ACT_RELU)), __LINE__);
        fresh();
        tensor_op_row("ad_linear", "scalar weight", S(AD_ERR_WRONG_HANDLE_KIND),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, AS_TENSOR(fx.x), fx.a, AD_ACT_RELU)), __LINE__);
        EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_linear, fx.td, fx.a, fx.b, fx.a, AD_ACT_RELU);
        EXPECT_TENSOR(NO_TAPE, ad_linear, NULL, fx.a, fx.b, fx.a, AD_ACT_RELU);
    }
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_activation, fx.t, fx.a, (ad_activation)10);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_activation, fx.t, fx.a, (ad_activation)INT_MIN);
    EXPECT_TENSOR(AD_OK, ad_tensor_activation, fx.t, fx.a, AD_ACT_SQUARE);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_scale, fx.t, fx.a, NAN);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_scale, fx.t, fx.a, INFINITY);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_leaky_relu, fx.t, fx.a, NAN);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_leaky_relu, fx.t, fx.a, -INFINITY);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_tensor_sum_axis, fx.t, fx.a, 2);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_tensor_sum_axis, fx.t, fx.a, SIZE_MAX);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_tensor_mean_axis, fx.t, fx.s, 0);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_transpose, fx.t, fx.s);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_softmax, fx.t, fx.s);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_log_softmax, fx.t, fx.s);
    EXPECT_TENSOR(AD_ERR_NULL, ad_reshape, fx.t, fx.a, NULL, 1);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_reshape, fx.t, fx.a, D2, 1);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_reshape, fx.t, fx.a, NULL, 0);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_reshape, fx.t, fx.a, rank5, 5);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_reshape, fx.t, fx.a, wide, 2);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_reshape, fx.t, fx.a, huge, 4); /* counts differ */
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_reshape, fx.t, fx.a, D6, SIZE_MAX);
    EXPECT_TENSOR(AD_OK, ad_cross_entropy, fx.t, fx.a, labels, 2);
    EXPECT_TENSOR(AD_ERR_NULL, ad_cross_entropy, fx.t, fx.a, NULL, 2);
    EXPECT_TENSOR(AD_ERR_MISALIGNED, ad_cross_entropy, fx.t, fx.a, (const uint32_t *)(void *)(mem_ended + 1), 2);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_cross_entropy, fx.t, fx.a, labels, 1);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_cross_entropy, fx.t, fx.a, NULL, 0);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_cross_entropy, fx.t, fx.a, bad_labels, 2);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_cross_entropy, fx.t, fx.s, labels, 1);
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_cross_entropy, fx.t, fx.stale_a, labels, 2);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_cross_entropy, fx.td, fx.a, labels, 2);
    EXPECT_TENSOR(NO_TAPE, ad_cross_entropy, NULL, fx.a, labels, 2);
    EXPECT_VAR(AD_ERR_SHAPE_MISMATCH, ad_tensor_as_var, fx.t, fx.a);
    EXPECT_VAR(AD_OK, ad_tensor_as_var, fx.t, fx.s);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_tensor_as_var, fx.t, fx.stale_a);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_tensor_as_var, fx.t, fx.au);
    EXPECT_VAR(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_as_var, fx.t, AS_TENSOR(fx.x));
    EXPECT_VAR(AD_ERR_DTYPE_MISMATCH, ad_tensor_as_var, fx.td, AS_TENSOR(fx.xd));
    EXPECT_VAR(NO_TAPE, ad_tensor_as_var, NULL, fx.s);

    {
        static const ad_tensor invalid = {UINT32_MAX, 0, 0, 0};
        fresh();
        CHECK(!ad_tensor_is_valid(invalid));
        CHECK(ad_tensor_is_valid(fx.a) && ad_tensor_is_valid(fx.stale_a));
        CALLED(ad_tensor_is_valid);
    }
}

/* ---- tensor data ---- */

typedef ad_status (*read64_fn)(const ad_tape *, ad_tensor, double *, size_t);
typedef ad_status (*read32_fn)(const ad_tape *, ad_tensor, float *, size_t);

static void rows_tensor_data(void) {
    double out[8];
    float out32[8];
    size_t dims[4], rank = 9, len = 0;
    int rank_id = 0;
    char text[16];
    double *odd = (double *)(void *)(mem_ended + 4);
    static const struct {
        const char *name;
        read64_fn fn;
        read32_fn fn32;
    } readers[] = {
        {"value", ad_tensor_value_f64, ad_tensor_value_f32},
        {"grad", ad_tensor_grad_f64, ad_tensor_grad_f32},
        {"tangent", ad_tensor_tangent_f64, ad_tensor_tangent_f32},
    };

    EXPECT(AD_OK, ad_tensor_rank, fx.t, fx.a, &rank);
    EXPECT(AD_ERR_NULL, ad_tensor_rank, NULL, fx.a, &rank);
    EXPECT(AD_ERR_NULL, ad_tensor_rank, fx.t, fx.a, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_rank, fx.ended, fx.a, &rank);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_rank, fx.t, fx.stale_a, &rank);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tensor_rank, fx.t, fx.au, &rank);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_tensor_rank, fx.t, WITH_INDEX_TENSOR(fx.a, 999), &rank);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_rank, fx.t, AS_TENSOR(fx.x), &rank);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_rank, fx.td, AS_TENSOR(fx.xd), &rank);
    EXPECT(AD_OK, ad_tensor_dims, fx.t, fx.a, dims, 4, &rank);
    EXPECT(AD_ERR_NULL, ad_tensor_dims, NULL, fx.a, dims, 4, &rank);
    EXPECT(AD_ERR_NULL, ad_tensor_dims, fx.t, fx.a, dims, 4, NULL);
    EXPECT(AD_ERR_NULL, ad_tensor_dims, fx.t, fx.a, NULL, 4, &rank);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_dims, fx.t, fx.a, (size_t *)(void *)(mem_ended + 1), 4, &rank);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tensor_dims, fx.t, fx.a, dims, 1, &rank);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tensor_dims, fx.t, fx.a, NULL, 0, &rank);
    CHECK(rank == 2);
    EXPECT(AD_OK, ad_tensor_dims, fx.t, fx.s, NULL, 0, &rank);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_dims, fx.t, fx.stale_a, dims, 4, &rank);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_dims, fx.t, AS_TENSOR(fx.x), dims, 4, &rank);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_dims, fx.ended, fx.a, dims, 4, &rank);

    for (size_t i = 0; i < COUNT(readers); i++) {
        char f64_name[64], f32_name[64];
        snprintf(f64_name, sizeof f64_name, "ad_tensor_%s_f64", readers[i].name);
        snprintf(f32_name, sizeof f32_name, "ad_tensor_%s_f32", readers[i].name);
#define READ_ROW(want_set, what, call)                                                 \
    do {                                                                              \
        fresh();                                                                      \
        row_result(name, what, call, want_set, NULL, __LINE__);                      \
    } while (0)
        {
            const char *name = f64_name;
            READ_ROW(S(AD_OK), "live, after backward",
                     (ad_backward(fx.t, ad_tensor_as_var(fx.t, fx.s)), readers[i].fn(fx.t, fx.a, out, 6)));
            READ_ROW(S(AD_ERR_NULL), "NULL tape", readers[i].fn(NULL, fx.a, out, 6));
            READ_ROW(S(AD_ERR_NULL), "NULL out", readers[i].fn(fx.t, fx.a, NULL, 6));
            READ_ROW(S(AD_ERR_MISALIGNED), "misaligned out", readers[i].fn(fx.t, fx.a, odd, 6));
            READ_ROW(S(AD_ERR_INVALID_ARGUMENT), "len 5", readers[i].fn(fx.t, fx.a, out, 5));
            READ_ROW(S(AD_ERR_INVALID_ARGUMENT), "len 0", readers[i].fn(fx.t, fx.a, NULL, 0));
            READ_ROW(S(AD_ERR_SIZE_OVERFLOW), "len SIZE_MAX", readers[i].fn(fx.t, fx.a, out, SIZE_MAX));
            READ_ROW(S(AD_ERR_STALE_HANDLE), "stale", readers[i].fn(fx.t, fx.stale_a, out, 6));
            READ_ROW(S(AD_ERR_FOREIGN_HANDLE), "foreign", readers[i].fn(fx.t, fx.au, out, 6));
            READ_ROW(HANDLE_ERRORS, "forged", readers[i].fn(fx.t, WITH_TAG_TENSOR(fx.a, 3), out, 6));
            READ_ROW(S(AD_ERR_WRONG_HANDLE_KIND), "scalar", readers[i].fn(fx.t, AS_TENSOR(fx.x), out, 1));
            READ_ROW(HANDLE_ERRORS, "parameter", readers[i].fn(fx.t, AS_TENSOR(fx.p), out, 2));
            READ_ROW(S(AD_ERR_DTYPE_MISMATCH), "f32 tape", readers[i].fn(fx.t32, fx.a32, out, 6));
            READ_ROW(S(AD_ERR_DTYPE_MISMATCH), "dual tape", readers[i].fn(fx.td, AS_TENSOR(fx.xd), out, 1));
            READ_ROW(S(AD_ERR_INVALID_TAPE), "ended tape", readers[i].fn(fx.ended, fx.a, out, 6));
            READ_ROW(S(AD_OK), "device tensor", readers[i].fn(fx.tdev, fx.da, out, 6));
        }
        {
            const char *name = f32_name;
            READ_ROW(S(AD_OK), "live", readers[i].fn32(fx.t32, fx.a32, out32, 6));
            READ_ROW(S(AD_ERR_NULL), "NULL out", readers[i].fn32(fx.t32, fx.a32, NULL, 6));
            READ_ROW(S(AD_ERR_MISALIGNED), "misaligned out",
                     readers[i].fn32(fx.t32, fx.a32, (float *)(void *)(mem_ended + 2), 6));
            READ_ROW(S(AD_ERR_INVALID_ARGUMENT), "len 7", readers[i].fn32(fx.t32, fx.a32, out32, 7));
            READ_ROW(S(AD_ERR_STALE_HANDLE), "stale", readers[i].fn32(fx.t32, AS_TENSOR(fx.stale32), out32, 1));
            READ_ROW(S(AD_ERR_DTYPE_MISMATCH), "f64 tape", readers[i].fn32(fx.t, fx.a, out32, 6));
            READ_ROW(S(AD_ERR_NULL), "NULL tape", readers[i].fn32(NULL, fx.a32, out32, 6));
        }
#undef READ_ROW
    }
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_grad_f64, fx.t, fx.c, out, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_grad_f32, fx.t32, fx.c32, out32, 6);
    EXPECT(AD_OK, ad_tensor_value_f64, sticky_t(), fx.a, out, 6); /* values stay readable */
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_grad_f64, sticky_t(), fx.a, out, 6);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_tangent_f64, sticky_t(), fx.a, out, 6);
    fresh();
    (void)ad_tensor_value_f64(fx.t, fx.a, out, 5);
    CHECK(strcmp(ad_tape_error(fx.t), "buffer length 5 differs from the tensor's element count 6") == 0);
    fresh();
    (void)ad_tensor_input_f64(fx.t, D23, 2, V6, 4);
    CHECK(strcmp(ad_tape_error(fx.t), "data length 4 differs from the shape's element count 6") == 0);

    EXPECT(AD_OK, ad_tensor_set_value_f64, fx.t, fx.a, V6, 6);
    EXPECT(AD_OK, ad_tensor_set_value_f64, fx.t, fx.c, V6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_set_value_f64, NULL, fx.a, V6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_set_value_f64, fx.t, fx.a, NULL, 6);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_set_value_f64, fx.t, fx.a, odd, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_set_value_f64, fx.t, fx.a, V6, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_set_value_f64, fx.t, fx.s, V6, 1);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_set_value_f64, fx.t, AS_TENSOR(fx.x), V6, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_set_value_f64, fx.t, fx.stale_a, V6, 6);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tensor_set_value_f64, fx.t, fx.au, V6, 6);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_set_value_f64, fx.t32, fx.a32, V6, 6);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_set_value_f64, fx.ended, fx.a, V6, 6);
    EXPECT(AD_OK, ad_tensor_set_value_f64, fx.tdev, fx.dh, V6, 6);
    EXPECT(AD_OK, ad_tensor_set_value_f64, sticky_t(), fx.a, V6, 6);
    EXPECT(AD_OK, ad_tensor_rank, sticky_t(), fx.a, &rank);
    EXPECT(AD_OK, ad_tensor_device, sticky_t(), fx.a, &rank_id);
    EXPECT(AD_OK, ad_tensor_set_value_f32, fx.t32, fx.a32, F6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_set_value_f32, fx.t32, fx.a32, NULL, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_set_value_f32, fx.t32, fx.a32, F6, 3);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_set_value_f32, fx.t, fx.a, F6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_set_value_f32, NULL, fx.a32, F6, 6);
    {
        double nans[6] = {NAN, INFINITY, -INFINITY, 0, 0, 0};
        EXPECT(AD_OK, ad_tensor_set_value_f64, fx.t, fx.a, nans, 6);
    }

    EXPECT(AD_OK, ad_tensor_seed_tangent_f64, fx.t, fx.a, V6, 6);
    EXPECT(AD_OK, ad_tensor_seed_tangent_f64, fx.t, fx.pu, V2, 2);
    EXPECT(AD_ERR_NULL, ad_tensor_seed_tangent_f64, NULL, fx.a, V6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_seed_tangent_f64, fx.t, fx.a, NULL, 6);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_seed_tangent_f64, fx.t, fx.a, odd, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_seed_tangent_f64, fx.t, fx.a, V6, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_seed_tangent_f64, fx.t, fx.c, V6, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_seed_tangent_f64, fx.t, fx.s, V6, 1);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_seed_tangent_f64, fx.t, AS_TENSOR(fx.x), V6, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_seed_tangent_f64, fx.t, fx.stale_a, V6, 6);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tensor_seed_tangent_f64, fx.t, fx.au, V6, 6);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_seed_tangent_f64, fx.t32, fx.a32, V6, 6);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_seed_tangent_f64, fx.ended, fx.a, V6, 6);
    EXPECT(AD_OK, ad_tensor_seed_tangent_f32, fx.t32, fx.a32, F6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_seed_tangent_f32, fx.t32, fx.a32, NULL, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_seed_tangent_f32, fx.t32, fx.a32, F6, 5);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_seed_tangent_f32, fx.t, fx.a, F6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_seed_tangent_f32, NULL, fx.a32, F6, 6);

    EXPECT(AD_OK, ad_tape_dot, fx.t, (char *)mem_ended, sizeof mem_ended, &len);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tape_dot, fx.t, NULL, 0, &len);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tape_dot, fx.t, text, sizeof text, &len);
    CHECK(len > sizeof text && strlen(text) == sizeof text - 1);
    EXPECT(AD_ERR_NULL, ad_tape_dot, NULL, text, sizeof text, &len);
    EXPECT(AD_ERR_NULL, ad_tape_dot, fx.t, text, sizeof text, NULL);
    EXPECT(AD_ERR_NULL, ad_tape_dot, fx.t, NULL, 5, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tape_dot, fx.td, text, sizeof text, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_dot, fx.ended, text, sizeof text, &len);
    EXPECT(AD_OK, ad_tape_dot, sticky_t(), (char *)mem_ended, sizeof mem_ended, &len);
}

#endif
