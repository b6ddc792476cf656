//! Enclave-run helpers shared by the attacks: guarded RUN/RESUME under the
//! host's own deadline, create/destroy, the UTM words and the EPM secrets the
//! attacks look for.

use super::*;

pub(super) fn set_timer(when: u64) {
    call(sbi_spec::time::EID_TIME, sbi_spec::time::SET_TIMER, [when as usize, 0, 0]);
}

pub(super) fn sscratch() -> usize {
    let v: usize;
    // SAFETY: reading sscratch has no side effect (in V-mode it reads vsscratch).
    unsafe { core::arch::asm!("csrr {0}, sscratch", out(reg) v) };
    v
}

pub(super) fn utm_set(slot: usize, off: usize, v: u64) {
    // SAFETY: the UTM is host memory shared with the enclave.
    unsafe { utm(slot).add(off / 8).write_volatile(v) };
}

pub(super) fn utm_get(slot: usize, off: usize) -> u64 {
    utm_word(slot, off / 8)
}

/// The host's deadline before each guarded RUN/RESUME: 10 ms.
pub const GUARD: u64 = SECOND / 100;
/// INTERRUPTED results a guarded run resumes through before it gives up.
pub const MAX_GUARDED: usize = 20;

/// What one guarded RUN/RESUME sequence saw.
pub struct Run {
    pub ret: SbiRet,
    pub interrupts: usize,
    /// Traps the host took with hstatus.SPV set: it came back in V-mode.
    pub virt: usize,
    /// sscratch right after the call, when it was not the hart id (V-mode).
    pub sscratch_seen: Option<usize>,
}

impl core::fmt::Display for Run {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(
            f,
            "returned ({}, {:#x}) after {} INTERRUPTED; host came back in V-mode {} time(s)",
            self.ret.error as isize, self.ret.value, self.interrupts, self.virt
        )?;
        if let Some(s) = self.sscratch_seen {
            write!(f, ", its sscratch read {s:#x}")?;
        }
        Ok(())
    }
}

/// RUN (`first`) or RESUME `eid`, with the host's timer armed `ticks` ahead
/// before every call and sie.STIE on (sstatus.SIE off), so that a host the
/// SM hands back in V-mode takes its timer into HS-mode at once (where the
/// trap handler counts it and clears SPV). Resumes up to `max_interrupts`.
pub fn guarded(me: usize, eid: usize, first: bool, ticks: u64, max_interrupts: usize) -> Run {
    let v0 = traps::VIRT_TRAPS.load(SeqCst);
    let mut run =
        Run { ret: SbiRet { error: 0, value: 0 }, interrupts: 0, virt: 0, sscratch_seen: None };
    let mut f = if first { fid::RUN_ENCLAVE } else { fid::RESUME_ENCLAVE };
    loop {
        set_timer(time() + ticks);
        // SAFETY: enables only the supervisor timer at HS; SIE stays clear.
        unsafe { core::arch::asm!("csrs sie, {0}", in(reg) SIP_STIP) };
        let ret = ks(f, eid);
        let ss = sscratch();
        if ss != me {
            // V-mode and no trap yet: no CSR or ecall works here; wait (on
            // memory only) for the timer to take the hart into HS-mode.
            run.sscratch_seen = Some(ss);
            let before = traps::VIRT_TRAPS.load(SeqCst);
            let mut spins = 0u64;
            while traps::VIRT_TRAPS.load(SeqCst) == before && spins < 2_000_000_000 {
                spins += 1;
                core::hint::spin_loop();
            }
        }
        // SAFETY: back to polling; set_timer(MAX) also withdraws STIP.
        unsafe { core::arch::asm!("csrc sie, {0}", in(reg) SIP_STIP) };
        set_timer(u64::MAX);
        run.ret = ret;
        if ret.error != err::INTERRUPTED || run.interrupts >= max_interrupts {
            break;
        }
        run.interrupts += 1;
        f = fid::RESUME_ENCLAVE;
    }
    run.virt = traps::VIRT_TRAPS.load(SeqCst) - v0;
    run
}

/// Plain RUN, then RESUME while INTERRUPTED, at most `max` times; no timer armed.
pub(super) fn run_bounded(eid: usize, max: usize) -> (SbiRet, usize) {
    let mut ret = ks(fid::RUN_ENCLAVE, eid);
    let mut n = 0;
    while ret.error == err::INTERRUPTED && n < max {
        n += 1;
        ret = ks(fid::RESUME_ENCLAVE, eid);
    }
    (ret, n)
}

/// Creates the test enclave from pool slot `slot`; the eid or the error.
pub(super) fn make(slot: usize) -> Result<usize, usize> {
    let a = args(slot);
    load_image(&a);
    put_secret(&a);
    let ret = create_raw(&a);
    if ret.error == 0 {
        Ok(ret.value)
    } else {
        Err(ret.error)
    }
}

pub(super) fn destroy(eid: usize) -> SbiRet {
    ks(fid::DESTROY_ENCLAVE, eid)
}

/// Where the host hides a secret in an EPM before CREATE (free memory, not
/// measured): a read of it after CREATE is a read of enclave memory.
pub(super) const SECRET_OFF: usize = 0x8000;
pub(super) const SECRET_WORDS: usize = 64;
/// A word of the measured first page no code uses: a write there after
/// CREATE changes the enclave behind its measurement.
pub(super) const PATCH_OFF: usize = 0xff8;
pub(super) const PATCH: u64 = 0xbad0_c0de_5eed_f00d;

pub(super) fn secret_word(epm: usize, i: usize) -> u64 {
    0x5ec2_e700_0000_0000 ^ (epm as u64) ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

pub(super) fn put_secret(a: &CreateArgs) {
    let epm = a.epm_paddr as usize;
    for i in 0..SECRET_WORDS {
        // SAFETY: the EPM pool is payload memory until CREATE.
        unsafe { ((epm + SECRET_OFF + 8 * i) as *mut u64).write_volatile(secret_word(epm, i)) };
    }
}

pub(super) fn load(addr: usize) -> u64 {
    let v: u64;
    // SAFETY: a probe; a fault is caught by traps::catch around it.
    unsafe { core::arch::asm!("ld {0}, 0({1})", out(reg) v, in(reg) addr) };
    v
}

pub(super) fn store(addr: usize, v: u64) {
    // SAFETY: as for `load`.
    unsafe { core::arch::asm!("sd {0}, 0({1})", in(reg) v, in(reg) addr) };
}
