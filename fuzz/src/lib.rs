//! What the fuzz targets share: a reader that turns the fuzzer's bytes into choices,
//! and hosts that lend tapes memory for their records.

mod block_ledger;
mod grown_tape;
mod pool_growth;
pub use block_ledger::BlockLedger;
pub use grown_tape::{open, Growth, TapeMemory, GROWN_DIRECTIONS};
pub use pool_growth::PoolGrowth;

/// The fuzzer's bytes, consumed front to back. Reading past the end yields zeros, so
/// every input, however short, is a complete program.
pub struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes(data)
    }

    /// Bytes left.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// True one time in `n` (for `n > 0`).
    pub fn one_in(&mut self, n: u8) -> bool {
        self.u8().is_multiple_of(n.max(1))
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    pub fn u64(&mut self) -> u64 {
        (self.u32() as u64) | ((self.u32() as u64) << 32)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        if n <= 256 {
            self.u8() as usize % n
        } else {
            self.u32() as usize % n
        }
    }

    /// One of `items` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Any `f64`, NaN and infinities included.
    pub fn raw_f64(&mut self) -> f64 {
        f64::from_bits(self.u64())
    }

    /// A value for a program input: mostly in `[-4, 4]`, sometimes a special point
    /// (zero, ±1, ±0.5, ...) where functions have kinks or domain edges.
    pub fn input_f64(&mut self) -> f64 {
        const SPECIAL: [f64; 12] = [
            0.0,
            1.0,
            -1.0,
            0.5,
            -0.5,
            2.0,
            -2.0,
            1e-3,
            -1e-3,
            core::f64::consts::FRAC_PI_2,
            3.0,
            -0.0,
        ];
        let tag = self.u8();
        if tag < 32 {
            SPECIAL[tag as usize % SPECIAL.len()]
        } else {
            (self.u16() as f64 / 65536.0) * 8.0 - 4.0
        }
    }
}
