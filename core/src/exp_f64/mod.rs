//! `exp`, `expm1` and `tanh` for `f64` by a table of 2^(j/128) and a short polynomial:
//! the tape's `exp`, `exp_m1` and `tanh`, and through them `sigmoid`, `softplus`, `erf`'s
//! derivative and the tensor ops that exponentiate.
//!
//! `libm::exp` (FreeBSD's) reduces `x` by `ln 2` only, so it needs a rational
//! approximation and a division; on the x86-64 machines of BENCHMARKS.md it took 7.6 ns
//! against glibc's 5.7 (this one: 3.7). Reducing by `ln 2 / 128` instead leaves
//! `|r| ≤ ln 2 / 256`, where `exp(r)` is a degree-5 polynomial, and the 2^(j/128) comes
//! from the table:
//!
//! `exp(x) = 2^e · 2^(j/128) · exp(r)`, with `k = round(x · 128 / ln 2) = 128·e + j` and
//! `r = x − k · ln 2 / 128`.
//!
//! Each table entry is the nearest `f64` to 2^(j/128) plus the nearest `f64` to the
//! rest, so the table adds no error worth counting; the result is within about 0.51
//! units in the last place of `exp(x)` (the last addition rounds once, 0.5; the
//! reduction and the polynomial add well under 0.01). The tests hold it within one unit
//! of glibc's and of `libm`'s on a seeded sample of the whole range.
//!
//! Results near overflow, subnormal or zero, and NaN and infinite arguments, take
//! `libm` (`|x| > 700`): there the exponent can no longer be added to the bits of a
//! number near 1. `expm1` and `tanh` are built on the same reduction (their own docs say
//! how), and were 3.7 and 6.6 ns against `libm`'s 9.9 and 12.4 on that machine.

mod table;

use table::POWERS;

/// `log2` of the table's length.
const TABLE_BITS: u32 = 7;
/// `128 / ln 2`.
const INV_LN2_N: f64 = 184.664_965_233_787_3;
/// `ln 2 / 128` in two parts: the high part has 24 zero bits at its end, so `k · high`
/// is exact for every `|k| < 2^24` (here `|k| < 2^17`), and `x − k · high` is too, being
/// the difference of two numbers within a factor of 2 of each other (or `x` itself when
/// `k = 0`).
const LN2_N_HIGH: f64 = f64::from_bits(0x3f76_2e42_ff00_0000);
const LN2_N_LOW: f64 = f64::from_bits(0xbd57_1843_2a1b_0e26);
/// `1.5 · 2^52`: a sum with it has unit spacing, so adding it rounds to the nearest
/// integer (ties to even), which then sits in the sum's low bits.
const ROUNDER: f64 = 6_755_399_441_055_744.0;
/// The arguments the fast path takes: `e` stays within ±1011, so `2^e` times a number
/// in [0.99, 2.01] is a normal number and can be made by adding `e` to its exponent.
const FAST_LIMIT: f64 = 700.0;
/// The Taylor coefficients `1/k!` of `e^x`, from `x²` on: `exp` takes them to `r⁵` (with
/// `|r| ≤ 0.00271` the first term left out, `r⁶ / 720`, is below 6·10⁻¹⁹, far under half a
/// unit in the last place), `exp_m1` below [`TAYLOR_LIMIT`] to `x⁸`.
const C2: f64 = 1.0 / 2.0;
const C3: f64 = 1.0 / 6.0;
const C4: f64 = 1.0 / 24.0;
const C5: f64 = 1.0 / 120.0;
const C6: f64 = 1.0 / 720.0;
const C7: f64 = 1.0 / 5040.0;
const C8: f64 = 1.0 / 40320.0;
/// Where `exp_m1` stops using its Taylor polynomial.
const TAYLOR_LIMIT: f64 = 1.0 / 64.0;
/// Below this, `e^x − 1` and `tanh(x)` round to `x`.
const TINY: f64 = 1.0 / (1u64 << 56) as f64;
/// The sign bit of an `f64`.
const SIGN: u64 = 1 << 63;

/// `e^x`, within about 0.51 units in the last place (see the module docs).
#[inline]
pub(crate) fn exp(x: f64) -> f64 {
    if !in_fast_range(x) {
        return libm::exp(x);
    }
    // −0 leaves every `r` as it is (+0 would turn −0 into +0), so this adds nothing.
    exp_of_sum(x, -0.0)
}

/// `e^(x + tail)`, for `|x| ≤ 700` and a `tail` far below `x`'s last place: `pow` passes
/// `y · ln(x)` in two parts, whose low part matters to the result's last bits.
#[inline(always)]
pub(crate) fn exp_of_sum(x: f64, tail: f64) -> f64 {
    let reduced = Reduced::of(x, tail);
    // The table entry times exp(r), with its small parts added first.
    let scaled = reduced.high + (reduced.low + reduced.high * reduced.expm1_r);
    times_power_of_two(scaled, reduced.e)
}

