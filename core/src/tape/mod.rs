//! The reverse-mode tape: a Wengert list in caller memory. The model (sticky errors,
//! handles, memory) is documented on [`Tape`], the type users see.

mod backward;
mod extension;
pub use backward::Gradients;
mod forward;
mod hessian;
mod mark;
mod memory;
mod record;
mod var;
mod vjp;

pub(crate) use extension::{Extension, ExtensionHeader};
pub(crate) use mark::RecordMark;
pub use record::MAX_RECORDS;
pub use var::{Var, VarId};

use crate::arena::{align_up, Arena};
use crate::error::{Error, Result};
use crate::op::Op;
use crate::real::Real;
use core::cell::Cell;
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::NonNull;
use record::Record;

/// Added to a tape's tag at every reset. Odd, so the tags of one tape cycle through all
/// 2^32 values before repeating, and invertible mod 2^32, so a tag decodes to the
/// generation that issued it.
const GENERATION_STEP: u32 = 0x9E37_79B9;
/// The inverse of [`GENERATION_STEP`] modulo 2^32.
const GENERATION_STEP_INVERSE: u32 = GENERATION_STEP.wrapping_pow(u32::MAX >> 1);

/// A reverse-mode tape over numbers of type `T`, living entirely in caller memory.
///
/// A tape records one record per variable: the op, its argument indices, its value and
/// a slot for its adjoint (24 bytes for `f64`). From that list it can run backward (the
/// gradient of one output, a vector-Jacobian product), run forward with tangents (a
/// Jacobian-vector product), and replay at new input values without recording again.
/// Records grow from the low end of the memory; tensors, parameters and scratch from the
/// high end.
///
/// # Sticky errors
///
/// Every recording op returns a variable, never a `Result`. When an op fails (the arena
/// is full, a handle is stale or foreign, an argument is invalid) the tape keeps the
/// *first* error, and from then on every op records nothing and returns an invalid
/// variable. [`status`](Tape::status), [`backward`](Tape::backward) and friends report
/// that first error. Nothing recorded before it is touched, and [`reset`](Tape::reset)
/// makes the tape usable again.
///
/// # Handles
///
/// A [`VarId`] carries a 32-bit tag made of the tape's identity and its generation.
/// [`reset`](Tape::reset) starts a new generation, so a variable from before it is
/// reported as [`Error::StaleHandle`], and one from another tape as
/// [`Error::ForeignHandle`]: never undefined behaviour.
///
/// # Threads
///
/// A tape is used from one thread at a time (it is `Send` but not `Sync`); separate
/// tapes are independent.
pub struct Tape<'m, T: Real> {
    arena: Arena<'m>,
    /// Start of the record array, which owns the arena's low end.
    records: NonNull<Record<T>>,
    /// Byte offset of `records` within the arena.
    records_offset: usize,
    len: Cell<u32>,
    /// How many records fit now. Zero while an error is pending, so that one comparison
    /// on the hot path catches both a full tape and an errored one.
    limit: Cell<u32>,
    /// The last constant recorded and its record, so a constant used over and over
    /// (`0.01 * x[i]` in a loop) takes one record, not one per use.
    last_constant: Cell<(T, VarId)>,
    /// Number of `Input` records, in recording order.
    inputs: Cell<u32>,
    /// One past the last `Input` record, so reading input gradients scans only that far
    /// (inputs usually come first).
    inputs_end: Cell<u32>,
    /// This tape's identity, mixed into every tag.
    salt: u32,
    generation: Cell<u32>,
    tag: Cell<u32>,
    error: Cell<Option<Error>>,
    /// True when some adjoint slot may be non-zero, so the next backward must clear them.
    adjoints_dirty: Cell<bool>,
    /// High-end offset that `reset` rewinds to; bytes above it outlive resets.
    persistent_high: Cell<usize>,
    /// Bytes kept free between the records and the high end for scratch that sweeps
    /// need (see [`reserve_scratch`](Tape::reserve_scratch)); zero after reset.
    reserved: Cell<usize>,
    /// One pointer the layers above may keep per-tape state behind (the tensor layer's
    /// parameter table); it lives in the persistent region, so it survives resets.
    layer_state: Cell<*mut u8>,
    /// True once an extension record is pushed; false again after reset.
    has_extension_records: Cell<bool>,
    /// Depth of checkpointed blocks being recorded again (see `begin_rerecording`).
    rerecording: Cell<u32>,
}

// SAFETY: the tape owns its records exclusively (through the arena's `&'m mut` borrow),
// and every `T: Real` is `Send`; moving the whole tape to another thread is sound. It is
// not `Sync`: its `Cell`s are mutated through `&self`.
unsafe impl<T: Real> Send for Tape<'_, T> {}

