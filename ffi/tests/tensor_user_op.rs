//! Tensor user ops through the C API from Rust: the boundary's own unsafe code (the
//! descriptors handed to C callbacks as they are, the lent tape, the shapes read from
//! C arrays) for both element types, small enough to run under Miri.

use autodiff::derivatives::{ad_backward, ad_jvp};
use autodiff::error::ad_status;
use autodiff::tape::{
    ad_tape, ad_tape_done, ad_tape_init, ad_tape_reset, ad_tape_status, DtypeArg,
};
use autodiff::tensor::{
    ad_tensor, ad_tensor_as_var, ad_tensor_grad_f32, ad_tensor_grad_f64, ad_tensor_input_f32,
    ad_tensor_input_f64, ad_tensor_seed_tangent_f64, ad_tensor_sum, ad_tensor_tangent_f64,
    ad_tensor_user_op_def_f32, ad_tensor_user_op_def_f64, ad_tensor_user_op_f32,
    ad_tensor_user_op_f64, ad_user_tensor_f32, ad_user_tensor_f64,
};
use core::ffi::{c_int, c_void};
use core::ptr;

const F32: DtypeArg = DtypeArg(1);
const F64: DtypeArg = DtypeArg(2);

/// What the callbacks see through `user_data`.
struct Ctx {
    tape: *mut ad_tape,
    fail: bool,
    reset_inside: Option<ad_status>,
}

/// `(x [n], y [n]) → (x ⊙ y [n], Σ x [])`, `f64`.
unsafe extern "C" fn forward(
    ud: *mut c_void,
    inputs: *const ad_user_tensor_f64,
    n_in: usize,
    outputs: *const ad_user_tensor_f64,
    n_out: usize,
    state: *mut f64,
    state_len: usize,
) -> c_int {
    // SAFETY: the callback contract: arrays of the counts given, live during the call.
    unsafe {
        let ctx = &mut *ud.cast::<Ctx>();
        if ctx.fail {
            return 4;
        }
        if ctx.reset_inside.is_some() {
            ctx.reset_inside = Some(ad_tape_reset(ctx.tape));
        }
        assert_eq!((n_in, n_out, state_len), (2, 2, 1));
        let (x, y) = (&*inputs, &*inputs.add(1));
        let (p, s) = (&*outputs, &*outputs.add(1));
        assert_eq!((p.rank, p.dims[0], s.rank, s.len), (1, x.len, 0, 1));
        let (x, y) = (
            core::slice::from_raw_parts(x.data, x.len),
            core::slice::from_raw_parts(y.data, y.len),
        );
        let product = core::slice::from_raw_parts_mut(p.data, p.len);
        for ((p, &a), &b) in product.iter_mut().zip(x).zip(y) {
            *p = a * b;
        }
        *s.data = x.iter().sum();
        *state += 1.0;
        0
    }
}

/// The VJP: `x̄ = p̄ ⊙ y + s̄`, `ȳ = p̄ ⊙ x`.
unsafe extern "C" fn vjp(
    _: *mut c_void,
    inputs: *const ad_user_tensor_f64,
    _: usize,
    _: *const ad_user_tensor_f64,
    _: usize,
    _: *const f64,
    _: usize,
    output_grads: *const ad_user_tensor_f64,
    input_grads: *const ad_user_tensor_f64,
) -> c_int {
    // SAFETY: as in `forward`.
    unsafe {
        let n = (*inputs).len;
        let (x, y) = ((*inputs).data, (*inputs.add(1)).data);
        let (dp, ds) = ((*output_grads).data, *(*output_grads.add(1)).data);
        let (dx, dy) = ((*input_grads).data, (*input_grads.add(1)).data);
        for i in 0..n {
            *dx.add(i) = *dp.add(i) * *y.add(i) + ds;
            *dy.add(i) = *dp.add(i) * *x.add(i);
        }
        0
    }
}

