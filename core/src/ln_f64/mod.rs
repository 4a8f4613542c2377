//! `ln` for `f64` by a table of 128 reciprocals and their logarithms, and a short
//! polynomial: the tape's `ln`, and through it `Dual`'s, the tensor layer's `log`, the
//! losses' log-sum-exp and `pow`'s derivative in its exponent; and, in two parts
//! ([`ln_wide`]), `pow` itself (`pow_f64`).
//!
//! `libm::log` (FreeBSD's) reduces `x` to `[√2/2, √2)` only, so it needs a division
//! and a long polynomial; on the x86-64 machine of BENCHMARKS.md it took 6.6 ns against
//! glibc's 5.7 (this one: 5.3). Here `x = 2^k · z` with `z` in `[0.709, 1.418)`, and `z`
//! falls in one of 128 intervals, each of relative width 2^-7 or less. Interval `j` has
//! a reciprocal `1/c` of at most 24 significant bits near its middle, and `ln(c)`:
//!
//! `ln(x) = k · ln 2 + ln(c) + ln(1 + r)`, with `r = z · (1/c) − 1`, `|r| ≤ 2^-8`.
//!
//! `r` is exact, as two parts: `z` is split into its high 27 significant bits and the
//! rest, and each part times a 24-bit `1/c` is an exact product; the high product is
//! within a factor of 2 of 1, so subtracting 1 from it is exact too. `ln 2` and `ln(c)`
//! are each a multiple of 2^-42 plus a small rest, so that `k · ln 2 + ln(c)` is exact
//! in its high part. Every rounding before the last is thus either carried along or
//! far below the result's last place, even where the result is small and `ln(c)` and
//! `r` nearly cancel (`x` near 1): the result is within about 0.52 units in the last
//! place, and the tests find it equal to glibc's on 99.97 % of arguments. The interval
//! around 1 has `c = 1`, so `ln(1)` is exactly 0. `ln(1 + r)` is its Taylor polynomial
//! to `r⁷`: the first term left out, `r⁸/8`, is below 2^-67, a hundredth of a unit of
//! the smallest result it can be added to (2^-8).
//!
//! Zero, negative, subnormal, infinite and NaN arguments take `libm`.

mod table;

use table::{LN2_HIGH, LN2_LOW, LOGS};

/// `log2` of the table's length.
const TABLE_BITS: u32 = 7;
/// The bits of the smallest reduced argument, 0.708984375: subtracted from `x`'s bits,
/// it leaves `k` in the exponent field and the interval in the top 7 mantissa bits.
/// (`make_table.py` has the same number.)
const OFFSET: u64 = 0x3fe6_b000_0000_0000;
/// Where the exponent field starts.
const EXPONENT_SHIFT: u32 = 52;
const EXPONENT_FIELD: u64 = 0xfff << EXPONENT_SHIFT;
const SMALLEST_NORMAL: u64 = 0x0010_0000_0000_0000;
const INFINITY: u64 = 0x7ff0_0000_0000_0000;
/// Clears the low 26 of the 52 mantissa bits: what is left has 27 significant bits.
const HIGH_BITS: u64 = !((1 << 26) - 1);
/// Clears the low 27: what is left has 26 significant bits, and its square is exact.
const SQUARE_HIGH_BITS: u64 = !((1 << 27) - 1);
/// The Taylor coefficients `(−1)^(n+1)/n` of `ln(1 + r)`, from `r²` on.
const C2: f64 = -1.0 / 2.0;
const C3: f64 = 1.0 / 3.0;
const C4: f64 = -1.0 / 4.0;
const C5: f64 = 1.0 / 5.0;
const C6: f64 = -1.0 / 6.0;
const C7: f64 = 1.0 / 7.0;
const C8: f64 = -1.0 / 8.0;
const C9: f64 = 1.0 / 9.0;

