// The GradBench-style harness: each workload E (lse.hpp, llsq.hpp, ...) is one template,
// E::operator()(const T *x), instantiated with double (the primal), autodiff::Var and,
// where built with ADOL-C, adouble. The derivative is the gradient, or with E::hessian
// the Newton direction (kmeans); ba.hpp has a runner of its own (a Jacobian block per
// observation) built from the same parts. For each workload it checks every derivative against
// E::manual (a hand-written gradient) or central differences of the double build, to
// 1e-4 of the gradient's scale, then times the primal and each derivative mode:
//   ours replay   the tape recorded once; per call ad_replay + ad_gradient
//   ours retape   per call: reset, record, ad_gradient
//   ADOL-C replay the tape recorded once; per call gradient()
//   ADOL-C retape per call: trace_on, record, trace_off, gradient()
//   CoDiPack retape per call: record, evaluate (codipack.hpp; where built with it)
// and reports each as a ratio to the primal time (medians over repetitions). A workload
// split into parts (E::parts > 1, kmeans past memory) is retaped part by part, for ours
// and ADOL-C alike, and has no replay.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "autodiff.hpp"
#ifdef GRADBENCH_ADOLC
#include <adolc/adolc.h>
#endif

namespace gradbench {

namespace ad = autodiff;

struct Options {
    bool time = true;           // false: correctness only
    double budget_s = 0.4;      // time per mode and workload (at least 3 samples)
    bool adolc = true;          // ADOL-C as well (where built with it)
    std::string only;           // run just the sizes whose name contains this
    std::vector<std::string> skip; // and none whose name contains one of these
};

// One mode's outcome on one workload.
struct Mode {
    bool ran = false;
    std::string failure;      // empty when it ran and its derivative checked
    double seconds = 0.0;     // median per call
    double error = 0.0;       // the worst checked difference, relative to the gradient's scale
    std::string note;         // what was not checked, and why
};

struct Result {
    std::string eval, size;
    size_t inputs = 0, records = 0;
    bool capacity = false; // our tape ran out of records or memory
    bool skipped = false;  // left out by Options::only
    double primal_s = 0.0;
    Mode ours_replay, ours_retape, adolc_replay, adolc_retape, codipack_retape;
};

// The median seconds per call of `body`: the first call warms up; calls shorter than
// 100 µs are timed in batches; at least 3 samples, more while within `budget_s`. A
// first call of 10 s or more is the one sample.
template <class F> double median_seconds(F &&body, double budget_s) {
    using clock = std::chrono::steady_clock;
    auto since = [](clock::time_point t0) {
        return std::chrono::duration<double>(clock::now() - t0).count();
    };
    auto t0 = clock::now();
    body();
    double first = since(t0);
    // A call of many seconds needs no warming up, and three more would take minutes.
    if (first >= 10.0) return first;
    size_t batch = first >= 1e-4 ? 1 : size_t(1e-4 / std::max(first, 1e-8)) + 1;
    std::vector<double> samples;
    double total = 0.0;
    while (samples.size() < 3 || (total < budget_s && samples.size() < 31)) {
        t0 = clock::now();
        for (size_t b = 0; b < batch; b++) body();
        double dt = since(t0);
        samples.push_back(dt / double(batch));
        total += dt;
    }
    std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
    return samples[samples.size() / 2];
}

// The reference gradient at x (every coordinate with E::manual; else central differences
// at up to 12 coordinates: the first, the last and seeded random ones) and the worst
// difference of g from it, relative to max |reference| (to 1 where that is zero).
template <class E> double gradient_error(const E &e, const std::vector<double> &x, const double *g) {
    size_t n = x.size();
    std::vector<double> ref(n);
    if (e.manual(x.data(), ref.data())) {
        double scale = 0.0, worst = 0.0;
        for (double r : ref) scale = std::max(scale, std::fabs(r));
        for (size_t i = 0; i < n; i++) worst = std::max(worst, std::fabs(g[i] - ref[i]));
        return worst / (scale > 0.0 ? scale : 1.0);
    }
    std::vector<size_t> picks = {0, n - 1};
    std::mt19937_64 rng(n);
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    while (picks.size() < std::min<size_t>(12, n)) picks.push_back(pick(rng));
    double scale = 0.0, worst = 0.0;
    std::vector<double> fd(picks.size());
    std::vector<double> xp = x;
    for (size_t p = 0; p < picks.size(); p++) {
        size_t i = picks[p];
        double h = 1e-6 * (1.0 + std::fabs(x[i]));
        xp[i] = x[i] + h;
        double up = e(xp.data());
        xp[i] = x[i] - h;
        double down = e(xp.data());
        xp[i] = x[i];
        fd[p] = (up - down) / (2 * h);
        scale = std::max(scale, std::fabs(fd[p]));
    }
    for (size_t p = 0; p < picks.size(); p++) worst = std::max(worst, std::fabs(g[picks[p]] - fd[p]));
    return worst / (scale > 0.0 ? scale : 1.0);
}

constexpr double tolerance = 1e-4;

// A second point for the replay checks: every input shifted by 1e-3, which keeps the
// order of the inputs (the branches of lse's max are those of the recording).
inline std::vector<double> shifted(const std::vector<double> &x) {
    std::vector<double> y = x;
    for (double &v : y) v += 1e-3;
    return y;
}

inline void check(Mode &mode, double error) {
    mode.error = std::max(mode.error, error);
    if (!(error <= tolerance) && mode.failure.empty()) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "gradient off by %.2e", error);
        mode.failure = buf;
    }
}

