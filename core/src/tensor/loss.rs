//! Softmax and log-softmax along the last axis, and the two losses: cross-entropy from
//! class labels, and mean squared error. The losses are rank-0 tensors, so they are also
//! scalar variables.

use super::float::Float;
use super::node::{Kind, Node};
use crate::tape::Tape;

/// Writes `log_softmax(row)` into `out`, subtracting the row's maximum first so `exp`
/// cannot overflow.
fn log_softmax_row<T: Float>(row: &[T], out: &mut [T]) {
    let max = row.iter().fold(
        T::from_f64(f64::NEG_INFINITY),
        |m, &x| if x > m { x } else { m },
    );
    let sum = row.iter().fold(T::zero(), |s, &x| s + (x - max).exp());
    // `(x − max) − ln(sum)`, never `x − (ln(sum) + max)`: with large logits the latter
    // rounds `ln(sum)` away against `max` (softmax of [1e7, 1e7] in f32 gave 0.37 each).
    let log_sum = sum.ln();
    out.iter_mut()
        .zip(row)
        .for_each(|(o, &x)| *o = (x - max) - log_sum);
}

/// Row length (the last dimension) and row count.
fn rows<T: Float>(node: &Node<T>) -> (usize, usize) {
    let cols = node.shape.dims().last().map_or(1, |&d| d as usize).max(1);
    (cols, node.len / cols)
}

pub(crate) fn forward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some(a) = tape.node_at(node.args[0]) else {
        return;
    };
    // SAFETY: argument values are only read; the node's buffers are its own.
    let x = unsafe { a.value() };
    let (cols, count) = rows(&a);
    match node.kind {
        Kind::Softmax | Kind::LogSoftmax => {
            // SAFETY: as above.
            let out = unsafe { core::slice::from_raw_parts_mut(node.value, node.len) };
            for (row, out) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
                log_softmax_row(row, out);
                if node.kind == Kind::Softmax {
                    out.iter_mut().for_each(|o| *o = o.exp());
                }
            }
        }
        Kind::CrossEntropy => {
            // SAFETY: `saved` holds `a.len` probabilities and `labels` `count` labels,
            // both allocated with the node.
            let (probs, labels) = unsafe {
                (
                    core::slice::from_raw_parts_mut(node.saved, a.len),
                    core::slice::from_raw_parts(node.labels, count),
                )
            };
            let mut total = T::zero();
            for ((row, p), &label) in x
                .chunks_exact(cols)
                .zip(probs.chunks_exact_mut(cols))
                .zip(labels)
            {
                log_softmax_row(row, p);
                total -= p.get(label as usize).copied().unwrap_or(T::zero());
                p.iter_mut().for_each(|v| *v = v.exp());
            }
            // SAFETY: a rank-0 node's value is its record's value slot.
            unsafe { *node.value = total / T::from_f64(count.max(1) as f64) };
        }
        Kind::Mse => {
            let Some(b) = tape.node_at(node.args[1]) else {
                return;
            };
            // SAFETY: as above.
            let z = unsafe { b.value() };
            let sum = x
                .iter()
                .zip(z)
                .fold(T::zero(), |s, (&x, &z)| s + (x - z) * (x - z));
            // SAFETY: as above.
            unsafe { *node.value = sum / T::from_f64(a.len.max(1) as f64) };
        }
        _ => {}
    }
}

