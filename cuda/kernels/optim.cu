// Optimizer updates, in place: SGD (momentum, weight decay) and Adam / AdamW, with the
// CPU backend's formulas. Each has a single-tensor kernel and a multi-tensor one that
// updates every parameter in one launch (blockIdx.y picks the tensor from a table).
#include "common.cuh"

// One parameter tensor for the multi-tensor kernels; pointers as 64-bit device
// addresses so the host writes the table as plain integers. `s0`, `s1` are the optimizer
// state (velocity; or Adam's two moments), 0 where unused.
struct ParamSlot {
    u64 w, g, s0, s1, len;
};

// v = momentum·v + g + decay·w; w −= lr·v   (without velocity: w −= lr·(g + decay·w))
template <typename T>
__device__ __forceinline__ void sgd_element(T *w, const T *g, T *v, u64 i, T lr, T momentum, T decay) {
    T step = g[i] + decay * w[i];
    if (v) {
        v[i] = momentum * v[i] + step;
        step = v[i];
    }
    w[i] -= lr * step;
}

// Adam with the bias corrections folded into `step` (lr / (1 − β1ᵗ)) and `inv_sqrt_c2`
// (1 / √(1 − β2ᵗ)). AdamW (`decoupled`) shrinks w by `shrink` = 1 − lr·decay instead of
// adding decay·w to the gradient.
template <typename T>
__device__ __forceinline__ void adam_element(T *w, const T *g, T *m, T *v, u64 i, T step, T b1, T b2, T eps,
                                             T inv_sqrt_c2, T decay, T shrink, int decoupled) {
    T gi = decoupled ? g[i] : g[i] + decay * w[i];
    T wi = decoupled ? w[i] * shrink : w[i];
    m[i] = b1 * m[i] + (T(1) - b1) * gi;
    v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
    w[i] = wi - step * m[i] / (dsqrt(v[i]) * inv_sqrt_c2 + eps);
}

template <typename T> __device__ void ad_sgd_impl(u64 n, T *w, const T *g, T *v, T lr, T momentum, T decay) {
    GRID_STRIDE(i, n) sgd_element(w, g, v, i, lr, momentum, decay);
}
#define P_SGD(T) (u64 n, T *w, const T *g, T *v, T lr, T momentum, T decay)
KERNEL(ad_sgd, P_SGD, (n, w, g, v, lr, momentum, decay))

template <typename T>
__device__ void ad_sgd_multi_impl(const ParamSlot *slots, T lr, T momentum, T decay) {
    ParamSlot p = slots[blockIdx.y];
    GRID_STRIDE(i, p.len) sgd_element((T *)p.w, (const T *)p.g, (T *)p.s0, i, lr, momentum, decay);
}
#define P_SGD_MULTI(T) (const ParamSlot *slots, T lr, T momentum, T decay)
KERNEL(ad_sgd_multi, P_SGD_MULTI, (slots, lr, momentum, decay))

template <typename T>
__device__ void ad_adam_impl(u64 n, T *w, const T *g, T *m, T *v, T step, T b1, T b2, T eps, T inv_sqrt_c2,
                             T decay, T shrink, int decoupled) {
    GRID_STRIDE(i, n) adam_element(w, g, m, v, i, step, b1, b2, eps, inv_sqrt_c2, decay, shrink, decoupled);
}
#define P_ADAM(T) \
    (u64 n, T *w, const T *g, T *m, T *v, T step, T b1, T b2, T eps, T inv_sqrt_c2, T decay, T shrink, int decoupled)
KERNEL(ad_adam, P_ADAM, (n, w, g, m, v, step, b1, b2, eps, inv_sqrt_c2, decay, shrink, decoupled))

template <typename T>
__device__ void ad_adam_multi_impl(const ParamSlot *slots, T step, T b1, T b2, T eps, T inv_sqrt_c2, T decay,
                                   T shrink, int decoupled) {
    ParamSlot p = slots[blockIdx.y];
    GRID_STRIDE(i, p.len)
    adam_element((T *)p.w, (const T *)p.g, (T *)p.s0, (T *)p.s1, i, step, b1, b2, eps, inv_sqrt_c2, decay, shrink,
                 decoupled);
}
#define P_ADAM_MULTI(T) \
    (const ParamSlot *slots, T step, T b1, T b2, T eps, T inv_sqrt_c2, T decay, T shrink, int decoupled)
KERNEL(ad_adam_multi, P_ADAM_MULTI, (slots, step, b1, b2, eps, inv_sqrt_c2, decay, shrink, decoupled))
