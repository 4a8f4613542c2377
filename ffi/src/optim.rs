//! Optimizers over a tape's parameters: SGD with momentum and weight decay, and
//! Adam/AdamW. One optimizer per tape, set once after the last `ad_param_new_*()` and
//! before recording; its state comes from the tape's memory, beside the parameters.

use crate::error::ad_status;
use crate::tape::{ad_tape, call};
use autodiff_core::{Adam, Optimizer, Sgd};
use core::ffi::c_int;

/// Installs `optimizer` on a float tape.
///
/// # Safety
/// As for [`call`].
unsafe fn set(tape: *mut ad_tape, optimizer: Optimizer) -> ad_status {
    // SAFETY: forwarded from the caller.
    unsafe {
        call(
            tape,
            |header| with_float_tape!(&header.tape, t => Ok(t.set_optimizer(optimizer)?)),
        )
    }
}

/// Sets stochastic gradient descent as the tape's optimizer, for every parameter:
/// `v = momentum * v + g + weight_decay * w; w -= lr * v` (PyTorch's convention;
/// `momentum == 0` is plain SGD and keeps no state). Needs `lr >= 0`,
/// `0 <= momentum < 1` and `weight_decay >= 0`, all finite. Its state comes from the
/// tape's memory.
///
/// Statuses: `AD_ERR_NULL`, `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (a setting out of
/// range or NaN; the tape has no parameters, already has an optimizer, or has recorded something
/// since its last reset), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_OUT_OF_MEMORY`
/// (the optimizer's state does not fit), `AD_ERR_BACKEND` (a device failed), `AD_ERR_REENTRANT`
/// (called from inside a callback running on this tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_optim_sgd(
    tape: *mut ad_tape,
    lr: f64,
    momentum: f64,
    weight_decay: f64,
) -> ad_status {
    let sgd = Sgd {
        lr,
        momentum,
        weight_decay,
    };
    // SAFETY: the caller's contract.
    unsafe { set(tape, Optimizer::Sgd(sgd)) }
}

/// Sets Adam as the tape's optimizer, or AdamW when `decoupled` is non-zero (the weight
/// decay then shrinks the weights directly instead of joining the gradient). Typical
/// values: `lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8`. Needs `lr >= 0`,
/// `0 <= beta1, beta2 < 1`, `eps > 0` and `weight_decay >= 0`, all finite.
///
/// Statuses: `AD_ERR_NULL`, `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (a setting out of
/// range or NaN; the tape has no parameters, already has an optimizer, or has recorded something
/// since its last reset), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_OUT_OF_MEMORY`
/// (the optimizer's state does not fit), `AD_ERR_BACKEND` (a device failed), `AD_ERR_REENTRANT`
/// (called from inside a callback running on this tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_optim_adam(
    tape: *mut ad_tape,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: c_int,
) -> ad_status {
    let adam = Adam {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        decoupled_weight_decay: decoupled != 0,
    };
    // SAFETY: the caller's contract.
    unsafe { set(tape, Optimizer::Adam(adam)) }
}

/// Updates every parameter in place from its gradient of the last `ad_backward()`. The
/// recording that produced the gradients is now out of date (a backward over it reports
/// `AD_ERR_MODIFIED_IN_PLACE`): reset and record the next step.
///
/// Statuses: `AD_ERR_NULL`, `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (no optimizer is set),
/// `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_UNKNOWN_DEVICE` (a parameter's device
/// was released), `AD_ERR_BACKEND` (a device failed), `AD_ERR_REENTRANT` (called from inside a
/// callback running on this tape), and the tape's sticky error.
#[no_mangle]
pub unsafe extern "C" fn ad_optim_step(tape: *mut ad_tape) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(
            tape,
            |header| with_float_tape!(&header.tape, t => Ok(t.optimizer_step()?)),
        )
    }
}
