//! Matrix products: `matmul` with optional transposes, and the fused linear layer
//! `activation(x · W + b)`, both through the cache-blocked [`gemm`] kernel.
//!
//! Weights are stored `[in, out]`, so the forward product `x · W` needs no transpose.

use super::float::Float;
use super::node::Activation;
use super::node::{Kind, Node};
use super::param::take_stale_grad;
use crate::kernels::elementwise as ew;
use crate::kernels::gemm::{gemm, gemm_scratch_len, gemm_scratch_len_for, Transpose};
use crate::tape::Tape;

fn flag(transposed: bool) -> Transpose {
    if transposed {
        Transpose::Yes
    } else {
        Transpose::No
    }
}

/// The `(m, n, k)` of `op(a) · op(b)` for stored 2-D shapes.
pub(crate) fn matmul_dims(
    a: &[u32],
    b: &[u32],
    transpose_a: bool,
    transpose_b: bool,
) -> (usize, usize, usize, usize) {
    let (m, k) = if transpose_a {
        (a[1], a[0])
    } else {
        (a[0], a[1])
    };
    let (k2, n) = if transpose_b {
        (b[1], b[0])
    } else {
        (b[0], b[1])
    };
    (m as usize, n as usize, k as usize, k2 as usize)
}

/// Elements of scratch the forward, backward and tangent of a matmul or linear node need.
pub(crate) fn scratch_len<T: Float>(kind: Kind, m: usize, n: usize, k: usize) -> usize {
    let gemm = gemm_scratch_len::<T>(m, n, k)
        .max(gemm_scratch_len::<T>(m, k, n))
        .max(gemm_scratch_len::<T>(k, n, m));
    let gemm = gemm
        .max(gemm_scratch_len::<T>(n, k, m))
        .max(gemm_scratch_len::<T>(k, m, n));
    match kind {
        // The backward's `dz = g ⊙ act'(y)` and the tangent's `tz` take `m × n` more.
        Kind::Linear(_) => gemm + m * n,
        _ => gemm,
    }
}

/// Scratch elements of one `op(a)·op(b)` product, `m × n × k`.
fn product_scratch<T: Float>((_, tb): (bool, bool), (m, n, k): (usize, usize, usize)) -> usize {
    gemm_scratch_len_for::<T>(flag(tb), m, n, k)
}

/// `c = alpha·op(a)·op(b) + beta·c` with scratch from the tape (reserved when recorded).
#[allow(clippy::too_many_arguments)]
fn product<T: Float>(
    scratch: &mut [T],
    (ta, tb): (bool, bool),
    (m, n, k): (usize, usize, usize),
    a: &[T],
    b: &[T],
    beta: T,
    c: &mut [T],
) {
    let lda = if ta { m } else { k };
    let ldb = if tb { k } else { n };
    // Shapes were validated when the op was recorded, so this cannot fail.
    let _ = gemm(
        flag(ta),
        flag(tb),
        m,
        n,
        k,
        T::one(),
        a,
        lda.max(1),
        b,
        ldb.max(1),
        beta,
        c,
        n.max(1),
        scratch,
    );
}

/// The arguments of a matmul or linear node: `(a, b, bias)`.
type Operands<T> = (Node<T>, Node<T>, Option<Node<T>>);

/// Arguments of a matmul or linear node.
fn args<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> Option<Operands<T>> {
    let a = tape.node_at(node.args[0])?;
    let b = tape.node_at(node.args[1])?;
    let bias = if node.arg_count > 2 {
        tape.node_at(node.args[2])
    } else {
        None
    };
    Some((a, b, bias))
}

fn transposes(kind: Kind) -> (bool, bool) {
    match kind {
        Kind::MatMul {
            transpose_a,
            transpose_b,
        } => (transpose_a, transpose_b),
        _ => (false, false),
    }
}

pub(crate) fn forward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some((a, b, bias)) = args(tape, node) else {
        return;
    };
    let (ta, tb) = transposes(node.kind);
    let (m, n, k, _) = matmul_dims(a.shape.dims(), b.shape.dims(), ta, tb);
    // SAFETY: the output buffer is distinct from the arguments', which are only read.
    let (out, x, w) = unsafe {
        (
            core::slice::from_raw_parts_mut(node.value, node.len),
            a.value(),
            b.value(),
        )
    };
    let _ = tape.with_scratch(product_scratch::<T>((ta, tb), (m, n, k)), |scratch| {
        product(scratch, (ta, tb), (m, n, k), x, w, T::zero(), out)
    });
    if let (Kind::Linear(act), Some(bias)) = (node.kind, bias) {
        // SAFETY: the bias is only read.
        let bias = unsafe { bias.value() };
        // Lengths were checked when the op was recorded, so the kernels cannot fail.
        match act {
            Activation::Relu => {
                let _ = ew::bias_relu_in_place(m, n, out, bias);
            }
            Activation::Identity => {
                let _ = ew::bias_add_in_place(m, n, out, bias);
            }
            Activation::Tanh => T::bias_tanh_in_place(out, bias),
            _ => {
                let slope = T::from_f64(node.scalar);
                for row in out.chunks_exact_mut(n.max(1)) {
                    for (y, &b) in row.iter_mut().zip(bias) {
                        *y = act.value(*y + b, slope);
                    }
                }
            }
        }
    }
}

