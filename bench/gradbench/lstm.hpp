// lstm: ADBench's LSTM (diagonal weights): l layers of hidden size b over a sequence of
// c characters; the objective is the mean log-likelihood of each next character under a
// softmax of the prediction. Differentiated with respect to the main parameters
// (2l × 4b: per layer the weights, then the biases, of the forget, input and output gates
// and the change) and the extra parameters (3 × b: input weights, output weights, output
// biases). State and sequence are data. Values from U(-1, 1), seeded. No hand-written
// gradient: central differences check it.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace gradbench {

struct Lstm {
    static constexpr const char *name = "lstm";
    static constexpr bool hessian = false; // the gradient is the derivative
    size_t l, c, b;
    std::vector<double> x0; // main parameters, then extra parameters
    std::vector<double> state, sequence;

    Lstm(size_t layers, size_t chars, size_t hidden, std::mt19937_64 &rng)
        : l(layers), c(chars), b(hidden), x0(2 * layers * 4 * hidden + 3 * hidden),
          state(2 * layers * hidden), sequence(chars * hidden) {
        std::uniform_real_distribution<double> u(-1.0, 1.0);
        for (double &v : x0) v = u(rng);
        for (double &v : state) v = u(rng);
        for (double &v : sequence) v = u(rng);
    }
    std::string size() const {
        return "l=" + std::to_string(l) + ",c=" + std::to_string(c) + ",b=" + std::to_string(b);
    }

    // Called as sigmoid<T>: with expression-template types (CoDiPack) the argument is an
    // expression, not T.
    template <class T> static T sigmoid(const T &x) {
        using std::exp;
        return 1.0 / (1.0 + exp(-x));
    }

    // One layer: updates hidden and cell in place from `input`.
    template <class T>
    void layer(const T *weight, const T *bias, T *hidden, T *cell, const T *input) const {
        using std::tanh;
        for (size_t i = 0; i < b; i++) {
            T forget = sigmoid<T>(input[i] * weight[i] + bias[i]);
            T ingate = sigmoid<T>(hidden[i] * weight[b + i] + bias[b + i]);
            T outgate = sigmoid<T>(input[i] * weight[2 * b + i] + bias[2 * b + i]);
            T change = tanh(hidden[i] * weight[3 * b + i] + bias[3 * b + i]);
            cell[i] = cell[i] * forget + ingate * change;
            hidden[i] = outgate * tanh(cell[i]);
        }
    }

    template <class T> T operator()(const T *p) const {
        using std::exp;
        using std::log;
        const T *main = p, *extra = p + 2 * l * 4 * b;
        std::vector<T> st(state.begin(), state.end()), x(b), pred(b);
        T total = 0;
        for (size_t t = 0; t + 1 < c; t++) {
            for (size_t i = 0; i < b; i++) x[i] = sequence[t * b + i] * extra[i];
            const T *layer_in = x.data();
            for (size_t k = 0; k < l; k++) {
                layer(main + 2 * k * 4 * b, main + (2 * k + 1) * 4 * b, &st[2 * k * b],
                      &st[(2 * k + 1) * b], layer_in);
                layer_in = &st[2 * k * b];
            }
            for (size_t i = 0; i < b; i++) pred[i] = layer_in[i] * extra[b + i] + extra[2 * b + i];
            T sum = 0;
            for (size_t i = 0; i < b; i++) sum += exp(pred[i]);
            T lse = log(sum);
            for (size_t i = 0; i < b; i++) total += sequence[(t + 1) * b + i] * (pred[i] - lse);
        }
        return -total / double((c - 1) * b);
    }

    bool manual(const double *, double *) const { return false; }
};

} // namespace gradbench
