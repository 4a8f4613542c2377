// Tensor user ops from lambdas (bindings/cpp/autodiff/tensor_user_op.hpp): a softmax with
// a hand-written VJP and JVP against the built-in softmax and central differences, on
// AD_F64 and AD_F32 tapes, replay, a missing jvp, and failing or throwing callbacks
// leaving the tape usable after reset(). Ends with "N passed, M failed".
#include "autodiff.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#define CHECK_NEAR(got, want, tol) CHECK(std::fabs((got) - (want)) <= (tol) * (1.0 + std::fabs(want)))

using autodiff::Tape;
using autodiff::Tensor;
using autodiff::UserTensors;

static unsigned char mem[1 << 16];
static const size_t ROWS = 2, COLS = 3;
static const std::vector<double> x0 = {0.3, -1.2, 2.0, 0.7, 0.1, -0.4};
static const std::vector<double> w0 = {1.0, -0.5, 0.25, 2.0, -1.5, 0.75};

// Softmax of the rows of x (cols wide) into y.
template <class T> static void softmax_rows(const T *x, T *y, size_t len, size_t cols) {
    for (size_t r = 0; r < len / cols; r++) {
        T max = x[r * cols], total = 0;
        for (size_t c = 1; c < cols; c++) max = std::max(max, x[r * cols + c]);
        for (size_t c = 0; c < cols; c++) total += y[r * cols + c] = std::exp(x[r * cols + c] - max);
        for (size_t c = 0; c < cols; c++) y[r * cols + c] /= total;
    }
}

// d = y * (s - sum(y * s)) row by row: the VJP and (the Jacobian is symmetric) the JVP.
template <class T> static void softmax_derivative(const T *y, const T *s, T *d, size_t len, size_t cols) {
    for (size_t r = 0; r < len / cols; r++) {
        T dot = 0;
        for (size_t c = 0; c < cols; c++) dot += y[r * cols + c] * s[r * cols + c];
        for (size_t c = 0; c < cols; c++) d[r * cols + c] = y[r * cols + c] * (s[r * cols + c] - dot);
    }
}

// The softmax user op of element type T; forward_calls counts its forward runs.
template <class T> static auto make_softmax(int &forward_calls) {
    return autodiff::tensor_user_op<T>(
        [&forward_calls](UserTensors<T> x, UserTensors<T> y, T *) {
            forward_calls++;
            softmax_rows(x[0].data, y[0].data, x[0].len, x[0].dims[x[0].rank - 1]);
        },
        [](UserTensors<T> x, UserTensors<T> y, const T *, UserTensors<T> dy, UserTensors<T> dx) {
            softmax_derivative(y[0].data, dy[0].data, dx[0].data, x[0].len, x[0].dims[1]);
        },
        [](UserTensors<T> x, UserTensors<T> y, const T *, UserTensors<T> dx, UserTensors<T> dy) {
            softmax_derivative(y[0].data, dx[0].data, dy[0].data, x[0].len, x[0].dims[1]);
        });
}

static double plain_loss(const std::vector<double> &x) {
    std::vector<double> y(x.size());
    softmax_rows(x.data(), y.data(), x.size(), COLS);
    double total = 0;
    for (size_t i = 0; i < x.size(); i++) total += y[i] * w0[i];
    return total;
}

