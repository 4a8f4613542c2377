// autodiff/sparse.hpp: vector modes, dense Hessians and sparse Jacobian/Hessian plans.
// Part of the C++ wrapper; include "autodiff.hpp" for all of it.
//
// forward_vector / forward_vector_at / reverse_vector / hessian forward to
// ad_forward_vector, ad_forward_vector_at, ad_reverse_vector and ad_hessian. SparsePlan is RAII over an ad_sparse plan placed in
// caller memory (ad_sparse_jacobian_init / ad_sparse_hessian_init, ended by
// ad_sparse_done): made once from a recording, evaluated at new inputs as often as
// needed. Failures throw autodiff::Error; each throwing call has a try_* form.
#pragma once
#ifndef AUTODIFF_SPARSE_HPP
#define AUTODIFF_SPARSE_HPP

#include <cstddef>
#include <utility>
#include <vector>

#include "autodiff.h"
#include "error.hpp"
#include "tape.hpp"
#include "var.hpp"

namespace autodiff {

namespace detail {
inline std::vector<ad_var> raw_vars(const std::vector<Var> &vars) {
    std::vector<ad_var> raw;
    raw.reserve(vars.size());
    for (const Var &v : vars) raw.push_back(v.raw());
    return raw;
}
} // namespace detail

// Y = J·X for `p` directions: `seeds` is num_inputs × p, row-major; returns outputs × p.
inline std::vector<double> forward_vector(Tape &t, const std::vector<Var> &outputs,
                                          const std::vector<double> &seeds, size_t p) {
    std::vector<ad_var> raw = detail::raw_vars(outputs);
    std::vector<double> out(outputs.size() * p);
    detail::check(ad_forward_vector(t.get(), raw.data(), raw.size(), seeds.data(), seeds.size(), p,
                                    out.data(), out.size()),
                  t.get(), "ad_forward_vector");
    return out;
}

// forward_vector into caller buffers, with no allocation: `outputs` holds m handles
// (Var::raw(); a passive Var has none), `seeds` num_inputs × p, `out` m × p.
inline ad_status try_forward_vector(Tape &t, const ad_var *outputs, size_t m, const double *seeds,
                                    size_t seeds_len, size_t p, double *out,
                                    size_t out_len) noexcept {
    return ad_forward_vector(t.get(), outputs, m, seeds, seeds_len, p, out, out_len);
}
inline void forward_vector(Tape &t, const ad_var *outputs, size_t m, const double *seeds,
                           size_t seeds_len, size_t p, double *out, size_t out_len) {
    detail::check(try_forward_vector(t, outputs, m, seeds, seeds_len, p, out, out_len), t.get(),
                  "ad_forward_vector");
}

// forward_vector at new inputs (num_inputs of them): a replay and the sweep in one pass
// over the tape (ad_forward_vector_at); the tape holds the new values afterwards.
inline std::vector<double> forward_vector_at(Tape &t, const std::vector<double> &inputs,
                                             const std::vector<Var> &outputs,
                                             const std::vector<double> &seeds, size_t p) {
    std::vector<ad_var> raw = detail::raw_vars(outputs);
    std::vector<double> out(outputs.size() * p);
    detail::check(ad_forward_vector_at(t.get(), inputs.data(), inputs.size(), raw.data(), raw.size(),
                                       seeds.data(), seeds.size(), p, out.data(), out.size()),
                  t.get(), "ad_forward_vector_at");
    return out;
}

// forward_vector_at into caller buffers, with no allocation (as forward_vector's).
inline ad_status try_forward_vector_at(Tape &t, const double *inputs, size_t n,
                                       const ad_var *outputs, size_t m, const double *seeds,
                                       size_t seeds_len, size_t p, double *out,
                                       size_t out_len) noexcept {
    return ad_forward_vector_at(t.get(), inputs, n, outputs, m, seeds, seeds_len, p, out, out_len);
}
inline void forward_vector_at(Tape &t, const double *inputs, size_t n, const ad_var *outputs,
                              size_t m, const double *seeds, size_t seeds_len, size_t p,
                              double *out, size_t out_len) {
    detail::check(try_forward_vector_at(t, inputs, n, outputs, m, seeds, seeds_len, p, out, out_len),
                  t.get(), "ad_forward_vector_at");
}

// Z = U·J for `q` directions: `weights` is q × outputs, row-major; returns q × num_inputs.
inline std::vector<double> reverse_vector(Tape &t, const std::vector<Var> &outputs,
                                          const std::vector<double> &weights, size_t q) {
    std::vector<ad_var> raw = detail::raw_vars(outputs);
    std::vector<double> out(q * t.num_inputs());
    detail::check(ad_reverse_vector(t.get(), raw.data(), raw.size(), weights.data(),
                                    weights.size(), q, out.data(), out.size()),
                  t.get(), "ad_reverse_vector");
    return out;
}

// reverse_vector into caller buffers, with no allocation: `outputs` holds m handles,
// `weights` q × m, `out` q × num_inputs.
inline ad_status try_reverse_vector(Tape &t, const ad_var *outputs, size_t m,
                                    const double *weights, size_t weights_len, size_t q,
                                    double *out, size_t out_len) noexcept {
    return ad_reverse_vector(t.get(), outputs, m, weights, weights_len, q, out, out_len);
}
inline void reverse_vector(Tape &t, const ad_var *outputs, size_t m, const double *weights,
                           size_t weights_len, size_t q, double *out, size_t out_len) {
    detail::check(try_reverse_vector(t, outputs, m, weights, weights_len, q, out, out_len),
                  t.get(), "ad_reverse_vector");
}

// The dense Hessian of Σ weights[i]·outputs[i], num_inputs × num_inputs, row-major.
inline std::vector<double> hessian(Tape &t, const std::vector<Var> &outputs,
                                   const std::vector<double> &weights) {
    if (weights.size() != outputs.size())
        throw Error(AD_ERR_INVALID_ARGUMENT, "ad_hessian", "one weight per output");
    std::vector<ad_var> raw = detail::raw_vars(outputs);
    std::vector<double> out(t.num_inputs() * t.num_inputs());
    detail::check(ad_hessian(t.get(), raw.data(), weights.data(), raw.size(), out.data(),
                             out.size()),
                  t.get(), "ad_hessian");
    return out;
}

// A sparse Jacobian or Hessian plan in `len` bytes at `mem`, which the caller keeps valid
// for the plan's lifetime. Move-only; the destructor ends it (ad_sparse_done).
class SparsePlan {
public:
    static SparsePlan jacobian(Tape &t, const std::vector<Var> &outputs, void *mem, size_t len,
                               ad_sparse_mode mode = AD_SPARSE_FORWARD,
                               ad_ordering ordering = AD_ORDER_SATURATION) {
        std::vector<ad_var> raw = detail::raw_vars(outputs);
        SparsePlan plan;
        detail::check(ad_sparse_jacobian_init(t.get(), raw.data(), raw.size(), mode, ordering, mem,
                                              len, &plan.p_),
                      t.get(), "ad_sparse_jacobian_init");
        return plan;
    }
    // The Hessian of Σ wᵢ·outputs[i], for any weights given at evaluation.
    static SparsePlan hessian(Tape &t, const std::vector<Var> &outputs, void *mem, size_t len,
                              ad_ordering ordering = AD_ORDER_SATURATION) {
        std::vector<ad_var> raw = detail::raw_vars(outputs);
        SparsePlan plan;
        detail::check(ad_sparse_hessian_init(t.get(), raw.data(), raw.size(), ordering, mem, len,
                                             &plan.p_),
                      t.get(), "ad_sparse_hessian_init");
        return plan;
    }

