//! Checkpointing from C: segments of a recording (`ad_checkpoint()`) and gradients of
//! long chains in bounded memory (`ad_chain_gradient()`, `ad_chain_gradient_online()`).
//!
//! Both run C callbacks that record on an `ad_tape*`. Three rules keep that sound:
//!
//! - **The callback always gets a live header.** A segment's block keeps the `ad_tape*`
//!   it was recorded on (the header lives in the caller's memory, which outlives the
//!   records), and the core calls it back, when it records the block again in a sweep,
//!   with that same pointer. A chain places an `ad_tape` header of its own in the
//!   caller's memory, after the workspace, and the core driver borrows the tape inside
//!   that header (`chain_gradient_on_tape`): the steps record through the same header
//!   the driver sweeps, and the header is ended before the call returns.
//! - **The tape is lent while a callback runs.** `ad_tape_reset()`, `ad_tape_done()` and
//!   `ad_tape_free()` on it refuse (and fail the tape), since the core code that called
//!   the callback still uses it.
//! - **Nothing unwinds across C.** Every entry point runs inside the panic boundary, and
//!   every call a callback makes back into the library has its own; a callback's status
//!   becomes a core error, so the core's own error paths leave the tape consistent.

use crate::error::{ad_status, Failure, Result, StatusArg};
use crate::ptr;
use crate::scalar::Elem;
use crate::tape::{ad_dtype, ad_tape, ad_tape_done, ad_tape_init, call, header, AnyTape};
use crate::tape::{DtypeArg, Header};
use crate::tensor::ad_tensor;
use crate::var::ad_var;
use autodiff_core::checkpoint::{
    chain_gradient_on_tape, chain_gradient_online_on_tape, workspace_bytes, Online, Schedule,
    Segment, Step,
};
use autodiff_core::{Error, Float, Tape, VarId};
use core::ffi::{c_int, c_void};
use core::mem::{align_of, size_of, MaybeUninit};

/// A block of a recording that `ad_checkpoint()` keeps only the outputs of.
///
/// It records its outputs from `inputs` (`n_in` variables) on `tape`, writing `n_out`
/// variables into `outputs` (preset to invalid variables), and returns `AD_OK`. It runs
/// once inside `ad_checkpoint()` and again in every `ad_backward()`, `ad_gradient()`,
/// `ad_jvp()`, `ad_replay()` or Jacobian that reaches the segment, and must record the
/// same ops from the same values every time. `inputs` and `outputs` may be NULL when
/// their count is 0; they are valid only during the call.
///
/// Inside, the block may use any recording call on `tape`, and `ad_checkpoint()` again
/// (segments nest). It must not: reset or end `tape` (refused, and the tape fails),
/// record independent inputs with `ad_input()`, run a sweep (`ad_backward()` ...) on
/// `tape`, keep the variables it made after it returns, write to the arrays it was
/// given other than `outputs`, or leave by `longjmp` or a C++ exception.
///
/// A status other than `AD_OK` fails the segment: the tape's sticky error if it has one
/// (an op inside the block failed), otherwise the status itself becomes the tape's
/// error; see `ad_checkpoint()`.
pub type ad_segment_fn = Option<
    unsafe extern "C" fn(
        tape: *mut ad_tape,
        inputs: *const ad_var,
        n_in: usize,
        outputs: *mut ad_var,
        n_out: usize,
        user_data: *mut c_void,
    ) -> StatusArg,
>;

/// One step of a chain for `ad_chain_gradient()`: records `x_{k+1} = step(x_k, params)`.
///
/// `state` holds the `d` variables of `x_k`, `params` the `p` variables of the
/// parameters (each may be NULL when its count is 0); the step writes the `d` variables
/// of `x_{k+1}` into `next` (preset to invalid variables) and returns `AD_OK`. It is
/// called with the same `k` more than once (states are recomputed from snapshots) and
/// must record the same ops from the same values every time. It may record constants
/// and ops on `tape`, and `ad_checkpoint()`; it must not reset or end `tape` (refused,
/// and the chain fails), record inputs, run sweeps on it, keep variables or the `tape`
/// pointer past its return, or leave by `longjmp` or a C++ exception. Each component of
/// `next` should be a distinct variable the step recorded (not an input handed back):
/// otherwise the gradients are still right but may differ in the last bits from a
/// single recording of the whole chain.
pub type ad_step_fn = Option<
    unsafe extern "C" fn(
        tape: *mut ad_tape,
        k: usize,
        state: *const ad_var,
        params: *const ad_var,
        next: *mut ad_var,
        user_data: *mut c_void,
    ) -> StatusArg,
>;

/// The loss of a chain: records a scalar from the `d` variables of the final state
/// (`state`) and the `p` parameter variables, and returns it. Same rules as
/// `ad_step_fn`. A failed op makes it return the invalid variable, which fails the
/// chain with the tape's error.
pub type ad_loss_fn = Option<
    unsafe extern "C" fn(
        tape: *mut ad_tape,
        state: *const ad_var,
        params: *const ad_var,
        user_data: *mut c_void,
    ) -> ad_var,
>;

/// The stop condition of `ad_chain_gradient_online()`: returns non-zero when the chain
/// ends at state `x_k` (`d` values at `state`, valid during the call), so the chain has
/// `k` steps. Called with `k = 0, 1, 2, ...` in order, once each.
pub type ad_done_fn = Option<
    unsafe extern "C" fn(k: usize, state: *const f64, d: usize, user_data: *mut c_void) -> c_int,
>;

