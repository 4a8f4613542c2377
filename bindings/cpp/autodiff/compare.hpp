// autodiff/compare.hpp: recorded comparisons, selections and branches. Part of the C++
// wrapper; include "autodiff.hpp" for all of it.
//
// The comparison operators of Var itself (var.hpp) compare values and record nothing.
// Wrapping an operand in recorded() gives the recorded form: `if (recorded(x) > y)`
// records the comparison and reads it for a host branch (ad_compare + ad_branch), and
// Tape::replay then throws autodiff::Error with AD_ERR_BRANCH_CHANGED when the branch
// would go the other way. compare() records a condition Var without reading it, for
// select(), which keeps both arms on the tape and picks one again at every sweep and
// replay. Passive operands are constants; with no active operand nothing is recorded.
#pragma once
#ifndef AUTODIFF_COMPARE_HPP
#define AUTODIFF_COMPARE_HPP

#include "autodiff.h"
#include "var.hpp"

namespace autodiff {

namespace detail {
// The relation with its operands swapped: `c cmp x` is `x mirror(cmp) c`.
inline ad_cmp mirror(ad_cmp cmp) noexcept {
    switch (cmp) {
    case AD_CMP_LT: return AD_CMP_GT;
    case AD_CMP_LE: return AD_CMP_GE;
    case AD_CMP_GT: return AD_CMP_LT;
    case AD_CMP_GE: return AD_CMP_LE;
    default: return cmp;
    }
}
inline bool holds(double a, ad_cmp cmp, double b) noexcept {
    switch (cmp) {
    case AD_CMP_LT: return a < b;
    case AD_CMP_LE: return a <= b;
    case AD_CMP_GT: return a > b;
    case AD_CMP_GE: return a >= b;
    case AD_CMP_EQ: return a == b;
    default: return a != b;
    }
}
} // namespace detail

// `a cmp b` as a condition Var (1 or 0), for select(); no derivative flows through it.
inline Var compare(const Var &a, ad_cmp cmp, double c) noexcept {
    double value = detail::holds(a.primal(), cmp, c) ? 1.0 : 0.0;
    if (a.is_passive()) return value;
    return Var::with_value(a.tape(), ad_compare_const(a.tape(), cmp, a.raw(), c), value);
}
inline Var compare(const Var &a, ad_cmp cmp, const Var &b) noexcept {
    if (b.is_passive()) return compare(a, cmp, b.primal());
    if (a.is_passive()) return compare(b, detail::mirror(cmp), a.primal());
    ad_tape *t = detail::pick(a, b);
    double value = detail::holds(a.primal(), cmp, b.primal()) ? 1.0 : 0.0;
    return Var::with_value(t, ad_compare(t, cmp, a.raw(), b.raw()), value);
}

// `if_true` where `cond` is non-zero, `if_false` where it is zero, chosen again at every
// sweep and replay (a passive condition chooses once, here).
inline Var select(const Var &cond, const Var &if_true, const Var &if_false) noexcept {
    if (cond.is_passive()) return cond.primal() != 0.0 ? if_true : if_false;
    ad_tape *t = cond.tape();
    double value = cond.primal() != 0.0 ? if_true.primal() : if_false.primal();
    return Var::with_value(t, ad_select(t, cond.raw(), detail::handle_on(t, if_true),
                                      detail::handle_on(t, if_false)),
                         value);
}

// The outcome of a condition from compare(), for a host branch that replay checks.
inline bool branch(const Var &cond) noexcept {
    if (cond.is_passive()) return cond.primal() != 0.0;
    return ad_branch(cond.tape(), cond.raw());
}

// An operand whose comparisons are recorded: `recorded(x) > y` is
// `branch(compare(x, AD_CMP_GT, y))`.
class Recorded {
public:
    explicit Recorded(const Var &x) noexcept : x_(x) {}
    const Var &var() const noexcept { return x_; }

private:
    Var x_;
};
inline Recorded recorded(const Var &x) noexcept { return Recorded(x); }

#define AUTODIFF_HPP_RECORDED(op, code)                                                   \
    inline bool operator op(const Recorded &a, const Var &b) noexcept {                   \
        return branch(compare(a.var(), code, b));                                          \
    }                                                                                      \
    inline bool operator op(const Recorded &a, double c) noexcept {                       \
        return branch(compare(a.var(), code, c));                                          \
    }
AUTODIFF_HPP_RECORDED(<, AD_CMP_LT)
AUTODIFF_HPP_RECORDED(<=, AD_CMP_LE)
AUTODIFF_HPP_RECORDED(>, AD_CMP_GT)
AUTODIFF_HPP_RECORDED(>=, AD_CMP_GE)
AUTODIFF_HPP_RECORDED(==, AD_CMP_EQ)
AUTODIFF_HPP_RECORDED(!=, AD_CMP_NE)
#undef AUTODIFF_HPP_RECORDED

} // namespace autodiff

#endif // AUTODIFF_COMPARE_HPP
