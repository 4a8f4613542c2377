// autodiff/bulk.hpp: values, adjoints and tangents of an array of variables in one call.
// Part of the C++ wrapper; include "autodiff.hpp" for all of it (bindings/cpp/README.md).
//
// The C API reads one handle per call (ad_value, ad_grad, ad_tangent), so these loop
// over it: one call here, n calls into the library. Each variable is read on its own
// tape; a passive one gives its value, and zero for its adjoint and tangent. The
// writes go through the tape: Tape::replay writes the inputs' values and Tape::jvp their
// tangents, each for every input at once.
#pragma once
#ifndef AUTODIFF_BULK_HPP
#define AUTODIFF_BULK_HPP

#include <vector>

#include "error.hpp"
#include "var.hpp"

namespace autodiff {

namespace detail {
// Reads xs[0..n) into out[0..n) with `read`; stops at the first failure and returns it
// (with `failed` the index of the variable that failed).
template <class Read>
inline ad_status read_all(const Var *xs, size_t n, double *out, size_t &failed,
                          Read read) noexcept {
    if (n != 0 && (xs == nullptr || out == nullptr)) return failed = 0, AD_ERR_NULL;
    for (size_t k = 0; k < n; k++) {
        ad_status s = read(xs[k], out[k]);
        if (s != AD_OK) return failed = k, s;
    }
    return AD_OK;
}
template <class Read>
inline void read_all_or_throw(const Var *xs, size_t n, double *out, const char *where,
                              Read read) {
    size_t failed = 0;
    ad_status s = read_all(xs, n, out, failed, read);
    if (s != AD_OK) check(s, n != 0 && xs ? xs[failed].tape() : nullptr, where);
}
} // namespace detail

// The values the tapes hold now (the replayed ones after a replay).
inline ad_status try_values(const Var *xs, size_t n, double *out) noexcept {
    size_t failed = 0;
    return detail::read_all(xs, n, out, failed,
                            [](const Var &x, double &o) { return x.try_value(o); });
}
inline void values(const Var *xs, size_t n, double *out) {
    detail::read_all_or_throw(xs, n, out, "ad_value",
                              [](const Var &x, double &o) { return x.try_value(o); });
}
// The adjoints after Tape::backward.
inline ad_status try_grads(const Var *xs, size_t n, double *out) noexcept {
    size_t failed = 0;
    return detail::read_all(xs, n, out, failed,
                            [](const Var &x, double &o) { return x.try_grad(o); });
}
inline void grads(const Var *xs, size_t n, double *out) {
    detail::read_all_or_throw(xs, n, out, "ad_grad",
                              [](const Var &x, double &o) { return x.try_grad(o); });
}
// The tangents after Tape::jvp.
inline ad_status try_tangents(const Var *xs, size_t n, double *out) noexcept {
    size_t failed = 0;
    return detail::read_all(xs, n, out, failed,
                            [](const Var &x, double &o) { return x.try_tangent(o); });
}
inline void tangents(const Var *xs, size_t n, double *out) {
    detail::read_all_or_throw(xs, n, out, "ad_tangent",
                              [](const Var &x, double &o) { return x.try_tangent(o); });
}
// The values at creation (Var::primal()): no call into the library, nothing can fail.
inline void primals(const Var *xs, size_t n, double *out) noexcept {
    for (size_t k = 0; k < n; k++) out[k] = xs[k].primal();
}

// The same over std::vector (out resized to match) and, under C++20, std::span (whose
// lengths must agree: AD_ERR_INVALID_ARGUMENT otherwise).
#define AUTODIFF_HPP_BULK_VECTOR(name)                                                    \
    inline std::vector<double> name(const std::vector<Var> &xs) {                          \
        std::vector<double> out(xs.size());                                                \
        name(xs.data(), xs.size(), out.data());                                            \
        return out;                                                                        \
    }
AUTODIFF_HPP_BULK_VECTOR(values)
AUTODIFF_HPP_BULK_VECTOR(grads)
AUTODIFF_HPP_BULK_VECTOR(tangents)
AUTODIFF_HPP_BULK_VECTOR(primals)
#undef AUTODIFF_HPP_BULK_VECTOR

#ifdef AUTODIFF_HPP_SPAN
#define AUTODIFF_HPP_BULK_SPAN(name)                                                      \
    inline void name(std::span<const Var> xs, std::span<double> out) {                     \
        if (xs.size() != out.size())                                                       \
            throw Error(AD_ERR_INVALID_ARGUMENT, "autodiff::" #name,                      \
                        "xs and out differ in length");                                    \
        name(xs.data(), xs.size(), out.data());                                            \
    }
AUTODIFF_HPP_BULK_SPAN(values)
AUTODIFF_HPP_BULK_SPAN(grads)
AUTODIFF_HPP_BULK_SPAN(tangents)
AUTODIFF_HPP_BULK_SPAN(primals)
#undef AUTODIFF_HPP_BULK_SPAN
#endif

} // namespace autodiff

#endif // AUTODIFF_BULK_HPP
