//! What the tests of our own `f64` functions (`exp_f64`, `ln_f64`, `pow_f64`) share:
//! seeded arguments and the distance between two results.

/// Units in the last place between `a` and `b` (both finite and of one sign).
pub(crate) fn ulps(a: f64, b: f64) -> u64 {
    a.to_bits().abs_diff(b.to_bits())
}

/// A seeded xorshift stream of `f64` in `[low, high)`.
pub(crate) fn uniform(seed: u64, low: f64, high: f64) -> impl Iterator<Item = f64> {
    let mut state = seed;
    core::iter::from_fn(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Some(low + (high - low) * ((state >> 11) as f64 / (1u64 << 53) as f64))
    })
}
