//! Tensor user ops: their VJP and JVP against central differences and against the same
//! computation recorded from built-in tensor ops, replay running `forward` again, f32
//! tapes and checkpointed segments. Failing and misbehaving callbacks are in
//! `tensor_user_op_errors.rs`.

mod common;

use autodiff_core::checkpoint::segment_fn;
use autodiff_core::{
    Error, Float, Result, Shape, Tape, TensorArgs, TensorArgsMut, TensorId, TensorUserOp,
    TensorUserOpPoint, VarId,
};
use common::{assert_close, central_difference, memory, Rng};

/// Softmax along the last axis with a hand-written VJP and JVP (`y` is all they need).
#[derive(Clone, Copy)]
struct Softmax;

fn rows<T: Float>(data: &[T], width: usize) -> core::slice::ChunksExact<'_, T> {
    data.chunks_exact(width)
}

impl<T: Float> TensorUserOp<T> for Softmax {
    fn forward(
        &self,
        x: TensorArgs<'_, T>,
        mut y: TensorArgsMut<'_, T>,
        _: &mut [T],
    ) -> Result<()> {
        let width = *x.shape(0).last().unwrap_or(&1);
        for (xr, yr) in rows(x.data(0), width).zip(y.data_mut(0).chunks_exact_mut(width)) {
            let max = xr
                .iter()
                .fold(T::from_f64(f64::NEG_INFINITY), |m, &v| m.max(v));
            let mut total = T::zero();
            for (y, &x) in yr.iter_mut().zip(xr) {
                *y = (x - max).exp();
                total += *y;
            }
            yr.iter_mut().for_each(|y| *y /= total);
        }
        Ok(())
    }

    /// `dx = y ⊙ (dy − Σ dy ⊙ y)`, row by row.
    fn vjp(
        &self,
        at: TensorUserOpPoint<'_, T>,
        dy: TensorArgs<'_, T>,
        mut dx: TensorArgsMut<'_, T>,
    ) -> Result<()> {
        softmax_derivative(at, dy.data(0), dx.data_mut(0));
        Ok(())
    }

    /// The Jacobian is symmetric: the same map, forward.
    fn jvp(
        &self,
        at: TensorUserOpPoint<'_, T>,
        dx: TensorArgs<'_, T>,
        mut dy: TensorArgsMut<'_, T>,
    ) -> Result<()> {
        softmax_derivative(at, dx.data(0), dy.data_mut(0));
        Ok(())
    }
}

/// `d = y ⊙ (s − Σ s ⊙ y)` row by row, `y` the softmax at `at`.
fn softmax_derivative<T: Float>(at: TensorUserOpPoint<'_, T>, s: &[T], d: &mut [T]) {
    let width = *at.inputs.shape(0).last().unwrap_or(&1);
    let y = at.outputs.data(0);
    for ((yr, sr), dr) in rows(y, width)
        .zip(rows(s, width))
        .zip(d.chunks_exact_mut(width))
    {
        let dot = yr
            .iter()
            .zip(sr)
            .fold(T::zero(), |acc, (&y, &s)| acc + y * s);
        for ((d, &y), &s) in dr.iter_mut().zip(yr).zip(sr) {
            *d = y * (s - dot);
        }
    }
}

/// Two inputs, two outputs, one of rank 0: `(A [n×n], B [n×k]) → (A·B, Σ B²)`, with
/// `B` saved in the state (as a factorisation would be) to show the state reaches
/// every callback.
#[derive(Clone, Copy)]
struct ProductAndNorm {
    n: usize,
    k: usize,
}

impl TensorUserOp<f64> for ProductAndNorm {
    fn forward(
        &self,
        x: TensorArgs<'_, f64>,
        mut y: TensorArgsMut<'_, f64>,
        state: &mut [f64],
    ) -> Result<()> {
        let (a, b, (n, k)) = (x.data(0), x.data(1), (self.n, self.k));
        state.copy_from_slice(b);
        let c = y.data_mut(0);
        for i in 0..n {
            for j in 0..k {
                c[i * k + j] = (0..n).map(|l| a[i * n + l] * b[l * k + j]).sum();
            }
        }
        y.data_mut(1)[0] = b.iter().map(|v| v * v).sum();
        Ok(())
    }

    fn vjp(
        &self,
        at: TensorUserOpPoint<'_, f64>,
        g: TensorArgs<'_, f64>,
        mut dx: TensorArgsMut<'_, f64>,
    ) -> Result<()> {
        let (a, b, (n, k)) = (at.inputs.data(0), at.state, (self.n, self.k));
        let (dc, ds) = (g.data(0), g.data(1)[0]);
        let da = dx.data_mut(0);
        for i in 0..n {
            for l in 0..n {
                da[i * n + l] = (0..k).map(|j| dc[i * k + j] * b[l * k + j]).sum();
            }
        }
        let db = dx.data_mut(1);
        for l in 0..n {
            for j in 0..k {
                let from_c: f64 = (0..n).map(|i| a[i * n + l] * dc[i * k + j]).sum();
                db[l * k + j] = from_c + 2.0 * ds * b[l * k + j];
            }
        }
        Ok(())
    }

