//! `ad_tape_set_growth`: a host hands a full tape more memory for its records (see the
//! core's `Tape::set_growth`). The core keeps the hooks as two functions and a context;
//! here the context is the tape's header, which holds the C callbacks and their `user`
//! pointer and never moves.

use super::*;
use autodiff_core::GrowthHooks;

/// Asked for memory when the tape's records run out of room: returns a block of at
/// least `min_bytes` (ideally `wanted_bytes`, twice the records' current room) and
/// writes its size to `*got_bytes`, or returns NULL to refuse. Any alignment will do.
pub type ad_grow_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        min_bytes: usize,
        wanted_bytes: usize,
        got_bytes: *mut usize,
    ) -> *mut c_void,
>;

/// Gives back a block `ad_grow_fn` handed out, with the size it reported: the tape
/// moved its records to a bigger block, or was ended.
pub type ad_release_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, block: *mut c_void, bytes: usize)>;

/// The C callbacks, kept in the header.
#[derive(Clone, Copy)]
pub(crate) struct CGrowth {
    grow: unsafe extern "C" fn(*mut c_void, usize, usize, *mut usize) -> *mut c_void,
    release: unsafe extern "C" fn(*mut c_void, *mut c_void, usize),
    user: *mut c_void,
}

/// [`GrowthHooks::grow`] over the C callbacks in the header at `context`.
///
/// # Safety
/// `context` is a live tape's header, which a library call on the tape is using.
unsafe fn grow(
    context: *mut (),
    min_bytes: usize,
    wanted_bytes: usize,
) -> Option<(NonNull<u8>, usize)> {
    // SAFETY: the caller's contract; the call in progress holds only shared borrows.
    let header = unsafe { &*context.cast::<Header>() };
    let growth = header.growth.get()?;
    // Lent: a reset or an end inside the callback is refused (the core also marks
    // the tape as running a callback).
    let _lent = header.lend();
    let mut got = 0usize;
    // SAFETY: the host's callback, as registered; `got` is a valid out pointer.
    let block = unsafe { (growth.grow)(growth.user, min_bytes, wanted_bytes, &mut got) };
    let block = NonNull::new(block.cast::<u8>())?;
    // The core refuses a block that overlaps the arena or the records; the header, in
    // the caller's memory just before the arena, is this layer's to protect.
    let (start, header_start) = (block.as_ptr() as usize, context as usize);
    if start < header_start + size_of::<Header>() && header_start < start.saturating_add(got) {
        with_tape!(&header.tape, t => t.fail(Error::InvalidArgument(
            "growth: the block handed in overlaps the tape's memory",
        )));
        // SAFETY: the host's block, given straight back as the core gives back a bad one.
        unsafe { (growth.release)(growth.user, block.as_ptr().cast(), got) };
        return None;
    }
    Some((block, got))
}

/// [`GrowthHooks::release`] over the C callbacks in the header at `context`.
///
/// # Safety
/// `context` is a tape's header, possibly being dropped (when the tape ends): only the
/// `growth` and `lent` fields are used, through the raw pointer.
unsafe fn release(context: *mut (), block: NonNull<u8>, bytes: usize) {
    let header = context.cast::<Header>();
    // SAFETY: the caller's contract; the field is plain data that is never dropped.
    let growth = unsafe { (*ptr::addr_of!((*header).growth)).get() };
    if let Some(growth) = growth {
        // Lent, as in `grow`: the records are moving, and a reset or an end inside the
        // callback would pull the tape from under that. (When the tape ends, its header
        // is marked ended before it drops: calls inside find no live tape.)
        // SAFETY: as above; `lent` is a `Cell` that is never dropped either.
        let _lent = Lent::on(unsafe { &*ptr::addr_of!((*header).lent) });
        // SAFETY: the block came from this callback pair's `grow`, with this size.
        unsafe { (growth.release)(growth.user, block.as_ptr().cast(), bytes) };
    }
}

/// Lets the tape grow instead of failing with `AD_ERR_OUT_OF_MEMORY` when its records
/// fill the memory it was given: it calls `grow(user, min_bytes, wanted_bytes,
/// &got_bytes)` for a bigger block, moves its records there, and hands the block they
/// left to `release(user, block, bytes)` (the memory given to `ad_tape_init()` stays
/// the tape's: tensors, parameters and scratch keep living there). When the tape ends
/// (`ad_tape_done()`, `ad_tape_free()`), its last block goes to `release` too. Scratch a
/// sweep needs beyond the memory (the lanes of `ad_forward_vector()` and friends) comes
/// from `grow` as well; the tape keeps one such block for the next sweep, and gives it to
/// `release` when a sweep needs a bigger one or the tape ends. The library itself still
/// never allocates.
///
/// Backward, replay and checkpoints run as fast on a grown tape: its records stay one
/// array. Growing copies them (24 bytes each for `AD_F64`), and asks for twice the room
/// each time, so a recording of n records copies fewer than 2n in all. Records never
/// move inside a callback the tape runs (user ops, chain steps); a checkpointed block's
/// recording may grow the tape.
///
/// `grow` may return NULL to refuse: the op that needed room then fails with
/// `AD_ERR_OUT_OF_MEMORY`, as without growth. A block smaller than `min_bytes`, or one
/// that overlaps the tape's memory, fails the op with `AD_ERR_INVALID_ARGUMENT` and goes
/// straight back to `release`. Inside `grow` and `release`, the tape may not be reset or
/// ended (`AD_ERR_REENTRANT`; in the `release` of the tape's end, it has already ended:
/// `AD_ERR_INVALID_TAPE`), and anything `grow` or `release` records fails the tape.
///
/// Statuses: `AD_ERR_NULL` (`tape`, `grow` or `release`), `AD_ERR_INVALID_TAPE`,
/// `AD_ERR_REENTRANT` (inside a callback the tape runs), `AD_ERR_INVALID_ARGUMENT`
/// (the records already live in a block of earlier callbacks, which cannot change).
///
/// # Safety
/// `grow` must return blocks valid for at least the reported bytes, which nothing else
/// uses until they come back through `release` (or the tape's memory is never used
/// again); `user` is passed to both as is.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_set_growth(
    tape: *mut ad_tape,
    grow: ad_grow_fn,
    release: ad_release_fn,
    user: *mut c_void,
) -> ad_status {
    ffi_boundary!(ad_status::AD_ERR_PANIC, {
        let result = (|| -> Result<()> {
            let (grow, release) = match (grow, release) {
                (Some(grow), Some(release)) => (grow, release),
                (None, _) => return Err(Failure::Null("grow")),
                (_, None) => return Err(Failure::Null("release")),
            };
            // SAFETY: the caller's contract.
            let live = unsafe { header_exclusive(tape) }?;
            let hooks = GrowthHooks {
                grow: self::grow,
                release: self::release,
                context: tape.cast(),
            };
            // SAFETY: the header outlives the tape inside it and never moves; the
            // callbacks' contract is the caller's.
            with_tape!(&mut live.tape, t => unsafe { t.set_growth_hooks(hooks) })?;
            live.growth.set(Some(CGrowth {
                grow,
                release,
                user,
            }));
            Ok(())
        })();
        match result {
            Ok(()) => ad_status::AD_OK,
            Err(failure) => failure.status(),
        }
    })
}
