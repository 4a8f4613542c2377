// ba: bundle adjustment (ADBench's objective, as GradBench uses it). n cameras (11
// parameters: Rodrigues rotation, centre, focal length, principal point, two radial
// distortion terms), m points, p observations (observation i sees point i mod m from
// camera i mod n, with a weight w_i). The residuals are the weighted reprojection errors
// w_i (project(camera, point) - feature_i) and the weight errors 1 - w_i²; the
// derivative is their sparse Jacobian: per observation a 3 × 15 block over its camera,
// its point and its weight. Synthetic data at the sizes of ADBench's first files.
//
// It is timed per observation, as AD tools do this eval. The block function takes 17
// inputs, the 15 and the observation's feature (2), which differs per observation: as an
// input, not a constant, it lets one recording serve every observation (its 3 × 2
// columns come along). Ours records the 17 → 3 function once and replays it at each
// observation (replay + Tape::jacobian into a buffer), or records it again for each
// (retape); ADOL-C tapes it once and calls jacobian() at each observation, or retapes
// for each.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "harness.hpp"
#ifdef GRADBENCH_CODIPACK
#include <codi.hpp>
#endif

namespace gradbench {

struct Ba {
    static constexpr const char *name = "ba";
    static constexpr size_t block_in = 17, block_out = 3;
    size_t n, m, p;
    std::vector<double> cams, points, weights, features;

    Ba(size_t ncams, size_t npoints, size_t nobs, std::mt19937_64 &rng)
        : n(ncams), m(npoints), p(nobs), cams(11 * ncams), points(3 * npoints), weights(nobs),
          features(2 * nobs) {
        std::uniform_real_distribution<double> u(-1.0, 1.0);
        for (size_t c = 0; c < n; c++) {
            double *cam = &cams[11 * c];
            for (int i = 0; i < 3; i++) cam[i] = 0.1 * u(rng);       // rotation
            for (int i = 3; i < 6; i++) cam[i] = 0.5 * u(rng);       // centre
            cam[6] = 1.0 + 0.5 * u(rng);                              // focal length
            for (int i = 7; i < 9; i++) cam[i] = 0.1 * u(rng);       // principal point
            for (int i = 9; i < 11; i++) cam[i] = 0.01 * u(rng);     // radial distortion
        }
        for (size_t j = 0; j < m; j++) {
            points[3 * j] = u(rng);
            points[3 * j + 1] = u(rng);
            points[3 * j + 2] = 4.5 + 1.5 * u(rng); // in front of every camera
        }
        for (double &w : weights) w = 1.0 + 0.5 * u(rng);
        for (double &f : features) f = u(rng);
    }
    std::string size() const {
        return "n=" + std::to_string(n) + ",m=" + std::to_string(m) + ",p=" + std::to_string(p);
    }

    // The block inputs of observation i: camera, point, weight, feature.
    void block_inputs(size_t i, double *x) const {
        const double *cam = &cams[11 * (i % n)], *pt = &points[3 * (i % m)];
        for (size_t k = 0; k < 11; k++) x[k] = cam[k];
        for (size_t k = 0; k < 3; k++) x[11 + k] = pt[k];
        x[14] = weights[i];
        x[15] = features[2 * i];
        x[16] = features[2 * i + 1];
    }

    // An observation's residuals from its block inputs x: two reprojection errors and
    // the weight error.
    template <class T> void residuals(const T *x, T *out) const {
        using std::cos;
        using std::sin;
        using std::sqrt;
        const T *rot = x, *centre = x + 3, *pt = x + 11;
        const T &f = x[6], &w = x[14];
        T d[3] = {pt[0] - centre[0], pt[1] - centre[1], pt[2] - centre[2]};
        T sq = rot[0] * rot[0] + rot[1] * rot[1] + rot[2] * rot[2], r[3];
        if (sq != 0) {
            T theta = sqrt(sq), c = cos(theta), s = sin(theta);
            T wv[3] = {rot[0] / theta, rot[1] / theta, rot[2] / theta};
            T cross[3] = {wv[1] * d[2] - wv[2] * d[1], wv[2] * d[0] - wv[0] * d[2],
                          wv[0] * d[1] - wv[1] * d[0]};
            T tmp = (wv[0] * d[0] + wv[1] * d[1] + wv[2] * d[2]) * (1 - c);
            for (int k = 0; k < 3; k++) r[k] = d[k] * c + cross[k] * s + wv[k] * tmp;
        } else {
            T cross[3] = {rot[1] * d[2] - rot[2] * d[1], rot[2] * d[0] - rot[0] * d[2],
                          rot[0] * d[1] - rot[1] * d[0]};
            for (int k = 0; k < 3; k++) r[k] = d[k] + cross[k];
        }
        T proj[2] = {r[0] / r[2], r[1] / r[2]};
        T rsq = proj[0] * proj[0] + proj[1] * proj[1];
        T distortion = 1 + x[9] * rsq + x[10] * rsq * rsq;
        for (int k = 0; k < 2; k++)
            out[k] = w * (proj[k] * distortion * f + x[7 + k] - x[15 + k]);
        out[2] = 1 - w * w;
    }