// Our tape for one workload, made by its runner and gone before the peers run (the
// largest take gigabytes). It starts in 1 MiB and grows with the recording
// (Tape::growing): no size to guess, as a host program would use it. AD_F64_DUAL for
// the Hessian-vector products.
inline ad::Tape workload_tape(ad_dtype dtype = AD_F64) { return ad::Tape::growing(size_t(1) << 20, dtype); }

// Whether E's objective is a sum of parts it can record one at a time (E::part, E::parts).
template <class E, class = void> struct splits : std::false_type {};
template <class E> struct splits<E, std::void_t<decltype(&E::parts)>> : std::true_type {};

// How many parts E's derivative is taken in: E::parts where E splits, else 1.
template <class E> size_t parts_of(const E &e) {
    if constexpr (splits<E>::value) return e.parts;
    else return 1;
}

// Part p of E's objective at v: E::part, or where E does not split, all of it.
template <class E, class T> T objective_part(const E &e, const T *v, size_t p) {
    if constexpr (splits<E>::value) return e.part(v, p);
    else return (void)p, e(v);
}

// Scratch for derive_by_parts, made once per mode: timed calls allocate nothing.
struct PartSums {
    std::vector<double> grad, hv, grad_sum, hv_sum;
    explicit PartSums(size_t n) : grad(n), hv(n), grad_sum(n), hv_sum(n) {}
};

// E's derivative at x0 into out, one part at a time: `derive_part(p, grad, hv)` writes
// part p's gradient and, for E::hessian, its H·1. The parts' sums make the derivative
// (the Newton direction divides them). Only one part's tape is ever in memory.
template <class E, class F> void derive_by_parts(const E &e, PartSums &s, double *out, F &&derive_part) {
    size_t n = e.x0.size();
    std::fill(s.grad_sum.begin(), s.grad_sum.end(), 0.0);
    std::fill(s.hv_sum.begin(), s.hv_sum.end(), 0.0);
    for (size_t p = 0; p < parts_of(e); p++) {
        derive_part(p, s.grad.data(), s.hv.data());
        for (size_t i = 0; i < n; i++) s.grad_sum[i] += s.grad[i], s.hv_sum[i] += s.hv[i];
    }
    for (size_t i = 0; i < n; i++) out[i] = E::hessian ? s.grad_sum[i] / s.hv_sum[i] : s.grad_sum[i];
}

// The derivative of E at x into out, from a recorded y: the gradient, or for an E with
// `hessian` set the Newton direction (the gradient over the Hessian's diagonal, which
// for those evals is H·1: ad_hvp on an AD_F64_DUAL tape gives both in one call). With
// `replay`, the recording is first evaluated at x (ad_hvp always does that).
template <class E>
void derive_ours(ad::Tape &t, const ad::Var &y, const double *x, double *out, bool replay,
                 std::vector<double> &scratch) {
    size_t n = scratch.size() / 2;
    if constexpr (E::hessian) {
        double *ones = scratch.data(), *hv = scratch.data() + n;
        std::fill(ones, ones + n, 1.0);
        t.hvp(y, x, ones, out, hv, n);
        for (size_t i = 0; i < n; i++) out[i] /= hv[i];
    } else {
        if (replay) t.replay(x, n);
        t.gradient(y, out, n);
    }
}