/// The `beta` for a product into `node`'s gradient: 1 to add to it, 0 to overwrite a
/// stale parameter gradient (which then counts as written).
fn accumulate<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) -> T {
    if take_stale_grad(tape, node) {
        T::zero()
    } else {
        T::one()
    }
}

pub(crate) fn backward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some((a, b, bias)) = args(tape, node) else {
        return;
    };
    if node.grad.is_null() {
        return;
    }
    let (ta, tb) = transposes(node.kind);
    let (m, n, k, _) = matmul_dims(a.shape.dims(), b.shape.dims(), ta, tb);
    // SAFETY: the node's gradient and value, and the arguments' values, are only read;
    // each argument gradient is taken alone below.
    let (g, y, x, w) = unsafe {
        (
            core::slice::from_raw_parts(node.grad, node.len),
            node.value(),
            a.value(),
            b.value(),
        )
    };
    // `dz = g ⊙ act'(y)` needs a buffer unless the activation is the identity.
    let extra = match node.kind {
        Kind::Linear(Activation::Identity) | Kind::MatMul { .. } => 0,
        _ => m * n,
    };
    // Scratch of the two products below, whichever of them runs.
    let products = if ta {
        product_scratch::<T>((tb, true), (k, m, n))
    } else {
        product_scratch::<T>((false, !tb), (m, k, n))
    }
    .max(if tb {
        product_scratch::<T>((true, ta), (n, k, m))
    } else {
        product_scratch::<T>((!ta, false), (k, n, m))
    });
    let _ = tape.with_scratch(extra + products, |scratch| {
        let (dz_buffer, scratch) = scratch.split_at_mut(extra);
        let dz: &[T] = match node.kind {
            Kind::Linear(Activation::Relu) => {
                // Lengths match (all m × n), so this cannot fail.
                let _ = ew::relu_backward(y, g, dz_buffer);
                dz_buffer
            }
            Kind::Linear(Activation::Identity) | Kind::MatMul { .. } => g,
            Kind::Linear(act) => {
                for ((dz, &g), &y) in dz_buffer.iter_mut().zip(g).zip(y) {
                    *dz = g * act.derivative_from_output(y);
                }
                dz_buffer
            }
            _ => g,
        };
        // SAFETY: see above.
        if let Some(da) = unsafe { a.grad_mut() } {
            // A stale parameter gradient is overwritten (beta = 0) instead of cleared
            // and added to.
            let beta = accumulate(tape, &a);
            if ta {
                // dA (stored k × m) += op(B) · dZᵀ
                product(scratch, (tb, true), (k, m, n), w, dz, beta, da);
            } else {
                // dA (m × k) += dZ · op(B)ᵀ
                product(scratch, (false, !tb), (m, k, n), dz, w, beta, da);
            }
        }
        // SAFETY: see above; `da` is no longer alive.
        if let Some(db) = unsafe { b.grad_mut() } {
            let beta = accumulate(tape, &b);
            if tb {
                // dB (stored n × k) += dZᵀ · op(A)
                product(scratch, (true, ta), (n, k, m), dz, x, beta, db);
            } else {
                // dB (k × n) += op(A)ᵀ · dZ
                product(scratch, (!ta, false), (k, n, m), x, dz, beta, db);
            }
        }
        if let Some(bias) = bias {
            // SAFETY: see above.
            if let Some(dbias) = unsafe { bias.grad_mut() } {
                // dz is m × n and the bias n long, so this cannot fail.
                let add = !take_stale_grad(tape, &bias);
                let _ = ew::bias_grad(m, n, dz, dbias, add);
            }
        }
    });
}

pub(crate) fn tangent<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some((a, b, bias)) = args(tape, node) else {
        return;
    };
    // SAFETY: the node's tangent is its own; argument buffers are only read.
    let Some(t) = (unsafe { node.tangent_mut() }) else {
        return;
    };
    let (ta, tb) = transposes(node.kind);
    let (m, n, k, _) = matmul_dims(a.shape.dims(), b.shape.dims(), ta, tb);
    // SAFETY: as above.
    let (y, x, w) = unsafe { (node.value(), a.value(), b.value()) };
    t.fill(T::zero());
    let _ = tape.with_scratch(product_scratch::<T>((ta, tb), (m, n, k)), |scratch| {
        if !a.tangent.is_null() {
            // SAFETY: the argument's tangent is only read.
            let tx = unsafe { core::slice::from_raw_parts(a.tangent, a.len) };
            product(scratch, (ta, tb), (m, n, k), tx, w, T::one(), t);
        }
        if !b.tangent.is_null() {
            // SAFETY: as above.
            let tw = unsafe { core::slice::from_raw_parts(b.tangent, b.len) };
            product(scratch, (ta, tb), (m, n, k), x, tw, T::one(), t);
        }
    });
    if let Kind::Linear(act) = node.kind {
        let tbias = bias.as_ref().map(super::elementwise::tangent_or_zero);
        for (i, (t, &y)) in t.iter_mut().zip(y).enumerate() {
            let tz = *t + tbias.as_ref().map_or(T::zero(), |tb| tb(i % n.max(1)));
            *t = tz * act.derivative_from_output(y);
        }
    }
}
