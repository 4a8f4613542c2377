// autodiff/compare.hpp: recorded comparisons, selections and branches. Part of the C++
// wrapper; include "autodiff.hpp" for all of it.
//
// The comparison operators on Var record the comparison and read it for a host branch
// (ad_compare + ad_branch): `if (x > y) ...` records what it tests, and Tape::replay
// then throws autodiff::Error with AD_ERR_BRANCH_CHANGED when the branch would now go
// the other way. compare() records a condition Var without reading it, for select(),
// which keeps both arms on the tape and picks one again at every sweep and replay.
#pragma once
#ifndef AUTODIFF_COMPARE_HPP
#define AUTODIFF_COMPARE_HPP

#include "autodiff.h"
#include "var.hpp"

namespace autodiff {

// `a cmp b` as a condition Var (1 or 0), for select(); no derivative flows through it.
inline Var compare(const Var &a, ad_cmp cmp, const Var &b) noexcept {
    ad_tape *t = detail::pick(a, b);
    return Var(t, ad_compare(t, cmp, a.raw(), b.raw()));
}
inline Var compare(const Var &a, ad_cmp cmp, double c) noexcept {
    return Var(a.tape(), ad_compare_const(a.tape(), cmp, a.raw(), c));
}

// `if_true` where `cond` is non-zero, `if_false` where it is zero, chosen again at every
// sweep and replay.
inline Var select(const Var &cond, const Var &if_true, const Var &if_false) noexcept {
    ad_tape *t = cond.tape() ? cond.tape() : detail::pick(if_true, if_false);
    return Var(t, ad_select(t, cond.raw(), if_true.raw(), if_false.raw()));
}

// The outcome of a condition from compare(), for a host branch that replay checks.
inline bool branch(const Var &cond) noexcept { return ad_branch(cond.tape(), cond.raw()); }

// Recording comparison operators: each records the comparison and branches on it.
#define AUTODIFF_HPP_COMPARISON(op, code)                                                 \
    inline bool operator op(const Var &a, const Var &b) noexcept {                        \
        return branch(compare(a, code, b));                                                \
    }                                                                                      \
    inline bool operator op(const Var &a, double c) noexcept {                            \
        return branch(compare(a, code, c));                                                \
    }
AUTODIFF_HPP_COMPARISON(<, AD_CMP_LT)
AUTODIFF_HPP_COMPARISON(<=, AD_CMP_LE)
AUTODIFF_HPP_COMPARISON(>, AD_CMP_GT)
AUTODIFF_HPP_COMPARISON(>=, AD_CMP_GE)
AUTODIFF_HPP_COMPARISON(==, AD_CMP_EQ)
AUTODIFF_HPP_COMPARISON(!=, AD_CMP_NE)
#undef AUTODIFF_HPP_COMPARISON

// `c op x` as `x op' c`, with the relation mirrored.
inline bool operator<(double c, const Var &x) noexcept { return x > c; }
inline bool operator<=(double c, const Var &x) noexcept { return x >= c; }
inline bool operator>(double c, const Var &x) noexcept { return x < c; }
inline bool operator>=(double c, const Var &x) noexcept { return x <= c; }
inline bool operator==(double c, const Var &x) noexcept { return x == c; }
inline bool operator!=(double c, const Var &x) noexcept { return x != c; }

} // namespace autodiff

#endif // AUTODIFF_COMPARE_HPP
