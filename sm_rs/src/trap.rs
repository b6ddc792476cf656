//! The M-mode trap handler: SBI calls, the M-level interrupts, and traps S-mode owns.

use crate::arch::bits::*;
use crate::arch::csr;
use crate::arch::entry::{self, TrapFrame};
use crate::cpu;
use crate::{enclave, sbi, timer};

/// Entered from `sm_trap_vector` with the interrupted world's GPRs saved in
/// `frame`; leaves through the frame to resume (another world's after a
/// world switch). It never returns, so it saves no callee-saved registers:
/// the vector has every GPR in the frame already.
// Trap glue: the trap vector calls this symbol and it leaves through
// `entry::resume`, which restores the frame it returns.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
extern "C" fn sm_trap_handler(frame: *mut TrapFrame, from_lower: usize, base: usize) -> ! {
    let resume = handle(frame);
    // SAFETY: `handle` returns the frame it was given or the frame of the
    // world it switched the hart to, with that world's CSRs in place.
    unsafe { entry::resume(resume, from_lower, base) }
}

// Trap glue: the frame the vector just filled becomes a reference.
#[allow(unsafe_code)]
#[inline(always)]
fn handle(frame: *mut TrapFrame) -> *mut TrapFrame {
    // SAFETY: the vector passes the frame it just filled: the running
    // world's (this hart's alone while it runs) or one on this M stack.
    let regs = unsafe { &mut *frame };
    let mcause = csr::mcause::read();
    let mepc = csr::mepc::read();
    let hartid = csr::mhartid::read();
    let world = enclave::current(hartid);
    if mcause & MCAUSE_INTERRUPT != 0 {
        let code = mcause & !MCAUSE_INTERRUPT;
        let mut resume = frame;
        if let Some(eid) = world {
            // Nothing is delegated while an enclave runs: any interrupt
            // stops it (INTERRUPTED) and is then the host's to take.
            if !matches!(code, IRQ_M_SOFT | IRQ_M_TIMER | IRQ_S_SOFT | IRQ_S_TIMER | IRQ_S_EXT) {
                panic!("unexpected interrupt {code} in enclave {eid} on hart {hartid}");
            }
            resume = sbi::switched(enclave::interrupted(hartid, eid, mepc));
        }
        match code {
            IRQ_M_SOFT => crate::ipi::process(hartid),
            IRQ_M_TIMER => timer::on_machine_timer(hartid),
            IRQ_S_SOFT | IRQ_S_TIMER | IRQ_S_EXT if world.is_some() => {}
            _ => panic!("unexpected interrupt {code} on hart {hartid}"),
        }
        return resume;
    }
    let mstatus = csr::mstatus::read();
    if mstatus & MSTATUS_MPP_MASK == MSTATUS_MPP_M {
        panic!("trap in M-mode: mcause={mcause:#x} mepc={mepc:#x} mtval={:#x}", csr::mtval::read());
    }
    match mcause {
        EXC_ECALL_S => sbi::dispatch(hartid, world, frame, regs, mepc),
        EXC_ECALL_M => unreachable!("M-mode ecall arrives with MPP = M"),
        _ => {
            redirect_to_supervisor(mcause, mstatus);
            frame
        }
    }
}

/// Delivers a trap S-mode owns as if the hart had taken it in S-mode directly.
///
/// A trap from a virtual mode (a hypervisor host's guest, mstatus.MPV) goes
/// to HS-mode as the H extension defines it: V=0, hstatus.SPV/SPVP/GVA say
/// where it came from, and the host decides whether to forward it.
// Off the world-switch path: kept out of line so the trap handler stays lean.
#[inline(never)]
fn redirect_to_supervisor(mcause: usize, mstatus: usize) {
    // The CSR values are `sm_core::trap_redirect`'s (host-tested); hstatus is
    // read only for a trap from a virtual mode (MPV is only ever set on a
    // hart with H).
    let entry = sm_core::trap_redirect::into_supervisor(mstatus, csr::hstatus::read);
    if let Some(h) = entry.hstatus {
        // The hardware's trap entry into HS from a virtual mode.
        cpu::set_hstatus(h);
    }
    // The privileged spec's trap entry into S-mode, done by hand: S-mode's
    // trap CSRs get the cause, and mret lands on stvec.
    cpu::deliver_trap_to_supervisor(mcause, entry.mstatus);
}
