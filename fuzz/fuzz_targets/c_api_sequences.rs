//! Byte-driven sequences of C API calls through the `autodiff` rlib: the entry points C
//! hosts call, called the way a careless C host might.
//!
//! Each input is a program of calls on up to three tapes (`ad_tape_init` into a buffer
//! of fuzzed size and misalignment, or `ad_tape_new`), CPU devices, parameters and
//! optimizers, tensors, checkpointed blocks and chains with `extern "C"` callbacks
//! (some of which break the callback rules the header states), sweeps, Jacobians,
//! Hessian-vector products, vector modes, dense Hessians, sparse Jacobian and Hessian
//! plans (evaluated after their tape recorded more, or on another tape), DOT output
//! into small buffers, and records written from C by `autodiff_inline.h`. Handles come
//! from every tape and generation, so most are foreign or stale, and some are forged.
//!
//! Checked on every call: the status is a documented `ad_status` (and never
//! `AD_ERR_PANIC`, which a panic hook turns into an abort anyway); out-parameters are
//! left alone on failure; buffers are written within their length (each lives in its
//! own heap block, so AddressSanitizer sees an overrun); strings are NUL-terminated.
//! After `ad_tape_reset` a tape computes a known gradient again. A chain gradient
//! equals, bit for bit, recording the whole chain on one tape, and its recomputation
//! is the proven minimum.
//!
//! Handles are made by API calls, except in [`forge`], the one place that builds them
//! from numbers (their layout is about to change).
#![no_main]

use autodiff::checkpoint::{
    ad_chain_gradient, ad_chain_gradient_eval, ad_chain_gradient_online, ad_chain_report,
    ad_chain_workspace_bytes, ad_checkpoint, ad_checkpoint_tensors,
};
use autodiff::compare::{
    ad_branch, ad_compare, ad_compare_const, ad_select, ad_tape_branch_changes, CmpArg,
};
use autodiff::derivatives::{
    ad_backward, ad_grad, ad_gradient, ad_hvp, ad_jacobian, ad_jacobian_fwd, ad_jvp, ad_replay,
    ad_tangent, ad_value,
};
use autodiff::device::{
    ad_device, ad_device_close, ad_device_open_cpu, ad_device_open_cuda, ad_tape_attach_device,
    ad_tape_set_device, ad_tensor_device, ad_tensor_to_device, ad_tensor_to_host,
};
use autodiff::dual::*;
use autodiff::error::{ad_status, ad_status_str, StatusArg};
use autodiff::gpu_query::{ad_device_available, ad_device_count, ad_device_memory, ad_device_name};
use autodiff::optim::{ad_optim_adam, ad_optim_sgd, ad_optim_step};
use autodiff::optim_state::{ad_optim_state_bytes, ad_optim_state_load, ad_optim_state_save};
use autodiff::param::*;
use autodiff::param_group::*;
use autodiff::sparse::*;
use autodiff::tape::*;
use autodiff::tensor::*;
use autodiff::user_op::{ad_user_op, ad_user_op_def};
use autodiff::var::*;
use autodiff::vector_modes::{
    ad_forward_vector, ad_forward_vector_at, ad_hessian, ad_reverse_vector,
};
use autodiff::version::{ad_abi_version, ad_version};
use autodiff_fuzz::Bytes;
use core::ffi::{c_char, c_int, c_void, CStr};
use core::ptr;
use libfuzzer_sys::fuzz_target;
use std::cell::Cell;

#[path = "c_api_sequences/growth_host.rs"]
mod growth_host;
#[path = "c_api_sequences/inline_recording.rs"]
mod inline_recording;
use growth_host::GrowthHost;

use ad_status::*;

// ---- statuses ----

/// The highest status code this target knows of (for statistics, and for statuses a
/// block returns); `check` asks the library which codes are documented.
const LAST_STATUS: i32 = AD_ERR_STATE_MISMATCH as i32;

/// Whether `code` is a status the library documents: `ad_status_str` has a description
/// for it (the header lists the same codes).
fn documented(code: i32) -> bool {
    // SAFETY: `ad_status_str` returns a static NUL-terminated string.
    let text = unsafe { CStr::from_ptr(ad_status_str(StatusArg(code))) };
    code >= 0 && text.to_bytes() != b"unknown status code"
}

thread_local! {
    /// With `AD_FUZZ_STATS` set: how often each step kind (by its byte) ended in each
    /// status, printed now and then, to see which paths the sequences reach.
    static STATS: core::cell::RefCell<Option<Stats>> = const { core::cell::RefCell::new(None) };
}

struct Stats {
    op: usize,
    execs: u64,
    counts: Vec<[u64; LAST_STATUS as usize + 1]>,
}

fn stats_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("AD_FUZZ_STATS").is_some())
}

/// With `AD_FUZZ_TRACE` set: every step and status, on stderr.
fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("AD_FUZZ_TRACE").is_some())
}

fn stats_op(op: u8) {
    if tracing() {
        eprintln!("step {}", op % 64);
    }
    if stats_enabled() {
        STATS.with(|s| {
            let mut s = s.borrow_mut();
            let s = s.get_or_insert_with(|| Stats {
                op: 0,
                execs: 0,
                counts: vec![[0; LAST_STATUS as usize + 1]; 64],
            });
            s.op = (op % 64) as usize;
        });
    }
}

fn stats_exec() {
    if stats_enabled() {
        STATS.with(|s| {
            if let Some(s) = s.borrow_mut().as_mut() {
                s.execs += 1;
                if s.execs % 20_000 == 0 {
                    eprintln!("after {} sequences: step -> [(status, count)]", s.execs);
                    for (op, row) in s.counts.iter().enumerate() {
                        let seen: Vec<(usize, u64)> = row
                            .iter()
                            .copied()
                            .enumerate()
                            .filter(|&(_, c)| c > 0)
                            .collect();
                        eprintln!("  {op:2}: {seen:?}");
                    }
                }
            }
        });
    }
}

/// Checks that `status` is a documented code, and not a caught panic.
#[track_caller]
fn check(status: ad_status) -> ad_status {
    let code = status as i32;
    if tracing() {
        eprintln!(
            "  {status:?} at line {}",
            core::panic::Location::caller().line()
        );
    }
    if stats_enabled() {
        STATS.with(|s| {
            if let Some(s) = s.borrow_mut().as_mut() {
                let op = s.op;
                if let Some(c) = s.counts[op].get_mut(code.clamp(0, LAST_STATUS) as usize) {
                    *c += 1;
                }
            }
        });
    }
    assert!(documented(code), "undocumented status {code}");
    assert_ne!(status, AD_ERR_PANIC, "a panic was caught at the boundary");
    status
}

/// A NaN that no library call produces: marks an out-parameter that must not be written.
const SENTINEL: f64 = f64::from_bits(0x7ff4_dead_beef_0001);

fn untouched(values: &[f64]) -> bool {
    values.iter().all(|v| v.to_bits() == SENTINEL.to_bits())
}

/// `f(out)` for a `double` out-parameter: checked, and left alone on failure.
#[track_caller]
fn out_f64(f: impl FnOnce(*mut f64) -> ad_status) -> (ad_status, f64) {
    let mut out = SENTINEL;
    let status = check(f(&mut out));
    if status != AD_OK {
        assert!(untouched(&[out]), "{status:?}: out-parameter written");
    }
    (status, out)
}

/// `f(out)` for a `size_t` out-parameter (which `AD_ERR_BUFFER_TOO_SMALL` writes: it is
/// the length needed).
#[track_caller]
fn out_usize(f: impl FnOnce(*mut usize) -> ad_status) -> (ad_status, usize) {
    const MARK: usize = 0x5eed_5eed;
    let mut out = MARK;
    let status = check(f(&mut out));
    if status != AD_OK && status != AD_ERR_BUFFER_TOO_SMALL {
        assert_eq!(out, MARK, "{status:?}: out-parameter written");
    }
    (status, out)
}

/// `f(buf, n)` for a `double` array out-parameter of `n` values in its own heap block
/// (NULL when empty, sometimes NULL anyway, sometimes misaligned).
#[track_caller]
fn out_array(b: &mut Bytes, n: usize, f: impl FnOnce(*mut f64, usize) -> ad_status) -> ad_status {
    match b.u8() % 16 {
        0 => return check(f(ptr::null_mut(), n)),
        1 if n > 0 => {
            let mut raw = vec![0u8; n * 8 + 8];
            let status = check(f(raw.as_mut_ptr().wrapping_add(1 + b.below(7)).cast(), n));
            assert_ne!(status, AD_OK, "a misaligned double array was accepted");
            return status;
        }
        _ => {}
    }
    let mut buf = vec![SENTINEL; n];
    let p = if n == 0 {
        ptr::null_mut()
    } else {
        buf.as_mut_ptr()
    };
    let status = check(f(p, n));
    if status != AD_OK {
        assert!(untouched(&buf), "{status:?}: output array written");
    }
    status
}

/// A `double` input array of `n` values in its own heap block.
fn in_array(b: &mut Bytes, n: usize) -> Vec<f64> {
    (0..n).map(|_| value(b)).collect()
}

/// A number to feed a tape: mostly tame, sometimes extreme or not finite.
fn value(b: &mut Bytes) -> f64 {
    match b.u8() % 16 {
        0 => b.raw_f64(),
        1 => f64::NAN,
        2 => f64::INFINITY,
        3 => 1e300,
        4 => -0.0,
        _ => b.input_f64(),
    }
}

// ---- handles ----

/// Every handle this target builds from numbers rather than receives from the library,
/// and the only code that knows the layout of `ad_var`, `ad_tensor` and `ad_param`
/// (`index, kind, generation, tape`; a parameter has no generation).
///
/// With no bytes: the invalid handles the header documents (what a failed op returns).
/// With bytes: made-up numbers, or another handle's numbers with a twist (a neighbouring
/// index, another kind, a flipped generation or tape bit, a zero field, ...), and one kind
/// of handle reinterpreted as another.
fn forge(
    b: Option<&mut Bytes>,
    var: Option<ad_var>,
    tensor: Option<ad_tensor>,
    param: Option<ad_param>,
) -> (ad_var, ad_tensor, ad_param) {
    let [index, kind, generation, tape] = match b {
        None => [u32::MAX, 0, 0, 0],
        Some(b) => {
            let mut fields = match b.u8() % 4 {
                0 => [b.u32(), b.u32() % 5, b.u32(), b.u32()],
                1 => var.map_or([0, 1, 1, 1], |v| [v.index, v.kind, v.generation, v.tape]),
                2 => tensor.map_or([1, 2, 1, 1], |t| [t.index, t.kind, t.generation, t.tape]),
                _ => param.map_or([0, 3, 0, 1], |p| [p.index, p.kind, 0, p.tape]),
            };
            let field = b.below(4);
            match b.u8() % 8 {
                0 => fields[0] = fields[0].wrapping_add(1),
                1 => fields[0] = fields[0].wrapping_sub(1),
                2 => fields[0] = u32::MAX,
                3 => fields[field] ^= 1 << b.below(32),
                4 => fields[field] = 0,
                5 => fields[0] = b.u32() % 64,
                6 => fields[field] = fields[field].wrapping_add(b.u32()),
                _ => {}
            }
            fields
        }
    };
    (
        ad_var {
            index,
            kind,
            generation,
            tape,
        },
        ad_tensor {
            index,
            kind,
            generation,
            tape,
        },
        ad_param { index, kind, tape },
    )
}

/// The invalid variable a failed op returns.
fn invalid_var() -> ad_var {
    forge(None, None, None, None).0
}

/// The invalid tensor a failed op returns.
fn invalid_tensor() -> ad_tensor {
    forge(None, None, None, None).1
}

/// The invalid parameter, as a mark for an out-parameter.
fn invalid_param() -> ad_param {
    forge(None, None, None, None).2
}

// ---- tapes, devices and what a sequence holds ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
    Dual,
}

impl Dtype {
    fn arg(self) -> DtypeArg {
        DtypeArg(match self {
            Dtype::F32 => 1,
            Dtype::F64 => 2,
            Dtype::Dual => 3,
        })
    }
}

/// A dtype argument: mostly valid, sometimes not.
fn dtype_arg(b: &mut Bytes) -> (DtypeArg, Option<Dtype>) {
    match b.u8() % 16 {
        0 => {
            let raw = b.u32() as c_int;
            let known = match raw {
                1 => Some(Dtype::F32),
                2 => Some(Dtype::F64),
                3 => Some(Dtype::Dual),
                _ => None,
            };
            (DtypeArg(raw), known)
        }
        1..=5 => (Dtype::F32.arg(), Some(Dtype::F32)),
        6..=12 => (Dtype::F64.arg(), Some(Dtype::F64)),
        _ => (Dtype::Dual.arg(), Some(Dtype::Dual)),
    }
}

