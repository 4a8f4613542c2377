//! The record cursor: the part of an `f64` tape a host may record through without
//! calling into the library, for the arithmetic that dominates scalar recordings.
//!
//! A call through a C ABI costs more than the op it records (a status boundary, handle
//! checks, a dtype dispatch), and none of it inlines into the caller's loop. So the
//! tape's first bytes have a fixed layout, [`RecordCursor`], and a host that follows
//! the protocol below may append plain arithmetic records itself: `include/autodiff_inline.h`
//! does so for `+ − × ÷`, their forms with a constant, negation, the reciprocal and
//! `|x|`, and falls back to the library call whenever any condition fails.
//!
//! # The protocol (for an `f64` tape)
//!
//! Given handles `a` (and `b`), a host may append record `i = len` when
//! - `limit > len` (the tape has room and no pending error: `limit` is 0 while one is);
//! - each handle has `kind == 1` (a scalar), `tape == identity`, `generation ==
//!   generation` and `index < len` (a live handle of the current generation; older ones
//!   take the library's slower check);
//! - the first argument's index is below 2^25, so it is stored as is (the layout of
//!   `record.rs`);
//!
//! by writing the 24-byte record at `records + 24·i`: the word `op << 26 | a.index`,
//! the word `b.index` (or the `f32` bits of an inline constant, or 0 for `Neg`, `Recip`
//! and `Abs`, which take no second operand), the value computed in
//! `f64` exactly as the op's rule does, and a zero adjoint; then storing `len = i + 1`,
//! and returning the handle `{i, 1, generation, identity}`. The op codes are those of
//! [`Op`](crate::Op), which never change for existing ops.
//!
//! A constant `c` that `f32` does not hold exactly (NaN included) goes to the tape's
//! pool instead, in the op's wide form (`AddWide` … `WideDiv`), when the pool's current
//! chunk has room (`wide_left > 0`): write `c` at `wide_next`, use `wide_reference` as
//! the record's second word, then advance `wide_next` by one `f64` and `wide_reference`
//! by one (as unsigned 32-bit numbers wrap: a chunk in a host's block ends at the
//! reference `2^32 − 1`), and decrement `wide_left`. With no room, the library's call
//! takes its next chunk (up to 256 slots), so most such constants take the inline path.
//!
//! A host may also read the value (bytes 8 to 16) of the record of any handle that
//! passes the handle check above, whether or not the tape has room or a pending error:
//! `ad_inline_value` does, so that the C++ wrapper takes a library function's result
//! from the record it just wrote instead of computing the function a second time.
//!
//! Nothing else may be written, and no Rust code may be running on the tape meanwhile
//! (a C call has returned, or the host is inside a callback the tape made, when the
//! tape's Rust frames hold no reference into the records). Builds that poison the
//! arena's free bytes for AddressSanitizer offer no cursor: writes past the low cursor
//! would be reported.

use super::record::Record;
use super::Tape;
use core::cell::Cell;
use core::mem::{offset_of, size_of};
use core::ptr::NonNull;

/// The first bytes of an `f64` tape, as a host reads them (C: `ad_record_cursor` in
/// `autodiff_inline.h`). Only a pointer to a live tape's cursor is ever handed out.
#[repr(C)]
pub struct RecordCursor {
    pub records: NonNull<u8>,
    pub len: Cell<u32>,
    pub limit: Cell<u32>,
    pub generation: Cell<u32>,
    pub identity: u32,
    pub wide_next: Cell<*mut f64>,
    pub wide_left: Cell<u32>,
    pub wide_reference: Cell<u32>,
}

// The tape's first fields are the cursor's, at the same offsets.
const _: () = {
    type F64Tape = Tape<'static, f64>;
    assert!(offset_of!(F64Tape, records) == offset_of!(RecordCursor, records));
    assert!(offset_of!(F64Tape, len) == offset_of!(RecordCursor, len));
    assert!(offset_of!(F64Tape, limit) == offset_of!(RecordCursor, limit));
    assert!(offset_of!(F64Tape, generation) == offset_of!(RecordCursor, generation));
    assert!(offset_of!(F64Tape, identity) == offset_of!(RecordCursor, identity));
    assert!(offset_of!(F64Tape, wide_next) == offset_of!(RecordCursor, wide_next));
    assert!(offset_of!(F64Tape, wide_left) == offset_of!(RecordCursor, wide_left));
    assert!(offset_of!(F64Tape, wide_reference) == offset_of!(RecordCursor, wide_reference));
    assert!(size_of::<RecordCursor>() == 2 * size_of::<usize>() + 24);
    assert!(size_of::<Record<f64>>() == 24);
    assert!(super::HandleKind::Scalar.code() == 1);
};

impl Tape<'_, f64> {
    /// This tape's record cursor, for a host that records through it (see the module
    /// docs); `None` in builds that poison the arena for AddressSanitizer.
    pub fn record_cursor(&self) -> Option<NonNull<RecordCursor>> {
        if cfg!(autodiff_asan) {
            return None;
        }
        Some(NonNull::from(self).cast())
    }
}
