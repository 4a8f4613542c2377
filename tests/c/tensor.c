/* The tensor layer of the C API: every tensor op's gradient against central finite
 * differences on small f64 tensors, tangents, replay, parameters and both optimizers,
 * an f32 training smoke check, the Graphviz export, and every failure a C caller can
 * provoke (shapes, a too-small arena, NULLs, misalignment, dtypes, in-place updates),
 * each followed by a reset and a successful call. */
#include <stdint.h>
#include <string.h>

#include "check.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_IN 3
#define MAX_LEN 64

static unsigned char arena[1 << 18];

static ad_tape *fresh(ad_dtype dtype) {
    ad_tape *t = NULL;
    CHECK_OK(ad_tape_init(arena, sizeof arena, dtype, &t));
    return t;
}

static size_t product(const size_t *dims, size_t rank) {
    size_t n = 1, i;
    for (i = 0; i < rank; i++) n *= dims[i];
    return n;
}

/* ---- gradients against finite differences ---- */

typedef ad_tensor (*build_fn)(ad_tape *, const ad_tensor *);

struct fd_case {
    const char *name;
    build_fn build;
    int inputs;
    size_t rank[MAX_IN];
    size_t dims[MAX_IN][4];
    int positive; /* inputs must be positive (log, sqrt, div) */
};

static const uint32_t labels3[3] = {2, 0, 1};

static ad_tensor b_matmul(ad_tape *t, const ad_tensor *x) { return ad_matmul(t, x[0], x[1], 0, 0); }
static ad_tensor b_matmul_ta(ad_tape *t, const ad_tensor *x) { return ad_matmul(t, x[0], x[1], 1, 0); }
static ad_tensor b_matmul_tb(ad_tape *t, const ad_tensor *x) { return ad_matmul(t, x[0], x[1], 0, 1); }
static ad_tensor b_matmul_tab(ad_tape *t, const ad_tensor *x) { return ad_matmul(t, x[0], x[1], 1, 1); }
static ad_tensor b_linear_id(ad_tape *t, const ad_tensor *x) { return ad_linear(t, x[0], x[1], x[2], AD_ACT_IDENTITY); }
static ad_tensor b_linear_relu(ad_tape *t, const ad_tensor *x) { return ad_linear(t, x[0], x[1], x[2], AD_ACT_RELU); }
static ad_tensor b_linear_sigmoid(ad_tape *t, const ad_tensor *x) { return ad_linear(t, x[0], x[1], x[2], AD_ACT_SIGMOID); }
static ad_tensor b_linear_tanh(ad_tape *t, const ad_tensor *x) { return ad_linear(t, x[0], x[1], x[2], AD_ACT_TANH); }
static ad_tensor b_linear_exp(ad_tape *t, const ad_tensor *x) { return ad_linear(t, x[0], x[1], x[2], AD_ACT_EXP); }
static ad_tensor b_add(ad_tape *t, const ad_tensor *x) { return ad_tensor_add(t, x[0], x[1]); }
static ad_tensor b_sub(ad_tape *t, const ad_tensor *x) { return ad_tensor_sub(t, x[0], x[1]); }
static ad_tensor b_mul(ad_tape *t, const ad_tensor *x) { return ad_tensor_mul(t, x[0], x[1]); }
static ad_tensor b_div(ad_tape *t, const ad_tensor *x) { return ad_tensor_div(t, x[0], x[1]); }
static ad_tensor b_scale(ad_tape *t, const ad_tensor *x) { return ad_tensor_scale(t, x[0], -2.5); }
static ad_tensor b_leaky(ad_tape *t, const ad_tensor *x) { return ad_leaky_relu(t, x[0], 0.2); }
static ad_tensor b_sum(ad_tape *t, const ad_tensor *x) { return ad_tensor_sum(t, x[0]); }
static ad_tensor b_mean(ad_tape *t, const ad_tensor *x) { return ad_tensor_mean(t, x[0]); }
static ad_tensor b_sum0(ad_tape *t, const ad_tensor *x) { return ad_tensor_sum_axis(t, x[0], 0); }
static ad_tensor b_sum1(ad_tape *t, const ad_tensor *x) { return ad_tensor_sum_axis(t, x[0], 1); }
static ad_tensor b_mean0(ad_tape *t, const ad_tensor *x) { return ad_tensor_mean_axis(t, x[0], 0); }
static ad_tensor b_mean1(ad_tape *t, const ad_tensor *x) { return ad_tensor_mean_axis(t, x[0], 1); }
static ad_tensor b_reshape(ad_tape *t, const ad_tensor *x) {
    static const size_t to[3] = {3, 1, 2};
    /* the reshape alone is linear; the square makes its gradient depend on the layout */
    return ad_tensor_mul(t, ad_reshape(t, x[0], to, 3), ad_reshape(t, x[1], to, 3));
}
static ad_tensor b_transpose(ad_tape *t, const ad_tensor *x) {
    return ad_matmul(t, ad_transpose(t, x[0]), x[1], 0, 0);
}
static ad_tensor b_softmax(ad_tape *t, const ad_tensor *x) { return ad_softmax(t, x[0]); }
static ad_tensor b_log_softmax(ad_tape *t, const ad_tensor *x) { return ad_log_softmax(t, x[0]); }
static ad_tensor b_xent(ad_tape *t, const ad_tensor *x) { return ad_cross_entropy(t, x[0], labels3, 3); }
static ad_tensor b_mse(ad_tape *t, const ad_tensor *x) { return ad_mse(t, x[0], x[1]); }
static const ad_activation activations[] = {
    AD_ACT_IDENTITY, AD_ACT_RELU, AD_ACT_LEAKY_RELU, AD_ACT_SIGMOID, AD_ACT_TANH,
    AD_ACT_GELU,     AD_ACT_EXP,  AD_ACT_LOG,        AD_ACT_SQRT,    AD_ACT_SQUARE,
};
static ad_activation current_activation;
static ad_tensor b_activation(ad_tape *t, const ad_tensor *x) {
    return ad_tensor_activation(t, x[0], current_activation);
}

