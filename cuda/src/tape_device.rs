//! The tape's view of a [`Device`]: the core's [`TensorDevice`] for `f32` and `f64`.
//!
//! The core names buffers by [`DeviceBuffer`] (our arena offset and serial) and hands
//! them over with a shape as [`DeviceRef`]s; each method turns those into
//! [`DeviceTensor`]s of this device and calls the matching [`ops`] function or
//! [`Device`] call, which check ownership, liveness, element type and shapes as always.
//! Failures become the core's static [`Error`]s; [`Device::last_error`] keeps the full
//! message.
//!
//! Without the `cuda` feature this impl compiles as well, but no `Device` can exist, so
//! none of it can run: a tape gets `NoDevice` from [`Device::open`] before it could
//! attach one.

use crate::arena::ArenaMark;
use crate::error::{CudaError, Result as CudaResult};
use crate::kernels::DType;
use crate::ops::{self, BinaryOp, ParamBuffers, Softmax, Transpose};
use crate::tensor::{DeviceScalar, DeviceTensor};
use crate::Device;
use autodiff_core::tensor::device::{DeviceBuffer, DeviceMark, DeviceRef, ParamRefs, Reduction};
use autodiff_core::{Activation, Adam, Float, Op, Optimizer, Result, Sgd, Shape, TensorDevice};

/// `r` as a tensor of `dtype` on device `device`. Whether the buffer is live, and the
/// device's own, is checked when an op uses it.
fn tensor(device: u32, dtype: DType, r: DeviceRef) -> CudaResult<DeviceTensor> {
    let offset = usize::try_from(r.buffer.offset)
        .map_err(|_| CudaError::InvalidArgument("device buffer offset does not fit in usize"))?;
    let len = r
        .shape
        .checked_len()
        .ok_or(CudaError::InvalidArgument("element count overflows"))?;
    Ok(DeviceTensor {
        device,
        serial: r.buffer.serial,
        offset,
        len,
        dtype,
        shape: r.shape,
    })
}

/// The buffer holding `rows` class labels (u32), as cross-entropy reads it.
fn label_tensor(device: u32, buffer: DeviceBuffer, rows: usize) -> CudaResult<DeviceTensor> {
    let shape = u32::try_from(rows)
        .map(Shape::vector)
        .map_err(|_| CudaError::InvalidArgument("more than u32::MAX labels"))?;
    tensor(device, DType::U32, DeviceRef { buffer, shape })
}

/// `t` viewed with `shape` when the element counts agree (a reshape is the same buffer
/// under another shape); otherwise unchanged, so the op reports both shapes.
fn relabel(t: DeviceTensor, shape: Shape) -> DeviceTensor {
    if shape.checked_len() == Some(t.len) {
        DeviceTensor { shape, ..t }
    } else {
        t
    }
}

fn buffer(t: &DeviceTensor) -> DeviceBuffer {
    DeviceBuffer {
        offset: t.offset as u64,
        serial: t.serial,
    }
}

/// A mark is the arena's next serial; the device it belongs to is implied by the device
/// the tape hands it back to.
fn device_mark(mark: ArenaMark) -> DeviceMark {
    DeviceMark(mark.serial)
}

fn arena_mark(device: u32, mark: DeviceMark) -> ArenaMark {
    ArenaMark {
        device,
        serial: mark.0,
    }
}

fn binary_op(op: Op) -> CudaResult<BinaryOp> {
    match op {
        Op::Add => Ok(BinaryOp::Add),
        Op::Sub => Ok(BinaryOp::Sub),
        Op::Mul => Ok(BinaryOp::Mul),
        Op::Div => Ok(BinaryOp::Div),
        _ => Err(CudaError::InvalidArgument(
            "device binary op must be Add, Sub, Mul or Div",
        )),
    }
}

fn transposed(yes: bool) -> Transpose {
    if yes {
        Transpose::Yes
    } else {
        Transpose::No
    }
}

fn softmax(log: bool) -> Softmax {
    if log {
        Softmax::LogSoftmax
    } else {
        Softmax::Softmax
    }
}

/// The rows of a 2-D `[rows, classes]` tensor (0 for another rank, which the op rejects).
fn rows(r: &DeviceRef) -> usize {
    match r.shape.rank() {
        2 => r.shape.dim(0).unwrap_or(0),
        _ => 0,
    }
}

impl Device {
    /// `r` as this device's tensor of element type `T`.
    fn tensor<T: DeviceScalar>(&self, r: DeviceRef) -> CudaResult<DeviceTensor> {
        tensor(self.id(), T::DTYPE, r)
    }

