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

/* ---- tapes ---- */

static void rows_tapes(void) {
    size_t n = 7;
    ad_tape *t = NULL;
    ad_tape *garbage = (ad_tape *)(void *)device_memory;

    EXPECT(AD_ERR_NULL, ad_tape_init, NULL, 64, AD_F64, &t);
    EXPECT(AD_ERR_NULL, ad_tape_init, mem_ended, sizeof mem_ended, AD_F64, NULL);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_tape_init, mem_ended, 0, AD_F64, &t);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_tape_init, mem_ended + 3, 16, AD_F64, &t);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_init, mem_ended, sizeof mem_ended, (ad_dtype)0, &t);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_init, mem_ended, sizeof mem_ended, (ad_dtype)4, &t);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_init, mem_ended, sizeof mem_ended, (ad_dtype)-1, &t);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_init, mem_ended, sizeof mem_ended, (ad_dtype)INT_MAX, &t);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_init, mem_ended, SIZE_MAX, AD_F64, &t);
    CHECK(t == NULL);

    EXPECT(AD_ERR_NULL, ad_tape_new, 4096, AD_F64, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_new, 4096, (ad_dtype)0, &t);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_tape_new, 0, AD_F64, &t);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_tape_new, 8, AD_F32, &t);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_new, SIZE_MAX, AD_F64, &t);
    CHECK(t == NULL);

    EXPECT(AD_ERR_NULL, ad_tape_done, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_done, fx.ended);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_done, garbage);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_done, (ad_tape *)(void *)(mem_t + 1));
    ad_tape_free(NULL);
    ad_tape_free(fx.ended);
    CALLED(ad_tape_free);

    EXPECT(AD_ERR_NULL, ad_tape_bytes_for, 1, AD_F64, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tape_bytes_for, 1, (ad_dtype)7, &n);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_bytes_for, SIZE_MAX, AD_F64, &n);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_tape_bytes_for, SIZE_MAX / 8, AD_F64_DUAL, &n);
    EXPECT(AD_OK, ad_tape_bytes_for, 0, AD_F32, &n);

    EXPECT(AD_ERR_NULL, ad_tape_reset, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_reset, fx.ended);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_reset, garbage);
    EXPECT(AD_OK, ad_tape_reset, sticky_t());

    EXPECT(AD_ERR_NULL, ad_tape_status, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_status, fx.ended);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tape_status, sticky_t());

    fresh();
    CHECK(strcmp(ad_tape_error(NULL), "null tape") == 0);
    CHECK(strcmp(ad_tape_error(fx.ended), "not a live tape") == 0);
    CHECK(strcmp(ad_tape_error(fx.t), "no error") == 0);
    CHECK(strstr(ad_tape_error(sticky_t()), "stale") != NULL);
    CALLED(ad_tape_error);

    EXPECT(AD_ERR_NULL, ad_tape_num_inputs, NULL, &n);
    EXPECT(AD_ERR_NULL, ad_tape_num_inputs, fx.t, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_tape_num_inputs, fx.t, (size_t *)(void *)(mem_ended + 1));
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_num_inputs, fx.ended, &n);
    EXPECT(AD_ERR_NULL, ad_tape_len, NULL, &n);
    EXPECT(AD_ERR_NULL, ad_tape_len, fx.t, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_len, fx.ended, &n);
    EXPECT(AD_ERR_NULL, ad_tape_bytes_used, NULL, &n);
    EXPECT(AD_ERR_NULL, ad_tape_bytes_used, fx.t, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_bytes_used, fx.ended, &n);
    CHECK(n != 7); /* written by the successful ad_tape_bytes_for above */
    /* Readers still answer on a sticky tape. */
    EXPECT(AD_OK, ad_tape_len, sticky_t(), &n);
}

/* Tapes in tiny and misaligned blocks: each either starts or says AD_ERR_OUT_OF_MEMORY,
 * and one that starts either records or fails with a documented sticky status. */
static void tiny_arenas(void) {
    static unsigned char block[4096 + 64];
    size_t header = 0, small = 0;
    FIXTURE(ad_tape_bytes_for(0, AD_F64, &header) == AD_OK);
    FIXTURE(ad_tape_bytes_for(3, AD_F64, &small) == AD_OK);
    for (int dtype = AD_F32; dtype <= AD_F64_DUAL; dtype++) {
        for (size_t offset = 0; offset < 16; offset++) {
            for (size_t len = 0; len <= small + 64 && offset + len <= sizeof block; len++) {
                ad_tape *t = NULL;
                ad_status s = ad_tape_init(block + offset, len, (ad_dtype)dtype, &t);
                if (s != AD_OK) {
                    row_result("ad_tape_init", "ad_tape_init(tiny block)", s, S(AD_ERR_OUT_OF_MEMORY),
                               NULL, __LINE__);
                    continue;
                }
                ad_var x = ad_input(t, 2.0);
                ad_var y = ad_mul(t, x, ad_sin(t, x));
                ad_status st = ad_tape_status(t);
                double g = 0;
                if (st != AD_OK) {
                    row_result("ad_mul", "ad_mul(on a tiny tape)", st,
                               S(AD_ERR_OUT_OF_MEMORY) | S(AD_ERR_TOO_MANY_VARIABLES) |
                                   S(AD_ERR_FOREIGN_HANDLE),
                               NULL, __LINE__);
                } else {
                    ad_status b = ad_backward(t, y);
                    if (b == AD_OK) {
                        ad_status gs = ad_grad(t, x, &g);
                        CHECK(gs == AD_OK && fabs(g - (sin(2.0) + 2.0 * cos(2.0))) < 1e-5);
                    } else {
                        row_result("ad_backward", "ad_backward(on a tiny tape)", b,
                                   S(AD_ERR_OUT_OF_MEMORY), NULL, __LINE__);
                    }
                }
                FIXTURE(ad_tape_done(t) == AD_OK);
            }
        }
    }
    (void)header;
    /* The same on the heap. */
    for (size_t bytes = 0; bytes <= small + 64; bytes += 8) {
        ad_tape *t = NULL;
        ad_status s = ad_tape_new(bytes, AD_F64, &t);
        if (s != AD_OK) {
            row_result("ad_tape_new", "ad_tape_new(tiny)", s, S(AD_ERR_OUT_OF_MEMORY), NULL, __LINE__);
            continue;
        }
        (void)ad_input(t, 1.0);
        ad_tape_free(t);
    }
}

/* ---- scalar ops ---- */

typedef ad_var (*unary_fn)(ad_tape *, ad_var);
typedef ad_var (*binary_fn)(ad_tape *, ad_var, ad_var);

#define OP(fn) {#fn, fn}
static const struct {
    const char *name;
    unary_fn fn;
} unary_ops[] = {
    OP(ad_neg),   OP(ad_recip), OP(ad_sqrt),  OP(ad_cbrt),  OP(ad_exp),     OP(ad_expm1),
    OP(ad_log),   OP(ad_log1p), OP(ad_log2),  OP(ad_log10), OP(ad_sin),     OP(ad_cos),
    OP(ad_tan),   OP(ad_asin),  OP(ad_acos),  OP(ad_atan),  OP(ad_sinh),    OP(ad_cosh),
    OP(ad_tanh),  OP(ad_asinh), OP(ad_acosh), OP(ad_atanh), OP(ad_abs),     OP(ad_sigmoid),
    OP(ad_softplus), OP(ad_erf),
};
static const struct {
    const char *name;
    binary_fn fn;
} binary_ops[] = {
    OP(ad_add), OP(ad_sub), OP(ad_mul), OP(ad_div), OP(ad_pow),
    OP(ad_atan2), OP(ad_min), OP(ad_max), OP(ad_hypot),
};

/* The forms of a scalar handle an op is given, with the status each leaves. */
typedef enum { H_LIVE, H_STALE, H_FOREIGN, H_INVALID, H_FORGED_INDEX, H_FORGED_TAG, H_TENSOR,
               H_RANK0_TENSOR, H_NAN, H_FORMS } handle_form;
static const char *const form_names[H_FORMS] = {"live", "stale", "foreign", "invalid",
                                                "forged index", "forged tag", "tensor",
                                                "rank-0 tensor", "NaN-valued"};

static ad_var scalar_form(handle_form form) {
    static const ad_var invalid = {UINT32_MAX, 0, 0, 0};
    switch (form) {
    case H_LIVE: return fx.x;
    case H_STALE: return fx.stale;
    case H_FOREIGN: return fx.fu;
    case H_INVALID: return invalid;
    case H_FORGED_INDEX: return WITH_INDEX_VAR(fx.x, 1000);
    case H_FORGED_TAG: return WITH_TAG_VAR(fx.x, fx.tag ^ 0x5a5a5a5au);
    case H_TENSOR: return AS_VAR(fx.a);
    case H_RANK0_TENSOR: return AS_VAR(fx.s);
    case H_NAN: return fx.nan;
    default: return fx.x;
    }
}

/* What an op on fx.t leaves when given `form`. */
static uint64_t scalar_form_statuses(handle_form form) {
    switch (form) {
    case H_LIVE: case H_NAN: return S(AD_OK);
    case H_STALE: return S(AD_ERR_STALE_HANDLE);
    case H_FOREIGN: case H_INVALID: return S(AD_ERR_FOREIGN_HANDLE);
    case H_FORGED_INDEX: case H_FORGED_TAG: return HANDLE_ERRORS;
    /* A tensor's bytes copied into a variable keep the tensor's kind: refused, whatever
     * the rank (ad_tensor_as_var is the conversion). */
    case H_TENSOR: case H_RANK0_TENSOR: return S(AD_ERR_WRONG_HANDLE_KIND);
    default: return 0;
    }
}

/* One op row from a table: `valid` is the handle's validity, `form` what it was given. */
static void scalar_op_row(const char *fn, handle_form form, int valid, int line) {
    char call[128];
    uint64_t want = scalar_form_statuses(form);
    ad_status got = fixture_status();
    snprintf(call, sizeof call, "%s(t, <%s>)", fn, form_names[form]);
    if ((want == S(AD_OK)) != (valid != 0)) {
        fprintf(stderr, "header_sweep.c:%d: %s gave a %s handle (status %s)\n", line, call,
                valid ? "valid" : "invalid", status_name((int)got));
        spec_call(fn, line);
        check_record(0, __FILE__, line, call);
        return;
    }
    row_result(fn, call, got, want, NULL, line);
}

static void rows_scalar_ops(void) {
    for (size_t i = 0; i < COUNT(unary_ops); i++) {
        for (int form = 0; form < H_FORMS; form++) {
            fresh();
            scalar_op_row(unary_ops[i].name, (handle_form)form,
                          ad_var_is_valid(unary_ops[i].fn(fx.t, scalar_form((handle_form)form))),
                          __LINE__);
        }
        fresh();
        op_result(unary_ops[i].name, "op(NULL, x)", ad_var_is_valid(unary_ops[i].fn(NULL, fx.x)),
                  NO_TAPE, NULL, __LINE__);
        fresh();
        op_result(unary_ops[i].name, "op(ended, x)",
                  ad_var_is_valid(unary_ops[i].fn(fx.ended, fx.x)), NO_TAPE, NULL, __LINE__);
        /* On a sticky tape: nothing recorded, the first error kept. */
        fresh();
        {
            ad_tape *t = sticky_t();
            int valid = ad_var_is_valid(unary_ops[i].fn(t, fx.x));
            CHECK(!valid && ad_tape_status(t) == AD_ERR_STALE_HANDLE);
        }
    }
    for (size_t i = 0; i < COUNT(binary_ops); i++) {
        for (int form = 0; form < H_FORMS; form++) {
            fresh();
            scalar_op_row(binary_ops[i].name, (handle_form)form,
                          ad_var_is_valid(binary_ops[i].fn(fx.t, fx.y, scalar_form((handle_form)form))),
                          __LINE__);
            fresh();
            scalar_op_row(binary_ops[i].name, (handle_form)form,
                          ad_var_is_valid(binary_ops[i].fn(fx.t, scalar_form((handle_form)form), fx.y)),
                          __LINE__);
        }
        fresh();
        op_result(binary_ops[i].name, "op(NULL, x, y)",
                  ad_var_is_valid(binary_ops[i].fn(NULL, fx.x, fx.y)), NO_TAPE, NULL, __LINE__);
        /* Mixing tapes: a handle of u on t. */
        fresh();
        scalar_op_row(binary_ops[i].name, H_FOREIGN,
                      ad_var_is_valid(binary_ops[i].fn(fx.u, fx.fu, fx.x)), __LINE__);
    }
    /* Ops with a constant operand: NaN and infinite constants record (values may be NaN). */
    EXPECT_VAR(AD_OK, ad_input, fx.t, NAN);
    EXPECT_VAR(AD_OK, ad_input, fx.t, INFINITY);
    EXPECT_VAR(NO_TAPE, ad_input, NULL, 1.0);
    EXPECT_VAR(NO_TAPE, ad_input, fx.ended, 1.0);
    EXPECT_VAR(AD_OK, ad_const, fx.t, -INFINITY);
    EXPECT_VAR(NO_TAPE, ad_const, NULL, 1.0);
    EXPECT_VAR(AD_OK, ad_scale, fx.t, fx.x, NAN);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_scale, fx.t, fx.stale, 2.0);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_scale, fx.t, fx.fu, 2.0);
    EXPECT_VAR(NO_TAPE, ad_scale, NULL, fx.x, 2.0);
    EXPECT_VAR(AD_OK, ad_powf, fx.t, fx.x, INFINITY);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_powf, fx.t, fx.stale, 2.0);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_powf, fx.t, fx.fu, 2.0);
    EXPECT_VAR(NO_TAPE, ad_powf, NULL, fx.x, 2.0);
    EXPECT_VAR(AD_OK, ad_powi, fx.t, fx.x, INT_MIN);
    EXPECT_VAR(AD_OK, ad_powi, fx.t, fx.x, INT_MAX);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_powi, fx.t, fx.stale, 2);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_powi, fx.t, fx.fu, 2);
    EXPECT_VAR(NO_TAPE, ad_powi, NULL, fx.x, 2);
    /* Ops record on a dual tape and an f32 tape too. */
    EXPECT_VAR(AD_OK, ad_sin, fx.td, fx.xd);
    EXPECT_VAR(AD_OK, ad_sin, fx.t32, fx.x32);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_sin, fx.t32, fx.stale32);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_sin, fx.td, fx.x);

    {
        static const ad_var invalid = {UINT32_MAX, 0, 0, 0};
        fresh();
        CHECK(!ad_var_is_valid(invalid));
        CHECK(ad_var_is_valid(fx.x));
        CHECK(ad_var_is_valid(fx.stale)); /* valid, though stale */
        CALLED(ad_var_is_valid);
    }
}

/* ---- derivatives ---- */

