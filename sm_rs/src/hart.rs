//! Per-hart machine setup: trap routing, counters, PMP, timer ownership.

use crate::arch::{bits, csr, pmp as pmp_csr};
use crate::platform;
use keystone_abi::layout::{SM_BASE, SM_SIZE};
use sm::pmp;

/// PMP entry of the SM's own region: the highest priority.
pub const PMP_SM_ENTRY: usize = 0;
/// PMP entry that opens all other memory to S/U-mode: the lowest priority.
pub const PMP_OS_ENTRY: usize = pmp_csr::ENTRIES - 1;

/// Configures this hart's M-mode state once, before it first enters S-mode.
pub fn init(_hartid: usize) {
    let sm_addr = pmp::napot_encode(SM_BASE, SM_SIZE).expect("SM region must be NAPOT");
    // SAFETY: this is the hart's own configuration, done before any
    // lower-privilege code runs on it; the SM region stays closed to S/U.
    unsafe {
        csr::medeleg::write(bits::MEDELEG_DEFAULT);
        csr::mideleg::write(bits::MIDELEG_DEFAULT);
        csr::mcounteren::write(bits::MCOUNTEREN_DEFAULT);
        if platform::get().sstc {
            csr::menvcfg::set(bits::MENVCFG_STCE);
        }
        pmp_csr::clear_all();
        pmp_csr::set_entry(PMP_SM_ENTRY, sm_addr, pmp::A_NAPOT);
        pmp_csr::set_entry(PMP_OS_ENTRY, pmp::NAPOT_ALL, pmp::A_NAPOT | pmp::R | pmp::W | pmp::X);
    }
}

/// Resets what S-mode sees right before a hart (re)enters it.
pub fn prepare_for_supervisor(_hartid: usize) {
    // SAFETY: masks the M-timer until S-mode arms a timer and keeps the
    // software interrupt for HSM and IPIs; clears stale S-mode interrupt state.
    unsafe {
        csr::mie::write(1 << bits::IRQ_M_SOFT);
        csr::mip::clear(
            (1 << bits::IRQ_S_SOFT) | if platform::get().sstc { 0 } else { 1 << bits::IRQ_S_TIMER },
        );
        if platform::get().sstc {
            csr::stimecmp::write(usize::MAX);
        }
    }
}
