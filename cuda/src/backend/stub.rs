//! The backend of a build without the `cuda` feature: it cannot be constructed, and every
//! query reports `NoDevice`.

use super::{Arg, Gemm, Launch};
use crate::device::{DeviceInfo, MemoryInfo};
use crate::error::{CudaError, Result};
use crate::kernels::{DType, Kernel};

/// Uninhabited: no value exists, so the methods below are unreachable.
#[derive(Debug)]
pub(crate) enum Backend {}

fn no_device<T>() -> Result<T> {
    Err(CudaError::NoDevice(
        "libautodiff was built without the `cuda` feature".into(),
    ))
}

impl Backend {
    pub(crate) fn device_count() -> Result<usize> {
        no_device()
    }

    pub(crate) fn device_info(_ordinal: usize) -> Result<DeviceInfo> {
        no_device()
    }

    pub(crate) fn open(_ordinal: usize, _arena_bytes: usize) -> Result<Backend> {
        no_device()
    }

    pub(crate) fn base(&self) -> u64 {
        match *self {}
    }

    pub(crate) fn info(&self) -> Result<DeviceInfo> {
        match *self {}
    }

    pub(crate) fn memory(&self) -> Result<MemoryInfo> {
        match *self {}
    }

    pub(crate) fn upload(&self, _dst: u64, _src: &[u8]) -> Result<()> {
        match *self {}
    }

    pub(crate) fn download(&self, _src: u64, _dst: &mut [u8]) -> Result<()> {
        match *self {}
    }

    pub(crate) fn zero(&self, _dst: u64, _bytes: usize) -> Result<()> {
        match *self {}
    }

    pub(crate) fn launch(&self, _: Kernel, _: DType, _: Launch, _: &[Arg]) -> Result<()> {
        match *self {}
    }

    pub(crate) fn gemm(&self, _: DType, _: &Gemm) -> Result<()> {
        match *self {}
    }

    pub(crate) fn synchronize(&self) -> Result<()> {
        match *self {}
    }
}
