/* autodiff_inline.h records what the library records: the same expression through the
 * inline functions and through the library's calls gives the same tape length, values
 * and gradient bits, on random (seeded) inputs, constants f32 cannot hold included
 * (their pool's chunks are taken by the library, then filled inline); and every case the
 * inline path does not handle (another dtype, a stale or foreign handle, a full or failed
 * tape, NULL) falls back to the library with its statuses. ad_inline_value reads the
 * values ad_value reads, and only for live handles. */
#include <stdint.h>
#include <string.h>

#include "autodiff_inline.h"
#include "check.h"

#define N 16

typedef struct {
    ad_var (*add)(ad_tape *, ad_var, ad_var);
    ad_var (*sub)(ad_tape *, ad_var, ad_var);
    ad_var (*mul)(ad_tape *, ad_var, ad_var);
    ad_var (*div)(ad_tape *, ad_var, ad_var);
    ad_var (*add_const)(ad_tape *, ad_var, double);
    ad_var (*sub_const)(ad_tape *, ad_var, double);
    ad_var (*scale)(ad_tape *, ad_var, double);
    ad_var (*div_const)(ad_tape *, ad_var, double);
    ad_var (*const_sub)(ad_tape *, double, ad_var);
    ad_var (*const_div)(ad_tape *, double, ad_var);
    ad_var (*neg)(ad_tape *, ad_var);
    ad_var (*recip)(ad_tape *, ad_var);
    ad_var (*abs)(ad_tape *, ad_var);
} ops;

static const ops library = {ad_add,       ad_sub,       ad_mul,   ad_div,       ad_add_const,
                            ad_sub_const, ad_scale,     ad_div_const, ad_const_sub, ad_const_div,
                            ad_neg,       ad_recip,     ad_abs};
static const ops inlined = {ad_inline_add,       ad_inline_sub,       ad_inline_mul,
                            ad_inline_div,       ad_inline_add_const, ad_inline_sub_const,
                            ad_inline_scale,     ad_inline_div_const, ad_inline_const_sub,
                            ad_inline_const_div, ad_inline_neg,       ad_inline_recip,
                            ad_inline_abs};

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static double uniform(double lo, double hi) { return check_uniform(&rng_state, lo, hi); }

/* Every op, with constants f32 holds (0.5, 100, -3) and ones it does not (0.1, 0.3, 0.7,
 * 1.1, and one drawn per step): over 100 of the latter, so several chunks of the pool. */
static ad_var program(ad_tape *t, const ops *o, const ad_var *x) {
    ad_var f = o->scale(t, x[0], 0.5);
    for (int i = 1; i < N; i++) {
        ad_var a = o->sub(t, x[i], o->mul(t, x[i - 1], x[i - 1]));
        ad_var b = o->const_sub(t, 1.0, x[i - 1]);
        ad_var q = o->div(t, o->add_const(t, a, -3.0), o->add_const(t, o->mul(t, b, b), 2.0));
        ad_var r = o->const_div(t, 0.1, o->add_const(t, o->mul(t, x[i], x[i]), 1.0));
        f = o->add(t, f, o->add(t, o->scale(t, q, 100.0), o->div_const(t, o->sub_const(t, r, 0.1), 0.5)));
        ad_var s = o->const_sub(t, 0.7, o->scale(t, o->div_const(t, x[i], 0.3), 1.1));
        f = o->add(t, f, o->const_div(t, 1.0 + 0.0314159265358979 * i, o->add_const(t, o->mul(t, s, s), 0.3)));
        /* The unary ops: |a| and −a have kinks and signs to keep (a is either sign). */
        ad_var m = o->recip(t, o->add_const(t, o->abs(t, a), 0.25));
        f = o->sub(t, f, o->mul(t, o->neg(t, a), m));
    }
    return f;
}

/* Records `program` through `o` on `t` at `x0`; the gradient goes to `g`. */
static ad_var record(ad_tape *t, const ops *o, const double *x0, double *g) {
    ad_var x[N];
    CHECK_OK(ad_tape_reset(t));
    CHECK_OK(ad_inputs(t, x0, N, x));
    ad_var f = program(t, o, x);
    CHECK_OK(ad_gradient(t, f, g, N));
    return f;
}