pub(crate) fn backward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some(a) = tape.node_at(node.args[0]) else {
        return;
    };
    if node.grad.is_null() {
        return;
    }
    let (cols, count) = rows(&a);
    // SAFETY: the node's own buffers are only read; argument gradients are distinct and
    // taken one at a time.
    let (g, y) = unsafe {
        (
            core::slice::from_raw_parts(node.grad, node.len),
            node.value(),
        )
    };
    match node.kind {
        Kind::Softmax | Kind::LogSoftmax => {
            // SAFETY: see above.
            let Some(ga) = (unsafe { a.grad_mut() }) else {
                return;
            };
            for ((ga, g), y) in ga
                .chunks_exact_mut(cols)
                .zip(g.chunks_exact(cols))
                .zip(y.chunks_exact(cols))
            {
                if node.kind == Kind::Softmax {
                    // dx = y ⊙ (g − Σ g⊙y)
                    let dot = g.iter().zip(y).fold(T::zero(), |s, (&g, &y)| s + g * y);
                    ga.iter_mut()
                        .zip(g)
                        .zip(y)
                        .for_each(|((d, &g), &y)| *d += y * (g - dot));
                } else {
                    // dx = g − softmax ⊙ Σ g
                    let sum = g.iter().fold(T::zero(), |s, &g| s + g);
                    ga.iter_mut()
                        .zip(g)
                        .zip(y)
                        .for_each(|((d, &g), &y)| *d += g - y.exp() * sum);
                }
            }
        }
        Kind::CrossEntropy => {
            // SAFETY: see `forward`.
            let (probs, labels) = unsafe {
                (
                    core::slice::from_raw_parts(node.saved, a.len),
                    core::slice::from_raw_parts(node.labels, count),
                )
            };
            // SAFETY: see above.
            let Some(ga) = (unsafe { a.grad_mut() }) else {
                return;
            };
            let scale = g[0] / T::from_f64(count.max(1) as f64);
            for ((ga, p), &label) in ga
                .chunks_exact_mut(cols)
                .zip(probs.chunks_exact(cols))
                .zip(labels)
            {
                ga.iter_mut().zip(p).for_each(|(d, &p)| *d += scale * p);
                if let Some(d) = ga.get_mut(label as usize) {
                    *d -= scale;
                }
            }
        }
        Kind::Mse => {
            let Some(b) = tape.node_at(node.args[1]) else {
                return;
            };
            // SAFETY: see above.
            let (x, z) = unsafe { (a.value(), b.value()) };
            let scale = g[0] * T::from_f64(2.0 / a.len.max(1) as f64);
            // SAFETY: see above.
            if let Some(ga) = unsafe { a.grad_mut() } {
                ga.iter_mut()
                    .zip(x)
                    .zip(z)
                    .for_each(|((d, &x), &z)| *d += scale * (x - z));
            }
            // SAFETY: see above; `ga` is no longer alive.
            if let Some(gb) = unsafe { b.grad_mut() } {
                gb.iter_mut()
                    .zip(x)
                    .zip(z)
                    .for_each(|((d, &x), &z)| *d -= scale * (x - z));
            }
        }
        _ => {}
    }
}

pub(crate) fn tangent<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some(a) = tape.node_at(node.args[0]) else {
        return;
    };
    // SAFETY: the node's tangent is its own; everything else is only read.
    let Some(t) = (unsafe { node.tangent_mut() }) else {
        return;
    };
    let ta = super::elementwise::tangent_or_zero(&a);
    let (cols, count) = rows(&a);
    // SAFETY: as above.
    let y = unsafe { node.value() };
    match node.kind {
        Kind::Softmax | Kind::LogSoftmax => {
            for r in 0..count {
                let row = r * cols..(r + 1) * cols;
                if node.kind == Kind::Softmax {
                    // t = y ⊙ (tx − Σ y⊙tx)
                    let dot = row.clone().fold(T::zero(), |s, i| s + y[i] * ta(i));
                    row.for_each(|i| t[i] = y[i] * (ta(i) - dot));
                } else {
                    // t = tx − Σ softmax⊙tx
                    let dot = row.clone().fold(T::zero(), |s, i| s + y[i].exp() * ta(i));
                    row.for_each(|i| t[i] = ta(i) - dot);
                }
            }
        }
        Kind::CrossEntropy => {
            // SAFETY: see `forward`.
            let (probs, labels) = unsafe {
                (
                    core::slice::from_raw_parts(node.saved, a.len),
                    core::slice::from_raw_parts(node.labels, count),
                )
            };
            let mut sum = T::zero();
            for (r, &label) in labels.iter().enumerate() {
                for c in 0..cols {
                    let i = r * cols + c;
                    let onehot = if c == label as usize {
                        T::one()
                    } else {
                        T::zero()
                    };
                    sum += (probs[i] - onehot) * ta(i);
                }
            }
            t[0] = sum / T::from_f64(count.max(1) as f64);
        }
        Kind::Mse => {
            let Some(b) = tape.node_at(node.args[1]) else {
                return;
            };
            let tb = super::elementwise::tangent_or_zero(&b);
            // SAFETY: as above.
            let (x, z) = unsafe { (a.value(), b.value()) };
            let sum = (0..a.len).fold(T::zero(), |s, i| s + (x[i] - z[i]) * (ta(i) - tb(i)));
            t[0] = sum * T::from_f64(2.0 / a.len.max(1) as f64);
        }
        _ => {}
    }
}
