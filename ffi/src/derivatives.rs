//! Reading values and derivatives off a tape: backward and forward sweeps, replay and
//! Jacobians. Each function checks its pointers and hands the work to the core tape;
//! out-parameters are written only on success.

use crate::error::Result;
use crate::ptr;
use crate::tape::{ad_tape, call, AnyTape};
use crate::var::ad_var;
use autodiff_core::{Error, Real, Tape, VarId};

/// The number of input directions `ad_jacobian_fwd()` carries per forward sweep.
const FORWARD_LANES: usize = 4;

/// Reads one number about variable `var` into `*out`.
///
/// # Safety
/// As for [`call`]; `out` as for [`ptr::out`].
unsafe fn read(
    tape: *const ad_tape,
    var: ad_var,
    out: *mut f64,
    name: &'static str,
    read: fn(&crate::tape::AnyTape, VarId) -> Result<f64>,
) -> crate::error::ad_status {
    // SAFETY: forwarded.
    unsafe {
        call(tape, |header| {
            let out = ptr::out(out, name)?;
            *out = read(&header.tape, var.into())?;
            Ok(())
        })
    }
}

/// Runs backward from `output`: afterwards `ad_grad()` of any variable `v` gives
/// `d output / d v`. The tape stays usable whatever the outcome.
///
/// Statuses: `AD_ERR_NULL`, `AD_ERR_INVALID_TAPE`, `AD_ERR_STALE_HANDLE` or
/// `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND` (`output`), `AD_ERR_NON_FINITE` (the
/// output's value is NaN or infinite), `AD_ERR_MODIFIED_IN_PLACE` (a tensor or parameter the
/// recording read was written since), `AD_ERR_OUT_OF_MEMORY` (a checkpointed segment recorded again
/// does not fit), `AD_ERR_BACKEND` (a device failed), the failure of a checkpointed block recorded
/// again (see `ad_checkpoint()`), `AD_ERR_CALLBACK_FAILED` (a user op's callback failed;
/// see `ad_user_op()`),
/// `AD_ERR_REENTRANT` (called from inside a callback running on this
/// tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_backward(
    tape: *mut ad_tape,
    output: ad_var,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            with_tape!(&header.tape, t => t.backward(output.into()))?;
            Ok(())
        })
    }
}

/// The derivative of the last `ad_backward()` output with respect to `var`, into
/// `*grad_out`.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `grad_out`), `AD_ERR_MISALIGNED` (`grad_out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (`var`), `AD_ERR_INVALID_ARGUMENT` (a sweep since the last
/// backward took the storage adjoints share: `ad_jvp()`, or an `ad_forward_vector()`
/// that planned its rows), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_grad(
    tape: *const ad_tape,
    var: ad_var,
    grad_out: *mut f64,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        read(tape, var, grad_out, "grad_out", |any, id| {
            Ok(with_tape!(any, t => t.grad(id)?.to_f64()))
        })
    }
}

/// The value of `var`, into `*value_out` (after `ad_replay()`, the replayed value).
/// Values stay readable on a tape with a sticky error.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `value_out`), `AD_ERR_MISALIGNED` (`value_out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (`var`).
#[no_mangle]
pub unsafe extern "C" fn ad_value(
    tape: *const ad_tape,
    var: ad_var,
    value_out: *mut f64,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        read(tape, var, value_out, "value_out", |any, id| {
            Ok(with_tape!(any, t => t.value(id)?.to_f64()))
        })
    }
}

/// The tangent of `var` after `ad_jvp()`, into `*tangent_out`: its derivative along the
/// seeded direction.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `tangent_out`), `AD_ERR_MISALIGNED` (`tangent_out`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (`var`), `AD_ERR_INVALID_ARGUMENT` (a sweep since the last
/// `ad_jvp()` took the storage tangents share: `ad_backward()`, or an
/// `ad_forward_vector()` that planned its rows), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_tangent(
    tape: *const ad_tape,
    var: ad_var,
    tangent_out: *mut f64,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        read(tape, var, tangent_out, "tangent_out", |any, id| {
            Ok(with_tape!(any, t => t.tangent(id)?.to_f64()))
        })
    }
}

