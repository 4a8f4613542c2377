//! Filling in the templates of [`rules`](super::rules): the placeholders become C
//! names, literals and integers.

use super::graph::Entry;
use super::names::Name;
use crate::portable::PortableFloat;
use crate::tape::RecordKind;
use core::fmt::{self, Write};

/// What a record's placeholders stand for: the C names of its arguments' values and of
/// its own value, and the record for its inline constant or exponent.
#[derive(Clone, Copy)]
pub(super) struct Operands<T> {
    pub entry: Entry<T>,
    pub a: Name<T>,
    pub b: Name<T>,
    pub y: Name<T>,
}

/// Writes `template` with its placeholders filled in: the generated function's name is
/// `function`; `record` is `None` for helpers, which name no record.
pub(super) fn expand<T: PortableFloat>(
    out: &mut dyn Write,
    template: &str,
    function: &str,
    record: Option<&Operands<T>>,
) -> fmt::Result {
    let mut rest = template;
    while let Some(brace) = rest.find(['{', '}']) {
        out.write_str(&rest[..brace])?;
        let tail = &rest[brace..];
        // `{{` and `}}` are C's own braces; `{key}` is a placeholder.
        if tail.starts_with("{{") || tail.starts_with("}}") || tail.starts_with('}') {
            out.write_str(&tail[..1])?;
            rest = &tail[if tail.starts_with("{{") || tail.starts_with("}}") {
                2
            } else {
                1
            }..];
            continue;
        }
        let close = tail.find('}').ok_or(fmt::Error)?;
        placeholder(out, &tail[1..close], function, record)?;
        rest = &tail[close + 1..];
    }
    out.write_str(rest)
}

fn placeholder<T: PortableFloat>(
    out: &mut dyn Write,
    key: &str,
    function: &str,
    record: Option<&Operands<T>>,
) -> fmt::Result {
    let literal = |out: &mut dyn Write, value: f64| T::from_f64(value).write_c_literal(out);
    let n = record.map_or(0, |operands| operands.entry.b as i32);
    // An inline constant's `f32` bits, or a wide-constant op's constant.
    let inline_constant = || match record {
        Some(operands) if operands.entry.kind() == RecordKind::WideConstant => {
            operands.entry.constant
        }
        _ => T::from_f64(f32::from_bits(n as u32) as f64),
    };
    match (key, record) {
        ("m", _) => out.write_str(T::C_MATH_SUFFIX),
        ("T", _) => out.write_str(T::C_TYPE),
        ("F", _) => out.write_str(function),
        ("0", _) => literal(out, 0.0),
        ("1", _) => literal(out, 1.0),
        ("3", _) => literal(out, 3.0),
        ("ln2", _) => literal(out, core::f64::consts::LN_2),
        ("ln10", _) => literal(out, core::f64::consts::LN_10),
        ("2/sqrtpi", _) => literal(out, core::f64::consts::FRAC_2_SQRT_PI),
        ("a", Some(operands)) => write!(out, "{}", operands.a),
        ("b", Some(operands)) => write!(out, "{}", operands.b),
        ("y", Some(operands)) => write!(out, "{}", operands.y),
        ("c", Some(_)) => inline_constant().write_c_literal(out),
        ("1/c", Some(_)) => (T::one() / inline_constant()).write_c_literal(out),
        ("n", Some(_)) => write_int(out, n as i64),
        ("n-1", Some(_)) => write_int(out, n as i64 - 1),
        ("n+1", Some(_)) => write_int(out, n as i64 + 1),
        ("(n)", Some(_)) => literal(out, n as f64),
        _ => Err(fmt::Error),
    }
}

/// A C `int` constant; `INT_MIN` has no literal of its own.
fn write_int(out: &mut dyn Write, n: i64) -> fmt::Result {
    if n == i32::MIN as i64 {
        out.write_str("(-2147483647 - 1)")
    } else {
        write!(out, "{n}")
    }
}