static void same_records_as_the_library(ad_dtype dtype) {
    ad_tape *lib = NULL, *inl = NULL;
    CHECK_OK(ad_tape_new(1 << 16, dtype, &lib));
    CHECK_OK(ad_tape_new(1 << 16, dtype, &inl));
    for (int trial = 0; trial < 20; trial++) {
        double x0[N], g_lib[N], g_inl[N], v_lib = 0, v_inl = 0;
        for (int i = 0; i < N; i++) x0[i] = uniform(-2.0, 2.0);
        ad_var f_lib = record(lib, &library, x0, g_lib);
        ad_var f_inl = record(inl, &inlined, x0, g_inl);
        size_t n_lib = 0, n_inl = 0;
        CHECK_OK(ad_tape_len(lib, &n_lib));
        CHECK_OK(ad_tape_len(inl, &n_inl));
        CHECK(n_lib == n_inl && n_lib > 10 * N);
        CHECK(f_lib.index == f_inl.index);
        CHECK_OK(ad_value(lib, f_lib, &v_lib));
        CHECK_OK(ad_value(inl, f_inl, &v_inl));
        CHECK(memcmp(&v_lib, &v_inl, sizeof v_lib) == 0);
        CHECK(memcmp(g_lib, g_inl, sizeof g_lib) == 0);
        /* Record for record, words no sweep reads included: their images are the same. */
        static unsigned char image_lib[1 << 17], image_inl[1 << 17];
        size_t len_lib = 0, len_inl = 0;
        CHECK_OK(ad_tape_save_image(lib, &f_lib, 1, image_lib, sizeof image_lib, &len_lib));
        CHECK_OK(ad_tape_save_image(inl, &f_inl, 1, image_inl, sizeof image_inl, &len_inl));
        CHECK(len_lib == len_inl && memcmp(image_lib, image_inl, len_lib) == 0);
        /* Replay re-evaluates the inline records as the library's. */
        for (int i = 0; i < N; i++) x0[i] = uniform(-2.0, 2.0);
        CHECK_OK(ad_replay(lib, x0, N));
        CHECK_OK(ad_replay(inl, x0, N));
        CHECK_OK(ad_gradient(lib, f_lib, g_lib, N));
        CHECK_OK(ad_gradient(inl, f_inl, g_inl, N));
        CHECK(memcmp(g_lib, g_inl, sizeof g_lib) == 0);
    }
    /* And the gradient is right: a central difference in x[3]. */
    double x0[N], g[N], h = 1e-6, up, down;
    for (int i = 0; i < N; i++) x0[i] = uniform(-1.0, 1.0);
    ad_var f = record(inl, &inlined, x0, g);
    x0[3] += h;
    CHECK_OK(ad_replay(inl, x0, N));
    CHECK_OK(ad_value(inl, f, &up));
    x0[3] -= 2 * h;
    CHECK_OK(ad_replay(inl, x0, N));
    CHECK_OK(ad_value(inl, f, &down));
    if (dtype == AD_F64) CHECK_NEAR(g[3], (up - down) / (2 * h), 1e-5 * (1 + fabs(g[3])));
    ad_tape_free(lib);
    ad_tape_free(inl);
}

