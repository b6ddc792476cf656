//! Per-hart machine setup: trap routing, counters, PMP, timer ownership.
//! The PMP policy itself lives in `pmp_global` (SM closed, all else open).

use crate::arch::{bits, csr};
use crate::platform;

/// Configures this hart's M-mode state once, before it first enters S-mode.
pub fn init(_hartid: usize) {
    // SAFETY: this is the hart's own configuration, done before any
    // lower-privilege code runs on it; the SM region stays closed to S/U.
    unsafe {
        let h = if platform::get().h { bits::MEDELEG_H } else { 0 };
        csr::medeleg::write(bits::MEDELEG_DEFAULT | h);
        csr::mideleg::write(bits::MIDELEG_DEFAULT);
        csr::mcounteren::write(bits::MCOUNTEREN_DEFAULT);
        // Linux leaves scounteren to the firmware (only its SBI PMU driver
        // writes it): without TM, glibc's vDSO clock_gettime traps in U-mode.
        csr::scounteren::write(bits::MCOUNTEREN_DEFAULT);
        if platform::get().sstc {
            csr::menvcfg::set(bits::MENVCFG_STCE);
        }
    }
    crate::pmp_global::apply_host();
}

/// Resets what S-mode sees right before a hart (re)enters it.
pub fn prepare_for_supervisor(hartid: usize) {
    // Enclaves may have come and gone while this hart was stopped.
    crate::pmp_global::apply_host();
    // SAFETY: keeps only the software interrupt (HSM and IPIs) until S-mode
    // arms a timer; clears stale S-mode interrupt state.
    unsafe {
        csr::mie::write(1 << bits::IRQ_M_SOFT);
        csr::mip::clear(1 << bits::IRQ_S_SOFT);
    }
    // No deadline left over from before: mtimecmp at the far future.
    crate::timer::reset_hart(hartid);
}
