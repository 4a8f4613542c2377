//! A host for `ad_tape_set_growth` whose behaviour the sequence's bytes choose. It hands
//! out heap blocks of the size the tape would like, the least it needs, or between;
//! may refuse after a few blocks; may hand one bad block (smaller than asked for,
//! empty, inside the tape's own memory, or the block the records live in already); and
//! may, from inside either callback, try to reset, end, re-register or sweep its tape,
//! or record on it. Its ledger checks that every block comes back exactly once, with
//! its size, and that none is left out once the tape has ended.

use crate::{check, tracing};
use autodiff::derivatives::{ad_jvp, ad_replay};
use autodiff::error::ad_status::{self, *};
use autodiff::tape::*;
use autodiff::var::{ad_input, ad_sin};
use autodiff_fuzz::{BlockLedger, Bytes};
use core::ffi::c_void;
use core::ptr;

/// The most a host lends in one block: a larger wish is refused (the fuzzer's memory
/// limit is not the library's bug).
const MAX_BLOCK: usize = 1 << 24;

/// What size of block a cooperative host hands out.
#[derive(Clone, Copy, Debug)]
enum BlockSize {
    /// What the tape would like (twice its room).
    Wanted,
    /// The least it needs.
    Least,
    /// Between the two, at this fraction of 255.
    Between(u8),
}

/// A block that breaks the callback's contract in a way the tape must catch: refuse it
/// (`AD_ERR_INVALID_ARGUMENT`) and give it straight back.
#[derive(Clone, Copy, Debug)]
enum BadBlock {
    /// This many bytes fewer than the least asked for.
    Short(usize),
    /// A pointer with a size of zero.
    Empty,
    /// A block inside the memory the tape was made in, at this offset.
    InTapeMemory(usize),
    /// The block the records live in now (or, if there is none, a short one).
    Current,
}

/// A call on its own tape from inside a growth callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mischief {
    None,
    /// `ad_tape_reset`, `ad_tape_done`, `ad_tape_free`, `ad_tape_set_growth`: each must
    /// be refused (the tape stays live).
    Reset,
    Done,
    Free,
    Register,
    /// Records an input and an op on the tape.
    Record,
    /// `ad_jvp` and `ad_replay` on the tape.
    Sweep,
    /// Queries, which change nothing.
    Query,
}

fn mischief(b: &mut Bytes) -> Mischief {
    if !b.one_in(4) {
        return Mischief::None;
    }
    match b.u8() % 7 {
        0 => Mischief::Reset,
        1 => Mischief::Done,
        2 => Mischief::Free,
        3 => Mischief::Register,
        4 => Mischief::Record,
        5 => Mischief::Sweep,
        _ => Mischief::Query,
    }
}

pub struct GrowthHost {
    /// The tape it serves, once made.
    pub tape: *mut ad_tape,
    /// The memory the tape was made in, `(address, bytes)`.
    tape_memory: (usize, usize),
    size: BlockSize,
    /// Blocks to hand out before refusing every request; `None`: never refuses.
    blocks_left: Option<usize>,
    /// Which request (counting from 0) gets a bad block, and which.
    bad_block: Option<(usize, BadBlock)>,
    in_grow: Mischief,
    in_release: Mischief,
    requests: usize,
    /// The heap blocks it owns and has not got back.
    blocks: Vec<Vec<u8>>,
    ledger: BlockLedger,
    /// Set when the host refused, handed a bad block or made mischief (which fails the
    /// op that asked for memory) since the flag was last cleared.
    pub interfered: bool,
    /// Set while the sequence ends the tape: the tape's last block comes back then.
    pub ending: bool,
}

