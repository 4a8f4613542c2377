//! Programs that run the core on a Cortex-M with no heap: each takes its arena from a
//! static buffer and writes its results as a [`Report`].
//!
//! The same source builds for the firmware (`thumbv7em-none-eabihf`, and
//! `thumbv6m-none-eabi`), where [`platform`] starts it from the reset handler and
//! prints through semihosting, and for the host, where it prints the same lines and
//! compares them with a firmware transcript (see [`report`] for the line format).
#![cfg_attr(target_os = "none", no_std)]

pub mod mlp;
pub mod ode;
pub mod platform;
pub mod report;
pub mod rosenbrock;
pub mod seed;

pub use report::Report;
