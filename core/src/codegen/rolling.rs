//! Loop rolling: runs of records that repeat with a constant stride become loops in the
//! generated code, instead of one statement per record.
//!
//! A run is `repeats` iterations of `period` records from `start`. Record `k` of
//! iteration `r` (member `k`) has the op and operand of member `k` of iteration 0, and
//! each of its arguments is *linked* one of four ways, the same for every iteration:
//! to a member of the same iteration, to a member of the previous iteration (iteration
//! 0 then reads the record `period` before, outside the run), to one fixed record, or
//! to inputs recorded before the run, a constant number of inputs further each
//! iteration. Loops such as `Σ f(x[i], x[i+1])` record exactly this, whether the
//! inputs are recorded inside the loop or all before it.
//!
//! Each member is then classified by what reads it. Read only by its own iteration and
//! the next (and, for the last iteration, by records after the run), its value and
//! adjoint live in variables of the loop body and carry over to the next iteration; in
//! the reverse loop, which runs the iterations backwards, the values the partials need
//! are computed again from their arguments when that is a few additions and
//! multiplications. Anything else (a value read further away, or one that would cost a
//! transcendental to compute again) is *stored*: one element per iteration in the value
//! array `w`, its adjoint in `g`. Inputs are read from `x` wherever they are needed.
//!
//! The iterations evaluate the same statements in the same order as the records, and
//! the reverse loop adds the same terms to each adjoint in the same order as the
//! tape's sweep, so the results are the straight-line code's, bit for bit, with one
//! liberty: the loops start their adjoints at −0 instead of +0. `−0 + t` is `t` for
//! every `t`, so the compiler drops the addition (it cannot drop `+0 + t`, which turns
//! `−0` into `+0`), and a chain of first terms no longer waits on an addition each
//! iteration. The sums then differ from the tape's at most in the sign of a zero: a
//! partial sum that is zero is the only place the start shows, `s + t` is `t` for any
//! zero `s` and non-zero `t`, and a zero adjoint times a finite partial is a zero
//! either way (the partials that can be infinite are guarded by `adjoint != 0`, which
//! holds for neither zero). The tape's adjoints are never −0 (they start at +0), so
//! adding +0 where an input's adjoint is written to `x_bar` gives the tape's bits.

use super::graph::{Graph, Records};
use super::rules::rule;
use crate::error::Result;
use crate::op::Op;
use crate::portable::PortableFloat;
use crate::tape::RecordKind;

/// The longest period looked for: members are bits of a `u64`.
pub(super) const MAX_PERIOD: u32 = 64;
/// Shorter runs stay straight-line code: a loop would save little.
const MIN_REPEATS: u32 = 4;
const MIN_RECORDS: u32 = 32;

/// A rolled run and the classification of its members (bit `k` of each mask).
#[derive(Clone, Copy, Default, Debug)]
pub(super) struct Run {
    pub start: u32,
    pub period: u32,
    pub repeats: u32,
    /// Inputs recorded before `start`: the number of the run's first input.
    pub first_input: u32,
    /// Elements of `w` that runs before this one use.
    pub slot_base: u32,
    /// Members that are inputs / constants.
    pub inputs: u64,
    pub consts: u64,
    /// Members whose values are kept in `w`.
    pub stored: u64,
    /// Of those, the ones the forward pass itself reads back, whose adjoints are also
    /// kept, in `g` (the rest are stored for the reverse pass).
    pub stored_for_forward: u64,
    /// Members the next iteration reads.
    pub carried: u64,
    /// Members that records after the run (or the outputs) read, last iteration only.
    pub tail: u64,
    /// Members whose value the reverse loop computes (or loads) in each iteration.
    pub needed: u64,
}

/// How an argument of a member is linked (see the module's documentation).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Link {
    /// Member `k` of the same iteration.
    Same(u32),
    /// Member `k` of the previous iteration; iteration 0 reads `outside` instead.
    Previous { member: u32, outside: u32 },
    /// The same record in every iteration.
    Fixed(u32),
    /// Input `first + stride · r` of `x` in iteration `r`: inputs recorded one after
    /// the other before the run, outside any other run.
    Strided { first: u32, stride: u32 },
}

fn bit(k: u32) -> u64 {
    1 << k
}

fn below(k: u32) -> u64 {
    bit(k) - 1
}

impl Run {
    pub fn end(&self) -> u32 {
        self.start + self.period * self.repeats
    }

    /// (iteration, member) of a record of the run.
    pub fn place(&self, i: u32) -> (u32, u32) {
        (
            (i - self.start) / self.period,
            (i - self.start) % self.period,
        )
    }