impl GrowthHost {
    /// A host whose behaviour `b` picks, for a tape made in `tape_memory`, `(address,
    /// bytes)`.
    pub fn new(b: &mut Bytes, tape_memory: (usize, usize)) -> GrowthHost {
        let size = match b.u8() % 4 {
            0 => BlockSize::Least,
            1 => BlockSize::Between(b.u8()),
            _ => BlockSize::Wanted,
        };
        let blocks_left = b.one_in(4).then(|| b.below(4));
        let bad_block = b.one_in(4).then(|| {
            let which = match b.u8() % 4 {
                0 => BadBlock::Short(1 + b.below(64)),
                1 => BadBlock::Empty,
                2 => BadBlock::InTapeMemory(b.u16() as usize),
                _ => BadBlock::Current,
            };
            (b.below(4), which)
        });
        let (in_grow, in_release) = (mischief(b), mischief(b));
        GrowthHost {
            tape: ptr::null_mut(),
            tape_memory,
            size,
            blocks_left,
            bad_block,
            in_grow,
            in_release,
            requests: 0,
            blocks: Vec::new(),
            ledger: BlockLedger::new(),
            interfered: false,
            ending: false,
        }
    }

    /// Registers this host's callbacks on `tape` (which need not be its tape: the
    /// sequence also tries pointers that are no tape).
    ///
    /// # Safety
    /// `host` lives until `tape` has ended (if the call succeeds), and `tape` is a
    /// pointer the sequence may pass to the library.
    pub unsafe fn register(host: *mut GrowthHost, tape: *mut ad_tape) -> ad_status {
        if tracing() {
            // SAFETY: forwarded.
            let h = unsafe { &*host };
            eprintln!(
                "  growth host: {:?} blocks, refusing after {:?}, bad block {:?}, \
                 mischief {:?} in grow and {:?} in release",
                h.size, h.blocks_left, h.bad_block, h.in_grow, h.in_release
            );
        }
        // SAFETY: forwarded.
        unsafe { ad_tape_set_growth(tape, Some(grow), Some(release), host.cast()) }
    }

    /// Blocks out now: one while the records live in a block of this host's.
    pub fn outstanding(&self) -> usize {
        self.ledger.outstanding()
    }

    /// Checks that every block came back, once the tape has ended (or the host was
    /// replaced before any records moved into its blocks).
    #[track_caller]
    pub fn assert_settled(&self, what: &str) {
        self.ledger.assert_settled(what);
    }

    /// The block for request `min_bytes`/`wanted_bytes`, as `(start, bytes)`, or `None`
    /// to refuse.
    fn hand_out(&mut self, min_bytes: usize, wanted_bytes: usize) -> Option<(*mut u8, usize)> {
        let request = self.requests;
        self.requests += 1;
        if let Some((_, bad)) = self.bad_block.filter(|&(at, _)| at == request) {
            self.interfered = true;
            return Some(self.bad(bad, min_bytes));
        }
        if self.blocks_left == Some(0) {
            self.interfered = true;
            return None;
        }
        let bytes = match self.size {
            BlockSize::Wanted => wanted_bytes,
            BlockSize::Least => min_bytes,
            BlockSize::Between(k) => {
                min_bytes + ((wanted_bytes - min_bytes) as u128 * k as u128 / 255) as usize
            }
        };
        if bytes > MAX_BLOCK {
            self.interfered = true;
            return None;
        }
        if let Some(left) = self.blocks_left.as_mut() {
            *left -= 1;
        }
        Some(self.allocate(bytes))
    }

    /// A heap block of `bytes` (its size as reported: the allocation has at least one
    /// byte, so that its address is its own).
    fn allocate(&mut self, bytes: usize) -> (*mut u8, usize) {
        let mut block = vec![0xa5u8; bytes.max(1)];
        let start = block.as_mut_ptr();
        self.blocks.push(block);
        (start, bytes)
    }

    fn bad(&mut self, bad: BadBlock, min_bytes: usize) -> (*mut u8, usize) {
        match bad {
            BadBlock::Short(by) => self.allocate(min_bytes.saturating_sub(by)),
            BadBlock::Empty => self.allocate(0),
            BadBlock::InTapeMemory(offset) => {
                let (start, bytes) = self.tape_memory;
                ((start + offset % bytes.max(1)) as *mut u8, min_bytes)
            }
            BadBlock::Current => match self.blocks.last_mut() {
                Some(block) => (block.as_mut_ptr(), block.len()),
                None => self.allocate(min_bytes.saturating_sub(1)),
            },
        }
    }

