/* autodiff_inline.h: recording + − × ÷, negation, reciprocal and |x| on an f64 tape
 * without a call into the library.
 *
 * A call into libautodiff costs several times the op it records (the status boundary,
 * the handle checks, the dtype dispatch), and it cannot inline into the caller's loop.
 * The functions here record the same records the library would, by the protocol of
 * the tape's record cursor (autodiff-core's `RecordCursor`, core/src/tape/cursor.rs):
 * when the tape is a live f64 tape with room and no pending error, and every handle is a
 * live scalar of its current generation, the record is written here; otherwise the
 * library's own call runs, with all its checks and statuses. Results, records, handles
 * and sticky errors are the same either way.
 *
 * Each `ad_inline_X` takes the arguments of the library's `ad_X`. Include this header
 * instead of autodiff.h, or after it. Like the library's calls, these are for one thread
 * at a time per tape.
 */
#ifndef AUTODIFF_INLINE_H
#define AUTODIFF_INLINE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "autodiff.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The first bytes of an f64 tape (autodiff-core's `RecordCursor`). */
typedef struct ad_record_cursor {
    unsigned char *records;
    uint32_t len;
    uint32_t limit;
    uint32_t generation;
    uint32_t identity;
    /* The pool of constants f32 does not hold: the next free slot of its current chunk,
     * how many are left, and the next slot's reference (a record's second word). */
    double *wide_next;
    uint32_t wide_left;
    uint32_t wide_reference;
} ad_record_cursor;

/** @cond internal */
/* What an `ad_tape *` points at: its live marker, then the cursor (NULL when the tape
 * offers none: not f64, an AddressSanitizer build of the library, or poisoned). */
typedef struct ad_inline_tape_head_ {
    uint64_t magic;
    ad_record_cursor *cursor;
} ad_inline_tape_head_;

#define AD_INLINE_LIVE_ UINT64_C(0x6164746170652131)
#define AD_INLINE_SCALAR_KIND_ 1u
#define AD_INLINE_DIRECT_INDEX_LIMIT_ (UINT32_C(1) << 25)

/* Op codes of the records written here (autodiff-core's `Op`; they never change). */
enum {
    AD_INLINE_OP_ADD_ = 2,
    AD_INLINE_OP_SUB_ = 3,
    AD_INLINE_OP_MUL_ = 4,
    AD_INLINE_OP_DIV_ = 5,
    AD_INLINE_OP_NEG_ = 12,
    AD_INLINE_OP_RECIP_ = 13,
    AD_INLINE_OP_ABS_ = 35,
    AD_INLINE_OP_ADD_CONST_ = 39,
    AD_INLINE_OP_MUL_CONST_ = 40,
    AD_INLINE_OP_DIV_CONST_ = 41,
    AD_INLINE_OP_CONST_SUB_ = 42,
    AD_INLINE_OP_CONST_DIV_ = 43,
    /* The same five with a constant from the pool (AddWide … WideDiv): each is its
     * inline form + 7. */
    AD_INLINE_OP_WIDE_FROM_CONST_ = 7
};

/* The cursor of a live tape that offers one, or NULL. */
static inline ad_record_cursor *ad_inline_offered_cursor_(ad_tape *tape) {
    const ad_inline_tape_head_ *head = (const ad_inline_tape_head_ *)(const void *)tape;
    if (tape == NULL || ((uintptr_t)tape % sizeof(uint64_t)) != 0 || head->magic != AD_INLINE_LIVE_)
        return NULL;
    return head->cursor;
}

/* The cursor of a live tape with room for one more record, or NULL. */
static inline ad_record_cursor *ad_inline_cursor_(ad_tape *tape) {
    ad_record_cursor *cursor = ad_inline_offered_cursor_(tape);
    return cursor != NULL && cursor->limit > cursor->len ? cursor : NULL;
}

/* A handle's generation and tape as one word, and the cursor's generation and identity
 * (the same two fields, in the same order): comparing the words compares both pairs
 * with one instruction. The typedef fails to compile if either pair stops being
 * adjacent. */