static void rows_derivatives(void) {
    double d = 7.0, buf[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    double *odd = (double *)(void *)((unsigned char *)buf + 4);
    ad_var outs[2];

    EXPECT(AD_ERR_NULL, ad_backward, NULL, fx.f);
    EXPECT(AD_ERR_INVALID_TAPE, ad_backward, fx.ended, fx.f);
    EXPECT(AD_ERR_STALE_HANDLE, ad_backward, fx.t, fx.stale);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_backward, fx.t, fx.fu);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_backward, fx.t, WITH_INDEX_VAR(fx.x, 1000));
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_backward, fx.t, WITH_TAG_VAR(fx.x, fx.tag + 77));
    EXPECT(AD_ERR_NON_FINITE, ad_backward, fx.t, fx.nan);
    EXPECT(AD_ERR_STALE_HANDLE, ad_backward, sticky_t(), fx.f);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_backward, fx.t, AS_VAR(fx.s));
    EXPECT(AD_OK, ad_backward, fx.t, ad_tensor_as_var(fx.t, fx.s));
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_backward, fx.t, AS_VAR(fx.a));
    EXPECT(AD_OK, ad_backward, fx.td, fx.fd);
    EXPECT(AD_OK, ad_backward, fx.t32, fx.f32);

    EXPECT(AD_ERR_NULL, ad_grad, NULL, fx.x, &d);
    EXPECT(AD_ERR_NULL, ad_grad, fx.t, fx.x, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_grad, fx.t, fx.x, odd);
    EXPECT(AD_ERR_INVALID_TAPE, ad_grad, fx.ended, fx.x, &d);
    EXPECT(AD_ERR_STALE_HANDLE, ad_grad, fx.t, fx.stale, &d);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_grad, fx.t, fx.fu, &d);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_grad, fx.t, WITH_INDEX_VAR(fx.x, 77), &d);
    EXPECT(AD_ERR_STALE_HANDLE, ad_grad, sticky_t(), fx.x, &d);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_value, fx.t, AS_VAR(fx.a), &d);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_grad, fx.t, AS_VAR(fx.a), &d);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_value, fx.t, AS_VAR(fx.p), &d); /* a parameter */
    EXPECT(AD_ERR_NULL, ad_value, NULL, fx.x, &d);
    EXPECT(AD_ERR_NULL, ad_value, fx.t, fx.x, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_value, fx.t, fx.x, odd);
    EXPECT(AD_ERR_INVALID_TAPE, ad_value, fx.ended, fx.x, &d);
    EXPECT(AD_ERR_STALE_HANDLE, ad_value, fx.t, fx.stale, &d);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_value, fx.t, fx.fu, &d);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_value, fx.t, WITH_TAG_VAR(fx.x, 12345), &d);
    EXPECT(AD_OK, ad_value, fx.t, fx.nan, &d);
    EXPECT(AD_ERR_NULL, ad_tangent, NULL, fx.x, &d);
    EXPECT(AD_ERR_NULL, ad_tangent, fx.t, fx.x, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_tangent, fx.t, fx.x, odd);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tangent, fx.ended, fx.x, &d);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tangent, fx.t, fx.stale, &d);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tangent, fx.t, fx.fu, &d);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tangent, sticky_t(), fx.x, &d);

    EXPECT(AD_ERR_NULL, ad_gradient, NULL, fx.f, buf, 2);
    EXPECT(AD_ERR_NULL, ad_gradient, fx.t, fx.f, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_gradient, fx.t, fx.f, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_gradient, fx.t, fx.f, buf, 3);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_gradient, fx.t, fx.f, NULL, 0);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_gradient, fx.t, fx.f, buf, SIZE_MAX / 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_gradient, fx.t, fx.stale, buf, 2);
    EXPECT(AD_ERR_NON_FINITE, ad_gradient, fx.t, fx.nan, buf, 2);
    EXPECT(AD_ERR_STALE_HANDLE, ad_gradient, sticky_t(), fx.f, buf, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_gradient, fx.t32, fx.f32, buf, 2);
    EXPECT(AD_OK, ad_gradient, fx.t32, fx.f32, buf, 1);
    EXPECT(AD_ERR_INVALID_TAPE, ad_gradient, fx.ended, fx.f, buf, 2);
    fresh();
    ad_gradient(fx.t, fx.f, buf, 3);
    CHECK(strcmp(ad_tape_error(fx.t), "gradient buffer length 3 differs from the number of inputs 2") == 0);
    fresh();
    ad_jvp(fx.t32, buf, 2);
    CHECK(strcmp(ad_tape_error(fx.t32), "seed length 2 differs from the number of inputs 1") == 0);

    EXPECT(AD_ERR_NULL, ad_jvp, NULL, buf, 2);
    EXPECT(AD_ERR_NULL, ad_jvp, fx.t, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_jvp, fx.t, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jvp, fx.t, buf, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jvp, fx.t, NULL, 0);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_jvp, fx.t, buf, SIZE_MAX);
    EXPECT(AD_ERR_STALE_HANDLE, ad_jvp, sticky_t(), buf, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_jvp, fx.ended, buf, 2);
    {
        double nans[2] = {NAN, INFINITY};
        EXPECT(AD_OK, ad_jvp, fx.t, nans, 2);
        EXPECT(AD_OK, ad_replay, fx.t, nans, 2);
    }
    EXPECT(AD_ERR_NULL, ad_replay, NULL, buf, 2);
    EXPECT(AD_ERR_NULL, ad_replay, fx.t, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_replay, fx.t, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_replay, fx.t, buf, 3);
    EXPECT(AD_ERR_STALE_HANDLE, ad_replay, sticky_t(), buf, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_replay, fx.ended, buf, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_replay, fx.t32, buf, 0);

#define OUTS (outs[0] = fx.f, outs[1] = fx.x, outs)
#define OUTS_D (outs[0] = fx.fd, outs[1] = fx.xd, outs)
    EXPECT(AD_ERR_NULL, ad_jacobian, NULL, OUTS, 2, buf, 4);
    EXPECT(AD_ERR_NULL, ad_jacobian, fx.t, NULL, 2, buf, 4);
    EXPECT(AD_ERR_NULL, ad_jacobian, fx.t, OUTS, 2, NULL, 4);
    EXPECT(AD_ERR_MISALIGNED, ad_jacobian, fx.t, OUTS, 2, odd, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jacobian, fx.t, OUTS, 2, buf, 3);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jacobian, fx.t, OUTS, 2, (double *)(void *)outs, 2);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_jacobian, fx.t, OUTS, SIZE_MAX, buf, 4);
    EXPECT(AD_ERR_INVALID_TAPE, ad_jacobian, fx.ended, OUTS, 2, buf, 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_jacobian, sticky_t(), OUTS, 2, buf, 4);
    EXPECT(AD_OK, ad_jacobian, fx.t, OUTS, 0, NULL, 0);
    EXPECT(AD_ERR_NULL, ad_jacobian_fwd, NULL, OUTS_D, 2, buf, 4);
    EXPECT(AD_ERR_NULL, ad_jacobian_fwd, fx.td, NULL, 2, buf, 4);
    EXPECT(AD_ERR_NULL, ad_jacobian_fwd, fx.td, OUTS_D, 2, NULL, 4);
    EXPECT(AD_ERR_MISALIGNED, ad_jacobian_fwd, fx.td, OUTS_D, 2, odd, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jacobian_fwd, fx.td, OUTS_D, 2, buf, 5);
    EXPECT(AD_ERR_INVALID_TAPE, ad_jacobian_fwd, fx.ended, OUTS_D, 2, buf, 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_jacobian_fwd, sticky_t(), OUTS, 2, buf, 4);
    /* Forward Jacobians are for scalar tapes: fx.t holds tensors. */
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_jacobian_fwd, fx.t, OUTS, 2, buf, 4);
    EXPECT(AD_OK, ad_jacobian_fwd, fx.td, OUTS_D, 2, buf, 2);
    {
        ad_var stale_outs[2];
        fresh();
        stale_outs[0] = fx.f;
        stale_outs[1] = fx.stale;
        row_result("ad_jacobian", "ad_jacobian(t, {f, stale}, ...)",
                   ad_jacobian(fx.t, stale_outs, 2, buf, 4), S(AD_ERR_STALE_HANDLE), NULL, __LINE__);
        fresh();
        stale_outs[0] = fx.f;
        stale_outs[1] = fx.nan;
        row_result("ad_jacobian", "ad_jacobian(t, {f, nan}, ...)",
                   ad_jacobian(fx.t, stale_outs, 2, buf, 4), S(AD_ERR_NON_FINITE), NULL, __LINE__);
        fresh();
        stale_outs[0] = fx.fd;
        stale_outs[1] = fx.fu;
        row_result("ad_jacobian_fwd", "ad_jacobian_fwd(td, {fd, foreign}, ...)",
                   ad_jacobian_fwd(fx.td, stale_outs, 2, buf, 2), S(AD_ERR_FOREIGN_HANDLE), NULL,
                   __LINE__);
    }

    {
        double x1[1] = {1.5}, v1[1] = {1}, g1[1], h1[1];
        EXPECT(AD_ERR_NULL, ad_hvp, NULL, fx.fd, x1, v1, g1, h1, 1);
        EXPECT(AD_ERR_NULL, ad_hvp, fx.td, fx.fd, NULL, v1, g1, h1, 1);
        EXPECT(AD_ERR_NULL, ad_hvp, fx.td, fx.fd, x1, NULL, g1, h1, 1);
        EXPECT(AD_ERR_NULL, ad_hvp, fx.td, fx.fd, x1, v1, NULL, h1, 1);
        EXPECT(AD_ERR_NULL, ad_hvp, fx.td, fx.fd, x1, v1, g1, NULL, 1);
        EXPECT(AD_ERR_MISALIGNED, ad_hvp, fx.td, fx.fd, odd, v1, g1, h1, 1);
        EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hvp, fx.td, fx.fd, x1, v1, g1, h1, 0);
        EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hvp, fx.td, fx.fd, x1, v1, g1, g1, 1);
        EXPECT(AD_ERR_DTYPE_MISMATCH, ad_hvp, fx.t, fx.f, x1, v1, g1, h1, 1);
        EXPECT(AD_ERR_DTYPE_MISMATCH, ad_hvp, fx.t32, fx.f32, x1, v1, g1, h1, 1);
        EXPECT(AD_ERR_FOREIGN_HANDLE, ad_hvp, fx.td, fx.f, x1, v1, g1, h1, 1);
        EXPECT(AD_ERR_INVALID_TAPE, ad_hvp, fx.ended, fx.fd, x1, v1, g1, h1, 1);
        EXPECT(AD_OK, ad_hvp, fx.td, fx.fd, x1, v1, g1, h1, 1);
        x1[0] = NAN;
        EXPECT(AD_ERR_NON_FINITE, ad_hvp, fx.td, fx.fd, x1, v1, g1, h1, 1);
    }
}

/* ---- tensors ---- */

typedef ad_tensor (*tensor_unary_fn)(ad_tape *, ad_tensor);
typedef ad_tensor (*tensor_binary_fn)(ad_tape *, ad_tensor, ad_tensor);

static ad_tensor t_matmul(ad_tape *t, ad_tensor a, ad_tensor b) { return ad_matmul(t, a, b, 0, 0); }
static ad_tensor t_sum_axis(ad_tape *t, ad_tensor x) { return ad_tensor_sum_axis(t, x, 0); }
static ad_tensor t_mean_axis(ad_tape *t, ad_tensor x) { return ad_tensor_mean_axis(t, x, 0); }
static ad_tensor t_scale(ad_tape *t, ad_tensor x) { return ad_tensor_scale(t, x, 2.0); }
static ad_tensor t_relu(ad_tape *t, ad_tensor x) { return ad_tensor_activation(t, x, AD_ACT_RELU); }
static ad_tensor t_leaky(ad_tape *t, ad_tensor x) { return ad_leaky_relu(t, x, 0.1); }
static ad_tensor t_reshape(ad_tape *t, ad_tensor x) { return ad_reshape(t, x, D6, 1); }
static ad_tensor t_to_host(ad_tape *t, ad_tensor x) { return ad_tensor_to_host(t, x); }
static ad_tensor t_as_var_sum(ad_tape *t, ad_tensor x) {
    return ad_var_is_valid(ad_tensor_as_var(t, ad_tensor_sum(t, x))) ? x : ad_tensor_sum(t, x);
}

#define TOP(fn, name) {name, fn}
static const struct {
    const char *name;
    tensor_unary_fn fn;
} tensor_unary_ops[] = {
    TOP(ad_tensor_sum, "ad_tensor_sum"),       TOP(ad_tensor_mean, "ad_tensor_mean"),
    TOP(t_sum_axis, "ad_tensor_sum_axis"),     TOP(t_mean_axis, "ad_tensor_mean_axis"),
    TOP(ad_transpose, "ad_transpose"),         TOP(ad_softmax, "ad_softmax"),
    TOP(ad_log_softmax, "ad_log_softmax"),     TOP(t_scale, "ad_tensor_scale"),
    TOP(t_relu, "ad_tensor_activation"),       TOP(t_leaky, "ad_leaky_relu"),
    TOP(t_reshape, "ad_reshape"),              TOP(t_to_host, "ad_tensor_to_host"),
    TOP(t_as_var_sum, "ad_tensor_as_var"),
};
static const struct {
    const char *name;
    tensor_binary_fn fn;
} tensor_binary_ops[] = {
    TOP(ad_tensor_add, "ad_tensor_add"), TOP(ad_tensor_sub, "ad_tensor_sub"),
    TOP(ad_tensor_mul, "ad_tensor_mul"), TOP(ad_tensor_div, "ad_tensor_div"),
    TOP(ad_mse, "ad_mse"),               TOP(t_matmul, "ad_matmul"),
};

typedef enum { T_LIVE, T_STALE, T_FOREIGN, T_INVALID, T_FORGED_INDEX, T_FORGED_TAG, T_SCALAR,
               T_FORMS } tensor_form;
static const char *const tensor_form_names[T_FORMS] = {
    "live", "stale", "foreign", "invalid", "forged index", "forged tag", "scalar"};

static ad_tensor tensor_form_of(tensor_form form, ad_tensor live) {
    static const ad_tensor invalid = {UINT32_MAX, 0, 0, 0};
    switch (form) {
    case T_LIVE: return live;
    case T_STALE: return fx.stale_a;
    case T_FOREIGN: return fx.au;
    case T_INVALID: return invalid;
    case T_FORGED_INDEX: return WITH_INDEX_TENSOR(live, 4000);
    case T_FORGED_TAG: return WITH_TAG_TENSOR(live, fx.tag ^ 0x00ff00ffu);
    case T_SCALAR: return AS_TENSOR(fx.x);
    default: return live;
    }
}

static uint64_t tensor_form_statuses(tensor_form form) {
    switch (form) {
    case T_LIVE: return S(AD_OK);
    case T_STALE: return S(AD_ERR_STALE_HANDLE);
    case T_FOREIGN: case T_INVALID: return S(AD_ERR_FOREIGN_HANDLE);
    case T_FORGED_INDEX: case T_FORGED_TAG: return HANDLE_ERRORS;
    case T_SCALAR: return S(AD_ERR_WRONG_HANDLE_KIND);
    default: return 0;
    }
}

static void tensor_op_row(const char *fn, const char *form_name, uint64_t want, int valid, int line) {
    char call[128];
    ad_status got = fixture_status();
    snprintf(call, sizeof call, "%s(t, <%s>)", fn, form_name);
    if ((want == S(AD_OK)) != (valid != 0)) {
        fprintf(stderr, "header_sweep.c:%d: %s gave a %s handle (status %s)\n", line, call,
                valid ? "valid" : "invalid", status_name((int)got));
        spec_call(fn, line);
        check_record(0, __FILE__, line, call);
        return;
    }
    row_result(fn, call, got, want, NULL, line);
}