impl<'m, T: Real> Tape<'m, T> {
    /// A tape whose records and data live in `memory`. Fails only when `memory` cannot
    /// hold even one record.
    pub fn new(memory: &'m mut [MaybeUninit<u8>]) -> Result<Tape<'m, T>> {
        let address = memory.as_ptr() as usize;
        let arena = Arena::new(memory);
        let free = arena.free();
        let records_offset = align_up(address, align_of::<Record<T>>())
            .map(|aligned| aligned - address)
            .filter(|&offset| offset + size_of::<Record<T>>() <= free)
            .ok_or(Error::OutOfMemory {
                needed: size_of::<Record<T>>(),
                free,
            })?;
        let records = NonNull::new(arena.ptr_at(records_offset).cast::<Record<T>>())
            .ok_or(Error::InvalidArgument("memory is null"))?;
        let salt = identity_salt(address);
        let tape = Tape {
            arena,
            records,
            records_offset,
            len: Cell::new(0),
            limit: Cell::new(0),
            last_constant: Cell::new((T::zero(), VarId::INVALID)),
            inputs: Cell::new(0),
            inputs_end: Cell::new(0),
            salt,
            generation: Cell::new(0),
            tag: Cell::new(salt),
            error: Cell::new(None),
            adjoints_dirty: Cell::new(false),
            persistent_high: Cell::new(0),
            reserved: Cell::new(0),
            layer_state: Cell::new(core::ptr::null_mut()),
            has_extension_records: Cell::new(false),
            rerecording: Cell::new(0),
        };
        tape.persistent_high.set(tape.arena.high_offset());
        tape.refresh_limit();
        Ok(tape)
    }

    /// The arena's total size in bytes.
    pub fn capacity_bytes(&self) -> usize {
        self.arena.capacity()
    }

    /// Bytes in use: records plus everything at the high end.
    pub fn used_bytes(&self) -> usize {
        self.records_offset
            + self.len() * size_of::<Record<T>>()
            + (self.arena.capacity() - self.arena.high_offset())
    }

    /// Bytes kept free above the records for the scratch that sweeps need: tensor
    /// kernels' work space, and checkpointed segments' blocks recorded again.
    /// [`used_bytes`](Tape::used_bytes) plus this is what the recording needs to be
    /// differentiated.
    pub fn reserved_bytes(&self) -> usize {
        self.reserved.get()
    }

    /// Bytes each recorded variable takes (record, value and adjoint together).
    pub const fn bytes_per_record() -> usize {
        size_of::<Record<T>>()
    }

    /// The bytes of memory a tape needs to hold `records` variables and nothing else.
    /// `None` when the count overflows. Add `align_of::<T>()` when the memory's
    /// alignment is unknown.
    pub const fn bytes_for_records(records: usize) -> Option<usize> {
        records.checked_mul(size_of::<Record<T>>())
    }

    /// Number of recorded variables.
    pub fn len(&self) -> usize {
        self.len.get() as usize
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len.get() == 0
    }

    /// Number of independent variables recorded, in the order replay expects them.
    pub fn num_inputs(&self) -> usize {
        self.inputs.get() as usize
    }

    /// The first error since the last reset, if any.
    pub fn status(&self) -> Result<()> {
        match self.error.get() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Clears every record, the first error and all handles, keeping the memory and
    /// whatever was made persistent. Variables from before are stale from now on.
    pub fn reset(&self) {
        self.len.set(0);
        self.last_constant.set((T::zero(), VarId::INVALID));
        self.inputs.set(0);
        self.inputs_end.set(0);
        self.error.set(None);
        self.adjoints_dirty.set(false);
        self.has_extension_records.set(false);
        self.rerecording.set(0);
        self.reserved.set(0);
        self.arena.set_low_offset(self.records_offset);
        self.arena.release_high_to(self.persistent_high.get());
        let generation = self.generation.get().wrapping_add(1);
        self.generation.set(generation);
        let mut tag = self
            .salt
            .wrapping_add(generation.wrapping_mul(GENERATION_STEP));
        if tag == VarId::INVALID.tag {
            // Skip the invalid tag; the decode in `handle_error` still works, since it
            // only compares generations.
            tag = tag.wrapping_add(GENERATION_STEP);
            self.generation.set(generation.wrapping_add(1));
        }
        self.tag.set(tag);
        self.refresh_limit();
    }

    /// An independent variable with value `value`.
    #[inline]
    pub fn input(&self, value: T) -> Var<'_, T> {
        let id = self.input_id(value);
        Var::new(self, id)
    }

    /// A constant: a variable no derivative flows into.
    #[inline]
    pub fn constant(&self, value: T) -> Var<'_, T> {
        Var::new(self, self.constant_id(value))
    }

