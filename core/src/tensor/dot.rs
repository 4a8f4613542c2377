//! Graphviz DOT export of a recorded tape, so users can look at the graph they built.

use super::float::Float;
use crate::tape::Tape;
use core::fmt::{self, Write};

impl<'m, T: Float> Tape<'m, T> {
    /// Writes the recorded graph in Graphviz DOT: one node per record (op and value for
    /// scalars, kind and shape for tensors), one edge per argument.
    ///
    /// The sink runs as a callback on the tape: it may read the tape, but a sweep or
    /// optimizer step it starts on it fails with [`Error::Reentrant`](crate::Error::Reentrant).
    pub fn write_dot(&self, out: &mut impl Write) -> fmt::Result {
        let _sink = self.enter_callback();
        writeln!(out, "digraph tape {{")?;
        writeln!(
            out,
            "  rankdir=LR; node [shape=box, fontname=\"monospace\"];"
        )?;
        for i in 0..self.len() as u32 {
            if let Some(node) = self.node_at(i) {
                writeln!(
                    out,
                    "  n{i} [label=\"{} {} {}\"];",
                    node.kind.name(),
                    node.shape,
                    T::NAME
                )?;
                for &arg in node.args.iter().take(node.arg_count as usize) {
                    writeln!(out, "  n{arg} -> n{i};")?;
                }
            } else if let Some((op, a, b, value)) = self.scalar_record(i) {
                writeln!(
                    out,
                    "  n{i} [label=\"{} = {}\"];",
                    op.name(),
                    value.to_f64()
                )?;
                match op.arity() {
                    crate::Arity::Unary => writeln!(out, "  n{a} -> n{i};")?,
                    crate::Arity::Binary => writeln!(out, "  n{a} -> n{i};\n  n{b} -> n{i};")?,
                    _ => {}
                }
            }
        }
        writeln!(out, "}}")
    }
}
