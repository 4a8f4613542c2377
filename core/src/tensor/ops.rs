//! Recording tensor ops: shape checks, then a node, then its forward.
//!
//! Every op takes and returns [`TensorId`]s and follows the tape's sticky-error model: a
//! failure (a wrong shape, a full arena, a stale handle) sets the tape's first error and
//! returns [`TensorId::INVALID`]. Shape errors name both shapes.

use super::broadcast::broadcast_shape;
use super::device::DeviceId;
use super::dispatch::{forward, refresh_arg_versions};
use super::float::Float;
use super::linalg::{matmul_dims, scratch_len};
use super::node::{Activation, Kind, Node};
use super::on_device;
use super::TensorId;
use crate::error::{Error, Result};
use crate::op::Op;
use crate::shape::Shape;
use crate::tape::Tape;
use core::mem::size_of;

/// Turns a `Result<TensorId>` into the sticky-error model.
trait OrFail<T: Float> {
    fn or_fail(self, tape: &Tape<'_, T>) -> TensorId;
}

impl<T: Float> OrFail<T> for Result<TensorId> {
    fn or_fail(self, tape: &Tape<'_, T>) -> TensorId {
        self.unwrap_or_else(|error| tape.fail_tensor(error))
    }
}

impl<'m, T: Float> Tape<'m, T> {
    /// Records a node of `kind` over `args`, where the arguments live, runs its forward,
    /// and returns it. `prepare` runs on the fresh node before the forward (to attach
    /// saved buffers).
    fn record_node(
        &self,
        kind: Kind,
        shape: Shape,
        args: &[TensorId],
        scalar: f64,
        scratch_elements: usize,
        prepare: impl FnOnce(&Self, &mut Node<T>) -> Result<()>,
    ) -> Result<TensorId> {
        let device = self.common_device(kind, args)?;
        self.record_node_on(device, kind, shape, args, scalar, scratch_elements, prepare)
    }

    /// [`record_node`](Tape::record_node) with the result on `device`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_node_on(
        &self,
        device: DeviceId,
        kind: Kind,
        shape: Shape,
        args: &[TensorId],
        scalar: f64,
        scratch_elements: usize,
        prepare: impl FnOnce(&Self, &mut Node<T>) -> Result<()>,
    ) -> Result<TensorId> {
        let len = shape.checked_len().ok_or(Error::SizeOverflow)?;
        len.checked_mul(size_of::<T>()).ok_or(Error::SizeOverflow)?;
        let mut node = Node::new(kind, shape, len);
        for (slot, arg) in node.args.iter_mut().zip(args) {
            *slot = arg.index;
        }
        node.arg_count = args.len() as u8;
        node.scalar = scalar;
        node.device.id = device;
        let scratch_bytes = scratch_elements
            .checked_mul(size_of::<T>())
            .ok_or(Error::SizeOverflow)?;
        self.reserve_scratch(scratch_bytes)?;
        // Extension records do not grow the tape: room first, before any argument's
        // node is read (see `tape/growth.rs`), and after the reserve, which a tape
        // whose records live in a host block keeps free there too: a larger reserve
        // would take the room made for the node's record.
        self.room_for_records(1)?;
        // Everything but the value and gradient buffers is attached before the node is
        // written: afterwards it is only ever rewritten whole.
        if on_device::sweep::runs_on_device(&node) {
            self.allocate_device_saved(&mut node)?;
        }
        prepare(self, &mut node)?;
        refresh_arg_versions(self, &mut node);
        let (id, node) = self.push_node(node, false)?;
        if node.on_device() {
            for &arg in args {
                self.update_node(arg.index, |arg| arg.device.read_on_device = true);
            }
        }
        forward(self, &node)?;
        Ok(id)
    }

    /// Where all of `args` live: the place an op over them runs.
    fn common_device(&self, kind: Kind, args: &[TensorId]) -> Result<DeviceId> {
        let mut common = None;
        for &arg in args {
            let device = self.node(arg)?.device.id;
            match common {
                Some(other) if other != device => {
                    return Err(Error::DeviceMismatch { op: kind.name() })
                }
                _ => common = Some(device),
            }
        }
        Ok(common.unwrap_or(DeviceId::HOST))
    }

