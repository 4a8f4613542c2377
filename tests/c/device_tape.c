/* Tensors on a device through the C API, with the reference CPU device (runs anywhere):
 * a training step with parameters on the device matches the same step on the host,
 * transfers carry gradients, mixing devices and unknown devices are status errors that
 * reset clears, a device cannot be closed while a live tape holds it, and checkpointed
 * segments of device tensors are refused with a status. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

enum { BATCH = 4, IN = 3, HIDDEN = 5, OUT = 2, STEPS = 5 };

static double w1[IN * HIDDEN], b1[HIDDEN], w2[HIDDEN * OUT], b2[OUT], xs[BATCH * IN];
static const uint32_t labels[BATCH] = {0, 1, 1, 0};

static void fill(double *v, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (double)(seed >> 11) / 9007199254740992.0 - 0.5;
    }
}

/* Trains the 3 → 5 → 2 network for STEPS SGD steps on `device` (0: the host), writing
 * the losses and the final first-layer weights. */
static void train(ad_tape *t, int device, double losses[STEPS], double w1_out[IN * HIDDEN]) {
    const size_t dw1[2] = {IN, HIDDEN}, db1[1] = {HIDDEN}, dw2[2] = {HIDDEN, OUT},
                 db2[1] = {OUT}, dx[2] = {BATCH, IN};
    ad_param p[4];
    CHECK_OK(ad_tape_set_device(t, device));
    CHECK_OK(ad_param_new_f64(t, dw1, 2, w1, IN * HIDDEN, &p[0]));
    CHECK_OK(ad_param_new_f64(t, db1, 1, b1, HIDDEN, &p[1]));
    CHECK_OK(ad_param_new_f64(t, dw2, 2, w2, HIDDEN * OUT, &p[2]));
    CHECK_OK(ad_param_new_f64(t, db2, 1, b2, OUT, &p[3]));
    CHECK_OK(ad_optim_sgd(t, 0.5, 0.9, 0.0));
    for (int s = 0; s < STEPS; s++) {
        CHECK_OK(ad_tape_reset(t));
        ad_tensor x = ad_tensor_input_f64(t, dx, 2, xs, BATCH * IN);
        int where = -1;
        CHECK_OK(ad_tensor_device(t, x, &where));
        CHECK(where == device);
        ad_tensor h = ad_linear(t, x, ad_param_use(t, p[0]), ad_param_use(t, p[1]), AD_ACT_TANH);
        ad_tensor z = ad_linear(t, h, ad_param_use(t, p[2]), ad_param_use(t, p[3]), AD_ACT_IDENTITY);
        ad_tensor loss = ad_cross_entropy(t, z, labels, BATCH);
        CHECK_OK(ad_backward(t, ad_tensor_as_var(t, loss)));
        CHECK_OK(ad_optim_step(t));
        CHECK_OK(ad_value(t, ad_tensor_as_var(t, loss), &losses[s]));
    }
    CHECK_OK(ad_param_read_f64(t, p[0], w1_out, IN * HIDDEN));
}

static void training_matches_the_host(void) {
    static double device_memory[4096];
    double host_losses[STEPS], losses[STEPS], host_w1[IN * HIDDEN], dev_w1[IN * HIDDEN];
    ad_tape *host = NULL, *t = NULL;
    ad_device *dev = NULL;
    int id = -1;
    CHECK_OK(ad_tape_new(1 << 18, AD_F64, &host));
    train(host, 0, host_losses, host_w1);
    ad_tape_free(host);

    CHECK_OK(ad_device_open_cpu(device_memory, sizeof device_memory, AD_F64, &dev));
    CHECK_OK(ad_tape_new(1 << 18, AD_F64, &t));
    CHECK_OK(ad_tape_attach_device(t, dev, &id));
    CHECK(id == 1);
    train(t, id, losses, dev_w1);
    CHECK(losses[STEPS - 1] < losses[0]);
    for (int s = 0; s < STEPS; s++) CHECK_NEAR(losses[s], host_losses[s], 1e-12);
    for (int i = 0; i < IN * HIDDEN; i++) CHECK_NEAR(dev_w1[i], host_w1[i], 1e-12);

    /* The device is held while the tape lives, and serves one tape at a time. */
    CHECK_STATUS(ad_device_close(dev), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_tape_new(1 << 16, AD_F64, &host));
    CHECK_STATUS(ad_tape_attach_device(host, dev, &id), AD_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ad_tape_error(host), "another tape") != NULL);
    CHECK_OK(ad_tape_reset(host));
    ad_tape_free(t);
    CHECK_OK(ad_tape_attach_device(host, dev, &id));
    CHECK(id == 1);
    CHECK_STATUS(ad_device_close(dev), AD_ERR_INVALID_ARGUMENT);
    ad_tape_free(host);
    CHECK_OK(ad_device_close(dev));
}