/// `e^x − 1`, within about one unit in the last place.
///
/// Below `|x| = 1/64` a Taylor polynomial: there the table's `2^(j/128) − 1` would nearly
/// cancel what is added to it. Above, that difference is exact for `e ∈ {−1, 0}` (of
/// numbers within a factor of 2), and the result is about five times the part added or
/// more. Arguments so small that `e^x − 1` rounds to `x` return `x` (keeping the sign of zero).
#[inline]
pub(crate) fn exp_m1(x: f64) -> f64 {
    if !in_fast_range(x) {
        return libm::expm1(x);
    }
    let magnitude_bits = x.to_bits() & !SIGN;
    if magnitude_bits < TINY.to_bits() {
        return x;
    }
    if magnitude_bits < TAYLOR_LIMIT.to_bits() {
        // The first term left out, x⁹/9!, is below 2⁻⁵⁷ of x.
        let tail = C2 + x * (C3 + x * (C4 + x * (C5 + x * (C6 + x * (C7 + x * C8)))));
        return x + x * x * tail;
    }
    let reduced = Reduced::of(x, -0.0);
    let power = times_power_of_two(1.0, reduced.e);
    let head = power * reduced.high - 1.0;
    head + power * (reduced.low + reduced.high * reduced.expm1_r)
}

/// `tanh(x)` from [`exp_m1`] as FreeBSD's `tanh` has it from its own `expm1`, within
/// about 2.5 units in the last place.
#[inline]
pub(crate) fn tanh(x: f64) -> f64 {
    let magnitude_bits = x.to_bits() & !SIGN;
    // NaN keeps its payload through `libm`; past 22, tanh is ±1 to the last bit.
    if magnitude_bits > 22f64.to_bits() {
        return libm::tanh(x);
    }
    let magnitude = f64::from_bits(magnitude_bits);
    if magnitude < TINY {
        return x;
    }
    let unsigned = if magnitude >= 1.0 {
        1.0 - 2.0 / (exp_m1(2.0 * magnitude) + 2.0)
    } else {
        let t = exp_m1(-2.0 * magnitude);
        -t / (t + 2.0)
    };
    f64::from_bits(unsigned.to_bits() | (x.to_bits() & SIGN))
}

/// `|x| ≤ 700`, compared as bits: NaN and infinities are above.
#[inline(always)]
fn in_fast_range(x: f64) -> bool {
    x.to_bits() & !SIGN <= FAST_LIMIT.to_bits()
}

/// `x + tail = (e·128 + j) · ln 2 / 128 + r`: the power of two, the table's 2^(j/128) in
/// two parts, and `exp(r) − 1`.
struct Reduced {
    e: i64,
    high: f64,
    low: f64,
    expm1_r: f64,
}

impl Reduced {
    #[inline(always)]
    fn of(x: f64, tail: f64) -> Reduced {
        let shifted = x * INV_LN2_N + ROUNDER;
        let k = shifted.to_bits().wrapping_sub(ROUNDER.to_bits()) as i64;
        let k_real = shifted - ROUNDER;
        let r = ((x - k_real * LN2_N_HIGH) - k_real * LN2_N_LOW) + tail;
        let [high, low] = POWERS[(k & ((1 << TABLE_BITS) - 1)) as usize];
        Reduced {
            // An arithmetic shift floors `k / 128`.
            e: k >> TABLE_BITS,
            high: f64::from_bits(high),
            low: f64::from_bits(low),
            expm1_r: r + r * r * (C2 + r * (C3 + r * (C4 + r * C5))),
        }
    }
}

