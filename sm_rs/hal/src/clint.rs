//! The CLINT: software interrupts (msip) and the machine timer (mtimecmp).

use core::sync::atomic::{AtomicUsize, Ordering};

const MSIP: usize = 0x0;
const MTIMECMP: usize = 0x4000;
const MTIME: usize = 0xbff8;

/// The CLINT's base address, from the device tree (0 until `init`).
static BASE: AtomicUsize = AtomicUsize::new(0);

/// Records where the CLINT is; the boot hart calls it once, before any other
/// hart or function here uses the CLINT.
pub fn init(base: usize) {
    BASE.store(base, Ordering::Release);
}

fn base() -> usize {
    let base = BASE.load(Ordering::Acquire);
    assert!(base != 0, "CLINT used before clint::init");
    base
}

/// Raises hart `hartid`'s machine software interrupt.
pub fn send_ipi(hartid: usize) {
    // The queued work (PENDING) is visible before the interrupt that asks for it.
    // SAFETY: a fence has no other effect.
    unsafe { core::arch::asm!("fence w, o") };
    // SAFETY: msip registers are 4-byte MMIO words in the CLINT the device tree names.
    unsafe { ((base() + MSIP + 4 * hartid) as *mut u32).write_volatile(1) };
}

/// Acknowledges hart `hartid`'s machine software interrupt.
pub fn clear_ipi(hartid: usize) {
    // SAFETY: as in `send_ipi`.
    unsafe { ((base() + MSIP + 4 * hartid) as *mut u32).write_volatile(0) };
    // The clear lands before the caller reads PENDING, so no request is lost.
    // SAFETY: a fence has no other effect.
    unsafe { core::arch::asm!("fence o, r") };
}

/// Arms hart `hartid`'s machine timer for absolute time `when`.
pub fn set_timecmp(hartid: usize, when: u64) {
    // SAFETY: mtimecmp registers are 8-byte MMIO words in the CLINT.
    unsafe { ((base() + MTIMECMP + 8 * hartid) as *mut u64).write_volatile(when) };
}

/// The machine time (mtime), shared by every hart.
pub fn mtime() -> u64 {
    // SAFETY: mtime is an 8-byte MMIO word in the CLINT.
    unsafe { ((base() + MTIME) as *const u64).read_volatile() }
}