    /// A leaf holding a copy of `data`, with shape `dims` (rank 0 to 4), on the tape's
    /// [default device](Tape::set_default_device) (the host unless set). Gradients flow
    /// into it, and [`set_tensor_value`](Tape::set_tensor_value) may overwrite it for
    /// [`replay`](Tape::replay).
    pub fn tensor_input(&self, dims: &[usize], data: &[T]) -> TensorId {
        self.tensor_input_on(self.default_device(), dims, data)
    }

    /// A leaf no gradient flows into.
    pub fn tensor_constant(&self, dims: &[usize], data: &[T]) -> TensorId {
        self.tensor_constant_on(self.default_device(), dims, data)
    }

    /// [`tensor_input`](Tape::tensor_input) on `device`: `data` is copied straight there.
    pub fn tensor_input_on(&self, device: DeviceId, dims: &[usize], data: &[T]) -> TensorId {
        self.leaf(Kind::Input, device, dims, data).or_fail(self)
    }

    /// [`tensor_constant`](Tape::tensor_constant) on `device`.
    pub fn tensor_constant_on(&self, device: DeviceId, dims: &[usize], data: &[T]) -> TensorId {
        self.leaf(Kind::Constant, device, dims, data).or_fail(self)
    }

    fn leaf(&self, kind: Kind, device: DeviceId, dims: &[usize], data: &[T]) -> Result<TensorId> {
        let shape = Shape::new(dims).ok_or(Error::InvalidArgument(
            "rank above 4, or a dimension above 2^32 - 1",
        ))?;
        let len = shape.checked_len().ok_or(Error::SizeOverflow)?;
        if data.len() != len {
            return Err(Error::LengthMismatch {
                what: "data length",
                got: data.len(),
                against: "the shape's element count",
                expected: len,
            });
        }
        let mut node = Node::new(kind, shape, len);
        node.device.id = device;
        self.room_for_records(1)?;
        let (id, node) = self.push_node(node, kind == Kind::Constant)?;
        self.write_node_value(&node, data)?;
        Ok(id)
    }

    /// A host leaf of `kind` (input or constant) and `shape` whose element `i` is
    /// `element(i)` (an image's loader reads them from its bytes).
    pub(crate) fn leaf_from(
        &self,
        kind: Kind,
        shape: Shape,
        element: impl Fn(usize) -> T,
    ) -> TensorId {
        let record = || {
            let len = shape.checked_len().ok_or(Error::SizeOverflow)?;
            len.checked_mul(size_of::<T>()).ok_or(Error::SizeOverflow)?;
            self.room_for_records(1)?;
            let (id, node) = self.push_node(Node::new(kind, shape, len), kind == Kind::Constant)?;
            self.write_node_value_with(&node, element)?;
            Ok(id)
        };
        record().or_fail(self)
    }

    /// `op(a) · op(b)` for 2-D tensors, where `op` transposes when asked.
    pub fn matmul_t(
        &self,
        a: TensorId,
        b: TensorId,
        transpose_a: bool,
        transpose_b: bool,
    ) -> TensorId {
        let record = || {
            let (sa, sb) = (self.node(a)?.shape, self.node(b)?.shape);
            if sa.rank() != 2 || sb.rank() != 2 {
                return Err(Error::ShapeMismatch {
                    op: "matmul (needs 2-D operands)",
                    lhs: sa,
                    rhs: sb,
                });
            }
            let (m, n, k, k2) = matmul_dims(sa.dims(), sb.dims(), transpose_a, transpose_b);
            if k != k2 {
                return Err(Error::ShapeMismatch {
                    op: "matmul",
                    lhs: sa,
                    rhs: sb,
                });
            }
            let kind = Kind::MatMul {
                transpose_a,
                transpose_b,
            };
            self.record_node(
                kind,
                Shape::matrix(m as u32, n as u32),
                &[a, b],
                0.0,
                scratch_len::<T>(kind, m, n, k),
                |_, _| Ok(()),
            )
        };
        record().or_fail(self)
    }

    /// `a · b` for 2-D tensors.
    pub fn matmul(&self, a: TensorId, b: TensorId) -> TensorId {
        self.matmul_t(a, b, false, false)
    }

