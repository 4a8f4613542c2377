//! The memory the drivers work in: the workspace carved from the front of caller
//! memory, and the tape, over the rest or the caller's own.

use super::workspace_bytes;
use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Tape, VarId};
use core::mem::{align_of, size_of, MaybeUninit};

/// A tape lent to a chain driver for a whole call: the driver resets it before every
/// step's recording, so nothing else may borrow it meanwhile. Made from `&mut Tape`
/// (what Rust callers pass), or, by a host that enforces the rule itself, with
/// [`TapeLoan::assume_exclusive`].
pub struct TapeLoan<'t, 'm: 't, T: Real> {
    tape: &'t Tape<'m, T>,
}

impl<'t, 'm, T: Real> From<&'t mut Tape<'m, T>> for TapeLoan<'t, 'm, T> {
    fn from(tape: &'t mut Tape<'m, T>) -> Self {
        TapeLoan { tape }
    }
}

impl<'t, 'm, T: Real> TapeLoan<'t, 'm, T> {
    /// A loan of a tape reached through a shared borrow.
    ///
    /// # Safety
    /// Until the chain call returns, no reference into the tape's memory may be used but
    /// through the driver and its callbacks, and the callbacks must not reset the tape
    /// (the C API's lent guard refuses that).
    pub unsafe fn assume_exclusive(tape: &'t Tape<'m, T>) -> Self {
        TapeLoan { tape }
    }

    pub(super) fn tape(&self) -> &'t Tape<'m, T> {
        self.tape
    }
}

/// Where a driver's memory comes from.
pub(super) enum Memory<'m, 't, 'tm, T: Real> {
    /// One slice: the workspace at its front, a tape over the rest.
    Whole(&'m mut [MaybeUninit<u8>]),
    /// The workspace alone, and a tape the caller made.
    Split {
        tape: &'t Tape<'tm, T>,
        workspace: &'m mut [MaybeUninit<u8>],
    },
}

impl<T: Real> Memory<'_, '_, '_, T> {
    /// The `free` an out-of-memory error reports: the whole slice, or the workspace's
    /// length plus the tape's capacity.
    pub(super) fn memory_len(&self) -> usize {
        match self {
            Memory::Whole(memory) => memory.len(),
            Memory::Split { tape, workspace } => {
                workspace.len().saturating_add(tape.capacity_bytes())
            }
        }
    }
}

/// Typed, initialised buffers cut from the front of caller memory.
pub(super) struct Carver<'a> {
    pub(super) rest: &'a mut [MaybeUninit<u8>],
    /// Bytes cut so far, padding included.
    pub(super) used: usize,
}

impl<'a> Carver<'a> {
    pub(super) fn new(memory: &'a mut [MaybeUninit<u8>]) -> Carver<'a> {
        Carver {
            rest: memory,
            used: 0,
        }
    }

    pub(super) fn take<U: Copy>(&mut self, count: usize, fill: U) -> Result<&'a mut [U]> {
        let rest = core::mem::take(&mut self.rest);
        let pad = rest.as_ptr().align_offset(align_of::<U>());
        let total = count
            .checked_mul(size_of::<U>())
            .and_then(|bytes| bytes.checked_add(pad))
            .ok_or(Error::SizeOverflow)?;
        if total > rest.len() {
            let free = rest.len();
            self.rest = rest;
            return Err(Error::OutOfMemory {
                needed: total,
                free,
            });
        }
        let (head, tail) = rest.split_at_mut(total);
        self.rest = tail;
        self.used = self.used.saturating_add(total);
        let ptr = head.as_mut_ptr().wrapping_add(pad).cast::<U>();
        // SAFETY: `head` is ours for `'a` (split off an exclusive borrow), and bytes
        // `pad..total` of it hold `count` values of `U` at an address aligned for `U`.
        // Every value is written before the slice is formed, and `U: Copy` needs no drop.
        unsafe {
            for i in 0..count {
                ptr.add(i).write(fill);
            }
            Ok(core::slice::from_raw_parts_mut(ptr, count))
        }
    }
}

/// The buffers the drivers carve from the front of the memory.
pub(super) struct Workspace<'a, T> {
    pub(super) snaps: &'a mut [T],
    pub(super) cur: &'a mut [T],
    pub(super) tmp: &'a mut [T],
    pub(super) seeds: &'a mut [T],
    pub(super) ids: &'a mut [VarId],
    /// Bytes cut, padding included.
    pub(super) used: usize,
}

impl<'a, T: Real> Workspace<'a, T> {
    /// Cuts the workspace for `slots` snapshots of `x0.len()` values and `p` parameters
    /// from the front of `memory`, with `x0` as the current state; returns it and the
    /// rest of `memory`. `memory_len` is the `free` an out-of-memory error reports.
    pub(super) fn carve(
        memory: &'a mut [MaybeUninit<u8>],
        slots: usize,
        x0: &[T],
        p: usize,
        memory_len: usize,
    ) -> Result<(Self, &'a mut [MaybeUninit<u8>])> {
        let d = x0.len();
        let out_of_memory = |_| Error::OutOfMemory {
            needed: workspace_bytes::<T>(d, p, slots)
                .unwrap_or(usize::MAX)
                .saturating_add(Tape::<T>::bytes_per_record()),
            free: memory_len,
        };
        let mut carver = Carver::new(memory);
        let snaps = carver
            .take(slots.checked_mul(d).ok_or(Error::SizeOverflow)?, T::zero())
            .map_err(out_of_memory)?;
        let cur = carver.take(d, T::zero()).map_err(out_of_memory)?;
        let tmp = carver.take(d, T::zero()).map_err(out_of_memory)?;
        let seeds = carver
            .take(d.checked_add(p).ok_or(Error::SizeOverflow)?, T::zero())
            .map_err(out_of_memory)?;
        let handles = d
            .checked_mul(2)
            .and_then(|n| n.checked_add(p))
            .ok_or(Error::SizeOverflow)?;
        let ids = carver
            .take(handles, VarId::INVALID)
            .map_err(out_of_memory)?;
        for (c, &x) in cur.iter_mut().zip(x0) {
            *c = x;
        }
        let work = Workspace {
            snaps,
            cur,
            tmp,
            seeds,
            ids,
            used: carver.used,
        };
        Ok((work, carver.rest))
    }
}

/// A tape over what follows the workspace.
pub(super) fn new_tape<T: Real>(
    rest: &mut [MaybeUninit<u8>],
    workspace: usize,
    memory_len: usize,
) -> Result<Tape<'_, T>> {
    Tape::<T>::new(rest).map_err(|_| Error::OutOfMemory {
        needed: workspace.saturating_add(Tape::<T>::bytes_per_record()),
        free: memory_len,
    })
}