    // The primal: every residual of every observation.
    double primal() const {
        double x[block_in], out[block_out], sink = 0.0;
        for (size_t i = 0; i < p; i++) {
            block_inputs(i, x);
            residuals(x, out);
            sink += out[0] + out[1] + out[2];
        }
        return sink;
    }

    // The worst difference of a 3 × 17 block from central differences, relative to the
    // block's largest entry.
    double block_error(size_t i, const double *jac) const {
        double x[block_in], up[block_out], down[block_out], worst = 0.0, scale = 0.0;
        block_inputs(i, x);
        double fd[block_out * block_in];
        for (size_t k = 0; k < block_in; k++) {
            double h = 1e-6 * (1.0 + std::fabs(x[k])), keep = x[k];
            x[k] = keep + h;
            residuals(x, up);
            x[k] = keep - h;
            residuals(x, down);
            x[k] = keep;
            for (size_t o = 0; o < block_out; o++) {
                fd[o * block_in + k] = (up[o] - down[o]) / (2 * h);
                scale = std::max(scale, std::fabs(fd[o * block_in + k]));
            }
        }
        for (size_t e = 0; e < block_out * block_in; e++) worst = std::max(worst, std::fabs(jac[e] - fd[e]));
        return worst / (scale > 0.0 ? scale : 1.0);
    }
};

// Checks the Jacobian blocks of the first, a middle and the last observation.
template <class Jacobian> void check_blocks(const Ba &e, Mode &mode, Jacobian &&jacobian_of) {
    double jac[Ba::block_out * Ba::block_in];
    for (size_t i : {size_t(0), e.p / 2, e.p - 1}) {
        jacobian_of(i, jac);
        check(mode, e.block_error(i, jac));
    }
}

inline Result run(const Ba &e, const Options &opt) {
    Result r;
    r.eval = Ba::name;
    r.size = e.size();
    r.inputs = 11 * e.n + 3 * e.m + e.p;
    volatile double sink = 0.0;
    if (opt.time) r.primal_s = median_seconds([&] { sink = e.primal(); }, opt.budget_s);
    (void)sink;
    const size_t in = Ba::block_in, out = Ba::block_out;
    std::vector<double> all(e.p * out * in); // the Jacobian's blocks, observation by observation
    double x[in];

    ad::Tape t = workload_tape();
    ad::Var xv[in], yv[out];
    auto record = [&](size_t i) {
        t.reset();
        ad::TapeScope scope(t);
        e.block_inputs(i, x);
        ad::inputs(x, in, xv);
        e.residuals(xv, yv);
    };
    // Observation i's block on the recording of observation 0.
    auto replayed = [&](size_t i, double *jac) {
        e.block_inputs(i, x);
        t.replay(x, in);
        t.jacobian(yv, out, jac, out * in);
    };
    auto retaped = [&](size_t i, double *jac) {
        record(i);
        t.jacobian(yv, out, jac, out * in);
    };
    r.ours_replay.ran = r.ours_retape.ran = true;
    try {
        record(0);
        r.records = t.len();
        check_blocks(e, r.ours_replay, replayed);
        check_blocks(e, r.ours_retape, retaped);
        if (opt.time) {
            record(0);
            r.ours_replay.seconds = median_seconds(
                [&] {
                    for (size_t i = 0; i < e.p; i++) replayed(i, &all[i * out * in]);
                },
                opt.budget_s);
            r.ours_retape.seconds = median_seconds(
                [&] {
                    for (size_t i = 0; i < e.p; i++) retaped(i, &all[i * out * in]);
                },
                opt.budget_s);
        }
    } catch (const ad::Error &err) {
        if (r.ours_replay.failure.empty()) r.ours_replay.failure = err.what();
        if (r.ours_retape.failure.empty()) r.ours_retape.failure = err.what();
    }

#ifdef GRADBENCH_ADOLC
    if (opt.adolc) {
        const short replay_tag = 1, retape_tag = 2;
        std::vector<double *> rows(out);
        auto adolc_record = [&](short tag, size_t i) {
            adouble ax[in], ay[out];
            double y[out];
            e.block_inputs(i, x);
            trace_on(tag);
            for (size_t k = 0; k < in; k++) ax[k] <<= x[k];
            e.residuals(ax, ay);
            for (size_t o = 0; o < out; o++) ay[o] >>= y[o];
            trace_off();
        };
        auto adolc_jacobian = [&](short tag, size_t i, double *jac) {
            e.block_inputs(i, x);
            for (size_t o = 0; o < out; o++) rows[o] = jac + o * in;
            jacobian(tag, int(out), int(in), x, rows.data());
        };
        auto a_replayed = [&](size_t i, double *jac) { adolc_jacobian(replay_tag, i, jac); };
        auto a_retaped = [&](size_t i, double *jac) {
            adolc_record(retape_tag, i);
            adolc_jacobian(retape_tag, i, jac);
        };
        r.adolc_replay.ran = r.adolc_retape.ran = true;
        adolc_record(replay_tag, 0);
        check_blocks(e, r.adolc_replay, a_replayed);
        check_blocks(e, r.adolc_retape, a_retaped);
        if (opt.time) {
            r.adolc_replay.seconds = median_seconds(
                [&] {
                    for (size_t i = 0; i < e.p; i++) a_replayed(i, &all[i * out * in]);
                },
                opt.budget_s);
            r.adolc_retape.seconds = median_seconds(
                [&] {
                    for (size_t i = 0; i < e.p; i++) a_retaped(i, &all[i * out * in]);
                },
                opt.budget_s);
        }
        removeTape(replay_tag, ADOLC_REMOVE_COMPLETELY);
        removeTape(retape_tag, ADOLC_REMOVE_COMPLETELY);
    }
#endif
#ifdef GRADBENCH_CODIPACK
    {
        // As GradBench's CoDiPack entry computes ba: each observation recorded anew on a
        // Jacobian tape (codi::RealReverse) and evaluated once in reverse, with a vector
        // of directions, one per residual (codi::CustomAdjointVectorHelper). That entry
        // takes the feature as a constant and the weight error's derivative by forward
        // mode; here the block is the 17 -> 3 one the others compute.
        using Real = codi::RealReverse;
        auto &tape = Real::getTape();
        codi::CustomAdjointVectorHelper<Real, codi::Direction<double, out>> vectors;
        Real cx[in], cy[out];
        auto c_retaped = [&](size_t i, double *jac) {
            e.block_inputs(i, x);
            tape.setActive();
            for (size_t k = 0; k < in; k++) {
                cx[k] = x[k];
                tape.registerInput(cx[k]);
            }
            e.residuals(cx, cy);
            for (size_t o = 0; o < out; o++) tape.registerOutput(cy[o]);
            tape.setPassive();
            for (size_t o = 0; o < out; o++) vectors.gradient(cy[o].getIdentifier())[o] = 1.0;
            vectors.evaluate();
            for (size_t o = 0; o < out; o++)
                for (size_t k = 0; k < in; k++) jac[o * in + k] = vectors.gradient(cx[k].getIdentifier())[o];
            vectors.clearAdjoints();
            tape.reset(false);
        };
        r.codipack_retape.ran = true;
        check_blocks(e, r.codipack_retape, c_retaped);
        if (opt.time)
            r.codipack_retape.seconds = median_seconds(
                [&] {
                    for (size_t i = 0; i < e.p; i++) c_retaped(i, &all[i * out * in]);
                },
                opt.budget_s);
    }
#endif
    return r;
}

} // namespace gradbench
