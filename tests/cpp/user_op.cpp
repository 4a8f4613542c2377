// User-defined ops from lambdas (bindings/cpp/autodiff/user_op.hpp): derivatives against
// central differences, a missing jvp, and failing or throwing callbacks leaving the tape
// usable after reset(). Ends with "N passed, M failed".
#include "autodiff.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#define CHECK_NEAR(got, want, tol) CHECK(std::fabs((got) - (want)) <= (tol) * (1.0 + std::fabs(want)))

using autodiff::Tape;
using autodiff::Var;

static unsigned char mem[1 << 14];

static double f_plain(double r, double t) {
    double x = r * std::cos(t), y = r * std::sin(t);
    return x * y + std::sin(x);
}

int main() {
    int forward_calls = 0;
    // (r, t) -> (r cos t, r sin t), saving cos t and sin t.
    auto polar = autodiff::user_op(
        [&](const double *x, double *y, double *s) {
            forward_calls++;
            s[0] = std::cos(x[1]);
            s[1] = std::sin(x[1]);
            y[0] = x[0] * s[0];
            y[1] = x[0] * s[1];
        },
        [](const double *x, const double *, const double *s, const double *dy, double *dx) {
            dx[0] = dy[0] * s[0] + dy[1] * s[1];
            dx[1] = -dy[0] * x[0] * s[1] + dy[1] * x[0] * s[0];
        },
        [](const double *x, const double *, const double *s, const double *dx, double *dy) {
            dy[0] = dx[0] * s[0] - dx[1] * x[0] * s[1];
            dy[1] = dx[0] * s[1] + dx[1] * x[0] * s[0];
        },
        2);
    Tape t(mem, sizeof mem);
    Var r = t.input(1.3), th = t.input(0.4);
    std::vector<Var> xy = polar({r, th}, 2);
    Var f = xy[0] * xy[1] + sin(xy[0]);
    for (double at : {0.4, -1.7, 2.9}) {
        t.replay({1.3, at});
        std::vector<double> g = t.gradient(f);
        const double h = 1e-6;
        CHECK_NEAR(g[0], (f_plain(1.3 + h, at) - f_plain(1.3 - h, at)) / (2 * h), 1e-6);
        CHECK_NEAR(g[1], (f_plain(1.3, at + h) - f_plain(1.3, at - h)) / (2 * h), 1e-6);
        t.jvp({0.0, 1.0});
        CHECK_NEAR(f.tangent(), g[1], 1e-13);
    }
    CHECK(forward_calls == 4);

    // No jvp: forward mode fails with AD_ERR_NO_JVP, reverse mode works.
    auto reverse_only = autodiff::user_op(
        [](const double *x, double *y, double *) { y[0] = 3.0 * x[0]; },
        [](const double *, const double *, const double *, const double *dy, double *dx) {
            dx[0] = 3.0 * dy[0];
        });
    t.reset();
    Var x = t.input(2.0);
    Var y = reverse_only({x}, 1)[0];
    CHECK(t.try_jvp({1.0}) == AD_ERR_NO_JVP);
    CHECK(t.gradient(y)[0] == 3.0);

    // A callback that returns non-zero, or throws: the tape keeps AD_ERR_CALLBACK_FAILED.
    auto failing = autodiff::user_op([](const double *, double *, double *) { return 4; },
                                     [](const double *, const double *, const double *,
                                        const double *, double *) {});
    auto throwing = autodiff::user_op(
        [](const double *x, double *y, double *) { y[0] = x[0]; },
        [](const double *, const double *, const double *, const double *, double *) {
            throw std::runtime_error("no derivative today");
        });
    for (int which = 0; which < 2; which++) {
        t.reset();
        x = t.input(2.0);
        bool thrown = false;
        try {
            Var z = which == 0 ? failing({x}, 1)[0] : throwing({x}, 1)[0];
            t.gradient(z);
        } catch (const autodiff::Error &e) {
            thrown = e.status() == AD_ERR_CALLBACK_FAILED;
        }
        CHECK(thrown);
        t.reset();
        x = t.input(3.0);
        CHECK(t.gradient(x * x)[0] == 6.0);
    }
    return check_summary();
}
