//! Per-hart machine setup: trap routing, counters, PMP, timer ownership.
//! The PMP policy itself lives in `pmp_global` (SM closed, all else open).

use crate::arch::bits;
use crate::cpu;
use crate::platform;

/// Configures this hart's M-mode state once, before it first enters S-mode.
pub fn init(_hartid: usize) {
    // The hart's own configuration, done before any lower-privilege code
    // runs on it; the SM region stays closed to S/U.
    let h = if platform::get().h { bits::MEDELEG_H } else { 0 };
    cpu::init_trap_routing(
        bits::MEDELEG_DEFAULT | h,
        bits::MIDELEG_DEFAULT,
        bits::MCOUNTEREN_DEFAULT,
        platform::get().sstc,
    );
    crate::pmp_global::apply_host();
}

/// Resets what S-mode sees right before a hart (re)enters it.
pub fn prepare_for_supervisor(hartid: usize) {
    // Enclaves may have come and gone while this hart was stopped.
    crate::pmp_global::apply_host();
    // Only the software interrupt (HSM and IPIs) until S-mode arms a timer;
    // no stale S-mode interrupt state.
    cpu::reset_supervisor_interrupts();
    // No deadline left over from before: mtimecmp at the far future.
    crate::timer::reset_hart(hartid);
}
