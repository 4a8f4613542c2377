//! Fused elementwise kernels for an MLP training step.
//!
//! Each kernel is a plain loop over slices, generic over [`Real`] (so `f32`, `f64`
//! and dual numbers all work) and written without data-dependent branches so that it
//! auto-vectorises: the ReLU mask, for instance, is a select (`cmp` + `and` in the
//! machine code), never a jump. On x86-64 each loop body is compiled a second and a
//! third time inside AVX2 and AVX-512 functions and the widest the CPU supports is
//! picked at run time; results are identical on every path (no fused multiply-adds
//! are introduced and no reduction is reordered).
//!
//! Matrices are row-major and dense: a `rows × cols` matrix is a slice of exactly
//! `rows·cols` elements. Every length is checked up front; a mismatch is an
//! [`Error::InvalidArgument`], an element count that overflows is
//! [`Error::SizeOverflow`].

use crate::{Error, Real, Result};

#[cfg(target_arch = "x86_64")]
use super::cpu_features::{detected_isa, Isa};

/// Runs `f` compiled for the widest SIMD level the CPU supports. `f` and what it calls
/// with `#[inline(always)]` are inlined into a `#[target_feature]` function, so the
/// compiler vectorises them for that level.
#[inline(always)]
fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    match detected_isa() {
        // SAFETY: detection confirmed AVX-512F, AVX2 and FMA and their OS support.
        Isa::Avx512 => return unsafe { with_avx512(f) },
        // SAFETY: detection confirmed AVX2 and FMA and their OS support.
        Isa::Avx2Fma => return unsafe { with_avx2(f) },
        Isa::Scalar => {}
    }
    f()
}

/// # Safety
/// The CPU must support AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `rows·cols`, or [`Error::SizeOverflow`].
fn count(rows: usize, cols: usize) -> Result<usize> {
    rows.checked_mul(cols).ok_or(Error::SizeOverflow)
}

fn check_len(len: usize, want: usize, what: &'static str) -> Result<()> {
    if len == want {
        Ok(())
    } else {
        Err(Error::InvalidArgument(what))
    }
}

/// `max(s, 0)` as a select: NaN maps to 0.
#[inline(always)]
fn relu<T: Real>(s: T) -> T {
    if s > T::zero() {
        s
    } else {
        T::zero()
    }
}

// ---------------------------------------------------------------------------------
// Forward: bias and ReLU.

/// `y[i, j] = max(x[i, j] + bias[j], 0)` for a `rows × cols` matrix `x`.
///
/// # Errors
/// [`Error::InvalidArgument`] unless `x.len() == y.len() == rows·cols` and
/// `bias.len() == cols`.
pub fn bias_relu<T: Real>(
    rows: usize,
    cols: usize,
    x: &[T],
    bias: &[T],
    y: &mut [T],
) -> Result<()> {
    let n = count(rows, cols)?;
    check_len(x.len(), n, "bias_relu: x is not rows*cols long")?;
    check_len(y.len(), n, "bias_relu: y is not rows*cols long")?;
    check_len(bias.len(), cols, "bias_relu: bias is not cols long")?;
    if n == 0 {
        return Ok(());
    }
    simd(move || bias_relu_body(cols, x, bias, y));
    Ok(())
}

#[inline(always)]
fn bias_relu_body<T: Real>(cols: usize, x: &[T], bias: &[T], y: &mut [T]) {
    for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
        for ((yv, &xv), &b) in yr.iter_mut().zip(xr).zip(bias) {
            *yv = relu(xv + b);
        }
    }
}

/// `y[i, j] = max(y[i, j] + bias[j], 0)` in place (e.g. on a GEMM's output).
///
/// # Errors
/// [`Error::InvalidArgument`] unless `y.len() == rows·cols` and `bias.len() == cols`.
pub fn bias_relu_in_place<T: Real>(
    rows: usize,
    cols: usize,
    y: &mut [T],
    bias: &[T],
) -> Result<()> {
    let n = count(rows, cols)?;
    check_len(y.len(), n, "bias_relu_in_place: y is not rows*cols long")?;
    check_len(
        bias.len(),
        cols,
        "bias_relu_in_place: bias is not cols long",
    )?;
    if n == 0 {
        return Ok(());
    }
    simd(move || {
        for yr in y.chunks_exact_mut(cols) {
            for (yv, &b) in yr.iter_mut().zip(bias) {
                *yv = relu(*yv + b);
            }
        }
    });
    Ok(())
}

