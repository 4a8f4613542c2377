// ht: hand tracking (ADBench's "hand" objective, as GradBench uses it). 26 pose
// parameters theta (global rotation as angle-axis, global translation, then 4 joint
// angles per finger) pose the 22 bones of a hand model (ht_model.hpp): each bone's
// Euler rotation times its base relative, chained down the hierarchy, times its inverse
// base absolute. Every vertex is then skinned (the weighted sum over all bones of its
// transformed base position), mirrored, and moved by the global rotation and
// translation. The residuals are the observed points minus the skinned vertex each
// corresponds to ("simple"), or minus a point of the corresponding triangle at
// barycentric parameters us, 2 per point, that are inputs too ("complicated").
//
// The derivative is the 3·points × 26 Jacobian with respect to theta; with us, 2 more
// columns, compressed as GradBench gives them (each point reads only its own us: column
// c is the derivative along every point's u_c at once). All are by vector forward mode:
// one sweep carries the 26 or 28 directions, the way GradBench's CoDiPack and ADOL-C
// entries compute ht. Synthetic model and data, at ADBench's sizes: its hand model (544
// vertices, 1084 triangles) and its point counts.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "harness.hpp"
#include "ht_model.hpp"
#ifdef GRADBENCH_CODIPACK
#include <codi.hpp>
#endif

namespace gradbench {

// out (rows × cols) = a (rows × inner) · b (inner × cols), row-major; either operand may
// be double where the other is T.
template <class T, class A, class B>
void mat_mul(const A *a, const B *b, T *out, size_t rows, size_t inner, size_t cols) {
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            T s = 0;
            for (size_t k = 0; k < inner; k++) s += a[r * inner + k] * b[k * cols + c];
            out[r * cols + c] = s;
        }
}

struct Ht {
    static constexpr const char *name = "ht";
    static constexpr size_t thetas = 26;
    static constexpr size_t pose_columns = HtModel::bones + 3; // rotation, scale, translation, bones
    bool complicated;
    size_t npoints;
    HtModel model;
    std::vector<size_t> correspondences; // per point: a vertex, or with us a triangle
    std::vector<double> points;          // npoints × 3
    std::vector<double> x0;              // theta, then with us 2 per point

    Ht(bool with_us, size_t point_count, size_t vertex_count, size_t triangle_count, std::mt19937_64 &rng)
        : complicated(with_us), npoints(point_count), model(vertex_count, triangle_count, rng),
          correspondences(point_count), points(3 * point_count), x0(thetas + (with_us ? 2 * point_count : 0)) {
        std::uniform_real_distribution<double> u(-1.0, 1.0), unit(0.0, 1.0);
        // A global rotation well away from angle-axis's small-angle branch at 1e-4.
        for (size_t k = 0; k < 3; k++) x0[k] = 0.3 + 0.3 * unit(rng);
        for (size_t k = 3; k < 6; k++) x0[k] = u(rng);
        for (size_t k = 6; k < thetas; k++) x0[k] = 0.3 * u(rng);
        std::uniform_int_distribution<size_t> pick(0, (with_us ? triangle_count : vertex_count) - 1);
        for (size_t &c : correspondences) c = pick(rng);
        for (size_t k = thetas; k < x0.size(); k += 2) {
            x0[k] = 0.5 * unit(rng);
            x0[k + 1] = 0.5 * unit(rng);
        }
        // Observed points near the posed hand: while the points are zero the residuals
        // are minus the posed vertices (or triangle points); then noise.
        std::vector<double> err(3 * npoints);
        residuals(x0.data(), err.data());
        for (size_t k = 0; k < points.size(); k++) points[k] = -err[k] + 0.05 * u(rng);
    }
    std::string size() const {
        return std::string(complicated ? "complicated" : "simple") + ",points=" + std::to_string(npoints);
    }
    size_t outputs() const { return 3 * npoints; }
    size_t columns() const { return thetas + (complicated ? 2 : 0); }
    // The Jacobian column of theta_k: with us, after their two columns (u_c's is c).
    size_t theta_column(size_t k) const { return (complicated ? 2 : 0) + k; }

