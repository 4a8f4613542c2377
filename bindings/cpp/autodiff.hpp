// autodiff.hpp: a header-only C++17 wrapper over the libautodiff C API (autodiff.h).
//
// Thin by design: every call forwards to one C function. Tapes are RAII and move-only,
// variables and tensors are small value types (a tape pointer and a handle), and the
// calls that return an ad_status in C throw autodiff::Error on failure here. Recording
// ops (arithmetic, sin, matmul, ...) stay sticky as in C: they never throw, a failure is
// kept as the tape's first error and shows up at the next backward/gradient/jvp/replay
// or through Tape::status(). Each throwing call has a noexcept try_* form returning the
// ad_status. The C library itself never throws or unwinds into C++.
// See bindings/cpp/README.md.
#pragma once
#ifndef AUTODIFF_HPP
#define AUTODIFF_HPP

#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "autodiff.h"

namespace autodiff {

// A failed call: its ad_status, and the tape's message (ad_tape_error) at the time.
class Error : public std::runtime_error {
public:
    Error(ad_status status, const std::string &where, const std::string &message)
        : std::runtime_error(where + ": " + message), status_(status), message_(message) {}
    ad_status status() const noexcept { return status_; }
    // The tape's text (or the status description where there was no tape).
    const std::string &message() const { return message_; }
    // The fixed description of the status code.
    const char *status_str() const noexcept { return ad_status_str(status_); }

private:
    ad_status status_;
    std::string message_;
};

namespace detail {
inline void check(ad_status s, ad_tape *t, const char *where) {
    if (s == AD_OK) return;
    std::string msg = t ? std::string(ad_tape_error(t)) : std::string(ad_status_str(s));
    throw Error(s, where, msg);
}
inline ad_var invalid_var() noexcept { return ad_var{UINT32_MAX, 0, 0, 0}; }
inline ad_tensor invalid_tensor() noexcept { return ad_tensor{UINT32_MAX, 0, 0, 0}; }
template <class T> struct elem;
template <> struct elem<float> {
    static ad_tensor input(ad_tape *t, const size_t *d, size_t r, const float *p, size_t n) {
        return ad_tensor_input_f32(t, d, r, p, n);
    }
    static ad_tensor constant(ad_tape *t, const size_t *d, size_t r, const float *p, size_t n) {
        return ad_tensor_const_f32(t, d, r, p, n);
    }
    static ad_status value(const ad_tape *t, ad_tensor x, float *o, size_t n) {
        return ad_tensor_value_f32(t, x, o, n);
    }
    static ad_status grad(const ad_tape *t, ad_tensor x, float *o, size_t n) {
        return ad_tensor_grad_f32(t, x, o, n);
    }
    static ad_status tangent(const ad_tape *t, ad_tensor x, float *o, size_t n) {
        return ad_tensor_tangent_f32(t, x, o, n);
    }
    static ad_status set_value(ad_tape *t, ad_tensor x, const float *p, size_t n) {
        return ad_tensor_set_value_f32(t, x, p, n);
    }
    static ad_status seed_tangent(ad_tape *t, ad_tensor x, const float *p, size_t n) {
        return ad_tensor_seed_tangent_f32(t, x, p, n);
    }
    static ad_status param_new(ad_tape *t, const size_t *d, size_t r, const float *p, size_t n,
                               ad_param *out) {
        return ad_param_new_f32(t, d, r, p, n, out);
    }
    static ad_status param_read(const ad_tape *t, ad_param q, float *o, size_t n) {
        return ad_param_read_f32(t, q, o, n);
    }
    static ad_status param_grad(const ad_tape *t, ad_param q, float *o, size_t n) {
        return ad_param_grad_f32(t, q, o, n);
    }
    static ad_status param_write(ad_tape *t, ad_param q, const float *p, size_t n) {
        return ad_param_write_f32(t, q, p, n);
    }
};
template <> struct elem<double> {
    static ad_tensor input(ad_tape *t, const size_t *d, size_t r, const double *p, size_t n) {
        return ad_tensor_input_f64(t, d, r, p, n);
    }
    static ad_tensor constant(ad_tape *t, const size_t *d, size_t r, const double *p, size_t n) {
        return ad_tensor_const_f64(t, d, r, p, n);
    }
    static ad_status value(const ad_tape *t, ad_tensor x, double *o, size_t n) {
        return ad_tensor_value_f64(t, x, o, n);
    }
    static ad_status grad(const ad_tape *t, ad_tensor x, double *o, size_t n) {
        return ad_tensor_grad_f64(t, x, o, n);
    }
    static ad_status tangent(const ad_tape *t, ad_tensor x, double *o, size_t n) {
        return ad_tensor_tangent_f64(t, x, o, n);
    }
    static ad_status set_value(ad_tape *t, ad_tensor x, const double *p, size_t n) {
        return ad_tensor_set_value_f64(t, x, p, n);
    }
    static ad_status seed_tangent(ad_tape *t, ad_tensor x, const double *p, size_t n) {
        return ad_tensor_seed_tangent_f64(t, x, p, n);
    }
    static ad_status param_new(ad_tape *t, const size_t *d, size_t r, const double *p, size_t n,
                               ad_param *out) {
        return ad_param_new_f64(t, d, r, p, n, out);
    }
    static ad_status param_read(const ad_tape *t, ad_param q, double *o, size_t n) {
        return ad_param_read_f64(t, q, o, n);
    }
    static ad_status param_grad(const ad_tape *t, ad_param q, double *o, size_t n) {
        return ad_param_grad_f64(t, q, o, n);
    }
    static ad_status param_write(ad_tape *t, ad_param q, const double *p, size_t n) {
        return ad_param_write_f64(t, q, p, n);
    }
};
inline size_t count(const std::vector<size_t> &dims) noexcept {
    size_t n = 1;
    for (size_t d : dims) n *= d;
    return n;
}
} // namespace detail

// ---- scalar variables ----

// A variable on a tape: the tape pointer and the C handle. Copyable, trivially cheap.
// A default-constructed Var belongs to no tape; ops on it fail (stickily, where a tape
// is involved).
class Var {
public:
    Var() noexcept : tape_(nullptr), v_(detail::invalid_var()) {}
    Var(ad_tape *tape, ad_var v) noexcept : tape_(tape), v_(v) {}

