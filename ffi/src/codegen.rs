//! C source generated from a recorded tape: a self-contained C99 file computing the
//! outputs, their vector-Jacobian product and, optionally, their Jacobian-vector
//! product, with no heap and no library beyond `<math.h>`.

use crate::c_buffer::CBuffer;
use crate::error::Failure;
use crate::ptr;
use crate::tape::{ad_tape, call};
use crate::var::ad_var;
use autodiff_core::codegen::CodeOptions;
use autodiff_core::{Error, VarId};
use core::ffi::{c_char, c_uint, CStr};

/// `ad_tape_generate_c()` flag: also generate `NAME_vjp(x, y_bar, y, x_bar)`, which
/// computes `y` and `x_bar = y_bar^T J` (the gradient of a single output with
/// `y_bar[0] = 1`).
pub const AD_CODEGEN_VJP: c_uint = 1;
/// `ad_tape_generate_c()` flag: also generate `NAME_jvp(x, x_dot, y, y_dot)`, which
/// computes `y` and `y_dot = J x_dot`.
pub const AD_CODEGEN_JVP: c_uint = 2;

/// Writes C99 source for `outputs[0..n)` into `buf[0..cap)`, NUL-terminated, and its
/// length (without the NUL, as `strlen`) to `*len_out`. The file defines
/// `void NAME(const T *x, T *y)` (`T` is `double` for an `AD_F64` tape, `float` for an
/// `AD_F32` one; `x` holds the inputs in recording order, `y` the outputs in the order
/// given) and, by `flags`, `NAME_vjp` (`AD_CODEGEN_VJP`) and `NAME_jvp`
/// (`AD_CODEGEN_JVP`); their arrays must not overlap (they are `restrict`). Only the
/// records the outputs depend on are written, each op as the tape evaluates it, in the
/// tape's order, with runs of records that repeat with a constant stride (a loop's
/// iterations) written back as loops: compiled without `-ffast-math` and without
/// floating-point contraction, the results are the tape's bit for bit except where
/// `<math.h>` rounds a transcendental differently from the library's own math. `buf`
/// may be NULL when `cap` is 0, to ask for the length. Needs four bits per record and
/// a few words per loop of scratch in the tape's memory, given back before returning. Scalar records only:
/// outputs that depend on tensor or checkpointed-segment records are refused.
///
/// Statuses: `AD_ERR_BUFFER_TOO_SMALL` (`cap` bytes cannot hold the text and its NUL:
/// the length is still written to `*len_out`, so call again with `cap >= *len_out + 1`),
/// `AD_ERR_NULL` (`tape`, `name`, `len_out`, `buf` with `cap > 0`, or `outputs` with
/// `n > 0`), `AD_ERR_MISALIGNED` (`len_out` or `outputs`), `AD_ERR_SIZE_OVERFLOW` (`cap`
/// or `n`), `AD_ERR_INVALID_TAPE`, `AD_ERR_INVALID_ARGUMENT` (`name` is not a C
/// identifier of 1 to 64 characters, or is a keyword; unknown bits in `flags`; `buf` overlaps
/// `outputs`), `AD_ERR_DTYPE_MISMATCH` (an `AD_F64_DUAL` tape), `AD_ERR_STALE_HANDLE`,
/// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an output),
/// `AD_ERR_NOT_EXPORTABLE` (an output depends on tensor or checkpointed-segment
/// records), `AD_ERR_OUT_OF_MEMORY` (the scratch does not fit), and the tape's sticky
/// error.
#[no_mangle]
pub unsafe extern "C" fn ad_tape_generate_c(
    tape: *const ad_tape,
    outputs: *const ad_var,
    n: usize,
    name: *const c_char,
    flags: c_uint,
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let len_out = ptr::out(len_out, "len_out")?;
            if name.is_null() {
                return Err(Failure::Null("name"));
            }
            let name = CStr::from_ptr(name)
                .to_str()
                .map_err(|_| Error::InvalidArgument("the function name is not UTF-8"))?;
            if flags & !(AD_CODEGEN_VJP | AD_CODEGEN_JVP) != 0 {
                return Err(
                    Error::InvalidArgument("unknown bits in the code generation flags").into(),
                );
            }
            let outputs = ptr::slice(outputs, n, "outputs")?;
            let buf = ptr::slice_mut(buf.cast::<u8>(), cap, "buf")?;
            ptr::disjoint(outputs, buf, "buf overlaps outputs")?;
            // SAFETY: `ad_var` and `VarId` have one layout (asserted in `var`).
            let ids = core::slice::from_raw_parts(outputs.as_ptr().cast::<VarId>(), n);
            let options = CodeOptions {
                name,
                gradient: flags & AD_CODEGEN_VJP != 0,
                jvp: flags & AD_CODEGEN_JVP != 0,
            };
            let mut sink = CBuffer { buf, len: 0 };
            with_float_tape!(&header.tape, t => Ok(t.write_c(ids, &options, &mut sink)?))?;
            sink.finish(len_out)
        })
    }
}
