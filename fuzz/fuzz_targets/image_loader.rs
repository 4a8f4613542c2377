//! Tape images from untrusted bytes: `image_info` and `Tape::load_image` on whatever the
//! fuzzer makes, into `f64` and `f32` tapes of fuzzed arena size and misalignment.
//!
//! The first byte picks how the rest is read: as an image as it is, or as an image whose
//! checksum is fixed up before loading (so that mutations get past the CRC and reach the
//! structural checks: argument order, op codes, counts, lengths, outputs).
//!
//! Arenas of 4 KiB and more first declare the parameters of the MLP of
//! `core/tests/image_tensors.rs` (2×6, 6, 6×3, 3), so that tensor records using them
//! load.
//!
//! Checked: nothing panics; a refused image records nothing and leaves the tape usable
//! (it differentiates `x·x` afterwards); an accepted image loads exactly
//! `info.records` records and `info.inputs` inputs, backward from each output and replay
//! run (each may fail with a status, never otherwise), C can be generated from it (or
//! is refused for its tensor records), and, before any replay, writing it out again
//! gives back the very same bytes.
#![no_main]

use autodiff_core::codegen::CodeOptions;
use autodiff_core::image::{image_info, ImageOptions};
use autodiff_core::{Error, Float, PortableFloat, Tape, VarId};
use core::mem::MaybeUninit;
use libfuzzer_sys::fuzz_target;

/// The most outputs a loaded image may name here (the handles live on the stack).
const MAX_OUTPUTS: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut image = rest.to_vec();
    if mode & 1 == 1 && image.len() >= 32 {
        let crc = crc32(&[&image[..28], &image[32..]].concat());
        image[28..32].copy_from_slice(&crc.to_le_bytes());
    }
    // Arena size (a few hundred bytes to 64 KiB) and misalignment from the mode byte.
    let len = 256 << (mode >> 4 & 0x7);
    let offset = (mode >> 1 & 0x7) as usize;
    load::<f64>(&image, len, offset);
    load::<f32>(&image, len, offset);
});

fn load<T: PortableFloat + Float>(image: &[u8], len: usize, offset: usize) {
    let mut mem = vec![MaybeUninit::<u8>::uninit(); len + offset];
    let mut tape = Tape::<T>::new(&mut mem[offset..]).expect("the arena holds a record");
    if len >= 4096 {
        for dims in [&[2, 6][..], &[6], &[6, 3], &[3]] {
            let values = vec![T::from_f64(0.25); dims.iter().product()];
            tape.parameter(dims, &values)
                .expect("the arena holds the parameters");
        }
    }
    let info = image_info(image);
    let count = info.map_or(0, |info| info.outputs);
    if count > MAX_OUTPUTS {
        return;
    }
    let mut outputs = [VarId::INVALID; MAX_OUTPUTS];
    let outputs = &mut outputs[..count];
    match tape.load_image(image, outputs) {
        Ok(()) => {
            let info = info.expect("a loaded image has a valid header");
            assert_eq!(info.value_bytes, T::BYTES);
            assert_eq!(tape.len(), info.records);
            assert_eq!(tape.num_inputs(), info.inputs);
            // Before any replay, which changes the inputs' values.
            let mut again = vec![0u8; image.len()];
            let options = ImageOptions {
                parameters: info.parameters,
            };
            assert_eq!(
                tape.write_image_with(outputs, options, &mut again),
                Ok(image.len())
            );
            assert_eq!(again, image, "a loaded image writes back differently");
            for &output in outputs.iter() {
                let _ = tape.backward(output);
            }
            let inputs = vec![T::from_f64(0.5); info.inputs];
            let _ = tape.replay(&inputs);
            let mut code = String::new();
            match tape.write_c(
                outputs,
                &CodeOptions {
                    name: "f",
                    gradient: true,
                    jvp: true,
                },
                &mut code,
            ) {
                Ok(()) | Err(Error::OutOfMemory { .. } | Error::NotExportable(_)) => {}
                Err(error) => panic!("generating C from a loaded image failed: {error:?}"),
            }
        }
        Err(Error::OutOfMemory { .. } | Error::TooManyVariables { .. }) => {
            // The arena filled up while recording: sticky, as for any recording.
            assert!(tape.status().is_err());
            tape.reset();
            check_usable(&tape);
        }
        Err(error) => {
            assert!(
                matches!(
                    error,
                    Error::BadImage(_)
                        | Error::ImageVersion { .. }
                        | Error::DtypeMismatch
                        | Error::LengthMismatch { .. }
                ),
                "unexpected error {error:?}"
            );
            assert_eq!(tape.len(), 0, "a refused image recorded something");
            check_usable(&tape);
        }
    }
}

fn check_usable<T: PortableFloat + Float>(tape: &Tape<'_, T>) {
    tape.status().expect("no sticky error");
    let x = tape.input(T::from_f64(3.0));
    let grad = tape.gradient(x * x).expect("a gradient").wrt(x);
    assert_eq!(grad, T::from_f64(6.0));
}

/// CRC-32 (IEEE), as the image format uses.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
