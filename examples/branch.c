/* Branches and replay: recording once and replaying at new inputs is fast, but the tape
 * holds the operations of the branches taken when it was recorded. This example shows
 * the two ways to stay correct.
 *
 * f(x, y) = x*y       if x > y
 *         = x + y*y   otherwise
 *
 * 1. A C `if` on ad_branch(): replay checks every comparison read that way. While the
 *    branches stay the same, the replayed gradient is exactly the fresh recording's;
 *    when one would go the other way, ad_replay() returns AD_ERR_BRANCH_CHANGED, and the
 *    program resets the tape and records again at the new point.
 * 2. ad_select(): both sides stay on the tape and every replay picks one, so one
 *    recording is right at every input.
 *
 * The program walks a few points on both sides of x = y, checks both ways against the
 * exact gradient, and exits with status 1 on any disagreement.
 *
 * make test builds and runs it; by hand:
 *     cc -O2 examples/branch.c $(pkg-config --cflags --libs autodiff) -o branch
 */
#include <math.h>
#include <stdio.h>

#include "autodiff.h"

static unsigned char mem_branch[1 << 12], mem_select[1 << 12];

/* f with a C branch: the comparison stays on the tape for replay to check. */
static ad_var f_branch(ad_tape *t, ad_var x, ad_var y) {
    if (ad_branch(t, ad_compare(t, AD_CMP_GT, x, y))) return ad_mul(t, x, y);
    return ad_add(t, x, ad_mul(t, y, y));
}

/* f with both sides recorded and one selected at every evaluation. */
static ad_var f_select(ad_tape *t, ad_var x, ad_var y) {
    ad_var cond = ad_compare(t, AD_CMP_GT, x, y);
    return ad_select(t, cond, ad_mul(t, x, y), ad_add(t, x, ad_mul(t, y, y)));
}

static void exact(const double p[2], double *f, double g[2]) {
    if (p[0] > p[1]) {
        *f = p[0] * p[1];
        g[0] = p[1];
        g[1] = p[0];
    } else {
        *f = p[0] + p[1] * p[1];
        g[0] = 1.0;
        g[1] = 2.0 * p[1];
    }
}

static int agree(const char *how, const double p[2], double f, const double g[2]) {
    double want_f, want_g[2];
    exact(p, &want_f, want_g);
    if (fabs(f - want_f) > 1e-12 || fabs(g[0] - want_g[0]) > 1e-12 || fabs(g[1] - want_g[1]) > 1e-12) {
        fprintf(stderr, "%s at (%g, %g): f = %g, grad = (%g, %g); want %g, (%g, %g)\n", how, p[0],
                p[1], f, g[0], g[1], want_f, want_g[0], want_g[1]);
        return 0;
    }
    return 1;
}

/* Records f at p on t; returns the output. */
static ad_var record(ad_tape *t, const double p[2], ad_var (*f)(ad_tape *, ad_var, ad_var)) {
    ad_var x = ad_input(t, p[0]), y = ad_input(t, p[1]);
    return f(t, x, y);
}

int main(void) {
    static const double points[][2] = {{3, 2}, {4, 1}, {1, 3}, {-2, 0.5}, {5, -1}, {0.5, 0.5}};
    ad_tape *tb, *ts;
    ad_var out_b, out_s;
    int ok = 1, rerecorded = 0;
    if (ad_tape_init(mem_branch, sizeof mem_branch, AD_F64, &tb) != AD_OK ||
        ad_tape_init(mem_select, sizeof mem_select, AD_F64, &ts) != AD_OK)
        return 1;
    out_b = record(tb, points[0], f_branch);
    out_s = record(ts, points[0], f_select);
    for (size_t k = 0; k < sizeof points / sizeof points[0]; k++) {
        const double *p = points[k];
        double f, g[2];
        /* The branch form: replay, and record again when a branch changed. */
        ad_status s = ad_replay(tb, p, 2);
        if (s == AD_ERR_BRANCH_CHANGED) {
            size_t changed, first;
            ad_tape_branch_changes(tb, &changed, &first);
            printf("(%g, %g): %zu branch(es) changed, the first is comparison %zu: recording again\n",
                   p[0], p[1], changed, first);
            ad_tape_reset(tb);
            out_b = record(tb, p, f_branch);
            rerecorded++;
        } else if (s != AD_OK) {
            fprintf(stderr, "replay: %s\n", ad_tape_error(tb));
            return 1;
        }
        if (ad_gradient(tb, out_b, g, 2) != AD_OK || ad_value(tb, out_b, &f) != AD_OK) {
            fprintf(stderr, "branch: %s\n", ad_tape_error(tb));
            return 1;
        }
        ok &= agree("branch", p, f, g);
        /* The select form: one recording serves every point. */
        if (ad_replay(ts, p, 2) != AD_OK || ad_gradient(ts, out_s, g, 2) != AD_OK ||
            ad_value(ts, out_s, &f) != AD_OK) {
            fprintf(stderr, "select: %s\n", ad_tape_error(ts));
            return 1;
        }
        ok &= agree("select", p, f, g);
        printf("(%g, %g): f = %g, grad = (%g, %g)\n", p[0], p[1], f, g[0], g[1]);
    }
    ad_tape_done(tb);
    ad_tape_done(ts);
    /* The walk crosses x = y three times: the branch form must have noticed each. */
    if (rerecorded != 3) {
        fprintf(stderr, "recorded again %d times, want 3\n", rerecorded);
        ok = 0;
    }
    puts(ok ? "branch: both forms agree with the exact gradient" : "branch: FAILED");
    return ok ? 0 : 1;
}
