//! The runtime's only contact with the hardware and the SM: SBI calls and a
//! few CSRs. Every `asm!` of the loader and runtime (besides their entry
//! stubs and trap vector) is here.

use keystone_abi::sm::{fid, KEYSTONE_EID};

/// An SBI answer: (error, value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SbiRet {
    pub error: usize,
    pub value: usize,
}

/// One SBI call to the SM's Keystone extension.
///
/// # Safety
///
/// The SM reads or writes whatever memory the call names (ATTEST_ENCLAVE and
/// GET_SEALING_KEY: buffers by address; STOP_ENCLAVE: the host writes the
/// UTM before it resumes us). The caller guarantees those buffers are the
/// size the call needs and that no Rust reference to them is live across it.
pub unsafe fn sm_call(f: usize, a0: usize, a1: usize, a2: usize) -> SbiRet {
    let (error, value);
    // SAFETY: an SBI ecall clobbers only a0/a1, as declared; the memory it
    // makes the SM touch is the caller's to vouch for (see # Safety).
    unsafe {
        core::arch::asm!("ecall",
            inlateout("a0") a0 => error, inlateout("a1") a1 => value,
            in("a2") a2, in("a6") f, in("a7") KEYSTONE_EID);
    }
    SbiRet { error, value }
}

/// Ends the enclave; the host's RUN/RESUME returns `value`.
pub fn exit_enclave(value: usize) -> ! {
    // SAFETY: EXIT names no memory; it does not come back.
    unsafe { sm_call(fid::EXIT_ENCLAVE, value, 0, 0) };
    // EXIT never returns to a running enclave; should it, stop for good.
    loop {
        // SAFETY: as above.
        unsafe { sm_call(fid::EXIT_ENCLAVE, value, 0, 0) };
    }
}

/// Stops the enclave for an edge call; returns when the host resumes it.
///
/// # Safety
///
/// The host writes the UTM while the enclave is stopped: no Rust reference
/// into the UTM may be live across this call.
pub unsafe fn stop_for_edge_call() -> SbiRet {
    // SAFETY: STOP names no buffer; the UTM is the caller's (see # Safety).
    unsafe { sm_call(fid::STOP_ENCLAVE, keystone_abi::sm::stop_reason::EDGE_CALL_HOST, 0, 0) }
}

/// The legacy SBI `set_timer` (extension 0), as Eyrie arms its time slice.
pub fn legacy_set_timer(when: u64) {
    // SAFETY: a legacy SBI call clobbers only a0 and names no memory.
    unsafe {
        core::arch::asm!("ecall", inlateout("a0") when as usize => _, in("a7") 0usize);
    }
}

/// 64 bits from the SM's RANDOM.
pub fn random() -> u64 {
    // SAFETY: RANDOM names no memory.
    unsafe { sm_call(fid::RANDOM, 0, 0, 0) }.value as u64
}

/// Reads `satp`.
pub fn satp() -> usize {
    let v;
    // SAFETY: reading satp has no side effect.
    unsafe { core::arch::asm!("csrr {0}, satp", out(reg) v) };
    v
}

/// Flushes this hart's TLB after page-table changes.
pub fn sfence_vma() {
    // SAFETY: a fence has no effect besides ordering translations.
    unsafe { core::arch::asm!("sfence.vma") };
}

/// Reads the `time` CSR.
pub fn time() -> u64 {
    let t;
    // SAFETY: rdtime has no side effect.
    unsafe { core::arch::asm!("rdtime {0}", out(reg) t) };
    t
}
