//! What an optimizer is: the settings of SGD and Adam/AdamW, and their update rules on
//! one parameter's host buffers. No tape here: `optim.rs` runs them over a tape's
//! parameters, and the reference CPU device runs the same rules.

use super::float::Float;
use crate::error::{Error, Result};
use crate::kernels::elementwise as ew;

/// Stochastic gradient descent: `v = momentum·v + g + weight_decay·w; w −= lr·v`
/// (PyTorch's convention; with `momentum = 0` it is plain SGD).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
}

/// Adam, or AdamW when `decoupled_weight_decay` is set (the decay then multiplies the
/// weights directly instead of joining the gradient).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled_weight_decay: bool,
}

impl Default for Adam {
    fn default() -> Adam {
        Adam {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        }
    }
}

/// Which optimizer `Tape::set_optimizer` installs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    Sgd(Sgd),
    Adam(Adam),
}

/// The installed optimizer and how many steps it took (Adam's bias correction).
#[derive(Clone, Copy, Debug)]
pub(crate) struct OptimizerState {
    pub optimizer: Optimizer,
    pub steps: u64,
}

impl Optimizer {
    pub(crate) fn validate(&self) -> Result<()> {
        let finite_non_negative = |x: f64| x.is_finite() && x >= 0.0;
        let ok = match *self {
            Optimizer::Sgd(s) => {
                finite_non_negative(s.lr)
                    && (0.0..1.0).contains(&s.momentum)
                    && finite_non_negative(s.weight_decay)
            }
            Optimizer::Adam(a) => {
                finite_non_negative(a.lr)
                    && (0.0..1.0).contains(&a.beta1)
                    && (0.0..1.0).contains(&a.beta2)
                    && a.eps.is_finite()
                    && a.eps > 0.0
                    && finite_non_negative(a.weight_decay)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument("optimizer settings out of range (NaN, negative, or a momentum/beta outside [0, 1))"))
        }
    }

    /// State buffers per parameter.
    pub(crate) fn buffers(&self) -> usize {
        match *self {
            Optimizer::Sgd(s) if s.momentum == 0.0 => 0,
            Optimizer::Sgd(_) => 1,
            Optimizer::Adam(_) => 2,
        }
    }
}

pub(crate) fn sgd_update<T: Float>(s: Sgd, w: &mut [T], g: &[T], velocity: Option<&mut [T]>) {
    let (lr, momentum, decay) = (
        T::from_f64(s.lr),
        T::from_f64(s.momentum),
        T::from_f64(s.weight_decay),
    );
    // The buffers all hold the parameter's `len` elements, so the kernels cannot fail.
    let _ = match velocity {
        Some(v) => ew::sgd_momentum(
            &ew::SgdMomentum {
                lr,
                momentum,
                weight_decay: decay,
                nesterov: false,
            },
            w,
            g,
            v,
        ),
        None if s.weight_decay == 0.0 => ew::sgd(lr, w, g),
        None => ew::sgd_weight_decay(lr, decay, w, g),
    };
}

pub(crate) fn adam_update<T: Float>(
    a: Adam,
    steps: u64,
    w: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
) {
    let p = ew::Adam {
        lr: T::from_f64(a.lr),
        beta1: T::from_f64(a.beta1),
        beta2: T::from_f64(a.beta2),
        eps: T::from_f64(a.eps),
        weight_decay: T::from_f64(a.weight_decay),
        decoupled: a.decoupled_weight_decay,
    };
    // `steps` counts from 1 and the buffers have equal lengths: this cannot fail.
    let _ = ew::adam(&p, steps, w, g, m, v);
}