/// `y[i, j] += bias[j]` in place (a linear layer without activation).
///
/// # Errors
/// [`Error::InvalidArgument`] unless `y.len() == rows·cols` and `bias.len() == cols`.
pub fn bias_add_in_place<T: Real>(rows: usize, cols: usize, y: &mut [T], bias: &[T]) -> Result<()> {
    let n = count(rows, cols)?;
    check_len(y.len(), n, "bias_add_in_place: y is not rows*cols long")?;
    check_len(bias.len(), cols, "bias_add_in_place: bias is not cols long")?;
    if n == 0 {
        return Ok(());
    }
    simd(move || {
        for yr in y.chunks_exact_mut(cols) {
            for (yv, &b) in yr.iter_mut().zip(bias) {
                *yv += b;
            }
        }
    });
    Ok(())
}

/// `y[i, j] = tanh(y[i, j] + bias[j])` in place over rows of `bias.len()` elements,
/// bitwise as `libm::tanhf` (see [`super::tanh`]), vectorised.
pub(crate) fn bias_tanh_in_place_f32(y: &mut [f32], bias: &[f32]) {
    #[inline(always)]
    fn rows(y: &mut [f32], bias: &[f32]) {
        for yr in y.chunks_exact_mut(bias.len().max(1)) {
            for (yv, &b) in yr.iter_mut().zip(bias) {
                *yv = super::tanh::tanhf(*yv + b);
            }
        }
    }
    // The loop body is large, so a closure passed to `simd` is compiled apart from the
    // target-feature function and does not vectorise; these wrappers inline it instead.
    /// # Safety
    /// The CPU must support AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn rows_avx512(y: &mut [f32], bias: &[f32]) {
        rows(y, bias)
    }
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows_avx2(y: &mut [f32], bias: &[f32]) {
        rows(y, bias)
    }
    #[cfg(target_arch = "x86_64")]
    match detected_isa() {
        // SAFETY: detection confirmed AVX-512F, AVX2 and FMA and their OS support.
        Isa::Avx512 => return unsafe { rows_avx512(y, bias) },
        // SAFETY: detection confirmed AVX2 and FMA and their OS support.
        Isa::Avx2Fma => return unsafe { rows_avx2(y, bias) },
        Isa::Scalar => {}
    }
    rows(y, bias)
}

// ---------------------------------------------------------------------------------
// Backward: the ReLU mask and the bias gradient.

/// `grad_in = grad_out · (y > 0)`, where `y` is the ReLU's output (or its input: the
/// sign is the same). Written as a select, so it compiles to a compare and a mask, not
/// a branch; where `y ≤ 0` (or NaN) the result is exactly 0 even if `grad_out` is not
/// finite.
///
/// # Errors
/// [`Error::InvalidArgument`] unless all three slices have the same length.
pub fn relu_backward<T: Real>(y: &[T], grad_out: &[T], grad_in: &mut [T]) -> Result<()> {
    check_len(
        grad_out.len(),
        y.len(),
        "relu_backward: grad_out and y differ in length",
    )?;
    check_len(
        grad_in.len(),
        y.len(),
        "relu_backward: grad_in and y differ in length",
    )?;
    simd(move || {
        for ((gi, &g), &yv) in grad_in.iter_mut().zip(grad_out).zip(y) {
            *gi = if yv > T::zero() { g } else { T::zero() };
        }
    });
    Ok(())
}

/// `grad *= (y > 0)` in place; see [`relu_backward`].
///
/// # Errors
/// [`Error::InvalidArgument`] unless `y` and `grad` have the same length.
pub fn relu_backward_in_place<T: Real>(y: &[T], grad: &mut [T]) -> Result<()> {
    check_len(
        grad.len(),
        y.len(),
        "relu_backward_in_place: grad and y differ in length",
    )?;
    simd(move || {
        for (g, &yv) in grad.iter_mut().zip(y) {
            *g = if yv > T::zero() { *g } else { T::zero() };
        }
    });
    Ok(())
}

/// Bias gradient: the column sums of the `rows × cols` matrix `dc`, written to `db`
/// (`accumulate == false`) or added to it (`accumulate == true`). Rows are summed in
/// order.
///
/// # Errors
/// [`Error::InvalidArgument`] unless `dc.len() == rows·cols` and `db.len() == cols`.
pub fn bias_grad<T: Real>(
    rows: usize,
    cols: usize,
    dc: &[T],
    db: &mut [T],
    accumulate: bool,
) -> Result<()> {
    let n = count(rows, cols)?;
    check_len(dc.len(), n, "bias_grad: dc is not rows*cols long")?;
    check_len(db.len(), cols, "bias_grad: db is not cols long")?;
    if !accumulate {
        db.fill(T::zero());
    }
    if n == 0 {
        return Ok(());
    }
    simd(move || {
        for row in dc.chunks_exact(cols) {
            for (d, &v) in db.iter_mut().zip(row) {
                *d += v;
            }
        }
    });
    Ok(())
}