    fn jvp(
        &self,
        at: TensorUserOpPoint<'_, f64>,
        t: TensorArgs<'_, f64>,
        mut dy: TensorArgsMut<'_, f64>,
    ) -> Result<()> {
        let (a, b, (n, k)) = (at.inputs.data(0), at.inputs.data(1), (self.n, self.k));
        let (ta, tb) = (t.data(0), t.data(1));
        let dc = dy.data_mut(0);
        for i in 0..n {
            for j in 0..k {
                dc[i * k + j] = (0..n)
                    .map(|l| ta[i * n + l] * b[l * k + j] + a[i * n + l] * tb[l * k + j])
                    .sum();
            }
        }
        dy.data_mut(1)[0] = b.iter().zip(tb).map(|(b, t)| 2.0 * b * t).sum();
        Ok(())
    }
}

const N: usize = 3;
const K: usize = 4;

/// `loss = Σ softmax(A·B) ⊙ W + 0.5 Σ B²`, by the user ops or by built-in ops.
fn loss(tape: &Tape<'_, f64>, a: TensorId, b: TensorId, w: TensorId, by_op: bool) -> TensorId {
    let (c, s) = if by_op {
        let mut out = [TensorId::INVALID; 2];
        let shapes = [Shape::matrix(N as u32, K as u32), Shape::SCALAR];
        tape.tensor_user_op(
            ProductAndNorm { n: N, k: K },
            &[a, b],
            &shapes,
            &mut out,
            N * K,
        )
        .unwrap();
        (out[0], out[1])
    } else {
        (tape.matmul(a, b), tape.sum(tape.tensor_mul(b, b)))
    };
    let p = if by_op {
        let mut out = [TensorId::INVALID];
        tape.tensor_user_op(
            Softmax,
            &[c],
            &[Shape::matrix(N as u32, K as u32)],
            &mut out,
            0,
        )
        .unwrap();
        out[0]
    } else {
        tape.softmax(c)
    };
    let weighted = tape.sum(tape.tensor_mul(p, w));
    tape.tensor_add(weighted, tape.scale(s, 0.5))
}

struct Point {
    a: Vec<f64>,
    b: Vec<f64>,
    w: Vec<f64>,
}

impl Point {
    fn random(rng: &mut Rng) -> Point {
        Point {
            a: rng.vec(N * N, -1.0, 1.0),
            b: rng.vec(N * K, -1.0, 1.0),
            w: rng.vec(N * K, -2.0, 2.0),
        }
    }
}

/// Records the loss at `p`; returns the tape's value and the gradients of `a` and `b`.
fn value_and_grads(p: &Point, by_op: bool) -> (f64, Vec<f64>, Vec<f64>) {
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let a = tape.tensor_input(&[N, N], &p.a);
    let b = tape.tensor_input(&[N, K], &p.b);
    let w = tape.tensor_constant(&[N, K], &p.w);
    let out = loss(&tape, a, b, w, by_op);
    tape.backward(out.as_var()).unwrap();
    let (mut ga, mut gb) = (vec![0.0; N * N], vec![0.0; N * K]);
    tape.tensor_grad(a, &mut ga).unwrap();
    tape.tensor_grad(b, &mut gb).unwrap();
    (tape.value(out.as_var()).unwrap(), ga, gb)
}

#[test]
fn vjp_agrees_with_central_differences_and_with_built_in_ops() {
    let mut rng = Rng::seeded("tensor user op vjp");
    for _ in 0..if cfg!(miri) { 1 } else { 20 } {
        let p = Point::random(&mut rng);
        let (value, ga, gb) = value_and_grads(&p, true);
        let (ref_value, ref_a, ref_b) = value_and_grads(&p, false);
        assert_close("value vs built-in", value, ref_value, 1e-14);
        let at = |q: &Point| value_and_grads(q, false).0;
        for (which, grads, refs) in [(0, &ga, &ref_a), (1, &gb, &ref_b)] {
            for e in 0..grads.len() {
                assert_close(
                    &format!("grad {which}[{e}] vs built-in"),
                    grads[e],
                    refs[e],
                    1e-13,
                );
                if cfg!(miri) && e % 4 != 0 {
                    continue;
                }
                let numeric = central_difference(
                    |v| {
                        let mut q = Point {
                            a: p.a.clone(),
                            b: p.b.clone(),
                            w: p.w.clone(),
                        };
                        if which == 0 {
                            q.a[e] = v
                        } else {
                            q.b[e] = v
                        }
                        at(&q)
                    },
                    if which == 0 { p.a[e] } else { p.b[e] },
                );
                assert_close(
                    &format!("grad {which}[{e}] vs central difference"),
                    grads[e],
                    numeric,
                    1e-7,
                );
            }
        }
    }
}

