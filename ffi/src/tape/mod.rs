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
    /// The tape's record cursor, which `autodiff_inline.h` records through (see
    /// `autodiff_core::RecordCursor`); null when the tape offers none (not `f64`, an
    /// AddressSanitizer build) or a caught panic poisoned it.
    cursor: Cell<*const autodiff_core::RecordCursor>,
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
    pub(crate) devices: crate::device_object::Attachments,
    /// The host's growth callbacks (`ad_tape_set_growth`), which the core tape's
    /// growth hooks call with this header as their context.
    growth: Cell<Option<growth::CGrowth>>,
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
        self.refresh_cursor();
        Ok(())
    }

    /// Offers the tape's record cursor to inline recording, unless the tape is poisoned.
    pub(crate) fn refresh_cursor(&self) {
        let cursor = match &self.tape {
            AnyTape::F64(t) if !self.poisoned.get() => t.record_cursor(),
            _ => None,
        };
        self.cursor
            .set(cursor.map_or(ptr::null(), |c| c.as_ptr().cast_const()));
    }

    /// Marks the tape as lent to a C callback until the guard drops: meanwhile
    /// `ad_tape_reset()` and `ad_tape_done()`/`ad_tape_free()` refuse.
    pub fn lend(&self) -> Lent<'_> {
        Lent::on(&self.lent)
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
pub struct Lent<'h>(&'h Cell<u32>);

impl<'h> Lent<'h> {
    /// Lends the tape whose header's `lent` counter this is.
    fn on(lent: &'h Cell<u32>) -> Lent<'h> {
        lent.set(lent.get().saturating_add(1));
        Lent(lent)
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
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
        header.refresh_cursor();
    }
}

/// Whether a panic was caught while the tape was in use.
impl Header {
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.get()
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

mod growth;
pub use growth::{ad_grow_fn, ad_release_fn, ad_tape_set_growth};
mod inline_abi;
mod lifecycle;
pub use lifecycle::{
    ad_tape_bytes_for, ad_tape_done, ad_tape_free, ad_tape_init, ad_tape_new, ad_tape_reset,
};
mod queries;
pub use queries::{
    ad_tape_bytes_used, ad_tape_error, ad_tape_len, ad_tape_num_inputs, ad_tape_status,
};
