// The C++ wrapper's recorded control flow (bindings/cpp/autodiff/compare.hpp): the
// comparisons through recorded() record what a host `if` tests, replay reports a branch
// that changed, the plain operators record nothing, and select() is right on both sides. Ends with "N passed, M failed".
#include "autodiff.hpp"

#include <cmath>
#include <cstdio>
#include <vector>

#include "check.hpp"

using autodiff::recorded;
using autodiff::Tape;
using autodiff::Var;

static unsigned char mem[1 << 14];

// x² or -x with a host branch on a recorded comparison.
static Var abs_branch(Var x) { return recorded(x) > 0.0 ? x * x : -x; }

static void operators_record_and_replay_checks_them() {
    Tape t(mem, sizeof mem);
    Var x = t.input(2.0), y = t.input(3.0);
    CHECK(recorded(x) < y && recorded(x) <= y && !(recorded(x) > y) && !(recorded(x) >= y) &&
          !(recorded(x) == y) && recorded(x) != y);
    CHECK(recorded(y) > 1.0 && recorded(x) >= 2.0 && recorded(x) < 3.0 &&
          recorded(x) <= 2.0 && recorded(x) == 2.0 && recorded(x) != 1.0);
    // x == 2 went into a branch: any other x changes it.
    CHECK(t.try_replay({2.0, 3.0}) == AD_OK);
    CHECK(t.try_replay({2.5, 3.0}) == AD_ERR_BRANCH_CHANGED);
    t.reset();
    x = t.input(2.0);
    Var f = abs_branch(x);
    CHECK(t.gradient(f)[0] == 4.0);
    t.replay({5.0});
    CHECK(t.gradient(f)[0] == 10.0);
    bool thrown = false;
    try {
        t.replay({-1.0});
    } catch (const autodiff::Error &e) {
        thrown = e.status() == AD_ERR_BRANCH_CHANGED;
    }
    CHECK(thrown);
    t.reset();
    x = t.input(-1.0);
    f = abs_branch(x);
    CHECK(t.gradient(f)[0] == -1.0);
}

// The plain operators compare values and record nothing: replay does not check them.
static void plain_operators_record_nothing() {
    Tape t(mem, sizeof mem);
    Var x = t.input(2.0), y = t.input(3.0);
    size_t before = t.len();
    CHECK(x < y && x <= y && !(x > y) && !(x >= y) && !(x == y) && x != y);
    CHECK(1.0 < x && 2.0 <= x && 3.0 > x && 2.0 >= x && 2.0 == x && 1.0 != x);
    CHECK(t.len() == before);
    Var f = x > 0.0 ? x * x : -x;
    t.replay({-1.0, 3.0}); // the branch would change; nothing recorded it
    CHECK(f.value() == 1.0 && f.primal() == 4.0);
    // Passive operands: no tape at all, and no record for a comparison that has none.
    Var a = 1, b = 2.5;
    CHECK(a < b && b > 1 && !(a == b));
    CHECK(autodiff::branch(autodiff::compare(a, AD_CMP_LT, b)));
    size_t with_f = t.len();
    CHECK(with_f == before + 1);
    CHECK(recorded(x) < 2.5);
    CHECK(t.len() > with_f); // the recorded form does record
}

static void select_is_right_on_both_sides() {
    Tape t(mem, sizeof mem);
    Var x = t.input(2.0);
    Var f = autodiff::select(autodiff::compare(x, AD_CMP_GT, 0.0), x * x, -x);
    for (double at : {2.0, -3.0, 0.5, -0.25}) {
        t.replay({at});
        CHECK(f.value() == (at > 0 ? at * at : -at));
        CHECK(t.gradient(f)[0] == (at > 0 ? 2 * at : -1.0));
    }
    Var c = autodiff::compare(x, AD_CMP_LT, x);
    CHECK(!autodiff::branch(c));
    CHECK(t.status() == AD_OK);
}

int main() {
    operators_record_and_replay_checks_them();
    plain_operators_record_nothing();
    select_is_right_on_both_sides();
    return check_summary();
}
