/* ad_tape_set_growth: a tape started in a few hundred bytes grows through malloc'd
 * blocks and gives the same values, gradients, replays and tangents, bit for bit, as a
 * tape given all its memory up front: through the library's calls, the inline path
 * (autodiff_inline.h), checkpointed segments, and far more constants f32 does not hold
 * than the arena holds (with the same number of records). Every block comes back through the
 * release callback by the time the tape ends. A host that refuses, a block smaller
 * than asked for, NULL callbacks, and a reset or an end from inside either callback
 * each get their status, and the tape stays usable after a reset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff_inline.h"
#include "check.h"

#define N 300

typedef struct {
    int grown, released;
    size_t outstanding; /* bytes handed out and not yet back */
    int refuse_after;   /* blocks to give before refusing (-1: never) */
    int short_by;       /* bytes to give below the minimum (a host bug) */
    int least;          /* give the minimum, not what the tape would like */
    ad_tape *reset_from_inside; /* a tape to try resetting from the callback */
    ad_status reset_status;
    ad_tape *end_from_release; /* a tape to try resetting and ending from `release` */
    ad_status release_reset_status, release_done_status;
    ad_tape *record_from_release; /* a tape to record on from `release` */
    void *hand_this; /* a block to hand out instead of malloc'd ones (a host bug) */
} host;

static void *grow(void *user, size_t min_bytes, size_t wanted_bytes, size_t *got_bytes) {
    host *h = user;
    if (h->reset_from_inside) h->reset_status = ad_tape_reset(h->reset_from_inside);
    if (h->refuse_after == 0) return NULL;
    if (h->refuse_after > 0) h->refuse_after--;
    if (h->hand_this) {
        h->grown++;
        *got_bytes = min_bytes;
        return h->hand_this;
    }
    size_t bytes = h->short_by ? min_bytes - (size_t)h->short_by
                   : h->least  ? min_bytes
                               : wanted_bytes;
    void *block = malloc(bytes);
    if (!block) return NULL;
    h->grown++;
    h->outstanding += bytes;
    *got_bytes = bytes;
    return block;
}

static void release(void *user, void *block, size_t bytes) {
    host *h = user;
    if (h->end_from_release) {
        h->release_reset_status = ad_tape_reset(h->end_from_release);
        h->release_done_status = ad_tape_done(h->end_from_release);
    }
    if (h->record_from_release) (void)ad_input(h->record_from_release, 0.5);
    h->released++;
    if (block == h->hand_this) return;
    h->outstanding -= bytes;
    free(block);
}

/* A tape in static memory with room for 16 records of `dtype`. */
static ad_status small_tape(ad_dtype dtype, ad_tape **t) {
    static unsigned char mem[1 << 16];
    size_t bytes = 0;
    ad_status st = ad_tape_bytes_for(16, dtype, &bytes);
    return st != AD_OK ? st : ad_tape_init(mem, bytes, dtype, t);
}

static host new_host(void) {
    host h;
    memset(&h, 0, sizeof h);
    h.refuse_after = -1;
    return h;
}

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static double uniform(double lo, double hi) { return check_uniform(&rng_state, lo, hi); }

/* y0 = x0 * x1; y1 = sin(x0) + x1, recorded again in every sweep that reaches it. */
static ad_status block(ad_tape *t, const ad_var *in, size_t n_in, ad_var *out, size_t n_out,
                       void *user) {
    (void)n_in, (void)n_out, (void)user;
    out[0] = ad_mul(t, in[0], in[1]);
    out[1] = ad_add(t, ad_sin(t, in[0]), in[1]);
    return AD_OK;
}

/* A Rosenbrock-like sum, half through the inline path, with a checkpointed segment
 * every 50 terms. */
static ad_var record(ad_tape *t, const double *x, ad_var *vars) {
    CHECK_OK(ad_inputs(t, x, N, vars));
    ad_var f = ad_scale(t, vars[0], 0.0);
    for (int i = 0; i + 1 < N; i++) {
        ad_var a = ad_inline_sub(t, vars[i + 1], ad_inline_mul(t, vars[i], vars[i]));
        ad_var b = ad_const_sub(t, 1.0, vars[i]);
        ad_var term = ad_inline_add(t, ad_inline_scale(t, ad_mul(t, a, a), 100.1),
                                    ad_inline_mul(t, b, b));
        f = ad_inline_add(t, f, term);
        if (i % 50 == 7) {
            ad_var in[2] = {vars[i], vars[i + 1]}, out[2];
            ad_status st = ad_checkpoint(t, block, NULL, in, 2, out, 2);
            if (st == AD_OK) f = ad_add(t, f, ad_mul(t, out[0], out[1]));
        }
    }
    return f;
}

