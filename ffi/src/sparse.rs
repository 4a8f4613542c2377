//! Sparse Jacobians and Hessians: a plan (pattern, colouring) placed in caller memory
//! once, queried for its sizes, its pattern filled into caller arrays, and evaluated at
//! new inputs into caller arrays, as often as needed.

use crate::error::{ad_status, Failure, Result};
use crate::ptr;
use crate::tape::{ad_tape, call};
use crate::var::ad_var;
use autodiff_core::sparse::{JacobianMode, Ordering, SparseHessian, SparseJacobian};
use autodiff_core::{Error, Real, VarId};
use core::ffi::{c_int, c_void};
use core::mem::{align_of, size_of, MaybeUninit};

/// A sparse Jacobian or Hessian plan: its pattern, colouring and recovery, living in
/// memory the caller handed to `ad_sparse_jacobian_init()` or
/// `ad_sparse_hessian_init()` and ended with `ad_sparse_done()`.
pub struct ad_sparse {
    _private: [u8; 0],
}

/// How a sparse Jacobian is compressed: by columns (one vector forward sweep with a
/// direction per column colour; best when rows are short) or by rows (one vector reverse
/// sweep with a direction per row colour; best when columns are short).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ad_sparse_mode {
    AD_SPARSE_FORWARD = 0,
    AD_SPARSE_REVERSE = 1,
}

/// The vertex order of the greedy colourings: index order, largest degree first,
/// smallest degree last (Matula and Beck), or saturation (DSATUR: next the vertex whose
/// neighbours show the most colours; often the fewest colours, and the optimal 5 on
/// five-point stencils).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ad_ordering {
    AD_ORDER_NATURAL = 0,
    AD_ORDER_LARGEST_FIRST = 1,
    AD_ORDER_SMALLEST_LAST = 2,
    AD_ORDER_SATURATION = 3,
}

/// Receives an `ad_sparse_mode` from C; an unknown value is `AD_ERR_INVALID_ARGUMENT`.
/// cbindgen:ignore
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct SparseModeArg(pub c_int);

/// Receives an `ad_ordering` from C; an unknown value is `AD_ERR_INVALID_ARGUMENT`.
/// cbindgen:ignore
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct OrderingArg(pub c_int);

/// The sizes of a plan, from `ad_sparse_info()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ad_sparse_sizes {
    /// Rows: the outputs of a Jacobian, the inputs of a Hessian.
    pub rows: usize,
    /// Columns: the inputs.
    pub cols: usize,
    /// Structural nonzeros (both triangles of a Hessian): the length of the pattern and
    /// value arrays.
    pub nnz: usize,
    /// Colours: the directions one evaluation carries.
    pub colours: usize,
    /// 0 for a Jacobian plan, 1 for a Hessian plan.
    pub is_hessian: c_int,
    /// The most bytes of the plan's memory in use at once while it was built.
    pub peak_bytes: usize,
}

/// `Header::magic` of a live plan ("adspars1") and of an ended one.
const LIVE: u64 = 0x6164_7370_6172_7331;
const ENDED: u64 = 0x6164_7370_656e_6421;

enum AnyPlan {
    Jacobian(SparseJacobian<'static>),
    Hessian(SparseHessian<'static>),
}

#[repr(C)]
struct Header {
    magic: u64,
    plan: AnyPlan,
}

/// The plan behind `plan`, after checking that it is a live one.
///
/// # Safety
/// A non-null, aligned `plan` must address readable bytes of a header: a plan pointer,
/// live or ended (the magic number tells which, best effort).
unsafe fn header<'a>(plan: *const ad_sparse) -> Result<&'a AnyPlan> {
    let header = plan.cast::<Header>();
    if header.is_null() {
        return Err(Failure::Null("plan"));
    }
    if !(header as usize).is_multiple_of(align_of::<Header>()) {
        return Err(Failure::Misaligned("plan"));
    }
    // SAFETY: non-null and aligned, `magic` first in a `repr(C)` struct; the caller
    // vouches for the bytes.
    let magic = unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*header).magic)) };
    if magic != LIVE {
        return Err(Error::InvalidArgument("not a live sparse plan").into());
    }
    // SAFETY: the magic number says a plan was written here.
    Ok(unsafe { &(*header).plan })
}

