// autodiff/var.hpp: scalar variables, active (on a tape) or passive (a plain double), with
// their arithmetic and their comparisons. The math functions are in math.hpp.
// Part of the C++ wrapper; include "autodiff.hpp" for all of it (bindings/cpp/README.md).
//
// A Var made from a number (`Var x = 0;`, `T(1)`, `T sum = 0;`) is passive: it carries no
// tape, and arithmetic between passive values is plain double arithmetic that touches no
// tape. A passive value meeting an active one becomes a constant operand of the recorded
// op, so code written for `double` compiles unchanged for Var. Every Var also keeps the
// value it had when it was made (primal()), so that comparisons read it without a call
// into the library.
#pragma once
#ifndef AUTODIFF_VAR_HPP
#define AUTODIFF_VAR_HPP

#include <cmath>
#include <cstdint>
#include <limits>

#include "autodiff_inline.h"
#include "error.hpp"

// The arithmetic below is forced inline where the compiler allows it: out of line, an op
// returns its 32-byte Var through memory, and the caller's 16-byte copy of it waits for the
// op's 8-byte stores to retire (a failed store forward on every op of a recording).
#if defined(__GNUC__) || defined(__clang__)
#define AUTODIFF_HPP_ARITHMETIC inline __attribute__((always_inline))
#define AUTODIFF_HPP_OUT_OF_LINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define AUTODIFF_HPP_ARITHMETIC __forceinline
#define AUTODIFF_HPP_OUT_OF_LINE __declspec(noinline)
#else
#define AUTODIFF_HPP_ARITHMETIC inline
#define AUTODIFF_HPP_OUT_OF_LINE
#endif

namespace autodiff {

// ---- scalar variables ----

// A scalar: a tape pointer, the C handle and the value at creation. Trivially copyable.
// Passive (no tape) when made from a number or default-constructed (zero, as `double{}`).
class Var {
public:
    Var() noexcept : Var(0.0) {}
    // A passive value: no tape, no record. Integers convert through double.
    Var(double value) noexcept : Var(nullptr, pack(detail::passive_var()), value) {}
    // An existing handle on `tape`; its value is read once from the tape (NaN where the
    // handle cannot be read, as for the invalid handle of a failed op).
    Var(ad_tape *tape, ad_var v) noexcept : Var(tape, pack(v), detail::nan()) {
        if (tape) (void)ad_value(tape, v, &value_);
    }
    // A handle whose value the caller computed: the wrapper's ops use this, so that making
    // a Var costs no read of the tape.
    static Var with_value(ad_tape *tape, ad_var v, double value) noexcept {
        Var x(tape, v, value);
        return x;
    }

    ad_tape *tape() const noexcept { return tape_; }
    ad_var raw() const noexcept {
        ad_var v;
        v.index = uint32_t(low_);
        v.kind = uint32_t(low_ >> 32);
        v.generation = uint32_t(high_);
        v.tape = uint32_t(high_ >> 32);
        return v;
    }
    bool is_passive() const noexcept { return tape_ == nullptr && detail::is_passive_var(raw()); }
    bool is_active() const noexcept { return tape_ != nullptr; }
    // False for the invalid variable a failed op returns (a valid one may still be stale).
    // A passive value is valid.
    bool is_valid() const noexcept {
        return is_passive() || (tape_ != nullptr && ad_var_is_valid(raw()));
    }

    // The value when this Var was made, without a call into the library. A replay changes
    // the tape's values (value() reads them) but not this one. On an AD_F64 tape it is the
    // tape's own bits: + - * / compute them in double exactly as the tape does, and the
    // functions (exp, sin, pow, ...) read them back from the record they just wrote
    // (math.hpp). Where the library offers no record cursor (a build for
    // AddressSanitizer), the functions' values are the C++ library's, within its rounding
    // of the tape's; on an AD_F32 tape, every value is the double before rounding.
    double primal() const noexcept { return value_; }

    // The tape's value (the replayed one after a replay); a passive value's own.
    ad_status try_value(double &out) const noexcept {
        if (is_passive()) return out = value_, AD_OK;
        return ad_value(tape_, raw(), &out);
    }
    // The adjoint after Tape::backward; zero for a passive value (nothing flows into it).
    ad_status try_grad(double &out) const noexcept {
        if (is_passive()) return out = 0.0, AD_OK;
        return ad_grad(tape_, raw(), &out);
    }
    // The tangent after Tape::jvp; zero for a passive value.
    ad_status try_tangent(double &out) const noexcept {
        if (is_passive()) return out = 0.0, AD_OK;
        return ad_tangent(tape_, raw(), &out);
    }

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

private:
    Var(ad_tape *tape, ad_var v, double value) noexcept : Var(tape, pack(v), value) {}

