//! A GPU, its device arena, and explicit copies between host slices and device tensors.

use crate::arena::{ArenaMark, DeviceArena};
use crate::backend::{Arg, Backend, Gemm, Launch};
use crate::core_error::LastError;
use crate::error::{CudaError, Result};
use crate::kernels::{DType, Kernel};
use crate::tensor::{as_bytes, as_bytes_mut, DeviceScalar, DeviceTensor};
use autodiff_core::Shape;
use std::sync::atomic::{AtomicU32, Ordering};

/// What the driver says about a GPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub ordinal: usize,
    pub name: String,
    /// (major, minor): (9, 0) for an H100 or H200.
    pub compute_capability: (i32, i32),
    pub total_memory: usize,
    pub free_memory: usize,
}

/// Device memory in bytes, now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryInfo {
    pub free: usize,
    pub total: usize,
}

/// The number of GPUs, at least 1, or [`CudaError::NoDevice`] when there is none (no
/// `cuda` feature, no driver, or no GPU). Never panics.
pub fn device_count() -> Result<usize> {
    Backend::device_count()
}

/// Distinguishes devices' tensors from one another.
static NEXT_DEVICE_ID: AtomicU32 = AtomicU32::new(0);

/// An open GPU with its arena: one block of device memory allocated when it is opened,
/// handed out to tensors by bumping, and given back by [`Device::rewind`] or
/// [`Device::reset`], never one tensor at a time.
///
/// Work runs in order on one stream; [`Device::read`] waits for it. A `Device` is not
/// `Sync`: give each thread its own.
#[derive(Debug)]
pub struct Device {
    backend: Backend,
    id: u32,
    arena: DeviceArena,
    /// "NVIDIA H100 80GB HBM3 (cuda:0)", made once at open so that messages and graph
    /// exports can borrow it.
    name: String,
    /// The full text of the last failure reported through the core's
    /// [`TensorDevice`](autodiff_core::TensorDevice), whose errors carry static text only.
    last_error: LastError,
    /// The identity of the tape that holds the device (see `TensorDevice::claim`).
    pub(crate) owner: autodiff_core::tensor::device::DeviceOwner,
}

impl Device {
    /// Device 0's description, or why there is no usable GPU. Safe to call anywhere: on
    /// a machine with no driver it returns [`CudaError::NoDevice`] instead of panicking.
    pub fn probe() -> Result<DeviceInfo> {
        Device::describe(0)
    }

    /// Device `ordinal`'s description, or why it is not usable.
    pub fn describe(ordinal: usize) -> Result<DeviceInfo> {
        Backend::device_info(ordinal)
    }

    /// Opens device `ordinal`, loads the embedded kernels and allocates an arena of
    /// `arena_bytes`.
    pub fn open(ordinal: usize, arena_bytes: usize) -> Result<Device> {
        let backend = Backend::open(ordinal, arena_bytes)?;
        // The name is only a label: a failed query does not make the device unusable.
        let model = backend
            .info()
            .map_or_else(|_| "CUDA device".into(), |i| i.name);
        Ok(Device {
            backend,
            id: NEXT_DEVICE_ID.fetch_add(1, Ordering::Relaxed),
            arena: DeviceArena::new(arena_bytes),
            name: format!("{model} (cuda:{ordinal})"),
            last_error: LastError::default(),
            owner: Default::default(),
        })
    }