/// The optional tape-free evaluation of a chain step for `ad_chain_gradient_eval()`:
/// writes the `d` values of `x_{k+1}` into `next` from the `d` values of `x_k` at
/// `state` and the `p` parameters at `params` (each may be NULL when its count is 0),
/// and returns `AD_OK`. The schedule's forward-only runs then skip the tape, which
/// makes them several times cheaper. To keep the gradients bitwise equal to a single
/// recording of the chain, compute exactly what the recorded ops compute (same
/// operations in the same order, and the library's own functions for anything
/// libm may round differently: the `ad_dual_*` functions give the tape's values). On
/// an `AD_F32` chain the values are the tape's floats widened to double and `next` is
/// rounded to float: compute in float to match the tape. A status other than `AD_OK`
/// fails the chain with that status (as `ad_checkpoint()` maps a block's status).
pub type ad_eval_fn = Option<
    unsafe extern "C" fn(
        k: usize,
        state: *const f64,
        params: *const f64,
        next: *mut f64,
        user_data: *mut c_void,
    ) -> StatusArg,
>;

/// The function inside an `ad_eval_fn`.
/// cbindgen:ignore
type EvalFn =
    unsafe extern "C" fn(usize, *const f64, *const f64, *mut f64, *mut c_void) -> StatusArg;

/// What a chain gradient computed and cost.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ad_chain_report {
    /// The loss at the final state.
    pub loss: f64,
    /// The number of steps `n`.
    pub steps: usize,
    /// Steps run forward for their value only (recorded and read, then dropped): the
    /// recomputation. With `n` known in advance it is the proven minimum for `n` steps
    /// and `snapshots` stored states (Griewank & Walther's binomial schedule).
    pub advances: usize,
    /// Steps recorded and run backward: `n`.
    pub recorded: usize,
    /// The most bytes of `mem` in use at once, counted from its start: the buffers and
    /// snapshots, the tape's header, and the tape's largest recording.
    pub peak_bytes: usize,
}

// ---- segments ----

/// A segment block over tensors for `ad_checkpoint_tensors()`: as `ad_segment_fn`, with
/// tensors (of any rank) for inputs and outputs. Inside, the block records tensor ops
/// (and scalar ones, through `ad_tensor_as_var()`) on `tape`.
pub type ad_segment_tensors_fn = Option<
    unsafe extern "C" fn(
        tape: *mut ad_tape,
        inputs: *const ad_tensor,
        n_in: usize,
        outputs: *mut ad_tensor,
        n_out: usize,
        user_data: *mut c_void,
    ) -> StatusArg,
>;

/// The handles a segment's block takes: `ad_var` or `ad_tensor`, both the two `u32`s of
/// the core's `VarId` (the core takes tensors as `VarId::from(TensorId)`, the same bits).
trait Handle: Copy + 'static {}
impl Handle for ad_var {}
impl Handle for ad_tensor {}

const _: () = {
    assert!(size_of::<ad_tensor>() == size_of::<VarId>());
    assert!(align_of::<ad_tensor>() == align_of::<VarId>());
    assert!(core::mem::offset_of!(ad_tensor, index) == core::mem::offset_of!(VarId, index));
    assert!(core::mem::offset_of!(ad_tensor, tag) == core::mem::offset_of!(VarId, tag));
};

/// The C function inside an `ad_segment_fn` or `ad_segment_tensors_fn`.
type BlockFn<H> =
    unsafe extern "C" fn(*mut ad_tape, *const H, usize, *mut H, usize, *mut c_void) -> StatusArg;

/// The block a segment keeps in the tape's arena: the C callback, its user data, and the
/// header to call it back with.
struct CBlock<H: Handle> {
    call: BlockFn<H>,
    user_data: *mut c_void,
    tape: *mut ad_tape,
}

impl<H: Handle> Clone for CBlock<H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H: Handle> Copy for CBlock<H> {}

/// The element types that checkpointing supports, and how to find their tape.
pub trait CheckpointElem: Elem + Float {
    const DTYPE: ad_dtype;
    /// The typed tape inside `any`, when it holds this type.
    fn typed(any: &AnyTape) -> Option<&Tape<'static, Self>>;
    /// `values` as `[f64]` without copying, when `Self` is `f64`.
    fn as_f64(values: &[Self]) -> Option<&[f64]>;
    /// `values` as `[f64]` without copying, when `Self` is `f64`.
    fn as_f64_mut(values: &mut [Self]) -> Option<&mut [f64]>;
}

impl CheckpointElem for f32 {
    const DTYPE: ad_dtype = ad_dtype::AD_F32;
    fn typed(any: &AnyTape) -> Option<&Tape<'static, f32>> {
        match any {
            AnyTape::F32(t) => Some(t),
            _ => None,
        }
    }
    fn as_f64(_: &[f32]) -> Option<&[f64]> {
        None
    }
    fn as_f64_mut(_: &mut [f32]) -> Option<&mut [f64]> {
        None
    }
}

impl CheckpointElem for f64 {
    const DTYPE: ad_dtype = ad_dtype::AD_F64;
    fn typed(any: &AnyTape) -> Option<&Tape<'static, f64>> {
        match any {
            AnyTape::F64(t) => Some(t),
            _ => None,
        }
    }
    fn as_f64(values: &[f64]) -> Option<&[f64]> {
        Some(values)
    }
    fn as_f64_mut(values: &mut [f64]) -> Option<&mut [f64]> {
        Some(values)
    }
}

