//! What a program prints: one line per result, the same text on the firmware and on
//! the host, so that the host can compare the two transcripts line by line.
//!
//! Values are printed as the hexadecimal bits of their floating-point encoding, not in
//! decimal: the comparison is then exact, and the firmware does not link `core::fmt`'s
//! float formatting (several KiB of flash). Lines:
//!
//! - `<label> f32 <bits>`: compared bit for bit;
//! - `<label> f32 <bits> ~1e-<n>`: compared within a relative tolerance of 10⁻ⁿ, for
//!   values whose operations differ between the targets (the x86-64 kernels fuse
//!   multiply-adds and sum in another order);
//! - `check <label> ok` or `check <label> FAILED`: a program's own check of its result;
//! - `# <label> <count>`: a figure of the target (bytes per record, arena in use), shown
//!   and not compared;
//! - `end <failures>`: the last line, with the number of failed checks.

/// Where the lines go: semihosting on the firmware, standard output on the host.
pub trait Sink {
    fn write(&mut self, bytes: &[u8]);
}

/// A floating-point type whose values a report prints by their bits.
pub trait Bits: Copy {
    /// The type's name in a line: `f32` or `f64`.
    const NAME: &'static str;
    /// Hexadecimal digits of the encoding.
    const DIGITS: usize;
    fn bits(self) -> u64;
}

impl Bits for f32 {
    const NAME: &'static str = "f32";
    const DIGITS: usize = 8;
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl Bits for f64 {
    const NAME: &'static str = "f64";
    const DIGITS: usize = 16;
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

/// A program's transcript, written as it goes, and the count of its failed checks.
pub struct Report<'s> {
    sink: &'s mut dyn Sink,
    failures: u32,
}

/// The longest line a report writes; a longer label is cut.
const LINE: usize = 96;

/// A line being assembled: one semihosting call per line, not per piece.
struct Line {
    bytes: [u8; LINE],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line {
            bytes: [0; LINE],
            len: 0,
        }
    }

    fn push(&mut self, text: &[u8]) -> &mut Line {
        // Leave room for the newline.
        let room = LINE - 1 - self.len;
        let n = text.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&text[..n]);
        self.len += n;
        self
    }

    fn hex(&mut self, value: u64, digits: usize) -> &mut Line {
        let mut text = [0u8; 16];
        let digits = digits.min(16);
        for (i, slot) in text[..digits].iter_mut().enumerate() {
            let nibble = (value >> (4 * (digits - 1 - i))) & 0xf;
            *slot = b"0123456789abcdef"[nibble as usize];
        }
        self.push(&text[..digits])
    }

    /// `value` in decimal. 32 bits are plenty for a report's counts, and a 64-bit
    /// division would link about 1 KiB of software division on a 32-bit core.
    fn decimal(&mut self, mut value: u32) -> &mut Line {
        let mut text = [0u8; 10];
        let mut start = text.len();
        loop {
            start -= 1;
            text[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.push(&text[start..])
    }

    fn finish(&mut self) -> &[u8] {
        self.bytes[self.len] = b'\n';
        &self.bytes[..=self.len]
    }
}

impl<'s> Report<'s> {
    pub fn new(sink: &'s mut dyn Sink) -> Report<'s> {
        Report { sink, failures: 0 }
    }

    fn emit(&mut self, line: &mut Line) {
        self.sink.write(line.finish());
    }

    fn value_line<T: Bits>(label: &str, value: T) -> Line {
        let mut line = Line::new();
        line.push(label.as_bytes())
            .push(b" ")
            .push(T::NAME.as_bytes())
            .push(b" ")
            .hex(value.bits(), T::DIGITS);
        line
    }

    /// A value the host must reproduce bit for bit.
    pub fn exact<T: Bits>(&mut self, label: &str, value: T) {
        let mut line = Self::value_line(label, value);
        self.emit(&mut line);
    }

    /// A value the host must reproduce within a relative error of `10^-exponent`.
    pub fn close<T: Bits>(&mut self, label: &str, value: T, exponent: u8) {
        let mut line = Self::value_line(label, value);
        line.push(b" ~1e-").decimal(u32::from(exponent));
        self.emit(&mut line);
    }

    /// A figure of the target, shown but not compared.
    pub fn info(&mut self, label: &str, count: usize) {
        let mut line = Line::new();
        line.push(b"# ")
            .push(label.as_bytes())
            .push(b" ")
            .decimal(u32::try_from(count).unwrap_or(u32::MAX));
        self.emit(&mut line);
    }

    /// The program's own check of a result.
    pub fn check(&mut self, label: &str, passed: bool) {
        if !passed {
            self.failures += 1;
        }
        let mut line = Line::new();
        line.push(b"check ")
            .push(label.as_bytes())
            .push(if passed { b" ok" } else { b" FAILED" });
        self.emit(&mut line);
    }

    /// Writes the last line; true when every check passed.
    pub fn finish(mut self) -> bool {
        let mut line = Line::new();
        line.push(b"end ").decimal(self.failures);
        self.emit(&mut line);
        self.failures == 0
    }
}