/// `ln(x)`, within about 0.52 units in the last place (see the module docs).
#[inline]
pub(crate) fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    if !is_positive_normal(bits) {
        return libm::log(x);
    }
    let Reduced {
        r,
        r_error,
        logs_high,
        logs_low,
    } = Reduced::of(bits);
    // Adding `r` to `k · ln 2 + ln(c)` adds a smaller number to a larger one (or to
    // zero), so its rounding error is the exact difference below it.
    let (head, head_error) = fast_two_sum(logs_high, r);

    let r2 = r * r;
    let series = (C2 + r * C3) + r2 * ((C4 + r * C5) + r2 * (C6 + r * C7));
    let tail = logs_low + (head_error + r_error) + r2 * series;
    head + tail
}

/// `ln(x)` as `high + low` with `|low|` below half an ulp of `high`, to about 2^-70 of
/// the result, for `pow`; `x` must be a positive normal number ([`is_positive_normal`]).
///
/// `ln(x)` itself only needs the sum rounded once, so it leaves out what this adds: the
/// square in `ln(1 + r) = r − r²/2 + ...` exactly, its error from rounding `r`, two
/// more terms of the series, and the sums kept in two parts to the end. `pow` needs the
/// logarithm to about 2^-65 of itself: `y · ln x` is up to 700, so an error of `ε` of
/// the logarithm is one of up to 700 · `ε` of the result, whatever `y` is (as large as
/// 10¹¹ where `x` is within 10⁻⁹ of 1).
#[inline]
pub(crate) fn ln_wide(x: f64) -> (f64, f64) {
    let Reduced {
        r,
        r_error,
        logs_high,
        logs_low,
    } = Reduced::of(x.to_bits());

    // −r²/2 = −r_a²/2 − r_b · (r + r_a)/2 with r_a the high 26 significant bits of r:
    // r_a² is exact, and the rest is small; so is the change rounding r made to r².
    let r_a = f64::from_bits(r.to_bits() & SQUARE_HIGH_BITS);
    let r_b = r - r_a;
    let half_square_high = -0.5 * (r_a * r_a);
    let half_square_low = -0.5 * (r_b * (r + r_a)) - r * r_error;

    // The high sum: k · ln 2 + ln(c), then r whole (its rounding error goes to the low
    // sum: around 1, r_high and r_low can be larger than r and of opposite signs), then
    // −r_a²/2. Each adds a number no larger than the sum so far (|ln c| ≥ 2^-8 > |r|
    // outside the interval around 1, where ln c = 0 and the sum is r), so each rounding
    // error is exact.
    let (sum, sum_error) = fast_two_sum(logs_high, r);
    let (sum, square_error) = fast_two_sum(sum, half_square_high);

    let r2 = r * r;
    let series = (C3 + r * C4) + r2 * ((C5 + r * C6) + r2 * ((C7 + r * C8) + r2 * C9));
    let low = (sum_error + square_error) + logs_low + r_error + half_square_low + r * r2 * series;
    // The low sum is far below the high one (or both are 0, at x = 1).
    fast_two_sum(sum, low)
}

/// True for the bits of a positive normal number, the arguments the table path takes:
/// zero, negative numbers, subnormals, infinities and NaN wrap around to above the range.
#[inline(always)]
pub(crate) fn is_positive_normal(bits: u64) -> bool {
    bits.wrapping_sub(SMALLEST_NORMAL) < INFINITY - SMALLEST_NORMAL
}

/// `x = 2^k · z` with `z` in interval `j`, reduced: `r = z · (1/c) − 1` as the nearest
/// `f64` and the error of that rounding, and `k · ln 2 + ln(c)` in two parts.
struct Reduced {
    r: f64,
    /// Exact whenever it matters: when `r_high` below is the larger part, and around 1,
    /// where `1/c = 1` and `r = z − 1` is itself an `f64`, so that a tiny result is not
    /// the difference of larger parts. Otherwise below 2^-79.
    r_error: f64,
    /// `k · ln 2 + ln(c)` of their high parts: exact, both being multiples of 2^-42.
    logs_high: f64,
    /// The same of their low parts.
    logs_low: f64,
}