typedef struct {
    double value, grad[N], replayed, replayed_grad[N], tangent;
} results;

static void derivatives(ad_tape *t, ad_var f, const double *x, results *r) {
    CHECK_OK(ad_value(t, f, &r->value));
    CHECK_OK(ad_gradient(t, f, r->grad, N));
    double moved[N], seeds[N] = {0};
    for (int i = 0; i < N; i++) moved[i] = 0.9 * x[i] + 0.05;
    CHECK_OK(ad_replay(t, moved, N));
    CHECK_OK(ad_value(t, f, &r->replayed));
    CHECK_OK(ad_gradient(t, f, r->replayed_grad, N));
    seeds[3] = 1.0;
    CHECK_OK(ad_jvp(t, seeds, N));
    CHECK_OK(ad_tangent(t, f, &r->tangent));
}

/* An f64 tape with room for the header and a few records, growing through `h`:
 * everything else comes from `grow`. */
static ad_tape *growing_tape(host *h) {
    ad_tape *t = NULL;
    size_t bytes;
    CHECK_OK(ad_tape_bytes_for(16, AD_F64, &bytes));
    CHECK_OK(ad_tape_new(bytes + 4096, AD_F64, &t));
    CHECK_OK(ad_tape_set_growth(t, grow, release, h));
    return t;
}

static void grown_tape_matches_a_fixed_one(void) {
    double x[N];
    for (int i = 0; i < N; i++) x[i] = uniform(-1.2, 1.2);
    ad_var vars[N];

    ad_tape *fixed = NULL;
    CHECK_OK(ad_tape_new(1 << 20, AD_F64, &fixed));
    results want;
    derivatives(fixed, record(fixed, x, vars), x, &want);
    CHECK_OK(ad_tape_status(fixed));
    ad_tape_free(fixed);

    host h = new_host();
    ad_tape *t = growing_tape(&h);
    results got;
    derivatives(t, record(t, x, vars), x, &got);
    CHECK_OK(ad_tape_status(t));
    CHECK(h.grown >= 3);
    CHECK(h.released == h.grown - 1);
    CHECK(memcmp(&got, &want, sizeof got) == 0);

    /* Callbacks cannot change once the records live in a block of theirs. */
    CHECK_STATUS(ad_tape_set_growth(t, grow, release, &h), AD_ERR_INVALID_ARGUMENT);

    /* A reset keeps the block: the same recording needs no more growth. */
    int grown = h.grown;
    CHECK_OK(ad_tape_reset(t));
    derivatives(t, record(t, x, vars), x, &got);
    CHECK(h.grown == grown);
    CHECK(memcmp(&got, &want, sizeof got) == 0);
    ad_tape_free(t);
    CHECK(h.released == h.grown);
    CHECK(h.outstanding == 0);
}

/* y <- sin(y * c_k) + x0 over constants c_k that f32 does not hold, with every other
 * inline form of a constant (f32-exact or not) now and then: far more constants than
 * the arena holds. */
#define STEPS 20000
static ad_var record_constants(ad_tape *t, ad_var x0, ad_var x1) {
    ad_var y = ad_inline_mul(t, x0, x1);
    for (int k = 0; k < STEPS; k++) {
        double c = 0.1 + k * 1e-7;
        y = ad_inline_add(t, ad_sin(t, ad_inline_scale(t, y, c)), x0);
        if (k % 61 == 0) y = ad_inline_const_sub(t, 0.7 + k * 1e-9, y);
        if (k % 89 == 0) y = ad_inline_div_const(t, y, 1.3);
        if (k % 97 == 0) y = ad_inline_add_const(t, y, k % 2 ? 0.3 : 0.5);
        if (k % 101 == 0) y = ad_inline_const_div(t, 1.1, ad_inline_add_const(t, y, 3.0));
    }
    return y;
}

