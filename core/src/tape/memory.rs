//! The tape's memory beyond its records: allocations at the arena's high end for the
//! layers above (tensor data, parameters, saved values), the persistent region that
//! survives `reset`, and the scratch reserve that guarantees sweeps their work space.

use super::Tape;
use crate::error::{Error, Result};
use crate::real::Real;
use core::mem::size_of;
use core::ptr::NonNull;

impl<'m, T: Real> Tape<'m, T> {
    /// `count` values of `U` from the arena's high end, set to `fill`. They live until the
    /// next `reset` (or until [`make_persistent`](Tape::make_persistent) keeps them).
    /// Fails, and sets the tape's error, when the arena cannot hold them.
    ///
    /// Refused while a [`with_scratch`](Tape::with_scratch) region is open: the region is
    /// given back when its closure returns, and anything allocated below it would go
    /// with it while still in use.
    pub(crate) fn alloc<U: Copy>(&self, count: usize, fill: U) -> Result<NonNull<U>> {
        self.status()?;
        if self.scratch_open.get() > 0 {
            let error = Error::InvalidArgument(
                "internal: an allocation that outlives a call was asked for inside its scratch",
            );
            self.fail(error);
            return Err(error);
        }
        match self.alloc_below_reserve(count, fill, self.reserved.get()) {
            Ok(ptr) => Ok(ptr),
            Err(error) => {
                self.fail(error);
                Err(error)
            }
        }
    }

    /// Takes `count` values of `U` from the high end while keeping `keep_free` bytes free
    /// above the records. Does not touch the error state.
    pub(super) fn alloc_below_reserve<U: Copy>(
        &self,
        count: usize,
        fill: U,
        keep_free: usize,
    ) -> Result<NonNull<U>> {
        let floor = self
            .records_end()
            .checked_add(keep_free)
            .ok_or(Error::SizeOverflow)?;
        if floor > self.arena.high_offset() {
            let needed = count
                .saturating_mul(size_of::<U>())
                .saturating_add(keep_free);
            return Err(Error::OutOfMemory {
                needed,
                free: self.free_bytes(),
            });
        }
        self.arena.set_low_offset(floor);
        let result = self.arena.alloc_high_raw::<U>(count);
        self.arena.set_low_offset(self.records_end());
        let ptr = result?;
        // SAFETY: the block holds `count` values of `U`, just taken for us.
        unsafe {
            for i in 0..count {
                ptr.as_ptr().add(i).write(fill);
            }
        }
        self.refresh_limit();
        Ok(ptr)
    }

    /// Keeps at least `bytes` free above the records from now until the next reset, so
    /// that a sweep's [`with_scratch`](Tape::with_scratch) of that size cannot fail.
    /// Recording ops call this for the scratch their backward will need.
    pub(crate) fn reserve_scratch(&self, bytes: usize) -> Result<()> {
        if bytes <= self.reserved.get() {
            return Ok(());
        }
        // Where the records live in a host block, the reserve is kept free there too
        // (see `growth.rs`). Growing helps when the records are what lacks room, or
        // when moving them out of the arena makes room in it.
        let record_bytes = self.len() * size_of::<super::record::Record<T>>();
        let arena_fits =
            |tape: &Self| tape.records_end().saturating_add(bytes) <= tape.arena.high_offset();
        let block_fits = |tape: &Self| {
            !tape.records_in_host_block()
                || record_bytes.saturating_add(bytes) <= tape.record_room()
        };
        let fits = |tape: &Self| arena_fits(tape) && block_fits(tape);
        // Records already in a host block with room would not help the arena by moving.
        let moving_helps = !(self.records_in_host_block() && block_fits(self));
        if !fits(self) && moving_helps {
            let records = bytes.div_ceil(size_of::<super::record::Record<T>>());
            self.grow_records(records);
        }
        if !fits(self) {
            let error = Error::OutOfMemory {
                needed: bytes,
                free: self.free_bytes(),
            };
            self.fail(error);
            return Err(error);
        }
        self.reserved.set(bytes);
        self.refresh_limit();
        Ok(())
    }

