//! Vector modes and dense Hessians: many directions per sweep, with bulk buffers.
//! Each function checks its pointers and hands the work to the core tape; out-arrays are
//! written only on success.

use crate::error::Result;
use crate::ptr;
use crate::tape::{ad_tape, call};
use crate::var::ad_var;
use autodiff_core::{Real, VarId};

/// `outputs` as core handles (`ad_var` and `VarId` share one layout, asserted in `var`).
fn ids(outputs: &[ad_var]) -> &[VarId] {
    // SAFETY: same layout, same length, and the borrow is carried over.
    unsafe { core::slice::from_raw_parts(outputs.as_ptr().cast::<VarId>(), outputs.len()) }
}

/// Vector forward mode: `out = J·X` for the `m` outputs, where `X` is the
/// `n × p` seed matrix `seeds[0..n·p)` (row-major: row `k` holds input `k`'s tangent in
/// each of the `p` directions, `n` the number of inputs) and `out[0..m·p)` receives the
/// `m × p` result, row-major. One sweep carries all `p` directions on a tape without
/// tensors, in `p` values per recorded variable of the tape's scratch (given back before
/// returning). Where those would not fit in a core's cache and `p` is 12 or more (`f64`),
/// only the variables alive at once get their `p` values, after a plan made in at most 4
/// more bytes of scratch per variable: the sweep runs from cache, not memory. The plan
/// stays in the variables' adjoint slots, so that the next such call for the same
/// outputs, after `ad_replay()` too (or through `ad_forward_vector_at()`), skips it;
/// `ad_grad()` and `ad_tangent()` fail until `ad_backward()` or `ad_jvp()` runs again. A
/// tape with tensors runs one `ad_jvp()` per direction (tensor inputs keep the tangents
/// seeded with `ad_tensor_seed_tangent_*()`). Overwrites the results of the
/// last `ad_jvp()` on tapes with tensors only.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or an array whose count is not 0), `AD_ERR_MISALIGNED` (an
/// array), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`seeds_len` is not `n × p` or
/// `out_len` not `m × p`, the message gives both; arrays that overlap), `AD_ERR_SIZE_OVERFLOW`
/// (a count), `AD_ERR_OUT_OF_MEMORY` (the scratch does not fit; the tape stays usable),
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an output),
/// `AD_ERR_BACKEND` (a device failed), `AD_ERR_REENTRANT` (called from inside a callback running
/// on this tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_forward_vector(
    tape: *mut ad_tape,
    outputs: *const ad_var,
    m: usize,
    seeds: *const f64,
    seeds_len: usize,
    p: usize,
    out: *mut f64,
    out_len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe { forward_vector(tape, None, outputs, m, seeds, seeds_len, p, out, out_len) }
}

/// `ad_replay()` at `inputs[0..n)`, then `ad_forward_vector()`: `out = J·X` at a new
/// point, as ADOL-C's `fov_forward` takes it. On a tape without tensors one sweep does
/// both, reading the records once instead of twice; a tape with tensors replays, then
/// runs one `ad_jvp()` per direction. Afterwards the tape holds the values at `inputs`,
/// as after `ad_replay()`. On a tape without tensors a failure writes nothing and leaves
/// the values as they were; with tensors, a failure after the replay leaves its values.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or an array whose count is not 0), `AD_ERR_MISALIGNED` (an
/// array), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`n` is not the number of inputs,
/// `seeds_len` is not `n × p` or `out_len` not `m × p`, the message gives both; arrays that
/// overlap), `AD_ERR_SIZE_OVERFLOW` (a count), `AD_ERR_OUT_OF_MEMORY` (the scratch does not fit,
/// or that of an `AD_F32` tape's replay; the tape stays usable), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an output), `AD_ERR_BACKEND` (a device
/// failed), the statuses of `ad_replay()` on a tape with tensors (a checkpointed block or a
/// user op that fails, a branch that changed), `AD_ERR_REENTRANT` (called from inside a
/// callback running on this tape), and the tape's sticky error.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ad_forward_vector_at(
    tape: *mut ad_tape,
    inputs: *const f64,
    n: usize,
    outputs: *const ad_var,
    m: usize,
    seeds: *const f64,
    seeds_len: usize,
    p: usize,
    out: *mut f64,
    out_len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        forward_vector(
            tape,
            Some((inputs, n)),
            outputs,
            m,
            seeds,
            seeds_len,
            p,
            out,
            out_len,
        )
    }
}

