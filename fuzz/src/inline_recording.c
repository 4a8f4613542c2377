/* The recording functions of autodiff_inline.h, out of line so that the fuzz targets
 * (Rust) can call them: each is the header's `static inline` function, unchanged. */
#include "autodiff_inline.h"

ad_var fuzz_inline_add(ad_tape *tape, ad_var a, ad_var b) { return ad_inline_add(tape, a, b); }
ad_var fuzz_inline_sub(ad_tape *tape, ad_var a, ad_var b) { return ad_inline_sub(tape, a, b); }
ad_var fuzz_inline_mul(ad_tape *tape, ad_var a, ad_var b) { return ad_inline_mul(tape, a, b); }
ad_var fuzz_inline_div(ad_tape *tape, ad_var a, ad_var b) { return ad_inline_div(tape, a, b); }

ad_var fuzz_inline_add_const(ad_tape *tape, ad_var x, double c) {
    return ad_inline_add_const(tape, x, c);
}
ad_var fuzz_inline_sub_const(ad_tape *tape, ad_var x, double c) {
    return ad_inline_sub_const(tape, x, c);
}
ad_var fuzz_inline_scale(ad_tape *tape, ad_var x, double c) { return ad_inline_scale(tape, x, c); }
ad_var fuzz_inline_div_const(ad_tape *tape, ad_var x, double c) {
    return ad_inline_div_const(tape, x, c);
}
ad_var fuzz_inline_const_sub(ad_tape *tape, double c, ad_var x) {
    return ad_inline_const_sub(tape, c, x);
}
ad_var fuzz_inline_const_div(ad_tape *tape, double c, ad_var x) {
    return ad_inline_const_div(tape, c, x);
}

ad_var fuzz_inline_neg(ad_tape *tape, ad_var x) { return ad_inline_neg(tape, x); }
ad_var fuzz_inline_recip(ad_tape *tape, ad_var x) { return ad_inline_recip(tape, x); }
ad_var fuzz_inline_abs(ad_tape *tape, ad_var x) { return ad_inline_abs(tape, x); }

int fuzz_inline_value(ad_tape *tape, ad_var x, double *value) {
    return ad_inline_value(tape, x, value);
}