impl<T: CheckpointElem, H: Handle> Segment<T> for CBlock<H> {
    fn record(
        &self,
        tape: &Tape<'_, T>,
        inputs: &[VarId],
        outputs: &mut [VarId],
    ) -> autodiff_core::Result<()> {
        // SAFETY: the pointer `ad_checkpoint` was called with, to a header that lives as
        // long as the records of its tape (the header's contract); the magic number
        // catches an ended one, best effort.
        let header = unsafe { header(self.tape) }
            .map_err(|_| Error::InvalidArgument("checkpoint block: its tape is no longer live"))?;
        let same = T::typed(&header.tape).is_some_and(|own| {
            core::ptr::eq(
                (own as *const Tape<'_, T>).cast::<u8>(),
                (tape as *const Tape<'_, T>).cast::<u8>(),
            )
        });
        if !same {
            return Err(Error::InvalidArgument(
                "checkpoint block: called on another tape than its own",
            ));
        }
        let _lent = header.lend();
        // SAFETY: the block's contract: a C function of this signature. The arrays are
        // valid for the call; `H` and `VarId` share their layout.
        let status = unsafe {
            (self.call)(
                self.tape,
                vars_ptr(inputs).cast::<H>(),
                inputs.len(),
                vars_mut_ptr(outputs).cast::<H>(),
                outputs.len(),
                self.user_data,
            )
        };
        callback_result(tape, status)
    }
}

/// `vars` for C: NULL when empty.
fn vars_ptr(vars: &[VarId]) -> *const ad_var {
    if vars.is_empty() {
        core::ptr::null()
    } else {
        vars.as_ptr().cast()
    }
}

fn vars_mut_ptr(vars: &mut [VarId]) -> *mut ad_var {
    if vars.is_empty() {
        core::ptr::null_mut()
    } else {
        vars.as_mut_ptr().cast()
    }
}

/// Handles as the core's (same layout: asserted here and in `var.rs`).
fn as_ids<H: Handle>(vars: &[H]) -> &[VarId] {
    // SAFETY: same size, alignment and fields.
    unsafe { core::slice::from_raw_parts(vars.as_ptr().cast(), vars.len()) }
}

fn as_ids_mut<H: Handle>(vars: &mut [H]) -> &mut [VarId] {
    // SAFETY: as in `as_ids`.
    unsafe { core::slice::from_raw_parts_mut(vars.as_mut_ptr().cast(), vars.len()) }
}

/// The error a callback's `status` stands for: the tape's sticky error when it has one
/// (the callback's own op failed, which says most), else the status itself.
fn callback_result<T: Elem>(tape: &Tape<'_, T>, status: StatusArg) -> autodiff_core::Result<()> {
    if status.0 == ad_status::AD_OK as c_int {
        return Ok(());
    }
    tape.status()?;
    Err(error_of_status(status))
}

/// A core error for a status a callback returned: the same code where the core has an
/// error that carries no numbers, `InvalidArgument` naming the code otherwise.
fn error_of_status(status: StatusArg) -> Error {
    use ad_status::*;
    match ad_status::from_code(status.0) {
        Some(AD_ERR_STALE_HANDLE) => Error::StaleHandle,
        Some(AD_ERR_FOREIGN_HANDLE) => Error::ForeignHandle,
        Some(AD_ERR_SIZE_OVERFLOW) => Error::SizeOverflow,
        Some(AD_ERR_DTYPE_MISMATCH) => Error::DtypeMismatch,
        Some(AD_ERR_NO_DEVICE) => Error::NoDevice,
        Some(AD_ERR_INVALID_ARGUMENT) => {
            Error::InvalidArgument("a callback returned AD_ERR_INVALID_ARGUMENT")
        }
        Some(AD_ERR_NON_FINITE) => Error::NonFinite("a callback returned AD_ERR_NON_FINITE"),
        Some(AD_ERR_BACKEND) => Error::Backend("a callback returned AD_ERR_BACKEND"),
        Some(AD_ERR_NULL) => Error::InvalidArgument("a callback returned AD_ERR_NULL"),
        Some(AD_ERR_INVALID_TAPE) => {
            Error::InvalidArgument("a callback returned AD_ERR_INVALID_TAPE")
        }
        Some(AD_ERR_PANIC) => Error::InvalidArgument("a callback returned AD_ERR_PANIC"),
        Some(AD_ERR_OUT_OF_MEMORY) => {
            Error::InvalidArgument("a callback returned AD_ERR_OUT_OF_MEMORY")
        }
        Some(AD_ERR_TOO_MANY_VARIABLES) => {
            Error::InvalidArgument("a callback returned AD_ERR_TOO_MANY_VARIABLES")
        }
        Some(AD_ERR_SHAPE_MISMATCH) => {
            Error::InvalidArgument("a callback returned AD_ERR_SHAPE_MISMATCH")
        }
        Some(AD_ERR_MODIFIED_IN_PLACE) => {
            Error::InvalidArgument("a callback returned AD_ERR_MODIFIED_IN_PLACE")
        }
        Some(AD_ERR_MISALIGNED) => Error::InvalidArgument("a callback returned AD_ERR_MISALIGNED"),
        Some(AD_ERR_OTHER) => Error::InvalidArgument("a callback returned AD_ERR_OTHER"),
        Some(AD_ERR_BUFFER_TOO_SMALL) => {
            Error::InvalidArgument("a callback returned AD_ERR_BUFFER_TOO_SMALL")
        }
        Some(AD_OK) | None => Error::InvalidArgument("a callback returned an unknown status"),
    }
}

/// Records `block` as a checkpointed segment: runs it on `inputs` (`n_in` variables),
/// keeps only the values of its `n_out` outputs, and drops everything it recorded. The
/// backward sweep records the block again when it reaches the segment, so the memory a
/// recording needs is what stays outside segments plus the largest one block records,
/// instead of everything. Gradients are bitwise the same as recording the block
/// without `ad_checkpoint()`, provided the block is deterministic and each output is a
/// distinct variable it recorded (not an input handed back).
///
/// On success writes one new variable per output into `outputs` (`n_out` of them);
/// variables the block made are gone (stale). `user_data` is passed to every call of
/// `block`; it and whatever it points at must stay valid as long as the tape may sweep
/// the segment (until `ad_tape_reset()` or the tape's end). The segment keeps `tape`
/// too: a tape's header must not move while it holds segments.
///
/// Works on `AD_F32` and `AD_F64` tapes; an `AD_F64_DUAL` tape gives
/// `AD_ERR_DTYPE_MISMATCH`. Also fails with `AD_ERR_NULL` (NULL `tape`, `block`, or an
/// array whose count is not 0), `AD_ERR_INVALID_ARGUMENT` (`inputs` and `outputs`
/// overlap, a block output left unset), handle errors for `inputs`, the tape's sticky
/// error, `AD_ERR_OUT_OF_MEMORY` when the segment and what its backward needs do not
/// fit, and with the block's failure: the tape's error when the block's own op failed,
/// else the status the block returned (kept as is when it is `AD_ERR_INVALID_ARGUMENT`,
/// `AD_ERR_NON_FINITE`, `AD_ERR_BACKEND`, `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_SIZE_OVERFLOW`, `AD_ERR_DTYPE_MISMATCH` or
/// `AD_ERR_NO_DEVICE`, reported as `AD_ERR_INVALID_ARGUMENT` naming it otherwise; see
/// `ad_tape_error()`). Recording failures are sticky, as for any op: the tape keeps the
/// error, and when `outputs` could be written it holds invalid variables. Argument
/// failures are sticky too, since the call records.
///
/// For tensors, see `ad_checkpoint_tensors()`.
#[no_mangle]
pub unsafe extern "C" fn ad_checkpoint(
    tape: *mut ad_tape,
    block: ad_segment_fn,
    user_data: *mut c_void,
    inputs: *const ad_var,
    n_in: usize,
    outputs: *mut ad_var,
    n_out: usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe { checkpoint(tape, block, user_data, inputs, n_in, outputs, n_out) }
}

/// `ad_checkpoint()` with tensors for the block's inputs and outputs: `inputs` and
/// `outputs` hold `ad_tensor`s of any rank (an output is a new tensor holding a copy of
/// the block's output value, and a gradient buffer). Everything else as
/// `ad_checkpoint()`; scalars cross as rank-0 tensors.
#[no_mangle]
pub unsafe extern "C" fn ad_checkpoint_tensors(
    tape: *mut ad_tape,
    block: ad_segment_tensors_fn,
    user_data: *mut c_void,
    inputs: *const ad_tensor,
    n_in: usize,
    outputs: *mut ad_tensor,
    n_out: usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe { checkpoint(tape, block, user_data, inputs, n_in, outputs, n_out) }
}

/// Both checkpoint calls. Every failure on a live tape is sticky, as for any recording.
///
/// # Safety
/// The caller's contract, as for `ad_checkpoint()`.
unsafe fn checkpoint<H: Handle>(
    tape: *mut ad_tape,
    block: Option<BlockFn<H>>,
    user_data: *mut c_void,
    inputs: *const H,
    n_in: usize,
    outputs: *mut H,
    n_out: usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let result = (|| {
                let inputs = ptr::slice(inputs, n_in, "inputs")?;
                let outputs = ptr::slice_mut(outputs, n_out, "outputs")?;
                ptr::disjoint(inputs, outputs, "checkpoint: inputs and outputs overlap")?;
                let (inputs, outputs) = (as_ids(inputs), as_ids_mut(outputs));
                outputs.fill(VarId::INVALID);
                let call = block.ok_or(Failure::Null("block"))?;
                let block = CBlock {
                    call,
                    user_data,
                    tape,
                };
                match &header.tape {
                    AnyTape::F32(t) => t.checkpoint(block, inputs, outputs)?,
                    AnyTape::F64(t) => t.checkpoint(block, inputs, outputs)?,
                    AnyTape::F64Dual(_) => return Err(Error::DtypeMismatch.into()),
                }
                Ok(())
            })();
            if let Err(failure) = result {
                header.fail_op(failure);
            }
            result
        })
    }
}

