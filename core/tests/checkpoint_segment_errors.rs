//! Checkpointed segments that fail: a too-small arena, blocks that return errors or
//! leave outputs unset, handles that outlive their block, inputs and parameters modified
//! in place; and C-style blocks with user data. Each failure is reported and `reset`
//! recovers.

mod common;
use common::memory;

use autodiff_core::checkpoint::{segment_fn, Segment};
use autodiff_core::{Error, Op, Tape, TensorId, VarId};

#[path = "common/segment_blocks.rs"]
mod segment_blocks;
use segment_blocks::{layers, mlp_params, scalar_block};

#[test]
fn too_small_arena_fails_cleanly_and_reset_recovers() {
    let (width, batch) = (16, 8);
    // Parameters of 4 layers take about 4 · 2 · (256 + 16) · 8 bytes; leave little else.
    let mut mem = memory(40_000);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = mlp_params(&tape, 4, width);
    let x = vec![0.5; batch * width];
    let input = tape.tensor_input(&[batch, width], &x);
    let mut out = [VarId::INVALID];
    let error = tape.checkpoint(layers(&params), &[input.into()], &mut out);
    assert!(matches!(error, Err(Error::OutOfMemory { .. })), "{error:?}");
    assert_eq!(out, [VarId::INVALID]);
    assert_eq!(tape.status(), error);
    // Every later op reports the first error.
    assert_eq!(tape.backward(tape.input_id(1.0)), error);
    tape.reset();
    tape.status().unwrap();
    // A smaller batch fits.
    let input = tape.tensor_input(&[1, width], &x[..width]);
    tape.checkpoint(layers(&params[..2]), &[input.into()], &mut out)
        .unwrap();
    let loss = tape.sum(TensorId::from(out[0]));
    tape.backward(loss.as_var()).unwrap();
}

#[test]
fn block_errors_and_bad_blocks_are_reported() {
    let mut mem = memory(1 << 16);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input_id(1.0);
    let len = tape.len();

    #[derive(Clone, Copy)]
    struct Failing;
    impl Segment<f64> for Failing {
        fn record(
            &self,
            tape: &Tape<'_, f64>,
            inputs: &[VarId],
            _: &mut [VarId],
        ) -> autodiff_core::Result<()> {
            let _ = tape.unary_id(Op::Sin, inputs[0]);
            Err(Error::InvalidArgument("block says no"))
        }
    }
    let mut out = [VarId::INVALID];
    assert_eq!(
        tape.checkpoint(Failing, &[x], &mut out),
        Err(Error::InvalidArgument("block says no"))
    );
    // The block's record is gone; the error is sticky until reset.
    assert_eq!(tape.len(), len);
    assert!(tape.status().is_err());
    tape.reset();

    // An output left unset.
    let x = tape.input_id(1.0);
    let unset = segment_fn(|_: &Tape<'_, f64>, _: &[VarId], _: &mut [VarId]| {});
    assert!(matches!(
        tape.checkpoint(unset, &[x], &mut out),
        Err(Error::InvalidArgument(_))
    ));
    tape.reset();

    // A stale input.
    let stale = x;
    assert_eq!(
        tape.checkpoint(
            segment_fn(scalar_block),
            &[stale, stale],
            &mut [VarId::INVALID; 2]
        ),
        Err(Error::StaleHandle)
    );
}

#[test]
fn block_handles_do_not_outlive_the_block() {
    use std::sync::Mutex;
    static INSIDE: Mutex<VarId> = Mutex::new(VarId::INVALID);
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input_id(0.5);
    let block = segment_fn(
        |tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]| {
            let a = tape.unary_id(Op::Exp, inputs[0]);
            let b = tape.unary_id(Op::Sin, a);
            let c = tape.unary_id(Op::Cos, b);
            *INSIDE.lock().unwrap() = c;
            outputs[0] = c;
        },
    );
    let mut out = [VarId::INVALID];
    tape.checkpoint(block, &[x], &mut out).unwrap();
    let leaked = *INSIDE.lock().unwrap();
    // The tape keeps x, the segment record and its output record; the block's last
    // record (index 3) is gone, so its handle is reported stale...
    assert_eq!(tape.len(), 3);
    assert_eq!(tape.value(out[0]).unwrap(), 0.5f64.exp().sin().cos());
    assert_eq!(tape.check_handle(leaked), Err(Error::StaleHandle));
    // ...and stays stale once a new record takes its index: the block's generation
    // ended with it.
    let next = tape.input_id(7.0);
    assert_eq!(next.index, leaked.index);
    assert_eq!(tape.value(leaked), Err(Error::StaleHandle));
    assert_eq!(tape.value(next).unwrap(), 7.0);
}

