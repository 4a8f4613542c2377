// autodiff/var.hpp: scalar variables on a tape, their operators and math functions.
// Part of the C++ wrapper; include "autodiff.hpp" for all of it (bindings/cpp/README.md).
#pragma once
#ifndef AUTODIFF_VAR_HPP
#define AUTODIFF_VAR_HPP

#include "error.hpp"

namespace autodiff {

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

} // namespace autodiff

#endif // AUTODIFF_VAR_HPP
