/* Tape images and generated C through the C API: a Rosenbrock tape saved (asking its
 * length first), inspected, loaded into a tape in other memory, where it gives the same
 * values and gradients bit for bit at new inputs; a corrupt image refused, leaving the
 * tape usable; C source generated (asking its length first) and, when a path is given
 * as argv[1], written there for the Makefile to compile for the host and a Cortex-M4.
 * Then a small network's loss with tensor records and parameters, saved with its
 * parameters' values, loaded into a tape whose parameters start at zero: the same loss
 * and gradients, bit for bit. */
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

static unsigned char mem_c[1 << 15], mem_d[1 << 15];
static uint32_t tensor_image[1024];

/* A 2-3-1 tanh network's squared error on two samples: params w1 (2x3), b1 (3), w2 (3x1). */
static ad_var network_loss(ad_tape *t, const ad_param *p, ad_tensor *x_out) {
    static const size_t x_dims[] = {2, 2}, y_dims[] = {2, 1};
    static const double x[] = {0.5, -1.0, 1.5, 0.25}, y[] = {0.3, -0.2};
    ad_tensor xt = ad_tensor_input_f64(t, x_dims, 2, x, 4);
    ad_tensor h = ad_linear(t, xt, ad_param_use(t, p[0]), ad_param_use(t, p[1]), AD_ACT_TANH);
    ad_tensor out = ad_matmul(t, h, ad_param_use(t, p[2]), 0, 0);
    ad_tensor loss = ad_mse(t, out, ad_tensor_const_f64(t, y_dims, 2, y, 2));
    *x_out = xt;
    return ad_scale(t, ad_tensor_as_var(t, loss), 0.5);
}

/* Declares the network's parameters on `t`, all set to `fill` plus a ramp (or 0). */
static void declare(ad_tape *t, ad_param *p, double ramp) {
    static const size_t dims[3][2] = {{2, 3}, {3, 0}, {3, 1}};
    static const size_t ranks[3] = {2, 1, 2}, lens[3] = {6, 3, 3};
    for (int k = 0; k < 3; k++) {
        double init[6];
        for (size_t i = 0; i < lens[k]; i++) init[i] = ramp * (0.1 * (double)(i + 3 * k) - 0.4);
        CHECK_OK(ad_param_new_f64(t, dims[k], ranks[k], init, lens[k], &p[k]));
    }
}

/* Loss and parameter gradients, after backward. */
static void results(ad_tape *t, const ad_param *p, ad_var loss, double *out) {
    CHECK_OK(ad_backward(t, loss));
    CHECK_OK(ad_value(t, loss, &out[0]));
    CHECK_OK(ad_param_grad_f64(t, p[0], out + 1, 6));
    CHECK_OK(ad_param_grad_f64(t, p[1], out + 7, 3));
    CHECK_OK(ad_param_grad_f64(t, p[2], out + 10, 3));
}

static void tensor_round_trip(void) {
    ad_tape *c, *d;
    ad_param pc[3], pd[3];
    ad_tensor x;
    ad_var outs[2], loaded[2];
    size_t len = 0, written = 0;
    double want[13], got[13], sum = 0.0;
    CHECK_OK(ad_tape_init(mem_c, sizeof mem_c, AD_F64, &c));
    CHECK_OK(ad_tape_init(mem_d, sizeof mem_d, AD_F64, &d));
    declare(c, pc, 1.0);
    declare(d, pd, 0.0);
    outs[0] = network_loss(c, pc, &x);
    outs[1] = ad_tensor_as_var(c, ad_tensor_sum(c, x));
    CHECK_STATUS(ad_tape_save_image_with(c, outs, 2, AD_IMAGE_PARAMETERS, NULL, 0, &len),
                 AD_ERR_BUFFER_TOO_SMALL);
    CHECK(len > 0 && len <= sizeof tensor_image);
    CHECK_OK(ad_tape_save_image_with(c, outs, 2, AD_IMAGE_PARAMETERS, tensor_image,
                                     sizeof tensor_image, &written));
    CHECK(written == len);
    CHECK_STATUS(ad_tape_save_image_with(c, outs, 2, 2, tensor_image, sizeof tensor_image,
                                         &written),
                 AD_ERR_INVALID_ARGUMENT);
    results(c, pc, outs[0], want);
    CHECK_OK(ad_tape_load_image(d, tensor_image, len, loaded, 2));
    results(d, pd, loaded[0], got);
    CHECK(same_bits(want, got, 13));
    /* The second output is a rank-0 tensor: its tensor handle reads the same value. */
    CHECK(ad_tensor_is_valid(ad_tensor_of(d, loaded[1])));
    CHECK_OK(ad_value(d, loaded[1], &sum));
    CHECK(sum == 0.5 - 1.0 + 1.5 + 0.25);
    CHECK_OK(ad_tape_done(c));
    CHECK_OK(ad_tape_done(d));
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
    tensor_round_trip();
    return check_summary();
}