static void transfers_and_errors(void) {
    static double device_memory[512];
    static float f32_memory[64];
    const size_t d3[1] = {3};
    const double a[3] = {1.0, -2.0, 0.5};
    double g[3], v = 0;
    ad_tape *t = NULL;
    ad_device *dev = NULL, *dev32 = NULL;
    int id = -1;
    CHECK_OK(ad_device_open_cpu(device_memory, sizeof device_memory, AD_F64, &dev));
    CHECK_OK(ad_device_open_cpu(f32_memory, sizeof f32_memory, AD_F32, &dev32));
    CHECK_OK(ad_tape_new(1 << 16, AD_F64, &t));
    CHECK_STATUS(ad_tape_attach_device(t, dev32, &id), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    CHECK_OK(ad_tape_attach_device(t, dev, &id));

    /* host x → device: square → host: sum; d/dx = 2x. */
    ad_tensor x = ad_tensor_input_f64(t, d3, 1, a, 3);
    ad_tensor on = ad_tensor_to_device(t, x, id);
    ad_tensor sq = ad_tensor_activation(t, on, AD_ACT_SQUARE);
    ad_tensor back = ad_tensor_to_host(t, sq);
    ad_tensor loss = ad_tensor_sum(t, back);
    CHECK_OK(ad_backward(t, ad_tensor_as_var(t, loss)));
    CHECK_OK(ad_value(t, ad_tensor_as_var(t, loss), &v));
    CHECK(v == 5.25);
    CHECK_OK(ad_tensor_grad_f64(t, x, g, 3));
    CHECK(g[0] == 2.0 && g[1] == -4.0 && g[2] == 1.0);
    /* Forward mode through the same hops: along (1, 1, 1), d loss = Σ 2x = -1. */
    {
        const double ones[3] = {1.0, 1.0, 1.0};
        double tangent = 0;
        CHECK_OK(ad_tensor_seed_tangent_f64(t, x, ones, 3));
        CHECK_OK(ad_jvp(t, NULL, 0));
        CHECK_OK(ad_tensor_tangent_f64(t, loss, &tangent, 1));
        CHECK(tangent == -1.0);
        CHECK_OK(ad_tensor_tangent_f64(t, sq, g, 3));
        CHECK(g[0] == 2.0 && g[1] == -4.0 && g[2] == 1.0);
    }

    /* Host and device tensors in one op. */
    ad_tensor bad = ad_tensor_add(t, x, on);
    CHECK(!ad_tensor_is_valid(bad));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_DEVICE_MISMATCH);
    CHECK(strstr(ad_tape_error(t), "to_device") != NULL);
    CHECK_OK(ad_tape_reset(t));

    /* Devices the tape does not have. */
    CHECK_STATUS(ad_tape_set_device(t, 3), AD_ERR_UNKNOWN_DEVICE);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d3, 1, a, 3);
    CHECK(!ad_tensor_is_valid(ad_tensor_to_device(t, x, 7)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_UNKNOWN_DEVICE);
    CHECK_OK(ad_tape_reset(t));
    CHECK(!ad_tensor_is_valid(ad_tensor_to_device(t, x, -1)));
    CHECK_OK(ad_tape_reset(t));

    /* NULLs and closed devices. */
    CHECK_STATUS(ad_tape_attach_device(t, NULL, &id), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_attach_device(t, dev, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_device(t, x, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_device_close(NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_device_open_cpu(NULL, 64, AD_F64, &dev32), AD_ERR_NULL);
    CHECK_STATUS(ad_device_open_cpu(device_memory, 64, 9, &dev32), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_device_open_cpu(device_memory, 64, AD_F64, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_device_open_cpu((char *)device_memory + 1, 64, AD_F64, &dev32),
                 AD_ERR_MISALIGNED);
    CHECK_OK(ad_device_close(dev32));

    /* Without a GPU (or the `cuda` feature) opening one is a status, not a crash. */
    if (!ad_device_available()) {
        ad_device *gpu = NULL;
        CHECK_STATUS(ad_device_open_cuda(0, 1 << 20, &gpu), AD_ERR_NO_DEVICE);
        CHECK(gpu == NULL);
    }
    CHECK(strcmp(ad_status_str(AD_ERR_DEVICE_MISMATCH), "arguments on different devices") == 0);
    ad_tape_free(t);
    CHECK_OK(ad_device_close(dev));
}

/* A checkpoint block that scales its device input (a device op of rank 1), or hands it
 * back unchanged. */
static ad_status device_block(ad_tape *t, const ad_tensor *in, size_t n_in, ad_tensor *out,
                              size_t n_out, void *user_data) {
    (void)n_in;
    (void)n_out;
    out[0] = user_data ? in[0] : ad_tensor_scale(t, in[0], 2.0);
    return ad_tape_status(t);
}

/* Checkpointed segments of device tensors are refused with a status, before the library
 * reads an output's value (which is not in host memory), and the tape works after a reset. */
static void checkpoints_of_device_tensors_are_refused(void) {
    static double device_memory[512];
    static int hand_back = 1;
    const size_t d3[1] = {3};
    const double a[3] = {1.0, -2.0, 0.5};
    void *modes[2];
    ad_tape *t = NULL;
    ad_device *dev = NULL;
    int id = -1;
    modes[0] = NULL;
    modes[1] = &hand_back;
    CHECK_OK(ad_device_open_cpu(device_memory, sizeof device_memory, AD_F64, &dev));
    CHECK_OK(ad_tape_new(1 << 16, AD_F64, &t));
    CHECK_OK(ad_tape_attach_device(t, dev, &id));
    for (int m = 0; m < 2; m++) {
        ad_tensor on, out[1];
        double g[3] = {0};
        CHECK_OK(ad_tape_reset(t));
        on = ad_tensor_to_device(t, ad_tensor_input_f64(t, d3, 1, a, 3), id);
        CHECK_STATUS(ad_checkpoint_tensors(t, device_block, modes[m], &on, 1, out, 1),
                     AD_ERR_UNSUPPORTED_ON_DEVICE);
        CHECK(!ad_tensor_is_valid(out[0]));
        CHECK_STATUS(ad_tape_status(t), AD_ERR_UNSUPPORTED_ON_DEVICE);
        CHECK(strstr(ad_tape_error(t), "device") != NULL);
        /* After a reset the same tape differentiates through the device. */
        CHECK_OK(ad_tape_reset(t));
        {
            ad_tensor x = ad_tensor_input_f64(t, d3, 1, a, 3);
            ad_tensor sq = ad_tensor_activation(t, ad_tensor_to_device(t, x, id), AD_ACT_SQUARE);
            CHECK_OK(ad_backward(t, ad_tensor_as_var(t, ad_tensor_sum(t, sq))));
            CHECK_OK(ad_tensor_grad_f64(t, x, g, 3));
            CHECK(g[0] == 2.0 && g[1] == -4.0 && g[2] == 1.0);
        }
    }
    ad_tape_free(t);
    CHECK_OK(ad_device_close(dev));
}

int main(void) {
    fill(w1, IN * HIDDEN, 1);
    fill(b1, HIDDEN, 2);
    fill(w2, HIDDEN * OUT, 3);
    fill(b2, OUT, 4);
    fill(xs, BATCH * IN, 5);
    training_matches_the_host();
    transfers_and_errors();
    checkpoints_of_device_tensors_are_refused();
    return check_summary();
}
