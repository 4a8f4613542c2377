// ADOL-C peer benchmark: reverse-mode gradients of two scalar functions of
// n = 1000 inputs, timed three ways each:
//   retape : trace_on/trace_off (record the tape) + gradient(), every time
//   reuse  : gradient(tag, n, x, g) on a tape recorded once beforehand
//   plain  : the function evaluated on doubles (no derivatives)
// Times are medians over REPS samples after WARMUP untimed calls, in
// microseconds per call. Gradients are checked against analytic ones.
//
// Output (one line per function, machine-readable):
//   adolc <name> n=<n> retape_us=<..> reuse_us=<..> plain_us=<..>

#include <adolc/adolc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

constexpr int N = 1000;
constexpr int WARMUP = 20;
constexpr int REPS = 200;
// The plain function takes about a microsecond, below what one clock read
// resolves well, so each of its samples times PLAIN_INNER calls.
constexpr int PLAIN_INNER = 100;

// Keep the optimiser from hoisting or dropping benchmarked work.
template <class T>
inline void escape(T *p) { asm volatile("" : : "g"(p) : "memory"); }

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
    T f = 0.0;
    for (int i = 0; i < n - 1; ++i) {
        T a2 = 1.0 + x[i] * x[i];
        f += sin(x[i]) * exp(0.01 * x[i + 1]) + log(a2) + sqrt(1.0 + x[i + 1] * x[i + 1]) / a2;
    }
    return f;
}

void rosenbrock_grad(const double *x, int n, double *g) {
    std::fill(g, g + n, 0.0);
    for (int i = 0; i < n - 1; ++i) {
        double a = x[i + 1] - x[i] * x[i];
        g[i] += -400.0 * x[i] * a - 2.0 * (1.0 - x[i]);
        g[i + 1] += 200.0 * a;
    }
}

void chain_grad(const double *x, int n, double *g) {
    std::fill(g, g + n, 0.0);
    for (int i = 0; i < n - 1; ++i) {
        double a = x[i], b = x[i + 1];
        double a2 = 1.0 + a * a, e = std::exp(0.01 * b), sb = std::sqrt(1.0 + b * b);
        g[i] += std::cos(a) * e + 2.0 * a / a2 - sb * 2.0 * a / (a2 * a2);
        g[i + 1] += 0.01 * std::sin(a) * e + b / (sb * a2);
    }
}

using Clock = std::chrono::steady_clock;

template <class F>
double median_us(F &&body, int inner = 1) {
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

// Record f on tape `tag` at point x, y = f(x).
template <class Fn>
void record(short tag, const double *x, int n, Fn &&f) {
    std::vector<adouble> ax(n);
    adouble ay;
    double y;
    trace_on(tag);
    for (int i = 0; i < n; ++i) ax[i] <<= x[i];
    ay = f(ax.data(), n);
    ay >>= y;
    trace_off();
}

double max_abs_diff(const std::vector<double> &a, const std::vector<double> &b) {
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

double max_abs(const std::vector<double> &a) {
    double m = 0.0;
    for (double v : a) m = std::max(m, std::fabs(v));
    return m;
}

// Runs the three timings for one function; returns false if a gradient
// check fails.
template <class FA, class FD, class FG>
bool bench(const char *name, short tag_retape, short tag_reuse, FA &&fa, FD &&fd, FG &&fg) {
    const int n = N;
    std::vector<double> x(n), x2(n), g(n), gref(n);
    for (int i = 0; i < n; ++i) {
        x[i] = 0.5 + 0.4 * std::sin(0.37 * i);
        x2[i] = -0.3 + 0.6 * std::cos(0.11 * i);  // a different point for the reused tape
    }

    // Correctness: retaped gradient at x, reused tape (recorded at x) at x2.
    record(tag_retape, x.data(), n, fa);
    gradient(tag_retape, n, x.data(), g.data());
    fg(x.data(), n, gref.data());
    double err_retape = max_abs_diff(g, gref), scale1 = max_abs(gref);

    record(tag_reuse, x.data(), n, fa);
    gradient(tag_reuse, n, x2.data(), g.data());
    fg(x2.data(), n, gref.data());
    double err_reuse = max_abs_diff(g, gref), scale2 = max_abs(gref);

    std::printf("# adolc %s check: max_abs_diff retape=%.3e reuse=%.3e (max |g| %.3e, %.3e)\n", name,
                err_retape, err_reuse, scale1, scale2);
    bool ok = err_retape <= 1e-9 * std::max(1.0, scale1) && err_reuse <= 1e-9 * std::max(1.0, scale2);

    // (a) tape every time, then gradient.
    double retape = median_us([&] {
        record(tag_retape, x.data(), n, fa);
        gradient(tag_retape, n, x.data(), g.data());
        escape(g.data());
    });
    // (b) gradient on the existing tape.
    double reuse = median_us([&] {
        gradient(tag_reuse, n, x.data(), g.data());
        escape(g.data());
    });
    // (c) plain double function.
    volatile double sink = 0.0;
    double plain = median_us(
        [&] {
            escape(x.data());
            sink = fd(x.data(), n);
        },
        PLAIN_INNER);
    (void)sink;

    std::printf("adolc %s n=%d retape_us=%.1f reuse_us=%.1f plain_us=%.2f\n", name, n, retape, reuse,
                plain);
    return ok;
}

}  // namespace

int main() {
    bool ok = true;
    ok &= bench(
        "rosenbrock", 1, 2, [](const adouble *x, int n) { return rosenbrock<adouble>(x, n); },
        [](const double *x, int n) { return rosenbrock<double>(x, n); }, rosenbrock_grad);
    ok &= bench(
        "chain", 3, 4, [](const adouble *x, int n) { return chain<adouble>(x, n); },
        [](const double *x, int n) { return chain<double>(x, n); },
        chain_grad);
    if (!ok) {
        std::fprintf(stderr, "adolc: gradient check FAILED\n");
        return 1;
    }
    return 0;
}
