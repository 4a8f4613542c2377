/* Bad input of every kind gets a status, never a crash or undefined behaviour: NULL
 * pointers, zero-length, too-small and misaligned memory, stale and foreign variables,
 * dtype mismatches, wrong buffer lengths, overflowing sizes, ended tapes, and a panic
 * inside the library. Out-parameters keep their old contents when a call fails. */
#include <stdint.h>
#include <string.h>

#include "check.h"

/* Test hook exported by the library but kept out of the header: it panics inside the
 * library's boundary and must come back as AD_ERR_PANIC. */
ad_status ad_debug_panic_for_test(void);

static unsigned char mem_a[8192], mem_b[8192];
static const ad_var invalid = {UINT32_MAX, 0, 0, 0};

static void null_pointers(void) {
    ad_tape *t;
    double d = 7.0, buf[2] = {7.0, 7.0};
    size_t n = 7;
    ad_var v = {0, 1, 0, 0};
    CHECK_OK(ad_tape_init(mem_a, sizeof mem_a, AD_F64, &t));
    v = ad_input(t, 1.0);

    CHECK_STATUS(ad_tape_init(NULL, 64, AD_F64, &t), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_init(mem_b, sizeof mem_b, AD_F64, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_new(4096, AD_F64, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_bytes_for(1, AD_F64, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_done(NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_reset(NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_status(NULL), AD_ERR_NULL);
    CHECK(strcmp(ad_tape_error(NULL), "null tape") == 0);
    CHECK_STATUS(ad_tape_num_inputs(NULL, &n), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_num_inputs(t, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_len(NULL, &n), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_len(t, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_bytes_used(NULL, &n), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_bytes_used(t, NULL), AD_ERR_NULL);
    CHECK(n == 7);

    CHECK_STATUS(ad_backward(NULL, v), AD_ERR_NULL);
    CHECK_STATUS(ad_grad(NULL, v, &d), AD_ERR_NULL);
    CHECK_STATUS(ad_grad(t, v, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_value(NULL, v, &d), AD_ERR_NULL);
    CHECK_STATUS(ad_value(t, v, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tangent(NULL, v, &d), AD_ERR_NULL);
    CHECK_STATUS(ad_tangent(t, v, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_gradient(NULL, v, buf, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_gradient(t, v, NULL, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_jvp(NULL, buf, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_jvp(t, NULL, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_replay(NULL, buf, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_replay(t, NULL, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_jacobian(NULL, &v, 1, buf, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_jacobian(t, NULL, 1, buf, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_jacobian(t, &v, 1, NULL, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_jacobian_fwd(NULL, &v, 1, buf, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_jacobian_fwd(t, NULL, 1, buf, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_jacobian_fwd(t, &v, 1, NULL, 1), AD_ERR_NULL);
    CHECK(d == 7.0 && buf[0] == 7.0);

    /* Ops on a NULL tape return the invalid variable. */
    CHECK(!ad_var_is_valid(ad_input(NULL, 1.0)));
    CHECK(!ad_var_is_valid(ad_const(NULL, 1.0)));
    CHECK(!ad_var_is_valid(ad_add(NULL, v, v)));
    CHECK(!ad_var_is_valid(ad_sin(NULL, v)));
    CHECK(!ad_var_is_valid(ad_powi(NULL, v, 2)));
    CHECK(!ad_var_is_valid(ad_powf(NULL, v, 2.0)));
    CHECK(!ad_var_is_valid(ad_scale(NULL, v, 2.0)));
    /* ... and none of that touched the live tape. */
    CHECK_OK(ad_tape_status(t));
    /* An empty array may be NULL. */
    CHECK_OK(ad_tape_reset(t));
    CHECK_OK(ad_replay(t, NULL, 0));
    CHECK_OK(ad_jvp(t, NULL, 0));
    CHECK_OK(ad_tape_done(t));
    ad_tape_free(NULL);
}

static void bad_memory(void) {
    ad_tape *t = NULL, *before;
    size_t bytes = 7;
    CHECK_STATUS(ad_tape_init(mem_a, 0, AD_F64, &t), AD_ERR_OUT_OF_MEMORY);
    CHECK(t == NULL);
    CHECK_STATUS(ad_tape_init(mem_a, 16, AD_F64, &t), AD_ERR_OUT_OF_MEMORY);
    CHECK_OK(ad_tape_bytes_for(1, AD_F64, &bytes));
    CHECK_STATUS(ad_tape_init(mem_a + 1, bytes - 8, AD_F64, &t), AD_ERR_OUT_OF_MEMORY);
    CHECK(t == NULL);
    /* Misaligned memory is aligned inside. */
    CHECK_OK(ad_tape_init(mem_a + 1, bytes, AD_F64, &t));
    CHECK(ad_var_is_valid(ad_input(t, 1.0)));
    CHECK_OK(ad_tape_done(t));
    /* Unknown dtypes. */
    before = t;
    CHECK_STATUS(ad_tape_init(mem_a, sizeof mem_a, (ad_dtype)0, &t), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_tape_init(mem_a, sizeof mem_a, (ad_dtype)99, &t), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_tape_new(4096, (ad_dtype)-1, &t), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_tape_bytes_for(1, (ad_dtype)42, &bytes), AD_ERR_INVALID_ARGUMENT);
    CHECK(t == before);
    /* Overflowing sizes. */
    bytes = 7;
    CHECK_STATUS(ad_tape_bytes_for(SIZE_MAX, AD_F64, &bytes), AD_ERR_SIZE_OVERFLOW);
    CHECK_STATUS(ad_tape_bytes_for(SIZE_MAX / 16, AD_F64, &bytes), AD_ERR_SIZE_OVERFLOW);
    CHECK(bytes == 7);
    CHECK_STATUS(ad_tape_new(SIZE_MAX, AD_F64, &t), AD_ERR_SIZE_OVERFLOW);
    CHECK_STATUS(ad_tape_new(0, AD_F64, &t), AD_ERR_OUT_OF_MEMORY);
    CHECK_STATUS(ad_tape_new(8, AD_F64, &t), AD_ERR_OUT_OF_MEMORY);
    CHECK(t == before);
    /* A wrapping address range. */
    CHECK_STATUS(ad_tape_init(mem_a, SIZE_MAX, AD_F64, &t), AD_ERR_SIZE_OVERFLOW);
}

static void ended_and_garbage_tapes(void) {
    ad_tape *t;
    static double zeros[64];
    double d = 7.0;
    CHECK_OK(ad_tape_init(mem_a, sizeof mem_a, AD_F64, &t));
    CHECK_OK(ad_tape_done(t));
    CHECK_STATUS(ad_tape_done(t), AD_ERR_INVALID_TAPE);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_TAPE);
    CHECK_STATUS(ad_tape_reset(t), AD_ERR_INVALID_TAPE);
    CHECK(!ad_var_is_valid(ad_input(t, 1.0)));
    CHECK_STATUS(ad_value(t, invalid, &d), AD_ERR_INVALID_TAPE);
    CHECK(strcmp(ad_tape_error(t), "not a live tape") == 0);
    ad_tape_free(t); /* ended already: nothing happens */
    /* Memory that never held a tape, aligned or not. */
    CHECK_STATUS(ad_tape_status((ad_tape *)zeros), AD_ERR_INVALID_TAPE);
    CHECK_STATUS(ad_tape_status((ad_tape *)((unsigned char *)zeros + 1)), AD_ERR_INVALID_TAPE);
    CHECK(d == 7.0);
}

static void bad_handles(void) {
    ad_tape *a, *b;
    ad_var xa, xb, old, y;
    double d = 7.0;
    CHECK_OK(ad_tape_init(mem_a, sizeof mem_a, AD_F64, &a));
    CHECK_OK(ad_tape_init(mem_b, sizeof mem_b, AD_F64, &b));
    xa = ad_input(a, 1.0);
    xb = ad_input(b, 2.0);

    /* A variable of tape b used on tape a. */
    CHECK_STATUS(ad_value(a, xb, &d), AD_ERR_FOREIGN_HANDLE);
    CHECK_STATUS(ad_backward(a, xb), AD_ERR_FOREIGN_HANDLE);
    CHECK(strstr(ad_tape_error(a), "foreign") != NULL);
    CHECK_OK(ad_tape_status(a)); /* a failed read is not sticky */
    y = ad_add(a, xa, xb);
    CHECK(!ad_var_is_valid(y));
    CHECK_STATUS(ad_tape_status(a), AD_ERR_FOREIGN_HANDLE);
    /* Sticky: later ops do nothing, and so do the sweeps. */
    CHECK(!ad_var_is_valid(ad_input(a, 3.0)));
    CHECK_STATUS(ad_backward(a, xa), AD_ERR_FOREIGN_HANDLE);
    CHECK_STATUS(ad_grad(a, xa, &d), AD_ERR_FOREIGN_HANDLE);
    CHECK(d == 7.0);
    /* Tape b never noticed. */
    CHECK_OK(ad_tape_status(b));

    /* Stale: from before a reset. */
    CHECK_OK(ad_tape_reset(a));
    old = xa;
    xa = ad_input(a, 5.0);
    CHECK_STATUS(ad_value(a, old, &d), AD_ERR_STALE_HANDLE);
    CHECK(!ad_var_is_valid(ad_mul(a, xa, old)));
    CHECK_STATUS(ad_tape_status(a), AD_ERR_STALE_HANDLE);
    CHECK_OK(ad_tape_reset(a));

    /* The invalid variable, and an index past the end. */
    CHECK(!ad_var_is_valid(ad_exp(a, invalid)));
    CHECK_STATUS(ad_tape_status(a), AD_ERR_FOREIGN_HANDLE);
    CHECK_OK(ad_tape_reset(a));
    xa = ad_input(a, 1.0);
    xa.index += 5;
    CHECK(!ad_var_is_valid(ad_exp(a, xa)));
    CHECK_STATUS(ad_tape_status(a), AD_ERR_STALE_HANDLE);
    CHECK(d == 7.0);
    CHECK_OK(ad_tape_done(a));
    CHECK_OK(ad_tape_done(b));
}

static void bad_lengths_and_values(ad_dtype dtype) {
    ad_tape *t;
    ad_var x, y, z, outs[2];
    double buf[8] = {7, 7, 7, 7, 7, 7, 7, 7}, d = 7.0;
    CHECK_OK(ad_tape_init(mem_a, sizeof mem_a, dtype, &t));
    x = ad_input(t, 1.0);
    y = ad_input(t, 2.0);
    z = ad_mul(t, x, y);
    outs[0] = z;
    outs[1] = x;
    CHECK_STATUS(ad_gradient(t, z, buf, 1), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_gradient(t, z, buf, 3), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_jvp(t, buf, 1), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_replay(t, buf, 3), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_jacobian(t, outs, 2, buf, 3), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_jacobian_fwd(t, outs, 2, buf, 5), AD_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ad_tape_error(t), "jacobian") != NULL);
    /* Lengths whose byte count overflows. */
    CHECK_STATUS(ad_gradient(t, z, buf, SIZE_MAX / 2), AD_ERR_SIZE_OVERFLOW);
    /* A misaligned array. */
    CHECK_STATUS(ad_gradient(t, z, (double *)((unsigned char *)buf + 1), 2), AD_ERR_MISALIGNED);
    CHECK_STATUS(ad_grad(t, z, (double *)((unsigned char *)buf + 4)), AD_ERR_MISALIGNED);
    /* A foreign output in the middle of a Jacobian writes nothing. */
    outs[1] = invalid;
    CHECK_STATUS(ad_jacobian(t, outs, 2, buf, 4), AD_ERR_FOREIGN_HANDLE);
    CHECK_STATUS(ad_jacobian_fwd(t, outs, 2, buf, 4), AD_ERR_FOREIGN_HANDLE);
    CHECK(buf[0] == 7 && buf[1] == 7 && buf[2] == 7 && buf[3] == 7);
    /* None of that is sticky. */
    CHECK_OK(ad_tape_status(t));
    /* A NaN output: backward refuses, the tape stays usable. */
    {
        ad_var bad = ad_log(t, ad_neg(t, x));
        CHECK_STATUS(ad_backward(t, bad), AD_ERR_NON_FINITE);
        outs[0] = z;
        outs[1] = bad;
        CHECK_STATUS(ad_jacobian(t, outs, 2, buf, 4), AD_ERR_NON_FINITE);
        CHECK(buf[0] == 7);
        CHECK_OK(ad_tape_status(t));
        CHECK_OK(ad_backward(t, z));
        CHECK_OK(ad_grad(t, x, &d));
        CHECK(d == 2.0);
    }
    CHECK_OK(ad_tape_done(t));
}

/* An AD_F32 tape converts the caller's doubles as each sweep reads or writes them, with
 * no scratch in its memory: a tape filled to the last byte still runs every sweep. */
static void f32_full_tape_sweeps(void) {
    ad_tape *t;
    size_t bytes, n = 0;
    double inputs[4] = {1, 2, 3, 4}, grads[4] = {7, 7, 7, 7}, value = 0;
    ad_var v[4], s;
    int i;
    CHECK_OK(ad_tape_bytes_for(7, AD_F32, &bytes));
    CHECK_OK(ad_tape_init(mem_a, bytes, AD_F32, &t));
    for (i = 0; i < 4; i++) v[i] = ad_input(t, inputs[i]);
    s = ad_add(t, ad_add(t, v[0], v[1]), ad_add(t, v[2], v[3]));
    CHECK_OK(ad_tape_status(t));
    CHECK(!ad_var_is_valid(ad_input(t, 5.0)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_OUT_OF_MEMORY);
    CHECK_OK(ad_tape_reset(t));
    for (i = 0; i < 4; i++) v[i] = ad_input(t, inputs[i]);
    s = ad_add(t, ad_add(t, v[0], v[1]), ad_add(t, v[2], v[3]));
    CHECK_OK(ad_gradient(t, s, grads, 4));
    for (i = 0; i < 4; i++) CHECK(grads[i] == 1.0);
    inputs[3] = 40;
    CHECK_OK(ad_replay(t, inputs, 4));
    CHECK_OK(ad_value(t, s, &value));
    CHECK(value == 46.0);
    CHECK_OK(ad_jvp(t, inputs, 4));
    CHECK_OK(ad_tangent(t, s, &value));
    CHECK(value == 46.0);
    CHECK_OK(ad_tape_len(t, &n));
    CHECK(n == 7);
    CHECK_OK(ad_backward(t, s));
    CHECK_OK(ad_grad(t, v[2], &grads[2]));
    CHECK(grads[2] == 1.0);
    CHECK_OK(ad_tape_done(t));
}

static void bad_hvp(void) {
    ad_tape *t;
    ad_var x, f;
    double at[2] = {1, 2}, v[2] = {1, 0}, g[2] = {7, 7}, hv[2] = {7, 7};
    CHECK_OK(ad_tape_init(mem_a, sizeof mem_a, AD_F64, &t));
    x = ad_input(t, 1.0);
    f = ad_mul(t, x, x);
    CHECK_STATUS(ad_hvp(t, f, at, v, g, hv, 1), AD_ERR_DTYPE_MISMATCH);
    CHECK(strstr(ad_tape_error(t), "dtype") != NULL);
    CHECK_OK(ad_tape_done(t));

    CHECK_OK(ad_tape_init(mem_a, sizeof mem_a, AD_F64_DUAL, &t));
    x = ad_input(t, 1.0);
    f = ad_mul(t, x, x);
    CHECK_STATUS(ad_hvp(NULL, f, at, v, g, hv, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_hvp(t, f, NULL, v, g, hv, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_hvp(t, f, at, NULL, g, hv, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_hvp(t, f, at, v, NULL, hv, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_hvp(t, f, at, v, g, NULL, 1), AD_ERR_NULL);
    CHECK_STATUS(ad_hvp(t, f, at, v, g, hv, 2), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_hvp(t, f, at, v, g, g, 1), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_hvp(t, f, at, v, at, hv, 1), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_hvp(t, invalid, at, v, g, hv, 1), AD_ERR_FOREIGN_HANDLE);
    CHECK(g[0] == 7 && hv[0] == 7);
    CHECK_OK(ad_hvp(t, f, at, v, g, hv, 1));
    CHECK(g[0] == 2.0 && hv[0] == 2.0);
    CHECK_OK(ad_tape_done(t));
}

static void panics_stay_inside(void) {
    CHECK_STATUS(ad_debug_panic_for_test(), AD_ERR_PANIC);
    CHECK_STATUS(ad_debug_panic_for_test(), AD_ERR_PANIC);
    /* The library still works afterwards. */
    {
        ad_tape *t;
        double d;
        CHECK_OK(ad_tape_init(mem_a, sizeof mem_a, AD_F64, &t));
        CHECK_OK(ad_value(t, ad_sqrt(t, ad_input(t, 4.0)), &d));
        CHECK(d == 2.0);
        CHECK_OK(ad_tape_done(t));
    }
}

int main(void) {
    null_pointers();
    bad_memory();
    ended_and_garbage_tapes();
    bad_handles();
    bad_lengths_and_values(AD_F64);
    bad_lengths_and_values(AD_F32);
    bad_lengths_and_values(AD_F64_DUAL);
    f32_full_tape_sweeps();
    bad_hvp();
    panics_stay_inside();
    return check_summary();
}
