//! Elementwise ops: activations, `scale`, and `+ - * /` with broadcasting.

use super::broadcast::for_each_broadcast;
use super::float::Float;
use super::node::{Activation, Kind, Node};
use crate::op::Op;
use crate::real::Real;
use crate::tape::Tape;

impl Activation {
    /// `f(x)`; `slope` is the leaky ReLU's negative slope.
    #[inline(always)]
    pub(crate) fn value<T: Real>(self, x: T, slope: T) -> T {
        let zero = T::zero();
        match self {
            Activation::Identity => x,
            Activation::Relu => {
                if x > zero {
                    x
                } else {
                    zero
                }
            }
            Activation::LeakyRelu => {
                if x > zero {
                    x
                } else {
                    x * slope
                }
            }
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Gelu => x * normal_cdf(x),
            Activation::Exp => x.exp(),
            Activation::Log => x.ln(),
            Activation::Sqrt => x.sqrt(),
            Activation::Square => x * x,
        }
    }

    /// `f'(x)` given `x` and `y = f(x)`. ReLU's derivative at 0 is 0, as PyTorch's.
    /// The comparisons compile to selects, not branches.
    #[inline(always)]
    pub(crate) fn derivative<T: Real>(self, x: T, y: T, slope: T) -> T {
        let (zero, one) = (T::zero(), T::one());
        match self {
            Activation::Identity => one,
            Activation::Relu => {
                if x > zero {
                    one
                } else {
                    zero
                }
            }
            Activation::LeakyRelu => {
                if x > zero {
                    one
                } else {
                    slope
                }
            }
            Activation::Sigmoid => Op::Sigmoid.unary_partial(x, y, 0),
            Activation::Tanh => Op::Tanh.unary_partial(x, y, 0),
            Activation::Gelu => {
                let density = T::from_f64(
                    0.5 * core::f64::consts::FRAC_2_SQRT_PI * core::f64::consts::FRAC_1_SQRT_2,
                ) * (-(x * x) * T::from_f64(0.5)).exp();
                normal_cdf(x) + x * density
            }
            Activation::Exp => y,
            Activation::Log => Op::Ln.unary_partial(x, y, 0),
            Activation::Sqrt => Op::Sqrt.unary_partial(x, y, 0),
            Activation::Square => x + x,
        }
    }

    /// `f'` from the output alone, for activations where that is possible (ReLU's mask is
    /// `y > 0`). Others return `derivative(y, y, 0)`, which callers avoid.
    #[inline(always)]
    pub(crate) fn derivative_from_output<T: Real>(self, y: T) -> T {
        let (zero, one) = (T::zero(), T::one());
        match self {
            Activation::Relu => {
                if y > zero {
                    one
                } else {
                    zero
                }
            }
            Activation::Sigmoid => y * (one - y),
            Activation::Tanh => one - y * y,
            Activation::Exp => y,
            _ => one,
        }
    }
}

/// Φ(x), the standard normal CDF.
fn normal_cdf<T: Real>(x: T) -> T {
    T::from_f64(0.5) * (T::one() + (x * T::from_f64(core::f64::consts::FRAC_1_SQRT_2)).erf())
}

