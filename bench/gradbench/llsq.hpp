// llsq: y(x) = 1/2 sum_i (s_i - sum_j x_j t_i^j)^2 over n points t_i = -1 + 2i/(n-1),
// s_i = sign(t_i); m = 128 coefficients x drawn from U(0, 1).
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace gradbench {

struct Llsq {
    static constexpr const char *name = "llsq";
    static constexpr bool hessian = false; // the gradient is the derivative
    std::vector<double> x0;
    size_t n;

    Llsq(size_t n_points, size_t m, std::mt19937_64 &rng) : x0(m), n(n_points) {
        std::uniform_real_distribution<double> u(0.0, 1.0);
        for (double &v : x0) v = u(rng);
    }
    std::string size() const {
        return "n=" + std::to_string(n) + ",m=" + std::to_string(x0.size());
    }
    double t(size_t i) const { return -1.0 + double(i) * 2.0 / double(n - 1); }
    static double sign(double v) { return v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0); }

    template <class T> T operator()(const T *x) const {
        size_t m = x0.size();
        T y = 0;
        for (size_t i = 0; i < n; i++) {
            double ti = t(i), power = 1.0;
            T r = sign(ti);
            for (size_t j = 0; j < m; j++) {
                r -= x[j] * power;
                power *= ti;
            }
            y += r * r;
        }
        return y / 2;
    }

    // g_j = -sum_i r_i t_i^j.
    bool manual(const double *x, double *g) const {
        size_t m = x0.size();
        for (size_t j = 0; j < m; j++) g[j] = 0.0;
        for (size_t i = 0; i < n; i++) {
            double ti = t(i), power = 1.0, r = sign(ti);
            for (size_t j = 0; j < m; j++, power *= ti) r -= x[j] * power;
            power = 1.0;
            for (size_t j = 0; j < m; j++, power *= ti) g[j] -= r * power;
        }
        return true;
    }
};

} // namespace gradbench