/// Runs backward from `output` and writes `d output / d input_k` for every input, in
/// recording order, into `grads_out[0..n)`; `grads_out` may be NULL when `n` is 0. An
/// `AD_F32` tape converts through `n` floats of scratch in its memory.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or `grads_out` with `n > 0`), `AD_ERR_MISALIGNED`
/// (`grads_out`), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`n` is not the number of
/// inputs; the message gives both), `AD_ERR_SIZE_OVERFLOW` (`n` doubles do not fit in memory),
/// `AD_ERR_OUT_OF_MEMORY` (the scratch of an `AD_F32` tape does not fit), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (`output`), `AD_ERR_NON_FINITE` (the
/// output's value is NaN or infinite), `AD_ERR_MODIFIED_IN_PLACE` (a tensor or parameter the
/// recording read was written since), `AD_ERR_OUT_OF_MEMORY` (a checkpointed segment recorded again
/// does not fit), `AD_ERR_BACKEND` (a device failed), the failure of a checkpointed block recorded
/// again (see `ad_checkpoint()`), `AD_ERR_CALLBACK_FAILED` (a user op's callback failed;
/// see `ad_user_op()`),
/// `AD_ERR_REENTRANT` (called from inside a callback running on this
/// tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_gradient(
    tape: *mut ad_tape,
    output: ad_var,
    grads_out: *mut f64,
    n: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let grads = ptr::slice_mut(grads_out, n, "grads_out")?;
            with_tape!(&header.tape, t => Ok(t.gradient_into_as(output.into(), grads, |g| g.to_f64())?))
        })
    }
}

/// Runs forward with tangents: `seeds[k]` is the tangent of the k-th input (recording
/// order), and afterwards `ad_tangent()` of any variable is its directional derivative.
/// Tensor inputs are seeded with `ad_tensor_seed_tangent_*()`. Overwrites the results of
/// the last `ad_backward()` (tangents and adjoints share storage).
///
/// Statuses: `AD_ERR_NULL` (`tape`, or `seeds` with `n > 0`), `AD_ERR_MISALIGNED` (`seeds`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`n` is not the number of inputs; the message
/// gives both), `AD_ERR_SIZE_OVERFLOW` (`n`), `AD_ERR_OUT_OF_MEMORY` (the scratch of an `AD_F32`
/// tape, tensors' tangent buffers or a checkpointed segment recorded again do not fit),
/// `AD_ERR_BACKEND` (a device failed), the failure of a checkpointed block recorded again (see
/// `ad_checkpoint()`), `AD_ERR_CALLBACK_FAILED` or `AD_ERR_NO_JVP`
/// (a user op's callback failed, or it has no `jvp`; see `ad_user_op()`),
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape), and
/// the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_jvp(
    tape: *mut ad_tape,
    seeds: *const f64,
    n: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let seeds = ptr::slice(seeds, n, "seeds")?;
            with_tape!(&header.tape, t => Ok(t.jvp_from(seeds, Real::from_f64)?))
        })
    }
}