typedef struct {
    size_t records;
    double value, grad[2], replayed, replayed_grad[2], tangent;
} constant_results;

static void constant_derivatives(ad_tape *t, constant_results *r) {
    const double x[2] = {0.4, -0.7}, moved[2] = {0.36, -0.6}, seeds[2] = {0.0, 1.0};
    ad_var in[2];
    CHECK_OK(ad_inputs(t, x, 2, in));
    ad_var y = record_constants(t, in[0], in[1]);
    CHECK_OK(ad_tape_len(t, &r->records));
    CHECK_OK(ad_value(t, y, &r->value));
    CHECK_OK(ad_gradient(t, y, r->grad, 2));
    CHECK_OK(ad_replay(t, moved, 2));
    CHECK_OK(ad_value(t, y, &r->replayed));
    CHECK_OK(ad_gradient(t, y, r->replayed_grad, 2));
    CHECK_OK(ad_jvp(t, seeds, 2));
    CHECK_OK(ad_tangent(t, y, &r->tangent));
}

/* Once the arena is full, constants f32 does not hold stack at the top of the records'
 * block and move with it: no record of their own, and the inline path keeps taking
 * them, on a tape that grows as on one given its memory. */
static void constants_on_a_grown_tape_match_a_fixed_one(void) {
    ad_tape *fixed = NULL;
    CHECK_OK(ad_tape_new(1 << 23, AD_F64, &fixed));
    constant_results want;
    memset(&want, 0, sizeof want);
    constant_derivatives(fixed, &want);
    ad_tape_free(fixed);

    host h = new_host();
    ad_tape *t = growing_tape(&h);
    for (int round = 0; round < 2; round++) {
        constant_results got;
        memset(&got, 0, sizeof got);
        constant_derivatives(t, &got);
        CHECK(memcmp(&got, &want, sizeof got) == 0);
        CHECK_OK(ad_tape_reset(t));
    }
    CHECK(h.grown >= 4);
    ad_tape_free(t);
    CHECK(h.released == h.grown && h.outstanding == 0);
}

