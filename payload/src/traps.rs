//! The payload's S-mode trap handler: it records what arrived so checks can
//! assert which traps the SM delivered, and steps over probed instructions.
//! Every record is per hart (indexed by the hart id kept in sscratch), so
//! several harts may probe at once.
//!
//! On harts with the H extension it also notices a trap taken while the
//! payload ran in V-mode (hstatus.SPV set on entry: the SM handed the host
//! back with mstatus.MPV = 1), counts it in `VIRT_TRAPS`, and returns to
//! HS-mode by clearing SPV, so an attack that leaves the host virtualised is
//! a failed check, not a lost machine.

use crate::sbi::SIP_STIP;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use keystone_abi::layout::MAX_HARTS;

#[allow(clippy::declare_interior_mutable_const)]
const NONE: AtomicUsize = AtomicUsize::new(usize::MAX);
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicUsize = AtomicUsize::new(0);

/// Last exception each hart took: scause, stval (usize::MAX = none).
pub static LAST_CAUSE: [AtomicUsize; MAX_HARTS] = [NONE; MAX_HARTS];
pub static LAST_TVAL: [AtomicUsize; MAX_HARTS] = [ZERO; MAX_HARTS];
/// Supervisor timer interrupts taken.
pub static TIMER_TICKS: AtomicUsize = AtomicUsize::new(0);
/// The harts have the H extension: the handler may read hstatus.
pub static HAS_H: AtomicBool = AtomicBool::new(false);
/// Traps that arrived with hstatus.SPV = 1 (the payload was running in V-mode).
pub static VIRT_TRAPS: AtomicUsize = AtomicUsize::new(0);
/// vsscratch when the last such trap arrived (what the payload "saw" as sscratch).
pub static VIRT_VSSCRATCH: AtomicUsize = AtomicUsize::new(0);
/// Where each hart resumes (in HS-mode) after its next trap from V-mode, if
/// set: code that drops into V-mode on purpose gets control back here.
pub static VIRT_ESCAPE: [AtomicUsize; MAX_HARTS] = [ZERO; MAX_HARTS];
/// VS-level interrupts (2, 6, 10) that reached HS-mode.
pub static VS_IRQS: AtomicUsize = AtomicUsize::new(0);

const HSTATUS_SPV: usize = 1 << 7;

/// This hart's id, which every entry point keeps in sscratch.
pub fn hart() -> usize {
    let h: usize;
    // SAFETY: reading sscratch has no side effect.
    unsafe { core::arch::asm!("csrr {0}, sscratch", out(reg) h) };
    h.min(MAX_HARTS - 1)
}