/// Re-evaluates every recorded variable at new input values `inputs[0..n)` without
/// recording again; read the results with `ad_value()`, and differentiate at the new
/// point with `ad_backward()` or `ad_jvp()`. The op sequence is the recorded one: C
/// control flow that depended on values is not re-taken (`ad_min`, `ad_max`, `ad_abs`
/// and `ad_select()` do pick their branch at the new values). Every comparison a C `if`
/// read through `ad_branch()` is checked: when one comes out differently, the replay
/// fails with `AD_ERR_BRANCH_CHANGED`, which the tape keeps (record again after a reset;
/// `ad_tape_branch_changes()` says how many changed). NaN and infinite inputs are
/// replayed like any others.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or `inputs` with `n > 0`), `AD_ERR_MISALIGNED` (`inputs`),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`n` is not the number of inputs; the message
/// gives both), `AD_ERR_SIZE_OVERFLOW` (`n`), `AD_ERR_OUT_OF_MEMORY` (the scratch of an `AD_F32`
/// tape, or a checkpointed segment recorded again, does not fit), `AD_ERR_BACKEND` (a device
/// failed), the failure of a checkpointed block recorded again (see `ad_checkpoint()`),
/// `AD_ERR_BRANCH_CHANGED` (a comparison read by `ad_branch()` came out differently),
/// `AD_ERR_CALLBACK_FAILED` (a user op's callback failed;
/// see `ad_user_op()`),
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape), and the tape's sticky
/// error.
#[no_mangle]
pub unsafe extern "C" fn ad_replay(
    tape: *mut ad_tape,
    inputs: *const f64,
    n: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let inputs = ptr::slice(inputs, n, "inputs")?;
            with_tape!(&header.tape, t => Ok(t.replay_from(inputs, Real::from_f64)?))
        })
    }
}

/// Fails, writing nothing, unless every output is live and finite: the conditions under
/// which the core's per-row sweeps could stop half way through the caller's buffer.
fn check_outputs<T: Real>(tape: &Tape<'_, T>, outputs: &[ad_var]) -> Result<()> {
    tape.status()?;
    for &output in outputs {
        if tape.value(output.into())?.is_non_finite() {
            return Err(Error::NonFinite("jacobian: an output value is NaN or infinite").into());
        }
    }
    Ok(())
}

/// The `m × n` Jacobian of `outputs[0..m)` with respect to the `n` inputs, row-major into
/// `jac_out[0..len)`, by reverse mode (one backward sweep per output: best when `m` is
/// small). Overwrites the results of the last `ad_backward()`. Writes nothing unless it
/// succeeds.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or an array whose count is not 0), `AD_ERR_MISALIGNED`
/// (`outputs` or `jac_out`), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not `m ×
/// n`, the message gives both; `jac_out` overlaps `outputs`), `AD_ERR_SIZE_OVERFLOW` (`m`, `len` or
/// `m × n`), `AD_ERR_OUT_OF_MEMORY` (the scratch of an `AD_F32` tape does not fit),
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an output),
/// `AD_ERR_NON_FINITE` (an output's value is NaN or infinite), `AD_ERR_MODIFIED_IN_PLACE` (a tensor
/// or parameter the recording read was written since), `AD_ERR_OUT_OF_MEMORY` (a checkpointed
/// segment recorded again does not fit), `AD_ERR_BACKEND` (a device failed), the failure of a
/// checkpointed block recorded again (see `ad_checkpoint()`),
/// `AD_ERR_CALLBACK_FAILED` (a user op's callback failed;
/// see `ad_user_op()`),
/// `AD_ERR_REENTRANT` (called from
/// inside a callback running on this tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_jacobian(
    tape: *mut ad_tape,
    outputs: *const ad_var,
    m: usize,
    jac_out: *mut f64,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let outputs = ptr::slice(outputs, m, "outputs")?;
            let jacobian = ptr::slice_mut(jac_out, len, "jac_out")?;
            ptr::disjoint(outputs, jacobian, "jac_out overlaps outputs")?;
            // SAFETY: `ad_var` and `VarId` have one layout (asserted in `var`).
            let ids = core::slice::from_raw_parts(outputs.as_ptr().cast::<VarId>(), outputs.len());
            with_tape!(&header.tape, t => {
                check_outputs(t, outputs)?;
                Ok(t.jacobian_rows_as(ids, jacobian, |entry| entry.to_f64())?)
            })
        })
    }
}

