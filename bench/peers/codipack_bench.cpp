// CoDiPack peer benchmark: reverse-mode gradients of the two scalar functions of
// scalar_workloads.hpp on `codi::RealReverse` (CoDiPack's default tape, and the one
// GradBench's CoDiPack entry uses), timed three ways each:
//   retape   : record (register inputs, evaluate, register the output), seed, evaluate
//              the tape backward, read the gradient, reset: every call, as our
//              "gradient including recording" does
//   backward : clear the adjoints, seed and evaluate a tape recorded once (at the same
//              point: a Jacobian tape stores each statement's partial derivatives, not
//              the operations, so it cannot be re-evaluated at another point)
//   plain    : the function evaluated on doubles
// Times are medians over REPS samples after WARMUP untimed calls, in microseconds per
// call. Gradients are checked against analytic ones at two points.
//
// Output (one line per function, machine-readable):
//   codipack <name> n=<n> retape_us=<..> backward_us=<..> plain_us=<..>

#include <codi.hpp>

#include <cstdio>
#include <vector>

#include "scalar_workloads.hpp"

namespace {

using namespace peers;
using Real = codi::RealReverse;

// Records `f` at `x` on the global tape, leaving it passive; returns the output.
template <class Fn>
Real record(std::vector<Real> &inputs, const std::vector<double> &x, Fn &&f) {
    Real::Tape &tape = Real::getTape();
    tape.setActive();
    for (int i = 0; i < N; ++i) {
        inputs[i] = x[i];
        tape.registerInput(inputs[i]);
    }
    Real y = f(inputs.data(), N);
    tape.registerOutput(y);
    tape.setPassive();
    return y;
}

// Seeds `y` and evaluates the recorded tape backward into `g`.
void backward(Real &y, std::vector<Real> &inputs, std::vector<double> &g) {
    y.setGradient(1.0);
    Real::getTape().evaluate();
    for (int i = 0; i < N; ++i) g[i] = inputs[i].getGradient();
}

// The gradient at `x`, recorded anew.
template <class Fn>
void retaped_gradient(std::vector<Real> &inputs, const std::vector<double> &x, Fn &&f,
                      std::vector<double> &g) {
    Real y = record(inputs, x, f);
    backward(y, inputs, g);
    Real::getTape().reset();
}

// Runs the three timings for one function; returns false if a gradient check fails.
template <class FA, class FD, class FG>
bool bench(const char *name, FA &&fa, FD &&fd, FG &&fg) {
    const std::vector<double> x = point(), x2 = other_point();
    std::vector<double> g(N), gref(N);
    std::vector<Real> inputs(N);

    double err_x, err_x2;
    retaped_gradient(inputs, x, fa, g);
    fg(x.data(), N, gref.data());
    bool ok = matches(g, gref, err_x);
    retaped_gradient(inputs, x2, fa, g);
    fg(x2.data(), N, gref.data());
    ok &= matches(g, gref, err_x2);
    std::printf("# codipack %s check: max_abs_diff x=%.3e x2=%.3e\n", name, err_x, err_x2);

    double retape = median_us([&] {
        retaped_gradient(inputs, x, fa, g);
        escape(g.data());
    });
    Real y = record(inputs, x, fa);
    double backward_only = median_us([&] {
        Real::getTape().clearAdjoints();
        backward(y, inputs, g);
        escape(g.data());
    });
    Real::getTape().reset();
    double plain = plain_us(fd, x);

    std::printf("codipack %s n=%d retape_us=%.1f backward_us=%.1f plain_us=%.2f\n", name, N,
                retape, backward_only, plain);
    return ok;
}

}  // namespace

int main() {
    bool ok = true;
    ok &= bench(
        "rosenbrock", [](const Real *x, int n) { return rosenbrock<Real>(x, n); },
        [](const double *x, int n) { return rosenbrock<double>(x, n); }, rosenbrock_grad);
    ok &= bench(
        "chain", [](const Real *x, int n) { return chain<Real>(x, n); },
        [](const double *x, int n) { return chain<double>(x, n); }, chain_grad);
    if (!ok) {
        std::fprintf(stderr, "codipack: gradient check FAILED\n");
        return 1;
    }
    return 0;
}
