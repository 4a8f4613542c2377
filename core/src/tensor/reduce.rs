//! Reductions (`sum`, `mean`, over everything or along an axis) and the ops that only
//! move elements (`reshape`, 2-D `transpose`).

use super::float::Float;
use super::node::{Kind, Node};
use crate::shape::Shape;
use crate::tape::Tape;

/// `(outer, axis length, inner)` of `shape` split at `axis`: element `(o, i, j)` is at
/// `(o·len + i)·inner + j`.
pub(crate) fn split_at_axis(shape: &Shape, axis: usize) -> (usize, usize, usize) {
    let dims = shape.dims();
    let outer = dims[..axis].iter().map(|&d| d as usize).product();
    let inner = dims[axis + 1..].iter().map(|&d| d as usize).product();
    (outer, dims[axis] as usize, inner)
}

/// How each output element maps to input elements, shared by forward, backward and
/// tangent so the three can never disagree on layout.
enum Layout {
    /// Output `o·inner + j` gathers inputs `(o·len + i)·inner + j` for every `i < len`,
    /// weighted by `scale`: 1 for a sum, `1/len` for a mean.
    Reduce {
        outer: usize,
        len: usize,
        inner: usize,
        scale: f64,
    },
    /// Output `o` is input `o` (reshape).
    Same,
    /// Output `(r, c)` of a `cols × rows` result is input `(c, r)`.
    Transpose { rows: usize, cols: usize },
}

fn layout<T: Float>(node: &Node<T>, input: &Node<T>) -> Layout {
    let count = input.len;
    match node.kind {
        Kind::Sum => Layout::Reduce {
            outer: 1,
            len: count,
            inner: 1,
            scale: 1.0,
        },
        Kind::Mean => Layout::Reduce {
            outer: 1,
            len: count,
            inner: 1,
            scale: 1.0 / count.max(1) as f64,
        },
        Kind::SumAxis(axis) | Kind::MeanAxis(axis) => {
            let (outer, len, inner) = split_at_axis(&input.shape, axis as usize);
            let scale = if matches!(node.kind, Kind::MeanAxis(_)) {
                1.0 / len.max(1) as f64
            } else {
                1.0
            };
            Layout::Reduce {
                outer,
                len,
                inner,
                scale,
            }
        }
        Kind::Transpose => {
            let dims = input.shape.dims();
            Layout::Transpose {
                rows: dims[0] as usize,
                cols: dims[1] as usize,
            }
        }
        _ => Layout::Same,
    }
}

/// Calls `f(output_index, input_index, weight)` for every pair the layout connects.
fn for_each_pair(layout: &Layout, count: usize, mut f: impl FnMut(usize, usize, f64)) {
    // A tensor with no elements may still have a huge dimension beside its zero one:
    // return at once rather than loop over it with nothing to do.
    if count == 0 {
        return;
    }
    match *layout {
        Layout::Reduce {
            outer,
            len,
            inner,
            scale,
        } => {
            for o in 0..outer {
                for i in 0..len {
                    for j in 0..inner {
                        f(o * inner + j, (o * len + i) * inner + j, scale);
                    }
                }
            }
        }
        Layout::Same => (0..count).for_each(|i| f(i, i, 1.0)),
        Layout::Transpose { rows, cols } => {
            for r in 0..rows {
                for c in 0..cols {
                    f(c * rows + r, r * cols + c, 1.0);
                }
            }
        }
    }
}

pub(crate) fn forward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some(input) = tape.node_at(node.args[0]) else {
        return;
    };
    // SAFETY: the output buffer is distinct from the input, which is only read.
    let (out, x) = unsafe {
        (
            core::slice::from_raw_parts_mut(node.value, node.len),
            input.value(),
        )
    };
    out.fill(T::zero());
    for_each_pair(&layout(node, &input), input.len, |o, i, w| {
        out[o] += x[i] * T::from_f64(w)
    });
}

pub(crate) fn backward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some(input) = tape.node_at(node.args[0]) else {
        return;
    };
    if node.grad.is_null() {
        return;
    }
    // SAFETY: the node's gradient is only read; the input's gradient is a distinct buffer.
    let g = unsafe { core::slice::from_raw_parts(node.grad, node.len) };
    // SAFETY: as above.
    if let Some(gx) = unsafe { input.grad_mut() } {
        for_each_pair(&layout(node, &input), input.len, |o, i, w| {
            gx[i] += g[o] * T::from_f64(w)
        });
    }
}

pub(crate) fn tangent<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some(input) = tape.node_at(node.args[0]) else {
        return;
    };
    // SAFETY: the node's tangent is its own.
    let Some(t) = (unsafe { node.tangent_mut() }) else {
        return;
    };
    let tx = super::elementwise::tangent_or_zero(&input);
    t.fill(T::zero());
    for_each_pair(&layout(node, &input), input.len, |o, i, w| {
        t[o] += tx(i) * T::from_f64(w)
    });
}
