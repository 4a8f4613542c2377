// Quickstart in C++: the gradient of f(x, y) = (x + y)(x - 2y) at (3, 2) through the
// header-only wrapper, with the tape in a static buffer. Expected: df/dx = 4, df/dy = -11.
#include <cstdio>

#include "autodiff.hpp"
namespace ad = autodiff;

int main() {
    static unsigned char mem[4096];
    ad::Tape t(mem, sizeof mem);             // ad_tape_init; ad_tape_done in ~Tape
    ad::Var x = t.input(3.0), y = t.input(2.0);
    ad::Var f = (x + y) * (x - 2.0 * y);
    try {
        t.backward(f);                       // throws autodiff::Error on failure
    } catch (const ad::Error &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    double gx = x.grad(), gy = y.grad();
    std::printf("df/dx = %g, df/dy = %g\n", gx, gy);
    return (gx == 4.0 && gy == -11.0) ? 0 : 1;
}