    /// `input`, as a bare handle (for hosts that keep handles without lifetimes).
    #[inline]
    pub fn input_id(&self, value: T) -> VarId {
        let id = self.push(Record::new(Op::Input, 0, 0, value));
        if id.tag != VarId::INVALID.tag {
            self.inputs.set(self.inputs.get() + 1);
            self.inputs_end.set(id.index + 1);
        }
        id
    }

    /// `constant`, as a bare handle.
    #[inline]
    pub fn constant_id(&self, value: T) -> VarId {
        let (last, id) = self.last_constant.get();
        if value.same_bits(last) && self.owns(id) {
            return id;
        }
        let id = self.push(Record::new(Op::Const, 0, 0, value));
        self.last_constant.set((value, id));
        id
    }

    /// Records a unary op. `Powi` takes its exponent from [`powi_id`](Tape::powi_id);
    /// binary, leaf and tensor ops are rejected as an invalid argument.
    #[inline]
    pub fn unary_id(&self, op: Op, x: VarId) -> VarId {
        if op.arity() != crate::op::Arity::Unary || op == Op::Powi {
            return self.fail(Error::InvalidArgument("unary_id: not a unary op"));
        }
        self.record_unary(op, x, 0)
    }

    /// `x^n` for an integer `n`.
    #[inline]
    pub fn powi_id(&self, x: VarId, n: i32) -> VarId {
        self.record_unary(Op::Powi, x, n)
    }

    /// Records a binary op; non-binary ops are rejected as an invalid argument.
    #[inline]
    pub fn binary_id(&self, op: Op, a: VarId, b: VarId) -> VarId {
        if op.arity() != crate::op::Arity::Binary {
            return self.fail(Error::InvalidArgument("binary_id: not a binary op"));
        }
        self.record_binary(op, a, b)
    }

    /// `(op, a, b, value)` of scalar record `index`, for graph exports.
    pub(crate) fn scalar_record(&self, index: u32) -> Option<(Op, u32, u32, T)> {
        (index < self.len.get()).then(|| {
            let record = self.record(index);
            (record.op(), record.a(), record.b, record.value)
        })
    }

    /// The value of a variable, or the reason it cannot be read.
    pub fn value(&self, x: VarId) -> Result<T> {
        self.check_handle(x)?;
        Ok(self.record(x.index).value)
    }

    /// The adjoint of `x` after [`backward`](Tape::backward): `∂output/∂x`.
    pub fn grad(&self, x: VarId) -> Result<T> {
        self.status()?;
        self.check_handle(x)?;
        Ok(self.record(x.index).adjoint)
    }

    /// The tangent of `x` after [`jvp`](Tape::jvp).
    pub fn tangent(&self, x: VarId) -> Result<T> {
        self.grad(x)
    }

    /// Pointers to the value and adjoint slots of record `index`, so that a rank-0
    /// extension value can live in its record and be shared with scalar ops. `None` past
    /// the end.
    pub(crate) fn record_slots(&self, index: u32) -> Option<(*mut T, *mut T)> {
        if index >= self.len.get() {
            return None;
        }
        // SAFETY: `index < len`.
        let record = unsafe { self.records_ptr().add(index as usize) };
        // SAFETY: field projections of a live record.
        Some(unsafe {
            (
                core::ptr::addr_of_mut!((*record).value),
                core::ptr::addr_of_mut!((*record).adjoint),
            )
        })
    }

    /// The tag handles of the current generation carry.
    pub fn current_tag(&self) -> u32 {
        self.tag.get()
    }

    /// The tape's identity, stable across resets (handles to persistent data carry it).
    pub fn identity(&self) -> u32 {
        self.salt
    }

    /// Offset of `ptr` from the arena's start, if it lies inside the arena.
    pub(crate) fn arena_offset(&self, ptr: *const u8) -> Option<usize> {
        let base = self.arena.ptr_at(0) as usize;
        let address = ptr as usize;
        (address >= base && address <= base + self.arena.capacity()).then(|| address - base)
    }

    /// Sets the first error (unless one is already set) and returns the invalid handle.
    #[cold]
    pub fn fail(&self, error: Error) -> VarId {
        if self.error.get().is_none() {
            self.error.set(Some(error));
            self.limit.set(0);
        }
        VarId::INVALID
    }

    /// Checks that `x` is a live variable of this tape.
    #[inline(always)]
    pub fn check_handle(&self, x: VarId) -> Result<()> {
        if self.owns(x) {
            Ok(())
        } else {
            Err(self.handle_error(x))
        }
    }

    // ---- recording internals ----

    #[inline(always)]
    fn owns(&self, x: VarId) -> bool {
        x.tag == self.tag.get() && x.index < self.len.get()
    }

