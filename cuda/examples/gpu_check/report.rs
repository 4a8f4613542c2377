//! The check's bookkeeping: a seeded generator, tolerances, and the report of passed
//! and failed comparisons.

use super::*;

/// splitmix64: seeded inputs without a dependency.
pub struct Rng(pub u64);
impl Rng {
    pub fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn vec<T: Float>(&mut self, n: usize, lo: f64, hi: f64) -> Vec<T> {
        (0..n)
            .map(|_| T::from_f64(lo + self.unit() * (hi - lo)))
            .collect()
    }
}

#[derive(Clone, Copy)]
pub enum Tol {
    /// Elementwise ops, broadcasting and optimizer updates.
    Pointwise,
    /// Anything that sums: reductions, softmax, losses, products.
    Accumulating,
}

impl Tol {
    pub fn bounds(self, dtype: DType) -> (f64, f64) {
        match (self, dtype) {
            (Tol::Pointwise, DType::F32) => (1e-5, 1e-6),
            (Tol::Accumulating, DType::F32) => (1e-4, 1e-5),
            (Tol::Pointwise, _) => (1e-12, 1e-14),
            (Tol::Accumulating, _) => (1e-10, 1e-12),
        }
    }
}

#[derive(Default)]
pub struct Report {
    pub passed: usize,
    pub failed: Vec<String>,
}

impl Report {
    pub fn compare<T: Float>(&mut self, name: &str, got: &[T], want: &[T], tol: Tol, dtype: DType) {
        let (rtol, atol) = tol.bounds(dtype);
        let worst = got
            .iter()
            .zip(want)
            .enumerate()
            .map(|(i, (g, w))| {
                let (g, w) = (g.to_f64(), w.to_f64());
                ((g - w).abs() / (atol + rtol * w.abs()), i, g, w)
            })
            .fold((0.0f64, 0, 0.0, 0.0), |a, b| {
                if b.0 > a.0 || b.0.is_nan() {
                    b
                } else {
                    a
                }
            });
        if got.len() == want.len() && worst.0 <= 1.0 {
            self.passed += 1;
        } else {
            self.fail(format!(
                "{name}: element {} is {} against {} (len {} vs {})",
                worst.1,
                worst.2,
                worst.3,
                got.len(),
                want.len()
            ));
        }
    }

    pub fn error(&mut self, name: &str, e: impl std::fmt::Display) {
        self.fail(format!("{name}: {e}"));
    }

    /// A failure of a tape with the GPU attached: the core's error carries only a static
    /// category, the device keeps the full text of its last failure.
    pub fn tape_error(&mut self, name: &str, e: CoreError, dev: &Device) {
        self.error(name, tape_failure(dev, e));
    }

    pub fn check(&mut self, ok: bool, line: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.fail(line());
        }
    }

    pub fn fail(&mut self, line: String) {
        println!("FAIL {line}");
        self.failed.push(line);
    }
}

/// `e`, with the device's full text of its last failure when it has one.
pub fn tape_failure(dev: &Device, e: CoreError) -> String {
    match dev.last_error() {
        Some(text) => format!("{e} (last device failure: {text})"),
        None => e.to_string(),
    }
}

pub fn dims_of<T: Float>(tape: &Tape<T>, t: TensorId) -> Vec<usize> {
    let shape = tape.tensor_shape(t).expect("cpu shape");
    shape.dims().iter().map(|&d| d as usize).collect()
}

pub fn read<T: Float + DeviceScalar>(dev: &Device, t: &DeviceTensor) -> Result<Vec<T>, CudaError> {
    let mut out = vec![T::zero(); t.len()];
    dev.read(t, &mut out)?;
    Ok(out)
}
pub type GpuBackward<'a> = &'a dyn Fn(
    &Device,
    &[DeviceTensor],
    &DeviceTensor,
    &DeviceTensor,
    &[DeviceTensor],
) -> Result<(), CudaError>;
