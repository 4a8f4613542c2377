// det: the determinant of an ℓ × ℓ matrix (row-major, entries from U(0, 1)) by expansion
// by minors along the first row, recursively over the remaining rows and columns.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace gradbench {

struct Det {
    static constexpr const char *name = "det";
    static constexpr bool hessian = false; // the gradient is the derivative
    std::vector<double> x0;
    size_t ell;

    Det(size_t edge, std::mt19937_64 &rng) : x0(edge * edge), ell(edge) {
        std::uniform_real_distribution<double> u(0.0, 1.0);
        for (double &v : x0) v = u(rng);
    }
    std::string size() const { return "ell=" + std::to_string(ell); }

    // The minor of rows [row, ell) and the columns whose bit is clear in `used`.
    template <class T> T minor(const T *a, size_t row, unsigned used) const {
        if (row + 1 == ell) {
            for (size_t c = 0; c < ell; c++)
                if (!(used & (1u << c))) return a[row * ell + c];
        }
        T sum = 0;
        bool plus = true;
        for (size_t c = 0; c < ell; c++) {
            if (used & (1u << c)) continue;
            T term = a[row * ell + c] * minor(a, row + 1, used | (1u << c));
            if (plus)
                sum += term;
            else
                sum -= term;
            plus = !plus;
        }
        return sum;
    }
    template <class T> T operator()(const T *a) const { return minor(a, 0, 0u); }

    // d det / d a_ij is the cofactor C_ij = det(A) (A^-1)_ji: an LU solve with partial
    // pivoting in double.
    bool manual(const double *a, double *g) const {
        size_t n = ell;
        std::vector<double> lu(a, a + n * n), inv(n * n, 0.0);
        std::vector<size_t> perm(n);
        double det = 1.0;
        for (size_t i = 0; i < n; i++) perm[i] = i;
        for (size_t k = 0; k < n; k++) {
            size_t p = k;
            for (size_t i = k + 1; i < n; i++)
                if (std::fabs(lu[i * n + k]) > std::fabs(lu[p * n + k])) p = i;
            if (p != k) {
                for (size_t j = 0; j < n; j++) std::swap(lu[k * n + j], lu[p * n + j]);
                std::swap(perm[k], perm[p]);
                det = -det;
            }
            det *= lu[k * n + k];
            for (size_t i = k + 1; i < n; i++) {
                lu[i * n + k] /= lu[k * n + k];
                for (size_t j = k + 1; j < n; j++) lu[i * n + j] -= lu[i * n + k] * lu[k * n + j];
            }
        }
        // Column c of A^-1 solves A x = e_c, i.e. LU x = P e_c.
        for (size_t c = 0; c < n; c++) {
            std::vector<double> x(n);
            for (size_t i = 0; i < n; i++) {
                double v = perm[i] == c ? 1.0 : 0.0;
                for (size_t j = 0; j < i; j++) v -= lu[i * n + j] * x[j];
                x[i] = v;
            }
            for (size_t i = n; i-- > 0;) {
                double v = x[i];
                for (size_t j = i + 1; j < n; j++) v -= lu[i * n + j] * x[j];
                x[i] = v / lu[i * n + i];
            }
            for (size_t i = 0; i < n; i++) inv[i * n + c] = x[i];
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) g[i * n + j] = det * inv[j * n + i];
        return true;
    }
};

} // namespace gradbench
