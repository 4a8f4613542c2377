// autodiff/dual.hpp: dual numbers: forward mode with no tape.
// Part of the C++ wrapper; include "autodiff.hpp" for all of it (bindings/cpp/README.md).
#pragma once
#ifndef AUTODIFF_DUAL_HPP
#define AUTODIFF_DUAL_HPP

#include "autodiff.h"

namespace autodiff {

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

#endif // AUTODIFF_DUAL_HPP
