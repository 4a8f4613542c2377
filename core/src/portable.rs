//! The element types a tape can leave the process in: as a byte image (fixed width,
//! little-endian) or as C source (a C type, C math functions, exact literals).

use crate::real::Real;
use core::fmt;

/// `f32` or `f64`: a float with a fixed binary layout and a C counterpart. Sealed.
pub trait PortableFloat: Real + sealed::Sealed {
    /// Bytes of one value in an image.
    const BYTES: usize;
    /// The C type: `float` or `double`.
    const C_TYPE: &'static str;
    /// The suffix of `<math.h>` functions for this type: `f` (`sinf`) or none (`sin`).
    const C_MATH_SUFFIX: &'static str;

    /// The IEEE bits, widened to 64.
    fn to_bits_u64(self) -> u64;
    /// The value of IEEE bits (the low `8 · BYTES` of `bits`).
    fn from_bits_u64(bits: u64) -> Self;
    /// A C constant expression of this type whose value is exactly `self` (NaN aside,
    /// whose payload C cannot spell: any NaN becomes `NAN`).
    fn write_c_literal(self, out: &mut dyn fmt::Write) -> fmt::Result;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

macro_rules! portable_float {
    ($t:ty, $bits:ty, $c_type:literal, $suffix:literal, $literal_suffix:literal) => {
        impl PortableFloat for $t {
            const BYTES: usize = core::mem::size_of::<$t>();
            const C_TYPE: &'static str = $c_type;
            const C_MATH_SUFFIX: &'static str = $suffix;

            fn to_bits_u64(self) -> u64 {
                self.to_bits() as u64
            }

            fn from_bits_u64(bits: u64) -> Self {
                <$t>::from_bits(bits as $bits)
            }

            fn write_c_literal(self, out: &mut dyn fmt::Write) -> fmt::Result {
                if self.is_nan() {
                    return out.write_str(concat!("((", $c_type, ")NAN)"));
                }
                if self.is_infinite() {
                    let sign = if self < 0.0 { "-" } else { "" };
                    return write!(out, concat!("({}(", $c_type, ")INFINITY)"), sign);
                }
                // `{:e}` prints the shortest digits that read back as the same value, and
                // C's decimal constants round correctly, so the literal is exact. The
                // parentheses keep a negative literal one operand (`a - (-1e0)`).
                write!(out, concat!("({:e}", $literal_suffix, ")"), self)
            }
        }
    };
}

portable_float!(f32, u32, "float", "f", "f");
portable_float!(f64, u64, "double", "", "");

#[cfg(test)]
mod tests {
    use super::*;

    struct Text<const N: usize>([u8; N], usize);

    impl<const N: usize> fmt::Write for Text<N> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.1 + s.len();
            self.0
                .get_mut(self.1..end)
                .ok_or(fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.1 = end;
            Ok(())
        }
    }

    fn literal<T: PortableFloat>(x: T) -> Text<64> {
        let mut text = Text([0; 64], 0);
        x.write_c_literal(&mut text).unwrap();
        text
    }

    #[test]
    fn literals_are_shortest_round_trip_decimals() {
        let text = literal(0.1f64);
        assert_eq!(&text.0[..text.1], b"(1e-1)");
        let text = literal(-2.5f32);
        assert_eq!(&text.0[..text.1], b"(-2.5e0f)");
        let text = literal(f64::NEG_INFINITY);
        assert_eq!(&text.0[..text.1], b"(-(double)INFINITY)");
    }

    #[test]
    fn bits_round_trip() {
        assert_eq!(f32::from_bits_u64(1.5f32.to_bits_u64()), 1.5);
        assert_eq!(
            f64::from_bits_u64((-0.0f64).to_bits_u64()).to_bits(),
            (-0.0f64).to_bits()
        );
    }
}
