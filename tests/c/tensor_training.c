/* Tensors from C, training: parameters and both optimizers, an f32 training smoke
 * check, f32 data calls, and the Graphviz export. */
#include "tensor_common.h"

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

int main(void) {
    parameters_and_sgd();
    momentum_and_adam();
    f32_training_smoke();
    f32_data_calls();
    graphviz();
    return check_summary();
}