template <class E> void run_ours(const E &e, Result &r, const Options &opt) {
    ad::Tape t = workload_tape(E::hessian ? AD_F64_DUAL : AD_F64);
    size_t n = e.x0.size();
    std::vector<ad::Var> x(n);
    std::vector<double> g(n), scratch(2 * n);
    // Records `objective` (of the inputs) at x0 on the reset tape.
    auto record_with = [&](auto &&objective) {
        t.reset();
        ad::TapeScope scope(t);
        ad::inputs(e.x0.data(), n, x.data());
        return objective(x.data());
    };
    auto record = [&]() { return record_with([&](const ad::Var *v) { return e(v); }); };
    r.ours_replay.ran = r.ours_retape.ran = true;
    if (parts_of(e) > 1) {
        r.ours_replay.ran = false;
        r.ours_replay.note = "in " + std::to_string(parts_of(e)) + " parts, so no replay";
        std::vector<double> ones(n, 1.0);
        PartSums sums(n);
        auto derive = [&] {
            r.records = 0;
            derive_by_parts(e, sums, g.data(), [&](size_t p, double *grad, double *hv) {
                ad::Var y = record_with([&](const ad::Var *v) { return objective_part(e, v, p); });
                r.records += t.len();
                if constexpr (E::hessian) t.hvp(y, e.x0.data(), ones.data(), grad, hv, n);
                else t.gradient(y, grad, n);
            });
        };
        try {
            derive();
            check(r.ours_retape, gradient_error(e, e.x0, g.data()));
            if (opt.time) r.ours_retape.seconds = median_seconds(derive, opt.budget_s);
        } catch (const ad::Error &err) {
            r.ours_retape.failure = err.what();
        }
        return;
    }
    try {
        ad::Var y = record();
        if (t.status() != AD_OK) {
            r.ours_replay.failure = r.ours_retape.failure = t.error();
            r.capacity = t.status() == AD_ERR_TOO_MANY_VARIABLES || t.status() == AD_ERR_OUT_OF_MEMORY;
            return;
        }
        r.records = t.len();
        derive_ours<E>(t, y, e.x0.data(), g.data(), false, scratch);
        check(r.ours_retape, gradient_error(e, e.x0, g.data()));
        std::vector<double> x1 = shifted(e.x0);
        derive_ours<E>(t, y, x1.data(), g.data(), true, scratch);
        check(r.ours_replay, gradient_error(e, x1, g.data()));
        derive_ours<E>(t, y, e.x0.data(), g.data(), true, scratch);
        check(r.ours_replay, gradient_error(e, e.x0, g.data()));
        if (!opt.time) return;
        r.ours_replay.seconds = median_seconds(
            [&] { derive_ours<E>(t, y, e.x0.data(), g.data(), true, scratch); }, opt.budget_s);
        r.ours_retape.seconds = median_seconds(
            [&] {
                ad::Var y2 = record();
                derive_ours<E>(t, y2, e.x0.data(), g.data(), false, scratch);
            },
            opt.budget_s);
    } catch (const ad::Error &err) {
        if (r.ours_replay.failure.empty()) r.ours_replay.failure = err.what();
        if (r.ours_retape.failure.empty()) r.ours_retape.failure = err.what();
    }
}

#ifdef GRADBENCH_ADOLC
// Records `objective` (of the inputs) at x0 on ADOL-C's tape `tag`.
template <class F> void adolc_trace(short tag, const std::vector<double> &x0, F &&objective) {
    size_t n = x0.size();
    std::vector<adouble> ax(n);
    adouble ay;
    double y = 0.0;
    trace_on(tag);
    for (size_t i = 0; i < n; i++) ax[i] <<= x0[i];
    ay = objective(ax.data());
    ay >>= y;
    trace_off();
}

template <class E> void adolc_record(const E &e, short tag, const std::vector<double> &x0) {
    adolc_trace(tag, x0, [&](const adouble *ax) { return e(ax); });
}

// ADOL-C's derivative at x from the tape `tag`: gradient(), and hess_vec() along ones
// for the Newton direction. Returns gradient()'s status: negative where ADOL-C found a
// recorded comparison going the other way at x and abandoned the sweep.
template <class E> int derive_adolc(short tag, double *x, double *out, std::vector<double> &scratch) {
    int n = int(scratch.size() / 2);
    int rc = gradient(tag, n, x, out);
    if constexpr (E::hessian) {
        double *ones = scratch.data(), *hv = scratch.data() + n;
        std::fill(ones, ones + n, 1.0);
        hess_vec(tag, n, x, ones, hv);
        for (int i = 0; i < n; i++) out[i] /= hv[i];
    }
    return rc;
}

