// Primal code written for double, with no knowledge of autodiff: tests/cpp/generic.cpp
// instantiates each template with double (for central differences) and with
// autodiff::Var, unchanged. Only the standard library is included here.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace primal {

// sum_i a_i * b_i, from a zero-initialised accumulator.
template <class T> T dot(const T *a, const T *b, std::size_t n) {
    T sum = 0;
    for (std::size_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

// A weighted sum through a scratch vector filled with T(0), integer weights and T(1)/x.
template <class T> T weighted(const T *x, std::size_t n) {
    std::vector<T> w(n);
    std::fill(w.begin(), w.end(), T(0));
    for (std::size_t i = 0; i < n; i++) w[i] += x[i] * static_cast<int>(i + 1);
    T total{};
    for (std::size_t i = 0; i < n; i++) total += w[i] + T(1) / (x[i] * x[i] + 1);
    return total;
}

// log(sum_i exp(x_i)), shifted by the largest x_i (found with std::max).
template <class T> T log_sum_exp(const T *x, std::size_t n) {
    using std::exp;
    using std::log;
    T m = x[0];
    for (std::size_t i = 1; i < n; i++) m = std::max(m, x[i]);
    T s = 0.0;
    for (std::size_t i = 0; i < n; i++) s += exp(x[i] - m);
    return m + log(s);
}

// The cube root of a > 0 by Newton's method, stopped by a comparison of the step.
template <class T> T newton_cbrt(const T &a) {
    using std::abs;
    T y = a > 1 ? a / 3 : T(1);
    for (int it = 0; it < 100; it++) {
        T step = (y * y * y - a) / (3 * y * y);
        y -= step;
        if (abs(step) <= 1e-15 * abs(y)) break;
    }
    return y;
}

// Most of <cmath> at once, with constants on either side of every operator.
template <class T> T mixed(const T *x, std::size_t n) {
    using std::atan2;
    using std::cos;
    using std::exp;
    using std::fabs;
    using std::hypot;
    using std::log;
    using std::max;
    using std::min;
    using std::pow;
    using std::sin;
    using std::sqrt;
    using std::tanh;
    T acc = T(2) * T(3) - 6; // passive arithmetic: zero
    for (std::size_t i = 0; i + 1 < n; i++) {
        const T &a = x[i], &b = x[i + 1];
        acc += sin(a) * cos(b) + exp(0.1 * a) / 4 + log(1 + a * a) / 3;
        acc += sqrt(2.0 + b * b) - pow(a, 2) + pow(fabs(b) + 1, 1.5) + pow(1.5, a);
        acc += tanh(a - b) + hypot(a, b) + atan2(b, 2.0) + max(a, b) - min(a, 0.25);
        acc += (2 - a) * (b + 1) - 1 / (3 + b * b);
    }
    return acc;
}

} // namespace primal
