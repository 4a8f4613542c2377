//! A tensor node: what the tape's extension record points at.
//!
//! Nodes, values and gradients live at the arena's high end. A rank-0 result keeps its
//! value and gradient in its own tape record instead, so scalar ops read and write them
//! like any other scalar variable: `loss + 0.01 * penalty` needs no conversion.

use super::device::{DeviceBuffer, DeviceId};
use super::float::Float;
use super::TensorId;
use crate::error::{Error, Result};
use crate::op::Op;
use crate::shape::Shape;
use crate::tape::{ExtensionHeader, HandleKind, Tape, VarId};

/// What a node computes. Arguments are tape record indices in [`Node::args`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// Data handed in; has a gradient, and its value may be overwritten for replay.
    Input,
    /// Data no gradient flows into.
    Constant,
    /// A use of persistent parameter [`Node::param`] in this recording.
    Param,
    /// An output of a checkpointed segment: a leaf whose value, tangent and (through
    /// its gradient) backward the segment's record computes.
    SegmentOutput,
    /// An output of a tensor user op: a leaf whose value, tangent and (through its
    /// gradient) backward the op's call record computes.
    UserOpOutput,
    /// `op(a) · op(b)`, with `op` an optional transpose of each.
    MatMul {
        transpose_a: bool,
        transpose_b: bool,
    },
    /// Elementwise `Add`, `Sub`, `Mul` or `Div`, with broadcasting.
    Binary(Op),
    /// `a · scalar`.
    Scale,
    /// An elementwise function.
    Unary(Activation),
    Sum,
    Mean,
    SumAxis(u8),
    MeanAxis(u8),
    Reshape,
    Transpose,
    /// Along the last axis.
    Softmax,
    /// Along the last axis.
    LogSoftmax,
    /// Mean cross-entropy of logit rows against class labels in [`Node::labels`];
    /// the softmax probabilities are saved in [`Node::saved`].
    CrossEntropy,
    /// Mean squared error of two same-shaped tensors.
    Mse,
    /// `activation(x · W + b)` in one node.
    Linear(Activation),
    /// The argument's value copied into a device's memory (the node's device).
    ToDevice,
    /// The argument's value, on a device, copied into host memory.
    ToHost,
}

impl Kind {
    /// The op's name, for messages and graph exports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Input => "input",
            Kind::Constant => "constant",
            Kind::Param => "param",
            Kind::SegmentOutput => "segment_output",
            Kind::UserOpOutput => "user_op_output",
            Kind::MatMul { .. } => "matmul",
            Kind::Binary(op) => op.name(),
            Kind::Scale => "scale",
            Kind::Unary(act) => act.name(),
            Kind::Sum => "sum",
            Kind::Mean => "mean",
            Kind::SumAxis(_) => "sum_axis",
            Kind::MeanAxis(_) => "mean_axis",
            Kind::Reshape => "reshape",
            Kind::Transpose => "transpose",
            Kind::Softmax => "softmax",
            Kind::LogSoftmax => "log_softmax",
            Kind::CrossEntropy => "cross_entropy",
            Kind::Mse => "mse",
            Kind::Linear(_) => "linear",
            Kind::ToDevice => "to_device",
            Kind::ToHost => "to_host",
        }
    }
}

/// Elementwise functions. `Linear` accepts those whose derivative its output determines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Activation {
    Identity = 0,
    Relu,
    /// Slope for negative inputs in the node's scalar.
    LeakyRelu,
    Sigmoid,
    Tanh,
    /// `x·Φ(x)` with the exact normal CDF (through `erf`).
    Gelu,
    Exp,
    Log,
    Sqrt,
    Square,
}

impl Activation {
    /// All activations, by code (the C API passes codes).
    pub const ALL: [Activation; 10] = [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
        Activation::Exp,
        Activation::Log,
        Activation::Sqrt,
        Activation::Square,
    ];

    /// True when the derivative can be computed from the output alone, which is what a
    /// fused [`linear`](crate::Tape::linear) layer keeps.
    pub fn output_determines_derivative(self) -> bool {
        matches!(
            self,
            Activation::Identity
                | Activation::Relu
                | Activation::Sigmoid
                | Activation::Tanh
                | Activation::Exp
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Gelu => "gelu",
            Activation::Exp => "exp",
            Activation::Log => "log",
            Activation::Sqrt => "sqrt",
            Activation::Square => "square",
        }
    }
}

