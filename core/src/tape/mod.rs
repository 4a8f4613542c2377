//! The reverse-mode tape: a Wengert list in caller memory. The model (sticky errors,
//! handles, memory) is documented on [`Tape`], the type users see.

mod backward;
mod compare;
mod cursor;
mod extension;
pub use backward::Gradients;
pub use compare::Cmp;
pub use cursor::RecordCursor;
pub use growth::{GrowFn, GrowthHooks, RecordGrowth};
mod forward;
mod growth;
mod hessian;
mod host_scratch;
mod identity;
mod lane_rows;
mod lanes;
mod mark;
mod memory;
mod record;
mod recording;
mod reentry;
mod restore;
mod scope;
mod second_order;
mod user_op;
mod var;
mod vector_forward;
mod vector_reverse;
mod vjp;
mod wide_constant;

pub(crate) use extension::{nothing_to_relocate, Extension, ExtensionHeader, ExtensionKind};
pub(crate) use identity::HandleKind;
pub(crate) use lanes::{check_len, product, Values};
pub(crate) use mark::RecordMark;
pub use record::MAX_RECORDS;
pub(crate) use restore::{record_kind, RecordKind};
pub use scope::MAX_BLOCK_DEPTH;
pub use user_op::{UserOp, UserOpPoint};
pub use var::{Var, VarId};

use crate::arena::{align_up, Arena};
use crate::error::{Error, Result};
use crate::op::Op;
use crate::real::Real;
use core::cell::Cell;
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::NonNull;
use growth::RecordBlock;
use host_scratch::{HostScratch, KEPT_SCRATCH_BLOCKS};
use record::Record;
use scope::Scopes;

/// A scalar handle whose tape and kind are known: what the recording hot path checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Local {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl Local {
    /// No generation issued it (generations start at 1).
    pub(crate) const NONE: Local = Local {
        index: u32::MAX,
        generation: 0,
    };
}

/// What the records' adjoint slots hold. Backward's adjoints and a tangent sweep's
/// tangents share them (and a rank-0 tensor's gradient and tangent are its record's
/// slot), so reading one kind after the other sweep ran is refused, not answered wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlotContent {
    /// Zeros: nothing swept since the recording, a replay or a reset.
    Nothing,
    /// Adjoints of the last backward (or vjp).
    Adjoints,
    /// Tangents of the last jvp.
    Tangents,
    /// Row indices of a planned vector forward sweep (`lane_rows.rs`).
    LaneRows(lane_rows::LaneRowsPlan),
}

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
/// A [`VarId`] carries the tape's identity (unique in the process, not derived from an
/// address), the generation that issued it, and its kind.
/// [`reset`](Tape::reset) starts a new generation, so a variable from before it is
/// reported as [`Error::StaleHandle`], one from another tape (or from a tape that once
/// lived in the same memory) as [`Error::ForeignHandle`], and a tensor handle posing as
/// a scalar as [`Error::WrongHandleKind`]. A checkpointed block's records live in a
/// generation of their own, so their handles are stale once the block ends.
///
/// What always holds: whatever its bits, a handle reaches only an existing record of its
/// kind on the tape it is used on, never other memory (the index is checked against the
/// records and the record's kind against the handle's). What holds until a counter
/// wraps: the errors above. Identities repeat after 2^32 − 1 tapes made in one process,
/// and a tape's generations after 2^32 − 1 resets and checkpointed blocks (each
/// recording or re-run of a block takes one), so a handle kept that long can be taken
/// for a live one and read that record's value.
///
/// # Threads
///
/// A tape is used from one thread at a time (it is `Send` but not `Sync`); separate
/// tapes are independent.
#[repr(C)]
pub struct Tape<'m, T: Real> {
    // The first eight fields are the record cursor, in this order (see `cursor.rs`): a
    // host's inline recording path reads and advances them.
    /// Start of the record array: at the arena's low end, or in a block the host's
    /// growth hooks handed in (see `growth.rs`).
    records: Cell<NonNull<Record<T>>>,
    len: Cell<u32>,
    /// How many records fit now. Zero while an error is pending, so that one comparison
    /// on the hot path catches both a full tape and an errored one.
    limit: Cell<u32>,
    /// The generation handles are issued in now: the innermost of `scopes`, kept in a
    /// cell of its own so that the hot path reads one word (see `refresh_generation`).
    generation: Cell<u32>,
    /// This tape's identity, unique in the process; every handle carries it.
    identity: u32,
    /// The next free slot of the wide-constant pool's current chunk, how many are left,
    /// and the next slot's reference as a record's second field (see `wide_constant.rs`).
    wide_next: Cell<*mut f64>,
    wide_left: Cell<u32>,
    wide_reference: Cell<u32>,
    arena: Arena<'m>,
    /// Byte offset of the records' home within the arena (where they live until growth
    /// moves them to a block of the host's).
    records_offset: usize,
    /// The host's growth hooks, if it registered any, and the block the records live
    /// in once they moved out of the arena (see `growth.rs`).
    growth: Cell<Option<GrowthHooks>>,
    record_block: Cell<Option<RecordBlock>>,
    /// Sweep-scratch blocks of the host's, kept for the next sweep (`host_scratch.rs`).
    kept_scratch: [Cell<Option<HostScratch>>; KEPT_SCRATCH_BLOCKS],
    /// The last constant recorded and its record, so a constant used over and over
    /// (`0.01 * x[i]` in a loop) takes one record, not one per use.
    last_constant: Cell<(T, VarId)>,
    /// The size of the wide-constant pool's next chunk.
    wide_chunk: Cell<u32>,
    /// Bytes at the top of the records' host block that hold wide constants (see
    /// `wide_constant.rs`); zero while the records live in the arena.
    block_constants: Cell<usize>,
    /// Number of `Input` records, in recording order.
    inputs: Cell<u32>,
    /// One past the last `Input` record, so reading input gradients scans only that far
    /// (inputs usually come first).
    inputs_end: Cell<u32>,
    /// The generations handles are issued in (resets and checkpointed blocks).
    scopes: Scopes,
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
    /// True while some call holds the layer state (see `with_layer_state`).
    layer_state_busy: Cell<bool>,
    /// True once an extension record is pushed; false again after reset.
    has_extension_records: Cell<bool>,
    /// Depth of checkpointed blocks being recorded again (see `begin_rerecording`).
    rerecording: Cell<u32>,
    /// Callbacks running on the tape now (see `enter_callback`).
    callbacks: Cell<u32>,
    /// How many of them let the records move (see `growth.rs`).
    growable_callbacks: Cell<u32>,
    /// What the adjoint slots hold now.
    slot_content: Cell<SlotContent>,
    /// Scratch regions open now (see `with_scratch`).
    scratch_open: Cell<u32>,
}

