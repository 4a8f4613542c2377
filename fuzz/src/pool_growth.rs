//! A host for a core tape's growth (`RecordGrowth`) that carves blocks from one buffer,
//! as firmware hands out a pool, and keeps a [`BlockLedger`] of them.

use crate::block_ledger::BlockLedger;
use autodiff_core::RecordGrowth;
use core::mem::MaybeUninit;

pub struct PoolGrowth<'m> {
    rest: &'m mut [MaybeUninit<u8>],
    /// Hand out the least the tape asks for rather than what it would like.
    stingy: bool,
    /// Bytes skipped before each block: odd ones misalign it, which the tape must
    /// absorb.
    gap: usize,
    pub ledger: BlockLedger,
}

impl<'m> PoolGrowth<'m> {
    pub fn new(pool: &'m mut [MaybeUninit<u8>], stingy: bool, gap: usize) -> PoolGrowth<'m> {
        PoolGrowth {
            rest: pool,
            stingy,
            gap,
            ledger: BlockLedger::new(),
        }
    }
}

impl<'m> RecordGrowth<'m> for PoolGrowth<'m> {
    fn grow(&mut self, min_bytes: usize, wanted_bytes: usize) -> Option<&'m mut [MaybeUninit<u8>]> {
        assert!(
            min_bytes <= wanted_bytes,
            "the tape wants {wanted_bytes} bytes, below its minimum {min_bytes}"
        );
        let size = if self.stingy { min_bytes } else { wanted_bytes };
        let rest = core::mem::take(&mut self.rest);
        let gap = self.gap.min(rest.len());
        let rest = &mut rest[gap..];
        if size > rest.len() {
            // Spent: the caller sized the pool for what it records, so this fails the
            // comparison that follows, as it should.
            self.rest = rest;
            return None;
        }
        let (block, rest) = rest.split_at_mut(size);
        self.rest = rest;
        self.ledger.hand(block.as_ptr() as usize, size);
        Some(block)
    }

    fn release(&mut self, block: &'m mut [MaybeUninit<u8>]) {
        self.ledger.take_back(block.as_ptr() as usize, block.len());
    }
}

impl Drop for PoolGrowth<'_> {
    /// The pool outlives the tape it lends to (which borrows it): by now every block
    /// must be back.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.ledger.assert_settled("a pool's tape was dropped");
        }
        if std::env::var_os("AD_FUZZ_DEBUG").is_some() {
            eprintln!("a pool lent {} blocks", self.ledger.handed());
        }
    }
}