/// `ad_forward_vector()`, replaying at the `n` values at `inputs` first when given.
///
/// # Safety
/// As for `ad_forward_vector_at()`.
#[allow(clippy::too_many_arguments)]
unsafe fn forward_vector(
    tape: *mut ad_tape,
    inputs: Option<(*const f64, usize)>,
    outputs: *const ad_var,
    m: usize,
    seeds: *const f64,
    seeds_len: usize,
    p: usize,
    out: *mut f64,
    out_len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let inputs = match inputs {
                Some((inputs, n)) => Some(ptr::slice(inputs, n, "inputs")?),
                None => None,
            };
            let outputs = ptr::slice(outputs, m, "outputs")?;
            let seeds = ptr::slice(seeds, seeds_len, "seeds")?;
            let out = ptr::slice_mut(out, out_len, "out")?;
            ptr::disjoint(outputs, out, "out overlaps outputs")?;
            ptr::disjoint(seeds, out, "out overlaps seeds")?;
            if let Some(inputs) = inputs {
                ptr::disjoint(inputs, out, "out overlaps inputs")?;
            }
            let outputs = ids(outputs);
            with_tape!(&header.tape, t => match inputs {
                Some(inputs) => t.forward_vector_at_as(
                    inputs, outputs, seeds, p, out, Real::from_f64, Real::to_f64),
                None => t.forward_vector_as(outputs, seeds, p, out, Real::from_f64, Real::to_f64),
            })?;
            Ok(())
        })
    }
}

/// Vector reverse mode (as ADOL-C's `fov_reverse`): `out = U·J`, where `U` is the
/// `q × m` weight matrix `weights[0..q·m)` (row-major: row `j` weighs each of the `m`
/// outputs for direction `j`) and `out[0..q·n)` receives the `q × n` result, row-major,
/// over the inputs in recording order. One sweep carries all `q` directions on a tape
/// without tensors, in `q` values per recorded variable of the tape's scratch (given
/// back before returning); a tape with tensors runs one reverse sweep per direction
/// (and then overwrites the results of the last `ad_backward()`).
///
/// Statuses: `AD_ERR_NULL` (`tape`, or an array whose count is not 0), `AD_ERR_MISALIGNED` (an
/// array), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`weights_len` is not `q × m` or
/// `out_len` not `q × n`, the message gives both; arrays that overlap), `AD_ERR_SIZE_OVERFLOW` (a
/// count), `AD_ERR_OUT_OF_MEMORY` (the scratch does not fit; the tape stays usable),
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an output),
/// `AD_ERR_MODIFIED_IN_PLACE` (a tensor or parameter the recording read was written since),
/// `AD_ERR_BACKEND` (a device failed), `AD_ERR_REENTRANT` (called from inside a callback running
/// on this tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_reverse_vector(
    tape: *mut ad_tape,
    outputs: *const ad_var,
    m: usize,
    weights: *const f64,
    weights_len: usize,
    q: usize,
    out: *mut f64,
    out_len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let outputs = ptr::slice(outputs, m, "outputs")?;
            let weights = ptr::slice(weights, weights_len, "weights")?;
            let out = ptr::slice_mut(out, out_len, "out")?;
            ptr::disjoint(outputs, out, "out overlaps outputs")?;
            ptr::disjoint(weights, out, "out overlaps weights")?;
            with_tape!(&header.tape, t => Ok(t.reverse_vector_as(
                ids(outputs), weights, q, out, Real::from_f64, Real::to_f64)?))
        })
    }
}

/// Checks the arrays of a Hessian call and runs `f` on them as slices.
///
/// # Safety
/// The pointers as the header's contract states.
unsafe fn hessian_call(
    tape: *mut ad_tape,
    outputs: *const ad_var,
    weights: *const f64,
    m: usize,
    out: *mut f64,
    out_len: usize,
    f: impl FnOnce(&crate::tape::AnyTape, &[VarId], &[f64], &mut [f64]) -> Result<()>,
) -> crate::error::ad_status {
    // SAFETY: forwarded.
    unsafe {
        call(tape, |header| {
            let outputs = ptr::slice(outputs, m, "outputs")?;
            let weights = ptr::slice(weights, m, "weights")?;
            let out = ptr::slice_mut(out, out_len, "out")?;
            ptr::disjoint(outputs, out, "out overlaps outputs")?;
            ptr::disjoint(weights, out, "out overlaps weights")?;
            f(&header.tape, ids(outputs), weights, out)
        })
    }
}

/// The dense `n × n` Hessian of `f = Σᵢ weights[i]·outputs[i]` (`m` outputs; one output
/// with weight 1 for a plain function) with respect to the `n` inputs, row-major into
/// `h_out[0..len)`, at the recorded (or last replayed) values: vector forward over reverse,
/// 8 directions per pair of sweeps, in `17` values per recorded variable of the tape's
/// scratch (given back before returning). Tapes without tensors; any dtype.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or an array whose count is not 0), `AD_ERR_MISALIGNED` (an
/// array), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`len` is not `n × n`, the message
/// gives both; arrays that overlap; the tape holds tensors), `AD_ERR_SIZE_OVERFLOW` (a count),
/// `AD_ERR_OUT_OF_MEMORY` (the scratch does not fit; the tape stays usable),
/// `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an output),
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape), and the tape's sticky
/// error.
#[no_mangle]
pub unsafe extern "C" fn ad_hessian(
    tape: *mut ad_tape,
    outputs: *const ad_var,
    weights: *const f64,
    m: usize,
    h_out: *mut f64,
    len: usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        hessian_call(
            tape,
            outputs,
            weights,
            m,
            h_out,
            len,
            |any, ids, weights, h| with_tape!(any, t => Ok(t.hessian_as(ids, weights, h, Real::from_f64, Real::to_f64)?)),
        )
    }
}
