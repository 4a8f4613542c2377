//! The backend over the CUDA driver, loaded at run time through cudarc.
//!
//! cudarc's dynamic loading panics when `libcuda.so` is missing, so every entry point
//! first asks `is_culib_present()`, and cuBLAS is touched only after its own presence
//! check. Each call is also wrapped in `catch_unwind` as a last defence (effective in
//! builds with `panic = "unwind"`; the presence checks are what protect `panic = "abort"`
//! release builds).

use super::{Arg, Gemm, Launch};
use crate::device::{DeviceInfo, MemoryInfo};
use crate::error::{CudaError, Result};
use crate::kernels::{DType, Kernel, FLOAT_TYPES};
use cudarc::cublas::{result as blas, sys as blas_sys, CudaBlas};
use cudarc::driver::{result, sys, CudaContext, CudaStream, DriverError};
use std::ffi::{c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/fatbins.rs"));

pub(crate) struct Backend {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    /// The device arena: one allocation for the life of the backend.
    base: u64,
    modules: Vec<sys::CUmodule>,
    /// Indexed by [`Kernel::slot`].
    functions: Vec<sys::CUfunction>,
    /// `None` when libcublas is absent: matmul then reports `NoCublas`.
    blas: Option<CudaBlas>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("ordinal", &self.ctx.ordinal())
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Runs `f`, turning a panic inside cudarc into an error.
fn guard<T>(what: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let text = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        Err(CudaError::Driver(format!(
            "{what}: the CUDA loader panicked: {text}"
        )))
    })
}

fn require_driver() -> Result<()> {
    // SAFETY: only tries to dlopen libcuda under its usual names.
    if unsafe { sys::is_culib_present() } {
        Ok(())
    } else {
        Err(CudaError::NoDevice(
            "the NVIDIA driver library (libcuda.so) is not installed".into(),
        ))
    }
}

/// A driver error as ours: the ones that mean "no usable GPU here" become `NoDevice`.
fn driver_error(call: &'static str) -> impl Fn(DriverError) -> CudaError {
    move |e| {
        use sys::cudaError_enum as E;
        let text = format!("{call}: {e:?}");
        match e.0 {
            E::CUDA_ERROR_NO_DEVICE
            | E::CUDA_ERROR_INVALID_DEVICE
            | E::CUDA_ERROR_SYSTEM_DRIVER_MISMATCH
            | E::CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE => CudaError::NoDevice(text),
            _ => CudaError::Driver(text),
        }
    }
}

fn query(ctx: &Arc<CudaContext>) -> Result<DeviceInfo> {
    let err = driver_error("device query");
    let (free, total) = ctx.mem_get_info().map_err(&err)?;
    Ok(DeviceInfo {
        ordinal: ctx.ordinal(),
        name: ctx.name().map_err(&err)?,
        compute_capability: ctx.compute_capability().map_err(&err)?,
        total_memory: total,
        free_memory: free,
    })
}

fn context(ordinal: usize) -> Result<Arc<CudaContext>> {
    let count = Backend::device_count()?;
    if ordinal >= count {
        return Err(CudaError::NoDevice(format!(
            "no device {ordinal}: the driver reports {count}"
        )));
    }
    CudaContext::new(ordinal).map_err(driver_error("cuCtxCreate"))
}

/// Loads a fatbin. The driver wants it 8-byte aligned; `include_bytes!` promises 1.
fn load_module(image: &[u8]) -> Result<sys::CUmodule> {
    let mut aligned = vec![0u64; image.len().div_ceil(8)];
    // SAFETY: `aligned` has at least `image.len()` bytes; the two do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(image.as_ptr(), aligned.as_mut_ptr().cast(), image.len())
    };
    // SAFETY: a complete fatbin produced by nvcc at build time.
    unsafe { result::module::load_data(aligned.as_ptr().cast()) }
        .map_err(driver_error("cuModuleLoadData"))
}

/// Every kernel for every float type, found in whichever module defines it.
fn load_functions(modules: &[sys::CUmodule]) -> Result<Vec<sys::CUfunction>> {
    let mut functions = vec![std::ptr::null_mut(); Kernel::ALL.len() * FLOAT_TYPES.len()];
    for &kernel in Kernel::ALL {
        for dtype in FLOAT_TYPES {
            let symbol = kernel.symbol(dtype).expect("float types have kernels");
            let name = CString::new(symbol.clone()).expect("no NUL in kernel names");
            functions[kernel.slot(dtype)] = modules
                .iter()
                // SAFETY: `module` is loaded and stays loaded while the backend lives.
                .find_map(|&module| {
                    unsafe { result::module::get_function(module, name.clone()) }.ok()
                })
                .ok_or_else(|| {
                    CudaError::Driver(format!("kernel {symbol} is not in the fatbins"))
                })?;
        }
    }
    Ok(functions)
}