/// As `ad_jacobian()`, but by forward mode: sweeps that carry 4 input directions at once
/// (best when the number of inputs `n` is small), on tapes without tensors. Needs scratch
/// in the tape's memory of 4 values per recorded variable (given back before returning).
/// Writes nothing unless it succeeds.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or an array whose count is not 0), `AD_ERR_MISALIGNED`
/// (`outputs` or `jac_out`), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not `m ×
/// n`, the message gives both; `jac_out` overlaps `outputs`; the tape holds tensors),
/// `AD_ERR_SIZE_OVERFLOW` (`m`, `len` or `m × n`), `AD_ERR_OUT_OF_MEMORY` (the scratch does not
/// fit; the tape stays usable), `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or
/// `AD_ERR_WRONG_HANDLE_KIND` (an output), the failure of a checkpointed block recorded again (see
/// `ad_checkpoint()`), `AD_ERR_REENTRANT` (called from inside a callback running on this tape), and
/// the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_jacobian_fwd(
    tape: *mut ad_tape,
    outputs: *const ad_var,
    m: usize,
    jac_out: *mut f64,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let outputs = ptr::slice(outputs, m, "outputs")?;
            let jacobian = ptr::slice_mut(jac_out, len, "jac_out")?;
            ptr::disjoint(outputs, jacobian, "jac_out overlaps outputs")?;
            // SAFETY: `ad_var` and `VarId` have one layout (asserted in `var`).
            let ids = core::slice::from_raw_parts(outputs.as_ptr().cast::<VarId>(), outputs.len());
            with_tape!(&header.tape, t => {
                Ok(t.jacobian_columns_as::<FORWARD_LANES, f64>(ids, jacobian, |entry| entry.to_f64())?)
            })
        })
    }
}

/// On an `AD_F64_DUAL` tape that recorded `output = f(inputs)`: at the point `x[0..n)`,
/// writes the gradient of `f` into `grad_out[0..n)` and the Hessian-vector product
/// `H(x)·v` into `hv_out[0..n)`, by forward-over-reverse. The tape's recorded values are
/// replaced by those at `x` (as `ad_replay()` does). Needs no memory of the tape's.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or an array with `n > 0`), `AD_ERR_MISALIGNED` (an array),
/// `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`n` is not the number of inputs, the message
/// gives both; arrays that overlap), `AD_ERR_SIZE_OVERFLOW` (`n`), `AD_ERR_DTYPE_MISMATCH` (a tape
/// of another dtype), `AD_ERR_STALE_HANDLE` or `AD_ERR_FOREIGN_HANDLE`, `AD_ERR_WRONG_HANDLE_KIND`
/// (`output`), `AD_ERR_NON_FINITE` (the output's value at `x` is NaN or infinite),
/// `AD_ERR_BRANCH_CHANGED` (a comparison read by `ad_branch()` came out differently at `x`),
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape), and the tape's sticky
/// error.
#[no_mangle]
pub unsafe extern "C" fn ad_hvp(
    tape: *mut ad_tape,
    output: ad_var,
    x: *const f64,
    v: *const f64,
    grad_out: *mut f64,
    hv_out: *mut f64,
    n: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let x = ptr::slice(x, n, "x")?;
            let v = ptr::slice(v, n, "v")?;
            let grad = ptr::slice_mut(grad_out, n, "grad_out")?;
            let hv = ptr::slice_mut(hv_out, n, "hv_out")?;
            ptr::disjoint(grad, hv, "grad_out overlaps hv_out")?;
            ptr::disjoint(x, grad, "grad_out overlaps x")?;
            ptr::disjoint(x, hv, "hv_out overlaps x")?;
            ptr::disjoint(v, grad, "grad_out overlaps v")?;
            ptr::disjoint(v, hv, "hv_out overlaps v")?;
            match &header.tape {
                AnyTape::F64Dual(t) => {
                    Ok(t.hessian_vector_product(output.into(), x, v, grad, hv)?)
                }
                _ => Err(Error::DtypeMismatch.into()),
            }
        })
    }
}
