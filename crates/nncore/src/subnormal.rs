//! Subnormal numbers flushed to zero while an `f32` model computes.
//!
//! Over a long sequence the error signal carried back through the steps
//! decays geometrically, and in `f32` it reaches the subnormal range
//! (below 2⁻¹²⁶ ≈ 1.2e-38) after a few hundred steps; x86 processors then
//! take a microcode assist on every operation that reads or makes one,
//! which made an f32 Elman iteration at L = 1,024 ten times slower than at
//! L = 512 per step (24 ms instead of 2.4 ms; `f64`, whose subnormals start
//! at 2⁻¹⁰²² ≈ 2.2e-308, never got there). So while an `f32` model
//! computes, the thread's floating-point unit flushes subnormal results and
//! inputs to zero: `FTZ` and `DAZ` in x86-64's `MXCSR`, `FZ` in aarch64's
//! `FPCR`. A subnormal is below every value that could change a weight by
//! one ulp, so this changes no result that matters, but it does change
//! bits where subnormals occurred: it is part of `f32`'s arithmetic
//! (docs/SPEC.md §7). `f64` models compute with the default environment,
//! bit for bit as before. On other architectures the guard does nothing.
//!
//! ```
//! use nncore::{Precision, subnormal::flush_subnormals};
//! let tiny = std::hint::black_box(1e-20f32);
//! {
//!     let _flushed = flush_subnormals(Precision::F32);
//!     # #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
//!     assert_eq!(std::hint::black_box(tiny * tiny), 0.0); // 1e-40 is subnormal in f32
//! }
//! // Restored when the guard goes: subnormals again.
//! assert!(std::hint::black_box(tiny * tiny) > 0.0);
//! ```
#![allow(unsafe_code)]

use crate::{Precision, Scalar};

/// While alive, the thread flushes subnormals to zero (for `f32`); on drop
/// it restores the control register it found.
#[derive(Debug)]
#[must_use = "subnormals are flushed only while the guard lives"]
pub struct FlushGuard {
    saved: Option<u64>,
}

/// Flushes subnormals on this thread until the guard drops, if `precision`
/// is `f32`; does nothing for `f64`.
pub fn flush_subnormals(precision: Precision) -> FlushGuard {
    if precision != Precision::F32 {
        return FlushGuard { saved: None };
    }
    let saved = control::get();
    control::set(saved | control::FLUSH);
    FlushGuard { saved: Some(saved) }
}

/// [`flush_subnormals`] for the precision of `S`.
pub fn flush_for<S: Scalar>() -> FlushGuard {
    flush_subnormals(S::PRECISION)
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        if let Some(saved) = self.saved {
            control::set(saved);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod control {
    use std::arch::asm;

    /// `MXCSR`'s flush-to-zero (bit 15) and denormals-are-zero (bit 6).
    pub const FLUSH: u64 = (1 << 15) | (1 << 6);
    /// `MXCSR`'s sticky exception flags (bits 0–5), which any operation sets.
    #[cfg(test)]
    pub const STATUS: u64 = 0x3f;

    pub fn get() -> u64 {
        let mut v: u32 = 0;
        // SAFETY: stores the 32-bit MXCSR into a local.
        unsafe { asm!("stmxcsr [{p}]", p = in(reg) &mut v, options(nostack, preserves_flags)) };
        u64::from(v)
    }

    pub fn set(v: u64) {
        let v = v as u32;
        // SAFETY: loads MXCSR from a local; only rounding-mode-neutral
        // flushing bits (or the value read before) are ever written.
        unsafe {
            asm!("ldmxcsr [{p}]", p = in(reg) &v, options(nostack, readonly, preserves_flags))
        };
    }
}

#[cfg(target_arch = "aarch64")]
mod control {
    use std::arch::asm;

    /// `FPCR.FZ` (bit 24).
    pub const FLUSH: u64 = 1 << 24;
    /// FPCR holds no status (FPSR does).
    #[cfg(test)]
    pub const STATUS: u64 = 0;

    pub fn get() -> u64 {
        let v: u64;
        // SAFETY: reads FPCR.
        unsafe { asm!("mrs {v}, fpcr", v = out(reg) v, options(nomem, nostack, preserves_flags)) };
        v
    }

    pub fn set(v: u64) {
        // SAFETY: writes FPCR with the flush bit (or the value read before).
        unsafe { asm!("msr fpcr, {v}", v = in(reg) v, options(nomem, nostack, preserves_flags)) };
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod control {
    pub const FLUSH: u64 = 0;
    #[cfg(test)]
    pub const STATUS: u64 = 0;
    pub fn get() -> u64 {
        0
    }
    pub fn set(_: u64) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_flushes_and_f64_does_not_and_the_register_is_restored() {
        // The control bits, not the sticky status flags that every
        // operation may set.
        let control = || control::get() & !control::STATUS;
        let before = control();
        let x = std::hint::black_box(1e-20f32);
        {
            let _g = flush_subnormals(Precision::F64);
            assert!(std::hint::black_box(x * 1e-20) > 0.0);
        }
        {
            let _g = flush_subnormals(Precision::F32);
            #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
            assert_eq!(std::hint::black_box(x * 1e-20), 0.0);
            // Nested guards restore in order.
            {
                let _inner = flush_for::<f32>();
            }
            #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
            assert_eq!(std::hint::black_box(x * 1e-20), 0.0);
        }
        assert_eq!(control(), before);
        assert!(std::hint::black_box(x * 1e-20) > 0.0);
    }
}
