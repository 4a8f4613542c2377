// Shared device helpers for the libautodiff CUDA kernels.
//
// Every kernel is `extern "C"` with a `_f32` or `_f64` suffix, so the host finds it by a
// plain name. Lengths are `unsigned long long` and every loop is grid-stride, so a launch
// of any grid size covers any length the host checked.
#pragma once

typedef unsigned long long u64;

#define GRID_STRIDE(i, n) \
    for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (u64)gridDim.x * blockDim.x)

// Activation codes: the values of `autodiff_core::Activation` (repr(u8)).
enum Act {
    ACT_IDENTITY = 0,
    ACT_RELU = 1,
    ACT_LEAKY_RELU = 2,
    ACT_SIGMOID = 3,
    ACT_TANH = 4,
    ACT_GELU = 5,
    ACT_EXP = 6,
    ACT_LOG = 7,
    ACT_SQRT = 8,
    ACT_SQUARE = 9,
};

// Binary op codes, as the host's `BinaryOp`.
enum Bin { BIN_ADD = 0, BIN_SUB = 1, BIN_MUL = 2, BIN_DIV = 3 };

__device__ __forceinline__ float dexp(float x) { return expf(x); }
__device__ __forceinline__ double dexp(double x) { return exp(x); }
__device__ __forceinline__ float dlog(float x) { return logf(x); }
__device__ __forceinline__ double dlog(double x) { return log(x); }
__device__ __forceinline__ float dsqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double dsqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float dtanh(float x) { return tanhf(x); }
__device__ __forceinline__ double dtanh(double x) { return tanh(x); }
__device__ __forceinline__ float derf(float x) { return erff(x); }
__device__ __forceinline__ double derf(double x) { return erf(x); }

template <typename T> __device__ __forceinline__ T sigmoid(T x) {
    return T(1) / (T(1) + dexp(-x));
}

// Φ(x), the standard normal CDF, exactly as the CPU backend (through erf).
template <typename T> __device__ __forceinline__ T normal_cdf(T x) {
    return T(0.5) * (T(1) + derf(x * T(0.70710678118654752440)));
}

// f(x); `slope` is leaky ReLU's negative slope. Comparisons are selects: NaN maps as on
// the CPU (`x > 0` is false).
template <typename T> __device__ __forceinline__ T act_value(int act, T x, T slope) {
    switch (act) {
    case ACT_RELU: return x > T(0) ? x : T(0);
    case ACT_LEAKY_RELU: return x > T(0) ? x : x * slope;
    case ACT_SIGMOID: return sigmoid(x);
    case ACT_TANH: return dtanh(x);
    case ACT_GELU: return x * normal_cdf(x);
    case ACT_EXP: return dexp(x);
    case ACT_LOG: return dlog(x);
    case ACT_SQRT: return dsqrt(x);
    case ACT_SQUARE: return x * x;
    default: return x;
    }
}

// f'(x) given x and y = f(x). ReLU'(0) = 0, as the CPU backend and PyTorch.
template <typename T> __device__ __forceinline__ T act_derivative(int act, T x, T y, T slope) {
    switch (act) {
    case ACT_RELU: return x > T(0) ? T(1) : T(0);
    case ACT_LEAKY_RELU: return x > T(0) ? T(1) : slope;
    case ACT_SIGMOID: return y * (T(1) - y);
    case ACT_TANH: return T(1) - y * y;
    case ACT_GELU: {
        // φ(x) = exp(-x²/2) / √(2π)
        T density = T(0.39894228040143267794) * dexp(-(x * x) * T(0.5));
        return normal_cdf(x) + x * density;
    }
    case ACT_EXP: return y;
    case ACT_LOG: return T(1) / x;
    case ACT_SQRT: return T(1) / (y + y);
    case ACT_SQUARE: return x + x;
    default: return T(1);
    }
}

// f' from the output alone (identity, ReLU, sigmoid, tanh, exp): what a fused layer needs,
// since it keeps only its output.
template <typename T> __device__ __forceinline__ T act_derivative_from_output(int act, T y) {
    switch (act) {
    case ACT_RELU: return y > T(0) ? T(1) : T(0);
    case ACT_SIGMOID: return y * (T(1) - y);
    case ACT_TANH: return T(1) - y * y;
    case ACT_EXP: return y;
    default: return T(1);
    }
}

template <typename T> __device__ __forceinline__ T bin_value(int op, T a, T b) {
    switch (op) {
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    case BIN_DIV: return a / b;
    default: return a + b;
    }
}

// (∂y/∂a, ∂y/∂b) given a, b and y = a op b; the CPU backend's rules.
template <typename T> __device__ __forceinline__ void bin_partials(int op, T a, T b, T y, T &da, T &db) {
    switch (op) {
    case BIN_SUB: da = T(1); db = T(-1); break;
    case BIN_MUL: da = b; db = a; break;
    case BIN_DIV: { T inv = T(1) / b; da = inv; db = -y * inv; break; }
    default: da = T(1); db = T(1); break;
    }
}

// Sum of `v` over the block; every thread gets the total. `scratch` holds blockDim.x / 32
// values. Block size must be a multiple of 32, at most 1024.
template <typename T> __device__ T block_sum(T v, T *scratch) {
    for (int offset = 16; offset > 0; offset >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, offset);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    T total = T(0);
    for (int w = 0; w < warps; ++w) total += scratch[w];
    return total;
}

template <typename T> __device__ T block_max(T v, T *scratch) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        T other = __shfl_down_sync(0xffffffffu, v, offset);
        v = other > v ? other : v;
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    T best = scratch[0];
    for (int w = 1; w < warps; ++w) best = scratch[w] > best ? scratch[w] : best;
    return best;
}

// Defines `NAME_f32` and `NAME_f64` as calls of the device template `NAME_impl<T>`.
// `PARAMS` is a function-like macro giving the parameter list for an element type.
#define KERNEL(NAME, PARAMS, ARGS)                                                   \
    extern "C" __global__ void NAME##_f32 PARAMS(float) { NAME##_impl<float> ARGS; } \
    extern "C" __global__ void NAME##_f64 PARAMS(double) { NAME##_impl<double> ARGS; }