typedef char ad_inline_stamp_layout_[(offsetof(ad_var, tape) == offsetof(ad_var, generation) + 4 &&
                                      offsetof(ad_record_cursor, identity) ==
                                          offsetof(ad_record_cursor, generation) + 4)
                                         ? 1
                                         : -1];

static inline uint64_t ad_inline_var_stamp_(ad_var x) {
    uint64_t stamp;
    memcpy(&stamp, (const unsigned char *)&x + offsetof(ad_var, generation), sizeof stamp);
    return stamp;
}

static inline uint64_t ad_inline_cursor_stamp_(const ad_record_cursor *cursor) {
    uint64_t stamp;
    memcpy(&stamp, (const unsigned char *)cursor + offsetof(ad_record_cursor, generation),
           sizeof stamp);
    return stamp;
}

/* Whether `x` is a live scalar handle of the cursor's current generation with an index
 * below `index_limit` (at most the cursor's `len`). */
static inline int ad_inline_live_(uint64_t stamp, ad_var x, uint32_t index_limit) {
    return (x.kind == AD_INLINE_SCALAR_KIND_) & (x.index < index_limit) &
           (ad_inline_var_stamp_(x) == stamp);
}

/* The limit of a first argument's index: below `len`, and stored as is (below 2^25). */
static inline uint32_t ad_inline_first_limit_(const ad_record_cursor *cursor) {
    return cursor->len < AD_INLINE_DIRECT_INDEX_LIMIT_ ? cursor->len : AD_INLINE_DIRECT_INDEX_LIMIT_;
}

/* A record of an f64 tape (core/src/tape/record.rs). Written through this type, not as
 * bytes, so that the compiler knows the stores leave the cursor's pointer alone. */
typedef struct ad_inline_record_ {
    uint32_t first;
    uint32_t b;
    double value;
    double adjoint;
} ad_inline_record_;

static inline double ad_inline_value_(const ad_record_cursor *cursor, uint32_t index) {
    return ((const ad_inline_record_ *)(const void *)cursor->records)[index].value;
}

/* Appends record `len`: `op` with first argument `a` (below 2^25) and second word `b`. */
static inline ad_var ad_inline_push_(ad_record_cursor *cursor, uint32_t op, uint32_t a, uint32_t b,
                                     double value) {
    uint32_t index = cursor->len;
    ad_var handle;
    ad_inline_record_ *record = (ad_inline_record_ *)(void *)cursor->records + index;
    uint64_t stamp = ad_inline_cursor_stamp_(cursor);
    handle.index = index;
    handle.kind = AD_INLINE_SCALAR_KIND_;
    memcpy((unsigned char *)&handle + offsetof(ad_var, generation), &stamp, sizeof stamp);
    record->first = (op << 26) | a;
    record->b = b;
    record->value = value;
    record->adjoint = 0.0;
    cursor->len = index + 1;
    return handle;
}

/* The cursor when `a` and `b` are live and `a` is stored as an index, else NULL. */
static inline ad_record_cursor *ad_inline_binary_cursor_(ad_tape *tape, ad_var a, ad_var b) {
    ad_record_cursor *cursor = ad_inline_cursor_(tape);
    if (cursor == NULL) return NULL;
    uint64_t stamp = ad_inline_cursor_stamp_(cursor);
    return ad_inline_live_(stamp, a, ad_inline_first_limit_(cursor)) &
                   ad_inline_live_(stamp, b, cursor->len)
               ? cursor
               : NULL;
}

/* The cursor when `x` is live and stored as an index, else NULL. */
static inline ad_record_cursor *ad_inline_unary_cursor_(ad_tape *tape, ad_var x) {
    ad_record_cursor *cursor = ad_inline_cursor_(tape);
    return cursor != NULL &&
                   ad_inline_live_(ad_inline_cursor_stamp_(cursor), x, ad_inline_first_limit_(cursor))
               ? cursor
               : NULL;
}

