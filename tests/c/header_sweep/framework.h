/* header_sweep/framework.h: What every row needs: the header read as a specification, the row macros that
 * check a status against it, forged handles, and the fixture of tapes and handles.
 * Part of tests/c/header_sweep.c, one program: included there once, in order. */
#ifndef AUTODIFF_HEADER_SWEEP_FRAMEWORK_H
#define AUTODIFF_HEADER_SWEEP_FRAMEWORK_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#ifndef AD_HEADER_PATH
#define AD_HEADER_PATH "include/autodiff.h"
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------------------------
 * The specification: the header's doc comments
 * ------------------------------------------------------------------------------- */

enum { MAX_FUNCTIONS = 256, MAX_STATUSES = 64, DOC_LEN = 8192 };

typedef struct {
    char name[64];
    uint64_t listed;     /* bit s: status s appears in the doc comment */
    int sticky;          /* the doc comment says it reports the tape's sticky error */
    char same_as[64];    /* "with the same statuses" as this function */
    int calls;           /* how often the sweep called it */
} spec_entry;

static spec_entry specs[MAX_FUNCTIONS];
static int n_specs;
static char status_names[MAX_STATUSES][40];
static int n_status_names;
static int pending_rows, pending_now_passing;

/* Pending rows by reason: the first of each is shown, the others counted. */
static struct {
    const char *why;
    int rows;
} pending_reasons[8];

static void note_pending(const char *why, int line, const char *call, const char *got) {
    size_t i;
    pending_rows++;
    for (i = 0; i < COUNT(pending_reasons) && pending_reasons[i].why; i++) {
        if (strcmp(pending_reasons[i].why, why) == 0) {
            pending_reasons[i].rows++;
            return;
        }
    }
    if (i < COUNT(pending_reasons)) {
        pending_reasons[i].why = why;
        pending_reasons[i].rows = 1;
    }
    printf("header_sweep.c:%d: pending (%s): %s gave %s\n", line, why, call, got);
}

#define S(status) ((uint64_t)1 << (unsigned)(status))

static spec_entry *spec_find(const char *name) {
    for (int i = 0; i < n_specs; i++)
        if (strcmp(specs[i].name, name) == 0) return &specs[i];
    return NULL;
}

static const char *status_name(int code) {
    if (code >= 0 && code < n_status_names && status_names[code][0]) return status_names[code];
    return "(unknown status)";
}

