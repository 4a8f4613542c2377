// gmm: the negative log-likelihood of N points in D dimensions under a mixture of K
// Gaussians, with a Wishart prior on the precisions (ADBench's objective, as GradBench
// uses it): parameters alphas (K), means (K × D) and the inverse covariance factors
// (K × D(D+1)/2: log-diagonal, then the lower triangle by columns). Points, alphas and
// factors from N(0, 1), means from U(0, 1); Wishart gamma 1, m 0, as GradBench draws
// them. No hand-written gradient: central differences check it.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace gradbench {

struct Gmm {
    static constexpr const char *name = "gmm";
    static constexpr bool hessian = false; // the gradient is the derivative
    size_t d, k, n;
    std::vector<double> x0; // alphas, means, icf
    std::vector<double> points;
    double gamma = 1.0;
    int m = 0;

    Gmm(size_t dims, size_t comps, size_t npoints, std::mt19937_64 &rng)
        : d(dims), k(comps), n(npoints), x0(comps + comps * dims + comps * dims * (dims + 1) / 2),
          points(npoints * dims) {
        std::normal_distribution<double> normal(0.0, 1.0);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        for (size_t i = 0; i < k; i++) x0[i] = normal(rng);
        for (size_t i = k; i < k + k * d; i++) x0[i] = u(rng);
        for (size_t i = k + k * d; i < x0.size(); i++) x0[i] = normal(rng);
        for (double &v : points) v = normal(rng);
    }
    std::string size() const {
        return "d=" + std::to_string(d) + ",k=" + std::to_string(k) + ",n=" + std::to_string(n);
    }

    template <class T> static T log_sum_exp(const T *v, size_t len) {
        using std::exp;
        using std::log;
        T a = v[0];
        for (size_t i = 1; i < len; i++) a = std::max(a, v[i]);
        T sum = 0;
        for (size_t i = 0; i < len; i++) sum += exp(v[i] - a);
        return a + log(sum);
    }

    template <class T> T operator()(const T *p) const {
        using std::exp;
        const T *alphas = p, *means = p + k, *icf = p + k + k * d;
        size_t icf_len = d * (d + 1) / 2;
        std::vector<T> q_diag(k * d), sum_qs(k), main_term(k), centred(d), q_x(d);
        for (size_t c = 0; c < k; c++) {
            sum_qs[c] = 0;
            for (size_t i = 0; i < d; i++) {
                sum_qs[c] += icf[c * icf_len + i];
                q_diag[c * d + i] = exp(icf[c * icf_len + i]);
            }
        }
        T slse = 0;
        for (size_t j = 0; j < n; j++) {
            for (size_t c = 0; c < k; c++) {
                for (size_t i = 0; i < d; i++) centred[i] = points[j * d + i] - means[c * d + i];
                // Q (x - mu): the diagonal, then the strictly lower triangle by columns.
                for (size_t i = 0; i < d; i++) q_x[i] = q_diag[c * d + i] * centred[i];
                size_t l = d;
                for (size_t i = 0; i < d; i++)
                    for (size_t r = i + 1; r < d; r++) q_x[r] += icf[c * icf_len + l++] * centred[i];
                T norm = 0;
                for (size_t i = 0; i < d; i++) norm += q_x[i] * q_x[i];
                main_term[c] = alphas[c] + sum_qs[c] - 0.5 * norm;
            }
            slse += log_sum_exp(main_term.data(), k);
        }
        // The Wishart prior, without its constant (below).
        T prior = 0;
        for (size_t c = 0; c < k; c++) {
            T frob = 0;
            for (size_t i = 0; i < d; i++) frob += q_diag[c * d + i] * q_diag[c * d + i];
            for (size_t i = d; i < icf_len; i++) frob += icf[c * icf_len + i] * icf[c * icf_len + i];
            prior += 0.5 * gamma * gamma * frob - double(m) * sum_qs[c];
        }
        return constant() + slse - double(n) * log_sum_exp(alphas, k) + prior;
    }

    // The terms that depend on no parameter: the Gaussians' normalisation and the
    // Wishart prior's.
    double constant() const {
        const double pi = 3.14159265358979323846;
        double dof = double(d) + m + 1, lgamma_sum = 0.25 * double(d) * (double(d) - 1) * std::log(pi);
        for (size_t j = 1; j <= d; j++) lgamma_sum += std::lgamma(0.5 * dof + 0.5 * (1.0 - double(j)));
        double c = dof * double(d) * (std::log(gamma) - 0.5 * std::log(2.0)) - lgamma_sum;
        return -double(n) * double(d) * 0.5 * std::log(2 * pi) - double(k) * c;
    }

    bool manual(const double *, double *) const { return false; }
};

} // namespace gradbench
