//! Recorded comparisons and selections, and the host branches that replay checks.
//!
//! `ad_compare()` records a condition variable (1 or 0); `ad_select()` picks between two
//! variables by a condition at every sweep and replay, so branch-free code stays right at
//! any input; `ad_branch()` reads a comparison for a C `if` and makes `ad_replay()` check
//! it, failing with `AD_ERR_BRANCH_CHANGED` when the branch would now go the other way.

use crate::error::{ad_status, Result};
use crate::ptr;
use crate::tape::{ad_tape, call, header, poison};
use crate::var::{ad_var, packed, record};
use autodiff_core::{Cmp, Error, Real, VarId};
use core::ffi::c_int;

/// A relation between two values, for `ad_compare()` and `ad_compare_const()`.
/// Comparisons follow IEEE 754: every relation with a NaN is false except `AD_CMP_NE`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ad_cmp {
    /// `a < b`
    AD_CMP_LT = 0,
    /// `a <= b`
    AD_CMP_LE = 1,
    /// `a > b`
    AD_CMP_GT = 2,
    /// `a >= b`
    AD_CMP_GE = 3,
    /// `a == b`
    AD_CMP_EQ = 4,
    /// `a != b`
    AD_CMP_NE = 5,
}

/// Receives an `ad_cmp` from C. Any `int` is safe to pass: an unknown value becomes the
/// tape's sticky `AD_ERR_INVALID_ARGUMENT`, which a Rust enum parameter could not do.
/// cbindgen:ignore
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct CmpArg(pub c_int);

impl CmpArg {
    fn get(self) -> Option<Cmp> {
        u32::try_from(self.0).ok().and_then(Cmp::from_code)
    }
}

const UNKNOWN_CMP: Error = Error::InvalidArgument("unknown comparison (not an ad_cmp)");

/// Records `a cmp b` as a condition variable: 1 when the relation holds, 0 when not. No
/// derivative flows through it. Use it with `ad_select()`, or with `ad_branch()` for a C
/// `if` that `ad_replay()` then checks. On an `AD_F64_DUAL` tape the primal values are
/// compared. It is an extension record, as tensors are: `ad_jacobian_fwd()` refuses a tape
/// that holds one (`ad_jacobian()` works).
///
/// Sticky errors: `AD_ERR_INVALID_ARGUMENT` (`cmp` is not an `ad_cmp`),
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`a`, `b`),
/// `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_compare(
    tape: *mut ad_tape,
    cmp: CmpArg,
    a: ad_var,
    b: ad_var,
) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe {
        record(tape, |any| {
            with_tape!(any, t => packed(match cmp.get() {
                Some(cmp) => t.compare_id(cmp, a.into(), b.into()),
                None => t.fail(UNKNOWN_CMP),
            }))
        })
    }
}

/// Records `a cmp c` for a constant `c`, as `ad_compare()` does (the constant is kept
/// with the comparison: no record of its own).
///
/// Sticky errors: `AD_ERR_INVALID_ARGUMENT` (`cmp` is not an `ad_cmp`),
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`a`),
/// `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_compare_const(
    tape: *mut ad_tape,
    cmp: CmpArg,
    a: ad_var,
    c: f64,
) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe {
        record(tape, |any| {
            with_tape!(any, t => packed(match cmp.get() {
                Some(cmp) => t.compare_const_id(cmp, a.into(), Real::from_f64(c)),
                None => t.fail(UNKNOWN_CMP),
            }))
        })
    }
}

/// `if_true` where `cond` is non-zero (NaN counts as non-zero, as in C), `if_false` where
/// it is zero. Both arms stay on the tape and every sweep and `ad_replay()` picks one
/// again from `cond`'s value then, so the result is right at any input; the derivative
/// flows to the chosen arm only. Like a comparison, it is an extension record (as tensors
/// are): `ad_jacobian_fwd()` refuses a tape that holds one.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (`cond`, `if_true`, `if_false`), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_select(
    tape: *mut ad_tape,
    cond: ad_var,
    if_true: ad_var,
    if_false: ad_var,
) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe {
        record(
            tape,
            |any| with_tape!(any, t => packed(t.select_id(cond.into(), if_true.into(), if_false.into()))),
        )
    }
}

/// The outcome of the comparison `cond` (made by `ad_compare()` or `ad_compare_const()`)
/// for a C `if`: `if (ad_branch(t, ad_compare_const(t, AD_CMP_GT, x, 0.0))) ...`. The
/// comparison is marked as one the recording depends on: an `ad_replay()` at inputs
/// where it comes out differently fails with `AD_ERR_BRANCH_CHANGED`. Returns false, and
/// fails the tape, when `cond` is not a live comparison; false on a NULL or ended tape.
///
/// Sticky errors: `AD_ERR_INVALID_ARGUMENT` (`cond` is a variable but not a comparison),
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`cond`).
#[no_mangle]
pub unsafe extern "C" fn ad_branch(tape: *mut ad_tape, cond: ad_var) -> bool {
    ffi_boundary!(
        {
            // SAFETY: forwarded from the caller.
            unsafe { poison(tape) };
            false
        },
        {
            // SAFETY: the caller's contract.
            match unsafe { header(tape) } {
                Ok(header) if !header.is_poisoned() => {
                    with_tape!(&header.tape, t => t.branch(VarId::from(cond)))
                }
                _ => false,
            }
        }
    )
}

/// After an `ad_replay()` that failed with `AD_ERR_BRANCH_CHANGED`: how many comparisons
/// passed to `ad_branch()` came out differently, into `*changed_out`, and the first
/// one's position among all the tape's comparisons in recording order (from 0), into
/// `*first_out`. Both are 0 when the tape's sticky error is another one, or none.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `changed_out` or `first_out`), `AD_ERR_MISALIGNED`
/// (`changed_out`, `first_out`), `AD_ERR_INVALID_TAPE`.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_branch_changes(
    tape: *const ad_tape,
    changed_out: *mut usize,
    first_out: *mut usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| -> Result<()> {
            let changed_out = ptr::out(changed_out, "changed_out")?;
            let first_out = ptr::out(first_out, "first_out")?;
            let status = with_tape!(&header.tape, t => t.status());
            (*changed_out, *first_out) = match status {
                Err(Error::BranchChanged { changed, first }) => (changed, first),
                _ => (0, 0),
            };
            Ok(())
        })
    }
}
