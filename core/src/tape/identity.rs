//! Who a handle belongs to: a process-unique tape identity, the generation (scope) that
//! issued it, and its kind.
//!
//! A handle is accepted only when all three match a live record: its tape's identity
//! (so another tape's handle, or one from a tape that once lived at the same address, is
//! foreign), a generation still open on that tape (so a handle from before a `reset`, or
//! one made inside a checkpointed block that has since been dropped, is stale), and its
//! kind (so a tensor handle cannot pose as a scalar variable).

use core::sync::atomic::{AtomicU32, Ordering};

/// What a handle names. Stored as a plain `u32` in handles, because hosts may hand in
/// any bit pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum HandleKind {
    /// A scalar variable ([`VarId`](crate::VarId)), rank-0 tensors seen as scalars
    /// included.
    Scalar = 1,
    /// A tensor ([`TensorId`](crate::TensorId)).
    Tensor = 2,
    /// A parameter ([`ParamId`](crate::ParamId)).
    Param = 3,
    /// A group of parameters with one gradient buffer ([`ParamGroup`](crate::ParamGroup)).
    ParamGroup = 4,
}

impl HandleKind {
    pub(crate) const fn code(self) -> u32 {
        self as u32
    }

    /// What an error message calls this kind of handle.
    pub(crate) fn describe(code: u32) -> &'static str {
        match code {
            c if c == HandleKind::Scalar.code() => "a scalar variable",
            c if c == HandleKind::Tensor.code() => "a tensor",
            c if c == HandleKind::Param.code() => "a parameter",
            c if c == HandleKind::ParamGroup.code() => "a parameter group",
            _ => "an unknown kind of handle",
        }
    }
}

/// The last identity handed out. Identity 0 is never used, so a zeroed handle is never
/// live.
static LAST_IDENTITY: AtomicU32 = AtomicU32::new(0);

/// A fresh tape identity: unique within the process until 2^32 − 1 tapes have been
/// made, after which identities repeat (a handle kept across four billion tape
/// creations could then be taken for another tape's).
///
/// On targets without atomic read-modify-write (`thumbv6m`), the counter is read and
/// written in two steps: unique as long as tapes are not created concurrently (from an
/// interrupt handler while the main program creates one), which single-core firmware
/// without threads satisfies.
pub(crate) fn next_identity() -> u32 {
    loop {
        let identity = increment(&LAST_IDENTITY);
        if identity != 0 {
            return identity;
        }
    }
}

#[cfg(target_has_atomic = "32")]
fn increment(counter: &AtomicU32) -> u32 {
    counter.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
}

#[cfg(not(target_has_atomic = "32"))]
fn increment(counter: &AtomicU32) -> u32 {
    let next = counter.load(Ordering::Relaxed).wrapping_add(1);
    counter.store(next, Ordering::Relaxed);
    next
}
