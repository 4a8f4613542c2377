//! Tensors in a compute device's memory, on the same tape as host tensors.
//!
//! A tape works on the host unless told otherwise. [`Tape::attach_device`](crate::Tape::attach_device)
//! gives it a device (anything implementing [`TensorDevice`]; the `autodiff-cuda` crate
//! implements it for GPUs) and returns a [`DeviceId`]. Tensors are then created on that
//! device (`tensor_input_on`, `parameter_on`) or moved there explicitly (`to_device`,
//! `to_host`: the only ops whose argument and result live in different places). Every
//! other op runs where its arguments live, and arguments in different places are an
//! [`Error::DeviceMismatch`](crate::Error::DeviceMismatch).
//! [`Tape::set_default_device`](crate::Tape::set_default_device) puts a whole tape there.
//!
//! Backward, forward mode (`jvp`), `replay` and the optimizers all run on the device.
//! Device memory is allocated when an op is recorded (sweeps do not allocate, except a
//! first forward-mode sweep, which takes its tangent buffers once) and is rewound to the
//! persistent part (parameters, optimizer state) when the tape is reset. A device serves
//! one tape at a time. Checkpointed segments refuse device tensors: recording a block
//! again in backward would take device memory nothing gives back before `reset`.

pub(crate) mod attach;
mod backend;
mod cpu;
mod cpu_memory;
mod owner;

pub use attach::MAX_DEVICES;

pub use backend::{DeviceBuffer, DeviceMark, DeviceRef, ParamRefs, Reduction, TensorDevice};
pub use cpu_memory::CpuDevice;
pub use owner::DeviceOwner;

/// Where a tensor lives: the host, or a device attached to its tape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct DeviceId(pub u8);

impl DeviceId {
    /// Host memory: the tape's arena.
    pub const HOST: DeviceId = DeviceId(0);

    pub fn is_host(self) -> bool {
        self == DeviceId::HOST
    }
}