/// A tape of the sequence.
struct Slot {
    tape: *mut ad_tape,
    dtype: Dtype,
    /// The caller's memory of an `ad_tape_init` tape (it stays valid, and unchanged,
    /// after `ad_tape_done`); `None` for an `ad_tape_new` tape.
    mem: Option<Vec<u8>>,
    /// Where in `mem` the tape starts.
    offset: usize,
    len: usize,
    /// Ended with `ad_tape_done` (an `ad_tape_init` tape whose memory is still there).
    ended: bool,
    /// A block that breaks the rules of a block (records other ops each time, or
    /// records inputs) was checkpointed since the last reset: two sweeps may then
    /// compute different things.
    unruly: bool,
    /// A variable this tape returned (for the check after a re-initialisation at the
    /// same address).
    last_var: Option<ad_var>,
    /// The first few tensor leaves (inputs, constants) made since the last reset, with
    /// their values: sweeps, Jacobians and checkpoints must leave them as they are (a
    /// tape whose arena they corrupt shows it here, where AddressSanitizer cannot look).
    canaries: Vec<(ad_tensor, Vec<f64>)>,
    /// The inputs recorded by `ad_input` at the top level, in order (with any recorded
    /// elsewhere, or from before a reset, the list no longer matches the tape's, and is
    /// dropped).
    inputs: Vec<ad_var>,
    /// The host that lends the tape memory for its records (`ad_tape_set_growth`), if
    /// any: it outlives the tape.
    growth: Option<Box<GrowthHost>>,
}

/// `ad_gradient` against `ad_backward` and `ad_grad` of each input, which need no
/// conversion of a `double` array (an `AD_F32` tape converts through its scratch).
unsafe fn check_gradient(world: &mut World, i: Option<usize>, x: ad_var, n: usize) {
    let Some(slot) = i.and_then(|i| world.slots[i].as_mut()).filter(|s| !s.ended) else {
        return;
    };
    let tape = slot.tape;
    if slot.unruly {
        return;
    }
    unsafe {
        let live = slot
            .inputs
            .iter()
            .all(|&v| out_f64(|o| ad_value(tape, v, o)).0 == AD_OK);
        if !live || slot.inputs.len() != n {
            slot.inputs.clear();
            return;
        }
        let mut g = vec![SENTINEL; n];
        assert_eq!(
            check(ad_gradient(tape, x, g.as_mut_ptr(), n)),
            AD_OK,
            "ad_gradient again"
        );
        assert_eq!(
            check(ad_backward(tape, x)),
            AD_OK,
            "ad_backward after ad_gradient"
        );
        for (k, &v) in slot.inputs.iter().enumerate() {
            let (status, gk) = out_f64(|o| ad_grad(tape, v, o));
            assert_eq!(status, AD_OK);
            assert!(
                gk.to_bits() == g[k].to_bits() || (gk.is_nan() && g[k].is_nan()),
                "ad_gradient[{k}] = {:e}, ad_grad = {gk:e}",
                g[k]
            );
        }
    }
}

/// The value of tensor `t` on `tape` (`n` elements), if it can be read.
unsafe fn tensor_values(
    tape: *mut ad_tape,
    dtype: Dtype,
    t: ad_tensor,
    n: usize,
) -> Option<Vec<f64>> {
    unsafe {
        match dtype {
            Dtype::F32 => {
                let mut out = vec![0f32; n];
                (check(ad_tensor_value_f32(tape, t, out.as_mut_ptr(), n)) == AD_OK)
                    .then(|| out.iter().map(|&v| v as f64).collect())
            }
            Dtype::F64 => {
                let mut out = vec![0f64; n];
                (check(ad_tensor_value_f64(tape, t, out.as_mut_ptr(), n)) == AD_OK).then_some(out)
            }
            Dtype::Dual => None,
        }
    }
}

/// Checks slot `i`'s canary tensors still hold their values (those that can still be
/// read: a reset makes them stale, and drops them).
unsafe fn check_canaries(world: &mut World, i: Option<usize>, what: &str) {
    let Some(slot) = i.and_then(|i| world.slots[i].as_mut()).filter(|s| !s.ended) else {
        return;
    };
    let (tape, dtype) = (slot.tape, slot.dtype);
    slot.canaries.retain(|(t, before)| {
        match unsafe { tensor_values(tape, dtype, *t, before.len()) } {
            Some(now) => {
                for (k, (a, b)) in before.iter().zip(&now).enumerate() {
                    assert!(
                        a.to_bits() == b.to_bits(),
                        "{what} changed element {k} of a tensor leaf: {a:e} -> {b:e}"
                    );
                }
                true
            }
            None => false,
        }
    });
}

/// Takes the values of slot `i`'s canaries again (after a write), and adds `t` (of `n`
/// elements) to them.
unsafe fn set_canaries(world: &mut World, i: Option<usize>, t: Option<(ad_tensor, usize)>) {
    let Some(slot) = i.and_then(|i| world.slots[i].as_mut()).filter(|s| !s.ended) else {
        return;
    };
    let (tape, dtype) = (slot.tape, slot.dtype);
    let mut wanted: Vec<(ad_tensor, usize)> =
        slot.canaries.iter().map(|(t, v)| (*t, v.len())).collect();
    if let Some(t) = t.filter(|_| wanted.len() < 4) {
        wanted.push(t);
    }
    slot.canaries = wanted
        .into_iter()
        .filter_map(|(t, n)| unsafe { tensor_values(tape, dtype, t, n) }.map(|v| (t, v)))
        .collect();
}

/// A CPU device and its memory.
struct Device {
    device: *mut ad_device,
    _mem: Vec<u64>,
}

const TAPES: usize = 3;
/// Words of the buffer passed as a tape that is no tape: at least a header's bytes.
const SCRATCH_WORDS: usize = 512;

/// Everything a sequence made.
struct World {
    slots: [Option<Slot>; TAPES],
    devices: Vec<Device>,
    /// Every handle any call returned, of every tape and generation.
    vars: Vec<ad_var>,
    tensors: Vec<ad_tensor>,
    params: Vec<ad_param>,
    /// The callback contexts: they outlive every tape that may call them.
    blocks: Vec<*mut BlockCtx>,
}

const MAX_HANDLES: usize = 64;

fn remember<T: Copy>(pool: &mut Vec<T>, x: T) {
    if pool.len() < MAX_HANDLES {
        pool.push(x);
    } else {
        let last = pool.len() - 1;
        pool[last] = x;
    }
}

impl World {
    fn new() -> World {
        World {
            slots: [None, None, None],
            devices: Vec::new(),
            vars: Vec::new(),
            tensors: Vec::new(),
            params: Vec::new(),
            blocks: Vec::new(),
        }
    }

    /// A tape pointer: a live or ended tape of the sequence, now and then NULL or a
    /// pointer that is no tape (misaligned, or an unrelated buffer).
    fn tape(
        &self,
        b: &mut Bytes,
        scratch: &mut [u64; SCRATCH_WORDS],
    ) -> (*mut ad_tape, Option<usize>) {
        let k = b.u8();
        match k % 32 {
            0 => (ptr::null_mut(), None),
            1 => {
                // Zeroed memory, aligned: not a tape (its magic number is wrong).
                scratch.fill(0);
                (scratch.as_mut_ptr().cast(), None)
            }
            2 => {
                // A misaligned pointer into a live tape's header.
                match self.slots.iter().flatten().next() {
                    Some(s) => (s.tape.cast::<u8>().wrapping_add(1).cast(), None),
                    None => (ptr::null_mut(), None),
                }
            }
            _ => {
                // The slot asked for, or else the first tape there is.
                let asked = (k as usize) % TAPES;
                let i = if self.slots[asked].is_some() {
                    Some(asked)
                } else {
                    self.slots.iter().position(Option::is_some)
                };
                match i.and_then(|i| self.slots[i].as_ref()) {
                    Some(s) => (s.tape, i),
                    None => (ptr::null_mut(), None),
                }
            }
        }
    }

    fn slot(&self, i: Option<usize>) -> Option<&Slot> {
        i.and_then(|i| self.slots[i].as_ref())
    }

    fn live(&self, i: Option<usize>) -> Option<&Slot> {
        self.slot(i).filter(|s| !s.ended)
    }

    fn var(&self, b: &mut Bytes) -> ad_var {
        let n = self.vars.len();
        match b.u8() % 16 {
            0 => self.forged(b).0,
            1 => invalid_var(),
            2..=8 if n > 0 => self.vars[n - 1 - b.below(n.min(4))],
            _ if n > 0 => self.vars[b.below(n)],
            _ => self.forged_var(b),
        }
    }

    fn forged_var(&self, b: &mut Bytes) -> ad_var {
        forge(Some(b), None, None, None).0
    }

    /// Handles forged from the latest ones of each kind.
    fn forged(&self, b: &mut Bytes) -> (ad_var, ad_tensor, ad_param) {
        let (v, t, p) = (
            self.vars.last().copied(),
            self.tensors.last().copied(),
            self.params.last().copied(),
        );
        forge(Some(b), v, t, p)
    }

    fn tensor(&self, b: &mut Bytes) -> ad_tensor {
        let n = self.tensors.len();
        match b.u8() % 16 {
            0 => self.forged(b).1,
            2..=8 if n > 0 => self.tensors[n - 1 - b.below(n.min(4))],
            _ if n > 0 => self.tensors[b.below(n)],
            _ => forge(Some(b), None, None, None).1,
        }
    }

    fn param(&self, b: &mut Bytes) -> ad_param {
        let n = self.params.len();
        match b.u8() % 8 {
            0 => self.forged(b).2,
            _ if n > 0 => self.params[b.below(n)],
            _ => forge(Some(b), None, None, None).2,
        }
    }

    fn keep_var(&mut self, v: ad_var, tape: Option<usize>) -> ad_var {
        if ad_var_is_valid(v) {
            remember(&mut self.vars, v);
            if let Some(slot) = tape.and_then(|i| self.slots[i].as_mut()) {
                slot.last_var = Some(v);
            }
        }
        v
    }

    fn keep_tensor(&mut self, t: ad_tensor) -> ad_tensor {
        if ad_tensor_is_valid(t) {
            remember(&mut self.tensors, t);
        }
        t
    }
}

/// How a fuzzed user op's callbacks behave, carried in its user data (a number, not a
/// pointer): 0 computes `y_j = 2·Σx`, 1 fails forward, 2 gives NaN, 3 fails the vjp.
fn user_mode(user_data: *mut c_void) -> usize {
    user_data as usize
}

unsafe extern "C" fn user_forward(
    user_data: *mut c_void,
    x: *const f64,
    n_in: usize,
    y: *mut f64,
    n_out: usize,
    _state: *mut f64,
    _state_len: usize,
) -> c_int {
    let mode = user_mode(user_data);
    if mode == 1 {
        return 5;
    }
    // SAFETY: the library passes arrays of the stated lengths (NULL when empty).
    let sum: f64 = (0..n_in).map(|k| unsafe { *x.add(k) }).sum();
    for j in 0..n_out {
        // SAFETY: as above.
        unsafe { *y.add(j) = if mode == 2 { f64::NAN } else { 2.0 * sum } };
    }
    0
}

