//! A 2-16-16-1 MLP trained with Adam in `f32` (see `autodiff_firmware::mlp`).
#![cfg_attr(target_os = "none", no_std, no_main)]

use autodiff_firmware::{mlp, platform};
use core::mem::MaybeUninit;

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    // cortex-m-rt hands a `static mut` declared here to `main` as a `&'static mut`.
    static mut ARENA: [MaybeUninit<u8>; mlp::ARENA_BYTES] =
        [MaybeUninit::uninit(); mlp::ARENA_BYTES];
    platform::run(mlp::run, ARENA)
}

#[cfg(not(target_os = "none"))]
fn main() {
    platform::run(mlp::run, &mut [MaybeUninit::uninit(); mlp::ARENA_BYTES])
}