int main() {
    int forward_calls = 0;
    auto softmax_op = make_softmax<double>(forward_calls);
    std::vector<double> g_op, g_ref;
    for (int by_op = 1; by_op >= 0; by_op--) {
        Tape t(mem, sizeof mem);
        Tensor x = t.input<double>({ROWS, COLS}, x0);
        Tensor p = by_op ? softmax_op({x}, {{ROWS, COLS}})[0] : autodiff::softmax(x);
        Tensor l = autodiff::sum(p * t.constant<double>({ROWS, COLS}, w0));
        t.backward(l);
        (by_op ? g_op : g_ref) = x.grad<double>();
        if (by_op) {
            // Forward mode: the tangent of the loss along a seed is grad . seed.
            std::vector<double> seed = {1, 0, -1, 0.5, 2, 0};
            x.seed_tangent<double>(seed);
            t.jvp({});
            double directional = 0;
            for (size_t i = 0; i < seed.size(); i++) directional += g_op[i] * seed[i];
            CHECK_NEAR(l.tangent<double>()[0], directional, 1e-13);
            // Replay runs forward again.
            std::vector<double> moved = x0;
            moved[0] += 0.5;
            x.set_value<double>(moved);
            t.replay({});
            CHECK(forward_calls == 2);
            CHECK_NEAR(l.value<double>()[0], plain_loss(moved), 1e-14);
        }
    }
    for (size_t i = 0; i < g_op.size(); i++) {
        std::vector<double> xp = x0, xm = x0;
        xp[i] += 1e-6;
        xm[i] -= 1e-6;
        CHECK_NEAR(g_op[i], g_ref[i], 1e-13);
        CHECK_NEAR(g_op[i], (plain_loss(xp) - plain_loss(xm)) / 2e-6, 1e-8);
    }

    // f32, and an op without a jvp: forward mode fails with AD_ERR_NO_JVP, only that call.
    {
        auto reverse_only = autodiff::tensor_user_op<float>(
            [](UserTensors<float> x, UserTensors<float> y, float *) {
                softmax_rows(x[0].data, y[0].data, x[0].len, x[0].dims[1]);
            },
            [](UserTensors<float> x, UserTensors<float> y, const float *, UserTensors<float> dy,
               UserTensors<float> dx) {
                softmax_derivative(y[0].data, dy[0].data, dx[0].data, x[0].len, x[0].dims[1]);
            });
        Tape t(mem, sizeof mem, AD_F32);
        std::vector<float> xf(x0.begin(), x0.end()), wf(w0.begin(), w0.end());
        Tensor x = t.input<float>({ROWS, COLS}, xf);
        Tensor l = autodiff::sum(reverse_only({x}, {{ROWS, COLS}})[0] * t.constant<float>({ROWS, COLS}, wf));
        t.backward(l);
        std::vector<float> g = x.grad<float>();
        for (size_t i = 0; i < g.size(); i++) CHECK_NEAR(g[i], g_ref[i], 1e-5);
        CHECK(t.try_jvp({}) == AD_ERR_NO_JVP);
        CHECK(t.status() == AD_OK);
    }

    // A failing callback and a throwing one: the tape keeps AD_ERR_CALLBACK_FAILED, and
    // works again after reset().
    {
        auto failing = autodiff::tensor_user_op<double>(
            [](UserTensors<double>, UserTensors<double>, double *) { return 3; },
            [](UserTensors<double>, UserTensors<double>, const double *, UserTensors<double>,
               UserTensors<double>) {});
        auto throwing = autodiff::tensor_user_op<double>(
            [](UserTensors<double>, UserTensors<double>, double *) { throw std::runtime_error("no"); },
            [](UserTensors<double>, UserTensors<double>, const double *, UserTensors<double>,
               UserTensors<double>) {});
        Tape t(mem, sizeof mem);
        std::vector<Tensor> out;
        Tensor x = t.input<double>({ROWS, COLS}, x0);
        CHECK(failing.try_record({x}, {{ROWS, COLS}}, out) == AD_ERR_CALLBACK_FAILED);
        CHECK(out.size() == 1 && !out[0].is_valid());
        CHECK(t.status() == AD_ERR_CALLBACK_FAILED);
        t.reset();
        x = t.input<double>({ROWS, COLS}, x0);
        bool threw = false;
        try {
            throwing({x}, {{ROWS, COLS}});
        } catch (const autodiff::Error &e) {
            threw = e.status() == AD_ERR_CALLBACK_FAILED;
        }
        CHECK(threw);
        t.reset();
        x = t.input<double>({ROWS, COLS}, x0);
        t.backward(autodiff::sum(softmax_op({x}, {{ROWS, COLS}})[0]));
        CHECK(t.status() == AD_OK);
    }

    return check_summary();
}