// Each workload takes two fresh tape tags and removes its tapes (and their files, for
// tapes past ADOL-C's buffers) after.
template <class E> void run_adolc_on(const E &e, Result &r, const Options &opt, short replay_tag,
                                     short retape_tag);

template <class E> void run_adolc(const E &e, Result &r, const Options &opt) {
    static short next_tag = 1;
    short replay_tag = next_tag++, retape_tag = next_tag++;
    run_adolc_on(e, r, opt, replay_tag, retape_tag);
    removeTape(replay_tag, ADOLC_REMOVE_COMPLETELY);
    removeTape(retape_tag, ADOLC_REMOVE_COMPLETELY);
}

template <class E>
void run_adolc_on(const E &e, Result &r, const Options &opt, short replay_tag, short retape_tag) {
    std::vector<double> g(e.x0.size()), scratch(2 * e.x0.size());
    std::vector<double> x0 = e.x0, x1 = shifted(e.x0);
    r.adolc_replay.ran = r.adolc_retape.ran = true;
    if (parts_of(e) > 1) {
        r.adolc_replay.ran = false;
        std::vector<double> ones(x0.size(), 1.0);
        PartSums sums(x0.size());
        auto derive = [&] {
            derive_by_parts(e, sums, g.data(), [&](size_t p, double *grad, double *hv) {
                adolc_trace(retape_tag, x0, [&](const adouble *ax) { return objective_part(e, ax, p); });
                gradient(retape_tag, int(x0.size()), x0.data(), grad);
                if constexpr (E::hessian) hess_vec(retape_tag, int(x0.size()), x0.data(), ones.data(), hv);
            });
        };
        derive();
        check(r.adolc_retape, gradient_error(e, x0, g.data()));
        if (opt.time) r.adolc_retape.seconds = median_seconds(derive, opt.budget_s);
        return;
    }
    adolc_record(e, retape_tag, x0);
    derive_adolc<E>(retape_tag, x0.data(), g.data(), scratch);
    check(r.adolc_retape, gradient_error(e, x0, g.data()));
    adolc_record(e, replay_tag, x0);
    derive_adolc<E>(replay_tag, x0.data(), g.data(), scratch);
    check(r.adolc_replay, gradient_error(e, x0, g.data()));
    // At the second point ADOL-C may refuse, rightly, where a comparison it recorded (the
    // max of a log-sum-exp) goes the other way: that is no wrong derivative.
    if (derive_adolc<E>(replay_tag, x1.data(), g.data(), scratch) >= 0)
        check(r.adolc_replay, gradient_error(e, x1, g.data()));
    else
        r.adolc_replay.note = "branch switch at the second point: not checked there";
    if (!opt.time) return;
    r.adolc_replay.seconds = median_seconds(
        [&] { derive_adolc<E>(replay_tag, x0.data(), g.data(), scratch); }, opt.budget_s);
    r.adolc_retape.seconds = median_seconds(
        [&] {
            adolc_record(e, retape_tag, x0);
            derive_adolc<E>(retape_tag, x0.data(), g.data(), scratch);
        },
        opt.budget_s);
}
#endif

#ifdef GRADBENCH_CODIPACK
template <class E> void run_codipack(const E &e, Result &r, const Options &opt); // codipack.hpp
#endif

template <class E> Result run(const E &e, const Options &opt) {
    Result r;
    r.eval = E::name;
    r.size = e.size();
    r.inputs = e.x0.size();
    volatile double sink = 0.0;
    if (opt.time) r.primal_s = median_seconds([&] { sink = e(e.x0.data()); }, opt.budget_s);
    (void)sink;
    run_ours(e, r, opt);
#ifdef GRADBENCH_ADOLC
    // Not beyond what our tape holds: there ADOL-C's tape is gigabytes of files.
    if (opt.adolc && !r.capacity) run_adolc(e, r, opt);
#endif
#ifdef GRADBENCH_CODIPACK
    if (!r.capacity) run_codipack(e, r, opt);
#endif
    return r;
}

} // namespace gradbench