    /// The model and ordinal, as "NVIDIA H100 80GB HBM3 (cuda:0)".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full message of the last failure of a call made through the core's
    /// [`TensorDevice`](autodiff_core::TensorDevice) (whose errors carry only a static
    /// category), or `None` if there was none. Kept until the next failure.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.get()
    }

    /// Keeps `error`'s full message for [`Device::last_error`] and returns the core's
    /// error for it.
    pub(crate) fn core_error(&self, error: CudaError) -> autodiff_core::Error {
        self.last_error.record(error)
    }

    pub fn info(&self) -> Result<DeviceInfo> {
        self.backend.info()
    }

    pub fn memory(&self) -> Result<MemoryInfo> {
        self.backend.memory()
    }

    pub fn arena_capacity(&self) -> usize {
        self.arena.capacity()
    }

    pub fn arena_used(&self) -> usize {
        self.arena.used()
    }

    /// A zero-filled tensor of `dims` (rank ≤ 4).
    pub fn alloc(&self, dtype: DType, dims: &[usize]) -> Result<DeviceTensor> {
        let shape = Shape::new(dims).ok_or(CudaError::InvalidArgument(
            "alloc: rank above 4 or a dimension above u32::MAX",
        ))?;
        self.alloc_shape(dtype, shape)
    }

    /// A zero-filled tensor of `shape`. An empty one still gets (and zeroes) one element
    /// of space, so that every tensor has an address of its own that kernels may touch.
    pub(crate) fn alloc_shape(&self, dtype: DType, shape: Shape) -> Result<DeviceTensor> {
        let len = shape
            .checked_len()
            .ok_or(CudaError::InvalidArgument("alloc: element count overflows"))?;
        let bytes = len
            .checked_mul(dtype.size())
            .ok_or(CudaError::InvalidArgument("alloc: byte count overflows"))?;
        let bytes = bytes.max(dtype.size());
        let (offset, serial) = self.arena.alloc(bytes)?;
        let tensor = DeviceTensor {
            device: self.id,
            serial,
            offset,
            len,
            dtype,
            shape,
        };
        self.backend.zero(self.address(&tensor), bytes)?;
        Ok(tensor)
    }

    /// A new tensor of `dims` holding a copy of `data`.
    pub fn upload<T: DeviceScalar>(&self, dims: &[usize], data: &[T]) -> Result<DeviceTensor> {
        let tensor = self.alloc(T::DTYPE, dims)?;
        self.write(&tensor, data)?;
        Ok(tensor)
    }

    /// Copies `data` into `tensor`; the lengths and element types must match.
    pub fn write<T: DeviceScalar>(&self, tensor: &DeviceTensor, data: &[T]) -> Result<()> {
        self.pointer("write", tensor, T::DTYPE)?;
        self.write_bytes(tensor, as_bytes(data)).map(drop)
    }

    /// Copies `bytes` into `tensor` (all of it) and returns its device address.
    pub(crate) fn write_bytes(&self, tensor: &DeviceTensor, bytes: &[u8]) -> Result<u64> {
        let dst = self.pointer("write", tensor, tensor.dtype)?;
        if bytes.len() != tensor.bytes() {
            return Err(CudaError::InvalidArgument(
                "write: slice length differs from the tensor's",
            ));
        }
        self.backend.upload(dst, bytes)?;
        Ok(dst)
    }

    /// Copies `tensor` into `out` after all queued work; lengths and types must match.
    pub fn read<T: DeviceScalar>(&self, tensor: &DeviceTensor, out: &mut [T]) -> Result<()> {
        let src = self.pointer("read", tensor, T::DTYPE)?;
        if out.len() != tensor.len {
            return Err(CudaError::InvalidArgument(
                "read: slice length differs from the tensor's",
            ));
        }
        self.backend.download(src, as_bytes_mut(out))
    }

    /// Sets every element of `tensor` to zero (a gradient before a backward pass).
    pub fn zero(&self, tensor: &DeviceTensor) -> Result<()> {
        let dst = self.pointer("zero", tensor, tensor.dtype)?;
        self.backend.zero(dst, tensor.bytes())
    }

    /// Waits for all queued work and reports any error a kernel raised.
    pub fn synchronize(&self) -> Result<()> {
        self.backend.synchronize()
    }

    /// This device's id, which its tensors and marks carry.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub fn mark(&self) -> ArenaMark {
        self.arena.mark(self.id)
    }

    /// Gives back every tensor allocated after `mark`; their handles become stale.
    pub fn rewind(&self, mark: ArenaMark) -> Result<()> {
        if mark.device != self.id {
            return Err(CudaError::WrongDevice);
        }
        self.arena.rewind(mark);
        Ok(())
    }

    /// Gives back every tensor; all handles become stale.
    pub fn reset(&self) {
        self.arena.reset();
    }

    fn address(&self, tensor: &DeviceTensor) -> u64 {
        self.backend.base() + tensor.offset as u64
    }

    /// The device address of `tensor` after checking that it is this device's, still
    /// live, and of element type `dtype`.
    pub(crate) fn pointer(
        &self,
        op: &'static str,
        tensor: &DeviceTensor,
        dtype: DType,
    ) -> Result<u64> {
        if tensor.device != self.id {
            return Err(CudaError::WrongDevice);
        }
        if !self.arena.is_live(tensor.offset, tensor.serial) {
            return Err(CudaError::StaleHandle);
        }
        if tensor.dtype != dtype {
            return Err(CudaError::DTypeMismatch {
                op,
                expected: dtype,
                found: tensor.dtype,
            });
        }
        Ok(self.address(tensor))
    }

    pub(crate) fn launch(
        &self,
        kernel: Kernel,
        dtype: DType,
        at: Launch,
        args: &[Arg],
    ) -> Result<()> {
        self.backend.launch(kernel, dtype, at, args)
    }

    pub(crate) fn gemm(&self, dtype: DType, gemm: &Gemm) -> Result<()> {
        self.backend.gemm(dtype, gemm)
    }

    /// Runs `f` with scratch tensors that are given back afterwards, success or not.
    /// Work queued on them stays ordered before any later use of the same bytes, since
    /// everything runs on one stream.
    pub(crate) fn with_scratch<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let mark = self.mark();
        let result = f();
        self.arena.rewind(mark);
        result
    }
}