static const struct fd_case fd_cases[] = {
    {"matmul", b_matmul, 2, {2, 2}, {{2, 3}, {3, 4}}, 0},
    {"matmul_ta", b_matmul_ta, 2, {2, 2}, {{3, 2}, {3, 4}}, 0},
    {"matmul_tb", b_matmul_tb, 2, {2, 2}, {{2, 3}, {4, 3}}, 0},
    {"matmul_tab", b_matmul_tab, 2, {2, 2}, {{3, 2}, {4, 3}}, 0},
    {"linear_identity", b_linear_id, 3, {2, 2, 1}, {{2, 3}, {3, 4}, {4}}, 0},
    {"linear_relu", b_linear_relu, 3, {2, 2, 1}, {{2, 3}, {3, 4}, {4}}, 0},
    {"linear_sigmoid", b_linear_sigmoid, 3, {2, 2, 1}, {{2, 3}, {3, 4}, {4}}, 0},
    {"linear_tanh", b_linear_tanh, 3, {2, 2, 1}, {{2, 3}, {3, 4}, {4}}, 0},
    {"linear_exp", b_linear_exp, 3, {2, 2, 1}, {{2, 3}, {3, 4}, {4}}, 0},
    {"add", b_add, 2, {2, 2}, {{2, 3}, {2, 3}}, 0},
    {"add_broadcast", b_add, 2, {2, 1}, {{2, 3}, {3}}, 0},
    {"sub_broadcast", b_sub, 2, {2, 2}, {{2, 1}, {1, 3}}, 0},
    {"mul_broadcast", b_mul, 2, {1, 2}, {{3}, {2, 3}}, 0},
    {"div_broadcast", b_div, 2, {2, 0}, {{2, 3}, {0}}, 1},
    {"scale", b_scale, 1, {2}, {{2, 3}}, 0},
    {"leaky_relu", b_leaky, 1, {2}, {{2, 3}}, 0},
    {"sum", b_sum, 1, {2}, {{2, 3}}, 0},
    {"mean", b_mean, 1, {3}, {{2, 1, 3}}, 0},
    {"sum_axis0", b_sum0, 1, {2}, {{2, 3}}, 0},
    {"sum_axis1", b_sum1, 1, {2}, {{2, 3}}, 0},
    {"mean_axis0", b_mean0, 1, {2}, {{2, 3}}, 0},
    {"mean_axis1", b_mean1, 1, {3}, {{2, 3, 2}}, 0},
    {"reshape", b_reshape, 2, {2, 1}, {{2, 3}, {6}}, 0},
    {"transpose", b_transpose, 2, {2, 2}, {{3, 2}, {3, 4}}, 0},
    {"softmax", b_softmax, 1, {2}, {{3, 4}}, 0},
    {"log_softmax", b_log_softmax, 1, {2}, {{3, 4}}, 0},
    {"cross_entropy", b_xent, 1, {2}, {{3, 4}}, 0},
    {"mse", b_mse, 2, {2, 2}, {{2, 3}, {2, 3}}, 0},
};

static void fill(double *data, size_t n, int input, int positive) {
    size_t i;
    for (i = 0; i < n; i++) {
        /* distinct values away from 0, so that ReLU kinks are not crossed */
        double v = sin(1.3 * (double)i + 0.7 * (double)input + 0.4) * 1.5;
        if (fabs(v) < 0.15) v = v < 0 ? -0.3 : 0.3;
        data[i] = positive ? fabs(v) + 0.5 : v;
    }
}

/* Records the case at `data`, reduces its output to loss = sum(out ⊙ weights), and
 * returns the loss; with `grads`, also its gradient with respect to every input. */
static double evaluate(ad_tape *t, const struct fd_case *c, double data[][MAX_LEN],
                       double grads[][MAX_LEN]) {
    ad_tensor x[MAX_IN], out, w, loss;
    size_t dims[4], rank = 0, n, i;
    double weights[MAX_LEN], value = NAN;
    int k;
    CHECK_OK(ad_tape_reset(t));
    for (k = 0; k < c->inputs; k++)
        x[k] = ad_tensor_input_f64(t, c->dims[k], c->rank[k], data[k],
                                   product(c->dims[k], c->rank[k]));
    out = c->build(t, x);
    CHECK_OK(ad_tensor_dims(t, out, dims, 4, &rank));
    n = product(dims, rank);
    for (i = 0; i < n && i < MAX_LEN; i++) weights[i] = 0.5 + 0.25 * (double)(i % 5);
    w = ad_tensor_const_f64(t, dims, rank, weights, n);
    loss = ad_tensor_sum(t, ad_tensor_mul(t, out, w));
    if (ad_tape_status(t) != AD_OK) {
        fprintf(stderr, "%s: %s\n", c->name, ad_tape_error(t));
        CHECK_OK(ad_tape_status(t));
        return NAN;
    }
    CHECK_OK(ad_tensor_value_f64(t, loss, &value, 1));
    if (grads) {
        CHECK_OK(ad_backward(t, ad_tensor_as_var(t, loss)));
        for (k = 0; k < c->inputs; k++)
            CHECK_OK(ad_tensor_grad_f64(t, x[k], grads[k], product(c->dims[k], c->rank[k])));
    }
    return value;
}

static void gradients_match_finite_differences(void) {
    static double data[MAX_IN][MAX_LEN], grads[MAX_IN][MAX_LEN];
    ad_tape *t = fresh(AD_F64);
    size_t ci, i, a;
    int k;
    for (ci = 0; ci < COUNT(fd_cases) + COUNT(activations); ci++) {
        struct fd_case c;
        int bad = 0;
        if (ci < COUNT(fd_cases)) {
            c = fd_cases[ci];
        } else {
            static const struct fd_case act = {"activation", b_activation, 1, {2}, {{2, 3}}, 0};
            a = ci - COUNT(fd_cases);
            c = act;
            current_activation = activations[a];
            c.positive = current_activation == AD_ACT_LOG || current_activation == AD_ACT_SQRT;
        }
        for (k = 0; k < c.inputs; k++) fill(data[k], product(c.dims[k], c.rank[k]), k, c.positive);
        evaluate(t, &c, data, grads);
        for (k = 0; k < c.inputs; k++) {
            for (i = 0; i < product(c.dims[k], c.rank[k]); i++) {
                const double h = 1e-6, keep = data[k][i];
                double up, down, fd;
                data[k][i] = keep + h;
                up = evaluate(t, &c, data, NULL);
                data[k][i] = keep - h;
                down = evaluate(t, &c, data, NULL);
                data[k][i] = keep;
                fd = (up - down) / (2 * h);
                if (fabs(fd - grads[k][i]) > 1e-6 * (1.0 + fabs(fd))) {
                    fprintf(stderr, "%s (act %d): input %d element %zu: grad %.12g, fd %.12g\n",
                            c.name, (int)current_activation, k, i, grads[k][i], fd);
                    bad = 1;
                }
            }
        }
        CHECK(!bad);
    }
    CHECK_OK(ad_tape_done(t));
}

