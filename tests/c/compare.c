/* Recorded comparisons, selections and branches from C: every relation on every dtype,
 * selections differentiated by reverse, forward and second-order sweeps and checked
 * against central differences on both sides of the switch, and replay across a C `if`
 * reporting AD_ERR_BRANCH_CHANGED with its numbers, the tape usable again after a
 * reset. */
#include <string.h>

#include "check.h"

static unsigned char mem[1 << 14];

static int holds(ad_cmp cmp, double a, double b) {
    switch (cmp) {
    case AD_CMP_LT: return a < b;
    case AD_CMP_LE: return a <= b;
    case AD_CMP_GT: return a > b;
    case AD_CMP_GE: return a >= b;
    case AD_CMP_EQ: return a == b;
    case AD_CMP_NE: return a != b;
    }
    return -1;
}

static void every_relation_on_every_dtype(void) {
    static const ad_dtype dtypes[] = {AD_F32, AD_F64, AD_F64_DUAL};
    static const double samples[] = {-1.5, 0.0, 2.0, NAN};
    for (size_t d = 0; d < 3; d++) {
        ad_tape *t;
        CHECK_OK(ad_tape_init(mem, sizeof mem, dtypes[d], &t));
        for (int cmp = AD_CMP_LT; cmp <= AD_CMP_NE; cmp++) {
            for (size_t i = 0; i < 4; i++) {
                for (size_t j = 0; j < 4; j++) {
                    double a = samples[i], b = samples[j], v = -1, w = -1;
                    ad_var x = ad_input(t, a), y = ad_input(t, b);
                    ad_var c = ad_compare(t, (ad_cmp)cmp, x, y);
                    ad_var k = ad_compare_const(t, (ad_cmp)cmp, x, b);
                    CHECK_OK(ad_value(t, c, &v));
                    CHECK_OK(ad_value(t, k, &w));
                    CHECK(v == holds((ad_cmp)cmp, a, b) && w == v);
                    CHECK(ad_branch(t, c) == holds((ad_cmp)cmp, a, b));
                    CHECK_OK(ad_tape_reset(t));
                }
            }
        }
        CHECK_OK(ad_tape_done(t));
    }
}

/* g(x) = x > 1 ? x^3 : 2x^2 - x, whose pieces meet with different slopes at 1. */
static double g_plain(double x) { return x > 1 ? x * x * x : 2 * x * x - x; }

static ad_var g_select(ad_tape *t, ad_var x) {
    ad_var cube = ad_powi(t, x, 3);
    ad_var quad = ad_sub(t, ad_scale(t, ad_mul(t, x, x), 2.0), x);
    return ad_select(t, ad_compare_const(t, AD_CMP_GT, x, 1.0), cube, quad);
}

static void a_selection_differentiates_right_on_both_sides(void) {
    static const double points[] = {0.3, 1.7, -0.8, 2.5, 0.999, 1.001};
    const double h = 1e-6;
    ad_tape *t, *td;
    ad_var x, y, xd, yd;
    CHECK_OK(ad_tape_init(mem, sizeof mem / 2, AD_F64, &t));
    CHECK_OK(ad_tape_init(mem + sizeof mem / 2, sizeof mem / 2, AD_F64_DUAL, &td));
    x = ad_input(t, points[0]);
    y = g_select(t, x);
    xd = ad_input(td, points[0]);
    yd = g_select(td, xd);
    for (size_t k = 0; k < sizeof points / sizeof points[0]; k++) {
        double p = points[k], value, grad, tangent, one = 1.0, hv, gd;
        double fd = (g_plain(p + h) - g_plain(p - h)) / (2 * h);
        double second = p > 1 ? 6 * p : 4.0;
        CHECK_OK(ad_replay(t, &p, 1));
        CHECK_OK(ad_value(t, y, &value));
        CHECK(value == g_plain(p));
        CHECK_OK(ad_gradient(t, y, &grad, 1));
        CHECK_NEAR(grad, fd, 1e-6);
        CHECK_OK(ad_jvp(t, &one, 1));
        CHECK_OK(ad_tangent(t, y, &tangent));
        CHECK(tangent == grad);
        /* Forward over reverse through the selection: the chosen piece's curvature. */
        CHECK_OK(ad_replay(td, &p, 1));
        CHECK_OK(ad_hvp(td, yd, &p, &one, &gd, &hv, 1));
        CHECK(gd == grad);
        CHECK_NEAR(hv, second, 1e-12);
    }
    CHECK_OK(ad_tape_done(t));
    CHECK_OK(ad_tape_done(td));
}