#[unsafe(no_mangle)]
extern "C" fn payload_trap() {
    if HAS_H.load(Ordering::Relaxed) {
        let hstatus: usize;
        // SAFETY: hstatus (0x600) exists on H harts; HS-mode may read it.
        unsafe { core::arch::asm!("csrr {0}, 0x600", out(reg) hstatus) };
        if hstatus & HSTATUS_SPV != 0 {
            let vs: usize;
            // SAFETY: vsscratch (0x240) is readable from HS-mode; clearing
            // SPV makes the sret below return to HS-mode, not to V-mode.
            unsafe {
                core::arch::asm!("csrr {0}, 0x240", out(reg) vs);
                core::arch::asm!("csrc 0x600, {0}", in(reg) HSTATUS_SPV);
            }
            VIRT_VSSCRATCH.store(vs, Ordering::SeqCst);
            VIRT_TRAPS.fetch_add(1, Ordering::SeqCst);
            if escape() {
                return;
            }
        }
    }
    let (scause, stval, sepc): (usize, usize, usize);
    // SAFETY: reading S-mode trap CSRs has no side effect.
    unsafe {
        core::arch::asm!("csrr {0}, scause", "csrr {1}, stval", "csrr {2}, sepc",
            out(reg) scause, out(reg) stval, out(reg) sepc);
    }
    let me = hart();
    if (scause as isize) < 0 {
        let code = scause & 0xff;
        if code == 1 {
            // SAFETY: SSIP is acknowledged by clearing it in sip.
            unsafe { core::arch::asm!("csrc sip, {0}", in(reg) 1usize << 1) };
            if let Some(count) = crate::harts::IPIS.get(me) {
                count.fetch_add(1, Ordering::SeqCst);
            }
        } else if code == 5 {
            TIMER_TICKS.fetch_add(1, Ordering::SeqCst);
            // A timer that finds the hart in HS-mode while an escape is set
            // (the SM handed it back some other way) ends the excursion too.
            if escape() {
                // SAFETY: as below.
                unsafe { core::arch::asm!("csrc sie, {0}", in(reg) SIP_STIP) };
                return;
            }
            // SAFETY: masking the timer until the next check re-arms it.
            unsafe { core::arch::asm!("csrc sie, {0}", in(reg) SIP_STIP) };
        } else if matches!(code, 2 | 6 | 10) && HAS_H.load(Ordering::Relaxed) {
            // A VS-level interrupt hvip/hie let through to HS: mask it in hie.
            VS_IRQS.fetch_add(1, Ordering::SeqCst);
            // SAFETY: hie (0x604) only gates VS-level interrupts at HS.
            unsafe { core::arch::asm!("csrc 0x604, {0}", in(reg) 1usize << code) };
        } else {
            panic!("unexpected interrupt scause={scause:#x}");
        }
        return;
    }
    LAST_TVAL[me].store(stval, Ordering::SeqCst);
    LAST_CAUSE[me].store(scause, Ordering::SeqCst);
    if scause == 1 {
        // Instruction access fault: sepc is the unreadable target, so go
        // back to where the fetch probe said.
        let back = FETCH_RETURN[me].load(Ordering::SeqCst);
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

/// Resumes at this hart's VIRT_ESCAPE, if one is set (and clears it).
fn escape() -> bool {
    let escape = VIRT_ESCAPE[hart()].swap(0, Ordering::SeqCst);
    if escape != 0 {
        // SAFETY: the code that set the escape resumes there, in HS-mode.
        unsafe { core::arch::asm!("csrw sepc, {0}", in(reg) escape) };
    }
    escape != 0
}

/// Runs `probe` and returns (scause, stval) of the exception it raised, if any.
pub fn catch(probe: impl FnOnce()) -> Option<(usize, usize)> {
    let me = hart();
    LAST_CAUSE[me].store(usize::MAX, Ordering::SeqCst);
    probe();
    match LAST_CAUSE[me].swap(usize::MAX, Ordering::SeqCst) {
        usize::MAX => None,
        cause => Some((cause, LAST_TVAL[me].load(Ordering::SeqCst))),
    }
}

/// Where a fetch probe returns when its target faults.
static FETCH_RETURN: [AtomicUsize; MAX_HARTS] = [ZERO; MAX_HARTS];

/// Jumps to `addr` and returns (scause, stval) if fetching it faulted.
pub fn catch_fetch(addr: usize) -> Option<(usize, usize)> {
    let me = hart();
    LAST_CAUSE[me].store(usize::MAX, Ordering::SeqCst);
    // SAFETY: a probe: either `addr` faults (the handler resumes at label 2)
    // or returns through ra (the host never probes executable memory).
    unsafe {
        core::arch::asm!(
            "lla {tmp}, 2f",
            "sd {tmp}, 0({ret})",
            "jalr ra, 0({addr})",
            "2:",
            tmp = out(reg) _,
            ret = in(reg) FETCH_RETURN[me].as_ptr(),
            addr = in(reg) addr,
            out("ra") _,
        );
    }
    match LAST_CAUSE[me].swap(usize::MAX, Ordering::SeqCst) {
        usize::MAX => None,
        cause => Some((cause, LAST_TVAL[me].load(Ordering::SeqCst))),
    }
}
