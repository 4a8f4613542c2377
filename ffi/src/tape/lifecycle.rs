//! A tape's life: sizing its memory, making it in caller or heap memory, resetting
//! it, and ending it.

use super::*;

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
            cursor: Cell::new(core::ptr::null()),
            tape,
            heap,
            last: Cell::new(None),
            poisoned: Cell::new(false),
            boundary: Cell::new(None),
            message: UnsafeCell::new([0; MESSAGE_LEN]),
            lent: Cell::new(0),
            devices: Default::default(),
            growth: Cell::new(None),
        });
        // The header is in place now (it never moves), so the cursor's address is final.
        (*header).refresh_cursor();
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
    // SAFETY: a live header, which no reference outlives past this call. It is marked
    // ended before it drops: dropping the tape gives its records' block to the host's
    // release callback, and a call on the tape from there must find no live tape.
    unsafe {
        ptr::addr_of_mut!((*header).magic).write(Cell::new(ENDED));
        ptr::drop_in_place(header);
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
/// that memory, into `*bytes_out`. Count a constant that `float` does not hold, given to
/// `ad_add_const()` and friends on an `AD_F64` tape, as a variable too: it takes no
/// record, but up to 16 bytes beside them. `ad_jacobian_fwd()` and the conversions of an `AD_F32`
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
