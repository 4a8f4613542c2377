//! The worked examples of the chapter this library comes from, with exact values.

use autodiff_core::Tape;
use core::mem::MaybeUninit;

#[test]
fn product_of_sum_and_difference_at_3_2() {
    // f(x, y) = (x + y)(x − 2y): ∂f/∂x = 2x − y = 4, ∂f/∂y = −x − 4y = −11.
    let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (x, y) = (tape.input(3.0), tape.input(2.0));
    let f = (x + y) * (x - 2.0 * y);
    assert_eq!(f.value(), -5.0);
    let grads = tape.gradient(f).unwrap();
    assert_eq!(grads.wrt(x), 4.0);
    assert_eq!(grads.wrt(y), -11.0);
}

#[test]
fn two_x_squared_plus_sin_x_at_3_in_reverse_and_forward() {
    let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(3.0);
    let f = 2.0 * x * x + x.sin();
    let expected = 4.0 * 3.0 + 3.0f64.cos();
    assert_eq!(f.value(), 18.0 + 3.0f64.sin());
    tape.backward(f.id()).unwrap();
    assert_eq!(x.grad(), expected);
    tape.jvp(&[1.0]).unwrap();
    assert_eq!(tape.tangent(f.id()).unwrap(), expected);
}

#[test]
fn sum_of_squares_at_3_4() {
    let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
    let tape = Tape::<f64>::new(&mut mem).unwrap();
    let (x, y) = (tape.input(3.0), tape.input(4.0));
    let z = x * x + y * y;
    assert_eq!(z.value(), 25.0);
    let mut g = [0.0; 2];
    tape.gradient_into(z.id(), &mut g).unwrap();
    assert_eq!(g, [6.0, 8.0]);
}

#[test]
fn hessian_vector_product_of_a_cubic_is_exact() {
    use autodiff_core::Dual;
    // f(x, y) = x³y + y²: ∇f = (3x²y, x³ + 2y), ∇²f = [[6xy, 3x²], [3x², 2]].
    let mut mem = [MaybeUninit::<u8>::uninit(); 8192];
    let tape = Tape::<Dual<f64>>::new(&mut mem).unwrap();
    let (x, y) = (
        tape.input(Dual::constant(0.0)),
        tape.input(Dual::constant(0.0)),
    );
    let f = x.powi(3) * y + y * y;
    let (mut g, mut hv) = ([0.0; 2], [0.0; 2]);
    tape.hessian_vector_product(f.id(), &[2.0, 3.0], &[1.0, -1.0], &mut g, &mut hv)
        .unwrap();
    assert_eq!(g, [36.0, 14.0]);
    assert_eq!(hv, [36.0 - 12.0, 12.0 - 2.0]);
}
