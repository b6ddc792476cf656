//! Writes PMP entries by index; the encoding itself is `sm_core::pmp`.

use super::csr;
use sm_core::pmp;

/// PMP entries implemented by QEMU 7.2's harts.
pub const ENTRIES: usize = 16;

/// Programs entry `index` with an already-encoded address and configuration byte.
/// # Safety
/// Changes what S/U-mode (and, with the lock bit, M-mode) may touch: the
/// caller decides the policy.
pub unsafe fn set_entry(index: usize, addr: usize, cfg: u8) {
    // SAFETY: forwarded to the caller; `index` selects an implemented entry.
    unsafe {
        set_addr(index, addr);
        let (reg, shift) = pmp::cfg_location(index);
        if reg == 0 {
            csr::pmpcfg0::write(pmp::cfg_replace(csr::pmpcfg0::read(), shift, cfg));
        } else {
            csr::pmpcfg2::write(pmp::cfg_replace(csr::pmpcfg2::read(), shift, cfg));
        }
        core::arch::asm!("sfence.vma");
    }
}

/// Programs a precomputed view: its pmpaddr writes, one masked update of each
/// pmpcfg register it touches, and the one SFENCE.VMA the privileged spec
/// asks for after a PMP change.
/// # Safety
/// As `set_entry`, for every entry of the view.
#[inline(always)]
pub unsafe fn apply_view(view: &sm_core::pmp_view::PmpView) {
    // SAFETY: forwarded to the caller.
    unsafe {
        for &(index, addr) in &view.addrs[..view.len] {
            set_addr(index, addr);
        }
        csr::pmpcfg0::write(view.cfg(0, csr::pmpcfg0::read()));
        csr::pmpcfg2::write(view.cfg(1, csr::pmpcfg2::read()));
        core::arch::asm!("sfence.vma");
    }
}

/// Writes pmpaddr`index`.
/// # Safety
/// As `set_entry`.
unsafe fn set_addr(index: usize, addr: usize) {
    // SAFETY: forwarded to the caller; `index` selects an implemented entry.
    unsafe {
        match index {
            0 => csr::pmpaddr0::write(addr),
            1 => csr::pmpaddr1::write(addr),
            2 => csr::pmpaddr2::write(addr),
            3 => csr::pmpaddr3::write(addr),
            4 => csr::pmpaddr4::write(addr),
            5 => csr::pmpaddr5::write(addr),
            6 => csr::pmpaddr6::write(addr),
            7 => csr::pmpaddr7::write(addr),
            8 => csr::pmpaddr8::write(addr),
            9 => csr::pmpaddr9::write(addr),
            10 => csr::pmpaddr10::write(addr),
            11 => csr::pmpaddr11::write(addr),
            12 => csr::pmpaddr12::write(addr),
            13 => csr::pmpaddr13::write(addr),
            14 => csr::pmpaddr14::write(addr),
            15 => csr::pmpaddr15::write(addr),
            _ => panic!("PMP entry {index} does not exist"),
        }
    }
}

/// Clears every entry, so a hart starts from a known state.
/// # Safety
/// Leaves S/U-mode with no access at all until new entries are set.
pub unsafe fn clear_all() {
    // SAFETY: forwarded to the caller.
    unsafe {
        csr::pmpcfg0::write(0);
        csr::pmpcfg2::write(0);
        for index in 0..ENTRIES {
            set_entry(index, 0, 0);
        }
    }
}

/// Rebuilds this hart's PMP from scratch: every entry cleared, then each of
/// `entries` (index, encoded address, configuration byte) programmed.
///
/// Safe: PMP entries without the lock bit do not apply to M-mode, so they
/// cannot change what the SM itself may access; entries with it are refused.
pub fn program(entries: impl IntoIterator<Item = (usize, usize, u8)>) {
    // SAFETY: unlocked entries only restrict S/U-mode (see above).
    unsafe { clear_all() };
    for (index, addr, cfg) in entries {
        assert!(cfg & pmp::L == 0, "PMP entry {index}: the SM never locks an entry");
        // SAFETY: as above; `set_entry` panics on an entry that does not exist.
        unsafe { set_entry(index, addr, cfg) };
    }
}

/// Switches this hart to a precomputed view (an enclave's, or the host's
/// back): one write per changed pmpaddr, one masked write per pmpcfg, one
/// SFENCE.VMA.
///
/// Safe as `program`: `sm_core::pmp_view` builds views from the allocator's
/// unlocked entries only.
#[inline(always)]
pub fn switch_view(view: &sm_core::pmp_view::PmpView) {
    // SAFETY: unlocked entries only restrict S/U-mode (see `program`).
    unsafe { apply_view(view) };
}