    ad_tape *tape() const noexcept { return tape_; }
    ad_var raw() const noexcept { return v_; }
    // False for the invalid variable a failed op returns (a valid one may still be stale).
    bool is_valid() const noexcept { return tape_ != nullptr && ad_var_is_valid(v_); }

    ad_status try_value(double &out) const noexcept { return ad_value(tape_, v_, &out); }
    ad_status try_grad(double &out) const noexcept { return ad_grad(tape_, v_, &out); }
    ad_status try_tangent(double &out) const noexcept { return ad_tangent(tape_, v_, &out); }

    double value() const {
        double out = 0.0;
        detail::check(try_value(out), tape_, "ad_value");
        return out;
    }
    // d output / d this, after Tape::backward(output).
    double grad() const {
        double out = 0.0;
        detail::check(try_grad(out), tape_, "ad_grad");
        return out;
    }
    // The directional derivative after Tape::jvp().
    double tangent() const {
        double out = 0.0;
        detail::check(try_tangent(out), tape_, "ad_tangent");
        return out;
    }

    Var &operator+=(const Var &b) noexcept;
    Var &operator-=(const Var &b) noexcept;
    Var &operator*=(const Var &b) noexcept;
    Var &operator/=(const Var &b) noexcept;
    Var &operator+=(double c) noexcept;
    Var &operator-=(double c) noexcept;
    Var &operator*=(double c) noexcept;
    Var &operator/=(double c) noexcept;

private:
    ad_tape *tape_;
    ad_var v_;
};

namespace detail {
inline ad_tape *pick(const Var &a, const Var &b) noexcept {
    return a.tape() ? a.tape() : b.tape();
}
inline Var konst(ad_tape *t, double c) noexcept { return Var(t, ad_const(t, c)); }
} // namespace detail

inline Var operator+(const Var &a, const Var &b) noexcept {
    ad_tape *t = detail::pick(a, b);
    return Var(t, ad_add(t, a.raw(), b.raw()));
}
inline Var operator-(const Var &a, const Var &b) noexcept {
    ad_tape *t = detail::pick(a, b);
    return Var(t, ad_sub(t, a.raw(), b.raw()));
}
inline Var operator*(const Var &a, const Var &b) noexcept {
    ad_tape *t = detail::pick(a, b);
    return Var(t, ad_mul(t, a.raw(), b.raw()));
}
inline Var operator/(const Var &a, const Var &b) noexcept {
    ad_tape *t = detail::pick(a, b);
    return Var(t, ad_div(t, a.raw(), b.raw()));
}
inline Var operator+(const Var &a, double c) noexcept { return a + detail::konst(a.tape(), c); }
inline Var operator+(double c, const Var &a) noexcept { return detail::konst(a.tape(), c) + a; }
inline Var operator-(const Var &a, double c) noexcept { return a - detail::konst(a.tape(), c); }
inline Var operator-(double c, const Var &a) noexcept { return detail::konst(a.tape(), c) - a; }
inline Var operator*(const Var &a, double c) noexcept {
    return Var(a.tape(), ad_scale(a.tape(), a.raw(), c));
}
inline Var operator*(double c, const Var &a) noexcept {
    return Var(a.tape(), ad_scale(a.tape(), a.raw(), c));
}
inline Var operator/(const Var &a, double c) noexcept { return a / detail::konst(a.tape(), c); }
inline Var operator/(double c, const Var &a) noexcept { return detail::konst(a.tape(), c) / a; }
inline Var operator-(const Var &a) noexcept { return Var(a.tape(), ad_neg(a.tape(), a.raw())); }
inline Var operator+(const Var &a) noexcept { return a; }

inline Var &Var::operator+=(const Var &b) noexcept { return *this = *this + b; }
inline Var &Var::operator-=(const Var &b) noexcept { return *this = *this - b; }
inline Var &Var::operator*=(const Var &b) noexcept { return *this = *this * b; }
inline Var &Var::operator/=(const Var &b) noexcept { return *this = *this / b; }
inline Var &Var::operator+=(double c) noexcept { return *this = *this + c; }
inline Var &Var::operator-=(double c) noexcept { return *this = *this - c; }
inline Var &Var::operator*=(double c) noexcept { return *this = *this * c; }
inline Var &Var::operator/=(double c) noexcept { return *this = *this / c; }

#define AUTODIFF_HPP_UNARY(name)                                                          \
    inline Var name(const Var &x) noexcept { return Var(x.tape(), ad_##name(x.tape(), x.raw())); }
AUTODIFF_HPP_UNARY(recip)
AUTODIFF_HPP_UNARY(sqrt)
AUTODIFF_HPP_UNARY(cbrt)
AUTODIFF_HPP_UNARY(exp)
AUTODIFF_HPP_UNARY(expm1)
AUTODIFF_HPP_UNARY(log)
AUTODIFF_HPP_UNARY(log1p)
AUTODIFF_HPP_UNARY(log2)
AUTODIFF_HPP_UNARY(log10)
AUTODIFF_HPP_UNARY(sin)
AUTODIFF_HPP_UNARY(cos)
AUTODIFF_HPP_UNARY(tan)
AUTODIFF_HPP_UNARY(asin)
AUTODIFF_HPP_UNARY(acos)
AUTODIFF_HPP_UNARY(atan)
AUTODIFF_HPP_UNARY(sinh)
AUTODIFF_HPP_UNARY(cosh)
AUTODIFF_HPP_UNARY(tanh)
AUTODIFF_HPP_UNARY(asinh)
AUTODIFF_HPP_UNARY(acosh)
AUTODIFF_HPP_UNARY(atanh)
AUTODIFF_HPP_UNARY(abs)
AUTODIFF_HPP_UNARY(sigmoid)
AUTODIFF_HPP_UNARY(softplus)
AUTODIFF_HPP_UNARY(erf)
#undef AUTODIFF_HPP_UNARY
inline Var fabs(const Var &x) noexcept { return abs(x); }

#define AUTODIFF_HPP_BINARY(name)                                                         \
    inline Var name(const Var &a, const Var &b) noexcept {                                \
        ad_tape *t = detail::pick(a, b);                                                  \
        return Var(t, ad_##name(t, a.raw(), b.raw()));                                    \
    }                                                                                     \
    inline Var name(const Var &a, double b) noexcept {                                    \
        return name(a, detail::konst(a.tape(), b));                                       \
    }                                                                                     \
    inline Var name(double a, const Var &b) noexcept {                                    \
        return name(detail::konst(b.tape(), a), b);                                       \
    }
AUTODIFF_HPP_BINARY(atan2)
AUTODIFF_HPP_BINARY(min)
AUTODIFF_HPP_BINARY(max)
AUTODIFF_HPP_BINARY(hypot)
#undef AUTODIFF_HPP_BINARY

// a^b, differentiable in both.
inline Var pow(const Var &a, const Var &b) noexcept {
    ad_tape *t = detail::pick(a, b);
    return Var(t, ad_pow(t, a.raw(), b.raw()));
}
// x^c for a constant c (ad_powf).
inline Var pow(const Var &x, double c) noexcept { return Var(x.tape(), ad_powf(x.tape(), x.raw(), c)); }
// x^n for an integer n (ad_powi).
inline Var pow(const Var &x, int n) noexcept { return Var(x.tape(), ad_powi(x.tape(), x.raw(), n)); }
inline Var pow(double c, const Var &x) noexcept { return pow(detail::konst(x.tape(), c), x); }
inline Var square(const Var &x) noexcept { return pow(x, 2); }

// ---- tensors ----

// A tensor on a tape (rank 0 to 4, float on an AD_F32 tape, double on AD_F64).
class Tensor {
public:
    Tensor() noexcept : tape_(nullptr), x_(detail::invalid_tensor()) {}
    Tensor(ad_tape *tape, ad_tensor x) noexcept : tape_(tape), x_(x) {}

    ad_tape *tape() const noexcept { return tape_; }
    ad_tensor raw() const noexcept { return x_; }
    bool is_valid() const noexcept { return tape_ != nullptr && ad_tensor_is_valid(x_); }

    size_t rank() const {
        size_t r = 0;
        detail::check(ad_tensor_rank(tape_, x_, &r), tape_, "ad_tensor_rank");
        return r;
    }
    std::vector<size_t> dims() const {
        size_t d[4] = {0, 0, 0, 0}, r = 0;
        detail::check(ad_tensor_dims(tape_, x_, d, 4, &r), tape_, "ad_tensor_dims");
        return std::vector<size_t>(d, d + r);
    }
    size_t size() const { return detail::count(dims()); }

    // Element types: float on an AD_F32 tape, double on an AD_F64 tape.
    template <class T> std::vector<T> value() const {
        std::vector<T> out(size());
        detail::check(detail::elem<T>::value(tape_, x_, out.data(), out.size()), tape_,
                      "ad_tensor_value");
        return out;
    }
    template <class T> std::vector<T> grad() const {
        std::vector<T> out(size());
        detail::check(detail::elem<T>::grad(tape_, x_, out.data(), out.size()), tape_,
                      "ad_tensor_grad");
        return out;
    }
    template <class T> std::vector<T> tangent() const {
        std::vector<T> out(size());
        detail::check(detail::elem<T>::tangent(tape_, x_, out.data(), out.size()), tape_,
                      "ad_tensor_tangent");
        return out;
    }
    template <class T> void set_value(const std::vector<T> &data) {
        detail::check(detail::elem<T>::set_value(tape_, x_, data.data(), data.size()), tape_,
                      "ad_tensor_set_value");
    }
    template <class T> void seed_tangent(const std::vector<T> &data) {
        detail::check(detail::elem<T>::seed_tangent(tape_, x_, data.data(), data.size()), tape_,
                      "ad_tensor_seed_tangent");
    }
    // A rank-0 tensor as a scalar variable (e.g. a loss, for Tape::backward).
    Var as_var() const noexcept { return Var(tape_, ad_tensor_as_var(tape_, x_)); }

    // Where the tensor lives: 0 for the host, else the number Tape::attach gave a device.
    int device() const {
        int id = -1;
        detail::check(ad_tensor_device(tape_, x_, &id), tape_, "ad_tensor_device");
        return id;
    }
    // A copy on device `id` / on the host, through which gradients flow back (sticky).
    Tensor to_device(int id) const noexcept {
        return Tensor(tape_, ad_tensor_to_device(tape_, x_, id));
    }
    Tensor to_host() const noexcept { return Tensor(tape_, ad_tensor_to_host(tape_, x_)); }

private:
    ad_tape *tape_;
    ad_tensor x_;
};

namespace detail {
inline ad_tape *pick(const Tensor &a, const Tensor &b) noexcept {
    return a.tape() ? a.tape() : b.tape();
}
} // namespace detail

#define AUTODIFF_HPP_TBINARY(op, fn)                                                      \
    inline Tensor operator op(const Tensor &a, const Tensor &b) noexcept {                \
        ad_tape *t = detail::pick(a, b);                                                  \
        return Tensor(t, fn(t, a.raw(), b.raw()));                                        \
    }
AUTODIFF_HPP_TBINARY(+, ad_tensor_add)
AUTODIFF_HPP_TBINARY(-, ad_tensor_sub)
AUTODIFF_HPP_TBINARY(*, ad_tensor_mul)
AUTODIFF_HPP_TBINARY(/, ad_tensor_div)
#undef AUTODIFF_HPP_TBINARY
inline Tensor operator*(const Tensor &x, double c) noexcept {
    return Tensor(x.tape(), ad_tensor_scale(x.tape(), x.raw(), c));
}
inline Tensor operator*(double c, const Tensor &x) noexcept { return x * c; }
inline Tensor operator/(const Tensor &x, double c) noexcept { return x * (1.0 / c); }
inline Tensor operator-(const Tensor &x) noexcept { return x * -1.0; }

inline Tensor matmul(const Tensor &a, const Tensor &b, bool transpose_a = false,
                     bool transpose_b = false) noexcept {
    ad_tape *t = detail::pick(a, b);
    return Tensor(t, ad_matmul(t, a.raw(), b.raw(), transpose_a ? 1 : 0, transpose_b ? 1 : 0));
}
// act(x · w + b), x [batch, in], w [in, out], b [out].
inline Tensor linear(const Tensor &x, const Tensor &w, const Tensor &b,
                     ad_activation act = AD_ACT_IDENTITY) noexcept {
    ad_tape *t = detail::pick(x, w);
    return Tensor(t, ad_linear(t, x.raw(), w.raw(), b.raw(), act));
}
inline Tensor activation(const Tensor &x, ad_activation act) noexcept {
    return Tensor(x.tape(), ad_tensor_activation(x.tape(), x.raw(), act));
}
inline Tensor relu(const Tensor &x) noexcept { return activation(x, AD_ACT_RELU); }
inline Tensor sigmoid(const Tensor &x) noexcept { return activation(x, AD_ACT_SIGMOID); }
inline Tensor tanh(const Tensor &x) noexcept { return activation(x, AD_ACT_TANH); }
inline Tensor gelu(const Tensor &x) noexcept { return activation(x, AD_ACT_GELU); }
inline Tensor exp(const Tensor &x) noexcept { return activation(x, AD_ACT_EXP); }
inline Tensor log(const Tensor &x) noexcept { return activation(x, AD_ACT_LOG); }
inline Tensor sqrt(const Tensor &x) noexcept { return activation(x, AD_ACT_SQRT); }
inline Tensor square(const Tensor &x) noexcept { return activation(x, AD_ACT_SQUARE); }
inline Tensor leaky_relu(const Tensor &x, double slope = 0.01) noexcept {
    return Tensor(x.tape(), ad_leaky_relu(x.tape(), x.raw(), slope));
}
inline Tensor sum(const Tensor &x) noexcept { return Tensor(x.tape(), ad_tensor_sum(x.tape(), x.raw())); }
inline Tensor mean(const Tensor &x) noexcept {
    return Tensor(x.tape(), ad_tensor_mean(x.tape(), x.raw()));
}
inline Tensor sum(const Tensor &x, size_t axis) noexcept {
    return Tensor(x.tape(), ad_tensor_sum_axis(x.tape(), x.raw(), axis));
}
inline Tensor mean(const Tensor &x, size_t axis) noexcept {
    return Tensor(x.tape(), ad_tensor_mean_axis(x.tape(), x.raw(), axis));
}
inline Tensor reshape(const Tensor &x, const std::vector<size_t> &dims) noexcept {
    return Tensor(x.tape(), ad_reshape(x.tape(), x.raw(), dims.data(), dims.size()));
}
inline Tensor transpose(const Tensor &x) noexcept {
    return Tensor(x.tape(), ad_transpose(x.tape(), x.raw()));
}
inline Tensor softmax(const Tensor &x) noexcept { return Tensor(x.tape(), ad_softmax(x.tape(), x.raw())); }
inline Tensor log_softmax(const Tensor &x) noexcept {
    return Tensor(x.tape(), ad_log_softmax(x.tape(), x.raw()));
}
// Mean cross-entropy of softmax(logits) [n, classes] against labels[0..n).
inline Tensor cross_entropy(const Tensor &logits, const std::vector<uint32_t> &labels) noexcept {
    return Tensor(logits.tape(),
                  ad_cross_entropy(logits.tape(), logits.raw(), labels.data(), labels.size()));
}
inline Tensor mse(const Tensor &prediction, const Tensor &target) noexcept {
    ad_tape *t = detail::pick(prediction, target);
    return Tensor(t, ad_mse(t, prediction.raw(), target.raw()));
}

// A parameter: persists across Tape::reset(), updated by Tape::step().
class Param {
public:
    Param() noexcept : tape_(nullptr), p_{0, 0, 0}, dims_() {}
    Param(ad_tape *tape, ad_param p, std::vector<size_t> dims)
        : tape_(tape), p_(p), dims_(std::move(dims)) {}

    ad_param raw() const noexcept { return p_; }
    const std::vector<size_t> &dims() const noexcept { return dims_; }
    size_t size() const noexcept { return detail::count(dims_); }
    // A use of the parameter in the current recording (once per recording).
    Tensor use() const noexcept { return Tensor(tape_, ad_param_use(tape_, p_)); }

    template <class T> std::vector<T> value() const {
        std::vector<T> out(size());
        detail::check(detail::elem<T>::param_read(tape_, p_, out.data(), out.size()), tape_,
                      "ad_param_read");
        return out;
    }
    template <class T> std::vector<T> grad() const {
        std::vector<T> out(size());
        detail::check(detail::elem<T>::param_grad(tape_, p_, out.data(), out.size()), tape_,
                      "ad_param_grad");
        return out;
    }
    template <class T> void write(const std::vector<T> &data) {
        detail::check(detail::elem<T>::param_write(tape_, p_, data.data(), data.size()), tape_,
                      "ad_param_write");
    }

private:
    ad_tape *tape_;
    ad_param p_;
    std::vector<size_t> dims_;
};

// ---- tapes ----

struct HvpResult {
    std::vector<double> grad;
    std::vector<double> hv;
};

// An ad_tape, ended (ad_tape_done) or freed (ad_tape_free) by the destructor. Move-only;
// moving keeps the C tape where it is, so Vars and Tensors stay valid across a move.
// A compute device tensors can live on (ad_device): a GPU, or the reference CPU device
// over caller memory. Declare it before the tapes that attach it: it cannot be closed
// while a live tape holds it (the destructor then leaves it open rather than fail).
class Device {
public:
    // GPU `ordinal` with a device arena of `arena_bytes`; throws Error (AD_ERR_NO_DEVICE
    // without a GPU or the `cuda` build).
    static Device cuda(size_t ordinal, size_t arena_bytes) {
        Device d;
        detail::check(ad_device_open_cuda(ordinal, arena_bytes, &d.d_), nullptr,
                      "ad_device_open_cuda");
        return d;
    }
    // The reference CPU device over `len` bytes at `mem` (aligned for `dtype`).
    static Device cpu(void *mem, size_t len, ad_dtype dtype) {
        Device d;
        detail::check(ad_device_open_cpu(mem, len, dtype, &d.d_), nullptr, "ad_device_open_cpu");
        return d;
    }
    Device(const Device &) = delete;
    Device &operator=(const Device &) = delete;
    Device(Device &&o) noexcept : d_(o.d_) { o.d_ = nullptr; }
    ~Device() {
        if (d_) (void)ad_device_close(d_);
    }
    ad_device *get() const noexcept { return d_; }

private:
    Device() noexcept : d_(nullptr) {}
    ad_device *d_;
};

class Tape {
public:
    // A tape in caller memory (ad_tape_init); throws Error when the C call fails.
    Tape(void *mem, size_t len, ad_dtype dtype = AD_F64) : Tape(mem, len, dtype, std::nothrow) {
        detail::check(init_, nullptr, "ad_tape_init");
    }
    // The same without throwing: check status() (the init failure) or valid().
    Tape(void *mem, size_t len, ad_dtype dtype, const std::nothrow_t &) noexcept
        : t_(nullptr), heap_(false), init_(AD_OK) {
        init_ = ad_tape_init(mem, len, dtype, &t_);
        if (init_ != AD_OK) t_ = nullptr;
    }
    // A tape owning `bytes` of heap (ad_tape_new); throws Error when the C call fails.
    static Tape heap(size_t bytes, ad_dtype dtype = AD_F64) {
        Tape t = heap(bytes, dtype, std::nothrow);
        detail::check(t.init_, nullptr, "ad_tape_new");
        return t;
    }
    static Tape heap(size_t bytes, ad_dtype dtype, const std::nothrow_t &) noexcept {
        Tape t;
        t.heap_ = true;
        t.init_ = ad_tape_new(bytes, dtype, &t.t_);
        if (t.init_ != AD_OK) t.t_ = nullptr;
        return t;
    }
    // Bytes of memory that hold `records` variables (ad_tape_bytes_for).
    static size_t bytes_for(size_t records, ad_dtype dtype = AD_F64) {
        size_t out = 0;
        detail::check(ad_tape_bytes_for(records, dtype, &out), nullptr, "ad_tape_bytes_for");
        return out;
    }

    Tape(const Tape &) = delete;
    Tape &operator=(const Tape &) = delete;
    Tape(Tape &&o) noexcept : t_(o.t_), heap_(o.heap_), init_(o.init_) { o.t_ = nullptr; }
    Tape &operator=(Tape &&o) noexcept {
        if (this != &o) {
            release();
            t_ = o.t_;
            heap_ = o.heap_;
            init_ = o.init_;
            o.t_ = nullptr;
        }
        return *this;
    }
    ~Tape() { release(); }

    ad_tape *get() const noexcept { return t_; }
    bool valid() const noexcept { return t_ != nullptr; }
    explicit operator bool() const noexcept { return valid(); }

    // The sticky error (AD_OK while every op succeeded); a failed construction's status
    // when there is no tape.
    ad_status status() const noexcept {
        if (!t_ && init_ != AD_OK) return init_;
        return ad_tape_status(t_);
    }
    // The tape's message (ad_tape_error), copied.
    std::string error() const {
        if (!t_ && init_ != AD_OK) return ad_status_str(init_);
        return ad_tape_error(t_);
    }
    // Clears every variable and the error, keeping the memory and the parameters.
    void reset() { detail::check(try_reset(), t_, "ad_tape_reset"); }
    ad_status try_reset() noexcept { return ad_tape_reset(t_); }

    size_t len() const {
        size_t n = 0;
        detail::check(ad_tape_len(t_, &n), t_, "ad_tape_len");
        return n;
    }
    size_t num_inputs() const {
        size_t n = 0;
        detail::check(ad_tape_num_inputs(t_, &n), t_, "ad_tape_num_inputs");
        return n;
    }
    size_t bytes_used() const {
        size_t n = 0;
        detail::check(ad_tape_bytes_used(t_, &n), t_, "ad_tape_bytes_used");
        return n;
    }

    // Recording (sticky, never throws).
    Var input(double value) noexcept { return Var(t_, ad_input(t_, value)); }
    Var constant(double value) noexcept { return Var(t_, ad_const(t_, value)); }
    template <class T>
    Tensor input(const std::vector<size_t> &dims, const std::vector<T> &data) noexcept {
        return Tensor(t_, detail::elem<T>::input(t_, dims.data(), dims.size(), data.data(),
                                                 data.size()));
    }
    template <class T>
    Tensor constant(const std::vector<size_t> &dims, const std::vector<T> &data) noexcept {
        return Tensor(t_, detail::elem<T>::constant(t_, dims.data(), dims.size(), data.data(),
                                                    data.size()));
    }

    // Derivatives: each throws Error on failure; try_* return the status instead.
    ad_status try_backward(const Var &output) noexcept { return ad_backward(t_, output.raw()); }
    void backward(const Var &output) { detail::check(try_backward(output), t_, "ad_backward"); }
    void backward(const Tensor &loss) { backward(loss.as_var()); }

    ad_status try_gradient(const Var &output, std::vector<double> &out) noexcept {
        size_t n = 0;
        ad_status s = ad_tape_num_inputs(t_, &n);
        if (s != AD_OK) return s;
        if (out.size() != n) {
            try {
                out.resize(n);
            } catch (...) {
                return AD_ERR_OUT_OF_MEMORY;
            }
        }
        return ad_gradient(t_, output.raw(), out.data(), n);
    }
    // d output / d input_k for every input, in recording order.
    std::vector<double> gradient(const Var &output) {
        std::vector<double> out;
        detail::check(try_gradient(output, out), t_, "ad_gradient");
        return out;
    }

    // Forward mode: seeds[k] is the tangent of input k; read Var::tangent() after.
    ad_status try_jvp(const std::vector<double> &seeds) noexcept {
        return ad_jvp(t_, seeds.data(), seeds.size());
    }
    void jvp(const std::vector<double> &seeds) { detail::check(try_jvp(seeds), t_, "ad_jvp"); }

    // Re-evaluates the recording at new inputs; read Var::value() after.
    ad_status try_replay(const std::vector<double> &inputs) noexcept {
        return ad_replay(t_, inputs.data(), inputs.size());
    }
    void replay(const std::vector<double> &inputs) {
        detail::check(try_replay(inputs), t_, "ad_replay");
    }

    // The m × n Jacobian of outputs, row-major; reverse (by rows) or forward (by columns).
    std::vector<double> jacobian(const std::vector<Var> &outputs, bool forward = false) {
        std::vector<ad_var> raw;
        raw.reserve(outputs.size());
        for (const Var &v : outputs) raw.push_back(v.raw());
        std::vector<double> out(outputs.size() * num_inputs());
        ad_status s = forward ? ad_jacobian_fwd(t_, raw.data(), raw.size(), out.data(), out.size())
                              : ad_jacobian(t_, raw.data(), raw.size(), out.data(), out.size());
        detail::check(s, t_, forward ? "ad_jacobian_fwd" : "ad_jacobian");
        return out;
    }

    // Gradient and Hessian-vector product at x along v (AD_F64_DUAL tapes).
    HvpResult hvp(const Var &output, const std::vector<double> &x, const std::vector<double> &v) {
        HvpResult r{std::vector<double>(x.size()), std::vector<double>(x.size())};
        if (v.size() != x.size())
            throw Error(AD_ERR_INVALID_ARGUMENT, "ad_hvp", "x and v differ in length");
        detail::check(ad_hvp(t_, output.raw(), x.data(), v.data(), r.grad.data(), r.hv.data(),
                             x.size()),
                      t_, "ad_hvp");
        return r;
    }

    // The recorded graph in Graphviz DOT.
    std::string dot() const {
        size_t len = 0;
        ad_status s = ad_tape_dot(t_, nullptr, 0, &len);
        if (s != AD_OK && s != AD_ERR_BUFFER_TOO_SMALL) detail::check(s, t_, "ad_tape_dot");
        std::vector<char> buf(len + 1);
        detail::check(ad_tape_dot(t_, buf.data(), buf.size(), &len), t_, "ad_tape_dot");
        return std::string(buf.data(), len);
    }

    // Parameters and optimizers (create parameters right after construction or reset).
    template <class T> Param param(const std::vector<size_t> &dims, const std::vector<T> &init) {
        ad_param p{0, 0, 0};
        detail::check(detail::elem<T>::param_new(t_, dims.data(), dims.size(), init.data(),
                                                 init.size(), &p),
                      t_, "ad_param_new");
        return Param(t_, p, dims);
    }
    size_t param_count() const {
        size_t n = 0;
        detail::check(ad_param_count(t_, &n), t_, "ad_param_count");
        return n;
    }
    void sgd(double lr, double momentum = 0.0, double weight_decay = 0.0) {
        detail::check(ad_optim_sgd(t_, lr, momentum, weight_decay), t_, "ad_optim_sgd");
    }
    void adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
              double weight_decay = 0.0, bool decoupled = false) {
        detail::check(ad_optim_adam(t_, lr, beta1, beta2, eps, weight_decay, decoupled ? 1 : 0),
                      t_, "ad_optim_adam");
    }
    void step() { detail::check(ad_optim_step(t_), t_, "ad_optim_step"); }

    // Devices: attach one (right after construction or a reset) and get its number on
    // this tape; make it where new inputs, constants and parameters go (0: the host).
    int attach(const Device &device) {
        int id = -1;
        detail::check(ad_tape_attach_device(t_, device.get(), &id), t_, "ad_tape_attach_device");
        return id;
    }
    void use_device(int id) { detail::check(ad_tape_set_device(t_, id), t_, "ad_tape_set_device"); }

private:
    Tape() noexcept : t_(nullptr), heap_(false), init_(AD_OK) {}
    void release() noexcept {
        if (!t_) return;
        if (heap_)
            ad_tape_free(t_);
        else
            (void)ad_tape_done(t_);
        t_ = nullptr;
    }

    ad_tape *t_;
    bool heap_;
    ad_status init_;
};

// ---- dual numbers (no tape) ----

class Dual {
public:
    Dual(double value = 0.0, double tangent = 0.0) noexcept : d_(ad_dual_make(value, tangent)) {}
    Dual(ad_dual d) noexcept : d_(d) {}
    double value() const noexcept { return d_.value; }
    double tangent() const noexcept { return d_.tangent; }
    ad_dual raw() const noexcept { return d_; }

private:
    ad_dual d_;
};

inline Dual operator+(const Dual &a, const Dual &b) noexcept { return ad_dual_add(a.raw(), b.raw()); }
inline Dual operator-(const Dual &a, const Dual &b) noexcept { return ad_dual_sub(a.raw(), b.raw()); }
inline Dual operator*(const Dual &a, const Dual &b) noexcept { return ad_dual_mul(a.raw(), b.raw()); }
inline Dual operator/(const Dual &a, const Dual &b) noexcept { return ad_dual_div(a.raw(), b.raw()); }
inline Dual operator*(const Dual &a, double c) noexcept { return ad_dual_scale(a.raw(), c); }
inline Dual operator*(double c, const Dual &a) noexcept { return ad_dual_scale(a.raw(), c); }
inline Dual operator-(const Dual &a) noexcept { return ad_dual_neg(a.raw()); }
inline Dual pow(const Dual &a, const Dual &b) noexcept { return ad_dual_pow(a.raw(), b.raw()); }
inline Dual pow(const Dual &a, double c) noexcept { return ad_dual_powf(a.raw(), c); }
inline Dual pow(const Dual &a, int n) noexcept { return ad_dual_powi(a.raw(), n); }
inline Dual atan2(const Dual &a, const Dual &b) noexcept { return ad_dual_atan2(a.raw(), b.raw()); }
inline Dual min(const Dual &a, const Dual &b) noexcept { return ad_dual_min(a.raw(), b.raw()); }
inline Dual max(const Dual &a, const Dual &b) noexcept { return ad_dual_max(a.raw(), b.raw()); }
inline Dual hypot(const Dual &a, const Dual &b) noexcept { return ad_dual_hypot(a.raw(), b.raw()); }

#define AUTODIFF_HPP_DUNARY(name)                                                         \
    inline Dual name(const Dual &x) noexcept { return ad_dual_##name(x.raw()); }
AUTODIFF_HPP_DUNARY(recip)
AUTODIFF_HPP_DUNARY(sqrt)
AUTODIFF_HPP_DUNARY(cbrt)
AUTODIFF_HPP_DUNARY(exp)
AUTODIFF_HPP_DUNARY(expm1)
AUTODIFF_HPP_DUNARY(log)
AUTODIFF_HPP_DUNARY(log1p)
AUTODIFF_HPP_DUNARY(log2)
AUTODIFF_HPP_DUNARY(log10)
AUTODIFF_HPP_DUNARY(sin)
AUTODIFF_HPP_DUNARY(cos)
AUTODIFF_HPP_DUNARY(tan)
AUTODIFF_HPP_DUNARY(asin)
AUTODIFF_HPP_DUNARY(acos)
AUTODIFF_HPP_DUNARY(atan)
AUTODIFF_HPP_DUNARY(sinh)
AUTODIFF_HPP_DUNARY(cosh)
AUTODIFF_HPP_DUNARY(tanh)
AUTODIFF_HPP_DUNARY(asinh)
AUTODIFF_HPP_DUNARY(acosh)
AUTODIFF_HPP_DUNARY(atanh)
AUTODIFF_HPP_DUNARY(abs)
AUTODIFF_HPP_DUNARY(sigmoid)
AUTODIFF_HPP_DUNARY(softplus)
AUTODIFF_HPP_DUNARY(erf)
#undef AUTODIFF_HPP_DUNARY

} // namespace autodiff

#include "autodiff/sparse.hpp"

#endif // AUTODIFF_HPP