static int is_ident(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The statuses a doc comment names, and whether it speaks of the sticky error. */
static void spec_read_doc(spec_entry *e, const char *doc) {
    for (const char *p = doc; (p = strstr(p, "AD_")) != NULL; p++) {
        char token[40];
        size_t n = 0;
        if (p > doc && is_ident(p[-1])) continue;
        while (is_ident(p[n]) && n + 1 < sizeof token) {
            token[n] = p[n];
            n++;
        }
        token[n] = 0;
        for (int s = 0; s < n_status_names; s++)
            if (strcmp(status_names[s], token) == 0) e->listed |= S(s);
    }
    e->sticky = strstr(doc, "sticky error") != NULL;
    if (strstr(doc, "the same statuses")) {
        const char *p = strstr(doc, "`ad_");
        size_t n = 0;
        if (p) {
            p++;
            while (is_ident(p[n]) && n + 1 < sizeof e->same_as) {
                e->same_as[n] = p[n];
                n++;
            }
        }
        e->same_as[n] = 0;
    }
}

/* Reads the status codes and every function declaration, with its doc comment. */
static int spec_load(const char *path) {
    static char doc[DOC_LEN];
    char line[1024];
    size_t doc_len = 0;
    int in_status_enum = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "header_sweep: cannot open %s (run from the repository root)\n", path);
        return 0;
    }
    doc[0] = 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = line;
        while (*p == ' ') p++;
        if (strncmp(line, "typedef enum ad_status {", 24) == 0) in_status_enum = 1;
        if (in_status_enum) {
            char name[40];
            int value;
            if (line[0] == '}') in_status_enum = 0;
            if (sscanf(p, "%39[A-Z_] = %d,", name, &value) == 2 && value >= 0 &&
                value < MAX_STATUSES) {
                strcpy(status_names[value], name);
                if (value >= n_status_names) n_status_names = value + 1;
            }
        }
        if (strncmp(p, "//", 2) == 0) {
            /* The comment's text as one line, so that phrases may wrap. */
            size_t n;
            p += 2;
            if (*p == ' ') p++;
            n = strcspn(p, "\n");
            if (doc_len + n + 2 < sizeof doc) {
                memcpy(doc + doc_len, p, n);
                doc_len += n;
                doc[doc_len++] = ' ';
                doc[doc_len] = 0;
            }
            continue;
        }
        /* A declaration starts in column 0 and names its function before the first '('. */
        if (line[0] != ' ' && line[0] != '#' && line[0] != '\n' && strncmp(line, "typedef", 7) != 0) {
            const char *paren = strchr(line, '(');
            if (paren) {
                const char *start = paren;
                while (start > line && is_ident(start[-1])) start--;
                if (paren - start > 3 && strncmp(start, "ad_", 3) == 0 &&
                    n_specs < MAX_FUNCTIONS && (size_t)(paren - start) < sizeof specs[0].name) {
                    spec_entry *e = &specs[n_specs++];
                    memcpy(e->name, start, (size_t)(paren - start));
                    e->name[paren - start] = 0;
                    spec_read_doc(e, doc);
                }
            }
        }
        doc_len = 0;
        doc[0] = 0;
    }
    fclose(f);
    for (int i = 0; i < n_specs; i++) {
        if (specs[i].same_as[0]) {
            spec_entry *other = spec_find(specs[i].same_as);
            if (other) {
                specs[i].listed |= other->listed;
                specs[i].sticky |= other->sticky;
            }
        }
    }
    return n_specs > 0 && n_status_names > 0;
}

/* Counts a call of `fn`; fails when the header does not declare it. */
static spec_entry *spec_call(const char *fn, int line) {
    spec_entry *e = spec_find(fn);
    if (!e) {
        fprintf(stderr, "header_sweep.c:%d: %s is not declared in the header\n", line, fn);
        check_record(0, __FILE__, line, fn);
        return NULL;
    }
    e->calls++;
    return e;
}

/* The sticky status the row left on purpose, which "the tape's sticky error" allows. */
static ad_status row_sticky = AD_OK;

/* An op row is checking the status its op left: the header's preamble says that an op on
 * a tape with a sticky error keeps that error. */
static int row_is_op;

/* Whether the doc comment of `e` allows `got`. */
static int documented(const spec_entry *e, ad_status got) {
    if (got == AD_OK) return 1;
    if ((int)got < 0 || (int)got >= MAX_STATUSES) return 0;
    if (e->listed & S(got)) return 1;
    return (e->sticky || row_is_op) && row_sticky != AD_OK && got == row_sticky;
}

static void set_names(char *out, size_t cap, uint64_t set) {
    size_t len = 0;
    out[0] = 0;
    for (int s = 0; s < MAX_STATUSES; s++) {
        if (set & S(s)) {
            int n = snprintf(out + len, cap - len, "%s%s", len ? " or " : "", status_name(s));
            if (n < 0 || (size_t)n >= cap - len) break;
            len += (size_t)n;
        }
    }
}

/* One row: `call`, a call of `fn`, gave `got`; the row wants one of `want`. */
static void row_result(const char *fn, const char *call, ad_status got, uint64_t want,
                       const char *pending, int line) {
    spec_entry *e = spec_call(fn, line);
    int as_wanted = (int)got >= 0 && (int)got < MAX_STATUSES && (want & S(got));
    int listed = e && documented(e, got);
    char names[256];
    if (pending) {
        if (as_wanted && listed) {
            pending_now_passing++;
            printf("header_sweep.c:%d: PENDING row passes now (%s): remove the mark: %s\n",
                   line, pending, call);
        } else {
            note_pending(pending, line, call, status_name((int)got));
        }
        return;
    }
    if (!as_wanted) {
        set_names(names, sizeof names, want);
        fprintf(stderr, "header_sweep.c:%d: %s gave %s, want %s\n", line, call,
                status_name((int)got), names);
    }
    if (e && !listed)
        fprintf(stderr, "header_sweep.c:%d: %s gave %s, which the doc comment of %s does not list\n",
                line, call, status_name((int)got), fn);
    check_record(as_wanted && (listed || !e), __FILE__, line, call);
}

