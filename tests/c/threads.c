/* Separate tapes in parallel: each thread records and differentiates the Rosenbrock
 * function on its own tape, in its own memory, many times; every gradient must match
 * the formula. Run under ThreadSanitizer by `make test`. */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"

#define THREADS 8
#define N 64
#define ROUNDS 50

struct job {
    unsigned char mem[1 << 16];
    int seed;
    int failures;
};

static void *run(void *arg) {
    struct job *job = (struct job *)arg;
    ad_tape *t;
    double x[N], g[N];
    ad_var v[N];
    int round, i;
    if (ad_tape_init(job->mem, sizeof job->mem, job->seed % 2 ? AD_F64 : AD_F32, &t) != AD_OK) {
        job->failures++;
        return NULL;
    }
    for (round = 0; round < ROUNDS; round++) {
        ad_var f;
        for (i = 0; i < N; i++) x[i] = 0.01 * (double)((job->seed * 7 + round + i) % 50) - 0.25;
        for (i = 0; i < N; i++) v[i] = ad_input(t, x[i]);
        f = ad_const(t, 0.0);
        for (i = 0; i + 1 < N; i++) {
            ad_var a = ad_sub(t, v[i + 1], ad_mul(t, v[i], v[i]));
            ad_var b = ad_sub(t, ad_const(t, 1.0), v[i]);
            f = ad_add(t, f, ad_add(t, ad_scale(t, ad_mul(t, a, a), 100.0), ad_mul(t, b, b)));
        }
        if (ad_gradient(t, f, g, N) != AD_OK) job->failures++;
        for (i = 0; i < N; i++) {
            double want = 0.0;
            if (i + 1 < N) want += -400.0 * x[i] * (x[i + 1] - x[i] * x[i]) - 2.0 * (1.0 - x[i]);
            if (i > 0) want += 200.0 * (x[i] - x[i - 1] * x[i - 1]);
            if (fabs(g[i] - want) > 1e-3 * (1.0 + fabs(want))) job->failures++;
        }
        if (ad_tape_reset(t) != AD_OK) job->failures++;
    }
    if (ad_tape_done(t) != AD_OK) job->failures++;
    return NULL;
}

int main(void) {
    static struct job jobs[THREADS];
    pthread_t threads[THREADS];
    int i;
    for (i = 0; i < THREADS; i++) {
        jobs[i].seed = i;
        CHECK(pthread_create(&threads[i], NULL, run, &jobs[i]) == 0);
    }
    for (i = 0; i < THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(jobs[i].failures == 0);
    }
    return check_summary();
}
