//! `ad_var` and the ops that record variables.
//!
//! Ops return a variable, never a status: a failing op puts the tape in its sticky
//! error state and returns the invalid variable, and every later op on that tape does
//! the same, so a whole expression can be written as one chain and checked once, with
//! `ad_tape_status()` or at the `ad_backward()` that ends it. The derivative rules and
//! every convention at singular points live in the core's `Op`.

use crate::tape::{ad_tape, header, poison, AnyTape};
use autodiff_core::{Op, Real, VarId};
use core::ffi::c_int;

/// A variable on a tape: the index of its record, its kind, the generation that issued
/// it and the identity of its tape (unique in the process). Plain data: copy and store it
/// freely, but never build one field by field; the tape checks all four on every use, so
/// a variable from another tape (or from a tape that once lived in the same memory), from
/// before an `ad_tape_reset()`, or made inside a checkpoint block that has ended is
/// reported (`AD_ERR_FOREIGN_HANDLE`, `AD_ERR_STALE_HANDLE`) instead of misread, and a
/// tensor's fields copied into a variable are `AD_ERR_WRONG_HANDLE_KIND` (use
/// `ad_tensor_as_var()`). That detection is exact until a counter wraps: tape identities
/// repeat after 2^32 - 1 tapes made in one process, a tape's generations after 2^32 - 1
/// resets and checkpointed blocks. Whatever its bytes, a handle only ever reaches an
/// existing record of its kind on its tape, never other memory. A failed op returns the
/// invalid variable (`index == UINT32_MAX`, every other field 0); test it with
/// `ad_var_is_valid()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ad_var {
    /// The index of the variable's record on its tape (`UINT32_MAX` in the invalid handle).
    pub index: u32,
    /// Which kind of handle this is; checked on every use.
    pub kind: u32,
    /// The generation of the tape that issued it; a reset starts a new one.
    pub generation: u32,
    /// The identity of the tape that issued it, unique in the process.
    pub tape: u32,
}

impl From<ad_var> for VarId {
    fn from(var: ad_var) -> VarId {
        VarId {
            index: var.index,
            kind: var.kind,
            generation: var.generation,
            tape: var.tape,
        }
    }
}

impl From<VarId> for ad_var {
    fn from(id: VarId) -> ad_var {
        ad_var {
            index: id.index,
            kind: id.kind,
            generation: id.generation,
            tape: id.tape,
        }
    }
}

/// `ad_var` and `VarId` are the same four `u32`s, so arrays of one are arrays of the
/// other.
const _: () = {
    assert!(core::mem::size_of::<ad_var>() == core::mem::size_of::<VarId>());
    assert!(core::mem::align_of::<ad_var>() == core::mem::align_of::<VarId>());
    assert!(core::mem::offset_of!(ad_var, index) == core::mem::offset_of!(VarId, index));
    assert!(core::mem::offset_of!(ad_var, kind) == core::mem::offset_of!(VarId, kind));
    assert!(core::mem::offset_of!(ad_var, generation) == core::mem::offset_of!(VarId, generation));
    assert!(core::mem::offset_of!(ad_var, tape) == core::mem::offset_of!(VarId, tape));
};

// SAFETY: the layouts asserted just above.
unsafe impl crate::ptr::CoreHandle for ad_var {
    type Core = VarId;
}

const INVALID: ad_var = ad_var {
    index: VarId::INVALID.index,
    kind: VarId::INVALID.kind,
    generation: VarId::INVALID.generation,
    tape: VarId::INVALID.tape,
};

/// Records through `f` on a live tape; the invalid variable otherwise. `f` returns the
/// handle [`packed`], which it does in each arm of its dtype dispatch.
///
/// The handle leaves the panic boundary as two 64-bit words written through a pointer
/// and is returned in the two registers the C ABI gives a 16-byte struct. Every store
/// on its way is a whole word that the next load reads whole: a load that spans two
/// narrower stores cannot take its data from them while they wait to retire (store
/// forwarding fails), and costs a stall on every op.
///
/// # Safety
/// As for [`header`].
#[inline(always)]
pub(crate) unsafe fn record(tape: *const ad_tape, f: impl FnOnce(&AnyTape) -> [u64; 2]) -> ad_var {
    let mut words = [
        INVALID.index as u64 | (INVALID.kind as u64) << 32,
        INVALID.generation as u64 | (INVALID.tape as u64) << 32,
    ];
    let out = &mut words;
    ffi_boundary!(
        {
            // SAFETY: forwarded from the caller.
            unsafe { poison(tape) };
        },
        {
            // SAFETY: forwarded from the caller.
            if let Ok(header) = unsafe { header(tape) } {
                if !header.is_poisoned() {
                    *out = f(&header.tape);
                }
            }
        }
    );
    ad_var {
        index: words[0] as u32,
        kind: (words[0] >> 32) as u32,
        generation: words[1] as u32,
        tape: (words[1] >> 32) as u32,
    }
}

