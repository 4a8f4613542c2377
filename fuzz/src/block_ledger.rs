//! What a growth host handed a tape and got back: every block must come back exactly
//! once, with the size it went out with, and none may be left out when the tape ends.

/// The blocks a host has handed out and not yet got back, as `(address, bytes)`. A
/// multiset: a host may hand the same block twice (a bad host, whose second copy the
/// tape must refuse and give straight back).
#[derive(Debug, Default)]
pub struct BlockLedger {
    out: Vec<(usize, usize)>,
    handed: usize,
    returned: usize,
}

impl BlockLedger {
    pub fn new() -> BlockLedger {
        BlockLedger::default()
    }

    /// Notes a block handed to the tape.
    pub fn hand(&mut self, address: usize, bytes: usize) {
        self.out.push((address, bytes));
        self.handed += 1;
    }

    /// Notes a block the tape gave back, which must be out with that size: a block
    /// given back twice, or never handed out, is a bug of the tape. True when no other
    /// copy of the block is still out (its memory may be reused).
    #[track_caller]
    pub fn take_back(&mut self, address: usize, bytes: usize) -> bool {
        let Some(k) = self.out.iter().position(|&b| b == (address, bytes)) else {
            panic!(
                "the tape gave back a block ({address:#x}, {bytes} bytes) that is not out: \
                 released twice, or never handed out (out: {:x?})",
                self.out
            );
        };
        self.out.swap_remove(k);
        self.returned += 1;
        !self.out.iter().any(|&(a, _)| a == address)
    }

    /// Blocks out now.
    pub fn outstanding(&self) -> usize {
        self.out.len()
    }

    /// Blocks handed out in all.
    pub fn handed(&self) -> usize {
        self.handed
    }

    /// Checks that every block came back: called once the tape has ended.
    #[track_caller]
    pub fn assert_settled(&self, what: &str) {
        assert!(
            self.out.is_empty(),
            "{what}: {} of {} blocks never given back: {:x?}",
            self.out.len(),
            self.handed,
            self.out
        );
        assert_eq!(self.handed, self.returned, "{what}");
    }
}
