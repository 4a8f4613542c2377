// Elementwise kernels: activations and `scale` forward/backward, `+ - * /` with numpy
// broadcasting up to rank 4, and the fused layer's bias + activation.
//
// Backward kernels accumulate (`+=`) into the input gradient, as the CPU backend does,
// so several uses of one tensor add up.
#include "common.cuh"

// y = f(x)
template <typename T>
__device__ void ad_unary_forward_impl(int act, T slope, const T *x, T *y, u64 n) {
    GRID_STRIDE(i, n) y[i] = act_value(act, x[i], slope);
}
#define P_UNARY_FORWARD(T) (int act, T slope, const T *x, T *y, u64 n)
KERNEL(ad_unary_forward, P_UNARY_FORWARD, (act, slope, x, y, n))

// gx += g · f'(x, y)
template <typename T>
__device__ void ad_unary_backward_impl(int act, T slope, const T *x, const T *y, const T *g, T *gx, u64 n) {
    GRID_STRIDE(i, n) gx[i] += g[i] * act_derivative(act, x[i], y[i], slope);
}
#define P_UNARY_BACKWARD(T) (int act, T slope, const T *x, const T *y, const T *g, T *gx, u64 n)
KERNEL(ad_unary_backward, P_UNARY_BACKWARD, (act, slope, x, y, g, gx, n))

// y = c·x, and its backward gx += c·g (the same kernel with accumulate = 1).
template <typename T>
__device__ void ad_scale_impl(T c, const T *x, T *y, int accumulate, u64 n) {
    GRID_STRIDE(i, n) y[i] = (accumulate ? y[i] : T(0)) + c * x[i];
}
#define P_SCALE(T) (T c, const T *x, T *y, int accumulate, u64 n)
KERNEL(ad_scale, P_SCALE, (c, x, y, accumulate, n))

// The broadcast of two operands into an output of rank ≤ 4, padded on the left to 4:
// `dims` are the output's, `stride[0]` / `stride[1]` each operand's element strides
// seen through the output (0 along a stretched dimension).
struct Broadcast {
    u64 dims[4];
    u64 stride[2][4];
};

__device__ __forceinline__ u64 offset_of(const Broadcast &b, int which, u64 o) {
    u64 off = 0;
    for (int k = 3; k >= 0; --k) {
        u64 c = o % b.dims[k];
        o /= b.dims[k];
        off += c * b.stride[which][k];
    }
    return off;
}

// y = a op b
template <typename T>
__device__ void ad_binary_forward_impl(int op, Broadcast b, const T *x, const T *z, T *y, u64 n) {
    GRID_STRIDE(o, n) y[o] = bin_value(op, x[offset_of(b, 0, o)], z[offset_of(b, 1, o)]);
}
#define P_BINARY_FORWARD(T) (int op, Broadcast b, const T *x, const T *z, T *y, u64 n)
KERNEL(ad_binary_forward, P_BINARY_FORWARD, (op, b, x, z, y, n))

// The gradient of operand `which` (0: a, 1: b), gathered: one thread per element of the
// operand loops over the output elements it was stretched to, so no two threads write
// one element and no atomics are needed (the result is deterministic).
template <typename T>
__device__ void ad_binary_backward_impl(int op, Broadcast b, int which, const T *x, const T *z, const T *y,
                                        const T *g, T *grad, u64 len) {
    // The operand's own extent along each output dimension, and the output's strides.
    u64 own[4], out_stride[4], stretched = 1;
    u64 s = 1;
    for (int k = 3; k >= 0; --k) {
        bool stretch = b.stride[which][k] == 0 && b.dims[k] > 1;
        own[k] = stretch ? 1 : b.dims[k];
        if (stretch) stretched *= b.dims[k];
        out_stride[k] = s;
        s *= b.dims[k];
    }
    GRID_STRIDE(i, len) {
        // Output coordinates fixed by `i` along the operand's own dimensions.
        u64 base = 0, rest = i;
        for (int k = 3; k >= 0; --k) {
            base += (rest % own[k]) * out_stride[k];
            rest /= own[k];
        }
        T acc = T(0);
        for (u64 r = 0; r < stretched; ++r) {
            u64 o = base, q = r;
            for (int k = 3; k >= 0; --k) {
                if (own[k] == 1 && b.dims[k] > 1) {
                    o += (q % b.dims[k]) * out_stride[k];
                    q /= b.dims[k];
                }
            }
            T xa = x[offset_of(b, 0, o)], zb = z[offset_of(b, 1, o)], da, db;
            bin_partials(op, xa, zb, y[o], da, db);
            acc += g[o] * (which == 0 ? da : db);
        }
        grad[i] += acc;
    }
}
#define P_BINARY_BACKWARD(T) \
    (int op, Broadcast b, int which, const T *x, const T *z, const T *y, const T *g, T *grad, u64 len)
KERNEL(ad_binary_backward, P_BINARY_BACKWARD, (op, b, which, x, z, y, g, grad, len))

// The fused layer's epilogue, in place on the product x·W: y[i, j] = f(y[i, j] + bias[j]).
template <typename T>
__device__ void ad_bias_act_forward_impl(int act, u64 rows, u64 cols, const T *bias, T *y) {
    GRID_STRIDE(i, rows * cols) y[i] = act_value(act, y[i] + bias[i % cols], T(0));
}
#define P_BIAS_ACT_FORWARD(T) (int act, u64 rows, u64 cols, const T *bias, T *y)
KERNEL(ad_bias_act_forward, P_BIAS_ACT_FORWARD, (act, rows, cols, bias, y))

// The fused layer's backward mask: dz = g · f'(y), from the output alone (written, not
// accumulated: dz is scratch that the bias and weight gradients then read).
template <typename T>
__device__ void ad_act_output_backward_impl(int act, const T *y, const T *g, T *dz, u64 n) {
    GRID_STRIDE(i, n) dz[i] = g[i] * act_derivative_from_output(act, y[i]);
}
#define P_ACT_OUTPUT_BACKWARD(T) (int act, const T *y, const T *g, T *dz, u64 n)
KERNEL(ad_act_output_backward, P_ACT_OUTPUT_BACKWARD, (act, y, g, dz, n))