/// `id` as the two words [`record`] returns it in: index and kind, generation and
/// tape. Each field is read on its own and the words are made in registers. The core
/// returns the handle from the stack in 4-byte fields; read as words, two fields at a
/// time, each load would wait for both stores (measured: 10.3 against 8.2 ns an
/// `ad_neg`). Made in each arm of a dtype dispatch, not after it, because the
/// dispatch's arms would otherwise meet with the handle on the stack once more
/// (8.2 against 9.2 ns).
#[inline(always)]
pub(crate) fn packed(id: VarId) -> [u64; 2] {
    [
        in_one_register(id.index as u64) | in_one_register(id.kind as u64) << 32,
        in_one_register(id.generation as u64) | in_one_register(id.tape as u64) << 32,
    ]
}

/// `word`, which the compiler then holds whole in a register and cannot trace back to
/// the memory it came from: it reads the field alone rather than joining the loads of
/// two fields into one wider one. An empty `asm!` where there is one; elsewhere (and
/// under Miri) the compiler may join them: a slower call, the same result.
#[inline(always)]
fn in_one_register(word: u64) -> u64 {
    let mut word = word;
    #[cfg(all(not(miri), any(target_arch = "x86_64", target_arch = "aarch64")))]
    // SAFETY: an empty instruction sequence: it reads and writes only the register.
    unsafe {
        core::arch::asm!("/* {0} */", inout(reg) word, options(pure, nomem, nostack, preserves_flags));
    }
    word
}

/// The op whose code is `OP`. The recording helpers below take their op as a const
/// parameter so that each exported op gets its own copy of the body, with its op's
/// evaluation in place of a dispatch over every op.
#[inline(always)]
fn op_of<const OP: u8>() -> Op {
    Op::from_code(OP).unwrap_or(Op::Const)
}

#[inline(always)]
unsafe fn unary<const OP: u8>(tape: *const ad_tape, x: ad_var) -> ad_var {
    let op = op_of::<OP>();
    // SAFETY: forwarded from the caller.
    unsafe {
        record(
            tape,
            |any| with_tape!(any, t => packed(t.unary_id(op, x.into()))),
        )
    }
}

#[inline(always)]
unsafe fn binary<const OP: u8>(tape: *const ad_tape, a: ad_var, b: ad_var) -> ad_var {
    let op = op_of::<OP>();
    // SAFETY: forwarded from the caller.
    unsafe {
        record(
            tape,
            |any| with_tape!(any, t => packed(t.binary_id(op, a.into(), b.into()))),
        )
    }
}

/// `x op c` for a constant `c`: inside the record when `f32` holds `c` exactly and the
/// op has such a form (`+ − × ÷`), otherwise through a (shared) constant record.
#[inline(always)]
unsafe fn binary_const<const OP: u8>(tape: *const ad_tape, x: ad_var, c: f64) -> ad_var {
    let op = op_of::<OP>();
    // SAFETY: forwarded from the caller.
    unsafe {
        record(
            tape,
            |any| with_tape!(any, t => packed(t.binary_const_id(op, x.into(), Real::from_f64(c)))),
        )
    }
}

/// `c op x` for a constant `c`, as [`binary_const`].
#[inline(always)]
unsafe fn const_binary<const OP: u8>(tape: *const ad_tape, c: f64, x: ad_var) -> ad_var {
    let op = op_of::<OP>();
    // SAFETY: forwarded from the caller.
    unsafe {
        record(
            tape,
            |any| with_tape!(any, t => packed(t.const_binary_id(op, Real::from_f64(c), x.into()))),
        )
    }
}

/// Whether `x` is a variable some op returned successfully, as opposed to the invalid
/// variable of a failed op. A valid variable may still be stale or foreign.
#[no_mangle]
pub extern "C" fn ad_var_is_valid(x: ad_var) -> bool {
    ffi_boundary!(false, { x != INVALID })
}

/// A new independent variable with value `value`. Inputs are numbered in the order they
/// are recorded; that order is the order of every input array (`ad_gradient()`,
/// `ad_jvp()`, `ad_replay()`, Jacobian columns).
///
/// Sticky errors: `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_input(tape: *mut ad_tape, value: f64) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe {
        record(
            tape,
            |any| with_tape!(any, t => packed(t.input_id(Real::from_f64(value)))),
        )
    }
}

