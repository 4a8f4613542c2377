// ode: y_0' = x_0, y_i' = x_i y_{i-1} (i > 0), y(0) = 0, integrated to t = 2 by s steps of
// classical Runge-Kutta; the derivative of y_{n-1}(2) with respect to the n inputs x,
// drawn from U(0, 1). No hand-written gradient: central differences check it.
#pragma once

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace gradbench {

struct Ode {
    static constexpr const char *name = "ode";
    static constexpr bool hessian = false; // the gradient is the derivative
    std::vector<double> x0;
    size_t s;

    Ode(size_t n, size_t steps, std::mt19937_64 &rng) : x0(n), s(steps) {
        std::uniform_real_distribution<double> u(0.0, 1.0);
        for (double &v : x0) v = u(rng);
    }
    std::string size() const {
        return "n=" + std::to_string(x0.size()) + ",s=" + std::to_string(s);
    }

    template <class T> static void rhs(size_t n, const T *x, const T *y, T *z) {
        z[0] = x[0];
        for (size_t i = 1; i < n; i++) z[i] = x[i] * y[i - 1];
    }

    template <class T> T operator()(const T *x) const {
        size_t n = x0.size();
        T h = T(2) / T(double(s));
        std::vector<T> y(n), k1(n), k2(n), k3(n), k4(n), tmp(n);
        std::fill(y.begin(), y.end(), T(0));
        for (size_t step = 0; step < s; step++) {
            rhs(n, x, y.data(), k1.data());
            for (size_t i = 0; i < n; i++) tmp[i] = y[i] + h * k1[i] / T(2);
            rhs(n, x, tmp.data(), k2.data());
            for (size_t i = 0; i < n; i++) tmp[i] = y[i] + h * k2[i] / T(2);
            rhs(n, x, tmp.data(), k3.data());
            for (size_t i = 0; i < n; i++) tmp[i] = y[i] + h * k3[i];
            rhs(n, x, tmp.data(), k4.data());
            for (size_t i = 0; i < n; i++)
                y[i] += h * (k1[i] + T(2) * k2[i] + T(2) * k3[i] + k4[i]) / T(6);
        }
        return y[n - 1];
    }

    bool manual(const double *, double *) const { return false; }
};

} // namespace gradbench
