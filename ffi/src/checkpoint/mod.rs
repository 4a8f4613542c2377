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
//!
//! The module, one concept a file:
//!
//! - `segment`: `ad_checkpoint()` and `ad_checkpoint_tensors()`, the segment block
//!   types and the `Segment` that calls a C block back.
//! - `step`: the callback types of a chain and the `Step` that calls them.
//! - `chain`: the chain gradients, `ad_chain_workspace_bytes()`, and their argument
//!   checks.
//! - `layout`: how a chain lays out the caller's memory: the conversion buffers of an
//!   `AD_F32` chain, the driver's workspace, and the `ad_tape` header placed after them.
//! - `report`: `ad_chain_report`.
//! - `callback`: what segments and chains share when calling C: handle arrays for C
//!   and a callback's status as a core error.
//!
//! Below, the element types that checkpointing supports.

// cbindgen writes the functions in the order it reads them, so `segment` comes before
// `chain` (rustfmt sorts `mod` lines only within a group).
mod segment;

mod chain;

mod callback;
mod layout;
mod report;
mod step;

pub use chain::{
    ad_chain_gradient, ad_chain_gradient_eval, ad_chain_gradient_online, ad_chain_workspace_bytes,
};
pub use report::ad_chain_report;
pub use segment::{ad_checkpoint, ad_checkpoint_tensors, ad_segment_fn, ad_segment_tensors_fn};
pub use step::{ad_done_fn, ad_eval_fn, ad_loss_fn, ad_step_fn};

use crate::tape::{ad_dtype, AnyTape};
use autodiff_core::{Float, Tape};

/// The element types that checkpointing supports, and how to find their tape.
pub trait CheckpointElem: Float {
    const DTYPE: ad_dtype;
    /// The typed tape inside `any`, when it holds this type.
    fn typed(any: &AnyTape) -> Option<&Tape<'static, Self>>;
    /// `values` as `[Self]` without copying, when `Self` is `f64`.
    fn native(values: &[f64]) -> Option<&[Self]>;
    /// `values` as `[Self]` without copying, when `Self` is `f64`.
    fn native_mut(values: &mut [f64]) -> Option<&mut [Self]>;
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
    fn native(_: &[f64]) -> Option<&[f32]> {
        None
    }
    fn native_mut(_: &mut [f64]) -> Option<&mut [f32]> {
        None
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
    fn native(values: &[f64]) -> Option<&[f64]> {
        Some(values)
    }
    fn native_mut(values: &mut [f64]) -> Option<&mut [f64]> {
        Some(values)
    }
    fn as_f64(values: &[f64]) -> Option<&[f64]> {
        Some(values)
    }
    fn as_f64_mut(values: &mut [f64]) -> Option<&mut [f64]> {
        Some(values)
    }
}

/// Writes `from`, widened to `f64`, into `out`, pairwise.
fn widen<T: CheckpointElem>(out: &mut [f64], from: &[T]) {
    for (o, v) in out.iter_mut().zip(from) {
        *o = v.to_f64();
    }
}

/// Writes `from`, rounded to `T`, into `out`, pairwise.
fn narrow<T: CheckpointElem>(out: &mut [T], from: &[f64]) {
    for (o, &v) in out.iter_mut().zip(from) {
        *o = T::from_f64(v);
    }
}
