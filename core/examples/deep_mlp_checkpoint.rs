//! Training a deep MLP with segment checkpointing in an arena too small to train it
//! without.
//!
//! A 50-layer MLP (width 100, tanh, `f32`, batch 64) is trained for a few SGD steps
//! twice: once recorded plainly in an arena big enough for every activation, once with
//! the layers in checkpointed segments of 5 ([`Tape::checkpoint`]) in an arena sized to
//! what that needs. Both runs start from the same parameters; the losses of every step
//! must agree bit for bit (the program exits with status 1 otherwise). It prints the
//! bytes each recording needs (`used_bytes + reserved_bytes`, parameters excluded), the
//! memory saved, and the time per training step of each (median of the timed steps).
//!
//! Run with `cargo run --release -p autodiff-core --example deep_mlp_checkpoint`.

use autodiff_core::checkpoint::Segment;
use autodiff_core::{Activation, Optimizer, ParamId, Result, Sgd, Tape, TensorId, VarId};
use std::mem::MaybeUninit;
use std::time::Instant;

const LAYERS: usize = 50;
const WIDTH: usize = 100;
const BATCH: usize = 64;
const PER_SEGMENT: usize = 5;
const WARMUP: usize = 2;
const TIMED: usize = 8;

/// Five `linear` tanh layers.
#[derive(Clone, Copy)]
struct Block {
    params: [(ParamId, ParamId); PER_SEGMENT],
}

impl Segment<f32> for Block {
    fn record(&self, tape: &Tape<'_, f32>, inputs: &[VarId], outputs: &mut [VarId]) -> Result<()> {
        let mut h = TensorId::from(inputs[0]);
        for &(w, b) in &self.params {
            h = tape.linear(h, tape.param(w), tape.param(b), Activation::Tanh);
        }
        outputs[0] = h.into();
        Ok(())
    }
}

/// A deterministic generator (splitmix64), uniform in `[lo, hi)`.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        lo + (hi - lo) * ((z >> 40) as f32 / (1u64 << 24) as f32)
    }
}

/// Creates the parameters and the optimizer on a fresh tape.
fn setup(tape: &Tape<'_, f32>) -> Result<Vec<(ParamId, ParamId)>> {
    let mut rng = Rng(7);
    let scale = 1.2 / (WIDTH as f32).sqrt();
    let mut params = Vec::with_capacity(LAYERS);
    for _ in 0..LAYERS {
        let w: Vec<f32> = (0..WIDTH * WIDTH)
            .map(|_| rng.uniform(-scale, scale))
            .collect();
        let b: Vec<f32> = (0..WIDTH).map(|_| rng.uniform(-0.05, 0.05)).collect();
        params.push((
            tape.parameter(&[WIDTH, WIDTH], &w)?,
            tape.parameter(&[WIDTH], &b)?,
        ));
    }
    tape.set_optimizer(Optimizer::Sgd(Sgd {
        lr: 0.05,
        momentum: 0.0,
        weight_decay: 0.0,
    }))?;
    Ok(params)
}

/// One training step: record, backward, update. Returns the loss and the bytes the
/// recording needed.
fn step(
    tape: &mut Tape<'_, f32>,
    params: &[(ParamId, ParamId)],
    x: &[f32],
    y: &[f32],
    checkpointed: bool,
) -> Result<(f32, usize)> {
    tape.reset();
    let input = tape.tensor_constant(&[BATCH, WIDTH], x);
    let target = tape.tensor_constant(&[BATCH, WIDTH], y);
    let mut h: VarId = input.into();
    for chunk in params.chunks(PER_SEGMENT) {
        let mut block = Block {
            params: [chunk[0]; PER_SEGMENT],
        };
        block.params.copy_from_slice(chunk);
        let mut out = [VarId::INVALID];
        if checkpointed {
            tape.checkpoint(block, &[h], &mut out)?;
        } else {
            block.record(tape, &[h], &mut out)?;
        }
        h = out[0];
    }
    let loss = tape.mse(h.into(), target);
    tape.status()?;
    let bytes = tape.used_bytes() + tape.reserved_bytes();
    tape.backward(loss.as_var())?;
    tape.optimizer_step()?;
    Ok((tape.value(loss.as_var())?, bytes))
}

struct Run {
    losses: Vec<f32>,
    /// Bytes of one recording, parameters excluded.
    bytes: usize,
    /// Median seconds per step.
    seconds: f64,
}