static void falls_back_with_the_library_statuses(void) {
    ad_tape *t = NULL, *other = NULL;
    CHECK_OK(ad_tape_new(1 << 14, AD_F64, &t));
    CHECK_OK(ad_tape_new(1 << 14, AD_F64, &other));

    /* A stale handle: the library reports it, stickily. */
    ad_var x = ad_input(t, 2.0);
    CHECK_OK(ad_tape_reset(t));
    ad_var y = ad_input(t, 3.0);
    CHECK(!ad_var_is_valid(ad_inline_mul(t, x, y)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_STALE_HANDLE);
    /* ... and the failed tape takes nothing inline either. */
    CHECK(!ad_var_is_valid(ad_inline_add(t, y, y)));
    CHECK_OK(ad_tape_reset(t));

    /* A foreign handle. */
    y = ad_input(t, 3.0);
    ad_var z = ad_input(other, 1.0);
    CHECK(!ad_var_is_valid(ad_inline_sub(t, y, z)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_FOREIGN_HANDLE);
    CHECK_OK(ad_tape_reset(t));

    /* The unary ops alike: a stale handle, then the failed tape. */
    x = ad_input(t, 2.0);
    CHECK_OK(ad_tape_reset(t));
    y = ad_input(t, 3.0);
    CHECK(!ad_var_is_valid(ad_inline_abs(t, x)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_STALE_HANDLE);
    CHECK(!ad_var_is_valid(ad_inline_neg(t, y)));
    CHECK(!ad_var_is_valid(ad_inline_recip(t, y)));
    CHECK_OK(ad_tape_reset(t));

    /* A constant float cannot hold on a fresh recording: the library's call takes the
     * pool's first chunk and keeps the constant there (one record, as inline). */
    y = ad_input(t, 3.0);
    size_t before = 0, after = 0;
    CHECK_OK(ad_tape_len(t, &before));
    ad_var w = ad_inline_scale(t, y, 0.1);
    CHECK_OK(ad_tape_len(t, &after));
    CHECK(ad_var_is_valid(w) && after == before + 1);
    double value = 0;
    CHECK_OK(ad_value(t, w, &value));
    CHECK(value == 3.0 * 0.1);

    /* A full tape: the library's out-of-memory, then nothing more. */
    CHECK_OK(ad_tape_reset(t));
    y = ad_input(t, 1.0);
    ad_var v = y;
    for (int i = 0; i < 100000 && ad_var_is_valid(v); i++) v = ad_inline_mul(t, v, y);
    CHECK(!ad_var_is_valid(v));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_OUT_OF_MEMORY);
    CHECK_OK(ad_tape_reset(t));
    y = ad_input(t, 1.5);
    CHECK(ad_var_is_valid(ad_inline_add(t, y, y)));

    /* NULL and an ended tape: the invalid handle, nothing touched. */
    CHECK(!ad_var_is_valid(ad_inline_add(NULL, y, y)));
    CHECK(!ad_var_is_valid(ad_inline_const_div(NULL, 1.0, y)));
    CHECK(!ad_var_is_valid(ad_inline_neg(NULL, y)));
    CHECK(!ad_var_is_valid(ad_inline_recip(NULL, y)));
    CHECK(!ad_var_is_valid(ad_inline_abs(NULL, y)));
    ad_tape_free(t);
    ad_tape_free(other);
}

/* ad_inline_value reads what ad_value reads, for live handles of an f64 tape only. */
static void reads_values_as_the_library(void) {
    ad_tape *t = NULL, *other = NULL, *narrow = NULL;
    CHECK_OK(ad_tape_new(1 << 12, AD_F64, &t));
    CHECK_OK(ad_tape_new(1 << 12, AD_F64, &other));
    CHECK_OK(ad_tape_new(1 << 12, AD_F32, &narrow));
    /* A library built for AddressSanitizer offers no cursor: every read answers 0. */
    int offered = ad_inline_offered_cursor_(t) != NULL;
    ad_var x = ad_input(t, 0.7);
    ad_var e = ad_exp(t, x);
    double got = -1.0, want = 0.0;
    CHECK_OK(ad_value(t, e, &want));
    CHECK(ad_inline_value(t, e, &got) == offered);
    if (offered) CHECK(memcmp(&got, &want, sizeof got) == 0);

    /* A full tape with its pending error still reads. */
    ad_var v = x;
    for (int i = 0; i < 100000 && ad_var_is_valid(v); i++) v = ad_mul(t, v, x);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_OUT_OF_MEMORY);
    got = -1.0;
    CHECK(ad_inline_value(t, e, &got) == offered);
    if (offered) CHECK(memcmp(&got, &want, sizeof got) == 0);

    /* The invalid handle of the failed op, a foreign handle, a stale one (its index is
     * below the new length), an f32 tape, NULL: 0, and the value untouched. */
    got = -1.0;
    CHECK(!ad_inline_value(t, v, &got));
    for (int i = 0; i < 4; i++) (void)ad_input(other, 1.0);
    CHECK(!ad_inline_value(other, e, &got));
    CHECK_OK(ad_tape_reset(t));
    for (int i = 0; i < 4; i++) (void)ad_input(t, 1.0);
    CHECK(!ad_inline_value(t, e, &got));
    ad_var n = ad_input(narrow, 0.5);
    CHECK(!ad_inline_value(narrow, n, &got));
    CHECK(!ad_inline_value(NULL, e, &got));
    CHECK(got == -1.0);
    CHECK(!ad_inline_value(t, ad_input(t, 1.0), NULL));
    ad_tape_free(t);
    ad_tape_free(other);
    ad_tape_free(narrow);
}

int main(void) {
    same_records_as_the_library(AD_F64);
    same_records_as_the_library(AD_F32);
    falls_back_with_the_library_statuses();
    reads_values_as_the_library();
    return check_summary();
}