/* The cursor when `x` is live and stored as an index and `c` has a place, else NULL.
 * Its place, as the library would choose it: when `c` is exactly an f32, inside the
 * record (`*b` = its bits, `*op` = `inline_op`); else the next slot of the tape's pool of
 * wide constants, when its current chunk has one (`c` is written there, `*b` = the slot's
 * reference, `*op` = the wide form). */
static inline ad_record_cursor *ad_inline_const_cursor_(ad_tape *tape, ad_var x, double c,
                                                        uint32_t inline_op, uint32_t *op, uint32_t *b) {
    ad_record_cursor *cursor = ad_inline_unary_cursor_(tape, x);
    float narrow = (float)c;
    if (cursor == NULL) return NULL;
    if ((double)narrow == c) {
        memcpy(b, &narrow, sizeof *b);
        *op = inline_op;
        return cursor;
    }
    if (cursor->wide_left == 0) return NULL;
    *cursor->wide_next = c;
    *b = cursor->wide_reference;
    *op = inline_op + AD_INLINE_OP_WIDE_FROM_CONST_;
    cursor->wide_next += 1;
    cursor->wide_reference += 1;
    cursor->wide_left -= 1;
    return cursor;
}

/* `v` with its sign bit cleared, as the library's |x| (NaN included): no libm call. */
static inline double ad_inline_magnitude_(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    bits &= ~(UINT64_C(1) << 63);
    memcpy(&v, &bits, sizeof v);
    return v;
}
/** @endcond */

/** The value of `x` as its record holds it, read without a call into the library: 1 and
 * `*value` written when the tape offers its cursor and `x` is a live scalar of its
 * current generation, else 0 with `*value` untouched (ad_value() then says why). A
 * pending error does not stop the read. Right after a library call made `x`, its record
 * is in the cache, so this costs a load where recomputing the value would cost the
 * function again. */
static inline int ad_inline_value(ad_tape *tape, ad_var x, double *value) {
    const ad_record_cursor *cursor = ad_inline_offered_cursor_(tape);
    if (cursor == NULL || value == NULL ||
        !ad_inline_live_(ad_inline_cursor_stamp_(cursor), x, cursor->len))
        return 0;
    *value = ad_inline_value_(cursor, x.index);
    return 1;
}

/** `a + b`, as ad_add(). */
static inline ad_var ad_inline_add(ad_tape *tape, ad_var a, ad_var b) {
    ad_record_cursor *c = ad_inline_binary_cursor_(tape, a, b);
    if (c == NULL) return ad_add(tape, a, b);
    return ad_inline_push_(c, AD_INLINE_OP_ADD_, a.index, b.index,
                           ad_inline_value_(c, a.index) + ad_inline_value_(c, b.index));
}

/** `a - b`, as ad_sub(). */
static inline ad_var ad_inline_sub(ad_tape *tape, ad_var a, ad_var b) {
    ad_record_cursor *c = ad_inline_binary_cursor_(tape, a, b);
    if (c == NULL) return ad_sub(tape, a, b);
    return ad_inline_push_(c, AD_INLINE_OP_SUB_, a.index, b.index,
                           ad_inline_value_(c, a.index) - ad_inline_value_(c, b.index));
}

/** `a * b`, as ad_mul(). */
static inline ad_var ad_inline_mul(ad_tape *tape, ad_var a, ad_var b) {
    ad_record_cursor *c = ad_inline_binary_cursor_(tape, a, b);
    if (c == NULL) return ad_mul(tape, a, b);
    return ad_inline_push_(c, AD_INLINE_OP_MUL_, a.index, b.index,
                           ad_inline_value_(c, a.index) * ad_inline_value_(c, b.index));
}

/** `a / b`, as ad_div(). */
static inline ad_var ad_inline_div(ad_tape *tape, ad_var a, ad_var b) {
    ad_record_cursor *c = ad_inline_binary_cursor_(tape, a, b);
    if (c == NULL) return ad_div(tape, a, b);
    return ad_inline_push_(c, AD_INLINE_OP_DIV_, a.index, b.index,
                           ad_inline_value_(c, a.index) / ad_inline_value_(c, b.index));
}