/* ---------------------------------------------------------------------------------
 * Forged handles: the one place that knows what a handle holds
 * ------------------------------------------------------------------------------- */

/* Handle layouts: variables and tensors are {index, kind, generation, tape}, parameters
 * {index, kind, tape}. A forged handle keeps the bytes of a real one (so its kind, when a
 * tensor's bytes become a variable), with its index and its second field (the generation
 * of a variable or tensor, the tape of a parameter) replaced. Should the layouts change,
 * `forge` is the one function to adapt. */
typedef char handle_layouts_agree[(offsetof(ad_var, index) == offsetof(ad_tensor, index) &&
                                   offsetof(ad_var, kind) == offsetof(ad_tensor, kind) &&
                                   offsetof(ad_var, generation) == offsetof(ad_tensor, generation) &&
                                   offsetof(ad_var, tape) == offsetof(ad_tensor, tape) &&
                                   offsetof(ad_var, index) == offsetof(ad_param, index) &&
                                   offsetof(ad_var, kind) == offsetof(ad_param, kind) &&
                                   sizeof(ad_var) == sizeof(ad_tensor))
                                      ? 1
                                      : -1];

enum { KEEP = -1 };

/* A handle the library never handed out: the bytes of the real handle `from` (of
 * `from_size` bytes) as a handle of `to_size` bytes at `to` (so a scalar handle becomes
 * a tensor one or the other way round), with its index and its second field replaced
 * unless KEEP. */
static void forge(void *to, size_t to_size, const void *from, size_t from_size, int64_t index,
                  int64_t second) {
    unsigned char bytes[64] = {0};
    memcpy(bytes, from, from_size < sizeof bytes ? from_size : sizeof bytes);
    if (index != KEEP) {
        uint32_t i = (uint32_t)index;
        memcpy(bytes + offsetof(ad_var, index), &i, sizeof i);
    }
    if (second != KEEP) {
        uint32_t g = (uint32_t)second;
        size_t at = to_size == sizeof(ad_param) ? offsetof(ad_param, tape)
                                                : offsetof(ad_var, generation);
        memcpy(bytes + at, &g, sizeof g);
    }
    memcpy(to, bytes, to_size < sizeof bytes ? to_size : sizeof bytes);
}

static ad_var forged_var(const void *from, size_t size, int64_t index, int64_t second) {
    ad_var v;
    forge(&v, sizeof v, from, size, index, second);
    return v;
}

static ad_tensor forged_tensor(const void *from, size_t size, int64_t index, int64_t second) {
    ad_tensor x;
    forge(&x, sizeof x, from, size, index, second);
    return x;
}

static ad_param forged_param(const void *from, size_t size, int64_t index, int64_t second) {
    ad_param p;
    forge(&p, sizeof p, from, size, index, second);
    return p;
}

/* `h` (a handle variable) as another kind, or with a made-up index or tag. */
#define AS_VAR(h) forged_var(&(h), sizeof(h), KEEP, KEEP)
#define AS_TENSOR(h) forged_tensor(&(h), sizeof(h), KEEP, KEEP)
#define WITH_INDEX_VAR(h, i) forged_var(&(h), sizeof(h), (i), KEEP)
#define WITH_TAG_VAR(h, g) forged_var(&(h), sizeof(h), KEEP, (g))
#define WITH_INDEX_TENSOR(h, i) forged_tensor(&(h), sizeof(h), (i), KEEP)
#define WITH_TAG_TENSOR(h, g) forged_tensor(&(h), sizeof(h), KEEP, (g))
#define AS_PARAM(h) forged_param(&(h), sizeof(h), KEEP, KEEP)
#define WITH_INDEX_PARAM(h, i) forged_param(&(h), sizeof(h), (i), KEEP)
#define WITH_TAPE_PARAM(h, g) forged_param(&(h), sizeof(h), KEEP, (g))

