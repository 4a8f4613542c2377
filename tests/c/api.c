/* Every function of the C API on valid input: the seed's worked examples, every op's
 * value and derivative against math.h and finite differences, on both dtypes, and the
 * tape's bookkeeping. */
#include <stdint.h>
#include <string.h>

#include "check.h"

static double neg(double x) { return -x; }
static double recip(double x) { return 1.0 / x; }
static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double softplus(double x) { return log1p(exp(x)); }
static double add(double a, double b) { return a + b; }
static double sub(double a, double b) { return a - b; }
static double mul(double a, double b) { return a * b; }
static double dvd(double a, double b) { return a / b; }
static double min2(double a, double b) { return a < b ? a : b; }
static double max2(double a, double b) { return a > b ? a : b; }

typedef ad_var (*unary_op)(ad_tape *, ad_var);
typedef ad_var (*binary_op)(ad_tape *, ad_var, ad_var);

static const struct {
    const char *name;
    unary_op op;
    double (*f)(double);
    double x;
} unary_cases[] = {
    {"neg", ad_neg, neg, 0.7},       {"recip", ad_recip, recip, 1.3},
    {"sqrt", ad_sqrt, sqrt, 2.2},    {"cbrt", ad_cbrt, cbrt, 2.2},
    {"exp", ad_exp, exp, 0.4},       {"expm1", ad_expm1, expm1, 0.4},
    {"log", ad_log, log, 1.7},       {"log1p", ad_log1p, log1p, 0.7},
    {"log2", ad_log2, log2, 1.7},    {"log10", ad_log10, log10, 1.7},
    {"sin", ad_sin, sin, 0.9},       {"cos", ad_cos, cos, 0.9},
    {"tan", ad_tan, tan, 0.9},       {"asin", ad_asin, asin, 0.3},
    {"acos", ad_acos, acos, 0.3},    {"atan", ad_atan, atan, 0.3},
    {"sinh", ad_sinh, sinh, 0.6},    {"cosh", ad_cosh, cosh, 0.6},
    {"tanh", ad_tanh, tanh, 0.6},    {"asinh", ad_asinh, asinh, 0.6},
    {"acosh", ad_acosh, acosh, 1.6}, {"atanh", ad_atanh, atanh, 0.6},
    {"abs", ad_abs, fabs, -1.4},     {"sigmoid", ad_sigmoid, sigmoid, 0.8},
    {"softplus", ad_softplus, softplus, 0.8}, {"erf", ad_erf, erf, 0.5},
};