impl Reduced {
    #[inline(always)]
    fn of(bits: u64) -> Reduced {
        let shifted = bits.wrapping_sub(OFFSET);
        let k = ((shifted as i64) >> EXPONENT_SHIFT) as f64;
        let interval =
            (shifted >> (EXPONENT_SHIFT - TABLE_BITS)) as usize & ((1 << TABLE_BITS) - 1);
        let z = f64::from_bits(bits.wrapping_sub(shifted & EXPONENT_FIELD));
        let [inverse, log_high, log_low] = LOGS[interval].map(f64::from_bits);
        // r exactly as r_high + r_low (see the module docs).
        let z_high = f64::from_bits(z.to_bits() & HIGH_BITS);
        let r_high = z_high * inverse - 1.0;
        let r_low = (z - z_high) * inverse;
        let (r, r_error) = fast_two_sum(r_high, r_low);
        Reduced {
            r,
            r_error,
            logs_high: k * f64::from_bits(LN2_HIGH) + log_high,
            logs_low: k * f64::from_bits(LN2_LOW) + log_low,
        }
    }
}

/// `a + b` as the nearest `f64` and the exact error of that rounding, for `|a| ≥ |b|`
/// or `a = 0` (every sum made here is one, as the comments at each say).
#[inline(always)]
fn fast_two_sum(a: f64, b: f64) -> (f64, f64) {
    let sum = a + b;
    (sum, b - (sum - a))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::math_test_support::{ulps, uniform};

    /// The high parts of `ln(c)` and `ln 2` are multiples of this fraction.
    const MULTIPLE: f64 = (1u64 << 42) as f64;

    /// Every entry's `1/c` has at most 24 significant bits (the exactness of `r` rests
    /// on it), lies within its interval's reciprocals, and `exp` of its logarithm, in
    /// double-double arithmetic through a Taylor series, gives back `c`.
    #[test]
    fn the_table_holds_reciprocals_and_their_logarithms() {
        let step = 1u64 << (EXPONENT_SHIFT - TABLE_BITS);
        for (j, &[inverse, high, low]) in LOGS.iter().enumerate() {
            let (inverse, high, low) = (
                f64::from_bits(inverse),
                f64::from_bits(high),
                f64::from_bits(low),
            );
            assert_eq!(
                inverse.to_bits() & ((1 << 29) - 1),
                0,
                "entry {j}: 1/c too long"
            );
            let start = f64::from_bits(OFFSET + j as u64 * step);
            let end = f64::from_bits(OFFSET + (j as u64 + 1) * step);
            assert!(
                1.0 / end < inverse && inverse <= 1.0 / start,
                "entry {j}: 1/c outside the interval"
            );
            assert_eq!(
                (high * MULTIPLE).fract(),
                0.0,
                "entry {j}: high part not a multiple"
            );
            assert!(low.abs() <= 0.5 / MULTIPLE, "entry {j}: low part too big");
            // ln(1/c) from the function under test would be circular: check instead that
            // (1/c) · exp(ln c) = 1, with exp summed as its Taylor series (|ln c| < 0.35:
            // 40 terms are plenty) in double-double arithmetic. The two parts hold ln(c)
            // to about 2^-96 (the low part's last bit), far below the 2^-61 that the
            // smallest results need, and far above the test's own error.
            let log = Wide(high, low);
            let (mut sum, mut term) = (Wide(1.0, 0.0), Wide(1.0, 0.0));
            for n in 1..=40 {
                term = term.times(log).over(n as f64);
                sum = sum.plus(term);
            }
            let residual = Wide(inverse, 0.0).times(sum).plus(Wide(-1.0, 0.0));
            assert!(
                residual.0.abs() < 1e-27,
                "entry {j}: (1/c) · exp(ln c) differs from 1 by {:e}",
                residual.0
            );
        }
        // k · ln 2's high part plus ln(c)'s is exact: both multiples of 2^-42, and the
        // largest sum, 1075 · ln 2 + 0.35, is below 2^53 · 2^-42.
        let ln2_high = f64::from_bits(LN2_HIGH);
        assert_eq!((ln2_high * MULTIPLE).fract(), 0.0);
        assert!(1075.0 * ln2_high + 0.35 < (1u64 << 53) as f64 / MULTIPLE);
        let ln2 = Wide(ln2_high, 0.0).plus(Wide(f64::from_bits(LN2_LOW), 0.0));
        assert_eq!(ln2.0, core::f64::consts::LN_2);
    }

    /// `a + b` as the nearest `f64` and the exact error of that rounding.
    fn two_sum(a: f64, b: f64) -> (f64, f64) {
        let sum = a + b;
        let b_part = sum - a;
        (sum, (a - (sum - b_part)) + (b - b_part))
    }

    /// A double-double number `high + low`, for checking the table far below an ulp.
    #[derive(Clone, Copy)]
    struct Wide(f64, f64);

    impl Wide {
        /// `high + low` with `|low|` at most half an ulp of `high`.
        fn normalized(high: f64, low: f64) -> Wide {
            let sum = high + low;
            Wide(sum, low - (sum - high))
        }

        fn plus(self, other: Wide) -> Wide {
            let (sum, error) = two_sum(self.0, other.0);
            Wide::normalized(sum, error + self.1 + other.1)
        }

        fn times(self, other: Wide) -> Wide {
            let product = self.0 * other.0;
            let error = self.0.mul_add(other.0, -product);
            Wide::normalized(product, error + self.0 * other.1 + self.1 * other.0)
        }

        fn over(self, n: f64) -> Wide {
            let quotient = self.0 / n;
            let remainder = (-quotient).mul_add(n, self.0) + self.1;
            Wide::normalized(quotient, remainder / n)
        }
    }

    /// Within one unit in the last place of glibc's `ln` and of `libm::log` (both are
    /// themselves within about half a unit of the true value), and equal to glibc's
    /// nearly everywhere, on seeded samples across the range, near 1 and at the ends.
    #[test]
    fn agrees_with_glibc_and_libm_within_one_ulp() {
        let ranges = [
            (1, f64::MIN_POSITIVE, 1e-300),
            (2, 1e-10, 1.0),
            (3, 0.5, 2.0),
            (4, 0.99, 1.01),
            (5, 1.0 - 1e-6, 1.0 + 1e-6),
            (6, 1.0 - 1e-14, 1.0 + 1e-14),
            (7, 1.0, 1e10),
            (8, 1e300, f64::MAX),
        ];
        let mut same = 0;
        let mut total = 0;
        for (seed, low, high) in ranges {
            for x in uniform(0x9e37_79b9_7f4a_7c15 ^ seed, low, high).take(200_000) {
                let got = ln(x);
                let (glibc, soft) = (x.ln(), libm::log(x));
                if got == glibc {
                    same += 1;
                } else {
                    assert_eq!(
                        got.is_sign_negative(),
                        glibc.is_sign_negative(),
                        "ln({x:e})"
                    );
                    assert!(
                        ulps(got, glibc) <= 1,
                        "ln({x:e}) = {got:e}, glibc {glibc:e}"
                    );
                }
                assert!(ulps(got, soft) <= 1, "ln({x:e}) = {got:e}, libm {soft:e}");
                total += 1;
            }
        }
        // Rounding the same way nearly everywhere is what ~0.52 units of error means.
        assert!(
            same * 1000 >= total * 999,
            "only {same} of {total} equal glibc's"
        );
    }

    /// The arguments the table path leaves to `libm`, its ends, and exact results.
    #[test]
    fn exact_and_special_values() {
        assert_eq!(ln(1.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(-0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan());
        assert!(ln(f64::NEG_INFINITY).is_nan());
        assert!(ln(f64::NAN).is_nan());
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert_eq!(ln(2.0), core::f64::consts::LN_2);
        assert_eq!(ln(core::f64::consts::E), 1.0);
        for x in [
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            f64::from_bits(1),
            f64::MAX,
            f64::from_bits(OFFSET),
            f64::from_bits(OFFSET - 1),
            1.0 + f64::EPSILON,
            1.0 - f64::EPSILON / 2.0,
        ] {
            assert!(ulps(ln(x), x.ln()) <= 1, "ln({x:e})");
        }
    }
}