/** `x + c`, as ad_add_const(). */
static inline ad_var ad_inline_add_const(ad_tape *tape, ad_var x, double c) {
    uint32_t op, b;
    ad_record_cursor *cur = ad_inline_const_cursor_(tape, x, c, AD_INLINE_OP_ADD_CONST_, &op, &b);
    if (cur == NULL) return ad_add_const(tape, x, c);
    return ad_inline_push_(cur, op, x.index, b, ad_inline_value_(cur, x.index) + c);
}

/** `x - c`, as ad_sub_const(): recorded as `x + (-c)`, as the library does. */
static inline ad_var ad_inline_sub_const(ad_tape *tape, ad_var x, double c) {
    return ad_inline_add_const(tape, x, -c);
}

/** `x * c`, as ad_scale(). */
static inline ad_var ad_inline_scale(ad_tape *tape, ad_var x, double c) {
    uint32_t op, b;
    ad_record_cursor *cur = ad_inline_const_cursor_(tape, x, c, AD_INLINE_OP_MUL_CONST_, &op, &b);
    if (cur == NULL) return ad_scale(tape, x, c);
    return ad_inline_push_(cur, op, x.index, b, ad_inline_value_(cur, x.index) * c);
}

/** `x / c`, as ad_div_const(). */
static inline ad_var ad_inline_div_const(ad_tape *tape, ad_var x, double c) {
    uint32_t op, b;
    ad_record_cursor *cur = ad_inline_const_cursor_(tape, x, c, AD_INLINE_OP_DIV_CONST_, &op, &b);
    if (cur == NULL) return ad_div_const(tape, x, c);
    return ad_inline_push_(cur, op, x.index, b, ad_inline_value_(cur, x.index) / c);
}

/** `c - x`, as ad_const_sub(). */
static inline ad_var ad_inline_const_sub(ad_tape *tape, double c, ad_var x) {
    uint32_t op, b;
    ad_record_cursor *cur = ad_inline_const_cursor_(tape, x, c, AD_INLINE_OP_CONST_SUB_, &op, &b);
    if (cur == NULL) return ad_const_sub(tape, c, x);
    return ad_inline_push_(cur, op, x.index, b, c - ad_inline_value_(cur, x.index));
}

/** `c / x`, as ad_const_div(). */
static inline ad_var ad_inline_const_div(ad_tape *tape, double c, ad_var x) {
    uint32_t op, b;
    ad_record_cursor *cur = ad_inline_const_cursor_(tape, x, c, AD_INLINE_OP_CONST_DIV_, &op, &b);
    if (cur == NULL) return ad_const_div(tape, c, x);
    return ad_inline_push_(cur, op, x.index, b, c / ad_inline_value_(cur, x.index));
}

/** `-x`, as ad_neg(). */
static inline ad_var ad_inline_neg(ad_tape *tape, ad_var x) {
    ad_record_cursor *c = ad_inline_unary_cursor_(tape, x);
    if (c == NULL) return ad_neg(tape, x);
    return ad_inline_push_(c, AD_INLINE_OP_NEG_, x.index, 0, -ad_inline_value_(c, x.index));
}

/** `1 / x`, as ad_recip(). */
static inline ad_var ad_inline_recip(ad_tape *tape, ad_var x) {
    ad_record_cursor *c = ad_inline_unary_cursor_(tape, x);
    if (c == NULL) return ad_recip(tape, x);
    return ad_inline_push_(c, AD_INLINE_OP_RECIP_, x.index, 0, 1.0 / ad_inline_value_(c, x.index));
}

/** `|x|`, as ad_abs(). */
static inline ad_var ad_inline_abs(ad_tape *tape, ad_var x) {
    ad_record_cursor *c = ad_inline_unary_cursor_(tape, x);
    if (c == NULL) return ad_abs(tape, x);
    return ad_inline_push_(c, AD_INLINE_OP_ABS_, x.index, 0,
                           ad_inline_magnitude_(ad_inline_value_(c, x.index)));
}

#ifdef __cplusplus
}
#endif

#endif /* AUTODIFF_INLINE_H */
