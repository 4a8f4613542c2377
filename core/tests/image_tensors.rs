//! Tensor records in tape images: a small MLP's loss (tensor ops, parameters, a scalar
//! op on the rank-0 loss) saved, loaded into another tape in other memory, and
//! differentiated there, bit for bit as on the recording tape; with and without the
//! parameters' values in the image; and images that must be refused.

mod common;

use autodiff_core::image::{image_info, ImageOptions};
use autodiff_core::{Activation, Error, ParamId, Tape, TensorId, Var, VarId};
use common::{memory, Rng};

const BATCH: usize = 4;
const HIDDEN: usize = 6;

/// Parameters as shapes and values.
type Params = Vec<(Vec<usize>, Vec<f64>)>;

/// The parameters' shapes and seeded values.
fn parameters(rng: &mut Rng) -> Params {
    [vec![2, HIDDEN], vec![HIDDEN], vec![HIDDEN, 3], vec![3]]
        .into_iter()
        .map(|dims| {
            let len = dims.iter().product();
            (dims, rng.vec(len, -0.8, 0.8))
        })
        .collect()
}

fn declare(tape: &Tape<'_, f64>, params: &[(Vec<usize>, Vec<f64>)]) -> Vec<ParamId> {
    params
        .iter()
        .map(|(dims, values)| tape.parameter(dims, values).unwrap())
        .collect()
}

/// A 2-6-3 network's loss over a batch: a fused tanh layer, a matmul with a broadcast
/// bias, softmax cross-entropy, plus a mean squared error against targets through
/// transposes, reshapes, a leaky ReLU, an axis sum and a scale, and a scalar op on the
/// sum. Returns the input tensor and the loss.
fn record_loss(tape: &Tape<'_, f64>, p: &[ParamId], x: &[f64]) -> (TensorId, VarId) {
    let input = tape.tensor_input(&[BATCH, 2], x);
    let hidden = tape.linear(input, tape.param(p[0]), tape.param(p[1]), Activation::Tanh);
    let logits = tape.tensor_add(tape.matmul(hidden, tape.param(p[2])), tape.param(p[3]));
    let ce = tape.cross_entropy(logits, &[0, 2, 1, 2]);
    let target = tape.tensor_constant(&[3, BATCH], &[0.5; 3 * BATCH]);
    let squashed = tape.leaky_relu(tape.transpose(logits), 0.1);
    let flat = tape.reshape(tape.sum_axis(tape.log_softmax(squashed), 1), &[3, 1]);
    let means = tape.reshape(tape.mean_axis(target, 1), &[1, 3]);
    let mse = tape.mse(
        tape.matmul(means, flat),
        tape.scale(
            tape.matmul_t(flat, tape.tensor_mul(flat, flat), true, false),
            0.5,
        ),
    );
    let total = tape.sum(tape.tensor_div(tape.tensor_add(ce, mse), tape.tensor_exp(ce)));
    let loss = total.as_var();
    let scalar = Var::from_id(tape, loss) * 0.25 + 1.0;
    (input, scalar.id())
}

/// What a differentiated loss gives: its value, the input's gradient, each parameter's;
/// then the same again after replaying the tape at other inputs.
fn results(tape: &Tape<'_, f64>, p: &[ParamId], input: TensorId, loss: VarId) -> Vec<u64> {
    let mut out = differentiate(tape, p, input, loss);
    let other: Vec<f64> = (0..BATCH * 2).map(|i| 0.3 - 0.1 * i as f64).collect();
    tape.set_tensor_value(input, &other).unwrap();
    tape.replay(&[]).unwrap();
    out.extend(differentiate(tape, p, input, loss));
    out
}

fn differentiate(tape: &Tape<'_, f64>, p: &[ParamId], input: TensorId, loss: VarId) -> Vec<u64> {
    tape.backward(loss).unwrap();
    let mut out = vec![tape.value(loss).unwrap()];
    let mut grad = vec![0.0; BATCH * 2];
    tape.tensor_grad(input, &mut grad).unwrap();
    out.extend(grad);
    for &param in p {
        let mut g = vec![0.0; tape.param_shape(param).unwrap().checked_len().unwrap()];
        tape.read_param_grad(param, &mut g).unwrap();
        out.extend(g);
    }
    out.into_iter().map(f64::to_bits).collect()
}

/// Records the loss on one tape and saves it with `options`.
fn saved(options: ImageOptions) -> (Vec<u8>, Vec<u64>, Params) {
    let mut rng = Rng::seeded("image tensors");
    let params = parameters(&mut rng);
    let x = rng.vec(BATCH * 2, -1.0, 1.0);
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let p = declare(&tape, &params);
    let (input, loss) = record_loss(&tape, &p, &x);
    tape.status().unwrap();
    let mut image = vec![
        0u8;
        tape.image_len_with(&[loss, input.as_var()], options)
            .unwrap()
    ];
    tape.write_image_with(&[loss, input.as_var()], options, &mut image)
        .unwrap();
    let expected = results(&tape, &p, input, loss);
    (image, expected, params)
}