/// `n` new independent variables with values `values[0..n]`, in that order: what `n`
/// calls of `ad_input()` record, in one call (one crossing of the library boundary
/// instead of `n`). Their handles go to `vars_out[0..n]`.
///
/// Statuses: `AD_ERR_NULL` (`tape`, or `values` or `vars_out` with `n > 0`),
/// `AD_ERR_MISALIGNED`, `AD_ERR_INVALID_TAPE`, `AD_ERR_SIZE_OVERFLOW` (`n`), and the tape's
/// sticky error, for example `AD_ERR_OUT_OF_MEMORY` or `AD_ERR_TOO_MANY_VARIABLES`: from
/// the first input that was not recorded on, the handles are invalid.
#[no_mangle]
pub unsafe extern "C" fn ad_inputs(
    tape: *mut ad_tape,
    values: *const f64,
    n: usize,
    vars_out: *mut ad_var,
) -> crate::error::ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        crate::tape::call(tape, |header| {
            let values = crate::ptr::slice(values, n, "values")?;
            let vars = crate::ptr::slice_mut(vars_out, n, "vars_out")?;
            with_tape!(&header.tape, t => {
                for (var, &value) in vars.iter_mut().zip(values) {
                    *var = t.input_id(Real::from_f64(value)).into();
                }
                Ok(t.status()?)
            })
        })
    }
}

/// A constant: a variable that no derivative flows into.
///
/// Sticky errors: `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_const(tape: *mut ad_tape, value: f64) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe {
        record(
            tape,
            |any| with_tape!(any, t => packed(t.constant_id(Real::from_f64(value)))),
        )
    }
}

/// `a + b`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_add(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary::<{ Op::Add as u8 }>(tape, a, b) }
}

/// `a - b`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_sub(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary::<{ Op::Sub as u8 }>(tape, a, b) }
}

/// `a * b`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_mul(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary::<{ Op::Mul as u8 }>(tape, a, b) }
}

/// `a / b`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_div(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary::<{ Op::Div as u8 }>(tape, a, b) }
}

/// `x * c` for a constant `c`.
///
/// One record, whatever `c`: inside the record when `float` holds `c` exactly (most
/// literals: `0.5`, `100`, `-3`), else (an `AD_F64` or `AD_F64_DUAL` tape) 8 bytes beside
/// the records.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_scale(tape: *mut ad_tape, x: ad_var, c: f64) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary_const::<{ Op::Mul as u8 }>(tape, x, c) }
}

/// `x + c` for a constant `c`.
///
/// One record, whatever `c`: inside the record when `float` holds `c` exactly (most
/// literals: `0.5`, `100`, `-3`), else (an `AD_F64` or `AD_F64_DUAL` tape) 8 bytes beside
/// the records.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_add_const(tape: *mut ad_tape, x: ad_var, c: f64) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary_const::<{ Op::Add as u8 }>(tape, x, c) }
}

/// `x - c` for a constant `c`.
///
/// One record, whatever `c`: inside the record when `float` holds `c` exactly (most
/// literals: `0.5`, `100`, `-3`), else (an `AD_F64` or `AD_F64_DUAL` tape) 8 bytes beside
/// the records.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_sub_const(tape: *mut ad_tape, x: ad_var, c: f64) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary_const::<{ Op::Sub as u8 }>(tape, x, c) }
}

/// `c - x` for a constant `c`.
///
/// One record, whatever `c`: inside the record when `float` holds `c` exactly (most
/// literals: `0.5`, `100`, `-3`), else (an `AD_F64` or `AD_F64_DUAL` tape) 8 bytes beside
/// the records.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_const_sub(tape: *mut ad_tape, c: f64, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { const_binary::<{ Op::Sub as u8 }>(tape, c, x) }
}

/// `x / c` for a constant `c`.
///
/// One record, whatever `c`: inside the record when `float` holds `c` exactly (most
/// literals: `0.5`, `100`, `-3`), else (an `AD_F64` or `AD_F64_DUAL` tape) 8 bytes beside
/// the records.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_div_const(tape: *mut ad_tape, x: ad_var, c: f64) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary_const::<{ Op::Div as u8 }>(tape, x, c) }
}

/// `c / x` for a constant `c`.
///
/// One record, whatever `c`: inside the record when `float` holds `c` exactly (most
/// literals: `0.5`, `100`, `-3`), else (an `AD_F64` or `AD_F64_DUAL` tape) 8 bytes beside
/// the records.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_const_div(tape: *mut ad_tape, c: f64, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { const_binary::<{ Op::Div as u8 }>(tape, c, x) }
}

