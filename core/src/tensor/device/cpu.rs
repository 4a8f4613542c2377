//! [`CpuDevice`]: the [`TensorDevice`] contract implemented on the CPU, over a buffer the
//! caller hands in.
//!
//! A tape computes host tensors with its own (fused, vectorised) code; this device is
//! the plain statement of what each device kernel must do, one loop per kernel, in the
//! tape's formulas. It exists so that the device path of a tape (dispatch, transfers,
//! device parameters and optimizers, errors) is exercised and checked against host
//! results on any machine, and so that a new backend has a reference to compare with.
//!
//! Its memory is `&[Cell<T>]`, so a kernel whose output is also an input (an in-place
//! bias, a `x ⊙ x` backward) is plain safe code.

use super::{CpuDevice, DeviceBuffer, DeviceMark, DeviceRef, Reduction, TensorDevice};
use crate::error::{Error, Result};
use crate::op::Op;
use crate::shape::Shape;
use crate::tensor::broadcast::for_each_broadcast;
use crate::tensor::float::Float;
use crate::tensor::optimizer::{adam_update, sgd_update};
use crate::tensor::{Activation, Adam, Sgd};
use core::cell::Cell;

/// A row's maximum and `Σ exp(x − max)`: the stable pieces of softmax.
fn max_and_exp_sum<T: Float>(row: &[Cell<T>]) -> (T, T) {
    let max = row
        .iter()
        .fold(T::from_f64(f64::NEG_INFINITY), |m, c| m.max(c.get()));
    let sum = row.iter().fold(T::zero(), |s, c| s + (c.get() - max).exp());
    (max, sum)
}

fn rows_cols(shape: &Shape) -> (usize, usize) {
    let cols = shape.dims().last().map_or(1, |&d| d as usize).max(1);
    (shape.checked_len().unwrap_or(0) / cols, cols)
}

/// (outer, n, inner) of a reduction along `axis` of `shape`.
fn axis_split(shape: &Shape, axis: usize) -> (usize, usize, usize) {
    let dims = shape.dims();
    let prod = |d: &[u32]| d.iter().map(|&d| d as usize).product::<usize>();
    let n = dims.get(axis).map_or(1, |&d| d as usize);
    (
        prod(&dims[..axis.min(dims.len())]),
        n,
        prod(dims.get(axis + 1..).unwrap_or(&[])),
    )
}

