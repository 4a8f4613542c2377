//! Checkpointed segments refuse device tensors with `UnsupportedOnDevice` before reading
//! any output's data, whatever the block does with them: records device ops whose output
//! has rank 1 or more, or hands a device input back unchanged. Either used to copy the
//! output's value from a host pointer that a device tensor does not have.

use autodiff_core::checkpoint::segment_fn;
use autodiff_core::tensor::device::CpuDevice;
use autodiff_core::{Error, Tape, TensorId, VarId};
use core::mem::MaybeUninit;

fn tensor(id: VarId) -> TensorId {
    TensorId::from(id)
}

#[test]
fn segments_of_device_tensors_are_refused_before_any_copy() {
    let mut device_memory = vec![0.0f64; 1 << 10];
    let device = CpuDevice::new(&mut device_memory);
    let mut mem = vec![MaybeUninit::<u8>::uninit(); 1 << 16];
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let dev = tape.attach_device(&device).unwrap();

    for hand_back in [false, true] {
        // A device op of rank 2, or the device input itself.
        let block = segment_fn(
            move |tape: &Tape<'_, f64>, inputs: &[VarId], outputs: &mut [VarId]| {
                outputs[0] = if hand_back {
                    inputs[0]
                } else {
                    tape.scale(tensor(inputs[0]), 2.0).as_var()
                };
            },
        );
        tape.reset();
        let x = tape.tensor_input_on(dev, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut outputs = [VarId::INVALID];
        assert!(matches!(
            tape.checkpoint(block, &[x.as_var()], &mut outputs),
            Err(Error::UnsupportedOnDevice(_))
        ));
        assert_eq!(outputs, [VarId::INVALID]);

        // The tape works again after a reset, devices included.
        tape.reset();
        let x = tape.tensor_input_on(dev, &[2], &[1.0, 2.0]);
        let loss = tape.sum(tape.square(x));
        tape.backward(loss.as_var()).unwrap();
        assert_eq!(tape.value(loss.as_var()).unwrap(), 5.0);
    }
}