/// Trains in two arenas side by side, a step of each in turn (so that both see the
/// same machine load), the first plainly and the second with segments.
fn train_pair(arenas: [usize; 2], x: &[f32], y: &[f32]) -> Result<[Run; 2]> {
    let mut memories: Vec<Vec<MaybeUninit<u8>>> = arenas
        .iter()
        .map(|&bytes| vec![MaybeUninit::<u8>::uninit(); bytes])
        .collect();
    let (first, second) = memories.split_at_mut(1);
    let mut tapes = [
        Tape::<f32>::new(&mut first[0])?,
        Tape::<f32>::new(&mut second[0])?,
    ];
    let params = [setup(&tapes[0])?, setup(&tapes[1])?];
    let persistent = tapes[0].used_bytes();
    let mut runs: [Run; 2] = core::array::from_fn(|_| Run {
        losses: Vec::new(),
        bytes: 0,
        seconds: 0.0,
    });
    let mut times = [Vec::new(), Vec::new()];
    for k in 0..WARMUP + TIMED {
        for (which, tape) in tapes.iter_mut().enumerate() {
            let start = Instant::now();
            let (loss, used) = step(tape, &params[which], x, y, which == 1)?;
            let elapsed = start.elapsed().as_secs_f64();
            if k >= WARMUP {
                times[which].push(elapsed);
            }
            runs[which].losses.push(loss);
            runs[which].bytes = used - persistent;
        }
    }
    for (run, times) in runs.iter_mut().zip(&mut times) {
        times.sort_by(f64::total_cmp);
        run.seconds = times[times.len() / 2];
    }
    Ok(runs)
}

/// Whether one plain training step fits in an arena of `bytes`.
fn plain_fits(bytes: usize, x: &[f32], y: &[f32]) -> Result<bool> {
    let mut memory = vec![MaybeUninit::<u8>::uninit(); bytes];
    let mut tape = Tape::<f32>::new(&mut memory)?;
    let params = setup(&tape)?;
    Ok(step(&mut tape, &params, x, y, false).is_ok())
}

/// What one checkpointed recording needs, parameters excluded.
fn checkpointed_bytes(x: &[f32], y: &[f32]) -> Result<usize> {
    let mut memory = vec![MaybeUninit::<u8>::uninit(); 32 << 20];
    let mut tape = Tape::<f32>::new(&mut memory)?;
    let params = setup(&tape)?;
    let persistent = tape.used_bytes();
    Ok(step(&mut tape, &params, x, y, true)?.1 - persistent)
}

/// The parameters' persistent bytes (values, gradients, tables).
fn persistent_bytes() -> Result<usize> {
    let mut memory = vec![MaybeUninit::<u8>::uninit(); 16 << 20];
    let tape = Tape::<f32>::new(&mut memory)?;
    setup(&tape)?;
    Ok(tape.used_bytes())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool> {
    let mut rng = Rng(11);
    let x: Vec<f32> = (0..BATCH * WIDTH).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y: Vec<f32> = (0..BATCH * WIDTH).map(|_| rng.uniform(-0.5, 0.5)).collect();
    let persistent = persistent_bytes()?;

    // An arena for the checkpointed run: the parameters, what its recording needs, and
    // 4 KiB of slack.
    let arena = persistent + checkpointed_bytes(&x, &y)? + 4096;
    let big = persistent + (16 << 20);
    let [plain, checkpointed] = train_pair([big, arena], &x, &y)?;
    // The plain recording does not fit there.
    let plain_fits = plain_fits(arena, &x, &y)?;

    println!(
        "{LAYERS}-layer MLP, width {WIDTH}, batch {BATCH}, f32, tanh, SGD; \
         segments of {PER_SEGMENT} layers"
    );
    println!("parameters (values and gradients): {persistent} bytes");
    println!(
        "unmarked:     {:>9} bytes per recording, {:>8.2} ms per step (arena {} bytes)",
        plain.bytes,
        plain.seconds * 1e3,
        big
    );
    println!(
        "checkpointed: {:>9} bytes per recording, {:>8.2} ms per step (arena {arena} bytes)",
        checkpointed.bytes,
        checkpointed.seconds * 1e3
    );
    println!(
        "memory saved: {:.1}% of the recording; time added: {:.1}%",
        100.0 * (1.0 - checkpointed.bytes as f64 / plain.bytes as f64),
        100.0 * (checkpointed.seconds / plain.seconds - 1.0)
    );
    println!(
        "unmarked training in the checkpointed arena: {}",
        if plain_fits {
            "fits (unexpected)"
        } else {
            "out of memory"
        }
    );
    for (k, (a, b)) in plain.losses.iter().zip(&checkpointed.losses).enumerate() {
        println!("step {k:>2}: loss {a:.7} unmarked, {b:.7} checkpointed");
    }
    let same = plain
        .losses
        .iter()
        .zip(&checkpointed.losses)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    if !same {
        eprintln!("the losses differ");
    }
    Ok(same && !plain_fits)
}
