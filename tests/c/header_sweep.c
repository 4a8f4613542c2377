/* The header as a specification: every function that include/autodiff.h declares is
 * called with bad input of every kind (NULL for each pointer, zero lengths, tiny and
 * misaligned arenas, unknown enum values, forged, stale and foreign handles, scalar
 * handles where tensors are expected and the other way round, NaN and infinities,
 * shapes whose element count overflows and ranks above 4), and each call must give the
 * status its row expects, which the function's own doc comment in the header must list.
 *
 * The header is read at run time (from AD_HEADER_PATH, by default include/autodiff.h,
 * relative to the repository root where `make` runs the tests): the statuses a doc
 * comment names are what a call may return, and "sticky error" in it allows the status
 * of the op that failed the tape first. Ops that return a handle are checked through
 * the status they leave on the tape. At the end, every function the header declares must
 * have been called, and every tape must compute a gradient again after ad_tape_reset.
 *
 * A row marked PENDING is a failure known to need a change in the core that is under
 * way elsewhere: it runs, prints what it got, and does not count as failed (it says so
 * when it starts to pass). */
#include "header_sweep/framework.h"
#include "header_sweep/rows_scalar.h"
#include "header_sweep/rows_tensors.h"
#include "header_sweep/rows_params.h"
#include "header_sweep/rows_checkpoints.h"
#include "header_sweep/rows_devices.h"
#include "header_sweep/rows_sparse.h"
#include "header_sweep/rows_images.h"
#include "header_sweep/rows_control.h"

/* ---- status text and versions ---- */

static void rows_misc(void) {
    /* Codes are not contiguous (ranges are set aside as they are added): a number the
     * header names has a text, and every other one is unknown. */
    static const int codes[] = {-1, INT_MIN, INT_MAX, 64, 1000};
    for (size_t i = 0; i < COUNT(codes); i++)
        CHECK(strcmp(ad_status_str((ad_status)codes[i]), "unknown status code") == 0);
    for (int s = 0; s <= n_status_names; s++)
        CHECK((strcmp(ad_status_str((ad_status)s), "unknown status code") != 0) ==
              (s < n_status_names && status_names[s][0] != 0));
    CHECK(n_status_names == AD_ERR_STATE_MISMATCH + 1);
    CALLED(ad_status_str);
    CHECK(ad_version() != NULL && ad_abi_version() == AD_ABI_VERSION);
    CALLED(ad_version);
    CALLED(ad_abi_version);
}

/* ---- signatures: what writes the tape takes ad_tape*, what only reads const ad_tape* ----
 * Each pointer below has the type the call must have: a signature that says otherwise does
 * not compile (-Werror). Writing includes recording, sweeping, failing the tape and
 * writing the message buffer inside it (ad_tape_error). */

typedef ad_status (*reader_count_fn)(const ad_tape *, size_t *);
typedef ad_status (*reader_var_fn)(const ad_tape *, ad_var, double *);
typedef ad_status (*param_read64_fn)(const ad_tape *, ad_param, double *, size_t);
typedef ad_status (*param_read32_fn)(const ad_tape *, ad_param, float *, size_t);

static void signatures(void) {
    static const reader_count_fn counts[] = {ad_tape_num_inputs, ad_tape_len, ad_tape_bytes_used,
                                             ad_param_count};
    static const reader_var_fn scalars[] = {ad_grad, ad_value, ad_tangent};
    static const read64_fn tensors64[] = {ad_tensor_value_f64, ad_tensor_grad_f64, ad_tensor_tangent_f64};
    static const read32_fn tensors32[] = {ad_tensor_value_f32, ad_tensor_grad_f32, ad_tensor_tangent_f32};
    static const param_read64_fn params64[] = {ad_param_read_f64, ad_param_grad_f64};
    static const param_read32_fn params32[] = {ad_param_read_f32, ad_param_grad_f32};
    ad_status (*const status_fn)(const ad_tape *) = ad_tape_status;
    ad_status (*const rank_fn)(const ad_tape *, ad_tensor, size_t *) = ad_tensor_rank;
    ad_status (*const dims_fn)(const ad_tape *, ad_tensor, size_t *, size_t, size_t *) = ad_tensor_dims;
    ad_status (*const dot_fn)(const ad_tape *, char *, size_t, size_t *) = ad_tape_dot;
    ad_status (*const device_fn)(const ad_tape *, ad_tensor, int *) = ad_tensor_device;
    ad_status (*const save_fn)(const ad_tape *, const ad_var *, size_t, void *, size_t, size_t *) =
        ad_tape_save_image;
    ad_status (*const generate_fn)(const ad_tape *, const ad_var *, size_t, const char *, unsigned,
                                   char *, size_t, size_t *) = ad_tape_generate_c;
    /* Writers. */
    const char *(*const error_fn)(ad_tape *) = ad_tape_error;
    ad_status (*const backward_fn)(ad_tape *, ad_var) = ad_backward;
    ad_status (*const gradient_fn)(ad_tape *, ad_var, double *, size_t) = ad_gradient;
    ad_status (*const jvp_fn)(ad_tape *, const double *, size_t) = ad_jvp;
    ad_status (*const replay_fn)(ad_tape *, const double *, size_t) = ad_replay;
    ad_status (*const step_fn)(ad_tape *) = ad_optim_step;
    ad_status (*const set_fn)(ad_tape *, ad_tensor, const double *, size_t) = ad_tensor_set_value_f64;
    ad_status (*const seed_fn)(ad_tape *, ad_tensor, const double *, size_t) = ad_tensor_seed_tangent_f64;
    ad_status (*const write_fn)(ad_tape *, ad_param, const double *, size_t) = ad_param_write_f64;
    ad_status (*const attach_fn)(ad_tape *, ad_device *, int *) = ad_tape_attach_device;
    ad_status (*const default_fn)(ad_tape *, int) = ad_tape_set_device;
    ad_status (*const load_fn)(ad_tape *, const void *, size_t, ad_var *, size_t) = ad_tape_load_image;
    CHECK(counts[0] && scalars[0] && tensors64[0] && tensors32[0] && params64[0] && params32[0]);
    CHECK(status_fn && rank_fn && dims_fn && dot_fn && device_fn && error_fn && backward_fn &&
          gradient_fn && jvp_fn && replay_fn && step_fn && set_fn && seed_fn && write_fn &&
          attach_fn && default_fn && save_fn && generate_fn && load_fn);
}

