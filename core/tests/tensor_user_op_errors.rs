//! Tensor user ops whose callbacks fail, give NaN or misbehave, and bad arguments: each
//! is the tape's sticky error (a missing JVP only fails that sweep), nothing is recorded
//! when recording fails, and the tape is usable again after `reset`.

use autodiff_core::{
    Error, Result, Shape, Tape, TensorArgs, TensorArgsMut, TensorId, TensorUserOp,
    TensorUserOpPoint,
};

mod common;

use common::memory;

/// An op whose callbacks fail, give NaN or misbehave, on request.
#[derive(Clone, Copy, Default)]
struct Faulty {
    fail_forward_above: Option<f64>,
    fail_vjp: bool,
    fail_jvp: bool,
    no_jvp: bool,
    nan: bool,
}

impl TensorUserOp<f64> for Faulty {
    fn forward(
        &self,
        x: TensorArgs<'_, f64>,
        mut y: TensorArgsMut<'_, f64>,
        _: &mut [f64],
    ) -> Result<()> {
        if self
            .fail_forward_above
            .is_some_and(|limit| x.data(0)[0] > limit)
        {
            return Err(Error::CallbackFailed { code: 7 });
        }
        for (y, &x) in y.data_mut(0).iter_mut().zip(x.data(0)) {
            *y = if self.nan { f64::NAN } else { 2.0 * x };
        }
        Ok(())
    }
    fn vjp(
        &self,
        _: TensorUserOpPoint<'_, f64>,
        dy: TensorArgs<'_, f64>,
        mut dx: TensorArgsMut<'_, f64>,
    ) -> Result<()> {
        if self.fail_vjp {
            return Err(Error::CallbackFailed { code: 8 });
        }
        dx.data_mut(0)
            .iter_mut()
            .zip(dy.data(0))
            .for_each(|(d, &g)| *d = 2.0 * g);
        Ok(())
    }
    fn jvp(
        &self,
        _: TensorUserOpPoint<'_, f64>,
        dx: TensorArgs<'_, f64>,
        mut dy: TensorArgsMut<'_, f64>,
    ) -> Result<()> {
        if self.no_jvp {
            return Err(Error::NoJvp);
        }
        if self.fail_jvp {
            return Err(Error::CallbackFailed { code: 9 });
        }
        dy.data_mut(0)
            .iter_mut()
            .zip(dx.data(0))
            .for_each(|(d, &t)| *d = 2.0 * t);
        Ok(())
    }
}

/// After `reset`, the tape records and differentiates the op again.
fn usable_again(tape: &mut Tape<'_, f64>) {
    tape.reset();
    let x = tape.tensor_input(&[2], &[1.0, -3.0]);
    let mut out = [TensorId::INVALID];
    tape.tensor_user_op(Faulty::default(), &[x], &[Shape::vector(2)], &mut out, 0)
        .unwrap();
    let total = tape.sum(out[0]);
    tape.backward(total.as_var()).unwrap();
    let mut g = [0.0; 2];
    tape.tensor_grad(x, &mut g).unwrap();
    assert_eq!(g, [2.0, 2.0]);
    tape.reset();
}

/// Records `op` on a fresh input of `[2]`; returns the input and the sum of the output.
fn record(tape: &Tape<'_, f64>, op: Faulty, x0: f64) -> (TensorId, TensorId) {
    let x = tape.tensor_input(&[2], &[x0, 1.0]);
    let mut out = [TensorId::INVALID];
    tape.tensor_user_op(op, &[x], &[Shape::vector(2)], &mut out, 0)
        .unwrap();
    (x, tape.sum(out[0]))
}

