//! Device tensor handles: where a tensor lives in the device arena, its shape and element
//! type. A handle is plain data (`Copy`); the device checks it on every use.

use crate::kernels::DType;
use autodiff_core::Shape;

/// Host element types that copy to and from device tensors. Sealed.
pub trait DeviceScalar: Copy + Default + sealed::Sealed + 'static {
    const DTYPE: DType;
}

impl DeviceScalar for f32 {
    const DTYPE: DType = DType::F32;
}
impl DeviceScalar for f64 {
    const DTYPE: DType = DType::F64;
}
impl DeviceScalar for u32 {
    const DTYPE: DType = DType::U32;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for u32 {}
}

/// A tensor in a [`Device`](crate::Device)'s arena, row-major and dense. Valid until the
/// arena is rewound past it or reset; using it after that, or on another device, is an
/// error ([`CudaError::StaleHandle`](crate::CudaError::StaleHandle),
/// [`CudaError::WrongDevice`](crate::CudaError::WrongDevice)), never a wild access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceTensor {
    pub(crate) device: u32,
    pub(crate) serial: u64,
    pub(crate) offset: usize,
    pub(crate) len: usize,
    pub(crate) dtype: DType,
    pub(crate) shape: Shape,
}

impl DeviceTensor {
    pub fn shape(&self) -> Shape {
        self.shape
    }

    pub fn dims(&self) -> &[u32] {
        self.shape.dims()
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&self) -> usize {
        self.len * self.dtype.size()
    }

    /// Whether the two tensors share any byte (both on one device).
    pub(crate) fn overlaps(&self, other: &DeviceTensor) -> bool {
        self.device == other.device
            && self.offset < other.offset + other.bytes().max(1)
            && other.offset < self.offset + self.bytes().max(1)
    }
}

/// `data` viewed as bytes.
pub(crate) fn as_bytes<T: DeviceScalar>(data: &[T]) -> &[u8] {
    // SAFETY: `T` is f32, f64 or u32 (sealed): no padding, every byte initialised.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast(), std::mem::size_of_val(data)) }
}

/// `data` viewed as bytes, writable.
pub(crate) fn as_bytes_mut<T: DeviceScalar>(data: &mut [T]) -> &mut [u8] {
    // SAFETY: as above, and every bit pattern is a valid f32, f64 or u32.
    unsafe { std::slice::from_raw_parts_mut(data.as_mut_ptr().cast(), std::mem::size_of_val(data)) }
}