#[test]
fn jvp_agrees_with_the_gradient_and_with_built_in_ops() {
    let mut rng = Rng::seeded("tensor user op jvp");
    for _ in 0..if cfg!(miri) { 1 } else { 20 } {
        let p = Point::random(&mut rng);
        let (ta, tb) = (rng.vec(N * N, -1.0, 1.0), rng.vec(N * K, -1.0, 1.0));
        let (_, ga, gb) = value_and_grads(&p, true);
        let directional: f64 = ga
            .iter()
            .zip(&ta)
            .chain(gb.iter().zip(&tb))
            .map(|(g, t)| g * t)
            .sum();
        let mut tangents = [0.0; 2];
        for (by_op, tangent) in [true, false].into_iter().zip(&mut tangents) {
            let mut mem = memory(1 << 16);
            let tape = Tape::<f64>::new(&mut mem).unwrap();
            let a = tape.tensor_input(&[N, N], &p.a);
            let b = tape.tensor_input(&[N, K], &p.b);
            let w = tape.tensor_constant(&[N, K], &p.w);
            let out = loss(&tape, a, b, w, by_op);
            tape.seed_tensor_tangent(a, &ta).unwrap();
            tape.seed_tensor_tangent(b, &tb).unwrap();
            tape.jvp(&[]).unwrap();
            *tangent = tape.tangent(out.as_var()).unwrap();
        }
        assert_close("jvp vs gradient", tangents[0], directional, 1e-12);
        assert_close("jvp vs built-in", tangents[0], tangents[1], 1e-12);
    }
}

#[test]
fn replay_runs_forward_again_and_matches_a_fresh_recording_bitwise() {
    let mut rng = Rng::seeded("tensor user op replay");
    let (p, q) = (Point::random(&mut rng), Point::random(&mut rng));
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let a = tape.tensor_input(&[N, N], &p.a);
    let b = tape.tensor_input(&[N, K], &p.b);
    let w = tape.tensor_constant(&[N, K], &p.w);
    let out = loss(&tape, a, b, w, true);
    tape.set_tensor_value(a, &q.a).unwrap();
    tape.set_tensor_value(b, &q.b).unwrap();
    tape.set_tensor_value(w, &q.w).unwrap();
    // The inputs changed in place: backward refuses until replay recomputes.
    assert!(matches!(
        tape.backward(out.as_var()),
        Err(Error::ModifiedInPlace { .. })
    ));
    tape.replay(&[]).unwrap();
    tape.backward(out.as_var()).unwrap();
    let (mut ga, mut gb) = (vec![0.0; N * N], vec![0.0; N * K]);
    tape.tensor_grad(a, &mut ga).unwrap();
    tape.tensor_grad(b, &mut gb).unwrap();
    let (value, fa, fb) = value_and_grads(&q, true);
    assert_eq!(tape.value(out.as_var()).unwrap().to_bits(), value.to_bits());
    assert_eq!(ga, fa);
    assert_eq!(gb, fb);
}

#[test]
fn an_op_on_an_f32_tape_matches_built_in_softmax() {
    let mut rng = Rng::seeded("tensor user op f32");
    let x: Vec<f32> = rng
        .vec(2 * 5, -3.0, 3.0)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let w: Vec<f32> = rng
        .vec(2 * 5, -1.0, 1.0)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let mut results = Vec::new();
    for by_op in [true, false] {
        let mut mem = memory(1 << 14);
        let tape = Tape::<f32>::new(&mut mem).unwrap();
        let input = tape.tensor_input(&[2, 5], &x);
        let p = if by_op {
            let mut out = [TensorId::INVALID];
            tape.tensor_user_op(Softmax, &[input], &[Shape::matrix(2, 5)], &mut out, 0)
                .unwrap();
            out[0]
        } else {
            tape.softmax(input)
        };
        let weights = tape.tensor_constant(&[2, 5], &w);
        let out = tape.sum(tape.tensor_mul(p, weights));
        tape.backward(out.as_var()).unwrap();
        let mut g = vec![0.0f32; 10];
        tape.tensor_grad(input, &mut g).unwrap();
        results.push(g);
    }
    for (got, want) in results[0].iter().zip(&results[1]) {
        assert_close("f32 softmax gradient", *got as f64, *want as f64, 1e-6);
    }
}

