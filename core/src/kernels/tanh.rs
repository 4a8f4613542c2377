//! `tanh` for `f32` written without branches, so that loops over it vectorise: the
//! same operations as `libm::tanhf` (FreeBSD's `s_tanhf.c` and the `expm1f` it calls),
//! every path computed and the result selected, hence the same result for every input,
//! bit for bit (checked over all 2³² inputs by an ignored test).

// The constants as `libm` spells them.
#[allow(clippy::excessive_precision)]
const LN2_HI: f32 = 6.931_381_2e-1; // 0x3f317180
#[allow(clippy::excessive_precision)]
const LN2_LO: f32 = 9.058_000_6e-6; // 0x3717f7d1
const INV_LN2: f32 = 1.442_695_1; // 0x3fb8aa3b
const Q1: f32 = -3.333_321_2e-2;
#[allow(clippy::excessive_precision)]
const Q2: f32 = 1.580_717_1e-3;

/// `libm::expm1f(x)` for the arguments `tanhf` passes: `x` in `[-0.52, 20]` (or tiny),
/// where it neither overflows nor reaches `libm`'s large-argument paths (`k` stays in
/// `-1..=29`).
#[inline(always)]
fn expm1f_tanh(x: f32) -> f32 {
    let hx = x.to_bits() & 0x7fff_ffff;
    let negative = x.to_bits() >> 31 != 0;
    // Argument reduction: |x| in (0.5 ln 2, 1.5 ln 2) by ±ln 2, above by k ln 2.
    let k_far = (INV_LN2 * x + if negative { -0.5 } else { 0.5 }) as i32;
    let t = k_far as f32;
    let (hi_far, lo_far) = (x - t * LN2_HI, t * LN2_LO);
    let (hi_near, lo_near, k_near) = if negative {
        (x + LN2_HI, -LN2_LO, -1)
    } else {
        (x - LN2_HI, LN2_LO, 1)
    };
    let near = hx < 0x3f85_1592;
    let hi = if near { hi_near } else { hi_far };
    let lo = if near { lo_near } else { lo_far };
    let k_reduced = if near { k_near } else { k_far };
    let reduced = hi - lo;
    let c_reduced = (hi - reduced) - lo;
    let reduce = hx > 0x3eb1_7218;
    let x = if reduce { reduced } else { x };
    let c = if reduce { c_reduced } else { 0.0 };
    let k = if reduce { k_reduced } else { 0 };

    // x is now in the primary range.
    let hfx = 0.5 * x;
    let hxs = x * hfx;
    let r1 = 1.0 + hxs * (Q1 + hxs * Q2);
    let t = 3.0 - r1 * hfx;
    let e = hxs * ((r1 - t) / (6.0 - x * t));
    let k0 = x - (x * e - hxs);
    let e = x * (e - c) - c;
    let e = e - hxs;
    let k_minus1 = 0.5 * (x - e) - 0.5;
    let k1 = if x < -0.25 {
        -2.0 * (e - (x + 0.5))
    } else {
        1.0 + 2.0 * (x - e)
    };
    // 2^k and 2^-k; `k` is in -1..=29 wherever these are used.
    let twopk = f32::from_bits((0x7f_i32.wrapping_add(k) as u32) << 23);
    let uf = f32::from_bits((0x7f_i32.wrapping_sub(k) as u32) << 23);
    let below23 = (x - e + (1.0 - uf)) * twopk;
    let above23 = (x - (e + uf) + 1.0) * twopk;
    let general = if k < 23 { below23 } else { above23 };
    let result = if k == 1 { k1 } else { general };
    let result = if k == -1 { k_minus1 } else { result };
    let result = if k == 0 { k0 } else { result };
    // |x| < 2^-25: x itself (unreduced then, so `x` is the argument).
    if hx < 0x3300_0000 {
        x
    } else {
        result
    }
}

/// `libm::tanhf(x)`, bit for bit, without branches.
#[inline(always)]
pub(crate) fn tanhf(x: f32) -> f32 {
    let bits = x.to_bits();
    let sign = bits & 0x8000_0000;
    let w = bits & 0x7fff_ffff;
    let ax = f32::from_bits(w);
    let huge = w > 0x4120_0000; // |x| > 10, or NaN
    let big = w > 0x3e82_c578; // |x| > log(5/3)/2
                               // Where |x| > 10 the argument is unused; 0 keeps it in expm1f_tanh's range.
    let arg = if big { 2.0 * ax } else { -2.0 * ax };
    let t = expm1f_tanh(if huge { 0.0 } else { arg });
    let above_half = 1.0 - 2.0 / (t + 2.0); // |x| > log(3)/2
    let above_quarter = t / (t + 2.0);
    let small = -t / (t + 2.0);
    let r = if w >= 0x0080_0000 { small } else { ax }; // subnormal: x
    let r = if big { above_quarter } else { r };
    let r = if w > 0x3f0c_9f54 { above_half } else { r };
    let r = if huge { 1.0 + 0.0 / ax } else { r };
    f32::from_bits(r.to_bits() ^ sign)
}

#[cfg(test)]
mod tests {
    use super::tanhf;

    /// Under Miri the samples are sparser: it runs each one some thousand times slower.
    const STRIDE: usize = if cfg!(miri) { 9973 * 61 } else { 9973 };

    fn check(bits: u32) {
        let x = f32::from_bits(bits);
        let (want, got) = (libm::tanhf(x), tanhf(x));
        // A NaN's sign and payload are not specified by Rust (RFC 3514; Miri picks them
        // at random), so a NaN matches any NaN.
        assert!(
            want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
            "tanhf({x:e}) [{bits:#010x}]: libm {want:e}, branch-free {got:e}"
        );
    }

    #[test]
    fn matches_libm_on_a_sample_and_the_thresholds() {
        for bits in (0..=u32::MAX).step_by(STRIDE) {
            check(bits);
        }
        for edge in [
            0x0000_0000_u32,
            0x007f_ffff,
            0x0080_0000,
            0x3300_0000,
            0x32ff_ffff,
            0x3e82_c578,
            0x3e82_c579,
            0x3eb1_7218,
            0x3f0c_9f54,
            0x3f0c_9f55,
            0x3f85_1592,
            0x4120_0000,
            0x4120_0001,
            0x7f80_0000,
            0x7fc0_0000,
        ] {
            for d in 0..64 {
                check(edge.wrapping_add(d).wrapping_sub(32));
                check((edge.wrapping_add(d).wrapping_sub(32)) | 0x8000_0000);
            }
        }
    }

    /// Every `f32`; a minute or so in release (`cargo test --release -p autodiff-core
    /// tanh -- --ignored`).
    #[test]
    #[ignore]
    fn matches_libm_everywhere() {
        for bits in 0..=u32::MAX {
            check(bits);
        }
    }
}