    fn tensors<T: DeviceScalar, const N: usize>(
        &self,
        refs: [DeviceRef; N],
    ) -> CudaResult<[DeviceTensor; N]> {
        let mut out = [DeviceTensor {
            device: self.id(),
            serial: 0,
            offset: 0,
            len: 0,
            dtype: T::DTYPE,
            shape: Shape::SCALAR,
        }; N];
        for (t, r) in out.iter_mut().zip(refs) {
            *t = self.tensor::<T>(r)?;
        }
        Ok(out)
    }

    fn optional<T: DeviceScalar>(&self, r: Option<DeviceRef>) -> CudaResult<Option<DeviceTensor>> {
        r.map(|r| self.tensor::<T>(r)).transpose()
    }

    /// Runs a call for the tape: its error becomes the core's, its message is kept.
    fn for_tape<R>(&self, call: impl FnOnce() -> CudaResult<R>) -> Result<R> {
        call().map_err(|e| self.core_error(e))
    }
}

impl<T: Float + DeviceScalar> TensorDevice<T> for Device {
    fn name(&self) -> &str {
        Device::name(self)
    }

    fn claim(&self, tape: u32) -> Result<()> {
        self.owner.claim(tape)
    }

    fn release(&self, tape: u32) {
        self.owner.release(tape)
    }

    fn alloc(&self, shape: Shape) -> Result<DeviceBuffer> {
        self.for_tape(|| Ok(buffer(&self.alloc_shape(T::DTYPE, shape)?)))
    }

    fn alloc_labels(&self, labels: &[u32]) -> Result<DeviceBuffer> {
        self.for_tape(|| Ok(buffer(&Device::upload(self, &[labels.len()], labels)?)))
    }

    fn mark(&self) -> DeviceMark {
        device_mark(Device::mark(self))
    }

    fn rewind(&self, mark: DeviceMark) -> Result<()> {
        self.for_tape(|| Device::rewind(self, arena_mark(self.id(), mark)))
    }

    fn upload(&self, dst: DeviceRef, src: &[T]) -> Result<()> {
        self.for_tape(|| self.write(&self.tensor::<T>(dst)?, src))
    }

    fn download(&self, src: DeviceRef, dst: &mut [T]) -> Result<()> {
        self.for_tape(|| self.read(&self.tensor::<T>(src)?, dst))
    }

    fn zero(&self, t: DeviceRef) -> Result<()> {
        self.for_tape(|| Device::zero(self, &self.tensor::<T>(t)?))
    }

    fn matmul(
        &self,
        a: DeviceRef,
        transpose_a: bool,
        b: DeviceRef,
        transpose_b: bool,
        c: DeviceRef,
        beta: f64,
    ) -> Result<()> {
        self.for_tape(|| {
            let [a, b, c] = self.tensors::<T, 3>([a, b, c])?;
            let (ta, tb) = (transposed(transpose_a), transposed(transpose_b));
            ops::matmul(self, &a, ta, &b, tb, &c, 1.0, beta)
        })
    }

