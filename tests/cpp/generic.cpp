// Generic numeric code through the C++ wrapper: the templates of generic_primal.hpp,
// written for double, compiled unchanged with autodiff::Var; their gradients checked
// against central differences of the double build and against forward mode. Then what
// makes that work: passive values (no tape, no record), the current tape, comparisons
// of values, and the buffer, span and bulk forms. Seeded random inputs. Ends with
// "N passed, M failed" like the C tests. Built as C++17 and as C++20 (the span forms).
#include "autodiff.hpp"
#include "generic_primal.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

namespace ad = autodiff;
using ad::Var;

#include "check.hpp"
#define CHECK_CLOSE(got, want, tol)                                                       \
    do {                                                                                  \
        double g_ = (got), w_ = (want);                                                   \
        bool ok_ = std::fabs(g_ - w_) <= (tol) * (1.0 + std::fabs(w_));                   \
        if (!ok_) std::fprintf(stderr, "%s = %.17g, want %.17g\n", #got, g_, w_);         \
        check_record(ok_, __FILE__, __LINE__, #got " ~ " #want);                                          \
    } while (0)

static_assert(std::is_trivially_copyable<Var>::value, "Var stays a plain value");
static_assert(std::is_convertible<double, Var>::value && std::is_convertible<int, Var>::value,
              "numbers convert to passive Vars");

static std::mt19937_64 rng(20261206);

static std::vector<double> uniform(size_t n, double lo, double hi) {
    std::uniform_real_distribution<double> d(lo, hi);
    std::vector<double> x(n);
    for (double &v : x) v = d(rng);
    return x;
}

// A function of n inputs, written once as a template, as the tests below use it.
template <template <class> class F> struct Generic {
    template <class T> static T eval(const std::vector<T> &x) { return F<T>::eval(x); }
};
template <class T> struct DotSelf {
    static T eval(const std::vector<T> &x) {
        size_t h = x.size() / 2;
        return primal::dot(x.data(), x.data() + h, h);
    }
};
template <class T> struct Weighted {
    static T eval(const std::vector<T> &x) { return primal::weighted(x.data(), x.size()); }
};
template <class T> struct LogSumExp {
    static T eval(const std::vector<T> &x) { return primal::log_sum_exp(x.data(), x.size()); }
};
template <class T> struct Newton {
    static T eval(const std::vector<T> &x) { return primal::newton_cbrt(x[0] * x[0] + x[1]); }
};
template <class T> struct Mixed {
    static T eval(const std::vector<T> &x) { return primal::mixed(x.data(), x.size()); }
};

// The gradient of F at x0 through Var (recorded on the current tape, no tape argument
// in F), against central differences of F<double> and against forward mode (one jvp per
// input and one along a random direction); the recorded value against F<double>. A
// `growing` tape starts in 8 KiB and grows its records with malloc (Tape::growing).
template <template <class> class F>
static void check_gradient(const char *name, const std::vector<double> &x0, double fd_tol,
                           bool growing = false) {
    ad::Tape t = growing ? ad::Tape::growing(1 << 13) : ad::Tape::heap(1 << 22);
    ad::TapeScope scope(t);
    std::vector<Var> x(x0.size());
    ad::inputs(x0.data(), x0.size(), x.data());
    Var y = F<Var>::eval(x);
    double plain = F<double>::eval(x0);
    CHECK_CLOSE(y.primal(), plain, 1e-13);
    CHECK_CLOSE(y.value(), plain, 1e-13);
    size_t n = x0.size();
    std::vector<double> g(n);
    t.gradient(y, g.data(), g.size());
    double worst = 0.0;
    for (size_t k = 0; k < n; k++) {
        double h = 1e-6 * (1.0 + std::fabs(x0[k]));
        std::vector<double> xp = x0, xm = x0;
        xp[k] += h;
        xm[k] -= h;
        double fd = (F<double>::eval(xp) - F<double>::eval(xm)) / (2 * h);
        worst = std::fmax(worst, std::fabs(g[k] - fd) / (1.0 + std::fabs(fd)));
    }
    if (worst > fd_tol) std::fprintf(stderr, "%s: central differences off by %g\n", name, worst);
    CHECK(worst <= fd_tol);
    std::vector<double> seed(n, 0.0);
    double forward_worst = 0.0;
    for (size_t k = 0; k < n; k++) {
        seed[k] = 1.0;
        t.jvp(seed.data(), seed.size());
        forward_worst = std::fmax(forward_worst, std::fabs(y.tangent() - g[k]) / (1.0 + std::fabs(g[k])));
        seed[k] = 0.0;
    }
    CHECK(forward_worst <= 1e-12);
    std::vector<double> v = uniform(n, -1.0, 1.0);
    t.jvp(v);
    double directional = 0.0;
    for (size_t k = 0; k < n; k++) directional += g[k] * v[k];
    CHECK_CLOSE(y.tangent(), directional, 1e-12);
}

static void templates_written_for_double() {
    check_gradient<DotSelf>("dot", uniform(16, -2.0, 2.0), 1e-7);
    check_gradient<Weighted>("weighted", uniform(12, -2.0, 2.0), 1e-7);
    check_gradient<LogSumExp>("log_sum_exp", uniform(20, -3.0, 3.0), 1e-7);
    check_gradient<Newton>("newton_cbrt", {1.3, 0.7}, 1e-7);
    check_gradient<Newton>("newton_cbrt", {0.2, 0.1}, 1e-7);
    check_gradient<Mixed>("mixed", uniform(9, 0.1, 1.5), 1e-6);
    check_gradient<LogSumExp>("log_sum_exp, growing tape", uniform(3000, -3.0, 3.0), 1e-7, true);
    // Newton's root and its derivative d cbrt(a)/da = 1 / (3 cbrt(a)²) at a = 2.
    ad::Tape t = ad::Tape::heap(1 << 16);
    Var a = t.input(2.0);
    Var r = primal::newton_cbrt(a);
    CHECK_CLOSE(r.primal(), std::cbrt(2.0), 1e-15);
    CHECK_CLOSE(t.gradient(r)[0], 1.0 / (3.0 * std::cbrt(4.0)), 1e-12);
}

// Numbers make passive Vars: plain double arithmetic, no tape, no record, even with a
// tape current; they meet active ones as constants; x + 0 and x * 1 record nothing.
static void passive_values() {
    Var a = 0, b = 2.5, c = 3u, d;
    CHECK(a.is_passive() && b.is_passive() && c.is_passive() && d.is_passive());
    CHECK(d.primal() == 0.0 && c.primal() == 3.0 && a.is_valid() && !a.is_active());
    Var e = (b * c - 1) / 2 + ad::exp(Var(0.0)) + ad::pow(b, 2) + ad::max(a, b);
    CHECK(e.is_passive() && e.primal() == (2.5 * 3.0 - 1) / 2 + 1.0 + 6.25 + 2.5);
    CHECK(e.value() == e.primal() && e.grad() == 0.0 && e.tangent() == 0.0);
    ad::Tape t = ad::Tape::heap(1 << 16);
    ad::TapeScope scope(t);
    Var x = ad::input(1.5);
    size_t after_input = t.len();
    Var p = Var(4) * 0.5 + 1; // passive, with a tape current
    CHECK(p.is_passive() && p.primal() == 3.0 && t.len() == after_input);
    CHECK((x + 0.0).raw().index == x.raw().index && (x * 1).raw().index == x.raw().index);
    CHECK((0.0 + x).raw().index == x.raw().index && (x / 1).raw().index == x.raw().index);
    CHECK(t.len() == after_input);
    Var sum = 0;
    sum += x * x; // the first addition to a passive zero records only the product
    CHECK(t.len() == after_input + 1 && sum.is_active());
    Var scaled = x / 4; // a power of two: a scaling, exact
    CHECK(scaled.primal() == 1.5 / 4 && scaled.value() == 1.5 / 4);
    Var y = 3.0 - x + p * x + Var(2) / x + scaled + sum;
    CHECK(y.primal() == 3.0 - 1.5 + 3.0 * 1.5 + 2 / 1.5 + 1.5 / 4 + 1.5 * 1.5);
    CHECK_CLOSE(t.gradient(y)[0], -1.0 + 3.0 - 2 / (1.5 * 1.5) + 0.25 + 3.0, 1e-15);
    // A Var made from a raw handle reads its value once from the tape.
    Var from_handle(t.get(), y.raw());
    CHECK(from_handle.primal() == y.primal() && from_handle.is_active());
    // A passive output depends on no input: a zero gradient.
    std::vector<double> g(1, 7.0);
    t.gradient(p, g.data(), g.size());
    CHECK(g[0] == 0.0);
}

// Scopes nest and restore; input() outside every scope gives the invalid Var; the
// current tape belongs to one thread.
static void current_tape() {
    CHECK(ad::current_tape() == nullptr);
    Var orphan = ad::input(1.0);
    CHECK(!orphan.is_valid() && !orphan.is_passive());
    ad::Tape outer = ad::Tape::heap(1 << 14), inner = ad::Tape::heap(1 << 14);
    {
        ad::TapeScope s1(outer);
        CHECK(ad::current_tape() == outer.get());
        {
            ad::TapeScope s2(inner);
            CHECK(ad::current_tape() == inner.get());
            Var x = ad::input(2.0);
            CHECK(x.tape() == inner.get() && inner.num_inputs() == 1);
            ad_tape *seen = outer.get();
            std::thread([&] { seen = ad::current_tape(); }).join();
            CHECK(seen == nullptr);
        }
        CHECK(ad::current_tape() == outer.get());
        Var k = ad::constant(5.0);
        CHECK(k.is_active() && outer.len() == 1 && outer.num_inputs() == 0);
    }
    CHECK(ad::current_tape() == nullptr);
}

// inputs() records what input() records, one call per block of handles: the same
// records, values and handles across block boundaries; on a tape that fills up, valid
// handles exactly where input() gives them and the same sticky error; outside every
// scope, invalid Vars.
static void inputs_in_blocks() {
    const size_t n = 150; // over two blocks of 64
    std::vector<double> x0 = uniform(n, -2.0, 2.0);
    ad::Tape bulk = ad::Tape::heap(1 << 16), single = ad::Tape::heap(1 << 16);
    std::vector<Var> xb(n), xs(n);
    {
        ad::TapeScope scope(bulk);
        ad::inputs(x0.data(), n, xb.data());
    }
    {
        ad::TapeScope scope(single);
        for (size_t k = 0; k < n; k++) xs[k] = ad::input(x0[k]);
    }
    CHECK(bulk.len() == n && bulk.num_inputs() == n && bulk.status() == AD_OK);
    bool same = true;
    for (size_t k = 0; k < n; k++)
        same = same && xb[k].is_active() && xb[k].raw().index == xs[k].raw().index &&
               xb[k].primal() == x0[k] && xb[k].value() == x0[k];
    CHECK(same);

    // Room for fewer records than inputs: both forms stop at the same input.
    const size_t room = ad::Tape::bytes_for(100);
    ad::Tape small_bulk = ad::Tape::heap(room), small_single = ad::Tape::heap(room);
    {
        ad::TapeScope scope(small_bulk);
        ad::inputs(x0.data(), n, xb.data());
    }
    {
        ad::TapeScope scope(small_single);
        for (size_t k = 0; k < n; k++) xs[k] = ad::input(x0[k]);
    }
    size_t valid = 0;
    bool agree = true;
    for (size_t k = 0; k < n; k++) {
        valid += xb[k].is_valid();
        agree = agree && xb[k].is_valid() == xs[k].is_valid();
    }
    CHECK(agree && valid > 0 && valid < n);
    CHECK(small_bulk.status() != AD_OK && small_bulk.status() == small_single.status());
    small_bulk.reset();
    CHECK(small_bulk.status() == AD_OK && small_bulk.input(1.0).is_valid());

    std::vector<Var> orphans(3);
    ad::inputs(x0.data(), 3, orphans.data());
    CHECK(!orphans[0].is_valid() && !orphans[2].is_valid() && !orphans[1].is_passive());
}

// Comparisons read the recorded value, record nothing, and keep it through a replay.
static void comparisons_of_values() {
    ad::Tape t = ad::Tape::heap(1 << 14);
    Var x = t.input(2.0), y = t.input(3.0);
    Var z = x * y;
    size_t len = t.len();
    CHECK(x < y && y > x && x <= 2 && x >= 2.0 && x == 2 && x != y && 6 == z && 5 < z);
    CHECK(std::max(x, y).raw().index == y.raw().index && std::min(z, y).primal() == 3.0);
    CHECK(t.len() == len);
    CHECK(ad::value_of(z) == 6.0 && ad::value_of(2.5) == 2.5);
    t.replay({4.0, 3.0});
    CHECK(z.value() == 12.0 && z.primal() == 6.0 && z == 6.0);
}

// The pointer-and-length forms against the vector ones; the Jacobian's blocks of
// handles (more outputs than one block, a passive row); bulk reads.
static void buffers_and_bulk() {
    const size_t n = 5, m = 2 * ad::detail::jacobian_block + 3;
    std::vector<double> x0 = uniform(n, -1.0, 1.0);
    ad::Tape t = ad::Tape::heap(1 << 18);
    std::vector<Var> x(n);
    {
        ad::TapeScope scope(t);
        ad::inputs(x0.data(), n, x.data());
    }
    std::vector<Var> outs(m);
    for (size_t i = 0; i < m; i++)
        outs[i] = i == 7 ? Var(1.0) : ad::sin(x[i % n] * double(i + 1)) * x[(i + 2) % n];
    std::vector<double> jac(m * n, -1.0), jac_fwd(m * n, -1.0);
    t.jacobian(outs.data(), m, jac.data(), jac.size());
    t.jacobian(outs.data(), m, jac_fwd.data(), jac_fwd.size(), true);
    std::vector<ad_var> raw;
    for (const Var &o : outs)
        if (!o.is_passive()) raw.push_back(o.raw());
    std::vector<double> jac_raw(raw.size() * n);
    t.jacobian(raw.data(), raw.size(), jac_raw.data(), jac_raw.size());
    bool same = true, near = true, zero_row = true;
    for (size_t i = 0, r = 0; i < m; i++) {
        for (size_t k = 0; k < n; k++) {
            double want = 0.0;
            if (k == i % n) want += std::cos(x0[i % n] * double(i + 1)) * double(i + 1) * x0[(i + 2) % n];
            if (k == (i + 2) % n) want += std::sin(x0[i % n] * double(i + 1));
            if (i == 7) zero_row = zero_row && jac[i * n + k] == 0.0 && jac_fwd[i * n + k] == 0.0;
            else {
                near = near && std::fabs(jac[i * n + k] - want) <= 1e-12 * (1 + std::fabs(want));
                same = same && jac[i * n + k] == jac_raw[r * n + k] &&
                       std::fabs(jac_fwd[i * n + k] - jac[i * n + k]) <= 1e-14;
            }
        }
        if (i != 7) r++;
    }
    CHECK(same && near && zero_row);
    bool threw = false;
    try {
        t.jacobian(outs.data(), m, jac.data(), jac.size() - 1);
    } catch (const ad::Error &e) {
        threw = e.status() == AD_ERR_INVALID_ARGUMENT;
    }
    CHECK(threw);

    // replay and jvp through pointers; bulk reads against the per-handle ones.
    std::vector<double> x1 = uniform(n, -1.0, 1.0);
    t.replay(x1.data(), x1.size());
    std::vector<double> vals(m), prim(m), grads(n), tans(m);
    ad::values(outs.data(), m, vals.data());
    ad::primals(outs.data(), m, prim.data());
    bool values_ok = true;
    for (size_t i = 0; i < m; i++) values_ok = values_ok && vals[i] == outs[i].value();
    CHECK(values_ok && prim[7] == 1.0 && vals[7] == 1.0 && prim[0] == outs[0].primal());
    CHECK(ad::values(outs) == vals);
    t.backward(outs[3]);
    ad::grads(x.data(), n, grads.data());
    std::vector<double> g(n);
    t.gradient(outs[3], g.data(), n);
    CHECK(grads == g);
    std::vector<double> seed = uniform(n, -1.0, 1.0);
    t.jvp(seed.data(), seed.size());
    ad::tangents(outs.data(), m, tans.data());
    bool tangents_ok = tans[7] == 0.0;
    for (size_t i = 0; i < m; i++) tangents_ok = tangents_ok && tans[i] == outs[i].tangent();
    CHECK(tangents_ok);
    // A failed read names its status, and the try_ form returns it.
    t.reset();
    CHECK(ad::try_values(outs.data(), m, vals.data()) == AD_ERR_STALE_HANDLE);
#ifdef AUTODIFF_HPP_SPAN
    ad::TapeScope scope(t);
    std::vector<Var> xs(n);
    ad::inputs(std::span<const double>(x0), std::span<Var>(xs));
    Var f = primal::dot(xs.data(), xs.data(), n);
    std::vector<double> gs(n), vs(n);
    t.gradient(f, std::span<double>(gs));
    bool span_ok = true;
    for (size_t k = 0; k < n; k++) span_ok = span_ok && gs[k] == 2 * x0[k];
    t.replay(std::span<const double>(x1));
    ad::values(std::span<const Var>(xs), std::span<double>(vs));
    CHECK(span_ok && vs == x1);
    std::vector<double> js(n);
    t.jacobian(std::span<const Var>(&f, 1), std::span<double>(js));
    for (size_t k = 0; k < n; k++) span_ok = span_ok && js[k] == 2 * x1[k];
    CHECK(span_ok);
#endif
}

// hvp into caller buffers against the vector form (AD_F64_DUAL tape).
static void hvp_into_buffers() {
    ad::Tape t = ad::Tape::heap(1 << 16, AD_F64_DUAL);
    std::vector<double> x0 = uniform(4, 0.2, 1.0), v = uniform(4, -1.0, 1.0);
    std::vector<Var> x(4);
    {
        ad::TapeScope scope(t);
        ad::inputs(x0.data(), 4, x.data());
    }
    Var f = primal::mixed(x.data(), x.size());
    ad::HvpResult r = t.hvp(f, x0, v);
    std::vector<double> g(4), hv(4);
    t.hvp(f, x0.data(), v.data(), g.data(), hv.data(), 4);
    CHECK(g == r.grad && hv == r.hv);
    // hv against central differences of the gradient along v.
    double h = 1e-5;
    std::vector<double> xp(4), xm(4), gp(4), gm(4), hv2(4);
    for (size_t k = 0; k < 4; k++) xp[k] = x0[k] + h * v[k], xm[k] = x0[k] - h * v[k];
    t.hvp(f, xp.data(), v.data(), gp.data(), hv2.data(), 4);
    t.hvp(f, xm.data(), v.data(), gm.data(), hv2.data(), 4);
    for (size_t k = 0; k < 4; k++) CHECK_CLOSE(hv[k], (gp[k] - gm[k]) / (2 * h), 1e-6);
}

// On an f64 tape a function's primal() is the tape's value bit for bit: it is read back
// from the record the library call just wrote, not computed again with <cmath> (or, for
// the exact -x, 1/x and |x|, computed as the tape computes it). A library
// built for AddressSanitizer offers no record cursor; there the values are <cmath>'s,
// within its rounding of the tape's.
static void function_values_are_the_tapes() {
    ad::Tape t = ad::Tape::heap(1 << 16);
    const bool offered = ad_inline_offered_cursor_(t.get()) != nullptr;
    Var x = t.input(0.7), y = t.input(1.3);
    const Var results[] = {exp(x),      log(y),        sin(x),         tanh(x),
                           sigmoid(x),  softplus(y),   erf(x),         cbrt(y),
                           pow(x, y),   pow(x, 2.5),   pow(x, 3),      pow(2.0, x),
                           atan2(x, y), hypot(x, 2.0), max(x, 0.5),    expm1(x),
                           -x,          recip(y),      1.0 / y,        abs(x - y),
                           fabs(-x)};
    bool same = true;
    for (const Var &r : results) {
        double primal = r.primal(), value = r.value();
        bool equal = offered ? std::memcmp(&primal, &value, sizeof primal) == 0
                             : std::fabs(primal - value) <= 1e-14 * (1.0 + std::fabs(value));
        same = same && r.is_active() && equal;
    }
    CHECK(same);
    // Passive arguments compute in double; a failed op keeps the double value too.
    CHECK(exp(Var(0.5)).is_passive() && exp(Var(0.5)).primal() == std::exp(0.5));
    ad::Tape tiny = ad::Tape::heap(ad::Tape::bytes_for(2));
    Var a = tiny.input(0.25);
    Var b = tiny.input(0.5);
    Var failed = exp(b);
    CHECK(!failed.is_valid() && failed.primal() == std::exp(0.5) && a.is_valid());
}

int main() {
    templates_written_for_double();
    passive_values();
    current_tape();
    inputs_in_blocks();
    comparisons_of_values();
    buffers_and_bulk();
    hvp_into_buffers();
    function_values_are_the_tapes();
    return check_summary();
}
