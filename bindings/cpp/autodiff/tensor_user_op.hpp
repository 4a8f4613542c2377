// autodiff/tensor_user_op.hpp: tensor-valued user-defined ops from lambdas. Part of the
// C++ wrapper; include "autodiff.hpp" for all of it.
//
//     auto softmax = autodiff::tensor_user_op<double>(
//         [](autodiff::UserTensors<double> x, autodiff::UserTensors<double> y,
//            double *state) { ... },                                    // forward: write y[j].data
//         [](autodiff::UserTensors<double> x, autodiff::UserTensors<double> y,
//            const double *state, autodiff::UserTensors<double> dy,
//            autodiff::UserTensors<double> dx) { ... },                 // vjp: write dx[k].data
//         [](... same, input tangents, output tangents) { ... },        // jvp (optional)
//         0);                                                           // state elements
//     std::vector<Tensor> p = softmax({logits}, {{rows, cols}});       // output shapes
//
// UserTensors<T> is a view of the callback's ad_user_tensor_f32/_f64 array: size(), and
// operator[] giving the descriptor (data, len, rank, dims). The TensorUserOp object is
// the C op's user data: it must outlive every sweep or replay of the tapes it recorded
// on (as ad_tensor_user_op_f64's user_data must), so it can be neither copied nor moved.
// A callback succeeds by returning nothing (or 0); a non-zero int, or an exception,
// fails it (the tape keeps AD_ERR_CALLBACK_FAILED; an exception never crosses the C
// library). T is float on AD_F32 tapes and double on AD_F64 ones.
#pragma once
#ifndef AUTODIFF_TENSOR_USER_OP_HPP
#define AUTODIFF_TENSOR_USER_OP_HPP

#include <type_traits>
#include <vector>

#include "autodiff.h"
#include "elem.hpp"
#include "error.hpp"
#include "tensor.hpp"
#include "user_op.hpp"

namespace autodiff {

// The tensors a callback is given: n descriptors of element type T.
template <class T> class UserTensors {
public:
    using descriptor = typename detail::elem<T>::user_tensor;
    UserTensors(const descriptor *first, size_t n) noexcept : first_(first), n_(n) {}
    size_t size() const noexcept { return n_; }
    const descriptor &operator[](size_t k) const noexcept { return first_[k]; }

private:
    const descriptor *first_;
    size_t n_;
};

// A tensor user op whose forward, vjp and (unless Jvp is std::nullptr_t) jvp are the
// given callables.
template <class T, class Forward, class Vjp, class Jvp = std::nullptr_t> class TensorUserOp {
    using descriptor = typename detail::elem<T>::user_tensor;

public:
    TensorUserOp(Forward forward, Vjp vjp, Jvp jvp, size_t state_len)
        : forward_(std::move(forward)), vjp_(std::move(vjp)), jvp_(std::move(jvp)),
          state_len_(state_len) {}
    TensorUserOp(const TensorUserOp &) = delete;
    TensorUserOp &operator=(const TensorUserOp &) = delete;

    // Records the op on the tape of `inputs` (the first one's), with one output per shape
    // written into `outputs`; returns the status (the tape keeps a failure, as for any op).
    ad_status try_record(const std::vector<Tensor> &inputs,
                         const std::vector<std::vector<size_t>> &output_shapes,
                         std::vector<Tensor> &outputs) const noexcept {
        try {
            ad_tape *t = inputs.empty() ? nullptr : inputs[0].tape();
            std::vector<ad_tensor> in(inputs.size()), out(output_shapes.size());
            std::vector<size_t> dims, ranks;
            for (size_t k = 0; k < inputs.size(); k++) in[k] = inputs[k].raw();
            for (const auto &shape : output_shapes) {
                ranks.push_back(shape.size());
                dims.insert(dims.end(), shape.begin(), shape.end());
            }
            typename detail::elem<T>::user_op_def def;
            def.forward = &TensorUserOp::forward;
            def.vjp = &TensorUserOp::vjp;
            def.jvp = std::is_same_v<Jvp, std::nullptr_t> ? nullptr : &TensorUserOp::jvp;
            def.user_data = const_cast<TensorUserOp *>(this);
            def.state_len = state_len_;
            ad_status s = detail::elem<T>::user_op(t, &def, in.data(), in.size(), dims.data(),
                                                   ranks.data(), out.data(), out.size());
            outputs.resize(out.size());
            for (size_t j = 0; j < out.size(); j++) outputs[j] = Tensor(t, out[j]);
            return s;
        } catch (...) {
            return AD_ERR_OUT_OF_MEMORY; // the vectors above could not be allocated
        }
    }

    // The same, throwing Error on failure; returns the outputs.
    std::vector<Tensor> operator()(const std::vector<Tensor> &inputs,
                                   const std::vector<std::vector<size_t>> &output_shapes) const {
        std::vector<Tensor> outputs;
        ad_tape *t = inputs.empty() ? nullptr : inputs[0].tape();
        detail::check(try_record(inputs, output_shapes, outputs), t, "ad_tensor_user_op");
        return outputs;
    }

private:
    static int forward(void *self, const descriptor *x, size_t n_in, const descriptor *y,
                       size_t n_out, T *state, size_t) {
        return detail::run_callback(static_cast<TensorUserOp *>(self)->forward_,
                                    UserTensors<T>(x, n_in), UserTensors<T>(y, n_out), state);
    }
    static int vjp(void *self, const descriptor *x, size_t n_in, const descriptor *y,
                   size_t n_out, const T *state, size_t, const descriptor *dy,
                   const descriptor *dx) {
        return detail::run_callback(static_cast<TensorUserOp *>(self)->vjp_,
                                    UserTensors<T>(x, n_in), UserTensors<T>(y, n_out), state,
                                    UserTensors<T>(dy, n_out), UserTensors<T>(dx, n_in));
    }
    static int jvp(void *self, const descriptor *x, size_t n_in, const descriptor *y,
                   size_t n_out, const T *state, size_t, const descriptor *dx,
                   const descriptor *dy) {
        if constexpr (std::is_same_v<Jvp, std::nullptr_t>) {
            return -1; // never installed
        } else {
            return detail::run_callback(static_cast<TensorUserOp *>(self)->jvp_,
                                        UserTensors<T>(x, n_in), UserTensors<T>(y, n_out),
                                        state, UserTensors<T>(dx, n_in),
                                        UserTensors<T>(dy, n_out));
        }
    }

    Forward forward_;
    Vjp vjp_;
    Jvp jvp_;
    size_t state_len_;
};

// A tensor user op of element type T from a forward and a vjp (forward mode over it fails
// with AD_ERR_NO_JVP).
template <class T, class Forward, class Vjp>
TensorUserOp<T, Forward, Vjp> tensor_user_op(Forward forward, Vjp vjp, size_t state_len = 0) {
    return TensorUserOp<T, Forward, Vjp>(std::move(forward), std::move(vjp), nullptr,
                                         state_len);
}

// A tensor user op of element type T from a forward, a vjp and a jvp.
template <class T, class Forward, class Vjp, class Jvp>
TensorUserOp<T, Forward, Vjp, Jvp> tensor_user_op(Forward forward, Vjp vjp, Jvp jvp,
                                                  size_t state_len = 0) {
    return TensorUserOp<T, Forward, Vjp, Jvp>(std::move(forward), std::move(vjp),
                                              std::move(jvp), state_len);
}

} // namespace autodiff

#endif // AUTODIFF_TENSOR_USER_OP_HPP