/* A rank-0 tensor is a scalar variable: f = sin(sum x) * mean(x) + (sum x)^2 mixes
 * tensor and scalar ops, and its gradient flows back into the tensor. */
static double scalar_mix(ad_tape *t, const double *a, double *grad) {
    static const size_t d23[2] = {2, 3};
    ad_tensor x, s;
    ad_var f;
    double value = NAN;
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    s = ad_tensor_sum(t, x);
    f = ad_add(t, ad_mul(t, ad_sin(t, ad_tensor_as_var(t, s)), ad_tensor_as_var(t, ad_tensor_mean(t, x))),
               ad_powi(t, ad_tensor_as_var(t, s), 2));
    CHECK_OK(ad_value(t, f, &value));
    if (grad) {
        CHECK_OK(ad_backward(t, f));
        CHECK_OK(ad_tensor_grad_f64(t, x, grad, 6));
    }
    return value;
}

static void scalar_ops_on_tensors(void) {
    ad_tape *t = fresh(AD_F64);
    double a[6], g[6];
    int i, bad = 0;
    fill(a, 6, 0, 0);
    scalar_mix(t, a, g);
    for (i = 0; i < 6; i++) {
        double keep = a[i], up, down;
        a[i] = keep + 1e-6;
        up = scalar_mix(t, a, NULL);
        a[i] = keep - 1e-6;
        down = scalar_mix(t, a, NULL);
        a[i] = keep;
        if (fabs((up - down) / 2e-6 - g[i]) > 1e-6 * (1 + fabs(g[i]))) bad = 1;
    }
    CHECK(!bad);
    CHECK_OK(ad_tape_done(t));
}

/* ---- values, shapes, tangents, replay ---- */