#[test]
fn failing_nan_and_misbehaving_callbacks_leave_the_tape_usable_after_reset() {
    let mut mem = memory(1 << 14);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();

    // forward fails when recorded: nothing recorded, outputs invalid, the error kept.
    let x = tape.tensor_input(&[2], &[1.0, 2.0]);
    let (len, used) = (tape.len(), tape.used_bytes());
    let failing = Faulty {
        fail_forward_above: Some(0.0),
        ..Faulty::default()
    };
    let mut out = [TensorId::INVALID];
    assert_eq!(
        tape.tensor_user_op(failing, &[x], &[Shape::vector(2)], &mut out, 4),
        Err(Error::CallbackFailed { code: 7 })
    );
    assert_eq!(out, [TensorId::INVALID]);
    assert_eq!((tape.len(), tape.used_bytes()), (len, used));
    assert_eq!(tape.status(), Err(Error::CallbackFailed { code: 7 }));
    usable_again(&mut tape);

    // forward fails when replayed.
    let (x, _) = record(&tape, failing, -1.0);
    tape.set_tensor_value(x, &[1.0, 1.0]).unwrap();
    assert_eq!(tape.replay(&[]), Err(Error::CallbackFailed { code: 7 }));
    assert_eq!(tape.status(), Err(Error::CallbackFailed { code: 7 }));
    usable_again(&mut tape);

    // vjp fails: sticky.
    let (_, total) = record(
        &tape,
        Faulty {
            fail_vjp: true,
            ..Faulty::default()
        },
        1.0,
    );
    assert_eq!(
        tape.backward(total.as_var()),
        Err(Error::CallbackFailed { code: 8 })
    );
    assert_eq!(tape.status(), Err(Error::CallbackFailed { code: 8 }));
    usable_again(&mut tape);

    // jvp fails: sticky; a missing jvp is not.
    let _ = record(
        &tape,
        Faulty {
            fail_jvp: true,
            ..Faulty::default()
        },
        1.0,
    );
    assert_eq!(tape.jvp(&[]), Err(Error::CallbackFailed { code: 9 }));
    assert_eq!(tape.status(), Err(Error::CallbackFailed { code: 9 }));
    usable_again(&mut tape);
    let (x, total) = record(
        &tape,
        Faulty {
            no_jvp: true,
            ..Faulty::default()
        },
        1.0,
    );
    assert_eq!(tape.jvp(&[]), Err(Error::NoJvp));
    assert_eq!(tape.status(), Ok(()), "a missing JVP is not sticky");
    tape.backward(total.as_var()).unwrap();
    let mut g = [0.0; 2];
    tape.tensor_grad(x, &mut g).unwrap();
    assert_eq!(g, [2.0, 2.0]);
    usable_again(&mut tape);

    // NaN outputs flow as values; backward refuses a NaN output, as for any op.
    let (_, total) = record(
        &tape,
        Faulty {
            nan: true,
            ..Faulty::default()
        },
        1.0,
    );
    assert!(tape.value(total.as_var()).unwrap().is_nan());
    assert!(matches!(
        tape.backward(total.as_var()),
        Err(Error::NonFinite(_))
    ));
    usable_again(&mut tape);
}

#[test]
fn bad_arguments_are_refused_when_recorded() {
    let mut mem = memory(1 << 14);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.tensor_input(&[2], &[1.0, 2.0]);
    let op = Faulty::default();
    let mut one = [TensorId::INVALID];
    let mut two = [TensorId::INVALID; 2];
    // No outputs; a count of shapes other than of outputs.
    assert!(matches!(
        tape.tensor_user_op(op, &[x], &[], &mut [], 0),
        Err(Error::InvalidArgument(_))
    ));
    usable_again(&mut tape);
    let x = tape.tensor_input(&[2], &[1.0, 2.0]);
    assert!(matches!(
        tape.tensor_user_op(op, &[x], &[Shape::vector(2)], &mut two, 0),
        Err(Error::LengthMismatch {
            got: 1,
            expected: 2,
            ..
        })
    ));
    assert_eq!(two, [TensorId::INVALID; 2]);
    usable_again(&mut tape);
    // A stale input, and a scalar variable where a tensor belongs.
    let stale = tape.tensor_input(&[2], &[1.0, 2.0]);
    tape.reset();
    assert_eq!(
        tape.tensor_user_op(op, &[stale], &[Shape::vector(2)], &mut one, 0),
        Err(Error::StaleHandle)
    );
    usable_again(&mut tape);
    let scalar = tape.input_id(1.0);
    assert!(tape
        .tensor_user_op(
            op,
            &[TensorId::from(scalar)],
            &[Shape::vector(2)],
            &mut one,
            0
        )
        .is_err());
    usable_again(&mut tape);
    // Shapes whose element count overflows.
    let x = tape.tensor_input(&[2], &[1.0, 2.0]);
    let huge = Shape::new(&[u32::MAX as usize; 4]).unwrap();
    assert!(matches!(
        tape.tensor_user_op(op, &[x], &[huge], &mut one, 0),
        Err(Error::SizeOverflow | Error::OutOfMemory { .. })
    ));
    usable_again(&mut tape);
    // Too little memory for the outputs: refused before forward runs.
    let x = tape.tensor_input(&[2], &[1.0, 2.0]);
    let big = Shape::new(&[1 << 20]).unwrap();
    assert!(matches!(
        tape.tensor_user_op(op, &[x], &[big], &mut one, 0),
        Err(Error::OutOfMemory { .. })
    ));
    usable_again(&mut tape);
}

#[test]
fn a_tape_after_an_op_failed_records_nothing_more() {
    let mut mem = memory(1 << 14);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.tensor_input(&[2], &[1.0, 2.0]);
    tape.fail(Error::InvalidArgument("earlier failure"));
    let mut out = [TensorId::INVALID];
    assert_eq!(
        tape.tensor_user_op(Faulty::default(), &[x], &[Shape::vector(2)], &mut out, 0),
        Err(Error::InvalidArgument("earlier failure"))
    );
    assert_eq!(out, [TensorId::INVALID]);
}
