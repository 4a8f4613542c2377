// The hand model of the ht eval: a skeleton of 22 bones and a skinned mesh, in the shape
// of ADBench's hand model (its files are not used: this one is synthesised from a seeded
// RNG). Bone 0 is the forearm (the root), bone 1 the wrist, and bones 2 + 4f .. 5 + 4f the
// four bones of finger f (thumb, index, middle, ring, pinky), each the child of the one
// before and the first of each the child of the wrist: the hierarchy that ADBench's pose
// parameters describe. ADBench's model has 544 vertices and 1084 triangles.
//
// Each bone has a base relative transform (a rigid 4 × 4 from its parent's frame) and
// the inverse of its base absolute (the chain of relatives from the root), so that the
// rest pose skins every vertex to its base position. Each vertex is weighted over its
// own bone, that bone's parent and, for some, its child; the weights sum to 1 and the
// rest of the bones × vertices matrix is zero, stored densely as ADBench stores it.
#pragma once

#include <array>
#include <cmath>
#include <random>
#include <vector>

namespace gradbench {

using Mat4 = std::array<double, 16>; // row-major

struct HtModel {
    static constexpr size_t bones = 22, fingers = 5;
    std::vector<int> parents;                // bones; -1 for the root
    std::vector<Mat4> base_relatives;        // bones
    std::vector<Mat4> inverse_base_absolutes; // bones
    std::vector<double> base_positions;      // nverts × 4: homogeneous, the fourth is 1
    std::vector<double> weights;             // bones × nverts
    std::vector<std::array<size_t, 3>> triangles;
    bool is_mirrored = true; // a left hand from a right-hand model: x is negated
    size_t nverts;

    HtModel(size_t vertex_count, size_t triangle_count, std::mt19937_64 &rng)
        : parents(bones), base_relatives(bones), inverse_base_absolutes(bones),
          base_positions(4 * vertex_count), weights(bones * vertex_count, 0.0),
          triangles(triangle_count), nverts(vertex_count) {
        std::uniform_real_distribution<double> u(-1.0, 1.0);
        parents[0] = -1;
        parents[1] = 0;
        for (size_t f = 0; f < fingers; f++)
            for (size_t j = 0; j < 4; j++) parents[2 + 4 * f + j] = j == 0 ? 1 : int(1 + 4 * f + j);

        // A bone points along its parent's y axis, turned a little; fingers fan out in x.
        std::vector<Mat4> absolutes(bones);
        for (size_t b = 0; b < bones; b++) {
            bool first_of_finger = b >= 2 && (b - 2) % 4 == 0;
            double finger = b >= 2 ? double((b - 2) / 4) : 0.0;
            double length = b == 0 ? 0.0 : b == 1 ? 2.0 : 0.8 + 0.2 * u(rng);
            double offset[3] = {first_of_finger ? 0.5 * (finger - 2.0) : 0.0, length, 0.0};
            double axis[3] = {0.15 * u(rng), 0.15 * u(rng), 0.15 * u(rng)};
            base_relatives[b] = rigid(axis, offset);
            absolutes[b] = b == 0 ? base_relatives[b] : product(absolutes[size_t(parents[b])], base_relatives[b]);
            inverse_base_absolutes[b] = rigid_inverse(absolutes[b]);
        }

        // Each vertex lies near its bone, in that bone's rest frame.
        std::uniform_int_distribution<size_t> any_bone(1, bones - 1);
        std::uniform_real_distribution<double> along(0.0, 1.0);
        for (size_t v = 0; v < nverts; v++) {
            size_t b = any_bone(rng);
            double local[4] = {0.2 * u(rng), 0.8 * along(rng), 0.2 * u(rng), 1.0};
            for (size_t r = 0; r < 4; r++) {
                double s = 0.0;
                for (size_t k = 0; k < 4; k++) s += absolutes[b][4 * r + k] * local[k];
                base_positions[4 * v + r] = s;
            }
            size_t child = b + 1 < bones && parents[b + 1] == int(b) ? b + 1 : b;
            double w_own = 1.0 + along(rng), w_parent = along(rng), w_child = child != b ? along(rng) : 0.0;
            double total = w_own + w_parent + w_child;
            weights[b * nverts + v] += w_own / total;
            weights[size_t(parents[b]) * nverts + v] += w_parent / total;
            weights[child * nverts + v] += w_child / total;
        }

        // Three distinct vertices per triangle. The objective reads a triangle only
        // through its vertices' positions, so the mesh's connectivity does not matter.
        std::uniform_int_distribution<size_t> any_vertex(0, nverts - 1);
        for (auto &t : triangles) {
            t[0] = any_vertex(rng);
            do t[1] = any_vertex(rng); while (t[1] == t[0]);
            do t[2] = any_vertex(rng); while (t[2] == t[0] || t[2] == t[1]);
        }
    }

    // The rigid transform of a rotation by angle-axis `axis` followed by `offset`.
    static Mat4 rigid(const double axis[3], const double offset[3]) {
        double angle = std::sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
        double k[3] = {axis[0] / angle, axis[1] / angle, axis[2] / angle};
        double c = std::cos(angle), s = std::sin(angle);
        Mat4 m{};
        for (size_t r = 0; r < 3; r++) {
            for (size_t col = 0; col < 3; col++) m[4 * r + col] = k[r] * k[col] * (1 - c) + (r == col ? c : 0.0);
            m[4 * r + 3] = offset[r];
        }
        // The cross-product matrix of k, times sin.
        m[1] -= k[2] * s, m[2] += k[1] * s;
        m[4] += k[2] * s, m[6] -= k[0] * s;
        m[8] -= k[1] * s, m[9] += k[0] * s;
        m[15] = 1.0;
        return m;
    }

    static Mat4 product(const Mat4 &a, const Mat4 &b) {
        Mat4 m{};
        for (size_t r = 0; r < 4; r++)
            for (size_t c = 0; c < 4; c++)
                for (size_t k = 0; k < 4; k++) m[4 * r + c] += a[4 * r + k] * b[4 * k + c];
        return m;
    }

    // The inverse of a rigid transform [R t; 0 1]: [Rᵀ −Rᵀt; 0 1].
    static Mat4 rigid_inverse(const Mat4 &a) {
        Mat4 m{};
        for (size_t r = 0; r < 3; r++) {
            for (size_t c = 0; c < 3; c++) m[4 * r + c] = a[4 * c + r];
            for (size_t k = 0; k < 3; k++) m[4 * r + 3] -= a[4 * k + r] * a[4 * k + 3];
        }
        m[15] = 1.0;
        return m;
    }
};

} // namespace gradbench