/* ---------------------------------------------------------------------------------
 * The fixture: tapes of every dtype, a foreign tape, a device, and handles of each kind
 * ------------------------------------------------------------------------------- */

static unsigned char mem_t[1 << 16], mem_t32[1 << 15], mem_td[1 << 14], mem_u[1 << 14],
    mem_dev_tape[1 << 16], mem_ended[1 << 12];
static double device_memory[1 << 12];

static const size_t D23[2] = {2, 3}, D32[2] = {3, 2}, D2[1] = {2}, D6[1] = {6};
static const double V6[6] = {0.5, -1, 1.5, 2, -0.25, 3}, V2[2] = {1, 2};
static const float F6[6] = {0.5f, -1, 1.5f, 2, -0.25f, 3}, F2[2] = {1, 2};

static struct {
    ad_tape *t;    /* AD_F64, a parameter `p` and SGD */
    ad_tape *t32;  /* AD_F32, a parameter `p32`, no optimizer */
    ad_tape *td;   /* AD_F64_DUAL */
    ad_tape *u;    /* AD_F64: the other tape, for foreign handles */
    ad_tape *tdev; /* AD_F64 with the reference CPU device attached as device 1 */
    ad_tape *ended;
    ad_device *dev;
    ad_param p, p32, up;
    ad_param_group g, g32, ug; /* each tape's parameters as one group */
    /* Recorded afresh before every row. */
    ad_var x, y, f, nan, stale, fu, x32, f32, xd, fd, stale32, sdev;
    ad_tensor a, b, c, s, pu, stale_a, au, a32, c32, dh, da;
    uint32_t tag; /* the generation of t's live handles */
} fx;

static int fixture_failures;

static void fixture_check(int ok, const char *what, int line) {
    if (!ok) {
        fixture_failures++;
        fprintf(stderr, "header_sweep.c:%d: fixture: %s\n", line, what);
    }
}

#define FIXTURE(cond) fixture_check((cond) ? 1 : 0, #cond, __LINE__)

static void setup(void) {
    int id = 0;
    FIXTURE(ad_tape_init(mem_t, sizeof mem_t, AD_F64, &fx.t) == AD_OK);
    FIXTURE(ad_param_new_f64(fx.t, D2, 1, V2, 2, &fx.p) == AD_OK);
    FIXTURE(ad_optim_sgd(fx.t, 0.1, 0.0, 0.0) == AD_OK);
    FIXTURE(ad_param_group_all(fx.t, &fx.g) == AD_OK);
    FIXTURE(ad_tape_init(mem_t32, sizeof mem_t32, AD_F32, &fx.t32) == AD_OK);
    FIXTURE(ad_param_new_f32(fx.t32, D2, 1, F2, 2, &fx.p32) == AD_OK);
    FIXTURE(ad_param_group_all(fx.t32, &fx.g32) == AD_OK);
    FIXTURE(ad_tape_init(mem_td, sizeof mem_td, AD_F64_DUAL, &fx.td) == AD_OK);
    FIXTURE(ad_tape_init(mem_u, sizeof mem_u, AD_F64, &fx.u) == AD_OK);
    FIXTURE(ad_param_new_f64(fx.u, D2, 1, V2, 2, &fx.up) == AD_OK);
    FIXTURE(ad_param_group_all(fx.u, &fx.ug) == AD_OK);
    FIXTURE(ad_device_open_cpu(device_memory, sizeof device_memory, AD_F64, &fx.dev) == AD_OK);
    FIXTURE(ad_tape_init(mem_dev_tape, sizeof mem_dev_tape, AD_F64, &fx.tdev) == AD_OK);
    FIXTURE(ad_tape_attach_device(fx.tdev, fx.dev, &id) == AD_OK && id == 1);
    FIXTURE(ad_tape_init(mem_ended, sizeof mem_ended, AD_F64, &fx.ended) == AD_OK);
    FIXTURE(ad_tape_done(fx.ended) == AD_OK);
}

