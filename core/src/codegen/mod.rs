//! C source generated from a recorded tape: a self-contained C99 translation unit that
//! computes the recorded outputs, their vector-Jacobian product (the gradient, for one
//! output) and, when asked, their Jacobian-vector product, with no heap and no library
//! beyond `<math.h>`. The formulas are the tape's own (`rules`), written out
//! operation for operation in the tape's order; runs of records that repeat with a
//! constant stride (a loop's body, recorded once per iteration) are written back as
//! loops (`rolling`), and only the adjoints that can reach an input are computed.
//!
//! What the generated file declares, for a tape of `T` = `double` (or `float`):
//!
//! ```c
//! void NAME(const T *x, T *y);                                   /* y = f(x) */
//! void NAME_vjp(const T *x, const T *y_bar, T *y, T *x_bar);     /* x_bar = y_bar^T J */
//! void NAME_jvp(const T *x, const T *x_dot, T *y, T *y_dot);     /* y_dot = J x_dot */
//! ```
//!
//! `x` holds the inputs in recording order, `y` the outputs in the order given. The
//! arrays must not overlap (the definitions declare them `restrict`).
//!
//! # Exactness
//!
//! Each record becomes the statement the tape's sweeps evaluate, in the same order, so
//! compiled C gives the tape's bits wherever `<math.h>` rounds as `libm` does: always for
//! `+ − × ÷`, `sqrt` and `fabs` (IEEE requires it); transcendentals may differ in the
//! last place (the tests count how often). Two more conditions: no `-ffast-math`, and
//! no contraction into fused multiply-adds (`-std=c99` in GCC contracts nothing).
//!
//! The tape's backward skips a record whose adjoint is zero, so that `0 · ∞` never
//! makes a NaN. The generated code does the same where an op's partial can be infinite
//! or NaN at finite arguments; elsewhere it adds `adjoint · partial` as it is, which
//! adds a zero when the adjoint is zero, and changes nothing, while every value is
//! finite. So where an intermediate value is itself infinite or NaN, an argument that
//! the outputs do not depend on may get NaN where the tape gives 0. The tangents of
//! `NAME_jvp` follow the tape's rule everywhere.

mod emit;
mod graph;
mod loops;
mod names;
mod rolling;
mod rules;
mod template;

use crate::error::{Error, Result};
use crate::portable::PortableFloat;
use crate::tape::{Tape, VarId};
use core::fmt;
use emit::Emitter;
use graph::{Graph, Records};
use rolling::{classify, find_runs, Run};

/// The longest function name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct CodeOptions<'n> {
    /// The function's name: a C identifier of at most [`MAX_NAME_LEN`] bytes. Helpers
    /// and the other functions take it as their prefix.
    pub name: &'n str,
    /// Also generate `NAME_vjp`, the outputs' vector-Jacobian product.
    pub gradient: bool,
    /// Also generate `NAME_jvp`, the outputs' Jacobian-vector product.
    pub jvp: bool,
}

impl<'n> CodeOptions<'n> {
    /// `NAME` and `NAME_vjp`, no `NAME_jvp`.
    pub fn new(name: &'n str) -> CodeOptions<'n> {
        CodeOptions {
            name,
            gradient: true,
            jvp: false,
        }
    }
}

impl<T: PortableFloat> Tape<'_, T> {
    /// Writes C source for `outputs` into `out` (a `String` with `std`, or any
    /// [`fmt::Write`]). Only the records the outputs depend on are written.
    ///
    /// Needs two bits per record of scratch from the arena, and a few words per rolled
    /// loop, given back before returning.
    /// Fails with the tape's pending error, a handle error for an output,
    /// [`Error::InvalidArgument`] (a name that is not a C identifier, or a sink that
    /// refuses text), [`Error::NotExportable`] when the outputs depend on tensor or
    /// checkpointed-segment records (which have no C form), or [`Error::OutOfMemory`]
    /// for the scratch. Reads the tape only.
    pub fn write_c(
        &self,
        outputs: &[VarId],
        options: &CodeOptions<'_>,
        out: &mut dyn fmt::Write,
    ) -> Result<()> {
        self.status()?;
        check_name(options.name)?;
        for &output in outputs {
            self.check_handle(output)?;
        }
        let end = outputs.iter().map(|o| o.index + 1).max().unwrap_or(0);
        let records = Records { tape: self };
        let output_indices = outputs.iter().map(|o| o.index);
        self.with_scratch::<u32, _>(Graph::words(end), |words| {
            let graph = Graph::build(records, output_indices.clone(), end, words)?;
            let mut count = 0usize;
            find_runs(records, &graph, |_| count += 1)?;
            self.with_scratch::<Run, _>(count, |runs| {
                let mut found = 0;
                find_runs(records, &graph, |run| {
                    runs[found] = run;
                    found += 1;
                })?;
                let slots = classify(records, &graph, runs, output_indices)?;
                Emitter {
                    records,
                    outputs,
                    options,
                    graph: &graph,
                    runs,
                    slots,
                }
                .write(out)
            })?
        })?
    }

    /// The length in bytes of what [`write_c`](Tape::write_c) writes: ask, then give a
    /// buffer that long to [`write_c_into`](Tape::write_c_into).
    pub fn c_code_len(&self, outputs: &[VarId], options: &CodeOptions<'_>) -> Result<usize> {
        let mut counter = Counter(0);
        self.write_c(outputs, options, &mut counter)?;
        Ok(counter.0)
    }

    /// [`write_c`](Tape::write_c) into the start of `buf`; returns the length. Fails as
    /// `write_c` does, or with [`Error::LengthMismatch`] when `buf` is too short (then
    /// `buf` holds a prefix of the text).
    pub fn write_c_into(
        &self,
        outputs: &[VarId],
        options: &CodeOptions<'_>,
        buf: &mut [u8],
    ) -> Result<usize> {
        let mut sink = Prefix { buf, len: 0 };
        self.write_c(outputs, options, &mut sink)?;
        if sink.len > sink.buf.len() {
            return Err(Error::LengthMismatch {
                what: "code buffer length",
                got: sink.buf.len(),
                against: "the generated code's length",
                expected: sink.len,
            });
        }
        Ok(sink.len)
    }
}

/// C99's keywords, which are not names.
const C_KEYWORDS: [&str; 37] = [
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "_Bool",
    "_Complex",
    "_Imaginary",
];

/// Fails unless `name` is a C identifier of at most [`MAX_NAME_LEN`] bytes, and not a
/// keyword.
fn check_name(name: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && !bytes[0].is_ascii_digit()
        && bytes
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        && !C_KEYWORDS.contains(&name);
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument(
            "the function name must be a C identifier (not a keyword) of 1 to 64 letters, digits and underscores",
        ))
    }
}

/// Counts the bytes offered.
struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0 += text.len();
        Ok(())
    }
}

/// Keeps the prefix that fits and counts every byte offered.
pub(crate) struct Prefix<'b> {
    pub buf: &'b mut [u8],
    pub len: usize,
}

impl fmt::Write for Prefix<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let start = self.len.min(self.buf.len());
        let take = text.len().min(self.buf.len() - start);
        self.buf[start..start + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += text.len();
        Ok(())
    }
}