impl<T: Float> TensorDevice<T> for CpuDevice<'_, T> {
    fn name(&self) -> &str {
        "cpu (reference device)"
    }

    fn claim(&self, tape: u32) -> Result<()> {
        let _lock = self.lock.lock();
        self.owner.claim(tape)
    }

    fn release(&self, tape: u32) {
        let _lock = self.lock.lock();
        self.owner.release(tape)
    }

    fn alloc(&self, shape: Shape) -> Result<DeviceBuffer> {
        let _lock = self.lock.lock();
        self.bump(shape)
    }

    fn alloc_labels(&self, labels: &[u32]) -> Result<DeviceBuffer> {
        let _lock = self.lock.lock();
        self.bump_labels(labels)
    }

    fn mark(&self) -> DeviceMark {
        let _lock = self.lock.lock();
        DeviceMark(self.top.get() as u64)
    }

    fn rewind(&self, mark: DeviceMark) -> Result<()> {
        let _lock = self.lock.lock();
        match usize::try_from(mark.0) {
            Ok(top) if top <= self.top.get() => {
                self.top.set(top);
                Ok(())
            }
            _ => Err(Error::InvalidArgument(
                "rewind: a mark above the device's top",
            )),
        }
    }

    fn upload(&self, dst: DeviceRef, src: &[T]) -> Result<()> {
        let _lock = self.lock.lock();
        let cells = self.cells(dst)?;
        if cells.len() != src.len() {
            return Err(Error::LengthMismatch {
                what: "upload: data length",
                got: src.len(),
                against: "the tensor's element count",
                expected: cells.len(),
            });
        }
        cells.iter().zip(src).for_each(|(c, &v)| c.set(v));
        Ok(())
    }

    fn download(&self, src: DeviceRef, dst: &mut [T]) -> Result<()> {
        let _lock = self.lock.lock();
        let cells = self.cells(src)?;
        if cells.len() != dst.len() {
            return Err(Error::LengthMismatch {
                what: "download: buffer length",
                got: dst.len(),
                against: "the tensor's element count",
                expected: cells.len(),
            });
        }
        dst.iter_mut().zip(cells).for_each(|(v, c)| *v = c.get());
        Ok(())
    }

    fn zero(&self, t: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        self.cells(t)?.iter().for_each(|c| c.set(T::zero()));
        Ok(())
    }

    fn matmul(
        &self,
        a: DeviceRef,
        ta: bool,
        b: DeviceRef,
        tb: bool,
        c: DeviceRef,
        beta: f64,
    ) -> Result<()> {
        let _lock = self.lock.lock();
        let (x, w, y) = (self.cells(a)?, self.cells(b)?, self.cells(c)?);
        let (ad, bd) = (a.shape.dims(), b.shape.dims());
        if ad.len() != 2 || bd.len() != 2 {
            return Err(Error::ShapeMismatch {
                op: "matmul",
                lhs: a.shape,
                rhs: b.shape,
            });
        }
        let (m, k) = if ta { (ad[1], ad[0]) } else { (ad[0], ad[1]) };
        let n = if tb { bd[0] } else { bd[1] };
        let (m, n, k) = (m as usize, n as usize, k as usize);
        let at = |i: usize, p: usize| {
            if ta {
                x[p * m + i].get()
            } else {
                x[i * k + p].get()
            }
        };
        let bt = |p: usize, j: usize| {
            if tb {
                w[j * k + p].get()
            } else {
                w[p * n + j].get()
            }
        };
        let beta = T::from_f64(beta);
        for i in 0..m {
            for j in 0..n {
                let sum = (0..k).fold(T::zero(), |s, p| s + at(i, p) * bt(p, j));
                let out = &y[i * n + j];
                out.set(if beta.is_zero() {
                    sum
                } else {
                    beta * out.get() + sum
                });
            }
        }
        Ok(())
    }

    fn bias_act_forward(&self, act: Activation, bias: DeviceRef, y: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        let (b, out) = (self.cells(bias)?, self.cells(y)?);
        for (i, c) in out.iter().enumerate() {
            c.set(act.value(c.get() + b[i % b.len().max(1)].get(), T::zero()));
        }
        Ok(())
    }

    fn act_output_backward(
        &self,
        act: Activation,
        y: DeviceRef,
        g: DeviceRef,
        dz: DeviceRef,
    ) -> Result<()> {
        let _lock = self.lock.lock();
        let (y, g, dz) = (self.cells(y)?, self.cells(g)?, self.cells(dz)?);
        for ((dz, g), y) in dz.iter().zip(g).zip(y) {
            dz.set(g.get() * act.derivative_from_output(y.get()));
        }
        Ok(())
    }

    fn bias_grad(&self, dz: DeviceRef, gb: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        let (dz, gb) = (self.cells(dz)?, self.cells(gb)?);
        for (i, d) in dz.iter().enumerate() {
            let g = &gb[i % gb.len().max(1)];
            g.set(g.get() + d.get());
        }
        Ok(())
    }

    fn transpose(&self, x: DeviceRef, y: DeviceRef, accumulate: bool) -> Result<()> {
        let _lock = self.lock.lock();
        let (rows, cols) = rows_cols(&x.shape);
        let (x, y) = (self.cells(x)?, self.cells(y)?);
        for i in 0..rows {
            for j in 0..cols {
                let out = &y[j * rows + i];
                let v = x[i * cols + j].get();
                out.set(if accumulate { out.get() + v } else { v });
            }
        }
        Ok(())
    }

    fn unary_forward(&self, act: Activation, slope: f64, x: DeviceRef, y: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        let (x, y) = (self.cells(x)?, self.cells(y)?);
        let slope = T::from_f64(slope);
        x.iter()
            .zip(y)
            .for_each(|(x, y)| y.set(act.value(x.get(), slope)));
        Ok(())
    }

    fn unary_backward(
        &self,
        act: Activation,
        slope: f64,
        x: DeviceRef,
        y: DeviceRef,
        g: DeviceRef,
        gx: DeviceRef,
    ) -> Result<()> {
        let _lock = self.lock.lock();
        let (x, y, g, gx) = (
            self.cells(x)?,
            self.cells(y)?,
            self.cells(g)?,
            self.cells(gx)?,
        );
        let slope = T::from_f64(slope);
        for i in 0..gx.len() {
            let d = act.derivative(x[i].get(), y[i].get(), slope);
            gx[i].set(gx[i].get() + g[i].get() * d);
        }
        Ok(())
    }

    fn scale_forward(&self, c: f64, x: DeviceRef, y: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        let (x, y) = (self.cells(x)?, self.cells(y)?);
        let c = T::from_f64(c);
        x.iter().zip(y).for_each(|(x, y)| y.set(x.get() * c));
        Ok(())
    }

    fn scale_backward(&self, c: f64, g: DeviceRef, gx: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        let (g, gx) = (self.cells(g)?, self.cells(gx)?);
        let c = T::from_f64(c);
        g.iter()
            .zip(gx)
            .for_each(|(g, gx)| gx.set(gx.get() + g.get() * c));
        Ok(())
    }

    fn binary_forward(&self, op: Op, a: DeviceRef, b: DeviceRef, y: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        let (x, z, out) = (self.cells(a)?, self.cells(b)?, self.cells(y)?);
        for_each_broadcast(&y.shape, &a.shape, &b.shape, |o, i, j| {
            out[o].set(op.eval_binary(x[i].get(), z[j].get()))
        });
        Ok(())
    }

    fn binary_backward(
        &self,
        op: Op,
        a: DeviceRef,
        b: DeviceRef,
        y: DeviceRef,
        g: DeviceRef,
        ga: Option<DeviceRef>,
        gb: Option<DeviceRef>,
    ) -> Result<()> {
        let _lock = self.lock.lock();
        let (x, z, out, g) = (
            self.cells(a)?,
            self.cells(b)?,
            self.cells(y)?,
            self.cells(g)?,
        );
        let ga = ga.map(|r| self.cells(r)).transpose()?;
        let gb = gb.map(|r| self.cells(r)).transpose()?;
        for_each_broadcast(&y.shape, &a.shape, &b.shape, |o, i, j| {
            let (da, db) = op.binary_partials(x[i].get(), z[j].get(), out[o].get());
            if let Some(ga) = ga {
                ga[i].set(ga[i].get() + g[o].get() * da);
            }
            if let Some(gb) = gb {
                gb[j].set(gb[j].get() + g[o].get() * db);
            }
        });
        Ok(())
    }

    fn reduce_forward(&self, reduction: Reduction, x: DeviceRef, y: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        let (shape, x, y) = (x.shape, self.cells(x)?, self.cells(y)?);
        match reduction {
            Reduction::Sum | Reduction::Mean => {
                let sum = x.iter().fold(T::zero(), |s, c| s + c.get());
                let n = T::from_f64(x.len() as f64);
                y[0].set(if reduction == Reduction::Sum {
                    sum
                } else {
                    sum / n
                });
            }
            Reduction::SumAxis(axis) | Reduction::MeanAxis(axis) => {
                let (outer, n, inner) = axis_split(&shape, axis);
                let scale = if matches!(reduction, Reduction::MeanAxis(_)) {
                    T::one() / T::from_f64(n as f64)
                } else {
                    T::one()
                };
                // No outputs (a zero dimension beside a maybe huge one): nothing to loop.
                let outer = if inner == 0 { 0 } else { outer };
                for o in 0..outer {
                    for i in 0..inner {
                        let sum =
                            (0..n).fold(T::zero(), |s, k| s + x[(o * n + k) * inner + i].get());
                        y[o * inner + i].set(sum * scale);
                    }
                }
            }
        }
        Ok(())
    }

    fn reduce_backward(&self, reduction: Reduction, g: DeviceRef, gx: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        let (shape, g, gx) = (gx.shape, self.cells(g)?, self.cells(gx)?);
        let (outer, n, inner, scale) = match reduction {
            Reduction::Sum => (1, gx.len(), 1, T::one()),
            Reduction::Mean => (1, gx.len(), 1, T::one() / T::from_f64(gx.len() as f64)),
            Reduction::SumAxis(axis) | Reduction::MeanAxis(axis) => {
                let (outer, n, inner) = axis_split(&shape, axis);
                let mean = matches!(reduction, Reduction::MeanAxis(_));
                let scale = if mean {
                    T::one() / T::from_f64(n as f64)
                } else {
                    T::one()
                };
                (outer, n, inner, scale)
            }
        };
        // No elements (a zero dimension beside a maybe huge one): nothing to loop.
        let outer = if gx.is_empty() { 0 } else { outer };
        for o in 0..outer {
            for k in 0..n {
                for i in 0..inner {
                    let c = &gx[(o * n + k) * inner + i];
                    c.set(c.get() + g[o * inner + i].get() * scale);
                }
            }
        }
        Ok(())
    }

    fn softmax_forward(&self, log: bool, x: DeviceRef, y: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        self.softmax_rows(log, x, y)
    }

    fn softmax_backward(&self, log: bool, y: DeviceRef, g: DeviceRef, gx: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        let (_, cols) = rows_cols(&y.shape);
        let (y, g, gx) = (self.cells(y)?, self.cells(g)?, self.cells(gx)?);
        for ((yr, gr), gxr) in y.chunks(cols).zip(g.chunks(cols)).zip(gx.chunks(cols)) {
            if log {
                let gsum = gr.iter().fold(T::zero(), |s, c| s + c.get());
                for ((y, g), gx) in yr.iter().zip(gr).zip(gxr) {
                    gx.set(gx.get() + g.get() - y.get().exp() * gsum);
                }
            } else {
                let dot = yr
                    .iter()
                    .zip(gr)
                    .fold(T::zero(), |s, (y, g)| s + y.get() * g.get());
                for ((y, g), gx) in yr.iter().zip(gr).zip(gxr) {
                    gx.set(gx.get() + y.get() * (g.get() - dot));
                }
            }
        }
        Ok(())
    }

    fn cross_entropy_forward(
        &self,
        logits: DeviceRef,
        labels: DeviceBuffer,
        probs: DeviceRef,
        loss: DeviceRef,
    ) -> Result<()> {
        let _lock = self.lock.lock();
        let (rows, cols) = rows_cols(&logits.shape);
        self.softmax_rows(false, logits, probs)?;
        let labels = self.label_cells(labels, rows)?;
        let (x, out) = (self.cells(logits)?, self.cells(loss)?);
        let mut total = T::zero();
        for (r, xr) in x.chunks(cols).enumerate() {
            let (max, sum) = max_and_exp_sum(xr);
            let label = labels[r].get().to_f64() as usize;
            total += sum.ln() - (xr[label.min(cols - 1)].get() - max);
        }
        out[0].set(total / T::from_f64(rows.max(1) as f64));
        Ok(())
    }

    fn cross_entropy_backward(
        &self,
        probs: DeviceRef,
        labels: DeviceBuffer,
        g_loss: DeviceRef,
        gx: DeviceRef,
    ) -> Result<()> {
        let _lock = self.lock.lock();
        let (rows, cols) = rows_cols(&probs.shape);
        let labels = self.label_cells(labels, rows)?;
        let (p, g, gx) = (self.cells(probs)?, self.cells(g_loss)?, self.cells(gx)?);
        let scale = g[0].get() / T::from_f64(rows.max(1) as f64);
        for (r, (pr, gr)) in p.chunks(cols).zip(gx.chunks(cols)).enumerate() {
            let label = labels[r].get().to_f64() as usize;
            for (j, (p, gx)) in pr.iter().zip(gr).enumerate() {
                let onehot = if j == label { T::one() } else { T::zero() };
                gx.set(gx.get() + scale * (p.get() - onehot));
            }
        }
        Ok(())
    }

    fn mse_forward(&self, x: DeviceRef, z: DeviceRef, loss: DeviceRef) -> Result<()> {
        let _lock = self.lock.lock();
        let (x, z, out) = (self.cells(x)?, self.cells(z)?, self.cells(loss)?);
        let sum = x.iter().zip(z).fold(T::zero(), |s, (x, z)| {
            let d = x.get() - z.get();
            s + d * d
        });
        out[0].set(sum / T::from_f64(x.len().max(1) as f64));
        Ok(())
    }

    fn mse_backward(
        &self,
        x: DeviceRef,
        z: DeviceRef,
        g_loss: DeviceRef,
        gx: Option<DeviceRef>,
        gz: Option<DeviceRef>,
    ) -> Result<()> {
        let _lock = self.lock.lock();
        let (x, z, g) = (self.cells(x)?, self.cells(z)?, self.cells(g_loss)?);
        let (gx, gz) = (
            gx.map(|r| self.cells(r)).transpose()?,
            gz.map(|r| self.cells(r)).transpose()?,
        );
        let scale = T::from_f64(2.0) * g[0].get() / T::from_f64(x.len().max(1) as f64);
        for i in 0..x.len() {
            let d = scale * (x[i].get() - z[i].get());
            if let Some(gx) = gx {
                gx[i].set(gx[i].get() + d);
            }
            if let Some(gz) = gz {
                gz[i].set(gz[i].get() - d);
            }
        }
        Ok(())
    }

    fn sgd_update(
        &self,
        sgd: &Sgd,
        w: DeviceRef,
        g: DeviceRef,
        velocity: Option<DeviceRef>,
    ) -> Result<()> {
        let _lock = self.lock.lock();
        match velocity {
            Some(v) => self.exclusive([w, g, v], |[w, g, v]| sgd_update(*sgd, w, g, Some(v))),
            None => self.exclusive([w, g], |[w, g]| sgd_update(*sgd, w, g, None)),
        }
    }

    fn adam_update(
        &self,
        adam: &Adam,
        step: u64,
        w: DeviceRef,
        g: DeviceRef,
        m: DeviceRef,
        v: DeviceRef,
    ) -> Result<()> {
        let _lock = self.lock.lock();
        self.exclusive([w, g, m, v], |[w, g, m, v]| {
            adam_update(*adam, step, w, g, m, v)
        })
    }
}

impl<T: Float> CpuDevice<'_, T> {
    /// Softmax (or log-softmax) of each row along the last axis.
    fn softmax_rows(&self, log: bool, x: DeviceRef, y: DeviceRef) -> Result<()> {
        let (_, cols) = rows_cols(&x.shape);
        let (x, y) = (self.cells(x)?, self.cells(y)?);
        for (xr, yr) in x.chunks(cols).zip(y.chunks(cols)) {
            let (max, sum) = max_and_exp_sum(xr);
            for (xc, yc) in xr.iter().zip(yr) {
                let shifted = xc.get() - max;
                yc.set(if log {
                    shifted - sum.ln()
                } else {
                    shifted.exp() / sum
                });
            }
        }
        Ok(())
    }
}