static void teardown(void) {
    FIXTURE(ad_tape_done(fx.t) == AD_OK);
    FIXTURE(ad_tape_done(fx.t32) == AD_OK);
    FIXTURE(ad_tape_done(fx.td) == AD_OK);
    FIXTURE(ad_tape_done(fx.u) == AD_OK);
    FIXTURE(ad_tape_done(fx.tdev) == AD_OK);
    FIXTURE(ad_device_close(fx.dev) == AD_OK);
}

/* Resets every tape and records the handles the rows use, so that each row starts from
 * the same state whatever the row before did. */
static void fresh(void) {
    row_sticky = AD_OK;
    FIXTURE(ad_tape_reset(fx.t) == AD_OK);
    fx.stale = ad_input(fx.t, 1.0);
    fx.stale_a = ad_tensor_input_f64(fx.t, D23, 2, V6, 6);
    FIXTURE(ad_tape_reset(fx.t) == AD_OK);
    fx.x = ad_input(fx.t, 3.0);
    fx.y = ad_input(fx.t, 2.0);
    fx.f = ad_mul(fx.t, fx.x, fx.y);
    fx.nan = ad_log(fx.t, ad_neg(fx.t, fx.x));
    fx.a = ad_tensor_input_f64(fx.t, D23, 2, V6, 6);
    fx.b = ad_tensor_input_f64(fx.t, D32, 2, V6, 6);
    fx.c = ad_tensor_const_f64(fx.t, D23, 2, V6, 6);
    fx.s = ad_tensor_sum(fx.t, fx.a);
    fx.pu = ad_param_use(fx.t, fx.p);
    fx.tag = fx.x.generation;
    FIXTURE(ad_tape_status(fx.t) == AD_OK);

    FIXTURE(ad_tape_reset(fx.t32) == AD_OK);
    fx.stale32 = ad_input(fx.t32, 1.0);
    FIXTURE(ad_tape_reset(fx.t32) == AD_OK);
    fx.x32 = ad_input(fx.t32, 3.0);
    fx.f32 = ad_mul(fx.t32, fx.x32, fx.x32);
    fx.a32 = ad_tensor_input_f32(fx.t32, D23, 2, F6, 6);
    fx.c32 = ad_tensor_const_f32(fx.t32, D23, 2, F6, 6);
    FIXTURE(ad_tape_status(fx.t32) == AD_OK);

    FIXTURE(ad_tape_reset(fx.td) == AD_OK);
    fx.xd = ad_input(fx.td, 1.5);
    fx.fd = ad_mul(fx.td, fx.xd, fx.xd);
    FIXTURE(ad_tape_status(fx.td) == AD_OK);

    FIXTURE(ad_tape_reset(fx.u) == AD_OK);
    fx.fu = ad_input(fx.u, 1.0);
    fx.au = ad_tensor_input_f64(fx.u, D23, 2, V6, 6);
    FIXTURE(ad_tape_status(fx.u) == AD_OK);

    FIXTURE(ad_tape_reset(fx.tdev) == AD_OK);
    fx.dh = ad_tensor_input_f64(fx.tdev, D23, 2, V6, 6);
    fx.da = ad_tensor_to_device(fx.tdev, fx.dh, 1);
    fx.sdev = ad_input(fx.tdev, 1.0);
    FIXTURE(ad_tape_status(fx.tdev) == AD_OK);
}

/* The first sticky status among the fixture's tapes: what an op left behind. */
static ad_status fixture_status(void) {
    ad_tape *tapes[5];
    tapes[0] = fx.t;
    tapes[1] = fx.t32;
    tapes[2] = fx.td;
    tapes[3] = fx.u;
    tapes[4] = fx.tdev;
    for (size_t i = 0; i < COUNT(tapes); i++) {
        ad_status s = ad_tape_status(tapes[i]);
        if (s != AD_OK) return s;
    }
    return AD_OK;
}

