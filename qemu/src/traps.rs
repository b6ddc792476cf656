//! The payload's S-mode trap handler: it records what arrived so checks can
//! assert which traps the SM delivered, and steps over probed instructions.

use crate::sbi::SIP_STIP;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Last exception the boot hart took: scause, stval (usize::MAX = none).
pub static LAST_CAUSE: AtomicUsize = AtomicUsize::new(usize::MAX);
pub static LAST_TVAL: AtomicUsize = AtomicUsize::new(0);
/// Supervisor timer interrupts taken.
pub static TIMER_TICKS: AtomicUsize = AtomicUsize::new(0);

#[unsafe(no_mangle)]
extern "C" fn payload_trap() {
    let (scause, stval, sepc): (usize, usize, usize);
    // SAFETY: reading S-mode trap CSRs has no side effect.
    unsafe {
        core::arch::asm!("csrr {0}, scause", "csrr {1}, stval", "csrr {2}, sepc",
            out(reg) scause, out(reg) stval, out(reg) sepc);
    }
    if (scause as isize) < 0 {
        if scause & 0xff == 1 {
            let hart: usize;
            // SAFETY: sscratch holds this hart's id (set at entry); SSIP is
            // acknowledged by clearing it in sip.
            unsafe {
                core::arch::asm!("csrr {0}, sscratch", out(reg) hart);
                core::arch::asm!("csrc sip, {0}", in(reg) 1usize << 1);
            }
            if let Some(count) = crate::harts::IPIS.get(hart) {
                count.fetch_add(1, Ordering::SeqCst);
            }
        } else if scause & 0xff == 5 {
            TIMER_TICKS.fetch_add(1, Ordering::SeqCst);
            // SAFETY: masking the timer until the next check re-arms it.
            unsafe { core::arch::asm!("csrc sie, {0}", in(reg) SIP_STIP) };
        } else {
            panic!("unexpected interrupt scause={scause:#x}");
        }
        return;
    }
    LAST_TVAL.store(stval, Ordering::SeqCst);
    LAST_CAUSE.store(scause, Ordering::SeqCst);
    if scause == 1 {
        // Instruction access fault: sepc is the unreadable target, so go
        // back to where the fetch probe said.
        let back = FETCH_RETURN.load(Ordering::SeqCst);
        // SAFETY: resumes the probe at its landing label.
        unsafe { core::arch::asm!("csrw sepc, {0}", in(reg) back) };
        return;
    }
    // SAFETY: sepc points at the instruction that trapped, in our own text.
    let low = unsafe { (sepc as *const u16).read_volatile() };
    let len = if low & 3 == 3 { 4 } else { 2 };
    // SAFETY: step over the probed instruction.
    unsafe { core::arch::asm!("csrw sepc, {0}", in(reg) sepc + len) };
}

/// Runs `probe` and returns (scause, stval) of the exception it raised, if any.
pub fn catch(probe: impl FnOnce()) -> Option<(usize, usize)> {
    LAST_CAUSE.store(usize::MAX, Ordering::SeqCst);
    probe();
    match LAST_CAUSE.swap(usize::MAX, Ordering::SeqCst) {
        usize::MAX => None,
        cause => Some((cause, LAST_TVAL.load(Ordering::SeqCst))),
    }
}

/// Where a fetch probe returns when its target faults.
static FETCH_RETURN: AtomicUsize = AtomicUsize::new(0);

/// Jumps to `addr` and returns (scause, stval) if fetching it faulted.
pub fn catch_fetch(addr: usize) -> Option<(usize, usize)> {
    LAST_CAUSE.store(usize::MAX, Ordering::SeqCst);
    // SAFETY: a probe: either `addr` faults (the handler resumes at label 2)
    // or returns through ra (the host never probes executable memory).
    unsafe {
        core::arch::asm!(
            "lla {tmp}, 2f",
            "sd {tmp}, 0({ret})",
            "jalr ra, 0({addr})",
            "2:",
            tmp = out(reg) _,
            ret = in(reg) FETCH_RETURN.as_ptr(),
            addr = in(reg) addr,
            out("ra") _,
        );
    }
    match LAST_CAUSE.swap(usize::MAX, Ordering::SeqCst) {
        usize::MAX => None,
        cause => Some((cause, LAST_TVAL.load(Ordering::SeqCst))),
    }
}