    /// Member `k`'s record in the last iteration.
    pub fn last(&self, k: u32) -> u32 {
        self.start + k + (self.repeats - 1) * self.period
    }

    pub fn is_input(&self, k: u32) -> bool {
        self.inputs & bit(k) != 0
    }

    pub fn is_const(&self, k: u32) -> bool {
        self.consts & bit(k) != 0
    }

    pub fn is_stored(&self, k: u32) -> bool {
        self.stored & bit(k) != 0
    }

    /// Whether member `k`'s adjoint is kept in `g`: when records beyond the next
    /// iteration read it (those stored for the reverse pass alone keep theirs in the
    /// loop body).
    pub fn adjoint_stored(&self, k: u32) -> bool {
        self.stored_for_forward & bit(k) != 0
    }

    /// Whether the forward pass writes member `k`'s value to `w`: when it reads it
    /// back, or when a reverse pass follows that does.
    pub fn writes_value(&self, k: u32, reverse_follows: bool) -> bool {
        let stored = if reverse_follows {
            self.stored
        } else {
            self.stored_for_forward
        };
        stored & !self.inputs & !self.consts & bit(k) != 0
    }

    /// Whether member `k`'s value lives on after its iteration in `vL`: the next
    /// iteration reads it, or records after the run read the last iteration's.
    pub fn has_value_carry(&self, k: u32) -> bool {
        !self.is_input(k) && !self.is_const(k) && (self.is_carried(k) || self.is_tail(k))
    }

    pub fn is_carried(&self, k: u32) -> bool {
        self.carried & bit(k) != 0
    }

    pub fn is_tail(&self, k: u32) -> bool {
        self.tail & bit(k) != 0
    }

    pub fn is_needed(&self, k: u32) -> bool {
        self.needed & bit(k) != 0
    }

    /// Inputs per iteration: the stride of the input numbers.
    pub fn input_stride(&self) -> u32 {
        self.inputs.count_ones()
    }

    /// The input number of member `k` (an input) in iteration 0.
    pub fn input_offset(&self, k: u32) -> u32 {
        self.first_input + (self.inputs & below(k)).count_ones()
    }

    pub fn input_number(&self, k: u32, r: u32) -> u32 {
        self.input_offset(k) + r * self.input_stride()
    }

    /// Elements of `w` per iteration.
    pub fn slot_stride(&self) -> u32 {
        self.stored.count_ones()
    }

    /// The element of `w` of member `k` (stored) in iteration 0.
    pub fn slot_offset(&self, k: u32) -> u32 {
        self.slot_base + (self.stored & below(k)).count_ones()
    }

    pub fn slot(&self, k: u32, r: u32) -> u32 {
        self.slot_offset(k) + r * self.slot_stride()
    }

    /// How argument `slot` (0: `a`, 1: `b`) of member `k` is linked.
    pub fn link<T: PortableFloat>(
        &self,
        records: Records<'_, '_, T>,
        graph: &Graph<'_>,
        k: u32,
        slot: usize,
    ) -> Result<Link> {
        let first = records.entry(self.start + k)?.argument(slot);
        let second = records.entry(self.start + k + self.period)?.argument(slot);
        Ok(if second == first {
            Link::Fixed(first)
        } else if second != first + self.period || first + self.period < self.start {
            Link::Strided {
                first: graph.input_number(first),
                stride: second - first,
            }
        } else if first >= self.start {
            Link::Same(first - self.start)
        } else {
            Link::Previous {
                member: first + self.period - self.start,
                outside: first,
            }
        })
    }
}

/// Finds the runs over the live records, in order, and hands each to `found`.
pub(super) fn find_runs<T: PortableFloat>(
    records: Records<'_, '_, T>,
    graph: &Graph<'_>,
    mut found: impl FnMut(Run),
) -> Result<()> {
    // Strided arguments read inputs after the last run found (before, they may be
    // members of a run, whose adjoints are not kept in `x_bar`).
    let (mut start, mut floor) = (0u32, 0u32);
    while start < graph.end {
        let mut best: Option<(u32, u32)> = None;
        if graph.live.get(start) {
            let op = records.entry(start)?.op;
            let first_op = first_op(records, start, graph.end.min(start + MAX_PERIOD))?;
            for period in 1..=MAX_PERIOD {
                if start as u64 + 2 * period as u64 > graph.end as u64 {
                    break;
                }
                if records.entry(start + period)?.op != op {
                    continue;
                }
                // Inputs and constants alone compute nothing: no loop for them.
                if first_op >= start + period {
                    continue;
                }
                let repeats = repeats(records, graph, floor, start, period)?;
                let covered = repeats * period;
                if repeats >= MIN_REPEATS
                    && covered >= MIN_RECORDS
                    && best.is_none_or(|(p, r)| covered > p * r)
                {
                    best = Some((period, repeats));
                }
            }
        }
        if let Some((period, repeats)) = best {
            found(Run {
                start,
                period,
                repeats,
                first_input: graph.input_number(start),
                ..Run::default()
            });
            start += period * repeats;
            floor = start;
        } else {
            start += 1;
        }
    }
    Ok(())
}

