//! Starting a program and ending it: on the firmware through semihosting, on the host
//! through standard output and the process status.

/// A program: given its arena, it writes its results into the report.
pub type Program = fn(&mut [core::mem::MaybeUninit<u8>], &mut crate::Report);

#[cfg(target_os = "none")]
pub use cortex_m_rt::entry;
#[cfg(target_os = "none")]
mod firmware;
#[cfg(target_os = "none")]
pub use firmware::run;
#[cfg(target_os = "none")]
mod stack;

#[cfg(not(target_os = "none"))]
mod host;
#[cfg(not(target_os = "none"))]
pub use host::run;

/// Defines the entry point of the program in module `$program` (its `run` and its
/// `ARENA_BYTES`): on the firmware, cortex-m-rt's `main` with the arena in a static
/// buffer; on the host, an ordinary `main`.
#[macro_export]
macro_rules! program_main {
    ($program:ident) => {
        #[cfg(target_os = "none")]
        #[$crate::platform::entry]
        fn main() -> ! {
            // cortex-m-rt hands a `static mut` declared here to `main` as a `&'static mut`.
            static mut ARENA: [::core::mem::MaybeUninit<u8>; $crate::$program::ARENA_BYTES] =
                [::core::mem::MaybeUninit::uninit(); $crate::$program::ARENA_BYTES];
            $crate::platform::run($crate::$program::run, ARENA)
        }

        #[cfg(not(target_os = "none"))]
        fn main() {
            let mut arena = [::core::mem::MaybeUninit::uninit(); $crate::$program::ARENA_BYTES];
            $crate::platform::run($crate::$program::run, &mut arena)
        }
    };
}