    /// The fused layer `activation(x · w + bias)`: `x` is `[batch, in]`, `w` `[in, out]`,
    /// `bias` `[out]`. One node instead of three, and no intermediate buffers. The
    /// activation must be one whose derivative its output determines (identity, ReLU,
    /// sigmoid, tanh, exp).
    pub fn linear(
        &self,
        x: TensorId,
        w: TensorId,
        bias: TensorId,
        activation: Activation,
    ) -> TensorId {
        let record = || {
            let (sx, sw, sb) = (
                self.node(x)?.shape,
                self.node(w)?.shape,
                self.node(bias)?.shape,
            );
            if !activation.output_determines_derivative() {
                return Err(Error::InvalidArgument(
                    "linear: activation must be identity, relu, sigmoid, tanh or exp",
                ));
            }
            if sx.rank() != 2 || sw.rank() != 2 || sx.dims()[1] != sw.dims()[0] {
                return Err(Error::ShapeMismatch {
                    op: "linear (x · w)",
                    lhs: sx,
                    rhs: sw,
                });
            }
            let out = sw.dims()[1];
            if sb.dims() != [out] {
                return Err(Error::ShapeMismatch {
                    op: "linear (bias)",
                    lhs: Shape::vector(out),
                    rhs: sb,
                });
            }
            let (m, n, k) = (sx.dims()[0] as usize, out as usize, sw.dims()[0] as usize);
            let kind = Kind::Linear(activation);
            self.record_node(
                kind,
                Shape::matrix(m as u32, out),
                &[x, w, bias],
                0.0,
                scratch_len::<T>(kind, m, n, k),
                |_, _| Ok(()),
            )
        };
        record().or_fail(self)
    }

    fn binary(&self, op: Op, name: &'static str, a: TensorId, b: TensorId) -> TensorId {
        let record = || {
            let (sa, sb) = (self.node(a)?.shape, self.node(b)?.shape);
            let shape = broadcast_shape(&sa, &sb).ok_or(Error::ShapeMismatch {
                op: name,
                lhs: sa,
                rhs: sb,
            })?;
            self.record_node(Kind::Binary(op), shape, &[a, b], 0.0, 0, |_, _| Ok(()))
        };
        record().or_fail(self)
    }

    /// `a + b`, elementwise, with numpy broadcasting.
    pub fn tensor_add(&self, a: TensorId, b: TensorId) -> TensorId {
        self.binary(Op::Add, "add", a, b)
    }
    /// `a − b`, elementwise, with numpy broadcasting.
    pub fn tensor_sub(&self, a: TensorId, b: TensorId) -> TensorId {
        self.binary(Op::Sub, "sub", a, b)
    }
    /// `a ⊙ b`, elementwise, with numpy broadcasting.
    pub fn tensor_mul(&self, a: TensorId, b: TensorId) -> TensorId {
        self.binary(Op::Mul, "mul", a, b)
    }
    /// `a / b`, elementwise, with numpy broadcasting.
    pub fn tensor_div(&self, a: TensorId, b: TensorId) -> TensorId {
        self.binary(Op::Div, "div", a, b)
    }

    fn same_shape(&self, kind: Kind, a: TensorId, scalar: f64) -> TensorId {
        let record = || {
            let shape = self.node(a)?.shape;
            if !scalar.is_finite() {
                return Err(Error::InvalidArgument(
                    "the op's constant is NaN or infinite",
                ));
            }
            self.record_node(kind, shape, &[a], scalar, 0, |_, _| Ok(()))
        };
        record().or_fail(self)
    }