    #[inline(always)]
    fn record_unary(&self, op: Op, x: VarId, n: i32) -> VarId {
        if !self.owns(x) {
            return self.fail_handle(x);
        }
        let value = op.eval_unary(self.record(x.index).value, n);
        self.push(Record::new(op, x.index, n as u32, value))
    }

    #[inline(always)]
    fn record_binary(&self, op: Op, a: VarId, b: VarId) -> VarId {
        if !(self.owns(a) && self.owns(b)) {
            return self.fail_handle(if self.owns(a) { b } else { a });
        }
        let value = op.eval_binary(self.record(a.index).value, self.record(b.index).value);
        self.push(Record::new(op, a.index, b.index, value))
    }

    /// Appends a record: the hot path of every op. One comparison guards both capacity
    /// and the error state (`limit` is zero while an error is pending).
    #[inline(always)]
    fn push(&self, record: Record<T>) -> VarId {
        let index = self.len.get();
        if index >= self.limit.get() {
            return self.push_failed();
        }
        // Records grow past the arena's low cursor without telling it (`limit` keeps them
        // below the high end). Under AddressSanitizer the free gap is poisoned, so the
        // slot is claimed from the arena first: its low cursor then stays at the end of
        // the records, and a truncation or reset poisons the records it drops.
        #[cfg(autodiff_asan)]
        self.arena
            .set_low_offset(self.records_offset + (index as usize + 1) * size_of::<Record<T>>());
        // SAFETY: `index < limit`, and `refresh_limit` keeps `limit` records inside the
        // gap below the arena's high end, which the tape owns.
        unsafe { self.records.as_ptr().add(index as usize).write(record) };
        self.len.set(index + 1);
        VarId {
            index,
            tag: self.tag.get(),
        }
    }

    #[cold]
    #[inline(never)]
    fn push_failed(&self) -> VarId {
        if self.error.get().is_some() {
            return VarId::INVALID;
        }
        let error = if self.len.get() >= MAX_RECORDS {
            Error::TooManyVariables {
                limit: MAX_RECORDS as usize,
            }
        } else {
            Error::OutOfMemory {
                needed: size_of::<Record<T>>(),
                free: self.free_bytes(),
            }
        };
        self.fail(error)
    }

    #[cold]
    #[inline(never)]
    fn fail_handle(&self, x: VarId) -> VarId {
        if self.error.get().is_some() {
            return VarId::INVALID;
        }
        let error = self.handle_error(x);
        self.fail(error)
    }

    /// Why `x` is not a live handle of this tape.
    #[cold]
    fn handle_error(&self, x: VarId) -> Error {
        if x.tag == VarId::INVALID.tag {
            return Error::ForeignHandle;
        }
        if x.tag == self.tag.get() {
            // Issued by this generation, but its record was truncated away.
            return Error::StaleHandle;
        }
        let generation = x
            .tag
            .wrapping_sub(self.salt)
            .wrapping_mul(GENERATION_STEP_INVERSE);
        if generation < self.generation.get() {
            Error::StaleHandle
        } else {
            Error::ForeignHandle
        }
    }

    /// Free bytes between the records and the high end.
    fn free_bytes(&self) -> usize {
        self.arena.high_offset() - self.records_end()
    }

    fn records_end(&self) -> usize {
        self.records_offset + self.len() * size_of::<Record<T>>()
    }

    /// Recomputes how many records fit below the high end. Called whenever the high end
    /// moves or the error state changes.
    fn refresh_limit(&self) {
        if self.error.get().is_some() {
            self.limit.set(0);
            return;
        }
        let room = self
            .arena
            .high_offset()
            .saturating_sub(self.records_offset + self.reserved.get());
        let fit = room / size_of::<Record<T>>().max(1);
        self.limit.set(fit.min(MAX_RECORDS as usize) as u32);
    }

    /// Record `index`, which must be below `len`.
    #[inline(always)]
    fn record(&self, index: u32) -> Record<T> {
        debug_assert!(index < self.len.get());
        // SAFETY: callers pass indices of records already written (below `len`).
        unsafe { self.records.as_ptr().add(index as usize).read() }
    }

    #[inline(always)]
    fn records_ptr(&self) -> *mut Record<T> {
        self.records.as_ptr()
    }
}

/// A tape identity derived from its memory's address, so two live tapes (which cannot
/// share memory) get different salts with high probability.
fn identity_salt(address: usize) -> u32 {
    let mut x = address as u64 ^ 0x5851_F42D_4C95_7F2D;
    x = (x ^ (x >> 33)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x = (x ^ (x >> 33)).wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    let salt = (x ^ (x >> 33)) as u32;
    if salt == VarId::INVALID.tag {
        1
    } else {
        salt
    }
}
