//! A checkpointed ODE adjoint in `f64` (see `autodiff_firmware::ode`).
#![cfg_attr(target_os = "none", no_std, no_main)]

use autodiff_firmware::{ode, platform};
use core::mem::MaybeUninit;

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    // cortex-m-rt hands a `static mut` declared here to `main` as a `&'static mut`.
    static mut ARENA: [MaybeUninit<u8>; ode::ARENA_BYTES] =
        [MaybeUninit::uninit(); ode::ARENA_BYTES];
    platform::run(ode::run, ARENA)
}

#[cfg(not(target_os = "none"))]
fn main() {
    platform::run(ode::run, &mut [MaybeUninit::uninit(); ode::ARENA_BYTES])
}
