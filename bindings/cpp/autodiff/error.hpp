// autodiff/error.hpp: errors as exceptions, and the helpers every other part uses.
// Part of the C++ wrapper; include "autodiff.hpp" for all of it (bindings/cpp/README.md).
#pragma once
#ifndef AUTODIFF_ERROR_HPP
#define AUTODIFF_ERROR_HPP

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>
#include "autodiff.h"

// std::span overloads (beside the pointer-and-length ones, always there) under C++20.
#if __cplusplus >= 202002L && defined(__has_include)
#if __has_include(<span>)
#include <span>
#define AUTODIFF_HPP_SPAN 1
#endif
#endif

namespace autodiff {

// A failed call: its ad_status, and the tape's message (ad_tape_error) at the time.
class Error : public std::runtime_error {
public:
    Error(ad_status status, const std::string &where, const std::string &message)
        : std::runtime_error(where + ": " + message), status_(status), message_(message) {}
    ad_status status() const noexcept { return status_; }
    // The tape's text (or the status description where there was no tape).
    const std::string &message() const { return message_; }
    // The fixed description of the status code.
    const char *status_str() const noexcept { return ad_status_str(status_); }

private:
    ad_status status_;
    std::string message_;
};

namespace detail {
inline void check(ad_status s, ad_tape *t, const char *where) {
    if (s == AD_OK) return;
    std::string msg = t ? std::string(ad_tape_error(t)) : std::string(ad_status_str(s));
    throw Error(s, where, msg);
}
inline ad_var invalid_var() noexcept { return ad_var{UINT32_MAX, 0, 0, 0}; }
// The handle a passive Var carries: no tape issues it (every field at its maximum), so
// the library refuses it as it refuses any foreign handle.
inline ad_var passive_var() noexcept { return ad_var{UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX}; }
inline bool is_passive_var(ad_var v) noexcept {
    return v.index == UINT32_MAX && v.kind == UINT32_MAX && v.generation == UINT32_MAX &&
           v.tape == UINT32_MAX;
}
inline double nan() noexcept { return std::numeric_limits<double>::quiet_NaN(); }
inline ad_tensor invalid_tensor() noexcept { return ad_tensor{UINT32_MAX, 0, 0, 0}; }
inline size_t count(const std::vector<size_t> &dims) noexcept {
    size_t n = 1;
    for (size_t d : dims) n *= d;
    return n;
}
} // namespace detail

} // namespace autodiff

#endif // AUTODIFF_ERROR_HPP