static void rows_tensor_ops(void) {
    static const size_t rank5[5] = {1, 1, 1, 1, 1};
    static const size_t huge[4] = {(size_t)1 << 16, (size_t)1 << 16, (size_t)1 << 16, (size_t)1 << 16};
    static const size_t wide[2] = {(size_t)UINT32_MAX + 1, 1};
    static const size_t zero[2] = {0, 3};
    static const uint32_t labels[2] = {0, 1}, bad_labels[2] = {0, 9};
    static double big[1 << 14]; /* more than fx.t's memory holds */
    static const size_t big_dims[1] = {COUNT(big)};
    double *odd = (double *)(void *)(mem_ended + 4);

    for (size_t i = 0; i < COUNT(tensor_unary_ops); i++) {
        for (int form = 0; form < T_FORMS; form++) {
            uint64_t want = tensor_form_statuses((tensor_form)form);
            fresh();
            tensor_op_row(tensor_unary_ops[i].name, tensor_form_names[form], want,
                          ad_tensor_is_valid(tensor_unary_ops[i].fn(fx.t, tensor_form_of((tensor_form)form, fx.a))),
                          __LINE__);
        }
        fresh();
        op_result(tensor_unary_ops[i].name, "op(NULL, a)",
                  ad_tensor_is_valid(tensor_unary_ops[i].fn(NULL, fx.a)), NO_TAPE, NULL, __LINE__);
        fresh();
        tensor_op_row(tensor_unary_ops[i].name, "dual tape", S(AD_ERR_DTYPE_MISMATCH),
                      ad_tensor_is_valid(tensor_unary_ops[i].fn(fx.td, AS_TENSOR(fx.xd))), __LINE__);
        fresh();
        tensor_op_row(tensor_unary_ops[i].name, "f32 tape", S(AD_OK),
                      ad_tensor_is_valid(tensor_unary_ops[i].fn(fx.t32, fx.a32)), __LINE__);
    }
    for (size_t i = 0; i < COUNT(tensor_binary_ops); i++) {
        int is_matmul = strcmp(tensor_binary_ops[i].name, "ad_matmul") == 0;
        for (int form = 0; form < T_FORMS; form++) {
            uint64_t want = tensor_form_statuses((tensor_form)form);
            fresh();
            tensor_op_row(tensor_binary_ops[i].name, tensor_form_names[form], want,
                          ad_tensor_is_valid(tensor_binary_ops[i].fn(
                              fx.t, fx.a, tensor_form_of((tensor_form)form, is_matmul ? fx.b : fx.c))),
                          __LINE__);
            fresh();
            tensor_op_row(tensor_binary_ops[i].name, tensor_form_names[form], want,
                          ad_tensor_is_valid(tensor_binary_ops[i].fn(
                              fx.t, tensor_form_of((tensor_form)form, fx.a), is_matmul ? fx.b : fx.c)),
                          __LINE__);
        }
        fresh();
        tensor_op_row(tensor_binary_ops[i].name, "shapes that do not combine", S(AD_ERR_SHAPE_MISMATCH),
                      ad_tensor_is_valid(tensor_binary_ops[i].fn(fx.t, fx.a, is_matmul ? fx.a : fx.b)),
                      __LINE__);
        fresh();
        op_result(tensor_binary_ops[i].name, "op(NULL, a, b)",
                  ad_tensor_is_valid(tensor_binary_ops[i].fn(NULL, fx.a, fx.b)), NO_TAPE, NULL, __LINE__);
        fresh();
        tensor_op_row(tensor_binary_ops[i].name, "host and device", S(AD_ERR_DEVICE_MISMATCH),
                      ad_tensor_is_valid(is_matmul ? ad_matmul(fx.tdev, fx.dh, fx.da, 0, 1)
                                                   : tensor_binary_ops[i].fn(fx.tdev, fx.dh, fx.da)),
                      __LINE__);
    }

    /* Leaves. */
    EXPECT_TENSOR(AD_OK, ad_tensor_input_f64, fx.t, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_OK, ad_tensor_input_f64, fx.t, NULL, 0, V6, 1);
    EXPECT_TENSOR(AD_OK, ad_tensor_input_f64, fx.t, zero, 2, NULL, 0);
    EXPECT_TENSOR(AD_ERR_NULL, ad_tensor_input_f64, fx.t, NULL, 2, V6, 6);
    EXPECT_TENSOR(AD_ERR_NULL, ad_tensor_input_f64, fx.t, D23, 2, NULL, 6);
    EXPECT_TENSOR(AD_ERR_MISALIGNED, ad_tensor_input_f64, fx.t, D23, 2, odd, 6);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f64, fx.t, D23, 2, V6, 5);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f64, fx.t, D23, 2, V6, 0);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f64, fx.t, rank5, 5, V6, 1);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f64, fx.t, wide, 2, V6, 1);
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_tensor_input_f64, fx.t, huge, 4, V6, 1);
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_tensor_input_f64, fx.t, D23, 2, V6, SIZE_MAX);
    EXPECT_TENSOR(AD_ERR_OUT_OF_MEMORY, ad_tensor_input_f64, fx.t, big_dims, 1, big, COUNT(big));
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_input_f64, fx.t32, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_input_f64, fx.td, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_tensor_input_f64, sticky_t(), D23, 2, V6, 6);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_input_f64, NULL, D23, 2, V6, 6);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_input_f64, fx.ended, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_OK, ad_tensor_input_f32, fx.t32, D23, 2, F6, 6);
    EXPECT_TENSOR(AD_ERR_NULL, ad_tensor_input_f32, fx.t32, D23, 2, NULL, 6);
    EXPECT_TENSOR(AD_ERR_MISALIGNED, ad_tensor_input_f32, fx.t32, D23, 2, (const float *)(void *)(mem_ended + 2), 6);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f32, fx.t32, D23, 2, F6, 7);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_input_f32, fx.t32, rank5, 5, F6, 1);
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_tensor_input_f32, fx.t32, huge, 4, F6, 1);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_input_f32, fx.t, D23, 2, F6, 6);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_input_f32, NULL, D23, 2, F6, 6);
    EXPECT_TENSOR(AD_OK, ad_tensor_const_f64, fx.t, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_ERR_NULL, ad_tensor_const_f64, fx.t, D23, 2, NULL, 6);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_const_f64, fx.t, D23, 2, V6, 4);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_const_f64, fx.t, rank5, 5, V6, 1);
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_tensor_const_f64, fx.t, huge, 4, V6, 1);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_const_f64, fx.td, D23, 2, V6, 6);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_const_f64, NULL, D23, 2, V6, 6);
    EXPECT_TENSOR(AD_OK, ad_tensor_const_f32, fx.t32, D23, 2, F6, 6);
    EXPECT_TENSOR(AD_ERR_NULL, ad_tensor_const_f32, fx.t32, NULL, 2, F6, 6);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_const_f32, fx.t32, D23, 2, F6, 1);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_const_f32, fx.t32, rank5, 5, F6, 1);
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_tensor_const_f32, fx.t32, huge, 4, F6, 1);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_const_f32, fx.t, D23, 2, F6, 6);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_const_f32, NULL, D23, 2, F6, 6);

    /* Op arguments beyond the handles. */
    EXPECT_TENSOR(AD_OK, ad_matmul, fx.t, fx.a, fx.a, 0, 1);
    EXPECT_TENSOR(AD_OK, ad_matmul, fx.t, fx.a, fx.a, INT_MIN, 0);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_matmul, fx.t, fx.s, fx.s, 0, 0);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_matmul, fx.td, fx.a, fx.b, 0, 0);
    EXPECT_TENSOR(NO_TAPE, ad_matmul, NULL, fx.a, fx.b, 0, 0);
    {
        ad_tensor bias;
        static const size_t d2[1] = {2};
        fresh();
        bias = ad_tensor_input_f64(fx.t, d2, 1, V2, 2);
        tensor_op_row("ad_linear", "live", S(AD_OK),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, bias, AD_ACT_TANH)), __LINE__);
        fresh();
        bias = ad_tensor_input_f64(fx.t, d2, 1, V2, 2);
        tensor_op_row("ad_linear", "GELU", S(AD_ERR_INVALID_ARGUMENT),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, bias, AD_ACT_GELU)), __LINE__);
        fresh();
        bias = ad_tensor_input_f64(fx.t, d2, 1, V2, 2);
        tensor_op_row("ad_linear", "activation 10", S(AD_ERR_INVALID_ARGUMENT),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, bias, (ad_activation)10)), __LINE__);
        fresh();
        bias = ad_tensor_input_f64(fx.t, d2, 1, V2, 2);
        tensor_op_row("ad_linear", "activation -1", S(AD_ERR_INVALID_ARGUMENT),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, bias, (ad_activation)-1)), __LINE__);
        fresh();
        tensor_op_row("ad_linear", "bias of the wrong shape", S(AD_ERR_SHAPE_MISMATCH),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, fx.a, AD_ACT_RELU)), __LINE__);
        fresh();
        tensor_op_row("ad_linear", "stale bias", S(AD_ERR_STALE_HANDLE),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, fx.b, fx.stale_a, AD_ACT_RELU)), __LINE__);
        fresh();
        tensor_op_row("ad_linear", "scalar weight", S(AD_ERR_WRONG_HANDLE_KIND),
                      ad_tensor_is_valid(ad_linear(fx.t, fx.a, AS_TENSOR(fx.x), fx.a, AD_ACT_RELU)), __LINE__);
        EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_linear, fx.td, fx.a, fx.b, fx.a, AD_ACT_RELU);
        EXPECT_TENSOR(NO_TAPE, ad_linear, NULL, fx.a, fx.b, fx.a, AD_ACT_RELU);
    }
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_activation, fx.t, fx.a, (ad_activation)10);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_activation, fx.t, fx.a, (ad_activation)INT_MIN);
    EXPECT_TENSOR(AD_OK, ad_tensor_activation, fx.t, fx.a, AD_ACT_SQUARE);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_scale, fx.t, fx.a, NAN);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_tensor_scale, fx.t, fx.a, INFINITY);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_leaky_relu, fx.t, fx.a, NAN);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_leaky_relu, fx.t, fx.a, -INFINITY);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_tensor_sum_axis, fx.t, fx.a, 2);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_tensor_sum_axis, fx.t, fx.a, SIZE_MAX);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_tensor_mean_axis, fx.t, fx.s, 0);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_transpose, fx.t, fx.s);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_softmax, fx.t, fx.s);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_log_softmax, fx.t, fx.s);
    EXPECT_TENSOR(AD_ERR_NULL, ad_reshape, fx.t, fx.a, NULL, 1);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_reshape, fx.t, fx.a, D2, 1);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_reshape, fx.t, fx.a, NULL, 0);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_reshape, fx.t, fx.a, rank5, 5);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_reshape, fx.t, fx.a, wide, 2);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_reshape, fx.t, fx.a, huge, 4); /* counts differ */
    EXPECT_TENSOR(AD_ERR_SIZE_OVERFLOW, ad_reshape, fx.t, fx.a, D6, SIZE_MAX);
    EXPECT_TENSOR(AD_OK, ad_cross_entropy, fx.t, fx.a, labels, 2);
    EXPECT_TENSOR(AD_ERR_NULL, ad_cross_entropy, fx.t, fx.a, NULL, 2);
    EXPECT_TENSOR(AD_ERR_MISALIGNED, ad_cross_entropy, fx.t, fx.a, (const uint32_t *)(void *)(mem_ended + 1), 2);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_cross_entropy, fx.t, fx.a, labels, 1);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_cross_entropy, fx.t, fx.a, NULL, 0);
    EXPECT_TENSOR(AD_ERR_INVALID_ARGUMENT, ad_cross_entropy, fx.t, fx.a, bad_labels, 2);
    EXPECT_TENSOR(AD_ERR_SHAPE_MISMATCH, ad_cross_entropy, fx.t, fx.s, labels, 1);
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_cross_entropy, fx.t, fx.stale_a, labels, 2);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_cross_entropy, fx.td, fx.a, labels, 2);
    EXPECT_TENSOR(NO_TAPE, ad_cross_entropy, NULL, fx.a, labels, 2);
    EXPECT_VAR(AD_ERR_SHAPE_MISMATCH, ad_tensor_as_var, fx.t, fx.a);
    EXPECT_VAR(AD_OK, ad_tensor_as_var, fx.t, fx.s);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_tensor_as_var, fx.t, fx.stale_a);
    EXPECT_VAR(AD_ERR_FOREIGN_HANDLE, ad_tensor_as_var, fx.t, fx.au);
    EXPECT_VAR(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_as_var, fx.t, AS_TENSOR(fx.x));
    EXPECT_VAR(AD_ERR_DTYPE_MISMATCH, ad_tensor_as_var, fx.td, AS_TENSOR(fx.xd));
    EXPECT_VAR(NO_TAPE, ad_tensor_as_var, NULL, fx.s);

    {
        static const ad_tensor invalid = {UINT32_MAX, 0, 0, 0};
        fresh();
        CHECK(!ad_tensor_is_valid(invalid));
        CHECK(ad_tensor_is_valid(fx.a) && ad_tensor_is_valid(fx.stale_a));
        CALLED(ad_tensor_is_valid);
    }
}

/* ---- tensor data ---- */

typedef ad_status (*read64_fn)(const ad_tape *, ad_tensor, double *, size_t);
typedef ad_status (*read32_fn)(const ad_tape *, ad_tensor, float *, size_t);

