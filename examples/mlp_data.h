/* The data of the `make demo` network (examples/mlp.c, and examples/mpi_mlp.c, which
 * trains the same network on the same data): a seeded splitmix64 generator, and
 * Gaussian blobs, one center per class, with every coordinate perturbed by `noise`.
 * Every run draws the same numbers in the same order, so the data and the initial
 * weights (drawn next, with gaussian()) are the same in both examples. Static functions:
 * each example includes it. */
#ifndef MLP_DATA_H
#define MLP_DATA_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

static uint64_t rng_state = 0x5eed2024u;

static uint64_t next_u64(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double uniform(void) { return ((double)(next_u64() >> 11) + 0.5) / 9007199254740992.0; }

static double gaussian(void) {
    return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

/* `train` then `test` points of `dim` coordinates (row-major) and their labels below
 * `classes`; `centers` is room for classes * dim floats. */
static void make_blobs(size_t dim, size_t classes, float noise, float *centers, size_t train,
                       float *train_x, uint32_t *train_y, size_t test, float *test_x,
                       uint32_t *test_y) {
    size_t c, d, i;
    for (c = 0; c < classes; c++)
        for (d = 0; d < dim; d++) centers[c * dim + d] = (float)gaussian();
    for (i = 0; i < train + test; i++) {
        float *x = i < train ? train_x + i * dim : test_x + (i - train) * dim;
        uint32_t label = (uint32_t)(next_u64() % classes);
        for (d = 0; d < dim; d++) x[d] = centers[label * dim + d] + noise * (float)gaussian();
        if (i < train)
            train_y[i] = label;
        else
            test_y[i - train] = label;
    }
}

#endif
