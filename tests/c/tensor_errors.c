/* Tensors from C, failing: every failure a C caller can provoke (shapes, a too-small
 * arena, NULLs, misalignment, dtypes, in-place updates), each followed by a reset and a
 * successful call. */
#include "tensor_common.h"

/* ---- failures ---- */

static void shape_errors(void) {
    ad_tape *t = fresh(AD_F64);
    static const size_t d23[2] = {2, 3}, d45[2] = {4, 5}, d4[1] = {4};
    static double a[20];
    double v;
    ad_tensor x = ad_tensor_input_f64(t, d23, 2, a, 6), y = ad_tensor_input_f64(t, d45, 2, a, 20);
    ad_tensor p = ad_matmul(t, x, y, 0, 0), q;
    const char *msg;
    CHECK(!ad_tensor_is_valid(p));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
    msg = ad_tape_error(t);
    CHECK(strstr(msg, "matmul") != NULL && strstr(msg, "[2, 3]") != NULL && strstr(msg, "[4, 5]") != NULL);
    /* sticky: later ops fail too, and backward reports the first error */
    q = ad_tensor_sum(t, x);
    CHECK(!ad_tensor_is_valid(q));
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, q)), AD_ERR_SHAPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    y = ad_tensor_input_f64(t, d4, 1, a, 4);
    (void)ad_tensor_add(t, x, y);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
    msg = ad_tape_error(t);
    CHECK(strstr(msg, "add") != NULL && strstr(msg, "[2, 3]") != NULL && strstr(msg, "[4]") != NULL);
    CHECK_OK(ad_tape_reset(t));
    /* linear's bias, mse, reshape, cross_entropy labels, sum_axis */
    {
        static const size_t d33[2] = {3, 3}, d2[1] = {2}, d7[1] = {7};
        static const uint32_t labels[2] = {0, 5};
        ad_tensor w, b;
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        w = ad_tensor_input_f64(t, d33, 2, a, 9);
        b = ad_tensor_input_f64(t, d2, 1, a, 2);
        (void)ad_linear(t, x, w, b, AD_ACT_RELU);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
        CHECK(strstr(ad_tape_error(t), "[3]") != NULL && strstr(ad_tape_error(t), "[2]") != NULL);
        CHECK_OK(ad_tape_reset(t));
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_reshape(t, x, d7, 1);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
        CHECK(strstr(ad_tape_error(t), "[2, 3]") != NULL && strstr(ad_tape_error(t), "[7]") != NULL);
        CHECK_OK(ad_tape_reset(t));
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_cross_entropy(t, x, labels, 2);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
        CHECK_OK(ad_tape_reset(t));
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_cross_entropy(t, x, labels, 1);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
        CHECK_OK(ad_tape_reset(t));
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_tensor_sum_axis(t, x, 2);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
        CHECK_OK(ad_tape_reset(t));
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_mse(t, x, ad_transpose(t, x));
        CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
        CHECK_OK(ad_tape_reset(t));
        /* a data length that is not the element count; a rank above 4 */
        x = ad_tensor_input_f64(t, d23, 2, a, 5);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
        CHECK_OK(ad_tape_reset(t));
        {
            static const size_t d5[5] = {1, 1, 1, 1, 1};
            x = ad_tensor_input_f64(t, d5, 5, a, 1);
            CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
            CHECK_OK(ad_tape_reset(t));
        }
    }
    /* unknown and unfusable activations */
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    (void)ad_tensor_activation(t, x, (ad_activation)99);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ad_tape_error(t), "activation") != NULL);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    (void)ad_tensor_activation(t, x, (ad_activation)-1);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_tape_reset(t));
    {
        static const size_t d33[2] = {3, 3}, d3[1] = {3};
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_linear(t, x, ad_tensor_input_f64(t, d33, 2, a, 9), ad_tensor_input_f64(t, d3, 1, a, 3),
                        AD_ACT_GELU);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
        CHECK_OK(ad_tape_reset(t));
    }
    (void)ad_tensor_scale(t, ad_tensor_input_f64(t, d23, 2, a, 6), NAN);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    /* then a reset, and success */
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    CHECK_OK(ad_value(t, ad_tensor_as_var(t, ad_tensor_sum(t, x)), &v));
    CHECK(v == 0.0);
    CHECK_OK(ad_tape_done(t));
}

