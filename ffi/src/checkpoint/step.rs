//! The C callbacks of a chain (`ad_step_fn`, `ad_loss_fn`, `ad_done_fn`, `ad_eval_fn`)
//! and [`CStep`], the core `Step` that calls the step and its evaluation.

use super::callback::{callback_result, error_of_status, mut_ptr_or_null, ptr_or_null};
use super::callback::{vars_mut_ptr, vars_ptr};
use super::{narrow, widen, CheckpointElem};
use crate::error::{ad_status, StatusArg};
use crate::tape::ad_tape;
use crate::var::ad_var;
use autodiff_core::checkpoint::Step;
use autodiff_core::{Error, Tape, VarId};
use core::ffi::{c_int, c_void};

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

/// A chain step that calls C.
pub(super) struct CStep<'a> {
    pub(super) call: unsafe extern "C" fn(
        *mut ad_tape,
        usize,
        *const ad_var,
        *const ad_var,
        *mut ad_var,
        *mut c_void,
    ) -> StatusArg,
    pub(super) user_data: *mut c_void,
    pub(super) tape: *mut ad_tape,
    pub(super) eval: Option<EvalFn>,
    /// For `eval` on a converted chain: `[state (d) | params (p) | next (d)]` as doubles.
    pub(super) scratch: &'a mut [f64],
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
        let status = match (T::as_f64(state), T::as_f64(params)) {
            (Some(x), Some(p)) => {
                let n = T::as_f64_mut(next).ok_or(Error::DtypeMismatch)?;
                let at = mut_ptr_or_null(n);
                // SAFETY: the callback's contract; the arrays are valid for the call.
                unsafe { eval(k, ptr_or_null(x), ptr_or_null(p), at, self.user_data) }
            }
            _ => {
                let (d, p) = (state.len(), params.len());
                let (xs, rest) = self.scratch.split_at_mut(d);
                let (ps, ns) = rest.split_at_mut(p);
                widen(xs, state);
                widen(ps, params);
                let at = mut_ptr_or_null(ns);
                // SAFETY: as above.
                let status =
                    unsafe { eval(k, ptr_or_null(xs), ptr_or_null(ps), at, self.user_data) };
                narrow(next, ns);
                status
            }
        };
        if status.0 != ad_status::AD_OK as c_int {
            return Err(error_of_status(status));
        }
        Ok(true)
    }
}
