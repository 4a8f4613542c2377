//! [`TensorDevice`]: what a compute device (a GPU) must offer for tensors on a tape to live
//! in its memory and be computed there.
//!
//! The core cannot depend on a GPU crate (it is `no_std` and names no backend), so the
//! dependency points the other way: the core states the kernels it needs here, and a
//! backend crate (`autodiff-cuda`) implements them. The tape owns the formulas and the
//! bookkeeping (which buffers an op reads and writes, when a gradient is overwritten
//! instead of added to, versions, errors); the device owns memory and kernels.
//!
//! Every kernel has the meaning of the CPU code it stands for, in the same element
//! type: forward functions *write* their output, backward functions *add* into the
//! gradients they are given. Shapes arrive already checked by the tape (the device may
//! check again). A device reports failures as [`Error`]s, which the tape makes sticky.

use crate::error::Error;
use crate::error::Result;
use crate::op::Op;
use crate::shape::Shape;
use crate::tensor::{Activation, Adam, Float, Optimizer, Sgd};

/// One allocation in a device's memory, as the device handed it out. Opaque to the core:
/// the device decides what the two words mean (for CUDA, an arena offset and a serial
/// number that catches use after a rewind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceBuffer {
    pub offset: u64,
    pub serial: u64,
}

/// A device buffer and the shape it holds, which is how kernels receive their operands.
/// A reshape is the same buffer under another shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRef {
    pub buffer: DeviceBuffer,
    pub shape: Shape,
}

/// A point in a device's memory to rewind to: everything allocated after it is given
/// back. Opaque, like [`DeviceBuffer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceMark(pub u64);

/// One parameter's buffers for an optimizer update: its value, its gradient, and the
/// optimizer's state (SGD: the velocity in `state[0]` when momentum is non-zero; Adam:
/// the two moments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamRefs {
    pub w: DeviceRef,
    pub g: DeviceRef,
    pub state: [Option<DeviceRef>; 2],
}

/// Reductions of a tensor: of all elements (to rank 0) or along one axis (which the
/// result drops).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    Sum,
    Mean,
    SumAxis(usize),
    MeanAxis(usize),
}

/// The kernels and memory of a compute device, for element type `T`.
///
/// Memory is one block per device, handed out by bumping: the tape allocates every
/// buffer an op needs when the op is recorded (so sweeps never allocate), and rewinds to
/// a mark when it is reset. Buffers come zero-filled.
pub trait TensorDevice<T: Float> {
    /// A short description for messages and graph exports ("NVIDIA H100 (cuda:0)").
    fn name(&self) -> &str;

    // ---- ownership ----

    /// Reserves the device for the tape whose identity is `tape` (a tape rewinds the
    /// device's memory at every reset, so two tapes on one device would free each
    /// other's tensors). Succeeds when the device is free or already that tape's; fails
    /// while another tape holds it.
    fn claim(&self, tape: u32) -> Result<()>;
    /// Ends `tape`'s claim, if it holds one.
    fn release(&self, tape: u32);

    // ---- memory ----

    /// A zero-filled buffer for a tensor of `shape` (at least one element of space).
    fn alloc(&self, shape: Shape) -> Result<DeviceBuffer>;
    /// A buffer holding a copy of class labels (for cross-entropy).
    fn alloc_labels(&self, labels: &[u32]) -> Result<DeviceBuffer>;
    /// The current top of the device's memory.
    fn mark(&self) -> DeviceMark;
    /// Gives back everything allocated since `mark`.
    fn rewind(&self, mark: DeviceMark) -> Result<()>;
    /// Copies `src` (exactly `dst`'s element count) into `dst`.
    fn upload(&self, dst: DeviceRef, src: &[T]) -> Result<()>;
    /// Copies `src` into `dst` (exactly its element count), after all queued work.
    fn download(&self, src: DeviceRef, dst: &mut [T]) -> Result<()>;
    /// Sets every element of `t` to zero.
    fn zero(&self, t: DeviceRef) -> Result<()>;

    // ---- linear algebra ----

    /// `c = op(a)·op(b) + beta·c` for 2-D operands (`beta = 0`: `c` is only written).
    fn matmul(
        &self,
        a: DeviceRef,
        transpose_a: bool,
        b: DeviceRef,
        transpose_b: bool,
        c: DeviceRef,
        beta: f64,
    ) -> Result<()>;
    /// In place on `y` (`[rows, cols]`): `y = act(y + bias)`, `bias` `[cols]` added to
    /// every row. `act` is one whose derivative its output determines.
    fn bias_act_forward(&self, act: Activation, bias: DeviceRef, y: DeviceRef) -> Result<()>;
    /// `dz = g·act'(y)`, from the output `y` alone (written, not added).
    fn act_output_backward(
        &self,
        act: Activation,
        y: DeviceRef,
        g: DeviceRef,
        dz: DeviceRef,
    ) -> Result<()>;
    /// `gb += Σ_rows dz` for `dz` `[rows, cols]` and `gb` `[cols]`.
    fn bias_grad(&self, dz: DeviceRef, gb: DeviceRef) -> Result<()>;
    /// `y = xᵀ` for 2-D `x`, or `y += xᵀ` when `accumulate`.
    fn transpose(&self, x: DeviceRef, y: DeviceRef, accumulate: bool) -> Result<()>;

