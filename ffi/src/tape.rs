//! `ad_tape`: a reverse-mode tape whose header and records live in memory the caller
//! chooses.
//!
//! Layout of the memory given to `ad_tape_init()`: padding up to the header's alignment,
//! the [`Header`] (the core `Tape`, the dtype, the error-message buffer), then the arena
//! that holds the records. `ad_tape*` points at the header, so a tape needs no heap.

use crate::error::{ad_status, Failure, Result};
use autodiff_core::{Dual, Error, Tape};
use core::cell::{Cell, UnsafeCell};
use core::ffi::{c_char, c_int, c_void};
use core::fmt::Write;
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::{self, NonNull};

/// A tape. Opaque: C code only ever holds an `ad_tape*` made by `ad_tape_init()` or
/// `ad_tape_new()`.
pub struct ad_tape {
    _private: [u8; 0],
}

/// The element type a tape computes in. Values and derivatives cross the C API as
/// `double` whatever the dtype; an `AD_F32` tape rounds them on the way in.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ad_dtype {
    /// 32-bit floats.
    AD_F32 = 1,
    /// 64-bit floats.
    AD_F64 = 2,
    /// Dual numbers over 64-bit floats, for Hessian-vector products (`ad_hvp()`). Every
    /// other call treats the tape like an `AD_F64` one: values and derivatives read back
    /// are the primal parts.
    AD_F64_DUAL = 3,
}

/// Receives an `ad_dtype` from C. Any `int` is safe to pass: an unknown value is
/// reported as `AD_ERR_INVALID_ARGUMENT`, which a Rust enum parameter could not do.
/// cbindgen:ignore
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct DtypeArg(pub c_int);

impl DtypeArg {
    pub(crate) fn get(self) -> Result<ad_dtype> {
        match self.0 {
            1 => Ok(ad_dtype::AD_F32),
            2 => Ok(ad_dtype::AD_F64),
            3 => Ok(ad_dtype::AD_F64_DUAL),
            _ => Err(Error::InvalidArgument("unknown dtype").into()),
        }
    }
}