static void values_and_shapes(void) {
    ad_tape *t = fresh(AD_F64);
    static const size_t d23[2] = {2, 3}, d32[2] = {3, 2};
    static const double a[6] = {1, 2, 3, 4, 5, 6};
    double out[6], s;
    size_t dims[4], rank = 99;
    ad_tensor x = ad_tensor_input_f64(t, d23, 2, a, 6);
    ad_tensor y = ad_tensor_const_f64(t, d32, 2, a, 6);
    ad_tensor p = ad_matmul(t, x, y, 0, 0);
    ad_tensor scalar = ad_tensor_input_f64(t, NULL, 0, a, 1);
    CHECK(ad_tensor_is_valid(p));
    CHECK_OK(ad_tensor_rank(t, p, &rank));
    CHECK(rank == 2);
    CHECK_OK(ad_tensor_dims(t, p, dims, 4, &rank));
    CHECK(rank == 2 && dims[0] == 2 && dims[1] == 2);
    CHECK_OK(ad_tensor_value_f64(t, p, out, 4));
    CHECK(out[0] == 22 && out[1] == 28 && out[2] == 49 && out[3] == 64);
    CHECK_OK(ad_tensor_rank(t, scalar, &rank));
    CHECK(rank == 0);
    CHECK_OK(ad_tensor_dims(t, scalar, NULL, 0, &rank));
    CHECK(rank == 0);
    /* a too-small dims buffer still reports the rank */
    rank = 0;
    CHECK_STATUS(ad_tensor_dims(t, p, dims, 1, &rank), AD_ERR_BUFFER_TOO_SMALL);
    CHECK(rank == 2);
    CHECK(strstr(ad_tape_error(t), "dims_out") != NULL);
    /* softmax rows sum to one */
    CHECK_OK(ad_tensor_value_f64(t, ad_tensor_sum_axis(t, ad_softmax(t, x), 1), out, 2));
    CHECK_NEAR(out[0], 1.0, 1e-15);
    CHECK_NEAR(out[1], 1.0, 1e-15);
    /* a value buffer of the wrong length is refused and left untouched */
    out[0] = -1;
    CHECK_STATUS(ad_tensor_value_f64(t, x, out, 5), AD_ERR_INVALID_ARGUMENT);
    CHECK(out[0] == -1);
    /* a constant has no gradient */
    CHECK_OK(ad_backward(t, ad_tensor_as_var(t, ad_tensor_sum(t, p))));
    CHECK_STATUS(ad_tensor_grad_f64(t, y, out, 6), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_tensor_grad_f64(t, x, out, 6));
    CHECK(out[0] == 3 && out[1] == 7 && out[2] == 11);
    /* as_var needs rank 0 */
    CHECK(!ad_var_is_valid(ad_tensor_as_var(t, x)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    /* handles from before a reset are stale */
    CHECK_STATUS(ad_tensor_value_f64(t, x, out, 6), AD_ERR_STALE_HANDLE);
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    (void)ad_tensor_sum(t, x);
    CHECK_OK(ad_value(t, ad_tensor_as_var(t, ad_tensor_sum(t, x)), &s));
    CHECK(s == 21);
    CHECK_OK(ad_tape_done(t));
}

static void tangents_and_replay(void) {
    ad_tape *t = fresh(AD_F64);
    static const size_t d23[2] = {2, 3}, d3[1] = {3};
    double a[6] = {0.1, -0.4, 0.3, 0.9, -0.2, 0.5}, w[9] = {0.3, -0.1, 0.2, 0.4, 0.5, -0.6, 0.7, 0.1, -0.3};
    double b[3] = {0.1, 0.2, -0.1}, v[6] = {1, 0.5, -1, 0.25, 2, -0.5}, tangent = 0, base, up, down;
    static const size_t d33[2] = {3, 3};
    double a2[6];
    ad_tensor x = ad_tensor_input_f64(t, d23, 2, a, 6);
    ad_tensor wt = ad_tensor_const_f64(t, d33, 2, w, 9);
    ad_tensor bt = ad_tensor_const_f64(t, d3, 1, b, 3);
    ad_tensor loss = ad_tensor_mean(t, ad_linear(t, x, wt, bt, AD_ACT_TANH));
    ad_var lv = ad_tensor_as_var(t, loss);
    size_t i;
    CHECK_OK(ad_tensor_seed_tangent_f64(t, x, v, 6));
    CHECK_OK(ad_jvp(t, NULL, 0));
    CHECK_OK(ad_tensor_tangent_f64(t, loss, &tangent, 1));
    CHECK_OK(ad_value(t, lv, &base));
    /* the tangent is the directional derivative: compare with replayed differences */
    for (i = 0; i < 6; i++) a2[i] = a[i] + 1e-6 * v[i];
    CHECK_OK(ad_tensor_set_value_f64(t, x, a2, 6));
    /* until a replay, the recording is out of date */
    CHECK_STATUS(ad_backward(t, lv), AD_ERR_MODIFIED_IN_PLACE);
    CHECK(strstr(ad_tape_error(t), "modified in place") != NULL);
    CHECK_OK(ad_replay(t, NULL, 0));
    CHECK_OK(ad_value(t, lv, &up));
    for (i = 0; i < 6; i++) a2[i] = a[i] - 1e-6 * v[i];
    CHECK_OK(ad_tensor_set_value_f64(t, x, a2, 6));
    CHECK_OK(ad_replay(t, NULL, 0));
    CHECK_OK(ad_value(t, lv, &down));
    CHECK_NEAR(tangent, (up - down) / 2e-6, 1e-7);
    CHECK(up != base);
    CHECK_OK(ad_backward(t, lv));
    /* only inputs and constants can be overwritten; only inputs take seeds */
    CHECK_STATUS(ad_tensor_set_value_f64(t, loss, &base, 1), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_tensor_seed_tangent_f64(t, wt, w, 9), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_tensor_set_value_f64(t, x, a, 5), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_tape_done(t));
}

/* ---- parameters and optimizers ---- */

static void parameters_and_sgd(void) {
    ad_tape *t = fresh(AD_F64), *other;
    static unsigned char other_mem[1 << 14];
    static const size_t d2[1] = {2}, d12[2] = {1, 2};
    double w0[2] = {0.5, -1.0}, x[2] = {2.0, 3.0}, w[2], g[2];
    ad_param p, q, bad = {0, 0, 0};
    size_t count = 9;
    ad_tensor wt, loss;
    int step;
    CHECK_OK(ad_param_new_f64(t, d2, 1, w0, 2, &p));
    CHECK_OK(ad_param_count(t, &count));
    CHECK(count == 1);
    CHECK_OK(ad_param_read_f64(t, p, w, 2));
    CHECK(w[0] == 0.5 && w[1] == -1.0);
    /* stepping with no optimizer set */
    CHECK_STATUS(ad_optim_step(t), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_tape_reset(t));
    CHECK_STATUS(ad_optim_sgd(t, -1.0, 0.0, 0.0), AD_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ad_optim_sgd(t, 0.1, 1.0, 0.0), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_optim_sgd(t, 0.1, 0.0, 0.0));
    CHECK_STATUS(ad_optim_sgd(t, 0.1, 0.0, 0.0), AD_ERR_INVALID_ARGUMENT);
    /* parameters come before the optimizer */
    CHECK_STATUS(ad_param_new_f64(t, d2, 1, w0, 2, &q), AD_ERR_INVALID_ARGUMENT);
    for (step = 0; step < 3; step++) {
        double before[2];
        CHECK_OK(ad_tape_reset(t));
        CHECK_OK(ad_param_read_f64(t, p, before, 2));
        /* loss = (x · w)²: gradient 2 (x · w) x */
        wt = ad_param_use(t, p);
        loss = ad_tensor_sum(t, ad_tensor_activation(
            t, ad_matmul(t, ad_tensor_const_f64(t, d12, 2, x, 2), ad_reshape(t, wt, (const size_t[]){2, 1}, 2), 0, 0),
            AD_ACT_SQUARE));
        CHECK_OK(ad_backward(t, ad_tensor_as_var(t, loss)));
        CHECK_OK(ad_param_grad_f64(t, p, g, 2));
        CHECK_NEAR(g[0], 2 * (x[0] * before[0] + x[1] * before[1]) * x[0], 1e-14);
        CHECK_NEAR(g[1], 2 * (x[0] * before[0] + x[1] * before[1]) * x[1], 1e-14);
        CHECK_OK(ad_tensor_grad_f64(t, wt, w, 2));
        CHECK(w[0] == g[0] && w[1] == g[1]);
        CHECK_OK(ad_optim_step(t));
        CHECK_OK(ad_param_read_f64(t, p, w, 2));
        CHECK_NEAR(w[0], before[0] - 0.1 * g[0], 1e-14);
        CHECK_NEAR(w[1], before[1] - 0.1 * g[1], 1e-14);
        /* the step changed the parameter under the recording */
        CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, loss)), AD_ERR_MODIFIED_IN_PLACE);
    }
    /* the in-place hazard through ad_param_write */
    CHECK_OK(ad_tape_reset(t));
    wt = ad_param_use(t, p);
    loss = ad_tensor_sum(t, ad_tensor_mul(t, wt, wt));
    CHECK_OK(ad_param_write_f64(t, p, w0, 2));
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, loss)), AD_ERR_MODIFIED_IN_PLACE);
    CHECK(strstr(ad_tape_error(t), "modified in place") != NULL);
    CHECK_OK(ad_param_read_f64(t, p, w, 2));
    CHECK(w[0] == w0[0] && w[1] == w0[1]);
    CHECK_STATUS(ad_param_write_f64(t, p, w0, 1), AD_ERR_INVALID_ARGUMENT);
    /* parameters are created before recording */
    CHECK_STATUS(ad_param_new_f64(t, d2, 1, w0, 2, &q), AD_ERR_INVALID_ARGUMENT);
    /* after a reset, recording again works */
    CHECK_OK(ad_tape_reset(t));
    wt = ad_param_use(t, p);
    loss = ad_tensor_sum(t, ad_tensor_mul(t, wt, wt));
    CHECK_OK(ad_backward(t, ad_tensor_as_var(t, loss)));
    CHECK_OK(ad_param_grad_f64(t, p, g, 2));
    CHECK(g[0] == 1.0 && g[1] == -2.0);
    /* a parameter of another tape, or a made-up one */
    CHECK_OK(ad_tape_init(other_mem, sizeof other_mem, AD_F64, &other));
    CHECK_STATUS(ad_param_read_f64(other, p, w, 2), AD_ERR_FOREIGN_HANDLE);
    CHECK_STATUS(ad_param_read_f64(t, bad, w, 2), AD_ERR_FOREIGN_HANDLE);
    CHECK(!ad_tensor_is_valid(ad_param_use(other, p)));
    CHECK_STATUS(ad_tape_status(other), AD_ERR_FOREIGN_HANDLE);
    CHECK_OK(ad_param_count(other, &count));
    CHECK(count == 0);
    CHECK_OK(ad_tape_done(other));
    CHECK_OK(ad_tape_done(t));
}

