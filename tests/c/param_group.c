/* Data parallelism through the C API, in one process: parameter groups (the contiguous
 * gradient buffer against each parameter's gradient, and the optimizer step using what
 * the host leaves there), two shards averaged by hand against the full batch, a bulk
 * broadcast of values, checkpoint and resume (bitwise the uninterrupted run), and the
 * notifications of ad_backward_notify, last layer first. */
#include <string.h>

#include "check.h"

#define IN 3
#define HID 5
#define OUT 2
#define BATCH 6
#define N_PARAMS 4
#define TOTAL (IN * HID + HID + HID * OUT + OUT)

static unsigned char mem_a[1 << 18], mem_b[1 << 18], mem_c[1 << 18];
static double xs[BATCH * IN];
static uint32_t labels[BATCH];

static uint64_t rng = 0x9a7a11e1u;
static double uniform(void) { /* splitmix64, in [-1, 1) */
    uint64_t z = (rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return (double)(z >> 11) / 4503599627370496.0 - 1.0;
}

static void make_batch(int step) {
    int i;
    rng = 0x1000u + (uint64_t)step;
    for (i = 0; i < BATCH * IN; i++) xs[i] = uniform();
    for (i = 0; i < BATCH; i++) labels[i] = (uint32_t)((uniform() + 1.0) * OUT) % OUT;
}

/* A 3 -> 5 (tanh) -> 2 network from a fixed seed; one group per layer, or one of all. */
static ad_tape *network(unsigned char *mem, ad_param *p, ad_param_group *groups, int per_layer) {
    static const size_t dims[N_PARAMS][2] = {{IN, HID}, {HID, 0}, {HID, OUT}, {OUT, 0}};
    static const size_t ranks[N_PARAMS] = {2, 1, 2, 1};
    double init[IN * HID];
    ad_tape *t = NULL;
    int k;
    size_t i;
    CHECK_OK(ad_tape_init(mem, 1 << 18, AD_F64, &t));
    rng = 42;
    for (k = 0; k < N_PARAMS; k++) {
        size_t n = dims[k][0] * (ranks[k] == 2 ? dims[k][1] : 1);
        for (i = 0; i < n; i++) init[i] = 0.5 * uniform();
        CHECK_OK(ad_param_new_f64(t, dims[k], ranks[k], init, n, &p[k]));
    }
    CHECK_OK(ad_optim_adam(t, 0.05, 0.9, 0.999, 1e-8, 0.0, 0));
    if (per_layer) {
        CHECK_OK(ad_param_group_new(t, p, 2, &groups[0]));
        CHECK_OK(ad_param_group_new(t, p + 2, 2, &groups[1]));
    } else {
        CHECK_OK(ad_param_group_all(t, &groups[0]));
    }
    return t;
}

/* Records the mean cross-entropy of rows [first, first + rows) of the batch. */
static ad_var loss(ad_tape *t, const ad_param *p, size_t first, size_t rows) {
    const size_t dims[2] = {rows, IN};
    ad_tensor h = ad_tensor_const_f64(t, dims, 2, xs + first * IN, rows * IN);
    h = ad_linear(t, h, ad_param_use(t, p[0]), ad_param_use(t, p[1]), AD_ACT_TANH);
    h = ad_linear(t, h, ad_param_use(t, p[2]), ad_param_use(t, p[3]), AD_ACT_IDENTITY);
    return ad_tensor_as_var(t, ad_cross_entropy(t, h, labels + first, rows));
}

static void buffer_is_the_parameters_gradients(void) {
    ad_param p[N_PARAMS];
    ad_param_group g;
    ad_tape *t = network(mem_a, p, &g, 0);
    double expected[TOTAL], *data = NULL;
    size_t len = 0, at = 0, n;
    int k, same = 1;
    make_batch(0);
    CHECK_OK(ad_backward(t, loss(t, p, 0, BATCH)));
    for (k = 0; k < N_PARAMS; k++) {
        n = k == 0 ? IN * HID : k == 1 ? HID : k == 2 ? HID * OUT : OUT;
        CHECK_OK(ad_param_grad_f64(t, p[k], expected + at, n));
        at += n;
    }
    CHECK_OK(ad_param_group_grads_f64(t, g, &data, &len));
    CHECK(len == TOTAL && at == TOTAL);
    for (n = 0; n < TOTAL && len == TOTAL; n++) same &= data[n] == expected[n];
    CHECK(same);
    ad_tape_done(t);
}

/* Two shards, their group buffers averaged in place, against the full batch. */
static void averaged_shards_match_the_full_batch(void) {
    ad_param pa[N_PARAMS], pb[N_PARAMS], pc[N_PARAMS];
    ad_param_group ga, gb, gc;
    ad_tape *full = network(mem_a, pa, &ga, 0), *s0 = network(mem_b, pb, &gb, 0),
            *s1 = network(mem_c, pc, &gc, 0);
    double *g0, *g1, va[TOTAL], vb[TOTAL], worst = 0;
    size_t n0, n1, i;
    int step;
    for (step = 0; step < 5; step++) {
        make_batch(step);
        CHECK_OK(ad_tape_reset(full));
        CHECK_OK(ad_backward(full, loss(full, pa, 0, BATCH)));
        CHECK_OK(ad_optim_step(full));
        CHECK_OK(ad_tape_reset(s0));
        CHECK_OK(ad_tape_reset(s1));
        CHECK_OK(ad_backward(s0, loss(s0, pb, 0, BATCH / 2)));
        CHECK_OK(ad_backward(s1, loss(s1, pc, BATCH / 2, BATCH / 2)));
        CHECK_OK(ad_param_group_grads_f64(s0, gb, &g0, &n0));
        CHECK_OK(ad_param_group_grads_f64(s1, gc, &g1, &n1));
        for (i = 0; i < n0 && n0 == n1; i++) g0[i] = g1[i] = 0.5 * (g0[i] + g1[i]);
        CHECK_OK(ad_optim_step(s0));
        CHECK_OK(ad_optim_step(s1));
    }
    CHECK_OK(ad_param_group_read_values_f64(full, ga, va, TOTAL));
    CHECK_OK(ad_param_group_read_values_f64(s0, gb, vb, TOTAL));
    for (i = 0; i < TOTAL; i++) worst = fmax(worst, fabs(va[i] - vb[i]));
    CHECK(worst < 1e-12);
    CHECK_OK(ad_param_group_read_values_f64(s1, gc, va, TOTAL));
    CHECK(memcmp(va, vb, sizeof va) == 0);
    ad_tape_done(full);
    ad_tape_done(s0);
    ad_tape_done(s1);
}

static void train(ad_tape *t, const ad_param *p, int from, int steps) {
    int step;
    for (step = from; step < from + steps; step++) {
        make_batch(step);
        CHECK_OK(ad_tape_reset(t));
        CHECK_OK(ad_backward(t, loss(t, p, 0, BATCH)));
        CHECK_OK(ad_optim_step(t));
    }
}

/* Values (broadcast-style bulk write) and Adam's state restored: bitwise the same run. */
static void resume_is_bitwise(void) {
    ad_param pa[N_PARAMS], pb[N_PARAMS];
    ad_param_group ga, gb;
    ad_tape *straight = network(mem_a, pa, &ga, 0), *first = network(mem_b, pb, &gb, 0), *second;
    double expected[TOTAL], saved[TOTAL], got[TOTAL];
    static unsigned char state[8192];
    size_t len = 0, bytes = 0;
    train(straight, pa, 0, 8);
    CHECK_OK(ad_param_group_read_values_f64(straight, ga, expected, TOTAL));
    train(first, pb, 0, 3);
    CHECK_OK(ad_param_group_read_values_f64(first, gb, saved, TOTAL));
    CHECK_OK(ad_optim_state_bytes(first, &bytes));
    CHECK_OK(ad_optim_state_save(first, state, sizeof state, &len));
    CHECK(len == bytes);
    ad_tape_done(first);
    second = network(mem_b, pb, &gb, 0);
    CHECK_OK(ad_param_group_write_values_f64(second, gb, saved, TOTAL));
    CHECK_OK(ad_optim_state_load(second, state, len));
    train(second, pb, 3, 5);
    CHECK_OK(ad_param_group_read_values_f64(second, gb, got, TOTAL));
    CHECK(memcmp(got, expected, sizeof got) == 0);
    ad_tape_done(straight);
    ad_tape_done(second);
}

struct announced {
    ad_param_group order[4];
    int count;
};

static void note_ready(ad_tape *t, ad_param_group g, void *user_data) {
    struct announced *a = user_data;
    (void)t;
    if (a->count < 4) a->order[a->count] = g;
    a->count++;
}

static void layers_are_announced_last_first(void) {
    ad_param p[N_PARAMS];
    ad_param_group g[2];
    ad_tape *t = network(mem_a, p, g, 1);
    struct announced a = {{{0, 0, 0}}, 0};
    make_batch(1);
    CHECK_OK(ad_backward_notify(t, loss(t, p, 0, BATCH), note_ready, &a));
    CHECK(a.count == 2);
    CHECK(a.order[0].index == g[1].index && a.order[1].index == g[0].index);
    ad_tape_done(t);
}

int main(void) {
    buffer_is_the_parameters_gradients();
    averaged_shards_match_the_full_batch();
    resume_is_bitwise();
    layers_are_announced_last_first();
    return check_summary();
}