/// The core tape, one variant per dtype.
pub enum AnyTape {
    F32(Tape<'static, f32>),
    F64(Tape<'static, f64>),
    F64Dual(Tape<'static, Dual<f64>>),
}

/// Runs `$body` with `$t` bound to the typed core tape inside an [`AnyTape`], whatever
/// its dtype: one generic body serves every dtype.
macro_rules! with_tape {
    ($any:expr, $t:ident => $body:expr) => {
        match $any {
            $crate::tape::AnyTape::F32($t) => $body,
            $crate::tape::AnyTape::F64($t) => $body,
            $crate::tape::AnyTape::F64Dual($t) => $body,
        }
    };
}

/// `Header::magic` of a live tape ("adtape!1").
const LIVE: u64 = 0x6164_7461_7065_2131;
/// `Header::magic` after `ad_tape_done()`.
const ENDED: u64 = 0x6164_656e_6465_6421;
/// Bytes of the error-message buffer, NUL included.
const MESSAGE_LEN: usize = 256;

/// What `ad_tape*` points at. `magic` comes first so that it can be checked before
/// anything else is read.
#[repr(C)]
pub struct Header {
    magic: Cell<u64>,
    pub tape: AnyTape,
    /// The allocation to give back, for tapes made by `ad_tape_new()`.
    heap: Option<(NonNull<u8>, usize)>,
    /// The failure of the latest failed call since the last reset.
    last: Cell<Option<Failure>>,
    /// A panic was caught while this tape was in use; its state is not trusted until a
    /// reset.
    poisoned: Cell<bool>,
    /// The failure the boundary detected in a recording op (a NULL or misaligned pointer)
    /// that made the core tape sticky with [`BOUNDARY_STICKY`]: reported in its place.
    boundary: Cell<Option<Failure>>,
    message: UnsafeCell<[u8; MESSAGE_LEN]>,
    /// C callbacks (checkpoint blocks, chain steps) running on this tape now; while
    /// any runs, the tape must not be reset or ended under the core code that called it.
    lent: Cell<u32>,
    /// The devices attached to the tape, held (not closable) until it ends.
    pub(crate) devices: crate::compute_device::Attachments,
}

/// The core error that stands for a failure only the boundary can name (see
/// [`Header::fail_op`]).
const BOUNDARY_STICKY: Error = Error::InvalidArgument("invalid pointer argument to an op");

impl Header {
    /// The failure `ad_tape_error()` describes: a caught panic, else the tape's sticky
    /// error, else the latest failed call.
    fn failure(&self) -> Option<Failure> {
        if self.poisoned.get() {
            return Some(Failure::Panic);
        }
        self.sticky().or(self.last.get())
    }

    /// The tape's sticky error, as the boundary reports it.
    fn sticky(&self) -> Option<Failure> {
        let sticky = with_tape!(&self.tape, t => t.status());
        sticky
            .err()
            .map(|error| self.translate(Failure::Core(error)))
    }

    /// `failure`, or the boundary's own failure when `failure` is the core's stand-in
    /// for it.
    fn translate(&self, failure: Failure) -> Failure {
        match (failure, self.boundary.get()) {
            (Failure::Core(error), Some(boundary)) if error == BOUNDARY_STICKY => boundary,
            _ => failure,
        }
    }

    /// Makes a recording op's failure the tape's sticky error (unless it already has
    /// one), as the core does for its own failures. A failure the core has no error for
    /// (a NULL pointer) is kept here and stands behind `BOUNDARY_STICKY` in the core.
    pub fn fail_op(&self, failure: Failure) {
        let core = match failure {
            Failure::Core(error) => error,
            _ => {
                if with_tape!(&self.tape, t => t.status()).is_ok() {
                    self.boundary.set(Some(failure));
                }
                BOUNDARY_STICKY
            }
        };
        with_tape!(&self.tape, t => t.fail(core));
    }

    fn reset(&mut self) -> Result<()> {
        with_tape!(&mut self.tape, t => t.reset());
        self.last.set(None);
        self.boundary.set(None);
        self.poisoned.set(false);
        Ok(())
    }

    /// Marks the tape as lent to a C callback until the guard drops: meanwhile
    /// `ad_tape_reset()` and `ad_tape_done()`/`ad_tape_free()` refuse.
    pub fn lend(&self) -> Lent<'_> {
        self.lent.set(self.lent.get().saturating_add(1));
        Lent(self)
    }

    /// Fails, and fails the tape (sticky), while a callback holds it.
    fn refuse_if_lent(&self) -> Result<()> {
        if self.lent.get() == 0 {
            return Ok(());
        }
        let error = Error::Reentrant(
            "a tape cannot be reset or ended inside a callback that records on it",
        );
        with_tape!(&self.tape, t => t.fail(error));
        self.last.set(Some(error.into()));
        Err(error.into())
    }
}

/// The loan [`Header::lend`] makes; ends when dropped (also when unwinding).
pub struct Lent<'h>(&'h Header);

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        self.0.lent.set(self.0.lent.get().saturating_sub(1));
    }
}

/// The header behind `tape`, after checking that it is a live tape.
///
/// # Safety
/// A non-null, aligned `tape` must address at least `size_of::<Header>()` readable
/// bytes: a tape pointer, live or ended (the magic number tells which, best effort).
pub unsafe fn header<'a>(tape: *const ad_tape) -> Result<&'a Header> {
    let header = tape.cast::<Header>();
    if header.is_null() {
        return Err(Failure::Null("tape"));
    }
    if !(header as usize).is_multiple_of(align_of::<Header>()) {
        return Err(Failure::InvalidTape);
    }
    // SAFETY: non-null and aligned, and `magic` is the first field of a `repr(C)` struct;
    // the caller vouches for the bytes.
    let magic = unsafe { ptr::read_volatile(ptr::addr_of!((*header).magic).cast::<u64>()) };
    if magic != LIVE {
        return Err(Failure::InvalidTape);
    }
    // SAFETY: the magic number says `ad_tape_init` wrote a header here.
    Ok(unsafe { &*header })
}

/// The header behind `tape`, for a call that gives back the tape's memory (a reset, the
/// end): checks that it is live and that no callback is running on it (which would be
/// using that memory under the call), then lends it exclusively.
///
/// # Safety
/// As for [`header`]; and, the C API's thread model, no other thread uses the tape.
pub unsafe fn header_exclusive<'a>(tape: *mut ad_tape) -> Result<&'a mut Header> {
    // SAFETY: forwarded.
    unsafe { header(tape) }?.refuse_if_lent()?;
    // SAFETY: live (checked), and with no callback running no Rust frame holds a
    // reference to the header: every other entry point's borrow ended when it returned.
    Ok(unsafe { &mut *tape.cast::<Header>() })
}