fn status_of(result: Result<()>) -> ad_status {
    match result {
        Ok(()) => ad_status::AD_OK,
        Err(failure) => failure.status(),
    }
}

/// Places a plan in `mem[0..len)`: `build` makes the core plan in the memory after the
/// header.
///
/// # Safety
/// `mem` valid for `len` bytes and untouched until `ad_sparse_done()`; `plan_out` for
/// one write.
unsafe fn init(
    mem: *mut c_void,
    len: usize,
    plan_out: *mut *mut ad_sparse,
    build: impl FnOnce(&'static mut [MaybeUninit<u8>]) -> Result<AnyPlan>,
) -> Result<()> {
    // SAFETY: forwarded.
    let plan_out = unsafe { ptr::out(plan_out, "plan_out") }?;
    if mem.is_null() {
        return Err(Failure::Null("mem"));
    }
    let base = mem as usize;
    base.checked_add(len).ok_or(Error::SizeOverflow)?;
    let padding = base.next_multiple_of(align_of::<Header>()) - base;
    let start = padding + size_of::<Header>();
    if start > len {
        return Err(Error::OutOfMemory {
            needed: start,
            free: len,
        }
        .into());
    }
    // SAFETY: the tail of the caller's memory, disjoint from the header; `'static`
    // stands for "until ad_sparse_done", the caller's promise.
    let memory = unsafe {
        core::slice::from_raw_parts_mut(mem.cast::<MaybeUninit<u8>>().add(start), len - start)
    };
    let plan = build(memory)?;
    // SAFETY: aligned by `padding`, inside the caller's memory, unused.
    let header = unsafe { mem.cast::<u8>().add(padding).cast::<Header>() };
    // SAFETY: as above.
    unsafe { header.write(Header { magic: LIVE, plan }) };
    *plan_out = header.cast();
    Ok(())
}

/// `outputs` as core handles (`ad_var` and `VarId` share one layout, asserted in `var`).
fn ids(outputs: &[ad_var]) -> &[VarId] {
    // SAFETY: same layout and length; the borrow carries over.
    unsafe { core::slice::from_raw_parts(outputs.as_ptr().cast::<VarId>(), outputs.len()) }
}

fn ordering(arg: OrderingArg) -> Result<Ordering> {
    u32::try_from(arg.0)
        .ok()
        .and_then(Ordering::from_code)
        .ok_or_else(|| Error::InvalidArgument("unknown ordering").into())
}

/// Detects the sparsity pattern of the Jacobian of `outputs[0..m)` with respect to the
/// inputs of `tape` (a tape without tensors), colours its columns (`AD_SPARSE_FORWARD`)
/// or rows (`AD_SPARSE_REVERSE`) in `ordering`'s order, and places the plan in
/// `mem[0..len)`, which the caller owns and keeps valid and untouched until
/// `ad_sparse_done()`. The pattern is structural: it holds at any input, so the plan is
/// evaluated (`ad_sparse_jacobian_eval()`) at new inputs without being made again, until
/// the tape is reset or records more. `ad_sparse_info()` gives its sizes, including the
/// memory it needed at most (`peak_bytes`); a few dozen bytes per recorded variable is
/// ample. On success writes the plan to `*plan_out`.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `mem`, `plan_out`, or `outputs` with `m > 0`),
/// `AD_ERR_MISALIGNED` (`outputs` or `plan_out`), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT`
/// (an unknown mode or ordering; the tape holds tensors), `AD_ERR_SIZE_OVERFLOW` (`m`, `mem +
/// len`, or a pattern of more than 2^32 entries), `AD_ERR_OUT_OF_MEMORY` (`len` is too small; the
/// message gives the bytes needed so far), `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (an output), `AD_ERR_REENTRANT` (called from inside a callback
/// running on this tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_sparse_jacobian_init(
    tape: *mut ad_tape,
    outputs: *const ad_var,
    m: usize,
    mode: SparseModeArg,
    ordering: OrderingArg,
    mem: *mut c_void,
    len: usize,
    plan_out: *mut *mut ad_sparse,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let outputs = ptr::slice(outputs, m, "outputs")?;
            let mode = u32::try_from(mode.0)
                .ok()
                .and_then(JacobianMode::from_code)
                .ok_or(Error::InvalidArgument("unknown sparse mode"))?;
            let ordering = self::ordering(ordering)?;
            init(mem, len, plan_out, |memory| {
                with_tape!(&header.tape, t => Ok(AnyPlan::Jacobian(SparseJacobian::new(
                    t, ids(outputs), mode, ordering, memory)?)))
            })
        })
    }
}