    // The handle as the two 64-bit words it travels in (the C calls take and return an
    // ad_var in two registers), not as its four 32-bit fields, and the two words apart.
    // Kept as fields, the handle an op returned went to the stack in two 8-byte stores and
    // came back in one 16-byte load to be stored in the Var, and the next op read it back
    // in 8-byte loads over 4-byte stores: loads that wait for the stores to retire (failed
    // store forwards). Adjacent words, g++ still joined into one 16-byte store through
    // the stack. Measured from C++: `a - b` 5.50 -> 3.96 ns, `exp(x)` 26.8 -> 21.7 ns.
    struct Words {
        uint64_t low, high;
    };
    static Words pack(ad_var v) noexcept {
        return {uint64_t(v.index) | uint64_t(v.kind) << 32,
                uint64_t(v.generation) | uint64_t(v.tape) << 32};
    }
    Var(ad_tape *tape, Words handle, double value) noexcept
        : tape_(tape), low_(handle.low), value_(value), high_(handle.high) {}

    ad_tape *tape_;
    uint64_t low_;  // index and kind
    double value_;
    uint64_t high_; // generation and tape
};

// The value of a scalar in generic code: a double's own, a Var's primal().
inline double value_of(double x) noexcept { return x; }
inline double value_of(const Var &x) noexcept { return x.primal(); }

namespace detail {
inline ad_tape *pick(const Var &a, const Var &b) noexcept {
    return a.tape() ? a.tape() : b.tape();
}
// A passive operand of an op with no constant form (pow, atan2, ...): a constant record.
// `+ − × ÷` keep their constant in the op's record instead (ad_add_const and friends).
inline ad_var constant(ad_tape *t, double c) noexcept { return ad_const(t, c); }
// The handle of `x` on tape `t`: its own, or a constant record for a passive value.
inline ad_var handle_on(ad_tape *t, const Var &x) noexcept {
    return x.is_passive() ? constant(t, x.primal()) : x.raw();
}
} // namespace detail

// ---- arithmetic: a passive side is a constant operand (inside the op's record); x + 0,
// x * 1 record nothing. On an f64 tape `+ − × ÷`, negation and `1 / x` record without a
// library call (autodiff_inline.h), and through the library otherwise. ----

AUTODIFF_HPP_ARITHMETIC Var operator+(const Var &a, double c) noexcept {
    if (a.is_passive()) return a.primal() + c;
    if (c == 0.0) return a;
    ad_tape *t = a.tape();
    return Var::with_value(t, ad_inline_add_const(t, a.raw(), c), a.primal() + c);
}
AUTODIFF_HPP_ARITHMETIC Var operator+(double c, const Var &a) noexcept { return a + c; }
AUTODIFF_HPP_ARITHMETIC Var operator-(const Var &a, double c) noexcept {
    if (a.is_passive()) return a.primal() - c;
    if (c == 0.0) return a;
    ad_tape *t = a.tape();
    return Var::with_value(t, ad_inline_sub_const(t, a.raw(), c), a.primal() - c);
}
AUTODIFF_HPP_ARITHMETIC Var operator-(const Var &a) noexcept {
    if (a.is_passive()) return -a.primal();
    return Var::with_value(a.tape(), ad_inline_neg(a.tape(), a.raw()), -a.primal());
}
AUTODIFF_HPP_ARITHMETIC Var operator+(const Var &a) noexcept { return a; }
AUTODIFF_HPP_ARITHMETIC Var operator-(double c, const Var &a) noexcept {
    if (a.is_passive()) return c - a.primal();
    if (c == 0.0) return -a;
    ad_tape *t = a.tape();
    return Var::with_value(t, ad_inline_const_sub(t, c, a.raw()), c - a.primal());
}
AUTODIFF_HPP_ARITHMETIC Var operator*(const Var &a, double c) noexcept {
    if (a.is_passive()) return a.primal() * c;
    if (c == 1.0) return a;
    return Var::with_value(a.tape(), ad_inline_scale(a.tape(), a.raw(), c), a.primal() * c);
}
AUTODIFF_HPP_ARITHMETIC Var operator*(double c, const Var &a) noexcept { return a * c; }
AUTODIFF_HPP_ARITHMETIC Var operator/(const Var &a, double c) noexcept {
    if (a.is_passive()) return a.primal() / c;
    if (c == 1.0) return a;
    ad_tape *t = a.tape();
    return Var::with_value(t, ad_inline_div_const(t, a.raw(), c), a.primal() / c);
}
AUTODIFF_HPP_ARITHMETIC Var operator/(double c, const Var &a) noexcept {
    if (a.is_passive()) return c / a.primal();
    ad_tape *t = a.tape();
    if (c == 1.0) return Var::with_value(t, ad_inline_recip(t, a.raw()), 1.0 / a.primal());
    return Var::with_value(t, ad_inline_const_div(t, c, a.raw()), c / a.primal());
}

// `a op b` of two Vars. Both on a tape, the case a recording repeats, writes the record
// inline. A passive side (a constant operand of the op, or a plain number for two) or a
// Var on no tape goes out of line: forced inline, those branches made every op's code
// larger, and det's recursion slower.
#define AUTODIFF_HPP_VAR_VAR(op, name)                                                         \
    namespace detail {                                                                         \
    AUTODIFF_HPP_OUT_OF_LINE inline Var name##_mixed(const Var &a, const Var &b) noexcept {    \
        if (a.is_passive()) return a.primal() op b;                                            \
        if (b.is_passive()) return a op b.primal();                                            \
        ad_tape *t = pick(a, b);                                                               \
        return Var::with_value(t, ad_inline_##name(t, a.raw(), b.raw()),                       \
                               a.primal() op b.primal());                                      \
    }                                                                                          \
    }                                                                                          \
    AUTODIFF_HPP_ARITHMETIC Var operator op(const Var &a, const Var &b) noexcept {             \
        ad_tape *t = a.tape();                                                                 \
        if (t == nullptr || b.tape() == nullptr) return detail::name##_mixed(a, b);            \
        return Var::with_value(t, ad_inline_##name(t, a.raw(), b.raw()),                       \
                               a.primal() op b.primal());                                      \
    }