static void momentum_and_adam(void) {
    ad_tape *t = fresh(AD_F64);
    static const size_t d1[1] = {1};
    double w0 = 1.0, w, g;
    ad_param p;
    ad_tensor loss;
    /* SGD with momentum 0.5 on loss = w²: v1 = g1, v2 = 0.5 v1 + g2 */
    CHECK_OK(ad_param_new_f64(t, d1, 1, &w0, 1, &p));
    CHECK_OK(ad_optim_sgd(t, 0.1, 0.5, 0.0));
    {
        double v = 0, expect = 1.0;
        int step;
        for (step = 0; step < 3; step++) {
            CHECK_OK(ad_tape_reset(t));
            loss = ad_tensor_sum(t, ad_tensor_activation(t, ad_param_use(t, p), AD_ACT_SQUARE));
            CHECK_OK(ad_backward(t, ad_tensor_as_var(t, loss)));
            CHECK_OK(ad_param_grad_f64(t, p, &g, 1));
            CHECK_NEAR(g, 2 * expect, 1e-15);
            v = 0.5 * v + g;
            expect -= 0.1 * v;
            CHECK_OK(ad_optim_step(t));
            CHECK_OK(ad_param_read_f64(t, p, &w, 1));
            CHECK_NEAR(w, expect, 1e-15);
        }
    }
    CHECK_OK(ad_tape_done(t));
    /* Adam's first step moves each weight by lr against the gradient's sign */
    t = fresh(AD_F64);
    CHECK_OK(ad_param_new_f64(t, d1, 1, &w0, 1, &p));
    CHECK_STATUS(ad_optim_adam(t, 0.01, 0.9, 0.999, 0.0, 0.0, 0), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_optim_adam(t, 0.01, 0.9, 0.999, 1e-8, 0.0, 1));
    CHECK_OK(ad_tape_reset(t));
    loss = ad_tensor_sum(t, ad_tensor_activation(t, ad_param_use(t, p), AD_ACT_SQUARE));
    CHECK_OK(ad_backward(t, ad_tensor_as_var(t, loss)));
    CHECK_OK(ad_optim_step(t));
    CHECK_OK(ad_param_read_f64(t, p, &w, 1));
    CHECK_NEAR(w, 1.0 - 0.01, 1e-9);
    CHECK_OK(ad_tape_done(t));
}

/* An f32 network learns y = 2 x0 - x1 + 0.5 with Adam. */
static void f32_training_smoke(void) {
    ad_tape *t = fresh(AD_F32);
    static const size_t dw[2] = {2, 8}, db[1] = {8}, dv[2] = {8, 1}, dc[1] = {1}, dx[2] = {16, 2},
                        dy[2] = {16, 1};
    float w[16], b[8] = {0}, v[8], c = 0, x[32], y[16], first = 0, last = 0, out;
    ad_param pw, pb, pv, pc;
    size_t used0 = 0, used = 0;
    int i, step;
    for (i = 0; i < 16; i++) w[i] = (float)(0.5 * sin(1.7 * i + 0.3));
    for (i = 0; i < 8; i++) v[i] = (float)(0.5 * cos(2.1 * i + 0.2));
    for (i = 0; i < 16; i++) {
        x[2 * i] = (float)sin(0.9 * i);
        x[2 * i + 1] = (float)cos(1.3 * i);
        y[i] = 2 * x[2 * i] - x[2 * i + 1] + 0.5f;
    }
    CHECK_OK(ad_param_new_f32(t, dw, 2, w, 16, &pw));
    CHECK_OK(ad_param_new_f32(t, db, 1, b, 8, &pb));
    CHECK_OK(ad_param_new_f32(t, dv, 2, v, 8, &pv));
    CHECK_OK(ad_param_new_f32(t, dc, 1, &c, 1, &pc));
    CHECK_OK(ad_optim_adam(t, 0.03, 0.9, 0.999, 1e-8, 0.0, 0));
    for (step = 0; step < 300; step++) {
        ad_tensor xt, h, pred, loss;
        CHECK(ad_tape_reset(t) == AD_OK);
        xt = ad_tensor_const_f32(t, dx, 2, x, 32);
        h = ad_linear(t, xt, ad_param_use(t, pw), ad_param_use(t, pb), AD_ACT_TANH);
        pred = ad_linear(t, h, ad_param_use(t, pv), ad_param_use(t, pc), AD_ACT_IDENTITY);
        loss = ad_mse(t, pred, ad_tensor_const_f32(t, dy, 2, y, 16));
        if (ad_backward(t, ad_tensor_as_var(t, loss)) != AD_OK) {
            fprintf(stderr, "f32 training: %s\n", ad_tape_error(t));
            CHECK(0);
            break;
        }
        CHECK(ad_tensor_value_f32(t, loss, &out, 1) == AD_OK);
        if (step == 0) {
            first = out;
            CHECK_OK(ad_tape_bytes_used(t, &used0));
        }
        last = out;
        CHECK_OK(ad_tape_bytes_used(t, &used));
        CHECK(used == used0);
        CHECK(ad_optim_step(t) == AD_OK);
    }
    printf("f32 smoke: loss %g -> %g\n", first, last);
    CHECK(last < 0.01f * first);
    CHECK(last < 0.01f);
    CHECK_OK(ad_tape_done(t));
}