// ---- chains ----

/// A chain step that calls C.
struct CStep<'a> {
    call: unsafe extern "C" fn(
        *mut ad_tape,
        usize,
        *const ad_var,
        *const ad_var,
        *mut ad_var,
        *mut c_void,
    ) -> StatusArg,
    user_data: *mut c_void,
    tape: *mut ad_tape,
    eval: Option<EvalFn>,
    /// For `eval` on a converted chain: `[state (d) | params (p) | next (d)]` as doubles.
    scratch: &'a mut [f64],
}

impl<T: CheckpointElem> Step<T> for CStep<'_> {
    fn record(
        &mut self,
        tape: &Tape<'_, T>,
        k: usize,
        state: &[VarId],
        params: &[VarId],
        next: &mut [VarId],
    ) -> autodiff_core::Result<()> {
        // SAFETY: the callback's contract; the chain's header is live and lent for the
        // whole call, and the arrays are valid for this call.
        let status = unsafe {
            (self.call)(
                self.tape,
                k,
                vars_ptr(state),
                vars_ptr(params),
                vars_mut_ptr(next),
                self.user_data,
            )
        };
        callback_result(tape, status)
    }

    fn evaluate(
        &mut self,
        k: usize,
        state: &[T],
        params: &[T],
        next: &mut [T],
    ) -> autodiff_core::Result<bool> {
        let Some(eval) = self.eval else {
            return Ok(false);
        };
        let values = |v: &[f64]| {
            if v.is_empty() {
                core::ptr::null()
            } else {
                v.as_ptr()
            }
        };
        let status = match (T::as_f64(state), T::as_f64(params)) {
            (Some(x), Some(p)) => {
                let n = T::as_f64_mut(next).ok_or(Error::DtypeMismatch)?;
                let at = if n.is_empty() {
                    core::ptr::null_mut()
                } else {
                    n.as_mut_ptr()
                };
                // SAFETY: the callback's contract; the arrays are valid for the call.
                unsafe { eval(k, values(x), values(p), at, self.user_data) }
            }
            _ => {
                let (d, p) = (state.len(), params.len());
                let (xs, rest) = self.scratch.split_at_mut(d);
                let (ps, ns) = rest.split_at_mut(p);
                for (o, v) in xs.iter_mut().zip(state) {
                    *o = v.to_f64();
                }
                for (o, v) in ps.iter_mut().zip(params) {
                    *o = v.to_f64();
                }
                let at = if ns.is_empty() {
                    core::ptr::null_mut()
                } else {
                    ns.as_mut_ptr()
                };
                // SAFETY: as above.
                let status = unsafe { eval(k, values(xs), values(ps), at, self.user_data) };
                for (o, &v) in next.iter_mut().zip(ns.iter()) {
                    *o = T::from_f64(v);
                }
                status
            }
        };
        if status.0 != ad_status::AD_OK as c_int {
            return Err(error_of_status(status));
        }
        Ok(true)
    }
}

