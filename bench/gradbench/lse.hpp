// lse: log(sum_i exp(x_i)) by the max-shift trick, n inputs drawn from U(0, 1).
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace gradbench {

struct Lse {
    static constexpr const char *name = "lse";
    static constexpr bool hessian = false; // the gradient is the derivative
    std::vector<double> x0;

    Lse(size_t n, std::mt19937_64 &rng) : x0(n) {
        std::uniform_real_distribution<double> u(0.0, 1.0);
        for (double &v : x0) v = u(rng);
    }
    std::string size() const { return "n=" + std::to_string(x0.size()); }

    template <class T> T operator()(const T *x) const {
        using std::exp;
        using std::log;
        size_t n = x0.size();
        T a = x[0];
        for (size_t i = 1; i < n; i++) a = std::max(a, x[i]);
        T sum = 0;
        for (size_t i = 0; i < n; i++) sum += exp(x[i] - a);
        return a + log(sum);
    }

    // The softmax of x.
    bool manual(const double *x, double *g) const {
        size_t n = x0.size();
        double a = *std::max_element(x, x + n), sum = 0.0;
        for (size_t i = 0; i < n; i++) sum += std::exp(x[i] - a);
        for (size_t i = 0; i < n; i++) g[i] = std::exp(x[i] - a) / sum;
        return true;
    }
};

} // namespace gradbench