/// Runs `f` on a live, unpoisoned tape and turns the result into a status, keeping the
/// failure for `ad_tape_error()`. A panic poisons the tape.
///
/// # Safety
/// As for [`header`].
pub unsafe fn call(tape: *const ad_tape, f: impl FnOnce(&Header) -> Result<()>) -> ad_status {
    let run = || -> Result<()> {
        // SAFETY: forwarded from the caller.
        let header = unsafe { header(tape) }?;
        if header.poisoned.get() {
            return Err(Failure::Panic);
        }
        let result = f(header).map_err(|failure| header.translate(failure));
        if let Err(failure) = result {
            header.last.set(Some(failure));
        }
        result
    };
    let result = ffi_boundary!(
        {
            // SAFETY: forwarded from the caller.
            unsafe { poison(tape) };
            Err(Failure::Panic)
        },
        { run() }
    );
    match result {
        Ok(()) => ad_status::AD_OK,
        Err(failure) => failure.status(),
    }
}

/// Marks a live tape as poisoned after a caught panic: it refuses work until a reset.
///
/// # Safety
/// As for [`header`].
pub unsafe fn poison(tape: *const ad_tape) {
    // SAFETY: forwarded from the caller.
    if let Ok(header) = unsafe { header(tape) } {
        header.poisoned.set(true);
    }
}

/// Whether a panic was caught while the tape was in use.
impl Header {
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.get()
    }
}

/// `ad_tape_init()` for both caller and heap memory.
///
/// # Safety
/// `mem` must be valid for `len` bytes; `tape_out`, when non-null, for one write.
unsafe fn init(
    mem: *mut c_void,
    len: usize,
    dtype: DtypeArg,
    heap: Option<(NonNull<u8>, usize)>,
    tape_out: *mut *mut ad_tape,
) -> Result<()> {
    // SAFETY: forwarded from the caller.
    let tape_out = unsafe { crate::ptr::out(tape_out, "tape_out") }?;
    if mem.is_null() {
        return Err(Failure::Null("mem"));
    }
    let dtype = dtype.get()?;
    let base = mem as usize;
    base.checked_add(len).ok_or(Error::SizeOverflow)?;
    let padding = base.next_multiple_of(align_of::<Header>()) - base;
    let arena_start = padding + size_of::<Header>();
    if arena_start > len {
        return Err(Error::OutOfMemory {
            needed: arena_start,
            free: len,
        }
        .into());
    }
    // SAFETY: `arena_start <= len`, so the arena is the tail of the caller's memory,
    // disjoint from the header. `'static` stands for "until ad_tape_done", which the
    // caller promises by the header's contract.
    let arena: &'static mut [MaybeUninit<u8>] = unsafe {
        core::slice::from_raw_parts_mut(
            mem.cast::<MaybeUninit<u8>>().add(arena_start),
            len - arena_start,
        )
    };
    let tape = match dtype {
        ad_dtype::AD_F32 => AnyTape::F32(Tape::new(arena)?),
        ad_dtype::AD_F64 => AnyTape::F64(Tape::new(arena)?),
        ad_dtype::AD_F64_DUAL => AnyTape::F64Dual(Tape::new(arena)?),
    };
    // SAFETY: `padding` aligns the header, and it fits before `arena_start <= len`.
    let header = unsafe { mem.cast::<u8>().add(padding).cast::<Header>() };
    // SAFETY: as above; the bytes are the caller's and unused.
    unsafe {
        header.write(Header {
            magic: Cell::new(LIVE),
            tape,
            heap,
            last: Cell::new(None),
            poisoned: Cell::new(false),
            boundary: Cell::new(None),
            message: UnsafeCell::new([0; MESSAGE_LEN]),
            lent: Cell::new(0),
            devices: Default::default(),
        })
    };
    *tape_out = header.cast();
    Ok(())
}

/// Turns the result of a call that has no tape yet into a status.
fn status_of(result: Result<()>) -> ad_status {
    match result {
        Ok(()) => ad_status::AD_OK,
        Err(failure) => failure.status(),
    }
}

