//! The gradient of the Rosenbrock function on an `f32` tape (see `autodiff_firmware::rosenbrock`).
#![cfg_attr(target_os = "none", no_std, no_main)]

autodiff_firmware::program_main!(rosenbrock);