static void rows_tensor_data(void) {
    double out[8];
    float out32[8];
    size_t dims[4], rank = 9, len = 0;
    int rank_id = 0;
    char text[16];
    double *odd = (double *)(void *)(mem_ended + 4);
    static const struct {
        const char *name;
        read64_fn fn;
        read32_fn fn32;
    } readers[] = {
        {"value", ad_tensor_value_f64, ad_tensor_value_f32},
        {"grad", ad_tensor_grad_f64, ad_tensor_grad_f32},
        {"tangent", ad_tensor_tangent_f64, ad_tensor_tangent_f32},
    };

    EXPECT(AD_OK, ad_tensor_rank, fx.t, fx.a, &rank);
    EXPECT(AD_ERR_NULL, ad_tensor_rank, NULL, fx.a, &rank);
    EXPECT(AD_ERR_NULL, ad_tensor_rank, fx.t, fx.a, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_rank, fx.ended, fx.a, &rank);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_rank, fx.t, fx.stale_a, &rank);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tensor_rank, fx.t, fx.au, &rank);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_tensor_rank, fx.t, WITH_INDEX_TENSOR(fx.a, 999), &rank);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_rank, fx.t, AS_TENSOR(fx.x), &rank);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_rank, fx.td, AS_TENSOR(fx.xd), &rank);
    EXPECT(AD_OK, ad_tensor_dims, fx.t, fx.a, dims, 4, &rank);
    EXPECT(AD_ERR_NULL, ad_tensor_dims, NULL, fx.a, dims, 4, &rank);
    EXPECT(AD_ERR_NULL, ad_tensor_dims, fx.t, fx.a, dims, 4, NULL);
    EXPECT(AD_ERR_NULL, ad_tensor_dims, fx.t, fx.a, NULL, 4, &rank);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_dims, fx.t, fx.a, (size_t *)(void *)(mem_ended + 1), 4, &rank);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tensor_dims, fx.t, fx.a, dims, 1, &rank);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tensor_dims, fx.t, fx.a, NULL, 0, &rank);
    CHECK(rank == 2);
    EXPECT(AD_OK, ad_tensor_dims, fx.t, fx.s, NULL, 0, &rank);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_dims, fx.t, fx.stale_a, dims, 4, &rank);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_dims, fx.t, AS_TENSOR(fx.x), dims, 4, &rank);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_dims, fx.ended, fx.a, dims, 4, &rank);

    for (size_t i = 0; i < COUNT(readers); i++) {
        char f64_name[64], f32_name[64];
        snprintf(f64_name, sizeof f64_name, "ad_tensor_%s_f64", readers[i].name);
        snprintf(f32_name, sizeof f32_name, "ad_tensor_%s_f32", readers[i].name);
#define READ_ROW(want_set, what, call)                                                 \
    do {                                                                              \
        fresh();                                                                      \
        row_result(name, what, call, want_set, NULL, __LINE__);                      \
    } while (0)
        {
            const char *name = f64_name;
            READ_ROW(S(AD_OK), "live, after backward",
                     (ad_backward(fx.t, ad_tensor_as_var(fx.t, fx.s)), readers[i].fn(fx.t, fx.a, out, 6)));
            READ_ROW(S(AD_ERR_NULL), "NULL tape", readers[i].fn(NULL, fx.a, out, 6));
            READ_ROW(S(AD_ERR_NULL), "NULL out", readers[i].fn(fx.t, fx.a, NULL, 6));
            READ_ROW(S(AD_ERR_MISALIGNED), "misaligned out", readers[i].fn(fx.t, fx.a, odd, 6));
            READ_ROW(S(AD_ERR_INVALID_ARGUMENT), "len 5", readers[i].fn(fx.t, fx.a, out, 5));
            READ_ROW(S(AD_ERR_INVALID_ARGUMENT), "len 0", readers[i].fn(fx.t, fx.a, NULL, 0));
            READ_ROW(S(AD_ERR_SIZE_OVERFLOW), "len SIZE_MAX", readers[i].fn(fx.t, fx.a, out, SIZE_MAX));
            READ_ROW(S(AD_ERR_STALE_HANDLE), "stale", readers[i].fn(fx.t, fx.stale_a, out, 6));
            READ_ROW(S(AD_ERR_FOREIGN_HANDLE), "foreign", readers[i].fn(fx.t, fx.au, out, 6));
            READ_ROW(HANDLE_ERRORS, "forged", readers[i].fn(fx.t, WITH_TAG_TENSOR(fx.a, 3), out, 6));
            READ_ROW(S(AD_ERR_WRONG_HANDLE_KIND), "scalar", readers[i].fn(fx.t, AS_TENSOR(fx.x), out, 1));
            READ_ROW(HANDLE_ERRORS, "parameter", readers[i].fn(fx.t, AS_TENSOR(fx.p), out, 2));
            READ_ROW(S(AD_ERR_DTYPE_MISMATCH), "f32 tape", readers[i].fn(fx.t32, fx.a32, out, 6));
            READ_ROW(S(AD_ERR_DTYPE_MISMATCH), "dual tape", readers[i].fn(fx.td, AS_TENSOR(fx.xd), out, 1));
            READ_ROW(S(AD_ERR_INVALID_TAPE), "ended tape", readers[i].fn(fx.ended, fx.a, out, 6));
            READ_ROW(S(AD_OK), "device tensor", readers[i].fn(fx.tdev, fx.da, out, 6));
        }
        {
            const char *name = f32_name;
            READ_ROW(S(AD_OK), "live", readers[i].fn32(fx.t32, fx.a32, out32, 6));
            READ_ROW(S(AD_ERR_NULL), "NULL out", readers[i].fn32(fx.t32, fx.a32, NULL, 6));
            READ_ROW(S(AD_ERR_MISALIGNED), "misaligned out",
                     readers[i].fn32(fx.t32, fx.a32, (float *)(void *)(mem_ended + 2), 6));
            READ_ROW(S(AD_ERR_INVALID_ARGUMENT), "len 7", readers[i].fn32(fx.t32, fx.a32, out32, 7));
            READ_ROW(S(AD_ERR_STALE_HANDLE), "stale", readers[i].fn32(fx.t32, AS_TENSOR(fx.stale32), out32, 1));
            READ_ROW(S(AD_ERR_DTYPE_MISMATCH), "f64 tape", readers[i].fn32(fx.t, fx.a, out32, 6));
            READ_ROW(S(AD_ERR_NULL), "NULL tape", readers[i].fn32(NULL, fx.a32, out32, 6));
        }
#undef READ_ROW
    }
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_grad_f64, fx.t, fx.c, out, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_grad_f32, fx.t32, fx.c32, out32, 6);
    EXPECT(AD_OK, ad_tensor_value_f64, sticky_t(), fx.a, out, 6); /* values stay readable */
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_grad_f64, sticky_t(), fx.a, out, 6);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_tangent_f64, sticky_t(), fx.a, out, 6);
    fresh();
    (void)ad_tensor_value_f64(fx.t, fx.a, out, 5);
    CHECK(strcmp(ad_tape_error(fx.t), "buffer length 5 differs from the tensor's element count 6") == 0);
    fresh();
    (void)ad_tensor_input_f64(fx.t, D23, 2, V6, 4);
    CHECK(strcmp(ad_tape_error(fx.t), "data length 4 differs from the shape's element count 6") == 0);

    EXPECT(AD_OK, ad_tensor_set_value_f64, fx.t, fx.a, V6, 6);
    EXPECT(AD_OK, ad_tensor_set_value_f64, fx.t, fx.c, V6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_set_value_f64, NULL, fx.a, V6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_set_value_f64, fx.t, fx.a, NULL, 6);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_set_value_f64, fx.t, fx.a, odd, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_set_value_f64, fx.t, fx.a, V6, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_set_value_f64, fx.t, fx.s, V6, 1);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_set_value_f64, fx.t, AS_TENSOR(fx.x), V6, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_set_value_f64, fx.t, fx.stale_a, V6, 6);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tensor_set_value_f64, fx.t, fx.au, V6, 6);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_set_value_f64, fx.t32, fx.a32, V6, 6);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_set_value_f64, fx.ended, fx.a, V6, 6);
    EXPECT(AD_OK, ad_tensor_set_value_f64, fx.tdev, fx.dh, V6, 6);
    EXPECT(AD_OK, ad_tensor_set_value_f64, sticky_t(), fx.a, V6, 6);
    EXPECT(AD_OK, ad_tensor_rank, sticky_t(), fx.a, &rank);
    EXPECT(AD_OK, ad_tensor_device, sticky_t(), fx.a, &rank_id);
    EXPECT(AD_OK, ad_tensor_set_value_f32, fx.t32, fx.a32, F6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_set_value_f32, fx.t32, fx.a32, NULL, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_set_value_f32, fx.t32, fx.a32, F6, 3);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_set_value_f32, fx.t, fx.a, F6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_set_value_f32, NULL, fx.a32, F6, 6);
    {
        double nans[6] = {NAN, INFINITY, -INFINITY, 0, 0, 0};
        EXPECT(AD_OK, ad_tensor_set_value_f64, fx.t, fx.a, nans, 6);
    }

    EXPECT(AD_OK, ad_tensor_seed_tangent_f64, fx.t, fx.a, V6, 6);
    EXPECT(AD_OK, ad_tensor_seed_tangent_f64, fx.t, fx.pu, V2, 2);
    EXPECT(AD_ERR_NULL, ad_tensor_seed_tangent_f64, NULL, fx.a, V6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_seed_tangent_f64, fx.t, fx.a, NULL, 6);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_seed_tangent_f64, fx.t, fx.a, odd, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_seed_tangent_f64, fx.t, fx.a, V6, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_seed_tangent_f64, fx.t, fx.c, V6, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_seed_tangent_f64, fx.t, fx.s, V6, 1);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_seed_tangent_f64, fx.t, AS_TENSOR(fx.x), V6, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_seed_tangent_f64, fx.t, fx.stale_a, V6, 6);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tensor_seed_tangent_f64, fx.t, fx.au, V6, 6);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_seed_tangent_f64, fx.t32, fx.a32, V6, 6);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_seed_tangent_f64, fx.ended, fx.a, V6, 6);
    EXPECT(AD_OK, ad_tensor_seed_tangent_f32, fx.t32, fx.a32, F6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_seed_tangent_f32, fx.t32, fx.a32, NULL, 6);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_seed_tangent_f32, fx.t32, fx.a32, F6, 5);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_seed_tangent_f32, fx.t, fx.a, F6, 6);
    EXPECT(AD_ERR_NULL, ad_tensor_seed_tangent_f32, NULL, fx.a32, F6, 6);

    EXPECT(AD_OK, ad_tape_dot, fx.t, (char *)mem_ended, sizeof mem_ended, &len);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tape_dot, fx.t, NULL, 0, &len);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_tape_dot, fx.t, text, sizeof text, &len);
    CHECK(len > sizeof text && strlen(text) == sizeof text - 1);
    EXPECT(AD_ERR_NULL, ad_tape_dot, NULL, text, sizeof text, &len);
    EXPECT(AD_ERR_NULL, ad_tape_dot, fx.t, text, sizeof text, NULL);
    EXPECT(AD_ERR_NULL, ad_tape_dot, fx.t, NULL, 5, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tape_dot, fx.td, text, sizeof text, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_dot, fx.ended, text, sizeof text, &len);
    EXPECT(AD_OK, ad_tape_dot, sticky_t(), (char *)mem_ended, sizeof mem_ended, &len);
}

/* ---- parameters and optimizers ---- */

/* A tape that has recorded nothing, as parameter creation needs (made anew each time). */
static ad_tape *pristine(ad_dtype dtype) {
    static unsigned char mem[1 << 13];
    ad_tape *t = NULL;
    FIXTURE(ad_tape_init(mem, sizeof mem, dtype, &t) == AD_OK);
    return t;
}

static void rows_params(void) {
    ad_param q;
    double out[4];
    float out32[4];
    size_t n = 0;
    static const size_t rank5[5] = {1, 1, 1, 1, 1};
    static const size_t huge[4] = {(size_t)1 << 16, (size_t)1 << 16, (size_t)1 << 16, (size_t)1 << 16};
    double *odd = (double *)(void *)(mem_ended + 4);

    /* Creation: after recording, the optimizer, or on a dual tape, it is refused. */
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_new_f64, fx.t, D2, 1, V2, 2, &q);
    EXPECT(AD_ERR_NULL, ad_param_new_f64, NULL, D2, 1, V2, 2, &q);
    EXPECT(AD_ERR_NULL, ad_param_new_f64, pristine(AD_F64), D2, 1, V2, 2, NULL);
    EXPECT(AD_ERR_NULL, ad_param_new_f64, pristine(AD_F64), NULL, 1, V2, 2, &q);
    EXPECT(AD_ERR_NULL, ad_param_new_f64, pristine(AD_F64), D2, 1, NULL, 2, &q);
    EXPECT(AD_ERR_MISALIGNED, ad_param_new_f64, pristine(AD_F64), D2, 1, odd, 2, &q);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_new_f64, pristine(AD_F64), D2, 1, V2, 1, &q);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_new_f64, pristine(AD_F64), rank5, 5, V2, 1, &q);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_param_new_f64, pristine(AD_F64), huge, 4, V2, 1, &q);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_new_f64, pristine(AD_F32), D2, 1, V2, 2, &q);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_new_f64, fx.td, D2, 1, V2, 2, &q);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_new_f64, fx.ended, D2, 1, V2, 2, &q);
    EXPECT(AD_ERR_NULL, ad_param_new_f32, NULL, D2, 1, F2, 2, &q);
    EXPECT(AD_OK, ad_param_new_f32, pristine(AD_F32), D2, 1, F2, 2, &q);
    EXPECT(AD_OK, ad_param_new_f64, pristine(AD_F64), NULL, 0, V2, 1, &q);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_new_f64, fx.u, D2, 1, V2, 2, &q); /* after recording */
    EXPECT(AD_ERR_NULL, ad_param_new_f32, pristine(AD_F32), D2, 1, NULL, 2, &q);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_new_f32, pristine(AD_F32), D2, 1, F2, 3, &q);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_new_f32, pristine(AD_F64), D2, 1, F2, 2, &q);

    EXPECT_TENSOR(AD_OK, ad_param_use, fx.t, fx.p);
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_param_use, fx.t, fx.up);
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_param_use, fx.t, WITH_INDEX_PARAM(fx.p, 7));
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_param_use, fx.t, WITH_TAPE_PARAM(fx.p, 0xabcdu));
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_param_use, fx.td, fx.p);
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_param_use, fx.t, AS_PARAM(fx.a)); /* a tensor */
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_param_use, fx.t, AS_PARAM(fx.x)); /* a scalar */
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_param_use, sticky_t(), fx.p);
    EXPECT_TENSOR(NO_TAPE, ad_param_use, NULL, fx.p);
    EXPECT_TENSOR(NO_TAPE, ad_param_use, fx.ended, fx.p);

    EXPECT(AD_OK, ad_param_count, fx.t, &n);
    EXPECT(AD_ERR_NULL, ad_param_count, NULL, &n);
    EXPECT(AD_ERR_NULL, ad_param_count, fx.t, NULL);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_count, fx.td, &n);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_count, fx.ended, &n);

    EXPECT(AD_OK, ad_param_read_f64, fx.t, fx.p, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_read_f64, NULL, fx.p, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_read_f64, fx.t, fx.p, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_param_read_f64, fx.t, fx.p, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_read_f64, fx.t, fx.p, out, 3);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_read_f64, fx.t, fx.up, out, 2);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_read_f64, fx.t, WITH_INDEX_PARAM(fx.p, 99), out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_read_f64, fx.t32, fx.p32, out, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_read_f64, fx.ended, fx.p, out, 2);
    EXPECT(AD_OK, ad_param_read_f32, fx.t32, fx.p32, out32, 2);
    EXPECT(AD_ERR_NULL, ad_param_read_f32, fx.t32, fx.p32, NULL, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_read_f32, fx.t32, fx.p32, out32, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_read_f32, fx.t, fx.p, out32, 2);
    EXPECT(AD_ERR_NULL, ad_param_read_f32, NULL, fx.p32, out32, 2);
    EXPECT(AD_OK, ad_param_grad_f64, fx.t, fx.p, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_grad_f64, NULL, fx.p, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_grad_f64, fx.t, fx.p, NULL, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_grad_f64, fx.t, fx.p, out, 0);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_grad_f64, fx.t, fx.up, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_grad_f64, fx.td, fx.p, out, 2);
    EXPECT(AD_OK, ad_param_grad_f32, fx.t32, fx.p32, out32, 2);
    EXPECT(AD_ERR_NULL, ad_param_grad_f32, fx.t32, fx.p32, NULL, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_grad_f32, fx.t32, fx.p32, out32, 4);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_grad_f32, fx.t, fx.p, out32, 2);
    EXPECT(AD_ERR_NULL, ad_param_grad_f32, NULL, fx.p32, out32, 2);
    EXPECT(AD_OK, ad_param_write_f64, fx.t, fx.p, V2, 2);
    EXPECT(AD_ERR_NULL, ad_param_write_f64, NULL, fx.p, V2, 2);
    EXPECT(AD_ERR_NULL, ad_param_write_f64, fx.t, fx.p, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_param_write_f64, fx.t, fx.p, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_write_f64, fx.t, fx.p, V2, 1);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_write_f64, fx.t, fx.up, V2, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_write_f64, fx.t32, fx.p32, V2, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_write_f64, fx.ended, fx.p, V2, 2);
    EXPECT(AD_OK, ad_param_write_f32, fx.t32, fx.p32, F2, 2);
    EXPECT(AD_ERR_NULL, ad_param_write_f32, fx.t32, fx.p32, NULL, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_write_f32, fx.t32, fx.p32, F2, 3);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_write_f32, fx.t, fx.p, F2, 2);
    EXPECT(AD_ERR_NULL, ad_param_write_f32, NULL, fx.p32, F2, 2);
    /* The parameter is back at its start value for the rows after. */
    FIXTURE(ad_param_write_f64(fx.t, fx.p, V2, 2) == AD_OK);
    FIXTURE(ad_param_write_f32(fx.t32, fx.p32, F2, 2) == AD_OK);

    /* Optimizers: bad settings, no parameters, one already set, a dual tape. */
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_sgd, fx.t, 0.1, 0.0, 0.0);   /* set already */
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_sgd, fx.t32, 0.1, 0.0, 0.0); /* recorded since reset */
    EXPECT(AD_ERR_NULL, ad_optim_sgd, NULL, 0.1, 0.0, 0.0);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_sgd, fx.td, 0.1, 0.0, 0.0);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_sgd, fx.ended, 0.1, 0.0, 0.0);
    EXPECT(AD_ERR_NULL, ad_optim_adam, NULL, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_adam, fx.td, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_adam, fx.t, 1e-3, 0.9, 0.999, 1e-8, 0.0, 1);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_adam, fx.ended, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0);
    {
        static unsigned char mem[1 << 13];
        ad_tape *t = NULL;
        static const double bad_sgd[][3] = {{NAN, 0, 0}, {-1, 0, 0}, {0.1, 1.0, 0},  {0.1, -0.5, 0},
                                            {0.1, 0, -1}, {INFINITY, 0, 0}, {0.1, NAN, 0}, {0.1, 0, INFINITY}};
        static const double bad_adam[][5] = {{NAN, 0.9, 0.999, 1e-8, 0}, {1e-3, 1.0, 0.999, 1e-8, 0},
                                             {1e-3, 0.9, 1.0, 1e-8, 0},  {1e-3, 0.9, 0.999, 0.0, 0},
                                             {1e-3, 0.9, 0.999, -1, 0},  {1e-3, 0.9, 0.999, 1e-8, -1},
                                             {1e-3, -0.1, 0.999, 1e-8, 0}, {1e-3, 0.9, 0.999, INFINITY, 0}};
        FIXTURE(ad_tape_init(mem, sizeof mem, AD_F64, &t) == AD_OK);
        /* No parameters yet. */
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_sgd, t, 0.1, 0.0, 0.0);
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_adam, t, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0);
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_step, t);
        FIXTURE(ad_tape_reset(t) == AD_OK);
        FIXTURE(ad_param_new_f64(t, D2, 1, V2, 2, &q) == AD_OK);
        for (size_t i = 0; i < COUNT(bad_sgd); i++)
            EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_sgd, t, bad_sgd[i][0], bad_sgd[i][1], bad_sgd[i][2]);
        for (size_t i = 0; i < COUNT(bad_adam); i++)
            EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_adam, t, bad_adam[i][0], bad_adam[i][1],
                        bad_adam[i][2], bad_adam[i][3], bad_adam[i][4], 1);
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_optim_step, t);
        FIXTURE(ad_tape_reset(t) == AD_OK);
        EXPECT_HERE(AD_OK, ad_optim_adam, t, 1e-3, 0.9, 0.999, 1e-8, 0.0, INT_MIN);
        EXPECT_HERE(AD_OK, ad_optim_step, t);
        FIXTURE(ad_tape_done(t) == AD_OK);
    }
    EXPECT(AD_OK, ad_optim_step, fx.t);
    EXPECT(AD_ERR_NULL, ad_optim_step, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_step, fx.t32);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_step, fx.td);
    EXPECT(AD_ERR_STALE_HANDLE, ad_optim_step, sticky_t());
    EXPECT(AD_ERR_STALE_HANDLE, ad_optim_sgd, sticky_t(), 0.1, 0.0, 0.0);
    EXPECT(AD_OK, ad_param_read_f64, sticky_t(), fx.p, out, 2);
    EXPECT(AD_OK, ad_param_count, sticky_t(), &n);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_step, fx.ended);
    FIXTURE(ad_param_write_f64(fx.t, fx.p, V2, 2) == AD_OK);
}

