//! A checkpointed ODE adjoint in `f64` (see `autodiff_firmware::ode`).
#![cfg_attr(target_os = "none", no_std, no_main)]

autodiff_firmware::program_main!(ode);
