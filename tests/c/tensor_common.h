/* What the tensor tests (tensor.c, tensor_training.c, tensor_errors.c) share: one
 * arena, a fresh tape in it, and an element count. */
#ifndef AUTODIFF_TEST_TENSOR_COMMON_H
#define AUTODIFF_TEST_TENSOR_COMMON_H

#include <stdint.h>
#include <string.h>

#include "check.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_IN 3
#define MAX_LEN 64

static unsigned char arena[1 << 18];

static inline ad_tape *fresh(ad_dtype dtype) {
    ad_tape *t = NULL;
    CHECK_OK(ad_tape_init(arena, sizeof arena, dtype, &t));
    return t;
}

static inline size_t product(const size_t *dims, size_t rank) {
    size_t n = 1, i;
    for (i = 0; i < rank; i++) n *= dims[i];
    return n;
}

#endif
