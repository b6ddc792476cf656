//! `attack=vs-mprv`: a host VS-mode round trip with vsstatus bit 17 (MPRV)
//! set; the SM must survive it and keep serving.

use super::*;

/// Bootarg `attack=vs-mprv`: the host writes mstatus.MPRV's bit into
/// vsstatus, srets into VS-mode and makes an SBI call there. QEMU 7.2 ORs
/// every vsstatus bit into mstatus when V becomes 1 (and clears only the S
/// bits when it becomes 0), so the SM is entered with MPRV = 1, MPP = S,
/// MPV = 1: its own loads and stores then go through the host's vsatp/hgatp
/// and S-mode PMP. The SM must survive (clear MPRV before it touches memory)
/// and the host must get control back.
pub fn vs_mprv(fdt: &fdt::Fdt, me: usize) {
    let hw = Hw::from_fdt(fdt, me);
    if !hw.has_h {
        skip!("h-ctl: a host's vsstatus cannot set mstatus.MPRV for the SM (VS-mode round trip, SBI call)"; "no H extension");
        return;
    }
    h_reset();
    csr_write(0x200, 1 << 17);
    let held = csr_read(0x200).unwrap_or(0);
    crate::println!("# vs-mprv: vsstatus = {held:#x}; sret into VS-mode, SBI call from there");
    let v0 = traps::VIRT_TRAPS.load(SeqCst);
    set_timer(time() + SECOND / 50);
    let got: usize;
    // SAFETY: drops this hart into VS-mode (bare translation, hgatp = vsatp = 0)
    // at label 2, which makes one SBI call and spins; the host timer (STIE on)
    // traps it back into HS-mode, where the handler resumes at label 4.
    unsafe {
        core::arch::asm!(
            "csrs sie, {stie}",
            "lla {t}, 4f",
            "sd {t}, 0({esc})",
            "lla {t}, 2f",
            "csrw sepc, {t}",
            // SPP = S, and SPIE so that, should the SM hand the hart back to
            // HS-mode instead, the timer still traps there (and escapes).
            "li {t}, 0x120",
            "csrs sstatus, {t}",
            "li {t}, 0x80",
            "csrs 0x600, {t}",
            "li a0, 0x7777",
            "sret",
            "2: li a7, 0x10",
            "li a6, 0",
            "ecall",
            "3: j 3b",
            "4: csrc sie, {stie}",
            "csrci sstatus, 2",
            t = out(reg) _,
            esc = in(reg) traps::VIRT_ESCAPE[me].as_ptr(),
            stie = in(reg) SIP_STIP,
            out("a0") got,
            out("a1") _, out("a6") _, out("a7") _,
        );
    }
    set_timer(u64::MAX);
    traps::VIRT_ESCAPE[me].store(0, SeqCst);
    h_reset();
    let back = traps::VIRT_TRAPS.load(SeqCst) - v0;
    crate::println!("# vs-mprv: back in HS-mode ({back} trap(s) from V-mode), a0 = {got:#x}");
    // Still a working SM: an SBI call and an enclave.
    let spec = call(sbi_spec::base::EID_BASE, sbi_spec::base::GET_SBI_SPEC_VERSION, [0; 3]);
    let enclave = make(0).map(|eid| {
        command(0, 1, 0x600d, 0);
        let r = ks(fid::RUN_ENCLAVE, eid);
        destroy(eid);
        r
    });
    check!(back >= 1 && spec.error == 0 && matches!(enclave, Ok(r) if r.error == 0 && r.value == 0x600d),
        "h-ctl: a host's vsstatus cannot set mstatus.MPRV for the SM (VS-mode round trip, SBI call)";
        "back {back}, spec version ({}, {:#x}), enclave {:?}", spec.error as isize, spec.value, enclave.map(|r| (r.error, r.value)));
}
