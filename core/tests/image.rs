//! Tape images: a tape saved and loaded into another arena computes the same values,
//! gradients, tangents and replays bit for bit; the bytes do not depend on where the
//! tape lived; and every corrupt, truncated or hostile image is refused with an error
//! before anything is recorded.

mod common;

use autodiff_core::image::{image_info, HEADER_LEN, VERSION};
use autodiff_core::{Error, Op, Real, Tape, Var, VarId};
use common::{memory, Rng};

/// Records a mix of ops (leaves, every kind of record, a shared constant, an exponent,
/// inline constants) over `x`, and returns two outputs.
fn record<'t, T: Real>(tape: &'t Tape<'t, T>, x: &[T]) -> (Vec<VarId>, [VarId; 2]) {
    let v: Vec<Var<'t, T>> = x.iter().map(|&x| tape.input(x)).collect();
    let c = tape.constant(T::from_f64(0.1));
    let mut f = v[0].sin() * v[1].exp() + (v[2] * v[2] + c).ln();
    f = f + v[1].powi(-3) + v[0].atan2(v[2]) + (v[2] * T::from_f64(2.5)).tanh();
    let half = Var::from_id(
        tape,
        tape.const_binary_id(Op::Sub, T::from_f64(0.5), v[0].id()),
    );
    let g = half.max(v[1]) * f + v[2].softplus();
    (v.iter().map(|v| v.id()).collect(), [f.id(), g.id()])
}

fn image_of<T: autodiff_core::PortableFloat + autodiff_core::Float>(x: &[T]) -> Vec<u8> {
    let mut mem = memory(1 << 16);
    let tape = Tape::<T>::new(&mut mem).unwrap();
    let (_, outputs) = record(&tape, x);
    let mut image = vec![0u8; tape.image_len(&outputs).unwrap()];
    assert_eq!(tape.write_image(&outputs, &mut image).unwrap(), image.len());
    image
}

fn bits<T: autodiff_core::PortableFloat>(values: &[T]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits_u64()).collect()
}

/// The loaded tape and the recorded one agree bit for bit on values, gradients of
/// each output, tangents, and a replay at another point.
fn round_trip<T: autodiff_core::PortableFloat + autodiff_core::Float>() {
    let x = [T::from_f64(0.3), T::from_f64(-0.7), T::from_f64(1.1)];
    let mut mem_a = memory(1 << 16);
    let a = Tape::<T>::new(&mut mem_a).unwrap();
    let (inputs_a, outputs_a) = record(&a, &x);
    let mut image = vec![0u8; a.image_len(&outputs_a).unwrap()];
    a.write_image(&outputs_a, &mut image).unwrap();

    // Another arena, of another size, at an odd offset, with records already in it.
    let mut mem_b = memory(3 << 14);
    let b = Tape::<T>::new(&mut mem_b[3..]).unwrap();
    let before = b.input(T::from_f64(9.0));
    let mut outputs_b = [VarId::INVALID; 2];
    b.load_image(&image, &mut outputs_b).unwrap();
    assert_eq!(b.num_inputs(), 1 + inputs_a.len());
    assert_eq!(b.len(), 1 + a.len());

    let values = |t: &Tape<'_, T>, outs: &[VarId]| {
        bits(
            &outs
                .iter()
                .map(|&o| t.value(o).unwrap())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(values(&a, &outputs_a), values(&b, &outputs_b));
    for k in 0..2 {
        let mut grad_a = vec![T::zero(); 3];
        a.gradient_into(outputs_a[k], &mut grad_a).unwrap();
        let mut grad_b = vec![T::zero(); 4];
        b.gradient_into(outputs_b[k], &mut grad_b).unwrap();
        assert_eq!(
            bits(&grad_b[..1]),
            bits(&[T::zero()]),
            "the earlier input is not involved"
        );
        assert_eq!(bits(&grad_a), bits(&grad_b[1..]));
    }
    let seeds = [T::from_f64(0.5), T::from_f64(-1.0), T::from_f64(2.0)];
    a.jvp(&seeds).unwrap();
    b.jvp(&[T::zero(), seeds[0], seeds[1], seeds[2]]).unwrap();
    let tangents = |t: &Tape<'_, T>, outs: &[VarId]| {
        bits(
            &outs
                .iter()
                .map(|&o| t.tangent(o).unwrap())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(tangents(&a, &outputs_a), tangents(&b, &outputs_b));
    let at = [T::from_f64(-0.2), T::from_f64(0.4), T::from_f64(0.9)];
    a.replay(&at).unwrap();
    b.replay(&[T::from_f64(9.0), at[0], at[1], at[2]]).unwrap();
    assert_eq!(values(&a, &outputs_a), values(&b, &outputs_b));
    assert_eq!(b.value(before.id()).unwrap(), T::from_f64(9.0));
}

#[test]
fn a_loaded_tape_computes_what_the_recorded_one_does_bit_for_bit() {
    round_trip::<f64>();
    round_trip::<f32>();
}

#[test]
fn the_image_does_not_depend_on_where_the_tape_lived() {
    let x = [0.3, -0.7, 1.1];
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem[5..]).unwrap();
    let (_, outputs) = record(&tape, &x);
    let mut image = vec![0u8; tape.image_len(&outputs).unwrap()];
    tape.write_image(&outputs, &mut image).unwrap();
    assert_eq!(image, image_of::<f64>(&x));
}

/// The seed's `(x + y)(x − 2y)` at (3, 2), byte for byte: the layout is fixed
/// little-endian with 32-bit fields, whatever machine writes or reads it.
#[test]
fn the_seed_example_has_this_exact_image() {
    let mut mem = memory(4096);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (x, y) = (tape.input(3.0), tape.input(2.0));
    let f = (x + y) * (x - y * 2.0);
    let mut image = vec![0u8; tape.image_len(&[f.id()]).unwrap()];
    tape.write_image(&[f.id()], &mut image).unwrap();
    let expected: Vec<u8> = [
        &b"ADTP"[..],
        &[2, 0, 8, 0],   // version 2, 8-byte values, no flags
        &[6, 0, 0, 0],   // records
        &[2, 0, 0, 0],   // inputs
        &[2, 0, 0, 0],   // leaves
        &[1, 0, 0, 0],   // outputs
        &[104, 0, 0, 0], // length: 36 + 6·8 + 2·8 + 4
    ]
    .concat();
    assert_eq!(&image[..28], &expected[..]);
    let word = |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().unwrap());
    assert_eq!(word(32), 0, "no tensor section");
    let op_a = |op: Op, a: u32| ((op as u32) << 26) | a;
    let records = [
        (op_a(Op::Input, 0), 0),
        (op_a(Op::Input, 0), 0),
        (op_a(Op::Add, 0), 1),
        (op_a(Op::MulConst, 1), 2.0f32.to_bits()),
        (op_a(Op::Sub, 0), 3),
        (op_a(Op::Mul, 2), 4),
    ];
    for (i, (first, b)) in records.into_iter().enumerate() {
        assert_eq!(
            (word(36 + 8 * i), word(40 + 8 * i)),
            (first, b),
            "record {i}"
        );
    }
    assert_eq!(&image[84..92], &3.0f64.to_le_bytes());
    assert_eq!(&image[92..100], &2.0f64.to_le_bytes());
    assert_eq!(word(100), 5);
    let info = image_info(&image).unwrap();
    assert_eq!(
        (
            info.records,
            info.inputs,
            info.leaves,
            info.outputs,
            info.len
        ),
        (6, 2, 2, 1, 104)
    );
}

