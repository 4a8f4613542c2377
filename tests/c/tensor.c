/* The tensor layer of the C API: every tensor op's gradient against central finite
 * differences on small f64 tensors, scalar ops on tensors, values, shapes, tangents and
 * replay. tensor_training.c covers parameters and optimizers, tensor_errors.c every
 * failure a C caller can provoke. */
#include "tensor_common.h"

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

int main(void) {
    gradients_match_finite_differences();
    scalar_ops_on_tensors();
    values_and_shapes();
    tangents_and_replay();
    return check_summary();
}