static void refusal_and_bad_blocks(void) {
    ad_tape *t = NULL;

    /* The host refuses: out of memory, as without growth; a reset recovers. */
    host h = new_host();
    h.refuse_after = 0;
    CHECK_OK(small_tape(AD_F64, &t));
    CHECK_OK(ad_tape_set_growth(t, grow, release, &h));
    ad_var y = ad_input(t, 0.5);
    for (int i = 0; i < 100; i++) y = ad_sin(t, y);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_OUT_OF_MEMORY);
    CHECK_OK(ad_tape_reset(t));
    ad_var a = ad_input(t, 3.0);
    double g;
    CHECK_OK(ad_gradient(t, ad_mul(t, a, a), &g, 1));
    CHECK(g == 6.0);
    CHECK_OK(ad_tape_done(t));

    /* A block smaller than asked for is refused and given straight back. */
    h = new_host();
    h.short_by = 1;
    CHECK_OK(small_tape(AD_F64, &t));
    CHECK_OK(ad_tape_set_growth(t, grow, release, &h));
    y = ad_input(t, 0.5);
    for (int i = 0; i < 100; i++) y = ad_inline_mul(t, y, y);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ad_tape_error(t), "smaller") != NULL);
    CHECK(h.grown == 1 && h.released == 1);
    CHECK_OK(ad_tape_reset(t));
    CHECK_OK(ad_tape_done(t));

    /* A block inside the tape's own memory (here its header) is refused the same way,
     * and the tape stays intact. */
    h = new_host();
    CHECK_OK(small_tape(AD_F64, &t));
    h.hand_this = (char *)t + 16;
    CHECK_OK(ad_tape_set_growth(t, grow, release, &h));
    y = ad_input(t, 0.5);
    for (int i = 0; i < 100; i++) y = ad_sin(t, y);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_INVALID_ARGUMENT);
    CHECK(strstr(ad_tape_error(t), "overlaps") != NULL);
    CHECK(h.grown == 1 && h.released == 1);
    CHECK_OK(ad_tape_reset(t));
    a = ad_input(t, 3.0);
    CHECK_OK(ad_gradient(t, ad_mul(t, a, a), &g, 1));
    CHECK(g == 6.0);
    CHECK_OK(ad_tape_done(t));

    /* Resetting the tape from inside the callback is refused; the growth goes on. */
    h = new_host();
    CHECK_OK(small_tape(AD_F64, &t));
    h.reset_from_inside = t;
    CHECK_OK(ad_tape_set_growth(t, grow, release, &h));
    y = ad_input(t, 0.5);
    for (int i = 0; i < 100; i++) y = ad_sin(t, y);
    CHECK(h.reset_status == AD_ERR_REENTRANT);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_REENTRANT);
    CHECK_OK(ad_tape_reset(t));
    h.reset_from_inside = NULL;
    y = ad_input(t, 0.5);
    for (int i = 0; i < 100; i++) y = ad_sin(t, y);
    CHECK_OK(ad_tape_status(t));
    CHECK_OK(ad_tape_done(t));
    CHECK(h.released == h.grown && h.outstanding == 0);

    /* Nor from inside `release`: while the records move, the tape is lent to the
     * callback; while it ends, it has ended already. */
    h = new_host();
    CHECK_OK(small_tape(AD_F64, &t));
    h.end_from_release = t;
    CHECK_OK(ad_tape_set_growth(t, grow, release, &h));
    y = ad_input(t, 0.5);
    for (int i = 0; i < 100; i++) y = ad_sin(t, y);
    CHECK(h.released == 1);
    CHECK(h.release_reset_status == AD_ERR_REENTRANT);
    CHECK(h.release_done_status == AD_ERR_REENTRANT);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_REENTRANT);
    CHECK_OK(ad_tape_done(t));
    CHECK(h.release_reset_status == AD_ERR_INVALID_TAPE);
    CHECK(h.release_done_status == AD_ERR_INVALID_TAPE);
    CHECK(h.released == h.grown && h.outstanding == 0);

    /* Recording from inside `release` fails the tape: that record took the room the
     * growth made for the op that asked (in a block of the least size, all of it). */
    h = new_host();
    h.least = 1;
    CHECK_OK(small_tape(AD_F64, &t));
    h.record_from_release = t;
    CHECK_OK(ad_tape_set_growth(t, grow, release, &h));
    y = ad_input(t, 0.5);
    for (int i = 0; i < 100; i++) y = ad_sin(t, y);
    CHECK(h.released >= 1);
    CHECK_STATUS(ad_tape_status(t), AD_ERR_REENTRANT);
    CHECK(!ad_var_is_valid(y));
    h.record_from_release = NULL;
    CHECK_OK(ad_tape_done(t));
    CHECK(h.released == h.grown && h.outstanding == 0);

    /* NULL arguments. */
    CHECK_OK(small_tape(AD_F64, &t));
    CHECK_STATUS(ad_tape_set_growth(NULL, grow, release, &h), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_set_growth(t, NULL, release, &h), AD_ERR_NULL);
    CHECK_STATUS(ad_tape_set_growth(t, grow, NULL, &h), AD_ERR_NULL);
    CHECK_OK(ad_tape_done(t));
}

/* The other dtypes grow too. */
static void f32_and_dual_tapes_grow(void) {
    ad_dtype dtypes[2] = {AD_F32, AD_F64_DUAL};
    for (int d = 0; d < 2; d++) {
        host h = new_host();
        ad_tape *t = NULL;
        CHECK_OK(small_tape(dtypes[d], &t));
        CHECK_OK(ad_tape_set_growth(t, grow, release, &h));
        ad_var x = ad_input(t, 1.001);
        ad_var y = x;
        for (int i = 1; i < 500; i++) y = ad_mul(t, y, x);
        double g;
        CHECK_OK(ad_gradient(t, y, &g, 1));
        CHECK_NEAR(g, 500.0 * pow(1.001, 499.0), dtypes[d] == AD_F32 ? 1e-4 : 1e-12);
        CHECK(h.grown >= 2);
        CHECK_OK(ad_tape_done(t));
        CHECK(h.released == h.grown && h.outstanding == 0);
    }
}

int main(void) {
    grown_tape_matches_a_fixed_one();
    constants_on_a_grown_tape_match_a_fixed_one();
    refusal_and_bad_blocks();
    f32_and_dual_tapes_grow();
    return check_summary();
}