#[test]
fn an_input_passed_twice_gets_both_contributions() {
    let mut mem = memory(1 << 14);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    // B twice: (B [3×3], B) → (B·B, Σ B²); d/dB of Σ(B·B) + Σ B².
    let b = tape.tensor_input(&[3, 3], &[0.5, -1.0, 2.0, 0.25, 1.5, -0.5, 1.0, 0.0, -2.0]);
    let mut out = [TensorId::INVALID; 2];
    tape.tensor_user_op(
        ProductAndNorm { n: 3, k: 3 },
        &[b, b],
        &[Shape::matrix(3, 3), Shape::SCALAR],
        &mut out,
        9,
    )
    .unwrap();
    let total = tape.tensor_add(tape.sum(out[0]), out[1]);
    tape.backward(total.as_var()).unwrap();
    let mut g = [0.0; 9];
    tape.tensor_grad(b, &mut g).unwrap();
    let mut ref_mem = memory(1 << 14);
    let reference = Tape::<f64>::new(&mut ref_mem).unwrap();
    let rb = reference.tensor_input(&[3, 3], &[0.5, -1.0, 2.0, 0.25, 1.5, -0.5, 1.0, 0.0, -2.0]);
    let rt = reference.tensor_add(
        reference.sum(reference.matmul(rb, rb)),
        reference.sum(reference.tensor_mul(rb, rb)),
    );
    reference.backward(rt.as_var()).unwrap();
    let mut h = [0.0; 9];
    reference.tensor_grad(rb, &mut h).unwrap();
    for e in 0..9 {
        assert_close(&format!("grad[{e}]"), g[e], h[e], 1e-14);
    }
}

#[test]
fn an_op_inside_a_checkpointed_segment_gives_the_unmarked_gradient_bitwise() {
    let mut rng = Rng::seeded("tensor user op segment");
    let p = Point::random(&mut rng);
    let (mut marked_mem, mut plain_mem) = (memory(1 << 16), memory(1 << 16));
    let mut grads = Vec::new();
    for (mem, marked) in [(&mut marked_mem, true), (&mut plain_mem, false)] {
        let tape = Tape::<f64>::new(mem).unwrap();
        let a = tape.tensor_input(&[N, N], &p.a);
        let b = tape.tensor_input(&[N, K], &p.b);
        let w = tape.tensor_constant(&[N, K], &p.w);
        let out = if marked {
            let block = segment_fn(
                |tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]| {
                    let [a, b, w] = [0, 1, 2].map(|k| TensorId::from(inputs[k]));
                    outputs[0] = loss(tape, a, b, w, true).into();
                },
            );
            let mut out = [VarId::INVALID];
            tape.checkpoint(block, &[a.into(), b.into(), w.into()], &mut out)
                .unwrap();
            TensorId::from(out[0])
        } else {
            loss(&tape, a, b, w, true)
        };
        let total = tape.tensor_tanh(out);
        tape.backward(total.as_var()).unwrap();
        let (mut ga, mut gb) = (vec![0.0; N * N], vec![0.0; N * K]);
        tape.tensor_grad(a, &mut ga).unwrap();
        tape.tensor_grad(b, &mut gb).unwrap();
        // Forward mode through the segment runs the op's jvp inside the re-run block.
        tape.seed_tensor_tangent(a, &[1.0; N * N]).unwrap();
        tape.jvp(&[]).unwrap();
        let tangent = tape.tangent(total.as_var()).unwrap();
        grads.push((ga, gb, tangent.to_bits()));
    }
    assert_eq!(grads[0], grads[1]);
}

#[test]
fn a_parameter_input_gets_its_gradient_and_an_update_in_place_is_caught() {
    let mut rng = Rng::seeded("tensor user op parameter");
    let p = Point::random(&mut rng);
    let mut grads = Vec::new();
    for by_op in [true, false] {
        let mut mem = memory(1 << 16);
        let tape = Tape::<f64>::new(&mut mem).unwrap();
        let a = tape.parameter(&[N, N], &p.a).unwrap();
        let b = tape.tensor_input(&[N, K], &p.b);
        let w = tape.tensor_constant(&[N, K], &p.w);
        let out = loss(&tape, tape.param(a), b, w, by_op);
        tape.backward(out.as_var()).unwrap();
        let mut g = vec![0.0; N * N];
        tape.read_param_grad(a, &mut g).unwrap();
        grads.push(g);
        if by_op {
            // The parameter changes in place: the recording no longer holds.
            tape.write_param(a, &p.b[..N * N]).unwrap();
            assert!(matches!(
                tape.backward(out.as_var()),
                Err(Error::ModifiedInPlace { .. })
            ));
        }
    }
    for (e, (got, want)) in grads[0].iter().zip(&grads[1]).enumerate() {
        assert_close(&format!("parameter grad[{e}]"), *got, *want, 1e-13);
    }
}