    /// `a · c` for a constant `c`.
    pub fn scale(&self, a: TensorId, c: f64) -> TensorId {
        self.same_shape(Kind::Scale, a, c)
    }
    /// An elementwise activation (`LeakyRelu` takes its slope from [`leaky_relu`](Tape::leaky_relu)).
    pub fn activation(&self, a: TensorId, activation: Activation) -> TensorId {
        self.same_shape(Kind::Unary(activation), a, 0.01)
    }
    pub fn relu(&self, a: TensorId) -> TensorId {
        self.activation(a, Activation::Relu)
    }
    /// `x` for `x > 0`, `slope · x` otherwise.
    pub fn leaky_relu(&self, a: TensorId, slope: f64) -> TensorId {
        self.same_shape(Kind::Unary(Activation::LeakyRelu), a, slope)
    }
    pub fn tensor_sigmoid(&self, a: TensorId) -> TensorId {
        self.activation(a, Activation::Sigmoid)
    }
    pub fn tensor_tanh(&self, a: TensorId) -> TensorId {
        self.activation(a, Activation::Tanh)
    }
    pub fn gelu(&self, a: TensorId) -> TensorId {
        self.activation(a, Activation::Gelu)
    }
    pub fn tensor_exp(&self, a: TensorId) -> TensorId {
        self.activation(a, Activation::Exp)
    }
    pub fn tensor_log(&self, a: TensorId) -> TensorId {
        self.activation(a, Activation::Log)
    }
    pub fn tensor_sqrt(&self, a: TensorId) -> TensorId {
        self.activation(a, Activation::Sqrt)
    }
    pub fn square(&self, a: TensorId) -> TensorId {
        self.activation(a, Activation::Square)
    }

    fn reduce(&self, kind: Kind, a: TensorId) -> TensorId {
        let record = || {
            let shape = self.node(a)?.shape;
            let out = match kind {
                Kind::SumAxis(axis) | Kind::MeanAxis(axis) => {
                    let axis = axis as usize;
                    if axis >= shape.rank() {
                        return Err(Error::ShapeMismatch {
                            op: "reduction axis beyond the rank",
                            lhs: shape,
                            rhs: Shape::vector(axis as u32),
                        });
                    }
                    let mut dims = [0usize; crate::shape::MAX_RANK];
                    let kept = shape
                        .dims()
                        .iter()
                        .enumerate()
                        .filter(|&(i, _)| i != axis)
                        .map(|(_, &d)| d as usize);
                    let mut rank = 0;
                    for (slot, d) in dims.iter_mut().zip(kept) {
                        *slot = d;
                        rank += 1;
                    }
                    Shape::new(&dims[..rank]).ok_or(Error::SizeOverflow)?
                }
                _ => Shape::SCALAR,
            };
            self.record_node(kind, out, &[a], 0.0, 0, |_, _| Ok(()))
        };
        record().or_fail(self)
    }

    /// The sum of all elements: a rank-0 tensor, also usable as a scalar variable.
    pub fn sum(&self, a: TensorId) -> TensorId {
        self.reduce(Kind::Sum, a)
    }
    /// The mean of all elements: a rank-0 tensor.
    pub fn mean(&self, a: TensorId) -> TensorId {
        self.reduce(Kind::Mean, a)
    }
    /// Sums along `axis`, removing it.
    pub fn sum_axis(&self, a: TensorId, axis: usize) -> TensorId {
        self.reduce(Kind::SumAxis(axis.min(u8::MAX as usize) as u8), a)
    }
    /// Means along `axis`, removing it.
    pub fn mean_axis(&self, a: TensorId, axis: usize) -> TensorId {
        self.reduce(Kind::MeanAxis(axis.min(u8::MAX as usize) as u8), a)
    }

    /// The same elements in a new shape with the same element count.
    pub fn reshape(&self, a: TensorId, dims: &[usize]) -> TensorId {
        let record = || {
            let from = self.node(a)?.shape;
            let to = Shape::new(dims).ok_or(Error::InvalidArgument(
                "rank above 4, or a dimension above 2^32 - 1",
            ))?;
            if to.checked_len() != from.checked_len() {
                return Err(Error::ShapeMismatch {
                    op: "reshape (element counts differ)",
                    lhs: from,
                    rhs: to,
                });
            }
            self.record_node(Kind::Reshape, to, &[a], 0.0, 0, |_, _| Ok(()))
        };
        record().or_fail(self)
    }

    /// The transpose of a 2-D tensor.
    pub fn transpose(&self, a: TensorId) -> TensorId {
        let record = || {
            let shape = self.node(a)?.shape;
            if shape.rank() != 2 {
                return Err(Error::ShapeMismatch {
                    op: "transpose (needs a 2-D tensor)",
                    lhs: shape,
                    rhs: Shape::matrix(0, 0),
                });
            }
            let out = Shape::matrix(shape.dims()[1], shape.dims()[0]);
            self.record_node(Kind::Transpose, out, &[a], 0.0, 0, |_, _| Ok(()))
        };
        record().or_fail(self)
    }