    // ---- elementwise ----

    /// `y = act(x)`; `slope` is leaky ReLU's negative slope.
    fn unary_forward(&self, act: Activation, slope: f64, x: DeviceRef, y: DeviceRef) -> Result<()>;
    /// `gx += g·act'(x)` given the forward's input `x` and output `y`.
    #[allow(clippy::too_many_arguments)]
    fn unary_backward(
        &self,
        act: Activation,
        slope: f64,
        x: DeviceRef,
        y: DeviceRef,
        g: DeviceRef,
        gx: DeviceRef,
    ) -> Result<()>;
    /// `y = c·x` (`x` and `y` have equal element counts; a reshape copies this way).
    fn scale_forward(&self, c: f64, x: DeviceRef, y: DeviceRef) -> Result<()>;
    /// `gx += c·g`.
    fn scale_backward(&self, c: f64, g: DeviceRef, gx: DeviceRef) -> Result<()>;
    /// `y = a op b` with numpy broadcasting; `op` is `Add`, `Sub`, `Mul` or `Div`.
    fn binary_forward(&self, op: Op, a: DeviceRef, b: DeviceRef, y: DeviceRef) -> Result<()>;
    /// `ga += ∂y/∂a·g`, `gb += ∂y/∂b·g`, each summed over the elements its operand was
    /// broadcast to; `None` is skipped, and `ga` and `gb` may be one buffer (`x op x`).
    #[allow(clippy::too_many_arguments)]
    fn binary_backward(
        &self,
        op: Op,
        a: DeviceRef,
        b: DeviceRef,
        y: DeviceRef,
        g: DeviceRef,
        ga: Option<DeviceRef>,
        gb: Option<DeviceRef>,
    ) -> Result<()>;

    // ---- reductions and losses ----

    /// `y = reduction(x)`.
    fn reduce_forward(&self, reduction: Reduction, x: DeviceRef, y: DeviceRef) -> Result<()>;
    /// `gx += ∂reduction/∂x·g`.
    fn reduce_backward(&self, reduction: Reduction, g: DeviceRef, gx: DeviceRef) -> Result<()>;
    /// `y = softmax(x)` (or `log_softmax(x)` when `log`) along the last axis.
    fn softmax_forward(&self, log: bool, x: DeviceRef, y: DeviceRef) -> Result<()>;
    /// `gx += J(y)ᵀ·g` from the forward's output `y`.
    fn softmax_backward(&self, log: bool, y: DeviceRef, g: DeviceRef, gx: DeviceRef) -> Result<()>;
    /// `loss = mean over rows of −log softmax(logits)[label]`, saving the softmax in
    /// `probs`. `labels` holds one label per row, each below the class count.
    fn cross_entropy_forward(
        &self,
        logits: DeviceRef,
        labels: DeviceBuffer,
        probs: DeviceRef,
        loss: DeviceRef,
    ) -> Result<()>;
    /// `gx += (g_loss/rows)·(probs − onehot(labels))`; `g_loss` is rank 0.
    fn cross_entropy_backward(
        &self,
        probs: DeviceRef,
        labels: DeviceBuffer,
        g_loss: DeviceRef,
        gx: DeviceRef,
    ) -> Result<()>;
    /// `loss = mean((x − z)²)`, rank 0.
    fn mse_forward(&self, x: DeviceRef, z: DeviceRef, loss: DeviceRef) -> Result<()>;
    /// `gx += 2·g_loss/n·(x − z)`, `gz −= 2·g_loss/n·(x − z)`; `None` is skipped.
    fn mse_backward(
        &self,
        x: DeviceRef,
        z: DeviceRef,
        g_loss: DeviceRef,
        gx: Option<DeviceRef>,
        gz: Option<DeviceRef>,
    ) -> Result<()>;

    // ---- optimizers ----

    /// One SGD update of `w` from `g`; `velocity` is present when momentum is non-zero.
    fn sgd_update(
        &self,
        sgd: &Sgd,
        w: DeviceRef,
        g: DeviceRef,
        velocity: Option<DeviceRef>,
    ) -> Result<()>;
    /// The `step`-th (≥ 1) Adam or AdamW update of `w` from `g` with moments `m`, `v`.
    #[allow(clippy::too_many_arguments)]
    fn adam_update(
        &self,
        adam: &Adam,
        step: u64,
        w: DeviceRef,
        g: DeviceRef,
        m: DeviceRef,
        v: DeviceRef,
    ) -> Result<()>;

    /// The update of several parameters at once (`step` as for Adam), which a GPU does
    /// in one launch. By default, one [`sgd_update`](TensorDevice::sgd_update) or
    /// [`adam_update`](TensorDevice::adam_update) per parameter.
    fn update_all(&self, optimizer: &Optimizer, step: u64, params: &[ParamRefs]) -> Result<()> {
        let missing = Error::InvalidArgument("update_all: optimizer state missing");
        for p in params {
            match optimizer {
                Optimizer::Sgd(sgd) => self.sgd_update(sgd, p.w, p.g, p.state[0])?,
                Optimizer::Adam(adam) => {
                    let (m, v) = (p.state[0].ok_or(missing)?, p.state[1].ok_or(missing)?);
                    self.adam_update(adam, step, p.w, p.g, m, v)?
                }
            }
        }
        Ok(())
    }
}