    /// Runs `f` on `count` values of `U`, each `U::default()`, taken from the arena's high
    /// end (the reserve included), or from the host on a tape that may grow, and given
    /// back when `f` returns. It fails, leaving the tape's error state untouched and `f`
    /// not run, only when neither can hold them once aligned for `U`. A sweep asks only for `T` scratch that the recording ops
    /// reserved in bytes ([`reserve_scratch`](Tape::reserve_scratch)), and between ops
    /// the high end is aligned for `T` (each op ends with its node and its buffers of `T`,
    /// and the other blocks taken have sizes that keep that alignment), so those calls do
    /// not fail. While `f` runs,
    /// allocations that outlive the call ([`alloc`](Tape::alloc)) are refused, since they
    /// would land below the scratch and be given back with it.
    pub(crate) fn with_scratch<U: Copy + Default, R>(
        &self,
        count: usize,
        f: impl FnOnce(&mut [U]) -> R,
    ) -> Result<R> {
        let mark = self.high_mark();
        // A tape that may grow asks its host for scratch the arena cannot hold (the
        // lanes of a vector sweep over a large recording; `host_scratch.rs`).
        let (ptr, host_block) = match self.alloc_below_reserve(count, U::default(), 0) {
            Ok(ptr) => (ptr, None),
            Err(error) => {
                let (ptr, block) = self.host_scratch::<U>(count).ok_or(error)?;
                (ptr, Some(block))
            }
        };
        self.scratch_open.set(self.scratch_open.get() + 1);
        // SAFETY: `count` initialised values only this call refers to.
        let result = f(unsafe { core::slice::from_raw_parts_mut(ptr.as_ptr(), count) });
        self.scratch_open.set(self.scratch_open.get() - 1);
        if let Some(block) = host_block {
            self.finish_host_scratch(block);
        }
        // The scratch is below every live allocation; give it back directly (also when
        // it sits inside the persistent region's bookkeeping range).
        self.arena.release_high_to(mark);
        self.refresh_limit();
        Ok(result)
    }

    /// Keeps everything allocated at the high end so far across future resets (the home
    /// of parameters and optimizer state).
    pub(crate) fn make_persistent(&self) {
        self.persistent_high.set(self.arena.high_offset());
    }

    /// True once a layer has set its per-tape state.
    pub(crate) fn has_layer_state(&self) -> bool {
        !self.layer_state.get().is_null()
    }

    /// The layers' per-tape state pointer (null until set), for undo points only: the
    /// state itself is reached through [`with_layer_state`](Tape::with_layer_state).
    pub(crate) fn layer_state(&self) -> *mut u8 {
        self.layer_state.get()
    }

    /// Sets the layers' per-tape state pointer; it must point into the persistent region.
    pub(crate) fn set_layer_state(&self, state: *mut u8) {
        self.layer_state.set(state);
    }

    /// Runs `f` with the only reference to the layer state, which must have been set, as
    /// an `S`. The state is one cell with closure-scoped access: no reference to it
    /// outlives `f`, and while `f` runs, a nested call is refused (an internal error,
    /// never an aliasing `&mut`).
    ///
    /// # Safety
    /// The state must have been set to a live `S`.
    pub(crate) unsafe fn with_layer_state<S, R>(&self, f: impl FnOnce(&mut S) -> R) -> Result<R> {
        let state = self.layer_state.get().cast::<S>();
        if state.is_null() {
            return Err(Error::InvalidArgument("the tape has no tensor state yet"));
        }
        if self.layer_state_busy.replace(true) {
            return Err(Error::Reentrant("the tensor state is already in use"));
        }
        /// Clears the busy flag when dropped, so a panic cannot leave the state locked.
        struct Release<'a>(&'a core::cell::Cell<bool>);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _release = Release(&self.layer_state_busy);
        // SAFETY: a live `S` (the caller's contract), and the busy flag makes this the
        // only reference to it until `f` returns.
        Ok(f(unsafe { &mut *state }))
    }

    /// True when nothing but persistent data is in the arena: right after `new` or
    /// `reset`, before anything is recorded.
    pub(crate) fn is_pristine(&self) -> bool {
        self.is_empty() && self.arena.high_offset() == self.persistent_high.get()
    }

    /// The high-end cursor, to give back to with [`release_to`](Tape::release_to).
    pub(crate) fn high_mark(&self) -> usize {
        self.arena.high_offset()
    }

    /// Returns high-end memory taken since `mark`, a value of [`high_mark`](Tape::high_mark)
    /// taken after the last reset. Marks outside the current activation region are
    /// ignored.
    ///
    /// # Safety
    /// Nothing allocated after `mark` may be used afterwards.
    pub(crate) unsafe fn release_to(&self, mark: usize) {
        if mark >= self.arena.high_offset() && mark <= self.persistent_high.get() {
            self.arena.release_high_to(mark);
            self.refresh_limit();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Error, Tape};
    use core::mem::MaybeUninit;

    /// Scratch is given back when its closure returns: anything allocated for longer
    /// inside it would be given back with it while still in use, so it is refused.
    #[test]
    fn allocations_that_outlive_a_scratch_region_are_refused_inside_it() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let inside = tape
            .with_scratch::<u64, _>(4, |scratch| {
                scratch.fill(7);
                tape.alloc(8, 0u64).map(|_| ())
            })
            .unwrap();
        assert!(matches!(inside, Err(Error::InvalidArgument(_))));
        assert!(matches!(tape.status(), Err(Error::InvalidArgument(_))));
        // Outside it, the same allocation succeeds (after a reset clears the error).
        let mut tape = tape;
        tape.reset();
        assert!(tape.alloc(8, 0u64).is_ok());
    }
}