static const struct {
    const char *name;
    binary_op op;
    double (*f)(double, double);
    double a, b;
} binary_cases[] = {
    {"add", ad_add, add, 1.5, -0.5},     {"sub", ad_sub, sub, 1.5, -0.5},
    {"mul", ad_mul, mul, 1.5, -0.5},     {"div", ad_div, dvd, 1.5, -0.5},
    {"pow", ad_pow, pow, 1.5, 2.5},      {"atan2", ad_atan2, atan2, 1.5, -0.5},
    {"min", ad_min, min2, 1.5, -0.5},    {"max", ad_max, max2, 1.5, -0.5},
    {"hypot", ad_hypot, hypot, 1.5, -0.5},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static unsigned char arena[1 << 16];

static ad_tape *fresh(ad_dtype dtype) {
    ad_tape *t = NULL;
    CHECK_OK(ad_tape_init(arena, sizeof arena, dtype, &t));
    return t;
}

/* Value and derivative of every op, reverse and forward, against math.h. */
static void every_op(ad_dtype dtype, double value_tol, double grad_tol) {
    const double h = 1e-6;
    size_t i;
    for (i = 0; i < COUNT(unary_cases); i++) {
        ad_tape *t = fresh(dtype);
        double x0 = unary_cases[i].x, v, g, tangent, seed = 1.0;
        double fd = (unary_cases[i].f(x0 + h) - unary_cases[i].f(x0 - h)) / (2 * h);
        ad_var x = ad_input(t, x0);
        ad_var y = unary_cases[i].op(t, x);
        CHECK_OK(ad_value(t, y, &v));
        CHECK_NEAR(v, unary_cases[i].f(x0), value_tol);
        CHECK_OK(ad_backward(t, y));
        CHECK_OK(ad_grad(t, x, &g));
        CHECK_NEAR(g, fd, grad_tol);
        CHECK_OK(ad_jvp(t, &seed, 1));
        CHECK_OK(ad_tangent(t, y, &tangent));
        CHECK_NEAR(tangent, fd, grad_tol);
        if (fabs(g - fd) > grad_tol * (1 + fabs(fd))) fprintf(stderr, "  op %s\n", unary_cases[i].name);
        CHECK_OK(ad_tape_done(t));
    }
    for (i = 0; i < COUNT(binary_cases); i++) {
        ad_tape *t = fresh(dtype);
        double a0 = binary_cases[i].a, b0 = binary_cases[i].b, v, grads[2];
        double fa = (binary_cases[i].f(a0 + h, b0) - binary_cases[i].f(a0 - h, b0)) / (2 * h);
        double fb = (binary_cases[i].f(a0, b0 + h) - binary_cases[i].f(a0, b0 - h)) / (2 * h);
        ad_var a = ad_input(t, a0), b = ad_input(t, b0);
        ad_var y = binary_cases[i].op(t, a, b);
        CHECK_OK(ad_value(t, y, &v));
        CHECK_NEAR(v, binary_cases[i].f(a0, b0), value_tol);
        CHECK_OK(ad_gradient(t, y, grads, 2));
        CHECK_NEAR(grads[0], fa, grad_tol);
        CHECK_NEAR(grads[1], fb, grad_tol);
        if (fabs(grads[0] - fa) + fabs(grads[1] - fb) > 2 * grad_tol * (1 + fabs(fa) + fabs(fb)))
            fprintf(stderr, "  op %s\n", binary_cases[i].name);
        CHECK_OK(ad_tape_done(t));
    }
    {
        /* The ops with a constant: x^c, x^n and c*x at x = -2 (a negative base). */
        ad_tape *t = fresh(dtype);
        double v, g;
        ad_var x = ad_input(t, -2.0);
        ad_var p = ad_powf(t, x, 3.0), q = ad_powi(t, x, -2), s = ad_scale(t, x, 2.5);
        ad_var c = ad_const(t, 4.0);
        ad_var sum = ad_add(t, ad_add(t, p, q), ad_mul(t, s, c));
        CHECK_OK(ad_value(t, p, &v));
        CHECK_NEAR(v, -8.0, value_tol);
        CHECK_OK(ad_value(t, q, &v));
        CHECK_NEAR(v, 0.25, value_tol);
        CHECK_OK(ad_value(t, c, &v));
        CHECK_NEAR(v, 4.0, value_tol);
        CHECK_OK(ad_backward(t, sum));
        CHECK_OK(ad_grad(t, x, &g));
        /* 3x^2 - 2x^-3 + 10 at x = -2 */
        CHECK_NEAR(g, 12.0 + 0.25 + 10.0, grad_tol);
        CHECK_OK(ad_grad(t, c, &g));
        CHECK_NEAR(g, -5.0, grad_tol);
        CHECK_OK(ad_tape_done(t));
    }
}

/* f(x, y) = (x + y)(x - 2y) at (3, 2): f = -5, grad = (4, -11). */
static void seed_product(ad_dtype dtype) {
    ad_tape *t = fresh(dtype);
    ad_var x = ad_input(t, 3.0), y = ad_input(t, 2.0);
    ad_var f = ad_mul(t, ad_add(t, x, y), ad_sub(t, x, ad_scale(t, y, 2.0)));
    double v, gx, gy;
    CHECK_OK(ad_tape_status(t));
    CHECK_OK(ad_backward(t, f));
    CHECK_OK(ad_value(t, f, &v));
    CHECK_OK(ad_grad(t, x, &gx));
    CHECK_OK(ad_grad(t, y, &gy));
    CHECK(v == -5.0);
    CHECK(gx == 4.0);
    CHECK(gy == -11.0);
    CHECK_OK(ad_tape_done(t));
}

/* 2x^2 + sin x at 3, reverse and forward: 12 + cos 3. */
static void seed_sine(ad_dtype dtype, double tol) {
    ad_tape *t = fresh(dtype);
    ad_var x = ad_input(t, 3.0);
    ad_var f = ad_add(t, ad_mul(t, ad_scale(t, x, 2.0), x), ad_sin(t, x));
    double v, g, tangent, seed = 1.0;
    CHECK_OK(ad_value(t, f, &v));
    CHECK_NEAR(v, 18.0 + sin(3.0), tol);
    CHECK_OK(ad_backward(t, f));
    CHECK_OK(ad_grad(t, x, &g));
    CHECK_NEAR(g, 12.0 + cos(3.0), tol);
    CHECK_OK(ad_jvp(t, &seed, 1));
    CHECK_OK(ad_tangent(t, f, &tangent));
    CHECK_NEAR(tangent, 12.0 + cos(3.0), tol);
    CHECK_OK(ad_tape_done(t));
}

/* x^2 + y^2 at (3, 4): grad = (6, 8); replayed at (1, -2): value 5, grad = (2, -4). */
static void seed_squares_and_replay(ad_dtype dtype) {
    ad_tape *t = fresh(dtype);
    ad_var x = ad_input(t, 3.0), y = ad_input(t, 4.0);
    ad_var z = ad_add(t, ad_mul(t, x, x), ad_powi(t, y, 2));
    double g[2], v, point[2] = {1.0, -2.0};
    size_t n;
    CHECK_OK(ad_tape_num_inputs(t, &n));
    CHECK(n == 2);
    CHECK_OK(ad_gradient(t, z, g, 2));
    CHECK(g[0] == 6.0 && g[1] == 8.0);
    CHECK_OK(ad_replay(t, point, 2));
    CHECK_OK(ad_value(t, z, &v));
    CHECK(v == 5.0);
    CHECK_OK(ad_gradient(t, z, g, 2));
    CHECK(g[0] == 2.0 && g[1] == -4.0);
    CHECK_OK(ad_tape_done(t));
}

/* F(x, y) = (x*y, x + sin y, y^3): both Jacobian directions agree with the formula. */
static void jacobians(ad_dtype dtype, double tol) {
    ad_tape *t = fresh(dtype);
    ad_var x = ad_input(t, 0.5), y = ad_input(t, 2.0);
    ad_var out[3];
    double rows[6], cols[6], want[6];
    size_t i;
    out[0] = ad_mul(t, x, y);
    out[1] = ad_add(t, x, ad_sin(t, y));
    out[2] = ad_powi(t, y, 3);
    want[0] = 2.0, want[1] = 0.5;
    want[2] = 1.0, want[3] = cos(2.0);
    want[4] = 0.0, want[5] = 12.0;
    CHECK_OK(ad_jacobian(t, out, 3, rows, 6));
    CHECK_OK(ad_jacobian_fwd(t, out, 3, cols, 6));
    for (i = 0; i < 6; i++) {
        CHECK_NEAR(rows[i], want[i], tol);
        CHECK_NEAR(cols[i], want[i], tol);
    }
    CHECK_OK(ad_tape_done(t));
}

/* Sizes, counts, reset, status and messages. */
static void bookkeeping(void) {
    size_t bytes, n, used_before, used_after;
    ad_tape *t;
    ad_var x, stale;
    int k;
    unsigned char *block;

    /* ad_tape_bytes_for(k) holds exactly k variables, whatever the alignment. */
    CHECK_OK(ad_tape_bytes_for(10, AD_F64, &bytes));
    CHECK(bytes > 10 * 16);
    block = arena + 3; /* deliberately misaligned */
    CHECK_OK(ad_tape_init(block, bytes, AD_F64, &t));
    for (k = 0; k < 10; k++) ad_input(t, (double)k);
    CHECK_OK(ad_tape_status(t));
    CHECK_OK(ad_tape_len(t, &n));
    CHECK(n == 10);
    CHECK(!ad_var_is_valid(ad_input(t, 11.0)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_OUT_OF_MEMORY);
    CHECK(strstr(ad_tape_error(t), "needed") != NULL);
    CHECK_OK(ad_tape_reset(t));
    CHECK_OK(ad_tape_status(t));
    CHECK(strcmp(ad_tape_error(t), "no error") == 0);
    CHECK_OK(ad_tape_len(t, &n));
    CHECK(n == 0);
    CHECK_OK(ad_tape_done(t));

    CHECK_OK(ad_tape_bytes_for(10, AD_F32, &n));
    CHECK(n < bytes);

    /* Heap tapes. */
    CHECK_OK(ad_tape_new(4096, AD_F32, &t));
    x = ad_input(t, 2.0);
    CHECK(ad_var_is_valid(x));
    CHECK_OK(ad_tape_bytes_used(t, &used_before));
    ad_exp(t, x);
    CHECK_OK(ad_tape_bytes_used(t, &used_after));
    CHECK(used_after > used_before);
    stale = x;
    CHECK_OK(ad_tape_reset(t));
    CHECK_OK(ad_tape_num_inputs(t, &n));
    CHECK(n == 0);
    CHECK(!ad_var_is_valid(ad_neg(t, stale)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_STALE_HANDLE);
    CHECK(strstr(ad_tape_error(t), "stale") != NULL);
    ad_tape_free(t);
    ad_tape_free(NULL);
}

/* f(x, y) = x^2 y + y^3 on a dual tape: gradient (2xy, x^2 + 3y^2) and Hessian
 * [[2y, 2x], [2x, 6y]]; at (1, 2) along v = (1, -1), H v = (2, -10). Then at (2, 1). */
static void hessian_vector_products(void) {
    ad_tape *t = fresh(AD_F64_DUAL);
    ad_var x = ad_input(t, 0.0), y = ad_input(t, 0.0);
    ad_var f = ad_add(t, ad_mul(t, ad_mul(t, x, x), y), ad_powi(t, y, 3));
    double at[2] = {1.0, 2.0}, v[2] = {1.0, -1.0}, g[2], hv[2], value;
    CHECK_OK(ad_hvp(t, f, at, v, g, hv, 2));
    CHECK(g[0] == 4.0 && g[1] == 13.0);
    CHECK(hv[0] == 2.0 && hv[1] == -10.0);
    CHECK_OK(ad_value(t, f, &value));
    CHECK(value == 10.0);
    at[0] = 2.0, at[1] = 1.0;
    CHECK_OK(ad_hvp(t, f, at, v, g, hv, 2));
    CHECK(g[0] == 4.0 && g[1] == 7.0);
    CHECK(hv[0] == 2.0 - 4.0 && hv[1] == 4.0 - 6.0);
    CHECK_OK(ad_tape_done(t));
}

/* On a dual tape, constants `float` does not hold cost no record either (8 bytes beside
 * the records): f(x, y) = (0.1 - x)(y / 0.3) + 1.7x - 2.9/y + (y - 0.7) is two inputs and
 * nine ops. Gradient (1.7 - y/0.3, (0.1 - x)/0.3 + 2.9/y^2 + 1), Hessian
 * [[0, -1/0.3], [-1/0.3, -5.8/y^3]]. */
static void hessian_vector_products_through_constants(void) {
    ad_tape *t = fresh(AD_F64_DUAL);
    ad_var x = ad_input(t, 0.0), y = ad_input(t, 0.0);
    ad_var product = ad_mul(t, ad_const_sub(t, 0.1, x), ad_div_const(t, y, 0.3));
    ad_var f = ad_add(t, ad_sub(t, ad_add(t, product, ad_scale(t, x, 1.7)), ad_const_div(t, 2.9, y)),
                      ad_sub_const(t, y, 0.7));
    double at[2] = {0.8, 1.3}, v[2] = {0.4, -1.2}, g[2], hv[2];
    size_t records;
    CHECK_OK(ad_tape_len(t, &records));
    CHECK(records == 2 + 9);
    CHECK_OK(ad_hvp(t, f, at, v, g, hv, 2));
    CHECK_NEAR(g[0], 1.7 - 1.3 / 0.3, 1e-14);
    CHECK_NEAR(g[1], (0.1 - 0.8) / 0.3 + 2.9 / (1.3 * 1.3) + 1.0, 1e-14);
    CHECK_NEAR(hv[0], -1.0 / 0.3 * v[1], 1e-14);
    CHECK_NEAR(hv[1], -1.0 / 0.3 * v[0] - 5.8 / (1.3 * 1.3 * 1.3) * v[1], 1e-14);
    CHECK_OK(ad_tape_done(t));
}

static void versions(void) {
    int i, last;
    CHECK(ad_abi_version() == AD_ABI_VERSION);
    CHECK(strlen(ad_version()) >= 5);
    CHECK(strcmp(ad_status_str(AD_OK), "ok") == 0);
    /* Every status code has its own text; numbers no status has (a few may be unused
     * between codes) and those past the last are unknown. */
    last = 0;
    for (i = 1; i < 256; i++)
        if (strcmp(ad_status_str((ad_status)i), "unknown status code") != 0) last = i;
    CHECK(last >= AD_ERR_REENTRANT);
    for (i = 1; i <= last; i++) {
        int j;
        if (strcmp(ad_status_str((ad_status)i), "unknown status code") == 0) continue;
        for (j = 0; j < i; j++) CHECK(strcmp(ad_status_str((ad_status)i), ad_status_str((ad_status)j)) != 0);
    }
    CHECK(strcmp(ad_status_str((ad_status)(last + 1)), "unknown status code") == 0);
    CHECK(strcmp(ad_status_str((ad_status)-1), "unknown status code") == 0);
}

int main(void) {
    every_op(AD_F64, 1e-12, 1e-6);
    every_op(AD_F32, 1e-6, 2e-3);
    seed_product(AD_F64);
    seed_product(AD_F32);
    seed_sine(AD_F64, 1e-15);
    seed_sine(AD_F32, 1e-6);
    seed_squares_and_replay(AD_F64);
    seed_squares_and_replay(AD_F32);
    jacobians(AD_F64, 1e-15);
    jacobians(AD_F32, 1e-6);
    seed_product(AD_F64_DUAL);
    seed_sine(AD_F64_DUAL, 1e-15);
    seed_squares_and_replay(AD_F64_DUAL);
    jacobians(AD_F64_DUAL, 1e-15);
    every_op(AD_F64_DUAL, 1e-12, 1e-6);
    hessian_vector_products_through_constants();
    hessian_vector_products();
    bookkeeping();
    versions();
    return check_summary();
}