/// Starts a tape in the `len` bytes at `mem`, which the caller owns and keeps valid (and
/// otherwise untouched) until `ad_tape_done()`. No heap is used, ever: the tape's header,
/// its records and its scratch space all live in `mem`.
///
/// `mem` needs no particular alignment: the tape aligns inside it, which costs a few
/// bytes. `ad_tape_bytes_for()` tells how many bytes hold a given number of variables.
/// On success writes the tape to `*tape_out`.
///
/// Statuses: `AD_ERR_NULL` (`mem` or `tape_out`), `AD_ERR_MISALIGNED` (`tape_out`),
/// `AD_ERR_INVALID_ARGUMENT` (an unknown dtype), `AD_ERR_OUT_OF_MEMORY` (`len` cannot hold
/// the header and one variable, `len == 0` included), `AD_ERR_SIZE_OVERFLOW` (`mem + len`
/// wraps around the address space).
#[no_mangle]
pub unsafe extern "C" fn ad_tape_init(
    mem: *mut c_void,
    len: usize,
    dtype: DtypeArg,
    tape_out: *mut *mut ad_tape,
) -> ad_status {
    // SAFETY: the caller's contract.
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of(unsafe { init(mem, len, dtype, None, tape_out) })
    })
}

/// Ends a tape made by `ad_tape_init()`. Afterwards the memory is the caller's again,
/// and using the tape is reported as `AD_ERR_INVALID_TAPE` for as long as that memory is
/// left unchanged (best effort). A tape made by `ad_tape_new()` is freed, as by
/// `ad_tape_free()`.
///
/// Statuses: `AD_ERR_NULL`, `AD_ERR_INVALID_TAPE` (not a live tape: e.g. ended twice),
/// `AD_ERR_REENTRANT` (inside a callback the tape is running, a checkpoint block or
/// chain step: the tape stays live and keeps that error).
#[no_mangle]
pub unsafe extern "C" fn ad_tape_done(tape: *mut ad_tape) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        status_of(unsafe { end(tape) })
    })
}

/// Ends the tape at `tape` and frees its memory if the tape owns it.
///
/// # Safety
/// As for [`header`].
unsafe fn end(tape: *mut ad_tape) -> Result<()> {
    // SAFETY: forwarded.
    let live = unsafe { header_exclusive(tape) }?;
    // Its devices may serve another tape from now on.
    match &mut live.tape {
        AnyTape::F32(t) => t.release_devices(),
        AnyTape::F64(t) => t.release_devices(),
        AnyTape::F64Dual(_) => {}
    }
    let heap = live.heap;
    let header = tape.cast::<Header>();
    // SAFETY: a live header, which no reference outlives past this call.
    unsafe {
        ptr::drop_in_place(header);
        ptr::addr_of_mut!((*header).magic).write(Cell::new(ENDED));
    }
    if let Some((memory, size)) = heap {
        // SAFETY: `ad_tape_new` allocated exactly this block with this layout.
        unsafe {
            std::alloc::dealloc(
                memory.as_ptr(),
                std::alloc::Layout::from_size_align_unchecked(size, align_of::<Header>()),
            )
        };
    }
    Ok(())
}

/// Heap convenience: allocates `bytes` bytes with the system allocator and starts a tape
/// in them, as `ad_tape_init()` would. The tape owns that memory; release it with
/// `ad_tape_free()`.
///
/// Statuses: `AD_ERR_NULL` (`tape_out`), `AD_ERR_MISALIGNED` (`tape_out`),
/// `AD_ERR_INVALID_ARGUMENT` (an unknown dtype), `AD_ERR_OUT_OF_MEMORY` (`bytes` cannot
/// hold the header and one variable, or the allocation fails), `AD_ERR_SIZE_OVERFLOW`
/// (`bytes` is no valid allocation size).
#[no_mangle]
pub unsafe extern "C" fn ad_tape_new(
    bytes: usize,
    dtype: DtypeArg,
    tape_out: *mut *mut ad_tape,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of((|| {
            // SAFETY: the caller's contract; checked before anything is allocated.
            unsafe { crate::ptr::out(tape_out, "tape_out") }?;
            dtype.get()?;
            let layout = std::alloc::Layout::from_size_align(bytes, align_of::<Header>())
                .map_err(|_| Error::SizeOverflow)?;
            if bytes < size_of::<Header>() {
                return Err(Error::OutOfMemory {
                    needed: size_of::<Header>(),
                    free: bytes,
                }
                .into());
            }
            // SAFETY: `layout` has a non-zero size.
            let memory =
                NonNull::new(unsafe { std::alloc::alloc(layout) }).ok_or(Error::OutOfMemory {
                    needed: bytes,
                    free: 0,
                })?;
            let heap = Some((memory, bytes));
            // SAFETY: `memory` holds `bytes` bytes that only this tape will use.
            let result = unsafe { init(memory.as_ptr().cast(), bytes, dtype, heap, tape_out) };
            if result.is_err() {
                // SAFETY: allocated just above with `layout`, and not handed out.
                unsafe { std::alloc::dealloc(memory.as_ptr(), layout) };
            }
            result
        })())
    })
}

