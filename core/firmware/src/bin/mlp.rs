//! A 2-16-16-1 MLP trained in `f32` (see `autodiff_firmware::mlp`).
#![cfg_attr(target_os = "none", no_std, no_main)]

autodiff_firmware::program_main!(mlp);