/// The JVP: `ṗ = ẋ ⊙ y + x ⊙ ẏ`, `ṡ = Σ ẋ`.
unsafe extern "C" fn jvp(
    _: *mut c_void,
    inputs: *const ad_user_tensor_f64,
    _: usize,
    _: *const ad_user_tensor_f64,
    _: usize,
    _: *const f64,
    _: usize,
    input_tangents: *const ad_user_tensor_f64,
    output_tangents: *const ad_user_tensor_f64,
) -> c_int {
    // SAFETY: as in `forward`.
    unsafe {
        let n = (*inputs).len;
        let (x, y) = ((*inputs).data, (*inputs.add(1)).data);
        let (tx, ty) = ((*input_tangents).data, (*input_tangents.add(1)).data);
        let (tp, ts) = ((*output_tangents).data, (*output_tangents.add(1)).data);
        for i in 0..n {
            *tp.add(i) = *tx.add(i) * *y.add(i) + *x.add(i) * *ty.add(i);
            *ts += *tx.add(i);
        }
        0
    }
}

fn init(mem: &mut [u64], dtype: DtypeArg) -> *mut ad_tape {
    let mut tape = ptr::null_mut();
    // SAFETY: `mem` outlives every use of the tape in these tests.
    let status = unsafe { ad_tape_init(mem.as_mut_ptr().cast(), mem.len() * 8, dtype, &mut tape) };
    assert_eq!(status, ad_status::AD_OK);
    tape
}

const N: usize = 3;
const X: [f64; N] = [0.5, -1.0, 2.0];
const Y: [f64; N] = [1.5, 0.25, -3.0];

/// Records `sum(x ⊙ y) + 2 Σ x`-ish through the op; returns the inputs and the loss.
///
/// # Safety
/// `t` must be a live `AD_F64` tape, `ctx` outlive its sweeps.
unsafe fn record(t: *mut ad_tape, ctx: &mut Ctx) -> (ad_tensor, ad_tensor, ad_tensor, ad_status) {
    let def = ad_tensor_user_op_def_f64 {
        forward: Some(forward),
        vjp: Some(vjp),
        jvp: Some(jvp),
        user_data: (ctx as *mut Ctx).cast(),
        state_len: 1,
    };
    let (dims, ranks) = ([N], [1usize, 0]);
    // SAFETY: the caller's contract; the arrays have the lengths passed.
    unsafe {
        let x = ad_tensor_input_f64(t, dims.as_ptr(), 1, X.as_ptr(), N);
        let y = ad_tensor_input_f64(t, dims.as_ptr(), 1, Y.as_ptr(), N);
        let mut out = [x; 2];
        let status = ad_tensor_user_op_f64(
            t,
            &def,
            [x, y].as_ptr(),
            2,
            dims.as_ptr(),
            ranks.as_ptr(),
            out.as_mut_ptr(),
            2,
        );
        let loss = autodiff::tensor::ad_tensor_add(t, ad_tensor_sum(t, out[0]), out[1]);
        (x, y, loss, status)
    }
}

#[test]
fn gradient_and_tangent_through_the_c_api() {
    let mut mem = vec![0u64; 1 << 12];
    let t = init(&mut mem, F64);
    let mut ctx = Ctx {
        tape: t,
        fail: false,
        reset_inside: None,
    };
    // SAFETY: `t` is live and `ctx` outlives its sweeps.
    unsafe {
        let (x, y, loss, status) = record(t, &mut ctx);
        assert_eq!(status, ad_status::AD_OK);
        assert_eq!(ad_backward(t, ad_tensor_as_var(t, loss)), ad_status::AD_OK);
        let (mut gx, mut gy) = ([0.0; N], [0.0; N]);
        assert_eq!(
            ad_tensor_grad_f64(t, x, gx.as_mut_ptr(), N),
            ad_status::AD_OK
        );
        assert_eq!(
            ad_tensor_grad_f64(t, y, gy.as_mut_ptr(), N),
            ad_status::AD_OK
        );
        for i in 0..N {
            assert_eq!(gx[i], Y[i] + 1.0);
            assert_eq!(gy[i], X[i]);
        }
        let seed = [1.0, 0.0, 0.0];
        assert_eq!(
            ad_tensor_seed_tangent_f64(t, x, seed.as_ptr(), N),
            ad_status::AD_OK
        );
        assert_eq!(ad_jvp(t, ptr::null(), 0), ad_status::AD_OK);
        let mut tangent = 0.0;
        assert_eq!(
            ad_tensor_tangent_f64(t, loss, &mut tangent, 1),
            ad_status::AD_OK
        );
        assert_eq!(tangent, gx[0]);
        assert_eq!(ad_tape_done(t), ad_status::AD_OK);
    }
}

