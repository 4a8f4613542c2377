// What the wrapper adds per recorded op: the same recording (y = y * x_i + x_i over n
// inputs) through Var and through the C calls directly, on the same tape, in ns per
// recorded op: medians of samples taken in turns, so that both see the same machine. The
// Var path also keeps each value (Var::primal) and checks for passive operands.
#pragma once

#include <cstdio>
#include <vector>

#include "harness.hpp"

namespace gradbench {

inline void wrapper_cost(ad::Tape &t, double budget_s) {
    const size_t n = 1 << 18;
    std::vector<double> x0(n);
    for (size_t i = 0; i < n; i++) x0[i] = 1.0 + 1e-6 * double(i);
    std::vector<ad::Var> x(n);
    std::vector<ad_var> raw(n);
    ad_tape *c = t.get();
    auto through_var = [&] {
        t.reset();
        ad::TapeScope scope(t);
        ad::inputs(x0.data(), n, x.data());
        ad::Var y = x[0];
        for (size_t i = 1; i < n; i++) y = y * x[i] + x[i];
    };
    auto through_c = [&] {
        (void)ad_tape_reset(c);
        for (size_t i = 0; i < n; i++) raw[i] = ad_input(c, x0[i]);
        ad_var y = raw[0];
        for (size_t i = 1; i < n; i++) y = ad_add(c, ad_mul(c, y, raw[i]), raw[i]);
    };
    std::vector<double> var_s, c_s;
    for (int round = 0; round < 15; round++) {
        var_s.push_back(median_seconds(through_var, budget_s / 30));
        c_s.push_back(median_seconds(through_c, budget_s / 30));
    }
    std::sort(var_s.begin(), var_s.end());
    std::sort(c_s.begin(), c_s.end());
    double var_median = var_s[var_s.size() / 2], c_median = c_s[c_s.size() / 2];
    double records = double(n + 2 * (n - 1));
    std::printf("# wrapper cost: %.1f ns per recorded op through Var, %.1f ns through the C calls (%zu inputs, %.0f records)\n",
                var_median / records * 1e9, c_median / records * 1e9, n, records);
}

} // namespace gradbench