    fn along_last_axis(&self, kind: Kind, a: TensorId) -> TensorId {
        let record = || {
            let shape = self.node(a)?.shape;
            if shape.rank() == 0 {
                return Err(Error::ShapeMismatch {
                    op: "softmax (needs rank 1 or more)",
                    lhs: shape,
                    rhs: shape,
                });
            }
            self.record_node(kind, shape, &[a], 0.0, 0, |_, _| Ok(()))
        };
        record().or_fail(self)
    }

    /// Softmax along the last axis.
    pub fn softmax(&self, a: TensorId) -> TensorId {
        self.along_last_axis(Kind::Softmax, a)
    }
    /// Log-softmax along the last axis, computed stably.
    pub fn log_softmax(&self, a: TensorId) -> TensorId {
        self.along_last_axis(Kind::LogSoftmax, a)
    }

    /// Mean cross-entropy of `logits` (`[batch, classes]`) against class `labels` (one per
    /// row, each below `classes`): a rank-0 tensor. Softmax is fused in, stably.
    pub fn cross_entropy(&self, logits: TensorId, labels: &[u32]) -> TensorId {
        self.cross_entropy_from(logits, labels.len(), |i| labels[i])
    }

    /// [`cross_entropy`](Tape::cross_entropy) with `count` labels, label `i` being
    /// `label(i)` (an image's loader reads them from its bytes).
    pub(crate) fn cross_entropy_from(
        &self,
        logits: TensorId,
        count: usize,
        label: impl Fn(usize) -> u32,
    ) -> TensorId {
        let record = || {
            let shape = self.node(logits)?.shape;
            if shape.rank() != 2 {
                return Err(Error::ShapeMismatch {
                    op: "cross_entropy (logits must be [batch, classes])",
                    lhs: shape,
                    rhs: Shape::vector(count.min(u32::MAX as usize) as u32),
                });
            }
            let (batch, classes) = (shape.dims()[0] as usize, shape.dims()[1]);
            if count != batch {
                return Err(Error::ShapeMismatch {
                    op: "cross_entropy (one label per row)",
                    lhs: shape,
                    rhs: Shape::vector(count.min(u32::MAX as usize) as u32),
                });
            }
            if (0..count).any(|i| label(i) >= classes) {
                return Err(Error::InvalidArgument(
                    "cross_entropy: a label is not below the class count",
                ));
            }
            let len = shape.checked_len().ok_or(Error::SizeOverflow)?;
            self.record_node(
                Kind::CrossEntropy,
                Shape::SCALAR,
                &[logits],
                0.0,
                0,
                |tape, node| {
                    let saved_labels = tape.alloc(batch, 0u32)?.as_ptr();
                    // SAFETY: a fresh block of `batch` labels.
                    let saved = unsafe { core::slice::from_raw_parts_mut(saved_labels, batch) };
                    for (i, slot) in saved.iter_mut().enumerate() {
                        *slot = label(i);
                    }
                    if node.on_device() {
                        node.device.labels = tape.device(node.device.id)?.alloc_labels(saved)?;
                        return Ok(());
                    }
                    node.saved = tape.alloc(len, T::zero())?.as_ptr();
                    node.labels = saved_labels;
                    Ok(())
                },
            )
        };
        record().or_fail(self)
    }

    /// Mean squared error of two same-shaped tensors: a rank-0 tensor.
    pub fn mse(&self, prediction: TensorId, target: TensorId) -> TensorId {
        let record = || {
            let (sp, st) = (self.node(prediction)?.shape, self.node(target)?.shape);
            if sp != st {
                return Err(Error::ShapeMismatch {
                    op: "mse",
                    lhs: sp,
                    rhs: st,
                });
            }
            self.record_node(
                Kind::Mse,
                Shape::SCALAR,
                &[prediction, target],
                0.0,
                0,
                |_, _| Ok(()),
            )
        };
        record().or_fail(self)
    }
}
