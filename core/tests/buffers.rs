//! Where tensor and parameter buffers live (`tensor_buffer`, `param_buffer`): the address
//! holds what the copying reads return, before and after a backward sweep, and the
//! buffers that have none (rank 0, a constant's gradient) or are gone (a reset) are
//! refused.

mod common;

use autodiff_core::{Buffer, Error, Tape};

/// The `len` elements at `found`, copied.
fn read(found: (*const f64, usize)) -> Vec<f64> {
    // SAFETY: the tape holds `len` elements there until its next reset, which the
    // callers do not reach before reading.
    unsafe { core::slice::from_raw_parts(found.0, found.1) }.to_vec()
}

#[test]
fn tensor_buffers_hold_what_the_copying_reads_return() {
    let mut mem = common::memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.tensor_input(&[2, 3], &[1.0, -2.0, 3.0, 0.5, 4.0, -1.5]);
    let c = tape.tensor_constant(&[2, 3], &[2.0; 6]);
    let loss = tape.sum(tape.tensor_mul(tape.tensor_mul(x, x), c));
    tape.backward(loss.as_var()).unwrap();

    let value = tape.tensor_buffer(x, Buffer::Value).unwrap();
    let mut copy = [0.0; 6];
    tape.tensor_value(x, &mut copy).unwrap();
    assert_eq!(read(value), copy);

    let grad = tape.tensor_buffer(x, Buffer::Grad).unwrap();
    tape.tensor_grad(x, &mut copy).unwrap();
    assert_eq!(read(grad), copy);
    assert_eq!(copy, [4.0, -8.0, 12.0, 2.0, 16.0, -6.0]); // d/dx sum(2x²) = 4x

    assert!(matches!(
        tape.tensor_buffer(c, Buffer::Grad),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        tape.tensor_buffer(loss, Buffer::Value),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn parameter_buffers_outlive_a_reset_and_zero_an_unreached_gradient() {
    let mut mem = common::memory(1 << 16);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let p = tape.parameter(&[3], &[1.0, 2.0, 3.0]).unwrap();
    let loss = tape.sum(tape.tensor_mul(tape.param(p), tape.param(p)));
    tape.backward(loss.as_var()).unwrap();
    let grad = tape.param_buffer(p, Buffer::Grad).unwrap();
    assert_eq!(read(grad), [2.0, 4.0, 6.0]);

    tape.reset();
    let value = tape.param_buffer(p, Buffer::Value).unwrap();
    assert_eq!(read(value), [1.0, 2.0, 3.0]);
    // A new use whose backward never reaches the parameter: its gradient reads as zero.
    let _unused = tape.param(p);
    let other = tape.tensor_input(&[2], &[1.0, 1.0]);
    tape.backward(tape.sum(other).as_var()).unwrap();
    let again = tape.param_buffer(p, Buffer::Grad).unwrap();
    assert_eq!(again.0, grad.0, "a parameter's gradient stays where it was");
    assert_eq!(read(again), [0.0; 3]);
}

#[test]
fn a_reset_makes_tensor_buffers_stale() {
    let mut mem = common::memory(1 << 14);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.tensor_input(&[2], &[1.0, 2.0]);
    tape.reset();
    assert!(matches!(
        tape.tensor_buffer(x, Buffer::Value),
        Err(Error::StaleHandle)
    ));
}
