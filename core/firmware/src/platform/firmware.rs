//! The firmware side: output and exit through semihosting (the debugger, here QEMU,
//! carries them to the host), and a panic handler that reports and exits.

use super::{stack, Program};
use crate::report::{Report, Sink};
use core::mem::MaybeUninit;
use cortex_m_semihosting::{debug, hio};

/// The debugger's standard output; output is dropped when there is none.
struct Semihosting(Option<hio::HostStream>);

impl Sink for Semihosting {
    fn write(&mut self, bytes: &[u8]) {
        if let Some(stream) = &mut self.0 {
            let _ = stream.write_all(bytes);
        }
    }
}

/// Runs `program` on `arena` and exits with success when all its checks passed.
pub fn run(program: Program, arena: &mut [MaybeUninit<u8>]) -> ! {
    let mut out = Semihosting(hio::hstdout().ok());
    let mut report = Report::new(&mut out);
    stack::paint();
    program(arena, &mut report);
    report.info("stack bytes at most", stack::peak_bytes());
    exit(report.finish())
}

fn exit(success: bool) -> ! {
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Without a debugger attached the exit request does nothing: stop here.
    loop {
        core::hint::spin_loop();
    }
}

/// The core does not panic; should anything else, the run fails visibly. The message is
/// not formatted, which keeps `core::fmt` out of the image.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(b"panic\n");
    }
    exit(false)
}