/// `a^b`, differentiable in both (the derivative in `b` needs `a > 0`).
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_pow(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary::<{ Op::Pow as u8 }>(tape, a, b) }
}

/// `x^c` for a constant `c`: no derivative flows to `c`, so a negative `x` with an
/// integral `c` has a finite derivative.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_powf(tape: *mut ad_tape, x: ad_var, c: f64) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary_const::<{ Op::Powf as u8 }>(tape, x, c) }
}

/// `x^n` for an integer `n`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_powi(tape: *mut ad_tape, x: ad_var, n: c_int) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe {
        record(
            tape,
            |any| with_tape!(any, t => packed(t.powi_id(x.into(), n))),
        )
    }
}

/// The angle of the point `(x, y)`, as C's `atan2(y, x)`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_atan2(tape: *mut ad_tape, y: ad_var, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary::<{ Op::Atan2 as u8 }>(tape, y, x) }
}

/// The smaller of `a` and `b`; at a tie, `a` (value and derivative).
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_min(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary::<{ Op::Min as u8 }>(tape, a, b) }
}

/// The larger of `a` and `b`; at a tie, `a` (value and derivative).
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_max(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary::<{ Op::Max as u8 }>(tape, a, b) }
}

/// `sqrt(a² + b²)` without undue overflow.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_hypot(tape: *mut ad_tape, a: ad_var, b: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { binary::<{ Op::Hypot as u8 }>(tape, a, b) }
}

/// `-x`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_neg(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Neg as u8 }>(tape, x) }
}

/// `1 / x`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_recip(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Recip as u8 }>(tape, x) }
}

/// Square root; the derivative at 0 is +infinity.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_sqrt(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Sqrt as u8 }>(tape, x) }
}

/// Cube root.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_cbrt(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Cbrt as u8 }>(tape, x) }
}

/// `e^x`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_exp(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Exp as u8 }>(tape, x) }
}

/// `e^x - 1`, accurate near 0.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_expm1(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::ExpM1 as u8 }>(tape, x) }
}

/// Natural logarithm.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_log(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Ln as u8 }>(tape, x) }
}

/// `log(1 + x)`, accurate near 0.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_log1p(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Ln1p as u8 }>(tape, x) }
}

/// Base-2 logarithm.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_log2(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Log2 as u8 }>(tape, x) }
}

/// Base-10 logarithm.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_log10(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Log10 as u8 }>(tape, x) }
}

/// Sine.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_sin(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Sin as u8 }>(tape, x) }
}

/// Cosine.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_cos(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Cos as u8 }>(tape, x) }
}

/// Tangent.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_tan(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Tan as u8 }>(tape, x) }
}

/// Arcsine.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_asin(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Asin as u8 }>(tape, x) }
}

/// Arccosine.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_acos(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Acos as u8 }>(tape, x) }
}

/// Arctangent.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_atan(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Atan as u8 }>(tape, x) }
}

/// Hyperbolic sine.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_sinh(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Sinh as u8 }>(tape, x) }
}

/// Hyperbolic cosine.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_cosh(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Cosh as u8 }>(tape, x) }
}

/// Hyperbolic tangent.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_tanh(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Tanh as u8 }>(tape, x) }
}

/// Inverse hyperbolic sine.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_asinh(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Asinh as u8 }>(tape, x) }
}

/// Inverse hyperbolic cosine.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_acosh(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Acosh as u8 }>(tape, x) }
}

/// Inverse hyperbolic tangent.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_atanh(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Atanh as u8 }>(tape, x) }
}

/// Absolute value; the derivative at 0 is 0.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_abs(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Abs as u8 }>(tape, x) }
}

/// `1 / (1 + e^-x)`, without overflow for large `|x|`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_sigmoid(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Sigmoid as u8 }>(tape, x) }
}

/// `log(1 + e^x)`, without overflow for large `x`.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_softplus(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Softplus as u8 }>(tape, x) }
}

/// The error function.
///
/// Sticky errors: `AD_ERR_STALE_HANDLE`, `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an
/// argument that is not a variable of this tape's current recording), `AD_ERR_OUT_OF_MEMORY`,
/// `AD_ERR_TOO_MANY_VARIABLES`.
#[no_mangle]
pub unsafe extern "C" fn ad_erf(tape: *mut ad_tape, x: ad_var) -> ad_var {
    // SAFETY: the caller's contract.
    unsafe { unary::<{ Op::Erf as u8 }>(tape, x) }
}
