// autodiff/tensor.hpp: tensors on a tape, their ops, and parameters.
// Part of the C++ wrapper; include "autodiff.hpp" for all of it (bindings/cpp/README.md).
#pragma once
#ifndef AUTODIFF_TENSOR_HPP
#define AUTODIFF_TENSOR_HPP

#include <utility>
#include <vector>
#include "elem.hpp"
#include "error.hpp"
#include "var.hpp"

namespace autodiff {

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

} // namespace autodiff

#endif // AUTODIFF_TENSOR_HPP
