//! Chains: `ad_chain_gradient()`, `ad_chain_gradient_eval()`,
//! `ad_chain_gradient_online()` and `ad_chain_workspace_bytes()`. The arguments are
//! checked in `chain_entry`, and `chain` runs the core driver on a tape placed in the
//! caller's memory (see `layout`).

use super::callback::{ptr_or_null, vars_ptr};
use super::layout::{chain_workspace, conversion_bytes, tape_bytes, Converted, Cut, EndTape};
use super::report::ad_chain_report;
use super::step::{ad_done_fn, ad_eval_fn, ad_loss_fn, ad_step_fn, CStep};
use super::{widen, CheckpointElem};
use crate::error::{ad_status, Failure, Result};
use crate::ptr;
use crate::tape::{ad_dtype, ad_tape, ad_tape_init, header, DtypeArg, Header};
use crate::var::ad_var;
use autodiff_core::checkpoint::{
    chain_gradient_on_tape, chain_gradient_online_on_tape, Online, Schedule, TapeLoan,
};
use autodiff_core::{Error, Tape, VarId};
use core::ffi::{c_int, c_void};
use core::mem::size_of;

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
        Some(Converted::<T>::cut(&mut cut, args.x0, args.params)?)
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
        Some(Converted {
            x0,
            params,
            gx,
            gp,
            state,
            scratch,
        }) => {
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
    // SAFETY: the driver is the only user of the tape until this call returns: the C
    // callbacks reach it through the header, whose lent guard (just taken) refuses a
    // reset or end from inside them.
    let loan = || unsafe { TapeLoan::assume_exclusive(tape) };
    let result = with_grads(grad_x0, gx_buf, |gx| {
        with_grads(grad_params, gp_buf, |gp| match mode {
            Mode::Offline { steps } => Ok(chain_gradient_on_tape(
                loan(),
                ws,
                steps,
                snapshots,
                x0,
                params,
                &mut step,
                loss,
                gx,
                gp,
            )?),
            Mode::Online { done } => {
                let mut state = state;
                let done = |k: usize, x: &[T]| -> bool {
                    let values: &[f64] = match (T::as_f64(x), state.as_deref_mut()) {
                        (Some(values), _) => values,
                        (None, Some(buffer)) => {
                            widen(buffer, x);
                            buffer
                        }
                        (None, None) => &[],
                    };
                    // SAFETY: the callback's contract; `values` is valid for the call.
                    unsafe { done(k, ptr_or_null(values), values.len(), user_data) != 0 }
                };
                Ok(chain_gradient_online_on_tape(
                    loan(),
                    ws,
                    snapshots,
                    x0,
                    params,
                    &mut step,
                    done,
                    loss,
                    gx,
                    gp,
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
            widen(out, buffer);
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

/// Checks every argument of the chain gradients (`mode` first, then the others) and runs
/// the chain in the tape's element type.
///
/// # Safety
/// The pointer contract of the header: each pointer valid for its stated length.
#[allow(clippy::too_many_arguments)]
unsafe fn chain_entry(
    mem: *mut c_void,
    len: usize,
    dtype: DtypeArg,
    mode: Result<Mode>,
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
    let mode = mode?;
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
/// `ad_chain_workspace_bytes()` plus what `ad_tape_bytes_for(R, dtype, &bytes)` reports,
/// where `R` counts the variables recorded at once: the `d + p` inputs, one step's
/// records and the loss's (or the `ad_tape_bytes_used()` of a tape that recorded the
/// inputs, one step and the loss); `report_out->peak_bytes` says what a run used. When `mem`
/// cannot hold the workspace, the tape's header and the `d + p + 1` first records, the
/// call fails with `AD_ERR_OUT_OF_MEMORY` before any callback runs. Otherwise it
/// records step 0 and the loss once, as a probe, before any other work: if they do not
/// fit, it fails with `AD_ERR_OUT_OF_MEMORY` then.
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
/// The outputs are written only on success.
///
/// Statuses: `AD_ERR_NULL` (`mem`, `step`, `loss`, or an array whose length is not 0),
/// `AD_ERR_MISALIGNED` (an array not aligned for `double`, or `report_out`),
/// `AD_ERR_INVALID_ARGUMENT` (an unknown dtype; `snapshots == 0` with `steps > 1`, or `snapshots >
/// 64`; overlapping arrays, or arrays inside `mem`; a step that leaves a component of `next` unset;
/// a callback that resets or ends its tape), `AD_ERR_DTYPE_MISMATCH` (`AD_F64_DUAL`),
/// `AD_ERR_SIZE_OVERFLOW` (`len`, `d` or `p`), `AD_ERR_OUT_OF_MEMORY` (above), `AD_ERR_NON_FINITE`
/// (the loss is NaN or infinite), and any failure of a callback: the tape's error when an op inside
/// it failed (any op's sticky error), else its status, mapped as for `ad_checkpoint()`,
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape).
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
    // SAFETY: the caller's contract; without `eval`, `ad_chain_gradient_eval()` is this
    // call.
    unsafe {
        ad_chain_gradient_eval(
            mem,
            len,
            dtype,
            steps,
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
}

/// `ad_chain_gradient()` with a tape-free evaluation of the step, `eval` (see
/// `ad_eval_fn`; NULL makes it `ad_chain_gradient()`): the schedule's forward-only runs
/// (`report_out->advances` of them) call `eval` instead of recording `step`, so `step`
/// runs only `steps` times plus once for the probe. Everything else as
/// `ad_chain_gradient()`, with the same statuses (and `eval`'s status, mapped as a
/// step's).
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
                Ok(Mode::Offline { steps }),
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
/// the length known. `done` must eventually return non-zero. Memory and callbacks as
/// `ad_chain_gradient()`, with the same statuses, and `AD_ERR_NULL` for a NULL `done`
/// (`snapshots == 0` is `AD_ERR_INVALID_ARGUMENT`).
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
        let mode = done
            .map(|done| Mode::Online { done })
            .ok_or(Failure::Null("done"));
        // SAFETY: the caller's contract.
        status_of(unsafe {
            chain_entry(
                mem,
                len,
                dtype,
                mode,
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

/// The bytes of `mem` a chain of dimension `d` with `p` parameters and `snapshots`
/// stored states needs besides its tape, into `*bytes_out`: the snapshots, the state
/// and adjoint buffers, the variable handles (and, for `AD_F32`, the converted copies),
/// alignment included. A chain gradient needs this plus what
/// `ad_tape_bytes_for(R, dtype, &bytes)` reports, where `R` counts the `d + p` inputs,
/// one step's records and the loss's.
///
/// Statuses: `AD_ERR_NULL` (`bytes_out`), `AD_ERR_MISALIGNED` (`bytes_out`),
/// `AD_ERR_INVALID_ARGUMENT` (an unknown dtype), `AD_ERR_DTYPE_MISMATCH` (`AD_F64_DUAL`),
/// `AD_ERR_SIZE_OVERFLOW` (the byte count does not fit in `size_t`).
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