    SparsePlan(const SparsePlan &) = delete;
    SparsePlan &operator=(const SparsePlan &) = delete;
    SparsePlan(SparsePlan &&o) noexcept : p_(o.p_) { o.p_ = nullptr; }
    SparsePlan &operator=(SparsePlan &&o) noexcept {
        if (this != &o) {
            release();
            p_ = o.p_;
            o.p_ = nullptr;
        }
        return *this;
    }
    ~SparsePlan() { release(); }

    ad_sparse *get() const noexcept { return p_; }

    ad_sparse_sizes sizes() const {
        ad_sparse_sizes s{};
        detail::check(ad_sparse_info(p_, &s), nullptr, "ad_sparse_info");
        return s;
    }
    size_t nnz() const { return sizes().nnz; }
    size_t colours() const { return sizes().colours; }

    // The pattern in compressed-row form: rows + 1 starts, nnz column indices.
    void pattern_csr(std::vector<uint32_t> &starts, std::vector<uint32_t> &cols) const {
        ad_sparse_sizes s = sizes();
        starts.assign(s.rows + 1, 0);
        cols.assign(s.nnz, 0);
        detail::check(ad_sparse_pattern_csr(p_, starts.data(), starts.size(), cols.data(),
                                            cols.size()),
                      nullptr, "ad_sparse_pattern_csr");
    }
    // The pattern as coordinates, in the order of the values evaluate() returns.
    void pattern_coo(std::vector<uint32_t> &rows, std::vector<uint32_t> &cols) const {
        size_t n = nnz();
        rows.assign(n, 0);
        cols.assign(n, 0);
        detail::check(ad_sparse_pattern_coo(p_, rows.data(), cols.data(), n), nullptr,
                      "ad_sparse_pattern_coo");
    }

    // A Jacobian plan's entries at inputs x (replays the tape there).
    ad_status try_evaluate(Tape &t, const std::vector<double> &x,
                           std::vector<double> &values) const noexcept {
        return ad_sparse_jacobian_eval(t.get(), p_, x.data(), x.size(), values.data(),
                                       values.size());
    }
    std::vector<double> evaluate(Tape &t, const std::vector<double> &x) const {
        std::vector<double> values(nnz());
        detail::check(try_evaluate(t, x, values), t.get(), "ad_sparse_jacobian_eval");
        return values;
    }
    // A Hessian plan's entries at inputs x and output weights.
    ad_status try_evaluate(Tape &t, const std::vector<double> &x, const std::vector<double> &weights,
                           std::vector<double> &values) const noexcept {
        return ad_sparse_hessian_eval(t.get(), p_, x.data(), x.size(), weights.data(),
                                      weights.size(), values.data(), values.size());
    }
    std::vector<double> evaluate(Tape &t, const std::vector<double> &x,
                                 const std::vector<double> &weights) const {
        std::vector<double> values(nnz());
        detail::check(try_evaluate(t, x, weights, values), t.get(), "ad_sparse_hessian_eval");
        return values;
    }

private:
    SparsePlan() = default;
    void release() noexcept {
        if (p_) ad_sparse_done(p_);
        p_ = nullptr;
    }
    ad_sparse *p_ = nullptr;
};

} // namespace autodiff

#endif // AUTODIFF_SPARSE_HPP