// ---------------------------------------------------------------------------------
// Optimizer updates.

/// Plain SGD: `w -= lr·g`.
///
/// # Errors
/// [`Error::InvalidArgument`] unless `w` and `g` have the same length.
pub fn sgd<T: Real>(lr: T, w: &mut [T], g: &[T]) -> Result<()> {
    check_len(g.len(), w.len(), "sgd: w and g differ in length")?;
    simd(move || {
        for (wv, &gv) in w.iter_mut().zip(g) {
            *wv -= lr * gv;
        }
    });
    Ok(())
}

/// SGD with L2 weight decay: `w -= lr·(g + weight_decay·w)`.
///
/// # Errors
/// [`Error::InvalidArgument`] unless `w` and `g` have the same length.
pub fn sgd_weight_decay<T: Real>(lr: T, weight_decay: T, w: &mut [T], g: &[T]) -> Result<()> {
    check_len(
        g.len(),
        w.len(),
        "sgd_weight_decay: w and g differ in length",
    )?;
    simd(move || {
        for (wv, &gv) in w.iter_mut().zip(g) {
            *wv -= lr * (gv + weight_decay * *wv);
        }
    });
    Ok(())
}

/// Hyper-parameters of [`sgd_momentum`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdMomentum<T> {
    pub lr: T,
    pub momentum: T,
    /// L2 weight decay added to the gradient (0 for none).
    pub weight_decay: T,
    /// Nesterov momentum: step along `d + momentum·v` instead of `v`.
    pub nesterov: bool,
}

/// SGD with momentum, as PyTorch defines it (no dampening):
/// `d = g + weight_decay·w; v = momentum·v + d; w -= lr·(nesterov ? d + momentum·v : v)`.
/// Start with `velocity` all zero.
///
/// # Errors
/// [`Error::InvalidArgument`] unless `w`, `g` and `velocity` have the same length.
pub fn sgd_momentum<T: Real>(
    p: &SgdMomentum<T>,
    w: &mut [T],
    g: &[T],
    velocity: &mut [T],
) -> Result<()> {
    check_len(g.len(), w.len(), "sgd_momentum: w and g differ in length")?;
    check_len(
        velocity.len(),
        w.len(),
        "sgd_momentum: w and velocity differ in length",
    )?;
    let SgdMomentum {
        lr,
        momentum,
        weight_decay,
        nesterov,
    } = *p;
    simd(move || {
        for ((wv, &gv), v) in w.iter_mut().zip(g).zip(velocity.iter_mut()) {
            let d = gv + weight_decay * *wv;
            let vn = momentum * *v + d;
            *v = vn;
            let step = if nesterov { d + momentum * vn } else { vn };
            *wv -= lr * step;
        }
    });
    Ok(())
}

/// Hyper-parameters of [`adam`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam<T> {
    pub lr: T,
    pub beta1: T,
    pub beta2: T,
    pub eps: T,
    /// Weight decay (0 for none): L2 on the gradient for Adam, decoupled for AdamW.
    pub weight_decay: T,
    /// `true`: AdamW (`w -= lr·weight_decay·w` before the step); `false`: Adam with L2.
    pub decoupled: bool,
}

impl<T: Real> Adam<T> {
    /// PyTorch's defaults (`beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-8`, no decay).
    pub fn new(lr: T) -> Self {
        Adam {
            lr,
            beta1: T::from_f64(0.9),
            beta2: T::from_f64(0.999),
            eps: T::from_f64(1e-8),
            weight_decay: T::zero(),
            decoupled: false,
        }
    }
}

/// One Adam/AdamW step with bias correction; `step` counts from 1, and `m`, `v` start
/// all zero:
/// `m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
/// w -= lr·(m / (1−β1^step)) / (sqrt(v / (1−β2^step)) + eps)`.
///
/// # Errors
/// [`Error::InvalidArgument`] if `step == 0` or the slices differ in length.
pub fn adam<T: Real>(
    p: &Adam<T>,
    step: u64,
    w: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
) -> Result<()> {
    if step == 0 {
        return Err(Error::InvalidArgument("adam: step counts from 1"));
    }
    check_len(g.len(), w.len(), "adam: w and g differ in length")?;
    check_len(m.len(), w.len(), "adam: w and m differ in length")?;
    check_len(v.len(), w.len(), "adam: w and v differ in length")?;
    let one = T::one();
    let t = T::from_f64(step as f64);
    let bc1 = one - p.beta1.powf(t);
    let bc2 = one - p.beta2.powf(t);
    let step_size = p.lr / bc1;
    let inv_sqrt_bc2 = one / bc2.sqrt();
    let (b1, b2, eps, wd) = (p.beta1, p.beta2, p.eps, p.weight_decay);
    let (l2, decay) = if p.decoupled {
        (T::zero(), one - p.lr * wd)
    } else {
        (wd, one)
    };
    // sqrt goes through `Real::sqrt` (libm), which is not vectorised; the rest of the
    // loop is.
    simd(move || {
        for (((wv, &gv), mv), vv) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let gr = gv + l2 * *wv;
            let mn = b1 * *mv + (one - b1) * gr;
            let vn = b2 * *vv + (one - b2) * gr * gr;
            *mv = mn;
            *vv = vn;
            *wv = *wv * decay - step_size * mn / (vn.sqrt() * inv_sqrt_bc2 + eps);
        }
    });
    Ok(())
}

