// The header compiles as C++17 under strict flags, twice, with C linkage.
#include "autodiff.h"
#include "autodiff.h"

int main() {
    ad_tape *t = nullptr;
    static unsigned char mem[1024];
    if (ad_tape_init(mem, sizeof mem, AD_F64, &t) != AD_OK) return 1;
    ad_var x = ad_input(t, 2.0);
    double v = 0.0;
    ad_status s = ad_value(t, ad_mul(t, x, x), &v);
    ad_tape_done(t);
    return (s == AD_OK && v == 4.0) ? 0 : 1;
}
