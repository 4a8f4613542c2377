//! Tensors on the tape: row-major `f32`/`f64` arrays of rank 0 to 4, recorded as one
//! tape record per op, beside scalars.
//!
//! Every op has a forward (run when recorded, and again by [`replay`](crate::Tape::replay)),
//! a backward (a vector-Jacobian product into its arguments' gradients) and a tangent
//! rule (a Jacobian-vector product, run by [`jvp`](crate::Tape::jvp)). Values, gradients
//! and nodes come from the arena's high end; a tensor record costs the scalar path
//! nothing.
//!
//! Parameters ([`ParamId`]) live in a persistent region that survives
//! [`reset`](crate::Tape::reset), so one fixed arena serves a whole training run: each
//! step records on a cleared tape, runs backward, and updates the parameters in place.
//! An in-place update of a value that a recorded op still needs is caught by version
//! counters and reported as [`Error::ModifiedInPlace`](crate::Error::ModifiedInPlace).

mod broadcast;
mod data;
pub mod device;
mod dispatch;
mod dot;
mod elementwise;
mod float;
mod float_tables;
mod group;
mod group_ready;
mod group_slot;
mod handle;
mod linalg;
mod loss;
mod node;
mod on_device;
mod ops;
mod optim;
mod optim_state;
mod optimizer;
mod param;
mod param_slot;
mod reduce;
mod segment_support;
mod state;
mod typed;
mod user_op;
mod user_op_node;
mod user_op_record;
mod user_op_sweeps;
mod view;

pub use device::{DeviceId, TensorDevice};
pub use float::Float;
pub use group_slot::ParamGroup;
pub use handle::Tensor;
pub use node::Activation;
pub use optimizer::{Adam, Optimizer, Sgd};
pub use param_slot::ParamId;
pub use typed::{Matrix, Vector};
pub use user_op::{TensorArgs, TensorArgsMut, TensorUserOp, TensorUserOpPoint, UserTensor};
pub use view::Buffer;

pub(crate) use broadcast::broadcast_shape;
pub(crate) use node::{Kind, Node};

/// A tensor on a tape: its record index, its kind, the generation that issued it and the
/// identity of its tape, like [`VarId`](crate::VarId). A rank-0 tensor is also a scalar
/// variable ([`TensorId::as_var`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct TensorId {
    pub index: u32,
    pub kind: u32,
    pub generation: u32,
    pub tape: u32,
}

impl TensorId {
    /// What a failed op returns. No tape ever accepts it.
    pub const INVALID: TensorId = TensorId {
        index: u32::MAX,
        kind: 0,
        generation: 0,
        tape: 0,
    };

    /// The same record as a scalar variable: meaningful for rank-0 tensors (losses,
    /// sums), which scalar ops read and write like any variable.
    pub fn as_var(self) -> crate::VarId {
        self.var()
    }

    /// False for the handle a failed op returned.
    pub fn is_valid(self) -> bool {
        self != TensorId::INVALID
    }
}
