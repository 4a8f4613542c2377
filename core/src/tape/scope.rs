//! Generations: the scopes in which handles are issued.
//!
//! Every `reset` opens a fresh outermost generation. Every checkpointed block, when it
//! is recorded (and again whenever a sweep re-runs it), opens a fresh inner generation
//! for the records it makes, and closes it when those records are dropped. A handle
//! carries the generation that issued it, so one made inside a block and kept outside
//! is stale as soon as the block ends, even after new records reuse its index.
//!
//! Generations are never reused by a tape until its `u32` counter wraps, after 2^32
//! resets and block runs.

use crate::error::{Error, Result};
use core::cell::Cell;

/// How deeply checkpointed blocks may nest while one of them is being recorded.
pub const MAX_BLOCK_DEPTH: usize = 32;

/// One open generation: the first record index it issued and its number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Scope {
    start: u32,
    generation: u32,
}

/// The stack of open generations; the last is the current one.
pub(crate) struct Scopes {
    /// Open scopes below the current one, outermost first.
    outer: [Cell<Scope>; MAX_BLOCK_DEPTH],
    depth: Cell<u32>,
    /// The current generation, and the first record index it issued.
    current: Cell<Scope>,
    /// Generations handed out so far; the next one is this plus one.
    issued: Cell<u32>,
}

/// The scope depth a block returns to when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScopeMark {
    depth: u32,
    generation: u32,
}

impl Scopes {
    pub(crate) fn new() -> Scopes {
        Scopes {
            outer: Default::default(),
            depth: Cell::new(0),
            current: Cell::new(Scope {
                start: 0,
                generation: 1,
            }),
            issued: Cell::new(1),
        }
    }

    /// The generation new handles carry.
    #[inline(always)]
    pub(crate) fn generation(&self) -> u32 {
        self.current.get().generation
    }

    /// The outermost generation: it changes at every reset and only then.
    pub(crate) fn epoch(&self) -> u32 {
        match self.depth.get() {
            0 => self.current.get().generation,
            _ => self.outer[0].get().generation,
        }
    }

    fn fresh(&self) -> u32 {
        // Generation 0 is never issued: the invalid handle carries it.
        let mut next = self.issued.get().wrapping_add(1);
        if next == 0 {
            next = 1;
        }
        self.issued.set(next);
        next
    }

    /// Closes every scope and opens a fresh outermost one.
    pub(crate) fn reset(&self) {
        self.depth.set(0);
        let generation = self.fresh();
        self.current.set(Scope {
            start: 0,
            generation,
        });
    }

    /// Opens a fresh generation for records from index `start` on.
    pub(crate) fn open(&self, start: u32) -> Result<ScopeMark> {
        let depth = self.depth.get();
        let slot = self
            .outer
            .get(depth as usize)
            .ok_or(Error::InvalidArgument(
                "checkpoint: blocks nested deeper than MAX_BLOCK_DEPTH (32)",
            ))?;
        let mark = ScopeMark {
            depth,
            generation: self.generation(),
        };
        slot.set(self.current.get());
        self.depth.set(depth + 1);
        let generation = self.fresh();
        self.current.set(Scope { start, generation });
        Ok(mark)
    }

    /// Closes the scopes opened since `mark`. A mark whose scope is no longer open (from
    /// before a reset) is ignored.
    pub(crate) fn close(&self, mark: ScopeMark) {
        let depth = self.depth.get();
        if mark.depth >= depth {
            return;
        }
        let scope = self.outer[mark.depth as usize].get();
        if scope.generation != mark.generation {
            return;
        }
        self.current.set(scope);
        self.depth.set(mark.depth);
    }

    /// True when `generation` issued record `index` and is still open. Only outer scopes
    /// are searched: the caller has already compared against the current one.
    #[cold]
    pub(crate) fn is_open_for(&self, generation: u32, index: u32) -> bool {
        let depth = self.depth.get() as usize;
        // Scope k issued the records from its start up to the start of scope k + 1.
        (0..depth).any(|k| {
            let scope = self.outer[k].get();
            let end = match self.outer.get(k + 1).filter(|_| k + 1 < depth) {
                Some(next) => next.get().start,
                None => self.current.get().start,
            };
            scope.generation == generation && index >= scope.start && index < end
        })
    }

    /// The generation that issued record `index`, which must be live: the innermost open
    /// scope that starts at or below it.
    pub(crate) fn generation_of(&self, index: u32) -> u32 {
        let current = self.current.get();
        if index >= current.start {
            return current.generation;
        }
        (0..self.depth.get() as usize)
            .rev()
            .map(|k| self.outer[k].get())
            .find(|scope| index >= scope.start)
            .map_or(current.generation, |scope| scope.generation)
    }

    /// True when `generation` was issued by this tape at some point (it may be closed).
    pub(crate) fn was_issued(&self, generation: u32) -> bool {
        generation != 0 && generation <= self.issued.get()
    }
}