impl Backend {
    pub(crate) fn device_count() -> Result<usize> {
        require_driver()?;
        guard("device_count", || {
            let count = CudaContext::device_count().map_err(driver_error("cuDeviceGetCount"))?;
            match usize::try_from(count) {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(CudaError::NoDevice("the driver reports no GPU".into())),
            }
        })
    }

    pub(crate) fn device_info(ordinal: usize) -> Result<DeviceInfo> {
        require_driver()?;
        guard("device_info", || query(&context(ordinal)?))
    }

    pub(crate) fn open(ordinal: usize, arena_bytes: usize) -> Result<Backend> {
        require_driver()?;
        guard("open", || {
            let ctx = context(ordinal)?;
            ctx.bind_to_thread()
                .map_err(driver_error("cuCtxSetCurrent"))?;
            let stream = ctx.default_stream();
            // SAFETY: the context is current; the block is freed in `drop`.
            let base =
                unsafe { result::malloc_sync(arena_bytes.max(1)) }.map_err(|e| match e.0 {
                    sys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY => CudaError::OutOfMemory {
                        needed: arena_bytes,
                        free: ctx.mem_get_info().map_or(0, |(free, _)| free),
                    },
                    _ => driver_error("cuMemAlloc")(e),
                })?;
            let mut backend = Backend {
                ctx,
                stream: stream.clone(),
                base,
                modules: Vec::new(),
                functions: Vec::new(),
                blas: None,
            };
            for (_, image) in MODULES {
                let module = load_module(image)?;
                backend.modules.push(module);
            }
            backend.functions = load_functions(&backend.modules)?;
            // SAFETY: only tries to dlopen libcublas under its usual names.
            if unsafe { blas_sys::is_culib_present() } {
                backend.blas = CudaBlas::new(stream).ok();
            }
            Ok(backend)
        })
    }

    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    fn bind(&self) -> Result<()> {
        self.ctx
            .bind_to_thread()
            .map_err(driver_error("cuCtxSetCurrent"))
    }

    pub(crate) fn info(&self) -> Result<DeviceInfo> {
        guard("info", || query(&self.ctx))
    }

    pub(crate) fn memory(&self) -> Result<MemoryInfo> {
        guard("memory", || {
            let (free, total) = self
                .ctx
                .mem_get_info()
                .map_err(driver_error("cuMemGetInfo"))?;
            Ok(MemoryInfo { free, total })
        })
    }

    pub(crate) fn upload(&self, dst: u64, src: &[u8]) -> Result<()> {
        guard("upload", || {
            self.bind()?;
            // SAFETY: the caller checked that `dst` has `src.len()` bytes of the arena.
            // A copy from pageable memory has read `src` when the call returns.
            unsafe { result::memcpy_htod_async(dst, src, self.stream.cu_stream()) }
                .map_err(driver_error("cuMemcpyHtoDAsync"))
        })
    }

    pub(crate) fn download(&self, src: u64, dst: &mut [u8]) -> Result<()> {
        guard("download", || {
            self.bind()?;
            // SAFETY: the caller checked that `src` has `dst.len()` bytes of the arena;
            // the synchronize below completes the copy before `dst` is released.
            unsafe { result::memcpy_dtoh_async(dst, src, self.stream.cu_stream()) }
                .map_err(driver_error("cuMemcpyDtoHAsync"))?;
            self.stream
                .synchronize()
                .map_err(driver_error("cuStreamSynchronize"))
        })
    }

    pub(crate) fn zero(&self, dst: u64, bytes: usize) -> Result<()> {
        guard("zero", || {
            self.bind()?;
            // SAFETY: the caller checked that `dst` has `bytes` bytes of the arena.
            unsafe { result::memset_d8_async(dst, 0, bytes, self.stream.cu_stream()) }
                .map_err(driver_error("cuMemsetD8Async"))
        })
    }