/// Ends a tape made by `ad_tape_new()` and frees its memory. `ad_tape_free(NULL)` does
/// nothing, and so does a tape that is not live; a tape made by `ad_tape_init()` is ended
/// as by `ad_tape_done()`. Inside a callback the tape is running it does nothing but fail
/// the tape (`AD_ERR_INVALID_ARGUMENT`), as `ad_tape_done()`. Returns nothing.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_free(tape: *mut ad_tape) {
    ffi_boundary!((), {
        if !tape.is_null() {
            // SAFETY: the caller's contract. Nothing to report to a `void` function.
            let _ = unsafe { end(tape) };
        }
    })
}

/// The bytes of memory that `ad_tape_init()` needs for a tape of `dtype` that holds
/// `records` variables (inputs, constants and op results), whatever the alignment of
/// that memory, into `*bytes_out`. `ad_jacobian_fwd()` and the conversions of an `AD_F32`
/// tape need scratch beyond this: see their documentation.
///
/// Statuses: `AD_ERR_NULL` (`bytes_out`), `AD_ERR_MISALIGNED` (`bytes_out`),
/// `AD_ERR_INVALID_ARGUMENT` (an unknown dtype), `AD_ERR_SIZE_OVERFLOW` (the count does not
/// fit in `size_t`).
#[no_mangle]
pub unsafe extern "C" fn ad_tape_bytes_for(
    records: usize,
    dtype: DtypeArg,
    bytes_out: *mut usize,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        status_of((|| {
            // SAFETY: the caller's contract.
            let bytes_out = unsafe { crate::ptr::out(bytes_out, "bytes_out") }?;
            let records_bytes = match dtype.get()? {
                ad_dtype::AD_F32 => Tape::<f32>::bytes_for_records(records),
                ad_dtype::AD_F64 => Tape::<f64>::bytes_for_records(records),
                ad_dtype::AD_F64_DUAL => Tape::<Dual<f64>>::bytes_for_records(records),
            };
            let overhead = size_of::<Header>() + align_of::<Header>() - 1;
            *bytes_out = records_bytes
                .and_then(|bytes| bytes.checked_add(overhead))
                .ok_or(Error::SizeOverflow)?;
            Ok(())
        })())
    })
}

/// Clears every variable, the tape's error, a caught panic and the latest failure,
/// keeping the memory (and the parameters, the optimizer and the attached devices).
/// Variables and tensors from before are stale from now on (using one is
/// `AD_ERR_STALE_HANDLE`).
///
/// Statuses: `AD_ERR_NULL`, `AD_ERR_INVALID_TAPE`, `AD_ERR_REENTRANT` (inside a callback
/// the tape is running, a checkpoint block or chain step, which it refuses to reset under
/// the code that called it: the tape then keeps that error).
#[no_mangle]
pub unsafe extern "C" fn ad_tape_reset(tape: *mut ad_tape) -> ad_status {
    // A reset is what clears a caught panic, so it goes around `call`'s poison check.
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        status_of(unsafe { header_exclusive(tape) }.and_then(Header::reset))
    })
}

/// The tape's sticky error: `AD_OK` while every op so far succeeded, otherwise the
/// status of the first op that failed (later ops record nothing and return an invalid
/// handle); each op's "Sticky errors" list what that can be.
///
/// Statuses: the tape's sticky error, `AD_ERR_PANIC` (after a caught panic, until
/// `ad_tape_reset()`), `AD_ERR_NULL`, `AD_ERR_INVALID_TAPE`.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_status(tape: *const ad_tape) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        // SAFETY: the caller's contract.
        match unsafe { header(tape) } {
            Err(failure) => failure.status(),
            Ok(header) if header.poisoned.get() => ad_status::AD_ERR_PANIC,
            Ok(header) => header.sticky().map_or(ad_status::AD_OK, Failure::status),
        }
    })
}

