//! The one error type of the core.
//!
//! Errors are *sticky* on a tape: the first one is kept, later ops record nothing, and
//! `reset` clears it (see [`Tape`](crate::Tape)). Every variant carries what a user needs
//! to fix the call, and formats without allocating.

use crate::shape::Shape;
use core::fmt;

/// Everything that can go wrong in the core. None of these is ever a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The arena cannot hold an allocation of `needed` bytes; `free` bytes remain.
    OutOfMemory { needed: usize, free: usize },
    /// The tape reached the largest variable index its records can encode.
    TooManyVariables { limit: usize },
    /// A handle of this tape that is no longer live: recorded before the tape's last
    /// `reset`, or inside a checkpointed block that has ended.
    StaleHandle,
    /// A handle that belongs to another tape (or to a tape that once lived in the same
    /// memory), or was returned by a failed op, or was never issued.
    ForeignHandle,
    /// A handle of one kind where another is expected (a tensor where a scalar variable
    /// is, or the other way round).
    WrongHandleKind {
        expected: &'static str,
        got: &'static str,
    },
    /// A call that a callback running on the tape (a checkpointed block, a chain step,
    /// a graph sink) may not make on that tape; the text says which.
    Reentrant(&'static str),
    /// An argument outside what the call accepts; the text says which.
    InvalidArgument(&'static str),
    /// A caller's buffer or array holds `got` elements where the call needs `expected`:
    /// `what` names the caller's length and `against` the count it must equal.
    LengthMismatch {
        what: &'static str,
        got: usize,
        against: &'static str,
        expected: usize,
    },
    /// Two shapes that `op` cannot combine.
    ShapeMismatch {
        op: &'static str,
        lhs: Shape,
        rhs: Shape,
    },
    /// A size whose element or byte count overflows `usize`.
    SizeOverflow,
    /// A tensor was updated in place after an op recorded that still needs its value.
    ModifiedInPlace {
        recorded_version: u32,
        current_version: u32,
    },
    /// A computation was asked of a tape whose element type differs from the caller's.
    DtypeMismatch,
    /// A value needed for a derivative is NaN or infinite.
    NonFinite(&'static str),
    /// No compute device (GPU) is present or usable.
    NoDevice,
    /// A backend failed; the text says how.
    Backend(&'static str),
    /// An op's arguments live in different places (host memory, or devices attached to
    /// the tape); move them with `to_device` / `to_host` first.
    DeviceMismatch { op: &'static str },
    /// A device handle the tape does not know (never attached, or from another tape).
    UnknownDevice,
    /// What the call asks is not available for tensors on a device; the text says what.
    UnsupportedOnDevice(&'static str),
    /// A replay found `changed` comparisons that a host branched on coming out the other
    /// way than when they were recorded (`first` counts the comparisons recorded before
    /// the first of them): the op sequence no longer matches the program, so its values
    /// and derivatives are not valid. Record again at the new inputs.
    BranchChanged { changed: usize, first: usize },
    /// A user-defined op's callback failed with `code` (its own, non-zero).
    CallbackFailed { code: i32 },
    /// Forward mode reached a user-defined op that has no forward-mode derivative (JVP).
    NoJvp,
    /// A tape image that cannot be loaded: not an image, truncated, corrupt (its
    /// checksum fails) or inconsistent; the text says which check failed.
    BadImage(&'static str),
    /// A tape image written in a format version this build does not read.
    ImageVersion { found: u16, supported: u16 },
    /// The tape holds a record that cannot be exported (saved as an image, or generated
    /// as C); the text says which.
    NotExportable(&'static str),
    /// A saved optimizer state that does not fit this tape (another optimizer, element
    /// type or parameter sizes, or not a saved state at all); the text says which.
    StateMismatch(&'static str),
    /// A sparsity pattern (a sparse Jacobian or Hessian plan) computed from a recording
    /// the tape no longer holds: it was reset or recorded more since.
    StalePattern,
    /// A sparsity pattern computed from another tape, or of the other kind than the
    /// call needs (a Jacobian's where a Hessian's is expected).
    ForeignPattern,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::OutOfMemory { needed, free } => write!(
                f,
                "arena exhausted: needed {needed} bytes, {free} bytes free"
            ),
            Error::TooManyVariables { limit } => {
                write!(f, "tape full: at most {limit} variables per tape")
            }
            Error::StaleHandle => f.write_str(
                "stale handle: it was recorded before the last reset, or inside a checkpointed block that has ended",
            ),
            Error::ForeignHandle => f.write_str(
                "foreign handle: it belongs to another tape, or to a failed op, or was never issued",
            ),
            Error::WrongHandleKind { expected, got } => {
                write!(f, "wrong kind of handle: expected {expected}, got {got}")
            }
            Error::Reentrant(what) => write!(f, "not allowed inside a callback on the same tape: {what}"),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::LengthMismatch { what, got, against, expected } => {
                write!(f, "{what} {got} differs from {against} {expected}")
            }
            Error::ShapeMismatch { op, lhs, rhs } => {
                write!(f, "shape mismatch in {op}: {lhs} and {rhs}")
            }
            Error::SizeOverflow => f.write_str("size overflow: the byte count does not fit in usize"),
            Error::ModifiedInPlace { recorded_version, current_version } => write!(
                f,
                "tensor modified in place: an op recorded at version {recorded_version} needs it, now at version {current_version}"
            ),
            Error::DtypeMismatch => f.write_str("dtype mismatch: the tape holds another element type"),
            Error::NonFinite(what) => write!(f, "non-finite value: {what}"),
            Error::NoDevice => f.write_str("no device: no usable GPU is present"),
            Error::Backend(what) => write!(f, "backend failure: {what}"),
            Error::DeviceMismatch { op } => write!(
                f,
                "device mismatch in {op}: the arguments live on different devices (move them with to_device / to_host)"
            ),
            Error::UnknownDevice => f.write_str("unknown device: it was never attached to this tape"),
            Error::UnsupportedOnDevice(what) => write!(f, "not supported on a device: {what}"),
            Error::BranchChanged { changed, first } => write!(
                f,
                "branch changed: {changed} recorded comparison(s) a branch depends on came out differently at the replayed inputs (the first is comparison {first}, counting from 0); record again"
            ),
            Error::CallbackFailed { code } => {
                write!(f, "a user-defined op's callback failed with code {code}")
            }
            Error::NoJvp => f.write_str(
                "no forward-mode derivative: a user-defined op on the tape has no JVP callback (use reverse mode)",
            ),
            Error::BadImage(what) => write!(f, "bad tape image: {what}"),
            Error::ImageVersion { found, supported } => write!(
                f,
                "tape image format version {found} is not supported (this build reads version {supported})"
            ),
            Error::NotExportable(what) => write!(f, "cannot export the tape: {what}"),
            Error::StateMismatch(what) => write!(f, "saved optimizer state does not fit this tape: {what}"),
            Error::StalePattern => f.write_str(
                "stale sparsity pattern: the tape was reset or recorded more since the pattern was computed; compute it again",
            ),
            Error::ForeignPattern => f.write_str(
                "foreign sparsity pattern: it was computed from another tape, or is of the other kind (Jacobian or Hessian)",
            ),
        }
    }
}

/// The result type of the core.
pub type Result<T, E = Error> = core::result::Result<T, E>;
