//! The seed chapter's worked gradients on an `f32` tape (see `autodiff_firmware::seed`).
#![cfg_attr(target_os = "none", no_std, no_main)]

use autodiff_firmware::{platform, seed};
use core::mem::MaybeUninit;

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    // cortex-m-rt hands a `static mut` declared here to `main` as a `&'static mut`.
    static mut ARENA: [MaybeUninit<u8>; seed::ARENA_BYTES] =
        [MaybeUninit::uninit(); seed::ARENA_BYTES];
    platform::run(seed::run, ARENA)
}

#[cfg(not(target_os = "none"))]
fn main() {
    platform::run(seed::run, &mut [MaybeUninit::uninit(); seed::ARENA_BYTES])
}
