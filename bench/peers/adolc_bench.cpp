// ADOL-C peer benchmark: reverse-mode gradients of two scalar functions of
// n = 1000 inputs (scalar_workloads.hpp), timed three ways each:
//   retape : trace_on/trace_off (record the tape) + gradient(), every time
//   reuse  : gradient(tag, n, x, g) on a tape recorded once beforehand
//   plain  : the function evaluated on doubles (no derivatives)
// Times are medians over REPS samples after WARMUP untimed calls, in
// microseconds per call. Gradients are checked against analytic ones.
//
// Output (one line per function, machine-readable):
//   adolc <name> n=<n> retape_us=<..> reuse_us=<..> plain_us=<..>

#include <adolc/adolc.h>

#include <cstdio>
#include <vector>

#include "scalar_workloads.hpp"

namespace {

using namespace peers;

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

// Runs the three timings for one function; returns false if a gradient
// check fails.
template <class FA, class FD, class FG>
bool bench(const char *name, short tag_retape, short tag_reuse, FA &&fa, FD &&fd, FG &&fg) {
    const int n = N;
    const std::vector<double> x = point(), x2 = other_point();
    std::vector<double> g(n), gref(n);

    // Correctness: retaped gradient at x, reused tape (recorded at x) at x2.
    double err_retape, err_reuse;
    record(tag_retape, x.data(), n, fa);
    gradient(tag_retape, n, x.data(), g.data());
    fg(x.data(), n, gref.data());
    bool ok = matches(g, gref, err_retape);

    record(tag_reuse, x.data(), n, fa);
    gradient(tag_reuse, n, x2.data(), g.data());
    fg(x2.data(), n, gref.data());
    ok &= matches(g, gref, err_reuse);
    std::printf("# adolc %s check: max_abs_diff retape=%.3e reuse=%.3e\n", name, err_retape,
                err_reuse);

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
    double plain = plain_us(fd, x);

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
