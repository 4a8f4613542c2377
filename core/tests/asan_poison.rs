//! The arena's free memory is poisoned under AddressSanitizer (`--cfg autodiff_asan`
//! with `-Zsanitizer=address`; `make rust-asan`): a read of rewound memory (released
//! scratch is rewound the same way), of the gap between the cursors, or of records a
//! reset dropped aborts with a "use-after-poison" report.
//!
//! Each fault runs in a child process (this test binary again, asked for one ignored
//! test), since ASan ends the process it reports in. Without the cfg this file is empty.
#![cfg(autodiff_asan)]

use autodiff_core::{Arena, Tape};
use core::mem::MaybeUninit;
use std::process::Command;

/// Set in the children, so that the faulting tests do nothing when run by hand
/// (`--include-ignored`).
const CHILD: &str = "AUTODIFF_ASAN_FAULT";

/// Runs the ignored test `name` in a child process and checks that ASan stopped it with
/// a use-after-poison report from inside that test.
fn expect_poisoned(name: &str) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("ASAN_OPTIONS", "detect_leaks=0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "{name}: the child passed, so the read was not caught:\n{stderr}"
    );
    assert!(
        stderr.contains("AddressSanitizer: use-after-poison"),
        "{name}: the child failed without a use-after-poison report:\n{stderr}"
    );
    assert!(
        stderr.contains(name.rsplit("::").next().unwrap()),
        "{name}: the report does not point into the faulting test:\n{stderr}"
    );
}

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Reads `ptr` in a way the optimiser keeps.
fn read<T: Copy>(ptr: *const T) -> T {
    // SAFETY: deliberately not: the tests below pass pointers into freed arena memory,
    // which is still the caller's buffer (so the read is in bounds), but poisoned.
    unsafe { core::ptr::read_volatile(ptr) }
}

#[test]
fn faults_are_reported() {
    expect_poisoned("fault_read_after_rewind");
    expect_poisoned("fault_read_between_the_cursors");
    expect_poisoned("fault_read_record_after_reset");
}

/// The same reads of live memory pass: a control for the tests above.
#[test]
fn live_memory_reads_pass() {
    let mut mem = [MaybeUninit::<u8>::uninit(); 256];
    let mut arena = Arena::new(&mut mem);
    let mark = arena.mark();
    let high = arena.alloc_high::<u64>(2, 7).unwrap().as_ptr();
    let low = arena.alloc_low::<u8>(3, 1).unwrap().as_ptr();
    assert_eq!(read(high.wrapping_add(1)), 7);
    assert_eq!(read(low.wrapping_add(2)), 1);
    arena.rewind(mark);
    // Memory handed out again after a rewind is live again.
    let again = arena.alloc_high::<u64>(2, 9).unwrap().as_ptr();
    assert_eq!(again, high);
    assert_eq!(read(again), 9);
}

/// After the arena is dropped the whole buffer is the caller's again.
#[test]
fn the_buffer_is_unpoisoned_after_the_arena() {
    let mut mem = [MaybeUninit::<u8>::uninit(); 256];
    {
        let mut arena = Arena::new(&mut mem);
        let mark = arena.mark();
        arena.alloc_high::<u64>(4, 0).unwrap();
        arena.rewind(mark);
    }
    mem[100] = MaybeUninit::new(5);
    // SAFETY: just written.
    assert_eq!(read(unsafe { mem[100].assume_init_ref() }), 5);
}

#[test]
#[ignore = "faults on purpose; run by faults_are_reported"]
fn fault_read_after_rewind() {
    if !is_child() {
        return;
    }
    let mut mem = [MaybeUninit::<u8>::uninit(); 256];
    let mut arena = Arena::new(&mut mem);
    let mark = arena.mark();
    let stale = arena.alloc_high::<f64>(4, 1.0).unwrap().as_ptr();
    arena.rewind(mark);
    read(stale.wrapping_add(2));
}

#[test]
#[ignore = "faults on purpose; run by faults_are_reported"]
fn fault_read_between_the_cursors() {
    if !is_child() {
        return;
    }
    let mut mem = [MaybeUninit::<u8>::uninit(); 256];
    let arena = Arena::new(&mut mem);
    let low = arena.alloc_low::<u64>(2, 0).unwrap().as_ptr();
    arena.alloc_high::<u64>(2, 0).unwrap();
    // Past the end of the low block: never handed out.
    read(low.wrapping_add(4));
}

#[test]
#[ignore = "faults on purpose; run by faults_are_reported"]
fn fault_read_record_after_reset() {
    if !is_child() {
        return;
    }
    let mut mem = [MaybeUninit::<u8>::uninit(); 4096];
    let base = mem.as_ptr().cast::<u8>();
    let mut tape = Tape::<f64>::new(&mut mem).unwrap();
    let x = tape.input(2.0);
    let _ = x * x + 1.0;
    // Three records of 24 bytes from the first 8-aligned byte: byte 30 is inside one.
    assert!(tape.used_bytes() >= 3 * 24);
    tape.reset();
    read(base.wrapping_add(30));
}
