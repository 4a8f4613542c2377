/* Tape images and generated C through the C API: a Rosenbrock tape saved (asking its
 * length first), inspected, loaded into a tape in other memory, where it gives the same
 * values and gradients bit for bit at new inputs; a corrupt image refused, leaving the
 * tape usable; C source generated (asking its length first) and, when a path is given
 * as argv[1], written there for the Makefile to compile for the host and a Cortex-M4. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define N 12

static unsigned char mem_a[1 << 14], mem_b[1 << 14 | 3];
static uint32_t image_words[1024];

static ad_var rosenbrock(ad_tape *t, const double *x) {
    ad_var f = ad_const(t, 0.0), xi = ad_input(t, x[0]);
    for (int i = 1; i < N; i++) {
        ad_var xn = ad_input(t, x[i]);
        ad_var a = ad_sub(t, xn, ad_mul(t, xi, xi));
        ad_var b = ad_sub(t, ad_const(t, 1.0), xi);
        f = ad_add(t, f, ad_add(t, ad_mul(t, ad_scale(t, a, 100.0), a), ad_mul(t, b, b)));
        xi = xn;
    }
    return f;
}

static int same_bits(const double *a, const double *b, size_t n) {
    return memcmp(a, b, n * sizeof *a) == 0;
}

int main(int argc, char **argv) {
    unsigned char *image = (unsigned char *)image_words;
    double x[N], at[N], grad_a[N], grad_b[N], value_a, value_b;
    size_t len = 0, written = 0, code_len = 0;
    ad_tape *a, *b;
    ad_var f, loaded;
    ad_image_info info;
    for (int i = 0; i < N; i++) {
        x[i] = 0.1 * i - 0.4;
        at[i] = 0.05 * i + 0.3;
    }
    CHECK_OK(ad_tape_init(mem_a, sizeof mem_a, AD_F64, &a));
    f = rosenbrock(a, x);
    CHECK_OK(ad_tape_status(a));

    CHECK_STATUS(ad_tape_save_image(a, &f, 1, NULL, 0, &len), AD_ERR_BUFFER_TOO_SMALL);
    CHECK(len > 0 && len <= sizeof image_words);
    CHECK_OK(ad_tape_save_image(a, &f, 1, image, len, &written));
    CHECK(written == len);
    CHECK_OK(ad_image_inspect(image, len, &info));
    CHECK(info.dtype == AD_F64 && info.inputs == N && info.outputs == 1);

    /* Another arena, at an odd address, of a size ad_tape_bytes_for() gives. */
    CHECK_OK(ad_tape_init(mem_b + 3, sizeof mem_b - 3, AD_F64, &b));
    CHECK_OK(ad_tape_load_image(b, image, len, &loaded, 1));
    CHECK_OK(ad_replay(a, at, N));
    CHECK_OK(ad_replay(b, at, N));
    CHECK_OK(ad_value(a, f, &value_a));
    CHECK_OK(ad_value(b, loaded, &value_b));
    CHECK(same_bits(&value_a, &value_b, 1));
    CHECK_OK(ad_gradient(a, f, grad_a, N));
    CHECK_OK(ad_gradient(b, loaded, grad_b, N));
    CHECK(same_bits(grad_a, grad_b, N));

    /* A flipped bit is refused, and the tape records nothing and stays usable. */
    image[len / 2] ^= 4;
    CHECK_OK(ad_tape_reset(b));
    CHECK_STATUS(ad_tape_load_image(b, image, len, &loaded, 1), AD_ERR_BAD_IMAGE);
    CHECK_OK(ad_tape_len(b, &written));
    CHECK(written == 0);
    CHECK_OK(ad_tape_status(b));
    image[len / 2] ^= 4;
    CHECK_OK(ad_tape_load_image(b, image, len, &loaded, 1));

    CHECK_STATUS(ad_tape_generate_c(a, &f, 1, "rosenbrock", AD_CODEGEN_VJP | AD_CODEGEN_JVP, NULL, 0,
                                    &code_len),
                 AD_ERR_BUFFER_TOO_SMALL);
    {
        char *code = malloc(code_len + 1);
        CHECK(code != NULL);
        if (code) {
            CHECK_OK(ad_tape_generate_c(a, &f, 1, "rosenbrock", AD_CODEGEN_VJP | AD_CODEGEN_JVP, code,
                                        code_len + 1, &written));
            CHECK(written == code_len && strlen(code) == code_len);
            CHECK(strstr(code, "void rosenbrock_vjp(const double *x") != NULL);
            if (argc > 1) {
                FILE *out = fopen(argv[1], "w");
                CHECK(out != NULL && fwrite(code, 1, code_len, out) == code_len && fclose(out) == 0);
            }
            free(code);
        }
    }
    CHECK_OK(ad_tape_done(a));
    CHECK_OK(ad_tape_done(b));
    return check_summary();
}
