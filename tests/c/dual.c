/* C dual numbers: every function agrees with math.h on the value and with a tape on the
 * derivative (the rules are shared, so exactly), and the seed's examples come out in
 * forward mode with no tape and no memory. */
#include "check.h"

typedef ad_dual (*dual_unary)(ad_dual);
typedef ad_var (*tape_unary)(ad_tape *, ad_var);
typedef ad_dual (*dual_binary)(ad_dual, ad_dual);
typedef ad_var (*tape_binary)(ad_tape *, ad_var, ad_var);

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

static const struct {
    dual_unary dual;
    tape_unary tape;
    double (*f)(double);
    double x;
} unary_cases[] = {
    {ad_dual_neg, ad_neg, neg, 0.7},       {ad_dual_recip, ad_recip, recip, 1.3},
    {ad_dual_sqrt, ad_sqrt, sqrt, 2.2},    {ad_dual_cbrt, ad_cbrt, cbrt, 2.2},
    {ad_dual_exp, ad_exp, exp, 0.4},       {ad_dual_expm1, ad_expm1, expm1, 0.4},
    {ad_dual_log, ad_log, log, 1.7},       {ad_dual_log1p, ad_log1p, log1p, 0.7},
    {ad_dual_log2, ad_log2, log2, 1.7},    {ad_dual_log10, ad_log10, log10, 1.7},
    {ad_dual_sin, ad_sin, sin, 0.9},       {ad_dual_cos, ad_cos, cos, 0.9},
    {ad_dual_tan, ad_tan, tan, 0.9},       {ad_dual_asin, ad_asin, asin, 0.3},
    {ad_dual_acos, ad_acos, acos, 0.3},    {ad_dual_atan, ad_atan, atan, 0.3},
    {ad_dual_sinh, ad_sinh, sinh, 0.6},    {ad_dual_cosh, ad_cosh, cosh, 0.6},
    {ad_dual_tanh, ad_tanh, tanh, 0.6},    {ad_dual_asinh, ad_asinh, asinh, 0.6},
    {ad_dual_acosh, ad_acosh, acosh, 1.6}, {ad_dual_atanh, ad_atanh, atanh, 0.6},
    {ad_dual_abs, ad_abs, fabs, -1.4},     {ad_dual_sigmoid, ad_sigmoid, sigmoid, 0.8},
    {ad_dual_softplus, ad_softplus, softplus, 0.8}, {ad_dual_erf, ad_erf, erf, 0.5},
};

static const struct {
    dual_binary dual;
    tape_binary tape;
    double (*f)(double, double);
    double a, b;
} binary_cases[] = {
    {ad_dual_add, ad_add, add, 1.5, -0.5},     {ad_dual_sub, ad_sub, sub, 1.5, -0.5},
    {ad_dual_mul, ad_mul, mul, 1.5, -0.5},     {ad_dual_div, ad_div, dvd, 1.5, -0.5},
    {ad_dual_pow, ad_pow, pow, 1.5, 2.5},      {ad_dual_atan2, ad_atan2, atan2, 1.5, -0.5},
    {ad_dual_min, ad_min, min2, 1.5, -0.5},    {ad_dual_max, ad_max, max2, 1.5, -0.5},
    {ad_dual_hypot, ad_hypot, hypot, 1.5, -0.5},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static unsigned char mem[8192];

int main(void) {
    size_t i;
    ad_tape *t;
    for (i = 0; i < COUNT(unary_cases); i++) {
        double x0 = unary_cases[i].x, g;
        ad_dual y = unary_cases[i].dual(ad_dual_make(x0, 1.0));
        ad_var x, ty;
        CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
        x = ad_input(t, x0);
        ty = unary_cases[i].tape(t, x);
        CHECK_OK(ad_backward(t, ty));
        CHECK_OK(ad_grad(t, x, &g));
        CHECK_NEAR(y.value, unary_cases[i].f(x0), 1e-12);
        CHECK(y.tangent == g);
        CHECK_OK(ad_tape_done(t));
    }
    for (i = 0; i < COUNT(binary_cases); i++) {
        double a0 = binary_cases[i].a, b0 = binary_cases[i].b, g[2];
        ad_dual ya = binary_cases[i].dual(ad_dual_make(a0, 1.0), ad_dual_make(b0, 0.0));
        ad_dual yb = binary_cases[i].dual(ad_dual_make(a0, 0.0), ad_dual_make(b0, 1.0));
        ad_var a, b;
        CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
        a = ad_input(t, a0);
        b = ad_input(t, b0);
        CHECK_OK(ad_gradient(t, binary_cases[i].tape(t, a, b), g, 2));
        CHECK_NEAR(ya.value, binary_cases[i].f(a0, b0), 1e-12);
        CHECK(ya.tangent == g[0]);
        CHECK(yb.tangent == g[1]);
        CHECK_OK(ad_tape_done(t));
    }
    {
        /* 2x^2 + sin x at 3: 18 + sin 3, derivative 12 + cos 3. */
        ad_dual x = ad_dual_make(3.0, 1.0);
        ad_dual f = ad_dual_add(ad_dual_mul(ad_dual_scale(x, 2.0), x), ad_dual_sin(x));
        CHECK_NEAR(f.value, 18.0 + sin(3.0), 1e-15);
        CHECK_NEAR(f.tangent, 12.0 + cos(3.0), 1e-15);
    }
    {
        /* (x + y)(x - 2y) at (3, 2), one direction per input: 4 and -11. */
        ad_dual x = ad_dual_make(3.0, 1.0), y = ad_dual_make(2.0, 0.0);
        ad_dual f = ad_dual_mul(ad_dual_add(x, y), ad_dual_sub(x, ad_dual_scale(y, 2.0)));
        CHECK(f.value == -5.0 && f.tangent == 4.0);
        x.tangent = 0.0;
        y.tangent = 1.0;
        f = ad_dual_mul(ad_dual_add(x, y), ad_dual_sub(x, ad_dual_scale(y, 2.0)));
        CHECK(f.tangent == -11.0);
    }
    {
        /* Constant exponents: (-2)^3 and (-2)^-2 have finite derivatives. */
        ad_dual x = ad_dual_make(-2.0, 1.0);
        ad_dual p = ad_dual_powf(x, 3.0), q = ad_dual_powi(x, -2);
        CHECK(p.value == -8.0 && p.tangent == 12.0);
        CHECK(q.value == 0.25 && q.tangent == 0.25);
    }
    return check_summary();
}
