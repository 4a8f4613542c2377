/* header_sweep/rows_images.h: Rows: tape images and generated C.
 * Part of tests/c/header_sweep.c, one program: included there once, in order. */
#ifndef AUTODIFF_HEADER_SWEEP_ROWS_IMAGES_H
#define AUTODIFF_HEADER_SWEEP_ROWS_IMAGES_H

#include "framework.h"

/* ---- tape images and generated C ---- */

static unsigned char mem_img[1 << 13];
static uint32_t image_words[128]; /* an image, in memory aligned for ad_var too */

/* A scalar tape of the given dtype holding the seed's (x + y)(x - 2y); *f gets the output. */
static ad_tape *scalar_tape(ad_dtype dtype, ad_var *f) {
    ad_tape *t = NULL;
    FIXTURE(ad_tape_init(mem_img, sizeof mem_img, dtype, &t) == AD_OK);
    ad_var x = ad_input(t, 3.0), y = ad_input(t, 2.0);
    *f = ad_mul(t, ad_add(t, x, y), ad_sub(t, x, ad_scale(t, y, 2.0)));
    FIXTURE(ad_tape_status(t) == AD_OK);
    return t;
}

/* fx.a's fields in an ad_var, as an array of one (read after the row's fresh()). */
static const ad_var *tensor_as_var(void) {
    static ad_var v;
    v = AS_VAR(fx.a);
    return &v;
}