    // R (3 × 3) from angle-axis, the identity near a zero angle.
    template <class T> static void angle_axis_to_rotation(const T *aa, T *R) {
        using std::cos;
        using std::sin;
        using std::sqrt;
        T norm = sqrt(aa[0] * aa[0] + aa[1] * aa[1] + aa[2] * aa[2]);
        if (norm < 1e-4) {
            for (size_t k = 0; k < 9; k++) R[k] = k % 4 == 0 ? 1.0 : 0.0;
            return;
        }
        T x = aa[0] / norm, y = aa[1] / norm, z = aa[2] / norm, s = sin(norm), c = cos(norm);
        R[0] = x * x + (1 - x * x) * c, R[1] = x * y * (1 - c) - z * s, R[2] = x * z * (1 - c) + y * s;
        R[3] = x * y * (1 - c) + z * s, R[4] = y * y + (1 - y * y) * c, R[5] = y * z * (1 - c) - x * s;
        R[6] = x * z * (1 - c) - y * s, R[7] = z * y * (1 - c) + x * s, R[8] = z * z + (1 - z * z) * c;
    }

    // R = Rz · Ry · Rx from the angles (x, z, y): a bone's column of pose parameters.
    template <class T> static void euler_to_rotation(const T *xzy, T *R) {
        using std::cos;
        using std::sin;
        T rx[9], ry[9], rz[9], zy[9];
        for (size_t k = 0; k < 9; k++) rx[k] = ry[k] = rz[k] = k % 4 == 0 ? 1.0 : 0.0;
        rx[4] = cos(xzy[0]), rx[7] = sin(xzy[0]), rx[5] = -rx[7], rx[8] = rx[4];
        ry[0] = cos(xzy[2]), ry[2] = sin(xzy[2]), ry[6] = -ry[2], ry[8] = ry[0];
        rz[0] = cos(xzy[1]), rz[3] = sin(xzy[1]), rz[1] = -rz[3], rz[4] = rz[0];
        mat_mul(rz, ry, zy, 3, 3, 3);
        mat_mul(zy, rx, R, 3, 3, 3);
    }

    // ADBench's pose parameters (3 × pose_columns, column by column) from theta: the
    // global rotation, a scale of 1, the translation, then per bone its Euler angles. The
    // first three bones of a finger turn: the first about two axes, the others about one.
    template <class T> static void pose_params(const T *theta, T *pose) {
        for (size_t k = 0; k < 3 * pose_columns; k++) pose[k] = 0.0;
        for (size_t k = 0; k < 3; k++) pose[k] = theta[k], pose[3 + k] = 1.0, pose[6 + k] = theta[3 + k];
        size_t next = 6;
        for (size_t f = 0; f < HtModel::fingers; f++) {
            T *joints = pose + 3 * (3 + 2 + 4 * f); // the columns of bones 2 + 4f, 3 + 4f, 4 + 4f
            joints[0] = theta[next++];
            joints[1] = theta[next++];
            joints[3] = theta[next++];
            joints[6] = theta[next++];
        }
    }

