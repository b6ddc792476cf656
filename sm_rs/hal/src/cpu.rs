//! The hart's trap, interrupt and timer controls, one intention-named safe
//! function each, for the firmware (which denies `unsafe`).
//!
//! Why these are safe: each writes M-mode CSRs that decide where the *next*
//! trap or `mret` goes and which interrupts are pending or enabled. None of
//! them reads or writes memory, and none changes what M-mode itself may
//! access, so none can break what Rust relies on in the SM. A hart that lacks
//! the CSR (Sstc, H) takes an illegal-instruction trap, which the trap handler
//! turns into a panic: a loud failure, not undefined behaviour. Whether the
//! write is the right *policy* is the firmware's call, tested in QEMU.

use crate::arch::{bits, csr, hext};

/// The trapped world resumes at `pc` on the next `mret` (mepc).
#[inline(always)]
pub fn resume_at(pc: usize) {
    // SAFETY: mepc only says where the next mret lands (see the module).
    unsafe { csr::mepc::write(pc) };
}

/// Raises S-mode's software interrupt (mip.SSIP): an IPI for the host.
#[inline(always)]
pub fn raise_supervisor_soft_irq() {
    // SAFETY: SSIP only signals S-mode (see the module).
    unsafe { csr::mip::set(1 << bits::IRQ_S_SOFT) };
}

/// Clears a pending S-mode software interrupt (mip.SSIP).
#[inline(always)]
pub fn clear_supervisor_soft_irq() {
    // SAFETY: as for `raise_supervisor_soft_irq`.
    unsafe { csr::mip::clear(1 << bits::IRQ_S_SOFT) };
}

/// Raises S-mode's timer interrupt (mip.STIP, the SM drives it without Sstc).
#[inline(always)]
pub fn raise_supervisor_timer_irq() {
    // SAFETY: STIP only signals S-mode (see the module).
    unsafe { csr::mip::set(1 << bits::IRQ_S_TIMER) };
}

/// Clears S-mode's timer interrupt (mip.STIP).
#[inline(always)]
pub fn clear_supervisor_timer_irq() {
    // SAFETY: as for `raise_supervisor_timer_irq`.
    unsafe { csr::mip::clear(1 << bits::IRQ_S_TIMER) };
}

/// Lets the machine timer trap to the SM (mie.MTIE).
#[inline(always)]
pub fn enable_machine_timer_irq() {
    // SAFETY: the M-timer traps to the SM's own handler (see the module).
    unsafe { csr::mie::set(1 << bits::IRQ_M_TIMER) };
}

/// Masks the machine timer (mie.MTIE).
#[inline(always)]
pub fn disable_machine_timer_irq() {
    // SAFETY: as for `enable_machine_timer_irq`.
    unsafe { csr::mie::clear(1 << bits::IRQ_M_TIMER) };
}

/// Arms S-mode's own timer (stimecmp, Sstc) for absolute time `when`.
#[inline(always)]
pub fn set_supervisor_timer(when: usize) {
    // SAFETY: stimecmp only drives STIP; without Sstc the write traps (see
    // the module).
    unsafe { csr::stimecmp::write(when) };
}

/// Arms the VS timer (vstimecmp, H and Sstc) for absolute time `when`.
#[inline(always)]
pub fn set_virtual_supervisor_timer(when: usize) {
    // SAFETY: vstimecmp only drives VSTIP; without H and Sstc the write traps
    // (see the module).
    unsafe { hext::vstimecmp::write(when) };
}

/// This hart's trap routing, once before S-mode first runs on it: which
/// exceptions and interrupts S-mode takes itself, which counters it may
/// read, and (with Sstc) S-mode's own timer.
pub fn init_trap_routing(medeleg: usize, mideleg: usize, counteren: usize, sstc: bool) {
    // SAFETY: routing and counter enables only (see the module); menvcfg
    // exists on every hart with Sstc (privileged spec 1.12).
    unsafe {
        csr::medeleg::write(medeleg);
        csr::mideleg::write(mideleg);
        csr::mcounteren::write(counteren);
        // Linux leaves scounteren to the firmware (only its SBI PMU driver
        // writes it): without TM, glibc's vDSO clock_gettime traps in U-mode.
        csr::scounteren::write(counteren);
        if sstc {
            csr::menvcfg::set(bits::MENVCFG_STCE);
        }
    }
}

/// Right before a hart (re)enters S-mode: only the software interrupt (HSM,
/// IPIs) enabled until S-mode arms a timer, no stale SSIP.
pub fn reset_supervisor_interrupts() {
    // SAFETY: interrupt enables and a pending bit (see the module).
    unsafe {
        csr::mie::write(1 << bits::IRQ_M_SOFT);
        csr::mip::clear(1 << bits::IRQ_S_SOFT);
    }
}

/// A parked hart: only the software interrupt may wake it, and with
/// mstatus.MIE clear it wakes `wfi` without trapping.
pub fn park_interrupts() {
    // SAFETY: interrupt enables only (see the module).
    unsafe {
        csr::mie::write(1 << bits::IRQ_M_SOFT);
        csr::mstatus::clear(bits::MSTATUS_MIE);
    }
}

/// While an enclave runs nothing is delegated: every interrupt traps to the
/// SM, which stops the enclave and hands the interrupt to the host.
#[inline(always)]
pub fn route_interrupts_to_sm() {
    // SAFETY: routing and enables only (see the module).
    unsafe {
        csr::mideleg::write(0);
        csr::mie::set(bits::MIE_S_BITS | (1 << bits::IRQ_M_SOFT));
    }
}

/// Back to the host's interrupt routing (S-level interrupts delegated).
#[inline(always)]
pub fn route_interrupts_to_host() {
    // SAFETY: routing only (see the module).
    unsafe { csr::mideleg::write(bits::MIDELEG_DEFAULT) };
}

/// The H extension's part of a trap taken into HS-mode from a virtual mode:
/// hstatus as the firmware computed it (SPV, SPVP, GVA).
pub fn set_hstatus(value: usize) {
    // SAFETY: hstatus only describes the trap to HS-mode; without H the write
    // traps (see the module).
    unsafe { csr::hstatus::write(value) };
}

/// A trap delivered into S-mode by hand, as the hardware would have taken
/// it: scause/stval/sepc get the trap (mcause, mtval, mepc), mstatus becomes
/// `mstatus` (the firmware computed SPP/SPIE/SIE and MPP = S), and the next
/// `mret` lands on stvec.
pub fn deliver_trap_to_supervisor(mcause: usize, mstatus: usize) {
    // SAFETY: S-mode trap CSRs, mstatus's privilege bits and mepc only (see
    // the module); MPP is the caller's S.
    unsafe {
        csr::scause::write(mcause);
        csr::stval::write(csr::mtval::read());
        csr::sepc::write(csr::mepc::read());
        csr::mstatus::write(mstatus);
        csr::mepc::write(csr::stvec::read() & !3);
    }
}

/// Records what this hart reads back from hstatus/vsstatus at their
/// first-run values (boot, on a hart with H, before anything runs in V-mode).
pub fn record_h_first_run_readback() {
    // SAFETY: writes the first-run values every world starts with, before any
    // world runs; without H the access traps (see the module).
    unsafe { hext::record_first_run_readback() };
}

/// Waits for an interrupt that mie enables (it may return early).
#[inline(always)]
pub fn wait_for_interrupt() {
    crate::arch::fence::wfi();
}
