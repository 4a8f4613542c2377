// autodiff/user_op.hpp: user-defined ops from lambdas. Part of the C++ wrapper; include
// "autodiff.hpp" for all of it.
//
//     auto polar = autodiff::user_op(
//         [](const double *x, double *y, double *state) { ... },            // forward
//         [](const double *x, const double *y, const double *state,
//            const double *dy, double *dx) { ... },                          // vjp
//         [](const double *x, const double *y, const double *state,
//            const double *dx, double *dy) { ... },                          // jvp (optional)
//         2);                                                                // state doubles
//     std::vector<Var> xy = polar({r, theta}, 2);
//
// The UserOp object is the C op's user data: it must outlive every sweep or replay of
// the tapes it recorded on (as ad_user_op's user_data must), so it can be neither copied
// nor moved. A callback succeeds by returning nothing (or 0); a non-zero int, or an
// exception, fails it (the tape keeps AD_ERR_CALLBACK_FAILED; an exception never crosses
// the C library). AD_F64 tapes only, as ad_user_op().
#pragma once
#ifndef AUTODIFF_USER_OP_HPP
#define AUTODIFF_USER_OP_HPP

#include <type_traits>

#include "autodiff.h"
#include "error.hpp"
#include "tensor.hpp"
#include "var.hpp"

namespace autodiff {

namespace detail {
// The code a callback's result stands for: void and 0 succeed.
template <class F, class... Args> int run_callback(const F &f, Args... args) noexcept {
    try {
        if constexpr (std::is_void_v<std::invoke_result_t<const F &, Args...>>) {
            f(args...);
            return 0;
        } else {
            return static_cast<int>(f(args...));
        }
    } catch (...) {
        return -1;
    }
}
} // namespace detail

// A user-defined op whose forward, vjp and (unless Jvp is std::nullptr_t) jvp are the
// given callables.
template <class Forward, class Vjp, class Jvp = std::nullptr_t> class UserOp {
public:
    UserOp(Forward forward, Vjp vjp, Jvp jvp, size_t state_len)
        : forward_(std::move(forward)), vjp_(std::move(vjp)), jvp_(std::move(jvp)),
          state_len_(state_len) {}
    UserOp(const UserOp &) = delete;
    UserOp &operator=(const UserOp &) = delete;

    // Records the op on the tape of `inputs` (the first active one's; passive inputs are
    // constants there), writing n_out outputs;
    // returns the status (the tape keeps a failure, as for any op).
    ad_status try_record(const std::vector<Var> &inputs, std::vector<Var> &outputs) const noexcept {
        ad_tape *t = tape_of(inputs);
        std::vector<ad_var> in(inputs.size()), out(outputs.size());
        for (size_t k = 0; k < inputs.size(); k++) in[k] = detail::handle_on(t, inputs[k]);
        ad_user_op_def def;
        def.forward = &UserOp::forward;
        def.vjp = &UserOp::vjp;
        def.jvp = std::is_same_v<Jvp, std::nullptr_t> ? nullptr : &UserOp::jvp;
        def.user_data = const_cast<UserOp *>(this);
        def.state_len = state_len_;
        ad_status s = ad_user_op(t, &def, in.data(), in.size(), out.data(), out.size());
        for (size_t j = 0; j < out.size(); j++) outputs[j] = Var(t, out[j]);
        return s;
    }

    // The same, throwing Error on failure; returns the n_out outputs.
    std::vector<Var> operator()(const std::vector<Var> &inputs, size_t n_out) const {
        std::vector<Var> outputs(n_out);
        ad_tape *t = tape_of(inputs);
        detail::check(try_record(inputs, outputs), t, "ad_user_op");
        return outputs;
    }

private:
    static ad_tape *tape_of(const std::vector<Var> &inputs) noexcept {
        for (const Var &x : inputs)
            if (!x.is_passive()) return x.tape();
        return nullptr;
    }
    static int forward(void *self, const double *x, size_t, double *y, size_t, double *state,
                       size_t) {
        return detail::run_callback(static_cast<UserOp *>(self)->forward_, x, y, state);
    }
    static int vjp(void *self, const double *x, size_t, const double *y, size_t,
                   const double *state, size_t, const double *dy, double *dx) {
        return detail::run_callback(static_cast<UserOp *>(self)->vjp_, x, y, state, dy, dx);
    }
    static int jvp(void *self, const double *x, size_t, const double *y, size_t,
                   const double *state, size_t, const double *dx, double *dy) {
        if constexpr (std::is_same_v<Jvp, std::nullptr_t>) {
            return -1; // never installed
        } else {
            return detail::run_callback(static_cast<UserOp *>(self)->jvp_, x, y, state, dx, dy);
        }
    }

    Forward forward_;
    Vjp vjp_;
    Jvp jvp_;
    size_t state_len_;
};

// A user op from a forward and a vjp (forward mode over it fails with AD_ERR_NO_JVP).
template <class Forward, class Vjp>
UserOp<Forward, Vjp> user_op(Forward forward, Vjp vjp, size_t state_len = 0) {
    return UserOp<Forward, Vjp>(std::move(forward), std::move(vjp), nullptr, state_len);
}

// A user op from a forward, a vjp and a jvp.
template <class Forward, class Vjp, class Jvp>
UserOp<Forward, Vjp, Jvp> user_op(Forward forward, Vjp vjp, Jvp jvp, size_t state_len = 0) {
    return UserOp<Forward, Vjp, Jvp>(std::move(forward), std::move(vjp), std::move(jvp),
                                     state_len);
}

} // namespace autodiff

#endif // AUTODIFF_USER_OP_HPP