/// Cuts typed arrays from the front of the caller's memory.
struct Cut {
    base: *mut u8,
    len: usize,
    used: usize,
}

impl Cut {
    /// `count` values of `U`, aligned, uninitialised.
    fn take<U>(&mut self, count: usize) -> Result<*mut U> {
        let at = self.base as usize;
        let start = at
            .checked_add(self.used)
            .and_then(|a| a.checked_next_multiple_of(align_of::<U>()))
            .ok_or(Error::SizeOverflow)?
            - at;
        let end = count
            .checked_mul(size_of::<U>())
            .and_then(|bytes| bytes.checked_add(start))
            .ok_or(Error::SizeOverflow)?;
        if end > self.len {
            return Err(Error::OutOfMemory {
                needed: end,
                free: self.len,
            }
            .into());
        }
        self.used = end;
        Ok(self.base.wrapping_add(start).cast())
    }

    /// `count` bytes, uninitialised, as in `zeroed`.
    fn bytes<'m>(&mut self, count: usize) -> Result<&'m mut [MaybeUninit<u8>]> {
        let at = self.take::<MaybeUninit<u8>>(count)?;
        // SAFETY: as in `zeroed`; uninitialised bytes are valid `MaybeUninit`s.
        Ok(unsafe { core::slice::from_raw_parts_mut(at, count) })
    }

    /// `count` values of `U`, aligned, zeroed: a slice of the caller's memory that no
    /// other cut overlaps, for as long as the memory is lent to the call.
    fn zeroed<'m, U: Copy + Default>(&mut self, count: usize) -> Result<&'m mut [U]> {
        let at = self.take::<U>(count)?;
        // SAFETY: `count` aligned values inside `mem`, disjoint from every other cut;
        // each is written before the slice is formed.
        unsafe {
            for i in 0..count {
                at.add(i).write(U::default());
            }
            Ok(core::slice::from_raw_parts_mut(at, count))
        }
    }
}

/// Bytes of the `double` ↔ element conversion buffers an `AD_F32` chain cuts first
/// (`x0`, `params`, both gradients; a state of doubles for the stop condition, and two
/// states and the parameters for the evaluation), alignment included; none for
/// `AD_F64`.
fn conversion_bytes<T: CheckpointElem>(d: usize, p: usize) -> Option<usize> {
    if T::native(&[]).is_some() {
        return Some(0);
    }
    let values = d
        .checked_add(p)?
        .checked_mul(2)?
        .checked_mul(size_of::<T>())?;
    let doubles = d.checked_mul(3)?.checked_add(p)?;
    values
        .checked_add(doubles.checked_mul(size_of::<f64>())?)?
        .checked_add(4 * (align_of::<T>() - 1) + 2 * (align_of::<f64>() - 1))
}

/// What `mem` needs before the tape's header: conversion buffers and the driver's
/// workspace.
fn chain_workspace<T: CheckpointElem>(d: usize, p: usize, slots: usize) -> Result<usize> {
    conversion_bytes::<T>(d, p)
        .and_then(|c| c.checked_add(workspace_bytes::<T>(d, p, slots)?))
        .ok_or(Error::SizeOverflow.into())
}

/// The bytes `ad_tape_bytes_for()` reports for `records`.
fn tape_bytes<T: CheckpointElem>(records: usize) -> Result<usize> {
    let mut bytes = 0;
    // SAFETY: `bytes` is a valid place for one `usize`.
    let status =
        unsafe { crate::tape::ad_tape_bytes_for(records, DtypeArg(T::DTYPE as c_int), &mut bytes) };
    match status {
        ad_status::AD_OK => Ok(bytes),
        _ => Err(Error::SizeOverflow.into()),
    }
}

/// The caller's arguments of a chain gradient, checked.
struct ChainArgs<'a> {
    mem: *mut u8,
    len: usize,
    x0: &'a [f64],
    params: &'a [f64],
    grad_x0: &'a mut [f64],
    grad_params: &'a mut [f64],
    report: Option<&'a mut ad_chain_report>,
    step: CStep<'a>,
    loss: unsafe extern "C" fn(*mut ad_tape, *const ad_var, *const ad_var, *mut c_void) -> ad_var,
    user_data: *mut c_void,
}

/// Which driver runs.
enum Mode {
    /// `n` known: `steps` steps.
    Offline { steps: usize },
    /// Until the stop condition holds.
    Online {
        done: unsafe extern "C" fn(usize, *const f64, usize, *mut c_void) -> c_int,
    },
}

/// Ends the chain's tape when dropped (also on unwinding), so that a pointer to it a
/// callback kept reads as ended.
struct EndTape(*mut ad_tape);

impl Drop for EndTape {
    fn drop(&mut self) {
        // SAFETY: the header `ad_tape_init` made for this call; nothing uses it after.
        let _ = unsafe { ad_tape_done(self.0) };
    }
}

