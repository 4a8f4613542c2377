// autodiff/scope.hpp: the current tape of a thread, set by a scope guard, so that generic
// code makes inputs with no tape argument.
// Part of the C++ wrapper; include "autodiff.hpp" for all of it (bindings/cpp/README.md).
//
//     ad::TapeScope scope(tape);           // tape is current on this thread until `}`
//     std::vector<ad::Var> x(n);
//     ad::inputs(x0.data(), n, x.data());  // inputs on the current tape
//     ad::Var y = f(x);                    // f written for any scalar type T
//
// Ops need no current tape: an op records on the tape of its active operands, and
// passive values never touch one. The current tape is where input() and constant() go.
#pragma once
#ifndef AUTODIFF_SCOPE_HPP
#define AUTODIFF_SCOPE_HPP

#include <algorithm>

#include "tape.hpp"
#include "var.hpp"

namespace autodiff {

namespace detail {
inline ad_tape *&current_tape_slot() noexcept {
    static thread_local ad_tape *current = nullptr;
    return current;
}
} // namespace detail

// The current tape of this thread (nullptr outside every TapeScope).
inline ad_tape *current_tape() noexcept { return detail::current_tape_slot(); }

// Makes `tape` current on this thread for its lifetime, then restores the one before:
// scopes nest. Not copyable or movable: it lives on the stack of the code it serves.
class TapeScope {
public:
    explicit TapeScope(ad_tape *tape) noexcept : previous_(detail::current_tape_slot()) {
        detail::current_tape_slot() = tape;
    }
    explicit TapeScope(const Tape &tape) noexcept : TapeScope(tape.get()) {}
    TapeScope(const TapeScope &) = delete;
    TapeScope &operator=(const TapeScope &) = delete;
    ~TapeScope() { detail::current_tape_slot() = previous_; }

private:
    ad_tape *previous_;
};

// An input on the current tape. Sticky like any recording: outside a TapeScope there is
// no tape to keep the error, and the result is the invalid Var (is_valid() is false),
// which the next derivative call refuses.
inline Var input(double value) noexcept {
    ad_tape *t = current_tape();
    return Var::with_value(t, ad_input(t, value), value);
}
// A constant record on the current tape. Rarely needed: a passive Var is a constant that
// costs no record until it meets an active one.
inline Var constant(double value) noexcept {
    ad_tape *t = current_tape();
    return Var::with_value(t, ad_const(t, value), value);
}
// n inputs on the current tape, values[k] into out[k], in order: what n calls of input()
// record, through one library call (ad_inputs) per block of handles instead of one per
// input (a tenth of the recording time of a sum of exponentials over 10,000 inputs).
inline void inputs(const double *values, size_t n, Var *out) noexcept {
    constexpr size_t block = 64;
    ad_tape *t = current_tape();
    ad_var handles[block];
    for (size_t first = 0; first < n; first += block) {
        size_t count = std::min(block, n - first);
        // Where the call fails before it writes (no current tape), each is the invalid
        // variable, as input() gives.
        std::fill(handles, handles + count, detail::invalid_var());
        (void)ad_inputs(t, values + first, count, handles);
        for (size_t k = 0; k < count; k++)
            out[first + k] = Var::with_value(t, handles[k], values[first + k]);
    }
}
#ifdef AUTODIFF_HPP_SPAN
// The same over spans; throws Error (AD_ERR_INVALID_ARGUMENT) when their lengths differ.
inline void inputs(std::span<const double> values, std::span<Var> out) {
    if (values.size() != out.size())
        throw Error(AD_ERR_INVALID_ARGUMENT, "autodiff::inputs", "values and out differ in length");
    inputs(values.data(), values.size(), out.data());
}
#endif

} // namespace autodiff

#endif // AUTODIFF_SCOPE_HPP
