//! The stack's high-water mark, for the RAM figure of a program: the free RAM between
//! the end of the static data and the stack pointer is painted with a pattern before
//! the program runs, and the lowest word the program overwrote marks the deepest the
//! stack went.
//!
//! The region belongs to no Rust object (cortex-m-rt leaves it to the stack), so it is
//! reached by address, with volatile accesses, as memory-mapped memory is.

use core::ptr;

const PAINT: u32 = 0x5afe_c0de;
/// Left unpainted below the stack pointer: what the painting loop itself may push.
const MARGIN: usize = 256;

extern "C" {
    /// The end of `.bss` (cortex-m-rt), where the stack's free space starts.
    static _stack_end: u32;
    /// The top of RAM, where the stack starts.
    static _stack_start: u32;
}

fn stack_end() -> usize {
    ptr::addr_of!(_stack_end) as usize
}

fn stack_start() -> usize {
    ptr::addr_of!(_stack_start) as usize
}

fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer; no memory is touched.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
    sp
}

/// Paints the free stack below the current frame.
pub fn paint() {
    let top = stack_pointer().saturating_sub(MARGIN) & !3;
    let mut address = stack_end();
    while address < top {
        // SAFETY: between the end of the static data and (well below) the stack
        // pointer: RAM that nothing uses yet.
        unsafe { ptr::with_exposed_provenance_mut::<u32>(address).write_volatile(PAINT) };
        address += 4;
    }
}

/// The most bytes of stack used since [`paint`]: from the top of RAM down to the
/// lowest word no longer holding the pattern.
pub fn peak_bytes() -> usize {
    let mut address = stack_end();
    let top = stack_start();
    // SAFETY: as in `paint`: RAM below the stack, now possibly the stack itself.
    while address < top
        && unsafe { ptr::with_exposed_provenance::<u32>(address).read_volatile() } == PAINT
    {
        address += 4;
    }
    top - address
}