/* The f32 forms of every data call, on an AD_F32 tape: y = sum(x * w) for an input x
 * and a parameter w. */
static void f32_data_calls(void) {
    ad_tape *t = fresh(AD_F32);
    static const size_t d3[1] = {3};
    float w0[3] = {1, 2, 3}, x0[3] = {0.5f, -1, 2}, buf[3], seed[3] = {1, 0, -1}, one = 0;
    ad_param p;
    ad_tensor x, w, y;
    CHECK_OK(ad_param_new_f32(t, d3, 1, w0, 3, &p));
    CHECK_OK(ad_param_read_f32(t, p, buf, 3));
    CHECK(buf[0] == 1 && buf[1] == 2 && buf[2] == 3);
    x = ad_tensor_input_f32(t, d3, 1, x0, 3);
    w = ad_param_use(t, p);
    y = ad_tensor_sum(t, ad_tensor_mul(t, x, w));
    CHECK_OK(ad_backward(t, ad_tensor_as_var(t, y)));
    CHECK_OK(ad_tensor_grad_f32(t, x, buf, 3));
    CHECK(buf[0] == 1 && buf[1] == 2 && buf[2] == 3);
    CHECK_OK(ad_param_grad_f32(t, p, buf, 3));
    CHECK(buf[0] == 0.5f && buf[1] == -1 && buf[2] == 2);
    /* tangent along seed: d y = seed . w = 1 - 3 */
    CHECK_OK(ad_tensor_seed_tangent_f32(t, x, seed, 3));
    CHECK_OK(ad_jvp(t, NULL, 0));
    CHECK_OK(ad_tensor_tangent_f32(t, y, &one, 1));
    CHECK(one == -2.0f);
    /* a new input value, replayed */
    CHECK_OK(ad_tensor_set_value_f32(t, x, seed, 3));
    CHECK_OK(ad_replay(t, NULL, 0));
    CHECK_OK(ad_tensor_value_f32(t, y, &one, 1));
    CHECK(one == -2.0f);
    /* a parameter write outdates the recording */
    CHECK_OK(ad_param_write_f32(t, p, x0, 3));
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, y)), AD_ERR_MODIFIED_IN_PLACE);
    CHECK_OK(ad_param_read_f32(t, p, buf, 3));
    CHECK(buf[0] == 0.5f && buf[1] == -1 && buf[2] == 2);
    /* the f64 forms refuse an f32 tape */
    {
        double d[3] = {0, 0, 0};
        CHECK_STATUS(ad_param_read_f64(t, p, d, 3), AD_ERR_DTYPE_MISMATCH);
        CHECK_STATUS(ad_param_write_f64(t, p, d, 3), AD_ERR_DTYPE_MISMATCH);
        CHECK_STATUS(ad_tensor_seed_tangent_f64(t, x, d, 3), AD_ERR_DTYPE_MISMATCH);
    }
    CHECK_OK(ad_tape_done(t));
}

/* ---- the Graphviz export ---- */

static void graphviz(void) {
    ad_tape *t = fresh(AD_F64);
    static const size_t d22[2] = {2, 2};
    static const double a[4] = {1, 2, 3, 4};
    char small[16], *text = NULL;
    static char big[4096];
    size_t len = 0, len2 = 0;
    ad_tensor x = ad_tensor_input_f64(t, d22, 2, a, 4);
    (void)ad_tensor_sum(t, ad_matmul(t, x, x, 0, 1));
    /* ask for the length */
    CHECK_STATUS(ad_tape_dot(t, NULL, 0, &len), AD_ERR_BUFFER_TOO_SMALL);
    CHECK(len > 40 && len < sizeof big);
    CHECK(strstr(ad_tape_error(t), "buf too small") != NULL);
    /* a short buffer holds a NUL-terminated prefix */
    CHECK_STATUS(ad_tape_dot(t, small, sizeof small, &len2), AD_ERR_BUFFER_TOO_SMALL);
    CHECK(len2 == len && strlen(small) == sizeof small - 1);
    CHECK(strncmp(small, "digraph tape", 12) == 0);
    /* exactly len + 1 bytes is enough */
    text = big;
    CHECK_STATUS(ad_tape_dot(t, text, len, &len2), AD_ERR_BUFFER_TOO_SMALL);
    CHECK_OK(ad_tape_dot(t, text, len + 1, &len2));
    CHECK(len2 == len && strlen(text) == len);
    CHECK(strstr(text, "matmul") != NULL && strstr(text, "sum") != NULL);
    CHECK(strstr(text, "[2, 2]") != NULL && strstr(text, "n0 -> n1") != NULL);
    CHECK(text[len - 2] == '}');
    CHECK_STATUS(ad_tape_dot(t, text, sizeof big, NULL), AD_ERR_NULL);
    CHECK_OK(ad_tape_done(t));
}

/* ---- failures ---- */