/// Where a node's data lives when it is not in host memory: the device and its buffers
/// there. Host nodes have `id == DeviceId::HOST` and use none of the buffers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DeviceData {
    pub id: DeviceId,
    pub value: DeviceBuffer,
    /// `None` for constants.
    pub grad: Option<DeviceBuffer>,
    /// Op-specific device memory: cross-entropy's probabilities, a fused layer's
    /// `g ⊙ act'(y)`, the gradient a `to_host` sends back.
    pub saved: DeviceBuffer,
    /// Cross-entropy's labels.
    pub labels: DeviceBuffer,
    /// The tangent, once a forward-mode sweep (or a seed) needed one.
    pub tangent: Option<DeviceBuffer>,
    /// Work space of the tangent rule (see `device::tangent`), allocated by its first
    /// sweep.
    pub tangent_scratch: [Option<DeviceBuffer>; 3],
    /// A device op reads this node, so its device gradient may gain contributions
    /// besides its record's adjoint (see `on_device::sweep::fold_host_adjoint`).
    pub read_on_device: bool,
}

/// A tensor node. `repr(C)` with the extension header first, as the tape requires.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct Node<T: Float> {
    header: ExtensionHeader<T>,
    pub kind: Kind,
    pub shape: Shape,
    pub len: usize,
    pub value: *mut T,
    /// Null for constants: nothing flows into them.
    pub grad: *mut T,
    /// Null until a tangent sweep needs it.
    pub tangent: *mut T,
    pub args: [u32; 3],
    pub arg_count: u8,
    /// Op constant: the scale factor, the leaky slope; a rank-0 leaf's tangent seed.
    pub scalar: f64,
    /// Op-specific saved values (softmax probabilities of cross-entropy).
    pub saved: *mut T,
    /// Class labels of cross-entropy, one per row.
    pub labels: *mut u32,
    /// Parameter index of a `Param` node.
    pub param: u32,
    /// Bumped whenever this node's value is overwritten in place.
    pub version: u32,
    /// Each argument's version when this node last computed its value.
    pub arg_versions: [u32; 3],
    /// The device the node's data lives on, if not the host. A rank-0 device node also
    /// mirrors its value and gradient in its tape record (`value`, `grad`), so scalar ops
    /// can use it.
    pub device: DeviceData,
}

impl<T: Float> Node<T> {
    pub(crate) fn new(kind: Kind, shape: Shape, len: usize) -> Node<T> {
        Node {
            header: ExtensionHeader {
                extension: T::tensor_extension(),
            },
            kind,
            shape,
            len,
            value: core::ptr::null_mut(),
            grad: core::ptr::null_mut(),
            tangent: core::ptr::null_mut(),
            args: [0; 3],
            arg_count: 0,
            scalar: 0.0,
            saved: core::ptr::null_mut(),
            labels: core::ptr::null_mut(),
            param: u32::MAX,
            version: 0,
            arg_versions: [0; 3],
            device: DeviceData::default(),
        }
    }

    /// True when the node's data lives on a device.
    pub(crate) fn on_device(&self) -> bool {
        !self.device.id.is_host()
    }

    /// The value, as a slice. Its lifetime is not the node's (nodes are read as copies):
    /// the buffer lives in the arena until the next reset.
    ///
    /// # Safety
    /// No `&mut` to the same buffer may be alive while the slice is used, nor a reset.
    pub(crate) unsafe fn value<'b>(&self) -> &'b [T] {
        if self.value.is_null() {
            // A device node: its value is not in host memory.
            return &[];
        }
        // SAFETY: `value` holds `len` initialised elements for the node's lifetime.
        unsafe { core::slice::from_raw_parts(self.value, self.len) }
    }

    /// The gradient buffer, if the node has one (in the arena, as for `value`).
    ///
    /// # Safety
    /// No other reference to the same buffer may be alive while the slice is used.
    pub(crate) unsafe fn grad_mut<'b>(&self) -> Option<&'b mut [T]> {
        // SAFETY: as for `value`; the caller guarantees exclusivity.
        (!self.grad.is_null())
            .then(|| unsafe { core::slice::from_raw_parts_mut(self.grad, self.len) })
    }

    /// The tangent buffer, if a tangent sweep allocated one.
    ///
    /// # Safety
    /// As for `grad_mut`.
    pub(crate) unsafe fn tangent_mut<'b>(&self) -> Option<&'b mut [T]> {
        // SAFETY: as for `grad_mut`.
        (!self.tangent.is_null())
            .then(|| unsafe { core::slice::from_raw_parts_mut(self.tangent, self.len) })
    }

    pub(crate) fn rank0(&self) -> bool {
        self.shape.rank() == 0
    }
}

