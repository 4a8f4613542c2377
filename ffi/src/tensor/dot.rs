//! A tape's graph in Graphviz DOT, for looking at what was recorded.

use super::{ad_activation, ad_tensor};
use crate::c_buffer::CBuffer;
use crate::error::Failure;
use crate::ptr;
use crate::tape::{ad_tape, call};
use autodiff_core::{Activation, Error, TensorId};
use core::ffi::c_char;

/// Writes the recorded graph in Graphviz DOT into `buf`, NUL-terminated, and its length
/// (without the NUL, as `strlen`) into `*len_out`: one node per record (op and value for
/// scalars, kind and shape for tensors), one edge per argument. Render it with
/// `dot -Tsvg`. `buf` may be NULL when `cap` is 0, to ask for the length. `AD_F32` and
/// `AD_F64` tapes only. Answers on a tape with a sticky error too (the graph recorded
/// before it).
///
/// Statuses: `AD_ERR_BUFFER_TOO_SMALL` (`cap` bytes cannot hold the text and its NUL: the
/// length is still written to `*len_out`, so call again with `cap >= *len_out + 1`, and
/// `buf` holds a truncated, NUL-terminated prefix when `cap > 0`), `AD_ERR_NULL` (`tape`,
/// `len_out`, or `buf` with `cap > 0`), `AD_ERR_MISALIGNED` (`len_out`),
/// `AD_ERR_SIZE_OVERFLOW` (`cap`), `AD_ERR_INVALID_TAPE`, `AD_ERR_DTYPE_MISMATCH` (an
/// `AD_F64_DUAL` tape).
#[no_mangle]
pub unsafe extern "C" fn ad_tape_dot(
    tape: *const ad_tape,
    buf: *mut c_char,
    cap: usize,
    len_out: *mut usize,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let len_out = ptr::out(len_out, "len_out")?;
            let buf = ptr::slice_mut(buf.cast::<u8>(), cap, "buf")?;
            let mut sink = CBuffer { buf, len: 0 };
            with_float_tape!(&header.tape, t => {
                t.write_dot(&mut sink)
                    .map_err(|_| Failure::Core(Error::InvalidArgument("graph export failed")))
            })?;
            sink.finish(len_out)
        })
    }
}

/// `ad_tensor` and `TensorId` are the same four `u32`s.
const _: () = {
    assert!(core::mem::size_of::<ad_tensor>() == core::mem::size_of::<TensorId>());
    assert!(core::mem::offset_of!(ad_tensor, index) == core::mem::offset_of!(TensorId, index));
    assert!(core::mem::offset_of!(ad_tensor, kind) == core::mem::offset_of!(TensorId, kind));
    assert!(
        core::mem::offset_of!(ad_tensor, generation) == core::mem::offset_of!(TensorId, generation)
    );
    assert!(core::mem::offset_of!(ad_tensor, tape) == core::mem::offset_of!(TensorId, tape));
    assert!(Activation::ALL.len() == ad_activation::AD_ACT_SQUARE as usize + 1);
};