/// Detects the sparsity pattern of the Hessian of `f = Σᵢ wᵢ·outputs[i]` (`m` outputs;
/// the pattern holds for any weights) with respect to the inputs of `tape` (a tape
/// without tensors), star-colours it in `ordering`'s order, and places the plan in
/// `mem[0..len)`, which the caller owns and keeps valid and untouched until
/// `ad_sparse_done()`. The pattern holds both triangles. Evaluate it with
/// `ad_sparse_hessian_eval()` at new inputs and weights. On success writes the plan to
/// `*plan_out`.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `mem`, `plan_out`, or `outputs` with `m > 0`),
/// `AD_ERR_MISALIGNED` (`outputs` or `plan_out`), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT`
/// (an unknown ordering; the tape holds tensors), `AD_ERR_SIZE_OVERFLOW` (`m`, `mem + len`, or a
/// pattern of more than 2^32 entries), `AD_ERR_OUT_OF_MEMORY` (`len` is too small; the message
/// gives the bytes needed so far), `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (an output), `AD_ERR_REENTRANT` (called from inside a callback
/// running on this tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_sparse_hessian_init(
    tape: *mut ad_tape,
    outputs: *const ad_var,
    m: usize,
    ordering: OrderingArg,
    mem: *mut c_void,
    len: usize,
    plan_out: *mut *mut ad_sparse,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let outputs = ptr::slice(outputs, m, "outputs")?;
            let ordering = self::ordering(ordering)?;
            init(mem, len, plan_out, |memory| {
                with_tape!(&header.tape, t => Ok(AnyPlan::Hessian(SparseHessian::new(
                    t, ids(outputs), ordering, memory)?)))
            })
        })
    }
}

/// Ends a plan. Afterwards its memory is the caller's again; using the plan is reported
/// as `AD_ERR_INVALID_ARGUMENT` while that memory is unchanged (best effort).
///
/// Statuses: `AD_ERR_NULL`, `AD_ERR_MISALIGNED`, `AD_ERR_INVALID_ARGUMENT` (not a live plan:
/// e.g. ended twice).
#[no_mangle]
pub unsafe extern "C" fn ad_sparse_done(plan: *mut ad_sparse) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        status_of(unsafe { header(plan) }.map(|_| {
            let header = plan.cast::<Header>();
            // SAFETY: a live header; no reference to it outlives this call.
            unsafe {
                core::ptr::drop_in_place(header);
                core::ptr::addr_of_mut!((*header).magic).write(ENDED);
            }
        }))
    })
}

/// The sizes of `plan` into `*info_out`.
///
/// Statuses: `AD_ERR_NULL` (`plan` or `info_out`), `AD_ERR_MISALIGNED`, `AD_ERR_INVALID_ARGUMENT`
/// (not a live plan).
#[no_mangle]
pub unsafe extern "C" fn ad_sparse_info(
    plan: *const ad_sparse,
    info_out: *mut ad_sparse_sizes,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        status_of(unsafe {
            header(plan).and_then(|plan| {
                let out = ptr::out(info_out, "info_out")?;
                *out = match plan {
                    AnyPlan::Jacobian(j) => ad_sparse_sizes {
                        rows: j.rows(),
                        cols: j.columns(),
                        nnz: j.nnz(),
                        colours: j.colours(),
                        is_hessian: 0,
                        peak_bytes: j.peak_bytes(),
                    },
                    AnyPlan::Hessian(h) => ad_sparse_sizes {
                        rows: h.dimension(),
                        cols: h.dimension(),
                        nnz: h.nnz(),
                        colours: h.colours(),
                        is_hessian: 1,
                        peak_bytes: h.peak_bytes(),
                    },
                };
                Ok(())
            })
        })
    })
}

/// The pattern's arrays and colouring, whichever plan it is.
fn arrays(plan: &AnyPlan) -> (&[u32], &[u32], &[u32]) {
    match plan {
        AnyPlan::Jacobian(j) => (j.row_starts(), j.column_indices(), j.colouring()),
        AnyPlan::Hessian(h) => (h.row_starts(), h.column_indices(), h.colouring()),
    }
}