/// The first record from `start` on (before `end`, else `end`) that is neither an
/// input nor a constant.
fn first_op<T: PortableFloat>(records: Records<'_, '_, T>, start: u32, end: u32) -> Result<u32> {
    for i in start..end {
        if !matches!(records.entry(i)?.op, Op::Input | Op::Const) {
            return Ok(i);
        }
    }
    Ok(end)
}

/// How many iterations of `period` records from `start` repeat iteration 0 (at least 1).
fn repeats<T: PortableFloat>(
    records: Records<'_, '_, T>,
    graph: &Graph<'_>,
    floor: u32,
    start: u32,
    period: u32,
) -> Result<u32> {
    // Per argument: 0 not yet seen, 1 shifted by one period an iteration, 2 fixed,
    // 3 strided over inputs.
    let mut links = [0u8; 2 * MAX_PERIOD as usize];
    let mut strides = [0u64; 2 * MAX_PERIOD as usize];
    let mut r = 1u32;
    while start as u64 + (r as u64 + 1) * period as u64 <= graph.end as u64 {
        for k in 0..period {
            let (first, this) = (start + k, start + k + r * period);
            if !graph.live.get(first) || !graph.live.get(this) {
                return Ok(r);
            }
            if graph.reach.get(first) != graph.reach.get(this) {
                return Ok(r);
            }
            let (e0, e) = (records.entry(first)?, records.entry(this)?);
            let same_operand = match e.kind() {
                RecordKind::Const => e.value.to_bits_u64() == e0.value.to_bits_u64(),
                RecordKind::UnaryWithOperand => e.b == e0.b,
                RecordKind::WideConstant => e.constant.to_bits_u64() == e0.constant.to_bits_u64(),
                RecordKind::Extension => false,
                _ => true,
            };
            if e.op != e0.op || !same_operand {
                return Ok(r);
            }
            for &slot in e.arguments() {
                let (a0, a) = (e0.argument(slot) as u64, e.argument(slot) as u64);
                let shift = (r * period) as u64;
                let n = 2 * k as usize + slot;
                let linked = match links[n] {
                    // A shifted argument reads this iteration or the previous one.
                    0 if a == a0 + shift && a0 + shift >= start as u64 => {
                        links[n] = 1;
                        true
                    }
                    0 if a == a0 => {
                        links[n] = 2;
                        true
                    }
                    // Strides up to the longest period: checking the inputs between
                    // two reads stays cheap.
                    0 if a > a0 && a - a0 <= MAX_PERIOD as u64 && a0 >= floor as u64 => {
                        links[n] = 3;
                        strides[n] = a - a0;
                        inputs_between(records, a0, a, start)?
                    }
                    1 => a == a0 + shift,
                    2 => a == a0,
                    3 => {
                        a == a0 + strides[n] * r as u64
                            && inputs_between(records, a - strides[n], a, start)?
                    }
                    _ => false,
                };
                // The adjoint is computed for all iterations' arguments or for none.
                if !linked || graph.reach.get(a0 as u32) != graph.reach.get(a as u32) {
                    return Ok(r);
                }
            }
        }
        r += 1;
    }
    Ok(r)
}