/// The chain gradient in elements of `T`, once the arguments are checked.
fn chain<T: CheckpointElem>(args: ChainArgs<'_>, mode: Mode, snapshots: usize) -> Result<()> {
    let (d, p) = (args.x0.len(), args.params.len());
    // The schedule's own argument checks come before any sizing.
    let slots = match mode {
        Mode::Offline { steps } => {
            Schedule::new(steps, snapshots)?;
            snapshots.min(steps)
        }
        Mode::Online { .. } => {
            Online::new(snapshots)?;
            snapshots
        }
    };
    // Up front, before any callback: the buffers, the workspace, the tape's header and
    // the records of the step's inputs and one more must fit.
    let conversion = conversion_bytes::<T>(d, p).ok_or(Error::SizeOverflow)?;
    let workspace = chain_workspace::<T>(d, p, slots)?;
    let records = d
        .checked_add(p)
        .and_then(|n| n.checked_add(1))
        .ok_or(Error::SizeOverflow)?;
    let needed = workspace
        .checked_add(tape_bytes::<T>(records)?)
        .ok_or(Error::SizeOverflow)?;
    let out_of_memory = || -> Failure {
        Error::OutOfMemory {
            needed,
            free: args.len,
        }
        .into()
    };
    if args.len < needed {
        return Err(out_of_memory());
    }

    // Layout of `mem`: [conversion buffers (AD_F32)] [driver workspace] [ad_tape header,
    // arena]. The caller's arrays serve directly for AD_F64.
    let mut cut = Cut {
        base: args.mem,
        len: args.len,
        used: 0,
    };
    let converted = T::native(&[]).is_none();
    let mut buffers = if converted {
        let x0 = cut.zeroed::<T>(d)?;
        let params = cut.zeroed::<T>(p)?;
        let gx = cut.zeroed::<T>(d)?;
        let gp = cut.zeroed::<T>(p)?;
        let state = cut.zeroed::<f64>(d)?;
        let scratch = cut.zeroed::<f64>(
            d.checked_mul(2)
                .and_then(|n| n.checked_add(p))
                .ok_or(Error::SizeOverflow)?,
        )?;
        for (t, &v) in x0.iter_mut().zip(args.x0) {
            *t = T::from_f64(v);
        }
        for (t, &v) in params.iter_mut().zip(args.params) {
            *t = T::from_f64(v);
        }
        Some((x0, params, gx, gp, state, scratch))
    } else {
        None
    };
    cut.used = conversion;
    let ws = cut.bytes(workspace - conversion)?;

    // The tape: an ordinary `ad_tape` header in the rest of `mem`. The driver borrows
    // the core tape inside it and the callbacks record through the header.
    let mut tape_ptr: *mut ad_tape = core::ptr::null_mut();
    // SAFETY: the tail of `mem`, disjoint from everything cut above.
    let status = unsafe {
        ad_tape_init(
            args.mem.wrapping_add(cut.used).cast(),
            args.len - cut.used,
            DtypeArg(T::DTYPE as c_int),
            &mut tape_ptr,
        )
    };
    if status != ad_status::AD_OK {
        return Err(out_of_memory());
    }
    let _end = EndTape(tape_ptr);
    // SAFETY: just made, and live until `_end` drops.
    let header: &Header = unsafe { header(tape_ptr) }?;
    let tape = T::typed(&header.tape).ok_or(Error::DtypeMismatch)?;
    let input_bytes = Tape::<T>::bytes_for_records(records).ok_or(Error::SizeOverflow)?;
    if tape.capacity_bytes() < input_bytes {
        return Err(out_of_memory());
    }
    let tape_start = tape_ptr as usize + size_of::<Header>() - args.mem as usize;

    let ChainArgs {
        x0,
        params,
        grad_x0,
        grad_params,
        report,
        mut step,
        loss,
        user_data,
        ..
    } = args;
    step.tape = tape_ptr;
    let loss = |_: &Tape<'_, T>, state: &[VarId], params: &[VarId]| -> VarId {
        // SAFETY: the callback's contract; the header is live and lent.
        unsafe { loss(tape_ptr, vars_ptr(state), vars_ptr(params), user_data) }.into()
    };
    let (x0, params, gx_buf, gp_buf, state) = match buffers.as_mut() {
        Some((x0, params, gx, gp, state, scratch)) => {
            step.scratch = scratch;
            (
                &**x0,
                &**params,
                Some(&mut **gx),
                Some(&mut **gp),
                Some(&mut **state),
            )
        }
        None => (
            T::native(x0).ok_or(Error::DtypeMismatch)?,
            T::native(params).ok_or(Error::DtypeMismatch)?,
            None,
            None,
            None,
        ),
    };

    let lent = header.lend();
    let result = with_grads(grad_x0, gx_buf, |gx| {
        with_grads(grad_params, gp_buf, |gp| match mode {
            Mode::Offline { steps } => Ok(chain_gradient_on_tape(
                tape, ws, steps, snapshots, x0, params, &mut step, loss, gx, gp,
            )?),
            Mode::Online { done } => {
                let mut state = state;
                let done = |k: usize, x: &[T]| -> bool {
                    let values: &[f64] = match (T::as_f64(x), state.as_deref_mut()) {
                        (Some(values), _) => values,
                        (None, Some(buffer)) => {
                            for (o, v) in buffer.iter_mut().zip(x) {
                                *o = v.to_f64();
                            }
                            buffer
                        }
                        (None, None) => &[],
                    };
                    let at = if values.is_empty() {
                        core::ptr::null()
                    } else {
                        values.as_ptr()
                    };
                    // SAFETY: the callback's contract; `values` is valid for the call.
                    unsafe { done(k, at, values.len(), user_data) != 0 }
                };
                Ok(chain_gradient_online_on_tape(
                    tape, ws, snapshots, x0, params, &mut step, done, loss, gx, gp,
                )?)
            }
        })
    });
    drop(lent);
    let done = result?;
    if let Some(out) = report {
        *out = ad_chain_report {
            loss: done.loss.to_f64(),
            steps: done.steps,
            advances: done.advances,
            recorded: done.recorded,
            peak_bytes: tape_start
                .saturating_add(done.peak_bytes.saturating_sub(done.workspace_bytes)),
        };
    }
    Ok(())
}

/// Runs `f` on the gradient `out` as `[T]`: `out` itself for f64, else `buffer`, copied
/// into `out` when `f` succeeds. `out` is written only on success.
fn with_grads<T: CheckpointElem, R>(
    out: &mut [f64],
    buffer: Option<&mut [T]>,
    f: impl FnOnce(&mut [T]) -> Result<R>,
) -> Result<R> {
    match buffer {
        Some(buffer) => {
            let result = f(buffer)?;
            for (o, v) in out.iter_mut().zip(buffer.iter()) {
                *o = v.to_f64();
            }
            Ok(result)
        }
        None => f(T::native_mut(out).ok_or(Error::DtypeMismatch)?),
    }
}

