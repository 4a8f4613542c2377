//! `autodiff-cuda`: the optional CUDA backend of libautodiff.
//!
//! The kernels are `.cu` files in `cuda/kernels/`, compiled by nvcc at build time into
//! fatbins (sm_90 SASS plus compute_90 PTX) that the library embeds. At run time `cudarc`
//! loads the driver and cuBLAS dynamically, so the library links against no CUDA library
//! and runs on machines without one: every entry point then returns
//! [`CudaError::NoDevice`], never a panic.
//!
//! Built without the `cuda` feature the crate needs no CUDA at all and is a stub: the
//! same API, where [`Device::probe`], [`Device::open`] and [`device_count`] report
//! `NoDevice`, so no [`Device`] can exist and no op can run.
//!
//! The layers, bottom to top:
//!
//! 1. [`CudaError`], [`DType`] and the kernel names ([`kernels`]);
//! 2. the backend: the CUDA driver through cudarc, or the stub;
//! 3. [`Device`]: probing, the device arena and explicit host ↔ device copies of
//!    [`DeviceTensor`]s;
//! 4. [`ops`]: each tensor op's forward and backward, with shapes, element types and
//!    ownership checked before any launch;
//! 5. the core's [`TensorDevice`](autodiff_core::TensorDevice) for [`Device`], through
//!    which a tape dispatches its device tensors' ops to [`ops`].

mod arena;
mod backend;
mod core_error;
mod device;
mod error;
pub mod kernels;
pub mod ops;
mod tape_device;
mod tensor;

pub use arena::ArenaMark;
pub use device::{device_count, Device, DeviceInfo, MemoryInfo};
pub use error::{CudaError, Result};
pub use kernels::DType;
pub use tensor::{DeviceScalar, DeviceTensor};

/// Whether this build has the CUDA backend compiled in (the `cuda` feature).
pub const COMPILED_WITH_CUDA: bool = cfg!(feature = "cuda");