/* ---- parameter groups, the optimizer's saved state, backward with notifications ---- */

static int ready_calls;
static ad_status ready_refused = AD_OK;

static void count_ready(ad_tape *t, ad_param_group g, void *user_data) {
    double *zeros = user_data;
    double *data = NULL;
    size_t len = 0;
    ready_calls++;
    EXPECT_HERE(AD_OK, ad_param_group_grads_f64, t, g, &data, &len);
    EXPECT_HERE(AD_ERR_REENTRANT, ad_param_group_write_grads_f64, t, g, zeros, len);
    EXPECT_HERE(AD_ERR_REENTRANT, ad_tape_reset, t); /* the sweep still uses its memory */
    EXPECT_HERE(AD_ERR_REENTRANT, ad_tape_done, t);
    ready_refused = AD_ERR_REENTRANT;
}

static void ignore_ready(ad_tape *t, ad_param_group g, void *user_data) {
    (void)t;
    (void)g;
    (void)user_data;
    ready_calls++;
}

static void rows_param_groups(void) {
    ad_param q[2];
    ad_param_group h;
    ad_param_group posing;
    double out[4], *data = NULL, zeros[2] = {0, 0};
    float out32[4], *data32 = NULL;
    size_t len = 0;
    static unsigned char state[256];
    double *odd = (double *)(void *)(mem_ended + 4);
    ad_param *odd_params = (ad_param *)(void *)(mem_ended + 2);
    memcpy(&posing, &fx.p, sizeof posing); /* a parameter's bytes as a group */

    /* Making groups: on a pristine tape, each parameter in one group only. */
    {
        ad_tape *t = pristine(AD_F64);
        FIXTURE(ad_param_new_f64(t, D2, 1, V2, 2, &q[0]) == AD_OK);
        FIXTURE(ad_param_new_f64(t, D2, 1, V2, 2, &q[1]) == AD_OK);
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_param_group_new, t, q, 0, &h);
        EXPECT_HERE(AD_ERR_NULL, ad_param_group_new, t, NULL, 1, &h);
        EXPECT_HERE(AD_ERR_NULL, ad_param_group_new, t, q, 1, NULL);
        EXPECT_HERE(AD_ERR_MISALIGNED, ad_param_group_new, t, odd_params, 1, &h);
        EXPECT_HERE(AD_ERR_FOREIGN_HANDLE, ad_param_group_new, t, &fx.up, 1, &h);
        EXPECT_HERE(AD_OK, ad_param_group_new, t, q, 1, &h);
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_param_group_new, t, q, 2, &h); /* q[0] again */
        EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_param_group_all, t, &h);
        EXPECT_HERE(AD_OK, ad_param_group_new, t, q + 1, 1, &h);
        EXPECT_HERE(AD_OK, ad_param_group_len, t, h, &len);
        CHECK(len == 2);
        FIXTURE(ad_tape_done(t) == AD_OK);
    }
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_all, pristine(AD_F64), &h); /* no parameters */
    EXPECT(AD_ERR_NULL, ad_param_group_all, NULL, &h);
    EXPECT(AD_ERR_NULL, ad_param_group_all, pristine(AD_F64), NULL);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_all, fx.td, &h);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_all, fx.ended, &h);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_new, fx.t, &fx.p, 1, &h); /* after recording */
    EXPECT(AD_ERR_NULL, ad_param_group_new, NULL, &fx.p, 1, &h);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_new, fx.td, &fx.p, 1, &h);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_new, fx.ended, &fx.p, 1, &h);

    EXPECT(AD_OK, ad_param_group_len, fx.t, fx.g, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_len, NULL, fx.g, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_len, fx.t, fx.g, NULL);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_group_len, fx.t, fx.ug, &len);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_param_group_len, fx.t, posing, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_len, fx.td, fx.g, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_len, fx.ended, fx.g, &len);

    EXPECT(AD_OK, ad_param_group_grads_f64, fx.t, fx.g, &data, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_grads_f64, NULL, fx.g, &data, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_grads_f64, fx.t, fx.g, NULL, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_grads_f64, fx.t, fx.g, &data, NULL);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_group_grads_f64, fx.t, fx.ug, &data, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_grads_f64, fx.t32, fx.g32, &data, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_grads_f64, fx.ended, fx.g, &data, &len);
    EXPECT(AD_OK, ad_param_group_grads_f32, fx.t32, fx.g32, &data32, &len);
    EXPECT(AD_ERR_NULL, ad_param_group_grads_f32, fx.t32, fx.g32, NULL, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_grads_f32, fx.t, fx.g, &data32, &len);

    EXPECT(AD_OK, ad_param_group_read_grads_f64, fx.t, fx.g, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_read_grads_f64, NULL, fx.g, out, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_read_grads_f64, fx.t, fx.g, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_param_group_read_grads_f64, fx.t, fx.g, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_read_grads_f64, fx.t, fx.g, out, 3);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_group_read_grads_f64, fx.t, fx.ug, out, 2);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_param_group_read_grads_f64, fx.t, posing, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_read_grads_f64, fx.t32, fx.g32, out, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_read_grads_f64, fx.ended, fx.g, out, 2);
    EXPECT(AD_OK, ad_param_group_read_grads_f32, fx.t32, fx.g32, out32, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_read_grads_f32, fx.t32, fx.g32, out32, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_read_grads_f32, fx.t, fx.g, out32, 2);

    EXPECT(AD_OK, ad_param_group_write_grads_f64, fx.t, fx.g, V2, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_write_grads_f64, NULL, fx.g, V2, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_write_grads_f64, fx.t, fx.g, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_param_group_write_grads_f64, fx.t, fx.g, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_write_grads_f64, fx.t, fx.g, V2, 1);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_group_write_grads_f64, fx.t, fx.ug, V2, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_write_grads_f64, fx.t32, fx.g32, V2, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_write_grads_f64, fx.ended, fx.g, V2, 2);
    EXPECT(AD_OK, ad_param_group_write_grads_f32, fx.t32, fx.g32, F2, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_write_grads_f32, fx.t32, fx.g32, F2, 3);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_write_grads_f32, fx.t, fx.g, F2, 2);

    EXPECT(AD_OK, ad_param_group_read_values_f64, fx.t, fx.g, out, 2);
    CHECK(out[0] == V2[0] && out[1] == V2[1]);
    EXPECT(AD_ERR_NULL, ad_param_group_read_values_f64, fx.t, fx.g, NULL, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_read_values_f64, fx.t, fx.g, out, 0);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_group_read_values_f64, fx.t, fx.ug, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_read_values_f64, fx.td, fx.g, out, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_read_values_f64, fx.ended, fx.g, out, 2);
    EXPECT(AD_OK, ad_param_group_read_values_f32, fx.t32, fx.g32, out32, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_read_values_f32, NULL, fx.g32, out32, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_read_values_f32, fx.t, fx.g, out32, 2);

    EXPECT(AD_OK, ad_param_group_write_values_f64, fx.t, fx.g, V2, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_write_values_f64, fx.t, fx.g, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_param_group_write_values_f64, fx.t, fx.g, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_group_write_values_f64, fx.t, fx.g, V2, 3);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_param_group_write_values_f64, fx.t, posing, V2, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_group_write_values_f64, fx.ended, fx.g, V2, 2);
    EXPECT(AD_OK, ad_param_group_write_values_f32, fx.t32, fx.g32, F2, 2);
    EXPECT(AD_ERR_NULL, ad_param_group_write_values_f32, NULL, fx.g32, F2, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_group_write_values_f32, fx.t, fx.g, F2, 2);

    /* The optimizer's state: sizes, a buffer too small, states that do not fit. */
    EXPECT(AD_OK, ad_optim_state_bytes, fx.t, &len);
    CHECK(len > 0 && len <= sizeof state);
    EXPECT(AD_ERR_NULL, ad_optim_state_bytes, NULL, &len);
    EXPECT(AD_ERR_NULL, ad_optim_state_bytes, fx.t, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_state_bytes, fx.t32, &len); /* no optimizer */
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_state_bytes, fx.td, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_state_bytes, fx.ended, &len);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_optim_state_save, fx.t, state, 4, &len);
    CHECK(len > 4);
    EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_optim_state_save, fx.t, NULL, 0, &len);
    EXPECT(AD_ERR_NULL, ad_optim_state_save, fx.t, NULL, 8, &len);
    EXPECT(AD_ERR_NULL, ad_optim_state_save, fx.t, state, sizeof state, NULL);
    EXPECT(AD_ERR_NULL, ad_optim_state_save, NULL, state, sizeof state, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_state_save, fx.t32, state, sizeof state, &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_state_save, fx.td, state, sizeof state, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_state_save, fx.ended, state, sizeof state, &len);
    EXPECT(AD_OK, ad_optim_state_save, fx.t, state, sizeof state, &len);
    EXPECT(AD_OK, ad_optim_state_load, fx.t, state, len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_state_load, fx.t, state, len - 1);
    EXPECT(AD_ERR_STATE_MISMATCH, ad_optim_state_load, fx.t, V6, sizeof V6);
    EXPECT(AD_ERR_STATE_MISMATCH, ad_optim_state_load, fx.t, state, 8);
    EXPECT(AD_ERR_NULL, ad_optim_state_load, fx.t, NULL, len);
    EXPECT(AD_ERR_NULL, ad_optim_state_load, NULL, state, len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_optim_state_load, fx.t32, state, len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_optim_state_load, fx.td, state, len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_optim_state_load, fx.ended, state, len);

    /* Backward with notifications: the group is announced once; inside, writes are
     * refused, and the backward reports it. */
    ready_calls = 0;
    EXPECT(AD_OK, ad_backward_notify, fx.t, ad_tensor_as_var(fx.t, ad_tensor_sum(fx.t, fx.pu)),
           ignore_ready, NULL);
    CHECK(ready_calls == 1);
    ready_calls = 0;
    EXPECT(AD_ERR_REENTRANT, ad_backward_notify, fx.t,
           ad_tensor_as_var(fx.t, ad_tensor_sum(fx.t, fx.pu)), count_ready, zeros);
    CHECK(ready_calls == 1 && ready_refused == AD_ERR_REENTRANT);
    EXPECT(AD_ERR_NULL, ad_backward_notify, fx.t, fx.f, NULL, NULL);
    EXPECT(AD_ERR_NULL, ad_backward_notify, NULL, fx.f, ignore_ready, NULL);
    EXPECT(AD_ERR_STALE_HANDLE, ad_backward_notify, fx.t, fx.stale, ignore_ready, NULL);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_backward_notify, fx.t, fx.fu, ignore_ready, NULL);
    EXPECT(AD_ERR_NON_FINITE, ad_backward_notify, fx.t, fx.nan, ignore_ready, NULL);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_backward_notify, fx.td, fx.fd, ignore_ready, NULL);
    EXPECT(AD_ERR_INVALID_TAPE, ad_backward_notify, fx.ended, fx.f, ignore_ready, NULL);
    EXPECT(AD_OK, ad_backward_notify, fx.t, fx.f, ignore_ready, NULL);
    FIXTURE(ad_param_write_f64(fx.t, fx.p, V2, 2) == AD_OK);
    FIXTURE(ad_param_write_f32(fx.t32, fx.p32, F2, 2) == AD_OK);
    (void)data;
    (void)data32;
}

/* ---- checkpoints ---- */

typedef enum { B_SIN, B_UNSET, B_STATUS, B_HAND_BACK, B_SCALE, B_MISUSE } block_kind;

/* ad_tensor_buffer / ad_param_buffer: the address of a buffer in the tape's memory, and
 * what a copying read of the same buffer gives. */
static void rows_buffers(void) {
    const void *data = NULL;
    size_t len = 0;
    double copy[6];
    const void **odd_data = (const void **)(void *)(mem_ended + 1);
    size_t *odd_len = (size_t *)(void *)(mem_ended + 1);

    EXPECT(AD_OK, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_VALUE, &data, &len);
    CHECK(len == 6 && ad_tensor_value_f64(fx.t, fx.a, copy, 6) == AD_OK &&
          memcmp(data, copy, sizeof copy) == 0);
    EXPECT(AD_OK, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_GRAD, &data, &len);
    EXPECT(AD_OK, ad_tensor_buffer, fx.t, fx.c, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_OK, ad_tensor_buffer, fx.t32, fx.a32, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_buffer, fx.t, fx.c, AD_BUFFER_GRAD, &data, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_buffer, fx.t, fx.s, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_tensor_buffer, fx.t, fx.a, (ad_buffer)7, &data, &len);
    EXPECT(AD_ERR_NULL, ad_tensor_buffer, NULL, fx.a, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_NULL, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_VALUE, NULL, &len);
    EXPECT(AD_ERR_NULL, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_VALUE, &data, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_VALUE, odd_data, &len);
    EXPECT(AD_ERR_MISALIGNED, ad_tensor_buffer, fx.t, fx.a, AD_BUFFER_VALUE, &data, odd_len);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_buffer, fx.t, fx.stale_a, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tensor_buffer, fx.t, fx.au, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_buffer, fx.t, AS_TENSOR(fx.x), AD_BUFFER_VALUE, &data,
           &len);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_buffer, fx.td, AS_TENSOR(fx.xd), AD_BUFFER_VALUE, &data,
           &len);
    EXPECT(AD_ERR_UNSUPPORTED_ON_DEVICE, ad_tensor_buffer, fx.tdev, fx.da, AD_BUFFER_VALUE, &data,
           &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_buffer, fx.ended, fx.a, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_OK, ad_tensor_buffer, sticky_t(), fx.a, AD_BUFFER_VALUE, &data, &len);

    EXPECT(AD_OK, ad_param_buffer, fx.t, fx.p, AD_BUFFER_VALUE, &data, &len);
    CHECK(len == 2 && ad_param_read_f64(fx.t, fx.p, copy, 2) == AD_OK &&
          memcmp(data, copy, 2 * sizeof(double)) == 0);
    EXPECT(AD_OK, ad_param_buffer, fx.t, fx.p, AD_BUFFER_GRAD, &data, &len);
    EXPECT(AD_OK, ad_param_buffer, fx.t32, fx.p32, AD_BUFFER_GRAD, &data, &len);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_param_buffer, fx.t, fx.p, (ad_buffer)-1, &data, &len);
    EXPECT(AD_ERR_NULL, ad_param_buffer, NULL, fx.p, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_NULL, ad_param_buffer, fx.t, fx.p, AD_BUFFER_VALUE, NULL, &len);
    EXPECT(AD_ERR_MISALIGNED, ad_param_buffer, fx.t, fx.p, AD_BUFFER_VALUE, &data, odd_len);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_buffer, fx.t, fx.up, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_param_buffer, fx.t, AS_PARAM(fx.a), AD_BUFFER_VALUE, &data,
           &len); /* a tensor */
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_param_buffer, fx.td, fx.p, AD_BUFFER_VALUE, &data, &len);
    EXPECT(AD_ERR_INVALID_TAPE, ad_param_buffer, fx.ended, fx.p, AD_BUFFER_VALUE, &data, &len);
}

