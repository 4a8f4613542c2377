// Softmax and log-softmax along the last axis, cross-entropy from class labels, and mean
// squared error. Row kernels run one block per row (grid-stride over rows) and subtract
// the row maximum before `exp`, so no input overflows.
#include "common.cuh"

// The row's log-sum-exp: max + log Σ exp(x - max).
template <typename T> __device__ T row_log_sum_exp(const T *row, u64 cols, T *scratch) {
    T m = T(-INFINITY);
    for (u64 c = threadIdx.x; c < cols; c += blockDim.x) m = row[c] > m ? row[c] : m;
    m = block_max(m, scratch);
    T s = T(0);
    for (u64 c = threadIdx.x; c < cols; c += blockDim.x) s += dexp(row[c] - m);
    return dlog(block_sum(s, scratch)) + m;
}

// y = softmax(x) (log = 0) or log_softmax(x) (log = 1), row by row.
template <typename T>
__device__ void ad_softmax_forward_impl(u64 rows, u64 cols, int log, const T *x, T *y) {
    __shared__ T scratch[32];
    for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *row = x + r * cols;
        T lse = row_log_sum_exp(row, cols, scratch);
        for (u64 c = threadIdx.x; c < cols; c += blockDim.x) {
            T v = row[c] - lse;
            y[r * cols + c] = log ? v : dexp(v);
        }
    }
}
#define P_SOFTMAX_FORWARD(T) (u64 rows, u64 cols, int log, const T *x, T *y)
KERNEL(ad_softmax_forward, P_SOFTMAX_FORWARD, (rows, cols, log, x, y))

// softmax:     gx += y ⊙ (g − Σ g⊙y)
// log_softmax: gx += g − exp(y) ⊙ Σ g
template <typename T>
__device__ void ad_softmax_backward_impl(u64 rows, u64 cols, int log, const T *y, const T *g, T *gx) {
    __shared__ T scratch[32];
    for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *yr = y + r * cols, *gr = g + r * cols;
        T s = T(0);
        for (u64 c = threadIdx.x; c < cols; c += blockDim.x) s += log ? gr[c] : gr[c] * yr[c];
        s = block_sum(s, scratch);
        for (u64 c = threadIdx.x; c < cols; c += blockDim.x)
            gx[r * cols + c] += log ? gr[c] - dexp(yr[c]) * s : yr[c] * (gr[c] - s);
    }
}
#define P_SOFTMAX_BACKWARD(T) (u64 rows, u64 cols, int log, const T *y, const T *g, T *gx)
KERNEL(ad_softmax_backward, P_SOFTMAX_BACKWARD, (rows, cols, log, y, g, gx))

// Per row: probs = softmax(x) (saved for the backward) and row_loss = −log p[label]
// (0 for a label out of range, which the host rejects before launching). The mean over
// rows is a row reduction of `row_loss`, so the total is deterministic.
template <typename T>
__device__ void ad_cross_entropy_forward_impl(u64 rows, u64 cols, const T *x, const unsigned *labels, T *probs,
                                              T *row_loss) {
    __shared__ T scratch[32];
    for (u64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *row = x + r * cols;
        T lse = row_log_sum_exp(row, cols, scratch);
        for (u64 c = threadIdx.x; c < cols; c += blockDim.x) probs[r * cols + c] = dexp(row[c] - lse);
        if (threadIdx.x == 0) {
            u64 label = labels[r];
            row_loss[r] = label < cols ? lse - row[label] : T(0);
        }
    }
}
#define P_CROSS_ENTROPY_FORWARD(T) \
    (u64 rows, u64 cols, const T *x, const unsigned *labels, T *probs, T *row_loss)
KERNEL(ad_cross_entropy_forward, P_CROSS_ENTROPY_FORWARD, (rows, cols, x, labels, probs, row_loss))

// gx += (g_loss / rows) · (probs − onehot(label)); `g_loss` is the loss's gradient, one
// element in device memory.
template <typename T>
__device__ void ad_cross_entropy_backward_impl(u64 rows, u64 cols, const T *probs, const unsigned *labels,
                                               const T *g_loss, T *gx) {
    T s = g_loss[0] / T(rows);
    GRID_STRIDE(i, rows * cols) {
        u64 r = i / cols, c = i % cols;
        gx[i] += s * (probs[i] - (labels[r] == c ? T(1) : T(0)));
    }
}
#define P_CROSS_ENTROPY_BACKWARD(T) \
    (u64 rows, u64 cols, const T *probs, const unsigned *labels, const T *g_loss, T *gx)
KERNEL(ad_cross_entropy_backward, P_CROSS_ENTROPY_BACKWARD, (rows, cols, probs, labels, g_loss, gx))

// out[0] = mean((x − z)²), one block.
template <typename T> __device__ void ad_mse_forward_impl(u64 n, const T *x, const T *z, T *out) {
    __shared__ T scratch[32];
    T s = T(0);
    for (u64 i = threadIdx.x; i < n; i += blockDim.x) s += (x[i] - z[i]) * (x[i] - z[i]);
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) out[0] = s / T(n);
}
#define P_MSE_FORWARD(T) (u64 n, const T *x, const T *z, T *out)
KERNEL(ad_mse_forward, P_MSE_FORWARD, (n, x, z, out))

// gx += s·(x − z), gz −= s·(x − z) with s = 2·g_loss/n; a null gradient is skipped.
template <typename T>
__device__ void ad_mse_backward_impl(u64 n, const T *x, const T *z, const T *g_loss, T *gx, T *gz) {
    T s = g_loss[0] * T(2) / T(n);
    GRID_STRIDE(i, n) {
        T d = s * (x[i] - z[i]);
        if (gx) gx[i] += d;
        if (gz) gz[i] -= d;
    }
}
#define P_MSE_BACKWARD(T) (u64 n, const T *x, const T *z, const T *g_loss, T *gx, T *gz)
KERNEL(ad_mse_backward, P_MSE_BACKWARD, (n, x, z, g_loss, gx, gz))
