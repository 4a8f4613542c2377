/* The header compiles on its own under strict flags, and twice (its include guard). */
#include "autodiff.h"
#include "autodiff.h"

int main(void) {
    ad_var v = {0, 0, 0, 0};
    (void)v;
    return ad_var_is_valid(v) ? 0 : 0;
}
