//! The chapter's worked examples, computed by the library with no heap at all.

use autodiff_core::Tape;
use core::mem::MaybeUninit;

fn main() {
    let mut memory = [MaybeUninit::<u8>::uninit(); 4096];
    let mut tape = Tape::<f64>::new(&mut memory).expect("4 KiB holds a tape");

    let (x, y) = (tape.input(3.0), tape.input(2.0));
    let f = (x + y) * (x - 2.0 * y);
    let grads = tape.gradient(f).expect("recorded without error");
    println!(
        "f(x, y) = (x + y)(x - 2y) at (3, 2): f = {}, df/dx = {}, df/dy = {}",
        f.value(),
        grads.wrt(x),
        grads.wrt(y)
    );

    tape.reset();
    let x = tape.input(3.0);
    let f = 2.0 * x * x + x.sin();
    tape.backward(f.id()).expect("recorded without error");
    let reverse = x.grad();
    tape.jvp(&[1.0]).expect("one input, one seed");
    let forward = tape.tangent(f.id()).expect("f is live");
    println!(
        "f(x) = 2x^2 + sin x at 3: f = {:.6}, f' reverse = {reverse:.6}, f' forward = {forward:.6}",
        f.value()
    );

    tape.reset();
    let (x, y) = (tape.input(3.0), tape.input(4.0));
    let z = x * x + y * y;
    let mut g = [0.0; 2];
    tape.gradient_into(z.id(), &mut g).expect("two inputs");
    println!(
        "z = x^2 + y^2 at (3, 4): z = {}, gradient = ({}, {})",
        z.value(),
        g[0],
        g[1]
    );
    println!(
        "tape: {} bytes per recorded variable, {} bytes in use",
        autodiff_core::Tape::<f64>::bytes_per_record(),
        tape.used_bytes()
    );
}