/// Copies `from` into the caller's array `to` of capacity `cap`.
///
/// # Safety
/// `to` valid for `cap` writes.
unsafe fn fill(from: &[u32], to: *mut u32, cap: usize, what: &'static str) -> Result<()> {
    if cap < from.len() {
        return Err(Failure::BufferTooSmall {
            what,
            needed: from.len(),
            cap,
        });
    }
    // SAFETY: forwarded.
    let to = unsafe { ptr::slice_mut(to, cap, what) }?;
    to[..from.len()].copy_from_slice(from);
    Ok(())
}

/// The pattern in compressed-row form: `row_starts[0..rows + 1)` (row `r`'s entries are
/// `col_indices[row_starts[r] .. row_starts[r + 1])`) and `col_indices[0..nnz)`, columns
/// increasing within a row; the order of the values `ad_sparse_*_eval()` writes. `rows`
/// and `nnz` come from `ad_sparse_info()`; larger arrays are fine.
///
/// Statuses: `AD_ERR_NULL` (`plan`, or an array whose capacity is not 0), `AD_ERR_MISALIGNED`,
/// `AD_ERR_INVALID_ARGUMENT` (not a live plan), `AD_ERR_SIZE_OVERFLOW` (a capacity),
/// `AD_ERR_BUFFER_TOO_SMALL` (`starts_cap` below `rows + 1` or `cols_cap` below `nnz`).
#[no_mangle]
pub unsafe extern "C" fn ad_sparse_pattern_csr(
    plan: *const ad_sparse,
    row_starts: *mut u32,
    starts_cap: usize,
    col_indices: *mut u32,
    cols_cap: usize,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        status_of(unsafe {
            header(plan).and_then(|plan| {
                let (starts, columns, _) = arrays(plan);
                fill(starts, row_starts, starts_cap, "row_starts")?;
                fill(columns, col_indices, cols_cap, "col_indices")
            })
        })
    })
}

/// The pattern as coordinates: `rows_out[e]`, `cols_out[e]` for each of the `nnz`
/// entries, in the order of the values `ad_sparse_*_eval()` writes.
///
/// Statuses: `AD_ERR_NULL` (`plan`, or an array whose capacity is not 0), `AD_ERR_MISALIGNED`,
/// `AD_ERR_INVALID_ARGUMENT` (not a live plan; the arrays overlap), `AD_ERR_SIZE_OVERFLOW` (a
/// capacity), `AD_ERR_BUFFER_TOO_SMALL` (a capacity below `nnz`).
#[no_mangle]
pub unsafe extern "C" fn ad_sparse_pattern_coo(
    plan: *const ad_sparse,
    rows_out: *mut u32,
    cols_out: *mut u32,
    cap: usize,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        status_of(unsafe {
            header(plan).and_then(|plan| {
                let (starts, columns, _) = arrays(plan);
                fill(columns, cols_out, cap, "cols_out")?;
                let rows = ptr::slice_mut(rows_out, cap, "rows_out")?;
                let cols = ptr::slice(cols_out, cap, "cols_out")?;
                ptr::disjoint(rows, cols, "rows_out overlaps cols_out")?;
                for r in 0..starts.len().saturating_sub(1) {
                    rows[starts[r] as usize..starts[r + 1] as usize].fill(r as u32);
                }
                Ok(())
            })
        })
    })
}

/// The colour of every column (a forward Jacobian plan or a Hessian plan) or row (a
/// reverse Jacobian plan), into `colours_out[0..cap)`.
///
/// Statuses: `AD_ERR_NULL` (`plan`, or `colours_out` with `cap > 0`), `AD_ERR_MISALIGNED`,
/// `AD_ERR_INVALID_ARGUMENT` (not a live plan), `AD_ERR_SIZE_OVERFLOW` (`cap`),
/// `AD_ERR_BUFFER_TOO_SMALL` (`cap` below the number of coloured columns or rows).
#[no_mangle]
pub unsafe extern "C" fn ad_sparse_colouring(
    plan: *const ad_sparse,
    colours_out: *mut u32,
    cap: usize,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        status_of(unsafe {
            header(plan).and_then(|plan| fill(arrays(plan).2, colours_out, cap, "colours_out"))
        })
    })
}

