//! S-mode timer service: Sstc's stimecmp when present, else the CLINT + STIP.

use crate::arch::{bits, csr};
use crate::{clint, platform};

/// Arms the supervisor timer for absolute time `when` and clears a pending one.
pub fn set_timer(hartid: usize, when: u64) {
    if platform::get().sstc {
        // SAFETY: the hart implements Sstc (checked in the device tree) and
        // menvcfg.STCE is set; stimecmp only drives STIP.
        unsafe { csr::stimecmp::write(when as usize) };
    } else {
        clint::set_timecmp(hartid, when);
        // SAFETY: STIP is the SM's to drive without Sstc; MTIE routes the
        // machine timer to `on_machine_timer`.
        unsafe {
            csr::mip::clear(1 << bits::IRQ_S_TIMER);
            csr::mie::set(1 << bits::IRQ_M_TIMER);
        }
    }
}

/// Machine timer fired (no Sstc): hand it to S-mode as STIP.
pub fn on_machine_timer() {
    // SAFETY: see `set_timer`; masking MTIE stops the interrupt from re-firing
    // until S-mode arms the timer again.
    unsafe {
        csr::mie::clear(1 << bits::IRQ_M_TIMER);
        csr::mip::set(1 << bits::IRQ_S_TIMER);
    }
}
