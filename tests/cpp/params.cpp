// The C++ layer of data parallelism (bindings/cpp/autodiff/params.hpp): a group's buffer
// against its parameters' gradients, the step using a gradient reduced in place,
// checkpoint and resume (bitwise), the per-group notification, and errors as exceptions.
// The wrapper is included through the sub-header first, then through autodiff.hpp.
#include "autodiff/params.hpp"
#include "autodiff.hpp"

#include <cstdio>
#include <cstring>
#include <vector>

namespace ad = autodiff;

#include "check.hpp"

static unsigned char mem_a[1 << 16], mem_b[1 << 16];

struct Net {
    ad::Param w1, b1, w2, b2;
};

static Net make(ad::Tape &t) {
    std::vector<float> w1(6), w2(3);
    for (size_t i = 0; i < w1.size(); i++) w1[i] = 0.1f * static_cast<float>(i) - 0.25f;
    for (size_t i = 0; i < w2.size(); i++) w2[i] = 0.3f - 0.2f * static_cast<float>(i);
    Net n{t.param<float>({2, 3}, w1), t.param<float>({3}, {0.f, 0.f, 0.f}),
          t.param<float>({3, 1}, w2), t.param<float>({1}, {0.f})};
    t.adam(0.05);
    return n;
}

static ad::Var loss(ad::Tape &t, const Net &n, int step) {
    std::vector<float> x = {1.0f, -0.5f + 0.1f * static_cast<float>(step), 0.25f, 2.0f};
    ad::Tensor h = t.constant<float>({2, 2}, x);
    h = ad::linear(h, n.w1.use(), n.b1.use(), AD_ACT_TANH);
    h = ad::linear(h, n.w2.use(), n.b2.use(), AD_ACT_IDENTITY);
    return ad::sum(ad::square(h)).as_var();
}

static void train(ad::Tape &t, const Net &n, int from, int steps) {
    for (int s = from; s < from + steps; s++) {
        t.reset();
        t.backward(loss(t, n, s));
        t.step();
    }
}

int main() {
    {
        ad::Tape t(mem_a, sizeof mem_a, AD_F32);
        Net n = make(t);
        ad::ParamGroup<float> first = ad::group<float>(t, {n.w1, n.b1});
        ad::ParamGroup<float> second = ad::group<float>(t, {n.w2, n.b2});
        CHECK(first.size() == 9 && second.size() == 4);
        std::vector<ad_param_group> order;
        ad::backward_notify(t, loss(t, n, 0), [&](ad_param_group g) { order.push_back(g); });
        CHECK(order.size() == 2 && order[0].index == second.raw().index);
        std::vector<float> w1 = n.w1.grad<float>(), g1 = first.grads();
        CHECK(std::memcmp(g1.data(), w1.data(), w1.size() * sizeof(float)) == 0);
        // Reduced in place: doubled; the step uses it.
        std::vector<float> before = first.values();
        float *data = first.grad_data();
        for (size_t i = 0; i < first.size(); i++) data[i] *= 2.0f;
        CHECK(first.grads()[0] == 2.0f * g1[0]);
        t.step();
        CHECK(first.values() != before);
        bool thrown = false;
        try {
            first.write_grads(std::vector<float>(3));
        } catch (const ad::Error &e) {
            thrown = e.status() == AD_ERR_INVALID_ARGUMENT;
        }
        CHECK(thrown);
        thrown = false;
        try {
            t.reset();
            ad::backward_notify(t, loss(t, n, 1), [](ad_param_group) { throw 7; });
        } catch (int seven) {
            thrown = seven == 7;
        }
        CHECK(thrown);
    }
    {
        std::vector<float> expected, saved;
        std::vector<unsigned char> state;
        {
            ad::Tape t(mem_a, sizeof mem_a, AD_F32);
            Net n = make(t);
            ad::ParamGroup<float> all = ad::group_all<float>(t);
            train(t, n, 0, 6);
            expected = all.values();
        }
        {
            ad::Tape t(mem_b, sizeof mem_b, AD_F32);
            Net n = make(t);
            ad::ParamGroup<float> all = ad::group_all<float>(t);
            train(t, n, 0, 2);
            saved = all.values();
            state = ad::save_optimizer_state(t);
        }
        ad::Tape t(mem_b, sizeof mem_b, AD_F32);
        Net n = make(t);
        ad::ParamGroup<float> all = ad::group_all<float>(t);
        all.write_values(saved);
        ad::load_optimizer_state(t, state);
        train(t, n, 2, 4);
        std::vector<float> got = all.values();
        CHECK(got.size() == expected.size() &&
              std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)) == 0);
        bool thrown = false;
        try {
            ad::load_optimizer_state(t, std::vector<unsigned char>(state.size(), 0));
        } catch (const ad::Error &e) {
            thrown = e.status() == AD_ERR_STATE_MISMATCH;
        }
        CHECK(thrown);
    }
    return check_summary();
}
