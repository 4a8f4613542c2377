/* A minimal test harness for the C tests: each CHECK counts one pass or one failure,
 * and check_summary() prints "N passed, M failed" and gives the exit code. */
#ifndef AUTODIFF_TEST_CHECK_H
#define AUTODIFF_TEST_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "autodiff.h"

static int check_passed, check_failed;

static void check_record(int ok, const char *file, int line, const char *what) {
    if (ok) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    }
}

#define CHECK(cond) check_record((cond) ? 1 : 0, __FILE__, __LINE__, #cond)

#define CHECK_STATUS(expr, want)                                                        \
    do {                                                                                \
        ad_status check_got_ = (expr);                                                  \
        if (check_got_ != (want))                                                       \
            fprintf(stderr, "%s:%d: got %d (%s), want %s\n", __FILE__, __LINE__,        \
                    (int)check_got_, ad_status_str(check_got_), #want);                 \
        check_record(check_got_ == (want), __FILE__, __LINE__, #expr " == " #want);     \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, AD_OK)

#define CHECK_NEAR(got, want, tol)                                                      \
    do {                                                                                \
        double check_g_ = (got), check_w_ = (want);                                     \
        int check_ok_ = fabs(check_g_ - check_w_) <= (tol) * (1.0 + fabs(check_w_));    \
        if (!check_ok_)                                                                 \
            fprintf(stderr, "%s:%d: %s = %.17g, want %.17g\n", __FILE__, __LINE__,      \
                    #got, check_g_, check_w_);                                          \
        check_record(check_ok_, __FILE__, __LINE__, #got " ~ " #want);                  \
    } while (0)

/* Seeded test inputs: the next of an xorshift64 stream at *state, uniform in [lo, hi). */
static inline double check_uniform(uint64_t *state, double lo, double hi) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return lo + (hi - lo) * (double)(*state >> 11) / 9007199254740992.0;
}

static int check_summary(void) {
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

#endif