// SAFETY: the tape owns its records exclusively (through the arena's `&'m mut` borrow),
// and every `T: Real` is `Send`. What else the arena may hold is `Send` too: checkpointed
// blocks must be (`Tape::checkpoint` requires it), and attached devices are `Sync`
// (`attach_device`), or attached through `attach_local_device`, whose caller promises
// the tape stays on the device's thread. So moving the whole tape to another thread is
// sound. It is not `Sync`: its `Cell`s are mutated through `&self`.
unsafe impl<T: Real> Send for Tape<'_, T> {}

impl<'m, T: Real> Tape<'m, T> {
    /// A tape whose records and data live in `memory`. Fails only when `memory` cannot
    /// hold even one record.
    pub fn new(memory: &'m mut [MaybeUninit<u8>]) -> Result<Tape<'m, T>> {
        let address = memory.as_ptr() as usize;
        let arena = Arena::new(memory);
        let free = arena.free_bytes();
        let records_offset = align_up(address, align_of::<Record<T>>())
            .map(|aligned| aligned - address)
            .filter(|&offset| offset + size_of::<Record<T>>() <= free)
            .ok_or(Error::OutOfMemory {
                needed: size_of::<Record<T>>(),
                free,
            })?;
        let records = NonNull::new(arena.ptr_at(records_offset).cast::<Record<T>>())
            .ok_or(Error::InvalidArgument("memory is null"))?;
        let tape = Tape {
            arena,
            records: Cell::new(records),
            records_offset,
            growth: Cell::new(None),
            record_block: Cell::new(None),
            kept_scratch: [const { Cell::new(None) }; KEPT_SCRATCH_BLOCKS],
            len: Cell::new(0),
            limit: Cell::new(0),
            last_constant: Cell::new((T::zero(), VarId::INVALID)),
            wide_next: Cell::new(core::ptr::null_mut()),
            wide_left: Cell::new(0),
            wide_reference: Cell::new(0),
            wide_chunk: Cell::new(1),
            block_constants: Cell::new(0),
            inputs: Cell::new(0),
            inputs_end: Cell::new(0),
            identity: identity::next_identity(),
            scopes: Scopes::new(),
            generation: Cell::new(0),
            error: Cell::new(None),
            adjoints_dirty: Cell::new(false),
            persistent_high: Cell::new(0),
            reserved: Cell::new(0),
            layer_state: Cell::new(core::ptr::null_mut()),
            layer_state_busy: Cell::new(false),
            has_extension_records: Cell::new(false),
            rerecording: Cell::new(0),
            callbacks: Cell::new(0),
            growable_callbacks: Cell::new(0),
            slot_content: Cell::new(SlotContent::Nothing),
            scratch_open: Cell::new(0),
        };
        tape.persistent_high.set(tape.arena.high_offset());
        tape.refresh_generation();
        tape.refresh_limit();
        Ok(tape)
    }

    /// The arena's total size in bytes.
    pub fn capacity_bytes(&self) -> usize {
        self.arena.capacity()
    }

    /// Bytes in use: records plus everything at the high end (and the constants at the
    /// top of the records' host block, on a tape that grew).
    pub fn used_bytes(&self) -> usize {
        self.records_offset
            + self.len() * size_of::<Record<T>>()
            + (self.arena.capacity() - self.arena.high_offset())
            + self.block_constants.get()
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
    /// alignment is unknown. Count a constant that `f32` does not hold, used in `+ − × ÷`
    /// on an `f64` tape (or without tangents on a dual tape over `f64`), as a record
    /// too: it takes no record, but up to 16 bytes beside them (`wide_constant.rs`).
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
    ///
    /// Takes `&mut self`: nothing that borrows the tape (a [`Var`], a
    /// [`Gradients`] view, a checkpointed block or any callback running on the tape) can
    /// be alive while the memory it may point into is given back.
    pub fn reset(&mut self) {
        // SAFETY: `&mut self`: nothing else borrows the tape.
        unsafe { self.reset_unchecked() }
    }

    /// [`reset`](Tape::reset) through a shared borrow, for drivers that own the tape's
    /// use for the whole call (the chain drivers) and hosts that enforce the rule at
    /// run time (the C API, which refuses a reset while a callback runs).
    ///
    /// # Safety
    /// No reference into memory the reset gives back may be used afterwards, and no
    /// callback may be running on the tape.
    #[doc(hidden)]
    pub unsafe fn reset_unchecked(&self) {
        self.len.set(0);
        self.last_constant.set((T::zero(), VarId::INVALID));
        self.forget_wide_chunk();
        self.block_constants.set(0);
        self.inputs.set(0);
        self.inputs_end.set(0);
        self.error.set(None);
        self.adjoints_dirty.set(false);
        self.has_extension_records.set(false);
        self.rerecording.set(0);
        self.slot_content.set(SlotContent::Nothing);
        self.reserved.set(0);
        self.arena.set_low_offset(self.records_offset);
        self.arena.release_high_to(self.persistent_high.get());
        self.scopes.reset();
        self.refresh_generation();
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
        // The input's number rides in the record's free second word, so a backward
        // sweep can write each input's gradient where the caller wants it as it passes,
        // instead of scanning the tape for inputs afterwards (`gradient_into_as`).
        let id = self.push(Record::leaf(Op::Input, self.inputs.get(), value));
        if id.is_valid() {
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
        let id = self.push(Record::leaf(Op::Const, 0, value));
        self.last_constant.set((value, id));
        id
    }

    /// Records a unary op. `Powi` takes its exponent from [`powi_id`](Tape::powi_id);
    /// binary, leaf and tensor ops are rejected as an invalid argument.
    ///
    /// Inlined always: the C library's `ad_exp`, `ad_tanh`, ... each pass a constant
    /// `op`, and only inlined do the arity check and the value's dispatch on `op` fold
    /// away (out of line, this function was a tenth of GradBench lstm's retaping).
    #[inline(always)]
    pub fn unary_id(&self, op: Op, x: VarId) -> VarId {
        if op.arity() != crate::op::Arity::Unary || op == Op::Powi {
            return self.fail(Error::InvalidArgument("unary_id: not a unary op"));
        }
        self.record_unary(op, self.vouch(x), 0)
    }

    /// `x^n` for an integer `n`.
    #[inline]
    pub fn powi_id(&self, x: VarId, n: i32) -> VarId {
        self.record_unary(Op::Powi, self.vouch(x), n)
    }

    /// Records a binary op; non-binary ops are rejected as an invalid argument.
    #[inline]
    pub fn binary_id(&self, op: Op, a: VarId, b: VarId) -> VarId {
        if op.arity() != crate::op::Arity::Binary {
            return self.fail(Error::InvalidArgument("binary_id: not a binary op"));
        }
        self.record_binary(op, self.vouch(a), self.vouch(b))
    }

    /// `(op, a, b, value)` of scalar record `index`, for graph exports. An input's
    /// number (in its record's `b`) is the tape's bookkeeping, not part of the graph, so
    /// it reads as 0 here, as it did before inputs carried it: images and generated
    /// code stay the same, and inputs compare equal wherever else they would.
    pub(crate) fn scalar_record(&self, index: u32) -> Option<(Op, u32, u32, T)> {
        (index < self.len.get()).then(|| {
            let record = self.record(index);
            let op = record.op();
            let b = if op == Op::Input { 0 } else { record.b };
            (op, record.a(index), b, record.value)
        })
    }

    /// The value of a variable, or the reason it cannot be read.
    pub fn value(&self, x: VarId) -> Result<T> {
        self.check_handle(x)?;
        Ok(self.record(x.index).value)
    }

    /// The adjoint of `x` after [`backward`](Tape::backward): `∂output/∂x`. Fails with
    /// [`Error::InvalidArgument`] when the last sweep was [`jvp`](Tape::jvp), whose
    /// tangents share the adjoints' storage.
    pub fn grad(&self, x: VarId) -> Result<T> {
        self.read_slot(x, SlotContent::Adjoints)
    }

    /// The tangent of `x` after [`jvp`](Tape::jvp). Fails with
    /// [`Error::InvalidArgument`] when the last sweep was a backward, whose adjoints
    /// share the tangents' storage.
    pub fn tangent(&self, x: VarId) -> Result<T> {
        self.read_slot(x, SlotContent::Tangents)
    }

    fn read_slot(&self, x: VarId, want: SlotContent) -> Result<T> {
        self.status()?;
        self.check_handle(x)?;
        self.check_slots(want)?;
        Ok(self.record(x.index).adjoint)
    }

    /// Records what the adjoint slots hold from now on.
    pub(crate) fn slots_hold(&self, content: SlotContent) {
        self.slot_content.set(content);
    }

    /// Fails when the adjoint slots hold the other sweep's results than `want`.
    pub(crate) fn check_slots(&self, want: SlotContent) -> Result<()> {
        match (self.slot_content.get(), want) {
            (SlotContent::Tangents, SlotContent::Adjoints) => Err(Error::InvalidArgument(
                "gradients were asked for, but the last sweep was jvp (tangents and adjoints share storage): run backward again",
            )),
            (SlotContent::Adjoints, SlotContent::Tangents) => Err(Error::InvalidArgument(
                "tangents were asked for, but the last sweep was backward (tangents and adjoints share storage): run jvp again",
            )),
            (SlotContent::LaneRows(_), _) => Err(Error::InvalidArgument(
                "the last sweep was a planned forward_vector, which keeps its plan where adjoints and tangents live: run backward or jvp again",
            )),
            _ => Ok(()),
        }
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

    /// The tape's identity: unique in the process, stable across resets (handles to
    /// persistent data carry it).
    pub fn identity(&self) -> u32 {
        self.identity
    }

    /// A number that changes at every reset and only then.
    pub(crate) fn epoch(&self) -> u32 {
        self.scopes.epoch()
    }

    /// A live handle for record `index` (below `len`), of the generation that issued
    /// it: how a checkpointed segment names its inputs again when it re-runs its block.
    pub(crate) fn handle_at(&self, index: u32) -> VarId {
        VarId {
            index,
            kind: HandleKind::Scalar.code(),
            generation: self.scopes.generation_of(index),
            tape: self.identity,
        }
    }

    /// Offset of `ptr` from the arena's start, if it lies inside the arena.
    pub(crate) fn arena_offset(&self, ptr: *const u8) -> Option<usize> {
        let base = self.arena.ptr_at(0) as usize;
        let address = ptr as usize;
        (address >= base && address <= base + self.arena.capacity()).then(|| address - base)
    }

    /// Checks that `x` is a live handle of this tape of either kind, scalar or tensor:
    /// for calls that take any record (a checkpointed block's inputs and outputs).
    pub(crate) fn check_record_handle(&self, x: VarId) -> Result<()> {
        self.check_handle(self.scalar_handle(x))
    }

    /// `x` as a scalar handle, whatever its kind (the invalid handle stays invalid).
    pub(crate) fn scalar_handle(&self, x: VarId) -> VarId {
        match x.kind == HandleKind::Tensor.code() {
            true => VarId {
                kind: HandleKind::Scalar.code(),
                ..x
            },
            false => x,
        }
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
}
