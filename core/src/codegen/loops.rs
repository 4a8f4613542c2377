//! The loops of a rolled run (see [`rolling`](super::rolling)): iteration 0 written
//! out with its reads from before the run, then `for (r = 1; ...)` over the rest; in
//! the reverse pass the same backwards, iteration 0 last.

use super::graph::Entry;
use super::names::{Index, Layout, Name};
use super::rolling::{Link, Run};
use super::rules::{partial_may_be_non_finite, rule};
use super::template::{expand, Operands};
use crate::error::{Error, Result};
use crate::portable::PortableFloat;
use core::fmt::{self, Write};

/// Which iteration a body is written for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Iteration {
    /// Iteration 0: reads of the previous iteration go to the records before the run.
    First,
    /// Iteration `r ≥ 1` of the loop.
    Loop,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Forward,
    Reverse,
}

pub(super) struct RunWriter<'w, 'l, 't, 'm, 's, T: PortableFloat> {
    pub layout: &'w Layout<'l, 't, 'm, 's, T>,
    pub run: &'w Run,
    pub function: &'w str,
}

type Written = core::result::Result<(), RunError>;

/// Why writing stopped: the sink refused text, or the tape could not be read.
pub(super) enum RunError {
    Sink,
    Tape(Error),
}

impl From<fmt::Error> for RunError {
    fn from(_: fmt::Error) -> RunError {
        RunError::Sink
    }
}

impl From<Error> for RunError {
    fn from(error: Error) -> RunError {
        RunError::Tape(error)
    }
}

const BODY: &str = "        ";

/// The start of an adjoint inside a loop (see [`rolling`](super::rolling)).
fn negative_zero<T: PortableFloat>() -> Name<T> {
    Name::Literal(-T::zero())
}