static ad_status scalar_block(ad_tape *t, const ad_var *in, size_t n_in, ad_var *out, size_t n_out,
                              void *user_data) {
    block_kind kind = *(const block_kind *)user_data;
    (void)n_in;
    if (kind == B_STATUS) return AD_ERR_NON_FINITE;
    if (kind == B_MISUSE) {
        /* Inside a block its tape is lent: reset and end are refused (and fail the tape). */
        EXPECT_HERE(AD_ERR_REENTRANT, ad_tape_reset, t);
        EXPECT_HERE(AD_ERR_REENTRANT, ad_tape_done, t);
        /* ...and so is a sweep of the tape the block runs on. */
        EXPECT_HERE(AD_ERR_REENTRANT, ad_backward, t, in[0]);
        EXPECT_HERE(AD_ERR_REENTRANT, ad_replay, t, NULL, 0);
        ad_tape_free(t); /* refused likewise */
    }
    if (kind != B_UNSET)
        for (size_t i = 0; i < n_out; i++) out[i] = ad_sin(t, in[0]);
    return ad_tape_status(t);
}

static ad_status tensor_block(ad_tape *t, const ad_tensor *in, size_t n_in, ad_tensor *out,
                              size_t n_out, void *user_data) {
    block_kind kind = *(const block_kind *)user_data;
    (void)n_in;
    if (kind == B_STATUS) return AD_ERR_BACKEND;
    for (size_t i = 0; i < n_out && kind != B_UNSET; i++)
        out[i] = kind == B_HAND_BACK ? in[0] : ad_tensor_scale(t, in[0], 2.0);
    return ad_tape_status(t);
}

static void rows_checkpoints(void) {
    block_kind sin_block = B_SIN, unset = B_UNSET, status = B_STATUS, hand_back = B_HAND_BACK,
               scale = B_SCALE, misuse = B_MISUSE;
    ad_var in[2], out[2];
    ad_tensor tin[2], tout[2];

#define VARS2(a, b) (in[0] = (a), in[1] = (b), in)
#define TENSORS1(a) (tin[0] = (a), tin)
    EXPECT(AD_OK, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_OK, ad_checkpoint, fx.t32, scalar_block, &sin_block, VARS2(fx.x32, fx.x32), 2, out, 2);
    EXPECT(AD_OK, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.y), 1, out, 0);
    EXPECT(AD_ERR_NULL, ad_checkpoint, NULL, scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint, fx.t, NULL, &sin_block, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint, fx.t, scalar_block, &sin_block, NULL, 2, out, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, NULL, 1);
    EXPECT(AD_ERR_MISALIGNED, ad_checkpoint, fx.t, scalar_block, &sin_block,
           (const ad_var *)(void *)(mem_ended + 2), 1, out, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, in, 1);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.y), SIZE_MAX, out, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.x, fx.stale), 2, out, 1);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_checkpoint, fx.t, scalar_block, &sin_block, VARS2(fx.fu, fx.y), 2, out, 1);
    EXPECT_ONE_OF(HANDLE_ERRORS, ad_checkpoint, fx.t, scalar_block, &sin_block,
                  VARS2(fx.x, WITH_INDEX_VAR(fx.x, 555)), 2, out, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_checkpoint, fx.t, scalar_block, &unset, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_NON_FINITE, ad_checkpoint, fx.t, scalar_block, &status, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_REENTRANT, ad_checkpoint, fx.t, scalar_block, &misuse, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_checkpoint, fx.td, scalar_block, &sin_block, VARS2(fx.xd, fx.xd), 2, out, 1);
    EXPECT(AD_ERR_INVALID_TAPE, ad_checkpoint, fx.ended, scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, out, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_checkpoint, sticky_t(), scalar_block, &sin_block, VARS2(fx.x, fx.y), 2, out, 1);
    /* A failed checkpoint is sticky: the tape reports it, and reset clears it. */
    fresh();
    (void)ad_checkpoint(fx.t, scalar_block, &unset, VARS2(fx.x, fx.y), 2, out, 1);
    CHECK(ad_tape_status(fx.t) == AD_ERR_INVALID_ARGUMENT && !ad_var_is_valid(out[0]));

    EXPECT(AD_OK, ad_checkpoint_tensors, fx.t, tensor_block, &scale, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint_tensors, NULL, tensor_block, &scale, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint_tensors, fx.t, NULL, &scale, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint_tensors, fx.t, tensor_block, &scale, NULL, 1, tout, 1);
    EXPECT(AD_ERR_NULL, ad_checkpoint_tensors, fx.t, tensor_block, &scale, TENSORS1(fx.a), 1, NULL, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_checkpoint_tensors, sticky_t(), tensor_block, &scale,
           TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_checkpoint_tensors, fx.t, tensor_block, &scale, TENSORS1(fx.a), 1, tin, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_checkpoint_tensors, fx.t, tensor_block, &scale, TENSORS1(fx.stale_a), 1, tout, 1);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_checkpoint_tensors, fx.t, tensor_block, &scale, TENSORS1(fx.au), 1, tout, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_checkpoint_tensors, fx.t, tensor_block, &unset, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_BACKEND, ad_checkpoint_tensors, fx.t, tensor_block, &status, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_checkpoint_tensors, fx.t, tensor_block, &scale,
           TENSORS1(AS_TENSOR(fx.x)), 1, tout, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_checkpoint_tensors, fx.td, tensor_block, &scale, TENSORS1(fx.a), 1, tout, 1);
    EXPECT(AD_ERR_INVALID_TAPE, ad_checkpoint_tensors, fx.ended, tensor_block, &scale, TENSORS1(fx.a), 1, tout, 1);
    /* Device tensors: a block that records device ops, or hands a device input back. */
    EXPECT(AD_ERR_UNSUPPORTED_ON_DEVICE, ad_checkpoint_tensors, fx.tdev, tensor_block, &scale,
           TENSORS1(fx.da), 1, tout, 1);
    EXPECT(AD_ERR_UNSUPPORTED_ON_DEVICE, ad_checkpoint_tensors, fx.tdev, tensor_block, &hand_back,
           TENSORS1(fx.da), 1, tout, 1);
    EXPECT(AD_OK, ad_checkpoint_tensors, fx.tdev, tensor_block, &scale, TENSORS1(fx.dh), 1, tout, 1);
#undef VARS2
#undef TENSORS1
}

/* ---- chains ---- */

static ad_status chain_step(ad_tape *t, size_t k, const ad_var *state, const ad_var *params,
                            ad_var *next, void *user_data) {
    (void)k;
    (void)user_data;
    next[0] = ad_mul(t, ad_sin(t, state[0]), params[0]);
    return ad_tape_status(t);
}

static ad_var chain_loss(ad_tape *t, const ad_var *state, const ad_var *params, void *user_data) {
    (void)params;
    (void)user_data;
    return ad_mul(t, state[0], state[0]);
}

static ad_status chain_eval(size_t k, const double *state, const double *params, double *next,
                            void *user_data) {
    (void)k;
    (void)user_data;
    next[0] = sin(state[0]) * params[0];
    return AD_OK;
}

static int chain_done(size_t k, const double *state, size_t d, void *user_data) {
    (void)state;
    (void)d;
    (void)user_data;
    return k >= 5;
}

static ad_status misuse_step(ad_tape *t, size_t k, const ad_var *state, const ad_var *params,
                             ad_var *next, void *user_data) {
    (void)user_data;
    if (k == 0) EXPECT_HERE(AD_ERR_REENTRANT, ad_tape_reset, t);
    return chain_step(t, k, state, params, next, NULL);
}

static ad_status no_state_step(ad_tape *t, size_t k, const ad_var *state, const ad_var *params,
                               ad_var *next, void *user_data) {
    (void)t, (void)k, (void)state, (void)params, (void)next, (void)user_data;
    return AD_OK;
}

static ad_var params_loss(ad_tape *t, const ad_var *state, const ad_var *params, void *user_data) {
    (void)state;
    (void)user_data;
    return ad_mul(t, params[0], params[0]);
}

static void rows_chains(void) {
    static double mem[1 << 11];
    double x0[1] = {0.5}, th[1] = {1.1}, gx[1], gp[1], nan_x0[1] = {NAN};
    double *odd = (double *)(void *)(mem_ended + 4);
    ad_chain_report report;
    size_t bytes = 0;

    EXPECT(AD_OK, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, gx, gp, &report);
    EXPECT(AD_OK, ad_chain_gradient, mem, sizeof mem, AD_F32, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, NULL, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, NULL, 1, th, 1, chain_step,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, NULL, 1, chain_step,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, NULL,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           NULL, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, NULL, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, gx, NULL, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, odd, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, (ad_chain_report *)(void *)(mem_ended + 1));
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient, mem, sizeof mem, (ad_dtype)0, 10, 2, x0, 1, th,
           1, chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_chain_gradient, mem, sizeof mem, AD_F64_DUAL, 10, 2, x0, 1, th,
           1, chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 0, x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 65, x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, 1, x0, 1,
           chain_step, chain_loss, NULL, x0, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, (double *)mem, 1,
           th, 1, chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_chain_gradient, mem, 0, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_chain_gradient, (unsigned char *)mem + 1, 100, AD_F32, 10, 2, x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_chain_gradient, mem, SIZE_MAX, AD_F64, 10, 2, x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, x0, SIZE_MAX, th,
           1, chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NON_FINITE, ad_chain_gradient, mem, sizeof mem, AD_F64, 10, 2, nan_x0, 1, th, 1,
           chain_step, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_REENTRANT, ad_chain_gradient, mem, sizeof mem, AD_F64, 3, 2, x0, 1, th, 1,
           misuse_step, chain_loss, NULL, gx, gp, NULL);

    EXPECT(AD_OK, ad_chain_gradient_eval, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           chain_eval, chain_loss, NULL, gx, gp, &report);
    EXPECT(AD_OK, ad_chain_gradient_eval, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, chain_step,
           NULL, chain_loss, NULL, gx, gp, &report);
    EXPECT(AD_ERR_NULL, ad_chain_gradient_eval, mem, sizeof mem, AD_F64, 10, 2, x0, 1, th, 1, NULL,
           chain_eval, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient_eval, mem, sizeof mem, (ad_dtype)99, 10, 2, x0,
           1, th, 1, chain_step, chain_eval, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_chain_gradient_eval, mem, 64, AD_F64, 10, 2, x0, 1, th, 1,
           chain_step, chain_eval, chain_loss, NULL, gx, gp, NULL);

    EXPECT(AD_OK, ad_chain_gradient_online, mem, sizeof mem, AD_F64, 2, x0, 1, th, 1, chain_step,
           chain_done, chain_loss, NULL, gx, gp, &report);
    EXPECT(AD_ERR_NULL, ad_chain_gradient_online, mem, sizeof mem, AD_F64, 2, x0, 1, th, 1, chain_step,
           NULL, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_NULL, ad_chain_gradient_online, NULL, sizeof mem, AD_F64, 2, x0, 1, th, 1,
           chain_step, chain_done, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient_online, mem, sizeof mem, AD_F64, 0, x0, 1, th, 1,
           chain_step, chain_done, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_gradient_online, mem, sizeof mem, (ad_dtype)-3, 2, x0, 1,
           th, 1, chain_step, chain_done, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_chain_gradient_online, mem, sizeof mem, AD_F64_DUAL, 2, x0, 1, th,
           1, chain_step, chain_done, chain_loss, NULL, gx, gp, NULL);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_chain_gradient_online, mem, 32, AD_F64, 2, x0, 1, th, 1,
           chain_step, chain_done, chain_loss, NULL, gx, gp, NULL);

    /* No state at all (d = 0, x0 NULL), or no parameters (p = 0, params NULL). */
    EXPECT(AD_OK, ad_chain_gradient, mem, sizeof mem, AD_F64, 4, 2, NULL, 0, th, 1, no_state_step,
           params_loss, NULL, NULL, gp, NULL);
    EXPECT(AD_OK, ad_chain_gradient, mem, sizeof mem, AD_F64, 0, 0, x0, 1, NULL, 0, chain_step,
           chain_loss, NULL, gx, NULL, NULL);

    EXPECT(AD_OK, ad_chain_workspace_bytes, AD_F64, 1, 1, 2, &bytes);
    EXPECT(AD_ERR_NULL, ad_chain_workspace_bytes, AD_F64, 1, 1, 2, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_chain_workspace_bytes, (ad_dtype)0, 1, 1, 2, &bytes);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_chain_workspace_bytes, AD_F64_DUAL, 1, 1, 2, &bytes);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_chain_workspace_bytes, AD_F64, SIZE_MAX, 1, 2, &bytes);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_chain_workspace_bytes, AD_F32, 1, SIZE_MAX / 2, 2, &bytes);
}

/* ---- devices ---- */

