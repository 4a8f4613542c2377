// CoDiPack beside ours, where the harness is built with it (`make bench-gradbench
// CODIPACK=<CoDiPack>/include`; CoDiPack is header-only and not in Debian). As in
// GradBench's CoDiPack entry, every call records anew: a Jacobian tape
// (codi::RealReverse) cannot evaluate its recording at new inputs, so there is no
// replay. The derivative is the gradient, or for E::hessian the gradient and H·1 from one
// forward-over-reverse sweep (codi::RealReverseGen<codi::RealForward>: the inputs' tangents
// are the direction, and the adjoints' tangents come back as H·1).
#pragma once

#include <type_traits>
#include <vector>

#include <codi.hpp>

#include "harness.hpp"

namespace gradbench {

template <class E>
using CodiReal = std::conditional_t<E::hessian, codi::RealReverseGen<codi::RealForward>, codi::RealReverse>;

// CoDiPack's derivative of part p of E's objective at x0, recorded on the type's global
// tape (reset after): the gradient into grad and, for E::hessian, H·1 into hv.
template <class E>
void codipack_part(const E &e, std::vector<CodiReal<E>> &x, size_t p, double *grad, double *hv) {
    using Real = CodiReal<E>;
    auto &tape = Real::getTape();
    tape.setActive();
    for (size_t i = 0; i < x.size(); i++) {
        x[i] = e.x0[i];
        if constexpr (E::hessian) x[i].value().gradient() = 1.0; // the direction: ones
        tape.registerInput(x[i]);
    }
    Real y = objective_part(e, x.data(), p);
    tape.registerOutput(y);
    tape.setPassive();
    if constexpr (E::hessian) y.gradient().value() = 1.0;
    else y.gradient() = 1.0;
    tape.evaluate();
    for (size_t i = 0; i < x.size(); i++) {
        if constexpr (E::hessian) {
            grad[i] = x[i].gradient().value();
            hv[i] = x[i].gradient().gradient();
        } else {
            grad[i] = x[i].getGradient();
        }
    }
    tape.reset();
}

template <class E> void run_codipack(const E &e, Result &r, const Options &opt) {
    size_t n = e.x0.size();
    std::vector<CodiReal<E>> x(n);
    std::vector<double> g(n);
    PartSums sums(n);
    auto derive = [&] {
        derive_by_parts(e, sums, g.data(), [&](size_t p, double *grad, double *hv) { codipack_part(e, x, p, grad, hv); });
    };
    r.codipack_retape.ran = true;
    derive();
    check(r.codipack_retape, gradient_error(e, e.x0, g.data()));
    if (opt.time) r.codipack_retape.seconds = median_seconds(derive, opt.budget_s);
}

} // namespace gradbench
