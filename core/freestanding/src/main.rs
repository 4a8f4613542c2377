//! A freestanding smoke test of `autodiff-core`: no `std`, no `alloc`, no libc, no C
//! runtime. The kernel enters at `_start`, which differentiates the seed example
//! `f(x, y) = (x + y)(x − 2y)` at (3, 2) on a tape in a stack array, checks
//! `∂f/∂x = 4` and `∂f/∂y = −11`, and exits through the `exit_group` system call with
//! status 0 when every check holds and 1 otherwise (a panic also exits with 1).
#![no_std]
#![no_main]
// The `mem*` functions below are what the compiler lowers copies to: keep it from
// lowering their own loops back into calls to themselves.
#![no_builtins]

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
compile_error!("the freestanding smoke program targets x86_64 Linux only");

use autodiff_core::Tape;
use core::arch::{asm, naked_asm};
use core::mem::MaybeUninit;

/// The process entry point. The kernel starts it with the stack 16-byte aligned and no
/// return address, so it cannot be an ordinary function (whose prologue assumes a call
/// pushed one): it clears the frame pointer, keeps the alignment the ABI wants at a call,
/// and calls `smoke`, which never returns.
#[unsafe(naked)]
#[no_mangle]
pub extern "C" fn _start() -> ! {
    naked_asm!(
        "xor ebp, ebp",
        "and rsp, -16",
        "call {smoke}",
        "ud2",
        smoke = sym smoke,
    )
}

extern "C" fn smoke() -> ! {
    exit(if seed_example_gradient_is_right() {
        0
    } else {
        1
    })
}

fn seed_example_gradient_is_right() -> bool {
    let mut memory = [MaybeUninit::<u8>::uninit(); 1024];
    let tape = match Tape::<f64>::new(&mut memory) {
        Ok(tape) => tape,
        Err(_) => return false,
    };
    let (x, y) = (tape.input(3.0), tape.input(2.0));
    let f = (x + y) * (x - 2.0 * y);
    let mut gradient = [0.0; 2];
    if tape.gradient_into(f.id(), &mut gradient).is_err() {
        return false;
    }
    // Forward mode agrees with reverse.
    let forward_agrees = tape.jvp(&[1.0, 0.0]).is_ok() && tape.tangent(f.id()) == Ok(4.0);
    tape.status().is_ok() && f.value() == -5.0 && gradient == [4.0, -11.0] && forward_agrees
}

/// Ends the process with `status`, through the raw `exit_group` system call.
fn exit(status: i32) -> ! {
    // SAFETY: `exit_group` (231) takes the status in rdi and does not return; the
    // `syscall` instruction clobbers rcx and r11, which `noreturn` makes moot.
    unsafe {
        asm!(
            "syscall",
            in("rax") 231,
            in("edi") status,
            options(noreturn, nostack),
        )
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    exit(1)
}

/// The unwinding personality routine, which the prebuilt `core` refers to from its unwind
/// tables. With `panic = "abort"` nothing unwinds, so it is never called; it only has to
/// exist for the link.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

// ---- the C memory functions the compiler may call; libc is not there to provide them ----

/// # Safety
/// As C's `memcpy`: `n` bytes, valid, non-overlapping.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees both ranges hold `n` bytes.
        unsafe { *dest.add(i) = *src.add(i) };
        i += 1;
    }
    dest
}

/// # Safety
/// As C's `memmove`: `n` bytes, valid, possibly overlapping.
#[no_mangle]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize) <= (src as usize) {
        let mut i = 0;
        while i < n {
            // SAFETY: as in `memcpy`; copying upward reads each byte before it is written.
            unsafe { *dest.add(i) = *src.add(i) };
            i += 1;
        }
    } else {
        let mut i = n;
        while i > 0 {
            i -= 1;
            // SAFETY: as above, copying downward.
            unsafe { *dest.add(i) = *src.add(i) };
        }
    }
    dest
}

/// # Safety
/// As C's `memset`: `n` valid bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dest: *mut u8, value: i32, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees the range holds `n` bytes.
        unsafe { *dest.add(i) = value as u8 };
        i += 1;
    }
    dest
}

/// # Safety
/// As C's `memcmp`: two ranges of `n` valid bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees both ranges hold `n` bytes.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// # Safety
/// As `memcmp`; only equality is meaningful.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: forwarded with the caller's guarantees.
    unsafe { memcmp(a, b, n) }
}
