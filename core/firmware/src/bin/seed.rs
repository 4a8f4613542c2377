//! The seed chapter's worked gradients on an `f32` tape (see `autodiff_firmware::seed`).
#![cfg_attr(target_os = "none", no_std, no_main)]

autodiff_firmware::program_main!(seed);
