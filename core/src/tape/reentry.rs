//! Callbacks running on a tape, and what they may not do to it.
//!
//! A checkpointed block, a chain step or loss, and a graph sink all run while the tape
//! is in the middle of something: a recording the callback's records belong to, or a
//! sweep that walks records the callback re-creates. Such a callback holds only `&Tape`,
//! so it cannot `reset` it or release its devices (those take `&mut`). It also may not
//! start another sweep, optimizer step or persistent allocation on the same tape: a
//! backward inside a block that backward re-runs would recurse without end, and the
//! others would rewrite state the interrupted call is using. Those calls check
//! [`Tape::refuse_in_callback`] and fail with [`Error::Reentrant`], which also becomes
//! the tape's sticky error, so the interrupted call reports it too.

use super::Tape;
use crate::error::{Error, Result};
use crate::real::Real;

/// A callback running on a tape; ends when dropped (also when unwinding).
pub(crate) struct CallbackScope<'a, 'm, T: Real> {
    tape: &'a Tape<'m, T>,
}

impl<T: Real> Drop for CallbackScope<'_, '_, T> {
    fn drop(&mut self) {
        let depth = &self.tape.callbacks;
        depth.set(depth.get().saturating_sub(1));
    }
}

impl<'m, T: Real> Tape<'m, T> {
    /// Marks the tape as running a callback until the returned scope drops.
    pub(crate) fn enter_callback(&self) -> CallbackScope<'_, 'm, T> {
        self.callbacks.set(self.callbacks.get().saturating_add(1));
        CallbackScope { tape: self }
    }

    /// True while a callback runs on the tape.
    pub fn in_callback(&self) -> bool {
        self.callbacks.get() > 0
    }

    /// Fails (and fails the tape) when a callback is running on it: `what` names the
    /// refused call.
    pub(crate) fn refuse_in_callback(&self, what: &'static str) -> Result<()> {
        if !self.in_callback() {
            return Ok(());
        }
        let error = Error::Reentrant(what);
        self.fail(error);
        Err(error)
    }
}