static void rows_devices(void) {
    static double dev_mem[256];
    static float dev_mem32[256];
    static unsigned char fresh_mem[1 << 14];
    ad_device *d = NULL, *d32 = NULL;
    ad_tape *t = NULL;
    int id = -1;

    EXPECT(AD_ERR_NO_DEVICE, ad_device_open_cuda, 0, 1 << 20, &d);
    EXPECT(AD_ERR_NO_DEVICE, ad_device_open_cuda, SIZE_MAX, 0, NULL);
    EXPECT(AD_ERR_NULL, ad_device_open_cpu, NULL, sizeof dev_mem, AD_F64, &d);
    EXPECT(AD_ERR_NULL, ad_device_open_cpu, dev_mem, sizeof dev_mem, AD_F64, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_device_open_cpu, (unsigned char *)dev_mem + 4, 64, AD_F64, &d);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_device_open_cpu, dev_mem, sizeof dev_mem, AD_F64_DUAL, &d);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_device_open_cpu, dev_mem, sizeof dev_mem, (ad_dtype)0, &d);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_device_open_cpu, dev_mem, sizeof dev_mem, (ad_dtype)12, &d);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_device_open_cpu, dev_mem, SIZE_MAX, AD_F64, &d);
    CHECK(d == NULL);
    /* No memory at all: it opens, and has room for nothing. */
    EXPECT(AD_OK, ad_device_open_cpu, NULL, 0, AD_F32, &d);
    EXPECT_HERE(AD_OK, ad_device_close, d);
    d = NULL;
    EXPECT(AD_ERR_NULL, ad_device_close, NULL);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_device_close, fx.dev); /* fx.tdev holds it */

    EXPECT(AD_OK, ad_device_open_cpu, dev_mem, sizeof dev_mem, AD_F64, &d);
    EXPECT(AD_OK, ad_device_open_cpu, dev_mem32, sizeof dev_mem32, AD_F32, &d32);
    FIXTURE(ad_tape_init(fresh_mem, sizeof fresh_mem, AD_F64, &t) == AD_OK);
    EXPECT_HERE(AD_ERR_NULL, ad_tape_attach_device, NULL, d, &id);
    EXPECT_HERE(AD_ERR_NULL, ad_tape_attach_device, t, NULL, &id);
    EXPECT_HERE(AD_ERR_NULL, ad_tape_attach_device, t, d, NULL);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_tape_attach_device, t, d, (int *)(void *)(mem_ended + 1));
    EXPECT_HERE(AD_ERR_DTYPE_MISMATCH, ad_tape_attach_device, t, d32, &id);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_tape_attach_device, t, fx.dev, &id); /* serves fx.tdev */
    EXPECT_HERE(AD_ERR_INVALID_TAPE, ad_tape_attach_device, fx.ended, d, &id);
    FIXTURE(ad_tape_reset(t) == AD_OK);
    (void)ad_input(t, 1.0);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_tape_attach_device, t, d, &id); /* after recording */
    FIXTURE(ad_tape_reset(t) == AD_OK);
    EXPECT_HERE(AD_OK, ad_tape_attach_device, t, d, &id);
    CHECK(id == 1);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_tape_attach_device, t, d, &id); /* twice */
    FIXTURE(ad_tape_reset(t) == AD_OK);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_device_close, d);
    FIXTURE(ad_tape_done(t) == AD_OK);
    EXPECT_HERE(AD_ERR_DTYPE_MISMATCH, ad_tape_attach_device, fx.td, d, &id);
    EXPECT_HERE(AD_OK, ad_device_close, d);
    EXPECT_HERE(AD_OK, ad_device_close, d32);

    EXPECT(AD_OK, ad_tape_set_device, fx.tdev, 0);
    EXPECT(AD_ERR_UNKNOWN_DEVICE, ad_tape_set_device, fx.tdev, 2);
    EXPECT(AD_ERR_UNKNOWN_DEVICE, ad_tape_set_device, fx.tdev, -1);
    EXPECT(AD_ERR_UNKNOWN_DEVICE, ad_tape_set_device, fx.tdev, 256);
    EXPECT(AD_ERR_UNKNOWN_DEVICE, ad_tape_set_device, fx.tdev, INT_MAX);
    EXPECT(AD_ERR_UNKNOWN_DEVICE, ad_tape_set_device, fx.t, 1);
    EXPECT(AD_ERR_NULL, ad_tape_set_device, NULL, 0);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tape_set_device, fx.td, 0);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_set_device, fx.ended, 0);

    EXPECT_TENSOR(AD_OK, ad_tensor_to_device, fx.tdev, fx.dh, 1);
    EXPECT_TENSOR(AD_OK, ad_tensor_to_device, fx.tdev, fx.da, 1);
    EXPECT_TENSOR(AD_ERR_UNKNOWN_DEVICE, ad_tensor_to_device, fx.tdev, fx.dh, 2);
    EXPECT_TENSOR(AD_ERR_UNKNOWN_DEVICE, ad_tensor_to_device, fx.tdev, fx.dh, -7);
    EXPECT_TENSOR(AD_ERR_UNKNOWN_DEVICE, ad_tensor_to_device, fx.t, fx.a, 1);
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_tensor_to_device, fx.t, fx.stale_a, 0);
    EXPECT_TENSOR(AD_ERR_FOREIGN_HANDLE, ad_tensor_to_device, fx.tdev, fx.a, 1);
    EXPECT_TENSOR(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_to_device, fx.tdev, AS_TENSOR(fx.sdev), 1);
    EXPECT_TENSOR(AD_ERR_DTYPE_MISMATCH, ad_tensor_to_device, fx.td, fx.a, 1);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_to_device, NULL, fx.a, 1);
    EXPECT_TENSOR(AD_OK, ad_tensor_to_host, fx.tdev, fx.da);
    EXPECT_TENSOR(AD_OK, ad_tensor_to_host, fx.tdev, fx.dh);
    EXPECT_TENSOR(AD_ERR_STALE_HANDLE, ad_tensor_to_host, fx.t, fx.stale_a);
    EXPECT_TENSOR(NO_TAPE, ad_tensor_to_host, NULL, fx.da);

    EXPECT(AD_OK, ad_tensor_device, fx.tdev, fx.da, &id);
    EXPECT(AD_ERR_NULL, ad_tensor_device, NULL, fx.da, &id);
    EXPECT(AD_ERR_NULL, ad_tensor_device, fx.tdev, fx.da, NULL);
    EXPECT(AD_ERR_STALE_HANDLE, ad_tensor_device, fx.t, fx.stale_a, &id);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_tensor_device, fx.t, fx.au, &id);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_tensor_device, fx.t, AS_TENSOR(fx.x), &id);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_tensor_device, fx.td, fx.a, &id);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tensor_device, fx.ended, fx.a, &id);
}

/* ---- GPU queries: no GPU here (or a library without the cuda feature) ---- */

static void rows_gpu_queries(void) {
    size_t n = 7, free_bytes = 0, total = 0, len = 0;
    char name[4];
    int have = ad_device_available();
    CHECK(have == 0 || have == 1);
    CALLED(ad_device_available);
    if (have) {
        printf("header_sweep: a GPU is present: the no-device rows are skipped\n");
        EXPECT(AD_ERR_NULL, ad_device_count, NULL);
        EXPECT(AD_ERR_BUFFER_TOO_SMALL, ad_device_name, 0, name, 1, &len);
        EXPECT(AD_ERR_NO_DEVICE, ad_device_memory, SIZE_MAX, &free_bytes, &total);
        return;
    }
    EXPECT(AD_ERR_NO_DEVICE, ad_device_count, &n);
    EXPECT(AD_ERR_NULL, ad_device_count, NULL);
    CHECK(n == 7);
    EXPECT(AD_ERR_NO_DEVICE, ad_device_name, 0, name, sizeof name, &len);
    EXPECT(AD_ERR_NO_DEVICE, ad_device_name, SIZE_MAX, NULL, 0, &len);
    EXPECT(AD_ERR_NULL, ad_device_name, 0, name, sizeof name, NULL);
    EXPECT(AD_ERR_NO_DEVICE, ad_device_memory, 0, &free_bytes, &total);
    EXPECT(AD_ERR_NULL, ad_device_memory, 0, NULL, &total);
    EXPECT(AD_ERR_NULL, ad_device_memory, 0, &free_bytes, NULL);
}

/* ---- dual numbers: no status; NaN, infinities and extremes must simply compute ---- */

typedef ad_dual (*dual_unary_fn)(ad_dual);
typedef ad_dual (*dual_binary_fn)(ad_dual, ad_dual);

static void rows_duals(void) {
    static const struct {
        const char *name;
        dual_unary_fn fn;
    } unary[] = {
        OP(ad_dual_neg),  OP(ad_dual_recip), OP(ad_dual_sqrt),  OP(ad_dual_cbrt),     OP(ad_dual_exp),
        OP(ad_dual_expm1), OP(ad_dual_log),  OP(ad_dual_log1p), OP(ad_dual_log2),     OP(ad_dual_log10),
        OP(ad_dual_sin),  OP(ad_dual_cos),   OP(ad_dual_tan),   OP(ad_dual_asin),     OP(ad_dual_acos),
        OP(ad_dual_atan), OP(ad_dual_sinh),  OP(ad_dual_cosh),  OP(ad_dual_tanh),     OP(ad_dual_asinh),
        OP(ad_dual_acosh), OP(ad_dual_atanh), OP(ad_dual_abs),  OP(ad_dual_sigmoid),  OP(ad_dual_softplus),
        OP(ad_dual_erf),
    };
    static const struct {
        const char *name;
        dual_binary_fn fn;
    } binary[] = {
        OP(ad_dual_add), OP(ad_dual_sub), OP(ad_dual_mul),   OP(ad_dual_div),   OP(ad_dual_pow),
        OP(ad_dual_atan2), OP(ad_dual_min), OP(ad_dual_max), OP(ad_dual_hypot),
    };
    const double values[] = {0.0, -0.0, 1.0, -1.0, 0.5, 1e308, -1e308, 5e-324, NAN, INFINITY, -INFINITY};
    double sink = 0;
    for (size_t i = 0; i < COUNT(values); i++) {
        for (size_t j = 0; j < COUNT(values); j++) {
            ad_dual a = ad_dual_make(values[i], values[j]);
            ad_dual b = ad_dual_make(values[j], values[i]);
            for (size_t k = 0; k < COUNT(unary); k++) sink += unary[k].fn(a).value;
            for (size_t k = 0; k < COUNT(binary); k++) sink += binary[k].fn(a, b).tangent;
            sink += ad_dual_scale(a, values[j]).value + ad_dual_powf(a, values[j]).value +
                    ad_dual_powi(a, (int)j - 5).value + ad_dual_powi(a, INT_MIN).value +
                    ad_dual_powi(a, INT_MAX).value;
        }
    }
    (void)sink;
    for (size_t k = 0; k < COUNT(unary); k++) spec_call(unary[k].name, __LINE__);
    for (size_t k = 0; k < COUNT(binary); k++) spec_call(binary[k].name, __LINE__);
    CALLED(ad_dual_make);
    CALLED(ad_dual_scale);
    CALLED(ad_dual_powf);
    CALLED(ad_dual_powi);
    {
        ad_dual d = ad_dual_sin(ad_dual_make(0.5, 1.0));
        CHECK_NEAR(d.value, sin(0.5), 1e-15);
        CHECK_NEAR(d.tangent, cos(0.5), 1e-15);
    }
}

/* ---- vector modes, dense Hessians and sparse plans ---- */

static unsigned char sweep_plan_mem[4096], sweep_plan2_mem[4096];

static void rows_vector_modes(void) {
    double buf[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    double *odd = (double *)(void *)((unsigned char *)buf + 4);
    ad_var outs[2];

    EXPECT(AD_ERR_NULL, ad_forward_vector, NULL, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_NULL, ad_forward_vector, fx.td, NULL, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_NULL, ad_forward_vector, fx.td, OUTS_D, 2, NULL, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_NULL, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, 2, NULL, 4);
    EXPECT(AD_ERR_MISALIGNED, ad_forward_vector, fx.td, OUTS_D, 2, odd, 2, 2, buf + 4, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector, fx.td, OUTS_D, 2, buf, 3, 2, buf + 4, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, 2, buf + 4, 3);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, 2, buf + 1, 4);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, SIZE_MAX, buf + 4, 4);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, 2, buf + 4, SIZE_MAX);
    EXPECT(AD_ERR_INVALID_TAPE, ad_forward_vector, fx.ended, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_forward_vector, sticky_t(), OUTS, 2, buf, 2, 1, buf + 4, 2);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_forward_vector, fx.td, OUTS, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_forward_vector, fx.t, (outs[0] = AS_VAR(fx.a), outs), 1, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_OK, ad_forward_vector, fx.td, OUTS_D, 2, buf, 2, 2, buf + 2, 4);
    EXPECT(AD_OK, ad_forward_vector, fx.t, OUTS, 2, buf, 2, 1, buf + 4, 2);
    EXPECT(AD_OK, ad_forward_vector, fx.t32, (outs[0] = fx.f32, outs), 1, buf, 2, 2, buf + 2, 2);

    EXPECT(AD_ERR_NULL, ad_reverse_vector, NULL, OUTS_D, 2, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_ERR_NULL, ad_reverse_vector, fx.td, OUTS_D, 2, NULL, 4, 2, buf + 4, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 4, 2, odd, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 3, 2, buf + 4, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 4, 2, buf + 4, 3);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 4, 2, buf + 3, 2);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 4, SIZE_MAX / 2 + 1, buf + 4, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_reverse_vector, fx.ended, OUTS_D, 2, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_ERR_STALE_HANDLE, ad_reverse_vector, sticky_t(), OUTS, 2, buf, 2, 1, buf + 4, 2);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_reverse_vector, fx.td, OUTS, 2, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_ERR_WRONG_HANDLE_KIND, ad_reverse_vector, fx.t, (outs[0] = AS_VAR(fx.a), outs), 1, buf, 1, 1, buf + 4, 2);
    EXPECT(AD_OK, ad_reverse_vector, fx.td, OUTS_D, 2, buf, 4, 2, buf + 4, 2);
    EXPECT(AD_OK, ad_reverse_vector, fx.t, OUTS, 2, buf, 2, 1, buf + 4, 2);
    EXPECT(AD_OK, ad_reverse_vector, fx.t32, (outs[0] = fx.f32, outs), 1, buf, 2, 2, buf + 2, 2);

    EXPECT(AD_ERR_NULL, ad_hessian, NULL, OUTS_D, buf, 2, buf + 2, 1);
    EXPECT(AD_ERR_NULL, ad_hessian, fx.td, NULL, buf, 2, buf + 2, 1);
    EXPECT(AD_ERR_NULL, ad_hessian, fx.td, OUTS_D, NULL, 2, buf + 2, 1);
    EXPECT(AD_ERR_NULL, ad_hessian, fx.td, OUTS_D, buf, 2, NULL, 1);
    EXPECT(AD_ERR_MISALIGNED, ad_hessian, fx.td, OUTS_D, buf, 2, odd, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hessian, fx.td, OUTS_D, buf, 2, buf + 2, 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hessian, fx.td, OUTS_D, buf, 2, buf + 1, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hessian, fx.t, OUTS, buf, 2, buf + 2, 4);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_hessian, fx.td, OUTS_D, buf, 2, buf + 2, SIZE_MAX);
    EXPECT(AD_ERR_INVALID_TAPE, ad_hessian, fx.ended, OUTS_D, buf, 2, buf + 2, 1);
    EXPECT(AD_ERR_STALE_HANDLE, ad_hessian, sticky_t(), OUTS, buf, 2, buf + 2, 4);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_hessian, fx.td, OUTS, buf, 2, buf + 2, 1);
    EXPECT(AD_OK, ad_hessian, fx.td, OUTS_D, buf, 2, buf + 2, 1);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_hessian, fx.t32, (outs[0] = fx.f32, outs), buf, 1, buf + 2, 1);
}

