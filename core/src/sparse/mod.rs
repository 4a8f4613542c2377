//! Sparse Jacobians and Hessians: the pattern detected from the tape, a colouring that
//! groups structurally independent columns (or rows), and compressed evaluation with the
//! vector modes, recovered into compressed-row arrays.
//!
//! A plan ([`SparseJacobian`], [`SparseHessian`]) is computed once from a recorded tape
//! and lives in memory the caller hands in, beside the tape; it is then evaluated at any
//! number of new inputs (each evaluation replays the tape). The pattern is structural
//! (it does not depend on the values, `min`/`max` count both arguments), so it holds at
//! every input. A plan remembers the tape's identity and recording: after a `reset` or
//! after more recording, evaluating it fails with [`Error::StalePattern`].
//!
//! - `pattern`: index sets propagated over the records, shared where an op does not
//!   change them, in a pool carved from the plan's memory;
//! - [`colouring`]: greedy partial distance-2 colouring (Jacobians) and star colouring
//!   (Hessians), in natural, largest-first, smallest-last or saturation (DSATUR) order;
//! - `jacobian` and `hessian`: the plans, their evaluation and recovery.

pub mod colouring;
mod graph;
mod hessian;
mod jacobian;
mod ordering;
mod pattern;
mod plan;
mod words;

pub use colouring::Ordering;
pub use hessian::SparseHessian;
pub use jacobian::{JacobianMode, SparseJacobian};

use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::Tape;

/// Which recording a plan was computed from: the tape's identity, the reset epoch, and
/// the record and input counts then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Recording {
    tape: u32,
    epoch: u32,
    records: usize,
    inputs: usize,
}

impl Recording {
    fn of<T: Real>(tape: &Tape<'_, T>) -> Recording {
        Recording {
            tape: tape.identity(),
            epoch: tape.epoch(),
            records: tape.len(),
            inputs: tape.num_inputs(),
        }
    }

    /// Fails unless `tape` still holds the recording the plan was computed from.
    fn check<T: Real>(&self, tape: &Tape<'_, T>) -> Result<()> {
        let now = Recording::of(tape);
        if now.tape != self.tape {
            Err(Error::ForeignPattern)
        } else if now != *self {
            Err(Error::StalePattern)
        } else {
            Ok(())
        }
    }
}

/// Fails unless `count` new inputs match the tape's inputs (what `replay` checks, for the
/// evaluations that replay inside their sweep).
fn check_inputs<T: Real>(tape: &Tape<'_, T>, count: usize) -> Result<()> {
    crate::tape::check_len(
        "input length",
        count,
        "the number of inputs",
        tape.num_inputs(),
    )
}