static void shape_errors(void) {
    ad_tape *t = fresh(AD_F64);
    static const size_t d23[2] = {2, 3}, d45[2] = {4, 5}, d4[1] = {4};
    static double a[20];
    double v;
    ad_tensor x = ad_tensor_input_f64(t, d23, 2, a, 6), y = ad_tensor_input_f64(t, d45, 2, a, 20);
    ad_tensor p = ad_matmul(t, x, y, 0, 0), q;
    const char *msg;
    CHECK(!ad_tensor_is_valid(p));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
    msg = ad_tape_error(t);
    CHECK(strstr(msg, "matmul") != NULL && strstr(msg, "[2, 3]") != NULL && strstr(msg, "[4, 5]") != NULL);
    /* sticky: later ops fail too, and backward reports the first error */
    q = ad_tensor_sum(t, x);
    CHECK(!ad_tensor_is_valid(q));
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, q)), AD_ERR_SHAPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    y = ad_tensor_input_f64(t, d4, 1, a, 4);
    (void)ad_tensor_add(t, x, y);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
    msg = ad_tape_error(t);
    CHECK(strstr(msg, "add") != NULL && strstr(msg, "[2, 3]") != NULL && strstr(msg, "[4]") != NULL);
    CHECK_OK(ad_tape_reset(t));
    /* linear's bias, mse, reshape, cross_entropy labels, sum_axis */
    {
        static const size_t d33[2] = {3, 3}, d2[1] = {2}, d7[1] = {7};
        static const uint32_t labels[2] = {0, 5};
        ad_tensor w, b;
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        w = ad_tensor_input_f64(t, d33, 2, a, 9);
        b = ad_tensor_input_f64(t, d2, 1, a, 2);
        (void)ad_linear(t, x, w, b, AD_ACT_RELU);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
        CHECK(strstr(ad_tape_error(t), "[3]") != NULL && strstr(ad_tape_error(t), "[2]") != NULL);
        CHECK_OK(ad_tape_reset(t));
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_reshape(t, x, d7, 1);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
        CHECK(strstr(ad_tape_error(t), "[2, 3]") != NULL && strstr(ad_tape_error(t), "[7]") != NULL);
        CHECK_OK(ad_tape_reset(t));
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_cross_entropy(t, x, labels, 2);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
        CHECK_OK(ad_tape_reset(t));
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_cross_entropy(t, x, labels, 1);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
        CHECK_OK(ad_tape_reset(t));
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_tensor_sum_axis(t, x, 2);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
        CHECK_OK(ad_tape_reset(t));
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_mse(t, x, ad_transpose(t, x));
        CHECK_STATUS(ad_tape_status(t), AD_ERR_SHAPE_MISMATCH);
        CHECK_OK(ad_tape_reset(t));
        /* a data length that is not the element count; a rank above 4 */
        x = ad_tensor_input_f64(t, d23, 2, a, 5);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
        CHECK_OK(ad_tape_reset(t));
        {
            static const size_t d5[5] = {1, 1, 1, 1, 1};
            x = ad_tensor_input_f64(t, d5, 5, a, 1);
            CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
            CHECK_OK(ad_tape_reset(t));
        }
    }
    /* unknown and unfusable activations */
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    (void)ad_tensor_activation(t, x, (ad_activation)99);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ad_tape_error(t), "activation") != NULL);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    (void)ad_tensor_activation(t, x, (ad_activation)-1);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_tape_reset(t));
    {
        static const size_t d33[2] = {3, 3}, d3[1] = {3};
        x = ad_tensor_input_f64(t, d23, 2, a, 6);
        (void)ad_linear(t, x, ad_tensor_input_f64(t, d33, 2, a, 9), ad_tensor_input_f64(t, d3, 1, a, 3),
                        AD_ACT_GELU);
        CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
        CHECK_OK(ad_tape_reset(t));
    }
    (void)ad_tensor_scale(t, ad_tensor_input_f64(t, d23, 2, a, 6), NAN);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    /* then a reset, and success */
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    CHECK_OK(ad_value(t, ad_tensor_as_var(t, ad_tensor_sum(t, x)), &v));
    CHECK(v == 0.0);
    CHECK_OK(ad_tape_done(t));
}

static void small_arena(void) {
    static unsigned char mem[3000];
    static const size_t d[2] = {20, 20};
    static double a[400];
    ad_tape *t = NULL;
    ad_param p;
    double v;
    CHECK_OK(ad_tape_init(mem, sizeof mem, AD_F64, &t));
    (void)ad_tensor_input_f64(t, d, 2, a, 400);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_OUT_OF_MEMORY);
    CHECK(strstr(ad_tape_error(t), "arena exhausted") != NULL);
    CHECK_OK(ad_tape_reset(t));
    CHECK_STATUS(ad_param_new_f64(t, d, 2, a, 400, &p), AD_ERR_OUT_OF_MEMORY);
    CHECK_OK(ad_tape_reset(t));
    {
        static const size_t d2[1] = {2};
        ad_tensor x = ad_tensor_input_f64(t, d2, 1, a, 2);
        CHECK_OK(ad_value(t, ad_tensor_as_var(t, ad_tensor_sum(t, x)), &v));
        CHECK(v == 0.0);
    }
    CHECK_OK(ad_tape_done(t));
}

