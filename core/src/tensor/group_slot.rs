//! A parameter group's handle and its slot in the tape's group table: the gradient
//! buffer its parameters share and their order in it (see `group.rs`).

/// A group of parameters whose gradients share one contiguous buffer. Like a
/// `ParamId`, it stays valid across `reset`, and another tape rejects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct ParamGroup {
    pub index: u32,
    /// The handle's kind, at the same place as in the other handles.
    pub kind: u32,
    /// The owning tape's identity.
    pub tape: u32,
}

/// One group: its gradient buffer and the parameters laid out in it, in order.
#[derive(Clone, Copy)]
pub(crate) struct GroupSlot<T> {
    pub(crate) grad: *mut T,
    pub(crate) len: usize,
    pub(crate) params: *const u32,
    pub(crate) count: u32,
    /// The record of the recording's first use of one of the group's parameters, and
    /// the epoch of that recording (see [`group_ready`](super::group_ready)).
    pub(crate) first_use: u32,
    pub(crate) first_use_epoch: u32,
}

/// The tape's groups, in the persistent region.
#[derive(Clone, Copy)]
pub(crate) struct GroupTable<T> {
    pub(crate) slots: *mut GroupSlot<T>,
    pub(crate) count: u32,
    pub(crate) capacity: u32,
}

impl<T> GroupTable<T> {
    pub(crate) const EMPTY: GroupTable<T> = GroupTable {
        slots: core::ptr::null_mut(),
        count: 0,
        capacity: 0,
    };
}

impl<T> GroupSlot<T> {
    /// The indices of the group's parameters.
    pub(crate) fn param_indices(&self) -> &[u32] {
        // SAFETY: `params` holds `count` indices in the persistent region, written once
        // when the group was made and never again.
        unsafe { core::slice::from_raw_parts(self.params, self.count as usize) }
    }
}
