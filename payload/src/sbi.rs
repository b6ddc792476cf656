//! SBI calls from S-mode: every `ecall` of the payload is here.

pub use sbi_spec::binary::SbiRet;

/// Makes one SBI v0.2+ call.
pub fn call(eid: usize, fid: usize, args: [usize; 3]) -> SbiRet {
    let (error, value);
    // SAFETY: an SBI ecall only clobbers a0/a1, as declared.
    unsafe {
        core::arch::asm!("ecall",
            inlateout("a0") args[0] => error, inlateout("a1") args[1] => value,
            in("a2") args[2], in("a6") fid, in("a7") eid);
    }
    SbiRet { error, value }
}

/// Makes one legacy v0.1 call, which answers in a0 only.
pub fn legacy(eid: usize, arg0: usize) -> usize {
    let ret;
    // SAFETY: as for `call`.
    unsafe { core::arch::asm!("ecall", inlateout("a0") arg0 => ret, in("a7") eid) };
    ret
}

/// One second of the 10 MHz time base: the bound on every wait.
pub const SECOND: u64 = 10_000_000;
/// sip/sie bit of the supervisor software interrupt.
pub const SIP_SSIP: usize = 1 << 1;
/// sip/sie bit of the supervisor timer interrupt.
pub const SIP_STIP: usize = 1 << 5;
/// sstatus.SIE: S-mode interrupts globally enabled.
pub const SSTATUS_SIE: usize = 1 << 1;

/// Reads sip, to see which supervisor interrupts are pending.
pub fn sip() -> usize {
    let v;
    // SAFETY: reading sip has no side effect.
    unsafe { core::arch::asm!("csrr {0}, sip", out(reg) v) };
    v
}

/// Reads the `time` CSR (allowed by mcounteren.TM).
pub fn time() -> u64 {
    let t: u64;
    // SAFETY: rdtime has no side effect.
    unsafe { core::arch::asm!("rdtime {0}", out(reg) t) };
    t
}

/// Powers off: `ok` picks the reason, so QEMU's exit status tells the result.
pub fn shutdown(ok: bool) -> ! {
    use sbi_spec::srst::*;
    let reason = if ok { RESET_REASON_NO_REASON } else { RESET_REASON_SYSTEM_FAILURE };
    call(EID_SRST, SYSTEM_RESET, [RESET_TYPE_SHUTDOWN as usize, reason as usize, 0]);
    loop {
        core::hint::spin_loop();
    }
}

/// Makes an SBI call with all six argument registers.
pub fn call6(eid: usize, fid: usize, args: [usize; 6]) -> SbiRet {
    let (error, value);
    // SAFETY: as for `call`.
    unsafe {
        core::arch::asm!("ecall",
            inlateout("a0") args[0] => error, inlateout("a1") args[1] => value,
            in("a2") args[2], in("a3") args[3], in("a4") args[4], in("a5") args[5],
            in("a6") fid, in("a7") eid);
    }
    SbiRet { error, value }
}
