//! Whether the hart has CSR number `n`: read it in M-mode with a guard that
//! turns the illegal-instruction trap into an answer (boot option
//! `sm.csr-probe`; the policy that reports unnamed CSRs is the firmware's).

core::arch::global_asm!(
    r#"
    .section .text
    .balign 4
    .globl sm_csr_probe_trap
sm_csr_probe_trap:
    csrr    t1, mcause
    csrr    t2, mepc
    addi    t2, t2, 4
    jr      t2
"#
);

unsafe extern "C" {
    fn sm_csr_probe_trap();
}

/// `csrr t0, <csr>` then `ret`, rewritten for each number.
static PROBE: spin::Mutex<[u32; 2]> = spin::Mutex::new([0, 0]);

/// True when reading CSR `number` (< 4096) in M-mode does not trap.
pub fn present(number: u16) -> bool {
    assert!(number < 4096, "CSR numbers have 12 bits");
    let csrr_t0 = ((number as u32) << 20) | (2 << 12) | (5 << 7) | 0x73;
    let ret = 0x0000_8067; // jalr x0, 0(ra)
    let mut code = PROBE.lock();
    *code = [csrr_t0, ret];
    let code_pc = code.as_ptr() as usize;
    // The new instruction is visible to this hart's fetches.
    crate::arch::fence::fence_i();
    let cause: usize;
    // SAFETY: the probe's only effects are a CSR read (a read of any CSR has
    // no side effect the SM relies on in M-mode) and, if the CSR does not
    // exist, an illegal-instruction trap into `sm_csr_probe_trap`, which
    // records the cause and returns past it; mtvec and mstatus (its MPP and
    // MPIE change on a trap) are restored right after. The code buffer is
    // the SM's own memory, held locked, and M-mode may execute it.
    unsafe {
        core::arch::asm!(
            "li t1, 0",
            "csrr {status}, mstatus",
            "csrrw {tvec}, mtvec, {tvec}",
            "jalr ra, 0({code})",
            "csrw mtvec, {tvec}",
            "csrw mstatus, {status}",
            tvec = inout(reg) sm_csr_probe_trap as *const () as usize => _,
            status = out(reg) _,
            code = in(reg) code_pc,
            out("ra") _,
            out("t0") _,
            out("t1") cause,
            out("t2") _,
        );
    }
    drop(code);
    cause == 0
}