/// Whether the `len` bytes at `mem` and the array `a` overlap.
fn overlaps<A>(mem: *const u8, len: usize, a: &[A]) -> bool {
    let (m0, m1) = (mem as usize, mem as usize + len);
    let (a0, a1) = (
        a.as_ptr() as usize,
        a.as_ptr() as usize + core::mem::size_of_val(a),
    );
    !a.is_empty() && a0 < m1 && m0 < a1
}

/// Checks every argument of `ad_chain_gradient()` and `ad_chain_gradient_online()` and
/// runs the chain in the tape's element type.
///
/// # Safety
/// The pointer contract of the header: each pointer valid for its stated length.
#[allow(clippy::too_many_arguments)]
unsafe fn chain_entry(
    mem: *mut c_void,
    len: usize,
    dtype: DtypeArg,
    mode: Mode,
    snapshots: usize,
    x0: *const f64,
    d: usize,
    params: *const f64,
    p: usize,
    step: ad_step_fn,
    eval: ad_eval_fn,
    loss: ad_loss_fn,
    user_data: *mut c_void,
    grad_x0_out: *mut f64,
    grad_params_out: *mut f64,
    report_out: *mut ad_chain_report,
) -> Result<()> {
    if mem.is_null() {
        return Err(Failure::Null("mem"));
    }
    if len > isize::MAX as usize || (mem as usize).checked_add(len).is_none() {
        return Err(Error::SizeOverflow.into());
    }
    // SAFETY: the caller's contract, for each array and its length.
    let (x0, params, grad_x0, grad_params) = unsafe {
        (
            ptr::slice(x0, d, "x0")?,
            ptr::slice(params, p, "params")?,
            ptr::slice_mut(grad_x0_out, d, "grad_x0_out")?,
            ptr::slice_mut(grad_params_out, p, "grad_params_out")?,
        )
    };
    let report = if report_out.is_null() {
        None
    } else {
        // SAFETY: as above.
        Some(unsafe { ptr::out(report_out, "report_out") }?)
    };
    let step = step.ok_or(Failure::Null("step"))?;
    let loss = loss.ok_or(Failure::Null("loss"))?;
    ptr::disjoint(x0, grad_x0, "chain gradient: x0 and grad_x0_out overlap")?;
    ptr::disjoint(
        x0,
        grad_params,
        "chain gradient: x0 and grad_params_out overlap",
    )?;
    ptr::disjoint(
        params,
        grad_x0,
        "chain gradient: params and grad_x0_out overlap",
    )?;
    ptr::disjoint(
        params,
        grad_params,
        "chain gradient: params and grad_params_out overlap",
    )?;
    ptr::disjoint(
        grad_x0,
        grad_params,
        "chain gradient: the two gradients overlap",
    )?;
    let mem = mem.cast::<u8>();
    let in_mem = overlaps(mem, len, x0)
        || overlaps(mem, len, params)
        || overlaps(mem, len, grad_x0)
        || overlaps(mem, len, grad_params)
        || report
            .as_deref()
            .is_some_and(|r| overlaps(mem, len, core::slice::from_ref(r)));
    if in_mem {
        return Err(
            Error::InvalidArgument("chain gradient: an argument array lies inside mem").into(),
        );
    }
    let args = ChainArgs {
        mem,
        len,
        x0,
        params,
        grad_x0,
        grad_params,
        report,
        step: CStep {
            call: step,
            user_data,
            tape: core::ptr::null_mut(),
            eval,
            scratch: &mut [],
        },
        loss,
        user_data,
    };
    match dtype.get()? {
        ad_dtype::AD_F32 => chain::<f32>(args, mode, snapshots),
        ad_dtype::AD_F64 => chain::<f64>(args, mode, snapshots),
        ad_dtype::AD_F64_DUAL => Err(Error::DtypeMismatch.into()),
    }
}

fn status_of(result: Result<()>) -> ad_status {
    match result {
        Ok(()) => ad_status::AD_OK,
        Err(failure) => failure.status(),
    }
}

/// The gradient of a chain `x_{k+1} = step(x_k, params)`, `k = 0 .. steps-1`, from
/// `x0`, of the loss the `loss` callback records from `x_steps`: writes `d loss / d x0`
/// into `grad_x0_out` (`d` values) and `d loss / d params` into `grad_params_out` (`p`
/// values), and, when `report_out` is not NULL, what it cost.
///
/// Memory. Everything lives in the `len` bytes at `mem` (any alignment), which the
/// call borrows until it returns: at most `snapshots` stored states (`x0` included) and
/// one step's tape, whatever `steps` is. The states in between are recomputed from the
/// snapshots with the binomial schedule of Griewank & Walther, which runs the fewest
/// steps possible for that memory (`report_out->advances`). `len` must be at least
/// `ad_chain_workspace_bytes()` plus `ad_tape_bytes_for(R)`, where `R` counts the
/// variables recorded at once: the `d + p` inputs, one step's records and the loss's;
/// `report_out->peak_bytes` says what a run used. When `mem` cannot hold the workspace,
/// the tape's header and the `d + p + 1` first records, the call fails with
/// `AD_ERR_OUT_OF_MEMORY` before any callback runs. Otherwise it records step 0 and the
/// loss once, as a probe, before any other work: if they do not fit, it fails with
/// `AD_ERR_OUT_OF_MEMORY` then.
///
/// Callbacks. `step` records one step and `loss` the loss, both on the `ad_tape*` they
/// are given, which the call places in `mem` and ends before it returns (keep neither
/// the pointer nor its variables); see `ad_step_fn` and `ad_loss_fn`. `user_data` is
/// passed to both. The call runs `step` `steps + advances` times plus once for the
/// probe, and `loss` twice. The gradients equal those of recording the whole chain on
/// one tape bit for bit when the steps follow the rules of `ad_step_fn`.
///
/// `dtype` is `AD_F64` or `AD_F32` (values still cross as `double`; an `AD_F32` chain
/// keeps converted copies of `x0`, `params` and the gradients at the front of `mem`);
/// `AD_F64_DUAL` gives `AD_ERR_DTYPE_MISMATCH`.
///
/// Fails with `AD_ERR_NULL` (NULL `mem`, `step`, `loss`, or an array whose length is
/// not 0), `AD_ERR_MISALIGNED` (an array not aligned for `double`),
/// `AD_ERR_INVALID_ARGUMENT` (an unknown dtype; `snapshots == 0` with `steps > 1`, or
/// `snapshots > 64`; overlapping arrays, or arrays inside `mem`; a step that leaves a
/// component of `next` unset), `AD_ERR_SIZE_OVERFLOW`, `AD_ERR_OUT_OF_MEMORY` (above),
/// `AD_ERR_NON_FINITE` (the loss is NaN or infinite), and any failure of a callback
/// (the tape's error when an op inside it failed, else its status, as for
/// `ad_checkpoint()`). The outputs are written only on success.
#[no_mangle]
pub unsafe extern "C" fn ad_chain_gradient(
    mem: *mut c_void,
    len: usize,
    dtype: DtypeArg,
    steps: usize,
    snapshots: usize,
    x0: *const f64,
    d: usize,
    params: *const f64,
    p: usize,
    step: ad_step_fn,
    loss: ad_loss_fn,
    user_data: *mut c_void,
    grad_x0_out: *mut f64,
    grad_params_out: *mut f64,
    report_out: *mut ad_chain_report,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        status_of(unsafe {
            chain_entry(
                mem,
                len,
                dtype,
                Mode::Offline { steps },
                snapshots,
                x0,
                d,
                params,
                p,
                step,
                None,
                loss,
                user_data,
                grad_x0_out,
                grad_params_out,
                report_out,
            )
        })
    })
}