/// Loads `image` into a fresh `f64` tape and returns the error; the tape must have
/// recorded nothing and must still work.
fn refused(image: &[u8]) -> Error {
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let mut outputs = [VarId::INVALID; 2];
    let err = tape.load_image(image, &mut outputs).unwrap_err();
    assert_eq!(tape.len(), 0, "a refused image recorded something");
    tape.status().unwrap();
    let x = tape.input(2.0);
    assert_eq!(tape.gradient(x * x).unwrap().wrt(x), 4.0);
    err
}

#[test]
fn every_single_bit_flip_and_every_truncation_is_refused() {
    let image = image_of::<f64>(&[0.3, -0.7, 1.1]);
    // Under Miri (a thousand times slower), every seventh byte.
    for byte in (0..image.len()).step_by(if cfg!(miri) { 7 } else { 1 }) {
        for bit in 0..8 {
            let mut bad = image.clone();
            bad[byte] ^= 1 << bit;
            let err = refused(&bad);
            assert!(
                matches!(err, Error::BadImage(_) | Error::ImageVersion { .. }),
                "byte {byte} bit {bit}: {err:?}"
            );
        }
    }
    for len in 0..image.len() {
        assert!(
            matches!(refused(&image[..len]), Error::BadImage(_)),
            "truncated to {len}"
        );
    }
    let mut longer = image.clone();
    longer.push(0);
    assert!(matches!(refused(&longer), Error::BadImage(_)));
}

/// CRC-32 (IEEE), to forge images whose checksum holds.
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

/// Re-seals `image` after an edit, so only the loader's structural checks stand.
fn seal(image: &mut [u8]) {
    let crc = crc32(&[&image[..28], &image[32..]].concat());
    image[28..32].copy_from_slice(&crc.to_le_bytes());
}

