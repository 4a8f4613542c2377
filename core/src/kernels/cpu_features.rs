//! Run-time CPU feature detection without `std`.
//!
//! `is_x86_feature_detected!` lives in `std`, so this module asks the CPU directly:
//! `cpuid` says what the silicon supports, and `xgetbv` says whether the operating
//! system saves the wide register state (a CPU may support AVX-512 while the OS does
//! not enable it). The answer is computed once and cached in an atomic.
//!
//! Under Miri the answer is always [`Isa::Scalar`]: Miri cannot run `cpuid` or `xgetbv`,
//! and the portable kernels are the ones whose memory accesses it can check in full.

use core::sync::atomic::{AtomicU8, Ordering};

/// The SIMD instruction sets the kernels have code for, from least to most capable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Portable Rust; what the compiler makes of it for the build target.
    Scalar,
    /// AVX2 with FMA (x86-64, 256-bit vectors).
    Avx2Fma,
    /// AVX-512 F, plus AVX2 and FMA (x86-64, 512-bit vectors).
    Avx512,
}

impl Isa {
    fn to_u8(self) -> u8 {
        match self {
            Isa::Scalar => 1,
            Isa::Avx2Fma => 2,
            Isa::Avx512 => 3,
        }
    }

    fn from_u8(v: u8) -> Option<Isa> {
        match v {
            1 => Some(Isa::Scalar),
            2 => Some(Isa::Avx2Fma),
            3 => Some(Isa::Avx512),
            _ => None,
        }
    }
}

/// 0 means "not detected yet"; otherwise `Isa::to_u8` of the answer.
static DETECTED: AtomicU8 = AtomicU8::new(0);

/// The best instruction set this CPU and OS support, detected once and cached.
///
/// Racing first calls may each run the detection; they compute the same answer.
#[inline]
pub fn detected_isa() -> Isa {
    if let Some(isa) = Isa::from_u8(DETECTED.load(Ordering::Relaxed)) {
        return isa;
    }
    let isa = detect();
    DETECTED.store(isa.to_u8(), Ordering::Relaxed);
    isa
}

/// `requested`, lowered to what this machine supports.
#[inline]
pub fn clamp_isa(requested: Isa) -> Isa {
    requested.min(detected_isa())
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
fn detect() -> Isa {
    use core::arch::x86_64::{__cpuid, __cpuid_count, CpuidResult};

    // SAFETY: `cpuid` exists on every x86-64 CPU and only reads identification data.
    #[allow(unused_unsafe)]
    let leaf0: CpuidResult = unsafe { __cpuid(0) };
    let max_leaf = leaf0.eax;
    if max_leaf < 1 {
        return Isa::Scalar;
    }
    // SAFETY: leaf 1 is supported (max_leaf >= 1); cpuid has no side effects.
    #[allow(unused_unsafe)]
    let leaf1 = unsafe { __cpuid(1) };
    let fma = leaf1.ecx & (1 << 12) != 0;
    let osxsave = leaf1.ecx & (1 << 27) != 0;
    let avx = leaf1.ecx & (1 << 28) != 0;
    if !(osxsave && avx && fma) || max_leaf < 7 {
        return Isa::Scalar;
    }
    // SAFETY: OSXSAVE is set, so the OS has enabled `xgetbv`; register 0 is XCR0.
    let xcr0 = unsafe { xgetbv0() };
    // XCR0 bits 1 and 2: SSE and AVX (upper YMM) state saved by the OS.
    if xcr0 & 0b110 != 0b110 {
        return Isa::Scalar;
    }
    // SAFETY: leaf 7 is supported (max_leaf >= 7); cpuid has no side effects.
    #[allow(unused_unsafe)]
    let leaf7 = unsafe { __cpuid_count(7, 0) };
    let avx2 = leaf7.ebx & (1 << 5) != 0;
    if !avx2 {
        return Isa::Scalar;
    }
    let avx512f = leaf7.ebx & (1 << 16) != 0;
    // XCR0 bits 5, 6, 7: opmask, upper halves of ZMM0-15, ZMM16-31.
    let os_avx512 = xcr0 & 0xE0 == 0xE0;
    if avx512f && os_avx512 {
        Isa::Avx512
    } else {
        Isa::Avx2Fma
    }
}

/// Reads XCR0.
///
/// # Safety
/// The CPU must report OSXSAVE (cpuid leaf 1, ecx bit 27).
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[target_feature(enable = "xsave")]
unsafe fn xgetbv0() -> u64 {
    // SAFETY: the caller checked OSXSAVE, so `xgetbv` is enabled and XCR0 is readable.
    unsafe { core::arch::x86_64::_xgetbv(0) }
}

#[cfg(any(not(target_arch = "x86_64"), miri))]
fn detect() -> Isa {
    Isa::Scalar
}