static void nulls_and_misalignment(void) {
    ad_tape *t = fresh(AD_F64);
    static const size_t d23[2] = {2, 3};
    static double a[7];
    double out[6];
    size_t n, dims[4];
    ad_param p;
    ad_tensor x;
    /* a NULL tape: ops return the invalid tensor, calls AD_ERR_NULL */
    CHECK(!ad_tensor_is_valid(ad_tensor_input_f64(NULL, d23, 2, a, 6)));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    CHECK(!ad_tensor_is_valid(ad_matmul(NULL, x, x, 0, 1)));
    CHECK(!ad_var_is_valid(ad_tensor_as_var(NULL, x)));
    CHECK_STATUS(ad_tensor_value_f64(NULL, x, out, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_rank(NULL, x, &n), AD_ERR_NULL);
    CHECK_STATUS(ad_param_count(NULL, &n), AD_ERR_NULL);
    CHECK_STATUS(ad_optim_step(NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_optim_sgd(NULL, 0.1, 0, 0), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_dot(NULL, NULL, 0, &n), AD_ERR_NULL);
    CHECK_OK(ad_tape_status(t));
    /* NULL out-parameters and buffers: data calls fail and leave the tape alone */
    CHECK_STATUS(ad_tensor_value_f64(t, x, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_grad_f64(t, x, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_tangent_f64(t, x, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_set_value_f64(t, x, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_seed_tangent_f64(t, x, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_rank(t, x, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_dims(t, x, NULL, 2, &n), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_dims(t, x, dims, 2, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_param_count(t, NULL), AD_ERR_NULL);
    CHECK(strstr(ad_tape_error(t), "count_out") != NULL);
    CHECK_OK(ad_tape_status(t));
    /* a NULL array given to an op is sticky, and reported as AD_ERR_NULL */
    (void)ad_tensor_input_f64(t, NULL, 2, a, 6);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NULL);
    CHECK(strstr(ad_tape_error(t), "dims") != NULL);
    CHECK(!ad_tensor_is_valid(ad_tensor_sum(t, x)));
    CHECK_STATUS(ad_backward(t, ad_tensor_as_var(t, x)), AD_ERR_NULL);
    CHECK_STATUS(ad_tensor_grad_f64(t, x, out, 6), AD_ERR_NULL);
    CHECK_OK(ad_tape_reset(t));
    (void)ad_cross_entropy(t, ad_tensor_input_f64(t, d23, 2, a, 6), NULL, 2);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NULL);
    CHECK(strstr(ad_tape_error(t), "labels") != NULL);
    CHECK_OK(ad_tape_reset(t));
    (void)ad_reshape(t, ad_tensor_input_f64(t, d23, 2, a, 6), NULL, 1);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NULL);
    CHECK_OK(ad_tape_reset(t));
    (void)ad_tensor_const_f64(t, d23, 2, NULL, 6);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_NULL);
    CHECK_OK(ad_tape_reset(t));
    /* a misaligned data pointer */
    (void)ad_tensor_input_f64(t, d23, 2, (const double *)(const void *)((const char *)a + 1), 6);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_MISALIGNED);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d23, 2, a, 6);
    CHECK_STATUS(ad_tensor_value_f64(t, x, (double *)(void *)((char *)out + 1), 5), AD_ERR_MISALIGNED);
    /* parameters */
    CHECK_OK(ad_tape_reset(t));
    CHECK_STATUS(ad_param_new_f64(t, d23, 2, a, 6, NULL), AD_ERR_NULL);
    CHECK_STATUS(ad_param_new_f64(t, d23, 2, NULL, 6, &p), AD_ERR_NULL);
    CHECK_STATUS(ad_param_new_f64(t, NULL, 2, a, 6, &p), AD_ERR_NULL);
    CHECK_OK(ad_param_new_f64(t, d23, 2, a, 6, &p));
    CHECK_STATUS(ad_param_read_f64(t, p, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_param_grad_f64(t, p, NULL, 6), AD_ERR_NULL);
    CHECK_STATUS(ad_param_write_f64(t, p, NULL, 6), AD_ERR_NULL);
    CHECK(!ad_tensor_is_valid(ad_param_use(NULL, p)));
    /* then success */
    CHECK_OK(ad_tape_reset(t));
    x = ad_param_use(t, p);
    CHECK_OK(ad_tensor_value_f64(t, x, out, 6));
    CHECK_OK(ad_tape_done(t));
    /* an ended tape */
    CHECK_STATUS(ad_tensor_value_f64(t, x, out, 6), AD_ERR_INVALID_TAPE);
    CHECK(!ad_tensor_is_valid(ad_tensor_sum(t, x)));
}

static void dtype_mismatches(void) {
    static const size_t d2[1] = {2};
    static const double a[2] = {1, 2};
    static const float f[2] = {1, 2};
    double out[2];
    float fout[2];
    size_t n;
    ad_param p;
    ad_tensor x;
    ad_tape *t = fresh(AD_F32);
    /* an f64 array on an f32 tape: sticky */
    (void)ad_tensor_input_f64(t, d2, 1, a, 2);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    CHECK_STATUS(ad_param_new_f64(t, d2, 1, a, 2, &p), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f32(t, d2, 1, f, 2);
    CHECK_STATUS(ad_tensor_value_f64(t, x, out, 2), AD_ERR_DTYPE_MISMATCH);
    CHECK_STATUS(ad_tensor_set_value_f64(t, x, a, 2), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tensor_value_f32(t, x, fout, 2));
    CHECK(fout[0] == 1.0f && fout[1] == 2.0f);
    CHECK_OK(ad_tape_done(t));
    t = fresh(AD_F64);
    (void)ad_tensor_const_f32(t, d2, 1, f, 2);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    x = ad_tensor_input_f64(t, d2, 1, a, 2);
    CHECK_STATUS(ad_tensor_grad_f32(t, x, fout, 2), AD_ERR_DTYPE_MISMATCH);
    CHECK_STATUS(ad_param_new_f64(t, d2, 1, a, 2, &p), AD_ERR_INVALID_ARGUMENT);
    CHECK_OK(ad_tape_done(t));
    /* a dual tape has no tensors */
    t = fresh(AD_F64_DUAL);
    (void)ad_tensor_input_f64(t, d2, 1, a, 2);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    CHECK(!ad_tensor_is_valid(ad_tensor_sum(t, x)));
    CHECK_STATUS(ad_tape_status(t), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_reset(t));
    CHECK_STATUS(ad_param_count(t, &n), AD_ERR_DTYPE_MISMATCH);
    CHECK_STATUS(ad_optim_sgd(t, 0.1, 0, 0), AD_ERR_DTYPE_MISMATCH);
    CHECK_STATUS(ad_tape_dot(t, NULL, 0, &n), AD_ERR_DTYPE_MISMATCH);
    CHECK_OK(ad_tape_status(t));
    /* then success on the same tape's scalar side */
    {
        double v;
        ad_var y = ad_input(t, 2.0);
        CHECK_OK(ad_value(t, ad_mul(t, y, y), &v));
        CHECK(v == 4.0);
    }
    CHECK_OK(ad_tape_done(t));
}

int main(void) {
    gradients_match_finite_differences();
    scalar_ops_on_tensors();
    values_and_shapes();
    tangents_and_replay();
    parameters_and_sgd();
    momentum_and_adam();
    f32_training_smoke();
    f32_data_calls();
    graphviz();
    shape_errors();
    small_arena();
    nulls_and_misalignment();
    dtype_mismatches();
    return check_summary();
}