/// Whether records `from..=to` are all inputs, before `start`.
fn inputs_between<T: PortableFloat>(
    records: Records<'_, '_, T>,
    from: u64,
    to: u64,
    start: u32,
) -> Result<bool> {
    if to >= start as u64 {
        return Ok(false);
    }
    for i in from..=to {
        if records.entry(i as u32)?.op != Op::Input {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Classifies the members of `runs` (found by [`find_runs`]) by what reads them, and
/// gives the stored ones their elements of `w`. Returns the length of `w`.
pub(super) fn classify<T: PortableFloat>(
    records: Records<'_, '_, T>,
    graph: &Graph<'_>,
    runs: &mut [Run],
    outputs: impl Iterator<Item = u32>,
) -> Result<u32> {
    for run in runs.iter_mut() {
        for k in 0..run.period {
            match records.entry(run.start + k)?.op {
                Op::Input => run.inputs |= bit(k),
                Op::Const => run.consts |= bit(k),
                _ => {}
            }
        }
    }
    let locate = |runs: &[Run], i: u32| {
        let after = runs.partition_point(|run| run.start <= i);
        after.checked_sub(1).filter(|&n| i < runs[n].end())
    };
    // What reads each member: its own iteration, the next, records after the run.
    for i in 0..graph.end {
        if !graph.live.get(i) {
            continue;
        }
        let entry = records.entry(i)?;
        for &slot in entry.arguments() {
            let target = entry.argument(slot);
            let Some(n) = locate(runs, target) else {
                continue;
            };
            let run = runs[n];
            let (rt, k) = run.place(target);
            let class = if i < run.end() {
                let (ri, j) = run.place(i);
                match ri - rt {
                    0 => 0,
                    1 if matches!(run.link(records, graph, j, slot)?, Link::Previous { .. }) => {
                        bit(k)
                    }
                    _ => {
                        runs[n].stored |= bit(k);
                        0
                    }
                }
            } else {
                outside_read(&mut runs[n], rt, k);
                0
            };
            runs[n].carried |= class;
        }
    }
    for output in outputs {
        if let Some(n) = locate(runs, output) {
            let (r, k) = runs[n].place(output);
            outside_read(&mut runs[n], r, k);
        }
    }
    let mut slots = 0u32;
    for run in runs.iter_mut() {
        run.stored_for_forward = run.stored;
        plan_reverse(records, graph, run)?;
        run.slot_base = slots;
        slots += run.slot_stride() * run.repeats;
    }
    Ok(slots)
}

/// A read from after the run: of the last iteration, a carried variable serves it;
/// of any other, only a stored element can.
fn outside_read(run: &mut Run, r: u32, k: u32) {
    if r + 1 == run.repeats {
        run.tail |= bit(k);
    } else {
        run.stored |= bit(k);
    }
}

/// Decides which values the reverse loop's body needs, and stores those it cannot
/// compute cheaply from its own iteration (repeated until nothing more is stored: a
/// stored member needs none of its arguments).
fn plan_reverse<T: PortableFloat>(
    records: Records<'_, '_, T>,
    graph: &Graph<'_>,
    run: &mut Run,
) -> Result<()> {
    loop {
        let stored = run.stored;
        run.needed = 0;
        for k in (0..run.period).rev() {
            let i = run.start + k;
            let entry = records.entry(i)?;
            if let (true, Some(rule)) = (graph.reach.get(i), rule(entry.op, entry.b as i32)) {
                for &slot in entry.arguments() {
                    if !graph.reach.get(entry.argument(slot)) {
                        continue;
                    }
                    let partial = if slot == 0 {
                        rule.partial_a
                    } else {
                        rule.partial_b
                    };
                    if partial.contains("{y}") {
                        run.needed |= bit(k);
                    }
                    for (key, read) in [("{a}", 0), ("{b}", 1)] {
                        if partial.contains(key) {
                            need(records, graph, run, k, read)?;
                        }
                    }
                }
            }
            let computed = !run.is_stored(k) && !run.is_input(k) && !run.is_const(k);
            if run.is_needed(k) && computed {
                if cheap(entry.op) {
                    for &slot in entry.arguments() {
                        need(records, graph, run, k, slot)?;
                    }
                } else {
                    run.stored |= bit(k);
                }
            }
        }
        if run.stored == stored {
            return Ok(());
        }
    }
}

/// The reverse body of iteration `r` reads argument `slot` of member `k`: a member of
/// the same iteration is computed too, one of the previous iteration must be stored.
fn need<T: PortableFloat>(
    records: Records<'_, '_, T>,
    graph: &Graph<'_>,
    run: &mut Run,
    k: u32,
    slot: usize,
) -> Result<()> {
    match run.link(records, graph, k, slot)? {
        Link::Same(member) => run.needed |= bit(member),
        Link::Previous { member, .. } => {
            if !run.is_input(member) && !run.is_const(member) {
                run.stored |= bit(member);
            }
        }
        Link::Fixed(_) | Link::Strided { .. } => {}
    }
    Ok(())
}

/// Ops worth computing again in the reverse loop rather than storing.
fn cheap(op: Op) -> bool {
    matches!(
        op,
        Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Neg
            | Op::Min
            | Op::Max
            | Op::Abs
            | Op::AddConst
            | Op::MulConst
            | Op::ConstSub
    )
}
