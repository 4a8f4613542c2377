//! Generates C from a tape, compiles it (for the host, freestanding, and for a
//! Cortex-M4), runs it through `driver.c`, and returns what it computed next to what
//! the tape computes at the same point.

use autodiff_core::codegen::CodeOptions;
use autodiff_core::{PortableFloat, Tape, VarId};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The same quantities from the tape and from the generated code.
pub struct Pair<T> {
    pub what: &'static str,
    pub tape: Vec<T>,
    pub generated: Vec<T>,
}

fn work_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("codegen");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The strict flags the generated code must compile cleanly with.
const STRICT: [&str; 6] = [
    "-std=c99",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
];

/// Compiles `source` as a freestanding object for the host and for a Cortex-M4 with a
/// single-precision FPU. `arm-none-eabi-gcc` must be installed (`.ci/run` does).
pub fn compile_checks(source: &Path) {
    let object = source.with_extension("o");
    run(
        Command::new("gcc")
            .args(STRICT)
            .arg("-ffreestanding")
            .arg("-c")
            .arg(source)
            .arg("-o")
            .arg(&object),
        "gcc -ffreestanding",
    );
    run(
        Command::new("arm-none-eabi-gcc")
            .args(STRICT)
            .args([
                "-mcpu=cortex-m4",
                "-mthumb",
                "-mfloat-abi=hard",
                "-mfpu=fpv4-sp-d16",
                "-c",
            ])
            .arg(source)
            .arg("-o")
            .arg(source.with_extension("arm.o")),
        "arm-none-eabi-gcc",
    );
}

/// Records nothing: `tape` holds the recording, made at some point and replayed at
/// `x`. Generates `gen`, `gen_vjp` and `gen_jvp` for `outputs`, runs them at `x` with
/// `y_bar` and `x_dot`, and pairs each result with the tape's own.
pub fn compare_with_tape<T: PortableFloat>(
    tape: &Tape<'_, T>,
    inputs: &[VarId],
    outputs: &[VarId],
    tag: &str,
    x: &[T],
    y_bar: &[T],
    x_dot: &[T],
) -> Vec<Pair<T>> {
    let options = CodeOptions {
        name: "gen",
        gradient: true,
        jvp: true,
    };
    let mut code = String::new();
    tape.write_c(outputs, &options, &mut code).unwrap();
    assert_eq!(tape.c_code_len(outputs, &options).unwrap(), code.len());
    let mut buf = vec![0u8; code.len()];
    assert_eq!(
        tape.write_c_into(outputs, &options, &mut buf).unwrap(),
        code.len()
    );
    assert_eq!(buf, code.as_bytes());

    let dir = work_dir();
    let source = dir.join(format!("{tag}.c"));
    std::fs::write(&source, &code).unwrap();
    compile_checks(&source);
    let exe = dir.join(tag);
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/codegen/driver.c");
    run(
        Command::new("gcc")
            .args(STRICT)
            .arg(format!("-DGENERATED=\"{}\"", source.display()))
            .arg(format!("-DREAL={}", T::C_TYPE))
            .arg(format!("-DN_IN={}", x.len()))
            .arg(format!("-DN_OUT={}", outputs.len()))
            .arg("-DHAS_JVP=1")
            .arg(&driver)
            .arg("-lm")
            .arg("-o")
            .arg(&exe),
        "building the driver",
    );
    let mut child = Command::new(&exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let words: Vec<String> = x
        .iter()
        .chain(y_bar)
        .chain(x_dot)
        .map(|v| format!("{:x}", v.to_bits_u64()))
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(words.join(" ").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the generated program failed");
    let mut got = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| T::from_bits_u64(u64::from_str_radix(line, 16).unwrap()))
        .collect::<Vec<T>>()
        .into_iter();
    let mut take = |n: usize| (&mut got).take(n).collect::<Vec<T>>();
    let (n_in, n_out) = (x.len(), outputs.len());
    let (y_plain, y_vjp, x_bar, y_jvp, y_dot) = (
        take(n_out),
        take(n_out),
        take(n_in),
        take(n_out),
        take(n_out),
    );

    tape.replay(x).unwrap();
    let values: Vec<T> = outputs.iter().map(|&o| tape.value(o).unwrap()).collect();
    tape.vjp(outputs, y_bar).unwrap();
    let grads: Vec<T> = inputs.iter().map(|&i| tape.grad(i).unwrap()).collect();
    tape.jvp(x_dot).unwrap();
    let tangents: Vec<T> = outputs.iter().map(|&o| tape.tangent(o).unwrap()).collect();
    vec![
        Pair {
            what: "y (gen)",
            tape: values.clone(),
            generated: y_plain,
        },
        Pair {
            what: "y (gen_vjp)",
            tape: values.clone(),
            generated: y_vjp,
        },
        Pair {
            what: "x_bar (gen_vjp)",
            tape: grads,
            generated: x_bar,
        },
        Pair {
            what: "y (gen_jvp)",
            tape: values,
            generated: y_jvp,
        },
        Pair {
            what: "y_dot (gen_jvp)",
            tape: tangents,
            generated: y_dot,
        },
    ]
}

/// Asserts every pair equal bit for bit (NaNs equal to NaNs).
pub fn assert_bitwise<T: PortableFloat>(pairs: &[Pair<T>]) {
    for pair in pairs {
        assert_eq!(pair.tape.len(), pair.generated.len(), "{}", pair.what);
        for (k, (t, g)) in pair.tape.iter().zip(&pair.generated).enumerate() {
            let same =
                t.to_bits_u64() == g.to_bits_u64() || (t.to_f64().is_nan() && g.to_f64().is_nan());
            assert!(same, "{}[{k}]: tape {t:?}, generated {g:?}", pair.what);
        }
    }
}

/// Asserts every pair equal within `tol` relative to the largest magnitude of its
/// vector (transcendentals round differently in `<math.h>` and in `libm`), and
/// returns how many entries were equal bit for bit and how many were compared.
pub fn assert_close<T: PortableFloat>(pairs: &[Pair<T>], tol: f64) -> (usize, usize) {
    let (mut same, mut total) = (0, 0);
    for pair in pairs {
        assert_eq!(pair.tape.len(), pair.generated.len(), "{}", pair.what);
        let scale = pair
            .tape
            .iter()
            .map(|v| v.to_f64().abs())
            .fold(1e-300, f64::max);
        for (k, (t, g)) in pair.tape.iter().zip(&pair.generated).enumerate() {
            let (t, g) = (t.to_f64(), g.to_f64());
            assert!(
                (t - g).abs() <= tol * scale,
                "{}[{k}]: tape {t:e}, generated {g:e}",
                pair.what
            );
            same += (t.to_bits() == g.to_bits()) as usize;
            total += 1;
        }
    }
    (same, total)
}
