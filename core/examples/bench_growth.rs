//! What growth costs (`Tape::set_growth`): the workloads of `benches/scalar.rs` on a
//! tape given all its memory up front, and on one that starts in 4 KiB and grows through
//! the system allocator. Medians, µs per call:
//! - `first`: a fresh tape's first recording and gradient (the growing tape's moves and
//!   allocations included); `first_fresh_memory` is the fixed tape's in memory just
//!   allocated, whose pages fault in as the recording first writes them;
//! - `again`: reset, record and gradient on the same tape (grown by then);
//! - `backward` and `replay`: on the recorded tape, which should not differ.
//!
//! ```sh
//! cargo run --release -p autodiff-core --example bench_growth [-- --samples 500]
//! ```

#[path = "../benches/support/scalar_workloads.rs"]
#[allow(dead_code)] // the op counts are bench_report's
mod scalar_workloads;
#[path = "../benches/support/timing.rs"]
mod timing;

use autodiff_core::{RecordGrowth, Tape};
use core::mem::{ManuallyDrop, MaybeUninit};
use scalar_workloads::{other_point, point, Workload, MEMORY_BYTES, N, WORKLOADS};
use std::hint::black_box;
use timing::median_us;

/// Hands out heap blocks (leaked boxes) and frees them when they come back.
struct SystemAllocator;

impl RecordGrowth<'static> for SystemAllocator {
    fn grow(&mut self, _min: usize, wanted: usize) -> Option<&'static mut [MaybeUninit<u8>]> {
        Some(Box::leak(Box::new_uninit_slice(wanted)))
    }

    fn release(&mut self, block: &'static mut [MaybeUninit<u8>]) {
        // SAFETY: every block came from `Box::leak` in `grow`, and comes back once.
        drop(unsafe { Box::from_raw(block as *mut [MaybeUninit<u8>]) });
    }
}

/// A tape over heap memory it frees, after the tape, when dropped: the arena when it
/// owns it, and the growth host when it has one.
struct OwnedTape {
    tape: ManuallyDrop<Tape<'static, f64>>,
    arena: Option<*mut [MaybeUninit<u8>]>,
    host: Option<*mut SystemAllocator>,
}

impl OwnedTape {
    /// A tape in `bytes` of fresh heap memory, growing through the system allocator when
    /// `growing`.
    fn new(bytes: usize, growing: bool) -> OwnedTape {
        let arena: *mut [MaybeUninit<u8>] = Box::into_raw(Box::new_uninit_slice(bytes));
        // SAFETY: freed only after the tape is dropped (`Drop` below).
        let mut tape = Tape::new(unsafe { &mut *arena }).unwrap();
        let host = growing.then(|| Box::into_raw(Box::new(SystemAllocator)));
        if let Some(host) = host {
            // SAFETY: as the arena.
            tape.set_growth(unsafe { &mut *host }).unwrap();
        }
        OwnedTape {
            tape: ManuallyDrop::new(tape),
            arena: Some(arena),
            host,
        }
    }

    /// A tape over `memory`, which outlives it and which no other tape uses meanwhile.
    fn over(memory: *mut [MaybeUninit<u8>]) -> OwnedTape {
        // SAFETY: the caller's contract.
        let tape = Tape::new(unsafe { &mut *memory }).unwrap();
        OwnedTape {
            tape: ManuallyDrop::new(tape),
            arena: None,
            host: None,
        }
    }
}

impl Drop for OwnedTape {
    fn drop(&mut self) {
        // SAFETY: the tape goes first (it gives its blocks back to the host), then what
        // it borrowed, each made by `Box::into_raw` and freed once.
        unsafe {
            ManuallyDrop::drop(&mut self.tape);
            if let Some(arena) = self.arena {
                drop(Box::from_raw(arena));
            }
            if let Some(host) = self.host {
                drop(Box::from_raw(host));
            }
        }
    }
}

impl core::ops::Deref for OwnedTape {
    type Target = Tape<'static, f64>;
    fn deref(&self) -> &Self::Target {
        &self.tape
    }
}

impl core::ops::DerefMut for OwnedTape {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tape
    }
}

/// `first`, `again`, `backward`, `replay` on tapes made by `make`, and the gradient.
fn measure(
    workload: &Workload,
    samples: usize,
    mut make: impl FnMut() -> OwnedTape,
) -> ([f64; 4], Vec<f64>) {
    let (x, x2) = (point(N), other_point(N));
    let mut g = vec![0.0; N];
    let first = median_us(samples, 1, || {
        let tape = make();
        scalar_workloads::record_gradient(workload, &tape, &x, &mut g);
    });
    let mut tape = make();
    let again = median_us(samples, 1, || {
        tape.reset();
        scalar_workloads::record_gradient(workload, &tape, &x, &mut g);
    });
    tape.reset();
    let f = (workload.record)(&tape, &x).id();
    let backward = median_us(samples, 1, || {
        tape.gradient_into(f, &mut g).expect("recorded");
        black_box(&g);
    });
    let replay = median_us(samples, 1, || {
        tape.replay(black_box(&x2)).expect("recorded")
    });
    tape.replay(&x).expect("recorded");
    tape.gradient_into(f, &mut g).expect("recorded");
    ([first, again, backward, replay], g)
}

fn main() {
    let samples = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => 500,
        [flag, n] if flag == "--samples" => n.parse().expect("--samples N"),
        _ => {
            eprintln!("usage: bench_growth [--samples N]");
            std::process::exit(2);
        }
    };
    println!("# growth: medians over {samples} samples, µs per call (fixed | growing from 4 KiB)");
    for workload in &WORKLOADS {
        // A fixed tape's memory allocated once, outside the timing, as a host would.
        let memory: *mut [MaybeUninit<u8>] = Box::into_raw(Box::new_uninit_slice(MEMORY_BYTES));
        let (fixed, want) = measure(workload, samples, || OwnedTape::over(memory));
        // SAFETY: from `Box::into_raw` above; every tape over it is gone.
        drop(unsafe { Box::from_raw(memory) });
        // The first recording in memory the host has just allocated, as a growing tape's
        // blocks are (fresh pages fault in as the recording first writes them).
        let (fresh, _) = measure(workload, samples, || OwnedTape::new(MEMORY_BYTES, false));
        let (growing, got) = measure(workload, samples, || OwnedTape::new(4096, true));
        // A growing tape may record a constant differently (the arena full of wide
        // constants takes constant records), never compute differently.
        let bits = |g: &[f64]| g.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&got),
            bits(&want),
            "{}: gradients differ",
            workload.name
        );
        let names = ["first", "again", "backward", "replay"];
        let line: Vec<String> = names
            .iter()
            .zip(fixed.iter().zip(&growing))
            .map(|(name, (f, g))| format!("{name}_fixed_us={f:.2} {name}_growing_us={g:.2}"))
            .collect();
        println!(
            "growth {} n={N} {} first_fresh_memory_us={:.2}",
            workload.name,
            line.join(" "),
            fresh[0]
        );
    }
}