impl<T: PortableFloat> RunWriter<'_, '_, '_, '_, '_, T> {
    fn entry(&self, k: u32) -> Result<Entry<T>> {
        self.layout.records.entry(self.run.start + k)
    }

    fn reaches(&self, k: u32) -> bool {
        self.layout.reaches(self.run.start + k)
    }

    /// Whether member `k`'s adjoint receives terms from outside its iteration in `aL`.
    pub fn has_adjoint_carry(&self, k: u32) -> bool {
        let run = self.run;
        self.reaches(k) && !run.adjoint_stored(k) && (run.is_carried(k) || run.is_tail(k))
    }

    /// An index into `x` (inputs) or `w` / `g` (stored), `back` iterations before the
    /// current one.
    fn index(&self, iteration: Iteration, offset: u32, stride: u32, back: u32) -> Index {
        let offset = offset as i64 - (back * stride) as i64;
        match iteration {
            Iteration::First => Index::constant(offset),
            Iteration::Loop => Index { offset, stride },
        }
    }

    fn input(&self, iteration: Iteration, k: u32, back: u32) -> Name<T> {
        let run = self.run;
        Name::Input(self.index(iteration, run.input_offset(k), run.input_stride(), back))
    }

    fn slot(&self, iteration: Iteration, k: u32, back: u32) -> Index {
        let run = self.run;
        self.index(iteration, run.slot_offset(k), run.slot_stride(), back)
    }

    /// Member `m`'s value inside the body of its own iteration.
    fn member_value(&self, iteration: Iteration, m: u32) -> Result<Name<T>> {
        Ok(if self.run.is_input(m) {
            self.input(iteration, m, 0)
        } else if self.run.is_const(m) {
            Name::Literal(self.entry(m)?.value)
        } else {
            Name::MemberValue(m)
        })
    }

    /// The value argument `slot` of member `k` reads.
    fn argument_value(
        &self,
        iteration: Iteration,
        pass: Pass,
        k: u32,
        slot: usize,
    ) -> Result<Name<T>> {
        let run = self.run;
        Ok(
            match run.link(self.layout.records, self.layout.graph, k, slot)? {
                Link::Same(m) => self.member_value(iteration, m)?,
                Link::Fixed(record) => self.layout.value(record)?,
                Link::Strided { first, stride } => {
                    Name::Input(self.index(iteration, first, stride, 0))
                }
                Link::Previous { outside, .. } if iteration == Iteration::First => {
                    self.layout.value(outside)?
                }
                Link::Previous { member, .. } => {
                    if run.is_input(member) {
                        self.input(iteration, member, 1)
                    } else if run.is_const(member) {
                        Name::Literal(self.entry(member)?.value)
                    } else if pass == Pass::Forward {
                        Name::Value(run.last(member))
                    } else {
                        // The reverse plan stores every member it reads a step back.
                        Name::Stored(self.slot(iteration, member, 1))
                    }
                }
            },
        )
    }

    /// Where argument `slot` of member `k` adds its adjoint term.
    fn argument_adjoint(&self, iteration: Iteration, k: u32, slot: usize) -> Result<Name<T>> {
        let run = self.run;
        Ok(
            match run.link(self.layout.records, self.layout.graph, k, slot)? {
                Link::Same(m) if run.adjoint_stored(m) => {
                    Name::StoredAdjoint(self.slot(iteration, m, 0))
                }
                Link::Same(m) => Name::MemberAdjoint(m),
                Link::Fixed(record) => self.layout.adjoint(record)?,
                Link::Strided { first, stride } => {
                    Name::InputAdjoint(self.index(iteration, first, stride, 0))
                }
                Link::Previous { outside, .. } if iteration == Iteration::First => {
                    self.layout.adjoint(outside)?
                }
                Link::Previous { member, .. } if run.adjoint_stored(member) => {
                    Name::StoredAdjoint(self.slot(iteration, member, 1))
                }
                Link::Previous { member, .. } => Name::Adjoint(run.last(member)),
            },
        )
    }

    /// Member `k`'s own adjoint in the reverse body.
    fn own_adjoint(&self, iteration: Iteration, k: u32) -> Name<T> {
        if self.run.adjoint_stored(k) {
            Name::StoredAdjoint(self.slot(iteration, k, 0))
        } else {
            Name::MemberAdjoint(k)
        }
    }

    fn operands(&self, iteration: Iteration, pass: Pass, k: u32) -> Result<Operands<T>> {
        let entry = self.entry(k)?;
        let a = self.argument_value(iteration, pass, k, 0)?;
        let b = if entry.arguments().len() == 2 {
            self.argument_value(iteration, pass, k, 1)?
        } else {
            a
        };
        Ok(Operands {
            entry,
            a,
            b,
            y: Name::MemberValue(k),
        })
    }

    /// Writes `template` for member `k`.
    fn expand(&self, out: &mut dyn Write, template: &str, operands: &Operands<T>) -> fmt::Result {
        expand(out, template, self.function, Some(operands))
    }

    /// The forward pass over the run: the carried variables, iteration 0, the loop.
    /// With `reverse_follows`, also stores what the reverse pass reads and clears the
    /// stored adjoints it adds to.
    pub fn forward(&self, out: &mut dyn Write, reverse_follows: bool) -> Written {
        let (ty, run) = (T::C_TYPE, self.run);
        writeln!(
            out,
            "    /* records {}..{}: {} iterations of {} */",
            run.start,
            run.end(),
            run.repeats,
            run.period
        )?;
        for k in 0..run.period {
            if self.run.has_value_carry(k) {
                writeln!(out, "    {ty} v{} = 0;", run.last(k))?;
            }
        }
        out.write_str("    {\n")?;
        self.forward_body(out, Iteration::First, reverse_follows)?;
        writeln!(
            out,
            "    }}\n    for (int r = 1; r < {}; r++) {{",
            run.repeats
        )?;
        self.forward_body(out, Iteration::Loop, reverse_follows)?;
        out.write_str("    }\n")?;
        Ok(())
    }

    fn forward_body(
        &self,
        out: &mut dyn Write,
        iteration: Iteration,
        reverse_follows: bool,
    ) -> Written {
        let (ty, run) = (T::C_TYPE, self.run);
        for k in 0..run.period {
            if !run.is_input(k) && !run.is_const(k) {
                let operands = self.operands(iteration, Pass::Forward, k)?;
                let rule = rule(operands.entry.op, operands.entry.b as i32)
                    .ok_or(Error::NotExportable("a record without a C form"))?;
                write!(out, "{BODY}const {ty} u{k} = ")?;
                self.expand(out, rule.value, &operands)?;
                out.write_str(";\n")?;
                if run.writes_value(k, reverse_follows) {
                    writeln!(out, "{BODY}w[{}] = u{k};", self.slot(iteration, k, 0))?;
                }
            }
            if reverse_follows && run.adjoint_stored(k) && self.reaches(k) {
                writeln!(
                    out,
                    "{BODY}g[{}] = {};",
                    self.slot(iteration, k, 0),
                    negative_zero::<T>()
                )?;
            }
        }
        for k in 0..run.period {
            if self.run.has_value_carry(k) {
                writeln!(out, "{BODY}v{} = u{k};", run.last(k))?;
            }
        }
        Ok(())
    }

    /// The reverse pass over the run: the loop backwards, then iteration 0.
    pub fn reverse(&self, out: &mut dyn Write) -> Written {
        writeln!(
            out,
            "    for (int r = {}; r >= 1; r--) {{",
            self.run.repeats - 1
        )?;
        self.reverse_body(out, Iteration::Loop)?;
        out.write_str("    }\n    {\n")?;
        self.reverse_body(out, Iteration::First)?;
        out.write_str("    }\n")?;
        Ok(())
    }

    fn reverse_body(&self, out: &mut dyn Write, iteration: Iteration) -> Written {
        let (ty, run) = (T::C_TYPE, self.run);
        // The values the partials read: loaded, or computed again as the forward did.
        for k in 0..run.period {
            if !run.is_needed(k) || run.is_input(k) || run.is_const(k) {
                continue;
            }
            write!(out, "{BODY}const {ty} u{k} = ")?;
            if run.is_stored(k) {
                write!(out, "w[{}]", self.slot(iteration, k, 0))?;
            } else {
                let operands = self.operands(iteration, Pass::Reverse, k)?;
                let rule = rule(operands.entry.op, operands.entry.b as i32)
                    .ok_or(Error::NotExportable("a record without a C form"))?;
                self.expand(out, rule.value, &operands)?;
            }
            out.write_str(";\n")?;
        }
        // The adjoints: what the next iteration (or the records after the run) added,
        // taken over and cleared for the previous iteration. Cleared to -0, which the
        // compiler drops from `-0 + t` (see the module's documentation).
        for k in 0..run.period {
            if !self.reaches(k) || run.adjoint_stored(k) {
                continue;
            }
            if self.has_adjoint_carry(k) {
                let last = run.last(k);
                writeln!(
                    out,
                    "{BODY}{ty} b{k} = a{last};\n{BODY}a{last} = {};",
                    negative_zero::<T>()
                )?;
            } else {
                writeln!(out, "{BODY}{ty} b{k} = {};", negative_zero::<T>())?;
            }
        }
        for k in (0..run.period).rev() {
            if !self.reaches(k) {
                continue;
            }
            let entry = self.entry(k)?;
            let Some(rule) = rule(entry.op, entry.b as i32) else {
                continue;
            };
            let operands = self.operands(iteration, Pass::Reverse, k)?;
            let adjoint = self.own_adjoint(iteration, k);
            // As in the straight-line code: skip a zero adjoint where a partial can be
            // infinite, as the tape does.
            let guarded = partial_may_be_non_finite(entry.op, entry.b);
            let indent = if guarded { "            " } else { BODY };
            if guarded {
                writeln!(out, "{BODY}if ({adjoint} != 0) {{")?;
            }
            for &slot in entry.arguments() {
                // Iteration 0's arguments stand for all: detection checks that an
                // argument's adjoint is computed in every iteration or in none.
                if !self.layout.reaches(entry.argument(slot)) {
                    continue;
                }
                let partial = if slot == 0 {
                    rule.partial_a
                } else {
                    rule.partial_b
                };
                let target = self.argument_adjoint(iteration, k, slot)?;
                write!(out, "{indent}{target} += {adjoint} * ")?;
                self.expand(out, partial, &operands)?;
                out.write_str(";\n")?;
            }
            if guarded {
                writeln!(out, "{BODY}}}")?;
            }
        }
        for k in 0..run.period {
            if run.is_input(k) {
                writeln!(
                    out,
                    "{BODY}x_bar[{}] = {} + {};",
                    self.index(iteration, run.input_offset(k), run.input_stride(), 0),
                    self.own_adjoint(iteration, k),
                    Name::Literal(T::zero())
                )?;
            }
        }
        Ok(())
    }
}