    // The skinned, mirrored and globally posed vertices (nverts × 3).
    template <class T> void skinned_vertices(const T *pose, T *positions) const {
        const size_t bones = HtModel::bones, nv = model.nverts;
        std::vector<T> relatives(16 * bones), absolutes(16 * bones), transform(16), posed(16);
        for (size_t b = 0; b < bones; b++) {
            T R[9];
            euler_to_rotation(pose + 3 * (3 + b), R);
            for (size_t k = 0; k < 16; k++) posed[k] = k == 15 ? 1.0 : 0.0;
            for (size_t r = 0; r < 3; r++)
                for (size_t c = 0; c < 3; c++) posed[4 * r + c] = R[3 * r + c];
            mat_mul(model.base_relatives[b].data(), posed.data(), &relatives[16 * b], 4, 4, 4);
            int parent = model.parents[b];
            if (parent < 0)
                std::copy(&relatives[16 * b], &relatives[16 * b] + 16, &absolutes[16 * b]);
            else
                mat_mul(&absolutes[16 * size_t(parent)], &relatives[16 * b], &absolutes[16 * b], 4, 4, 4);
        }
        for (size_t k = 0; k < 3 * nv; k++) positions[k] = 0.0;
        for (size_t b = 0; b < bones; b++) {
            mat_mul(&absolutes[16 * b], model.inverse_base_absolutes[b].data(), transform.data(), 4, 4, 4);
            // Only the first three rows of transform · base position are read: the
            // homogeneous fourth is not computed.
            for (size_t v = 0; v < nv; v++) {
                T moved[3];
                mat_mul(transform.data(), &model.base_positions[4 * v], moved, 3, 4, 1);
                double w = model.weights[b * nv + v];
                for (size_t r = 0; r < 3; r++) positions[3 * v + r] += moved[r] * w;
            }
        }
        if (model.is_mirrored)
            for (size_t v = 0; v < nv; v++) positions[3 * v] = -positions[3 * v];
        T R[9], moved[3];
        angle_axis_to_rotation(pose, R);
        for (size_t r = 0; r < 3; r++)
            for (size_t c = 0; c < 3; c++) R[3 * r + c] *= pose[3 + c]; // the scale column
        for (size_t v = 0; v < nv; v++) {
            mat_mul(R, &positions[3 * v], moved, 3, 3, 1);
            for (size_t r = 0; r < 3; r++) positions[3 * v + r] = moved[r] + pose[6 + r];
        }
    }

    // The residuals (3 per point) at x: theta, then with us 2 per point.
    template <class T> void residuals(const T *x, T *err) const {
        std::vector<T> pose(3 * pose_columns), positions(3 * model.nverts);
        pose_params(x, pose.data());
        skinned_vertices(pose.data(), positions.data());
        for (size_t i = 0; i < npoints; i++) {
            if (!complicated) {
                const T *vertex = &positions[3 * correspondences[i]];
                for (size_t j = 0; j < 3; j++) err[3 * i + j] = points[3 * i + j] - vertex[j];
                continue;
            }
            const auto &tri = model.triangles[correspondences[i]];
            const T *u = x + thetas + 2 * i;
            for (size_t j = 0; j < 3; j++) {
                T on_triangle = u[0] * positions[3 * tri[0] + j] + u[1] * positions[3 * tri[1] + j] +
                                (1.0 - u[0] - u[1]) * positions[3 * tri[2] + j];
                err[3 * i + j] = points[3 * i + j] - on_triangle;
            }
        }
    }

    double primal() const {
        std::vector<double> err(outputs());
        residuals(x0.data(), err.data());
        double sink = 0.0;
        for (double e : err) sink += e;
        return sink;
    }

    // The seed matrix of the forward sweep (inputs × columns, row-major): theta_k along
    // its own column, every u_c along column c.
    std::vector<double> seeds() const {
        std::vector<double> s(x0.size() * columns(), 0.0);
        for (size_t k = 0; k < thetas; k++) s[k * columns() + theta_column(k)] = 1.0;
        for (size_t k = thetas; k < x0.size(); k++) s[k * columns() + (k - thetas) % 2] = 1.0;
        return s;
    }

    // The Jacobian at x (outputs × columns, row-major) by central differences along each
    // seed column: for a u column every point's u_c moves at once.
    std::vector<double> reference(const std::vector<double> &x) const {
        size_t m = outputs(), p = columns();
        std::vector<double> jac(m * p), up(m), down(m), seed = seeds(), moved = x;
        for (size_t c = 0; c < p; c++) {
            double h = 1e-6;
            for (size_t k = 0; k < x.size(); k++)
                if (seed[k * p + c] != 0.0) h = std::max(h, 1e-6 * (1.0 + std::fabs(x[k])));
            for (size_t k = 0; k < x.size(); k++) moved[k] = x[k] + h * seed[k * p + c];
            residuals(moved.data(), up.data());
            for (size_t k = 0; k < x.size(); k++) moved[k] = x[k] - h * seed[k * p + c];
            residuals(moved.data(), down.data());
            for (size_t i = 0; i < m; i++) jac[i * p + c] = (up[i] - down[i]) / (2 * h);
        }
        return jac;
    }
};

