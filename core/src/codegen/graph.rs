//! The tape as the generator reads it: records with their arguments, and bit sets over
//! them: the records the outputs depend on (`live`), those whose adjoint can reach an
//! input (`reach`), and the inputs with their numbers.

use crate::error::{Error, Result};
use crate::op::Op;
use crate::portable::PortableFloat;
use crate::tape::{record_kind, RecordKind, Tape};

/// One record: its op, its fields and its recorded value.
#[derive(Clone, Copy)]
pub(super) struct Entry<T> {
    pub op: Op,
    pub a: u32,
    pub b: u32,
    pub value: T,
    /// A wide-constant op's constant (which `b` only locates in the tape); zero for
    /// other ops.
    pub constant: T,
}

impl<T> Entry<T> {
    pub fn kind(&self) -> RecordKind {
        record_kind(self.op)
    }

    /// The records this one reads: none, `a`, or `a` and `b`.
    pub fn arguments(&self) -> &'static [usize] {
        match self.kind() {
            RecordKind::Unary | RecordKind::UnaryWithOperand | RecordKind::WideConstant => &[0],
            RecordKind::Binary => &[0, 1],
            RecordKind::Input | RecordKind::Const | RecordKind::Extension => &[],
        }
    }

    /// Argument `slot` (0: `a`, 1: `b`).
    pub fn argument(&self, slot: usize) -> u32 {
        if slot == 0 {
            self.a
        } else {
            self.b
        }
    }
}

/// Reads records of a tape.
#[derive(Clone, Copy)]
pub(super) struct Records<'t, 'm, T: PortableFloat> {
    pub tape: &'t Tape<'m, T>,
}

impl<T: PortableFloat> Records<'_, '_, T> {
    pub fn entry(&self, i: u32) -> Result<Entry<T>> {
        let (op, a, b, value) = self.tape.scalar_record(i).ok_or(Error::StaleHandle)?;
        let constant = match record_kind(op) {
            RecordKind::WideConstant => self.tape.wide_constant_of(b),
            _ => T::zero(),
        };
        Ok(Entry {
            op,
            a,
            b,
            value,
            constant,
        })
    }
}

/// A set of record indices: bit `i % 32` of word `i / 32`.
pub(super) struct Bits<'s>(pub &'s mut [u32]);

impl Bits<'_> {
    pub fn get(&self, i: u32) -> bool {
        self.0[(i / 32) as usize] & (1 << (i % 32)) != 0
    }

    pub fn set(&mut self, i: u32) {
        self.0[(i / 32) as usize] |= 1 << (i % 32);
    }
}

/// The two sets the generator needs over records `0..end`.
pub(super) struct Graph<'s> {
    /// The records the outputs depend on.
    pub live: Bits<'s>,
    /// The live records whose adjoint flows on to an input: an input, or a record with
    /// an argument in this set. Adjoints of other records are never computed.
    pub reach: Bits<'s>,
    /// The inputs, and per word of `inputs` the inputs before it: an input's number
    /// (its place in `x`) without a scan.
    pub inputs: Bits<'s>,
    pub inputs_before: &'s [u32],
    /// Records past the highest output do not matter.
    pub end: u32,
}

impl<'s> Graph<'s> {
    /// Words of scratch [`Graph::build`] needs for `end` records.
    pub fn words(end: u32) -> usize {
        4 * (end as usize).div_ceil(32)
    }

    /// The number of input record `i`: the inputs recorded before it.
    pub fn input_number(&self, i: u32) -> u32 {
        let word = (i / 32) as usize;
        self.inputs_before[word] + (self.inputs.0[word] & ((1u32 << (i % 32)) - 1)).count_ones()
    }

    /// Marks the live records (outputs first, then, scanning down, the arguments of
    /// every live record: they precede it), then the reaching ones (scanning up).
    pub fn build<T: PortableFloat>(
        records: Records<'_, '_, T>,
        outputs: impl Iterator<Item = u32> + Clone,
        end: u32,
        words: &'s mut [u32],
    ) -> Result<Graph<'s>> {
        let quarter = words.len() / 4;
        let (live, rest) = words.split_at_mut(quarter);
        let (reach, rest) = rest.split_at_mut(quarter);
        let (inputs, inputs_before) = rest.split_at_mut(quarter);
        let mut count = 0;
        for i in 0..end {
            if i % 32 == 0 {
                inputs_before[(i / 32) as usize] = count;
            }
            if records.entry(i)?.op == Op::Input {
                inputs[(i / 32) as usize] |= 1 << (i % 32);
                count += 1;
            }
        }
        let mut graph = Graph {
            live: Bits(live),
            reach: Bits(reach),
            inputs: Bits(inputs),
            inputs_before,
            end,
        };
        for output in outputs {
            graph.live.set(output);
        }
        for i in (0..end).rev() {
            if !graph.live.get(i) {
                continue;
            }
            let entry = records.entry(i)?;
            if entry.kind() == RecordKind::Extension {
                return Err(Error::NotExportable(
                    "the outputs depend on tensor or checkpointed-segment records, which generated C cannot express",
                ));
            }
            for &slot in entry.arguments() {
                graph.live.set(entry.argument(slot));
            }
        }
        for i in 0..end {
            if !graph.live.get(i) {
                continue;
            }
            let entry = records.entry(i)?;
            let reaches = entry.op == Op::Input
                || entry
                    .arguments()
                    .iter()
                    .any(|&slot| graph.reach.get(entry.argument(slot)));
            if reaches {
                graph.reach.set(i);
            }
        }
        Ok(graph)
    }
}