static void rows_images(void) {
    unsigned char *image = (unsigned char *)image_words;
    static unsigned char tiny[4096];
    static char code[1 << 13];
    ad_var f, outs[2];
    ad_var *odd_vars = (ad_var *)(void *)(image + 2);
    size_t len = 0, image_len = 0, *odd_len = (size_t *)(void *)(mem_ended + 4), tiny_len = 0;
    ad_image_info info, *odd_info = (ad_image_info *)(void *)(mem_ended + 4);
    ad_tape *ts = scalar_tape(AD_F64, &f), *small = NULL;

    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tape_save_image, ts, &f, 1, NULL, 0, &image_len);
    CHECK(image_len > 32);
    EXPECT(AD_OK, ad_tape_save_image, ts, &f, 1, image, sizeof image_words, &len);
    CHECK(len == image_len);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tape_save_image, ts, &f, 1, code, 10, &len);
    EXPECT(AD_ERR_NULL, ad_tape_save_image, NULL, &f, 1, code, sizeof code, &len);
    EXPECT(AD_ERR_NULL, ad_tape_save_image, ts, &f, 1, code, sizeof code, NULL);
    EXPECT(AD_ERR_NULL, ad_tape_save_image, ts, &f, 1, NULL, 5, &len);
    EXPECT(AD_ERR_NULL, ad_tape_save_image, ts, NULL, 1, code, sizeof code, &len);
    EXPECT(AD_ERR_MISALIGNED, ad_tape_save_image, ts, &f, 1, code, sizeof code, odd_len);
    EXPECT(AD_ERR_MISALIGNED, ad_tape_save_image, ts, odd_vars, 1, code, sizeof code, &len);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_save_image, ts, &f, 1, code, SIZE_MAX, &len);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_save_image, ts, &f, SIZE_MAX, code, sizeof code, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_save_image, ts, &f, 1, (void *)&f, sizeof f, &len);
    /* Tensor and parameter records save too, with or without the parameters' values. */
    EXPECT(AD_OK, ad_tape_save_image, fx.t, &fx.f, 1, code, sizeof code, &len);
    EXPECT(AD_OK, ad_tape_save_image_with, fx.t, &fx.f, 1, AD_IMAGE_PARAMETERS, code, sizeof code,
           &len);
    EXPECT(AD_OK, ad_tape_save_image_with, ts, &f, 1, 0, code, sizeof code, &len);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tape_save_image_with, ts, &f, 1, 0, NULL, 0, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_save_image_with, ts, &f, 1, 2, code, sizeof code, &len);
    EXPECT(AD_ERR_NULL, ad_tape_save_image_with, NULL, &f, 1, 0, code, sizeof code, &len);
    EXPECT(AD_ERR_NULL, ad_tape_save_image_with, ts, &f, 1, 0, code, sizeof code, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_tape_save_image_with, ts, &f, 1, 0, code, sizeof code, odd_len);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_save_image_with, ts, &f, 1, 0, code, SIZE_MAX, &len);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tape_save_image_with, fx.t, &fx.stale, 1, 0, code, sizeof code,
           &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tape_save_image_with, fx.td, &fx.fd, 1, 0, code, sizeof code,
           &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_save_image_with, fx.ended, &f, 1, 0, code, sizeof code, &len);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tape_save_image, fx.t, &fx.stale, 1, code, sizeof code, &len);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tape_save_image, fx.t, &fx.fu, 1, code, sizeof code, &len);
    EXPECT_ONE_OF(S(AD_ERR_WRONG_HANDLE_KIND) | HANDLE_ERRORS, ad_tape_save_image, fx.t,
                  tensor_as_var(), 1, code, sizeof code, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tape_save_image, fx.td, &fx.fd, 1, code, sizeof code, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_save_image, fx.ended, &f, 1, code, sizeof code, &len);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tape_save_image, sticky_t(), &fx.x, 1, code, sizeof code, &len);

    EXPECT(AD_OK, ad_image_inspect, image, image_len, &info);
    if (info.dtype != AD_F64 || info.records < 6 || info.inputs != 2 || info.outputs != 1)
        fprintf(stderr, "image: dtype %d, %zu records, %zu inputs, %zu outputs\n", (int)info.dtype,
                info.records, info.inputs, info.outputs);
    CHECK(info.dtype == AD_F64 && info.records >= 6 && info.inputs == 2 && info.outputs == 1);
    EXPECT(AD_ERR_NULL, ad_image_inspect, image, image_len, NULL);
    EXPECT(AD_ERR_NULL, ad_image_inspect, NULL, 5, &info);
    EXPECT(AD_ERR_MISALIGNED, ad_image_inspect, image, image_len, odd_info);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_image_inspect, image, SIZE_MAX, &info);
    EXPECT(AD_ERR_BAD_IMAGE, ad_image_inspect, image, image_len - 1, &info);
    EXPECT(AD_ERR_BAD_IMAGE, ad_image_inspect, image, 0, &info);
    image[4] ^= 0x40;
    EXPECT(AD_ERR_IMAGE_VERSION, ad_image_inspect, image, image_len, &info);
    EXPECT(AD_ERR_IMAGE_VERSION, ad_tape_load_image, fx.t, image, image_len, outs, 1);
    image[4] ^= 0x40;
    image[40] ^= 1;
    EXPECT(AD_ERR_BAD_IMAGE, ad_tape_load_image, fx.t, image, image_len, outs, 1);
    image[40] ^= 1;

    EXPECT(AD_OK, ad_tape_load_image, fx.t, image, image_len, outs, 1);
    EXPECT(AD_OK, ad_tape_load_image, fx.u, image, image_len, outs, 1);
    EXPECT(AD_ERR_NULL, ad_tape_load_image, NULL, image, image_len, outs, 1);
    EXPECT(AD_ERR_NULL, ad_tape_load_image, fx.t, NULL, image_len, outs, 1);
    EXPECT(AD_ERR_NULL, ad_tape_load_image, fx.t, image, image_len, NULL, 1);
    EXPECT(AD_ERR_MISALIGNED, ad_tape_load_image, fx.t, image, image_len, odd_vars, 1);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_load_image, fx.t, image, SIZE_MAX, outs, 1);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_load_image, fx.t, image, image_len, outs, SIZE_MAX);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_load_image, fx.ended, image, image_len, outs, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tape_load_image, fx.t32, image, image_len, outs, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tape_load_image, fx.td, image, image_len, outs, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_load_image, fx.t, image, image_len, outs, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_load_image, fx.t, image, image_len,
           (ad_var *)(void *)(image + 16), 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tape_load_image, sticky_t(), image, image_len, outs, 1);
    FIXTURE(ad_tape_bytes_for(AD_F64, 3, &tiny_len) == AD_OK && tiny_len <= sizeof tiny);
    FIXTURE(ad_tape_init(tiny, tiny_len, AD_F64, &small) == AD_OK);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_tape_load_image, small, image, image_len, outs, 1);
    FIXTURE(ad_tape_done(small) == AD_OK);

    EXPECT(AD_OK, ad_tape_generate_c, ts, &f, 1, "seed", AD_CODEGEN_VJP | AD_CODEGEN_JVP, code,
           sizeof code, &len);
    CHECK(len == strlen(code) && strstr(code, "void seed_jvp(") != NULL);
    EXPECT(AD_OK, ad_tape_generate_c, ts, &f, 1, "seed", 0, code, sizeof code, &len);
    CHECK(strstr(code, "seed_vjp") == NULL);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tape_generate_c, ts, &f, 1, "seed", 0, NULL, 0, &len);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tape_generate_c, ts, &f, 1, "seed", 0, code, 10, &len);
    CHECK(strlen(code) == 9);
    EXPECT(AD_ERR_NULL, ad_tape_generate_c, NULL, &f, 1, "seed", 0, code, sizeof code, &len);
    EXPECT(AD_ERR_NULL, ad_tape_generate_c, ts, &f, 1, NULL, 0, code, sizeof code, &len);
    EXPECT(AD_ERR_NULL, ad_tape_generate_c, ts, &f, 1, "seed", 0, code, sizeof code, NULL);
    EXPECT(AD_ERR_NULL, ad_tape_generate_c, ts, &f, 1, "seed", 0, NULL, 5, &len);
    EXPECT(AD_ERR_NULL, ad_tape_generate_c, ts, NULL, 1, "seed", 0, code, sizeof code, &len);
    EXPECT(AD_ERR_MISALIGNED, ad_tape_generate_c, ts, &f, 1, "seed", 0, code, sizeof code, odd_len);
    EXPECT(AD_ERR_MISALIGNED, ad_tape_generate_c, ts, odd_vars, 1, "seed", 0, code, sizeof code, &len);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_generate_c, ts, &f, 1, "seed", 0, code, SIZE_MAX, &len);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_generate_c, ts, &f, SIZE_MAX, "seed", 0, code, sizeof code, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_generate_c, ts, &f, 1, "1seed", 0, code, sizeof code, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_generate_c, ts, &f, 1, "", 0, code, sizeof code, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_generate_c, ts, &f, 1, "seed", 4, code, sizeof code, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_generate_c, ts, &f, 1, "seed", 0, (char *)&f, sizeof f, &len);
    fresh();
    outs[0] = ad_tensor_as_var(fx.t, fx.s);
    EXPECT_HERE(AD_ERR_NOT_EXPORTABLE, ad_tape_generate_c, fx.t, outs, 1, "seed", 0, code, sizeof code, &len);
    EXPECT(AD_OK, ad_tape_generate_c, fx.t, &fx.f, 1, "seed", 1, code, sizeof code, &len);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tape_generate_c, fx.t, &fx.stale, 1, "seed", 0, code, sizeof code, &len);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tape_generate_c, fx.t, &fx.fu, 1, "seed", 0, code, sizeof code, &len);
    EXPECT_ONE_OF(S(AD_ERR_WRONG_HANDLE_KIND) | HANDLE_ERRORS, ad_tape_generate_c, fx.t,
                  tensor_as_var(), 1, "seed", 0, code, sizeof code, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tape_generate_c, fx.td, &fx.fd, 1, "seed", 0, code, sizeof code, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_generate_c, fx.ended, &f, 1, "seed", 0, code, sizeof code, &len);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tape_generate_c, sticky_t(), &fx.x, 1, "seed", 0, code, sizeof code, &len);

    fresh();
    EXPECT_TENSOR(AD_OK, ad_tensor_of, fx.t, ad_tensor_as_var(fx.t, fx.s));
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_of, fx.t, fx.f);
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_tensor_of, fx.t, fx.stale);
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_tensor_of, fx.t, fx.fu);
    EXPECT_TENSOR(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_of, fx.t, *tensor_as_var());
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_of, fx.td, fx.fd);
    FIXTURE(ad_tape_done(ts) == AD_OK);
}

#endif