/// `2^e · y` for `y` in [0.99, 2.01] and `|e| ≤ 1011`: `e` added to the exponent field.
#[inline(always)]
fn times_power_of_two(y: f64, e: i64) -> f64 {
    f64::from_bits(y.to_bits().wrapping_add((e as u64) << 52))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::math_test_support::{ulps, uniform};

    /// Every table entry is 2^(j/128) to about 2^-106: `(high + low)^128`, squared seven
    /// times in double-double arithmetic, is 2^j. (A wrong `high` or `low`, even in its
    /// last bit, would be off by far more than the tolerance.)
    #[test]
    fn the_table_holds_the_powers_of_two() {
        // (a, b)² in double-double, with the exact square of the high part.
        fn square((a, b): (f64, f64)) -> (f64, f64) {
            let p = a * a;
            let error = a.mul_add(a, -p);
            let tail = error + 2.0 * a * b;
            let sum = p + tail;
            (sum, tail - (sum - p))
        }
        for (j, &[high, low]) in POWERS.iter().enumerate() {
            let (high, low) = (f64::from_bits(high), f64::from_bits(low));
            assert!(
                low.abs() <= high * f64::EPSILON / 2.0,
                "entry {j}: low part too big"
            );
            assert_eq!(
                high + low,
                high,
                "entry {j}: low part not below half an ulp"
            );
            let mut power = (high, low);
            for _ in 0..TABLE_BITS {
                power = square(power);
            }
            let want = 2f64.powi(j as i32);
            let relative = ((power.0 - want) + power.1) / want;
            assert!(
                relative.abs() < 1e-28,
                "entry {j}: (2^(j/128))^128 off by {relative:e}"
            );
        }
    }

    /// Within one unit in the last place of glibc's `exp` and of `libm::exp` (both are
    /// themselves within about half a unit of the true value) on a seeded sample of the
    /// fast path's range, of small arguments, and of the slow path's.
    #[test]
    fn agrees_with_glibc_and_libm_within_one_ulp() {
        let ranges = [
            (1, -700.0, 700.0),
            (2, -20.0, 20.0),
            (3, -1.0, 1.0),
            (4, -0.003, 0.003),
            (5, -1e-12, 1e-12),
            (6, 700.0, 709.7),
            (7, -745.0, -700.0),
        ];
        let mut same = 0;
        let mut total = 0;
        for (seed, low, high) in ranges {
            for x in uniform(0x9e37_79b9_7f4a_7c15 ^ seed, low, high).take(200_000) {
                let got = exp(x);
                let (glibc, soft) = (x.exp(), libm::exp(x));
                assert!(
                    ulps(got, glibc) <= 1,
                    "exp({x:e}) = {got:e}, glibc {glibc:e}"
                );
                assert!(ulps(got, soft) <= 1, "exp({x:e}) = {got:e}, libm {soft:e}");
                same += usize::from(got == glibc);
                total += 1;
            }
        }
        // Rounding the same way nearly everywhere is what ~0.51 units of error means.
        assert!(
            same * 100 >= total * 95,
            "only {same} of {total} equal glibc's"
        );
    }

    /// The largest distance in units in the last place between `ours` and `glibc` over
    /// a seeded sample of each range (results of one sign, as both functions keep it).
    fn worst_ulps(ours: fn(f64) -> f64, glibc: fn(f64) -> f64, ranges: &[(f64, f64)]) -> u64 {
        let mut worst = 0;
        for (seed, &(low, high)) in ranges.iter().enumerate() {
            for x in uniform(0x2545_f491_4f6c_dd1d ^ seed as u64, low, high).take(200_000) {
                let (got, want) = (ours(x), glibc(x));
                assert_eq!(got.is_sign_negative(), want.is_sign_negative(), "at {x:e}");
                worst = worst.max(ulps(got, want));
            }
        }
        worst
    }

    /// No further from glibc's than `libm`'s are, on the same sample (`libm`'s: 1 and 3
    /// units for `expm1` and `tanh`, which are also the bounds asserted).
    #[test]
    fn exp_m1_and_tanh_agree_with_glibc_as_closely_as_libm() {
        let ranges = [
            (-1e-10, 1e-10),
            (-0.01, 0.01),
            (-0.4, 0.4),
            (-1.5, 1.5),
            (-30.0, 30.0),
            (-700.0, 700.0),
        ];
        let worst_exp_m1 = worst_ulps(exp_m1, |x| x.exp_m1(), &ranges);
        let libm_exp_m1 = worst_ulps(libm::expm1, |x| x.exp_m1(), &ranges);
        assert!(
            worst_exp_m1 <= libm_exp_m1.max(1),
            "exp_m1 off by {worst_exp_m1} ulps"
        );
        let worst_tanh = worst_ulps(tanh, |x| x.tanh(), &ranges);
        let libm_tanh = worst_ulps(libm::tanh, |x| x.tanh(), &ranges);
        assert!(
            worst_tanh <= libm_tanh.max(3),
            "tanh off by {worst_tanh} ulps"
        );
    }

    #[test]
    fn exact_and_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(-746.0), 0.0);
        assert!(exp(709.78).is_finite());
        assert!(exp(-740.0) > 0.0 && exp(-740.0) < f64::MIN_POSITIVE);
        assert_eq!(exp_m1(0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(exp_m1(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(exp_m1(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_m1(f64::NEG_INFINITY), -1.0);
        assert_eq!(exp_m1(-50.0), -1.0);
        assert!(exp_m1(f64::NAN).is_nan());
        assert_eq!(tanh(0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(tanh(f64::INFINITY), 1.0);
        assert_eq!(tanh(f64::NEG_INFINITY), -1.0);
        assert_eq!(tanh(-25.0), -1.0);
        assert!(tanh(f64::NAN).is_nan());
        // The ends of the fast path.
        assert!(ulps(exp(700.0), 700f64.exp()) <= 1);
        assert!(ulps(exp(-700.0), (-700f64).exp()) <= 1);
    }
}