static void replay_across_a_branch_reports_it_and_the_tape_recovers(void) {
    ad_tape *t;
    ad_var x, y, out;
    double at[2] = {1.0, 2.0}, g[2], v;
    size_t changed = 9, first = 9;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    x = ad_input(t, 3.0);
    y = ad_input(t, 2.0);
    /* Two branches on x > y and one on y > 0, with an unread comparison between. */
    out = ad_branch(t, ad_compare(t, AD_CMP_GT, x, y)) ? ad_mul(t, x, y) : ad_add(t, x, y);
    (void)ad_compare_const(t, AD_CMP_LT, x, 100.0);
    out = ad_branch(t, ad_compare_const(t, AD_CMP_GT, y, 0.0)) ? ad_add(t, out, y) : out;
    out = ad_branch(t, ad_compare(t, AD_CMP_LE, y, x)) ? ad_sin(t, out) : ad_cos(t, out);
    CHECK_OK(ad_tape_status(t));
    CHECK_OK(ad_tape_branch_changes(t, &changed, &first));
    CHECK(changed == 0 && first == 0);
    /* The same branches: fine. */
    at[0] = 5.0;
    CHECK_OK(ad_replay(t, at, 2));
    CHECK_OK(ad_gradient(t, out, g, 2));
    CHECK_NEAR(g[0], cos(5.0 * 2.0 + 2.0) * 2.0, 1e-12);
    /* x < y: the first and the last branch go the other way. */
    at[0] = 1.0;
    CHECK_STATUS(ad_replay(t, at, 2), AD_ERR_BRANCH_CHANGED);
    CHECK_OK(ad_tape_branch_changes(t, &changed, &first));
    CHECK(changed == 2 && first == 0);
    CHECK(strstr(ad_tape_error(t), "branch changed") != NULL);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_BRANCH_CHANGED);
    CHECK_STATUS(ad_gradient(t, out, g, 2), AD_ERR_BRANCH_CHANGED);
    CHECK_STATUS(ad_replay(t, at, 2), AD_ERR_BRANCH_CHANGED);
    /* Values are still readable; the gradient is not. */
    CHECK_OK(ad_value(t, out, &v));
    CHECK_OK(ad_tape_reset(t));
    CHECK_OK(ad_tape_branch_changes(t, &changed, &first));
    CHECK(changed == 0);
    x = ad_input(t, 1.0);
    y = ad_input(t, 2.0);
    out = ad_branch(t, ad_compare(t, AD_CMP_GT, x, y)) ? ad_mul(t, x, y) : ad_add(t, x, y);
    CHECK_OK(ad_gradient(t, out, g, 2));
    CHECK(g[0] == 1.0 && g[1] == 1.0);
    /* The third comparison alone changes: its position counts the unread one too. */
    CHECK_OK(ad_tape_reset(t));
    x = ad_input(t, 3.0);
    y = ad_input(t, 2.0);
    (void)ad_branch(t, ad_compare(t, AD_CMP_GT, x, y));
    (void)ad_compare_const(t, AD_CMP_LT, x, 100.0);
    (void)ad_branch(t, ad_compare_const(t, AD_CMP_LT, x, 4.0));
    at[0] = 4.5;
    at[1] = 2.0;
    CHECK_STATUS(ad_replay(t, at, 2), AD_ERR_BRANCH_CHANGED);
    CHECK_OK(ad_tape_branch_changes(t, &changed, &first));
    CHECK(changed == 1 && first == 2);
    CHECK_OK(ad_tape_done(t));
}

static void misuse_is_sticky_and_reset_clears_it(void) {
    ad_tape *t;
    ad_var x;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    x = ad_input(t, 1.0);
    CHECK(!ad_branch(t, x));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_tape_reset(t));
    x = ad_input(t, 1.0);
    CHECK(!ad_var_is_valid(ad_compare(t, (ad_cmp)42, x, x)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_tape_reset(t));
    CHECK_OK(ad_tape_done(t));
}

int main(void) {
    every_relation_on_every_dtype();
    a_selection_differentiates_right_on_both_sides();
    replay_across_a_branch_reports_it_and_the_tape_recovers();
    misuse_is_sticky_and_reset_clears_it();
    return check_summary();
}