#[test]
fn modified_inputs_and_parameters_are_reported() {
    let width = 4;
    let mut mem = memory(1 << 18);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let params = mlp_params(&tape, 2, width);
    let input = tape.tensor_input(&[1, width], &[0.1, 0.2, 0.3, 0.4]);
    let mut out = [VarId::INVALID];
    tape.checkpoint(layers(&params), &[input.into()], &mut out)
        .unwrap();
    let loss = tape.sum(TensorId::from(out[0]));
    tape.backward(loss.as_var()).unwrap();
    // An input overwritten in place: backward refuses, as it would without the segment;
    // replay recomputes and clears it.
    tape.set_tensor_value(input, &[0.4, 0.3, 0.2, 0.1]).unwrap();
    assert!(matches!(
        tape.backward(loss.as_var()),
        Err(Error::ModifiedInPlace { .. })
    ));
    tape.replay(&[]).unwrap();
    tape.backward(loss.as_var()).unwrap();
    // A parameter used inside the block, updated in place.
    tape.write_param(params[1].0, &[0.0; 16]).unwrap();
    assert!(matches!(
        tape.backward(loss.as_var()),
        Err(Error::ModifiedInPlace { .. })
    ));
}

/// A C-style callback with user data, as a C API would pass it.
#[derive(Clone, Copy)]
struct CallbackBlock {
    call:
        extern "C" fn(*const Tape<'static, f64>, *const VarId, *mut VarId, *mut core::ffi::c_void),
    user_data: *mut core::ffi::c_void,
}

// SAFETY: the user data these tests pass is only read, from whichever thread runs the
// tape (as a C host promises of its own).
unsafe impl Send for CallbackBlock {}

impl Segment<f64> for CallbackBlock {
    fn record(
        &self,
        tape: &Tape<'_, f64>,
        inputs: &[VarId],
        outputs: &mut [VarId],
    ) -> autodiff_core::Result<()> {
        let tape = (tape as *const Tape<'_, f64>).cast::<Tape<'static, f64>>();
        (self.call)(tape, inputs.as_ptr(), outputs.as_mut_ptr(), self.user_data);
        Ok(())
    }
}

extern "C" fn scaled_square(
    tape: *const Tape<'static, f64>,
    inputs: *const VarId,
    outputs: *mut VarId,
    user_data: *mut core::ffi::c_void,
) {
    // SAFETY: the test passes a live tape, one input, one output and an `f64`.
    unsafe {
        let tape = &*tape;
        let scale = *user_data.cast::<f64>();
        let x = *inputs;
        let sq = tape.binary_id(Op::Mul, x, x);
        *outputs = tape.binary_id(Op::Mul, sq, tape.constant_id(scale));
    }
}

#[test]
fn c_style_callbacks_with_user_data() {
    let mut scale = 2.5f64;
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input_id(3.0);
    let block = CallbackBlock {
        call: scaled_square,
        user_data: (&mut scale as *mut f64).cast(),
    };
    let mut out = [VarId::INVALID];
    tape.checkpoint(block, &[x], &mut out).unwrap();
    tape.backward(out[0]).unwrap();
    assert_eq!(tape.value(out[0]).unwrap(), 22.5);
    assert_eq!(tape.grad(x).unwrap(), 15.0);
}