    fn bias_act_forward(&self, act: Activation, bias: DeviceRef, y: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [bias, y] = self.tensors::<T, 2>([bias, y])?;
            ops::bias_act_forward(self, act, &bias, &y)
        })
    }

    fn act_output_backward(
        &self,
        act: Activation,
        y: DeviceRef,
        g: DeviceRef,
        dz: DeviceRef,
    ) -> Result<()> {
        self.for_tape(|| {
            let [y, g, dz] = self.tensors::<T, 3>([y, g, dz])?;
            ops::act_output_backward(self, act, &y, &g, &dz)
        })
    }

    fn bias_grad(&self, dz: DeviceRef, gb: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [dz, gb] = self.tensors::<T, 2>([dz, gb])?;
            ops::bias_grad(self, &dz, &gb)
        })
    }

    fn transpose(&self, x: DeviceRef, y: DeviceRef, accumulate: bool) -> Result<()> {
        self.for_tape(|| {
            let [x, y] = self.tensors::<T, 2>([x, y])?;
            ops::transpose(self, &x, &y, accumulate)
        })
    }

    fn unary_forward(&self, act: Activation, slope: f64, x: DeviceRef, y: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [x, y] = self.tensors::<T, 2>([x, y])?;
            ops::unary_forward(self, act, slope, &x, &y)
        })
    }

    fn unary_backward(
        &self,
        act: Activation,
        slope: f64,
        x: DeviceRef,
        y: DeviceRef,
        g: DeviceRef,
        gx: DeviceRef,
    ) -> Result<()> {
        self.for_tape(|| {
            let [x, y, g, gx] = self.tensors::<T, 4>([x, y, g, gx])?;
            ops::unary_backward(self, act, slope, &x, &y, &g, &gx)
        })
    }

    fn scale_forward(&self, c: f64, x: DeviceRef, y: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [x, y] = self.tensors::<T, 2>([x, y])?;
            ops::scale_forward(self, c, &relabel(x, y.shape), &y)
        })
    }

    fn scale_backward(&self, c: f64, g: DeviceRef, gx: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [g, gx] = self.tensors::<T, 2>([g, gx])?;
            ops::scale_backward(self, c, &relabel(g, gx.shape), &gx)
        })
    }

    fn binary_forward(&self, op: Op, a: DeviceRef, b: DeviceRef, y: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [a, b, y] = self.tensors::<T, 3>([a, b, y])?;
            ops::binary_forward(self, binary_op(op)?, &a, &b, &y)
        })
    }

    fn binary_backward(
        &self,
        op: Op,
        a: DeviceRef,
        b: DeviceRef,
        y: DeviceRef,
        g: DeviceRef,
        ga: Option<DeviceRef>,
        gb: Option<DeviceRef>,
    ) -> Result<()> {
        self.for_tape(|| {
            let [a, b, y, g] = self.tensors::<T, 4>([a, b, y, g])?;
            let (ga, gb) = (self.optional::<T>(ga)?, self.optional::<T>(gb)?);
            let op = binary_op(op)?;
            ops::binary_backward(self, op, &a, &b, &y, &g, ga.as_ref(), gb.as_ref())
        })
    }

    fn reduce_forward(&self, reduction: Reduction, x: DeviceRef, y: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [x, y] = self.tensors::<T, 2>([x, y])?;
            ops::reduce_forward(self, reduction, &x, &y)
        })
    }

    fn reduce_backward(&self, reduction: Reduction, g: DeviceRef, gx: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [g, gx] = self.tensors::<T, 2>([g, gx])?;
            ops::reduce_backward(self, reduction, &g, &gx)
        })
    }

    fn softmax_forward(&self, log: bool, x: DeviceRef, y: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [x, y] = self.tensors::<T, 2>([x, y])?;
            ops::softmax_forward(self, softmax(log), &x, &y)
        })
    }

    fn softmax_backward(&self, log: bool, y: DeviceRef, g: DeviceRef, gx: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [y, g, gx] = self.tensors::<T, 3>([y, g, gx])?;
            ops::softmax_backward(self, softmax(log), &y, &g, &gx)
        })
    }

    fn cross_entropy_forward(
        &self,
        logits: DeviceRef,
        labels: DeviceBuffer,
        probs: DeviceRef,
        loss: DeviceRef,
    ) -> Result<()> {
        self.for_tape(|| {
            let labels = label_tensor(self.id(), labels, rows(&logits))?;
            let [logits, probs, loss] = self.tensors::<T, 3>([logits, probs, loss])?;
            ops::cross_entropy_forward(self, &logits, &labels, &probs, &loss)
        })
    }

    fn cross_entropy_backward(
        &self,
        probs: DeviceRef,
        labels: DeviceBuffer,
        g_loss: DeviceRef,
        gx: DeviceRef,
    ) -> Result<()> {
        self.for_tape(|| {
            let labels = label_tensor(self.id(), labels, rows(&probs))?;
            let [probs, g_loss, gx] = self.tensors::<T, 3>([probs, g_loss, gx])?;
            ops::cross_entropy_backward(self, &probs, &labels, &g_loss, &gx)
        })
    }

    fn mse_forward(&self, x: DeviceRef, z: DeviceRef, loss: DeviceRef) -> Result<()> {
        self.for_tape(|| {
            let [x, z, loss] = self.tensors::<T, 3>([x, z, loss])?;
            ops::mse_forward(self, &x, &z, &loss)
        })
    }

    fn mse_backward(
        &self,
        x: DeviceRef,
        z: DeviceRef,
        g_loss: DeviceRef,
        gx: Option<DeviceRef>,
        gz: Option<DeviceRef>,
    ) -> Result<()> {
        self.for_tape(|| {
            let [x, z, g_loss] = self.tensors::<T, 3>([x, z, g_loss])?;
            let (gx, gz) = (self.optional::<T>(gx)?, self.optional::<T>(gz)?);
            ops::mse_backward(self, &x, &z, &g_loss, gx.as_ref(), gz.as_ref())
        })
    }

    fn sgd_update(
        &self,
        sgd: &Sgd,
        w: DeviceRef,
        g: DeviceRef,
        velocity: Option<DeviceRef>,
    ) -> Result<()> {
        self.for_tape(|| {
            let [w, g] = self.tensors::<T, 2>([w, g])?;
            let velocity = self.optional::<T>(velocity)?;
            ops::sgd_update(self, sgd, &w, &g, velocity.as_ref())
        })
    }

    fn adam_update(
        &self,
        adam: &Adam,
        step: u64,
        w: DeviceRef,
        g: DeviceRef,
        m: DeviceRef,
        v: DeviceRef,
    ) -> Result<()> {
        self.for_tape(|| {
            let [w, g, m, v] = self.tensors::<T, 4>([w, g, m, v])?;
            ops::adam_update(self, adam, step, &w, &g, &m, &v)
        })
    }

    /// One launch for every parameter, through the multi-tensor kernels.
    fn update_all(&self, optimizer: &Optimizer, step: u64, params: &[ParamRefs]) -> Result<()> {
        self.for_tape(|| {
            let tensors = params
                .iter()
                .map(|p| {
                    let [w, g] = self.tensors::<T, 2>([p.w, p.g])?;
                    let state = [
                        self.optional::<T>(p.state[0])?,
                        self.optional::<T>(p.state[1])?,
                    ];
                    Ok((w, g, state))
                })
                .collect::<CudaResult<Vec<_>>>()?;
            let buffers: Vec<ParamBuffers> = tensors
                .iter()
                .map(|(w, g, state)| ParamBuffers {
                    w,
                    g,
                    state: [state[0].as_ref(), state[1].as_ref()],
                })
                .collect();
            match optimizer {
                Optimizer::Sgd(sgd) => ops::sgd_update_all(self, sgd, &buffers),
                Optimizer::Adam(adam) => ops::adam_update_all(self, adam, step, &buffers),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autodiff_core::Error;

    fn r(offset: u64, serial: u64, dims: &[usize]) -> DeviceRef {
        DeviceRef {
            buffer: DeviceBuffer { offset, serial },
            shape: Shape::new(dims).unwrap(),
        }
    }

    #[test]
    fn a_ref_becomes_a_tensor_of_this_device() {
        let t = tensor(7, DType::F64, r(512, 3, &[4, 5])).unwrap();
        assert_eq!(
            t,
            DeviceTensor {
                device: 7,
                serial: 3,
                offset: 512,
                len: 20,
                dtype: DType::F64,
                shape: Shape::matrix(4, 5),
            }
        );
        assert_eq!(
            buffer(&t),
            DeviceBuffer {
                offset: 512,
                serial: 3
            }
        );
        let scalar = tensor(7, DType::F32, r(0, 0, &[])).unwrap();
        assert_eq!((scalar.len, scalar.dims()), (1, &[][..]));
        let empty = tensor(7, DType::F32, r(256, 1, &[3, 0])).unwrap();
        assert_eq!(empty.len, 0);
    }

    #[test]
    fn labels_are_one_u32_per_row() {
        let buffer = DeviceBuffer {
            offset: 768,
            serial: 9,
        };
        let l = label_tensor(2, buffer, 64).unwrap();
        assert_eq!((l.dtype, l.dims(), l.len), (DType::U32, &[64][..], 64));
        assert_eq!((l.offset, l.serial, l.device), (768, 9, 2));
        assert_eq!(rows(&r(0, 0, &[64, 10])), 64);
        assert_eq!(rows(&r(0, 0, &[64])), 0);
    }

    #[test]
    fn a_reshape_relabels_the_input_and_a_mismatch_is_left_to_the_op() {
        let x = tensor(0, DType::F32, r(0, 0, &[2, 3])).unwrap();
        let flat = relabel(x, Shape::vector(6));
        assert_eq!((flat.dims(), flat.len, flat.offset), (&[6][..], 6, 0));
        assert_eq!(relabel(x, Shape::vector(5)), x);
    }

    #[test]
    fn marks_round_trip() {
        let mark = ArenaMark {
            device: 4,
            serial: 123_456_789_012,
        };
        let packed = device_mark(mark);
        assert_eq!(packed, DeviceMark(123_456_789_012));
        assert_eq!(arena_mark(4, packed), mark);
    }

    #[test]
    fn binary_ops_map_and_others_are_rejected() {
        assert_eq!(binary_op(Op::Add), Ok(BinaryOp::Add));
        assert_eq!(binary_op(Op::Sub), Ok(BinaryOp::Sub));
        assert_eq!(binary_op(Op::Mul), Ok(BinaryOp::Mul));
        assert_eq!(binary_op(Op::Div), Ok(BinaryOp::Div));
        assert!(matches!(
            binary_op(Op::Pow),
            Err(CudaError::InvalidArgument(_))
        ));
        assert_eq!(transposed(true), Transpose::Yes);
        assert_eq!(softmax(true), Softmax::LogSoftmax);
        assert_eq!(softmax(false), Softmax::Softmax);
    }

    /// The core's errors for failures of the trait's calls.
    #[test]
    fn conversion_failures_are_invalid_arguments() {
        let e = label_tensor(0, DeviceBuffer::default(), 1 << 40).unwrap_err();
        assert!(matches!(Error::from(e), Error::InvalidArgument(_)));
    }
}