static void rows_sparse(void) {
    double buf[8] = {1, 1, 1, 1, 1, 1, 1, 1}, x = 1.25;
    double *odd = (double *)(void *)((unsigned char *)buf + 4);
    uint32_t ibuf[8], jbuf[8];
    uint32_t *oddi = (uint32_t *)(void *)((unsigned char *)ibuf + 2);
    ad_var outs[2];
    ad_sparse *plan = NULL, *hplan = NULL, *bad;
    ad_sparse_sizes sizes;
    ad_sparse *oddp = (ad_sparse *)(void *)(sweep_plan2_mem + 3);

    EXPECT(AD_ERR_NULL, ad_sparse_jacobian_init, NULL, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_jacobian_init, fx.td, NULL, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, NULL, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, (ad_sparse **)(void *)oddi);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, (ad_sparse_mode)9, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, (ad_ordering)-1, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_sparse_jacobian_init, fx.t, OUTS, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_sparse_jacobian_init, fx.td, OUTS_D, SIZE_MAX / 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, 8, &bad);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, 120, &bad);
    EXPECT(AD_ERR_INVALID_TAPE, ad_sparse_jacobian_init, fx.ended, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_STALE_HANDLE, ad_sparse_jacobian_init, sticky_t(), OUTS, 2, AD_SPARSE_FORWARD, AD_ORDER_NATURAL, sweep_plan_mem, sizeof sweep_plan_mem, &bad);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_sparse_jacobian_init, fx.td, OUTS, 2, AD_SPARSE_REVERSE, AD_ORDER_SATURATION, sweep_plan_mem, sizeof sweep_plan_mem, &bad);

    EXPECT(AD_ERR_NULL, ad_sparse_hessian_init, NULL, OUTS_D, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_hessian_init, fx.td, NULL, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_hessian_init, fx.td, OUTS_D, 1, AD_ORDER_NATURAL, NULL, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_NULL, ad_sparse_hessian_init, fx.td, OUTS_D, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_sparse_hessian_init, fx.td, OUTS_D, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, (ad_sparse **)(void *)oddi);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_sparse_hessian_init, fx.td, OUTS_D, 1, (ad_ordering)4, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_sparse_hessian_init, fx.t, OUTS, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_sparse_hessian_init, fx.td, OUTS_D, SIZE_MAX / 2, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_OUT_OF_MEMORY, ad_sparse_hessian_init, fx.td, OUTS_D, 1, AD_ORDER_NATURAL, sweep_plan2_mem, 100, &bad);
    EXPECT(AD_ERR_INVALID_TAPE, ad_sparse_hessian_init, fx.ended, OUTS_D, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_STALE_HANDLE, ad_sparse_hessian_init, sticky_t(), OUTS, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);
    EXPECT(AD_ERR_FOREIGN_HANDLE, ad_sparse_hessian_init, fx.td, OUTS, 1, AD_ORDER_NATURAL, sweep_plan2_mem, sizeof sweep_plan2_mem, &bad);

    /* Live plans on the dual tape: its two outputs fd = xd², xd. */
    EXPECT(AD_OK, ad_sparse_jacobian_init, fx.td, OUTS_D, 2, AD_SPARSE_FORWARD, AD_ORDER_SATURATION, sweep_plan_mem, sizeof sweep_plan_mem, &plan);
    EXPECT_HERE(AD_OK, ad_sparse_hessian_init, fx.td, OUTS_D, 2, AD_ORDER_SMALLEST_LAST, sweep_plan2_mem, sizeof sweep_plan2_mem, &hplan);
    EXPECT_HERE(AD_OK, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, buf, 8);
    CHECK_NEAR(buf[0], 2.5, 1e-15);
    CHECK_NEAR(buf[1], 1.0, 1e-15);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_jacobian_eval, NULL, plan, &x, 1, buf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_jacobian_eval, fx.td, NULL, &x, 1, buf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_jacobian_eval, fx.td, plan, NULL, 1, buf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, NULL, 8);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, odd, 2);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_jacobian_eval, fx.td, oddp, &x, 1, buf, 8);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_jacobian_eval, fx.td, plan, &x, 2, buf, 8);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_jacobian_eval, fx.td, (ad_sparse *)(void *)buf, &x, 1, buf + 2, 4);
    EXPECT_HERE(AD_ERR_SIZE_OVERFLOW, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, buf, SIZE_MAX);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, buf, 1);
    EXPECT_HERE(AD_ERR_FOREIGN_PATTERN, ad_sparse_jacobian_eval, fx.td, hplan, &x, 1, buf, 8);
    EXPECT_HERE(AD_ERR_FOREIGN_PATTERN, ad_sparse_jacobian_eval, fx.u, plan, &x, 1, buf, 8);
    EXPECT_HERE(AD_ERR_INVALID_TAPE, ad_sparse_jacobian_eval, fx.ended, plan, &x, 1, buf, 8);
    EXPECT_HERE(AD_OK, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, buf + 2, 4);
    CHECK_NEAR(buf[2], 2.0 * 2.5, 1e-15); /* weights (2.5, 1): 2.5 · d²(xd²) */
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_hessian_eval, NULL, hplan, &x, 1, buf, 2, buf + 2, 4);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_hessian_eval, fx.td, NULL, &x, 1, buf, 2, buf + 2, 4);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_hessian_eval, fx.td, hplan, NULL, 1, buf, 2, buf + 2, 4);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, NULL, 2, buf + 2, 4);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, NULL, 4);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, odd, 1);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 1, buf + 2, 4);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, buf + 1, 4);
    EXPECT_HERE(AD_ERR_SIZE_OVERFLOW, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, SIZE_MAX, buf + 2, 4);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, buf + 2, 0);
    EXPECT_HERE(AD_ERR_FOREIGN_PATTERN, ad_sparse_hessian_eval, fx.td, plan, &x, 1, buf, 2, buf + 2, 4);
    EXPECT_HERE(AD_ERR_INVALID_TAPE, ad_sparse_hessian_eval, fx.ended, hplan, &x, 1, buf, 2, buf + 2, 4);

    EXPECT_HERE(AD_OK, ad_sparse_info, plan, &sizes);
    CHECK(sizes.rows == 2 && sizes.cols == 1 && sizes.nnz == 2 && sizes.colours == 1);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_info, NULL, &sizes);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_info, plan, NULL);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_info, oddp, &sizes);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_info, (ad_sparse *)(void *)buf, &sizes);
    EXPECT_HERE(AD_OK, ad_sparse_pattern_csr, plan, ibuf, 3, jbuf, 2);
    CHECK(ibuf[0] == 0 && ibuf[1] == 1 && ibuf[2] == 2 && jbuf[0] == 0 && jbuf[1] == 0);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_csr, NULL, ibuf, 3, jbuf, 2);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_csr, plan, NULL, 3, jbuf, 2);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_csr, plan, ibuf, 3, NULL, 2);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_pattern_csr, plan, oddi, 3, jbuf, 2);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_pattern_csr, (ad_sparse *)(void *)buf, ibuf, 3, jbuf, 2);
    EXPECT_HERE(AD_ERR_SIZE_OVERFLOW, ad_sparse_pattern_csr, plan, ibuf, SIZE_MAX, jbuf, 2);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_pattern_csr, plan, ibuf, 2, jbuf, 2);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_pattern_csr, plan, ibuf, 3, jbuf, 1);
    EXPECT_HERE(AD_OK, ad_sparse_pattern_coo, hplan, ibuf, jbuf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_coo, NULL, ibuf, jbuf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_coo, plan, NULL, jbuf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_pattern_coo, plan, ibuf, NULL, 8);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_pattern_coo, plan, oddi, jbuf, 2);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_pattern_coo, plan, ibuf, ibuf + 1, 2);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_pattern_coo, (ad_sparse *)(void *)buf, ibuf, jbuf, 2);
    EXPECT_HERE(AD_ERR_SIZE_OVERFLOW, ad_sparse_pattern_coo, plan, ibuf, jbuf, SIZE_MAX);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_pattern_coo, plan, ibuf, jbuf, 1);
    EXPECT_HERE(AD_OK, ad_sparse_colouring, plan, ibuf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_colouring, NULL, ibuf, 8);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_colouring, plan, NULL, 8);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_colouring, plan, oddi, 8);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_colouring, (ad_sparse *)(void *)buf, ibuf, 8);
    EXPECT_HERE(AD_ERR_SIZE_OVERFLOW, ad_sparse_colouring, plan, ibuf, SIZE_MAX);
    EXPECT_HERE(AD_ERR_BUFFER_TOO_SMALL, ad_sparse_colouring, plan, ibuf, 0);

    /* A new recording makes both plans stale; ending them ends them. */
    EXPECT(AD_ERR_STALE_PATTERN, ad_sparse_jacobian_eval, fx.td, plan, &x, 1, buf, 8);
    EXPECT(AD_ERR_STALE_PATTERN, ad_sparse_hessian_eval, fx.td, hplan, &x, 1, buf, 2, buf + 2, 4);
    EXPECT(AD_ERR_STALE_HANDLE, ad_sparse_jacobian_eval, sticky_t(), plan, &x, 1, buf, 8);
    EXPECT(AD_ERR_STALE_HANDLE, ad_sparse_hessian_eval, sticky_t(), hplan, &x, 1, buf, 2, buf + 2, 4);
    EXPECT_HERE(AD_OK, ad_sparse_done, plan);
    EXPECT_HERE(AD_OK, ad_sparse_done, hplan);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_done, plan);
    EXPECT_HERE(AD_ERR_NULL, ad_sparse_done, NULL);
    EXPECT_HERE(AD_ERR_MISALIGNED, ad_sparse_done, oddp);
    EXPECT_HERE(AD_ERR_INVALID_ARGUMENT, ad_sparse_info, plan, &sizes);
}

/* ---- status text and versions ---- */

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
    EXPECT(AD_ERR_NOT_EXPORTABLE, ad_tape_save_image, fx.t, &fx.f, 1, code, sizeof code, &len);
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
    FIXTURE(ad_tape_done(ts) == AD_OK);
}

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

/* ---- recorded comparisons, selections and branches ---- */

static void rows_compare(void) {
    size_t changed = 7, first = 7;
    double at[2] = {-3.0, 2.0};
    ad_var c;
    for (int form = 0; form < H_FORMS; form++) {
        handle_form h = (handle_form)form;
        uint64_t want = scalar_form_statuses(h);
        fresh();
        scalar_op_row("ad_compare", h, ad_var_is_valid(ad_compare(fx.t, AD_CMP_LT, scalar_form(h), fx.x)), __LINE__);
        fresh();
        scalar_op_row("ad_compare", h, ad_var_is_valid(ad_compare(fx.t, AD_CMP_LT, fx.x, scalar_form(h))), __LINE__);
        fresh();
        scalar_op_row("ad_compare_const", h, ad_var_is_valid(ad_compare_const(fx.t, AD_CMP_GE, scalar_form(h), 0.0)), __LINE__);
        fresh();
        c = ad_compare(fx.t, AD_CMP_LT, fx.x, fx.y);
        scalar_op_row("ad_select", h, ad_var_is_valid(ad_select(fx.t, c, scalar_form(h), fx.x)), __LINE__);
        fresh();
        scalar_op_row("ad_select", h, ad_var_is_valid(ad_select(fx.t, scalar_form(h), fx.x, fx.y)), __LINE__);
        /* A live variable that is not a comparison is no branch condition. */
        fresh();
        CHECK(!ad_branch(fx.t, scalar_form(h)));
        row_is_op = 1;
        row_result("ad_branch", "ad_branch(t, <form>)", ad_tape_status(fx.t),
                   want == S(AD_OK) ? S(AD_ERR_INVALID_ARGUMENT) : want, NULL, __LINE__);
        row_is_op = 0;
    }
    EXPECT_VAR(AD_ERR_INVALID_ARGUMENT, ad_compare, fx.t, (ad_cmp)6, fx.x, fx.y);
    EXPECT_VAR(AD_ERR_INVALID_ARGUMENT, ad_compare, fx.t, (ad_cmp)-1, fx.x, fx.y);
    EXPECT_VAR(AD_ERR_INVALID_ARGUMENT, ad_compare_const, fx.t, (ad_cmp)INT_MAX, fx.x, 1.0);
    EXPECT_VAR(AD_OK, ad_compare_const, fx.t, AD_CMP_NE, fx.x, NAN);
    EXPECT_VAR(AD_OK, ad_compare, fx.t32, AD_CMP_EQ, fx.x32, fx.x32);
    EXPECT_VAR(AD_OK, ad_compare_const, fx.td, AD_CMP_GT, fx.xd, 1.0);
    EXPECT_VAR(AD_ERR_STALE_HANDLE, ad_compare, sticky_t(), AD_CMP_LT, fx.x, fx.y);
    EXPECT_VAR(NO_TAPE, ad_compare, NULL, AD_CMP_LT, fx.x, fx.y);
    EXPECT_VAR(NO_TAPE, ad_compare_const, fx.ended, AD_CMP_LT, fx.x, 1.0);
    EXPECT_VAR(NO_TAPE, ad_select, NULL, fx.x, fx.x, fx.y);
    CHECK(!ad_branch(NULL, fx.x));
    CHECK(!ad_branch(fx.ended, fx.x));
    fresh();
    CHECK(ad_branch(fx.td, ad_compare_const(fx.td, AD_CMP_GT, fx.xd, 1.0)));
    CHECK(ad_tape_status(fx.td) == AD_OK);

    EXPECT(AD_ERR_NULL, ad_tape_branch_changes, NULL, &changed, &first);
    EXPECT(AD_ERR_NULL, ad_tape_branch_changes, fx.t, NULL, &first);
    EXPECT(AD_ERR_NULL, ad_tape_branch_changes, fx.t, &changed, NULL);
    EXPECT(AD_ERR_MISALIGNED, ad_tape_branch_changes, fx.t, (size_t *)(void *)(mem_t + 1), &first);
    EXPECT(AD_ERR_INVALID_TAPE, ad_tape_branch_changes, fx.ended, &changed, &first);
    EXPECT(AD_OK, ad_tape_branch_changes, sticky_t(), &changed, &first);
    CHECK(changed == 0 && first == 0);
    /* A replay across a branch: the status, and the numbers behind it. */
    fresh();
    CHECK(ad_branch(fx.t, ad_compare(fx.t, AD_CMP_GT, fx.x, fx.y)));
    EXPECT_HERE(AD_ERR_BRANCH_CHANGED, ad_replay, fx.t, at, 2);
    row_sticky = ad_tape_status(fx.t);
    EXPECT_HERE(AD_OK, ad_tape_branch_changes, fx.t, &changed, &first);
    CHECK(changed == 1 && first == 0);
    EXPECT_HERE(AD_ERR_BRANCH_CHANGED, ad_backward, fx.t, fx.f);
}

/* ---- user-defined ops ---- */

static int sweep_forward(void *ud, const double *x, size_t n_in, double *y, size_t n_out,
                         double *state, size_t state_len) {
    (void)ud, (void)state, (void)state_len;
    for (size_t j = 0; j < n_out; j++) y[j] = n_in ? 2.0 * x[0] : 1.0;
    return ud ? 5 : 0; /* non-NULL user data: fail */
}

static int sweep_vjp(void *ud, const double *x, size_t n_in, const double *y, size_t n_out,
                     const double *state, size_t state_len, const double *dy, double *dx) {
    (void)ud, (void)x, (void)y, (void)state, (void)state_len;
    for (size_t k = 0; k < n_in; k++)
        for (size_t j = 0; j < n_out; j++) dx[k] += 2.0 * dy[j];
    return 0;
}

static void rows_user_ops(void) {
    ad_user_op_def def = {sweep_forward, sweep_vjp, NULL, NULL, 1};
    ad_user_op_def failing = {sweep_forward, sweep_vjp, NULL, &def, 0};
    ad_user_op_def no_forward = {NULL, sweep_vjp, NULL, NULL, 0};
    ad_user_op_def no_vjp = {sweep_forward, NULL, NULL, NULL, 0};
    ad_var in[2], out[2];
    double seeds[2] = {1, 0};
    for (int form = 0; form < H_FORMS; form++) {
        handle_form h = (handle_form)form;
        fresh();
        in[0] = scalar_form(h);
        in[1] = fx.y;
        row_result("ad_user_op", "ad_user_op(t, <form>)", ad_user_op(fx.t, &def, in, 2, out, 2),
                   scalar_form_statuses(h), NULL, __LINE__);
    }
    /* The inputs, read after each row's fresh fixture. */
#define USER_IN (in[0] = fx.x, in[1] = fx.y, in)
    EXPECT(AD_OK, ad_user_op, fx.t, &def, USER_IN, 2, out, 2);
    EXPECT(AD_OK, ad_user_op, fx.t, &def, NULL, 0, out, 1);
    EXPECT(AD_ERR_NULL, ad_user_op, NULL, &def, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_INVALID_TAPE, ad_user_op, fx.ended, &def, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_NULL, ad_user_op, fx.t, NULL, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_NULL, ad_user_op, fx.t, &no_forward, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_NULL, ad_user_op, fx.t, &no_vjp, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_NULL, ad_user_op, fx.t, &def, NULL, 2, out, 2);
    EXPECT(AD_ERR_NULL, ad_user_op, fx.t, &def, USER_IN, 2, NULL, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_user_op, fx.t, (const ad_user_op_def *)(const void *)(mem_t + 1), USER_IN, 2, out, 2);
    EXPECT(AD_ERR_MISALIGNED, ad_user_op, fx.t, &def, USER_IN, 2, (ad_var *)(void *)(mem_t + 1), 2);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_user_op, fx.t, &def, USER_IN, 2, out, 0);
    EXPECT(AD_ERR_INVALID_ARGUMENT, ad_user_op, fx.t, &def, USER_IN, 2, in, 2);
    EXPECT(AD_ERR_SIZE_OVERFLOW, ad_user_op, fx.t, &def, USER_IN, SIZE_MAX, out, 2);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_user_op, fx.t32, &def, &fx.x32, 1, out, 1);
    EXPECT(AD_ERR_DTYPE_MISMATCH, ad_user_op, fx.td, &def, &fx.xd, 1, out, 1);
    EXPECT(AD_ERR_CALLBACK_FAILED, ad_user_op, fx.t, &failing, USER_IN, 2, out, 2);
    EXPECT(AD_ERR_STALE_HANDLE, ad_user_op, sticky_t(), &def, USER_IN, 2, out, 2);
    /* Forward mode over an op with no jvp. */
    fresh();
    CHECK_OK(ad_user_op(fx.t, &def, USER_IN, 2, out, 2));
    EXPECT_HERE(AD_ERR_NO_JVP, ad_jvp, fx.t, seeds, 2);
#undef USER_IN
}

/* ---------------------------------------------------------------------------------
 * After all of it: every tape computes a gradient again after a reset
 * ------------------------------------------------------------------------------- */

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
