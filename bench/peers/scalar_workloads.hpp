// The two scalar workloads every peer benchmark here times, with their analytic
// gradients, the points they are taken at, and the timing loop: one definition, so
// ADOL-C's figures and CoDiPack's are of the same functions at the same points, timed
// the same way (and the same as libautodiff's `core/benches/support/scalar_workloads.rs`).
//
//   rosenbrock: f = Σ_{i<n-1} 100·(x[i+1] − x[i]²)² + (1 − x[i])²
//   chain:      f = Σ_{i<n-1} sin(x[i])·exp(0.01·x[i+1]) + ln(1 + x[i]²)
//                             + sqrt(1 + x[i+1]²)/(1 + x[i]²)
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

namespace peers {

constexpr int N = 1000;
constexpr int WARMUP = 20;
constexpr int REPS = 200;
// The plain function takes about a microsecond, below what one clock read resolves
// well, so each of its samples times PLAIN_INNER calls.
constexpr int PLAIN_INNER = 100;

// Keeps the optimiser from hoisting or dropping benchmarked work.
template <class T>
inline void escape(T *p) { asm volatile("" : : "g"(p) : "memory"); }

// Generic over the AD type: `sin`, `exp`, `log` and `sqrt` are found by argument-dependent
// lookup for an AD type, and from <cmath> for `double`.
template <class T>
T rosenbrock(const T *x, int n) {
    T f = 0.0;
    for (int i = 0; i < n - 1; ++i) {
        T a = x[i + 1] - x[i] * x[i];
        T b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
    }
    return f;
}

template <class T>
T chain(const T *x, int n) {
    using std::exp;
    using std::log;
    using std::sin;
    using std::sqrt;
    T f = 0.0;
    for (int i = 0; i < n - 1; ++i) {
        T a2 = 1.0 + x[i] * x[i];
        f += sin(x[i]) * exp(0.01 * x[i + 1]) + log(a2) + sqrt(1.0 + x[i + 1] * x[i + 1]) / a2;
    }
    return f;
}

inline void rosenbrock_grad(const double *x, int n, double *g) {
    std::fill(g, g + n, 0.0);
    for (int i = 0; i < n - 1; ++i) {
        double a = x[i + 1] - x[i] * x[i];
        g[i] += -400.0 * x[i] * a - 2.0 * (1.0 - x[i]);
        g[i + 1] += 200.0 * a;
    }
}

inline void chain_grad(const double *x, int n, double *g) {
    std::fill(g, g + n, 0.0);
    for (int i = 0; i < n - 1; ++i) {
        double a = x[i], b = x[i + 1];
        double a2 = 1.0 + a * a, e = std::exp(0.01 * b), sb = std::sqrt(1.0 + b * b);
        g[i] += std::cos(a) * e + 2.0 * a / a2 - sb * 2.0 * a / (a2 * a2);
        g[i + 1] += 0.01 * std::sin(a) * e + b / (sb * a2);
    }
}

// The point tapes are recorded at, and a second one to reuse a tape at.
inline std::vector<double> point() {
    std::vector<double> x(N);
    for (int i = 0; i < N; ++i) x[i] = 0.5 + 0.4 * std::sin(0.37 * i);
    return x;
}

inline std::vector<double> other_point() {
    std::vector<double> x(N);
    for (int i = 0; i < N; ++i) x[i] = -0.3 + 0.6 * std::cos(0.11 * i);
    return x;
}

// Median µs per call of `body` over REPS samples after WARMUP untimed calls; each
// sample times `inner` calls.
template <class F>
double median_us(F &&body, int inner = 1) {
    using Clock = std::chrono::steady_clock;
    for (int r = 0; r < WARMUP; ++r) body();
    std::vector<double> t(REPS);
    for (int r = 0; r < REPS; ++r) {
        auto t0 = Clock::now();
        for (int k = 0; k < inner; ++k) body();
        auto t1 = Clock::now();
        t[r] = std::chrono::duration<double, std::micro>(t1 - t0).count() / inner;
    }
    std::nth_element(t.begin(), t.begin() + REPS / 2, t.end());
    return t[REPS / 2];
}

// Median µs per call of the plain function `fd` (a `double` version of a workload) at `x`.
template <class FD>
double plain_us(FD &&fd, const std::vector<double> &x) {
    volatile double sink = 0.0;
    double t = median_us(
        [&] {
            escape(x.data());
            sink = fd(x.data(), N);
        },
        PLAIN_INNER);
    (void)sink;
    return t;
}

// Whether `g` matches the analytic gradient `reference` to 1e-9 of its largest entry
// (or absolutely, below 1); `error` receives the largest difference.
inline bool matches(const std::vector<double> &g, const std::vector<double> &reference,
                    double &error) {
    double scale = 0.0;
    error = 0.0;
    for (size_t i = 0; i < g.size(); ++i) {
        error = std::max(error, std::fabs(g[i] - reference[i]));
        scale = std::max(scale, std::fabs(reference[i]));
    }
    return error <= 1e-9 * std::max(1.0, scale);
}

}  // namespace peers
