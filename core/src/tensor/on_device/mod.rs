//! Tensor records whose data lives on a compute device: their forward, backward and
//! tangent rules as calls to the device's kernels, the transfers between host and
//! device, and reads and writes of their data. Above `device/`, which defines what a
//! device is and knows nothing of records.

mod data;
pub(crate) use data::check_length;
pub(crate) mod sweep;
pub(crate) mod tangent;
mod transfer;