    /// Gives back the heap block at `start`, unless it is none of this host's (a block
    /// inside the tape's memory).
    fn free(&mut self, start: usize) {
        self.blocks.retain(|block| block.as_ptr() as usize != start);
    }

    /// Makes `mischief` on the tape from inside a callback (`what` names it).
    unsafe fn make(&mut self, mischief: Mischief, what: &str) {
        let tape = self.tape;
        if mischief == Mischief::None || tape.is_null() {
            return;
        }
        if tracing() {
            eprintln!("  growth host: {mischief:?} inside {what}");
        }
        if mischief != Mischief::Query {
            self.interfered = true;
        }
        let refused = |status: ad_status, call: &str| {
            assert_ne!(check(status), AD_OK, "{call} inside {what} was accepted");
        };
        // SAFETY: `tape` is the tape running this callback; the library decides what
        // it accepts from inside one.
        unsafe {
            match mischief {
                Mischief::None => {}
                Mischief::Reset => refused(ad_tape_reset(tape), "ad_tape_reset"),
                Mischief::Done => refused(ad_tape_done(tape), "ad_tape_done"),
                Mischief::Free => ad_tape_free(tape),
                Mischief::Register => refused(
                    GrowthHost::register(self as *mut GrowthHost, tape),
                    "ad_tape_set_growth",
                ),
                Mischief::Record => {
                    let x = ad_input(tape, 0.5);
                    ad_sin(tape, x);
                }
                Mischief::Sweep => {
                    check(ad_jvp(tape, ptr::null(), 0));
                    check(ad_replay(tape, ptr::null(), 0));
                }
                Mischief::Query => {
                    let mut n = 0usize;
                    check(ad_tape_len(tape, &mut n));
                    check(ad_tape_bytes_used(tape, &mut n));
                    check(ad_tape_status(tape));
                }
            }
            // Whatever was tried, the tape is still there (unless it is being ended).
            if !self.ending {
                let mut n = 0usize;
                assert_ne!(
                    check(ad_tape_len(tape, &mut n)),
                    AD_ERR_INVALID_TAPE,
                    "{mischief:?} inside {what} ended the tape"
                );
            }
        }
    }
}

/// `ad_grow_fn` for a [`GrowthHost`].
unsafe extern "C" fn grow(
    user: *mut c_void,
    min_bytes: usize,
    wanted_bytes: usize,
    got_bytes: *mut usize,
) -> *mut c_void {
    // SAFETY: `user` is the host `register` passed, alive while its tape is.
    let host = unsafe { &mut *user.cast::<GrowthHost>() };
    assert!(
        min_bytes <= wanted_bytes,
        "the tape wants {wanted_bytes} bytes, below its minimum {min_bytes}"
    );
    assert!(!got_bytes.is_null());
    // SAFETY: as above.
    unsafe { host.make(host.in_grow, "the grow callback") };
    let block = host.hand_out(min_bytes, wanted_bytes);
    if tracing() {
        eprintln!("  growth host: grow({min_bytes}, {wanted_bytes}) -> {block:?}");
    }
    match block {
        Some((start, bytes)) => {
            host.ledger.hand(start as usize, bytes);
            // SAFETY: the library's out-parameter.
            unsafe { got_bytes.write(bytes) };
            start.cast()
        }
        None => ptr::null_mut(),
    }
}

/// `ad_release_fn` for a [`GrowthHost`].
unsafe extern "C" fn release(user: *mut c_void, block: *mut c_void, bytes: usize) {
    // SAFETY: `user` is the host `register` passed, alive while its tape is.
    let host = unsafe { &mut *user.cast::<GrowthHost>() };
    if tracing() {
        eprintln!("  growth host: release({block:?}, {bytes})");
    }
    // The block is still the host's to free (after the mischief, which may touch it).
    // SAFETY: as above.
    unsafe { host.make(host.in_release, "the release callback") };
    if host.ledger.take_back(block as usize, bytes) {
        host.free(block as usize);
    }
}