static void small_arena(void) {
    static unsigned char mem[3000];
    static const size_t d[2] = {20, 20};
    static double a[400];
    ad_tape *t = NULL;
    ad_param p;
    double v;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    (void)ad_tensor_input_f64(t, d, 2, a, 400);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_OUT_OF_MEMORY);
    CHECK(strstr(ad_tape_error(t), "arena exhausted") != NULL);
    CHECK_OK(ad_tape_reset(t));
    CHECK_STATUS(ad_param_new_f64(t, d, 2, a, 400, &p), AD_ERR_OUT_OF_MEMORY);
    CHECK_OK(ad_tape_reset(t));
    {
        static const size_t d2[1] = {2};
        ad_tensor x = ad_tensor_input_f64(t, d2, 1, a, 2);
        CHECK_OK(ad_value(t, ad_tensor_as_var(t, ad_tensor_sum(t, x)), &v));
        CHECK(v == 0.0);
    }
    CHECK_OK(ad_tape_done(t));
}

static void nulls_and_misalignment(void) {
    ad_tape *t = fresh(AD_F64);
    static const size_t d23[2] = {2, 3};
    static double a[7];
    double out[6];
    size_t n, dims[4];
    ad_param p;
    ad_tensor x;
    /* a NULL tape: ops return the invalid tensor, calls AD_ERR_NULL */
    CHECK(!ad_tensor_is_valid(ad_tensor_input_f64(NULL, d23, 2, a, 6)));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    CHECK(!ad_tensor_is_valid(ad_matmul(NULL, x, x, 0, 1)));
    CHECK(!ad_var_is_valid(ad_tensor_as_var(NULL, x)));
    CHECK_STATUS(ad_tensor_value_f64(NULL, x, out, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_rank(NULL, x, &n), AD_ERR_NULL);
    CHECK_STATUS(ad_param_count(NULL, &n), AD_ERR_NULL);
    CHECK_STATUS(ad_optim_step(NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_optim_sgd(NULL, 0.1, 0, 0), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_dot(NULL, NULL, 0, &n), AD_ERR_NULL);
    CHECK_OK(ad_tape_status(t));
    /* NULL out-parameters and buffers: data calls fail and leave the tape alone */
    CHECK_STATUS(ad_tensor_value_f64(t, x, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_grad_f64(t, x, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_tangent_f64(t, x, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_set_value_f64(t, x, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_seed_tangent_f64(t, x, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_rank(t, x, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_dims(t, x, NULL, 2, &n), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_dims(t, x, dims, 2, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_param_count(t, NULL), AD_ERR_NULL);
    CHECK(strstr(ad_tape_error(t), "count_out") != NULL);
    CHECK_OK(ad_tape_status(t));
    /* a NULL array given to an op is sticky, and reported as AD_ERR_NULL */
    (void)ad_tensor_input_f64(t, NULL, 2, a, 6);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NULL);
    CHECK(strstr(ad_tape_error(t), "dims") != NULL);
    CHECK(!ad_tensor_is_valid(ad_tensor_sum(t, x)));
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, x)), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_grad_f64(t, x, out, 6), AD_ERR_NULL);
    CHECK_OK(ad_tape_reset(t));
    (void)ad_cross_entropy(t, ad_tensor_input_f64(t, d23, 2, a, 6), NULL, 2);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NULL);
    CHECK(strstr(ad_tape_error(t), "labels") != NULL);
    CHECK_OK(ad_tape_reset(t));
    (void)ad_reshape(t, ad_tensor_input_f64(t, d23, 2, a, 6), NULL, 1);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NULL);
    CHECK_OK(ad_tape_reset(t));
    (void)ad_tensor_const_f64(t, d23, 2, NULL, 6);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NULL);
    CHECK_OK(ad_tape_reset(t));
    /* a misaligned data pointer */
    (void)ad_tensor_input_f64(t, d23, 2, (const double *)(const void *)((const char *)a + 1), 6);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_MISALIGNED);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    CHECK_STATUS(ad_tensor_value_f64(t, x, (double *)(void *)((char *)out + 1), 5), AD_ERR_MISALIGNED);
    /* parameters */
    CHECK_OK(ad_tape_reset(t));
    CHECK_STATUS(ad_param_new_f64(t, d23, 2, a, 6, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_param_new_f64(t, d23, 2, NULL, 6, &p), AD_ERR_NULL);
    CHECK_STATUS(ad_param_new_f64(t, NULL, 2, a, 6, &p), AD_ERR_NULL);
    CHECK_OK(ad_param_new_f64(t, d23, 2, a, 6, &p));
    CHECK_STATUS(ad_param_read_f64(t, p, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_param_grad_f64(t, p, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_param_write_f64(t, p, NULL, 6), AD_ERR_NULL);
    CHECK(!ad_tensor_is_valid(ad_param_use(NULL, p)));
    /* then success */
    CHECK_OK(ad_tape_reset(t));
    x = ad_param_use(t, p);
    CHECK_OK(ad_tensor_value_f64(t, x, out, 6));
    CHECK_OK(ad_tape_done(t));
    /* an ended tape */
    CHECK_STATUS(ad_tensor_value_f64(t, x, out, 6), AD_ERR_INVALID_TAPE);
    CHECK(!ad_tensor_is_valid(ad_tensor_sum(t, x)));
}

static void dtype_mismatches(void) {
    static const size_t d2[1] = {2};
    static const double a[2] = {1, 2};
    static const float f[2] = {1, 2};
    double out[2];
    float fout[2];
    size_t n;
    ad_param p;
    ad_tensor x;
    ad_tape *t = fresh(AD_F32);
    /* an f64 array on an f32 tape: sticky */
    (void)ad_tensor_input_f64(t, d2, 1, a, 2);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    CHECK_STATUS(ad_param_new_f64(t, d2, 1, a, 2, &p), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f32(t, d2, 1, f, 2);
    CHECK_STATUS(ad_tensor_value_f64(t, x, out, 2), AD_ERR_DTYPE_MISMATCH);
    CHECK_STATUS(ad_tensor_set_value_f64(t, x, a, 2), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tensor_value_f32(t, x, fout, 2));
    CHECK(fout[0] == 1.0f && fout[1] == 2.0f);
    CHECK_OK(ad_tape_done(t));
    t = fresh(AD_F64);
    (void)ad_tensor_const_f32(t, d2, 1, f, 2);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d2, 1, a, 2);
    CHECK_STATUS(ad_tensor_grad_f32(t, x, fout, 2), AD_ERR_DTYPE_MISMATCH);
    CHECK_STATUS(ad_param_new_f64(t, d2, 1, a, 2, &p), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_tape_done(t));
    /* a dual tape has no tensors */
    t = fresh(AD_F64_DUAL);
    (void)ad_tensor_input_f64(t, d2, 1, a, 2);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    CHECK(!ad_tensor_is_valid(ad_tensor_sum(t, x)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    CHECK_STATUS(ad_param_count(t, &n), AD_ERR_DTYPE_MISMATCH);
    CHECK_STATUS(ad_optim_sgd(t, 0.1, 0, 0), AD_ERR_DTYPE_MISMATCH);
    CHECK_STATUS(ad_tape_dot(t, NULL, 0, &n), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_status(t));
    /* then success on the same tape's scalar side */
    {
        double v;
        ad_var y = ad_input(t, 2.0);
        CHECK_OK(ad_value(t, ad_mul(t, y, y), &v));
        CHECK(v == 4.0);
    }
    CHECK_OK(ad_tape_done(t));
}

int main(void) {
    shape_errors();
    small_arena();
    nulls_and_misalignment();
    dtype_mismatches();
    return check_summary();
}