/// A message that explains the tape's failure: its sticky error if there is one,
/// otherwise the latest call on it that failed since the last reset, otherwise "no
/// error". Never NULL. The text lives in a buffer inside the tape (in the caller's
/// memory), which this call writes, hence the non-const tape: it stays valid until the next
/// `ad_tape_error()` on this tape or the tape's end. A NULL tape gives the static string
/// "null tape", one that is not live "not a live tape". Returns no status.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_error(tape: *mut ad_tape) -> *const c_char {
    ffi_boundary!(c"internal panic caught at the C boundary".as_ptr(), {
        // SAFETY: the caller's contract.
        match unsafe { header(tape) } {
            Err(Failure::Null(_)) => c"null tape".as_ptr(),
            Err(_) => c"not a live tape".as_ptr(),
            Ok(header) => match header.failure() {
                None => c"no error".as_ptr(),
                Some(failure) => {
                    // SAFETY: the buffer is only touched here, and the returned pointer
                    // is documented to die at the next call.
                    let buffer = unsafe { &mut *header.message.get() };
                    write_message(buffer, failure);
                    buffer.as_ptr().cast()
                }
            },
        }
    })
}

/// Formats `failure` into `buffer`, truncated at a character boundary, NUL-terminated.
fn write_message(buffer: &mut [u8; MESSAGE_LEN], failure: Failure) {
    struct Truncating<'b> {
        buffer: &'b mut [u8],
        len: usize,
    }
    impl Write for Truncating<'_> {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            let room = self.buffer.len() - 1 - self.len;
            let mut take = text.len().min(room);
            while !text.is_char_boundary(take) {
                take -= 1;
            }
            self.buffer[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
            self.len += take;
            Ok(())
        }
    }
    let mut writer = Truncating { buffer, len: 0 };
    // `Truncating` never fails, and nor do the `Display` impls it runs.
    let _ = write!(writer, "{failure}");
    let end = writer.len;
    buffer[end] = 0;
}

/// Reads one number about a live tape into `*out`.
///
/// # Safety
/// As for [`header`]; `out` as for [`crate::ptr::out`].
unsafe fn query(
    tape: *const ad_tape,
    out: *mut usize,
    name: &'static str,
    f: impl FnOnce(&AnyTape) -> usize,
) -> ad_status {
    // SAFETY: forwarded.
    unsafe {
        call(tape, |header| {
            let out = crate::ptr::out(out, name)?;
            *out = f(&header.tape);
            Ok(())
        })
    }
}

/// The number of inputs recorded, into `*count_out`: the length `ad_gradient()`,
/// `ad_jvp()` and `ad_replay()` expect. Answers on a tape with a sticky error too.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `count_out`), `AD_ERR_MISALIGNED` (`count_out`),
/// `AD_ERR_INVALID_TAPE`.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_num_inputs(
    tape: *const ad_tape,
    count_out: *mut usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        query(
            tape,
            count_out,
            "count_out",
            |any| with_tape!(any, t => t.num_inputs()),
        )
    }
}

/// The number of variables recorded (inputs, constants and op results), into
/// `*count_out`. Answers on a tape with a sticky error too.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `count_out`), `AD_ERR_MISALIGNED` (`count_out`),
/// `AD_ERR_INVALID_TAPE`.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_len(tape: *const ad_tape, count_out: *mut usize) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        query(
            tape,
            count_out,
            "count_out",
            |any| with_tape!(any, t => t.len()),
        )
    }
}

/// The bytes of the tape's arena in use, into `*bytes_out` (the header's own bytes are
/// not counted). Answers on a tape with a sticky error too.
///
/// Statuses: `AD_ERR_NULL` (`tape` or `bytes_out`), `AD_ERR_MISALIGNED` (`bytes_out`),
/// `AD_ERR_INVALID_TAPE`.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_bytes_used(
    tape: *const ad_tape,
    bytes_out: *mut usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        query(
            tape,
            bytes_out,
            "bytes_out",
            |any| with_tape!(any, t => t.used_bytes()),
        )
    }
}

/// Keeps generic helpers honest: every dtype's records start aligned right after the
/// header, which `ad_tape_bytes_for()` relies on.
const _: () = {
    assert!(align_of::<f32>() <= align_of::<Header>());
    assert!(align_of::<f64>() <= align_of::<Header>());
    assert!(align_of::<Dual<f64>>() <= align_of::<Header>());
    assert!(size_of::<Header>().is_multiple_of(align_of::<Header>()));
};
