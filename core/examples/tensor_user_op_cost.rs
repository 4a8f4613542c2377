//! What a tensor user op costs beside a built-in tensor op doing the same work: a chain of
//! `DEPTH` ops `y = 2x` on an `f32` tensor, each either the built-in `scale(2)` or a
//! `TensorUserOp` whose forward, VJP and JVP are the same loops, timed as medians of
//!
//! * record (reset, input, the chain, the sum);
//! * record + backward;
//! * replay + backward (the tape recorded once);
//!
//! for a small tensor (`[4]`, where the per-op overhead shows) and a large one
//! (`[64, 100]`, where the data dominates).
//!
//! ```sh
//! cargo run --release -p autodiff-core --example tensor_user_op_cost [-- --samples 2000]
//! ```

use autodiff_core::{
    Result, Shape, Tape, TensorArgs, TensorArgsMut, TensorId, TensorUserOp, TensorUserOpPoint,
};
use core::mem::MaybeUninit;
use std::hint::black_box;
use std::time::Instant;

const WARMUP: usize = 50;
const DEPTH: usize = 50;

/// `y = 2x`, written as a built-in op computes it.
#[derive(Clone, Copy)]
struct Double;

fn twice(from: &[f32], to: &mut [f32]) {
    to.iter_mut().zip(from).for_each(|(t, &f)| *t = 2.0 * f);
}

impl TensorUserOp<f32> for Double {
    fn forward(
        &self,
        x: TensorArgs<'_, f32>,
        mut y: TensorArgsMut<'_, f32>,
        _: &mut [f32],
    ) -> Result<()> {
        twice(x.data(0), y.data_mut(0));
        Ok(())
    }
    fn vjp(
        &self,
        _: TensorUserOpPoint<'_, f32>,
        dy: TensorArgs<'_, f32>,
        mut dx: TensorArgsMut<'_, f32>,
    ) -> Result<()> {
        twice(dy.data(0), dx.data_mut(0));
        Ok(())
    }
    fn jvp(
        &self,
        _: TensorUserOpPoint<'_, f32>,
        dx: TensorArgs<'_, f32>,
        mut dy: TensorArgsMut<'_, f32>,
    ) -> Result<()> {
        twice(dx.data(0), dy.data_mut(0));
        Ok(())
    }
}

/// Median µs per call of `body` over `samples` calls.
fn median_us(samples: usize, mut body: impl FnMut()) -> f64 {
    for _ in 0..WARMUP {
        body();
    }
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            body();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Records the chain; returns the input and the loss.
fn record(tape: &Tape<'_, f32>, dims: &[usize], x: &[f32], by_op: bool) -> (TensorId, TensorId) {
    let input = tape.tensor_input(dims, x);
    let shape = Shape::new(dims).expect("a small shape");
    let mut t = input;
    for _ in 0..DEPTH {
        t = if by_op {
            let mut out = [TensorId::INVALID];
            tape.tensor_user_op(Double, &[t], &[shape], &mut out, 0)
                .expect("records");
            out[0]
        } else {
            tape.scale(t, 2.0)
        };
    }
    (input, tape.sum(t))
}

fn main() {
    let samples = std::env::args()
        .skip_while(|a| a != "--samples")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let mut mem = vec![MaybeUninit::<u8>::uninit(); 1 << 23];
    println!("| tensor | op | bytes | record | record + backward | replay + backward |");
    println!("|---|---|---:|---:|---:|---:|");
    for dims in [&[4usize][..], &[64, 100][..]] {
        let len: usize = dims.iter().product();
        let x: Vec<f32> = (0..len).map(|i| (i % 7) as f32 * 1e-3).collect();
        for by_op in [false, true] {
            let mut tape = Tape::<f32>::new(&mut mem).expect("tape");
            let record_us = median_us(samples, || {
                tape.reset();
                black_box(record(&tape, dims, &x, by_op));
            });
            let gradient_us = median_us(samples, || {
                tape.reset();
                let (_, loss) = record(&tape, dims, &x, by_op);
                tape.backward(loss.as_var()).expect("backward");
            });
            tape.reset();
            let (input, loss) = record(&tape, dims, &x, by_op);
            let bytes = tape.used_bytes();
            let replay_us = median_us(samples, || {
                tape.set_tensor_value(input, &x).expect("set");
                tape.replay(&[]).expect("replay");
                tape.backward(loss.as_var()).expect("backward");
            });
            println!(
                "| {dims:?} | {} | {bytes} | {record_us:.2} | {gradient_us:.2} | {replay_us:.2} |",
                if by_op { "user op" } else { "scale(2)" }
            );
        }
    }
}
