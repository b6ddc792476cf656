//! Boot option `sm.csr-probe`: read every one of the 4096 CSR numbers in
//! M-mode and report each one the hart has that `sm_core::world_csrs::TABLE` does
//! not name. A test boots every machine of the matrix with it, so a hart
//! that grows state the world switch has not thought about fails the suite.

use sm_core::world_csrs;

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
static mut PROBE: [u32; 2] = [0, 0];

/// True when reading CSR `number` in M-mode does not trap.
fn present(number: u16) -> bool {
    let csrr_t0 = ((number as u32) << 20) | (2 << 12) | (5 << 7) | 0x73;
    let ret = 0x0000_8067; // jalr x0, 0(ra)
    let code = &raw mut PROBE;
    // SAFETY: boot hart only, before any other code runs the buffer; the
    // buffer is the SM's own memory and M-mode may execute it; fence.i
    // makes the new instruction visible to this hart's fetches.
    unsafe { code.write_volatile([csrr_t0, ret]) };
    crate::arch::fence::fence_i();
    let cause: usize;
    // SAFETY: the probe's only effects are a CSR read and, if the CSR does
    // not exist, an illegal-instruction trap into `sm_csr_probe_trap`, which
    // records the cause and returns past it; mtvec and mstatus (its MPP and
    // MPIE change on a trap) are restored right after.
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
            code = in(reg) code as usize,
            out("ra") _,
            out("t0") _,
            out("t1") cause,
            out("t2") _,
        );
    }
    cause == 0
}

/// Probes every CSR number and prints `SM: csr probe: N present, M not in
/// the table`, with one line per unnamed CSR.
pub fn run() {
    let (mut seen, mut unnamed) = (0, 0);
    for number in 0..4096u16 {
        if !present(number) {
            continue;
        }
        seen += 1;
        if world_csrs::lookup(number).is_none() {
            unnamed += 1;
            println!("SM: csr probe: CSR {number:#05x} is present but not in sm_core::world_csrs");
        }
    }
    println!("SM: csr probe: {seen} CSRs present, {unnamed} not in the table");
}