/* Makes fx.t sticky with AD_ERR_STALE_HANDLE, for the rows that report the sticky error. */
static ad_tape *sticky_t(void) {
    (void)ad_sin(fx.t, fx.stale);
    row_sticky = ad_tape_status(fx.t);
    return fx.t;
}

/* ---------------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------------- */

/* A call that returns an ad_status, on a fresh fixture. */
#define EXPECT(want, fn, ...) \
    (fresh(), row_result(#fn, #fn "(" #__VA_ARGS__ ")", fn(__VA_ARGS__), S(want), NULL, __LINE__))
#define EXPECT_ONE_OF(set, fn, ...) \
    (fresh(), row_result(#fn, #fn "(" #__VA_ARGS__ ")", fn(__VA_ARGS__), (set), NULL, __LINE__))
#define PENDING(why, want, fn, ...) \
    (fresh(), row_result(#fn, #fn "(" #__VA_ARGS__ ")", fn(__VA_ARGS__), S(want), why, __LINE__))
/* The same without a fresh fixture: inside a callback, or on state the row built. */
#define EXPECT_HERE(want, fn, ...) \
    row_result(#fn, #fn "(" #__VA_ARGS__ ")", fn(__VA_ARGS__), S(want), NULL, __LINE__)

/* Ops that return a handle: `want` is the status the op leaves on its tape; AD_OK means
 * the handle must be valid, anything else that it is invalid. NO_TAPE: a NULL or ended
 * tape, where the op returns the invalid handle and no live tape changes. */
#define NO_TAPE ((ad_status)-1)

static void op_result(const char *fn, const char *call, int valid, ad_status want,
                      const char *pending, int line) {
    ad_status got = fixture_status();
    if (want == NO_TAPE) {
        spec_call(fn, line);
        if (valid || got != AD_OK)
            fprintf(stderr, "header_sweep.c:%d: %s on no live tape gave a %s handle, status %s\n",
                    line, call, valid ? "valid" : "invalid", status_name((int)got));
        check_record(!valid && got == AD_OK, __FILE__, line, call);
        return;
    }
    if ((want == AD_OK) != (valid != 0)) {
        if (pending) {
            note_pending(pending, line, call, valid ? "a valid handle" : "an invalid handle");
            return;
        }
        fprintf(stderr, "header_sweep.c:%d: %s gave a %s handle (tape status %s)\n", line, call,
                valid ? "valid" : "invalid", status_name((int)got));
        spec_call(fn, line);
        check_record(0, __FILE__, line, call);
        return;
    }
    row_is_op = 1;
    row_result(fn, call, got, S(want), pending, line);
    row_is_op = 0;
}

#define EXPECT_VAR(want, fn, ...)                                                             \
    (fresh(), op_result(#fn, #fn "(" #__VA_ARGS__ ")", ad_var_is_valid(fn(__VA_ARGS__)), want, \
                        NULL, __LINE__))
#define EXPECT_TENSOR(want, fn, ...)                                                     \
    (fresh(), op_result(#fn, #fn "(" #__VA_ARGS__ ")", ad_tensor_is_valid(fn(__VA_ARGS__)), \
                        want, NULL, __LINE__))
#define PENDING_VAR(why, want, fn, ...)                                                       \
    (fresh(), op_result(#fn, #fn "(" #__VA_ARGS__ ")", ad_var_is_valid(fn(__VA_ARGS__)), want, \
                        why, __LINE__))
#define PENDING_TENSOR(why, want, fn, ...)                                               \
    (fresh(), op_result(#fn, #fn "(" #__VA_ARGS__ ")", ad_tensor_is_valid(fn(__VA_ARGS__)), \
                        want, why, __LINE__))

/* Functions with no status at all (dual numbers, versions, validity tests): they are
 * called with every kind of value and must simply return. */
#define CALLED(fn) spec_call(#fn, __LINE__)

/* Stale, foreign, forged and wrong-kind forms of a live handle: the statuses each may
 * give. A forged handle is one a tape never issued: stale or foreign, never trusted. */
#define HANDLE_ERRORS (S(AD_ERR_STALE_HANDLE) | S(AD_ERR_FOREIGN_HANDLE))

#endif
