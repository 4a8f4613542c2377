// Reductions along one axis of a tensor viewed as (outer, len, inner): element (o, i, j)
// is at (o·len + i)·inner + j, and output (o, j) is `scale · Σ_i x[o, i, j]` (scale is 1
// for a sum, 1/len for a mean). A sum over everything is (1, n, 1).
#include "common.cuh"

// inner == 1: one block per output row, a tree sum over the row. `accumulate` adds the
// result to y instead of overwriting it (gradients).
template <typename T>
__device__ void ad_reduce_rows_impl(u64 rows, u64 len, T scale, int accumulate, const T *x, T *y) {
    __shared__ T scratch[32];
    for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *row = x + r * len;
        T v = T(0);
        for (u64 i = threadIdx.x; i < len; i += blockDim.x) v += row[i];
        T total = block_sum(v, scratch);
        if (threadIdx.x == 0) y[r] = (accumulate ? y[r] : T(0)) + scale * total;
    }
}
#define P_REDUCE_ROWS(T) (u64 rows, u64 len, T scale, int accumulate, const T *x, T *y)
KERNEL(ad_reduce_rows, P_REDUCE_ROWS, (rows, len, scale, accumulate, x, y))

// inner > 1: one thread per output (o, j), reading a column; neighbouring threads read
// neighbouring addresses. The fused layer's bias gradient is this with outer = 1.
template <typename T>
__device__ void ad_reduce_cols_impl(u64 outer, u64 len, u64 inner, T scale, int accumulate, const T *x, T *y) {
    GRID_STRIDE(t, outer * inner) {
        u64 o = t / inner, j = t % inner;
        const T *col = x + o * len * inner + j;
        T v = T(0);
        for (u64 i = 0; i < len; ++i) v += col[i * inner];
        y[t] = (accumulate ? y[t] : T(0)) + scale * v;
    }
}
#define P_REDUCE_COLS(T) (u64 outer, u64 len, u64 inner, T scale, int accumulate, const T *x, T *y)
KERNEL(ad_reduce_cols, P_REDUCE_COLS, (outer, len, inner, scale, accumulate, x, y))

// The backward of both: gx[o, i, j] += scale · g[o, j].
template <typename T>
__device__ void ad_reduce_backward_impl(u64 outer, u64 len, u64 inner, T scale, const T *g, T *gx) {
    GRID_STRIDE(t, outer * len * inner) {
        u64 j = t % inner, o = t / (len * inner);
        gx[t] += scale * g[o * inner + j];
    }
}
#define P_REDUCE_BACKWARD(T) (u64 outer, u64 len, u64 inner, T scale, const T *g, T *gx)
KERNEL(ad_reduce_backward, P_REDUCE_BACKWARD, (outer, len, inner, scale, g, gx))