/// Checks a value array of capacity `cap` against the plan's `nnz`.
fn values_len(nnz: usize, cap: usize) -> Result<()> {
    if cap < nnz {
        return Err(Failure::BufferTooSmall {
            what: "values_out",
            needed: nnz,
            cap,
        });
    }
    Ok(())
}

/// Evaluates a Jacobian plan at inputs `x[0..n)`: replays `tape` there (as
/// `ad_replay()`), then one vector sweep of `colours` directions, and writes the `nnz`
/// entries, in pattern order, into `values_out[0..cap)`. Needs `colours` values per
/// recorded variable of the tape's scratch, given back before returning.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `plan`, or an array whose count is not 0),
/// `AD_ERR_MISALIGNED`, `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (not a live plan; `n` is
/// not the number of inputs; the tape holds tensors), `AD_ERR_SIZE_OVERFLOW` (a count),
/// `AD_ERR_BUFFER_TOO_SMALL` (`cap` below `nnz`), `AD_ERR_OUT_OF_MEMORY` (the scratch does not
/// fit; the tape stays usable), `AD_ERR_STALE_PATTERN` (the tape was reset or recorded more since
/// the plan was made), `AD_ERR_FOREIGN_PATTERN` (a plan of another tape, or a Hessian plan),
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape), and the tape's sticky
/// error.
#[no_mangle]
pub unsafe extern "C" fn ad_sparse_jacobian_eval(
    tape: *mut ad_tape,
    plan: *const ad_sparse,
    x: *const f64,
    n: usize,
    values_out: *mut f64,
    cap: usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let AnyPlan::Jacobian(plan) = self::header(plan)? else {
                return Err(Error::ForeignPattern.into());
            };
            let x = ptr::slice(x, n, "x")?;
            values_len(plan.nnz(), cap)?;
            let values = ptr::slice_mut(values_out, cap, "values_out")?;
            ptr::disjoint(x, values, "values_out overlaps x")?;
            let values = &mut values[..plan.nnz()];
            with_tape!(&header.tape, t => Ok(plan.evaluate_as(t, x, values, Real::from_f64, Real::to_f64)?))
        })
    }
}

/// Evaluates a Hessian plan at inputs `x[0..n)` and output weights `weights[0..m)`:
/// replays `tape` at `x`, then one forward and one reverse sweep of `colours` directions,
/// and writes the `nnz` entries, in pattern order, into `values_out[0..cap)`. Needs
/// `2 × colours + 1` values per recorded variable of the tape's scratch, given back
/// before returning.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `plan`, or an array whose count is not 0),
/// `AD_ERR_MISALIGNED`, `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (not a live plan; `n` is
/// not the number of inputs or `m` the plan's outputs; arrays that overlap; the tape holds
/// tensors), `AD_ERR_SIZE_OVERFLOW` (a count), `AD_ERR_BUFFER_TOO_SMALL` (`cap` below `nnz`),
/// `AD_ERR_OUT_OF_MEMORY` (the scratch does not fit; the tape stays usable),
/// `AD_ERR_STALE_PATTERN` (the tape was reset or recorded more since the plan was made),
/// `AD_ERR_FOREIGN_PATTERN` (a plan of another tape, or a Jacobian plan), `AD_ERR_REENTRANT`
/// (called from inside a callback running on this tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_sparse_hessian_eval(
    tape: *mut ad_tape,
    plan: *const ad_sparse,
    x: *const f64,
    n: usize,
    weights: *const f64,
    m: usize,
    values_out: *mut f64,
    cap: usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let AnyPlan::Hessian(plan) = self::header(plan)? else {
                return Err(Error::ForeignPattern.into());
            };
            let x = ptr::slice(x, n, "x")?;
            let weights = ptr::slice(weights, m, "weights")?;
            values_len(plan.nnz(), cap)?;
            let values = ptr::slice_mut(values_out, cap, "values_out")?;
            ptr::disjoint(x, values, "values_out overlaps x")?;
            ptr::disjoint(weights, values, "values_out overlaps weights")?;
            let values = &mut values[..plan.nnz()];
            with_tape!(&header.tape, t => Ok(plan.evaluate_as(
                t, x, weights, values, Real::from_f64, Real::to_f64)?))
        })
    }
}