pub(crate) fn forward<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some(a) = tape.node_at(node.args[0]) else {
        return;
    };
    // SAFETY: a node's value buffer is distinct from its arguments' buffers.
    let out = unsafe { core::slice::from_raw_parts_mut(node.value, node.len) };
    // SAFETY: argument values are not written while this node computes.
    let x = unsafe { a.value() };
    let c = T::from_f64(node.scalar);
    match node.kind {
        Kind::Unary(act) => out
            .iter_mut()
            .zip(x)
            .for_each(|(y, &x)| *y = act.value(x, c)),
        Kind::Scale => out.iter_mut().zip(x).for_each(|(y, &x)| *y = x * c),
        Kind::Binary(op) => {
            let Some(b) = tape.node_at(node.args[1]) else {
                return;
            };
            // SAFETY: as for `x`.
            let z = unsafe { b.value() };
            if a.shape == b.shape {
                for ((y, &x), &z) in out.iter_mut().zip(x).zip(z) {
                    *y = op.eval_binary(x, z);
                }
            } else {
                for_each_broadcast(&node.shape, &a.shape, &b.shape, |o, i, j| {
                    out[o] = op.eval_binary(x[i], z[j])
                });
            }
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
    // SAFETY: the node's own gradient and value are only read here; argument gradients
    // are distinct buffers, taken one at a time (an argument may appear twice).
    let (g, y, x) = unsafe {
        (
            core::slice::from_raw_parts(node.grad, node.len),
            node.value(),
            a.value(),
        )
    };
    let c = T::from_f64(node.scalar);
    match node.kind {
        Kind::Unary(act) => {
            // SAFETY: see above.
            if let Some(ga) = unsafe { a.grad_mut() } {
                for (((ga, &g), &x), &y) in ga.iter_mut().zip(g).zip(x).zip(y) {
                    *ga += g * act.derivative(x, y, c);
                }
            }
        }
        Kind::Scale => {
            // SAFETY: see above.
            if let Some(ga) = unsafe { a.grad_mut() } {
                ga.iter_mut().zip(g).for_each(|(ga, &g)| *ga += g * c);
            }
        }
        Kind::Binary(op) => {
            let Some(b) = tape.node_at(node.args[1]) else {
                return;
            };
            // SAFETY: see above.
            let z = unsafe { b.value() };
            let same = a.shape == b.shape;
            // One argument at a time, so `x * x` never holds two `&mut` to one buffer.
            // SAFETY: see above.
            if let Some(ga) = unsafe { a.grad_mut() } {
                if same {
                    for i in 0..node.len {
                        ga[i] += g[i] * op.binary_partials(x[i], z[i], y[i]).0;
                    }
                } else {
                    for_each_broadcast(&node.shape, &a.shape, &b.shape, |o, i, j| {
                        ga[i] += g[o] * op.binary_partials(x[i], z[j], y[o]).0
                    });
                }
            }
            // SAFETY: see above; `ga` is no longer alive.
            if let Some(gb) = unsafe { b.grad_mut() } {
                if same {
                    for i in 0..node.len {
                        gb[i] += g[i] * op.binary_partials(x[i], z[i], y[i]).1;
                    }
                } else {
                    for_each_broadcast(&node.shape, &a.shape, &b.shape, |o, i, j| {
                        gb[j] += g[o] * op.binary_partials(x[i], z[j], y[o]).1
                    });
                }
            }
        }
        _ => {}
    }
}

pub(crate) fn tangent<T: Float>(tape: &Tape<'_, T>, node: &Node<T>) {
    let Some(a) = tape.node_at(node.args[0]) else {
        return;
    };
    // SAFETY: the node's tangent is distinct from its arguments' buffers.
    let Some(t) = (unsafe { node.tangent_mut() }) else {
        return;
    };
    // SAFETY: argument buffers are only read.
    let (y, x) = unsafe { (node.value(), a.value()) };
    let ta = tangent_or_zero(&a);
    let c = T::from_f64(node.scalar);
    match node.kind {
        Kind::Unary(act) => {
            for i in 0..node.len {
                t[i] = ta(i) * act.derivative(x[i], y[i], c);
            }
        }
        Kind::Scale => (0..node.len).for_each(|i| t[i] = ta(i) * c),
        Kind::Binary(op) => {
            let Some(b) = tape.node_at(node.args[1]) else {
                return;
            };
            // SAFETY: as above.
            let z = unsafe { b.value() };
            let tb = tangent_or_zero(&b);
            for_each_broadcast(&node.shape, &a.shape, &b.shape, |o, i, j| {
                let (da, db) = op.binary_partials(x[i], z[j], y[o]);
                t[o] = da * ta(i) + db * tb(j);
            });
        }
        _ => {}
    }
}

/// Element `i` of `node`'s tangent, zero when it has none (constants, unseeded leaves).
pub(crate) fn tangent_or_zero<T: Float>(node: &Node<T>) -> impl Fn(usize) -> T + '_ {
    move |i| {
        if node.tangent.is_null() || i >= node.len {
            T::zero()
        } else {
            // SAFETY: `i < len`, and the tangent buffer is only read here.
            unsafe { *node.tangent.add(i) }
        }
    }
}