static void gradient_after_reset(ad_tape *t, const char *which, int tensors) {
    double gx = 0, gy = 0;
    CHECK(ad_tape_reset(t) == AD_OK);
    ad_var x = ad_input(t, 3.0), y = ad_input(t, 2.0);
    ad_var f = ad_add(t, ad_mul(t, x, y), ad_sin(t, x)); /* df/dx = y + cos x, df/dy = x */
    if (ad_backward(t, f) != AD_OK || ad_grad(t, x, &gx) != AD_OK || ad_grad(t, y, &gy) != AD_OK)
        fprintf(stderr, "header_sweep: %s: %s\n", which, ad_tape_error(t));
    CHECK_NEAR(gx, 2.0 + cos(3.0), 1e-6);
    CHECK_NEAR(gy, 3.0, 1e-6);
    if (tensors) {
        double g[6] = {0};
        ad_tensor a = ad_tensor_input_f64(t, D23, 2, V6, 6);
        CHECK_OK(ad_backward(t, ad_tensor_as_var(t, ad_tensor_sum(t, ad_tensor_activation(t, a, AD_ACT_SQUARE)))));
        CHECK_OK(ad_tensor_grad_f64(t, a, g, 6));
        CHECK_NEAR(g[5], 2 * V6[5], 1e-12);
    }
}

static void every_function_was_called(void) {
    int missing = 0;
    for (int i = 0; i < n_specs; i++) {
        if (specs[i].calls == 0) {
            fprintf(stderr, "header_sweep: %s (declared in the header) was never called\n",
                    specs[i].name);
            missing++;
        }
    }
    CHECK(missing == 0);
    printf("header_sweep: %d functions, %d status codes from the header; %d rows pending\n",
           n_specs, n_status_names, pending_rows);
    for (size_t i = 0; i < COUNT(pending_reasons) && pending_reasons[i].why; i++)
        printf("  pending, %d rows: %s\n", pending_reasons[i].rows, pending_reasons[i].why);
}

int main(void) {
    if (!spec_load(AD_HEADER_PATH)) return 1;
    setup();
    rows_tapes();
    tiny_arenas();
    rows_scalar_ops();
    rows_derivatives();
    rows_tensor_ops();
    rows_tensor_data();
    rows_params();
    rows_buffers();
    rows_param_groups();
    rows_checkpoints();
    rows_chains();
    rows_devices();
    rows_gpu_queries();
    rows_vector_modes();
    rows_sparse();
    rows_duals();
    rows_images();
    rows_misc();
    rows_compare();
    rows_user_ops();
    rows_tensor_user_ops();
    signatures();
    gradient_after_reset(fx.t, "AD_F64 tape", 1);
    gradient_after_reset(fx.t32, "AD_F32 tape", 0);
    gradient_after_reset(fx.td, "AD_F64_DUAL tape", 0);
    gradient_after_reset(fx.u, "other tape", 1);
    gradient_after_reset(fx.tdev, "tape with a device", 1);
    teardown();
    every_function_was_called();
    CHECK(fixture_failures == 0);
    CHECK(pending_now_passing == 0);
    return check_summary();
}
