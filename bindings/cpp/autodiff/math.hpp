// autodiff/math.hpp: the math functions of Var (sqrt, exp, pow, max, ...), found by
// argument-dependent lookup, so `using std::exp; exp(x)` serves double and Var alike.
// Part of the C++ wrapper; include "autodiff.hpp" for all of it (bindings/cpp/README.md).
//
// On a passive Var each one computes in double and records nothing; on an active one it
// records the op (a passive second operand as a constant), and its primal() is the value
// the tape recorded, read back from the record (autodiff_inline.h's ad_inline_value):
// one load from the cache, where computing the function again in double would cost as
// much as the library's own call. Only where the tape offers no cursor (an f32 tape, a
// library built for AddressSanitizer) or the op failed is the value computed in double.
// recip and abs, exact in double, record through autodiff_inline.h and compute it.
#pragma once
#ifndef AUTODIFF_MATH_HPP
#define AUTODIFF_MATH_HPP

#include <cmath>

#include "var.hpp"

namespace autodiff {

namespace detail {
// The core's definitions of the functions <cmath> lacks.
inline double recip(double x) noexcept { return 1.0 / x; }
inline double sigmoid(double x) noexcept {
    if (x >= 0.0) return 1.0 / (1.0 + std::exp(-x));
    double e = std::exp(x);
    return e / (1.0 + e);
}
inline double softplus(double x) noexcept {
    return (x > 0.0 ? x : 0.0) + std::log1p(std::exp(-std::fabs(x)));
}
inline double fmin(double a, double b) noexcept { return std::fmin(a, b); }
inline double fmax(double a, double b) noexcept { return std::fmax(a, b); }

// The Var of handle `v`, just made on tape `t` by a library call: its value read from its
// record, else `plain()`.
template <class Plain> inline Var recorded(ad_tape *t, ad_var v, Plain plain) noexcept {
    double value;
    return Var::with_value(t, v, ad_inline_value(t, v, &value) ? value : plain());
}
// A binary function where at least one side is active: passive sides become constants.
template <class Plain, class Record>
inline Var recorded_binary(const Var &a, const Var &b, Plain plain, Record record) noexcept {
    ad_tape *t = pick(a, b);
    return recorded(t, record(t, handle_on(t, a), handle_on(t, b)),
                    [&] { return plain(a.primal(), b.primal()); });
}
} // namespace detail

#define AUTODIFF_HPP_UNARY(name, plain)                                                   \
    inline Var name(const Var &x) noexcept {                                              \
        if (x.is_passive()) return plain(x.primal());                                     \
        return detail::recorded(x.tape(), ad_##name(x.tape(), x.raw()),                   \
                                [&] { return plain(x.primal()); });                       \
    }
AUTODIFF_HPP_UNARY(sqrt, std::sqrt)
AUTODIFF_HPP_UNARY(cbrt, std::cbrt)
AUTODIFF_HPP_UNARY(exp, std::exp)
AUTODIFF_HPP_UNARY(expm1, std::expm1)
AUTODIFF_HPP_UNARY(log, std::log)
AUTODIFF_HPP_UNARY(log1p, std::log1p)
AUTODIFF_HPP_UNARY(log2, std::log2)
AUTODIFF_HPP_UNARY(log10, std::log10)
AUTODIFF_HPP_UNARY(sin, std::sin)
AUTODIFF_HPP_UNARY(cos, std::cos)
AUTODIFF_HPP_UNARY(tan, std::tan)
AUTODIFF_HPP_UNARY(asin, std::asin)
AUTODIFF_HPP_UNARY(acos, std::acos)
AUTODIFF_HPP_UNARY(atan, std::atan)
AUTODIFF_HPP_UNARY(sinh, std::sinh)
AUTODIFF_HPP_UNARY(cosh, std::cosh)
AUTODIFF_HPP_UNARY(tanh, std::tanh)
AUTODIFF_HPP_UNARY(asinh, std::asinh)
AUTODIFF_HPP_UNARY(acosh, std::acosh)
AUTODIFF_HPP_UNARY(atanh, std::atanh)
AUTODIFF_HPP_UNARY(sigmoid, detail::sigmoid)
AUTODIFF_HPP_UNARY(softplus, detail::softplus)
AUTODIFF_HPP_UNARY(erf, std::erf)
#undef AUTODIFF_HPP_UNARY

// The functions autodiff_inline.h records without a library call: their values are exact
// in double, so primal() is the tape's value without reading it back.
#define AUTODIFF_HPP_EXACT_UNARY(name, plain)                                             \
    inline Var name(const Var &x) noexcept {                                              \
        if (x.is_passive()) return plain(x.primal());                                     \
        return Var::with_value(x.tape(), ad_inline_##name(x.tape(), x.raw()),            \
                               plain(x.primal()));                                        \
    }
AUTODIFF_HPP_EXACT_UNARY(recip, detail::recip)
AUTODIFF_HPP_EXACT_UNARY(abs, std::fabs)
#undef AUTODIFF_HPP_EXACT_UNARY
inline Var fabs(const Var &x) noexcept { return abs(x); }

// Var with Var, and with a double on either side (a constant operand); both passive:
// plain double.
#define AUTODIFF_HPP_BINARY(name, plain)                                                  \
    inline Var name(const Var &a, const Var &b) noexcept {                                \
        if (a.is_passive() && b.is_passive()) return plain(a.primal(), b.primal());       \
        return detail::recorded_binary(                                                   \
            a, b, [](double x, double y) { return plain(x, y); }, ad_##name);             \
    }                                                                                     \
    inline Var name(const Var &a, double b) noexcept { return name(a, Var(b)); }          \
    inline Var name(double a, const Var &b) noexcept { return name(Var(a), b); }
AUTODIFF_HPP_BINARY(atan2, std::atan2)
AUTODIFF_HPP_BINARY(min, detail::fmin)
AUTODIFF_HPP_BINARY(max, detail::fmax)
AUTODIFF_HPP_BINARY(hypot, std::hypot)
#undef AUTODIFF_HPP_BINARY
inline Var fmin(const Var &a, const Var &b) noexcept { return min(a, b); }
inline Var fmax(const Var &a, const Var &b) noexcept { return max(a, b); }

// a^b, differentiable in both.
inline Var pow(const Var &a, const Var &b) noexcept {
    if (b.is_passive()) return pow(a, b.primal());
    return detail::recorded_binary(a, b, [](double x, double y) { return std::pow(x, y); }, ad_pow);
}
// x^c for a constant c (ad_powf): no record for the constant.
inline Var pow(const Var &x, double c) noexcept {
    if (x.is_passive()) return std::pow(x.primal(), c);
    return detail::recorded(x.tape(), ad_powf(x.tape(), x.raw(), c),
                            [&] { return std::pow(x.primal(), c); });
}
// x^n for an integer n (ad_powi).
inline Var pow(const Var &x, int n) noexcept {
    if (x.is_passive()) return std::pow(x.primal(), n);
    return detail::recorded(x.tape(), ad_powi(x.tape(), x.raw(), n),
                            [&] { return std::pow(x.primal(), n); });
}
inline Var pow(double c, const Var &x) noexcept { return pow(Var(c), x); }
inline Var square(const Var &x) noexcept { return x * x; }

} // namespace autodiff

#endif // AUTODIFF_MATH_HPP