AUTODIFF_HPP_VAR_VAR(+, add)
AUTODIFF_HPP_VAR_VAR(-, sub)
AUTODIFF_HPP_VAR_VAR(*, mul)
AUTODIFF_HPP_VAR_VAR(/, div)
#undef AUTODIFF_HPP_VAR_VAR

AUTODIFF_HPP_ARITHMETIC Var &Var::operator+=(const Var &b) noexcept { return *this = *this + b; }
AUTODIFF_HPP_ARITHMETIC Var &Var::operator-=(const Var &b) noexcept { return *this = *this - b; }
AUTODIFF_HPP_ARITHMETIC Var &Var::operator*=(const Var &b) noexcept { return *this = *this * b; }
AUTODIFF_HPP_ARITHMETIC Var &Var::operator/=(const Var &b) noexcept { return *this = *this / b; }

// ---- comparisons of values ----

// They compare primal() and record nothing, as comparisons of doubles: `std::max`, a
// sort or a convergence test works as in the double build. A replay does not check the
// branches they took; for a branch that replay must check, compare through recorded()
// (compare.hpp).
#define AUTODIFF_HPP_ORDER(op)                                                            \
    inline bool operator op(const Var &a, const Var &b) noexcept {                        \
        return a.primal() op b.primal();                                                  \
    }                                                                                     \
    inline bool operator op(const Var &a, double c) noexcept { return a.primal() op c; }  \
    inline bool operator op(double c, const Var &a) noexcept { return c op a.primal(); }
AUTODIFF_HPP_ORDER(<)
AUTODIFF_HPP_ORDER(<=)
AUTODIFF_HPP_ORDER(>)
AUTODIFF_HPP_ORDER(>=)
AUTODIFF_HPP_ORDER(==)
AUTODIFF_HPP_ORDER(!=)
#undef AUTODIFF_HPP_ORDER

} // namespace autodiff

#undef AUTODIFF_HPP_ARITHMETIC
#undef AUTODIFF_HPP_OUT_OF_LINE

#endif // AUTODIFF_VAR_HPP
