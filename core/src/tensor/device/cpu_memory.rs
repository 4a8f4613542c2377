//! The memory of a [`CpuDevice`]: a caller's buffer taken from the bottom up, its owner
//! and its lock, and the checked views the kernels work on.

use super::{DeviceBuffer, DeviceOwner, DeviceRef};
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::float::Float;
use core::cell::Cell;

/// A device whose memory is a caller's buffer of `T` and whose kernels run on the CPU.
pub struct CpuDevice<'a, T: Float> {
    pub(super) memory: &'a [Cell<T>],
    /// Elements in use, from the start.
    pub(super) top: Cell<usize>,
    pub(super) owner: DeviceOwner,
    /// Held by every trait method and `used` for its whole run: the memory's cells, the
    /// top and the owner are only touched under it, which is what makes the device
    /// `Sync` (a tape that holds it may move to another thread).
    pub(super) lock: spin::Mutex<()>,
}

// SAFETY: `memory`, `top` and `owner` (cells) are reached only by the `TensorDevice`
// methods and `used`, each of which holds `lock` while it runs, and by private helpers
// they call; so no two threads touch them at once.
unsafe impl<T: Float> Sync for CpuDevice<'_, T> {}

impl<'a, T: Float> CpuDevice<'a, T> {
    /// A device over `memory`, all of it free.
    pub fn new(memory: &'a mut [T]) -> CpuDevice<'a, T> {
        CpuDevice {
            memory: Cell::from_mut(memory).as_slice_of_cells(),
            top: Cell::new(0),
            owner: DeviceOwner::default(),
            lock: spin::Mutex::new(()),
        }
    }

    /// Elements in use.
    pub fn used(&self) -> usize {
        let _lock = self.lock.lock();
        self.top.get()
    }

    /// Buffer `r`'s elements (its shape's element count; bounds-checked).
    pub(super) fn cells(&self, r: DeviceRef) -> Result<&'a [Cell<T>]> {
        let len = r.shape.checked_len().ok_or(Error::SizeOverflow)?;
        let start = usize::try_from(r.buffer.offset).map_err(|_| Error::StaleHandle)?;
        start
            .checked_add(len)
            .filter(|&end| end <= self.top.get())
            .map(|end| &self.memory[start..end])
            .ok_or(Error::StaleHandle)
    }

    /// Runs `f` on buffers taken as exclusive slices. The trait's callers may pass any
    /// offsets and shapes, so the element ranges are checked to be pairwise disjoint
    /// (not merely to start at different offsets) before any `&mut` is made.
    pub(super) fn exclusive<const N: usize, R>(
        &self,
        refs: [DeviceRef; N],
        f: impl FnOnce([&mut [T]; N]) -> R,
    ) -> Result<R> {
        let mut cells = [&self.memory[..0]; N];
        for (c, r) in cells.iter_mut().zip(refs) {
            *c = self.cells(r)?;
        }
        let range = |c: &[Cell<T>]| {
            let start = c.as_ptr() as usize;
            start..start + core::mem::size_of_val(c)
        };
        for (i, a) in cells.iter().enumerate() {
            let a = range(a);
            if cells[..i]
                .iter()
                .map(|b| range(b))
                .any(|b| !a.is_empty() && !b.is_empty() && a.start < b.end && b.start < a.end)
            {
                return Err(Error::InvalidArgument("an optimizer's buffers overlap"));
            }
        }
        // SAFETY: the cells are pairwise disjoint (checked above), `Cell<T>` has `T`'s
        // layout, and no other reference to them is used while `f` runs.
        Ok(f(cells.map(|c| unsafe {
            core::slice::from_raw_parts_mut(c.as_ptr() as *mut T, c.len())
        })))
    }

    /// Takes `shape`'s elements (at least one) from the top, zeroed.
    pub(super) fn bump(&self, shape: Shape) -> Result<DeviceBuffer> {
        let len = shape.checked_len().ok_or(Error::SizeOverflow)?.max(1);
        let start = self.top.get();
        let free = self.memory.len() - start;
        if len > free {
            let size = core::mem::size_of::<T>();
            return Err(Error::OutOfMemory {
                needed: len.saturating_mul(size),
                free: free * size,
            });
        }
        self.memory[start..start + len]
            .iter()
            .for_each(|c| c.set(T::zero()));
        self.top.set(start + len);
        Ok(DeviceBuffer {
            offset: start as u64,
            serial: 0,
        })
    }

    /// Takes a buffer holding `labels` from the top.
    pub(super) fn bump_labels(&self, labels: &[u32]) -> Result<DeviceBuffer> {
        let dims = [labels.len()];
        let shape = Shape::new(&dims).ok_or(Error::SizeOverflow)?;
        let buffer = self.bump(shape)?;
        let cells = self.cells(DeviceRef { buffer, shape })?;
        // Labels are stored as `T`, exact below 2^24 even in f32.
        for (c, &l) in cells.iter().zip(labels) {
            if l >= 1 << 24 {
                return Err(Error::InvalidArgument(
                    "a label above 2^24 on the CPU device",
                ));
            }
            c.set(T::from_f64(l as f64));
        }
        Ok(buffer)
    }

    /// The buffer of `rows` class labels, as cross-entropy reads it.
    pub(super) fn label_cells(&self, labels: DeviceBuffer, rows: usize) -> Result<&[Cell<T>]> {
        let dims = [rows];
        let shape = Shape::new(&dims).ok_or(Error::SizeOverflow)?;
        self.cells(DeviceRef {
            buffer: labels,
            shape,
        })
    }
}
