//! `pow` for `f64` as `e^(y · ln x)`, from the tables of `ln_f64` and `exp_f64`: the
//! tape's `pow` and `powf` and their derivatives, and `Dual`'s `powf`.
//!
//! `libm::pow` (FreeBSD's) took 36 ns a call on the x86-64 machine of BENCHMARKS.md
//! against glibc's 11 (this one: 19). Here the logarithm comes in two parts, good to
//! about 2^-70 of itself ([`ln_wide`]); `y` times it is formed exactly as two parts (the
//! product and its rounding error, by splitting both factors into halves whose products
//! are exact); and `e^(high + low)` reduces `high` as `exp` does and adds `low` to what is
//! left ([`exp_of_sum`]). The result is within about 0.52 units in the last place: the
//! tests find it equal to glibc's `pow` nearly everywhere and never more than one unit
//! from it.
//!
//! The arguments this path takes: `x` a positive normal number, `y` finite, and
//! `|y · ln x| ≤ 700` (a normal result that is neither near overflow nor near
//! underflow). Everything else takes `libm`, as do `y ∈ {1, 2, 0.5, −1}`, which `libm`
//! answers with one correctly rounded operation (`x`, `x · x`, `√x`, `1/x`), so those
//! stay exact.

use crate::exp_f64::exp_of_sum;
use crate::ln_f64::{is_positive_normal, ln_wide};

/// Past this, `e^(y · ln x)` may overflow or be subnormal: `libm` takes it.
const FAST_LIMIT: f64 = 700.0;
/// Clears the low 27 of the 52 mantissa bits: the high halves of two such numbers have
/// 26 significant bits each, and their product is exact.
const HALF_BITS: u64 = !((1 << 27) - 1);

/// `x^y`, within about 0.52 units in the last place (see the module docs).
#[inline]
pub(crate) fn pow(x: f64, y: f64) -> f64 {
    if !is_positive_normal(x.to_bits())
        || !y.is_finite()
        || y == 1.0
        || y == 2.0
        || y == 0.5
        || y == -1.0
    {
        return libm::pow(x, y);
    }
    let (log_high, log_low) = ln_wide(x);
    // Finite times finite: an infinity at worst, never NaN.
    let product = y * log_high;
    if product.abs() > FAST_LIMIT {
        return libm::pow(x, y);
    }
    let tail = product_error(y, log_high, product) + y * log_low;
    exp_of_sum(product, tail)
}

/// `a · b − product` for `product = a · b` rounded: Dekker's product with the halves
/// taken by masking. Each partial product below is exact but the last, which is far
/// below the error itself.
#[inline(always)]
fn product_error(a: f64, b: f64, product: f64) -> f64 {
    let a_high = f64::from_bits(a.to_bits() & HALF_BITS);
    let b_high = f64::from_bits(b.to_bits() & HALF_BITS);
    let (a_low, b_low) = (a - a_high, b - b_high);
    ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::math_test_support::{ulps, uniform};

    /// Within one unit in the last place of glibc's `pow` (itself within about half a
    /// unit of the true value) and equal to it nearly everywhere, on seeded samples of
    /// `x` and `y`: moderate ones, `x` near 1 with `y` large (where the logarithm is
    /// multiplied by up to 10¹¹), `x` huge or tiny with `y` small, and results near the
    /// ends of the fast path.
    #[test]
    fn agrees_with_glibc_within_one_ulp() {
        let ranges = [
            (1, (0.0, 10.0), (-30.0, 30.0)),
            (2, (0.5, 2.0), (-3.0, 3.0)),
            (3, (0.999, 1.001), (-1e5, 1e5)),
            (4, (1.0 - 1e-9, 1.0 + 1e-9), (-1e11, 1e11)),
            (5, (1e-300, 1e-200), (-2.0, 2.0)),
            (6, (1e200, 1e300), (-2.3, 2.3)),
            (7, (2.0, 3.0), (600.0, 1000.0)),
            (8, (0.01, 100.0), (-1.0, 1.0)),
        ];
        let (mut same, mut total) = (0, 0);
        for (seed, (x_low, x_high), (y_low, y_high)) in ranges {
            let xs = uniform(0x9e37_79b9_7f4a_7c15 ^ seed, x_low, x_high);
            let ys = uniform(0x2545_f491_4f6c_dd1d ^ seed, y_low, y_high);
            for (x, y) in xs.zip(ys).take(200_000) {
                let (got, want) = (pow(x, y), x.powf(y));
                assert!(
                    got == want || (got.is_finite() && ulps(got, want) <= 1),
                    "pow({x:e}, {y:e}) = {got:e}, glibc {want:e}"
                );
                same += usize::from(got == want);
                total += 1;
            }
        }
        assert!(
            same * 1000 >= total * 995,
            "only {same} of {total} equal glibc's"
        );
    }

    /// Every argument the fast path leaves to `libm` gets `libm`'s answer to the bit, and
    /// the rest of a grid of special and ordinary values is within one unit of it.
    #[test]
    fn special_values_are_libm_s() {
        let values = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.0,
            -2.0,
            0.5,
            -0.5,
            3.0,
            -3.0,
            0.3,
            1e300,
            -1e300,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 4.0,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for x in values {
            for y in values {
                let (got, soft) = (pow(x, y), libm::pow(x, y));
                if got.is_nan() || soft.is_nan() {
                    assert!(got.is_nan() && soft.is_nan(), "pow({x:e}, {y:e}) = {got:e}");
                } else if got != soft {
                    assert!(
                        got.is_finite() && got != 0.0 && ulps(got, soft) <= 1,
                        "pow({x:e}, {y:e}) = {got:e}, libm {soft:e}"
                    );
                }
            }
        }
        assert_eq!(pow(7.0, 2.0), 49.0);
        assert_eq!(pow(2.0, 0.5), core::f64::consts::SQRT_2);
        assert_eq!(pow(1.0, 1e308), 1.0);
        assert_eq!(pow(5.0, 0.0), 1.0);
        assert_eq!(pow(2.0, 10.0), 1024.0);
        assert_eq!(pow(2.0, -3.0), 0.125);
    }
}
