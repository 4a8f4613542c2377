/* A deep MLP trained through the C API, with one fixed block of memory and no heap.
 *
 * The data set is made here, from a fixed seed: 10 Gaussian blobs in 100 dimensions,
 * one per class (centers N(0, 1), spread 1.5), 4000 training samples and 1000 held out. The network is 10 fused
 * linear layers of width 100 with ReLU, then a linear layer 100 -> 10, trained with
 * softmax cross-entropy and SGD with momentum, batch 64, in f32.
 *
 * The tape lives in a static array. Parameters and the optimizer's state are created
 * once, right after ad_tape_init(); each step then resets the tape, records the batch,
 * runs backward and updates the parameters, so the memory in use is the same at every
 * step. Exits with status 0 only if the held-out accuracy reaches 95%.
 *
 *   mlp [epochs [steps [where]]]
 *
 * `epochs` defaults to 5; `steps` (0: no cap) caps the training steps for a quick run,
 * which skips the accuracy check; `where` is `host` (the default), `cuda` (GPU 0: the
 * parameters, the batch and every op live on the GPU; exits 77 when there is no GPU or
 * the library was built without the `cuda` feature) or `cpu-device` (the same device
 * path on the reference CPU device, slow but runnable anywhere).
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autodiff.h"
#include "mlp_data.h"

#define DIM 100
#define CLASSES 10
#define WIDTH 100
#define HIDDEN 10 /* linear layers of width WIDTH with ReLU */
#define LAYERS (HIDDEN + 1)
#define TRAIN 4000
#define TEST 1000
#define BATCH 64
#define TARGET_ACCURACY 0.95
#define LR 0.01
#define NOISE 1.5f /* per-coordinate standard deviation around a class center */

static unsigned char mem[4 << 20];
/* The reference CPU device's memory, for `cpu-device` runs. */
static float device_mem[1 << 20];
/* The GPU arena, for `cuda` runs. */
#define GPU_ARENA_BYTES ((size_t)256 << 20)

static float train_x[TRAIN][DIM], test_x[TEST][DIM];
static uint32_t train_y[TRAIN], test_y[TEST];
static float batch_x[BATCH * DIM], logits[BATCH * CLASSES];
static uint32_t batch_y[BATCH];
static size_t order[TRAIN];
static float init[WIDTH * WIDTH];