/// `results[0..n_results) = 2·Σ seeds[0..n_seeds)`: both products with the all-2
/// Jacobian of `user_forward`.
fn user_product(seeds: *const f64, n_seeds: usize, results: *mut f64, n_results: usize) {
    // SAFETY: the library passes arrays of the stated lengths (NULL when empty).
    let sum: f64 = (0..n_seeds).map(|k| unsafe { *seeds.add(k) }).sum();
    for j in 0..n_results {
        // SAFETY: as above.
        unsafe { *results.add(j) = 2.0 * sum };
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn user_vjp(
    user_data: *mut c_void,
    _x: *const f64,
    n_in: usize,
    _y: *const f64,
    n_out: usize,
    _state: *const f64,
    _state_len: usize,
    dy: *const f64,
    dx: *mut f64,
) -> c_int {
    if user_mode(user_data) == 3 {
        return -1;
    }
    user_product(dy, n_out, dx, n_in);
    0
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn user_jvp(
    _user_data: *mut c_void,
    _x: *const f64,
    n_in: usize,
    _y: *const f64,
    n_out: usize,
    _state: *const f64,
    _state_len: usize,
    dx: *const f64,
    dy: *mut f64,
) -> c_int {
    user_product(dx, n_in, dy, n_out);
    0
}

/// Records a user op with random inputs, counts, state and behaviour.
unsafe fn user_op(world: &mut World, b: &mut Bytes, tape: *mut ad_tape) -> ad_var {
    let n_in = b.below(4);
    let n_out = b.below(3);
    let inputs: Vec<ad_var> = (0..n_in).map(|_| world.var(b)).collect();
    let mut outputs = vec![invalid_var(); n_out.max(1)];
    let def = ad_user_op_def {
        forward: Some(user_forward),
        vjp: if b.one_in(16) { None } else { Some(user_vjp) },
        jvp: if b.bool() { Some(user_jvp) } else { None },
        user_data: b.below(5) as *mut c_void,
        state_len: b.below(3),
    };
    let status = check(unsafe {
        ad_user_op(
            tape,
            &def,
            if n_in == 0 {
                ptr::null()
            } else {
                inputs.as_ptr()
            },
            n_in,
            outputs.as_mut_ptr(),
            n_out,
        )
    });
    if status != AD_OK {
        assert!(
            outputs.iter().all(|y| !ad_var_is_valid(*y)),
            "{status:?}: outputs written"
        );
    }
    outputs[0]
}

/// Ends a slot's tape (if it is not ended) and drops it.
unsafe fn end(mut slot: Slot) {
    if !slot.ended {
        if slot.mem.is_some() {
            let status = unsafe { end_with(&mut slot, |t| ad_tape_done(t)) };
            assert_eq!(status, AD_OK);
        } else {
            unsafe {
                end_with(&mut slot, |t| {
                    ad_tape_free(t);
                    AD_OK
                })
            };
        }
    }
}

/// Ends `slot`'s tape with `end_call` (`ad_tape_done` or `ad_tape_free`) and, once it
/// has ended, checks that its growth host got every block back, each once.
unsafe fn end_with(slot: &mut Slot, end_call: impl FnOnce(*mut ad_tape) -> ad_status) -> ad_status {
    if let Some(host) = slot.growth.as_mut() {
        host.ending = true;
    }
    let status = check(end_call(slot.tape));
    if let Some(host) = slot.growth.as_mut() {
        host.ending = false;
        if status == AD_OK {
            host.assert_settled("the tape ended");
        }
    }
    status
}

/// Bytes of memory for a new tape of `dtype`, and whether it grows. One tape in eight
/// gets a growth host and room for a few records only (and sometimes a few KiB for
/// tensors), so that its records soon move to the host's blocks.
fn tape_size(b: &mut Bytes, dtype: Option<Dtype>) -> (usize, bool) {
    let k = b.u8();
    if k >= 0xe0 {
        let records = 1 + b.below(24);
        let (_, bytes) = out_usize(|o| unsafe {
            ad_tape_bytes_for(records, dtype.unwrap_or(Dtype::F64).arg(), o)
        });
        let tensors = if b.bool() { b.below(64) } else { b.below(8192) };
        return (bytes + tensors, true);
    }
    let bytes = match k % 8 {
        0 => b.below(512),
        1 => b.below(4096),
        2 => 1 << (b.u8() % 17),
        3..=6 => 8192 + b.below(24576),
        _ => 1 << 16,
    };
    (bytes, false)
}

/// A growth host that `b` picks, registered on `tape`, new in `memory` (`(address,
/// bytes)`).
unsafe fn new_growth(b: &mut Bytes, tape: *mut ad_tape, memory: (usize, usize)) -> Box<GrowthHost> {
    let mut host = Box::new(GrowthHost::new(b, memory));
    host.tape = tape;
    let status = check(unsafe { GrowthHost::register(&mut *host, tape) });
    assert_eq!(status, AD_OK, "ad_tape_set_growth on a new tape");
    host
}

/// `(x + y)(x - 2y)` at `(3, 2)`: the gradient is `(4, -11)` on every dtype.
unsafe fn known_gradient(tape: *mut ad_tape) -> (ad_status, [f64; 2]) {
    unsafe {
        let (x, y) = (ad_input(tape, 3.0), ad_input(tape, 2.0));
        let f = ad_mul(
            tape,
            ad_add(tape, x, y),
            ad_sub(tape, x, ad_scale(tape, y, 2.0)),
        );
        let mut g = [SENTINEL; 2];
        let status = check(ad_gradient(tape, f, g.as_mut_ptr(), 2));
        (status, g)
    }
}

// ---- checkpointed blocks ----

/// What a block does besides recording its outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mischief {
    None,
    /// Leaves an output unset (`AD_ERR_INVALID_ARGUMENT`).
    LeaveUnset,
    /// Returns a status of its own (any `int`).
    Status(c_int),
    /// Tries to reset, or to end, the tape that runs it (refused).
    Reset,
    Done,
    /// Uses a handle made outside, which may be foreign or stale by then.
    Outside,
    /// Records an independent input (the header says it must not).
    Input,
    /// Records different ops on later calls (the header says it must not).
    Varies,
    /// Runs a sweep on the tape that runs it: refused (`AD_ERR_REENTRANT`).
    Sweep,
    /// Records a nested checkpointed block.
    Nested,
    /// Keeps the handles it made, which the sequence uses later (stale by then).
    Leak,
}

/// A block's program and what it remembers between calls.
struct BlockCtx {
    ops: [u8; 8],
    mischief: Mischief,
    outside: ad_var,
    outside_tensor: ad_tensor,
    calls: Cell<u32>,
    leaked: Cell<Option<ad_var>>,
    leaked_tensor: Cell<Option<ad_tensor>>,
    /// A nested block's context, if `Nested`.
    nested: *mut BlockCtx,
}

/// A scalar op of a block: `ops[k]` picks it, over the nodes so far.
unsafe fn block_op(tape: *mut ad_tape, code: u8, nodes: &[ad_var]) -> ad_var {
    let a = nodes[(code as usize / 8) % nodes.len()];
    let b = nodes[(code as usize / 3) % nodes.len()];
    unsafe {
        match code % 8 {
            0 => ad_sin(tape, a),
            1 => ad_mul(tape, a, b),
            2 => ad_add(tape, a, b),
            3 => ad_tanh(tape, a),
            4 => ad_scale(tape, a, 0.5),
            5 => ad_sub(tape, a, b),
            6 => ad_exp(tape, ad_scale(tape, a, 0.25)),
            _ => ad_atan(tape, a),
        }
    }
}

unsafe extern "C" fn scalar_block(
    tape: *mut ad_tape,
    inputs: *const ad_var,
    n_in: usize,
    outputs: *mut ad_var,
    n_out: usize,
    user_data: *mut c_void,
) -> StatusArg {
    // SAFETY: the library passes `n_in` inputs and `n_out` outputs, and the user data
    // this target gave, which outlives every tape.
    let ctx = unsafe { &*user_data.cast::<BlockCtx>() };
    let inputs = if n_in == 0 {
        &[][..]
    } else {
        unsafe { core::slice::from_raw_parts(inputs, n_in) }
    };
    let outputs = if n_out == 0 {
        &mut [][..]
    } else {
        unsafe { core::slice::from_raw_parts_mut(outputs, n_out) }
    };
    let call = ctx.calls.get();
    ctx.calls.set(call.wrapping_add(1));
    unsafe {
        let mut nodes: Vec<ad_var> = inputs.to_vec();
        if nodes.is_empty() {
            nodes.push(ad_const(tape, 0.75));
        }
        match ctx.mischief {
            Mischief::Outside => nodes.push(ctx.outside),
            Mischief::Input => nodes.push(ad_input(tape, 1.5)),
            Mischief::Reset => {
                assert_ne!(check(ad_tape_reset(tape)), AD_OK, "reset inside a block")
            }
            Mischief::Done => assert_ne!(check(ad_tape_done(tape)), AD_OK, "ended inside a block"),
            Mischief::Nested if !ctx.nested.is_null() => {
                let mut inner = [invalid_var(); 1];
                let status = check(ad_checkpoint(
                    tape,
                    Some(scalar_block),
                    ctx.nested.cast(),
                    nodes.as_ptr(),
                    nodes.len(),
                    inner.as_mut_ptr(),
                    1,
                ));
                if status == AD_OK {
                    nodes.push(inner[0]);
                }
            }
            _ => {}
        }
        for (k, &code) in ctx.ops.iter().enumerate() {
            let code = if ctx.mischief == Mischief::Varies && call > 0 {
                code.wrapping_add(call as u8).wrapping_add(k as u8)
            } else {
                code
            };
            let v = block_op(tape, code, &nodes);
            nodes.push(v);
        }
        if ctx.mischief == Mischief::Sweep {
            // From a record of the block itself: one that comes after the segment's
            // record when the block runs again inside a sweep.
            sweep_inside(tape, *nodes.last().expect("a node"), ctx.ops[7]);
        }
        let len = nodes.len();
        for (j, out) in outputs.iter_mut().enumerate() {
            // A distinct record per output.
            *out = ad_scale(tape, nodes[len - 1 - j % len], 1.0 + j as f64);
        }
        if ctx.mischief == Mischief::Leak {
            ctx.leaked.set(outputs.first().copied());
        }
        match ctx.mischief {
            Mischief::LeaveUnset if !outputs.is_empty() => {
                outputs[outputs.len() - 1] = invalid_var()
            }
            Mischief::Status(s) => return StatusArg(s),
            _ => {}
        }
    }
    StatusArg(0)
}

/// A sweep on the tape a callback runs on, from `x` (the header forbids it).
unsafe fn sweep_inside(tape: *mut ad_tape, x: ad_var, how: u8) {
    unsafe {
        let (_, n) = out_usize(|c| ad_tape_num_inputs(tape, c));
        let n = n.min(256);
        let mut values = vec![0.5; n];
        let status = match how % 5 {
            0 | 1 => check(ad_backward(tape, x)),
            2 => check(ad_gradient(tape, x, values.as_mut_ptr(), n)),
            3 => check(ad_jvp(tape, values.as_ptr(), n)),
            _ => check(ad_replay(tape, values.as_ptr(), n)),
        };
        // Refused (AD_ERR_REENTRANT, or a length error first), never run.
        assert_ne!(
            status, AD_OK,
            "a sweep from inside a callback on its own tape ran"
        );
    }
}

unsafe extern "C" fn tensor_block(
    tape: *mut ad_tape,
    inputs: *const ad_tensor,
    n_in: usize,
    outputs: *mut ad_tensor,
    n_out: usize,
    user_data: *mut c_void,
) -> StatusArg {
    // SAFETY: as in `scalar_block`.
    let ctx = unsafe { &*user_data.cast::<BlockCtx>() };
    let inputs = if n_in == 0 {
        &[][..]
    } else {
        unsafe { core::slice::from_raw_parts(inputs, n_in) }
    };
    let outputs = if n_out == 0 {
        &mut [][..]
    } else {
        unsafe { core::slice::from_raw_parts_mut(outputs, n_out) }
    };
    let call = ctx.calls.get();
    ctx.calls.set(call.wrapping_add(1));
    unsafe {
        let mut nodes: Vec<ad_tensor> = inputs.to_vec();
        match ctx.mischief {
            Mischief::Outside => nodes.push(ctx.outside_tensor),
            Mischief::Reset => assert_ne!(check(ad_tape_reset(tape)), AD_OK),
            Mischief::Done => assert_ne!(check(ad_tape_done(tape)), AD_OK),
            Mischief::Input => {
                ad_input(tape, 2.0);
            }
            _ => {}
        }
        if nodes.is_empty() {
            let one = [1.0f64];
            nodes.push(ad_tensor_const_f64(tape, ptr::null(), 0, one.as_ptr(), 1));
        }
        for (k, &code) in ctx.ops.iter().enumerate().take(4) {
            let code = if ctx.mischief == Mischief::Varies && call > 0 {
                code.wrapping_add(call as u8).wrapping_add(k as u8)
            } else {
                code
            };
            let a = nodes[(code as usize / 8) % nodes.len()];
            let b = nodes[(code as usize / 3) % nodes.len()];
            let v = match code % 6 {
                0 => ad_tensor_activation(tape, a, ActivationArg(4)),
                1 => ad_tensor_mul(tape, a, b),
                2 => ad_tensor_add(tape, a, b),
                3 => ad_tensor_scale(tape, a, 0.5),
                4 => ad_tensor_sum(tape, a),
                _ => ad_tensor_activation(tape, a, ActivationArg(3)),
            };
            nodes.push(v);
        }
        let len = nodes.len();
        for (j, out) in outputs.iter_mut().enumerate() {
            *out = ad_tensor_scale(tape, nodes[len - 1 - j % len], 1.0 + j as f64);
        }
        if ctx.mischief == Mischief::Leak {
            ctx.leaked_tensor.set(outputs.first().copied());
        }
        match ctx.mischief {
            Mischief::LeaveUnset if !outputs.is_empty() => outputs[0] = invalid_tensor(),
            Mischief::Status(s) => return StatusArg(s),
            _ => {}
        }
    }
    StatusArg(0)
}

/// Notes on slot `i` a block (or one it nests) that breaks the rules.
fn note_block(world: &mut World, i: Option<usize>, mut ctx: *mut BlockCtx) {
    let mut unruly = false;
    while !ctx.is_null() {
        // SAFETY: contexts live until the end of the sequence.
        let c = unsafe { &*ctx };
        unruly |= matches!(c.mischief, Mischief::Varies | Mischief::Input);
        ctx = if c.mischief == Mischief::Nested {
            c.nested
        } else {
            ptr::null_mut()
        };
    }
    if let Some(slot) = i.and_then(|i| world.slots[i].as_mut()) {
        slot.unruly |= unruly;
    }
}

fn mischief(b: &mut Bytes) -> Mischief {
    match b.u8() % 24 {
        0 => Mischief::LeaveUnset,
        1 => Mischief::Status(match b.u8() % 4 {
            0 => b.u32() as c_int,
            1 => AD_ERR_NON_FINITE as c_int,
            2 => AD_ERR_OUT_OF_MEMORY as c_int,
            _ => b.below(LAST_STATUS as usize + 3) as c_int,
        }),
        2 => Mischief::Reset,
        3 => Mischief::Done,
        4 => Mischief::Outside,
        5 => Mischief::Input,
        6 => Mischief::Varies,
        7 => Mischief::Sweep,
        8 | 9 => Mischief::Nested,
        10 => Mischief::Leak,
        _ => Mischief::None,
    }
}

fn new_block(world: &mut World, b: &mut Bytes, depth: u32) -> *mut BlockCtx {
    let mut ops = [0u8; 8];
    let n = 1 + b.below(8);
    for op in ops.iter_mut().take(n) {
        *op = b.u8();
    }
    // Unused ops repeat the last one: a block of 1 to 8 ops.
    for k in n..8 {
        ops[k] = ops[n - 1] | 0x80;
    }
    let mischief = mischief(b);
    let nested = if mischief == Mischief::Nested && depth < 2 {
        new_block(world, b, depth + 1)
    } else {
        ptr::null_mut()
    };
    let outside = world.var(b);
    let outside_tensor = world.tensor(b);
    let ctx = Box::into_raw(Box::new(BlockCtx {
        ops,
        mischief,
        outside,
        outside_tensor,
        calls: Cell::new(0),
        leaked: Cell::new(None),
        leaked_tensor: Cell::new(None),
        nested,
    }));
    world.blocks.push(ctx);
    ctx
}

// ---- chains ----

/// A chain's step program (over the state and the parameters), its loss and how it
/// misbehaves.
struct ChainCtx {
    d: usize,
    p: usize,
    ops: [u8; 6],
    n_ops: usize,
    mischief: Mischief,
    /// The step that misbehaves (mischief applies at this `k` only).
    at: usize,
    f32: bool,
    calls: Cell<u32>,
    kept: Cell<Option<ad_var>>,
    /// The online chain ends at this many steps.
    online_steps: usize,
}

/// A chain op over state and parameter values, as the tape computes it, for `eval`.
fn chain_op_value<T: autodiff_core::Real>(code: u8, nodes: &[T]) -> T {
    use autodiff_core::Op;
    let a = nodes[(code as usize / 8) % nodes.len()];
    let b = nodes[(code as usize / 3) % nodes.len()];
    match code % 5 {
        0 => Op::Sin.eval_unary(a, 0),
        1 => Op::Mul.eval_binary(a, b),
        2 => Op::Add.eval_binary(a, b),
        3 => Op::Tanh.eval_unary(a, 0),
        _ => Op::Mul.eval_binary(a, T::from_f64(0.5)),
    }
}

unsafe fn chain_op(tape: *mut ad_tape, code: u8, nodes: &[ad_var]) -> ad_var {
    let a = nodes[(code as usize / 8) % nodes.len()];
    let b = nodes[(code as usize / 3) % nodes.len()];
    unsafe {
        match code % 5 {
            0 => ad_sin(tape, a),
            1 => ad_mul(tape, a, b),
            2 => ad_add(tape, a, b),
            3 => ad_tanh(tape, a),
            _ => ad_scale(tape, a, 0.5),
        }
    }
}

unsafe extern "C" fn chain_step(
    tape: *mut ad_tape,
    k: usize,
    state: *const ad_var,
    params: *const ad_var,
    next: *mut ad_var,
    user_data: *mut c_void,
) -> StatusArg {
    // SAFETY: the library passes `d` state and next handles and `p` parameters.
    let ctx = unsafe { &*user_data.cast::<ChainCtx>() };
    ctx.calls.set(ctx.calls.get().wrapping_add(1));
    let state = if ctx.d == 0 {
        &[][..]
    } else {
        unsafe { core::slice::from_raw_parts(state, ctx.d) }
    };
    let params = if ctx.p == 0 {
        &[][..]
    } else {
        unsafe { core::slice::from_raw_parts(params, ctx.p) }
    };
    let next = if ctx.d == 0 {
        &mut [][..]
    } else {
        unsafe { core::slice::from_raw_parts_mut(next, ctx.d) }
    };
    let naughty = k == ctx.at;
    unsafe {
        let mut nodes: Vec<ad_var> = state.iter().chain(params).copied().collect();
        if nodes.is_empty() {
            nodes.push(ad_const(tape, 1.0));
        }
        if naughty {
            match ctx.mischief {
                Mischief::Reset => assert_ne!(check(ad_tape_reset(tape)), AD_OK),
                Mischief::Done => assert_ne!(check(ad_tape_done(tape)), AD_OK),
                Mischief::Input => nodes.push(ad_input(tape, 0.25)),
                Mischief::Outside => {
                    if let Some(v) = ctx.kept.get() {
                        nodes.push(v);
                    }
                }
                _ => {}
            }
        }
        let varies = naughty && ctx.mischief == Mischief::Varies && ctx.calls.get() > 2;
        for &code in &ctx.ops[..ctx.n_ops] {
            let code = if varies { code ^ 0x11 } else { code };
            let v = chain_op(tape, code, &nodes);
            nodes.push(v);
        }
        if naughty && ctx.mischief == Mischief::Sweep {
            sweep_inside(tape, *nodes.last().expect("a node"), ctx.ops[0]);
        }
        let len = nodes.len();
        for (i, slot) in next.iter_mut().enumerate() {
            *slot = ad_scale(tape, nodes[len - 1 - i % len], 0.5);
        }
        ctx.kept.set(next.first().copied());
        if naughty {
            match ctx.mischief {
                Mischief::LeaveUnset if !next.is_empty() => next[0] = invalid_var(),
                Mischief::Status(s) => return StatusArg(s),
                _ => {}
            }
        }
    }
    StatusArg(0)
}

unsafe extern "C" fn chain_eval(
    k: usize,
    state: *const f64,
    params: *const f64,
    next: *mut f64,
    user_data: *mut c_void,
) -> StatusArg {
    // SAFETY: as in `chain_step`, with values.
    let ctx = unsafe { &*user_data.cast::<ChainCtx>() };
    let state = if ctx.d == 0 {
        &[][..]
    } else {
        unsafe { core::slice::from_raw_parts(state, ctx.d) }
    };
    let params = if ctx.p == 0 {
        &[][..]
    } else {
        unsafe { core::slice::from_raw_parts(params, ctx.p) }
    };
    let next = if ctx.d == 0 {
        &mut [][..]
    } else {
        unsafe { core::slice::from_raw_parts_mut(next, ctx.d) }
    };
    fn run<T: autodiff_core::Real>(
        ctx: &ChainCtx,
        state: &[f64],
        params: &[f64],
        next: &mut [f64],
    ) {
        let mut nodes: Vec<T> = state
            .iter()
            .chain(params)
            .map(|&v| T::from_f64(v))
            .collect();
        if nodes.is_empty() {
            nodes.push(T::from_f64(1.0));
        }
        for &code in &ctx.ops[..ctx.n_ops] {
            let v = chain_op_value(code, &nodes);
            nodes.push(v);
        }
        let len = nodes.len();
        for (i, slot) in next.iter_mut().enumerate() {
            *slot = autodiff_core::Op::Mul
                .eval_binary(nodes[len - 1 - i % len], T::from_f64(0.5))
                .to_f64();
        }
    }
    if ctx.f32 {
        run::<f32>(ctx, state, params, next);
    } else {
        run::<f64>(ctx, state, params, next);
    }
    if k == ctx.at {
        if let Mischief::Status(s) = ctx.mischief {
            return StatusArg(s);
        }
    }
    StatusArg(0)
}

unsafe extern "C" fn chain_loss(
    tape: *mut ad_tape,
    state: *const ad_var,
    params: *const ad_var,
    user_data: *mut c_void,
) -> ad_var {
    // SAFETY: as in `chain_step`.
    let ctx = unsafe { &*user_data.cast::<ChainCtx>() };
    let state = if ctx.d == 0 {
        &[][..]
    } else {
        unsafe { core::slice::from_raw_parts(state, ctx.d) }
    };
    let params = if ctx.p == 0 {
        &[][..]
    } else {
        unsafe { core::slice::from_raw_parts(params, ctx.p) }
    };
    unsafe {
        let mut loss = ad_const(tape, 0.0);
        for &v in state.iter().chain(params) {
            loss = ad_add(tape, loss, ad_mul(tape, v, v));
        }
        if ctx.mischief == Mischief::Leak {
            // A handle from an earlier tape (the probe's, or an earlier step's).
            if let Some(v) = ctx.kept.get() {
                return v;
            }
        }
        loss
    }
}

unsafe extern "C" fn chain_done(
    k: usize,
    _state: *const f64,
    _d: usize,
    user_data: *mut c_void,
) -> c_int {
    // SAFETY: as in `chain_step`.
    let ctx = unsafe { &*user_data.cast::<ChainCtx>() };
    (k >= ctx.online_steps) as c_int
}

/// A chain gradient through the C API, against recording the whole chain on one tape.
unsafe fn chain(b: &mut Bytes) {
    let d = b.below(4);
    let p = b.below(3);
    let n_ops = 1 + b.below(6);
    let mut ops = [0u8; 6];
    for op in ops.iter_mut() {
        *op = b.u8();
    }
    let steps = match b.u8() % 4 {
        0 => b.below(4),
        1 | 2 => b.below(40),
        _ => b.below(300),
    };
    let snapshots = match b.u8() % 8 {
        0 => b.u8() as usize,
        1 => 0,
        _ => 1 + b.below(6),
    };
    let (dtype, known) = dtype_arg(b);
    let mischief = if b.one_in(4) {
        mischief(b)
    } else {
        Mischief::None
    };
    let ctx = Box::new(ChainCtx {
        d,
        p,
        ops,
        n_ops,
        mischief,
        at: b.below(steps.max(1) + 1),
        f32: known == Some(Dtype::F32),
        calls: Cell::new(0),
        kept: Cell::new(None),
        online_steps: steps,
    });
    let x0 = in_array(b, d);
    let params: Vec<f64> = (0..p).map(|_| b.input_f64()).collect();
    let x0: Vec<f64> = x0
        .iter()
        .map(|v| {
            if v.is_finite() {
                v.clamp(-3.0, 3.0)
            } else {
                *v
            }
        })
        .collect();
    let (mut ws, mut tb) = (0usize, 0usize);
    let ws_status = check(unsafe { ad_chain_workspace_bytes(dtype, d, p, snapshots, &mut ws) });
    let tb_status =
        check(unsafe { ad_tape_bytes_for(d + p + 4 * n_ops + 8 * d + 4, dtype, &mut tb) });
    let len = match b.u8() % 4 {
        0 => b.below(4096),
        _ if ws_status == AD_OK && tb_status == AD_OK => ws + tb + b.below(2048),
        _ => 1 << 16,
    };
    let mut mem = vec![0u8; len.max(1)];
    let mut gx = vec![SENTINEL; d];
    let mut gp = vec![SENTINEL; p];
    let mut report = ad_chain_report {
        loss: SENTINEL,
        steps: 0,
        advances: 0,
        recorded: 0,
        peak_bytes: 0,
    };
    let user = (&*ctx as *const ChainCtx).cast_mut().cast::<c_void>();
    let kind = b.u8() % 3;
    let status = check(unsafe {
        match kind {
            0 => ad_chain_gradient(
                mem.as_mut_ptr().cast(),
                len,
                dtype,
                steps,
                snapshots,
                x0.as_ptr(),
                d,
                params.as_ptr(),
                p,
                Some(chain_step),
                Some(chain_loss),
                user,
                gx.as_mut_ptr(),
                gp.as_mut_ptr(),
                &mut report,
            ),
            1 => ad_chain_gradient_eval(
                mem.as_mut_ptr().cast(),
                len,
                dtype,
                steps,
                snapshots,
                x0.as_ptr(),
                d,
                params.as_ptr(),
                p,
                Some(chain_step),
                Some(chain_eval),
                Some(chain_loss),
                user,
                gx.as_mut_ptr(),
                gp.as_mut_ptr(),
                &mut report,
            ),
            _ => ad_chain_gradient_online(
                mem.as_mut_ptr().cast(),
                len,
                dtype,
                snapshots,
                x0.as_ptr(),
                d,
                params.as_ptr(),
                p,
                Some(chain_step),
                Some(chain_done),
                Some(chain_loss),
                user,
                gx.as_mut_ptr(),
                gp.as_mut_ptr(),
                &mut report,
            ),
        }
    });
    if status != AD_OK {
        assert!(
            untouched(&gx) && untouched(&gp),
            "{status:?}: chain gradients written"
        );
        return;
    }
    assert_eq!(report.steps, steps);
    assert_eq!(report.recorded, steps);
    assert!(
        report.peak_bytes <= len,
        "peak {} past the memory {len}",
        report.peak_bytes
    );
    if kind < 2 {
        let minimum = autodiff_core::checkpoint::min_forward_steps(steps, snapshots)
            .expect("a schedule that ran has a minimum");
        assert_eq!(
            report.advances, minimum,
            "steps {steps} snapshots {snapshots}"
        );
    }
    if mischief != Mischief::None {
        return;
    }
    // The same chain recorded whole on one tape: the same gradients, bit for bit.
    let Some(dt) = known else { return };
    let mut whole = ptr::null_mut();
    assert_eq!(
        check(unsafe { ad_tape_new(1 << 20, dt.arg(), &mut whole) }),
        AD_OK
    );
    unsafe {
        let mut state: Vec<ad_var> = x0.iter().map(|&v| ad_input(whole, v)).collect();
        let pv: Vec<ad_var> = params.iter().map(|&v| ad_input(whole, v)).collect();
        for k in 0..steps {
            let mut next = vec![invalid_var(); d];
            let s = chain_step(
                whole,
                k,
                state.as_ptr(),
                pv.as_ptr(),
                next.as_mut_ptr(),
                user,
            );
            assert_eq!(s.0, 0);
            state = next;
        }
        let loss = chain_loss(whole, state.as_ptr(), pv.as_ptr(), user);
        let mut g = vec![SENTINEL; d + p];
        let s = check(ad_gradient(whole, loss, g.as_mut_ptr(), d + p));
        let mut value = SENTINEL;
        check(ad_value(whole, loss, &mut value));
        if s == AD_OK {
            assert_eq!(value.to_bits(), report.loss.to_bits(), "chain loss");
            for i in 0..d {
                assert_eq!(
                    gx[i].to_bits(),
                    g[i].to_bits(),
                    "d loss / d x0[{i}]: {} vs whole {}",
                    gx[i],
                    g[i]
                );
            }
            for j in 0..p {
                assert_eq!(
                    gp[j].to_bits(),
                    g[d + j].to_bits(),
                    "d loss / d p[{j}]: {} vs whole {}",
                    gp[j],
                    g[d + j]
                );
            }
        } else {
            assert_eq!(
                s, AD_ERR_NON_FINITE,
                "the whole chain failed where the checkpointed one ran"
            );
        }
        ad_tape_free(whole);
    }
}

// ---- tensors ----

/// A shape: mostly small, sometimes with a zero or an absurd dimension.
fn shape(b: &mut Bytes) -> Vec<usize> {
    let rank = b.below(5);
    let dims: Vec<usize> = (0..rank)
        .map(|_| match b.u8() % 32 {
            0 => 0,
            1 => usize::MAX / 2 + b.below(3),
            2 => 1 << 31,
            k => 1 + (k as usize) % 4,
        })
        .collect();
    dims
}

fn elements(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// A data length for `dims`: its element count, or close to it (never huge).
fn data_len(b: &mut Bytes, dims: &[usize]) -> usize {
    let exact = elements(dims).filter(|&n| n <= 256);
    match (b.u8() % 8, exact) {
        (0, _) | (_, None) => b.below(8),
        (1, Some(n)) => n + 1,
        (2, Some(n)) => n.saturating_sub(1),
        (_, Some(n)) => n,
    }
}

unsafe fn read_tensor(world: &World, b: &mut Bytes, tape: *mut ad_tape, what: u8) {
    let x = world.tensor(b);
    let mut rank = 0usize;
    check(unsafe { ad_tensor_rank(tape, x, &mut rank) });
    let mut dims = [7usize; 4];
    let cap = b.below(5);
    let (status, written) =
        out_usize(|r| unsafe { ad_tensor_dims(tape, x, dims.as_mut_ptr(), cap, r) });
    match status {
        AD_OK => assert_eq!(written, rank, "ad_tensor_dims and ad_tensor_rank differ"),
        AD_ERR_BUFFER_TOO_SMALL => {
            assert!(written > cap, "dims: rank {written} fits in {cap}");
            assert_eq!(dims, [7; 4], "dims written on failure");
        }
        _ => assert_eq!(dims, [7; 4], "dims written on failure"),
    }
    let n = if status == AD_OK {
        elements(&dims[..rank.min(4)]).unwrap_or(0).min(256)
    } else {
        b.below(4)
    };
    let n = match b.u8() % 8 {
        0 => n + 1,
        1 => n.saturating_sub(1),
        _ => n,
    };
    let f32_call = b.bool();
    unsafe {
        if f32_call {
            let mut out = vec![f32::from_bits(0x7fa0_0001); n];
            let p = if n == 0 {
                ptr::null_mut()
            } else {
                out.as_mut_ptr()
            };
            let status = check(match what % 3 {
                0 => ad_tensor_value_f32(tape, x, p, n),
                1 => ad_tensor_grad_f32(tape, x, p, n),
                _ => ad_tensor_tangent_f32(tape, x, p, n),
            });
            if status != AD_OK {
                assert!(
                    out.iter().all(|v| v.to_bits() == 0x7fa0_0001),
                    "{status:?}: tensor out written"
                );
            }
        } else {
            out_array(b, n, |p, n| match what % 3 {
                0 => ad_tensor_value_f64(tape, x, p, n),
                1 => ad_tensor_grad_f64(tape, x, p, n),
                _ => ad_tensor_tangent_f64(tape, x, p, n),
            });
        }
    }
}

// ---- the sequence ----

/// Runs one call, chosen by the next byte.
unsafe fn step(world: &mut World, b: &mut Bytes, scratch: &mut [u64; SCRATCH_WORDS]) {
    let op = b.u8();
    stats_op(op);
    unsafe { call(world, b, scratch, op) };
    // Sweeps, Jacobians, optimizer steps and checkpoints leave input tensors alone.
    if matches!(op % 64, 19 | 20 | 23..=27 | 44 | 49..=53) {
        for i in 0..TAPES {
            unsafe { check_canaries(world, Some(i), "a sweep") };
        }
    }
}

/// Parameter groups and the optimizer's saved state, around parameter `p`: a group made
/// of it (or of every parameter), and groups named by number on `p`'s tape, sometimes
/// with a forged kind; their buffers read, written and scaled in place; the state saved
/// into a buffer of any size and loaded back, or loaded from mangled bytes.
unsafe fn groups_and_saved_state(b: &mut Bytes, tape: *mut ad_tape, p: ad_param, n: usize) {
    let g = ad_param_group {
        index: b.below(4) as u32,
        kind: if b.one_in(8) { b.u8() as u32 } else { 4 },
        tape: p.tape,
    };
    unsafe {
        match b.u8() % 6 {
            0 => {
                let mut made = g;
                let status = check(if b.bool() {
                    ad_param_group_new(tape, &p, 1, &mut made)
                } else {
                    ad_param_group_all(tape, &mut made)
                });
                if status != AD_OK {
                    assert_eq!(made, g, "{status:?}: group_out written");
                }
            }
            1 => {
                out_array(b, n, |o, n| ad_param_group_read_grads_f64(tape, g, o, n));
            }
            2 => {
                let data = in_array(b, n);
                check(ad_param_group_write_grads_f64(tape, g, data.as_ptr(), n));
            }
            3 => {
                out_array(b, n, |o, n| ad_param_group_read_values_f64(tape, g, o, n));
                let data = in_array(b, n);
                check(ad_param_group_write_values_f64(tape, g, data.as_ptr(), n));
            }
            4 => {
                let (mut data, mut len) = (ptr::null_mut::<f64>(), 0usize);
                if check(ad_param_group_grads_f64(tape, g, &mut data, &mut len)) == AD_OK {
                    for k in 0..len {
                        *data.add(k) *= 0.5;
                    }
                }
                let (mut data32, mut len32) = (ptr::null_mut::<f32>(), 0usize);
                if check(ad_param_group_grads_f32(tape, g, &mut data32, &mut len32)) == AD_OK {
                    for k in 0..len32 {
                        *data32.add(k) *= 0.5;
                    }
                }
            }
            _ => {
                let mut bytes = 0usize;
                let known = check(ad_optim_state_bytes(tape, &mut bytes)) == AD_OK;
                let cap = if known && !b.one_in(4) {
                    bytes
                } else {
                    b.below(256)
                };
                let mut buf = vec![0u8; cap];
                let mut len = 0usize;
                let saved = check(ad_optim_state_save(
                    tape,
                    buf.as_mut_ptr().cast(),
                    cap,
                    &mut len,
                ));
                if saved == AD_OK {
                    assert_eq!(len, bytes, "saved a state of another size than announced");
                    if b.one_in(3) && !buf.is_empty() {
                        let at = b.below(buf.len());
                        buf[at] ^= 1 << b.below(8);
                    }
                    let take = if b.one_in(4) { b.below(len + 1) } else { len };
                    check(ad_optim_state_load(tape, buf.as_ptr().cast(), take));
                }
            }
        }
    }
}

/// `exact`, or now and then a count off by one or a small arbitrary one.
fn near(b: &mut Bytes, exact: usize) -> usize {
    match b.u8() % 8 {
        0 => exact + 1,
        1 => exact.saturating_sub(1),
        2 => b.below(8),
        _ => exact,
    }
}

/// Vector modes, dense Hessians and sparse plans, with counts and buffers a little off,
/// outputs of any tape, and plans in fuzzed memory evaluated after their tape recorded
/// more (which must fail) or on another tape.
unsafe fn vector_and_sparse(world: &mut World, b: &mut Bytes, scratch: &mut [u64; SCRATCH_WORDS]) {
    let (tape, _) = world.tape(b, scratch);
    let (_, inputs) = out_usize(|c| unsafe { ad_tape_num_inputs(tape, c) });
    let n = inputs.min(64);
    let m = b.below(4);
    let outs: Vec<ad_var> = (0..m).map(|_| world.var(b)).collect();
    let p = b.below(5);
    match b.u8() % 4 {
        0 => {
            let count = near(b, n * p);
            let seeds = in_array(b, count);
            let len = near(b, m * p);
            // At the recorded point, or replaying at a new one in the same sweep.
            let point = (b.u8() % 2 == 0).then(|| {
                let count = near(b, n);
                in_array(b, count)
            });
            out_array(b, len, |o, len| unsafe {
                match &point {
                    None => ad_forward_vector(
                        tape,
                        outs.as_ptr(),
                        m,
                        seeds.as_ptr(),
                        seeds.len(),
                        p,
                        o,
                        len,
                    ),
                    Some(x) => ad_forward_vector_at(
                        tape,
                        x.as_ptr(),
                        x.len(),
                        outs.as_ptr(),
                        m,
                        seeds.as_ptr(),
                        seeds.len(),
                        p,
                        o,
                        len,
                    ),
                }
            });
        }
        1 => {
            let count = near(b, p * m);
            let weights = in_array(b, count);
            let len = near(b, p * n);
            out_array(b, len, |o, len| unsafe {
                ad_reverse_vector(
                    tape,
                    outs.as_ptr(),
                    m,
                    weights.as_ptr(),
                    weights.len(),
                    p,
                    o,
                    len,
                )
            });
        }
        2 => {
            let weights = in_array(b, m);
            let len = near(b, n * n);
            out_array(b, len, |o, len| unsafe {
                ad_hessian(tape, outs.as_ptr(), weights.as_ptr(), m, o, len)
            });
        }
        _ => unsafe { sparse_plan(world, b, scratch, tape, &outs) },
    }
}

/// One sparse plan: made in fuzzed memory, queried, evaluated, ended.
unsafe fn sparse_plan(
    world: &mut World,
    b: &mut Bytes,
    scratch: &mut [u64; SCRATCH_WORDS],
    tape: *mut ad_tape,
    outs: &[ad_var],
) {
    let m = outs.len();
    let bytes = match b.u8() % 4 {
        0 => b.below(512),
        _ => 1 << (8 + b.u8() % 10),
    };
    let offset = b.below(8);
    let mut mem = vec![0u8; bytes + offset];
    let base = mem.as_mut_ptr().wrapping_add(offset).cast::<c_void>();
    let hessian = b.bool();
    let ordering = OrderingArg(b.u8() as c_int % 6 - 1);
    let mut plan: *mut ad_sparse = ptr::null_mut();
    let status = check(unsafe {
        if hessian {
            ad_sparse_hessian_init(tape, outs.as_ptr(), m, ordering, base, bytes, &mut plan)
        } else {
            let mode = SparseModeArg(b.u8() as c_int % 3);
            ad_sparse_jacobian_init(
                tape,
                outs.as_ptr(),
                m,
                mode,
                ordering,
                base,
                bytes,
                &mut plan,
            )
        }
    });
    if status != AD_OK {
        assert!(plan.is_null(), "{status:?}: plan_out written");
        return;
    }
    let mut sizes = ad_sparse_sizes::default();
    assert_eq!(check(unsafe { ad_sparse_info(plan, &mut sizes) }), AD_OK);
    assert!(
        sizes.peak_bytes <= bytes,
        "a plan used more memory than it was given"
    );
    // The pattern, into arrays of about the right size: sorted, in range, counted.
    let (starts_cap, cols_cap) = (near(b, sizes.rows + 1), near(b, sizes.nnz));
    let mut starts = vec![u32::MAX; starts_cap];
    let mut cols = vec![u32::MAX; cols_cap];
    let status = check(unsafe {
        ad_sparse_pattern_csr(
            plan,
            starts.as_mut_ptr(),
            starts_cap,
            cols.as_mut_ptr(),
            cols_cap,
        )
    });
    if status == AD_OK {
        assert_eq!(starts[0], 0);
        assert_eq!(starts[sizes.rows] as usize, sizes.nnz);
        for r in 0..sizes.rows {
            let row = &cols[starts[r] as usize..starts[r + 1] as usize];
            assert!(
                row.windows(2).all(|w| w[0] < w[1]),
                "a row's columns not increasing"
            );
            assert!(
                row.iter().all(|&c| (c as usize) < sizes.cols),
                "a column out of range"
            );
        }
    } else {
        assert!(status == AD_ERR_BUFFER_TOO_SMALL || starts_cap == 0 || cols_cap == 0);
    }
    let mut colours = vec![u32::MAX; sizes.rows.max(sizes.cols)];
    if check(unsafe { ad_sparse_colouring(plan, colours.as_mut_ptr(), colours.len()) }) == AD_OK {
        let coloured = colours.iter().take_while(|&&c| c != u32::MAX);
        assert!(coloured
            .clone()
            .all(|&c| (c as usize) < sizes.colours.max(1)));
    }
    // Maybe record more first (the plan is then stale), maybe evaluate on another tape.
    let recorded_more = b.one_in(4) && ad_var_is_valid(unsafe { ad_input(tape, 0.5) });
    let (target, _) = if b.one_in(4) {
        world.tape(b, scratch)
    } else {
        (tape, None)
    };
    let inputs_now = {
        let (_, k) = out_usize(|c| unsafe { ad_tape_num_inputs(target, c) });
        k.min(64)
    };
    let count = near(b, inputs_now);
    let x = in_array(b, count);
    let weights = in_array(b, m);
    let len = near(b, sizes.nnz);
    let status = out_array(b, len, |values, len| unsafe {
        if hessian {
            ad_sparse_hessian_eval(
                target,
                plan,
                x.as_ptr(),
                x.len(),
                weights.as_ptr(),
                m,
                values,
                len,
            )
        } else {
            ad_sparse_jacobian_eval(target, plan, x.as_ptr(), x.len(), values, len)
        }
    });
    if recorded_more && target == tape {
        assert_ne!(status, AD_OK, "a stale plan was evaluated");
    }
    assert_eq!(check(unsafe { ad_sparse_done(plan) }), AD_OK);
    assert_eq!(
        check(unsafe { ad_sparse_done(plan) }),
        AD_ERR_INVALID_ARGUMENT
    );
    drop(mem);
}

/// The call `op` picks.
unsafe fn call(world: &mut World, b: &mut Bytes, scratch: &mut [u64; SCRATCH_WORDS], op: u8) {
    match op % 64 {
        // -- tapes --
        0 | 1 => {
            // ad_tape_init into fresh memory, or into the memory of the slot's ended tape.
            let i = b.below(TAPES);
            let (dtype, known) = dtype_arg(b);
            let reuse = b.one_in(4)
                && world.slots[i]
                    .as_ref()
                    .is_some_and(|s| s.ended && s.mem.is_some());
            let (mut mem, offset, len, old_var, grows) = if reuse {
                let old = world.slots[i].take().expect("checked");
                let grows = old.growth.is_some();
                (
                    old.mem.expect("checked"),
                    old.offset,
                    old.len,
                    old.last_var,
                    grows,
                )
            } else {
                if let Some(old) = world.slots[i].take() {
                    unsafe { end(old) };
                }
                let (len, grows) = tape_size(b, known);
                let offset = b.below(16);
                (vec![0u8; len + offset], offset, len, None, grows)
            };
            let mut tape = ptr::null_mut();
            let out: *mut *mut ad_tape = if b.one_in(32) {
                ptr::null_mut()
            } else {
                &mut tape
            };
            let status = check(unsafe {
                ad_tape_init(mem.as_mut_ptr().add(offset).cast(), len, dtype, out)
            });
            if status == AD_OK {
                let dtype = known.expect("an unknown dtype was accepted");
                let memory = (mem.as_ptr() as usize + offset, len);
                let growth = grows.then(|| unsafe { new_growth(b, tape, memory) });
                world.slots[i] = Some(Slot {
                    tape,
                    dtype,
                    mem: Some(mem),
                    offset,
                    len,
                    ended: false,
                    unruly: false,
                    last_var: None,
                    canaries: Vec::new(),
                    inputs: Vec::new(),
                    growth,
                });
                // A variable of the tape that ended here must not pass for one of the
                // new tape, however many records the new one has.
                if let Some(old) = old_var {
                    unsafe { stale_or_foreign_on(tape, old, 64, false) };
                }
            } else {
                assert!(tape.is_null(), "{status:?}: tape_out written");
            }
        }
        2 => {
            let i = b.below(TAPES);
            if let Some(old) = world.slots[i].take() {
                unsafe { end(old) };
            }
            let (dtype, known) = dtype_arg(b);
            let (len, grows) = tape_size(b, known);
            let mut tape = ptr::null_mut();
            let status = check(unsafe { ad_tape_new(len, dtype, &mut tape) });
            if status == AD_OK {
                let growth = grows.then(|| unsafe { new_growth(b, tape, (tape as usize, len)) });
                world.slots[i] = Some(Slot {
                    tape,
                    dtype: known.expect("an unknown dtype was accepted"),
                    mem: None,
                    offset: 0,
                    len,
                    ended: false,
                    unruly: false,
                    last_var: None,
                    canaries: Vec::new(),
                    inputs: Vec::new(),
                    growth,
                });
            }
        }
        3 => {
            // End a tape: done (an init tape stays addressable, ended), or free.
            let i = b.below(TAPES);
            if let Some(slot) = world.slots[i].as_mut() {
                if slot.mem.is_some() {
                    let status = unsafe { end_with(slot, |t| ad_tape_done(t)) };
                    if slot.ended {
                        assert_eq!(status, AD_ERR_INVALID_TAPE, "ended twice");
                    } else {
                        assert_eq!(status, AD_OK);
                        slot.ended = true;
                    }
                } else if let Some(mut slot) = world.slots[i].take() {
                    if b.bool() {
                        let status = unsafe { end_with(&mut slot, |t| ad_tape_done(t)) };
                        assert_eq!(status, AD_OK);
                    } else {
                        unsafe {
                            end_with(&mut slot, |t| {
                                ad_tape_free(t);
                                AD_OK
                            })
                        };
                    }
                }
            }
        }
        4 | 5 => {
            // Reset; now and then check that the tape computes a known gradient.
            let (tape, i) = world.tape(b, scratch);
            let status = check(unsafe { ad_tape_reset(tape) });
            let Some(slot) = i.and_then(|i| world.slots[i].as_mut()) else {
                return;
            };
            if slot.ended {
                assert_eq!(status, AD_ERR_INVALID_TAPE, "reset of an ended tape");
                return;
            }
            assert_eq!(status, AD_OK, "reset of a live tape");
            slot.unruly = false;
            if op % 64 == 5 {
                let (_, used) = out_usize(|u| unsafe { ad_tape_bytes_used(tape, u) });
                let (_, records) =
                    out_usize(|r| unsafe { ad_tape_bytes_for(8, slot.dtype.arg(), r) });
                if let Some(host) = slot.growth.as_mut() {
                    host.interfered = false;
                }
                let (status, g) = unsafe { known_gradient(tape) };
                let interfered = slot.growth.as_ref().is_some_and(|h| h.interfered);
                if status == AD_OK {
                    assert_eq!(g, [4.0, -11.0], "the known gradient after a reset");
                } else if interfered {
                    // A growth host that refused, handed a bad block or called the
                    // tape from inside its callbacks fails the op that asked for room.
                    let sticky = check(unsafe { ad_tape_status(tape) });
                    assert!(
                        matches!(
                            sticky,
                            AD_ERR_OUT_OF_MEMORY | AD_ERR_INVALID_ARGUMENT | AD_ERR_REENTRANT
                        ),
                        "the known gradient on a growing tape: {status:?}, {sticky:?}"
                    );
                } else {
                    // Only a tape whose memory is mostly taken (by its header, its
                    // parameters and their optimizer state) may lack the room.
                    // (With the second input refused, `ad_gradient` reports the length
                    // of its array as wrong before the tape's sticky error.)
                    let sticky = check(unsafe { ad_tape_status(tape) });
                    assert_eq!(
                        sticky,
                        AD_ERR_OUT_OF_MEMORY,
                        "the known gradient after a reset: {status:?}, {:?}",
                        unsafe { CStr::from_ptr(ad_tape_error(tape)) }
                    );
                    assert!(
                        used + records + 2048 > slot.len,
                        "{} bytes, {used} in use, too small for 5 records",
                        slot.len
                    );
                }
                // Leave it clean for parameters and devices.
                assert_eq!(check(unsafe { ad_tape_reset(tape) }), AD_OK);
            }
        }
        6 => {
            let (tape, i) = world.tape(b, scratch);
            unsafe {
                check(ad_tape_status(tape));
                let text = ad_tape_error(tape);
                assert!(!text.is_null());
                let text = CStr::from_ptr(text);
                assert!(text.to_bytes().len() < 256);
                out_usize(|c| ad_tape_num_inputs(tape, c));
                out_usize(|c| ad_tape_len(tape, c));
                out_usize(|c| ad_tape_bytes_used(tape, c));
                out_usize(|c| ad_param_count(tape, c));
                if b.one_in(8) {
                    check(ad_tape_len(tape, ptr::null_mut()));
                }
            }
            if b.one_in(8) {
                unsafe { set_growth(world, b, tape, i) };
            }
        }
        7 => {
            let (dtype, _) = dtype_arg(b);
            let records = match b.u8() % 4 {
                0 => usize::MAX - b.below(8),
                _ => b.below(1 << 20),
            };
            out_usize(|o| unsafe { ad_tape_bytes_for(records, dtype, o) });
        }
        // -- scalar ops --
        8..=10 => {
            let (tape, i) = world.tape(b, scratch);
            let v = value(b);
            let input = b.bool();
            if tracing() {
                eprintln!("  {} {v:e}", if input { "ad_input" } else { "ad_const" });
            }
            let x = unsafe {
                if input {
                    ad_input(tape, v)
                } else {
                    ad_const(tape, v)
                }
            };
            world.keep_var(x, i);
            if let Some(slot) = i.and_then(|i| world.slots[i].as_mut()) {
                if input && ad_var_is_valid(x) && slot.inputs.len() < 64 {
                    slot.inputs.push(x);
                }
            }
        }
        11..=14 => {
            let (tape, i) = world.tape(b, scratch);
            let x = world.var(b);
            let f = b.pick(&UNARY);
            let y = unsafe { f(tape, x) };
            world.keep_var(y, i);
        }
        15 | 16 => {
            let (tape, i) = world.tape(b, scratch);
            let (x, y) = (world.var(b), world.var(b));
            let f = b.pick(&BINARY);
            let z = unsafe { f(tape, x, y) };
            world.keep_var(z, i);
        }
        // The same ops recorded from C by `autodiff_inline.h`.
        17 => unsafe { inline_recording::call(world, b, scratch) },
        18 => {
            let (tape, i) = world.tape(b, scratch);
            let x = world.var(b);
            let c = value(b);
            let y = unsafe {
                match b.u8() % 15 {
                    0 => ad_scale(tape, x, c),
                    9 => ad_add_const(tape, x, c),
                    10 => ad_sub_const(tape, x, c),
                    11 => ad_const_sub(tape, c, x),
                    12 => ad_div_const(tape, x, c),
                    13 => ad_const_div(tape, c, x),
                    14 => {
                        // Several inputs in one call: every handle is valid when the call
                        // succeeds; when the tape runs out, those recorded before are valid
                        // and every one from the first that was not is invalid.
                        let n = b.below(5);
                        let values = in_array(b, n);
                        let mut vars = vec![invalid_var(); values.len()];
                        let status = check(ad_inputs(
                            tape,
                            values.as_ptr(),
                            values.len(),
                            vars.as_mut_ptr(),
                        ));
                        let valid: Vec<bool> = vars.iter().map(|&v| ad_var_is_valid(v)).collect();
                        assert!(status != AD_OK || valid.iter().all(|&v| v), "{status:?}");
                        assert!(valid.windows(2).all(|w| w[0] || !w[1]), "{valid:?}");
                        for &v in &vars {
                            world.keep_var(v, i);
                        }
                        vars.first().copied().unwrap_or(x)
                    }
                    1 => ad_powf(tape, x, c),
                    2 => ad_powi(tape, x, b.u32() as c_int % 7 - 3),
                    // Recorded control flow: unknown relations included.
                    3 => ad_compare(tape, CmpArg(b.u8() as c_int % 8 - 1), x, world.var(b)),
                    4 => ad_compare_const(tape, CmpArg(b.u8() as c_int % 8 - 1), x, c),
                    5 => ad_select(tape, x, world.var(b), world.var(b)),
                    6 => {
                        let _ = ad_branch(tape, x);
                        let (status, changed) = out_usize(|o| {
                            let mut first = 0;
                            ad_tape_branch_changes(tape, o, &mut first)
                        });
                        if status == AD_OK && changed == 0 {
                            assert_ne!(ad_tape_status(tape), AD_ERR_BRANCH_CHANGED);
                        }
                        x
                    }
                    7 | 8 => user_op(world, b, tape),
                    _ => unreachable!(),
                }
            };
            world.keep_var(y, i);
        }
        // -- derivatives --
        19 | 20 => {
            let (tape, i) = world.tape(b, scratch);
            let x = world.var(b);
            let status = check(unsafe { ad_backward(tape, x) });
            if world.live(i).is_none() && i.is_some() {
                assert_eq!(status, AD_ERR_INVALID_TAPE);
            }
            if status == AD_OK {
                let (_, v) = out_f64(|o| unsafe { ad_value(tape, x, o) });
                assert!(
                    v.is_finite(),
                    "ad_backward from an output of value {v} succeeded"
                );
            }
        }
        21 | 22 => {
            let (tape, _) = world.tape(b, scratch);
            let x = world.var(b);
            // Checked by `out_f64`: a documented status, nothing written on failure.
            match b.u8() % 3 {
                0 => out_f64(|o| unsafe { ad_grad(tape, x, o) }),
                1 => out_f64(|o| unsafe { ad_value(tape, x, o) }),
                _ => out_f64(|o| unsafe { ad_tangent(tape, x, o) }),
            };
        }
        23..=26 => {
            let (tape, i) = world.tape(b, scratch);
            let (_, inputs) = out_usize(|c| unsafe { ad_tape_num_inputs(tape, c) });
            let inputs = inputs.min(64);
            let n = match b.u8() % 8 {
                0 => inputs + 1,
                1 => inputs.saturating_sub(1),
                2 => b.below(4),
                _ => inputs,
            };
            let kind = op % 64;
            if kind == 23 {
                let x = world.var(b);
                let status = out_array(b, n, |p, n| unsafe { ad_gradient(tape, x, p, n) });
                if status == AD_OK {
                    unsafe { check_gradient(world, i, x, n) };
                }
            } else if kind == 24 {
                let seeds = in_array(b, n);
                let p = if n == 0 && b.bool() {
                    ptr::null()
                } else {
                    seeds.as_ptr()
                };
                check(unsafe { ad_jvp(tape, p, n) });
            } else if kind == 25 {
                let xs = in_array(b, n);
                let p = if n == 0 && b.bool() {
                    ptr::null()
                } else {
                    xs.as_ptr()
                };
                check(unsafe { ad_replay(tape, p, n) });
            } else {
                let m = b.below(4);
                let outs: Vec<ad_var> = (0..m).map(|_| world.var(b)).collect();
                let len = match b.u8() % 4 {
                    0 => b.below(8),
                    _ => m * n,
                };
                let fwd = b.bool();
                out_array(b, len, |p, len| unsafe {
                    if fwd {
                        ad_jacobian_fwd(tape, outs.as_ptr(), m, p, len)
                    } else {
                        ad_jacobian(tape, outs.as_ptr(), m, p, len)
                    }
                });
            }
        }
        27 if b.bool() => unsafe { vector_and_sparse(world, b, scratch) },
        27 => {
            let (tape, _) = world.tape(b, scratch);
            let (_, inputs) = out_usize(|c| unsafe { ad_tape_num_inputs(tape, c) });
            let n = if b.one_in(4) {
                b.below(4)
            } else {
                inputs.min(64)
            };
            let x = world.var(b);
            let (xs, v) = (in_array(b, n), in_array(b, n));
            let mut g = vec![SENTINEL; n];
            let mut hv = vec![SENTINEL; n];
            let overlap = b.one_in(8) && n > 0;
            let status = check(unsafe {
                ad_hvp(
                    tape,
                    x,
                    xs.as_ptr(),
                    v.as_ptr(),
                    g.as_mut_ptr(),
                    if overlap {
                        g.as_mut_ptr()
                    } else {
                        hv.as_mut_ptr()
                    },
                    n,
                )
            });
            if status != AD_OK {
                assert!(
                    untouched(&g) && untouched(&hv),
                    "{status:?}: hvp outputs written"
                );
            } else {
                assert!(!overlap, "overlapping hvp outputs accepted");
            }
        }
        // -- tensors --
        28..=30 => {
            let (tape, i) = world.tape(b, scratch);
            let dims = shape(b);
            let len = data_len(b, &dims);
            let dims_ptr = if dims.is_empty() && b.bool() {
                ptr::null()
            } else {
                dims.as_ptr()
            };
            let constant = b.one_in(4);
            if tracing() {
                eprintln!("  tensor {dims:?}, {len} values");
            }
            let t = unsafe {
                if b.one_in(3) {
                    let data: Vec<f32> = (0..len).map(|_| value(b) as f32).collect();
                    if constant {
                        ad_tensor_const_f32(tape, dims_ptr, dims.len(), data.as_ptr(), len)
                    } else {
                        ad_tensor_input_f32(tape, dims_ptr, dims.len(), data.as_ptr(), len)
                    }
                } else {
                    let data = in_array(b, len);
                    if constant {
                        ad_tensor_const_f64(tape, dims_ptr, dims.len(), data.as_ptr(), len)
                    } else {
                        ad_tensor_input_f64(tape, dims_ptr, dims.len(), data.as_ptr(), len)
                    }
                }
            };
            world.keep_tensor(t);
            if ad_tensor_is_valid(t) {
                unsafe { set_canaries(world, i, Some((t, len))) };
            }
        }
        31..=34 => {
            let (tape, _) = world.tape(b, scratch);
            let (x, y) = (world.tensor(b), world.tensor(b));
            let t = unsafe {
                match b.u8() % 16 {
                    0..=3 => b.pick(&TENSOR_BINARY)(tape, x, y),
                    4 | 5 => b.pick(&TENSOR_UNARY)(tape, x),
                    6 => ad_matmul(tape, x, y, b.bool() as c_int, b.u8() as c_int % 3),
                    7 => ad_linear(
                        tape,
                        x,
                        y,
                        world.tensor(b),
                        ActivationArg(b.u8() as c_int % 12 - 1),
                    ),
                    8 => ad_tensor_scale(tape, x, value(b)),
                    9 => ad_tensor_activation(tape, x, ActivationArg(b.u8() as c_int % 12 - 1)),
                    10 => ad_leaky_relu(tape, x, value(b)),
                    11 => ad_tensor_sum_axis(tape, x, b.below(6)),
                    12 => {
                        ad_tensor_mean_axis(tape, x, if b.bool() { usize::MAX } else { b.below(5) })
                    }
                    13 => {
                        let dims = shape(b);
                        ad_reshape(tape, x, dims.as_ptr(), dims.len())
                    }
                    14 => {
                        let n = b.below(6);
                        let labels: Vec<u32> = (0..n)
                            .map(|_| {
                                if b.one_in(8) {
                                    b.u32()
                                } else {
                                    b.below(4) as u32
                                }
                            })
                            .collect();
                        ad_cross_entropy(
                            tape,
                            x,
                            if n == 0 && b.bool() {
                                ptr::null()
                            } else {
                                labels.as_ptr()
                            },
                            n,
                        )
                    }
                    _ => ad_mse(tape, x, y),
                }
            };
            world.keep_tensor(t);
        }
        35 => {
            let (tape, i) = world.tape(b, scratch);
            let x = world.tensor(b);
            let v = unsafe { ad_tensor_as_var(tape, x) };
            world.keep_var(v, i);
        }
        36 | 37 => {
            let (tape, _) = world.tape(b, scratch);
            unsafe { read_tensor(world, b, tape, op) };
        }
        38 => {
            let (tape, i) = world.tape(b, scratch);
            let x = world.tensor(b);
            let mut dims = [0usize; 4];
            let mut rank = 0usize;
            let n = if !b.one_in(4)
                && unsafe { ad_tensor_dims(tape, x, dims.as_mut_ptr(), 4, &mut rank) } == AD_OK
            {
                elements(&dims[..rank.min(4)]).unwrap_or(0).min(256)
            } else {
                b.below(10)
            };
            let seed = b.bool();
            unsafe {
                if b.bool() {
                    let data: Vec<f32> = (0..n).map(|_| value(b) as f32).collect();
                    check(if seed {
                        ad_tensor_seed_tangent_f32(tape, x, data.as_ptr(), n)
                    } else {
                        ad_tensor_set_value_f32(tape, x, data.as_ptr(), n)
                    });
                } else {
                    let data = in_array(b, n);
                    check(if seed {
                        ad_tensor_seed_tangent_f64(tape, x, data.as_ptr(), n)
                    } else {
                        ad_tensor_set_value_f64(tape, x, data.as_ptr(), n)
                    });
                }
                // A value written (maybe a canary's).
                set_canaries(world, i, None);
            }
        }
        // -- parameters and optimizers --
        39 | 40 => {
            let (tape, _) = world.tape(b, scratch);
            let dims = shape(b);
            let len = data_len(b, &dims);
            let mut p = invalid_param();
            let mark = p;
            let status = check(unsafe {
                if b.bool() {
                    let data: Vec<f32> = (0..len).map(|_| value(b) as f32).collect();
                    ad_param_new_f32(tape, dims.as_ptr(), dims.len(), data.as_ptr(), len, &mut p)
                } else {
                    let data = in_array(b, len);
                    ad_param_new_f64(tape, dims.as_ptr(), dims.len(), data.as_ptr(), len, &mut p)
                }
            });
            if status == AD_OK {
                remember(&mut world.params, p);
            } else {
                assert_eq!(p, mark, "{status:?}: param_out written");
            }
        }
        41 => {
            let (tape, _) = world.tape(b, scratch);
            let p = world.param(b);
            let t = unsafe { ad_param_use(tape, p) };
            world.keep_tensor(t);
        }
        42 => {
            let (tape, _) = world.tape(b, scratch);
            let p = world.param(b);
            let n = b.below(10);
            unsafe {
                match b.u8() % 3 {
                    0 => {
                        out_array(b, n, |o, n| ad_param_read_f64(tape, p, o, n));
                    }
                    1 => {
                        out_array(b, n, |o, n| ad_param_grad_f64(tape, p, o, n));
                    }
                    _ => {
                        let data = in_array(b, n);
                        check(ad_param_write_f64(tape, p, data.as_ptr(), n));
                    }
                }
                let mut f = vec![0f32; n];
                match b.u8() % 3 {
                    0 => check(ad_param_read_f32(tape, p, f.as_mut_ptr(), n)),
                    1 => check(ad_param_grad_f32(tape, p, f.as_mut_ptr(), n)),
                    _ => check(ad_param_write_f32(tape, p, f.as_ptr(), n)),
                };
                groups_and_saved_state(b, tape, p, n);
            }
        }
        43 => {
            let (tape, _) = world.tape(b, scratch);
            unsafe {
                if b.bool() {
                    check(ad_optim_sgd(
                        tape,
                        value(b),
                        value(b).abs() % 1.0,
                        value(b).abs(),
                    ));
                } else {
                    check(ad_optim_adam(
                        tape,
                        value(b).abs(),
                        0.9,
                        0.999,
                        value(b),
                        value(b).abs(),
                        b.u8() as c_int,
                    ));
                }
            }
        }
        44 => {
            let (tape, _) = world.tape(b, scratch);
            check(unsafe { ad_optim_step(tape) });
        }
        // -- devices --
        45 => {
            if world.devices.len() < 3 {
                let (dtype, known) = dtype_arg(b);
                let words = b.below(8192);
                let mut mem = vec![0u64; words.max(1)];
                let mut device = ptr::null_mut();
                let status = check(unsafe {
                    ad_device_open_cpu(mem.as_mut_ptr().cast(), words * 8, dtype, &mut device)
                });
                if status == AD_OK {
                    assert!(
                        matches!(known, Some(Dtype::F32 | Dtype::F64)),
                        "a CPU device of dtype {known:?}"
                    );
                    world.devices.push(Device { device, _mem: mem });
                }
            }
        }
        46 => {
            if !world.devices.is_empty() {
                let k = b.below(world.devices.len());
                let status = check(unsafe { ad_device_close(world.devices[k].device) });
                if status == AD_OK {
                    world.devices.remove(k);
                } else {
                    assert_eq!(
                        status, AD_ERR_INVALID_ARGUMENT,
                        "closing an attached device"
                    );
                }
            }
        }
        47 => {
            let (tape, _) = world.tape(b, scratch);
            if let Some(k) = (!world.devices.is_empty()).then(|| b.below(world.devices.len())) {
                let mut id: c_int = -77;
                let status =
                    check(unsafe { ad_tape_attach_device(tape, world.devices[k].device, &mut id) });
                if status == AD_OK {
                    assert!((1..=4).contains(&id), "device number {id}");
                } else {
                    assert_eq!(id, -77);
                }
            }
        }
        48 => {
            let (tape, _) = world.tape(b, scratch);
            let id = b.u8() as c_int % 7 - 1;
            unsafe {
                match b.u8() % 4 {
                    0 => {
                        check(ad_tape_set_device(tape, id));
                    }
                    1 => {
                        let t = ad_tensor_to_device(tape, world.tensor(b), id);
                        world.keep_tensor(t);
                    }
                    2 => {
                        let t = ad_tensor_to_host(tape, world.tensor(b));
                        world.keep_tensor(t);
                    }
                    _ => {
                        let mut out: c_int = -77;
                        if check(ad_tensor_device(tape, world.tensor(b), &mut out)) != AD_OK {
                            assert_eq!(out, -77);
                        }
                    }
                }
            }
        }
        // -- checkpoints --
        49..=51 => {
            let (tape, i) = world.tape(b, scratch);
            let ctx = new_block(world, b, 0);
            note_block(world, i, ctx);
            let n_in = b.below(4);
            let n_out = b.below(4);
            let inputs: Vec<ad_var> = (0..n_in).map(|_| world.var(b)).collect();
            let mut outputs = vec![invalid_var(); n_out];
            let null_block = b.one_in(32);
            if tracing() {
                // SAFETY: the context was just made.
                let c = unsafe { &*ctx };
                eprintln!(
                    "  ad_checkpoint: {n_in} in, {n_out} out, ops {:?}, {:?}",
                    c.ops, c.mischief
                );
            }
            let status = check(unsafe {
                ad_checkpoint(
                    tape,
                    if null_block { None } else { Some(scalar_block) },
                    ctx.cast(),
                    if n_in == 0 && b.bool() {
                        ptr::null()
                    } else {
                        inputs.as_ptr()
                    },
                    n_in,
                    if n_out == 0 && b.bool() {
                        ptr::null_mut()
                    } else {
                        outputs.as_mut_ptr()
                    },
                    n_out,
                )
            });
            if status == AD_OK {
                for v in outputs {
                    world.keep_var(v, i);
                }
            }
            // SAFETY: the context lives until the end of the sequence.
            let ctx = unsafe { &*ctx };
            if let Some(v) = ctx.leaked.get() {
                remember(&mut world.vars, v);
            }
        }
        52 | 53 => {
            let (tape, i) = world.tape(b, scratch);
            let ctx = new_block(world, b, 2);
            note_block(world, i, ctx);
            let n_in = b.below(3);
            let n_out = b.below(3);
            let inputs: Vec<ad_tensor> = (0..n_in).map(|_| world.tensor(b)).collect();
            let mut outputs = vec![invalid_tensor(); n_out];
            let status = check(unsafe {
                ad_checkpoint_tensors(
                    tape,
                    Some(tensor_block),
                    ctx.cast(),
                    inputs.as_ptr(),
                    n_in,
                    outputs.as_mut_ptr(),
                    n_out,
                )
            });
            if status == AD_OK {
                for t in outputs {
                    world.keep_tensor(t);
                }
            }
            // SAFETY: as above.
            let ctx = unsafe { &*ctx };
            if let Some(t) = ctx.leaked_tensor.get() {
                remember(&mut world.tensors, t);
            }
        }
        54 | 55 => unsafe { chain(b) },
        56 => {
            let (d, p, s) = (b.below(1 << 20), b.below(1 << 20), b.below(80));
            let (dtype, _) = dtype_arg(b);
            let huge = b.one_in(4);
            out_usize(|o| unsafe {
                ad_chain_workspace_bytes(dtype, if huge { usize::MAX / 3 } else { d }, p, s, o)
            });
        }
        // -- DOT into small buffers --
        57 | 58 => {
            let (tape, _) = world.tape(b, scratch);
            let (status, needed) =
                out_usize(|l| unsafe { ad_tape_dot(tape, ptr::null_mut(), 0, l) });
            let needed = if status == AD_ERR_BUFFER_TOO_SMALL {
                needed.min(1 << 18)
            } else {
                0
            };
            let cap = match b.u8() % 4 {
                0 => b.below(64),
                1 => needed,
                2 => needed + 1,
                _ => needed.saturating_sub(b.below(4)),
            };
            let mut buf = vec![0x55u8; cap];
            let mut len = 0x5eedusize;
            let p: *mut c_char = if cap == 0 {
                ptr::null_mut()
            } else {
                buf.as_mut_ptr().cast()
            };
            let status = check(unsafe { ad_tape_dot(tape, p, cap, &mut len) });
            match status {
                AD_OK => {
                    assert!(len < cap, "dot: {len} bytes and the NUL in {cap}");
                    assert_eq!(buf[len], 0, "dot: no NUL at the end");
                    assert!(!buf[..len].contains(&0), "dot: a NUL inside the text");
                }
                AD_ERR_BUFFER_TOO_SMALL => {
                    assert!(len >= cap, "dot: too small for {len} bytes in {cap}?");
                    if cap > 0 {
                        assert!(buf.contains(&0), "dot: truncated text not NUL-terminated");
                    }
                }
                _ => {}
            }
        }
        // -- things with no tape --
        59 => {
            let s = ad_status_str(StatusArg(if b.bool() {
                b.u32() as c_int
            } else {
                b.below(24) as c_int
            }));
            // SAFETY: a static NUL-terminated string.
            assert!(!unsafe { CStr::from_ptr(s) }.to_bytes().is_empty());
            // SAFETY: as above.
            let v = unsafe { CStr::from_ptr(ad_version()) };
            assert!(v.to_str().is_ok());
            assert_eq!(ad_abi_version(), autodiff::version::AD_ABI_VERSION);
        }
        60 => {
            let (x, y) = (
                ad_dual_make(value(b), value(b)),
                ad_dual_make(value(b), value(b)),
            );
            let _ = (
                ad_dual_pow(x, y),
                ad_dual_atan2(x, y),
                ad_dual_powi(x, b.u32() as c_int),
                ad_dual_powf(x, value(b)),
                ad_dual_hypot(x, y),
                ad_dual_div(x, y),
                ad_dual_acosh(x),
                ad_dual_erf(x),
            );
        }
        61 => unsafe {
            let mut count = 0x5eed;
            let status = check(ad_device_count(&mut count));
            if status != AD_OK {
                assert_eq!(count, 0x5eed);
            }
            let _ = ad_device_available();
            let cap = b.below(16);
            let mut name = vec![0u8; cap];
            let mut len = 0usize;
            check(ad_device_name(
                b.below(3),
                if cap == 0 {
                    ptr::null_mut()
                } else {
                    name.as_mut_ptr().cast()
                },
                cap,
                &mut len,
            ));
            let (mut free, mut total) = (0usize, 0usize);
            check(ad_device_memory(b.below(3), &mut free, &mut total));
            let mut device = ptr::null_mut();
            let status = check(ad_device_open_cuda(
                b.below(2),
                b.below(1 << 20),
                &mut device,
            ));
            if status == AD_OK {
                assert_eq!(check(ad_device_close(device)), AD_OK);
            }
        },
        62 => {
            // A variable of one live tape, on another: refused as foreign.
            let (a, b_) = (b.below(TAPES), b.below(TAPES));
            let (Some(ta), Some(tb)) = (
                world.slots[a].as_ref().filter(|s| !s.ended),
                world.slots[b_].as_ref().filter(|s| !s.ended),
            ) else {
                return;
            };
            if a == b_ {
                return;
            }
            let (ta, tb) = (ta.tape, tb.tape);
            let x = unsafe { ad_input(ta, 1.0) };
            if ad_var_is_valid(x) {
                unsafe { stale_or_foreign_on(tb, x, 0, true) };
            }
        }
        _ => {
            // A variable from before a reset, on the reset tape: refused as stale.
            let (tape, i) = world.tape(b, scratch);
            if world.live(i).is_none() {
                return;
            }
            let x = unsafe { ad_input(tape, 2.0) };
            if ad_var_is_valid(x) {
                assert_eq!(check(unsafe { ad_tape_reset(tape) }), AD_OK);
                unsafe { stale_or_foreign_on(tape, x, 64, false) };
            }
        }
    }
}

/// `ad_tape_set_growth` on `tape` (slot `i`'s, or a pointer that is no tape), with a
/// new host or NULL callbacks. A live tape accepts the host unless its records already
/// live in a block of its current host (one block is out exactly then); the host it
/// replaces then has none out.
unsafe fn set_growth(world: &mut World, b: &mut Bytes, tape: *mut ad_tape, i: Option<usize>) {
    let slot = i.and_then(|i| world.slots[i].as_mut());
    let memory = slot.as_ref().map_or((0, 0), |s| (s.tape as usize, s.len));
    let mut host = Box::new(GrowthHost::new(b, memory));
    host.tape = tape;
    let null_callbacks = b.one_in(8);
    let status = if null_callbacks {
        check(unsafe { ad_tape_set_growth(tape, None, None, ptr::null_mut()) })
    } else {
        check(unsafe { GrowthHost::register(&mut *host, tape) })
    };
    let Some(slot) = slot else {
        assert_ne!(status, AD_OK, "ad_tape_set_growth on no tape");
        return;
    };
    let expected = if null_callbacks {
        AD_ERR_NULL
    } else if slot.ended {
        AD_ERR_INVALID_TAPE
    } else if slot.growth.as_ref().is_some_and(|h| h.outstanding() > 0) {
        AD_ERR_INVALID_ARGUMENT
    } else {
        AD_OK
    };
    assert_eq!(status, expected, "ad_tape_set_growth");
    if status == AD_OK {
        if let Some(old) = slot.growth.replace(host) {
            old.assert_settled("a growth host replaced");
        }
    }
}

/// Checks that `tape` (live; reset first when `reset`) refuses `x`, a variable of another
/// tape or generation, as stale or foreign, after recording `pad` inputs so that its
/// index is in range. Leaves the tape reset.
unsafe fn stale_or_foreign_on(tape: *mut ad_tape, x: ad_var, pad: usize, reset: bool) {
    unsafe {
        if reset && check(ad_tape_reset(tape)) != AD_OK {
            return;
        }
        for _ in 0..pad {
            ad_input(tape, 0.5);
        }
        if check(ad_tape_status(tape)) != AD_OK {
            // No room for the padding.
            check(ad_tape_reset(tape));
            return;
        }
        let y = ad_sin(tape, x);
        let status = check(ad_tape_status(tape));
        assert!(
            matches!(status, AD_ERR_STALE_HANDLE | AD_ERR_FOREIGN_HANDLE),
            "a variable of another tape or generation was accepted: {status:?}"
        );
        assert!(!ad_var_is_valid(y));
        assert_eq!(check(ad_tape_reset(tape)), AD_OK);
    }
}

type Unary = unsafe extern "C" fn(*mut ad_tape, ad_var) -> ad_var;
type Binary = unsafe extern "C" fn(*mut ad_tape, ad_var, ad_var) -> ad_var;
type TensorUnary = unsafe extern "C" fn(*mut ad_tape, ad_tensor) -> ad_tensor;
type TensorBinary = unsafe extern "C" fn(*mut ad_tape, ad_tensor, ad_tensor) -> ad_tensor;

const UNARY: [Unary; 26] = [
    ad_neg,
    ad_recip,
    ad_sqrt,
    ad_cbrt,
    ad_exp,
    ad_expm1,
    ad_log,
    ad_log1p,
    ad_log2,
    ad_log10,
    ad_sin,
    ad_cos,
    ad_tan,
    ad_asin,
    ad_acos,
    ad_atan,
    ad_sinh,
    ad_cosh,
    ad_tanh,
    ad_asinh,
    ad_acosh,
    ad_atanh,
    ad_abs,
    ad_sigmoid,
    ad_softplus,
    ad_erf,
];
const BINARY: [Binary; 9] = [
    ad_add, ad_sub, ad_mul, ad_div, ad_pow, ad_atan2, ad_min, ad_max, ad_hypot,
];
const TENSOR_UNARY: [TensorUnary; 7] = [
    ad_tensor_sum,
    ad_tensor_mean,
    ad_transpose,
    ad_softmax,
    ad_log_softmax,
    ad_tensor_to_host,
    ad_tensor_sum,
];
const TENSOR_BINARY: [TensorBinary; 4] =
    [ad_tensor_add, ad_tensor_sub, ad_tensor_mul, ad_tensor_div];

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let mut world = World::new();
    let mut scratch = [0u64; SCRATCH_WORDS];
    assert!(core::mem::size_of::<Header>() <= core::mem::size_of_val(&scratch));
    let mut calls = 0;
    while !b.is_empty() && calls < 256 {
        // SAFETY: every pointer passed is live memory of the stated length, or NULL, or a
        // deliberately wrong pointer into live memory of at least a tape header's size.
        unsafe { step(&mut world, &mut b, &mut scratch) };
        calls += 1;
    }
    // End every tape, then close every device: each must succeed now.
    for slot in world.slots.iter_mut() {
        if let Some(slot) = slot.take() {
            // SAFETY: the slot's tape is live or ended with its memory here.
            unsafe { end(slot) };
        }
    }
    for device in world.devices.drain(..) {
        // SAFETY: a device this sequence opened and has not closed.
        assert_eq!(
            check(unsafe { ad_device_close(device.device) }),
            AD_OK,
            "close after every tape ended"
        );
    }
    for ctx in world.blocks.drain(..) {
        // SAFETY: made by `Box::into_raw`; no tape that could call it is left.
        drop(unsafe { Box::from_raw(ctx) });
    }
    stats_exec();
});