    pub(crate) fn launch(
        &self,
        kernel: Kernel,
        dtype: DType,
        at: Launch,
        args: &[Arg],
    ) -> Result<()> {
        let function = *self
            .functions
            .get(kernel.slot(dtype))
            .filter(|_| dtype != DType::U32)
            .ok_or(CudaError::InvalidArgument(
                "no kernel for this element type",
            ))?;
        // Each argument's bytes, then a pointer to each: the driver copies them at launch.
        #[derive(Clone, Copy)]
        enum Value {
            U64(u64),
            I32(i32),
            F32(f32),
            F64(f64),
            Words([u64; 12]),
        }
        let mut values: Vec<Value> = args
            .iter()
            .map(|&arg| match arg {
                Arg::Ptr(v) | Arg::U64(v) => Value::U64(v),
                Arg::I32(v) => Value::I32(v),
                Arg::Real(v) if dtype == DType::F32 => Value::F32(v as f32),
                Arg::Real(v) => Value::F64(v),
                Arg::Words(w) => Value::Words(w),
            })
            .collect();
        let mut params: Vec<*mut c_void> = values
            .iter_mut()
            .map(|v| match v {
                Value::U64(x) => (x as *mut u64).cast(),
                Value::I32(x) => (x as *mut i32).cast(),
                Value::F32(x) => (x as *mut f32).cast(),
                Value::F64(x) => (x as *mut f64).cast(),
                Value::Words(x) => x.as_mut_ptr().cast(),
            })
            .collect();
        guard("launch", || {
            self.bind()?;
            // SAFETY: `function` takes exactly these parameters (the ops build `args` to
            // the kernel's signature), and every pointer was checked against the arena.
            unsafe {
                result::launch_kernel(
                    function,
                    at.grid,
                    (at.block, 1, 1),
                    0,
                    self.stream.cu_stream(),
                    &mut params,
                )
            }
            .map_err(|e| CudaError::Driver(format!("launch {}: {e:?}", kernel.base_name())))
        })
    }

    /// Row-major through column-major cuBLAS: C = op(A)·op(B) row-major is
    /// Cᵀ = op(B)ᵀ·op(A)ᵀ column-major, and a row-major matrix read column-major is its
    /// transpose, so the operands swap and the flags stay.
    pub(crate) fn gemm(&self, dtype: DType, g: &Gemm) -> Result<()> {
        let blas = self.blas.as_ref().ok_or(CudaError::NoCublas)?;
        let op = |t: bool| {
            if t {
                blas_sys::cublasOperation_t::CUBLAS_OP_T
            } else {
                blas_sys::cublasOperation_t::CUBLAS_OP_N
            }
        };
        let (ta, tb) = (op(g.transpose_a), op(g.transpose_b));
        guard("gemm", || {
            self.bind()?;
            // SAFETY: the caller checked every operand's extent against the arena and
            // the dimensions against the tensors' shapes.
            let status = unsafe {
                match dtype {
                    DType::F32 => blas::sgemm(
                        *blas.handle(),
                        tb,
                        ta,
                        g.n,
                        g.m,
                        g.k,
                        &(g.alpha as f32),
                        g.b as *const f32,
                        g.ldb,
                        g.a as *const f32,
                        g.lda,
                        &(g.beta as f32),
                        g.c as *mut f32,
                        g.ldc,
                    ),
                    DType::F64 => blas::dgemm(
                        *blas.handle(),
                        tb,
                        ta,
                        g.n,
                        g.m,
                        g.k,
                        &g.alpha,
                        g.b as *const f64,
                        g.ldb,
                        g.a as *const f64,
                        g.lda,
                        &g.beta,
                        g.c as *mut f64,
                        g.ldc,
                    ),
                    DType::U32 => return Err(CudaError::InvalidArgument("gemm on u32")),
                }
            };
            status.map_err(|e| CudaError::Cublas(format!("{e:?}")))
        })
    }

    pub(crate) fn synchronize(&self) -> Result<()> {
        guard("synchronize", || {
            self.stream
                .synchronize()
                .map_err(driver_error("cuStreamSynchronize"))
        })
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // Errors here have nowhere to go; the context is torn down with the process.
        let _ = guard("drop", || {
            self.bind()?;
            let _ = self.stream.synchronize();
            // SAFETY: the block and modules were made by `open` and are not used again.
            unsafe {
                let _ = result::free_sync(self.base);
                for &module in &self.modules {
                    let _ = result::module::unload(module);
                }
            }
            Ok(())
        });
    }
}
