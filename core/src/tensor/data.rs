//! Reading and writing a tensor's data: its shape, value, gradient and tangent, and
//! new values and tangent seeds for inputs.

use super::float::Float;
use super::node::Kind;
use super::on_device;
use super::TensorId;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::Tape;

impl<T: Float> Tape<'_, T> {
    /// The tensor handle of a record that a scalar handle names (as the outputs of a
    /// loaded image are named). Fails with a handle error, or
    /// [`Error::InvalidArgument`] when the record is not a tensor.
    pub fn tensor_of(&self, id: crate::tape::VarId) -> Result<TensorId> {
        self.check_handle(id)?;
        self.node_at(id.index).ok_or(Error::InvalidArgument(
            "expected a tensor record, got a scalar one",
        ))?;
        Ok(TensorId::from_var(id))
    }

    /// The shape of a tensor.
    pub fn tensor_shape(&self, t: TensorId) -> Result<Shape> {
        Ok(self.node(t)?.shape)
    }

    /// Copies a tensor's value into `out` (whose length must be its element count).
    pub fn tensor_value(&self, t: TensorId, out: &mut [T]) -> Result<()> {
        let node = self.node(t)?;
        self.read_node_value(&node, out)
    }

    /// Copies a tensor's gradient (after `backward`) into `out`.
    pub fn tensor_grad(&self, t: TensorId, out: &mut [T]) -> Result<()> {
        self.status()?;
        let node = self.node(t)?;
        if node.rank0() {
            // Its gradient and tangent are its record's slot, which both sweeps share.
            self.check_slots(crate::tape::SlotContent::Adjoints)?;
        }
        super::param::materialize_grad(self, &node);
        self.status()?;
        self.read_node_grad(&node, out)
    }

    /// Copies a tensor's tangent (after `jvp`) into `out`; zeros if no sweep set one.
    pub fn tensor_tangent(&self, t: TensorId, out: &mut [T]) -> Result<()> {
        self.status()?;
        let node = self.node(t)?;
        if node.rank0() {
            // Its gradient and tangent are its record's slot, which both sweeps share.
            self.check_slots(crate::tape::SlotContent::Tangents)?;
        }
        on_device::check_length(node.len, out.len())?;
        if node.on_device() && !node.rank0() {
            return on_device::tangent::read(self, &node, out);
        }
        let tangent = super::elementwise::tangent_or_zero(&node);
        out.iter_mut()
            .enumerate()
            .for_each(|(i, o)| *o = tangent(i));
        Ok(())
    }

    /// Overwrites the value of an input or constant leaf, for a following
    /// [`replay`](Tape::replay). Ops recorded from it report
    /// [`Error::ModifiedInPlace`] on `backward` until the replay recomputes them.
    pub fn set_tensor_value(&self, t: TensorId, data: &[T]) -> Result<()> {
        let node = self.node(t)?;
        if !matches!(node.kind, Kind::Input | Kind::Constant) {
            return Err(Error::InvalidArgument(
                "only input and constant tensors can be overwritten",
            ));
        }
        if data.len() != node.len {
            return Err(Error::LengthMismatch {
                what: "data length",
                got: data.len(),
                against: "the tensor's element count",
                expected: node.len,
            });
        }
        self.write_node_value(&node, data)?;
        self.update_node(t.index, |node| node.version = node.version.wrapping_add(1));
        Ok(())
    }

    /// Sets the tangent of an input leaf for the next [`jvp`](Tape::jvp) (tensor inputs
    /// are seeded here; scalar inputs through `jvp`'s seeds).
    pub fn seed_tensor_tangent(&self, t: TensorId, data: &[T]) -> Result<()> {
        let node = self.node(t)?;
        if !matches!(node.kind, Kind::Input | Kind::Param) {
            return Err(Error::InvalidArgument(
                "only input and parameter tensors take tangent seeds",
            ));
        }
        if data.len() != node.len {
            return Err(Error::LengthMismatch {
                what: "seed length",
                got: data.len(),
                against: "the tensor's element count",
                expected: node.len,
            });
        }
        if node.on_device() {
            return on_device::tangent::seed(self, t.index, data);
        }
        if node.rank0() {
            // A rank-0 tensor's tangent is its record's slot, which every sweep
            // overwrites; the seed waits in the leaf's unused op constant, and the
            // tangent sweep copies it there.
            let seed = data.first().map_or(0.0, |&d| d.to_f64());
            self.update_node(t.index, |node| node.scalar = seed);
            return Ok(());
        }
        let buffer = if node.tangent.is_null() {
            self.alloc(node.len, T::zero())?.as_ptr()
        } else {
            node.tangent
        };
        self.update_node(t.index, |node| node.tangent = buffer);
        // SAFETY: `buffer` holds `len` elements, not otherwise borrowed.
        unsafe { core::slice::from_raw_parts_mut(buffer, node.len) }.copy_from_slice(data);
        Ok(())
    }
}
