//! User-defined ops from C: `ad_user_op()` puts a C function with its own derivative on
//! an `AD_F64` tape. The core's `UserOp` calls back through `COp`, which lends the tape
//! to the callback (so a callback that reaches the tape through its user data cannot
//! reset or end it) and turns a non-zero return into `AD_ERR_CALLBACK_FAILED`.

use crate::error::{ad_status, Failure};
use crate::ptr;
use crate::tape::{ad_tape, call, header, AnyTape};
use crate::var::ad_var;
use autodiff_core::{Error, UserOp, UserOpPoint, VarId};
use core::ffi::{c_int, c_void};

/// Computes a user op's outputs: writes `outputs[0..n_out)` from `inputs[0..n_in)`, and
/// whatever the derivatives need into `state[0..state_len)` (zeroed when the op is
/// recorded, kept between calls). Runs when the op is recorded and again at every
/// `ad_replay()`. Returns 0 on success; any other value fails the call, and the tape
/// keeps `AD_ERR_CALLBACK_FAILED` (its message quotes the value). An array whose
/// length is 0 may be NULL. The arrays are valid only during the call.
pub type ad_user_forward_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        inputs: *const f64,
        n_in: usize,
        outputs: *mut f64,
        n_out: usize,
        state: *mut f64,
        state_len: usize,
    ) -> c_int,
>;

/// A user op's reverse-mode derivative (vector-Jacobian product): at the point
/// (`inputs`, the `outputs` forward computed, its `state`), writes
/// `input_adjoints[k] = sum over j of output_adjoints[j] * d outputs[j] / d inputs[k]`
/// (`input_adjoints` arrives zeroed). Returns 0 on success, as `ad_user_forward_fn`.
pub type ad_user_vjp_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        inputs: *const f64,
        n_in: usize,
        outputs: *const f64,
        n_out: usize,
        state: *const f64,
        state_len: usize,
        output_adjoints: *const f64,
        input_adjoints: *mut f64,
    ) -> c_int,
>;

/// A user op's forward-mode derivative (Jacobian-vector product): at the point, writes
/// `output_tangents[j] = sum over k of d outputs[j] / d inputs[k] * input_tangents[k]`.
/// Returns 0 on success, as `ad_user_forward_fn`.
pub type ad_user_jvp_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        inputs: *const f64,
        n_in: usize,
        outputs: *const f64,
        n_out: usize,
        state: *const f64,
        state_len: usize,
        input_tangents: *const f64,
        output_tangents: *mut f64,
    ) -> c_int,
>;

/// What `ad_user_op()` records: the callbacks, their user data and the saved state's
/// length. `forward` and `vjp` are required; `jvp` may be NULL, and then `ad_jvp()` over
/// the op fails with `AD_ERR_NO_JVP`. The library copies the struct: it need not outlive
/// the call, but `user_data` and what it points at must stay valid as long as the tape
/// may run the callbacks (until `ad_tape_reset()` or the tape's end).
///
/// The callbacks must not reset or end the tape (refused: the tape fails with
/// `AD_ERR_REENTRANT`), start a sweep on it (`ad_backward()`, `ad_replay()`, ...:
/// refused likewise), record on it, or leave by `longjmp` or a C++ exception.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ad_user_op_def {
    /// Computes the outputs from the inputs, and may fill the saved state (required).
    pub forward: ad_user_forward_fn,
    /// The vector-Jacobian product: input adjoints from output adjoints (required).
    pub vjp: ad_user_vjp_fn,
    /// The Jacobian-vector product, for forward mode; NULL leaves forward mode over the
    /// op to fail with `AD_ERR_NO_JVP`.
    pub jvp: ad_user_jvp_fn,
    /// Passed to every callback as is; it must outlive every sweep and replay of the op.
    pub user_data: *mut c_void,
    /// Doubles of saved state the callbacks share (0 for none).
    pub state_len: usize,
}

type ForwardFn =
    unsafe extern "C" fn(*mut c_void, *const f64, usize, *mut f64, usize, *mut f64, usize) -> c_int;
type DerivativeFn = unsafe extern "C" fn(
    *mut c_void,
    *const f64,
    usize,
    *const f64,
    usize,
    *const f64,
    usize,
    *const f64,
    *mut f64,
) -> c_int;

/// The op the core keeps in the tape's arena: the C callbacks, their user data and the
/// tape to lend while they run.
#[derive(Clone, Copy)]
struct COp {
    forward: ForwardFn,
    vjp: DerivativeFn,
    jvp: Option<DerivativeFn>,
    user_data: *mut c_void,
    tape: *mut ad_tape,
}

// SAFETY: the C API's thread model: a tape, with everything it holds, is used by one
// thread at a time, and a host that moves a tape to another thread moves the use of its
// ops' user data with it. The callbacks and the tape pointer are plain addresses.
unsafe impl Send for COp {}

/// `values` for C: NULL when empty.
fn ptr_of(values: &[f64]) -> *const f64 {
    if values.is_empty() {
        core::ptr::null()
    } else {
        values.as_ptr()
    }
}

fn mut_ptr_of(values: &mut [f64]) -> *mut f64 {
    if values.is_empty() {
        core::ptr::null_mut()
    } else {
        values.as_mut_ptr()
    }
}

