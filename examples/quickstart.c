/* Quickstart: the gradient of f(x, y) = (x + y)(x - 2y) at (3, 2), with the tape in a
 * static buffer: no heap anywhere. Expected: f = -5, df/dx = 4, df/dy = -11. */
#include <stdio.h>

#include "autodiff.h"

int main(void) {
    static unsigned char mem[4096];
    ad_tape *t;
    if (ad_tape_init(mem, sizeof mem, AD_F64, &t) != AD_OK) return 1;

    ad_var x = ad_input(t, 3.0), y = ad_input(t, 2.0);
    ad_var f = ad_mul(t, ad_add(t, x, y), ad_sub(t, x, ad_scale(t, y, 2.0)));

    /* Ops never fail loudly: the first error sticks to the tape and shows up here. */
    if (ad_backward(t, f) != AD_OK) {
        fprintf(stderr, "%s\n", ad_tape_error(t));
        return 1;
    }
    double fx, gx, gy;
    ad_value(t, f, &fx);
    ad_grad(t, x, &gx);
    ad_grad(t, y, &gy);
    printf("f(3, 2) = %g, df/dx = %g, df/dy = %g\n", fx, gx, gy);

    ad_tape_done(t);
    return (fx == -5.0 && gx == 4.0 && gy == -11.0) ? 0 : 1;
}
