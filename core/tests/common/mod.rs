//! Helpers shared by the tape test binaries: a seeded generator and comparisons.
//! Each binary uses a subset, so unused ones are allowed.
#![allow(dead_code)]

/// splitmix64: a tiny deterministic generator, seeded per test case.
pub struct Rng(u64);

impl Rng {
    /// A stream fixed by `name` (FNV-1a of it), so every case has its own points.
    pub fn seeded(name: &str) -> Self {
        let mut h = 0xcbf2_9ce4_8422_2325_u64;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    pub fn from_seed(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit
    }

    /// `n` values uniform in `[lo, hi)`.
    pub fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    /// Uniform in `lo..hi` (integers, `hi` excluded).
    pub fn below(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo) as u64) as usize
    }
}

/// Asserts `|got − want| ≤ tol · max(1, |want|)`: relative for large values, absolute
/// near zero (where a relative error means nothing).
#[track_caller]
pub fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    let err = (got - want).abs();
    assert!(
        err <= tol * want.abs().max(1.0),
        "{what}: got {got:e}, want {want:e} (error {err:e}, tolerance {tol:e} relative)"
    );
}

/// Finite-difference step for f64.
pub const H: f64 = 1e-6;

/// `(f(x+h) − f(x−h)) / 2h`.
pub fn central_difference(mut f: impl FnMut(f64) -> f64, x: f64) -> f64 {
    (f(x + H) - f(x - H)) / (2.0 * H)
}

/// Caller memory for a tape: `len` bytes at a 16-aligned address, as the system
/// allocator hands out. A `Vec<u8>` (or a byte array) is only promised alignment 1, and
/// Miri does place one at any address; the tensor layer then fails (its nodes are found
/// by their offset from the arena's start, which must be a multiple of 8), so the tests
/// hold their memory to what they get natively.
pub struct Memory {
    words: Vec<core::mem::MaybeUninit<u128>>,
    len: usize,
}

/// [`Memory`] of `len` bytes.
pub fn memory(len: usize) -> Memory {
    let mut words = Vec::with_capacity(len.div_ceil(16));
    // SAFETY: uninitialised words are valid `MaybeUninit`s (and, unlike `vec![x; n]`, this
    // does not write each one, which costs Miri seconds per megabyte).
    unsafe { words.set_len(len.div_ceil(16)) };
    Memory { words, len }
}

impl core::ops::Deref for Memory {
    type Target = [core::mem::MaybeUninit<u8>];
    fn deref(&self) -> &Self::Target {
        // SAFETY: the words hold at least `len` bytes, any of which may be uninitialised.
        unsafe { core::slice::from_raw_parts(self.words.as_ptr().cast(), self.len) }
    }
}

impl core::ops::DerefMut for Memory {
    fn deref_mut(&mut self) -> &mut Self::Target {
        // SAFETY: as in `deref`, through the exclusive borrow of the words.
        unsafe { core::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast(), self.len) }
    }
}

/// [`Memory`]'s alignment for a buffer on the stack.
#[repr(C, align(16))]
pub struct Stack<const N: usize>(pub [core::mem::MaybeUninit<u8>; N]);

impl<const N: usize> Stack<N> {
    pub fn new() -> Self {
        Stack([core::mem::MaybeUninit::uninit(); N])
    }
}

/// Whether a finite-difference check looks at element `i` of `len`: all of them, but
/// under Miri (some thousand times slower) every fourth and the last.
pub fn fd_checks(i: usize, len: usize) -> bool {
    !cfg!(miri) || i.is_multiple_of(4) || i + 1 == len
}
