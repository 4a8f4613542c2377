//! The core built without its `tensor-jvp` feature, as firmware that only trains builds
//! it: forward mode over tensor records is refused with an error, not a panic, and
//! everything else works (reverse mode over tensors, scalar forward mode, the tape after
//! the refusal). Run with `cargo test -p autodiff-core --no-default-features --features
//! transcendental --test without_tensor_jvp` (`make firmware` does); with default
//! features this file is empty.
#![cfg(not(feature = "tensor-jvp"))]

mod common;

use autodiff_core::{Error, Tape};

#[test]
fn jvp_over_tensors_is_refused_and_the_tape_stays_usable() {
    let mut memory = common::memory(1 << 16);
    let mut tape = Tape::<f32>::new(&mut memory).unwrap();
    let data = [0.5f32, -1.5, 2.0];
    let x = tape.tensor_input(&[3], &data);
    let loss = tape.sum(tape.square(x));
    assert!(matches!(tape.jvp(&[]), Err(Error::InvalidArgument(_))));

    // Reverse mode over the same recording: d(Σx²)/dx = 2x.
    tape.backward(loss.as_var()).unwrap();
    let mut grad = [0.0f32; 3];
    tape.tensor_grad(x, &mut grad).unwrap();
    assert_eq!(grad, data.map(|v| 2.0 * v));

    // Scalar forward mode after a reset: d(x·sin x)/dx = sin x + x·cos x.
    tape.reset();
    let s = tape.input(0.7f32);
    let f = s * s.sin();
    tape.jvp(&[1.0]).unwrap();
    let x0 = 0.7f32;
    common::assert_close(
        "scalar tangent",
        f64::from(tape.tangent(f.id()).unwrap()),
        f64::from(x0.sin() + x0 * x0.cos()),
        1e-6,
    );
}