// ---------------------------------------------------------------------------------
// Loss.

/// Softmax cross-entropy over a batch, forward and backward in one pass.
///
/// `logits` is `rows × classes`; `labels[i] < classes` is row `i`'s class. Returns the
/// mean loss `(1/rows)·Σ_i (logsumexp(logits[i]) − logits[i, labels[i]])` and writes its
/// gradient with respect to the logits, `(softmax(logits[i]) − onehot(labels[i])) /
/// rows`, to `grad`. Each row's maximum is subtracted before exponentiating, so large
/// logits do not overflow. `rows == 0` gives a loss of 0.
///
/// # Errors
/// [`Error::InvalidArgument`] if `classes == 0`, a length is not `rows·classes`
/// (`labels`: `rows`), or a label is `>= classes`.
pub fn softmax_cross_entropy<T: Real>(
    rows: usize,
    classes: usize,
    logits: &[T],
    labels: &[u32],
    grad: &mut [T],
) -> Result<T> {
    if classes == 0 {
        return Err(Error::InvalidArgument(
            "softmax_cross_entropy: zero classes",
        ));
    }
    let n = count(rows, classes)?;
    check_len(
        logits.len(),
        n,
        "softmax_cross_entropy: logits is not rows*classes long",
    )?;
    check_len(
        grad.len(),
        n,
        "softmax_cross_entropy: grad is not rows*classes long",
    )?;
    check_len(
        labels.len(),
        rows,
        "softmax_cross_entropy: labels is not rows long",
    )?;
    if labels.iter().any(|&l| l as usize >= classes) {
        return Err(Error::InvalidArgument(
            "softmax_cross_entropy: label >= classes",
        ));
    }
    if rows == 0 {
        return Ok(T::zero());
    }
    let inv_rows = T::one() / T::from_f64(rows as f64);
    let mut total = T::zero();
    for ((xr, gr), &label) in logits
        .chunks_exact(classes)
        .zip(grad.chunks_exact_mut(classes))
        .zip(labels)
    {
        let label = label as usize;
        let mut mx = xr[0];
        for &x in xr {
            mx = if x > mx { x } else { mx };
        }
        let mut sum = T::zero();
        for (g, &x) in gr.iter_mut().zip(xr) {
            let e = (x - mx).exp();
            *g = e;
            sum += e;
        }
        // sum >= 1 (the maximum contributes exp(0)), so ln and the division are safe.
        let scale = inv_rows / sum;
        for g in gr.iter_mut() {
            *g *= scale;
        }
        if let (Some(g), Some(&x)) = (gr.get_mut(label), xr.get(label)) {
            *g -= inv_rows;
            // (x - mx) first: adding mx back would round away ln(sum) at large logits.
            total += sum.ln() - (x - mx);
        }
    }
    Ok(total * inv_rows)
}

#[cfg(test)]
mod tests {
    /// The vectorised loop (as the fused linear layer runs it) gives the same bits as the
    /// scalar function on the same sample.
    #[test]
    fn the_vectorised_loop_matches_libm() {
        extern crate std;
        use std::vec::Vec;
        let xs: Vec<f32> = (0..=u32::MAX)
            .step_by(if cfg!(miri) { 4099 * 61 } else { 4099 })
            .map(f32::from_bits)
            .collect();
        let mut y = xs.clone();
        super::bias_tanh_in_place_f32(&mut y, &[0.0; 16]);
        for (x, y) in xs.iter().zip(&y) {
            // `x + 0.0` turns -0.0 into +0.0 first, as the fused layer does.
            let want = libm::tanhf(x + 0.0);
            assert!(
                want.to_bits() == y.to_bits() || (want.is_nan() && y.is_nan()),
                "tanh({x:e}): libm {want:e}, vectorised {y:e}"
            );
        }
    }
}