/// `ad_chain_gradient()` with a tape-free evaluation of the step, `eval` (see
/// `ad_eval_fn`; NULL makes it `ad_chain_gradient()`): the schedule's forward-only runs
/// (`report_out->advances` of them) call `eval` instead of recording `step`, so `step`
/// runs only `steps` times plus once for the probe. Everything else as
/// `ad_chain_gradient()`.
#[no_mangle]
pub unsafe extern "C" fn ad_chain_gradient_eval(
    mem: *mut c_void,
    len: usize,
    dtype: DtypeArg,
    steps: usize,
    snapshots: usize,
    x0: *const f64,
    d: usize,
    params: *const f64,
    p: usize,
    step: ad_step_fn,
    eval: ad_eval_fn,
    loss: ad_loss_fn,
    user_data: *mut c_void,
    grad_x0_out: *mut f64,
    grad_params_out: *mut f64,
    report_out: *mut ad_chain_report,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        status_of(unsafe {
            chain_entry(
                mem,
                len,
                dtype,
                Mode::Offline { steps },
                snapshots,
                x0,
                d,
                params,
                p,
                step,
                eval,
                loss,
                user_data,
                grad_x0_out,
                grad_params_out,
                report_out,
            )
        })
    })
}

/// `ad_chain_gradient()` for a chain whose length is known only when it ends: runs
/// steps until `done(k, x_k, d, user_data)` returns non-zero, so the chain has `k`
/// steps (`done` true at `k = 0` means no step at all). It stores at most `snapshots`
/// states while running forward, then reverses the chain; `report_out->steps` says how
/// long it was. It costs somewhat more recomputation than `ad_chain_gradient()` with
/// the length known. `done` must eventually return non-zero. Memory, callbacks and
/// failures as `ad_chain_gradient()` (and `AD_ERR_NULL` for a NULL `done`;
/// `snapshots == 0` is `AD_ERR_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn ad_chain_gradient_online(
    mem: *mut c_void,
    len: usize,
    dtype: DtypeArg,
    snapshots: usize,
    x0: *const f64,
    d: usize,
    params: *const f64,
    p: usize,
    step: ad_step_fn,
    done: ad_done_fn,
    loss: ad_loss_fn,
    user_data: *mut c_void,
    grad_x0_out: *mut f64,
    grad_params_out: *mut f64,
    report_out: *mut ad_chain_report,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of((|| {
            let done = done.ok_or(Failure::Null("done"))?;
            // SAFETY: the caller's contract.
            unsafe {
                chain_entry(
                    mem,
                    len,
                    dtype,
                    Mode::Online { done },
                    snapshots,
                    x0,
                    d,
                    params,
                    p,
                    step,
                    None,
                    loss,
                    user_data,
                    grad_x0_out,
                    grad_params_out,
                    report_out,
                )
            }
        })())
    })
}

/// The bytes of `mem` a chain of dimension `d` with `p` parameters and `snapshots`
/// stored states needs besides its tape, into `*bytes_out`: the snapshots, the state
/// and adjoint buffers, the variable handles (and, for `AD_F32`, the converted copies),
/// alignment included. A chain gradient needs this plus `ad_tape_bytes_for(R, dtype)`,
/// where `R` counts the `d + p` inputs, one step's records and the loss's.
///
/// Fails with `AD_ERR_NULL`, `AD_ERR_INVALID_ARGUMENT` (unknown dtype),
/// `AD_ERR_DTYPE_MISMATCH` (`AD_F64_DUAL`) or `AD_ERR_SIZE_OVERFLOW`.
#[no_mangle]
pub unsafe extern "C" fn ad_chain_workspace_bytes(
    dtype: DtypeArg,
    d: usize,
    p: usize,
    snapshots: usize,
    bytes_out: *mut usize,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of((|| {
            // SAFETY: the caller's contract.
            let bytes_out = unsafe { ptr::out(bytes_out, "bytes_out") }?;
            *bytes_out = match dtype.get()? {
                ad_dtype::AD_F32 => chain_workspace::<f32>(d, p, snapshots)?,
                ad_dtype::AD_F64 => chain_workspace::<f64>(d, p, snapshots)?,
                ad_dtype::AD_F64_DUAL => return Err(Error::DtypeMismatch.into()),
            };
            Ok(())
        })())
    })
}
