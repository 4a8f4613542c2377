//! The host side: the program prints its lines to standard output and, given
//! `--compare <transcript>`, checks them against what the firmware printed.
//!
//! Two transcripts agree when they have the same lines in the same order, except that
//! `# ` lines (figures of the target) are skipped and a value marked `~1e-n` may differ
//! by a relative error of at most 10⁻ⁿ. Every other value must match bit for bit.

extern crate std;

use super::Program;
use crate::report::{Report, Sink};
use core::mem::MaybeUninit;
use std::io::Write;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{env, fs, print, println, process};

/// Prints each line and keeps a copy for the comparison.
struct Stdout(Vec<u8>);

impl Sink for Stdout {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
        let _ = std::io::stdout().write_all(bytes);
    }
}

/// Runs `program`, compares with the transcript named by `--compare` if any, and exits
/// with status 0 when the program's checks passed and the transcripts agree.
pub fn run(program: Program, arena: &mut [MaybeUninit<u8>]) -> ! {
    let args: Vec<String> = env::args().collect();
    let mut out = Stdout(Vec::new());
    let mut report = Report::new(&mut out);
    program(arena, &mut report);
    let mut success = report.finish();
    if let Some(path) = args
        .iter()
        .position(|a| a == "--compare")
        .map(|i| args.get(i + 1))
    {
        let Some(path) = path else {
            eprintln("--compare needs the firmware's transcript");
            process::exit(2);
        };
        let theirs = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                eprintln(&std::format!("cannot read {path}: {error}"));
                process::exit(2);
            }
        };
        let ours = String::from_utf8_lossy(&out.0).to_string();
        success &= compare(&ours, &theirs, path);
    }
    process::exit(if success { 0 } else { 1 })
}

fn eprintln(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// The lines that are compared: all but the `# ` figures and blank lines.
fn compared_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with("# "))
        .collect()
}

/// A value line's label, type, bits and tolerance exponent.
struct Value<'a> {
    label: &'a str,
    ty: &'a str,
    bits: u64,
    tolerance: Option<i32>,
}

fn parse_value(line: &str) -> Option<Value<'_>> {
    let (rest, tolerance) = match line.rsplit_once(" ~1e-") {
        Some((rest, exp)) => (rest, Some(exp.parse().ok()?)),
        None => (line, None),
    };
    let (rest, bits) = rest.rsplit_once(' ')?;
    let (label, ty) = rest.rsplit_once(' ')?;
    if ty != "f32" && ty != "f64" {
        return None;
    }
    let bits = u64::from_str_radix(bits, 16).ok()?;
    Some(Value {
        label,
        ty,
        bits,
        tolerance,
    })
}

fn decode(v: &Value<'_>) -> f64 {
    if v.ty == "f32" {
        f64::from(f32::from_bits(v.bits as u32))
    } else {
        f64::from_bits(v.bits)
    }
}

/// Compares the host's lines with the firmware's, printing a summary or the first lines
/// that disagree.
fn compare(ours: &str, theirs: &str, name: &str) -> bool {
    let (ours, theirs) = (compared_lines(ours), compared_lines(theirs));
    let (mut bitwise, mut within, mut worst, mut bad) = (0, 0, 0.0f64, 0);
    if ours.len() != theirs.len() {
        println!(
            "compare {name}: {} lines here, {} in the transcript",
            ours.len(),
            theirs.len()
        );
        bad += 1;
    }
    for (a, b) in ours.iter().zip(&theirs) {
        if a == b {
            if parse_value(a).is_some() {
                bitwise += 1;
            }
            continue;
        }
        let agree = match (parse_value(a), parse_value(b)) {
            (Some(x), Some(y))
                if x.label == y.label && x.ty == y.ty && x.tolerance == y.tolerance =>
            {
                let (u, v) = (decode(&x), decode(&y));
                let error = (u - v).abs() / u.abs().max(v.abs()).max(f64::MIN_POSITIVE);
                worst = worst.max(error);
                let ok = x.tolerance.is_some_and(|n| error <= 10f64.powi(-n));
                if ok {
                    within += 1;
                } else {
                    println!("compare {name}: {} here {u:e}, firmware {v:e}", x.label);
                }
                ok
            }
            _ => false,
        };
        if !agree {
            println!("compare {name}: differ:\n  here:     {a}\n  firmware: {b}");
            bad += 1;
        }
    }
    if bad == 0 {
        print!("agrees with {name}: values bit for bit {bitwise}");
        if within > 0 {
            print!(", within their tolerance {within} (worst relative error {worst:.1e})");
        }
        println!();
    }
    bad == 0
}
