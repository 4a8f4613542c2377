//! Segments: `ad_checkpoint()` and `ad_checkpoint_tensors()` record a C block as a
//! checkpointed segment, which the core calls back, through [`CBlock`], whenever a sweep
//! reaches it.

use super::callback::{callback_result, vars_mut_ptr, vars_ptr};
use super::CheckpointElem;
use crate::error::{ad_status, Failure, StatusArg};
use crate::ptr;
use crate::tape::{ad_tape, call, header, AnyTape};
use crate::tensor::ad_tensor;
use crate::var::ad_var;
use autodiff_core::checkpoint::Segment;
use autodiff_core::{Error, Tape, VarId};
use core::ffi::c_void;
use core::mem::{align_of, size_of};

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

/// The handles a segment's block takes: `ad_var` or `ad_tensor`, both the four `u32`s of
/// the core's `VarId` (the core's segments take handles of either kind).
trait Handle: Copy + 'static {}
impl Handle for ad_var {}
impl Handle for ad_tensor {}

const _: () = {
    assert!(size_of::<ad_tensor>() == size_of::<VarId>());
    assert!(align_of::<ad_tensor>() == align_of::<VarId>());
    assert!(core::mem::offset_of!(ad_tensor, index) == core::mem::offset_of!(VarId, index));
    assert!(core::mem::offset_of!(ad_tensor, kind) == core::mem::offset_of!(VarId, kind));
    assert!(
        core::mem::offset_of!(ad_tensor, generation) == core::mem::offset_of!(VarId, generation)
    );
    assert!(core::mem::offset_of!(ad_tensor, tape) == core::mem::offset_of!(VarId, tape));
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

// SAFETY: the C API's thread model: a tape, with everything it holds, is used by one
// thread at a time, and a host that moves a tape to another thread moves the use of its
// blocks' user data with it (the header says so at `ad_checkpoint()`). The callback and
// the tape pointer are plain addresses, valid from any thread.
unsafe impl<H: Handle> Send for CBlock<H> {}

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

/// Handles as the core's (same layout: asserted here and in `var.rs`).
fn as_ids<H: Handle>(vars: &[H]) -> &[VarId] {
    // SAFETY: same size, alignment and fields.
    unsafe { core::slice::from_raw_parts(vars.as_ptr().cast(), vars.len()) }
}

fn as_ids_mut<H: Handle>(vars: &mut [H]) -> &mut [VarId] {
    // SAFETY: as in `as_ids`.
    unsafe { core::slice::from_raw_parts_mut(vars.as_mut_ptr().cast(), vars.len()) }
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
/// too: a tape's header must not move while it holds segments. Works on `AD_F32` and
/// `AD_F64` tapes. For tensors, see `ad_checkpoint_tensors()`.
///
/// Every failure on a live tape is sticky, as for any op that records: the tape keeps the
/// error, and when `outputs` could be written it holds invalid variables.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `block`, or an array whose count is not 0), `AD_ERR_MISALIGNED`
/// (`inputs` or `outputs`), `AD_ERR_INVALID_TAPE`, `AD_ERR_SIZE_OVERFLOW` (`n_in` or `n_out`),
/// `AD_ERR_INVALID_ARGUMENT` (`inputs` and `outputs` overlap; a block output left unset; more
/// inputs or outputs than a tape holds), `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (an input, or an output the block made), `AD_ERR_DTYPE_MISMATCH` (an
/// `AD_F64_DUAL` tape), `AD_ERR_OUT_OF_MEMORY` (the segment and what its backward needs do not
/// fit), the tape's sticky error, and the block's failure: the tape's error when an op inside the
/// block failed, else the status the block returned, kept as it is when it is
/// `AD_ERR_INVALID_ARGUMENT`, `AD_ERR_NON_FINITE`, `AD_ERR_BACKEND`, `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_SIZE_OVERFLOW`, `AD_ERR_DTYPE_MISMATCH`, `AD_ERR_NO_DEVICE`,
/// `AD_ERR_UNKNOWN_DEVICE`, `AD_ERR_DEVICE_MISMATCH` or `AD_ERR_UNSUPPORTED_ON_DEVICE`, and
/// reported as `AD_ERR_INVALID_ARGUMENT` naming it otherwise (see `ad_tape_error()`),
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape).
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

/// `ad_checkpoint()` with tensors for the block's inputs and outputs, with the same
/// statuses: `inputs` and `outputs` hold `ad_tensor`s of any rank (an output is a new
/// tensor holding a copy of the block's output value, and a gradient buffer). Everything
/// else as `ad_checkpoint()`; scalars cross as rank-0 tensors. Tensors on a device cannot
/// be checkpointed.
///
/// Statuses besides those of `ad_checkpoint()`: `AD_ERR_UNSUPPORTED_ON_DEVICE` (the block
/// records an op on a device, or hands back a device tensor), `AD_ERR_WRONG_HANDLE_KIND`
/// (a scalar variable's fields among the inputs).
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
