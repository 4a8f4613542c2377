//! The C API called from Rust through the rlib: the same entry points C hosts use, so the
//! nightly AddressSanitizer run of the Rust tests covers the boundary code as well.

use autodiff::derivatives::{ad_backward, ad_grad, ad_gradient, ad_jacobian, ad_jvp, ad_tangent};
use autodiff::error::{ad_status, StatusArg};
use autodiff::tape::{
    ad_tape, ad_tape_bytes_for, ad_tape_done, ad_tape_error, ad_tape_free, ad_tape_init,
    ad_tape_new, ad_tape_status, DtypeArg,
};
use autodiff::var::{ad_add, ad_input, ad_mul, ad_scale, ad_sin, ad_sub, ad_var};
use core::ffi::CStr;
use core::ptr;

const F32: DtypeArg = DtypeArg(1);
const F64: DtypeArg = DtypeArg(2);

fn init(mem: &mut [u8], dtype: DtypeArg) -> *mut ad_tape {
    let mut tape = ptr::null_mut();
    // SAFETY: `mem` outlives every use of the tape in these tests.
    let status = unsafe { ad_tape_init(mem.as_mut_ptr().cast(), mem.len(), dtype, &mut tape) };
    assert_eq!(status, ad_status::AD_OK);
    tape
}

#[test]
fn product_of_sum_and_difference_through_the_c_api() {
    for dtype in [F32, F64] {
        let mut mem = vec![0u8; 4096];
        let t = init(&mut mem[1..], dtype);
        // SAFETY: `t` is live, and the out-pointers are valid.
        unsafe {
            let (x, y) = (ad_input(t, 3.0), ad_input(t, 2.0));
            let f = ad_mul(t, ad_add(t, x, y), ad_sub(t, x, ad_scale(t, y, 2.0)));
            let mut g = [0.0; 2];
            assert_eq!(ad_gradient(t, f, g.as_mut_ptr(), 2), ad_status::AD_OK);
            assert_eq!(g, [4.0, -11.0]);
            assert_eq!(ad_tape_done(t), ad_status::AD_OK);
        }
    }
}

#[test]
fn forward_and_reverse_agree_on_two_x_squared_plus_sin_x() {
    let mut mem = vec![0u8; 4096];
    let t = init(&mut mem, F64);
    // SAFETY: as above.
    unsafe {
        let x = ad_input(t, 3.0);
        let f = ad_add(t, ad_mul(t, ad_scale(t, x, 2.0), x), ad_sin(t, x));
        let (mut g, mut dt) = (0.0, 0.0);
        assert_eq!(ad_backward(t, f), ad_status::AD_OK);
        assert_eq!(ad_grad(t, x, &mut g), ad_status::AD_OK);
        assert_eq!(ad_jvp(t, [1.0].as_ptr(), 1), ad_status::AD_OK);
        assert_eq!(ad_tangent(t, f, &mut dt), ad_status::AD_OK);
        assert_eq!(g, 12.0 + 3.0f64.cos());
        assert_eq!(dt, g);
        ad_tape_done(t);
    }
}

#[test]
fn bad_input_gets_a_status() {
    let mut mem = vec![0u8; 4096];
    let mut bytes = 0usize;
    // SAFETY: every pointer is valid or deliberately NULL.
    unsafe {
        assert_eq!(
            ad_tape_bytes_for(usize::MAX, F64, &mut bytes),
            ad_status::AD_ERR_SIZE_OVERFLOW
        );
        assert_eq!(
            ad_tape_bytes_for(1, DtypeArg(9), &mut bytes),
            ad_status::AD_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            ad_tape_init(ptr::null_mut(), 64, F64, &mut ptr::null_mut()),
            ad_status::AD_ERR_NULL
        );
        let t = init(&mut mem, F64);
        let x = ad_input(t, 1.0);
        let foreign = ad_var {
            index: x.index,
            tape: x.tape ^ 1,
            ..x
        };
        let mut jac = [7.0; 2];
        assert_eq!(
            ad_jacobian(t, [x, foreign].as_ptr(), 2, jac.as_mut_ptr(), 2),
            ad_status::AD_ERR_FOREIGN_HANDLE
        );
        assert_eq!(jac, [7.0; 2]);
        let message = CStr::from_ptr(ad_tape_error(t)).to_str().unwrap();
        assert!(message.contains("foreign"), "{message}");
        assert_eq!(ad_tape_status(t), ad_status::AD_OK);
        assert_eq!(ad_tape_done(t), ad_status::AD_OK);
        assert_eq!(ad_tape_status(t), ad_status::AD_ERR_INVALID_TAPE);

        let mut heap = ptr::null_mut();
        assert_eq!(ad_tape_new(4096, F32, &mut heap), ad_status::AD_OK);
        ad_tape_free(heap);
        ad_tape_free(ptr::null_mut());
    }
}

#[test]
fn every_status_has_a_description() {
    let describe = |code| {
        let text = autodiff::error::ad_status_str(StatusArg(code));
        // SAFETY: static NUL-terminated strings.
        unsafe { CStr::from_ptr(text) }.to_str().unwrap()
    };
    // The known codes are exactly the enum's (`ad_status::ALL`, which a few unused
    // numbers may separate), from 0, and nothing past the last is described.
    let known: Vec<i32> = (-1..1024)
        .filter(|&c| describe(c) != "unknown status code")
        .collect();
    let declared: Vec<i32> = ad_status::ALL.iter().map(|&s| s as i32).collect();
    assert_eq!(known, declared);
    assert_eq!(known.first(), Some(&0));
    assert!(known.len() > ad_status::AD_ERR_REENTRANT as usize);
    let mut texts: Vec<&str> = known.iter().map(|&c| describe(c)).collect();
    texts.sort_unstable();
    texts.dedup();
    assert_eq!(texts.len(), known.len(), "two codes share a description");
}