fn put(image: &mut [u8], at: usize, value: u32) {
    image[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn forged_images_with_a_valid_checksum_are_refused() {
    let image = image_of::<f64>(&[0.3, -0.7, 1.1]);
    let records = u32::from_le_bytes(image[8..12].try_into().unwrap()) as usize;
    let last = HEADER_LEN + 8 * (records - 1);
    let outputs_at = image.len() - 8;
    let forge = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bad = image.clone();
        edit(&mut bad);
        seal(&mut bad);
        refused(&bad)
    };
    let bad_image = |err: Error| matches!(err, Error::BadImage(_));
    // An argument that does not precede its record (itself, then past the end).
    assert!(bad_image(forge(&|b| put(
        b,
        last,
        ((Op::Sin as u32) << 26) | (records as u32 - 1)
    ))));
    assert!(bad_image(forge(&|b| put(b, last + 4, 1 << 25))));
    // Unknown op codes, and a tensor record.
    assert!(bad_image(forge(&|b| put(b, last, 63 << 26))));
    assert!(bad_image(forge(&|b| put(
        b,
        last,
        (Op::Tensor as u32) << 26
    ))));
    // A leaf with arguments; a plain unary op with a second field.
    assert!(bad_image(forge(&|b| put(b, HEADER_LEN, 1))));
    assert!(bad_image(forge(&|b| put(b, HEADER_LEN + 8 * 4 + 4, 7))));
    // An output past the end.
    assert!(bad_image(forge(&|b| put(b, outputs_at, records as u32))));
    // Counts that disagree with the records, with each other, or with the length.
    assert!(bad_image(forge(&|b| put(b, 12, 2))));
    assert!(bad_image(forge(&|b| put(b, 12, 9))));
    assert!(bad_image(forge(&|b| put(b, 8, u32::MAX))));
    assert!(bad_image(forge(&|b| put(b, 20, u32::MAX))));
    assert!(bad_image(forge(&|b| put(b, 24, u32::MAX))));
    assert!(bad_image(forge(&|b| b[6] = 16)));
    assert!(bad_image(forge(&|b| b[7] = 2)));
    // A tensor section the records do not account for.
    assert!(bad_image(forge(&|b| put(b, 32, 4))));
    assert_eq!(
        forge(&|b| b[4..6].copy_from_slice(&(VERSION + 1).to_le_bytes())),
        Error::ImageVersion {
            found: VERSION + 1,
            supported: VERSION
        }
    );
    // An `f32` image on an `f64` tape.
    assert_eq!(
        refused(&image_of::<f32>(&[0.3, -0.7, 1.1])),
        Error::DtypeMismatch
    );
}

#[test]
fn random_bytes_are_refused() {
    let mut rng = Rng::seeded("random images");
    let image = image_of::<f64>(&[0.3, -0.7, 1.1]);
    for _ in 0..if cfg!(miri) { 100 } else { 2000 } {
        let mut bad = image.clone();
        for _ in 0..rng.below(1, 8) {
            let at = rng.below(0, bad.len());
            bad[at] = rng.next_u64() as u8;
        }
        if bad != image {
            refused(&bad);
        }
    }
}

#[test]
fn loading_into_a_full_arena_fails_like_any_recording_and_reset_recovers() {
    let image = image_of::<f64>(&[0.3, -0.7, 1.1]);
    let mut mem = memory(256);
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let mut outputs = [VarId::INVALID; 2];
    let err = tape.load_image(&image, &mut outputs).unwrap_err();
    assert!(matches!(err, Error::OutOfMemory { .. }), "{err:?}");
    assert_eq!(tape.status(), Err(err));
    tape.reset();
    let x = tape.input(3.0);
    assert_eq!(tape.gradient(x * x).unwrap().wrt(x), 6.0);
}

#[test]
fn wrong_output_counts_and_pending_errors_are_refused() {
    let image = image_of::<f64>(&[0.3, -0.7, 1.1]);
    let mut mem = memory(1 << 16);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let err = tape
        .load_image(&image, &mut [VarId::INVALID; 1])
        .unwrap_err();
    assert!(matches!(err, Error::LengthMismatch { .. }), "{err:?}");
    let mut small = [0u8; 10];
    let x = tape.input(1.0);
    let err = tape.write_image(&[x.id()], &mut small).unwrap_err();
    assert!(matches!(err, Error::LengthMismatch { .. }), "{err:?}");
    tape.fail(Error::InvalidArgument("pending"));
    assert_eq!(
        tape.load_image(&image, &mut [VarId::INVALID; 2]),
        Err(Error::InvalidArgument("pending"))
    );
    assert_eq!(
        tape.image_len(&[x.id()]),
        Err(Error::InvalidArgument("pending"))
    );
}

/// A recorded comparison or selection has no place in an image or in generated C yet:
/// both refuse it with `NotExportable`.
#[test]
fn comparisons_and_selections_are_not_exported() {
    use autodiff_core::codegen::CodeOptions;
    use autodiff_core::Cmp;
    let mut mem = memory(1 << 14);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (x, y) = (tape.input(0.5), tape.input(2.0));
    let picked = x.compare(Cmp::Lt, y).select(x * y, x + y);
    let outputs = [picked.id()];
    assert!(matches!(
        tape.image_len(&outputs),
        Err(Error::NotExportable(_))
    ));
    let mut text = String::new();
    let generated = tape.write_c(&outputs, &CodeOptions::new("f"), &mut text);
    assert!(
        matches!(generated, Err(Error::NotExportable(_))),
        "{generated:?}"
    );
    // Generated C holds only what the outputs depend on: a product beside the
    // selection still generates. (An image holds the whole tape, so it stays refused.)
    let product = [(x * y).id()];
    let mut text = String::new();
    tape.write_c(&product, &CodeOptions::new("f"), &mut text)
        .unwrap();
    assert!(text.contains("f_vjp"));
    assert!(matches!(
        tape.image_len(&product),
        Err(Error::NotExportable(_))
    ));
}
