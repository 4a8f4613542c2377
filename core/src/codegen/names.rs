//! The C name of each record's value and adjoint. A record outside every rolled run
//! is a scalar, `vI` and `aI`, or, for an input, `x[N]` and `x_bar[N]`. Inside a run, a member's value is an element of the input
//! array `x`, a literal (a constant), an element of the value array `w` (with its
//! adjoint in `g`), or, when only its own iteration and the next read it, a variable
//! of the loop body that carries over in `vL` / `aL`, named after the record `L` of
//! the run's last iteration (which is what records after the run read).

use super::graph::{Graph, Records};
use super::rolling::Run;
use crate::error::Result;
use crate::portable::PortableFloat;
use core::fmt;

/// `stride · r + offset`, with `r` the loop's counter, or a constant.
#[derive(Clone, Copy)]
pub(super) struct Index {
    pub offset: i64,
    pub stride: u32,
}

impl Index {
    pub fn constant(offset: i64) -> Index {
        Index { offset, stride: 0 }
    }
}

impl fmt::Display for Index {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.stride, self.offset) {
            (0, offset) => write!(out, "{offset}"),
            (1, 0) => out.write_str("r"),
            (stride, 0) => write!(out, "{stride} * r"),
            (1, offset) if offset < 0 => write!(out, "r - {}", -offset),
            (1, offset) => write!(out, "r + {offset}"),
            (stride, offset) if offset < 0 => write!(out, "{stride} * r - {}", -offset),
            (stride, offset) => write!(out, "{stride} * r + {offset}"),
        }
    }
}

/// A C expression naming a value or an adjoint.
#[derive(Clone, Copy)]
pub(super) enum Name<T> {
    /// `vI`: a record's value.
    Value(u32),
    /// `aI`: a record's adjoint.
    Adjoint(u32),
    /// `uK` / `bK`: member `K`'s value / adjoint inside a loop body.
    MemberValue(u32),
    MemberAdjoint(u32),
    /// `x[..]` / `x_bar[..]`: an input / its adjoint.
    Input(Index),
    InputAdjoint(Index),
    /// `w[..]` / `g[..]`: a stored member's value / adjoint.
    Stored(Index),
    StoredAdjoint(Index),
    /// A constant's literal.
    Literal(T),
}

impl<T: PortableFloat> fmt::Display for Name<T> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Value(i) => write!(out, "v{i}"),
            Name::Adjoint(i) => write!(out, "a{i}"),
            Name::MemberValue(k) => write!(out, "u{k}"),
            Name::MemberAdjoint(k) => write!(out, "b{k}"),
            Name::Input(index) => write!(out, "x[{index}]"),
            Name::InputAdjoint(index) => write!(out, "x_bar[{index}]"),
            Name::Stored(index) => write!(out, "w[{index}]"),
            Name::StoredAdjoint(index) => write!(out, "g[{index}]"),
            Name::Literal(value) => value.write_c_literal(out),
        }
    }
}

/// The records, the graph and the runs: enough to name any record.
pub(super) struct Layout<'l, 't, 'm, 's, T: PortableFloat> {
    pub records: Records<'t, 'm, T>,
    pub graph: &'l Graph<'s>,
    pub runs: &'l [Run],
}

impl<T: PortableFloat> Layout<'_, '_, '_, '_, T> {
    /// The run holding record `i`, if any.
    pub fn run_of(&self, i: u32) -> Option<&Run> {
        let after = self.runs.partition_point(|run| run.start <= i);
        self.runs[..after].last().filter(|run| i < run.end())
    }

    /// The value of record `i` as code outside `i`'s loop body reads it.
    pub fn value(&self, i: u32) -> Result<Name<T>> {
        let Some(run) = self.run_of(i) else {
            return Ok(if self.graph.inputs.get(i) {
                Name::Input(Index::constant(self.graph.input_number(i) as i64))
            } else {
                Name::Value(i)
            });
        };
        let (r, k) = run.place(i);
        Ok(if run.is_input(k) {
            Name::Input(Index::constant(run.input_number(k, r) as i64))
        } else if run.is_const(k) {
            Name::Literal(self.records.entry(i)?.value)
        } else if r + 1 == run.repeats && run.has_value_carry(k) {
            Name::Value(run.last(k))
        } else {
            // Classification stores every member read from outside its run at any
            // iteration but the last, for the forward pass.
            Name::Stored(Index::constant(run.slot(k, r) as i64))
        })
    }

    /// The adjoint of record `i` as code outside `i`'s loop body adds to it. Inputs
    /// outside runs accumulate in `x_bar` itself, where loops can index them.
    pub fn adjoint(&self, i: u32) -> Result<Name<T>> {
        Ok(match self.run_of(i) {
            None if self.graph.inputs.get(i) => {
                Name::InputAdjoint(Index::constant(self.graph.input_number(i) as i64))
            }
            None => Name::Adjoint(i),
            Some(run) => {
                let (r, k) = run.place(i);
                if run.adjoint_stored(k) {
                    Name::StoredAdjoint(Index::constant(run.slot(k, r) as i64))
                } else {
                    Name::Adjoint(run.last(k))
                }
            }
        })
    }

    /// Whether record `i`'s adjoint is computed.
    pub fn reaches(&self, i: u32) -> bool {
        self.graph.reach.get(i)
    }
}