/// Runs the C callback `f` with `tape` lent to it, and turns its code into a result: how
/// every user op, scalar or tensor, calls back.
pub(crate) fn run_lent(tape: *mut ad_tape, f: impl FnOnce() -> c_int) -> autodiff_core::Result<()> {
    // SAFETY: the pointer the op was recorded with, whose header lives as long as the
    // tape's records (the header's contract).
    let header = unsafe { header(tape) }
        .map_err(|_| Error::InvalidArgument("user op: its tape is no longer live"))?;
    let code = {
        let _lent = header.lend();
        f()
    };
    match code {
        0 => Ok(()),
        code => Err(Error::CallbackFailed { code }),
    }
}

impl COp {
    /// Runs `f` with the tape lent to the callback, and turns its code into a result.
    fn lent(&self, f: impl FnOnce() -> c_int) -> autodiff_core::Result<()> {
        run_lent(self.tape, f)
    }

    fn derivative(
        &self,
        callback: DerivativeFn,
        at: UserOpPoint<'_, f64>,
        seeds: &[f64],
        results: &mut [f64],
    ) -> autodiff_core::Result<()> {
        self.lent(|| {
            // SAFETY: a C function of this signature (the definition's contract); the
            // arrays are valid for the call and have the lengths passed.
            unsafe {
                callback(
                    self.user_data,
                    ptr_of(at.inputs),
                    at.inputs.len(),
                    ptr_of(at.outputs),
                    at.outputs.len(),
                    ptr_of(at.state),
                    at.state.len(),
                    ptr_of(seeds),
                    mut_ptr_of(results),
                )
            }
        })
    }
}

impl UserOp<f64> for COp {
    fn forward(
        &self,
        inputs: &[f64],
        outputs: &mut [f64],
        state: &mut [f64],
    ) -> autodiff_core::Result<()> {
        self.lent(|| {
            // SAFETY: as in `derivative`.
            unsafe {
                (self.forward)(
                    self.user_data,
                    ptr_of(inputs),
                    inputs.len(),
                    mut_ptr_of(outputs),
                    outputs.len(),
                    mut_ptr_of(state),
                    state.len(),
                )
            }
        })
    }

    fn vjp(
        &self,
        at: UserOpPoint<'_, f64>,
        output_adjoints: &[f64],
        input_adjoints: &mut [f64],
    ) -> autodiff_core::Result<()> {
        self.derivative(self.vjp, at, output_adjoints, input_adjoints)
    }

    fn jvp(
        &self,
        at: UserOpPoint<'_, f64>,
        input_tangents: &[f64],
        output_tangents: &mut [f64],
    ) -> autodiff_core::Result<()> {
        match self.jvp {
            Some(jvp) => self.derivative(jvp, at, input_tangents, output_tangents),
            None => Err(Error::NoJvp),
        }
    }
}

/// Records a user-defined op on an `AD_F64` tape: `def->forward` computes `n_out`
/// outputs from the `n_in` variables `inputs` (the op runs it now, and again at every
/// `ad_replay()`), `def->vjp` gives backward sweeps its derivative, and `def->jvp`, if
/// not NULL, gives forward sweeps theirs. Writes one new variable per output into
/// `outputs`. `def->state_len` doubles of saved state are kept for the callbacks in the
/// tape's memory. The op works inside checkpoint blocks and chain steps; Jacobians by
/// columns (`ad_jacobian_fwd()`) refuse tapes that hold one, as for tensors.
///
/// Every failure on a live tape is sticky, as for any op that records: the tape keeps the
/// error, and when `outputs` could be written it holds invalid variables. A callback
/// that fails later (in a sweep or replay) fails that call, and the tape keeps its
/// error, except a missing `jvp` (`AD_ERR_NO_JVP`), which fails only `ad_jvp()`.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `def`, `def->forward`, `def->vjp`, or an array whose
/// count is not 0), `AD_ERR_MISALIGNED` (`def`, `inputs` or `outputs`), `AD_ERR_INVALID_TAPE`,
/// `AD_ERR_SIZE_OVERFLOW` (`n_in`, `n_out` or the state's length), `AD_ERR_INVALID_ARGUMENT`
/// (`n_out` is 0; `inputs` and `outputs` overlap; more inputs, outputs or state than a tape
/// holds), `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an input),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F32` or `AD_F64_DUAL` tape), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`, `AD_ERR_CALLBACK_FAILED` (`def->forward` returned non-zero),
/// `AD_ERR_REENTRANT` (called from inside a callback running on this tape, or `def->forward`
/// started a sweep on it), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_user_op(
    tape: *mut ad_tape,
    def: *const ad_user_op_def,
    inputs: *const ad_var,
    n_in: usize,
    outputs: *mut ad_var,
    n_out: usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let result = (|| {
                let inputs = ptr::slice(inputs, n_in, "inputs")?;
                let outputs = ptr::slice_mut(outputs, n_out, "outputs")?;
                ptr::disjoint(inputs, outputs, "user op: inputs and outputs overlap")?;
                let (inputs, outputs) = (ptr::as_core(inputs), ptr::as_core_mut(outputs));
                outputs.fill(VarId::INVALID);
                let def = ptr::slice(def, 1, "def")?[0];
                let op = COp {
                    forward: def.forward.ok_or(Failure::Null("def->forward"))?,
                    vjp: def.vjp.ok_or(Failure::Null("def->vjp"))?,
                    jvp: def.jvp,
                    user_data: def.user_data,
                    tape,
                };
                match &header.tape {
                    AnyTape::F64(t) => t.user_op(op, inputs, outputs, def.state_len)?,
                    _ => return Err(Error::DtypeMismatch.into()),
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