/* The same data and initial weights on every run (mlp_data.h). */
static void make_data(void) {
    static float centers[CLASSES * DIM];
    make_blobs(DIM, CLASSES, NOISE, centers, TRAIN, &train_x[0][0], train_y, TEST, &test_x[0][0],
               test_y);
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static ad_param weight[LAYERS], bias[LAYERS];

/* Records the network on `rows` samples at batch_x: returns the logits, [rows, 10]. */
static ad_tensor forward(ad_tape *t, size_t rows) {
    const size_t dims[2] = {rows, DIM};
    ad_tensor h = ad_tensor_const_f32(t, dims, 2, batch_x, rows * DIM);
    int l;
    for (l = 0; l < LAYERS; l++)
        h = ad_linear(t, h, ad_param_use(t, weight[l]), ad_param_use(t, bias[l]),
                      l < HIDDEN ? AD_ACT_RELU : AD_ACT_IDENTITY);
    return h;
}

static int fail(ad_tape *t, const char *what) {
    fprintf(stderr, "mlp: %s: %s\n", what, ad_tape_error(t));
    return 1;
}

/* The fraction of held-out samples classified right. */
static int accuracy(ad_tape *t, double *out) {
    size_t start, correct = 0;
    for (start = 0; start < TEST; start += BATCH) {
        size_t rows = TEST - start < BATCH ? TEST - start : BATCH, i, k;
        ad_tensor out_t;
        for (i = 0; i < rows; i++)
            for (k = 0; k < DIM; k++) batch_x[i * DIM + k] = test_x[start + i][k];
        if (ad_tape_reset(t) != AD_OK) return fail(t, "reset");
        out_t = forward(t, rows);
        if (ad_tensor_value_f32(t, out_t, logits, rows * CLASSES) != AD_OK)
            return fail(t, "evaluation");
        for (i = 0; i < rows; i++) {
            uint32_t best = 0, c;
            for (c = 1; c < CLASSES; c++)
                if (logits[i * CLASSES + c] > logits[i * CLASSES + best]) best = c;
            correct += best == test_y[start + i];
        }
    }
    *out = (double)correct / TEST;
    return 0;
}

/* Opens the device `where` names (NULL for the host) into *dev; 0 on success. */
static int open_device(const char *where, ad_device **dev) {
    ad_status status;
    *dev = NULL;
    if (strcmp(where, "host") == 0) return 0;
    if (strcmp(where, "cuda") == 0)
        status = ad_device_open_cuda(0, GPU_ARENA_BYTES, dev);
    else if (strcmp(where, "cpu-device") == 0)
        status = ad_device_open_cpu(device_mem, sizeof device_mem, AD_F32, dev);
    else {
        fprintf(stderr, "mlp: unknown device '%s' (host, cuda or cpu-device)\n", where);
        return 2;
    }
    if (status == AD_ERR_NO_DEVICE) {
        fprintf(stderr, "mlp: skipped: %s\n", ad_status_str(status));
        return 77;
    }
    if (status != AD_OK) {
        fprintf(stderr, "mlp: opening %s: %s\n", where, ad_status_str(status));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int epochs = argc > 1 ? atoi(argv[1]) : 5, epoch, l, status, device_id = 0;
    long max_steps = argc > 2 ? atol(argv[2]) : 0;
    const char *where = argc > 3 ? argv[3] : "host";
    size_t step = 0, used_first = 0, used = 0, i;
    double start, acc = 0.0;
    ad_tape *t;
    ad_device *dev;

    if (epochs <= 0 || max_steps < 0) {
        fprintf(stderr, "usage: mlp [epochs [steps [host|cuda|cpu-device]]]\n");
        return 2;
    }
    if ((status = open_device(where, &dev)) != 0) return status;
    start = seconds();
    make_data();

    if (ad_tape_init(mem, sizeof mem, AD_F32, &t) != AD_OK) return 1;
    if (dev) {
        /* Everything the tape creates from now on (parameters, the batch) lives there. */
        if (ad_tape_attach_device(t, dev, &device_id) != AD_OK) return fail(t, "attach");
        if (ad_tape_set_device(t, device_id) != AD_OK) return fail(t, "set device");
    }
    /* He initialisation: weights N(0, 2 / fan_in), biases 0 */
    for (l = 0; l < LAYERS; l++) {
        const size_t out = l < HIDDEN ? WIDTH : CLASSES, in = l == 0 ? DIM : WIDTH;
        const size_t wdims[2] = {in, out}, bdims[1] = {out};
        for (i = 0; i < in * out; i++) init[i] = (float)(gaussian() * sqrt(2.0 / (double)in));
        if (ad_param_new_f32(t, wdims, 2, init, in * out, &weight[l]) != AD_OK)
            return fail(t, "weight");
        for (i = 0; i < out; i++) init[i] = 0.0f;
        if (ad_param_new_f32(t, bdims, 1, init, out, &bias[l]) != AD_OK) return fail(t, "bias");
    }
    if (ad_optim_sgd(t, LR, 0.9, 0.0) != AD_OK) return fail(t, "optimizer");
    printf("mlp: %d x linear(%d) + relu, linear(%d -> %d); %d train / %d held-out samples, "
           "batch %d, SGD lr %g momentum 0.9, f32, on %s\n",
           HIDDEN, WIDTH, WIDTH, CLASSES, TRAIN, TEST, BATCH, LR, where);

    for (i = 0; i < TRAIN; i++) order[i] = i;
    for (epoch = 1; epoch <= epochs; epoch++) {
        size_t b;
        for (i = TRAIN - 1; i > 0; i--) { /* shuffle */
            size_t j = (size_t)(next_u64() % (i + 1)), tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        for (b = 0; b + BATCH <= TRAIN && (max_steps == 0 || step < (size_t)max_steps);
             b += BATCH, step++) {
            ad_tensor loss;
            float value;
            size_t k;
            for (i = 0; i < BATCH; i++) {
                for (k = 0; k < DIM; k++) batch_x[i * DIM + k] = train_x[order[b + i]][k];
                batch_y[i] = train_y[order[b + i]];
            }
            if (ad_tape_reset(t) != AD_OK) return fail(t, "reset");
            loss = ad_cross_entropy(t, forward(t, BATCH), batch_y, BATCH);
            if (ad_backward(t, ad_tensor_as_var(t, loss)) != AD_OK) return fail(t, "backward");
            if (ad_tape_bytes_used(t, &used) != AD_OK) return fail(t, "bytes used");
            if (step == 0) used_first = used;
            if (used != used_first) {
                fprintf(stderr, "mlp: the arena grew from %zu to %zu bytes at step %zu\n",
                        used_first, used, step);
                return 1;
            }
            if (ad_optim_step(t) != AD_OK) return fail(t, "optimizer step");
            if (step % 20 == 0) {
                if (ad_tensor_value_f32(t, loss, &value, 1) != AD_OK) return fail(t, "loss");
                printf("  step %4zu  train batch loss %.4f\n", step, value);
            }
        }
        if (accuracy(t, &acc)) return 1;
        printf("epoch %d: held-out accuracy %.1f%%\n", epoch, 100.0 * acc);
    }
    printf("arena: %zu of %zu bytes in use at every one of %zu steps (no growth)\n", used_first,
           sizeof mem, step);
    printf("time: %.2f s\n", seconds() - start);
    ad_tape_done(t);
    if (dev && ad_device_close(dev) != AD_OK) {
        fprintf(stderr, "mlp: the device did not close\n");
        return 1;
    }
    if (max_steps > 0) {
        printf("mlp: a run capped at %ld steps; accuracy threshold not checked\n", max_steps);
        return 0;
    }
    if (acc < TARGET_ACCURACY) {
        fprintf(stderr, "mlp: held-out accuracy %.1f%% is below %.0f%%\n", 100.0 * acc,
                100.0 * TARGET_ACCURACY);
        return 1;
    }
    printf("mlp: reached %.1f%% held-out accuracy (threshold %.0f%%)\n", 100.0 * acc,
           100.0 * TARGET_ACCURACY);
    return 0;
}
