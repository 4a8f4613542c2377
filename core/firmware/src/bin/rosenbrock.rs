//! The gradient of the Rosenbrock function on an `f32` tape (see `autodiff_firmware::rosenbrock`).
#![cfg_attr(target_os = "none", no_std, no_main)]

use autodiff_firmware::{platform, rosenbrock};
use core::mem::MaybeUninit;

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    // cortex-m-rt hands a `static mut` declared here to `main` as a `&'static mut`.
    static mut ARENA: [MaybeUninit<u8>; rosenbrock::ARENA_BYTES] =
        [MaybeUninit::uninit(); rosenbrock::ARENA_BYTES];
    platform::run(rosenbrock::run, ARENA)
}

#[cfg(not(target_os = "none"))]
fn main() {
    platform::run(
        rosenbrock::run,
        &mut [MaybeUninit::uninit(); rosenbrock::ARENA_BYTES],
    )
}
