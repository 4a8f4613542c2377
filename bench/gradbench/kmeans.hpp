// kmeans: cost(C) = sum_i min_j |C_j - P_i|² over n points P in d dimensions (U(0, 1))
// and k centroids C (the last k points, so that no cluster is empty); the derivative is
// GradBench's Newton direction J ⊘ diag(H), the gradient divided elementwise by the
// Hessian's diagonal. H is diagonal, so diag(H) = H·1: one Hessian-vector product.
// The hand-written direction is C_j minus the mean of the points closest to C_j.
// The cost is a sum over points, so a size whose tape would not fit in memory is derived
// in `parts` (runs of points), one part's tape at a time (harness.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace gradbench {

struct Kmeans {
    static constexpr const char *name = "kmeans";
    static constexpr bool hessian = true;
    size_t k, n, d;
    std::vector<double> points, x0;
    size_t parts = 1; // runs of points the derivative is taken over one at a time

    Kmeans(size_t clusters, size_t npoints, size_t dims, std::mt19937_64 &rng)
        : k(clusters), n(npoints), d(dims), points(npoints * dims), x0(clusters * dims) {
        std::uniform_real_distribution<double> u(0.0, 1.0);
        for (double &v : points) v = u(rng);
        for (size_t i = 0; i < k * d; i++) x0[i] = points[(n - k) * d + i];
    }
    Kmeans(size_t clusters, size_t npoints, size_t dims, size_t in_parts, std::mt19937_64 &rng)
        : Kmeans(clusters, npoints, dims, rng) {
        parts = std::max<size_t>(1, std::min(in_parts, npoints));
    }
    std::string size() const {
        return "k=" + std::to_string(k) + ",n=" + std::to_string(n) + ",d=" + std::to_string(d);
    }

    template <class T> T operator()(const T *c) const { return cost_over(c, 0, n); }

    // The cost of part `p` of `parts`: the points [p·n/parts, (p+1)·n/parts).
    template <class T> T part(const T *c, size_t p) const {
        return cost_over(c, p * n / parts, (p + 1) * n / parts);
    }

    template <class T> T cost_over(const T *c, size_t first, size_t last) const {
        using std::fmin;
        T cost = 0;
        for (size_t i = first; i < last; i++) {
            T best = 0;
            for (size_t j = 0; j < k; j++) {
                T dist = 0;
                for (size_t l = 0; l < d; l++) {
                    T diff = points[i * d + l] - c[j * d + l];
                    dist += diff * diff;
                }
                best = j == 0 ? dist : fmin(best, dist);
            }
            cost += best;
        }
        return cost;
    }

    bool manual(const double *c, double *dir) const {
        std::vector<double> sum(k * d, 0.0);
        std::vector<size_t> count(k, 0);
        for (size_t i = 0; i < n; i++) {
            size_t arg = 0;
            double best = 0.0;
            for (size_t j = 0; j < k; j++) {
                double dist = 0.0;
                for (size_t l = 0; l < d; l++) dist += std::pow(points[i * d + l] - c[j * d + l], 2);
                if (j == 0 || dist < best) best = dist, arg = j;
            }
            count[arg]++;
            for (size_t l = 0; l < d; l++) sum[arg * d + l] += points[i * d + l];
        }
        for (size_t j = 0; j < k; j++)
            for (size_t l = 0; l < d; l++) dir[j * d + l] = c[j * d + l] - sum[j * d + l] / double(count[j]);
        return true;
    }
};

} // namespace gradbench