// The worst difference of jac from ref, relative to ref's largest entry.
inline double jacobian_error(const std::vector<double> &ref, const std::vector<double> &jac) {
    double worst = 0.0, scale = 0.0;
    for (size_t k = 0; k < ref.size(); k++) {
        scale = std::max(scale, std::fabs(ref[k]));
        worst = std::max(worst, std::fabs(jac[k] - ref[k]));
    }
    return worst / (scale > 0.0 ? scale : 1.0);
}


// Checks and times the Jacobian: ours by replay (the buffer form of forward_vector_at,
// which replays in the sweep, as fov_forward takes the point) and by retaping (reset,
// record, forward_vector); ADOL-C by fov_forward on one tape, and
// by a new tape (trace_on .. trace_off) before each fov_forward. Each is checked over the
// whole Jacobian against central differences, at x0 and, for replay, at x0 shifted.
inline Result run(const Ht &e, const Options &opt) {
    Result r;
    r.eval = Ht::name;
    r.size = e.size();
    r.inputs = e.x0.size();
    volatile double sink = 0.0;
    if (opt.time) r.primal_s = median_seconds([&] { sink = e.primal(); }, opt.budget_s);
    (void)sink;
    const size_t n = e.x0.size(), m = e.outputs(), p = e.columns();
    const std::vector<double> x1 = shifted(e.x0), seeds = e.seeds();
    const std::vector<double> ref0 = e.reference(e.x0), ref1 = e.reference(x1);
    std::vector<double> jac(m * p);

    ad::Tape t = workload_tape();
    std::vector<ad::Var> xv(n), yv(m);
    // The outputs' handles for the C call into a buffer kept here: the wrapper's
    // forward_vector returns a new vector (and a new array of handles) on every call, and
    // at 100 000 points that more than doubled the replay's time in a trial run.
    std::vector<ad_var> outputs(m);
    auto record = [&]() {
        t.reset();
        ad::TapeScope scope(t);
        ad::inputs(e.x0.data(), n, xv.data());
        e.residuals(xv.data(), yv.data());
        for (size_t i = 0; i < m; i++) outputs[i] = yv[i].raw();
    };
    auto forward = [&]() {
        ad::forward_vector(t, outputs.data(), m, seeds.data(), seeds.size(), p, jac.data(), jac.size());
    };
    auto replayed = [&](const std::vector<double> &x) {
        ad::forward_vector_at(t, x.data(), n, outputs.data(), m, seeds.data(), seeds.size(), p, jac.data(),
                              jac.size());
    };
    r.ours_replay.ran = r.ours_retape.ran = true;
    try {
        record();
        if (t.status() != AD_OK) {
            r.ours_replay.failure = r.ours_retape.failure = t.error();
            r.capacity = t.status() == AD_ERR_TOO_MANY_VARIABLES || t.status() == AD_ERR_OUT_OF_MEMORY;
            return r;
        }
        r.records = t.len();
        forward();
        check(r.ours_retape, jacobian_error(ref0, jac));
        replayed(x1);
        check(r.ours_replay, jacobian_error(ref1, jac));
        replayed(e.x0);
        check(r.ours_replay, jacobian_error(ref0, jac));
        if (opt.time) {
            r.ours_replay.seconds = median_seconds([&] { replayed(e.x0); }, opt.budget_s);
            r.ours_retape.seconds = median_seconds(
                [&] {
                    record();
                    forward();
                },
                opt.budget_s);
        }
    } catch (const ad::Error &err) {
        if (r.ours_replay.failure.empty()) r.ours_replay.failure = err.what();
        if (r.ours_retape.failure.empty()) r.ours_retape.failure = err.what();
    }

#ifdef GRADBENCH_ADOLC
    if (opt.adolc && !r.capacity) {
        const short replay_tag = 1, retape_tag = 2;
        std::vector<double *> seed_rows(n), jac_rows(m);
        std::vector<double> seed_copy = seeds, y(m);
        for (size_t k = 0; k < n; k++) seed_rows[k] = &seed_copy[k * p];
        for (size_t i = 0; i < m; i++) jac_rows[i] = &jac[i * p];
        auto adolc_record = [&](short tag) {
            std::vector<adouble> ax(n), ay(m);
            trace_on(tag);
            for (size_t k = 0; k < n; k++) ax[k] <<= e.x0[k];
            e.residuals(ax.data(), ay.data());
            for (size_t i = 0; i < m; i++) ay[i] >>= y[i];
            trace_off();
        };
        // fov_forward's status: negative where a comparison recorded on the tape (the
        // angle-axis branch) goes the other way at x.
        auto adolc_forward = [&](short tag, const std::vector<double> &x) {
            return fov_forward(tag, int(m), int(n), int(p), x.data(), seed_rows.data(), y.data(), jac_rows.data());
        };
        r.adolc_replay.ran = r.adolc_retape.ran = true;
        adolc_record(retape_tag);
        adolc_forward(retape_tag, e.x0);
        check(r.adolc_retape, jacobian_error(ref0, jac));
        adolc_record(replay_tag);
        if (adolc_forward(replay_tag, x1) >= 0)
            check(r.adolc_replay, jacobian_error(ref1, jac));
        else
            r.adolc_replay.note = "branch switch at the second point: not checked there";
        adolc_forward(replay_tag, e.x0);
        check(r.adolc_replay, jacobian_error(ref0, jac));
        if (opt.time) {
            r.adolc_replay.seconds = median_seconds([&] { adolc_forward(replay_tag, e.x0); }, opt.budget_s);
            r.adolc_retape.seconds = median_seconds(
                [&] {
                    adolc_record(retape_tag);
                    adolc_forward(retape_tag, e.x0);
                },
                opt.budget_s);
        }
        removeTape(replay_tag, ADOLC_REMOVE_COMPLETELY);
        removeTape(retape_tag, ADOLC_REMOVE_COMPLETELY);
    }
#endif
#ifdef GRADBENCH_CODIPACK
    if (!r.capacity) {
        // As GradBench's CoDiPack entry computes ht: no tape, the objective evaluated on
        // codi::RealForwardVec<4>, four seed columns at a time. (That entry evaluates it
        // (2p - 1) / 4 times, 12 for 26 columns, where ceil(p / 4) = 7 suffice: its run
        // count rounds up twice. Here it runs 7 times.)
        constexpr size_t width = 4;
        using Fwd = codi::RealForwardVec<width>;
        std::vector<Fwd> cx(n), cy(m);
        auto codi_jacobian = [&](const std::vector<double> &x) {
            for (size_t first = 0; first < p; first += width) {
                const size_t dims = std::min(width, p - first);
                for (size_t k = 0; k < n; k++) {
                    cx[k] = x[k];
                    for (size_t d = 0; d < dims; d++) cx[k].gradient()[d] = seeds[k * p + first + d];
                }
                e.residuals(cx.data(), cy.data());
                for (size_t i = 0; i < m; i++)
                    for (size_t d = 0; d < dims; d++) jac[i * p + first + d] = cy[i].getGradient()[d];
            }
        };
        r.codipack_retape.ran = true;
        codi_jacobian(e.x0);
        check(r.codipack_retape, jacobian_error(ref0, jac));
        if (opt.time) r.codipack_retape.seconds = median_seconds([&] { codi_jacobian(e.x0); }, opt.budget_s);
    }
#endif
    return r;
}

} // namespace gradbench
