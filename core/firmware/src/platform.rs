//! Starting a program and ending it: on the firmware through semihosting, on the host
//! through standard output and the process status.

/// A program: given its arena, it writes its results into the report.
pub type Program = fn(&mut [core::mem::MaybeUninit<u8>], &mut crate::Report);

#[cfg(target_os = "none")]
mod firmware;
#[cfg(target_os = "none")]
pub use firmware::run;
#[cfg(target_os = "none")]
mod stack;

#[cfg(not(target_os = "none"))]
mod host;
#[cfg(not(target_os = "none"))]
pub use host::run;