/// Loads `image` into a fresh tape whose parameters are `params`, differentiates it.
fn loaded(image: &[u8], params: &[(Vec<usize>, Vec<f64>)]) -> (Vec<u64>, Vec<Vec<f64>>) {
    let mut mem = memory(1 << 20);
    // Misaligned by a byte, so nothing depends on where the tape lives.
    let tape = Tape::<f64>::new(&mut mem[1..]).unwrap();
    let p = declare(&tape, params);
    let mut outputs = [VarId::INVALID; 2];
    tape.load_image(image, &mut outputs).unwrap();
    let input = tape.tensor_of(outputs[1]).unwrap();
    let got = results(&tape, &p, input, outputs[0]);
    let values = p
        .iter()
        .zip(params)
        .map(|(&param, (_, v))| {
            let mut out = vec![0.0; v.len()];
            tape.read_param(param, &mut out).unwrap();
            out
        })
        .collect();
    (got, values)
}

#[test]
fn an_mlp_loss_loads_and_differentiates_bit_for_bit_with_the_tapes_own_parameters() {
    let (image, expected, params) = saved(ImageOptions::default());
    let info = image_info(&image).unwrap();
    assert!(!info.parameters && info.tensor_bytes > 0);
    let (got, _) = loaded(&image, &params);
    assert_eq!(got, expected);
}

#[test]
fn parameter_values_travel_in_the_image_when_asked() {
    let (image, expected, params) = saved(ImageOptions { parameters: true });
    assert!(image_info(&image).unwrap().parameters);
    // The loading tape's parameters start at zero: the image's values replace them.
    let zeros: Vec<_> = params
        .iter()
        .map(|(dims, v)| (dims.clone(), vec![0.0; v.len()]))
        .collect();
    let (got, values) = loaded(&image, &zeros);
    assert_eq!(got, expected);
    for ((_, want), have) in params.iter().zip(values) {
        assert_eq!(want, &have);
    }
    // Without them, the loading tape's own (zero) parameters give another loss.
    let (plain, ..) = saved(ImageOptions::default());
    let (other, _) = loaded(&plain, &zeros);
    assert_ne!(other[0], expected[0]);
}

/// Loads `image` into a tape with `params` and returns the error; nothing may have
/// been recorded, and the tape must still work.
fn refused(image: &[u8], params: &[(Vec<usize>, Vec<f64>)]) -> Error {
    let mut mem = memory(1 << 20);
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    declare(&tape, params);
    let mut outputs = [VarId::INVALID; 2];
    let err = tape.load_image(image, &mut outputs).unwrap_err();
    assert_eq!(tape.len(), 0, "a refused image recorded something: {err:?}");
    tape.status().unwrap();
    let x = tape.input(2.0);
    assert_eq!(tape.gradient(x * x).unwrap().wrt(x), 4.0);
    err
}

#[test]
fn missing_or_misshapen_parameters_are_refused() {
    let (image, _, params) = saved(ImageOptions::default());
    assert!(matches!(refused(&image, &params[..3]), Error::BadImage(_)));
    let mut misshapen = params.clone();
    misshapen[2].0 = vec![3, HIDDEN];
    assert!(matches!(refused(&image, &misshapen), Error::BadImage(_)));
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

/// Every bit flip is caught by the checksum; with the checksum forged to hold, flips
/// in the records and the tensor section either load (a value changed, say) or are
/// refused with nothing recorded; and every truncation is refused.
#[test]
fn corrupt_and_forged_tensor_images_are_refused_or_load_whole() {
    let (image, _, params) = saved(ImageOptions { parameters: true });
    let step = if cfg!(miri) { 97 } else { 1 };
    for byte in (0..image.len()).step_by(step) {
        for bit in 0..8 {
            let mut bad = image.clone();
            bad[byte] ^= 1 << bit;
            assert!(matches!(
                refused(&bad, &params),
                Error::BadImage(_) | Error::ImageVersion { .. }
            ));
            let crc = crc32(&[&bad[..28], &bad[32..]].concat());
            bad[28..32].copy_from_slice(&crc.to_le_bytes());
            let mut mem = memory(1 << 20);
            let tape = Tape::<f64>::new(&mut mem).unwrap();
            declare(&tape, &params);
            let mut outputs = [VarId::INVALID; 2];
            match tape.load_image(&bad, &mut outputs) {
                Ok(()) => {
                    let _ = tape.backward(outputs[0]);
                }
                Err(Error::LengthMismatch { .. }) => {}
                Err(err) => {
                    assert!(
                        matches!(
                            err,
                            Error::BadImage(_) | Error::ImageVersion { .. } | Error::DtypeMismatch
                        ),
                        "byte {byte} bit {bit}: {err:?}"
                    );
                    assert_eq!(tape.len(), 0, "byte {byte} bit {bit}: recorded something");
                }
            }
        }
    }
    for len in (0..image.len()).step_by(step) {
        assert!(matches!(
            refused(&image[..len], &params),
            Error::BadImage(_)
        ));
    }
}
