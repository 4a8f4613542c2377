//! `ad_backward_notify()`: backward that tells the host when each parameter group's
//! gradient is complete, so that it can start reducing that group across processes (a
//! non-blocking `MPI_Iallreduce`) while the sweep goes on with the layers below.

use crate::error::ad_status;
use crate::param_group::ad_param_group;
use crate::tape::{ad_tape, call};
use crate::var::ad_var;
use core::ffi::c_void;

/// Called by `ad_backward_notify()` with a group whose gradient is complete, and the
/// `user_data` given there. The group's buffer (`ad_param_group_grads_*()`, which the
/// callback may call on `tape`) holds its final gradient, and the sweep writes to it no
/// more: the host may start a non-blocking reduction of it in place, and must complete
/// it before `ad_optim_step()`. The callback runs inside the sweep, with the tape lent to
/// it: calls that write parameters or gradients, sweep, step, reset or end `tape` are
/// refused (`AD_ERR_REENTRANT`, which the backward then reports). It must not leave by
/// `longjmp` or a C++ exception.
pub type ad_group_ready_fn =
    Option<unsafe extern "C" fn(tape: *mut ad_tape, group: ad_param_group, user_data: *mut c_void)>;

/// Runs backward from `output`, as `ad_backward()`, and calls `ready(tape, group,
/// user_data)` for each parameter group as soon as the sweep has finished its gradient:
/// the groups of the last layers first. A group the output does not depend on, or one
/// whose parameters are used inside a checkpointed block, is not announced; reduce it
/// after this call returns.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `ready`), `AD_ERR_INVALID_TAPE`,
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`output`),
/// `AD_ERR_NON_FINITE` (the output's value is NaN or infinite), `AD_ERR_MODIFIED_IN_PLACE`
/// (a value the recording read was written since), `AD_ERR_OUT_OF_MEMORY` (a checkpointed
/// segment recorded again does not fit), `AD_ERR_BACKEND` (a device failed),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_REENTRANT` (called from inside a
/// callback running on this tape, or the callback made a call it may not), the failure of
/// a checkpointed block recorded again, and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_backward_notify(
    tape: *mut ad_tape,
    output: ad_var,
    ready: ad_group_ready_fn,
    user_data: *mut c_void,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let ready = ready.ok_or(crate::error::Failure::Null("ready"))?;
            // The callback gets the tape: a reset or end from inside it must be refused,
            // since the sweep that calls it still uses the tape's memory.
            let _lent = header.lend();
            // The caller's contract covers `ready` and `user_data`; `tape` is the live
            // tape this call runs on.
            let mut announce = |g: autodiff_core::ParamGroup| ready(tape, g.into(), user_data);
            with_float_tape!(&header.tape, t => {
                Ok(t.backward_notifying(output.into(), &mut announce)?)
            })
        })
    }
}