#[test]
fn failing_and_resetting_callbacks_leave_the_tape_usable_after_reset() {
    let mut mem = vec![0u64; 1 << 12];
    let t = init(&mut mem, F64);
    let mut ctx = Ctx {
        tape: t,
        fail: true,
        reset_inside: None,
    };
    // SAFETY: as above.
    unsafe {
        assert_eq!(record(t, &mut ctx).3, ad_status::AD_ERR_CALLBACK_FAILED);
        assert_eq!(ad_tape_status(t), ad_status::AD_ERR_CALLBACK_FAILED);
        assert_eq!(ad_tape_reset(t), ad_status::AD_OK);
        ctx.fail = false;
        ctx.reset_inside = Some(ad_status::AD_OK);
        assert_eq!(record(t, &mut ctx).3, ad_status::AD_ERR_REENTRANT);
        assert_eq!(ctx.reset_inside, Some(ad_status::AD_ERR_REENTRANT));
        assert_eq!(ad_tape_reset(t), ad_status::AD_OK);
        ctx.reset_inside = None;
        let (_, _, loss, status) = record(t, &mut ctx);
        assert_eq!(status, ad_status::AD_OK);
        assert_eq!(ad_backward(t, ad_tensor_as_var(t, loss)), ad_status::AD_OK);
        assert_eq!(ad_tape_done(t), ad_status::AD_OK);
    }
}

unsafe extern "C" fn negate_f32(
    _: *mut c_void,
    inputs: *const ad_user_tensor_f32,
    _: usize,
    outputs: *const ad_user_tensor_f32,
    _: usize,
    _: *mut f32,
    _: usize,
) -> c_int {
    // SAFETY: as in `forward`.
    unsafe {
        for i in 0..(*inputs).len {
            *(*outputs).data.add(i) = -*(*inputs).data.add(i);
        }
    }
    0
}

unsafe extern "C" fn negate_vjp_f32(
    _: *mut c_void,
    _: *const ad_user_tensor_f32,
    _: usize,
    _: *const ad_user_tensor_f32,
    _: usize,
    _: *const f32,
    _: usize,
    output_grads: *const ad_user_tensor_f32,
    input_grads: *const ad_user_tensor_f32,
) -> c_int {
    // SAFETY: as in `forward`.
    unsafe {
        for i in 0..(*input_grads).len {
            *(*input_grads).data.add(i) = -*(*output_grads).data.add(i);
        }
    }
    0
}

#[test]
fn an_f32_op_without_a_jvp() {
    let mut mem = vec![0u64; 1 << 12];
    let t = init(&mut mem, F32);
    let def = ad_tensor_user_op_def_f32 {
        forward: Some(negate_f32),
        vjp: Some(negate_vjp_f32),
        jvp: None,
        user_data: ptr::null_mut(),
        state_len: 0,
    };
    let (dims, data) = ([2usize, 2], [1.0f32, 2.0, 3.0, 4.0]);
    // SAFETY: `t` is live; the arrays have the lengths passed.
    unsafe {
        let x = ad_tensor_input_f32(t, dims.as_ptr(), 2, data.as_ptr(), 4);
        let mut out = [x];
        let status = ad_tensor_user_op_f32(
            t,
            &def,
            &x,
            1,
            dims.as_ptr(),
            [2usize].as_ptr(),
            out.as_mut_ptr(),
            1,
        );
        assert_eq!(status, ad_status::AD_OK);
        let loss = ad_tensor_sum(t, out[0]);
        assert_eq!(ad_backward(t, ad_tensor_as_var(t, loss)), ad_status::AD_OK);
        let mut g = [0.0f32; 4];
        assert_eq!(
            ad_tensor_grad_f32(t, x, g.as_mut_ptr(), 4),
            ad_status::AD_OK
        );
        assert_eq!(g, [-1.0; 4]);
        assert_eq!(ad_jvp(t, ptr::null(), 0), ad_status::AD_ERR_NO_JVP);
        assert_eq!(ad_tape_status(t), ad_status::AD_OK);
        assert_eq!(ad_tape_done(t), ad_status::AD_OK);
    }
}
