// The C++ wrapper (bindings/cpp/autodiff.hpp): the seed examples, errors as exceptions
// and as statuses, move semantics, tensors and parameters. The header is included twice
// on purpose. Ends with "N passed, M failed" like the C tests.
#include "autodiff.hpp"
#include "autodiff.hpp"

#include <cmath>
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "check.hpp"
#define CHECK_NEAR(got, want)                                                            \
    do {                                                                                 \
        double g_ = (got), w_ = (want);                                                  \
        bool ok_ = std::fabs(g_ - w_) <= 1e-12 * (1.0 + std::fabs(w_));                  \
        if (!ok_) std::fprintf(stderr, "%s = %.17g, want %.17g\n", #got, g_, w_);        \
        check_record(ok_, __FILE__, __LINE__, #got " ~ " #want);                                         \
    } while (0)
// The statement must throw autodiff::Error with status `want`.
#define CHECK_THROWS(stmt, want)                                                         \
    do {                                                                                 \
        bool thrown_ = false;                                                            \
        try {                                                                            \
            stmt;                                                                        \
        } catch (const autodiff::Error &e_) {                                            \
            thrown_ = e_.status() == (want);                                             \
            if (!thrown_) std::fprintf(stderr, "threw %s\n", e_.what());                 \
        }                                                                                \
        check_record(thrown_, __FILE__, __LINE__, #stmt " throws " #want);                               \
    } while (0)

namespace ad = autodiff;

static_assert(!std::is_copy_constructible<ad::Tape>::value, "Tape is move-only");
static_assert(!std::is_copy_assignable<ad::Tape>::value, "Tape is move-only");
static_assert(std::is_nothrow_move_constructible<ad::Tape>::value, "Tape moves");
static_assert(std::is_nothrow_move_assignable<ad::Tape>::value, "Tape moves");
static_assert(std::is_trivially_copyable<ad::Var>::value, "Var is a plain value");
static_assert(std::is_base_of<std::runtime_error, ad::Error>::value, "Error is runtime_error");

// f(x, y) = (x + y)(x - 2y) at (3, 2): df/dx = 4, df/dy = -11; in caller memory.
static void seed_product() {
    static unsigned char mem[4096];
    ad::Tape t(mem, sizeof mem, AD_F64);
    ad::Var x = t.input(3.0), y = t.input(2.0);
    ad::Var f = (x + y) * (x - 2.0 * y);
    CHECK_NEAR(f.value(), -5.0);
    t.backward(f);
    CHECK_NEAR(x.grad(), 4.0);
    CHECK_NEAR(y.grad(), -11.0);
    std::vector<double> g = t.gradient(f);
    CHECK(g.size() == 2);
    CHECK_NEAR(g[0], 4.0);
    CHECK_NEAR(g[1], -11.0);
    CHECK(t.status() == AD_OK);
    CHECK(t.len() >= 2 && t.num_inputs() == 2);
    CHECK(t.bytes_used() > 0 && t.bytes_used() <= sizeof mem);
}

// 2x² + sin x at 3: forward (jvp) and reverse agree on 4x + cos x.
static void seed_forward_reverse() {
    ad::Tape t = ad::Tape::heap(1 << 14);
    ad::Var x = t.input(3.0);
    ad::Var f = 2.0 * x * x + sin(x);
    double want = 12.0 + std::cos(3.0);
    CHECK_NEAR(f.value(), 18.0 + std::sin(3.0));
    t.jvp({1.0});
    CHECK_NEAR(f.tangent(), want);
    t.backward(f);
    CHECK_NEAR(x.grad(), want);
    // Replay at a new point without recording again.
    t.replay({1.0});
    CHECK_NEAR(f.value(), 2.0 + std::sin(1.0));
    t.backward(f);
    CHECK_NEAR(x.grad(), 4.0 + std::cos(1.0));
}

// x² + y² at (3, 4): gradient (6, 8).
static void seed_sum_of_squares() {
    ad::Tape t = ad::Tape::heap(1 << 14);
    ad::Var x = t.input(3.0), y = t.input(4.0);
    ad::Var f = pow(x, 2) + y * y;
    std::vector<double> g = t.gradient(f);
    CHECK(g.size() == 2);
    CHECK_NEAR(g[0], 6.0);
    CHECK_NEAR(g[1], 8.0);
    CHECK_NEAR(f.value(), 25.0);
    CHECK_NEAR(hypot(x, y).value(), 5.0);
}

// Operators and functions match the C ops and libm.
static void ops() {
    ad::Tape t = ad::Tape::heap(1 << 16);
    ad::Var x = t.input(0.5), y = t.input(2.0);
    CHECK_NEAR((x - y).value(), -1.5);
    CHECK_NEAR((x / y).value(), 0.25);
    CHECK_NEAR((1.0 + x).value(), 1.5);
    CHECK_NEAR((x + 1.0).value(), 1.5);
    CHECK_NEAR((1.0 - x).value(), 0.5);
    CHECK_NEAR((x - 1.0).value(), -0.5);
    CHECK_NEAR((1.0 / x).value(), 2.0);
    CHECK_NEAR((x / 4.0).value(), 0.125);
    CHECK_NEAR((-x).value(), -0.5);
    CHECK_NEAR(exp(x).value(), std::exp(0.5));
    CHECK_NEAR(log(y).value(), std::log(2.0));
    CHECK_NEAR(sqrt(y).value(), std::sqrt(2.0));
    CHECK_NEAR(tanh(x).value(), std::tanh(0.5));
    CHECK_NEAR(cos(x).value(), std::cos(0.5));
    CHECK_NEAR(atan2(x, y).value(), std::atan2(0.5, 2.0));
    CHECK_NEAR(pow(y, 0.5).value(), std::sqrt(2.0));
    CHECK_NEAR(pow(y, x).value(), std::pow(2.0, 0.5));
    CHECK_NEAR(pow(2.0, x).value(), std::pow(2.0, 0.5));
    CHECK_NEAR(erf(x).value(), std::erf(0.5));
    CHECK_NEAR(min(x, y).value(), 0.5);
    CHECK_NEAR(max(x, 3.0).value(), 3.0);
    CHECK_NEAR(abs(-x).value(), 0.5);
    ad::Var z = x;
    z += y;
    z *= 3.0;
    z -= 1.0;
    z /= y;
    CHECK_NEAR(z.value(), (3.0 * 2.5 - 1.0) / 2.0);
    CHECK(t.status() == AD_OK);
    // d/dx sigmoid(x) = s(1 - s)
    ad::Var s = sigmoid(x);
    t.backward(s);
    double sv = 1.0 / (1.0 + std::exp(-0.5));
    CHECK_NEAR(x.grad(), sv * (1.0 - sv));
    // Jacobian of (x*y, x+y), reverse and forward.
    std::vector<double> jr = t.jacobian({x * y, x + y});
    std::vector<double> jf = t.jacobian({x * y, x + y}, true);
    std::vector<double> want = {2.0, 0.5, 1.0, 1.0};
    CHECK(jr == want && jf == want);
    // Dual numbers, no tape.
    ad::Dual d = sin(ad::Dual(3.0, 1.0)) + ad::Dual(3.0, 1.0) * 2.0;
    CHECK_NEAR(d.value(), std::sin(3.0) + 6.0);
    CHECK_NEAR(d.tangent(), std::cos(3.0) + 2.0);
}

// A stale variable after reset: recording stays sticky, backward throws with the
// tape's status and message; the try_* forms return the status instead.
static void stale_after_reset() {
    ad::Tape t = ad::Tape::heap(1 << 14);
    ad::Var x = t.input(3.0);
    ad::Var f = x * x;
    t.backward(f);
    t.reset();
    CHECK(t.status() == AD_OK);
    CHECK(t.len() == 0);
    ad::Var y = t.input(1.0);
    ad::Var g = x * y; // records nothing: x is stale; no throw here
    CHECK(!g.is_valid());
    CHECK(t.status() == AD_ERR_STALE_HANDLE);
    CHECK(t.try_backward(g) == AD_ERR_STALE_HANDLE);
    bool thrown = false;
    try {
        t.backward(g);
    } catch (const ad::Error &e) {
        thrown = true;
        CHECK(e.status() == AD_ERR_STALE_HANDLE);
        CHECK(!e.message().empty());
        CHECK(e.message() == t.error());
        CHECK(std::string(e.what()).find("ad_backward") == 0);
        CHECK(std::string(e.status_str()) == ad_status_str(AD_ERR_STALE_HANDLE));
    }
    CHECK(thrown);
    CHECK_THROWS(t.gradient(g), AD_ERR_STALE_HANDLE);
    CHECK_THROWS(t.jvp({1.0}), AD_ERR_STALE_HANDLE);
    CHECK_THROWS(t.replay({1.0}), AD_ERR_STALE_HANDLE);
    // Reading a stale variable throws too; try_value does not.
    double v = 0.0;
    CHECK(x.try_value(v) == AD_ERR_STALE_HANDLE);
    CHECK_THROWS((void)x.value(), AD_ERR_STALE_HANDLE);
    // After another reset the tape works again.
    t.reset();
    ad::Var a = t.input(2.0);
    t.backward(a * a * a);
    CHECK_NEAR(a.grad(), 12.0);
    // Wrong seed count: not sticky, still an exception.
    CHECK_THROWS(t.jvp({1.0, 2.0}), AD_ERR_INVALID_ARGUMENT);
    CHECK(t.try_replay({}) == AD_ERR_INVALID_ARGUMENT);
}

// Construction failures: throwing and non-throwing.
static void construction() {
    unsigned char small[8];
    CHECK_THROWS(ad::Tape(small, sizeof small), AD_ERR_OUT_OF_MEMORY);
    CHECK_THROWS(ad::Tape(nullptr, 4096), AD_ERR_NULL);
    CHECK_THROWS(ad::Tape::heap(0), AD_ERR_OUT_OF_MEMORY);
    ad::Tape quiet(small, sizeof small, AD_F64, std::nothrow);
    CHECK(!quiet.valid());
    CHECK(quiet.status() == AD_ERR_OUT_OF_MEMORY);
    CHECK(!quiet.error().empty());
    ad::Tape quiet_heap = ad::Tape::heap(0, AD_F64, std::nothrow);
    CHECK(!quiet_heap && quiet_heap.status() == AD_ERR_OUT_OF_MEMORY);
    CHECK(ad::Tape::bytes_for(100) > ad::Tape::bytes_for(1));
    // An arena too small for the expression: sticky out-of-memory at backward.
    ad::Tape tiny = ad::Tape::heap(ad::Tape::bytes_for(3));
    ad::Var x = tiny.input(1.0);
    ad::Var f = x;
    for (int i = 0; i < 50; i++) f = f * x;
    CHECK(tiny.status() == AD_ERR_OUT_OF_MEMORY);
    CHECK_THROWS(tiny.backward(f), AD_ERR_OUT_OF_MEMORY);
}

// Moves: the C tape stays put, Vars stay valid, the moved-from tape frees nothing.
static void moves() {
    static unsigned char mem[4096];
    ad::Tape a(mem, sizeof mem);
    ad::Var x = a.input(3.0);
    ad::Tape b(std::move(a));
    CHECK(!a.valid());
    CHECK(a.status() == AD_ERR_NULL);
    CHECK(b.valid());
    ad::Var f = x * x;
    b.backward(f);
    CHECK_NEAR(x.grad(), 6.0);

    ad::Tape h = ad::Tape::heap(1 << 14);
    CHECK_NEAR(h.input(4.0).value(), 4.0);
    h = std::move(b); // frees h's heap tape, takes b's
    CHECK(!b.valid());
    CHECK(h.get() != nullptr);
    CHECK_NEAR(f.value(), 9.0);
    ad::Tape c = ad::Tape::heap(1 << 14);
    ad::Tape d = std::move(c);
    ad::Tape &alias = d;
    d = std::move(alias); // self-move leaves it alone
    CHECK(d.valid());
    CHECK_NEAR(d.input(5.0).value(), 5.0);
}

// Tensors: a linear layer, cross-entropy, gradients against a hand check.
static void tensors() {
    ad::Tape t = ad::Tape::heap(1 << 18, AD_F64);
    std::vector<double> xv = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}; // [2, 3]
    std::vector<double> wv = {1.0, 0.0, 0.0, 1.0, 1.0, -1.0}; // [3, 2]
    std::vector<double> bv = {0.5, -0.5};
    ad::Tensor x = t.constant({2, 3}, xv);
    ad::Tensor w = t.input({3, 2}, wv);
    ad::Tensor b = t.input({2}, bv);
    ad::Tensor y = matmul(x, w);
    CHECK(y.dims() == (std::vector<size_t>{2, 2}));
    std::vector<double> yv = y.value<double>();
    CHECK(yv == (std::vector<double>{4.0, -1.0, 10.0, -1.0}));
    ad::Tensor h = relu(linear(x, w, b));
    CHECK(h.value<double>() == (std::vector<double>{4.5, 0.0, 10.5, 0.0}));
    ad::Tensor loss = sum(h);
    CHECK(loss.rank() == 0);
    t.backward(loss);
    // d sum(relu(xw + b)) / db = [2, 0] (the second column is negative).
    CHECK(b.grad<double>() == (std::vector<double>{2.0, 0.0}));
    ad::Tensor ce = cross_entropy(linear(x, w, b), {0, 1});
    CHECK(ce.is_valid());
    t.backward(ce);
    std::vector<double> gb = b.grad<double>();
    CHECK(gb.size() == 2 && std::fabs(gb[0] + gb[1]) < 1e-12);
    // A shape mismatch is sticky and names both shapes.
    ad::Tensor bad = matmul(x, x);
    CHECK(!bad.is_valid());
    CHECK(t.status() == AD_ERR_SHAPE_MISMATCH);
    CHECK(t.error().find("[2, 3]") != std::string::npos);
    CHECK_THROWS(t.backward(sum(bad)), AD_ERR_SHAPE_MISMATCH);
    // Wrong element type: an exception from the data call.
    t.reset();
    ad::Tensor z = t.input({2}, bv);
    CHECK_THROWS((void)z.value<float>(), AD_ERR_DTYPE_MISMATCH);
}

// Parameters and an optimizer on an AD_F32 tape: fit w in y = 3x by SGD.
static void training() {
    ad::Tape t = ad::Tape::heap(1 << 16, AD_F32);
    ad::Param w = t.param<float>({1, 1}, {0.0f});
    t.sgd(0.1);
    CHECK(t.param_count() == 1);
    std::vector<float> xs = {1.0f, 2.0f, -1.0f, 0.5f}, ys = {3.0f, 6.0f, -3.0f, 1.5f};
    float first = 0.0f, last = 0.0f;
    for (int step = 0; step < 50; step++) {
        t.reset();
        ad::Tensor x = t.constant({4, 1}, xs);
        ad::Tensor y = t.constant({4, 1}, ys);
        ad::Tensor loss = mse(matmul(x, w.use()), y);
        t.backward(loss);
        float l = loss.value<float>()[0];
        if (step == 0) first = l;
        last = l;
        t.step();
    }
    CHECK(last < first * 1e-3f);
    CHECK(std::fabs(w.value<float>()[0] - 3.0f) < 1e-3f);
    CHECK_THROWS(t.sgd(0.1), AD_ERR_INVALID_ARGUMENT); // set once only
}

// The same fit with the weight and data on the reference CPU device: identical numbers,
// and the device's own errors as exceptions.
static void devices() {
    static float device_memory[256];
    ad::Device dev = ad::Device::cpu(device_memory, sizeof device_memory, AD_F32);
    ad::Tape host = ad::Tape::heap(1 << 16, AD_F32), t = ad::Tape::heap(1 << 16, AD_F32);
    int id = t.attach(dev);
    CHECK(id == 1);
    t.use_device(id);
    std::vector<float> xs = {1.0f, 2.0f, -1.0f, 0.5f}, ys = {3.0f, 6.0f, -3.0f, 1.5f};
    ad::Param w_host = host.param<float>({1, 1}, {0.0f}), w = t.param<float>({1, 1}, {0.0f});
    host.sgd(0.1);
    t.sgd(0.1);
    for (int step = 0; step < 5; step++) {
        host.reset();
        t.reset();
        ad::Tensor lh = mse(matmul(host.constant({4, 1}, xs), w_host.use()), host.constant({4, 1}, ys));
        ad::Tensor x = t.constant({4, 1}, xs);
        CHECK(x.device() == id);
        ad::Tensor l = mse(matmul(x, w.use()), t.constant({4, 1}, ys));
        host.backward(lh);
        t.backward(l);
        CHECK(l.value<float>()[0] == lh.value<float>()[0]);
        host.step();
        t.step();
    }
    CHECK(w.value<float>()[0] == w_host.value<float>()[0]);
    CHECK(w.value<float>()[0] > 1.0f); // it moved from 0 towards 3: the gradients arrived
    t.reset();
    ad::Tensor on_host = t.constant({2}, std::vector<float>{1.0f, 2.0f}).to_host();
    CHECK(on_host.device() == 0);
    ad::Tensor mixed = on_host + t.constant({2}, std::vector<float>{1.0f, 2.0f});
    CHECK(!mixed.is_valid());
    CHECK(t.status() == AD_ERR_DEVICE_MISMATCH);
    t.reset();
    CHECK_THROWS(t.use_device(9), AD_ERR_UNKNOWN_DEVICE);
    CHECK_THROWS(host.attach(dev), AD_ERR_INVALID_ARGUMENT); // serves `t`
    if (!ad_device_available()) CHECK_THROWS(ad::Device::cuda(0, 1 << 20), AD_ERR_NO_DEVICE);
}

int main() {
    const std::pair<const char *, void (*)()> tests[] = {
        {"seed_product", seed_product},
        {"seed_forward_reverse", seed_forward_reverse},
        {"seed_sum_of_squares", seed_sum_of_squares},
        {"ops", ops},
        {"stale_after_reset", stale_after_reset},
        {"construction", construction},
        {"moves", moves},
        {"tensors", tensors},
        {"training", training},
        {"devices", devices},
    };
    for (const auto &test : tests) {
        try {
            test.second();
        } catch (const std::exception &e) {
            failed++;
            std::fprintf(stderr, "%s: unexpected exception: %s\n", test.first, e.what());
        }
    }
    return check_summary();
}