impl<T: Float> Tape<'_, T> {
    /// A copy of the node of a live tensor handle, or why `x` is not one.
    pub(crate) fn node(&self, x: TensorId) -> Result<Node<T>> {
        // Whose and how old first, then what kind (as for scalar handles).
        let id = x.var();
        self.check_handle(id)?;
        if x.kind != HandleKind::Tensor.code() {
            return Err(Error::WrongHandleKind {
                expected: HandleKind::describe(HandleKind::Tensor.code()),
                got: HandleKind::describe(x.kind),
            });
        }
        self.node_at(id.index).ok_or(Error::InvalidArgument(
            "expected a tensor, got a scalar variable",
        ))
    }

    /// A copy of the node of record `index`, if it is a tensor record.
    ///
    /// Nodes are only ever read as copies and written whole by
    /// [`update_node`](Tape::update_node): no reference into a node's memory outlives
    /// the call that made it, so no write can invalidate one that is still in use.
    pub(crate) fn node_at(&self, index: u32) -> Option<Node<T>> {
        if index as usize >= self.len() || !self.is_extension_record(index) {
            return None;
        }
        let extension = self.extension_of(index);
        if !core::ptr::eq(extension, T::tensor_extension()) {
            return None;
        }
        // SAFETY: tensor records point at a `Node<T>` written before the record, alive
        // until the next reset (which takes `&mut` and drops the record first).
        Some(unsafe { self.extension_node(index).cast::<Node<T>>().read() })
    }

    /// Runs `f` on a copy of the node of tensor record `index` and writes the copy back.
    /// Does nothing when `index` is not a tensor record.
    pub(crate) fn update_node(&self, index: u32, f: impl FnOnce(&mut Node<T>)) {
        if let Some(mut node) = self.node_at(index) {
            f(&mut node);
            // SAFETY: a tensor record's node (checked by `node_at`); nothing holds a
            // reference into node memory (nodes are read as copies).
            unsafe { self.extension_node(index).cast::<Node<T>>().write(node) };
        }
    }

    /// Writes `node` into the arena with fresh value (and, unless `constant`, gradient)
    /// buffers of its length, records it, and returns the handle and a copy of the node
    /// as written. Rank-0 nodes use their record's value and adjoint slots instead.
    pub(crate) fn push_node(
        &self,
        mut node: Node<T>,
        constant: bool,
    ) -> Result<(TensorId, Node<T>)> {
        self.status()?;
        let (len, rank0) = (node.len, node.rank0());
        if node.on_device() {
            // Device buffers instead of host ones (a rank-0 node also mirrors its value
            // and gradient in its record, below).
            let device = self.device(node.device.id)?;
            node.device.value = device.alloc(node.shape)?;
            if !constant {
                node.device.grad = Some(device.alloc(node.shape)?);
            }
        }
        let slot = self.alloc(1, node)?.as_ptr();
        let (value, grad) = if rank0 || node.on_device() {
            (core::ptr::null_mut(), core::ptr::null_mut())
        } else {
            let value = self.alloc(len, T::zero())?.as_ptr();
            let grad = if constant {
                core::ptr::null_mut()
            } else {
                self.alloc(len, T::zero())?.as_ptr()
            };
            (value, grad)
        };
        let id = self.push_extension(slot.cast(), T::zero());
        self.status()?;
        if rank0 {
            let (value_slot, adjoint_slot) = self
                .record_slots(id.index)
                .ok_or(Error::InvalidArgument("tensor record vanished"))?;
            node.value = value_slot;
            node.grad = if constant {
                core::ptr::null_mut()
            } else {
                adjoint_slot
            };
        } else {
            node.value = value;
            node.grad = grad;
        }
        // SAFETY: `slot` holds the node's first version, which only the new record
        // refers to and nothing has borrowed.
        unsafe { slot.write(node) };
        Ok((TensorId::from_var(id), node))
    }

    /// Like [`push_node`](Tape::push_node), but the node uses existing buffers (a
    /// parameter's) instead of fresh ones.
    pub(crate) fn push_node_sharing(
        &self,
        mut node: Node<T>,
        value: *mut T,
        grad: *mut T,
    ) -> Result<(TensorId, Node<T>)> {
        self.status()?;
        node.value = value;
        node.grad = grad;
        let slot = self.alloc(1, node)?.as_ptr();
        let id = self.push_extension(slot.cast(), T::zero());
        self.status()?;
        Ok((TensorId::from_var(id), node))
    }

    /// Fails the tape with `error` and returns the invalid tensor handle.
    pub(crate) fn fail_tensor(&self, error: Error) -> TensorId {
        TensorId::from_var(self.fail(error))
    }
}

impl TensorId {
    /// The same record as a scalar handle (the invalid handle stays invalid).
    pub(crate) fn var(self) -> VarId {
        if !self.is_valid() {
            return VarId::INVALID;
        }
        VarId {
            index: self.index,
            kind: HandleKind::Scalar.code(),
            generation: self.generation,
            tape: self.tape,
        }
    }

    /// The same record as a tensor handle (the invalid handle stays invalid).
    pub(crate) fn from_var(id: VarId) -> TensorId {
        if !id.is_valid() {
            return TensorId::INVALID;
        }
        TensorId {
            index: id.index,
            kind: HandleKind::Tensor.code(),
            generation: id.generation,
            tape: id.tape,
        }
    }
}
